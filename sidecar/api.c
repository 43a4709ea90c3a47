/*
 * Copyright (C) Keryu Security
 *
 * The HTTP API.  Every request carries "Authorization: Bearer TOKEN";
 * the token is checked before the path, so a client without one learns
 * nothing about the API.  Each request runs in one short read transaction
 * on keryud's own store, and the status endpoint in one more on the shared
 * store.  Every answer is JSON, errors included: {"error":"<reason>"},
 * with "parameter" naming a bad query parameter.
 *
 *   GET /api/security/logs/     every record; admin and auditor
 *   GET /api/security/events/   records that are not plain requests
 *   GET /api/security/status/   counters of keryud and of the shared store
 *
 *   GET    /api/security/policies/        stored policies; admin, auditor
 *   POST   /api/security/policies/        a new policy; admin
 *   PUT    /api/security/policies/NAME/   replaces a policy; admin
 *   DELETE /api/security/policies/NAME/   admin
 *
 *   GET    /api/security/decisions/       blocks; admin, auditor
 *   POST   /api/security/decisions/       blocks an address or a user; admin
 *   DELETE /api/security/decisions/?ip=ADDR[/PREFIX] or ?user=NAME; admin
 *
 * Policies are checked and written by policy.c, the code behind "keryud
 * policy", so the API and the command line accept exactly the same;
 * decisions by admin.c's block code, the code behind "keryud block".
 *
 * A client address that earns API_AUTH_FAILURES 401s within
 * API_AUTH_WINDOW seconds is answered 429, token unchecked, until
 * API_AUTH_WINDOW seconds after its last 401.  The addresses live in a
 * fixed table that evicts the oldest, so a flood of addresses costs no
 * memory and at worst frees one of them early.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "admin.h"
#include "api.h"
#include "log.h"
#include "keryu_policy.h"
#include "policy.h"


#define API_TOKEN_MAX    512
#define API_HEADERS_MAX  16384
#define API_BODY_MAX     (1024 * 1024)
#define API_TIMEOUT      30

#define API_UNAUTHORIZED  401
#define API_FORBIDDEN     403
#define API_TOO_MANY      429

#define API_AUTH_FAILURES  5
#define API_AUTH_WINDOW    60
#define API_AUTH_SLOTS     1024
#define API_AUTH_ADDR_MAX  64

#define API_INTERNAL_BODY  "{\"error\":\"internal error\"}"


typedef enum {
    API_LOGS = 0,
    API_EVENTS,
    API_STATUS,
    API_POLICIES,
    API_DECISIONS
} api_endpoint_e;


#define API_GET     EVHTTP_REQ_GET
#define API_WRITE   (EVHTTP_REQ_POST | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE)


typedef struct {
    const char         *path;
    api_endpoint_e      endpoint;
    int                 auditors;     /* GET: admin and auditor only */
    unsigned            methods;      /* on the path itself */
    unsigned            item_methods; /* on the path and "NAME/" */
} api_route_t;


/* the 401s of one client address */

typedef struct {
    char                af_addr[API_AUTH_ADDR_MAX]; /* "" for a free slot */
    time_t              af_first;   /* first 401 of the window */
    time_t              af_last;    /* latest 401 */
    unsigned            af_count;   /* 401s since af_first */
    int                 af_logged;  /* this lockout was logged */
} api_auth_fail_t;


struct api_s {
    struct evhttp      *http;
    store_t            *own;
    keryu_store_t      *src;
    time_t              started;
    api_auth_fail_t     fails[API_AUTH_SLOTS];
};


static void api_dispatch(struct evhttp_request *req, void *arg);
static int api_bearer(const char *header, const char **token, size_t *len);
static const char *api_peer(struct evhttp_request *req);
static time_t api_now(void);
static api_auth_fail_t *api_auth_find(api_t *api, const char *addr,
    int create);
static time_t api_auth_locked(api_t *api, const char *addr);
static void api_auth_fail(api_t *api, const char *addr);
static void api_unauthorized(api_t *api, struct evhttp_request *req,
    const char *reason);
static void api_list(struct evhttp_request *req, store_t *st, MDB_txn *txn,
    int events_only);
static void api_status(api_t *api, struct evhttp_request *req, MDB_txn *txn);
static void api_reply(struct evhttp_request *req, int code, json_t *j);
static void api_send(struct evhttp_request *req, int code, const void *buf,
    size_t len);
static void api_error(struct evhttp_request *req, int code,
    const char *reason, const char *param);
static void api_error_field(struct evhttp_request *req, int code,
    const char *reason, const char *key, const char *value);
static const api_route_t *api_route(const char *path, char *name,
    size_t namelen);
static void api_allow(struct evhttp_request *req, unsigned methods);
static void api_policy_list(api_t *api, struct evhttp_request *req);
static int api_policy_item(void *ctx, const char *name, size_t namelen,
    const char *doc, size_t len);
static void api_policy_write(api_t *api, struct evhttp_request *req,
    const char *name);
static void api_policy_stored(void *ctx, const char *name, int existed,
    const char *doc, size_t len);
static void api_policy_delete(api_t *api, struct evhttp_request *req,
    const char *name);
static void api_decision_list(api_t *api, struct evhttp_request *req);
static int api_decision_item(void *ctx, const admin_target_t *tg,
    const keryu_block_t *b);
static void api_decision_add(api_t *api, struct evhttp_request *req);
static void api_decision_delete(api_t *api, struct evhttp_request *req);


static const api_route_t  api_routes[] = {
    { "/api/security/logs/",      API_LOGS,      1, API_GET, 0 },
    { "/api/security/logs",       API_LOGS,      1, API_GET, 0 },
    { "/api/security/events/",    API_EVENTS,    0, API_GET, 0 },
    { "/api/security/events",     API_EVENTS,    0, API_GET, 0 },
    { "/api/security/status/",    API_STATUS,    0, API_GET, 0 },
    { "/api/security/status",     API_STATUS,    0, API_GET, 0 },
    { "/api/security/policies/",  API_POLICIES,  1,
      EVHTTP_REQ_GET | EVHTTP_REQ_POST, EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE },
    { "/api/security/policies",   API_POLICIES,  1,
      EVHTTP_REQ_GET | EVHTTP_REQ_POST, 0 },
    { "/api/security/decisions/", API_DECISIONS, 1,
      EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_DELETE, 0 },
    { "/api/security/decisions",  API_DECISIONS, 1,
      EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_DELETE, 0 },
    { NULL,                       API_LOGS,      0, 0, 0 }
};


api_t *
api_new(struct event_base *base, const conf_t *cf, store_t *own,
    keryu_store_t *src)
{
    api_t  *api;

    api = calloc(1, sizeof(api_t));
    if (api == NULL) {
        log_warn("%s: calloc", __func__);
        return NULL;
    }

    api->own = own;
    api->src = src;
    api->started = time(NULL);

    api->http = evhttp_new(base);
    if (api->http == NULL) {
        log_warnx("%s: evhttp_new() failed", __func__);
        goto api_free;
    }

    /* every method reaches api_dispatch, which answers 405 in JSON */

    evhttp_set_allowed_methods(api->http,
                               EVHTTP_REQ_GET | EVHTTP_REQ_POST
                               | EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT
                               | EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS
                               | EVHTTP_REQ_TRACE | EVHTTP_REQ_CONNECT
                               | EVHTTP_REQ_PATCH);
    evhttp_set_max_headers_size(api->http, API_HEADERS_MAX);
    evhttp_set_max_body_size(api->http, API_BODY_MAX);

    /* a body over the cap is read and dropped, so the client sees 413 */

    evhttp_set_flags(api->http, EVHTTP_SERVER_LINGERING_CLOSE);
    evhttp_set_timeout(api->http, API_TIMEOUT);
    evhttp_set_gencb(api->http, api_dispatch, api);

    if (evhttp_bind_socket_with_handle(api->http, cf->listen_addr,
                                       cf->listen_port)
        == NULL)
    {
        log_warn("cannot listen on %s port %u", cf->listen_addr,
                 cf->listen_port);
        goto http_free;
    }

    log_info("listening on %s port %u", cf->listen_addr, cf->listen_port);

    return api;

http_free:

    evhttp_free(api->http);

api_free:

    free(api);

    return NULL;
}


void
api_free(api_t *api)
{
    if (api == NULL) {
        return;
    }

    evhttp_free(api->http);
    free(api);
}


static void
api_dispatch(struct evhttp_request *req, void *arg)
{
    api_t                     *api = arg;

    int                        rc;
    char                       name[KERYU_POLICY_NAME_MAX + 1], buf[24];
    role_e                     role;
    size_t                     len;
    time_t                     wait;
    unsigned                   methods;
    MDB_txn                   *txn;
    const char                *header, *path, *token;
    enum evhttp_cmd_type       cmd;
    const api_route_t         *route;
    const struct evhttp_uri   *uri;

    /* a locked out client is refused before its token is looked at */

    wait = api_auth_locked(api, api_peer(req));

    if (wait) {
        snprintf(buf, sizeof(buf), "%lld", (long long) wait);
        evhttp_add_header(evhttp_request_get_output_headers(req),
                          "Retry-After", buf);
        api_error(req, API_TOO_MANY, "too many failed authentications",
                  NULL);
        return;
    }

    rc = store_txn_begin(api->own, MDB_RDONLY, &txn);
    if (rc != 0) {
        log_warnx("%s: mdb_txn_begin() failed: %s", __func__,
                  mdb_strerror(rc));
        api_error(req, HTTP_INTERNAL, "internal error", NULL);
        return;
    }

    header = evhttp_find_header(evhttp_request_get_input_headers(req),
                                "Authorization");

    if (header == NULL) {
        log_debug("%s: request without a token", __func__);
        api_unauthorized(api, req, "missing token");
        goto txn_abort;
    }

    if (api_bearer(header, &token, &len) == -1) {
        log_debug("%s: malformed authorization header", __func__);
        api_unauthorized(api, req, "invalid token");
        goto txn_abort;
    }

    rc = token_lookup(api->own, txn, token, len, &role);

    if (rc == MDB_NOTFOUND) {
        log_debug("%s: unknown token", __func__);
        api_unauthorized(api, req, "invalid token");
        goto txn_abort;
    }

    if (rc != 0) {
        log_warnx("%s: token lookup failed: %s", __func__, mdb_strerror(rc));
        api_error(req, HTTP_INTERNAL, "internal error", NULL);
        goto txn_abort;
    }

    uri = evhttp_request_get_evhttp_uri(req);
    path = evhttp_uri_get_path(uri);

    route = api_route(path, name, sizeof(name));

    if (route == NULL) {
        api_error(req, HTTP_NOTFOUND, "not found", NULL);
        goto txn_abort;
    }

    cmd = evhttp_request_get_command(req);
    methods = name[0] ? route->item_methods : route->methods;

    if ((cmd & methods) == 0) {
        api_allow(req, methods);
        api_error(req, HTTP_BADMETHOD, "method not allowed", NULL);
        goto txn_abort;
    }

    if (cmd == EVHTTP_REQ_GET) {
        if (route->auditors && role != ROLE_ADMIN && role != ROLE_AUDITOR) {
            log_debug("%s: role %s may not read %s", __func__,
                      token_role_name(role), path);
            api_error(req, API_FORBIDDEN, "forbidden", NULL);
            goto txn_abort;
        }

    } else if (role != ROLE_ADMIN) {
        log_debug("%s: role %s may not change %s", __func__,
                  token_role_name(role), path);
        api_error(req, API_FORBIDDEN, "forbidden", NULL);
        goto txn_abort;
    }

    if ((route->endpoint == API_POLICIES
         || route->endpoint == API_DECISIONS)
        && api->src->env == NULL)
    {
        api_error(req, HTTP_SERVUNAVAIL, "shared store unavailable", NULL);
        goto txn_abort;
    }

    switch (route->endpoint) {

    case API_LOGS:
        api_list(req, api->own, txn, 0);
        break;

    case API_EVENTS:
        api_list(req, api->own, txn, 1);
        break;

    case API_POLICIES:
        if (cmd == EVHTTP_REQ_GET) {
            api_policy_list(api, req);

        } else if (cmd == EVHTTP_REQ_DELETE) {
            api_policy_delete(api, req, name);

        } else {
            api_policy_write(api, req, name[0] ? name : NULL);
        }

        break;

    case API_DECISIONS:
        if (cmd == EVHTTP_REQ_GET) {
            api_decision_list(api, req);

        } else if (cmd == EVHTTP_REQ_DELETE) {
            api_decision_delete(api, req);

        } else {
            api_decision_add(api, req);
        }

        break;

    default:
        api_status(api, req, txn);
        break;
    }

txn_abort:

    mdb_txn_abort(txn);
}


/* answers 401 and counts it against the client's address */

static void
api_unauthorized(api_t *api, struct evhttp_request *req, const char *reason)
{
    api_auth_fail(api, api_peer(req));
    api_error(req, API_UNAUTHORIZED, reason, NULL);
}


/* the client's numeric address, or NULL if libevent does not know it */

static const char *
api_peer(struct evhttp_request *req)
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

    if (addr == NULL || addr[0] == '\0'
        || strlen(addr) >= API_AUTH_ADDR_MAX)
    {
        return NULL;
    }

    return addr;
}


/* seconds on a clock that the wall clock being set does not move */

static time_t
api_now(void)
{
    struct timespec  ts;

    if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1) {
        return time(NULL);
    }

    return ts.tv_sec;
}


/*
 * returns the slot of addr, or NULL; with create, a missing addr takes
 * a free slot or else the one whose last 401 is oldest
 */

static api_auth_fail_t *
api_auth_find(api_t *api, const char *addr, int create)
{
    api_auth_fail_t  *af, *old;

    old = NULL;

    for (af = api->fails; af < api->fails + API_AUTH_SLOTS; af++) {
        if (strcmp(af->af_addr, addr) == 0) {
            return af;
        }

        if (old == NULL
            || (old->af_addr[0] != '\0'
                && (af->af_addr[0] == '\0' || af->af_last < old->af_last)))
        {
            old = af;
        }
    }

    if (!create) {
        return NULL;
    }

    memset(old, 0, sizeof(api_auth_fail_t));
    strcpy(old->af_addr, addr);

    return old;
}


/* returns the seconds addr stays locked out, or 0 if it is not */

static time_t
api_auth_locked(api_t *api, const char *addr)
{
    time_t            now;
    api_auth_fail_t  *af;

    if (addr == NULL) {
        return 0;
    }

    af = api_auth_find(api, addr, 0);

    if (af == NULL || af->af_count < API_AUTH_FAILURES) {
        return 0;
    }

    now = api_now();

    if (now >= af->af_last + API_AUTH_WINDOW) {
        return 0;
    }

    return af->af_last + API_AUTH_WINDOW - now;
}


/* counts a 401 for addr, and logs once when that locks it out */

static void
api_auth_fail(api_t *api, const char *addr)
{
    time_t            now;
    api_auth_fail_t  *af;

    if (addr == NULL) {
        return;
    }

    now = api_now();
    af = api_auth_find(api, addr, 1);

    /* the window starts at the first 401 after the last one ran out */

    if (af->af_count == 0 || now >= af->af_first + API_AUTH_WINDOW) {
        af->af_first = now;
        af->af_count = 0;
        af->af_logged = 0;
    }

    af->af_count++;
    af->af_last = now;

    if (af->af_count >= API_AUTH_FAILURES && !af->af_logged) {
        log_warnx("api: client %s locked out after %d bad tokens", addr,
                  API_AUTH_FAILURES);
        af->af_logged = 1;
    }
}


/*
 * finds the route of path; a route with item methods also takes
 * path + "NAME/" (or "NAME"), and the URI-decoded NAME goes to name,
 * which is empty otherwise
 */

static const api_route_t *
api_route(const char *path, char *name, size_t namelen)
{
    char               *dec;
    size_t              n, seg;
    const char         *rest;
    const api_route_t  *route;

    name[0] = '\0';

    if (path == NULL) {
        return NULL;
    }

    for (route = api_routes; route->path; route++) {
        if (strcmp(route->path, path) == 0) {
            return route;
        }
    }

    for (route = api_routes; route->path; route++) {
        n = strlen(route->path);

        if (route->item_methods == 0 || strncmp(route->path, path, n) != 0) {
            continue;
        }

        rest = path + n;
        seg = strcspn(rest, "/");

        if (seg == 0 || (rest[seg] == '/' && rest[seg + 1] != '\0')) {
            return NULL;
        }

        dec = evhttp_uridecode(rest, 0, &n);
        if (dec == NULL) {
            return NULL;
        }

        /* a NUL or a slash inside the name, decoded, is no name */

        if (strlen(dec) == n && rest[seg] == '/') {
            dec[--n] = '\0';
        }

        if (n == 0 || n >= namelen || strlen(dec) != n
            || strchr(dec, '/') != NULL)
        {
            free(dec);
            return NULL;
        }

        memcpy(name, dec, n + 1);
        free(dec);

        return route;
    }

    return NULL;
}


static void
api_allow(struct evhttp_request *req, unsigned methods)
{
    char  buf[64];

    buf[0] = '\0';

    if (methods & EVHTTP_REQ_GET) {
        strcat(buf, ", GET");
    }

    if (methods & EVHTTP_REQ_POST) {
        strcat(buf, ", POST");
    }

    if (methods & EVHTTP_REQ_PUT) {
        strcat(buf, ", PUT");
    }

    if (methods & EVHTTP_REQ_DELETE) {
        strcat(buf, ", DELETE");
    }

    evhttp_add_header(evhttp_request_get_output_headers(req), "Allow",
                      buf[0] ? buf + 2 : "");
}


/* finds the token in "Bearer TOKEN"; the scheme's case does not matter */

static int
api_bearer(const char *header, const char **token, size_t *len)
{
    size_t  n;

    if (strncasecmp(header, "Bearer ", 7) != 0) {
        return -1;
    }

    header += 7;
    header += strspn(header, " ");

    n = strcspn(header, " \t");

    if (n == 0 || n > API_TOKEN_MAX || header[n + strspn(header + n, " \t")]) {
        return -1;
    }

    *token = header;
    *len = n;

    return 0;
}


static void
api_list(struct evhttp_request *req, store_t *st, MDB_txn *txn,
    int events_only)
{
    int          rc;
    json_t      *j;
    query_t      q;
    const char  *qs;

    qs = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));

    if (query_parse(&q, qs) == -1) {
        log_debug("%s: %s \"%s\"", __func__, q.error, q.bad);
        api_error(req, HTTP_BADREQUEST, q.error,
                  q.bad[0] ? q.bad : NULL);
        return;
    }

    j = json_new();
    if (j == NULL) {
        log_warnx("%s: json_new() failed", __func__);
        api_error(req, HTTP_INTERNAL, "internal error", NULL);
        return;
    }

    rc = api_scan(st, txn, &q, events_only, API_SCAN_MAX, j);
    if (rc != 0) {
        log_warnx("%s: reading logs failed: %s", __func__, mdb_strerror(rc));
        api_error(req, HTTP_INTERNAL, "internal error", NULL);
        goto json_free;
    }

    api_reply(req, HTTP_OK, j);

json_free:

    json_free(j);
}


int
api_scan(store_t *st, MDB_txn *txn, const query_t *q, int events_only,
    uint64_t scan_max, json_t *j)
{
    int              rc;
    char             buf[24];
    uint8_t          kbuf[8];
    MDB_val          key, val;
    uint64_t         id, next, scanned, n;
    MDB_cursor      *cur;
    keryu_record_t   rec;

    rc = mdb_cursor_open(txn, st->logs, &cur);
    if (rc != 0) {
        return rc;
    }

    /* a cursor names the last record shown: go on strictly below it */

    if (q->cursor) {
        keryu_store_key_encode(kbuf, q->cursor);

        key.mv_size = 8;
        key.mv_data = kbuf;

        rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);

        if (rc == 0) {
            rc = mdb_cursor_get(cur, &key, &val, MDB_PREV);

        } else if (rc == MDB_NOTFOUND) {
            rc = mdb_cursor_get(cur, &key, &val, MDB_LAST);
        }

    } else {
        rc = mdb_cursor_get(cur, &key, &val, MDB_LAST);
    }

    json_map_open(j);
    json_key(j, "items");
    json_array_open(j);

    next = 0;
    scanned = 0;
    n = 0;

    while (rc == 0) {
        if (key.mv_size != 8) {
            rc = MDB_CORRUPTED;
            break;
        }

        id = keryu_store_key_decode(key.mv_data);
        scanned++;

        if (keryu_record_decode(&rec, val.mv_data, val.mv_size) == -1) {
            log_debug("%s: record %llu does not decode", __func__,
                      (unsigned long long) id);

        } else if ((!events_only || rec.type != KERYU_EVENT_REQUEST)
                   && query_match(q, &rec))
        {
            json_record(j, id, &rec);
            n++;
        }

        rc = mdb_cursor_get(cur, &key, &val, MDB_PREV);

        if (rc == 0 && (n == q->limit || scanned == scan_max)) {
            next = id;
            break;
        }
    }

    mdb_cursor_close(cur);

    if (rc != 0 && rc != MDB_NOTFOUND) {
        return rc;
    }

    json_array_close(j);
    json_key(j, "next_cursor");

    if (next) {
        snprintf(buf, sizeof(buf), "%llu", (unsigned long long) next);
        json_cstring(j, buf);

    } else {
        json_null(j);
    }

    json_map_close(j);

    return 0;
}


static void
api_status(api_t *api, struct evhttp_request *req, MDB_txn *txn)
{
    int        rc;
    char       tbuf[TIME_STR_MAX];
    json_t    *j;
    MDB_txn   *stxn;
    uint64_t   consumed, lost, invalid, src_seq, last_seq, last_time,
               trimmed, dropped, overflow, failed, consumer_seq;

    if ((rc = store_meta_get(api->own, txn, STORE_META_CONSUMED, &consumed))
        || (rc = store_meta_get(api->own, txn, STORE_META_LOST, &lost))
        || (rc = store_meta_get(api->own, txn, STORE_META_INVALID, &invalid))
        || (rc = store_meta_get(api->own, txn, STORE_META_SRC_SEQ, &src_seq)))
    {
        log_warnx("%s: reading own meta failed: %s", __func__,
                  mdb_strerror(rc));
        api_error(req, HTTP_INTERNAL, "internal error", NULL);
        return;
    }

    if (api->src->env == NULL) {
        api_error(req, HTTP_SERVUNAVAIL, "shared store unavailable", NULL);
        return;
    }

    rc = keryu_store_txn_begin(api->src, MDB_RDONLY, &stxn);
    if (rc != 0) {
        log_warnx("%s: mdb_txn_begin() on shared store failed: %s",
                  __func__, keryu_store_strerror(rc));
        api_error(req, HTTP_INTERNAL, "internal error", NULL);
        return;
    }

    if ((rc = keryu_store_meta_get(api->src, stxn, KERYU_META_LAST_SEQ,
                                   &last_seq))
        || (rc = keryu_store_meta_get(api->src, stxn, KERYU_META_LAST_TIME,
                                      &last_time))
        || (rc = keryu_store_meta_get(api->src, stxn, KERYU_META_TRIMMED,
                                      &trimmed))
        || (rc = keryu_store_meta_get(api->src, stxn, KERYU_META_DROPPED,
                                      &dropped))
        || (rc = keryu_store_meta_get(api->src, stxn, KERYU_META_OVERFLOW,
                                      &overflow))
        || (rc = keryu_store_meta_get(api->src, stxn, KERYU_META_FAILED,
                                      &failed))
        || (rc = keryu_store_meta_get(api->src, stxn,
                                      KERYU_META_CONSUMER_SEQ,
                                      &consumer_seq)))
    {
        mdb_txn_abort(stxn);
        log_warnx("%s: reading shared meta failed: %s", __func__,
                  keryu_store_strerror(rc));
        api_error(req, HTTP_INTERNAL, "internal error", NULL);
        return;
    }

    mdb_txn_abort(stxn);

    j = json_new();
    if (j == NULL) {
        log_warnx("%s: json_new() failed", __func__);
        api_error(req, HTTP_INTERNAL, "internal error", NULL);
        return;
    }

    json_map_open(j);

    json_key(j, "keryud");
    json_map_open(j);
    json_key(j, "uptime");
    json_uint(j, (uint64_t) (time(NULL) - api->started));
    json_key(j, "consumed");
    json_uint(j, consumed);
    json_key(j, "lost");
    json_uint(j, lost);
    json_key(j, "invalid");
    json_uint(j, invalid);
    json_key(j, "last_seq");
    json_uint(j, src_seq);
    json_map_close(j);

    json_key(j, "store");
    json_map_open(j);
    json_key(j, "last_seq");
    json_uint(j, last_seq);
    json_key(j, "last_time");

    if (last_time) {
        json_string(j, (uint8_t *) tbuf, time_format(last_time, tbuf));

    } else {
        json_null(j);
    }

    json_key(j, "trimmed");
    json_uint(j, trimmed);
    json_key(j, "dropped");
    json_uint(j, dropped);
    json_key(j, "overflow");
    json_uint(j, overflow);
    json_key(j, "failed");
    json_uint(j, failed);
    json_key(j, "lag");
    json_uint(j, last_seq > consumer_seq ? last_seq - consumer_seq : 0);
    json_map_close(j);

    json_map_close(j);

    api_reply(req, HTTP_OK, j);

    json_free(j);
}


/* sends j, or a fixed 500 if building it failed */

static void
api_reply(struct evhttp_request *req, int code, json_t *j)
{
    size_t          len;
    const uint8_t  *buf;

    if (json_result(j, &buf, &len) == -1) {
        log_warnx("%s: %s", __func__, json_error(j));
        api_send(req, HTTP_INTERNAL, API_INTERNAL_BODY,
                 sizeof(API_INTERNAL_BODY) - 1);
        return;
    }

    api_send(req, code, buf, len);
}


static void
api_send(struct evhttp_request *req, int code, const void *buf, size_t len)
{
    struct evbuffer   *body;
    struct evkeyvalq  *h;

    body = evbuffer_new();
    if (body == NULL) {
        log_warnx("%s: evbuffer_new() failed", __func__);
        evhttp_send_error(req, HTTP_INTERNAL, NULL);
        return;
    }

    if (evbuffer_add(body, buf, len) == -1) {
        log_warnx("%s: evbuffer_add() failed", __func__);
        evbuffer_free(body);
        evhttp_send_error(req, HTTP_INTERNAL, NULL);
        return;
    }

    h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Content-Type", "application/json");
    evhttp_add_header(h, "Cache-Control", "no-store");

    if (code == API_UNAUTHORIZED) {
        evhttp_add_header(h, "WWW-Authenticate", "Bearer");
    }

    evhttp_send_reply(req, code, NULL, body);

    evbuffer_free(body);
}


static void
api_error(struct evhttp_request *req, int code, const char *reason,
    const char *param)
{
    api_error_field(req, code, reason, param ? "parameter" : NULL, param);
}


/* {"error":reason}, and key: value when key is not NULL */

static void
api_error_field(struct evhttp_request *req, int code, const char *reason,
    const char *key, const char *value)
{
    json_t  *j;

    j = json_new();
    if (j == NULL) {
        log_warnx("%s: json_new() failed", __func__);
        api_send(req, HTTP_INTERNAL, API_INTERNAL_BODY,
                 sizeof(API_INTERNAL_BODY) - 1);
        return;
    }

    json_map_open(j);
    json_key(j, "error");
    json_cstring(j, reason);

    if (key) {
        json_key(j, key);
        json_cstring(j, value);
    }

    json_map_close(j);

    api_reply(req, code, j);

    json_free(j);
}


static void
api_policy_list(api_t *api, struct evhttp_request *req)
{
    char     err[KERYU_POLICY_ERR_MAX];
    json_t  *j;

    j = json_new();
    if (j == NULL) {
        log_warnx("%s: json_new() failed", __func__);
        api_error(req, HTTP_INTERNAL, "internal error", NULL);
        return;
    }

    json_map_open(j);
    json_key(j, "items");
    json_array_open(j);

    if (policy_each(api->src, api_policy_item, j, err, sizeof(err))
        != POLICY_OK)
    {
        log_warnx("%s: %s", __func__, err);
        api_error(req, HTTP_INTERNAL, "internal error", NULL);
        goto json_free;
    }

    json_array_close(j);
    json_map_close(j);

    api_reply(req, HTTP_OK, j);

json_free:

    json_free(j);
}


static int
api_policy_item(void *ctx, const char *name, size_t namelen,
    const char *doc, size_t len)
{
    json_t  *j = ctx;

    (void) name;
    (void) namelen;

    json_details(j, (const uint8_t *) doc, len);

    return 0;
}


/* POST (name is NULL) creates a policy, PUT replaces the one named */

static void
api_policy_write(api_t *api, struct evhttp_request *req, const char *name)
{
    int               rc;
    char              err[KERYU_POLICY_ERR_MAX + 64];
    size_t            len;
    json_t           *j;
    const char       *body;
    struct evbuffer  *in;

    in = evhttp_request_get_input_buffer(req);
    len = evbuffer_get_length(in);

    if (len > API_BODY_MAX) {
        api_error(req, 413, "body too large", NULL);
        return;
    }

    if (len == 0) {
        api_error_field(req, HTTP_BADREQUEST, "invalid policy", "reason",
                        "empty body");
        return;
    }

    body = (const char *) evbuffer_pullup(in, -1);
    if (body == NULL) {
        log_warnx("%s: evbuffer_pullup() failed", __func__);
        api_error(req, HTTP_INTERNAL, "internal error", NULL);
        return;
    }

    j = json_new();
    if (j == NULL) {
        log_warnx("%s: json_new() failed", __func__);
        api_error(req, HTTP_INTERNAL, "internal error", NULL);
        return;
    }

    err[0] = '\0';

    rc = policy_write(api->src, body, len,
                      name ? POLICY_REPLACE : POLICY_CREATE, name,
                      api_policy_stored, j, err, sizeof(err));

    switch (rc) {

    case POLICY_OK:
        api_reply(req, name ? HTTP_OK : 201, j);
        break;

    case POLICY_INVALID:
        log_debug("%s: invalid policy: %s", __func__, err);
        api_error_field(req, HTTP_BADREQUEST, "invalid policy", "reason",
                        err);
        break;

    case POLICY_MISMATCH:
        api_error(req, HTTP_BADREQUEST, "name mismatch", NULL);
        break;

    case POLICY_EXISTS:
        api_error(req, 409, "policy exists", NULL);
        break;

    case POLICY_MISSING:
        api_error(req, HTTP_NOTFOUND, "not found", NULL);
        break;

    default:
        log_warnx("%s: %s", __func__, err);
        api_error(req, HTTP_INTERNAL, "internal error", NULL);
        break;
    }

    json_free(j);
}


static void
api_policy_stored(void *ctx, const char *name, int existed, const char *doc,
    size_t len)
{
    json_t  *j = ctx;

    log_info("policy \"%s\" %s through the API", name,
             existed ? "replaced" : "created");

    json_details(j, (const uint8_t *) doc, len);
}


static void
api_policy_delete(api_t *api, struct evhttp_request *req, const char *name)
{
    int   rc;
    char  err[KERYU_POLICY_ERR_MAX];

    rc = policy_remove(api->src, name, err, sizeof(err));

    if (rc == POLICY_MISSING) {
        api_error(req, HTTP_NOTFOUND, "not found", NULL);
        return;
    }

    if (rc != POLICY_OK) {
        log_warnx("%s: %s", __func__, err);
        api_error(req, HTTP_INTERNAL, "internal error", NULL);
        return;
    }

    log_info("policy \"%s\" deleted through the API", name);

    evhttp_add_header(evhttp_request_get_output_headers(req),
                      "Cache-Control", "no-store");
    evhttp_send_reply(req, HTTP_NOCONTENT, NULL, NULL);
}


static void
api_decision_list(api_t *api, struct evhttp_request *req)
{
    int      rc;
    size_t   bad;
    json_t  *j;

    j = json_new();
    if (j == NULL) {
        log_warnx("%s: json_new() failed", __func__);
        api_error(req, HTTP_INTERNAL, "internal error", NULL);
        return;
    }

    json_map_open(j);
    json_key(j, "items");
    json_array_open(j);

    rc = admin_block_each(api->src, api_decision_item, j, &bad);
    if (rc != 0) {
        log_warnx("%s: reading blocks failed: %s", __func__,
                  keryu_store_strerror(rc));
        api_error(req, HTTP_INTERNAL, "internal error", NULL);
        goto json_free;
    }

    if (bad) {
        log_info("%zu entries of blocks do not decode", bad);
    }

    json_array_close(j);
    json_map_close(j);

    api_reply(req, HTTP_OK, j);

json_free:

    json_free(j);
}


/* one block as the API shows it */

static int
api_decision_item(void *ctx, const admin_target_t *tg, const keryu_block_t *b)
{
    json_t  *j = ctx;

    char     tbuf[TIME_STR_MAX];

    json_map_open(j);

    json_key(j, "type");
    json_cstring(j, tg->is_user ? "user" : "ip");

    json_key(j, "value");

    if (tg->is_user) {
        json_string(j, tg->key + 1, tg->key_len - 1);

    } else {
        json_cstring(j, tg->text);
    }

    json_key(j, "expires");

    if (b->expires_us) {
        admin_time(b->expires_us / 1000000, tbuf);
        json_cstring(j, tbuf);

    } else {
        json_null(j);
    }

    json_key(j, "created");
    admin_time(b->created_us / 1000000, tbuf);
    json_cstring(j, tbuf);

    json_key(j, "reason");
    json_string(j, (const uint8_t *) b->reason, b->reason_len);

    json_map_close(j);

    return 0;
}


static void
api_decision_add(api_t *api, struct evhttp_request *req)
{
    int                  rc, exists;
    char                *v[4], bad[64], err[ADMIN_ESC_MAX + 128];
    size_t               i, len;
    json_t              *j;
    uint64_t             ttl;
    const char          *body, *reason;
    keryu_block_t        b;
    admin_target_t       tg;
    struct evbuffer     *in;

    static const char  *const  names[] = { "ip", "user", "duration",
                                           "reason" };

    in = evhttp_request_get_input_buffer(req);
    len = evbuffer_get_length(in);

    if (len > API_BODY_MAX) {
        api_error(req, 413, "body too large", NULL);
        return;
    }

    body = (const char *) evbuffer_pullup(in, -1);

    rc = json_read_strings(body ? body : "", len, names, 4, v, bad,
                           sizeof(bad));

    if (rc == -1) {
        api_error(req, HTTP_BADREQUEST, "invalid body", NULL);
        return;
    }

    if (rc == -2) {
        api_error_field(req, HTTP_BADREQUEST, "invalid field", "field", bad);
        return;
    }

    if (v[0] == NULL && v[1] == NULL) {
        api_error_field(req, HTTP_BADREQUEST, "missing field", "field", "ip");
        goto values_free;
    }

    if (v[0] != NULL && v[1] != NULL) {
        api_error_field(req, HTTP_BADREQUEST, "invalid field", "field",
                        "user");
        goto values_free;
    }

    rc = admin_target_parse(&tg, v[0], v[1], err, sizeof(err));

    if (rc == -1) {
        log_debug("%s: %s", __func__, err);
        api_error_field(req, HTTP_BADREQUEST, "invalid field", "field",
                        v[0] ? "ip" : "user");
        goto values_free;
    }

    ttl = 0;

    if (v[2] && admin_duration_parse(v[2], &ttl) == -1) {
        api_error_field(req, HTTP_BADREQUEST, "invalid field", "field",
                        "duration");
        goto values_free;
    }

    reason = v[3] ? v[3] : "manual";

    if (admin_reason_check(reason, err, sizeof(err)) == -1) {
        api_error_field(req, HTTP_BADREQUEST, "invalid field", "field",
                        "reason");
        goto values_free;
    }

    rc = admin_block_put(api->src, &tg, ttl, reason, &b, &exists);
    if (rc != 0) {
        log_warnx("%s: writing a block failed: %s", __func__,
                  keryu_store_strerror(rc));
        api_error(req, HTTP_INTERNAL, "internal error", NULL);
        goto values_free;
    }

    log_info("block %s %s %s through the API", tg.is_user ? "user" : "ip",
             tg.text, exists ? "replaced" : "added");

    j = json_new();
    if (j == NULL) {
        log_warnx("%s: json_new() failed", __func__);
        api_error(req, HTTP_INTERNAL, "internal error", NULL);
        goto values_free;
    }

    api_decision_item(j, &tg, &b);

    api_reply(req, 201, j);

    json_free(j);

values_free:

    for (i = 0; i < 4; i++) {
        free(v[i]);
    }
}


static void
api_decision_delete(api_t *api, struct evhttp_request *req)
{
    int                 rc;
    char                err[ADMIN_ESC_MAX + 128];
    const char         *qs, *ip, *user;
    admin_target_t      tg;
    struct evkeyval    *kv;
    struct evkeyvalq    q;

    qs = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));

    memset(&q, 0, sizeof(struct evkeyvalq));

    if (qs == NULL || evhttp_parse_query_str(qs, &q) == -1) {
        api_error(req, HTTP_BADREQUEST, "invalid query", NULL);
        goto query_free;
    }

    ip = NULL;
    user = NULL;

    for (kv = q.tqh_first; kv; kv = kv->next.tqe_next) {
        if (strcmp(kv->key, "ip") == 0 && ip == NULL && user == NULL) {
            ip = kv->value;

        } else if (strcmp(kv->key, "user") == 0 && ip == NULL
                   && user == NULL)
        {
            user = kv->value;

        } else if (strcmp(kv->key, "ip") == 0
                   || strcmp(kv->key, "user") == 0)
        {
            api_error(req, HTTP_BADREQUEST, "invalid parameter", kv->key);
            goto query_free;

        } else {
            api_error(req, HTTP_BADREQUEST, "unknown parameter", kv->key);
            goto query_free;
        }
    }

    if (ip == NULL && user == NULL) {
        api_error(req, HTTP_BADREQUEST, "invalid query", NULL);
        goto query_free;
    }

    if (admin_target_parse(&tg, ip, user, err, sizeof(err)) == -1) {
        log_debug("%s: %s", __func__, err);
        api_error(req, HTTP_BADREQUEST, "invalid parameter",
                  ip ? "ip" : "user");
        goto query_free;
    }

    rc = admin_block_remove(api->src, &tg);

    if (rc == MDB_NOTFOUND) {
        api_error(req, HTTP_NOTFOUND, "not found", NULL);
        goto query_free;
    }

    if (rc != 0) {
        log_warnx("%s: deleting a block failed: %s", __func__,
                  keryu_store_strerror(rc));
        api_error(req, HTTP_INTERNAL, "internal error", NULL);
        goto query_free;
    }

    log_info("block %s %s deleted through the API",
             tg.is_user ? "user" : "ip", tg.text);

    evhttp_add_header(evhttp_request_get_output_headers(req),
                      "Cache-Control", "no-store");
    evhttp_send_reply(req, HTTP_NOCONTENT, NULL, NULL);

query_free:

    evhttp_clear_headers(&q);
}
