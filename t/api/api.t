# vim:set ft=perl ts=4 sw=4 et:
#
# Copyright (C) Keryu Security
#
# keryud's HTTP API, end to end: a temporary shared store is filled with
# records in the module's layout by t/api/fill.c, keryud consumes them,
# and the test reads them back through the API as each role.  It also
# restarts keryud and checks that no record is lost or doubled.
#
# Run from the top of the tree after "make build/keryud":
#
#     prove t/api/api.t
#     KERYUD=build-asan/keryud prove t/api/api.t

use strict;
use warnings;

use File::Temp qw(tempdir);
use HTTP::Tiny;
use JSON::PP;
use Test::More;

use FindBin;
use lib $FindBin::Bin;
use ApiTest;
use Time::HiRes qw(sleep time);

my $keryud = $ENV{KERYUD} // 'build/keryud';
my $cc = $ENV{CC} // 'cc';

plan skip_all => "$keryud not built" unless -x $keryud;

my $dir = tempdir('keryud-api-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $fill = "$dir/fill";

system($cc, '-std=c99', '-D_GNU_SOURCE', '-Ishared', '-o', $fill,
       't/api/fill.c', 'shared/keryu_record.c', 'shared/keryu_store.c',
       '-llmdb') == 0
    or BAIL_OUT('cannot compile t/api/fill.c');

my $port = free_port();
my $conf = "$dir/keryud.conf";
my $log = "$dir/keryud.log";
my $pid_file = "$dir/keryud.pid";
my $http = HTTP::Tiny->new(timeout => 10);

write_file($conf, <<"EOF");
# api.t
store $dir/store;
data $dir/data;
listen 127.0.0.1:$port;
poll_interval 10ms;
sync_interval 100ms;
batch 16;
data_size 16m;
pid_file $pid_file;
retention off;
EOF


# command line

is(`$keryud -n -c $conf`, "configuration OK\n", 'config check passes');

write_file("$dir/bad.conf", "store a;\ndata b;\nbatch many;\n");
my $out = `$keryud -n -c $dir/bad.conf 2>&1`;
isnt($? >> 8, 0, 'bad config fails');
like($out, qr/^keryud: \Q$dir\E\/bad\.conf:3: invalid number "many"/,
     'bad config names file and line');

$out = `$keryud -c $conf token create --role root 2>&1`;
is($? >> 8, 1, 'bad role exits 1');
like($out, qr/^usage:/m, 'bad role prints usage');

my %token;
keryud_use(port => $port, conf => $conf, log => $log, keryud => $keryud,
           token => \%token);

for my $role (qw(admin auditor viewer)) {
    my $t = `$keryud -c $conf token create --role $role --name $role`;
    is($? >> 8, 0, "token create $role");
    like($t, qr/^kry_[A-Za-z0-9_-]{43}\n\z/, "token for $role is one line");
    chomp($token{$role} = $t);
}

$out = `$keryud -c $conf token create --role viewer --name viewer 2>&1`;
isnt($? >> 8, 0, 'duplicate token name refused');

# each token created is a change, recorded in keryud's logs beside what it
# consumes; a refused one is not
my $changes = 3;

$out = `$keryud -c $conf token list`;
like($out, qr/^admin\s+admin\s/m, 'token list shows admin');
like($out, qr/^viewer\s+viewer\s/m, 'token list shows viewer');
unlike($out, qr/kry_/, 'token list never shows a token');


# consuming

my $pid = start_keryud();

ok(-f $pid_file, 'pid file written');
is(read_file($pid_file), "$pid\n", 'pid file holds the pid');

fill(30, 'type=request', 'user=alice', 'ip=10.0.0.1', 'status=200');
fill(5, 'type=login', 'user=bob', 'ip=2001:db8::5', 'status=200',
     'details={"method":"password","mfa":true}');
fill(4, 'type=auth_failure', 'user=mallory', 'ip=10.0.0.9',
     'status=401');
fill(3, 'type=permission_denied', 'user=alice', 'ip=10.0.0.1',
     'status=403');
fill(2, 'type=request', 'status=404', 'time=1700000000');

wait_consumed(44);


# authentication and roles

my $r = request('GET', '/api/security/logs/');
is($r->{status}, 401, 'no token: 401');
is($r->{headers}{'www-authenticate'}, 'Bearer',
   'no token: WWW-Authenticate');
is_json($r, { error => 'missing token' }, 'no token: body');

$r = request('GET', '/api/security/logs/', 'kry_bogus');
is($r->{status}, 401, 'bad token: 401');
is($r->{headers}{'www-authenticate'}, 'Bearer', 'bad token: header');
is_json($r, { error => 'invalid token' }, 'bad token: body');

$r = $http->request('GET', url('/api/security/logs/'),
                    { headers => { Authorization => "Basic $token{admin}" }
                    });
is($r->{status}, 401, 'other scheme: 401');
is_json($r, { error => 'invalid token' }, 'other scheme: body');

$r = $http->request('GET', url('/api/security/status/'),
                    { headers => { Authorization => "bearer $token{viewer}" }
                    });
is($r->{status}, 200, 'scheme name in any case');

$r = request('GET', '/api/security/logs/', $token{viewer});
is($r->{status}, 403, 'viewer may not read logs');
is_json($r, { error => 'forbidden' }, 'viewer: body');

for my $role (qw(admin auditor)) {
    $r = request('GET', '/api/security/logs/', $token{$role});
    is($r->{status}, 200, "$role reads logs");
}

for my $role (qw(admin auditor viewer)) {
    $r = request('GET', '/api/security/events/', $token{$role});
    is($r->{status}, 200, "$role reads events");
    $r = request('GET', '/api/security/status/', $token{$role});
    is($r->{status}, 200, "$role reads status");
}

$r = request('GET', '/api/security/nowhere/', $token{admin});
is($r->{status}, 404, 'unknown path: 404');
is_json($r, { error => 'not found' }, 'unknown path: body');

$r = request('POST', '/api/security/logs/', $token{admin});
is($r->{status}, 405, 'POST: 405');
is_json($r, { error => 'method not allowed' }, 'POST: body');

$r = request('DELETE', '/api/security/events/', $token{admin});
is($r->{status}, 405, 'DELETE: 405');


# one record in full

$r = request('GET', '/api/security/events/?event_type=login&limit=1',
             $token{viewer});
my $item = decode($r)->{items}[0];
is($item->{seq}, 35, 'newest login has seq 35');
is($item->{event_type}, 'login', 'item event_type');
is($item->{user}, 'bob', 'item user');
is($item->{ip}, '2001:db8::5', 'item ip');
is($item->{status}, 200, 'item status');
is($item->{method}, 'GET', 'item method');
is($item->{user_agent}, 'fill/1.0', 'item user_agent');
is($item->{bytes_sent}, 642, 'item bytes_sent');
is($item->{request_time}, 0.001234, 'item request_time');
ok(!$item->{truncated}, 'item not truncated');
is_deeply($item->{details}, { method => 'password', mfa => JSON::PP::true },
          'item details');
like($item->{time}, qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z\z/,
     'item time is RFC 3339');


# filters

my %expect = (
    ''                                     => 44 + $changes,
    'event_type=login'                     => 5,
    'event_type=request'                   => 32,
    'event_type=logout'                    => 0,
    'user=alice'                           => 33,
    'user=alice&status=403'                => 3,
    'user=nobody'                          => 0,
    'ip=10.0.0.1'                          => 33,
    'ip=10.0.0.9'                          => 4,
    'ip=2001:db8::5'                       => 5,
    'ip=2001:0db8:0:0:0:0:0:5'             => 5,
    'status=401'                           => 4,
    'status=404'                           => 2,
    'until=1700000001'                     => 2,
    'until=2023-11-14T22:13:20.000001Z'    => 1,
    'since=2023-11-14T22:13:20.000001Z'    => 43 + $changes,
    'since=2023-11-14T23:13:20%2B01:00'    => 44 + $changes,
    'since=1700000001'                     => 42 + $changes,
    'since=1700000000&until=1700000001'    => 2,
);

for my $qs (sort keys %expect) {
    my @items = all_items('/api/security/logs/', $qs, $token{auditor});
    is(scalar @items, $expect{$qs}, "filter '$qs'");
}

my @events = all_items('/api/security/events/', '', $token{viewer});
is(scalar @events, 12 + $changes, 'events: every non-request record');
is(scalar(grep { $_->{event_type} eq 'system_change' } @events), $changes,
   'events: the token creations among them');
ok(!(grep { $_->{event_type} eq 'request' } @events),
   'events: no request records');


# malformed parameters

my %bad = (
    event_type => 'bogus',
    user       => '',
    ip         => '10.0.0',
    status     => '99',
    since      => 'yesterday',
    until      => '2026-13-01T00:00:00Z',
    limit      => '1001',
    cursor     => 'abc',
);

for my $p (sort keys %bad) {
    $r = request('GET', "/api/security/logs/?$p=$bad{$p}", $token{admin});
    is($r->{status}, 400, "bad $p: 400");
    is_json($r, { error => 'invalid parameter', parameter => $p },
            "bad $p: body names it");
}

$r = request('GET', '/api/security/logs/?limit=5&limit=6', $token{admin});
is_json($r, { error => 'invalid parameter', parameter => 'limit' },
        'repeated parameter: 400');

$r = request('GET', '/api/security/events/?sort=asc', $token{admin});
is($r->{status}, 400, 'unknown parameter: 400');
is_json($r, { error => 'unknown parameter', parameter => 'sort' },
        'unknown parameter: body names it');


# pagination

check_pages(44, 7, 'first run');


# restart

is(stop_keryud($pid), 0, 'keryud stops cleanly on TERM');
ok(!-e $pid_file, 'pid file removed');

fill(10, 'type=logout', 'user=carol', 'ip=10.0.0.3', 'status=302');

$pid = start_keryud();

fill(6, 'type=data_access', 'user=dave', 'ip=10.0.0.4', 'status=200');

wait_consumed(60);
check_pages(60, 9, 'after restart');

my $st = wait_status(sub { $_[0]{store}{lag} == 0 }, 'lag drains');
is($st->{keryud}{lost}, 0, 'status: nothing lost');
is($st->{keryud}{last_seq}, 60, 'status: keryud last_seq');
is($st->{store}{last_seq}, 60, 'status: store last_seq');
like($st->{store}{last_time}, qr/Z\z/, 'status: store last_time');
ok($st->{keryud}{uptime} >= 0, 'status: uptime');
ok(abs($st->{keryud}{uptime_s} - $st->{keryud}{uptime}) <= 1,
   'status: uptime_s');
is($st->{keryud}{lag}, 0, 'status: keryud lag');
is($st->{module}{last_record_time}, $st->{store}{last_time},
   'status: module last_record_time');
is($st->{module}{$_}, $st->{store}{$_}, "status: module $_")
    for qw(dropped overflow failed);
ok($st->{module}{store_bytes} > 0, 'status: module store_bytes');
ok($st->{module}{store_map_bytes} >= $st->{module}{store_bytes},
   'status: module store_map_bytes');
is_deeply($st->{module}{workers}, [], 'status: no nginx worker reported');
is_deeply($st->{keys}, { jwt => 0, apikeys => 0, clients => 0 },
          'status: key counts');
is_deeply([ sort keys %{ $st->{alerts} } ],
          [ qw(acknowledged by_severity open resolved) ], 'status: alerts');
is_deeply([ sort keys %{ $st->{alerts}{by_severity} } ],
          [ qw(critical high low medium) ], 'status: alerts by severity');
my $open = 0;
$open += $_ for values %{ $st->{alerts}{by_severity} };
is($open, $st->{alerts}{open}, 'status: open alerts by severity add up');
ok($st->{enforcement}{policy_version} > 0,
   'status: policy version raised by the default policies');
is($st->{enforcement}{workers_behind}, 0, 'status: no worker behind');


# loss

fill(2, 'gap=3');
$st = wait_status(sub { $_[0]{keryud}{consumed} == 62 }, 'gap consumed');
is($st->{keryud}{lost}, 3, 'status: a gap counts as lost');


# a shared store removed and made again while keryud runs

system('rm', '-rf', "$dir/store") == 0 or die 'rm failed';
fill(4, 'type=login', 'user=erin');

$st = wait_status(sub { $_[0]{keryud}{consumed} == 66 }, 'new store read');
is($st->{keryud}{last_seq}, 4, 'new store read from its start');
is($st->{keryud}{lost}, 3, 'new store: nothing more lost');
is($st->{store}{last_seq}, 4, 'status shows the new store');

my @all = all_items('/api/security/logs/', '', $token{admin});
is(scalar @all, 66 + $changes, 'records of the old store kept');
is_deeply([ map { $_->{user} } @all[0 .. 3] ], [ ('erin') x 4 ],
          'records of the new store newest');

is(stop_keryud($pid), 0, 'keryud stops cleanly again');

my $text = read_file($log);
like($text, qr/log loss: 3 records between 60 and 64/, 'loss logged');
like($text, qr/shared store "[^"]+" was replaced, reopening it/,
     'reopening logged');
unlike($text, qr/AddressSanitizer|LeakSanitizer|runtime error/,
       'no sanitizer reports');
unlike($text, qr/kry_/, 'log holds no token');

done_testing();


sub fill {
    system($fill, "$dir/store", @_) == 0 or die "fill @_ failed";
}


sub status {
    my $r = request('GET', '/api/security/status/', $token{admin});
    return undef unless $r->{status} == 200;
    return decode($r);
}

sub wait_status {
    my ($pred, $name) = @_;
    return wait_until(sub { my $s = status(); $s && $pred->($s) ? $s : undef },
                      $name);
}

sub wait_consumed {
    my ($n) = @_;
    wait_status(sub { $_[0]{keryud}{consumed} >= $n }, "consumed $n");
    is(status()->{keryud}{consumed}, $n, "consumed exactly $n");
}


sub all_items {
    my ($path, $qs, $token) = @_;
    my (@items, $cursor);
    for (my $i = 0; $i < 1000; $i++) {
        my $q = join '&', grep { length } $qs, 'limit=1000',
                     defined $cursor ? "cursor=$cursor" : ();
        my $r = request('GET', "$path?$q", $token);
        die "$path?$q: $r->{status} $r->{content}" unless $r->{status} == 200;
        my $page = decode($r);
        push @items, @{ $page->{items} };
        $cursor = $page->{next_cursor};
        return @items unless defined $cursor;
    }
    die "too many pages";
}

sub check_pages {
    my ($n, $limit, $name) = @_;
    my (@ids, @seqs, $cursor, $pages);
    for ($pages = 0; $pages < 1000; $pages++) {
        my $q = "limit=$limit" . (defined $cursor ? "&cursor=$cursor" : '');
        my $page = decode(request('GET', "/api/security/logs/?$q",
                                  $token{admin}));
        ok(@{ $page->{items} } <= $limit, "$name: page within limit")
            or last;
        push @ids, map { $_->{id} } @{ $page->{items} };
        push @seqs, map { $_->{seq} } @{ $page->{items} };
        $cursor = $page->{next_cursor};
        last unless defined $cursor;
    }
    my $total = $n + $changes;
    is(scalar @ids, $total, "$name: every record once");
    is_deeply(\@ids, [ sort { $b <=> $a } @ids ], "$name: newest first");
    my %seen;
    is(scalar(grep { !$seen{$_}++ } @ids), $total, "$name: no id twice");
    is_deeply([ sort { $a <=> $b } grep { $_ } @seqs ], [ 1 .. $n ],
              "$name: every seq once");
    is($pages + 1, int(($total + $limit - 1) / $limit),
       "$name: page count");
}
