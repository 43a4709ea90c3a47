
/*
 * Copyright (C) Keryu Security
 *
 * The API key table: every entry of the store's apikeys database
 * (keryu_store.h), read once into memory so that the nginx module can
 * check the key a request presents without touching LMDB.  A lookup hashes
 * the presented key with SHA-256 and probes a hash keyed by the stored
 * digests, comparing each candidate digest in constant time, so it costs
 * one SHA-256 of the key and about one probe however many keys there are,
 * and allocates nothing.
 *
 * A table is built in one thread and then used by one thread at a time:
 * keryu_apikeys_find() reuses a SHA-256 context kept in the table.  An
 * nginx worker has one thread, and keryud builds its own table.  Nothing
 * here logs; functions return a code, and the loader writes a short reason
 * into err.  The OpenSSL error queue is left empty.
 *
 * The reader of stored values is shared with the client table of signed
 * requests (keryu_sign.h), whose records have the same shape.
 */


#ifndef _KERYU_APIKEYS_H_INCLUDED_
#define _KERYU_APIKEYS_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>
#include <lmdb.h>

#include "keryu_store.h"


/** the SHA-256 digest that keys the apikeys database */
#define KERYU_APIKEY_DIGEST_LEN   32

/** a name or client id is 1 to this many bytes */
#define KERYU_APIKEY_NAME_MAX     255

/** roles of one record; a record with more is skipped */
#define KERYU_APIKEY_ROLES_MAX    64

/** a stored value, in bytes; a longer one is skipped */
#define KERYU_APIKEY_JSON_MAX     65536

/** the fields of a stored value, as keryu_apikey_rec_t.fields */
#define KERYU_APIKEY_F_NAME       0x01
#define KERYU_APIKEY_F_ID         0x02
#define KERYU_APIKEY_F_SECRET     0x04
#define KERYU_APIKEY_F_ROLES      0x08
#define KERYU_APIKEY_F_EXPIRES    0x10
#define KERYU_APIKEY_F_CREATED    0x20


typedef struct keryu_apikeys_s  keryu_apikeys_t;


/**
 * An identity: the holder of an API key, or a client of signed requests
 * (then name is the client id and expires_at is 0).  Strings are NOT
 * NUL-terminated: use the lengths.  Everything lives in the table until
 * it is freed.
 */
typedef struct {
    const char         *name;
    size_t              name_len;
    const char *const  *roles;
    const size_t       *role_lens;
    size_t              nroles;
    uint64_t            expires_at;   /**< epoch seconds, 0: never */
} keryu_apikey_t;


/**
 * One stored value as read, before the loader decides what it needs:
 * fields says which members were present.  Strings point into the text
 * given to keryu_apikey_rec_parse() and are NUL-terminated there.
 */
typedef struct {
    unsigned            fields;       /**< KERYU_APIKEY_F_* */
    const char         *name;
    size_t              name_len;
    const char         *id;
    size_t              id_len;
    const char         *secret;
    size_t              secret_len;
    uint64_t            expires_at;   /**< 0: null */
    uint64_t            created_at;
    size_t              nroles;
    const char         *roles[KERYU_APIKEY_ROLES_MAX];
    size_t              role_lens[KERYU_APIKEY_ROLES_MAX];

    /* private: parse state */
    char               *text;
    size_t              used;
    size_t              size;
    unsigned            depth;
    unsigned            field;
} keryu_apikey_rec_t;


/**
 * Reads the whole apikeys database in txn (read-only or not) into a new
 * table.  A record whose key is not a 32-byte digest or whose value is not
 * {"name": string, "roles": [string, ...], "expires_at": null or a
 * positive integer, "created_at": integer}, with nothing else, is skipped
 * and counted (keryu_apikeys_skipped()).  Returns the table, or NULL with
 * *rc set to an LMDB or errno code and a reason in err (err may be NULL).
 * Nothing of txn is referenced once this returns.
 */
keryu_apikeys_t *keryu_apikeys_load(keryu_store_t *st, MDB_txn *txn, int *rc,
    char *err, size_t errlen);

/** NULL does nothing */
void keryu_apikeys_free(keryu_apikeys_t *ak);

/** the keys loaded, expired ones included */
size_t keryu_apikeys_count(const keryu_apikeys_t *ak);

/** the records skipped by the load */
size_t keryu_apikeys_skipped(const keryu_apikeys_t *ak);

/**
 * Finds the holder of the API key of len bytes, or NULL for a key that is
 * unknown or expired at now (epoch seconds: expired once now >=
 * expires_at), and NULL if OpenSSL fails.  Uses the table's SHA-256
 * context: one thread at a time per table.
 */
const keryu_apikey_t *keryu_apikeys_find(keryu_apikeys_t *ak, const char *key,
    size_t len, int64_t now);

/**
 * Reads one stored value of len bytes (no NUL needed) into rec, with text
 * of at least len + 1 bytes holding its strings.  Only the members named
 * by KERYU_APIKEY_F_* are allowed, each once: "name", "id" and "secret"
 * non-empty strings, "roles" an array of at most KERYU_APIKEY_ROLES_MAX
 * non-empty strings, "expires_at" null or an integer above 0,
 * "created_at" an integer of 0 or more.  No string may hold \u0000.
 * Returns 0, or -1 for anything else.
 */
int keryu_apikey_rec_parse(keryu_apikey_rec_t *rec, const uint8_t *json,
    size_t len, char *text);

/**
 * Copies an identity called name, with the roles and expiry of rec, into
 * one allocation and points id into it.  The allocation starts with extra
 * bytes, aligned for any type and left as they are, for the caller's own
 * entry; it returns the allocation, which free() releases, or NULL when
 * out of memory.
 */
void *keryu_apikey_copy(keryu_apikey_t *id, const char *name,
    size_t name_len, const keryu_apikey_rec_t *rec, size_t extra);

/** reads a database into a table; returns 0, or a code and err */
typedef int (*keryu_apikeys_read_pt)(void *table, MDB_cursor *cur,
    char *err, size_t errlen);

/** builds a table's hash once read; returns 0, or ENOMEM */
typedef int (*keryu_apikeys_hash_pt)(void *table);

/**
 * The walk a table's load makes, shared with the client table
 * (keryu_sign.c): opens a cursor on dbi in txn, reads the database into
 * table with reader, closes the cursor, and builds the hash with hasher.
 * Returns 0, or an LMDB or errno code with a reason in err (err may be
 * NULL); the caller frees the table and clears OpenSSL's error queue.
 */
int keryu_apikeys_walk(MDB_txn *txn, MDB_dbi dbi, void *table,
    keryu_apikeys_read_pt reader, keryu_apikeys_hash_pt hasher, char *err,
    size_t errlen);


#endif /* _KERYU_APIKEYS_H_INCLUDED_ */
