/*
 * Copyright (C) Keryu Security
 *
 * The numbers of the status endpoint and the metrics exposition: reading
 * them from the stores, and writing them in the Prometheus text format
 * 0.0.4.  Every family is written with its HELP and TYPE lines, label
 * values escaped as the format asks (backslash, quote and newline), and
 * counters only grow while keryud runs: those kept in memory start from
 * zero when it starts, those read from a store follow the store.
 */


#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <event2/buffer.h>

#include "metrics.h"
#include "alert.h"
#include "keryu_policy.h"


#define METRICS_LABELS_MAX  640


/* the exposition being written; error is set by the first failed write */
typedef struct {
    struct evbuffer    *buf;
    int                 error;
} metrics_out_t;


static int metrics_worker(void *ctx, const keryu_worker_t *w);
static void metrics_env(MDB_env *env, uint64_t *bytes, uint64_t *map_bytes);
static void metrics_family(metrics_out_t *out, const char *name,
    const char *type, const char *help);
static void metrics_value(metrics_out_t *out, const char *name,
    const char *labels, uint64_t value);
static const char *metrics_labels(char *buf, const char *k1, const char *v1,
    const char *k2, const char *v2);
static char *metrics_escape(char *p, const char *s);
static void metrics_consumer(metrics_out_t *out, const consume_stats_t *cs);
static void metrics_alerts(metrics_out_t *out, const metrics_own_t *own,
    const respond_t *r);
static void metrics_store(metrics_out_t *out, const metrics_own_t *own,
    const metrics_shared_t *sh);
static void metrics_workers(metrics_out_t *out, const metrics_shared_t *sh);
static void metrics_notify(metrics_out_t *out, const notify_stats_t *ns);
static void metrics_api(metrics_out_t *out, const metrics_api_t *m);


/* the histogram's upper bounds, in nanoseconds and as written */

static const uint64_t  metrics_bounds[METRICS_BUCKETS] = {
    1000000, 5000000, 10000000, 50000000, 100000000, 500000000, 1000000000
};

static const char  *const metrics_les[METRICS_BUCKETS + 1] = {
    "0.001", "0.005", "0.01", "0.05", "0.1", "0.5", "1", "+Inf"
};

static const char  *const metrics_decisions[CONSUME_DECISIONS] = {
    "allow", "deny", "shadow_deny"
};


int
metrics_shared_read(keryu_store_t *src, metrics_shared_t *sh)
{
    int        rc;
    MDB_txn   *txn;
    MDB_stat   ms;
    unsigned   i;

    memset(sh, 0, offsetof(metrics_shared_t, workers));

    rc = keryu_store_txn_begin(src, MDB_RDONLY, &txn);
    if (rc != 0) {
        return rc;
    }

    if ((rc = keryu_store_meta_get(src, txn, KERYU_META_LAST_SEQ,
                                   &sh->last_seq))
        || (rc = keryu_store_meta_get(src, txn, KERYU_META_LAST_TIME,
                                      &sh->last_time))
        || (rc = keryu_store_meta_get(src, txn, KERYU_META_TRIMMED,
                                      &sh->trimmed))
        || (rc = keryu_store_meta_get(src, txn, KERYU_META_DROPPED,
                                      &sh->dropped))
        || (rc = keryu_store_meta_get(src, txn, KERYU_META_OVERFLOW,
                                      &sh->overflow))
        || (rc = keryu_store_meta_get(src, txn, KERYU_META_FAILED,
                                      &sh->failed))
        || (rc = keryu_store_meta_get(src, txn, KERYU_META_NOKEY,
                                      &sh->nokey))
        || (rc = keryu_store_meta_get(src, txn, KERYU_META_MAP_FULL,
                                      &sh->map_full))
        || (rc = keryu_store_meta_get(src, txn, KERYU_META_CONSUMER_SEQ,
                                      &sh->consumer_seq))
        || (rc = keryu_store_meta_get(src, txn, KERYU_META_CONFIG_VERSION,
                                      &sh->config_version))
        || (rc = keryu_store_meta_get(src, txn, KERYU_META_BLOCK_VERSION,
                                      &sh->block_version)))
    {
        goto txn_abort;
    }

    if ((rc = mdb_stat(txn, src->blocks, &ms)) != 0) {
        goto txn_abort;
    }

    sh->blocks = ms.ms_entries;

    if ((rc = mdb_stat(txn, src->keys, &ms)) != 0) {
        goto txn_abort;
    }

    sh->keys = ms.ms_entries;

    if ((rc = mdb_stat(txn, src->apikeys, &ms)) != 0) {
        goto txn_abort;
    }

    sh->apikeys = ms.ms_entries;

    if ((rc = mdb_stat(txn, src->clients, &ms)) != 0) {
        goto txn_abort;
    }

    sh->clients = ms.ms_entries;

    rc = keryu_store_workers(src, txn, metrics_worker, sh);
    if (rc != 0) {
        goto txn_abort;
    }

    for (i = 0; i < sh->nworkers; i++) {
        if (sh->workers[i].config_version < sh->config_version) {
            sh->behind++;
        }
    }

    metrics_env(src->env, &sh->bytes, &sh->map_bytes);

txn_abort:

    mdb_txn_abort(txn);

    return rc;
}


/* keeps the live workers; the entries of dead ones wait for keryud_sync */

static int
metrics_worker(void *ctx, const keryu_worker_t *w)
{
    metrics_shared_t  *sh = ctx;

    if (!metrics_worker_alive(w->pid)) {
        return 0;
    }

    /* XXX workers past METRICS_WORKERS_MAX are neither shown nor counted */

    if (sh->nworkers == METRICS_WORKERS_MAX) {
        return 1;
    }

    sh->workers[sh->nworkers++] = *w;

    return 0;
}


int
metrics_worker_alive(uint64_t pid)
{
    if (pid == 0 || pid > INT32_MAX) {
        return 0;
    }

    /* EPERM: alive, but run by a user keryud may not signal */

    return kill((pid_t) pid, 0) == 0 || errno == EPERM;
}


int
metrics_own_read(store_t *own, MDB_txn *txn, metrics_own_t *o)
{
    int  rc;

    memset(o, 0, sizeof(metrics_own_t));

    if ((rc = store_meta_get(own, txn, STORE_META_CONSUMED, &o->consumed))
        || (rc = store_meta_get(own, txn, STORE_META_LOST, &o->lost))
        || (rc = store_meta_get(own, txn, STORE_META_INVALID, &o->invalid))
        || (rc = store_meta_get(own, txn, STORE_META_UNSEALABLE,
                                &o->unsealable))
        || (rc = store_meta_get(own, txn, STORE_META_EXPIRED, &o->expired))
        || (rc = store_meta_get(own, txn, STORE_META_SRC_SEQ, &o->src_seq))
        || (rc = store_meta_get(own, txn, STORE_META_CRASHED,
                                &o->workers_crashed))
        || (rc = alert_counts(own, txn, o->alerts)))
    {
        return rc;
    }

    metrics_env(own->env, &o->bytes, &o->map_bytes);

    return 0;
}


/* the bytes of the pages in use and of the map; zeros if LMDB says no */

static void
metrics_env(MDB_env *env, uint64_t *bytes, uint64_t *map_bytes)
{
    MDB_stat     ms;
    MDB_envinfo  info;

    if (mdb_env_info(env, &info) != 0 || mdb_env_stat(env, &ms) != 0) {
        *bytes = 0;
        *map_bytes = 0;
        return;
    }

    *bytes = ((uint64_t) info.me_last_pgno + 1) * ms.ms_psize;
    *map_bytes = info.me_mapsize;
}


void
metrics_api_observe(metrics_api_t *m, int code, uint64_t ns)
{
    unsigned  i;

    if (code < METRICS_CODE_MIN || code > METRICS_CODE_MAX) {
        return;
    }

    for (i = 0; i < METRICS_BUCKETS && ns > metrics_bounds[i]; i++) {
        /* void */
    }

    m->buckets[i]++;
    m->count++;
    m->sum_ns += ns;
    m->codes[code - METRICS_CODE_MIN]++;
}


int
metrics_text(struct evbuffer *b, const metrics_t *m)
{
    metrics_out_t  out;

    out.buf = b;
    out.error = 0;

    metrics_family(&out, "keryu_uptime_seconds", "gauge",
                   "Seconds since keryud started.");
    metrics_value(&out, "keryu_uptime_seconds", NULL, m->uptime);

    if (m->consume) {
        metrics_consumer(&out, m->consume);
    }

    metrics_alerts(&out, m->own, m->respond);
    metrics_store(&out, m->own, m->shared);

    if (m->shared) {
        metrics_workers(&out, m->shared);
    }

    metrics_notify(&out, m->notify);
    metrics_api(&out, m->api);

    return out.error ? -1 : 0;
}


static void
metrics_consumer(metrics_out_t *out, const consume_stats_t *cs)
{
    char                   labels[METRICS_LABELS_MAX];
    unsigned               i, d, n;
    const consume_rule_t  *r;

    metrics_family(out, "keryu_events_total", "counter",
                   "Records consumed from the ring since keryud started, "
                   "by event type.");

    for (i = 0; i < KERYU_EVENT_MAX; i++) {
        metrics_value(out, "keryu_events_total",
                      metrics_labels(labels, "type", keryu_event_name(i),
                                     NULL, NULL),
                      cs->events[i]);
    }

    metrics_family(out, "keryu_requests_total", "counter",
                   "Requests the module decided, from the records consumed "
                   "since keryud started, by decision and rule.");

    n = cs->nrules;

    for (i = 0; i <= n; i++) {
        r = (i < n) ? &cs->rules[i] : &cs->rules[CONSUME_RULES_MAX];

        for (d = 0; d < CONSUME_DECISIONS; d++) {
            if (r->count[d] == 0) {
                continue;
            }

            metrics_value(out, "keryu_requests_total",
                          metrics_labels(labels, "decision",
                                         metrics_decisions[d], "rule",
                                         r->name),
                          r->count[d]);
        }
    }
}


static void
metrics_alerts(metrics_out_t *out, const metrics_own_t *own,
    const respond_t *r)
{
    int             st, sev;
    char            labels[METRICS_LABELS_MAX];
    detect_stats_t  ds;

    metrics_family(out, "keryu_alerts", "gauge",
                   "Alerts in keryud's store, by status and severity.");

    for (st = ALERT_OPEN; st <= ALERT_RESOLVED; st++) {
        for (sev = KERYU_SEVERITY_LOW; sev <= KERYU_SEVERITY_CRITICAL; sev++)
        {
            metrics_value(out, "keryu_alerts",
                          metrics_labels(labels, "status",
                                         alert_status_name(st), "severity",
                                         keryu_severity_name(sev)),
                          own->alerts[st][sev]);
        }
    }

    if (r == NULL) {
        return;
    }

    metrics_family(out, "keryu_alerts_raised_total", "counter",
                   "Alerts raised since keryud started: opened, updated "
                   "(the same rule and key while open), or failed.");
    metrics_value(out, "keryu_alerts_raised_total", "result=\"opened\"",
                  r->stats.alerts_opened);
    metrics_value(out, "keryu_alerts_raised_total", "result=\"updated\"",
                  r->stats.alerts_updated);
    metrics_value(out, "keryu_alerts_raised_total", "result=\"failed\"",
                  r->stats.alert_failures);

    metrics_family(out, "keryu_blocks_written_total", "counter",
                   "Blocks written to the shared store by detection since "
                   "keryud started.");
    metrics_value(out, "keryu_blocks_written_total", NULL, r->stats.blocks);

    metrics_family(out, "keryu_block_failures_total", "counter",
                   "Blocks detection could not write since keryud started.");
    metrics_value(out, "keryu_block_failures_total", NULL,
                  r->stats.block_failures);

    metrics_family(out, "keryu_detection_hits_total", "counter",
                   "Threshold rule hits since keryud started.");
    metrics_value(out, "keryu_detection_hits_total", NULL, r->stats.hits);

    metrics_family(out, "keryu_detection_loads_total", "counter",
                   "Loads of the threshold rules since keryud started, "
                   "and loads refused because the policies did not "
                   "compile.");
    metrics_value(out, "keryu_detection_loads_total", "result=\"loaded\"",
                  r->stats.policy_loads);
    metrics_value(out, "keryu_detection_loads_total", "result=\"failed\"",
                  r->stats.policy_failures);

    detect_stats(r->det, &ds);

    metrics_family(out, "keryu_detection_rules", "gauge",
                   "Threshold rules loaded.");
    metrics_value(out, "keryu_detection_rules", NULL, ds.rules);

    metrics_family(out, "keryu_detection_keys", "gauge",
                   "Keys (addresses, users) the threshold rules count "
                   "against now.");
    metrics_value(out, "keryu_detection_keys", NULL, ds.keys);

    metrics_family(out, "keryu_detection_evictions_total", "counter",
                   "Keys pushed out of a full threshold rule table.");
    metrics_value(out, "keryu_detection_evictions_total", NULL, ds.evicted);
}


static void
metrics_store(metrics_out_t *out, const metrics_own_t *own,
    const metrics_shared_t *sh)
{
    metrics_family(out, "keryu_shared_store_up", "gauge",
                   "1 when keryud has the shared store open, else 0.");
    metrics_value(out, "keryu_shared_store_up", NULL, sh != NULL);

    metrics_family(out, "keryu_records_lost_total", "counter",
                   "Records missing from the ring when keryud read it: "
                   "trimmed unread, or never written.");
    metrics_value(out, "keryu_records_lost_total", NULL, own->lost);

    metrics_family(out, "keryu_records_unsealable_total", "counter",
                   "Sealed records stored without being opened: no "
                   "private key of their version, or a damaged seal.");
    metrics_value(out, "keryu_records_unsealable_total", NULL,
                  own->unsealable);
    metrics_family(out, "keryu_workers_crashed_total", "counter",
                   "nginx workers that died without removing their report "
                   "from the shared store: killed, or crashed.");
    metrics_value(out, "keryu_workers_crashed_total", NULL,
                  own->workers_crashed);

    metrics_family(out, "keryu_store_bytes", "gauge",
                   "Bytes of the pages each store uses.");

    if (sh) {
        metrics_value(out, "keryu_store_bytes", "store=\"shared\"",
                      sh->bytes);
    }

    metrics_value(out, "keryu_store_bytes", "store=\"own\"", own->bytes);

    metrics_family(out, "keryu_store_map_bytes", "gauge",
                   "The map size of each store: the most it can hold.");

    if (sh) {
        metrics_value(out, "keryu_store_map_bytes", "store=\"shared\"",
                      sh->map_bytes);
    }

    metrics_value(out, "keryu_store_map_bytes", "store=\"own\"",
                  own->map_bytes);

    if (sh == NULL) {
        return;
    }

    metrics_family(out, "keryu_ring_last_seq", "gauge",
                   "Sequence number of the newest record in the ring.");
    metrics_value(out, "keryu_ring_last_seq", NULL, sh->last_seq);

    metrics_family(out, "keryu_ring_lag", "gauge",
                   "Records in the ring keryud has not consumed yet.");
    metrics_value(out, "keryu_ring_lag", NULL,
                  sh->last_seq > own->src_seq ? sh->last_seq - own->src_seq
                                              : 0);

    metrics_family(out, "keryu_ring_trimmed_total", "counter",
                   "Records evicted from the full ring.");
    metrics_value(out, "keryu_ring_trimmed_total", NULL, sh->trimmed);

    metrics_family(out, "keryu_ring_dropped_total", "counter",
                   "Records evicted from the ring before keryud read them.");
    metrics_value(out, "keryu_ring_dropped_total", NULL, sh->dropped);

    metrics_family(out, "keryu_ring_overflow_total", "counter",
                   "Records nginx workers could not stage.");
    metrics_value(out, "keryu_ring_overflow_total", NULL, sh->overflow);

    metrics_family(out, "keryu_ring_failed_total", "counter",
                   "Records lost to failed write transactions of nginx "
                   "workers.");
    metrics_value(out, "keryu_ring_failed_total", NULL, sh->failed);

    metrics_family(out, "keryu_ring_nokey_total", "counter",
                   "Records nginx wrote without their personal fields, or "
                   "not at all, for want of a sealing key.");
    metrics_value(out, "keryu_ring_nokey_total", NULL, sh->nokey);
    metrics_family(out, "keryu_store_map_full_total", "counter",
                   "Times nginx workers found the shared store's map full "
                   "and deleted the oldest quarter of the ring.");
    metrics_value(out, "keryu_store_map_full_total", NULL, sh->map_full);

    metrics_family(out, "keryu_blocks", "gauge",
                   "Blocks in the shared store, expired ones not yet "
                   "pruned included.");
    metrics_value(out, "keryu_blocks", NULL, sh->blocks);

    metrics_family(out, "keryu_policy_version", "gauge",
                   "The shared store's configuration version, raised by "
                   "every change to policies, keys, API keys or clients.");
    metrics_value(out, "keryu_policy_version", NULL, sh->config_version);

    metrics_family(out, "keryu_block_version", "gauge",
                   "The shared store's block version, raised by every "
                   "change to blocks.");
    metrics_value(out, "keryu_block_version", NULL, sh->block_version);
}


static void
metrics_workers(metrics_out_t *out, const metrics_shared_t *sh)
{
    char      labels[METRICS_LABELS_MAX], pid[24];
    unsigned  i;

    metrics_family(out, "keryu_workers", "gauge",
                   "Live nginx workers that reported what they enforce.");
    metrics_value(out, "keryu_workers", NULL, sh->nworkers);

    metrics_family(out, "keryu_workers_behind", "gauge",
                   "Live nginx workers whose configuration version is "
                   "below the shared store's.");
    metrics_value(out, "keryu_workers_behind", NULL, sh->behind);

    metrics_family(out, "keryu_worker_policy_version", "gauge",
                   "The configuration version each live nginx worker "
                   "enforces.");

    for (i = 0; i < sh->nworkers; i++) {
        snprintf(pid, sizeof(pid), "%" PRIu64, sh->workers[i].pid);
        metrics_value(out, "keryu_worker_policy_version",
                      metrics_labels(labels, "pid", pid, NULL, NULL),
                      sh->workers[i].config_version);
    }

    metrics_family(out, "keryu_worker_block_version", "gauge",
                   "The block version each live nginx worker enforces.");

    for (i = 0; i < sh->nworkers; i++) {
        snprintf(pid, sizeof(pid), "%" PRIu64, sh->workers[i].pid);
        metrics_value(out, "keryu_worker_block_version",
                      metrics_labels(labels, "pid", pid, NULL, NULL),
                      sh->workers[i].block_version);
    }
}


static void
metrics_notify(metrics_out_t *out, const notify_stats_t *ns)
{
    notify_stats_t  none;

    if (ns == NULL) {
        memset(&none, 0, sizeof(notify_stats_t));
        ns = &none;
    }

    metrics_family(out, "keryu_webhook_deliveries_total", "counter",
                   "Alert notifications since keryud started: sent (2xx), "
                   "failed after their retries, or dropped from a full "
                   "queue.");
    metrics_value(out, "keryu_webhook_deliveries_total", "result=\"sent\"",
                  ns->sent);
    metrics_value(out, "keryu_webhook_deliveries_total", "result=\"failed\"",
                  ns->failed);
    metrics_value(out, "keryu_webhook_deliveries_total",
                  "result=\"dropped\"", ns->dropped);

    metrics_family(out, "keryu_webhook_retries_total", "counter",
                   "Delivery attempts after a first one.");
    metrics_value(out, "keryu_webhook_retries_total", NULL, ns->retried);

    metrics_family(out, "keryu_webhook_queue", "gauge",
                   "Notifications waiting or in flight.");
    metrics_value(out, "keryu_webhook_queue", NULL, ns->queued);
}


static void
metrics_api(metrics_out_t *out, const metrics_api_t *m)
{
    char      labels[METRICS_LABELS_MAX], code[8];
    uint64_t  n, us;
    unsigned  i;

    metrics_family(out, "keryu_api_request_duration_seconds", "histogram",
                   "Time keryud took to answer an API request, token "
                   "check included.");

    n = 0;

    for (i = 0; i <= METRICS_BUCKETS; i++) {
        n += m->buckets[i];
        metrics_value(out, "keryu_api_request_duration_seconds_bucket",
                      metrics_labels(labels, "le", metrics_les[i], NULL,
                                     NULL),
                      n);
    }

    us = m->sum_ns / 1000;

    if (evbuffer_add_printf(out->buf,
                            "keryu_api_request_duration_seconds_sum "
                            "%" PRIu64 ".%06" PRIu64 "\n",
                            us / 1000000, us % 1000000)
        == -1)
    {
        out->error = 1;
    }

    metrics_value(out, "keryu_api_request_duration_seconds_count", NULL,
                  m->count);

    metrics_family(out, "keryu_api_requests_total", "counter",
                   "API requests answered since keryud started, by status "
                   "code.");

    for (i = 0; i <= METRICS_CODE_MAX - METRICS_CODE_MIN; i++) {
        if (m->codes[i] == 0) {
            continue;
        }

        snprintf(code, sizeof(code), "%u", i + METRICS_CODE_MIN);
        metrics_value(out, "keryu_api_requests_total",
                      metrics_labels(labels, "code", code, NULL, NULL),
                      m->codes[i]);
    }
}


static void
metrics_family(metrics_out_t *out, const char *name, const char *type,
    const char *help)
{
    if (evbuffer_add_printf(out->buf, "# HELP %s %s\n# TYPE %s %s\n", name,
                            help, name, type)
        == -1)
    {
        out->error = 1;
    }
}


static void
metrics_value(metrics_out_t *out, const char *name, const char *labels,
    uint64_t value)
{
    int  n;

    if (labels) {
        n = evbuffer_add_printf(out->buf, "%s{%s} %" PRIu64 "\n", name,
                                labels, value);

    } else {
        n = evbuffer_add_printf(out->buf, "%s %" PRIu64 "\n", name, value);
    }

    if (n == -1) {
        out->error = 1;
    }
}


/*
 * k1="v1" and, if k2 is not NULL, ,k2="v2" in buf, which must hold
 * METRICS_LABELS_MAX bytes; values are at most CONSUME_RULE_LEN bytes
 */

static const char *
metrics_labels(char *buf, const char *k1, const char *v1, const char *k2,
    const char *v2)
{
    char  *p;

    p = buf;

    p += snprintf(p, 32, "%s=\"", k1);
    p = metrics_escape(p, v1 ? v1 : "");
    *p++ = '"';

    if (k2) {
        p += snprintf(p, 32, ",%s=\"", k2);
        p = metrics_escape(p, v2 ? v2 : "");
        *p++ = '"';
    }

    *p = '\0';

    return buf;
}


/* a label value as the format wants it: \\, \" and \n escaped */

static char *
metrics_escape(char *p, const char *s)
{
    size_t  n;

    for (n = 0; s[n] && n < CONSUME_RULE_LEN; n++) {
        switch (s[n]) {

        case '\\':
            *p++ = '\\';
            *p++ = '\\';
            break;

        case '"':
            *p++ = '\\';
            *p++ = '"';
            break;

        case '\n':
            *p++ = '\\';
            *p++ = 'n';
            break;

        default:
            *p++ = s[n];
            break;
        }
    }

    return p;
}
