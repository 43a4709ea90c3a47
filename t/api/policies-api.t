# vim:set ft=perl ts=4 sw=4 et:
#
# Copyright (C) Keryu Security
#
# keryud's policies API: list, create, replace and delete policies in the
# shared store as each role, every error the API documents, nothing
# written by a refused request, and the command line ("keryud policy")
# seeing what the API wrote.  config_version is read with mdb_dump when
# lmdb-utils is installed.
#
# Run from the top of the tree after "make build/keryud":
#
#     prove t/api/policies-api.t
#     KERYUD=build-asan/keryud prove t/api/policies-api.t

use strict;
use warnings;

use File::Temp qw(tempdir);
use JSON::PP;
use Test::More;

use FindBin;
use lib $FindBin::Bin;
use ApiTest;
use Time::HiRes qw(sleep time);

my $keryud = $ENV{KERYUD} // 'build/keryud';

plan skip_all => "$keryud not built" unless -x $keryud;

my $dir = tempdir('keryud-papi-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $port = free_port();
my $conf = "$dir/keryud.conf";
my $log = "$dir/keryud.log";
my $json = JSON::PP->new->canonical;
my $have_dump = system('mdb_dump -V >/dev/null 2>&1') == 0;
my $base = '/api/security/policies/';

write_file($conf, <<"EOF");
# policies-api.t
store $dir/store;
data $dir/data;
listen 127.0.0.1:$port;
poll_interval 10ms;
pid_file $dir/keryud.pid;
default_policies off;
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

my %ip = (
    name => 'api-ip',
    policy_type => 'ip',
    priority => 10,
    rules => { allow => [], deny => ['192.0.2.0/24'] },
);

my %access = (
    name => 'api-access',
    policy_type => 'access',
    priority => 100,
    rules => [ { id => 'pub', path => '/', methods => ['GET'],
                 effect => 'allow', anyone => JSON::PP::true } ],
);


# an empty store

for my $role (qw(admin auditor)) {
    my $r = request('GET', $base, $token{$role});
    is($r->{status}, 200, "$role lists policies");
    is_json($r, { items => [] }, "$role: no policies yet");
}

my $r = request('GET', $base, $token{viewer});
is($r->{status}, 403, 'viewer may not list policies');
is_json($r, { error => 'forbidden' }, 'viewer list: body');

$r = request('GET', '/api/security/policies', $token{auditor});
is($r->{status}, 200, 'list without the trailing slash');

$r = request('GET', $base);
is($r->{status}, 401, 'no token: 401');


# create

for my $role (qw(auditor viewer)) {
    $r = request('POST', $base, $token{$role}, \%ip);
    is($r->{status}, 403, "$role may not create");
    is_json($r, { error => 'forbidden' }, "$role create: body");
}
nothing_changed([], 'refused creates stored nothing');
version_is(0, 'refused creates left config_version alone');

$r = request('POST', $base, $token{admin}, \%ip);
is($r->{status}, 201, 'admin creates a policy');
my $doc = decode($r);
is($doc->{name}, 'api-ip', 'created: name');
is_deeply($doc->{rules}, $ip{rules}, 'created: rules as given');
like($doc->{created_at}, qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\z/,
     'created: created_at');
is($doc->{updated_at}, $doc->{created_at}, 'created: updated_at');
version_is(1, 'create raised config_version');

$r = request('POST', $base, $token{admin}, \%access);
is($r->{status}, 201, 'second policy created');
my $access_doc = decode($r);
version_is(2, 'config_version raised again');

my $items = decode(request('GET', $base, $token{auditor}))->{items};
is_deeply([ map { $_->{name} } @$items ], [ 'api-access', 'api-ip' ],
          'list sorted by name');
is_deeply($items->[1], $doc, 'listed document is the stored one');

my ($rc, $out) = cli('policy', 'list');
like($out, qr/^api-access\s+access\s+yes\s+no\s+1\s+\S+Z$/m,
     'policy list shows the access policy');
like($out, qr/^api-ip\s+ip\s+yes\s+no\s+1\s+\S+Z$/m,
     'policy list shows the ip policy');

($rc, $out) = cli('policy', 'show', 'api-ip');
is_deeply($json->decode($out), $doc, 'policy show agrees with the API');


# refused creates

my $listed = decode(request('GET', $base, $token{admin}))->{items};

$r = request('POST', $base, $token{admin}, \%ip);
is($r->{status}, 409, 'existing name: 409');
is_json($r, { error => 'policy exists' }, 'existing name: body');

my %bad = (%access, name => 'api-bad',
           rules => [ { id => 'x', path => '/', effect => 'maybe',
                        anyone => JSON::PP::true } ]);
write_file("$dir/bad.json", $json->encode(\%bad));
my ($crc, $cout, $cerr) = cli('policy', 'apply', "$dir/bad.json");
is($crc, 1, 'the command line refuses the bad policy too');

$r = request('POST', $base, $token{admin}, \%bad);
is($r->{status}, 400, 'invalid policy: 400');
my $e = decode($r);
is($e->{error}, 'invalid policy', 'invalid policy: error');
ok(length $e->{reason}, 'invalid policy: reason given');
like($cerr, qr/\Q$e->{reason}\E$/, 'reason is the compiler\'s message');
is_deeply([ sort keys %$e ], [ 'error', 'reason' ], 'invalid: two fields');

my %body_cases = (
    'not JSON' => '{"name": "x",',
    'array of one' => '[' . $json->encode({ %ip, name => 'api-arr' }) . ']',
    'a string' => '"api-ip"',
    'empty body' => '',
    'no name' => '{"policy_type": "ip", "rules": {}}',
    'unknown type' => '{"name": "api-t", "policy_type": "x", "rules": {}}',
    'bad address' => $json->encode({ %ip, name => 'api-ad',
                                     rules => { deny => ['10.0.0.0/33'] } }),
);

for my $what (sort keys %body_cases) {
    $r = request('POST', $base, $token{admin}, $body_cases{$what});
    is($r->{status}, 400, "$what: 400");
    $e = decode($r);
    is($e->{error}, 'invalid policy', "$what: invalid policy");
    ok(defined $e->{reason} && length $e->{reason}, "$what: reason");
}

$r = request('POST', $base, $token{admin},
             '{"name": "' . ('x' x (1024 * 1024)) . '"}');
is($r->{status}, 413, 'body over 1 MiB: 413');

nothing_changed($listed, 'refused creates changed nothing');
version_is(2, 'and left config_version alone');


# replace

sleep(1.1);

my %ip2 = (%ip, rules => { allow => [], deny => ['198.51.100.0/24'] });

for my $role (qw(auditor viewer)) {
    $r = request('PUT', "${base}api-ip/", $token{$role}, \%ip2);
    is($r->{status}, 403, "$role may not replace");
}

$r = request('PUT', "${base}api-access/", $token{admin}, \%ip2);
is($r->{status}, 400, 'name other than the path: 400');
is_json($r, { error => 'name mismatch' }, 'name mismatch: body');

$r = request('PUT', "${base}api-none/", $token{admin},
             { %ip2, name => 'api-none' });
is($r->{status}, 404, 'replacing a missing policy: 404');
is_json($r, { error => 'not found' }, 'missing: body');

$r = request('PUT', "${base}api-ip/", $token{admin},
             { %ip, rules => { deny => ['nowhere'] } });
is($r->{status}, 400, 'replacing with an invalid policy: 400');
is(decode($r)->{error}, 'invalid policy', 'invalid replacement: error');

$r = request('PUT', "${base}api-ip/", $token{admin}, 'x' x (1024 * 1024 + 1));
is($r->{status}, 413, 'replacement over 1 MiB: 413');

nothing_changed($listed, 'refused replacements changed nothing');
version_is(2, 'and left config_version alone');

$r = request('PUT', "${base}api-ip/", $token{admin}, \%ip2);
is($r->{status}, 200, 'admin replaces a policy');
my $doc2 = decode($r);
is_deeply($doc2->{rules}, $ip2{rules}, 'replaced: new rules');
is($doc2->{created_at}, $doc->{created_at}, 'replaced: created_at kept');
isnt($doc2->{updated_at}, $doc->{updated_at}, 'replaced: updated_at moved');
version_is(3, 'replace raised config_version');

$r = request('PUT', "${base}api-ip", $token{admin}, \%ip2);
is($r->{status}, 200, 'replace without the trailing slash');
version_is(4, 'config_version raised');

($rc, $out) = cli('policy', 'show', 'api-ip');
like($out, qr/198\.51\.100\.0\/24/, 'policy show sees the replacement');


# delete

for my $role (qw(auditor viewer)) {
    $r = request('DELETE', "${base}api-ip/", $token{$role});
    is($r->{status}, 403, "$role may not delete");
}

$r = request('DELETE', "${base}api-none/", $token{admin});
is($r->{status}, 404, 'deleting a missing policy: 404');
is_json($r, { error => 'not found' }, 'missing delete: body');
version_is(4, 'refused deletes left config_version alone');

$r = request('DELETE', "${base}api-ip/", $token{admin});
is($r->{status}, 204, 'admin deletes a policy');
is($r->{content} // '', '', '204 has no body');
version_is(5, 'delete raised config_version');

$r = request('DELETE', "${base}api-ip/", $token{admin});
is($r->{status}, 404, 'deleted twice: 404');

is_deeply([ map { $_->{name} } @{ decode(request('GET', $base,
                                                 $token{admin}))->{items} } ],
          [ 'api-access' ], 'list after the delete');

($rc, $out) = cli('policy', 'list');
unlike($out, qr/^api-ip/m, 'policy list agrees');


# methods and paths

for my $case (['PATCH', $base], ['DELETE', $base], ['PUT', $base],
              ['POST', "${base}api-access/"], ['GET', "${base}api-access/"],
              ['HEAD', $base])
{
    my ($m, $p) = @$case;
    $r = request($m, $p, $token{admin});
    is($r->{status}, 405, "$m $p: 405");
    is_json($r, { error => 'method not allowed' }, "$m $p: body")
        unless $m eq 'HEAD';
}

$r = request('PUT', "${base}api-access/more/", $token{admin}, \%access);
is($r->{status}, 404, 'a deeper path: 404');

$r = request('DELETE', "${base}" . ('n' x 65) . '/', $token{admin});
is($r->{status}, 404, 'a name over the limit: 404');

version_is(5, 'refused requests left config_version alone');

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
        is(config_version(), $want, $name);
    }
}

sub config_version {
    my $dump = `mdb_dump -p -s meta $dir/store 2>/dev/null`;
    my ($value) = $dump =~ /^ config_version\n (\S+)\n/m or return 0;
    my @bytes;
    while ($value =~ /\G(?:\\([0-9a-f]{2})|\\\\|(.))/gc) {
        push @bytes, defined $1 ? hex($1) : defined $2 ? ord($2) : 0x5c;
    }
    my $n = 0;
    $n = $n * 256 + $_ for reverse @bytes;
    return $n;
}


