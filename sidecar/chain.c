
/*
 * Copyright (C) Keryu Security
 *
 * The hash chain over keryud's logs, and its signed checkpoints.
 *
 * Every record stored in logs, whether consumed from the ring (consume.c)
 * or a system_change (change.c), joins the chain in the write transaction
 * that stores it:
 *
 *   digest_N = SHA-256(value_N)
 *   link_N   = SHA-256(link_N-1 || id_N || digest_N)
 *
 * value_N is the record exactly as logs holds it and id_N its key, 8 bytes
 * big-endian.  The chain begins at meta "chain_first": 1 in a new store,
 * or the id of the next record when a store older than the chain (schema
 * 2 or 1) was opened; the link before it is 32 zero bytes, and records
 * older than it stay outside the chain ("unchained").
 *
 *   chain        key: the record's id, 8 bytes big-endian
 *                value: digest (32), link (32), state (1):
 *                  0  CHAIN_KEPT, the record is in logs
 *                  1  CHAIN_EXPIRED, deleted by retention (store_expire)
 *                  2  CHAIN_ERASED, erased for its data subject
 *                     (store_erase_user)
 *   checkpoints  key: the id of the last record it covers, 8 bytes BE
 *                value: version (1, 1), algorithm (1, 1: Ed25519), time
 *                in microseconds (8, BE), the link at its id (32), the
 *                signing key's id (8), signature (64)
 *   chain_keys   the local signer's keys (chain_signer_local)
 *                key: key id, the first 8 bytes of SHA-256 of the raw
 *                public key; meta "chain_key" names the current one
 *                value: version (1, 1), zero (7), created in microseconds
 *                (8, BE), raw public key (32), raw private key (32)
 *
 * A checkpoint signs "keryu-checkpoint" (16 bytes), its id (8, BE) and the
 * first 42 bytes of its value: version, algorithm, time and link.  One is
 * written at the end of a write transaction that links records once
 * CHAIN_CHECKPOINT_RECORDS records or CHAIN_CHECKPOINT_INTERVAL seconds
 * have passed since the last, and by the sync timer (chain_tick) for
 * records that wait longer than that.  The first records of a store get
 * one at once.
 *
 * A record deleted by design keeps its entry: retention and erasure only
 * set its state, so the chain still verifies from its start; the record's
 * content goes and its digest stays.  chain_verify() walks the entries,
 * logs and the checkpoints together in id order and stops at the first
 * fault:
 *
 *   deleted     an id without an entry, an entry in state 0 without its
 *               record, or a checkpoint or next_id past the chain's end
 *   altered     a record whose digest is not its entry's, or an entry
 *               whose link does not follow from the one before
 *   reordered   the same, where the digest (or the whole entry) is that
 *               of another id within CHAIN_NEAR: records or entries
 *               swapped
 *   inserted    a record in logs past the chain's end
 *   checkpoint  a signature that does not verify, by an unknown key, or a
 *               signed link that is not the chain's at its id: the chain
 *               was recomputed after a change since the checkpoint before
 *
 * What the chain cannot tell: the state byte is outside it, so whoever
 * can write the data file can delete a record and mark its entry as
 * retention or an erasure would; the erasures, with their counts, are in
 * the change history to compare with.  And the local signer's private key
 * lives in the same file, so such a writer could also recompute the chain
 * and sign it anew; a signer whose key is kept elsewhere (keys_sign())
 * closes that.
 */


#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "chain.h"
#include "log.h"


#define CHAIN_CP_VERSION      1
#define CHAIN_CP_ED25519      1
#define CHAIN_CP_SIGNED       (2 + 8 + CHAIN_HASH_LEN)
#define CHAIN_CP_LEN          (CHAIN_CP_SIGNED + CHAIN_KID_LEN + CHAIN_SIG_LEN)
#define CHAIN_CP_LABEL        "keryu-checkpoint"
#define CHAIN_CP_LABEL_LEN    16
#define CHAIN_MSG_LEN         (CHAIN_CP_LABEL_LEN + 8 + CHAIN_CP_SIGNED)

#define CHAIN_KEY_VERSION     1
#define CHAIN_KEY_LEN         (16 + CHAIN_PUB_LEN + 32)

/* how far on either side of a bad entry verify looks for its owner */
#define CHAIN_NEAR            256

/* signing failures are logged at most once a minute */
#define CHAIN_WARN_INTERVAL   60


/* the public key verify used last, kept for the checkpoints after it */
typedef struct {
    EVP_PKEY           *pkey;
    uint8_t             kid[CHAIN_KID_LEN];
} chain_pub_t;


static int chain_hash(chain_t *ch, const void *data, size_t len,
    uint8_t out[CHAIN_HASH_LEN]);
static int chain_link(chain_t *ch, const uint8_t prev[CHAIN_HASH_LEN],
    uint64_t id, const uint8_t digest[CHAIN_HASH_LEN],
    uint8_t out[CHAIN_HASH_LEN]);
static int chain_last_checkpoint(store_t *st, MDB_txn *txn, uint64_t *id,
    uint64_t *time_us);
static int chain_sign(store_t *st, MDB_txn *txn, uint64_t id,
    const uint8_t link[CHAIN_HASH_LEN], uint64_t now_us);
static void chain_message(uint8_t msg[CHAIN_MSG_LEN], uint64_t id,
    const uint8_t *value);
static int chain_check_checkpoint(store_t *st, MDB_txn *txn, uint64_t id,
    const MDB_val *val, const uint8_t link[CHAIN_HASH_LEN],
    chain_pub_t *pub, const char **reason);
static int chain_entry_link(store_t *st, MDB_txn *txn, uint64_t id,
    uint64_t first, uint8_t link[CHAIN_HASH_LEN]);
static uint64_t chain_near_digest(store_t *st, MDB_txn *txn, uint64_t id,
    uint64_t first, const uint8_t digest[CHAIN_HASH_LEN]);
static uint64_t chain_near_entry(chain_t *ch, store_t *st, MDB_txn *txn,
    uint64_t id, uint64_t first, const uint8_t *entry);
static void chain_bad(chain_verify_t *v, int kind, uint64_t id,
    const char *reason);
static int chain_local_sign(void *data, store_t *st, MDB_txn *txn,
    const uint8_t *msg, size_t len, uint8_t kid[CHAIN_KID_LEN],
    uint8_t sig[CHAIN_SIG_LEN]);
static int chain_local_keygen(store_t *st, MDB_txn *txn,
    uint8_t kid[CHAIN_KID_LEN]);
static int chain_local_public_key(void *data, store_t *st, MDB_txn *txn,
    const uint8_t kid[CHAIN_KID_LEN], uint8_t pub[CHAIN_PUB_LEN]);
static int chain_quiet(void);
static void chain_be64(uint8_t *p, uint64_t v);
static uint64_t chain_get_be64(const uint8_t *p);


const chain_signer_t  chain_signer_local = {
    NULL,
    chain_local_sign,
    chain_local_public_key
};


static const char *const  chain_kinds[] = {
    "ok", "deleted", "altered", "reordered", "inserted", "checkpoint"
};


int
chain_init(chain_t *ch)
{
    memset(ch, 0, sizeof(chain_t));

    ch->ch_md = EVP_MD_fetch(NULL, "SHA256", NULL);
    ch->ch_ctx = EVP_MD_CTX_new();

    if (ch->ch_md == NULL || ch->ch_ctx == NULL) {
        chain_free(ch);
        return ENOMEM;
    }

    return 0;
}


void
chain_free(chain_t *ch)
{
    EVP_MD_CTX_free(ch->ch_ctx);
    EVP_MD_free(ch->ch_md);

    ch->ch_ctx = NULL;
    ch->ch_md = NULL;
}


/*
 * the link before next_id: zeros at the chain's start, else the link of
 * the entry before.  An entry that is missing or malformed there leaves
 * zeros too, so that records go on being stored; verify reports it.
 */

int
chain_begin(chain_t *ch, store_t *st, MDB_txn *txn, uint64_t next_id)
{
    int       rc;
    uint64_t  first;

    if (ch->ch_ctx == NULL) {
        rc = chain_init(ch);
        if (rc != 0) {
            return rc;
        }
    }

    rc = store_meta_get(st, txn, STORE_META_CHAIN_FIRST, &first);
    if (rc != 0) {
        return rc;
    }

    ch->ch_id = 0;
    memset(ch->ch_link, 0, CHAIN_HASH_LEN);

    /* a write transaction's cursors go with it: no close to call */

    rc = mdb_cursor_open(txn, st->chain, &ch->ch_cur);
    if (rc != 0) {
        ch->ch_cur = NULL;
        return rc;
    }

    if (next_id <= first || next_id <= 1) {
        return 0;
    }

    rc = chain_entry_link(st, txn, next_id - 1, first, ch->ch_link);
    if (rc != 0 && rc != MDB_NOTFOUND) {
        return rc;
    }

    ch->ch_id = next_id - 1;

    return 0;
}


int
chain_add(chain_t *ch, uint64_t id, const void *value, size_t len)
{
    int       rc;
    uint8_t   kbuf[8], entry[CHAIN_ENTRY_LEN];
    MDB_val   key, val;

    if (ch->ch_ctx == NULL || ch->ch_cur == NULL
        || (ch->ch_id != 0 && id != ch->ch_id + 1))
    {
        return EINVAL;
    }

    rc = chain_hash(ch, value, len, entry);
    if (rc != 0) {
        return rc;
    }

    rc = chain_link(ch, ch->ch_link, id, entry, entry + CHAIN_HASH_LEN);
    if (rc != 0) {
        return rc;
    }

    entry[2 * CHAIN_HASH_LEN] = CHAIN_KEPT;

    chain_be64(kbuf, id);

    key.mv_size = 8;
    key.mv_data = kbuf;
    val.mv_size = CHAIN_ENTRY_LEN;
    val.mv_data = entry;

    rc = mdb_cursor_put(ch->ch_cur, &key, &val, MDB_APPEND);
    if (rc != 0) {
        return rc;
    }

    ch->ch_id = id;
    memcpy(ch->ch_link, entry + CHAIN_HASH_LEN, CHAIN_HASH_LEN);

    return 0;
}


int
chain_checkpoint(chain_t *ch, store_t *st, MDB_txn *txn, uint64_t now_us)
{
    int       rc;
    uint64_t  cp_id, cp_time;

    if (ch->ch_id == 0) {
        return 0;
    }

    rc = chain_last_checkpoint(st, txn, &cp_id, &cp_time);
    if (rc != 0) {
        return rc;
    }

    if (cp_id >= ch->ch_id
        || (ch->ch_id - cp_id < CHAIN_CHECKPOINT_RECORDS
            && now_us < cp_time + CHAIN_CHECKPOINT_INTERVAL * 1000000ULL))
    {
        return 0;
    }

    return chain_sign(st, txn, ch->ch_id, ch->ch_link, now_us);
}


/*
 * looks in a read transaction first, so that a tick with nothing to sign
 * takes no write lock
 */

int
chain_tick(store_t *st, uint64_t now_us)
{
    int          rc, pass;
    MDB_val      key, val;
    MDB_txn     *txn;
    chain_t      ch;
    uint64_t     cp_id, cp_time;
    MDB_cursor  *cur;

    for (pass = 0; pass < 2; pass++) {
        rc = store_txn_begin(st, pass ? 0 : MDB_RDONLY, &txn);
        if (rc != 0) {
            return rc;
        }

        rc = mdb_cursor_open(txn, st->chain, &cur);
        if (rc != 0) {
            goto txn_abort;
        }

        rc = mdb_cursor_get(cur, &key, &val, MDB_LAST);
        mdb_cursor_close(cur);

        if (rc == MDB_NOTFOUND) {
            mdb_txn_abort(txn);
            return 0;
        }

        if (rc != 0) {
            goto txn_abort;
        }

        if (key.mv_size != 8 || val.mv_size != CHAIN_ENTRY_LEN) {
            rc = MDB_CORRUPTED;
            goto txn_abort;
        }

        memset(&ch, 0, sizeof(chain_t));
        ch.ch_id = chain_get_be64(key.mv_data);
        memcpy(ch.ch_link, (uint8_t *) val.mv_data + CHAIN_HASH_LEN,
               CHAIN_HASH_LEN);

        rc = chain_last_checkpoint(st, txn, &cp_id, &cp_time);
        if (rc != 0) {
            goto txn_abort;
        }

        if (cp_id >= ch.ch_id
            || now_us < cp_time + CHAIN_CHECKPOINT_INTERVAL * 1000000ULL)
        {
            mdb_txn_abort(txn);
            return 0;
        }

        if (pass == 0) {
            mdb_txn_abort(txn);
            continue;
        }

        rc = chain_checkpoint(&ch, st, txn, now_us);
        if (rc != 0) {
            goto txn_abort;
        }

        /* a failed commit has freed the transaction already */

        return mdb_txn_commit(txn);
    }

    return 0;

txn_abort:

    mdb_txn_abort(txn);

    return rc;
}


int
chain_mark(store_t *st, MDB_txn *txn, uint64_t id, int state)
{
    int       rc;
    uint8_t   kbuf[8], entry[CHAIN_ENTRY_LEN];
    MDB_val   key, val;

    chain_be64(kbuf, id);

    key.mv_size = 8;
    key.mv_data = kbuf;

    rc = mdb_get(txn, st->chain, &key, &val);

    if (rc == MDB_NOTFOUND) {
        return 0;
    }

    if (rc != 0) {
        return rc;
    }

    /* a malformed entry stays as it is, for verify to report */

    if (val.mv_size != CHAIN_ENTRY_LEN) {
        return 0;
    }

    memcpy(entry, val.mv_data, CHAIN_ENTRY_LEN);
    entry[2 * CHAIN_HASH_LEN] = (uint8_t) state;

    val.mv_size = CHAIN_ENTRY_LEN;
    val.mv_data = entry;

    return mdb_put(txn, st->chain, &key, &val, 0);
}


/*
 * the entries before the oldest checkpoint past the base, C, go when the
 * entries from the base to C, C's own included, are all of deleted
 * records, none missing, and logs holds no record up to C.  C becomes the
 * base; its entry stays, for the next record to link to and for verify
 * to check against C's signed link.
 */

int
chain_compact(store_t *st, size_t *removed)
{
    int          rc;
    uint8_t      kbuf[8];
    MDB_val      key, val;
    MDB_txn     *txn;
    uint64_t     first, base, c, id, n;
    MDB_cursor  *cur;

    *removed = 0;

    rc = store_txn_begin(st, 0, &txn);
    if (rc != 0) {
        return rc;
    }

    if ((rc = store_meta_get(st, txn, STORE_META_CHAIN_FIRST, &first))
        || (rc = store_meta_get(st, txn, STORE_META_CHAIN_BASE, &base)))
    {
        goto txn_abort;
    }

    if (base < first) {
        base = first;
    }

    chain_be64(kbuf, base + 1);

    key.mv_size = 8;
    key.mv_data = kbuf;

    rc = mdb_cursor_open(txn, st->checkpoints, &cur);
    if (rc != 0) {
        goto txn_abort;
    }

    rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);
    mdb_cursor_close(cur);

    if (rc != 0 || key.mv_size != 8) {
        goto nothing;
    }

    c = chain_get_be64(key.mv_data);

    rc = mdb_cursor_open(txn, st->logs, &cur);
    if (rc != 0) {
        goto txn_abort;
    }

    rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST);
    mdb_cursor_close(cur);

    if (rc == 0 && (key.mv_size != 8 || chain_get_be64(key.mv_data) <= c)) {
        goto nothing;
    }

    if (rc != 0 && rc != MDB_NOTFOUND) {
        goto txn_abort;
    }

    rc = mdb_cursor_open(txn, st->chain, &cur);
    if (rc != 0) {
        goto txn_abort;
    }

    n = 0;

    for (id = base; id <= c; id++) {
        chain_be64(kbuf, id);

        key.mv_size = 8;
        key.mv_data = kbuf;

        rc = mdb_cursor_get(cur, &key, &val, MDB_SET_KEY);

        /* a gap or a kept entry is for verify to report: keep it all */

        if (rc == MDB_NOTFOUND
            || (rc == 0 && (val.mv_size != CHAIN_ENTRY_LEN
                            || ((uint8_t *) val.mv_data)[2 * CHAIN_HASH_LEN]
                               == CHAIN_KEPT)))
        {
            mdb_cursor_close(cur);
            goto nothing;
        }

        if (rc == 0 && id < c) {
            rc = mdb_cursor_del(cur, 0);
            n++;
        }

        if (rc != 0) {
            break;
        }
    }

    mdb_cursor_close(cur);

    if (rc != 0) {
        goto txn_abort;
    }

    rc = store_meta_put(st, txn, STORE_META_CHAIN_BASE, c);
    if (rc != 0) {
        goto txn_abort;
    }

    /* a failed commit has freed the transaction already */

    rc = mdb_txn_commit(txn);
    if (rc == 0) {
        *removed = n;
    }

    return rc;

nothing:

    mdb_txn_abort(txn);

    return 0;

txn_abort:

    mdb_txn_abort(txn);

    return rc;
}


int
chain_state(store_t *st, MDB_txn *txn, uint64_t id)
{
    uint8_t  kbuf[8];
    MDB_val  key, val;

    chain_be64(kbuf, id);

    key.mv_size = 8;
    key.mv_data = kbuf;

    if (mdb_get(txn, st->chain, &key, &val) != 0
        || val.mv_size != CHAIN_ENTRY_LEN)
    {
        return -1;
    }

    return ((uint8_t *) val.mv_data)[2 * CHAIN_HASH_LEN];
}


int
chain_verify(store_t *st, MDB_txn *txn, int full, chain_verify_t *v)
{
    int               rc, present, have_log, have_cp, done;
    uint8_t           kbuf[8], link[CHAIN_HASH_LEN], d[CHAIN_HASH_LEN];
    MDB_val           key, val, lkey, lval, pkey, pval;
    chain_t           ch;
    uint64_t          first, next, base, start, id, lid, cpid, other;
    MDB_cursor       *cc, *lc, *pc;
    const char       *reason;
    chain_pub_t       pub;
    const uint8_t    *e;
    struct timespec   t0, t1;

    memset(v, 0, sizeof(chain_verify_t));
    v->full = full;

    clock_gettime(CLOCK_MONOTONIC, &t0);

    rc = chain_init(&ch);
    if (rc != 0) {
        return rc;
    }

    memset(&pub, 0, sizeof(chain_pub_t));

    cc = NULL;
    lc = NULL;
    pc = NULL;

    if ((rc = store_meta_get(st, txn, STORE_META_CHAIN_FIRST, &first))
        || (rc = store_meta_get(st, txn, STORE_META_NEXT_ID, &next))
        || (rc = store_meta_get(st, txn, STORE_META_CHAIN_BASE, &base)))
    {
        goto done;
    }

    if (first == 0) {
        first = 1;
    }

    if ((rc = mdb_cursor_open(txn, st->chain, &cc))
        || (rc = mdb_cursor_open(txn, st->logs, &lc))
        || (rc = mdb_cursor_open(txn, st->checkpoints, &pc)))
    {
        goto done;
    }

    start = first;
    memset(link, 0, CHAIN_HASH_LEN);

    /*
     * a compacted chain goes on after its base, whose entry's link the
     * base checkpoint signs
     */

    if (base) {
        chain_be64(kbuf, base);

        pkey.mv_size = 8;
        pkey.mv_data = kbuf;

        rc = mdb_get(txn, st->checkpoints, &pkey, &pval);

        if (rc == MDB_NOTFOUND) {
            chain_bad(v, CHAIN_CHECKPOINT, base, "base checkpoint missing");
            rc = 0;
            goto done;
        }

        if (rc != 0) {
            goto done;
        }

        rc = chain_entry_link(st, txn, base, first, link);

        if (rc == MDB_NOTFOUND) {
            chain_bad(v, CHAIN_DELETED, base, "no chain entry");
            rc = 0;
            goto done;
        }

        if (rc != 0) {
            goto done;
        }

        rc = chain_check_checkpoint(st, txn, base, &pval, link, &pub,
                                    &reason);
        if (rc != 0) {
            goto done;
        }

        if (reason) {
            chain_bad(v, CHAIN_CHECKPOINT, base, reason);
            goto done;
        }

        v->checkpoints++;
        v->cp_id = base;
        v->cp_time = chain_get_be64((uint8_t *) pval.mv_data + 2);
        memcpy(v->cp_kid, (uint8_t *) pval.mv_data + CHAIN_CP_SIGNED,
               CHAIN_KID_LEN);

        start = base + 1;
    }

    /* quick: from the newest checkpoint, whose signature the walk checks */

    if (!full) {
        rc = mdb_cursor_get(pc, &pkey, &pval, MDB_LAST);

        if (rc == 0 && pkey.mv_size == 8
            && chain_get_be64(pkey.mv_data) > start)
        {
            start = chain_get_be64(pkey.mv_data);

            rc = chain_entry_link(st, txn, start - 1, first, link);

            if (rc == MDB_NOTFOUND) {
                chain_bad(v, CHAIN_DELETED, start - 1, "no chain entry");
                rc = 0;
                goto done;
            }

        } else if (rc == MDB_NOTFOUND) {
            rc = 0;
        }

        if (rc != 0) {
            goto done;
        }

    } else {

        /* records older than the chain; none may be left below its base */

        for (rc = mdb_cursor_get(lc, &lkey, &lval, MDB_FIRST);
             rc == 0 && lkey.mv_size == 8
             && (id = chain_get_be64(lkey.mv_data)) < start;
             rc = mdb_cursor_get(lc, &lkey, &lval, MDB_NEXT))
        {
            if (id >= first) {
                chain_bad(v, CHAIN_INSERTED, id,
                          "record before the chain's base");
                rc = 0;
                goto done;
            }

            v->unchained++;
        }

        if (rc != 0 && rc != MDB_NOTFOUND) {
            goto done;
        }
    }

    v->first_id = start;

    chain_be64(kbuf, start);

    lkey.mv_size = 8;
    lkey.mv_data = kbuf;

    rc = mdb_cursor_get(lc, &lkey, &lval, MDB_SET_RANGE);
    if (rc != 0 && rc != MDB_NOTFOUND) {
        goto done;
    }

    have_log = (rc == 0 && lkey.mv_size == 8);
    lid = have_log ? chain_get_be64(lkey.mv_data) : 0;

    pkey.mv_size = 8;
    pkey.mv_data = kbuf;

    rc = mdb_cursor_get(pc, &pkey, &pval, MDB_SET_RANGE);
    if (rc != 0 && rc != MDB_NOTFOUND) {
        goto done;
    }

    have_cp = (rc == 0 && pkey.mv_size == 8);
    cpid = have_cp ? chain_get_be64(pkey.mv_data) : 0;

    key.mv_size = 8;
    key.mv_data = kbuf;

    done = 0;
    id = start;

    for (rc = mdb_cursor_get(cc, &key, &val, MDB_SET_RANGE);
         rc == 0 && !done;
         rc = mdb_cursor_get(cc, &key, &val, MDB_NEXT))
    {
        id = start + v->entries;

        if (key.mv_size != 8 || chain_get_be64(key.mv_data) != id) {
            chain_bad(v, CHAIN_DELETED, id, "no chain entry");
            break;
        }

        e = val.mv_data;

        if (val.mv_size != CHAIN_ENTRY_LEN
            || e[2 * CHAIN_HASH_LEN] > CHAIN_ERASED)
        {
            chain_bad(v, CHAIN_ALTERED, id, "malformed chain entry");
            break;
        }

        present = (have_log && lid == id);

        if (present) {
            rc = chain_hash(&ch, lval.mv_data, lval.mv_size, d);
            if (rc != 0) {
                goto done;
            }

            if (memcmp(d, e, CHAIN_HASH_LEN) != 0) {
                other = chain_near_digest(st, txn, id, first, d);

                if (other) {
                    chain_bad(v, CHAIN_REORDERED, id,
                              "the record of another id");
                    v->other_id = other;

                } else {
                    chain_bad(v, CHAIN_ALTERED, id, "digest mismatch");
                }

                break;
            }

        } else if (e[2 * CHAIN_HASH_LEN] == CHAIN_KEPT) {
            chain_bad(v, CHAIN_DELETED, id, "record missing");
            break;
        }

        rc = chain_link(&ch, link, id, e, d);
        if (rc != 0) {
            goto done;
        }

        if (memcmp(d, e + CHAIN_HASH_LEN, CHAIN_HASH_LEN) != 0) {
            other = chain_near_entry(&ch, st, txn, id, first, e);

            if (other) {
                chain_bad(v, CHAIN_REORDERED, id,
                          "the chain entry of another id");
                v->other_id = other;

            } else {
                chain_bad(v, CHAIN_ALTERED, id, "link mismatch");
            }

            break;
        }

        memcpy(link, d, CHAIN_HASH_LEN);

        switch (e[2 * CHAIN_HASH_LEN]) {

        case CHAIN_EXPIRED:
            v->expired++;
            break;

        case CHAIN_ERASED:
            v->erased++;
            break;

        default:
            v->kept++;
            break;
        }

        v->entries++;
        v->last_id = id;

        if (present) {
            rc = mdb_cursor_get(lc, &lkey, &lval, MDB_NEXT);
            if (rc != 0 && rc != MDB_NOTFOUND) {
                goto done;
            }

            have_log = (rc == 0 && lkey.mv_size == 8);
            lid = have_log ? chain_get_be64(lkey.mv_data) : 0;
        }

        /* the walk reaches every checkpoint at its own id */

        while (have_cp && cpid <= id) {
            rc = chain_check_checkpoint(st, txn, cpid, &pval, link, &pub,
                                        &reason);
            if (rc != 0) {
                goto done;
            }

            if (reason) {
                chain_bad(v, CHAIN_CHECKPOINT, cpid, reason);
                done = 1;
                break;
            }

            v->checkpoints++;
            v->cp_id = cpid;
            v->cp_time = chain_get_be64((uint8_t *) pval.mv_data + 2);
            memcpy(v->cp_kid, (uint8_t *) pval.mv_data + CHAIN_CP_SIGNED,
                   CHAIN_KID_LEN);

            rc = mdb_cursor_get(pc, &pkey, &pval, MDB_NEXT);
            if (rc != 0 && rc != MDB_NOTFOUND) {
                goto done;
            }

            have_cp = (rc == 0 && pkey.mv_size == 8);
            cpid = have_cp ? chain_get_be64(pkey.mv_data) : 0;
        }
    }

    if (v->kind != CHAIN_OK) {
        rc = 0;
        goto done;
    }

    if (rc != MDB_NOTFOUND) {
        goto done;
    }

    rc = 0;
    id = start + v->entries;

    /* what lies past the chain's end */

    if (have_log) {
        chain_bad(v, CHAIN_INSERTED, lid, "record without chain entry");

    } else if (have_cp) {
        chain_bad(v, CHAIN_DELETED, id, "a checkpoint covers it");

    } else if (next > id) {
        chain_bad(v, CHAIN_DELETED, id, "next_id is past the chain's end");
    }

done:

    if (cc) {
        mdb_cursor_close(cc);
    }

    if (lc) {
        mdb_cursor_close(lc);
    }

    if (pc) {
        mdb_cursor_close(pc);
    }

    EVP_PKEY_free(pub.pkey);
    chain_free(&ch);

    clock_gettime(CLOCK_MONOTONIC, &t1);

    v->elapsed_us = (uint64_t) (t1.tv_sec - t0.tv_sec) * 1000000
                    + (uint64_t) (t1.tv_nsec / 1000)
                    - (uint64_t) (t0.tv_nsec / 1000);

    return rc;
}


void
chain_verify_json(json_t *j, const chain_verify_t *v)
{
    char      hex[2 * CHAIN_KID_LEN + 1], ts[TIME_STR_MAX];
    unsigned  i;

    json_map_open(j);

    json_key(j, "ok");
    json_bool(j, v->kind == CHAIN_OK);
    json_key(j, "full");
    json_bool(j, v->full);
    json_key(j, "first_id");
    json_uint(j, v->first_id);
    json_key(j, "last_id");
    json_uint(j, v->last_id);
    json_key(j, "records");
    json_uint(j, v->entries);
    json_key(j, "kept");
    json_uint(j, v->kept);
    json_key(j, "expired");
    json_uint(j, v->expired);
    json_key(j, "erased");
    json_uint(j, v->erased);
    json_key(j, "unchained");
    json_uint(j, v->unchained);
    json_key(j, "checkpoints");
    json_uint(j, v->checkpoints);

    json_key(j, "last_checkpoint");

    if (v->cp_id) {
        for (i = 0; i < CHAIN_KID_LEN; i++) {
            snprintf(hex + 2 * i, 3, "%02x", v->cp_kid[i]);
        }

        time_format(v->cp_time, ts);

        json_map_open(j);
        json_key(j, "id");
        json_uint(j, v->cp_id);
        json_key(j, "time");
        json_cstring(j, ts);
        json_key(j, "key");
        json_cstring(j, hex);
        json_map_close(j);

    } else {
        json_null(j);
    }

    json_key(j, "first_bad");

    if (v->kind != CHAIN_OK) {
        json_map_open(j);
        json_key(j, "id");
        json_uint(j, v->bad_id);
        json_key(j, "kind");
        json_cstring(j, chain_kind_name(v->kind));
        json_key(j, "reason");
        json_cstring(j, v->reason);

        if (v->other_id) {
            json_key(j, "other_id");
            json_uint(j, v->other_id);
        }

        json_map_close(j);

    } else {
        json_null(j);
    }

    json_key(j, "duration_us");
    json_uint(j, v->elapsed_us);

    json_map_close(j);
}


const char *
chain_kind_name(int kind)
{
    if (kind < CHAIN_OK || kind > CHAIN_CHECKPOINT) {
        return "unknown";
    }

    return chain_kinds[kind];
}


static int
chain_hash(chain_t *ch, const void *data, size_t len,
    uint8_t out[CHAIN_HASH_LEN])
{
    if (EVP_DigestInit_ex(ch->ch_ctx, ch->ch_md, NULL) != 1
        || EVP_DigestUpdate(ch->ch_ctx, data, len) != 1
        || EVP_DigestFinal_ex(ch->ch_ctx, out, NULL) != 1)
    {
        return ENOMEM;
    }

    return 0;
}


static int
chain_link(chain_t *ch, const uint8_t prev[CHAIN_HASH_LEN], uint64_t id,
    const uint8_t digest[CHAIN_HASH_LEN], uint8_t out[CHAIN_HASH_LEN])
{
    uint8_t  buf[2 * CHAIN_HASH_LEN + 8];

    memcpy(buf, prev, CHAIN_HASH_LEN);
    chain_be64(buf + CHAIN_HASH_LEN, id);
    memcpy(buf + CHAIN_HASH_LEN + 8, digest, CHAIN_HASH_LEN);

    return chain_hash(ch, buf, sizeof(buf), out);
}


/* the id and time of the newest checkpoint; 0 and 0 without one */

static int
chain_last_checkpoint(store_t *st, MDB_txn *txn, uint64_t *id,
    uint64_t *time_us)
{
    int          rc;
    MDB_val      key, val;
    MDB_cursor  *cur;

    *id = 0;
    *time_us = 0;

    rc = mdb_cursor_open(txn, st->checkpoints, &cur);
    if (rc != 0) {
        return rc;
    }

    rc = mdb_cursor_get(cur, &key, &val, MDB_LAST);
    mdb_cursor_close(cur);

    if (rc == MDB_NOTFOUND) {
        return 0;
    }

    if (rc != 0) {
        return rc;
    }

    if (key.mv_size != 8 || val.mv_size != CHAIN_CP_LEN) {
        return MDB_CORRUPTED;
    }

    *id = chain_get_be64(key.mv_data);
    *time_us = chain_get_be64((uint8_t *) val.mv_data + 2);

    return 0;
}


static int
chain_sign(store_t *st, MDB_txn *txn, uint64_t id,
    const uint8_t link[CHAIN_HASH_LEN], uint64_t now_us)
{
    int                    rc;
    uint8_t                kbuf[8], value[CHAIN_CP_LEN], msg[CHAIN_MSG_LEN];
    MDB_val                key, val;
    const chain_signer_t  *signer;

    value[0] = CHAIN_CP_VERSION;
    value[1] = CHAIN_CP_ED25519;
    chain_be64(value + 2, now_us);
    memcpy(value + 10, link, CHAIN_HASH_LEN);

    chain_message(msg, id, value);

    signer = st->signer ? st->signer : &chain_signer_local;

    rc = signer->sign(signer->data, st, txn, msg, CHAIN_MSG_LEN,
                      value + CHAIN_CP_SIGNED,
                      value + CHAIN_CP_SIGNED + CHAIN_KID_LEN);

    /* the signer logged it; the next transaction tries again */

    if (rc == -1) {
        return 0;
    }

    if (rc != 0) {
        return rc;
    }

    chain_be64(kbuf, id);

    key.mv_size = 8;
    key.mv_data = kbuf;
    val.mv_size = CHAIN_CP_LEN;
    val.mv_data = value;

    return mdb_put(txn, st->checkpoints, &key, &val, 0);
}


static void
chain_message(uint8_t msg[CHAIN_MSG_LEN], uint64_t id, const uint8_t *value)
{
    memcpy(msg, CHAIN_CP_LABEL, CHAIN_CP_LABEL_LEN);
    chain_be64(msg + CHAIN_CP_LABEL_LEN, id);
    memcpy(msg + CHAIN_CP_LABEL_LEN + 8, value, CHAIN_CP_SIGNED);
}


/*
 * checks the checkpoint at id against link, the chain's link there, and
 * its signature; reason is NULL for a good one.  Returns 0 or an LMDB
 * code.
 */

static int
chain_check_checkpoint(store_t *st, MDB_txn *txn, uint64_t id,
    const MDB_val *val, const uint8_t link[CHAIN_HASH_LEN],
    chain_pub_t *pub, const char **reason)
{
    int                    rc, ok;
    uint8_t                msg[CHAIN_MSG_LEN], raw[CHAIN_PUB_LEN];
    EVP_MD_CTX            *mc;
    const uint8_t         *p;
    const chain_signer_t  *signer;

    *reason = NULL;

    p = val->mv_data;

    if (val->mv_size != CHAIN_CP_LEN || p[0] != CHAIN_CP_VERSION
        || p[1] != CHAIN_CP_ED25519)
    {
        *reason = "malformed checkpoint";
        return 0;
    }

    if (pub->pkey == NULL
        || memcmp(pub->kid, p + CHAIN_CP_SIGNED, CHAIN_KID_LEN) != 0)
    {
        EVP_PKEY_free(pub->pkey);
        pub->pkey = NULL;

        signer = st->signer ? st->signer : &chain_signer_local;

        rc = signer->public_key(signer->data, st, txn, p + CHAIN_CP_SIGNED,
                                raw);

        if (rc == MDB_NOTFOUND) {
            *reason = "unknown signing key";
            return 0;
        }

        if (rc != 0) {
            return rc;
        }

        pub->pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, raw,
                                                CHAIN_PUB_LEN);
        if (pub->pkey == NULL) {
            *reason = "unknown signing key";
            return 0;
        }

        memcpy(pub->kid, p + CHAIN_CP_SIGNED, CHAIN_KID_LEN);
    }

    chain_message(msg, id, p);

    mc = EVP_MD_CTX_new();
    if (mc == NULL) {
        return ENOMEM;
    }

    ok = EVP_DigestVerifyInit(mc, NULL, NULL, NULL, pub->pkey) == 1
         && EVP_DigestVerify(mc, p + CHAIN_CP_SIGNED + CHAIN_KID_LEN,
                             CHAIN_SIG_LEN, msg, CHAIN_MSG_LEN) == 1;

    EVP_MD_CTX_free(mc);

    if (!ok) {
        *reason = "bad signature";
        return 0;
    }

    if (memcmp(p + 10, link, CHAIN_HASH_LEN) != 0) {
        *reason = "signed link differs from the chain";
    }

    return 0;
}


/*
 * the stored link of id's entry, zeros before the chain's first; returns
 * MDB_NOTFOUND, with zeros, for a missing or malformed entry
 */

static int
chain_entry_link(store_t *st, MDB_txn *txn, uint64_t id, uint64_t first,
    uint8_t link[CHAIN_HASH_LEN])
{
    int      rc;
    uint8_t  kbuf[8];
    MDB_val  key, val;

    memset(link, 0, CHAIN_HASH_LEN);

    if (id < first) {
        return 0;
    }

    chain_be64(kbuf, id);

    key.mv_size = 8;
    key.mv_data = kbuf;

    rc = mdb_get(txn, st->chain, &key, &val);
    if (rc != 0) {
        return rc;
    }

    if (val.mv_size != CHAIN_ENTRY_LEN) {
        return MDB_NOTFOUND;
    }

    memcpy(link, (uint8_t *) val.mv_data + CHAIN_HASH_LEN, CHAIN_HASH_LEN);

    return 0;
}


/* an id near id whose entry has digest, or 0 */

static uint64_t
chain_near_digest(store_t *st, MDB_txn *txn, uint64_t id, uint64_t first,
    const uint8_t digest[CHAIN_HASH_LEN])
{
    uint8_t   kbuf[8];
    MDB_val   key, val;
    uint64_t  b, lo;

    lo = (id > first + CHAIN_NEAR) ? id - CHAIN_NEAR : first;

    for (b = lo; b <= id + CHAIN_NEAR; b++) {
        if (b == id) {
            continue;
        }

        chain_be64(kbuf, b);

        key.mv_size = 8;
        key.mv_data = kbuf;

        if (mdb_get(txn, st->chain, &key, &val) == 0
            && val.mv_size == CHAIN_ENTRY_LEN
            && memcmp(val.mv_data, digest, CHAIN_HASH_LEN) == 0)
        {
            return b;
        }
    }

    return 0;
}


/*
 * an id near id whose place entry was made for: its link follows from
 * the link before that id; or 0
 */

static uint64_t
chain_near_entry(chain_t *ch, store_t *st, MDB_txn *txn, uint64_t id,
    uint64_t first, const uint8_t *entry)
{
    uint8_t   prev[CHAIN_HASH_LEN], d[CHAIN_HASH_LEN];
    uint64_t  b, lo;

    lo = (id > first + CHAIN_NEAR) ? id - CHAIN_NEAR : first;

    for (b = lo; b <= id + CHAIN_NEAR; b++) {
        if (b == id) {
            continue;
        }

        if (chain_entry_link(st, txn, b - 1, first, prev) != 0
            || chain_link(ch, prev, b, entry, d) != 0)
        {
            continue;
        }

        if (memcmp(d, entry + CHAIN_HASH_LEN, CHAIN_HASH_LEN) == 0) {
            return b;
        }
    }

    return 0;
}


static void
chain_bad(chain_verify_t *v, int kind, uint64_t id, const char *reason)
{
    v->kind = kind;
    v->bad_id = id;
    v->reason = reason;
}


/* ---- the local signer ---- */


static int
chain_local_sign(void *data, store_t *st, MDB_txn *txn, const uint8_t *msg,
    size_t len, uint8_t kid[CHAIN_KID_LEN], uint8_t sig[CHAIN_SIG_LEN])
{
    int          rc;
    size_t       siglen;
    MDB_val      key, val;
    EVP_PKEY    *pkey;
    uint64_t     k;
    EVP_MD_CTX  *mc;

    (void) data;

    rc = store_meta_get(st, txn, STORE_META_CHAIN_KEY, &k);
    if (rc != 0) {
        return rc;
    }

    if (k == 0) {
        rc = chain_local_keygen(st, txn, kid);
        if (rc != 0) {
            return rc;
        }

    } else {
        chain_be64(kid, k);
    }

    key.mv_size = CHAIN_KID_LEN;
    key.mv_data = kid;

    rc = mdb_get(txn, st->chain_keys, &key, &val);

    if (rc == 0 && (val.mv_size != CHAIN_KEY_LEN
                    || ((uint8_t *) val.mv_data)[0] != CHAIN_KEY_VERSION))
    {
        rc = MDB_NOTFOUND;
    }

    if (rc == MDB_NOTFOUND) {
        if (!chain_quiet()) {
            log_warnx("%s: the checkpoint signing key is missing", __func__);
        }

        return -1;
    }

    if (rc != 0) {
        return rc;
    }

    /* OpenSSL copies the private key and wipes its copy when freed */

    pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL,
                                        (uint8_t *) val.mv_data + 16
                                        + CHAIN_PUB_LEN, 32);
    mc = EVP_MD_CTX_new();

    siglen = CHAIN_SIG_LEN;

    rc = (pkey == NULL || mc == NULL
          || EVP_DigestSignInit(mc, NULL, NULL, NULL, pkey) != 1
          || EVP_DigestSign(mc, sig, &siglen, msg, len) != 1
          || siglen != CHAIN_SIG_LEN) ? -1 : 0;

    EVP_MD_CTX_free(mc);
    EVP_PKEY_free(pkey);

    if (rc != 0 && !chain_quiet()) {
        log_warnx("%s: signing a checkpoint with Ed25519 failed", __func__);
    }

    return rc;
}


static int
chain_local_keygen(store_t *st, MDB_txn *txn, uint8_t kid[CHAIN_KID_LEN])
{
    int               rc;
    char              hex[2 * CHAIN_KID_LEN + 1];
    size_t            publen, privlen;
    uint8_t           value[CHAIN_KEY_LEN], md[EVP_MAX_MD_SIZE];
    MDB_val           key, val;
    unsigned          i, mdlen;
    EVP_PKEY         *pkey;
    struct timespec   ts;

    pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");

    publen = CHAIN_PUB_LEN;
    privlen = 32;

    memset(value, 0, sizeof(value));

    if (pkey == NULL
        || EVP_PKEY_get_raw_public_key(pkey, value + 16, &publen) != 1
        || EVP_PKEY_get_raw_private_key(pkey, value + 16 + CHAIN_PUB_LEN,
                                        &privlen) != 1
        || publen != CHAIN_PUB_LEN || privlen != 32
        || EVP_Digest(value + 16, CHAIN_PUB_LEN, md, &mdlen,
                      EVP_sha256(), NULL) != 1)
    {
        EVP_PKEY_free(pkey);
        OPENSSL_cleanse(value, sizeof(value));

        if (!chain_quiet()) {
            log_warnx("%s: making an Ed25519 key failed", __func__);
        }

        return -1;
    }

    EVP_PKEY_free(pkey);

    clock_gettime(CLOCK_REALTIME, &ts);

    value[0] = CHAIN_KEY_VERSION;
    chain_be64(value + 8, (uint64_t) ts.tv_sec * 1000000
                          + (uint64_t) ts.tv_nsec / 1000);

    memcpy(kid, md, CHAIN_KID_LEN);

    key.mv_size = CHAIN_KID_LEN;
    key.mv_data = kid;
    val.mv_size = CHAIN_KEY_LEN;
    val.mv_data = value;

    rc = mdb_put(txn, st->chain_keys, &key, &val, 0);

    OPENSSL_cleanse(value, sizeof(value));

    if (rc != 0) {
        return rc;
    }

    rc = store_meta_put(st, txn, STORE_META_CHAIN_KEY, chain_get_be64(kid));
    if (rc != 0) {
        return rc;
    }

    for (i = 0; i < CHAIN_KID_LEN; i++) {
        snprintf(hex + 2 * i, 3, "%02x", kid[i]);
    }

    /* debug: the command line makes it too, and prints only its result */

    log_debug("%s: made checkpoint signing key %s", __func__, hex);

    return 0;
}


static int
chain_local_public_key(void *data, store_t *st, MDB_txn *txn,
    const uint8_t kid[CHAIN_KID_LEN], uint8_t pub[CHAIN_PUB_LEN])
{
    int      rc;
    MDB_val  key, val;

    (void) data;

    key.mv_size = CHAIN_KID_LEN;
    key.mv_data = (void *) kid;

    rc = mdb_get(txn, st->chain_keys, &key, &val);
    if (rc != 0) {
        return rc;
    }

    if (val.mv_size != CHAIN_KEY_LEN
        || ((uint8_t *) val.mv_data)[0] != CHAIN_KEY_VERSION)
    {
        return MDB_NOTFOUND;
    }

    memcpy(pub, (uint8_t *) val.mv_data + 16, CHAIN_PUB_LEN);

    return 0;
}


static int
chain_quiet(void)
{
    time_t         now;
    static time_t  warned;

    now = time(NULL);

    if (warned && now - warned < CHAIN_WARN_INTERVAL) {
        return 1;
    }

    warned = now;

    return 0;
}


static void
chain_be64(uint8_t *p, uint64_t v)
{
    keryu_store_key_encode(p, v);
}


static uint64_t
chain_get_be64(const uint8_t *p)
{
    return keryu_store_key_decode(p);
}
