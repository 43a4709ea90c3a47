# vim:set ft= ts=4 sw=4 et fdm=marker:

# Sanity suite for the test scaffold itself: stock nginx only, no module
# loaded. It must pass both under the real Test::Nginx::Socket and under
# the compatible runner in t/compat/ (prove -I t/compat t/).

use Test::Nginx::Socket;

repeat_each(2);

plan tests => repeat_each() * (blocks() * 3);

no_long_string();
run_tests();

__DATA__

=== TEST 1: plain return with a body
--- config
    location = /t {
        return 200 "hello\n";
    }
--- request
GET /t
--- response_body
hello
--- no_error_log
[error]



=== TEST 2: response headers present and absent
--- config
    location = /t {
        add_header X-Foo bar;
        return 204;
    }
--- request
GET /t
--- error_code: 204
--- response_headers
X-Foo: bar
! X-Bar



=== TEST 3: 404 status and body regex
--- config
    location = /t {
        return 404;
    }
--- request
GET /t
--- error_code: 404
--- response_body_like: 404 Not Found
--- no_error_log
[error]



=== TEST 4: user_files are served from the html dir
--- config
--- user_files
>>> sub/foo.html
static content
--- request
GET /sub/foo.html
--- response_body
static content
--- no_error_log
[error]



=== TEST 5: error_log eval giving a regex and a plain string
--- config
    location = /t {
        deny all;
    }
--- request
GET /t
--- error_code: 403
--- error_log eval
[qr/\[error\] .*access forbidden by rule/, "client: 127.0.0.1"]



=== TEST 6: nginx must die on an unknown directive
--- config
    location = /t {
        no_such_directive_here on;
    }
--- must_die
--- error_log
unknown directive "no_such_directive_here"
[emerg]



=== TEST 7: more_headers reach nginx
--- config
    location = /t {
        return 200 "foo=$http_x_foo\n";
    }
--- request
GET /t
--- more_headers
X-Foo: some value
--- response_body
foo=some value
--- no_error_log
[error]



=== TEST 8: request body gets a Content-Length
--- config
    location = /t {
        return 200 "$request_method $content_length\n";
    }
--- request
POST /t
hello world
--- response_body
POST 11
--- no_error_log
[error]



=== TEST 9: eval request and $TEST_NGINX_* substitution in config
--- config
    location = /t {
        return 200 "port=$TEST_NGINX_SERVER_PORT args=$args\n";
    }
--- request eval
"GET /t?a=" . (20 + 22)
--- response_body
port=$TEST_NGINX_SERVER_PORT args=a=42
--- response_headers_like
Content-Type: text/plain.*



=== TEST 10: chunked response is decoded
--- config
    location /t {
        sub_filter_types *;
        sub_filter_once off;
        sub_filter cat dog;
    }
--- user_files
>>> t/index.html
cat, cat and cat
--- request
GET /t/
--- response_headers
Transfer-Encoding: chunked
--- response_body
dog, dog and dog



=== TEST 11: per-block log level, with wait
--- config
    location = /t {
        return 200 "ok\n";
    }
--- log_level: warn
--- request
GET /t
--- wait: 0.1
--- no_error_log
[debug]
[info]



=== TEST 12: main_config and http_config land in the right places
--- main_config
worker_rlimit_nofile 1024;
--- http_config
    map $uri $tag {
        default none;
        /t      mapped;
    }
--- config
    location = /t {
        return 200 "$tag\n";
    }
--- request
GET /t
--- response_body
mapped
--- no_error_log
[error]
