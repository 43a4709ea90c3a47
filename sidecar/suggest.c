
/*
 * Copyright (C) Keryu Security
 *
 * Policy suggestions (suggest.h).  One pass over logs, newest first,
 * picks the records whose details hold a shadow validation hit and
 * counts them in groups kept in a fixed hash table; then each group is
 * matched with its rule in the stored validation policies and written
 * with the change that would silence it.
 *
 * Nothing in an answer comes from a request but the path, and a path is
 * shown as the rule's template when the rule has {name} segments, else
 * with its numeric and UUID segments replaced by "{int}" and "{uuid}".
 * The details the module writes carry lengths, counts and rounded
 * bounds, never a value, so a change that would need the value itself
 * (a value to add to an enum, an argument name to allow, a pattern to
 * widen) is never proposed: the group says why instead.  A proposed
 * document is compiled before it is shown, and left out, with the
 * compiler's reason, when it does not compile.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "suggest.h"
#include "jtree.h"
#include "log.h"
#include "policy.h"


#define SUGGEST_SLOTS        2048         /* a power of 2, > GROUPS_MAX */
#define SUGGEST_PATH_MAX     256
#define SUGGEST_POINTER_MAX  256
#define SUGGEST_OPS_MAX      8
#define SUGGEST_QUERY_MAX    4096

/* policy bounds (keryu_policy.h) that a proposal must stay within */
#define SUGGEST_LENGTH_MAX   1000000
#define SUGGEST_ARGS_MAX     100000
#define SUGGEST_URI_MAX      1048576

#define SUGGEST_INTERNAL     "{\"error\":\"internal error\"}"


typedef enum {
    SUGGEST_INT = 0,
    SUGGEST_BOOL,
    SUGGEST_STRING
} suggest_kind_e;


/* one JSON Patch operation on a policy document */

typedef struct {
    const char         *op;               /* "add" or "replace" */
    char                path[SUGGEST_POINTER_MAX];
    suggest_kind_e      kind;
    int64_t             n;
    const char         *s;
} suggest_op_t;


static const char *const  suggest_params[] = {
    "since", "until", "policy", "min_count"
};


/* the standard methods a "method not allowed" group may propose */

static const char *const  suggest_methods[] = {
    "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", NULL
};


typedef struct {
    char               *key;              /* rule\0field\0path\0reason\0 */
    size_t              key_len;
    const char         *rule;
    const char         *field;
    const char         *path;
    const char         *reason;
    uint64_t            count;
    uint64_t            first_us;
    uint64_t            last_us;
    uint64_t            len_min;
    uint64_t            len_max;
    uint64_t            cnt_max;
    int64_t             above_max;
    int64_t             below_min;
    uint64_t            overflow;
    uint64_t            other_methods;
    unsigned            methods;          /* bits of suggest_methods */
    unsigned            has_len:1;
    unsigned            has_cnt:1;
    unsigned            has_above:1;
    unsigned            has_below:1;
} suggest_group_t;


typedef struct {
    char               *name;
    jtree_t            *doc;
} suggest_policy_t;


typedef struct {
    const suggest_query_t  *q;
    suggest_group_t        *groups;
    size_t                  ngroups;
    uint64_t                dropped;      /* hits of groups past the max */
    uint32_t                slots[SUGGEST_SLOTS];   /* group index + 1 */
    suggest_policy_t       *pols;
    size_t                  npols;
    size_t                  nalloc;
} suggest_t;


/* a hit read from one record's details */

typedef struct {
    const char         *rule;
    const char         *field;
    const char         *reason;
    const char         *range;
    int64_t             length;           /* -1: none */
    int64_t             count;
    int64_t             bound;
    int                 has_bound;
} suggest_hit_t;


static int suggest_query_set(suggest_query_t *q, const char *name,
    size_t nlen, const char *value, size_t len);
static int suggest_number(const char *s, size_t len, uint64_t max,
    uint64_t *n);
static int suggest_policy_add(void *ctx, const char *name, size_t namelen,
    const char *doc, size_t len);
static const jtree_t *suggest_rule(suggest_t *sg, const char *rule,
    const jtree_t **doc, size_t *index);
static int suggest_hit(const jtree_t *d, suggest_hit_t *hit);
static void suggest_path(const uint8_t *uri, size_t len, char *out,
    size_t size);
static int suggest_add(suggest_t *sg, const keryu_record_t *rec,
    const suggest_hit_t *hit, const char *path);
static int suggest_order(const void *a, const void *b);
static void suggest_group(suggest_t *sg, const suggest_group_t *g,
    json_t *j);
static void suggest_observed(const suggest_group_t *g, json_t *j);
static size_t suggest_ops(const suggest_group_t *g, const jtree_t *rule,
    size_t index, suggest_op_t *ops, const char **note);
static void suggest_op(suggest_op_t *op, const jtree_t *obj,
    const char *base, const char *key, suggest_kind_e kind, int64_t n,
    const char *s);
static void suggest_change(const suggest_group_t *g, const jtree_t *doc,
    const jtree_t *rule, size_t index, json_t *j);
static void suggest_emit(json_t *j, const jtree_t *v, const char *ptr,
    const suggest_op_t *ops, size_t nops, int top);
static void suggest_value(json_t *j, const suggest_op_t *op);
static void suggest_directive(const suggest_group_t *g, json_t *j);
static void suggest_free(suggest_t *sg);
static void suggest_send(struct evhttp_request *req, int code,
    const void *buf, size_t len);
static void suggest_error(struct evhttp_request *req, int code,
    const char *reason, const char *param);


/* ---- query ---- */


int
suggest_query_parse(suggest_query_t *q, const char *qs)
{
    int          seen[4];
    char        *raw, *value;
    size_t       i, nlen, vlen, len;
    const char  *p, *amp, *eq, *const *names;

    memset(q, 0, sizeof(suggest_query_t));
    memset(seen, 0, sizeof(seen));

    names = suggest_params;

    q->min_count = 1;

    if (qs == NULL || qs[0] == '\0') {
        return 0;
    }

    if (strlen(qs) > SUGGEST_QUERY_MAX) {
        q->error = "invalid query";
        return -1;
    }

    for (p = qs; ; p = amp + 1) {
        amp = strchr(p, '&');
        if (amp == NULL) {
            amp = p + strlen(p);
        }

        eq = memchr(p, '=', (size_t) (amp - p));
        nlen = (size_t) ((eq ? eq : amp) - p);

        if (nlen == 0) {
            q->error = "invalid query";
            return -1;
        }

        snprintf(q->bad, sizeof(q->bad), "%.*s",
                 (int) (nlen < QUERY_NAME_MAX ? nlen : QUERY_NAME_MAX), p);

        for (i = 0; i < 4; i++) {
            if (strlen(names[i]) == nlen && memcmp(names[i], p, nlen) == 0) {
                break;
            }
        }

        if (i == 4) {
            q->error = "unknown parameter";
            return -1;
        }

        if (seen[i] || eq == NULL) {
            q->error = "invalid parameter";
            return -1;
        }

        seen[i] = 1;

        vlen = (size_t) (amp - eq - 1);

        raw = malloc(vlen + 1);
        if (raw == NULL) {
            q->error = "out of memory";
            return -1;
        }

        memcpy(raw, eq + 1, vlen);
        raw[vlen] = '\0';

        value = evhttp_uridecode(raw, 0, &len);

        free(raw);

        if (value == NULL) {
            q->error = "out of memory";
            return -1;
        }

        if (strlen(value) != len
            || suggest_query_set(q, p, nlen, value, len) == -1)
        {
            free(value);
            q->error = "invalid parameter";
            return -1;
        }

        free(value);

        if (*amp == '\0') {
            break;
        }
    }

    q->bad[0] = '\0';

    if (q->has_since && q->has_until && q->since >= q->until) {
        snprintf(q->bad, sizeof(q->bad), "until");
        q->error = "invalid parameter";
        return -1;
    }

    return 0;
}


static int
suggest_query_set(suggest_query_t *q, const char *name, size_t nlen,
    const char *value, size_t len)
{
    size_t  i;

    if (nlen == 5 && memcmp(name, "since", 5) == 0) {
        q->has_since = 1;
        return time_parse(value, &q->since);
    }

    if (nlen == 5 && memcmp(name, "until", 5) == 0) {
        q->has_until = 1;
        return time_parse(value, &q->until);
    }

    if (nlen == 9 && memcmp(name, "min_count", 9) == 0) {
        if (suggest_number(value, len, SUGGEST_COUNT_MAX, &q->min_count)
            == -1 || q->min_count == 0)
        {
            return -1;
        }

        return 0;
    }

    /* policy: a policy name, as the compiler takes them */

    if (len == 0 || len > KERYU_POLICY_NAME_MAX) {
        return -1;
    }

    for (i = 0; i < len; i++) {
        if (strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                   "0123456789._-", value[i]) == NULL)
        {
            return -1;
        }
    }

    memcpy(q->policy, value, len + 1);

    return 0;
}


/* digits only, no leading zero, at most max */

static int
suggest_number(const char *s, size_t len, uint64_t max, uint64_t *n)
{
    size_t    i;
    uint64_t  v;

    if (len == 0 || len > 19 || (s[0] == '0' && len > 1)) {
        return -1;
    }

    v = 0;

    for (i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return -1;
        }

        v = v * 10 + (uint64_t) (s[i] - '0');
    }

    if (v > max) {
        return -1;
    }

    *n = v;

    return 0;
}


/* ---- the scan ---- */


int
suggest_build(store_t *own, MDB_txn *txn, keryu_store_t *src,
    const suggest_query_t *q, uint64_t scan_max, json_t *j, char *err,
    size_t errlen)
{
    int                  rc;
    char                 path[SUGGEST_PATH_MAX];
    size_t               i, index, plen;
    MDB_val              key, val;
    jtree_t             *d;
    uint64_t             scanned;
    const char          *tpl;
    suggest_t            sg;
    MDB_cursor          *cur;
    suggest_hit_t        hit;
    const jtree_t       *rule, *doc;
    keryu_record_t       rec;

    memset(&sg, 0, sizeof(suggest_t));
    sg.q = q;

    if (src->env != NULL
        && policy_each(src, suggest_policy_add, &sg, err, errlen)
           != POLICY_OK)
    {
        suggest_free(&sg);
        return -1;
    }

    rc = mdb_cursor_open(txn, own->logs, &cur);
    if (rc != 0) {
        snprintf(err, errlen, "mdb_cursor_open() failed: %s",
                 mdb_strerror(rc));
        suggest_free(&sg);
        return -1;
    }

    scanned = 0;

    for (rc = mdb_cursor_get(cur, &key, &val, MDB_LAST);
         rc == 0 && scanned < scan_max;
         rc = mdb_cursor_get(cur, &key, &val, MDB_PREV))
    {
        scanned++;

        if (keryu_record_decode(&rec, val.mv_data, val.mv_size) == -1
            || rec.details.len == 0
            || memmem(rec.details.data, rec.details.len, "\"invalid\":", 10)
               == NULL
            || (q->has_since && rec.time_us < q->since)
            || (q->has_until && rec.time_us >= q->until))
        {
            continue;
        }

        d = jtree_parse((const char *) rec.details.data, rec.details.len,
                        NULL, 0);

        if (d == NULL) {
            continue;
        }

        if (suggest_hit(d, &hit) == 0) {
            plen = strlen(q->policy);

            if (plen
                && (strncmp(hit.rule, q->policy, plen) != 0
                    || hit.rule[plen] != '/'))
            {
                jtree_free(d);
                continue;
            }

            rule = suggest_rule(&sg, hit.rule, &doc, &index);
            tpl = jtree_get_string(rule, "path");

            if (tpl && strchr(tpl, '{') && strlen(tpl) < sizeof(path)) {
                memcpy(path, tpl, strlen(tpl) + 1);

            } else {
                suggest_path(rec.uri.data, rec.uri.len, path, sizeof(path));
            }

            if (suggest_add(&sg, &rec, &hit, path) == -1) {
                jtree_free(d);
                mdb_cursor_close(cur);
                snprintf(err, errlen, "out of memory");
                suggest_free(&sg);
                return -1;
            }
        }

        jtree_free(d);
    }

    mdb_cursor_close(cur);

    if (rc != 0 && rc != MDB_NOTFOUND) {
        snprintf(err, errlen, "mdb_cursor_get() failed: %s",
                 mdb_strerror(rc));
        suggest_free(&sg);
        return -1;
    }

    qsort(sg.groups, sg.ngroups, sizeof(suggest_group_t), suggest_order);

    json_map_open(j);
    json_key(j, "items");
    json_array_open(j);

    for (i = 0; i < sg.ngroups; i++) {
        if (sg.groups[i].count >= q->min_count) {
            suggest_group(&sg, &sg.groups[i], j);
        }
    }

    json_array_close(j);

    json_key(j, "scanned");
    json_uint(j, scanned);
    json_key(j, "complete");
    json_bool(j, rc == MDB_NOTFOUND);
    json_key(j, "dropped");
    json_uint(j, sg.dropped);
    json_map_close(j);

    suggest_free(&sg);

    return 0;
}


/* keeps each stored validation policy, parsed */

static int
suggest_policy_add(void *ctx, const char *name, size_t namelen,
    const char *doc, size_t len)
{
    suggest_t         *sg = ctx;

    jtree_t           *t;
    const char        *type;
    suggest_policy_t  *p;

    t = jtree_parse(doc, len, NULL, 0);
    if (t == NULL) {
        return 0;
    }

    type = jtree_get_string(t, "policy_type");

    if (type == NULL || strcmp(type, "validation") != 0) {
        jtree_free(t);
        return 0;
    }

    if (sg->npols == sg->nalloc) {
        p = realloc(sg->pols, (sg->nalloc * 2 + 8) * sizeof(suggest_policy_t));
        if (p == NULL) {
            jtree_free(t);
            return -1;
        }

        sg->pols = p;
        sg->nalloc = sg->nalloc * 2 + 8;
    }

    p = &sg->pols[sg->npols];

    p->name = strndup(name, namelen);
    if (p->name == NULL) {
        jtree_free(t);
        return -1;
    }

    p->doc = t;
    sg->npols++;

    return 0;
}


/* the rule "policy/id" of the stored policies, its document and index */

static const jtree_t *
suggest_rule(suggest_t *sg, const char *rule, const jtree_t **doc,
    size_t *index)
{
    size_t          i, k, n, len;
    const char     *slash, *id;
    const jtree_t  *rules, *r;

    *doc = NULL;

    slash = strchr(rule, '/');
    if (slash == NULL) {
        return NULL;
    }

    len = (size_t) (slash - rule);

    for (i = 0; i < sg->npols; i++) {
        if (strlen(sg->pols[i].name) != len
            || memcmp(sg->pols[i].name, rule, len) != 0)
        {
            continue;
        }

        rules = jtree_get(sg->pols[i].doc, "rules");
        n = jtree_len(rules);

        for (k = 0; k < n; k++) {
            r = jtree_at(rules, k);
            id = jtree_get_string(r, "id");

            if (id && strcmp(id, slash + 1) == 0) {
                *doc = sg->pols[i].doc;
                *index = k;
                return r;
            }
        }
    }

    return NULL;
}


/*
 * a shadow validation hit in details, in the three forms the module
 * writes: {"reason":"shadow","rule":R,...}, keryu_access's details with
 * "shadow":R, or with "shadow_validation":R; always with "invalid"
 */

static int
suggest_hit(const jtree_t *d, suggest_hit_t *hit)
{
    int64_t         n;
    const char     *reason;
    const jtree_t  *v;

    memset(hit, 0, sizeof(suggest_hit_t));

    hit->reason = jtree_get_string(d, "invalid");
    hit->field = jtree_get_string(d, "field");
    hit->rule = jtree_get_string(d, "shadow_validation");

    if (hit->rule == NULL) {
        hit->rule = jtree_get_string(d, "shadow");
    }

    if (hit->rule == NULL) {
        reason = jtree_get_string(d, "reason");

        if (reason && strcmp(reason, "shadow") == 0) {
            hit->rule = jtree_get_string(d, "rule");
        }
    }

    if (hit->reason == NULL || hit->rule == NULL || hit->rule[0] == '\0') {
        return -1;
    }

    if (hit->field == NULL) {
        hit->field = "";
    }

    hit->length = -1;
    hit->count = -1;

    v = jtree_get(d, "length");
    if (v && jtree_int(v, &n) == 0 && n >= 0) {
        hit->length = n;
    }

    v = jtree_get(d, "count");
    if (v && jtree_int(v, &n) == 0 && n >= 0) {
        hit->count = n;
    }

    hit->range = jtree_get_string(d, "range");

    v = jtree_get(d, "bound");
    if (v && jtree_int(v, &hit->bound) == 0) {
        hit->has_bound = 1;
    }

    return 0;
}


/*
 * the path of a request target, without its query, with each segment of
 * digits written "{int}" and each UUID "{uuid}"; cut to fit size
 */

static void
suggest_path(const uint8_t *uri, size_t len, char *out, size_t size)
{
    size_t          i, k, n, o, seg, digits, hex;
    const char     *put;
    const uint8_t  *s;

    for (n = 0; n < len && uri[n] != '?' && uri[n] != '#'; n++) {
        /* void */
    }

    o = 0;

    for (i = 0; i < n; i += seg) {
        if (uri[i] == '/') {
            seg = 1;
            put = "/";

        } else {
            s = uri + i;

            for (seg = 0; i + seg < n && s[seg] != '/'; seg++) {
                /* void */
            }

            digits = 0;
            hex = 0;

            for (k = 0; k < seg; k++) {
                digits += (s[k] >= '0' && s[k] <= '9');
                hex += (s[k] >= '0' && s[k] <= '9')
                       || ((s[k] | 0x20) >= 'a' && (s[k] | 0x20) <= 'f')
                       || ((k == 8 || k == 13 || k == 18 || k == 23)
                           && s[k] == '-');
            }

            put = NULL;

            if (digits == seg) {
                put = "{int}";

            } else if (seg == 36 && hex == 36 && s[8] == '-' && s[13] == '-'
                       && s[18] == '-' && s[23] == '-')
            {
                put = "{uuid}";
            }

            if (put == NULL) {
                if (o + seg >= size) {
                    break;
                }

                memcpy(out + o, s, seg);
                o += seg;
                continue;
            }
        }

        if (o + strlen(put) >= size) {
            break;
        }

        memcpy(out + o, put, strlen(put));
        o += strlen(put);
    }

    out[o] = '\0';
}


static int
suggest_add(suggest_t *sg, const keryu_record_t *rec,
    const suggest_hit_t *hit, const char *path)
{
    char             *key;
    size_t            i, len, lens[4];
    uint32_t          h, slot;
    const char       *parts[4];
    suggest_group_t  *g;

    parts[0] = hit->rule;
    parts[1] = hit->field;
    parts[2] = path;
    parts[3] = hit->reason;

    len = 0;

    for (i = 0; i < 4; i++) {
        lens[i] = strlen(parts[i]);
        len += lens[i] + 1;
    }

    key = malloc(len);
    if (key == NULL) {
        return -1;
    }

    len = 0;

    for (i = 0; i < 4; i++) {
        memcpy(key + len, parts[i], lens[i] + 1);
        len += lens[i] + 1;
    }

    /* FNV-1a */

    h = 2166136261u;

    for (i = 0; i < len; i++) {
        h = (h ^ (uint8_t) key[i]) * 16777619u;
    }

    g = NULL;

    for (slot = h & (SUGGEST_SLOTS - 1);
         sg->slots[slot];
         slot = (slot + 1) & (SUGGEST_SLOTS - 1))
    {
        g = &sg->groups[sg->slots[slot] - 1];

        if (g->key_len == len && memcmp(g->key, key, len) == 0) {
            break;
        }

        g = NULL;
    }

    if (g) {
        free(key);

    } else if (sg->ngroups == SUGGEST_GROUPS_MAX) {
        free(key);
        sg->dropped++;
        return 0;

    } else {
        if (sg->groups == NULL) {
            sg->groups = calloc(SUGGEST_GROUPS_MAX, sizeof(suggest_group_t));
            if (sg->groups == NULL) {
                free(key);
                return -1;
            }
        }

        g = &sg->groups[sg->ngroups++];
        sg->slots[slot] = (uint32_t) sg->ngroups;

        g->key = key;
        g->key_len = len;
        g->rule = key;
        g->field = g->rule + lens[0] + 1;
        g->path = g->field + lens[1] + 1;
        g->reason = g->path + lens[2] + 1;
        g->first_us = rec->time_us;
        g->last_us = rec->time_us;
    }

    g->count++;

    if (rec->time_us < g->first_us) {
        g->first_us = rec->time_us;
    }

    if (rec->time_us > g->last_us) {
        g->last_us = rec->time_us;
    }

    if (hit->length >= 0) {
        if (!g->has_len || (uint64_t) hit->length < g->len_min) {
            g->len_min = (uint64_t) hit->length;
        }

        if (!g->has_len || (uint64_t) hit->length > g->len_max) {
            g->len_max = (uint64_t) hit->length;
        }

        g->has_len = 1;
    }

    if (hit->count >= 0) {
        if (!g->has_cnt || (uint64_t) hit->count > g->cnt_max) {
            g->cnt_max = (uint64_t) hit->count;
        }

        g->has_cnt = 1;
    }

    if (hit->range && strcmp(hit->range, "overflow") == 0) {
        g->overflow++;

    } else if (hit->range && hit->has_bound
               && strcmp(hit->range, "above") == 0)
    {
        if (!g->has_above || hit->bound > g->above_max) {
            g->above_max = hit->bound;
        }

        g->has_above = 1;

    } else if (hit->range && hit->has_bound
               && strcmp(hit->range, "below") == 0)
    {
        if (!g->has_below || hit->bound < g->below_min) {
            g->below_min = hit->bound;
        }

        g->has_below = 1;
    }

    if (strcmp(hit->reason, "method not allowed") == 0) {
        for (i = 0; suggest_methods[i]; i++) {
            if (rec->method.len == strlen(suggest_methods[i])
                && memcmp(rec->method.data, suggest_methods[i],
                          rec->method.len) == 0)
            {
                g->methods |= 1u << i;
                break;
            }
        }

        if (suggest_methods[i] == NULL) {
            g->other_methods++;
        }
    }

    return 0;
}


/* most hits first, then by rule, field, path and reason */

static int
suggest_order(const void *a, const void *b)
{
    size_t                  len;
    const suggest_group_t  *x = a, *y = b;

    if (x->count != y->count) {
        return x->count > y->count ? -1 : 1;
    }

    len = x->key_len < y->key_len ? x->key_len : y->key_len;

    return memcmp(x->key, y->key, len) ? memcmp(x->key, y->key, len)
                                       : (int) x->key_len - (int) y->key_len;
}


/* ---- the answer ---- */


static void
suggest_group(suggest_t *sg, const suggest_group_t *g, json_t *j)
{
    char            buf[TIME_STR_MAX];
    size_t          index;
    const jtree_t  *rule, *doc;

    json_map_open(j);

    json_key(j, "rule");
    json_cstring(j, g->rule);
    json_key(j, "field");
    json_cstring(j, g->field);
    json_key(j, "path");
    json_string(j, (const uint8_t *) g->path, strlen(g->path));
    json_key(j, "reason");
    json_cstring(j, g->reason);
    json_key(j, "count");
    json_uint(j, g->count);

    time_format(g->first_us, buf);
    json_key(j, "first_seen");
    json_cstring(j, buf);

    time_format(g->last_us, buf);
    json_key(j, "last_seen");
    json_cstring(j, buf);

    json_key(j, "observed");
    suggest_observed(g, j);

    index = 0;
    rule = suggest_rule(sg, g->rule, &doc, &index);

    if (strchr(g->rule, '/') == NULL) {
        json_key(j, "change");
        json_null(j);
        suggest_directive(g, j);

    } else if (rule == NULL) {
        json_key(j, "change");
        json_null(j);
        json_key(j, "note");
        json_cstring(j, "the rule is not in the stored validation policies");

    } else {
        suggest_change(g, doc, rule, index, j);
    }

    json_map_close(j);
}


static void
suggest_observed(const suggest_group_t *g, json_t *j)
{
    size_t  i;

    json_map_open(j);

    if (g->has_len) {
        json_key(j, "length");
        json_map_open(j);
        json_key(j, "min");
        json_uint(j, g->len_min);
        json_key(j, "max");
        json_uint(j, g->len_max);
        json_map_close(j);
    }

    if (g->has_cnt) {
        json_key(j, "count");
        json_map_open(j);
        json_key(j, "max");
        json_uint(j, g->cnt_max);
        json_map_close(j);
    }

    if (g->has_above) {
        json_key(j, "above");
        json_map_open(j);
        json_key(j, "bound");
        json_int(j, g->above_max);
        json_map_close(j);
    }

    if (g->has_below) {
        json_key(j, "below");
        json_map_open(j);
        json_key(j, "bound");
        json_int(j, g->below_min);
        json_map_close(j);
    }

    if (g->overflow) {
        json_key(j, "overflow");
        json_uint(j, g->overflow);
    }

    if (g->methods || g->other_methods) {
        json_key(j, "methods");
        json_array_open(j);

        for (i = 0; suggest_methods[i]; i++) {
            if (g->methods & (1u << i)) {
                json_cstring(j, suggest_methods[i]);
            }
        }

        json_array_close(j);

        json_key(j, "other_methods");
        json_uint(j, g->other_methods);
    }

    json_map_close(j);
}


/*
 * the operations that would let the group's requests through, or none
 * with the reason in *note
 */

static size_t
suggest_ops(const suggest_group_t *g, const jtree_t *rule, size_t index,
    suggest_op_t *ops, const char **note)
{
    int             rc;
    char            base[32], spec[SUGGEST_POINTER_MAX];
    size_t          i, k, n, nops;
    const char     *m;
    const jtree_t  *sp, *methods;

    snprintf(base, sizeof(base), "/rules/%zu", index);

    /* the argument or {name} segment the group is about */

    sp = jtree_get(jtree_get(rule, "args"), g->field);
    rc = snprintf(spec, sizeof(spec), "%s/args/%s", base, g->field);

    if (sp == NULL) {
        sp = jtree_get(jtree_get(rule, "segments"), g->field);
        rc = snprintf(spec, sizeof(spec), "%s/segments/%s", base, g->field);
    }

    if (jtree_type(sp) != JTREE_OBJECT || rc < 0
        || (size_t) rc + sizeof("/maxLength") > sizeof(spec))
    {
        sp = NULL;
    }

    nops = 0;
    *note = NULL;

    if (strcmp(g->reason, "too long") == 0 && sp && g->has_len
        && g->len_max <= SUGGEST_LENGTH_MAX)
    {
        suggest_op(&ops[nops++], sp, spec, "maxLength", SUGGEST_INT,
                   (int64_t) g->len_max, NULL);

    } else if (strcmp(g->reason, "too short") == 0 && sp && g->has_len) {
        suggest_op(&ops[nops++], sp, spec, "minLength", SUGGEST_INT,
                   (int64_t) g->len_min, NULL);

    } else if (strcmp(g->reason, "out of range") == 0 && sp) {
        if (g->has_above) {
            suggest_op(&ops[nops++], sp, spec, "max", SUGGEST_INT,
                       g->above_max, NULL);
        }

        if (g->has_below) {
            suggest_op(&ops[nops++], sp, spec, "min", SUGGEST_INT,
                       g->below_min, NULL);
        }

        if (g->overflow) {
            *note = "some values did not fit 64 bits; no bound admits them";
        }

    } else if (strcmp(g->reason, "too many arguments") == 0 && g->has_cnt
               && g->cnt_max <= SUGGEST_ARGS_MAX)
    {
        suggest_op(&ops[nops++], rule, base, "max_args", SUGGEST_INT,
                   (int64_t) g->cnt_max, NULL);

    } else if (strcmp(g->reason, "uri too long") == 0 && g->has_len
               && g->len_max <= SUGGEST_URI_MAX)
    {
        suggest_op(&ops[nops++], rule, base, "max_uri_length", SUGGEST_INT,
                   (int64_t) g->len_max, NULL);

    } else if (strcmp(g->reason, "missing") == 0 && sp) {
        suggest_op(&ops[nops++], sp, spec, "required", SUGGEST_BOOL, 0, NULL);

    } else if (strcmp(g->reason, "method not allowed") == 0) {
        methods = jtree_get(rule, "methods");
        n = jtree_len(methods);

        for (i = 0; suggest_methods[i] && nops < SUGGEST_OPS_MAX; i++) {
            if (!(g->methods & (1u << i))) {
                continue;
            }

            for (k = 0; k < n; k++) {
                m = jtree_string(jtree_at(methods, k));

                if (m && strcmp(m, suggest_methods[i]) == 0) {
                    break;
                }
            }

            if (k == n) {
                ops[nops].op = "add";
                (void) snprintf(ops[nops].path, SUGGEST_POINTER_MAX,
                                "%.32s/methods/-", base);
                ops[nops].kind = SUGGEST_STRING;
                ops[nops].s = suggest_methods[i];
                nops++;
            }
        }

        if (g->other_methods) {
            *note = "methods outside GET, HEAD, POST, PUT, DELETE, PATCH and"
                    " OPTIONS are not proposed";
        }

    } else if (strcmp(g->reason, "unknown argument") == 0) {
        suggest_op(&ops[nops++], rule, base, "unknown_args", SUGGEST_STRING,
                   0, "allow");

        *note = "argument names are not recorded: the change lets every"
                " argument the rule does not name through";

    } else if (strcmp(g->reason, "not an allowed value") == 0) {
        *note = "values are not recorded, so no value is proposed for the"
                " enum";

    } else if (strcmp(g->reason, "no pattern match") == 0
               || strcmp(g->reason, "not a uuid") == 0
               || strcmp(g->reason, "not an email address") == 0
               || strcmp(g->reason, "not an integer") == 0)
    {
        *note = "values are not recorded, so no other type or pattern is"
                " proposed";

    } else {
        *note = "no policy setting relaxes this check";
    }

    if (nops == 0 && *note == NULL) {
        *note = "no change is known for what was observed";
    }

    return nops;
}


/* an "add" or a "replace" of obj's member key, at base/key */

static void
suggest_op(suggest_op_t *op, const jtree_t *obj, const char *base,
    const char *key, suggest_kind_e kind, int64_t n, const char *s)
{
    int  rc;

    op->op = jtree_get(obj, key) ? "replace" : "add";

    /* the callers' pointers are short enough for every key they add */

    rc = snprintf(op->path, SUGGEST_POINTER_MAX, "%s/%s", base, key);
    if (rc < 0 || rc >= SUGGEST_POINTER_MAX) {
        op->path[0] = '\0';
    }

    op->kind = kind;
    op->n = n;
    op->s = s;
}


static void
suggest_change(const suggest_group_t *g, const jtree_t *doc,
    const jtree_t *rule, size_t index, json_t *j)
{
    char             name[KERYU_POLICY_NAME_MAX + 1], err[256];
    size_t           i, nops, len;
    json_t          *after;
    const char      *note, *id;
    suggest_op_t     ops[SUGGEST_OPS_MAX];
    const uint8_t   *buf;

    memset(ops, 0, sizeof(ops));

    nops = suggest_ops(g, rule, index, ops, &note);

    json_key(j, "change");

    if (nops == 0) {
        json_null(j);
        goto note;
    }

    /* the document after the change, which must still compile */

    after = json_new();
    if (after == NULL) {
        json_null(j);
        goto note;
    }

    suggest_emit(after, doc, "", ops, nops, 1);

    if (json_result(after, &buf, &len) == -1) {
        log_warnx("%s: %s", __func__, json_error(after));
        json_free(after);
        json_null(j);
        goto note;
    }

    if (keryu_policy_validate((const char *) buf, len, name, sizeof(name),
                              err, sizeof(err))
        == -1)
    {
        json_free(after);
        json_null(j);
        json_key(j, "note");
        json_cstring(j, "the change does not compile");
        json_key(j, "compiler");
        json_cstring(j, err);
        return;
    }

    id = jtree_get_string(rule, "id");

    json_map_open(j);
    json_key(j, "policy");
    json_cstring(j, name);
    json_key(j, "rule");
    json_cstring(j, id ? id : "");

    json_key(j, "patch");
    json_array_open(j);

    for (i = 0; i < nops; i++) {
        json_map_open(j);
        json_key(j, "op");
        json_cstring(j, ops[i].op);
        json_key(j, "path");
        json_cstring(j, ops[i].path);
        json_key(j, "value");
        suggest_value(j, &ops[i]);
        json_map_close(j);
    }

    json_array_close(j);

    json_key(j, "document");
    json_details(j, buf, len);

    json_map_close(j);

    json_free(after);

note:

    if (note) {
        json_key(j, "note");
        json_cstring(j, note);
    }
}


/*
 * writes v with the operations applied, ptr being v's JSON pointer; the
 * stamps of the top level are left out, since keryud sets them
 */

static void
suggest_emit(json_t *j, const jtree_t *v, const char *ptr,
    const suggest_op_t *ops, size_t nops, int top)
{
    char          child[SUGGEST_POINTER_MAX];
    size_t        i, k, n, plen;
    int64_t       num;
    const char   *key;

    switch (jtree_type(v)) {

    case JTREE_OBJECT:
        json_map_open(j);

        n = jtree_len(v);

        for (i = 0; i < n; i++) {
            key = jtree_key_at(v, i);

            if (top && (strcmp(key, "created_at") == 0
                        || strcmp(key, "updated_at") == 0))
            {
                continue;
            }

            snprintf(child, sizeof(child), "%s/%s", ptr, key);

            json_key(j, key);

            for (k = 0; k < nops; k++) {
                if (strcmp(ops[k].path, child) == 0) {
                    break;
                }
            }

            if (k < nops) {
                suggest_value(j, &ops[k]);

            } else {
                suggest_emit(j, jtree_at(v, i), child, ops, nops, 0);
            }
        }

        /* members added to this object */

        plen = strlen(ptr);

        for (k = 0; k < nops; k++) {
            if (strcmp(ops[k].op, "add") == 0
                && strncmp(ops[k].path, ptr, plen) == 0
                && ops[k].path[plen] == '/'
                && strchr(ops[k].path + plen + 1, '/') == NULL
                && strcmp(ops[k].path + plen + 1, "-") != 0)
            {
                json_key(j, ops[k].path + plen + 1);
                suggest_value(j, &ops[k]);
            }
        }

        json_map_close(j);
        break;

    case JTREE_ARRAY:
        json_array_open(j);

        n = jtree_len(v);

        for (i = 0; i < n; i++) {
            snprintf(child, sizeof(child), "%s/%zu", ptr, i);
            suggest_emit(j, jtree_at(v, i), child, ops, nops, 0);
        }

        snprintf(child, sizeof(child), "%s/-", ptr);

        for (k = 0; k < nops; k++) {
            if (strcmp(ops[k].path, child) == 0) {
                suggest_value(j, &ops[k]);
            }
        }

        json_array_close(j);
        break;

    case JTREE_STRING:
        json_cstring(j, jtree_string(v));
        break;

    case JTREE_NUMBER:

        /* a policy that compiles holds integers only */

        if (jtree_int(v, &num) == 0) {
            json_int(j, num);

        } else {
            json_null(j);
        }

        break;

    case JTREE_TRUE:
    case JTREE_FALSE:
        json_bool(j, jtree_bool(v));
        break;

    default:
        json_null(j);
    }
}


static void
suggest_value(json_t *j, const suggest_op_t *op)
{
    switch (op->kind) {

    case SUGGEST_BOOL:
        json_bool(j, (int) op->n);
        break;

    case SUGGEST_STRING:
        json_cstring(j, op->s);
        break;

    default:
        json_int(j, op->n);
    }
}


/* what a hit of one of the module's directives can propose */

static void
suggest_directive(const suggest_group_t *g, json_t *j)
{
    char         buf[96];
    uint64_t     n;
    const char  *d;

    d = NULL;
    n = 0;

    if (strcmp(g->rule, "keryu_max_args") == 0 && g->has_cnt) {
        d = g->rule;
        n = g->cnt_max;

    } else if (strcmp(g->rule, "keryu_max_headers") == 0 && g->has_cnt) {
        d = g->rule;
        n = g->cnt_max;

    } else if ((strcmp(g->rule, "keryu_max_uri_length") == 0
                || strcmp(g->rule, "keryu_max_header_size") == 0
                || strcmp(g->rule, "keryu_body_max") == 0)
               && g->has_len)
    {
        d = g->rule;
        n = g->len_max;
    }

    if (d) {
        snprintf(buf, sizeof(buf), "%s %llu;", d, (unsigned long long) n);

        json_key(j, "directive");
        json_cstring(j, buf);
    }

    json_key(j, "note");
    json_cstring(j, d ? "set by an nginx directive, not by a policy"
                      : "set by an nginx directive, not by a policy; no"
                        " change is proposed");
}


static void
suggest_free(suggest_t *sg)
{
    size_t  i;

    for (i = 0; i < sg->ngroups; i++) {
        free(sg->groups[i].key);
    }

    free(sg->groups);

    for (i = 0; i < sg->npols; i++) {
        free(sg->pols[i].name);
        jtree_free(sg->pols[i].doc);
    }

    free(sg->pols);
}


/* ---- HTTP ---- */


void
suggest_api(struct evhttp_request *req, store_t *own, MDB_txn *txn,
    keryu_store_t *src)
{
    char                      err[256];
    json_t                   *j;
    size_t                    len;
    const char               *qs;
    const uint8_t            *buf;
    suggest_query_t           q;
    const struct evhttp_uri  *uri;

    uri = evhttp_request_get_evhttp_uri(req);
    qs = evhttp_uri_get_query(uri);

    if (suggest_query_parse(&q, qs) == -1) {
        suggest_error(req, HTTP_BADREQUEST, q.error,
                      q.bad[0] ? q.bad : NULL);
        return;
    }

    j = json_new();
    if (j == NULL) {
        suggest_send(req, HTTP_INTERNAL, SUGGEST_INTERNAL,
                     sizeof(SUGGEST_INTERNAL) - 1);
        return;
    }

    if (suggest_build(own, txn, src, &q, API_SCAN_MAX, j, err, sizeof(err))
        == -1)
    {
        log_warnx("%s: %s", __func__, err);
        json_free(j);
        suggest_send(req, HTTP_INTERNAL, SUGGEST_INTERNAL,
                     sizeof(SUGGEST_INTERNAL) - 1);
        return;
    }

    if (json_result(j, &buf, &len) == -1) {
        log_warnx("%s: %s", __func__, json_error(j));
        suggest_send(req, HTTP_INTERNAL, SUGGEST_INTERNAL,
                     sizeof(SUGGEST_INTERNAL) - 1);

    } else {
        suggest_send(req, HTTP_OK, buf, len);
    }

    json_free(j);
}


static void
suggest_send(struct evhttp_request *req, int code, const void *buf,
    size_t len)
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
    evhttp_add_header(h, "Content-Type", "application/json");
    evhttp_add_header(h, "Cache-Control", "no-store");

    evhttp_send_reply(req, code, NULL, body);

    evbuffer_free(body);
}


static void
suggest_error(struct evhttp_request *req, int code, const char *reason,
    const char *param)
{
    json_t         *j;
    size_t          len;
    const uint8_t  *buf;

    j = json_new();
    if (j == NULL) {
        suggest_send(req, HTTP_INTERNAL, SUGGEST_INTERNAL,
                     sizeof(SUGGEST_INTERNAL) - 1);
        return;
    }

    json_map_open(j);
    json_key(j, "error");
    json_cstring(j, reason);

    if (param) {
        json_key(j, "parameter");
        json_cstring(j, param);
    }

    json_map_close(j);

    if (json_result(j, &buf, &len) == -1) {
        suggest_send(req, HTTP_INTERNAL, SUGGEST_INTERNAL,
                     sizeof(SUGGEST_INTERNAL) - 1);

    } else {
        suggest_send(req, code, buf, len);
    }

    json_free(j);
}
