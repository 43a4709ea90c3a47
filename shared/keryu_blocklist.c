
/*
 * Copyright (C) Keryu Security
 *
 * The block table.  A load walks the blocks database twice in the same
 * transaction: the first walk counts the entries of each prefix length and
 * the bytes of text, so that the second fills tables that were allocated
 * once, at their final size.  Every hash is kept at most a quarter full
 * and probed linearly, so a probe always ends at an empty slot, after
 * reading about 1.2 slots on average.
 *
 * The hash is keyed with a seed drawn at each load, so that blocks that an
 * attacker can choose (addresses from an IPv6 /64, blocked one by one as
 * they misbehave) cannot be picked to pile up in one run of slots.
 */


#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "keryu_blocklist.h"


#define KERYU_BLOCKLIST_LENS      129       /* prefix lengths 0 to 128 */
#define KERYU_BLOCKLIST_MAPPED    96        /* bits of ::ffff:0:0/96 */
#define KERYU_BLOCKLIST_SLOTS_MIN 8
#define KERYU_BLOCKLIST_MAX       (1U << 28)  /* keeps 4 * n in 32 bits */


typedef struct {
    keryu_block_t       block;        /* reason points into the text */
    const uint8_t      *user;         /* into the text; NULL: address */
    size_t              user_len;
    uint8_t             addr[16];     /* masked to the entry's prefix */
} keryu_blocklist_entry_t;


typedef struct {
    uint32_t           *slots;        /* entry index + 1, 0 when empty */
    uint32_t            mask;
    uint32_t            n;            /* entries */
} keryu_blocklist_table_t;


struct keryu_blocklist_s {
    uint64_t                  seed;
    size_t                    count;
    size_t                    skipped;
    keryu_blocklist_entry_t  *entries;
    uint8_t                  *text;
    size_t                    text_len;
    uint32_t                 *slots;       /* every hash's slots */

    /* lookups count their work through this, which their const spares */
    keryu_blocklist_stats_t  *work;

    unsigned                  nlens;
    uint8_t                   lens[KERYU_BLOCKLIST_LENS];  /* longest 1st */
    keryu_blocklist_table_t   addrs[KERYU_BLOCKLIST_LENS];
    keryu_blocklist_table_t   users;
    keryu_blocklist_stats_t   counters;
};


static int keryu_blocklist_decode(const MDB_val *key, const MDB_val *val,
    keryu_block_t *b, unsigned *prefix);
static int keryu_blocklist_size(keryu_blocklist_t *bl, MDB_cursor *cur);
static int keryu_blocklist_alloc(keryu_blocklist_t *bl);
static int keryu_blocklist_fill(keryu_blocklist_t *bl, MDB_cursor *cur);
static size_t keryu_blocklist_table_size(keryu_blocklist_table_t *t);
static void keryu_blocklist_insert(keryu_blocklist_table_t *t, uint64_t hash,
    uint32_t index);
static const keryu_blocklist_entry_t *keryu_blocklist_find(
    const keryu_blocklist_t *bl, const keryu_blocklist_table_t *t,
    const uint8_t *key, size_t len, int user);
static void keryu_blocklist_mask(uint8_t *dst, const uint8_t *src,
    unsigned prefix);
static uint64_t keryu_blocklist_seed(const void *salt);
static uint64_t keryu_blocklist_mix(uint64_t k);
static uint64_t keryu_blocklist_hash(uint64_t seed, const uint8_t *p,
    size_t len);


keryu_blocklist_t *
keryu_blocklist_load(keryu_store_t *st, MDB_txn *txn, int *rc)
{
    MDB_cursor         *cur;
    keryu_blocklist_t  *bl;

    bl = calloc(1, sizeof(keryu_blocklist_t));
    if (bl == NULL) {
        *rc = ENOMEM;
        return NULL;
    }

    bl->work = &bl->counters;
    bl->seed = keryu_blocklist_seed(bl);

    *rc = mdb_cursor_open(txn, st->blocks, &cur);
    if (*rc != 0) {
        goto failed;
    }

    *rc = keryu_blocklist_size(bl, cur);
    if (*rc != 0) {
        goto cursor_close;
    }

    *rc = keryu_blocklist_alloc(bl);
    if (*rc != 0) {
        goto cursor_close;
    }

    *rc = keryu_blocklist_fill(bl, cur);
    if (*rc != 0) {
        goto cursor_close;
    }

    mdb_cursor_close(cur);

    bl->counters.blocks = bl->count;
    bl->counters.skipped = bl->skipped;
    bl->counters.prefixes = bl->nlens;

    return bl;

cursor_close:

    mdb_cursor_close(cur);

failed:

    keryu_blocklist_free(bl);

    return NULL;
}


void
keryu_blocklist_free(keryu_blocklist_t *bl)
{
    if (bl == NULL) {
        return;
    }

    free(bl->entries);
    free(bl->text);
    free(bl->slots);
    free(bl);
}


size_t
keryu_blocklist_count(const keryu_blocklist_t *bl)
{
    return bl->count;
}


void
keryu_blocklist_stats(const keryu_blocklist_t *bl,
    keryu_blocklist_stats_t *stats)
{
    *stats = bl->counters;
}


/*
 * returns KERYU_BLOCK_ADDR with the prefix length, KERYU_BLOCK_USER, or 0
 * for an entry to skip; an address key with host bits set is skipped too,
 * since it would never be found under its masked form
 */

static int
keryu_blocklist_decode(const MDB_val *key, const MDB_val *val,
    keryu_block_t *b, unsigned *prefix)
{
    uint8_t         masked[16];
    const uint8_t  *k;

    if (keryu_block_decode(b, val->mv_data, val->mv_size) != 0
        || key->mv_size < 2)
    {
        return 0;
    }

    k = key->mv_data;

    if (k[0] == KERYU_BLOCK_ADDR) {
        if (key->mv_size != 18 || k[1] > 128) {
            return 0;
        }

        keryu_blocklist_mask(masked, k + 2, k[1]);

        if (memcmp(masked, k + 2, 16) != 0) {
            return 0;
        }

        *prefix = k[1];

        return KERYU_BLOCK_ADDR;
    }

    if (k[0] == KERYU_BLOCK_USER && key->mv_size <= KERYU_BLOCK_KEY_MAX) {
        return KERYU_BLOCK_USER;
    }

    return 0;
}


/* the first walk: entries per prefix length, users, and bytes of text */

static int
keryu_blocklist_size(keryu_blocklist_t *bl, MDB_cursor *cur)
{
    int            rc, kind;
    MDB_val        key, val;
    unsigned       prefix;
    keryu_block_t  b;

    for (rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST);
         rc == 0;
         rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT))
    {
        kind = keryu_blocklist_decode(&key, &val, &b, &prefix);

        if (kind == 0) {
            bl->skipped++;
            continue;
        }

        if (bl->count == KERYU_BLOCKLIST_MAX) {
            return ENOMEM;
        }

        if (kind == KERYU_BLOCK_ADDR) {
            bl->addrs[prefix].n++;

        } else {
            bl->users.n++;
            bl->text_len += key.mv_size - 1;
        }

        bl->text_len += b.reason_len;
        bl->count++;
    }

    return rc == MDB_NOTFOUND ? 0 : rc;
}


static int
keryu_blocklist_alloc(keryu_blocklist_t *bl)
{
    int        len;
    size_t     nslots;
    uint32_t  *slots;

    nslots = 0;

    for (len = 128; len >= 0; len--) {
        if (bl->addrs[len].n) {
            bl->lens[bl->nlens++] = (uint8_t) len;
            nslots += keryu_blocklist_table_size(&bl->addrs[len]);
        }
    }

    nslots += keryu_blocklist_table_size(&bl->users);

    /* one more of each, so that an empty table allocates something too */

    bl->entries = malloc((bl->count + 1) * sizeof(keryu_blocklist_entry_t));
    bl->text = malloc(bl->text_len + 1);
    bl->slots = calloc(nslots + 1, sizeof(uint32_t));

    if (bl->entries == NULL || bl->text == NULL || bl->slots == NULL) {
        return ENOMEM;
    }

    slots = bl->slots;

    for (len = 0; len <= 128; len++) {
        if (bl->addrs[len].n) {
            bl->addrs[len].slots = slots;
            slots += bl->addrs[len].mask + 1;
        }
    }

    if (bl->users.n) {
        bl->users.slots = slots;
    }

    return 0;
}


/* sizes a hash at a power of two, at least four times its entries */

static size_t
keryu_blocklist_table_size(keryu_blocklist_table_t *t)
{
    uint32_t  size;

    if (t->n == 0) {
        return 0;
    }

    for (size = KERYU_BLOCKLIST_SLOTS_MIN; size < 4 * t->n; size *= 2) {
        /* void */
    }

    t->mask = size - 1;

    return size;
}


/* the second walk, in the same transaction, so it finds what the first did */

static int
keryu_blocklist_fill(keryu_blocklist_t *bl, MDB_cursor *cur)
{
    int                       rc, kind;
    size_t                    n, off, len;
    MDB_val                   key, val;
    uint64_t                  hash;
    unsigned                  prefix;
    keryu_block_t             b;
    keryu_blocklist_entry_t  *e;

    n = 0;
    off = 0;

    for (rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST);
         rc == 0;
         rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT))
    {
        kind = keryu_blocklist_decode(&key, &val, &b, &prefix);

        if (kind == 0) {
            continue;
        }

        len = (kind == KERYU_BLOCK_USER) ? key.mv_size - 1 : 0;

        if (n == bl->count || b.reason_len + len > bl->text_len - off) {
            return MDB_CORRUPTED;
        }

        e = &bl->entries[n];

        e->block = b;
        e->block.reason = (const char *) bl->text + off;
        memcpy(bl->text + off, b.reason, b.reason_len);
        off += b.reason_len;

        if (kind == KERYU_BLOCK_USER) {
            e->user = bl->text + off;
            e->user_len = len;
            memcpy(bl->text + off, (uint8_t *) key.mv_data + 1, len);
            off += len;

            memset(e->addr, 0, 16);

            hash = keryu_blocklist_hash(bl->seed, e->user, len);
            keryu_blocklist_insert(&bl->users, hash, (uint32_t) n);

        } else {
            e->user = NULL;
            e->user_len = 0;
            memcpy(e->addr, (uint8_t *) key.mv_data + 2, 16);

            hash = keryu_blocklist_hash(bl->seed, e->addr, 16);
            keryu_blocklist_insert(&bl->addrs[prefix], hash, (uint32_t) n);
        }

        n++;
    }

    if (rc != MDB_NOTFOUND) {
        return rc;
    }

    return n == bl->count ? 0 : MDB_CORRUPTED;
}


static void
keryu_blocklist_insert(keryu_blocklist_table_t *t, uint64_t hash,
    uint32_t index)
{
    uint32_t  i;

    for (i = (uint32_t) hash & t->mask; t->slots[i]; i = (i + 1) & t->mask) {
        /* void */
    }

    t->slots[i] = index + 1;
}


const keryu_block_t *
keryu_blocklist_addr(const keryu_blocklist_t *bl, int family,
    const uint8_t *addr, uint64_t now_us, unsigned *prefix)
{
    uint8_t                         a[16], key[16];
    unsigned                        n, len, min;
    const keryu_blocklist_entry_t  *e;

    static const uint8_t  mapped[12] = {
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
    };

    if (family == 4) {
        memcpy(a, mapped, 12);
        memcpy(a + 12, addr, 4);

    } else if (family == 6) {
        memcpy(a, addr, 16);

        if (memcmp(a, mapped, 12) == 0) {
            family = 4;
        }

    } else {
        return NULL;
    }

    min = (family == 4) ? KERYU_BLOCKLIST_MAPPED : 0;

    bl->work->lookups++;

    for (n = 0; n < bl->nlens && bl->lens[n] >= min; n++) {
        len = bl->lens[n];

        keryu_blocklist_mask(key, a, len);

        e = keryu_blocklist_find(bl, &bl->addrs[len], key, 16, 0);

        /* one entry per masked address: an expired one hides nothing */

        if (e == NULL
            || (e->block.expires_us != 0 && e->block.expires_us <= now_us))
        {
            continue;
        }

        if (prefix) {
            *prefix = len - min;
        }

        return &e->block;
    }

    return NULL;
}


const keryu_block_t *
keryu_blocklist_user(const keryu_blocklist_t *bl, const char *user,
    size_t len, uint64_t now_us)
{
    const keryu_blocklist_entry_t  *e;

    if (bl->users.n == 0 || len == 0 || len > KERYU_BLOCK_KEY_MAX - 1) {
        return NULL;
    }

    bl->work->lookups++;

    e = keryu_blocklist_find(bl, &bl->users, (const uint8_t *) user, len, 1);

    if (e == NULL
        || (e->block.expires_us != 0 && e->block.expires_us <= now_us))
    {
        return NULL;
    }

    return &e->block;
}


/* probes one hash for a masked address (16 bytes) or a user name */

static const keryu_blocklist_entry_t *
keryu_blocklist_find(const keryu_blocklist_t *bl,
    const keryu_blocklist_table_t *t, const uint8_t *key, size_t len,
    int user)
{
    uint32_t                        i, s;
    const keryu_blocklist_entry_t  *e;

    bl->work->tables++;

    i = (uint32_t) keryu_blocklist_hash(bl->seed, key, len) & t->mask;

    for ( ;; ) {
        bl->work->slots++;

        s = t->slots[i];

        if (s == 0) {
            return NULL;
        }

        e = &bl->entries[s - 1];

        if (user ? (e->user_len == len && memcmp(e->user, key, len) == 0)
                 : memcmp(e->addr, key, 16) == 0)
        {
            return e;
        }

        i = (i + 1) & t->mask;
    }
}


static void
keryu_blocklist_mask(uint8_t *dst, const uint8_t *src, unsigned prefix)
{
    unsigned  n;

    n = prefix / 8;

    memcpy(dst, src, n);

    if (n < 16) {
        dst[n] = (prefix % 8) ? src[n] & (uint8_t) (0xff << (8 - prefix % 8))
                              : 0;
        memset(dst + n + 1, 0, 15 - n);
    }
}


static uint64_t
keryu_blocklist_seed(const void *salt)
{
    uint64_t  seed;

    if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != sizeof(seed)) {
        /* XXX before the kernel has entropy the seed is only an address */
        seed = (uint64_t) (uintptr_t) salt;
    }

    return keryu_blocklist_mix(seed);
}


/* murmur3's finaliser: a bijection that spreads every bit over all 64 */

static uint64_t
keryu_blocklist_mix(uint64_t k)
{
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    k *= 0xc4ceb9fe1a85ec53ULL;
    k ^= k >> 33;

    return k;
}


/*
 * a keyed mix, much cheaper than a keyed PRF such as SipHash; it spreads
 * keys chosen without knowledge of the seed, which is what is needed here
 */

static uint64_t
keryu_blocklist_hash(uint64_t seed, const uint8_t *p, size_t len)
{
    size_t    n;
    uint64_t  h, w;

    h = seed ^ ((uint64_t) len * 0x9e3779b97f4a7c15ULL);

    for (n = len; n >= 8; n -= 8) {
        memcpy(&w, p, 8);
        p += 8;

        h ^= keryu_blocklist_mix(w + seed);
        h = ((h << 27) | (h >> 37)) * 5 + 0x52dce729;
    }

    if (n) {
        w = 0;
        memcpy(&w, p, n);

        h ^= keryu_blocklist_mix(w + seed);
    }

    return keryu_blocklist_mix(h);
}
