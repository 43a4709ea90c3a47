/*
 * Copyright (C) Keryu Security
 *
 * Tests of API tokens: their format, that only the hash is stored, and
 * create, look up, list and revoke against a store in a mkdtemp directory.
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
    assert_int_equal(token_create(&f->st, ROLE_AUDITOR, "audit", fp), 0);
    assert_int_equal(token_create(&f->st, ROLE_ADMIN, "audit", fp), EEXIST);
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


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_token_format),
        cmocka_unit_test(test_roles_and_names),
        cmocka_unit_test_setup_teardown(test_create_lookup_revoke,
                                        setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
