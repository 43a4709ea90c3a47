/*
 * Copyright (C) Keryu Security
 *
 * The compliance endpoints (comply_api.h), in api.c's manner: errors are
 * {"error":"<reason>"} with "parameter" or "field" naming what was wrong,
 * nothing is changed by a refused request, and a change is answered
 * before it is recorded.  Request bodies are JSON objects read through
 * jtree.h; an unknown member is refused, so that a misspelt field is not
 * silently ignored.
 */


#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "comply_api.h"
#include "audit.h"
#include "change.h"
#include "log.h"
#include "report.h"
#include "risk.h"


#define CAPI_BODY_MAX      (1024 * 1024)
#define CAPI_INTERNAL      "{\"error\":\"internal error\"}"


static int capi_ready(comply_t *c, struct evhttp_request *req);
static void capi_send(struct evhttp_request *req, int code,
    const char *type, const void *buf, size_t len);
static void capi_reply(struct evhttp_request *req, int code, json_t *j);
static void capi_error(struct evhttp_request *req, int code,
    const char *reason, const char *key, const char *value);
static int capi_no_query(struct evhttp_request *req);
static jtree_t *capi_body(struct evhttp_request *req, int *answered);
static int capi_fields(struct evhttp_request *req, const jtree_t *body,
    const char *const *names);
static int capi_id(const char *name, uint64_t *id);
static const char *capi_peer(struct evhttp_request *req);
static void capi_changed(comply_t *c, struct evhttp_request *req,
    const char *actor, const char *action, const char *target,
    json_t *before, json_t *after, unsigned status);
static int capi_text(const jtree_t *body, const char *key, size_t max,
    int required, char *out, size_t size);
static void capi_audit_list(comply_t *c, struct evhttp_request *req);
static int capi_audit_item(void *ctx, const audit_t *a);
static void capi_audit_get(comply_t *c, struct evhttp_request *req,
    uint64_t id);
static void capi_audit_create(comply_t *c, struct evhttp_request *req,
    const char *actor);
static void capi_audit_update(comply_t *c, struct evhttp_request *req,
    uint64_t id, const char *actor);
static void capi_audit_delete(comply_t *c, struct evhttp_request *req,
    uint64_t id, const char *actor);
static json_t *capi_audit_json(const audit_t *a);
static void capi_report_create(comply_t *c, struct evhttp_request *req,
    const char *actor);


/* ---- plumbing ---- */


static int
capi_ready(comply_t *c, struct evhttp_request *req)
{
    if (c == NULL || c->cat == NULL) {
        capi_error(req, HTTP_SERVUNAVAIL, "compliance unavailable",
                   c && c->error[0] ? "reason" : NULL,
                   c ? c->error : NULL);
        return 0;
    }

    return 1;
}


static void
capi_send(struct evhttp_request *req, int code, const char *type,
    const void *buf, size_t len)
{
    struct evbuffer   *body;
    struct evkeyvalq  *h;

    body = evbuffer_new();
    if (body == NULL || evbuffer_add(body, buf, len) == -1) {
        log_warnx("%s: evbuffer failed", __func__);

        if (body) {
            evbuffer_free(body);
        }

        evhttp_send_error(req, HTTP_INTERNAL, NULL);
        return;
    }

    h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Content-Type", type);
    evhttp_add_header(h, "Cache-Control", "no-store");

    evhttp_send_reply(req, code, NULL, body);

    evbuffer_free(body);
}


static void
capi_reply(struct evhttp_request *req, int code, json_t *j)
{
    size_t          len;
    const uint8_t  *buf;

    if (json_result(j, &buf, &len) == -1) {
        log_warnx("%s: %s", __func__, json_error(j));
        capi_send(req, HTTP_INTERNAL, "application/json", CAPI_INTERNAL,
                  sizeof(CAPI_INTERNAL) - 1);
        return;
    }

    capi_send(req, code, "application/json", buf, len);
}


static void
capi_error(struct evhttp_request *req, int code, const char *reason,
    const char *key, const char *value)
{
    json_t  *j;

    j = json_new();
    if (j == NULL) {
        capi_send(req, HTTP_INTERNAL, "application/json", CAPI_INTERNAL,
                  sizeof(CAPI_INTERNAL) - 1);
        return;
    }

    json_map_open(j);
    json_key(j, "error");
    json_cstring(j, reason);

    if (key) {
        json_key(j, key);
        json_cstring(j, value ? value : "");
    }

    json_map_close(j);

    capi_reply(req, code, j);

    json_free(j);
}


/* returns 1, or 0 after answering a query string: these endpoints take none */

static int
capi_no_query(struct evhttp_request *req)
{
    const char        *qs;
    struct evkeyvalq   q;

    qs = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));

    if (qs == NULL || qs[0] == '\0') {
        return 1;
    }

    memset(&q, 0, sizeof(struct evkeyvalq));

    if (evhttp_parse_query_str(qs, &q) == -1 || q.tqh_first == NULL) {
        capi_error(req, HTTP_BADREQUEST, "invalid query", NULL, NULL);

    } else {
        capi_error(req, HTTP_BADREQUEST, "unknown parameter", "parameter",
                   q.tqh_first->key);
    }

    evhttp_clear_headers(&q);

    return 0;
}


/* the body as a JSON object, or NULL with *answered set */

static jtree_t *
capi_body(struct evhttp_request *req, int *answered)
{
    char              err[64];
    size_t            len;
    jtree_t          *t;
    const char       *body;
    struct evbuffer  *in;

    *answered = 1;

    in = evhttp_request_get_input_buffer(req);
    len = evbuffer_get_length(in);

    if (len > CAPI_BODY_MAX) {
        capi_error(req, 413, "body too large", NULL, NULL);
        return NULL;
    }

    body = (const char *) evbuffer_pullup(in, -1);

    t = jtree_parse(body ? body : "", body ? len : 0, err, sizeof(err));

    if (jtree_type(t) != JTREE_OBJECT) {
        jtree_free(t);
        log_debug("%s: body is not a JSON object: %s", __func__, err);
        capi_error(req, HTTP_BADREQUEST, "invalid body", NULL, NULL);
        return NULL;
    }

    *answered = 0;

    return t;
}


/* returns 0, or -1 (after answering, with req) for a member not in names */

static int
capi_fields(struct evhttp_request *req, const jtree_t *body,
    const char *const *names)
{
    size_t              i, k;
    const char         *key;

    for (i = 0; i < jtree_len(body); i++) {
        key = jtree_key_at(body, i);

        for (k = 0; names[k]; k++) {
            if (strcmp(names[k], key) == 0) {
                break;
            }
        }

        if (names[k] == NULL) {
            if (req) {
                capi_error(req, HTTP_BADREQUEST, "invalid field", "field",
                           key);
            }

            return -1;
        }
    }

    return 0;
}


/*
 * a string member of at most max bytes without control characters;
 * returns 1 with it in out, 0 when absent (and not required), -1 when
 * bad
 */

static int
capi_text(const jtree_t *body, const char *key, size_t max, int required,
    char *out, size_t size)
{
    size_t        len;
    jtree_t      *v;
    const char   *s, *p;

    v = jtree_get(body, key);

    if (v == NULL) {
        return required ? -1 : 0;
    }

    s = jtree_string(v);

    if (s == NULL) {
        return -1;
    }

    len = strlen(s);

    if ((required && len == 0) || len > max || len >= size) {
        return -1;
    }

    for (p = s; *p; p++) {
        if ((unsigned char) *p < 0x20 || *p == 0x7f) {
            return -1;
        }
    }

    memcpy(out, s, len + 1);

    return 1;
}


static int
capi_id(const char *name, uint64_t *id)
{
    char  *end;

    if (name[0] < '1' || name[0] > '9') {
        return -1;
    }

    errno = 0;
    *id = strtoull(name, &end, 10);

    return (*end != '\0' || errno) ? -1 : 0;
}


static const char *
capi_peer(struct evhttp_request *req)
{
    char                      *addr;
    ev_uint16_t                port;
    struct evhttp_connection  *evcon;

    evcon = evhttp_request_get_connection(req);
    if (evcon == NULL) {
        return NULL;
    }

    addr = NULL;
    evhttp_connection_get_peer(evcon, &addr, &port);

    return (addr && addr[0]) ? addr : NULL;
}


/* records a change made through the API; a failure is only logged */

static void
capi_changed(comply_t *c, struct evhttp_request *req, const char *actor,
    const char *action, const char *target, json_t *before, json_t *after,
    unsigned status)
{
    int                    rc;
    size_t                 blen, alen;
    change_t               ch;
    const char            *uri;
    const uint8_t         *b, *a;
    enum evhttp_cmd_type   cmd;

    b = NULL;
    a = NULL;
    blen = 0;
    alen = 0;

    if (before && json_result(before, &b, &blen) != 0) {
        b = NULL;
    }

    if (after && json_result(after, &a, &alen) != 0) {
        a = NULL;
    }

    cmd = evhttp_request_get_command(req);
    uri = evhttp_request_get_uri(req);

    ch.actor = actor;
    ch.action = action;
    ch.target = target;
    ch.before = (const char *) b;
    ch.before_len = blen;
    ch.after = (const char *) a;
    ch.after_len = alen;
    ch.method = cmd == EVHTTP_REQ_POST ? "POST"
                : cmd == EVHTTP_REQ_PUT ? "PUT"
                : cmd == EVHTTP_REQ_DELETE ? "DELETE" : "GET";
    ch.uri = uri ? uri : "";
    ch.addr = capi_peer(req);
    ch.status = status;

    rc = change_record(c->own, &ch);
    if (rc != 0) {
        log_warnx("%s: recording %s of \"%s\" failed: %s", __func__, action,
                  target, mdb_strerror(rc));
    }
}


/* ---- compliance ---- */


void
comply_api_compliance(comply_t *c, struct evhttp_request *req)
{
    int                 standard;
    json_t             *j;
    const char         *qs;
    evidence_t          ev;
    comply_run_t        run;
    struct evkeyval    *kv;
    struct evkeyvalq    q;

    if (!capi_ready(c, req)) {
        return;
    }

    standard = -1;
    memset(&q, 0, sizeof(struct evkeyvalq));

    qs = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));

    if (qs && evhttp_parse_query_str(qs, &q) == -1) {
        capi_error(req, HTTP_BADREQUEST, "invalid query", NULL, NULL);
        goto query_free;
    }

    for (kv = q.tqh_first; kv; kv = kv->next.tqe_next) {
        if (strcmp(kv->key, "standard") != 0) {
            capi_error(req, HTTP_BADREQUEST, "unknown parameter",
                       "parameter", kv->key);
            goto query_free;
        }

        standard = comply_standard_index(c->cat, kv->value);

        if (standard == -1) {
            capi_error(req, HTTP_BADREQUEST, "invalid parameter",
                       "parameter", "standard");
            goto query_free;
        }
    }

    if (comply_evaluate_now(c, &run, &ev) == -1) {
        capi_error(req, HTTP_INTERNAL, "internal error", NULL, NULL);
        goto query_free;
    }

    evidence_free(&ev);

    j = json_new();

    if (j == NULL) {
        capi_error(req, HTTP_INTERNAL, "internal error", NULL, NULL);

    } else {
        comply_run_json(j, c->cat, &run, standard);
        capi_reply(req, HTTP_OK, j);
        json_free(j);
    }

    comply_run_free(&run);

query_free:

    evhttp_clear_headers(&q);
}


void
comply_api_run(comply_t *c, struct evhttp_request *req, const char *actor)
{
    char          idbuf[24];
    json_t       *j;
    comply_run_t  run;

    if (!capi_ready(c, req) || !capi_no_query(req)) {
        return;
    }

    if (comply_run(c, "api", &run) == -1) {
        capi_error(req, HTTP_INTERNAL, "internal error", NULL, NULL);
        return;
    }

    j = json_new();

    if (j == NULL) {
        capi_error(req, HTTP_INTERNAL, "internal error", NULL, NULL);
        comply_run_free(&run);
        return;
    }

    comply_run_json(j, c->cat, &run, -1);
    capi_reply(req, 201, j);
    json_free(j);

    snprintf(idbuf, sizeof(idbuf), "%llu", (unsigned long long) run.id);
    capi_changed(c, req, actor, "compliance.run", idbuf, NULL, NULL, 201);

    comply_run_free(&run);
}


void
comply_api_risk(comply_t *c, struct evhttp_request *req)
{
    int       rc;
    char     *doc;
    size_t    len;
    json_t   *j;
    MDB_txn  *txn;

    if (!capi_ready(c, req) || !capi_no_query(req)) {
        return;
    }

    rc = store_txn_begin(c->own, MDB_RDONLY, &txn);
    if (rc != 0) {
        capi_error(req, HTTP_INTERNAL, "internal error", NULL, NULL);
        return;
    }

    doc = risk_latest(c->own, txn, &len, &rc);

    mdb_txn_abort(txn);

    if (rc != 0) {
        log_warnx("%s: reading the risk register failed: %s", __func__,
                  mdb_strerror(rc));
        capi_error(req, HTTP_INTERNAL, "internal error", NULL, NULL);
        free(doc);
        return;
    }

    if (doc == NULL) {
        capi_error(req, HTTP_NOTFOUND, "no assessment yet", NULL, NULL);
        return;
    }

    j = json_new();

    if (j == NULL) {
        capi_error(req, HTTP_INTERNAL, "internal error", NULL, NULL);

    } else {
        json_details(j, (const uint8_t *) doc, len);
        capi_reply(req, HTTP_OK, j);
        json_free(j);
    }

    free(doc);
}


/* ---- audits ---- */


void
comply_api_audits(comply_t *c, struct evhttp_request *req, const char *name,
    const char *actor)
{
    uint64_t              id;
    enum evhttp_cmd_type  cmd;

    if (!capi_ready(c, req) || !capi_no_query(req)) {
        return;
    }

    cmd = evhttp_request_get_command(req);

    if (name[0] == '\0') {
        if (cmd == EVHTTP_REQ_GET) {
            capi_audit_list(c, req);

        } else {
            capi_audit_create(c, req, actor);
        }

        return;
    }

    if (capi_id(name, &id) == -1) {
        capi_error(req, HTTP_NOTFOUND, "not found", NULL, NULL);
        return;
    }

    if (cmd == EVHTTP_REQ_GET) {
        capi_audit_get(c, req, id);

    } else if (cmd == EVHTTP_REQ_PUT) {
        capi_audit_update(c, req, id, actor);

    } else {
        capi_audit_delete(c, req, id, actor);
    }
}


static void
capi_audit_list(comply_t *c, struct evhttp_request *req)
{
    int       rc;
    json_t   *j;
    MDB_txn  *txn;

    j = json_new();
    if (j == NULL) {
        capi_error(req, HTTP_INTERNAL, "internal error", NULL, NULL);
        return;
    }

    rc = store_txn_begin(c->own, MDB_RDONLY, &txn);
    if (rc != 0) {
        json_free(j);
        capi_error(req, HTTP_INTERNAL, "internal error", NULL, NULL);
        return;
    }

    json_map_open(j);
    json_key(j, "items");
    json_array_open(j);

    rc = audit_list(c->own, txn, AUDIT_LIST_MAX, capi_audit_item, j);

    json_array_close(j);
    json_map_close(j);

    mdb_txn_abort(txn);

    if (rc != 0) {
        log_warnx("%s: reading audits failed: %s", __func__,
                  mdb_strerror(rc));
        capi_error(req, HTTP_INTERNAL, "internal error", NULL, NULL);

    } else {
        capi_reply(req, HTTP_OK, j);
    }

    json_free(j);
}


static int
capi_audit_item(void *ctx, const audit_t *a)
{
    audit_json(ctx, a, AUDIT_JSON_SUMMARY);

    return 0;
}


static json_t *
capi_audit_json(const audit_t *a)
{
    json_t  *j;

    j = json_new();

    if (j) {
        audit_json(j, a, AUDIT_JSON_FULL);
    }

    return j;
}


static void
capi_audit_get(comply_t *c, struct evhttp_request *req, uint64_t id)
{
    int       rc;
    json_t   *j;
    audit_t   a;
    MDB_txn  *txn;

    rc = store_txn_begin(c->own, MDB_RDONLY, &txn);
    if (rc != 0) {
        capi_error(req, HTTP_INTERNAL, "internal error", NULL, NULL);
        return;
    }

    rc = audit_get(c->own, txn, id, &a);

    mdb_txn_abort(txn);

    if (rc == MDB_NOTFOUND) {
        capi_error(req, HTTP_NOTFOUND, "not found", NULL, NULL);
        return;
    }

    if (rc != 0) {
        log_warnx("%s: reading audit %llu failed: %s", __func__,
                  (unsigned long long) id,
                  rc == AUDIT_EDECODE ? "it does not decode"
                                      : mdb_strerror(rc));
        capi_error(req, HTTP_INTERNAL, "internal error", NULL, NULL);
        return;
    }

    j = capi_audit_json(&a);

    if (j == NULL) {
        capi_error(req, HTTP_INTERNAL, "internal error", NULL, NULL);

    } else {
        capi_reply(req, HTTP_OK, j);
        json_free(j);
    }

    audit_free(&a);
}


/* {"name", "scope", "schedule", "owner"}: the audit runs once at once */

static void
capi_audit_create(comply_t *c, struct evhttp_request *req,
    const char *actor)
{
    int         rc, answered;
    char        sched[16], idbuf[24];
    json_t     *j;
    audit_t     a, ran;
    jtree_t    *body;
    MDB_txn    *txn;

    static const char  *const names[] = { "name", "scope", "schedule",
                                          "owner", NULL };

    body = capi_body(req, &answered);
    if (body == NULL) {
        return;
    }

    memset(&a, 0, sizeof(audit_t));

    if (capi_fields(req, body, names) == -1) {
        goto body_free;
    }

    if (jtree_get(body, "name") == NULL || jtree_get(body, "scope") == NULL) {
        capi_error(req, HTTP_BADREQUEST, "missing field", "field",
                   jtree_get(body, "name") ? "scope" : "name");
        goto body_free;
    }

    if (capi_text(body, "name", AUDIT_NAME_MAX, 1, a.name, sizeof(a.name))
        != 1)
    {
        capi_error(req, HTTP_BADREQUEST, "invalid field", "field", "name");
        goto body_free;
    }

    if (capi_text(body, "scope", COMPLY_ID_MAX, 1, a.scope, sizeof(a.scope))
        != 1
        || !audit_scope_valid(c->cat, a.scope))
    {
        capi_error(req, HTTP_BADREQUEST, "invalid field", "field", "scope");
        goto body_free;
    }

    a.schedule = AUDIT_NONE;

    rc = capi_text(body, "schedule", 15, 0, sched, sizeof(sched));

    if (rc == -1 || (rc == 1 && (a.schedule = audit_schedule_parse(sched))
                                == -1))
    {
        capi_error(req, HTTP_BADREQUEST, "invalid field", "field",
                   "schedule");
        goto body_free;
    }

    if (capi_text(body, "owner", AUDIT_OWNER_MAX, 0, a.owner,
                  sizeof(a.owner))
        == -1)
    {
        capi_error(req, HTTP_BADREQUEST, "invalid field", "field", "owner");
        goto body_free;
    }

    snprintf(a.created_by, sizeof(a.created_by), "%s", actor);
    a.created_us = comply_now();
    a.updated_us = a.created_us;

    rc = store_txn_begin(c->own, 0, &txn);
    if (rc != 0) {
        goto failed;
    }

    rc = audit_put(c->own, txn, &a);
    if (rc != 0) {
        mdb_txn_abort(txn);
        goto failed;
    }

    rc = mdb_txn_commit(txn);
    if (rc != 0) {
        goto failed;
    }

    log_info("audit %llu \"%s\" created by \"%s\", scope %s, schedule %s",
             (unsigned long long) a.id, a.name, actor, a.scope,
             audit_schedule_name(a.schedule));

    /* the first run; a failed one leaves the audit for the next */

    rc = audit_run(c, a.id, &ran);

    if (rc == 0) {
        audit_free(&a);
        a = ran;

    } else {
        log_warnx("audit %llu: the first run failed",
                  (unsigned long long) a.id);
    }

    c->audit_due_us = 0;

    j = capi_audit_json(&a);

    if (j == NULL) {
        capi_error(req, HTTP_INTERNAL, "internal error", NULL, NULL);

    } else {
        capi_reply(req, 201, j);

        snprintf(idbuf, sizeof(idbuf), "%llu", (unsigned long long) a.id);
        capi_changed(c, req, actor, "audit.create", idbuf, NULL, j, 201);

        json_free(j);
    }

    goto body_free;

failed:

    log_warnx("%s: storing the audit failed: %s", __func__,
              mdb_strerror(rc));
    capi_error(req, HTTP_INTERNAL, "internal error", NULL, NULL);

body_free:

    audit_free(&a);
    jtree_free(body);
}


/*
 * {"name", "scope", "schedule", "owner", "findings": [{"id", "status",
 * "note"}], "run": true}, any of them
 */

static void
capi_audit_update(comply_t *c, struct evhttp_request *req, uint64_t id,
    const char *actor)
{
    int              rc, answered, run, st;
    char             sched[16], status[16], idbuf[24], bad[32];
    size_t           i, k;
    json_t          *before, *after;
    audit_t          a, ran;
    jtree_t         *body, *fl, *f;
    int64_t          fid;
    MDB_txn         *txn;
    uint64_t         now;
    audit_finding_t *af;

    static const char  *const names[] = { "name", "scope", "schedule",
                                          "owner", "findings", "run",
                                          NULL };
    static const char  *const fnames[] = { "id", "status", "note", NULL };

    body = capi_body(req, &answered);
    if (body == NULL) {
        return;
    }

    before = NULL;
    after = NULL;
    memset(&a, 0, sizeof(audit_t));

    if (capi_fields(req, body, names) == -1) {
        goto body_free;
    }

    if (jtree_len(body) == 0) {
        capi_error(req, HTTP_BADREQUEST, "missing field", "field", "name");
        goto body_free;
    }

    run = 0;

    if (jtree_get(body, "run")) {
        run = jtree_bool(jtree_get(body, "run"));

        if (run == -1) {
            capi_error(req, HTTP_BADREQUEST, "invalid field", "field",
                       "run");
            goto body_free;
        }
    }

    fl = jtree_get(body, "findings");

    if (fl && jtree_type(fl) != JTREE_ARRAY) {
        capi_error(req, HTTP_BADREQUEST, "invalid field", "field",
                   "findings");
        goto body_free;
    }

    now = comply_now();

    rc = store_txn_begin(c->own, 0, &txn);
    if (rc != 0) {
        goto failed;
    }

    rc = audit_get(c->own, txn, id, &a);

    if (rc == MDB_NOTFOUND) {
        mdb_txn_abort(txn);
        capi_error(req, HTTP_NOTFOUND, "not found", NULL, NULL);
        goto body_free;
    }

    if (rc != 0) {
        mdb_txn_abort(txn);
        goto failed;
    }

    before = capi_audit_json(&a);

    /* every field is checked before any is applied */

    bad[0] = '\0';

    if (jtree_get(body, "name")
        && capi_text(body, "name", AUDIT_NAME_MAX, 1, a.name,
                     sizeof(a.name))
           == -1)
    {
        snprintf(bad, sizeof(bad), "name");

    } else if (jtree_get(body, "scope")
               && (capi_text(body, "scope", COMPLY_ID_MAX, 1, a.scope,
                             sizeof(a.scope))
                   == -1
                   || !audit_scope_valid(c->cat, a.scope)))
    {
        snprintf(bad, sizeof(bad), "scope");

    } else if (capi_text(body, "owner", AUDIT_OWNER_MAX, 0, a.owner,
                         sizeof(a.owner))
               == -1)
    {
        snprintf(bad, sizeof(bad), "owner");

    } else {
        rc = capi_text(body, "schedule", 15, 0, sched, sizeof(sched));

        if (rc == -1) {
            snprintf(bad, sizeof(bad), "schedule");

        } else if (rc == 1) {
            st = audit_schedule_parse(sched);

            if (st == -1) {
                snprintf(bad, sizeof(bad), "schedule");

            } else if (st != a.schedule) {
                a.schedule = st;
                a.next_run_us = a.last_run_us
                                ? audit_next(st, a.last_run_us)
                                : audit_next(st, now);
            }
        }
    }

    for (i = 0; bad[0] == '\0' && i < jtree_len(fl); i++) {
        f = jtree_at(fl, i);

        if (jtree_type(f) != JTREE_OBJECT
            || capi_fields(NULL, f, fnames) == -1
            || jtree_int(jtree_get(f, "id"), &fid) == -1)
        {
            snprintf(bad, sizeof(bad), "findings");
            break;
        }

        af = NULL;

        for (k = 0; k < a.nfindings; k++) {
            if ((int64_t) a.findings[k].id == fid) {
                af = &a.findings[k];
            }
        }

        if (af == NULL) {
            snprintf(bad, sizeof(bad), "findings");
            break;
        }

        rc = capi_text(f, "status", 15, 0, status, sizeof(status));

        if (rc == -1 || (rc == 1 && audit_finding_parse(status) == -1)
            || capi_text(f, "note", AUDIT_NOTE_MAX, 0, af->note,
                         sizeof(af->note))
               == -1)
        {
            snprintf(bad, sizeof(bad), "findings");
            break;
        }

        if (rc == 1) {
            af->status = audit_finding_parse(status);
        }

        af->updated_us = now;
        snprintf(af->updated_by, sizeof(af->updated_by), "%s", actor);
    }

    if (bad[0]) {
        mdb_txn_abort(txn);
        capi_error(req, HTTP_BADREQUEST, "invalid field", "field", bad);
        goto body_free;
    }

    a.updated_us = now;

    rc = audit_put(c->own, txn, &a);
    if (rc != 0) {
        mdb_txn_abort(txn);
        goto failed;
    }

    rc = mdb_txn_commit(txn);
    if (rc != 0) {
        goto failed;
    }

    c->audit_due_us = 0;

    if (run) {
        if (audit_run(c, id, &ran) == 0) {
            audit_free(&a);
            a = ran;

        } else {
            log_warnx("audit %llu: the run asked for failed",
                      (unsigned long long) id);
        }
    }

    after = capi_audit_json(&a);

    if (after == NULL) {
        capi_error(req, HTTP_INTERNAL, "internal error", NULL, NULL);
        goto body_free;
    }

    capi_reply(req, HTTP_OK, after);

    snprintf(idbuf, sizeof(idbuf), "%llu", (unsigned long long) id);
    capi_changed(c, req, actor, "audit.update", idbuf, before, after,
                 HTTP_OK);

    goto body_free;

failed:

    log_warnx("%s: storing audit %llu failed: %s", __func__,
              (unsigned long long) id,
              rc == AUDIT_EDECODE ? "it does not decode" : mdb_strerror(rc));
    capi_error(req, HTTP_INTERNAL, "internal error", NULL, NULL);

body_free:

    json_free(before);
    json_free(after);
    audit_free(&a);
    jtree_free(body);
}


static void
capi_audit_delete(comply_t *c, struct evhttp_request *req, uint64_t id,
    const char *actor)
{
    int       rc;
    char      idbuf[24];
    json_t   *before;
    audit_t   a;
    MDB_txn  *txn;

    before = NULL;

    if (store_txn_begin(c->own, MDB_RDONLY, &txn) == 0) {
        if (audit_get(c->own, txn, id, &a) == 0) {
            before = capi_audit_json(&a);
            audit_free(&a);
        }

        mdb_txn_abort(txn);
    }

    rc = audit_delete(c->own, id);

    if (rc == MDB_NOTFOUND) {
        json_free(before);
        capi_error(req, HTTP_NOTFOUND, "not found", NULL, NULL);
        return;
    }

    if (rc != 0) {
        json_free(before);
        log_warnx("%s: deleting audit %llu failed: %s", __func__,
                  (unsigned long long) id, mdb_strerror(rc));
        capi_error(req, HTTP_INTERNAL, "internal error", NULL, NULL);
        return;
    }

    c->audit_due_us = 0;

    evhttp_send_reply(req, HTTP_NOCONTENT, NULL, NULL);

    snprintf(idbuf, sizeof(idbuf), "%llu", (unsigned long long) id);
    capi_changed(c, req, actor, "audit.delete", idbuf, before, NULL,
                 HTTP_NOCONTENT);

    json_free(before);
}


/* ---- reports ---- */


void
comply_api_reports(comply_t *c, struct evhttp_request *req,
    const char *name, const char *actor)
{
    int       rc;
    json_t   *j;
    MDB_txn  *txn;
    uint64_t  id;

    if (!capi_ready(c, req) || !capi_no_query(req)) {
        return;
    }

    if (evhttp_request_get_command(req) == EVHTTP_REQ_POST) {
        capi_report_create(c, req, actor);
        return;
    }

    if (name[0] && capi_id(name, &id) == -1) {
        capi_error(req, HTTP_NOTFOUND, "not found", NULL, NULL);
        return;
    }

    j = json_new();
    if (j == NULL) {
        capi_error(req, HTTP_INTERNAL, "internal error", NULL, NULL);
        return;
    }

    rc = store_txn_begin(c->own, MDB_RDONLY, &txn);

    if (rc == 0) {
        rc = name[0] ? report_meta(c->own, txn, id, j)
                     : report_list(c->own, txn, j);
        mdb_txn_abort(txn);
    }

    if (rc == MDB_NOTFOUND) {
        capi_error(req, HTTP_NOTFOUND, "not found", NULL, NULL);

    } else if (rc != 0) {
        log_warnx("%s: reading reports failed: %s", __func__,
                  mdb_strerror(rc));
        capi_error(req, HTTP_INTERNAL, "internal error", NULL, NULL);

    } else {
        capi_reply(req, HTTP_OK, j);
    }

    json_free(j);
}


/*
 * {"report_type", "format", "since", "until", "audit_id"}: the period
 * defaults to the REPORT_PERIOD_DAYS before now
 */

static void
capi_report_create(comply_t *c, struct evhttp_request *req,
    const char *actor)
{
    int            rc, answered;
    char           buf[64], idbuf[24];
    json_t        *meta;
    jtree_t       *body, *v;
    int64_t        n;
    uint64_t       now;
    report_req_t   r;

    static const char  *const names[] = { "report_type", "format", "since",
                                          "until", "audit_id", NULL };

    body = capi_body(req, &answered);
    if (body == NULL) {
        return;
    }

    meta = NULL;

    if (capi_fields(req, body, names) == -1) {
        goto body_free;
    }

    memset(&r, 0, sizeof(report_req_t));

    if (jtree_get(body, "report_type") == NULL
        || jtree_get(body, "format") == NULL)
    {
        capi_error(req, HTTP_BADREQUEST, "missing field", "field",
                   jtree_get(body, "report_type") ? "format"
                                                  : "report_type");
        goto body_free;
    }

    if (capi_text(body, "report_type", 32, 1, buf, sizeof(buf)) != 1
        || (r.type = report_type_parse(buf)) == -1)
    {
        capi_error(req, HTTP_BADREQUEST, "invalid field", "field",
                   "report_type");
        goto body_free;
    }

    if (capi_text(body, "format", 32, 1, buf, sizeof(buf)) != 1
        || (r.format = report_format_parse(buf)) == -1)
    {
        capi_error(req, HTTP_BADREQUEST, "invalid field", "field", "format");
        goto body_free;
    }

    now = comply_now();
    r.until_us = now;

    rc = capi_text(body, "until", 40, 0, buf, sizeof(buf));

    if (rc == -1 || (rc == 1 && time_parse(buf, &r.until_us) != 0)) {
        capi_error(req, HTTP_BADREQUEST, "invalid field", "field", "until");
        goto body_free;
    }

    r.since_us = r.until_us > REPORT_PERIOD_DAYS * 86400000000ULL
                 ? r.until_us - REPORT_PERIOD_DAYS * 86400000000ULL : 0;

    rc = capi_text(body, "since", 40, 0, buf, sizeof(buf));

    if (rc == -1 || (rc == 1 && time_parse(buf, &r.since_us) != 0)
        || r.since_us >= r.until_us
        || r.until_us - r.since_us > REPORT_PERIOD_MAX)
    {
        capi_error(req, HTTP_BADREQUEST, "invalid field", "field", "since");
        goto body_free;
    }

    v = jtree_get(body, "audit_id");

    if (v) {
        if (r.type != REPORT_AUDIT || jtree_int(v, &n) == -1 || n < 1) {
            capi_error(req, HTTP_BADREQUEST, "invalid field", "field",
                       "audit_id");
            goto body_free;
        }

        r.audit_id = (uint64_t) n;
    }

    r.actor = actor;

    meta = json_new();
    if (meta == NULL) {
        capi_error(req, HTTP_INTERNAL, "internal error", NULL, NULL);
        goto body_free;
    }

    rc = report_create(c, &r, meta);

    if (rc == MDB_NOTFOUND) {
        capi_error(req, HTTP_BADREQUEST, "invalid field", "field",
                   "audit_id");
        goto body_free;
    }

    if (rc != 0) {
        capi_error(req, HTTP_INTERNAL, "internal error", NULL, NULL);
        goto body_free;
    }

    capi_reply(req, 201, meta);

    snprintf(idbuf, sizeof(idbuf), "%llu", (unsigned long long) r.id);
    capi_changed(c, req, actor, "report.create", idbuf, NULL, meta, 201);

body_free:

    json_free(meta);
    jtree_free(body);
}


void
comply_api_report_file(comply_t *c, struct evhttp_request *req,
    const char *name)
{
    int              rc;
    char             fname[128], disp[192];
    size_t           len;
    MDB_txn         *txn;
    uint64_t         id;
    const char      *type;
    const uint8_t   *buf;

    if (!capi_ready(c, req) || !capi_no_query(req)) {
        return;
    }

    if (capi_id(name, &id) == -1) {
        capi_error(req, HTTP_NOTFOUND, "not found", NULL, NULL);
        return;
    }

    rc = store_txn_begin(c->own, MDB_RDONLY, &txn);
    if (rc != 0) {
        capi_error(req, HTTP_INTERNAL, "internal error", NULL, NULL);
        return;
    }

    rc = report_file(c->own, txn, id, &buf, &len, &type, fname,
                     sizeof(fname));

    if (rc == MDB_NOTFOUND) {
        capi_error(req, HTTP_NOTFOUND, "not found", NULL, NULL);

    } else if (rc != 0) {
        log_warnx("%s: reading report %llu failed: %s", __func__,
                  (unsigned long long) id, mdb_strerror(rc));
        capi_error(req, HTTP_INTERNAL, "internal error", NULL, NULL);

    } else {

        /* the name is keryud's own, "keryu-TYPE-ID.FORMAT" */

        snprintf(disp, sizeof(disp), "attachment; filename=\"%s\"", fname);
        evhttp_add_header(evhttp_request_get_output_headers(req),
                          "Content-Disposition", disp);
        capi_send(req, HTTP_OK, type, buf, len);
    }

    /* the file lived in the map: the reply copied it first */

    mdb_txn_abort(txn);
}
