
/*
 * Copyright (C) Keryu Security
 *
 * The policy compiler and evaluator.  keryu_policy_set_add() parses a
 * document with yajl's tree and copies what it keeps into the set's own
 * arena; keryu_policy_set_finish() orders the active policies and hangs
 * every access rule on a trie of path segments.  An evaluation splits the
 * request path once, walks the trie (a literal child found by binary
 * search, plus the {name} child), and looks only at the rules on the
 * nodes it passes, so its cost follows the depth of the path, not the
 * number of rules.  Each rule has an ordinal, its place in the order of
 * evaluation, and every list on a node is sorted by it: the walk keeps
 * the lowest ordinal that decided so far and stops reading a list there.
 * IP lists are sorted, merged ranges of 16-byte addresses (IPv4 as
 * ::ffff:a.b.c.d), searched by bisection.  Validation rules hang on a
 * second trie of the same shape, walked the same way, except that every
 * rule on the way is collected rather than the first that decides.
 * Nothing in an evaluation allocates or writes to the set.
 */


#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#include "keryu_policy.h"
#include "keryu_record.h"


#define KERYU_POLICY_CHUNK        (16 * 1024)
#define KERYU_POLICY_ALIGN        16
#define KERYU_POLICY_NEST_MAX     32        /* JSON nesting we accept */
#define KERYU_POLICY_STR_MAX      256       /* roles, users, hosts */
#define KERYU_POLICY_METHOD_MAX   32
#define KERYU_POLICY_SHOW_MAX     64        /* user text in errors */
#define KERYU_POLICY_PRIORITY     100
#define KERYU_POLICY_PRIORITY_MAX 1000

#define KERYU_MATCH_EXACT         1
#define KERYU_MATCH_PREFIX        2
#define KERYU_MATCH_PATTERN       3


typedef struct keryu_policy_chunk_s  keryu_policy_chunk_t;
typedef struct keryu_policy_node_s   keryu_policy_node_t;
typedef struct keryu_policy_s        keryu_policy_t;


struct keryu_policy_chunk_s {
    keryu_policy_chunk_t     *next;
    size_t                    size;
    size_t                    used;
};


typedef struct {
    const char               *data;
    size_t                    len;
} keryu_policy_str_t;


/* one segment of a rule's path; a {name} segment is wild */
typedef struct {
    keryu_policy_str_t        text;
    int                       wild;
} keryu_policy_seg_t;


typedef struct {
    keryu_policy_t           *policy;
    const char               *id;
    uint32_t                  ordinal;
    int                       effect;
    int                       shadow;       /* its own or its policy's */
    int                       match;
    int                       below;        /* prefix ending in "/" */
    int                       authenticated;
    int                       anyone;
    int                       owner_seg;    /* -1: no owner condition */
    keryu_policy_str_t        owner_claim;
    keryu_policy_str_t        host;         /* lowercase; len 0: any */
    keryu_policy_str_t       *methods;
    size_t                    nmethods;
    keryu_policy_str_t       *roles;
    size_t                    nroles;
    keryu_policy_str_t       *users;
    size_t                    nusers;
    keryu_policy_seg_t       *segs;
    size_t                    nsegs;
    keryu_validation_t       *valid;        /* validation rules only */
} keryu_policy_rule_t;


typedef struct {
    uint8_t                   lo[16];
    uint8_t                   hi[16];
} keryu_policy_range_t;


struct keryu_policy_pattern_s {
    keryu_policy_seg_t       *segs;
    size_t                    nsegs;
    int                       match;
    int                       below;
};


struct keryu_policy_s {
    keryu_policy_t           *next;
    const char               *name;
    keryu_policy_type_e       type;
    int                       active;
    int                       shadow;
    int                       priority;
    keryu_policy_rule_t      *rules;
    size_t                    nrules;
    keryu_policy_range_t     *allow;
    size_t                    nallow;
    keryu_policy_range_t     *deny;
    size_t                    ndeny;
    size_t                    naddrs;       /* entries as written */
    int                       allow_given;  /* a non-empty allow list */
    keryu_threshold_t        *thresholds;
    size_t                    nthresholds;
    const char               *created_at;
    const char               *updated_at;
};


typedef struct {
    keryu_policy_rule_t     **elts;
    size_t                    n;
    size_t                    cap;
} keryu_policy_list_t;


struct keryu_policy_node_s {
    keryu_policy_str_t        seg;
    keryu_policy_node_t     **children;     /* sorted by length, bytes */
    size_t                    nchildren;
    size_t                    cap;
    keryu_policy_node_t      *wild;
    keryu_policy_list_t       exact;        /* the path ends here */
    keryu_policy_list_t       prefix;       /* ends here or goes on */
    keryu_policy_list_t       below;        /* goes on */
};


struct keryu_policy_set_s {
    keryu_policy_chunk_t     *chunks;
    keryu_policy_t           *head;
    keryu_policy_t           *tail;
    size_t                    npolicies;
    keryu_policy_t          **ip;           /* active, in order */
    size_t                    nip;
    keryu_policy_node_t      *root;
    size_t                    nrules;
    const keryu_threshold_t **thresholds;   /* active, in order */
    size_t                    nthresholds;
    keryu_policy_node_t      *vroot;        /* validation rules */
    keryu_pattern_t         **patterns;     /* freed with the set */
    size_t                    npatterns;
    size_t                    patterns_cap;
    int                       finished;
};


/* where a compile error happened, for its prefix */
typedef struct {
    keryu_policy_set_t       *set;
    char                     *err;
    size_t                    errlen;
    const char               *policy;
    const char               *rule;
    size_t                    index;        /* rule number from 1, or 0 */
} keryu_policy_ctx_t;


typedef struct {
    const keryu_policy_req_t   *req;
    const keryu_policy_rule_t  *best;
    const keryu_policy_rule_t  *shadow;
    uint32_t                    best_ord;
    uint32_t                    shadow_ord;
    size_t                      nsegs;      /* DEPTH_MAX + 1: more */
    size_t                      visited;
    const keryu_validation_t  **out;        /* collecting, not deciding */
    size_t                      nout;
    size_t                      max;
    keryu_policy_str_t          segs[KERYU_POLICY_DEPTH_MAX];
} keryu_policy_walk_t;


static void *keryu_policy_alloc(keryu_policy_set_t *set, size_t size);
static char *keryu_policy_strdup(keryu_policy_set_t *set, const char *s,
    size_t len);
static int keryu_policy_grow(keryu_policy_set_t *set, void **elts,
    size_t *cap, size_t n, size_t size);
static void keryu_policy_error(keryu_policy_ctx_t *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static const char *keryu_policy_show(char *buf, const char *s);
static yajl_val keryu_policy_parse(const char *json, size_t len, char *err,
    size_t errlen);
static int keryu_policy_nesting(const char *json, size_t len);
static int keryu_policy_fields(keryu_policy_ctx_t *ctx, yajl_val obj,
    const char *what, const char *const *known);
static yajl_val keryu_policy_field(yajl_val obj, const char *name);
static int keryu_policy_name_valid(const char *s);
static int keryu_policy_bool(keryu_policy_ctx_t *ctx, yajl_val v,
    const char *field, int *value);
static int keryu_policy_compile(keryu_policy_ctx_t *ctx, yajl_val doc,
    keryu_policy_t **out);
static int keryu_policy_compile_access(keryu_policy_ctx_t *ctx,
    keryu_policy_t *p, yajl_val rules);
static int keryu_policy_compile_rule(keryu_policy_ctx_t *ctx,
    keryu_policy_t *p, keryu_policy_rule_t *r, yajl_val obj);
static int keryu_policy_compile_path(keryu_policy_ctx_t *ctx,
    keryu_policy_rule_t *r, const char *path, int match);
static int keryu_policy_compile_strings(keryu_policy_ctx_t *ctx,
    const char *field, yajl_val v, int method, keryu_policy_str_t **out,
    size_t *n);
static int keryu_policy_compile_owner(keryu_policy_ctx_t *ctx,
    keryu_policy_rule_t *r, yajl_val v);
static int keryu_policy_compile_threshold(keryu_policy_ctx_t *ctx,
    keryu_policy_t *p, yajl_val rules);
static int keryu_policy_compile_limit(keryu_policy_ctx_t *ctx,
    keryu_threshold_t *t, yajl_val obj);
static int keryu_policy_compile_when(keryu_policy_ctx_t *ctx,
    keryu_threshold_t *t, yajl_val obj);
static int keryu_policy_duration(keryu_policy_ctx_t *ctx, yajl_val v,
    const char *field, uint64_t *ms);
static int keryu_policy_pattern_match(const keryu_policy_pattern_t *pt,
    const char *path, size_t len, unsigned want, const char **seg,
    size_t *seg_len);
static int keryu_policy_rule_id(keryu_policy_ctx_t *ctx, keryu_policy_t *p,
    keryu_policy_rule_t *r, yajl_val obj, const char *const *known);
static int keryu_policy_match(keryu_policy_ctx_t *ctx, const char *s,
    int *match);
static int keryu_policy_compile_check(keryu_policy_ctx_t *ctx,
    keryu_policy_t *p, keryu_policy_rule_t *r, yajl_val obj);
static int keryu_policy_compile_specs(keryu_policy_ctx_t *ctx,
    keryu_policy_rule_t *r, const char *field, yajl_val v,
    keryu_arg_spec_t **out, size_t *n);
static int keryu_policy_compile_spec(keryu_policy_ctx_t *ctx,
    const char *field, const char *name, yajl_val obj, int segment,
    keryu_arg_spec_t *a);
static int keryu_policy_size(keryu_policy_ctx_t *ctx, yajl_val v,
    const char *what, const char *field, long long min, long long max,
    size_t *out);
static int keryu_policy_compile_ip(keryu_policy_ctx_t *ctx,
    keryu_policy_t *p, yajl_val rules);
static int keryu_policy_compile_ranges(keryu_policy_ctx_t *ctx,
    const char *field, yajl_val v, keryu_policy_range_t **out, size_t *n);
static int keryu_policy_addr_parse(const char *s, keryu_policy_range_t *r);
static int keryu_policy_range_cmp(const void *a, const void *b);
static int keryu_policy_id_cmp(const void *a, const void *b);
static int keryu_policy_order_cmp(const void *a, const void *b);
static int keryu_policy_name_cmp(const void *a, const void *b);
static int keryu_policy_seg_cmp(const char *a, size_t alen, const char *b,
    size_t blen);
static int keryu_policy_index(keryu_policy_set_t *set,
    keryu_policy_node_t *root, keryu_policy_rule_t *r);
static int keryu_policy_list_add(keryu_policy_set_t *set,
    keryu_policy_list_t *list, keryu_policy_rule_t *r);
static int keryu_policy_ranges_have(const keryu_policy_range_t *ranges,
    size_t n, const uint8_t *a);
static size_t keryu_policy_split_path(const char *path, size_t len,
    keryu_policy_walk_t *w);
static void keryu_policy_walk(const keryu_policy_node_t *node, size_t depth,
    keryu_policy_walk_t *w);
static void keryu_policy_walk_list(const keryu_policy_list_t *list,
    keryu_policy_walk_t *w);
static int keryu_policy_rule_holds(const keryu_policy_rule_t *r,
    keryu_policy_walk_t *w);
static int keryu_policy_roles_match(const keryu_policy_rule_t *r,
    const keryu_policy_req_t *req);
static int keryu_policy_gen(yajl_gen g, yajl_val v, int depth);
static int keryu_policy_gen_doc(yajl_val v, const char *created_at,
    const char *updated_at, char **out, size_t *outlen);


static const char *const  keryu_policy_fields_doc[] = {
    "name", "description", "policy_type", "is_active", "shadow",
    "priority", "created_at", "updated_at", "rules", NULL
};

static const char *const  keryu_policy_fields_rule[] = {
    "id", "methods", "host", "path", "match", "effect", "roles", "users",
    "owner", "authenticated", "anyone", "shadow", NULL
};

static const char *const  keryu_policy_fields_owner[] = {
    "segment", "claim", NULL
};

static const char *const  keryu_policy_fields_threshold[] = {
    "id", "types", "status", "path", "pattern", "group_by", "count",
    "distinct", "window", "severity", "action", "block", "duration",
    "max_duration", NULL
};

static const char *const  keryu_policy_severities[] = {
    NULL, "low", "medium", "high", "critical", NULL
};

static const char *const  keryu_policy_fields_ip[] = {
    "allow", "deny", NULL
};

static const char *const  keryu_policy_fields_validation[] = {
    "id", "path", "match", "methods", "max_uri_length", "max_args", "args",
    "segments", "unknown_args", "shadow", NULL
};

static const char *const  keryu_policy_fields_spec[] = {
    "type", "min", "max", "minLength", "maxLength", "enum", "pattern",
    "required", NULL
};


/* ---- the arena: everything a set keeps, freed at once ---- */


static void *
keryu_policy_alloc(keryu_policy_set_t *set, size_t size)
{
    size_t                 n, hdr;
    uint8_t               *p;
    keryu_policy_chunk_t  *c;

    hdr = (sizeof(keryu_policy_chunk_t) + KERYU_POLICY_ALIGN - 1)
          & ~((size_t) KERYU_POLICY_ALIGN - 1);

    size = (size + KERYU_POLICY_ALIGN - 1)
           & ~((size_t) KERYU_POLICY_ALIGN - 1);

    c = set->chunks;

    if (c == NULL || c->size - c->used < size) {
        n = size > KERYU_POLICY_CHUNK ? size : KERYU_POLICY_CHUNK;

        c = malloc(hdr + n);
        if (c == NULL) {
            return NULL;
        }

        c->next = set->chunks;
        c->size = n;
        c->used = 0;
        set->chunks = c;
    }

    p = (uint8_t *) c + hdr + c->used;
    c->used += size;

    memset(p, 0, size);

    return p;
}


static char *
keryu_policy_strdup(keryu_policy_set_t *set, const char *s, size_t len)
{
    char  *p;

    p = keryu_policy_alloc(set, len + 1);
    if (p == NULL) {
        return NULL;
    }

    memcpy(p, s, len);
    p[len] = '\0';

    return p;
}


/* makes room for element n of an array; the old copy stays in the arena */

static int
keryu_policy_grow(keryu_policy_set_t *set, void **elts, size_t *cap,
    size_t n, size_t size)
{
    void    *p;
    size_t   ncap;

    if (n < *cap) {
        return 0;
    }

    ncap = *cap ? *cap * 2 : 4;

    p = keryu_policy_alloc(set, ncap * size);
    if (p == NULL) {
        return -1;
    }

    if (*elts) {
        memcpy(p, *elts, n * size);
    }

    *elts = p;
    *cap = ncap;

    return 0;
}


/* ---- errors ---- */


static void
keryu_policy_error(keryu_policy_ctx_t *ctx, const char *fmt, ...)
{
    int      n;
    char     show[KERYU_POLICY_SHOW_MAX + 8];
    size_t   len;
    va_list  args;

    if (ctx->errlen == 0) {
        return;
    }

    n = 0;

    if (ctx->policy) {
        n = snprintf(ctx->err, ctx->errlen, "policy \"%s\": ", ctx->policy);
    }

    len = n < 0 ? 0 : (size_t) n;

    if (len < ctx->errlen && ctx->rule) {
        n = snprintf(ctx->err + len, ctx->errlen - len, "rule \"%s\": ",
                     keryu_policy_show(show, ctx->rule));

    } else if (len < ctx->errlen && ctx->index) {
        n = snprintf(ctx->err + len, ctx->errlen - len, "rule %zu: ",
                     ctx->index);

    } else {
        n = 0;
    }

    len += n < 0 ? 0 : (size_t) n;

    if (len >= ctx->errlen) {
        return;
    }

    va_start(args, fmt);
    vsnprintf(ctx->err + len, ctx->errlen - len, fmt, args);
    va_end(args);
}


/*
 * copies text from a document for an error message: at most
 * KERYU_POLICY_SHOW_MAX bytes, with anything that is not printable ASCII,
 * or a quote or backslash, replaced by "?"
 */

static const char *
keryu_policy_show(char *buf, const char *s)
{
    size_t  i;

    for (i = 0; i < KERYU_POLICY_SHOW_MAX && s[i]; i++) {
        buf[i] = (s[i] < 0x20 || s[i] > 0x7e || s[i] == '"' || s[i] == '\\')
                 ? '?' : s[i];
    }

    if (s[i]) {
        memcpy(buf + i, "...", 3);
        i += 3;
    }

    buf[i] = '\0';

    return buf;
}


/* ---- parsing ---- */


/*
 * parses a document into a yajl tree; the text is bounded in size and
 * nesting first, since yajl_tree_free() recurses once per level
 */

static yajl_val
keryu_policy_parse(const char *json, size_t len, char *err, size_t errlen)
{
    char      *buf, *nl, ebuf[KERYU_POLICY_ERR_MAX];
    yajl_val   doc;

    if (len > KERYU_POLICY_DOC_MAX) {
        snprintf(err, errlen, "document is larger than %d bytes",
                 KERYU_POLICY_DOC_MAX);
        return NULL;
    }

    if (memchr(json, '\0', len) != NULL) {
        snprintf(err, errlen, "document holds a NUL byte");
        return NULL;
    }

    switch (keryu_policy_nesting(json, len)) {

    case -1:
        snprintf(err, errlen, "document holds \"\\u0000\"");
        return NULL;

    case KERYU_POLICY_NEST_MAX + 1:
        snprintf(err, errlen, "document nests deeper than %d levels",
                 KERYU_POLICY_NEST_MAX);
        return NULL;
    }

    buf = malloc(len + 1);
    if (buf == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }

    memcpy(buf, json, len);
    buf[len] = '\0';

    ebuf[0] = '\0';

    doc = yajl_tree_parse(buf, ebuf, sizeof(ebuf));

    free(buf);

    if (doc == NULL) {

        /* the lines after the first quote the input */

        nl = strchr(ebuf, '\n');
        if (nl) {
            *nl = '\0';
        }

        snprintf(err, errlen, "invalid JSON: %s",
                 ebuf[0] ? ebuf : "parse error");
        return NULL;
    }

    return doc;
}


/*
 * returns the deepest nesting of arrays and objects, capped at NEST_MAX + 1,
 * or -1 for a string escaping a NUL, which yajl's tree would silently cut
 * its C string at
 */

static int
keryu_policy_nesting(const char *json, size_t len)
{
    int     depth, max, in_str;
    size_t  i;

    depth = 0;
    max = 0;
    in_str = 0;

    for (i = 0; i < len; i++) {
        if (in_str) {
            if (json[i] == '\\') {
                if (len - i > 5 && json[i + 1] == 'u'
                    && memcmp(json + i + 2, "0000", 4) == 0)
                {
                    return -1;
                }

                i++;

            } else if (json[i] == '"') {
                in_str = 0;
            }

            continue;
        }

        switch (json[i]) {

        case '"':
            in_str = 1;
            break;

        case '[':
        case '{':
            if (++depth > max) {
                max = depth;
            }

            if (max > KERYU_POLICY_NEST_MAX) {
                return KERYU_POLICY_NEST_MAX + 1;
            }

            break;

        case ']':
        case '}':
            depth--;
            break;
        }
    }

    return max;
}


/* refuses fields that are not in known, and fields given twice */

static int
keryu_policy_fields(keryu_policy_ctx_t *ctx, yajl_val obj, const char *what,
    const char *const *known)
{
    char         show[KERYU_POLICY_SHOW_MAX + 8];
    size_t       i, j, n;
    const char  *key;

    n = obj->u.object.len;

    for (i = 0; i < n; i++) {
        key = obj->u.object.keys[i];

        for (j = 0; known[j]; j++) {
            if (strcmp(key, known[j]) == 0) {
                break;
            }
        }

        if (known[j] == NULL) {
            keryu_policy_error(ctx, "%sunknown field \"%s\"", what,
                               keryu_policy_show(show, key));
            return -1;
        }

        for (j = 0; j < i; j++) {
            if (strcmp(key, obj->u.object.keys[j]) == 0) {
                keryu_policy_error(ctx, "%sfield \"%s\" is given twice",
                                   what, keryu_policy_show(show, key));
                return -1;
            }
        }
    }

    return 0;
}


static yajl_val
keryu_policy_field(yajl_val obj, const char *name)
{
    size_t  i;

    for (i = 0; i < obj->u.object.len; i++) {
        if (strcmp(obj->u.object.keys[i], name) == 0) {
            return obj->u.object.values[i];
        }
    }

    return NULL;
}


/* names and rule ids: 1 to 64 of [A-Za-z0-9._-], so they print safely */

static int
keryu_policy_name_valid(const char *s)
{
    size_t  i;

    for (i = 0; s[i]; i++) {
        if (i == KERYU_POLICY_NAME_MAX
            || !((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z')
                 || (s[i] >= '0' && s[i] <= '9')
                 || s[i] == '.' || s[i] == '_' || s[i] == '-'))
        {
            return 0;
        }
    }

    return i > 0;
}


static int
keryu_policy_bool(keryu_policy_ctx_t *ctx, yajl_val v, const char *field,
    int *value)
{
    if (YAJL_IS_TRUE(v)) {
        *value = 1;
        return 0;
    }

    if (YAJL_IS_FALSE(v)) {
        *value = 0;
        return 0;
    }

    keryu_policy_error(ctx, "\"%s\" must be true or false", field);

    return -1;
}


/* ---- compiling a document ---- */


static int
keryu_policy_compile(keryu_policy_ctx_t *ctx, yajl_val doc,
    keryu_policy_t **out)
{
    size_t               i;
    yajl_val             v, rules;
    long long            prio;
    const char          *key, *s;
    keryu_policy_t      *p;
    keryu_policy_set_t  *set;

    set = ctx->set;

    if (!YAJL_IS_OBJECT(doc)) {
        keryu_policy_error(ctx, "a policy must be a JSON object");
        return -1;
    }

    v = keryu_policy_field(doc, "name");

    if (v == NULL) {
        keryu_policy_error(ctx, "\"name\" is required");
        return -1;
    }

    if (!YAJL_IS_STRING(v) || !keryu_policy_name_valid(YAJL_GET_STRING(v))) {
        keryu_policy_error(ctx, "\"name\" must be 1 to %d of "
                           "A-Z a-z 0-9 . _ -", KERYU_POLICY_NAME_MAX);
        return -1;
    }

    p = keryu_policy_alloc(set, sizeof(keryu_policy_t));
    if (p == NULL) {
        goto nomem;
    }

    p->name = keryu_policy_strdup(set, v->u.string, strlen(v->u.string));
    if (p->name == NULL) {
        goto nomem;
    }

    ctx->policy = p->name;

    if (keryu_policy_fields(ctx, doc, "", keryu_policy_fields_doc) != 0) {
        return -1;
    }

    p->active = 1;
    p->priority = KERYU_POLICY_PRIORITY;
    rules = NULL;

    for (i = 0; i < doc->u.object.len; i++) {
        key = doc->u.object.keys[i];
        v = doc->u.object.values[i];

        if (strcmp(key, "description") == 0) {
            if (!YAJL_IS_STRING(v)) {
                keryu_policy_error(ctx, "\"description\" must be a string");
                return -1;
            }

        } else if (strcmp(key, "policy_type") == 0) {
            s = YAJL_GET_STRING(v);

            if (s && strcmp(s, "access") == 0) {
                p->type = KERYU_POLICY_ACCESS;

            } else if (s && strcmp(s, "ip") == 0) {
                p->type = KERYU_POLICY_IP;

            } else if (s && strcmp(s, "threshold") == 0) {
                p->type = KERYU_POLICY_THRESHOLD;

            } else if (s && strcmp(s, "validation") == 0) {
                p->type = KERYU_POLICY_VALIDATION;

            } else {
                keryu_policy_error(ctx, "\"policy_type\" must be \"access\", "
                                   "\"ip\", \"threshold\" or "
                                   "\"validation\"");
                return -1;
            }

        } else if (strcmp(key, "is_active") == 0) {
            if (keryu_policy_bool(ctx, v, key, &p->active) != 0) {
                return -1;
            }

        } else if (strcmp(key, "shadow") == 0) {
            if (keryu_policy_bool(ctx, v, key, &p->shadow) != 0) {
                return -1;
            }

        } else if (strcmp(key, "priority") == 0) {
            prio = YAJL_IS_INTEGER(v) ? YAJL_GET_INTEGER(v) : -1;

            if (prio < 0 || prio > KERYU_POLICY_PRIORITY_MAX) {
                keryu_policy_error(ctx, "\"priority\" must be an integer "
                                   "from 0 to %d", KERYU_POLICY_PRIORITY_MAX);
                return -1;
            }

            p->priority = (int) prio;

        } else if (strcmp(key, "created_at") == 0
                   || strcmp(key, "updated_at") == 0)
        {
            if (!YAJL_IS_STRING(v) && !YAJL_IS_NUMBER(v) && !YAJL_IS_NULL(v))
            {
                keryu_policy_error(ctx, "\"%s\" must be a string", key);
                return -1;
            }

            s = YAJL_IS_STRING(v) ? YAJL_GET_STRING(v)
                : YAJL_IS_NUMBER(v) ? YAJL_GET_NUMBER(v) : "";

            s = keryu_policy_strdup(set, s, strlen(s));
            if (s == NULL) {
                goto nomem;
            }

            if (key[0] == 'c') {
                p->created_at = s;

            } else {
                p->updated_at = s;
            }

        } else if (strcmp(key, "rules") == 0) {
            rules = v;
        }
    }

    if (p->type == 0) {
        keryu_policy_error(ctx, "\"policy_type\" is required");
        return -1;
    }

    if (rules == NULL) {
        keryu_policy_error(ctx, "\"rules\" is required");
        return -1;
    }

    if (p->type == KERYU_POLICY_ACCESS || p->type == KERYU_POLICY_VALIDATION) {
        if (keryu_policy_compile_access(ctx, p, rules) != 0) {
            return -1;
        }

    } else if (p->type == KERYU_POLICY_THRESHOLD) {
        if (keryu_policy_compile_threshold(ctx, p, rules) != 0) {
            return -1;
        }

    } else {
        if (keryu_policy_compile_ip(ctx, p, rules) != 0) {
            return -1;
        }
    }

    *out = p;

    return 0;

nomem:

    keryu_policy_error(ctx, "out of memory");

    return -1;
}


static int
keryu_policy_compile_access(keryu_policy_ctx_t *ctx, keryu_policy_t *p,
    yajl_val rules)
{
    int                   rc;
    size_t                i, n;
    yajl_val              v;
    const char          **ids;
    keryu_policy_rule_t  *r;

    if (!YAJL_IS_ARRAY(rules)) {
        keryu_policy_error(ctx, "\"rules\" must be an array of rules");
        return -1;
    }

    n = rules->u.array.len;

    if (n > KERYU_POLICY_RULES_MAX) {
        keryu_policy_error(ctx, "more than %d rules",
                           KERYU_POLICY_RULES_MAX);
        return -1;
    }

    if (n == 0) {
        return 0;
    }

    p->rules = keryu_policy_alloc(ctx->set, n * sizeof(keryu_policy_rule_t));
    if (p->rules == NULL) {
        keryu_policy_error(ctx, "out of memory");
        return -1;
    }

    for (i = 0; i < n; i++) {
        r = &p->rules[i];

        ctx->index = i + 1;
        ctx->rule = NULL;

        v = rules->u.array.values[i];

        if (p->type == KERYU_POLICY_VALIDATION) {
            rc = keryu_policy_compile_check(ctx, p, r, v);

        } else {
            rc = keryu_policy_compile_rule(ctx, p, r, v);
        }

        if (rc != 0) {
            return -1;
        }

        p->nrules++;
    }

    ctx->index = 0;
    ctx->rule = NULL;

    /* ids are unique: sort a copy and compare neighbours */

    ids = malloc(n * sizeof(char *));
    if (ids == NULL) {
        keryu_policy_error(ctx, "out of memory");
        return -1;
    }

    for (i = 0; i < n; i++) {
        ids[i] = p->rules[i].id;
    }

    qsort(ids, n, sizeof(char *), keryu_policy_id_cmp);

    for (i = 1; i < n; i++) {
        if (strcmp(ids[i - 1], ids[i]) == 0) {
            ctx->rule = ids[i];
            keryu_policy_error(ctx, "\"id\" is used by another rule");
            ctx->rule = NULL;
            free(ids);
            return -1;
        }
    }

    free(ids);

    return 0;
}


static int
keryu_policy_compile_rule(keryu_policy_ctx_t *ctx, keryu_policy_t *p,
    keryu_policy_rule_t *r, yajl_val obj)
{
    int           match, conds, flag;
    size_t        i, len;
    yajl_val      v;
    const char   *key, *s, *path;

    if (keryu_policy_rule_id(ctx, p, r, obj, keryu_policy_fields_rule) != 0)
    {
        return -1;
    }

    match = 0;
    conds = 0;
    path = NULL;

    for (i = 0; i < obj->u.object.len; i++) {
        key = obj->u.object.keys[i];
        v = obj->u.object.values[i];
        s = YAJL_GET_STRING(v);

        if (strcmp(key, "methods") == 0) {
            if (keryu_policy_compile_strings(ctx, key, v, 1, &r->methods,
                                             &r->nmethods)
                != 0)
            {
                return -1;
            }

        } else if (strcmp(key, "host") == 0) {
            len = s ? strlen(s) : 0;

            if (len == 0 || len > KERYU_POLICY_STR_MAX
                || strpbrk(s, " /\t\r\n") != NULL)
            {
                keryu_policy_error(ctx, "\"host\" must be a host name");
                return -1;
            }

            r->host.data = keryu_policy_strdup(ctx->set, s, len);
            if (r->host.data == NULL) {
                goto nomem;
            }

            r->host.len = len;

            for (len = 0; len < r->host.len; len++) {
                if (s[len] >= 'A' && s[len] <= 'Z') {
                    ((char *) r->host.data)[len] = (char) (s[len] | 0x20);
                }
            }

        } else if (strcmp(key, "path") == 0) {
            if (s == NULL) {
                keryu_policy_error(ctx, "\"path\" must be a string");
                return -1;
            }

            path = s;

        } else if (strcmp(key, "match") == 0) {
            if (keryu_policy_match(ctx, s, &match) != 0) {
                return -1;
            }

        } else if (strcmp(key, "effect") == 0) {
            if (s && strcmp(s, "allow") == 0) {
                r->effect = KERYU_EFFECT_ALLOW;

            } else if (s && strcmp(s, "deny") == 0) {
                r->effect = KERYU_EFFECT_DENY;

            } else {
                keryu_policy_error(ctx, "\"effect\" must be \"allow\" or "
                                   "\"deny\"");
                return -1;
            }

        } else if (strcmp(key, "roles") == 0) {
            if (keryu_policy_compile_strings(ctx, key, v, 0, &r->roles,
                                             &r->nroles)
                != 0)
            {
                return -1;
            }

            conds++;

        } else if (strcmp(key, "users") == 0) {
            if (keryu_policy_compile_strings(ctx, key, v, 0, &r->users,
                                             &r->nusers)
                != 0)
            {
                return -1;
            }

            conds++;

        } else if (strcmp(key, "owner") == 0) {

            /* checked against the path below, once the path is known */

            conds++;

        } else if (strcmp(key, "authenticated") == 0
                   || strcmp(key, "anyone") == 0)
        {
            if (!YAJL_IS_TRUE(v)) {
                keryu_policy_error(ctx, "\"%s\" can only be true", key);
                return -1;
            }

            if (key[0] == 'a' && key[1] == 'n') {
                r->anyone = 1;

            } else {
                r->authenticated = 1;
            }

            conds++;

        } else if (strcmp(key, "shadow") == 0) {
            if (keryu_policy_bool(ctx, v, key, &flag) != 0) {
                return -1;
            }

            r->shadow |= flag;
        }
    }

    if (path == NULL) {
        keryu_policy_error(ctx, "\"path\" is required");
        return -1;
    }

    if (r->effect == 0) {
        keryu_policy_error(ctx, "\"effect\" is required");
        return -1;
    }

    if (conds == 0) {
        keryu_policy_error(ctx, "a condition is required: \"roles\", "
                           "\"users\", \"owner\", \"authenticated\" or "
                           "\"anyone\"");
        return -1;
    }

    if (r->anyone && conds > 1) {
        keryu_policy_error(ctx, "\"anyone\" cannot be combined with other "
                           "conditions");
        return -1;
    }

    if (keryu_policy_compile_path(ctx, r, path, match) != 0) {
        return -1;
    }

    v = keryu_policy_field(obj, "owner");

    if (v && keryu_policy_compile_owner(ctx, r, v) != 0) {
        return -1;
    }

    return 0;

nomem:

    keryu_policy_error(ctx, "out of memory");

    return -1;
}


/* the id of an access or validation rule, and no fields but known ones */

static int
keryu_policy_rule_id(keryu_policy_ctx_t *ctx, keryu_policy_t *p,
    keryu_policy_rule_t *r, yajl_val obj, const char *const *known)
{
    yajl_val  v;

    if (!YAJL_IS_OBJECT(obj)) {
        keryu_policy_error(ctx, "a rule must be a JSON object");
        return -1;
    }

    v = keryu_policy_field(obj, "id");

    if (v == NULL) {
        keryu_policy_error(ctx, "\"id\" is required");
        return -1;
    }

    if (!YAJL_IS_STRING(v) || !keryu_policy_name_valid(YAJL_GET_STRING(v))) {
        keryu_policy_error(ctx, "\"id\" must be 1 to %d of A-Z a-z 0-9 . _ -",
                           KERYU_POLICY_NAME_MAX);
        return -1;
    }

    r->policy = p;
    r->shadow = p->shadow;
    r->owner_seg = -1;

    r->id = keryu_policy_strdup(ctx->set, v->u.string, strlen(v->u.string));
    if (r->id == NULL) {
        keryu_policy_error(ctx, "out of memory");
        return -1;
    }

    ctx->rule = r->id;

    return keryu_policy_fields(ctx, obj, "", known);
}


static int
keryu_policy_match(keryu_policy_ctx_t *ctx, const char *s, int *match)
{
    if (s && strcmp(s, "exact") == 0) {
        *match = KERYU_MATCH_EXACT;

    } else if (s && strcmp(s, "prefix") == 0) {
        *match = KERYU_MATCH_PREFIX;

    } else if (s && strcmp(s, "pattern") == 0) {
        *match = KERYU_MATCH_PATTERN;

    } else {
        keryu_policy_error(ctx, "\"match\" must be \"exact\", \"prefix\" or "
                           "\"pattern\"");
        return -1;
    }

    return 0;
}


/*
 * splits the path into segments; a prefix path ending in "/" drops its
 * last, empty segment and is marked "below", so "/admin/" hangs on the
 * node of "admin" and "/" on the root
 */

static int
keryu_policy_compile_path(keryu_policy_ctx_t *ctx, keryu_policy_rule_t *r,
    const char *path, int match)
{
    int                  wild;
    char                 show[KERYU_POLICY_SHOW_MAX + 8];
    size_t               i, j, k, len, n, slen;
    const char          *seg, *end;
    keryu_policy_seg_t   segs[KERYU_POLICY_DEPTH_MAX];

    len = strlen(path);

    keryu_policy_show(show, path);

    if (path[0] != '/') {
        keryu_policy_error(ctx, "path \"%s\" must start with \"/\"", show);
        return -1;
    }

    if (len > KERYU_POLICY_PATH_MAX) {
        keryu_policy_error(ctx, "path is longer than %d bytes",
                           KERYU_POLICY_PATH_MAX);
        return -1;
    }

    for (i = 0; i < len; i++) {
        if ((unsigned char) path[i] < 0x20 || path[i] == 0x7f
            || path[i] == '?' || path[i] == '#')
        {
            keryu_policy_error(ctx, "path \"%s\" holds a control character, "
                               "\"?\" or \"#\"", show);
            return -1;
        }
    }

    n = 0;
    wild = 0;
    seg = path + 1;

    for ( ;; ) {
        end = memchr(seg, '/', len - (size_t) (seg - path));
        slen = end ? (size_t) (end - seg) : len - (size_t) (seg - path);

        if (n == KERYU_POLICY_DEPTH_MAX) {
            keryu_policy_error(ctx, "path \"%s\" has more than %d segments",
                               show, KERYU_POLICY_DEPTH_MAX);
            return -1;
        }

        /* nginx merges slashes and resolves dot segments before we look */

        if ((slen == 0 && end != NULL)
            || (slen == 1 && seg[0] == '.')
            || (slen == 2 && seg[0] == '.' && seg[1] == '.'))
        {
            keryu_policy_error(ctx, "path \"%s\" is not normalised: empty, "
                               "\".\" or \"..\" segment", show);
            return -1;
        }

        segs[n].text.data = seg;
        segs[n].text.len = slen;
        segs[n].wild = 0;

        if (memchr(seg, '{', slen) || memchr(seg, '}', slen)) {
            if (slen < 3 || seg[0] != '{' || seg[slen - 1] != '}') {
                keryu_policy_error(ctx, "path \"%s\": a {name} must be a "
                                   "whole segment", show);
                return -1;
            }

            for (k = 1; k < slen - 1; k++) {
                if (!((seg[k] >= 'a' && seg[k] <= 'z')
                      || (seg[k] >= 'A' && seg[k] <= 'Z')
                      || (seg[k] >= '0' && seg[k] <= '9') || seg[k] == '_'))
                {
                    keryu_policy_error(ctx, "path \"%s\": a {name} must be "
                                       "of A-Z a-z 0-9 _", show);
                    return -1;
                }
            }

            for (j = 0; j < n; j++) {
                if (segs[j].wild && segs[j].text.len == slen
                    && memcmp(segs[j].text.data, seg, slen) == 0)
                {
                    keryu_policy_error(ctx, "path \"%s\": segment %.*s is "
                                       "named twice", show, (int) slen, seg);
                    return -1;
                }
            }

            segs[n].wild = 1;
            wild = 1;
        }

        n++;

        if (end == NULL) {
            break;
        }

        seg = end + 1;
    }

    if (match == 0) {
        match = wild ? KERYU_MATCH_PATTERN : KERYU_MATCH_EXACT;
    }

    if (match == KERYU_MATCH_EXACT && wild) {
        keryu_policy_error(ctx, "path \"%s\": match \"exact\" takes no "
                           "{name} segments", show);
        return -1;
    }

    r->match = match;

    if (match == KERYU_MATCH_PREFIX && segs[n - 1].text.len == 0) {
        r->below = 1;
        n--;
    }

    r->nsegs = n;

    if (n == 0) {
        return 0;
    }

    r->segs = keryu_policy_alloc(ctx->set, n * sizeof(keryu_policy_seg_t));
    if (r->segs == NULL) {
        keryu_policy_error(ctx, "out of memory");
        return -1;
    }

    for (i = 0; i < n; i++) {
        r->segs[i].wild = segs[i].wild;
        r->segs[i].text.len = segs[i].text.len;
        r->segs[i].text.data = keryu_policy_strdup(ctx->set,
                                                   segs[i].text.data,
                                                   segs[i].text.len);
        if (r->segs[i].text.data == NULL) {
            keryu_policy_error(ctx, "out of memory");
            return -1;
        }
    }

    return 0;
}


/* a non-empty array of strings; methods are uppercase tokens */

static int
keryu_policy_compile_strings(keryu_policy_ctx_t *ctx, const char *field,
    yajl_val v, int method, keryu_policy_str_t **out, size_t *n)
{
    size_t               i, k, len, cnt;
    const char          *s;
    keryu_policy_str_t  *strs;

    if (!YAJL_IS_ARRAY(v) || v->u.array.len == 0) {
        keryu_policy_error(ctx, "\"%s\" must be a non-empty array of "
                           "strings", field);
        return -1;
    }

    cnt = v->u.array.len;

    if (cnt > KERYU_POLICY_RULES_MAX) {
        keryu_policy_error(ctx, "\"%s\" has more than %d entries", field,
                           KERYU_POLICY_RULES_MAX);
        return -1;
    }

    strs = keryu_policy_alloc(ctx->set, cnt * sizeof(keryu_policy_str_t));
    if (strs == NULL) {
        keryu_policy_error(ctx, "out of memory");
        return -1;
    }

    for (i = 0; i < cnt; i++) {
        s = YAJL_GET_STRING(v->u.array.values[i]);
        len = s ? strlen(s) : 0;

        if (len == 0 || len > KERYU_POLICY_STR_MAX) {
            keryu_policy_error(ctx, "\"%s\" must be a non-empty array of "
                               "strings", field);
            return -1;
        }

        if (method) {
            for (k = 0; k < len; k++) {
                if (!((s[k] >= 'A' && s[k] <= 'Z') || s[k] == '-'
                      || s[k] == '_')
                    || len > KERYU_POLICY_METHOD_MAX)
                {
                    keryu_policy_error(ctx, "\"methods\" must be uppercase "
                                       "method names");
                    return -1;
                }
            }
        }

        strs[i].data = keryu_policy_strdup(ctx->set, s, len);
        if (strs[i].data == NULL) {
            keryu_policy_error(ctx, "out of memory");
            return -1;
        }

        strs[i].len = len;
    }

    *out = strs;
    *n = cnt;

    return 0;
}


static int
keryu_policy_compile_owner(keryu_policy_ctx_t *ctx, keryu_policy_rule_t *r,
    yajl_val v)
{
    char         show[KERYU_POLICY_SHOW_MAX + 8];
    size_t       i, len;
    const char  *seg, *claim;

    if (!YAJL_IS_OBJECT(v)) {
        keryu_policy_error(ctx, "\"owner\" must be an object with "
                           "\"segment\" and \"claim\"");
        return -1;
    }

    if (keryu_policy_fields(ctx, v, "owner: ", keryu_policy_fields_owner)
        != 0)
    {
        return -1;
    }

    seg = YAJL_GET_STRING(keryu_policy_field(v, "segment"));
    claim = YAJL_GET_STRING(keryu_policy_field(v, "claim"));

    if (seg == NULL || claim == NULL) {
        keryu_policy_error(ctx, "\"owner\" must be an object with "
                           "\"segment\" and \"claim\"");
        return -1;
    }

    len = strlen(claim);

    if (len == 0 || len > KERYU_POLICY_NAME_MAX) {
        keryu_policy_error(ctx, "owner: \"claim\" must be 1 to %d bytes",
                           KERYU_POLICY_NAME_MAX);
        return -1;
    }

    len = strlen(seg);

    for (i = 0; i < r->nsegs; i++) {
        if (r->segs[i].wild && r->segs[i].text.len == len + 2
            && memcmp(r->segs[i].text.data + 1, seg, len) == 0)
        {
            break;
        }
    }

    if (i == r->nsegs) {
        keryu_policy_error(ctx, "owner: segment \"%s\" is not a {name} in "
                           "the path", keryu_policy_show(show, seg));
        return -1;
    }

    r->owner_seg = (int) i;
    r->owner_claim.len = strlen(claim);
    r->owner_claim.data = keryu_policy_strdup(ctx->set, claim,
                                              r->owner_claim.len);
    if (r->owner_claim.data == NULL) {
        keryu_policy_error(ctx, "out of memory");
        return -1;
    }

    return 0;
}


/* ---- threshold rules ---- */


static int
keryu_policy_compile_threshold(keryu_policy_ctx_t *ctx, keryu_policy_t *p,
    yajl_val rules)
{
    size_t              i, j, n;
    keryu_threshold_t  *t;

    if (!YAJL_IS_ARRAY(rules)) {
        keryu_policy_error(ctx, "\"rules\" must be an array of rules");
        return -1;
    }

    n = rules->u.array.len;

    if (n > KERYU_POLICY_RULES_MAX) {
        keryu_policy_error(ctx, "more than %d rules",
                           KERYU_POLICY_RULES_MAX);
        return -1;
    }

    if (n == 0) {
        return 0;
    }

    p->thresholds = keryu_policy_alloc(ctx->set,
                                       n * sizeof(keryu_threshold_t));
    if (p->thresholds == NULL) {
        keryu_policy_error(ctx, "out of memory");
        return -1;
    }

    for (i = 0; i < n; i++) {
        t = &p->thresholds[i];

        ctx->index = i + 1;
        ctx->rule = NULL;

        t->policy = p->name;
        t->shadow = p->shadow;

        if (keryu_policy_compile_limit(ctx, t, rules->u.array.values[i])
            != 0)
        {
            return -1;
        }

        for (j = 0; j < i; j++) {
            if (strcmp(p->thresholds[j].id, t->id) == 0) {
                keryu_policy_error(ctx, "\"id\" is used by another rule");
                return -1;
            }
        }

        p->nthresholds++;
    }

    ctx->index = 0;
    ctx->rule = NULL;

    return 0;
}


static int
keryu_policy_compile_limit(keryu_policy_ctx_t *ctx, keryu_threshold_t *t,
    yajl_val obj)
{
    int          sev;
    char         show[KERYU_POLICY_SHOW_MAX + 8];
    size_t       i, len, nsegs;
    yajl_val     v;
    const char  *s;
    long long    count;

    if (!YAJL_IS_OBJECT(obj)) {
        keryu_policy_error(ctx, "a rule must be a JSON object");
        return -1;
    }

    v = keryu_policy_field(obj, "id");

    if (v == NULL) {
        keryu_policy_error(ctx, "\"id\" is required");
        return -1;
    }

    if (!YAJL_IS_STRING(v) || !keryu_policy_name_valid(YAJL_GET_STRING(v))) {
        keryu_policy_error(ctx, "\"id\" must be 1 to %d of A-Z a-z 0-9 . _ -",
                           KERYU_POLICY_NAME_MAX);
        return -1;
    }

    t->id = keryu_policy_strdup(ctx->set, v->u.string, strlen(v->u.string));
    if (t->id == NULL) {
        goto nomem;
    }

    ctx->rule = t->id;

    if (keryu_policy_fields(ctx, obj, "", keryu_policy_fields_threshold)
        != 0)
    {
        return -1;
    }

    if (keryu_policy_compile_when(ctx, t, obj) != 0) {
        return -1;
    }

    /* what is counted against */

    v = keryu_policy_field(obj, "group_by");
    s = v ? YAJL_GET_STRING(v) : NULL;

    if (v == NULL) {
        keryu_policy_error(ctx, "\"group_by\" is required");
        return -1;
    }

    if (s && strcmp(s, "ip") == 0) {
        t->group = KERYU_GROUP_IP;

    } else if (s && strcmp(s, "user") == 0) {
        t->group = KERYU_GROUP_USER;

    } else if (s && strcmp(s, "ip+user") == 0) {
        t->group = KERYU_GROUP_IP_USER;

    } else {
        keryu_policy_error(ctx, "\"group_by\" must be \"ip\", \"user\" or "
                           "\"ip+user\"");
        return -1;
    }

    v = keryu_policy_field(obj, "count");
    count = (v && YAJL_IS_INTEGER(v)) ? YAJL_GET_INTEGER(v) : 0;

    if (v == NULL) {
        keryu_policy_error(ctx, "\"count\" is required");
        return -1;
    }

    if (count < 1 || count > KERYU_THRESHOLD_COUNT_MAX) {
        keryu_policy_error(ctx, "\"count\" must be an integer from 1 to %d",
                           KERYU_THRESHOLD_COUNT_MAX);
        return -1;
    }

    t->count = (unsigned) count;

    v = keryu_policy_field(obj, "window");

    if (v == NULL) {
        keryu_policy_error(ctx, "\"window\" is required");
        return -1;
    }

    if (keryu_policy_duration(ctx, v, "window", &t->window_ms) != 0) {
        return -1;
    }

    if (t->window_ms > KERYU_THRESHOLD_WINDOW_MAX) {
        keryu_policy_error(ctx, "\"window\" must be at most 24h");
        return -1;
    }

    /* what is counted: events, or distinct values of a field */

    v = keryu_policy_field(obj, "distinct");

    if (v) {
        s = YAJL_GET_STRING(v);

        if (s == NULL) {
            keryu_policy_error(ctx, "\"distinct\" must be a string");
            return -1;
        }

        len = strlen(s);

        if (strcmp(s, "user") == 0) {
            t->distinct = KERYU_DISTINCT_USER;

        } else if (strcmp(s, "ip") == 0) {
            t->distinct = KERYU_DISTINCT_IP;

        } else if (strcmp(s, "path") == 0) {
            t->distinct = KERYU_DISTINCT_PATH;

        } else {
            nsegs = t->pattern ? t->pattern->nsegs : 0;

            for (i = 0; i < nsegs; i++) {
                if (t->pattern->segs[i].wild
                    && t->pattern->segs[i].text.len == len + 2
                    && memcmp(t->pattern->segs[i].text.data + 1, s, len) == 0)
                {
                    break;
                }
            }

            if (i == nsegs) {
                keryu_policy_error(ctx, "\"distinct\" must be \"user\", "
                                   "\"ip\", \"path\" or a {name} of "
                                   "\"pattern\", not \"%s\"",
                                   keryu_policy_show(show, s));
                return -1;
            }

            t->distinct = KERYU_DISTINCT_SEGMENT;
            t->segment = (unsigned) i;
        }
    }

    v = keryu_policy_field(obj, "severity");

    if (v) {
        sev = YAJL_IS_STRING(v) ? keryu_severity_parse(YAJL_GET_STRING(v))
                                : -1;
        if (sev == -1) {
            keryu_policy_error(ctx, "\"severity\" must be \"low\", "
                               "\"medium\", \"high\" or \"critical\"");
            return -1;
        }

        t->severity = sev;

    } else {
        t->severity = KERYU_SEVERITY_MEDIUM;
    }

    /* the answer */

    v = keryu_policy_field(obj, "action");
    s = v ? YAJL_GET_STRING(v) : "alert";

    if (s && strcmp(s, "block") == 0) {
        t->block = (t->group == KERYU_GROUP_USER) ? KERYU_GROUP_USER
                                                  : KERYU_GROUP_IP;

    } else if (s == NULL || strcmp(s, "alert") != 0) {
        keryu_policy_error(ctx, "\"action\" must be \"alert\" or \"block\"");
        return -1;
    }

    v = keryu_policy_field(obj, "block");

    if (v) {
        s = YAJL_GET_STRING(v);

        if (t->block == 0) {
            keryu_policy_error(ctx, "\"block\" needs \"action\": \"block\"");
            return -1;
        }

        if (s && strcmp(s, "ip") == 0 && t->group != KERYU_GROUP_USER) {
            t->block = KERYU_GROUP_IP;

        } else if (s && strcmp(s, "user") == 0
                   && t->group != KERYU_GROUP_IP)
        {
            t->block = KERYU_GROUP_USER;

        } else {
            keryu_policy_error(ctx, "\"block\" must be \"ip\" or \"user\", "
                               "and one that \"group_by\" holds");
            return -1;
        }
    }

    v = keryu_policy_field(obj, "duration");

    if (t->block && v == NULL) {
        keryu_policy_error(ctx, "\"duration\" is required with "
                           "\"action\": \"block\"");
        return -1;
    }

    if (v) {
        if (t->block == 0) {
            keryu_policy_error(ctx, "\"duration\" needs \"action\": "
                               "\"block\"");
            return -1;
        }

        if (keryu_policy_duration(ctx, v, "duration", &t->duration_ms) != 0)
        {
            return -1;
        }
    }

    v = keryu_policy_field(obj, "max_duration");

    if (v) {
        if (t->block == 0) {
            keryu_policy_error(ctx, "\"max_duration\" needs \"action\": "
                               "\"block\"");
            return -1;
        }

        if (keryu_policy_duration(ctx, v, "max_duration",
                                  &t->max_duration_ms)
            != 0)
        {
            return -1;
        }

        if (t->max_duration_ms < t->duration_ms) {
            keryu_policy_error(ctx, "\"max_duration\" is shorter than "
                               "\"duration\"");
            return -1;
        }

    } else if (t->block) {
        t->max_duration_ms = t->duration_ms > KERYU_THRESHOLD_WINDOW_MAX
                             ? t->duration_ms : KERYU_THRESHOLD_WINDOW_MAX;
    }

    return 0;

nomem:

    keryu_policy_error(ctx, "out of memory");

    return -1;
}


/* which events a threshold rule counts: types, statuses, path or pattern */

static int
keryu_policy_compile_when(keryu_policy_ctx_t *ctx, keryu_threshold_t *t,
    yajl_val obj)
{
    int                  type;
    char                 show[KERYU_POLICY_SHOW_MAX + 8];
    size_t               i, n;
    uint16_t            *st;
    yajl_val             v, e, path, pattern;
    long long            status;
    const char          *s;
    keryu_policy_rule_t  r;
    keryu_policy_pattern_t  *pt;

    v = keryu_policy_field(obj, "types");

    if (v) {
        if (!YAJL_IS_ARRAY(v) || v->u.array.len == 0) {
            keryu_policy_error(ctx, "\"types\" must be a non-empty array of "
                               "event types");
            return -1;
        }

        for (i = 0; i < v->u.array.len; i++) {
            e = v->u.array.values[i];
            s = YAJL_GET_STRING(e);
            type = s ? keryu_event_parse(s, strlen(s)) : -1;

            if (type == -1) {
                keryu_policy_error(ctx, "\"types\": unknown event type "
                                   "\"%s\"", s ? keryu_policy_show(show, s)
                                               : "(not a string)");
                return -1;
            }

            t->types |= (uint32_t) 1 << type;
        }
    }

    v = keryu_policy_field(obj, "status");

    if (v) {
        n = YAJL_IS_ARRAY(v) ? v->u.array.len : 0;

        if (n == 0 || n > 100) {
            keryu_policy_error(ctx, "\"status\" must be an array of 1 to 100 "
                               "HTTP statuses");
            return -1;
        }

        st = keryu_policy_alloc(ctx->set, n * sizeof(uint16_t));
        if (st == NULL) {
            keryu_policy_error(ctx, "out of memory");
            return -1;
        }

        for (i = 0; i < n; i++) {
            e = v->u.array.values[i];
            status = YAJL_IS_INTEGER(e) ? YAJL_GET_INTEGER(e) : 0;

            if (status < 100 || status > 599) {
                keryu_policy_error(ctx, "\"status\" must hold integers from "
                                   "100 to 599");
                return -1;
            }

            st[i] = (uint16_t) status;
        }

        t->statuses = st;
        t->nstatuses = n;
    }

    path = keryu_policy_field(obj, "path");
    pattern = keryu_policy_field(obj, "pattern");

    if (path && pattern) {
        keryu_policy_error(ctx, "\"path\" and \"pattern\" exclude each other");
        return -1;
    }

    v = path ? path : pattern;

    if (v == NULL) {
        return 0;
    }

    s = YAJL_GET_STRING(v);

    if (s == NULL) {
        keryu_policy_error(ctx, "\"%s\" must be a string",
                           path ? "path" : "pattern");
        return -1;
    }

    memset(&r, 0, sizeof(keryu_policy_rule_t));

    if (keryu_policy_compile_path(ctx, &r, s, path ? KERYU_MATCH_PREFIX
                                                   : KERYU_MATCH_PATTERN)
        != 0)
    {
        return -1;
    }

    pt = keryu_policy_alloc(ctx->set, sizeof(keryu_policy_pattern_t));
    t->path = keryu_policy_strdup(ctx->set, s, strlen(s));

    if (pt == NULL || t->path == NULL) {
        keryu_policy_error(ctx, "out of memory");
        return -1;
    }

    t->path_len = strlen(s);

    pt->segs = r.segs;
    pt->nsegs = r.nsegs;
    pt->match = r.match;
    pt->below = r.below;

    t->pattern = pt;

    return 0;
}


/* "90s", "5m", "1h", "2d": a positive whole number of a unit */

static int
keryu_policy_duration(keryu_policy_ctx_t *ctx, yajl_val v, const char *field,
    uint64_t *ms)
{
    size_t       len, i;
    uint64_t     n, unit;
    const char  *s;

    s = YAJL_GET_STRING(v);
    len = s ? strlen(s) : 0;

    if (len < 2 || len > 12) {
        goto invalid;
    }

    switch (s[len - 1]) {
    case 's':
        unit = 1000;
        break;
    case 'm':
        unit = 60 * 1000;
        break;
    case 'h':
        unit = 3600 * 1000;
        break;
    case 'd':
        unit = 86400 * 1000;
        break;
    default:
        goto invalid;
    }

    n = 0;

    for (i = 0; i < len - 1; i++) {
        if (s[i] < '0' || s[i] > '9') {
            goto invalid;
        }

        n = n * 10 + (uint64_t) (s[i] - '0');
    }

    if (n == 0 || n > 366 * 86400) {
        goto invalid;
    }

    *ms = n * unit;

    return 0;

invalid:

    keryu_policy_error(ctx, "\"%s\" must be a time such as \"90s\", \"5m\", "
                       "\"1h\" or \"2d\"", field);

    return -1;
}


size_t
keryu_policy_set_thresholds(const keryu_policy_set_t *set,
    const keryu_threshold_t *const **rules)
{
    *rules = set->thresholds;

    return set->nthresholds;
}


int
keryu_threshold_match(const keryu_threshold_t *t, unsigned type,
    unsigned status, const char *uri, size_t len, const char **seg,
    size_t *seg_len)
{
    size_t       i;
    const char  *q;

    if (t->types && (type >= 32 || !(t->types & ((uint32_t) 1 << type)))) {
        return 0;
    }

    if (t->nstatuses) {
        for (i = 0; i < t->nstatuses; i++) {
            if (t->statuses[i] == status) {
                break;
            }
        }

        if (i == t->nstatuses) {
            return 0;
        }
    }

    *seg = NULL;
    *seg_len = 0;

    if (t->pattern == NULL) {
        return 1;
    }

    q = memchr(uri, '?', len);
    if (q) {
        len = (size_t) (q - uri);
    }

    return keryu_policy_pattern_match(t->pattern, uri, len,
                                      t->distinct == KERYU_DISTINCT_SEGMENT
                                      ? t->segment : (unsigned) -1,
                                      seg, seg_len);
}


/*
 * compares a request path with a prefix or a pattern as the access rules
 * do, and hands back segment number want
 */

static int
keryu_policy_pattern_match(const keryu_policy_pattern_t *pt,
    const char *path, size_t len, unsigned want, const char **seg,
    size_t *seg_len)
{
    size_t                     n, slen;
    const char                *p, *end, *last;
    const keryu_policy_seg_t  *s;

    if (len == 0 || path[0] != '/') {
        return 0;
    }

    last = path + len;
    p = path + 1;

    for (n = 0; ; n++) {
        end = memchr(p, '/', (size_t) (last - p));
        slen = end ? (size_t) (end - p) : (size_t) (last - p);

        if (n == pt->nsegs) {
            /* the request goes on below the rule's path */
            return pt->match == KERYU_MATCH_PREFIX;
        }

        s = &pt->segs[n];

        if (s->wild) {
            if (slen == 0) {
                return 0;
            }

            if (n == want) {
                *seg = p;
                *seg_len = slen;
            }

        } else if (s->text.len != slen || memcmp(s->text.data, p, slen) != 0)
        {
            return 0;
        }

        if (end == NULL) {
            break;
        }

        p = end + 1;
    }

    /* the request path ends at segment n */

    return n + 1 == pt->nsegs && !pt->below;
}


const char *
keryu_severity_name(int severity)
{
    if (severity < KERYU_SEVERITY_LOW || severity > KERYU_SEVERITY_CRITICAL) {
        return NULL;
    }

    return keryu_policy_severities[severity];
}


int
keryu_severity_parse(const char *name)
{
    int  i;

    for (i = KERYU_SEVERITY_LOW; i <= KERYU_SEVERITY_CRITICAL; i++) {
        if (strcmp(name, keryu_policy_severities[i]) == 0) {
            return i;
        }
    }

    return -1;
}


/* ---- validation rules ---- */


static int
keryu_policy_compile_check(keryu_policy_ctx_t *ctx, keryu_policy_t *p,
    keryu_policy_rule_t *r, yajl_val obj)
{
    int                  match, flag, checks;
    char               **names;
    size_t               i, *lens;
    yajl_val             v, args, segs;
    const char          *key, *s, *path;
    keryu_validation_t  *vr;

    if (keryu_policy_rule_id(ctx, p, r, obj, keryu_policy_fields_validation)
        != 0)
    {
        return -1;
    }

    vr = keryu_policy_alloc(ctx->set, sizeof(keryu_validation_t));
    if (vr == NULL) {
        goto nomem;
    }

    r->valid = vr;
    r->effect = KERYU_EFFECT_DENY;

    vr->policy = p->name;
    vr->id = r->id;
    vr->max_uri_length = KERYU_VALIDATION_NONE;
    vr->max_args = KERYU_VALIDATION_NONE;

    match = 0;
    checks = 0;
    path = NULL;
    args = NULL;
    segs = NULL;

    for (i = 0; i < obj->u.object.len; i++) {
        key = obj->u.object.keys[i];
        v = obj->u.object.values[i];
        s = YAJL_GET_STRING(v);

        if (strcmp(key, "methods") == 0) {
            if (keryu_policy_compile_strings(ctx, key, v, 1, &r->methods,
                                             &r->nmethods)
                != 0)
            {
                return -1;
            }

            checks++;

        } else if (strcmp(key, "path") == 0) {
            if (s == NULL) {
                keryu_policy_error(ctx, "\"path\" must be a string");
                return -1;
            }

            path = s;

        } else if (strcmp(key, "match") == 0) {
            if (keryu_policy_match(ctx, s, &match) != 0) {
                return -1;
            }

        } else if (strcmp(key, "max_uri_length") == 0) {
            if (keryu_policy_size(ctx, v, "", key, 1,
                                  KERYU_VALIDATION_URI_MAX,
                                  &vr->max_uri_length)
                != 0)
            {
                return -1;
            }

            checks++;

        } else if (strcmp(key, "max_args") == 0) {
            if (keryu_policy_size(ctx, v, "", key, 0, 100000, &vr->max_args)
                != 0)
            {
                return -1;
            }

            checks++;

        } else if (strcmp(key, "unknown_args") == 0) {
            if (s && strcmp(s, "deny") == 0) {
                vr->unknown_deny = 1;

            } else if (s == NULL || strcmp(s, "allow") != 0) {
                keryu_policy_error(ctx, "\"unknown_args\" must be \"allow\" "
                                   "or \"deny\"");
                return -1;
            }

            checks++;

        } else if (strcmp(key, "args") == 0) {
            args = v;
            checks++;

        } else if (strcmp(key, "segments") == 0) {
            segs = v;
            checks++;

        } else if (strcmp(key, "shadow") == 0) {
            if (keryu_policy_bool(ctx, v, key, &flag) != 0) {
                return -1;
            }

            r->shadow |= flag;
        }
    }

    if (path == NULL) {
        keryu_policy_error(ctx, "\"path\" is required");
        return -1;
    }

    if (checks == 0) {
        keryu_policy_error(ctx, "a check is required: \"methods\", "
                           "\"max_uri_length\", \"max_args\", \"args\", "
                           "\"segments\" or \"unknown_args\"");
        return -1;
    }

    if (keryu_policy_compile_path(ctx, r, path, match) != 0) {
        return -1;
    }

    if (args
        && keryu_policy_compile_specs(ctx, r, "args", args,
                                      (keryu_arg_spec_t **) &vr->args,
                                      &vr->nargs)
           != 0)
    {
        return -1;
    }

    if (segs
        && keryu_policy_compile_specs(ctx, r, "segments", segs,
                                      (keryu_arg_spec_t **) &vr->segments,
                                      &vr->nsegments)
           != 0)
    {
        return -1;
    }

    vr->shadow = r->shadow;

    if (r->nmethods) {
        names = keryu_policy_alloc(ctx->set, r->nmethods * sizeof(char *));
        lens = keryu_policy_alloc(ctx->set, r->nmethods * sizeof(size_t));

        if (names == NULL || lens == NULL) {
            goto nomem;
        }

        for (i = 0; i < r->nmethods; i++) {
            names[i] = (char *) r->methods[i].data;
            lens[i] = r->methods[i].len;
        }

        vr->methods = (const char *const *) names;
        vr->method_lens = lens;
        vr->nmethods = r->nmethods;
    }

    return 0;

nomem:

    keryu_policy_error(ctx, "out of memory");

    return -1;
}


/*
 * "args" or "segments": names to specs; a segment's name is a {name} of
 * the rule's path, and names are unique without case, as the module
 * matches them
 */

static int
keryu_policy_compile_specs(keryu_policy_ctx_t *ctx, keryu_policy_rule_t *r,
    const char *field, yajl_val v, keryu_arg_spec_t **out, size_t *n)
{
    int                segment;
    char               show[KERYU_POLICY_SHOW_MAX + 8];
    size_t             i, j, k, len, cnt;
    const char        *name;
    keryu_arg_spec_t  *specs;

    segment = (field[0] == 's');

    if (!YAJL_IS_OBJECT(v)) {
        keryu_policy_error(ctx, "\"%s\" must be an object of argument specs",
                           field);
        return -1;
    }

    cnt = v->u.object.len;

    if (cnt > KERYU_VALIDATION_ARGS_MAX) {
        keryu_policy_error(ctx, "\"%s\" has more than %d entries", field,
                           KERYU_VALIDATION_ARGS_MAX);
        return -1;
    }

    if (cnt == 0) {
        return 0;
    }

    specs = keryu_policy_alloc(ctx->set, cnt * sizeof(keryu_arg_spec_t));
    if (specs == NULL) {
        keryu_policy_error(ctx, "out of memory");
        return -1;
    }

    for (i = 0; i < cnt; i++) {
        name = v->u.object.keys[i];
        len = strlen(name);

        if (!segment && !keryu_arg_name_valid(name, len)) {
            keryu_policy_error(ctx, "args: \"%s\" is not 1 to %d of A-Z a-z "
                               "0-9 . _ - [ ] :",
                               keryu_policy_show(show, name),
                               KERYU_ARG_NAME_MAX);
            return -1;
        }

        for (j = 0; j < i; j++) {
            if (specs[j].name_len == len
                && strncasecmp(specs[j].name, name, len) == 0)
            {
                keryu_policy_error(ctx, "%s: \"%s\" is given twice", field,
                                   keryu_policy_show(show, name));
                return -1;
            }
        }

        if (segment) {
            for (k = 0; k < r->nsegs; k++) {
                if (r->segs[k].wild && r->segs[k].text.len == len + 2
                    && memcmp(r->segs[k].text.data + 1, name, len) == 0)
                {
                    break;
                }
            }

            if (k == r->nsegs) {
                keryu_policy_error(ctx, "segments: \"%s\" is not a {name} in "
                                   "the path", keryu_policy_show(show, name));
                return -1;
            }

            specs[i].segment = (unsigned) k;
        }

        if (keryu_policy_compile_spec(ctx, field, name, v->u.object.values[i],
                                      segment, &specs[i])
            != 0)
        {
            return -1;
        }
    }

    *out = specs;
    *n = cnt;

    return 0;
}


static int
keryu_policy_compile_spec(keryu_policy_ctx_t *ctx, const char *field,
    const char *name, yajl_val obj, int segment, keryu_arg_spec_t *a)
{
    int                type;
    char               what[KERYU_POLICY_SHOW_MAX + 32], err[128];
    char             **values;
    size_t             i, len, *lens;
    yajl_val           v;
    long long          n;
    const char        *s;
    keryu_pattern_t   *pt;

    snprintf(what, sizeof(what), "%s \"%s\": ", field, name);

    if (!YAJL_IS_OBJECT(obj)) {
        keryu_policy_error(ctx, "%smust be an object with \"type\"", what);
        return -1;
    }

    if (keryu_policy_fields(ctx, obj, what, keryu_policy_fields_spec) != 0) {
        return -1;
    }

    len = strlen(name);

    a->name = keryu_policy_strdup(ctx->set, name, len);
    if (a->name == NULL) {
        goto nomem;
    }

    a->name_len = len;
    a->maxlen = SIZE_MAX;

    v = keryu_policy_field(obj, "type");
    s = v ? YAJL_GET_STRING(v) : NULL;
    type = s ? keryu_arg_type_parse(s, strlen(s)) : -1;

    if (type == -1) {
        keryu_policy_error(ctx, "%s\"type\" must be \"string\", \"integer\", "
                           "\"uuid\", \"email\", \"enum\" or \"pattern\"",
                           what);
        return -1;
    }

    a->type = type;

    for (i = 0; i < obj->u.object.len; i++) {
        s = obj->u.object.keys[i];
        v = obj->u.object.values[i];

        if (strcmp(s, "min") == 0 || strcmp(s, "max") == 0) {
            if (type != KERYU_ARG_INTEGER) {
                keryu_policy_error(ctx, "%s\"%s\" needs \"type\": "
                                   "\"integer\"", what, s);
                return -1;
            }

            if (!YAJL_IS_INTEGER(v)) {
                keryu_policy_error(ctx, "%s\"%s\" must be an integer", what,
                                   s);
                return -1;
            }

            n = YAJL_GET_INTEGER(v);

            if (s[1] == 'i') {
                a->has_min = 1;
                a->min = n;

            } else {
                a->has_max = 1;
                a->max = n;
            }

        } else if (strcmp(s, "minLength") == 0
                   || strcmp(s, "maxLength") == 0)
        {
            if (type == KERYU_ARG_INTEGER) {
                keryu_policy_error(ctx, "%s\"%s\" does not apply to "
                                   "\"integer\"", what, s);
                return -1;
            }

            if (keryu_policy_size(ctx, v, what, s, 0,
                                  KERYU_VALIDATION_LEN_MAX,
                                  s[1] == 'i' ? &a->minlen : &a->maxlen)
                != 0)
            {
                return -1;
            }

        } else if (strcmp(s, "enum") == 0) {
            if (type != KERYU_ARG_ENUM) {
                keryu_policy_error(ctx, "%s\"enum\" needs \"type\": \"enum\"",
                                   what);
                return -1;
            }

            if (!YAJL_IS_ARRAY(v) || v->u.array.len == 0
                || v->u.array.len > KERYU_VALIDATION_VALUES_MAX)
            {
                keryu_policy_error(ctx, "%s\"enum\" must be an array of 1 to "
                                   "%d strings", what,
                                   KERYU_VALIDATION_VALUES_MAX);
                return -1;
            }

            a->nvalues = v->u.array.len;

            values = keryu_policy_alloc(ctx->set, a->nvalues * sizeof(char *));
            lens = keryu_policy_alloc(ctx->set, a->nvalues * sizeof(size_t));

            if (values == NULL || lens == NULL) {
                goto nomem;
            }

            for (len = 0; len < a->nvalues; len++) {
                s = YAJL_GET_STRING(v->u.array.values[len]);

                if (s == NULL) {
                    keryu_policy_error(ctx, "%s\"enum\" must be an array of 1 "
                                       "to %d strings", what,
                                       KERYU_VALIDATION_VALUES_MAX);
                    return -1;
                }

                lens[len] = strlen(s);
                values[len] = keryu_policy_strdup(ctx->set, s, lens[len]);
                if (values[len] == NULL) {
                    goto nomem;
                }
            }

            a->values = (const char *const *) values;
            a->value_lens = lens;

        } else if (strcmp(s, "pattern") == 0) {
            if (type == KERYU_ARG_INTEGER) {
                keryu_policy_error(ctx, "%s\"pattern\" does not apply to "
                                   "\"integer\"", what);
                return -1;
            }

            s = YAJL_GET_STRING(v);

            if (s == NULL) {
                keryu_policy_error(ctx, "%s\"pattern\" must be a string",
                                   what);
                return -1;
            }

            if (keryu_policy_grow(ctx->set, (void **) &ctx->set->patterns,
                                  &ctx->set->patterns_cap,
                                  ctx->set->npatterns,
                                  sizeof(keryu_pattern_t *))
                != 0)
            {
                goto nomem;
            }

            pt = keryu_pattern_compile(s, strlen(s), err, sizeof(err));
            if (pt == NULL) {
                keryu_policy_error(ctx, "%s\"pattern\" does not compile: %s",
                                   what, err);
                return -1;
            }

            ctx->set->patterns[ctx->set->npatterns++] = pt;
            a->pattern = pt;

        } else if (strcmp(s, "required") == 0) {
            if (segment) {
                keryu_policy_error(ctx, "%s\"required\" does not apply to a "
                                   "segment", what);
                return -1;
            }

            if (keryu_policy_bool(ctx, v, s, &a->required) != 0) {
                return -1;
            }
        }
    }

    if (type == KERYU_ARG_ENUM && a->nvalues == 0) {
        keryu_policy_error(ctx, "%s\"type\": \"enum\" needs \"enum\"", what);
        return -1;
    }

    if (type == KERYU_ARG_PATTERN && a->pattern == NULL) {
        keryu_policy_error(ctx, "%s\"type\": \"pattern\" needs \"pattern\"",
                           what);
        return -1;
    }

    if (a->has_min && a->has_max && a->min > a->max) {
        keryu_policy_error(ctx, "%s\"min\" is greater than \"max\"", what);
        return -1;
    }

    if (a->minlen > a->maxlen) {
        keryu_policy_error(ctx, "%s\"minLength\" is greater than "
                           "\"maxLength\"", what);
        return -1;
    }

    return 0;

nomem:

    keryu_policy_error(ctx, "out of memory");

    return -1;
}


/* an integer from min to max */

static int
keryu_policy_size(keryu_policy_ctx_t *ctx, yajl_val v, const char *what,
    const char *field, long long min, long long max, size_t *out)
{
    long long  n;

    n = YAJL_IS_INTEGER(v) ? YAJL_GET_INTEGER(v) : min - 1;

    if (n < min || n > max) {
        keryu_policy_error(ctx, "%s\"%s\" must be an integer from %lld to "
                           "%lld", what, field, min, max);
        return -1;
    }

    *out = (size_t) n;

    return 0;
}


static int
keryu_policy_compile_ip(keryu_policy_ctx_t *ctx, keryu_policy_t *p,
    yajl_val rules)
{
    yajl_val  v;

    if (!YAJL_IS_OBJECT(rules)) {
        keryu_policy_error(ctx, "\"rules\" must be an object with \"allow\" "
                           "and \"deny\" lists");
        return -1;
    }

    if (keryu_policy_fields(ctx, rules, "rules: ", keryu_policy_fields_ip)
        != 0)
    {
        return -1;
    }

    v = keryu_policy_field(rules, "allow");

    if (v) {
        if (keryu_policy_compile_ranges(ctx, "allow", v, &p->allow,
                                        &p->nallow)
            != 0)
        {
            return -1;
        }

        p->allow_given = v->u.array.len > 0;
        p->naddrs += v->u.array.len;
    }

    v = keryu_policy_field(rules, "deny");

    if (v) {
        if (keryu_policy_compile_ranges(ctx, "deny", v, &p->deny, &p->ndeny)
            != 0)
        {
            return -1;
        }

        p->naddrs += v->u.array.len;
    }

    return 0;
}


/* parses a list of addresses into sorted ranges, merging those that meet */

static int
keryu_policy_compile_ranges(keryu_policy_ctx_t *ctx, const char *field,
    yajl_val v, keryu_policy_range_t **out, size_t *n)
{
    char                   show[KERYU_POLICY_SHOW_MAX + 8];
    size_t                 i, k, cnt, m;
    uint8_t                next[16];
    const char            *s;
    keryu_policy_range_t  *r;

    if (!YAJL_IS_ARRAY(v)) {
        keryu_policy_error(ctx, "rules: \"%s\" must be an array of "
                           "addresses", field);
        return -1;
    }

    cnt = v->u.array.len;

    if (cnt > KERYU_POLICY_ADDRS_MAX) {
        keryu_policy_error(ctx, "rules: \"%s\" has more than %d entries",
                           field, KERYU_POLICY_ADDRS_MAX);
        return -1;
    }

    if (cnt == 0) {
        *n = 0;
        return 0;
    }

    r = keryu_policy_alloc(ctx->set, cnt * sizeof(keryu_policy_range_t));
    if (r == NULL) {
        keryu_policy_error(ctx, "out of memory");
        return -1;
    }

    for (i = 0; i < cnt; i++) {
        s = YAJL_GET_STRING(v->u.array.values[i]);

        if (s == NULL) {
            keryu_policy_error(ctx, "rules: \"%s\" must be an array of "
                               "addresses", field);
            return -1;
        }

        if (keryu_policy_addr_parse(s, &r[i]) != 0) {
            keryu_policy_error(ctx, "rules: \"%s\": invalid address \"%s\"",
                               field, keryu_policy_show(show, s));
            return -1;
        }
    }

    qsort(r, cnt, sizeof(keryu_policy_range_t), keryu_policy_range_cmp);

    /* merge a range into the one before when it starts at or below hi + 1 */

    m = 0;

    for (i = 1; i < cnt; i++) {
        memcpy(next, r[m].hi, 16);

        for (k = 16; k-- > 0; ) {
            if (++next[k] != 0) {
                break;
            }
        }

        if (memcmp(r[m].hi, next, 16) < 0 && memcmp(r[i].lo, next, 16) > 0)
        {
            r[++m] = r[i];
            continue;
        }

        if (memcmp(r[i].hi, r[m].hi, 16) > 0) {
            memcpy(r[m].hi, r[i].hi, 16);
        }
    }

    *out = r;
    *n = m + 1;

    return 0;
}


/*
 * "a.b.c.d", "a.b.c.d/n", "x::y", "x::y/n"; bits set past the prefix are
 * refused, since they usually mean a mistyped prefix
 */

static int
keryu_policy_addr_parse(const char *s, keryu_policy_range_t *r)
{
    int          v6;
    char         buf[INET6_ADDRSTRLEN + 8], *end;
    size_t       len, i;
    uint8_t      a[16], bits;
    unsigned     prefix, max;
    const char  *slash;

    slash = strchr(s, '/');
    len = slash ? (size_t) (slash - s) : strlen(s);

    if (len == 0 || len >= INET6_ADDRSTRLEN) {
        return -1;
    }

    memcpy(buf, s, len);
    buf[len] = '\0';

    v6 = strchr(buf, ':') != NULL;

    memset(a, 0, 16);

    if (v6) {
        if (inet_pton(AF_INET6, buf, a) != 1) {
            return -1;
        }

        max = 128;

    } else {
        if (inet_pton(AF_INET, buf, a + 12) != 1) {
            return -1;
        }

        a[10] = 0xff;
        a[11] = 0xff;
        max = 32;
    }

    prefix = max;

    if (slash) {
        if (slash[1] < '0' || slash[1] > '9' || strlen(slash + 1) > 3) {
            return -1;
        }

        prefix = (unsigned) strtoul(slash + 1, &end, 10);

        if (*end != '\0' || prefix > max) {
            return -1;
        }
    }

    if (!v6) {
        prefix += 96;
    }

    for (i = 0; i < 16; i++) {
        if (prefix >= 8 * (i + 1)) {
            bits = 0xff;

        } else if (prefix <= 8 * i) {
            bits = 0;

        } else {
            bits = (uint8_t) (0xff << (8 * (i + 1) - prefix));
        }

        if (a[i] & ~bits) {
            return -1;
        }

        r->lo[i] = a[i];
        r->hi[i] = (uint8_t) (a[i] | (uint8_t) ~bits);
    }

    return 0;
}


static int
keryu_policy_range_cmp(const void *a, const void *b)
{
    const keryu_policy_range_t  *ra = a, *rb = b;

    return memcmp(ra->lo, rb->lo, 16);
}


static int
keryu_policy_id_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *) a, *(const char *const *) b);
}


/* lower priority first, ties by name */

static int
keryu_policy_order_cmp(const void *a, const void *b)
{
    const keryu_policy_t  *pa, *pb;

    pa = *(keryu_policy_t *const *) a;
    pb = *(keryu_policy_t *const *) b;

    if (pa->priority != pb->priority) {
        return pa->priority < pb->priority ? -1 : 1;
    }

    return strcmp(pa->name, pb->name);
}


static int
keryu_policy_name_cmp(const void *a, const void *b)
{
    const keryu_policy_t  *pa, *pb;

    pa = *(keryu_policy_t *const *) a;
    pb = *(keryu_policy_t *const *) b;

    return strcmp(pa->name, pb->name);
}


/* ---- the set ---- */


keryu_policy_set_t *
keryu_policy_set_create(void)
{
    keryu_policy_set_t  *set;

    set = calloc(1, sizeof(keryu_policy_set_t));

    return set;
}


void
keryu_policy_set_free(keryu_policy_set_t *set)
{
    size_t                 i;
    keryu_policy_chunk_t  *c, *next;

    if (set == NULL) {
        return;
    }

    for (i = 0; i < set->npatterns; i++) {
        keryu_pattern_free(set->patterns[i]);
    }

    for (c = set->chunks; c; c = next) {
        next = c->next;
        free(c);
    }

    free(set);
}


int
keryu_policy_set_add(keryu_policy_set_t *set, const char *json, size_t len,
    char *err, size_t errlen)
{
    int                 rc;
    yajl_val            doc;
    keryu_policy_t     *p, *q;
    keryu_policy_ctx_t  ctx;

    if (set->finished) {
        snprintf(err, errlen, "the policy set is finished");
        return -1;
    }

    doc = keryu_policy_parse(json, len, err, errlen);
    if (doc == NULL) {
        return -1;
    }

    memset(&ctx, 0, sizeof(keryu_policy_ctx_t));
    ctx.set = set;
    ctx.err = err;
    ctx.errlen = errlen;

    p = NULL;

    rc = keryu_policy_compile(&ctx, doc, &p);

    yajl_tree_free(doc);

    if (rc != 0) {
        return -1;
    }

    for (q = set->head; q; q = q->next) {
        if (strcmp(q->name, p->name) == 0) {
            snprintf(err, errlen, "policy \"%s\" is given twice", p->name);
            return -1;
        }
    }

    if (set->tail) {
        set->tail->next = p;

    } else {
        set->head = p;
    }

    set->tail = p;
    set->npolicies++;

    return 0;
}


int
keryu_policy_set_finish(keryu_policy_set_t *set, char *err, size_t errlen)
{
    size_t            i, j, nacc, nthr;
    uint32_t          ordinal;
    keryu_policy_t   *p, **acc;

    if (set->finished) {
        return 0;
    }

    set->root = keryu_policy_alloc(set, sizeof(keryu_policy_node_t));
    set->vroot = keryu_policy_alloc(set, sizeof(keryu_policy_node_t));
    set->ip = keryu_policy_alloc(set, (set->npolicies + 1)
                                      * sizeof(keryu_policy_t *));
    acc = malloc((set->npolicies + 1) * sizeof(keryu_policy_t *));

    if (set->root == NULL || set->vroot == NULL || set->ip == NULL
        || acc == NULL)
    {
        free(acc);
        snprintf(err, errlen, "out of memory");
        return -1;
    }

    nacc = 0;
    nthr = 0;

    for (p = set->head; p; p = p->next) {
        if (!p->active) {
            continue;
        }

        if (p->type == KERYU_POLICY_IP) {
            set->ip[set->nip++] = p;
            set->nrules++;

        } else if (p->type == KERYU_POLICY_ACCESS) {
            acc[nacc++] = p;

        } else if (p->type == KERYU_POLICY_THRESHOLD) {
            nthr += p->nthresholds;
        }
    }

    qsort(set->ip, set->nip, sizeof(keryu_policy_t *),
          keryu_policy_order_cmp);
    qsort(acc, nacc, sizeof(keryu_policy_t *), keryu_policy_order_cmp);

    /* ordinals follow the order of evaluation, so lists stay sorted */

    ordinal = 0;

    for (i = 0; i < nacc; i++) {
        p = acc[i];

        for (j = 0; j < p->nrules; j++) {
            p->rules[j].ordinal = ordinal++;

            if (keryu_policy_index(set, set->root, &p->rules[j]) != 0) {
                free(acc);
                snprintf(err, errlen, "out of memory");
                return -1;
            }

            set->nrules++;
        }
    }

    /* validation rules, in the same order, on a trie of their own */

    nacc = 0;

    for (p = set->head; p; p = p->next) {
        if (p->active && p->type == KERYU_POLICY_VALIDATION) {
            acc[nacc++] = p;
        }
    }

    qsort(acc, nacc, sizeof(keryu_policy_t *), keryu_policy_order_cmp);

    ordinal = 0;

    for (i = 0; i < nacc; i++) {
        p = acc[i];

        for (j = 0; j < p->nrules; j++) {
            p->rules[j].valid->order = ordinal;
            p->rules[j].ordinal = ordinal++;

            if (keryu_policy_index(set, set->vroot, &p->rules[j]) != 0) {
                free(acc);
                snprintf(err, errlen, "out of memory");
                return -1;
            }
        }
    }

    /* threshold rules by policy name, then as written */

    if (nthr) {
        set->thresholds = keryu_policy_alloc(set, nthr
                                             * sizeof(keryu_threshold_t *));
        if (set->thresholds == NULL) {
            free(acc);
            snprintf(err, errlen, "out of memory");
            return -1;
        }

        nacc = 0;

        for (p = set->head; p; p = p->next) {
            if (p->active && p->type == KERYU_POLICY_THRESHOLD) {
                acc[nacc++] = p;
            }
        }

        qsort(acc, nacc, sizeof(keryu_policy_t *), keryu_policy_name_cmp);

        for (i = 0; i < nacc; i++) {
            for (j = 0; j < acc[i]->nthresholds; j++) {
                set->thresholds[set->nthresholds++] = &acc[i]->thresholds[j];
            }
        }
    }

    free(acc);

    set->finished = 1;

    return 0;
}


size_t
keryu_policy_set_rules(const keryu_policy_set_t *set)
{
    return set->nrules;
}


size_t
keryu_policy_set_policies(const keryu_policy_set_t *set)
{
    return set->npolicies;
}


/* literal children sort by length first: cheaper than bytes alone */

static int
keryu_policy_seg_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    if (alen != blen) {
        return alen < blen ? -1 : 1;
    }

    return memcmp(a, b, alen);
}


static int
keryu_policy_index(keryu_policy_set_t *set, keryu_policy_node_t *root,
    keryu_policy_rule_t *r)
{
    int                   c;
    size_t                i, lo, hi, mid;
    keryu_policy_seg_t   *seg;
    keryu_policy_node_t  *node, *child;
    keryu_policy_list_t  *list;

    node = root;

    for (i = 0; i < r->nsegs; i++) {
        seg = &r->segs[i];

        if (seg->wild) {
            if (node->wild == NULL) {
                node->wild = keryu_policy_alloc(set,
                                                sizeof(keryu_policy_node_t));
                if (node->wild == NULL) {
                    return -1;
                }
            }

            node = node->wild;
            continue;
        }

        lo = 0;
        hi = node->nchildren;
        c = 1;

        while (lo < hi) {
            mid = lo + (hi - lo) / 2;
            child = node->children[mid];

            c = keryu_policy_seg_cmp(seg->text.data, seg->text.len,
                                     child->seg.data, child->seg.len);
            if (c == 0) {
                break;
            }

            if (c < 0) {
                hi = mid;

            } else {
                lo = mid + 1;
            }
        }

        if (c == 0) {
            node = node->children[mid];
            continue;
        }

        child = keryu_policy_alloc(set, sizeof(keryu_policy_node_t));
        if (child == NULL) {
            return -1;
        }

        child->seg = seg->text;

        if (keryu_policy_grow(set, (void **) &node->children, &node->cap,
                              node->nchildren, sizeof(keryu_policy_node_t *))
            != 0)
        {
            return -1;
        }

        memmove(&node->children[lo + 1], &node->children[lo],
                (node->nchildren - lo) * sizeof(keryu_policy_node_t *));

        node->children[lo] = child;
        node->nchildren++;

        node = child;
    }

    if (r->match != KERYU_MATCH_PREFIX) {
        list = &node->exact;

    } else if (r->below) {
        list = &node->below;

    } else {
        list = &node->prefix;
    }

    return keryu_policy_list_add(set, list, r);
}


static int
keryu_policy_list_add(keryu_policy_set_t *set, keryu_policy_list_t *list,
    keryu_policy_rule_t *r)
{
    if (keryu_policy_grow(set, (void **) &list->elts, &list->cap, list->n,
                          sizeof(keryu_policy_rule_t *))
        != 0)
    {
        return -1;
    }

    list->elts[list->n++] = r;

    return 0;
}


/* ---- evaluation ---- */


static int
keryu_policy_ranges_have(const keryu_policy_range_t *ranges, size_t n,
    const uint8_t *a)
{
    size_t  lo, hi, mid;

    /* the last range starting at or below a */

    lo = 0;
    hi = n;

    while (lo < hi) {
        mid = lo + (hi - lo) / 2;

        if (memcmp(ranges[mid].lo, a, 16) <= 0) {
            lo = mid + 1;

        } else {
            hi = mid;
        }
    }

    return lo > 0 && memcmp(a, ranges[lo - 1].hi, 16) <= 0;
}


void
keryu_policy_eval(const keryu_policy_set_t *set,
    const keryu_policy_req_t *req, keryu_policy_decision_t *d)
{
    int                   known, deny;
    size_t                i;
    uint8_t               a[16];
    keryu_policy_t       *ip;
    keryu_policy_walk_t   w;

    memset(d, 0, sizeof(keryu_policy_decision_t));

    if (!set->finished) {
        return;
    }

    /* ip policies: IPv4 clients are looked up as ::ffff:a.b.c.d */

    known = 1;

    if (req->addr_family == 4 && req->addr) {
        memset(a, 0, 10);
        a[10] = 0xff;
        a[11] = 0xff;
        memcpy(a + 12, req->addr, 4);

    } else if (req->addr_family == 6 && req->addr) {
        memcpy(a, req->addr, 16);

    } else {
        known = 0;
    }

    for (i = 0; i < set->nip; i++) {
        ip = set->ip[i];

        d->visited++;

        /* XXX an unknown address fails every allow list, as a closed door */

        deny = (known && keryu_policy_ranges_have(ip->deny, ip->ndeny, a))
               || (ip->allow_given
                   && !(known
                        && keryu_policy_ranges_have(ip->allow, ip->nallow,
                                                    a)));
        if (!deny) {
            continue;
        }

        if (ip->shadow) {
            if (d->shadow_policy == NULL) {
                d->shadow_policy = ip->name;
                d->shadow_rule = "ip";
            }

            continue;
        }

        d->effect = KERYU_EFFECT_DENY;
        d->policy = ip->name;
        d->rule = "ip";

        return;
    }

    if (req->path_len == 0 || req->path[0] != '/') {
        return;
    }

    /* split the path once; segments past DEPTH_MAX are only counted */

    w.req = req;
    w.best = NULL;
    w.shadow = NULL;
    w.best_ord = UINT32_MAX;
    w.shadow_ord = UINT32_MAX;
    w.visited = 0;
    w.out = NULL;

    w.nsegs = keryu_policy_split_path(req->path, req->path_len, &w);

    keryu_policy_walk(set->root, 0, &w);

    d->visited += w.visited;

    if (w.shadow && w.shadow_ord < w.best_ord && d->shadow_policy == NULL) {
        d->shadow_policy = w.shadow->policy->name;
        d->shadow_rule = w.shadow->id;
    }

    if (w.best) {
        d->effect = w.best->effect;
        d->policy = w.best->policy->name;
        d->rule = w.best->id;
    }
}


/*
 * splits a path once, after its leading "/"; segments past DEPTH_MAX are
 * only counted
 */

static size_t
keryu_policy_split_path(const char *path, size_t len, keryu_policy_walk_t *w)
{
    size_t       n;
    const char  *p, *end, *seg;

    n = 0;
    p = path + 1;
    end = path + len;

    for ( ;; ) {
        seg = p;

        while (p < end && *p != '/') {
            p++;
        }

        if (n < KERYU_POLICY_DEPTH_MAX) {
            w->segs[n].data = seg;
            w->segs[n].len = (size_t) (p - seg);
        }

        n++;

        if (p == end || n > KERYU_POLICY_DEPTH_MAX) {
            break;
        }

        p++;
    }

    return n;
}


size_t
keryu_policy_validations(const keryu_policy_set_t *set, const char *path,
    size_t len, const keryu_validation_t **rules, size_t max)
{
    size_t                     i, j, n;
    keryu_policy_walk_t        w;
    const keryu_validation_t  *v;

    if (!set->finished || len == 0 || path[0] != '/') {
        return 0;
    }

    memset(&w, 0, sizeof(keryu_policy_walk_t));

    w.best_ord = UINT32_MAX;
    w.shadow_ord = UINT32_MAX;
    w.out = rules;
    w.max = max;

    w.nsegs = keryu_policy_split_path(path, len, &w);

    keryu_policy_walk(set->vroot, 0, &w);

    /* the walk goes by depth; the caller wants the order of evaluation */

    n = w.nout < max ? w.nout : max;

    for (i = 1; i < n; i++) {
        v = rules[i];

        for (j = i; j > 0 && rules[j - 1]->order > v->order; j--) {
            rules[j] = rules[j - 1];
        }

        rules[j] = v;
    }

    return w.nout;
}


int
keryu_policy_segment(const char *path, size_t len, unsigned n,
    const char **seg, size_t *seg_len)
{
    unsigned     i;
    const char  *p, *end, *s;

    if (len == 0 || path[0] != '/') {
        return 0;
    }

    p = path + 1;
    end = path + len;

    for (i = 0; /* void */ ; i++) {
        s = p;

        while (p < end && *p != '/') {
            p++;
        }

        if (i == n) {
            *seg = s;
            *seg_len = (size_t) (p - s);
            return 1;
        }

        if (p == end) {
            return 0;
        }

        p++;
    }
}


/*
 * visits the node reached by depth segments, then the literal child and
 * the {name} child of the next segment; the recursion is at most
 * KERYU_POLICY_DEPTH_MAX deep, the depth of the trie
 */

static void
keryu_policy_walk(const keryu_policy_node_t *node, size_t depth,
    keryu_policy_walk_t *w)
{
    int                         c;
    size_t                      lo, hi, mid;
    const keryu_policy_str_t   *seg;
    const keryu_policy_node_t  *child;

    keryu_policy_walk_list(&node->prefix, w);

    if (depth == w->nsegs) {
        keryu_policy_walk_list(&node->exact, w);
        return;
    }

    keryu_policy_walk_list(&node->below, w);

    if (depth == KERYU_POLICY_DEPTH_MAX) {
        return;
    }

    seg = &w->segs[depth];

    lo = 0;
    hi = node->nchildren;

    while (lo < hi) {
        mid = lo + (hi - lo) / 2;
        child = node->children[mid];

        c = keryu_policy_seg_cmp(seg->data, seg->len, child->seg.data,
                                 child->seg.len);
        if (c == 0) {
            keryu_policy_walk(child, depth + 1, w);
            break;
        }

        if (c < 0) {
            hi = mid;

        } else {
            lo = mid + 1;
        }
    }

    if (node->wild && seg->len > 0) {
        keryu_policy_walk(node->wild, depth + 1, w);
    }
}


/*
 * reads a list up to the best ordinal found so far: a decision there
 * lowers it, a shadow denial below it is kept for the report
 */

static void
keryu_policy_walk_list(const keryu_policy_list_t *list,
    keryu_policy_walk_t *w)
{
    size_t                      i;
    const keryu_policy_rule_t  *r;

    if (w->out) {
        for (i = 0; i < list->n; i++) {
            if (w->nout < w->max) {
                w->out[w->nout] = list->elts[i]->valid;
            }

            w->nout++;
        }

        w->visited += list->n;

        return;
    }

    for (i = 0; i < list->n; i++) {
        r = list->elts[i];

        if (r->ordinal >= w->best_ord) {
            return;
        }

        w->visited++;

        if (!keryu_policy_rule_holds(r, w)) {
            continue;
        }

        if (r->shadow) {
            if (r->effect == KERYU_EFFECT_DENY && r->ordinal < w->shadow_ord) {
                w->shadow = r;
                w->shadow_ord = r->ordinal;
            }

            continue;
        }

        w->best = r;
        w->best_ord = r->ordinal;

        return;
    }
}


static int
keryu_policy_rule_holds(const keryu_policy_rule_t *r, keryu_policy_walk_t *w)
{
    size_t                      i;
    unsigned char               c;
    const keryu_policy_req_t   *req;
    const keryu_policy_str_t   *seg;

    req = w->req;

    if (r->nmethods) {
        for (i = 0; i < r->nmethods; i++) {
            if (r->methods[i].len == req->method_len
                && memcmp(r->methods[i].data, req->method, req->method_len)
                   == 0)
            {
                break;
            }
        }

        if (i == r->nmethods) {
            return 0;
        }
    }

    if (r->host.len) {
        if (r->host.len != req->host_len) {
            return 0;
        }

        for (i = 0; i < req->host_len; i++) {
            c = (unsigned char) req->host[i];

            if (c >= 'A' && c <= 'Z') {
                c |= 0x20;
            }

            if (c != (unsigned char) r->host.data[i]) {
                return 0;
            }
        }
    }

    if (r->anyone) {
        return 1;
    }

    /* every other condition needs an authenticated caller */

    if (!req->authenticated) {
        return 0;
    }

    if (r->nusers) {
        for (i = 0; i < r->nusers; i++) {
            if (r->users[i].len == req->user_len
                && memcmp(r->users[i].data, req->user, req->user_len) == 0)
            {
                break;
            }
        }

        if (i == r->nusers) {
            return 0;
        }
    }

    if (r->nroles && !keryu_policy_roles_match(r, req)) {
        return 0;
    }

    if (r->owner_seg >= 0) {
        seg = &w->segs[r->owner_seg];

        if (req->claim_has == NULL
            || !req->claim_has(req->claim_ctx, r->owner_claim.data,
                               r->owner_claim.len, seg->data, seg->len))
        {
            return 0;
        }
    }

    return 1;
}


/* does the caller hold any of the rule's roles */

static int
keryu_policy_roles_match(const keryu_policy_rule_t *r,
    const keryu_policy_req_t *req)
{
    size_t  i, j;

    for (i = 0; i < r->nroles; i++) {
        for (j = 0; j < req->nroles; j++) {
            if (r->roles[i].len == req->role_lens[j]
                && memcmp(r->roles[i].data, req->roles[j], req->role_lens[j])
                   == 0)
            {
                return 1;
            }
        }
    }

    return 0;
}


/* ---- keryud's documents ---- */


int
keryu_policy_validate(const char *json, size_t len, char *name,
    size_t namelen, char *err, size_t errlen)
{
    keryu_policy_info_t  info;

    if (keryu_policy_inspect(json, len, &info, err, errlen) != 0) {
        return -1;
    }

    snprintf(name, namelen, "%s", info.name);

    return 0;
}


int
keryu_policy_inspect(const char *json, size_t len, keryu_policy_info_t *info,
    char *err, size_t errlen)
{
    keryu_policy_t      *p;
    keryu_policy_set_t  *set;

    memset(info, 0, sizeof(keryu_policy_info_t));

    set = keryu_policy_set_create();
    if (set == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }

    if (keryu_policy_set_add(set, json, len, err, errlen) != 0) {
        keryu_policy_set_free(set);
        return -1;
    }

    p = set->head;

    snprintf(info->name, sizeof(info->name), "%s", p->name);
    info->type = p->type;
    info->active = p->active;
    info->shadow = p->shadow;
    info->priority = p->priority;
    info->rules = p->type == KERYU_POLICY_IP ? p->naddrs
                  : p->type == KERYU_POLICY_THRESHOLD ? p->nthresholds
                  : p->nrules;

    snprintf(info->created_at, sizeof(info->created_at), "%s",
             p->created_at ? p->created_at : "");
    snprintf(info->updated_at, sizeof(info->updated_at), "%s",
             p->updated_at ? p->updated_at : "");

    keryu_policy_set_free(set);

    return 0;
}


int
keryu_policy_split(const char *json, size_t len,
    int (*handler)(void *ctx, size_t index, const char *doc, size_t doclen),
    void *ctx, char *err, size_t errlen)
{
    int        rc;
    char      *out;
    size_t     i, n, outlen;
    yajl_val   doc, v;

    doc = keryu_policy_parse(json, len, err, errlen);
    if (doc == NULL) {
        return -1;
    }

    if (YAJL_IS_OBJECT(doc)) {
        n = 1;

    } else if (YAJL_IS_ARRAY(doc)) {
        n = doc->u.array.len;

    } else {
        snprintf(err, errlen, "expecting a policy or an array of policies");
        yajl_tree_free(doc);
        return -1;
    }

    rc = 0;

    for (i = 0; i < n; i++) {
        v = YAJL_IS_OBJECT(doc) ? doc : doc->u.array.values[i];

        if (keryu_policy_gen_doc(v, NULL, NULL, &out, &outlen) != 0) {
            snprintf(err, errlen, "out of memory");
            rc = -1;
            break;
        }

        rc = handler(ctx, i, out, outlen);

        free(out);

        if (rc != 0) {
            break;
        }
    }

    yajl_tree_free(doc);

    return rc;
}


int
keryu_policy_stamp(const char *json, size_t len, const char *created_at,
    const char *updated_at, char **out, size_t *outlen, char *err,
    size_t errlen)
{
    int       rc;
    yajl_val  doc;

    doc = keryu_policy_parse(json, len, err, errlen);
    if (doc == NULL) {
        return -1;
    }

    if (!YAJL_IS_OBJECT(doc)) {
        snprintf(err, errlen, "a policy must be a JSON object");
        yajl_tree_free(doc);
        return -1;
    }

    rc = keryu_policy_gen_doc(doc, created_at, updated_at, out, outlen);

    yajl_tree_free(doc);

    if (rc != 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }

    return 0;
}


/*
 * writes v as compact JSON into a malloc()ed string; with created_at set,
 * v is an object whose times are replaced by the two given
 */

static int
keryu_policy_gen_doc(yajl_val v, const char *created_at,
    const char *updated_at, char **out, size_t *outlen)
{
    int                   rc;
    size_t                i, len;
    yajl_gen              g;
    const char           *key;
    const unsigned char  *buf;

    g = yajl_gen_alloc(NULL);
    if (g == NULL) {
        return -1;
    }

    if (!yajl_gen_config(g, yajl_gen_beautify, 0)
        || !yajl_gen_config(g, yajl_gen_validate_utf8, 1))
    {
        yajl_gen_free(g);
        return -1;
    }

    if (created_at == NULL) {
        rc = keryu_policy_gen(g, v, 0);

    } else {
        rc = yajl_gen_map_open(g) != yajl_gen_status_ok;

        for (i = 0; rc == 0 && i < v->u.object.len; i++) {
            key = v->u.object.keys[i];

            if (strcmp(key, "created_at") == 0
                || strcmp(key, "updated_at") == 0)
            {
                continue;
            }

            rc = yajl_gen_string(g, (const unsigned char *) key, strlen(key))
                     != yajl_gen_status_ok
                 || keryu_policy_gen(g, v->u.object.values[i], 1) != 0;
        }

        rc = rc
             || yajl_gen_string(g, (const unsigned char *) "created_at", 10)
                    != yajl_gen_status_ok
             || yajl_gen_string(g, (const unsigned char *) created_at,
                                strlen(created_at)) != yajl_gen_status_ok
             || yajl_gen_string(g, (const unsigned char *) "updated_at", 10)
                    != yajl_gen_status_ok
             || yajl_gen_string(g, (const unsigned char *) updated_at,
                                strlen(updated_at)) != yajl_gen_status_ok
             || yajl_gen_map_close(g) != yajl_gen_status_ok;
    }

    if (rc != 0 || yajl_gen_get_buf(g, &buf, &len) != yajl_gen_status_ok) {
        yajl_gen_free(g);
        return -1;
    }

    *out = malloc(len + 1);
    if (*out == NULL) {
        yajl_gen_free(g);
        return -1;
    }

    memcpy(*out, buf, len);
    (*out)[len] = '\0';
    *outlen = len;

    yajl_gen_free(g);

    return 0;
}


/* numbers keep the text they were written with */

static int
keryu_policy_gen(yajl_gen g, yajl_val v, int depth)
{
    size_t       i;
    const char  *s;

    if (depth > KERYU_POLICY_NEST_MAX) {
        return -1;
    }

    switch (v->type) {

    case yajl_t_string:
        s = v->u.string;
        return yajl_gen_string(g, (const unsigned char *) s, strlen(s))
               != yajl_gen_status_ok;

    case yajl_t_number:
        s = v->u.number.r;
        return yajl_gen_number(g, s, strlen(s)) != yajl_gen_status_ok;

    case yajl_t_object:
        if (yajl_gen_map_open(g) != yajl_gen_status_ok) {
            return -1;
        }

        for (i = 0; i < v->u.object.len; i++) {
            s = v->u.object.keys[i];

            if (yajl_gen_string(g, (const unsigned char *) s, strlen(s))
                != yajl_gen_status_ok
                || keryu_policy_gen(g, v->u.object.values[i], depth + 1) != 0)
            {
                return -1;
            }
        }

        return yajl_gen_map_close(g) != yajl_gen_status_ok;

    case yajl_t_array:
        if (yajl_gen_array_open(g) != yajl_gen_status_ok) {
            return -1;
        }

        for (i = 0; i < v->u.array.len; i++) {
            if (keryu_policy_gen(g, v->u.array.values[i], depth + 1) != 0) {
                return -1;
            }
        }

        return yajl_gen_array_close(g) != yajl_gen_status_ok;

    case yajl_t_true:
        return yajl_gen_bool(g, 1) != yajl_gen_status_ok;

    case yajl_t_false:
        return yajl_gen_bool(g, 0) != yajl_gen_status_ok;

    case yajl_t_null:
        return yajl_gen_null(g) != yajl_gen_status_ok;

    default:
        return -1;
    }
}
