
/*
 * Copyright (C) Keryu Security
 *
 * The API key table (keryu_apikeys.h).  A load walks the apikeys database
 * once, keeping each good record as one allocation (the entry, its role
 * pointers and lengths, and its text), then builds an open-addressing hash
 * at most a quarter full over the entries.  The hash of an entry is the
 * first bytes of its SHA-256 digest: nobody can choose keys whose digests
 * pile up in one run of slots, so no seed is needed.
 *
 * Stored values go through yajl's event parser into a fixed record, as
 * keryu_jwt.c reads tokens; only the members a record may have are
 * accepted, so a value written by another version, or damaged, is
 * skipped rather than half understood.
 */


#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <yajl/yajl_parse.h>

#include "keryu_apikeys.h"


#define KERYU_APIKEYS_SLOTS_MIN   8
#define KERYU_APIKEYS_MAX         (1U << 28)    /* keeps 4 * n in 32 bits */
#define KERYU_APIKEYS_ALIGN       16

#define KERYU_APIKEY_NFIELDS                                                 \
    (sizeof(keryu_apikey_fields) / sizeof(keryu_apikey_fields[0]))

#define KERYU_APIKEYS_FIELDS      (KERYU_APIKEY_F_NAME | KERYU_APIKEY_F_ROLES \
                                   | KERYU_APIKEY_F_EXPIRES                   \
                                   | KERYU_APIKEY_F_CREATED)


typedef struct {
    keryu_apikey_t      key;
    uint8_t             digest[KERYU_APIKEY_DIGEST_LEN];
} keryu_apikeys_entry_t;


struct keryu_apikeys_s {
    keryu_apikeys_entry_t  **entries;
    size_t                   count;
    size_t                   nalloc;
    size_t                   skipped;
    uint32_t                *slots;      /* entry index + 1, 0 when empty */
    uint32_t                 mask;
    EVP_MD                  *sha256;
    EVP_MD_CTX              *md_ctx;
};


static void keryu_apikeys_err(char *err, size_t errlen, const char *fmt, ...);
static int keryu_apikeys_read(void *table, MDB_cursor *cur, char *err,
    size_t errlen);
static int keryu_apikeys_add(keryu_apikeys_t *ak, const MDB_val *key,
    const keryu_apikey_rec_t *rec);
static int keryu_apikeys_hash(void *table);
static uint32_t keryu_apikeys_slot(const uint8_t *digest);
static int keryu_apikey_stop(keryu_apikey_rec_t *rec);
static int keryu_apikey_keep(keryu_apikey_rec_t *rec, const char *s,
    size_t len, const char **p);
static int keryu_apikey_on_null(void *ctx);
static int keryu_apikey_on_boolean(void *ctx, int b);
static int keryu_apikey_on_number(void *ctx, const char *s, size_t len);
static int keryu_apikey_on_string(void *ctx, const unsigned char *s,
    size_t len);
static int keryu_apikey_on_start_map(void *ctx);
static int keryu_apikey_on_key(void *ctx, const unsigned char *s, size_t len);
static int keryu_apikey_on_end_map(void *ctx);
static int keryu_apikey_on_start_array(void *ctx);
static int keryu_apikey_on_end_array(void *ctx);


static const yajl_callbacks  keryu_apikey_callbacks = {
    keryu_apikey_on_null,
    keryu_apikey_on_boolean,
    NULL,
    NULL,
    keryu_apikey_on_number,
    keryu_apikey_on_string,
    keryu_apikey_on_start_map,
    keryu_apikey_on_key,
    keryu_apikey_on_end_map,
    keryu_apikey_on_start_array,
    keryu_apikey_on_end_array
};


static const struct {
    const char         *name;
    unsigned            field;
} keryu_apikey_fields[] = {
    { "name", KERYU_APIKEY_F_NAME },
    { "id", KERYU_APIKEY_F_ID },
    { "secret", KERYU_APIKEY_F_SECRET },
    { "roles", KERYU_APIKEY_F_ROLES },
    { "expires_at", KERYU_APIKEY_F_EXPIRES },
    { "created_at", KERYU_APIKEY_F_CREATED }
};


keryu_apikeys_t *
keryu_apikeys_load(keryu_store_t *st, MDB_txn *txn, int *rc, char *err,
    size_t errlen)
{
    keryu_apikeys_t  *ak;

    ak = calloc(1, sizeof(keryu_apikeys_t));
    if (ak == NULL) {
        keryu_apikeys_err(err, errlen, "out of memory");
        *rc = ENOMEM;
        return NULL;
    }

    ak->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    ak->md_ctx = EVP_MD_CTX_new();

    if (ak->sha256 == NULL || ak->md_ctx == NULL) {
        keryu_apikeys_err(err, errlen, "cannot fetch SHA256 from OpenSSL");
        *rc = ENOTSUP;
        goto failed;
    }

    *rc = keryu_apikeys_walk(txn, st->apikeys, ak, keryu_apikeys_read,
                             keryu_apikeys_hash, err, errlen);
    if (*rc != 0) {
        goto failed;
    }

    ERR_clear_error();

    return ak;

failed:

    ERR_clear_error();
    keryu_apikeys_free(ak);

    return NULL;
}


int
keryu_apikeys_walk(MDB_txn *txn, MDB_dbi dbi, void *table,
    keryu_apikeys_read_pt reader, keryu_apikeys_hash_pt hasher, char *err,
    size_t errlen)
{
    int          rc;
    MDB_cursor  *cur;

    rc = mdb_cursor_open(txn, dbi, &cur);
    if (rc != 0) {
        keryu_apikeys_err(err, errlen, "mdb_cursor_open() failed: %s",
                          mdb_strerror(rc));
        return rc;
    }

    rc = reader(table, cur, err, errlen);

    mdb_cursor_close(cur);

    if (rc != 0) {
        return rc;
    }

    rc = hasher(table);
    if (rc != 0) {
        keryu_apikeys_err(err, errlen, "out of memory");
        return rc;
    }

    return 0;
}


void
keryu_apikeys_free(keryu_apikeys_t *ak)
{
    size_t  i;

    if (ak == NULL) {
        return;
    }

    for (i = 0; i < ak->count; i++) {
        free(ak->entries[i]);
    }

    free(ak->entries);
    free(ak->slots);
    EVP_MD_CTX_free(ak->md_ctx);
    EVP_MD_free(ak->sha256);
    free(ak);
}


size_t
keryu_apikeys_count(const keryu_apikeys_t *ak)
{
    return ak != NULL ? ak->count : 0;
}


size_t
keryu_apikeys_skipped(const keryu_apikeys_t *ak)
{
    return ak != NULL ? ak->skipped : 0;
}


/*
 * An unknown key costs what a known one does: the digest is computed
 * either way, and every candidate in the probe is compared in full.
 */

const keryu_apikey_t *
keryu_apikeys_find(keryu_apikeys_t *ak, const char *key, size_t len,
    int64_t now)
{
    uint32_t                i;
    unsigned int            n;
    keryu_apikeys_entry_t  *e;
    uint8_t                 md[EVP_MAX_MD_SIZE];

    if (EVP_DigestInit_ex2(ak->md_ctx, ak->sha256, NULL) != 1
        || EVP_DigestUpdate(ak->md_ctx, key, len) != 1
        || EVP_DigestFinal_ex(ak->md_ctx, md, &n) != 1
        || n != KERYU_APIKEY_DIGEST_LEN)
    {
        ERR_clear_error();
        return NULL;
    }

    e = NULL;

    for (i = keryu_apikeys_slot(md) & ak->mask;
         ak->slots[i];
         i = (i + 1) & ak->mask)
    {
        if (CRYPTO_memcmp(ak->entries[ak->slots[i] - 1]->digest, md,
                          KERYU_APIKEY_DIGEST_LEN)
            == 0)
        {
            e = ak->entries[ak->slots[i] - 1];
            break;
        }
    }

    if (e == NULL) {
        return NULL;
    }

    if (e->key.expires_at != 0
        && now >= 0 && (uint64_t) now >= e->key.expires_at)
    {
        return NULL;
    }

    return &e->key;
}


int
keryu_apikey_rec_parse(keryu_apikey_rec_t *rec, const uint8_t *json,
    size_t len, char *text)
{
    yajl_handle  h;
    yajl_status  st;

    memset(rec, 0, sizeof(keryu_apikey_rec_t));

    rec->text = text;
    rec->size = len + 1;

    h = yajl_alloc(&keryu_apikey_callbacks, NULL, rec);
    if (h == NULL) {
        return -1;
    }

    st = yajl_parse(h, json, len);

    if (st == yajl_status_ok) {
        st = yajl_complete_parse(h);
    }

    yajl_free(h);

    return st == yajl_status_ok && rec->depth == 0 ? 0 : -1;
}


void *
keryu_apikey_copy(keryu_apikey_t *id, const char *name, size_t name_len,
    const keryu_apikey_rec_t *rec, size_t extra)
{
    char     *text, **roles;
    size_t    i, size, *lens;
    uint8_t  *p;

    extra = (extra + KERYU_APIKEYS_ALIGN - 1)
            & ~((size_t) KERYU_APIKEYS_ALIGN - 1);

    size = extra + rec->nroles * (sizeof(char *) + sizeof(size_t)) + name_len;

    for (i = 0; i < rec->nroles; i++) {
        size += rec->role_lens[i];
    }

    p = malloc(size + 1);
    if (p == NULL) {
        return NULL;
    }

    roles = (char **) (p + extra);
    lens = (size_t *) (roles + rec->nroles);
    text = (char *) (lens + rec->nroles);

    memcpy(text, name, name_len);
    id->name = text;
    id->name_len = name_len;
    text += name_len;

    for (i = 0; i < rec->nroles; i++) {
        memcpy(text, rec->roles[i], rec->role_lens[i]);
        roles[i] = text;
        lens[i] = rec->role_lens[i];
        text += rec->role_lens[i];
    }

    id->roles = (const char *const *) roles;
    id->role_lens = lens;
    id->nroles = rec->nroles;
    id->expires_at = rec->expires_at;

    return p;
}


static void
keryu_apikeys_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list  args;

    if (err == NULL || errlen == 0) {
        return;
    }

    va_start(args, fmt);
    vsnprintf(err, errlen, fmt, args);
    va_end(args);
}


/* one walk over the database; the text buffer grows to the longest value */

static int
keryu_apikeys_read(void *table, MDB_cursor *cur, char *err, size_t errlen)
{
    int                 rc;
    char               *text, *t;
    size_t              size;
    MDB_val             key, val;
    keryu_apikeys_t    *ak;
    keryu_apikey_rec_t  rec;

    ak = table;
    text = NULL;
    size = 0;

    for (rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST);
         rc == 0;
         rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT))
    {
        if (key.mv_size != KERYU_APIKEY_DIGEST_LEN
            || val.mv_size > KERYU_APIKEY_JSON_MAX)
        {
            ak->skipped++;
            continue;
        }

        if (val.mv_size + 1 > size) {
            t = realloc(text, val.mv_size + 1);
            if (t == NULL) {
                rc = ENOMEM;
                break;
            }

            text = t;
            size = val.mv_size + 1;
        }

        if (keryu_apikey_rec_parse(&rec, val.mv_data, val.mv_size, text) != 0
            || rec.fields != KERYU_APIKEYS_FIELDS
            || rec.name_len > KERYU_APIKEY_NAME_MAX)
        {
            ak->skipped++;
            continue;
        }

        if (ak->count == KERYU_APIKEYS_MAX) {
            rc = ENOMEM;
            break;
        }

        rc = keryu_apikeys_add(ak, &key, &rec);
        if (rc != 0) {
            break;
        }
    }

    free(text);

    if (rc == MDB_NOTFOUND) {
        return 0;
    }

    if (rc == ENOMEM) {
        keryu_apikeys_err(err, errlen, "out of memory");

    } else {
        keryu_apikeys_err(err, errlen, "mdb_cursor_get() failed: %s",
                          mdb_strerror(rc));
    }

    return rc;
}


static int
keryu_apikeys_add(keryu_apikeys_t *ak, const MDB_val *key,
    const keryu_apikey_rec_t *rec)
{
    size_t                   n;
    keryu_apikey_t           id;
    keryu_apikeys_entry_t   *e, **entries;

    if (ak->count == ak->nalloc) {
        n = ak->nalloc ? 2 * ak->nalloc : 16;

        entries = realloc(ak->entries, n * sizeof(keryu_apikeys_entry_t *));
        if (entries == NULL) {
            return ENOMEM;
        }

        ak->entries = entries;
        ak->nalloc = n;
    }

    e = keryu_apikey_copy(&id, rec->name, rec->name_len, rec,
                          sizeof(keryu_apikeys_entry_t));
    if (e == NULL) {
        return ENOMEM;
    }

    e->key = id;
    memcpy(e->digest, key->mv_data, KERYU_APIKEY_DIGEST_LEN);

    ak->entries[ak->count++] = e;

    return 0;
}


/* sizes the hash at a power of two, at least four times the entries */

static int
keryu_apikeys_hash(void *table)
{
    size_t            i;
    uint32_t          size, j;
    keryu_apikeys_t  *ak;

    ak = table;

    for (size = KERYU_APIKEYS_SLOTS_MIN; size < 4 * ak->count; size *= 2) {
        /* void */
    }

    ak->slots = calloc(size, sizeof(uint32_t));
    if (ak->slots == NULL) {
        return ENOMEM;
    }

    ak->mask = size - 1;

    for (i = 0; i < ak->count; i++) {
        for (j = keryu_apikeys_slot(ak->entries[i]->digest) & ak->mask;
             ak->slots[j];
             j = (j + 1) & ak->mask)
        {
            /* void */
        }

        ak->slots[j] = (uint32_t) i + 1;
    }

    return 0;
}


static uint32_t
keryu_apikeys_slot(const uint8_t *digest)
{
    return (uint32_t) digest[0] | (uint32_t) digest[1] << 8
           | (uint32_t) digest[2] << 16 | (uint32_t) digest[3] << 24;
}


/* ---- stored values over yajl's event parser ---- */


static int
keryu_apikey_stop(keryu_apikey_rec_t *rec)
{
    rec->field = 0;

    return 0;
}


/* copies a string into the text, NUL-terminated; it always fits */

static int
keryu_apikey_keep(keryu_apikey_rec_t *rec, const char *s, size_t len,
    const char **p)
{
    if (len == 0 || memchr(s, '\0', len) != NULL
        || len + 1 > rec->size - rec->used)
    {
        return keryu_apikey_stop(rec);
    }

    *p = rec->text + rec->used;
    memcpy(rec->text + rec->used, s, len);
    rec->text[rec->used + len] = '\0';
    rec->used += len + 1;

    return 1;
}


static int
keryu_apikey_on_null(void *ctx)
{
    keryu_apikey_rec_t  *rec = ctx;

    if (rec->depth != 1 || rec->field != KERYU_APIKEY_F_EXPIRES) {
        return keryu_apikey_stop(rec);
    }

    rec->expires_at = 0;

    return 1;
}


static int
keryu_apikey_on_boolean(void *ctx, int b)
{
    (void) b;

    return keryu_apikey_stop(ctx);
}


/* a time: an integer of decimal digits only, at most 2^63 - 1 */

static int
keryu_apikey_on_number(void *ctx, const char *s, size_t len)
{
    size_t               i;
    uint64_t             n;
    keryu_apikey_rec_t  *rec = ctx;

    if (rec->depth != 1
        || (rec->field != KERYU_APIKEY_F_EXPIRES
            && rec->field != KERYU_APIKEY_F_CREATED))
    {
        return keryu_apikey_stop(rec);
    }

    n = 0;

    for (i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9' || n > (INT64_MAX - 9) / 10) {
            return keryu_apikey_stop(rec);
        }

        n = n * 10 + (uint64_t) (s[i] - '0');
    }

    if (rec->field == KERYU_APIKEY_F_CREATED) {
        rec->created_at = n;
        return 1;
    }

    /* 0 would read as "never" */

    if (n == 0) {
        return keryu_apikey_stop(rec);
    }

    rec->expires_at = n;

    return 1;
}


static int
keryu_apikey_on_string(void *ctx, const unsigned char *s, size_t len)
{
    const char          *p;
    keryu_apikey_rec_t  *rec = ctx;

    if (rec->depth == 2) {
        if (rec->nroles == KERYU_APIKEY_ROLES_MAX
            || !keryu_apikey_keep(rec, (const char *) s, len, &p))
        {
            return keryu_apikey_stop(rec);
        }

        rec->roles[rec->nroles] = p;
        rec->role_lens[rec->nroles++] = len;

        return 1;
    }

    if (rec->depth != 1) {
        return keryu_apikey_stop(rec);
    }

    switch (rec->field) {

    case KERYU_APIKEY_F_NAME:
        rec->name_len = len;
        return keryu_apikey_keep(rec, (const char *) s, len, &rec->name);

    case KERYU_APIKEY_F_ID:
        rec->id_len = len;
        return keryu_apikey_keep(rec, (const char *) s, len, &rec->id);

    case KERYU_APIKEY_F_SECRET:
        rec->secret_len = len;
        return keryu_apikey_keep(rec, (const char *) s, len, &rec->secret);

    default:
        return keryu_apikey_stop(rec);
    }
}


static int
keryu_apikey_on_start_map(void *ctx)
{
    keryu_apikey_rec_t  *rec = ctx;

    if (rec->depth != 0 || rec->fields != 0) {
        return keryu_apikey_stop(rec);
    }

    rec->depth = 1;

    return 1;
}


static int
keryu_apikey_on_key(void *ctx, const unsigned char *s, size_t len)
{
    size_t               i;
    keryu_apikey_rec_t  *rec = ctx;

    for (i = 0; i < KERYU_APIKEY_NFIELDS; i++) {
        if (strlen(keryu_apikey_fields[i].name) == len
            && memcmp(keryu_apikey_fields[i].name, s, len) == 0)
        {
            break;
        }
    }

    if (i == KERYU_APIKEY_NFIELDS
        || (rec->fields & keryu_apikey_fields[i].field))
    {
        return keryu_apikey_stop(rec);
    }

    rec->field = keryu_apikey_fields[i].field;
    rec->fields |= rec->field;

    return 1;
}


static int
keryu_apikey_on_end_map(void *ctx)
{
    keryu_apikey_rec_t  *rec = ctx;

    rec->depth = 0;

    return 1;
}


static int
keryu_apikey_on_start_array(void *ctx)
{
    keryu_apikey_rec_t  *rec = ctx;

    if (rec->depth != 1 || rec->field != KERYU_APIKEY_F_ROLES) {
        return keryu_apikey_stop(rec);
    }

    rec->depth = 2;

    return 1;
}


static int
keryu_apikey_on_end_array(void *ctx)
{
    keryu_apikey_rec_t  *rec = ctx;

    rec->depth = 1;

    return 1;
}
