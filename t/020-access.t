# vim:set ft= ts=4 sw=4 et fdm=marker:

# Access decisions: rule kinds, ownership, identity from tokens, shadow
# rules, IP policies, blocks, the default effect and the fail modes.

use FindBin;
use lib "$FindBin::Bin/lib";
use KeryuFixture;
use Test::Nginx::Socket;

our (%tok, $secret);

$secret = 'an HS256 secret for the test suite, 48 bytes ok';

my $now = time;
my ($rs_key, $rs_pub) = key_pair('RS256');
my ($es_key, $es_pub) = key_pair('ES256');

$ENV{TEST_NGINX_KERYU_RS_PUB} = $rs_pub;

my $policies = [
    {
        name => 't-access', policy_type => 'access',
        rules => [
            { id => 'public', path => '/public/', match => 'prefix',
              effect => 'allow', anyone => JSON::PP::true },
            { id => 'admin', path => '/admin/', match => 'prefix',
              effect => 'allow', roles => ['admin'] },
            { id => 'orders', path => '/orders/{id}', methods => ['GET'],
              effect => 'allow',
              owner => { segment => 'id', claim => 'orders' } },
            { id => 'only-bob', path => '/bob', effect => 'allow',
              users => ['bob'] },
            { id => 'me', path => '/me', effect => 'allow',
              authenticated => JSON::PP::true },
            { id => 'no-delete', path => '/things', methods => ['DELETE'],
              effect => 'deny', anyone => JSON::PP::true },
            { id => 'things', path => '/things', effect => 'allow',
              anyone => JSON::PP::true },
            { id => 'trial', path => '/trial', effect => 'deny',
              anyone => JSON::PP::true, shadow => JSON::PP::true },
            { id => 'trial-open', path => '/trial', effect => 'allow',
              anyone => JSON::PP::true },
        ],
    },
    {
        name => 't-ip', policy_type => 'ip',
        rules => { deny => ['192.0.2.0/24', '2001:db8:bad::/48'] },
    },
];

$ENV{TEST_NGINX_KERYU_STORE} = make_store(
    policies => $policies,
    keys => [ { kid => 'hs', secret => $secret },
              { kid => 'rs', alg => 'RS256', public => $rs_pub },
              { kid => 'es', alg => 'ES256', public => $es_pub } ],
    blocks => [ [ '--ip', '203.0.113.5', '--reason', 'manual test' ],
                [ '--ip', '198.51.100.0/24' ],
                [ '--ip', '2001:db8:1::/64' ],
                [ '--user', 'mallory', '--reason', 'stolen account' ] ],
    apikeys => [ [ '--name', 'ci-runner', '--role', 'admin' ],
                 [ '--name', 'expired-runner', '--role', 'admin',
                   '--ttl', '1s' ] ]);

# the second key expires a second after it was made
sleep 2;

$ENV{TEST_NGINX_KERYU_BAD_STORE} = make_store();
{
    mkdir $ENV{TEST_NGINX_KERYU_BAD_STORE};
    open my $fh, '>', "$ENV{TEST_NGINX_KERYU_BAD_STORE}/data.mdb" or die;
    print $fh "not an lmdb file\n" x 100;
}

sub claims {
    my ($sub, %more) = @_;
    return { sub => $sub, iat => $now, exp => $now + 600, %more };
}

sub hs {
    return jwt(alg => 'HS256', secret => $secret,
               header => { kid => 'hs' }, claims => claims(@_));
}

%tok = (
    alice => hs('alice', roles => ['user'], orders => ['1']),
    bob => hs('bob', roles => ['user'], orders => ['2']),
    carol => hs('carol', roles => ['admin']),
    mallory => hs('mallory', roles => ['admin']),
    rs => jwt(alg => 'RS256', key => $rs_key, header => { kid => 'rs' },
              claims => claims('rsa-user', roles => ['admin'])),
    es => jwt(alg => 'ES256', key => $es_key, header => { kid => 'es' },
              claims => claims('ec-user', roles => ['admin'])),
    expired => jwt(alg => 'HS256', secret => $secret,
                   claims => { sub => 'alice', exp => $now - 3600 }),
    early => jwt(alg => 'HS256', secret => $secret,
                 claims => { sub => 'alice', nbf => $now + 3600 }),
    # one flipped bit in the signature's first character, which encodes
    # six whole bits: still canonical base64url, no longer the signature
    badsig => hs('alice') =~ s/\.([^.])([^.]*)$/
                  '.' . ($1 eq 'A' ? 'B' : 'A') . $2 /er,
    none => jwt(alg => 'none', claims => claims('carol', roles => ['admin'])),
    mismatch => jwt(alg => 'HS256', secret => $secret,
                    header => { kid => 'rs' }, claims => claims('carol')),
    aud => hs('alice', aud => 'other-service'),
    audok => hs('alice', aud => 'api'),
    malformed => 'eyJhbGciOiJIUzI1NiJ9.e*30=.c2ln',
    huge => hs('alice', pad => 'x' x 65536),
    rsfile => jwt(alg => 'RS256', key => $rs_key,
                  header => { kid => 'file-rs' },
                  claims => claims('file-user', roles => ['admin'])),
    apikey => $apikey{'ci-runner'},
    expired_apikey => $apikey{'expired-runner'},
);

repeat_each(2);

# a refused request checks its status, its body and the error log line; a
# configuration that must die checks the failed start and the log line
plan tests => repeat_each()
              * (blocks() * 3 - grep { defined $_->must_die } blocks());

no_long_string();
no_shuffle();
no_root_location();
run_tests();

__DATA__

=== TEST 1: a rule for anyone lets anonymous requests through
--- http_config
    keryu_store $TEST_NGINX_KERYU_STORE;
--- config
    keryu_access on;

    location / {
        stub_status;
        add_header X-Result "$keryu_decision:$keryu_rule:$keryu_user:$keryu_roles"
                   always;
    }
--- request
GET /public/index.html
--- response_headers
X-Result: allow:t-access/public::
--- no_error_log
[error]



=== TEST 2: no rule matches: denied by default, 401 without credentials
--- http_config
    keryu_store $TEST_NGINX_KERYU_STORE;
--- config
    keryu_access on;

    location / {
        stub_status;
        add_header X-Result "$keryu_decision:$keryu_rule:$keryu_user:$keryu_roles"
                   always;
    }
--- request
GET /private
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer
--- error_log
keryu denied access: no credentials, rule "default"



=== TEST 3: allow by default when configured
--- http_config
    keryu_store $TEST_NGINX_KERYU_STORE;
--- config
    keryu_access on;
    keryu_default allow;

    location / {
        stub_status;
        add_header X-Result "$keryu_decision:$keryu_rule:$keryu_user:$keryu_roles"
                   always;
    }
--- request
GET /private
--- response_headers
X-Result: allow:default::
--- no_error_log
[error]



=== TEST 4: role rule admits the role
--- http_config
    keryu_store $TEST_NGINX_KERYU_STORE;
--- config
    keryu_access on;

    location / {
        stub_status;
        add_header X-Result "$keryu_decision:$keryu_rule:$keryu_user:$keryu_roles"
                   always;
    }
--- request
GET /admin/users
--- more_headers eval
"Authorization: Bearer $::tok{carol}"
--- response_headers
X-Result: allow:t-access/admin:carol:admin
--- no_error_log
[error]



=== TEST 5: role rule refuses another role with 403
--- http_config
    keryu_store $TEST_NGINX_KERYU_STORE;
--- config
    keryu_access on;

    location / {
        stub_status;
        add_header X-Result "$keryu_decision:$keryu_rule:$keryu_user:$keryu_roles"
                   always;
    }
--- request
GET /admin/users
--- more_headers eval
"Authorization: Bearer $::tok{alice}"
--- error_code: 403
--- response_body
{"error":"forbidden","reason":"policy"}
--- error_log
keryu denied access: policy, rule "default", user "alice"



=== TEST 6: the owner reads her order
--- http_config
    keryu_store $TEST_NGINX_KERYU_STORE;
--- config
    keryu_access on;

    location / {
        stub_status;
        add_header X-Result "$keryu_decision:$keryu_rule:$keryu_user:$keryu_roles"
                   always;
    }
--- request
GET /orders/1
--- more_headers eval
"Authorization: Bearer $::tok{alice}"
--- response_headers
X-Result: allow:t-access/orders:alice:user
--- no_error_log
[error]



=== TEST 7: somebody else's order is refused
--- http_config
    keryu_store $TEST_NGINX_KERYU_STORE;
--- config
    keryu_access on;

    location / {
        stub_status;
        add_header X-Result "$keryu_decision:$keryu_rule:$keryu_user:$keryu_roles"
                   always;
    }
--- request
GET /orders/1
--- more_headers eval
"Authorization: Bearer $::tok{bob}"
--- error_code: 403
--- response_body
{"error":"forbidden","reason":"policy"}
--- error_log
keryu denied access: policy, rule "default", user "bob"



=== TEST 8: a method outside the rule's methods does not match it
--- http_config
    keryu_store $TEST_NGINX_KERYU_STORE;
--- config
    keryu_access on;

    location / {
        stub_status;
        add_header X-Result "$keryu_decision:$keryu_rule:$keryu_user:$keryu_roles"
                   always;
    }
--- request
DELETE /orders/1
--- more_headers eval
"Authorization: Bearer $::tok{alice}"
--- error_code: 403
--- response_body
{"error":"forbidden","reason":"policy"}
--- error_log
rule "default", user "alice"



=== TEST 9: user rule
--- http_config
    keryu_store $TEST_NGINX_KERYU_STORE;
--- config
    keryu_access on;

    location / {
        stub_status;
        add_header X-Result "$keryu_decision:$keryu_rule:$keryu_user:$keryu_roles"
                   always;
    }
--- request
GET /bob
--- more_headers eval
"Authorization: Bearer $::tok{bob}"
--- response_headers
X-Result: allow:t-access/only-bob:bob:user
--- no_error_log
[error]



=== TEST 10: the first matching rule decides: an explicit deny
--- http_config
    keryu_store $TEST_NGINX_KERYU_STORE;
--- config
    keryu_access on;

    location / {
        stub_status;
        add_header X-Result "$keryu_decision:$keryu_rule:$keryu_user:$keryu_roles"
                   always;
    }
--- request
DELETE /things
--- more_headers eval
"Authorization: Bearer $::tok{carol}"
--- error_code: 403
--- response_body
{"error":"forbidden","reason":"policy"}
--- error_log
rule "t-access/no-delete", user "carol"



=== TEST 11: a shadow rule logs what it would refuse and refuses nothing
--- http_config
    keryu_store $TEST_NGINX_KERYU_STORE;
--- config
    keryu_access on;

    location / {
        stub_status;
        add_header X-Result "$keryu_decision:$keryu_rule:$keryu_user:$keryu_roles"
                   always;
    }
--- request
GET /trial
--- response_headers
X-Result: allow:t-access/trial-open::
--- error_log
keryu shadow rule "t-access/trial" would deny



=== TEST 12: shadow mode on a location refuses nothing
--- http_config
    keryu_store $TEST_NGINX_KERYU_STORE;
--- config
    keryu_access shadow;

    location / {
        stub_status;
        add_header X-Result "$keryu_decision:$keryu_rule:$keryu_user:$keryu_roles"
                   always;
    }
--- request
GET /admin/users
--- response_headers
X-Result: shadow_deny:default::
--- error_log
keryu would deny by "default" in shadow mode



=== TEST 13: RS256 token
--- http_config
    keryu_store $TEST_NGINX_KERYU_STORE;
--- config
    keryu_access on;

    location / {
        stub_status;
        add_header X-Result "$keryu_decision:$keryu_rule:$keryu_user:$keryu_roles"
                   always;
    }
--- request
GET /admin/
--- more_headers eval
"Authorization: Bearer $::tok{rs}"
--- response_headers
X-Result: allow:t-access/admin:rsa-user:admin
--- no_error_log
[error]



=== TEST 14: ES256 token
--- http_config
    keryu_store $TEST_NGINX_KERYU_STORE;
--- config
    keryu_access on;

    location / {
        stub_status;
        add_header X-Result "$keryu_decision:$keryu_rule:$keryu_user:$keryu_roles"
                   always;
    }
--- request
GET /admin/
--- more_headers eval
"Authorization: Bearer $::tok{es}"
--- response_headers
X-Result: allow:t-access/admin:ec-user:admin
--- no_error_log
[error]



=== TEST 15: token from a cookie
--- http_config
    keryu_store $TEST_NGINX_KERYU_STORE;
--- config
    keryu_access on;
    keryu_identity bearer cookie=session;

    location / {
        stub_status;
        add_header X-Result "$keryu_decision:$keryu_rule:$keryu_user:$keryu_roles"
                   always;
    }
--- request
GET /me
--- more_headers eval
"Cookie: theme=dark; session=$::tok{alice}"
--- response_headers
X-Result: allow:t-access/me:alice:user
--- no_error_log
[error]



=== TEST 16: expired token
--- http_config
    keryu_store $TEST_NGINX_KERYU_STORE;
--- config
    keryu_access on;

    location / {
        stub_status;
        add_header X-Result "$keryu_decision:$keryu_rule:$keryu_user:$keryu_roles"
                   always;
    }
--- request
GET /me
--- more_headers eval
"Authorization: Bearer $::tok{expired}"
--- error_code: 401
--- response_body
{"error":"unauthorized","reason":"expired"}
--- error_log
keryu denied access: expired



=== TEST 17: token not yet valid
--- http_config
    keryu_store $TEST_NGINX_KERYU_STORE;
--- config
    keryu_access on;

    location / {
        stub_status;
        add_header X-Result "$keryu_decision:$keryu_rule:$keryu_user:$keryu_roles"
                   always;
    }
--- request
GET /me
--- more_headers eval
"Authorization: Bearer $::tok{early}"
--- error_code: 401
--- response_body
{"error":"unauthorized","reason":"not yet valid"}
--- error_log
keryu denied access: not yet valid



=== TEST 18: bad signature
--- http_config
    keryu_store $TEST_NGINX_KERYU_STORE;
--- config
    keryu_access on;

    location / {
        stub_status;
        add_header X-Result "$keryu_decision:$keryu_rule:$keryu_user:$keryu_roles"
                   always;
    }
--- request
GET /me
--- more_headers eval
"Authorization: Bearer $::tok{badsig}"
--- error_code: 401
--- response_body
{"error":"unauthorized","reason":"bad signature"}
--- error_log
keryu denied access: bad signature



=== TEST 19: alg none
--- http_config
    keryu_store $TEST_NGINX_KERYU_STORE;
--- config
    keryu_access on;

    location / {
        stub_status;
        add_header X-Result "$keryu_decision:$keryu_rule:$keryu_user:$keryu_roles"
                   always;
    }
--- request
GET /admin/
--- more_headers eval
"Authorization: Bearer $::tok{none}"
--- error_code: 401
--- response_body
{"error":"unauthorized","reason":"alg none"}
--- error_log
keryu denied access: alg none



=== TEST 20: algorithm that does not match the key
--- http_config
    keryu_store $TEST_NGINX_KERYU_STORE;
--- config
    keryu_access on;

    location / {
        stub_status;
        add_header X-Result "$keryu_decision:$keryu_rule:$keryu_user:$keryu_roles"
                   always;
    }
--- request
GET /admin/
--- more_headers eval
"Authorization: Bearer $::tok{mismatch}"
--- error_code: 401
--- response_body
{"error":"unauthorized","reason":"algorithm mismatch"}
--- error_log
keryu denied access: algorithm mismatch



=== TEST 21: wrong audience
--- http_config
    keryu_store $TEST_NGINX_KERYU_STORE;
--- config
    keryu_access on;
    keryu_jwt_audience api;

    location / {
        stub_status;
        add_header X-Result "$keryu_decision:$keryu_rule:$keryu_user:$keryu_roles"
                   always;
    }
--- request
GET /me
--- more_headers eval
"Authorization: Bearer $::tok{aud}"
--- error_code: 401
--- response_body
{"error":"unauthorized","reason":"bad audience"}
--- error_log
keryu denied access: bad audience



=== TEST 22: right audience
--- http_config
    keryu_store $TEST_NGINX_KERYU_STORE;
--- config
    keryu_access on;
    keryu_jwt_audience api;

    location / {
        stub_status;
        add_header X-Result "$keryu_decision:$keryu_rule:$keryu_user:$keryu_roles"
                   always;
    }
--- request
GET /me
--- more_headers eval
"Authorization: Bearer $::tok{audok}"
--- response_headers
X-Result: allow:t-access/me:alice:
--- no_error_log
[error]



=== TEST 23: malformed base64
--- http_config
    keryu_store $TEST_NGINX_KERYU_STORE;
--- config
    keryu_access on;

    location / {
        stub_status;
        add_header X-Result "$keryu_decision:$keryu_rule:$keryu_user:$keryu_roles"
                   always;
    }
--- request
GET /me
--- more_headers eval
"Authorization: Bearer $::tok{malformed}"
--- error_code: 401
--- response_body
{"error":"unauthorized","reason":"malformed"}
--- error_log
keryu denied access: malformed



=== TEST 24: a 64 KiB token is refused before any work
--- http_config
    keryu_store $TEST_NGINX_KERYU_STORE;
    large_client_header_buffers 4 128k;
--- config
    keryu_access on;

    location / {
        stub_status;
        add_header X-Result "$keryu_decision:$keryu_rule:$keryu_user:$keryu_roles"
                   always;
    }
--- request
GET /me
--- more_headers eval
"Authorization: Bearer $::tok{huge}"
--- error_code: 401
--- response_body
{"error":"unauthorized","reason":"too long"}
--- error_log
keryu denied access: too long



=== TEST 25: blocked address, exact
--- http_config
    keryu_store $TEST_NGINX_KERYU_STORE;
    set_real_ip_from 127.0.0.1;
    real_ip_header X-Real-IP;
--- config
    keryu_access on;

    location / {
        stub_status;
        add_header X-Result "$keryu_decision:$keryu_rule:$keryu_user:$keryu_roles"
                   always;
    }
--- request
GET /public/x
--- more_headers
X-Real-IP: 203.0.113.5
--- error_code: 403
--- response_body
{"error":"forbidden","reason":"blocked address"}
--- error_log
keryu denied access: blocked address, rule "block"



=== TEST 26: blocked IPv4 range
--- http_config
    keryu_store $TEST_NGINX_KERYU_STORE;
    set_real_ip_from 127.0.0.1;
    real_ip_header X-Real-IP;
--- config
    keryu_access on;

    location / {
        stub_status;
        add_header X-Result "$keryu_decision:$keryu_rule:$keryu_user:$keryu_roles"
                   always;
    }
--- request
GET /public/x
--- more_headers
X-Real-IP: 198.51.100.77
--- error_code: 403
--- response_body
{"error":"forbidden","reason":"blocked address"}
--- error_log
keryu denied access: blocked address



=== TEST 27: blocked IPv6 range
--- http_config
    keryu_store $TEST_NGINX_KERYU_STORE;
    set_real_ip_from 127.0.0.1;
    real_ip_header X-Real-IP;
--- config
    keryu_access on;

    location / {
        stub_status;
        add_header X-Result "$keryu_decision:$keryu_rule:$keryu_user:$keryu_roles"
                   always;
    }
--- request
GET /public/x
--- more_headers
X-Real-IP: 2001:db8:1::abcd
--- error_code: 403
--- response_body
{"error":"forbidden","reason":"blocked address"}
--- error_log
keryu denied access: blocked address



=== TEST 28: an address next to a blocked range passes
--- http_config
    keryu_store $TEST_NGINX_KERYU_STORE;
    set_real_ip_from 127.0.0.1;
    real_ip_header X-Real-IP;
--- config
    keryu_access on;

    location / {
        stub_status;
        add_header X-Result "$keryu_decision:$keryu_rule:$keryu_user:$keryu_roles"
                   always;
    }
--- request
GET /public/x
--- more_headers
X-Real-IP: 2001:db8:2::abcd
--- response_headers
X-Result: allow:t-access/public::
--- no_error_log
[error]



=== TEST 29: blocked user
--- http_config
    keryu_store $TEST_NGINX_KERYU_STORE;
--- config
    keryu_access on;

    location / {
        stub_status;
        add_header X-Result "$keryu_decision:$keryu_rule:$keryu_user:$keryu_roles"
                   always;
    }
--- request
GET /admin/
--- more_headers eval
"Authorization: Bearer $::tok{mallory}"
--- error_code: 403
--- response_body
{"error":"forbidden","reason":"blocked user"}
--- error_log
keryu denied access: blocked user, rule "block", user "mallory"



=== TEST 30: IP policy deny list, IPv4
--- http_config
    keryu_store $TEST_NGINX_KERYU_STORE;
    set_real_ip_from 127.0.0.1;
    real_ip_header X-Real-IP;
--- config
    keryu_access on;

    location / {
        stub_status;
        add_header X-Result "$keryu_decision:$keryu_rule:$keryu_user:$keryu_roles"
                   always;
    }
--- request
GET /public/x
--- more_headers
X-Real-IP: 192.0.2.10
--- error_code: 403
--- response_body
{"error":"forbidden","reason":"policy"}
--- error_log
rule "t-ip/ip"



=== TEST 31: IP policy deny list, IPv6
--- http_config
    keryu_store $TEST_NGINX_KERYU_STORE;
    set_real_ip_from 127.0.0.1;
    real_ip_header X-Real-IP;
--- config
    keryu_access on;

    location / {
        stub_status;
        add_header X-Result "$keryu_decision:$keryu_rule:$keryu_user:$keryu_roles"
                   always;
    }
--- request
GET /public/x
--- more_headers eval
"X-Real-IP: 2001:db8:bad::1\nAuthorization: Bearer $::tok{carol}"
--- error_code: 403
--- response_body
{"error":"forbidden","reason":"policy"}
--- error_log
rule "t-ip/ip", user "carol"



=== TEST 32: fail closed when the store cannot be read
--- http_config
    keryu_store $TEST_NGINX_KERYU_BAD_STORE;
--- config
    keryu_access on;

    location / {
        stub_status;
        add_header X-Result "$keryu_decision:$keryu_rule:$keryu_user:$keryu_roles"
                   always;
    }
--- request
GET /public/x
--- error_code: 503
--- response_body
{"error":"unavailable","reason":"policy store unavailable"}
--- error_log
keryu denied access: policy store unavailable



=== TEST 33: fail open when configured
--- http_config
    keryu_store $TEST_NGINX_KERYU_BAD_STORE;
--- config
    keryu_access on;
    keryu_fail open;

    location / {
        stub_status;
        add_header X-Result "$keryu_decision:$keryu_rule:$keryu_user:$keryu_roles"
                   always;
    }
--- request
GET /admin/x
--- response_headers
X-Result: allow:fail_open::
--- no_error_log
keryu denied



=== TEST 34: identity headers from the client never reach the upstream
--- http_config
    keryu_store $TEST_NGINX_KERYU_STORE;
--- config
    location = /upstream {
        return 200 "user=[$http_x_keryu_user] roles=[$http_x_keryu_roles]\n";
    }

    location = /me {
        keryu_access on;
        proxy_set_header X-Keryu-User $keryu_user;
        proxy_set_header X-Keryu-Roles $keryu_roles;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/upstream;
    }
--- request
GET /me
--- more_headers eval
"X-Keryu-User: carol\nX-Keryu-Roles: admin\nAuthorization: Bearer $::tok{alice}"
--- response_body
user=[alice] roles=[user]
--- no_error_log
[error]



=== TEST 35: API key from a configured header
--- http_config
    keryu_store $TEST_NGINX_KERYU_STORE;
--- config
    keryu_access on;
    keryu_identity bearer apikey=X-Api-Key;

    location / {
        stub_status;
        add_header X-Result "$keryu_decision:$keryu_rule:$keryu_user:$keryu_roles"
                   always;
    }
--- request
GET /admin/x
--- more_headers eval
"X-Api-Key: $::tok{apikey}"
--- response_headers
X-Result: allow:t-access/admin:ci-runner:admin
--- no_error_log
[error]



=== TEST 36: unknown API key
--- http_config
    keryu_store $TEST_NGINX_KERYU_STORE;
--- config
    keryu_access on;
    keryu_identity bearer apikey=X-Api-Key;

    location / {
        stub_status;
    }
--- request
GET /admin/x
--- more_headers
X-Api-Key: kak_not-a-key-that-was-ever-issued-by-keryud-0000
--- error_code: 401
--- response_body
{"error":"unauthorized","reason":"invalid api key"}
--- error_log
keryu denied access: invalid api key



=== TEST 37: expired API key
--- http_config
    keryu_store $TEST_NGINX_KERYU_STORE;
--- config
    keryu_access on;
    keryu_identity bearer apikey=X-Api-Key;

    location / {
        stub_status;
    }
--- request
GET /admin/x
--- more_headers eval
"X-Api-Key: $::tok{expired_apikey}"
--- error_code: 401
--- response_body
{"error":"unauthorized","reason":"invalid api key"}
--- error_log
keryu denied access: invalid api key



=== TEST 38: API keys are not read unless configured
--- http_config
    keryu_store $TEST_NGINX_KERYU_STORE;
--- config
    keryu_access on;

    location / {
        stub_status;
    }
--- request
GET /admin/x
--- more_headers eval
"X-Api-Key: $::tok{apikey}"
--- error_code: 401
--- response_body
{"error":"unauthorized","reason":"no credentials"}
--- error_log
keryu denied access: no credentials



=== TEST 39: RS256 key from a PEM file named in the configuration
--- http_config
    keryu_store $TEST_NGINX_KERYU_STORE;
    keryu_jwt_key file-rs RS256 $TEST_NGINX_KERYU_RS_PUB;
--- config
    keryu_access on;

    location / {
        stub_status;
        add_header X-Result "$keryu_decision:$keryu_rule:$keryu_user:$keryu_roles"
                   always;
    }
--- request
GET /admin/x
--- more_headers eval
"Authorization: Bearer $::tok{rsfile}"
--- response_headers
X-Result: allow:t-access/admin:file-user:admin
--- no_error_log
[error]



=== TEST 40: a key file for an algorithm that takes no file
--- http_config
    keryu_store $TEST_NGINX_KERYU_STORE;
    keryu_jwt_key file-hs HS256 $TEST_NGINX_KERYU_RS_PUB;
--- config
    location / {
        stub_status;
    }
--- request
GET /
--- must_die
--- error_log
invalid algorithm "HS256", a key file holds an RS256 or ES256 public key



=== TEST 41: a key file that is not there
--- http_config
    keryu_store $TEST_NGINX_KERYU_STORE;
    keryu_jwt_key gone RS256 /nonexistent/key.pem;
--- config
    location / {
        stub_status;
    }
--- request
GET /
--- must_die
--- error_log
open() "/nonexistent/key.pem" failed (2: No such file or directory)



=== TEST 42: an ES256 file that holds an RSA key
--- http_config
    keryu_store $TEST_NGINX_KERYU_STORE;
    keryu_jwt_key wrong ES256 $TEST_NGINX_KERYU_RS_PUB;
--- config
    location / {
        stub_status;
    }
--- request
GET /
--- must_die
--- error_log eval
qr/\[emerg\] .*invalid key "wrong": /



=== TEST 43: keryu_access without a store
--- config
    location / {
        keryu_access on;
        stub_status;
    }
--- request
GET /
--- must_die
--- error_log
"keryu_access" requires "keryu_store"



=== TEST 44: unknown identity source
--- http_config
    keryu_store $TEST_NGINX_KERYU_STORE;
--- config
    keryu_identity bearer header=X-Token;

    location / {
        stub_status;
    }
--- request
GET /
--- must_die
--- error_log
invalid parameter "header=X-Token"
