
/*
 * Copyright (C) Keryu Security
 *
 * Sealing to an X25519 public key with AES-256-GCM under a key from
 * HKDF-SHA256; keryu_seal.h describes the form.  A sealer keeps its
 * cipher context keyed between records, so the per-record cost is the
 * nonce, the AAD and one GCM pass.
 */


#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>

#include "keryu_seal.h"


static int keryu_seal_agree(EVP_PKEY *priv, const uint8_t *peer,
    const uint8_t salt[2 * KERYU_SEAL_KEY_LEN],
    uint8_t key[KERYU_SEAL_KEY_LEN]);
static void keryu_seal_put32(uint8_t *p, uint32_t v);


int
keryu_sealer_init(keryu_sealer_t *s)
{
    memset(s, 0, sizeof(keryu_sealer_t));

    s->cipher = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
    s->ctx = EVP_CIPHER_CTX_new();

    if (s->cipher == NULL || s->ctx == NULL) {
        keryu_sealer_free(s);
        ERR_clear_error();
        return -1;
    }

    return 0;
}


void
keryu_sealer_free(keryu_sealer_t *s)
{
    EVP_CIPHER_CTX_free(s->ctx);
    EVP_CIPHER_free(s->cipher);

    OPENSSL_cleanse(s, sizeof(keryu_sealer_t));
}


int
keryu_sealer_rekey(keryu_sealer_t *s, uint32_t version,
    const uint8_t pub[KERYU_SEAL_KEY_LEN])
{
    int        rc;
    size_t     len;
    uint8_t    salt[2 * KERYU_SEAL_KEY_LEN], key[KERYU_SEAL_KEY_LEN];
    EVP_PKEY  *eph;

    s->version = 0;
    rc = -1;

    if (s->ctx == NULL || version == 0) {
        return -1;
    }

    eph = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
    if (eph == NULL) {
        goto done;
    }

    len = KERYU_SEAL_KEY_LEN;

    if (EVP_PKEY_get_raw_public_key(eph, salt, &len) != 1
        || len != KERYU_SEAL_KEY_LEN)
    {
        goto done;
    }

    memcpy(salt + KERYU_SEAL_KEY_LEN, pub, KERYU_SEAL_KEY_LEN);

    if (keryu_seal_agree(eph, pub, salt, key) != 0) {
        goto done;
    }

    if (EVP_EncryptInit_ex2(s->ctx, s->cipher, key, NULL, NULL) != 1
        || RAND_bytes(s->nonce, 4) != 1)
    {
        goto done;
    }

    keryu_seal_put32(s->prefix, version);
    memcpy(s->prefix + 4, salt, KERYU_SEAL_KEY_LEN);
    memcpy(s->recipient, pub, KERYU_SEAL_KEY_LEN);

    s->counter = 0;
    s->version = version;
    rc = 0;

done:

    OPENSSL_cleanse(key, sizeof(key));
    EVP_PKEY_free(eph);
    ERR_clear_error();

    return rc;
}


int
keryu_sealer_seal(keryu_sealer_t *s, const uint8_t *aad, size_t aadlen,
    const uint8_t *in, size_t len, uint8_t *out)
{
    int       n, prefix;
    size_t    i;
    uint8_t  *nonce, *ct;
    uint64_t  c;

    if (s->version == 0 || s->counter == UINT64_MAX) {
        return -1;
    }

    c = s->counter++;
    prefix = 0;

    for (i = 0; i < 8; i++) {
        s->nonce[4 + i] = (uint8_t) (c >> (8 * i));
    }

    nonce = out + KERYU_SEAL_PREFIX_LEN;
    ct = nonce + KERYU_SEAL_NONCE_LEN;

    memcpy(out, s->prefix, KERYU_SEAL_PREFIX_LEN);
    memcpy(nonce, s->nonce, KERYU_SEAL_NONCE_LEN);

    /* an AAD right before out (a record sealed in place) is one pass */

    if (aadlen && aad + aadlen == out) {
        aadlen += KERYU_SEAL_PREFIX_LEN;

    } else {
        prefix = 1;
    }

    if (EVP_EncryptInit_ex2(s->ctx, NULL, NULL, nonce, NULL) != 1
        || (aadlen
            && EVP_EncryptUpdate(s->ctx, NULL, &n, aad, (int) aadlen) != 1)
        || (prefix
            && EVP_EncryptUpdate(s->ctx, NULL, &n, out, KERYU_SEAL_PREFIX_LEN)
               != 1)
        || (len && EVP_EncryptUpdate(s->ctx, ct, &n, in, (int) len) != 1)
        || EVP_EncryptFinal_ex(s->ctx, ct + len, &n) != 1
        || EVP_CIPHER_CTX_ctrl(s->ctx, EVP_CTRL_GCM_GET_TAG,
                               KERYU_SEAL_TAG_LEN, ct + len) != 1)
    {
        ERR_clear_error();
        return -1;
    }

    return 0;
}


int
keryu_seal_to(const uint8_t pub[KERYU_SEAL_KEY_LEN], uint32_t version,
    const uint8_t *aad, size_t aadlen, const uint8_t *in, size_t len,
    uint8_t *out)
{
    int             rc;
    keryu_sealer_t  s;

    if (keryu_sealer_init(&s) != 0) {
        return -1;
    }

    rc = keryu_sealer_rekey(&s, version, pub);

    if (rc == 0) {
        rc = keryu_sealer_seal(&s, aad, aadlen, in, len, out);
    }

    keryu_sealer_free(&s);

    return rc;
}


uint32_t
keryu_seal_version(const uint8_t *in)
{
    return (uint32_t) in[0] | (uint32_t) in[1] << 8 | (uint32_t) in[2] << 16
           | (uint32_t) in[3] << 24;
}


int
keryu_seal_derive(const uint8_t priv[KERYU_SEAL_KEY_LEN],
    const uint8_t pub[KERYU_SEAL_KEY_LEN],
    const uint8_t eph[KERYU_SEAL_KEY_LEN], uint8_t key[KERYU_SEAL_KEY_LEN])
{
    int        rc;
    uint8_t    salt[2 * KERYU_SEAL_KEY_LEN];
    EVP_PKEY  *pk;

    pk = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, priv,
                                      KERYU_SEAL_KEY_LEN);
    if (pk == NULL) {
        ERR_clear_error();
        return -1;
    }

    memcpy(salt, eph, KERYU_SEAL_KEY_LEN);
    memcpy(salt + KERYU_SEAL_KEY_LEN, pub, KERYU_SEAL_KEY_LEN);

    rc = keryu_seal_agree(pk, eph, salt, key);

    EVP_PKEY_free(pk);
    ERR_clear_error();

    return rc;
}


int
keryu_seal_open(const uint8_t key[KERYU_SEAL_KEY_LEN], const uint8_t *in,
    size_t len, const uint8_t *aad, size_t aadlen, uint8_t *out)
{
    int              n, rc;
    size_t           clen;
    const uint8_t   *nonce, *ct;
    EVP_CIPHER_CTX  *ctx;

    if (len < KERYU_SEAL_OVERHEAD) {
        return -1;
    }

    clen = len - KERYU_SEAL_OVERHEAD;
    nonce = in + KERYU_SEAL_PREFIX_LEN;
    ct = nonce + KERYU_SEAL_NONCE_LEN;

    ctx = EVP_CIPHER_CTX_new();
    if (ctx == NULL) {
        return -1;
    }

    rc = -1;

    if (EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, nonce) != 1
        || (aadlen
            && EVP_DecryptUpdate(ctx, NULL, &n, aad, (int) aadlen) != 1)
        || EVP_DecryptUpdate(ctx, NULL, &n, in, KERYU_SEAL_PREFIX_LEN) != 1
        || (clen && EVP_DecryptUpdate(ctx, out, &n, ct, (int) clen) != 1)
        || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, KERYU_SEAL_TAG_LEN,
                               (void *) (ct + clen)) != 1
        || EVP_DecryptFinal_ex(ctx, out + clen, &n) != 1)
    {
        if (clen) {
            OPENSSL_cleanse(out, clen);
        }

        goto done;
    }

    rc = 0;

done:

    EVP_CIPHER_CTX_free(ctx);
    ERR_clear_error();

    return rc;
}


/* X25519 between priv and the public key peer, then HKDF-SHA256 */

static int
keryu_seal_agree(EVP_PKEY *priv, const uint8_t *peer,
    const uint8_t salt[2 * KERYU_SEAL_KEY_LEN],
    uint8_t key[KERYU_SEAL_KEY_LEN])
{
    int            rc;
    char           digest[] = "SHA256";
    size_t         slen;
    uint8_t        shared[32];
    EVP_KDF       *kdf;
    EVP_PKEY      *pk;
    OSSL_PARAM     params[5];
    EVP_KDF_CTX   *kctx;
    EVP_PKEY_CTX  *ctx;

    rc = -1;
    kctx = NULL;
    ctx = NULL;

    pk = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, peer,
                                     KERYU_SEAL_KEY_LEN);
    if (pk == NULL) {
        return -1;
    }

    ctx = EVP_PKEY_CTX_new(priv, NULL);
    slen = sizeof(shared);

    if (ctx == NULL || EVP_PKEY_derive_init(ctx) != 1
        || EVP_PKEY_derive_set_peer(ctx, pk) != 1
        || EVP_PKEY_derive(ctx, shared, &slen) != 1 || slen != 32)
    {
        goto done;
    }

    kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    if (kdf == NULL) {
        goto done;
    }

    kctx = EVP_KDF_CTX_new(kdf);
    EVP_KDF_free(kdf);

    if (kctx == NULL) {
        goto done;
    }

    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
                                                 digest, 0);
    params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
                                                  shared, slen);
    params[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
                                                  (void *) salt,
                                                  2 * KERYU_SEAL_KEY_LEN);
    params[3] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
                                                  KERYU_SEAL_INFO,
                                                  sizeof(KERYU_SEAL_INFO)
                                                  - 1);
    params[4] = OSSL_PARAM_construct_end();

    if (EVP_KDF_derive(kctx, key, KERYU_SEAL_KEY_LEN, params) == 1) {
        rc = 0;
    }

done:

    OPENSSL_cleanse(shared, sizeof(shared));
    EVP_KDF_CTX_free(kctx);
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(pk);

    return rc;
}


static void
keryu_seal_put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t) v;
    p[1] = (uint8_t) (v >> 8);
    p[2] = (uint8_t) (v >> 16);
    p[3] = (uint8_t) (v >> 24);
}
