
/*
 * Copyright (C) Keryu Security
 *
 * Unit tests for the record codec: what an encoder writes comes back
 * unchanged from the decoder, strings over their caps are cut and flagged,
 * the decoder refuses whatever is not a complete record of version 1, and
 * the bytes sit at the offsets that keryu_record.h documents, since records
 * already stored depend on them.
 */


#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "keryu_record.h"


#define TEST_NFIELDS  6


static const uint8_t  test_addr6[16] = {
    0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x42
};


static keryu_bytes_t *
test_field(keryu_record_t *rec, size_t i)
{
    keryu_bytes_t  *fields[TEST_NFIELDS];

    fields[0] = &rec->user;
    fields[1] = &rec->user_agent;
    fields[2] = &rec->method;
    fields[3] = &rec->host;
    fields[4] = &rec->uri;
    fields[5] = &rec->details;

    return fields[i];
}


static size_t
test_cap(size_t i)
{
    static const size_t  caps[TEST_NFIELDS] = {
        KERYU_RECORD_USER_MAX,
        KERYU_RECORD_AGENT_MAX,
        KERYU_RECORD_METHOD_MAX,
        KERYU_RECORD_HOST_MAX,
        KERYU_RECORD_URI_MAX,
        KERYU_RECORD_DETAILS_MAX
    };

    return caps[i];
}


static void
test_set(keryu_bytes_t *b, const char *s)
{
    b->len = strlen(s);
    b->data = (const uint8_t *) s;
}


/* a record with every field set to a value that no other field shares */

static void
test_record_full(keryu_record_t *rec)
{
    memset(rec, 0, sizeof(keryu_record_t));

    rec->seq = 0x0102030405060708ULL;
    rec->time_us = 0x1112131415161718ULL;
    rec->bytes_sent = 0x2122232425262728ULL;
    rec->request_time_us = 0x3132333435363738ULL;
    rec->status = 403;
    rec->type = KERYU_EVENT_PERMISSION_DENIED;
    rec->flags = 0;
    rec->addr_family = 6;
    memcpy(rec->addr, test_addr6, 16);

    test_set(&rec->user, "alice");
    test_set(&rec->user_agent, "curl/8.0");
    test_set(&rec->method, "DELETE");
    test_set(&rec->host, "api.example.test");
    test_set(&rec->uri, "/admin/users/7?force=1");
    test_set(&rec->details, "{\"rule\":\"admin_only\"}");
}


static void
test_bytes_equal(const keryu_bytes_t *a, const keryu_bytes_t *b)
{
    assert_int_equal(a->len, b->len);

    if (a->len) {
        assert_memory_equal(a->data, b->data, a->len);
    }
}


static void
encode_then_decode_keeps_every_field(void **state)
{
    size_t          i, size, n, off;
    uint8_t         buf[KERYU_RECORD_MAX_SIZE];
    keryu_record_t  rec, out;

    (void) state;

    test_record_full(&rec);

    size = keryu_record_size(&rec);
    n = keryu_record_encode(&rec, buf);

    assert_int_equal(n, size);
    assert_int_equal(size, KERYU_RECORD_HEADER_SIZE + 5 + 8 + 6 + 16 + 22 + 21);

    memset(&out, 0xa5, sizeof(keryu_record_t));
    assert_int_equal(keryu_record_decode(&out, buf, n), 0);

    assert_true(out.seq == rec.seq);
    assert_true(out.time_us == rec.time_us);
    assert_true(out.bytes_sent == rec.bytes_sent);
    assert_true(out.request_time_us == rec.request_time_us);
    assert_int_equal(out.status, 403);
    assert_int_equal(out.type, KERYU_EVENT_PERMISSION_DENIED);
    assert_int_equal(out.flags, 0);
    assert_int_equal(out.addr_family, 6);
    assert_memory_equal(out.addr, test_addr6, 16);

    /* the strings are not copied: they point into the decoded buffer */

    off = KERYU_RECORD_HEADER_SIZE;

    for (i = 0; i < TEST_NFIELDS; i++) {
        test_bytes_equal(test_field(&out, i), test_field(&rec, i));
        assert_ptr_equal(test_field(&out, i)->data, buf + off);
        off += test_field(&rec, i)->len;
    }

    assert_int_equal(off, n);
}


static void
encode_then_decode_keeps_ipv4_and_empty_strings(void **state)
{
    size_t          i, n;
    uint8_t         buf[KERYU_RECORD_MAX_SIZE];
    keryu_record_t  rec, out;

    (void) state;

    memset(&rec, 0, sizeof(keryu_record_t));

    rec.seq = 1;
    rec.status = 200;
    rec.type = KERYU_EVENT_SYSTEM_CHANGE;
    rec.addr_family = 4;
    rec.addr[0] = 192;
    rec.addr[1] = 0;
    rec.addr[2] = 2;
    rec.addr[3] = 1;

    assert_int_equal(keryu_record_size(&rec), KERYU_RECORD_HEADER_SIZE);

    n = keryu_record_encode(&rec, buf);
    assert_int_equal(n, KERYU_RECORD_HEADER_SIZE);

    memset(&out, 0xa5, sizeof(keryu_record_t));
    assert_int_equal(keryu_record_decode(&out, buf, n), 0);

    assert_true(out.seq == 1);
    assert_true(out.time_us == 0);
    assert_true(out.bytes_sent == 0);
    assert_true(out.request_time_us == 0);
    assert_int_equal(out.status, 200);
    assert_int_equal(out.type, KERYU_EVENT_SYSTEM_CHANGE);
    assert_int_equal(out.flags, 0);
    assert_int_equal(out.addr_family, 4);
    assert_memory_equal(out.addr, rec.addr, 16);

    for (i = 0; i < TEST_NFIELDS; i++) {
        assert_int_equal(test_field(&out, i)->len, 0);
    }

    /* no address at all is a valid record too */

    rec.addr_family = 0;
    memset(rec.addr, 0, 16);

    n = keryu_record_encode(&rec, buf);
    assert_int_equal(keryu_record_decode(&out, buf, n), 0);
    assert_int_equal(out.addr_family, 0);
}


static void
each_string_over_its_cap_is_cut_and_flagged(void **state)
{
    size_t          i, j, n, size, cap;
    uint8_t         long_bytes[KERYU_RECORD_URI_MAX + 1];
    uint8_t         buf[KERYU_RECORD_MAX_SIZE + 16];
    keryu_record_t  rec, out;

    (void) state;

    for (i = 0; i < sizeof(long_bytes); i++) {
        long_bytes[i] = (uint8_t) ('a' + i % 26);
    }

    for (i = 0; i < TEST_NFIELDS; i++) {
        cap = test_cap(i);

        /* a string exactly at its cap is kept whole and not flagged */

        test_record_full(&rec);
        test_field(&rec, i)->len = cap;
        test_field(&rec, i)->data = long_bytes;

        size = keryu_record_size(&rec);
        n = keryu_record_encode(&rec, buf);
        assert_int_equal(n, size);

        assert_int_equal(keryu_record_decode(&out, buf, n), 0);
        assert_int_equal(out.flags & KERYU_RECORD_F_TRUNCATED, 0);
        assert_int_equal(test_field(&out, i)->len, cap);

        /* one byte more is cut to the cap, and the record says so */

        test_field(&rec, i)->len = cap + 1;

        memset(buf, 0xa5, sizeof(buf));

        assert_int_equal(keryu_record_size(&rec), size);
        n = keryu_record_encode(&rec, buf);
        assert_int_equal(n, size);

        for (j = n; j < sizeof(buf); j++) {
            assert_int_equal(buf[j], 0xa5);
        }

        assert_int_equal(keryu_record_decode(&out, buf, n), 0);
        assert_int_equal(out.flags & KERYU_RECORD_F_TRUNCATED,
                         KERYU_RECORD_F_TRUNCATED);
        assert_int_equal(test_field(&out, i)->len, cap);
        assert_memory_equal(test_field(&out, i)->data, long_bytes, cap);

        for (j = 0; j < TEST_NFIELDS; j++) {
            if (j != i) {
                test_bytes_equal(test_field(&out, j), test_field(&rec, j));
            }
        }

        /* the caller's record is left as it was */

        assert_int_equal(rec.flags, 0);
        assert_int_equal(test_field(&rec, i)->len, cap + 1);
    }

    /* every string over its cap makes the largest record there is */

    test_record_full(&rec);

    for (i = 0; i < TEST_NFIELDS; i++) {
        test_field(&rec, i)->len = sizeof(long_bytes);
        test_field(&rec, i)->data = long_bytes;
    }

    memset(buf, 0xa5, sizeof(buf));

    assert_int_equal(keryu_record_size(&rec), KERYU_RECORD_MAX_SIZE);
    n = keryu_record_encode(&rec, buf);
    assert_int_equal(n, KERYU_RECORD_MAX_SIZE);

    for (j = n; j < sizeof(buf); j++) {
        assert_int_equal(buf[j], 0xa5);
    }

    assert_int_equal(keryu_record_decode(&out, buf, n), 0);
    assert_int_equal(out.flags, KERYU_RECORD_F_TRUNCATED);

    for (i = 0; i < TEST_NFIELDS; i++) {
        assert_int_equal(test_field(&out, i)->len, test_cap(i));
    }
}


static void
decode_refuses_short_buffer(void **state)
{
    size_t          n, len;
    uint8_t         buf[KERYU_RECORD_MAX_SIZE];
    keryu_record_t  rec, out;

    (void) state;

    test_record_full(&rec);
    n = keryu_record_encode(&rec, buf);

    assert_int_equal(keryu_record_decode(&out, buf, 0), -1);

    /* a header cut anywhere, and strings cut anywhere, are refused */

    for (len = 1; len < n; len++) {
        assert_int_equal(keryu_record_decode(&out, buf, len), -1);
    }

    assert_int_equal(keryu_record_decode(&out, buf, n), 0);
}


static void
decode_refuses_unknown_version(void **state)
{
    size_t          n;
    uint8_t         buf[KERYU_RECORD_MAX_SIZE];
    keryu_record_t  rec, out;

    (void) state;

    test_record_full(&rec);
    n = keryu_record_encode(&rec, buf);

    assert_int_equal(buf[0], KERYU_RECORD_VERSION);

    buf[0] = 0;
    assert_int_equal(keryu_record_decode(&out, buf, n), -1);

    buf[0] = KERYU_RECORD_VERSION_SEALED + 1;
    assert_int_equal(keryu_record_decode(&out, buf, n), -1);

    buf[0] = 0xff;
    assert_int_equal(keryu_record_decode(&out, buf, n), -1);
}


static void
decode_refuses_length_pointing_past_end(void **state)
{
    size_t          i, n, at, len;
    uint8_t         buf[KERYU_RECORD_MAX_SIZE], copy[KERYU_RECORD_MAX_SIZE];
    keryu_record_t  rec, out;

    (void) state;

    test_record_full(&rec);
    n = keryu_record_encode(&rec, buf);

    /* each field's length in turn claims one byte more than the buffer has */

    for (i = 0; i < TEST_NFIELDS; i++) {
        memcpy(copy, buf, n);

        at = 56 + 2 * i;
        len = (copy[at] | copy[at + 1] << 8) + 1;
        copy[at] = (uint8_t) len;
        copy[at + 1] = (uint8_t) (len >> 8);

        assert_int_equal(keryu_record_decode(&out, copy, n), -1);

        /* and the largest length there is */

        copy[at] = 0xff;
        copy[at + 1] = 0xff;

        assert_int_equal(keryu_record_decode(&out, copy, n), -1);
    }
}


static void
decode_refuses_unknown_event_type(void **state)
{
    size_t          n;
    uint8_t         buf[KERYU_RECORD_MAX_SIZE];
    keryu_record_t  rec, out;

    (void) state;

    test_record_full(&rec);
    n = keryu_record_encode(&rec, buf);

    buf[1] = KERYU_EVENT_MAX - 1;
    assert_int_equal(keryu_record_decode(&out, buf, n), 0);

    buf[1] = KERYU_EVENT_MAX;
    assert_int_equal(keryu_record_decode(&out, buf, n), -1);

    buf[1] = 0xff;
    assert_int_equal(keryu_record_decode(&out, buf, n), -1);
}


static void
decode_refuses_bad_address_family(void **state)
{
    int             rc;
    size_t          n;
    uint8_t         buf[KERYU_RECORD_MAX_SIZE];
    unsigned        family;
    keryu_record_t  rec, out;

    (void) state;

    test_record_full(&rec);
    n = keryu_record_encode(&rec, buf);

    for (family = 0; family < 256; family++) {
        buf[4] = (uint8_t) family;

        rc = keryu_record_decode(&out, buf, n);

        if (family == 0 || family == 4 || family == 6) {
            assert_int_equal(rc, 0);
            assert_int_equal(out.addr_family, family);

        } else {
            assert_int_equal(rc, -1);
        }
    }
}


static void
peek_seq_reads_sequence_without_decoding(void **state)
{
    size_t          n;
    uint8_t         buf[KERYU_RECORD_MAX_SIZE];
    uint64_t        seq;
    keryu_record_t  rec;

    (void) state;

    test_record_full(&rec);
    n = keryu_record_encode(&rec, buf);

    seq = 0;
    assert_int_equal(keryu_record_peek_seq(buf, n, &seq), 0);
    assert_true(seq == 0x0102030405060708ULL);

    /* the header alone is enough */

    seq = 0;
    assert_int_equal(keryu_record_peek_seq(buf, KERYU_RECORD_HEADER_SIZE,
                                           &seq), 0);
    assert_true(seq == 0x0102030405060708ULL);

    /* a short buffer is refused and seq is left alone */

    seq = 7;
    assert_int_equal(keryu_record_peek_seq(buf, KERYU_RECORD_HEADER_SIZE - 1,
                                           &seq), -1);
    assert_true(seq == 7);

    assert_int_equal(keryu_record_peek_seq(buf, 0, &seq), -1);
    assert_true(seq == 7);
}


static void
event_names_and_numbers_map_both_ways(void **state)
{
    unsigned     i;
    const char  *name;

    static const char  *names[] = {
        "request",
        "login",
        "logout",
        "auth_failure",
        "permission_denied",
        "data_access",
        "system_change",
        "input_rejected"
    };

    (void) state;

    /* the numbers are part of the stored format */

    assert_int_equal(KERYU_EVENT_REQUEST, 0);
    assert_int_equal(KERYU_EVENT_LOGIN, 1);
    assert_int_equal(KERYU_EVENT_LOGOUT, 2);
    assert_int_equal(KERYU_EVENT_AUTH_FAILURE, 3);
    assert_int_equal(KERYU_EVENT_PERMISSION_DENIED, 4);
    assert_int_equal(KERYU_EVENT_DATA_ACCESS, 5);
    assert_int_equal(KERYU_EVENT_SYSTEM_CHANGE, 6);
    assert_int_equal(KERYU_EVENT_INPUT_REJECTED, 7);
    assert_int_equal(KERYU_EVENT_MAX, sizeof(names) / sizeof(names[0]));

    for (i = 0; i < KERYU_EVENT_MAX; i++) {
        name = keryu_event_name(i);

        assert_non_null(name);
        assert_string_equal(name, names[i]);
        assert_int_equal(keryu_event_parse(name, strlen(name)), (int) i);
    }

    assert_null(keryu_event_name(KERYU_EVENT_MAX));
    assert_null(keryu_event_name(255));
    assert_null(keryu_event_name((unsigned) -1));
}


static void
event_parse_refuses_unknown_names(void **state)
{
    (void) state;

    assert_int_equal(keryu_event_parse("", 0), -1);
    assert_int_equal(keryu_event_parse("Request", 7), -1);
    assert_int_equal(keryu_event_parse("REQUEST", 7), -1);
    assert_int_equal(keryu_event_parse("requests", 8), -1);
    assert_int_equal(keryu_event_parse("reques", 6), -1);
    assert_int_equal(keryu_event_parse("auth-failure", 12), -1);
    assert_int_equal(keryu_event_parse("permission", 10), -1);
    assert_int_equal(keryu_event_parse("request\0", 8), -1);

    /* the length decides, not a terminating NUL */

    assert_int_equal(keryu_event_parse("login", 4), -1);
    assert_int_equal(keryu_event_parse("loginx", 5), KERYU_EVENT_LOGIN);
    assert_int_equal(keryu_event_parse("data_access_x", 11),
                     KERYU_EVENT_DATA_ACCESS);
}


static void
encoding_is_little_endian_at_documented_offsets(void **state)
{
    size_t          n;
    uint8_t         buf[KERYU_RECORD_MAX_SIZE];
    uint8_t         uri[0x0123];
    keryu_record_t  rec;

    static const uint8_t  expected[] = {
        /*  0 version, type, status, addr_family, flags, reserved */
        0x01, 0x04, 0x93, 0x01, 0x06, 0x00, 0x00, 0x00,
        /*  8 seq */
        0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01,
        /* 16 time_us */
        0x18, 0x17, 0x16, 0x15, 0x14, 0x13, 0x12, 0x11,
        /* 24 bytes_sent */
        0x28, 0x27, 0x26, 0x25, 0x24, 0x23, 0x22, 0x21,
        /* 32 request_time_us */
        0x38, 0x37, 0x36, 0x35, 0x34, 0x33, 0x32, 0x31,
        /* 40 addr, network order */
        0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x42,
        /* 56 lengths: user, user_agent, method, host, uri, details */
        0x05, 0x00, 0x02, 0x00, 0x03, 0x00, 0x01, 0x00,
        0x02, 0x00, 0x02, 0x00,
        /* 68 the strings, back to back */
        'a', 'l', 'i', 'c', 'e',
        'u', 'a',
        'G', 'E', 'T',
        'h',
        '/', 'x',
        '{', '}'
    };

    (void) state;

    assert_int_equal(KERYU_RECORD_VERSION, 1);
    assert_int_equal(KERYU_RECORD_HEADER_SIZE, 68);
    assert_int_equal(KERYU_RECORD_F_TRUNCATED, 0x01);

    test_record_full(&rec);

    test_set(&rec.user, "alice");
    test_set(&rec.user_agent, "ua");
    test_set(&rec.method, "GET");
    test_set(&rec.host, "h");
    test_set(&rec.uri, "/x");
    test_set(&rec.details, "{}");

    memset(buf, 0xa5, sizeof(buf));

    n = keryu_record_encode(&rec, buf);

    assert_int_equal(n, sizeof(expected));
    assert_memory_equal(buf, expected, sizeof(expected));

    /* a length over 255 puts its low byte first; truncation sets bit 0 */

    memset(uri, '/', sizeof(uri));
    rec.uri.len = sizeof(uri);
    rec.uri.data = uri;
    rec.method.len = KERYU_RECORD_METHOD_MAX + 1;
    rec.method.data = uri;

    n = keryu_record_encode(&rec, buf);

    assert_int_equal(buf[5], KERYU_RECORD_F_TRUNCATED);
    assert_int_equal(buf[60], KERYU_RECORD_METHOD_MAX);
    assert_int_equal(buf[61], 0x00);
    assert_int_equal(buf[64], 0x23);
    assert_int_equal(buf[65], 0x01);
    assert_int_equal(n, KERYU_RECORD_HEADER_SIZE + strlen("alice")
                        + strlen("ua") + KERYU_RECORD_METHOD_MAX
                        + strlen("h") + sizeof(uri) + strlen("{}"));
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(encode_then_decode_keeps_every_field),
        cmocka_unit_test(encode_then_decode_keeps_ipv4_and_empty_strings),
        cmocka_unit_test(each_string_over_its_cap_is_cut_and_flagged),
        cmocka_unit_test(decode_refuses_short_buffer),
        cmocka_unit_test(decode_refuses_unknown_version),
        cmocka_unit_test(decode_refuses_length_pointing_past_end),
        cmocka_unit_test(decode_refuses_unknown_event_type),
        cmocka_unit_test(decode_refuses_bad_address_family),
        cmocka_unit_test(peek_seq_reads_sequence_without_decoding),
        cmocka_unit_test(event_names_and_numbers_map_both_ways),
        cmocka_unit_test(event_parse_refuses_unknown_names),
        cmocka_unit_test(encoding_is_little_endian_at_documented_offsets),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
