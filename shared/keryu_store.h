
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
 *          nokey         records that "keryu_seal on" could not seal for
 *                        want of a published sealing key: written with
 *                        the plain header only (keryu_fail open) or not
 *                        written (keryu_fail closed)
 *          map_full      times a writer found the map full and deleted the
 *                        oldest quarter of the ring to make room
 *          consumer_seq  the newest sequence number keryud has stored
 *          config_version  raised by every change to policies, keys,
 *                        apikeys or clients; readers rebuild what they
 *                        compiled
 *          block_version raised by every change to blocks
 *
 *          besides the counters, effective_config: the nginx
 *          configuration in force as a JSON document, which the first
 *          worker of each generation writes (ngx_http_keryu_config.c),
 *          and one entry per nginx worker that enforces
 *          policies:
 *          worker.<pid>  key: "worker." and the worker's process id in
 *                        decimal; value: 24 bytes, the config_version and
 *                        the block_version that worker has in force, and
 *                        the time of its report in microseconds since the
 *                        epoch, each 8 bytes little-endian.  A worker
 *                        writes it in its next flush after it started or
 *                        compiled a new set and deletes it when it exits;
 *                        keryud deletes the entries of workers that died
 *
 *          sealing_public  the public half of keryud's active log_sealing
 *                        key, for workers that seal what they write:
 *                        value: 40 bytes, the key's version (8,
 *                        little-endian, from 1) and its X25519 public
 *                        key (32); written by keryud when the key is
 *                        made or rotated, with config_version raised
 *                        (keryu_store_sealing_get())
 *
 *   policies  key: the policy's name
 *          value: the policy as a JSON document (keryu_policy.h)
 *
 *   keys   key: a key id
 *          value: a JSON object {"kid", "alg", "secret" | "pem",
 *          "created_at"}: "alg" is HS256 (with "secret", base64url) or
 *          RS256 or ES256 (with "pem", a public key)
 *
 *   apikeys  key: SHA-256 of the API key, 32 bytes
 *          value: a JSON object {"name", "roles", "expires_at",
 *          "created_at"}, times in epoch seconds, "expires_at" null for
 *          a key that does not expire
 *
 *   clients  key: a client id, for signed requests (keryu_sign.h)
 *          value: a JSON object {"id", "secret", "roles", "created_at"}:
 *          "id" equal to the key, "secret" base64url without padding of
 *          at least 32 raw bytes, "roles" an array of strings, the time
 *          in epoch seconds
 *
 *   nonces key: a client id, a zero byte, and a nonce of a signed
 *          request, the replay cache (keryu_sign_nonce())
 *          value: the request's timestamp, 8 bytes little-endian epoch
 *          seconds; pruned by the writers themselves, it holds no
 *          configuration and raises no version
 *
 *   blocks key: KERYU_BLOCK_ADDR, a prefix length and 16 address bytes
 *          masked to it (IPv4 as ::ffff:a.b.c.d, its prefix plus 96); or
 *          KERYU_BLOCK_USER and the user name
 *          value: expiry and creation, 8-byte little-endian microseconds
 *          since the epoch (expiry 0: never), then the reason as text
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
#define KERYU_META_NOKEY          "nokey"
#define KERYU_META_MAP_FULL       "map_full"
#define KERYU_META_CONSUMER_SEQ   "consumer_seq"
#define KERYU_META_STORE_ID       "store_id"
#define KERYU_META_CONFIG_VERSION "config_version"
#define KERYU_META_BLOCK_VERSION  "block_version"
#define KERYU_META_EFFECTIVE_CONFIG  "effective_config"
#define KERYU_META_WORKER         "worker."
#define KERYU_META_SEALING        "sealing_public"
#define KERYU_SEALING_PUBLIC_LEN  32

#define KERYU_BLOCK_ADDR          'a'
#define KERYU_BLOCK_USER          'u'
#define KERYU_BLOCK_KEY_MAX       (1 + 256)
#define KERYU_BLOCK_REASON_MAX    256


typedef struct {
    MDB_env            *env;
    MDB_dbi             ring;
    MDB_dbi             meta;
    MDB_dbi             policies;
    MDB_dbi             keys;
    MDB_dbi             apikeys;
    MDB_dbi             blocks;
    MDB_dbi             clients;
    MDB_dbi             nonces;
} keryu_store_t;


/** a block as stored; reason points into the value it was decoded from */
typedef struct {
    uint64_t            expires_us;   /**< 0: never */
    uint64_t            created_us;
    size_t              reason_len;
    const char         *reason;
} keryu_block_t;


/** what a worker reported in its worker.<pid> meta entry */
typedef struct {
    uint64_t            pid;
    uint64_t            config_version;   /**< the set the worker enforces */
    uint64_t            block_version;    /**< the blocks it enforces */
    uint64_t            time_us;          /**< when it reported */
} keryu_worker_t;


typedef int (*keryu_worker_pt)(void *ctx, const keryu_worker_t *w);


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

/**
 * Deletes the n oldest records of the ring (fewer if it holds fewer),
 * adding them to res and to the meta counters trimmed and dropped.  The
 * caller commits or aborts txn.
 */
int keryu_store_trim(keryu_store_t *st, MDB_txn *txn, uint64_t n,
    keryu_store_append_t *res);

/**
 * Makes room in a store whose map is full, in a write transaction of its
 * own: deletes the oldest quarter of the ring (at least one record) and
 * adds one to the meta counter map_full.  res gets what was deleted.
 */
int keryu_store_make_room(keryu_store_t *st, keryu_store_append_t *res);

/** reads a meta counter; a missing one reads as 0 */
int keryu_store_meta_get(keryu_store_t *st, MDB_txn *txn, const char *name,
    uint64_t *value);

int keryu_store_meta_put(keryu_store_t *st, MDB_txn *txn, const char *name,
    uint64_t value);

int keryu_store_meta_add(keryu_store_t *st, MDB_txn *txn, const char *name,
    uint64_t delta);

/** writes the worker.<pid> entry of w->pid */
int keryu_store_worker_put(keryu_store_t *st, MDB_txn *txn,
    const keryu_worker_t *w);

/** deletes the worker.<pid> entry of pid; MDB_NOTFOUND if there is none */
int keryu_store_worker_del(keryu_store_t *st, MDB_txn *txn, uint64_t pid);

/**
 * Calls handler for each worker.<pid> entry, in key order, until it
 * returns non-zero; entries that do not decode are skipped.  Returns 0, or
 * an LMDB code.
 */
int keryu_store_workers(keryu_store_t *st, MDB_txn *txn,
    keryu_worker_pt handler, void *ctx);

/**
 * Puts or deletes (val NULL) one entry of dbi and raises the meta counter
 * version in the same transaction, so that readers see the change.  A
 * delete of a missing key returns MDB_NOTFOUND.
 */
int keryu_store_change(keryu_store_t *st, MDB_txn *txn, MDB_dbi dbi,
    const MDB_val *key, MDB_val *val, const char *version);

/**
 * Deletes, in one write transaction of its own, up to max blocks whose
 * expiry is set and not after now_us, and raises KERYU_META_BLOCK_VERSION
 * once if it deleted any; values that are not blocks are left alone.
 * removed gets the number deleted (0 on failure, when nothing is).
 */
int keryu_store_prune_blocks(keryu_store_t *st, uint64_t now_us, size_t max,
    size_t *removed);

/**
 * Builds the blocks key of an address block: family 4 or 6, the address
 * in network order (4 or 16 bytes), and the prefix length for that family.
 * Returns the key length, or 0 for a prefix too long for the family.
 */
size_t keryu_block_key_addr(uint8_t *key, int family, const uint8_t *addr,
    unsigned prefix);

/** builds the blocks key of a user block; returns its length, or 0 */
size_t keryu_block_key_user(uint8_t *key, const char *user, size_t len);

/** encodes a block value into buf of 16 + KERYU_BLOCK_REASON_MAX bytes */
size_t keryu_block_encode(const keryu_block_t *b, uint8_t *buf);

/** returns 0, or -1 for a value that is not a block */
int keryu_block_decode(keryu_block_t *b, const uint8_t *buf, size_t len);

/** big-endian 8-byte keys, shared by every database keyed by a number */
void keryu_store_key_encode(uint8_t key[8], uint64_t n);
uint64_t keryu_store_key_decode(const uint8_t key[8]);

/**
 * Reads the sealing public key and its version; MDB_NOTFOUND when keryud
 * has published none, MDB_CORRUPTED for a value of another size.
 */
int keryu_store_sealing_get(keryu_store_t *st, MDB_txn *txn,
    uint64_t *version, uint8_t pub[KERYU_SEALING_PUBLIC_LEN]);

/** writes the sealing public key and raises config_version */
int keryu_store_sealing_put(keryu_store_t *st, MDB_txn *txn,
    uint64_t version, const uint8_t pub[KERYU_SEALING_PUBLIC_LEN]);

/** like mdb_strerror(), knowing the store's own codes too */
const char *keryu_store_strerror(int rc);


#endif /* _KERYU_STORE_H_INCLUDED_ */
