/*
 * Copyright (C) Keryu Security
 *
 * Tests of retention in keryud's own store: store_expire() deletes the
 * records older than a time, oldest first and a bounded number at a time,
 * with every index entry they had, and nothing newer; the "retention"
 * directive; and the indexes a schema 1 store gets when it is opened.
 * Records come through the consumer from a shared store, as in the
 * daemon, in a fresh mkdtemp directory per test.
 */


#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keryud.h"
#include "log.h"


#define CHECK_MDB(call)                                                       \
    do {                                                                      \
        int  rc_ = (call);                                                    \
        if (rc_ != 0) {                                                       \
            fail_msg("%s: %s", #call, keryu_store_strerror(rc_));             \
        }                                                                     \
    } while (0)


#define T0  1796316587000000ULL


typedef struct {
    char                dir[64];
    char                src_path[96];
    char                dst_path[96];
    keryu_store_t       src;
    store_t             dst;
    consumer_t          cs;
} fixture_t;


static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void) sb;
    (void) flag;
    (void) ftw;

    return remove(path);
}


static void
fixture_open(fixture_t *f)
{
    CHECK_MDB(keryu_store_open(&f->src, f->src_path, 64 * 1024 * 1024,
                               MDB_NOSYNC));
    CHECK_MDB(store_open(&f->dst, f->dst_path, 64 * 1024 * 1024));
    consume_init(&f->cs, &f->src, &f->dst, 1000);
}


static void
fixture_close(fixture_t *f)
{
    consume_free(&f->cs);
    keryu_store_close(&f->src);
    store_close(&f->dst);
}


static int
setup(void **state)
{
    fixture_t  *f;

    log_init(1, 0);

    f = calloc(1, sizeof(fixture_t));
    assert_non_null(f);

    strcpy(f->dir, "/tmp/keryud-retention-XXXXXX");
    assert_non_null(mkdtemp(f->dir));

    snprintf(f->src_path, sizeof(f->src_path), "%s/store", f->dir);
    snprintf(f->dst_path, sizeof(f->dst_path), "%s/data", f->dir);

    fixture_open(f);

    *state = f;

    return 0;
}


static int
teardown(void **state)
{
    fixture_t  *f = *state;

    fixture_close(f);
    nftw(f->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    free(f);

    return 0;
}


/*
 * appends records first..first+count-1: record n has time T0 + times[n %
 * ntimes] microseconds, a user, an address and a type that vary with n
 */

static void
append(keryu_store_t *st, uint64_t first, uint64_t count,
    const uint64_t *times, size_t ntimes)
{
    char                   user[16];
    size_t                 len;
    uint8_t                buf[64 * 1024], *p;
    MDB_txn               *txn;
    uint64_t               n;
    keryu_record_t         rec;
    keryu_store_append_t   res;

    memset(&rec, 0, sizeof(keryu_record_t));
    rec.method.data = (const uint8_t *) "GET";
    rec.method.len = 3;

    p = buf;

    for (n = first; n < first + count; n++) {
        snprintf(user, sizeof(user), "u%llu", (unsigned long long) (n % 4));

        rec.seq = n;
        rec.time_us = T0 + times[n % ntimes];
        rec.type = (uint8_t) (n % KERYU_EVENT_MAX);
        rec.status = (n % 2) ? 200 : 403;
        rec.user.data = (const uint8_t *) user;
        rec.user.len = (n % 5) ? strlen(user) : 0;
        rec.addr_family = (n % 3) ? 4 : 6;
        memset(rec.addr, 0, 16);
        rec.addr[0] = 10;
        rec.addr[3] = (uint8_t) (n % 7);

        assert_true(p + 4 + keryu_record_size(&rec) <= buf + sizeof(buf));

        len = keryu_record_encode(&rec, p + 4);
        p[0] = (uint8_t) len;
        p[1] = (uint8_t) (len >> 8);
        p[2] = 0;
        p[3] = 0;
        p += 4 + len;
    }

    CHECK_MDB(keryu_store_txn_begin(st, 0, &txn));
    CHECK_MDB(keryu_store_append(st, txn, buf, (size_t) (p - buf), 100000,
                                 &res));
    CHECK_MDB(mdb_txn_commit(txn));
}


static void
consume_all(fixture_t *f)
{
    consume_res_t  res;

    do {
        assert_int_equal(consume_batch(&f->cs, &res), 0);
    } while (res.read);
}


static uint64_t
own_meta(fixture_t *f, const char *name)
{
    MDB_txn   *txn;
    uint64_t   v;

    CHECK_MDB(store_txn_begin(&f->dst, MDB_RDONLY, &txn));
    CHECK_MDB(store_meta_get(&f->dst, txn, name, &v));
    mdb_txn_abort(txn);

    return v;
}


/*
 * the key a record has in each index, built here from the layout that
 * store.c documents rather than with store.c's own code; len 0: none
 */

typedef struct {
    size_t              len;
    uint8_t             key[KERYU_RECORD_USER_MAX];
} test_key_t;


static void
record_keys(const keryu_record_t *rec, test_key_t k[5])
{
    k[0].len = 1;
    k[0].key[0] = rec->type;

    k[1].len = 0;

    if (rec->addr_family == 4 || rec->addr_family == 6) {
        k[1].key[0] = rec->addr_family;
        k[1].len = (rec->addr_family == 4) ? 5 : 17;
        memcpy(k[1].key + 1, rec->addr, k[1].len - 1);
    }

    k[2].len = rec->user.len;
    memcpy(k[2].key, rec->user.data, rec->user.len);

    k[3].len = 2;
    k[3].key[0] = (uint8_t) (rec->status >> 8);
    k[3].key[1] = (uint8_t) rec->status;

    k[4].len = 8;
    keryu_store_key_encode(k[4].key, rec->time_us);
}


/*
 * checks that each index holds exactly the entries of the records in
 * logs: every entry names a record that has its key, and each index has
 * as many entries as the records have keys for it; returns the records
 */

static uint64_t
check_indexes(store_t *st)
{
    int              rc;
    size_t           i;
    MDB_val          key, val, rkey, rval;
    MDB_dbi          dbi[5];
    MDB_txn         *txn;
    MDB_stat         ms;
    uint64_t         records, expect[5];
    MDB_cursor      *cur;
    test_key_t       k[5];
    keryu_record_t   rec;

    static const char  *names[] = { "by_type", "by_ip", "by_user",
                                    "by_status", "by_time" };

    dbi[0] = st->by_type;
    dbi[1] = st->by_ip;
    dbi[2] = st->by_user;
    dbi[3] = st->by_status;
    dbi[4] = st->by_time;

    CHECK_MDB(store_txn_begin(st, MDB_RDONLY, &txn));

    memset(expect, 0, sizeof(expect));
    records = 0;

    CHECK_MDB(mdb_cursor_open(txn, st->logs, &cur));

    for (rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST);
         rc == 0;
         rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT))
    {
        assert_int_equal(keryu_record_decode(&rec, val.mv_data, val.mv_size),
                         0);
        record_keys(&rec, k);
        records++;

        for (i = 0; i < 5; i++) {
            expect[i] += k[i].len ? 1 : 0;
        }
    }

    assert_int_equal(rc, MDB_NOTFOUND);
    mdb_cursor_close(cur);

    for (i = 0; i < 5; i++) {
        CHECK_MDB(mdb_stat(txn, dbi[i], &ms));

        if (ms.ms_entries != expect[i]) {
            fail_msg("%s: %zu entries, expected %llu", names[i],
                     ms.ms_entries, (unsigned long long) expect[i]);
        }

        CHECK_MDB(mdb_cursor_open(txn, dbi[i], &cur));

        for (rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST);
             rc == 0;
             rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT))
        {
            assert_int_equal(val.mv_size, 8);

            rkey = val;

            rc = mdb_get(txn, st->logs, &rkey, &rval);
            if (rc != 0) {
                fail_msg("%s: entry of missing record %llu", names[i],
                         (unsigned long long)
                         keryu_store_key_decode(val.mv_data));
            }

            assert_int_equal(keryu_record_decode(&rec, rval.mv_data,
                                                 rval.mv_size), 0);
            record_keys(&rec, k);

            if (k[i].len != key.mv_size
                || memcmp(k[i].key, key.mv_data, key.mv_size) != 0)
            {
                fail_msg("%s: record %llu under another key", names[i],
                         (unsigned long long)
                         keryu_store_key_decode(val.mv_data));
            }
        }

        assert_int_equal(rc, MDB_NOTFOUND);
        mdb_cursor_close(cur);
    }

    mdb_txn_abort(txn);

    return records;
}


/* the times of the records in logs, in id order */

static size_t
log_times(store_t *st, uint64_t *times, size_t max)
{
    int              rc;
    size_t           n;
    MDB_val          key, val;
    MDB_txn         *txn;
    MDB_cursor      *cur;
    keryu_record_t   rec;

    CHECK_MDB(store_txn_begin(st, MDB_RDONLY, &txn));
    CHECK_MDB(mdb_cursor_open(txn, st->logs, &cur));

    n = 0;

    for (rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST);
         rc == 0;
         rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT))
    {
        assert_int_equal(keryu_record_decode(&rec, val.mv_data, val.mv_size),
                         0);
        assert_true(n < max);
        times[n++] = rec.time_us - T0;
    }

    assert_int_equal(rc, MDB_NOTFOUND);

    mdb_cursor_close(cur);
    mdb_txn_abort(txn);

    return n;
}


static void
test_expire_deletes_old_records_and_their_entries(void **state)
{
    fixture_t  *f = *state;

    size_t      i, n, removed;
    uint64_t    times[64];

    /* old and new records interleave: ids do not follow time */

    static const uint64_t  t[] = { 500, 10, 900, 20, 499, 501, 0 };

    append(&f->src, 1, 60, t, 7);
    consume_all(f);

    assert_int_equal(check_indexes(&f->dst), 60);

    CHECK_MDB(store_expire(&f->dst, T0 + 500, STORE_EXPIRE_MAX, &removed));

    /* 10, 20, 499 and 0: four in each seven records */

    assert_int_equal(removed, 35);
    assert_int_equal(own_meta(f, STORE_META_EXPIRED), removed);

    n = log_times(&f->dst, times, 64);
    assert_int_equal(n, 60 - removed);

    for (i = 0; i < n; i++) {
        assert_true(times[i] >= 500);
    }

    assert_int_equal(check_indexes(&f->dst), n);

    /* nothing more is that old */

    CHECK_MDB(store_expire(&f->dst, T0 + 500, STORE_EXPIRE_MAX, &removed));
    assert_int_equal(removed, 0);
    assert_int_equal(own_meta(f, STORE_META_EXPIRED), 60 - n);

    /* records consumed after an expiry are indexed as before */

    append(&f->src, 61, 14, t, 7);
    consume_all(f);

    assert_int_equal(check_indexes(&f->dst), n + 14);
}


static void
test_expire_bounded_oldest_first(void **state)
{
    fixture_t  *f = *state;

    size_t      n, removed;
    uint64_t    times[32];

    static const uint64_t  t[] = { 50, 40, 30, 20, 10 };

    append(&f->src, 1, 10, t, 5);
    consume_all(f);

    /*
     * ids 1 to 10 have times 40 30 20 10 50 40 30 20 10 50: the 10s (ids
     * 4 and 9) go first, then the 20 of the lower id, 3
     */

    CHECK_MDB(store_expire(&f->dst, T0 + 1000, 3, &removed));
    assert_int_equal(removed, 3);

    n = log_times(&f->dst, times, 32);
    assert_int_equal(n, 7);
    assert_int_equal(times[0], 40);
    assert_int_equal(times[1], 30);
    assert_int_equal(times[2], 50);
    assert_int_equal(times[3], 40);
    assert_int_equal(times[4], 30);
    assert_int_equal(times[5], 20);
    assert_int_equal(times[6], 50);
    assert_int_equal(check_indexes(&f->dst), 7);

    CHECK_MDB(store_expire(&f->dst, T0 + 1000, 3, &removed));
    assert_int_equal(removed, 3);
    CHECK_MDB(store_expire(&f->dst, T0 + 1000, 3, &removed));
    assert_int_equal(removed, 3);
    CHECK_MDB(store_expire(&f->dst, T0 + 1000, 3, &removed));
    assert_int_equal(removed, 1);
    CHECK_MDB(store_expire(&f->dst, T0 + 1000, 3, &removed));
    assert_int_equal(removed, 0);

    assert_int_equal(log_times(&f->dst, times, 32), 0);
    assert_int_equal(check_indexes(&f->dst), 0);
    assert_int_equal(own_meta(f, STORE_META_EXPIRED), 10);
}


static void
test_expire_keeps_the_boundary(void **state)
{
    fixture_t  *f = *state;

    size_t      removed;
    uint64_t    times[8];

    static const uint64_t  t[] = { 99, 100, 101 };

    append(&f->src, 1, 3, t, 3);
    consume_all(f);

    CHECK_MDB(store_expire(&f->dst, T0 + 100, STORE_EXPIRE_MAX, &removed));
    assert_int_equal(removed, 1);

    assert_int_equal(log_times(&f->dst, times, 8), 2);
    assert_int_equal(times[0], 100);
    assert_int_equal(times[1], 101);
    assert_int_equal(check_indexes(&f->dst), 2);
}


/* an entry whose record is gone is deleted and not counted */

static void
test_expire_drops_entry_without_record(void **state)
{
    fixture_t  *f = *state;

    size_t      removed;
    uint8_t     kbuf[8];
    MDB_val     key;
    MDB_txn    *txn;

    static const uint64_t  t[] = { 1, 2 };

    append(&f->src, 1, 2, t, 2);
    consume_all(f);

    keryu_store_key_encode(kbuf, 1);
    key.mv_size = 8;
    key.mv_data = kbuf;

    CHECK_MDB(store_txn_begin(&f->dst, 0, &txn));
    CHECK_MDB(mdb_del(txn, f->dst.logs, &key, NULL));
    CHECK_MDB(mdb_txn_commit(txn));

    CHECK_MDB(store_expire(&f->dst, T0 + 10, STORE_EXPIRE_MAX, &removed));
    assert_int_equal(removed, 1);
    assert_int_equal(own_meta(f, STORE_META_EXPIRED), 1);
}


/* turns the store back into schema 1, as if written before the indexes */

static void
make_schema_1(fixture_t *f, uint64_t indexed)
{
    MDB_txn  *txn;

    CHECK_MDB(store_txn_begin(&f->dst, 0, &txn));
    CHECK_MDB(mdb_drop(txn, f->dst.by_type, 0));
    CHECK_MDB(mdb_drop(txn, f->dst.by_ip, 0));
    CHECK_MDB(mdb_drop(txn, f->dst.by_user, 0));
    CHECK_MDB(mdb_drop(txn, f->dst.by_status, 0));
    CHECK_MDB(mdb_drop(txn, f->dst.by_time, 0));
    CHECK_MDB(store_meta_put(&f->dst, txn, STORE_META_SCHEMA, 1));
    CHECK_MDB(store_meta_put(&f->dst, txn, STORE_META_INDEXED, indexed));
    CHECK_MDB(mdb_txn_commit(txn));
}


static void
test_schema_1_store_indexed_on_open(void **state)
{
    fixture_t       *f = *state;

    uint8_t          kbuf[8];
    MDB_val          key, val;
    MDB_txn         *txn;
    MDB_stat         ms;
    uint64_t         i;
    keryu_record_t   rec;

    static const uint64_t  t[] = { 5, 3, 8 };

    append(&f->src, 1, 40, t, 3);
    consume_all(f);

    make_schema_1(f, 0);

    CHECK_MDB(store_txn_begin(&f->dst, MDB_RDONLY, &txn));
    CHECK_MDB(mdb_stat(txn, f->dst.by_time, &ms));
    mdb_txn_abort(txn);
    assert_int_equal(ms.ms_entries, 0);

    fixture_close(f);
    fixture_open(f);

    assert_int_equal(f->dst.reindexed, 40);
    assert_int_equal(own_meta(f, STORE_META_SCHEMA), STORE_SCHEMA);
    assert_int_equal(own_meta(f, STORE_META_INDEXED), 0);
    assert_int_equal(check_indexes(&f->dst), 40);

    /* an upgrade cut short after id 25 goes on from 26 */

    make_schema_1(f, 25);

    CHECK_MDB(store_txn_begin(&f->dst, 0, &txn));

    for (i = 1; i <= 25; i++) {
        keryu_store_key_encode(kbuf, i);
        key.mv_size = 8;
        key.mv_data = kbuf;

        CHECK_MDB(mdb_get(txn, f->dst.logs, &key, &val));
        assert_int_equal(keryu_record_decode(&rec, val.mv_data, val.mv_size),
                         0);
        CHECK_MDB(store_index_put(&f->dst, txn, i, &rec));
    }

    CHECK_MDB(mdb_txn_commit(txn));

    fixture_close(f);
    fixture_open(f);

    assert_int_equal(f->dst.reindexed, 15);
    assert_int_equal(check_indexes(&f->dst), 40);

    /* a store of a later schema is refused */

    CHECK_MDB(store_txn_begin(&f->dst, 0, &txn));
    CHECK_MDB(store_meta_put(&f->dst, txn, STORE_META_SCHEMA,
                             STORE_SCHEMA + 1));
    CHECK_MDB(mdb_txn_commit(txn));

    fixture_close(f);

    assert_int_equal(store_open(&f->dst, f->dst_path, 16 * 1024 * 1024),
                     KERYU_STORE_EVERSION);

    CHECK_MDB(keryu_store_open(&f->src, f->src_path, 16 * 1024 * 1024,
                               MDB_NOSYNC));
    consume_init(&f->cs, &f->src, &f->dst, 1000);
}


/*
 * a batch whose index entries outgrow what store.c gathers at once is
 * written in parts, into the same transaction
 */

static void
test_large_batch_indexed_in_parts(void **state)
{
    fixture_t      *f = *state;

    uint64_t        n;
    consume_res_t   res;

    static const uint64_t  t[] = { 7, 1, 3, 5 };

    for (n = 1; n <= 60000; n += 500) {
        append(&f->src, n, 500, t, 4);
    }

    consume_free(&f->cs);
    consume_init(&f->cs, &f->src, &f->dst, 100000);

    assert_int_equal(consume_batch(&f->cs, &res), 0);
    assert_int_equal(res.stored, 60000);

    assert_int_equal(check_indexes(&f->dst), 60000);
}


static int
conf_try(const char *dir, const char *text, conf_t *cf, char *err,
    size_t errlen)
{
    char   path[128];
    FILE  *fp;

    snprintf(path, sizeof(path), "%s/keryud.conf", dir);

    fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);

    return conf_parse(cf, path, err, errlen);
}


static void
test_retention_directive(void **state)
{
    fixture_t  *f = *state;

    char        err[CONF_ERR_MAX];
    conf_t      cf;

    assert_int_equal(conf_try(f->dir, "store s;\ndata d;\n", &cf, err,
                              sizeof(err)), 0);
    assert_int_equal(cf.retention, 30 * 86400);

    assert_int_equal(conf_try(f->dir, "store s;\ndata d;\nretention 7;\n",
                              &cf, err, sizeof(err)), 0);
    assert_int_equal(cf.retention, 7 * 86400);

    assert_int_equal(conf_try(f->dir, "store s;\ndata d;\nretention off;\n",
                              &cf, err, sizeof(err)), 0);
    assert_int_equal(cf.retention, 0);

    assert_int_equal(conf_try(f->dir, "store s;\ndata d;\nretention 0;\n",
                              &cf, err, sizeof(err)), -1);
    assert_non_null(strstr(err, ":3: invalid number \"0\" in \"retention\" "
                           "directive, expecting 1 to 36500 days or "
                           "\"off\""));

    assert_int_equal(conf_try(f->dir, "store s;\ndata d;\nretention 7d;\n",
                              &cf, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "invalid number \"7d\""));

    assert_int_equal(conf_try(f->dir, "store s;\ndata d;\nretention 36501;\n",
                              &cf, err, sizeof(err)), -1);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test_setup_teardown(
            test_expire_deletes_old_records_and_their_entries,
            setup, teardown),
        cmocka_unit_test_setup_teardown(test_expire_bounded_oldest_first,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_expire_keeps_the_boundary,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_expire_drops_entry_without_record, setup, teardown),
        cmocka_unit_test_setup_teardown(test_schema_1_store_indexed_on_open,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_large_batch_indexed_in_parts,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_retention_directive,
                                        setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
