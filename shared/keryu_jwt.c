
/*
 * Copyright (C) Keryu Security
 *
 * JWT verification (keryu_jwt.h).  Every OpenSSL object a verification
 * needs is made when a key is added: a keyed HMAC context per HS256 key,
 * a verify-initialised EVP_PKEY_CTX per RS256 or ES256 key, and one
 * SHA-256 digest context per set, so a verification fetches nothing.
 *
 * JSON goes through yajl's event parser, not yajl_tree, which makes
 * several allocations per value: yajl allocates from an arena on the
 * stack, and an object is kept flat (its members, and the scalars of its
 * arrays) in one block.  A verification decodes the token on the stack
 * when it fits, reads the header without allocating, and allocates once
 * for the claims, which are parsed only after the signature holds.  Any
 * OpenSSL error is drained before returning, since nginx treats a stale
 * error queue as an alert.
 *
 * The cache of verified tokens keeps its entries in one array that never
 * moves, since a keryu_jwt_t may point into itself.  The table holds
 * pointers to entries, and one spare entry outside it receives each
 * verification: a token that passes is swapped into the table, and the
 * entry it replaces becomes the spare, so a refusal never disturbs what
 * is cached.
 */


#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/types.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <yajl/yajl_parse.h>

#include "keryu_jwt.h"


#define KERYU_JWT_HS256         1
#define KERYU_JWT_RS256         2
#define KERYU_JWT_ES256         3
#define KERYU_JWT_NONE          (-1)

#define KERYU_JWT_HS256_LEN     32
#define KERYU_JWT_ES256_LEN     64

/* a DER ECDSA-Sig-Value of two 32-byte integers, each padded by one */
#define KERYU_JWT_ES256_DER     (2 + 2 * (2 + 33))

/* decoded token bytes verified without an allocation */
#define KERYU_JWT_STACK_BUF     4096

/* times and leeway are clamped to these so that sums cannot overflow */
#define KERYU_JWT_TIME_MAX      ((int64_t) 1 << 62)
#define KERYU_JWT_LEEWAY_MAX    ((int64_t) 1 << 40)

/* JSON values kept by the reader */
#define KERYU_JWT_T_STRING      1
#define KERYU_JWT_T_NUMBER      2
#define KERYU_JWT_T_TRUE        3
#define KERYU_JWT_T_FALSE       4
#define KERYU_JWT_T_NULL        5
#define KERYU_JWT_T_ARRAY       6
#define KERYU_JWT_T_OBJECT      7

#define KERYU_JWT_NO_ARRAY      ((size_t) -1)

/* values kept from a header; a header with more is refused */
#define KERYU_JWT_HEADER_VALS   32

/* stack for yajl's own allocations in one parse, and its block header */
#define KERYU_JWT_ARENA         4096
#define KERYU_JWT_ARENA_HDR     16

#define keryu_jwt_align(d, a)   (((d) + (a - 1)) & ~((size_t) (a) - 1))

/* the ways of a cache set, and the unit its token buffers grow by */
#define KERYU_JWT_CACHE_WAYS    2
#define KERYU_JWT_CACHE_CHUNK   256

#define keryu_jwt_rotl(x, b)    (((x) << (b)) | ((x) >> (64 - (b))))


typedef struct {
    char               *kid;
    size_t              kid_len;
    int                 alg;
    size_t              sig_len;   /* the only signature length accepted */
    EVP_MAC_CTX        *mac;       /* HS256: keyed once, reused */
    EVP_PKEY           *pkey;      /* RS256, ES256 */
    EVP_PKEY_CTX       *pctx;      /* RS256, ES256: verify-initialised */
} keryu_jwt_key_t;


struct keryu_jwt_keys_s {
    EVP_MAC            *hmac;
    EVP_MD             *sha256;
    EVP_MD_CTX         *md_ctx;
    keryu_jwt_key_t    *keys;
    size_t              nkeys;
    size_t              nalloc;
    uint64_t            gen;       /* unique in the process, see below */
};


/* what the header says */
typedef struct {
    int                 alg;
    int                 has_kid;
    size_t              kid_len;
    char                kid[KERYU_JWT_KID_MAX + 1];
} keryu_jwt_header_t;


/*
 * One value of a flat object.  Names and texts are offsets into the
 * object's text, each NUL-terminated.  An array is followed by its scalar
 * elements, which have no name; arrays and objects inside it, and any
 * value nested deeper, are checked by yajl but not kept.
 */
typedef struct {
    int                 type;
    size_t              name;
    size_t              name_len;
    size_t              value;      /* a string's or a number's text */
    size_t              value_len;
    size_t              nelts;      /* an array: the elements after it */
} keryu_jwt_val_t;


typedef struct {
    keryu_jwt_val_t    *vals;
    size_t              nvals;
    size_t              nalloc;
    unsigned            grow:1;     /* vals may be replaced by a larger one */
    unsigned            own_vals:1; /* vals was allocated on its own */
    char               *text;
    size_t              len;
    size_t              size;

    /* parse state */
    size_t              depth;
    size_t              array;      /* the open array member, if any */
    size_t              name;       /* the member being read */
    size_t              name_len;
    int                 error;
    const char         *why;        /* why the parse was stopped */
} keryu_jwt_obj_t;


typedef struct {
    uint8_t            *base;
    size_t              size;
    size_t              used;
} keryu_jwt_arena_t;


/*
 * A cached token and what it was verified under.  data holds the token's
 * bytes and then issuer, audience and roles_claim, each NUL-terminated;
 * the three pointers are NULL for an option that was NULL.  exp and nbf
 * are the claims as verification read them, clamped and rounded.
 */
typedef struct {
    keryu_jwt_t              jwt;
    uint64_t                 hash;
    const keryu_jwt_keys_t  *ks;
    uint64_t                 gen;
    int64_t                  leeway;
    size_t                   max_len;
    int64_t                  exp;
    int64_t                  nbf;
    unsigned                 used:1;
    unsigned                 has_exp:1;
    unsigned                 has_nbf:1;
    size_t                   len;
    const char              *issuer;
    const char              *audience;
    const char              *roles_claim;
    char                    *data;
    size_t                   size;
} keryu_jwt_entry_t;


struct keryu_jwt_cache_s {
    keryu_jwt_entry_t      **slots;     /* KERYU_JWT_CACHE_WAYS per set */
    keryu_jwt_entry_t       *entries;   /* the slots' entries and the spare */
    keryu_jwt_entry_t       *spare;
    uint8_t                 *recent;    /* per set: the way used last */
    size_t                   nentries;
    size_t                   mask;      /* sets - 1 */
    size_t                   count;
    uint64_t                 hits;
    uint64_t                 misses;
    uint64_t                 seed[2];
};


/* options after their defaults apply, as verification reads them */
typedef struct {
    const char              *issuer;
    const char              *audience;
    const char              *roles_claim;
    int64_t                  leeway;
    size_t                   max_len;
} keryu_jwt_want_t;


static void keryu_jwt_err(char *err, size_t errlen, const char *fmt, ...);
static void keryu_jwt_ssl_err(char *err, size_t errlen, const char *call);
static int keryu_jwt_alg(const char *name);
static keryu_jwt_key_t *keryu_jwt_key_find(const keryu_jwt_keys_t *ks,
    const char *kid, size_t len);
static int keryu_jwt_key_push(keryu_jwt_keys_t *ks, const char *kid,
    keryu_jwt_key_t *key, char *err, size_t errlen);
static int keryu_jwt_kid_check(const keryu_jwt_keys_t *ks, const char *kid,
    char *err, size_t errlen);
static int keryu_jwt_no_password(char *buf, int size, int rwflag, void *u);
static size_t keryu_jwt_b64_size(size_t len);
static int keryu_jwt_b64_decode(const char *src, size_t len, uint8_t *dst);
static keryu_jwt_obj_t *keryu_jwt_obj_new(size_t len);
static void keryu_jwt_obj_init(keryu_jwt_obj_t *obj, keryu_jwt_val_t *vals,
    size_t nvals, char *text, size_t size);
static void keryu_jwt_obj_free(keryu_jwt_obj_t *obj);
static int keryu_jwt_obj_parse(keryu_jwt_obj_t *obj, const uint8_t *json,
    size_t len);
static const keryu_jwt_val_t *keryu_jwt_obj_get(const keryu_jwt_obj_t *obj,
    const char *name, size_t len);
static int keryu_jwt_obj_add(keryu_jwt_obj_t *obj, int type, const char *s,
    size_t len);
static int keryu_jwt_obj_copy(keryu_jwt_obj_t *obj, const char *s, size_t len,
    size_t *off);
static int keryu_jwt_obj_stop(keryu_jwt_obj_t *obj, const char *why);
static int keryu_jwt_on_null(void *ctx);
static int keryu_jwt_on_boolean(void *ctx, int value);
static int keryu_jwt_on_number(void *ctx, const char *s, size_t len);
static int keryu_jwt_on_string(void *ctx, const unsigned char *s, size_t len);
static int keryu_jwt_on_key(void *ctx, const unsigned char *s, size_t len);
static int keryu_jwt_on_start_map(void *ctx);
static int keryu_jwt_on_start_array(void *ctx);
static int keryu_jwt_on_end(void *ctx);
static int keryu_jwt_open(keryu_jwt_obj_t *obj, int type);
static int keryu_jwt_scalar(keryu_jwt_obj_t *obj, int type, const char *s,
    size_t len);
static void *keryu_jwt_arena_alloc(void *ctx, size_t size);
static void *keryu_jwt_arena_realloc(void *ctx, void *p, size_t size);
static void keryu_jwt_arena_free(void *ctx, void *p);
static int keryu_jwt_arena_has(keryu_jwt_arena_t *a, void *p);
static int keryu_jwt_header(const uint8_t *json, size_t len,
    keryu_jwt_header_t *h);
static int keryu_jwt_signature(const keryu_jwt_keys_t *ks,
    const keryu_jwt_header_t *h, const char *in, size_t len,
    const uint8_t *sig, size_t siglen, const keryu_jwt_key_t **found);
static int keryu_jwt_key_verify(const keryu_jwt_keys_t *ks,
    const keryu_jwt_key_t *key, const char *in, size_t len,
    const uint8_t *sig, size_t siglen);
static size_t keryu_jwt_der_integer(uint8_t *p, const uint8_t *v, size_t n);
static int keryu_jwt_claims(const keryu_jwt_opts_t *opts,
    const uint8_t *json, size_t len, int64_t now, keryu_jwt_t *jwt);
static int64_t keryu_jwt_seconds(const char *s, size_t len, int up);
static int64_t keryu_jwt_clamp(int64_t v, int64_t max);
static int keryu_jwt_audience(const keryu_jwt_obj_t *obj,
    const keryu_jwt_val_t *v, const char *audience);
static int keryu_jwt_is(const keryu_jwt_obj_t *obj, const keryu_jwt_val_t *v,
    const char *value, size_t len);
static int keryu_jwt_roles(keryu_jwt_t *jwt, const keryu_jwt_obj_t *obj,
    const keryu_jwt_val_t *v);
static uint64_t keryu_jwt_generation(void);
static void keryu_jwt_want(const keryu_jwt_opts_t *opts,
    keryu_jwt_want_t *w);
static int keryu_jwt_entry_match(const keryu_jwt_entry_t *e,
    const keryu_jwt_keys_t *ks, const keryu_jwt_want_t *w, const char *token,
    size_t len, uint64_t hash);
static int keryu_jwt_entry_times(const keryu_jwt_entry_t *e, int64_t now);
static int keryu_jwt_entry_fill(keryu_jwt_entry_t *e,
    const keryu_jwt_keys_t *ks, const keryu_jwt_want_t *w, const char *token,
    size_t len, uint64_t hash);
static void keryu_jwt_entry_drop(keryu_jwt_entry_t *e);
static int keryu_jwt_str_eq(const char *a, const char *b);
static uint64_t keryu_jwt_siphash(const uint64_t *key, const uint8_t *p,
    size_t len);
static inline void keryu_jwt_sipround(uint64_t *v);


static const yajl_callbacks  keryu_jwt_callbacks = {
    keryu_jwt_on_null,
    keryu_jwt_on_boolean,
    NULL,
    NULL,
    keryu_jwt_on_number,
    keryu_jwt_on_string,
    keryu_jwt_on_start_map,
    keryu_jwt_on_key,
    keryu_jwt_on_end,
    keryu_jwt_on_start_array,
    keryu_jwt_on_end
};


/* the last generation given to a key set; 0 is never given */
static uint64_t  keryu_jwt_generations;


static const char  *keryu_jwt_reasons[] = {
    "ok",
    "malformed",
    "too long",
    "alg none",
    "unsupported algorithm",
    "critical header",
    "unknown key",
    "algorithm mismatch",
    "bad signature",
    "expired",
    "not yet valid",
    "bad issuer",
    "bad audience",
    "no subject",
    "out of memory",
    "internal error"
};


/* base64url digit values, -1 for any other byte */
static const signed char  keryu_jwt_b64[256] = {
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 62, -1, -1,
    52, 53, 54, 55, 56, 57, 58, 59, 60, 61, -1, -1, -1, -1, -1, -1,
    -1,  0,  1,  2,  3,  4,  5,  6,  7,  8,  9, 10, 11, 12, 13, 14,
    15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, -1, -1, -1, -1, 63,
    -1, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40,
    41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1
};


keryu_jwt_keys_t *
keryu_jwt_keys_create(void)
{
    keryu_jwt_keys_t  *ks;

    ks = calloc(1, sizeof(keryu_jwt_keys_t));
    if (ks == NULL) {
        return NULL;
    }

    ks->hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    ks->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    ks->md_ctx = EVP_MD_CTX_new();

    if (ks->hmac == NULL || ks->sha256 == NULL || ks->md_ctx == NULL) {
        ERR_clear_error();
        keryu_jwt_keys_free(ks);
        return NULL;
    }

    ks->gen = keryu_jwt_generation();

    /* OpenSSL may queue an error it recovered from, as with its caches */
    ERR_clear_error();

    return ks;
}


void
keryu_jwt_keys_free(keryu_jwt_keys_t *ks)
{
    size_t            i;
    keryu_jwt_key_t  *key;

    if (ks == NULL) {
        return;
    }

    for (i = 0; i < ks->nkeys; i++) {
        key = &ks->keys[i];

        free(key->kid);
        EVP_MAC_CTX_free(key->mac);
        EVP_PKEY_CTX_free(key->pctx);
        EVP_PKEY_free(key->pkey);
    }

    free(ks->keys);
    EVP_MD_CTX_free(ks->md_ctx);
    EVP_MD_free(ks->sha256);
    EVP_MAC_free(ks->hmac);
    free(ks);
}


size_t
keryu_jwt_keys_count(const keryu_jwt_keys_t *ks)
{
    return ks != NULL ? ks->nkeys : 0;
}


uint64_t
keryu_jwt_keys_generation(const keryu_jwt_keys_t *ks)
{
    return ks != NULL ? ks->gen : 0;
}


int
keryu_jwt_keys_add_secret(keryu_jwt_keys_t *ks, const char *kid,
    const uint8_t *secret, size_t len, char *err, size_t errlen)
{
    char             digest[] = "SHA256";
    OSSL_PARAM       params[2];
    keryu_jwt_key_t  key;

    if (keryu_jwt_kid_check(ks, kid, err, errlen) != 0) {
        return KERYU_JWT_ERROR;
    }

    if (len < KERYU_JWT_SECRET_MIN) {
        keryu_jwt_err(err, errlen, "secret of %zu bytes is shorter than %d",
                      len, KERYU_JWT_SECRET_MIN);
        return KERYU_JWT_ERROR;
    }

    memset(&key, 0, sizeof(keryu_jwt_key_t));
    key.alg = KERYU_JWT_HS256;
    key.sig_len = KERYU_JWT_HS256_LEN;

    key.mac = EVP_MAC_CTX_new(ks->hmac);
    if (key.mac == NULL) {
        keryu_jwt_ssl_err(err, errlen, "EVP_MAC_CTX_new");
        return KERYU_JWT_ERROR;
    }

    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
                                                 digest, 0);
    params[1] = OSSL_PARAM_construct_end();

    if (EVP_MAC_init(key.mac, secret, len, params) != 1) {
        keryu_jwt_ssl_err(err, errlen, "EVP_MAC_init");
        EVP_MAC_CTX_free(key.mac);
        return KERYU_JWT_ERROR;
    }

    if (keryu_jwt_key_push(ks, kid, &key, err, errlen) != 0) {
        EVP_MAC_CTX_free(key.mac);
        return KERYU_JWT_ERROR;
    }

    ERR_clear_error();

    return 0;
}


int
keryu_jwt_keys_add_pem(keryu_jwt_keys_t *ks, const char *kid,
    const char *alg, const char *pem, size_t len, char *err, size_t errlen)
{
    int              bits;
    BIO             *bio;
    char             group[64];
    keryu_jwt_key_t  key;

    if (keryu_jwt_kid_check(ks, kid, err, errlen) != 0) {
        return KERYU_JWT_ERROR;
    }

    memset(&key, 0, sizeof(keryu_jwt_key_t));
    key.alg = alg ? keryu_jwt_alg(alg) : 0;

    if (key.alg != KERYU_JWT_RS256 && key.alg != KERYU_JWT_ES256) {
        keryu_jwt_err(err, errlen, "unsupported algorithm \"%s\" for a PEM key",
                      alg ? alg : "");
        return KERYU_JWT_ERROR;
    }

    if (len == 0 || len > KERYU_JWT_KEY_JSON_MAX) {
        keryu_jwt_err(err, errlen, "PEM key of %zu bytes, not 1 to %d", len,
                      KERYU_JWT_KEY_JSON_MAX);
        return KERYU_JWT_ERROR;
    }

    bio = BIO_new_mem_buf(pem, (int) len);
    if (bio == NULL) {
        keryu_jwt_ssl_err(err, errlen, "BIO_new_mem_buf");
        return KERYU_JWT_ERROR;
    }

    /* a public key is never encrypted: refuse rather than prompt on a tty */
    key.pkey = PEM_read_bio_PUBKEY(bio, NULL, keryu_jwt_no_password, NULL);
    BIO_free(bio);

    if (key.pkey == NULL) {
        keryu_jwt_ssl_err(err, errlen, "PEM_read_bio_PUBKEY");
        return KERYU_JWT_ERROR;
    }

    if (key.alg == KERYU_JWT_RS256) {
        if (!EVP_PKEY_is_a(key.pkey, "RSA")) {
            keryu_jwt_err(err, errlen, "RS256 needs an RSA key");
            goto failed;
        }

        bits = EVP_PKEY_get_bits(key.pkey);

        if (bits < KERYU_JWT_RSA_BITS_MIN) {
            keryu_jwt_err(err, errlen, "RSA key of %d bits is shorter than %d",
                          bits, KERYU_JWT_RSA_BITS_MIN);
            goto failed;
        }

    } else {
        if (!EVP_PKEY_is_a(key.pkey, "EC")
            || EVP_PKEY_get_utf8_string_param(key.pkey,
                                              OSSL_PKEY_PARAM_GROUP_NAME,
                                              group, sizeof(group), NULL)
               != 1
            || strcmp(group, "prime256v1") != 0)
        {
            ERR_clear_error();
            keryu_jwt_err(err, errlen, "ES256 needs a P-256 key");
            goto failed;
        }
    }

    key.sig_len = key.alg == KERYU_JWT_RS256
                  ? (size_t) EVP_PKEY_get_size(key.pkey)
                  : KERYU_JWT_ES256_LEN;

    key.pctx = EVP_PKEY_CTX_new_from_pkey(NULL, key.pkey, NULL);
    if (key.pctx == NULL) {
        keryu_jwt_ssl_err(err, errlen, "EVP_PKEY_CTX_new_from_pkey");
        goto failed;
    }

    /*
     * EVP_PKEY_verify() may run any number of times after one init with
     * the same parameters, so the context is set up here once
     */

    if (EVP_PKEY_verify_init(key.pctx) <= 0) {
        keryu_jwt_ssl_err(err, errlen, "EVP_PKEY_verify_init");
        goto failed;
    }

    if (key.alg == KERYU_JWT_RS256
        && EVP_PKEY_CTX_set_rsa_padding(key.pctx, RSA_PKCS1_PADDING) <= 0)
    {
        keryu_jwt_ssl_err(err, errlen, "EVP_PKEY_CTX_set_rsa_padding");
        goto failed;
    }

    if (EVP_PKEY_CTX_set_signature_md(key.pctx, ks->sha256) <= 0) {
        keryu_jwt_ssl_err(err, errlen, "EVP_PKEY_CTX_set_signature_md");
        goto failed;
    }

    if (keryu_jwt_key_push(ks, kid, &key, err, errlen) != 0) {
        goto failed;
    }

    ERR_clear_error();

    return 0;

failed:

    ERR_clear_error();
    EVP_PKEY_CTX_free(key.pctx);
    EVP_PKEY_free(key.pkey);

    return KERYU_JWT_ERROR;
}


int
keryu_jwt_keys_add_json(keryu_jwt_keys_t *ks, const char *json, size_t len,
    char *err, size_t errlen)
{
    int                     rc, alg;
    size_t                  i, n;
    uint8_t                *secret;
    const char             *name, *text;
    keryu_jwt_obj_t        *obj;
    const keryu_jwt_val_t  *v, *kid, *algv, *secretv, *pem;

    if (len > KERYU_JWT_KEY_JSON_MAX) {
        keryu_jwt_err(err, errlen, "key record of %zu bytes is too long", len);
        return KERYU_JWT_ERROR;
    }

    obj = keryu_jwt_obj_new(len);
    if (obj == NULL) {
        keryu_jwt_err(err, errlen, "out of memory");
        return KERYU_JWT_ERROR;
    }

    rc = KERYU_JWT_ERROR;
    secret = NULL;
    n = 0;

    if (keryu_jwt_obj_parse(obj, (const uint8_t *) json, len) != 0) {
        keryu_jwt_err(err, errlen, "key record: %s", obj->why);
        goto done;
    }

    text = obj->text;
    kid = NULL;
    algv = NULL;
    secretv = NULL;
    pem = NULL;

    for (i = 0; i < obj->nvals; i += 1 + obj->vals[i].nelts) {
        v = &obj->vals[i];
        name = text + v->name;

        if (strcmp(name, "kid") == 0) {
            kid = v;

        } else if (strcmp(name, "alg") == 0) {
            algv = v;

        } else if (strcmp(name, "secret") == 0) {
            secretv = v;

        } else if (strcmp(name, "pem") == 0) {
            pem = v;

        } else if (strcmp(name, "created_at") == 0) {
            if (v->type != KERYU_JWT_T_NUMBER) {
                keryu_jwt_err(err, errlen, "\"created_at\" is not a number");
                goto done;
            }

        } else {
            keryu_jwt_err(err, errlen, "unknown field \"%s\"", name);
            goto done;
        }
    }

    if (kid == NULL || kid->type != KERYU_JWT_T_STRING) {
        keryu_jwt_err(err, errlen, "\"kid\" is missing or not a string");
        goto done;
    }

    if (algv == NULL || algv->type != KERYU_JWT_T_STRING) {
        keryu_jwt_err(err, errlen, "\"alg\" is missing or not a string");
        goto done;
    }

    alg = keryu_jwt_alg(text + algv->value);

    if (alg == KERYU_JWT_HS256) {
        if (pem != NULL) {
            keryu_jwt_err(err, errlen, "HS256 key with a \"pem\" field");
            goto done;
        }

        if (secretv == NULL || secretv->type != KERYU_JWT_T_STRING) {
            keryu_jwt_err(err, errlen,
                          "\"secret\" is missing or not a string");
            goto done;
        }

        n = keryu_jwt_b64_size(secretv->value_len);

        secret = malloc(n + 1);
        if (secret == NULL) {
            keryu_jwt_err(err, errlen, "out of memory");
            goto done;
        }

        if (keryu_jwt_b64_decode(text + secretv->value, secretv->value_len,
                                 secret)
            != 0)
        {
            keryu_jwt_err(err, errlen,
                          "\"secret\" is not base64url without padding");
            goto done;
        }

        rc = keryu_jwt_keys_add_secret(ks, text + kid->value, secret, n, err,
                                       errlen);
        goto done;
    }

    if (alg == KERYU_JWT_RS256 || alg == KERYU_JWT_ES256) {
        if (secretv != NULL) {
            keryu_jwt_err(err, errlen, "%s key with a \"secret\" field",
                          text + algv->value);
            goto done;
        }

        if (pem == NULL || pem->type != KERYU_JWT_T_STRING) {
            keryu_jwt_err(err, errlen, "\"pem\" is missing or not a string");
            goto done;
        }

        rc = keryu_jwt_keys_add_pem(ks, text + kid->value, text + algv->value,
                                    text + pem->value, pem->value_len, err,
                                    errlen);
        goto done;
    }

    keryu_jwt_err(err, errlen, "unsupported algorithm \"%s\"",
                  text + algv->value);

done:

    if (secret != NULL) {
        OPENSSL_cleanse(secret, n);
        free(secret);
    }

    OPENSSL_cleanse(obj->text, obj->size);
    keryu_jwt_obj_free(obj);

    return rc;
}


int
keryu_jwt_verify(const keryu_jwt_keys_t *ks, const keryu_jwt_opts_t *opts,
    const char *token, size_t len, int64_t now, keryu_jwt_t *jwt)
{
    int                     rc;
    size_t                  max, hlen, plen, slen, hsize, psize, ssize;
    uint8_t                *buf, *payload, *sig;
    const char             *dot1, *dot2;
    keryu_jwt_header_t      h;
    const keryu_jwt_key_t  *key;
    uint8_t                 stack[KERYU_JWT_STACK_BUF];

    memset(jwt, 0, sizeof(keryu_jwt_t));
    key = NULL;

    max = opts != NULL && opts->max_len != 0 ? opts->max_len
                                             : KERYU_JWT_MAX_LEN_DEFAULT;

    if (len > max) {
        return KERYU_JWT_ETOOLONG;
    }

    if (token == NULL) {
        return KERYU_JWT_EMALFORMED;
    }

    dot1 = memchr(token, '.', len);
    if (dot1 == NULL) {
        return KERYU_JWT_EMALFORMED;
    }

    dot2 = memchr(dot1 + 1, '.', len - (dot1 + 1 - token));
    if (dot2 == NULL) {
        return KERYU_JWT_EMALFORMED;
    }

    hlen = dot1 - token;
    plen = dot2 - (dot1 + 1);
    slen = len - (dot2 + 1 - token);

    if (hlen == 0 || plen == 0 || memchr(dot2 + 1, '.', slen) != NULL) {
        return KERYU_JWT_EMALFORMED;
    }

    hsize = keryu_jwt_b64_size(hlen);
    psize = keryu_jwt_b64_size(plen);
    ssize = keryu_jwt_b64_size(slen);

    if (hsize > KERYU_JWT_HEADER_MAX) {
        return KERYU_JWT_EMALFORMED;
    }

    if (hsize + psize + ssize <= sizeof(stack)) {
        buf = stack;

    } else {
        buf = malloc(hsize + psize + ssize);
        if (buf == NULL) {
            return KERYU_JWT_ENOMEM;
        }
    }

    payload = buf + hsize;
    sig = payload + psize;

    if (keryu_jwt_b64_decode(token, hlen, buf) != 0) {
        rc = KERYU_JWT_EMALFORMED;
        goto done;
    }

    rc = keryu_jwt_header(buf, hsize, &h);
    if (rc != KERYU_JWT_OK) {
        goto done;
    }

    /* an empty signature is refused once "alg" is known not to be none */

    if (slen == 0
        || keryu_jwt_b64_decode(dot1 + 1, plen, payload) != 0
        || keryu_jwt_b64_decode(dot2 + 1, slen, sig) != 0)
    {
        rc = KERYU_JWT_EMALFORMED;
        goto done;
    }

    rc = keryu_jwt_signature(ks, &h, token, dot2 - token, sig, ssize, &key);
    if (rc != KERYU_JWT_OK) {
        goto done;
    }

    rc = keryu_jwt_claims(opts, payload, psize, now, jwt);
    if (rc != KERYU_JWT_OK) {
        goto done;
    }

    memcpy(jwt->kid_data, key->kid, key->kid_len + 1);
    jwt->kid = jwt->kid_data;

done:

    if (buf != stack) {
        free(buf);
    }

    if (rc != KERYU_JWT_OK) {
        keryu_jwt_free(jwt);
    }

    return rc;
}


const char *
keryu_jwt_reason(int code)
{
    if (code < 0
        || (size_t) code >= sizeof(keryu_jwt_reasons) / sizeof(char *))
    {
        return "unknown";
    }

    return keryu_jwt_reasons[code];
}


void
keryu_jwt_free(keryu_jwt_t *jwt)
{
    if (jwt == NULL) {
        return;
    }

    if (jwt->roles != NULL && jwt->roles != jwt->role_data) {
        free(jwt->roles);
    }

    keryu_jwt_obj_free(jwt->claims);

    jwt->sub = NULL;
    jwt->sub_len = 0;
    jwt->roles = NULL;
    jwt->role_lens = NULL;
    jwt->nroles = 0;
    jwt->kid = NULL;
    jwt->claims = NULL;
}


int
keryu_jwt_claim_has(const keryu_jwt_t *jwt, const char *claim,
    size_t claim_len, const char *value, size_t value_len)
{
    size_t                  i;
    const keryu_jwt_obj_t  *obj;
    const keryu_jwt_val_t  *v;

    obj = jwt->claims;

    if (obj == NULL) {
        return 0;
    }

    v = keryu_jwt_obj_get(obj, claim, claim_len);

    if (v == NULL) {
        return 0;
    }

    if (v->type != KERYU_JWT_T_ARRAY) {
        return keryu_jwt_is(obj, v, value, value_len);
    }

    for (i = 1; i <= v->nelts; i++) {
        if (keryu_jwt_is(obj, &v[i], value, value_len)) {
            return 1;
        }
    }

    return 0;
}


size_t
keryu_jwt_base64url_size(size_t len)
{
    return keryu_jwt_b64_size(len);
}


int
keryu_jwt_base64url_decode(const char *src, size_t len, uint8_t *dst)
{
    return keryu_jwt_b64_decode(src, len, dst);
}


keryu_jwt_cache_t *
keryu_jwt_cache_create(size_t entries)
{
    size_t              i, n, left;
    ssize_t             got;
    uint8_t            *p;
    keryu_jwt_cache_t  *c;

    if (entries > KERYU_JWT_CACHE_MAX) {
        return NULL;
    }

    for (n = KERYU_JWT_CACHE_WAYS; n < entries; n *= 2) {
        /* void */
    }

    c = calloc(1, sizeof(keryu_jwt_cache_t));
    if (c == NULL) {
        return NULL;
    }

    c->slots = calloc(n, sizeof(keryu_jwt_entry_t *));
    c->entries = calloc(n + 1, sizeof(keryu_jwt_entry_t));
    c->recent = calloc(n / KERYU_JWT_CACHE_WAYS, 1);

    if (c->slots == NULL || c->entries == NULL || c->recent == NULL) {
        goto failed;
    }

    for (i = 0; i < n; i++) {
        c->slots[i] = &c->entries[i];
    }

    c->spare = &c->entries[n];
    c->nentries = n;
    c->mask = n / KERYU_JWT_CACHE_WAYS - 1;

    p = (uint8_t *) c->seed;
    left = sizeof(c->seed);

    while (left > 0) {
        got = getrandom(p, left, 0);

        if (got < 0) {
            if (errno == EINTR) {
                continue;
            }

            goto failed;
        }

        p += got;
        left -= got;
    }

    return c;

failed:

    keryu_jwt_cache_free(c);

    return NULL;
}


void
keryu_jwt_cache_free(keryu_jwt_cache_t *c)
{
    if (c == NULL) {
        return;
    }

    keryu_jwt_cache_clear(c);

    free(c->slots);
    free(c->entries);
    free(c->recent);
    free(c);
}


/* also frees the token copies, which the next use would overwrite anyway */

void
keryu_jwt_cache_clear(keryu_jwt_cache_t *c)
{
    size_t              i;
    keryu_jwt_entry_t  *e;

    if (c == NULL || c->entries == NULL) {
        return;
    }

    for (i = 0; i <= c->nentries; i++) {
        e = &c->entries[i];

        keryu_jwt_entry_drop(e);

        free(e->data);
        e->data = NULL;
        e->size = 0;
    }

    c->count = 0;
}


int
keryu_jwt_cache_verify(keryu_jwt_cache_t *c, const keryu_jwt_keys_t *ks,
    const keryu_jwt_opts_t *opts, const char *token, size_t len, int64_t now,
    const keryu_jwt_t **jwt)
{
    int                  rc;
    size_t               set, way;
    uint64_t             hash;
    keryu_jwt_want_t     w;
    keryu_jwt_entry_t   *e, **slot;

    *jwt = NULL;
    hash = 0;
    set = 0;
    slot = NULL;

    keryu_jwt_want(opts, &w);

    if (token != NULL && len <= KERYU_JWT_CACHE_TOKEN_MAX && len <= w.max_len)
    {
        hash = keryu_jwt_siphash(c->seed, (const uint8_t *) token, len);
        set = (size_t) hash & c->mask;
        slot = &c->slots[set * KERYU_JWT_CACHE_WAYS];

        for (way = 0; way < KERYU_JWT_CACHE_WAYS; way++) {
            e = slot[way];

            if (!e->used
                || !keryu_jwt_entry_match(e, ks, &w, token, len, hash))
            {
                continue;
            }

            c->hits++;

            rc = keryu_jwt_entry_times(e, now);

            if (rc != KERYU_JWT_OK) {
                keryu_jwt_entry_drop(e);
                c->count--;
                return rc;
            }

            c->recent[set] = (uint8_t) way;
            *jwt = &e->jwt;

            return KERYU_JWT_OK;
        }
    }

    /* the spare may still hold the last token answered without caching */

    c->misses++;
    e = c->spare;

    keryu_jwt_free(&e->jwt);

    rc = keryu_jwt_verify(ks, opts, token, len, now, &e->jwt);
    if (rc != KERYU_JWT_OK) {
        return rc;
    }

    if (slot != NULL
        && keryu_jwt_entry_fill(e, ks, &w, token, len, hash) == 0)
    {
        way = (c->recent[set] + 1) % KERYU_JWT_CACHE_WAYS;

        if (slot[0]->used && !slot[1]->used) {
            way = 1;

        } else if (!slot[0]->used) {
            way = 0;
        }

        c->spare = slot[way];

        if (c->spare->used) {
            keryu_jwt_entry_drop(c->spare);
            c->count--;
        }

        slot[way] = e;
        e->used = 1;
        c->count++;
        c->recent[set] = (uint8_t) way;
    }

    *jwt = &e->jwt;

    return KERYU_JWT_OK;
}


void
keryu_jwt_cache_stats(const keryu_jwt_cache_t *c, keryu_jwt_cache_stats_t *st)
{
    st->size = c->nentries;
    st->count = c->count;
    st->hits = c->hits;
    st->misses = c->misses;
}


static void
keryu_jwt_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list  args;

    if (err == NULL || errlen == 0) {
        return;
    }

    va_start(args, fmt);
    vsnprintf(err, errlen, fmt, args);
    va_end(args);
}


/* names the failed call with OpenSSL's first reason, and drains the queue */

static void
keryu_jwt_ssl_err(char *err, size_t errlen, const char *call)
{
    char           reason[256];
    unsigned long  e;

    e = ERR_get_error();

    if (e == 0) {
        keryu_jwt_err(err, errlen, "%s() failed", call);

    } else {
        ERR_error_string_n(e, reason, sizeof(reason));
        keryu_jwt_err(err, errlen, "%s() failed: %s", call, reason);
    }

    ERR_clear_error();
}


/* JWA names are case-sensitive, but "none" is refused in any case */

static int
keryu_jwt_alg(const char *name)
{
    size_t  i;

    if (strcmp(name, "HS256") == 0) {
        return KERYU_JWT_HS256;
    }

    if (strcmp(name, "RS256") == 0) {
        return KERYU_JWT_RS256;
    }

    if (strcmp(name, "ES256") == 0) {
        return KERYU_JWT_ES256;
    }

    for (i = 0; i < 4; i++) {
        if (name[i] == '\0' || (name[i] | 0x20) != "none"[i]) {
            return 0;
        }
    }

    return name[4] == '\0' ? KERYU_JWT_NONE : 0;
}


static keryu_jwt_key_t *
keryu_jwt_key_find(const keryu_jwt_keys_t *ks, const char *kid, size_t len)
{
    size_t  i;

    for (i = 0; i < ks->nkeys; i++) {
        if (ks->keys[i].kid_len == len
            && memcmp(ks->keys[i].kid, kid, len) == 0)
        {
            return &ks->keys[i];
        }
    }

    return NULL;
}


static int
keryu_jwt_kid_check(const keryu_jwt_keys_t *ks, const char *kid, char *err,
    size_t errlen)
{
    size_t  len;

    len = kid != NULL ? strlen(kid) : 0;

    if (len == 0 || len > KERYU_JWT_KID_MAX) {
        keryu_jwt_err(err, errlen, "key id of %zu bytes, not 1 to %d", len,
                      KERYU_JWT_KID_MAX);
        return KERYU_JWT_ERROR;
    }

    if (keryu_jwt_key_find(ks, kid, len) != NULL) {
        keryu_jwt_err(err, errlen, "duplicate key id \"%s\"", kid);
        return KERYU_JWT_ERROR;
    }

    return 0;
}


/* takes the key's contexts into the set, or leaves them to the caller */

static int
keryu_jwt_key_push(keryu_jwt_keys_t *ks, const char *kid,
    keryu_jwt_key_t *key, char *err, size_t errlen)
{
    size_t            n;
    keryu_jwt_key_t  *keys;

    if (ks->nkeys == ks->nalloc) {
        n = ks->nalloc ? 2 * ks->nalloc : 4;

        keys = realloc(ks->keys, n * sizeof(keryu_jwt_key_t));
        if (keys == NULL) {
            keryu_jwt_err(err, errlen, "out of memory");
            return KERYU_JWT_ERROR;
        }

        ks->keys = keys;
        ks->nalloc = n;
    }

    key->kid_len = strlen(kid);

    key->kid = malloc(key->kid_len + 1);
    if (key->kid == NULL) {
        keryu_jwt_err(err, errlen, "out of memory");
        return KERYU_JWT_ERROR;
    }

    memcpy(key->kid, kid, key->kid_len + 1);
    ks->keys[ks->nkeys++] = *key;
    ks->gen = keryu_jwt_generation();

    return 0;
}


static int
keryu_jwt_no_password(char *buf, int size, int rwflag, void *u)
{
    (void) buf;
    (void) size;
    (void) rwflag;
    (void) u;

    return -1;
}


/* the decoded size of len base64url digits; len % 4 == 1 is refused later */

static size_t
keryu_jwt_b64_size(size_t len)
{
    return len / 4 * 3 + (len % 4 ? len % 4 - 1 : 0);
}


/*
 * Strict base64url: the URL-safe alphabet only, no padding, and the
 * unused low bits of the last digit zero, so that each byte string has
 * exactly one encoding.  Writes keryu_jwt_b64_size(len) bytes.
 */

static int
keryu_jwt_b64_decode(const char *src, size_t len, uint8_t *dst)
{
    int             c0, c1, c2, c3;
    size_t          i, rest;
    const uint8_t  *s;

    s = (const uint8_t *) src;
    rest = len % 4;

    if (rest == 1) {
        return -1;
    }

    for (i = 0; i + 4 <= len; i += 4) {
        c0 = keryu_jwt_b64[s[i]];
        c1 = keryu_jwt_b64[s[i + 1]];
        c2 = keryu_jwt_b64[s[i + 2]];
        c3 = keryu_jwt_b64[s[i + 3]];

        if ((c0 | c1 | c2 | c3) < 0) {
            return -1;
        }

        *dst++ = (uint8_t) (c0 << 2 | c1 >> 4);
        *dst++ = (uint8_t) (c1 << 4 | c2 >> 2);
        *dst++ = (uint8_t) (c2 << 6 | c3);
    }

    if (rest == 0) {
        return 0;
    }

    c0 = keryu_jwt_b64[s[i]];
    c1 = keryu_jwt_b64[s[i + 1]];
    c2 = rest == 3 ? keryu_jwt_b64[s[i + 2]] : 0;

    if ((c0 | c1 | c2) < 0) {
        return -1;
    }

    *dst++ = (uint8_t) (c0 << 2 | c1 >> 4);

    if (rest == 2) {
        return (c1 & 0x0f) ? -1 : 0;
    }

    *dst = (uint8_t) (c1 << 4 | c2 >> 2);

    return (c2 & 0x03) ? -1 : 0;
}


/* ---- flat JSON objects over yajl's event parser ---- */


/* one block: the object, room for a first run of values, and the text */

static keryu_jwt_obj_t *
keryu_jwt_obj_new(size_t len)
{
    size_t            nvals;
    keryu_jwt_obj_t  *obj;

    nvals = 16 + len / 16;

    obj = malloc(sizeof(keryu_jwt_obj_t) + nvals * sizeof(keryu_jwt_val_t)
                 + len + 1);
    if (obj == NULL) {
        return NULL;
    }

    keryu_jwt_obj_init(obj, (keryu_jwt_val_t *) (obj + 1), nvals,
                       (char *) ((keryu_jwt_val_t *) (obj + 1) + nvals),
                       len + 1);
    obj->grow = 1;

    return obj;
}


/*
 * Storage for an object read from len bytes of JSON: size >= len + 1
 * always holds its text, since each name or text kept is shorter than its
 * JSON form by at least the byte that follows it.
 */

static void
keryu_jwt_obj_init(keryu_jwt_obj_t *obj, keryu_jwt_val_t *vals, size_t nvals,
    char *text, size_t size)
{
    obj->vals = vals;
    obj->nvals = 0;
    obj->nalloc = nvals;
    obj->grow = 0;
    obj->own_vals = 0;
    obj->text = text;
    obj->len = 0;
    obj->size = size;
}


static void
keryu_jwt_obj_free(keryu_jwt_obj_t *obj)
{
    if (obj == NULL) {
        return;
    }

    if (obj->own_vals) {
        free(obj->vals);
    }

    free(obj);
}


/*
 * Reads one JSON object of len bytes (no NUL needed).  Refused, besides
 * what yajl refuses (bad syntax or UTF-8, comments, trailing bytes): a
 * document that is not an object, a top-level name seen twice, any
 * \u0000 (names and texts are used as C strings), and nesting deeper than
 * KERYU_JWT_DEPTH_MAX.  yajl_tree would keep a duplicate and find the
 * first, while other parsers take the last: a token naming "sub" twice
 * could mean two users.  Returns 0, or a reason code with obj->why set.
 */

static int
keryu_jwt_obj_parse(keryu_jwt_obj_t *obj, const uint8_t *json, size_t len)
{
    yajl_handle        h;
    yajl_status        st;
    yajl_alloc_funcs   af;
    keryu_jwt_arena_t  arena;
    uint64_t           mem[KERYU_JWT_ARENA / sizeof(uint64_t)];

    obj->depth = 0;
    obj->array = KERYU_JWT_NO_ARRAY;
    obj->error = KERYU_JWT_EMALFORMED;
    obj->why = "invalid JSON";

    arena.base = (uint8_t *) mem;
    arena.size = sizeof(mem);
    arena.used = 0;

    af.malloc = keryu_jwt_arena_alloc;
    af.realloc = keryu_jwt_arena_realloc;
    af.free = keryu_jwt_arena_free;
    af.ctx = &arena;

    h = yajl_alloc(&keryu_jwt_callbacks, &af, obj);
    if (h == NULL) {
        obj->why = "out of memory";
        return KERYU_JWT_ENOMEM;
    }

    st = yajl_parse(h, json, len);

    if (st == yajl_status_ok) {
        st = yajl_complete_parse(h);
    }

    yajl_free(h);

    return st == yajl_status_ok ? KERYU_JWT_OK : obj->error;
}


/* the top-level member named by len bytes of name, or NULL */

static const keryu_jwt_val_t *
keryu_jwt_obj_get(const keryu_jwt_obj_t *obj, const char *name, size_t len)
{
    size_t                  i;
    const keryu_jwt_val_t  *v;

    for (i = 0; i < obj->nvals; i += 1 + v->nelts) {
        v = &obj->vals[i];

        if (v->name_len == len && memcmp(obj->text + v->name, name, len) == 0)
        {
            return v;
        }
    }

    return NULL;
}


static int
keryu_jwt_obj_stop(keryu_jwt_obj_t *obj, const char *why)
{
    obj->why = why;

    return 0;
}


/* keeps a value: a member under the pending name, or an array element */

static int
keryu_jwt_obj_add(keryu_jwt_obj_t *obj, int type, const char *s, size_t len)
{
    size_t            n;
    keryu_jwt_val_t  *v, *vals;

    if (obj->nvals == obj->nalloc) {
        if (!obj->grow) {
            return keryu_jwt_obj_stop(obj, "too many values");
        }

        n = 2 * obj->nalloc;

        vals = malloc(n * sizeof(keryu_jwt_val_t));
        if (vals == NULL) {
            obj->error = KERYU_JWT_ENOMEM;
            return keryu_jwt_obj_stop(obj, "out of memory");
        }

        memcpy(vals, obj->vals, obj->nvals * sizeof(keryu_jwt_val_t));

        if (obj->own_vals) {
            free(obj->vals);
        }

        obj->vals = vals;
        obj->nalloc = n;
        obj->own_vals = 1;
    }

    v = &obj->vals[obj->nvals];

    v->type = type;
    v->nelts = 0;
    v->value = 0;
    v->value_len = len;

    if (obj->depth == 1) {
        v->name = obj->name;
        v->name_len = obj->name_len;

    } else {
        v->name = 0;
        v->name_len = 0;
        obj->vals[obj->array].nelts++;
    }

    if (s != NULL && keryu_jwt_obj_copy(obj, s, len, &v->value) != 0) {
        return 0;
    }

    obj->nvals++;

    return 1;
}


static int
keryu_jwt_obj_copy(keryu_jwt_obj_t *obj, const char *s, size_t len,
    size_t *off)
{
    if (memchr(s, '\0', len) != NULL) {
        keryu_jwt_obj_stop(obj, "\\u0000 in a string");
        return -1;
    }

    if (len >= obj->size - obj->len) {
        keryu_jwt_obj_stop(obj, "out of room");
        return -1;
    }

    memcpy(obj->text + obj->len, s, len);
    obj->text[obj->len + len] = '\0';

    *off = obj->len;
    obj->len += len + 1;

    return 0;
}


static int
keryu_jwt_on_null(void *ctx)
{
    return keryu_jwt_scalar(ctx, KERYU_JWT_T_NULL, NULL, 0);
}


static int
keryu_jwt_on_boolean(void *ctx, int value)
{
    return keryu_jwt_scalar(ctx, value ? KERYU_JWT_T_TRUE : KERYU_JWT_T_FALSE,
                            NULL, 0);
}


static int
keryu_jwt_on_number(void *ctx, const char *s, size_t len)
{
    return keryu_jwt_scalar(ctx, KERYU_JWT_T_NUMBER, s, len);
}


static int
keryu_jwt_on_string(void *ctx, const unsigned char *s, size_t len)
{
    return keryu_jwt_scalar(ctx, KERYU_JWT_T_STRING, (const char *) s, len);
}


static int
keryu_jwt_on_key(void *ctx, const unsigned char *s, size_t len)
{
    keryu_jwt_obj_t  *obj = ctx;

    if (memchr(s, '\0', len) != NULL) {
        return keryu_jwt_obj_stop(obj, "\\u0000 in a string");
    }

    if (obj->depth != 1) {
        return 1;
    }

    if (keryu_jwt_obj_get(obj, (const char *) s, len) != NULL) {
        return keryu_jwt_obj_stop(obj, "duplicate name");
    }

    obj->name_len = len;

    return keryu_jwt_obj_copy(obj, (const char *) s, len, &obj->name) == 0;
}


static int
keryu_jwt_on_start_map(void *ctx)
{
    return keryu_jwt_open(ctx, KERYU_JWT_T_OBJECT);
}


static int
keryu_jwt_on_start_array(void *ctx)
{
    return keryu_jwt_open(ctx, KERYU_JWT_T_ARRAY);
}


static int
keryu_jwt_on_end(void *ctx)
{
    keryu_jwt_obj_t  *obj = ctx;

    if (obj->depth == 2) {
        obj->array = KERYU_JWT_NO_ARRAY;
    }

    obj->depth--;

    return 1;
}


static int
keryu_jwt_open(keryu_jwt_obj_t *obj, int type)
{
    if (obj->depth == 0) {
        if (type != KERYU_JWT_T_OBJECT) {
            return keryu_jwt_obj_stop(obj, "not an object");
        }

        obj->depth = 1;

        return 1;
    }

    if (obj->depth >= KERYU_JWT_DEPTH_MAX) {
        return keryu_jwt_obj_stop(obj, "nested too deep");
    }

    if (obj->depth == 1) {
        if (type == KERYU_JWT_T_ARRAY) {
            obj->array = obj->nvals;
        }

        if (!keryu_jwt_obj_add(obj, type, NULL, 0)) {
            return 0;
        }
    }

    obj->depth++;

    return 1;
}


static int
keryu_jwt_scalar(keryu_jwt_obj_t *obj, int type, const char *s, size_t len)
{
    if (obj->depth == 0) {
        return keryu_jwt_obj_stop(obj, "not an object");
    }

    if (obj->depth == 1
        || (obj->depth == 2 && obj->array != KERYU_JWT_NO_ARRAY))
    {
        return keryu_jwt_obj_add(obj, type, s, len);
    }

    /* not kept, but refused all the same */

    if (type == KERYU_JWT_T_STRING && memchr(s, '\0', len) != NULL) {
        return keryu_jwt_obj_stop(obj, "\\u0000 in a string");
    }

    return 1;
}


/*
 * yajl's allocations for one parse: its handle, lexer, state stack, and
 * a 2 KiB buffer once a string holds an escape.  They come from the
 * stack; what does not fit goes to malloc().  Each block starts after a
 * header holding its size, so that realloc() can copy it.
 */

static void *
keryu_jwt_arena_alloc(void *ctx, size_t size)
{
    size_t              need;
    uint8_t            *p;
    keryu_jwt_arena_t  *a = ctx;

    if (size > a->size) {
        return malloc(size);
    }

    need = KERYU_JWT_ARENA_HDR + keryu_jwt_align(size, KERYU_JWT_ARENA_HDR);

    if (need > a->size - a->used) {
        return malloc(size);
    }

    p = a->base + a->used;
    a->used += need;

    memcpy(p, &size, sizeof(size_t));

    return p + KERYU_JWT_ARENA_HDR;
}


static void *
keryu_jwt_arena_realloc(void *ctx, void *p, size_t size)
{
    size_t              old;
    void               *n;
    keryu_jwt_arena_t  *a = ctx;

    if (p == NULL) {
        return keryu_jwt_arena_alloc(ctx, size);
    }

    if (!keryu_jwt_arena_has(a, p)) {
        return realloc(p, size);
    }

    memcpy(&old, (uint8_t *) p - KERYU_JWT_ARENA_HDR, sizeof(size_t));

    if (size <= old) {
        return p;
    }

    n = keryu_jwt_arena_alloc(ctx, size);

    if (n != NULL) {
        memcpy(n, p, old);
    }

    return n;
}


static void
keryu_jwt_arena_free(void *ctx, void *p)
{
    if (p != NULL && !keryu_jwt_arena_has(ctx, p)) {
        free(p);
    }
}


static int
keryu_jwt_arena_has(keryu_jwt_arena_t *a, void *p)
{
    return (uintptr_t) p >= (uintptr_t) a->base
           && (uintptr_t) p < (uintptr_t) a->base + a->size;
}


static int
keryu_jwt_header(const uint8_t *json, size_t len, keryu_jwt_header_t *h)
{
    const char             *text;
    keryu_jwt_obj_t         obj;
    const keryu_jwt_val_t  *v;
    keryu_jwt_val_t         vals[KERYU_JWT_HEADER_VALS];
    char                    buf[KERYU_JWT_HEADER_MAX + 1];

    keryu_jwt_obj_init(&obj, vals, KERYU_JWT_HEADER_VALS, buf, sizeof(buf));

    if (keryu_jwt_obj_parse(&obj, json, len) != KERYU_JWT_OK) {
        return KERYU_JWT_EMALFORMED;
    }

    text = obj.text;

    v = keryu_jwt_obj_get(&obj, "alg", 3);
    if (v == NULL || v->type != KERYU_JWT_T_STRING) {
        return KERYU_JWT_EMALFORMED;
    }

    h->alg = keryu_jwt_alg(text + v->value);

    if (h->alg == KERYU_JWT_NONE) {
        return KERYU_JWT_EALGNONE;
    }

    if (h->alg == 0) {
        return KERYU_JWT_EALG;
    }

    if (keryu_jwt_obj_get(&obj, "crit", 4) != NULL) {
        return KERYU_JWT_ECRIT;
    }

    v = keryu_jwt_obj_get(&obj, "typ", 3);
    if (v != NULL && v->type != KERYU_JWT_T_STRING) {
        return KERYU_JWT_EMALFORMED;
    }

    v = keryu_jwt_obj_get(&obj, "kid", 3);
    h->has_kid = v != NULL;

    if (v == NULL) {
        return KERYU_JWT_OK;
    }

    if (v->type != KERYU_JWT_T_STRING) {
        return KERYU_JWT_EMALFORMED;
    }

    /* no key can have such an id */
    if (v->value_len == 0 || v->value_len > KERYU_JWT_KID_MAX) {
        return KERYU_JWT_EKEY;
    }

    h->kid_len = v->value_len;
    memcpy(h->kid, text + v->value, v->value_len + 1);

    return KERYU_JWT_OK;
}


/*
 * A "kid" picks one key, and its algorithm must be the header's: an RSA
 * public key is never tried as an HMAC secret.  Without a "kid", each key
 * of the header's algorithm is tried.
 */

static int
keryu_jwt_signature(const keryu_jwt_keys_t *ks, const keryu_jwt_header_t *h,
    const char *in, size_t len, const uint8_t *sig, size_t siglen,
    const keryu_jwt_key_t **found)
{
    int                     rc, tried;
    size_t                  i;
    const keryu_jwt_key_t  *key;

    if (h->has_kid) {
        key = keryu_jwt_key_find(ks, h->kid, h->kid_len);

        if (key == NULL) {
            return KERYU_JWT_EKEY;
        }

        if (key->alg != h->alg) {
            return KERYU_JWT_EMISMATCH;
        }

        rc = keryu_jwt_key_verify(ks, key, in, len, sig, siglen);

        if (rc < 0) {
            return KERYU_JWT_EINTERNAL;
        }

        *found = key;

        return rc ? KERYU_JWT_OK : KERYU_JWT_ESIGNATURE;
    }

    tried = 0;

    for (i = 0; i < ks->nkeys; i++) {
        key = &ks->keys[i];

        if (key->alg != h->alg) {
            continue;
        }

        tried = 1;

        rc = keryu_jwt_key_verify(ks, key, in, len, sig, siglen);

        if (rc < 0) {
            return KERYU_JWT_EINTERNAL;
        }

        if (rc) {
            *found = key;
            return KERYU_JWT_OK;
        }
    }

    return tried ? KERYU_JWT_ESIGNATURE : KERYU_JWT_EKEY;
}


/* returns 1 for a good signature, 0 for a bad one, -1 if OpenSSL failed */

static int
keryu_jwt_key_verify(const keryu_jwt_keys_t *ks, const keryu_jwt_key_t *key,
    const char *in, size_t len, const uint8_t *sig, size_t siglen)
{
    int           rc;
    size_t        n;
    unsigned int  mdlen;
    uint8_t       md[EVP_MAX_MD_SIZE], der[KERYU_JWT_ES256_DER];

    if (siglen != key->sig_len) {
        return 0;
    }

    if (key->alg == KERYU_JWT_HS256) {
        if (EVP_MAC_init(key->mac, NULL, 0, NULL) != 1
            || EVP_MAC_update(key->mac, (const uint8_t *) in, len) != 1
            || EVP_MAC_final(key->mac, md, &n, sizeof(md)) != 1
            || n != KERYU_JWT_HS256_LEN)
        {
            ERR_clear_error();
            return -1;
        }

        return CRYPTO_memcmp(md, sig, KERYU_JWT_HS256_LEN) == 0;
    }

    if (EVP_DigestInit_ex2(ks->md_ctx, ks->sha256, NULL) != 1
        || EVP_DigestUpdate(ks->md_ctx, in, len) != 1
        || EVP_DigestFinal_ex(ks->md_ctx, md, &mdlen) != 1)
    {
        ERR_clear_error();
        return -1;
    }

    if (key->alg == KERYU_JWT_ES256) {
        n = 2;
        n += keryu_jwt_der_integer(der + n, sig, KERYU_JWT_ES256_LEN / 2);
        n += keryu_jwt_der_integer(der + n, sig + KERYU_JWT_ES256_LEN / 2,
                                   KERYU_JWT_ES256_LEN / 2);
        der[0] = 0x30;
        der[1] = (uint8_t) (n - 2);

        sig = der;
        siglen = n;
    }

    /*
     * a signature out of range is an error, not 0: both mean refused; and
     * OpenSSL may queue an error even when it verifies
     */

    rc = EVP_PKEY_verify(key->pctx, sig, siglen, md, mdlen);

    ERR_clear_error();

    return rc == 1;
}


/* JOSE r || s to DER: a minimal INTEGER, a zero byte first if the top is set */

static size_t
keryu_jwt_der_integer(uint8_t *p, const uint8_t *v, size_t n)
{
    size_t  pad;

    while (n > 1 && v[0] == 0) {
        v++;
        n--;
    }

    pad = (v[0] & 0x80) ? 1 : 0;

    p[0] = 0x02;
    p[1] = (uint8_t) (n + pad);
    p[2] = 0;
    memcpy(p + 2 + pad, v, n);

    return 2 + pad + n;
}


static int
keryu_jwt_claims(const keryu_jwt_opts_t *opts, const uint8_t *json,
    size_t len, int64_t now, keryu_jwt_t *jwt)
{
    int                     rc;
    int64_t                 leeway;
    const char             *name;
    keryu_jwt_obj_t        *obj;
    const keryu_jwt_val_t  *v;

    obj = keryu_jwt_obj_new(len);
    if (obj == NULL) {
        return KERYU_JWT_ENOMEM;
    }

    jwt->claims = obj;

    rc = keryu_jwt_obj_parse(obj, json, len);
    if (rc != KERYU_JWT_OK) {
        return rc;
    }

    leeway = opts != NULL ? opts->leeway : 0;
    leeway = leeway < 0 ? 0 : keryu_jwt_clamp(leeway, KERYU_JWT_LEEWAY_MAX);
    now = keryu_jwt_clamp(now, KERYU_JWT_TIME_MAX);

    v = keryu_jwt_obj_get(obj, "exp", 3);

    if (v != NULL) {
        if (v->type != KERYU_JWT_T_NUMBER) {
            return KERYU_JWT_EMALFORMED;
        }

        if (now >= keryu_jwt_seconds(obj->text + v->value, v->value_len, 0)
                   + leeway)
        {
            return KERYU_JWT_EEXPIRED;
        }
    }

    v = keryu_jwt_obj_get(obj, "nbf", 3);

    if (v != NULL) {
        if (v->type != KERYU_JWT_T_NUMBER) {
            return KERYU_JWT_EMALFORMED;
        }

        if (now + leeway
            < keryu_jwt_seconds(obj->text + v->value, v->value_len, 1))
        {
            return KERYU_JWT_ENOTYET;
        }
    }

    if (opts != NULL && opts->issuer != NULL) {
        v = keryu_jwt_obj_get(obj, "iss", 3);

        if (v == NULL || v->type != KERYU_JWT_T_STRING
            || strcmp(obj->text + v->value, opts->issuer) != 0)
        {
            return KERYU_JWT_EISSUER;
        }
    }

    if (opts != NULL && opts->audience != NULL) {
        v = keryu_jwt_obj_get(obj, "aud", 3);

        if (v == NULL || !keryu_jwt_audience(obj, v, opts->audience)) {
            return KERYU_JWT_EAUDIENCE;
        }
    }

    v = keryu_jwt_obj_get(obj, "sub", 3);

    if (v == NULL || v->type != KERYU_JWT_T_STRING || v->value_len == 0) {
        return KERYU_JWT_ESUBJECT;
    }

    jwt->sub = obj->text + v->value;
    jwt->sub_len = v->value_len;

    if (opts != NULL && opts->roles_claim != NULL) {
        name = opts->roles_claim;
        v = keryu_jwt_obj_get(obj, name, strlen(name));

        if (v != NULL) {
            return keryu_jwt_roles(jwt, obj, v);
        }
    }

    return KERYU_JWT_OK;
}


/*
 * A NumericDate in whole seconds, clamped, a fraction rounded down for
 * "exp" and up for "nbf": towards refusal either way.  s is a JSON number
 * as yajl checked it, NUL-terminated; strtod() reads it in the C locale,
 * which neither nginx nor keryud changes.
 */

static int64_t
keryu_jwt_seconds(const char *s, size_t len, int up)
{
    double   d;
    size_t   i;
    int64_t  n;

    if (strcspn(s, ".eE") == len) {
        n = 0;

        for (i = (s[0] == '-'); i < len; i++) {
            if (n >= KERYU_JWT_TIME_MAX / 10) {
                n = KERYU_JWT_TIME_MAX;
                break;
            }

            n = n * 10 + (s[i] - '0');
        }

        return s[0] == '-' ? -n : n;
    }

    d = strtod(s, NULL);

    if (d >= (double) KERYU_JWT_TIME_MAX) {
        return KERYU_JWT_TIME_MAX;
    }

    if (d <= (double) -KERYU_JWT_TIME_MAX) {
        return -KERYU_JWT_TIME_MAX;
    }

    n = (int64_t) d;

    if (up && (double) n < d) {
        n++;

    } else if (!up && (double) n > d) {
        n--;
    }

    return n;
}


static int64_t
keryu_jwt_clamp(int64_t v, int64_t max)
{
    return v > max ? max : (v < -max ? -max : v);
}


/* a string, or an array that holds it */

static int
keryu_jwt_audience(const keryu_jwt_obj_t *obj, const keryu_jwt_val_t *v,
    const char *audience)
{
    size_t  i, n;

    n = 1;

    if (v->type == KERYU_JWT_T_ARRAY) {
        n = v->nelts;
        v++;
    }

    for (i = 0; i < n; i++) {
        if (v[i].type == KERYU_JWT_T_STRING
            && strcmp(obj->text + v[i].value, audience) == 0)
        {
            return 1;
        }
    }

    return 0;
}


/* a string or a number as written, true, or false, equal to value */

static int
keryu_jwt_is(const keryu_jwt_obj_t *obj, const keryu_jwt_val_t *v,
    const char *value, size_t len)
{
    switch (v->type) {

    case KERYU_JWT_T_STRING:
    case KERYU_JWT_T_NUMBER:
        return v->value_len == len
               && memcmp(obj->text + v->value, value, len) == 0;

    case KERYU_JWT_T_TRUE:
        return len == 4 && memcmp(value, "true", 4) == 0;

    case KERYU_JWT_T_FALSE:
        return len == 5 && memcmp(value, "false", 5) == 0;

    default:
        return 0;
    }
}


/*
 * Two passes over the claim, one to count and one to fill, so that the
 * common case of a few roles needs no allocation.
 */

static int
keryu_jwt_roles(keryu_jwt_t *jwt, const keryu_jwt_obj_t *obj,
    const keryu_jwt_val_t *v)
{
    int          pass;
    size_t       i, n;
    const char  *p, *e;

    if (v->type != KERYU_JWT_T_STRING && v->type != KERYU_JWT_T_ARRAY) {
        return KERYU_JWT_OK;
    }

    n = 0;

    for (pass = 0; pass < 2; pass++) {

        if (pass == 1) {
            if (n == 0) {
                return KERYU_JWT_OK;
            }

            if (n <= KERYU_JWT_ROLES_INLINE) {
                jwt->roles = jwt->role_data;
                jwt->role_lens = jwt->role_len_data;

            } else {
                jwt->roles = malloc(n * (sizeof(char *) + sizeof(size_t)));
                if (jwt->roles == NULL) {
                    return KERYU_JWT_ENOMEM;
                }

                jwt->role_lens = (size_t *) (jwt->roles + n);
            }

            n = 0;
        }

        if (v->type == KERYU_JWT_T_ARRAY) {
            for (i = 1; i <= v->nelts; i++) {
                if (v[i].type != KERYU_JWT_T_STRING || v[i].value_len == 0) {
                    continue;
                }

                if (pass == 1) {
                    jwt->roles[n] = obj->text + v[i].value;
                    jwt->role_lens[n] = v[i].value_len;
                }

                n++;
            }

            continue;
        }

        p = obj->text + v->value;

        for ( ;; ) {
            while (*p == ' ') {
                p++;
            }

            if (*p == '\0') {
                break;
            }

            for (e = p; *e != '\0' && *e != ' '; e++) {
                /* void */
            }

            if (pass == 1) {
                jwt->roles[n] = p;
                jwt->role_lens[n] = e - p;
            }

            n++;
            p = e;
        }
    }

    jwt->nroles = n;

    return KERYU_JWT_OK;
}


/*
 * Generations come from one counter for the process, so that a set made
 * at the address of a freed one cannot take up the freed one's entries.
 * keryud may build sets on more than one thread.
 */

static uint64_t
keryu_jwt_generation(void)
{
    return __atomic_add_fetch(&keryu_jwt_generations, 1, __ATOMIC_RELAXED);
}


static void
keryu_jwt_want(const keryu_jwt_opts_t *opts, keryu_jwt_want_t *w)
{
    if (opts == NULL) {
        memset(w, 0, sizeof(keryu_jwt_want_t));
        w->max_len = KERYU_JWT_MAX_LEN_DEFAULT;
        return;
    }

    w->issuer = opts->issuer;
    w->audience = opts->audience;
    w->roles_claim = opts->roles_claim;
    w->leeway = opts->leeway < 0
                ? 0 : keryu_jwt_clamp(opts->leeway, KERYU_JWT_LEEWAY_MAX);
    w->max_len = opts->max_len != 0 ? opts->max_len
                                    : KERYU_JWT_MAX_LEN_DEFAULT;
}


/*
 * The 64-bit keyed hash is compared before the token's bytes, so a
 * client cannot time memcmp() against a cached token it does not hold.
 */

static int
keryu_jwt_entry_match(const keryu_jwt_entry_t *e, const keryu_jwt_keys_t *ks,
    const keryu_jwt_want_t *w, const char *token, size_t len, uint64_t hash)
{
    return e->hash == hash
           && e->len == len
           && e->ks == ks
           && e->gen == ks->gen
           && e->leeway == w->leeway
           && e->max_len == w->max_len
           && memcmp(e->data, token, len) == 0
           && keryu_jwt_str_eq(e->issuer, w->issuer)
           && keryu_jwt_str_eq(e->audience, w->audience)
           && keryu_jwt_str_eq(e->roles_claim, w->roles_claim);
}


/* the exp and nbf checks of keryu_jwt_claims(), on the values kept */

static int
keryu_jwt_entry_times(const keryu_jwt_entry_t *e, int64_t now)
{
    now = keryu_jwt_clamp(now, KERYU_JWT_TIME_MAX);

    if (e->has_exp && now >= e->exp + e->leeway) {
        return KERYU_JWT_EEXPIRED;
    }

    if (e->has_nbf && now + e->leeway < e->nbf) {
        return KERYU_JWT_ENOTYET;
    }

    return KERYU_JWT_OK;
}


/*
 * Records what the spare's freshly verified token was verified under.
 * Returns 0, or -1 with no memory for the copy of the token.
 */

static int
keryu_jwt_entry_fill(keryu_jwt_entry_t *e, const keryu_jwt_keys_t *ks,
    const keryu_jwt_want_t *w, const char *token, size_t len, uint64_t hash)
{
    char                   *p;
    size_t                  i, need, n[3];
    const char             *src[3], **dst[3];
    const keryu_jwt_obj_t  *obj;
    const keryu_jwt_val_t  *v;

    src[0] = w->issuer;
    src[1] = w->audience;
    src[2] = w->roles_claim;
    dst[0] = &e->issuer;
    dst[1] = &e->audience;
    dst[2] = &e->roles_claim;

    need = len;

    for (i = 0; i < 3; i++) {
        n[i] = src[i] != NULL ? strlen(src[i]) + 1 : 0;
        need += n[i];
    }

    if (need > e->size) {
        need = keryu_jwt_align(need, KERYU_JWT_CACHE_CHUNK);

        p = malloc(need);
        if (p == NULL) {
            return -1;
        }

        free(e->data);
        e->data = p;
        e->size = need;
    }

    memcpy(e->data, token, len);
    p = e->data + len;

    for (i = 0; i < 3; i++) {
        *dst[i] = NULL;

        if (src[i] != NULL) {
            memcpy(p, src[i], n[i]);
            *dst[i] = p;
            p += n[i];
        }
    }

    /* verification passed, so each is a number when present */

    obj = e->jwt.claims;

    v = keryu_jwt_obj_get(obj, "exp", 3);
    e->has_exp = v != NULL;
    e->exp = v != NULL ? keryu_jwt_seconds(obj->text + v->value,
                                           v->value_len, 0)
                       : 0;

    v = keryu_jwt_obj_get(obj, "nbf", 3);
    e->has_nbf = v != NULL;
    e->nbf = v != NULL ? keryu_jwt_seconds(obj->text + v->value,
                                           v->value_len, 1)
                       : 0;

    e->hash = hash;
    e->ks = ks;
    e->gen = ks->gen;
    e->leeway = w->leeway;
    e->max_len = w->max_len;
    e->len = len;

    return 0;
}


static void
keryu_jwt_entry_drop(keryu_jwt_entry_t *e)
{
    keryu_jwt_free(&e->jwt);
    e->used = 0;
}


static int
keryu_jwt_str_eq(const char *a, const char *b)
{
    if (a == NULL || b == NULL) {
        return a == b;
    }

    return strcmp(a, b) == 0;
}


/*
 * SipHash-1-3 of len bytes under a 128-bit key.  Words are read in host
 * order: the hash never leaves the process.
 */

static uint64_t
keryu_jwt_siphash(const uint64_t *key, const uint8_t *p, size_t len)
{
    size_t    i, n;
    uint64_t  m, v[4];

    v[0] = key[0] ^ 0x736f6d6570736575ULL;
    v[1] = key[1] ^ 0x646f72616e646f6dULL;
    v[2] = key[0] ^ 0x6c7967656e657261ULL;
    v[3] = key[1] ^ 0x7465646279746573ULL;

    for (i = 0; i + 8 <= len; i += 8) {
        memcpy(&m, p + i, 8);

        v[3] ^= m;
        keryu_jwt_sipround(v);
        v[0] ^= m;
    }

    m = (uint64_t) len << 56;

    for (n = 0; i + n < len; n++) {
        m |= (uint64_t) p[i + n] << (8 * n);
    }

    v[3] ^= m;
    keryu_jwt_sipround(v);
    v[0] ^= m;

    v[2] ^= 0xff;
    keryu_jwt_sipround(v);
    keryu_jwt_sipround(v);
    keryu_jwt_sipround(v);

    return v[0] ^ v[1] ^ v[2] ^ v[3];
}


static inline void
keryu_jwt_sipround(uint64_t *v)
{
    v[0] += v[1];
    v[1] = keryu_jwt_rotl(v[1], 13);
    v[1] ^= v[0];
    v[0] = keryu_jwt_rotl(v[0], 32);
    v[2] += v[3];
    v[3] = keryu_jwt_rotl(v[3], 16);
    v[3] ^= v[2];
    v[0] += v[3];
    v[3] = keryu_jwt_rotl(v[3], 21);
    v[3] ^= v[0];
    v[2] += v[1];
    v[1] = keryu_jwt_rotl(v[1], 17);
    v[1] ^= v[2];
    v[2] = keryu_jwt_rotl(v[2], 32);
}
