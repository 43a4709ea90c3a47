package Test::Nginx::Socket;

# A small stand-in for OpenResty's Test::Nginx::Socket, used when the real
# one is not installed (it is not packaged by Debian).  Run the suites with
#
#     prove -I t/compat t/
#
# See the POD at the end of this file for what is supported.

use strict;
use warnings;

# "-base" makes this package a Test::Base subclass without Spiffy's source
# filter; test files that "use Test::Nginx::Socket" get Test::Base's exports
# (plan, blocks, is, like, ...) as well as the functions listed in @EXPORT.
use Test::Base -base;

use File::Basename qw(dirname);
use File::Path qw(make_path remove_tree);
use File::Spec;
use IO::Select;
use IO::Socket::INET;
use List::Util qw(any first shuffle);
use POSIX ();
use Scalar::Util qw(looks_like_number);
use Time::HiRes qw(sleep time);

our @EXPORT = qw(
    run_tests repeat_each no_long_string log_level workers
    master_on master_off no_shuffle env_to_nginx no_root_location
    check_accum_error_log html_dir server_root server_port
);

my $NginxBinary   = $ENV{TEST_NGINX_BINARY} || 'nginx';
my $ServerPort    = $ENV{TEST_NGINX_SERVER_PORT} || $ENV{TEST_NGINX_PORT} || 1984;
my $Timeout       = $ENV{TEST_NGINX_TIMEOUT} || 3;
my $LogLevel      = $ENV{TEST_NGINX_LOG_LEVEL} || 'debug';
my $MasterProcess = $ENV{TEST_NGINX_MASTER_PROCESS} || 'off';
my $NoShuffle     = $ENV{TEST_NGINX_NO_SHUFFLE} || 0;
my $AccumErrLog   = $ENV{TEST_NGINX_CHECK_ACCUM_ERR_LOG} || 0;
my $Workers       = 1;
my $RepeatEach    = 1;
my $NoLongString  = 0;
my $NoRootLocation = 0;
my @EnvToNginx;

my $ServRoot   = File::Spec->rel2abs($ENV{TEST_NGINX_SERVROOT} || 't/servroot');
my $HtmlDir    = "$ServRoot/html";
my $LogDir     = "$ServRoot/logs";
my $ConfDir    = "$ServRoot/conf";
my $ConfFile   = "$ConfDir/nginx.conf";
my $PidFile    = "$LogDir/nginx.pid";
my $ErrLogFile = "$LogDir/error.log";
my $AccLogFile = "$LogDir/access.log";

$ENV{TEST_NGINX_SERVER_ROOT} = $ServRoot;
$ENV{TEST_NGINX_HTML_DIR} //= $HtmlDir;

# nginx writes log-phase messages right around closing the connection; give
# it this long before the error log is read (the real runner does the same).
my $LogSettleTime = 0.05;

my %SupportedSections = map { $_ => 1 } qw(
    main_config http_config config request more_headers
    error_code response_body response_body_like
    response_headers response_headers_like error_log no_error_log
    must_die user_files log_level timeout wait ONLY SKIP LAST
);

my $HaveLongString = eval { require Test::LongString; 1 };
my $NginxBuildInfo = '';    # output of "nginx -V", read by run_tests
my $ErrLogOffset = 0;       # error log bytes already looked at in this block
my $Running = 0;            # run_tests is in progress: stop nginx at END

# ---- functions for the test files -------------------------------------

sub repeat_each    { $RepeatEach = shift if @_; return $RepeatEach }
sub workers        { $Workers = shift if @_; return $Workers }
sub log_level      { $LogLevel = shift if @_; return $LogLevel }
sub master_on      { $MasterProcess = 'on' }
sub master_off     { $MasterProcess = 'off' }
sub no_long_string { $NoLongString = 1 }
sub no_shuffle     { $NoShuffle = 1 }
sub no_root_location      { $NoRootLocation = 1 }
sub check_accum_error_log { $AccumErrLog = 1 }
sub html_dir       { return $HtmlDir }
sub server_root    { return $ServRoot }
sub server_port    { return $ServerPort }

sub env_to_nginx {
    croak('env_to_nginx: no variable names given') unless @_;
    for my $name (@_) {
        croak("env_to_nginx: bad variable name '$name'")
            if $name !~ /^[A-Za-z_]/ || $name =~ /\n/;
        push @EnvToNginx, $name;
    }
}

sub run_tests {
    $Running = 1;
    $ENV{TEST_NGINX_SERVER_PORT} //= $ServerPort;

    $NginxBuildInfo = `$NginxBinary -V 2>&1`;
    bail_out("cannot run '$NginxBinary -V': $NginxBuildInfo") if $? != 0;

    my @blocks = blocks();
    @blocks = shuffle(@blocks) unless $NoShuffle;
    run_block($_) for @blocks;

    stop_nginx();
    $Running = 0;
}

END {
    local $?;
    stop_nginx() if $Running;
}

sub bail_out {
    my ($msg) = @_;
    stop_nginx();
    Test::More::BAIL_OUT($msg);
}

# ---- one block ----------------------------------------------------------

sub run_block {
    my ($block) = @_;
    my $name = "$0 " . $block->name;

    my @unknown = grep { !$SupportedSections{$_} } @{ $block->_section_order };
    bail_out("$name - sections not supported by the compat runner: @unknown")
        if @unknown;
    bail_out("$name - no --- config section") unless defined $block->config;

    stop_nginx();    # one left behind by an interrupted run
    setup_server_root();
    write_user_files($block, $name);
    write_nginx_conf($block, $name);
    $ErrLogOffset = 0;

    if (defined $block->must_die) {
        run_must_die($block, $name);
        return;
    }

    my $status = run_nginx();
    bail_out("$name - nginx failed to start (exit status " . ($status >> 8)
             . "); see $ErrLogFile") if $status != 0;
    wait_for_pid_file()
        or bail_out("$name - nginx started but wrote no pid file");

    for my $rep (0 .. $RepeatEach - 1) {
        write_user_files($block, $name) if $rep > 0;
        run_request($block, $name, $rep);
    }

    stop_nginx();
}

# Each repetition starts nginx anew and expects it to fail.
sub run_must_die {
    my ($block, $name) = @_;
    my $expected = $block->must_die;

    for my $rep (0 .. $RepeatEach - 1) {
        my $status = run_nginx();
        if (looks_like_number($expected)) {
            is($status >> 8, $expected, "$name - nginx exits with code $expected");
        } else {
            isnt($status, 0, "$name - nginx dies as expected");
        }

        check_error_log($block, $name, $rep);

        if ($status == 0) {
            warn "WARNING: $name - nginx did not die; stopping it\n";
            wait_for_pid_file();
            stop_nginx();
        }
    }
}

sub run_request {
    my ($block, $name, $rep) = @_;

    my $timeout = parse_time($block->timeout) // $Timeout;
    my ($request, $is_head) = build_request($block, $name);
    my $res = parse_response(send_request($request, $timeout, $name), $is_head);

    fail("$name - malformed response body: $res->{error}") if $res->{error};

    is($res->{code}, $block->error_code // 200, "$name - status code ok");
    check_headers($block, $res, $name);
    check_body($block, $res, $name, $rep);

    sleep $block->wait if $block->wait;
    check_error_log($block, $name, $rep);
}

# ---- server root, config, process control ------------------------------

# Removes only what the runners create (so a mistaken TEST_NGINX_SERVROOT
# loses nothing else) and, like the real runner, stops when anything else is
# left, e.g. files a module wrote under the server root in a previous block.
sub setup_server_root {
    remove_tree($ConfDir, $HtmlDir, $LogDir, "$ServRoot/cache",
                glob("$ServRoot/*_temp"), glob("$ServRoot/*_cache"));
    if (opendir my $dir, $ServRoot) {
        my @left = grep { !/^\.\.?$/ } readdir $dir;
        bail_out("cannot clean $ServRoot, it still holds: @left") if @left;
    }
    make_path($ConfDir, $HtmlDir, $LogDir);
    write_file("$HtmlDir/index.html",
        '<html><head><title>It works!</title></head><body>It works!</body></html>');
}

# ">>> path [touch -t stamp]" starts a file; relative paths are under html/.
sub write_user_files {
    my ($block, $name) = @_;
    my $spec = $block->user_files // return;
    bail_out("$name - --- user_files must be plain text") if ref $spec;

    my @files;
    for my $line (split /^/m, $spec) {
        if ($line =~ /^>>> (\S+)(?:\s+(\S+))?/) {
            push @files, { path => $1, stamp => $2, body => '' };
        } elsif (@files) {
            $files[-1]{body} .= $line;
        }
    }

    for my $file (@files) {
        my $path = $file->{path} =~ m{^/} ? $file->{path} : "$HtmlDir/$file->{path}";
        make_path(dirname($path));
        write_file($path, expand_env($file->{body}, $name));
        if (defined $file->{stamp}) {
            local $ENV{TZ} = 'GMT';
            system('touch', '-t', $file->{stamp}, $path) == 0
                or bail_out("$name - cannot set the time of $path");
        }
    }
}

sub write_file {
    my ($path, $content) = @_;
    open my $fh, '>', $path or bail_out("cannot write $path: $!");
    binmode $fh;
    print {$fh} $content;
    close $fh or bail_out("cannot write $path: $!");
}

sub write_nginx_conf {
    my ($block, $name) = @_;

    my $level = trim($block->log_level) || $LogLevel;
    my @modules = split ' ', $ENV{TEST_NGINX_LOAD_MODULES} // '';
    my $main = expand_env(join('', map { "load_module $_;\n" } @modules)
                          . ($block->main_config // ''), $name);
    my $http = expand_env($block->http_config // '', $name);
    my $config = expand_env($block->config, $name);

    my $user = $> == 0 ? 'user root;' : '';
    my $env = join '', map { "env $_;\n" }
        qw(LD_PRELOAD LD_LIBRARY_PATH ASAN_OPTIONS), @EnvToNginx;

    # Keep temp files inside the server root, except where http_config sets
    # its own path or nginx was built without the module.
    my $temp_paths = join ' ', map { "${_}_temp_path $ServRoot/${_}_temp;" }
        grep { $http !~ /\b${_}_temp_path\b/
               && $NginxBuildInfo !~ /--without-http_${_}_module/ }
        qw(client_body proxy fastcgi scgi uwsgi);

    my $root_location = $NoRootLocation ? '' : <<"EOC";
        location / {
            root $HtmlDir;
            index index.html index.htm;
        }
EOC

    write_file($ConfFile, <<"EOC");
worker_processes $Workers;
daemon on;
master_process $MasterProcess;
error_log $ErrLogFile $level;
pid $PidFile;
$user
$env
$main

events {
    accept_mutex off;
    worker_connections 64;
}

http {
    access_log $AccLogFile;
    $temp_paths

    default_type text/plain;
    keepalive_timeout 68000ms;

$http

    server {
        listen $ServerPort;
        server_name 'localhost';
        client_max_body_size 30M;

$config

$root_location    }
}
EOC
}

# Runs the nginx command line and returns its wait status.  With
# "daemon on" that returns once nginx has forked into the background.
sub run_nginx {
    my $pid = fork;
    bail_out("fork failed: $!") unless defined $pid;
    if ($pid == 0) {
        open STDOUT, '>', File::Spec->devnull;
        exec $NginxBinary, '-p', "$ServRoot/", '-c', $ConfFile, '-e', $ErrLogFile;
        warn "cannot run $NginxBinary: $!\n";
        POSIX::_exit(127);
    }
    waitpid $pid, 0;
    return $?;
}

sub read_pid {
    open my $fh, '<', $PidFile or return undef;
    my ($pid) = (<$fh> // '') =~ /(\d+)/;
    return $pid;
}

sub wait_for_pid_file { return poll_until($Timeout, \&read_pid) }

sub stop_nginx {
    my $pid = read_pid() // return;

    if (process_alive($pid)) {
        kill $ENV{TEST_NGINX_FAST_SHUTDOWN} ? 'TERM' : 'QUIT', $pid;
        if (!poll_until($Timeout, sub { !process_alive($pid) })) {
            warn "WARNING: nginx (pid $pid) did not exit in ${Timeout}s; killing it\n";
            # a daemonized nginx leads its own process group: take the
            # workers down with it
            kill 'KILL', getpgrp($pid) == $pid ? -$pid : $pid;
            poll_until($Timeout, sub { !process_alive($pid) })
                or warn "WARNING: nginx (pid $pid) survived SIGKILL\n";
        }
    }
    unlink $PidFile;
}

# A zombie counts as gone: the daemon is not our child, and the init of a
# container may be slow to reap it.
sub process_alive {
    my ($pid) = @_;
    return 0 unless kill 0, $pid;
    open my $fh, '<', "/proc/$pid/stat" or return 1;
    return (<$fh> // '') !~ /\)\s+Z/;
}

# Calls $probe every 20ms until it returns true or $seconds have passed;
# returns the probe's last value.
sub poll_until {
    my ($seconds, $probe) = @_;
    my $deadline = time + $seconds;
    while (1) {
        my $got = $probe->();
        return $got if $got || time >= $deadline;
        sleep 0.02;
    }
}

# ---- HTTP client --------------------------------------------------------

sub build_request {
    my ($block, $name) = @_;

    my $request = $block->request;
    bail_out("$name - no --- request section") unless defined $request;
    bail_out("$name - --- request must be a single string") if ref $request;
    $request =~ s/\A(?:\s+|#[^\n]*)+//;    # leading blank and comment lines

    my ($line, $body) = split /\n/, $request, 2;
    $body //= '';
    my ($method, $uri, $version) = $line =~ /^(\S+)(?:\s+(\S+))?(?:\s+(\S+))?\s*$/
        or bail_out("$name - bad request line: $line");

    my ($more, $chunked) = format_more_headers($block->more_headers // '');
    my $head = "$method " . ($uri // '/') . ' ' . ($version // 'HTTP/1.1') . "\r\n";
    $head .= "Host: localhost\r\n" unless $more =~ /^Host:/mi;
    $head .= "Connection: close\r\n" unless $more =~ /^Connection/mi;
    $head .= $more;

    if ($body ne '' && !$chunked && $more !~ /^Content-Length:/m) {
        $body =~ s/\A\s+|\s+\z//g;
        $head .= 'Content-Length: ' . length($body) . "\r\n";
    }

    return ("$head\r\n$body", $method eq 'HEAD');
}

# "Name: value" per line, "#" lines skipped; also reports chunked bodies.
sub format_more_headers {
    my ($text) = @_;
    my ($out, $chunked) = ('', 0);
    for my $line (split /\n+/, $text) {
        next if $line =~ /^\s*#/;
        my ($key, $value) = split /:\s*/, $line, 2;
        $value //= '';
        $chunked = 1 if lc $key eq 'transfer-encoding' && $value eq 'chunked';
        $out .= "$key: $value\r\n";
    }
    return ($out, $chunked);
}

# Sends the request and reads until nginx closes the connection.  A gap of
# more than $timeout seconds is a test failure; what arrived is returned.
sub send_request {
    my ($request, $timeout, $name) = @_;

    my $error;
    my $sock = poll_until($timeout, sub {
        IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $ServerPort,
                              Proto => 'tcp', Timeout => $timeout)
            or do { $error = $!; undef };
    });
    if (!$sock) {
        fail("$name - cannot connect to 127.0.0.1:$ServerPort: $error");
        return '';
    }
    $sock->blocking(0);

    my $select = IO::Select->new($sock);
    my $response = '';
    my $timed_out;

    while (length $request) {
        if (!$select->can_write($timeout)) { $timed_out = 1; last }
        my $n = syswrite $sock, $request;
        if (!defined $n) {
            next if $!{EAGAIN};
            warn "WARNING: $name - writing the request failed: $!\n";
            last;
        }
        substr $request, 0, $n, '';
    }

    while (!$timed_out) {
        if (!$select->can_read($timeout)) { $timed_out = 1; last }
        my $n = sysread $sock, my $buf, 16384;
        if (!defined $n) {
            next if $!{EAGAIN};
            warn "WARNING: $name - reading the response failed: $!\n";
            last;
        }
        last if $n == 0;
        $response .= $buf;
    }

    close $sock;
    fail("$name - client socket timed out after ${timeout}s") if $timed_out;
    return $response;
}

# Returns { code, raw_headers, headers => [[name, value], ...], body, error }.
sub parse_response {
    my ($raw, $is_head) = @_;

    my ($head, $body) = $raw =~ /\A(.*?\r\n)\r\n(.*)\z/s ? ($1, $2) : ($raw, '');
    my ($status_line, @lines) = split /\r\n/, $head;
    my %res = (code => '', raw_headers => $head, headers => [], body => '');

    $res{code} = $1 if ($status_line // '') =~ m{^HTTP/\d\.\d\s+(\d{3})};
    for (@lines) {
        push @{ $res{headers} }, [$1, $2] if /^([^:\s]+)\s*:\s*(.*?)\s*$/;
    }

    my $te = header(\%res, 'Transfer-Encoding') // '';
    my $length = header(\%res, 'Content-Length');

    if ($is_head || $res{code} =~ /^(?:1..|204|304)$/) {
        $body = '';
    } elsif ($te =~ /\bchunked\b/i) {
        ($body, $res{error}) = decode_chunked($body);
    } elsif (defined $length && $length =~ /^\d+$/) {
        $body = substr $body, 0, $length;
    }

    $res{body} = $body;
    return \%res;
}

# Returns the decoded body and an error message (undef when well-formed).
sub decode_chunked {
    my ($data) = @_;
    my $out = '';
    while ($data =~ s/\A([0-9A-Fa-f]+)[^\r\n]*\r\n//) {
        my $size = hex $1;
        return ($out, undef) if $size == 0;    # trailers are ignored
        return ($out, 'truncated chunk') if length $data < $size + 2;
        $out .= substr $data, 0, $size, '';
        $data =~ s/\A\r\n// or return ($out, 'no CRLF after chunk data');
    }
    return ($out, 'no last chunk');
}

# All values of a response header joined by ", ", or undef when absent.
sub header {
    my ($res, $key) = @_;
    my @values = map { $_->[1] } grep { lc $_->[0] eq lc $key } @{ $res->{headers} };
    return @values ? join(', ', @values) : undef;
}

# ---- checks -------------------------------------------------------------

sub check_headers {
    my ($block, $res, $name) = @_;

    my $is_like = !defined $block->response_headers;
    my $spec = $is_like ? $block->response_headers_like : $block->response_headers;
    return unless defined $spec;

    for my $header (parse_header_spec($spec)) {
        my ($key, $expected) = @$header;
        if (!defined $expected) {
            unlike($res->{raw_headers}, qr/^\s*\Q$key\E\s*:/m,
                   "$name - header $key not present");
            next;
        }

        my $got = header($res, $key) // '';
        if ($is_like) {
            like($got, qr/^$expected$/, "$name - header $key like ok");
        } else {
            $expected =~ s/\$ServerPort\b/$ServerPort/g;
            is($got, $expected, "$name - header $key ok");
        }
    }
}

# "Name: value" lines, or "! Name" for a header that must be absent (its
# value is undef).  A repeated name is checked once, with its last value.
sub parse_header_spec {
    my ($spec) = @_;
    my (@names, %expected);
    for my $line (split /\n/, $spec) {
        $line = trim($line);
        next if $line eq '';
        my ($key, $value) = $line =~ s/^!\s*// ? ($line) : split /\s*:\s*/, $line, 2;
        push @names, $key unless exists $expected{$key};
        $expected{$key} = $value;
    }
    return map { [$_, $expected{$_}] } @names;
}

sub check_body {
    my ($block, $res, $name, $rep) = @_;
    my $got = $res->{body};

    if (defined(my $expected = $block->response_body)) {
        if (ref $expected) {
            like($got, $expected, "$name - response_body like (req $rep)");
            return;
        }
        $expected =~ s/\$ServerPort\b/$ServerPort/g;
        $expected = expand_env($expected, $name);
        my $desc = "$name - response_body ok (req $rep)";
        if ($HaveLongString && !$NoLongString) {
            Test::LongString::is_string($got, $expected, $desc);
        } else {
            is($got, $expected, $desc);
        }

    } elsif (defined(my $pattern = $block->response_body_like)) {
        $pattern =~ s/\$ServerPort\b/$ServerPort/g;
        like($got, qr/$pattern/s, "$name - response_body_like ok (req $rep)");
    }
}

# One test per error_log and per no_error_log pattern, looking only at the
# lines logged since the previous check in this block.
sub check_error_log {
    my ($block, $name, $rep) = @_;

    my @wanted = error_log_patterns(scalar $block->error_log);
    my @unwanted = error_log_patterns(scalar $block->no_error_log);
    my $lines = read_error_log();

    for my $pat (@wanted) {
        ok((any { log_line_matches($_, $pat) } @$lines),
           qq{$name - pattern "$pat" matches a line in error.log (req $rep)});
    }

    for my $pat (@unwanted) {
        my $hit = first { log_line_matches($_, $pat) } @$lines;
        ok(!defined $hit,
           qq{$name - pattern "$pat" does not match a line in error.log (req $rep)})
            or diag("matching line: $hit");
    }

    # Surface severe messages nobody asked about, as the real runner does.
    for my $level (qw(alert crit emerg)) {
        next if any { index("$_", "[$level") >= 0 } @wanted, @unwanted;
        warn "WARNING: $name - $_" for grep { /\[$level\]/ } @$lines;
    }
}

# A section is one pattern per line; its eval form may also give a qr// or
# an array of strings and qr//s.
sub error_log_patterns {
    my ($spec) = @_;
    return () unless defined $spec;
    return grep { defined } @$spec if ref $spec eq 'ARRAY';
    return $spec if ref $spec;
    chomp $spec;
    return split /\n+/, $spec;
}

sub log_line_matches {
    my ($line, $pat) = @_;
    return ref $pat ? $line =~ $pat : index($line, $pat) >= 0;
}

sub read_error_log {
    sleep $LogSettleTime;
    open my $fh, '<', $ErrLogFile or return [];
    seek $fh, $AccumErrLog ? 0 : $ErrLogOffset, 0;
    my @lines = <$fh>;
    $ErrLogOffset = tell $fh;
    return \@lines;
}

# ---- small helpers ------------------------------------------------------

# $TEST_NGINX_FOO is replaced by the value of that environment variable.
sub expand_env {
    my ($text, $name) = @_;
    $text =~ s{\$(TEST_NGINX_[_A-Z0-9]+)}{
        $ENV{$1} // bail_out("$name - environment variable $1 is not set")
    }ge;
    return $text;
}

# "500ms", "2s" or a plain number of seconds.
sub parse_time {
    my ($value) = @_;
    return undef unless defined $value;
    $value = trim($value);
    return $1 / 1000 if $value =~ /^([\d.]+)ms$/;
    $value =~ s/s$//;
    return $value;
}

sub trim {
    my ($s) = @_;
    return '' unless defined $s;
    $s =~ s/\A\s+|\s+\z//g;
    return $s;
}

1;

__END__

=head1 NAME

Test::Nginx::Socket - minimal compatible replacement for OpenResty's runner

=head1 SYNOPSIS

    use Test::Nginx::Socket;

    repeat_each(2);
    plan tests => repeat_each() * (blocks() * 3);
    no_long_string();
    run_tests();

    __DATA__

    === TEST 1: hello
    --- config
        location = /t { return 200 "hello\n"; }
    --- request
    GET /t
    --- response_body
    hello
    --- no_error_log
    [error]

=head1 DESCRIPTION

Runs unchanged Test::Nginx::Socket suites when the real module is missing:
put C<t/compat> on C<@INC> (C<prove -I t/compat t/>).  For every block it
recreates the server root, writes C<nginx.conf> and the user files, starts
nginx, sends the request C<repeat_each()> times over one fresh HTTP/1.1
connection each, checks the results and stops nginx.  Blocks run in random
order unless C<no_shuffle()> is called or C<TEST_NGINX_NO_SHUFFLE> is set.
The number of tests per block is the real runner's, so plans carry over.

Functions: C<run_tests>, C<repeat_each>, C<no_long_string>, C<log_level>,
C<workers>, C<master_on>, C<master_off>, C<no_shuffle>, C<env_to_nginx>,
C<no_root_location>, C<check_accum_error_log>, C<html_dir>, C<server_root>,
C<server_port>, plus everything Test::Base exports (C<plan>, C<blocks>, ...).

Sections: C<main_config>, C<http_config>, C<config>, C<request> (a string,
possibly from C<eval>), C<more_headers>, C<error_code>, C<response_body>,
C<response_body_like>, C<response_headers>, C<response_headers_like>,
C<error_log>, C<no_error_log>, C<must_die>, C<user_files>, C<log_level>,
C<timeout>, C<wait>, and Test::Base's C<ONLY>, C<SKIP>, C<LAST>.  Any other
section stops the run, rather than being silently ignored.

Not supported: request arrays, C<raw_request>, C<pipelined_requests>,
C<grep_error_log>, access and shutdown log checks, C<$TEST_NGINX_RAND_PORT_*>,
and the HUP, valgrind, check-leak and benchmark modes.

C<$TEST_NGINX_*> variables are replaced by their environment values in
C<main_config>, C<http_config>, C<config>, C<user_files> and
C<response_body>, as the real runner does.

Environment: C<TEST_NGINX_BINARY>, C<TEST_NGINX_SERVER_PORT> (or
C<TEST_NGINX_PORT>), C<TEST_NGINX_SERVROOT>, C<TEST_NGINX_LOAD_MODULES>,
C<TEST_NGINX_TIMEOUT>, C<TEST_NGINX_LOG_LEVEL>, C<TEST_NGINX_MASTER_PROCESS>,
C<TEST_NGINX_NO_SHUFFLE>, C<TEST_NGINX_CHECK_ACCUM_ERR_LOG>,
C<TEST_NGINX_FAST_SHUTDOWN>.  C<TEST_NGINX_SERVER_ROOT> is set to the server
root and C<TEST_NGINX_HTML_DIR>, unless already set, to its C<html> dir.

=cut
