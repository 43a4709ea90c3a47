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
 *   tokens  key: SHA-256 of an API token, 32 bytes
 *           value: version (1 byte), role (1), zero (6), created in
 *           seconds since the epoch (8, little-endian), then the name
 *
 * logs uses keryud's own ids, not the ring's sequence numbers, because a
 * replaced shared store numbers its records from 1 again.  The pair
 * (source_id, source_seq) is the consumer's cursor, and it is written in
 * the same transaction as the records it covers.
 */


#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "keryud.h"


#define STORE_MAXDBS  8


static keryu_store_t store_meta_view(store_t *st);


int
store_open(store_t *st, const char *path, uint64_t mapsize)
{
    int        rc;
    MDB_txn   *txn;
    uint64_t   schema;

    st->env = NULL;

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

    rc = store_meta_get(st, txn, STORE_META_SCHEMA, &schema);
    if (rc != 0) {
        goto txn_abort;
    }

    if (schema != 0 && schema != STORE_SCHEMA) {
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

    rc = mdb_txn_commit(txn);
    if (rc != 0) {
        goto env_close;
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
