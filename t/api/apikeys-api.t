# vim:set ft=perl ts=4 sw=4 et:
#
# Copyright (C) Keryu Security
#
# keryud's API keys endpoints over the shared store: list, create and
# revoke as each role; the key shown once and never again, in a list, a
# change record or the log; every error the API documents with nothing
# written; the command line and the API seeing each other's keys and
# refusing the same names and roles; system_change records of each change.
# config_version is read with mdb_dump when lmdb-utils is installed.
#
#     prove t/api/apikeys-api.t
#     KERYUD=build-asan/keryud prove t/api/apikeys-api.t

use strict;
use warnings;

use File::Temp qw(tempdir);
use Test::More;

use FindBin;
use lib $FindBin::Bin;
use ApiTest;

my $keryud = $ENV{KERYUD} // 'build/keryud';

plan skip_all => "$keryud not built" unless -x $keryud;

my $dir = tempdir('keryud-akapi-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $port = free_port();
my $conf = "$dir/keryud.conf";
my $log = "$dir/keryud.log";
my $have_dump = system('mdb_dump -V >/dev/null 2>&1') == 0;
my $base = '/api/security/apikeys/';
my $rfc3339 = qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z\z/;

write_file($conf, <<"END");
# apikeys-api.t
store $dir/store;
data $dir/data;
listen 127.0.0.1:$port;
poll_interval 10ms;
pid_file $dir/keryud.pid;
END

my %token;
keryud_use(port => $port, conf => $conf, log => $log, keryud => $keryud,
           token => \%token);

for my $role (qw(admin auditor viewer)) {
    chomp($token{$role} =
              `$keryud -c $conf token create --role $role --name $role`);
    is($? >> 8, 0, "token create $role");
}

my $pid = start_keryud();

sub list {
    my $r = request('GET', $base, $token{admin});
    die "list: $r->{status}" unless $r->{status} == 200;
    return decode($r)->{items};
}

sub names { return [ sort map { $_->{name} } @{ list() } ] }

sub config_version {
    return undef unless $have_dump;
    my @l = split /\n/, `mdb_dump -s meta $dir/store 2>/dev/null`;
    my $k = ' ' . unpack('H*', 'config_version');
    for my $i (0 .. $#l - 1) {
        return unpack('Q<', pack('H*', substr($l[$i + 1], 1)))
            if $l[$i] eq $k;
    }
    return 0;
}

sub events {
    my ($action) = @_;
    my $r = request('GET', '/api/security/events/?event_type=system_change'
                           . '&limit=1000', $token{admin});
    return [ grep { ($_->{details}{action} // '') eq $action }
             @{ decode($r)->{items} } ];
}


# an empty store

for my $role (qw(admin auditor)) {
    my $r = request('GET', $base, $token{$role});
    is($r->{status}, 200, "$role lists API keys");
    is_json($r, { items => [] }, "$role: no API keys yet");
}

my $r = request('GET', $base, $token{viewer});
is($r->{status}, 403, 'viewer may not list API keys');
is_json($r, { error => 'forbidden' }, 'viewer list: body');

$r = request('GET', '/api/security/apikeys', $token{auditor});
is($r->{status}, 200, 'list without the trailing slash');


# create

for my $role (qw(auditor viewer)) {
    $r = request('POST', $base, $token{$role},
                 { name => 'x', roles => ['ci'] });
    is($r->{status}, 403, "$role may not create");
    $r = request('DELETE', "${base}x/", $token{$role});
    is($r->{status}, 403, "$role may not revoke");
}

my $v0 = config_version();

$r = request('POST', $base, $token{admin},
             { name => 'ci-runner', roles => [qw(deploy reader)],
               ttl => '1h' });
is($r->{status}, 201, 'admin creates an API key');
my $made = decode($r);
like($made->{key}, qr/^kak_[A-Za-z0-9_-]{43}\z/, 'the key, shown once');
is($made->{apikey}{name}, 'ci-runner', 'its name');
is_deeply($made->{apikey}{roles}, [qw(deploy reader)], 'its roles');
like($made->{apikey}{created_at}, $rfc3339, 'created_at');
like($made->{apikey}{expires_at}, $rfc3339, 'expires_at');
is($made->{apikey}{expired}, JSON::PP::false, 'not expired');
is($r->{headers}{'cache-control'}, 'no-store', 'the answer is not cached');
my $key = $made->{key};

SKIP: {
    skip 'mdb_dump not installed', 1 unless $have_dump;
    is(config_version(), $v0 + 1, 'config_version rose once');
}

$r = request('POST', $base, $token{admin},
             { name => 'batch', roles => ['reader'], ttl => 7200 });
is($r->{status}, 201, 'ttl in seconds');
$r = request('POST', $base, $token{admin},
             { name => 'forever', roles => ['reader'], ttl => undef });
is($r->{status}, 201, 'ttl null: never expires');
is(decode($r)->{apikey}{expires_at}, undef, 'expires_at null');

$r = request('GET', $base, $token{auditor});
is($r->{status}, 200, 'auditor lists them');
my %by = map { $_->{name} => $_ } @{ decode($r)->{items} };
is_deeply([ sort keys %by ], [qw(batch ci-runner forever)], 'three keys');
is_deeply([ sort keys %{ $by{'ci-runner'} } ],
          [qw(created_at expired expires_at name roles)],
          'metadata only, never the key');
unlike($r->{content}, qr/kak_/, 'no key in the list');
is_deeply($by{'ci-runner'}{roles}, [qw(deploy reader)], 'roles listed');


# the command line sees the API's keys, the API the command line's

my $out = `$keryud -c $conf apikey list 2>&1`;
like($out, qr/^ci-runner\s+deploy,reader\s/m, 'apikey list shows it');

chomp(my $cli_key = `$keryud -c $conf apikey create --name from-cli --role ops`);
is($? >> 8, 0, 'apikey create on the command line');
ok((grep { $_ eq 'from-cli' } @{ names() }), 'the API lists it');


# bad requests write nothing

my @names = @{ names() };
$v0 = config_version();

my @bad = (
    [ 'not JSON', '{"name":', 400, { error => 'invalid body' } ],
    [ 'not an object', [], 400, { error => 'invalid body' } ],
    [ 'no name', { roles => ['a'] }, 400,
      { error => 'missing field', field => 'name' } ],
    [ 'no roles', { name => 'n1' }, 400,
      { error => 'missing field', field => 'roles' } ],
    [ 'unknown field', { name => 'n1', roles => ['a'], role => 'a' }, 400,
      { error => 'unknown field', field => 'role' } ],
    [ 'name not a string', { name => 5, roles => ['a'] }, 400,
      { error => 'invalid field', field => 'name' } ],
    [ 'name with a space', { name => 'a b', roles => ['a'] }, 400,
      { error => 'invalid field', field => 'name' } ],
    [ 'name too long', { name => 'n' x 65, roles => ['a'] }, 400,
      { error => 'invalid field', field => 'name' } ],
    [ 'roles not an array', { name => 'n1', roles => 'a' }, 400,
      { error => 'invalid field', field => 'roles' } ],
    [ 'no role', { name => 'n1', roles => [] }, 400,
      { error => 'invalid field', field => 'roles' } ],
    [ 'a role twice', { name => 'n1', roles => [qw(a b a)] }, 400,
      { error => 'invalid field', field => 'roles' } ],
    [ 'a bad role', { name => 'n1', roles => ['a/b'] }, 400,
      { error => 'invalid field', field => 'roles' } ],
    [ 'a role not a string', { name => 'n1', roles => [1] }, 400,
      { error => 'invalid field', field => 'roles' } ],
    [ 'seventeen roles', { name => 'n1', roles => [ map { "r$_" } 1 .. 17 ] },
      400, { error => 'invalid field', field => 'roles' } ],
    [ 'ttl not a duration', { name => 'n1', roles => ['a'], ttl => 'soon' },
      400, { error => 'invalid field', field => 'ttl' } ],
    [ 'ttl zero', { name => 'n1', roles => ['a'], ttl => 0 }, 400,
      { error => 'invalid field', field => 'ttl' } ],
    [ 'ttl over ten years', { name => 'n1', roles => ['a'], ttl => '3651d' },
      400, { error => 'invalid field', field => 'ttl' } ],
    [ 'ttl a list', { name => 'n1', roles => ['a'], ttl => [1] }, 400,
      { error => 'invalid field', field => 'ttl' } ],
    [ 'name taken through the API', { name => 'ci-runner', roles => ['a'] },
      409, { error => 'apikey exists', field => 'name' } ],
    [ 'name taken on the command line',
      { name => 'from-cli', roles => ['a'] },
      409, { error => 'apikey exists', field => 'name' } ],
);

for my $b (@bad) {
    my ($what, $body, $status, $expect) = @$b;
    $r = request('POST', $base, $token{admin}, $body);
    is($r->{status}, $status, "$what: $status");
    is_json($r, $expect, "$what: body");
}

is_deeply(names(), \@names, 'refused requests left the keys as they were');

SKIP: {
    skip 'mdb_dump not installed', 1 unless $have_dump;
    is(config_version(), $v0, 'and config_version');
}

# the command line refuses what the API refuses, in its own words
like(`$keryud -c $conf apikey create --name 'a b' --role a 2>&1`,
     qr/^keryud: invalid apikey name "a b"/, 'the CLI refuses the name');
like(`$keryud -c $conf apikey create --name n1 --role a --role a 2>&1`,
     qr/^keryud: role "a" given twice/, 'the CLI refuses a role twice');
like(`$keryud -c $conf apikey create --name ci-runner --role a 2>&1`,
     qr/^keryud: apikey "ci-runner" exists already/,
     'the CLI refuses a name the API took');

$r = request('POST', $base, $token{admin}, 'x' x (1024 * 1024 + 1));
is($r->{status}, 413, 'body too large');


# revoke

$v0 = config_version();

$r = request('DELETE', "${base}from-cli/", $token{admin});
is($r->{status}, 204, 'the API revokes a key the CLI made');
ok(!length($r->{content} // ''), 'no body');

SKIP: {
    skip 'mdb_dump not installed', 1 unless $have_dump;
    is(config_version(), $v0 + 1, 'config_version rose once');
}

$r = request('DELETE', "${base}from-cli/", $token{admin});
is($r->{status}, 404, 'revoking it again');
is_json($r, { error => 'not found' }, 'again: body');

$r = request('DELETE', "${base}no-such-key", $token{admin});
is($r->{status}, 404, 'an unknown name, no trailing slash');

$r = request('DELETE', $base, $token{admin});
is($r->{status}, 405, 'DELETE without a name');

$r = request('PUT', "${base}batch/", $token{admin}, {});
is($r->{status}, 405, 'PUT: method not allowed');

like(`$keryud -c $conf apikey revoke batch 2>&1`, qr/^apikey batch revoked$/,
     'the CLI revokes a key the API made');
is_deeply(names(), [qw(ci-runner forever)], 'two keys left');


# change records: names and metadata, never a key

my $c = events('apikey.create');
is(scalar(grep { $_->{details}{target} eq 'ci-runner' } @$c), 1,
   'apikey.create recorded');
my ($ce) = grep { $_->{details}{target} eq 'ci-runner' } @$c;
is($ce->{user}, 'admin', 'by the admin token');
is_deeply($ce->{details}{after}{roles}, [qw(deploy reader)],
          'after: its roles');
is($ce->{details}{before}, undef, 'before: none');

$c = events('apikey.revoke');
my ($re) = grep { $_->{details}{target} eq 'from-cli' } @$c;
ok($re, 'apikey.revoke recorded');
is($re->{details}{before}{name}, 'from-cli', 'before: what was revoked');

$r = request('GET', '/api/security/events/?limit=1000', $token{admin});
unlike($r->{content}, qr/\Q$key\E|\Q$cli_key\E/,
       'no key in any record');

is(stop_keryud($pid), 0, 'keryud stops cleanly');

unlike(read_file($log), qr/kak_/, 'no key in the log');
unlike(read_file($log), qr/ERROR: AddressSanitizer|LeakSanitizer/,
       'no sanitizer reports');

done_testing();
