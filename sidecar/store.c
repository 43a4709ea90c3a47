/*
 * Copyright (C) Keryu Security
 *
 * keryud's own LMDB environment, in the directory named by "data".  Only
 * keryud opens it: the daemon, and the token subcommands run beside it.
 *
 *   logs    key: keryud's own id, 8 bytes big-endian, from 1 up
 *           value: a record exactly as it was read from the shared ring;
 *           its source sequence number stays inside it
 *   meta    key: a name, value: an 8-byte little-endian counter, encoded
 *           as the shared store's meta is
 *           schema      STORE_SCHEMA
 *           next_id     the key the next record gets in logs
 *           source_id   store_id of the shared store being read
 *           source_seq  the newest sequence number read from it
 *           consumed    records stored in logs
 *           lost        sequence numbers that never reached keryud
 *           invalid     ring entries skipped because they did not decode
 *           expired     records deleted from logs for their age
 *           indexed     while a schema 1 store is being indexed, the last
 *                       id of logs indexed so far; 0 otherwise
 *   tokens  key: SHA-256 of an API token, 32 bytes
 *           value: version (1 byte, 1 or 2), role (1), zero (6), created
 *           in seconds since the epoch (8, little-endian); version 2 then
 *           has the expiry in seconds since the epoch (8, little-endian,
 *           0: never); then the name
 *   enc_keys  keryud's own keys, each wrapped under the master key
 *           (keys.h documents the layout)
 *   compliance, audits, reports, risk, report_keys
 *           compliance runs, audits, signed reports and risk
 *           assessments (comply.h documents the layouts)
 *
 * logs uses keryud's own ids, not the ring's sequence numbers, because a
 * replaced shared store numbers its records from 1 again.  The pair
 * (source_id, source_seq) is the consumer's cursor, and it is written in
 * the same transaction as the records it covers.
 *
 * The indexes, one database per filter of the listings, are MDB_DUPSORT |
 * MDB_DUPFIXED: under each key, the data are the 8-byte big-endian ids in
 * logs of the records that have that key, so they sort in id order, and a
 * listing walks one key newest first with MDB_PREV_DUP from any cursor
 * (MDB_GET_BOTH_RANGE).  A record's index entries are written and deleted
 * in the same transaction as the record.  The consumer gathers a batch's
 * entries and writes them sorted by key, all ids of a key in one
 * MDB_MULTIPLE put: a transaction then touches each index page once.
 *
 *   by_type    key: the event type, 1 byte; every record
 *   by_ip      key: the address family, 4 or 6, then the address, 4 or 16
 *              bytes in network order; records with an address
 *   by_user    key: the user, 1 to KERYU_RECORD_USER_MAX bytes; records
 *              with a user
 *   by_status  key: the HTTP status, 2 bytes big-endian; every record
 *   by_time    key: time_us, 8 bytes big-endian; every record, so that
 *              retention finds the oldest records first
 *
 * Schema 1 had no indexes.  store_open() builds them for such a store,
 * STORE_REINDEX_BATCH records a transaction, each noting in "indexed" how
 * far it got, so that an upgrade cut short goes on where it stopped; the
 * last one writes schema 2.
 */


#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <openssl/crypto.h>

#include "keryud.h"
#include "alert.h"
#include "chain.h"
#include "comply.h"
#include "keys.h"


#define STORE_MAXDBS          32

#define STORE_SCHEMA_NOINDEX  1
#define STORE_REINDEX_BATCH   100000

#define STORE_INDEX_FLAGS     (MDB_CREATE | MDB_DUPSORT | MDB_DUPFIXED)
#define STORE_NINDEX          5
#define STORE_KEYS_SIZE       (1 + 2 + 8 + STORE_BLIND_LEN                   \
                               + STORE_INDEX_KEY_MAX)

/* entries a batch gathers before it writes them, whatever the caller does */
#define STORE_IBATCH_MAX      (1 << 18)


/* a record's key in one index */
typedef struct {
    MDB_dbi             dbi;
    MDB_val             key;
} store_ikey_t;


/* one index entry of a batch; its key is in the batch's ib_keys */
struct store_ientry_s {
    uint64_t            id;
    uint32_t            off;
    uint16_t            len;
    MDB_dbi             dbi;
};


static keryu_store_t store_meta_view(store_t *st);
static int store_chain_start(store_t *st, MDB_txn *txn, uint64_t schema);
static int store_reindex(store_t *st);
static unsigned store_index_keys(store_t *st, const keryu_record_t *rec,
    uint8_t buf[STORE_KEYS_SIZE], store_ikey_t ik[STORE_NINDEX]);
static unsigned store_index_plain(store_t *st, const keryu_record_t *rec,
    uint8_t buf[STORE_KEYS_SIZE], store_ikey_t ik[STORE_NINDEX + 2],
    unsigned n);
static int store_ibatch_cmp(const void *a, const void *b, void *keys);


/* keryud is one thread: one buffer serves every record this file opens */
static store_rbuf_t  store_rbuf;


int
store_open(store_t *st, const char *path, uint64_t mapsize)
{
    int        rc;
    MDB_txn   *txn;
    uint64_t   schema;

    st->env = NULL;
    st->signer = NULL;
    st->keys = NULL;

    if (mkdir(path, 0700) == -1 && errno != EEXIST) {
        return errno;
    }

    rc = mdb_env_create(&st->env);
    if (rc != 0) {
        st->env = NULL;
        return rc;
    }

    rc = mdb_env_set_maxdbs(st->env, STORE_MAXDBS);
    if (rc != 0) {
        goto env_close;
    }

    rc = mdb_env_set_mapsize(st->env, mapsize);
    if (rc != 0) {
        goto env_close;
    }

    rc = mdb_env_open(st->env, path, MDB_NOTLS, 0600);
    if (rc != 0) {
        goto env_close;
    }

    rc = store_txn_begin(st, 0, &txn);
    if (rc != 0) {
        goto env_close;
    }

    rc = mdb_dbi_open(txn, "logs", MDB_CREATE, &st->logs);
    if (rc != 0) {
        goto txn_abort;
    }

    rc = mdb_dbi_open(txn, "meta", MDB_CREATE, &st->meta);
    if (rc != 0) {
        goto txn_abort;
    }

    rc = mdb_dbi_open(txn, "tokens", MDB_CREATE, &st->tokens);
    if (rc != 0) {
        goto txn_abort;
    }

    rc = alert_dbs_open(st, txn);
    if (rc != 0) {
        goto txn_abort;
    }

    if ((rc = mdb_dbi_open(txn, "chain", MDB_CREATE, &st->chain))
        || (rc = mdb_dbi_open(txn, "checkpoints", MDB_CREATE,
                              &st->checkpoints))
        || (rc = mdb_dbi_open(txn, "chain_keys", MDB_CREATE,
                              &st->chain_keys)))
    {
        goto txn_abort;
    }

    rc = mdb_dbi_open(txn, "enc_keys", MDB_CREATE, &st->enc_keys);
    if (rc != 0) {
        goto txn_abort;
    }

    rc = comply_dbs_open(st, txn);
    if (rc != 0) {
        goto txn_abort;
    }

    if ((rc = mdb_dbi_open(txn, "by_type", STORE_INDEX_FLAGS, &st->by_type))
        || (rc = mdb_dbi_open(txn, "by_ip", STORE_INDEX_FLAGS, &st->by_ip))
        || (rc = mdb_dbi_open(txn, "by_user", STORE_INDEX_FLAGS,
                              &st->by_user))
        || (rc = mdb_dbi_open(txn, "by_status", STORE_INDEX_FLAGS,
                              &st->by_status))
        || (rc = mdb_dbi_open(txn, "by_time", STORE_INDEX_FLAGS,
                              &st->by_time)))
    {
        goto txn_abort;
    }

    rc = store_meta_get(st, txn, STORE_META_SCHEMA, &schema);
    if (rc != 0) {
        goto txn_abort;
    }

    if (schema > STORE_SCHEMA) {
        rc = KERYU_STORE_EVERSION;
        goto txn_abort;
    }

    if (schema == 0) {
        rc = store_meta_put(st, txn, STORE_META_SCHEMA, STORE_SCHEMA);
        if (rc != 0) {
            goto txn_abort;
        }

        rc = store_meta_put(st, txn, STORE_META_NEXT_ID, 1);
        if (rc != 0) {
            goto txn_abort;
        }
    }

    /* the chain of a store older than it begins with the next record */

    if (schema < STORE_SCHEMA) {
        rc = store_chain_start(st, txn, schema);
        if (rc != 0) {
            goto txn_abort;
        }
    }

    rc = mdb_txn_commit(txn);
    if (rc != 0) {
        goto env_close;
    }

    st->reindexed = 0;

    if (schema == STORE_SCHEMA_NOINDEX) {
        rc = store_reindex(st);
        if (rc != 0) {
            goto env_close;
        }
    }

    return 0;

txn_abort:

    mdb_txn_abort(txn);

env_close:

    mdb_env_close(st->env);
    st->env = NULL;

    return rc;
}


void
store_close(store_t *st)
{
    if (st->env) {
        mdb_env_close(st->env);
        st->env = NULL;
    }
}


int
store_txn_begin(store_t *st, unsigned flags, MDB_txn **txn)
{
    keryu_store_t  ks;

    ks = store_meta_view(st);

    return keryu_store_txn_begin(&ks, flags, txn);
}


/* the meta counters share the shared store's encoding and its code */

static keryu_store_t
store_meta_view(store_t *st)
{
    keryu_store_t  ks;

    memset(&ks, 0, sizeof(keryu_store_t));

    ks.env = st->env;
    ks.ring = 0;
    ks.meta = st->meta;

    return ks;
}


int
store_meta_get(store_t *st, MDB_txn *txn, const char *name, uint64_t *value)
{
    keryu_store_t  ks;

    ks = store_meta_view(st);

    return keryu_store_meta_get(&ks, txn, name, value);
}


int
store_meta_put(store_t *st, MDB_txn *txn, const char *name, uint64_t value)
{
    keryu_store_t  ks;

    ks = store_meta_view(st);

    return keryu_store_meta_put(&ks, txn, name, value);
}


/*
 * notes where the hash chain begins: at 1 in a new store, at the next id
 * in one written before the chain; schema 2 is then done, while schema 1
 * still awaits its indexes, which store_reindex() writes with the schema
 */

static int
store_chain_start(store_t *st, MDB_txn *txn, uint64_t schema)
{
    int       rc;
    uint64_t  first, next;

    rc = store_meta_get(st, txn, STORE_META_CHAIN_FIRST, &first);
    if (rc != 0 || first != 0) {
        return rc;
    }

    rc = store_meta_get(st, txn, STORE_META_NEXT_ID, &next);
    if (rc != 0) {
        return rc;
    }

    rc = store_meta_put(st, txn, STORE_META_CHAIN_FIRST, next ? next : 1);
    if (rc != 0) {
        return rc;
    }

    if (schema == STORE_SCHEMA_NOINDEX) {
        return 0;
    }

    return store_meta_put(st, txn, STORE_META_SCHEMA, STORE_SCHEMA);
}


/*
 * indexes the records of a schema 1 store, STORE_REINDEX_BATCH to a
 * transaction, from the id after the last one indexed; writes the schema
 * with the last batch
 */

static int
store_reindex(store_t *st)
{
    int              rc, more;
    uint8_t          kbuf[8];
    MDB_val          key, val;
    MDB_txn         *txn;
    uint64_t         id, last, n;
    MDB_cursor      *cur;
    keryu_record_t   rec;
    store_ibatch_t   b;

    memset(&b, 0, sizeof(store_ibatch_t));

    for ( ;; ) {
        store_ibatch_reset(&b);

        rc = store_txn_begin(st, 0, &txn);
        if (rc != 0) {
            goto done;
        }

        rc = store_meta_get(st, txn, STORE_META_INDEXED, &last);
        if (rc != 0) {
            goto txn_abort;
        }

        rc = mdb_cursor_open(txn, st->logs, &cur);
        if (rc != 0) {
            goto txn_abort;
        }

        keryu_store_key_encode(kbuf, last + 1);

        key.mv_size = 8;
        key.mv_data = kbuf;
        n = 0;

        for (rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);
             rc == 0 && n < STORE_REINDEX_BATCH;
             rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT))
        {
            if (key.mv_size != 8) {
                rc = MDB_CORRUPTED;
                break;
            }

            id = keryu_store_key_decode(key.mv_data);
            last = id;
            n++;

            /* the consumer stores only records that decode */

            if (store_record_read(st, &val, &rec, &store_rbuf) == -1) {
                continue;
            }

            rc = store_ibatch_add(&b, st, txn, id, &rec);
            if (rc != 0) {
                break;
            }
        }

        mdb_cursor_close(cur);

        if (rc != 0 && rc != MDB_NOTFOUND) {
            goto txn_abort;
        }

        more = (rc == 0);

        rc = store_ibatch_write(&b, txn);
        if (rc != 0) {
            goto txn_abort;
        }

        if (!more) {
            if ((rc = store_meta_put(st, txn, STORE_META_INDEXED, 0))
                || (rc = store_meta_put(st, txn, STORE_META_SCHEMA,
                                        STORE_SCHEMA)))
            {
                goto txn_abort;
            }

            rc = mdb_txn_commit(txn);
            if (rc == 0) {
                st->reindexed += n;
            }

            goto done;
        }

        rc = store_meta_put(st, txn, STORE_META_INDEXED, last);
        if (rc != 0) {
            goto txn_abort;
        }

        rc = mdb_txn_commit(txn);
        if (rc != 0) {
            goto done;
        }

        st->reindexed += n;
    }

txn_abort:

    mdb_txn_abort(txn);

done:

    store_ibatch_free(&b);

    return rc;
}


/*
 * builds in buf the keys of rec, one for each index it goes into; they
 * are copies, so that they outlive the page rec points into
 */

static unsigned
store_index_keys(store_t *st, const keryu_record_t *rec,
    uint8_t buf[STORE_KEYS_SIZE], store_ikey_t ik[STORE_NINDEX])
{
    size_t    len;
    unsigned  n;

    n = 0;

    buf[0] = rec->type;
    ik[n].dbi = st->by_type;
    ik[n].key.mv_size = 1;
    ik[n++].key.mv_data = buf;
    buf += 1;

    store_key_status(buf, rec->status);
    ik[n].dbi = st->by_status;
    ik[n].key.mv_size = 2;
    ik[n++].key.mv_data = buf;
    buf += 2;

    keryu_store_key_encode(buf, rec->time_us);
    ik[n].dbi = st->by_time;
    ik[n].key.mv_size = 8;
    ik[n++].key.mv_data = buf;
    buf += 8;

    /* a record whose personal part stays sealed has neither key */

    if (rec->flags & KERYU_RECORD_F_LOCKED) {
        return n;
    }

    len = store_index_ip(st, buf, rec->addr_family, rec->addr);

    if (len) {
        ik[n].dbi = st->by_ip;
        ik[n].key.mv_size = len;
        ik[n++].key.mv_data = buf;
        buf += len;
    }

    len = store_index_user(st, buf, rec->user.data, rec->user.len);

    if (len) {
        ik[n].dbi = st->by_user;
        ik[n].key.mv_size = len;
        ik[n++].key.mv_data = buf;
    }

    return n;
}


/*
 * the blind index key of tag and value: HMAC-SHA256 under the blind_index
 * key; returns STORE_BLIND_LEN, or 0 when there is no such key
 */

static size_t
store_blind(store_t *st, uint8_t tag, const uint8_t *value, size_t len,
    uint8_t key[STORE_BLIND_LEN])
{
    size_t   siglen;
    uint8_t  msg[1 + STORE_INDEX_KEY_MAX];

    if (len > STORE_INDEX_KEY_MAX) {
        return 0;
    }

    msg[0] = tag;
    memcpy(msg + 1, value, len);
    siglen = STORE_BLIND_LEN;

    if (keys_sign(st->keys, KEYS_BLIND_INDEX, msg, 1 + len, key, &siglen)
        != 0)
    {
        return 0;
    }

    return siglen;
}


/*
 * the by_ip key of an address: the family and the address, or with keys
 * their blind index; 0 for a record without an address
 */

size_t
store_index_ip(store_t *st, uint8_t key[STORE_INDEX_KEY_MAX], int family,
    const uint8_t *addr)
{
    size_t   len;
    uint8_t  plain[STORE_KEY_IP_MAX];

    if (!keys_enabled(st->keys)) {
        return store_key_ip(key, family, addr);
    }

    len = store_key_ip(plain, family, addr);

    return len ? store_blind(st, 'a', plain, len, key) : 0;
}


/*
 * the by_user key of a user: the name, or with keys its blind index; 0
 * for none.  No query names a longer user, and LMDB keys are bounded
 */

size_t
store_index_user(store_t *st, uint8_t key[STORE_INDEX_KEY_MAX],
    const uint8_t *user, size_t len)
{
    if (len == 0 || len > KERYU_RECORD_USER_MAX) {
        return 0;
    }

    if (!keys_enabled(st->keys)) {
        memcpy(key, user, len);
        return len;
    }

    return store_blind(st, 'u', user, len, key);
}


/*
 * decodes a record of logs and opens its personal part when it is sealed
 * or encrypted and keryud has the key: returns 0, 1 for a record that
 * decodes but stays locked (rec then has the plain part only), or -1
 */

int
store_record_read(store_t *st, const MDB_val *val, keryu_record_t *rec,
    store_rbuf_t *b)
{
    if (keryu_record_decode(rec, val->mv_data, val->mv_size) != 0) {
        return -1;
    }

    if (!(rec->flags & KERYU_RECORD_F_LOCKED)) {
        return 0;
    }

    return store_record_open(st, rec, val->mv_data, b) == 0 ? 0 : 1;
}


/*
 * opens the sealed section of rec, decoded from buf, with the sealing key
 * (a worker's seal) or the data key (keryud's own) of the version it
 * names; rec's strings then point into b.  Returns 0, or a KEYS_E code
 * with rec unchanged
 */

int
store_record_open(store_t *st, keryu_record_t *rec, const uint8_t *buf,
    store_rbuf_t *b)
{
    int     rc;
    size_t  alen, plen;

    if (!keys_enabled(st->keys)) {
        return KEYS_EDISABLED;
    }

    alen = (size_t) (rec->sealed.data - buf);
    keryu_record_aad(buf, alen, b->aad);

    if (rec->flags & KERYU_RECORD_F_SEALED) {
        rc = keys_unseal_aad(st->keys, rec->sealed.data, rec->sealed.len,
                             b->aad, alen, b->personal, &plen);

    } else {
        rc = keys_decrypt(st->keys, rec->sealed.data, rec->sealed.len,
                          b->aad, alen, b->personal, &plen);
    }

    if (rc != 0) {
        return rc;
    }

    if (keryu_record_join(rec, b->personal, plen, b->uri) != 0) {
        return KEYS_EFORMAT;
    }

    return 0;
}


/*
 * encodes rec, opened, as logs keeps it: its personal part encrypted
 * under the active data key.  Returns 0 with the record in out (of
 * KERYU_RECORD_SEALED_MAX_SIZE bytes), 1 when records are kept plain (no
 * master key), or a KEYS_E code
 */

int
store_record_encrypt(store_t *st, const keryu_record_t *rec, uint8_t *out,
    size_t *outlen, store_rbuf_t *b)
{
    int             rc;
    size_t          n, plen, slen, alen, elen;
    keryu_record_t  plain;

    if (!keys_enabled(st->keys)) {
        return 1;
    }

    plen = keryu_record_split(rec, &plain, b->split,
                              KERYU_RECORD_F_ENCRYPTED);

    slen = plen + KEYS_DATA_OVERHEAD;
    plain.sealed.len = slen;

    n = keryu_record_encode(&plain, out);
    alen = n - slen;

    keryu_record_aad(out, alen, b->aad);

    rc = keys_encrypt(st->keys, b->split, plen, b->aad, alen, out + alen,
                      &elen);

    OPENSSL_cleanse(b->split, plen);

    if (rc != 0) {
        return rc;
    }

    *outlen = n;

    return 0;
}


/* writes the index entries of rec, stored in logs under id */

int
store_index_put(store_t *st, MDB_txn *txn, uint64_t id,
    const keryu_record_t *rec)
{
    int            rc;
    uint8_t        ibuf[8], kbuf[STORE_KEYS_SIZE];
    MDB_val        val;
    unsigned       i, n;
    store_ikey_t   ik[STORE_NINDEX];

    n = store_index_keys(st, rec, kbuf, ik);

    keryu_store_key_encode(ibuf, id);

    for (i = 0; i < n; i++) {
        val.mv_size = 8;
        val.mv_data = ibuf;

        rc = mdb_put(txn, ik[i].dbi, &ik[i].key, &val, 0);
        if (rc != 0) {
            return rc;
        }
    }

    return 0;
}


/* deletes the index entries of rec; entries already missing are no error */

int
store_index_del(store_t *st, MDB_txn *txn, uint64_t id,
    const keryu_record_t *rec)
{
    int            rc;
    uint8_t        ibuf[8], kbuf[2 * STORE_KEYS_SIZE];
    MDB_val        val;
    unsigned       i, n;
    store_ikey_t   ik[STORE_NINDEX + 2];

    n = store_index_keys(st, rec, kbuf, ik);

    /*
     * entries written before there was a master key have plain keys;
     * they name the person, so they go too
     */

    if (keys_enabled(st->keys) && !(rec->flags & KERYU_RECORD_F_LOCKED)) {
        n = store_index_plain(st, rec, kbuf + STORE_KEYS_SIZE, ik, n);
    }

    keryu_store_key_encode(ibuf, id);

    for (i = 0; i < n; i++) {
        val.mv_size = 8;
        val.mv_data = ibuf;

        rc = mdb_del(txn, ik[i].dbi, &ik[i].key, &val);
        if (rc != 0 && rc != MDB_NOTFOUND) {
            return rc;
        }
    }

    return 0;
}


/* adds to ik the plain by_ip and by_user keys of rec, built in buf */

static unsigned
store_index_plain(store_t *st, const keryu_record_t *rec,
    uint8_t buf[STORE_KEYS_SIZE], store_ikey_t ik[STORE_NINDEX + 2],
    unsigned n)
{
    size_t  len;

    len = store_key_ip(buf, rec->addr_family, rec->addr);

    if (len) {
        ik[n].dbi = st->by_ip;
        ik[n].key.mv_size = len;
        ik[n++].key.mv_data = buf;
        buf += len;
    }

    len = rec->user.len;

    if (len > 0 && len <= KERYU_RECORD_USER_MAX) {
        memcpy(buf, rec->user.data, len);
        ik[n].dbi = st->by_user;
        ik[n].key.mv_size = len;
        ik[n++].key.mv_data = buf;
    }

    return n;
}


/* returns the length of the by_ip key, or 0 for a family that has none */

size_t
store_key_ip(uint8_t key[STORE_KEY_IP_MAX], int family, const uint8_t *addr)
{
    size_t  len;

    if (family == 4) {
        len = 4;

    } else if (family == 6) {
        len = 16;

    } else {
        return 0;
    }

    key[0] = (uint8_t) family;
    memcpy(key + 1, addr, len);

    return 1 + len;
}


void
store_key_status(uint8_t key[2], unsigned status)
{
    key[0] = (uint8_t) (status >> 8);
    key[1] = (uint8_t) status;
}


/*
 * deletes, in one write transaction, up to max records whose time is
 * before before_us, oldest first, with their index entries, and adds them
 * to "expired"; removed gets the number deleted, 0 on failure
 */

int
store_expire(store_t *st, uint64_t before_us, size_t max, size_t *removed)
{
    int              rc;
    size_t           n, done;
    uint8_t          ibuf[8];
    MDB_val          key, val, lkey, lval;
    MDB_txn         *txn;
    uint64_t         expired;
    MDB_cursor      *cur;
    keryu_record_t   rec;

    *removed = 0;

    rc = store_txn_begin(st, 0, &txn);
    if (rc != 0) {
        return rc;
    }

    rc = mdb_cursor_open(txn, st->by_time, &cur);
    if (rc != 0) {
        goto txn_abort;
    }

    done = 0;

    /* each round deletes the first entry, so the next round seeks anew */

    for (n = 0; n < max; n++) {
        rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST);
        if (rc != 0) {
            break;
        }

        if (key.mv_size != 8 || val.mv_size != 8) {
            rc = MDB_CORRUPTED;
            break;
        }

        if (keryu_store_key_decode(key.mv_data) >= before_us) {
            rc = MDB_NOTFOUND;
            break;
        }

        memcpy(ibuf, val.mv_data, 8);

        lkey.mv_size = 8;
        lkey.mv_data = ibuf;

        rc = mdb_get(txn, st->logs, &lkey, &lval);

        if (rc == MDB_NOTFOUND) {

            /* an entry whose record is gone has nothing else to delete */

            rc = mdb_cursor_del(cur, 0);
            if (rc != 0) {
                break;
            }

            continue;
        }

        if (rc != 0) {
            break;
        }

        if (store_record_read(st, &lval, &rec, &store_rbuf) != -1) {
            rc = store_index_del(st, txn, keryu_store_key_decode(ibuf),
                                 &rec);

        } else {
            rc = mdb_cursor_del(cur, 0);
        }

        if (rc != 0) {
            break;
        }

        rc = mdb_del(txn, st->logs, &lkey, NULL);
        if (rc != 0) {
            break;
        }

        /* the chain keeps the record's entry, marked */

        rc = chain_mark(st, txn, keryu_store_key_decode(ibuf),
                        CHAIN_EXPIRED);
        if (rc != 0) {
            break;
        }

        done++;
    }

    mdb_cursor_close(cur);

    if (rc != 0 && rc != MDB_NOTFOUND) {
        goto txn_abort;
    }

    if (n == 0) {
        mdb_txn_abort(txn);
        return 0;
    }

    rc = store_meta_get(st, txn, STORE_META_EXPIRED, &expired);
    if (rc != 0) {
        goto txn_abort;
    }

    rc = store_meta_put(st, txn, STORE_META_EXPIRED, expired + done);
    if (rc != 0) {
        goto txn_abort;
    }

    rc = mdb_txn_commit(txn);
    if (rc != 0) {
        return rc;
    }

    *removed = done;

    return 0;

txn_abort:

    mdb_txn_abort(txn);

    return rc;
}


/*
 * erases, in one write transaction, up to max records whose user is user,
 * found through by_user, with their index entries, marks their chain
 * entries erased and adds them to "erased"; removed gets the number
 * deleted, 0 on failure, and more is 1 when max entries were looked at,
 * for the caller to call again
 */

int
store_erase_user(store_t *st, const uint8_t *user, size_t len, size_t max,
    size_t *removed, int *more)
{
    int              rc;
    size_t           n, done;
    size_t           klen;
    uint8_t          ibuf[8], ubuf[KERYU_RECORD_USER_MAX],
                     kbuf[STORE_INDEX_KEY_MAX];
    MDB_val          key, val, lkey, lval;
    MDB_txn         *txn;
    uint64_t         id, erased;
    MDB_cursor      *cur;
    keryu_record_t   rec;

    *removed = 0;
    *more = 0;

    if (len == 0 || len > KERYU_RECORD_USER_MAX) {
        return EINVAL;
    }

    memcpy(ubuf, user, len);

    klen = store_index_user(st, kbuf, ubuf, len);
    if (klen == 0) {
        return KEYS_ENOKEY;
    }

    rc = store_txn_begin(st, 0, &txn);
    if (rc != 0) {
        return rc;
    }

    rc = mdb_cursor_open(txn, st->by_user, &cur);
    if (rc != 0) {
        goto txn_abort;
    }

    done = 0;

    /* each round deletes the user's first entry, so the next seeks anew */

    for (n = 0; n < max; n++) {
        key.mv_size = klen;
        key.mv_data = kbuf;

        rc = mdb_cursor_get(cur, &key, &val, MDB_SET_KEY);

        /* records stored before there was a master key have plain keys */

        if (rc == MDB_NOTFOUND && klen == STORE_BLIND_LEN
            && keys_enabled(st->keys))
        {
            key.mv_size = len;
            key.mv_data = ubuf;

            rc = mdb_cursor_get(cur, &key, &val, MDB_SET_KEY);
        }

        if (rc != 0) {
            break;
        }

        if (val.mv_size != 8) {
            rc = MDB_CORRUPTED;
            break;
        }

        memcpy(ibuf, val.mv_data, 8);
        id = keryu_store_key_decode(ibuf);

        lkey.mv_size = 8;
        lkey.mv_data = ibuf;

        rc = mdb_get(txn, st->logs, &lkey, &lval);

        if (rc != 0 && rc != MDB_NOTFOUND) {
            break;
        }

        /*
         * an entry whose record is gone, or is not this user's, is all
         * there is to delete
         */

        if (rc == MDB_NOTFOUND
            || store_record_read(st, &lval, &rec, &store_rbuf) != 0
            || rec.user.len != len || memcmp(rec.user.data, ubuf, len) != 0)
        {
            rc = mdb_cursor_del(cur, 0);
            if (rc != 0) {
                break;
            }

            continue;
        }

        rc = store_index_del(st, txn, id, &rec);
        if (rc != 0) {
            break;
        }

        rc = mdb_del(txn, st->logs, &lkey, NULL);
        if (rc != 0) {
            break;
        }

        rc = chain_mark(st, txn, id, CHAIN_ERASED);
        if (rc != 0) {
            break;
        }

        done++;
    }

    mdb_cursor_close(cur);

    if (rc != 0 && rc != MDB_NOTFOUND) {
        goto txn_abort;
    }

    if (n == 0) {
        mdb_txn_abort(txn);
        return 0;
    }

    rc = store_meta_get(st, txn, STORE_META_ERASED, &erased);
    if (rc != 0) {
        goto txn_abort;
    }

    rc = store_meta_put(st, txn, STORE_META_ERASED, erased + done);
    if (rc != 0) {
        goto txn_abort;
    }

    rc = mdb_txn_commit(txn);
    if (rc != 0) {
        return rc;
    }

    *removed = done;
    *more = (n == max);

    return 0;

txn_abort:

    mdb_txn_abort(txn);

    return rc;
}


/*
 * erases a data subject: every record of user, STORE_EXPIRE_MAX a write
 * transaction (store_erase_user), then the alerts' samples of those
 * records (alert_forget); records and alerts get the counts, also of what
 * was done before a failure
 */

int
store_erase_subject(store_t *st, const char *user, uint64_t *records,
    uint64_t *alerts)
{
    int     rc, more;
    size_t  removed;

    *records = 0;
    *alerts = 0;

    do {
        rc = store_erase_user(st, (const uint8_t *) user, strlen(user),
                              STORE_EXPIRE_MAX, &removed, &more);
        if (rc != 0) {
            return rc;
        }

        *records += removed;

    } while (more);

    return alert_forget(st, user, alerts);
}


void
store_ibatch_reset(store_ibatch_t *b)
{
    b->ib_n = 0;
    b->ib_keys_len = 0;
}


/*
 * adds the index entries of rec, stored in logs under id, to b; a batch
 * that reaches STORE_IBATCH_MAX entries is written into txn first.
 * Returns 0, ENOMEM, or an LMDB code.
 */

int
store_ibatch_add(store_ibatch_t *b, store_t *st, MDB_txn *txn, uint64_t id,
    const keryu_record_t *rec)
{
    int                     rc;
    void                   *p;
    size_t                  size;
    uint8_t                 kbuf[STORE_KEYS_SIZE];
    unsigned                i, n;
    store_ikey_t            ik[STORE_NINDEX];
    struct store_ientry_s  *e;

    if (b->ib_n + STORE_NINDEX > STORE_IBATCH_MAX) {
        rc = store_ibatch_write(b, txn);
        if (rc != 0) {
            return rc;
        }
    }

    if (b->ib_n + STORE_NINDEX > b->ib_nalloc) {
        size = b->ib_nalloc ? 2 * b->ib_nalloc : 4096;

        p = realloc(b->ib_entries, size * sizeof(struct store_ientry_s));
        if (p == NULL) {
            return ENOMEM;
        }

        b->ib_entries = p;

        p = realloc(b->ib_ids, size * 8);
        if (p == NULL) {
            return ENOMEM;
        }

        b->ib_ids = p;
        b->ib_nalloc = size;
    }

    if (b->ib_keys_len + STORE_KEYS_SIZE > b->ib_keys_alloc) {
        size = b->ib_keys_alloc ? 2 * b->ib_keys_alloc : 65536;

        p = realloc(b->ib_keys, size);
        if (p == NULL) {
            return ENOMEM;
        }

        b->ib_keys = p;
        b->ib_keys_alloc = size;
    }

    n = store_index_keys(st, rec, kbuf, ik);

    for (i = 0; i < n; i++) {
        e = &b->ib_entries[b->ib_n++];

        e->id = id;
        e->off = (uint32_t) b->ib_keys_len;
        e->len = (uint16_t) ik[i].key.mv_size;
        e->dbi = ik[i].dbi;

        memcpy(b->ib_keys + b->ib_keys_len, ik[i].key.mv_data,
               ik[i].key.mv_size);
        b->ib_keys_len += ik[i].key.mv_size;
    }

    return 0;
}


/* orders entries by index, then key, then id */

static int
store_ibatch_cmp(const void *a, const void *b, void *keys)
{
    int                           rc;
    const struct store_ientry_s  *x = a, *y = b;

    if (x->dbi != y->dbi) {
        return x->dbi < y->dbi ? -1 : 1;
    }

    rc = memcmp((uint8_t *) keys + x->off, (uint8_t *) keys + y->off,
                x->len < y->len ? x->len : y->len);

    if (rc != 0) {
        return rc;
    }

    if (x->len != y->len) {
        return x->len < y->len ? -1 : 1;
    }

    return (x->id > y->id) - (x->id < y->id);
}


/*
 * writes the entries of b into txn, sorted, the ids of each key in one
 * MDB_MULTIPLE put, and empties b; returns 0 or an LMDB code
 */

int
store_ibatch_write(store_ibatch_t *b, MDB_txn *txn)
{
    int                     rc;
    size_t                  i, j;
    MDB_val                 key, data[2];
    MDB_dbi                 dbi;
    MDB_cursor             *cur;
    struct store_ientry_s  *e;

    if (b->ib_n == 0) {
        return 0;
    }

    qsort_r(b->ib_entries, b->ib_n, sizeof(struct store_ientry_s),
            store_ibatch_cmp, b->ib_keys);

    for (i = 0; i < b->ib_n; i++) {
        keryu_store_key_encode(b->ib_ids + 8 * i, b->ib_entries[i].id);
    }

    rc = 0;
    cur = NULL;
    dbi = 0;

    for (i = 0; i < b->ib_n; i = j) {
        e = &b->ib_entries[i];

        if (cur == NULL || e->dbi != dbi) {
            if (cur) {
                mdb_cursor_close(cur);
            }

            dbi = e->dbi;

            rc = mdb_cursor_open(txn, dbi, &cur);
            if (rc != 0) {
                cur = NULL;
                break;
            }
        }

        for (j = i + 1;
             j < b->ib_n && b->ib_entries[j].dbi == dbi
             && b->ib_entries[j].len == e->len
             && memcmp(b->ib_keys + b->ib_entries[j].off,
                       b->ib_keys + e->off, e->len) == 0;
             j++)
        {
            /* void */
        }

        key.mv_size = e->len;
        key.mv_data = b->ib_keys + e->off;

        data[0].mv_size = 8;
        data[0].mv_data = b->ib_ids + 8 * i;
        data[1].mv_size = j - i;
        data[1].mv_data = NULL;

        rc = mdb_cursor_put(cur, &key, data, MDB_MULTIPLE);
        if (rc != 0) {
            break;
        }
    }

    if (cur) {
        mdb_cursor_close(cur);
    }

    store_ibatch_reset(b);

    return rc;
}


void
store_ibatch_free(store_ibatch_t *b)
{
    free(b->ib_entries);
    free(b->ib_keys);
    free(b->ib_ids);

    memset(b, 0, sizeof(store_ibatch_t));
}
