# vim:set ft=perl ts=4 sw=4 et:
#
# Copyright (C) Keryu Security
#
# keryud's metrics, GET /api/security/metrics: the Prometheus text format
# 0.0.4 as a whole, every family with its HELP and TYPE, the consumer's
# counts by event type and by the module's decision and rule (records
# appended by fill, as nginx workers write them), the ring's lag, alerts,
# blocks, the nginx workers' reports in the shared store's meta, the API's
# own histogram, and who may read it.
#
#     prove t/api/metrics.t
#     KERYUD=build-asan/keryud prove t/api/metrics.t

use strict;
use warnings;

use File::Temp qw(tempdir);
use JSON::PP;
use POSIX ();
use Test::More;

use FindBin;
use lib $FindBin::Bin;
use ApiTest;

my $keryud = $ENV{KERYUD} // 'build/keryud';
my $cc = $ENV{CC} // 'cc';

plan skip_all => "$keryud not built" unless -x $keryud;

my $dir = tempdir('keryud-metrics-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $fill = "$dir/fill";

system($cc, '-std=c99', '-D_GNU_SOURCE', '-Ishared', '-o', $fill,
       't/api/fill.c', 'shared/keryu_record.c', 'shared/keryu_store.c',
       '-llmdb') == 0
    or BAIL_OUT('cannot compile t/api/fill.c');

my $port = free_port();
my $conf = "$dir/keryud.conf";
my $log = "$dir/keryud.log";
my $path = '/api/security/metrics';
my $have_lmdb_tools = system('mdb_load -V >/dev/null 2>&1') == 0;

# no shipped threshold policies: alerts come only from this test
write_file($conf, <<"EOF");
# metrics.t
store $dir/store;
data $dir/data;
listen 127.0.0.1:$port;
poll_interval 10ms;
sync_interval 100ms;
pid_file $dir/keryud.pid;
default_policies off;
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


# records as the module writes them: [count, type, status, details]

my @fills = (
    [ 5, 'request', 200, '{"rule":"web/open"}' ],
    [ 3, 'request', 200, '{"rule":"default"}' ],
    [ 2, 'auth_failure', 401, '{"reason":"no credentials","rule":"default"}' ],
    [ 4, 'permission_denied', 403, '{"reason":"policy","rule":"web/admin"}' ],
    [ 1, 'permission_denied', 403,
      '{"reason":"blocked address","rule":"block",'
      . '"block":"10.0.0.9/32: scan"}' ],
    [ 2, 'request', 200,
      '{"reason":"shadow","rule":"web/admin","shadow":"web/admin"}' ],
    [ 1, 'request', 200, '{"rule":"web/open","shadow":"beta/strict"}' ],
    [ 1, 'request', 200, '{"rule":"fail_open"}' ],
    [ 1, 'request', 503, '{"reason":"policy store unavailable","rule":""}' ],
    [ 2, 'request', 200, '{"rule":"odd\\"name"}' ],
    [ 3, 'login', 200, '{"method":"password"}' ],
    [ 2, 'request', 404, '' ],
);

my (%events, %requests, $total);

for my $f (@fills) {
    my ($n, $type, $status, $details) = @$f;
    fill($n, "type=$type", "status=$status", 'ip=10.0.0.9',
         length $details ? "details=$details" : ());
    $events{$type} += $n;
    $total += $n;
}

%requests = (
    'allow/web/open'          => 5,
    'allow/default'           => 3,
    'allow/fail_open'         => 1,
    'allow/other'             => 2,
    'deny/default'            => 2,
    'deny/web/admin'          => 4,
    'deny/block'              => 1,
    'deny/none'               => 1,
    'shadow_deny/web/admin'   => 2,
    'shadow_deny/beta/strict' => 1,
);

wait_until(sub {
    my $s = decode(request('GET', '/api/security/status/', $token{admin}));
    $s->{keryud}{consumed} == $total;
}, "consumed $total");


# who may read it

my $r = request('GET', $path, $token{viewer});
is($r->{status}, 403, 'viewer may not read metrics');
is_json($r, { error => 'forbidden' }, 'viewer: JSON error');

$r = request('GET', $path);
is($r->{status}, 401, 'no token: 401');

$r = request('POST', $path, $token{admin}, {});
is($r->{status}, 405, 'POST: 405');

$r = request('GET', "$path/", $token{auditor});
is($r->{status}, 200, 'auditor reads metrics, with a trailing slash too');

$r = request('GET', $path, $token{admin});
is($r->{status}, 200, 'admin reads metrics');
is($r->{headers}{'content-type'}, 'text/plain; version=0.0.4; charset=utf-8',
   'the text format\'s content type');
is($r->{headers}{'cache-control'}, 'no-store', 'not cached');

my $m = parse($r->{content});


# the whole body is valid exposition

my @bad = grep {
    !/^# (HELP|TYPE) [a-z_]+ .+$/
    && !/^[a-z_]+(\{[^}]*\})? (?:[0-9.eE+-]+|\+Inf|-Inf|NaN)$/
} split /\n/, $r->{content};
is_deeply(\@bad, [], 'every line is a comment or a sample');
like($r->{content}, qr/\n\z/, 'the body ends with a newline');

my @families = qw(
    keryu_uptime_seconds keryu_events_total keryu_requests_total
    keryu_alerts keryu_alerts_raised_total keryu_blocks_written_total
    keryu_block_failures_total keryu_detection_hits_total
    keryu_detection_keys keryu_detection_evictions_total keryu_blocks
    keryu_ring_last_seq keryu_ring_lag keryu_ring_dropped_total
    keryu_ring_overflow_total keryu_ring_failed_total
    keryu_records_lost_total keryu_store_bytes keryu_store_map_bytes
    keryu_webhook_deliveries_total keryu_webhook_queue
    keryu_policy_version keryu_worker_policy_version
    keryu_api_request_duration_seconds keryu_api_requests_total
    keryu_shared_store_up
);

for my $f (@families) {
    ok($m->{help}{$f}, "$f has HELP");
    ok($m->{type}{$f}, "$f has TYPE");
}

my %types = map { $_ => $m->{type}{$_} } keys %{ $m->{type} };
is($types{keryu_events_total}, 'counter', 'events_total is a counter');
is($types{keryu_alerts}, 'gauge', 'alerts is a gauge');
is($types{keryu_api_request_duration_seconds}, 'histogram',
   'the API duration is a histogram');

for my $name (sort keys %{ $m->{samples} }) {
    my $family = $name;
    $family =~ s/_(bucket|sum|count)$// unless $m->{type}{$name};
    ok($m->{type}{$family}, "$name belongs to a family with a TYPE")
        or last;
}

my @dup = grep { $m->{count}{$_} > 1 } keys %{ $m->{count} };
is_deeply(\@dup, [], 'no series twice');


# the consumer's counts

is_deeply(labelled($m, 'keryu_events_total', 'type'),
          { request => 0, login => 0, logout => 0, auth_failure => 0,
            permission_denied => 0, data_access => 0, system_change => 0,
            input_rejected => 0,
            %events },
          'events_total by type, every type shown');

my %got;
for my $s (@{ $m->{samples}{keryu_requests_total} || [] }) {
    $got{"$s->[0]{decision}/$s->[0]{rule}"} = $s->[1];
}
is_deeply(\%got, \%requests, 'requests_total by decision and rule');

is(value($m, 'keryu_ring_last_seq'), $total, 'ring last_seq');
is(value($m, 'keryu_records_lost_total'), 0, 'nothing lost');
is(value($m, 'keryu_shared_store_up'), 1, 'shared store up');
ok(value($m, 'keryu_uptime_seconds') >= 0, 'uptime');

my $m2 = wait_until(sub {
    my $x = scrape();
    value($x, 'keryu_ring_lag') == 0 ? $x : undef;
}, 'lag drains');
is(value($m2, 'keryu_ring_lag'), 0, 'ring lag goes to 0 after consumption');

for my $store (qw(shared own)) {
    my $b = value($m, 'keryu_store_bytes', store => $store);
    my $map = value($m, 'keryu_store_map_bytes', store => $store);
    ok($b > 0, "$store store bytes");
    ok($map >= $b, "$store map size covers them");
}

is(value($m, 'keryu_webhook_queue'), 0, 'no webhook: empty queue');
is_deeply(labelled($m, 'keryu_webhook_deliveries_total', 'result'),
          { sent => 0, failed => 0, dropped => 0 },
          'no webhook: no deliveries');


# alerts and blocks

is(value($m, 'keryu_alerts', status => 'open', severity => 'high'), 0,
   'no alert yet');

$r = request('POST', '/api/security/alerts/', $token{admin},
             { severity => 'high', key => '10.0.0.9', summary => 'odd' });
is($r->{status}, 201, 'an alert raised through the API');
my $alert = decode($r);

$m = scrape();
is(value($m, 'keryu_alerts', status => 'open', severity => 'high'), 1,
   'alerts gauge: one open, high');
my $sum = 0;
$sum += $_->[1] for @{ $m->{samples}{keryu_alerts} };
is($sum, 1, 'and nothing else');
is(scalar @{ $m->{samples}{keryu_alerts} }, 12,
   'every status and severity shown');
is(value($m, 'keryu_alerts_raised_total', result => 'opened'), 1,
   'alerts_raised_total counts the opening');

$r = request('PUT', "/api/security/alerts/$alert->{id}/", $token{admin},
             { status => 'acknowledged' });
is($r->{status}, 200, 'alert acknowledged');
$m = scrape();
is(value($m, 'keryu_alerts', status => 'open', severity => 'high'), 0,
   'no longer open');
is(value($m, 'keryu_alerts', status => 'acknowledged', severity => 'high'),
   1, 'but acknowledged');

is(value($m, 'keryu_blocks'), 0, 'no block yet');
$r = request('POST', '/api/security/decisions/', $token{admin},
             { ip => '198.51.100.7' });
is($r->{status}, 201, 'a block through the API');
is(value(scrape(), 'keryu_blocks'), 1, 'blocks gauge');


# the policy version, and what nginx workers report

my $st = decode(request('GET', '/api/security/status/', $token{admin}));
is(value($m, 'keryu_policy_version'), $st->{enforcement}{policy_version},
   'policy version as the status shows it');

SKIP: {
    skip('mdb_load not installed', 12) unless $have_lmdb_tools;

    # a pid that is surely dead: a child that exited and was reaped
    my $child = fork // die "fork: $!";
    POSIX::_exit(0) if $child == 0;
    waitpid($child, 0);

    my $v = $st->{enforcement}{policy_version};
    worker_put($$, $v, 7);
    worker_put($child, 0, 0);

    $m = scrape();
    is_deeply($m->{samples}{keryu_worker_policy_version},
              [ [ { pid => $$ }, $v ] ],
              'worker_policy_version: the live worker only');
    is(value($m, 'keryu_worker_block_version', pid => $$), 7,
       'its block version');
    is(value($m, 'keryu_workers'), 1, 'one live worker');
    is(value($m, 'keryu_workers_behind'), 0, 'none behind');

    $st = decode(request('GET', '/api/security/status/', $token{viewer}));
    is_deeply([ map { [ @$_{qw(pid config_version block_version)} ] }
                @{ $st->{module}{workers} } ],
              [ [ $$, $v, 7 ] ], 'status: the live worker');
    is($st->{enforcement}{workers_behind}, 0, 'status: none behind');

    ok(wait_until(sub { !grep { $_ eq "worker.$child" } meta_keys() },
                  'dead worker removed'),
       'the dead worker\'s entry is deleted on the sync timer');
    ok((grep { $_ eq "worker.$$" } meta_keys()), 'the live one stays');

    # a new policy: the worker that did not follow is behind
    $r = request('POST', '/api/security/policies/', $token{admin},
                 { name => 'm', policy_type => 'access',
                   rules => [ { id => 'a', path => '/', effect => 'allow',
                                anyone => JSON::PP::true() } ] });
    is($r->{status}, 201, 'a policy stored');

    $m = scrape();
    is(value($m, 'keryu_policy_version'), $v + 1, 'policy version raised');
    is(value($m, 'keryu_workers_behind'), 1, 'the worker is behind');
    $st = decode(request('GET', '/api/security/status/', $token{admin}));
    is($st->{enforcement}{workers_behind}, 1, 'status: behind too');
}


# the API's own requests

$m = scrape();
my @buckets = @{ $m->{samples}{keryu_api_request_duration_seconds_bucket} };
is_deeply([ map { $_->[0]{le} } @buckets ],
          [ qw(0.001 0.005 0.01 0.05 0.1 0.5 1 +Inf) ], 'bucket bounds');
my @n = map { $_->[1] } @buckets;
ok(!grep({ $n[$_] < $n[$_ - 1] } 1 .. $#n), 'buckets are cumulative');
my $count = value($m, 'keryu_api_request_duration_seconds_count');
is($n[-1], $count, '+Inf bucket equals the count');
my $codes = labelled($m, 'keryu_api_requests_total', 'code');
my $requests = 0;
$requests += $_ for values %$codes;
is($count, $requests, 'count equals the requests by code');
ok($codes->{200} >= 10, 'the 200s counted');
ok($codes->{403} >= 1 && $codes->{401} >= 1 && $codes->{405} >= 1,
   '403, 401 and 405 counted');
ok(value($m, 'keryu_api_request_duration_seconds_sum') > 0, 'a sum');


is(stop_keryud($pid), 0, 'keryud stops cleanly');

unlike(read_file($log), qr/AddressSanitizer|LeakSanitizer|runtime error/,
       'no sanitizer reports');

done_testing();


sub fill {
    system($fill, "$dir/store", @_) == 0 or die "fill @_ failed";
}


sub scrape {
    my $r = request('GET', $path, $token{admin});
    die "metrics: $r->{status} $r->{content}" unless $r->{status} == 200;
    return parse($r->{content});
}


# {help}{family}, {type}{family}, {samples}{name} = [[labels, value], ...]
sub parse {
    my ($text) = @_;
    my %m;

    for my $line (split /\n/, $text) {
        if ($line =~ /^# (HELP|TYPE) ([a-z_]+) (.+)$/) {
            $m{lc $1}{$2} = $3;
            next;
        }

        my ($name, $labels, $value) =
            $line =~ /^([a-z_]+)(?:\{(.*)\})? (\S+)$/ or next;
        my %l;

        while (($labels // '') =~ /\G,?([a-z_]+)="((?:[^"\\]|\\.)*)"/gc) {
            my ($k, $v) = ($1, $2);
            $v =~ s/\\(.)/$1 eq 'n' ? "\n" : $1/ge;
            $l{$k} = $v;
        }

        push @{ $m{samples}{$name} }, [ \%l, $value ];
        $m{count}{ $name . '{' . ($labels // '') . '}' }++;
    }

    return \%m;
}


# the value of the one sample of name with exactly these labels
sub value {
    my ($m, $name, %l) = @_;
    my $want = join ',', map { "$_=$l{$_}" } sort keys %l;

    for my $s (@{ $m->{samples}{$name} || [] }) {
        my $have = join ',', map { "$_=$s->[0]{$_}" } sort keys %{ $s->[0] };
        return $s->[1] if $have eq $want;
    }

    return undef;
}


# { label value => sample value } of a family with one label
sub labelled {
    my ($m, $name, $label) = @_;
    return { map { $_->[0]{$label} => $_->[1] }
             @{ $m->{samples}{$name} || [] } };
}


# a report as a worker writes it: worker.<pid>, three 8-byte numbers
sub worker_put {
    my ($wpid, $config, $blocks) = @_;
    my $value = pack 'Q<Q<Q<', $config, $blocks, int(time * 1000000);
    open my $fh, '|-', "mdb_load -T -s meta $dir/store" or die;
    printf $fh "worker.%d\n%s\n", $wpid,
        join '', map { sprintf '\\%02x', $_ } unpack 'C*', $value;
    close $fh or die 'mdb_load meta failed';
}


sub meta_keys {
    my @lines = grep { /^ / } `mdb_dump -p -s meta $dir/store 2>/dev/null`;
    my @keys;

    for (my $i = 0; $i < @lines; $i += 2) {
        my ($k) = $lines[$i] =~ /^ (.*)$/;
        push @keys, $k;
    }

    return @keys;
}
