# vim:set ft=perl ts=4 sw=4 et:
#
# Copyright (C) Keryu Security
#
# keryud's lockout of a client that keeps sending bad tokens: after five
# 401s within a minute its address is answered 429 with Retry-After, even
# with a good token, and keryud logs the lockout once, without the tokens.
#
# Run from the top of the tree after "make build/keryud":
#
#     prove t/api/api-lockout.t
#     KERYUD=build-asan/keryud prove t/api/api-lockout.t

use strict;
use warnings;

use File::Temp qw(tempdir);
use HTTP::Tiny;
use IO::Socket::INET;
use JSON::PP;
use POSIX qw(WNOHANG);
use Test::More;

use FindBin;
use lib $FindBin::Bin;
use ApiTest qw(free_port write_file read_file wait_until stop_keryud);
use Time::HiRes qw(sleep time);

my $keryud = $ENV{KERYUD} // 'build/keryud';

plan skip_all => "$keryud not built" unless -x $keryud;

my $dir = tempdir('keryud-lockout-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $port = free_port();
my $conf = "$dir/keryud.conf";
my $log = "$dir/keryud.log";
my $http = HTTP::Tiny->new(timeout => 10);
my $json = JSON::PP->new;

write_file($conf, <<"EOF_CONF");
# api-lockout.t
store $dir/store;
data $dir/data;
listen 127.0.0.1:$port;
poll_interval 10ms;
sync_interval 100ms;
data_size 16m;
pid_file $dir/keryud.pid;
EOF_CONF

chomp(my $admin = `$keryud -c $conf token create --role admin --name admin`);
is($? >> 8, 0, 'token create admin');
like($admin, qr/^kry_[A-Za-z0-9_-]{43}\z/, 'admin token made');

my $pid = start_keryud();

my $r = request($admin);
is($r->{status}, 200, 'good token before any failure: 200');

my @bad = map { "kry_bad$_" . ('x' x 30) } 1 .. 6;

for my $i (1 .. 4) {
    $r = request($bad[$i - 1]);
    is($r->{status}, 401, "bad token $i: 401");
    ok(!defined $r->{headers}{'retry-after'}, "bad token $i: no Retry-After");
}

$r = request($bad[4]);
is($r->{status}, 401, 'bad token 5: still 401');
is_json($r, { error => 'invalid token' }, 'bad token 5: body');

$r = request($bad[5]);
is($r->{status}, 429, 'bad token 6: 429');
is_json($r, { error => 'too many failed authentications' },
        'bad token 6: body');
like($r->{headers}{'retry-after'} // '', qr/^[1-9][0-9]*\z/,
     'bad token 6: Retry-After in seconds');
ok(($r->{headers}{'retry-after'} // 0) <= 60, 'Retry-After within 60 s');

$r = request($admin);
is($r->{status}, 429, 'good token while locked out: 429');
is_json($r, { error => 'too many failed authentications' },
        'good token while locked out: body');
ok(defined $r->{headers}{'retry-after'},
   'good token while locked out: Retry-After');

$r = request(undef);
is($r->{status}, 429, 'no token while locked out: 429');

is(stop_keryud($pid), 0, 'keryud stops cleanly');

my $text = read_file($log);
my @lines = $text =~ /^(.*locked out.*)$/mg;
is(scalar @lines, 1, 'one lockout line') or diag($text);
like($lines[0] // '',
     qr/api: client 127\.0\.0\.1 locked out after 5 bad tokens\z/,
     'lockout line names the address');
unlike($text, qr/kry_/, 'log holds no token');
unlike($text, qr/AddressSanitizer|LeakSanitizer|runtime error/,
       'no sanitizer reports');

done_testing();


sub request {
    my ($token) = @_;
    my %h;
    $h{Authorization} = "Bearer $token" if defined $token;
    return $http->request('GET',
                          "http://127.0.0.1:$port/api/security/status/",
                          { headers => \%h });
}

sub is_json {
    my ($r, $expect, $name) = @_;
    my $type = $r->{headers}{'content-type'} // '';
    return fail("$name: not JSON ($r->{status}, $type)")
        unless $type eq 'application/json';
    is_deeply($json->decode($r->{content}), $expect, $name);
}


sub start_keryud {
    my $p = fork // die "fork: $!";
    if ($p == 0) {
        open STDOUT, '>>', $log or die;
        open STDERR, '>>&', \*STDOUT or die;
        exec $keryud, '-d', '-c', $conf;
        exit 127;
    }
    wait_until(sub {
        die "keryud exited: " . read_file($log)
            if waitpid($p, WNOHANG) == $p;
        return request($admin)->{status} == 200;
    }, 'keryud answers');
    return $p;
}

