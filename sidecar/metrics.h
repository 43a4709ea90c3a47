/*
 * Copyright (C) Keryu Security
 *
 * What keryud and the nginx workers are doing, for operators: the numbers
 * behind GET /api/security/status/ and the Prometheus text exposition
 * (format 0.0.4) of GET /api/security/metrics.  Everything is read when it
 * is asked for: the meta counters of each store in one read transaction,
 * the counters of the consumer, the response and the notifications from
 * memory.  Nothing here writes to a store, so a scrape never holds up an
 * nginx worker.
 *
 * Workers report the versions they enforce in the shared store's meta
 * (keryu_store.h, worker.<pid>).  A worker counts as alive while
 * kill(pid, 0) finds its process, so keryud must run on nginx's host and
 * in its PID namespace; elsewhere every worker looks dead.
 */


#ifndef _KERYUD_METRICS_H_INCLUDED_
#define _KERYUD_METRICS_H_INCLUDED_


#include <stdint.h>

#include "keryud.h"
#include "notify.h"
#include "respond.h"


#define METRICS_WORKERS_MAX   256       /* live workers shown */
#define METRICS_BUCKETS       7         /* the histogram's bounds, +Inf apart */
#define METRICS_CODE_MIN      100
#define METRICS_CODE_MAX      599


struct evbuffer;


/* the shared store, as one read transaction saw it */
typedef struct {
    uint64_t            last_seq;
    uint64_t            last_time;        /* microseconds, 0: no record */
    uint64_t            trimmed;
    uint64_t            dropped;
    uint64_t            overflow;
    uint64_t            failed;
    uint64_t            nokey;            /* no sealing key ("keryu_seal") */
    uint64_t            map_full;         /* writers found the map full */
    uint64_t            consumer_seq;
    uint64_t            config_version;
    uint64_t            block_version;
    uint64_t            blocks;           /* entries of each database */
    uint64_t            keys;
    uint64_t            apikeys;
    uint64_t            clients;
    uint64_t            bytes;            /* pages in use, in bytes */
    uint64_t            map_bytes;
    unsigned            behind;           /* live workers below config */
    unsigned            nworkers;         /* live workers, in pid order */
    keryu_worker_t      workers[METRICS_WORKERS_MAX];
} metrics_shared_t;


/* keryud's own store */
typedef struct {
    uint64_t            consumed;
    uint64_t            lost;
    uint64_t            invalid;
    uint64_t            unsealable;       /* stored sealed, not opened */
    uint64_t            expired;
    uint64_t            src_seq;
    uint64_t            workers_crashed;  /* died leaving their report */
    uint64_t            alerts[4][5];     /* alert_counts() */
    uint64_t            bytes;
    uint64_t            map_bytes;
} metrics_own_t;


/* the API's requests since keryud started */
typedef struct {
    uint64_t            buckets[METRICS_BUCKETS + 1];  /* not cumulative */
    uint64_t            count;
    uint64_t            sum_ns;
    uint64_t            codes[METRICS_CODE_MAX - METRICS_CODE_MIN + 1];
} metrics_api_t;


/* what one scrape shows; a NULL member leaves its families out */
typedef struct {
    uint64_t                  uptime;     /* seconds */
    const metrics_own_t      *own;
    const metrics_shared_t   *shared;     /* NULL: shared store away */
    const consume_stats_t    *consume;
    const respond_t          *respond;
    const notify_stats_t     *notify;     /* zeros without notifications */
    const metrics_api_t      *api;
} metrics_t;


/* returns 0 or an LMDB code */
int metrics_shared_read(keryu_store_t *src, metrics_shared_t *sh);

/* returns 0 or an LMDB code */
int metrics_own_read(store_t *own, MDB_txn *txn, metrics_own_t *o);

/* counts one answered request that took ns nanoseconds */
void metrics_api_observe(metrics_api_t *m, int code, uint64_t ns);

/* appends the exposition to b; returns 0, or -1 when out of memory */
int metrics_text(struct evbuffer *b, const metrics_t *m);

/* 1 while the process pid exists, on this host and in this namespace */
int metrics_worker_alive(uint64_t pid);


#endif /* _KERYUD_METRICS_H_INCLUDED_ */
