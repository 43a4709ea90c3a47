/*
 * Copyright (C) Keryu Security
 *
 * The HTTP API.  Every request carries "Authorization: Bearer TOKEN";
 * the token is checked before the path, so a client without one learns
 * nothing about the API.  Each request runs in one short read transaction
 * on keryud's own store, and the status and metrics endpoints in one more
 * on the shared store.  Every answer but the metrics is JSON, errors
 * included: {"error":"<reason>"}, with "parameter" naming a bad query
 * parameter.
 *
 *   GET /api/security/logs/     every record; admin and auditor
 *   GET /api/security/events/   records that are not plain requests
 *   GET /api/security/status/   counters of keryud, the shared store, the
 *                               nginx workers, keys, alerts (metrics.c)
 *   GET /api/security/metrics   the same and more in the Prometheus text
 *                               format; admin and auditor
 *
 *   GET    /api/security/policies/        stored policies; admin, auditor
 *   POST   /api/security/policies/        a new policy; admin
 *   PUT    /api/security/policies/NAME/   replaces a policy; admin
 *   DELETE /api/security/policies/NAME/   admin
 *   POST   /api/security/policies/validate/  checks a policy, stores
 *                                             nothing; admin
 *
 *   GET /api/security/whoami/   the token's name and role
 *
 *   GET    /api/security/tokens/        tokens' names, roles, times; admin,
 *                                       auditor
 *   POST   /api/security/tokens/        a new token, shown once; admin
 *   DELETE /api/security/tokens/NAME/   revokes a token; admin
 *
 *   GET    /api/security/apikeys/        API keys' names, roles, times,
 *                                        never the key; admin, auditor
 *   POST   /api/security/apikeys/        a new API key, shown once; admin
 *   DELETE /api/security/apikeys/NAME/   revokes an API key; admin
 *
 *   GET /api/security/metrics/history/[?since=T]  the sampled history of
 *                               key metrics (metrics.h); admin, auditor
 *
 *   GET    /api/security/policies/suggestions/  changes that shadow
 *                                  validation hits call for (suggest.h);
 *                                  admin, auditor
 *
 *   GET    /api/security/decisions/       blocks; admin, auditor
 *   POST   /api/security/decisions/       blocks an address or a user; admin
 *   DELETE /api/security/decisions/?ip=ADDR[/PREFIX] or ?user=NAME; admin
 *
 *   GET    /api/security/integrity/[?full=0]  recomputes the hash chain of
 *                                             logs (chain.c); admin, auditor
 *   DELETE /api/security/subjects/USER/   erases a data subject's records;
 *                                         admin
 *
 *   GET  /api/security/compliance/, POST .../compliance/run, audits,
 *   reports and the risk register: comply_api.h lists them
 *
 *   GET  /api/security/keys/            keys' metadata; admin, auditor
 *   POST /api/security/keys/rotate/     {"key_type":...}; admin
 *   POST /api/security/keys/backup/     {"passphrase":...}; admin
 *   POST /api/security/keys/validate/   admin (keys.c does the work)
 *
 * Paths under /dashboard/ are the dashboard's static files (dashboard.c),
 * served without a token.
 *
 * Policies are checked and written by policy.c, the code behind "keryud
 * policy", so the API and the command line accept exactly the same;
 * decisions by admin.c's block code, the code behind "keryud block", and
 * API keys by its apikey code, the code behind "keryud apikey".
 *
 * A client address that earns API_AUTH_FAILURES 401s within
 * API_AUTH_WINDOW seconds is answered 429, token unchecked, until
 * API_AUTH_WINDOW seconds after its last 401.  The addresses live in a
 * fixed table that evicts the oldest, so a flood of addresses costs no
 * memory and at worst frees one of them early.
 *
 * With "tls_certificate" and "tls_key", every connection is TLS (tls.c),
 * and a request that reached keryud in the clear anyway is answered 500
 * before its token is looked at.
 */


#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "admin.h"
#include "api.h"
#include "alert.h"
#include "respond.h"
#include "change.h"
#include "keys.h"
#include "chain.h"
#include "comply_api.h"
#include "dashboard.h"
#include "history.h"
#include "jtree.h"
#include "log.h"
#include "metrics.h"
#include "keryu_policy.h"
#include "policy.h"
#include "suggest.h"
#include "tls.h"


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

/* a name in a path: a policy's and an alert's are shorter, a user's not */
#define API_NAME_MAX     1024

#define API_INTERNAL_BODY  "{\"error\":\"internal error\"}"
#define API_METRICS_TYPE   "text/plain; version=0.0.4; charset=utf-8"


typedef enum {
    API_LOGS = 0,
    API_EVENTS,
    API_STATUS,
    API_POLICIES,
    API_DECISIONS,
    API_ALERTS,
    API_KEYS,
    API_KEYS_ROTATE,
    API_KEYS_BACKUP,
    API_KEYS_VALIDATE,
    API_METRICS,
    API_INTEGRITY,
    API_SUBJECTS,
    API_COMPLIANCE,
    API_COMPLIANCE_RUN,
    API_AUDITS,
    API_REPORTS,
    API_REPORT_FILE,
    API_RISK,
    API_POLICY_VALIDATE,
    API_WHOAMI,
    API_TOKENS,
    API_SUGGESTIONS,
    API_APIKEYS,
    API_METRICS_HISTORY
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


/* one source of ids for a listing, newest first */

typedef struct {
    MDB_cursor         *cur;
    uint64_t            id;         /* the id under cur; 0: used up */
    MDB_val             val;        /* the record, when cur walks logs */
} api_walk_src_t;


/* a listing's walk: logs itself, or one or more keys of one index */

#define API_WALK_MAX  KERYU_EVENT_MAX

typedef struct {
    MDB_txn            *txn;
    MDB_dbi             logs;
    int                 index;      /* 0: the sources walk logs */
    unsigned            nsrc;
    api_walk_src_t      src[API_WALK_MAX];
} api_walk_t;


struct api_s {
    struct evhttp      *http;
    tls_t              *tls;          /* NULL: plain HTTP */
    store_t            *own;
    keryu_store_t      *src;
    time_t              started;
    struct respond_s   *respond;
    consumer_t         *consumer;     /* NULL: no consumer counts */
    notify_t           *notify;       /* NULL: no notifications */
    keys_t             *keys;         /* NULL or off: 503 */
    struct comply_s    *comply;       /* NULL: compliance answers 503 */
    dashboard_t        *dashboard;    /* NULL: none installed */
    history_t          *history;      /* NULL: metrics_interval off */
    struct event       *history_ev;
    metrics_api_t       calls;
    char                actor[TOKEN_NAME_MAX + 1];  /* the request's token */
    api_auth_fail_t     fails[API_AUTH_SLOTS];
};


/* what the policy handlers hand to policy_write()'s callback */

typedef struct {
    api_t                  *api;
    struct evhttp_request  *req;
    json_t                 *json;
    char                   *before;       /* the replaced document */
    size_t                  before_len;
    unsigned                status;
} api_policy_ctx_t;


/* keryud is one thread: one buffer serves every record this file opens */
static store_rbuf_t  api_rbuf;


static void api_dispatch(struct evhttp_request *req, void *arg);
static void api_handle(api_t *api, struct evhttp_request *req);
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
static int api_walk_open(api_walk_t *w, store_t *st, MDB_txn *txn,
    const query_t *q, int events_only);
static int api_walk_logs(api_walk_src_t *s, uint64_t cursor);
static int api_walk_key(api_walk_src_t *s, uint8_t *k, size_t klen,
    uint64_t cursor);
static int api_walk_id(api_walk_src_t *s, int rc, const MDB_val *id);
static api_walk_src_t *api_walk_top(api_walk_t *w);
static int api_walk_record(api_walk_t *w, api_walk_src_t *s, MDB_val *val);
static int api_walk_next(api_walk_t *w, api_walk_src_t *s);
static void api_walk_close(api_walk_t *w);
static void api_status(api_t *api, struct evhttp_request *req, MDB_txn *txn);
static void api_metrics(api_t *api, struct evhttp_request *req,
    MDB_txn *txn);
static void api_reply(struct evhttp_request *req, int code, json_t *j);
static void api_send(struct evhttp_request *req, int code, const void *buf,
    size_t len);
static void api_error(struct evhttp_request *req, int code,
    const char *reason, const char *param);
static void api_error_field(struct evhttp_request *req, int code,
    const char *reason, const char *key, const char *value);
static int api_read_fields(struct evhttp_request *req, const char *body,
    size_t len, const char *const *names, size_t n, char **v);
static const api_route_t *api_route(const char *path, char *name,
    size_t namelen);
static int api_auditor_writes(int endpoint, unsigned cmd);
static void api_policy_validate(struct evhttp_request *req);
static void api_whoami(api_t *api, struct evhttp_request *req, role_e role);
static void api_token_list(api_t *api, struct evhttp_request *req,
    MDB_txn *txn);
static int api_token_item(void *ctx, role_e role, const char *name,
    size_t name_len, time_t created, time_t expires);
static void api_token_json(json_t *j, role_e role, const char *name,
    time_t created, time_t expires);
static void api_token_create(api_t *api, struct evhttp_request *req);
static void api_token_revoke(api_t *api, struct evhttp_request *req,
    const char *name);
static void api_history_start(api_t *api, struct event_base *base,
    unsigned interval);
static void api_history_tick(evutil_socket_t fd, short what, void *arg);
static void api_metrics_history(api_t *api, struct evhttp_request *req);
static void api_apikey_list(api_t *api, struct evhttp_request *req);
static int api_apikey_item(void *ctx, const admin_apikey_info_t *ai);
static void api_apikey_json(json_t *j, const admin_apikey_info_t *ai);
static void api_apikey_create(api_t *api, struct evhttp_request *req);
static void api_apikey_revoke(api_t *api, struct evhttp_request *req,
    const char *name);
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
static void api_changed(api_t *api, struct evhttp_request *req,
    const char *action, const char *target, const char *before,
    size_t before_len, const char *after, size_t after_len, unsigned status);
static json_t *api_block_json(api_t *api, const admin_target_t *tg);
static void api_changed_json(api_t *api, struct evhttp_request *req,
    const char *action, const char *target, json_t *before, json_t *after,
    unsigned status);
static void api_alert_list(api_t *api, struct evhttp_request *req,
    MDB_txn *txn);
static int api_alert_item(void *ctx, const alert_t *a);
static void api_alert_get(api_t *api, struct evhttp_request *req,
    MDB_txn *txn, const char *name);
static void api_alert_create(api_t *api, struct evhttp_request *req);
static void api_alert_update(api_t *api, struct evhttp_request *req,
    const char *name);
static void api_alert_delete(api_t *api, struct evhttp_request *req,
    const char *name);
static int api_alert_id(const char *name, uint64_t *id);
static json_t *api_alert_json(api_t *api, uint64_t id);
static const char *api_body(struct evhttp_request *req, size_t *len);
static void api_keys(api_t *api, struct evhttp_request *req, int endpoint);
static void api_keys_list(api_t *api, struct evhttp_request *req);
static void api_keys_rotate(api_t *api, struct evhttp_request *req);
static void api_keys_backup(api_t *api, struct evhttp_request *req);
static void api_keys_validate(api_t *api, struct evhttp_request *req);
static void api_keys_check(void *ctx, const keys_check_t *c);
static void api_integrity(api_t *api, struct evhttp_request *req,
    MDB_txn *txn);
static void api_subject_erase(api_t *api, struct evhttp_request *req,
    const char *name);


static const api_route_t  api_routes[] = {
    { "/api/security/logs/",      API_LOGS,      1, API_GET, 0 },
    { "/api/security/logs",       API_LOGS,      1, API_GET, 0 },
    { "/api/security/events/",    API_EVENTS,    0, API_GET, 0 },
    { "/api/security/events",     API_EVENTS,    0, API_GET, 0 },
    { "/api/security/status/",    API_STATUS,    0, API_GET, 0 },
    { "/api/security/status",     API_STATUS,    0, API_GET, 0 },
    { "/api/security/metrics/",   API_METRICS,   1, API_GET, 0 },
    { "/api/security/metrics",    API_METRICS,   1, API_GET, 0 },
    { "/api/security/policies/validate/", API_POLICY_VALIDATE, 1,
      EVHTTP_REQ_POST, 0 },
    { "/api/security/policies/validate",  API_POLICY_VALIDATE, 1,
      EVHTTP_REQ_POST, 0 },
    { "/api/security/whoami/",    API_WHOAMI,    0, API_GET, 0 },
    { "/api/security/whoami",     API_WHOAMI,    0, API_GET, 0 },
    { "/api/security/tokens/",    API_TOKENS,    1,
      API_GET | EVHTTP_REQ_POST, EVHTTP_REQ_DELETE },
    { "/api/security/tokens",     API_TOKENS,    1,
      API_GET | EVHTTP_REQ_POST, EVHTTP_REQ_DELETE },
    { "/api/security/apikeys/",   API_APIKEYS,   1,
      API_GET | EVHTTP_REQ_POST, EVHTTP_REQ_DELETE },
    { "/api/security/apikeys",    API_APIKEYS,   1,
      API_GET | EVHTTP_REQ_POST, 0 },
    { "/api/security/metrics/history/", API_METRICS_HISTORY, 1, API_GET, 0 },
    { "/api/security/metrics/history",  API_METRICS_HISTORY, 1, API_GET, 0 },
    /* before the policies: exact paths are matched first */
    { "/api/security/policies/suggestions/", API_SUGGESTIONS, 1,
      API_GET | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE, 0 },
    { "/api/security/policies/suggestions",  API_SUGGESTIONS, 1,
      API_GET | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE, 0 },
    { "/api/security/policies/",  API_POLICIES,  1,
      EVHTTP_REQ_GET | EVHTTP_REQ_POST, EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE },
    { "/api/security/policies",   API_POLICIES,  1,
      EVHTTP_REQ_GET | EVHTTP_REQ_POST, 0 },
    { "/api/security/decisions/", API_DECISIONS, 1,
      EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_DELETE, 0 },
    { "/api/security/decisions",  API_DECISIONS, 1,
      EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_DELETE, 0 },
    { "/api/security/alerts/",    API_ALERTS,    0,
      EVHTTP_REQ_GET | EVHTTP_REQ_POST,
      EVHTTP_REQ_GET | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE },
    { "/api/security/alerts",     API_ALERTS,    0,
      EVHTTP_REQ_GET | EVHTTP_REQ_POST, 0 },
    { "/api/security/keys/",      API_KEYS,      1, API_GET, 0 },
    { "/api/security/keys",       API_KEYS,      1, API_GET, 0 },
    { "/api/security/keys/rotate/", API_KEYS_ROTATE, 1, EVHTTP_REQ_POST, 0 },
    { "/api/security/keys/rotate",  API_KEYS_ROTATE, 1, EVHTTP_REQ_POST, 0 },
    { "/api/security/keys/backup/", API_KEYS_BACKUP, 1, EVHTTP_REQ_POST, 0 },
    { "/api/security/keys/backup",  API_KEYS_BACKUP, 1, EVHTTP_REQ_POST, 0 },
    { "/api/security/keys/validate/", API_KEYS_VALIDATE, 1,
      EVHTTP_REQ_POST, 0 },
    { "/api/security/keys/validate",  API_KEYS_VALIDATE, 1,
      EVHTTP_REQ_POST, 0 },
    { "/api/security/integrity/", API_INTEGRITY, 1, API_GET, 0 },
    { "/api/security/integrity",  API_INTEGRITY, 1, API_GET, 0 },
    { "/api/security/subjects/",  API_SUBJECTS,  1, 0, EVHTTP_REQ_DELETE },
    { "/api/security/compliance/", API_COMPLIANCE, 1, API_GET, 0 },
    { "/api/security/compliance",  API_COMPLIANCE, 1, API_GET, 0 },
    { "/api/security/compliance/run",  API_COMPLIANCE_RUN, 1,
      EVHTTP_REQ_POST, 0 },
    { "/api/security/compliance/run/", API_COMPLIANCE_RUN, 1,
      EVHTTP_REQ_POST, 0 },
    { "/api/security/audits/",    API_AUDITS,    1,
      EVHTTP_REQ_GET | EVHTTP_REQ_POST,
      EVHTTP_REQ_GET | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE },
    { "/api/security/audits",     API_AUDITS,    1,
      EVHTTP_REQ_GET | EVHTTP_REQ_POST, 0 },
    { "/api/security/reports/",   API_REPORT_FILE, 1, 0, EVHTTP_REQ_GET },
    { "/api/security/reports/",   API_REPORTS,   1,
      EVHTTP_REQ_GET | EVHTTP_REQ_POST, EVHTTP_REQ_GET },
    { "/api/security/reports",    API_REPORTS,   1,
      EVHTTP_REQ_GET | EVHTTP_REQ_POST, 0 },
    { "/api/security/risk/",      API_RISK,      1, API_GET, 0 },
    { "/api/security/risk",       API_RISK,      1, API_GET, 0 },
    { NULL,                       API_LOGS,      0, 0, 0 }
};


api_t *
api_new(struct event_base *base, const conf_t *cf, store_t *own,
    keryu_store_t *src)
{
    int                           one;
    api_t                        *api;
    struct evhttp_bound_socket   *bound;

    api = calloc(1, sizeof(api_t));
    if (api == NULL) {
        log_warn("%s: calloc", __func__);
        return NULL;
    }

    api->own = own;
    api->src = src;
    api->started = time(NULL);

    if (cf->tls_certificate[0]) {
        api->tls = tls_new(cf->tls_certificate, cf->tls_key);
        if (api->tls == NULL) {
            goto api_free;
        }
    }

    api->http = evhttp_new(base);
    if (api->http == NULL) {
        log_warnx("%s: evhttp_new() failed", __func__);
        goto tls_free;
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

    if (api->tls) {
        evhttp_set_bevcb(api->http, tls_bufferevent, api->tls);
    }

    bound = evhttp_bind_socket_with_handle(api->http, cf->listen_addr,
                                           cf->listen_port);
    if (bound == NULL) {
        log_warn("cannot listen on %s port %u", cf->listen_addr,
                 cf->listen_port);
        goto http_free;
    }

    /*
     * accepted sockets inherit it from the listener: the last segment of
     * a reply on a kept-alive connection is not held back until the
     * client's delayed ACK of the one before
     */

    one = 1;

    if (setsockopt(evhttp_bound_socket_get_fd(bound), IPPROTO_TCP,
                   TCP_NODELAY, &one, sizeof(one))
        == -1)
    {
        log_warn("%s: setsockopt(TCP_NODELAY)", __func__);
    }

    log_info("listening on %s port %u%s", cf->listen_addr, cf->listen_port,
             api->tls ? ", tls" : "");

    api->dashboard = dashboard_new(cf->dashboard_root);

    if (cf->metrics_interval) {
        api_history_start(api, base, cf->metrics_interval);
    }

    return api;

http_free:

    evhttp_free(api->http);

tls_free:

    tls_free(api->tls);

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
    tls_free(api->tls);
    dashboard_free(api->dashboard);

    if (api->history_ev) {
        event_free(api->history_ev);
    }

    history_free(api->history);
    free(api);
}


/*
 * times each request for the metrics; libevent writes a reply from the
 * event loop, so req and its response code outlive api_handle()
 */

static void
api_dispatch(struct evhttp_request *req, void *arg)
{
    api_t            *api = arg;

    int64_t           ns;
    struct timespec   t0, t1;

    clock_gettime(CLOCK_MONOTONIC, &t0);

    api_handle(api, req);

    clock_gettime(CLOCK_MONOTONIC, &t1);

    ns = (int64_t) (t1.tv_sec - t0.tv_sec) * 1000000000
         + (t1.tv_nsec - t0.tv_nsec);

    metrics_api_observe(&api->calls, evhttp_request_get_response_code(req),
                        ns > 0 ? (uint64_t) ns : 0);
}


static void
api_handle(api_t *api, struct evhttp_request *req)
{
    int                        rc;
    char                       name[API_NAME_MAX + 1], buf[24];
    role_e                     role;
    size_t                     len;
    time_t                     wait;
    unsigned                   methods;
    MDB_txn                   *txn;
    const char                *header, *path, *token;
    enum evhttp_cmd_type       cmd;
    const api_route_t         *route;
    const struct evhttp_uri   *uri;

    /* only a connection that tls_bufferevent() failed for is plain here */

    if (api->tls && !tls_request(req)) {
        log_warnx("%s: request without TLS refused", __func__);
        api_error(req, HTTP_INTERNAL, "internal error", NULL);
        return;
    }

    path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));

    if (dashboard_match(path)) {
        dashboard_serve(api->dashboard, req, path);
        return;
    }

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

    rc = token_identify(api->own, txn, token, len, &role, api->actor,
                        sizeof(api->actor));

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

    if (route == NULL
        || (route->endpoint != API_SUBJECTS
            && strlen(name) > KERYU_POLICY_NAME_MAX))
    {
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

    } else if (role != ROLE_ADMIN
               && !(role == ROLE_AUDITOR
                    && api_auditor_writes(route->endpoint, cmd)))
    {
        log_debug("%s: role %s may not change %s", __func__,
                  token_role_name(role), path);
        api_error(req, API_FORBIDDEN, "forbidden", NULL);
        goto txn_abort;
    }

    if ((route->endpoint == API_POLICIES
         || route->endpoint == API_SUGGESTIONS
         || route->endpoint == API_DECISIONS
         || route->endpoint == API_APIKEYS)
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

    case API_SUGGESTIONS:

        /* a policy may still be called "suggestions" */

        if (cmd == EVHTTP_REQ_GET) {
            suggest_api(req, api->own, txn, api->src);

        } else if (cmd == EVHTTP_REQ_DELETE) {
            api_policy_delete(api, req, "suggestions");

        } else {
            api_policy_write(api, req, "suggestions");
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

    case API_ALERTS:
        if (cmd == EVHTTP_REQ_GET && name[0]) {
            api_alert_get(api, req, txn, name);

        } else if (cmd == EVHTTP_REQ_GET) {
            api_alert_list(api, req, txn);

        } else if (cmd == EVHTTP_REQ_POST) {
            api_alert_create(api, req);

        } else if (cmd == EVHTTP_REQ_PUT) {
            api_alert_update(api, req, name);

        } else {
            api_alert_delete(api, req, name);
        }

        break;

    case API_METRICS:
        api_metrics(api, req, txn);
        break;

    case API_KEYS:
    case API_KEYS_ROTATE:
    case API_KEYS_BACKUP:
    case API_KEYS_VALIDATE:
        api_keys(api, req, route->endpoint);
        break;

    case API_INTEGRITY:
        api_integrity(api, req, txn);
        break;

    case API_SUBJECTS:
        api_subject_erase(api, req, name);
        break;

    case API_COMPLIANCE:
        comply_api_compliance(api->comply, req);
        break;

    case API_COMPLIANCE_RUN:
        comply_api_run(api->comply, req, api->actor);
        break;

    case API_AUDITS:
        comply_api_audits(api->comply, req, name, api->actor);
        break;

    case API_REPORTS:
        comply_api_reports(api->comply, req, name, api->actor);
        break;

    case API_REPORT_FILE:
        comply_api_report_file(api->comply, req, name);
        break;

    case API_RISK:
        comply_api_risk(api->comply, req);
        break;

    case API_POLICY_VALIDATE:
        api_policy_validate(req);
        break;

    case API_WHOAMI:
        api_whoami(api, req, role);
        break;

    case API_TOKENS:
        if (cmd == EVHTTP_REQ_GET) {
            api_token_list(api, req, txn);

        } else if (cmd == EVHTTP_REQ_POST) {
            api_token_create(api, req);

        } else {
            api_token_revoke(api, req, name);
        }

        break;

    case API_APIKEYS:
        if (cmd == EVHTTP_REQ_GET) {
            api_apikey_list(api, req);

        } else if (cmd == EVHTTP_REQ_POST) {
            api_apikey_create(api, req);

        } else {
            api_apikey_revoke(api, req, name);
        }

        break;

    case API_METRICS_HISTORY:
        api_metrics_history(api, req);
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


/* what auditors may change as admins do: audits, and reports they make */

static int
api_auditor_writes(int endpoint, unsigned cmd)
{
    return (endpoint == API_AUDITS
            && (cmd == EVHTTP_REQ_POST || cmd == EVHTTP_REQ_PUT))
           || (endpoint == API_REPORTS && cmd == EVHTTP_REQ_POST);
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
        if (route->endpoint != API_REPORT_FILE
            && strcmp(route->path, path) == 0)
        {
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

        /* a report's "ID/download", or the next route: ids are plain */

        if (route->endpoint == API_REPORT_FILE) {
            if (seg == 0 || seg >= namelen || rest[seg] != '/'
                || (strcmp(rest + seg + 1, "download") != 0
                    && strcmp(rest + seg + 1, "download/") != 0))
            {
                continue;
            }

            memcpy(name, rest, seg);
            name[seg] = '\0';

            return route;
        }

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
    MDB_val          val;
    uint64_t         id, next, scanned, n;
    api_walk_t       w;
    api_walk_src_t  *s;
    keryu_record_t   rec;

    rc = api_walk_open(&w, st, txn, q, events_only);
    if (rc != 0) {
        api_walk_close(&w);
        return rc;
    }

    json_map_open(j);
    json_key(j, "items");
    json_array_open(j);

    next = 0;
    scanned = 0;
    n = 0;

    while ((s = api_walk_top(&w)) != NULL) {
        id = s->id;
        scanned++;

        rc = api_walk_record(&w, s, &val);

        if (rc == MDB_NOTFOUND) {
            log_debug("%s: index entry of missing record %llu", __func__,
                      (unsigned long long) id);

        } else if (rc != 0) {
            break;

        } else if (store_record_read(st, &val, &rec, &api_rbuf) == -1) {
            log_debug("%s: record %llu does not decode", __func__,
                      (unsigned long long) id);

        } else if ((!events_only || rec.type != KERYU_EVENT_REQUEST)
                   && query_match(q, &rec))
        {
            json_record(j, id, &rec);
            n++;
        }

        rc = api_walk_next(&w, s);
        if (rc != 0) {
            break;
        }

        if ((n == q->limit || scanned == scan_max)
            && api_walk_top(&w) != NULL)
        {
            next = id;
            break;
        }
    }

    api_walk_close(&w);

    if (rc != 0) {
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


/*
 * plans a listing: the index of the most selective filter q has (user,
 * ip, status, then event type), else for events every key of by_type but
 * requests, merged, else logs itself; then puts every source on its
 * newest id below q's cursor
 */

static int
api_walk_open(api_walk_t *w, store_t *st, MDB_txn *txn, const query_t *q,
    int events_only)
{
    int        rc;
    size_t     klen[API_WALK_MAX];
    MDB_dbi    dbi;
    uint8_t    type[API_WALK_MAX], ip[STORE_INDEX_KEY_MAX],
               user[STORE_INDEX_KEY_MAX], status[2], *key[API_WALK_MAX];
    unsigned   i, nkeys;

    memset(w, 0, sizeof(api_walk_t));

    w->txn = txn;
    w->logs = st->logs;
    w->index = 1;

    dbi = st->by_type;
    nkeys = 1;

    if (q->has_user) {
        dbi = st->by_user;
        key[0] = user;
        klen[0] = store_index_user(st, user, (uint8_t *) q->user,
                                   q->user_len);

    } else if (q->addr_family) {
        dbi = st->by_ip;
        key[0] = ip;
        klen[0] = store_index_ip(st, ip, q->addr_family, q->addr);

    } else if (q->status) {
        dbi = st->by_status;
        key[0] = status;
        klen[0] = 2;
        store_key_status(status, (unsigned) q->status);

    } else if (q->event_type != -1) {
        type[0] = (uint8_t) q->event_type;
        key[0] = type;
        klen[0] = 1;

        /* no request is an event: nothing to walk */

        if (events_only && q->event_type == KERYU_EVENT_REQUEST) {
            nkeys = 0;
        }

    } else if (events_only) {
        for (i = 0; i < KERYU_EVENT_MAX - 1; i++) {
            type[i] = (uint8_t) (KERYU_EVENT_REQUEST + 1 + i);
            key[i] = &type[i];
            klen[i] = 1;
        }

        nkeys = KERYU_EVENT_MAX - 1;

    } else {
        w->index = 0;
        w->nsrc = 1;

        rc = mdb_cursor_open(txn, st->logs, &w->src[0].cur);
        if (rc != 0) {
            w->nsrc = 0;
            return rc;
        }

        return api_walk_logs(&w->src[0], q->cursor);
    }

    /*
     * a blind index key that cannot be made finds nothing.  XXX records
     * stored before there was a master key are under plain keys, which a
     * filter no longer looks up
     */

    if (klen[0] == 0) {
        nkeys = 0;
    }

    for (i = 0; i < nkeys; i++) {
        rc = mdb_cursor_open(txn, dbi, &w->src[i].cur);
        if (rc != 0) {
            return rc;
        }

        w->nsrc++;

        rc = api_walk_key(&w->src[i], key[i], klen[i], q->cursor);
        if (rc != 0) {
            return rc;
        }
    }

    return 0;
}


/* puts s on the newest record of logs below cursor, 0 for the newest */

static int
api_walk_logs(api_walk_src_t *s, uint64_t cursor)
{
    int      rc;
    uint8_t  kbuf[8];
    MDB_val  key;

    /* a cursor names the last record shown: go on strictly below it */

    if (cursor) {
        keryu_store_key_encode(kbuf, cursor);

        key.mv_size = 8;
        key.mv_data = kbuf;

        rc = mdb_cursor_get(s->cur, &key, &s->val, MDB_SET_RANGE);

        if (rc == 0) {
            rc = mdb_cursor_get(s->cur, &key, &s->val, MDB_PREV);

        } else if (rc == MDB_NOTFOUND) {
            rc = mdb_cursor_get(s->cur, &key, &s->val, MDB_LAST);
        }

    } else {
        rc = mdb_cursor_get(s->cur, &key, &s->val, MDB_LAST);
    }

    return api_walk_id(s, rc, &key);
}


/* puts s on the newest id under key k below cursor, 0 for the newest */

static int
api_walk_key(api_walk_src_t *s, uint8_t *k, size_t klen, uint64_t cursor)
{
    int      rc;
    uint8_t  ibuf[8];
    MDB_val  key, val;

    key.mv_size = klen;
    key.mv_data = k;

    rc = mdb_cursor_get(s->cur, &key, &val, MDB_SET);
    if (rc != 0) {
        return api_walk_id(s, rc, &val);
    }

    if (cursor == 0) {
        rc = mdb_cursor_get(s->cur, &key, &val, MDB_LAST_DUP);
        return api_walk_id(s, rc, &val);
    }

    /* the first id at or above the cursor, then the one before it */

    keryu_store_key_encode(ibuf, cursor);

    val.mv_size = 8;
    val.mv_data = ibuf;

    rc = mdb_cursor_get(s->cur, &key, &val, MDB_GET_BOTH_RANGE);

    if (rc == 0) {
        rc = mdb_cursor_get(s->cur, &key, &val, MDB_PREV_DUP);

    } else if (rc == MDB_NOTFOUND) {

        /* every id of the key is below the cursor */

        key.mv_size = klen;
        key.mv_data = k;

        rc = mdb_cursor_get(s->cur, &key, &val, MDB_SET);

        if (rc == 0) {
            rc = mdb_cursor_get(s->cur, &key, &val, MDB_LAST_DUP);
        }
    }

    return api_walk_id(s, rc, &val);
}


/*
 * sets s->id from an 8-byte big-endian id after a cursor call that
 * returned rc: MDB_NOTFOUND leaves the source used up
 */

static int
api_walk_id(api_walk_src_t *s, int rc, const MDB_val *id)
{
    s->id = 0;

    if (rc == MDB_NOTFOUND) {
        return 0;
    }

    if (rc != 0) {
        return rc;
    }

    if (id->mv_size != 8) {
        return MDB_CORRUPTED;
    }

    s->id = keryu_store_key_decode(id->mv_data);

    return 0;
}


/* the source whose id is the newest, or NULL when all are used up */

static api_walk_src_t *
api_walk_top(api_walk_t *w)
{
    unsigned         i;
    api_walk_src_t  *top;

    top = NULL;

    for (i = 0; i < w->nsrc; i++) {
        if (w->src[i].id && (top == NULL || w->src[i].id > top->id)) {
            top = &w->src[i];
        }
    }

    return top;
}


/* the record under s: MDB_NOTFOUND for an index entry without one */

static int
api_walk_record(api_walk_t *w, api_walk_src_t *s, MDB_val *val)
{
    uint8_t  kbuf[8];
    MDB_val  key;

    if (!w->index) {
        *val = s->val;
        return 0;
    }

    keryu_store_key_encode(kbuf, s->id);

    key.mv_size = 8;
    key.mv_data = kbuf;

    return mdb_get(w->txn, w->logs, &key, val);
}


static int
api_walk_next(api_walk_t *w, api_walk_src_t *s)
{
    int      rc;
    MDB_val  key, val;

    if (!w->index) {
        rc = mdb_cursor_get(s->cur, &key, &s->val, MDB_PREV);
        return api_walk_id(s, rc, &key);
    }

    rc = mdb_cursor_get(s->cur, &key, &val, MDB_PREV_DUP);

    return api_walk_id(s, rc, &val);
}


static void
api_walk_close(api_walk_t *w)
{
    unsigned  i;

    for (i = 0; i < w->nsrc; i++) {
        mdb_cursor_close(w->src[i].cur);
    }

    w->nsrc = 0;
}


static void
api_status(api_t *api, struct evhttp_request *req, MDB_txn *txn)
{
    int                rc, sev;
    char               tbuf[TIME_STR_MAX];
    json_t            *j;
    unsigned           i;
    metrics_own_t      own;
    metrics_shared_t   sh;

    rc = metrics_own_read(api->own, txn, &own);
    if (rc != 0) {
        log_warnx("%s: reading own meta failed: %s", __func__,
                  mdb_strerror(rc));
        api_error(req, HTTP_INTERNAL, "internal error", NULL);
        return;
    }

    if (api->src->env == NULL) {
        api_error(req, HTTP_SERVUNAVAIL, "shared store unavailable", NULL);
        return;
    }

    rc = metrics_shared_read(api->src, &sh);
    if (rc != 0) {
        log_warnx("%s: reading the shared store failed: %s", __func__,
                  keryu_store_strerror(rc));
        api_error(req, HTTP_INTERNAL, "internal error", NULL);
        return;
    }

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
    json_key(j, "uptime_s");
    json_uint(j, (uint64_t) (time(NULL) - api->started));
    json_key(j, "consumed");
    json_uint(j, own.consumed);
    json_key(j, "lost");
    json_uint(j, own.lost);
    json_key(j, "invalid");
    json_uint(j, own.invalid);
    json_key(j, "unsealable");
    json_uint(j, own.unsealable);
    json_key(j, "expired");
    json_uint(j, own.expired);
    json_key(j, "last_seq");
    json_uint(j, own.src_seq);
    json_key(j, "lag");
    json_uint(j, sh.last_seq > own.src_seq ? sh.last_seq - own.src_seq : 0);
    json_map_close(j);

    json_key(j, "store");
    json_map_open(j);
    json_key(j, "last_seq");
    json_uint(j, sh.last_seq);
    json_key(j, "last_time");

    if (sh.last_time) {
        json_string(j, (uint8_t *) tbuf, time_format(sh.last_time, tbuf));

    } else {
        json_null(j);
    }

    json_key(j, "trimmed");
    json_uint(j, sh.trimmed);
    json_key(j, "dropped");
    json_uint(j, sh.dropped);
    json_key(j, "overflow");
    json_uint(j, sh.overflow);
    json_key(j, "failed");
    json_uint(j, sh.failed);
    json_key(j, "map_full");
    json_uint(j, sh.map_full);
    json_key(j, "lag");
    json_uint(j, sh.last_seq > sh.consumer_seq
                 ? sh.last_seq - sh.consumer_seq : 0);
    json_map_close(j);

    /* what the nginx workers write, and what they enforce */

    json_key(j, "module");
    json_map_open(j);
    json_key(j, "last_record_time");

    if (sh.last_time) {
        json_string(j, (uint8_t *) tbuf, time_format(sh.last_time, tbuf));

    } else {
        json_null(j);
    }

    json_key(j, "dropped");
    json_uint(j, sh.dropped);
    json_key(j, "overflow");
    json_uint(j, sh.overflow);
    json_key(j, "failed");
    json_uint(j, sh.failed);
    json_key(j, "nokey");
    json_uint(j, sh.nokey);
    json_key(j, "workers_crashed");
    json_uint(j, own.workers_crashed);
    json_key(j, "store_bytes");
    json_uint(j, sh.bytes);
    json_key(j, "store_map_bytes");
    json_uint(j, sh.map_bytes);
    json_key(j, "workers");
    json_array_open(j);

    for (i = 0; i < sh.nworkers; i++) {
        json_map_open(j);
        json_key(j, "pid");
        json_uint(j, sh.workers[i].pid);
        json_key(j, "config_version");
        json_uint(j, sh.workers[i].config_version);
        json_key(j, "block_version");
        json_uint(j, sh.workers[i].block_version);
        json_key(j, "reported_at");
        json_string(j, (uint8_t *) tbuf,
                    time_format(sh.workers[i].time_us, tbuf));
        json_map_close(j);
    }

    json_array_close(j);
    json_map_close(j);

    json_key(j, "keys");
    json_map_open(j);
    json_key(j, "jwt");
    json_uint(j, sh.keys);
    json_key(j, "apikeys");
    json_uint(j, sh.apikeys);
    json_key(j, "clients");
    json_uint(j, sh.clients);
    json_map_close(j);

    json_key(j, "alerts");
    json_map_open(j);

    for (i = ALERT_OPEN; i <= ALERT_RESOLVED; i++) {
        json_key(j, alert_status_name((int) i));
        json_uint(j, own.alerts[i][KERYU_SEVERITY_LOW]
                     + own.alerts[i][KERYU_SEVERITY_MEDIUM]
                     + own.alerts[i][KERYU_SEVERITY_HIGH]
                     + own.alerts[i][KERYU_SEVERITY_CRITICAL]);
    }

    json_key(j, "by_severity");
    json_map_open(j);

    for (sev = KERYU_SEVERITY_LOW; sev <= KERYU_SEVERITY_CRITICAL; sev++) {
        json_key(j, keryu_severity_name(sev));
        json_uint(j, own.alerts[ALERT_OPEN][sev]);
    }

    json_map_close(j);
    json_map_close(j);

    json_key(j, "enforcement");
    json_map_open(j);
    json_key(j, "policy_version");
    json_uint(j, sh.config_version);
    json_key(j, "block_version");
    json_uint(j, sh.block_version);
    json_key(j, "workers");
    json_uint(j, sh.nworkers);
    json_key(j, "workers_behind");
    json_uint(j, sh.behind);
    json_map_close(j);

    json_map_close(j);

    api_reply(req, HTTP_OK, j);

    json_free(j);
}


/*
 * the Prometheus text exposition (metrics.c); with the shared store away,
 * what keryud knows by itself, and keryu_shared_store_up 0
 */

static void
api_metrics(api_t *api, struct evhttp_request *req, MDB_txn *txn)
{
    int                 rc;
    metrics_t           m;
    metrics_own_t       own;
    notify_stats_t      ns;
    struct evbuffer    *body;
    metrics_shared_t    sh;
    struct evkeyvalq   *h;

    rc = metrics_own_read(api->own, txn, &own);
    if (rc != 0) {
        log_warnx("%s: reading own meta failed: %s", __func__,
                  mdb_strerror(rc));
        api_error(req, HTTP_INTERNAL, "internal error", NULL);
        return;
    }

    memset(&m, 0, sizeof(metrics_t));

    m.uptime = (uint64_t) (time(NULL) - api->started);
    m.own = &own;
    m.respond = api->respond;
    m.api = &api->calls;

    if (api->src->env) {
        rc = metrics_shared_read(api->src, &sh);

        if (rc != 0) {
            log_warnx("%s: reading the shared store failed: %s", __func__,
                      keryu_store_strerror(rc));

        } else {
            m.shared = &sh;
        }
    }

    if (api->consumer) {
        m.consume = &api->consumer->cs_stats;
    }

    notify_stats(api->notify, &ns);
    m.notify = &ns;

    body = evbuffer_new();
    if (body == NULL) {
        log_warnx("%s: evbuffer_new() failed", __func__);
        api_error(req, HTTP_INTERNAL, "internal error", NULL);
        return;
    }

    if (metrics_text(body, &m) == -1) {
        log_warnx("%s: evbuffer_add_printf() failed", __func__);
        evbuffer_free(body);
        api_error(req, HTTP_INTERNAL, "internal error", NULL);
        return;
    }

    h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Content-Type", API_METRICS_TYPE);
    evhttp_add_header(h, "Cache-Control", "no-store");

    evhttp_send_reply(req, HTTP_OK, NULL, body);

    evbuffer_free(body);
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


/*
 * reads the string members names[0..n-1] of a JSON object body into v;
 * answers 400 naming what is wrong and returns -1 for a body that is not
 * such an object or a member that is not a string or not expected
 */

static int
api_read_fields(struct evhttp_request *req, const char *body, size_t len,
    const char *const *names, size_t n, char **v)
{
    int   rc;
    char  bad[64];

    rc = json_read_strings(body, len, names, n, v, bad, sizeof(bad));

    if (rc == -1) {
        api_error(req, HTTP_BADREQUEST, "invalid body", NULL);
        return -1;
    }

    if (rc == -2) {
        api_error_field(req, HTTP_BADREQUEST, "invalid field", "field", bad);
        return -1;
    }

    return 0;
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
    int                rc;
    char               err[KERYU_POLICY_ERR_MAX + 64];
    size_t             len;
    json_t            *j;
    const char        *body;
    struct evbuffer   *in;
    api_policy_ctx_t   pc;

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

    pc.api = api;
    pc.req = req;
    pc.json = j;
    pc.status = name ? HTTP_OK : 201;
    pc.before_len = 0;
    pc.before = name ? change_policy(api->src, name, &pc.before_len) : NULL;

    rc = policy_write(api->src, body, len,
                      name ? POLICY_REPLACE : POLICY_CREATE, name,
                      api_policy_stored, &pc, err, sizeof(err));

    free(pc.before);

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
    api_policy_ctx_t  *pc = ctx;

    log_info("policy \"%s\" %s through the API", name,
             existed ? "replaced" : "created");

    json_details(pc->json, (const uint8_t *) doc, len);

    api_changed(pc->api, pc->req, existed ? "policy.replace" : "policy.create",
                name, pc->before, pc->before_len, doc, len, pc->status);
}


static void
api_policy_delete(api_t *api, struct evhttp_request *req, const char *name)
{
    int      rc;
    char     err[KERYU_POLICY_ERR_MAX], *before;
    size_t   blen;

    blen = 0;
    before = change_policy(api->src, name, &blen);

    rc = policy_remove(api->src, name, err, sizeof(err));

    if (rc == POLICY_MISSING) {
        free(before);
        api_error(req, HTTP_NOTFOUND, "not found", NULL);
        return;
    }

    if (rc != POLICY_OK) {
        free(before);
        log_warnx("%s: %s", __func__, err);
        api_error(req, HTTP_INTERNAL, "internal error", NULL);
        return;
    }

    log_info("policy \"%s\" deleted through the API", name);

    api_changed(api, req, "policy.delete", name, before, blen, NULL, 0,
                HTTP_NOCONTENT);
    free(before);

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
    char                *v[4], err[ADMIN_ESC_MAX + 128];
    size_t               i, len;
    json_t              *j, *before;
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

    if (api_read_fields(req, body ? body : "", len, names, 4, v) != 0) {
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

    before = api_block_json(api, &tg);

    rc = admin_block_put(api->src, &tg, ttl, reason, &b, &exists);
    if (rc != 0) {
        log_warnx("%s: writing a block failed: %s", __func__,
                  keryu_store_strerror(rc));
        api_error(req, HTTP_INTERNAL, "internal error", NULL);
        json_free(before);
        goto values_free;
    }

    log_info("block %s %s %s through the API", tg.is_user ? "user" : "ip",
             tg.text, exists ? "replaced" : "added");

    j = json_new();
    if (j == NULL) {
        log_warnx("%s: json_new() failed", __func__);
        api_error(req, HTTP_INTERNAL, "internal error", NULL);
        json_free(before);
        goto values_free;
    }

    api_decision_item(j, &tg, &b);

    api_reply(req, 201, j);

    api_changed_json(api, req, "decision.add", tg.text, before, j, 201);

    json_free(j);
    json_free(before);

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
    json_t             *before;
    const char         *qs, *ip, *user;
    admin_target_t      tg;
    struct evkeyval    *kv;
    struct evkeyvalq    q;

    before = NULL;

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

    before = api_block_json(api, &tg);

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

    api_changed_json(api, req, "decision.delete", tg.text, before, NULL,
                     HTTP_NOCONTENT);

query_free:

    json_free(before);

    evhttp_clear_headers(&q);
}


void
api_set_respond(api_t *api, struct respond_s *r)
{
    api->respond = r;
}


void
api_set_sources(api_t *api, consumer_t *cs, notify_t *n)
{
    api->consumer = cs;
    api->notify = n;
}


void
api_set_keys(api_t *api, struct keys_s *ks)
{
    api->keys = ks;
}


void
api_set_comply(api_t *api, struct comply_s *c)
{
    api->comply = c;
}


/* ---- keys ---- */


static void
api_keys(api_t *api, struct evhttp_request *req, int endpoint)
{
    const char        *qs;
    struct evkeyvalq   q;

    if (!keys_enabled(api->keys)) {
        api_error(req, HTTP_SERVUNAVAIL, "no master key", NULL);
        return;
    }

    /* none of them takes a parameter */

    qs = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));

    if (qs && qs[0]) {
        memset(&q, 0, sizeof(struct evkeyvalq));

        if (evhttp_parse_query_str(qs, &q) == -1 || q.tqh_first == NULL) {
            api_error(req, HTTP_BADREQUEST, "invalid query", NULL);

        } else {
            api_error(req, HTTP_BADREQUEST, "unknown parameter",
                      q.tqh_first->key);
        }

        evhttp_clear_headers(&q);
        return;
    }

    switch (endpoint) {

    case API_KEYS:
        api_keys_list(api, req);
        break;

    case API_KEYS_ROTATE:
        api_keys_rotate(api, req);
        break;

    case API_KEYS_BACKUP:
        api_keys_backup(api, req);
        break;

    default:
        api_keys_validate(api, req);
        break;
    }
}


static void
api_keys_list(api_t *api, struct evhttp_request *req)
{
    int      rc;
    json_t  *j;

    j = json_new();
    if (j == NULL) {
        api_error(req, HTTP_INTERNAL, "internal error", NULL);
        return;
    }

    rc = keys_list_json(api->keys, api->src, (uint64_t) time(NULL), j);

    if (rc != 0) {
        log_warnx("%s: listing keys failed: %s", __func__,
                  keys_strerror(rc));
        api_error(req, HTTP_INTERNAL, "internal error", NULL);

    } else {
        api_reply(req, HTTP_OK, j);
    }

    json_free(j);
}


/*
 * {"key_type":TYPE}: answers {"key_type":TYPE,"previous":KEY|null,
 * "active":KEY}, the previous key in its retired state
 */

static void
api_keys_rotate(api_t *api, struct evhttp_request *req)
{
    int          rc, type;
    char        *v[1];
    size_t       len;
    json_t      *j, *before;
    uint64_t     now;
    keys_key_t   old, cur, nk;
    const char  *body;

    static const char  *const  names[] = { "key_type" };

    body = api_body(req, &len);
    if (body == NULL) {
        return;
    }

    if (api_read_fields(req, body, len, names, 1, v) != 0) {
        return;
    }

    j = NULL;
    before = NULL;

    if (v[0] == NULL) {
        api_error_field(req, HTTP_BADREQUEST, "missing field", "field",
                        "key_type");
        goto done;
    }

    type = keys_type_parse(v[0]);

    if (type == -1) {
        api_error_field(req, HTTP_BADREQUEST, "invalid field", "field",
                        "key_type");
        goto done;
    }

    now = (uint64_t) time(NULL);

    rc = keys_rotate(api->keys, type, now, api->actor, &old, &nk);

    if (rc == KEYS_ENOROTATE) {
        api_error_field(req, 409, "not rotatable", "field", "key_type");
        goto done;
    }

    if (rc != 0) {
        log_warnx("%s: rotating the %s key failed: %s", __func__, v[0],
                  keys_strerror(rc));
        api_error(req, HTTP_INTERNAL, "internal error", NULL);
        goto done;
    }

    j = json_new();
    before = json_new();

    if (j == NULL || before == NULL) {
        api_error(req, HTTP_INTERNAL, "internal error", NULL);
        goto done;
    }

    json_map_open(j);
    json_key(j, "key_type");
    json_cstring(j, v[0]);
    json_key(j, "previous");

    if (old.version
        && keys_get(api->keys, type, old.version, &cur) == 0)
    {
        keys_key_json(api->keys, &cur, now, j);
        keys_key_json(api->keys, &old, now, before);

    } else {
        json_null(j);
        json_null(before);
    }

    json_key(j, "active");
    keys_key_json(api->keys, &nk, now, j);
    json_map_close(j);

    api_reply(req, HTTP_OK, j);

    api_changed_json(api, req, "keys.rotate", v[0], before, j, HTTP_OK);

done:

    json_free(j);
    json_free(before);
    free(v[0]);
}


/*
 * {"passphrase":"..."}: answers the backup as base64 in JSON; the
 * passphrase is wiped from the request and never logged
 */

static void
api_keys_backup(api_t *api, struct evhttp_request *req)
{
    int          rc;
    char        *v[1];
    size_t       len, plen;
    json_t      *j, *summary;
    const char  *body;

    static const char  *const  names[] = { "passphrase" };

    body = api_body(req, &len);
    if (body == NULL) {
        return;
    }

    rc = api_read_fields(req, body, len, names, 1, v);

    /* XXX yajl's own copies of the body are freed without being wiped */

    OPENSSL_cleanse((char *) body, len);

    if (rc != 0) {
        return;
    }

    j = NULL;
    summary = NULL;

    if (v[0] == NULL) {
        api_error_field(req, HTTP_BADREQUEST, "missing field", "field",
                        "passphrase");
        goto done;
    }

    plen = strlen(v[0]);

    if (plen < KEYS_PASSPHRASE_MIN || plen > KEYS_PASSPHRASE_MAX) {
        api_error_field(req, HTTP_BADREQUEST, "invalid field", "field",
                        "passphrase");
        goto done;
    }

    j = json_new();
    summary = json_new();

    if (j == NULL || summary == NULL) {
        api_error(req, HTTP_INTERNAL, "internal error", NULL);
        goto done;
    }

    rc = keys_backup_json(api->keys, v[0], plen, (uint64_t) time(NULL), j,
                          summary);
    if (rc != 0) {
        log_warnx("%s: keys backup failed: %s", __func__, keys_strerror(rc));
        api_error(req, HTTP_INTERNAL, "internal error", NULL);
        goto done;
    }

    api_reply(req, HTTP_OK, j);

    log_info("keys backup exported through the API by \"%s\"", api->actor);

    api_changed_json(api, req, "keys.backup", "all", NULL, summary, HTTP_OK);

done:

    if (v[0]) {
        OPENSSL_cleanse(v[0], strlen(v[0]));
    }

    free(v[0]);
    json_free(j);
    json_free(summary);
}


/*
 * reads every key from the store, unwraps it and round-trips a test
 * vector: {"valid":BOOL,"failed":N,"results":[...]}; 200 either way
 */

static void
api_keys_validate(api_t *api, struct evhttp_request *req)
{
    int        rc;
    json_t    *j;
    unsigned   failed;

    j = json_new();
    if (j == NULL) {
        api_error(req, HTTP_INTERNAL, "internal error", NULL);
        return;
    }

    json_map_open(j);
    json_key(j, "results");
    json_array_open(j);

    rc = keys_validate(api->keys, (uint64_t) time(NULL), api_keys_check, j,
                       &failed);
    if (rc != 0) {
        log_warnx("%s: validating keys failed: %s", __func__,
                  keys_strerror(rc));
        api_error(req, HTTP_INTERNAL, "internal error", NULL);
        json_free(j);
        return;
    }

    json_array_close(j);
    json_key(j, "failed");
    json_uint(j, failed);
    json_key(j, "valid");
    json_bool(j, failed == 0);
    json_map_close(j);

    api_reply(req, HTTP_OK, j);

    json_free(j);
}


static void
api_keys_check(void *ctx, const keys_check_t *c)
{
    json_t  *j = ctx;

    json_map_open(j);
    json_key(j, "key_type");
    json_cstring(j, keys_type_name(c->type));
    json_key(j, "version");
    json_uint(j, c->version);
    json_key(j, "kid");
    json_cstring(j, c->kid);
    json_key(j, "state");
    json_cstring(j, keys_state_name(c->state));
    json_key(j, "result");
    json_cstring(j, c->skipped ? "destroyed" : c->ok ? "ok" : "failed");
    json_key(j, "reason");

    if (c->reason) {
        json_cstring(j, c->reason);

    } else {
        json_null(j);
    }

    json_map_close(j);
}


/* ---- alerts ---- */


typedef struct {
    json_t             *json;
} api_alert_ctx_t;


/* records a change made through the API; a failure is only logged */

static void
api_changed(api_t *api, struct evhttp_request *req, const char *action,
    const char *target, const char *before, size_t before_len,
    const char *after, size_t after_len, unsigned status)
{
    int                    rc;
    const char            *uri;
    change_t               c;
    enum evhttp_cmd_type   cmd;

    cmd = evhttp_request_get_command(req);
    uri = evhttp_request_get_uri(req);

    c.actor = api->actor;
    c.action = action;
    c.target = target;
    c.before = before;
    c.before_len = before_len;
    c.after = after;
    c.after_len = after_len;
    c.method = cmd == EVHTTP_REQ_POST ? "POST"
               : cmd == EVHTTP_REQ_PUT ? "PUT"
               : cmd == EVHTTP_REQ_DELETE ? "DELETE" : "GET";
    c.uri = uri ? uri : "";
    c.addr = api_peer(req);
    c.status = status;

    rc = change_record(api->own, &c);
    if (rc != 0) {
        log_warnx("%s: recording %s of \"%s\" failed: %s", __func__, action,
                  target, mdb_strerror(rc));
    }
}


/* the stored block of tg as the decisions API shows it, or NULL */

static json_t *
api_block_json(api_t *api, const admin_target_t *tg)
{
    int             rc;
    json_t         *j;
    MDB_val         key, val;
    MDB_txn        *txn;
    keryu_block_t   b;

    if (keryu_store_txn_begin(api->src, MDB_RDONLY, &txn) != 0) {
        return NULL;
    }

    key.mv_size = tg->key_len;
    key.mv_data = (void *) tg->key;

    j = NULL;

    rc = mdb_get(txn, api->src->blocks, &key, &val);

    if (rc == 0 && keryu_block_decode(&b, val.mv_data, val.mv_size) == 0) {
        j = json_new();

        if (j) {
            api_decision_item(j, tg, &b);
        }
    }

    mdb_txn_abort(txn);

    return j;
}


/* api_changed() with before and after taken from two documents */

static void
api_changed_json(api_t *api, struct evhttp_request *req, const char *action,
    const char *target, json_t *before, json_t *after, unsigned status)
{
    size_t          blen, alen;
    const uint8_t  *b, *a;

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

    api_changed(api, req, action, target, (const char *) b, blen,
                (const char *) a, alen, status);
}


static void
api_alert_list(api_t *api, struct evhttp_request *req, MDB_txn *txn)
{
    int                 rc, sev;
    char                buf[24], *end;
    json_t             *j;
    uint64_t            next, n;
    const char         *qs;
    alert_filter_t      f;
    api_alert_ctx_t     ctx;
    struct evkeyval    *kv;
    struct evkeyvalq    q;

    memset(&f, 0, sizeof(alert_filter_t));
    memset(&q, 0, sizeof(struct evkeyvalq));

    f.limit = QUERY_LIMIT_DEFAULT;

    qs = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));

    if (qs && evhttp_parse_query_str(qs, &q) == -1) {
        api_error(req, HTTP_BADREQUEST, "invalid query", NULL);
        goto query_free;
    }

    for (kv = q.tqh_first; kv; kv = kv->next.tqe_next) {

        if (strcmp(kv->key, "status") == 0) {
            f.status = alert_status_parse(kv->value);

            if (f.status == -1) {
                api_error(req, HTTP_BADREQUEST, "invalid parameter",
                          "status");
                goto query_free;
            }

        } else if (strcmp(kv->key, "severity") == 0) {
            sev = keryu_severity_parse(kv->value);

            if (sev == -1) {
                api_error(req, HTTP_BADREQUEST, "invalid parameter",
                          "severity");
                goto query_free;
            }

            f.severity = sev;

        } else if (strcmp(kv->key, "rule") == 0) {
            f.rule = kv->value;

        } else if (strcmp(kv->key, "key") == 0) {
            f.key = kv->value;

        } else if (strcmp(kv->key, "limit") == 0) {
            errno = 0;
            n = strtoull(kv->value, &end, 10);

            if (kv->value[0] < '1' || kv->value[0] > '9' || *end != '\0'
                || errno || n > QUERY_LIMIT_MAX)
            {
                api_error(req, HTTP_BADREQUEST, "invalid parameter",
                          "limit");
                goto query_free;
            }

            f.limit = (unsigned) n;

        } else if (strcmp(kv->key, "cursor") == 0) {
            if (query_cursor_parse(kv->value, &f.cursor) == -1) {
                api_error(req, HTTP_BADREQUEST, "invalid parameter",
                          "cursor");
                goto query_free;
            }

        } else {
            api_error(req, HTTP_BADREQUEST, "unknown parameter", kv->key);
            goto query_free;
        }
    }

    j = json_new();
    if (j == NULL) {
        log_warnx("%s: json_new() failed", __func__);
        api_error(req, HTTP_INTERNAL, "internal error", NULL);
        goto query_free;
    }

    json_map_open(j);
    json_key(j, "items");
    json_array_open(j);

    ctx.json = j;

    rc = alert_list(api->own, txn, &f, api_alert_item, &ctx, &next);
    if (rc != 0) {
        log_warnx("%s: reading alerts failed: %s", __func__,
                  mdb_strerror(rc));
        api_error(req, HTTP_INTERNAL, "internal error", NULL);
        json_free(j);
        goto query_free;
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

    api_reply(req, HTTP_OK, j);

    json_free(j);

query_free:

    evhttp_clear_headers(&q);
}


static int
api_alert_item(void *ctx, const alert_t *a)
{
    api_alert_ctx_t  *c = ctx;

    alert_json(c->json, a);

    return 0;
}


static void
api_alert_get(api_t *api, struct evhttp_request *req, MDB_txn *txn,
    const char *name)
{
    int        rc;
    json_t    *j;
    alert_t    a;
    uint64_t   id;

    if (api_alert_id(name, &id) == -1) {
        api_error(req, HTTP_NOTFOUND, "not found", NULL);
        return;
    }

    rc = alert_get(api->own, txn, id, &a);

    if (rc == ALERT_MISSING) {
        api_error(req, HTTP_NOTFOUND, "not found", NULL);
        return;
    }

    if (rc != ALERT_OK) {
        api_error(req, HTTP_INTERNAL, "internal error", NULL);
        return;
    }

    j = json_new();
    if (j == NULL) {
        alert_free(&a);
        api_error(req, HTTP_INTERNAL, "internal error", NULL);
        return;
    }

    alert_json(j, &a);
    api_reply(req, HTTP_OK, j);

    json_free(j);
    alert_free(&a);
}


/*
 * an operator's own alert: {"severity", "key", "summary"} required, and
 * "rule" (default "manual") and "key_type" (default "manual")
 */

static void
api_alert_create(api_t *api, struct evhttp_request *req)
{
    int                  rc, sev, opened;
    char                *v[5], idbuf[24];
    size_t               i, len;
    json_t              *j;
    alert_t              a;
    uint64_t             now;
    const char          *body, *rule, *p;
    alert_raise_t        in;
    struct timespec      ts;

    static const char  *const  names[] = { "severity", "key", "summary",
                                           "rule", "key_type" };

    body = api_body(req, &len);
    if (body == NULL) {
        return;
    }

    if (api_read_fields(req, body, len, names, 5, v) != 0) {
        return;
    }

    for (i = 0; i < 3; i++) {
        if (v[i] == NULL) {
            api_error_field(req, HTTP_BADREQUEST, "missing field", "field",
                            names[i]);
            goto values_free;
        }
    }

    sev = keryu_severity_parse(v[0]);

    if (sev == -1) {
        api_error_field(req, HTTP_BADREQUEST, "invalid field", "field",
                        "severity");
        goto values_free;
    }

    if (v[1][0] == '\0' || strlen(v[1]) > ALERT_KEY_MAX) {
        api_error_field(req, HTTP_BADREQUEST, "invalid field", "field",
                        "key");
        goto values_free;
    }

    if (strlen(v[2]) > ALERT_SUMMARY_MAX) {
        api_error_field(req, HTTP_BADREQUEST, "invalid field", "field",
                        "summary");
        goto values_free;
    }

    rule = v[3] ? v[3] : "manual";

    for (p = rule; *p; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')
              || (*p >= '0' && *p <= '9') || *p == '.' || *p == '_'
              || *p == '-' || *p == '/'))
        {
            break;
        }
    }

    if (*p != '\0' || p == rule || p - rule > ALERT_RULE_MAX) {
        api_error_field(req, HTTP_BADREQUEST, "invalid field", "field",
                        "rule");
        goto values_free;
    }

    if (v[4] && (v[4][0] == '\0' || strlen(v[4]) >= sizeof(a.key_type))) {
        api_error_field(req, HTTP_BADREQUEST, "invalid field", "field",
                        "key_type");
        goto values_free;
    }

    clock_gettime(CLOCK_REALTIME, &ts);
    now = (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;

    memset(&in, 0, sizeof(alert_raise_t));

    in.rule = rule;
    in.severity = sev;
    in.key = v[1];
    in.key_type = v[4] ? v[4] : "manual";
    in.summary = v[2];
    in.count = 1;
    in.first_us = now;
    in.last_us = now;
    in.actor = api->actor;

    rc = respond_raise(api->respond, &in, &a, &opened);
    if (rc != 0) {
        log_warnx("%s: raising an alert failed: %s", __func__,
                  mdb_strerror(rc));
        api_error(req, HTTP_INTERNAL, "internal error", NULL);
        goto values_free;
    }

    log_info("alert %llu %s %s through the API by \"%s\"",
             (unsigned long long) a.id, a.rule, opened ? "opened" : "updated",
             api->actor);

    j = json_new();
    if (j == NULL) {
        api_error(req, HTTP_INTERNAL, "internal error", NULL);
        alert_free(&a);
        goto values_free;
    }

    alert_json(j, &a);
    api_reply(req, opened ? 201 : HTTP_OK, j);

    snprintf(idbuf, sizeof(idbuf), "%llu", (unsigned long long) a.id);
    api_changed_json(api, req, opened ? "alert.open" : "alert.update", idbuf,
                     NULL, j, opened ? 201 : HTTP_OK);

    json_free(j);
    alert_free(&a);

values_free:

    for (i = 0; i < 5; i++) {
        free(v[i]);
    }
}


/* {"status": "open|acknowledged|resolved", "note": "..."}, either or both */

static void
api_alert_update(api_t *api, struct evhttp_request *req, const char *name)
{
    int                  rc, status, from;
    char                *v[2], event[32];
    size_t               i, len;
    json_t              *j, *before;
    alert_t              a;
    uint64_t             id, now;
    const char          *body;
    struct timespec      ts;

    static const char  *const  names[] = { "status", "note" };

    before = NULL;

    if (api_alert_id(name, &id) == -1) {
        api_error(req, HTTP_NOTFOUND, "not found", NULL);
        return;
    }

    body = api_body(req, &len);
    if (body == NULL) {
        return;
    }

    if (api_read_fields(req, body, len, names, 2, v) != 0) {
        return;
    }

    if (v[0] == NULL && v[1] == NULL) {
        api_error_field(req, HTTP_BADREQUEST, "missing field", "field",
                        "status");
        goto values_free;
    }

    status = 0;

    if (v[0]) {
        status = alert_status_parse(v[0]);

        if (status == -1) {
            api_error_field(req, HTTP_BADREQUEST, "invalid field", "field",
                            "status");
            goto values_free;
        }
    }

    if (v[1] && strlen(v[1]) > ALERT_NOTE_MAX) {
        api_error_field(req, HTTP_BADREQUEST, "invalid field", "field",
                        "note");
        goto values_free;
    }

    clock_gettime(CLOCK_REALTIME, &ts);
    now = (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;

    before = api_alert_json(api, id);

    rc = alert_update(api->own, id, status, v[1], api->actor, now, &a);

    switch (rc) {

    case ALERT_OK:
        break;

    case ALERT_MISSING:
        api_error(req, HTTP_NOTFOUND, "not found", NULL);
        goto values_free;

    case ALERT_CONFLICT:
        api_error(req, 409, "another alert of this rule and key is open",
                  NULL);
        goto values_free;

    case ALERT_FULL:
        api_error(req, 409, "the alert's response log is full", NULL);
        goto values_free;

    default:
        api_error(req, HTTP_INTERNAL, "internal error", NULL);
        goto values_free;
    }

    log_info("alert %llu %s by \"%s\" through the API",
             (unsigned long long) id, alert_status_name(a.status),
             api->actor);

    from = a.nresponses ? a.responses[a.nresponses - 1].from : 0;

    snprintf(event, sizeof(event), "alert.%s",
             status == 0 || status == from ? "noted"
             : status == ALERT_OPEN ? "reopened" : alert_status_name(status));

    respond_notify(api->respond, event, &a);

    j = json_new();
    if (j == NULL) {
        api_error(req, HTTP_INTERNAL, "internal error", NULL);
        alert_free(&a);
        goto values_free;
    }

    alert_json(j, &a);
    api_reply(req, HTTP_OK, j);

    api_changed_json(api, req, "alert.update", name, before, j, HTTP_OK);

    json_free(j);
    alert_free(&a);

values_free:

    json_free(before);

    for (i = 0; i < 2; i++) {
        free(v[i]);
    }
}


static void
api_alert_delete(api_t *api, struct evhttp_request *req, const char *name)
{
    int       rc;
    json_t   *before;
    uint64_t  id;

    if (api_alert_id(name, &id) == -1) {
        api_error(req, HTTP_NOTFOUND, "not found", NULL);
        return;
    }

    before = api_alert_json(api, id);

    rc = alert_delete(api->own, id);

    if (rc == ALERT_MISSING) {
        json_free(before);
        api_error(req, HTTP_NOTFOUND, "not found", NULL);
        return;
    }

    if (rc != ALERT_OK) {
        json_free(before);
        api_error(req, HTTP_INTERNAL, "internal error", NULL);
        return;
    }

    log_info("alert %llu deleted by \"%s\" through the API",
             (unsigned long long) id, api->actor);

    evhttp_add_header(evhttp_request_get_output_headers(req),
                      "Cache-Control", "no-store");
    evhttp_send_reply(req, HTTP_NOCONTENT, NULL, NULL);

    api_changed_json(api, req, "alert.delete", name, before, NULL,
                     HTTP_NOCONTENT);
    json_free(before);
}


/* the stored alert as the API shows it, or NULL */

static json_t *
api_alert_json(api_t *api, uint64_t id)
{
    json_t   *j;
    alert_t   a;
    MDB_txn  *txn;

    if (store_txn_begin(api->own, MDB_RDONLY, &txn) != 0) {
        return NULL;
    }

    j = NULL;

    if (alert_get(api->own, txn, id, &a) == ALERT_OK) {
        j = json_new();

        if (j) {
            alert_json(j, &a);
        }

        alert_free(&a);
    }

    mdb_txn_abort(txn);

    return j;
}


/* an alert's id: a decimal number from 1, without signs or zeros before */

static int
api_alert_id(const char *name, uint64_t *id)
{
    char  *end;

    if (name[0] < '1' || name[0] > '9') {
        return -1;
    }

    errno = 0;
    *id = strtoull(name, &end, 10);

    return (*end != '\0' || errno) ? -1 : 0;
}


/* the request body, or NULL after answering 413 */

static const char *
api_body(struct evhttp_request *req, size_t *len)
{
    const char       *body;
    struct evbuffer  *in;

    in = evhttp_request_get_input_buffer(req);
    *len = evbuffer_get_length(in);

    if (*len > API_BODY_MAX) {
        api_error(req, 413, "body too large", NULL);
        return NULL;
    }

    body = (const char *) evbuffer_pullup(in, -1);

    return body ? body : "";
}


/* ---- integrity and erasure ---- */


/*
 * recomputes the hash chain in the request's read transaction: from its
 * start, or with full=0 from the newest checkpoint; 200 either way, with
 * "ok" and the first bad record
 */

static void
api_integrity(api_t *api, struct evhttp_request *req, MDB_txn *txn)
{
    int                 rc, full, seen;
    json_t             *j;
    const char         *qs;
    chain_verify_t      v;
    struct evkeyval    *kv;
    struct evkeyvalq    q;

    memset(&q, 0, sizeof(struct evkeyvalq));

    qs = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));

    if (qs && evhttp_parse_query_str(qs, &q) == -1) {
        api_error(req, HTTP_BADREQUEST, "invalid query", NULL);
        goto query_free;
    }

    full = 1;
    seen = 0;

    for (kv = q.tqh_first; kv; kv = kv->next.tqe_next) {
        if (strcmp(kv->key, "full") != 0) {
            api_error(req, HTTP_BADREQUEST, "unknown parameter", kv->key);
            goto query_free;
        }

        if (seen++
            || (strcmp(kv->value, "0") != 0 && strcmp(kv->value, "1") != 0))
        {
            api_error(req, HTTP_BADREQUEST, "invalid parameter", "full");
            goto query_free;
        }

        full = (kv->value[0] == '1');
    }

    rc = chain_verify(api->own, txn, full, &v);
    if (rc != 0) {
        log_warnx("%s: verifying the hash chain failed: %s", __func__,
                  mdb_strerror(rc));
        api_error(req, HTTP_INTERNAL, "internal error", NULL);
        goto query_free;
    }

    if (v.kind != CHAIN_OK) {
        log_warnx("integrity: record %llu %s: %s",
                  (unsigned long long) v.bad_id, chain_kind_name(v.kind),
                  v.reason);
    }

    j = json_new();
    if (j == NULL) {
        api_error(req, HTTP_INTERNAL, "internal error", NULL);
        goto query_free;
    }

    chain_verify_json(j, &v);
    api_reply(req, HTTP_OK, j);

    json_free(j);

query_free:

    evhttp_clear_headers(&q);
}


/*
 * erases a data subject (store_erase_subject) and records it as a
 * system_change whose target is the user; the log line leaves the user
 * out, since erasing it is the point
 */

static void
api_subject_erase(api_t *api, struct evhttp_request *req, const char *name)
{
    int                 rc;
    json_t             *j;
    uint64_t            records, alerts;
    const char         *qs;
    struct evkeyvalq    q;

    qs = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));

    if (qs && qs[0]) {
        memset(&q, 0, sizeof(struct evkeyvalq));

        if (evhttp_parse_query_str(qs, &q) == -1 || q.tqh_first == NULL) {
            api_error(req, HTTP_BADREQUEST, "invalid query", NULL);

        } else {
            api_error(req, HTTP_BADREQUEST, "unknown parameter",
                      q.tqh_first->key);
        }

        evhttp_clear_headers(&q);
        return;
    }

    if (strlen(name) > KERYU_RECORD_USER_MAX) {
        api_error(req, HTTP_BADREQUEST, "invalid user", NULL);
        return;
    }

    rc = store_erase_subject(api->own, name, &records, &alerts);

    if (rc != 0) {
        log_warnx("%s: erasure by \"%s\" failed after %llu records: %s",
                  __func__, api->actor, (unsigned long long) records,
                  mdb_strerror(rc));
        api_error(req, HTTP_INTERNAL, "internal error", NULL);

        if (records == 0) {
            return;
        }

    } else {
        log_info("erasure by \"%s\" through the API: %llu records, "
                 "%llu alerts", api->actor, (unsigned long long) records,
                 (unsigned long long) alerts);
    }

    j = json_new();
    if (j == NULL) {
        if (rc == 0) {
            api_error(req, HTTP_INTERNAL, "internal error", NULL);
        }

        return;
    }

    json_map_open(j);
    json_key(j, "user");
    json_cstring(j, name);
    json_key(j, "records_removed");
    json_uint(j, records);
    json_key(j, "alerts_touched");
    json_uint(j, alerts);
    json_map_close(j);

    if (rc == 0) {
        api_reply(req, HTTP_OK, j);
    }

    /* what went before a failure is recorded all the same */

    api_changed_json(api, req, "subject.erase", name, NULL, j,
                     rc == 0 ? HTTP_OK : HTTP_INTERNAL);

    json_free(j);
}


/*
 * {"valid":true,"name":...} or {"valid":false,"error":...,"offset":N,
 * "line":N,"column":N}, the place counted from 0, 1 and 1, or null
 */

static void
api_policy_validate(struct evhttp_request *req)
{
    long              offset, i, line, col;
    char              err[KERYU_POLICY_ERR_MAX];
    char              name[KERYU_POLICY_NAME_MAX + 1];
    size_t            len;
    json_t           *j;
    const char       *body;
    struct evbuffer  *in;

    in = evhttp_request_get_input_buffer(req);
    len = evbuffer_get_length(in);

    body = len ? (const char *) evbuffer_pullup(in, -1) : "";
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
    json_map_open(j);
    json_key(j, "valid");

    if (policy_check(body, len, name, sizeof(name), err, sizeof(err),
                     &offset)
        == 0)
    {
        json_bool(j, 1);
        json_key(j, "name");
        json_cstring(j, name);

    } else {
        json_bool(j, 0);
        json_key(j, "error");
        json_cstring(j, err);

        line = 1;
        col = 1;

        for (i = 0; i < offset && (size_t) i < len; i++) {
            if (body[i] == '\n') {
                line++;
                col = 1;

            } else if (((unsigned char) body[i] & 0xc0) != 0x80) {
                col++;
            }
        }

        if (offset < 0) {
            json_key(j, "offset");
            json_null(j);
            json_key(j, "line");
            json_null(j);
            json_key(j, "column");
            json_null(j);

        } else {
            json_key(j, "offset");
            json_uint(j, (uint64_t) offset);
            json_key(j, "line");
            json_uint(j, (uint64_t) line);
            json_key(j, "column");
            json_uint(j, (uint64_t) col);
        }
    }

    json_map_close(j);

    api_reply(req, HTTP_OK, j);

    json_free(j);
}


static void
api_whoami(api_t *api, struct evhttp_request *req, role_e role)
{
    json_t  *j;

    j = json_new();
    if (j == NULL) {
        log_warnx("%s: json_new() failed", __func__);
        api_error(req, HTTP_INTERNAL, "internal error", NULL);
        return;
    }

    json_map_open(j);
    json_key(j, "name");
    json_cstring(j, api->actor);
    json_key(j, "role");
    json_cstring(j, token_role_name(role));
    json_map_close(j);

    api_reply(req, HTTP_OK, j);

    json_free(j);
}


static void
api_token_list(api_t *api, struct evhttp_request *req, MDB_txn *txn)
{
    int      rc;
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

    rc = token_each(api->own, txn, api_token_item, j);
    if (rc != 0) {
        log_warnx("%s: reading tokens failed: %s", __func__,
                  mdb_strerror(rc));
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
api_token_item(void *ctx, role_e role, const char *name, size_t name_len,
    time_t created, time_t expires)
{
    json_t  *j = ctx;

    char     buf[TOKEN_NAME_MAX + 1];

    if (name_len > TOKEN_NAME_MAX) {
        return 0;
    }

    memcpy(buf, name, name_len);
    buf[name_len] = '\0';

    api_token_json(j, role, buf, created, expires);

    return 0;
}


/* {"name","role","created_at","expires_at","expired"}, left open */

static void
api_token_json(json_t *j, role_e role, const char *name, time_t created,
    time_t expires)
{
    char  t[TIME_STR_MAX];

    json_map_open(j);
    json_key(j, "name");
    json_cstring(j, name);
    json_key(j, "role");
    json_cstring(j, token_role_name(role));
    json_key(j, "created_at");
    time_format((uint64_t) created * 1000000, t);
    json_cstring(j, t);
    json_key(j, "expires_at");

    if (expires) {
        time_format((uint64_t) expires * 1000000, t);
        json_cstring(j, t);

    } else {
        json_null(j);
    }

    json_key(j, "expired");
    json_bool(j, expires && expires <= time(NULL));
    json_map_close(j);
}


/*
 * {"role":..., "name":..., "expires":"90d"}: answers the token once, as
 * "token make" prints it; the change record has its name, never its value
 */

static void
api_token_create(api_t *api, struct evhttp_request *req)
{
    int          rc;
    char        *v[3], name[TOKEN_NAME_MAX + 1];
    char         out[TOKEN_LEN + 8], t[TIME_STR_MAX];
    FILE        *fp;
    role_e       role;
    size_t       len;
    json_t      *j, *after;
    time_t       now, expires;
    uint8_t      rnd[4];
    uint64_t     sec;
    const char  *body;

    static const char  *const  names[] = { "role", "name", "expires" };

    body = api_body(req, &len);
    if (body == NULL) {
        return;
    }

    if (api_read_fields(req, body, len, names, 3, v) != 0) {
        return;
    }

    j = NULL;
    after = NULL;
    now = time(NULL);
    expires = 0;

    if (v[0] == NULL) {
        api_error_field(req, HTTP_BADREQUEST, "missing field", "field",
                        "role");
        goto done;
    }

    role = token_role_parse(v[0]);

    if (role == ROLE_NONE) {
        api_error_field(req, HTTP_BADREQUEST, "invalid field", "field",
                        "role");
        goto done;
    }

    if (v[1] && !token_name_valid(v[1])) {
        api_error_field(req, HTTP_BADREQUEST, "invalid field", "field",
                        "name");
        goto done;
    }

    if (v[2]) {
        if (admin_duration_parse(v[2], &sec) == -1) {
            api_error_field(req, HTTP_BADREQUEST, "invalid field", "field",
                            "expires");
            goto done;
        }

        expires = now + (time_t) sec;
    }

    if (v[1]) {
        snprintf(name, sizeof(name), "%s", v[1]);

    } else {
        if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
            log_warnx("%s: RAND_bytes() failed", __func__);
            api_error(req, HTTP_INTERNAL, "internal error", NULL);
            goto done;
        }

        snprintf(name, sizeof(name), "%s-%02x%02x%02x%02x",
                 token_role_name(role), rnd[0], rnd[1], rnd[2], rnd[3]);
    }

    /* token_create() prints the token: into out, wiped once answered */

    memset(out, 0, sizeof(out));

    fp = fmemopen(out, sizeof(out), "w");
    if (fp == NULL) {
        log_warn("%s: fmemopen", __func__);
        api_error(req, HTTP_INTERNAL, "internal error", NULL);
        goto done;
    }

    rc = token_create(api->own, role, name, expires, fp);

    fclose(fp);

    if (rc == EEXIST) {
        api_error_field(req, 409, "token exists", "field", "name");
        goto done;
    }

    if (rc != 0 || strncmp(out, "kry_", 4) != 0) {
        log_warnx("%s: token create failed: %s", __func__,
                  rc == -1 ? "no random bytes" : mdb_strerror(rc));
        api_error(req, HTTP_INTERNAL, "internal error", NULL);
        goto done;
    }

    out[strcspn(out, "\n")] = '\0';

    log_info("token \"%s\" (%s) created through the API", name,
             token_role_name(role));

    j = json_new();
    after = json_new();

    if (j == NULL || after == NULL) {
        api_error(req, HTTP_INTERNAL, "internal error", NULL);
        goto done;
    }

    api_token_json(after, role, name, now, expires);

    /* XXX the reply's buffers hold the token until freed, unwiped */

    json_map_open(j);
    json_key(j, "token");
    json_cstring(j, out);
    json_key(j, "name");
    json_cstring(j, name);
    json_key(j, "role");
    json_cstring(j, token_role_name(role));
    json_key(j, "expires_at");

    if (expires) {
        time_format((uint64_t) expires * 1000000, t);
        json_cstring(j, t);

    } else {
        json_null(j);
    }

    json_map_close(j);

    api_reply(req, 201, j);

    api_changed_json(api, req, "token.create", name, NULL, after, 201);

done:

    OPENSSL_cleanse(out, sizeof(out));
    json_free(j);
    json_free(after);
    free(v[0]);
    free(v[1]);
    free(v[2]);
}


static void
api_token_revoke(api_t *api, struct evhttp_request *req, const char *name)
{
    int  rc;

    rc = token_revoke(api->own, name);

    if (rc == MDB_NOTFOUND) {
        api_error(req, HTTP_NOTFOUND, "not found", NULL);
        return;
    }

    if (rc != 0) {
        log_warnx("%s: token revoke failed: %s", __func__, mdb_strerror(rc));
        api_error(req, HTTP_INTERNAL, "internal error", NULL);
        return;
    }

    log_info("token \"%s\" revoked through the API", name);

    api_changed(api, req, "token.revoke", name, NULL, 0, NULL, 0,
                HTTP_NOCONTENT);

    evhttp_add_header(evhttp_request_get_output_headers(req),
                      "Cache-Control", "no-store");
    evhttp_send_reply(req, HTTP_NOCONTENT, NULL, NULL);
}


static void
api_apikey_list(api_t *api, struct evhttp_request *req)
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

    rc = admin_apikey_each(api->src, api_apikey_item, j, &bad);
    if (rc != 0) {
        log_warnx("%s: reading API keys failed: %s", __func__,
                  keryu_store_strerror(rc));
        api_error(req, HTTP_INTERNAL, "internal error", NULL);
        goto json_free;
    }

    if (bad) {
        log_warnx("%s: %zu API keys do not decode", __func__, bad);
    }

    json_array_close(j);
    json_map_close(j);

    api_reply(req, HTTP_OK, j);

json_free:

    json_free(j);
}


static int
api_apikey_item(void *ctx, const admin_apikey_info_t *ai)
{
    api_apikey_json(ctx, ai);

    return 0;
}


/* {"name","roles","created_at","expires_at","expired"}: never the key */

static void
api_apikey_json(json_t *j, const admin_apikey_info_t *ai)
{
    char         t[TIME_STR_MAX];
    size_t       n;
    const char  *p;

    json_map_open(j);
    json_key(j, "name");
    json_cstring(j, ai->name);
    json_key(j, "roles");
    json_array_open(j);

    for (p = ai->roles; *p; p += n + (p[n] == ',')) {
        n = strcspn(p, ",");
        json_string(j, (const uint8_t *) p, n);
    }

    json_array_close(j);
    json_key(j, "created_at");
    time_format(ai->created_at * 1000000, t);
    json_cstring(j, t);
    json_key(j, "expires_at");

    if (ai->expires) {
        time_format(ai->expires_at * 1000000, t);
        json_cstring(j, t);

    } else {
        json_null(j);
    }

    json_key(j, "expired");
    json_bool(j, ai->expires && ai->expires_at <= (uint64_t) time(NULL));
    json_map_close(j);
}


/*
 * {"name":..., "roles":[...], "ttl":"90d" or seconds}: checked as
 * "keryud apikey create" checks its options, stored by the same code;
 * answers the key once, and the change record has its metadata only
 */

static void
api_apikey_create(api_t *api, struct evhttp_request *req)
{
    int                  rc;
    char                 apikey[ADMIN_APIKEY_LEN + 1];
    char                 err[2 * TOKEN_NAME_MAX + 128];
    size_t               i, len, n;
    json_t              *j, *after;
    int64_t              secs;
    jtree_t             *t, *v, *roles_v;
    uint64_t             ttl;
    const char          *body, *name, *field, *k, *roles[ADMIN_ROLES_MAX];
    admin_apikey_info_t  ai;

    body = api_body(req, &len);
    if (body == NULL) {
        return;
    }

    j = NULL;
    after = NULL;
    apikey[0] = '\0';

    t = jtree_parse(body, len, err, sizeof(err));

    if (t == NULL || jtree_type(t) != JTREE_OBJECT) {
        api_error(req, HTTP_BADREQUEST, "invalid body", NULL);
        goto done;
    }

    for (i = 0; i < jtree_len(t); i++) {
        k = jtree_key_at(t, i);

        if (strcmp(k, "name") != 0 && strcmp(k, "roles") != 0
            && strcmp(k, "ttl") != 0)
        {
            api_error_field(req, HTTP_BADREQUEST, "unknown field", "field",
                            k);
            goto done;
        }
    }

    v = jtree_get(t, "name");

    if (v == NULL) {
        api_error_field(req, HTTP_BADREQUEST, "missing field", "field",
                        "name");
        goto done;
    }

    name = jtree_string(v);

    if (name == NULL) {
        api_error_field(req, HTTP_BADREQUEST, "invalid field", "field",
                        "name");
        goto done;
    }

    roles_v = jtree_get(t, "roles");

    if (roles_v == NULL) {
        api_error_field(req, HTTP_BADREQUEST, "missing field", "field",
                        "roles");
        goto done;
    }

    n = jtree_len(roles_v);

    if (jtree_type(roles_v) != JTREE_ARRAY || n > ADMIN_ROLES_MAX) {
        api_error_field(req, HTTP_BADREQUEST, "invalid field", "field",
                        "roles");
        goto done;
    }

    for (i = 0; i < n; i++) {
        roles[i] = jtree_string(jtree_at(roles_v, i));

        if (roles[i] == NULL) {
            api_error_field(req, HTTP_BADREQUEST, "invalid field", "field",
                            "roles");
            goto done;
        }
    }

    if (admin_apikey_check(name, roles, n, err, sizeof(err), &field) == -1) {
        log_debug("%s: %s", __func__, err);
        api_error_field(req, HTTP_BADREQUEST, "invalid field", "field",
                        field);
        goto done;
    }

    ttl = 0;
    v = jtree_get(t, "ttl");

    if (v && jtree_type(v) == JTREE_STRING) {
        if (admin_duration_parse(jtree_string(v), &ttl) == -1) {
            api_error_field(req, HTTP_BADREQUEST, "invalid field", "field",
                            "ttl");
            goto done;
        }

    } else if (v && jtree_type(v) != JTREE_NULL) {

        /* seconds, within the bounds of a duration */

        if (jtree_int(v, &secs) == -1 || secs < 1
            || secs > 3650LL * 86400)
        {
            api_error_field(req, HTTP_BADREQUEST, "invalid field", "field",
                            "ttl");
            goto done;
        }

        ttl = (uint64_t) secs;
    }

    rc = admin_apikey_put(api->src, name, roles, n, ttl, apikey, &ai);

    if (rc == MDB_KEYEXIST) {
        api_error_field(req, 409, "apikey exists", "field", "name");
        goto done;
    }

    if (rc != 0) {
        log_warnx("%s: apikey create failed: %s", __func__,
                  rc == -1 ? "RAND_bytes() failed"
                           : keryu_store_strerror(rc));
        api_error(req, HTTP_INTERNAL, "internal error", NULL);
        goto done;
    }

    log_info("apikey \"%s\" created through the API", name);

    j = json_new();
    after = json_new();

    if (j == NULL || after == NULL) {
        log_warnx("%s: json_new() failed", __func__);
        api_error(req, HTTP_INTERNAL, "internal error", NULL);
        goto done;
    }

    api_apikey_json(after, &ai);

    /* XXX the reply's buffers hold the key until freed, unwiped */

    json_map_open(j);
    json_key(j, "key");
    json_cstring(j, apikey);
    json_key(j, "apikey");
    api_apikey_json(j, &ai);
    json_map_close(j);

    api_reply(req, 201, j);

    api_changed_json(api, req, "apikey.create", name, NULL, after, 201);

done:

    OPENSSL_cleanse(apikey, sizeof(apikey));
    json_free(j);
    json_free(after);
    jtree_free(t);
}


static void
api_apikey_revoke(api_t *api, struct evhttp_request *req, const char *name)
{
    int                  rc;
    json_t              *before;
    admin_apikey_info_t  ai;

    rc = admin_apikey_remove(api->src, name, &ai);

    if (rc == MDB_NOTFOUND) {
        api_error(req, HTTP_NOTFOUND, "not found", NULL);
        return;
    }

    if (rc != 0) {
        log_warnx("%s: apikey revoke failed: %s", __func__,
                  keryu_store_strerror(rc));
        api_error(req, HTTP_INTERNAL, "internal error", NULL);
        return;
    }

    log_info("apikey \"%s\" revoked through the API", name);

    before = json_new();

    if (before) {
        api_apikey_json(before, &ai);
    }

    evhttp_add_header(evhttp_request_get_output_headers(req),
                      "Cache-Control", "no-store");
    evhttp_send_reply(req, HTTP_NOCONTENT, NULL, NULL);

    api_changed_json(api, req, "apikey.revoke", name, before, NULL,
                     HTTP_NOCONTENT);

    json_free(before);
}


/*
 * samples the metrics now, as a baseline for the rates, and every
 * interval seconds after; without memory there is no history, only a
 * line in the log
 */

static void
api_history_start(api_t *api, struct event_base *base, unsigned interval)
{
    struct timeval  tv;

    api->history = history_new(interval);
    if (api->history == NULL) {
        log_warn("%s: calloc", __func__);
        return;
    }

    api->history_ev = event_new(base, -1, EV_PERSIST, api_history_tick, api);
    if (api->history_ev == NULL) {
        log_warnx("%s: event_new() failed", __func__);
        goto history_free;
    }

    tv.tv_sec = interval;
    tv.tv_usec = 0;

    if (event_add(api->history_ev, &tv) == -1) {
        log_warnx("%s: event_add() failed", __func__);
        event_free(api->history_ev);
        api->history_ev = NULL;
        goto history_free;
    }

    api_history_tick(-1, 0, api);

    return;

history_free:

    history_free(api->history);
    api->history = NULL;
}


/* the first call only takes the counters the rates start from */

static void
api_history_tick(evutil_socket_t fd, short what, void *arg)
{
    api_t  *api = arg;

    int                rc;
    MDB_txn           *txn;
    metrics_own_t      own;
    struct timespec    ts;
    metrics_shared_t  *shp;

    static metrics_shared_t  sh;

    (void) fd;
    (void) what;

    rc = store_txn_begin(api->own, MDB_RDONLY, &txn);
    if (rc != 0) {
        log_warnx("%s: mdb_txn_begin() failed: %s", __func__,
                  mdb_strerror(rc));
        return;
    }

    rc = metrics_own_read(api->own, txn, &own);

    mdb_txn_abort(txn);

    if (rc != 0) {
        log_warnx("%s: reading own meta failed: %s", __func__,
                  mdb_strerror(rc));
        return;
    }

    /* one shared read holds the workers too: static, not on the stack */

    shp = NULL;

    if (api->src->env) {
        rc = metrics_shared_read(api->src, &sh);

        if (rc != 0) {
            log_warnx("%s: reading the shared store failed: %s", __func__,
                      keryu_store_strerror(rc));

        } else {
            shp = &sh;
        }
    }

    clock_gettime(CLOCK_MONOTONIC, &ts);

    history_add(api->history, (uint64_t) time(NULL),
                (uint64_t) ts.tv_sec * 1000000000 + (uint64_t) ts.tv_nsec,
                &own, shp, &api->calls);
}


static void
api_metrics_history(api_t *api, struct evhttp_request *req)
{
    char               *end;
    json_t             *j;
    uint64_t            since;
    const char         *qs;
    struct evkeyval    *kv;
    struct evkeyvalq    q;

    if (api->history == NULL) {
        api_error(req, HTTP_SERVUNAVAIL, "no metrics history", NULL);
        return;
    }

    memset(&q, 0, sizeof(struct evkeyvalq));

    since = 0;
    qs = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));

    if (qs && evhttp_parse_query_str(qs, &q) == -1) {
        api_error(req, HTTP_BADREQUEST, "invalid query", NULL);
        goto query_free;
    }

    for (kv = q.tqh_first; kv; kv = kv->next.tqe_next) {
        if (strcmp(kv->key, "since") != 0) {
            api_error(req, HTTP_BADREQUEST, "unknown parameter", kv->key);
            goto query_free;
        }

        errno = 0;
        since = strtoull(kv->value, &end, 10);

        if (kv->value[0] < '0' || kv->value[0] > '9' || *end != '\0'
            || errno == ERANGE)
        {
            api_error(req, HTTP_BADREQUEST, "invalid parameter", "since");
            goto query_free;
        }
    }

    j = json_new();
    if (j == NULL) {
        log_warnx("%s: json_new() failed", __func__);
        api_error(req, HTTP_INTERNAL, "internal error", NULL);
        goto query_free;
    }

    history_json(api->history, since, j);

    api_reply(req, HTTP_OK, j);

    json_free(j);

query_free:

    evhttp_clear_headers(&q);
}
