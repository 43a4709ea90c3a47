/*
 * Copyright (C) Keryu Security
 *
 * keryud's side of sealing: records sealed as a worker seals them, to the
 * key keryud publishes, are opened by the consumer with the private key of
 * the version they name (before and after a rotation), stored with their
 * personal fields encrypted under the data key and indexed by blind keys;
 * records that do not open are stored as read and counted; listings read
 * them back in full, and a subject's records are erased through its blind
 * index.  Without keys, the store keeps records as it reads them.
 */


#include "unit.h"

#include <unistd.h>

#include "keryud.h"
#include "json.h"
#include "keys.h"
#include "log.h"


#define T0  1796316587ULL


typedef struct {
    char                dir[UNIT_DIR_LEN];
    char                src_path[UNIT_PATH_LEN];
    char                dst_path[UNIT_PATH_LEN];
    conf_t              cf;
    keryu_store_t       src;
    store_t             dst;
    consumer_t          cs;
    keys_t             *ks;
    uint64_t            seq;
} fixture_t;


static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void) sb;
    (void) flag;
    (void) ftw;

    return remove(path);
}


static int
setup(void **state)
{
    char        err[CONF_ERR_MAX];
    uint8_t     master[KEYS_MASTER_LEN];
    fixture_t  *f;

    log_init(1, 0);

    f = calloc(1, sizeof(fixture_t));
    if (f == NULL || unit_dir_make(f->dir, f->src_path, "store") != 0) {
        free(f);
        return -1;
    }

    snprintf(f->dst_path, sizeof(f->dst_path), "%s/data", f->dir);

    conf_defaults(&f->cf);
    snprintf(f->cf.data, sizeof(f->cf.data), "%s", f->dst_path);

    test_mdb_ok(keryu_store_open(&f->src, f->src_path, UNIT_MAP_SIZE,
                                 MDB_NOSYNC), "keryu_store_open");
    test_mdb_ok(store_open(&f->dst, f->dst_path, UNIT_MAP_SIZE),
                "store_open");

    memset(master, 0x5a, sizeof(master));

    f->ks = keys_new(&f->dst, &f->cf, master);
    assert_non_null(f->ks);

    if (keys_load(f->ks, T0, 1, err, sizeof(err)) != 0) {
        fail_msg("keys_load() failed: %s", err);
    }

    keys_set_shared(f->ks, &f->src);
    keys_tick(f->ks, T0);

    f->dst.keys = f->ks;

    assert_int_equal(consume_init(&f->cs, &f->src, &f->dst, 1000), 0);

    *state = f;

    return 0;
}


static int
teardown(void **state)
{
    fixture_t  *f = *state;

    consume_free(&f->cs);
    keys_free(f->ks);
    keryu_store_close(&f->src);
    store_close(&f->dst);
    nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(f);

    return 0;
}


/*
 * appends a record of user with agent n, sealed as a worker seals it to
 * the published key when seal is set (a sealer keyed once per call, as
 * a worker's is per version), and damaged at byte damage of its sealed
 * section when damage is not 0; version overrides the published one
 */

static void
append(fixture_t *f, const char *user, unsigned n, int seal,
    uint32_t version, size_t damage)
{
    char                   agent[32], uri[48];
    size_t                 len, plen, slen, publen;
    uint8_t                buf[4 + KERYU_RECORD_SEALED_MAX_SIZE],
                           personal[KERYU_RECORD_PERSONAL_MAX],
                           pub[KERYU_SEALING_PUBLIC_LEN];
    MDB_txn               *txn;
    uint32_t               got;
    uint64_t               pv;
    keryu_record_t         rec, plain;
    keryu_sealer_t         s;
    keryu_store_append_t   res;

    snprintf(agent, sizeof(agent), "agent-%u", n);
    snprintf(uri, sizeof(uri), "/r/%u?q=query-%u", n, n);

    memset(&rec, 0, sizeof(keryu_record_t));
    rec.seq = ++f->seq;
    rec.time_us = T0 * 1000000 + n;
    rec.status = 200;
    rec.type = KERYU_EVENT_LOGIN;
    rec.addr_family = 4;
    memcpy(rec.addr, "\xc0\x00\x02\x09", 4);
    rec.user.data = (const uint8_t *) user;
    rec.user.len = strlen(user);
    rec.user_agent.data = (const uint8_t *) agent;
    rec.user_agent.len = strlen(agent);
    rec.method.data = (const uint8_t *) "GET";
    rec.method.len = 3;
    rec.uri.data = (const uint8_t *) uri;
    rec.uri.len = strlen(uri);

    if (!seal) {
        len = keryu_record_encode(&rec, buf + 4);

    } else {
        test_mdb_ok(keryu_store_txn_begin(&f->src, MDB_RDONLY, &txn),
                    "mdb_txn_begin");
        test_mdb_ok(keryu_store_sealing_get(&f->src, txn, &pv, pub),
                    "keryu_store_sealing_get");
        mdb_txn_abort(txn);

        /* an older version's own public key, when keryud has it */

        publen = sizeof(pub);

        if (version
            && keys_public(f->ks, KEYS_LOG_SEALING, version, pub, &publen,
                           &got) != 0)
        {
            test_mdb_ok(keryu_store_txn_begin(&f->src, MDB_RDONLY, &txn),
                        "mdb_txn_begin");
            test_mdb_ok(keryu_store_sealing_get(&f->src, txn, &pv, pub),
                        "keryu_store_sealing_get");
            mdb_txn_abort(txn);
        }

        plen = keryu_record_split(&rec, &plain, personal,
                                  KERYU_RECORD_F_SEALED);
        plain.sealed.len = plen + KERYU_SEAL_OVERHEAD;
        plain.seq = 0;

        len = keryu_record_encode(&plain, buf + 4);
        slen = len - plain.sealed.len;

        assert_int_equal(keryu_sealer_init(&s), 0);
        assert_int_equal(keryu_sealer_rekey(&s, version ? version
                                                : (uint32_t) pv, pub), 0);
        assert_int_equal(keryu_sealer_seal(&s, buf + 4, slen, personal, plen,
                                           buf + 4 + slen), 0);
        keryu_sealer_free(&s);

        keryu_record_set_seq(buf + 4, rec.seq);

        if (damage) {
            buf[4 + slen + damage] ^= 0x40;
        }
    }

    buf[0] = (uint8_t) len;
    buf[1] = (uint8_t) (len >> 8);
    buf[2] = 0;
    buf[3] = 0;

    test_mdb_ok(keryu_store_txn_begin(&f->src, 0, &txn), "mdb_txn_begin");
    test_mdb_ok(keryu_store_append(&f->src, txn, buf, 4 + len, 1000, &res),
                "keryu_store_append");
    test_mdb_ok(mdb_txn_commit(txn), "mdb_txn_commit");
}


/*
 * counts the requests' records in logs: n all of them, opened those that
 * read back in full, plain those that hold an agent in the clear
 */

static void
read_back(fixture_t *f, unsigned *n, unsigned *opened, unsigned *plain)
{
    int              rc;
    char             agent[32];
    MDB_val          key, val;
    MDB_txn         *txn;
    MDB_cursor      *cur;
    keryu_record_t   rec;
    store_rbuf_t    *b;

    b = malloc(sizeof(store_rbuf_t));
    assert_non_null(b);

    *n = *opened = *plain = 0;

    test_mdb_ok(store_txn_begin(&f->dst, MDB_RDONLY, &txn), "mdb_txn_begin");
    test_mdb_ok(mdb_cursor_open(txn, f->dst.logs, &cur), "mdb_cursor_open");

    while ((rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) == 0) {

        /* keryud's own records of the keys it made are not counted */

        if (keryu_record_decode(&rec, val.mv_data, val.mv_size) == 0
            && rec.type == KERYU_EVENT_SYSTEM_CHANGE)
        {
            continue;
        }

        (*n)++;

        if (memmem(val.mv_data, val.mv_size, "agent-", 6) != NULL) {
            (*plain)++;
        }

        rc = store_record_read(&f->dst, &val, &rec, b);
        assert_int_not_equal(rc, -1);

        if (rc == 0 && rec.type == KERYU_EVENT_LOGIN) {
            snprintf(agent, sizeof(agent), "agent-%.*s",
                     (int) (rec.uri.len > 3 ? strcspn((char *) rec.uri.data
                                                      + 3, "?") : 0),
                     rec.uri.data + 3);
            assert_int_equal(rec.user_agent.len, strlen(agent));
            assert_memory_equal(rec.user_agent.data, agent, strlen(agent));
            assert_int_equal(rec.addr_family, 4);
            assert_non_null(memmem(rec.uri.data, rec.uri.len, "?q=query-",
                                   9));
            (*opened)++;
        }
    }

    assert_int_equal(rc, MDB_NOTFOUND);

    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    free(b);
}


/* the number of ids under a user's key in by_user */

static size_t
by_user(fixture_t *f, const char *user)
{
    int          rc;
    size_t       n, klen;
    uint8_t      k[STORE_INDEX_KEY_MAX];
    MDB_val      key, val;
    MDB_txn     *txn;
    MDB_cursor  *cur;

    klen = store_index_user(&f->dst, k, (const uint8_t *) user,
                            strlen(user));
    assert_true(klen > 0);

    key.mv_size = klen;
    key.mv_data = k;

    test_mdb_ok(store_txn_begin(&f->dst, MDB_RDONLY, &txn), "mdb_txn_begin");
    test_mdb_ok(mdb_cursor_open(txn, f->dst.by_user, &cur),
                "mdb_cursor_open");

    rc = mdb_cursor_get(cur, &key, &val, MDB_SET_KEY);
    n = 0;

    if (rc == 0) {
        test_mdb_ok(mdb_cursor_count(cur, &n), "mdb_cursor_count");

    } else {
        assert_int_equal(rc, MDB_NOTFOUND);
    }

    mdb_cursor_close(cur);
    mdb_txn_abort(txn);

    return n;
}


/* the records of logs the API would list as sealed, checked as it does */

static unsigned
listed_sealed(fixture_t *f)
{
    int              rc;
    size_t           len;
    json_t          *j;
    MDB_val          key, val;
    MDB_txn         *txn;
    unsigned         n;
    MDB_cursor      *cur;
    store_rbuf_t    *b;
    const uint8_t   *out;
    keryu_record_t   rec;

    b = malloc(sizeof(store_rbuf_t));
    assert_non_null(b);

    n = 0;

    test_mdb_ok(store_txn_begin(&f->dst, MDB_RDONLY, &txn), "mdb_txn_begin");
    test_mdb_ok(mdb_cursor_open(txn, f->dst.logs, &cur), "mdb_cursor_open");

    while ((rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) == 0) {
        if (store_record_read(&f->dst, &val, &rec, b) != 1) {
            continue;
        }

        j = json_new();
        assert_non_null(j);
        json_record(j, 1, &rec);
        assert_int_equal(json_result(j, &out, &len), 0);

        assert_non_null(memmem(out, len, "\"sealed\":true", 13));
        assert_non_null(memmem(out, len, "\"user\":null,\"ip\":null", 21));
        assert_null(memmem(out, len, "agent-", 6));

        json_free(j);
        n++;
    }

    assert_int_equal(rc, MDB_NOTFOUND);

    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    free(b);

    return n;
}


static void
consume(fixture_t *f, consume_res_t *res)
{
    assert_int_equal(consume_batch(&f->cs, res), 0);
}


static void
sealed_records_opened_and_kept_encrypted(void **state)
{
    fixture_t  *f = *state;

    unsigned        i, n, opened, plain;
    uint8_t         k[STORE_INDEX_KEY_MAX];
    consume_res_t   res;

    for (i = 1; i <= 10; i++) {
        append(f, "alice", i, 1, 0, 0);
    }

    /* a plain record from before the key was there is encrypted too */
    append(f, "bob", 11, 0, 0, 0);

    consume(f, &res);
    assert_int_equal(res.stored, 11);
    assert_int_equal(res.unsealable, 0);

    read_back(f, &n, &opened, &plain);
    assert_int_equal(n, 11);
    assert_int_equal(opened, 11);
    assert_int_equal(plain, 0);

    /* blind keys: 32 bytes, not the name */
    assert_int_equal(store_index_user(&f->dst, k, (const uint8_t *) "alice",
                                      5), STORE_BLIND_LEN);
    assert_int_equal(by_user(f, "alice"), 10);
    assert_int_equal(by_user(f, "bob"), 1);
    assert_int_equal(by_user(f, "carol"), 0);
}


static void
records_of_a_retired_version_still_open(void **state)
{
    fixture_t  *f = *state;

    unsigned        n, opened, plain;
    consume_res_t   res;

    append(f, "alice", 1, 1, 0, 0);

    assert_int_equal(keys_rotate(f->ks, KEYS_LOG_SEALING, T0 + 60, "test",
                                 NULL, NULL), 0);
    keys_tick(f->ks, T0 + 60);
    assert_int_equal(keys_active_version(f->ks, KEYS_LOG_SEALING), 2);

    /* sealed to v2 now, and one more to v1 still in a worker's hands */
    append(f, "alice", 2, 1, 0, 0);
    append(f, "alice", 3, 1, 1, 0);

    consume(f, &res);
    assert_int_equal(res.stored, 3);
    assert_int_equal(res.unsealable, 0);

    read_back(f, &n, &opened, &plain);
    assert_int_equal(opened, 3);
    assert_int_equal(plain, 0);
}


static void
records_that_do_not_open_are_counted(void **state)
{
    fixture_t  *f = *state;

    unsigned        n, opened, plain;
    consume_res_t   res;

    append(f, "alice", 1, 1, 0, 0);

    /* a version keryud never had, a damaged ciphertext, a damaged key */
    append(f, "mallory", 2, 1, 9, 0);
    append(f, "mallory", 3, 1, 0, KERYU_SEAL_OVERHEAD);
    append(f, "mallory", 4, 1, 0, 5);

    consume(f, &res);
    assert_int_equal(res.stored, 4);
    assert_int_equal(res.unsealable, 3);

    read_back(f, &n, &opened, &plain);
    assert_int_equal(n, 4);
    assert_int_equal(opened, 1);
    assert_int_equal(plain, 0);

    /* sealed ones have no user index entry: it is not known */
    assert_int_equal(by_user(f, "mallory"), 0);

    /* and the API shows their plain part, marked sealed */
    assert_int_equal(listed_sealed(f), 3);

    {
        MDB_txn   *txn;
        uint64_t   v;

        test_mdb_ok(store_txn_begin(&f->dst, MDB_RDONLY, &txn),
                    "mdb_txn_begin");
        test_mdb_ok(store_meta_get(&f->dst, txn, STORE_META_UNSEALABLE, &v),
                    "store_meta_get");
        mdb_txn_abort(txn);
        assert_int_equal(v, 3);
    }
}


static void
subject_erased_through_its_blind_index(void **state)
{
    fixture_t  *f = *state;

    int             more;
    size_t          removed;
    unsigned        i, n, opened, plain;
    consume_res_t   res;

    for (i = 1; i <= 5; i++) {
        append(f, i % 2 ? "alice" : "bob", i, 1, 0, 0);
    }

    consume(f, &res);
    assert_int_equal(res.stored, 5);

    assert_int_equal(store_erase_user(&f->dst, (const uint8_t *) "alice", 5,
                                      100, &removed, &more), 0);
    assert_int_equal(removed, 3);
    assert_int_equal(by_user(f, "alice"), 0);
    assert_int_equal(by_user(f, "bob"), 2);

    read_back(f, &n, &opened, &plain);
    assert_int_equal(n, 2);
}


static void
without_keys_records_are_kept_as_read(void **state)
{
    fixture_t  *f = *state;

    unsigned        n, opened, plain;
    uint8_t         k[STORE_INDEX_KEY_MAX];
    consume_res_t   res;

    f->dst.keys = NULL;

    append(f, "alice", 1, 1, 0, 0);
    append(f, "alice", 2, 0, 0, 0);

    consume(f, &res);
    assert_int_equal(res.stored, 2);
    assert_int_equal(res.unsealable, 1);

    read_back(f, &n, &opened, &plain);
    assert_int_equal(n, 2);
    assert_int_equal(opened, 1);
    assert_int_equal(plain, 1);

    /* plain keys, and only for the record that is not sealed */
    assert_int_equal(store_index_user(&f->dst, k, (const uint8_t *) "alice",
                                      5), 5);
    assert_int_equal(by_user(f, "alice"), 1);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test_setup_teardown(
            sealed_records_opened_and_kept_encrypted, setup, teardown),
        cmocka_unit_test_setup_teardown(
            records_of_a_retired_version_still_open, setup, teardown),
        cmocka_unit_test_setup_teardown(
            records_that_do_not_open_are_counted, setup, teardown),
        cmocka_unit_test_setup_teardown(
            subject_erased_through_its_blind_index, setup, teardown),
        cmocka_unit_test_setup_teardown(
            without_keys_records_are_kept_as_read, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
