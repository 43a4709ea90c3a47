
/*
 * Copyright (C) Keryu Security
 *
 * Threshold detection.  A rule's table is DETECT_SLOTS entries in sets of
 * DETECT_WAYS, found by a keyed hash of the key; each entry owns count
 * value slots, a (time, value hash) pair per event held.  Counting events,
 * the slots are a ring of the latest times; counting distinct values,
 * they hold each value once with the time it was last seen, and values
 * that left the window are dropped before a new one is added.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "detect.h"


#define DETECT_SETS  (DETECT_SLOTS / DETECT_WAYS)


typedef struct {
    uint64_t                  hash;
    uint64_t                  time_us;
} detect_value_t;


typedef struct {
    uint64_t                  hash;         /* 0: a free entry */
    uint64_t                  last_us;
    uint32_t                  n;            /* value slots in use */
    uint32_t                  next;         /* ring position, for events */
    uint32_t                  nsamples;
    uint32_t                  sample_next;
    uint64_t                  samples[DETECT_SAMPLES];
    uint8_t                   family;
    uint8_t                   addr[16];
    uint16_t                  user_len;
    char                      user[KERYU_RECORD_USER_MAX];
} detect_entry_t;


typedef struct {
    const keryu_threshold_t  *t;
    char                      name[DETECT_RULE_MAX + 1];
    detect_entry_t           *entries;
    detect_value_t           *values;       /* count per entry */
    uint64_t                  keys;
} detect_rule_t;


struct detect_s {
    keryu_policy_set_t       *set;
    detect_rule_t            *rules;
    size_t                    nrules;
    uint32_t                  types;        /* what any rule may count */
    uint64_t                  seed;
    uint64_t                  evicted;
    uint64_t                  hits;
};


static int detect_rule_init(detect_rule_t *r, const keryu_threshold_t *t);
static void detect_rule_free(detect_rule_t *r);
static int detect_same_counting(const keryu_threshold_t *a,
    const keryu_threshold_t *b);
static uint64_t detect_hash(uint64_t seed, const void *data, size_t len,
    uint64_t h);
static detect_entry_t *detect_entry(detect_t *d, detect_rule_t *r,
    uint64_t hash, int family, const uint8_t *addr, const char *user,
    size_t user_len, uint64_t now, detect_value_t **values);
static int detect_count(detect_rule_t *r, detect_entry_t *e,
    detect_value_t *v, uint64_t vhash, uint64_t t);
static void detect_hit(detect_t *d, detect_rule_t *r, detect_entry_t *e,
    detect_value_t *v, detect_hit_pt hit, void *ctx);


detect_t *
detect_new(void)
{
    detect_t  *d;

    d = calloc(1, sizeof(detect_t));
    if (d == NULL) {
        return NULL;
    }

    /* a keyed hash, so that nobody can aim keys at one set */

    if (getrandom(&d->seed, sizeof(d->seed), GRND_NONBLOCK)
        != sizeof(d->seed))
    {
        d->seed = (uint64_t) time(NULL) ^ (uint64_t) (uintptr_t) d;
    }

    return d;
}


void
detect_free(detect_t *d)
{
    size_t  i;

    if (d == NULL) {
        return;
    }

    for (i = 0; i < d->nrules; i++) {
        detect_rule_free(&d->rules[i]);
    }

    free(d->rules);
    keryu_policy_set_free(d->set);
    free(d);
}


int
detect_load(detect_t *d, keryu_policy_set_t *set)
{
    size_t                           i, j, n;
    uint32_t                         types;
    detect_rule_t                   *rules, *old;
    const keryu_threshold_t *const  *t;

    n = keryu_policy_set_thresholds(set, &t);

    rules = calloc(n ? n : 1, sizeof(detect_rule_t));
    if (rules == NULL) {
        return -1;
    }

    types = 0;

    for (i = 0; i < n; i++) {
        snprintf(rules[i].name, sizeof(rules[i].name), "%s/%s", t[i]->policy,
                 t[i]->id);

        rules[i].t = t[i];
        types |= t[i]->types ? t[i]->types : ~(uint32_t) 0;

        /* a rule that counts as it did goes on with what it counted */

        for (j = 0; j < d->nrules; j++) {
            old = &d->rules[j];

            if (old->entries && strcmp(old->name, rules[i].name) == 0
                && detect_same_counting(old->t, t[i]))
            {
                rules[i].entries = old->entries;
                rules[i].values = old->values;
                rules[i].keys = old->keys;
                old->entries = NULL;
                old->values = NULL;
                break;
            }
        }

        if (rules[i].entries == NULL && detect_rule_init(&rules[i], t[i]) != 0)
        {
            goto failed;
        }
    }

    for (j = 0; j < d->nrules; j++) {
        detect_rule_free(&d->rules[j]);
    }

    free(d->rules);
    keryu_policy_set_free(d->set);

    d->set = set;
    d->rules = rules;
    d->nrules = n;
    d->types = types;

    return 0;

failed:

    /* hand back what was taken over, so the old rules stay whole */

    for (i = 0; i < n; i++) {
        for (j = 0; j < d->nrules; j++) {
            if (d->rules[j].entries == NULL
                && strcmp(d->rules[j].name, rules[i].name) == 0
                && rules[i].entries)
            {
                d->rules[j].entries = rules[i].entries;
                d->rules[j].values = rules[i].values;
                rules[i].entries = NULL;
                rules[i].values = NULL;
            }
        }

        detect_rule_free(&rules[i]);
    }

    free(rules);

    return -1;
}


static int
detect_rule_init(detect_rule_t *r, const keryu_threshold_t *t)
{
    r->entries = calloc(DETECT_SLOTS, sizeof(detect_entry_t));
    r->values = calloc((size_t) DETECT_SLOTS * t->count,
                       sizeof(detect_value_t));

    if (r->entries == NULL || r->values == NULL) {
        detect_rule_free(r);
        return -1;
    }

    return 0;
}


static void
detect_rule_free(detect_rule_t *r)
{
    free(r->entries);
    free(r->values);

    r->entries = NULL;
    r->values = NULL;
}


static int
detect_same_counting(const keryu_threshold_t *a, const keryu_threshold_t *b)
{
    return a->group == b->group && a->distinct == b->distinct
           && a->segment == b->segment && a->count == b->count
           && a->window_ms == b->window_ms;
}


int
detect_any(const detect_t *d)
{
    return d->types != 0;
}


int
detect_wants(const detect_t *d, unsigned type)
{
    return type < 32 && (d->types & ((uint32_t) 1 << type));
}


void
detect_event(detect_t *d, uint64_t id, const keryu_record_t *rec,
    detect_hit_pt hit, void *ctx)
{
    int                       family;
    size_t                    i, alen, ulen, seg_len, plen;
    uint64_t                  kh, vh, t;
    const char               *user, *seg, *uri, *q;
    const uint8_t            *addr;
    detect_rule_t            *r;
    detect_entry_t           *e;
    detect_value_t           *v;
    const keryu_threshold_t  *th;

    if (!detect_wants(d, rec->type)) {
        return;
    }

    /* denials by keryu's own blocks are answers, not evidence */

    if (rec->type == KERYU_EVENT_PERMISSION_DENIED
        && rec->details.len
        && memmem(rec->details.data, rec->details.len, "\"block\":", 8))
    {
        return;
    }

    family = (rec->addr_family == 4 || rec->addr_family == 6)
             ? rec->addr_family : 0;
    alen = family == 4 ? 4 : 16;
    addr = rec->addr;
    user = (const char *) rec->user.data;
    ulen = rec->user.len;
    uri = (const char *) rec->uri.data;
    t = rec->time_us;

    for (i = 0; i < d->nrules; i++) {
        r = &d->rules[i];
        th = r->t;

        if (!keryu_threshold_match(th, rec->type, rec->status, uri,
                                   rec->uri.len, &seg, &seg_len))
        {
            continue;
        }

        /* the key: events that lack it are not counted */

        kh = (uint64_t) th->group;

        switch (th->group) {

        case KERYU_GROUP_IP:
            if (family == 0) {
                continue;
            }

            kh = detect_hash(d->seed, addr, alen, kh ^ (uint64_t) family);
            break;

        case KERYU_GROUP_USER:
            if (ulen == 0) {
                continue;
            }

            kh = detect_hash(d->seed, user, ulen, kh);
            break;

        default: /* KERYU_GROUP_IP_USER */
            if (family == 0 || ulen == 0) {
                continue;
            }

            kh = detect_hash(d->seed, addr, alen, kh ^ (uint64_t) family);
            kh = detect_hash(d->seed, user, ulen, kh);
            break;
        }

        /* the value, when distinct values are counted */

        vh = 0;

        switch (th->distinct) {

        case KERYU_DISTINCT_USER:
            if (ulen == 0) {
                continue;
            }

            vh = detect_hash(d->seed, user, ulen, 1);
            break;

        case KERYU_DISTINCT_IP:
            if (family == 0) {
                continue;
            }

            vh = detect_hash(d->seed, addr, alen, 2);
            break;

        case KERYU_DISTINCT_PATH:
            q = memchr(uri, '?', rec->uri.len);
            plen = q ? (size_t) (q - uri) : rec->uri.len;

            vh = detect_hash(d->seed, uri, plen, 3);
            break;

        case KERYU_DISTINCT_SEGMENT:
            if (seg == NULL) {
                continue;
            }

            vh = detect_hash(d->seed, seg, seg_len, 4);
            break;

        default:
            break;
        }

        e = detect_entry(d, r, kh,
                         th->group != KERYU_GROUP_USER ? family : 0, addr,
                         th->group != KERYU_GROUP_IP ? user : NULL,
                         th->group != KERYU_GROUP_IP ? ulen : 0, t, &v);

        e->samples[e->sample_next] = id;
        e->sample_next = (e->sample_next + 1) % DETECT_SAMPLES;

        if (e->nsamples < DETECT_SAMPLES) {
            e->nsamples++;
        }

        if (t > e->last_us) {
            e->last_us = t;
        }

        if (detect_count(r, e, v, vh, t)) {
            detect_hit(d, r, e, v, hit, ctx);
        }
    }
}


/* FNV-1a, 64 bits, started from the seed, then mixed */

static uint64_t
detect_hash(uint64_t seed, const void *data, size_t len, uint64_t h)
{
    size_t          i;
    const uint8_t  *p;

    p = data;
    h ^= seed ^ 0xcbf29ce484222325ULL;

    for (i = 0; i < len; i++) {
        h = (h ^ p[i]) * 0x100000001b3ULL;
    }

    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;

    return h ? h : 1;
}


static detect_entry_t *
detect_entry(detect_t *d, detect_rule_t *r, uint64_t hash, int family,
    const uint8_t *addr, const char *user, size_t user_len, uint64_t now,
    detect_value_t **values)
{
    size_t           i, base, slot, alen;
    detect_entry_t  *e, *victim;

    alen = family == 4 ? 4 : 16;
    base = (size_t) (hash % DETECT_SETS) * DETECT_WAYS;
    victim = NULL;
    slot = base;

    for (i = base; i < base + DETECT_WAYS; i++) {
        e = &r->entries[i];

        if (e->hash == hash && e->family == family
            && (family == 0 || memcmp(e->addr, addr, alen) == 0)
            && e->user_len == user_len
            && (user_len == 0 || memcmp(e->user, user, user_len) == 0))
        {
            *values = &r->values[i * r->t->count];
            return e;
        }

        if (victim == NULL || e->hash == 0
            || (victim->hash != 0 && e->last_us < victim->last_us))
        {
            victim = e;
            slot = i;
        }
    }

    if (victim->hash != 0) {
        d->evicted++;

    } else {
        r->keys++;
    }

    memset(victim, 0, sizeof(detect_entry_t));

    victim->hash = hash;
    victim->family = (uint8_t) family;
    victim->last_us = now;

    if (family) {
        memcpy(victim->addr, addr, alen);
    }

    if (user_len) {
        memcpy(victim->user, user, user_len);
        victim->user_len = (uint16_t) user_len;
    }

    *values = &r->values[slot * r->t->count];

    return victim;
}


/* adds the event; returns 1 when the key has reached the rule's count */

static int
detect_count(detect_rule_t *r, detect_entry_t *e, detect_value_t *v,
    uint64_t vhash, uint64_t t)
{
    uint32_t   i, k, count;
    uint64_t   window;

    count = r->t->count;
    window = r->t->window_ms * 1000;

    if (r->t->distinct == KERYU_DISTINCT_NONE) {
        v[e->next].time_us = t;
        e->next = (e->next + 1) % count;

        if (e->n < count) {
            e->n++;
        }

        if (e->n < count) {
            return 0;
        }

        /* every time held lies within the window before this one */

        for (i = 0; i < count; i++) {
            if (v[i].time_us < t && t - v[i].time_us >= window) {
                return 0;
            }
        }

        return 1;
    }

    /* values seen before the window go, the rest move up */

    k = 0;

    for (i = 0; i < e->n; i++) {
        if (v[i].time_us < t && t - v[i].time_us >= window) {
            continue;
        }

        v[k++] = v[i];
    }

    e->n = k;

    for (i = 0; i < e->n; i++) {
        if (v[i].hash == vhash) {
            if (t > v[i].time_us) {
                v[i].time_us = t;
            }

            return 0;
        }
    }

    v[e->n].hash = vhash;
    v[e->n].time_us = t;
    e->n++;

    return e->n >= count;
}


static void
detect_hit(detect_t *d, detect_rule_t *r, detect_entry_t *e,
    detect_value_t *v, detect_hit_pt hit, void *ctx)
{
    char            ip[INET6_ADDRSTRLEN], user[KERYU_RECORD_USER_MAX + 1],
                    key[DETECT_KEY_MAX + 1];
    uint32_t        i, k;
    uint64_t        samples[DETECT_SAMPLES];
    detect_hit_t    h;

    memset(&h, 0, sizeof(detect_hit_t));

    h.rule = r->t;
    h.name = r->name;
    h.family = e->family;
    memcpy(h.addr, e->addr, sizeof(h.addr));
    h.count = r->t->count;
    h.last_us = e->last_us;
    h.first_us = e->last_us;

    for (i = 0; i < e->n; i++) {
        if (v[i].time_us < h.first_us) {
            h.first_us = v[i].time_us;
        }
    }

    ip[0] = '\0';

    if (e->family
        && inet_ntop(e->family == 4 ? AF_INET : AF_INET6, e->addr, ip,
                     sizeof(ip))
           == NULL)
    {
        ip[0] = '\0';
    }

    memcpy(user, e->user, e->user_len);
    user[e->user_len] = '\0';

    if (ip[0] && e->user_len) {
        snprintf(key, sizeof(key), "%s %s", ip, user);

    } else {
        snprintf(key, sizeof(key), "%s", ip[0] ? ip : user);
    }

    h.ip = ip;
    h.user = user;
    h.user_len = e->user_len;
    h.key = key;

    /* samples oldest first */

    k = (e->nsamples < DETECT_SAMPLES) ? 0 : e->sample_next;

    for (i = 0; i < e->nsamples; i++) {
        samples[i] = e->samples[(k + i) % DETECT_SAMPLES];
    }

    h.samples = samples;
    h.nsamples = e->nsamples;

    d->hits++;

    hit(ctx, &h);

    e->n = 0;
    e->next = 0;
    e->nsamples = 0;
    e->sample_next = 0;
}


void
detect_stats(const detect_t *d, detect_stats_t *st)
{
    size_t  i;

    memset(st, 0, sizeof(detect_stats_t));

    st->rules = d->nrules;
    st->evicted = d->evicted;
    st->hits = d->hits;

    for (i = 0; i < d->nrules; i++) {
        st->keys += d->rules[i].keys;
    }
}
