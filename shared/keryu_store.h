
/*
 * Copyright (C) Keryu Security
 *
 * The shared store: the LMDB environment that nginx workers write and
 * keryud reads.  This header is the schema; both programs go through the
 * functions below and never name a database or a meta key themselves.
 *
 * Databases:
 *
 *   ring   key: sequence number, 8 bytes big-endian (so keys sort in
 *          sequence order and appends use MDB_APPEND)
 *          value: one encoded record (keryu_record.h)
 *
 *   meta   key: a short name, value: an 8-byte little-endian counter
 *          schema        KERYU_STORE_SCHEMA, written when the store is made
 *          store_id      random, written when the store is made; a reader
 *                        that sees it change knows the store was replaced
 *          last_seq      sequence number of the newest record in the ring
 *          last_time     time_us of the newest record in the ring
 *          trimmed       records evicted because the ring was full
 *          dropped       evicted records that no consumer had read yet
 *          overflow      records lost because writers could not stage them
 *          failed        records lost because a write transaction failed
 *          consumer_seq  the newest sequence number keryud has stored
 *
 * Every function returns 0 or an LMDB or errno code, as LMDB does, and
 * logs nothing.
 */


#ifndef _KERYU_STORE_H_INCLUDED_
#define _KERYU_STORE_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>
#include <lmdb.h>


#define KERYU_STORE_SCHEMA        1

/** a store opened by a program that does not know its schema */
#define KERYU_STORE_EVERSION      (-30500)

#define KERYU_META_LAST_SEQ       "last_seq"
#define KERYU_META_LAST_TIME      "last_time"
#define KERYU_META_TRIMMED        "trimmed"
#define KERYU_META_DROPPED        "dropped"
#define KERYU_META_OVERFLOW       "overflow"
#define KERYU_META_FAILED         "failed"
#define KERYU_META_CONSUMER_SEQ   "consumer_seq"
#define KERYU_META_STORE_ID       "store_id"


typedef struct {
    MDB_env            *env;
    MDB_dbi             ring;
    MDB_dbi             meta;
} keryu_store_t;


/** what one keryu_store_append() did */
typedef struct {
    uint64_t            appended;     /**< records written */
    uint64_t            skipped;      /**< records already in the ring */
    uint64_t            trimmed;      /**< oldest records evicted */
    uint64_t            dropped;      /**< of those, records not yet consumed */
    uint64_t            last_seq;     /**< newest sequence number after it */
} keryu_store_append_t;


/**
 * Opens (and if need be creates) the store in directory path: mode 0600
 * for its files.  mapsize 0 keeps the size the store already has.  flags
 * are added to MDB_NOTLS, e.g. MDB_NOSYNC for writers that sync on a
 * timer.  On failure nothing stays open.
 */
int keryu_store_open(keryu_store_t *st, const char *path, size_t mapsize,
    unsigned flags);

void keryu_store_close(keryu_store_t *st);

/**
 * Begins a transaction, adopting a map size that another process grew.
 */
int keryu_store_txn_begin(keryu_store_t *st, unsigned flags, MDB_txn **txn);

/**
 * Appends a batch to the ring and trims it to capacity records.
 *
 * The batch is a run of entries, each a 4-byte little-endian length
 * followed by an encoded record.  Records whose sequence number is not
 * above last_seq are skipped, so the same batch can be appended twice
 * (by two writers, or after a writer died between commit and cleanup)
 * without doubling a record.  The caller commits or aborts txn.
 */
int keryu_store_append(keryu_store_t *st, MDB_txn *txn, const uint8_t *batch,
    size_t len, uint64_t capacity, keryu_store_append_t *res);

/** reads a meta counter; a missing one reads as 0 */
int keryu_store_meta_get(keryu_store_t *st, MDB_txn *txn, const char *name,
    uint64_t *value);

int keryu_store_meta_put(keryu_store_t *st, MDB_txn *txn, const char *name,
    uint64_t value);

int keryu_store_meta_add(keryu_store_t *st, MDB_txn *txn, const char *name,
    uint64_t delta);

/** big-endian 8-byte keys, shared by every database keyed by a number */
void keryu_store_key_encode(uint8_t key[8], uint64_t n);
uint64_t keryu_store_key_decode(const uint8_t key[8]);

/** like mdb_strerror(), knowing the store's own codes too */
const char *keryu_store_strerror(int rc);


#endif /* _KERYU_STORE_H_INCLUDED_ */
