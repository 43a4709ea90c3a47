/*
 * Copyright (C) Keryu Security
 *
 * Audits and their findings (audit.h).  An audit is kept as the JSON the
 * API shows, with "next_finding" besides, and read back through jtree.h;
 * a value that does not read back is reported, never guessed at.  Runs
 * happen in one write transaction each: the audit is read, the controls'
 * results applied, and the audit written back, so that two runs of one
 * audit cannot lose each other's findings.
 */


#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit.h"
#include "keryu_policy.h"
#include "log.h"


static const char  *audit_schedules[] = { "none", "daily", "weekly",
                                          "monthly", "continuous" };
static const char  *audit_findings[] = { NULL, "open", "accepted", "fixed" };


static void audit_time_json(json_t *j, const char *key, uint64_t us);
static uint64_t audit_time_get(const jtree_t *v, const char *key);
static void audit_str_get(const jtree_t *v, const char *key, char *buf,
    size_t size);
static int audit_finding_decode(audit_finding_t *f, const jtree_t *v);
static audit_finding_t *audit_finding_find(audit_t *a, const char *control);
static int audit_finding_set_evidence(audit_finding_t *f,
    const comply_result_t *r);


const char *
audit_schedule_name(int schedule)
{
    return (schedule >= AUDIT_NONE && schedule <= AUDIT_CONTINUOUS)
           ? audit_schedules[schedule] : "none";
}


int
audit_schedule_parse(const char *name)
{
    int  i;

    for (i = AUDIT_NONE; i <= AUDIT_CONTINUOUS; i++) {
        if (strcmp(name, audit_schedules[i]) == 0) {
            return i;
        }
    }

    return -1;
}


const char *
audit_finding_name(int status)
{
    return (status >= FINDING_OPEN && status <= FINDING_FIXED)
           ? audit_findings[status] : "open";
}


int
audit_finding_parse(const char *name)
{
    int  i;

    for (i = FINDING_OPEN; i <= FINDING_FIXED; i++) {
        if (strcmp(name, audit_findings[i]) == 0) {
            return i;
        }
    }

    return -1;
}


int
audit_scope_valid(const comply_catalogue_t *cat, const char *scope)
{
    return strcmp(scope, "all") == 0
           || comply_standard_index(cat, scope) >= 0;
}


/* a calendar month later for monthly, in UTC */

uint64_t
audit_next(int schedule, uint64_t from_us)
{
    time_t     t;
    struct tm  tm;

    switch (schedule) {

    case AUDIT_DAILY:
        return from_us + 86400ULL * 1000000;

    case AUDIT_WEEKLY:
        return from_us + 7 * 86400ULL * 1000000;

    case AUDIT_MONTHLY:
        t = (time_t) (from_us / 1000000);

        if (gmtime_r(&t, &tm) == NULL) {
            return from_us + 30 * 86400ULL * 1000000;
        }

        tm.tm_mon++;
        t = timegm(&tm);

        return (uint64_t) t * 1000000 + from_us % 1000000;

    default:
        return 0;
    }
}


/* ---- JSON ---- */


static void
audit_time_json(json_t *j, const char *key, uint64_t us)
{
    char  tbuf[TIME_STR_MAX];

    json_key(j, key);

    if (us) {
        json_string(j, (uint8_t *) tbuf, time_format(us, tbuf));

    } else {
        json_null(j);
    }
}


void
audit_json(json_t *j, const audit_t *a, int mode)
{
    int                     worst;
    size_t                  i;
    unsigned                counts[4];
    const char             *sev;
    const audit_finding_t  *f;

    memset(counts, 0, sizeof(counts));
    worst = COMPLY_PASS;

    for (i = 0; i < a->nfindings; i++) {
        if (a->findings[i].status >= FINDING_OPEN
            && a->findings[i].status <= FINDING_FIXED)
        {
            counts[a->findings[i].status]++;
        }

        if (a->findings[i].status == FINDING_OPEN
            && a->findings[i].result > worst)
        {
            worst = a->findings[i].result;
        }
    }

    json_map_open(j);
    json_key(j, "id");
    json_uint(j, a->id);
    json_key(j, "name");
    json_cstring(j, a->name);
    json_key(j, "scope");
    json_cstring(j, a->scope);
    json_key(j, "schedule");
    json_cstring(j, audit_schedule_name(a->schedule));
    json_key(j, "owner");

    if (a->owner[0]) {
        json_cstring(j, a->owner);

    } else {
        json_null(j);
    }

    json_key(j, "created_by");
    json_cstring(j, a->created_by);
    audit_time_json(j, "created_at", a->created_us);
    audit_time_json(j, "updated_at", a->updated_us);
    audit_time_json(j, "last_run_at", a->last_run_us);
    audit_time_json(j, "next_run_at", a->next_run_us);
    json_key(j, "runs");
    json_uint(j, a->runs);

    /* the worst open finding's; an accepted one is a risk taken knowingly */

    if (mode != AUDIT_JSON_STORE) {
        json_key(j, "status");

        if (a->runs == 0) {
            json_cstring(j, "not_run");

        } else {
            json_cstring(j, comply_status_name(worst));
        }
    }

    json_key(j, "summary");
    json_map_open(j);
    json_key(j, "open");
    json_uint(j, counts[FINDING_OPEN]);
    json_key(j, "accepted");
    json_uint(j, counts[FINDING_ACCEPTED]);
    json_key(j, "fixed");
    json_uint(j, counts[FINDING_FIXED]);
    json_map_close(j);

    if (mode == AUDIT_JSON_SUMMARY) {
        json_map_close(j);
        return;
    }

    if (mode == AUDIT_JSON_STORE) {
        json_key(j, "next_finding");
        json_uint(j, a->next_finding);
    }

    json_key(j, "findings");
    json_array_open(j);

    for (i = 0; i < a->nfindings; i++) {
        f = &a->findings[i];
        sev = keryu_severity_name(f->severity);

        json_map_open(j);
        json_key(j, "id");
        json_uint(j, f->id);
        json_key(j, "control");
        json_cstring(j, f->control);
        json_key(j, "title");
        json_cstring(j, f->title);
        json_key(j, "severity");
        json_cstring(j, sev ? sev : "medium");
        json_key(j, "result");
        json_cstring(j, comply_status_name(f->result));
        json_key(j, "status");
        json_cstring(j, audit_finding_name(f->status));
        if (mode == AUDIT_JSON_STORE) {
            json_key(j, "evidence_json");
            json_string(j, (const uint8_t *) f->evidence, f->evidence_len);

        } else {
            json_key(j, "evidence");
            json_details(j, (const uint8_t *) f->evidence, f->evidence_len);
        }

        json_key(j, "remediation");
        json_cstring(j, f->remediation);
        audit_time_json(j, "first_seen", f->first_us);
        audit_time_json(j, "last_seen", f->last_us);
        audit_time_json(j, "updated_at", f->updated_us);
        json_key(j, "updated_by");
        json_cstring(j, f->updated_by);
        json_key(j, "note");
        json_cstring(j, f->note);
        json_map_close(j);
    }

    json_array_close(j);
    json_map_close(j);
}


static uint64_t
audit_time_get(const jtree_t *v, const char *key)
{
    uint64_t     us;
    const char  *s;

    s = jtree_get_string(v, key);

    return (s && time_parse(s, &us) == 0) ? us : 0;
}


static void
audit_str_get(const jtree_t *v, const char *key, char *buf, size_t size)
{
    const char  *s;

    s = jtree_get_string(v, key);

    snprintf(buf, size, "%s", s ? s : "");
}


int
audit_decode(audit_t *a, const char *json, size_t len)
{
    char           err[64];
    size_t         i, n;
    int64_t        num;
    jtree_t       *t, *fl;
    const char    *s;

    memset(a, 0, sizeof(audit_t));

    t = jtree_parse(json, len, err, sizeof(err));
    if (t == NULL) {
        return -1;
    }

    if (jtree_int(jtree_get(t, "id"), &num) == -1 || num < 1) {
        goto failed;
    }

    a->id = (uint64_t) num;

    audit_str_get(t, "name", a->name, sizeof(a->name));
    audit_str_get(t, "scope", a->scope, sizeof(a->scope));
    audit_str_get(t, "owner", a->owner, sizeof(a->owner));
    audit_str_get(t, "created_by", a->created_by, sizeof(a->created_by));

    s = jtree_get_string(t, "schedule");
    a->schedule = s ? audit_schedule_parse(s) : AUDIT_NONE;
    a->schedule = a->schedule == -1 ? AUDIT_NONE : a->schedule;

    a->created_us = audit_time_get(t, "created_at");
    a->updated_us = audit_time_get(t, "updated_at");
    a->last_run_us = audit_time_get(t, "last_run_at");
    a->next_run_us = audit_time_get(t, "next_run_at");

    if (jtree_int(jtree_get(t, "runs"), &num) == 0 && num >= 0) {
        a->runs = (uint64_t) num;
    }

    if (jtree_int(jtree_get(t, "next_finding"), &num) == 0 && num >= 0) {
        a->next_finding = (uint64_t) num;
    }

    fl = jtree_get(t, "findings");
    n = jtree_len(fl);

    if (n) {
        a->findings = calloc(n, sizeof(audit_finding_t));
        if (a->findings == NULL) {
            goto failed;
        }
    }

    for (i = 0; i < n; i++) {
        if (audit_finding_decode(&a->findings[a->nfindings], jtree_at(fl, i))
            == -1)
        {
            goto failed;
        }

        a->nfindings++;
    }

    jtree_free(t);

    return 0;

failed:

    jtree_free(t);
    audit_free(a);

    return -1;
}


static int
audit_finding_decode(audit_finding_t *f, const jtree_t *v)
{
    int          st;
    int64_t      num;
    const char  *s;

    if (jtree_int(jtree_get(v, "id"), &num) == -1 || num < 1) {
        return -1;
    }

    f->id = (uint64_t) num;

    audit_str_get(v, "control", f->control, sizeof(f->control));
    audit_str_get(v, "title", f->title, sizeof(f->title));
    audit_str_get(v, "remediation", f->remediation, sizeof(f->remediation));
    audit_str_get(v, "updated_by", f->updated_by, sizeof(f->updated_by));
    audit_str_get(v, "note", f->note, sizeof(f->note));

    s = jtree_get_string(v, "severity");
    f->severity = s ? keryu_severity_parse(s) : -1;
    f->severity = f->severity == -1 ? KERYU_SEVERITY_MEDIUM : f->severity;

    s = jtree_get_string(v, "result");
    st = s ? comply_status_parse(s) : -1;
    f->result = st == -1 ? COMPLY_WARN : st;

    s = jtree_get_string(v, "status");
    st = s ? audit_finding_parse(s) : -1;
    f->status = st == -1 ? FINDING_OPEN : st;

    f->first_us = audit_time_get(v, "first_seen");
    f->last_us = audit_time_get(v, "last_seen");
    f->updated_us = audit_time_get(v, "updated_at");

    /* stored, the evidence object is a string of its JSON */

    s = jtree_get_string(v, "evidence_json");

    f->evidence = strdup(s ? s : "{}");
    if (f->evidence == NULL) {
        return -1;
    }

    f->evidence_len = strlen(f->evidence);

    return 0;
}


static audit_finding_t *
audit_finding_find(audit_t *a, const char *control)
{
    size_t  i;

    for (i = 0; i < a->nfindings; i++) {
        if (strcmp(a->findings[i].control, control) == 0) {
            return &a->findings[i];
        }
    }

    return NULL;
}


static int
audit_finding_set_evidence(audit_finding_t *f, const comply_result_t *r)
{
    char  *p;

    p = malloc(r->evidence_len + 1);
    if (p == NULL) {
        return -1;
    }

    memcpy(p, r->evidence, r->evidence_len);
    p[r->evidence_len] = '\0';

    free(f->evidence);
    f->evidence = p;
    f->evidence_len = r->evidence_len;

    return 0;
}


void
audit_free(audit_t *a)
{
    size_t  i;

    for (i = 0; i < a->nfindings; i++) {
        free(a->findings[i].evidence);
    }

    free(a->findings);

    a->findings = NULL;
    a->nfindings = 0;
}


/* ---- runs ---- */


int
audit_apply(audit_t *a, const comply_catalogue_t *cat,
    const comply_run_t *run, uint64_t now_us)
{
    int                     standard;
    size_t                  i;
    audit_finding_t        *f, *nf;
    const comply_result_t  *r;

    standard = strcmp(a->scope, "all") == 0
               ? -1 : comply_standard_index(cat, a->scope);

    /* room for a finding per control: there is never more than that */

    nf = realloc(a->findings, (a->nfindings + run->nresults + 1)
                              * sizeof(audit_finding_t));
    if (nf == NULL) {
        return -1;
    }

    a->findings = nf;

    for (i = 0; i < run->nresults; i++) {
        r = &run->results[i];

        if (standard >= 0 && !(r->control->standards & (1u << standard))) {
            continue;
        }

        f = audit_finding_find(a, r->control->id);

        if (r->status == COMPLY_PASS) {
            if (f && f->status != FINDING_FIXED) {
                f->status = FINDING_FIXED;
                f->updated_us = now_us;
                snprintf(f->updated_by, sizeof(f->updated_by), "keryud");
            }

            continue;
        }

        if (f == NULL) {
            f = &a->findings[a->nfindings++];
            memset(f, 0, sizeof(audit_finding_t));

            f->id = a->next_finding ? a->next_finding : 1;
            a->next_finding = f->id + 1;

            snprintf(f->control, sizeof(f->control), "%s", r->control->id);
            f->status = FINDING_OPEN;
            f->first_us = now_us;
            f->updated_us = now_us;
            snprintf(f->updated_by, sizeof(f->updated_by), "keryud");

        } else if (f->status == FINDING_FIXED) {

            /* the control fails again: what was fixed is open again */

            f->status = FINDING_OPEN;
            f->updated_us = now_us;
            snprintf(f->updated_by, sizeof(f->updated_by), "keryud");
        }

        snprintf(f->title, sizeof(f->title), "%s", r->control->title);
        snprintf(f->remediation, sizeof(f->remediation), "%s",
                 r->remediation);
        f->severity = r->control->severity;
        f->result = r->status;
        f->last_us = now_us;

        if (audit_finding_set_evidence(f, r) == -1) {
            return -1;
        }
    }

    a->runs++;
    a->last_run_us = now_us;
    a->next_run_us = audit_next(a->schedule, now_us);

    return 0;
}


int
audit_get(store_t *st, MDB_txn *txn, uint64_t id, audit_t *a)
{
    int      rc;
    char    *doc;
    size_t   len;

    memset(a, 0, sizeof(audit_t));

    doc = comply_get(txn, st->audits, id, &len, &rc);
    if (doc == NULL) {
        return rc;
    }

    rc = audit_decode(a, doc, len) == 0 ? 0 : AUDIT_EDECODE;

    free(doc);

    return rc;
}


int
audit_put(store_t *st, MDB_txn *txn, audit_t *a)
{
    int              rc;
    size_t           len;
    json_t          *j;
    const uint8_t   *buf;

    if (a->id == 0) {
        rc = comply_next_id(st, txn, AUDIT_META_NEXT, &a->id);
        if (rc != 0) {
            return rc;
        }
    }

    j = json_new();
    if (j == NULL) {
        return ENOMEM;
    }

    audit_json(j, a, AUDIT_JSON_STORE);

    if (json_result(j, &buf, &len) != 0) {
        log_warnx("audit %llu: %s", (unsigned long long) a->id,
                  json_error(j));
        json_free(j);
        return EINVAL;
    }

    rc = comply_put(txn, st->audits, a->id, buf, len);

    json_free(j);

    return rc;
}


int
audit_delete(store_t *st, uint64_t id)
{
    int       rc;
    uint8_t   kbuf[8];
    MDB_val   key;
    MDB_txn  *txn;

    rc = store_txn_begin(st, 0, &txn);
    if (rc != 0) {
        return rc;
    }

    keryu_store_key_encode(kbuf, id);

    key.mv_size = 8;
    key.mv_data = kbuf;

    rc = mdb_del(txn, st->audits, &key, NULL);
    if (rc != 0) {
        mdb_txn_abort(txn);
        return rc;
    }

    return mdb_txn_commit(txn);
}


int
audit_list(store_t *st, MDB_txn *txn, unsigned limit, audit_each_pt handler,
    void *ctx)
{
    int          rc;
    unsigned     n;
    audit_t      a;
    MDB_val      key, val;
    MDB_cursor  *cur;

    rc = mdb_cursor_open(txn, st->audits, &cur);
    if (rc != 0) {
        return rc;
    }

    n = 0;

    for (rc = mdb_cursor_get(cur, &key, &val, MDB_LAST);
         rc == 0 && n < limit;
         rc = mdb_cursor_get(cur, &key, &val, MDB_PREV))
    {
        if (audit_decode(&a, val.mv_data, val.mv_size) != 0) {
            log_warnx("audit: a stored audit does not decode");
            continue;
        }

        n++;

        rc = handler(ctx, &a);

        audit_free(&a);

        if (rc != 0) {
            rc = MDB_NOTFOUND;
            break;
        }
    }

    mdb_cursor_close(cur);

    return (rc == MDB_NOTFOUND || rc == 0) ? 0 : rc;
}


int
audit_run(comply_t *c, uint64_t id, audit_t *out)
{
    int            rc;
    audit_t        a;
    MDB_txn       *txn;
    uint64_t       now;
    evidence_t     ev;
    comply_run_t   run;

    /* evidence is gathered before the write transaction: it reads both */

    if (comply_evaluate_now(c, &run, &ev) == -1) {
        return -1;
    }

    evidence_free(&ev);

    now = comply_now();

    rc = store_txn_begin(c->own, 0, &txn);
    if (rc != 0) {
        comply_run_free(&run);
        return rc;
    }

    rc = audit_get(c->own, txn, id, &a);
    if (rc != 0) {
        goto txn_abort;
    }

    if (audit_apply(&a, c->cat, &run, now) == -1) {
        audit_free(&a);
        rc = ENOMEM;
        goto txn_abort;
    }

    rc = audit_put(c->own, txn, &a);
    if (rc != 0) {
        audit_free(&a);
        goto txn_abort;
    }

    rc = mdb_txn_commit(txn);

    comply_run_free(&run);

    if (rc != 0) {
        audit_free(&a);
        return rc;
    }

    log_info("audit %llu \"%s\": run %llu, %zu findings",
             (unsigned long long) a.id, a.name, (unsigned long long) a.runs,
             a.nfindings);

    if (out) {
        *out = a;

    } else {
        audit_free(&a);
    }

    return 0;

txn_abort:

    mdb_txn_abort(txn);
    comply_run_free(&run);

    return rc;
}


/* the ids of the scheduled audits that are due, and the next due time */

typedef struct {
    uint64_t            now;
    uint64_t            next;
    int                 continuous;       /* collect "continuous" ones */
    size_t              n;
    uint64_t            ids[AUDIT_LIST_MAX];
} audit_due_t;


static int
audit_due_item(void *ctx, const audit_t *a)
{
    audit_due_t  *d = ctx;

    if (d->continuous) {
        if (a->schedule == AUDIT_CONTINUOUS) {
            d->ids[d->n++] = a->id;
        }

        return 0;
    }

    if (a->schedule == AUDIT_NONE || a->next_run_us == 0) {
        return 0;
    }

    if (a->next_run_us <= d->now) {
        d->ids[d->n++] = a->id;

    } else if (d->next == 0 || a->next_run_us < d->next) {
        d->next = a->next_run_us;
    }

    return 0;
}



/* the audits audit_due_item() picks, into d; returns 0 or -1 after logging */

static int
audit_collect(comply_t *c, audit_due_t *d)
{
    int       rc;
    MDB_txn  *txn;

    rc = store_txn_begin(c->own, MDB_RDONLY, &txn);
    if (rc != 0) {
        log_warnx("audit: mdb_txn_begin() failed: %s", mdb_strerror(rc));
        return -1;
    }

    rc = audit_list(c->own, txn, AUDIT_LIST_MAX, audit_due_item, d);

    mdb_txn_abort(txn);

    if (rc != 0) {
        log_warnx("audit: reading audits failed: %s", mdb_strerror(rc));
        return -1;
    }

    return 0;
}


static void
audit_run_one(comply_t *c, uint64_t id)
{
    int  rc;

    rc = audit_run(c, id, NULL);

    if (rc != 0) {
        log_warnx("audit %llu: the scheduled run failed: %s",
                  (unsigned long long) id,
                  rc == -1 ? "evaluation failed" : mdb_strerror(rc));
    }
}


void
audit_due(comply_t *c, uint64_t now_us)
{
    size_t        i;
    audit_due_t  *d;

    if (c->audit_due_us && now_us < c->audit_due_us) {
        return;
    }

    d = calloc(1, sizeof(audit_due_t));
    if (d == NULL) {
        return;
    }

    d->now = now_us;

    if (audit_collect(c, d) == -1) {
        free(d);
        return;
    }

    /* nothing scheduled: look again in an hour, or when one changes */

    c->audit_due_us = d->next ? d->next : now_us + 3600ULL * 1000000;

    for (i = 0; i < d->n; i++) {
        audit_run_one(c, d->ids[i]);

        /* the audit's next run may come before what was found */

        c->audit_due_us = 0;
    }

    free(d);
}


void
audit_continuous(comply_t *c)
{
    size_t        i;
    audit_due_t  *d;

    d = calloc(1, sizeof(audit_due_t));
    if (d == NULL) {
        return;
    }

    d->continuous = 1;

    if (audit_collect(c, d) == 0) {
        for (i = 0; i < d->n; i++) {
            audit_run_one(c, d->ids[i]);
        }
    }

    free(d);
}
