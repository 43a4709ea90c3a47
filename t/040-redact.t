# vim:set ft= ts=4 sw=4 et fdm=marker:

# Redaction at capture: secret query arguments, card numbers and email
# addresses never reach the store, nor do the Authorization header and
# cookies; tokens are the keyed HMAC the README documents, the same for the
# same value; client addresses are cut to their network when asked.  The
# blocks make the records, then the store's raw bytes are searched for
# every secret that the requests carried.

use FindBin;
use lib "$FindBin::Bin/e2e";
use Digest::SHA qw(hmac_sha256_hex);
use File::Temp qw(tempdir);
use KeryuTest qw(ring_records wait_until);
use Test::Nginx::Socket;

our ($dir, $key);

$dir = tempdir('keryu-redact.XXXXXX', TMPDIR => 1, CLEANUP => 1);
chmod 0755, $dir;

$key = 'the redaction key of the 040 suite, 48 bytes ok';

sub put {
    my ($name, $data, $mode) = @_;
    open my $fh, '>', "$dir/$name" or die "$dir/$name: $!";
    print $fh $data;
    close $fh;
    chmod $mode, "$dir/$name";
    return "$dir/$name";
}

# the line break at the end is not part of the key
$ENV{TEST_NGINX_KERYU_REDACT_KEY} = put('redact.key', "$key\n", 0600);
$ENV{TEST_NGINX_KERYU_OPEN_KEY} = put('open.key', $key, 0640);
$ENV{TEST_NGINX_KERYU_SHORT_KEY} = put('short.key', 'k' x 31, 0600);
$ENV{TEST_NGINX_KERYU_LONG_KEY} = put('long.key', 'k' x 1027, 0600);
$ENV{TEST_NGINX_KERYU_MISSING_KEY} = "$dir/missing.key";
$ENV{TEST_NGINX_KERYU_REDACT_STORE} = "$dir/store";

sub token {
    return '~' . substr(hmac_sha256_hex($_[0], $key), 0, 16);
}

# what each location's records must hold, checked once the blocks have run
my %want_uri = (
    r1 => '/r1?user=bob&password=' . token('hunter2-r1') . '&x=1',
    r2 => '/r2?access_token=' . token('query-token-r2') . '&refresh_token='
          . token('refresh-r2') . '&page=2',
    r3 => '/r3/411111******1111?q=5555+55**+****+4444',
    r4 => '/r4?to=' . token('alice.secret') . '%40example.com',
    r5 => '/r5?password=[redacted]&token=[redacted]&x=hunter',
    r6 => '/r6?PassWord=' . token('hunter2-r1'),
    r9 => '/r9?otp=' . token('otp-secret-r9') . '&password='
          . token('hunter2-r9'),
    r10 => '/r10?password=visible-r10',
    r11 => '/r11/5105105105105100',
    r12 => '/r12?otp=kept-r12&sid=' . token('sid-secret-r12') . '&password='
           . token('hunter2-r12'),
);

# the user agent of TEST 13 grows past its cap when its address is
# replaced, and the cut falls inside a card number
$ENV{TEST_NGINX_KERYU_LONG_AGENT} = 'ua-r13 alice.cut@example.com '
                                    . 'filler ' x 66 . '4111 1111 1111 1111 end';

my %want_agent = (
    r2 => 'agent-r2',
    r3 => 'agent-r3 4012-88**-****-1881',
    r4 => 'agent-r4 (' . token('bob.secret') . '@example.org)',
    r13 => 'ua-r13 ' . token('alice.cut') . '@example.com ' . 'filler ' x 65,
);

my %want_ip = (r7 => '127.0.0.0', r8 => '127.0.0.1');

# strings that the requests carried and the store must not hold anywhere
my @secrets = qw(
    hunter2-r1 query-token-r2 refresh-r2 bearer-secret-r2 cookie-secret-r2
    4111111111111111 5555+5555+5555+4444 4012-8888-8888-1881
    alice.secret bob.secret hunter2-r5 tok-r5 otp-secret-r9 hunter2-r9
    sid-secret-r12 hunter2-r12 alice.cut
);
push @secrets, '4111 1111 11';

repeat_each(2);

# a block that records checks its status, its body and the error log; one
# that must die checks the failed start and the log line; then the store
plan tests => repeat_each()
              * (blocks() * 5 - 3 * grep { defined $_->must_die } blocks())
              + keys(%want_uri) + keys(%want_agent) + keys(%want_ip)
              + 2 * @secrets + 2;

no_long_string();
no_shuffle();
run_tests();

my $store = $ENV{TEST_NGINX_KERYU_REDACT_STORE};
my %recs;

# the last blocks' records reach the store within a flush
wait_until(5, sub {
    %recs = ();
    for my $r (ring_records($store)) {
        push @{ $recs{$1} }, $r if $r->{uri} =~ m{^/(r\d+)\b};
    }
    return keys(%recs) == keys(%{{ %want_uri, %want_agent, %want_ip }});
});

sub uniq_of {
    my ($loc, $field) = @_;
    my %seen;
    return [ grep { !$seen{$_}++ } map { $_->{$field} } @{ $recs{$loc} } ];
}

for my $loc (sort keys %want_uri) {
    is_deeply(uniq_of($loc, 'uri'), [ $want_uri{$loc} ], "$loc: uri");
}

for my $loc (sort keys %want_agent) {
    is_deeply(uniq_of($loc, 'user_agent'), [ $want_agent{$loc} ],
              "$loc: user agent");
}

for my $loc (sort keys %want_ip) {
    is_deeply(uniq_of($loc, 'ip'), [ $want_ip{$loc} ], "$loc: address");
}

my $dump = `mdb_dump -a -p $store 2>&1`;
ok($? == 0 && $dump =~ /\bring\b/, 'mdb_dump -a -p reads the store');

my $raw = do {
    local $/;
    open my $fh, '<', "$store/data.mdb" or die "$store/data.mdb: $!";
    binmode $fh;
    <$fh>;
};
ok(index($raw, token('hunter2-r1')) >= 0, 'data.mdb holds the tokens');

for my $s (@secrets) {
    ok(index($dump, $s) < 0, "\"$s\" is nowhere in mdb_dump's output");
    ok(index($raw, $s) < 0, "\"$s\" is nowhere in data.mdb");
}

__DATA__

=== TEST 1: a password in the query is replaced by its keyed token
--- http_config
    keryu_store $TEST_NGINX_KERYU_REDACT_STORE flush=10ms;
    keryu_redact_key $TEST_NGINX_KERYU_REDACT_KEY;
--- config
    keryu_log on;

    location /r1 {
        return 200 "ok\n";
    }
--- request
GET /r1?user=bob&password=hunter2-r1&x=1
--- response_body
ok
--- no_error_log
[error]
[alert]
[crit]



=== TEST 2: tokens in the query, the Authorization header and cookies are not recorded
--- http_config
    keryu_store $TEST_NGINX_KERYU_REDACT_STORE flush=10ms;
    keryu_redact_key $TEST_NGINX_KERYU_REDACT_KEY;
--- config
    keryu_log on;
    keryu_access on;
    keryu_fail open;
    keryu_identity bearer cookie=session;

    location /r2 {
        return 200 "ok\n";
    }
--- request
GET /r2?access_token=query-token-r2&refresh_token=refresh-r2&page=2
--- more_headers
Authorization: Bearer bearer-secret-r2
Cookie: session=cookie-secret-r2; theme=dark
User-Agent: agent-r2
--- response_body
ok
--- no_error_log
[error]
[alert]
[crit]



=== TEST 3: card numbers in the path, the query and the user agent are masked
--- http_config
    keryu_store $TEST_NGINX_KERYU_REDACT_STORE flush=10ms;
    keryu_redact_key $TEST_NGINX_KERYU_REDACT_KEY;
--- config
    keryu_log on;

    location /r3 {
        return 200 "ok\n";
    }
--- request
GET /r3/4111111111111111?q=5555+5555+5555+4444
--- more_headers
User-Agent: agent-r3 4012-8888-8888-1881
--- response_body
ok
--- no_error_log
[error]
[alert]
[crit]



=== TEST 4: email addresses keep their domain and lose their local part
--- http_config
    keryu_store $TEST_NGINX_KERYU_REDACT_STORE flush=10ms;
    keryu_redact_key $TEST_NGINX_KERYU_REDACT_KEY;
--- config
    keryu_log on;
    keryu_redact_emails on;

    location /r4 {
        return 200 "ok\n";
    }
--- request
GET /r4?to=alice.secret%40example.com
--- more_headers
User-Agent: agent-r4 (bob.secret@example.org)
--- response_body
ok
--- no_error_log
[error]
[alert]
[crit]



=== TEST 5: without a key a value reads [redacted]
--- http_config
    keryu_store $TEST_NGINX_KERYU_REDACT_STORE flush=10ms;
--- config
    keryu_log on;

    location /r5 {
        return 200 "ok\n";
    }
--- request
GET /r5?password=hunter2-r5&token=tok-r5&x=hunter
--- response_body
ok
--- no_error_log
[error]
[alert]
[crit]



=== TEST 6: the same value under the same key gives the same token, whatever the name's case
--- http_config
    keryu_store $TEST_NGINX_KERYU_REDACT_STORE flush=10ms;
    keryu_redact_key $TEST_NGINX_KERYU_REDACT_KEY;
--- config
    keryu_log on;

    location /r6 {
        return 200 "ok\n";
    }
--- request
GET /r6?PassWord=hunter2-r1
--- response_body
ok
--- no_error_log
[error]
[alert]
[crit]



=== TEST 7: the client address is recorded as its /24 when anonymised
--- http_config
    keryu_store $TEST_NGINX_KERYU_REDACT_STORE flush=10ms;
--- config
    keryu_log on;
    keryu_anonymize_addresses on;

    location /r7 {
        return 200 "ok\n";
    }
--- request
GET /r7
--- response_body
ok
--- no_error_log
[error]
[alert]
[crit]



=== TEST 8: the client address is recorded exactly by default
--- http_config
    keryu_store $TEST_NGINX_KERYU_REDACT_STORE flush=10ms;
--- config
    keryu_log on;

    location /r8 {
        return 200 "ok\n";
    }
--- request
GET /r8
--- response_body
ok
--- no_error_log
[error]
[alert]
[crit]



=== TEST 9: names given add to the built-in ones
--- http_config
    keryu_store $TEST_NGINX_KERYU_REDACT_STORE flush=10ms;
    keryu_redact_key $TEST_NGINX_KERYU_REDACT_KEY;
    keryu_redact_args OTP;
--- config
    keryu_log on;

    location /r9 {
        return 200 "ok\n";
    }
--- request
GET /r9?otp=otp-secret-r9&password=hunter2-r9
--- response_body
ok
--- no_error_log
[error]
[alert]
[crit]



=== TEST 10: off records the query as sent
--- http_config
    keryu_store $TEST_NGINX_KERYU_REDACT_STORE flush=10ms;
--- config
    keryu_log on;
    keryu_redact_args otp;

    location /r10 {
        keryu_redact_args off;
        return 200 "ok\n";
    }
--- request
GET /r10?password=visible-r10
--- response_body
ok
--- no_error_log
[error]
[alert]
[crit]



=== TEST 11: card numbers are recorded as sent with keryu_redact_cards off
--- http_config
    keryu_store $TEST_NGINX_KERYU_REDACT_STORE flush=10ms;
--- config
    keryu_log on;
    keryu_redact_cards off;

    location /r11 {
        return 200 "ok\n";
    }
--- request
GET /r11/5105105105105100
--- response_body
ok
--- no_error_log
[error]
[alert]
[crit]



=== TEST 12: names given in a location replace those of the server
--- http_config
    keryu_store $TEST_NGINX_KERYU_REDACT_STORE flush=10ms;
    keryu_redact_key $TEST_NGINX_KERYU_REDACT_KEY;
--- config
    keryu_log on;
    keryu_redact_args otp;

    location /r12 {
        keryu_redact_args sid;
        return 200 "ok\n";
    }
--- request
GET /r12?otp=kept-r12&sid=sid-secret-r12&password=hunter2-r12
--- response_body
ok
--- no_error_log
[error]
[alert]
[crit]



=== TEST 13: a field cut at its cap loses the card number the cut falls in
--- http_config
    keryu_store $TEST_NGINX_KERYU_REDACT_STORE flush=10ms;
    keryu_redact_key $TEST_NGINX_KERYU_REDACT_KEY;
--- config
    keryu_log on;
    keryu_redact_emails on;

    location /r13 {
        return 200 "ok\n";
    }
--- request
GET /r13
--- more_headers eval
"User-Agent: $ENV{TEST_NGINX_KERYU_LONG_AGENT}"
--- response_body
ok
--- no_error_log
[error]
[alert]
[crit]



=== TEST 14: a key file that others may read is refused
--- http_config
    keryu_store $TEST_NGINX_KERYU_REDACT_STORE;
    keryu_redact_key $TEST_NGINX_KERYU_OPEN_KEY;
--- config
    location /t {
        return 200;
    }
--- request
GET /t
--- must_die
--- error_log eval
qr/\[emerg\] .*key file "[^"]+\/open\.key" is accessible by group or others, it must be mode 0600 or 0400/



=== TEST 15: a key shorter than 32 bytes is refused
--- http_config
    keryu_store $TEST_NGINX_KERYU_REDACT_STORE;
    keryu_redact_key $TEST_NGINX_KERYU_SHORT_KEY;
--- config
    location /t {
        return 200;
    }
--- request
GET /t
--- must_die
--- error_log eval
qr/\[emerg\] .*key file "[^"]+\/short\.key" is too small, it must hold 32 to 1024 bytes/



=== TEST 16: a key longer than 1024 bytes is refused
--- http_config
    keryu_store $TEST_NGINX_KERYU_REDACT_STORE;
    keryu_redact_key $TEST_NGINX_KERYU_LONG_KEY;
--- config
    location /t {
        return 200;
    }
--- request
GET /t
--- must_die
--- error_log eval
qr/\[emerg\] .*key file "[^"]+\/long\.key" is too large, it must hold 32 to 1024 bytes/



=== TEST 17: a missing key file is refused
--- http_config
    keryu_store $TEST_NGINX_KERYU_REDACT_STORE;
    keryu_redact_key $TEST_NGINX_KERYU_MISSING_KEY;
--- config
    location /t {
        return 200;
    }
--- request
GET /t
--- must_die
--- error_log eval
qr/\[emerg\] .*open\(\) "[^"]+\/missing\.key" failed \(2: No such file or directory\)/



=== TEST 18: duplicate key
--- http_config
    keryu_store $TEST_NGINX_KERYU_REDACT_STORE;
    keryu_redact_key $TEST_NGINX_KERYU_REDACT_KEY;
    keryu_redact_key $TEST_NGINX_KERYU_REDACT_KEY;
--- config
    location /t {
        return 200;
    }
--- request
GET /t
--- must_die
--- error_log
"keryu_redact_key" directive is duplicate



=== TEST 19: keryu_redact_key only in the http block
--- http_config
    keryu_store $TEST_NGINX_KERYU_REDACT_STORE;
--- config
    keryu_redact_key $TEST_NGINX_KERYU_REDACT_KEY;

    location /t {
        return 200;
    }
--- request
GET /t
--- must_die
--- error_log
"keryu_redact_key" directive is not allowed here



=== TEST 20: an argument name that no query could carry
--- http_config
    keryu_store $TEST_NGINX_KERYU_REDACT_STORE;
--- config
    keryu_redact_args otp a=b;

    location /t {
        return 200;
    }
--- request
GET /t
--- must_die
--- error_log
invalid argument name "a=b"



=== TEST 21: off with names
--- http_config
    keryu_store $TEST_NGINX_KERYU_REDACT_STORE;
--- config
    keryu_redact_args off otp;

    location /t {
        return 200;
    }
--- request
GET /t
--- must_die
--- error_log
invalid parameter "off"



=== TEST 22: off after names in the same block
--- http_config
    keryu_store $TEST_NGINX_KERYU_REDACT_STORE;
--- config
    keryu_redact_args otp;
    keryu_redact_args off;

    location /t {
        return 200;
    }
--- request
GET /t
--- must_die
--- error_log
"keryu_redact_args" directive is duplicate



=== TEST 23: keryu_anonymize_addresses not in a location
--- http_config
    keryu_store $TEST_NGINX_KERYU_REDACT_STORE;
--- config
    location /t {
        keryu_anonymize_addresses on;
        return 200;
    }
--- request
GET /t
--- must_die
--- error_log
"keryu_anonymize_addresses" directive is not allowed here



=== TEST 24: keryu_redact_cards takes on or off
--- http_config
    keryu_store $TEST_NGINX_KERYU_REDACT_STORE;
--- config
    keryu_redact_cards masked;

    location /t {
        return 200;
    }
--- request
GET /t
--- must_die
--- error_log
invalid value "masked" in "keryu_redact_cards" directive, it must be "on" or "off"
