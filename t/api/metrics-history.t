# vim:set ft=perl ts=4 sw=4 et:
#
# Copyright (C) Keryu Security
#
# keryud's metrics history, GET /api/security/metrics/history/: samples
# taken every "metrics_interval" (1 s here) as column arrays of one length,
# in time order; records consumed a second once records arrive, the ring's
# lag, blocks and the shared store's size in later samples, the API's own
# request rate; ?since=, bad parameters, who may read it, and keryud with
# the history off or a bad interval.
#
#     prove t/api/metrics-history.t
#     KERYUD=build-asan/keryud prove t/api/metrics-history.t

use strict;
use warnings;

use File::Temp qw(tempdir);
use List::Util qw(first sum0);
use Test::More;

use FindBin;
use lib $FindBin::Bin;
use ApiTest;

my $keryud = $ENV{KERYUD} // 'build/keryud';
my $cc = $ENV{CC} // 'cc';

plan skip_all => "$keryud not built" unless -x $keryud;

my $dir = tempdir('keryud-mhist-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $fill = "$dir/fill";

system($cc, '-std=c99', '-D_GNU_SOURCE', '-Ishared', '-o', $fill,
       't/api/fill.c', 'shared/keryu_record.c', 'shared/keryu_store.c',
       '-llmdb') == 0
    or BAIL_OUT('cannot compile t/api/fill.c');

my $port = free_port();
my $conf = "$dir/keryud.conf";
my $log = "$dir/keryud.log";
my $path = '/api/security/metrics/history/';
my @columns = qw(time records_per_s ring_lag consumer_lag alerts_open
                 store_bytes api_requests_per_s api_response_ms blocks);

sub conf {
    my ($extra) = @_;
    write_file($conf, <<"END");
# metrics-history.t
store $dir/store;
data $dir/data;
listen 127.0.0.1:$port;
poll_interval 10ms;
pid_file $dir/keryud.pid;
default_policies off;
$extra
END
}

conf('metrics_interval 1s;');

my %token;
keryud_use(port => $port, conf => $conf, log => $log, keryud => $keryud,
           token => \%token);

for my $role (qw(admin auditor viewer)) {
    chomp($token{$role} =
              `$keryud -c $conf token create --role $role --name $role-1`);
    is($? >> 8, 0, "token create $role");
}

my $pid = start_keryud();

sub history {
    my ($query) = @_;
    my $r = request('GET', $path . ($query // ''), $token{admin});
    die "history: $r->{status} $r->{content}" unless $r->{status} == 200;
    return decode($r);
}

# the history once $check holds for it, within the helper's deadline
sub history_when {
    my ($check, $name) = @_;
    my $h;
    wait_until(sub { $h = history(); return $check->($h) }, $name);
    return $h;
}


# shape

my $h = history_when(sub { @{ $_[0]{time} } >= 2 }, 'two samples');

is($h->{interval}, 1, 'interval as configured');
is($h->{capacity}, 8640, 'capacity: 24 hours at the default interval');

for my $c (@columns) {
    is(ref $h->{$c}, 'ARRAY', "column $c");
    is(scalar @{ $h->{$c} }, scalar @{ $h->{time} },
       "column $c: one value a sample");
}

my @t = @{ $h->{time} };
ok((!grep { $t[$_] <= $t[$_ - 1] } 1 .. $#t), 'times rise');
ok(abs($t[-1] - time) < 5, 'the last sample is recent');
is($h->{records_per_s}[-1], 0, 'no records yet: none a second');
is($h->{alerts_open}[-1], 0, 'no open alerts');
is($h->{blocks}[-1], 0, 'no blocks');
ok($h->{store_bytes}[-1] > 0, 'the shared store has pages in use');


# records and a block arrive; later samples show them

system($fill, "$dir/store", 500, 'type=request', 'status=200') == 0
    or die 'fill failed';
is(system("$keryud -c $conf block add --ip 192.0.2.77 >/dev/null"), 0,
   'block add');

my $after = $t[-1];

$h = history_when(sub {
    my ($x) = @_;
    my @i = grep { $x->{time}[$_] > $after } 0 .. $#{ $x->{time} };
    return @i && $x->{blocks}[$i[-1]] == 1 && $x->{ring_lag}[$i[-1]] == 0
           && sum0(map { $x->{records_per_s}[$_] // 0 } @i) > 0;
}, 'samples with the records and the block');

my @i = grep { $h->{time}[$_] > $after } 0 .. $#{ $h->{time} };
my $consumed = sum0(map { $h->{records_per_s}[$_] // 0 } @i);
ok($consumed > 0 && $consumed <= 500 * 1.5,
   "records a second add up to about the records ($consumed)");
ok((first { ($h->{api_requests_per_s}[$_] // 0) > 0 } @i),
   'the API answered requests between samples');
ok((first { defined $h->{api_response_ms}[$_] } @i),
   'a mean response time where requests were answered');
is($h->{records_per_s}[0], undef, 'the first sample has no rate');


# since

my $last = $h->{time}[-1];
my $s = history("?since=$last");
ok(@{ $s->{time} } >= 1, 'since the last sample: at least that one');
ok((!grep { $_ < $last } @{ $s->{time} }), 'since: nothing older');
is(scalar @{ $s->{blocks} }, scalar @{ $s->{time} }, 'since: columns match');

$s = history('?since=' . (time + 3600));
is_deeply([ map { scalar @{ $s->{$_} } } @columns ], [ (0) x @columns ],
          'since the future: empty columns');


# errors and roles

my $r = request('GET', "$path?since=yesterday", $token{admin});
is($r->{status}, 400, 'since not a number');
is_json($r, { error => 'invalid parameter', parameter => 'since' },
        'since not a number: body');

$r = request('GET', "$path?since=-5", $token{admin});
is($r->{status}, 400, 'since negative');

$r = request('GET', "$path?limit=5", $token{admin});
is($r->{status}, 400, 'unknown parameter');
is_json($r, { error => 'unknown parameter', parameter => 'limit' },
        'unknown parameter: body');

$r = request('GET', '/api/security/metrics/history', $token{auditor});
is($r->{status}, 200, 'auditor reads it, no trailing slash');

$r = request('GET', $path, $token{viewer});
is($r->{status}, 403, 'viewer may not read it');
is_json($r, { error => 'forbidden' }, 'viewer: body');

$r = request('POST', $path, $token{admin}, {});
is($r->{status}, 405, 'POST: method not allowed');

$r = request('GET', $path);
is($r->{status}, 401, 'no token');

is(stop_keryud($pid), 0, 'keryud stops cleanly');


# off, and intervals keryud refuses

conf('metrics_interval off;');
$pid = start_keryud();

$r = request('GET', $path, $token{admin});
is($r->{status}, 503, 'history off');
is_json($r, { error => 'no metrics history' }, 'history off: body');

is(stop_keryud($pid), 0, 'keryud stops cleanly');

for my $bad ('500ms', '1500ms', '2h', 'soon') {
    conf("metrics_interval $bad;");
    my $o = `$keryud -n -c $conf 2>&1`;
    isnt($? >> 8, 0, "metrics_interval $bad refused");
    like($o, qr/invalid time "\Q$bad\E" in "metrics_interval" directive/,
         "metrics_interval $bad: the message");
}

unlike(read_file($log), qr/ERROR: AddressSanitizer|LeakSanitizer/,
       'no sanitizer reports');

done_testing();
