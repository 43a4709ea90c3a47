# vim:set ft= ts=4 sw=4 et fdm=marker:

# What a worker does with a store it cannot use.  These messages come once,
# when the worker starts, so each block runs once.

use Test::Nginx::Socket;

repeat_each(1);

plan tests => repeat_each() * (blocks() * 4);

no_long_string();
run_tests();

__DATA__

=== TEST 1: an unopenable store does not fail requests
--- http_config
    keryu_store $TEST_NGINX_SERVER_ROOT/html/bad;
--- config
    keryu_log on;

    location = /t {
        return 200 "ok\n";
    }
--- user_files
>>> bad/data.mdb
this is not an lmdb environment, and never was one
--- request
GET /t
--- response_body
ok
--- error_log
cannot be opened: MDB_INVALID
--- no_error_log
[emerg]
