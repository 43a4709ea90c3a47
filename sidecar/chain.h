
/*
 * Copyright (C) Keryu Security
 *
 * Tamper evidence for keryud's logs: every record stored in logs joins a
 * hash chain, in the same write transaction as the record, and the chain
 * is signed at checkpoints.  The scheme, with the layouts, is described
 * at the top of chain.c.
 *
 * Checkpoints are signed through a chain_signer_t.  Until keryud has a
 * key manager, the local signer (chain_signer_local) keeps an Ed25519 key
 * of its own in the store (chain_keys); a store whose "signer" is set,
 * after store_open(), uses that instead.  That is where key management's
 * "report_signing" key goes (keys.h): a signer whose sign() calls
 * keys_sign(ks, KEYS_REPORT_SIGNING, ...) and whose public_key() finds,
 * through keys_public(), the version whose public half has the kid.  For
 * such a signer:
 *
 *   - kid is the first 8 bytes of SHA-256 of the raw public key, as the
 *     local signer's is, so that a checkpoint names its key whoever made it
 *   - public_key() falls back to chain_signer_local's for a kid it does
 *     not know, so that checkpoints signed before the switch still verify,
 *     and keeps the public half of retired and destroyed keys
 *   - sign() runs inside the write transaction of the records it covers,
 *     so it must not begin another write transaction on keryud's store
 */


#ifndef _KERYUD_CHAIN_H_INCLUDED_
#define _KERYUD_CHAIN_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>
#include <lmdb.h>

#include "keryud.h"
#include "json.h"


#define CHAIN_HASH_LEN          32
#define CHAIN_KID_LEN           8
#define CHAIN_SIG_LEN           64
#define CHAIN_PUB_LEN           32

/* a chain entry: digest, link, state */
#define CHAIN_ENTRY_LEN         (2 * CHAIN_HASH_LEN + 1)

/* what the state byte of a chain entry says of its record */
#define CHAIN_KEPT              0         /* in logs */
#define CHAIN_EXPIRED           1         /* deleted by retention */
#define CHAIN_ERASED            2         /* erased for its data subject */

/* a checkpoint is written once either is reached since the last one */
#define CHAIN_CHECKPOINT_RECORDS   10000
#define CHAIN_CHECKPOINT_INTERVAL  60     /* seconds */

/* what chain_verify() finds first */
typedef enum {
    CHAIN_OK = 0,
    CHAIN_DELETED,            /* a record, or its entry, gone unexplained */
    CHAIN_ALTERED,            /* a record or an entry that was changed */
    CHAIN_REORDERED,          /* a record, or an entry, in another's place */
    CHAIN_INSERTED,           /* a record in logs that the chain lacks */
    CHAIN_CHECKPOINT          /* a bad signature, or a link it does not sign */
} chain_kind_e;


typedef struct chain_signer_s  chain_signer_t;

struct chain_signer_s {
    void               *data;

    /*
     * signs len bytes of msg with the current key into sig and puts the
     * key's id into kid; txn is the write transaction of the checkpoint.
     * Returns 0, -1 for a signing failure it has logged, or an LMDB code.
     */
    int               (*sign)(void *data, store_t *st, MDB_txn *txn,
                           const uint8_t *msg, size_t len,
                           uint8_t kid[CHAIN_KID_LEN],
                           uint8_t sig[CHAIN_SIG_LEN]);

    /*
     * the raw Ed25519 public key of kid; returns 0, MDB_NOTFOUND for a
     * key it does not know, or an LMDB code
     */
    int               (*public_key)(void *data, store_t *st, MDB_txn *txn,
                           const uint8_t kid[CHAIN_KID_LEN],
                           uint8_t pub[CHAIN_PUB_LEN]);
};


/* what chain_verify() did and found */
typedef struct {
    int                 full;             /* from the start, or quick */
    int                 kind;             /* chain_kind_e */
    uint64_t            bad_id;           /* the first bad id */
    uint64_t            other_id;         /* reordered: whose it holds */
    const char         *reason;
    uint64_t            first_id;         /* the ids verified, 0: none */
    uint64_t            last_id;
    uint64_t            entries;
    uint64_t            kept;
    uint64_t            expired;
    uint64_t            erased;
    uint64_t            unchained;        /* records older than the chain */
    uint64_t            checkpoints;      /* signatures verified */
    uint64_t            cp_id;            /* the newest good one, 0: none */
    uint64_t            cp_time;          /* its time, microseconds */
    uint8_t             cp_kid[CHAIN_KID_LEN];
    uint64_t            elapsed_us;
} chain_verify_t;


/* the signer that keeps its key in keryud's own store */
extern const chain_signer_t  chain_signer_local;


/* returns 0, or ENOMEM */
int chain_init(chain_t *ch);
void chain_free(chain_t *ch);

/* takes up the chain before next_id, the id the next record gets */
int chain_begin(chain_t *ch, store_t *st, MDB_txn *txn, uint64_t next_id);

/*
 * links the record stored in logs under id, which must follow the last
 * one linked, and writes its entry in chain_begin()'s transaction;
 * returns 0, EINVAL out of turn, ENOMEM or an LMDB code
 */
int chain_add(chain_t *ch, uint64_t id, const void *value, size_t len);

/*
 * writes a checkpoint of the last record linked when one is due; a
 * failure to sign is logged and leaves it for the next time.  Returns 0
 * or an LMDB code.
 */
int chain_checkpoint(chain_t *ch, store_t *st, MDB_txn *txn, uint64_t now_us);

/* a checkpoint of the newest record, if one is due by time; own txn */
int chain_tick(store_t *st, uint64_t now_us);

/*
 * sets the state of id's entry, its record deleted; an id without an
 * entry (older than the chain) is no error
 */
int chain_mark(store_t *st, MDB_txn *txn, uint64_t id, int state);

/*
 * drops the entries that the oldest checkpoint past the base covers, when
 * all are of deleted records; one write transaction; removed gets how
 * many went.  Returns 0 or an LMDB code.
 */
int chain_compact(store_t *st, size_t *removed);

/* the state of id's entry, or -1 for an id without one */
int chain_state(store_t *st, MDB_txn *txn, uint64_t id);

/*
 * recomputes the chain in txn: from its start, or with full 0 from the
 * newest checkpoint; returns 0 with the outcome in v, or an error code
 */
int chain_verify(store_t *st, MDB_txn *txn, int full, chain_verify_t *v);

void chain_verify_json(json_t *j, const chain_verify_t *v);
const char *chain_kind_name(int kind);


#endif /* _KERYUD_CHAIN_H_INCLUDED_ */
