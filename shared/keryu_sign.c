
/*
 * Copyright (C) Keryu Security
 *
 * Signed requests (keryu_sign.h).  The client table is built as the API
 * key table is (keryu_apikeys.c): one allocation per client, holding its
 * identity, and an open-addressing hash at most a quarter full over them.
 * Client ids come from requests, so the hash is keyed with a seed drawn
 * at each load.  Every OpenSSL object a check needs is made at load: a
 * keyed HMAC context per client, and one SHA-256 context for bodies, so
 * a check fetches nothing and allocates nothing.  The canonical string is
 * never built: its parts are fed to the HMAC one after the other.
 */


#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "keryu_jwt.h"
#include "keryu_sign.h"


#define KERYU_SIGN_MAC_LEN        32
#define KERYU_SIGN_SIG_LEN        43        /* base64url of 32 bytes */
#define KERYU_SIGN_DIGEST_HEX     64
#define KERYU_SIGN_TS_DIGITS      18        /* below 2^62: no overflow */
#define KERYU_SIGN_TIME_MAX       ((int64_t) 1 << 62)
#define KERYU_SIGN_SKEW_MAX       ((int64_t) 1 << 40)

#define KERYU_SIGN_SLOTS_MIN      8
#define KERYU_SIGN_CLIENTS_MAX    (1U << 28)

#define KERYU_SIGN_KEY_MAX                                                    \
    (KERYU_SIGN_CLIENT_MAX + 1 + KERYU_SIGN_NONCE_MAX + 1)

#define KERYU_SIGN_FIELDS         (KERYU_APIKEY_F_ID | KERYU_APIKEY_F_SECRET  \
                                   | KERYU_APIKEY_F_ROLES                     \
                                   | KERYU_APIKEY_F_CREATED)


typedef struct {
    keryu_apikey_t      ident;
    EVP_MAC_CTX        *mac;          /* keyed once, reused */
} keryu_clients_entry_t;


struct keryu_clients_s {
    keryu_clients_entry_t  **entries;
    size_t                   count;
    size_t                   nalloc;
    size_t                   skipped;
    uint32_t                *slots;   /* entry index + 1, 0 when empty */
    uint32_t                 mask;
    uint64_t                 seed;
    EVP_MAC                 *hmac;
    EVP_MD                  *sha256;
    EVP_MD_CTX              *md_ctx;
};


static void keryu_sign_err(char *err, size_t errlen, const char *fmt, ...);
static int keryu_clients_read(void *table, MDB_cursor *cur, char *err,
    size_t errlen);
static int keryu_clients_add(keryu_clients_t *c,
    const keryu_apikey_rec_t *rec, char *err, size_t errlen);
static int keryu_clients_hash(void *table);
static keryu_clients_entry_t *keryu_clients_find(const keryu_clients_t *c,
    const char *id, size_t len);
static uint64_t keryu_sign_hash(uint64_t seed, const char *p, size_t len);
static int keryu_sign_form(const keryu_sign_req_t *req, int64_t *ts);
static int keryu_sign_nonce_valid(const char *nonce, size_t len);
static int keryu_sign_prune(keryu_store_t *st, MDB_txn *txn,
    uint64_t cutoff);
static void keryu_sign_le64(uint8_t *p, uint64_t v);
static int keryu_sign_le64_read(const MDB_val *val, uint64_t *v);


/*
 * where the next pruning walk starts: the key after the last one looked
 * at (that key and a zero byte); the store's write lock guards it
 */
static uint8_t  keryu_sign_prune_at[KERYU_SIGN_KEY_MAX + 1];
static size_t   keryu_sign_prune_len;


keryu_clients_t *
keryu_clients_load(keryu_store_t *st, MDB_txn *txn, int *rc, char *err,
    size_t errlen)
{
    keryu_clients_t  *c;

    c = calloc(1, sizeof(keryu_clients_t));
    if (c == NULL) {
        keryu_sign_err(err, errlen, "out of memory");
        *rc = ENOMEM;
        return NULL;
    }

    c->hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    c->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    c->md_ctx = EVP_MD_CTX_new();

    if (c->hmac == NULL || c->sha256 == NULL || c->md_ctx == NULL) {
        keryu_sign_err(err, errlen, "cannot fetch HMAC and SHA256 from "
                       "OpenSSL");
        *rc = ENOTSUP;
        goto failed;
    }

    if (getrandom(&c->seed, sizeof(c->seed), 0) != sizeof(c->seed)) {
        *rc = errno;
        keryu_sign_err(err, errlen, "getrandom() failed: %s", strerror(*rc));
        goto failed;
    }

    *rc = keryu_apikeys_walk(txn, st->clients, c, keryu_clients_read,
                             keryu_clients_hash, err, errlen);
    if (*rc != 0) {
        goto failed;
    }

    ERR_clear_error();

    return c;

failed:

    ERR_clear_error();
    keryu_clients_free(c);

    return NULL;
}


void
keryu_clients_free(keryu_clients_t *c)
{
    size_t  i;

    if (c == NULL) {
        return;
    }

    for (i = 0; i < c->count; i++) {
        EVP_MAC_CTX_free(c->entries[i]->mac);
        free(c->entries[i]);
    }

    free(c->entries);
    free(c->slots);
    EVP_MD_CTX_free(c->md_ctx);
    EVP_MD_free(c->sha256);
    EVP_MAC_free(c->hmac);
    free(c);
}


size_t
keryu_clients_count(const keryu_clients_t *c)
{
    return c != NULL ? c->count : 0;
}


size_t
keryu_clients_skipped(const keryu_clients_t *c)
{
    return c != NULL ? c->skipped : 0;
}


int
keryu_sign_verify(keryu_clients_t *c, const keryu_sign_req_t *req,
    int64_t now, int64_t skew, const keryu_apikey_t **client)
{
    int                     rc;
    size_t                  n;
    int64_t                 ts, diff;
    EVP_MAC_CTX            *mac;
    keryu_clients_entry_t  *e;
    uint8_t                 sig[KERYU_SIGN_MAC_LEN];
    uint8_t                 md[EVP_MAX_MD_SIZE];

    *client = NULL;

    rc = keryu_sign_form(req, &ts);
    if (rc != KERYU_SIGN_OK) {
        return rc;
    }

    if (keryu_jwt_base64url_decode(req->signature, req->signature_len, sig)
        != 0)
    {
        return KERYU_SIGN_MALFORMED;
    }

    e = keryu_clients_find(c, req->client, req->client_len);
    if (e == NULL) {
        return KERYU_SIGN_UNKNOWN;
    }

    skew = skew < 0 ? 0 : (skew > KERYU_SIGN_SKEW_MAX ? KERYU_SIGN_SKEW_MAX
                                                      : skew);
    now = now > KERYU_SIGN_TIME_MAX ? KERYU_SIGN_TIME_MAX
          : (now < -KERYU_SIGN_TIME_MAX ? -KERYU_SIGN_TIME_MAX : now);

    diff = now - ts;

    if (diff > skew || diff < -skew) {
        return KERYU_SIGN_STALE;
    }

    mac = e->mac;

    if (EVP_MAC_init(mac, NULL, 0, NULL) != 1
        || EVP_MAC_update(mac, (const uint8_t *) req->method,
                          req->method_len) != 1
        || EVP_MAC_update(mac, (const uint8_t *) "\n", 1) != 1
        || EVP_MAC_update(mac, (const uint8_t *) req->path,
                          req->path_len) != 1
        || EVP_MAC_update(mac, (const uint8_t *) "\n", 1) != 1
        || EVP_MAC_update(mac, (const uint8_t *) req->query,
                          req->query_len) != 1
        || EVP_MAC_update(mac, (const uint8_t *) "\n", 1) != 1
        || EVP_MAC_update(mac, (const uint8_t *) req->timestamp,
                          req->timestamp_len) != 1
        || EVP_MAC_update(mac, (const uint8_t *) "\n", 1) != 1
        || EVP_MAC_update(mac, (const uint8_t *) req->nonce,
                          req->nonce_len) != 1
        || EVP_MAC_update(mac, (const uint8_t *) "\n", 1) != 1
        || EVP_MAC_update(mac, (const uint8_t *) req->content_sha256,
                          req->content_sha256_len) != 1
        || EVP_MAC_final(mac, md, &n, sizeof(md)) != 1
        || n != KERYU_SIGN_MAC_LEN)
    {
        ERR_clear_error();
        return KERYU_SIGN_INTERNAL;
    }

    if (CRYPTO_memcmp(md, sig, KERYU_SIGN_MAC_LEN) != 0) {
        return KERYU_SIGN_BAD_SIGNATURE;
    }

    *client = &e->ident;

    return KERYU_SIGN_OK;
}


const char *
keryu_sign_reason(int code)
{
    switch (code) {

    case KERYU_SIGN_OK:
        return "ok";

    case KERYU_SIGN_UNKNOWN:
        return "unknown client";

    case KERYU_SIGN_STALE:
        return "stale timestamp";

    case KERYU_SIGN_BAD_SIGNATURE:
        return "bad signature";

    case KERYU_SIGN_MALFORMED:
        return "malformed";

    case KERYU_SIGN_REPLAYED:
        return "replayed nonce";

    case KERYU_SIGN_DIGEST:
        return "body digest mismatch";

    case KERYU_SIGN_INTERNAL:
        return "internal error";

    default:
        return keryu_store_strerror(code);
    }
}


int
keryu_sign_nonce(keryu_store_t *st, MDB_txn *txn, const char *client,
    size_t client_len, const char *nonce, size_t nonce_len, int64_t ts,
    int64_t now, int64_t skew)
{
    int       rc;
    int64_t   cutoff;
    MDB_val   key, val;
    uint64_t  old;
    uint8_t   k[KERYU_SIGN_KEY_MAX], v[8];

    if (client_len == 0 || client_len > KERYU_SIGN_CLIENT_MAX
        || memchr(client, '\0', client_len) != NULL
        || !keryu_sign_nonce_valid(nonce, nonce_len)
        || ts < 0 || ts >= KERYU_SIGN_TIME_MAX)
    {
        return EINVAL;
    }

    skew = skew < 0 ? 0 : (skew > KERYU_SIGN_SKEW_MAX ? KERYU_SIGN_SKEW_MAX
                                                      : skew);
    now = now > KERYU_SIGN_TIME_MAX ? KERYU_SIGN_TIME_MAX
          : (now < -KERYU_SIGN_TIME_MAX ? -KERYU_SIGN_TIME_MAX : now);

    cutoff = now - skew;

    memcpy(k, client, client_len);
    k[client_len] = '\0';
    memcpy(k + client_len + 1, nonce, nonce_len);

    keryu_sign_le64(v, (uint64_t) ts);

    key.mv_size = client_len + 1 + nonce_len;
    key.mv_data = k;
    val.mv_size = 8;
    val.mv_data = v;

    rc = mdb_put(txn, st->nonces, &key, &val, MDB_NOOVERWRITE);

    if (rc == MDB_KEYEXIST) {

        /* val is the entry that is there; one unreadable counts as old */

        if (keryu_sign_le64_read(&val, &old) == 0
            && (cutoff <= 0 || old >= (uint64_t) cutoff))
        {
            return KERYU_SIGN_REPLAYED;
        }

        val.mv_size = 8;
        val.mv_data = v;

        rc = mdb_put(txn, st->nonces, &key, &val, 0);
    }

    if (rc != 0) {
        return rc;
    }

    return keryu_sign_prune(st, txn, cutoff > 0 ? (uint64_t) cutoff : 0);
}


void
keryu_sign_sha256_hex(keryu_clients_t *c, const uint8_t *data, size_t len,
    char *out)
{
    unsigned int  i, n;
    uint8_t       md[EVP_MAX_MD_SIZE];

    static const char  hex[] = "0123456789abcdef";

    if (EVP_DigestInit_ex2(c->md_ctx, c->sha256, NULL) != 1
        || EVP_DigestUpdate(c->md_ctx, data, len) != 1
        || EVP_DigestFinal_ex(c->md_ctx, md, &n) != 1
        || n != KERYU_SIGN_DIGEST_HEX / 2)
    {
        ERR_clear_error();
        out[0] = '\0';
        return;
    }

    for (i = 0; i < n; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 0xf];
    }

    out[2 * n] = '\0';
}


static void
keryu_sign_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list  args;

    if (err == NULL || errlen == 0) {
        return;
    }

    va_start(args, fmt);
    vsnprintf(err, errlen, fmt, args);
    va_end(args);
}


/* one walk over the database; the text, which held secrets, is wiped */

static int
keryu_clients_read(void *table, MDB_cursor *cur, char *err, size_t errlen)
{
    int                 rc;
    char               *text, *t;
    size_t              size;
    MDB_val             key, val;
    keryu_clients_t    *c;
    keryu_apikey_rec_t  rec;

    c = table;
    text = NULL;
    size = 0;

    for (rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST);
         rc == 0;
         rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT))
    {
        if (key.mv_size == 0 || key.mv_size > KERYU_SIGN_CLIENT_MAX
            || val.mv_size > KERYU_APIKEY_JSON_MAX)
        {
            c->skipped++;
            continue;
        }

        if (val.mv_size + 1 > size) {
            t = malloc(val.mv_size + 1);
            if (t == NULL) {
                keryu_sign_err(err, errlen, "out of memory");
                rc = ENOMEM;
                goto done;
            }

            if (text != NULL) {
                OPENSSL_cleanse(text, size);
                free(text);
            }

            text = t;
            size = val.mv_size + 1;
        }

        if (keryu_apikey_rec_parse(&rec, val.mv_data, val.mv_size, text) != 0
            || rec.fields != KERYU_SIGN_FIELDS
            || rec.id_len != key.mv_size
            || memcmp(rec.id, key.mv_data, key.mv_size) != 0)
        {
            c->skipped++;
            continue;
        }

        if (c->count == KERYU_SIGN_CLIENTS_MAX) {
            keryu_sign_err(err, errlen, "more than %u clients",
                           KERYU_SIGN_CLIENTS_MAX);
            rc = ENOMEM;
            goto done;
        }

        rc = keryu_clients_add(c, &rec, err, errlen);
        if (rc != 0) {
            goto done;
        }
    }

    if (rc != MDB_NOTFOUND) {
        keryu_sign_err(err, errlen, "mdb_cursor_get() failed: %s",
                       mdb_strerror(rc));
    }

done:

    if (text != NULL) {
        OPENSSL_cleanse(text, size);
        free(text);
    }

    return rc == MDB_NOTFOUND ? 0 : rc;
}


/* returns 0, also for a record skipped, or an errno code and err */

static int
keryu_clients_add(keryu_clients_t *c, const keryu_apikey_rec_t *rec,
    char *err, size_t errlen)
{
    int                     rc;
    char                    digest[] = "SHA256";
    size_t                  n, size;
    OSSL_PARAM              params[2];
    keryu_apikey_t          id;
    keryu_clients_entry_t  *e, **entries;
    uint8_t                 secret[KERYU_SIGN_SECRET_MAX];

    n = keryu_jwt_base64url_size(rec->secret_len);

    if (n < KERYU_SIGN_SECRET_MIN || n > KERYU_SIGN_SECRET_MAX
        || keryu_jwt_base64url_decode(rec->secret, rec->secret_len, secret)
           != 0)
    {
        c->skipped++;
        return 0;
    }

    rc = ENOMEM;

    if (c->count == c->nalloc) {
        size = c->nalloc ? 2 * c->nalloc : 16;

        entries = realloc(c->entries, size * sizeof(keryu_clients_entry_t *));
        if (entries == NULL) {
            keryu_sign_err(err, errlen, "out of memory");
            goto wipe;
        }

        c->entries = entries;
        c->nalloc = size;
    }

    e = keryu_apikey_copy(&id, rec->id, rec->id_len, rec,
                          sizeof(keryu_clients_entry_t));
    if (e == NULL) {
        keryu_sign_err(err, errlen, "out of memory");
        goto wipe;
    }

    e->ident = id;
    e->ident.expires_at = 0;

    e->mac = EVP_MAC_CTX_new(c->hmac);
    if (e->mac == NULL) {
        keryu_sign_err(err, errlen, "EVP_MAC_CTX_new() failed");
        free(e);
        goto wipe;
    }

    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
                                                 digest, 0);
    params[1] = OSSL_PARAM_construct_end();

    if (EVP_MAC_init(e->mac, secret, n, params) != 1) {
        keryu_sign_err(err, errlen, "EVP_MAC_init() failed");
        EVP_MAC_CTX_free(e->mac);
        free(e);
        rc = EINVAL;
        goto wipe;
    }

    c->entries[c->count++] = e;
    rc = 0;

wipe:

    OPENSSL_cleanse(secret, sizeof(secret));

    return rc;
}


/* sizes the hash at a power of two, at least four times the entries */

static int
keryu_clients_hash(void *table)
{
    size_t                  i;
    uint32_t                size, j;
    keryu_clients_t        *c;
    keryu_clients_entry_t  *e;

    c = table;

    for (size = KERYU_SIGN_SLOTS_MIN; size < 4 * c->count; size *= 2) {
        /* void */
    }

    c->slots = calloc(size, sizeof(uint32_t));
    if (c->slots == NULL) {
        return ENOMEM;
    }

    c->mask = size - 1;

    for (i = 0; i < c->count; i++) {
        e = c->entries[i];

        for (j = (uint32_t) keryu_sign_hash(c->seed, e->ident.name,
                                            e->ident.name_len) & c->mask;
             c->slots[j];
             j = (j + 1) & c->mask)
        {
            /* void */
        }

        c->slots[j] = (uint32_t) i + 1;
    }

    return 0;
}


static keryu_clients_entry_t *
keryu_clients_find(const keryu_clients_t *c, const char *id, size_t len)
{
    uint32_t                i;
    keryu_clients_entry_t  *e;

    for (i = (uint32_t) keryu_sign_hash(c->seed, id, len) & c->mask;
         c->slots[i];
         i = (i + 1) & c->mask)
    {
        e = c->entries[c->slots[i] - 1];

        if (e->ident.name_len == len && memcmp(e->ident.name, id, len) == 0) {
            return e;
        }
    }

    return NULL;
}


/* FNV-1a from a seed, then a 64-bit finaliser to spread the low bits */

static uint64_t
keryu_sign_hash(uint64_t seed, const char *p, size_t len)
{
    size_t    i;
    uint64_t  h;

    h = seed ^ 0xcbf29ce484222325ULL;

    for (i = 0; i < len; i++) {
        h = (h ^ (uint8_t) p[i]) * 0x100000001b3ULL;
    }

    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;

    return h;
}


/* the form of every part; *ts gets the timestamp */

static int
keryu_sign_form(const keryu_sign_req_t *req, int64_t *ts)
{
    size_t       i;
    const char  *p;

    if (req->method_len == 0 || req->path_len == 0
        || memchr(req->method, '\n', req->method_len) != NULL
        || memchr(req->path, '\n', req->path_len) != NULL
        || (req->query_len
            && memchr(req->query, '\n', req->query_len) != NULL))
    {
        return KERYU_SIGN_MALFORMED;
    }

    if (req->client_len == 0 || req->client_len > KERYU_SIGN_CLIENT_MAX) {
        return KERYU_SIGN_MALFORMED;
    }

    if (req->timestamp_len == 0 || req->timestamp_len > KERYU_SIGN_TS_DIGITS)
    {
        return KERYU_SIGN_MALFORMED;
    }

    *ts = 0;

    for (i = 0; i < req->timestamp_len; i++) {
        if (req->timestamp[i] < '0' || req->timestamp[i] > '9') {
            return KERYU_SIGN_MALFORMED;
        }

        *ts = *ts * 10 + (req->timestamp[i] - '0');
    }

    if (!keryu_sign_nonce_valid(req->nonce, req->nonce_len)) {
        return KERYU_SIGN_MALFORMED;
    }

    if (req->content_sha256_len != KERYU_SIGN_DIGEST_HEX) {
        return KERYU_SIGN_MALFORMED;
    }

    p = req->content_sha256;

    for (i = 0; i < KERYU_SIGN_DIGEST_HEX; i++) {
        if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f'))) {
            return KERYU_SIGN_MALFORMED;
        }
    }

    if (req->signature_len != KERYU_SIGN_SIG_LEN) {
        return KERYU_SIGN_MALFORMED;
    }

    return KERYU_SIGN_OK;
}


/* KERYU_SIGN_NONCE_MIN to KERYU_SIGN_NONCE_MAX of [A-Za-z0-9_-] */

static int
keryu_sign_nonce_valid(const char *nonce, size_t len)
{
    size_t  i;
    char    ch;

    if (len < KERYU_SIGN_NONCE_MIN || len > KERYU_SIGN_NONCE_MAX) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        ch = nonce[i];

        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')
              || (ch >= '0' && ch <= '9') || ch == '_' || ch == '-'))
        {
            return 0;
        }
    }

    return 1;
}


/*
 * Deletes entries older than cutoff, or unreadable, from where the last
 * walk stopped; after a deletion, MDB_NEXT yields the entry that followed.
 * At the end of the database the walk goes round once to the start.
 */

static int
keryu_sign_prune(keryu_store_t *st, MDB_txn *txn, uint64_t cutoff)
{
    int           rc, wrapped;
    size_t        seen, deleted;
    MDB_val       key, val;
    uint64_t      ts;
    MDB_cursor   *cur;

    rc = mdb_cursor_open(txn, st->nonces, &cur);
    if (rc != 0) {
        return rc;
    }

    if (keryu_sign_prune_len) {
        key.mv_size = keryu_sign_prune_len;
        key.mv_data = keryu_sign_prune_at;

        rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);

    } else {
        rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST);
    }

    wrapped = 0;
    seen = 0;
    deleted = 0;

    for ( ;; ) {
        if (rc == MDB_NOTFOUND && !wrapped) {
            wrapped = 1;
            rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST);
        }

        if (rc != 0) {
            break;
        }

        seen++;

        /* the next walk starts after this key */

        if (key.mv_size <= KERYU_SIGN_KEY_MAX) {
            memcpy(keryu_sign_prune_at, key.mv_data, key.mv_size);
            keryu_sign_prune_at[key.mv_size] = '\0';
            keryu_sign_prune_len = key.mv_size + 1;
        }

        if (keryu_sign_le64_read(&val, &ts) != 0 || ts < cutoff) {
            rc = mdb_cursor_del(cur, 0);
            if (rc != 0) {
                break;
            }

            deleted++;
        }

        if (seen == KERYU_SIGN_PRUNE_SCAN || deleted == KERYU_SIGN_PRUNE) {
            rc = 0;
            break;
        }

        rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT);
    }

    mdb_cursor_close(cur);

    return rc == MDB_NOTFOUND ? 0 : rc;
}


static void
keryu_sign_le64(uint8_t *p, uint64_t v)
{
    int  i;

    for (i = 0; i < 8; i++) {
        p[i] = (uint8_t) (v >> (8 * i));
    }
}


static int
keryu_sign_le64_read(const MDB_val *val, uint64_t *v)
{
    int             i;
    const uint8_t  *p;

    if (val->mv_size != 8) {
        return -1;
    }

    p = val->mv_data;
    *v = 0;

    for (i = 7; i >= 0; i--) {
        *v = (*v << 8) | p[i];
    }

    return 0;
}
