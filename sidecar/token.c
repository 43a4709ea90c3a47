/*
 * Copyright (C) Keryu Security
 *
 * API tokens.  A token is "kry_" and 43 characters of base64url: 32 bytes
 * from RAND_bytes.  It is shown once, when it is made; keryud keeps only
 * its SHA-256, with a role, a name, the time it was made and the time it
 * expires, if it does, in the tokens database of its own store.  Names are
 * unique, so that "token revoke" can find a token by name.  An expired
 * token is refused as an unknown one is, until token_expire() deletes it.
 */


#include <errno.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "keryud.h"


#define TOKEN_VALUE_HEADER  24
#define TOKEN_VERSION       2
#define TOKEN_RAND_LEN      32

/* version 1 had no expiry: its header stops before it */
#define TOKEN_V1_HEADER     16


typedef struct {
    role_e              role;
    time_t              created;
    time_t              expires;          /* 0: never */
    size_t              name_len;
    const char         *name;
} token_info_t;


static int token_decode(const MDB_val *val, token_info_t *ti);
static int token_find_name(store_t *st, MDB_txn *txn, const char *name,
    MDB_val *key);


static const char  *token_roles[] = {
    NULL,
    "admin",
    "auditor",
    "viewer"
};


role_e
token_role_parse(const char *name)
{
    int  i;

    for (i = ROLE_ADMIN; i <= ROLE_VIEWER; i++) {
        if (strcmp(token_roles[i], name) == 0) {
            return (role_e) i;
        }
    }

    return ROLE_NONE;
}


const char *
token_role_name(role_e role)
{
    return (role >= ROLE_ADMIN && role <= ROLE_VIEWER) ? token_roles[role]
                                                       : "none";
}


/* names are 1 to 64 of [A-Za-z0-9._-], so they print safely */

int
token_name_valid(const char *name)
{
    size_t  i, len;

    len = strlen(name);

    if (len == 0 || len > TOKEN_NAME_MAX) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        if (!((name[i] >= 'a' && name[i] <= 'z')
              || (name[i] >= 'A' && name[i] <= 'Z')
              || (name[i] >= '0' && name[i] <= '9')
              || name[i] == '.' || name[i] == '_' || name[i] == '-'))
        {
            return 0;
        }
    }

    return 1;
}


int
token_generate(char token[TOKEN_LEN + 1], uint8_t hash[TOKEN_HASH_LEN])
{
    int            i, n;
    unsigned char  rnd[TOKEN_RAND_LEN], b64[48];

    if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
        return -1;
    }

    n = EVP_EncodeBlock(b64, rnd, sizeof(rnd));

    OPENSSL_cleanse(rnd, sizeof(rnd));

    /* 32 bytes give 43 characters and one "=" of padding */

    if (n != 44) {
        OPENSSL_cleanse(b64, sizeof(b64));
        return -1;
    }

    memcpy(token, TOKEN_PREFIX, sizeof(TOKEN_PREFIX) - 1);

    for (i = 0; i < 43; i++) {
        token[sizeof(TOKEN_PREFIX) - 1 + i] = b64[i] == '+' ? '-'
                                              : b64[i] == '/' ? '_' : b64[i];
    }

    token[TOKEN_LEN] = '\0';

    OPENSSL_cleanse(b64, sizeof(b64));

    token_hash(token, TOKEN_LEN, hash);

    return 0;
}


void
token_hash(const char *token, size_t len, uint8_t hash[TOKEN_HASH_LEN])
{
    SHA256((const unsigned char *) token, len, hash);
}


static int
token_decode(const MDB_val *val, token_info_t *ti)
{
    int             i;
    size_t          header;
    uint64_t        created, expires;
    const uint8_t  *p;

    p = val->mv_data;

    if (val->mv_size < TOKEN_V1_HEADER) {
        return -1;
    }

    header = (p[0] == 1) ? TOKEN_V1_HEADER : TOKEN_VALUE_HEADER;

    if ((p[0] != 1 && p[0] != TOKEN_VERSION) || val->mv_size < header
        || p[1] < ROLE_ADMIN || p[1] > ROLE_VIEWER)
    {
        return -1;
    }

    created = 0;
    expires = 0;

    for (i = 15; i >= 8; i--) {
        created = (created << 8) | p[i];
    }

    for (i = (int) header - 1; i >= TOKEN_V1_HEADER; i--) {
        expires = (expires << 8) | p[i];
    }

    ti->role = (role_e) p[1];
    ti->created = (time_t) created;
    ti->expires = (time_t) expires;
    ti->name = (const char *) p + header;
    ti->name_len = val->mv_size - header;

    return 0;
}


/* finds the token called name; returns 0, MDB_NOTFOUND or an LMDB code */

static int
token_find_name(store_t *st, MDB_txn *txn, const char *name, MDB_val *key)
{
    int            rc;
    size_t         len;
    MDB_val        val;
    MDB_cursor    *cur;
    token_info_t   ti;

    len = strlen(name);

    rc = mdb_cursor_open(txn, st->tokens, &cur);
    if (rc != 0) {
        return rc;
    }

    for (rc = mdb_cursor_get(cur, key, &val, MDB_FIRST);
         rc == 0;
         rc = mdb_cursor_get(cur, key, &val, MDB_NEXT))
    {
        if (token_decode(&val, &ti) == 0 && ti.name_len == len
            && memcmp(ti.name, name, len) == 0)
        {
            break;
        }
    }

    mdb_cursor_close(cur);

    return rc;
}


/*
 * makes a token that expires at expires (seconds since the epoch, 0:
 * never), stores its hash and prints the token on out; returns 0, EEXIST
 * for a name in use, or an LMDB code (-1 when RAND_bytes failed)
 */

int
token_create(store_t *st, role_e role, const char *name, time_t expires,
    FILE *out)
{
    int        i, rc;
    char       token[TOKEN_LEN + 1], defname[TOKEN_NAME_MAX + 1];
    size_t     len;
    uint8_t    hash[TOKEN_HASH_LEN], value[TOKEN_VALUE_HEADER
                                            + TOKEN_NAME_MAX];
    MDB_val    key, val;
    MDB_txn   *txn;
    uint64_t   now;

    if (token_generate(token, hash) == -1) {
        return -1;
    }

    if (name == NULL) {
        snprintf(defname, sizeof(defname), "%s-%02x%02x%02x%02x",
                 token_role_name(role), hash[0], hash[1], hash[2], hash[3]);
        name = defname;
    }

    len = strlen(name);
    now = (uint64_t) time(NULL);

    memset(value, 0, TOKEN_VALUE_HEADER);
    value[0] = TOKEN_VERSION;
    value[1] = (uint8_t) role;

    for (i = 0; i < 8; i++) {
        value[8 + i] = (uint8_t) (now >> (8 * i));
        value[16 + i] = (uint8_t) ((uint64_t) expires >> (8 * i));
    }

    memcpy(value + TOKEN_VALUE_HEADER, name, len);

    rc = store_txn_begin(st, 0, &txn);
    if (rc != 0) {
        goto token_wipe;
    }

    rc = token_find_name(st, txn, name, &key);

    if (rc == 0) {
        rc = EEXIST;
        goto txn_abort;
    }

    if (rc != MDB_NOTFOUND) {
        goto txn_abort;
    }

    key.mv_size = TOKEN_HASH_LEN;
    key.mv_data = hash;
    val.mv_size = TOKEN_VALUE_HEADER + len;
    val.mv_data = value;

    rc = mdb_put(txn, st->tokens, &key, &val, MDB_NOOVERWRITE);
    if (rc != 0) {
        goto txn_abort;
    }

    rc = mdb_txn_commit(txn);
    if (rc != 0) {
        goto token_wipe;
    }

    fprintf(out, "%s\n", token);
    fflush(out);

    OPENSSL_cleanse(token, sizeof(token));

    return 0;

txn_abort:

    mdb_txn_abort(txn);

token_wipe:

    OPENSSL_cleanse(token, sizeof(token));

    return rc;
}


int
token_list(store_t *st, FILE *out)
{
    int            rc;
    char           created[TIME_STR_MAX], expires[TIME_STR_MAX];
    MDB_val        key, val;
    MDB_txn       *txn;
    MDB_cursor    *cur;
    const uint8_t *h;
    token_info_t   ti;

    rc = store_txn_begin(st, MDB_RDONLY, &txn);
    if (rc != 0) {
        return rc;
    }

    rc = mdb_cursor_open(txn, st->tokens, &cur);
    if (rc != 0) {
        goto txn_abort;
    }

    fprintf(out, "%-24s %-8s %-20s %-20s %s\n", "NAME", "ROLE", "CREATED",
            "EXPIRES", "HASH");

    for (rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST);
         rc == 0;
         rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT))
    {
        if (token_decode(&val, &ti) == -1 || key.mv_size != TOKEN_HASH_LEN) {
            continue;
        }

        time_format((uint64_t) ti.created * 1000000, created);
        created[19] = 'Z';
        created[20] = '\0';

        if (ti.expires) {
            time_format((uint64_t) ti.expires * 1000000, expires);
            expires[19] = 'Z';
            expires[20] = '\0';

        } else {
            strcpy(expires, "never");
        }

        h = key.mv_data;

        fprintf(out, "%-24.*s %-8s %-20s %-20s %02x%02x%02x%02x\n",
                (int) ti.name_len, ti.name, token_role_name(ti.role),
                created, expires, h[0], h[1], h[2], h[3]);
    }

    mdb_cursor_close(cur);

    if (rc == MDB_NOTFOUND) {
        rc = 0;
    }

txn_abort:

    mdb_txn_abort(txn);

    return rc;
}


/* returns 0, MDB_NOTFOUND for an unknown name, or an LMDB code */

int
token_revoke(store_t *st, const char *name)
{
    int       rc;
    MDB_val   key;
    MDB_txn  *txn;

    rc = store_txn_begin(st, 0, &txn);
    if (rc != 0) {
        return rc;
    }

    rc = token_find_name(st, txn, name, &key);
    if (rc != 0) {
        goto txn_abort;
    }

    rc = mdb_del(txn, st->tokens, &key, NULL);
    if (rc != 0) {
        goto txn_abort;
    }

    return mdb_txn_commit(txn);

txn_abort:

    mdb_txn_abort(txn);

    return rc;
}


/*
 * returns 0 with the token's role, MDB_NOTFOUND for an unknown or expired
 * token, or an LMDB code
 */

int
token_lookup(store_t *st, MDB_txn *txn, const char *token, size_t len,
    role_e *role)
{
    return token_identify(st, txn, token, len, role, NULL, 0);
}


/* looks a token up as token_lookup() does, and copies its name too */

int
token_identify(store_t *st, MDB_txn *txn, const char *token, size_t len,
    role_e *role, char *name, size_t namelen)
{
    int            rc;
    size_t         n;
    uint8_t        hash[TOKEN_HASH_LEN];
    MDB_val        key, val;
    token_info_t   ti;

    token_hash(token, len, hash);

    key.mv_size = TOKEN_HASH_LEN;
    key.mv_data = hash;

    rc = mdb_get(txn, st->tokens, &key, &val);
    if (rc != 0) {
        return rc;
    }

    if (token_decode(&val, &ti) == -1) {
        return MDB_NOTFOUND;
    }

    if (ti.expires && ti.expires <= time(NULL)) {
        return MDB_NOTFOUND;
    }

    *role = ti.role;

    if (namelen) {
        n = ti.name_len < namelen - 1 ? ti.name_len : namelen - 1;
        memcpy(name, ti.name, n);
        name[n] = '\0';
    }

    return 0;
}


/*
 * deletes, in one write transaction, up to max tokens that expired at or
 * before now; removed gets the number deleted, 0 on failure
 */

int
token_expire(store_t *st, time_t now, size_t max, size_t *removed)
{
    int            rc;
    size_t         n;
    MDB_val        key, val;
    MDB_txn       *txn;
    MDB_cursor    *cur;
    token_info_t   ti;

    *removed = 0;

    rc = store_txn_begin(st, 0, &txn);
    if (rc != 0) {
        return rc;
    }

    rc = mdb_cursor_open(txn, st->tokens, &cur);
    if (rc != 0) {
        goto txn_abort;
    }

    n = 0;

    for (rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST);
         rc == 0 && n < max;
         rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT))
    {
        if (token_decode(&val, &ti) == -1 || ti.expires == 0
            || ti.expires > now)
        {
            continue;
        }

        rc = mdb_cursor_del(cur, 0);
        if (rc != 0) {
            break;
        }

        n++;
    }

    mdb_cursor_close(cur);

    if (rc != 0 && rc != MDB_NOTFOUND) {
        goto txn_abort;
    }

    if (n == 0) {
        mdb_txn_abort(txn);
        return 0;
    }

    rc = mdb_txn_commit(txn);
    if (rc != 0) {
        return rc;
    }

    *removed = n;

    return 0;

txn_abort:

    mdb_txn_abort(txn);

    return rc;
}


/*
 * calls handler for each token that decodes, in hash order, until it
 * returns non-zero; returns 0 or an LMDB code
 */

int
token_each(store_t *st, MDB_txn *txn, token_each_pt handler, void *ctx)
{
    int            rc;
    MDB_val        key, val;
    MDB_cursor    *cur;
    token_info_t   ti;

    rc = mdb_cursor_open(txn, st->tokens, &cur);
    if (rc != 0) {
        return rc;
    }

    for (rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST);
         rc == 0;
         rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT))
    {
        if (token_decode(&val, &ti) == -1 || key.mv_size != TOKEN_HASH_LEN) {
            continue;
        }

        if (handler(ctx, ti.role, ti.name, ti.name_len, ti.created,
                    ti.expires)
            != 0)
        {
            rc = MDB_NOTFOUND;
            break;
        }
    }

    mdb_cursor_close(cur);

    return rc == MDB_NOTFOUND ? 0 : rc;
}
