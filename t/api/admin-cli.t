# vim:set ft=perl ts=4 sw=4 et:
#
# Copyright (C) Keryu Security
#
# keryud's administration commands (key, block, apikey) against a
# temporary shared store.  Every command's output and exit status is
# checked, and the store is read back with mdb_dump, independently of
# keryud's code, to check what each value holds, that each change raised
# its version counter once, and that a failed command wrote nothing.
#
# Run from the top of the tree after "make build/keryud":
#
#     prove t/api/admin-cli.t
#     KERYUD=build-asan/keryud prove t/api/admin-cli.t

use strict;
use warnings;

use Digest::SHA qw(sha256);
use File::Temp qw(tempdir);
use JSON::PP;
use MIME::Base64 qw(decode_base64);
use Test::More;

my $keryud = $ENV{KERYUD} // 'build/keryud';

plan skip_all => "$keryud not built" unless -x $keryud;
plan skip_all => 'mdb_dump not found (lmdb-utils)'
    unless grep { -x "$_/mdb_dump" } split /:/, $ENV{PATH};

my $dir = tempdir('keryud-admin-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $store = "$dir/store";
my $conf = "$dir/keryud.conf";
my $json = JSON::PP->new->canonical;

write_file($conf, "# admin-cli.t\nstore $store;\ndata $dir/data;\n");

my $t0 = time;


# public keys for the tests, made once with openssl genpkey

my $rsa2048 = <<'EOF';
-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA3uBsEKy0uCXnYgK8Zmcc
y3Drzpql6d13jdOv90UTuUCSdeLi350bI5Y2EjghL5LmyO4/bW4DBhHW9C/kOp+J
hGEF6BMH9dHcXWo6bBKRnHkamFPcc2yMqaJNJmSwhgFrQTllvvxNQT5sj0HHU9kv
dYHjAPGh77gwqZtObaylYa9Ac2MSyusObx4F0D9piw3zmtXq/DLOVeBC19Egn2Iz
zNPdogoIT4fw+grSyRzTcAFGA+Z1BnNXay2uYQ9cZ9EZ3818Iwsjc6I/xLIvIN8f
lJ9pmTmy23ifxsWOOhPHnv0DCuYKAJ/qjvDLv8VORjvTrJxptmQzdsR77255EQEf
oQIDAQAB
-----END PUBLIC KEY-----
EOF

my $p256 = <<'EOF';
-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEskSv1RwTARg/GlJmdCglL6/V79LY
uuzcNUdNBp/F7vOj8RDLJLfZCA6+yv8f46NlsnVCVGXBKRQ3TR7FbT4jrg==
-----END PUBLIC KEY-----
EOF

my $rsa1024 = <<'EOF';
-----BEGIN PUBLIC KEY-----
MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQC3TNm3o9FwNoUTOvVhBL9/WXCZ
AsEdeqbtBOTjfeaGwhMK0s2IaDbxGvrxmZo1tBKK5UjIIXx9Ituy8F64SS46byAJ
0tFsikcazEE+LaWVHKb+KJwzRGU3xfcuR+W8kBO8xRaQclHFqrFPzRs3PNNdr7j2
n9u+DRe2Bd6/fhLuMwIDAQAB
-----END PUBLIC KEY-----
EOF

my $p384 = <<'EOF';
-----BEGIN PUBLIC KEY-----
MHYwEAYHKoZIzj0CAQYFK4EEACIDYgAEOC2yqWgG+37HdhdHu+2klW2UAr6Fb/vs
0hFjdVRS7TcYS1rIgpnCXcHKMbUtkJ85UTtOdW9GYked55FjBlSvY7svt8L2O+th
G+dPmz7J13XBDRjBoIPAUKZqGZ9Jbpg5
-----END PUBLIC KEY-----
EOF


# usage

my ($rc, $out, $err) = keryud('key');
is($rc, 1, 'key alone exits 1');
like($err, qr/^usage:/m, 'key alone prints usage');

for my $args (['block', 'frob'], ['apikey', 'create', '--name', 'x'],
              ['key', 'add', '--kid', 'k'], ['block', 'add'],
              ['block', 'add', '--ip', '10.0.0.1', '--user', 'bob'],
              ['block', 'delete', '--ip', '10.0.0.1', '--ttl', '1h'],
              ['key', 'list', 'extra'], ['apikey', 'revoke'])
{
    ($rc, $out, $err) = keryud(@$args);
    is($rc, 1, "@$args: exits 1");
    like($err, qr/^usage:/m, "@$args: prints usage");
}


# keys: HS256

my $secret = join('', map { chr } 0 .. 39);
write_file("$dir/hs.key", "$secret\n", 0600);

($rc, $out, $err) = keryud(qw(key add --kid hs1 --alg HS256 --secret-file),
                           "$dir/hs.key");
is($rc, 0, 'HS256 key added');
is($out, "key hs1 added, HS256\n", 'HS256 add prints kid and alg');
is($err, '', 'a 0600 secret file draws no warning');

my $keys = dump_db('keys');
my $doc = decode_json($keys->{hs1});
is_deeply([sort keys %$doc], [qw(alg created_at kid secret)],
          'HS256 value has kid, alg, secret, created_at');
is($doc->{kid}, 'hs1', 'stored kid');
is($doc->{alg}, 'HS256', 'stored alg');
like($doc->{secret}, qr/^[A-Za-z0-9_-]+\z/, 'secret is unpadded base64url');
is(b64url_decode($doc->{secret}), $secret,
   'secret is the file without its trailing newline');
ok($doc->{created_at} >= $t0 && $doc->{created_at} <= time + 1,
   'created_at is now, in seconds');
is(meta('config_version'), 1, 'config_version rose to 1');

write_file("$dir/hs2.key", ('k' x 32) . "\n\n", 0644);
($rc, $out, $err) = keryud(qw(key add --kid hs2 --alg HS256 --secret-file),
                           "$dir/hs2.key");
is($rc, 0, 'HS256 key from a 0644 file added');
like($err, qr/^keryud: warning: secret file ".*hs2\.key" is open to group or others \(mode 0644\)$/m,
     'a 0644 secret file draws a warning');
is(b64url_decode(decode_json(dump_db('keys')->{hs2})->{secret}),
   ('k' x 32) . "\n", 'only one trailing newline is stripped');
is(meta('config_version'), 2, 'config_version rose to 2');

write_file("$dir/short.key", ('s' x 31) . "\n", 0600);
fails_unchanged([qw(key add --kid hs3 --alg HS256 --secret-file),
                 "$dir/short.key"],
                qr/^keryud: secret in ".*short\.key" is 31 bytes, HS256 needs at least 32$/,
                'a 31-byte secret');

fails_unchanged([qw(key add --kid hs1 --alg HS256 --secret-file),
                 "$dir/hs.key"],
                qr/^keryud: key "hs1" exists already$/, 'a kid in use');

fails_unchanged([qw(key add --kid hs4 --alg HS256 --secret-file),
                 "$dir/missing"],
                qr/^keryud: open ".*missing": No such file/,
                'a missing secret file');

fails_unchanged([qw(key add --kid), 'a b', qw(--alg HS256 --secret-file),
                 "$dir/hs.key"],
                qr/^keryud: invalid kid "a b"/, 'a kid with a space');

($rc, $out, $err) = keryud(qw(key add --kid x --alg HS512 --secret-file),
                           "$dir/hs.key");
is($rc, 1, 'unknown alg exits 1');
like($err, qr/^keryud: invalid alg "HS512".*\nusage:/s,
     'unknown alg names it and prints usage');

($rc, $out, $err) = keryud(qw(key add --kid x --alg HS256 --pem-file),
                           "$dir/hs.key");
like($err, qr/^usage:/m, 'HS256 with a PEM file prints usage');


# keys: RS256 and ES256

write_file("$dir/rsa.pem", $rsa2048);
write_file("$dir/p256.pem", $p256);
write_file("$dir/rsa1024.pem", $rsa1024);
write_file("$dir/p384.pem", $p384);
write_file("$dir/junk.pem", "not a key\n");

($rc, $out, $err) = keryud(qw(key add --kid rs1 --alg RS256 --pem-file),
                           "$dir/rsa.pem");
is($rc, 0, 'RS256 key added');
is($out, "key rs1 added, RS256\n", 'RS256 add output');

($rc, $out, $err) = keryud(qw(key add --kid es1 --alg ES256 --pem-file),
                           "$dir/p256.pem");
is($rc, 0, 'ES256 key added');

$keys = dump_db('keys');
$doc = decode_json($keys->{rs1});
is_deeply([sort keys %$doc], [qw(alg created_at kid pem)],
          'RS256 value has kid, alg, pem, created_at');
is($doc->{pem}, $rsa2048, 'RS256 pem stored as the public key PEM');
$doc = decode_json($keys->{es1});
is($doc->{alg}, 'ES256', 'ES256 alg stored');
is($doc->{pem}, $p256, 'ES256 pem stored');
is(meta('config_version'), 4, 'config_version rose with each key');

fails_unchanged([qw(key add --kid es2 --alg ES256 --pem-file),
                 "$dir/rsa.pem"],
                qr/^keryud: ".*rsa\.pem" holds no EC P-256 key/,
                'ES256 with an RSA key');
fails_unchanged([qw(key add --kid es3 --alg ES256 --pem-file),
                 "$dir/p384.pem"],
                qr/^keryud: ".*p384\.pem" holds no EC P-256 key/,
                'ES256 with a P-384 key');
fails_unchanged([qw(key add --kid rs2 --alg RS256 --pem-file),
                 "$dir/p256.pem"],
                qr/^keryud: ".*p256\.pem" holds no RSA key, which RS256 needs$/,
                'RS256 with an EC key');
fails_unchanged([qw(key add --kid rs3 --alg RS256 --pem-file),
                 "$dir/rsa1024.pem"],
                qr/^keryud: ".*rsa1024\.pem" holds a 1024-bit RSA key, RS256 needs at least 2048$/,
                'RS256 with a 1024-bit key');
fails_unchanged([qw(key add --kid rs4 --alg RS256 --pem-file),
                 "$dir/junk.pem"],
                qr/^keryud: no public key in ".*junk\.pem": PEM_read_bio_PUBKEY\(\) failed/,
                'a file that is no PEM');


# keys: list and delete

($rc, $out, $err) = keryud(qw(key list));
is($rc, 0, 'key list');
like($out, qr/^KID\s+ALG\s+CREATED\n/, 'key list header');
like($out, qr/^hs1\s+HS256\s+\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/m,
     'key list shows kid, alg and creation time');
like($out, qr/^rs1\s+RS256\s/m, 'key list shows RS256');
like($out, qr/^es1\s+ES256\s/m, 'key list shows ES256');
is(scalar(() = $out =~ /\n/g), 5, 'key list: header and four keys');
my $stored = decode_json(dump_db('keys')->{hs1})->{secret};
unlike($out, qr/\Q$stored\E|BEGIN/, 'key list shows no secret or PEM');

($rc, $out, $err) = keryud(qw(key delete hs2));
is($rc, 0, 'key delete');
is($out, "key hs2 deleted\n", 'key delete output');
ok(!exists dump_db('keys')->{hs2}, 'deleted key is gone');
is(meta('config_version'), 5, 'key delete raised config_version');

fails_unchanged([qw(key delete hs2)], qr/^keryud: no key "hs2"$/,
                'deleting a missing key');


# blocks: add

my $bv = meta('block_version');
is($bv, 0, 'no block change yet');

($rc, $out, $err) = keryud(qw(block add --ip 192.0.2.7));
is($rc, 0, 'block an IPv4 host');
is($out, "block ip 192.0.2.7/32 added, expires never\n",
   'host block normalised to /32');

my $blocks = dump_db('blocks');
my $k = addr_key(4, '192.0.2.7', 32);
ok(exists $blocks->{$k}, 'IPv4 host key: a, 128, ::ffff:192.0.2.7');
my ($exp, $created, $reason) = block_value($blocks->{$k});
is($exp, 0, 'no ttl: expiry 0');
ok($created >= $t0 * 1e6 && $created <= (time + 1) * 1e6,
   'created is now, in microseconds');
is($reason, 'manual', 'default reason');
is(meta('block_version'), ++$bv, 'block_version rose');

($rc, $out, $err) = keryud(qw(block add --ip 198.51.100.77/24 --ttl 15m
                              --reason), 'brute force');
is($rc, 0, 'block an IPv4 /24 with host bits');
is($out, "block ip 198.51.100.0/24 added, expires "
         . rfc3339((block_value(dump_db('blocks')
                                ->{addr_key(4, '198.51.100.0', 24)}))[0]
                   / 1e6) . "\n",
   'masked form printed with the expiry');
like($err, qr/^keryud: 198\.51\.100\.77\/24 has host bits set, using 198\.51\.100\.0\/24$/,
     'host bits noted');
($exp, $created, $reason) =
    block_value(dump_db('blocks')->{addr_key(4, '198.51.100.0', 24)});
is($exp - $created, 900 * 1e6, '15m ttl: expiry 900 s after creation');
is($reason, 'brute force', 'reason stored');
is(meta('block_version'), ++$bv, 'block_version rose');

($rc, $out, $err) = keryud(qw(block add --ip 2001:db8:1:2:3::9/64 --ttl 1h));
is($out, "block ip 2001:db8:1:2::/64 added, expires "
         . rfc3339((block_value(dump_db('blocks')
                                ->{addr_key(6, '2001:db8:1:2::', 64)}))[0]
                   / 1e6) . "\n", 'IPv6 /64 masked');
($exp, $created) =
    block_value(dump_db('blocks')->{addr_key(6, '2001:db8:1:2::', 64)});
is($exp - $created, 3600 * 1e6, '1h ttl');

($rc, $out, $err) = keryud(qw(block add --ip 2001:db8::1));
is($out, "block ip 2001:db8::1/128 added, expires never\n", 'IPv6 host');
ok(exists dump_db('blocks')->{addr_key(6, '2001:db8::1', 128)},
   'IPv6 host key: a, 128, the address');

($rc, $out, $err) = keryud(qw(block add --ip ::ffff:203.0.113.5));
is($out, "block ip 203.0.113.5/32 added, expires never\n",
   'an IPv4-mapped address is the IPv4 host');

($rc, $out, $err) = keryud(qw(block add --ip 0.0.0.0/0 --ttl 30s));
like($out, qr/^block ip 0\.0\.0\.0\/0 added, expires \S+Z\n\z/,
     'IPv4 /0 accepted');
ok(exists dump_db('blocks')->{addr_key(4, '0.0.0.0', 0)},
   'IPv4 /0 key has prefix 96');

($rc, $out, $err) = keryud(qw(block add --user alice --ttl 2d --reason),
                           'r' x 256);
is($rc, 0, 'block a user with a 256-byte reason');
($exp, $created, $reason) = block_value(dump_db('blocks')->{'ualice'});
is($exp - $created, 2 * 86400 * 1e6, '2d ttl');
is($reason, 'r' x 256, '256-byte reason stored whole');

($rc, $out, $err) = keryud(qw(block add --user Alice));
is($out, "block user Alice added, expires never\n", 'user names keep case');
ok(exists dump_db('blocks')->{'uAlice'}, 'user key: u and the name');

($rc, $out, $err) = keryud(qw(block add --user alice --reason again));
is($out, "block user alice replaced, expires never\n",
   'adding an existing block replaces it');
($exp, undef, $reason) = block_value(dump_db('blocks')->{'ualice'});
is($exp, 0, 'replaced block has the new expiry');
is($reason, 'again', 'replaced block has the new reason');

$bv += 7;
is(meta('block_version'), $bv, 'block_version rose once per change');

fails_unchanged([qw(block add --ip 300.1.1.1)],
                qr/^keryud: invalid address "300\.1\.1\.1"/, 'a bad address');
fails_unchanged([qw(block add --ip 10.0.0.0/33)],
                qr/^keryud: invalid address "10\.0\.0\.0\/33"/,
                'an IPv4 prefix over 32');
fails_unchanged([qw(block add --ip 2001:db8::/129)],
                qr/^keryud: invalid address/, 'an IPv6 prefix over 128');
fails_unchanged([qw(block add --ip 10.0.0.0/08)],
                qr/^keryud: invalid address/, 'a prefix with a leading zero');
fails_unchanged([qw(block add --ip 10.0.0.0/)],
                qr/^keryud: invalid address/, 'an empty prefix');
fails_unchanged([qw(block add --ip fe80::1%eth0)],
                qr/^keryud: invalid address/, 'an address with a zone');
fails_unchanged([qw(block add --ip 10.0.0.1 --ttl 0)],
                qr/^keryud: invalid duration "0"/, 'a zero ttl');
fails_unchanged([qw(block add --ip 10.0.0.1 --ttl 5y)],
                qr/^keryud: invalid duration "5y"/, 'a ttl in years');
fails_unchanged([qw(block add --ip 10.0.0.1 --ttl 3651d)],
                qr/^keryud: invalid duration "3651d"/, 'a ttl over 10 years');
fails_unchanged([qw(block add --ip 10.0.0.1 --ttl -1s)],
                qr/^keryud: invalid duration "-1s"/, 'a negative ttl');
fails_unchanged([qw(block add --ip 10.0.0.1 --reason), 'r' x 257],
                qr/^keryud: reason must be 1 to 256 bytes$/,
                'a 257-byte reason');
fails_unchanged([qw(block add --ip 10.0.0.1 --reason), "a\nb"],
                qr/^keryud: reason must not hold control characters$/,
                'a reason with a newline');
fails_unchanged([qw(block add --ip 10.0.0.1 --reason), "bad\xff"],
                qr/^keryud: reason must be UTF-8$/,
                'a reason that is not UTF-8');
fails_unchanged([qw(block add --user), 'u' x 257],
                qr/^keryud: user name must be 1 to 256 bytes$/,
                'a 257-byte user name');


# blocks: list and delete

($rc, $out, $err) = keryud(qw(block list));
is($rc, 0, 'block list');
like($out, qr/^TYPE\s+BLOCK\s+EXPIRES\s+REASON\n/, 'block list header');
like($out, qr/^ip\s+192\.0\.2\.7\/32\s+never\s+manual$/m,
     'block list: IPv4 host, never');
like($out, qr/^ip\s+198\.51\.100\.0\/24\s+\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\s+brute force$/m,
     'block list: prefix, RFC 3339 expiry, reason');
like($out, qr/^ip\s+2001:db8:1:2::\/64\s+\S+Z\s+manual$/m,
     'block list: IPv6 prefix');
like($out, qr/^ip\s+0\.0\.0\.0\/0\s/m, 'block list: IPv4 /0');
like($out, qr/^user\s+alice\s+never\s+again$/m, 'block list: user');
like($out, qr/^user\s+Alice\s/m, 'block list: user in its case');
is(scalar(() = $out =~ /\n/g), 9, 'block list: header and 8 blocks');

($rc, $out, $err) = keryud(qw(block delete --ip 198.51.100.200/24));
is($rc, 0, 'block delete by a non-normalised prefix');
is($out, "block ip 198.51.100.0/24 deleted\n", 'delete prints masked form');
ok(!exists dump_db('blocks')->{addr_key(4, '198.51.100.0', 24)},
   'deleted block is gone');
is(meta('block_version'), ++$bv, 'block delete raised block_version');

($rc, $out, $err) = keryud(qw(block delete --user Alice));
is($out, "block user Alice deleted\n", 'user block deleted');
is(meta('block_version'), ++$bv, 'block_version rose');
ok(exists dump_db('blocks')->{'ualice'}, 'the other case stays');

fails_unchanged([qw(block delete --user Alice)],
                qr/^keryud: no block of user Alice$/,
                'deleting a missing user block');
fails_unchanged([qw(block delete --ip 192.0.2.8)],
                qr/^keryud: no block of ip 192\.0\.2\.8\/32$/,
                'deleting a missing address block');


# API keys

my $cv = meta('config_version');

($rc, $out, $err) = keryud(qw(apikey create --name ci-deploy --role deploy
                              --role read));
is($rc, 0, 'apikey create');
like($out, qr/^kak_[A-Za-z0-9_-]{43}\n\z/, 'prints kak_ and 43 characters');
is($err, '', 'apikey create prints nothing on stderr');
chomp(my $apikey = $out);

my $apikeys = dump_db('apikeys');
is(scalar(keys %$apikeys), 1, 'one apikey stored');
ok(exists $apikeys->{sha256($apikey)}, 'stored under SHA-256 of the key');
$doc = decode_json($apikeys->{sha256($apikey)});
is_deeply([sort keys %$doc], [qw(created_at expires_at name roles)],
          'apikey value fields');
is($doc->{name}, 'ci-deploy', 'apikey name');
is_deeply($doc->{roles}, [qw(deploy read)], 'apikey roles in order');
is($doc->{expires_at}, undef, 'no ttl: expires_at null');
ok($doc->{created_at} >= $t0 && $doc->{created_at} <= time + 1,
   'apikey created_at in seconds');
unlike(join('', %$apikeys), qr/\Q$apikey\E/, 'the key itself is not stored');
is(meta('config_version'), ++$cv, 'apikey create raised config_version');

($rc, $out, $err) = keryud(qw(apikey create --name temp --role read
                              --ttl 1h));
is($rc, 0, 'apikey create with ttl');
chomp(my $temp = $out);
isnt($temp, $apikey, 'each key is new');
$doc = decode_json(dump_db('apikeys')->{sha256($temp)});
is($doc->{expires_at} - $doc->{created_at}, 3600, 'expires_at 1h later');
is(meta('config_version'), ++$cv, 'config_version rose');

fails_unchanged([qw(apikey create --name temp --role x)],
                qr/^keryud: apikey "temp" exists already$/, 'a name in use');
fails_unchanged([qw(apikey create --name), 'a b', qw(--role x)],
                qr/^keryud: invalid apikey name "a b"/, 'a bad name');
fails_unchanged([qw(apikey create --name n --role), 'r/w'],
                qr/^keryud: invalid role "r\/w"/, 'a bad role');
fails_unchanged([qw(apikey create --name n --role a --role a)],
                qr/^keryud: role "a" given twice$/, 'a role twice');
fails_unchanged([qw(apikey create --name n --role a --ttl 1w)],
                qr/^keryud: invalid duration "1w"/, 'a bad ttl');

($rc, $out, $err) = keryud(qw(apikey create --name n));
like($err, qr/^usage:/m, 'apikey create without a role prints usage');

($rc, $out, $err) = keryud(qw(apikey list));
is($rc, 0, 'apikey list');
like($out, qr/^NAME\s+ROLES\s+EXPIRES\s+CREATED\s+HASH\n/, 'list header');
my $h = unpack('H8', sha256($apikey));
like($out, qr/^ci-deploy\s+deploy,read\s+never\s+\S+Z\s+$h$/m,
     'list shows name, roles, never, created and hash prefix');
like($out, qr/^temp\s+read\s+\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\s+\S+Z\s+[0-9a-f]{8}$/m,
     'list shows the expiry');
unlike($out, qr/kak_/, 'list never shows a key');

($rc, $out, $err) = keryud(qw(apikey revoke temp));
is($rc, 0, 'apikey revoke');
is($out, "apikey temp revoked\n", 'revoke output');
ok(!exists dump_db('apikeys')->{sha256($temp)}, 'revoked key is gone');
ok(exists dump_db('apikeys')->{sha256($apikey)}, 'the other stays');
is(meta('config_version'), ++$cv, 'revoke raised config_version');

fails_unchanged([qw(apikey revoke temp)], qr/^keryud: no apikey "temp"$/,
                'revoking a missing apikey');

is(meta('block_version'), $bv, 'apikeys left block_version alone');


# a store that cannot be opened

write_file("$dir/bad.conf", "store $dir/hs.key/x;\ndata $dir/data;\n");
($rc, $out, $err) = run($keryud, '-c', "$dir/bad.conf", qw(block list));
is($rc, 1, 'unusable store exits 1');
like($err, qr/^keryud: cannot open shared store ".*": /,
     'unusable store names the path');

done_testing();


# runs keryud with the test's configuration: exit status, stdout, stderr

sub keryud {
    return run($keryud, '-c', $conf, @_);
}


sub run {
    my @cmd = @_;

    my $pid = fork // die "fork: $!";

    if ($pid == 0) {
        open(STDOUT, '>', "$dir/stdout") or die "stdout: $!";
        open(STDERR, '>', "$dir/stderr") or die "stderr: $!";
        exec(@cmd) or die "exec $cmd[0]: $!";
    }

    waitpid($pid, 0);

    return ($? >> 8, read_file("$dir/stdout"), read_file("$dir/stderr"));
}


# a failing command: exit 1, the message, and not a byte changed

sub fails_unchanged {
    my ($args, $re, $name) = @_;

    my %before = map { $_ => dump_db($_) } qw(meta keys blocks apikeys);

    my ($status, $stdout, $stderr) = keryud(@$args);

    is($status, 1, "$name: exits 1");
    like($stderr, $re, "$name: message");
    is($stdout, '', "$name: nothing on stdout");

    for my $db (qw(meta keys blocks apikeys)) {
        is_deeply(dump_db($db), $before{$db}, "$name: $db unchanged");
    }
}


# one database as a hash of raw key => raw value, from mdb_dump's hex form

sub dump_db {
    my ($db) = @_;

    my $text = `mdb_dump -s $db $store 2>&1`;
    die "mdb_dump -s $db failed: $text" if $?;

    my ($body) = $text =~ /^HEADER=END\n(.*?)^DATA=END$/ms
        or die "mdb_dump -s $db: unexpected output: $text";

    my @lines = map { s/^ //r } split /\n/, $body;
    my %h;

    while (@lines) {
        my $key = pack('H*', shift @lines);
        $h{$key} = pack('H*', shift @lines);
    }

    return \%h;
}


sub meta {
    my ($name) = @_;

    my $v = dump_db('meta')->{$name};

    return 0 unless defined $v;
    die "meta $name is not 8 bytes" unless length($v) == 8;

    return unpack('Q<', $v);
}


# the blocks key of an address: 'a', prefix, 16 bytes, IPv4 as mapped

sub addr_key {
    my ($family, $text, $prefix) = @_;

    my $bytes;

    if ($family == 4) {
        $bytes = ("\0" x 10) . "\xff\xff" . pack('C4', split /\./, $text);
        $prefix += 96;

    } else {
        $bytes = ipv6_bytes($text);
    }

    return 'a' . chr($prefix) . $bytes;
}


sub ipv6_bytes {
    my ($text) = @_;

    my ($head, $tail) = split /::/, $text, 2;
    my @h = length($head // '') ? split(/:/, $head) : ();
    my @t = length($tail // '') ? split(/:/, $tail) : ();
    my @groups = (@h, (('0') x (8 - @h - @t)), @t);

    return pack('n8', map { hex } @groups);
}


# expiry and creation in microseconds, then the reason

sub block_value {
    my ($v) = @_;

    die 'block value too short' unless defined $v && length($v) >= 16;

    return unpack('Q< Q< a*', $v);
}


sub b64url_decode {
    my ($s) = @_;

    $s =~ tr{-_}{+/};
    $s .= '=' x ((4 - length($s) % 4) % 4);

    return decode_base64($s);
}


sub rfc3339 {
    my ($sec) = @_;

    my @t = gmtime(int $sec);

    return sprintf('%04d-%02d-%02dT%02d:%02d:%02dZ', $t[5] + 1900, $t[4] + 1,
                   @t[3, 2, 1, 0]);
}


sub write_file {
    my ($path, $data, $mode) = @_;

    open(my $fh, '>', $path) or die "$path: $!";
    binmode($fh);
    print $fh $data;
    close($fh);

    chmod($mode // 0600, $path);
}


sub read_file {
    my ($path) = @_;

    open(my $fh, '<', $path) or die "$path: $!";
    binmode($fh);
    local $/;
    my $data = <$fh>;
    close($fh);

    return $data;
}
