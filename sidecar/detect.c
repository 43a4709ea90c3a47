
/*
 * Copyright (C) Keryu Security
 *
 * Brute force detection.  Each client address that sent an auth_failure
 * lately has an entry in a fixed table of DETECT_SLOTS entries, grouped in
 * sets of DETECT_WAYS: an address hashes to one set, and when the set is
 * full the entry whose newest event is the oldest gives way.  An entry
 * keeps the times of its last "threshold" failures in a ring, and the
 * address is blocked when all of them, the current one included, fall in
 * one window.  Then the entry starts over.
 *
 * Windows are measured in record time (time_us), so that records read
 * late, after a restart, count as they happened; a block starts at the
 * time of the decision.  Memory is allocated once by detect_init(), and
 * the same records give the same decisions.
 */


#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detect.h"


#define DETECT_SETS  (DETECT_SLOTS / DETECT_WAYS)


static uint32_t detect_hash(int family, const uint8_t *addr);


int
detect_init(detect_t *d, unsigned threshold, uint64_t window_us,
    uint64_t block_us)
{
    memset(d, 0, sizeof(detect_t));

    if (threshold < 1 || threshold > DETECT_THRESHOLD_MAX
        || window_us == 0 || block_us == 0)
    {
        errno = EINVAL;
        return -1;
    }

    d->threshold = threshold;
    d->window_us = window_us;
    d->block_us = block_us;

    d->entries = calloc(DETECT_SLOTS, sizeof(detect_entry_t));
    if (d->entries == NULL) {
        return -1;
    }

    d->times = calloc((size_t) DETECT_SLOTS * threshold, sizeof(uint64_t));
    if (d->times == NULL) {
        free(d->entries);
        d->entries = NULL;
        return -1;
    }

    return 0;
}


void
detect_free(detect_t *d)
{
    free(d->entries);
    free(d->times);

    d->entries = NULL;
    d->times = NULL;
}


/* FNV-1a over the family and the address */

static uint32_t
detect_hash(int family, const uint8_t *addr)
{
    size_t    i, len;
    uint32_t  h;

    h = 2166136261u;
    h = (h ^ (uint8_t) family) * 16777619u;

    len = family == 4 ? 4 : 16;

    for (i = 0; i < len; i++) {
        h = (h ^ addr[i]) * 16777619u;
    }

    return h;
}


int
detect_event(detect_t *d, const keryu_record_t *rec, uint64_t now_us,
    detect_action_t *out)
{
    size_t           i, base, slot, len;
    uint8_t          addr[16];
    uint64_t        *times, t;
    unsigned         n;
    detect_entry_t  *e, *victim;

    if (d->entries == NULL
        || rec->type != KERYU_EVENT_AUTH_FAILURE
        || (rec->addr_family != 4 && rec->addr_family != 6))
    {
        return 0;
    }

    len = rec->addr_family == 4 ? 4 : 16;

    memset(addr, 0, sizeof(addr));
    memcpy(addr, rec->addr, len);

    t = rec->time_us;
    base = (detect_hash(rec->addr_family, addr) % DETECT_SETS) * DETECT_WAYS;

    e = NULL;
    victim = NULL;
    slot = 0;

    for (i = base; i < base + DETECT_WAYS; i++) {
        if (d->entries[i].de_family == rec->addr_family
            && memcmp(d->entries[i].de_addr, addr, 16) == 0)
        {
            e = &d->entries[i];
            slot = i;
            break;
        }

        if (victim == NULL || d->entries[i].de_family == 0
            || (victim->de_family != 0
                && d->entries[i].de_last_us < victim->de_last_us))
        {
            victim = &d->entries[i];
            slot = i;
        }
    }

    if (e == NULL) {
        e = victim;

        if (e->de_family != 0) {
            d->evicted++;
        }

        memset(e, 0, sizeof(detect_entry_t));
        e->de_family = rec->addr_family;
        memcpy(e->de_addr, addr, 16);
    }

    times = &d->times[slot * d->threshold];

    times[e->de_next] = t;
    e->de_next = (e->de_next + 1) % d->threshold;

    if (e->de_count < d->threshold) {
        e->de_count++;
    }

    if (t > e->de_last_us) {
        e->de_last_us = t;
    }

    if (e->de_count < d->threshold) {
        return 0;
    }

    /* every time held must lie within the window before this one */

    for (n = 0; n < d->threshold; n++) {
        if (times[n] < t && t - times[n] >= d->window_us) {
            return 0;
        }
    }

    memset(out, 0, sizeof(detect_action_t));

    out->family = rec->addr_family;
    memcpy(out->addr, addr, 16);
    out->count = d->threshold;
    out->created_us = now_us;
    out->expires_us = now_us + d->block_us;
    out->block_s = d->block_us / 1000000;

    if (inet_ntop(out->family == 4 ? AF_INET : AF_INET6, addr, out->text,
                  sizeof(out->text))
        == NULL)
    {
        strcpy(out->text, "?");
    }

    snprintf(out->reason, sizeof(out->reason),
             "brute force: %u auth failures in %llu s", d->threshold,
             (unsigned long long) (d->window_us / 1000000));

    e->de_count = 0;
    e->de_next = 0;

    return 1;
}


int
detect_apply(keryu_store_t *st, const detect_action_t *a)
{
    int             rc;
    uint8_t         kbuf[KERYU_BLOCK_KEY_MAX],
                    vbuf[16 + KERYU_BLOCK_REASON_MAX];
    MDB_val         key, val;
    MDB_txn        *txn;
    keryu_block_t   b;

    key.mv_size = keryu_block_key_addr(kbuf, a->family, a->addr,
                                       a->family == 4 ? 32 : 128);
    if (key.mv_size == 0) {
        return EINVAL;
    }

    key.mv_data = kbuf;

    b.created_us = a->created_us;
    b.expires_us = a->expires_us;
    b.reason = a->reason;
    b.reason_len = strlen(a->reason);

    val.mv_size = keryu_block_encode(&b, vbuf);
    val.mv_data = vbuf;

    rc = keryu_store_txn_begin(st, 0, &txn);
    if (rc != 0) {
        return rc;
    }

    rc = keryu_store_change(st, txn, st->blocks, &key, &val,
                            KERYU_META_BLOCK_VERSION);
    if (rc != 0) {
        goto txn_abort;
    }

    /* a failed commit has freed the transaction already */

    return mdb_txn_commit(txn);

txn_abort:

    mdb_txn_abort(txn);

    return rc;
}
