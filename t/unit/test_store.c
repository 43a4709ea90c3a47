
/*
 * Copyright (C) Keryu Security
 *
 * Unit tests for the shared store.  Each test gets a fresh mkdtemp
 * directory, opens the store in a directory inside it, and removes it all
 * afterwards.  Batches are built as the nginx module builds them: a 4-byte
 * little-endian length, then the encoded record, per entry.
 */


#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "keryu_record.h"
#include "keryu_store.h"
#include "unit.h"


#define TEST_SEQ_BASE      250       /* keys cross a byte boundary at 256 */
#define TEST_MAP_SMALL     (64 * 1024)
#define TEST_NOW_US        1700000000000000ULL

#define test_store_case(f)                                                    \
    cmocka_unit_test_setup_teardown(f, test_setup, test_teardown)


typedef struct {
    char                dir[64];      /* the mkdtemp directory */
    char                path[96];     /* the store, not made until opened */
    keryu_store_t       st;
} test_store_t;


static uint8_t  test_details[KERYU_RECORD_DETAILS_MAX];


static int
test_setup(void **state)
{
    test_store_t  *t;

    t = calloc(1, sizeof(test_store_t));
    if (t == NULL) {
        return -1;
    }

    if (unit_dir_make(t->dir, t->path, "store") != 0) {
        free(t);
        return -1;
    }

    *state = t;

    return 0;
}


static int
test_teardown(void **state)
{
    int            rc;
    test_store_t  *t;

    t = *state;

    keryu_store_close(&t->st);

    rc = unit_dir_remove(t->dir);

    free(t);

    return rc == 0 ? 0 : -1;
}


static void
test_open(test_store_t *t, size_t mapsize)
{
    int  rc;

    rc = keryu_store_open(&t->st, t->path, mapsize, 0);
    test_mdb_ok(rc, "keryu_store_open");
}


/*
 * builds a batch of the records first..last into buf, each with details of
 * dlen bytes, and returns its length; time_us is derived from seq so that
 * a test can tell which record was stored last
 */

static size_t
test_batch(uint8_t *buf, size_t size, uint64_t first, uint64_t last,
    size_t dlen)
{
    size_t          len, n;
    uint8_t        *p;
    uint64_t        seq;
    keryu_record_t  rec;

    memset(&rec, 0, sizeof(keryu_record_t));

    rec.type = KERYU_EVENT_REQUEST;
    rec.status = 200;
    rec.addr_family = 4;
    rec.addr[0] = 127;
    rec.addr[3] = 1;
    rec.method.len = 3;
    rec.method.data = (const uint8_t *) "GET";
    rec.uri.len = 6;
    rec.uri.data = (const uint8_t *) "/items";
    rec.details.len = dlen;
    rec.details.data = test_details;

    p = buf;

    for (seq = first; seq <= last; seq++) {
        rec.seq = seq;
        rec.time_us = 1700000000000000ULL + seq * 1000;
        rec.bytes_sent = seq;

        len = keryu_record_size(&rec);
        assert_true((size_t) (p - buf) + 4 + len <= size);

        p[0] = (uint8_t) len;
        p[1] = (uint8_t) (len >> 8);
        p[2] = (uint8_t) (len >> 16);
        p[3] = (uint8_t) (len >> 24);

        n = keryu_record_encode(&rec, p + 4);
        assert_int_equal(n, len);

        p += 4 + len;
    }

    return (size_t) (p - buf);
}


static int
test_append(test_store_t *t, const uint8_t *batch, size_t len,
    uint64_t capacity, keryu_store_append_t *res)
{
    int       rc;
    MDB_txn  *txn;

    rc = keryu_store_txn_begin(&t->st, 0, &txn);
    test_mdb_ok(rc, "keryu_store_txn_begin");

    rc = keryu_store_append(&t->st, txn, batch, len, capacity, res);

    if (rc != 0) {
        mdb_txn_abort(txn);
        return rc;
    }

    rc = mdb_txn_commit(txn);
    test_mdb_ok(rc, "mdb_txn_commit");

    return 0;
}


static uint64_t
test_meta(test_store_t *t, const char *name)
{
    int       rc;
    MDB_txn  *txn;
    uint64_t  value;

    rc = keryu_store_txn_begin(&t->st, MDB_RDONLY, &txn);
    test_mdb_ok(rc, "keryu_store_txn_begin");

    rc = keryu_store_meta_get(&t->st, txn, name, &value);
    mdb_txn_abort(txn);
    test_mdb_ok(rc, "keryu_store_meta_get");

    return value;
}


/*
 * checks that the ring holds exactly the records first..first+n-1, in
 * order, under 8-byte big-endian keys, each value a record of that number
 */

static void
test_ring_expect(test_store_t *t, uint64_t first, uint64_t n)
{
    int             rc, i;
    uint8_t         be[8];
    MDB_val         key, val;
    MDB_txn        *txn;
    uint64_t        seq, count;
    MDB_stat        ms;
    MDB_cursor     *cur;
    keryu_record_t  rec;

    rc = keryu_store_txn_begin(&t->st, MDB_RDONLY, &txn);
    test_mdb_ok(rc, "keryu_store_txn_begin");

    rc = mdb_stat(txn, t->st.ring, &ms);
    test_mdb_ok(rc, "mdb_stat");
    assert_int_equal(ms.ms_entries, n);

    rc = mdb_cursor_open(txn, t->st.ring, &cur);
    test_mdb_ok(rc, "mdb_cursor_open");

    count = 0;

    while ((rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) == 0) {
        seq = first + count;

        for (i = 0; i < 8; i++) {
            be[i] = (uint8_t) (seq >> (56 - 8 * i));
        }

        assert_int_equal(key.mv_size, 8);
        assert_memory_equal(key.mv_data, be, 8);
        assert_true(keryu_store_key_decode(key.mv_data) == seq);

        assert_int_equal(keryu_record_decode(&rec, val.mv_data, val.mv_size),
                         0);
        assert_true(rec.seq == seq);
        assert_true(rec.bytes_sent == seq);

        count++;
    }

    if (rc != MDB_NOTFOUND) {
        fail_msg("mdb_cursor_get() failed: %s", mdb_strerror(rc));
    }

    mdb_cursor_close(cur);
    mdb_txn_abort(txn);

    assert_true(count == n);
}


/*
 * puts a user block expiring at expires_us, or with valid 0 a value that
 * is not a block (too short to decode); each put raises block_version
 */

static void
test_block_put(test_store_t *t, const char *user, uint64_t expires_us,
    int valid)
{
    int            rc;
    size_t         klen;
    uint8_t        kbuf[KERYU_BLOCK_KEY_MAX];
    uint8_t        vbuf[16 + KERYU_BLOCK_REASON_MAX];
    MDB_val        key, val;
    MDB_txn       *txn;
    keryu_block_t  b;

    klen = keryu_block_key_user(kbuf, user, strlen(user));
    assert_true(klen != 0);

    b.expires_us = expires_us;
    b.created_us = TEST_NOW_US - 1000000;
    b.reason = "test";
    b.reason_len = 4;

    key.mv_size = klen;
    key.mv_data = kbuf;
    val.mv_size = valid ? keryu_block_encode(&b, vbuf) : 7;
    val.mv_data = vbuf;

    if (!valid) {
        memset(vbuf, 0, 7);
    }

    rc = keryu_store_txn_begin(&t->st, 0, &txn);
    test_mdb_ok(rc, "keryu_store_txn_begin");

    rc = keryu_store_change(&t->st, txn, t->st.blocks, &key, &val,
                            KERYU_META_BLOCK_VERSION);
    if (rc != 0) {
        mdb_txn_abort(txn);
        fail_msg("keryu_store_change() failed: %s", mdb_strerror(rc));
    }

    rc = mdb_txn_commit(txn);
    test_mdb_ok(rc, "mdb_txn_commit");
}


/* returns 1 if a user block is stored, 0 if not */

static int
test_block_has(test_store_t *t, const char *user)
{
    int       rc;
    size_t    klen;
    uint8_t   kbuf[KERYU_BLOCK_KEY_MAX];
    MDB_val   key, val;
    MDB_txn  *txn;

    klen = keryu_block_key_user(kbuf, user, strlen(user));
    assert_true(klen != 0);

    key.mv_size = klen;
    key.mv_data = kbuf;

    rc = keryu_store_txn_begin(&t->st, MDB_RDONLY, &txn);
    test_mdb_ok(rc, "keryu_store_txn_begin");

    rc = mdb_get(txn, t->st.blocks, &key, &val);
    mdb_txn_abort(txn);

    if (rc == MDB_NOTFOUND) {
        return 0;
    }

    test_mdb_ok(rc, "mdb_get");

    return 1;
}


static size_t
test_block_count(test_store_t *t)
{
    int        rc;
    MDB_txn   *txn;
    MDB_stat   ms;

    rc = keryu_store_txn_begin(&t->st, MDB_RDONLY, &txn);
    test_mdb_ok(rc, "keryu_store_txn_begin");

    rc = mdb_stat(txn, t->st.blocks, &ms);
    mdb_txn_abort(txn);
    test_mdb_ok(rc, "mdb_stat");

    return ms.ms_entries;
}


static size_t
test_prune(test_store_t *t, uint64_t now_us, size_t max)
{
    int     rc;
    size_t  removed;

    removed = 12345;

    rc = keryu_store_prune_blocks(&t->st, now_us, max, &removed);
    test_mdb_ok(rc, "keryu_store_prune_blocks");

    return removed;
}


static void
test_mode_expect(const char *path, mode_t mode)
{
    struct stat  sb;

    if (stat(path, &sb) == -1) {
        fail_msg("stat() \"%s\" failed: %s", path, strerror(errno));
    }

    assert_int_equal(sb.st_mode & 07777, mode);
}


static void
open_creates_private_directory_and_files(void **state)
{
    int            rc;
    char           file[128];
    mode_t         mask;
    test_store_t  *t;

    t = *state;

    /* a permissive umask must not widen what the store asks for */

    mask = umask(0);
    rc = keryu_store_open(&t->st, t->path, 0, 0);
    umask(mask);

    test_mdb_ok(rc, "keryu_store_open");
    assert_non_null(t->st.env);

    test_mode_expect(t->path, 0700);

    snprintf(file, sizeof(file), "%s/data.mdb", t->path);
    test_mode_expect(file, 0600);

    snprintf(file, sizeof(file), "%s/lock.mdb", t->path);
    test_mode_expect(file, 0600);

    /* an existing directory is used as it is */

    keryu_store_close(&t->st);
    assert_null(t->st.env);

    test_open(t, 0);
}


static void
open_stamps_schema_and_store_id_kept_across_reopen(void **state)
{
    uint64_t       id;
    test_store_t  *t;

    t = *state;

    test_open(t, 0);

    assert_true(test_meta(t, "schema") == KERYU_STORE_SCHEMA);

    id = test_meta(t, KERYU_META_STORE_ID);
    assert_true(id != 0);

    assert_true(test_meta(t, KERYU_META_LAST_SEQ) == 0);
    test_ring_expect(t, 1, 0);

    keryu_store_close(&t->st);

    test_open(t, 0);

    assert_true(test_meta(t, "schema") == KERYU_STORE_SCHEMA);
    assert_true(test_meta(t, KERYU_META_STORE_ID) == id);
}


static void
reopened_store_keeps_records_and_takes_more(void **state)
{
    uint8_t               batch[4096];
    size_t                len;
    test_store_t         *t;
    keryu_store_append_t  res;

    t = *state;

    test_open(t, 0);

    len = test_batch(batch, sizeof(batch), 1, 3, 16);
    test_mdb_ok(test_append(t, batch, len, 100, &res), "keryu_store_append");

    keryu_store_close(&t->st);

    test_open(t, 0);

    test_ring_expect(t, 1, 3);

    len = test_batch(batch, sizeof(batch), 1, 5, 16);
    test_mdb_ok(test_append(t, batch, len, 100, &res), "keryu_store_append");

    assert_true(res.appended == 2);
    assert_true(res.skipped == 3);
    test_ring_expect(t, 1, 5);
}


static void
append_writes_big_endian_keys_in_sequence_order(void **state)
{
    uint8_t               batch[8192];
    size_t                len;
    test_store_t         *t;
    keryu_store_append_t  res;

    t = *state;

    test_open(t, 0);

    len = test_batch(batch, sizeof(batch), TEST_SEQ_BASE, TEST_SEQ_BASE + 9,
                     16);

    memset(&res, 0xff, sizeof(keryu_store_append_t));
    test_mdb_ok(test_append(t, batch, len, 100, &res), "keryu_store_append");

    assert_true(res.appended == 10);
    assert_true(res.skipped == 0);
    assert_true(res.trimmed == 0);
    assert_true(res.dropped == 0);
    assert_true(res.last_seq == TEST_SEQ_BASE + 9);

    test_ring_expect(t, TEST_SEQ_BASE, 10);

    assert_true(test_meta(t, KERYU_META_LAST_SEQ) == TEST_SEQ_BASE + 9);
    assert_true(test_meta(t, KERYU_META_LAST_TIME)
                == 1700000000000000ULL + (TEST_SEQ_BASE + 9) * 1000);
    assert_true(test_meta(t, KERYU_META_TRIMMED) == 0);
    assert_true(test_meta(t, KERYU_META_DROPPED) == 0);

    /* an empty batch changes nothing */

    memset(&res, 0xff, sizeof(keryu_store_append_t));
    test_mdb_ok(test_append(t, batch, 0, 100, &res), "keryu_store_append");

    assert_true(res.appended == 0);
    assert_true(res.skipped == 0);
    assert_true(res.last_seq == TEST_SEQ_BASE + 9);
    test_ring_expect(t, TEST_SEQ_BASE, 10);
}


static void
append_stores_records_byte_for_byte(void **state)
{
    int                   rc;
    uint8_t               batch[4096], kbuf[8];
    size_t                len, rlen;
    MDB_val               key, val;
    MDB_txn              *txn;
    test_store_t         *t;
    keryu_store_append_t  res;

    t = *state;

    test_open(t, 0);

    len = test_batch(batch, sizeof(batch), 42, 42, 100);
    test_mdb_ok(test_append(t, batch, len, 100, &res), "keryu_store_append");

    rlen = batch[0] | batch[1] << 8 | batch[2] << 16 | (size_t) batch[3] << 24;
    assert_int_equal(rlen + 4, len);

    rc = keryu_store_txn_begin(&t->st, MDB_RDONLY, &txn);
    test_mdb_ok(rc, "keryu_store_txn_begin");

    keryu_store_key_encode(kbuf, 42);

    key.mv_size = 8;
    key.mv_data = kbuf;

    rc = mdb_get(txn, t->st.ring, &key, &val);
    if (rc != 0) {
        mdb_txn_abort(txn);
        fail_msg("mdb_get() failed: %s", mdb_strerror(rc));
    }

    assert_int_equal(val.mv_size, rlen);
    assert_memory_equal(val.mv_data, batch + 4, rlen);

    mdb_txn_abort(txn);
}


static void
append_of_same_batch_twice_skips_every_record(void **state)
{
    uint8_t               batch[4096];
    size_t                len;
    test_store_t         *t;
    keryu_store_append_t  res;

    t = *state;

    test_open(t, 0);

    len = test_batch(batch, sizeof(batch), 1, 5, 16);

    test_mdb_ok(test_append(t, batch, len, 100, &res), "keryu_store_append");
    assert_true(res.appended == 5);
    assert_true(res.skipped == 0);

    test_mdb_ok(test_append(t, batch, len, 100, &res), "keryu_store_append");
    assert_true(res.appended == 0);
    assert_true(res.skipped == 5);
    assert_true(res.trimmed == 0);
    assert_true(res.last_seq == 5);

    test_ring_expect(t, 1, 5);
    assert_true(test_meta(t, KERYU_META_LAST_SEQ) == 5);
    assert_true(test_meta(t, KERYU_META_LAST_TIME)
                == 1700000000000000ULL + 5 * 1000);
}


static void
append_of_overlapping_batch_adds_only_new_records(void **state)
{
    uint8_t               batch[4096];
    size_t                len;
    test_store_t         *t;
    keryu_store_append_t  res;

    t = *state;

    test_open(t, 0);

    len = test_batch(batch, sizeof(batch), 1, 5, 16);
    test_mdb_ok(test_append(t, batch, len, 100, &res), "keryu_store_append");

    len = test_batch(batch, sizeof(batch), 3, 8, 16);
    test_mdb_ok(test_append(t, batch, len, 100, &res), "keryu_store_append");

    assert_true(res.appended == 3);
    assert_true(res.skipped == 3);
    assert_true(res.last_seq == 8);

    test_ring_expect(t, 1, 8);
    assert_true(test_meta(t, KERYU_META_LAST_SEQ) == 8);
    assert_true(test_meta(t, KERYU_META_LAST_TIME)
                == 1700000000000000ULL + 8 * 1000);
}


static void
append_trims_oldest_and_drops_only_unconsumed(void **state)
{
    int                   rc;
    uint8_t               batch[4096];
    size_t                len;
    MDB_txn              *txn;
    test_store_t         *t;
    keryu_store_append_t  res;

    t = *state;

    test_open(t, 0);

    len = test_batch(batch, sizeof(batch), 1, 5, 16);
    test_mdb_ok(test_append(t, batch, len, 5, &res), "keryu_store_append");
    assert_true(res.trimmed == 0);

    /* keryud has read up to 3 */

    rc = keryu_store_txn_begin(&t->st, 0, &txn);
    test_mdb_ok(rc, "keryu_store_txn_begin");

    rc = keryu_store_meta_put(&t->st, txn, KERYU_META_CONSUMER_SEQ, 3);
    if (rc != 0) {
        mdb_txn_abort(txn);
        fail_msg("keryu_store_meta_put() failed: %s", mdb_strerror(rc));
    }

    rc = mdb_txn_commit(txn);
    test_mdb_ok(rc, "mdb_txn_commit");

    /* 9 records in a ring of 5: 1..4 go, and of those only 4 was unread */

    len = test_batch(batch, sizeof(batch), 6, 9, 16);
    test_mdb_ok(test_append(t, batch, len, 5, &res), "keryu_store_append");

    assert_true(res.appended == 4);
    assert_true(res.trimmed == 4);
    assert_true(res.dropped == 1);
    assert_true(res.last_seq == 9);

    test_ring_expect(t, 5, 5);
    assert_true(test_meta(t, KERYU_META_TRIMMED) == 4);
    assert_true(test_meta(t, KERYU_META_DROPPED) == 1);

    /* the counters add up over the next transaction */

    len = test_batch(batch, sizeof(batch), 10, 11, 16);
    test_mdb_ok(test_append(t, batch, len, 5, &res), "keryu_store_append");

    assert_true(res.trimmed == 2);
    assert_true(res.dropped == 2);

    test_ring_expect(t, 7, 5);
    assert_true(test_meta(t, KERYU_META_TRIMMED) == 6);
    assert_true(test_meta(t, KERYU_META_DROPPED) == 3);
    assert_true(test_meta(t, KERYU_META_LAST_SEQ) == 11);

    /* a batch larger than the ring keeps only its newest records */

    len = test_batch(batch, sizeof(batch), 12, 19, 16);
    test_mdb_ok(test_append(t, batch, len, 5, &res), "keryu_store_append");

    assert_true(res.appended == 8);
    assert_true(res.trimmed == 8);
    assert_true(res.dropped == 8);

    test_ring_expect(t, 15, 5);
    assert_true(test_meta(t, KERYU_META_TRIMMED) == 14);
    assert_true(test_meta(t, KERYU_META_DROPPED) == 11);
}


static void
meta_counters_add_up_across_transactions(void **state)
{
    int            rc, i;
    MDB_txn       *txn;
    uint64_t       value;
    test_store_t  *t;

    static const uint64_t  deltas[] = { 3, 0, 4, 1 };

    t = *state;

    test_open(t, 0);

    value = 0;

    assert_true(test_meta(t, KERYU_META_OVERFLOW) == 0);

    for (i = 0; i < 4; i++) {
        rc = keryu_store_txn_begin(&t->st, 0, &txn);
        test_mdb_ok(rc, "keryu_store_txn_begin");

        rc = keryu_store_meta_add(&t->st, txn, KERYU_META_OVERFLOW, deltas[i]);
        if (rc != 0) {
            mdb_txn_abort(txn);
            fail_msg("keryu_store_meta_add() failed: %s", mdb_strerror(rc));
        }

        rc = mdb_txn_commit(txn);
        test_mdb_ok(rc, "mdb_txn_commit");
    }

    assert_true(test_meta(t, KERYU_META_OVERFLOW) == 8);

    /* an aborted add counts for nothing */

    rc = keryu_store_txn_begin(&t->st, 0, &txn);
    test_mdb_ok(rc, "keryu_store_txn_begin");

    rc = keryu_store_meta_add(&t->st, txn, KERYU_META_OVERFLOW, 100);
    if (rc == 0) {
        rc = keryu_store_meta_get(&t->st, txn, KERYU_META_OVERFLOW, &value);
    }

    mdb_txn_abort(txn);
    test_mdb_ok(rc, "keryu_store_meta_add");

    assert_true(value == 108);
    assert_true(test_meta(t, KERYU_META_OVERFLOW) == 8);

    /* counters are independent of each other */

    assert_true(test_meta(t, KERYU_META_FAILED) == 0);
}


static void
corrupt_batch_is_refused_and_abort_leaves_nothing(void **state)
{
    int                   rc, i;
    uint8_t               batch[4096];
    size_t                len, good, at;
    MDB_txn              *txn;
    test_store_t         *t;
    keryu_store_append_t  res;

    t = *state;

    test_open(t, 0);

    len = test_batch(batch, sizeof(batch), 1, 2, 16);
    test_mdb_ok(test_append(t, batch, len, 100, &res), "keryu_store_append");

    for (i = 0; i < 4; i++) {

        /* records 3 and 4 are good; the damage is in record 5 */

        good = test_batch(batch, sizeof(batch), 3, 4, 16);
        len = good + test_batch(batch + good, sizeof(batch) - good, 5, 5, 16);

        switch (i) {

        case 0:
            /* a length one byte past the end */
            at = len - good - 4 + 1;
            batch[good] = (uint8_t) at;
            batch[good + 1] = (uint8_t) (at >> 8);
            break;

        case 1:
            /* a length with its top byte set */
            batch[good + 3] = 0x80;
            break;

        case 2:
            /* a record of an unknown version */
            batch[good + 4] = KERYU_RECORD_VERSION_SEALED + 1;
            break;

        default:
            /* an entry cut inside its length field */
            len = good + 3;
            break;
        }

        rc = keryu_store_txn_begin(&t->st, 0, &txn);
        test_mdb_ok(rc, "keryu_store_txn_begin");

        rc = keryu_store_append(&t->st, txn, batch, len, 100, &res);

        mdb_txn_abort(txn);

        assert_int_equal(rc, EINVAL);

        test_ring_expect(t, 1, 2);
        assert_true(test_meta(t, KERYU_META_LAST_SEQ) == 2);
        assert_true(test_meta(t, KERYU_META_LAST_TIME)
                    == 1700000000000000ULL + 2 * 1000);
    }
}


static void
store_of_another_schema_is_refused(void **state)
{
    int            rc;
    MDB_txn       *txn;
    test_store_t  *t;

    t = *state;

    test_open(t, 0);

    rc = keryu_store_txn_begin(&t->st, 0, &txn);
    test_mdb_ok(rc, "keryu_store_txn_begin");

    rc = keryu_store_meta_put(&t->st, txn, "schema", KERYU_STORE_SCHEMA + 1);
    if (rc != 0) {
        mdb_txn_abort(txn);
        fail_msg("keryu_store_meta_put() failed: %s", mdb_strerror(rc));
    }

    rc = mdb_txn_commit(txn);
    test_mdb_ok(rc, "mdb_txn_commit");

    keryu_store_close(&t->st);

    rc = keryu_store_open(&t->st, t->path, 0, 0);

    assert_int_equal(rc, KERYU_STORE_EVERSION);
    assert_null(t->st.env);
    assert_string_equal(keryu_store_strerror(rc),
                        "store schema is not supported by this version");
}


static void
map_full_surfaces_and_abort_keeps_store_intact(void **state)
{
    int                   rc;
    size_t                len, size;
    uint8_t              *batch;
    test_store_t         *t;
    keryu_store_append_t  res;

    t = *state;
    size = 64 * (4 + KERYU_RECORD_MAX_SIZE);

    test_open(t, TEST_MAP_SMALL);

    batch = malloc(size);
    assert_non_null(batch);

    len = test_batch(batch, size, 1, 3, 16);
    rc = test_append(t, batch, len, 1000, &res);
    if (rc != 0) {
        free(batch);
        fail_msg("keryu_store_append() failed: %s", mdb_strerror(rc));
    }

    /* 64 records of 4 KiB each cannot fit in a 64 KiB map */

    len = test_batch(batch, size, 4, 67, KERYU_RECORD_DETAILS_MAX);
    rc = test_append(t, batch, len, 1000, &res);

    assert_int_equal(rc, MDB_MAP_FULL);

    test_ring_expect(t, 1, 3);
    assert_true(test_meta(t, KERYU_META_LAST_SEQ) == 3);

    /* and it still takes what fits */

    len = test_batch(batch, size, 4, 5, 16);
    rc = test_append(t, batch, len, 1000, &res);

    free(batch);

    test_mdb_ok(rc, "keryu_store_append");
    assert_true(res.appended == 2);
    test_ring_expect(t, 1, 5);
}


static void
prune_removes_expired_and_keeps_the_rest(void **state)
{
    uint64_t       version;
    test_store_t  *t;

    t = *state;

    test_open(t, 0);

    test_block_put(t, "expired-long-ago", 1, 1);
    test_block_put(t, "expired-just-now", TEST_NOW_US, 1);
    test_block_put(t, "expires-later", TEST_NOW_US + 1, 1);
    test_block_put(t, "never-expires", 0, 1);
    test_block_put(t, "malformed", 0, 0);

    assert_int_equal(test_block_count(t), 5);

    version = test_meta(t, KERYU_META_BLOCK_VERSION);
    assert_true(version == 5);

    /* two removed in one call raise the version once */

    assert_int_equal(test_prune(t, TEST_NOW_US, 1000), 2);

    assert_int_equal(test_block_count(t), 3);
    assert_false(test_block_has(t, "expired-long-ago"));
    assert_false(test_block_has(t, "expired-just-now"));
    assert_true(test_block_has(t, "expires-later"));
    assert_true(test_block_has(t, "never-expires"));
    assert_true(test_block_has(t, "malformed"));

    assert_true(test_meta(t, KERYU_META_BLOCK_VERSION) == version + 1);

    /* nothing left to remove: no version change */

    assert_int_equal(test_prune(t, TEST_NOW_US, 1000), 0);
    assert_int_equal(test_block_count(t), 3);
    assert_true(test_meta(t, KERYU_META_BLOCK_VERSION) == version + 1);

    /* later, the one that expired since goes; the others stay */

    assert_int_equal(test_prune(t, UINT64_MAX, 1000), 1);
    assert_int_equal(test_block_count(t), 2);
    assert_true(test_block_has(t, "never-expires"));
    assert_true(test_block_has(t, "malformed"));
    assert_true(test_meta(t, KERYU_META_BLOCK_VERSION) == version + 2);
}


static void
prune_honours_max_and_raises_version_once_per_call(void **state)
{
    int            i;
    char           name[16];
    uint64_t       version;
    test_store_t  *t;

    t = *state;

    test_open(t, 0);

    /* an empty store: nothing to do, no version */

    assert_int_equal(test_prune(t, TEST_NOW_US, 2), 0);
    assert_true(test_meta(t, KERYU_META_BLOCK_VERSION) == 0);

    for (i = 0; i < 5; i++) {
        snprintf(name, sizeof(name), "user%d", i);
        test_block_put(t, name, TEST_NOW_US - 1 - i, 1);
    }

    test_block_put(t, "kept", TEST_NOW_US + 1000000, 1);

    version = test_meta(t, KERYU_META_BLOCK_VERSION);

    /* max 0 removes nothing */

    assert_int_equal(test_prune(t, TEST_NOW_US, 0), 0);
    assert_int_equal(test_block_count(t), 6);
    assert_true(test_meta(t, KERYU_META_BLOCK_VERSION) == version);

    assert_int_equal(test_prune(t, TEST_NOW_US, 2), 2);
    assert_int_equal(test_block_count(t), 4);
    assert_true(test_meta(t, KERYU_META_BLOCK_VERSION) == version + 1);

    assert_int_equal(test_prune(t, TEST_NOW_US, 2), 2);
    assert_int_equal(test_block_count(t), 2);
    assert_true(test_meta(t, KERYU_META_BLOCK_VERSION) == version + 2);

    assert_int_equal(test_prune(t, TEST_NOW_US, 2), 1);
    assert_int_equal(test_block_count(t), 1);
    assert_true(test_meta(t, KERYU_META_BLOCK_VERSION) == version + 3);

    assert_int_equal(test_prune(t, TEST_NOW_US, 2), 0);
    assert_int_equal(test_block_count(t), 1);
    assert_true(test_block_has(t, "kept"));
    assert_true(test_meta(t, KERYU_META_BLOCK_VERSION) == version + 3);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        test_store_case(open_creates_private_directory_and_files),
        test_store_case(open_stamps_schema_and_store_id_kept_across_reopen),
        test_store_case(reopened_store_keeps_records_and_takes_more),
        test_store_case(append_writes_big_endian_keys_in_sequence_order),
        test_store_case(append_stores_records_byte_for_byte),
        test_store_case(append_of_same_batch_twice_skips_every_record),
        test_store_case(append_of_overlapping_batch_adds_only_new_records),
        test_store_case(append_trims_oldest_and_drops_only_unconsumed),
        test_store_case(meta_counters_add_up_across_transactions),
        test_store_case(corrupt_batch_is_refused_and_abort_leaves_nothing),
        test_store_case(store_of_another_schema_is_refused),
        test_store_case(map_full_surfaces_and_abort_keeps_store_intact),
        test_store_case(prune_removes_expired_and_keeps_the_rest),
        test_store_case(prune_honours_max_and_raises_version_once_per_call),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
