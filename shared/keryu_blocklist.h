
/*
 * Copyright (C) Keryu Security
 *
 * The block table: every entry of the blocks database, read once into
 * memory so that the nginx module can check each request without touching
 * LMDB.  Address blocks sit in one open-addressing hash per prefix length
 * that is present, keyed by the masked address, and a lookup tries those
 * lengths only, longest first; users sit in a hash of their own.  So a
 * lookup costs one hash probe per prefix length present, however many
 * blocks there are, and allocates nothing.
 *
 * Addresses are kept as the store keeps them, IPv4 as ::ffff:a.b.c.d.  An
 * IPv4 client, or an IPv6 client with an IPv4-mapped address, is matched
 * against the blocks of /96 and longer only: an IPv6 block such as ::/0
 * covers native IPv6 clients, never IPv4 ones.
 *
 * Entries that have expired stay in the store until keryud removes them,
 * and stay in the table, but never match.  A table is built in one thread
 * and may then be read by one thread at a time: lookups count their work
 * in it (keryu_blocklist_stats()).
 */


#ifndef _KERYU_BLOCKLIST_H_INCLUDED_
#define _KERYU_BLOCKLIST_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>
#include <lmdb.h>

#include "keryu_store.h"


typedef struct keryu_blocklist_s  keryu_blocklist_t;


/** what a table holds, and the work its lookups have done */
typedef struct {
    size_t              blocks;       /**< entries loaded */
    size_t              skipped;      /**< entries that did not decode */
    unsigned            prefixes;     /**< address prefix lengths present */
    uint64_t            lookups;      /**< address and user lookups */
    uint64_t            tables;       /**< hashes probed, one per length */
    uint64_t            slots;        /**< hash slots read */
} keryu_blocklist_stats_t;


/**
 * Reads every entry of the blocks database in txn (read-only or not) into
 * a new table.  Entries whose key or value does not decode are skipped and
 * counted.  Returns the table, or NULL with *rc set to an LMDB or errno
 * code (ENOMEM).  Nothing of txn is referenced once this returns.
 */
keryu_blocklist_t *keryu_blocklist_load(keryu_store_t *st, MDB_txn *txn,
    int *rc);

/** NULL does nothing */
void keryu_blocklist_free(keryu_blocklist_t *bl);

/** the number of entries loaded, expired ones included */
size_t keryu_blocklist_count(const keryu_blocklist_t *bl);

/**
 * Finds the most specific block (longest prefix) that covers addr and has
 * not expired at now_us (microseconds since the epoch).  family is 4 or 6
 * with 4 or 16 bytes of address in network order; any other family finds
 * nothing.  When prefix is not NULL it gets the block's prefix length in
 * the client's own family: 24 for an IPv4 /24, also when the client's
 * address is IPv4-mapped IPv6.  The block and its reason live in the
 * table until keryu_blocklist_free().
 */
const keryu_block_t *keryu_blocklist_addr(const keryu_blocklist_t *bl,
    int family, const uint8_t *addr, uint64_t now_us, unsigned *prefix);

/** finds an unexpired block of the user, compared byte for byte */
const keryu_block_t *keryu_blocklist_user(const keryu_blocklist_t *bl,
    const char *user, size_t len, uint64_t now_us);

void keryu_blocklist_stats(const keryu_blocklist_t *bl,
    keryu_blocklist_stats_t *stats);


#endif /* _KERYU_BLOCKLIST_H_INCLUDED_ */
