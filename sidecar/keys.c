/*
 * Copyright (C) Keryu Security
 *
 * keryud's keys: the master key, wrapping, the lifecycle of each key
 * (active, verify_only or decrypt_only, destroyed), the timer that
 * rotates and destroys, the crypto each type is for, validation, and the
 * passphrase-sealed backup.  keys.h documents the model and the store's
 * layout.
 *
 * Everything runs on keryud's one thread.  The keys in memory mirror
 * enc_keys: each write raises the serial kept there, and keys_tick()
 * reloads when the serial moved (a command line rotated or restored
 * while keryud ran).  Key values live in memory only unwrapped and are
 * wiped with OPENSSL_cleanse() when a key is destroyed or keys_free()
 * runs.
 *
 * The backup container, all numbers little-endian:
 *
 *      0   "KERYUKEY" (8)
 *      8   format 1 (1), kdf 1 = scrypt (1), log2 N (1), zero (1)
 *     12   r (4), 16 p (4)
 *     20   salt (16), 36 nonce (12)
 *     48   created (8, seconds since the epoch)
 *     56   keys (4), 60 ciphertext length (4): keys * 104
 *     64   the keys sealed with AES-256-GCM under scrypt(passphrase,
 *          salt, N, r, p), AAD the 64 bytes before, then the tag (16)
 *    end   SHA-256 (32) of everything before it
 *
 * each key being type, state, public key length, value length (1 byte
 * each), version (4), id (8), created, rotated, destroyed (8 each), the
 * public key (32) and the value (32), zero-filled past their lengths.
 */


#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "keys.h"
#include "admin.h"
#include "alert.h"
#include "change.h"
#include "log.h"
#include "notify.h"
#include "respond.h"


#define KEYS_CHECK_KEY       "\0check"
#define KEYS_CHECK_KEY_LEN   6
#define KEYS_SERIAL_KEY      "\0serial"
#define KEYS_SERIAL_KEY_LEN  7
#define KEYS_CHECK_PLAIN     "keryu master key check, format 1"
#define KEYS_CHECK_AAD       "keryu-check"
#define KEYS_CHECK_LEN       (1 + 12 + 32 + 16)

#define KEYS_WRAP_AAD        "keryu-key"
#define KEYS_WRAP_AAD_LEN    (9 + 1 + 4 + KEYS_ID_LEN)
#define KEYS_HEAD_LEN        88
#define KEYS_ENTRY_MAX       (KEYS_HEAD_LEN + KEYS_VALUE_LEN + 16)
#define KEYS_DB_KEY_LEN      5

#define KEYS_NONCE_LEN       12
#define KEYS_TAG_LEN         16

/* derived sealing keys kept (keys_unseal_aad()) */
#define KEYS_SEAL_CACHE      64

/* the timer looks at least this often (seconds) */
#define KEYS_TICK_MAX        60

#define KEYS_BK_MAGIC        "KERYUKEY"
#define KEYS_BK_HEAD         64
#define KEYS_BK_ENTRY        104
#define KEYS_BK_SALT         16
#define KEYS_BK_LOG2N        16
#define KEYS_BK_R            8
#define KEYS_BK_P            1
#define KEYS_BK_FILE_MAX     (16 * 1024 * 1024)

#define KEYS_ACTOR           "keryud"

#define KEYS_DAY             86400


/* one derived key of sealed records: a worker's, for one key version */
typedef struct {
    uint32_t            version;          /* 0: a free slot */
    uint8_t             eph[KEYS_PUBLIC_LEN];
    uint8_t             key[32];
} keys_seal_cache_t;


struct keys_s {
    store_t            *st;
    keryu_store_t      *src;              /* NULL: no publication */
    struct respond_s   *respond;          /* NULL: no alerts */
    struct notify_s    *notify;           /* NULL: no managed webhook */
    int                 enabled;
    int                 webhook_managed;  /* no webhook_secret file */
    uint8_t             wrap[32];
    uint64_t            period[CONF_KEY_TYPES];
    uint64_t            grace;
    uint64_t            retention;
    uint64_t            serial;           /* of the keys in memory */
    uint64_t            next;             /* the timer's next look */
    uint32_t            published;        /* sealing version published */
    uint32_t            webhook_version;  /* the one notify signs with */
    size_t              n;
    size_t              nalloc;
    keys_key_t         *keys;             /* by type, then version */
    char                data[CONF_PATH_MAX];
    size_t              seal_next;        /* the slot taken next */
    keys_seal_cache_t   seal_cache[KEYS_SEAL_CACHE];
};


/* what keys_read() found in enc_keys */
typedef struct {
    int                 has_check;
    uint8_t             check[KEYS_CHECK_LEN];
    uint64_t            serial;
    size_t              n;
    size_t              nalloc;
    keys_key_t         *keys;
} keys_read_t;


static const char *const  keys_type_names[] = {
    NULL, "log_sealing", "data", "blind_index", "report_signing",
    "webhook_signing", "jwt_hmac"
};

static const char *const  keys_state_names[] = {
    NULL, "active", "verify_only", "decrypt_only", "destroyed"
};

static const char *const  keys_algorithms[] = {
    NULL, "X25519", "AES-256-GCM", "HMAC-SHA256", "Ed25519",
    "HMAC-SHA256", "HS256"
};

/* the defaults of key_period, seconds by type */
static const uint64_t  keys_periods[] = {
    0, 30 * KEYS_DAY, 90 * KEYS_DAY, 0, 365 * KEYS_DAY, 90 * KEYS_DAY, 0
};


static int keys_gcm(int enc, const uint8_t key[32],
    const uint8_t nonce[KEYS_NONCE_LEN], const uint8_t *aad, size_t aadlen,
    const uint8_t *aad2, size_t aad2len, const uint8_t *in, size_t len,
    uint8_t *out, uint8_t tag[KEYS_TAG_LEN]);
static int keys_hkdf(const uint8_t *ikm, size_t ikmlen, const uint8_t *salt,
    size_t saltlen, const char *info, uint8_t out[32]);
static int keys_hmac(const keys_key_t *k, const uint8_t *msg, size_t len,
    uint8_t out[KEYS_MAC_LEN]);
static EVP_PKEY *keys_pkey(const keys_key_t *k);
static int keys_generate(keys_key_t *k, int type, uint32_t version,
    uint64_t now);
static int keys_check_value(const keys_key_t *k, const char **reason);
static int keys_roundtrip(const keys_key_t *k, const char **reason);
static void keys_wrap_aad(const keys_key_t *k, uint8_t aad[KEYS_WRAP_AAD_LEN]);
static int keys_encode(keys_t *ks, const keys_key_t *k,
    uint8_t buf[KEYS_ENTRY_MAX], size_t *len);
static int keys_decode(keys_t *ks, const MDB_val *key, const MDB_val *val,
    keys_key_t *k, int unwrap);
static void keys_db_key(const keys_key_t *k, uint8_t buf[KEYS_DB_KEY_LEN]);
static int keys_check_make(keys_t *ks, uint8_t buf[KEYS_CHECK_LEN]);
static int keys_check_verify(keys_t *ks, const uint8_t buf[KEYS_CHECK_LEN]);
static int keys_read(keys_t *ks, keys_read_t *r);
static void keys_read_free(keys_read_t *r);
static int keys_push(keys_key_t **keys, size_t *n, size_t *nalloc,
    const keys_key_t *k);
static int keys_put(keys_t *ks, MDB_txn *txn, const keys_key_t *k,
    unsigned flags);
static int keys_serial_get(keys_t *ks, MDB_txn *txn, uint64_t *serial);
static int keys_serial_put(keys_t *ks, MDB_txn *txn, uint64_t serial);
static int keys_sync(keys_t *ks, uint64_t now);
static keys_key_t *keys_active(keys_t *ks, int type);
static keys_key_t *keys_find(keys_t *ks, int type, uint32_t version);
static uint32_t keys_last_version(keys_t *ks, int type);
static int keys_insert(keys_t *ks, const keys_key_t *k);
static int keys_retired_state(int type);
static uint64_t keys_until(keys_t *ks, const keys_key_t *k);
static int keys_destroy(keys_t *ks, keys_key_t *k, uint64_t now);
static void keys_publish(keys_t *ks);
static void keys_seal_forget(keys_t *ks, uint32_t version);
static void keys_notify(keys_t *ks);
static void keys_alert(keys_t *ks, const char *event, int severity,
    const keys_key_t *k, const char *actor, const char *summary,
    uint64_t now);
static void keys_changed(keys_t *ks, const char *actor, const char *action,
    const char *target, const keys_key_t *before, const keys_key_t *after,
    const char *method, const char *uri, uint64_t now);
static void keys_target(const keys_key_t *k, char *buf, size_t size);
static void keys_meta(const keys_key_t *k, keys_key_t *out);
static void keys_hex(const uint8_t *in, size_t len, char *out);
static int keys_unhex(const char *in, size_t len, uint8_t *out);
static void keys_time_json(json_t *j, const char *name, uint64_t sec);
static void keys_put32(uint8_t *p, uint32_t v);
static void keys_put64(uint8_t *p, uint64_t v);
static uint32_t keys_get32(const uint8_t *p);
static uint64_t keys_get64(const uint8_t *p);
static int keys_scrypt(const char *pass, size_t passlen, const uint8_t *salt,
    unsigned log2n, uint32_t r, uint32_t p, uint8_t out[32]);
static int keys_bk_verify(const keys_key_t *keys, size_t n,
    const char **reason, const keys_key_t **bad);

static int keys_cli_open(conf_t *cf, store_t *st, keys_t **ks, int load);
static void keys_cli_close(store_t *st, keys_t *ks);
static int keys_cli_list(conf_t *cf);
static int keys_cli_rotate(conf_t *cf, int argc, char **argv);
static int keys_cli_backup(conf_t *cf, int argc, char **argv);
static int keys_cli_restore(conf_t *cf, int argc, char **argv);
static int keys_cli_validate(conf_t *cf);
static int keys_cli_webhook(conf_t *cf, int argc, char **argv);
static void keys_cli_check(void *ctx, const keys_check_t *c);
static void keys_cli_changed(keys_t *ks, int argc, char **argv,
    const char *action, const char *target, const keys_key_t *before,
    const keys_key_t *after);
static int keys_passphrase(const char *file, int confirm, char *buf,
    size_t size, size_t *len);
static int keys_tty_line(const char *prompt, char *buf, size_t size,
    size_t *len);
static int keys_file_read(const char *path, uint8_t **buf, size_t *len);
static int keys_file_write(const char *path, const uint8_t *buf,
    size_t len);
static uint64_t keys_now(void);


/* ---- names and configuration ---- */


const char *
keys_type_name(int type)
{
    if (type < KEYS_LOG_SEALING || type > KEYS_JWT_HMAC) {
        return "unknown";
    }

    return keys_type_names[type];
}


int
keys_type_parse(const char *name)
{
    int  type;

    for (type = KEYS_LOG_SEALING; type <= KEYS_JWT_HMAC; type++) {
        if (strcmp(keys_type_names[type], name) == 0) {
            return type;
        }
    }

    return -1;
}


const char *
keys_state_name(int state)
{
    if (state < KEYS_ACTIVE || state > KEYS_DESTROYED) {
        return "unknown";
    }

    return keys_state_names[state];
}


const char *
keys_strerror(int rc)
{
    switch (rc) {

    case KEYS_EDISABLED:
        return "no master key";

    case KEYS_ENOROTATE:
        return "keys of this type are not rotated";

    case KEYS_ENOKEY:
        return "no such key";

    case KEYS_ECRYPTO:
        return "cryptographic operation failed";

    case KEYS_EFORMAT:
        return "malformed key data";

    case KEYS_ENOTEMPTY:
        return "the store has keys already";

    case KEYS_ECHECKSUM:
        return "checksum mismatch: the backup is damaged";

    case KEYS_EPASSPHRASE:
        return "wrong passphrase, or the backup was altered";
    }

    return keryu_store_strerror(rc);
}


void
keys_conf_defaults(conf_t *cf)
{
    int  type;

    for (type = 0; type < CONF_KEY_TYPES; type++) {
        cf->key_period[type] = keys_periods[type];
    }

    cf->key_period_set = 0;
    cf->key_grace = 7 * KEYS_DAY;
}


void
keys_kid(const keys_key_t *k, char kid[KEYS_KID_LEN + 1])
{
    keys_hex(k->id, KEYS_ID_LEN, kid);
}


/* ---- the master key ---- */


int
keys_master_read(const char *file, uint8_t master[KEYS_MASTER_LEN],
    char *err, size_t errlen)
{
    int            fd, rc;
    char          *env;
    size_t         len;
    ssize_t        r;
    struct stat    sb;
    unsigned char  buf[2 * KEYS_MASTER_LEN + 2];

    if (file[0] == '\0') {
        env = getenv("KERYU_MASTER_KEY");
        if (env == NULL || env[0] == '\0') {
            return 0;
        }

        len = strlen(env);
        rc = (len == 2 * KEYS_MASTER_LEN && keys_unhex(env, len, master) == 0)
             ? 1 : -1;

        /* the value stays in no environment a later reader could see */

        OPENSSL_cleanse(env, len);
        unsetenv("KERYU_MASTER_KEY");

        if (rc == -1) {
            snprintf(err, errlen, "KERYU_MASTER_KEY must be 64 hex digits");
        }

        return rc;
    }

    fd = open(file, O_RDONLY | O_CLOEXEC);
    if (fd == -1) {
        snprintf(err, errlen, "cannot read master key \"%s\": %s", file,
                 strerror(errno));
        return -1;
    }

    rc = -1;
    len = 0;

    if (fstat(fd, &sb) == -1) {
        snprintf(err, errlen, "cannot read master key \"%s\": fstat: %s",
                 file, strerror(errno));
        goto done;
    }

    if (!S_ISREG(sb.st_mode)) {
        snprintf(err, errlen, "master key \"%s\" is not a regular file",
                 file);
        goto done;
    }

    if (sb.st_mode & (S_IRWXG | S_IRWXO)) {
        snprintf(err, errlen, "master key \"%s\" has mode %04o, expecting "
                 "0600 or 0400", file, (unsigned) (sb.st_mode & 07777));
        goto done;
    }

    while (len < sizeof(buf)) {
        r = read(fd, buf + len, sizeof(buf) - len);

        if (r == -1 && errno == EINTR) {
            continue;
        }

        if (r == -1) {
            snprintf(err, errlen, "cannot read master key \"%s\": %s", file,
                     strerror(errno));
            goto done;
        }

        if (r == 0) {
            break;
        }

        len += (size_t) r;
    }

    if (len == KEYS_MASTER_LEN) {
        memcpy(master, buf, KEYS_MASTER_LEN);
        rc = 1;
        goto done;
    }

    if (len == 2 * KEYS_MASTER_LEN + 1 && buf[len - 1] == '\n') {
        len--;
    }

    if (len == 2 * KEYS_MASTER_LEN
        && keys_unhex((const char *) buf, len, master) == 0)
    {
        rc = 1;
        goto done;
    }

    snprintf(err, errlen, "master key \"%s\" must hold 32 bytes or 64 hex "
             "digits", file);

done:

    OPENSSL_cleanse(buf, sizeof(buf));
    close(fd);

    return rc;
}


/* ---- the keys object ---- */


keys_t *
keys_new(store_t *st, const conf_t *cf, const uint8_t *master)
{
    keys_t  *ks;

    ks = calloc(1, sizeof(keys_t));
    if (ks == NULL) {
        return NULL;
    }

    ks->st = st;
    memcpy(ks->period, cf->key_period, sizeof(ks->period));
    ks->grace = cf->key_grace;
    ks->retention = cf->retention;
    ks->webhook_managed = cf->notify.secret_file[0] == '\0';
    snprintf(ks->data, sizeof(ks->data), "%s", cf->data);

    if (master == NULL) {
        return ks;
    }

    if (keys_hkdf(master, KEYS_MASTER_LEN, (const uint8_t *) "keryu-master",
                  12, "keryu key wrap v1", ks->wrap)
        != 0)
    {
        free(ks);
        return NULL;
    }

    ks->enabled = 1;

    return ks;
}


keys_t *
keys_open(store_t *st, const conf_t *cf, uint64_t now, char *err,
    size_t errlen)
{
    int           rc;
    keys_t       *ks;
    uint8_t       master[KEYS_MASTER_LEN];
    keys_read_t   r;

    rc = keys_master_read(cf->master_key, master, err, errlen);
    if (rc == -1) {
        return NULL;
    }

    ks = keys_new(st, cf, rc == 1 ? master : NULL);
    OPENSSL_cleanse(master, sizeof(master));

    if (ks == NULL) {
        snprintf(err, errlen, "keys_new() failed: out of memory");
        return NULL;
    }

    if (rc == 0) {
        log_info("no master key: the keys are off, and the keys API "
                 "answers 503");

        if (keys_read(ks, &r) == 0 && r.has_check) {
            log_warnx("store \"%s\" has keys, which stay unused without "
                      "the master key", cf->data);
        }

        keys_read_free(&r);

        return ks;
    }

    if (keys_load(ks, now, 1, err, errlen) != 0) {
        keys_free(ks);
        return NULL;
    }

    log_info("%zu keys loaded under the master key from %s", ks->n,
             cf->master_key[0] ? cf->master_key : "KERYU_MASTER_KEY");

    return ks;
}


void
keys_free(keys_t *ks)
{
    if (ks == NULL) {
        return;
    }

    if (ks->keys) {
        OPENSSL_cleanse(ks->keys, ks->nalloc * sizeof(keys_key_t));
        free(ks->keys);
    }

    OPENSSL_cleanse(ks->wrap, sizeof(ks->wrap));
    keys_seal_forget(ks, 0);
    free(ks);
}


int
keys_enabled(const keys_t *ks)
{
    return ks != NULL && ks->enabled;
}


void
keys_set_respond(keys_t *ks, struct respond_s *r)
{
    ks->respond = r;
}


void
keys_set_shared(keys_t *ks, keryu_store_t *src)
{
    ks->src = src;
    ks->published = 0;

    if (ks->enabled) {
        keys_publish(ks);
    }
}


void
keys_set_notify(keys_t *ks, struct notify_s *n)
{
    ks->notify = n;
    ks->webhook_version = 0;

    if (ks->enabled) {
        keys_notify(ks);
    }
}


/* ---- loading ---- */


int
keys_load(keys_t *ks, uint64_t now, int create, char *err, size_t errlen)
{
    int              rc, type, fresh;
    char             kid[KEYS_KID_LEN + 1];
    size_t           i, j, nnew;
    uint8_t          check[KEYS_CHECK_LEN];
    MDB_val          key, val;
    MDB_txn         *txn;
    keys_key_t      *k, made[KEYS_MANAGED];
    const char      *reason;
    keys_read_t      r;

    if (!ks->enabled) {
        snprintf(err, errlen, "no master key");
        return -1;
    }

    rc = keys_read(ks, &r);

    if (rc == KEYS_EFORMAT) {
        snprintf(err, errlen, "enc_keys of store \"%s\" holds an entry that "
                 "does not decode; it is damaged", ks->data);
        return -1;
    }

    if (rc != 0) {
        snprintf(err, errlen, "reading the keys of store \"%s\" failed: %s",
                 ks->data, keys_strerror(rc));
        return -1;
    }

    nnew = 0;
    fresh = 0;

    if (r.has_check) {
        if (keys_check_verify(ks, r.check) != 0) {
            snprintf(err, errlen, "wrong master key: it does not decrypt the "
                     "key check of store \"%s\"", ks->data);
            goto failed;
        }

    } else if (r.n != 0) {
        snprintf(err, errlen, "store \"%s\" has keys but no key check; it is "
                 "damaged", ks->data);
        goto failed;

    } else if (!create) {
        snprintf(err, errlen, "store \"%s\" has no keys yet; keryud makes "
                 "them when it starts with a master key", ks->data);
        goto failed;

    } else {
        fresh = 1;
    }

    for (i = 0; i < r.n; i++) {
        k = &r.keys[i];

        keys_kid(k, kid);

        if (k->state != KEYS_DESTROYED
            && (keys_check_value(k, &reason) != 0
                || keys_roundtrip(k, &reason) != 0))
        {
            snprintf(err, errlen, "key %s v%u (%s) fails validation: %s",
                     keys_type_name(k->type), k->version, kid, reason);
            goto failed;
        }

        for (j = 0; j < i; j++) {
            if (r.keys[j].type == k->type && r.keys[j].state == KEYS_ACTIVE
                && k->state == KEYS_ACTIVE)
            {
                snprintf(err, errlen, "store \"%s\" has two active %s keys; "
                         "it is damaged", ks->data, keys_type_name(k->type));
                goto failed;
            }
        }
    }

    /* the new keys, numbered after whatever the type had */

    if (create) {
        for (type = KEYS_LOG_SEALING; type <= KEYS_MANAGED; type++) {
            for (i = 0; i < r.n; i++) {
                if (r.keys[i].type == type
                    && r.keys[i].state == KEYS_ACTIVE)
                {
                    break;
                }
            }

            if (i < r.n) {
                continue;
            }

            j = 0;

            for (i = 0; i < r.n; i++) {
                if (r.keys[i].type == type && r.keys[i].version > j) {
                    j = r.keys[i].version;
                }
            }

            if (keys_generate(&made[nnew], type, (uint32_t) j + 1, now)
                != 0)
            {
                snprintf(err, errlen, "making a %s key failed",
                         keys_type_name(type));
                goto failed;
            }

            nnew++;
        }
    }

    if (fresh || nnew) {
        rc = store_txn_begin(ks->st, 0, &txn);
        if (rc != 0) {
            goto write_failed;
        }

        if (fresh) {
            if (keys_check_make(ks, check) != 0) {
                mdb_txn_abort(txn);
                rc = KEYS_ECRYPTO;
                goto write_failed;
            }

            key.mv_size = KEYS_CHECK_KEY_LEN;
            key.mv_data = (void *) KEYS_CHECK_KEY;
            val.mv_size = KEYS_CHECK_LEN;
            val.mv_data = check;

            rc = mdb_put(txn, ks->st->enc_keys, &key, &val, MDB_NOOVERWRITE);
            if (rc != 0) {
                mdb_txn_abort(txn);
                goto write_failed;
            }
        }

        for (i = 0; i < nnew; i++) {
            rc = keys_put(ks, txn, &made[i], MDB_NOOVERWRITE);
            if (rc != 0) {
                mdb_txn_abort(txn);
                goto write_failed;
            }
        }

        r.serial++;

        rc = keys_serial_put(ks, txn, r.serial);
        if (rc != 0) {
            mdb_txn_abort(txn);
            goto write_failed;
        }

        /* a failed commit has freed the transaction already */

        rc = mdb_txn_commit(txn);
        if (rc != 0) {
            goto write_failed;
        }

        for (i = 0; i < nnew; i++) {
            if (keys_push(&r.keys, &r.n, &r.nalloc, &made[i]) != 0) {
                rc = ENOMEM;
                goto write_failed;
            }
        }
    }

    /* what the store holds now replaces what was in memory */

    if (ks->keys) {
        OPENSSL_cleanse(ks->keys, ks->nalloc * sizeof(keys_key_t));
        free(ks->keys);
    }

    ks->keys = NULL;
    ks->n = 0;
    ks->nalloc = 0;

    for (i = 0; i < r.n; i++) {
        if (keys_insert(ks, &r.keys[i]) != 0) {
            keys_read_free(&r);
            OPENSSL_cleanse(made, sizeof(made));
            snprintf(err, errlen, "out of memory");
            return -1;
        }
    }

    ks->serial = r.serial;
    ks->next = 0;

    for (i = 0; i < nnew; i++) {
        keys_kid(&made[i], kid);
        log_info("key %s v%u (%s) created", keys_type_name(made[i].type),
                 made[i].version, kid);
        keys_changed(ks, KEYS_ACTOR, "keys.create",
                     keys_type_name(made[i].type), NULL, &made[i], "START",
                     "master_key", now);
    }

    keys_read_free(&r);
    OPENSSL_cleanse(made, sizeof(made));

    return 0;

write_failed:

    snprintf(err, errlen, "writing the keys of store \"%s\" failed: %s",
             ks->data, keys_strerror(rc));

failed:

    keys_read_free(&r);
    OPENSSL_cleanse(made, sizeof(made));
    OPENSSL_cleanse(check, sizeof(check));

    return -1;
}


/* reads and decodes every entry of enc_keys, unwrapping the values */

static int
keys_read(keys_t *ks, keys_read_t *r)
{
    int          rc;
    MDB_val      key, val;
    MDB_txn     *txn;
    MDB_cursor  *cur;
    keys_key_t   k;

    memset(r, 0, sizeof(keys_read_t));

    rc = store_txn_begin(ks->st, MDB_RDONLY, &txn);
    if (rc != 0) {
        return rc;
    }

    rc = mdb_cursor_open(txn, ks->st->enc_keys, &cur);
    if (rc != 0) {
        goto txn_abort;
    }

    while ((rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) == 0) {
        if (key.mv_size == KEYS_CHECK_KEY_LEN
            && memcmp(key.mv_data, KEYS_CHECK_KEY, KEYS_CHECK_KEY_LEN) == 0)
        {
            if (val.mv_size != KEYS_CHECK_LEN) {
                rc = KEYS_EFORMAT;
                break;
            }

            memcpy(r->check, val.mv_data, KEYS_CHECK_LEN);
            r->has_check = 1;
            continue;
        }

        if (key.mv_size == KEYS_SERIAL_KEY_LEN
            && memcmp(key.mv_data, KEYS_SERIAL_KEY, KEYS_SERIAL_KEY_LEN) == 0)
        {
            if (val.mv_size != 8) {
                rc = KEYS_EFORMAT;
                break;
            }

            r->serial = keys_get64(val.mv_data);
            continue;
        }

        /*
         * a value that does not unwrap is kept with no value, so that
         * the caller names the key; keys_load() then refuses it
         */

        rc = keys_decode(ks, &key, &val, &k, 1);

        if (rc == KEYS_ECRYPTO) {
            k.len = 0;
            rc = 0;
        }

        if (rc != 0) {
            break;
        }

        if (keys_push(&r->keys, &r->n, &r->nalloc, &k) != 0) {
            rc = ENOMEM;
            break;
        }
    }

    OPENSSL_cleanse(&k, sizeof(keys_key_t));
    mdb_cursor_close(cur);

    if (rc == MDB_NOTFOUND) {
        rc = 0;
    }

txn_abort:

    mdb_txn_abort(txn);

    if (rc != 0) {
        keys_read_free(r);
    }

    return rc;
}


static void
keys_read_free(keys_read_t *r)
{
    if (r->keys) {
        OPENSSL_cleanse(r->keys, r->nalloc * sizeof(keys_key_t));
        free(r->keys);
    }

    r->keys = NULL;
    r->n = 0;
    r->nalloc = 0;
}


static int
keys_push(keys_key_t **keys, size_t *n, size_t *nalloc, const keys_key_t *k)
{
    size_t       na;
    keys_key_t  *p;

    if (*n == *nalloc) {
        na = *nalloc ? 2 * *nalloc : 16;

        /* a plain realloc() would leave values behind in the old block */

        p = calloc(na, sizeof(keys_key_t));
        if (p == NULL) {
            return -1;
        }

        if (*keys) {
            memcpy(p, *keys, *n * sizeof(keys_key_t));
            OPENSSL_cleanse(*keys, *nalloc * sizeof(keys_key_t));
            free(*keys);
        }

        *keys = p;
        *nalloc = na;
    }

    (*keys)[(*n)++] = *k;

    return 0;
}


/* keeps ks->keys sorted by type, then version */

static int
keys_insert(keys_t *ks, const keys_key_t *k)
{
    size_t      i;
    keys_key_t  tmp;

    if (keys_push(&ks->keys, &ks->n, &ks->nalloc, k) != 0) {
        return -1;
    }

    for (i = ks->n - 1; i > 0; i--) {
        if (ks->keys[i - 1].type < ks->keys[i].type
            || (ks->keys[i - 1].type == ks->keys[i].type
                && ks->keys[i - 1].version < ks->keys[i].version))
        {
            break;
        }

        tmp = ks->keys[i - 1];
        ks->keys[i - 1] = ks->keys[i];
        ks->keys[i] = tmp;
    }

    OPENSSL_cleanse(&tmp, sizeof(keys_key_t));

    return 0;
}


static keys_key_t *
keys_active(keys_t *ks, int type)
{
    size_t  i;

    for (i = 0; i < ks->n; i++) {
        if (ks->keys[i].type == type && ks->keys[i].state == KEYS_ACTIVE) {
            return &ks->keys[i];
        }
    }

    return NULL;
}


static keys_key_t *
keys_find(keys_t *ks, int type, uint32_t version)
{
    size_t  i;

    if (version == 0) {
        return keys_active(ks, type);
    }

    for (i = 0; i < ks->n; i++) {
        if (ks->keys[i].type == type && ks->keys[i].version == version) {
            return &ks->keys[i];
        }
    }

    return NULL;
}


static uint32_t
keys_last_version(keys_t *ks, int type)
{
    size_t    i;
    uint32_t  v;

    v = 0;

    for (i = 0; i < ks->n; i++) {
        if (ks->keys[i].type == type && ks->keys[i].version > v) {
            v = ks->keys[i].version;
        }
    }

    return v;
}


int
keys_get(keys_t *ks, int type, uint32_t version, keys_key_t *meta)
{
    keys_key_t  *k;

    if (!keys_enabled(ks)) {
        return KEYS_EDISABLED;
    }

    k = keys_find(ks, type, version);

    if (k == NULL) {
        return KEYS_ENOKEY;
    }

    keys_meta(k, meta);

    return 0;
}


uint32_t
keys_active_version(keys_t *ks, int type)
{
    keys_key_t  *k;

    if (!keys_enabled(ks)) {
        return 0;
    }

    k = keys_active(ks, type);

    return k ? k->version : 0;
}


/* ---- entries of enc_keys ---- */


static void
keys_db_key(const keys_key_t *k, uint8_t buf[KEYS_DB_KEY_LEN])
{
    buf[0] = (uint8_t) k->type;
    buf[1] = (uint8_t) (k->version >> 24);
    buf[2] = (uint8_t) (k->version >> 16);
    buf[3] = (uint8_t) (k->version >> 8);
    buf[4] = (uint8_t) k->version;
}


static void
keys_wrap_aad(const keys_key_t *k, uint8_t aad[KEYS_WRAP_AAD_LEN])
{
    memcpy(aad, KEYS_WRAP_AAD, 9);
    keys_db_key(k, aad + 9);
    memcpy(aad + 14, k->id, KEYS_ID_LEN);
}


static int
keys_encode(keys_t *ks, const keys_key_t *k, uint8_t buf[KEYS_ENTRY_MAX],
    size_t *len)
{
    uint8_t  aad[KEYS_WRAP_AAD_LEN];

    memset(buf, 0, KEYS_HEAD_LEN);

    buf[0] = KEYS_FORMAT;
    buf[1] = (uint8_t) k->type;
    buf[2] = (uint8_t) k->state;
    keys_put32(buf + 4, k->version);
    memcpy(buf + 8, k->id, KEYS_ID_LEN);
    keys_put64(buf + 16, k->created);
    keys_put64(buf + 24, k->rotated);
    keys_put64(buf + 32, k->destroyed);
    buf[40] = (uint8_t) k->pub_len;
    buf[41] = (uint8_t) k->len;
    memcpy(buf + 56, k->pub, k->pub_len);

    *len = KEYS_HEAD_LEN;

    if (k->len == 0) {
        return 0;
    }

    if (RAND_bytes(buf + 44, KEYS_NONCE_LEN) != 1) {
        return KEYS_ECRYPTO;
    }

    keys_wrap_aad(k, aad);

    if (keys_gcm(1, ks->wrap, buf + 44, aad, sizeof(aad), NULL, 0, k->value,
                 k->len, buf + KEYS_HEAD_LEN, buf + KEYS_HEAD_LEN + k->len)
        != 0)
    {
        return KEYS_ECRYPTO;
    }

    *len = KEYS_HEAD_LEN + k->len + KEYS_TAG_LEN;

    return 0;
}


/*
 * decodes one entry; KEYS_EFORMAT for one that is not a key, and, with
 * unwrap, KEYS_ECRYPTO for a value that does not unwrap (k then holds
 * the metadata)
 */

static int
keys_decode(keys_t *ks, const MDB_val *key, const MDB_val *val,
    keys_key_t *k, int unwrap)
{
    uint8_t         aad[KEYS_WRAP_AAD_LEN], dbkey[KEYS_DB_KEY_LEN];
    const uint8_t  *p;

    memset(k, 0, sizeof(keys_key_t));

    p = val->mv_data;

    if (key->mv_size != KEYS_DB_KEY_LEN || val->mv_size < KEYS_HEAD_LEN
        || p[0] != KEYS_FORMAT)
    {
        return KEYS_EFORMAT;
    }

    k->type = p[1];
    k->state = p[2];
    k->version = keys_get32(p + 4);
    memcpy(k->id, p + 8, KEYS_ID_LEN);
    k->created = keys_get64(p + 16);
    k->rotated = keys_get64(p + 24);
    k->destroyed = keys_get64(p + 32);
    k->pub_len = p[40];
    k->len = p[41];

    keys_db_key(k, dbkey);

    if (k->type < KEYS_LOG_SEALING || k->type > KEYS_MANAGED
        || k->state < KEYS_ACTIVE || k->state > KEYS_DESTROYED
        || k->version == 0 || k->pub_len > KEYS_PUBLIC_LEN
        || k->len > KEYS_VALUE_LEN
        || (k->state == KEYS_DESTROYED) != (k->len == 0)
        || val->mv_size != KEYS_HEAD_LEN + (k->len ? k->len + KEYS_TAG_LEN : 0)
        || memcmp(key->mv_data, dbkey, KEYS_DB_KEY_LEN) != 0)
    {
        return KEYS_EFORMAT;
    }

    memcpy(k->pub, p + 56, k->pub_len);

    if (k->len == 0 || !unwrap) {
        return 0;
    }

    keys_wrap_aad(k, aad);

    if (keys_gcm(0, ks->wrap, p + 44, aad, sizeof(aad), NULL, 0,
                 p + KEYS_HEAD_LEN, k->len, k->value,
                 (uint8_t *) p + KEYS_HEAD_LEN + k->len)
        != 0)
    {
        OPENSSL_cleanse(k->value, sizeof(k->value));
        return KEYS_ECRYPTO;
    }

    return 0;
}


static int
keys_put(keys_t *ks, MDB_txn *txn, const keys_key_t *k, unsigned flags)
{
    int      rc;
    size_t   len;
    uint8_t  buf[KEYS_ENTRY_MAX], dbkey[KEYS_DB_KEY_LEN];
    MDB_val  key, val;

    rc = keys_encode(ks, k, buf, &len);
    if (rc != 0) {
        return rc;
    }

    keys_db_key(k, dbkey);

    key.mv_size = KEYS_DB_KEY_LEN;
    key.mv_data = dbkey;
    val.mv_size = len;
    val.mv_data = buf;

    return mdb_put(txn, ks->st->enc_keys, &key, &val, flags);
}


static int
keys_check_make(keys_t *ks, uint8_t buf[KEYS_CHECK_LEN])
{
    buf[0] = KEYS_FORMAT;

    if (RAND_bytes(buf + 1, KEYS_NONCE_LEN) != 1) {
        return -1;
    }

    return keys_gcm(1, ks->wrap, buf + 1, (const uint8_t *) KEYS_CHECK_AAD,
                    sizeof(KEYS_CHECK_AAD) - 1, NULL, 0,
                    (const uint8_t *) KEYS_CHECK_PLAIN, 32, buf + 13,
                    buf + 45);
}


static int
keys_check_verify(keys_t *ks, const uint8_t buf[KEYS_CHECK_LEN])
{
    int      rc;
    uint8_t  plain[32];

    if (buf[0] != KEYS_FORMAT) {
        return -1;
    }

    rc = keys_gcm(0, ks->wrap, buf + 1, (const uint8_t *) KEYS_CHECK_AAD,
                  sizeof(KEYS_CHECK_AAD) - 1, NULL, 0, buf + 13, 32, plain,
                  (uint8_t *) buf + 45);

    if (rc == 0 && CRYPTO_memcmp(plain, KEYS_CHECK_PLAIN, 32) != 0) {
        rc = -1;
    }

    return rc;
}


static int
keys_serial_get(keys_t *ks, MDB_txn *txn, uint64_t *serial)
{
    int      rc;
    MDB_val  key, val;

    key.mv_size = KEYS_SERIAL_KEY_LEN;
    key.mv_data = (void *) KEYS_SERIAL_KEY;

    rc = mdb_get(txn, ks->st->enc_keys, &key, &val);

    if (rc == MDB_NOTFOUND) {
        *serial = 0;
        return 0;
    }

    if (rc != 0) {
        return rc;
    }

    if (val.mv_size != 8) {
        return KEYS_EFORMAT;
    }

    *serial = keys_get64(val.mv_data);

    return 0;
}


static int
keys_serial_put(keys_t *ks, MDB_txn *txn, uint64_t serial)
{
    uint8_t  buf[8];
    MDB_val  key, val;

    keys_put64(buf, serial);

    key.mv_size = KEYS_SERIAL_KEY_LEN;
    key.mv_data = (void *) KEYS_SERIAL_KEY;
    val.mv_size = 8;
    val.mv_data = buf;

    return mdb_put(txn, ks->st->enc_keys, &key, &val, 0);
}


/*
 * reloads the keys when another process changed them; a reload that
 * fails keeps those in memory and says why
 */

static int
keys_sync(keys_t *ks, uint64_t now)
{
    int       rc;
    char      err[CONF_ERR_MAX];
    MDB_txn  *txn;
    uint64_t  serial;

    rc = store_txn_begin(ks->st, MDB_RDONLY, &txn);
    if (rc != 0) {
        return rc;
    }

    rc = keys_serial_get(ks, txn, &serial);
    mdb_txn_abort(txn);

    if (rc != 0 || serial == ks->serial) {
        return rc;
    }

    if (keys_load(ks, now, 0, err, sizeof(err)) != 0) {
        log_warnx("reloading keys failed, keeping those loaded: %s", err);
        ks->serial = serial;
        return KEYS_EFORMAT;
    }

    log_info("keys changed by another process, reloaded");

    keys_notify(ks);
    ks->published = 0;
    keys_publish(ks);

    return 0;
}


/* ---- crypto ---- */


static int
keys_gcm(int enc, const uint8_t key[32], const uint8_t nonce[KEYS_NONCE_LEN],
    const uint8_t *aad, size_t aadlen, const uint8_t *aad2, size_t aad2len,
    const uint8_t *in, size_t len, uint8_t *out, uint8_t tag[KEYS_TAG_LEN])
{
    int              rc, n;
    EVP_CIPHER_CTX  *ctx;

    ctx = EVP_CIPHER_CTX_new();
    if (ctx == NULL) {
        return -1;
    }

    rc = -1;

    if (EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL, enc) != 1
        || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, KEYS_NONCE_LEN,
                               NULL) != 1
        || EVP_CipherInit_ex(ctx, NULL, NULL, key, nonce, enc) != 1)
    {
        goto done;
    }

    if (aadlen && EVP_CipherUpdate(ctx, NULL, &n, aad, (int) aadlen) != 1) {
        goto done;
    }

    if (aad2len && EVP_CipherUpdate(ctx, NULL, &n, aad2, (int) aad2len) != 1)
    {
        goto done;
    }

    if (len && EVP_CipherUpdate(ctx, out, &n, in, (int) len) != 1) {
        goto done;
    }

    if (!enc && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, KEYS_TAG_LEN,
                                    tag) != 1)
    {
        goto done;
    }

    if (EVP_CipherFinal_ex(ctx, out + len, &n) != 1) {
        goto done;
    }

    if (enc && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, KEYS_TAG_LEN,
                                   tag) != 1)
    {
        goto done;
    }

    rc = 0;

done:

    if (rc != 0 && !enc && len) {
        OPENSSL_cleanse(out, len);
    }

    EVP_CIPHER_CTX_free(ctx);
    ERR_clear_error();

    return rc;
}


static int
keys_hkdf(const uint8_t *ikm, size_t ikmlen, const uint8_t *salt,
    size_t saltlen, const char *info, uint8_t out[32])
{
    int            rc;
    char           digest[] = "SHA256";
    EVP_KDF       *kdf;
    OSSL_PARAM     params[5];
    EVP_KDF_CTX   *ctx;

    kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    if (kdf == NULL) {
        return -1;
    }

    ctx = EVP_KDF_CTX_new(kdf);
    EVP_KDF_free(kdf);

    if (ctx == NULL) {
        return -1;
    }

    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
                                                 digest, 0);
    params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
                                                  (void *) ikm, ikmlen);
    params[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
                                                  (void *) salt, saltlen);
    params[3] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
                                                  (void *) info,
                                                  strlen(info));
    params[4] = OSSL_PARAM_construct_end();

    rc = EVP_KDF_derive(ctx, out, 32, params) == 1 ? 0 : -1;

    EVP_KDF_CTX_free(ctx);

    return rc;
}


/*
 * HMAC-SHA256 with a secret key; webhook_signing keys with the hex of
 * their value, which is what the receivers hold (keys webhook-secret)
 */

static int
keys_hmac(const keys_key_t *k, const uint8_t *msg, size_t len,
    uint8_t out[KEYS_MAC_LEN])
{
    char            hex[2 * KEYS_VALUE_LEN + 1];
    size_t          outlen;
    const uint8_t  *key;
    size_t          keylen;

    key = k->value;
    keylen = k->len;

    if (k->type == KEYS_WEBHOOK_SIGNING) {
        keys_hex(k->value, k->len, hex);
        key = (const uint8_t *) hex;
        keylen = 2 * k->len;
    }

    if (EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key, keylen, msg, len,
                  out, KEYS_MAC_LEN, &outlen) == NULL
        || outlen != KEYS_MAC_LEN)
    {
        OPENSSL_cleanse(hex, sizeof(hex));
        return -1;
    }

    OPENSSL_cleanse(hex, sizeof(hex));

    return 0;
}


/* the EVP_PKEY of an asymmetric key's private half */

static EVP_PKEY *
keys_pkey(const keys_key_t *k)
{
    int  id;

    id = k->type == KEYS_LOG_SEALING ? EVP_PKEY_X25519 : EVP_PKEY_ED25519;

    return EVP_PKEY_new_raw_private_key(id, NULL, k->value, k->len);
}


static int
keys_generate(keys_key_t *k, int type, uint32_t version, uint64_t now)
{
    size_t     len;
    EVP_PKEY  *pkey;

    memset(k, 0, sizeof(keys_key_t));

    k->type = type;
    k->state = KEYS_ACTIVE;
    k->version = version;
    k->created = now;
    k->len = KEYS_VALUE_LEN;

    if (RAND_bytes(k->id, KEYS_ID_LEN) != 1
        || RAND_priv_bytes(k->value, KEYS_VALUE_LEN) != 1)
    {
        return -1;
    }

    if (type != KEYS_LOG_SEALING && type != KEYS_REPORT_SIGNING) {
        return 0;
    }

    pkey = keys_pkey(k);
    if (pkey == NULL) {
        return -1;
    }

    len = KEYS_PUBLIC_LEN;

    if (EVP_PKEY_get_raw_public_key(pkey, k->pub, &len) != 1
        || len != KEYS_PUBLIC_LEN)
    {
        EVP_PKEY_free(pkey);
        return -1;
    }

    k->pub_len = len;
    EVP_PKEY_free(pkey);

    return 0;
}


/* a value of the right length, whose public half matches the stored one */

static int
keys_check_value(const keys_key_t *k, const char **reason)
{
    size_t     len;
    uint8_t    pub[KEYS_PUBLIC_LEN];
    EVP_PKEY  *pkey;

    if (k->len == 0) {
        *reason = "the wrapped value does not unwrap: it is damaged, or "
                  "wrapped under another master key";
        return -1;
    }

    if (k->len != KEYS_VALUE_LEN) {
        *reason = "the value has the wrong length";
        return -1;
    }

    if (k->type != KEYS_LOG_SEALING && k->type != KEYS_REPORT_SIGNING) {
        return 0;
    }

    pkey = keys_pkey(k);
    if (pkey == NULL) {
        *reason = "the value is not a private key";
        return -1;
    }

    len = sizeof(pub);

    if (EVP_PKEY_get_raw_public_key(pkey, pub, &len) != 1
        || len != k->pub_len || memcmp(pub, k->pub, len) != 0)
    {
        EVP_PKEY_free(pkey);
        *reason = "the public key does not match the private key";
        return -1;
    }

    EVP_PKEY_free(pkey);

    return 0;
}


/* a test vector through the key: encrypt and decrypt, sign and verify */

static int
keys_roundtrip(const keys_key_t *k, const char **reason)
{
    int              rc;
    size_t           len, siglen, slen;
    uint8_t          nonce[KEYS_NONCE_LEN], tag[KEYS_TAG_LEN], ct[64],
                     pt[64], mac[KEYS_MAC_LEN], mac2[KEYS_MAC_LEN],
                     sig[KEYS_SIG_MAX], sealed[64 + KEYS_SEAL_OVERHEAD];
    EVP_PKEY        *pkey, *pub;
    EVP_MD_CTX      *md;
    keys_t           one;
    const uint8_t   *vec;

    static const char  vector[] = "keryu key validation vector, format 1";

    vec = (const uint8_t *) vector;
    len = sizeof(vector) - 1;
    rc = -1;

    switch (k->type) {

    case KEYS_DATA:
        memset(nonce, 0x5a, sizeof(nonce));

        if (keys_gcm(1, k->value, nonce, NULL, 0, NULL, 0, vec, len, ct, tag)
            != 0
            || keys_gcm(0, k->value, nonce, NULL, 0, NULL, 0, ct, len, pt,
                        tag) != 0
            || memcmp(pt, vec, len) != 0)
        {
            *reason = "encrypt and decrypt of the test vector failed";
            return -1;
        }

        return 0;

    case KEYS_LOG_SEALING:

        /* a keys_t of this one key, for keys_unseal() */

        memset(&one, 0, sizeof(keys_t));
        one.enabled = 1;
        one.keys = (keys_key_t *) k;
        one.n = 1;
        one.nalloc = 1;

        if (len + KEYS_SEAL_OVERHEAD > sizeof(sealed)
            || keys_seal_to(k->pub, k->version, vec, len, sealed, &slen) != 0
            || keys_unseal(&one, sealed, slen, pt, &siglen) != 0
            || siglen != len || memcmp(pt, vec, len) != 0)
        {
            keys_seal_forget(&one, 0);
            *reason = "seal and unseal of the test vector failed";
            return -1;
        }

        keys_seal_forget(&one, 0);

        return 0;

    case KEYS_BLIND_INDEX:
    case KEYS_WEBHOOK_SIGNING:
        if (keys_hmac(k, vec, len, mac) != 0
            || keys_hmac(k, vec, len, mac2) != 0
            || CRYPTO_memcmp(mac, mac2, sizeof(mac)) != 0)
        {
            *reason = "HMAC of the test vector failed";
            return -1;
        }

        mac2[0] ^= 1;

        if (CRYPTO_memcmp(mac, mac2, sizeof(mac)) == 0) {
            *reason = "HMAC of the test vector failed";
            return -1;
        }

        return 0;

    case KEYS_REPORT_SIGNING:
        pkey = keys_pkey(k);
        pub = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, k->pub,
                                          k->pub_len);
        md = EVP_MD_CTX_new();
        siglen = sizeof(sig);

        if (pkey && pub && md
            && EVP_DigestSignInit(md, NULL, NULL, NULL, pkey) == 1
            && EVP_DigestSign(md, sig, &siglen, vec, len) == 1
            && EVP_MD_CTX_reset(md) == 1
            && EVP_DigestVerifyInit(md, NULL, NULL, NULL, pub) == 1
            && EVP_DigestVerify(md, sig, siglen, vec, len) == 1)
        {
            rc = 0;

        } else {
            *reason = "sign and verify of the test vector failed";
        }

        EVP_MD_CTX_free(md);
        EVP_PKEY_free(pkey);
        EVP_PKEY_free(pub);
        ERR_clear_error();

        return rc;
    }

    *reason = "unknown key type";

    return -1;
}


/* ---- rotation and the timer ---- */


static int
keys_retired_state(int type)
{
    if (type == KEYS_LOG_SEALING || type == KEYS_DATA) {
        return KEYS_DECRYPT_ONLY;
    }

    return KEYS_VERIFY_ONLY;
}


/*
 * when a key's state ends, or 0 for never: an active key's rotation, a
 * verify_only key's end of grace, a decrypt_only key's end once what it
 * encrypted has passed retention (the grace added for records that reach
 * keryud late)
 */

static uint64_t
keys_until(keys_t *ks, const keys_key_t *k)
{
    switch (k->state) {

    case KEYS_ACTIVE:
        return ks->period[k->type] ? k->created + ks->period[k->type] : 0;

    case KEYS_VERIFY_ONLY:
        return k->rotated + ks->grace;

    case KEYS_DECRYPT_ONLY:
        return ks->retention ? k->rotated + ks->retention + ks->grace : 0;
    }

    return 0;
}


int
keys_rotate(keys_t *ks, int type, uint64_t now, const char *actor,
    keys_key_t *before, keys_key_t *after)
{
    int          rc;
    char         kid[KEYS_KID_LEN + 1], nkid[KEYS_KID_LEN + 1], sum[256];
    MDB_txn     *txn;
    uint32_t     version;
    keys_key_t   nk, ok, *old;

    if (!keys_enabled(ks)) {
        return KEYS_EDISABLED;
    }

    if (type < KEYS_LOG_SEALING || type > KEYS_JWT_HMAC) {
        return KEYS_ENOKEY;
    }

    if (type == KEYS_BLIND_INDEX || type == KEYS_JWT_HMAC) {
        return KEYS_ENOROTATE;
    }

    keys_sync(ks, now);

    version = keys_last_version(ks, type);

    if (version >= KEYS_VERSIONS_MAX) {
        return KEYS_ENOROTATE;
    }

    if (keys_generate(&nk, type, version + 1, now) != 0) {
        OPENSSL_cleanse(&nk, sizeof(keys_key_t));
        return KEYS_ECRYPTO;
    }

    old = keys_active(ks, type);

    if (old) {
        ok = *old;
        ok.state = keys_retired_state(type);
        ok.rotated = now;
    }

    rc = store_txn_begin(ks->st, 0, &txn);
    if (rc != 0) {
        goto wipe;
    }

    if ((old && (rc = keys_put(ks, txn, &ok, 0)) != 0)
        || (rc = keys_put(ks, txn, &nk, MDB_NOOVERWRITE)) != 0
        || (rc = keys_serial_put(ks, txn, ks->serial + 1)) != 0)
    {
        mdb_txn_abort(txn);
        goto wipe;
    }

    /* a failed commit has freed the transaction already */

    rc = mdb_txn_commit(txn);
    if (rc != 0) {
        goto wipe;
    }

    ks->serial++;

    if (before) {
        if (old) {
            keys_meta(old, before);

        } else {
            memset(before, 0, sizeof(keys_key_t));
        }
    }

    if (old) {
        *old = ok;
    }

    if (keys_insert(ks, &nk) != 0) {
        rc = ENOMEM;
        goto wipe;
    }

    if (after) {
        keys_meta(&nk, after);
    }

    keys_kid(&nk, nkid);

    if (old) {
        keys_kid(&ok, kid);
        log_info("key %s v%u (%s) rotated by %s, v%u (%s) active, v%u %s",
                 keys_type_name(type), ok.version, kid, actor, nk.version,
                 nkid, ok.version, keys_state_name(ok.state));

    } else {
        log_info("key %s v%u (%s) made active by %s", keys_type_name(type),
                 nk.version, nkid, actor);
    }

    snprintf(sum, sizeof(sum), "%s key rotated by %s: v%u (%s) active%s",
             keys_type_name(type), actor, nk.version, nkid,
             old ? ", the previous version retired" : "");

    keys_alert(ks, "rotated", KERYU_SEVERITY_LOW, &nk, actor, sum, now);

    if (type == KEYS_LOG_SEALING) {
        keys_publish(ks);

    } else if (type == KEYS_WEBHOOK_SIGNING) {
        keys_notify(ks);
    }

    ks->next = 0;

wipe:

    OPENSSL_cleanse(&nk, sizeof(keys_key_t));
    OPENSSL_cleanse(&ok, sizeof(keys_key_t));

    return rc;
}


/* zeroes and deletes a retired key's value; its metadata stays */

static int
keys_destroy(keys_t *ks, keys_key_t *k, uint64_t now)
{
    int          rc;
    char         kid[KEYS_KID_LEN + 1], sum[256];
    MDB_txn     *txn;
    keys_key_t   dk, before;

    dk = *k;
    OPENSSL_cleanse(dk.value, sizeof(dk.value));
    dk.len = 0;
    dk.state = KEYS_DESTROYED;
    dk.destroyed = now;

    rc = store_txn_begin(ks->st, 0, &txn);
    if (rc != 0) {
        return rc;
    }

    if ((rc = keys_put(ks, txn, &dk, 0)) != 0
        || (rc = keys_serial_put(ks, txn, ks->serial + 1)) != 0)
    {
        mdb_txn_abort(txn);
        return rc;
    }

    rc = mdb_txn_commit(txn);
    if (rc != 0) {
        return rc;
    }

    ks->serial++;

    keys_meta(k, &before);
    OPENSSL_cleanse(k, sizeof(keys_key_t));
    *k = dk;

    if (k->type == KEYS_LOG_SEALING) {
        keys_seal_forget(ks, k->version);
    }

    keys_kid(k, kid);
    log_info("key %s v%u (%s) destroyed, was %s", keys_type_name(k->type),
             k->version, kid, keys_state_name(before.state));

    snprintf(sum, sizeof(sum), "%s key v%u (%s) destroyed after its %s "
             "period", keys_type_name(k->type), k->version, kid,
             before.state == KEYS_VERIFY_ONLY ? "grace" : "retention");

    keys_alert(ks, "destroyed", KERYU_SEVERITY_LOW, k, KEYS_ACTOR, sum, now);
    keys_changed(ks, KEYS_ACTOR, "keys.destroy", keys_type_name(k->type),
                 &before, k, "TIMER",
                 before.state == KEYS_VERIFY_ONLY ? "key_grace" : "retention",
                 now);

    return 0;
}


void
keys_tick(keys_t *ks, uint64_t now)
{
    int          rc, type;
    size_t       i;
    uint64_t     until, next;
    keys_key_t  *k, before, after;

    if (!keys_enabled(ks)) {
        return;
    }

    keys_sync(ks, now);

    if (now < ks->next) {
        return;
    }

    /*
     * a replaced shared store has lost the sealing key: look again, at
     * most once a KEYS_TICK_MAX, which also spaces out failures' lines
     */

    ks->published = 0;
    keys_publish(ks);

    for (type = KEYS_LOG_SEALING; type <= KEYS_MANAGED; type++) {
        k = keys_active(ks, type);

        if (k == NULL || type == KEYS_BLIND_INDEX) {
            continue;
        }

        until = keys_until(ks, k);

        if (until == 0 || now < until) {
            continue;
        }

        rc = keys_rotate(ks, type, now, KEYS_ACTOR, &before, &after);

        if (rc != 0) {
            log_warnx("rotating the %s key failed: %s", keys_type_name(type),
                      keys_strerror(rc));
            continue;
        }

        keys_changed(ks, KEYS_ACTOR, "keys.rotate", keys_type_name(type),
                     &before, &after, "TIMER", "key_period", now);
    }

    for (i = 0; i < ks->n; i++) {
        k = &ks->keys[i];

        if (k->state != KEYS_VERIFY_ONLY && k->state != KEYS_DECRYPT_ONLY) {
            continue;
        }

        until = keys_until(ks, k);

        if (until == 0 || now < until) {
            continue;
        }

        rc = keys_destroy(ks, k, now);
        if (rc != 0) {
            log_warnx("destroying the %s key v%u failed: %s",
                      keys_type_name(k->type), k->version, keys_strerror(rc));
        }
    }

    next = now + KEYS_TICK_MAX;

    for (i = 0; i < ks->n; i++) {
        until = keys_until(ks, &ks->keys[i]);

        if (ks->keys[i].state != KEYS_DESTROYED && until > now
            && until < next)
        {
            next = until;
        }
    }

    ks->next = next;
}


/* writes the active sealing public key to the shared store if it differs */

static void
keys_publish(keys_t *ks)
{
    int           rc;
    char          kid[KEYS_KID_LEN + 1];
    uint8_t       pub[KERYU_SEALING_PUBLIC_LEN];
    MDB_txn      *txn;
    uint64_t      version;
    keys_key_t   *k;

    if (ks->src == NULL || ks->src->env == NULL) {
        return;
    }

    k = keys_active(ks, KEYS_LOG_SEALING);

    if (k == NULL || ks->published == k->version) {
        return;
    }

    rc = keryu_store_txn_begin(ks->src, MDB_RDONLY, &txn);
    if (rc != 0) {
        goto failed;
    }

    rc = keryu_store_sealing_get(ks->src, txn, &version, pub);
    mdb_txn_abort(txn);

    if (rc == 0 && version == k->version
        && memcmp(pub, k->pub, KERYU_SEALING_PUBLIC_LEN) == 0)
    {
        ks->published = k->version;
        return;
    }

    if (rc != 0 && rc != MDB_NOTFOUND && rc != MDB_CORRUPTED) {
        goto failed;
    }

    rc = keryu_store_txn_begin(ks->src, 0, &txn);
    if (rc != 0) {
        goto failed;
    }

    rc = keryu_store_sealing_put(ks->src, txn, k->version, k->pub);
    if (rc != 0) {
        mdb_txn_abort(txn);
        goto failed;
    }

    rc = mdb_txn_commit(txn);
    if (rc != 0) {
        goto failed;
    }

    ks->published = k->version;

    keys_kid(k, kid);
    log_info("sealing public key v%u (%s) published in the shared store",
             k->version, kid);

    return;

failed:

    log_warnx("publishing the sealing public key failed: %s",
              keryu_store_strerror(rc));
}


/* keys the webhook's HMAC with the active webhook_signing key */

static void
keys_notify(keys_t *ks)
{
    char         hex[2 * KEYS_VALUE_LEN + 1], kid[KEYS_KID_LEN + 1];
    keys_key_t  *k;

    if (ks->notify == NULL || !ks->webhook_managed) {
        return;
    }

    k = keys_active(ks, KEYS_WEBHOOK_SIGNING);

    if (k == NULL || k->len == 0 || ks->webhook_version == k->version) {
        return;
    }

    keys_hex(k->value, k->len, hex);

    if (notify_set_secret(ks->notify, (const uint8_t *) hex, 2 * k->len)
        != 0)
    {
        log_warnx("keying the webhook with webhook_signing v%u failed",
                  k->version);
        OPENSSL_cleanse(hex, sizeof(hex));
        return;
    }

    OPENSSL_cleanse(hex, sizeof(hex));

    ks->webhook_version = k->version;

    keys_kid(k, kid);
    log_info("webhook signed with webhook_signing v%u (%s)", k->version,
             kid);
}


static void
keys_alert(keys_t *ks, const char *event, int severity, const keys_key_t *k,
    const char *actor, const char *summary, uint64_t now)
{
    int             rc, opened;
    char            rule[64], key[64];
    alert_t         a;
    alert_raise_t   in;

    if (ks->respond == NULL) {
        return;
    }

    snprintf(rule, sizeof(rule), "keys/%s", event);
    keys_target(k, key, sizeof(key));

    memset(&in, 0, sizeof(alert_raise_t));

    in.rule = rule;
    in.severity = severity;
    in.key = key;
    in.key_type = "key";
    in.summary = summary;
    in.count = 1;
    in.first_us = now * 1000000;
    in.last_us = now * 1000000;
    in.actor = actor;

    rc = respond_raise(ks->respond, &in, &a, &opened);
    if (rc != 0) {
        log_warnx("alert %s: %s: storing the alert failed: %s", rule, key,
                  mdb_strerror(rc));
        return;
    }

    log_info("alert %llu %s: %s", (unsigned long long) a.id, rule, key);

    alert_free(&a);
}


/* a system_change for a key, its before and after as the API shows them */

static void
keys_changed(keys_t *ks, const char *actor, const char *action,
    const char *target, const keys_key_t *before, const keys_key_t *after,
    const char *method, const char *uri, uint64_t now)
{
    int              rc;
    size_t           blen, alen;
    json_t          *bj, *aj;
    change_t         c;
    const uint8_t   *b, *a;

    bj = NULL;
    aj = NULL;
    b = NULL;
    a = NULL;
    blen = 0;
    alen = 0;

    if (before && before->version) {
        bj = json_new();

        if (bj) {
            keys_key_json(ks, before, now, bj);

            if (json_result(bj, &b, &blen) != 0) {
                b = NULL;
            }
        }
    }

    if (after && after->version) {
        aj = json_new();

        if (aj) {
            keys_key_json(ks, after, now, aj);

            if (json_result(aj, &a, &alen) != 0) {
                a = NULL;
            }
        }
    }

    memset(&c, 0, sizeof(change_t));

    c.actor = actor;
    c.action = action;
    c.target = target;
    c.before = (const char *) b;
    c.before_len = blen;
    c.after = (const char *) a;
    c.after_len = alen;
    c.method = method;
    c.uri = uri;

    rc = change_record(ks->st, &c);
    if (rc != 0) {
        log_warnx("recording %s of \"%s\" failed: %s", action, target,
                  mdb_strerror(rc));
    }

    json_free(bj);
    json_free(aj);
}


static void
keys_target(const keys_key_t *k, char *buf, size_t size)
{
    snprintf(buf, size, "%s/v%u", keys_type_name(k->type), k->version);
}


/* a key's metadata only */

static void
keys_meta(const keys_key_t *k, keys_key_t *out)
{
    *out = *k;
    OPENSSL_cleanse(out->value, sizeof(out->value));
}


/* ---- using the keys ---- */


int
keys_sign(keys_t *ks, int type, const uint8_t *msg, size_t len,
    uint8_t *sig, size_t *siglen)
{
    int          rc;
    EVP_PKEY    *pkey;
    EVP_MD_CTX  *md;
    keys_key_t  *k;

    if (!keys_enabled(ks)) {
        return KEYS_EDISABLED;
    }

    if (type != KEYS_REPORT_SIGNING && type != KEYS_WEBHOOK_SIGNING
        && type != KEYS_BLIND_INDEX)
    {
        return KEYS_ENOKEY;
    }

    k = keys_active(ks, type);

    if (k == NULL || k->len == 0) {
        return KEYS_ENOKEY;
    }

    if (type != KEYS_REPORT_SIGNING) {
        if (*siglen < KEYS_MAC_LEN || keys_hmac(k, msg, len, sig) != 0) {
            return KEYS_ECRYPTO;
        }

        *siglen = KEYS_MAC_LEN;

        return 0;
    }

    if (*siglen < KEYS_SIG_MAX) {
        return KEYS_ECRYPTO;
    }

    pkey = keys_pkey(k);
    md = EVP_MD_CTX_new();

    rc = (pkey && md
          && EVP_DigestSignInit(md, NULL, NULL, NULL, pkey) == 1
          && EVP_DigestSign(md, sig, siglen, msg, len) == 1)
         ? 0 : KEYS_ECRYPTO;

    EVP_MD_CTX_free(md);
    EVP_PKEY_free(pkey);
    ERR_clear_error();

    return rc;
}


int
keys_verify(keys_t *ks, int type, uint32_t version, const uint8_t *msg,
    size_t len, const uint8_t *sig, size_t siglen)
{
    int          rc;
    uint8_t      mac[KEYS_MAC_LEN];
    EVP_PKEY    *pub;
    EVP_MD_CTX  *md;
    keys_key_t  *k;

    if (!keys_enabled(ks)) {
        return KEYS_EDISABLED;
    }

    k = keys_find(ks, type, version);

    if (k == NULL) {
        return KEYS_ENOKEY;
    }

    if (type == KEYS_WEBHOOK_SIGNING || type == KEYS_BLIND_INDEX) {
        if (k->len == 0) {
            return KEYS_ENOKEY;
        }

        if (keys_hmac(k, msg, len, mac) != 0 || siglen != KEYS_MAC_LEN
            || CRYPTO_memcmp(mac, sig, KEYS_MAC_LEN) != 0)
        {
            return KEYS_ECRYPTO;
        }

        return 0;
    }

    if (type != KEYS_REPORT_SIGNING) {
        return KEYS_ENOKEY;
    }

    /* a destroyed signing key still verifies: its public half stays */

    pub = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, k->pub,
                                      k->pub_len);
    md = EVP_MD_CTX_new();

    rc = (pub && md
          && EVP_DigestVerifyInit(md, NULL, NULL, NULL, pub) == 1
          && EVP_DigestVerify(md, sig, siglen, msg, len) == 1)
         ? 0 : KEYS_ECRYPTO;

    EVP_MD_CTX_free(md);
    EVP_PKEY_free(pub);
    ERR_clear_error();

    return rc;
}


int
keys_public(keys_t *ks, int type, uint32_t version, uint8_t *pub,
    size_t *publen, uint32_t *got)
{
    keys_key_t  *k;

    if (!keys_enabled(ks)) {
        return KEYS_EDISABLED;
    }

    k = keys_find(ks, type, version);

    if (k == NULL || k->pub_len == 0 || *publen < k->pub_len) {
        return KEYS_ENOKEY;
    }

    memcpy(pub, k->pub, k->pub_len);
    *publen = k->pub_len;

    if (got) {
        *got = k->version;
    }

    return 0;
}


int
keys_encrypt(keys_t *ks, const uint8_t *in, size_t len, const uint8_t *aad,
    size_t aadlen, uint8_t *out, size_t *outlen)
{
    keys_key_t  *k;

    if (!keys_enabled(ks)) {
        return KEYS_EDISABLED;
    }

    k = keys_active(ks, KEYS_DATA);

    if (k == NULL || k->len == 0) {
        return KEYS_ENOKEY;
    }

    keys_put32(out, k->version);

    if (RAND_bytes(out + 4, KEYS_NONCE_LEN) != 1
        || keys_gcm(1, k->value, out + 4, out, 4, aad, aadlen, in, len,
                    out + 4 + KEYS_NONCE_LEN,
                    out + 4 + KEYS_NONCE_LEN + len) != 0)
    {
        return KEYS_ECRYPTO;
    }

    *outlen = len + KEYS_DATA_OVERHEAD;

    return 0;
}


int
keys_decrypt(keys_t *ks, const uint8_t *in, size_t len, const uint8_t *aad,
    size_t aadlen, uint8_t *out, size_t *outlen)
{
    size_t       n;
    keys_key_t  *k;

    if (!keys_enabled(ks)) {
        return KEYS_EDISABLED;
    }

    if (len < KEYS_DATA_OVERHEAD) {
        return KEYS_EFORMAT;
    }

    k = keys_find(ks, KEYS_DATA, keys_get32(in));

    if (k == NULL || k->len == 0 || k->version == 0) {
        return KEYS_ENOKEY;
    }

    n = len - KEYS_DATA_OVERHEAD;

    if (keys_gcm(0, k->value, in + 4, in, 4, aad, aadlen,
                 in + 4 + KEYS_NONCE_LEN, n, out,
                 (uint8_t *) in + 4 + KEYS_NONCE_LEN + n)
        != 0)
    {
        return KEYS_ECRYPTO;
    }

    *outlen = n;

    return 0;
}


int
keys_seal_to(const uint8_t pub[KEYS_PUBLIC_LEN], uint32_t version,
    const uint8_t *in, size_t len, uint8_t *out, size_t *outlen)
{
    if (keryu_seal_to(pub, version, NULL, 0, in, len, out) != 0) {
        return KEYS_ECRYPTO;
    }

    *outlen = len + KEYS_SEAL_OVERHEAD;

    return 0;
}


int
keys_unseal(keys_t *ks, const uint8_t *in, size_t len, uint8_t *out,
    size_t *outlen)
{
    return keys_unseal_aad(ks, in, len, NULL, 0, out, outlen);
}


/*
 * a worker seals every record under one ephemeral key per sealing key
 * version, so the key agreement's outcome is kept, by version and
 * ephemeral public key, and most records cost one AES-GCM pass
 */

int
keys_unseal_aad(keys_t *ks, const uint8_t *in, size_t len,
    const uint8_t *aad, size_t aadlen, uint8_t *out, size_t *outlen)
{
    size_t              i;
    uint32_t            version;
    keys_key_t         *k;
    keys_seal_cache_t  *c;

    if (!keys_enabled(ks)) {
        return KEYS_EDISABLED;
    }

    if (len < KEYS_SEAL_OVERHEAD) {
        return KEYS_EFORMAT;
    }

    version = keryu_seal_version(in);

    k = keys_find(ks, KEYS_LOG_SEALING, version);

    if (k == NULL || k->len == 0 || version == 0) {
        return KEYS_ENOKEY;
    }

    c = NULL;

    for (i = 0; i < KEYS_SEAL_CACHE; i++) {
        if (ks->seal_cache[i].version == version
            && memcmp(ks->seal_cache[i].eph, in + 4, KEYS_PUBLIC_LEN) == 0)
        {
            c = &ks->seal_cache[i];
            break;
        }
    }

    if (c == NULL) {
        c = &ks->seal_cache[ks->seal_next++ % KEYS_SEAL_CACHE];
        c->version = 0;

        if (keryu_seal_derive(k->value, k->pub, in + 4, c->key) != 0) {
            OPENSSL_cleanse(c->key, sizeof(c->key));
            return KEYS_ECRYPTO;
        }

        c->version = version;
        memcpy(c->eph, in + 4, KEYS_PUBLIC_LEN);
    }

    if (keryu_seal_open(c->key, in, len, aad, aadlen, out) != 0) {
        return KEYS_ECRYPTO;
    }

    *outlen = len - KEYS_SEAL_OVERHEAD;

    return 0;
}


/* forgets the kept keys of a sealing key version (0: of every version) */

static void
keys_seal_forget(keys_t *ks, uint32_t version)
{
    size_t  i;

    for (i = 0; i < KEYS_SEAL_CACHE; i++) {
        if (version == 0 || ks->seal_cache[i].version == version) {
            OPENSSL_cleanse(&ks->seal_cache[i], sizeof(keys_seal_cache_t));
        }
    }
}


/* ---- validation ---- */


int
keys_validate(keys_t *ks, uint64_t now, keys_check_pt handler, void *ctx,
    unsigned *failed)
{
    int            rc, check_ok;
    char           sum[256];
    size_t         i;
    keys_key_t    *k;
    keys_read_t    r;
    keys_check_t   c;

    *failed = 0;

    if (!keys_enabled(ks)) {
        return KEYS_EDISABLED;
    }

    rc = keys_read(ks, &r);
    if (rc != 0) {
        return rc;
    }

    check_ok = r.has_check && keys_check_verify(ks, r.check) == 0;

    for (i = 0; i < r.n; i++) {
        k = &r.keys[i];

        memset(&c, 0, sizeof(keys_check_t));

        c.type = k->type;
        c.version = k->version;
        c.state = k->state;
        keys_kid(k, c.kid);

        if (k->state == KEYS_DESTROYED) {
            c.ok = 1;
            c.skipped = 1;

        } else if (!check_ok) {
            c.reason = "the master key does not decrypt the key check";

        } else if (keys_check_value(k, &c.reason) == 0
                   && keys_roundtrip(k, &c.reason) == 0)
        {
            c.ok = 1;
        }

        if (!c.ok) {
            (*failed)++;

            log_warnx("key %s v%u (%s) fails validation: %s",
                      keys_type_name(k->type), k->version, c.kid, c.reason);

            snprintf(sum, sizeof(sum), "%s key v%u (%s) fails validation: "
                     "%s", keys_type_name(k->type), k->version, c.kid,
                     c.reason);

            keys_alert(ks, "validation_failed", KERYU_SEVERITY_CRITICAL, k,
                       KEYS_ACTOR, sum, now);
        }

        if (handler) {
            handler(ctx, &c);
        }
    }

    keys_read_free(&r);

    return 0;
}


/* ---- backup and restore ---- */


static int
keys_scrypt(const char *pass, size_t passlen, const uint8_t *salt,
    unsigned log2n, uint32_t r, uint32_t p, uint8_t out[32])
{
    int            rc;
    uint64_t       n;
    EVP_KDF       *kdf;
    OSSL_PARAM     params[6];
    EVP_KDF_CTX   *ctx;

    kdf = EVP_KDF_fetch(NULL, "SCRYPT", NULL);
    if (kdf == NULL) {
        return -1;
    }

    ctx = EVP_KDF_CTX_new(kdf);
    EVP_KDF_free(kdf);

    if (ctx == NULL) {
        return -1;
    }

    n = (uint64_t) 1 << log2n;

    params[0] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD,
                                                  (void *) pass, passlen);
    params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
                                                  (void *) salt,
                                                  KEYS_BK_SALT);
    params[2] = OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &n);
    params[3] = OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &r);
    params[4] = OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &p);
    params[5] = OSSL_PARAM_construct_end();

    rc = EVP_KDF_derive(ctx, out, 32, params) == 1 ? 0 : -1;

    EVP_KDF_CTX_free(ctx);
    ERR_clear_error();

    return rc;
}


int
keys_backup(keys_t *ks, const char *pass, size_t passlen, uint64_t now,
    uint8_t **out, size_t *outlen, unsigned *count)
{
    int          rc;
    size_t       i, ptlen, total;
    uint8_t     *buf, *pt, *e, key[32];
    keys_key_t  *k;

    if (!keys_enabled(ks)) {
        return KEYS_EDISABLED;
    }

    keys_sync(ks, now);

    ptlen = ks->n * KEYS_BK_ENTRY;
    total = KEYS_BK_HEAD + ptlen + KEYS_TAG_LEN + SHA256_DIGEST_LENGTH;

    buf = calloc(1, total);
    pt = calloc(1, ptlen ? ptlen : 1);

    if (buf == NULL || pt == NULL) {
        free(buf);
        free(pt);
        return ENOMEM;
    }

    for (i = 0; i < ks->n; i++) {
        k = &ks->keys[i];
        e = pt + i * KEYS_BK_ENTRY;

        e[0] = (uint8_t) k->type;
        e[1] = (uint8_t) k->state;
        e[2] = (uint8_t) k->pub_len;
        e[3] = (uint8_t) k->len;
        keys_put32(e + 4, k->version);
        memcpy(e + 8, k->id, KEYS_ID_LEN);
        keys_put64(e + 16, k->created);
        keys_put64(e + 24, k->rotated);
        keys_put64(e + 32, k->destroyed);
        memcpy(e + 40, k->pub, k->pub_len);
        memcpy(e + 72, k->value, k->len);
    }

    memcpy(buf, KEYS_BK_MAGIC, 8);
    buf[8] = KEYS_FORMAT;
    buf[9] = 1;
    buf[10] = KEYS_BK_LOG2N;
    keys_put32(buf + 12, KEYS_BK_R);
    keys_put32(buf + 16, KEYS_BK_P);
    keys_put64(buf + 48, now);
    keys_put32(buf + 56, (uint32_t) ks->n);
    keys_put32(buf + 60, (uint32_t) ptlen);

    rc = KEYS_ECRYPTO;

    if (RAND_bytes(buf + 20, KEYS_BK_SALT) != 1
        || RAND_bytes(buf + 36, KEYS_NONCE_LEN) != 1
        || keys_scrypt(pass, passlen, buf + 20, KEYS_BK_LOG2N, KEYS_BK_R,
                       KEYS_BK_P, key) != 0
        || keys_gcm(1, key, buf + 36, buf, KEYS_BK_HEAD, NULL, 0, pt, ptlen,
                    buf + KEYS_BK_HEAD, buf + KEYS_BK_HEAD + ptlen) != 0)
    {
        free(buf);
        goto wipe;
    }

    SHA256(buf, KEYS_BK_HEAD + ptlen + KEYS_TAG_LEN,
           buf + KEYS_BK_HEAD + ptlen + KEYS_TAG_LEN);

    *out = buf;
    *outlen = total;
    *count = (unsigned) ks->n;
    rc = 0;

wipe:

    OPENSSL_cleanse(pt, ptlen ? ptlen : 1);
    OPENSSL_cleanse(key, sizeof(key));
    free(pt);

    return rc;
}


int
keys_backup_json(keys_t *ks, const char *pass, size_t passlen, uint64_t now,
    json_t *j, json_t *summary)
{
    int       rc, i, n;
    char      hex[2 * SHA256_DIGEST_LENGTH + 1], *b64;
    size_t    len;
    uint8_t  *buf;
    json_t   *js[2];
    unsigned  count;

    rc = keys_backup(ks, pass, passlen, now, &buf, &len, &count);
    if (rc != 0) {
        return rc;
    }

    b64 = malloc(4 * ((len + 2) / 3) + 1);
    if (b64 == NULL) {
        free(buf);
        return ENOMEM;
    }

    n = EVP_EncodeBlock((unsigned char *) b64, buf, (int) len);
    keys_hex(buf + len - SHA256_DIGEST_LENGTH, SHA256_DIGEST_LENGTH, hex);

    js[0] = j;
    js[1] = summary;

    for (i = 0; i < 2; i++) {
        if (js[i] == NULL) {
            continue;
        }

        json_map_open(js[i]);
        json_key(js[i], "format");
        json_cstring(js[i], "keryu-keys");
        json_key(js[i], "version");
        json_uint(js[i], KEYS_FORMAT);
        json_key(js[i], "keys");
        json_uint(js[i], count);
        json_key(js[i], "bytes");
        json_uint(js[i], len);
        json_key(js[i], "sha256");
        json_cstring(js[i], hex);

        if (i == 0) {
            json_key(js[i], "encoding");
            json_cstring(js[i], "base64");
            json_key(js[i], "backup");
            json_string(js[i], (const uint8_t *) b64, (size_t) n);
        }

        json_map_close(js[i]);
    }

    free(b64);
    free(buf);

    return 0;
}


/* the keys of a backup must each work, one active per type at most */

static int
keys_bk_verify(const keys_key_t *keys, size_t n, const char **reason,
    const keys_key_t **bad)
{
    size_t  i, j;

    for (i = 0; i < n; i++) {
        *bad = &keys[i];

        for (j = 0; j < i; j++) {
            if (keys[j].type == keys[i].type
                && (keys[j].version == keys[i].version
                    || (keys[j].state == KEYS_ACTIVE
                        && keys[i].state == KEYS_ACTIVE)))
            {
                *reason = "it repeats a version, or a second active key";
                return -1;
            }
        }

        if (keys[i].state == KEYS_DESTROYED) {
            continue;
        }

        if (keys_check_value(&keys[i], reason) != 0
            || keys_roundtrip(&keys[i], reason) != 0)
        {
            return -1;
        }
    }

    return 0;
}


int
keys_restore(keys_t *ks, const uint8_t *buf, size_t len, const char *pass,
    size_t passlen, int force, unsigned *count, char *err, size_t errlen)
{
    int                rc;
    char               kid[KEYS_KID_LEN + 1];
    size_t             i, n, ptlen, existing;
    uint8_t           *pt, key[32], md[SHA256_DIGEST_LENGTH],
                       check[KEYS_CHECK_LEN];
    MDB_val            k, v;
    MDB_txn           *txn;
    uint32_t           r, p;
    uint64_t           serial;
    keys_key_t        *keys, *kk;
    MDB_cursor        *cur;
    const uint8_t     *e;
    const char        *reason;
    const keys_key_t  *bad;

    *count = 0;
    err[0] = '\0';

    if (!keys_enabled(ks)) {
        return KEYS_EDISABLED;
    }

    if (len < KEYS_BK_HEAD + KEYS_TAG_LEN + SHA256_DIGEST_LENGTH
        || memcmp(buf, KEYS_BK_MAGIC, 8) != 0)
    {
        snprintf(err, errlen, "not a keryu key backup");
        return KEYS_EFORMAT;
    }

    SHA256(buf, len - SHA256_DIGEST_LENGTH, md);

    if (CRYPTO_memcmp(md, buf + len - SHA256_DIGEST_LENGTH,
                      SHA256_DIGEST_LENGTH) != 0)
    {
        snprintf(err, errlen, "%s", keys_strerror(KEYS_ECHECKSUM));
        return KEYS_ECHECKSUM;
    }

    n = keys_get32(buf + 56);
    ptlen = keys_get32(buf + 60);
    r = keys_get32(buf + 12);
    p = keys_get32(buf + 16);

    /* bounds on the cost a file may ask of scrypt */

    if (buf[8] != KEYS_FORMAT || buf[9] != 1 || buf[10] < 15 || buf[10] > 20
        || r < 1 || r > 32 || p < 1 || p > 16
        || n > KEYS_MANAGED * KEYS_VERSIONS_MAX
        || ptlen != n * KEYS_BK_ENTRY
        || len != KEYS_BK_HEAD + ptlen + KEYS_TAG_LEN + SHA256_DIGEST_LENGTH)
    {
        snprintf(err, errlen, "unsupported backup format or parameters");
        return KEYS_EFORMAT;
    }

    pt = calloc(1, ptlen ? ptlen : 1);
    keys = calloc(n ? n : 1, sizeof(keys_key_t));

    if (pt == NULL || keys == NULL) {
        free(pt);
        free(keys);
        snprintf(err, errlen, "out of memory");
        return ENOMEM;
    }

    if (keys_scrypt(pass, passlen, buf + 20, buf[10], r, p, key) != 0) {
        rc = KEYS_ECRYPTO;
        snprintf(err, errlen, "scrypt failed");
        goto wipe;
    }

    if (keys_gcm(0, key, buf + 36, buf, KEYS_BK_HEAD, NULL, 0,
                 buf + KEYS_BK_HEAD, ptlen, pt,
                 (uint8_t *) buf + KEYS_BK_HEAD + ptlen)
        != 0)
    {
        rc = KEYS_EPASSPHRASE;
        snprintf(err, errlen, "%s", keys_strerror(rc));
        goto wipe;
    }

    for (i = 0; i < n; i++) {
        e = pt + i * KEYS_BK_ENTRY;
        kk = &keys[i];

        kk->type = e[0];
        kk->state = e[1];
        kk->pub_len = e[2];
        kk->len = e[3];
        kk->version = keys_get32(e + 4);
        memcpy(kk->id, e + 8, KEYS_ID_LEN);
        kk->created = keys_get64(e + 16);
        kk->rotated = keys_get64(e + 24);
        kk->destroyed = keys_get64(e + 32);

        if (kk->type < KEYS_LOG_SEALING || kk->type > KEYS_MANAGED
            || kk->state < KEYS_ACTIVE || kk->state > KEYS_DESTROYED
            || kk->version == 0 || kk->pub_len > KEYS_PUBLIC_LEN
            || kk->len > KEYS_VALUE_LEN
            || (kk->state == KEYS_DESTROYED) != (kk->len == 0))
        {
            rc = KEYS_EFORMAT;
            snprintf(err, errlen, "key %zu of the backup is malformed", i + 1);
            goto wipe;
        }

        memcpy(kk->pub, e + 40, kk->pub_len);
        memcpy(kk->value, e + 72, kk->len);
    }

    if (keys_bk_verify(keys, n, &reason, &bad) != 0) {
        keys_kid(bad, kid);
        rc = KEYS_ECRYPTO;
        snprintf(err, errlen, "key %s v%u (%s) of the backup fails "
                 "validation: %s", keys_type_name(bad->type), bad->version,
                 kid, reason);
        goto wipe;
    }

    rc = store_txn_begin(ks->st, 0, &txn);
    if (rc != 0) {
        snprintf(err, errlen, "mdb_txn_begin() failed: %s", mdb_strerror(rc));
        goto wipe;
    }

    rc = keys_serial_get(ks, txn, &serial);
    if (rc != 0) {
        goto txn_failed;
    }

    rc = mdb_cursor_open(txn, ks->st->enc_keys, &cur);
    if (rc != 0) {
        goto txn_failed;
    }

    existing = 0;

    while ((rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) == 0) {
        if (k.mv_size == KEYS_CHECK_KEY_LEN
            && memcmp(k.mv_data, KEYS_CHECK_KEY, KEYS_CHECK_KEY_LEN) == 0)
        {
            if (!force && (v.mv_size != KEYS_CHECK_LEN
                           || keys_check_verify(ks, v.mv_data) != 0))
            {
                rc = KEYS_ECRYPTO;
                mdb_cursor_close(cur);
                snprintf(err, errlen, "wrong master key: it does not "
                         "decrypt the key check of store \"%s\"", ks->data);
                goto txn_abort;
            }

            continue;
        }

        if (k.mv_size == KEYS_DB_KEY_LEN) {
            existing++;
        }
    }

    mdb_cursor_close(cur);

    if (rc != MDB_NOTFOUND) {
        goto txn_failed;
    }

    if (existing && !force) {
        rc = KEYS_ENOTEMPTY;
        snprintf(err, errlen, "store \"%s\" has %zu keys already; --force "
                 "replaces them", ks->data, existing);
        goto txn_abort;
    }

    rc = mdb_drop(txn, ks->st->enc_keys, 0);
    if (rc != 0) {
        goto txn_failed;
    }

    if (keys_check_make(ks, check) != 0) {
        rc = KEYS_ECRYPTO;
        goto txn_failed;
    }

    k.mv_size = KEYS_CHECK_KEY_LEN;
    k.mv_data = (void *) KEYS_CHECK_KEY;
    v.mv_size = KEYS_CHECK_LEN;
    v.mv_data = check;

    rc = mdb_put(txn, ks->st->enc_keys, &k, &v, 0);
    if (rc != 0) {
        goto txn_failed;
    }

    for (i = 0; i < n; i++) {
        rc = keys_put(ks, txn, &keys[i], MDB_NOOVERWRITE);
        if (rc != 0) {
            goto txn_failed;
        }
    }

    rc = keys_serial_put(ks, txn, serial + 1);
    if (rc != 0) {
        goto txn_failed;
    }

    rc = mdb_txn_commit(txn);
    if (rc != 0) {
        snprintf(err, errlen, "mdb_txn_commit() failed: %s",
                 mdb_strerror(rc));
        goto wipe;
    }

    /* the store is the truth now; reload what it holds */

    ks->serial = 0;

    if (keys_load(ks, keys_now(), 0, err, errlen) != 0) {
        rc = KEYS_EFORMAT;
        goto wipe;
    }

    *count = (unsigned) n;
    rc = 0;

    goto wipe;

txn_failed:

    snprintf(err, errlen, "writing the keys failed: %s", keys_strerror(rc));

txn_abort:

    mdb_txn_abort(txn);

wipe:

    OPENSSL_cleanse(pt, ptlen ? ptlen : 1);
    OPENSSL_cleanse(keys, (n ? n : 1) * sizeof(keys_key_t));
    OPENSSL_cleanse(key, sizeof(key));
    free(pt);
    free(keys);

    return rc;
}


/* ---- JSON ---- */


void
keys_key_json(keys_t *ks, const keys_key_t *k, uint64_t now, json_t *j)
{
    int       n;
    char      kid[KEYS_KID_LEN + 1], b64[4 * ((KEYS_PUBLIC_LEN + 2) / 3) + 1];
    uint64_t  until;

    (void) now;

    keys_kid(k, kid);
    until = keys_until(ks, k);

    json_map_open(j);
    json_key(j, "key_type");
    json_cstring(j, keys_type_name(k->type));
    json_key(j, "version");
    json_uint(j, k->version);
    json_key(j, "kid");
    json_cstring(j, kid);
    json_key(j, "state");
    json_cstring(j, keys_state_name(k->state));
    json_key(j, "is_active");
    json_bool(j, k->state == KEYS_ACTIVE);
    json_key(j, "algorithm");
    json_cstring(j, keys_algorithms[k->type]);
    keys_time_json(j, "created_at", k->created);
    keys_time_json(j, "expires_at",
                   k->state == KEYS_DESTROYED ? k->destroyed : until);
    keys_time_json(j, "last_rotated", k->rotated);
    keys_time_json(j, "destroyed_at", k->destroyed);

    if (k->pub_len) {
        n = EVP_EncodeBlock((unsigned char *) b64, k->pub, (int) k->pub_len);
        json_key(j, "public_key");
        json_string(j, (const uint8_t *) b64, (size_t) n);
    }

    json_map_close(j);
}


int
keys_list_json(keys_t *ks, keryu_store_t *src, uint64_t now, json_t *j)
{
    int          rc, type;
    char         alg[8], kid[KERYU_BLOCK_KEY_MAX + 1];
    size_t       i;
    MDB_val      key, val;
    MDB_txn     *txn;
    uint64_t     created;
    MDB_cursor  *cur;

    if (!keys_enabled(ks)) {
        return KEYS_EDISABLED;
    }

    keys_sync(ks, now);

    json_map_open(j);
    json_key(j, "items");
    json_array_open(j);

    for (i = 0; i < ks->n; i++) {
        keys_key_json(ks, &ks->keys[i], now, j);
    }

    rc = 0;

    if (src && src->env) {
        rc = keryu_store_txn_begin(src, MDB_RDONLY, &txn);
        if (rc != 0) {
            return rc;
        }

        rc = mdb_cursor_open(txn, src->keys, &cur);
        if (rc != 0) {
            mdb_txn_abort(txn);
            return rc;
        }

        while ((rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) == 0) {
            if (admin_key_info(&val, alg, sizeof(alg), &created) != 0
                || strcmp(alg, "HS256") != 0
                || key.mv_size > KERYU_BLOCK_KEY_MAX)
            {
                continue;
            }

            memcpy(kid, key.mv_data, key.mv_size);
            kid[key.mv_size] = '\0';

            json_map_open(j);
            json_key(j, "key_type");
            json_cstring(j, "jwt_hmac");
            json_key(j, "kid");
            json_string(j, key.mv_data, key.mv_size);
            json_key(j, "state");
            json_cstring(j, "active");
            json_key(j, "is_active");
            json_bool(j, 1);
            json_key(j, "algorithm");
            json_cstring(j, "HS256");
            keys_time_json(j, "created_at", created);
            json_key(j, "managed");
            json_bool(j, 0);
            json_map_close(j);
        }

        mdb_cursor_close(cur);
        mdb_txn_abort(txn);

        if (rc != MDB_NOTFOUND) {
            return rc;
        }

        rc = 0;
    }

    json_array_close(j);

    json_key(j, "periods_s");
    json_map_open(j);

    for (type = KEYS_LOG_SEALING; type <= KEYS_MANAGED; type++) {
        json_key(j, keys_type_name(type));

        if (ks->period[type]) {
            json_uint(j, ks->period[type]);

        } else {
            json_null(j);
        }
    }

    json_map_close(j);

    json_key(j, "grace_s");
    json_uint(j, ks->grace);
    json_key(j, "retention_s");

    if (ks->retention) {
        json_uint(j, ks->retention);

    } else {
        json_null(j);
    }

    json_map_close(j);

    return rc;
}


static void
keys_time_json(json_t *j, const char *name, uint64_t sec)
{
    char  buf[TIME_STR_MAX];

    json_key(j, name);

    if (sec == 0) {
        json_null(j);
        return;
    }

    admin_time(sec, buf);
    json_cstring(j, buf);
}


/* ---- small helpers ---- */


static void
keys_hex(const uint8_t *in, size_t len, char *out)
{
    size_t  i;

    static const char  digits[] = "0123456789abcdef";

    for (i = 0; i < len; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 0x0f];
    }

    out[2 * len] = '\0';
}


static int
keys_unhex(const char *in, size_t len, uint8_t *out)
{
    int     hi, lo;
    size_t  i;

    for (i = 0; i < len; i += 2) {
        hi = OPENSSL_hexchar2int((unsigned char) in[i]);
        lo = OPENSSL_hexchar2int((unsigned char) in[i + 1]);

        if (hi < 0 || lo < 0) {
            return -1;
        }

        out[i / 2] = (uint8_t) (hi << 4 | lo);
    }

    return 0;
}


static void
keys_put32(uint8_t *p, uint32_t v)
{
    int  i;

    for (i = 0; i < 4; i++) {
        p[i] = (uint8_t) (v >> (8 * i));
    }
}


static void
keys_put64(uint8_t *p, uint64_t v)
{
    int  i;

    for (i = 0; i < 8; i++) {
        p[i] = (uint8_t) (v >> (8 * i));
    }
}


static uint32_t
keys_get32(const uint8_t *p)
{
    return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16
           | (uint32_t) p[3] << 24;
}


static uint64_t
keys_get64(const uint8_t *p)
{
    int       i;
    uint64_t  v;

    v = 0;

    for (i = 7; i >= 0; i--) {
        v = (v << 8) | p[i];
    }

    return v;
}


static uint64_t
keys_now(void)
{
    return (uint64_t) time(NULL);
}


/* ---- the command line ---- */


int
keys_main(conf_t *cf, int argc, char **argv)
{
    const char  *sub;

    if (argc < 2) {
        return KEYS_USAGE;
    }

    sub = argv[1];

    if (strcmp(sub, "list") == 0) {
        return argc == 2 ? keys_cli_list(cf) : KEYS_USAGE;
    }

    if (strcmp(sub, "rotate") == 0) {
        return argc == 3 ? keys_cli_rotate(cf, argc, argv) : KEYS_USAGE;
    }

    if (strcmp(sub, "backup") == 0) {
        return keys_cli_backup(cf, argc, argv);
    }

    if (strcmp(sub, "restore") == 0) {
        return keys_cli_restore(cf, argc, argv);
    }

    if (strcmp(sub, "validate") == 0) {
        return argc == 2 ? keys_cli_validate(cf) : KEYS_USAGE;
    }

    if (strcmp(sub, "webhook-secret") == 0) {
        return keys_cli_webhook(cf, argc, argv);
    }

    return KEYS_USAGE;
}


/*
 * opens keryud's store and its keys under the master key; with load, the
 * keys are read and checked too.  Returns 0, or 1 after saying why not
 */

static int
keys_cli_open(conf_t *cf, store_t *st, keys_t **ks, int load)
{
    int      rc;
    char     err[CONF_ERR_MAX];
    uint8_t  master[KEYS_MASTER_LEN];

    *ks = NULL;

    rc = keys_master_read(cf->master_key, master, err, sizeof(err));

    if (rc == -1) {
        fprintf(stderr, "keryud: %s\n", err);
        return 1;
    }

    if (rc == 0) {
        fprintf(stderr, "keryud: no master key: set \"master_key\" or "
                "KERYU_MASTER_KEY\n");
        return 1;
    }

    rc = store_open(st, cf->data, cf->data_size);
    if (rc != 0) {
        OPENSSL_cleanse(master, sizeof(master));
        fprintf(stderr, "keryud: cannot open store \"%s\": %s\n", cf->data,
                keryu_store_strerror(rc));
        return 1;
    }

    *ks = keys_new(st, cf, master);
    OPENSSL_cleanse(master, sizeof(master));

    if (*ks == NULL) {
        fprintf(stderr, "keryud: out of memory\n");
        store_close(st);
        return 1;
    }

    if (load && keys_load(*ks, keys_now(), 0, err, sizeof(err)) != 0) {
        fprintf(stderr, "keryud: %s\n", err);
        keys_cli_close(st, *ks);
        return 1;
    }

    /* the records of the changes it makes are kept as keryud keeps them */

    if (load) {
        st->keys = *ks;
    }

    return 0;
}


static void
keys_cli_close(store_t *st, keys_t *ks)
{
    keys_free(ks);
    store_close(st);
}


static int
keys_cli_list(conf_t *cf)
{
    int             rc;
    char            kid[KEYS_KID_LEN + 1], created[TIME_STR_MAX],
                    until[TIME_STR_MAX], alg[8];
    size_t          i;
    keys_t         *ks;
    store_t         st;
    MDB_val         key, val;
    MDB_txn        *txn;
    uint64_t        t, c;
    keys_key_t     *k;
    MDB_cursor     *cur;
    keryu_store_t   src;

    if (keys_cli_open(cf, &st, &ks, 1) != 0) {
        return 1;
    }

    printf("%-16s %-4s %-16s %-13s %-20s %s\n", "TYPE", "VER", "KID",
           "STATE", "CREATED", "UNTIL");

    for (i = 0; i < ks->n; i++) {
        k = &ks->keys[i];

        keys_kid(k, kid);
        admin_time(k->created, created);

        t = k->state == KEYS_DESTROYED ? k->destroyed : keys_until(ks, k);

        if (t) {
            admin_time(t, until);

        } else {
            strcpy(until, "never");
        }

        printf("%-16s %-4u %-16s %-13s %-20s %s\n", keys_type_name(k->type),
               k->version, kid, keys_state_name(k->state), created, until);
    }

    keys_cli_close(&st, ks);

    /* the module's HS256 keys, managed by "keryud key", only shown here */

    if (keryu_store_open(&src, cf->store, 0, 0) != 0) {
        return 0;
    }

    if (keryu_store_txn_begin(&src, MDB_RDONLY, &txn) == 0) {
        if (mdb_cursor_open(txn, src.keys, &cur) == 0) {
            while ((rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) == 0) {
                if (admin_key_info(&val, alg, sizeof(alg), &c) != 0
                    || strcmp(alg, "HS256") != 0)
                {
                    continue;
                }

                admin_time(c, created);

                printf("%-16s %-4s %-16.*s %-13s %-20s %s\n", "jwt_hmac",
                       "-", (int) (key.mv_size > 64 ? 64 : key.mv_size),
                       (const char *) key.mv_data, "read-only", created,
                       "-");
            }

            mdb_cursor_close(cur);
        }

        mdb_txn_abort(txn);
    }

    keryu_store_close(&src);

    return 0;
}


static int
keys_cli_rotate(conf_t *cf, int argc, char **argv)
{
    int          rc, type, status;
    char         actor[64];
    keys_t      *ks;
    store_t      st;
    respond_t    r;
    keys_key_t   before, after;

    type = keys_type_parse(argv[2]);

    if (type == -1) {
        fprintf(stderr, "keryud: invalid key type \"%s\", expecting "
                "log_sealing, data, report_signing or webhook_signing\n",
                argv[2]);
        return 1;
    }

    if (type == KEYS_BLIND_INDEX || type == KEYS_JWT_HMAC) {
        fprintf(stderr, "keryud: %s keys are not rotated by keryud%s\n",
                argv[2], type == KEYS_BLIND_INDEX
                         ? ": a new blind index key would no longer find "
                           "the values indexed under the old one"
                         : "; \"keryud key\" manages them");
        return 1;
    }

    if (keys_cli_open(cf, &st, &ks, 1) != 0) {
        return 1;
    }

    memset(&r, 0, sizeof(respond_t));
    r.own = &st;
    keys_set_respond(ks, &r);

    change_cli_actor(actor, sizeof(actor));

    status = 1;

    rc = keys_rotate(ks, type, keys_now(), actor, &before, &after);

    if (rc != 0) {
        fprintf(stderr, "keryud: rotating the %s key failed: %s\n", argv[2],
                keys_strerror(rc));

    } else {
        printf("%s v%u active, v%u %s\n", argv[2], after.version,
               before.version, keys_state_name(keys_retired_state(type)));
        keys_cli_changed(ks, argc, argv, "keys.rotate", argv[2], &before,
                         &after);
        status = 0;
    }

    keys_cli_close(&st, ks);

    return status;
}


static int
keys_cli_backup(conf_t *cf, int argc, char **argv)
{
    int          i, rc, status;
    char         pass[KEYS_PASSPHRASE_MAX + 2],
                 hex[2 * SHA256_DIGEST_LENGTH + 1];
    size_t       len, passlen;
    keys_t      *ks;
    store_t      st;
    uint8_t     *buf;
    unsigned     count;
    const char  *out, *pfile;

    out = NULL;
    pfile = NULL;

    for (i = 2; i < argc; i += 2) {
        if (i + 1 == argc) {
            return KEYS_USAGE;
        }

        if (strcmp(argv[i], "--out") == 0 && out == NULL) {
            out = argv[i + 1];

        } else if (strcmp(argv[i], "--passphrase-file") == 0
                   && pfile == NULL)
        {
            pfile = argv[i + 1];

        } else {
            return KEYS_USAGE;
        }
    }

    if (out == NULL) {
        return KEYS_USAGE;
    }

    if (keys_passphrase(pfile, 1, pass, sizeof(pass), &passlen) != 0) {
        return 1;
    }

    status = 1;

    if (keys_cli_open(cf, &st, &ks, 1) != 0) {
        OPENSSL_cleanse(pass, sizeof(pass));
        return 1;
    }

    rc = keys_backup(ks, pass, passlen, keys_now(), &buf, &len, &count);
    OPENSSL_cleanse(pass, sizeof(pass));

    if (rc != 0) {
        fprintf(stderr, "keryud: keys backup failed: %s\n",
                keys_strerror(rc));
        goto done;
    }

    if (keys_file_write(out, buf, len) == 0) {
        keys_hex(buf + len - SHA256_DIGEST_LENGTH, SHA256_DIGEST_LENGTH, hex);
        printf("%u keys written to %s, sha256 %s\n", count, out, hex);
        keys_cli_changed(ks, argc, argv, "keys.backup", out, NULL, NULL);
        status = 0;
    }

    free(buf);

done:

    keys_cli_close(&st, ks);

    return status;
}


static int
keys_cli_restore(conf_t *cf, int argc, char **argv)
{
    int          i, rc, force, status;
    char         pass[KEYS_PASSPHRASE_MAX + 2], err[CONF_ERR_MAX];
    size_t       len, passlen;
    keys_t      *ks;
    store_t      st;
    uint8_t     *buf;
    unsigned     count;
    const char  *in, *pfile;

    in = NULL;
    pfile = NULL;
    force = 0;

    for (i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--force") == 0 && !force) {
            force = 1;
            continue;
        }

        if (i + 1 == argc) {
            return KEYS_USAGE;
        }

        if (strcmp(argv[i], "--in") == 0 && in == NULL) {
            in = argv[++i];

        } else if (strcmp(argv[i], "--passphrase-file") == 0
                   && pfile == NULL)
        {
            pfile = argv[++i];

        } else {
            return KEYS_USAGE;
        }
    }

    if (in == NULL) {
        return KEYS_USAGE;
    }

    if (keys_file_read(in, &buf, &len) != 0) {
        return 1;
    }

    if (keys_passphrase(pfile, 0, pass, sizeof(pass), &passlen) != 0) {
        free(buf);
        return 1;
    }

    status = 1;

    if (keys_cli_open(cf, &st, &ks, 0) != 0) {
        OPENSSL_cleanse(pass, sizeof(pass));
        free(buf);
        return 1;
    }

    rc = keys_restore(ks, buf, len, pass, passlen, force, &count, err,
                      sizeof(err));
    OPENSSL_cleanse(pass, sizeof(pass));
    free(buf);

    if (rc != 0) {
        fprintf(stderr, "keryud: keys restore failed: %s\n", err);

    } else {
        printf("%u keys restored into store \"%s\"\n", count, cf->data);
        keys_cli_changed(ks, argc, argv, "keys.restore", in, NULL, NULL);
        status = 0;
    }

    keys_cli_close(&st, ks);

    return status;
}


static int
keys_cli_validate(conf_t *cf)
{
    int        rc;
    keys_t    *ks;
    store_t    st;
    unsigned   failed;
    respond_t  r;

    /* a key that fails is reported, not refused: load without checking */

    if (keys_cli_open(cf, &st, &ks, 0) != 0) {
        return 1;
    }

    memset(&r, 0, sizeof(respond_t));
    r.own = &st;
    keys_set_respond(ks, &r);

    rc = keys_validate(ks, keys_now(), keys_cli_check, NULL, &failed);

    keys_cli_close(&st, ks);

    if (rc != 0) {
        fprintf(stderr, "keryud: keys validate failed: %s\n",
                keys_strerror(rc));
        return 1;
    }

    if (failed) {
        fprintf(stderr, "keryud: %u keys fail validation\n", failed);
        return 1;
    }

    return 0;
}


static void
keys_cli_check(void *ctx, const keys_check_t *c)
{
    (void) ctx;

    printf("%-16s v%-4u %-16s %-13s %s%s%s\n", keys_type_name(c->type),
           c->version, c->kid, keys_state_name(c->state),
           c->skipped ? "destroyed" : c->ok ? "ok" : "FAILED",
           c->reason ? ": " : "", c->reason ? c->reason : "");
}


/*
 * writes the active webhook_signing key, as the hex string the webhook is
 * keyed with, to a new file of mode 0600 for the receiver to verify with
 */

static int
keys_cli_webhook(conf_t *cf, int argc, char **argv)
{
    int          status;
    char         hex[2 * KEYS_VALUE_LEN + 2], kid[KEYS_KID_LEN + 1];
    keys_t      *ks;
    store_t      st;
    keys_key_t  *k;

    if (argc != 4 || strcmp(argv[2], "--out") != 0) {
        return KEYS_USAGE;
    }

    if (keys_cli_open(cf, &st, &ks, 1) != 0) {
        return 1;
    }

    status = 1;

    k = keys_active(ks, KEYS_WEBHOOK_SIGNING);

    if (k == NULL || k->len == 0) {
        fprintf(stderr, "keryud: no active webhook_signing key\n");
        goto done;
    }

    keys_hex(k->value, k->len, hex);
    hex[2 * k->len] = '\n';

    if (keys_file_write(argv[3], (const uint8_t *) hex, 2 * k->len + 1)
        == 0)
    {
        keys_kid(k, kid);
        printf("webhook_signing v%u (%s) written to %s\n", k->version, kid,
               argv[3]);

        if (cf->notify.secret_file[0]) {
            fprintf(stderr, "keryud: note: \"webhook_secret\" is set, and "
                    "the webhook is signed with that file instead\n");
        }

        keys_cli_changed(ks, argc, argv, "keys.export", "webhook_signing",
                         NULL, NULL);
        status = 0;
    }

    OPENSSL_cleanse(hex, sizeof(hex));

done:

    keys_cli_close(&st, ks);

    return status;
}


/* a system_change for a command; its arguments hold no secret */

static void
keys_cli_changed(keys_t *ks, int argc, char **argv, const char *action,
    const char *target, const keys_key_t *before, const keys_key_t *after)
{
    int     i;
    char    actor[64], cmd[1024];
    size_t  n;

    n = snprintf(cmd, sizeof(cmd), "keryud");

    for (i = 0; i < argc && n < sizeof(cmd); i++) {
        n += snprintf(cmd + n, sizeof(cmd) - n, " %s", argv[i]);
    }

    keys_changed(ks, change_cli_actor(actor, sizeof(actor)), action, target,
                 before, after, "CLI", cmd, keys_now());
}


/*
 * a passphrase from file (one trailing newline dropped) or, without one,
 * from the terminal with echo off, asked twice with confirm
 */

static int
keys_passphrase(const char *file, int confirm, char *buf, size_t size,
    size_t *len)
{
    int       rc;
    char      again[KEYS_PASSPHRASE_MAX + 2];
    size_t    alen, n;
    uint8_t  *data;

    if (file) {
        if (keys_file_read(file, &data, &n) != 0) {
            return -1;
        }

        *len = n;

        if (n > 0 && data[n - 1] == '\n') {
            n--;
        }

        /* a passphrase too long to keep fails the length check below */

        memcpy(buf, data, n < size ? n : size);
        OPENSSL_cleanse(data, *len);
        free(data);
        *len = n;

    } else {
        if (keys_tty_line("passphrase: ", buf, size, len) != 0) {
            return -1;
        }

        if (confirm) {
            rc = keys_tty_line("passphrase again: ", again, sizeof(again),
                               &alen);

            if (rc != 0 || alen != *len || memcmp(again, buf, alen) != 0) {
                OPENSSL_cleanse(again, sizeof(again));
                OPENSSL_cleanse(buf, size);
                fprintf(stderr, "keryud: the passphrases differ\n");
                return -1;
            }

            OPENSSL_cleanse(again, sizeof(again));
        }
    }

    if (*len < KEYS_PASSPHRASE_MIN || *len > KEYS_PASSPHRASE_MAX
        || memchr(buf, '\0', *len) != NULL)
    {
        OPENSSL_cleanse(buf, size);
        fprintf(stderr, "keryud: the passphrase must be %d to %d characters "
                "without a NUL byte\n", KEYS_PASSPHRASE_MIN,
                KEYS_PASSPHRASE_MAX);
        return -1;
    }

    return 0;
}


static int
keys_tty_line(const char *prompt, char *buf, size_t size, size_t *len)
{
    int             fd, rc;
    char            c;
    size_t          n;
    ssize_t         r;
    struct termios  old, noecho;

    fd = open("/dev/tty", O_RDWR | O_CLOEXEC);
    if (fd == -1) {
        fprintf(stderr, "keryud: no terminal to ask the passphrase on; use "
                "--passphrase-file\n");
        return -1;
    }

    if (tcgetattr(fd, &old) == -1) {
        fprintf(stderr, "keryud: tcgetattr: %s\n", strerror(errno));
        close(fd);
        return -1;
    }

    noecho = old;
    noecho.c_lflag &= ~(tcflag_t) (ECHO | ECHONL);
    noecho.c_lflag |= ICANON;

    if (tcsetattr(fd, TCSAFLUSH, &noecho) == -1) {
        fprintf(stderr, "keryud: tcsetattr: %s\n", strerror(errno));
        close(fd);
        return -1;
    }

    rc = -1;
    n = 0;

    if (write(fd, prompt, strlen(prompt)) == -1) {
        goto restore;
    }

    for ( ;; ) {
        r = read(fd, &c, 1);

        if (r == -1 && errno == EINTR) {
            continue;
        }

        if (r <= 0 || c == '\n') {
            break;
        }

        if (n + 1 < size) {
            buf[n++] = c;
        }
    }

    *len = n;
    rc = 0;

    /* the newline the terminal did not echo; a failure changes nothing */

    (void) !write(fd, "\n", 1);

restore:

    tcsetattr(fd, TCSAFLUSH, &old);
    close(fd);

    return rc;
}


static int
keys_file_read(const char *path, uint8_t **buf, size_t *len)
{
    int          fd;
    size_t       n;
    ssize_t      r;
    uint8_t     *p;
    struct stat  sb;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd == -1) {
        fprintf(stderr, "keryud: open \"%s\": %s\n", path, strerror(errno));
        return -1;
    }

    if (fstat(fd, &sb) == -1 || !S_ISREG(sb.st_mode)
        || sb.st_size > KEYS_BK_FILE_MAX)
    {
        fprintf(stderr, "keryud: \"%s\" is not a regular file of at most "
                "%d bytes\n", path, KEYS_BK_FILE_MAX);
        close(fd);
        return -1;
    }

    p = malloc((size_t) sb.st_size + 1);
    if (p == NULL) {
        fprintf(stderr, "keryud: out of memory\n");
        close(fd);
        return -1;
    }

    n = 0;

    while (n < (size_t) sb.st_size) {
        r = read(fd, p + n, (size_t) sb.st_size - n);

        if (r == -1 && errno == EINTR) {
            continue;
        }

        if (r == -1) {
            fprintf(stderr, "keryud: read \"%s\": %s\n", path,
                    strerror(errno));
            free(p);
            close(fd);
            return -1;
        }

        if (r == 0) {
            break;
        }

        n += (size_t) r;
    }

    close(fd);

    *buf = p;
    *len = n;

    return 0;
}


/* a new file of mode 0600; an existing one is never overwritten */

static int
keys_file_write(const char *path, const uint8_t *buf, size_t len)
{
    int      fd;
    size_t   n;
    ssize_t  w;

    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd == -1) {
        fprintf(stderr, "keryud: open \"%s\": %s\n", path, strerror(errno));
        return -1;
    }

    for (n = 0; n < len; n += (size_t) w) {
        w = write(fd, buf + n, len - n);

        if (w == -1 && errno == EINTR) {
            w = 0;
            continue;
        }

        if (w == -1) {
            fprintf(stderr, "keryud: write \"%s\": %s\n", path,
                    strerror(errno));
            close(fd);
            unlink(path);
            return -1;
        }
    }

    if (fsync(fd) == -1 || close(fd) == -1) {
        fprintf(stderr, "keryud: write \"%s\": %s\n", path, strerror(errno));
        unlink(path);
        return -1;
    }

    return 0;
}
