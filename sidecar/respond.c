
/*
 * Copyright (C) Keryu Security
 *
 * Detection's hits become alerts, blocks and notifications here.  Hits
 * are handled while the batch is still being read, in a write transaction
 * of their own: keryud's store is opened with MDB_NOTLS, so a read
 * transaction and a write transaction may be open in one thread at once.
 */


#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "respond.h"
#include "policy.h"
#include "notify.h"
#include "log.h"


#define RESPOND_ACTOR  "keryud"


/*
 * the threshold policies every shared store starts with; operators edit
 * or delete them like any other, and a deleted one stays deleted
 *
 * Each attack should be named by its own rule, although a path scan or a
 * credential-stuffing run is also a stream of auth failures: the rules
 * that tell them apart count to 10, as brute-force does, so that they hit
 * no later than brute-force's block, on the same record at the latest.
 */

static const char *const  respond_default_policies[] = {

    "{\"name\":\"brute-force\",\"policy_type\":\"threshold\","
    "\"description\":\"Many failed logins from one address\","
    "\"rules\":[{\"id\":\"auth-failures\",\"types\":[\"auth_failure\"],"
    "\"group_by\":\"ip\",\"count\":10,\"window\":\"60s\","
    "\"severity\":\"high\",\"action\":\"block\",\"duration\":\"15m\","
    "\"max_duration\":\"24h\"}]}",

    "{\"name\":\"credential-stuffing\",\"policy_type\":\"threshold\","
    "\"description\":\"Failed logins for many users from one address\","
    "\"rules\":[{\"id\":\"many-users\",\"types\":[\"auth_failure\"],"
    "\"group_by\":\"ip\",\"distinct\":\"user\",\"count\":10,"
    "\"window\":\"5m\",\"severity\":\"high\",\"action\":\"block\","
    "\"duration\":\"1h\",\"max_duration\":\"24h\"}]}",

    "{\"name\":\"scanning\",\"policy_type\":\"threshold\","
    "\"description\":\"Many refused requests, or many paths refused or "
    "missing, from one address\","
    "\"rules\":[{\"id\":\"denials\",\"types\":[\"permission_denied\"],"
    "\"group_by\":\"ip\",\"count\":30,\"window\":\"60s\","
    "\"severity\":\"medium\",\"action\":\"block\",\"duration\":\"15m\","
    "\"max_duration\":\"24h\"},"
    "{\"id\":\"refused-paths\",\"status\":[401,403],"
    "\"group_by\":\"ip\",\"distinct\":\"path\",\"count\":10,"
    "\"window\":\"60s\",\"severity\":\"medium\",\"action\":\"block\","
    "\"duration\":\"15m\",\"max_duration\":\"24h\"},"
    "{\"id\":\"missing-paths\",\"status\":[404],"
    "\"group_by\":\"ip\",\"distinct\":\"path\",\"count\":20,"
    "\"window\":\"60s\",\"severity\":\"medium\",\"action\":\"block\","
    "\"duration\":\"15m\",\"max_duration\":\"24h\"}]}",

    "{\"name\":\"enumeration\",\"policy_type\":\"threshold\","
    "\"description\":\"One caller reading many objects of one kind\","
    "\"rules\":[{\"id\":\"by-user\",\"types\":[\"request\","
    "\"data_access\"],\"status\":[200],\"pattern\":\"/api/{kind}/{id}\","
    "\"distinct\":\"id\",\"group_by\":\"user\",\"count\":100,"
    "\"window\":\"5m\",\"severity\":\"medium\"},"
    "{\"id\":\"by-ip\",\"types\":[\"request\",\"data_access\"],"
    "\"status\":[200],\"pattern\":\"/api/{kind}/{id}\","
    "\"distinct\":\"id\",\"group_by\":\"ip\",\"count\":100,"
    "\"window\":\"5m\",\"severity\":\"medium\"},"
    "{\"id\":\"denied-by-user\",\"types\":[\"permission_denied\"],"
    "\"pattern\":\"/api/{kind}/{id}\",\"distinct\":\"id\","
    "\"group_by\":\"user\",\"count\":10,\"window\":\"5m\","
    "\"severity\":\"high\",\"action\":\"block\",\"duration\":\"15m\","
    "\"max_duration\":\"24h\"}]}",

    NULL
};


typedef struct {
    keryu_policy_set_t  *set;
    char                 err[KERYU_POLICY_ERR_MAX];
    int                  failed;
} respond_load_t;


static int respond_add(void *ctx, const char *name, size_t namelen,
    const char *doc, size_t len);
static void respond_hit(void *ctx, const detect_hit_t *h);
static int respond_block(respond_t *r, const detect_hit_t *h,
    const alert_t *a);
static uint64_t respond_now(void);
static const char *respond_duration(uint64_t ms, char *buf, size_t size);


/* keryud is one thread: one buffer serves every record this file opens */
static store_rbuf_t  respond_rbuf;


int
respond_init(respond_t *r, store_t *own, keryu_store_t *src)
{
    memset(r, 0, sizeof(respond_t));

    r->own = own;
    r->src = src;

    r->det = detect_new();
    if (r->det == NULL) {
        return -1;
    }

    return 0;
}


void
respond_free(respond_t *r)
{
    detect_free(r->det);
    r->det = NULL;
}


/* gives a shared store keryud has not seen yet the default policies */

void
respond_defaults(respond_t *r)
{
    int                 rc;
    char                err[KERYU_POLICY_ERR_MAX];
    MDB_txn            *txn;
    uint64_t            store_id, done;
    const char *const  *doc;

    if (r->src->env == NULL) {
        return;
    }

    rc = keryu_store_txn_begin(r->src, MDB_RDONLY, &txn);
    if (rc != 0) {
        return;
    }

    rc = keryu_store_meta_get(r->src, txn, KERYU_META_STORE_ID, &store_id);
    mdb_txn_abort(txn);

    if (rc != 0) {
        return;
    }

    rc = store_txn_begin(r->own, MDB_RDONLY, &txn);
    if (rc != 0) {
        return;
    }

    rc = store_meta_get(r->own, txn, STORE_META_DEFAULTS, &done);
    mdb_txn_abort(txn);

    if (rc != 0 || done == store_id) {
        return;
    }

    for (doc = respond_default_policies; *doc; doc++) {
        rc = policy_write(r->src, *doc, strlen(*doc), POLICY_CREATE, NULL,
                          NULL, NULL, err, sizeof(err));

        if (rc != POLICY_OK && rc != POLICY_EXISTS) {
            log_warnx("installing the default policies failed: %s", err);
            return;
        }
    }

    rc = store_txn_begin(r->own, 0, &txn);
    if (rc != 0) {
        return;
    }

    rc = store_meta_put(r->own, txn, STORE_META_DEFAULTS, store_id);
    if (rc != 0) {
        mdb_txn_abort(txn);
        log_warnx("recording the default policies failed: %s",
                  mdb_strerror(rc));
        return;
    }

    /* a failed commit has freed the transaction already */

    rc = mdb_txn_commit(txn);
    if (rc != 0) {
        log_warnx("recording the default policies failed: %s",
                  mdb_strerror(rc));
        return;
    }

    log_info("default threshold policies installed in shared store "
             "%016" PRIx64, store_id);
}


void
respond_policies(respond_t *r)
{
    int              rc;
    char             err[KERYU_POLICY_ERR_MAX];
    MDB_txn         *txn;
    uint64_t         version;
    respond_load_t   ld;
    detect_stats_t   ds;

    if (r->src->env == NULL) {
        return;
    }

    rc = keryu_store_txn_begin(r->src, MDB_RDONLY, &txn);
    if (rc != 0) {
        return;
    }

    rc = keryu_store_meta_get(r->src, txn, KERYU_META_CONFIG_VERSION,
                              &version);
    mdb_txn_abort(txn);

    if (rc != 0 || (r->loaded && version == r->config_version)) {
        return;
    }

    /* the version is read first: a change in between loads once more */

    r->config_version = version;
    r->loaded = 1;

    memset(&ld, 0, sizeof(respond_load_t));

    ld.set = keryu_policy_set_create();
    if (ld.set == NULL) {
        log_warnx("%s: out of memory", __func__);
        r->loaded = 0;
        return;
    }

    if (policy_each(r->src, respond_add, &ld, err, sizeof(err)) != POLICY_OK
        || ld.failed
        || keryu_policy_set_finish(ld.set, ld.err, sizeof(ld.err)) != 0)
    {
        log_warnx("threshold rules not reloaded, the stored policies do "
                  "not compile: %s", ld.failed || ld.err[0] ? ld.err : err);
        keryu_policy_set_free(ld.set);
        r->stats.policy_failures++;
        return;
    }

    if (detect_load(r->det, ld.set) != 0) {
        log_warnx("threshold rules not reloaded: out of memory");
        keryu_policy_set_free(ld.set);
        r->stats.policy_failures++;
        r->loaded = 0;
        return;
    }

    r->stats.policy_loads++;

    detect_stats(r->det, &ds);

    log_info("threshold rules loaded: %" PRIu64 ", config version %" PRIu64,
             ds.rules, version);
}


static int
respond_add(void *ctx, const char *name, size_t namelen, const char *doc,
    size_t len)
{
    respond_load_t  *ld = ctx;

    (void) name;
    (void) namelen;

    if (ld->failed) {
        return 0;
    }

    if (keryu_policy_set_add(ld->set, doc, len, ld->err, sizeof(ld->err))
        != 0)
    {
        ld->failed = 1;
    }

    return 0;
}


void
respond_batch(respond_t *r, uint64_t first, uint64_t last)
{
    int              rc;
    uint8_t          kbuf[8];
    MDB_val          key, val;
    MDB_txn         *txn;
    uint64_t         id;
    MDB_cursor      *cur;
    keryu_record_t   rec;

    if (first > last || !detect_any(r->det)) {
        return;
    }

    rc = store_txn_begin(r->own, MDB_RDONLY, &txn);
    if (rc != 0) {
        log_warnx("%s: mdb_txn_begin() failed: %s", __func__,
                  mdb_strerror(rc));
        return;
    }

    rc = mdb_cursor_open(txn, r->own->logs, &cur);
    if (rc != 0) {
        log_warnx("%s: mdb_cursor_open() failed: %s", __func__,
                  mdb_strerror(rc));
        mdb_txn_abort(txn);
        return;
    }

    keryu_store_key_encode(kbuf, first);

    key.mv_size = 8;
    key.mv_data = kbuf;

    for (rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);
         rc == 0;
         rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT))
    {
        if (key.mv_size != 8) {
            break;
        }

        id = keryu_store_key_decode(key.mv_data);

        if (id > last) {
            break;
        }

        if (store_record_read(r->own, &val, &rec, &respond_rbuf) == -1
            || !detect_wants(r->det, rec.type))
        {
            continue;
        }

        detect_event(r->det, id, &rec, respond_hit, r);
    }

    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
}


static void
respond_hit(void *ctx, const detect_hit_t *h)
{
    respond_t  *r = ctx;

    int                       rc, opened, block;
    char                      summary[ALERT_SUMMARY_MAX + 1], wbuf[32];
    const char               *what, *group;
    alert_t                   a;
    alert_raise_t             in;
    const keryu_threshold_t  *t;

    t = h->rule;

    r->stats.hits++;

    switch (t->distinct) {
    case KERYU_DISTINCT_USER:
        what = "distinct users";
        break;
    case KERYU_DISTINCT_IP:
        what = "distinct addresses";
        break;
    case KERYU_DISTINCT_PATH:
        what = "distinct paths";
        break;
    case KERYU_DISTINCT_SEGMENT:
        what = "distinct values";
        break;
    default:
        what = "events";
        break;
    }

    group = t->group == KERYU_GROUP_IP ? "ip"
            : t->group == KERYU_GROUP_USER ? "user" : "ip+user";

    block = t->block && !t->shadow;

    snprintf(summary, sizeof(summary), "%u %s%s%s from %s %s within %s%s",
             h->count, what, t->path ? " under " : "", t->path ? t->path : "",
             group, h->key, respond_duration(t->window_ms, wbuf, sizeof(wbuf)),
             t->block && t->shadow ? " (shadow: not blocked)" : "");

    memset(&in, 0, sizeof(alert_raise_t));

    in.rule = h->name;
    in.severity = t->severity;
    in.key = h->key;
    in.key_type = group;
    in.summary = summary;
    in.count = h->count;
    in.first_us = h->first_us;
    in.last_us = h->last_us;
    in.samples = h->samples;
    in.nsamples = h->nsamples;
    in.actor = RESPOND_ACTOR;

    if (block) {
        in.block = (t->block == KERYU_GROUP_IP) ? h->ip : h->user;
        in.block_ms = t->duration_ms;
        in.block_max_ms = t->max_duration_ms;
    }

    rc = respond_raise(r, &in, &a, &opened);
    if (rc != 0) {
        log_warnx("alert %s: %s %s, count %u: storing the alert failed: %s",
                  h->name, group, h->key, h->count, mdb_strerror(rc));

        /* a block does not wait for the alert that should describe it */

        if (!block) {
            return;
        }

        memset(&a, 0, sizeof(alert_t));
        snprintf(a.block, sizeof(a.block), "%s", in.block);
        a.block_s = t->duration_ms / 1000;
        a.block_expires_us = respond_now() + t->duration_ms * 1000;
    }

    if (block) {
        if (respond_block(r, h, &a) == 0) {
            log_info("alert %" PRIu64 " %s: %s %s, count %u, blocked %s for "
                     "%" PRIu64 " s", a.id, h->name, group, h->key, h->count,
                     a.block, a.block_s);
        }

    } else {
        log_info("alert %" PRIu64 " %s: %s %s, count %u", a.id, h->name,
                 group, h->key, h->count);
    }

    alert_free(&a);
}


/* writes the block of a hit, never shortening one already there */

static int
respond_block(respond_t *r, const detect_hit_t *h, const alert_t *a)
{
    int             rc;
    uint8_t         kbuf[KERYU_BLOCK_KEY_MAX],
                    vbuf[16 + KERYU_BLOCK_REASON_MAX];
    char            reason[KERYU_BLOCK_REASON_MAX + 1];
    MDB_val         key, val, cur;
    MDB_txn        *txn;
    keryu_block_t   b, old;

    if (r->src->env == NULL) {
        r->stats.block_failures++;
        log_warnx("alert %" PRIu64 " %s: no shared store, %s not blocked",
                  a->id, h->name, a->block);
        return -1;
    }

    if (h->rule->block == KERYU_GROUP_IP) {
        key.mv_size = keryu_block_key_addr(kbuf, h->family, h->addr,
                                           h->family == 4 ? 32 : 128);
    } else {
        key.mv_size = keryu_block_key_user(kbuf, h->user, h->user_len);
    }

    if (key.mv_size == 0) {
        r->stats.block_failures++;
        return -1;
    }

    key.mv_data = kbuf;

    snprintf(reason, sizeof(reason), "%s, alert %" PRIu64, h->name, a->id);

    b.created_us = respond_now();
    b.expires_us = a->block_expires_us;
    b.reason = reason;
    b.reason_len = strlen(reason);

    val.mv_size = keryu_block_encode(&b, vbuf);
    val.mv_data = vbuf;

    rc = keryu_store_txn_begin(r->src, 0, &txn);
    if (rc != 0) {
        goto failed;
    }

    rc = mdb_get(txn, r->src->blocks, &key, &cur);

    if (rc == 0 && keryu_block_decode(&old, cur.mv_data, cur.mv_size) == 0
        && (old.expires_us == 0 || old.expires_us >= b.expires_us))
    {
        mdb_txn_abort(txn);
        r->stats.blocks++;
        return 0;
    }

    rc = keryu_store_change(r->src, txn, r->src->blocks, &key, &val,
                            KERYU_META_BLOCK_VERSION);
    if (rc != 0) {
        mdb_txn_abort(txn);
        goto failed;
    }

    /* a failed commit has freed the transaction already */

    rc = mdb_txn_commit(txn);
    if (rc != 0) {
        goto failed;
    }

    r->stats.blocks++;

    return 0;

failed:

    r->stats.block_failures++;

    log_warnx("alert %" PRIu64 " %s: blocking %s failed: %s", a->id,
              h->name, a->block, keryu_store_strerror(rc));

    return -1;
}


void
respond_loss(respond_t *r, uint64_t lost, uint64_t lo, uint64_t hi)
{
    int            opened;
    char           summary[ALERT_SUMMARY_MAX + 1];
    uint64_t       now;
    alert_t        a;
    alert_raise_t  in;

    now = respond_now();

    snprintf(summary, sizeof(summary), "%" PRIu64 " records lost between "
             "sequence numbers %" PRIu64 " and %" PRIu64 " before keryud "
             "read them", lost, lo, hi);

    memset(&in, 0, sizeof(alert_raise_t));

    in.rule = "log_loss";
    in.severity = KERYU_SEVERITY_HIGH;
    in.key = "ring";
    in.key_type = "store";
    in.summary = summary;
    in.count = lost;
    in.first_us = now;
    in.last_us = now;
    in.actor = RESPOND_ACTOR;

    if (respond_raise(r, &in, &a, &opened) != 0) {
        log_warnx("alert log_loss: storing the alert failed");
        return;
    }

    alert_free(&a);
}


void
respond_fault(respond_t *r, const char *rule, const char *key,
    const char *summary, uint64_t count)
{
    int            opened;
    uint64_t       now;
    alert_t        a;
    alert_raise_t  in;

    now = respond_now();

    memset(&in, 0, sizeof(alert_raise_t));

    in.rule = rule;
    in.severity = KERYU_SEVERITY_HIGH;
    in.key = key;
    in.key_type = "system";
    in.summary = summary;
    in.count = count;
    in.first_us = now;
    in.last_us = now;
    in.actor = RESPOND_ACTOR;

    if (respond_raise(r, &in, &a, &opened) != 0) {
        log_warnx("alert %s: storing the alert failed", rule);
        return;
    }

    alert_free(&a);
}


int
respond_raise(respond_t *r, const alert_raise_t *in, alert_t *out,
    int *opened)
{
    int  rc;

    rc = alert_raise(r->own, in, respond_now(), out, opened);
    if (rc != 0) {
        r->stats.alert_failures++;
        return rc;
    }

    if (*opened) {
        r->stats.alerts_opened++;

    } else {
        r->stats.alerts_updated++;
    }

    respond_notify(r, *opened ? "alert.opened" : "alert.updated", out);

    return 0;
}


void
respond_notify(respond_t *r, const char *event, const alert_t *a)
{
    size_t          len;
    json_t         *j;
    const uint8_t  *buf;

    if (r->notify == NULL) {
        return;
    }

    j = json_new();
    if (j == NULL) {
        return;
    }

    alert_json(j, a);

    if (json_result(j, &buf, &len) == 0) {
        notify_alert(r->notify, event, keryu_severity_name(a->severity),
                     (const char *) buf, len);
    }

    json_free(j);
}


static uint64_t
respond_now(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_REALTIME, &ts);

    return (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;
}


static const char *
respond_duration(uint64_t ms, char *buf, size_t size)
{
    if (ms % 3600000 == 0) {
        snprintf(buf, size, "%" PRIu64 "h", ms / 3600000);

    } else if (ms % 60000 == 0) {
        snprintf(buf, size, "%" PRIu64 "m", ms / 60000);

    } else {
        snprintf(buf, size, "%" PRIu64 "s", ms / 1000);
    }

    return buf;
}
