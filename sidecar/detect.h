
/*
 * Copyright (C) Keryu Security
 *
 * Detection: the threshold rules of the stored policies, run over the
 * records keryud consumes.  Each rule keeps a table of the keys it counts
 * against (an address, a user, or both), and per key the times of its
 * latest events, or of its latest distinct values, within the rule's
 * window.  A key that reaches the rule's count is a hit; its count starts
 * again from nothing, so a key that goes on hits again after as many
 * events more.
 *
 * Everything here is in memory and allocated when rules are loaded: an
 * event never allocates.  Tables are fixed in size; when a set of keys is
 * full, the one seen least recently gives way, and the eviction is
 * counted.  Records that keryu's own blocks denied are not counted: they
 * are the answer to a hit, not more of what caused it.
 */


#ifndef _KERYUD_DETECT_H_INCLUDED_
#define _KERYUD_DETECT_H_INCLUDED_


#include <stdint.h>
#include <arpa/inet.h>

#include "keryu_policy.h"
#include "keryu_record.h"


#define DETECT_SLOTS          4096      /* keys per rule */
#define DETECT_WAYS           8
#define DETECT_SAMPLES        10        /* event ids kept per key */
#define DETECT_RULE_MAX       (2 * KERYU_POLICY_NAME_MAX + 1)
#define DETECT_KEY_MAX        (INET6_ADDRSTRLEN + 1 + KERYU_RECORD_USER_MAX)


typedef struct detect_s  detect_t;


/* what a hit hands to its handler; valid during the call only */
typedef struct {
    const keryu_threshold_t  *rule;
    const char               *name;         /* "policy/rule" */
    int                       family;       /* 0: no address in the key */
    uint8_t                   addr[16];
    const char               *ip;           /* text, or "" */
    const char               *user;         /* or "" */
    size_t                    user_len;
    const char               *key;          /* "ip", "user", "ip user" */
    unsigned                  count;
    uint64_t                  first_us;     /* oldest event counted */
    uint64_t                  last_us;
    const uint64_t           *samples;      /* latest ids, oldest first */
    unsigned                  nsamples;
} detect_hit_t;


typedef void (*detect_hit_pt)(void *ctx, const detect_hit_t *hit);


typedef struct {
    uint64_t                  rules;
    uint64_t                  keys;         /* held now */
    uint64_t                  evicted;
    uint64_t                  hits;
} detect_stats_t;


/* returns NULL when out of memory */
detect_t *detect_new(void);

/* frees the tables and the policy set */
void detect_free(detect_t *d);

/*
 * takes over a finished policy set and frees the one before; a rule whose
 * name and counting are unchanged keeps what it counted.  Returns 0, or
 * -1 when out of memory, having kept the old rules.
 */
int detect_load(detect_t *d, keryu_policy_set_t *set);

/* are there any rules at all */
int detect_any(const detect_t *d);

/* can a record of this type count for any rule */
int detect_wants(const detect_t *d, unsigned type);

/* counts one stored record, keryud's id for it given; calls hit per hit */
void detect_event(detect_t *d, uint64_t id, const keryu_record_t *rec,
    detect_hit_pt hit, void *ctx);

void detect_stats(const detect_t *d, detect_stats_t *st);


#endif /* _KERYUD_DETECT_H_INCLUDED_ */
