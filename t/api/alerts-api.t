# vim:set ft=perl ts=4 sw=4 et:
#
# Copyright (C) Keryu Security
#
# keryud's alerts API: alerts raised by an operator and by detection, the
# same rule and key updating an open alert, status changes and notes in
# the response log with their actor, every role, every error, paging, and
# nothing changed by a refused request.  Detection is fed with fill, which
# appends records to the shared ring as nginx workers do.
#
#     prove t/api/alerts-api.t
#     KERYUD=build-asan/keryud prove t/api/alerts-api.t

use strict;
use warnings;

use File::Temp qw(tempdir);
use Test::More;

use FindBin;
use lib $FindBin::Bin;
use ApiTest;

my $keryud = $ENV{KERYUD} // 'build/keryud';
my $build = $ENV{BUILD} // 'build';

plan skip_all => "$keryud not built" unless -x $keryud;

my $dir = tempdir('keryud-alerts-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $port = free_port();
my $conf = "$dir/keryud.conf";
my $log = "$dir/keryud.log";
my $base = '/api/security/alerts/';
my $rfc3339 = qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z\z/;

# fill, built as api.t builds it
my $fill = "$dir/fill";
system("cc -O2 -I shared -o $fill t/api/fill.c shared/keryu_store.c "
       . "shared/keryu_record.c -llmdb") == 0 or die "building fill failed";

write_file($conf, <<"EOF");
# alerts-api.t
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
              `$keryud -c $conf token create --role $role --name $role-1`);
    is($? >> 8, 0, "token create $role");
}

my $pid = start_keryud();


# the shipped threshold policies, installed once per shared store

my $pol = decode(request('GET', '/api/security/policies/', $token{admin}));
is_deeply([ map { $_->{name} } @{ $pol->{items} } ],
          [ qw(brute-force credential-stuffing enumeration scanning) ],
          'default threshold policies installed');

is(request('DELETE', '/api/security/policies/scanning/',
           $token{admin})->{status}, 204, 'a default policy deleted');
is(stop_keryud($pid), 0, 'keryud stops');
$pid = start_keryud();
$pol = decode(request('GET', '/api/security/policies/', $token{admin}));
is_deeply([ map { $_->{name} } @{ $pol->{items} } ],
          [ qw(brute-force credential-stuffing enumeration) ],
          'and stays deleted after a restart');


sub list {
    my ($qs, $role) = @_;
    my $r = request('GET', $base . ($qs // ''), $token{$role // 'viewer'});
    is($r->{status}, 200, 'list ' . ($qs // '')) or diag $r->{content};
    return decode($r);
}


# every role reads; the list starts empty

for my $role (qw(admin auditor viewer)) {
    my $r = request('GET', $base, $token{$role});
    is($r->{status}, 200, "$role lists alerts");
    is_json($r, { items => [], next_cursor => undef }, "$role: none yet");
}

my $r = request('GET', $base);
is($r->{status}, 401, 'no token: 401');


# an operator's alert

for my $role (qw(auditor viewer)) {
    $r = request('POST', $base, $token{$role},
                 { severity => 'high', key => '10.1.1.1', summary => 'x' });
    is($r->{status}, 403, "$role may not raise an alert");
}

$r = request('POST', $base, $token{admin},
             { severity => 'high', key => '10.1.1.1',
               summary => 'odd traffic', rule => 'ops/review' });
is($r->{status}, 201, 'admin raises an alert');
my $al = decode($r);
is($al->{id}, 1, 'first id');
is_deeply([ @$al{qw(rule severity status key key_type summary count)} ],
          [ 'ops/review', 'high', 'open', '10.1.1.1', 'manual',
            'odd traffic', 1 ], 'fields');
like($al->{$_}, $rfc3339, "$_ is a time")
    for qw(first_seen last_seen created_at updated_at);
is($al->{block}, undef, 'no block');
is_deeply($al->{responses},
          [ { at => $al->{created_at}, actor => 'admin-1', action => 'opened',
              to => 'open', note => 'odd traffic' } ],
          'the response log names who opened it');

$r = request('POST', $base, $token{admin},
             { severity => 'low', key => '10.1.1.1', summary => 'more',
               rule => 'ops/review' });
is($r->{status}, 200, 'same rule and key: 200, updated');
my $bl = decode($r);
is($bl->{id}, 1, 'the same alert');
is($bl->{count}, 2, 'count grew');
is($bl->{severity}, 'high', 'severity never drops');
is($bl->{summary}, 'more', 'latest summary');

$r = request('GET', "${base}1/", $token{viewer});
is($r->{status}, 200, 'viewer reads one alert');
is_deeply(decode($r), $bl, 'as stored');


# bad raises

my @bad = (
    [ 'not JSON', '{', 'invalid body' ],
    [ 'an array', '[]', 'invalid body' ],
    [ 'no severity', { key => 'k', summary => 's' }, 'missing field',
      'severity' ],
    [ 'no key', { severity => 'low', summary => 's' }, 'missing field',
      'key' ],
    [ 'no summary', { severity => 'low', key => 'k' }, 'missing field',
      'summary' ],
    [ 'bad severity', { severity => 'dire', key => 'k', summary => 's' },
      'invalid field', 'severity' ],
    [ 'empty key', { severity => 'low', key => '', summary => 's' },
      'invalid field', 'key' ],
    [ 'bad rule', { severity => 'low', key => 'k', summary => 's',
                    rule => 'a b' }, 'invalid field', 'rule' ],
    [ 'long summary', { severity => 'low', key => 'k',
                        summary => 'x' x 600 }, 'invalid field', 'summary' ],
    [ 'severity a number', { severity => 3, key => 'k', summary => 's' },
      'invalid field', 'severity' ],
    [ 'unknown field', { severity => 'low', key => 'k', summary => 's',
                         colour => 'red' }, 'invalid field', 'colour' ],
);

for my $case (@bad) {
    my ($what, $body, $error, $field) = @$case;
    $r = request('POST', $base, $token{admin}, $body);
    is($r->{status}, 400, "$what: 400");
    is_json($r, { error => $error, defined $field ? (field => $field) : () },
            "$what: body");
}

is(scalar @{ list()->{items} }, 1, 'refused raises stored nothing');


# status and notes

$r = request('PUT', "${base}1/", $token{auditor}, { status => 'resolved' });
is($r->{status}, 403, 'auditor may not change an alert');

for my $case (['{}', 'missing field', 'status'],
              [{ status => 'closed' }, 'invalid field', 'status'],
              [{ note => 'n' x 1025 }, 'invalid field', 'note'],
              [{ status => 'open', by => 'me' }, 'invalid field', 'by'])
{
    my ($body, $error, $field) = @$case;
    $r = request('PUT', "${base}1/", $token{admin}, $body);
    is($r->{status}, 400, "PUT $error $field: 400");
    is_json($r, { error => $error, field => $field }, "PUT $field: body");
}

$r = request('PUT', "${base}99/", $token{admin}, { status => 'resolved' });
is($r->{status}, 404, 'PUT a missing alert: 404');
$r = request('PUT', "${base}01/", $token{admin}, { status => 'resolved' });
is($r->{status}, 404, 'PUT a malformed id: 404');

$r = request('PUT', "${base}1/", $token{admin},
             { status => 'acknowledged', note => 'looking' });
is($r->{status}, 200, 'acknowledged');
$al = decode($r);
is($al->{status}, 'acknowledged', 'status changed');
is_deeply([ map { $_->{action} } @{ $al->{responses} } ], [qw(opened status)],
          'the change is in the response log');
is_deeply([ @{ $al->{responses}[1] }{qw(actor from to note)} ],
          [ 'admin-1', 'open', 'acknowledged', 'looking' ],
          'with actor, from, to and note');

$r = request('PUT', "${base}1/", $token{admin}, { note => 'still there' });
is(decode($r)->{responses}[2]{action}, 'note', 'a note alone');

# an acknowledged alert is still the one the same key updates
$r = request('POST', $base, $token{admin},
             { severity => 'low', key => '10.1.1.1', summary => 'third',
               rule => 'ops/review' });
is(decode($r)->{id}, 1, 'acknowledged alerts are updated too');

$r = request('PUT', "${base}1/", $token{admin}, { status => 'resolved' });
is(decode($r)->{status}, 'resolved', 'resolved');

$r = request('POST', $base, $token{admin},
             { severity => 'low', key => '10.1.1.1', summary => 'again',
               rule => 'ops/review' });
is($r->{status}, 201, 'after resolving, the same key opens a new alert');
is(decode($r)->{id}, 2, 'with a new id');

$r = request('PUT', "${base}1/", $token{admin}, { status => 'open' });
is($r->{status}, 409, 'reopening while another is open: 409');
is_json($r, { error => 'another alert of this rule and key is open' },
        '409 body');
is(decode(request('GET', "${base}1/", $token{admin}))->{status}, 'resolved',
   'the refused reopen changed nothing');


# filters and paging

for my $i (1 .. 5) {
    request('POST', $base, $token{admin},
            { severity => $i % 2 ? 'critical' : 'medium', key => "k$i",
              summary => "s$i" });
}

my $all = list();
is_deeply([ map { $_->{id} } @{ $all->{items} } ], [ 7, 6, 5, 4, 3, 2, 1 ],
          'newest first');
is_deeply([ map { $_->{id} } @{ list('?severity=critical')->{items} } ],
          [ 7, 5, 3 ], 'by severity');
is_deeply([ map { $_->{id} } @{ list('?status=resolved')->{items} } ],
          [ 1 ], 'by status');
is_deeply([ map { $_->{id} } @{ list('?rule=ops/review')->{items} } ],
          [ 2, 1 ], 'by rule');
is_deeply([ map { $_->{id} } @{ list('?key=k2')->{items} } ], [ 4 ],
          'by key');

my $p1 = list('?limit=3');
is_deeply([ map { $_->{id} } @{ $p1->{items} } ], [ 7, 6, 5 ], 'page 1');
is($p1->{next_cursor}, '5', 'cursor names the last shown');
my $p2 = list("?limit=3&cursor=$p1->{next_cursor}");
is_deeply([ map { $_->{id} } @{ $p2->{items} } ], [ 4, 3, 2 ], 'page 2');
my $p3 = list("?limit=3&cursor=$p2->{next_cursor}");
is_deeply([ map { $_->{id} } @{ $p3->{items} } ], [ 1 ], 'page 3');
is($p3->{next_cursor}, undef, 'and no more');

for my $case (['?status=closed', 'status'], ['?severity=x', 'severity'],
              ['?limit=0', 'limit'], ['?limit=1001', 'limit'],
              ['?cursor=x', 'cursor'])
{
    $r = request('GET', "$base$case->[0]", $token{viewer});
    is($r->{status}, 400, "$case->[0]: 400");
    is_json($r, { error => 'invalid parameter', parameter => $case->[1] },
            "$case->[0]: body");
}

$r = request('GET', "${base}?colour=red", $token{viewer});
is_json($r, { error => 'unknown parameter', parameter => 'colour' },
        'unknown parameter');


# delete

$r = request('DELETE', "${base}2/", $token{auditor});
is($r->{status}, 403, 'auditor may not delete');
$r = request('DELETE', "${base}2/", $token{admin});
is($r->{status}, 204, 'admin deletes');
$r = request('GET', "${base}2/", $token{admin});
is($r->{status}, 404, 'gone');
$r = request('DELETE', "${base}2/", $token{admin});
is($r->{status}, 404, 'deleting it again: 404');

$r = request('POST', $base, $token{admin},
             { severity => 'low', key => '10.1.1.1', summary => 'after',
               rule => 'ops/review' });
is($r->{status}, 201, 'deleting the open alert frees its rule and key');


# every change above is a system_change event naming its actor

my $changes = decode(request('GET', '/api/security/events/'
                             . '?event_type=system_change&user=admin-1&limit=1000',
                             $token{admin}))->{items};
my %seen;
$seen{ $_->{details}{action} }++ for @$changes;
is_deeply([ sort keys %seen ],
          [ qw(alert.delete alert.open alert.update policy.delete) ],
          'changes through the API are recorded');
is($seen{'alert.open'}, 8, 'one per alert opened');

my ($ack) = reverse grep { $_->{method} eq 'PUT'
                   && $_->{details}{after}{status} eq 'acknowledged' }
            @$changes;
is($ack->{details}{before}{status}, 'open', 'the change keeps what was');
is($ack->{details}{target}, '1', 'and names its target');
is_deeply([ @$ack{qw(method uri status user)} ],
          [ 'PUT', "${base}1/", 200, 'admin-1' ], 'request, status, actor');

my ($del) = grep { $_->{details}{action} eq 'policy.delete' } @$changes;
is($del->{details}{before}{name}, 'scanning', 'a deleted policy is kept');
is($del->{details}{after}, undef, 'and nothing after it');

my $refused = grep { $_->{status} >= 400 } @$changes;
is($refused, 0, 'refused requests change nothing and record nothing');


# detection: a threshold policy, and failures appended to the ring

my $policy = "$dir/policy.json";
write_file($policy, <<'EOF');
{"name": "bf", "policy_type": "threshold",
 "rules": [{"id": "r", "types": ["auth_failure"], "group_by": "ip",
            "count": 3, "window": "60s", "severity": "critical",
            "action": "block", "duration": "10m", "max_duration": "40m"}]}
EOF
is(system("$keryud -c $conf policy apply $policy >/dev/null"), 0,
   'threshold policy applied');

my $login = getpwuid($<);
my ($cli) = grep { $_->{details}{action} eq 'policy.apply' }
            @{ decode(request('GET', '/api/security/events/'
                              . "?event_type=system_change&user=cli:$login",
                              $token{admin}))->{items} };
ok($cli, 'a change from the command line is recorded too');
is($cli && $cli->{method}, 'CLI', 'as a CLI change');
like($cli && $cli->{uri}, qr{^keryud policy apply \Q$policy\E$},
     'with the command');

sub failures {
    my ($n) = @_;
    system($fill, "$dir/store", $n, 'type=auth_failure', 'ip=192.0.2.66',
           'status=401', 'uri=/login') == 0 or die 'fill failed';
}

failures(3);

my $hit = wait_until(sub {
    my $items = list('?rule=bf/r')->{items};
    return @$items ? $items->[0] : undef;
}, 'detection raises the alert');

is_deeply([ @$hit{qw(severity status key key_type count)} ],
          [ 'critical', 'open', '192.0.2.66', 'ip', 3 ], 'detected alert');
is(scalar @{ $hit->{samples} }, 3, 'with the ids of its events');
my $events = decode(request('GET', "/api/security/logs/?ip=192.0.2.66",
                            $token{admin}))->{items};
is_deeply([ sort { $a <=> $b } @{ $hit->{samples} } ],
          [ sort { $a <=> $b } map { $_->{id} } @$events ],
          'the samples are the stored events');
is_deeply([ @{ $hit->{block} }{qw(target duration_s offences)} ],
          [ '192.0.2.66', 600, 1 ], 'blocked for the first duration');
is($hit->{responses}[0]{actor}, 'keryud', 'opened by keryud');

like(`$keryud -c $conf block list`,
     qr{^ip\s+192\.0\.2\.66/32\s+\S+\s+bf/r, alert $hit->{id}$}m,
     'the block is in the shared store, naming the alert');

# a repeat offender: the same alert grows and the block doubles

failures(3);

my $again = wait_until(sub {
    my $x = decode(request('GET', "$base$hit->{id}/", $token{admin}));
    return $x->{count} == 6 ? $x : undef;
}, 'the second hit updates the alert');

is_deeply([ @{ $again->{block} }{qw(duration_s offences)} ], [ 1200, 2 ],
          'the second block is twice as long');

failures(6);

my $capped = wait_until(sub {
    my $x = decode(request('GET', "$base$hit->{id}/", $token{admin}));
    return $x->{count} == 12 ? $x : undef;
}, 'two more hits');
is($capped->{block}{duration_s}, 2400, 'capped at max_duration');

is(scalar @{ list('?rule=bf/r')->{items} }, 1, 'still one alert');


# lost records raise log_loss

system($fill, "$dir/store", 1, 'gap=5') == 0 or die 'fill failed';

my $loss = wait_until(sub {
    my $items = list('?rule=log_loss')->{items};
    return @$items ? $items->[0] : undef;
}, 'log_loss alert');

is_deeply([ @$loss{qw(severity key key_type count)} ],
          [ 'high', 'ring', 'store', 5 ], 'log_loss alert');
like($loss->{summary}, qr/^5 records lost between sequence numbers \d+ and \d+/,
     'log_loss summary');

is(stop_keryud($pid), 0, 'keryud stops cleanly');

unlike(read_file($log), qr/ERROR|AddressSanitizer/, 'no errors logged');

done_testing();
