# vim:set ft=perl ts=4 sw=4 et:
#
# Copyright (C) Keryu Security
#
# Reports seen from outside, against a real keryud with key management:
# every report type (compliance, audit, metrics, risk) in every format
# (JSON, CSV, HTML) made through POST /api/security/reports/, listed,
# shown and downloaded; each signature checked with openssl against the
# report_signing public key that GET /api/security/keys/ shows, and a
# changed byte refused; the HTML page rendered in headless Chromium, which
# must draw its charts, fetch nothing and log nothing; the period
# (since/until); roles, verbs and bad input, each answered with a JSON
# body naming the problem; a report made before the signing key was
# rotated still verifying after; and, without a master key, reports
# signed with keryud's own key, which a restart keeps.
#
#     prove t/api/reports-api.t
#     KERYUD=build-asan/keryud prove t/api/reports-api.t

use strict;
use warnings;

use Digest::SHA qw(sha256_hex);
use File::Temp qw(tempdir);
use MIME::Base64 qw(decode_base64 encode_base64);
use Test::More;

use FindBin;
use lib $FindBin::Bin;
use ApiTest;
use Chromium;

my $keryud = $ENV{KERYUD} // 'build/keryud';

plan skip_all => "$keryud not built" unless -x $keryud;
plan skip_all => 'openssl not found'
    unless system('openssl version >/dev/null 2>&1') == 0;

my $chromium = Chromium::binary();
diag 'chromium not found: HTML reports are not rendered' unless $chromium;

my $dir = tempdir('keryud-reports-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $port = free_port();
my $conf = "$dir/keryud.conf";
my $log = "$dir/keryud.log";
my $api = '/api/security';
my $rfc3339 = qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?Z\z/;

my ($publish, $fill) = ("$dir/publish", "$dir/fill");
for my $tool ([$publish, 't/api/publish.c'], [$fill, 't/api/fill.c']) {
    system("cc -O2 -I shared -o $tool->[0] $tool->[1] shared/keryu_store.c "
           . "shared/keryu_record.c -llmdb") == 0
        or die "building $tool->[1] failed";
}

write_file("$dir/master-key", unpack('H*', join '', map { chr int rand 256 }
                                                   1 .. 32) . "\n");
chmod 0600, "$dir/master-key";

write_file($conf, <<"EOF");
# reports-api.t
store $dir/store;
data $dir/data;
listen 127.0.0.1:$port;
poll_interval 10ms;
sync_interval 100ms;
pid_file $dir/keryud.pid;
master_key $dir/master-key;
EOF

my %token;
keryud_use(port => $port, conf => $conf, log => $log, keryud => $keryud,
           token => \%token);

for my $role (qw(admin auditor viewer)) {
    chomp($token{$role} =
              `$keryud -c $conf token create --role $role --name $role-1`);
    is($? >> 8, 0, "token create $role");
}

system($publish, "$dir/store", 't/unit/compliance/fail.json') == 0
    or die 'publish failed';

# records for the metrics and the risk register: failed logins on /admin/
system($fill, "$dir/store", 30, 'type=auth_failure', 'uri=/admin/login',
       'status=401', 'ip=198.51.100.7') == 0 or die 'fill failed';
system($fill, "$dir/store", 20, 'type=request', 'uri=/', 'status=200') == 0
    or die 'fill failed';

my $pid = start_keryud();

wait_until(sub {
    decode(request('GET', "$api/status/", $token{admin}))
        ->{keryud}{consumed} >= 50;
}, 'records consumed');

# a run and an audit for the reports to show
is(request('POST', "$api/compliance/run", $token{admin})->{status}, 201,
   'compliance run');
my $r = request('POST', "$api/audits/", $token{auditor},
                { name => 'Q4 <review> & "co"', scope => 'all' });
is($r->{status}, 201, 'audit') or diag $r->{content};
my $audit = decode($r);


sub refused {
    my ($method, $path, $role, $body, $status, $reason, $key, $value) = @_;
    my $r = request($method, $path, defined $role ? $token{$role} : undef,
                    $body);
    my $name = "$method $path" . (defined $role ? " as $role" : '')
               . ": $status $reason" . (defined $value ? " $value" : '');
    is($r->{status}, $status, $name) or diag $r->{content};
    my $e = eval { decode($r) } // {};
    is($e->{error}, $reason, "$name: reason");
    is($e->{$key}, $value, "$name: $key") if defined $key;
    return $r;
}


# the report_signing key's public half, as GET /api/security/keys/ has it

sub signing_key {
    my $keys = decode(request('GET', "$api/keys/", $token{auditor}));
    my ($k) = grep { $_->{key_type} eq 'report_signing' && $_->{is_active} }
              @{ $keys->{items} };
    return $k;
}


# an Ed25519 public key, 32 raw bytes in base64, as a PEM file

sub pem_file {
    my ($b64, $name) = @_;
    my $der = pack('H*', '302a300506032b6570032100') . decode_base64($b64);
    write_file($name, "-----BEGIN PUBLIC KEY-----\n" . encode_base64($der)
                      . "-----END PUBLIC KEY-----\n");
    return $name;
}


# what an auditor runs: the digest of the signed bytes, verified with
# openssl pkeyutl; returns 1 when openssl says the signature verifies

sub openssl_verifies {
    my ($file, $signed_bytes, $sig_b64, $pem) = @_;
    my $data = read_file($file);
    write_file("$dir/signed.bin", substr($data, 0, $signed_bytes));
    system("openssl dgst -sha256 -binary -out $dir/digest.bin "
           . "$dir/signed.bin") == 0 or die 'openssl dgst failed';
    write_file("$dir/sig.bin", decode_base64($sig_b64));
    my $out = `openssl pkeyutl -verify -pubin -inkey $pem -rawin -in $dir/digest.bin -sigfile $dir/sig.bin 2>&1`;
    return $? == 0 && $out =~ /Signature Verified Successfully/;
}


# RFC 4180: fields split by commas, quoted when they hold one, a quote or
# a line break, records ended by CRLF; dies on anything else

sub csv_rows {
    my ($text) = @_;
    my (@rows, @f);
    while (length $text) {
        if ($text =~ s/^"((?:[^"]|"")*)"//) {
            (my $v = $1) =~ s/""/"/g;
            push @f, $v;
        } else {
            $text =~ s/^([^",\r\n]*)//;
            push @f, $1;
        }
        if ($text =~ s/^,//) {
            next;
        }
        $text =~ s/^\r\n// or die "bad CSV at: " . substr($text, 0, 40);
        push @rows, [@f];
        @f = ();
    }
    return @rows;
}


my $key = signing_key();
ok($key, 'an active report_signing key') or BAIL_OUT('no signing key');
is($key->{algorithm}, 'Ed25519', 'signing key: Ed25519');
my $pem = pem_file($key->{public_key}, "$dir/report-key.pem");

my %ctype = (json => 'application/json', csv => 'text/csv; charset=utf-8',
             html => 'text/html; charset=utf-8');
my (@made, %made);

for my $type (qw(compliance audit metrics risk)) {
    for my $format (qw(json csv html)) {
        my $t = "$type/$format";
        my $r = request('POST', "$api/reports/", $token{auditor},
                        { report_type => $type, format => $format });
        is($r->{status}, 201, "$t: made by an auditor") or do {
            diag $r->{content};
            next;
        };
        my $m = decode($r);
        push @made, $m->{id};
        $made{$t} = $m;

        is($m->{report_type}, $type, "$t: type");
        is($m->{format}, $format, "$t: format");
        is($m->{created_by}, 'auditor-1', "$t: who");
        like($m->{$_}, $rfc3339, "$t: $_") for qw(since until created_at);
        is($m->{content_type}, $ctype{$format}, "$t: content type");
        is($m->{filename}, "keryu-$type-$m->{id}.$format", "$t: file name");
        is($m->{signature}{algorithm}, 'Ed25519', "$t: Ed25519");
        is($m->{signature}{key_id}, $key->{kid}, "$t: the active key");
        is($m->{signature}{public_key}, $key->{public_key},
           "$t: the key's public half");

        is_deeply(decode(request('GET', "$api/reports/$m->{id}/",
                                 $token{auditor})), $m, "$t: shown as made");

        my $d = request('GET', "$api/reports/$m->{id}/download",
                        $token{auditor});
        is($d->{status}, 200, "$t: downloaded");
        is($d->{headers}{'content-type'}, $ctype{$format},
           "$t: download content type");
        is($d->{headers}{'content-disposition'},
           "attachment; filename=\"$m->{filename}\"", "$t: attachment");
        my $body = $d->{content};
        is(length $body, $m->{bytes}, "$t: bytes");
        is(sha256_hex(substr($body, 0, $m->{signed_bytes})), $m->{sha256},
           "$t: sha256 of the signed bytes");
        is($body =~ tr/\0//, 0, "$t: no NUL byte");

        my $file = "$dir/$m->{filename}";
        write_file($file, $body);
        ok(openssl_verifies($file, $m->{signed_bytes},
                            $m->{signature}{value}, $pem),
           "$t: openssl verifies the signature");

        # one byte changed inside what is signed
        my $bad = $body;
        substr($bad, int($m->{signed_bytes} / 2), 1) ^= 'A';
        write_file("$dir/bad", $bad);
        ok(!openssl_verifies("$dir/bad", $m->{signed_bytes},
                             $m->{signature}{value}, $pem),
           "$t: a changed byte fails verification");

        if ($format eq 'json') {
            my $doc = JSON::PP->new->decode($body);
            is($doc->{report}{id}, $m->{id}, "$t: names itself");
            is($doc->{report}{type}, $type, "$t: its type");
            ok(exists $doc->{$type eq 'audit' ? 'audits' : $type},
               "$t: the $type part") or diag explain [keys %$doc];

        } elsif ($format eq 'csv') {
            my @rows = csv_rows($body);
            ok(@rows >= 2, "$t: a header and rows");
            like(join(',', @{ $rows[0] }), qr/^[a-z0-9_]+(,[a-z0-9_]+)+\z/,
                 "$t: header");
            is(scalar(grep { @$_ != @{ $rows[0] } } @rows), 0,
               "$t: rows as wide as the header");

        } else {
            unlike($body, qr/<script|<link|<iframe|\@import|url\(/i,
                   "$t: no script and no linked resource");
            like($body, qr/\Q$m->{sha256}\E/, "$t: shows its digest");
            like($body, qr/\Q$m->{signature}{value}\E/,
                 "$t: shows its signature");

            SKIP: {
                skip 'no chromium', 6 unless $chromium;

                my $res = Chromium::render("file://$file", <<'JS');
JSON.stringify({
    title: document.title,
    charts: Array.from(document.querySelectorAll('svg.chart')).map(
        s => { const b = s.getBoundingClientRect();
               return { w: b.width, h: b.height,
                        shapes: s.querySelectorAll(
                            'rect, circle, path, line, polyline').length }; }),
    sections: Array.from(document.querySelectorAll('main section')).length,
    signature: (document.querySelector('footer') || {}).textContent || '',
    text: document.body.innerText.length
})
JS
                my $v = JSON::PP->new->decode($res->{value});

                is_deeply($res->{requests}, ["file://$file"],
                          "$t: the page fetches nothing")
                    or diag explain $res->{requests};
                is_deeply([@{ $res->{console} }, @{ $res->{exceptions} }],
                          [], "$t: no console message, no exception");
                like($v->{title}, qr/^Keryu .* $m->{id}\z/, "$t: title");
                ok($v->{sections} >= 1 && $v->{text} > 200,
                   "$t: rendered text") or diag explain $v;
                ok(@{ $v->{charts} } >= 1
                   && !grep({ $_->{w} < 100 || $_->{h} < 50
                              || $_->{shapes} < 2 } @{ $v->{charts} }),
                   "$t: charts drawn") or diag explain $v->{charts};
                like($v->{signature}, qr/\Q$m->{sha256}\E/,
                     "$t: the rendered footer shows the digest");
            }
        }
    }
}

# every report listed, newest first
my $list = decode(request('GET', "$api/reports/", $token{admin}));
is_deeply([map { $_->{id} } @{ $list->{items} }], [reverse @made],
          'listed newest first');

# escaping: the audit's name shows as text, never as markup
my $html = request('GET', "$api/reports/$made{'audit/html'}{id}/download",
                   $token{auditor})->{content};
like($html, qr/Q4 &lt;review&gt; &amp; (&quot;|")co(&quot;|")/,
     'audit name escaped in HTML');
unlike($html, qr/<review>/, 'no markup from data');

# one audit, and a period
$r = request('POST', "$api/reports/", $token{auditor},
             { report_type => 'audit', format => 'json',
               audit_id => $audit->{id} });
is($r->{status}, 201, 'report of one audit') or diag $r->{content};
is(decode($r)->{audit_id}, $audit->{id}, 'audit_id kept');

$r = request('POST', "$api/reports/", $token{auditor},
             { report_type => 'metrics', format => 'json',
               since => '2026-01-01T00:00:00Z',
               until => '2026-02-01T00:00:00Z' });
is($r->{status}, 201, 'report of a period') or diag $r->{content};
my $m = decode($r);
like($m->{since}, qr/^2026-01-01T00:00:00(\.0+)?Z\z/, 'since kept');
like($m->{until}, qr/^2026-02-01T00:00:00(\.0+)?Z\z/, 'until kept');

sub report_doc {
    my ($id) = @_;
    my $d = request('GET', "$api/reports/$id/download", $token{auditor});
    return JSON::PP->new->decode($d->{content});
}

# the period decides what is counted: January holds none of the records
my $jan = report_doc($m->{id})->{metrics};
is($jan->{total}, 0, 'metrics of January: no record');
is(scalar @{ $jan->{days} }, 31, 'metrics of January: 31 days');
is($jan->{days}[0]{date}, '2026-01-01', 'metrics: from the first');

my $now = report_doc($made{'metrics/json'}{id})->{metrics};
is($now->{events}{auth_failure}, 30, 'metrics of the last 30 days: logins');
is(scalar @{ $now->{days} }, 30, 'metrics: a day each');


# ---- roles, verbs and bad input ----

my $n = scalar @{ decode(request('GET', "$api/reports/", $token{admin}))
                      ->{items} };

refused('POST', "$api/reports/", 'viewer',
        { report_type => 'risk', format => 'json' }, 403, 'forbidden');
refused('GET', "$api/reports/", 'viewer', undef, 403, 'forbidden');
refused('GET', "$api/reports/$made[0]/download", 'viewer', undef, 403,
        'forbidden');
refused('GET', "$api/reports/", undef, undef, 401, 'missing token');
refused('POST', "$api/reports/", 'auditor', { format => 'json' }, 400,
        'missing field', 'field', 'report_type');
refused('POST', "$api/reports/", 'auditor', { report_type => 'risk' }, 400,
        'missing field', 'field', 'format');
refused('POST', "$api/reports/", 'auditor',
        { report_type => 'sales', format => 'json' }, 400,
        'invalid field', 'field', 'report_type');
refused('POST', "$api/reports/", 'auditor',
        { report_type => 'risk', format => 'pdf' }, 400,
        'invalid field', 'field', 'format');
refused('POST', "$api/reports/", 'auditor',
        { report_type => 'risk', format => 'json', colour => 'red' }, 400,
        'invalid field', 'field', 'colour');
refused('POST', "$api/reports/", 'auditor',
        { report_type => 'risk', format => 'json', since => 'yesterday' },
        400, 'invalid field', 'field', 'since');
refused('POST', "$api/reports/", 'auditor',
        { report_type => 'risk', format => 'json', until => '' },
        400, 'invalid field', 'field', 'until');
refused('POST', "$api/reports/", 'auditor',
        { report_type => 'risk', format => 'json',
          since => '2026-02-01T00:00:00Z', until => '2026-01-01T00:00:00Z' },
        400, 'invalid field', 'field', 'since');
refused('POST', "$api/reports/", 'auditor',
        { report_type => 'risk', format => 'json', audit_id => 1 }, 400,
        'invalid field', 'field', 'audit_id');
refused('POST', "$api/reports/", 'auditor',
        { report_type => 'audit', format => 'json', audit_id => 999 }, 400,
        'invalid field', 'field', 'audit_id');
refused('POST', "$api/reports/", 'auditor', 'report', 400, 'invalid body');
refused('PUT', "$api/reports/", 'admin', {}, 405, 'method not allowed');
refused('DELETE', "$api/reports/$made[0]/", 'admin', undef, 405,
        'method not allowed');
refused('GET', "$api/reports/abc/download", 'auditor', undef, 404,
        'not found');
refused('GET', "$api/reports/999/", 'auditor', undef, 404, 'not found');
refused('GET', "$api/reports/999/download", 'auditor', undef, 404,
        'not found');
refused('GET', "$api/reports/?limit=5", 'auditor', undef, 400,
        'unknown parameter', 'parameter', 'limit');

is(scalar @{ decode(request('GET', "$api/reports/", $token{admin}))->{items} },
   $n, 'refused requests stored no report');


# ---- a rotated signing key: old reports keep verifying ----

my $old = $made{'risk/json'};
$r = request('POST', "$api/keys/rotate/", $token{admin},
             { key_type => 'report_signing' });
is($r->{status}, 200, 'report_signing rotated') or diag $r->{content};
my $new = signing_key();
isnt($new->{kid}, $key->{kid}, 'a new signing key');

$r = request('POST', "$api/reports/", $token{auditor},
             { report_type => 'risk', format => 'csv' });
$m = decode($r);
is($m->{signature}{key_id}, $new->{kid}, 'new reports: the new key');
my $d = request('GET', "$api/reports/$m->{id}/download", $token{auditor});
write_file("$dir/new.csv", $d->{content});
ok(openssl_verifies("$dir/new.csv", $m->{signed_bytes},
                    $m->{signature}{value},
                    pem_file($new->{public_key}, "$dir/new.pem")),
   'new report verifies with the new key');
ok(!openssl_verifies("$dir/new.csv", $m->{signed_bytes},
                     $m->{signature}{value}, $pem),
   'and not with the old one');

is(decode(request('GET', "$api/reports/$old->{id}/", $token{auditor}))
       ->{signature}{key_id}, $key->{kid}, 'old report: the old key id');
$d = request('GET', "$api/reports/$old->{id}/download", $token{auditor});
write_file("$dir/old.json", $d->{content});
ok(openssl_verifies("$dir/old.json", $old->{signed_bytes},
                    $old->{signature}{value}, $pem),
   'old report still verifies with the old public key');

is(stop_keryud($pid) >> 8, 0, 'keryud exits cleanly');
unlike(read_file($log), qr/ERROR: AddressSanitizer|LeakSanitizer/,
       'no sanitizer report');


# ---- without a master key: keryud's own signing key ----

my $conf2 = "$dir/keryud-local.conf";
write_file($conf2, <<"EOF");
# reports-api.t, no master key
store $dir/store;
data $dir/data-local;
listen 127.0.0.1:$port;
poll_interval 10ms;
pid_file $dir/keryud-local.pid;
EOF

my %token2;
chomp($token2{admin} =
          `$keryud -c $conf2 token create --role admin --name admin-1`);
keryud_use(port => $port, conf => $conf2, log => $log, keryud => $keryud,
           token => \%token2);

my @local;
for my $round (1, 2) {
    $pid = start_keryud();
    $r = request('POST', "$api/reports/", $token2{admin},
                 { report_type => 'compliance', format => 'csv' });
    is($r->{status}, 201, "local key, start $round: report made")
        or diag $r->{content};
    $m = decode($r);
    is($m->{signature}{signer}, 'local', "start $round: signed locally");
    $d = request('GET', "$api/reports/$m->{id}/download", $token2{admin});
    write_file("$dir/local.csv", $d->{content});
    ok(openssl_verifies("$dir/local.csv", $m->{signed_bytes},
                        $m->{signature}{value},
                        pem_file($m->{signature}{public_key},
                                 "$dir/local.pem")),
       "start $round: verifies with the key the report names");
    push @local, $m->{signature}{key_id};
    is(stop_keryud($pid) >> 8, 0, "start $round: keryud exits cleanly");
}

is($local[1], $local[0], 'the local key outlives a restart');
isnt($local[0], $key->{kid}, 'and is not the managed one');
unlike(read_file($log), qr/ERROR: AddressSanitizer|LeakSanitizer/,
       'no sanitizer report');

done_testing();
