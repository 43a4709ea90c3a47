
/*
 * Copyright (C) Keryu Security
 *
 * The response: what keryud does with what it consumed.  It keeps the
 * threshold rules of the stored policies loaded in detection, runs each
 * stored batch through them, and answers a hit with an alert in its own
 * store, a block in the shared store (which the module enforces on the
 * next request), and a notification.  Lost records raise a log_loss
 * alert.  Failures are logged and counted; they never hold up
 * consumption.
 */


#ifndef _KERYUD_RESPOND_H_INCLUDED_
#define _KERYUD_RESPOND_H_INCLUDED_


#include <stdint.h>

#include "keryud.h"
#include "alert.h"
#include "detect.h"


struct notify_s;


typedef struct {
    uint64_t            hits;
    uint64_t            alerts_opened;
    uint64_t            alerts_updated;
    uint64_t            alert_failures;
    uint64_t            blocks;
    uint64_t            block_failures;
    uint64_t            policy_loads;
    uint64_t            policy_failures;
} respond_stats_t;


typedef struct respond_s {
    store_t            *own;
    keryu_store_t      *src;
    detect_t           *det;
    struct notify_s    *notify;           /* NULL: none */
    uint64_t            config_version;   /* of the rules loaded */
    int                 loaded;
    respond_stats_t     stats;
} respond_t;


/* returns 0, or -1 when out of memory */
int respond_init(respond_t *r, store_t *own, keryu_store_t *src);
void respond_free(respond_t *r);

/* installs the default threshold policies once in each shared store */
void respond_defaults(respond_t *r);

/* loads the threshold rules again when the stored policies changed */
void respond_policies(respond_t *r);

/* runs keryud's stored records first..last through detection */
void respond_batch(respond_t *r, uint64_t first, uint64_t last);

/* lost records between the sequence numbers lo and hi, exclusive */
void respond_loss(respond_t *r, uint64_t lost, uint64_t lo, uint64_t hi);

/*
 * a fault that needs an operator, e.g. rule "store_full" with key "ring";
 * count is what the fault cost so far
 */
void respond_fault(respond_t *r, const char *rule, const char *key,
    const char *summary, uint64_t count);

/*
 * raises an alert and sends its notification; returns 0 or an LMDB code,
 * the alert in out for the caller to free
 */
int respond_raise(respond_t *r, const alert_raise_t *in, alert_t *out,
    int *opened);

/* sends an alert's notification, event being e.g. "alert.updated" */
void respond_notify(respond_t *r, const char *event, const alert_t *a);


#endif /* _KERYUD_RESPOND_H_INCLUDED_ */
