
/*
 * Copyright (C) Keryu Security
 *
 * The policy compiler.  The nginx module compiles every stored policy
 * into one set and evaluates each request against it; keryud compiles
 * the same documents with the same code to refuse what the module would
 * refuse.  Nothing here logs or knows nginx: functions return 0 or -1 and
 * write a reason into err.
 *
 * A policy is a JSON object:
 *
 *   name         required, 1 to 64 of A-Z a-z 0-9 . _ -
 *   description  string, optional
 *   policy_type  required, "access", "ip", "threshold" or "validation"
 *   is_active    boolean, default true; inactive ones are checked but
 *                not enforced
 *   shadow       boolean, default false: no rule of the policy decides,
 *                a rule that would deny is reported as the shadow hit
 *   priority     integer 0 to 1000, default 100; lower runs first, ties
 *                go by name
 *   created_at, updated_at  set by keryud, ignored here
 *   rules        "access": an array of rules, tried in order
 *                "ip": {"allow": [...], "deny": [...]}, addresses or
 *                CIDR prefixes, IPv4 or IPv6
 *                "threshold": an array of threshold rules
 *                "validation": an array of validation rules
 *
 * An access rule:
 *
 *   id           required, unique in its policy, as a name
 *   methods      uppercase tokens, default any
 *   host         compared without case to the request's host (no port)
 *   path         required, a decoded path starting with "/"
 *   match        "exact", "prefix" or "pattern"; default "pattern" when
 *                the path has {name} segments, else "exact"
 *   effect       required, "allow" or "deny"
 *   roles, users, owner, authenticated, anyone
 *                conditions, at least one; all that are given must hold
 *   shadow       boolean, default false
 *
 * A threshold rule, which the module checks but never enforces; keryud
 * counts the events it names and answers when there are too many:
 *
 *   id           required, unique in its policy, as a name
 *   types        event type names, default any
 *   status       HTTP statuses, default any
 *   path         a prefix of the request path, on a segment boundary as
 *                for access rules, default any
 *   pattern      a path with {name} segments that the request path must
 *                match, segment by segment; exclusive with path
 *   group_by     required, "ip", "user" or "ip+user": what is counted
 *                against; events without it are not counted
 *   count        required, 1 to 1000
 *   distinct     count distinct values of "user", "ip", "path", or of a
 *                {name} segment of pattern, instead of events
 *   window       required, a time such as "90s", "5m" or "1h", at most
 *                "24h"; the count is over the last window, sliding
 *   severity     "low", "medium" (default), "high" or "critical"
 *   action       "alert" (default) or "block"
 *   block        what "block" blocks: "ip" or "user"; default the
 *                address for "ip" and "ip+user", the user for "user"
 *   duration     required with "block", the first block's length
 *   max_duration default "24h": each repeat doubles the block up to it
 *
 * A shadow threshold policy alerts where it would have blocked.
 *
 * A validation rule, which the module checks where "keryu_validate" is on
 * (keryu_validate.h has the checks themselves):
 *
 *   id           required, unique in its policy, as a name
 *   path, match  as for access rules: the paths the rule covers
 *   methods      uppercase tokens: the only methods allowed (405 else)
 *   max_uri_length  integer 1 to 1048576: bytes of the request target,
 *                path and query, as sent
 *   max_args     integer 0 to 100000: arguments in the query and a form
 *                body together
 *   args         an object: argument name (1 to 64 of A-Z a-z 0-9 . _ -
 *                [ ] :, matched without case) to an argument spec; at
 *                most 64
 *   segments     an object: a {name} of a pattern path to an argument
 *                spec, without "required"
 *   unknown_args "allow" (default) or "deny": refuse arguments that
 *                "args" does not name
 *   shadow       boolean, default false: report, refuse nothing
 *   at least one of methods, max_uri_length, max_args, args, segments
 *   and unknown_args is required.
 *
 * An argument spec:
 *
 *   type         required: "string", "integer", "uuid", "email", "enum"
 *                or "pattern"
 *   min, max     integers, for "integer"
 *   minLength, maxLength  integers 0 to 1000000, in characters; not for
 *                "integer"
 *   enum         the values allowed, 1 to 256 strings; "enum" needs it
 *                and no other type takes it
 *   pattern      a PCRE2 regular expression the whole value must match;
 *                "pattern" needs it, any other type but "integer" may
 *                add it
 *   required     boolean, default false: the argument must be given
 *
 * Every active validation rule whose path covers a request applies to
 * it, and each must pass; keryu_policy_validations() lists them.
 *
 * Paths are compared segment by segment, the segments being what lies
 * between slashes.  "exact": the request path is the rule's path.
 * "prefix": a rule path ending in "/" covers the paths that start with
 * it ("/admin/" covers "/admin/" and "/admin/x", not "/admin"); any other
 * covers itself and what lies below it on a segment boundary ("/admin"
 * covers "/admin" and "/admin/x", not "/administrator").  "pattern": a
 * {name} segment matches one non-empty segment, and an owner condition
 * compares that segment to a claim of the caller.  Trailing slashes count:
 * "/api/me" does not match "/api/me/".
 *
 * Evaluation: active ip policies first, by priority then name; an address
 * on a deny list, or missing from a non-empty allow list, denies (deny
 * wins within a policy).  Then the rules of active access policies, by
 * priority, name and rule order: the first whose method, host, path and
 * conditions all hold decides.  Shadow rules never decide; the first that
 * would have denied is reported.  When no rule decides, the effect is
 * KERYU_EFFECT_NONE and the caller applies its default.
 */


#ifndef _KERYU_POLICY_H_INCLUDED_
#define _KERYU_POLICY_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>

#include "keryu_validate.h"


#define KERYU_POLICY_NAME_MAX     64
#define KERYU_POLICY_DOC_MAX      (4 * 1024 * 1024)
#define KERYU_POLICY_RULES_MAX    10000
#define KERYU_POLICY_ADDRS_MAX    100000
#define KERYU_POLICY_PATH_MAX     2048
#define KERYU_POLICY_DEPTH_MAX    32        /* segments in a rule's path */
#define KERYU_POLICY_ERR_MAX      256       /* enough for any reason */
#define KERYU_POLICY_TIME_MAX     64
#define KERYU_THRESHOLD_COUNT_MAX 1000
#define KERYU_THRESHOLD_WINDOW_MAX  (24 * 3600 * 1000)  /* milliseconds */
#define KERYU_VALIDATION_ARGS_MAX   64      /* args, and segments, a rule */
#define KERYU_VALIDATION_VALUES_MAX 256     /* an enum's values */
#define KERYU_VALIDATION_URI_MAX    (1024 * 1024)
#define KERYU_VALIDATION_LEN_MAX    1000000
#define KERYU_VALIDATION_NONE       SIZE_MAX  /* no max_uri_length, ... */


typedef struct keryu_policy_set_s  keryu_policy_set_t;


typedef enum {
    KERYU_EFFECT_NONE = 0,
    KERYU_EFFECT_ALLOW,
    KERYU_EFFECT_DENY
} keryu_effect_e;


typedef enum {
    KERYU_POLICY_ACCESS = 1,
    KERYU_POLICY_IP,
    KERYU_POLICY_THRESHOLD,
    KERYU_POLICY_VALIDATION
} keryu_policy_type_e;


typedef enum {
    KERYU_GROUP_IP = 1,
    KERYU_GROUP_USER,
    KERYU_GROUP_IP_USER
} keryu_group_e;


typedef enum {
    KERYU_DISTINCT_NONE = 0,
    KERYU_DISTINCT_USER,
    KERYU_DISTINCT_IP,
    KERYU_DISTINCT_PATH,
    KERYU_DISTINCT_SEGMENT
} keryu_distinct_e;


typedef enum {
    KERYU_SEVERITY_LOW = 1,
    KERYU_SEVERITY_MEDIUM,
    KERYU_SEVERITY_HIGH,
    KERYU_SEVERITY_CRITICAL
} keryu_severity_e;


typedef struct keryu_policy_pattern_s  keryu_policy_pattern_t;


/** a compiled threshold rule; it lives as long as its set */
typedef struct {
    const char               *policy;
    const char               *id;
    uint32_t                  types;        /**< 1 << type each; 0: any */
    const uint16_t           *statuses;
    size_t                    nstatuses;    /**< 0: any */
    const char               *path;         /**< prefix, or NULL */
    size_t                    path_len;
    const keryu_policy_pattern_t  *pattern; /**< or NULL */
    keryu_group_e             group;
    keryu_distinct_e          distinct;
    unsigned                  segment;      /**< of pattern, for SEGMENT */
    unsigned                  count;
    uint64_t                  window_ms;
    keryu_severity_e          severity;
    int                       block;        /**< 0, KERYU_GROUP_IP or _USER */
    int                       shadow;       /**< alert, never block */
    uint64_t                  duration_ms;
    uint64_t                  max_duration_ms;
} keryu_threshold_t;


/** a compiled validation rule; it lives as long as its set */
typedef struct {
    const char               *policy;
    const char               *id;
    unsigned                  order;        /**< place in evaluation */
    int                       shadow;       /**< its own or its policy's */
    const char *const        *methods;
    const size_t             *method_lens;
    size_t                    nmethods;     /**< 0: any */
    size_t                    max_uri_length;  /**< or VALIDATION_NONE */
    size_t                    max_args;     /**< or VALIDATION_NONE */
    int                       unknown_deny;
    const keryu_arg_spec_t   *args;
    size_t                    nargs;
    const keryu_arg_spec_t   *segments;     /**< spec->segment: where */
    size_t                    nsegments;
} keryu_validation_t;


/**
 * One request as the evaluator sees it.  Strings need not be terminated.
 * path is the decoded, normalised path without arguments.  roles, user and
 * claims count only when authenticated is set.  claim_has returns non-zero
 * when the caller's claim named claim holds value (or is it, for a scalar
 * claim); a NULL claim_has fails every owner condition.
 */
typedef struct {
    const char               *method;
    size_t                    method_len;
    const char               *host;
    size_t                    host_len;
    const char               *path;
    size_t                    path_len;
    int                       addr_family;  /**< 4, 6, or 0: unknown */
    const uint8_t            *addr;         /**< network order */
    int                       authenticated;
    const char               *user;
    size_t                    user_len;
    const char *const        *roles;
    const size_t             *role_lens;
    size_t                    nroles;
    int                     (*claim_has)(void *ctx, const char *claim,
                                  size_t claim_len, const char *value,
                                  size_t value_len);
    void                     *claim_ctx;
} keryu_policy_req_t;


/**
 * What keryu_policy_eval() decided.  The names belong to the set and live
 * as long as it does.
 */
typedef struct {
    keryu_effect_e            effect;
    const char               *policy;       /**< what decided, or NULL */
    const char               *rule;         /**< rule id, "ip" for ip */
    const char               *shadow_policy;  /**< first shadow denial */
    const char               *shadow_rule;
    size_t                    visited;      /**< rules examined */
} keryu_policy_decision_t;


/** what keryud shows of a stored policy */
typedef struct {
    char                      name[KERYU_POLICY_NAME_MAX + 1];
    keryu_policy_type_e       type;
    int                       active;
    int                       shadow;
    int                       priority;
    size_t                    rules;        /**< access rules, ip entries */
    char                      created_at[KERYU_POLICY_TIME_MAX + 1];
    char                      updated_at[KERYU_POLICY_TIME_MAX + 1];
} keryu_policy_info_t;


/** returns NULL when out of memory */
keryu_policy_set_t *keryu_policy_set_create(void);

/**
 * The threshold rules of the active threshold policies of a finished set,
 * by policy name and rule order.  Returns how many there are.
 */
size_t keryu_policy_set_thresholds(const keryu_policy_set_t *set,
    const keryu_threshold_t *const **rules);

/**
 * The rules of the active validation policies that cover path (decoded,
 * normalised, without arguments), by priority, policy name and rule
 * order.  Up to max of them go into rules; returns how many there are,
 * so that a caller with too small an array can ask again.  It allocates
 * nothing, as keryu_policy_eval() does not.
 */
size_t keryu_policy_validations(const keryu_policy_set_t *set,
    const char *path, size_t len, const keryu_validation_t **rules,
    size_t max);

/**
 * Segment n, from 0, of path: what lies between its slashes.  Returns 1
 * with it in *seg and *seg_len, or 0 when the path has fewer segments.
 */
int keryu_policy_segment(const char *path, size_t len, unsigned n,
    const char **seg, size_t *seg_len);

/**
 * Returns 1 when an event of type and status for uri (the request line's
 * URI: the path, then perhaps "?" and arguments) is one that t counts,
 * else 0.  For a pattern, *seg and *seg_len get the segment that t counts
 * distinct values of, if any.
 */
int keryu_threshold_match(const keryu_threshold_t *t, unsigned type,
    unsigned status, const char *uri, size_t len, const char **seg,
    size_t *seg_len);

/** "low", "medium", "high", "critical", or NULL */
const char *keryu_severity_name(int severity);

/** the severity called name, or -1 */
int keryu_severity_parse(const char *name);

/**
 * Compiles one document into set.  A name already in the set is refused.
 * Returns 0, or -1 with the reason in err; a failed document leaves the
 * set as it was, apart from memory freed with the set.
 */
int keryu_policy_set_add(keryu_policy_set_t *set, const char *json,
    size_t len, char *err, size_t errlen);

/**
 * Orders the policies and builds the indexes.  After it, only eval and
 * the counters may be called.  Returns 0, or -1 when out of memory.
 */
int keryu_policy_set_finish(keryu_policy_set_t *set, char *err,
    size_t errlen);

/** NULL is accepted */
void keryu_policy_set_free(keryu_policy_set_t *set);

/** access rules of active policies, plus one per active ip policy */
size_t keryu_policy_set_rules(const keryu_policy_set_t *set);

/** policies added, active or not */
size_t keryu_policy_set_policies(const keryu_policy_set_t *set);

/**
 * Evaluates one request against a finished set.  It allocates nothing and
 * only reads the set, so one set may serve many evaluations at once.
 */
void keryu_policy_eval(const keryu_policy_set_t *set,
    const keryu_policy_req_t *req, keryu_policy_decision_t *d);

/**
 * Checks one document and returns its name in name (namelen bytes, at
 * least KERYU_POLICY_NAME_MAX + 1).  Returns 0 or -1 with err.
 */
int keryu_policy_validate(const char *json, size_t len, char *name,
    size_t namelen, char *err, size_t errlen);

/** checks one document, as validate does, and describes it in info */
int keryu_policy_inspect(const char *json, size_t len,
    keryu_policy_info_t *info, char *err, size_t errlen);

/**
 * keryud's file reader: json holds one document or an array of them.
 * handler is called for each in turn with the document written again as
 * compact JSON (not yet validated); a non-zero return from it stops the
 * walk and is returned.  Returns 0, the handler's code, or -1 with err
 * for text that is not such JSON.
 */
int keryu_policy_split(const char *json, size_t len,
    int (*handler)(void *ctx, size_t index, const char *doc, size_t doclen),
    void *ctx, char *err, size_t errlen);

/**
 * Writes the object in json again with "created_at" and "updated_at" set
 * to the strings given, replacing any already there.  *out is malloc()ed
 * and NUL-terminated; the caller frees it.  Returns 0 or -1 with err.
 */
int keryu_policy_stamp(const char *json, size_t len, const char *created_at,
    const char *updated_at, char **out, size_t *outlen, char *err,
    size_t errlen);


#endif /* _KERYU_POLICY_H_INCLUDED_ */
