/*
 * Copyright (C) Keryu Security
 *
 * Tests of the API's query parameters, its cursors and its time format:
 * each parameter's good and bad values, RFC 3339 and epoch times, and
 * matching records against a parsed query.
 */


#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <string.h>

#include "keryud.h"


typedef struct {
    const char         *qs;
    const char         *error;
    const char         *param;
} query_case_t;


typedef struct {
    const char         *text;
    uint64_t            us;
} time_case_t;


static void
test_empty_query_defaults(void **state)
{
    query_t  q;

    (void) state;

    assert_int_equal(query_parse(&q, NULL), 0);
    assert_int_equal(q.limit, QUERY_LIMIT_DEFAULT);
    assert_int_equal(q.event_type, -1);
    assert_int_equal(q.cursor, 0);

    assert_int_equal(query_parse(&q, ""), 0);
    assert_int_equal(q.limit, 100);
}


static void
test_good_values(void **state)
{
    uint8_t  a6[16];
    query_t  q;

    (void) state;

    assert_int_equal(query_parse(&q, "event_type=auth_failure&user=al%20ice"
                                 "&ip=10.1.2.3&status=404&limit=1000"
                                 "&cursor=42&since=1796316587"
                                 "&until=2026-12-03T16:49:47.5%2B01:00"), 0);

    assert_int_equal(q.event_type, KERYU_EVENT_AUTH_FAILURE);
    assert_int_equal(q.has_user, 1);
    assert_int_equal(q.user_len, 6);
    assert_string_equal(q.user, "al ice");
    assert_int_equal(q.addr_family, 4);
    assert_memory_equal(q.addr, "\x0a\x01\x02\x03", 4);
    assert_int_equal(q.status, 404);
    assert_int_equal(q.limit, 1000);
    assert_int_equal(q.cursor, 42);
    assert_int_equal(q.has_since, 1);
    assert_int_equal(q.since, 1796316587000000ULL);
    assert_int_equal(q.has_until, 1);
    assert_int_equal(q.until, 1796312987500000ULL);

    assert_int_equal(query_parse(&q, "ip=2001:db8::1&status=100&limit=1"),
                     0);
    assert_int_equal(q.addr_family, 6);
    assert_int_equal(inet_pton(AF_INET6, "2001:db8::1", a6), 1);
    assert_memory_equal(q.addr, a6, 16);
    assert_int_equal(q.status, 100);
    assert_int_equal(q.limit, 1);

    /* "+" is not a space in a value: offsets need no escaping */

    assert_int_equal(query_parse(&q, "since=2026-12-03T16:49:47+00:00"), 0);
    assert_int_equal(q.since, 1796316587000000ULL);

    assert_int_equal(query_parse(&q, "status=599&ip=%3A%3A1"), 0);
    assert_int_equal(q.status, 599);
    assert_int_equal(q.addr_family, 6);
}


static void
test_bad_values(void **state)
{
    query_t              q;
    const query_case_t  *c;

    static const query_case_t  cases[] = {
        { "event_type=", "invalid parameter", "event_type" },
        { "event_type=Request", "invalid parameter", "event_type" },
        { "event_type=bogus", "invalid parameter", "event_type" },
        { "user=", "invalid parameter", "user" },
        { "user=a%00b", "invalid parameter", "user" },
        { "ip=", "invalid parameter", "ip" },
        { "ip=10.0.0", "invalid parameter", "ip" },
        { "ip=10.0.0.256", "invalid parameter", "ip" },
        { "ip=::g", "invalid parameter", "ip" },
        { "ip=localhost", "invalid parameter", "ip" },
        { "status=", "invalid parameter", "status" },
        { "status=99", "invalid parameter", "status" },
        { "status=600", "invalid parameter", "status" },
        { "status=0200", "invalid parameter", "status" },
        { "status=+200", "invalid parameter", "status" },
        { "status=2e2", "invalid parameter", "status" },
        { "since=", "invalid parameter", "since" },
        { "since=yesterday", "invalid parameter", "since" },
        { "since=2026-13-01T00:00:00Z", "invalid parameter", "since" },
        { "since=2026-02-29T00:00:00Z", "invalid parameter", "since" },
        { "since=2026-12-03T24:00:00Z", "invalid parameter", "since" },
        { "since=2026-12-03T16:49:47", "invalid parameter", "since" },
        { "since=2026-12-03T16:49:47.Z", "invalid parameter", "since" },
        { "since=2026-12-03 16:49:47Z", "invalid parameter", "since" },
        { "since=-5", "invalid parameter", "since" },
        { "until=2026-12-03T16:49:47+0100", "invalid parameter", "until" },
        { "until=2026-12-03T16:49:47+24:00", "invalid parameter", "until" },
        { "until=99999999999999", "invalid parameter", "until" },
        { "limit=0", "invalid parameter", "limit" },
        { "limit=1001", "invalid parameter", "limit" },
        { "limit=ten", "invalid parameter", "limit" },
        { "limit=-1", "invalid parameter", "limit" },
        { "cursor=", "invalid parameter", "cursor" },
        { "cursor=0", "invalid parameter", "cursor" },
        { "cursor=abc", "invalid parameter", "cursor" },
        { "cursor=99999999999999999999", "invalid parameter", "cursor" },
        { "limit=5&limit=6", "invalid parameter", "limit" },
        { "limit", "invalid parameter", "limit" },
        { "sort=asc", "unknown parameter", "sort" },
        { "limit=5&Limit=5", "unknown parameter", "Limit" },
        { "=5", "invalid query", "" },
        { "limit=5&&user=a", "invalid query", "" },
        { NULL, NULL, NULL }
    };

    (void) state;

    for (c = cases; c->qs; c++) {
        if (query_parse(&q, c->qs) != -1) {
            fail_msg("\"%s\" parsed", c->qs);
        }

        if (strcmp(q.error, c->error) != 0 || strcmp(q.bad, c->param) != 0) {
            fail_msg("\"%s\": got %s \"%s\"", c->qs, q.error, q.bad);
        }
    }
}


static void
test_long_parameter_name_cut(void **state)
{
    char     qs[200];
    query_t  q;

    (void) state;

    memset(qs, 'x', 150);
    strcpy(qs + 150, "=1");

    assert_int_equal(query_parse(&q, qs), -1);
    assert_string_equal(q.error, "unknown parameter");
    assert_int_equal(strlen(q.bad), QUERY_NAME_MAX);
}


static void
test_time_parse(void **state)
{
    uint64_t            us;
    const time_case_t  *c;

    static const time_case_t  cases[] = {
        { "2026-12-03T16:49:47Z", 1796316587000000ULL },
        { "2026-12-03t16:49:47z", 1796316587000000ULL },
        { "2026-12-03T16:49:47.123456Z", 1796316587123456ULL },
        { "2026-12-03T16:49:47.1234567Z", 1796316587123456ULL },
        { "2026-12-03T16:49:47.1Z", 1796316587100000ULL },
        { "2026-12-03T17:49:47+01:00", 1796316587000000ULL },
        { "2026-12-03T11:19:47-05:30", 1796316587000000ULL },
        { "1970-01-01T00:00:00Z", 0 },
        { "1969-12-31T23:59:59Z", 0 },
        { "2000-02-29T00:00:00Z", 951782400000000ULL },
        { "2024-02-29T12:00:00Z", 1709208000000000ULL },
        { "1796316587", 1796316587000000ULL },
        { "0", 0 },
        { NULL, 0 }
    };

    (void) state;

    for (c = cases; c->text; c++) {
        if (time_parse(c->text, &us) != 0) {
            fail_msg("\"%s\" did not parse", c->text);
        }

        if (us != c->us) {
            fail_msg("\"%s\": got %llu", c->text, (unsigned long long) us);
        }
    }

    assert_int_equal(time_parse("1900-02-29T00:00:00Z", &us), -1);
    assert_int_equal(time_parse("2026-12-03T16:49:61Z", &us), -1);
    assert_int_equal(time_parse("2026-12-03T16:49:47Zjunk", &us), -1);
    assert_int_equal(time_parse("2026-12-03", &us), -1);
    assert_int_equal(time_parse("", &us), -1);
}


static void
test_time_format(void **state)
{
    char  buf[TIME_STR_MAX];

    (void) state;

    assert_int_equal(time_format(1796316587123456ULL, buf), 27);
    assert_string_equal(buf, "2026-12-03T16:49:47.123456Z");

    time_format(0, buf);
    assert_string_equal(buf, "1970-01-01T00:00:00.000000Z");

    time_format(951782400000007ULL, buf);
    assert_string_equal(buf, "2000-02-29T00:00:00.000007Z");
}


static void
test_match(void **state)
{
    query_t         q;
    keryu_record_t  rec;

    (void) state;

    memset(&rec, 0, sizeof(keryu_record_t));
    rec.type = KERYU_EVENT_LOGIN;
    rec.status = 200;
    rec.time_us = 1796316587000000ULL;
    rec.user.data = (const uint8_t *) "alice";
    rec.user.len = 5;
    rec.addr_family = 4;
    memcpy(rec.addr, "\x7f\x00\x00\x01", 4);

    assert_int_equal(query_parse(&q, ""), 0);
    assert_int_equal(query_match(&q, &rec), 1);

    assert_int_equal(query_parse(&q, "event_type=login&status=200"
                                 "&user=alice&ip=127.0.0.1"), 0);
    assert_int_equal(query_match(&q, &rec), 1);

    assert_int_equal(query_parse(&q, "event_type=logout"), 0);
    assert_int_equal(query_match(&q, &rec), 0);

    assert_int_equal(query_parse(&q, "user=alic"), 0);
    assert_int_equal(query_match(&q, &rec), 0);

    assert_int_equal(query_parse(&q, "user=alice2"), 0);
    assert_int_equal(query_match(&q, &rec), 0);

    assert_int_equal(query_parse(&q, "ip=127.0.0.2"), 0);
    assert_int_equal(query_match(&q, &rec), 0);

    assert_int_equal(query_parse(&q, "ip=::ffff:127.0.0.1"), 0);
    assert_int_equal(query_match(&q, &rec), 0);

    assert_int_equal(query_parse(&q, "status=404"), 0);
    assert_int_equal(query_match(&q, &rec), 0);

    /* since is inclusive, until exclusive */

    assert_int_equal(query_parse(&q, "since=2026-12-03T16:49:47Z"), 0);
    assert_int_equal(query_match(&q, &rec), 1);

    assert_int_equal(query_parse(&q, "until=2026-12-03T16:49:47Z"), 0);
    assert_int_equal(query_match(&q, &rec), 0);

    assert_int_equal(query_parse(&q, "until=2026-12-03T16:49:47.000001Z"),
                     0);
    assert_int_equal(query_match(&q, &rec), 1);

    rec.user.len = 0;
    assert_int_equal(query_parse(&q, "user=alice"), 0);
    assert_int_equal(query_match(&q, &rec), 0);

    rec.addr_family = 0;
    assert_int_equal(query_parse(&q, "ip=127.0.0.1"), 0);
    assert_int_equal(query_match(&q, &rec), 0);
}


static void
test_cursor_parse(void **state)
{
    uint64_t  id;

    (void) state;

    assert_int_equal(query_cursor_parse("1", &id), 0);
    assert_int_equal(id, 1);
    assert_int_equal(query_cursor_parse("18446744073709551615", &id), -1);
    assert_int_equal(query_cursor_parse("1844674407370955161", &id), 0);
    assert_int_equal(query_cursor_parse("01", &id), -1);
    assert_int_equal(query_cursor_parse(" 1", &id), -1);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_empty_query_defaults),
        cmocka_unit_test(test_good_values),
        cmocka_unit_test(test_bad_values),
        cmocka_unit_test(test_long_parameter_name_cut),
        cmocka_unit_test(test_time_parse),
        cmocka_unit_test(test_time_format),
        cmocka_unit_test(test_match),
        cmocka_unit_test(test_cursor_parse),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
