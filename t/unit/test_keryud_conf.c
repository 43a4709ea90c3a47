/*
 * Copyright (C) Keryu Security
 *
 * Tests of keryud's configuration parser: a full file, the defaults, and
 * one file per error, each checked against the exact message.
 */


#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "keryud.h"


typedef struct {
    const char         *text;
    const char         *error;        /* after "FILE:" */
} conf_case_t;


static char  conf_file[64];


static int
setup(void **state)
{
    int  fd;

    (void) state;

    strcpy(conf_file, "/tmp/keryud-conf-XXXXXX");

    fd = mkstemp(conf_file);
    assert_true(fd != -1);
    close(fd);

    return 0;
}


static int
teardown(void **state)
{
    (void) state;

    unlink(conf_file);

    return 0;
}


static int
parse(const char *text, conf_t *cf, char *err, size_t errlen)
{
    FILE  *fp;

    fp = fopen(conf_file, "w");
    assert_non_null(fp);
    assert_int_equal(fputs(text, fp) >= 0, 1);
    fclose(fp);

    err[0] = '\0';

    return conf_parse(cf, conf_file, err, errlen);
}


static void
test_full_file(void **state)
{
    char    err[CONF_ERR_MAX];
    conf_t  cf;

    (void) state;

    assert_int_equal(parse("# keryud\n"
                           "store /var/lib/keryu/store;   # shared\n"
                           "data \"/var/lib/keryu/my data\";\n"
                           "listen [::1]:9000;\n"
                           "poll_interval 250ms;\n"
                           "sync_interval 2m;\n"
                           "batch 128;\n"
                           "data_size 64M;\n"
                           "pid_file /run/keryud.pid;\n"
                           "log_level debug;\n",
                           &cf, err, sizeof(err)), 0);

    assert_string_equal(cf.store, "/var/lib/keryu/store");
    assert_string_equal(cf.data, "/var/lib/keryu/my data");
    assert_string_equal(cf.listen_addr, "::1");
    assert_int_equal(cf.listen_port, 9000);
    assert_int_equal(cf.poll_interval, 250);
    assert_int_equal(cf.sync_interval, 120000);
    assert_int_equal(cf.batch, 128);
    assert_int_equal(cf.data_size, 64 * 1024 * 1024);
    assert_string_equal(cf.pid_file, "/run/keryud.pid");
    assert_int_equal(cf.log_debug, 1);
}


static void
test_defaults(void **state)
{
    char    err[CONF_ERR_MAX];
    conf_t  cf;

    (void) state;

    assert_int_equal(parse("store s;data d;", &cf, err, sizeof(err)), 0);

    assert_string_equal(cf.listen_addr, "127.0.0.1");
    assert_int_equal(cf.listen_port, 8081);
    assert_int_equal(cf.poll_interval, 25);
    assert_int_equal(cf.sync_interval, 1000);
    assert_int_equal(cf.batch, 16384);
    assert_int_equal(cf.data_size, 1024ULL * 1024 * 1024);
    assert_string_equal(cf.pid_file, "");
    assert_int_equal(cf.log_debug, 0);
    assert_string_equal(cf.tls_certificate, "");
    assert_string_equal(cf.tls_key, "");
}


static void
test_tls(void **state)
{
    char    err[CONF_ERR_MAX];
    conf_t  cf;

    (void) state;

    assert_int_equal(parse("store s; data d;\n"
                           "tls_key \"/etc/keryu/api key.pem\";\n"
                           "tls_certificate /etc/keryu/api.pem;\n",
                           &cf, err, sizeof(err)), 0);

    assert_string_equal(cf.tls_certificate, "/etc/keryu/api.pem");
    assert_string_equal(cf.tls_key, "/etc/keryu/api key.pem");
}


static void
test_notify(void **state)
{
    char    err[CONF_ERR_MAX];
    conf_t  cf;

    (void) state;

    assert_int_equal(parse("store s; data d;", &cf, err, sizeof(err)), 0);

    assert_string_equal(cf.notify.webhook, "");
    assert_string_equal(cf.notify.secret_file, "");
    assert_int_equal(cf.notify.retries, 5);
    assert_int_equal(cf.notify.timeout, 5000);
    assert_int_equal(cf.notify.backoff, 1000);
    assert_int_equal(cf.notify.insecure, 0);
    assert_int_equal(cf.notify.syslog, 0);
    assert_int_equal(cf.notify.facility, LOG_DAEMON);

    assert_int_equal(parse("store s; data d;\n"
                           "webhook \"https://hooks.example.com:8443/k?a=b\";\n"
                           "webhook_secret /etc/keryu/webhook.secret;\n"
                           "webhook_retries 0;\n"
                           "webhook_timeout 250ms;\n"
                           "webhook_insecure on;\n"
                           "syslog on;\n"
                           "syslog_facility local3;\n",
                           &cf, err, sizeof(err)), 0);

    assert_string_equal(cf.notify.webhook,
                        "https://hooks.example.com:8443/k?a=b");
    assert_string_equal(cf.notify.secret_file, "/etc/keryu/webhook.secret");
    assert_int_equal(cf.notify.retries, 0);
    assert_int_equal(cf.notify.timeout, 250);
    assert_int_equal(cf.notify.insecure, 1);
    assert_int_equal(cf.notify.syslog, 1);
    assert_int_equal(cf.notify.facility, LOG_LOCAL3);

    assert_int_equal(parse("store s; data d; webhook http://10.0.0.1/;\n"
                           "webhook_retries 100; webhook_timeout 5m;\n"
                           "webhook_insecure off; syslog off;\n"
                           "syslog_facility auth;\n",
                           &cf, err, sizeof(err)), 0);

    assert_int_equal(cf.notify.retries, 100);
    assert_int_equal(cf.notify.timeout, 300000);
    assert_int_equal(cf.notify.insecure, 0);
    assert_int_equal(cf.notify.syslog, 0);
    assert_int_equal(cf.notify.facility, LOG_AUTH);

    assert_int_equal(parse("store s; data d; syslog on;\n"
                           "syslog_facility local7;\n",
                           &cf, err, sizeof(err)), 0);

    assert_int_equal(cf.notify.facility, LOG_LOCAL7);
    assert_string_equal(cf.notify.webhook, "");
    assert_int_equal(cf.default_policies, 1);

    assert_int_equal(parse("store s; data d; default_policies off;\n",
                           &cf, err, sizeof(err)), 0);
    assert_int_equal(cf.default_policies, 0);
}


static void
test_units(void **state)
{
    char    err[CONF_ERR_MAX];
    conf_t  cf;

    (void) state;

    assert_int_equal(parse("store s; data d; poll_interval 2; "
                           "sync_interval 1h; data_size 2g;",
                           &cf, err, sizeof(err)), 0);

    assert_int_equal(cf.poll_interval, 2000);
    assert_int_equal(cf.sync_interval, 3600000);
    assert_int_equal(cf.data_size, 2048ULL * 1024 * 1024);

    assert_int_equal(parse("store s; data d; data_size 1048576;",
                           &cf, err, sizeof(err)), 0);
    assert_int_equal(cf.data_size, 1048576);
}


static void
test_errors(void **state)
{
    char                err[CONF_ERR_MAX], expect[CONF_ERR_MAX];
    size_t              i;
    conf_t              cf;
    const conf_case_t  *c;

    static const conf_case_t  cases[] = {
        { "store s; data d; foo 1;\n",
          "1: unknown directive \"foo\"" },
        { "store s;\n\"data\" d;\n",
          "2: unknown directive \"data\"" },
        { "store s;\ndata d;\nstore t;\n",
          "3: \"store\" directive is duplicate, first at line 1" },
        { "store s; data d; batch;\n",
          "1: invalid number of arguments in \"batch\" directive" },
        { "store s; data d; batch 1 2;\n",
          "1: invalid number of arguments in \"batch\" directive" },
        { "store s; data d; batch 1",
          "1: unexpected end of file, expecting \";\"" },
        { "store s; data d; batch 0;",
          "1: invalid number \"0\" in \"batch\" directive, expecting 1 to "
          "1000000" },
        { "store s; data d; batch 12x;",
          "1: invalid number \"12x\" in \"batch\" directive, expecting 1 to "
          "1000000" },
        { "store s; data d; batch -1;",
          "1: invalid number \"-1\" in \"batch\" directive, expecting 1 to "
          "1000000" },
        { "store s; data d; batch 1000001;",
          "1: invalid number \"1000001\" in \"batch\" directive, expecting 1 "
          "to 1000000" },
        { "store s; data d; listen 127.0.0.1;",
          "1: invalid address \"127.0.0.1\" in \"listen\" directive, "
          "expecting ADDR:PORT" },
        { "store s; data d; listen localhost:80;",
          "1: invalid address \"localhost:80\" in \"listen\" directive, "
          "expecting ADDR:PORT" },
        { "store s; data d; listen 127.0.0.1:0;",
          "1: invalid address \"127.0.0.1:0\" in \"listen\" directive, "
          "expecting ADDR:PORT" },
        { "store s; data d; listen 127.0.0.1:65536;",
          "1: invalid address \"127.0.0.1:65536\" in \"listen\" directive, "
          "expecting ADDR:PORT" },
        { "store s; data d; listen ::1:80;",
          "1: invalid address \"::1:80\" in \"listen\" directive, "
          "expecting ADDR:PORT" },
        { "store s; data d; poll_interval 0ms;",
          "1: invalid time \"0ms\" in \"poll_interval\" directive, "
          "expecting 1ms to 60s" },
        { "store s; data d; poll_interval 2d;",
          "1: invalid time \"2d\" in \"poll_interval\" directive, "
          "expecting 1ms to 60s" },
        { "store s; data d; compliance_interval 500ms;",
          "1: invalid time \"500ms\" in \"compliance_interval\" "
          "directive, expecting 1s to 720h" },
        { "store s; data d; compliance_interval 31d;",
          "1: invalid time \"31d\" in \"compliance_interval\" "
          "directive, expecting 1s to 720h" },
        { "store s; data d; sync_interval 5ms;",
          "1: invalid time \"5ms\" in \"sync_interval\" directive, "
          "expecting 10ms to 1h" },
        { "store s; data d; data_size 1k;",
          "1: invalid size \"1k\" in \"data_size\" directive, "
          "expecting 1m to 1024g" },
        { "store s; data d; data_size 1gb;",
          "1: invalid size \"1gb\" in \"data_size\" directive, "
          "expecting 1m to 1024g" },
        { "store s; data d; log_level warn;",
          "1: invalid value \"warn\" in \"log_level\" directive, "
          "expecting \"info\" or \"debug\"" },
        { "store \"\"; data d;",
          "1: empty path in \"store\" directive" },
        { "store \"s;\ndata d;",
          "1: unterminated quoted string" },
        { "store s;",
          " no \"data\" directive" },
        { "# nothing\n",
          " no \"store\" directive" },
        { "store s;\ndata d;\ntls_certificate c.pem;\n",
          "3: no \"tls_key\" directive for \"tls_certificate\"" },
        { "store s;\ndata d;\n\ntls_key k.pem;\n",
          "4: no \"tls_certificate\" directive for \"tls_key\"" },
        { "tls_certificate c.pem;\n",
          " no \"store\" directive" },
        { "store s; data d; tls_certificate \"\"; tls_key k.pem;",
          "1: empty path in \"tls_certificate\" directive" },
        { "store s; data d; tls_certificate c.pem; tls_key;",
          "1: invalid number of arguments in \"tls_key\" directive" },
        { "store s; data d;\ntls_key k.pem;\ntls_key k2.pem;\n",
          "3: \"tls_key\" directive is duplicate, first at line 2" },
        { "store s; data d; webhook ftp://example.com/;",
          "1: invalid URL \"ftp://example.com/\" in \"webhook\" directive, "
          "expecting http:// or https://, a host, and an optional port, "
          "path and query" },
        { "store s; data d; webhook example.com/hook;",
          "1: invalid URL \"example.com/hook\" in \"webhook\" directive, "
          "expecting http:// or https://, a host, and an optional port, "
          "path and query" },
        { "store s; data d; webhook http://u:p@example.com/;",
          "1: invalid URL \"http://u:p@example.com/\" in \"webhook\" "
          "directive, expecting http:// or https://, a host, and an "
          "optional port, path and query" },
        { "store s; data d; webhook http://h/; webhook http://i/;",
          "1: \"webhook\" directive is duplicate, first at line 1" },
        { "store s; data d; webhook http://h/; webhook_secret \"\";",
          "1: empty path in \"webhook_secret\" directive" },
        { "store s; data d; webhook http://h/; webhook_retries 101;",
          "1: invalid number \"101\" in \"webhook_retries\" directive, "
          "expecting 0 to 100" },
        { "store s; data d; webhook http://h/; webhook_retries -1;",
          "1: invalid number \"-1\" in \"webhook_retries\" directive, "
          "expecting 0 to 100" },
        { "store s; data d; webhook http://h/; webhook_timeout 50ms;",
          "1: invalid time \"50ms\" in \"webhook_timeout\" directive, "
          "expecting 100ms to 5m" },
        { "store s; data d; webhook http://h/; webhook_timeout 301;",
          "1: invalid time \"301\" in \"webhook_timeout\" directive, "
          "expecting 100ms to 5m" },
        { "store s; data d; webhook http://h/; webhook_insecure yes;",
          "1: invalid value \"yes\" in \"webhook_insecure\" directive, "
          "expecting \"on\" or \"off\"" },
        { "store s; data d; syslog 1;",
          "1: invalid value \"1\" in \"syslog\" directive, "
          "expecting \"on\" or \"off\"" },
        { "store s; data d; default_policies none;",
          "1: invalid value \"none\" in \"default_policies\" directive, "
          "expecting \"on\" or \"off\"" },
        { "store s; data d; brute_force 10 60s 15m;",
          "1: unknown directive \"brute_force\"" },
        { "store s; data d; syslog_facility local8;",
          "1: invalid value \"local8\" in \"syslog_facility\" directive, "
          "expecting daemon, user, auth or local0 to local7" },
        { "store s; data d; syslog_facility LOCAL0;",
          "1: invalid value \"LOCAL0\" in \"syslog_facility\" directive, "
          "expecting daemon, user, auth or local0 to local7" },
        { "store s;\ndata d;\nwebhook_timeout 1s;\nwebhook_secret f;\n",
          "3: no \"webhook\" directive for \"webhook_timeout\"" },
        { "store s;\ndata d;\n\nwebhook_insecure on;\n",
          "4: no \"webhook\" directive for \"webhook_insecure\"" },
        { NULL, NULL }
    };

    (void) state;

    for (c = cases, i = 0; c->text; c++, i++) {
        snprintf(expect, sizeof(expect), "%s:%s", conf_file, c->error);

        if (parse(c->text, &cf, err, sizeof(err)) != -1) {
            fail_msg("case %zu parsed: %s", i, c->text);
        }

        if (strcmp(err, expect) != 0) {
            fail_msg("case %zu: got \"%s\", expected \"%s\"", i, err,
                     expect);
        }
    }
}


static void
test_missing_file(void **state)
{
    char    err[CONF_ERR_MAX];
    conf_t  cf;

    (void) state;

    assert_int_equal(conf_parse(&cf, "/nonexistent/keryud.conf", err,
                                sizeof(err)), -1);
    assert_string_equal(err, "/nonexistent/keryud.conf: "
                        "No such file or directory");
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test_setup_teardown(test_full_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_defaults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_units, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tls, setup, teardown),
        cmocka_unit_test_setup_teardown(test_notify, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
        cmocka_unit_test(test_missing_file),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
