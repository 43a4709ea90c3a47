/*
 * Copyright (C) Keryu Security
 *
 * Tests of keryud's JSON output: a record against its exact expected text,
 * invalid UTF-8 replaced rather than refused, and the details field in
 * each of its shapes.
 */


#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "keryud.h"
#include "json.h"
#include "jtree.h"
#include "log.h"


typedef struct {
    const char         *in;
    const char         *out;
} json_case_t;


static void
bytes(keryu_bytes_t *b, const char *s)
{
    b->data = (const uint8_t *) s;
    b->len = strlen(s);
}


static void
record_init(keryu_record_t *rec)
{
    memset(rec, 0, sizeof(keryu_record_t));

    rec->seq = 77;
    rec->time_us = 1796316587123456ULL;
    rec->bytes_sent = 642;
    rec->request_time_us = 1234;
    rec->status = 200;
    rec->type = KERYU_EVENT_REQUEST;
    rec->addr_family = 4;
    memcpy(rec->addr, "\x7f\x00\x00\x01", 4);
    bytes(&rec->user, "alice");
    bytes(&rec->user_agent, "curl/7.88.1");
    bytes(&rec->method, "GET");
    bytes(&rec->host, "example.com");
    bytes(&rec->uri, "/a?b=\"c\"");
}


/* renders rec through an encode/decode round trip, as keryud reads it */

static char *
render(const keryu_record_t *rec)
{
    char            *out;
    size_t           len;
    uint8_t          buf[KERYU_RECORD_MAX_SIZE];
    json_t          *j;
    const uint8_t   *p;
    keryu_record_t   dec;

    len = keryu_record_encode(rec, buf);
    assert_int_equal(keryu_record_decode(&dec, buf, len), 0);

    j = json_new();
    assert_non_null(j);

    json_record(j, 5, &dec);

    if (json_result(j, &p, &len) == -1) {
        fail_msg("%s", json_error(j));
    }

    out = strndup((const char *) p, len);
    assert_non_null(out);

    json_free(j);

    return out;
}


static void
test_record_golden(void **state)
{
    char            *out;
    keryu_record_t   rec;

    (void) state;

    record_init(&rec);
    bytes(&rec.details, "{\"rule\": \"r1\", \"n\": [1, 2.50, -3e2], "
                        "\"ok\": true, \"no\": false, \"x\": null}");

    out = render(&rec);

    assert_string_equal(out,
        "{\"id\":5,\"seq\":77,\"time\":\"2026-12-03T16:49:47.123456Z\","
        "\"event_type\":\"request\",\"user\":\"alice\",\"ip\":\"127.0.0.1\","
        "\"user_agent\":\"curl/7.88.1\",\"method\":\"GET\","
        "\"host\":\"example.com\",\"uri\":\"/a?b=\\\"c\\\"\",\"status\":200,"
        "\"bytes_sent\":642,\"request_time\":0.001234,\"truncated\":false,"
        "\"details\":{\"rule\":\"r1\",\"n\":[1,2.50,-3e2],\"ok\":true,"
        "\"no\":false,\"x\":null}}");

    free(out);
}


static void
test_record_empty_fields(void **state)
{
    char            *out;
    keryu_record_t   rec;

    (void) state;

    memset(&rec, 0, sizeof(keryu_record_t));
    rec.type = KERYU_EVENT_PERMISSION_DENIED;
    rec.status = 403;
    rec.request_time_us = 2500000;
    rec.flags = KERYU_RECORD_F_TRUNCATED;

    out = render(&rec);

    assert_string_equal(out,
        "{\"id\":5,\"seq\":0,\"time\":\"1970-01-01T00:00:00.000000Z\","
        "\"event_type\":\"permission_denied\",\"user\":null,\"ip\":null,"
        "\"user_agent\":\"\",\"method\":\"\",\"host\":\"\",\"uri\":\"\","
        "\"status\":403,\"bytes_sent\":0,\"request_time\":2.500000,"
        "\"truncated\":true,\"details\":{}}");

    free(out);
}


static void
test_record_ipv6_and_bad_utf8(void **state)
{
    char            *out;
    keryu_record_t   rec;

    (void) state;

    record_init(&rec);
    rec.addr_family = 6;
    assert_int_equal(inet_pton(AF_INET6, "2001:db8::1", rec.addr), 1);
    bytes(&rec.user, "b\xffob");
    bytes(&rec.user_agent, "\xc3\xa9t\xc3");
    bytes(&rec.uri, "/\x01\x7f");

    out = render(&rec);

    assert_non_null(strstr(out, "\"ip\":\"2001:db8::1\""));
    assert_non_null(strstr(out, "\"user\":\"b\xef\xbf\xbdob\""));
    assert_non_null(strstr(out, "\"user_agent\":\"\xc3\xa9t\xef\xbf\xbd\""));
    assert_non_null(strstr(out, "\"uri\":\"/\\u0001\x7f\""));

    free(out);
}


static void
test_details_shapes(void **state)
{
    char              *out, *p;
    keryu_record_t     rec;
    const json_case_t *c;

    static const json_case_t  cases[] = {
        { "", "{}" },
        { "{}", "{}" },
        { "{\"a\":", "{}" },
        { "[1,2]", "{}" },
        { "\"str\"", "{}" },
        { "{\"a\":1} x", "{}" },
        { "{\"a\":\"\xff\"}", "{\"a\":\"\xef\xbf\xbd\"}" },
        { "{\"rule\":\"r\",\"block\":\"bad\xc0\xafx\"}",
          "{\"rule\":\"r\",\"block\":\"bad\xef\xbf\xbd\xef\xbf\xbdx\"}" },
        { "{\"a\":1,\xff\"b\":2}", "{}" },
        { "{\"a\":{\"b\":{\"c\":[]}}}", "{\"a\":{\"b\":{\"c\":[]}}}" },
        { "{\"k\\u00e9\":\"\\ud83d\\ude00\"}",
          "{\"k\xc3\xa9\":\"\xf0\x9f\x98\x80\"}" },
        { "{\"deep\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]"
          "]]]]]]]]]]]]]]]]]]]}", "{}" },
        { NULL, NULL }
    };

    (void) state;

    for (c = cases; c->in; c++) {
        record_init(&rec);
        bytes(&rec.details, c->in);

        out = render(&rec);

        p = strstr(out, "\"details\":");
        assert_non_null(p);
        p += 10;
        p[strlen(p) - 1] = '\0';

        if (strcmp(p, c->out) != 0) {
            fail_msg("details %s: got %s, expected %s", c->in, p, c->out);
        }

        free(out);
    }
}


static void
test_utf8_clean(void **state)
{
    size_t              n;
    uint8_t             out[64];
    const json_case_t  *c;

    static const json_case_t  cases[] = {
        { "plain", "plain" },
        { "\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd" },
        { "\xe0\x80\xaf", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" },
        { "\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" },
        { "\xf4\x90\x80\x80",
          "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" },
        { "\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80" },
        { "a\xe2\x82", "a\xef\xbf\xbd\xef\xbf\xbd" },
        { "\xe2\x82\xac", "\xe2\x82\xac" },
        { NULL, NULL }
    };

    (void) state;

    for (c = cases; c->in; c++) {
        n = json_utf8_clean((const uint8_t *) c->in, strlen(c->in), out);

        if (n != strlen(c->out) || memcmp(out, c->out, n) != 0) {
            fail_msg("utf-8 case \"%s\" failed", c->in);
        }
    }
}


static void
test_builder(void **state)
{
    size_t          len;
    json_t         *j;
    const uint8_t  *p;

    (void) state;

    j = json_new();
    assert_non_null(j);

    json_map_open(j);
    json_key(j, "error");
    json_cstring(j, "invalid parameter");
    json_key(j, "parameter");
    json_string(j, (const uint8_t *) "st\xfe", 3);
    json_key(j, "n");
    json_uint(j, UINT64_MAX);
    json_map_close(j);

    assert_int_equal(json_result(j, &p, &len), 0);
    assert_int_equal(len, strlen("{\"error\":\"invalid parameter\","
                                 "\"parameter\":\"st\xef\xbf\xbd\","
                                 "\"n\":18446744073709551615}"));
    assert_memory_equal(p, "{\"error\":\"invalid parameter\","
                        "\"parameter\":\"st\xef\xbf\xbd\","
                        "\"n\":18446744073709551615}", len);

    json_free(j);

    /* a misuse sticks and is reported once, at the end */

    j = json_new();
    assert_non_null(j);

    json_map_open(j);
    json_uint(j, 1);
    json_key(j, "later");
    json_map_close(j);

    assert_int_equal(json_result(j, &p, &len), -1);
    assert_string_equal(json_error(j),
                        "yajl_gen_number() failed: keys must be strings");

    json_free(j);
}



/* a parsed document written back keeps every number as it was written */

static void
tree_written_back_as_read(void **state)
{
    char            err[128];
    size_t          len;
    jtree_t        *t;
    json_t         *j;
    const uint8_t  *out;

    static const char  doc[] =
        "{\"a\":-3,\"b\":1.5,\"c\":[2,\"x\",-0.25e3],\"d\":null,"
        "\"e\":true,\"f\":false,\"g\":{}}";

    (void) state;

    t = jtree_parse(doc, sizeof(doc) - 1, err, sizeof(err));
    assert_non_null(t);

    j = json_new();
    assert_non_null(j);

    jtree_emit(j, t);
    assert_int_equal(json_result(j, &out, &len), 0);
    assert_int_equal(len, sizeof(doc) - 1);
    assert_memory_equal(out, doc, len);

    json_free(j);
    jtree_free(t);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_record_golden),
        cmocka_unit_test(test_record_empty_fields),
        cmocka_unit_test(test_record_ipv6_and_bad_utf8),
        cmocka_unit_test(test_details_shapes),
        cmocka_unit_test(test_utf8_clean),
        cmocka_unit_test(test_builder),
        cmocka_unit_test(tree_written_back_as_read),
    };

    log_init(1, 0);

    return cmocka_run_group_tests(tests, NULL, NULL);
}
