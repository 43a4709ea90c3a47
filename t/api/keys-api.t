# vim:set ft=perl ts=4 sw=4 et:
#
# Copyright (C) Keryu Security
#
# keryud's keys: every keys endpoint with every role and bad input, 503
# without a master key, rotation visible in the list, the change history,
# the alerts and the shared store's sealing key, the webhook signed with
# the managed key, a backup taken through the API and restored with the
# command line into a fresh data directory under another master key, a
# command line rotation picked up by the running keryud, rotation and
# destruction on the timer, startup refused for a master key of the wrong
# mode and for a wrong master key, and no key value, master key or
# passphrase in any answer or log line.
#
#     prove t/api/keys-api.t
#     KERYUD=build-asan/keryud prove t/api/keys-api.t

use strict;
use warnings;

use Digest::SHA qw(sha256 sha256_hex hmac_sha256_hex);
use File::Temp qw(tempdir);
use IO::Socket::INET;
use JSON::PP;
use MIME::Base64 qw(decode_base64);
use POSIX ();
use Test::More;

use FindBin;
use lib $FindBin::Bin;
use ApiTest;

my $keryud = $ENV{KERYUD} // 'build/keryud';

plan skip_all => "$keryud not built" unless -x $keryud;
plan skip_all => 'mdb_dump not found' if system('mdb_dump -V >/dev/null 2>&1');

my $dir = tempdir('keryud-keys-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $port = free_port();
my $hook = free_port();
my $conf = "$dir/keryud.conf";
my $log = "$dir/keryud.log";
my $base = '/api/security/keys/';
my $time = qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\z/;
my $json = JSON::PP->new->canonical;
my @types = qw(log_sealing data blind_index report_signing webhook_signing);
my @seen;                       # every answer, to look for key values


sub hexkey {
    return join '', map { sprintf '%02x', int rand 256 } 1 .. 32;
}

my $master = hexkey();
my $master2 = hexkey();
my $passphrase = 'correct horse battery staple';

write_file("$dir/master-key", "$master\n");
chmod 0600, "$dir/master-key";
write_file("$dir/master-key2", "$master2\n");
chmod 0600, "$dir/master-key2";
write_file("$dir/pass", "$passphrase\n");
chmod 0600, "$dir/pass";


# the webhook receiver: each delivery to its own file, answered 200

my $listen = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
                                   LocalPort => $hook, Listen => 8,
                                   ReuseAddr => 1, Proto => 'tcp')
    or die "listen: $!";

my $receiver = fork // die "fork: $!";

if ($receiver == 0) {
    my $n = 0;
    while (my $c = $listen->accept) {
        my $head = '';
        while (defined(my $line = <$c>)) {
            $head .= $line;
            last if $line eq "\r\n";
        }
        my ($len) = $head =~ /^Content-Length:\s*(\d+)/mi;
        my $body = '';
        read($c, $body, $len // 0);
        $n++;
        open my $fh, '>', "$dir/hook.$n.new" or die;
        print $fh $head, $body;
        close $fh;
        rename "$dir/hook.$n.new", "$dir/hook.$n";
        print $c "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n"
                 . "Connection: close\r\n\r\n";
        close $c;
    }
    POSIX::_exit(0);
}

close $listen;

END { kill 'TERM', $receiver if $receiver; }


sub conf_text {
    my (%o) = @_;
    my $t = "# keys-api.t\n"
            . "store $o{store};\ndata $o{data};\n"
            . "listen 127.0.0.1:$o{port};\npoll_interval 10ms;\n"
            . "sync_interval 100ms;\npid_file $o{data}.pid;\n";
    $t .= "master_key $o{master};\n" if $o{master};
    $t .= "webhook http://127.0.0.1:$hook/keys;\n" if $o{webhook};
    $t .= $o{extra} // '';
    return $t;
}

write_file($conf, conf_text(store => "$dir/store", data => "$dir/data",
                            port => $port, master => "$dir/master-key",
                            webhook => 1));

my %token;
keryud_use(port => $port, conf => $conf, log => $log, keryud => $keryud,
           token => \%token);

for my $role (qw(admin auditor viewer)) {
    chomp($token{$role} =
              `$keryud -c $conf token create --role $role --name $role-1`);
    is($? >> 8, 0, "token create $role");
}


sub req {
    my $r = request(@_);
    push @seen, $r->{content};
    return $r;
}

# the list as the admin sees it; polled, so it counts as no test
sub list {
    my $r = req('GET', $base, $token{admin});
    die "listing keys: $r->{status} $r->{content}" unless $r->{status} == 200;
    return decode($r);
}

sub item {
    my ($l, $type, $version) = @_;
    my ($k) = grep { $_->{key_type} eq $type
                     && (!defined $version || ($_->{version} // 0) == $version)
                     && (defined $version || $_->{state} eq 'active') }
              @{ $l->{items} };
    return $k;
}

sub events {
    my ($action) = @_;
    my $r = req('GET', '/api/security/events/?event_type=system_change'
                       . '&limit=1000', $token{admin});
    return [ grep { ($_->{details}{action} // '') eq $action }
             @{ decode($r)->{items} } ];
}

sub alerts {
    my ($rule) = @_;
    my $r = req('GET', "/api/security/alerts/?rule=$rule&limit=1000",
                $token{admin});
    return decode($r)->{items};
}

# the sealing public key in the shared store's meta: (version, bytes)
sub shared_sealing {
    my @l = split /\n/, `mdb_dump -s meta $dir/store 2>/dev/null`;
    my $k = ' ' . unpack('H*', 'sealing_public');
    for my $i (0 .. $#l - 1) {
        next unless $l[$i] eq $k;
        my $v = pack 'H*', substr($l[$i + 1], 1);
        return (unpack('Q<', substr($v, 0, 8)), substr($v, 8));
    }
    return;
}

# a keryud subcommand; its output, stderr included, is kept for the end
my @cli;

sub cli {
    my ($args) = @_;
    my $o = `$keryud $args 2>&1`;
    my $status = $?;
    push @cli, $o;
    $? = $status;
    return $o;
}

sub run_keryud_once {
    my ($c) = @_;
    my $out = `timeout 20 $keryud -d -c $c 2>&1`;
    return ($? >> 8, $out);
}


# ---- a master key file that others may read: keryud does not start

chmod 0644, "$dir/master-key";
my ($rc, $out) = run_keryud_once($conf);
isnt($rc, 0, 'refused: master key readable by others');
like($out, qr/cannot start: master key "\Q$dir\E\/master-key" has mode 0644, expecting 0600 or 0400/,
     'and says so');
chmod 0600, "$dir/master-key";

# blind_index is never rotated: a period for it is a configuration error

my $bad = "$dir/bad.conf";
write_file($bad, conf_text(store => "$dir/store", data => "$dir/data",
                           port => $port,
                           extra => "key_period blind_index 30d;\n"));
$out = `$keryud -n -c $bad 2>&1`;
isnt($? >> 8, 0, 'key_period blind_index refused');
like($out, qr/invalid period "30d" of blind_index in "key_period" directive, expecting "never"/,
     'with the reason');


# ---- without a master key: keryud runs, the keys answer 503

{
    my $p0 = free_port();
    my $c0 = "$dir/nokey.conf";
    write_file($c0, conf_text(store => "$dir/store0", data => "$dir/data0",
                              port => $p0));
    my %t0;
    chomp($t0{admin} = `$keryud -c $c0 token create --role admin`);
    chomp($t0{viewer} = `$keryud -c $c0 token create --role viewer`);
    keryud_use(port => $p0, conf => $c0, log => "$dir/nokey.log",
               keryud => $keryud, token => \%t0);
    my $pid = start_keryud();

    for my $r ([ 'GET', $base ], [ 'POST', "${base}rotate/" ],
               [ 'POST', "${base}backup/" ], [ 'POST', "${base}validate/" ])
    {
        my $res = req(@$r, $t0{admin}, $r->[0] eq 'POST' ? {} : undef);
        is($res->{status}, 503, "$r->[0] $r->[1] without a master key: 503");
        is_json($res, { error => 'no master key' }, 'no master key');
    }

    is(req('GET', $base, $t0{viewer})->{status}, 403,
       'a viewer is refused before that');

    is(stop_keryud($pid), 0, 'keryud without a master key stops');
    like(read_file("$dir/nokey.log"), qr/no master key: the keys are off/,
         'and said the keys are off');

    keryud_use(port => $port, conf => $conf, log => $log, keryud => $keryud,
               token => \%token);
}


# ---- keys made at the first start

my $pid = start_keryud();

like(read_file($log), qr/5 keys loaded under the master key from \Q$dir\E\/master-key/,
     'five keys made and loaded');

my $l = list();
is(scalar @{ $l->{items} }, 5, 'one key per managed type');

for my $type (@types) {
    my $k = item($l, $type);
    ok($k, "$type listed") or next;
    is($k->{version}, 1, "$type v1");
    is($k->{state}, 'active', "$type active");
    ok($k->{is_active}, "$type is_active");
    like($k->{kid}, qr/^[0-9a-f]{16}\z/, "$type kid");
    like($k->{created_at}, $time, "$type created_at");
    is($k->{last_rotated}, undef, "$type never rotated");
    is($k->{destroyed_at}, undef, "$type not destroyed");
    is(join(',', sort keys %$k),
       join(',', sort(qw(key_type version kid state is_active algorithm
                         created_at expires_at last_rotated destroyed_at),
                      $type =~ /^(log_sealing|report_signing)\z/
                      ? 'public_key' : ())),
       "$type: metadata only");
}

is(item($l, 'blind_index')->{expires_at}, undef, 'blind_index never expires');
like(item($l, 'data')->{expires_at}, $time, 'data rotates');
is_deeply($l->{periods_s},
          { log_sealing => 30 * 86400, data => 90 * 86400,
            blind_index => undef, report_signing => 365 * 86400,
            webhook_signing => 90 * 86400 }, 'default periods');
is($l->{grace_s}, 7 * 86400, 'default grace');
is($l->{retention_s}, 30 * 86400, 'retention');

is(scalar @{ events('keys.create') }, 5, 'each key made is a change');

my ($sv, $spub) = shared_sealing();
is($sv, 1, 'sealing key v1 published in the shared store');
is($spub, decode_base64(item($l, 'log_sealing')->{public_key}),
   'the public key listed');

my $r = req('GET', $base, $token{auditor});
is($r->{status}, 200, 'auditor may list');
is(req('GET', $base, $token{viewer})->{status}, 403, 'viewer may not');
is(req('GET', "${base}?x=1", $token{admin})->{status}, 400,
   'an unknown parameter');
is(req('DELETE', $base, $token{admin})->{status}, 405, 'DELETE: 405');
is(req('GET', "${base}rotate/", $token{admin})->{status}, 405,
   'GET rotate: 405');
is(req('GET', "${base}nothing/", $token{admin})->{status}, 404,
   'an unknown keys path: 404');


# ---- rotation through the API

my $rot = "${base}rotate/";

for my $role (qw(auditor viewer)) {
    is(req('POST', $rot, $token{$role}, { key_type => 'data' })->{status},
       403, "$role may not rotate");
}

for my $case ([ 'nope', 400, { error => 'invalid body' } ],
              [ {}, 400, { error => 'missing field', field => 'key_type' } ],
              [ { key_type => 'bogus' }, 400,
                { error => 'invalid field', field => 'key_type' } ],
              [ { key_type => 7 }, 400,
                { error => 'invalid field', field => 'key_type' } ],
              [ { key_type => 'data', x => 'y' }, 400,
                { error => 'invalid field', field => 'x' } ],
              [ { key_type => 'blind_index' }, 409,
                { error => 'not rotatable', field => 'key_type' } ],
              [ { key_type => 'jwt_hmac' }, 409,
                { error => 'not rotatable', field => 'key_type' } ])
{
    my $res = req('POST', $rot, $token{admin}, $case->[0]);
    is($res->{status}, $case->[1], 'rotate refused: ' . $res->{content});
    is_json($res, $case->[2], 'with the reason');
}

is(scalar @{ events('keys.rotate') }, 0, 'refused rotations change nothing');

my %before = map { $_ => item($l, $_)->{kid} } @types;

for my $type (qw(report_signing data log_sealing)) {
    $r = req('POST', $rot, $token{admin}, { key_type => $type });
    is($r->{status}, 200, "$type rotated") or diag $r->{content};
    my $d = decode($r);
    is($d->{key_type}, $type, 'the type');
    is($d->{previous}{version}, 1, 'previous v1');
    is($d->{previous}{kid}, $before{$type}, 'the key that was active');
    is($d->{previous}{state},
       $type eq 'report_signing' ? 'verify_only' : 'decrypt_only',
       'retired as its type is');
    like($d->{previous}{last_rotated}, $time, 'with the rotation time');
    like($d->{previous}{expires_at}, $time, 'and an end');
    is($d->{active}{version}, 2, 'v2 active');
    isnt($d->{active}{kid}, $before{$type}, 'a new key');
}

$l = list();
is(scalar @{ $l->{items} }, 8, 'three more keys listed');
is(item($l, 'report_signing')->{version}, 2, 'report_signing v2 active');
is(item($l, 'report_signing', 1)->{state}, 'verify_only', 'v1 verify_only');
is(item($l, 'data', 1)->{state}, 'decrypt_only', 'data v1 decrypt_only');
is(item($l, 'blind_index')->{version}, 1, 'blind_index untouched');

($sv, $spub) = shared_sealing();
is($sv, 2, 'sealing key v2 published');
is($spub, decode_base64(item($l, 'log_sealing')->{public_key}),
   'its public key');

my $ev = events('keys.rotate');
is(scalar @$ev, 3, 'each rotation is a change');
is($ev->[0]{user}, 'admin-1', 'made by the token');
is($ev->[0]{method}, 'POST', 'through the API');
is($ev->[-1]{details}{target}, 'report_signing', 'the first one');
is($ev->[-1]{details}{before}{state}, 'active', 'before: active');
is($ev->[-1]{details}{after}{active}{version}, 2, 'after: v2');

my $al = alerts('keys/rotated');
is(scalar @$al, 3, 'each rotation raises keys/rotated');
is_deeply([ sort map { $_->{key} } @$al ],
          [ qw(data/v2 log_sealing/v2 report_signing/v2) ], 'per key');


# ---- the webhook is signed with the managed webhook_signing key

ok(wait_until(sub { -s "$dir/hook.3" }), 'the rotation alerts delivered');

cli("-c $conf keys webhook-secret --out $dir/wh1");
is($? >> 8, 0, 'webhook secret exported');
is(sprintf('%04o', (stat "$dir/wh1")[2] & 07777), '0600', 'mode 0600');
chomp(my $wh1 = read_file("$dir/wh1"));
like($wh1, qr/^[0-9a-f]{64}\z/, '64 hex digits');

sub delivery {
    my ($n) = @_;
    my ($head, $body) = split /\r\n\r\n/, read_file("$dir/hook.$n"), 2;
    my ($ts) = $head =~ /^X-Keryu-Timestamp: (\d+)\r$/mi;
    my ($sig) = $head =~ /^X-Keryu-Signature: (\S+)\r$/mi;
    return ($ts, $sig, $body);
}

for my $n (1 .. 3) {
    my ($ts, $sig, $body) = delivery($n);
    is($sig, 'sha256=' . hmac_sha256_hex("$ts.$body", $wh1),
       "delivery $n verifies with webhook_signing v1");
}


# ---- a rotation made on the command line reaches the running keryud

$out = cli("-c $conf keys rotate webhook_signing");
is($? >> 8, 0, 'keys rotate on the command line') or diag $out;
like($out, qr/^webhook_signing v2 active, v1 verify_only$/m, 'says so');

ok(wait_until(sub { item(list(), 'webhook_signing')->{version} == 2 }),
   'keryud reloads it');
like(read_file($log), qr/keys changed by another process, reloaded/,
     'and logs it');

$ev = events('keys.rotate');
is($ev->[0]{method}, 'CLI', 'a change from the command line');
like($ev->[0]{user}, qr/^cli:/, 'by its login');

cli("-c $conf keys webhook-secret --out $dir/wh2");
is($? >> 8, 0, 'the new webhook secret exported');
chomp(my $wh2 = read_file("$dir/wh2"));
isnt($wh2, $wh1, 'a new secret');

is(req('POST', '/api/security/alerts/', $token{admin},
       { severity => 'low', key => 'after-rotation', summary => 'signed?' })
       ->{status}, 201, 'an alert raised after the rotation');
ok(wait_until(sub { -s "$dir/hook.4" }), 'and delivered');
{
    my ($ts, $sig, $body) = delivery(4);
    is($sig, 'sha256=' . hmac_sha256_hex("$ts.$body", $wh2),
       'signed with webhook_signing v2');
}


# ---- validation

my $val = "${base}validate/";

for my $role (qw(auditor viewer)) {
    is(req('POST', $val, $token{$role})->{status}, 403,
       "$role may not validate");
}

$r = req('POST', $val, $token{admin});
is($r->{status}, 200, 'validate');
my $v = decode($r);
ok($v->{valid}, 'every key valid');
is($v->{failed}, 0, 'none failed');
is(scalar @{ $v->{results} }, 9, 'nine keys checked');
is(scalar(grep { $_->{result} eq 'ok' } @{ $v->{results} }), 9, 'all ok');
is(scalar @{ alerts('keys/validation_failed') }, 0, 'no alert');


# ---- backup through the API

my $bk = "${base}backup/";

for my $role (qw(auditor viewer)) {
    is(req('POST', $bk, $token{$role}, { passphrase => $passphrase })
           ->{status}, 403, "$role may not take a backup");
}

for my $case ([ {}, { error => 'missing field', field => 'passphrase' } ],
              [ { passphrase => 'short' },
                { error => 'invalid field', field => 'passphrase' } ],
              [ { passphrase => 123456789012345 },
                { error => 'invalid field', field => 'passphrase' } ],
              [ { passphrase => $passphrase, x => 'y' },
                { error => 'invalid field', field => 'x' } ])
{
    my $res = req('POST', $bk, $token{admin}, $case->[0]);
    is($res->{status}, 400, 'backup refused: ' . $res->{content});
    is_json($res, $case->[1], 'with the reason');
}

$r = req('POST', $bk, $token{admin}, { passphrase => $passphrase });
is($r->{status}, 200, 'backup taken');
my $b = decode($r);
is($b->{format}, 'keryu-keys', 'format');
is($b->{version}, 1, 'version');
is($b->{keys}, 9, 'nine keys');
is($b->{encoding}, 'base64', 'base64');

my $blob = decode_base64($b->{backup});
is(length $blob, $b->{bytes}, 'its size');
is(substr($blob, 0, 8), 'KERYUKEY', 'the container');
is(unpack('H*', substr($blob, -32)), $b->{sha256}, 'its checksum');
is(sha256_hex(substr($blob, 0, -32)), $b->{sha256}, 'which holds');

open my $fh, '>:raw', "$dir/keys.bak" or die $!;
print $fh $blob;
close $fh;

$ev = events('keys.backup');
is(scalar @$ev, 1, 'a backup is a change');
is($ev->[0]{details}{after}{sha256}, $b->{sha256}, 'recording its checksum');
ok(!exists $ev->[0]{details}{after}{backup}, 'not the backup itself');


# ---- restored with the command line into a fresh data directory

my $conf2 = "$dir/restore.conf";
write_file($conf2, conf_text(store => "$dir/store2", data => "$dir/data2",
                             port => free_port(),
                             master => "$dir/master-key2"));

$out = cli("-c $conf2 keys restore --in $dir/keys.bak --passphrase-file $dir/pass");
is($? >> 8, 0, 'restored into a fresh store') or diag $out;
like($out, qr/^9 keys restored into store "\Q$dir\E\/data2"$/m, 'nine keys');

$out = cli("-c $conf2 keys validate");
is($? >> 8, 0, 'and they validate under the other master key')
    or diag $out;
is(scalar(() = $out =~ / ok$/mg), 9, 'each of them');

$l = list();
$out = cli("-c $conf2 keys list");
for my $k (@{ $l->{items} }) {
    like($out, qr/^\Q$k->{key_type}\E\s+$k->{version}\s+$k->{kid}\s+$k->{state}\s/m,
         "$k->{key_type} v$k->{version} restored as it was");
}

$out = cli("-c $conf2 keys restore --in $dir/keys.bak --passphrase-file $dir/pass");
isnt($? >> 8, 0, 'a store with keys is refused');
like($out, qr/has 9 keys already; --force replaces them/, 'saying why');

$out = cli("-c $conf2 keys restore --in $dir/keys.bak --passphrase-file $dir/pass --force");
is($? >> 8, 0, 'unless forced') or diag $out;

write_file("$dir/pass2", "not the passphrase at all\n");
$out = cli("-c $conf2 keys restore --in $dir/keys.bak --passphrase-file $dir/pass2 --force");
isnt($? >> 8, 0, 'a wrong passphrase is refused');
like($out, qr/wrong passphrase/, 'saying so');

$out = cli("-c $conf2 keys backup --out $dir/keys2.bak --passphrase-file $dir/pass");
is($? >> 8, 0, 'a backup on the command line') or diag $out;
like($out, qr/^9 keys written to \Q$dir\E\/keys2\.bak, sha256 [0-9a-f]{64}$/m,
     'says what it wrote');
is(sprintf('%04o', (stat "$dir/keys2.bak")[2] & 07777), '0600',
   'mode 0600');

$out = cli("-c $conf2 keys backup --out $dir/keys2.bak --passphrase-file $dir/pass");
isnt($? >> 8, 0, 'an existing file is not overwritten');

$out = cli("-c $conf2 keys bogus");
like($out, qr/^usage:/m, 'an unknown keys command prints the usage');


# ---- a wrong master key stops keryud at startup, and changes nothing

is(stop_keryud($pid), 0, 'keryud stops');

my $dump = `mdb_dump -s enc_keys $dir/data`;
write_file("$dir/master-key", "$master2\n");

($rc, $out) = run_keryud_once($conf);
isnt($rc, 0, 'refused: a wrong master key');
like($out, qr/cannot start: wrong master key: it does not decrypt the key check of store "\Q$dir\E\/data"/,
     'with one clear message');
is(`mdb_dump -s enc_keys $dir/data`, $dump, 'nothing was written');

write_file("$dir/master-key", "$master\n");


# ---- rotation and destruction on the timer

write_file($conf, conf_text(store => "$dir/store", data => "$dir/data",
                            port => $port, master => "$dir/master-key",
                            webhook => 1,
                            extra => "key_period report_signing 2s;\n"
                                     . "key_grace 1s;\n"));
$pid = start_keryud();

ok(wait_until(sub {
    my $x = list();
    my $a = item($x, 'report_signing');
    return $a && $a->{version} >= 4
           && (item($x, 'report_signing', 2) // {})->{state} eq 'destroyed';
}), 'report_signing rotated on the timer, retired keys destroyed');

$l = list();
my $gone = item($l, 'report_signing', 1);
is($gone->{state}, 'destroyed', 'v1 destroyed after its grace');
like($gone->{destroyed_at}, $time, 'when');
ok($gone->{public_key}, 'its public key kept for old signatures');
is(item($l, 'data', 1)->{state}, 'decrypt_only',
   'data v1 waits for retention');

$ev = events('keys.destroy');
ok(scalar @$ev >= 2, 'each destruction is a change');
is($ev->[0]{user}, 'keryud', 'by keryud');
is($ev->[0]{method}, 'TIMER', 'on the timer');
ok(scalar @{ alerts('keys/destroyed') } >= 2, 'and raises keys/destroyed');
ok(scalar(grep { $_->{user} eq 'keryud' } @{ events('keys.rotate') }) >= 2,
   'timer rotations are changes by keryud');

is(stop_keryud($pid), 0, 'keryud stops again');


# ---- no key value, master key or passphrase anywhere

my $logs = join '', map { -e $_ ? read_file($_) : '' }
               $log, "$dir/nokey.log";
my $answers = join "\n", @seen;
my $cli_out = join '', @cli;

for my $secret ([ 'master key', $master ], [ 'other master key', $master2 ],
                [ 'webhook v1', $wh1 ], [ 'webhook v2', $wh2 ],
                [ 'webhook v1 raw', pack('H*', $wh1) ],
                [ 'passphrase', $passphrase ])
{
    ok(index($logs, $secret->[1]) == -1, "$secret->[0] not in the logs");
    ok(index($answers, $secret->[1]) == -1,
       "$secret->[0] not in any answer");
}

unlike($answers, qr/"(?:value|secret|private_key|material)"/,
       'no value field in any answer');
ok(index($cli_out, $wh1) == -1 && index($cli_out, $master) == -1
   && index($cli_out, $passphrase) == -1,
   'nor in what the command line printed');
unlike($logs . $cli_out, qr/AddressSanitizer|LeakSanitizer/,
       'no sanitizer report from keryud or its subcommands');

done_testing();
