/*
 * Copyright (C) Keryu Security
 *
 * Tests of keryud's keys (keys.c): values wrapped under the master key and
 * unwrapped again, a wrong master key and a damaged wrapped key refused
 * with nothing written, the rotation state machine on a fake clock,
 * destruction once a retired key's time is up, the sealing key published
 * in the shared store, and the passphrase backup: a round trip into a
 * store under another master key, a wrong passphrase, a checksum
 * mismatch, and a store with keys refused.  Each test works in a fresh
 * mkdtemp directory.
 */


#include "unit.h"

#include <fcntl.h>
#include <unistd.h>
#include <openssl/sha.h>

#include "keryud.h"
#include "alert.h"
#include "keys.h"
#include "respond.h"
#include "log.h"


#define T0  1796316587ULL


typedef struct {
    char                dir[UNIT_DIR_LEN];
    char                path[UNIT_PATH_LEN];
    char                path2[UNIT_PATH_LEN];
    conf_t              cf;
    store_t             st;
    store_t             st2;
    int                 st2_open;
    keys_t             *ks;
    respond_t           resp;
    uint8_t             master[KEYS_MASTER_LEN];
    uint8_t             other[KEYS_MASTER_LEN];
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
    int         rc;
    fixture_t  *f;

    f = calloc(1, sizeof(fixture_t));
    if (f == NULL || unit_dir_make(f->dir, f->path, "keys") != 0) {
        free(f);
        return -1;
    }

    snprintf(f->path2, sizeof(f->path2), "%s/store2", f->dir);

    conf_defaults(&f->cf);
    snprintf(f->cf.data, sizeof(f->cf.data), "%s", f->path);

    memset(f->master, 0x11, sizeof(f->master));
    memset(f->other, 0x22, sizeof(f->other));

    rc = store_open(&f->st, f->path, UNIT_MAP_SIZE);
    if (rc != 0) {
        print_error("store_open() failed: %s\n", keryu_store_strerror(rc));
        return -1;
    }

    /* alerts go into the same store, without notifications */

    memset(&f->resp, 0, sizeof(respond_t));
    f->resp.own = &f->st;

    *state = f;

    return 0;
}


static int
teardown(void **state)
{
    fixture_t  *f = *state;

    keys_free(f->ks);
    store_close(&f->st);

    if (f->st2_open) {
        store_close(&f->st2);
    }

    nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(f);

    return 0;
}


/* a keys_t of st under master, loaded at now; fails the test on error */

static keys_t *
load(fixture_t *f, store_t *st, const uint8_t *master, uint64_t now,
    int create)
{
    char     err[CONF_ERR_MAX];
    keys_t  *ks;

    ks = keys_new(st, &f->cf, master);
    assert_non_null(ks);

    if (keys_load(ks, now, create, err, sizeof(err)) != 0) {
        fail_msg("keys_load() failed: %s", err);
    }

    keys_set_respond(ks, &f->resp);

    return ks;
}


/* every entry of enc_keys, concatenated, to tell whether any changed */

static size_t
snapshot(store_t *st, uint8_t *buf, size_t size)
{
    int          rc;
    size_t       n;
    MDB_val      key, val;
    MDB_txn     *txn;
    MDB_cursor  *cur;

    test_mdb_ok(store_txn_begin(st, MDB_RDONLY, &txn), "mdb_txn_begin");
    test_mdb_ok(mdb_cursor_open(txn, st->enc_keys, &cur), "mdb_cursor_open");

    n = 0;

    while ((rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) == 0) {
        assert_true(n + key.mv_size + val.mv_size <= size);
        memcpy(buf + n, key.mv_data, key.mv_size);
        n += key.mv_size;
        memcpy(buf + n, val.mv_data, val.mv_size);
        n += val.mv_size;
    }

    assert_int_equal(rc, MDB_NOTFOUND);

    mdb_cursor_close(cur);
    mdb_txn_abort(txn);

    return n;
}


/* changes one byte of the entry of type and version at offset */

static void
damage(store_t *st, int type, uint32_t version, size_t off, int truncate)
{
    uint8_t   k[5], buf[256];
    MDB_val   key, val;
    MDB_txn  *txn;

    k[0] = (uint8_t) type;
    k[1] = (uint8_t) (version >> 24);
    k[2] = (uint8_t) (version >> 16);
    k[3] = (uint8_t) (version >> 8);
    k[4] = (uint8_t) version;

    key.mv_size = 5;
    key.mv_data = k;

    test_mdb_ok(store_txn_begin(st, 0, &txn), "mdb_txn_begin");
    test_mdb_ok(mdb_get(txn, st->enc_keys, &key, &val), "mdb_get");

    assert_true(val.mv_size <= sizeof(buf) && off < val.mv_size);
    memcpy(buf, val.mv_data, val.mv_size);
    buf[off] ^= 0x01;

    val.mv_data = buf;

    if (truncate) {
        val.mv_size -= 3;
    }

    test_mdb_ok(mdb_put(txn, st->enc_keys, &key, &val, 0), "mdb_put");
    test_mdb_ok(mdb_txn_commit(txn), "mdb_txn_commit");
}


static unsigned
alerts_of(store_t *st, const char *rule)
{
    int         rc;
    unsigned    n;
    MDB_val     key, val;
    MDB_txn    *txn;
    MDB_cursor *cur;
    alert_t     a;

    n = 0;

    test_mdb_ok(store_txn_begin(st, MDB_RDONLY, &txn), "mdb_txn_begin");
    test_mdb_ok(mdb_cursor_open(txn, st->alerts, &cur), "mdb_cursor_open");

    while ((rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) == 0) {
        assert_int_equal(alert_get(st, txn,
                                   keryu_store_key_decode(key.mv_data), &a),
                         ALERT_OK);

        if (strcmp(a.rule, rule) == 0) {
            n++;
        }

        alert_free(&a);
    }

    mdb_cursor_close(cur);
    mdb_txn_abort(txn);

    return n;
}


/* system_change records in logs whose details hold action */

static unsigned
changes_of(store_t *st, const char *action)
{
    int              rc;
    char             needle[64];
    unsigned         n;
    MDB_val          key, val;
    MDB_txn         *txn;
    MDB_cursor      *cur;
    keryu_record_t   rec;

    snprintf(needle, sizeof(needle), "\"action\":\"%s\"", action);
    n = 0;

    test_mdb_ok(store_txn_begin(st, MDB_RDONLY, &txn), "mdb_txn_begin");
    test_mdb_ok(mdb_cursor_open(txn, st->logs, &cur), "mdb_cursor_open");

    while ((rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) == 0) {
        assert_int_equal(keryu_record_decode(&rec, val.mv_data,
                                             val.mv_size), 0);

        if (rec.type == KERYU_EVENT_SYSTEM_CHANGE
            && memmem(rec.details.data, rec.details.len, needle,
                      strlen(needle)) != NULL)
        {
            n++;
        }
    }

    mdb_cursor_close(cur);
    mdb_txn_abort(txn);

    return n;
}


static void
test_keys_made_and_unwrapped_again(void **state)
{
    fixture_t  *f = *state;

    int         type;
    char        kid[KEYS_KID_LEN + 1], kid2[KEYS_KID_LEN + 1];
    size_t      len, clen, plen, slen;
    uint8_t     sig[KEYS_SIG_MAX], ct[128], pt[128], sealed[128], pub[32];
    keys_key_t  k, k2;

    static const char  msg[] = "a checkpoint to sign";

    f->ks = load(f, &f->st, f->master, T0, 1);

    for (type = KEYS_LOG_SEALING; type <= KEYS_MANAGED; type++) {
        assert_int_equal(keys_get(f->ks, type, 0, &k), 0);
        assert_int_equal(k.version, 1);
        assert_int_equal(k.state, KEYS_ACTIVE);
        assert_int_equal(k.created, T0);
        assert_int_equal(k.len, KEYS_VALUE_LEN);
    }

    assert_int_equal(changes_of(&f->st, "keys.create"), KEYS_MANAGED);

    len = sizeof(sig);
    assert_int_equal(keys_sign(f->ks, KEYS_REPORT_SIGNING,
                               (const uint8_t *) msg, sizeof(msg), sig,
                               &len), 0);
    assert_int_equal(len, 64);

    assert_int_equal(keys_encrypt(f->ks, (const uint8_t *) msg, sizeof(msg),
                                  (const uint8_t *) "aad", 3, ct, &clen), 0);
    assert_int_equal(clen, sizeof(msg) + KEYS_DATA_OVERHEAD);

    len = sizeof(pub);
    assert_int_equal(keys_public(f->ks, KEYS_LOG_SEALING, 0, pub, &len,
                                 NULL), 0);
    assert_int_equal(keys_seal_to(pub, 1, (const uint8_t *) msg,
                                  sizeof(msg), sealed, &slen), 0);

    assert_int_equal(keys_get(f->ks, KEYS_DATA, 0, &k), 0);
    keys_kid(&k, kid);

    keys_free(f->ks);

    /* the same master key unwraps them all again */

    f->ks = load(f, &f->st, f->master, T0 + 1, 0);

    assert_int_equal(keys_get(f->ks, KEYS_DATA, 0, &k2), 0);
    keys_kid(&k2, kid2);
    assert_string_equal(kid, kid2);

    assert_int_equal(keys_verify(f->ks, KEYS_REPORT_SIGNING, 1,
                                 (const uint8_t *) msg, sizeof(msg), sig, 64),
                     0);

    assert_int_equal(keys_decrypt(f->ks, ct, clen, (const uint8_t *) "aad",
                                  3, pt, &plen), 0);
    assert_int_equal(plen, sizeof(msg));
    assert_memory_equal(pt, msg, sizeof(msg));

    assert_int_equal(keys_decrypt(f->ks, ct, clen, (const uint8_t *) "aaX",
                                  3, pt, &plen), KEYS_ECRYPTO);

    assert_int_equal(keys_unseal(f->ks, sealed, slen, pt, &plen), 0);
    assert_memory_equal(pt, msg, sizeof(msg));

    sealed[slen - 1] ^= 1;
    assert_int_equal(keys_unseal(f->ks, sealed, slen, pt, &plen),
                     KEYS_ECRYPTO);

    /* a second load creates nothing */

    assert_int_equal(changes_of(&f->st, "keys.create"), KEYS_MANAGED);
}


static void
test_wrong_master_key_writes_nothing(void **state)
{
    fixture_t  *f = *state;

    char        err[CONF_ERR_MAX];
    size_t      n1, n2;
    keys_t     *ks;
    uint8_t    *s1, *s2;

    f->ks = load(f, &f->st, f->master, T0, 1);

    s1 = malloc(16384);
    s2 = malloc(16384);
    assert_non_null(s1);
    assert_non_null(s2);

    n1 = snapshot(&f->st, s1, 16384);

    ks = keys_new(&f->st, &f->cf, f->other);
    assert_non_null(ks);

    assert_int_equal(keys_load(ks, T0 + 5, 1, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "wrong master key"));
    keys_free(ks);

    n2 = snapshot(&f->st, s2, 16384);
    assert_int_equal(n1, n2);
    assert_memory_equal(s1, s2, n1);

    free(s1);
    free(s2);
}


static void
test_damaged_wrapped_key_refused(void **state)
{
    fixture_t  *f = *state;

    char        err[CONF_ERR_MAX];
    keys_t     *ks;
    unsigned    failed;

    f->ks = load(f, &f->st, f->master, T0, 1);

    /* one bit of the data key's wrapped value */

    damage(&f->st, KEYS_DATA, 1, 88 + 3, 0);

    ks = keys_new(&f->st, &f->cf, f->master);
    assert_non_null(ks);
    assert_int_equal(keys_load(ks, T0 + 1, 1, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "key data v1 ("));
    assert_non_null(strstr(err, "does not unwrap"));
    keys_free(ks);

    /* the loaded keys_t validates what is stored, and raises an alert */

    assert_int_equal(keys_validate(f->ks, T0 + 2, NULL, NULL, &failed), 0);
    assert_int_equal(failed, 1);
    assert_int_equal(alerts_of(&f->st, "keys/validation_failed"), 1);

    /* its AAD: the id changed, so the value no longer unwraps either */

    damage(&f->st, KEYS_DATA, 1, 88 + 3, 0);
    damage(&f->st, KEYS_REPORT_SIGNING, 1, 8, 0);

    ks = keys_new(&f->st, &f->cf, f->master);
    assert_non_null(ks);
    assert_int_equal(keys_load(ks, T0 + 1, 1, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "key report_signing v1 ("));
    keys_free(ks);

    /* an entry cut short does not decode at all */

    damage(&f->st, KEYS_REPORT_SIGNING, 1, 8, 1);

    ks = keys_new(&f->st, &f->cf, f->master);
    assert_non_null(ks);
    assert_int_equal(keys_load(ks, T0 + 1, 1, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "does not decode"));
    keys_free(ks);
}


static void
test_rotation_state_machine(void **state)
{
    fixture_t  *f = *state;

    size_t      len;
    uint8_t     sig[KEYS_SIG_MAX], mac[KEYS_MAC_LEN];
    keys_key_t  k;

    static const char  msg[] = "report";

    f->cf.key_period[KEYS_REPORT_SIGNING] = 10;
    f->cf.key_period[KEYS_WEBHOOK_SIGNING] = 20;
    f->cf.key_period[KEYS_DATA] = 0;
    f->cf.key_period[KEYS_LOG_SEALING] = 0;
    f->cf.key_grace = 5;

    f->ks = load(f, &f->st, f->master, T0, 1);

    len = sizeof(sig);
    assert_int_equal(keys_sign(f->ks, KEYS_REPORT_SIGNING,
                               (const uint8_t *) msg, sizeof(msg), sig,
                               &len), 0);

    len = sizeof(mac);
    assert_int_equal(keys_sign(f->ks, KEYS_WEBHOOK_SIGNING,
                               (const uint8_t *) msg, sizeof(msg), mac,
                               &len), 0);

    keys_tick(f->ks, T0 + 9);
    assert_int_equal(keys_active_version(f->ks, KEYS_REPORT_SIGNING), 1);

    /* the period is up: v2 active, v1 verifies for the grace */

    keys_tick(f->ks, T0 + 10);
    assert_int_equal(keys_active_version(f->ks, KEYS_REPORT_SIGNING), 2);

    assert_int_equal(keys_get(f->ks, KEYS_REPORT_SIGNING, 1, &k), 0);
    assert_int_equal(k.state, KEYS_VERIFY_ONLY);
    assert_int_equal(k.rotated, T0 + 10);

    assert_int_equal(alerts_of(&f->st, "keys/rotated"), 1);
    assert_int_equal(changes_of(&f->st, "keys.rotate"), 1);

    keys_tick(f->ks, T0 + 14);
    assert_int_equal(keys_get(f->ks, KEYS_REPORT_SIGNING, 1, &k), 0);
    assert_int_equal(k.state, KEYS_VERIFY_ONLY);

    /* the grace is over: the value is gone, the public half stays */

    keys_tick(f->ks, T0 + 15);
    assert_int_equal(keys_get(f->ks, KEYS_REPORT_SIGNING, 1, &k), 0);
    assert_int_equal(k.state, KEYS_DESTROYED);
    assert_int_equal(k.destroyed, T0 + 15);
    assert_int_equal(k.len, 0);
    assert_int_equal(keys_verify(f->ks, KEYS_REPORT_SIGNING, 1,
                                 (const uint8_t *) msg, sizeof(msg), sig, 64),
                     0);
    assert_int_equal(alerts_of(&f->st, "keys/destroyed"), 1);
    assert_int_equal(changes_of(&f->st, "keys.destroy"), 1);

    /* v2 made at T0 + 10 rotates at T0 + 20, with the webhook key */

    keys_tick(f->ks, T0 + 20);
    assert_int_equal(keys_active_version(f->ks, KEYS_REPORT_SIGNING), 3);
    assert_int_equal(keys_active_version(f->ks, KEYS_WEBHOOK_SIGNING), 2);
    assert_int_equal(keys_verify(f->ks, KEYS_WEBHOOK_SIGNING, 1,
                                 (const uint8_t *) msg, sizeof(msg), mac,
                                 sizeof(mac)), 0);

    keys_tick(f->ks, T0 + 25);
    assert_int_equal(keys_get(f->ks, KEYS_WEBHOOK_SIGNING, 1, &k), 0);
    assert_int_equal(k.state, KEYS_DESTROYED);
    assert_int_equal(keys_verify(f->ks, KEYS_WEBHOOK_SIGNING, 1,
                                 (const uint8_t *) msg, sizeof(msg), mac,
                                 sizeof(mac)), KEYS_ENOKEY);

    /* blind_index and jwt_hmac never rotate, on the timer or on demand */

    keys_tick(f->ks, T0 + 100 * 365 * 86400ULL);
    assert_int_equal(keys_active_version(f->ks, KEYS_BLIND_INDEX), 1);
    assert_int_equal(keys_rotate(f->ks, KEYS_BLIND_INDEX, T0 + 30, "test",
                                 NULL, NULL), KEYS_ENOROTATE);
    assert_int_equal(keys_rotate(f->ks, KEYS_JWT_HMAC, T0 + 30, "test",
                                 NULL, NULL), KEYS_ENOROTATE);

    /* on demand */

    assert_int_equal(keys_rotate(f->ks, KEYS_DATA, T0 + 30, "test", NULL,
                                 NULL), 0);
    assert_int_equal(keys_active_version(f->ks, KEYS_DATA), 2);
    assert_int_equal(keys_get(f->ks, KEYS_DATA, 1, &k), 0);
    assert_int_equal(k.state, KEYS_DECRYPT_ONLY);
}


static void
test_decrypt_only_destroyed_after_retention(void **state)
{
    fixture_t  *f = *state;

    size_t      clen, plen, slen, len;
    uint8_t     ct[128], pt[128], sealed[128], pub[32];
    keys_key_t  k;

    static const char  msg[] = "a record";

    f->cf.key_period[KEYS_DATA] = 100;
    f->cf.key_period[KEYS_LOG_SEALING] = 100;
    f->cf.key_period[KEYS_REPORT_SIGNING] = 0;
    f->cf.key_period[KEYS_WEBHOOK_SIGNING] = 0;
    f->cf.key_grace = 5;
    f->cf.retention = 1000;

    f->ks = load(f, &f->st, f->master, T0, 1);

    assert_int_equal(keys_encrypt(f->ks, (const uint8_t *) msg, sizeof(msg),
                                  NULL, 0, ct, &clen), 0);

    len = sizeof(pub);
    assert_int_equal(keys_public(f->ks, KEYS_LOG_SEALING, 0, pub, &len,
                                 NULL), 0);
    assert_int_equal(keys_seal_to(pub, 1, (const uint8_t *) msg,
                                  sizeof(msg), sealed, &slen), 0);

    keys_tick(f->ks, T0 + 100);
    assert_int_equal(keys_active_version(f->ks, KEYS_DATA), 2);
    assert_int_equal(keys_get(f->ks, KEYS_DATA, 1, &k), 0);
    assert_int_equal(k.state, KEYS_DECRYPT_ONLY);

    /* data under v1 lives until retention (and the grace) past rotation */

    keys_tick(f->ks, T0 + 100 + 1000 + 4);
    assert_int_equal(keys_decrypt(f->ks, ct, clen, NULL, 0, pt, &plen), 0);
    assert_int_equal(keys_unseal(f->ks, sealed, slen, pt, &plen), 0);

    keys_tick(f->ks, T0 + 100 + 1000 + 5);
    assert_int_equal(keys_get(f->ks, KEYS_DATA, 1, &k), 0);
    assert_int_equal(k.state, KEYS_DESTROYED);
    assert_int_equal(keys_decrypt(f->ks, ct, clen, NULL, 0, pt, &plen),
                     KEYS_ENOKEY);
    assert_int_equal(keys_unseal(f->ks, sealed, slen, pt, &plen),
                     KEYS_ENOKEY);

    /* v2 rotated at T0 + 200 waits for its own retention */

    assert_int_equal(keys_get(f->ks, KEYS_DATA, 2, &k), 0);
    assert_int_equal(k.state, KEYS_DECRYPT_ONLY);

    /* destroyed keys stay destroyed after a reload */

    keys_free(f->ks);
    f->ks = load(f, &f->st, f->master, T0 + 2000, 0);
    assert_int_equal(keys_get(f->ks, KEYS_DATA, 1, &k), 0);
    assert_int_equal(k.state, KEYS_DESTROYED);
}


static void
test_decrypt_only_kept_without_retention(void **state)
{
    fixture_t  *f = *state;

    keys_key_t  k;

    f->cf.key_period[KEYS_DATA] = 100;
    f->cf.retention = 0;

    f->ks = load(f, &f->st, f->master, T0, 1);

    keys_tick(f->ks, T0 + 100);
    keys_tick(f->ks, T0 + 50 * 365 * 86400ULL);

    assert_int_equal(keys_get(f->ks, KEYS_DATA, 1, &k), 0);
    assert_int_equal(k.state, KEYS_DECRYPT_ONLY);
}


static void
test_changes_of_another_process_reloaded(void **state)
{
    fixture_t  *f = *state;

    keys_t     *cli;

    f->ks = load(f, &f->st, f->master, T0, 1);
    cli = load(f, &f->st, f->master, T0, 0);

    assert_int_equal(keys_rotate(cli, KEYS_REPORT_SIGNING, T0 + 1, "cli",
                                 NULL, NULL), 0);
    keys_free(cli);

    assert_int_equal(keys_active_version(f->ks, KEYS_REPORT_SIGNING), 1);
    keys_tick(f->ks, T0 + 2);
    assert_int_equal(keys_active_version(f->ks, KEYS_REPORT_SIGNING), 2);

    /* and rotating again numbers after what the other process made */

    assert_int_equal(keys_rotate(f->ks, KEYS_REPORT_SIGNING, T0 + 3, "test",
                                 NULL, NULL), 0);
    assert_int_equal(keys_active_version(f->ks, KEYS_REPORT_SIGNING), 3);
}


static void
test_sealing_key_published(void **state)
{
    fixture_t      *f = *state;

    char            spath[UNIT_PATH_LEN];
    size_t          len;
    uint8_t         pub[32], spub[32];
    MDB_txn        *txn;
    uint64_t        version, cv1, cv2;
    keryu_store_t   src;

    snprintf(spath, sizeof(spath), "%s/shared", f->dir);
    assert_int_equal(unit_store_open(&src, spath), 0);

    f->ks = load(f, &f->st, f->master, T0, 1);
    keys_set_shared(f->ks, &src);

    test_mdb_ok(keryu_store_txn_begin(&src, MDB_RDONLY, &txn), "txn_begin");
    test_mdb_ok(keryu_store_sealing_get(&src, txn, &version, spub),
                "keryu_store_sealing_get");
    test_mdb_ok(keryu_store_meta_get(&src, txn, KERYU_META_CONFIG_VERSION,
                                     &cv1), "keryu_store_meta_get");
    mdb_txn_abort(txn);

    len = sizeof(pub);
    assert_int_equal(keys_public(f->ks, KEYS_LOG_SEALING, 0, pub, &len,
                                 NULL), 0);
    assert_int_equal(version, 1);
    assert_memory_equal(pub, spub, 32);

    /* a rotation publishes the new key and raises config_version */

    assert_int_equal(keys_rotate(f->ks, KEYS_LOG_SEALING, T0 + 1, "test",
                                 NULL, NULL), 0);

    test_mdb_ok(keryu_store_txn_begin(&src, MDB_RDONLY, &txn), "txn_begin");
    test_mdb_ok(keryu_store_sealing_get(&src, txn, &version, spub),
                "keryu_store_sealing_get");
    test_mdb_ok(keryu_store_meta_get(&src, txn, KERYU_META_CONFIG_VERSION,
                                     &cv2), "keryu_store_meta_get");
    mdb_txn_abort(txn);

    len = sizeof(pub);
    assert_int_equal(keys_public(f->ks, KEYS_LOG_SEALING, 0, pub, &len,
                                 NULL), 0);
    assert_int_equal(version, 2);
    assert_memory_equal(pub, spub, 32);
    assert_int_equal(cv2, cv1 + 1);

    /* the timer does not write an unchanged key again */

    keys_tick(f->ks, T0 + 2);

    test_mdb_ok(keryu_store_txn_begin(&src, MDB_RDONLY, &txn), "txn_begin");
    test_mdb_ok(keryu_store_meta_get(&src, txn, KERYU_META_CONFIG_VERSION,
                                     &cv1), "keryu_store_meta_get");
    mdb_txn_abort(txn);
    assert_int_equal(cv1, cv2);

    keys_set_shared(f->ks, NULL);
    keryu_store_close(&src);
}


/* a backup of f->ks after a rotation; the caller frees *buf */

static void
backup(fixture_t *f, const char *pass, uint8_t **buf, size_t *len)
{
    unsigned  count;

    assert_int_equal(keys_backup(f->ks, pass, strlen(pass), T0 + 10, buf,
                                 len, &count), 0);
    assert_int_equal(count, KEYS_MANAGED + 1);
}


static keys_t *
fresh(fixture_t *f)
{
    int      rc;
    keys_t  *ks;

    rc = store_open(&f->st2, f->path2, UNIT_MAP_SIZE);
    test_mdb_ok(rc, "store_open");
    f->st2_open = 1;

    ks = keys_new(&f->st2, &f->cf, f->other);
    assert_non_null(ks);

    return ks;
}


static void
test_backup_restored_under_another_master_key(void **state)
{
    fixture_t  *f = *state;

    int         type;
    char        err[CONF_ERR_MAX], a[KEYS_KID_LEN + 1], b[KEYS_KID_LEN + 1];
    size_t      len, clen, plen, slen;
    keys_t     *ks2;
    uint8_t    *buf, ct[128], pt[128], sig[KEYS_SIG_MAX];
    unsigned    count;
    keys_key_t  k1, k2;

    static const char  msg[] = "kept across the backup";

    f->ks = load(f, &f->st, f->master, T0, 1);
    assert_int_equal(keys_rotate(f->ks, KEYS_DATA, T0 + 1, "test", NULL,
                                 NULL), 0);

    assert_int_equal(keys_encrypt(f->ks, (const uint8_t *) msg, sizeof(msg),
                                  NULL, 0, ct, &clen), 0);
    slen = sizeof(sig);
    assert_int_equal(keys_sign(f->ks, KEYS_REPORT_SIGNING,
                               (const uint8_t *) msg, sizeof(msg), sig,
                               &slen), 0);

    backup(f, "correct horse battery", &buf, &len);

    ks2 = fresh(f);

    assert_int_equal(keys_restore(ks2, buf, len, "correct horse battery",
                                  21, 0, &count, err, sizeof(err)), 0);
    assert_int_equal(count, KEYS_MANAGED + 1);

    for (type = KEYS_LOG_SEALING; type <= KEYS_MANAGED; type++) {
        assert_int_equal(keys_get(f->ks, type, 1, &k1), 0);
        assert_int_equal(keys_get(ks2, type, 1, &k2), 0);
        keys_kid(&k1, a);
        keys_kid(&k2, b);
        assert_string_equal(a, b);
        assert_int_equal(k1.state, k2.state);
        assert_int_equal(k1.created, k2.created);
        assert_int_equal(k1.rotated, k2.rotated);
    }

    assert_int_equal(keys_active_version(ks2, KEYS_DATA), 2);
    assert_int_equal(keys_decrypt(ks2, ct, clen, NULL, 0, pt, &plen), 0);
    assert_memory_equal(pt, msg, sizeof(msg));
    assert_int_equal(keys_verify(ks2, KEYS_REPORT_SIGNING, 0,
                                 (const uint8_t *) msg, sizeof(msg), sig,
                                 slen), 0);

    keys_free(ks2);

    /* wrapped under the other master key now: it loads, and validates */

    ks2 = keys_new(&f->st2, &f->cf, f->other);
    assert_non_null(ks2);
    assert_int_equal(keys_load(ks2, T0 + 20, 0, err, sizeof(err)), 0);
    assert_int_equal(keys_validate(ks2, T0 + 20, NULL, NULL, &count), 0);
    assert_int_equal(count, 0);

    /* a store with keys is refused, unless forced */

    assert_int_equal(keys_restore(ks2, buf, len, "correct horse battery",
                                  21, 0, &count, err, sizeof(err)),
                     KEYS_ENOTEMPTY);
    assert_non_null(strstr(err, "--force"));
    assert_int_equal(keys_restore(ks2, buf, len, "correct horse battery",
                                  21, 1, &count, err, sizeof(err)), 0);

    keys_free(ks2);
    free(buf);
}


static void
test_backup_wrong_passphrase(void **state)
{
    fixture_t  *f = *state;

    char        err[CONF_ERR_MAX];
    size_t      len;
    keys_t     *ks2;
    uint8_t    *buf;
    unsigned    count;

    f->ks = load(f, &f->st, f->master, T0, 1);
    assert_int_equal(keys_rotate(f->ks, KEYS_DATA, T0 + 1, "test", NULL,
                                 NULL), 0);
    backup(f, "correct horse battery", &buf, &len);

    ks2 = fresh(f);

    assert_int_equal(keys_restore(ks2, buf, len, "correct horse batterz",
                                  21, 0, &count, err, sizeof(err)),
                     KEYS_EPASSPHRASE);
    assert_non_null(strstr(err, "wrong passphrase"));

    /* nothing was written */

    assert_int_equal(keys_load(ks2, T0, 0, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "has no keys yet"));

    keys_free(ks2);
    free(buf);
}


static void
test_backup_checksum_mismatch(void **state)
{
    fixture_t  *f = *state;

    char        err[CONF_ERR_MAX];
    size_t      len;
    keys_t     *ks2;
    uint8_t    *buf;
    unsigned    count;

    f->ks = load(f, &f->st, f->master, T0, 1);
    assert_int_equal(keys_rotate(f->ks, KEYS_DATA, T0 + 1, "test", NULL,
                                 NULL), 0);
    backup(f, "correct horse battery", &buf, &len);

    ks2 = fresh(f);

    buf[100] ^= 0x40;

    assert_int_equal(keys_restore(ks2, buf, len, "correct horse battery",
                                  21, 0, &count, err, sizeof(err)),
                     KEYS_ECHECKSUM);
    assert_non_null(strstr(err, "checksum mismatch"));

    /* an altered file with its checksum made again fails the tag */

    SHA256(buf, len - 32, buf + len - 32);

    assert_int_equal(keys_restore(ks2, buf, len, "correct horse battery",
                                  21, 0, &count, err, sizeof(err)),
                     KEYS_EPASSPHRASE);

    /* a cut file is not a backup */

    assert_int_equal(keys_restore(ks2, buf, 40, "correct horse battery",
                                  21, 0, &count, err, sizeof(err)),
                     KEYS_EFORMAT);

    keys_free(ks2);
    free(buf);
}


static void
write_master(const char *path, const void *data, size_t len, mode_t mode)
{
    int  fd;

    unlink(path);
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL, mode);
    assert_true(fd != -1);
    assert_int_equal(write(fd, data, len), (ssize_t) len);
    assert_int_equal(fchmod(fd, mode), 0);
    close(fd);
}


static void
test_master_key_sources(void **state)
{
    fixture_t  *f = *state;

    char        path[UNIT_PATH_LEN], err[CONF_ERR_MAX], hex[66];
    uint8_t     m[KEYS_MASTER_LEN], raw[KEYS_MASTER_LEN];
    size_t      i;

    snprintf(path, sizeof(path), "%s/master", f->dir);

    for (i = 0; i < KEYS_MASTER_LEN; i++) {
        raw[i] = (uint8_t) (i * 7 + 1);
        snprintf(hex + 2 * i, 3, "%02x", raw[i]);
    }

    hex[64] = '\n';
    hex[65] = '\0';

    write_master(path, raw, 32, 0600);
    assert_int_equal(keys_master_read(path, m, err, sizeof(err)), 1);
    assert_memory_equal(m, raw, 32);

    write_master(path, hex, 65, 0400);
    memset(m, 0, sizeof(m));
    assert_int_equal(keys_master_read(path, m, err, sizeof(err)), 1);
    assert_memory_equal(m, raw, 32);

    write_master(path, hex, 65, 0644);
    assert_int_equal(keys_master_read(path, m, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "has mode 0644, expecting 0600 or 0400"));

    write_master(path, hex, 40, 0600);
    assert_int_equal(keys_master_read(path, m, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "32 bytes or 64 hex digits"));

    unsetenv("KERYU_MASTER_KEY");
    assert_int_equal(keys_master_read("", m, err, sizeof(err)), 0);

    hex[64] = '\0';
    setenv("KERYU_MASTER_KEY", hex, 1);
    memset(m, 0, sizeof(m));
    assert_int_equal(keys_master_read("", m, err, sizeof(err)), 1);
    assert_memory_equal(m, raw, 32);
    assert_null(getenv("KERYU_MASTER_KEY"));

    setenv("KERYU_MASTER_KEY", "abcd", 1);
    assert_int_equal(keys_master_read("", m, err, sizeof(err)), -1);
    assert_null(getenv("KERYU_MASTER_KEY"));
}


static void
test_without_master_key_everything_refused(void **state)
{
    fixture_t  *f = *state;

    size_t      len;
    uint8_t     sig[KEYS_SIG_MAX];
    json_t     *j;

    f->ks = keys_new(&f->st, &f->cf, NULL);
    assert_non_null(f->ks);
    assert_false(keys_enabled(f->ks));

    len = sizeof(sig);
    assert_int_equal(keys_sign(f->ks, KEYS_REPORT_SIGNING,
                               (const uint8_t *) "x", 1, sig, &len),
                     KEYS_EDISABLED);
    assert_int_equal(keys_rotate(f->ks, KEYS_DATA, T0, "test", NULL, NULL),
                     KEYS_EDISABLED);

    j = json_new();
    assert_int_equal(keys_list_json(f->ks, NULL, T0, j), KEYS_EDISABLED);
    json_free(j);

    keys_tick(f->ks, T0);
}


static void
test_key_directives(void **state)
{
    fixture_t  *f = *state;

    char        file[UNIT_PATH_LEN], err[CONF_ERR_MAX];
    FILE       *fp;
    conf_t      cf;

    snprintf(file, sizeof(file), "%s/k.conf", f->dir);

    fp = fopen(file, "w");
    assert_non_null(fp);
    fprintf(fp, "store /s;\ndata /d;\nmaster_key /m;\n"
            "key_period data 12h;\nkey_period log_sealing never;\n"
            "key_period blind_index never;\nkey_grace 2d;\n");
    fclose(fp);

    assert_int_equal(conf_parse(&cf, file, err, sizeof(err)), 0);
    assert_string_equal(cf.master_key, "/m");
    assert_int_equal(cf.key_period[KEYS_DATA], 12 * 3600);
    assert_int_equal(cf.key_period[KEYS_LOG_SEALING], 0);
    assert_int_equal(cf.key_period[KEYS_REPORT_SIGNING], 365 * 86400);
    assert_int_equal(cf.key_period[KEYS_WEBHOOK_SIGNING], 90 * 86400);
    assert_int_equal(cf.key_grace, 2 * 86400);

    fp = fopen(file, "w");
    assert_non_null(fp);
    fprintf(fp, "store /s;\ndata /d;\nkey_period blind_index 30d;\n");
    fclose(fp);

    assert_int_equal(conf_parse(&cf, file, err, sizeof(err)), -1);
    assert_non_null(strstr(err, ":3: invalid period \"30d\" of blind_index"));

    fp = fopen(file, "w");
    assert_non_null(fp);
    fprintf(fp, "store /s;\ndata /d;\nkey_period data 1d;\n"
            "key_period data 2d;\n");
    fclose(fp);

    assert_int_equal(conf_parse(&cf, file, err, sizeof(err)), -1);
    assert_non_null(strstr(err, ":4: \"key_period\" of data is duplicate"));

    fp = fopen(file, "w");
    assert_non_null(fp);
    fprintf(fp, "store /s;\ndata /d;\nkey_period jwt_hmac 1d;\n");
    fclose(fp);

    assert_int_equal(conf_parse(&cf, file, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "invalid key type \"jwt_hmac\""));

    fp = fopen(file, "w");
    assert_non_null(fp);
    fprintf(fp, "store /s;\ndata /d;\nkey_period data;\n");
    fclose(fp);

    assert_int_equal(conf_parse(&cf, file, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "invalid number of arguments"));
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test_setup_teardown(
            test_keys_made_and_unwrapped_again, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_wrong_master_key_writes_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_damaged_wrapped_key_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_rotation_state_machine, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_decrypt_only_destroyed_after_retention, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_decrypt_only_kept_without_retention, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_changes_of_another_process_reloaded, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_sealing_key_published, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_backup_restored_under_another_master_key, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_backup_wrong_passphrase, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_backup_checksum_mismatch, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_master_key_sources, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_without_master_key_everything_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_key_directives, setup, teardown),
    };

    log_init(1, 0);

    return cmocka_run_group_tests(tests, NULL, NULL);
}
