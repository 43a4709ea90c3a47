
/*
 * Copyright (C) Keryu Security
 *
 * Sealing to keryud's log_sealing key: what an nginx worker does to the
 * personal part of each record it writes, and what keryud undoes.  Both
 * programs go through this file, so there is one definition of the form:
 *
 *   offset  size  field
 *        0     4  version of the recipient's log_sealing key, little-endian
 *        4    32  the sender's ephemeral X25519 public key
 *       36    12  nonce
 *       48     -  AES-256-GCM ciphertext, as long as the plaintext
 *        -    16  tag
 *
 * The AES key is HKDF-SHA256 of the X25519 shared secret between the
 * ephemeral key and the recipient's key, salt the ephemeral public key
 * and then the recipient's public key (64 bytes), info
 * KERYU_SEAL_INFO.  The AAD is the caller's AAD, if any, then the first
 * 36 bytes (version and ephemeral public key).
 *
 * A sealer (a worker) makes one ephemeral key per recipient key version
 * and keeps the derived AES key, so sealing a record costs one AES-GCM
 * pass and no key agreement.  Its nonces are 4 random bytes drawn when
 * it is keyed and a 64-bit counter (little-endian), so no two records
 * under one derived key share a nonce; the derived key itself is new at
 * every rekeying.  A one-shot seal (keryu_seal_to()) uses a fresh
 * ephemeral key each time.
 *
 * Functions return 0, or -1 on failure; none logs, and all clear the
 * OpenSSL error queue they may have filled.
 */


#ifndef _KERYU_SEAL_H_INCLUDED_
#define _KERYU_SEAL_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>


#define KERYU_SEAL_KEY_LEN     32
#define KERYU_SEAL_NONCE_LEN   12
#define KERYU_SEAL_TAG_LEN     16
#define KERYU_SEAL_PREFIX_LEN  (4 + KERYU_SEAL_KEY_LEN)
#define KERYU_SEAL_OVERHEAD    (KERYU_SEAL_PREFIX_LEN + KERYU_SEAL_NONCE_LEN \
                                + KERYU_SEAL_TAG_LEN)
#define KERYU_SEAL_INFO        "keryu log sealing v1"


struct evp_cipher_ctx_st;
struct evp_cipher_st;


/** one worker's sealing state; zeroed, it has no key */
typedef struct {
    struct evp_cipher_ctx_st  *ctx;     /**< keyed with the derived key */
    struct evp_cipher_st      *cipher;  /**< AES-256-GCM, fetched once */
    uint32_t            version;        /**< recipient key version, 0: none */
    uint8_t             recipient[KERYU_SEAL_KEY_LEN];
    uint8_t             prefix[KERYU_SEAL_PREFIX_LEN];
    uint8_t             nonce[KERYU_SEAL_NONCE_LEN];
    uint64_t            counter;        /**< records sealed under this key */
} keryu_sealer_t;


/** fetches the cipher and makes the context; the sealer has no key yet */
int keryu_sealer_init(keryu_sealer_t *s);

void keryu_sealer_free(keryu_sealer_t *s);

/**
 * Keys the sealer for the recipient's public key pub of version: a new
 * ephemeral key pair, the key agreement, the derived key and a new nonce
 * prefix.  On failure the sealer has no key (version 0).
 */
int keryu_sealer_rekey(keryu_sealer_t *s, uint32_t version,
    const uint8_t pub[KERYU_SEAL_KEY_LEN]);

/**
 * Seals len bytes of in into out, which gets len + KERYU_SEAL_OVERHEAD
 * bytes; aad (aadlen bytes, NULL for none) is authenticated, not stored.
 */
int keryu_sealer_seal(keryu_sealer_t *s, const uint8_t *aad, size_t aadlen,
    const uint8_t *in, size_t len, uint8_t *out);

/** a one-shot seal, with an ephemeral key of its own */
int keryu_seal_to(const uint8_t pub[KERYU_SEAL_KEY_LEN], uint32_t version,
    const uint8_t *aad, size_t aadlen, const uint8_t *in, size_t len,
    uint8_t *out);

/** the recipient key version a sealed value names; in has 4 bytes at least */
uint32_t keryu_seal_version(const uint8_t *in);

/**
 * The recipient's side of the key agreement: the AES key of the sealed
 * values whose ephemeral public key is eph, from the recipient's private
 * key priv and its public key pub.
 */
int keryu_seal_derive(const uint8_t priv[KERYU_SEAL_KEY_LEN],
    const uint8_t pub[KERYU_SEAL_KEY_LEN],
    const uint8_t eph[KERYU_SEAL_KEY_LEN], uint8_t key[KERYU_SEAL_KEY_LEN]);

/**
 * Opens len bytes of in, sealed under the derived key, into out, which
 * gets len - KERYU_SEAL_OVERHEAD bytes; -1 for a value too short, or
 * whose tag does not match (out then holds nothing of it).
 */
int keryu_seal_open(const uint8_t key[KERYU_SEAL_KEY_LEN], const uint8_t *in,
    size_t len, const uint8_t *aad, size_t aadlen, uint8_t *out);


#endif /* _KERYU_SEAL_H_INCLUDED_ */
