# vim:set ft= ts=4 sw=4 et fdm=marker:

# Signed requests from machine clients: HMAC-SHA256 over the method, path,
# query, a timestamp, a nonce and the body's digest.  Each nonce is good
# once, and the store remembers it across blocks, so each block runs once.

use FindBin;
use lib "$FindBin::Bin/lib";
use KeryuFixture;
use Test::Nginx::Socket;

our (%req, $secret);

$secret = 'the shared secret of the machine client, 32+ bytes';

my $policies = [
    { name => 't-machines', policy_type => 'access',
      rules => [ { id => 'jobs', path => '/jobs', match => 'prefix',
                   effect => 'allow', roles => ['scheduler'] } ] },
];

$ENV{TEST_NGINX_KERYU_STORE} = make_store(
    policies => $policies,
    clients => [ { id => 'cron-1', roles => ['scheduler'],
                   secret => $secret } ]);

my $now = time;
my %base = (client => 'cron-1', secret => $secret, time => $now);

%req = (
    get => signed(%base, method => 'GET', path => '/jobs/run',
                  query => 'now=1', nonce => 'nonce-get-0000000001'),
    post => signed(%base, method => 'POST', path => '/jobs/new',
                   body => '{"job":"backup"}',
                   nonce => 'nonce-post-000000001'),
    badsig => signed(%base, method => 'GET', path => '/jobs/run',
                     secret => 'another secret that is also long enough',
                     nonce => 'nonce-badsig-0000001'),
    stale => signed(%base, method => 'GET', path => '/jobs/run',
                    time => $now - 3600, nonce => 'nonce-stale-00000001'),
    future => signed(%base, method => 'GET', path => '/jobs/run',
                     time => $now + 3600, nonce => 'nonce-future-0000001'),
    digest => signed(%base, method => 'POST', path => '/jobs/new',
                     body => '{"job":"backup"}',
                     sign_body => '{"job":"nothing"}',
                     nonce => 'nonce-digest-0000001'),
    unknown => signed(%base, method => 'GET', path => '/jobs/run',
                      client => 'cron-9', nonce => 'nonce-unknown-000001'),
    path => signed(%base, method => 'GET', path => '/jobs/other',
                   nonce => 'nonce-path-000000001'),
);

repeat_each(1);

plan tests => repeat_each() * (blocks() * 3);

no_long_string();
no_shuffle();
no_root_location();
run_tests();

__DATA__

=== TEST 1: a signed GET with a query string
--- http_config
    keryu_store $TEST_NGINX_KERYU_STORE;
--- config
    keryu_access on;
    keryu_identity signature;

    location / {
        stub_status;
        add_header X-Result "$keryu_decision:$keryu_rule:$keryu_user:$keryu_roles"
                   always;
    }
--- request
GET /jobs/run?now=1
--- more_headers eval
$::req{get}
--- response_headers
X-Result: allow:t-machines/jobs:cron-1:scheduler
--- no_error_log
[error]



=== TEST 2: the same nonce again is a replay
--- http_config
    keryu_store $TEST_NGINX_KERYU_STORE;
--- config
    keryu_access on;
    keryu_identity signature;

    location / {
        stub_status;
    }
--- request
GET /jobs/run?now=1
--- more_headers eval
$::req{get}
--- error_code: 401
--- response_body
{"error":"unauthorized","reason":"replayed nonce"}
--- error_log
keryu denied access: replayed nonce



=== TEST 3: a signed POST with its body
--- http_config
    keryu_store $TEST_NGINX_KERYU_STORE;
--- config
    keryu_access on;
    keryu_identity signature;

    location /backend {
        return 200 "accepted\n";
    }

    location /jobs {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/backend;
    }
--- request
POST /jobs/new
{"job":"backup"}
--- more_headers eval
$::req{post}
--- response_body
accepted
--- no_error_log
[error]



=== TEST 4: a body other than the one signed
--- http_config
    keryu_store $TEST_NGINX_KERYU_STORE;
--- config
    keryu_access on;
    keryu_identity signature;

    location /backend {
        return 200 "accepted\n";
    }

    location /jobs {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/backend;
    }
--- request
POST /jobs/new
{"job":"backup"}
--- more_headers eval
$::req{digest}
--- error_code: 401
--- response_body
{"error":"unauthorized","reason":"body digest mismatch"}
--- error_log
keryu denied access: body digest mismatch



=== TEST 5: bad signature
--- http_config
    keryu_store $TEST_NGINX_KERYU_STORE;
--- config
    keryu_access on;
    keryu_identity signature;

    location / {
        stub_status;
    }
--- request
GET /jobs/run
--- more_headers eval
$::req{badsig}
--- error_code: 401
--- response_body
{"error":"unauthorized","reason":"bad signature"}
--- error_log
keryu denied access: bad signature



=== TEST 6: a timestamp an hour old
--- http_config
    keryu_store $TEST_NGINX_KERYU_STORE;
--- config
    keryu_access on;
    keryu_identity signature;

    location / {
        stub_status;
    }
--- request
GET /jobs/run
--- more_headers eval
$::req{stale}
--- error_code: 401
--- response_body
{"error":"unauthorized","reason":"stale timestamp"}
--- error_log
keryu denied access: stale timestamp



=== TEST 7: a timestamp an hour ahead
--- http_config
    keryu_store $TEST_NGINX_KERYU_STORE;
--- config
    keryu_access on;
    keryu_identity signature;

    location / {
        stub_status;
    }
--- request
GET /jobs/run
--- more_headers eval
$::req{future}
--- error_code: 401
--- response_body
{"error":"unauthorized","reason":"stale timestamp"}
--- error_log
keryu denied access: stale timestamp



=== TEST 8: unknown client
--- http_config
    keryu_store $TEST_NGINX_KERYU_STORE;
--- config
    keryu_access on;
    keryu_identity signature;

    location / {
        stub_status;
    }
--- request
GET /jobs/run
--- more_headers eval
$::req{unknown}
--- error_code: 401
--- response_body
{"error":"unauthorized","reason":"unknown client"}
--- error_log
keryu denied access: unknown client



=== TEST 9: a signature for another path
--- http_config
    keryu_store $TEST_NGINX_KERYU_STORE;
--- config
    keryu_access on;
    keryu_identity signature;

    location / {
        stub_status;
    }
--- request
GET /jobs/run
--- more_headers eval
$::req{path}
--- error_code: 401
--- response_body
{"error":"unauthorized","reason":"bad signature"}
--- error_log
keryu denied access: bad signature
