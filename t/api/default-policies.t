# vim:set ft=perl ts=4 sw=4 et:
#
# Copyright (C) Keryu Security
#
# keryud's shipped threshold policies name each attack by its own rule:
# records as nginx writes them for a brute force, credential stuffing, a
# path scan (refused, and missing paths) and an object-id enumeration go
# into the shared ring, and the alerts and blocks that follow are read
# back; one record short of each count raises nothing.
#
#     prove t/api/default-policies.t
#     KERYUD=build-asan/keryud prove t/api/default-policies.t

use strict;
use warnings;

use File::Temp qw(tempdir);
use Test::More;

use FindBin;
use lib $FindBin::Bin;
use ApiTest;

my $keryud = $ENV{KERYUD} // 'build/keryud';

plan skip_all => "$keryud not built" unless -x $keryud;

my $dir = tempdir('keryud-defaults-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $port = free_port();
my $conf = "$dir/keryud.conf";
my $log = "$dir/keryud.log";

my $fill = "$dir/fill";
system("cc -O2 -I shared -o $fill t/api/fill.c shared/keryu_store.c "
       . "shared/keryu_record.c -llmdb") == 0 or die "building fill failed";

write_file($conf, <<"EOF");
# default-policies.t
store $dir/store;
data $dir/data;
listen 127.0.0.1:$port;
poll_interval 10ms;
sync_interval 100ms;
pid_file $dir/keryud.pid;
EOF

my %token;
keryud_use(port => $port, conf => $conf, log => $log, keryud => $keryud,
           token => \%token);

chomp($token{admin} = `$keryud -c $conf token create --role admin --name a`);
is($? >> 8, 0, 'token create admin');

my $pid = start_keryud();
my $total = 0;


sub fill {
    my ($n, @args) = @_;
    system($fill, "$dir/store", $n, @args) == 0 or die 'fill failed';
    $total += $n;
}


# the alerts once every record filled so far has been consumed, as
# "rule key" strings, with the blocks as "rule target"
sub alerts {
    wait_until(sub {
        my $st = decode(request('GET', '/api/security/status/',
                                $token{admin}));
        return $st->{keryud}{consumed} >= $total;
    }, "$total records consumed");

    my $a = decode(request('GET', '/api/security/alerts/?limit=1000',
                           $token{admin}))->{items};

    return ({ map { ("$_->{rule} $_->{key}" => 1) } @$a },
            { map { ("$_->{rule} $_->{block}{target}" => 1) }
                  grep { $_->{block} } @$a });
}


my $pol = decode(request('GET', '/api/security/policies/', $token{admin}));
is_deeply([ map { $_->{name} } @{ $pol->{items} } ],
          [ qw(brute-force credential-stuffing enumeration scanning) ],
          'the shipped threshold policies');


# brute force: one account, one path

fill(10, 'type=auth_failure', 'status=401', 'user=bob', 'uri=/login',
     'ip=203.0.113.10');

# credential stuffing: nine accounts, then ten

fill(1, 'type=auth_failure', 'status=401', "user=u$_", 'uri=/login',
     'ip=203.0.113.21') for 1 .. 9;
fill(1, 'type=auth_failure', 'status=401', "user=u$_", 'uri=/login',
     'ip=203.0.113.20') for 1 .. 10;

# a path scan without credentials: nine paths, then ten

fill(1, 'type=auth_failure', 'status=401', "uri=/probe$_",
     'ip=203.0.113.31') for 1 .. 9;
fill(1, 'type=auth_failure', 'status=401', "uri=/probe$_",
     'ip=203.0.113.30') for 1 .. 10;

# and where nothing is refused but nothing is there: 19, then 20

fill(1, 'status=404', "uri=/missing$_", 'ip=203.0.113.41') for 1 .. 19;
fill(1, 'status=404', "uri=/missing$_", 'ip=203.0.113.40') for 1 .. 20;

# a signed-in user walking other people's orders: nine ids, then ten, each
# from an address of its own so that only the user adds up

fill(1, 'type=permission_denied', 'status=403', 'user=eve',
     "uri=/api/orders/$_", "ip=198.51.100.$_") for 1 .. 9;
fill(1, 'type=permission_denied', 'status=403', 'user=mallory',
     "uri=/api/orders/$_", "ip=198.51.100.$_") for 11 .. 20;

my ($alerts, $blocks) = alerts();

ok($alerts->{'brute-force/auth-failures 203.0.113.10'},
   'brute force: brute-force alert');
ok(!$alerts->{'credential-stuffing/many-users 203.0.113.10'},
   'brute force: one account is not credential stuffing');
ok(!$alerts->{'scanning/refused-paths 203.0.113.10'},
   'brute force: one path is not a path scan');

ok($alerts->{'credential-stuffing/many-users 203.0.113.20'},
   'credential stuffing: ten accounts raise its own alert');
ok($blocks->{'credential-stuffing/many-users 203.0.113.20'},
   'credential stuffing: and block the address');
ok(!$alerts->{'credential-stuffing/many-users 203.0.113.21'},
   'credential stuffing: nine accounts do not');

ok($alerts->{'scanning/refused-paths 203.0.113.30'},
   'path scan: ten refused paths raise a scanning alert');
ok($blocks->{'scanning/refused-paths 203.0.113.30'},
   'path scan: and block the address');
ok(!$alerts->{'scanning/refused-paths 203.0.113.31'},
   'path scan: nine refused paths do not');

ok($alerts->{'scanning/missing-paths 203.0.113.40'},
   'path scan: twenty missing paths raise a scanning alert');
ok(!$alerts->{'scanning/missing-paths 203.0.113.41'},
   'path scan: nineteen do not');

ok($alerts->{'enumeration/denied-by-user mallory'},
   'enumeration: ten refused ids raise an enumeration alert');
ok($blocks->{'enumeration/denied-by-user mallory'},
   'enumeration: and block the user');
ok(!$alerts->{'enumeration/denied-by-user eve'},
   'enumeration: nine refused ids do not');

is(stop_keryud($pid), 0, 'keryud stops');

my $text = read_file($log);
unlike($text, qr/AddressSanitizer|LeakSanitizer|runtime error/,
       'no sanitizer reports') or diag($text);

done_testing();
