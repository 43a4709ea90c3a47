
/*
 * Copyright (C) Keryu Security
 *
 * Tests of brute force detection: detect_event() over records built in
 * memory, and detect_apply() into a fresh shared store, read back the way
 * the nginx module reads it.
 */


#include "unit.h"

#include <arpa/inet.h>

#include "keryu_blocklist.h"
#include "detect.h"


#define T0     1700000000000000ULL
#define SEC    1000000ULL
#define NOW    (T0 + 3600 * SEC)


static keryu_record_t
failure(int family, const char *text, uint64_t time_us)
{
    keryu_record_t  rec;

    memset(&rec, 0, sizeof(keryu_record_t));

    rec.type = KERYU_EVENT_AUTH_FAILURE;
    rec.status = 401;
    rec.time_us = time_us;
    rec.addr_family = family;

    assert_int_equal(inet_pton(family == 4 ? AF_INET : AF_INET6, text,
                               rec.addr), 1);

    return rec;
}


static int
setup(void **state)
{
    static detect_t  d;

    if (detect_init(&d, 10, 60 * SEC, 900 * SEC) == -1) {
        return -1;
    }

    *state = &d;

    return 0;
}


static int
teardown(void **state)
{
    detect_free(*state);

    return 0;
}


static void
test_tenth_failure_blocks(void **state)
{
    int               i;
    detect_t         *d = *state;
    keryu_record_t    rec;
    detect_action_t   act;

    for (i = 0; i < 9; i++) {
        rec = failure(4, "192.0.2.7", T0 + i * SEC);
        assert_int_equal(detect_event(d, &rec, NOW, &act), 0);
    }

    rec = failure(4, "192.0.2.7", T0 + 9 * SEC);
    assert_int_equal(detect_event(d, &rec, NOW, &act), 1);

    assert_int_equal(act.family, 4);
    assert_memory_equal(act.addr, rec.addr, 4);
    assert_int_equal(act.count, 10);
    assert_true(act.created_us == NOW);
    assert_true(act.expires_us == NOW + 900 * SEC);
    assert_true(act.block_s == 900);
    assert_string_equal(act.text, "192.0.2.7");
    assert_string_equal(act.reason, "brute force: 10 auth failures in 60 s");
}


static void
test_failures_spread_over_window(void **state)
{
    int               i;
    detect_t         *d = *state;
    keryu_record_t    rec;
    detect_action_t   act;

    /* one every 7 s: any 10 of them span 63 s */

    for (i = 0; i < 30; i++) {
        rec = failure(4, "192.0.2.8", T0 + i * 7 * SEC);
        assert_int_equal(detect_event(d, &rec, NOW, &act), 0);
    }
}


static void
test_addresses_counted_apart(void **state)
{
    int               i;
    detect_t         *d = *state;
    keryu_record_t    a, b;
    detect_action_t   act;

    for (i = 0; i < 9; i++) {
        a = failure(4, "192.0.2.1", T0 + i * SEC);
        b = failure(4, "192.0.2.2", T0 + i * SEC);
        assert_int_equal(detect_event(d, &a, NOW, &act), 0);
        assert_int_equal(detect_event(d, &b, NOW, &act), 0);
    }

    b = failure(4, "192.0.2.2", T0 + 9 * SEC);
    assert_int_equal(detect_event(d, &b, NOW, &act), 1);
    assert_string_equal(act.text, "192.0.2.2");

    a = failure(4, "192.0.2.1", T0 + 9 * SEC);
    assert_int_equal(detect_event(d, &a, NOW, &act), 1);
    assert_string_equal(act.text, "192.0.2.1");
}


static void
test_ipv6(void **state)
{
    int               i;
    detect_t         *d = *state;
    keryu_record_t    rec;
    detect_action_t   act;

    for (i = 0; i < 9; i++) {
        rec = failure(6, "2001:db8::1", T0 + i * SEC);
        assert_int_equal(detect_event(d, &rec, NOW, &act), 0);
    }

    /* the same bytes as IPv4 are another address */

    rec = failure(4, "32.1.13.184", T0 + 9 * SEC);
    assert_int_equal(detect_event(d, &rec, NOW, &act), 0);

    rec = failure(6, "2001:db8::1", T0 + 9 * SEC);
    assert_int_equal(detect_event(d, &rec, NOW, &act), 1);
    assert_int_equal(act.family, 6);
    assert_memory_equal(act.addr, rec.addr, 16);
    assert_string_equal(act.text, "2001:db8::1");
}


static void
test_other_events_ignored(void **state)
{
    int               i, type;
    detect_t         *d = *state;
    keryu_record_t    rec;
    detect_action_t   act;

    for (type = 0; type < KERYU_EVENT_MAX; type++) {
        if (type == KERYU_EVENT_AUTH_FAILURE) {
            continue;
        }

        for (i = 0; i < 20; i++) {
            rec = failure(4, "192.0.2.9", T0 + i * SEC);
            rec.type = type;
            assert_int_equal(detect_event(d, &rec, NOW, &act), 0);
        }
    }

    /* nor failures without an address */

    for (i = 0; i < 20; i++) {
        rec = failure(4, "192.0.2.9", T0 + i * SEC);
        rec.addr_family = 0;
        assert_int_equal(detect_event(d, &rec, NOW, &act), 0);
    }

    /* none of that counted: nine real ones still block nothing */

    for (i = 0; i < 9; i++) {
        rec = failure(4, "192.0.2.9", T0 + i * SEC);
        assert_int_equal(detect_event(d, &rec, NOW, &act), 0);
    }
}


static void
test_window_restarts_after_block(void **state)
{
    int               i;
    detect_t         *d = *state;
    keryu_record_t    rec;
    detect_action_t   act;

    for (i = 0; i < 10; i++) {
        rec = failure(4, "198.51.100.1", T0 + i * SEC);
        assert_int_equal(detect_event(d, &rec, NOW, &act), i == 9);
    }

    for (i = 10; i < 19; i++) {
        rec = failure(4, "198.51.100.1", T0 + i * SEC);
        assert_int_equal(detect_event(d, &rec, NOW, &act), 0);
    }

    rec = failure(4, "198.51.100.1", T0 + 19 * SEC);
    assert_int_equal(detect_event(d, &rec, NOW, &act), 1);
}


static void
test_table_stays_bounded(void **state)
{
    int               i;
    uint32_t          n;
    detect_t         *d = *state;
    keryu_record_t    rec;
    detect_action_t   act;

    /* many more addresses than slots: old ones give way, none blocks */

    for (i = 0; i < 5 * DETECT_SLOTS; i++) {
        rec = failure(4, "10.0.0.0", T0 + i);
        n = htonl(0x0a000000 + i);
        memcpy(rec.addr, &n, 4);
        assert_int_equal(detect_event(d, &rec, NOW, &act), 0);
    }

    assert_true(d->evicted >= 4 * DETECT_SLOTS);
}


static void
test_apply_writes_block(void **state)
{
    int                   i, rc;
    char                  dir[UNIT_DIR_LEN], path[UNIT_PATH_LEN];
    uint64_t              before, after;
    unsigned              prefix;
    MDB_txn              *txn;
    detect_t             *d = *state;
    keryu_store_t         st;
    keryu_record_t        rec;
    detect_action_t       act;
    keryu_blocklist_t    *bl;
    const keryu_block_t  *b;

    assert_int_equal(unit_dir_make(dir, path, "detect"), 0);
    assert_int_equal(unit_store_open(&st, path), 0);

    rc = keryu_store_txn_begin(&st, MDB_RDONLY, &txn);
    test_mdb_ok(rc, "keryu_store_txn_begin");
    rc = keryu_store_meta_get(&st, txn, KERYU_META_BLOCK_VERSION, &before);
    test_mdb_ok(rc, "keryu_store_meta_get");
    mdb_txn_abort(txn);

    for (i = 0; i < 10; i++) {
        rec = failure(4, "203.0.113.5", T0 + i * SEC);
        rc = detect_event(d, &rec, NOW, &act);
    }

    assert_int_equal(rc, 1);

    rc = detect_apply(&st, &act);
    test_mdb_ok(rc, "detect_apply");

    rc = keryu_store_txn_begin(&st, MDB_RDONLY, &txn);
    test_mdb_ok(rc, "keryu_store_txn_begin");

    rc = keryu_store_meta_get(&st, txn, KERYU_META_BLOCK_VERSION, &after);
    test_mdb_ok(rc, "keryu_store_meta_get");
    assert_true(after > before);

    bl = keryu_blocklist_load(&st, txn, &rc);
    mdb_txn_abort(txn);

    assert_non_null(bl);
    assert_int_equal(keryu_blocklist_count(bl), 1);

    b = keryu_blocklist_addr(bl, 4, rec.addr, NOW + SEC, &prefix);
    assert_non_null(b);
    assert_int_equal(prefix, 32);
    assert_true(b->expires_us == NOW + 900 * SEC);
    assert_int_equal(b->reason_len, strlen(act.reason));
    assert_memory_equal(b->reason, act.reason, b->reason_len);

    /* a neighbour is not blocked, and the block ends in time */

    rec = failure(4, "203.0.113.6", T0);
    assert_null(keryu_blocklist_addr(bl, 4, rec.addr, NOW + SEC, NULL));

    rec = failure(4, "203.0.113.5", T0);
    assert_null(keryu_blocklist_addr(bl, 4, rec.addr, NOW + 901 * SEC,
                                     NULL));

    keryu_blocklist_free(bl);
    keryu_store_close(&st);

    assert_int_equal(unit_dir_remove(dir), 0);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test_setup_teardown(test_tenth_failure_blocks,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_failures_spread_over_window,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_addresses_counted_apart,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_ipv6, setup, teardown),
        cmocka_unit_test_setup_teardown(test_other_events_ignored,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_window_restarts_after_block,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_table_stays_bounded,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_apply_writes_block,
                                        setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
