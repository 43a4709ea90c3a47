# vim:set ft=perl ts=4 sw=4 et:
#
# Copyright (C) Keryu Security
#
# Compliance seen from outside, against a real keryud: the effective
# configuration of nginx is put into the shared store by publish (as the
# module publishes it), and GET /api/security/compliance/ must pass every
# configuration control on t/unit/compliance/pass.json and fail each one
# on fail.json, with evidence and what to change; keryud's own state
# (tokens, keys and their backup, records lost) moves the controls that
# read it.  Then the timer: runs every compliance_interval on its own, and
# an alert for each control that goes from pass to fail; the risk
# register, ranked and scored, with threat from records and a trend;
# audits (created with a name and a scope, findings filed and handled, a
# "continuous" schedule that runs on its own); roles, verbs and bad input,
# each answered with a JSON body naming the problem.
#
#     prove t/api/compliance-api.t
#     KERYUD=build-asan/keryud prove t/api/compliance-api.t

use strict;
use warnings;

use File::Temp qw(tempdir);
use Test::More;

use FindBin;
use lib $FindBin::Bin;
use ApiTest;

my $keryud = $ENV{KERYUD} // 'build/keryud';

plan skip_all => "$keryud not built" unless -x $keryud;

my $dir = tempdir('keryud-compliance-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $port = free_port();
my $conf = "$dir/keryud.conf";
my $log = "$dir/keryud.log";
my $api = '/api/security';
my $cases = 't/unit/compliance';
my $rfc3339 = qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?Z\z/;

# publish and fill, built as api.t builds fill
my ($publish, $fill) = ("$dir/publish", "$dir/fill");
for my $tool ([$publish, 't/api/publish.c'], [$fill, 't/api/fill.c']) {
    system("cc -O2 -I shared -o $tool->[0] $tool->[1] shared/keryu_store.c "
           . "shared/keryu_record.c -llmdb") == 0
        or die "building $tool->[1] failed";
}

write_file("$dir/master-key", unpack('H*', join '', map { chr int rand 256 }
                                                   1 .. 32) . "\n");
chmod 0600, "$dir/master-key";

# a run every second, so that the timer's runs can be waited for
write_file($conf, <<"EOF");
# compliance-api.t
store $dir/store;
data $dir/data;
listen 127.0.0.1:$port;
poll_interval 10ms;
sync_interval 100ms;
pid_file $dir/keryud.pid;
master_key $dir/master-key;
compliance_interval 1s;
EOF

my %token;
keryud_use(port => $port, conf => $conf, log => $log, keryud => $keryud,
           token => \%token);


sub token {
    my ($role, $name, @opt) = @_;
    chomp(my $t = `$keryud -c $conf token create --role $role --name $name @opt`);
    is($? >> 8, 0, "token create $name");
    return $t;
}

# tokens that expire, as the token controls want them
$token{$_} = token($_, "$_-1", '--expires', '30d')
    for qw(admin auditor viewer);


sub publish {
    my ($file) = @_;
    system($publish, "$dir/store", $file) == 0 or die 'publish failed';
}


sub fill {
    system($fill, "$dir/store", @_) == 0 or die 'fill failed';
}

publish("$cases/pass.json");

my $pid = start_keryud();


sub compliance {
    my ($qs, $role) = @_;
    my $r = request('GET', "$api/compliance/" . ($qs // ''),
                    $token{$role // 'auditor'});
    is($r->{status}, 200, 'compliance ' . ($qs // '')) or diag $r->{content};
    return decode($r);
}


sub by_id {
    my ($doc) = @_;
    return { map { $_->{id} => $_ } @{ $doc->{controls} } };
}


# a request answered with status and {"error": reason, key: value}

sub refused {
    my ($method, $path, $role, $body, $status, $reason, $key, $value) = @_;
    my $r = request($method, $path, defined $role ? $token{$role} : undef,
                    $body);
    my $name = "$method $path" . (defined $role ? " as $role" : '')
               . ": $status $reason";
    is($r->{status}, $status, $name) or diag $r->{content};
    my $e = eval { decode($r) } // {};
    is($e->{error}, $reason, "$name: reason");
    is($e->{$key}, $value, "$name: $key") if defined $key;
    return $r;
}


# controls read from the configuration nginx publishes
my @config_controls = qw(access-enforced default-deny fail-closed
                         identity-required logging-everywhere tls-versions
                         tls-ciphers transport-encryption security-headers
                         server-tokens body-limits input-validation);


# ---- the compliance document on a configuration that passes ----

my $doc = compliance();
my $c = by_id($doc);
my @standards = qw(gdpr hipaa pci_dss_4 iso27001_2022 nis2 dora);

like($doc->{evaluated_at}, $rfc3339, 'evaluated_at');
is($doc->{evidence}{effective_config}, JSON::PP::true(), 'configuration read');
is($doc->{evidence}{nginx_version}, '1.31.3', 'nginx version from it');
is_deeply([sort keys %{ $doc->{standards} }], [sort @standards],
          'every standard');
is($doc->{catalogue}{controls}, scalar @{ $doc->{controls} },
   'every control of the catalogue');

for my $s (@standards) {
    my $st = $doc->{standards}{$s};
    my @mine = grep { $_->{mappings}{$s} } @{ $doc->{controls} };
    my %n = (pass => 0, warn => 0, fail => 0);
    $n{ $_->{status} }++ for @mine;
    is_deeply([@$st{qw(passed warned failed)}], [@n{qw(pass warn fail)}],
              "$s: counts of its controls");
    is($st->{status}, $n{fail} ? 'fail' : $n{warn} ? 'warn' : 'pass',
       "$s: status from its controls");
    ok(length $st->{title}, "$s: title");
}

for my $ctl (@{ $doc->{controls} }) {
    like($ctl->{status}, qr/^(pass|warn|fail)\z/, "$ctl->{id}: status");
    is(ref $ctl->{evidence}, 'HASH', "$ctl->{id}: evidence");
    ok(keys %{ $ctl->{mappings} }, "$ctl->{id}: mapped to a standard");
    ok(length $ctl->{title} && length $ctl->{text}, "$ctl->{id}: described");
    is($ctl->{remediation} eq '', $ctl->{status} eq 'pass',
       "$ctl->{id}: what to change unless it passes");
}

for my $id (@config_controls, qw(evidence-published nginx-cves
                                 admin-tokens token-expiry encryption-at-rest
                                 key-rotation log-retention log-integrity
                                 record-loss erasure brute-force))
{
    is($c->{$id}{status}, 'pass', "pass.json: $id passes")
        or diag explain $c->{$id};
}

is($c->{'tls-versions'}{evidence}{tls_servers}, 1, 'tls: one TLS server seen');
is_deeply($c->{'nginx-cves'}{evidence}{matched}, [], 'no CVE for 1.31.3');

# the API in the clear on the loopback is worth a warning, never a pass
is($c->{'api-tls'}{status}, 'warn', 'api-tls: clear on the loopback warns');
is($c->{'api-tls'}{evidence}{loopback}, JSON::PP::true(), 'api-tls: loopback');

# no backup of the keys yet: one through the API makes it pass
is($c->{'key-backup'}{status}, 'fail', 'key-backup: none made yet');
like($c->{'key-backup'}{remediation}, qr/keys backup/, 'key-backup: how');
my $r = request('POST', "$api/keys/backup/", $token{admin},
                { passphrase => 'correct horse battery staple' });
is($r->{status}, 200, 'keys backed up') or diag $r->{content};
is(by_id(compliance())->{'key-backup'}{status}, 'pass',
   'key-backup: passes once backed up');

# one standard: its controls only
my $gdpr = compliance('?standard=gdpr');
is_deeply([keys %{ $gdpr->{standards} }], ['gdpr'], 'standard=gdpr: one');
is(scalar(grep { !$_->{mappings}{gdpr} } @{ $gdpr->{controls} }), 0,
   'standard=gdpr: only controls mapped to it');


# ---- the same checks on a configuration that fails them ----

publish("$cases/fail.json");
$doc = compliance();
$c = by_id($doc);

is($doc->{evidence}{nginx_version}, '1.22.1', 'fail.json read');

for my $id (@config_controls) {
    is($c->{$id}{status}, 'fail', "fail.json: $id fails")
        or diag explain $c->{$id};
    ok($c->{$id}{evidence}{offending_total} >= 1,
       "fail.json: $id names what offends");
    ok(length $c->{$id}{remediation}, "fail.json: $id says what to change");
}

like($c->{'tls-versions'}{remediation}, qr/ssl_protocols TLSv1\.2 TLSv1\.3/,
     'tls-versions: the directive to set');
is($c->{'tls-ciphers'}{evidence}{offending}[0]{weak}, 'RC4-SHA',
   'tls-ciphers: the weak suite');
like($c->{'server-tokens'}{remediation}, qr/server_tokens off/,
     'server-tokens: the directive to set');

# a vulnerable version is reported, as an indication only
is($c->{'nginx-cves'}{status}, 'warn', 'nginx-cves: 1.22.1 warns');
ok(@{ $c->{'nginx-cves'}{evidence}{matched} } >= 1, 'nginx-cves: matched');

# an admin token that never expires, a viewer token that never expires
$token{admin2} = token('admin', 'admin-2');
token('viewer', 'viewer-2');
$c = by_id(compliance());
is($c->{'admin-tokens'}{status}, 'fail', 'admin-tokens: one never expires');
is($c->{'admin-tokens'}{evidence}{offending}[0]{token}, 'admin-2',
   'admin-tokens: names it');
is($c->{'token-expiry'}{status}, 'warn', 'token-expiry: viewer never expires');

# nothing published: no control may pass on evidence it does not have
publish('-');
$c = by_id(compliance());
is($c->{'evidence-published'}{status}, 'fail',
   'evidence-published: fails without a configuration');
for my $id (@config_controls) {
    isnt($c->{$id}{status}, 'pass', "no configuration: $id does not pass");
}

# partial configuration: still never a pass on what is missing
publish("$cases/sparse.json");
$c = by_id(compliance());
is($c->{'evidence-published'}{status}, 'pass', 'sparse.json published');
for my $id (qw(security-headers body-limits fail-closed)) {
    isnt($c->{$id}{status}, 'pass', "sparse.json: $id unknown, no pass");
}
is($c->{'tls-versions'}{status}, 'pass', 'sparse.json: TLSv1.3 only passes');


# ---- roles, verbs and bad input on the compliance endpoints ----

is(request('GET', "$api/compliance/", $token{admin})->{status}, 200,
   'admin reads compliance');
refused('GET', "$api/compliance/", 'viewer', undef, 403, 'forbidden');
refused('GET', "$api/compliance/", undef, undef, 401, 'missing token');
refused('GET', "$api/compliance/?standard=sox", 'auditor', undef, 400,
        'invalid parameter', 'parameter', 'standard');
refused('GET', "$api/compliance/?level=1", 'auditor', undef, 400,
        'unknown parameter', 'parameter', 'level');
refused('DELETE', "$api/compliance/", 'admin', undef, 405,
        'method not allowed');
refused('POST', "$api/compliance/run", 'auditor', undef, 403, 'forbidden');
refused('POST', "$api/compliance/run", 'viewer', undef, 403, 'forbidden');
refused('GET', "$api/compliance/run", 'admin', undef, 405,
        'method not allowed');
refused('POST', "$api/compliance/run?now=1", 'admin', undef, 400,
        'unknown parameter', 'parameter', 'now');
refused('GET', "$api/risk/", 'viewer', undef, 403, 'forbidden');

$r = request('POST', "$api/compliance/run", $token{admin});
is($r->{status}, 201, 'a run on request') or diag $r->{content};
my $run = decode($r);
is($run->{run}{trigger}, 'api', 'run: trigger');
like($run->{run}{id}, qr/^[1-9]\d*\z/, 'run: stored under an id');


# ---- the timer, and the alert of a control that regresses ----

# the latest stored assessment follows each run: its run id tells that the
# timer ran, without anyone asking

sub latest_run {
    my $r = request('GET', "$api/risk/", $token{auditor});
    return 0 unless $r->{status} == 200;
    return decode($r)->{run};
}

my $first = latest_run();
ok($first >= $run->{run}{id}, 'the run on request was assessed');
wait_until(sub { latest_run() >= $first + 2 }, 'two timer runs');
pass('the timer runs on its own');
like(read_file($log), qr/compliance run \d+ \(timer\)/, 'logged as timer');

sub alerts {
    my ($rule, $status) = @_;
    my $r = request('GET', "$api/alerts/?limit=1000&rule=$rule"
                    . ($status ? "&status=$status" : ''), $token{viewer});
    die "alerts: $r->{content}" unless $r->{status} == 200;
    return decode($r)->{items};
}

# admin-tokens passed at startup and failed once admin-2 was made
ok(@{ alerts('compliance/admin-tokens') }, 'regression alert for admin-tokens');

# pass to warn is no regression, nor is a warning that stays
is_deeply(alerts('compliance/token-expiry'), [], 'no alert for pass to warn');
is_deeply(alerts('compliance/api-tls'), [], 'no alert for a warning');

# the timer may have seen the configurations of the sections above: what
# they raised is resolved, so that this section's alerts are told apart
for my $id (@config_controls) {
    for my $a (@{ alerts("compliance/$id", 'open') }) {
        my $r = request('PUT', "$api/alerts/$a->{id}/", $token{admin},
                        { status => 'resolved' });
        die "resolving: $r->{content}" unless $r->{status} == 200;
    }
}

# a run that passed tls-versions, then fail.json: the next timer run
# raises compliance/tls-versions
publish("$cases/pass.json");
my $after = latest_run();
wait_until(sub { latest_run() > $after + 1 }, 'a timer run on pass.json');

is_deeply(alerts('compliance/tls-versions', 'open'), [],
          'no open alert while it passes');

publish("$cases/fail.json");
my $alert = wait_until(sub { alerts('compliance/tls-versions', 'open')->[0] },
                       'the regression alert');
is($alert->{key}, 'tls-versions', 'alert: keyed by the control');
is($alert->{key_type}, 'control', 'alert: key type');
is($alert->{severity}, 'high', 'alert: the control severity');
is($alert->{status}, 'open', 'alert: open');
like($alert->{summary}, qr/went from pass to fail: .*ssl_protocols/,
     'alert: says what changed and what to do');

for my $id (@config_controls) {
    ok(@{ alerts("compliance/$id", 'open') }, "regression alert for $id");
}

# later runs that still fail add no alert
my $seen = latest_run();
wait_until(sub { latest_run() > $seen + 1 }, 'more timer runs');
is_deeply([map { $_->{id} } @{ alerts('compliance/tls-versions', 'open') }],
          [$alert->{id}], 'still the one alert');
is(decode(request('GET', "$api/alerts/$alert->{id}/", $token{viewer}))
       ->{count}, $alert->{count}, 'not counted again');


# ---- the risk register ----

# failed logins on /admin/, which fail.json leaves without an identity
fill(40, 'type=auth_failure', 'uri=/admin/login', 'status=401',
     'ip=198.51.100.7');

my $risk;
wait_until(sub {
    my $r = request('GET', "$api/risk/", $token{auditor});
    return 0 unless $r->{status} == 200;
    $risk = decode($r);
    my ($ir) = grep { $_->{control} eq 'identity-required' }
               @{ $risk->{risks} };
    return $ir && $ir->{threat}{auth_failure} >= 40
           && $ir->{threat}{blocks} >= 1;
}, 'the failed logins and the block weighed');

like($risk->{assessed_at}, $rfc3339, 'risk: assessed_at');
ok($risk->{previous}{id} < $risk->{id}, 'risk: the assessment before');
like($risk->{trend}, qr/^(up|down|same)\z/, 'risk: trend since then');
like($risk->{formula}, qr/likelihood x impact/, 'risk: how it is scored');

my @risks = @{ $risk->{risks} };
ok(@risks >= @config_controls, 'risk: a risk per failing control');
my $total = 0;
for my $i (0 .. $#risks) {
    my $k = $risks[$i];
    is($k->{rank}, $i + 1, "risk $k->{control}: ranked");
    is($k->{score}, $k->{likelihood} * $k->{impact},
       "risk $k->{control}: score");
    ok($i == 0 || $risks[$i - 1]{score} >= $k->{score},
       "risk $k->{control}: in order");
    like($k->{level}, qr/^(low|medium|high|critical)\z/,
         "risk $k->{control}: level");
    like($k->{trend}, qr/^(new|up|down|same)\z/, "risk $k->{control}: trend");
    $total += $k->{score};
}
is($risk->{total}, $total, 'risk: total of the scores');

my %rk = map { $_->{control} => $_ } @risks;
is($rk{'identity-required'}{sensitivity}, 5, 'risk: /admin/ is sensitive');
is_deeply($rk{'identity-required'}{locations}, ['/admin/'],
          'risk: the location named');
# the shipped brute-force rule opened an alert and blocked the address
my $ir = $rk{'identity-required'}{threat};
ok($ir->{alerts} >= 1 && $ir->{open_alerts} >= 1, 'risk: alerts weighed')
    or diag explain $ir;
ok($ir->{blocks} >= 1, 'risk: blocks weighed');
# likelihood 3 for a failure, +1 for 10 or more failed logins on it, +1 for
# an open alert, +1 for a block: at most 5
is($rk{'identity-required'}{likelihood}, 5,
   'risk: threat raises the likelihood');
# a control whose kind of threat was not seen
is($rk{'input-validation'}{threat}{input_rejected}, 0,
   'risk: no rejected input');
is($rk{'input-validation'}{threat}{blocks}, 0, 'risk: nor blocks for it');
is($rk{'input-validation'}{likelihood}, 2, 'risk: threat named, none seen');
# no kind of record shows a threat to fail-closed: a failure stays at 3
is_deeply($rk{'fail-closed'}{threat}, {}, 'risk: fail-closed has no threat');
is($rk{'fail-closed'}{likelihood}, 3, 'risk: a failure without threat');
ok(!grep({ $_->{status} eq 'pass' } @risks), 'risk: no passing control');


# ---- audits ----

refused('POST', "$api/audits/", 'viewer', { name => 'q4', scope => 'all' },
        403, 'forbidden');
refused('GET', "$api/audits/", 'viewer', undef, 403, 'forbidden');
refused('POST', "$api/audits/", 'auditor', { name => 'q4' }, 400,
        'missing field', 'field', 'scope');
refused('POST', "$api/audits/", 'auditor', { scope => 'all' }, 400,
        'missing field', 'field', 'name');
refused('POST', "$api/audits/", 'auditor', { name => 'q4', scope => 'sox' },
        400, 'invalid field', 'field', 'scope');
refused('POST', "$api/audits/", 'auditor',
        { name => 'q4', scope => 'all', schedule => 'hourly' }, 400,
        'invalid field', 'field', 'schedule');
refused('POST', "$api/audits/", 'auditor',
        { name => 'q4', scope => 'all', colour => 'red' }, 400,
        'invalid field', 'field', 'colour');
refused('POST', "$api/audits/", 'auditor', { name => "a\nb", scope => 'all' },
        400, 'invalid field', 'field', 'name');
refused('POST', "$api/audits/", 'auditor', '[1]', 400, 'invalid body');
refused('POST', "$api/audits/", 'auditor', '{"name":', 400, 'invalid body');
refused('PATCH', "$api/audits/", 'auditor', undef, 405, 'method not allowed');
is(scalar @{ decode(request('GET', "$api/audits/", $token{auditor}))->{items} },
   0, 'nothing created by the refused requests');

# the least a POST takes: a name and a scope
$r = request('POST', "$api/audits/", $token{auditor},
             { name => 'PCI review', scope => 'pci_dss_4' });
is($r->{status}, 201, 'audit created by an auditor') or diag $r->{content};
my $audit = decode($r);
is($audit->{name}, 'PCI review', 'audit: name');
is($audit->{scope}, 'pci_dss_4', 'audit: scope');
is($audit->{schedule}, 'none', 'audit: no schedule by default');
is($audit->{created_by}, 'auditor-1', 'audit: who created it');
is($audit->{runs}, 1, 'audit: run once at once');
is($audit->{status}, 'fail', 'audit: failed controls open');
like($audit->{last_run_at}, $rfc3339, 'audit: when');

my %f = map { $_->{control} => $_ } @{ $audit->{findings} };
for my $id (@config_controls) {
    ok($f{$id}, "audit: a finding for $id") or next;
    is($f{$id}{status}, 'open', "audit: $id open");
    is($f{$id}{result}, 'fail', "audit: $id failed");
    ok(length $f{$id}{remediation}, "audit: $id what to change");
    is(ref $f{$id}{evidence}, 'HASH', "audit: $id evidence");
}
ok(!$f{erasure}, 'audit: no finding for a passing control');
is($audit->{summary}{open}, scalar @{ $audit->{findings} }, 'audit: summary');

my $aid = $audit->{id};
my $tls = $f{'tls-versions'}{id};

# a finding accepted with a note; the rest untouched
$r = request('PUT', "$api/audits/$aid/", $token{auditor},
             { findings => [{ id => $f{'admin-tokens'}{id},
                              status => 'accepted',
                              note => 'break-glass token, kept offline' }],
               owner => 'alice' });
is($r->{status}, 200, 'finding accepted') or diag $r->{content};
$audit = decode($r);
%f = map { $_->{control} => $_ } @{ $audit->{findings} };
is($f{'admin-tokens'}{status}, 'accepted', 'finding: accepted');
is($f{'admin-tokens'}{note}, 'break-glass token, kept offline',
   'finding: note');
is($f{'admin-tokens'}{updated_by}, 'auditor-1', 'finding: who');
is($f{'tls-versions'}{status}, 'open', 'finding: the others still open');
is($audit->{owner}, 'alice', 'audit: owner');
is($audit->{name}, 'PCI review', 'audit: name kept');

refused('PUT', "$api/audits/$aid/", 'auditor',
        { findings => [{ id => 999, status => 'accepted' }] }, 400,
        'invalid field', 'field', 'findings');
refused('PUT', "$api/audits/$aid/", 'auditor',
        { findings => [{ id => $tls, status => 'ignored' }] }, 400,
        'invalid field', 'field', 'findings');
refused('PUT', "$api/audits/$aid/", 'auditor', { run => 'yes' }, 400,
        'invalid field', 'field', 'run');
refused('PUT', "$api/audits/$aid/", 'viewer', { owner => 'bob' }, 403,
        'forbidden');
refused('PUT', "$api/audits/999/", 'auditor', { owner => 'bob' }, 404,
        'not found');
refused('GET', "$api/audits/abc/", 'auditor', undef, 404, 'not found');

# fixed: the configuration repaired and the audit run again
publish("$cases/pass.json");
$r = request('PUT', "$api/audits/$aid/", $token{auditor}, { run => \1 });
is($r->{status}, 200, 'audit run again') or diag $r->{content};
$audit = decode($r);
%f = map { $_->{control} => $_ } @{ $audit->{findings} };
is($audit->{runs}, 2, 'audit: second run');
is($f{'tls-versions'}{status}, 'fixed', 'finding: fixed by the repair');
is($f{'server-tokens'}{status}, 'fixed', 'finding: fixed by the repair');
is($f{'admin-tokens'}{status}, 'accepted',
   'finding: accepted stays while it still fails');
is($f{'token-expiry'}{status}, 'open', 'finding: a warning still open');
is($audit->{status}, 'warn', 'audit: the worst open finding warns');

$r = request('GET', "$api/audits/$aid/", $token{admin});
is_deeply(decode($r), $audit, 'GET audit: as stored');

my $list = decode(request('GET', "$api/audits/", $token{auditor}));
is($list->{items}[0]{id}, $aid, 'audit listed');
ok(!exists $list->{items}[0]{findings}, 'listing: summaries only');

# scheduled: a "continuous" audit runs again with the timer's runs
$r = request('POST', "$api/audits/", $token{admin},
             { name => 'watch', scope => 'all', schedule => 'continuous',
               owner => 'secops' });
is($r->{status}, 201, 'continuous audit') or diag $r->{content};
my $watch = decode($r);
is($watch->{schedule}, 'continuous', 'schedule: continuous');
wait_until(sub {
    decode(request('GET', "$api/audits/$watch->{id}/", $token{admin}))->{runs}
        >= 3;
}, 'the scheduled audit runs on its own');
pass('the continuous audit ran twice more');
like(read_file($log), qr/audit $watch->{id} "watch": run 3/, 'logged');

# a daily one is due in a day
$r = request('PUT', "$api/audits/$aid/", $token{auditor},
             { schedule => 'daily' });
$audit = decode($r);
is($audit->{schedule}, 'daily', 'schedule: daily');
ok($audit->{next_run_at} gt $audit->{last_run_at}, 'daily: next run later');

refused('DELETE', "$api/audits/$aid/", 'auditor', undef, 403, 'forbidden');
$r = request('DELETE', "$api/audits/$aid/", $token{admin});
is($r->{status}, 204, 'audit deleted by an admin');
refused('GET', "$api/audits/$aid/", 'auditor', undef, 404, 'not found');
refused('DELETE', "$api/audits/$aid/", 'admin', undef, 404, 'not found');


# ---- changes are recorded ----

my $changes = decode(request('GET', "$api/events/?event_type=system_change&limit=1000",
                             $token{admin}));
my %act = map { ($_->{details}{action} // '') => 1 } @{ $changes->{items} };
for my $a (qw(compliance.run audit.create audit.update audit.delete)) {
    ok($act{$a}, "change recorded: $a");
}

is(stop_keryud($pid) >> 8, 0, 'keryud exits cleanly');
unlike(read_file($log), qr/ERROR: AddressSanitizer|LeakSanitizer/,
       'no sanitizer report');

done_testing();
