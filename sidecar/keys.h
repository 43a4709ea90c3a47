/*
 * Copyright (C) Keryu Security
 *
 * keryud's keys and their lifecycle.  Every key value keryud keeps is
 * wrapped with AES-256-GCM under a key derived from the master key (the
 * "master_key" file or KERYU_MASTER_KEY), which is never stored and never
 * logged.  A key is born active; rotation makes a new version active and
 * retires the old one: a key that signs keeps verifying for "key_grace"
 * (verify_only), a key that encrypts keeps decrypting until what it
 * encrypted has passed "retention" (decrypt_only); then its value is
 * zeroed and deleted and only its metadata stays (destroyed).
 *
 *   type             value                     retired as     period
 *   log_sealing      X25519 pair               decrypt_only   30d
 *   data             AES-256 key               decrypt_only   90d
 *   blind_index      HMAC-SHA256 key           never retired  never
 *   report_signing   Ed25519 pair              verify_only    365d
 *   webhook_signing  HMAC-SHA256 key           verify_only    90d
 *   jwt_hmac         the shared store's HS256 keys ("keryud key"): listed
 *                    read-only, never managed here
 *
 * In keryud's own store, database enc_keys:
 *
 *   key "\0check"   value: format 1 (1 byte), nonce (12), then 32 known
 *                   bytes sealed under the wrapping key with the tag (16),
 *                   AAD "keryu-check"; written at first use, it tells a
 *                   wrong master key from a damaged key
 *   key "\0serial"  value: 8 bytes little-endian, raised by every write,
 *                   so that a running keryud notices the command line's
 *   key type (1 byte) and version (4, big-endian): one key, value
 *       0   format (1, KEYS_FORMAT)
 *       1   type (1), 2 state (1), 3 zero (1)
 *       4   version (4, little-endian, from 1)
 *       8   id (8, random; its hex is the key's "kid")
 *      16   created, 24 rotated (when it stopped being active, or 0),
 *      32   destroyed (or 0): seconds since the epoch, 8 bytes each,
 *           little-endian
 *      40   public key length (1), value length (1), zero (2)
 *      44   nonce (12)
 *      56   public key (32, zero-filled past its length)
 *      88   the value sealed under the wrapping key, and the tag (16);
 *           nothing once destroyed
 *
 * The wrapping key is HKDF-SHA256 of the master key (salt "keryu-master",
 * info "keryu key wrap v1"); the AAD of a wrapped value is "keryu-key",
 * the type byte, the version (4 bytes, big-endian) and the id, so that a
 * value moved to another entry does not unwrap.
 *
 * The public half of the active log_sealing key is published in the
 * shared store (keryu_store_sealing_get(), keryu_store.h) for nginx
 * workers to seal with; keys_unseal() documents the sealed format.
 *
 * Functions return 0, an LMDB code, or one of the KEYS_E codes below, which
 * keys_strerror() names; none of them logs key material.
 */


#ifndef _KERYUD_KEYS_H_INCLUDED_
#define _KERYUD_KEYS_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>

#include "keryud.h"
#include "json.h"
#include "keryu_seal.h"


#define KEYS_MASTER_LEN       32
#define KEYS_VALUE_LEN        32
#define KEYS_PUBLIC_LEN       32
#define KEYS_ID_LEN           8
#define KEYS_KID_LEN          (2 * KEYS_ID_LEN)
#define KEYS_SIG_MAX          64
#define KEYS_MAC_LEN          32
#define KEYS_FORMAT           1

#define KEYS_PASSPHRASE_MIN   12
#define KEYS_PASSPHRASE_MAX   1024

/* versions kept per type, destroyed ones included */
#define KEYS_VERSIONS_MAX     1000

/* keys_encrypt(): version (4), nonce (12), the tag (16) */
#define KEYS_DATA_OVERHEAD    (4 + 12 + 16)

/* keys_seal(): version (4), ephemeral public key (32), nonce, tag */
#define KEYS_SEAL_OVERHEAD    KERYU_SEAL_OVERHEAD

/* what keys_main() returns for a command line its caller should explain */
#define KEYS_USAGE            (-1)

#define KEYS_EDISABLED        (-30600)    /* no master key */
#define KEYS_ENOROTATE        (-30601)    /* a type that is not rotated */
#define KEYS_ENOKEY           (-30602)    /* no such key, or no value left */
#define KEYS_ECRYPTO          (-30603)    /* OpenSSL failed, or a tag */
#define KEYS_EFORMAT          (-30604)    /* a value that does not decode */
#define KEYS_ENOTEMPTY        (-30605)    /* restore into a store with keys */
#define KEYS_ECHECKSUM        (-30606)    /* backup's SHA-256 differs */
#define KEYS_EPASSPHRASE      (-30607)    /* backup does not decrypt */


typedef enum {
    KEYS_LOG_SEALING = 1,
    KEYS_DATA,
    KEYS_BLIND_INDEX,
    KEYS_REPORT_SIGNING,
    KEYS_WEBHOOK_SIGNING,
    KEYS_JWT_HMAC
} keys_type_e;

/* the last type keryud keeps in enc_keys */
#define KEYS_MANAGED          KEYS_WEBHOOK_SIGNING


typedef enum {
    KEYS_ACTIVE = 1,
    KEYS_VERIFY_ONLY,
    KEYS_DECRYPT_ONLY,
    KEYS_DESTROYED
} keys_state_e;


/* one key: its metadata, and its value while it has one */
typedef struct {
    int                 type;
    int                 state;
    uint32_t            version;
    uint8_t             id[KEYS_ID_LEN];
    uint64_t            created;          /* seconds since the epoch */
    uint64_t            rotated;          /* left active; 0 while active */
    uint64_t            destroyed;        /* 0 while it has a value */
    size_t              pub_len;          /* 0: a secret key */
    uint8_t             pub[KEYS_PUBLIC_LEN];
    size_t              len;              /* of value; 0 once destroyed */
    uint8_t             value[KEYS_VALUE_LEN];
} keys_key_t;


/* the outcome of one key's validation */
typedef struct {
    int                 type;
    uint32_t            version;
    int                 state;
    char                kid[KEYS_KID_LEN + 1];
    int                 ok;
    int                 skipped;          /* destroyed: no value to try */
    const char         *reason;           /* NULL when ok */
} keys_check_t;


typedef void (*keys_check_pt)(void *ctx, const keys_check_t *c);


typedef struct keys_s  keys_t;

struct respond_s;
struct notify_s;


/* the defaults of key_period and key_grace, into cf */
void keys_conf_defaults(conf_t *cf);

/*
 * reads the master key of file (its mode must give group and others no
 * access; 32 bytes, or 64 hex digits and an optional newline), or, for
 * file "", of KERYU_MASTER_KEY (64 hex digits), which it then wipes and
 * unsets.  Returns 1 with the key in master, 0 when neither is set, or -1
 * with the reason in err.
 */
int keys_master_read(const char *file, uint8_t master[KEYS_MASTER_LEN],
    char *err, size_t errlen);

/*
 * keys of store st under master, or with master NULL none: every call
 * then returns KEYS_EDISABLED.  Returns NULL when out of memory.
 */
keys_t *keys_new(store_t *st, const conf_t *cf, const uint8_t *master);
void keys_free(keys_t *ks);
int keys_enabled(const keys_t *ks);

/*
 * keryud's startup: reads the master key of cf and loads the keys with
 * create; without a master key the keys are off.  Returns NULL with one
 * line in err when keryud must not start
 */
keys_t *keys_open(store_t *st, const conf_t *cf, uint64_t now, char *err,
    size_t errlen);

/*
 * checks the master key against the check value, unwraps and validates
 * every key; with create, a store without keys gets its check value and
 * a store without an active key of a type gets one.  Returns 0, or -1
 * with one line in err; a failure writes nothing.
 */
int keys_load(keys_t *ks, uint64_t now, int create, char *err,
    size_t errlen);

/* where alerts are raised; NULL: none */
void keys_set_respond(keys_t *ks, struct respond_s *r);

/* where the sealing public key is published; NULL: not yet */
void keys_set_shared(keys_t *ks, keryu_store_t *src);

/* the webhook to sign with webhook_signing, when no webhook_secret */
void keys_set_notify(keys_t *ks, struct notify_s *n);

/*
 * makes a new version of type active and retires the active one, in one
 * transaction; before and after (NULL allowed) get the old key's and the
 * new key's metadata, values wiped.  Raises the keys/rotated alert.
 */
int keys_rotate(keys_t *ks, int type, uint64_t now, const char *actor,
    keys_key_t *before, keys_key_t *after);

/*
 * the timer: picks up keys the command line changed, rotates keys past
 * their period, destroys retired keys past their time, and publishes the
 * sealing key; each change is a system_change by "keryud"
 */
void keys_tick(keys_t *ks, uint64_t now);

/*
 * signs with the active key of type: report_signing gives a 64-byte
 * Ed25519 signature, webhook_signing and blind_index a 32-byte
 * HMAC-SHA256; *siglen is the room in sig, then the length written
 */
int keys_sign(keys_t *ks, int type, const uint8_t *msg, size_t len,
    uint8_t *sig, size_t *siglen);

/* checks sig with version of type (0: the active one); 0 or KEYS_ECRYPTO */
int keys_verify(keys_t *ks, int type, uint32_t version, const uint8_t *msg,
    size_t len, const uint8_t *sig, size_t siglen);

/*
 * the public key of version of type (0: the active one), destroyed keys
 * included; *publen is the room in pub, then its length; *got the version
 */
int keys_public(keys_t *ks, int type, uint32_t version, uint8_t *pub,
    size_t *publen, uint32_t *got);

/* the metadata of version of type (0: the active one), value wiped */
int keys_get(keys_t *ks, int type, uint32_t version, keys_key_t *meta);

/* the active version of type, or 0 */
uint32_t keys_active_version(keys_t *ks, int type);

/*
 * encrypts with the active data key: out gets len + KEYS_DATA_OVERHEAD
 * bytes, version | nonce | ciphertext | tag; keys_decrypt() takes any
 * version that still has its value
 */
int keys_encrypt(keys_t *ks, const uint8_t *in, size_t len,
    const uint8_t *aad, size_t aadlen, uint8_t *out, size_t *outlen);
int keys_decrypt(keys_t *ks, const uint8_t *in, size_t len,
    const uint8_t *aad, size_t aadlen, uint8_t *out, size_t *outlen);

/*
 * seals to the public log_sealing key of version, as a worker does, and
 * opens it again with the private half; the form is keryu_seal.h's (the
 * two must stay one), without AAD:
 *
 *   version (4, little-endian) | ephemeral X25519 public key (32) |
 *   nonce (12) | AES-256-GCM ciphertext | tag (16)
 *
 * the AES key being HKDF-SHA256 of the X25519 shared secret, salt the
 * ephemeral and then the recipient's public key, info "keryu log sealing
 * v1"; out gets len + KEYS_SEAL_OVERHEAD bytes, and less for unseal
 */
int keys_seal_to(const uint8_t pub[KEYS_PUBLIC_LEN], uint32_t version,
    const uint8_t *in, size_t len, uint8_t *out, size_t *outlen);
int keys_unseal(keys_t *ks, const uint8_t *in, size_t len, uint8_t *out,
    size_t *outlen);

/*
 * keys_unseal() of a value sealed with AAD (a record's sealed section,
 * keryu_record.h); the key agreement with each worker's ephemeral key is
 * done once and kept.  KEYS_ENOKEY when the version has no private key
 * left, KEYS_ECRYPTO when the tag does not match
 */
int keys_unseal_aad(keys_t *ks, const uint8_t *in, size_t len,
    const uint8_t *aad, size_t aadlen, uint8_t *out, size_t *outlen);

/*
 * reads every key from the store again, unwraps it and round-trips a test
 * vector with it; handler sees each result, *failed counts failures, and
 * each failure raises keys/validation_failed
 */
int keys_validate(keys_t *ks, uint64_t now, keys_check_pt handler,
    void *ctx, unsigned *failed);

/*
 * exports every key, destroyed ones' metadata included, sealed under
 * pass: a malloc()ed container in *out (format in keys.c)
 */
int keys_backup(keys_t *ks, const char *pass, size_t passlen, uint64_t now,
    uint8_t **out, size_t *outlen, unsigned *count);

/*
 * imports a container into the store, wrapped under this master key,
 * after validating every key; a store with keys is refused
 * (KEYS_ENOTEMPTY) unless force, which replaces them
 */
int keys_restore(keys_t *ks, const uint8_t *buf, size_t len,
    const char *pass, size_t passlen, int force, unsigned *count,
    char *err, size_t errlen);

/*
 * keys_backup() for the API: {"format":"keryu-keys","version":1,
 * "keys":N,"bytes":N,"sha256":HEX,"backup":BASE64} into j, and the same
 * without "backup" into summary (NULL allowed)
 */
int keys_backup_json(keys_t *ks, const char *pass, size_t passlen,
    uint64_t now, json_t *j, json_t *summary);

/*
 * writes {"items":[...],"grace_s":N,"retention_s":N}: every key's
 * metadata, and the shared store's HS256 keys as jwt_hmac when src is
 * open; never a value
 */
int keys_list_json(keys_t *ks, keryu_store_t *src, uint64_t now, json_t *j);

/* one key's metadata as the API shows it */
void keys_key_json(keys_t *ks, const keys_key_t *k, uint64_t now,
    json_t *j);

/* "keryud keys ..." (argv[0] "keys"); the exit status, or KEYS_USAGE */
int keys_main(conf_t *cf, int argc, char **argv);

const char *keys_type_name(int type);
int keys_type_parse(const char *name);
const char *keys_state_name(int state);
const char *keys_strerror(int rc);
void keys_kid(const keys_key_t *k, char kid[KEYS_KID_LEN + 1]);


#endif /* _KERYUD_KEYS_H_INCLUDED_ */
