/*
 * Copyright (C) Keryu Security
 *
 * The risk register behind risk.h: after each compliance run, the
 * controls that fail or warn are weighed by the sensitivity of the
 * locations they name and by the threat the records of the last
 * RISK_PERIOD_DAYS show on those locations, and by the alerts of the
 * period (those of detection rules watching the kinds of event a control
 * names) and the keys they blocked; then scored, ranked, compared with
 * the assessment before, and stored.  The records are read through the
 * by_time index from the start of the period, at most RISK_SCAN_MAX of
 * them, in the read transaction that also finds the assessment before.
 */


#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "risk.h"
#include "alert.h"
#include "keryu_policy.h"
#include "log.h"


/* one risk while an assessment is built */
typedef struct {
    const comply_result_t  *result;
    int                     sensitivity;
    uint64_t                events[KERYU_EVENT_MAX];
    uint64_t                alerts;
    uint64_t                open_alerts;
    uint64_t                blocks;
    risk_score_t            score;
    int                     prev_score;   /* -1: not in the one before */
} risk_item_t;


static int risk_scan(store_t *st, MDB_txn *txn, uint64_t since,
    uint64_t until, risk_item_t *items, size_t n, uint64_t *scanned,
    int *truncated);
static int risk_matches(const risk_item_t *it, const uint8_t *uri,
    size_t len);
static int risk_alert_counts(const evidence_t *ev, const ev_alert_t *a,
    const comply_control_t *ctl);
static int risk_cmp(const void *a, const void *b);
static const char *risk_trend(int prev, int score);


/* keryud is one thread: one buffer serves every record this file opens */
static store_rbuf_t  risk_rbuf;


void
risk_score(const risk_input_t *in, risk_score_t *out)
{
    int  sev, lik, imp;

    sev = in->severity + 1;
    sev = sev < 1 ? 1 : sev > 5 ? 5 : sev;

    imp = in->sensitivity ? (sev + in->sensitivity + 1) / 2 : sev;
    imp = imp < 1 ? 1 : imp > 5 ? 5 : imp;

    lik = in->status == COMPLY_FAIL ? 3 : 2;

    if (in->threat) {
        if (in->events == 0 && !in->open_alerts) {
            lik--;

        } else if (in->events >= 100) {
            lik += 2;

        } else if (in->events >= 10) {
            lik++;
        }

        if (in->open_alerts) {
            lik++;
        }

        if (in->blocks) {
            lik++;
        }
    }

    lik = lik < 1 ? 1 : lik > 5 ? 5 : lik;

    out->likelihood = lik;
    out->impact = imp;
    out->score = lik * imp;
    out->level = out->score >= 20 ? "critical"
                 : out->score >= 10 ? "high"
                 : out->score >= 5 ? "medium" : "low";
}


int
risk_assess_store(comply_t *c, const comply_run_t *run,
    const evidence_t *ev)
{
    int                rc, truncated, level;
    char               tbuf[TIME_STR_MAX], err[64], *prev;
    size_t             i, k, n, len, prev_len;
    json_t            *j;
    jtree_t           *pt, *prisks, *pr;
    int64_t            num;
    MDB_txn           *txn;
    uint64_t           id, prev_id, since, until, scanned, total, ev_n;
    unsigned           counts[4];
    const char        *pid, *sev, *pat;
    risk_item_t       *items;
    risk_input_t       in;
    const uint8_t     *buf;
    const ev_alert_t  *a;
    const comply_control_t  *ctl;

    until = run->at_us;
    since = until > RISK_PERIOD_DAYS * 86400000000ULL
            ? until - RISK_PERIOD_DAYS * 86400000000ULL : 0;

    items = calloc(run->nresults ? run->nresults : 1, sizeof(risk_item_t));
    if (items == NULL) {
        log_warnx("risk: out of memory");
        return -1;
    }

    n = 0;

    for (i = 0; i < run->nresults; i++) {
        if (run->results[i].status == COMPLY_PASS) {
            continue;
        }

        items[n].result = &run->results[i];

        for (k = 0; k < run->results[i].ntargets; k++) {
            level = comply_zone_level(c->cat, run->results[i].targets[k]);

            if (level > items[n].sensitivity) {
                items[n].sensitivity = level;
            }
        }

        n++;
    }

    /* alerts raised in the period, and those still open */

    for (i = 0; i < ev->nalerts; i++) {
        a = &ev->alerts[i];

        if (a->created_us < since) {
            continue;
        }

        for (k = 0; k < n; k++) {
            if (risk_alert_counts(ev, a, items[k].result->control)) {
                items[k].alerts++;
                items[k].open_alerts += a->status != ALERT_RESOLVED;
                items[k].blocks += a->blocked != 0;
            }
        }
    }

    rc = store_txn_begin(c->own, MDB_RDONLY, &txn);
    if (rc != 0) {
        goto failed;
    }

    /* XXX on the event loop: a full scan holds the API for up to ~0.5 s */

    rc = risk_scan(c->own, txn, since, until, items, n, &scanned,
                   &truncated);
    if (rc != 0) {
        mdb_txn_abort(txn);
        goto failed;
    }

    prev = comply_get_last(txn, c->own->risk, &prev_id, &prev_len, &rc);

    mdb_txn_abort(txn);

    if (rc != 0) {
        goto failed;
    }

    pt = prev ? jtree_parse(prev, prev_len, err, sizeof(err)) : NULL;
    prisks = jtree_get(pt, "risks");

    for (i = 0; i < n; i++) {
        ctl = items[i].result->control;

        memset(&in, 0, sizeof(risk_input_t));

        in.status = items[i].result->status;
        in.severity = ctl->severity;
        in.sensitivity = items[i].sensitivity;
        in.threat = ctl->threat != 0;
        in.open_alerts = items[i].open_alerts != 0;
        in.blocks = items[i].blocks != 0;

        for (k = 0; k < KERYU_EVENT_MAX; k++) {
            in.events += items[i].events[k];
        }

        in.events += items[i].alerts;

        risk_score(&in, &items[i].score);

        items[i].prev_score = -1;

        for (k = 0; k < jtree_len(prisks); k++) {
            pr = jtree_at(prisks, k);
            pid = jtree_get_string(pr, "control");

            if (pid && strcmp(pid, ctl->id) == 0) {
                if (jtree_int(jtree_get(pr, "score"), &num) == 0) {
                    items[i].prev_score = (int) num;
                }

                break;
            }
        }
    }

    qsort(items, n, sizeof(risk_item_t), risk_cmp);

    rc = store_txn_begin(c->own, 0, &txn);
    if (rc != 0) {
        jtree_free(pt);
        free(prev);
        goto failed;
    }

    if ((rc = comply_next_id(c->own, txn, RISK_META_NEXT, &id))
        || (rc = comply_trim(txn, c->own->risk, RISK_KEEP)))
    {
        goto txn_abort;
    }

    j = json_new();
    if (j == NULL) {
        rc = ENOMEM;
        goto txn_abort;
    }

    total = 0;
    memset(counts, 0, sizeof(counts));

    for (i = 0; i < n; i++) {
        total += (uint64_t) items[i].score.score;
        counts[items[i].score.score >= 20 ? 0
               : items[i].score.score >= 10 ? 1
               : items[i].score.score >= 5 ? 2 : 3]++;
    }

    json_map_open(j);
    json_key(j, "id");
    json_uint(j, id);
    json_key(j, "assessed_at");
    json_string(j, (uint8_t *) tbuf, time_format(until, tbuf));
    json_key(j, "run");
    json_uint(j, run->id);

    json_key(j, "period");
    json_map_open(j);
    json_key(j, "since");
    json_string(j, (uint8_t *) tbuf, time_format(since, tbuf));
    json_key(j, "until");
    json_string(j, (uint8_t *) tbuf, time_format(until, tbuf));
    json_key(j, "records_read");
    json_uint(j, scanned);
    json_key(j, "truncated");
    json_bool(j, truncated);
    json_map_close(j);

    json_key(j, "formula");
    json_cstring(j, "score = likelihood x impact, each 1 to 5; impact from "
                    "the control's severity and the sensitivity of the "
                    "locations it names, likelihood from its status and "
                    "the threat the period's records show (sidecar "
                    "README, Risk)");

    json_key(j, "total");
    json_uint(j, total);

    json_key(j, "counts");
    json_map_open(j);
    json_key(j, "critical");
    json_uint(j, counts[0]);
    json_key(j, "high");
    json_uint(j, counts[1]);
    json_key(j, "medium");
    json_uint(j, counts[2]);
    json_key(j, "low");
    json_uint(j, counts[3]);
    json_map_close(j);

    json_key(j, "previous");

    if (pt) {
        pat = jtree_get_string(pt, "assessed_at");

        json_map_open(j);
        json_key(j, "id");
        json_uint(j, prev_id);
        json_key(j, "assessed_at");
        json_cstring(j, pat ? pat : "");
        json_key(j, "total");

        if (jtree_int(jtree_get(pt, "total"), &num) == 0 && num >= 0) {
            json_uint(j, (uint64_t) num);
            json_map_close(j);
            json_key(j, "trend");
            json_cstring(j, risk_trend((int) num, (int) total));

        } else {
            json_null(j);
            json_map_close(j);
            json_key(j, "trend");
            json_cstring(j, "new");
        }

    } else {
        json_null(j);
        json_key(j, "trend");
        json_cstring(j, "new");
    }

    json_key(j, "risks");
    json_array_open(j);

    for (i = 0; i < n; i++) {
        ctl = items[i].result->control;
        sev = keryu_severity_name(ctl->severity);

        json_map_open(j);
        json_key(j, "rank");
        json_uint(j, i + 1);
        json_key(j, "control");
        json_cstring(j, ctl->id);
        json_key(j, "title");
        json_cstring(j, ctl->title);
        json_key(j, "status");
        json_cstring(j, comply_status_name(items[i].result->status));
        json_key(j, "severity");
        json_cstring(j, sev ? sev : "medium");
        json_key(j, "likelihood");
        json_uint(j, (uint64_t) items[i].score.likelihood);
        json_key(j, "impact");
        json_uint(j, (uint64_t) items[i].score.impact);
        json_key(j, "score");
        json_uint(j, (uint64_t) items[i].score.score);
        json_key(j, "level");
        json_cstring(j, items[i].score.level);

        json_key(j, "locations");
        json_array_open(j);

        for (k = 0; k < items[i].result->ntargets; k++) {
            json_cstring(j, items[i].result->targets[k]);
        }

        json_array_close(j);

        json_key(j, "sensitivity");

        if (items[i].sensitivity) {
            json_uint(j, (uint64_t) items[i].sensitivity);

        } else {
            json_null(j);
        }

        json_key(j, "threat");
        json_map_open(j);

        ev_n = 0;

        for (k = 0; k < KERYU_EVENT_MAX; k++) {
            if (ctl->threat & (1u << k)) {
                json_key(j, keryu_event_name((unsigned) k));
                json_uint(j, items[i].events[k]);
                ev_n++;
            }
        }

        if (ctl->threat) {
            json_key(j, "alerts");
            json_uint(j, items[i].alerts);
            json_key(j, "open_alerts");
            json_uint(j, items[i].open_alerts);
            json_key(j, "blocks");
            json_uint(j, items[i].blocks);
            ev_n++;
        }

        json_map_close(j);

        json_key(j, "trend");
        json_cstring(j, risk_trend(items[i].prev_score,
                                   items[i].score.score));
        json_key(j, "previous_score");

        if (items[i].prev_score >= 0) {
            json_uint(j, (uint64_t) items[i].prev_score);

        } else {
            json_null(j);
        }

        json_key(j, "remediation");
        json_cstring(j, items[i].result->remediation);
        json_map_close(j);
    }

    json_array_close(j);

    /* risks of the assessment before that are gone */

    json_key(j, "closed");
    json_array_open(j);

    for (k = 0; k < jtree_len(prisks); k++) {
        pr = jtree_at(prisks, k);
        pid = jtree_get_string(pr, "control");

        if (pid == NULL) {
            continue;
        }

        for (i = 0; i < n; i++) {
            if (strcmp(items[i].result->control->id, pid) == 0) {
                break;
            }
        }

        if (i < n) {
            continue;
        }

        json_map_open(j);
        json_key(j, "control");
        json_cstring(j, pid);
        json_key(j, "title");
        json_cstring(j, jtree_get_string(pr, "title")
                        ? jtree_get_string(pr, "title") : "");
        json_key(j, "previous_score");

        if (jtree_int(jtree_get(pr, "score"), &num) == 0 && num >= 0) {
            json_uint(j, (uint64_t) num);

        } else {
            json_null(j);
        }

        json_map_close(j);
    }

    json_array_close(j);
    json_map_close(j);

    jtree_free(pt);
    free(prev);

    if (json_result(j, &buf, &len) != 0) {
        log_warnx("risk: %s", json_error(j));
        json_free(j);
        rc = EINVAL;
        goto txn_abort;
    }

    rc = comply_put(txn, c->own->risk, id, buf, len);

    json_free(j);

    if (rc != 0) {
        goto txn_abort;
    }

    rc = mdb_txn_commit(txn);
    if (rc != 0) {
        goto failed;
    }

    free(items);

    log_debug("%s: assessment %llu, %zu risks, total %llu", __func__,
              (unsigned long long) id, n, (unsigned long long) total);

    return 0;

txn_abort:

    mdb_txn_abort(txn);

failed:

    free(items);

    log_warnx("risk: storing the assessment failed: %s", mdb_strerror(rc));

    return rc;
}



/*
 * whether alert a is threat evidence for ctl: any alert for a control
 * that names "alerts", else one of a detection rule that watches an event
 * type the control names (or every type)
 */

static int
risk_alert_counts(const evidence_t *ev, const ev_alert_t *a,
    const comply_control_t *ctl)
{
    size_t  i;

    if (ctl->threat & COMPLY_THREAT_ALERTS) {
        return 1;
    }

    if ((ctl->threat & ~COMPLY_THREAT_ALERTS) == 0) {
        return 0;
    }

    for (i = 0; i < ev->nrules; i++) {
        if (strcmp(ev->rules[i].name, a->rule) == 0) {
            return ev->rules[i].types == 0
                   || (ev->rules[i].types & ctl->threat) != 0;
        }
    }

    return 0;
}

/*
 * counts the records of the period whose type a risk's control names, on
 * the locations its result names, or anywhere for one that names none
 */

static int
risk_scan(store_t *st, MDB_txn *txn, uint64_t since, uint64_t until,
    risk_item_t *items, size_t n, uint64_t *scanned, int *truncated)
{
    int              rc;
    size_t           i;
    uint8_t          kbuf[8];
    MDB_val          key, val, lkey, lval;
    uint32_t         want, bit;
    MDB_cursor      *cur;
    keryu_record_t   rec;

    *scanned = 0;
    *truncated = 0;

    want = 0;

    for (i = 0; i < n; i++) {
        want |= items[i].result->control->threat & ~COMPLY_THREAT_ALERTS;
    }

    if (want == 0) {
        return 0;
    }

    rc = mdb_cursor_open(txn, st->by_time, &cur);
    if (rc != 0) {
        return rc;
    }

    keryu_store_key_encode(kbuf, since);

    key.mv_size = 8;
    key.mv_data = kbuf;

    for (rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);
         rc == 0;
         rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT))
    {
        if (key.mv_size != 8 || val.mv_size != 8) {
            rc = MDB_CORRUPTED;
            break;
        }

        if (keryu_store_key_decode(key.mv_data) >= until) {
            rc = MDB_NOTFOUND;
            break;
        }

        if (++*scanned > RISK_SCAN_MAX) {
            *truncated = 1;
            rc = MDB_NOTFOUND;
            break;
        }

        lkey = val;

        if (mdb_get(txn, st->logs, &lkey, &lval) != 0
            || store_record_read(st, &lval, &rec, &risk_rbuf) == -1
            || rec.type >= KERYU_EVENT_MAX)
        {
            continue;
        }

        bit = 1u << rec.type;

        if (!(want & bit)) {
            continue;
        }

        for (i = 0; i < n; i++) {
            if ((items[i].result->control->threat & bit)
                && risk_matches(&items[i], rec.uri.data, rec.uri.len))
            {
                items[i].events[rec.type]++;
            }
        }
    }

    mdb_cursor_close(cur);

    return rc == MDB_NOTFOUND ? 0 : rc;
}


/*
 * a record's path against the locations a result names, as nginx picks
 * them: a prefix, or an exact match; a regular expression names no
 * literal path and matches nothing here
 */

static int
risk_matches(const risk_item_t *it, const uint8_t *uri, size_t len)
{
    int                     how;
    size_t                  k, plen, llen;
    const char             *lpath;
    const uint8_t          *q;
    const comply_result_t  *r = it->result;

    if (r->ntargets == 0) {
        return 1;
    }

    q = memchr(uri, '?', len);
    plen = q ? (size_t) (q - uri) : len;

    for (k = 0; k < r->ntargets; k++) {
        how = evidence_location_path(r->targets[k], &lpath, &llen);

        if ((how == 1 && llen <= plen && memcmp(uri, lpath, llen) == 0)
            || (how == 2 && llen == plen && memcmp(uri, lpath, llen) == 0))
        {
            return 1;
        }
    }

    return 0;
}


static int
risk_cmp(const void *a, const void *b)
{
    const risk_item_t  *x = a, *y = b;

    if (x->score.score != y->score.score) {
        return x->score.score > y->score.score ? -1 : 1;
    }

    if (x->score.impact != y->score.impact) {
        return x->score.impact > y->score.impact ? -1 : 1;
    }

    return strcmp(x->result->control->id, y->result->control->id);
}


static const char *
risk_trend(int prev, int score)
{
    if (prev < 0) {
        return "new";
    }

    return score > prev ? "up" : score < prev ? "down" : "same";
}


char *
risk_latest(store_t *st, MDB_txn *txn, size_t *len, int *rc)
{
    uint64_t  id;

    return comply_get_last(txn, st->risk, &id, len, rc);
}
