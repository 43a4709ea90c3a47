# Backup and restore: "keryud backup" copies both stores while nginx
# writes and keryud consumes; "keryud restore" brings the copy back into
# a fresh configuration, where a new keryud finds every record, policy,
# block, alert and key that the backup held, reads on from the restored
# ring without losing or doubling a record, and "keryud verify" passes.
# Refusals: a non-empty backup directory, live stores that are not empty,
# a directory that is not a backup.

use strict;
use warnings;

use FindBin;
use lib $FindBin::Bin;

use File::Temp qw(tempdir);
use JSON::PP;
use POSIX ();
use Test::More;
use KeryuTest;


my $true = JSON::PP::true;
my $dir = scratch();
my $port = free_port();
my $api = free_port();
my $keryud = $KeryuTest::Keryud;


sub write_file {
    my ($file, $text, $mode) = @_;
    open my $fh, '>', $file or die "$file: $!";
    print $fh $text;
    close $fh;
    chmod $mode, $file if defined $mode;
}

sub run {
    my $out = `@_ 2>&1`;
    return ($? >> 8, $out);
}

sub conf_text {
    my ($d, $p) = @_;
    return "store $d/store;\ndata $d/keryud-data;\n"
           . "listen 127.0.0.1:$p;\npid_file $d/keryud.pid;\n"
           . "poll_interval 20ms;\ndefault_policies off;\n"
           . "master_key $dir/master-key;\n";
}

# every record keryud serves, by sequence number, paging with the cursor
sub all_seqs {
    my ($p, $token) = @_;
    my (%seq, $cursor);

    for (;;) {
        my $path = '/api/security/logs/?limit=1000'
                   . (defined $cursor ? "&cursor=$cursor" : '');
        my ($code, $body) = api($p, $token, $path);
        die "logs: $code" unless $code == 200;
        $seq{$_->{seq}}++ for @{ $body->{items} };
        $cursor = $body->{next_cursor};
        last unless defined $cursor;
    }

    return \%seq;
}

# the sequence numbers in the logs database of an own store, read from a
# copy (mdb_dump would leave a lock file in the backup)
sub own_seqs {
    my ($data) = @_;
    my $peek = tempdir('keryu-peek.XXXXXX', TMPDIR => 1, CLEANUP => 1);
    system('cp', "$data/data.mdb", "$peek/data.mdb") == 0 or die;
    my @lines = grep { /^ / } `mdb_dump -s logs $peek`;
    my %seq;

    while (@lines >= 2) {
        shift @lines;
        my $v = KeryuTest::unhex(shift @lines);
        $seq{ KeryuTest::decode_record(0, $v)->{seq} }++;
    }

    return \%seq;
}

sub mode_of { return (stat $_[0])[2] & 07777 }


write_file("$dir/master-key",
           join('', map { sprintf '%02x', int rand 256 } 1 .. 32) . "\n",
           0600);
write_file("$dir/keryud.conf", conf_text($dir, $api));

write_file("$dir/policies.json", encode_json([
    { name => 'open', policy_type => 'access',
      rules => [ { id => 'p', path => '/p/', match => 'prefix',
                   effect => 'allow', anyone => $true } ] },
    { name => 'brute-force', policy_type => 'threshold',
      rules => [ { id => 'auth-failures', types => ['auth_failure'],
                   group_by => 'ip', count => 5, window => '60s',
                   severity => 'high', action => 'block',
                   duration => '1h' } ] } ]));

my ($rc, $out) = run("$keryud -c $dir/keryud.conf policy apply "
                     . "$dir/policies.json");
is($rc, 0, 'policies applied') or diag $out;

start_nginx($dir, port => $port, workers => 2,
            store => 'ring=100000',
            server => 'location /p/ { keryu_access on; return 200; }
                       location /login { keryu_event login; return 401; }');

my $admin = keryud_token($dir, 'admin');
my $kd = start_keryud($dir, $api);


# traffic from another process for as long as the backup runs

my $gen = fork // die "fork: $!";

if ($gen == 0) {
    my $n = 0;
    for (;;) {
        http($port, 'GET', '/p/' . $n++);
    }
}

is(join(',', map { http($port, 'POST', '/login')->{status} } 1 .. 5),
   '401,401,401,401,401', 'five failed logins');

my $alerts = wait_until(10, sub {
    my ($code, $body) = api($api, $admin, '/api/security/alerts/');
    $code == 200 && @{ $body->{items} } ? $body->{items} : undef;
});
is(scalar @{ $alerts || [] }, 1, 'an alert is open');

ok(wait_until(10, sub {
    my (undef, $s) = api($api, $admin, '/api/security/status/');
    $s->{keryud}{consumed} > 200;
}), 'keryud consumes the traffic');

($rc, $out) = run("$keryud -c $dir/keryud.conf backup $dir/backup");
is($rc, 0, 'backup while traffic flows') or diag $out;
like($out, qr{^backup of ".*" and ".*" written to "\Q$dir\E/backup"$}m,
     'backup says what it wrote');

my (undef, $st) = api($api, $admin, '/api/security/status/');
ok(http($port, 'GET', '/p/after')->{status} == 200,
   'nginx still answers after the backup');

kill 'KILL', $gen;
waitpid $gen, 0;

is(mode_of("$dir/backup"), 0700, 'backup directory 0700');
is(mode_of("$dir/backup/$_"), 0700, "backup $_/ 0700") for qw(data store);
is(mode_of("$dir/backup/$_/data.mdb"), 0600, "backup $_/data.mdb 0600")
    for qw(data store);

($rc, $out) = run("$keryud -c $dir/keryud.conf backup $dir/backup");
is($rc, 1, 'backup refuses a non-empty directory');
like($out, qr{backup directory "\Q$dir\E/backup" is not empty}, 'and says so');

# what the backup holds: keryud's records, and the ring it read from

my $own = own_seqs("$dir/backup/data");
my @ring = ring_records("$dir/backup/store");

# keryud's own records (system changes) have no sequence number
my $changes = delete $own->{0} // 0;
ok($changes > 0, "$changes system changes in keryud's copy");
ok(!grep({ $_ > 1 } values %$own), 'no record twice in the backed up store');
my %want = %$own;
$want{ $_->{seq} } = 1 for @ring;
my $max = (sort { $b <=> $a } keys %want)[0];
ok(keys %$own > 200, scalar(keys %$own) . ' records in keryud\'s copy');

# the state to find again

my $keys = `$keryud -c $dir/keryud.conf keys list`;
is($? >> 8, 0, 'keys list');
like($keys, qr/log_sealing/, 'keryud made its keys under the master key');
my $policies = `$keryud -c $dir/keryud.conf policy list`;
my $blocks = `$keryud -c $dir/keryud.conf block list`;
like($blocks, qr/^ip\s+127\.0\.0\.1\/32/m, 'the client is blocked');
my $tokens = `$keryud -c $dir/keryud.conf token list`;

is(stop_keryud($kd, 'TERM'), 0, 'keryud stops');
stop_nginx($dir);


# restore refuses live stores that hold anything

($rc, $out) = run("$keryud -c $dir/keryud.conf restore $dir/backup");
is($rc, 1, 'restore refuses stores that are not empty');
like($out, qr/keryud store "\Q$dir\E\/keryud-data" is not empty/,
     'and names the store');

my $new = scratch();
my $api2 = free_port();
write_file("$new/keryud.conf", conf_text($new, $api2));

($rc, $out) = run("$keryud -c $new/keryud.conf restore $dir/logs");
is($rc, 1, 'restore refuses a directory that is not a backup');
like($out, qr/backup "\Q$dir\E\/logs" has no usable keryud store: it does not exist/,
     'and says what is missing');
ok(!-e "$new/store" && !-e "$new/keryud-data", 'and writes nothing');

($rc, $out) = run("$keryud -c $new/keryud.conf restore $dir/backup");
is($rc, 0, 'restore into a fresh configuration') or diag $out;
is(mode_of("$new/$_"), 0700, "restored $_ 0700") for qw(store keryud-data);
is(mode_of("$new/$_/data.mdb"), 0600, "restored $_/data.mdb 0600")
    for qw(store keryud-data);
ok(!-e "$dir/backup/data/lock.mdb", 'restore leaves the backup as it was');

($rc, $out) = run("$keryud -c $new/keryud.conf verify");
is($rc, 0, 'verify passes on the restored store') or diag $out;
like($out, qr/^ok$/m, 'verify: ok');

is(`$keryud -c $new/keryud.conf keys list`, $keys, 'the same keys');
is(`$keryud -c $new/keryud.conf policy list`, $policies, 'the same policies');
is(`$keryud -c $new/keryud.conf block list`, $blocks, 'the same blocks');
is(`$keryud -c $new/keryud.conf token list`, $tokens, 'the same tokens');


# a keryud on the restored stores reads the rest of the restored ring

$kd = start_keryud($new, $api2);

my ($code, $s2);
ok(wait_until(10, sub {
    ($code, $s2) = api($api2, $admin, '/api/security/status/');
    $code == 200 && $s2->{keryud}{last_seq} == $max;
}), "keryud catches up to sequence $max") or diag explain $s2;
is($s2->{keryud}{lost}, $st->{keryud}{lost}, 'no record lost');

my $got = all_seqs($api2, $admin);
is(delete $got->{0} // 0, $changes, 'the same system changes');
is(scalar(grep { $got->{$_} != 1 } keys %$got), 0, 'every record once');
is_deeply([ sort { $a <=> $b } keys %$got ],
          [ sort { $a <=> $b } keys %want ],
          'every record of the backup, and only those');

my ($c2, $a2) = api($api2, $admin, '/api/security/alerts/');
is($c2, 200, 'alerts');
is_deeply([ map { [ @$_{qw(id rule key status count)} ] } @{ $a2->{items} } ],
          [ map { [ @$_{qw(id rule key status count)} ] } @$alerts ],
          'the same alert');

is(stop_keryud($kd, 'TERM'), 0, 'restored keryud stops');

($rc, $out) = run("$keryud -c $new/keryud.conf verify");
is($rc, 0, 'verify passes after the restored keryud went on') or diag $out;

unlike(`cat $dir/logs/keryud.log $new/logs/keryud.log`,
       qr/Sanitizer|runtime error/, 'no sanitizer reports from keryud');

done_testing();
