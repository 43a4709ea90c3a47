# vim:set ft= ts=4 sw=4 et fdm=marker:

# Security headers: the presets, each header's directive, inheritance,
# Strict-Transport-Security over https only, upstream headers replaced or
# removed, error responses (nginx's and the module's own) and the errors
# in the directives.

use FindBin;
use lib "$FindBin::Bin/lib";
use File::Temp qw(tempdir);
use JSON::PP;
use KeryuFixture;
use List::Util qw(sum);
use Test::Nginx::Socket;

# a store for the module's own refusals, and one it cannot read

$ENV{TEST_NGINX_KERYU_STORE} = make_store(policies => [
    {
        name => 't-headers', policy_type => 'access',
        rules => [
            { id => 'open', path => '/open', effect => 'allow',
              anyone => JSON::PP::true },
            { id => 'closed', path => '/closed', effect => 'deny',
              anyone => JSON::PP::true },
        ],
    },
]);

$ENV{TEST_NGINX_KERYU_BAD_STORE} = make_store();
{
    mkdir $ENV{TEST_NGINX_KERYU_BAD_STORE};
    open my $fh, '>', "$ENV{TEST_NGINX_KERYU_BAD_STORE}/data.mdb" or die;
    print $fh "not an lmdb file\n" x 100;
}

# the https blocks run only when nginx has the ssl module; their server
# uses a self-signed certificate made here

my $nginx = $ENV{TEST_NGINX_BINARY} || 'nginx';

if (`$nginx -V 2>&1` =~ /--with-http_ssl_module/) {
    my $dir = tempdir('keryu-tls.XXXXXX', TMPDIR => 1, CLEANUP => 1);

    chmod 0755, $dir;
    system("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256"
           . " -nodes -days 2 -subj /CN=localhost -keyout $dir/key.pem"
           . " -out $dir/cert.pem 2>/dev/null") == 0
        or die "openssl req failed";
    chmod 0644, "$dir/key.pem";

    $ENV{TEST_NGINX_KERYU_TLS} = $dir;

} else {
    my $spec = do { local $/; <main::DATA> };
    $spec =~ s/^(=== TEST \d+: .*\bover https\b.*\n)/$1--- SKIP\n/mg;
    spec_string($spec);
}

repeat_each(2);

# a response counts its status, its body, each header and each log line;
# a configuration that must die counts the failed start and its log lines
sub checks {
    my ($block) = @_;
    my $lines = sub {
        my ($s) = @_;
        return 0 unless defined $s;
        return scalar @$s if ref $s eq 'ARRAY';
        return ref $s ? 1 : scalar grep { /\S/ } split /\n/, $s;
    };

    return 1 + $lines->($block->error_log) if defined $block->must_die;

    return 1
           + (defined $block->response_body
              || defined $block->response_body_like ? 1 : 0)
           + $lines->($block->response_headers)
           + $lines->($block->response_headers_like)
           + $lines->($block->error_log)
           + $lines->($block->no_error_log);
}

plan tests => repeat_each() * sum(map { checks($_) } blocks());

no_long_string();
no_shuffle();
no_root_location();
run_tests();

__DATA__

=== TEST 1: basic sends its headers, without HSTS over plain http
--- config
    keryu_security_headers basic;

    location = /t {
        return 200 "ok\n";
    }
--- request
GET /t
--- response_body
ok
--- response_headers
X-Content-Type-Options: nosniff
X-Frame-Options: SAMEORIGIN
Content-Security-Policy: frame-ancestors 'self'
Referrer-Policy: strict-origin-when-cross-origin
! Strict-Transport-Security
! Permissions-Policy
! Cross-Origin-Opener-Policy
--- no_error_log
[error]



=== TEST 2: strict sends its headers
--- config
    keryu_security_headers strict;

    location = /t {
        return 200 "ok\n";
    }
--- request
GET /t
--- response_body
ok
--- response_headers
X-Content-Type-Options: nosniff
X-Frame-Options: DENY
Content-Security-Policy: default-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'
Referrer-Policy: no-referrer
Permissions-Policy: camera=(), microphone=(), geolocation=()
Cross-Origin-Opener-Policy: same-origin
! Strict-Transport-Security
--- no_error_log
[error]



=== TEST 3: off by default
--- config
    location = /t {
        return 200 "ok\n";
    }
--- request
GET /t
--- response_body
ok
--- response_headers
! X-Content-Type-Options
! X-Frame-Options
! Content-Security-Policy
! Referrer-Policy
! Permissions-Policy
! Cross-Origin-Opener-Policy
! Strict-Transport-Security
--- no_error_log
[error]



=== TEST 4: the http level preset reaches every location
--- http_config
    keryu_security_headers basic;
--- config
    location = /t {
        return 200 "ok\n";
    }
--- request
GET /t
--- response_body
ok
--- response_headers
X-Frame-Options: SAMEORIGIN
Content-Security-Policy: frame-ancestors 'self'
--- no_error_log
[error]



=== TEST 5: off in a location turns the server's preset off
--- config
    keryu_security_headers strict;

    location = /t {
        keryu_security_headers off;
        return 200 "ok\n";
    }
--- request
GET /t
--- response_body
ok
--- response_headers
! X-Content-Type-Options
! X-Frame-Options
! Content-Security-Policy
! Referrer-Policy
! Permissions-Policy
! Cross-Origin-Opener-Policy
--- no_error_log
[error]



=== TEST 6: a location's preset replaces the server's
--- config
    keryu_security_headers strict;

    location = /t {
        keryu_security_headers basic;
        return 200 "ok\n";
    }
--- request
GET /t
--- response_body
ok
--- response_headers
X-Frame-Options: SAMEORIGIN
Content-Security-Policy: frame-ancestors 'self'
Referrer-Policy: strict-origin-when-cross-origin
! Permissions-Policy
! Cross-Origin-Opener-Policy
--- no_error_log
[error]



=== TEST 7: headers set at the server stay under a location's preset
--- config
    keryu_csp "default-src https:";
    keryu_referrer_policy same-origin;
    keryu_permissions_policy "camera=(self)";
    keryu_frame_options sameorigin;

    location = /t {
        keryu_security_headers strict;
        return 200 "ok\n";
    }
--- request
GET /t
--- response_body
ok
--- response_headers
Content-Security-Policy: default-src https:
Referrer-Policy: same-origin
Permissions-Policy: camera=(self)
X-Frame-Options: SAMEORIGIN
X-Content-Type-Options: nosniff
Cross-Origin-Opener-Policy: same-origin
--- no_error_log
[error]



=== TEST 8: each header turned off in a location under strict
--- config
    keryu_security_headers strict;

    location = /t {
        keryu_csp off;
        keryu_referrer_policy off;
        keryu_permissions_policy off;
        keryu_content_type_options off;
        return 200 "ok\n";
    }
--- request
GET /t
--- response_body
ok
--- response_headers
! Content-Security-Policy
! Referrer-Policy
! Permissions-Policy
! X-Content-Type-Options
X-Frame-Options: DENY
Cross-Origin-Opener-Policy: same-origin
--- no_error_log
[error]



=== TEST 9: sameorigin framing under strict changes both headers
--- config
    keryu_security_headers strict;
    keryu_frame_options sameorigin;

    location = /t {
        return 200 "ok\n";
    }
--- request
GET /t
--- response_body
ok
--- response_headers
X-Frame-Options: SAMEORIGIN
Content-Security-Policy: default-src 'self'; object-src 'none'; frame-ancestors 'self'; base-uri 'self'; form-action 'self'
--- no_error_log
[error]



=== TEST 10: framing off under strict leaves frame-ancestors out
--- config
    keryu_security_headers strict;

    location = /t {
        keryu_frame_options off;
        return 200 "ok\n";
    }
--- request
GET /t
--- response_body
ok
--- response_headers
! X-Frame-Options
Content-Security-Policy: default-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'
--- no_error_log
[error]



=== TEST 11: deny framing under basic
--- config
    keryu_security_headers basic;
    keryu_frame_options deny;

    location = /t {
        return 200 "ok\n";
    }
--- request
GET /t
--- response_body
ok
--- response_headers
X-Frame-Options: DENY
Content-Security-Policy: frame-ancestors 'none'
--- no_error_log
[error]



=== TEST 12: framing off under basic sends no policy at all
--- config
    keryu_security_headers basic;
    keryu_frame_options off;

    location = /t {
        return 200 "ok\n";
    }
--- request
GET /t
--- response_body
ok
--- response_headers
! X-Frame-Options
! Content-Security-Policy
X-Content-Type-Options: nosniff
--- no_error_log
[error]



=== TEST 13: a policy of one's own is sent as written
--- config
    keryu_security_headers strict;
    keryu_frame_options sameorigin;
    keryu_csp "default-src 'self'; img-src https://cdn.example.com";

    location = /t {
        return 200 "ok\n";
    }
--- request
GET /t
--- response_body
ok
--- response_headers
X-Frame-Options: SAMEORIGIN
Content-Security-Policy: default-src 'self'; img-src https://cdn.example.com
--- no_error_log
[error]



=== TEST 14: header directives without a preset send only themselves
--- config
    keryu_csp "default-src 'none'";
    keryu_permissions_policy "geolocation=(self)";
    keryu_referrer_policy origin;
    keryu_content_type_options on;
    keryu_frame_options deny;

    location = /t {
        return 200 "ok\n";
    }
--- request
GET /t
--- response_body
ok
--- response_headers
Content-Security-Policy: default-src 'none'
Permissions-Policy: geolocation=(self)
Referrer-Policy: origin
X-Content-Type-Options: nosniff
X-Frame-Options: DENY
! Cross-Origin-Opener-Policy
--- no_error_log
[error]



=== TEST 15: keryu_hsts is not sent over plain http
--- config
    keryu_hsts max-age=600 includeSubDomains;

    location = /t {
        return 200 "ok\n";
    }
--- request
GET /t
--- response_body
ok
--- response_headers
! Strict-Transport-Security
--- no_error_log
[error]



=== TEST 16: basic sends HSTS over https
--- http_config
    server {
        listen unix:$TEST_NGINX_SERVER_ROOT/html/tls.sock ssl;
        ssl_certificate $TEST_NGINX_KERYU_TLS/cert.pem;
        ssl_certificate_key $TEST_NGINX_KERYU_TLS/key.pem;

        keryu_security_headers basic;

        location / {
            return 200 "tls\n";
        }
    }
--- config
    location = /t {
        proxy_pass https://unix:$TEST_NGINX_SERVER_ROOT/html/tls.sock:/;
    }
--- request
GET /t
--- response_body
tls
--- response_headers
Strict-Transport-Security: max-age=31536000
X-Frame-Options: SAMEORIGIN
--- no_error_log
[error]



=== TEST 17: strict sends HSTS with includeSubDomains over https
--- http_config
    server {
        listen unix:$TEST_NGINX_SERVER_ROOT/html/tls.sock ssl;
        ssl_certificate $TEST_NGINX_KERYU_TLS/cert.pem;
        ssl_certificate_key $TEST_NGINX_KERYU_TLS/key.pem;

        keryu_security_headers strict;

        location / {
            return 200 "tls\n";
        }
    }
--- config
    location = /t {
        proxy_pass https://unix:$TEST_NGINX_SERVER_ROOT/html/tls.sock:/;
    }
--- request
GET /t
--- response_body
tls
--- response_headers
Strict-Transport-Security: max-age=31536000; includeSubDomains
X-Frame-Options: DENY
--- no_error_log
[error]



=== TEST 18: keryu_hsts with a time and both flags over https
--- http_config
    server {
        listen unix:$TEST_NGINX_SERVER_ROOT/html/tls.sock ssl;
        ssl_certificate $TEST_NGINX_KERYU_TLS/cert.pem;
        ssl_certificate_key $TEST_NGINX_KERYU_TLS/key.pem;

        keryu_security_headers strict;
        keryu_hsts max-age=2y preload includeSubDomains;

        location / {
            return 200 "tls\n";
        }
    }
--- config
    location = /t {
        proxy_pass https://unix:$TEST_NGINX_SERVER_ROOT/html/tls.sock:/;
    }
--- request
GET /t
--- response_body
tls
--- response_headers
Strict-Transport-Security: max-age=63072000; includeSubDomains; preload
--- no_error_log
[error]



=== TEST 19: keryu_hsts off in a location over https
--- http_config
    server {
        listen unix:$TEST_NGINX_SERVER_ROOT/html/tls.sock ssl;
        ssl_certificate $TEST_NGINX_KERYU_TLS/cert.pem;
        ssl_certificate_key $TEST_NGINX_KERYU_TLS/key.pem;

        keryu_security_headers strict;

        location / {
            keryu_hsts off;
            return 200 "tls\n";
        }
    }
--- config
    location = /t {
        proxy_pass https://unix:$TEST_NGINX_SERVER_ROOT/html/tls.sock:/;
    }
--- request
GET /t
--- response_body
tls
--- response_headers
! Strict-Transport-Security
X-Frame-Options: DENY
--- no_error_log
[error]



=== TEST 20: upstream security headers are replaced, never repeated
--- http_config
    server {
        listen unix:$TEST_NGINX_SERVER_ROOT/html/up.sock;

        location / {
            add_header X-Frame-Options "ALLOW-FROM https://evil.example";
            add_header x-frame-options SAMEORIGIN;
            add_header Content-Security-Policy "default-src *";
            add_header Referrer-Policy unsafe-url;
            add_header X-Content-Type-Options nosniff;
            add_header X-Upstream yes;
            return 200 "up\n";
        }
    }
--- config
    keryu_security_headers strict;

    location = /t {
        proxy_pass http://unix:$TEST_NGINX_SERVER_ROOT/html/up.sock:/;
    }
--- request
GET /t
--- response_body
up
--- response_headers
X-Frame-Options: DENY
Content-Security-Policy: default-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'
Referrer-Policy: no-referrer
X-Content-Type-Options: nosniff
X-Upstream: yes
--- no_error_log
[error]



=== TEST 21: a header turned off passes the upstream's through
--- http_config
    server {
        listen unix:$TEST_NGINX_SERVER_ROOT/html/up.sock;

        location / {
            add_header Referrer-Policy unsafe-url;
            add_header Content-Security-Policy "default-src *";
            return 200 "up\n";
        }
    }
--- config
    keryu_security_headers strict;
    keryu_referrer_policy off;
    keryu_csp off;

    location = /t {
        proxy_pass http://unix:$TEST_NGINX_SERVER_ROOT/html/up.sock:/;
    }
--- request
GET /t
--- response_body
up
--- response_headers
Referrer-Policy: unsafe-url
Content-Security-Policy: default-src *
X-Frame-Options: DENY
--- no_error_log
[error]



=== TEST 22: keryu_hide_server_tokens removes what the upstream tells of itself
--- http_config
    server {
        listen unix:$TEST_NGINX_SERVER_ROOT/html/up.sock;

        location / {
            add_header X-Powered-By "PHP/8.2.7";
            add_header X-AspNet-Version 4.0.30319;
            add_header X-AspNetMvc-Version 5.2;
            add_header x-powered-by Express;
            add_header X-Upstream yes;
            return 200 "up\n";
        }
    }
--- config
    keryu_hide_server_tokens on;

    location = /t {
        proxy_pass http://unix:$TEST_NGINX_SERVER_ROOT/html/up.sock:/;
        proxy_pass_header Server;
    }
--- request
GET /t
--- response_body
up
--- response_headers
! Server
! X-Powered-By
! x-powered-by
! X-AspNet-Version
! X-AspNetMvc-Version
X-Upstream: yes
--- no_error_log
[error]



=== TEST 23: the upstream's Server passes when keryu_hide_server_tokens is off
--- http_config
    server {
        listen unix:$TEST_NGINX_SERVER_ROOT/html/up.sock;
        server_tokens off;

        location / {
            add_header X-Powered-By "PHP/8.2.7";
            return 200 "up\n";
        }
    }
--- config
    keryu_hide_server_tokens on;

    location = /t {
        keryu_hide_server_tokens off;
        proxy_pass http://unix:$TEST_NGINX_SERVER_ROOT/html/up.sock:/;
        proxy_pass_header Server;
    }
--- request
GET /t
--- response_body
up
--- response_headers
Server: nginx
X-Powered-By: PHP/8.2.7
--- no_error_log
[error]



=== TEST 24: nginx's own error page has no Server header and no version
--- config
    keryu_hide_server_tokens on;
    keryu_security_headers basic;

    location = /t {
        return 404;
    }
--- request
GET /t
--- error_code: 404
--- response_body_like chomp
<hr><center>nginx</center>\r?\n</body>
--- response_headers
! Server
X-Frame-Options: SAMEORIGIN
--- no_error_log
[error]



=== TEST 25: headers on a 404 for a missing file
--- config
    keryu_security_headers strict;

    location /files/ {
        root $TEST_NGINX_SERVER_ROOT/html;
        log_not_found off;
    }
--- request
GET /files/missing.txt
--- error_code: 404
--- response_headers
X-Frame-Options: DENY
Cross-Origin-Opener-Policy: same-origin
--- no_error_log
[error]



=== TEST 26: headers on a 500
--- config
    keryu_security_headers strict;

    location = /t {
        return 500;
    }
--- request
GET /t
--- error_code: 500
--- response_headers
X-Frame-Options: DENY
Referrer-Policy: no-referrer
--- no_error_log
[error]



=== TEST 27: an error page from another location takes that location's headers
--- config
    keryu_security_headers strict;

    location = /t {
        error_page 503 = @busy;
        return 503;
    }

    location @busy {
        keryu_frame_options sameorigin;
        return 200 "busy\n";
    }
--- request
GET /t
--- response_body
busy
--- response_headers
X-Frame-Options: SAMEORIGIN
Content-Security-Policy: default-src 'self'; object-src 'none'; frame-ancestors 'self'; base-uri 'self'; form-action 'self'
--- no_error_log
[error]



=== TEST 28: headers on a 304
--- user_files
>>> files/a.txt 202001010000
hello
--- config
    keryu_security_headers basic;

    location /files/ {
        root $TEST_NGINX_SERVER_ROOT/html;
    }
--- request
GET /files/a.txt
--- more_headers
If-Modified-Since: Wed, 01 Jan 2020 00:00:00 GMT
--- error_code: 304
--- response_headers
X-Frame-Options: SAMEORIGIN
X-Content-Type-Options: nosniff
--- no_error_log
[error]



=== TEST 29: a 412 made after the headers were set has them once
--- user_files
>>> files/a.txt 202001010000
hello
--- config
    keryu_security_headers basic;

    location /files/ {
        root $TEST_NGINX_SERVER_ROOT/html;
    }
--- request
GET /files/a.txt
--- more_headers
If-Unmodified-Since: Tue, 31 Dec 2019 00:00:00 GMT
--- error_code: 412
--- response_headers
X-Frame-Options: SAMEORIGIN
Content-Security-Policy: frame-ancestors 'self'
X-Content-Type-Options: nosniff
--- no_error_log
[error]



=== TEST 30: headers on the module's 401
--- http_config
    keryu_store $TEST_NGINX_KERYU_STORE;
--- config
    keryu_access on;
    keryu_security_headers strict;
    keryu_hide_server_tokens on;

    location / {
        root $TEST_NGINX_SERVER_ROOT/html;
    }
--- request
GET /private
--- error_code: 401
--- response_body
{"error":"unauthorized","reason":"no credentials"}
--- response_headers
Content-Type: application/json
WWW-Authenticate: Bearer
X-Frame-Options: DENY
Content-Security-Policy: default-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'
! Server
--- error_log
keryu denied access: no credentials



=== TEST 31: headers on the module's 403
--- http_config
    keryu_store $TEST_NGINX_KERYU_STORE;
--- config
    keryu_access on;
    keryu_security_headers basic;

    location / {
        root $TEST_NGINX_SERVER_ROOT/html;
    }
--- request
GET /closed
--- error_code: 403
--- response_body
{"error":"forbidden","reason":"policy"}
--- response_headers
Content-Type: application/json
X-Frame-Options: SAMEORIGIN
X-Content-Type-Options: nosniff
--- error_log
keryu denied access: policy, rule "t-headers/closed"



=== TEST 32: headers on the module's 503
--- http_config
    keryu_store $TEST_NGINX_KERYU_BAD_STORE;
--- config
    keryu_access on;
    keryu_security_headers basic;

    location / {
        root $TEST_NGINX_SERVER_ROOT/html;
    }
--- request
GET /open
--- error_code: 503
--- response_body
{"error":"unavailable","reason":"policy store unavailable"}
--- response_headers
X-Frame-Options: SAMEORIGIN
Referrer-Policy: strict-origin-when-cross-origin
--- error_log
keryu denied access: policy store unavailable



=== TEST 33: an allowed request through the module gets them too
--- http_config
    keryu_store $TEST_NGINX_KERYU_STORE;
--- config
    keryu_access on;
    keryu_security_headers basic;

    location / {
        root $TEST_NGINX_SERVER_ROOT/html;
    }
--- user_files
>>> open
ok
--- request
GET /open
--- response_body
ok
--- response_headers
X-Frame-Options: SAMEORIGIN
--- no_error_log
[error]



=== TEST 34: bad preset
--- config
    keryu_security_headers paranoid;
--- request
GET /t
--- must_die
--- error_log eval
qr/\[emerg\] .*\Qinvalid value "paranoid" in "keryu_security_headers" directive, it must be "off", "basic" or "strict"\E/



=== TEST 35: bad frame option
--- config
    location = /t {
        keryu_frame_options allow-from;
    }
--- request
GET /t
--- must_die
--- error_log eval
qr/\[emerg\] .*\Qinvalid value "allow-from" in "keryu_frame_options" directive, it must be "deny", "sameorigin" or "off"\E/



=== TEST 36: a referrer policy outside the specification
--- config
    keryu_referrer_policy same-site;
--- request
GET /t
--- must_die
--- error_log eval
qr/\[emerg\] .*\Qinvalid value "same-site" in "keryu_referrer_policy" directive, it must be a Referrer-Policy token or "off"\E/



=== TEST 37: HSTS without a max-age
--- config
    keryu_hsts includeSubDomains;
--- request
GET /t
--- must_die
--- error_log eval
qr/\[emerg\] .*\Qinvalid value "includeSubDomains" in "keryu_hsts" directive, it must be "max-age=<time>" or "off"\E/



=== TEST 38: HSTS with a max-age that is no time
--- config
    keryu_hsts max-age=forever;
--- request
GET /t
--- must_die
--- error_log eval
qr/\[emerg\] .*\Qinvalid value "max-age=forever" in "keryu_hsts" directive, it must be "max-age=<time>" or "off"\E/



=== TEST 39: HSTS with an unknown flag
--- config
    keryu_hsts max-age=600 subdomains;
--- request
GET /t
--- must_die
--- error_log eval
qr/\[emerg\] .*\Qinvalid parameter "subdomains"\E/



=== TEST 40: HSTS flag given twice
--- config
    keryu_hsts max-age=600 preload preload;
--- request
GET /t
--- must_die
--- error_log eval
qr/\[emerg\] .*\Qinvalid parameter "preload"\E/



=== TEST 41: HSTS off with a flag
--- config
    keryu_hsts off preload;
--- request
GET /t
--- must_die
--- error_log eval
qr/\[emerg\] .*\Qinvalid parameter "preload"\E/



=== TEST 42: an empty policy
--- config
    keryu_csp "";
--- request
GET /t
--- must_die
--- error_log eval
qr/\[emerg\] .*\Qinvalid value "" in "keryu_csp" directive, it must be a policy in printable ASCII or "off"\E/



=== TEST 43: a policy that would split the header
--- config
    keryu_permissions_policy "camera=()\r\nX-Injected: 1";
--- request
GET /t
--- must_die
--- error_log eval
qr/\[emerg\] .*\Qinvalid character in "keryu_permissions_policy" directive, it must be a policy in printable ASCII or "off"\E/



=== TEST 44: not a flag
--- config
    keryu_content_type_options nosniff;
--- request
GET /t
--- must_die
--- error_log eval
qr/\[emerg\] .*\Qinvalid value "nosniff" in "keryu_content_type_options" directive, it must be "on" or "off"\E/



=== TEST 45: keryu_hide_server_tokens is a flag
--- config
    keryu_hide_server_tokens yes;
--- request
GET /t
--- must_die
--- error_log eval
qr/\[emerg\] .*\Qinvalid value "yes" in "keryu_hide_server_tokens" directive, it must be "on" or "off"\E/



=== TEST 46: a preset given twice at one level
--- config
    keryu_security_headers basic;
    keryu_security_headers strict;
--- request
GET /t
--- must_die
--- error_log eval
qr/\[emerg\] .*\Q"keryu_security_headers" directive is duplicate\E/



=== TEST 47: a policy given twice at one level
--- config
    keryu_csp "default-src 'self'";
    keryu_csp off;
--- request
GET /t
--- must_die
--- error_log eval
qr/\[emerg\] .*\Q"keryu_csp" directive is duplicate\E/
