# vim:set ft=perl ts=4 sw=4 et:
#
# Copyright (C) Keryu Security
#
# keryud's HTTP API over TLS: with "tls_certificate" and "tls_key" every
# connection is TLS 1.2 or later, a plain HTTP request or a TLS 1.1
# handshake gets no answer, and a configuration with only one of the two
# directives, or a key file that group or others may read, keeps keryud
# from starting with one line that names the file and the reason.  The
# certificate is a self-signed P-256 one made with the openssl command,
# and requests go through curl.
#
# Run from the top of the tree after "make build/keryud":
#
#     prove t/api/tls.t
#     KERYUD=build-asan/keryud prove t/api/tls.t

use strict;
use warnings;

use File::Temp qw(tempdir);
use JSON::PP;
use POSIX qw(WNOHANG);
use Test::More;

use FindBin;
use lib $FindBin::Bin;
use ApiTest qw(free_port write_file read_file wait_until stop_keryud);

my $keryud = $ENV{KERYUD} // 'build/keryud';

plan skip_all => "$keryud not built" unless -x $keryud;

for my $cmd ('openssl version', 'curl --version') {
    plan skip_all => "cannot run \"$cmd\""
        unless system("$cmd > /dev/null 2>&1") == 0;
}

my $dir = tempdir('keryud-tls-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $port = free_port();
my $conf = "$dir/keryud.conf";
my $log = "$dir/keryud.log";
my $cert = "$dir/cert.pem";
my $key = "$dir/key.pem";
my $json = JSON::PP->new;

system("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 "
       . "-nodes -keyout $key -out $cert -days 2 -subj /CN=127.0.0.1 "
       . "-addext subjectAltName=IP:127.0.0.1 > $dir/openssl.log 2>&1") == 0
    or BAIL_OUT('openssl req failed: ' . read_file("$dir/openssl.log"));
chmod 0600, $key or die "chmod $key: $!";

my $common = <<"EOF";
store $dir/store;
data $dir/data;
listen 127.0.0.1:$port;
poll_interval 10ms;
sync_interval 100ms;
data_size 16m;
EOF

write_file($conf, "# tls.t\n$common"
                  . "tls_certificate $cert;\ntls_key $key;\n");

is(`$keryud -n -c $conf`, "configuration OK\n", 'config with TLS checks');

chomp(my $admin = `$keryud -c $conf token create --role admin --name admin`);
is($? >> 8, 0, 'token create admin');
like($admin, qr/^kry_[A-Za-z0-9_-]{43}\z/, 'admin token made');

my $base = "https://127.0.0.1:$port";
my $status = '/api/security/status/';
my @auth = ('-H', "Authorization: Bearer $admin");

my $pid = start_keryud();


# requests over TLS

my $r = curl('-k', '--tlsv1.2', @auth, "$base$status");
is($r->{rc}, 0, 'https with TLS 1.2 or later: curl succeeds');
is($r->{code}, 200, 'https: 200');
is($r->{type}, 'application/json', 'https: JSON');
my $doc = eval { $json->decode($r->{body}) } // {};
ok(exists $doc->{keryud} && exists $doc->{store},
   'https: status document') or diag($r->{body});

$r = curl('--cacert', $cert, @auth, "$base$status");
is($r->{code}, 200, 'certificate verifies against itself as CA')
    or diag($r->{err});

$r = curl('-k', '--tlsv1.2', '--tls-max', '1.2', @auth, "$base$status");
is($r->{code}, 200, 'exactly TLS 1.2: 200') or diag($r->{err});

$r = curl('-k', "$base$status");
is($r->{code}, 401, 'https without a token: 401');


# what TLS refuses

$r = curl(@auth, "http://127.0.0.1:$port$status");
isnt($r->{code}, 200, 'plain HTTP to the TLS port: no 200');
isnt($r->{rc}, 0, 'plain HTTP to the TLS port: curl fails');
unlike($r->{body}, qr/"keryud"/, 'plain HTTP: no status document');

# SECLEVEL=0 lets the client offer TLS 1.1, so the refusal is keryud's

$r = curl('-k', '--tlsv1.1', '--tls-max', '1.1',
          '--ciphers', 'DEFAULT:@SECLEVEL=0', @auth, "$base$status");
is($r->{rc}, 35, 'TLS 1.1: handshake fails');
like($r->{err}, qr/alert protocol version/,
     'TLS 1.1: keryud answers with a protocol_version alert');

# CBC suites are left out of TLS 1.2; the AEAD ones are there

$r = curl('-k', '--tlsv1.2', '--tls-max', '1.2',
          '--ciphers', 'ECDHE-ECDSA-AES128-SHA256:ECDHE-ECDSA-AES256-SHA',
          @auth, "$base$status");
is($r->{rc}, 35, 'TLS 1.2 with CBC suites only: handshake fails');
like($r->{err}, qr/handshake failure/,
     'TLS 1.2 with CBC suites only: keryud answers handshake_failure');

$r = curl('-k', '--tlsv1.2', '--tls-max', '1.2',
          '--ciphers', 'ECDHE-ECDSA-CHACHA20-POLY1305', @auth,
          "$base$status");
is($r->{code}, 200, 'TLS 1.2 with ChaCha20-Poly1305: 200')
    or diag($r->{err});

$r = curl('-k', @auth, "$base$status");
is($r->{code}, 200, 'keryud still answers after refused handshakes');

is(stop_keryud($pid), 0, 'keryud stops cleanly');

my $text = read_file($log);
like($text, qr/listening on 127\.0\.0\.1 port $port, tls$/m,
     'log says the API is TLS');
unlike($text, qr/kry_/, 'log holds no token');
unlike($text, qr/AddressSanitizer|LeakSanitizer|runtime error/,
       'no sanitizer reports') or diag($text);


# configurations that must not start

write_file("$dir/cert-only.conf", "# cert only\n$common"
                                  . "tls_certificate $cert;\n");
my $out = `$keryud -n -c $dir/cert-only.conf 2>&1`;
is($? >> 8, 1, 'tls_certificate alone: config check fails');
is($out, "keryud: $dir/cert-only.conf:8: no \"tls_key\" directive for "
         . "\"tls_certificate\"\n", 'tls_certificate alone: message');

$out = `$keryud -d -c $dir/cert-only.conf 2>&1`;
is($? >> 8, 1, 'tls_certificate alone: keryud does not start');

write_file("$dir/key-only.conf", "# key only\n${common}tls_key $key;\n");
$out = `$keryud -n -c $dir/key-only.conf 2>&1`;
is($? >> 8, 1, 'tls_key alone: config check fails');
is($out, "keryud: $dir/key-only.conf:8: no \"tls_certificate\" directive "
         . "for \"tls_key\"\n", 'tls_key alone: message');

my $open = "$dir/key-0644.pem";
write_file($open, read_file($key));
chmod 0644, $open or die "chmod $open: $!";
$out = refused($cert, $open, 'key with mode 0644');
is($out, "keryud: cannot load tls_key \"$open\": mode 0644 gives group or "
         . "others access, expecting 0600 or 0400\n",
   'key with mode 0644: message');

chmod 0640, $open or die "chmod $open: $!";
$out = refused($cert, $open, 'key with mode 0640');
like($out, qr/mode 0640 gives group or others access/,
     'key with mode 0640: message');

$out = refused("$dir/missing.pem", $key, 'missing certificate');
like($out, qr/^keryud: cannot load tls_certificate "\Q$dir\E\/missing\.pem": /,
     'missing certificate: message names the file');
like($out, qr/\(SSL: [^)]*No such file or directory\)/,
     'missing certificate: message gives the reason');

$out = refused($cert, "$dir/missing.pem", 'missing key');
is($out, "keryud: cannot load tls_key \"$dir/missing.pem\": "
         . "No such file or directory\n", 'missing key: message');

my $other = "$dir/other.pem";
system("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 "
       . "-out $other > $dir/openssl.log 2>&1") == 0
    or BAIL_OUT('openssl genpkey failed: ' . read_file("$dir/openssl.log"));
chmod 0600, $other or die "chmod $other: $!";
$out = refused($cert, $other, 'key of another certificate');
like($out, qr/^keryud: cannot load tls_key "\Q$other\E": /,
     'key of another certificate: message names the file');
like($out, qr/\(SSL: [^)]*key values mismatch\)/,
     'key of another certificate: message gives the reason');

$out = refused($key, $key, 'key as certificate');
like($out, qr/^keryud: cannot load tls_certificate "\Q$key\E": /,
     'key as certificate: message names the file');
like($out, qr/\(SSL: [^)]*no start line\)/,
     'key as certificate: message gives the reason');

done_testing();


# runs curl; returns its exit code, the status, the content type, the body
# and what it wrote to stderr
sub curl {
    my @args = @_;
    my $p = fork // die "fork: $!";
    if ($p == 0) {
        open STDOUT, '>', "$dir/curl.out" or die;
        open STDERR, '>', "$dir/curl.err" or die;
        exec 'curl', '-sS', '--max-time', '10', '-o', "$dir/curl.body",
             '-w', '%{http_code} %{content_type}', @args;
        exit 127;
    }
    waitpid($p, 0);
    my $rc = $? >> 8;
    my ($code, $type) = split / /, read_file("$dir/curl.out"), 2;
    my $body = -e "$dir/curl.body" ? read_file("$dir/curl.body") : '';
    unlink "$dir/curl.body";
    return { rc => $rc, code => $code, type => $type // '', body => $body,
             err => read_file("$dir/curl.err") };
}


# starts keryud with the certificate and key given; it must exit 1 at once,
# saying why in one line that mentions TLS, which is returned
sub refused {
    my ($c, $k, $name) = @_;
    write_file("$dir/refused.conf", "# refused\n$common"
                                    . "tls_certificate $c;\ntls_key $k;\n");
    my $out = `timeout 30 $keryud -d -c $dir/refused.conf 2>&1`;
    is($? >> 8, 1, "$name: keryud refuses to start");
    unlike($out, qr/AddressSanitizer|LeakSanitizer|runtime error/,
           "$name: no sanitizer reports");
    unlike($out, qr/listening on/, "$name: nothing listens");
    my @lines = grep { /tls/ } split /^/, $out;
    is(scalar @lines, 1, "$name: one line about TLS") or diag($out);
    return $lines[0] // '';
}


sub start_keryud {
    my $p = fork // die "fork: $!";
    if ($p == 0) {
        open STDOUT, '>>', $log or die;
        open STDERR, '>>&', \*STDOUT or die;
        exec $keryud, '-d', '-c', $conf;
        exit 127;
    }
    wait_until(sub {
        die "keryud exited: " . read_file($log)
            if waitpid($p, WNOHANG) == $p;
        return curl('-k', @auth, "$base$status")->{code} == 200;
    }, 'keryud answers');
    return $p;
}
