# vim:set ft=perl ts=4 sw=4 et:
#
# Copyright (C) Keryu Security
#
# The hash chain over keryud's logs seen from outside: GET
# /api/security/integrity/ on records that fill appended to the shared
# ring, by role and with its parameters; the erasure of a data subject
# (DELETE /api/security/subjects/USER/ and "keryud subject erase"), with
# its roles, bad input, the change record it leaves, the alert samples it
# drops, and verification still passing after it; "keryud verify" and its
# exit codes; then a record altered, and two swapped, in the data file
# with mdb_load while keryud is stopped, which both the API and the
# command line report after a restart.
#
#     prove t/api/integrity-api.t
#     KERYUD=build-asan/keryud prove t/api/integrity-api.t

use strict;
use warnings;

use File::Temp qw(tempdir);
use Test::More;

use FindBin;
use lib $FindBin::Bin;
use ApiTest;

my $keryud = $ENV{KERYUD} // 'build/keryud';

plan skip_all => "$keryud not built" unless -x $keryud;
plan skip_all => 'mdb_load not found (lmdb-utils)'
    unless system('mdb_load -V >/dev/null 2>&1') == 0;

my $dir = tempdir('keryud-integrity-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $port = free_port();
my $conf = "$dir/keryud.conf";
my $log = "$dir/keryud.log";
my $path = '/api/security/integrity/';
my $subjects = '/api/security/subjects/';
my $rfc3339 = qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z\z/;

# fill, built as api.t builds it
my $fill = "$dir/fill";
system("cc -O2 -I shared -o $fill t/api/fill.c shared/keryu_store.c "
       . "shared/keryu_record.c -llmdb") == 0 or die "building fill failed";

write_file($conf, <<"EOF");
# integrity-api.t
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

for my $role (qw(admin auditor viewer)) {
    chomp($token{$role} =
              `$keryud -c $conf token create --role $role --name $role-1`);
    is($? >> 8, 0, "token create $role");
}

my $pid = start_keryud();


sub fill {
    system($fill, "$dir/store", @_) == 0 or die 'fill failed';
}


sub consumed {
    my ($n) = @_;
    wait_until(sub {
        my $st = decode(request('GET', '/api/security/status/',
                                $token{admin}));
        return $st->{keryud}{consumed} >= $n;
    }, "$n records consumed");
}


sub integrity {
    my ($qs, $role) = @_;
    my $r = request('GET', $path . ($qs // ''), $token{$role // 'admin'});
    is($r->{status}, 200, 'integrity ' . ($qs // '')) or diag $r->{content};
    return decode($r);
}


# a consistent report: counts that add up, a signed checkpoint, a time

sub check_ok {
    my ($v, $name) = @_;
    ok($v->{ok}, "$name: ok") or diag explain $v;
    is($v->{first_bad}, undef, "$name: no bad record");
    is($v->{records}, $v->{last_id} - $v->{first_id} + 1,
       "$name: every id from first to last");
    is($v->{kept} + $v->{expired} + $v->{erased}, $v->{records},
       "$name: states add up");
    ok($v->{checkpoints} >= 1, "$name: a checkpoint verified");
    like($v->{last_checkpoint}{key}, qr/^[0-9a-f]{16}\z/, "$name: key id");
    like($v->{last_checkpoint}{time}, $rfc3339, "$name: checkpoint time");
    like($v->{duration_us}, qr/^\d+\z/, "$name: duration");
}


sub user_ids {
    my ($user) = @_;
    my $l = decode(request('GET', "/api/security/logs/?user=$user&limit=1000",
                           $token{admin}));
    return map { $_->{id} } @{ $l->{items} };
}


# records of three users, and ten failed logins of carol from one address:
# the shipped brute-force policy opens an alert whose samples are hers

fill(100, 'user=alice');
fill(200, 'user=bob');
fill(10, 'user=carol', 'type=auth_failure', 'ip=203.0.113.9');
consumed(310);

my $alert = wait_until(sub {
    my $a = decode(request('GET', '/api/security/alerts/'
                           . '?rule=brute-force/auth-failures',
                           $token{admin}))->{items};
    return @$a && @{ $a->[0]{samples} } ? $a->[0] : undef;
}, 'brute-force alert');

my @carol = user_ids('carol');
is(scalar @carol, 10, 'carol has ten records');


# the integrity report, by role

my $v = integrity();
check_ok($v, 'full');
is($v->{full}, JSON::PP::true, 'full by default');
is($v->{first_id}, 1, 'from the first record');
ok($v->{last_id} >= 313, 'tokens, then the ring records');
is($v->{unchained}, 0, 'nothing before the chain');

$v = integrity('', 'auditor');
ok($v->{ok}, 'auditor reads it');

my $r = request('GET', $path, $token{viewer});
is($r->{status}, 403, 'viewer: 403');
is_json($r, { error => 'forbidden' }, 'viewer: forbidden');

is(request('GET', $path)->{status}, 401, 'no token: 401');
is(request('GET', '/api/security/integrity', $token{admin})->{status}, 200,
   'without the trailing slash');

$r = request('POST', $path, $token{admin}, {});
is($r->{status}, 405, 'POST: 405');
is($r->{headers}{allow}, 'GET', 'Allow: GET');

$v = integrity('?full=0');
ok($v->{ok}, 'quick: ok');
is($v->{full}, JSON::PP::false, 'quick');
ok($v->{checkpoints} >= 1, 'quick: the newest checkpoint verified');

$v = integrity('?full=1');
is($v->{full}, JSON::PP::true, 'full=1');

for my $bad ([ '?full=2', 'invalid parameter', 'full' ],
             [ '?full=1&full=0', 'invalid parameter', 'full' ],
             [ '?all=1', 'unknown parameter', 'all' ])
{
    $r = request('GET', $path . $bad->[0], $token{admin});
    is($r->{status}, 400, "$bad->[0]: 400");
    is_json($r, { error => $bad->[1], parameter => $bad->[2] },
            "$bad->[0]: $bad->[1]");
}


# erasure through the API: roles and bad input first, nothing erased

for my $role (qw(auditor viewer)) {
    $r = request('DELETE', "${subjects}alice/", $token{$role});
    is($r->{status}, 403, "$role may not erase");
}

is(request('DELETE', "${subjects}alice/")->{status}, 401, 'no token: 401');

$r = request('GET', "${subjects}alice/", $token{admin});
is($r->{status}, 405, 'GET a subject: 405');
is($r->{headers}{allow}, 'DELETE', 'Allow: DELETE');
is(request('POST', $subjects, $token{admin}, {})->{status}, 405,
   'POST subjects: 405');
is(request('DELETE', $subjects, $token{admin})->{status}, 405,
   'DELETE without a user: 405');

$r = request('DELETE', $subjects . ('x' x 257) . '/', $token{admin});
is($r->{status}, 400, 'user too long: 400');
is_json($r, { error => 'invalid user' }, 'invalid user');

$r = request('DELETE', "${subjects}alice/?now=1", $token{admin});
is($r->{status}, 400, 'a parameter: 400');
is_json($r, { error => 'unknown parameter', parameter => 'now' },
        'unknown parameter');

is(scalar(() = user_ids('alice')), 100, 'alice untouched by refusals');


# erasure

$r = request('DELETE', "${subjects}alice/", $token{admin});
is($r->{status}, 200, 'admin erases alice');
is_json($r, { user => 'alice', records_removed => 100, alerts_touched => 0 },
        'alice: 100 records');

is_json(request('GET', '/api/security/logs/?user=alice', $token{admin}),
        { items => [], next_cursor => undef }, 'nothing left of alice');

$v = integrity();
check_ok($v, 'after erasure');
is($v->{erased}, 100, '100 entries erased');

$v = integrity('?full=0');
ok($v->{ok}, 'quick after erasure');

my $changes = decode(request('GET',
    '/api/security/events/?event_type=system_change&user=admin-1',
    $token{admin}))->{items};
my ($erase) = grep { $_->{details}{action} eq 'subject.erase' } @$changes;
ok($erase, 'the erasure is a system_change');
is($erase->{user}, 'admin-1', 'its actor');
is($erase->{method}, 'DELETE', 'its method');
is($erase->{status}, 200, 'its status');
is($erase->{details}{target}, 'alice', 'the user as its target');
is_deeply($erase->{details}{after},
          { user => 'alice', records_removed => 100, alerts_touched => 0 },
          'the counts, and no contents');
is($erase->{details}{before}, undef, 'nothing before');

$r = request('DELETE', "${subjects}alice/", $token{admin});
is_json($r, { user => 'alice', records_removed => 0, alerts_touched => 0 },
        'a second erasure finds nothing');

$r = request('DELETE', "${subjects}no%20one/", $token{admin});
is_json($r, { user => 'no one', records_removed => 0, alerts_touched => 0 },
        'a percent-encoded user');


# carol's records are the brute-force alert's samples

$r = request('DELETE', "${subjects}carol", $token{admin});
is_json($r, { user => 'carol', records_removed => 10, alerts_touched => 1 },
        'carol: the alert that sampled her records is touched');

my $after = decode(request('GET', "/api/security/alerts/$alert->{id}/",
                           $token{admin}));
is_deeply($after->{samples}, [], 'its samples of her records are gone');
is($after->{key}, $alert->{key}, 'its key stays');


# an alert keyed by a user is counted, and kept

$r = request('POST', '/api/security/alerts/', $token{admin},
             { severity => 'low', key => 'bob', key_type => 'user',
               summary => 'odd', rule => 'ops/review' });
is($r->{status}, 201, 'an alert about bob');


# the command line: verify, and erasure

my $out = `$keryud -c $conf verify`;
is($? >> 8, 0, 'verify: exit 0');
like($out, qr/^full\ chain:\ \d+\ records,\ ids\ 1\ to\ \d+
              \ \(\d+\ kept,\ 0\ expired,\ 110\ erased\),
              \ 0\ unchained,\ \d+\ checkpoints\ verified,\ \d+\ ms$/mx,
     'verify: counts');
like($out, qr/^last checkpoint: id \d+ at \S+Z, key [0-9a-f]{16}$/m,
     'verify: the last checkpoint');
like($out, qr/^ok$/m, 'verify: ok');

$out = `$keryud -c $conf verify --quick`;
is($? >> 8, 0, 'verify --quick: exit 0');
like($out, qr/^quick chain: /, 'verify --quick: quick');

$out = `$keryud -c $conf subject erase bob 2>&1`;
is($? >> 8, 0, 'subject erase: exit 0');
is($out, "erased 200 records of \"bob\", 1 alerts touched\n",
   'subject erase: counts');

$out = `$keryud -c $conf subject erase 2>&1`;
is($? >> 8, 1, 'subject erase without a user: exit 1');
like($out, qr/^usage: /, 'and the usage');

$out = `$keryud -c $conf verify --all 2>&1`;
is($? >> 8, 1, 'verify --all: exit 1');

$changes = decode(request('GET',
    '/api/security/events/?event_type=system_change', $token{admin}))->{items};
($erase) = grep { $_->{details}{action} eq 'subject.erase'
                  && $_->{details}{target} eq 'bob' } @$changes;
ok($erase, 'the command line erasure is a system_change');
like($erase->{user}, qr/^cli:/, 'by cli:LOGIN');
is($erase->{uri}, 'keryud subject erase bob', 'the command');
is_deeply($erase->{details}{after},
          { user => 'bob', records_removed => 200, alerts_touched => 1 },
          'with the counts');

is(scalar(() = user_ids('bob')), 0, 'nothing left of bob');
check_ok(integrity(), 'after the command line erasure');


# tampering with the data file while keryud is stopped

fill(50, 'user=dave');
consumed(360);

my @dave = sort { $a <=> $b } user_ids('dave');
is(scalar @dave, 50, 'dave has 50 records');

is(stop_keryud($pid), 0, 'keryud stops');


# the value of one record in logs, as bytes

sub record_value {
    my ($id) = @_;
    my @lines = grep { /^ / } `mdb_dump -s logs $dir/data`;
    my $key = sprintf '%016x', $id;

    for (my $i = 0; $i < @lines; $i += 2) {
        my ($k) = $lines[$i] =~ /^ ([0-9a-f]+)$/;
        next unless $k eq $key;
        my ($v) = $lines[$i + 1] =~ /^ ([0-9a-f]+)$/;
        return pack 'H*', $v;
    }

    die "record $id not in the dump";
}


sub record_put {
    my ($id, $value) = @_;
    open my $fh, '|-', "mdb_load -T -s logs $dir/data" or die;
    printf $fh "%s\n%s\n",
        join('', map { sprintf '\\%02x', $_ } unpack 'C*', pack 'Q>', $id),
        join('', map { sprintf '\\%02x', $_ } unpack 'C*', $value);
    close $fh or die 'mdb_load logs failed';
}


sub verify_cli {
    my $o = `$keryud -c $conf verify 2>&1`;
    return ($? >> 8, $o);
}


my $victim = $dave[20];
my $orig = record_value($victim);
my $bad = $orig;
substr($bad, -1, 1) = chr(ord(substr($bad, -1, 1)) ^ 1);
record_put($victim, $bad);

my ($code, $text) = verify_cli();
is($code, 1, 'verify of an altered record: exit 1');
like($text, qr/^first bad: id $victim, altered: digest mismatch$/m,
     'verify names the altered record');

$pid = start_keryud();

$v = integrity();
is($v->{ok}, JSON::PP::false, 'integrity: not ok');
is_deeply($v->{first_bad},
          { id => $victim, kind => 'altered', reason => 'digest mismatch' },
          'integrity: the altered record');
is($v->{last_id}, $victim - 1, 'verified up to the record before');

is(stop_keryud($pid), 0, 'keryud stops');


# put back, then two records swapped

record_put($victim, $orig);
($code, $text) = verify_cli();
is($code, 0, 'put back: exit 0') or diag $text;

my ($x, $y) = ($dave[10], $dave[12]);
my ($xv, $yv) = (record_value($x), record_value($y));
record_put($x, $yv);
record_put($y, $xv);

($code, $text) = verify_cli();
is($code, 1, 'swapped records: exit 1');
like($text,
     qr/^first bad: id $x, reordered: the record of another id \(id $y\)$/m,
     'verify names the swap');

$pid = start_keryud();

$v = integrity();
is_deeply($v->{first_bad},
          { id => $x, kind => 'reordered',
            reason => 'the record of another id', other_id => $y },
          'integrity: the swapped records');

is(stop_keryud($pid), 0, 'keryud stops cleanly');

like(read_file($log), qr/integrity: record $x reordered/,
     'a failed verification is logged');
unlike(read_file($log), qr/ERROR|AddressSanitizer|LeakSanitizer/,
       'no errors logged');

done_testing();
