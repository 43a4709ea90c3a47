# vim:set ft=perl ts=4 sw=4 et:
#
# Copyright (C) Keryu Security
#
# keryud's decisions API over the blocks of the shared store: list, add
# and delete blocks of addresses and users as each role, every error the
# API documents, nothing written by a refused request, and "keryud block
# list" seeing what the API wrote.  block_version is read with mdb_dump
# when lmdb-utils is installed.
#
# Run from the top of the tree after "make build/keryud":
#
#     prove t/api/decisions-api.t
#     KERYUD=build-asan/keryud prove t/api/decisions-api.t

use strict;
use warnings;

use File::Temp qw(tempdir);
use Test::More;

use FindBin;
use lib $FindBin::Bin;
use ApiTest;

my $keryud = $ENV{KERYUD} // 'build/keryud';

plan skip_all => "$keryud not built" unless -x $keryud;

my $dir = tempdir('keryud-dapi-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $port = free_port();
my $conf = "$dir/keryud.conf";
my $log = "$dir/keryud.log";
my $have_dump = system('mdb_dump -V >/dev/null 2>&1') == 0;
my $base = '/api/security/decisions/';
my $rfc3339 = qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\z/;

write_file($conf, <<"EOF");
# decisions-api.t
store $dir/store;
data $dir/data;
listen 127.0.0.1:$port;
poll_interval 10ms;
pid_file $dir/keryud.pid;
EOF

my %token;
keryud_use(port => $port, conf => $conf, log => $log, keryud => $keryud,
           token => \%token);

for my $role (qw(admin auditor viewer)) {
    chomp($token{$role} =
              `$keryud -c $conf token create --role $role --name $role`);
    is($? >> 8, 0, "token create $role");
}

my $pid = start_keryud();


# an empty store

for my $role (qw(admin auditor)) {
    my $r = request('GET', $base, $token{$role});
    is($r->{status}, 200, "$role lists decisions");
    is_json($r, { items => [] }, "$role: no decisions yet");
}

my $r = request('GET', $base, $token{viewer});
is($r->{status}, 403, 'viewer may not list decisions');
is_json($r, { error => 'forbidden' }, 'viewer list: body');

$r = request('GET', '/api/security/decisions', $token{auditor});
is($r->{status}, 200, 'list without the trailing slash');


# add

for my $role (qw(auditor viewer)) {
    $r = request('POST', $base, $token{$role}, { ip => '198.51.100.7' });
    is($r->{status}, 403, "$role may not add");
    is_json($r, { error => 'forbidden' }, "$role add: body");
}
nothing_changed([], 'refused adds stored nothing');
version_is(0, 'refused adds left block_version alone');

$r = request('POST', $base, $token{admin},
             { ip => '198.51.100.0/24', duration => '15m',
               reason => 'scanner' });
is($r->{status}, 201, 'admin blocks a network');
my $d = decode($r);
is($d->{type}, 'ip', 'ip decision: type');
is($d->{value}, '198.51.100.0/24', 'ip decision: value');
is($d->{reason}, 'scanner', 'ip decision: reason');
like($d->{created}, $rfc3339, 'ip decision: created');
like($d->{expires}, $rfc3339, 'ip decision: expires');
ok($d->{expires} gt $d->{created}, 'expires after created');
version_is(1, 'add raised block_version');

$r = request('POST', $base, $token{admin}, { user => 'mallory' });
is($r->{status}, 201, 'admin blocks a user');
my $u = decode($r);
is_deeply([ @$u{qw(type value expires reason)} ],
          [ 'user', 'mallory', undef, 'manual' ],
          'user decision: no expiry, default reason');
version_is(2, 'block_version raised again');

$r = request('POST', $base, $token{admin}, { ip => '2001:db8::1/48' });
is($r->{status}, 201, 'host bits under the prefix are cleared');
is(decode($r)->{value}, '2001:db8::/48', 'and the stored network shown');

my $items = decode(request('GET', $base, $token{auditor}))->{items};
is(scalar @$items, 3, 'three decisions listed');
my ($listed_ip) = grep { $_->{value} eq '198.51.100.0/24' } @$items;
is_deeply($listed_ip, $d, 'listed decision is the stored one');

my ($rc, $out) = cli('block', 'list');
like($out, qr/^ip\s+198\.51\.100\.0\/24\s+\S+Z\s+scanner$/m,
     'block list shows the network');
like($out, qr/^user\s+mallory\s+never\s+manual$/m,
     'block list shows the user');
like($out, qr/^ip\s+2001:db8::\/48\s/m, 'block list shows the IPv6 one');


# refused adds

my $listed = decode(request('GET', $base, $token{admin}))->{items};

my @bad = (
    [ 'not JSON', '{"ip":', 'invalid body' ],
    [ 'an array', '[]', 'invalid body' ],
    [ 'empty body', '', 'invalid body' ],
    [ 'no target', {}, 'missing field', 'ip' ],
    [ 'only a reason', { reason => 'x' }, 'missing field', 'ip' ],
    [ 'ip and user', { ip => '10.0.0.1', user => 'x' }, 'invalid field',
      'user' ],
    [ 'bad address', { ip => '10.0.0.256' }, 'invalid field', 'ip' ],
    [ 'bad prefix', { ip => '10.0.0.0/33' }, 'invalid field', 'ip' ],
    [ 'empty user', { user => '' }, 'invalid field', 'user' ],
    [ 'long user', { user => 'u' x 300 }, 'invalid field', 'user' ],
    [ 'ip a number', { ip => 5 }, 'invalid field', 'ip' ],
    [ 'bad duration', { ip => '10.0.0.1', duration => '15x' },
      'invalid field', 'duration' ],
    [ 'zero duration', { ip => '10.0.0.1', duration => '0' },
      'invalid field', 'duration' ],
    [ 'duration a number', { ip => '10.0.0.1', duration => 60 },
      'invalid field', 'duration' ],
    [ 'empty reason', { ip => '10.0.0.1', reason => '' },
      'invalid field', 'reason' ],
    [ 'control in reason', { ip => '10.0.0.1', reason => "a\nb" },
      'invalid field', 'reason' ],
    [ 'unknown field', { ip => '10.0.0.1', ttl => '1m' },
      'invalid field', 'ttl' ],
);

for my $case (@bad) {
    my ($what, $body, $error, $field) = @$case;
    $r = request('POST', $base, $token{admin}, $body);
    is($r->{status}, 400, "$what: 400");
    is_json($r, { error => $error, defined $field ? (field => $field) : () },
            "$what: body");
}

$r = request('POST', $base, $token{admin},
             '{"ip":"' . ('1' x (1024 * 1024)) . '"}');
is($r->{status}, 413, 'body over 1 MiB: 413');

nothing_changed($listed, 'refused adds changed nothing');
version_is(3, 'and left block_version alone');


# delete

for my $role (qw(auditor viewer)) {
    $r = request('DELETE', "${base}?user=mallory", $token{$role});
    is($r->{status}, 403, "$role may not delete");
}

for my $case (['', 'invalid query', undef],
              ['?ip=10.0.0.1&user=x', 'invalid parameter', 'user'],
              ['?ip=nowhere', 'invalid parameter', 'ip'],
              ['?user=', 'invalid parameter', 'user'],
              ['?name=mallory', 'unknown parameter', 'name'])
{
    my ($qs, $error, $param) = @$case;
    $r = request('DELETE', "$base$qs", $token{admin});
    is($r->{status}, 400, "delete '$qs': 400");
    is_json($r, { error => $error,
                  defined $param ? (parameter => $param) : () },
            "delete '$qs': body");
}

$r = request('DELETE', "${base}?ip=203.0.113.9", $token{admin});
is($r->{status}, 404, 'deleting a missing block: 404');
is_json($r, { error => 'not found' }, 'missing: body');

nothing_changed($listed, 'refused deletes changed nothing');
version_is(3, 'and left block_version alone');

$r = request('DELETE', "${base}?user=mallory", $token{admin});
is($r->{status}, 204, 'admin deletes a user block');
is($r->{content} // '', '', '204 has no body');
version_is(4, 'delete raised block_version');

$r = request('DELETE', "${base}?ip=198.51.100.0%2F24", $token{admin});
is($r->{status}, 204, 'admin deletes a network block');

$r = request('DELETE', "${base}?ip=2001:db8::/48", $token{admin});
is($r->{status}, 204, 'and the IPv6 one');

$r = request('DELETE', "${base}?user=mallory", $token{admin});
is($r->{status}, 404, 'deleted twice: 404');

nothing_changed([], 'nothing left');
($rc, $out) = cli('block', 'list');
is($out, sprintf("%-4s %-43s %-20s %s\n", 'TYPE', 'BLOCK', 'EXPIRES',
                 'REASON'), 'block list agrees');


# methods and paths

for my $case (['PUT', $base], ['PATCH', $base], ['HEAD', $base],
              ['DELETE', "${base}mallory/"])
{
    my ($m, $p) = @$case;
    $r = request($m, $p, $token{admin});
    my $want = $p eq $base ? 405 : 404;
    is($r->{status}, $want, "$m $p: $want");
}

is(stop_keryud($pid), 0, 'keryud exits cleanly');

done_testing();

sub nothing_changed {
    my ($want, $name) = @_;
    my $r = request('GET', $base, $token{admin});
    is_deeply(decode($r)->{items}, $want, $name);
}


sub cli {
    my @args = @_;
    my $p = open(my $fh, '-|') // die "fork: $!";
    if ($p == 0) {
        open(STDERR, '>', "$dir/stderr") or die "stderr: $!";
        exec($keryud, '-c', $conf, @args) or die "exec: $!";
    }
    local $/;
    my $stdout = <$fh> // '';
    close($fh);
    my $code = $? >> 8;
    return ($code, $stdout, read_file("$dir/stderr"));
}

sub version_is {
    my ($want, $name) = @_;
    SKIP: {
        skip('mdb_dump not installed', 1) unless $have_dump;
        is(block_version(), $want, $name);
    }
}

sub block_version {
    my $dump = `mdb_dump -p -s meta $dir/store 2>/dev/null`;
    my ($value) = $dump =~ /^ block_version\n (\S+)\n/m or return 0;
    my @bytes;
    while ($value =~ /\G(?:\\([0-9a-f]{2})|\\\\|(.))/gc) {
        push @bytes, defined $1 ? hex($1) : defined $2 ? ord($2) : 0x5c;
    }
    my $n = 0;
    $n = $n * 256 + $_ for reverse @bytes;
    return $n;
}


