/*
 * Copyright (C) Keryu Security
 *
 * The built-in compliance checks.  The catalogue names them; each reads
 * the evidence and its parameters, writes the values it used into the
 * result's evidence object, and answers pass, warn or fail with what to
 * change.  The rules every check follows:
 *
 *   - unknown evidence (no effective configuration, a field nginx did not
 *     publish, a store that could not be read) is a warning, never a pass;
 *   - an offending item is named (server, location, value), at most
 *     COMPLY_ITEMS_MAX of them, with the total beside them;
 *   - the remediation names the directive or command that fixes the first
 *     offending items, so that it can be acted on as it stands;
 *   - locations a failing check is about are the result's targets, which
 *     the risk register weighs by their sensitivity.
 *
 * A location is sensitive when its path lies in a zone of the catalogue
 * at or above the catalogue's sensitive level ("paths" in a check's
 * parameters replaces the zones), or when it is the location that would
 * serve such a zone (a "location /" serves /admin/ when nothing more
 * specific does), or, for a regular expression, when the expression names
 * such a path.
 */


#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "comply.h"
#include "alert.h"
#include "keryu_policy.h"


#define CX_LABEL_MAX  (EV_STRING_MAX + 16)
#define CX_PATHS_MAX  64


typedef struct {
    unsigned            n;
} cx_list_t;


/* the sensitive paths a check uses: its "paths", or the zones */
typedef struct {
    const char         *path[CX_PATHS_MAX];
    size_t              len[CX_PATHS_MAX];
    size_t              n;
} cx_paths_t;


typedef struct {
    const char         *name;
    comply_check_pt     fn;
} cx_check_t;


static void cx_status(comply_ctx_t *cx, int status);
static void cx_remedy(comply_ctx_t *cx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void cx_target(comply_ctx_t *cx, const char *location);
static int cx_config(comply_ctx_t *cx);
static const char *cx_server(const evidence_t *ev, size_t i, char *buf,
    size_t size);
static int64_t cx_int(const jtree_t *params, const char *key, int64_t def);
static int cx_bool(const jtree_t *params, const char *key, int def);
static void cx_list_open(comply_ctx_t *cx, cx_list_t *l, const char *key);
static int cx_list_item(comply_ctx_t *cx, cx_list_t *l, const char *server,
    const char *location);
static void cx_list_close(comply_ctx_t *cx, cx_list_t *l, const char *key);
static void cx_kv(comply_ctx_t *cx, const char *key, const char *value);
static void cx_paths(comply_ctx_t *cx, const jtree_t *params, const char *key,
    int zones, cx_paths_t *p);
static int cx_within(const char *path, size_t len, const char *prefix,
    size_t plen);
static int cx_serving(const ev_server_t *s, const char *path, size_t len);
static int cx_sensitive(const ev_server_t *s, size_t li,
    const cx_paths_t *p);
static int cx_listen_local(const char *listen);
static int cx_listen_tls(const char *listen);
static int cx_server_tls(const ev_server_t *s);
static int cx_cipher_weak(const char *ciphers, char *token, size_t size);
static uint64_t cx_hours(const jtree_t *params, const char *key,
    int severity, uint64_t def);

static void check_config_published(comply_ctx_t *cx, const jtree_t *params);
static void check_sensitive_enforced(comply_ctx_t *cx,
    const jtree_t *params);
static void check_default_deny(comply_ctx_t *cx, const jtree_t *params);
static void check_fail_closed(comply_ctx_t *cx, const jtree_t *params);
static void check_identity_required(comply_ctx_t *cx,
    const jtree_t *params);
static void check_logging_on(comply_ctx_t *cx, const jtree_t *params);
static void check_retention_bounded(comply_ctx_t *cx,
    const jtree_t *params);
static void check_log_integrity(comply_ctx_t *cx, const jtree_t *params);
static void check_record_loss(comply_ctx_t *cx, const jtree_t *params);
static void check_sealing_key(comply_ctx_t *cx, const jtree_t *params);
static void check_key_rotation(comply_ctx_t *cx, const jtree_t *params);
static void check_key_backup(comply_ctx_t *cx, const jtree_t *params);
static void check_tls_protocols(comply_ctx_t *cx, const jtree_t *params);
static void check_tls_ciphers(comply_ctx_t *cx, const jtree_t *params);
static void check_tls_listeners(comply_ctx_t *cx, const jtree_t *params);
static void check_security_headers(comply_ctx_t *cx,
    const jtree_t *params);
static void check_server_tokens(comply_ctx_t *cx, const jtree_t *params);
static void check_brute_force_rule(comply_ctx_t *cx,
    const jtree_t *params);
static void check_alert_response(comply_ctx_t *cx, const jtree_t *params);
static void check_admin_tokens(comply_ctx_t *cx, const jtree_t *params);
static void check_token_expiry(comply_ctx_t *cx, const jtree_t *params);
static void check_api_tls(comply_ctx_t *cx, const jtree_t *params);
static void check_body_limits(comply_ctx_t *cx, const jtree_t *params);
static void check_input_validation(comply_ctx_t *cx,
    const jtree_t *params);
static void check_erasure(comply_ctx_t *cx, const jtree_t *params);
static void check_nginx_cves(comply_ctx_t *cx, const jtree_t *params);
static void check_enforcement_current(comply_ctx_t *cx,
    const jtree_t *params);


static const cx_check_t  cx_checks[] = {
    { "config_published",     check_config_published },
    { "sensitive_enforced",   check_sensitive_enforced },
    { "default_deny",         check_default_deny },
    { "fail_closed",          check_fail_closed },
    { "identity_required",    check_identity_required },
    { "logging_on",           check_logging_on },
    { "retention_bounded",    check_retention_bounded },
    { "log_integrity",        check_log_integrity },
    { "record_loss",          check_record_loss },
    { "sealing_key",          check_sealing_key },
    { "key_rotation",         check_key_rotation },
    { "key_backup",           check_key_backup },
    { "tls_protocols",        check_tls_protocols },
    { "tls_ciphers",          check_tls_ciphers },
    { "tls_listeners",        check_tls_listeners },
    { "security_headers",     check_security_headers },
    { "server_tokens",        check_server_tokens },
    { "brute_force_rule",     check_brute_force_rule },
    { "alert_response",       check_alert_response },
    { "admin_tokens",         check_admin_tokens },
    { "token_expiry",         check_token_expiry },
    { "api_tls",              check_api_tls },
    { "body_limits",          check_body_limits },
    { "input_validation",     check_input_validation },
    { "erasure",              check_erasure },
    { "nginx_cves",           check_nginx_cves },
    { "enforcement_current",  check_enforcement_current },
    { NULL, NULL }
};


comply_check_pt
comply_check_find(const char *name)
{
    const cx_check_t  *c;

    for (c = cx_checks; c->name; c++) {
        if (strcmp(c->name, name) == 0) {
            return c->fn;
        }
    }

    return NULL;
}


/*
 * a prefix location takes the level of the longest zone prefix that
 * contains it; a regular expression location, whose paths cannot be
 * listed, takes the highest level among the zones whose prefix it names
 */

int
comply_zone_level(const comply_catalogue_t *cat, const char *location)
{
    int          how, level;
    size_t       i, len, best;
    const char  *path;

    level = 1;
    best = 0;
    how = evidence_location_path(location, &path, &len);

    for (i = 0; i < cat->nzones; i++) {

        if (how) {
            if (cat->zones[i].len >= best
                && cx_within(path, len, cat->zones[i].prefix,
                             cat->zones[i].len))
            {
                best = cat->zones[i].len;
                level = cat->zones[i].level;
            }

            continue;
        }

        if (cat->zones[i].level > level
            && strstr(location, cat->zones[i].prefix) != NULL)
        {
            level = cat->zones[i].level;
        }
    }

    return level;
}


/* ---- helpers ---- */


static void
cx_status(comply_ctx_t *cx, int status)
{
    if (status > cx->status) {
        cx->status = status;
    }
}


/* adds a sentence to the remediation, while there is room for it whole */

static void
cx_remedy(comply_ctx_t *cx, const char *fmt, ...)
{
    int      n;
    char     buf[COMPLY_REMEDY_MAX];
    va_list  ap;

    va_start(ap, fmt);
    n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);

    if (n < 0 || strstr(cx->remedy, buf) != NULL) {
        return;
    }

    if (cx->remedy_len + (cx->remedy_len ? 1 : 0) + (size_t) n
        >= COMPLY_REMEDY_MAX)
    {
        return;
    }

    if (cx->remedy_len) {
        cx->remedy[cx->remedy_len++] = ' ';
    }

    memcpy(cx->remedy + cx->remedy_len, buf, (size_t) n + 1);
    cx->remedy_len += (size_t) n;
}


static void
cx_target(comply_ctx_t *cx, const char *location)
{
    size_t            i;
    comply_result_t  *r = cx->result;

    for (i = 0; i < r->ntargets; i++) {
        if (strcmp(r->targets[i], location) == 0) {
            return;
        }
    }

    if (r->ntargets < COMPLY_TARGETS_MAX) {
        r->targets[r->ntargets] = strdup(location);

        if (r->targets[r->ntargets]) {
            r->ntargets++;
        }
    }
}


/* returns 1 when nginx published its configuration, else warns */

static int
cx_config(comply_ctx_t *cx)
{
    if (cx->ev->config) {
        return 1;
    }

    json_key(cx->json, "effective_config");
    json_bool(cx->json, 0);
    cx_kv(cx, "reason", cx->ev->config_error[0] ? cx->ev->config_error
                                                : "not read");

    cx_status(cx, COMPLY_WARN);
    cx_remedy(cx, "Unknown: nginx has published no effective configuration "
              "to check; load the keryu module with keryu_store so that it "
              "does.");

    return 0;
}


/* the first name of server i, else its first listen, else "#N" */

static const char *
cx_server(const evidence_t *ev, size_t i, char *buf, size_t size)
{
    const ev_server_t  *s = &ev->servers[i];

    if (s->nnames && s->names[0][0]) {
        snprintf(buf, size, "%s", s->names[0]);

    } else if (s->nlisten) {
        snprintf(buf, size, "%s", s->listen[0]);

    } else {
        snprintf(buf, size, "#%zu", i + 1);
    }

    return buf;
}


static int64_t
cx_int(const jtree_t *params, const char *key, int64_t def)
{
    int64_t  n;

    return jtree_int(jtree_get(params, key), &n) == 0 ? n : def;
}


static int
cx_bool(const jtree_t *params, const char *key, int def)
{
    int  b;

    b = jtree_bool(jtree_get(params, key));

    return b == -1 ? def : b;
}


static void
cx_kv(comply_ctx_t *cx, const char *key, const char *value)
{
    json_key(cx->json, key);

    if (value) {
        json_cstring(cx->json, value);

    } else {
        json_null(cx->json);
    }
}


static void
cx_list_open(comply_ctx_t *cx, cx_list_t *l, const char *key)
{
    l->n = 0;

    json_key(cx->json, key);
    json_array_open(cx->json);
}


/*
 * counts an item; for the first COMPLY_ITEMS_MAX it opens an object with
 * server and location, returns 1, and the caller adds members and closes
 * it
 */

static int
cx_list_item(comply_ctx_t *cx, cx_list_t *l, const char *server,
    const char *location)
{
    if (l->n++ >= COMPLY_ITEMS_MAX) {
        return 0;
    }

    json_map_open(cx->json);

    if (server) {
        cx_kv(cx, "server", server);
    }

    if (location) {
        cx_kv(cx, "location", location);
    }

    return 1;
}


static void
cx_list_close(comply_ctx_t *cx, cx_list_t *l, const char *key)
{
    json_array_close(cx->json);
    json_key(cx->json, key);
    json_uint(cx->json, l->n);
}


static void
cx_paths(comply_ctx_t *cx, const jtree_t *params, const char *key,
    int zones, cx_paths_t *p)
{
    size_t          i;
    const char     *s;
    const jtree_t  *a;

    p->n = 0;

    a = jtree_get(params, key);

    if (jtree_type(a) == JTREE_ARRAY) {
        for (i = 0; i < jtree_len(a) && p->n < CX_PATHS_MAX; i++) {
            s = jtree_string(jtree_at(a, i));

            if (s && s[0] == '/') {
                p->path[p->n] = s;
                p->len[p->n++] = strlen(s);
            }
        }

        return;
    }

    if (!zones) {
        return;
    }

    for (i = 0; i < cx->cat->nzones && p->n < CX_PATHS_MAX; i++) {
        if (cx->cat->zones[i].level >= cx->cat->sensitive_level) {
            p->path[p->n] = cx->cat->zones[i].prefix;
            p->len[p->n++] = cx->cat->zones[i].len;
        }
    }
}


/* path lies in prefix, on a segment boundary: "/api" holds "/api/x" */

static int
cx_within(const char *path, size_t len, const char *prefix, size_t plen)
{
    if (plen > 1 && prefix[plen - 1] == '/') {
        plen--;
    }

    if (len < plen || memcmp(path, prefix, plen) != 0) {
        return 0;
    }

    return len == plen || path[plen] == '/' || plen == 1;
}


/*
 * the location of s that would serve path, as nginx picks among literal
 * locations: an exact match, else the longest prefix; -1 when none does
 */

static int
cx_serving(const ev_server_t *s, const char *path, size_t len)
{
    int          best, how;
    size_t       i, blen, llen;
    const char  *lpath;

    best = -1;
    blen = 0;

    for (i = 0; i < s->nlocations; i++) {
        how = evidence_location_path(s->locations[i].name, &lpath, &llen);

        if (how == 2 && llen == len && memcmp(lpath, path, len) == 0) {
            return (int) i;
        }

        if (how == 1 && llen <= len && memcmp(lpath, path, llen) == 0
            && (best == -1 || llen > blen))
        {
            best = (int) i;
            blen = llen;
        }
    }

    return best;
}


static int
cx_sensitive(const ev_server_t *s, size_t li, const cx_paths_t *p)
{
    int          how;
    char         buf[EV_STRING_MAX + 2];
    size_t       i, len, plen;
    const char  *name, *path;

    name = s->locations[li].name;
    how = evidence_location_path(name, &path, &len);

    for (i = 0; i < p->n; i++) {
        if (how == 0) {
            if (name[0] != '@' && strstr(name, p->path[i]) != NULL) {
                return 1;
            }

            continue;
        }

        if (cx_within(path, len, p->path[i], p->len[i])) {
            return 1;
        }

        /* the location that serves the zone's own subtree */

        plen = p->len[i];

        if (plen + 2 > sizeof(buf)) {
            continue;
        }

        memcpy(buf, p->path[i], plen);

        if (plen == 0 || buf[plen - 1] != '/') {
            buf[plen++] = '/';
        }

        if (cx_serving(s, buf, plen) == (int) li) {
            return 1;
        }
    }

    return 0;
}


/* a listen on the loopback or a UNIX socket only */

static int
cx_listen_local(const char *listen)
{
    return strncmp(listen, "127.", 4) == 0
           || strncmp(listen, "[::1]", 5) == 0
           || strncmp(listen, "localhost", 9) == 0
           || strncmp(listen, "unix:", 5) == 0;
}


/* a listen with the "ssl" (or "quic") parameter */

static int
cx_listen_tls(const char *listen)
{
    const char  *p;

    for (p = strchr(listen, ' '); p; p = strchr(p + 1, ' ')) {
        if (strncmp(p + 1, "ssl", 3) == 0
            && (p[4] == ' ' || p[4] == '\0'))
        {
            return 1;
        }

        if (strncmp(p + 1, "quic", 4) == 0
            && (p[5] == ' ' || p[5] == '\0'))
        {
            return 1;
        }
    }

    return 0;
}


static int
cx_server_tls(const ev_server_t *s)
{
    size_t  i;

    if (s->ssl == 1) {
        return 1;
    }

    for (i = 0; i < s->nlisten; i++) {
        if (cx_listen_tls(s->listen[i])) {
            return 1;
        }
    }

    return 0;
}


/*
 * the first cipher string element that lets a weak suite in, into token;
 * returns 2 for one that is weak, 1 for one too broad to judge ("ALL"),
 * 0 for none.  Elements that start with "!" or "-" take suites out.
 */

static int
cx_cipher_weak(const char *ciphers, char *token, size_t size)
{
    int          broad, weak;
    size_t       n, tn, i;
    const char  *p, *t;

    static const char  *names[] = { "RC4", "3DES", "DES-CBC", "NULL", "EXP",
                                    "MD5", "LOW", "RC2", "IDEA", "SEED",
                                    NULL };

    broad = 0;

    for (p = ciphers; *p; p += n) {
        p += strspn(p, ": ,");
        n = strcspn(p, ": ,");

        if (n == 0 || n >= size || p[0] == '!' || p[0] == '-'
            || p[0] == '@')
        {
            continue;
        }

        t = p[0] == '+' ? p + 1 : p;
        tn = n - (size_t) (t - p);

        /* single DES is "DES" alone; "DES" inside a name is often "ECDHE" */

        weak = tn == 3 && strncmp(t, "DES", 3) == 0;

        for (i = 0; names[i] && !weak; i++) {
            weak = memmem(t, tn, names[i], strlen(names[i])) != NULL;
        }

        if (weak) {
            memcpy(token, p, n);
            token[n] = '\0';
            return 2;
        }

        if (!broad
            && ((tn == 3 && strncmp(t, "ALL", 3) == 0)
                || strncmp(t, "COMPLEMENTOF", 12) == 0))
        {
            memcpy(token, p, n);
            token[n] = '\0';
            broad = 1;
        }
    }

    return broad;
}


/* hours by severity: params {key: {"high": 4, ...}} or one number */

static uint64_t
cx_hours(const jtree_t *params, const char *key, int severity, uint64_t def)
{
    int64_t      n;
    jtree_t     *v;
    const char  *name;

    v = jtree_get(params, key);

    if (jtree_int(v, &n) == 0 && n > 0) {
        return (uint64_t) n;
    }

    name = keryu_severity_name(severity);

    if (name && jtree_int(jtree_get(v, name), &n) == 0 && n > 0) {
        return (uint64_t) n;
    }

    return def;
}


/* ---- the checks ---- */


static void
check_config_published(comply_ctx_t *cx, const jtree_t *params)
{
    size_t             i, locs;
    int64_t            max_h;
    uint64_t           age_h;
    const evidence_t  *ev = cx->ev;

    max_h = cx_int(params, "max_age_hours", 0);

    json_key(cx->json, "effective_config");
    json_bool(cx->json, ev->config);

    if (!ev->config) {
        cx_kv(cx, "reason", ev->config_error[0] ? ev->config_error
                                                : "not read");
        cx_status(cx, COMPLY_FAIL);
        cx_remedy(cx, "Load the keryu module in nginx with keryu_store set "
                  "to the store keryud reads, so that it publishes its "
                  "effective configuration; until it does, no check can "
                  "see nginx.");
        return;
    }

    locs = 0;

    for (i = 0; i < ev->nservers; i++) {
        locs += ev->servers[i].nlocations;
    }

    cx_kv(cx, "nginx_version", ev->nginx_version[0] ? ev->nginx_version
                                                    : NULL);
    cx_kv(cx, "published_at", ev->published_at[0] ? ev->published_at : NULL);
    json_key(cx->json, "servers");
    json_uint(cx->json, ev->nservers);
    json_key(cx->json, "locations");
    json_uint(cx->json, locs);

    if (ev->nservers == 0) {
        cx_status(cx, COMPLY_WARN);
        cx_remedy(cx, "The published configuration lists no servers.");
    }

    /* nginx publishes when it starts: an old one is old only with a bound */

    if (ev->published_us == 0) {
        return;
    }

    age_h = ev->now_us > ev->published_us
            ? (ev->now_us - ev->published_us) / 3600000000ULL : 0;

    json_key(cx->json, "age_hours");
    json_uint(cx->json, age_h);

    if (max_h > 0 && age_h > (uint64_t) max_h) {
        cx_status(cx, COMPLY_WARN);
        cx_remedy(cx, "The effective configuration is %llu hours old, "
                  "past max_age_hours (%lld); reload nginx (nginx -s "
                  "reload) so that the module publishes it again.",
                  (unsigned long long) age_h, (long long) max_h);
    }
}


static void
check_sensitive_enforced(comply_ctx_t *cx, const jtree_t *params)
{
    char                 label[CX_LABEL_MAX];
    size_t               i, k, nsens;
    cx_list_t            l;
    cx_paths_t           p;
    const ev_server_t   *s;
    const ev_location_t *loc;

    if (!cx_config(cx)) {
        return;
    }

    cx_paths(cx, params, "paths", 1, &p);

    json_key(cx->json, "sensitive_paths");
    json_array_open(cx->json);

    for (i = 0; i < p.n; i++) {
        json_string(cx->json, (const uint8_t *) p.path[i], p.len[i]);
    }

    json_array_close(cx->json);

    nsens = 0;
    cx_list_open(cx, &l, "offending");

    for (i = 0; i < cx->ev->nservers; i++) {
        s = &cx->ev->servers[i];

        for (k = 0; k < s->nlocations; k++) {
            loc = &s->locations[k];

            if (!cx_sensitive(s, k, &p)) {
                continue;
            }

            nsens++;

            if (loc->enforce == EV_MODE_ON) {
                continue;
            }

            cx_target(cx, loc->name);
            cx_server(cx->ev, i, label, sizeof(label));

            if (cx_list_item(cx, &l, label, loc->name)) {
                cx_kv(cx, "enforce", evidence_mode_name(loc->enforce));
                json_map_close(cx->json);
            }

            if (loc->enforce == EV_MODE_OFF) {
                cx_status(cx, COMPLY_FAIL);
                cx_remedy(cx, "Set keryu_access on in location %s of server "
                          "%s.", loc->name, label);

            } else if (loc->enforce == EV_MODE_SHADOW) {
                cx_status(cx, COMPLY_WARN);
                cx_remedy(cx, "Location %s of server %s only reports what it "
                          "would refuse; set keryu_access on once its "
                          "policies are right.", loc->name, label);

            } else {
                cx_status(cx, COMPLY_WARN);
                cx_remedy(cx, "The module did not say whether location %s of "
                          "server %s enforces access; upgrade it.",
                          loc->name, label);
            }
        }
    }

    cx_list_close(cx, &l, "offending_total");

    json_key(cx->json, "sensitive_locations");
    json_uint(cx->json, nsens);
}


static void
check_default_deny(comply_ctx_t *cx, const jtree_t *params)
{
    char                 label[CX_LABEL_MAX];
    size_t               i, k;
    cx_list_t            l;
    cx_paths_t           p;
    const ev_server_t   *s;
    const ev_location_t *loc;

    if (!cx_config(cx)) {
        return;
    }

    cx_paths(cx, params, "paths", 1, &p);
    cx_list_open(cx, &l, "offending");

    for (i = 0; i < cx->ev->nservers; i++) {
        s = &cx->ev->servers[i];

        for (k = 0; k < s->nlocations; k++) {
            loc = &s->locations[k];

            if (!cx_sensitive(s, k, &p)
                || (loc->enforce != EV_MODE_OFF && loc->default_deny == 1))
            {
                continue;
            }

            cx_target(cx, loc->name);
            cx_server(cx->ev, i, label, sizeof(label));

            if (cx_list_item(cx, &l, label, loc->name)) {
                cx_kv(cx, "enforce", evidence_mode_name(loc->enforce));
                cx_kv(cx, "default", loc->default_deny == 1 ? "deny"
                                     : loc->default_deny == 0 ? "allow"
                                     : "unknown");
                json_map_close(cx->json);
            }

            if (loc->enforce == EV_MODE_OFF || loc->default_deny == 0) {
                cx_status(cx, COMPLY_FAIL);
                cx_remedy(cx, "Set keryu_default deny (and keryu_access on) "
                          "in location %s of server %s, and allow what it "
                          "serves with access rules.", loc->name, label);

            } else {
                cx_status(cx, COMPLY_WARN);
                cx_remedy(cx, "The module did not say what location %s of "
                          "server %s does when no rule decides; upgrade "
                          "it.", loc->name, label);
            }
        }
    }

    cx_list_close(cx, &l, "offending_total");
}


static void
check_fail_closed(comply_ctx_t *cx, const jtree_t *params)
{
    char                 label[CX_LABEL_MAX];
    size_t               i, k;
    cx_list_t            l;
    cx_paths_t           p;
    const ev_server_t   *s;
    const ev_location_t *loc;

    if (!cx_config(cx)) {
        return;
    }

    cx_paths(cx, params, "paths", 1, &p);
    cx_list_open(cx, &l, "offending");

    for (i = 0; i < cx->ev->nservers; i++) {
        s = &cx->ev->servers[i];

        for (k = 0; k < s->nlocations; k++) {
            loc = &s->locations[k];

            if (loc->enforce == EV_MODE_OFF || loc->fail_closed == 1) {
                continue;
            }

            cx_server(cx->ev, i, label, sizeof(label));

            if (cx_list_item(cx, &l, label, loc->name)) {
                cx_kv(cx, "fail", loc->fail_closed == 0 ? "open"
                                  : "unknown");
                json_map_close(cx->json);
            }

            if (loc->fail_closed == 0 && cx_sensitive(s, k, &p)) {
                cx_target(cx, loc->name);
                cx_status(cx, COMPLY_FAIL);

            } else {
                cx_status(cx, COMPLY_WARN);
            }

            if (loc->fail_closed == 0) {
                cx_remedy(cx, "Set keryu_fail closed in location %s of "
                          "server %s, so that an unreadable store refuses "
                          "requests rather than lets them all through.",
                          loc->name, label);

            } else {
                cx_remedy(cx, "The module did not say how location %s of "
                          "server %s fails; upgrade it.", loc->name, label);
            }
        }
    }

    cx_list_close(cx, &l, "offending_total");
}


static void
check_identity_required(comply_ctx_t *cx, const jtree_t *params)
{
    char                 label[CX_LABEL_MAX];
    size_t               i, k;
    cx_list_t            l;
    cx_paths_t           p;
    const ev_server_t   *s;
    const ev_location_t *loc;

    if (!cx_config(cx)) {
        return;
    }

    cx_paths(cx, params, "paths", 1, &p);
    cx_list_open(cx, &l, "offending");

    for (i = 0; i < cx->ev->nservers; i++) {
        s = &cx->ev->servers[i];

        for (k = 0; k < s->nlocations; k++) {
            loc = &s->locations[k];

            if (!cx_sensitive(s, k, &p) || loc->enforce == EV_MODE_OFF
                || (loc->identity != EV_UNKNOWN && loc->identity != 0))
            {
                continue;
            }

            cx_target(cx, loc->name);
            cx_server(cx->ev, i, label, sizeof(label));

            if (cx_list_item(cx, &l, label, loc->name)) {
                cx_kv(cx, "identity", loc->identity == 0 ? "none"
                                      : "unknown");
                json_map_close(cx->json);
            }

            if (loc->identity == 0) {
                cx_status(cx, COMPLY_FAIL);
                cx_remedy(cx, "Name where callers' identities come from with "
                          "keryu_identity (bearer, cookie=, apikey=, "
                          "signature) in location %s of server %s.",
                          loc->name, label);

            } else {
                cx_status(cx, COMPLY_WARN);
                cx_remedy(cx, "The module did not say how location %s of "
                          "server %s identifies callers; upgrade it.",
                          loc->name, label);
            }
        }
    }

    cx_list_close(cx, &l, "offending_total");
}


static void
check_logging_on(comply_ctx_t *cx, const jtree_t *params)
{
    char                 label[CX_LABEL_MAX];
    size_t               i, k, n;
    cx_list_t            l;
    const ev_server_t   *s;
    const ev_location_t *loc;

    (void) params;

    if (!cx_config(cx)) {
        return;
    }

    n = 0;
    cx_list_open(cx, &l, "offending");

    for (i = 0; i < cx->ev->nservers; i++) {
        s = &cx->ev->servers[i];

        for (k = 0; k < s->nlocations; k++) {
            loc = &s->locations[k];
            n++;

            if (loc->log == 1) {
                continue;
            }

            cx_server(cx->ev, i, label, sizeof(label));

            if (cx_list_item(cx, &l, label, loc->name)) {
                cx_kv(cx, "log", loc->log == 0 ? "off" : "unknown");
                json_map_close(cx->json);
            }

            if (loc->log == 0) {
                cx_target(cx, loc->name);
                cx_status(cx, COMPLY_FAIL);
                cx_remedy(cx, "Set keryu_log on in location %s of server %s "
                          "(or once at http level).", loc->name, label);

            } else {
                cx_status(cx, COMPLY_WARN);
                cx_remedy(cx, "The module did not say whether location %s of "
                          "server %s is logged; upgrade it.", loc->name,
                          label);
            }
        }
    }

    cx_list_close(cx, &l, "offending_total");

    json_key(cx->json, "locations");
    json_uint(cx->json, n);

    if (n == 0) {
        cx_status(cx, COMPLY_WARN);
        cx_remedy(cx, "The published configuration lists no locations to "
                  "check.");
    }
}


static void
check_retention_bounded(comply_ctx_t *cx, const jtree_t *params)
{
    int64_t   min_d, max_d;
    uint64_t  days;

    min_d = cx_int(params, "min_days", 30);
    max_d = cx_int(params, "max_days", 400);
    days = cx->ev->retention_s / 86400;

    json_key(cx->json, "retention_days");

    if (cx->ev->retention_s) {
        json_uint(cx->json, days);

    } else {
        json_null(cx->json);
    }

    json_key(cx->json, "min_days");
    json_uint(cx->json, (uint64_t) min_d);
    json_key(cx->json, "max_days");
    json_uint(cx->json, (uint64_t) max_d);

    if (cx->ev->retention_s == 0) {
        cx_status(cx, COMPLY_FAIL);
        cx_remedy(cx, "keryud keeps records for ever (retention off); set "
                  "\"retention %lld;\" or another bound in keryud.conf.",
                  (long long) max_d);
        return;
    }

    if (days < (uint64_t) min_d) {
        cx_status(cx, COMPLY_FAIL);
        cx_remedy(cx, "Records are kept %llu days, fewer than %lld; raise "
                  "\"retention\" in keryud.conf.", (unsigned long long) days,
                  (long long) min_d);

    } else if (days > (uint64_t) max_d) {
        cx_status(cx, COMPLY_WARN);
        cx_remedy(cx, "Records are kept %llu days, more than %lld; lower "
                  "\"retention\" unless a rule asks for that long.",
                  (unsigned long long) days, (long long) max_d);
    }
}


static void
check_log_integrity(comply_ctx_t *cx, const jtree_t *params)
{
    (void) params;

    json_key(cx->json, "configured");
    json_bool(cx->json, cx->ev->integrity);

    if (!cx->ev->integrity) {
        cx_status(cx, COMPLY_WARN);
        cx_remedy(cx, "warn: integrity not configured; keryud keeps no hash "
                  "chain over its records, so their integrity is not "
                  "verified.");
        return;
    }

    json_key(cx->json, "verified");

    if (cx->ev->integrity_ok == EV_UNKNOWN) {
        json_null(cx->json);
        cx_kv(cx, "reason", cx->ev->integrity_reason);
        cx_status(cx, COMPLY_WARN);
        cx_remedy(cx, "The record chain could not be verified; see "
                  "GET /api/security/integrity/.");
        return;
    }

    json_bool(cx->json, cx->ev->integrity_ok);
    json_key(cx->json, "records");
    json_uint(cx->json, cx->ev->integrity_records);
    json_key(cx->json, "checkpoints");
    json_uint(cx->json, cx->ev->integrity_checkpoints);

    if (!cx->ev->integrity_ok) {
        cx_kv(cx, "reason", cx->ev->integrity_reason);
        cx_status(cx, COMPLY_FAIL);
        cx_remedy(cx, "The record chain does not verify (%s): records were "
                  "changed or removed outside keryud; investigate with "
                  "\"keryud verify --full\" and keep the store's backups.",
                  cx->ev->integrity_reason);
    }
}


static void
check_record_loss(comply_ctx_t *cx, const jtree_t *params)
{
    size_t             i;
    unsigned           open;
    const ev_alert_t  *a;

    (void) params;

    open = 0;

    for (i = 0; i < cx->ev->nalerts; i++) {
        a = &cx->ev->alerts[i];

        if (strcmp(a->rule, "log_loss") == 0 && a->status != ALERT_RESOLVED) {
            open++;
        }
    }

    json_key(cx->json, "lost_records");
    json_uint(cx->json, cx->ev->lost);
    json_key(cx->json, "open_log_loss_alerts");
    json_uint(cx->json, open);

    if (!cx->ev->alerts_known) {
        cx_status(cx, COMPLY_WARN);
        cx_remedy(cx, "Alerts could not be read.");
    }

    if (open) {
        cx_status(cx, COMPLY_FAIL);
        cx_remedy(cx, "Records are being lost (an open log_loss alert): "
                  "raise keryu_store's ring= or keryud's batch, check "
                  "that keryud keeps up, then resolve the alert.");

    } else if (cx->ev->lost) {
        cx_status(cx, COMPLY_WARN);
        cx_remedy(cx, "%llu records never reached keryud since its store "
                  "was made; size the ring so that it does not overflow.",
                  (unsigned long long) cx->ev->lost);
    }
}


static void
check_sealing_key(comply_ctx_t *cx, const jtree_t *params)
{
    (void) params;

    json_key(cx->json, "key_management");
    json_bool(cx->json, cx->ev->key_management);

    if (!cx->ev->key_management) {
        cx_status(cx, COMPLY_WARN);
        cx_remedy(cx, "warn: key management not configured; records are "
                  "not sealed with a key of their own, so encryption at "
                  "rest rests on the disk alone.");
        return;
    }

    json_key(cx->json, "sealing_key");
    json_bool(cx->json, cx->ev->sealing_key == 1);

    if (cx->ev->sealing_key != 1) {
        cx_status(cx, COMPLY_FAIL);
        cx_remedy(cx, "Create a sealing key so that keryud encrypts what it "
                  "stores.");
    }
}


static void
check_key_rotation(comply_ctx_t *cx, const jtree_t *params)
{
    size_t            i;
    int64_t           max_d;
    uint64_t          now_s, age_d;
    cx_list_t         l;
    const ev_key_t   *k;
    const ev_mkey_t  *m;

    max_d = cx_int(params, "max_age_days", 90);
    now_s = cx->ev->now_us / 1000000;

    json_key(cx->json, "key_management");
    json_bool(cx->json, cx->ev->key_management);
    json_key(cx->json, "max_age_days");
    json_uint(cx->json, (uint64_t) max_d);
    json_key(cx->json, "verification_keys");
    json_uint(cx->json, cx->ev->nkeys);

    json_key(cx->json, "managed_keys");
    json_array_open(cx->json);

    for (i = 0; i < cx->ev->nmkeys; i++) {
        m = &cx->ev->mkeys[i];
        age_d = now_s > m->created ? (now_s - m->created) / 86400 : 0;

        json_map_open(cx->json);
        cx_kv(cx, "type", m->type);
        cx_kv(cx, "kid", m->kid);
        json_key(cx->json, "version");
        json_uint(cx->json, m->version);
        json_key(cx->json, "age_days");
        json_uint(cx->json, age_d);
        json_key(cx->json, "period_days");

        if (m->period) {
            json_uint(cx->json, m->period / 86400);

        } else {
            json_null(cx->json);
        }

        json_map_close(cx->json);

        if (m->period && now_s > m->created + m->period) {
            cx_status(cx, COMPLY_FAIL);
            cx_remedy(cx, "The active %s key (%s) is %llu days old, past its "
                      "key_period: rotate it (POST /api/security/keys/"
                      "rotate/ {\"key_type\":\"%s\"}).", m->type, m->kid,
                      (unsigned long long) age_d, m->type);
        }
    }

    json_array_close(cx->json);

    cx_list_open(cx, &l, "overdue");

    for (i = 0; i < cx->ev->nkeys; i++) {
        k = &cx->ev->keys[i];
        age_d = now_s > k->created ? (now_s - k->created) / 86400 : 0;

        if (age_d <= (uint64_t) max_d) {
            continue;
        }

        if (cx_list_item(cx, &l, NULL, NULL)) {
            cx_kv(cx, "kid", k->kid);
            cx_kv(cx, "alg", k->alg);
            json_key(cx->json, "age_days");
            json_uint(cx->json, age_d);
            json_map_close(cx->json);
        }

        cx_status(cx, COMPLY_FAIL);
        cx_remedy(cx, "Key \"%s\" is %llu days old, past %lld: add a new "
                  "key (keryud key add), move issuers to it, then "
                  "\"keryud key delete %s\".", k->kid,
                  (unsigned long long) age_d, (long long) max_d, k->kid);
    }

    cx_list_close(cx, &l, "overdue_total");

    if (!cx->ev->keys_known && cx->ev->shared_store) {
        cx_status(cx, COMPLY_WARN);
        cx_remedy(cx, "The verification keys could not be read.");
    }

    if (!cx->ev->key_management) {
        cx_status(cx, COMPLY_WARN);
        cx_remedy(cx, "warn: key management not configured (no master "
                  "key); only the JWT verification keys' ages were "
                  "checked.");
    }
}


static void
check_key_backup(comply_ctx_t *cx, const jtree_t *params)
{
    int64_t   max_d;
    uint64_t  now_s, age_d;

    max_d = cx_int(params, "max_age_days", 30);
    now_s = cx->ev->now_us / 1000000;

    json_key(cx->json, "key_management");
    json_bool(cx->json, cx->ev->key_management);

    if (!cx->ev->key_management) {
        cx_status(cx, COMPLY_WARN);
        cx_remedy(cx, "warn: key management not configured (no master "
                  "key); there are no managed keys to back up.");
        return;
    }

    json_key(cx->json, "max_age_days");
    json_uint(cx->json, (uint64_t) max_d);
    json_key(cx->json, "last_backup_days");

    if (cx->ev->key_backup_s == 0) {
        json_null(cx->json);
        cx_status(cx, COMPLY_FAIL);
        cx_remedy(cx, "No key backup is recorded in the change history: "
                  "back the keys up (keryud keys backup, or POST "
                  "/api/security/keys/backup/) and keep the file apart "
                  "from the store.");
        return;
    }

    age_d = now_s > cx->ev->key_backup_s
            ? (now_s - cx->ev->key_backup_s) / 86400 : 0;

    json_uint(cx->json, age_d);

    if (age_d > (uint64_t) max_d) {
        cx_status(cx, COMPLY_FAIL);
        cx_remedy(cx, "The last key backup is %llu days old, past %lld; "
                  "back the keys up again (keryud keys backup).",
                  (unsigned long long) age_d, (long long) max_d);
    }
}


static void
check_tls_protocols(comply_ctx_t *cx, const jtree_t *params)
{
    int                 bits;
    char                label[CX_LABEL_MAX];
    size_t              i, tls;
    cx_list_t           l;
    const ev_server_t  *s;

    (void) params;

    if (!cx_config(cx)) {
        return;
    }

    tls = 0;
    cx_list_open(cx, &l, "offending");

    for (i = 0; i < cx->ev->nservers; i++) {
        s = &cx->ev->servers[i];

        if (!cx_server_tls(s)) {
            continue;
        }

        tls++;
        cx_server(cx->ev, i, label, sizeof(label));
        bits = s->ssl == 1 ? s->protocols : EV_UNKNOWN;

        if (bits != EV_UNKNOWN && !(bits & EV_TLS_WEAK)
            && (bits & (EV_TLS_V1_2 | EV_TLS_V1_3)))
        {
            continue;
        }

        if (cx_list_item(cx, &l, label, NULL)) {
            json_key(cx->json, "protocols");

            if (bits == EV_UNKNOWN) {
                json_null(cx->json);

            } else {
                json_array_open(cx->json);

                if (bits & EV_TLS_SSLV2) {
                    json_cstring(cx->json, "SSLv2");
                }

                if (bits & EV_TLS_SSLV3) {
                    json_cstring(cx->json, "SSLv3");
                }

                if (bits & EV_TLS_V1) {
                    json_cstring(cx->json, "TLSv1");
                }

                if (bits & EV_TLS_V1_1) {
                    json_cstring(cx->json, "TLSv1.1");
                }

                if (bits & EV_TLS_V1_2) {
                    json_cstring(cx->json, "TLSv1.2");
                }

                if (bits & EV_TLS_V1_3) {
                    json_cstring(cx->json, "TLSv1.3");
                }

                json_array_close(cx->json);
            }

            json_map_close(cx->json);
        }

        if (bits == EV_UNKNOWN) {
            cx_status(cx, COMPLY_WARN);
            cx_remedy(cx, "The module did not publish the TLS protocols of "
                      "server %s; upgrade it.", label);

        } else {
            cx_status(cx, COMPLY_FAIL);
            cx_remedy(cx, "Set \"ssl_protocols TLSv1.2 TLSv1.3;\" in server "
                      "%s.", label);
        }
    }

    cx_list_close(cx, &l, "offending_total");

    json_key(cx->json, "tls_servers");
    json_uint(cx->json, tls);

    if (tls == 0) {
        cx_status(cx, COMPLY_WARN);
        cx_remedy(cx, "No server speaks TLS, so there are no protocols to "
                  "check; see the transport control.");
    }
}


static void
check_tls_ciphers(comply_ctx_t *cx, const jtree_t *params)
{
    int                 weak;
    char                label[CX_LABEL_MAX], token[EV_STRING_MAX];
    size_t              i, tls;
    cx_list_t           l;
    const ev_server_t  *s;

    (void) params;

    if (!cx_config(cx)) {
        return;
    }

    tls = 0;
    cx_list_open(cx, &l, "offending");

    for (i = 0; i < cx->ev->nservers; i++) {
        s = &cx->ev->servers[i];

        if (!cx_server_tls(s)) {
            continue;
        }

        tls++;
        cx_server(cx->ev, i, label, sizeof(label));

        weak = (s->ssl == 1 && s->ciphers)
               ? cx_cipher_weak(s->ciphers, token, sizeof(token)) : -1;

        if (weak == 0) {
            continue;
        }

        if (cx_list_item(cx, &l, label, NULL)) {
            cx_kv(cx, "ciphers", s->ssl == 1 ? s->ciphers : NULL);

            if (weak > 0) {
                cx_kv(cx, "weak", token);
            }

            json_map_close(cx->json);
        }

        if (weak == 2) {
            cx_status(cx, COMPLY_FAIL);
            cx_remedy(cx, "Server %s admits weak suites (\"%s\"): set "
                      "\"ssl_ciphers HIGH:!aNULL:!MD5:!3DES:!RC4;\" or "
                      "stricter.", label, token);

        } else if (weak == 1) {
            cx_status(cx, COMPLY_WARN);
            cx_remedy(cx, "Server %s uses \"%s\", too broad to judge; list "
                      "the suites it needs in ssl_ciphers.", label, token);

        } else {
            cx_status(cx, COMPLY_WARN);
            cx_remedy(cx, "The module did not publish the ciphers of server "
                      "%s; upgrade it.", label);
        }
    }

    cx_list_close(cx, &l, "offending_total");

    json_key(cx->json, "tls_servers");
    json_uint(cx->json, tls);

    if (tls == 0) {
        cx_status(cx, COMPLY_WARN);
        cx_remedy(cx, "No server speaks TLS, so there are no ciphers to "
                  "check.");
    }
}


static void
check_tls_listeners(comply_ctx_t *cx, const jtree_t *params)
{
    char                label[CX_LABEL_MAX];
    size_t              i, k, plain, tls;
    cx_list_t           l;
    const ev_server_t  *s;

    (void) params;

    if (!cx_config(cx)) {
        return;
    }

    cx_list_open(cx, &l, "offending");

    for (i = 0; i < cx->ev->nservers; i++) {
        s = &cx->ev->servers[i];
        plain = 0;
        tls = 0;

        for (k = 0; k < s->nlisten; k++) {
            if (cx_listen_tls(s->listen[k])) {
                tls++;

            } else if (!cx_listen_local(s->listen[k])) {
                plain++;
            }
        }

        if (plain == 0) {
            continue;
        }

        cx_server(cx->ev, i, label, sizeof(label));

        if (cx_list_item(cx, &l, label, NULL)) {
            json_key(cx->json, "listen");
            json_array_open(cx->json);

            for (k = 0; k < s->nlisten; k++) {
                json_cstring(cx->json, s->listen[k]);
            }

            json_array_close(cx->json);
            json_map_close(cx->json);
        }

        for (k = 0; k < s->nlocations; k++) {
            cx_target(cx, s->locations[k].name);
        }

        if (tls == 0) {
            cx_status(cx, COMPLY_FAIL);
            cx_remedy(cx, "Server %s is reachable in the clear only: listen "
                      "with \"ssl\" and a certificate.", label);

        } else {
            cx_status(cx, COMPLY_WARN);
            cx_remedy(cx, "Server %s also listens in the clear; have that "
                      "listener only redirect to HTTPS (return 301), and "
                      "send HSTS.", label);
        }
    }

    cx_list_close(cx, &l, "offending_total");
}


static void
check_security_headers(comply_ctx_t *cx, const jtree_t *params)
{
    int                   val[5], missing, unknown, hsts_tls;
    char                  label[CX_LABEL_MAX];
    size_t                i, k, h;
    cx_list_t             l;
    const jtree_t        *req;
    const ev_server_t    *s;
    const ev_location_t  *loc;

    static const char    *names[] = { "hsts", "csp", "frame_options",
                                      "content_type_options",
                                      "referrer_policy" };
    static const char    *directives[] = { "keryu_hsts", "keryu_csp",
                                           "keryu_frame_options",
                                           "keryu_content_type_options",
                                           "keryu_referrer_policy" };
    unsigned              need;

    if (!cx_config(cx)) {
        return;
    }

    /* which headers are required: params "required", else all five */

    req = jtree_get(params, "required");
    need = 0;

    for (h = 0; h < 5; h++) {
        if (jtree_type(req) != JTREE_ARRAY) {
            need |= 1u << h;
            continue;
        }

        for (k = 0; k < jtree_len(req); k++) {
            if (jtree_string(jtree_at(req, k))
                && strcmp(jtree_string(jtree_at(req, k)), names[h]) == 0)
            {
                need |= 1u << h;
            }
        }
    }

    hsts_tls = cx_bool(params, "hsts_on_tls_only", 1);

    cx_list_open(cx, &l, "offending");

    for (i = 0; i < cx->ev->nservers; i++) {
        s = &cx->ev->servers[i];
        cx_server(cx->ev, i, label, sizeof(label));

        for (k = 0; k < s->nlocations; k++) {
            loc = &s->locations[k];

            val[0] = loc->hsts;
            val[1] = loc->csp;
            val[2] = loc->frame_options;
            val[3] = loc->content_type_options;
            val[4] = loc->referrer_policy;

            missing = 0;
            unknown = 0;

            for (h = 0; h < 5; h++) {
                if (!(need & (1u << h))
                    || (h == 0 && hsts_tls && !cx_server_tls(s)))
                {
                    continue;
                }

                if (loc->headers == 0 || val[h] == 0) {
                    missing |= 1 << h;

                } else if (loc->headers == EV_UNKNOWN
                           || val[h] == EV_UNKNOWN)
                {
                    unknown |= 1 << h;
                }
            }

            if (missing == 0 && unknown == 0) {
                continue;
            }

            if (cx_list_item(cx, &l, label, loc->name)) {
                json_key(cx->json, "missing");
                json_array_open(cx->json);

                for (h = 0; h < 5; h++) {
                    if (missing & (1 << h)) {
                        json_cstring(cx->json, names[h]);
                    }
                }

                json_array_close(cx->json);

                json_key(cx->json, "unknown");
                json_array_open(cx->json);

                for (h = 0; h < 5; h++) {
                    if (unknown & (1 << h)) {
                        json_cstring(cx->json, names[h]);
                    }
                }

                json_array_close(cx->json);
                json_map_close(cx->json);
            }

            if (missing) {
                cx_target(cx, loc->name);
                cx_status(cx, COMPLY_FAIL);

                if (loc->headers == 0) {
                    cx_remedy(cx, "Turn security headers on in location %s "
                              "of server %s: \"keryu_security_headers "
                              "strict;\" or basic.", loc->name, label);

                } else {
                    for (h = 0; h < 5; h++) {
                        if (missing & (1 << h)) {
                            cx_remedy(cx, "Set %s in location %s of server "
                                      "%s.", directives[h], loc->name,
                                      label);
                        }
                    }
                }

            } else {
                cx_status(cx, COMPLY_WARN);
                cx_remedy(cx, "The module did not publish the security "
                          "headers of location %s of server %s; upgrade "
                          "it.", loc->name, label);
            }
        }
    }

    cx_list_close(cx, &l, "offending_total");
}


static void
check_server_tokens(comply_ctx_t *cx, const jtree_t *params)
{
    char                label[CX_LABEL_MAX];
    size_t              i, k;
    cx_list_t           l;
    const ev_server_t  *s;

    static const char  *names[] = { "off", "on", "build" };

    (void) params;

    if (!cx_config(cx)) {
        return;
    }

    cx_list_open(cx, &l, "offending");

    for (i = 0; i < cx->ev->nservers; i++) {
        s = &cx->ev->servers[i];

        if (s->server_tokens == EV_TOKENS_OFF) {
            continue;
        }

        cx_server(cx->ev, i, label, sizeof(label));

        if (cx_list_item(cx, &l, label, NULL)) {
            cx_kv(cx, "server_tokens", s->server_tokens == EV_UNKNOWN
                                       ? "unknown"
                                       : names[s->server_tokens]);
            json_map_close(cx->json);
        }

        if (s->server_tokens == EV_UNKNOWN) {
            cx_status(cx, COMPLY_WARN);
            cx_remedy(cx, "The module did not publish server_tokens of "
                      "server %s; upgrade it.", label);
            continue;
        }

        for (k = 0; k < s->nlocations; k++) {
            cx_target(cx, s->locations[k].name);
        }

        cx_status(cx, COMPLY_FAIL);
        cx_remedy(cx, "Set \"server_tokens off;\" in server %s (or at http "
                  "level), so that nginx's version is not announced.",
                  label);
    }

    cx_list_close(cx, &l, "offending_total");
}


static void
check_brute_force_rule(comply_ctx_t *cx, const jtree_t *params)
{
    int               require_block, blocking, alerting, shadow;
    size_t            i;
    uint32_t          bit;
    const ev_rule_t  *r;

    require_block = cx_bool(params, "require_block", 1);

    if (!cx->ev->rules_known) {
        cx_status(cx, COMPLY_WARN);
        cx_remedy(cx, "Unknown: the stored policies could not be read or do "
                  "not compile; see keryud's log.");
        return;
    }

    bit = 1u << KERYU_EVENT_AUTH_FAILURE;
    blocking = 0;
    alerting = 0;
    shadow = 0;

    json_key(cx->json, "rules");
    json_array_open(cx->json);

    for (i = 0; i < cx->ev->nrules; i++) {
        r = &cx->ev->rules[i];

        if (r->types != 0 && !(r->types & bit)) {
            continue;
        }

        json_map_open(cx->json);
        cx_kv(cx, "rule", r->name);
        cx_kv(cx, "action", r->shadow ? "shadow" : r->block ? "block"
                                                            : "alert");
        json_key(cx->json, "count");
        json_uint(cx->json, r->count);
        json_key(cx->json, "window_s");
        json_uint(cx->json, r->window_ms / 1000);
        json_map_close(cx->json);

        if (r->shadow) {
            shadow++;

        } else if (r->block) {
            blocking++;

        } else {
            alerting++;
        }
    }

    json_array_close(cx->json);

    if (blocking) {
        return;
    }

    if (alerting && !require_block) {
        return;
    }

    if (alerting || shadow) {
        cx_status(cx, COMPLY_WARN);
        cx_remedy(cx, "Failed logins are counted but no rule blocks: give "
                  "the brute-force threshold policy \"action\":\"block\" "
                  "and take it out of shadow.");
        return;
    }

    cx_status(cx, COMPLY_FAIL);
    cx_remedy(cx, "No active threshold rule counts auth_failure events: "
              "apply a brute-force policy (keryud policy apply, or "
              "\"default_policies on;\" for a new store).");
}


static void
check_alert_response(comply_ctx_t *cx, const jtree_t *params)
{
    size_t             i, n, acked, late_ack, overdue, late_res;
    int64_t            window_d;
    uint64_t           since, ack_h, res_h, ack_s, sum_ack, max_ack;
    cx_list_t          l;
    const ev_alert_t  *a;

    window_d = cx_int(params, "window_days", 90);

    if (!cx->ev->alerts_known) {
        cx_status(cx, COMPLY_WARN);
        cx_remedy(cx, "Unknown: alerts could not be read.");
        return;
    }

    since = cx->ev->now_us > (uint64_t) window_d * 86400000000ULL
            ? cx->ev->now_us - (uint64_t) window_d * 86400000000ULL : 0;

    n = 0;
    acked = 0;
    late_ack = 0;
    overdue = 0;
    late_res = 0;
    sum_ack = 0;
    max_ack = 0;

    cx_list_open(cx, &l, "late");

    for (i = 0; i < cx->ev->nalerts; i++) {
        a = &cx->ev->alerts[i];

        if (a->created_us < since) {
            continue;
        }

        n++;

        ack_h = cx_hours(params, "acknowledge_hours", a->severity, 24);
        res_h = cx_hours(params, "resolve_hours", a->severity, 168);

        if (a->acked_us) {
            acked++;
            ack_s = a->acked_us > a->created_us
                    ? (a->acked_us - a->created_us) / 1000000 : 0;
            sum_ack += ack_s;
            max_ack = ack_s > max_ack ? ack_s : max_ack;
        }

        if ((a->acked_us && a->acked_us > a->created_us + ack_h * 3600000000)
            || (a->acked_us == 0
                && cx->ev->now_us > a->created_us + ack_h * 3600000000))
        {
            if (a->acked_us) {
                late_ack++;

            } else {
                overdue++;
            }

            if (cx_list_item(cx, &l, NULL, NULL)) {
                json_key(cx->json, "alert");
                json_uint(cx->json, a->id);
                cx_kv(cx, "rule", a->rule);
                cx_kv(cx, "severity", keryu_severity_name(a->severity));
                cx_kv(cx, "acknowledged", a->acked_us ? "late" : "not yet");
                json_key(cx->json, "limit_hours");
                json_uint(cx->json, ack_h);
                json_map_close(cx->json);
            }

            cx_status(cx, a->severity >= KERYU_SEVERITY_HIGH ? COMPLY_FAIL
                                                              : COMPLY_WARN);
            continue;
        }

        if ((a->resolved_us
             && a->resolved_us > a->created_us + res_h * 3600000000)
            || (a->resolved_us == 0
                && cx->ev->now_us > a->created_us + res_h * 3600000000))
        {
            late_res++;
            cx_status(cx, COMPLY_WARN);
        }
    }

    cx_list_close(cx, &l, "late_total");

    json_key(cx->json, "window_days");
    json_uint(cx->json, (uint64_t) window_d);
    json_key(cx->json, "alerts");
    json_uint(cx->json, n);
    json_key(cx->json, "acknowledged");
    json_uint(cx->json, acked);
    json_key(cx->json, "acknowledged_late");
    json_uint(cx->json, late_ack);
    json_key(cx->json, "unacknowledged_overdue");
    json_uint(cx->json, overdue);
    json_key(cx->json, "resolved_late_or_overdue");
    json_uint(cx->json, late_res);
    json_key(cx->json, "mean_acknowledge_s");
    json_uint(cx->json, acked ? sum_ack / acked : 0);
    json_key(cx->json, "max_acknowledge_s");
    json_uint(cx->json, max_ack);

    if (cx->ev->alerts_truncated) {
        json_key(cx->json, "truncated");
        json_bool(cx->json, 1);
    }

    if (late_ack || overdue) {
        cx_remedy(cx, "%zu alerts were acknowledged late and %zu wait past "
                  "their limit: acknowledge alerts (PUT "
                  "/api/security/alerts/ID/ {\"status\":\"acknowledged\"}) "
                  "within the hours set for their severity, and route them "
                  "to someone on duty (webhook, syslog).", late_ack,
                  overdue);
    }

    if (late_res) {
        cx_remedy(cx, "%zu alerts were resolved late or are still open past "
                  "their limit; resolve them once handled.", late_res);
    }
}


static void
check_admin_tokens(comply_ctx_t *cx, const jtree_t *params)
{
    size_t             i, admins, forever, long_lived;
    int64_t            max_admins, max_life;
    cx_list_t          l;
    const ev_token_t  *t;

    max_admins = cx_int(params, "max_admins", 3);
    max_life = cx_int(params, "max_lifetime_days", 90);

    if (!cx->ev->tokens_known) {
        cx_status(cx, COMPLY_WARN);
        cx_remedy(cx, "Unknown: API tokens could not be read.");
        return;
    }

    admins = 0;
    forever = 0;
    long_lived = 0;

    cx_list_open(cx, &l, "offending");

    for (i = 0; i < cx->ev->ntokens; i++) {
        t = &cx->ev->tokens[i];

        if (t->role != ROLE_ADMIN) {
            continue;
        }

        admins++;

        if (t->expires && t->expires > t->created
            && (t->expires - t->created) / 86400 <= (uint64_t) max_life)
        {
            continue;
        }

        if (cx_list_item(cx, &l, NULL, NULL)) {
            cx_kv(cx, "token", t->name);

            json_key(cx->json, "lifetime_days");

            if (t->expires) {
                json_uint(cx->json, t->expires > t->created
                                    ? (t->expires - t->created) / 86400 : 0);

            } else {
                json_null(cx->json);
            }

            json_map_close(cx->json);
        }

        if (t->expires == 0) {
            forever++;
            cx_remedy(cx, "Admin token \"%s\" never expires: create one with "
                      "--expires (keryud token create --role admin "
                      "--expires %lldd) and revoke it.", t->name,
                      (long long) max_life);

        } else {
            long_lived++;
            cx_remedy(cx, "Admin token \"%s\" lives longer than %lld days; "
                      "replace it with a shorter one.", t->name,
                      (long long) max_life);
        }
    }

    cx_list_close(cx, &l, "offending_total");

    json_key(cx->json, "admin_tokens");
    json_uint(cx->json, admins);
    json_key(cx->json, "max_admins");
    json_uint(cx->json, (uint64_t) max_admins);
    json_key(cx->json, "without_expiry");
    json_uint(cx->json, forever);

    if (admins > (size_t) max_admins) {
        cx_status(cx, COMPLY_FAIL);
        cx_remedy(cx, "%zu admin tokens exist, more than %lld: revoke those "
                  "not in use (keryud token list, token revoke), and give "
                  "auditors auditor tokens.", admins, (long long) max_admins);
    }

    if (forever) {
        cx_status(cx, COMPLY_FAIL);
    }

    if (long_lived) {
        cx_status(cx, COMPLY_WARN);
    }
}


static void
check_token_expiry(comply_ctx_t *cx, const jtree_t *params)
{
    size_t             i, n;
    int64_t            max_life;
    cx_list_t          l;
    const ev_token_t  *t;

    max_life = cx_int(params, "max_lifetime_days", 365);

    if (!cx->ev->tokens_known) {
        cx_status(cx, COMPLY_WARN);
        cx_remedy(cx, "Unknown: API tokens could not be read.");
        return;
    }

    n = 0;
    cx_list_open(cx, &l, "offending");

    for (i = 0; i < cx->ev->ntokens; i++) {
        t = &cx->ev->tokens[i];

        if (t->role == ROLE_ADMIN) {
            continue;
        }

        n++;

        if (t->expires && t->expires > t->created
            && (t->expires - t->created) / 86400 <= (uint64_t) max_life)
        {
            continue;
        }

        if (cx_list_item(cx, &l, NULL, NULL)) {
            cx_kv(cx, "token", t->name);
            cx_kv(cx, "role", token_role_name((role_e) t->role));
            cx_kv(cx, "expires", t->expires ? "too late" : "never");
            json_map_close(cx->json);
        }

        cx_status(cx, COMPLY_WARN);
        cx_remedy(cx, "Token \"%s\" (%s) %s: replace it with one made with "
                  "--expires.", t->name, token_role_name((role_e) t->role),
                  t->expires ? "lives too long" : "never expires");
    }

    cx_list_close(cx, &l, "offending_total");

    json_key(cx->json, "tokens");
    json_uint(cx->json, n);
    json_key(cx->json, "max_lifetime_days");
    json_uint(cx->json, (uint64_t) max_life);
}


static void
check_api_tls(comply_ctx_t *cx, const jtree_t *params)
{
    int  local;

    (void) params;

    local = strncmp(cx->ev->api_listen, "127.", 4) == 0
            || strcmp(cx->ev->api_listen, "::1") == 0;

    json_key(cx->json, "tls");
    json_bool(cx->json, cx->ev->api_tls);
    cx_kv(cx, "listen", cx->ev->api_listen);
    json_key(cx->json, "loopback");
    json_bool(cx->json, local);

    if (cx->ev->api_tls) {
        return;
    }

    cx_status(cx, local ? COMPLY_WARN : COMPLY_FAIL);
    cx_remedy(cx, "keryud's API answers in the clear%s: set "
              "tls_certificate and tls_key in keryud.conf.",
              local ? " (on the loopback only)" : " on the network");
}


static void
check_body_limits(comply_ctx_t *cx, const jtree_t *params)
{
    char                  label[CX_LABEL_MAX];
    size_t                i, k;
    int64_t               max;
    cx_list_t             l;
    const ev_server_t    *s;
    const ev_location_t  *loc;

    if (!cx_config(cx)) {
        return;
    }

    max = cx_int(params, "max_bytes", 10 * 1024 * 1024);

    json_key(cx->json, "max_bytes");
    json_uint(cx->json, (uint64_t) max);

    cx_list_open(cx, &l, "offending");

    for (i = 0; i < cx->ev->nservers; i++) {
        s = &cx->ev->servers[i];

        for (k = 0; k < s->nlocations; k++) {
            loc = &s->locations[k];

            if (loc->body_max > 0 && loc->body_max <= max) {
                continue;
            }

            cx_server(cx->ev, i, label, sizeof(label));

            if (cx_list_item(cx, &l, label, loc->name)) {
                json_key(cx->json, "client_max_body_size");

                if (loc->body_max == EV_UNKNOWN) {
                    json_null(cx->json);

                } else {
                    json_uint(cx->json, (uint64_t) loc->body_max);
                }

                json_map_close(cx->json);
            }

            if (loc->body_max == 0) {
                cx_target(cx, loc->name);
                cx_status(cx, COMPLY_FAIL);
                cx_remedy(cx, "Location %s of server %s takes bodies of any "
                          "size: set client_max_body_size (1m is nginx's "
                          "default).", loc->name, label);

            } else if (loc->body_max == EV_UNKNOWN) {
                cx_status(cx, COMPLY_WARN);
                cx_remedy(cx, "The module did not publish the body limit of "
                          "location %s of server %s; upgrade it.", loc->name,
                          label);

            } else {
                cx_status(cx, COMPLY_WARN);
                cx_remedy(cx, "Location %s of server %s takes bodies up to "
                          "%lld bytes; lower client_max_body_size unless it "
                          "takes uploads.", loc->name, label,
                          (long long) loc->body_max);
            }
        }
    }

    cx_list_close(cx, &l, "offending_total");
}


static void
check_input_validation(comply_ctx_t *cx, const jtree_t *params)
{
    char                  label[CX_LABEL_MAX];
    size_t                i, k, n;
    cx_list_t             l;
    cx_paths_t            p;
    const ev_server_t    *s;
    const ev_location_t  *loc;

    if (!cx_config(cx)) {
        return;
    }

    cx_paths(cx, params, "paths", 0, &p);

    if (p.n == 0) {
        p.path[0] = "/api";
        p.len[0] = 4;
        p.n = 1;
    }

    n = 0;
    cx_list_open(cx, &l, "offending");

    for (i = 0; i < cx->ev->nservers; i++) {
        s = &cx->ev->servers[i];

        for (k = 0; k < s->nlocations; k++) {
            loc = &s->locations[k];

            if (!cx_sensitive(s, k, &p)) {
                continue;
            }

            n++;

            if (loc->validate == EV_MODE_ON) {
                continue;
            }

            cx_server(cx->ev, i, label, sizeof(label));

            if (cx_list_item(cx, &l, label, loc->name)) {
                cx_kv(cx, "validate", evidence_mode_name(loc->validate));
                json_map_close(cx->json);
            }

            if (loc->validate == EV_MODE_OFF
                || loc->validate == EV_MODE_NULL)
            {
                cx_target(cx, loc->name);
                cx_status(cx, COMPLY_FAIL);
                cx_remedy(cx, "Validate request bodies in API location %s of "
                          "server %s against a JSON schema (the module's "
                          "validation, on).", loc->name, label);

            } else if (loc->validate == EV_MODE_SHADOW) {
                cx_status(cx, COMPLY_WARN);
                cx_remedy(cx, "Validation in location %s of server %s only "
                          "reports; turn it on once its schemas hold.",
                          loc->name, label);

            } else {
                cx_status(cx, COMPLY_WARN);
                cx_remedy(cx, "The module did not say whether location %s of "
                          "server %s validates input; upgrade it.",
                          loc->name, label);
            }
        }
    }

    cx_list_close(cx, &l, "offending_total");

    json_key(cx->json, "api_locations");
    json_uint(cx->json, n);
}


static void
check_erasure(comply_ctx_t *cx, const jtree_t *params)
{
    (void) params;

    json_key(cx->json, "retention_days");

    if (cx->ev->retention_s) {
        json_uint(cx->json, cx->ev->retention_s / 86400);

    } else {
        json_null(cx->json);
    }

    /* store_erase_subject() is part of every keryud this file is in */

    json_key(cx->json, "per_subject_erasure");
    json_bool(cx->json, 1);
    cx_kv(cx, "how", "DELETE /api/security/subjects/USER/, or keryud "
          "subject erase USER");

    if (cx->ev->retention_s == 0) {
        cx_status(cx, COMPLY_FAIL);
        cx_remedy(cx, "Records are never deleted (retention off): set "
                  "\"retention\" in keryud.conf so that personal data "
                  "leaves the store in time even when nobody asks.");
    }
}


static void
check_nginx_cves(comply_ctx_t *cx, const jtree_t *params)
{
    int                  http2, http3, applies;
    size_t               i, k, n;
    comply_version_t     v;
    const comply_cve_t  *cve;
    const ev_server_t   *s;

    (void) params;

    if (!cx_config(cx)) {
        return;
    }

    cx_kv(cx, "nginx_version", cx->ev->nginx_version[0]
                               ? cx->ev->nginx_version : NULL);

    if (cx->cves == NULL) {
        cx_status(cx, COMPLY_WARN);
        cx_remedy(cx, "No CVE list is loaded (nginx_cves in keryud.conf).");
        return;
    }

    cx_kv(cx, "list_checked", cx->cves->checked);

    if (cx->ev->nginx_version[0] == '\0'
        || comply_version_parse(cx->ev->nginx_version, &v) == -1)
    {
        cx_status(cx, COMPLY_WARN);
        cx_remedy(cx, "The module did not publish a version of nginx that "
                  "can be read; upgrade it.");
        return;
    }

    http2 = 0;
    http3 = 0;

    for (i = 0; i < cx->ev->nservers; i++) {
        s = &cx->ev->servers[i];

        for (k = 0; k < s->nlisten; k++) {
            http2 |= strstr(s->listen[k], "http2") != NULL;
            http3 |= strstr(s->listen[k], "quic") != NULL
                     || strstr(s->listen[k], "http3") != NULL;
        }
    }

    n = 0;

    json_key(cx->json, "matched");
    json_array_open(cx->json);

    for (i = 0; i < cx->cves->ncves; i++) {
        cve = &cx->cves->cves[i];

        if (!comply_cve_affects(cve, &v)) {
            continue;
        }

        /* a feature the published listens show to be off rules it out */

        applies = 1;

        if (cve->requires && strcmp(cve->requires, "http2") == 0) {
            applies = http2;

        } else if (cve->requires && strcmp(cve->requires, "http3") == 0) {
            applies = http3;
        }

        if (!applies) {
            continue;
        }

        n++;

        json_map_open(cx->json);
        cx_kv(cx, "id", cve->id);
        cx_kv(cx, "summary", cve->summary);
        cx_kv(cx, "severity", cve->severity);
        cx_kv(cx, "requires", cve->requires);
        json_map_close(cx->json);
    }

    json_array_close(cx->json);

    if (n == 0) {
        return;
    }

    cx_kv(cx, "caveat", cx->cves->caveat ? cx->cves->caveat
          : "version matching is an indication, not proof: distributions "
            "backport fixes");

    /* distributions backport fixes: a version match is a warning only */

    cx_status(cx, COMPLY_WARN);
    cx_remedy(cx, "nginx %s falls in the range of %zu known CVEs; this is an "
              "indication, not proof, since distributions such as Debian "
              "backport fixes: check the package's changelog, or upgrade "
              "nginx.", cx->ev->nginx_version, n);
}


static void
check_enforcement_current(comply_ctx_t *cx, const jtree_t *params)
{
    (void) params;

    json_key(cx->json, "shared_store");
    json_bool(cx->json, cx->ev->shared_store);

    if (!cx->ev->shared_store) {
        cx_status(cx, COMPLY_WARN);
        cx_remedy(cx, "Unknown: the shared store is not open.");
        return;
    }

    json_key(cx->json, "policy_version");
    json_uint(cx->json, cx->ev->config_version);
    json_key(cx->json, "workers");
    json_uint(cx->json, cx->ev->workers);
    json_key(cx->json, "workers_behind");
    json_uint(cx->json, cx->ev->workers_behind);

    if (cx->ev->workers_behind) {
        cx_status(cx, COMPLY_FAIL);
        cx_remedy(cx, "%llu nginx workers enforce an older set of policies "
                  "than the store holds: the set they refuse is in nginx's "
                  "error log; fix the policies or reload nginx.",
                  (unsigned long long) cx->ev->workers_behind);

    } else if (cx->ev->workers == 0) {
        cx_status(cx, COMPLY_WARN);
        cx_remedy(cx, "No nginx worker reports what it enforces: nginx is "
                  "not running, or no location has keryu_access.");
    }
}
