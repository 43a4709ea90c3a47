/*
 * Copyright (C) Keryu Security
 *
 * Tests of the hash chain over keryud's logs (chain.c): records consumed
 * from a shared store, and system_change records, each get an entry whose
 * digest and link this test recomputes from the layout chain.c documents;
 * checkpoints come every CHAIN_CHECKPOINT_RECORDS records or on the timer
 * and carry an Ed25519 signature checked here with the stored public key.
 * chain_verify() passes on an untouched store, and names the first bad
 * id and its kind after each tampering: a flipped byte, a deleted record
 * or entry, a cut tail, swapped records or entries, a corrupted or
 * re-signed checkpoint, a chain recomputed over a changed record, a
 * record without an entry.  Retention and erasure delete records and
 * keep verification passing; erasure empties the user's index and drops
 * the alerts' samples of the erased records; compaction drops the entries
 * that a checkpoint covers once their records are all deleted, and the
 * chain still verifies from that checkpoint.  Each test has a fresh
 * mkdtemp directory.
 */


#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>

#include "keryud.h"
#include "alert.h"
#include "api.h"
#include "chain.h"
#include "change.h"
#include "json.h"
#include "log.h"


#define CHECK_MDB(call)                                                       \
    do {                                                                      \
        int  rc_ = (call);                                                    \
        if (rc_ != 0) {                                                       \
            fail_msg("%s: %s", #call, keryu_store_strerror(rc_));             \
        }                                                                     \
    } while (0)


/* record n has time T0 + n seconds */
#define T0       1796316587000000ULL
#define SECOND   1000000ULL
#define MAP      (256 * 1024 * 1024)


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
    CHECK_MDB(keryu_store_open(&f->src, f->src_path, MAP, MDB_NOSYNC));
    CHECK_MDB(store_open(&f->dst, f->dst_path, MAP));
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

    strcpy(f->dir, "/tmp/keryud-chain-XXXXXX");
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
 * appends records first..first+count-1 to the ring: record n has user
 * "u<n % 4>" (none when n % 5 is 0), an address and a status that vary
 * with n, and time T0 + n seconds
 */

static void
append(keryu_store_t *st, uint64_t first, uint64_t count)
{
    char                   user[16], uri[32];
    size_t                 len;
    uint8_t               *buf, *p;
    MDB_txn               *txn;
    uint64_t               n;
    keryu_record_t         rec;
    keryu_store_append_t   res;

    buf = malloc(count * 256);
    assert_non_null(buf);

    memset(&rec, 0, sizeof(keryu_record_t));
    rec.method.data = (const uint8_t *) "GET";
    rec.method.len = 3;

    p = buf;

    for (n = first; n < first + count; n++) {
        snprintf(user, sizeof(user), "u%llu", (unsigned long long) (n % 4));
        snprintf(uri, sizeof(uri), "/orders/%llu", (unsigned long long) n);

        rec.seq = n;
        rec.time_us = T0 + n * SECOND;
        rec.type = (uint8_t) (n % KERYU_EVENT_MAX);
        rec.status = (n % 2) ? 200 : 403;
        rec.user.data = (const uint8_t *) user;
        rec.user.len = (n % 5) ? strlen(user) : 0;
        rec.uri.data = (const uint8_t *) uri;
        rec.uri.len = strlen(uri);
        rec.addr_family = 4;
        memset(rec.addr, 0, 16);
        rec.addr[0] = 10;
        rec.addr[3] = (uint8_t) (n % 7);

        assert_true(keryu_record_size(&rec) + 4 <= 256);

        len = keryu_record_encode(&rec, p + 4);
        p[0] = (uint8_t) len;
        p[1] = (uint8_t) (len >> 8);
        p[2] = 0;
        p[3] = 0;
        p += 4 + len;
    }

    CHECK_MDB(keryu_store_txn_begin(st, 0, &txn));
    CHECK_MDB(keryu_store_append(st, txn, buf, (size_t) (p - buf),
                                 1000000, &res));
    CHECK_MDB(mdb_txn_commit(txn));

    free(buf);
}


static void
consume_all(fixture_t *f)
{
    consume_res_t  res;

    do {
        assert_int_equal(consume_batch(&f->cs, &res), 0);
    } while (res.read);
}


static void
fill(fixture_t *f, uint64_t first, uint64_t count)
{
    append(&f->src, first, count);
    consume_all(f);
}


static void
verify(fixture_t *f, int full, chain_verify_t *v)
{
    MDB_txn  *txn;

    CHECK_MDB(store_txn_begin(&f->dst, MDB_RDONLY, &txn));
    CHECK_MDB(chain_verify(&f->dst, txn, full, v));
    mdb_txn_abort(txn);
}


static void
expect_ok(fixture_t *f, int full, uint64_t entries)
{
    chain_verify_t  v;

    verify(f, full, &v);

    if (v.kind != CHAIN_OK) {
        fail_msg("%s verify: id %llu %s: %s", full ? "full" : "quick",
                 (unsigned long long) v.bad_id, chain_kind_name(v.kind),
                 v.reason);
    }

    if (full) {
        assert_int_equal(v.entries, entries);
    }
}


static void
expect_bad(fixture_t *f, int full, int kind, uint64_t id, const char *reason)
{
    chain_verify_t  v;

    verify(f, full, &v);

    if (v.kind != kind || v.bad_id != id) {
        fail_msg("expected %s at %llu, got %s at %llu (%s)",
                 chain_kind_name(kind), (unsigned long long) id,
                 chain_kind_name(v.kind), (unsigned long long) v.bad_id,
                 v.reason ? v.reason : "");
    }

    if (reason) {
        assert_string_equal(v.reason, reason);
    }
}


/* a copy of the value under id in dbi, or NULL; *len gets its size */

static uint8_t *
get_copy(fixture_t *f, MDB_dbi dbi, uint64_t id, size_t *len)
{
    int        rc;
    uint8_t    kbuf[8], *p;
    MDB_val    key, val;
    MDB_txn   *txn;

    keryu_store_key_encode(kbuf, id);

    key.mv_size = 8;
    key.mv_data = kbuf;

    CHECK_MDB(store_txn_begin(&f->dst, MDB_RDONLY, &txn));

    rc = mdb_get(txn, dbi, &key, &val);

    if (rc == MDB_NOTFOUND) {
        mdb_txn_abort(txn);
        return NULL;
    }

    CHECK_MDB(rc);

    p = malloc(val.mv_size);
    assert_non_null(p);
    memcpy(p, val.mv_data, val.mv_size);
    *len = val.mv_size;

    mdb_txn_abort(txn);

    return p;
}


/* puts data under id in dbi, or deletes id when data is NULL */

static void
put(fixture_t *f, MDB_dbi dbi, uint64_t id, const uint8_t *data, size_t len)
{
    uint8_t   kbuf[8];
    MDB_val   key, val;
    MDB_txn  *txn;

    keryu_store_key_encode(kbuf, id);

    key.mv_size = 8;
    key.mv_data = kbuf;
    val.mv_size = len;
    val.mv_data = (void *) data;

    CHECK_MDB(store_txn_begin(&f->dst, 0, &txn));

    if (data) {
        CHECK_MDB(mdb_put(txn, dbi, &key, &val, 0));

    } else {
        CHECK_MDB(mdb_del(txn, dbi, &key, NULL));
    }

    CHECK_MDB(mdb_txn_commit(txn));
}


static void
swap(fixture_t *f, MDB_dbi dbi, uint64_t a, uint64_t b)
{
    size_t    alen, blen;
    uint8_t  *av, *bv;

    av = get_copy(f, dbi, a, &alen);
    bv = get_copy(f, dbi, b, &blen);
    assert_non_null(av);
    assert_non_null(bv);

    put(f, dbi, a, bv, blen);
    put(f, dbi, b, av, alen);

    free(av);
    free(bv);
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


static void
sha256(const void *a, size_t alen, const void *b, size_t blen,
    const void *c, size_t clen, uint8_t out[32])
{
    EVP_MD_CTX  *mc;

    mc = EVP_MD_CTX_new();
    assert_non_null(mc);

    assert_int_equal(EVP_DigestInit_ex(mc, EVP_sha256(), NULL), 1);
    assert_int_equal(EVP_DigestUpdate(mc, a, alen), 1);

    if (b) {
        assert_int_equal(EVP_DigestUpdate(mc, b, blen), 1);
        assert_int_equal(EVP_DigestUpdate(mc, c, clen), 1);
    }

    assert_int_equal(EVP_DigestFinal_ex(mc, out, NULL), 1);

    EVP_MD_CTX_free(mc);
}


/* the checkpoints, newest first into ids; returns how many */

static size_t
checkpoints(fixture_t *f, uint64_t *ids, size_t max)
{
    int          rc;
    size_t       n;
    MDB_val      key, val;
    MDB_txn     *txn;
    MDB_cursor  *cur;

    CHECK_MDB(store_txn_begin(&f->dst, MDB_RDONLY, &txn));
    CHECK_MDB(mdb_cursor_open(txn, f->dst.checkpoints, &cur));

    n = 0;

    for (rc = mdb_cursor_get(cur, &key, &val, MDB_LAST);
         rc == 0;
         rc = mdb_cursor_get(cur, &key, &val, MDB_PREV))
    {
        if (n < max) {
            ids[n] = keryu_store_key_decode(key.mv_data);
        }

        n++;
    }

    assert_int_equal(rc, MDB_NOTFOUND);

    mdb_cursor_close(cur);
    mdb_txn_abort(txn);

    return n;
}


static void
test_every_record_linked(void **state)
{
    fixture_t       *f = *state;

    int              rc;
    uint8_t          link[32], digest[32], idb[8], msg[16 + 8 + 42];
    MDB_val          key, val, rkey, rval, kkey, kval;
    MDB_txn         *txn;
    EVP_PKEY        *pk;
    uint64_t         id, ids[4];
    change_t         c;
    EVP_MD_CTX      *mc;
    MDB_cursor      *cur;
    chain_verify_t   v;
    const uint8_t   *e, *cp;

    fill(f, 1, 2500);

    memset(&c, 0, sizeof(change_t));
    c.actor = "cli:test";
    c.action = "policy.create";
    c.target = "p";
    c.method = "CLI";
    c.uri = "keryud policy apply p.json";

    CHECK_MDB(change_record(&f->dst, &c));

    expect_ok(f, 1, 2501);
    expect_ok(f, 0, 0);

    verify(f, 1, &v);
    assert_int_equal(v.first_id, 1);
    assert_int_equal(v.last_id, 2501);
    assert_int_equal(v.kept, 2501);
    assert_int_equal(v.expired + v.erased + v.unchained, 0);

    /* the first batch of a store is signed at once */

    assert_int_equal(checkpoints(f, ids, 4), 1);
    assert_int_equal(ids[0], 1000);
    assert_int_equal(v.checkpoints, 1);
    assert_int_equal(v.cp_id, 1000);

    /* each entry as chain.c documents it, recomputed here */

    memset(link, 0, 32);

    CHECK_MDB(store_txn_begin(&f->dst, MDB_RDONLY, &txn));
    CHECK_MDB(mdb_cursor_open(txn, f->dst.chain, &cur));

    id = 0;

    for (rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST);
         rc == 0;
         rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT))
    {
        id++;
        assert_int_equal(key.mv_size, 8);
        assert_int_equal(keryu_store_key_decode(key.mv_data), id);
        assert_int_equal(val.mv_size, 65);

        e = val.mv_data;

        rkey = key;
        CHECK_MDB(mdb_get(txn, f->dst.logs, &rkey, &rval));

        sha256(rval.mv_data, rval.mv_size, NULL, 0, NULL, 0, digest);
        assert_memory_equal(e, digest, 32);

        keryu_store_key_encode(idb, id);
        sha256(link, 32, idb, 8, digest, 32, link);
        assert_memory_equal(e + 32, link, 32);
        assert_int_equal(e[64], 0);

        /* the checkpoint signs the label, its id, and its value's head */

        if (id == 1000) {
            keryu_store_key_encode(idb, id);

            rkey.mv_size = 8;
            rkey.mv_data = idb;
            CHECK_MDB(mdb_get(txn, f->dst.checkpoints, &rkey, &rval));
            assert_int_equal(rval.mv_size, 114);

            cp = rval.mv_data;
            assert_int_equal(cp[0], 1);
            assert_int_equal(cp[1], 1);
            assert_memory_equal(cp + 10, link, 32);

            kkey.mv_size = 8;
            kkey.mv_data = (void *) (cp + 42);
            CHECK_MDB(mdb_get(txn, f->dst.chain_keys, &kkey, &kval));
            assert_int_equal(kval.mv_size, 80);

            sha256((uint8_t *) kval.mv_data + 16, 32, NULL, 0, NULL, 0,
                   digest);
            assert_memory_equal(digest, cp + 42, 8);

            memcpy(msg, "keryu-checkpoint", 16);
            memcpy(msg + 16, idb, 8);
            memcpy(msg + 24, cp, 42);

            pk = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL,
                                             (uint8_t *) kval.mv_data + 16,
                                             32);
            assert_non_null(pk);
            mc = EVP_MD_CTX_new();
            assert_non_null(mc);
            assert_int_equal(EVP_DigestVerifyInit(mc, NULL, NULL, NULL, pk),
                             1);
            assert_int_equal(EVP_DigestVerify(mc, cp + 50, 64, msg,
                                              sizeof(msg)), 1);
            EVP_MD_CTX_free(mc);
            EVP_PKEY_free(pk);
        }
    }

    assert_int_equal(rc, MDB_NOTFOUND);
    assert_int_equal(id, 2501);

    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
}


static void
test_checkpoints_by_count_and_time(void **state)
{
    fixture_t       *f = *state;

    uint64_t         ids[8];
    chain_verify_t   v;

    fill(f, 1, 25000);

    assert_int_equal(checkpoints(f, ids, 8), 3);
    assert_int_equal(ids[0], 21000);
    assert_int_equal(ids[1], 11000);
    assert_int_equal(ids[2], 1000);

    /* the timer signs the records that waited, and only once */

    CHECK_MDB(chain_tick(&f->dst, T0));
    assert_int_equal(checkpoints(f, ids, 8), 3);

    CHECK_MDB(chain_tick(&f->dst, T0 + 30 * 86400 * SECOND));
    assert_int_equal(checkpoints(f, ids, 8), 4);
    assert_int_equal(ids[0], 25000);

    CHECK_MDB(chain_tick(&f->dst, T0 + 31 * 86400 * SECOND));
    assert_int_equal(checkpoints(f, ids, 8), 4);

    verify(f, 1, &v);
    assert_int_equal(v.kind, CHAIN_OK);
    assert_int_equal(v.checkpoints, 4);
    assert_int_equal(v.cp_id, 25000);

    /* quick: from the newest checkpoint only */

    verify(f, 0, &v);
    assert_int_equal(v.kind, CHAIN_OK);
    assert_int_equal(v.first_id, 25000);
    assert_int_equal(v.entries, 1);
    assert_int_equal(v.checkpoints, 1);
}


static void
test_altered_record(void **state)
{
    fixture_t  *f = *state;

    size_t      len;
    uint8_t    *p;

    fill(f, 1, 300);
    expect_ok(f, 1, 300);

    p = get_copy(f, f->dst.logs, 123, &len);
    assert_non_null(p);

    p[len - 1] ^= 0x01;
    put(f, f->dst.logs, 123, p, len);

    expect_bad(f, 1, CHAIN_ALTERED, 123, "digest mismatch");

    /* the only checkpoint is at 300: a quick run starts past the change */

    expect_ok(f, 0, 0);

    p[len - 1] ^= 0x01;
    put(f, f->dst.logs, 123, p, len);
    free(p);

    expect_ok(f, 1, 300);

    /* an entry's stored digest changed to match an altered record */

    p = get_copy(f, f->dst.chain, 200, &len);
    p[0] ^= 0x80;
    put(f, f->dst.chain, 200, p, len);
    free(p);

    expect_bad(f, 1, CHAIN_ALTERED, 200, "digest mismatch");
}


static void
test_deleted_records(void **state)
{
    fixture_t  *f = *state;

    size_t      len;
    uint8_t    *rec, *ent;

    fill(f, 1, 300);

    /* a record deleted, its entry kept */

    rec = get_copy(f, f->dst.logs, 77, &len);
    put(f, f->dst.logs, 77, NULL, 0);
    expect_bad(f, 1, CHAIN_DELETED, 77, "record missing");
    put(f, f->dst.logs, 77, rec, len);
    free(rec);
    expect_ok(f, 1, 300);

    /* a record deleted with its entry */

    rec = get_copy(f, f->dst.logs, 150, &len);
    ent = get_copy(f, f->dst.chain, 150, &len);
    put(f, f->dst.logs, 150, NULL, 0);
    put(f, f->dst.chain, 150, NULL, 0);
    expect_bad(f, 1, CHAIN_DELETED, 150, "no chain entry");
    free(rec);
    free(ent);

    fixture_close(f);
    nftw(f->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    assert_non_null(mkdtemp(strcpy(f->dir, "/tmp/keryud-chain-XXXXXX")));
    snprintf(f->src_path, sizeof(f->src_path), "%s/store", f->dir);
    snprintf(f->dst_path, sizeof(f->dst_path), "%s/data", f->dir);
    fixture_open(f);

    /* the newest records cut off, entries and all */

    fill(f, 1, 300);

    put(f, f->dst.logs, 300, NULL, 0);
    put(f, f->dst.chain, 300, NULL, 0);
    put(f, f->dst.logs, 299, NULL, 0);
    put(f, f->dst.chain, 299, NULL, 0);

    expect_bad(f, 1, CHAIN_DELETED, 299, "a checkpoint covers it");

    put(f, f->dst.checkpoints, 300, NULL, 0);

    expect_bad(f, 1, CHAIN_DELETED, 299, "next_id is past the chain's end");
}


static void
test_swapped_records(void **state)
{
    fixture_t       *f = *state;

    chain_verify_t   v;

    fill(f, 1, 300);

    swap(f, f->dst.logs, 40, 45);

    verify(f, 1, &v);
    assert_int_equal(v.kind, CHAIN_REORDERED);
    assert_int_equal(v.bad_id, 40);
    assert_int_equal(v.other_id, 45);
    assert_string_equal(v.reason, "the record of another id");

    /* the entries swapped with them */

    swap(f, f->dst.chain, 40, 45);

    verify(f, 1, &v);
    assert_int_equal(v.kind, CHAIN_REORDERED);
    assert_int_equal(v.bad_id, 40);
    assert_int_equal(v.other_id, 45);
    assert_string_equal(v.reason, "the chain entry of another id");

    swap(f, f->dst.chain, 40, 45);
    swap(f, f->dst.logs, 40, 45);

    expect_ok(f, 1, 300);
}


static void
test_bad_checkpoints(void **state)
{
    fixture_t       *f = *state;

    int              i;
    size_t           len, klen;
    uint8_t         *cp, *rec, *key, link[32], idb[8], digest[32];
    uint64_t         id;
    chain_verify_t   v;

    fill(f, 1, 300);

    /* a signature with one bit flipped */

    cp = get_copy(f, f->dst.checkpoints, 300, &len);
    assert_non_null(cp);
    assert_int_equal(len, 114);

    cp[60] ^= 0x04;
    put(f, f->dst.checkpoints, 300, cp, len);
    expect_bad(f, 1, CHAIN_CHECKPOINT, 300, "bad signature");
    expect_bad(f, 0, CHAIN_CHECKPOINT, 300, "bad signature");
    cp[60] ^= 0x04;

    /* the signed link changed */

    cp[20] ^= 0x01;
    put(f, f->dst.checkpoints, 300, cp, len);
    expect_bad(f, 1, CHAIN_CHECKPOINT, 300, "bad signature");
    cp[20] ^= 0x01;

    put(f, f->dst.checkpoints, 300, cp, len);
    expect_ok(f, 1, 300);

    /* the signing key gone */

    key = get_copy(f, f->dst.chain_keys, keryu_store_key_decode(cp + 42),
                   &klen);
    assert_non_null(key);
    put(f, f->dst.chain_keys, keryu_store_key_decode(cp + 42), NULL, 0);
    expect_bad(f, 1, CHAIN_CHECKPOINT, 300, "unknown signing key");
    put(f, f->dst.chain_keys, keryu_store_key_decode(cp + 42), key, klen);
    free(key);
    expect_ok(f, 1, 300);

    /*
     * record 10 changed and every entry from it recomputed: each record
     * and link checks out, and only the signed checkpoint tells
     */

    rec = get_copy(f, f->dst.logs, 10, &len);
    rec[len - 1] ^= 0x20;
    put(f, f->dst.logs, 10, rec, len);
    free(rec);

    free(cp);
    cp = get_copy(f, f->dst.chain, 9, &len);
    memcpy(link, cp + 32, 32);
    free(cp);

    for (id = 10; id <= 300; id++) {
        rec = get_copy(f, f->dst.logs, id, &len);
        cp = get_copy(f, f->dst.chain, id, &klen);

        sha256(rec, len, NULL, 0, NULL, 0, digest);
        keryu_store_key_encode(idb, id);
        sha256(link, 32, idb, 8, digest, 32, link);

        memcpy(cp, digest, 32);
        memcpy(cp + 32, link, 32);
        put(f, f->dst.chain, id, cp, klen);

        free(rec);
        free(cp);
    }

    verify(f, 1, &v);
    assert_int_equal(v.kind, CHAIN_CHECKPOINT);
    assert_int_equal(v.bad_id, 300);
    assert_string_equal(v.reason, "signed link differs from the chain");
    assert_int_equal(v.entries, 300);

    for (i = 0; i < 2; i++) {
        verify(f, i, &v);
        assert_int_equal(v.kind, CHAIN_CHECKPOINT);
    }
}


static void
test_inserted_record(void **state)
{
    fixture_t  *f = *state;

    size_t      len;
    uint8_t    *rec;

    fill(f, 1, 50);

    rec = get_copy(f, f->dst.logs, 20, &len);
    put(f, f->dst.logs, 51, rec, len);
    free(rec);

    expect_bad(f, 1, CHAIN_INSERTED, 51, "record without chain entry");
}


typedef struct {
    uint64_t            samples[ALERT_SAMPLES];
    unsigned            n;
} samples_t;


static int
alert_samples(void *ctx, const alert_t *a)
{
    samples_t  *s = ctx;

    memcpy(s->samples, a->samples, sizeof(s->samples));
    s->n = a->nsamples;

    return 1;
}


/* the samples of alert id */

static void
get_samples(fixture_t *f, uint64_t id, samples_t *s)
{
    MDB_txn         *txn;
    uint64_t         next;
    alert_filter_t   af;

    memset(&af, 0, sizeof(alert_filter_t));
    af.limit = 1;
    af.cursor = id + 1;

    memset(s, 0, sizeof(samples_t));

    CHECK_MDB(store_txn_begin(&f->dst, MDB_RDONLY, &txn));
    CHECK_MDB(alert_list(&f->dst, txn, &af, alert_samples, s, &next));
    mdb_txn_abort(txn);
}


static uint64_t
raise_alert(fixture_t *f, const char *key, const char *key_type,
    const uint64_t *samples, unsigned n)
{
    int             opened;
    alert_t         a;
    uint64_t        id;
    alert_raise_t   in;

    memset(&in, 0, sizeof(alert_raise_t));

    in.rule = "test/rule";
    in.severity = 3;
    in.key = key;
    in.key_type = key_type;
    in.summary = "s";
    in.count = n;
    in.first_us = T0;
    in.last_us = T0;
    in.samples = samples;
    in.nsamples = n;
    in.actor = "test";

    CHECK_MDB(alert_raise(&f->dst, &in, T0, &a, &opened));
    id = a.id;
    alert_free(&a);

    return id;
}


static void
test_retention_and_erasure_keep_verifying(void **state)
{
    fixture_t       *f = *state;

    int              more;
    size_t           removed, len;
    uint8_t         *p;
    json_t          *j;
    MDB_val          key, val;
    MDB_txn         *txn;
    query_t          q;
    uint64_t         n, u1, records, alerts, a1, a2, a3;
    samples_t        s;
    chain_verify_t   v;
    const uint8_t   *out;

    static const uint64_t  mixed[] = { 1001, 1002, 1003, 1005, 1009 };
    static const uint64_t  others[] = { 1002, 1003 };

    fill(f, 1, 2000);

    /* retention: records 1..499 are older than T0 + 500 s */

    CHECK_MDB(store_expire(&f->dst, T0 + 500 * SECOND, STORE_EXPIRE_MAX,
                           &removed));
    assert_int_equal(removed, 499);

    verify(f, 1, &v);
    assert_int_equal(v.kind, CHAIN_OK);
    assert_int_equal(v.entries, 2000);
    assert_int_equal(v.expired, 499);
    assert_int_equal(v.kept, 1501);

    p = get_copy(f, f->dst.chain, 10, &len);
    assert_int_equal(p[64], CHAIN_EXPIRED);
    free(p);

    /* erasure: u1 is the user of n % 4 == 1 unless n % 5 == 0 */

    u1 = 0;

    for (n = 500; n <= 2000; n++) {
        u1 += (n % 4 == 1 && n % 5 != 0);
    }

    a1 = raise_alert(f, "u1", "user", mixed, 5);
    a2 = raise_alert(f, "10.0.0.1", "ip", others, 2);
    a3 = raise_alert(f, "10.0.0.1 u1", "ip+user", others, 2);

    CHECK_MDB(store_erase_subject(&f->dst, "u1", &records, &alerts));
    assert_int_equal(records, u1);
    assert_int_equal(alerts, 2);
    assert_int_equal(own_meta(f, STORE_META_ERASED), u1);

    verify(f, 1, &v);
    assert_int_equal(v.kind, CHAIN_OK);
    assert_int_equal(v.erased, u1);
    assert_int_equal(v.expired, 499);
    assert_int_equal(v.kept, 1501 - u1);

    p = get_copy(f, f->dst.chain, 1001, &len);
    assert_int_equal(p[64], CHAIN_ERASED);
    free(p);
    assert_null(get_copy(f, f->dst.logs, 1001, &len));

    /* the erased records' samples go, the others stay */

    get_samples(f, a1, &s);
    assert_int_equal(s.n, 3);
    assert_int_equal(s.samples[0], 1002);
    assert_int_equal(s.samples[1], 1003);
    assert_int_equal(s.samples[2], 1005);

    get_samples(f, a2, &s);
    assert_int_equal(s.n, 2);
    get_samples(f, a3, &s);
    assert_int_equal(s.n, 2);

    /* nothing of u1 is left to list, and its index is empty */

    CHECK_MDB(store_txn_begin(&f->dst, MDB_RDONLY, &txn));

    key.mv_size = 2;
    key.mv_data = "u1";
    assert_int_equal(mdb_get(txn, f->dst.by_user, &key, &val), MDB_NOTFOUND);

    assert_int_equal(query_parse(&q, "user=u1"), 0);
    j = json_new();
    assert_non_null(j);
    CHECK_MDB(api_scan(&f->dst, txn, &q, 0, API_SCAN_MAX, j));
    assert_int_equal(json_result(j, &out, &len), 0);
    assert_int_equal(len, sizeof("{\"items\":[],\"next_cursor\":null}") - 1);
    assert_memory_equal(out, "{\"items\":[],\"next_cursor\":null}", len);
    json_free(j);

    mdb_txn_abort(txn);

    /* a second erasure finds nothing; the chain goes on after both */

    CHECK_MDB(store_erase_user(&f->dst, (const uint8_t *) "u1", 2, 100,
                               &removed, &more));
    assert_int_equal(removed, 0);
    assert_int_equal(more, 0);

    fill(f, 2001, 100);
    expect_ok(f, 1, 2100);
    expect_ok(f, 0, 0);

    /* a deletion that neither retention nor an erasure marked */

    put(f, f->dst.logs, 1500, NULL, 0);
    expect_bad(f, 1, CHAIN_DELETED, 1500, "record missing");
}


static void
test_compaction_after_retention(void **state)
{
    fixture_t       *f = *state;

    size_t           removed, len, klen;
    uint8_t         *rec, *ent, *cp;
    chain_verify_t   v;

    fill(f, 1, 25000);

    /* nothing to drop while records remain below every checkpoint */

    CHECK_MDB(chain_compact(&f->dst, &removed));
    assert_int_equal(removed, 0);

    /* records 1..14999 expire; checkpoints are at 1000, 11000, 21000 */

    do {
        CHECK_MDB(store_expire(&f->dst, T0 + 15000 * SECOND,
                               STORE_EXPIRE_MAX, &removed));
    } while (removed);

    CHECK_MDB(chain_compact(&f->dst, &removed));
    assert_int_equal(removed, 999);
    assert_int_equal(own_meta(f, STORE_META_CHAIN_BASE), 1000);

    CHECK_MDB(chain_compact(&f->dst, &removed));
    assert_int_equal(removed, 10000);
    assert_int_equal(own_meta(f, STORE_META_CHAIN_BASE), 11000);

    CHECK_MDB(chain_compact(&f->dst, &removed));
    assert_int_equal(removed, 0);

    assert_null(get_copy(f, f->dst.chain, 10999, &len));

    verify(f, 1, &v);
    assert_int_equal(v.kind, CHAIN_OK);
    assert_int_equal(v.first_id, 11001);
    assert_int_equal(v.entries, 14000);
    assert_int_equal(v.expired, 3999);
    assert_int_equal(v.kept, 10001);
    assert_int_equal(v.checkpoints, 2);

    expect_ok(f, 0, 0);

    fill(f, 25001, 100);
    expect_ok(f, 1, 14100);

    /* a record put back below the base */

    rec = get_copy(f, f->dst.logs, 20000, &len);
    put(f, f->dst.logs, 5000, rec, len);
    expect_bad(f, 1, CHAIN_INSERTED, 5000, "record before the chain's base");
    put(f, f->dst.logs, 5000, NULL, 0);
    free(rec);

    /* the base's entry, and its checkpoint */

    ent = get_copy(f, f->dst.chain, 11000, &len);
    put(f, f->dst.chain, 11000, NULL, 0);
    expect_bad(f, 1, CHAIN_DELETED, 11000, "no chain entry");
    put(f, f->dst.chain, 11000, ent, len);
    free(ent);

    cp = get_copy(f, f->dst.checkpoints, 11000, &klen);
    cp[100] ^= 0x10;
    put(f, f->dst.checkpoints, 11000, cp, klen);
    expect_bad(f, 1, CHAIN_CHECKPOINT, 11000, "bad signature");
    cp[100] ^= 0x10;
    put(f, f->dst.checkpoints, 11000, cp, klen);
    free(cp);

    expect_ok(f, 1, 14100);

    /* a record gone without its entry marked stops compaction */

    do {
        CHECK_MDB(store_expire(&f->dst, T0 + 25000 * SECOND,
                               STORE_EXPIRE_MAX, &removed));
    } while (removed);

    ent = get_copy(f, f->dst.chain, 12000, &len);
    ent[64] = CHAIN_KEPT;
    put(f, f->dst.chain, 12000, ent, len);
    free(ent);

    CHECK_MDB(chain_compact(&f->dst, &removed));
    assert_int_equal(removed, 0);
    assert_int_equal(own_meta(f, STORE_META_CHAIN_BASE), 11000);

    expect_bad(f, 1, CHAIN_DELETED, 12000, "record missing");
}


static void
test_store_older_than_the_chain(void **state)
{
    fixture_t       *f = *state;

    MDB_txn         *txn;
    chain_verify_t   v;

    fill(f, 1, 50);

    /* back to schema 2: no chain yet */

    CHECK_MDB(store_txn_begin(&f->dst, 0, &txn));
    CHECK_MDB(mdb_drop(txn, f->dst.chain, 0));
    CHECK_MDB(mdb_drop(txn, f->dst.checkpoints, 0));
    CHECK_MDB(store_meta_put(&f->dst, txn, STORE_META_CHAIN_FIRST, 0));
    CHECK_MDB(store_meta_put(&f->dst, txn, STORE_META_SCHEMA, 2));
    CHECK_MDB(mdb_txn_commit(txn));

    fixture_close(f);
    fixture_open(f);

    assert_int_equal(own_meta(f, STORE_META_SCHEMA), STORE_SCHEMA);
    assert_int_equal(own_meta(f, STORE_META_CHAIN_FIRST), 51);

    verify(f, 1, &v);
    assert_int_equal(v.kind, CHAIN_OK);
    assert_int_equal(v.unchained, 50);
    assert_int_equal(v.entries, 0);

    fill(f, 51, 20);

    verify(f, 1, &v);
    assert_int_equal(v.kind, CHAIN_OK);
    assert_int_equal(v.unchained, 50);
    assert_int_equal(v.first_id, 51);
    assert_int_equal(v.entries, 20);
    assert_int_equal(v.checkpoints, 1);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test_setup_teardown(test_every_record_linked,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_checkpoints_by_count_and_time,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_altered_record,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_deleted_records,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_swapped_records,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_checkpoints,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_inserted_record,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_retention_and_erasure_keep_verifying, setup, teardown),
        cmocka_unit_test_setup_teardown(test_compaction_after_retention,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_older_than_the_chain,
                                        setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
