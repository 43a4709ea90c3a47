package ApiTest;

# Helpers shared by the API tests: one keryud under test, started with its
# own configuration, and HTTP requests to it.  keryud_use() names the
# instance (port, configuration, log file, binary, and the tokens by role,
# which start_keryud uses to tell when keryud answers).

use strict;
use warnings;

use Exporter 'import';
use HTTP::Tiny;
use IO::Socket::INET;
use JSON::PP;
use POSIX qw(WNOHANG);
use Test::More ();
use Time::HiRes qw(sleep time);

our @EXPORT = qw(keryud_use free_port write_file read_file wait_until url
                 request decode is_json start_keryud stop_keryud);

my $http = HTTP::Tiny->new(timeout => 10);
my $json = JSON::PP->new->canonical;
my %k;


sub keryud_use {
    %k = @_;
}


sub free_port {
    my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                  Proto => 'tcp', Listen => 1)
        or die "socket: $!";
    my $p = $s->sockport;
    close $s;
    return $p;
}


sub write_file {
    my ($name, $data) = @_;
    open my $fh, '>', $name or die "$name: $!";
    print $fh $data;
    close $fh;
}


sub read_file {
    my ($name) = @_;
    open my $fh, '<', $name or die "$name: $!";
    local $/;
    return scalar <$fh>;
}


# polls $check every 20 ms for up to 30 s; gives up the whole test after
sub wait_until {
    my ($check, $name) = @_;
    my $end = time + 30;
    while (time < $end) {
        my $v = $check->();
        return $v if $v;
        sleep 0.02;
    }
    Test::More::BAIL_OUT("timed out: $name");
}


sub url {
    return "http://127.0.0.1:$k{port}$_[0]";
}


# a request with an optional token, and a body: a reference is sent as JSON
sub request {
    my ($method, $path, $token, $body) = @_;
    my %h;
    $h{Authorization} = "Bearer $token" if defined $token;
    my %opt = (headers => \%h);
    if (defined $body) {
        $opt{content} = ref $body ? $json->encode($body) : $body;
        $h{'Content-Type'} = 'application/json';
    }
    return $http->request($method, url($path), \%opt);
}


sub decode {
    my ($r) = @_;
    my $type = $r->{headers}{'content-type'} // '';
    die "not JSON ($r->{status}, $type): $r->{content}"
        unless $type eq 'application/json';
    return $json->decode($r->{content});
}


sub is_json {
    my ($r, $expect, $name) = @_;
    Test::More::is_deeply(decode($r), $expect, $name);
}


sub start_keryud {
    my $p = fork // die "fork: $!";
    if ($p == 0) {
        open STDOUT, '>>', $k{log} or die;
        open STDERR, '>>&', \*STDOUT or die;
        exec $k{keryud}, '-d', '-c', $k{conf};
        exit 127;
    }
    wait_until(sub {
        die "keryud exited: " . read_file($k{log})
            if waitpid($p, WNOHANG) == $p;
        my $r = request('GET', '/api/security/status/', $k{token}{admin});
        return $r->{status} == 200;
    }, 'keryud answers');
    return $p;
}


sub stop_keryud {
    my ($p) = @_;
    kill 'TERM', $p;
    my $status;
    wait_until(sub {
        return 0 unless waitpid($p, WNOHANG) == $p;
        $status = $?;
        return 1;
    }, 'keryud exits');
    return $status;
}

1;
