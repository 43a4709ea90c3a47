package KeryuTest;

# Helpers for the end-to-end tests: a scratch directory, nginx with the
# keryu module, keryud, HTTP requests, and an independent reader of the
# shared store's ring (through mdb_dump, decoding the documented record
# layout itself, so the tests also check the format).

use strict;
use warnings;

use Exporter 'import';
use File::Temp qw(tempdir);
use FindBin;
use HTTP::Tiny;
use IO::Socket::INET;
use JSON::PP;
use POSIX ();
use Time::HiRes qw(sleep time);

our @EXPORT = qw(
    scratch free_port write_nginx_conf start_nginx stop_nginx nginx_workers
    read_pid
    start_keryud stop_keryud keryud_token
    http api ring_records ring_meta wait_until
);

our $Top = $ENV{KERYU_TOP} || "$FindBin::Bin/../..";

our $Nginx  = $ENV{KERYU_NGINX} || '/usr/sbin/nginx';
our $Module = $ENV{MODULE} || "$Top/build/ngx_http_keryu_module.so";
our $Keryud = $ENV{KERYUD} || "$Top/build/keryud";

my (@nginx_dirs, @keryud_pids);

# nothing outlives a test that dies half-way
END {
    kill 'KILL', @keryud_pids if @keryud_pids;
    stop_nginx($_) for @nginx_dirs;
}

my @event_names = qw(request login logout auth_failure permission_denied
                     data_access system_change input_rejected);


sub scratch {
    my $dir = tempdir('keryu-e2e.XXXXXX', TMPDIR => 1, CLEANUP => 1);
    chmod 0755, $dir;
    mkdir "$dir/logs";
    return $dir;
}


sub free_port {
    my $sock = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1',
                                     LocalPort => 0, Proto => 'tcp')
        or die "cannot find a free port: $!";
    my $port = $sock->sockport;
    close $sock;
    return $port;
}


# polls $cond every 20 ms until its first value is true or $secs pass;
# returns what $cond returned last
sub wait_until {
    my ($secs, $cond) = @_;
    my $end = time + $secs;
    my @v;

    for (;;) {
        @v = $cond->();
        last if (@v && $v[0]) || time >= $end;
        sleep 0.02;
    }

    return wantarray ? @v : $v[0];
}


# writes nginx.conf in $dir and starts nginx; %o: port, workers, store
# (parameters after the path), http (extra http lines), server (extra
# server lines)
sub write_nginx_conf {
    my ($dir, %o) = @_;
    my $workers = $o{workers} || 1;
    my $store = $o{store} // '';
    my $user = $> == 0 ? 'user root;' : '';

    $o{$_} //= '' for qw(http server);

    # under "make test-asan": a new binary after USR2 gets its environment
    # from these lines only, and needs the sanitizer runtimes too
    my $env = '';
    if ($ENV{KERYU_SAN_PRELOAD}) {
        $env = qq{env "LD_PRELOAD=$ENV{KERYU_SAN_PRELOAD}";\n}
               . "env ASAN_OPTIONS;\nenv UBSAN_OPTIONS;";
    }

    open my $fh, '>', "$dir/nginx.conf" or die $!;
    print $fh <<"EOF";
load_module $Module;
$user
$env
worker_processes $workers;
error_log $dir/logs/error.log info;
pid $dir/nginx.pid;
events { worker_connections 256; }
http {
    access_log off;
    client_body_temp_path $dir/body;
    keryu_store $dir/store $store;
    $o{http}
    server {
        listen 127.0.0.1:$o{port};
        keryu_log on;
        location / { return 200 "ok\\n"; }
        location /missing { return 404; }
        $o{server}
    }
}
EOF
    close $fh;
}


sub start_nginx {
    my ($dir, %o) = @_;

    write_nginx_conf($dir, %o);

    system($Nginx, '-p', $dir, '-c', "$dir/nginx.conf") == 0
        or die "nginx failed to start";

    push @nginx_dirs, $dir;

    wait_until(5, sub { http($o{port}, 'GET', '/')->{status} == 200 })
        or die "nginx did not answer";

    # the probe above was recorded too; tests count from here
    return;
}


sub stop_nginx {
    my ($dir) = @_;
    my $pid = read_pid("$dir/nginx.pid") or return;

    @nginx_dirs = grep { $_ ne $dir } @nginx_dirs;
    kill 'QUIT', $pid;
    wait_until(10, sub { !kill 0, $pid }) or kill 'KILL', $pid;
}


sub nginx_workers {
    my ($dir) = @_;
    my $master = read_pid("$dir/nginx.pid");
    my @w = split ' ', `pgrep -P $master`;
    return @w;
}


sub read_pid {
    my ($file) = @_;
    open my $fh, '<', $file or return;
    my $pid = <$fh>;
    chomp $pid if defined $pid;
    return $pid;
}


sub start_keryud {
    my ($dir, $port) = @_;

    unless (-f "$dir/keryud.conf") {
        open my $fh, '>', "$dir/keryud.conf" or die $!;
        print $fh "store $dir/store;\n", "data $dir/keryud-data;\n",
                  "listen 127.0.0.1:$port;\n",
                  "pid_file $dir/keryud.pid;\n", "poll_interval 20ms;\n";
        close $fh;
    }

    my $pid = fork // die "fork: $!";

    if ($pid == 0) {
        open STDOUT, '>>', "$dir/logs/keryud.log";
        open STDERR, '>&', \*STDOUT;
        { exec $Keryud, '-c', "$dir/keryud.conf", '-d' }
        POSIX::_exit(127);
    }

    push @keryud_pids, $pid;

    wait_until(5, sub {
        my $r = HTTP::Tiny->new->get("http://127.0.0.1:$port/api/");
        $r->{status} != 599;
    }) or die "keryud did not answer";

    return $pid;
}


sub stop_keryud {
    my ($pid, $sig) = @_;
    kill $sig || 'TERM', $pid;
    waitpid $pid, 0;
    @keryud_pids = grep { $_ != $pid } @keryud_pids;
    return $?;
}


sub keryud_token {
    my ($dir, $role) = @_;
    my $token = `$Keryud -c $dir/keryud.conf token create --role $role`;
    die "token create failed" if $? != 0;
    chomp $token;
    return $token;
}


sub http {
    my ($port, $method, $path, %h) = @_;
    return HTTP::Tiny->new(timeout => 5)->request($method,
        "http://127.0.0.1:$port$path", { headers => \%h });
}


# GET against keryud's API; returns (status, decoded body)
sub api {
    my ($port, $token, $path) = @_;
    my $r = http($port, 'GET', $path,
                 $token ? (Authorization => "Bearer $token") : ());
    my $body = eval { decode_json($r->{content}) };
    return ($r->{status}, $body, $r);
}


# every record in the ring, decoded from mdb_dump's printable output
sub ring_records {
    my ($store) = @_;
    my @out = `mdb_dump -s ring $store 2>/dev/null`;
    my @lines = grep { /^ / } @out;
    my @recs;

    while (@lines >= 2) {
        my $k = unhex(shift @lines);
        my $v = unhex(shift @lines);
        push @recs, decode_record(unpack('Q>', $k), $v);
    }

    return @recs;
}


sub ring_meta {
    my ($store) = @_;
    my @lines = grep { /^ / } `mdb_dump -s meta $store 2>/dev/null`;
    my %m;

    while (@lines >= 2) {
        my $k = unhex(shift @lines);
        my $v = unhex(shift @lines);
        $m{$k} = length $v == 8 ? unpack('Q<', $v) : $v;
    }

    return \%m;
}


# mdb_dump's default output: each key and value a line of hex digits
sub unhex {
    my ($s) = @_;
    $s =~ s/\s+//g;
    return pack('H*', $s);
}


# the version 1 and 2 layouts of shared/keryu_record.h; "sealed" is a
# version 2 record's sealed section, as it is stored
sub decode_record {
    my ($key, $v) = @_;
    my ($ver, $type, $status, $fam, $flags, $slen, $seq, $time, $bytes,
        $rt, $addr, @len) = unpack('C C v C C v Q< Q< Q< Q< a16 v6', $v);
    my $off = 68;
    my @s;

    for my $l (@len) {
        push @s, substr($v, $off, $l);
        $off += $l;
    }

    my $ip = $fam == 4 ? join('.', unpack('C4', $addr))
           : $fam == 6 ? join(':', unpack('(H4)8', $addr))
           : undef;

    return {
        key => $key, version => $ver, type => $event_names[$type],
        status => $status, flags => $flags, seq => $seq, time_us => $time,
        bytes_sent => $bytes, request_time_us => $rt, ip => $ip,
        user => $s[0], user_agent => $s[1], method => $s[2], host => $s[3],
        uri => $s[4], details => $s[5], size => length $v, used => $off,
        sealed => $ver == 2 ? substr($v, $off, $slen) : '',
    };
}

1;
