
/*
 * Copyright (C) Keryu Security
 *
 * JWT verification (keryu_jwt.h).  Every OpenSSL object a verification
 * needs is made when a key is added: a keyed HMAC context per HS256 key,
 * a verify-initialised EVP_PKEY_CTX per RS256 or ES256 key, and one
 * SHA-256 digest context per set, so a verification fetches nothing.  The
 * token is decoded into a stack buffer when it fits.  The header is parsed
 * before the signature is checked, so it is capped at KERYU_JWT_HEADER_MAX
 * bytes; the claims are parsed only once the signature holds.  Any OpenSSL
 * error is drained before returning, since nginx treats a stale error
 * queue as an alert.
 */


#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <yajl/yajl_tree.h>

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
};


/* what the header says */
typedef struct {
    int                 alg;
    int                 has_kid;
    size_t              kid_len;
    char                kid[KERYU_JWT_KID_MAX + 1];
} keryu_jwt_header_t;


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
static int keryu_jwt_json_scan(const uint8_t *p, size_t len);
static yajl_val keryu_jwt_json_parse(uint8_t *text, size_t len);
static yajl_val keryu_jwt_json_get(yajl_val obj, const char *name,
    size_t len);
static int keryu_jwt_header(uint8_t *text, size_t len,
    keryu_jwt_header_t *h);
static int keryu_jwt_signature(const keryu_jwt_keys_t *ks,
    const keryu_jwt_header_t *h, const char *in, size_t len,
    const uint8_t *sig, size_t siglen, const keryu_jwt_key_t **found);
static int keryu_jwt_key_verify(const keryu_jwt_keys_t *ks,
    const keryu_jwt_key_t *key, const char *in, size_t len,
    const uint8_t *sig, size_t siglen);
static size_t keryu_jwt_der_integer(uint8_t *p, const uint8_t *v, size_t n);
static int keryu_jwt_claims(const keryu_jwt_opts_t *opts, uint8_t *text,
    size_t len, int64_t now, keryu_jwt_t *jwt);
static int keryu_jwt_time(yajl_val v, int up, int64_t *t);
static int64_t keryu_jwt_clamp(int64_t v, int64_t max);
static int keryu_jwt_audience(yajl_val v, const char *audience);
static int keryu_jwt_roles(keryu_jwt_t *jwt, yajl_val v);
static int keryu_jwt_value_is(yajl_val v, const char *value, size_t len);


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
        keryu_jwt_err(err, errlen, "PEM key of %zu bytes", len);
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

    return 0;

failed:

    EVP_PKEY_CTX_free(key.pctx);
    EVP_PKEY_free(key.pkey);

    return KERYU_JWT_ERROR;
}


int
keryu_jwt_keys_add_json(keryu_jwt_keys_t *ks, const char *json, size_t len,
    char *err, size_t errlen)
{
    int          rc, alg;
    char        *text, *secret_text;
    size_t       i, j, n;
    uint8_t     *secret;
    yajl_val     root, v, kid, algv, secretv, pem;
    const char  *name;

    if (len > KERYU_JWT_KEY_JSON_MAX) {
        keryu_jwt_err(err, errlen, "key record of %zu bytes is too long", len);
        return KERYU_JWT_ERROR;
    }

    text = malloc(len + 1);
    if (text == NULL) {
        keryu_jwt_err(err, errlen, "out of memory");
        return KERYU_JWT_ERROR;
    }

    memcpy(text, json, len);
    text[len] = '\0';

    rc = KERYU_JWT_ERROR;
    secret = NULL;
    secret_text = NULL;
    kid = NULL;
    algv = NULL;
    secretv = NULL;
    pem = NULL;

    /* yajl's error text quotes the input, which may hold a secret */
    root = NULL;

    if (keryu_jwt_json_scan((uint8_t *) text, len) == 0) {
        root = yajl_tree_parse(text, NULL, 0);
    }

    if (root == NULL) {
        keryu_jwt_err(err, errlen, "key record is not valid JSON");
        goto done;
    }

    if (!YAJL_IS_OBJECT(root)) {
        keryu_jwt_err(err, errlen, "key record is not a JSON object");
        goto done;
    }

    for (i = 0; i < root->u.object.len; i++) {
        name = root->u.object.keys[i];
        v = root->u.object.values[i];

        for (j = 0; j < i; j++) {
            if (strcmp(name, root->u.object.keys[j]) == 0) {
                keryu_jwt_err(err, errlen, "duplicate field \"%s\"", name);
                goto done;
            }
        }

        if (strcmp(name, "kid") == 0) {
            kid = v;

        } else if (strcmp(name, "alg") == 0) {
            algv = v;

        } else if (strcmp(name, "secret") == 0) {
            secretv = v;

            if (YAJL_IS_STRING(v)) {
                secret_text = v->u.string;
            }

        } else if (strcmp(name, "pem") == 0) {
            pem = v;

        } else if (strcmp(name, "created_at") == 0) {
            if (!YAJL_IS_NUMBER(v)) {
                keryu_jwt_err(err, errlen, "\"created_at\" is not a number");
                goto done;
            }

        } else {
            keryu_jwt_err(err, errlen, "unknown field \"%s\"", name);
            goto done;
        }
    }

    if (!YAJL_IS_STRING(kid)) {
        keryu_jwt_err(err, errlen, "\"kid\" is missing or not a string");
        goto done;
    }

    if (!YAJL_IS_STRING(algv)) {
        keryu_jwt_err(err, errlen, "\"alg\" is missing or not a string");
        goto done;
    }

    alg = keryu_jwt_alg(algv->u.string);

    if (alg == KERYU_JWT_HS256) {
        if (pem != NULL) {
            keryu_jwt_err(err, errlen, "HS256 key with a \"pem\" field");
            goto done;
        }

        if (secret_text == NULL) {
            keryu_jwt_err(err, errlen,
                          "\"secret\" is missing or not a string");
            goto done;
        }

        n = strlen(secret_text);

        secret = malloc(keryu_jwt_b64_size(n) + 1);
        if (secret == NULL) {
            keryu_jwt_err(err, errlen, "out of memory");
            goto done;
        }

        if (keryu_jwt_b64_decode(secret_text, n, secret) != 0) {
            keryu_jwt_err(err, errlen,
                          "\"secret\" is not base64url without padding");
            goto done;
        }

        rc = keryu_jwt_keys_add_secret(ks, kid->u.string, secret,
                                       keryu_jwt_b64_size(n), err, errlen);
        goto done;
    }

    if (alg == KERYU_JWT_RS256 || alg == KERYU_JWT_ES256) {
        if (secretv != NULL) {
            keryu_jwt_err(err, errlen, "%s key with a \"secret\" field",
                          algv->u.string);
            goto done;
        }

        if (!YAJL_IS_STRING(pem)) {
            keryu_jwt_err(err, errlen, "\"pem\" is missing or not a string");
            goto done;
        }

        rc = keryu_jwt_keys_add_pem(ks, kid->u.string, algv->u.string,
                                    pem->u.string, strlen(pem->u.string),
                                    err, errlen);
        goto done;
    }

    keryu_jwt_err(err, errlen, "unsupported algorithm \"%s\"",
                  algv->u.string);

done:

    if (secret != NULL) {
        OPENSSL_cleanse(secret, keryu_jwt_b64_size(strlen(secret_text)));
        free(secret);
    }

    if (secret_text != NULL) {
        OPENSSL_cleanse(secret_text, strlen(secret_text));
    }

    yajl_tree_free(root);
    OPENSSL_cleanse(text, len);
    free(text);

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

    /* each JSON part is followed by a NUL for yajl */

    if (hsize + psize + ssize + 2 <= sizeof(stack)) {
        buf = stack;

    } else {
        buf = malloc(hsize + psize + ssize + 2);
        if (buf == NULL) {
            return KERYU_JWT_ENOMEM;
        }
    }

    payload = buf + hsize + 1;
    sig = payload + psize + 1;

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

    yajl_tree_free(jwt->claims);

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
    size_t    i;
    yajl_val  v;

    if (jwt->claims == NULL || memchr(claim, '\0', claim_len) != NULL) {
        return 0;
    }

    v = keryu_jwt_json_get(jwt->claims, claim, claim_len);

    if (YAJL_IS_ARRAY(v)) {
        for (i = 0; i < v->u.array.len; i++) {
            if (keryu_jwt_value_is(v->u.array.values[i], value, value_len)) {
                return 1;
            }
        }

        return 0;
    }

    return v != NULL && keryu_jwt_value_is(v, value, value_len);
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


/*
 * Refuses what yajl would accept but we must not: a NUL byte (yajl reads
 * a C string and would stop there), a \u0000 escape (names and values are
 * used as C strings), comments (yajl_tree_parse allows them), and nesting
 * deeper than KERYU_JWT_DEPTH_MAX.  Syntax is left to yajl.
 */

static int
keryu_jwt_json_scan(const uint8_t *p, size_t len)
{
    int     str;
    size_t  i, depth;

    if (memchr(p, '\0', len) != NULL) {
        return -1;
    }

    str = 0;
    depth = 0;

    for (i = 0; i < len; i++) {

        if (str) {
            if (p[i] == '"') {
                str = 0;

            } else if (p[i] == '\\') {
                if (len - i > 5 && p[i + 1] == 'u'
                    && memcmp(&p[i + 2], "0000", 4) == 0)
                {
                    return -1;
                }

                i++;
            }

            continue;
        }

        switch (p[i]) {

        case '"':
            str = 1;
            break;

        case '{':
        case '[':
            if (++depth > KERYU_JWT_DEPTH_MAX) {
                return -1;
            }

            break;

        case '}':
        case ']':
            if (depth > 0) {
                depth--;
            }

            break;

        case '/':
            return -1;

        default:
            break;
        }
    }

    return 0;
}


/*
 * Parses text (len bytes, with room for a NUL after them) as a JSON
 * object whose names are unique.  yajl_tree keeps every duplicate and a
 * lookup finds the first, while other parsers take the last: a token
 * naming "sub" twice could mean two users, so it is refused.
 */

static yajl_val
keryu_jwt_json_parse(uint8_t *text, size_t len)
{
    size_t    i, j;
    yajl_val  v;

    if (keryu_jwt_json_scan(text, len) != 0) {
        return NULL;
    }

    text[len] = '\0';

    v = yajl_tree_parse((const char *) text, NULL, 0);

    if (!YAJL_IS_OBJECT(v)) {
        yajl_tree_free(v);
        return NULL;
    }

    for (i = 1; i < v->u.object.len; i++) {
        for (j = 0; j < i; j++) {
            if (strcmp(v->u.object.keys[i], v->u.object.keys[j]) == 0) {
                yajl_tree_free(v);
                return NULL;
            }
        }
    }

    return v;
}


/* the value of a top-level name; name holds no NUL */

static yajl_val
keryu_jwt_json_get(yajl_val obj, const char *name, size_t len)
{
    size_t       i;
    const char  *key;

    for (i = 0; i < obj->u.object.len; i++) {
        key = obj->u.object.keys[i];

        if (strncmp(key, name, len) == 0 && key[len] == '\0') {
            return obj->u.object.values[i];
        }
    }

    return NULL;
}


static int
keryu_jwt_header(uint8_t *text, size_t len, keryu_jwt_header_t *h)
{
    int       rc;
    yajl_val  hdr, v;

    hdr = keryu_jwt_json_parse(text, len);
    if (hdr == NULL) {
        return KERYU_JWT_EMALFORMED;
    }

    rc = KERYU_JWT_EMALFORMED;

    v = keryu_jwt_json_get(hdr, "alg", 3);
    if (!YAJL_IS_STRING(v)) {
        goto done;
    }

    h->alg = keryu_jwt_alg(v->u.string);

    if (h->alg == KERYU_JWT_NONE) {
        rc = KERYU_JWT_EALGNONE;
        goto done;
    }

    if (h->alg == 0) {
        rc = KERYU_JWT_EALG;
        goto done;
    }

    if (keryu_jwt_json_get(hdr, "crit", 4) != NULL) {
        rc = KERYU_JWT_ECRIT;
        goto done;
    }

    v = keryu_jwt_json_get(hdr, "typ", 3);
    if (v != NULL && !YAJL_IS_STRING(v)) {
        goto done;
    }

    v = keryu_jwt_json_get(hdr, "kid", 3);
    h->has_kid = v != NULL;

    if (h->has_kid) {
        if (!YAJL_IS_STRING(v)) {
            goto done;
        }

        h->kid_len = strlen(v->u.string);

        /* no key can have such an id */
        if (h->kid_len == 0 || h->kid_len > KERYU_JWT_KID_MAX) {
            rc = KERYU_JWT_EKEY;
            goto done;
        }

        memcpy(h->kid, v->u.string, h->kid_len + 1);
    }

    rc = KERYU_JWT_OK;

done:

    yajl_tree_free(hdr);

    return rc;
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

    /* a signature out of range is an error, not 0: both mean refused */

    rc = EVP_PKEY_verify(key->pctx, sig, siglen, md, mdlen);

    if (rc != 1) {
        ERR_clear_error();
        return 0;
    }

    return 1;
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
keryu_jwt_claims(const keryu_jwt_opts_t *opts, uint8_t *text, size_t len,
    int64_t now, keryu_jwt_t *jwt)
{
    int64_t      t, leeway;
    yajl_val     claims, v;
    const char  *name;

    claims = keryu_jwt_json_parse(text, len);
    if (claims == NULL) {
        return KERYU_JWT_EMALFORMED;
    }

    jwt->claims = claims;

    leeway = opts != NULL ? opts->leeway : 0;
    leeway = leeway < 0 ? 0 : keryu_jwt_clamp(leeway, KERYU_JWT_LEEWAY_MAX);
    now = keryu_jwt_clamp(now, KERYU_JWT_TIME_MAX);

    v = keryu_jwt_json_get(claims, "exp", 3);

    if (v != NULL) {
        if (keryu_jwt_time(v, 0, &t) != 0) {
            return KERYU_JWT_EMALFORMED;
        }

        if (now >= t + leeway) {
            return KERYU_JWT_EEXPIRED;
        }
    }

    v = keryu_jwt_json_get(claims, "nbf", 3);

    if (v != NULL) {
        if (keryu_jwt_time(v, 1, &t) != 0) {
            return KERYU_JWT_EMALFORMED;
        }

        if (now + leeway < t) {
            return KERYU_JWT_ENOTYET;
        }
    }

    if (opts != NULL && opts->issuer != NULL) {
        v = keryu_jwt_json_get(claims, "iss", 3);

        if (!YAJL_IS_STRING(v) || strcmp(v->u.string, opts->issuer) != 0) {
            return KERYU_JWT_EISSUER;
        }
    }

    if (opts != NULL && opts->audience != NULL) {
        v = keryu_jwt_json_get(claims, "aud", 3);

        if (v == NULL || !keryu_jwt_audience(v, opts->audience)) {
            return KERYU_JWT_EAUDIENCE;
        }
    }

    v = keryu_jwt_json_get(claims, "sub", 3);

    if (!YAJL_IS_STRING(v) || v->u.string[0] == '\0') {
        return KERYU_JWT_ESUBJECT;
    }

    jwt->sub = v->u.string;
    jwt->sub_len = strlen(v->u.string);

    if (opts != NULL && opts->roles_claim != NULL) {
        name = opts->roles_claim;
        v = keryu_jwt_json_get(claims, name, strlen(name));

        if (v != NULL) {
            return keryu_jwt_roles(jwt, v);
        }
    }

    return KERYU_JWT_OK;
}


/* a NumericDate in whole seconds, a fraction rounded up or down */

static int
keryu_jwt_time(yajl_val v, int up, int64_t *t)
{
    double   d;
    int64_t  n;

    if (YAJL_IS_INTEGER(v)) {
        *t = keryu_jwt_clamp(YAJL_GET_INTEGER(v), KERYU_JWT_TIME_MAX);
        return 0;
    }

    if (!YAJL_IS_DOUBLE(v)) {
        return -1;
    }

    d = YAJL_GET_DOUBLE(v);

    if (d >= (double) KERYU_JWT_TIME_MAX) {
        n = KERYU_JWT_TIME_MAX;

    } else if (d <= (double) -KERYU_JWT_TIME_MAX) {
        n = -KERYU_JWT_TIME_MAX;

    } else {
        n = (int64_t) d;

        if (up && (double) n < d) {
            n++;

        } else if (!up && (double) n > d) {
            n--;
        }
    }

    *t = n;

    return 0;
}


static int64_t
keryu_jwt_clamp(int64_t v, int64_t max)
{
    return v > max ? max : (v < -max ? -max : v);
}


static int
keryu_jwt_audience(yajl_val v, const char *audience)
{
    size_t  i;

    if (YAJL_IS_STRING(v)) {
        return strcmp(v->u.string, audience) == 0;
    }

    if (!YAJL_IS_ARRAY(v)) {
        return 0;
    }

    for (i = 0; i < v->u.array.len; i++) {
        if (YAJL_IS_STRING(v->u.array.values[i])
            && strcmp(v->u.array.values[i]->u.string, audience) == 0)
        {
            return 1;
        }
    }

    return 0;
}


/*
 * Two passes over the claim, one to count and one to fill, so that the
 * common case of a few roles needs no allocation.
 */

static int
keryu_jwt_roles(keryu_jwt_t *jwt, yajl_val v)
{
    int          pass;
    size_t       i, n, len;
    yajl_val     e;
    const char  *p, *s;

    if (!YAJL_IS_STRING(v) && !YAJL_IS_ARRAY(v)) {
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

        if (YAJL_IS_ARRAY(v)) {
            for (i = 0; i < v->u.array.len; i++) {
                e = v->u.array.values[i];

                if (!YAJL_IS_STRING(e) || e->u.string[0] == '\0') {
                    continue;
                }

                if (pass == 1) {
                    jwt->roles[n] = e->u.string;
                    jwt->role_lens[n] = strlen(e->u.string);
                }

                n++;
            }

            continue;
        }

        for (p = v->u.string; *p != '\0'; p = s) {
            while (*p == ' ') {
                p++;
            }

            for (s = p; *s != '\0' && *s != ' '; s++) {
                /* void */
            }

            len = s - p;

            if (len == 0) {
                continue;
            }

            if (pass == 1) {
                jwt->roles[n] = p;
                jwt->role_lens[n] = len;
            }

            n++;
        }
    }

    jwt->nroles = n;

    return KERYU_JWT_OK;
}


static int
keryu_jwt_value_is(yajl_val v, const char *value, size_t len)
{
    char        num[32];
    const char  *s;

    switch (v->type) {

    case yajl_t_string:
        s = v->u.string;
        break;

    case yajl_t_number:
        if (YAJL_IS_INTEGER(v)) {
            snprintf(num, sizeof(num), "%lld", YAJL_GET_INTEGER(v));
            s = num;

        } else {
            s = YAJL_GET_NUMBER(v);
        }

        break;

    case yajl_t_true:
        s = "true";
        break;

    case yajl_t_false:
        s = "false";
        break;

    default:
        return 0;
    }

    return strlen(s) == len && memcmp(s, value, len) == 0;
}
