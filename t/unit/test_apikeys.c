
/*
 * Copyright (C) Keryu Security
 *
 * Tests of the API key table: a key found with its name and roles, an
 * unknown key, expiry, a revoked key gone after a reload, records that do
 * not parse skipped and counted, and many keys in one table.  Each test
 * writes records as "keryud apikey create" does (key: SHA-256 of the API
 * key, value: its JSON) through keryu_store_change() into a fresh store
 * in a mkdtemp directory.
 */


#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/sha.h>

#include "keryu_store.h"
#include "unit.h"
#include "keryu_apikeys.h"


#define test_case(f)                                                          \
    cmocka_unit_test_setup_teardown(f, test_setup, test_teardown)


#define TEST_NOW          1700000000
#define TEST_MANY         1000

#define TEST_CI_KEY       "kak_9rN1cQz4m8Hq0tVbW2yX5aLpE7uJ3sKdF6gT1hYiOoM"
#define TEST_CI_JSON                                                          \
    "{\"name\":\"ci\",\"roles\":[\"deploy\",\"read\"],"                      \
    "\"expires_at\":null,\"created_at\":1699990000}"


typedef struct {
    char                dir[64];
    char                path[96];
    keryu_store_t       st;
    keryu_apikeys_t    *ak;
} test_t;


static int
test_setup(void **state)
{
    test_t  *t;

    t = calloc(1, sizeof(test_t));
    if (t == NULL) {
        return -1;
    }

    if (unit_dir_make(t->dir, t->path, "apikeys") != 0) {
        free(t);
        return -1;
    }

    if (unit_store_open(&t->st, t->path) != 0) {
        free(t);
        return -1;
    }

    *state = t;

    return 0;
}


static int
test_teardown(void **state)
{
    int      rc;
    test_t  *t;

    t = *state;

    keryu_apikeys_free(t->ak);
    keryu_store_close(&t->st);

    rc = unit_dir_remove(t->dir);

    free(t);

    return rc == 0 ? 0 : -1;
}


/* puts (json not NULL) or deletes a record under key klen bytes long */

static void
test_change(test_t *t, const uint8_t *k, size_t klen, const char *json)
{
    int       rc;
    MDB_val   key, val;
    MDB_txn  *txn;

    rc = keryu_store_txn_begin(&t->st, 0, &txn);
    test_mdb_ok(rc, "keryu_store_txn_begin");

    key.mv_size = klen;
    key.mv_data = (void *) k;

    if (json) {
        val.mv_size = strlen(json);
        val.mv_data = (void *) json;
    }

    rc = keryu_store_change(&t->st, txn, t->st.apikeys, &key,
                            json ? &val : NULL, KERYU_META_CONFIG_VERSION);
    if (rc != 0) {
        mdb_txn_abort(txn);
    }

    test_mdb_ok(rc, "keryu_store_change");

    rc = mdb_txn_commit(txn);
    test_mdb_ok(rc, "mdb_txn_commit");
}


/* stores json as the record of the API key apikey, as keryud does */

static void
test_apikey(test_t *t, const char *apikey, const char *json)
{
    uint8_t  hash[SHA256_DIGEST_LENGTH];

    SHA256((const unsigned char *) apikey, strlen(apikey), hash);

    test_change(t, hash, sizeof(hash), json);
}


static void
test_load(test_t *t)
{
    int       rc;
    char      err[256];
    MDB_txn  *txn;

    keryu_apikeys_free(t->ak);
    t->ak = NULL;

    rc = keryu_store_txn_begin(&t->st, MDB_RDONLY, &txn);
    test_mdb_ok(rc, "keryu_store_txn_begin");

    err[0] = '\0';
    t->ak = keryu_apikeys_load(&t->st, txn, &rc, err, sizeof(err));

    mdb_txn_abort(txn);

    if (t->ak == NULL) {
        fail_msg("keryu_apikeys_load() failed: %s (%s)", err,
                 keryu_store_strerror(rc));
    }
}


static const keryu_apikey_t *
test_find(test_t *t, const char *apikey, int64_t now)
{
    return keryu_apikeys_find(t->ak, apikey, strlen(apikey), now);
}


static void
empty_table_finds_nothing(void **state)
{
    test_t  *t = *state;

    test_load(t);

    assert_int_equal(keryu_apikeys_count(t->ak), 0);
    assert_int_equal(keryu_apikeys_skipped(t->ak), 0);
    assert_null(test_find(t, TEST_CI_KEY, TEST_NOW));
    assert_null(test_find(t, "", TEST_NOW));
}


static void
valid_key_found_with_name_and_roles(void **state)
{
    const keryu_apikey_t  *k;
    test_t                *t = *state;

    test_apikey(t, TEST_CI_KEY, TEST_CI_JSON);
    test_load(t);

    assert_int_equal(keryu_apikeys_count(t->ak), 1);

    k = test_find(t, TEST_CI_KEY, TEST_NOW);
    assert_non_null(k);

    assert_int_equal(k->name_len, 2);
    assert_memory_equal(k->name, "ci", 2);
    assert_int_equal(k->expires_at, 0);
    assert_int_equal(k->nroles, 2);
    assert_int_equal(k->role_lens[0], 6);
    assert_memory_equal(k->roles[0], "deploy", 6);
    assert_int_equal(k->role_lens[1], 4);
    assert_memory_equal(k->roles[1], "read", 4);

    /* no expiry: valid whenever */
    assert_ptr_equal(test_find(t, TEST_CI_KEY, INT64_MAX), k);
    assert_ptr_equal(test_find(t, TEST_CI_KEY, -1), k);
}


static void
unknown_key_not_found(void **state)
{
    char     key[sizeof(TEST_CI_KEY)];
    test_t  *t = *state;

    test_apikey(t, TEST_CI_KEY, TEST_CI_JSON);
    test_load(t);

    memcpy(key, TEST_CI_KEY, sizeof(key));

    /* the last character, a prefix, an extension, another key */

    key[sizeof(key) - 2] ^= 1;
    assert_null(test_find(t, key, TEST_NOW));

    assert_null(keryu_apikeys_find(t->ak, TEST_CI_KEY,
                                   sizeof(TEST_CI_KEY) - 2, TEST_NOW));
    assert_null(test_find(t, TEST_CI_KEY "x", TEST_NOW));
    assert_null(test_find(t, "kak_other", TEST_NOW));
    assert_null(test_find(t, "", TEST_NOW));
}


static void
expired_key_not_found(void **state)
{
    const keryu_apikey_t  *k;
    test_t                *t = *state;

    test_apikey(t, "kak_expiring",
                "{\"name\":\"temp\",\"roles\":[\"read\"],"
                "\"expires_at\":1700000000,\"created_at\":1690000000}");
    test_load(t);

    k = test_find(t, "kak_expiring", TEST_NOW - 1);
    assert_non_null(k);
    assert_int_equal(k->expires_at, 1700000000);

    assert_null(test_find(t, "kak_expiring", TEST_NOW));
    assert_null(test_find(t, "kak_expiring", TEST_NOW + 86400));
}


static void
revoked_key_gone_after_reload(void **state)
{
    int       rc;
    uint8_t   hash[SHA256_DIGEST_LENGTH];
    MDB_txn  *txn;
    uint64_t  before, after;
    test_t   *t = *state;

    test_apikey(t, TEST_CI_KEY, TEST_CI_JSON);
    test_apikey(t, "kak_other",
                "{\"name\":\"other\",\"roles\":[\"read\"],"
                "\"expires_at\":null,\"created_at\":1699990000}");
    test_load(t);

    assert_non_null(test_find(t, TEST_CI_KEY, TEST_NOW));

    rc = keryu_store_txn_begin(&t->st, MDB_RDONLY, &txn);
    test_mdb_ok(rc, "keryu_store_txn_begin");
    rc = keryu_store_meta_get(&t->st, txn, KERYU_META_CONFIG_VERSION, &before);
    mdb_txn_abort(txn);
    test_mdb_ok(rc, "keryu_store_meta_get");

    /* revoke, as "keryud apikey revoke" does: delete the record */

    SHA256((const unsigned char *) TEST_CI_KEY, sizeof(TEST_CI_KEY) - 1,
           hash);
    test_change(t, hash, sizeof(hash), NULL);

    rc = keryu_store_txn_begin(&t->st, MDB_RDONLY, &txn);
    test_mdb_ok(rc, "keryu_store_txn_begin");
    rc = keryu_store_meta_get(&t->st, txn, KERYU_META_CONFIG_VERSION, &after);
    mdb_txn_abort(txn);
    test_mdb_ok(rc, "keryu_store_meta_get");

    assert_int_equal(after, before + 1);

    /* the table loaded before still has it: a reader reloads on a version */

    assert_non_null(test_find(t, TEST_CI_KEY, TEST_NOW));

    test_load(t);

    assert_int_equal(keryu_apikeys_count(t->ak), 1);
    assert_null(test_find(t, TEST_CI_KEY, TEST_NOW));
    assert_non_null(test_find(t, "kak_other", TEST_NOW));
}


static void
malformed_records_skipped_and_counted(void **state)
{
    size_t                 i;
    uint8_t                short_key[16];
    const keryu_apikey_t  *k;
    test_t                *t = *state;
    char                   apikey[32];

    static const char  *bad[] = {
        "",
        "not json",
        "[]",
        "\"ci\"",
        "{\"name\":\"ci\",\"roles\":[\"read\"],\"expires_at\":null}",
        "{\"name\":\"ci\",\"roles\":[\"read\"],\"created_at\":1}",
        "{\"roles\":[\"read\"],\"expires_at\":null,\"created_at\":1}",
        "{\"name\":\"ci\",\"expires_at\":null,\"created_at\":1}",
        "{\"name\":\"ci\",\"roles\":[\"read\"],\"expires_at\":null,"
            "\"created_at\":1,\"admin\":true}",
        "{\"name\":\"ci\",\"name\":\"root\",\"roles\":[\"read\"],"
            "\"expires_at\":null,\"created_at\":1}",
        "{\"name\":\"\",\"roles\":[\"read\"],\"expires_at\":null,"
            "\"created_at\":1}",
        "{\"name\":7,\"roles\":[\"read\"],\"expires_at\":null,"
            "\"created_at\":1}",
        "{\"name\":\"ci\",\"roles\":\"read\",\"expires_at\":null,"
            "\"created_at\":1}",
        "{\"name\":\"ci\",\"roles\":[\"read\",7],\"expires_at\":null,"
            "\"created_at\":1}",
        "{\"name\":\"ci\",\"roles\":[\"\"],\"expires_at\":null,"
            "\"created_at\":1}",
        "{\"name\":\"ci\",\"roles\":[[\"read\"]],\"expires_at\":null,"
            "\"created_at\":1}",
        "{\"name\":\"ci\",\"roles\":[\"read\"],\"expires_at\":0,"
            "\"created_at\":1}",
        "{\"name\":\"ci\",\"roles\":[\"read\"],\"expires_at\":-5,"
            "\"created_at\":1}",
        "{\"name\":\"ci\",\"roles\":[\"read\"],\"expires_at\":1.5e9,"
            "\"created_at\":1}",
        "{\"name\":\"ci\",\"roles\":[\"read\"],\"expires_at\":\"never\","
            "\"created_at\":1}",
        "{\"name\":\"ci\",\"roles\":[\"read\"],\"expires_at\":null,"
            "\"created_at\":99999999999999999999}",
        "{\"name\":\"c\\u0000i\",\"roles\":[\"read\"],\"expires_at\":null,"
            "\"created_at\":1}",
        "{\"name\":\"ci\",\"roles\":[\"read\"],\"expires_at\":null,"
            "\"created_at\":1} {}",
        "{\"name\":\"ci\",\"roles\":[\"read\"],\"expires_at\":null,"
            "\"created_at\":1",
        "{\"name\":\"ci\",\"roles\":[\"read\"],\"expires_at\":null,"
            "\"created_at\":1,\"sub\":{}}",
    };

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(apikey, sizeof(apikey), "kak_bad_%zu", i);
        test_apikey(t, apikey, bad[i]);
    }

    /* a good value under a key that is no digest */

    memset(short_key, 0xab, sizeof(short_key));
    test_change(t, short_key, sizeof(short_key), TEST_CI_JSON);

    test_apikey(t, TEST_CI_KEY, TEST_CI_JSON);
    test_load(t);

    assert_int_equal(keryu_apikeys_count(t->ak), 1);
    assert_int_equal(keryu_apikeys_skipped(t->ak),
                     sizeof(bad) / sizeof(bad[0]) + 1);

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(apikey, sizeof(apikey), "kak_bad_%zu", i);
        assert_null(test_find(t, apikey, TEST_NOW));
    }

    k = test_find(t, TEST_CI_KEY, TEST_NOW);
    assert_non_null(k);
    assert_int_equal(k->nroles, 2);
}


static void
many_keys_each_found(void **state)
{
    int                    i;
    char                   apikey[64], json[256], name[32];
    const keryu_apikey_t  *k;
    test_t                *t = *state;

    for (i = 0; i < TEST_MANY; i++) {
        snprintf(apikey, sizeof(apikey), "kak_many_%d", i);
        snprintf(json, sizeof(json),
                 "{\"name\":\"svc%d\",\"roles\":[\"r%d\"],"
                 "\"expires_at\":null,\"created_at\":%d}", i, i % 7, i);
        test_apikey(t, apikey, json);
    }

    test_load(t);

    assert_int_equal(keryu_apikeys_count(t->ak), TEST_MANY);

    for (i = 0; i < TEST_MANY; i++) {
        snprintf(apikey, sizeof(apikey), "kak_many_%d", i);
        snprintf(name, sizeof(name), "svc%d", i);

        k = test_find(t, apikey, TEST_NOW);
        assert_non_null(k);
        assert_int_equal(k->name_len, strlen(name));
        assert_memory_equal(k->name, name, k->name_len);
    }

    assert_null(test_find(t, "kak_many_1000", TEST_NOW));
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        test_case(empty_table_finds_nothing),
        test_case(valid_key_found_with_name_and_roles),
        test_case(unknown_key_not_found),
        test_case(expired_key_not_found),
        test_case(revoked_key_gone_after_reload),
        test_case(malformed_records_skipped_and_counted),
        test_case(many_keys_each_found),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
