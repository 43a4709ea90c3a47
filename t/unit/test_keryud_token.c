/*
 * Copyright (C) Keryu Security
 *
 * Tests of API tokens: their format, that only the hash is stored, and
 * create, look up, list, revoke and expiry against a store in a mkdtemp
 * directory.
 */


#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/sha.h>

#include "keryud.h"


typedef struct {
    char                dir[64];
    store_t             st;
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
    assert_non_null(f);

    strcpy(f->dir, "/tmp/keryud-token-XXXXXX");
    assert_non_null(mkdtemp(f->dir));

    rc = store_open(&f->st, f->dir, 4 * 1024 * 1024);
    if (rc != 0) {
        fail_msg("store_open: %s", mdb_strerror(rc));
    }

    *state = f;

    return 0;
}


static int
teardown(void **state)
{
    fixture_t  *f = *state;

    store_close(&f->st);
    nftw(f->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    free(f);

    return 0;
}


static void
test_token_format(void **state)
{
    int      i;
    char     token[TOKEN_LEN + 1], other[TOKEN_LEN + 1];
    uint8_t  hash[TOKEN_HASH_LEN], expect[SHA256_DIGEST_LENGTH];

    (void) state;

    assert_int_equal(token_generate(token, hash), 0);
    assert_int_equal(strlen(token), 47);
    assert_memory_equal(token, "kry_", 4);

    for (i = 4; i < TOKEN_LEN; i++) {
        assert_non_null(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                               "abcdefghijklmnopqrstuvwxyz0123456789-_",
                               token[i]));
    }

    SHA256((const unsigned char *) token, TOKEN_LEN, expect);
    assert_memory_equal(hash, expect, TOKEN_HASH_LEN);

    assert_int_equal(token_generate(other, hash), 0);
    assert_string_not_equal(token, other);
}


static void
test_roles_and_names(void **state)
{
    (void) state;

    assert_int_equal(token_role_parse("admin"), ROLE_ADMIN);
    assert_int_equal(token_role_parse("auditor"), ROLE_AUDITOR);
    assert_int_equal(token_role_parse("viewer"), ROLE_VIEWER);
    assert_int_equal(token_role_parse("root"), ROLE_NONE);
    assert_int_equal(token_role_parse("Admin"), ROLE_NONE);

    assert_int_equal(token_name_valid("ci-bot_2.x"), 1);
    assert_int_equal(token_name_valid(""), 0);
    assert_int_equal(token_name_valid("a b"), 0);
    assert_int_equal(token_name_valid("a\n"), 0);
}


static void
test_create_lookup_revoke(void **state)
{
    fixture_t  *f = *state;

    char        out[4096], token[TOKEN_LEN + 1];
    FILE       *fp;
    role_e      role;
    MDB_txn    *txn;

    fp = fmemopen(out, sizeof(out), "w");
    assert_non_null(fp);
    assert_int_equal(token_create(&f->st, ROLE_AUDITOR, "audit", 0, fp), 0);
    assert_int_equal(token_create(&f->st, ROLE_ADMIN, "audit", 0, fp),
                     EEXIST);
    fclose(fp);

    assert_int_equal(strlen(out), TOKEN_LEN + 1);
    assert_int_equal(out[TOKEN_LEN], '\n');
    memcpy(token, out, TOKEN_LEN);
    token[TOKEN_LEN] = '\0';

    assert_int_equal(store_txn_begin(&f->st, MDB_RDONLY, &txn), 0);
    assert_int_equal(token_lookup(&f->st, txn, token, TOKEN_LEN, &role), 0);
    assert_int_equal(role, ROLE_AUDITOR);

    token[10] = token[10] == 'A' ? 'B' : 'A';
    assert_int_equal(token_lookup(&f->st, txn, token, TOKEN_LEN, &role),
                     MDB_NOTFOUND);
    token[10] = out[10];
    mdb_txn_abort(txn);

    /* the list shows names and hash prefixes, never the token */

    fp = fmemopen(out + TOKEN_LEN + 1, sizeof(out) - TOKEN_LEN - 1, "w");
    assert_non_null(fp);
    assert_int_equal(token_list(&f->st, fp), 0);
    fclose(fp);

    assert_non_null(strstr(out + TOKEN_LEN + 1, "audit "));
    assert_non_null(strstr(out + TOKEN_LEN + 1, "auditor "));
    assert_null(strstr(out + TOKEN_LEN + 1, token + 4));

    assert_int_equal(token_revoke(&f->st, "nobody"), MDB_NOTFOUND);
    assert_int_equal(token_revoke(&f->st, "audit"), 0);

    assert_int_equal(store_txn_begin(&f->st, MDB_RDONLY, &txn), 0);
    assert_int_equal(token_lookup(&f->st, txn, token, TOKEN_LEN, &role),
                     MDB_NOTFOUND);
    mdb_txn_abort(txn);
}


/* creates a token called name that expires at expires into token */

static void
create(fixture_t *f, const char *name, time_t expires,
    char token[TOKEN_LEN + 1])
{
    char   out[TOKEN_LEN + 2];
    FILE  *fp;

    fp = fmemopen(out, sizeof(out), "w");
    assert_non_null(fp);
    assert_int_equal(token_create(&f->st, ROLE_VIEWER, name, expires, fp),
                     0);
    fclose(fp);

    memcpy(token, out, TOKEN_LEN);
    token[TOKEN_LEN] = '\0';
}


static int
lookup(fixture_t *f, const char *token)
{
    int       rc;
    role_e    role;
    MDB_txn  *txn;

    assert_int_equal(store_txn_begin(&f->st, MDB_RDONLY, &txn), 0);
    rc = token_lookup(&f->st, txn, token, TOKEN_LEN, &role);
    mdb_txn_abort(txn);

    return rc;
}


static void
test_expired_token_refused_and_removed(void **state)
{
    fixture_t  *f = *state;

    char        past[TOKEN_LEN + 1], later[TOKEN_LEN + 1],
                never[TOKEN_LEN + 1], list[4096];
    FILE       *fp;
    size_t      removed;
    time_t      now;

    now = time(NULL);

    create(f, "past", now - 10, past);
    create(f, "later", now + 3600, later);
    create(f, "never", 0, never);

    /* an expired token is refused as an unknown one is */

    assert_int_equal(lookup(f, past), MDB_NOTFOUND);
    assert_int_equal(lookup(f, later), 0);
    assert_int_equal(lookup(f, never), 0);

    fp = fmemopen(list, sizeof(list), "w");
    assert_non_null(fp);
    assert_int_equal(token_list(&f->st, fp), 0);
    fclose(fp);

    assert_non_null(strstr(list, " EXPIRES "));
    assert_non_null(strstr(list, " never "));
    assert_non_null(strstr(list, "\npast "));

    assert_int_equal(token_expire(&f->st, now, 100, &removed), 0);
    assert_int_equal(removed, 1);

    fp = fmemopen(list, sizeof(list), "w");
    assert_non_null(fp);
    assert_int_equal(token_list(&f->st, fp), 0);
    fclose(fp);

    assert_null(strstr(list, "\npast "));
    assert_non_null(strstr(list, "\nlater "));

    /* the name is free again */

    create(f, "past", 0, past);
    assert_int_equal(lookup(f, past), 0);

    /* an hour on, "later" has gone too; "never" stays */

    assert_int_equal(token_expire(&f->st, now + 3600, 100, &removed), 0);
    assert_int_equal(removed, 1);
    assert_int_equal(lookup(f, later), MDB_NOTFOUND);
    assert_int_equal(lookup(f, never), 0);
    assert_int_equal(lookup(f, past), 0);

    assert_int_equal(token_expire(&f->st, now + 3600, 100, &removed), 0);
    assert_int_equal(removed, 0);
}


/* a token stored before tokens could expire still works, and never expires */

static void
test_version_1_token_read(void **state)
{
    fixture_t  *f = *state;

    char        token[TOKEN_LEN + 1];
    size_t      removed;
    uint8_t     hash[TOKEN_HASH_LEN], value[16 + 3];
    MDB_val     key, val;
    MDB_txn    *txn;

    assert_int_equal(token_generate(token, hash), 0);

    memset(value, 0, sizeof(value));
    value[0] = 1;
    value[1] = ROLE_AUDITOR;
    value[8] = 1;
    memcpy(value + 16, "old", 3);

    key.mv_size = TOKEN_HASH_LEN;
    key.mv_data = hash;
    val.mv_size = sizeof(value);
    val.mv_data = value;

    assert_int_equal(store_txn_begin(&f->st, 0, &txn), 0);
    assert_int_equal(mdb_put(txn, f->st.tokens, &key, &val, 0), 0);
    assert_int_equal(mdb_txn_commit(txn), 0);

    assert_int_equal(lookup(f, token), 0);

    assert_int_equal(token_expire(&f->st, time(NULL) + 86400, 100, &removed),
                     0);
    assert_int_equal(removed, 0);
    assert_int_equal(token_revoke(&f->st, "old"), 0);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_token_format),
        cmocka_unit_test(test_roles_and_names),
        cmocka_unit_test_setup_teardown(test_create_lookup_revoke,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_expired_token_refused_and_removed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_version_1_token_read,
                                        setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
