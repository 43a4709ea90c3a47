/*
 * Copyright (C) Keryu Security
 *
 * The evidence reader: the effective configuration that the nginx module
 * publishes, read through jtree.h, and what keryud knows of itself, read
 * from its own store and the shared one.  Each piece is read in a short
 * read transaction of its own and copied out; a piece that cannot be read
 * stays unknown, so that one failing store turns its checks into warnings
 * instead of stopping the whole evaluation.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "evidence.h"
#include "admin.h"
#include "alert.h"
#include "chain.h"
#include "jtree.h"
#include "keys.h"
#include "keryu_policy.h"
#include "log.h"
#include "metrics.h"
#include "policy.h"


/* what the policy walk compiles the stored set into */
typedef struct {
    keryu_policy_set_t *set;
    int                 failed;
    char                err[KERYU_POLICY_ERR_MAX];
} ev_load_t;


static int ev_server(ev_server_t *s, const jtree_t *v);
static int ev_location(ev_location_t *l, const jtree_t *v);
static int ev_strings(const jtree_t *v, char ***out, size_t *n);
static int ev_listens(const jtree_t *v, char ***out, size_t *n);
static char *ev_strdup(const char *s);
static int ev_flag(const jtree_t *v);
static int ev_mode(const jtree_t *v, int nullable);
static int ev_protocols(const jtree_t *v);
static void ev_server_free(ev_server_t *s);
static void ev_config_free(evidence_t *ev);
static int ev_rules(evidence_t *ev, keryu_store_t *src);
static int ev_rule_add(void *ctx, const char *name, size_t namelen,
    const char *doc, size_t len);
static int ev_alerts(evidence_t *ev, store_t *own, MDB_txn *txn);
static int ev_alert_item(void *ctx, const alert_t *a);
static int ev_tokens(evidence_t *ev, store_t *own, MDB_txn *txn);
static int ev_token_item(void *ctx, role_e role, const char *name,
    size_t name_len, time_t created, time_t expires);
static int ev_keys(evidence_t *ev, keryu_store_t *src);
static void ev_shared(evidence_t *ev, keryu_store_t *src);
static void ev_managed(evidence_t *ev, const conf_t *cf, keys_t *keys);
static void ev_backups(evidence_t *ev, store_t *own, MDB_txn *txn);
static void ev_chain(evidence_t *ev, store_t *own, MDB_txn *txn);


/* keryud is one thread: one buffer serves every record this file opens */
static store_rbuf_t  evidence_rbuf;


void
evidence_init(evidence_t *ev, uint64_t now_us)
{
    memset(ev, 0, sizeof(evidence_t));

    ev->now_us = now_us;
    ev->sealing_key = EV_UNKNOWN;
    ev->integrity_ok = EV_UNKNOWN;
}


int
evidence_parse(evidence_t *ev, const char *json, size_t len, char *err,
    size_t errlen)
{
    size_t        i, n;
    jtree_t      *root, *servers;
    uint64_t      us;
    const char   *s;

    ev_config_free(ev);

    root = jtree_parse(json, len, err, errlen);
    if (root == NULL) {
        return -1;
    }

    if (jtree_type(root) != JTREE_OBJECT) {
        snprintf(err, errlen, "not a JSON object");
        goto failed;
    }

    servers = jtree_get(root, "servers");

    if (servers && jtree_type(servers) != JTREE_ARRAY) {
        snprintf(err, errlen, "\"servers\" is not an array");
        goto failed;
    }

    s = jtree_get_string(root, "nginx_version");

    if (s && strlen(s) < EV_VERSION_MAX) {
        strcpy(ev->nginx_version, s);
    }

    s = jtree_get_string(root, "published_at");

    if (s) {
        snprintf(ev->published_at, sizeof(ev->published_at), "%s", s);

        if (time_parse(s, &us) == 0) {
            ev->published_us = us;
        }
    }

    n = jtree_len(servers);
    n = n < EV_SERVERS_MAX ? n : EV_SERVERS_MAX;

    if (n) {
        ev->servers = calloc(n, sizeof(ev_server_t));
        if (ev->servers == NULL) {
            snprintf(err, errlen, "out of memory");
            goto failed;
        }
    }

    for (i = 0; i < n; i++) {

        /* a server that is not an object is skipped, not fatal */

        if (jtree_type(jtree_at(servers, i)) != JTREE_OBJECT) {
            continue;
        }

        if (ev_server(&ev->servers[ev->nservers], jtree_at(servers, i))
            == -1)
        {
            ev_server_free(&ev->servers[ev->nservers]);
            snprintf(err, errlen, "out of memory");
            goto failed;
        }

        ev->nservers++;
    }

    ev->config = 1;
    ev->config_error[0] = '\0';

    jtree_free(root);

    return 0;

failed:

    jtree_free(root);
    ev_config_free(ev);

    return -1;
}


static int
ev_server(ev_server_t *s, const jtree_t *v)
{
    size_t          i, n;
    jtree_t        *ssl, *locs;
    const char     *t;

    memset(s, 0, sizeof(ev_server_t));

    s->ssl = EV_UNKNOWN;
    s->protocols = EV_UNKNOWN;
    s->server_tokens = EV_UNKNOWN;

    if (ev_strings(jtree_get(v, "names"), &s->names, &s->nnames) == -1
        || ev_listens(jtree_get(v, "listen"), &s->listen, &s->nlisten) == -1)
    {
        return -1;
    }

    ssl = jtree_get(v, "ssl");

    if (jtree_type(ssl) == JTREE_NULL) {
        s->ssl = 0;

    } else if (jtree_type(ssl) == JTREE_OBJECT) {
        s->ssl = 1;
        s->protocols = ev_protocols(jtree_get(ssl, "protocols"));

        t = jtree_get_string(ssl, "ciphers");

        if (t) {
            s->ciphers = ev_strdup(t);
            if (s->ciphers == NULL) {
                return -1;
            }
        }
    }

    t = jtree_get_string(v, "server_tokens");

    if (t) {
        if (strcmp(t, "off") == 0) {
            s->server_tokens = EV_TOKENS_OFF;

        } else if (strcmp(t, "on") == 0) {
            s->server_tokens = EV_TOKENS_ON;

        } else if (strcmp(t, "build") == 0) {
            s->server_tokens = EV_TOKENS_BUILD;
        }
    }

    locs = jtree_get(v, "locations");
    n = jtree_len(locs);

    if (jtree_type(locs) != JTREE_ARRAY || n == 0) {
        return 0;
    }

    n = n < EV_LOCATIONS_MAX ? n : EV_LOCATIONS_MAX;

    s->locations = calloc(n, sizeof(ev_location_t));
    if (s->locations == NULL) {
        return -1;
    }

    for (i = 0; i < n; i++) {
        if (jtree_type(jtree_at(locs, i)) != JTREE_OBJECT) {
            continue;
        }

        if (ev_location(&s->locations[s->nlocations], jtree_at(locs, i))
            == -1)
        {
            return -1;
        }

        s->nlocations++;
    }

    return 0;
}


static int
ev_location(ev_location_t *l, const jtree_t *v)
{
    char            name[EV_STRING_MAX];
    size_t          i;
    jtree_t        *id, *h;
    int64_t         n;
    const char     *s, *m;

    memset(l, 0, sizeof(ev_location_t));

    s = jtree_get_string(v, "name");
    m = jtree_get_string(v, "match");

    /* the name as a configuration writes it, whatever the document says */

    if (m && strcmp(m, "server") == 0) {
        snprintf(name, sizeof(name), "%s", EV_SERVER_LEVEL);

    } else if (m && strcmp(m, "exact") == 0 && s && s[0] != '=') {
        snprintf(name, sizeof(name), "= %s", s);

    } else if (m && strcmp(m, "regex") == 0 && s && s[0] != '~') {
        snprintf(name, sizeof(name), "~ %s", s);

    } else {
        snprintf(name, sizeof(name), "%s", s ? s : EV_SERVER_LEVEL);
    }

    l->name = ev_strdup(name[0] ? name : EV_SERVER_LEVEL);
    if (l->name == NULL) {
        return -1;
    }

    l->enforce = ev_mode(jtree_get(v, "enforce"), 0);
    l->log = ev_flag(jtree_get(v, "log"));
    l->validate = ev_mode(jtree_get(v, "validate"), 1);

    l->identity = EV_UNKNOWN;
    id = jtree_get(v, "identity");

    if (jtree_type(id) == JTREE_ARRAY) {
        l->identity = 0;

        for (i = 0; i < jtree_len(id); i++) {
            s = jtree_string(jtree_at(id, i));

            if (s == NULL) {
                continue;
            }

            if (strcmp(s, "bearer") == 0) {
                l->identity |= EV_ID_BEARER;

            } else if (strcmp(s, "cookie") == 0) {
                l->identity |= EV_ID_COOKIE;

            } else if (strcmp(s, "apikey") == 0) {
                l->identity |= EV_ID_APIKEY;

            } else if (strcmp(s, "signature") == 0) {
                l->identity |= EV_ID_SIGNATURE;

            } else {
                l->identity |= EV_ID_OTHER;
            }
        }
    }

    s = jtree_get_string(v, "default");
    l->default_deny = s == NULL ? EV_UNKNOWN
                      : strcmp(s, "deny") == 0 ? 1
                      : strcmp(s, "allow") == 0 ? 0 : EV_UNKNOWN;

    s = jtree_get_string(v, "fail");
    l->fail_closed = s == NULL ? EV_UNKNOWN
                     : strcmp(s, "closed") == 0 ? 1
                     : strcmp(s, "open") == 0 ? 0 : EV_UNKNOWN;

    l->headers = EV_UNKNOWN;
    l->hsts = EV_UNKNOWN;
    l->csp = EV_UNKNOWN;
    l->frame_options = EV_UNKNOWN;
    l->content_type_options = EV_UNKNOWN;
    l->referrer_policy = EV_UNKNOWN;

    h = jtree_get(v, "headers");

    if (jtree_type(h) == JTREE_NULL) {
        l->headers = 0;

    } else if (jtree_type(h) == JTREE_OBJECT) {
        l->headers = 1;

        s = jtree_get_string(h, "preset");

        if (s && strlen(s) < sizeof(l->preset)) {
            strcpy(l->preset, s);
        }

        l->hsts = ev_flag(jtree_get(h, "hsts"));
        l->csp = ev_flag(jtree_get(h, "csp"));
        l->frame_options = ev_flag(jtree_get(h, "frame_options"));
        l->content_type_options =
                             ev_flag(jtree_get(h, "content_type_options"));
        l->referrer_policy = ev_flag(jtree_get(h, "referrer_policy"));
    }

    l->body_max = EV_UNKNOWN;

    if (jtree_int(jtree_get(v, "client_max_body_size"), &n) == 0 && n >= 0) {
        l->body_max = n;
    }

    return 0;
}


/* an array of strings, others skipped; NULL or another kind is empty */

static int
ev_strings(const jtree_t *v, char ***out, size_t *n)
{
    size_t       i, len;
    const char  *s;

    *out = NULL;
    *n = 0;

    len = jtree_len(v);

    if (jtree_type(v) != JTREE_ARRAY || len == 0) {
        return 0;
    }

    len = len < EV_NAMES_MAX ? len : EV_NAMES_MAX;

    *out = calloc(len, sizeof(char *));
    if (*out == NULL) {
        return -1;
    }

    for (i = 0; i < len; i++) {
        s = jtree_string(jtree_at(v, i));

        if (s == NULL) {
            continue;
        }

        (*out)[*n] = ev_strdup(s);
        if ((*out)[*n] == NULL) {
            return -1;
        }

        (*n)++;
    }

    return 0;
}


/*
 * listen lines: strings as a configuration writes them, or objects
 * {"address", "ssl", "http2", "quic"} written as such strings
 */

static int
ev_listens(const jtree_t *v, char ***out, size_t *n)
{
    char          buf[EV_STRING_MAX];
    size_t        i, len;
    jtree_t      *e;
    const char   *s;

    *out = NULL;
    *n = 0;

    len = jtree_len(v);

    if (jtree_type(v) != JTREE_ARRAY || len == 0) {
        return 0;
    }

    len = len < EV_NAMES_MAX ? len : EV_NAMES_MAX;

    *out = calloc(len, sizeof(char *));
    if (*out == NULL) {
        return -1;
    }

    for (i = 0; i < len; i++) {
        e = jtree_at(v, i);
        s = jtree_string(e);

        if (s == NULL) {
            s = jtree_get_string(e, "address");

            if (s == NULL) {
                continue;
            }

            snprintf(buf, sizeof(buf), "%s%s%s%s", s,
                     jtree_bool(jtree_get(e, "ssl")) == 1 ? " ssl" : "",
                     jtree_bool(jtree_get(e, "http2")) == 1 ? " http2" : "",
                     jtree_bool(jtree_get(e, "quic")) == 1 ? " quic" : "");
            s = buf;
        }

        (*out)[*n] = ev_strdup(s);
        if ((*out)[*n] == NULL) {
            return -1;
        }

        (*n)++;
    }

    return 0;
}


/* a copy cut at EV_STRING_MAX - 1 bytes */

static char *
ev_strdup(const char *s)
{
    char    *p;
    size_t   len;

    len = strlen(s);
    len = len < EV_STRING_MAX ? len : EV_STRING_MAX - 1;

    p = malloc(len + 1);
    if (p == NULL) {
        return NULL;
    }

    memcpy(p, s, len);
    p[len] = '\0';

    return p;
}


static int
ev_flag(const jtree_t *v)
{
    int  b;

    b = jtree_bool(v);

    return b == -1 ? EV_UNKNOWN : b;
}


static int
ev_mode(const jtree_t *v, int nullable)
{
    const char  *s;

    if (nullable && jtree_type(v) == JTREE_NULL) {
        return EV_MODE_NULL;
    }

    s = jtree_string(v);

    if (s == NULL) {
        return EV_UNKNOWN;
    }

    if (strcmp(s, "on") == 0) {
        return EV_MODE_ON;
    }

    if (strcmp(s, "off") == 0) {
        return EV_MODE_OFF;
    }

    if (strcmp(s, "shadow") == 0) {
        return EV_MODE_SHADOW;
    }

    return EV_UNKNOWN;
}


/* nginx's names for ssl_protocols, compared without case */

static int
ev_protocols(const jtree_t *v)
{
    int          bits;
    size_t       i;
    const char  *s;

    if (jtree_type(v) != JTREE_ARRAY) {
        return EV_UNKNOWN;
    }

    bits = 0;

    for (i = 0; i < jtree_len(v); i++) {
        s = jtree_string(jtree_at(v, i));

        if (s == NULL) {
            continue;
        }

        if (strcasecmp(s, "SSLv2") == 0) {
            bits |= EV_TLS_SSLV2;

        } else if (strcasecmp(s, "SSLv3") == 0) {
            bits |= EV_TLS_SSLV3;

        } else if (strcasecmp(s, "TLSv1") == 0
                   || strcasecmp(s, "TLSv1.0") == 0)
        {
            bits |= EV_TLS_V1;

        } else if (strcasecmp(s, "TLSv1.1") == 0) {
            bits |= EV_TLS_V1_1;

        } else if (strcasecmp(s, "TLSv1.2") == 0) {
            bits |= EV_TLS_V1_2;

        } else if (strcasecmp(s, "TLSv1.3") == 0) {
            bits |= EV_TLS_V1_3;

        } else {
            bits |= EV_TLS_OTHER;
        }
    }

    return bits;
}


int
evidence_read_config(evidence_t *ev, keryu_store_t *src)
{
    int       rc;
    char      err[64];
    MDB_val   key, val;
    MDB_txn  *txn;

    ev->config = 0;

    if (src->env == NULL) {
        snprintf(ev->config_error, sizeof(ev->config_error),
                 "shared store unavailable");
        return 0;
    }

    rc = keryu_store_txn_begin(src, MDB_RDONLY, &txn);
    if (rc != 0) {
        return rc;
    }

    key.mv_size = sizeof(EVIDENCE_META_KEY) - 1;
    key.mv_data = (void *) EVIDENCE_META_KEY;

    rc = mdb_get(txn, src->meta, &key, &val);

    if (rc == MDB_NOTFOUND) {
        mdb_txn_abort(txn);
        snprintf(ev->config_error, sizeof(ev->config_error),
                 "nginx has published no effective configuration");
        return 0;
    }

    if (rc != 0) {
        mdb_txn_abort(txn);
        return rc;
    }

    /* the value lives in the map until the transaction ends */

    if (val.mv_size > EV_CONFIG_MAX) {
        snprintf(ev->config_error, sizeof(ev->config_error),
                 "effective configuration larger than %d bytes",
                 EV_CONFIG_MAX);

    } else if (evidence_parse(ev, val.mv_data, val.mv_size, err, sizeof(err))
               == -1)
    {
        snprintf(ev->config_error, sizeof(ev->config_error),
                 "effective configuration unreadable: %s", err);
    }

    mdb_txn_abort(txn);

    return 0;
}


int
evidence_gather(evidence_t *ev, const conf_t *cf, store_t *own,
    keryu_store_t *src, keys_t *keys, uint64_t now_us)
{
    int       rc;
    MDB_txn  *txn;

    evidence_init(ev, now_us);

    ev->retention_s = cf->retention;
    ev->api_tls = cf->tls_certificate[0] != '\0';
    snprintf(ev->api_listen, sizeof(ev->api_listen), "%s", cf->listen_addr);
    ev->shared_store = src->env != NULL;

    rc = evidence_read_config(ev, src);
    if (rc != 0) {
        log_warnx("evidence: reading the effective configuration failed: %s",
                  mdb_strerror(rc));
        snprintf(ev->config_error, sizeof(ev->config_error),
                 "shared store read failed");
    }

    if (ev_rules(ev, src) == -1 || ev_keys(ev, src) == -1) {
        return -1;
    }

    ev_shared(ev, src);

    rc = store_txn_begin(own, MDB_RDONLY, &txn);
    if (rc != 0) {
        log_warnx("evidence: mdb_txn_begin() failed: %s", mdb_strerror(rc));
        return 0;
    }

    if (ev_alerts(ev, own, txn) == -1 || ev_tokens(ev, own, txn) == -1) {
        mdb_txn_abort(txn);
        return -1;
    }

    if (store_meta_get(own, txn, STORE_META_LOST, &ev->lost) != 0) {
        ev->lost = 0;
    }

    ev_managed(ev, cf, keys);

    if (ev->key_management) {
        ev_backups(ev, own, txn);
    }

    ev_chain(ev, own, txn);

    mdb_txn_abort(txn);

    return 0;
}


/*
 * the threshold rules of the active stored policies, compiled as detection
 * compiles them
 */

static int
ev_rules(evidence_t *ev, keryu_store_t *src)
{
    size_t                    i, n;
    ev_rule_t                *r;
    ev_load_t                 ld;
    const keryu_threshold_t  *t;
    const keryu_threshold_t  *const *rules;

    if (src->env == NULL) {
        return 0;
    }

    memset(&ld, 0, sizeof(ev_load_t));

    ld.set = keryu_policy_set_create();
    if (ld.set == NULL) {
        return -1;
    }

    if (policy_each(src, ev_rule_add, &ld, ld.err, sizeof(ld.err))
        != POLICY_OK
        || ld.failed
        || keryu_policy_set_finish(ld.set, ld.err, sizeof(ld.err)) != 0)
    {
        log_warnx("evidence: the stored policies do not compile: %s",
                  ld.err);
        keryu_policy_set_free(ld.set);
        return 0;
    }

    n = keryu_policy_set_thresholds(ld.set, &rules);
    n = n < EV_RULES_MAX ? n : EV_RULES_MAX;

    if (n) {
        ev->rules = calloc(n, sizeof(ev_rule_t));
        if (ev->rules == NULL) {
            keryu_policy_set_free(ld.set);
            return -1;
        }
    }

    for (i = 0; i < n; i++) {
        t = rules[i];
        r = &ev->rules[i];

        snprintf(r->name, sizeof(r->name), "%s/%s", t->policy, t->id);
        r->types = t->types;
        r->block = t->block != 0 && !t->shadow;
        r->shadow = t->shadow;
        r->severity = t->severity;
        r->count = t->count;
        r->window_ms = t->window_ms;
    }

    ev->nrules = n;
    ev->rules_known = 1;

    keryu_policy_set_free(ld.set);

    return 0;
}


static int
ev_rule_add(void *ctx, const char *name, size_t namelen, const char *doc,
    size_t len)
{
    ev_load_t  *ld = ctx;

    (void) name;
    (void) namelen;

    if (!ld->failed
        && keryu_policy_set_add(ld->set, doc, len, ld->err, sizeof(ld->err))
           != 0)
    {
        ld->failed = 1;
    }

    return 0;
}


static int
ev_alerts(evidence_t *ev, store_t *own, MDB_txn *txn)
{
    int              rc;
    uint64_t         next;
    alert_filter_t   f;

    ev->alerts = calloc(EV_ALERTS_MAX, sizeof(ev_alert_t));
    if (ev->alerts == NULL) {
        return -1;
    }

    memset(&f, 0, sizeof(alert_filter_t));
    f.limit = EV_ALERTS_MAX + 1;

    rc = alert_list(own, txn, &f, ev_alert_item, ev, &next);
    if (rc != 0) {
        log_warnx("evidence: reading alerts failed: %s", mdb_strerror(rc));
        return 0;
    }

    ev->alerts_known = 1;

    return 0;
}


/* the first change to acknowledged or resolved is the acknowledgement */

static int
ev_alert_item(void *ctx, const alert_t *a)
{
    evidence_t  *ev = ctx;

    unsigned     i;
    ev_alert_t  *e;

    if (ev->nalerts == EV_ALERTS_MAX) {
        ev->alerts_truncated = 1;
        return 1;
    }

    e = &ev->alerts[ev->nalerts++];

    e->id = a->id;
    e->severity = a->severity;
    e->status = a->status;
    e->created_us = a->created_us;
    e->blocked = a->block[0] != '\0';
    snprintf(e->rule, sizeof(e->rule), "%s", a->rule);

    for (i = 0; i < a->nresponses; i++) {
        if (strcmp(a->responses[i].action, "status") != 0) {
            continue;
        }

        if (e->acked_us == 0
            && (a->responses[i].to == ALERT_ACKNOWLEDGED
                || a->responses[i].to == ALERT_RESOLVED))
        {
            e->acked_us = a->responses[i].at_us;
        }

        if (a->responses[i].to == ALERT_RESOLVED) {
            e->resolved_us = a->responses[i].at_us;

        } else if (a->responses[i].to == ALERT_OPEN) {
            e->resolved_us = 0;
        }
    }

    return 0;
}


static int
ev_tokens(evidence_t *ev, store_t *own, MDB_txn *txn)
{
    int  rc;

    ev->tokens = calloc(EV_TOKENS_MAX, sizeof(ev_token_t));
    if (ev->tokens == NULL) {
        return -1;
    }

    rc = token_each(own, txn, ev_token_item, ev);
    if (rc != 0) {
        log_warnx("evidence: reading tokens failed: %s", mdb_strerror(rc));
        return 0;
    }

    ev->tokens_known = 1;

    return 0;
}


static int
ev_token_item(void *ctx, role_e role, const char *name, size_t name_len,
    time_t created, time_t expires)
{
    evidence_t  *ev = ctx;

    ev_token_t  *t;

    if (ev->ntokens == EV_TOKENS_MAX) {
        return 1;
    }

    /* an expired token no longer authenticates: retention deletes it */

    if (expires && (uint64_t) expires * 1000000 <= ev->now_us) {
        return 0;
    }

    t = &ev->tokens[ev->ntokens++];

    t->role = role;
    t->created = (uint64_t) created;
    t->expires = (uint64_t) expires;

    name_len = name_len < TOKEN_NAME_MAX ? name_len : TOKEN_NAME_MAX;
    memcpy(t->name, name, name_len);
    t->name[name_len] = '\0';

    return 0;
}


/* the JWT verification keys of the shared store, their secrets unread */

static int
ev_keys(evidence_t *ev, keryu_store_t *src)
{
    int          rc;
    size_t       len;
    MDB_val      key, val;
    MDB_txn     *txn;
    ev_key_t    *k;
    uint64_t     created;
    MDB_cursor  *cur;

    if (src->env == NULL) {
        return 0;
    }

    ev->keys = calloc(EV_KEYS_MAX, sizeof(ev_key_t));
    if (ev->keys == NULL) {
        return -1;
    }

    rc = keryu_store_txn_begin(src, MDB_RDONLY, &txn);
    if (rc != 0) {
        goto failed;
    }

    rc = mdb_cursor_open(txn, src->keys, &cur);
    if (rc != 0) {
        mdb_txn_abort(txn);
        goto failed;
    }

    for (rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST);
         rc == 0 && ev->nkeys < EV_KEYS_MAX;
         rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT))
    {
        k = &ev->keys[ev->nkeys];

        if (admin_key_info(&val, k->alg, sizeof(k->alg), &created) != 0) {
            continue;
        }

        len = key.mv_size < sizeof(k->kid) - 1 ? key.mv_size
                                               : sizeof(k->kid) - 1;
        memcpy(k->kid, key.mv_data, len);
        k->kid[len] = '\0';
        k->created = created;

        ev->nkeys++;
    }

    mdb_cursor_close(cur);
    mdb_txn_abort(txn);

    if (rc != 0 && rc != MDB_NOTFOUND) {
        goto failed;
    }

    ev->keys_known = 1;

    return 0;

failed:

    log_warnx("evidence: reading verification keys failed: %s",
              mdb_strerror(rc));

    return 0;
}


static void
ev_shared(evidence_t *ev, keryu_store_t *src)
{
    int                rc;
    metrics_shared_t  *sh;

    if (src->env == NULL) {
        return;
    }

    sh = malloc(sizeof(metrics_shared_t));
    if (sh == NULL) {
        return;
    }

    rc = metrics_shared_read(src, sh);

    if (rc == 0) {
        ev->workers = sh->nworkers;
        ev->workers_behind = sh->behind;
        ev->config_version = sh->config_version;

    } else {
        log_warnx("evidence: reading the shared store failed: %s",
                  keryu_store_strerror(rc));
    }

    free(sh);
}


/* the active version of each key type keryud manages, values wiped */

static void
ev_managed(evidence_t *ev, const conf_t *cf, keys_t *keys)
{
    int          type;
    char         kid[KEYS_KID_LEN + 1];
    ev_mkey_t   *m;
    keys_key_t   k;

    if (!keys_enabled(keys)) {
        return;
    }

    ev->key_management = 1;
    ev->sealing_key = keys_active_version(keys, KEYS_LOG_SEALING) != 0;

    for (type = KEYS_LOG_SEALING;
         type <= KEYS_MANAGED && ev->nmkeys < EV_MKEYS_MAX;
         type++)
    {
        if (keys_get(keys, type, 0, &k) != 0) {
            continue;
        }

        m = &ev->mkeys[ev->nmkeys++];

        keys_kid(&k, kid);
        snprintf(m->type, sizeof(m->type), "%s", keys_type_name(type));
        snprintf(m->kid, sizeof(m->kid), "%s", kid);
        m->version = k.version;
        m->created = k.created;
        m->period = type < CONF_KEY_TYPES ? cf->key_period[type] : 0;

        memset(&k, 0, sizeof(keys_key_t));
    }
}


/*
 * the time of the newest key backup, found in the change history: every
 * backup, from the command line or the API, is a "keys.backup" change
 */

static void
ev_backups(evidence_t *ev, store_t *own, MDB_txn *txn)
{
    int              rc;
    size_t           n;
    uint8_t          type;
    MDB_val          key, val, lkey, lval;
    MDB_cursor      *cur;
    keryu_record_t   rec;

    static const char  action[] = "\"action\":\"keys.backup\"";

    rc = mdb_cursor_open(txn, own->by_type, &cur);
    if (rc != 0) {
        return;
    }

    type = KERYU_EVENT_SYSTEM_CHANGE;
    key.mv_size = 1;
    key.mv_data = &type;

    n = 0;

    for (rc = mdb_cursor_get(cur, &key, &val, MDB_SET_KEY),
         rc = rc == 0 ? mdb_cursor_get(cur, &key, &val, MDB_LAST_DUP) : rc;
         rc == 0 && n < EV_CHANGES_MAX;
         rc = mdb_cursor_get(cur, &key, &val, MDB_PREV_DUP), n++)
    {
        if (val.mv_size != 8) {
            break;
        }

        lkey = val;

        if (mdb_get(txn, own->logs, &lkey, &lval) != 0
            || store_record_read(own, &lval, &rec, &evidence_rbuf) == -1
            || memmem(rec.details.data, rec.details.len, action,
                      sizeof(action) - 1) == NULL)
        {
            continue;
        }

        ev->key_backup_s = rec.time_us / 1000000;
        break;
    }

    mdb_cursor_close(cur);
}


/* a quick verification of the chain, from its newest checkpoint */

static void
ev_chain(evidence_t *ev, store_t *own, MDB_txn *txn)
{
    int             rc;
    chain_verify_t  v;

    ev->integrity = 1;

    rc = chain_verify(own, txn, 0, &v);

    if (rc != 0) {
        snprintf(ev->integrity_reason, sizeof(ev->integrity_reason),
                 "verification failed: %s", mdb_strerror(rc));
        return;
    }

    ev->integrity_ok = v.kind == CHAIN_OK;
    ev->integrity_records = v.entries;
    ev->integrity_checkpoints = v.checkpoints;

    if (v.kind != CHAIN_OK) {
        snprintf(ev->integrity_reason, sizeof(ev->integrity_reason),
                 "%s at record %llu%s%s", chain_kind_name(v.kind),
                 (unsigned long long) v.bad_id, v.reason ? ": " : "",
                 v.reason ? v.reason : "");
    }
}


static void
ev_server_free(ev_server_t *s)
{
    size_t  i;

    for (i = 0; i < s->nnames; i++) {
        free(s->names[i]);
    }

    for (i = 0; i < s->nlisten; i++) {
        free(s->listen[i]);
    }

    for (i = 0; i < s->nlocations; i++) {
        free(s->locations[i].name);
    }

    free(s->names);
    free(s->listen);
    free(s->ciphers);
    free(s->locations);

    memset(s, 0, sizeof(ev_server_t));
}


static void
ev_config_free(evidence_t *ev)
{
    size_t  i;

    for (i = 0; i < ev->nservers; i++) {
        ev_server_free(&ev->servers[i]);
    }

    free(ev->servers);

    ev->servers = NULL;
    ev->nservers = 0;
    ev->config = 0;
    ev->nginx_version[0] = '\0';
    ev->published_at[0] = '\0';
    ev->published_us = 0;
}


void
evidence_free(evidence_t *ev)
{
    ev_config_free(ev);

    free(ev->rules);
    free(ev->alerts);
    free(ev->tokens);
    free(ev->keys);

    ev->rules = NULL;
    ev->alerts = NULL;
    ev->tokens = NULL;
    ev->keys = NULL;
    ev->nrules = 0;
    ev->nalerts = 0;
    ev->ntokens = 0;
    ev->nkeys = 0;
}


const char *
evidence_mode_name(int mode)
{
    switch (mode) {

    case EV_MODE_NULL:
        return "null";

    case EV_MODE_OFF:
        return "off";

    case EV_MODE_ON:
        return "on";

    case EV_MODE_SHADOW:
        return "shadow";

    default:
        return "unknown";
    }
}


int
evidence_location_path(const char *name, const char **path, size_t *len)
{
    int  how;

    how = 1;

    /* the server's own configuration serves what no location does */

    if (strcmp(name, EV_SERVER_LEVEL) == 0) {
        *path = "";
        *len = 0;
        return 1;
    }

    if (name[0] == '=') {
        how = 2;
        name++;

    } else if (name[0] == '^' && name[1] == '~') {
        name += 2;

    } else if (name[0] == '~' || name[0] == '@') {
        return 0;
    }

    while (*name == ' ') {
        name++;
    }

    if (name[0] != '/') {
        return 0;
    }

    *path = name;
    *len = strlen(name);

    return how;
}
