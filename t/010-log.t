# vim:set ft= ts=4 sw=4 et fdm=marker:

use Test::Nginx::Socket;

repeat_each(2);

# a block that must die checks the failed start and one log line
plan tests => repeat_each()
              * (blocks() * 3 - grep { defined $_->must_die } blocks());

no_long_string();
run_tests();

__DATA__

=== TEST 1: a request is recorded
--- http_config
    keryu_store $TEST_NGINX_SERVER_ROOT/store_cache;
--- config
    keryu_log on;

    location = /t {
        return 200 "ok\n";
    }
--- request
GET /t
--- response_body
ok
--- error_log eval
qr/keryu log: seq \d+, status 200, type request/



=== TEST 2: the status sent is the status recorded
--- http_config
    keryu_store $TEST_NGINX_SERVER_ROOT/store_cache;
--- config
    keryu_log on;

    location = /t {
        return 404;
    }
--- request
GET /t
--- error_code: 404
--- error_log eval
qr/keryu log: seq \d+, status 404, type request/
--- no_error_log
[alert]



=== TEST 3: keryu_log off in a location is not recorded
--- http_config
    keryu_store $TEST_NGINX_SERVER_ROOT/store_cache;
--- config
    keryu_log on;

    location = /t {
        keryu_log off;
        return 200 "ok\n";
    }
--- request
GET /t
--- response_body
ok
--- no_error_log
keryu log:



=== TEST 4: off by default
--- http_config
    keryu_store $TEST_NGINX_SERVER_ROOT/store_cache;
--- config
    location = /t {
        return 200 "ok\n";
    }
--- request
GET /t
--- response_body
ok
--- no_error_log
keryu log:



=== TEST 5: the location that finishes the request decides
--- http_config
    keryu_store $TEST_NGINX_SERVER_ROOT/store_cache;
--- config
    location = /t {
        rewrite ^ /logged last;
    }

    location = /logged {
        keryu_log on;
        return 200 "logged\n";
    }
--- request
GET /t
--- response_body
logged
--- error_log eval
qr/keryu log: seq \d+, status 200/



=== TEST 6: store path that cannot be made
--- http_config
    keryu_store /nonexistent/keryu/store;
--- config
    location = /t {
        return 200;
    }
--- request
GET /t
--- must_die
--- error_log
mkdir() "/nonexistent/keryu/store" failed (2: No such file or directory)



=== TEST 7: store path that is a file
--- http_config
    keryu_store $TEST_NGINX_SERVER_ROOT/conf/nginx.conf;
--- config
    location = /t {
        return 200;
    }
--- request
GET /t
--- must_die
--- error_log eval
qr/\[emerg\] .*store "[^"]+\/conf\/nginx\.conf" is not a directory/



=== TEST 8: unknown parameter
--- http_config
    keryu_store $TEST_NGINX_SERVER_ROOT/store_cache rings=10;
--- config
    location = /t {
        return 200;
    }
--- request
GET /t
--- must_die
--- error_log
invalid parameter "rings=10"



=== TEST 9: ring of zero records
--- http_config
    keryu_store $TEST_NGINX_SERVER_ROOT/store_cache ring=0;
--- config
    location = /t {
        return 200;
    }
--- request
GET /t
--- must_die
--- error_log
invalid parameter "ring=0"



=== TEST 10: store size below the minimum
--- http_config
    keryu_store $TEST_NGINX_SERVER_ROOT/store_cache size=64k;
--- config
    location = /t {
        return 200;
    }
--- request
GET /t
--- must_die
--- error_log
store size "size=64k" is too small



=== TEST 11: bad flush interval
--- http_config
    keryu_store $TEST_NGINX_SERVER_ROOT/store_cache flush=soon;
--- config
    location = /t {
        return 200;
    }
--- request
GET /t
--- must_die
--- error_log
invalid parameter "flush=soon"



=== TEST 12: duplicate store
--- http_config
    keryu_store $TEST_NGINX_SERVER_ROOT/store_cache;
    keryu_store $TEST_NGINX_SERVER_ROOT/store2_cache;
--- config
    location = /t {
        return 200;
    }
--- request
GET /t
--- must_die
--- error_log
"keryu_store" directive is duplicate



=== TEST 13: keryu_log without a store
--- config
    location = /t {
        keryu_log on;
        return 200;
    }
--- request
GET /t
--- must_die
--- error_log
"keryu_log" requires "keryu_store"



=== TEST 14: keryu_store only in the http block
--- config
    keryu_store $TEST_NGINX_SERVER_ROOT/store_cache;

    location = /t {
        return 200;
    }
--- request
GET /t
--- must_die
--- error_log
"keryu_store" directive is not allowed here



=== TEST 15: sizes and intervals with units
--- http_config
    keryu_store $TEST_NGINX_SERVER_ROOT/store_cache size=8m ring=500 flush=20ms;
--- config
    keryu_log on;

    location = /t {
        return 200 "ok\n";
    }
--- request
GET /t
--- response_body
ok
--- error_log eval
qr/keryu log: seq \d+, status 200/
