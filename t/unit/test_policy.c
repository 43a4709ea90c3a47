
/*
 * Copyright (C) Keryu Security
 *
 * Unit tests for the policy compiler: every refusal and its message, each
 * kind of path match, methods and hosts, each condition, the order of
 * evaluation, shadow rules and policies, ip lists, and the index, whose
 * work per request must not grow with the number of rules.  Documents are
 * written with single quotes, which test_json() turns into double ones.
 */


#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include "keryu_policy.h"
#include "keryu_record.h"


#define TEST_DOC_MAX     4096
#define TEST_BIG_RULES   5000
#define TEST_SMALL_RULES 50
#define TEST_EVALS       100000


/* a caller: roles and order ids are comma-separated lists */
typedef struct {
    const char          *user;
    const char          *roles;
    const char          *orders;
} test_ident_t;


typedef struct {
    const char          *doc;
    const char          *err;
} test_refusal_t;


static char  test_buf[TEST_DOC_MAX];


static const char *
test_json(const char *s)
{
    size_t  i;

    assert_true(strlen(s) < sizeof(test_buf));

    for (i = 0; s[i]; i++) {
        test_buf[i] = s[i] == '\'' ? '"' : s[i];
    }

    test_buf[i] = '\0';

    return test_buf;
}


static keryu_policy_set_t *
test_set(const char *const *docs)
{
    char                 err[KERYU_POLICY_ERR_MAX];
    const char          *json;
    keryu_policy_set_t  *set;

    set = keryu_policy_set_create();
    assert_non_null(set);

    for ( ; *docs; docs++) {
        json = test_json(*docs);

        if (keryu_policy_set_add(set, json, strlen(json), err, sizeof(err))
            != 0)
        {
            fail_msg("keryu_policy_set_add() failed: %s", err);
        }
    }

    if (keryu_policy_set_finish(set, err, sizeof(err)) != 0) {
        fail_msg("keryu_policy_set_finish() failed: %s", err);
    }

    return set;
}


/* does the comma-separated list hold value */

static int
test_list_has(const char *list, const char *value, size_t len)
{
    const char  *p, *end;

    for (p = list; p && *p; p = end ? end + 1 : NULL) {
        end = strchr(p, ',');

        if ((size_t) ((end ? end : p + strlen(p)) - p) == len
            && memcmp(p, value, len) == 0)
        {
            return 1;
        }
    }

    return 0;
}


static int
test_claim_has(void *ctx, const char *claim, size_t claim_len,
    const char *value, size_t value_len)
{
    test_ident_t  *id = ctx;

    if (claim_len != 6 || memcmp(claim, "orders", 6) != 0) {
        return 0;
    }

    return test_list_has(id->orders, value, value_len);
}


/*
 * evaluates one request; addr is text, NULL for an unknown address, and
 * id NULL for an anonymous caller
 */

static keryu_policy_decision_t
test_eval_full(keryu_policy_set_t *set, const char *method, const char *host,
    const char *path, const char *addr, test_ident_t *id)
{
    size_t                    n;
    uint8_t                   a[16];
    const char               *p, *end, *roles[8];
    size_t                    lens[8];
    keryu_policy_req_t        req;
    keryu_policy_decision_t   d;

    memset(&req, 0, sizeof(keryu_policy_req_t));

    req.method = method;
    req.method_len = strlen(method);
    req.host = host;
    req.host_len = host ? strlen(host) : 0;
    req.path = path;
    req.path_len = strlen(path);

    if (addr && strchr(addr, ':')) {
        assert_int_equal(inet_pton(AF_INET6, addr, a), 1);
        req.addr_family = 6;
        req.addr = a;

    } else if (addr) {
        assert_int_equal(inet_pton(AF_INET, addr, a), 1);
        req.addr_family = 4;
        req.addr = a;
    }

    if (id) {
        req.authenticated = 1;
        req.user = id->user;
        req.user_len = id->user ? strlen(id->user) : 0;

        n = 0;

        for (p = id->roles; p && *p && n < 8; p = end ? end + 1 : NULL) {
            end = strchr(p, ',');
            roles[n] = p;
            lens[n] = end ? (size_t) (end - p) : strlen(p);
            n++;
        }

        req.roles = roles;
        req.role_lens = lens;
        req.nroles = n;
        req.claim_has = test_claim_has;
        req.claim_ctx = id;
    }

    keryu_policy_eval(set, &req, &d);

    return d;
}


static keryu_policy_decision_t
test_eval(keryu_policy_set_t *set, const char *method, const char *path,
    test_ident_t *id)
{
    return test_eval_full(set, method, NULL, path, "127.0.0.1", id);
}


/* asserts the effect and, for a decision, the rule that made it */

static void
test_expect(keryu_policy_decision_t d, keryu_effect_e effect,
    const char *rule)
{
    if (d.effect != effect) {
        fail_msg("effect %d, expected %d (rule %s)", (int) d.effect,
                 (int) effect, d.rule ? d.rule : "none");
    }

    if (rule == NULL) {
        assert_null(d.rule);

    } else {
        assert_non_null(d.rule);
        assert_string_equal(d.rule, rule);
    }
}


/* ---- validation ---- */


static const test_refusal_t  test_refusals[] = {

    { "{'name': ",
      "invalid JSON: parse error: premature EOF" },
    { "[1]",
      "a policy must be a JSON object" },
    { "{'policy_type': 'access', 'rules': []}",
      "\"name\" is required" },
    { "{'name': 'a b', 'policy_type': 'access', 'rules': []}",
      "\"name\" must be 1 to 64 of A-Z a-z 0-9 . _ -" },
    { "{'name': 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
      "aaaa', 'policy_type': 'access', 'rules': []}",
      "\"name\" must be 1 to 64 of A-Z a-z 0-9 . _ -" },
    { "{'name': 'p', 'policy_type': 'access', 'rules': [], 'colour': 1}",
      "policy \"p\": unknown field \"colour\"" },
    { "{'name': 'p', 'policy_type': 'access', 'rules': [], 'shadow': true,"
      " 'shadow': false}",
      "policy \"p\": field \"shadow\" is given twice" },
    { "{'name': 'p', 'rules': []}",
      "policy \"p\": \"policy_type\" is required" },
    { "{'name': 'p', 'policy_type': 'rate', 'rules': []}",
      "policy \"p\": \"policy_type\" must be \"access\", \"ip\", "
      "\"threshold\" or \"validation\"" },
    { "{'name': 'p', 'policy_type': 'access'}",
      "policy \"p\": \"rules\" is required" },
    { "{'name': 'p', 'policy_type': 'access', 'rules': [], 'is_active': 1}",
      "policy \"p\": \"is_active\" must be true or false" },
    { "{'name': 'p', 'policy_type': 'access', 'rules': [], 'shadow': 'no'}",
      "policy \"p\": \"shadow\" must be true or false" },
    { "{'name': 'p', 'policy_type': 'access', 'rules': [], 'priority': 1001}",
      "policy \"p\": \"priority\" must be an integer from 0 to 1000" },
    { "{'name': 'p', 'policy_type': 'access', 'rules': [], 'priority': 1.5}",
      "policy \"p\": \"priority\" must be an integer from 0 to 1000" },
    { "{'name': 'p', 'policy_type': 'access', 'rules': [], 'priority': -1}",
      "policy \"p\": \"priority\" must be an integer from 0 to 1000" },
    { "{'name': 'p', 'policy_type': 'access', 'rules': [],"
      " 'description': 5}",
      "policy \"p\": \"description\" must be a string" },
    { "{'name': 'p', 'policy_type': 'access', 'rules': [],"
      " 'created_at': []}",
      "policy \"p\": \"created_at\" must be a string" },
    { "{'name': 'p', 'policy_type': 'access', 'rules': {}}",
      "policy \"p\": \"rules\" must be an array of rules" },
    { "{'name': 'p', 'policy_type': 'ip', 'rules': []}",
      "policy \"p\": \"rules\" must be an object with \"allow\" and \"deny\""
      " lists" },
    { "{'name': 'p', 'policy_type': 'access', 'rules': [3]}",
      "policy \"p\": rule 1: a rule must be a JSON object" },
    { "{'name': 'p', 'policy_type': 'access', 'rules': [{'path': '/'}]}",
      "policy \"p\": rule 1: \"id\" is required" },
    { "{'name': 'p', 'policy_type': 'access', 'rules': [{'id': 'a/b'}]}",
      "policy \"p\": rule 1: \"id\" must be 1 to 64 of A-Z a-z 0-9 . _ -" },
    { "{'name': 'p', 'policy_type': 'access', 'rules': ["
      "{'id': 'r', 'path': '/', 'effect': 'allow', 'anyone': true},"
      "{'id': 'r', 'path': '/x', 'effect': 'allow', 'anyone': true}]}",
      "policy \"p\": rule \"r\": \"id\" is used by another rule" },
    { "{'name': 'p', 'policy_type': 'access', 'rules': [{'id': 'r',"
      " 'path': '/', 'effect': 'allow', 'anyone': true, 'verb': 'GET'}]}",
      "policy \"p\": rule \"r\": unknown field \"verb\"" },
    { "{'name': 'p', 'policy_type': 'access', 'rules': [{'id': 'r',"
      " 'effect': 'allow', 'anyone': true}]}",
      "policy \"p\": rule \"r\": \"path\" is required" },
    { "{'name': 'p', 'policy_type': 'access', 'rules': [{'id': 'r',"
      " 'path': 5, 'effect': 'allow', 'anyone': true}]}",
      "policy \"p\": rule \"r\": \"path\" must be a string" },
    { "{'name': 'p', 'policy_type': 'access', 'rules': [{'id': 'r',"
      " 'path': 'api', 'effect': 'allow', 'anyone': true}]}",
      "policy \"p\": rule \"r\": path \"api\" must start with \"/\"" },
    { "{'name': 'p', 'policy_type': 'access', 'rules': [{'id': 'r',"
      " 'path': '/a/../b', 'effect': 'allow', 'anyone': true}]}",
      "policy \"p\": rule \"r\": path \"/a/../b\" is not normalised: empty,"
      " \".\" or \"..\" segment" },
    { "{'name': 'p', 'policy_type': 'access', 'rules': [{'id': 'r',"
      " 'path': '/a//b', 'effect': 'allow', 'anyone': true}]}",
      "policy \"p\": rule \"r\": path \"/a//b\" is not normalised: empty,"
      " \".\" or \"..\" segment" },
    { "{'name': 'p', 'policy_type': 'access', 'rules': [{'id': 'r',"
      " 'path': '/a?b=1', 'effect': 'allow', 'anyone': true}]}",
      "policy \"p\": rule \"r\": path \"/a?b=1\" holds a control character,"
      " \"?\" or \"#\"" },
    { "{'name': 'p', 'policy_type': 'access', 'rules': [{'id': 'r',"
      " 'path': '/a/x{id}', 'effect': 'allow', 'anyone': true}]}",
      "policy \"p\": rule \"r\": path \"/a/x{id}\": a {name} must be a whole"
      " segment" },
    { "{'name': 'p', 'policy_type': 'access', 'rules': [{'id': 'r',"
      " 'path': '/a/{i-d}', 'effect': 'allow', 'anyone': true}]}",
      "policy \"p\": rule \"r\": path \"/a/{i-d}\": a {name} must be of A-Z"
      " a-z 0-9 _" },
    { "{'name': 'p', 'policy_type': 'access', 'rules': [{'id': 'r',"
      " 'path': '/{id}/{id}', 'effect': 'allow', 'anyone': true}]}",
      "policy \"p\": rule \"r\": path \"/{id}/{id}\": segment {id} is named"
      " twice" },
    { "{'name': 'p', 'policy_type': 'access', 'rules': [{'id': 'r',"
      " 'path': '/1/2/3/4/5/6/7/8/9/0/1/2/3/4/5/6/7/8/9/0/1/2/3/4/5/6/7/8/9/0"
      "/1/2/3', 'effect': 'allow', 'anyone': true}]}",
      "policy \"p\": rule \"r\": path \"/1/2/3/4/5/6/7/8/9/0/1/2/3/4/5/6/7/8/9"
      "/0/1/2/3/4/5/6/7/8/9/0/1/2...\" has more than 32 segments" },
    { "{'name': 'p', 'policy_type': 'access', 'rules': [{'id': 'r',"
      " 'path': '/', 'match': 'glob', 'effect': 'allow', 'anyone': true}]}",
      "policy \"p\": rule \"r\": \"match\" must be \"exact\", \"prefix\" or"
      " \"pattern\"" },
    { "{'name': 'p', 'policy_type': 'access', 'rules': [{'id': 'r',"
      " 'path': '/a/{id}', 'match': 'exact', 'effect': 'allow',"
      " 'anyone': true}]}",
      "policy \"p\": rule \"r\": path \"/a/{id}\": match \"exact\" takes no"
      " {name} segments" },
    { "{'name': 'p', 'policy_type': 'access', 'rules': [{'id': 'r',"
      " 'path': '/', 'anyone': true}]}",
      "policy \"p\": rule \"r\": \"effect\" is required" },
    { "{'name': 'p', 'policy_type': 'access', 'rules': [{'id': 'r',"
      " 'path': '/', 'effect': 'permit', 'anyone': true}]}",
      "policy \"p\": rule \"r\": \"effect\" must be \"allow\" or \"deny\"" },
    { "{'name': 'p', 'policy_type': 'access', 'rules': [{'id': 'r',"
      " 'path': '/', 'effect': 'allow'}]}",
      "policy \"p\": rule \"r\": a condition is required: \"roles\","
      " \"users\", \"owner\", \"authenticated\" or \"anyone\"" },
    { "{'name': 'p', 'policy_type': 'access', 'rules': [{'id': 'r',"
      " 'path': '/', 'effect': 'allow', 'anyone': true, 'roles': ['a']}]}",
      "policy \"p\": rule \"r\": \"anyone\" cannot be combined with other"
      " conditions" },
    { "{'name': 'p', 'policy_type': 'access', 'rules': [{'id': 'r',"
      " 'path': '/', 'effect': 'allow', 'anyone': false}]}",
      "policy \"p\": rule \"r\": \"anyone\" can only be true" },
    { "{'name': 'p', 'policy_type': 'access', 'rules': [{'id': 'r',"
      " 'path': '/', 'effect': 'allow', 'authenticated': 'yes'}]}",
      "policy \"p\": rule \"r\": \"authenticated\" can only be true" },
    { "{'name': 'p', 'policy_type': 'access', 'rules': [{'id': 'r',"
      " 'path': '/', 'effect': 'allow', 'anyone': true, 'methods': []}]}",
      "policy \"p\": rule \"r\": \"methods\" must be a non-empty array of"
      " strings" },
    { "{'name': 'p', 'policy_type': 'access', 'rules': [{'id': 'r',"
      " 'path': '/', 'effect': 'allow', 'anyone': true,"
      " 'methods': ['get']}]}",
      "policy \"p\": rule \"r\": \"methods\" must be uppercase method"
      " names" },
    { "{'name': 'p', 'policy_type': 'access', 'rules': [{'id': 'r',"
      " 'path': '/', 'effect': 'allow', 'roles': 'admin'}]}",
      "policy \"p\": rule \"r\": \"roles\" must be a non-empty array of"
      " strings" },
    { "{'name': 'p', 'policy_type': 'access', 'rules': [{'id': 'r',"
      " 'path': '/', 'effect': 'allow', 'users': ['']}]}",
      "policy \"p\": rule \"r\": \"users\" must be a non-empty array of"
      " strings" },
    { "{'name': 'p', 'policy_type': 'access', 'rules': [{'id': 'r',"
      " 'path': '/', 'effect': 'allow', 'anyone': true,"
      " 'host': 'a/b'}]}",
      "policy \"p\": rule \"r\": \"host\" must be a host name" },
    { "{'name': 'p', 'policy_type': 'access', 'rules': [{'id': 'r',"
      " 'path': '/', 'effect': 'allow', 'anyone': true, 'shadow': 1}]}",
      "policy \"p\": rule \"r\": \"shadow\" must be true or false" },
    { "{'name': 'p', 'policy_type': 'access', 'rules': [{'id': 'r',"
      " 'path': '/o/{id}', 'effect': 'allow', 'owner': 'id'}]}",
      "policy \"p\": rule \"r\": \"owner\" must be an object with"
      " \"segment\" and \"claim\"" },
    { "{'name': 'p', 'policy_type': 'access', 'rules': [{'id': 'r',"
      " 'path': '/o/{id}', 'effect': 'allow', 'owner': {'segment': 'id'}}]}",
      "policy \"p\": rule \"r\": \"owner\" must be an object with"
      " \"segment\" and \"claim\"" },
    { "{'name': 'p', 'policy_type': 'access', 'rules': [{'id': 'r',"
      " 'path': '/o/{id}', 'effect': 'allow', 'owner': {'segment': 'id',"
      " 'claim': 'c', 'via': 'x'}}]}",
      "policy \"p\": rule \"r\": owner: unknown field \"via\"" },
    { "{'name': 'p', 'policy_type': 'access', 'rules': [{'id': 'r',"
      " 'path': '/o/{id}', 'effect': 'allow', 'owner': {'segment': 'oid',"
      " 'claim': 'orders'}}]}",
      "policy \"p\": rule \"r\": owner: segment \"oid\" is not a {name} in"
      " the path" },
    { "{'name': 'p', 'policy_type': 'ip', 'rules': {'allow': [],"
      " 'block': []}}",
      "policy \"p\": rules: unknown field \"block\"" },
    { "{'name': 'p', 'policy_type': 'ip', 'rules': {'deny': '10.0.0.1'}}",
      "policy \"p\": rules: \"deny\" must be an array of addresses" },
    { "{'name': 'p', 'policy_type': 'ip', 'rules': {'deny': ['10.0.0.256']}}",
      "policy \"p\": rules: \"deny\": invalid address \"10.0.0.256\"" },
    { "{'name': 'p', 'policy_type': 'ip', 'rules': {'allow': ['10.0.0.1/8']}}",
      "policy \"p\": rules: \"allow\": invalid address \"10.0.0.1/8\"" },
    { "{'name': 'p', 'policy_type': 'ip',"
      " 'rules': {'allow': ['10.0.0.0/33']}}",
      "policy \"p\": rules: \"allow\": invalid address \"10.0.0.0/33\"" },
    { "{'name': 'p', 'policy_type': 'ip',"
      " 'rules': {'allow': ['2001:db8::/x']}}",
      "policy \"p\": rules: \"allow\": invalid address \"2001:db8::/x\"" },
    { "{'name': 'p', 'policy_type': 'ip',"
      " 'rules': {'allow': ['2001:db8:::1']}}",
      "policy \"p\": rules: \"allow\": invalid address \"2001:db8:::1\"" },
    { "{'name': 'p', 'policy_type': 'ip', 'rules': {'allow': [7]}}",
      "policy \"p\": rules: \"allow\" must be an array of addresses" },
    { "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
      "document nests deeper than 32 levels" },
    { "{'name': 'p', 'policy_type': 'access', 'rules': [{'id': 'r',"
      " 'path': '/a\\u0000b', 'effect': 'allow', 'anyone': true}]}",
      "document holds \"\\u0000\"" },
    { "{'name': 'p\\\\u0000', 'policy_type': 'access', 'rules': []}",
      "\"name\" must be 1 to 64 of A-Z a-z 0-9 . _ -" },

    { "{'name': 'p', 'policy_type': 'threshold', 'rules': {}}",
      "policy \"p\": \"rules\" must be an array of rules" },
    { "{'name': 'p', 'policy_type': 'threshold', 'rules': [{'id': 'r',"
      " 'count': 5, 'window': '1m'}]}",
      "policy \"p\": rule \"r\": \"group_by\" is required" },
    { "{'name': 'p', 'policy_type': 'threshold', 'rules': [{'id': 'r',"
      " 'group_by': 'host', 'count': 5, 'window': '1m'}]}",
      "policy \"p\": rule \"r\": \"group_by\" must be \"ip\", \"user\" or "
      "\"ip+user\"" },
    { "{'name': 'p', 'policy_type': 'threshold', 'rules': [{'id': 'r',"
      " 'group_by': 'ip', 'count': 0, 'window': '1m'}]}",
      "policy \"p\": rule \"r\": \"count\" must be an integer from 1 to "
      "1000" },
    { "{'name': 'p', 'policy_type': 'threshold', 'rules': [{'id': 'r',"
      " 'group_by': 'ip', 'count': 5}]}",
      "policy \"p\": rule \"r\": \"window\" is required" },
    { "{'name': 'p', 'policy_type': 'threshold', 'rules': [{'id': 'r',"
      " 'group_by': 'ip', 'count': 5, 'window': '60'}]}",
      "policy \"p\": rule \"r\": \"window\" must be a time such as \"90s\", "
      "\"5m\", \"1h\" or \"2d\"" },
    { "{'name': 'p', 'policy_type': 'threshold', 'rules': [{'id': 'r',"
      " 'group_by': 'ip', 'count': 5, 'window': '2d'}]}",
      "policy \"p\": rule \"r\": \"window\" must be at most 24h" },
    { "{'name': 'p', 'policy_type': 'threshold', 'rules': [{'id': 'r',"
      " 'group_by': 'ip', 'count': 5, 'window': '1m',"
      " 'types': ['auth_failed']}]}",
      "policy \"p\": rule \"r\": \"types\": unknown event type "
      "\"auth_failed\"" },
    { "{'name': 'p', 'policy_type': 'threshold', 'rules': [{'id': 'r',"
      " 'group_by': 'ip', 'count': 5, 'window': '1m', 'status': [99]}]}",
      "policy \"p\": rule \"r\": \"status\" must hold integers from 100 to "
      "599" },
    { "{'name': 'p', 'policy_type': 'threshold', 'rules': [{'id': 'r',"
      " 'group_by': 'ip', 'count': 5, 'window': '1m', 'path': '/a',"
      " 'pattern': '/a/{x}'}]}",
      "policy \"p\": rule \"r\": \"path\" and \"pattern\" exclude each "
      "other" },
    { "{'name': 'p', 'policy_type': 'threshold', 'rules': [{'id': 'r',"
      " 'group_by': 'ip', 'count': 5, 'window': '1m',"
      " 'pattern': '/a/{x}', 'distinct': 'y'}]}",
      "policy \"p\": rule \"r\": \"distinct\" must be \"user\", \"ip\", "
      "\"path\" or a {name} of \"pattern\", not \"y\"" },
    { "{'name': 'p', 'policy_type': 'threshold', 'rules': [{'id': 'r',"
      " 'group_by': 'ip', 'count': 5, 'window': '1m', 'action': 'block'}]}",
      "policy \"p\": rule \"r\": \"duration\" is required with \"action\": "
      "\"block\"" },
    { "{'name': 'p', 'policy_type': 'threshold', 'rules': [{'id': 'r',"
      " 'group_by': 'ip', 'count': 5, 'window': '1m', 'duration': '1h'}]}",
      "policy \"p\": rule \"r\": \"duration\" needs \"action\": \"block\"" },
    { "{'name': 'p', 'policy_type': 'threshold', 'rules': [{'id': 'r',"
      " 'group_by': 'ip', 'count': 5, 'window': '1m', 'action': 'block',"
      " 'block': 'user', 'duration': '1h'}]}",
      "policy \"p\": rule \"r\": \"block\" must be \"ip\" or \"user\", and "
      "one that \"group_by\" holds" },
    { "{'name': 'p', 'policy_type': 'threshold', 'rules': [{'id': 'r',"
      " 'group_by': 'ip', 'count': 5, 'window': '1m', 'action': 'block',"
      " 'duration': '1h', 'max_duration': '30m'}]}",
      "policy \"p\": rule \"r\": \"max_duration\" is shorter than "
      "\"duration\"" },
    { "{'name': 'p', 'policy_type': 'threshold', 'rules': [{'id': 'r',"
      " 'group_by': 'ip', 'count': 5, 'window': '1m', 'severity': 'dire'}]}",
      "policy \"p\": rule \"r\": \"severity\" must be \"low\", \"medium\", "
      "\"high\" or \"critical\"" },
    { "{'name': 'p', 'policy_type': 'threshold', 'rules': [{'id': 'r',"
      " 'group_by': 'ip', 'count': 5, 'window': '1m'}, {'id': 'r',"
      " 'group_by': 'ip', 'count': 5, 'window': '1m'}]}",
      "policy \"p\": rule \"r\": \"id\" is used by another rule" },

    { NULL, NULL }
};


static void
every_refusal_names_its_field_or_rule(void **state)
{
    char                  err[KERYU_POLICY_ERR_MAX], name[80];
    const char           *json;
    const test_refusal_t  *t;

    (void) state;

    for (t = test_refusals; t->doc; t++) {
        json = test_json(t->doc);

        err[0] = '\0';

        if (keryu_policy_validate(json, strlen(json), name, sizeof(name), err,
                                  sizeof(err))
            == 0)
        {
            fail_msg("accepted: %s", json);
        }

        if (strcmp(err, t->err) != 0) {
            fail_msg("for %s\n  got      %s\n  expected %s", json, err,
                     t->err);
        }
    }
}


static void
valid_document_returns_its_name_and_defaults(void **state)
{
    char                 err[KERYU_POLICY_ERR_MAX], name[80];
    const char          *json;
    keryu_policy_info_t  info;

    (void) state;

    json = test_json("{'name': 'demo-access', 'description': 'd',"
                     " 'policy_type': 'access', 'created_at': 'x',"
                     " 'updated_at': 1700000000,"
                     " 'rules': [{'id': 'a', 'path': '/', 'effect': 'allow',"
                     " 'anyone': true}]}");

    assert_int_equal(keryu_policy_validate(json, strlen(json), name,
                                           sizeof(name), err, sizeof(err)),
                     0);
    assert_string_equal(name, "demo-access");

    assert_int_equal(keryu_policy_inspect(json, strlen(json), &info, err,
                                          sizeof(err)),
                     0);
    assert_int_equal(info.type, KERYU_POLICY_ACCESS);
    assert_int_equal(info.active, 1);
    assert_int_equal(info.shadow, 0);
    assert_int_equal(info.priority, 100);
    assert_int_equal(info.rules, 1);
    assert_string_equal(info.created_at, "x");
    assert_string_equal(info.updated_at, "1700000000");
}


static void
set_refuses_a_name_given_twice_and_stays_usable(void **state)
{
    char                 err[KERYU_POLICY_ERR_MAX];
    const char          *json;
    keryu_policy_set_t  *set;

    (void) state;

    set = keryu_policy_set_create();
    assert_non_null(set);

    json = test_json("{'name': 'p', 'policy_type': 'access', 'rules': ["
                     "{'id': 'a', 'path': '/', 'effect': 'allow',"
                     " 'anyone': true}]}");

    assert_int_equal(keryu_policy_set_add(set, json, strlen(json), err,
                                          sizeof(err)),
                     0);
    assert_int_equal(keryu_policy_set_add(set, json, strlen(json), err,
                                          sizeof(err)),
                     -1);
    assert_string_equal(err, "policy \"p\" is given twice");

    assert_int_equal(keryu_policy_set_finish(set, err, sizeof(err)), 0);
    assert_int_equal(keryu_policy_set_policies(set), 1);
    assert_int_equal(keryu_policy_set_rules(set), 1);

    test_expect(test_eval(set, "GET", "/", NULL), KERYU_EFFECT_ALLOW, "a");

    assert_int_equal(keryu_policy_set_add(set, json, strlen(json), err,
                                          sizeof(err)),
                     -1);
    assert_string_equal(err, "the policy set is finished");

    keryu_policy_set_free(set);
}


/* ---- matching ---- */


static void
exact_match_takes_the_whole_path_only(void **state)
{
    keryu_policy_set_t  *set;
    const char          *docs[] = {
        "{'name': 'p', 'policy_type': 'access', 'rules': ["
        "{'id': 'root', 'path': '/', 'effect': 'allow', 'anyone': true},"
        "{'id': 'me', 'path': '/api/me', 'effect': 'allow', 'anyone': true},"
        "{'id': 'dir', 'path': '/dir/', 'match': 'exact', 'effect': 'deny',"
        " 'anyone': true}]}",
        NULL
    };

    (void) state;

    set = test_set(docs);

    test_expect(test_eval(set, "GET", "/", NULL), KERYU_EFFECT_ALLOW, "root");
    test_expect(test_eval(set, "GET", "/api/me", NULL), KERYU_EFFECT_ALLOW,
                "me");
    test_expect(test_eval(set, "GET", "/api/me/", NULL), KERYU_EFFECT_NONE,
                NULL);
    test_expect(test_eval(set, "GET", "/api/me/x", NULL), KERYU_EFFECT_NONE,
                NULL);
    test_expect(test_eval(set, "GET", "/api", NULL), KERYU_EFFECT_NONE, NULL);
    test_expect(test_eval(set, "GET", "/api/mex", NULL), KERYU_EFFECT_NONE,
                NULL);
    test_expect(test_eval(set, "GET", "/dir/", NULL), KERYU_EFFECT_DENY,
                "dir");
    test_expect(test_eval(set, "GET", "/dir", NULL), KERYU_EFFECT_NONE, NULL);
    test_expect(test_eval(set, "GET", "", NULL), KERYU_EFFECT_NONE, NULL);
    test_expect(test_eval(set, "OPTIONS", "*", NULL), KERYU_EFFECT_NONE,
                NULL);

    keryu_policy_set_free(set);
}


static void
prefix_match_keeps_to_segment_boundaries(void **state)
{
    keryu_policy_set_t  *set;
    const char          *docs[] = {
        "{'name': 'p', 'policy_type': 'access', 'rules': ["
        "{'id': 'slash', 'path': '/admin/', 'match': 'prefix',"
        " 'effect': 'deny', 'anyone': true},"
        "{'id': 'bare', 'path': '/static', 'match': 'prefix',"
        " 'effect': 'allow', 'anyone': true},"
        "{'id': 'all', 'path': '/', 'match': 'prefix', 'effect': 'allow',"
        " 'authenticated': true}]}",
        NULL
    };

    (void) state;

    set = test_set(docs);

    /* "/admin/" covers what lies below it, not "/admin" itself */

    test_expect(test_eval(set, "GET", "/admin/", NULL), KERYU_EFFECT_DENY,
                "slash");
    test_expect(test_eval(set, "GET", "/admin/x/y", NULL), KERYU_EFFECT_DENY,
                "slash");
    test_expect(test_eval(set, "GET", "/admin", NULL), KERYU_EFFECT_NONE,
                NULL);

    /* "/static" covers itself and below, never "/staticfoo" */

    test_expect(test_eval(set, "GET", "/static", NULL), KERYU_EFFECT_ALLOW,
                "bare");
    test_expect(test_eval(set, "GET", "/static/", NULL), KERYU_EFFECT_ALLOW,
                "bare");
    test_expect(test_eval(set, "GET", "/static/css/a.css", NULL),
                KERYU_EFFECT_ALLOW, "bare");
    test_expect(test_eval(set, "GET", "/staticfoo", NULL), KERYU_EFFECT_NONE,
                NULL);
    test_expect(test_eval(set, "GET", "/administrator", NULL),
                KERYU_EFFECT_NONE, NULL);

    /* "/" as a prefix covers every path */

    test_expect(test_eval(set, "GET", "/administrator", &(test_ident_t) {
                              "alice", NULL, NULL }),
                KERYU_EFFECT_ALLOW, "all");
    test_expect(test_eval(set, "GET", "/", &(test_ident_t) {
                              "alice", NULL, NULL }),
                KERYU_EFFECT_ALLOW, "all");

    keryu_policy_set_free(set);
}


static void
prefix_without_slash_does_not_cover_a_longer_segment(void **state)
{
    keryu_policy_set_t  *set;
    const char          *docs[] = {
        "{'name': 'p', 'policy_type': 'access', 'rules': ["
        "{'id': 'admin', 'path': '/admin', 'match': 'prefix',"
        " 'effect': 'deny', 'anyone': true}]}",
        NULL
    };

    (void) state;

    set = test_set(docs);

    test_expect(test_eval(set, "GET", "/admin", NULL), KERYU_EFFECT_DENY,
                "admin");
    test_expect(test_eval(set, "GET", "/admin/users", NULL),
                KERYU_EFFECT_DENY, "admin");
    test_expect(test_eval(set, "GET", "/administrator", NULL),
                KERYU_EFFECT_NONE, NULL);

    keryu_policy_set_free(set);
}


static void
pattern_segment_matches_one_non_empty_segment(void **state)
{
    keryu_policy_set_t  *set;
    const char          *docs[] = {
        "{'name': 'p', 'policy_type': 'access', 'rules': ["
        "{'id': 'new', 'path': '/orders/new', 'effect': 'deny',"
        " 'anyone': true},"
        "{'id': 'one', 'path': '/orders/{id}', 'effect': 'allow',"
        " 'anyone': true},"
        "{'id': 'item', 'path': '/orders/{id}/items/{item}',"
        " 'effect': 'allow', 'anyone': true},"
        "{'id': 'under', 'path': '/u/{name}/', 'match': 'prefix',"
        " 'effect': 'allow', 'anyone': true}]}",
        NULL
    };

    (void) state;

    set = test_set(docs);

    test_expect(test_eval(set, "GET", "/orders/1", NULL), KERYU_EFFECT_ALLOW,
                "one");
    test_expect(test_eval(set, "GET", "/orders/new", NULL), KERYU_EFFECT_DENY,
                "new");
    test_expect(test_eval(set, "GET", "/orders/", NULL), KERYU_EFFECT_NONE,
                NULL);
    test_expect(test_eval(set, "GET", "/orders/1/x", NULL), KERYU_EFFECT_NONE,
                NULL);
    test_expect(test_eval(set, "GET", "/orders/1/items/2", NULL),
                KERYU_EFFECT_ALLOW, "item");
    test_expect(test_eval(set, "GET", "/orders/1/items/", NULL),
                KERYU_EFFECT_NONE, NULL);
    test_expect(test_eval(set, "GET", "/u/bob/files/a", NULL),
                KERYU_EFFECT_ALLOW, "under");
    test_expect(test_eval(set, "GET", "/u/bob", NULL), KERYU_EFFECT_NONE,
                NULL);

    keryu_policy_set_free(set);
}


static void
deep_request_paths_are_walked_as_deep_as_rules_go(void **state)
{
    char                 path[512];
    size_t               i, n;
    keryu_policy_set_t  *set;
    const char          *docs[] = {
        "{'name': 'p', 'policy_type': 'access', 'rules': ["
        "{'id': 'deep', 'path': '/d', 'match': 'prefix', 'effect': 'allow',"
        " 'anyone': true}]}",
        NULL
    };

    (void) state;

    set = test_set(docs);

    n = snprintf(path, sizeof(path), "/d");

    for (i = 0; i < 100; i++) {
        n += snprintf(path + n, sizeof(path) - n, "/x");
    }

    test_expect(test_eval(set, "GET", path, NULL), KERYU_EFFECT_ALLOW,
                "deep");

    keryu_policy_set_free(set);
}


static void
methods_and_host_narrow_a_rule(void **state)
{
    keryu_policy_set_t  *set;
    const char          *docs[] = {
        "{'name': 'p', 'policy_type': 'access', 'rules': ["
        "{'id': 'read', 'path': '/x', 'methods': ['GET', 'HEAD'],"
        " 'effect': 'allow', 'anyone': true},"
        "{'id': 'host', 'path': '/x', 'host': 'Example.COM',"
        " 'effect': 'deny', 'anyone': true}]}",
        NULL
    };

    (void) state;

    set = test_set(docs);

    test_expect(test_eval(set, "GET", "/x", NULL), KERYU_EFFECT_ALLOW,
                "read");
    test_expect(test_eval(set, "HEAD", "/x", NULL), KERYU_EFFECT_ALLOW,
                "read");
    test_expect(test_eval(set, "POST", "/x", NULL), KERYU_EFFECT_NONE, NULL);
    test_expect(test_eval(set, "GE", "/x", NULL), KERYU_EFFECT_NONE, NULL);

    test_expect(test_eval_full(set, "POST", "example.com", "/x", "127.0.0.1",
                               NULL),
                KERYU_EFFECT_DENY, "host");
    test_expect(test_eval_full(set, "POST", "EXAMPLE.com", "/x", "127.0.0.1",
                               NULL),
                KERYU_EFFECT_DENY, "host");
    test_expect(test_eval_full(set, "POST", "example.org", "/x", "127.0.0.1",
                               NULL),
                KERYU_EFFECT_NONE, NULL);
    test_expect(test_eval_full(set, "POST", "example.com.x", "/x",
                               "127.0.0.1", NULL),
                KERYU_EFFECT_NONE, NULL);

    keryu_policy_set_free(set);
}


/* ---- conditions ---- */


static void
each_condition_holds_only_for_its_callers(void **state)
{
    test_ident_t         alice = { "alice", "user", "1,2" };
    test_ident_t         bob = { "bob", "user,admin", "" };
    test_ident_t         carol = { "carol", "auditor", NULL };
    keryu_policy_set_t  *set;
    const char          *docs[] = {
        "{'name': 'p', 'policy_type': 'access', 'rules': ["
        "{'id': 'roles', 'path': '/roles', 'effect': 'allow',"
        " 'roles': ['admin', 'auditor']},"
        "{'id': 'users', 'path': '/users', 'effect': 'allow',"
        " 'users': ['alice']},"
        "{'id': 'auth', 'path': '/auth', 'effect': 'allow',"
        " 'authenticated': true},"
        "{'id': 'anyone', 'path': '/anyone', 'effect': 'allow',"
        " 'anyone': true},"
        "{'id': 'both', 'path': '/both', 'effect': 'allow',"
        " 'roles': ['admin'], 'users': ['bob', 'carol']}]}",
        NULL
    };

    (void) state;

    set = test_set(docs);

    test_expect(test_eval(set, "GET", "/roles", &bob), KERYU_EFFECT_ALLOW,
                "roles");
    test_expect(test_eval(set, "GET", "/roles", &carol), KERYU_EFFECT_ALLOW,
                "roles");
    test_expect(test_eval(set, "GET", "/roles", &alice), KERYU_EFFECT_NONE,
                NULL);
    test_expect(test_eval(set, "GET", "/roles", NULL), KERYU_EFFECT_NONE,
                NULL);

    test_expect(test_eval(set, "GET", "/users", &alice), KERYU_EFFECT_ALLOW,
                "users");
    test_expect(test_eval(set, "GET", "/users", &bob), KERYU_EFFECT_NONE,
                NULL);

    test_expect(test_eval(set, "GET", "/auth", &carol), KERYU_EFFECT_ALLOW,
                "auth");
    test_expect(test_eval(set, "GET", "/auth", NULL), KERYU_EFFECT_NONE,
                NULL);

    test_expect(test_eval(set, "GET", "/anyone", NULL), KERYU_EFFECT_ALLOW,
                "anyone");
    test_expect(test_eval(set, "GET", "/anyone", &alice), KERYU_EFFECT_ALLOW,
                "anyone");

    /* all given conditions must hold */

    test_expect(test_eval(set, "GET", "/both", &bob), KERYU_EFFECT_ALLOW,
                "both");
    test_expect(test_eval(set, "GET", "/both", &carol), KERYU_EFFECT_NONE,
                NULL);
    test_expect(test_eval(set, "GET", "/both", &alice), KERYU_EFFECT_NONE,
                NULL);

    keryu_policy_set_free(set);
}


static void
owner_compares_the_bound_segment_with_a_claim(void **state)
{
    test_ident_t              alice = { "alice", "user", "1,2" };
    test_ident_t              bob = { "bob", "user", "3" };
    keryu_policy_req_t        req;
    keryu_policy_set_t       *set;
    keryu_policy_decision_t   d;
    const char               *docs[] = {
        "{'name': 'p', 'policy_type': 'access', 'rules': ["
        "{'id': 'own', 'path': '/api/orders/{id}', 'methods': ['GET'],"
        " 'effect': 'allow', 'owner': {'segment': 'id', 'claim': 'orders'}},"
        "{'id': 'other', 'path': '/api/orders/{id}', 'effect': 'deny',"
        " 'authenticated': true}]}",
        NULL
    };

    (void) state;

    set = test_set(docs);

    test_expect(test_eval(set, "GET", "/api/orders/1", &alice),
                KERYU_EFFECT_ALLOW, "own");
    test_expect(test_eval(set, "GET", "/api/orders/2", &alice),
                KERYU_EFFECT_ALLOW, "own");
    test_expect(test_eval(set, "GET", "/api/orders/3", &alice),
                KERYU_EFFECT_DENY, "other");
    test_expect(test_eval(set, "GET", "/api/orders/3", &bob),
                KERYU_EFFECT_ALLOW, "own");
    test_expect(test_eval(set, "GET", "/api/orders/12", &alice),
                KERYU_EFFECT_DENY, "other");
    test_expect(test_eval(set, "DELETE", "/api/orders/1", &alice),
                KERYU_EFFECT_DENY, "other");
    test_expect(test_eval(set, "GET", "/api/orders/1", NULL),
                KERYU_EFFECT_NONE, NULL);

    /* without a callback no one owns anything */

    memset(&req, 0, sizeof(keryu_policy_req_t));
    req.method = "GET";
    req.method_len = 3;
    req.path = "/api/orders/1";
    req.path_len = strlen(req.path);
    req.authenticated = 1;
    req.user = "alice";
    req.user_len = 5;

    keryu_policy_eval(set, &req, &d);
    test_expect(d, KERYU_EFFECT_DENY, "other");

    keryu_policy_set_free(set);
}


/* ---- order ---- */


static void
policies_run_by_priority_then_name_then_rule_order(void **state)
{
    keryu_policy_set_t       *set;
    keryu_policy_decision_t   d;
    const char               *docs[] = {
        "{'name': 'late', 'policy_type': 'access', 'priority': 200,"
        " 'rules': [{'id': 'late-allow', 'path': '/x', 'effect': 'allow',"
        " 'anyone': true}]}",
        "{'name': 'b-early', 'policy_type': 'access', 'priority': 10,"
        " 'rules': [{'id': 'b1', 'path': '/y', 'effect': 'allow',"
        " 'anyone': true}]}",
        "{'name': 'a-early', 'policy_type': 'access', 'priority': 10,"
        " 'rules': ["
        "{'id': 'a1', 'path': '/x', 'effect': 'deny', 'roles': ['none']},"
        "{'id': 'a2', 'path': '/x', 'effect': 'deny', 'anyone': true},"
        "{'id': 'a3', 'path': '/y', 'effect': 'deny', 'anyone': true},"
        "{'id': 'a4', 'path': '/', 'match': 'prefix', 'effect': 'deny',"
        " 'users': ['mallory']}]}",
        NULL
    };

    (void) state;

    set = test_set(docs);

    /* a1's conditions fail, so a2 decides before the later policy */

    d = test_eval(set, "GET", "/x", NULL);
    test_expect(d, KERYU_EFFECT_DENY, "a2");
    assert_string_equal(d.policy, "a-early");

    /* same priority: "a-early" runs before "b-early" */

    d = test_eval(set, "GET", "/y", NULL);
    test_expect(d, KERYU_EFFECT_DENY, "a3");

    /* a prefix rule of an earlier policy wins over an exact one later */

    d = test_eval(set, "GET", "/y", &(test_ident_t) { "mallory", NULL, NULL });
    test_expect(d, KERYU_EFFECT_DENY, "a3");

    d = test_eval(set, "GET", "/z", &(test_ident_t) { "mallory", NULL, NULL });
    test_expect(d, KERYU_EFFECT_DENY, "a4");

    keryu_policy_set_free(set);
}


static void
rule_order_decides_between_prefix_and_exact_rules(void **state)
{
    keryu_policy_set_t  *set;
    const char          *docs[] = {
        "{'name': 'p', 'policy_type': 'access', 'rules': ["
        "{'id': 'me', 'path': '/api/me', 'effect': 'allow',"
        " 'authenticated': true},"
        "{'id': 'api', 'path': '/api/', 'match': 'prefix', 'effect': 'deny',"
        " 'anyone': true},"
        "{'id': 'late', 'path': '/api/other', 'effect': 'allow',"
        " 'anyone': true}]}",
        NULL
    };

    (void) state;

    set = test_set(docs);

    test_expect(test_eval(set, "GET", "/api/me", &(test_ident_t) {
                              "a", NULL, NULL }),
                KERYU_EFFECT_ALLOW, "me");

    /* fall through "me", whose condition fails, to the prefix rule */

    test_expect(test_eval(set, "GET", "/api/me", NULL), KERYU_EFFECT_DENY,
                "api");

    /* the prefix rule comes first, so "late" never decides */

    test_expect(test_eval(set, "GET", "/api/other", NULL), KERYU_EFFECT_DENY,
                "api");

    keryu_policy_set_free(set);
}


static void
nothing_matching_leaves_the_effect_none(void **state)
{
    keryu_policy_set_t       *set;
    keryu_policy_decision_t   d;
    const char               *docs[] = {
        "{'name': 'p', 'policy_type': 'access', 'rules': ["
        "{'id': 'a', 'path': '/a', 'effect': 'allow', 'roles': ['x']}]}",
        NULL
    };
    const char               *none[] = { NULL };

    (void) state;

    set = test_set(docs);

    d = test_eval(set, "GET", "/b", NULL);
    test_expect(d, KERYU_EFFECT_NONE, NULL);
    assert_null(d.policy);
    assert_null(d.shadow_rule);

    d = test_eval(set, "GET", "/a", NULL);
    test_expect(d, KERYU_EFFECT_NONE, NULL);

    keryu_policy_set_free(set);

    set = test_set(none);

    test_expect(test_eval(set, "GET", "/a", NULL), KERYU_EFFECT_NONE, NULL);
    assert_int_equal(keryu_policy_set_rules(set), 0);

    keryu_policy_set_free(set);
}


/* ---- shadow and inactive ---- */


static void
shadow_rule_is_reported_and_evaluation_goes_on(void **state)
{
    keryu_policy_set_t       *set;
    keryu_policy_decision_t   d;
    const char               *docs[] = {
        "{'name': 'p', 'policy_type': 'access', 'rules': ["
        "{'id': 'try-allow', 'path': '/x', 'effect': 'allow',"
        " 'anyone': true, 'shadow': true},"
        "{'id': 'try-deny', 'path': '/x', 'effect': 'deny',"
        " 'anyone': true, 'shadow': true},"
        "{'id': 'try-deny-2', 'path': '/', 'match': 'prefix',"
        " 'effect': 'deny', 'anyone': true, 'shadow': true},"
        "{'id': 'allow', 'path': '/x', 'effect': 'allow', 'anyone': true},"
        "{'id': 'after', 'path': '/y', 'effect': 'allow', 'anyone': true},"
        "{'id': 'after-deny', 'path': '/y', 'effect': 'deny',"
        " 'anyone': true, 'shadow': true}]}",
        NULL
    };

    (void) state;

    set = test_set(docs);

    d = test_eval(set, "GET", "/x", NULL);
    test_expect(d, KERYU_EFFECT_ALLOW, "allow");
    assert_string_equal(d.shadow_policy, "p");
    assert_string_equal(d.shadow_rule, "try-deny");

    /* only the prefix shadow comes before "after"; the later one is unseen */

    d = test_eval(set, "GET", "/y", NULL);
    test_expect(d, KERYU_EFFECT_ALLOW, "after");
    assert_string_equal(d.shadow_rule, "try-deny-2");

    /* a shadow hit with no decision */

    d = test_eval(set, "GET", "/z", NULL);
    test_expect(d, KERYU_EFFECT_NONE, NULL);
    assert_string_equal(d.shadow_rule, "try-deny-2");

    keryu_policy_set_free(set);
}


static void
shadow_policy_never_decides(void **state)
{
    keryu_policy_set_t       *set;
    keryu_policy_decision_t   d;
    const char               *docs[] = {
        "{'name': 'trial', 'policy_type': 'access', 'shadow': true,"
        " 'priority': 1, 'rules': ["
        "{'id': 'lock', 'path': '/x', 'effect': 'deny', 'anyone': true},"
        "{'id': 'open', 'path': '/y', 'effect': 'allow', 'anyone': true}]}",
        "{'name': 'live', 'policy_type': 'access', 'rules': ["
        "{'id': 'x', 'path': '/x', 'effect': 'allow', 'anyone': true}]}",
        NULL
    };

    (void) state;

    set = test_set(docs);

    d = test_eval(set, "GET", "/x", NULL);
    test_expect(d, KERYU_EFFECT_ALLOW, "x");
    assert_string_equal(d.policy, "live");
    assert_string_equal(d.shadow_policy, "trial");
    assert_string_equal(d.shadow_rule, "lock");

    /* a shadow allow is ignored */

    d = test_eval(set, "GET", "/y", NULL);
    test_expect(d, KERYU_EFFECT_NONE, NULL);
    assert_null(d.shadow_rule);

    keryu_policy_set_free(set);
}


static void
inactive_policies_are_checked_but_not_enforced(void **state)
{
    char                 err[KERYU_POLICY_ERR_MAX];
    const char          *json;
    keryu_policy_set_t  *set;
    const char          *docs[] = {
        "{'name': 'off', 'policy_type': 'access', 'is_active': false,"
        " 'rules': [{'id': 'x', 'path': '/x', 'effect': 'deny',"
        " 'anyone': true}]}",
        "{'name': 'off-ip', 'policy_type': 'ip', 'is_active': false,"
        " 'rules': {'deny': ['0.0.0.0/0']}}",
        "{'name': 'on', 'policy_type': 'access', 'rules': ["
        "{'id': 'y', 'path': '/y', 'effect': 'allow', 'anyone': true}]}",
        NULL
    };

    (void) state;

    set = test_set(docs);

    test_expect(test_eval(set, "GET", "/x", NULL), KERYU_EFFECT_NONE, NULL);
    test_expect(test_eval(set, "GET", "/y", NULL), KERYU_EFFECT_ALLOW, "y");
    assert_int_equal(keryu_policy_set_rules(set), 1);
    assert_int_equal(keryu_policy_set_policies(set), 3);

    keryu_policy_set_free(set);

    /* an inactive policy with an error is still refused */

    json = test_json("{'name': 'off', 'policy_type': 'access',"
                     " 'is_active': false, 'rules': [{'id': 'x',"
                     " 'path': 'x', 'effect': 'deny', 'anyone': true}]}");

    set = keryu_policy_set_create();
    assert_non_null(set);
    assert_int_equal(keryu_policy_set_add(set, json, strlen(json), err,
                                          sizeof(err)),
                     -1);
    keryu_policy_set_free(set);
}


/* ---- ip ---- */


static void
ip_lists_allow_and_deny_v4_v6_cidr_and_mapped(void **state)
{
    keryu_policy_set_t       *set;
    keryu_policy_decision_t   d;
    const char               *docs[] = {
        "{'name': 'nets', 'policy_type': 'ip', 'rules': {"
        " 'allow': ['10.0.0.0/8', '192.168.1.7', '2001:db8::/32',"
        " '10.1.0.0/16', '::1'],"
        " 'deny': ['10.9.0.0/16', '2001:db8:bad::/48']}}",
        "{'name': 'web', 'policy_type': 'access', 'rules': ["
        "{'id': 'all', 'path': '/', 'match': 'prefix', 'effect': 'allow',"
        " 'anyone': true}]}",
        NULL
    };

    (void) state;

    set = test_set(docs);

    test_expect(test_eval_full(set, "GET", NULL, "/", "10.2.3.4", NULL),
                KERYU_EFFECT_ALLOW, "all");
    test_expect(test_eval_full(set, "GET", NULL, "/", "192.168.1.7", NULL),
                KERYU_EFFECT_ALLOW, "all");
    test_expect(test_eval_full(set, "GET", NULL, "/", "2001:db8:1::5", NULL),
                KERYU_EFFECT_ALLOW, "all");
    test_expect(test_eval_full(set, "GET", NULL, "/", "::1", NULL),
                KERYU_EFFECT_ALLOW, "all");

    /* IPv4-mapped IPv6 clients match IPv4 entries */

    test_expect(test_eval_full(set, "GET", NULL, "/", "::ffff:10.2.3.4",
                               NULL),
                KERYU_EFFECT_ALLOW, "all");
    test_expect(test_eval_full(set, "GET", NULL, "/", "::ffff:10.9.3.4",
                               NULL),
                KERYU_EFFECT_DENY, "ip");

    /* missing from the allow list */

    d = test_eval_full(set, "GET", NULL, "/", "192.168.1.8", NULL);
    test_expect(d, KERYU_EFFECT_DENY, "ip");
    assert_string_equal(d.policy, "nets");

    test_expect(test_eval_full(set, "GET", NULL, "/", "11.0.0.0", NULL),
                KERYU_EFFECT_DENY, "ip");
    test_expect(test_eval_full(set, "GET", NULL, "/", "9.255.255.255", NULL),
                KERYU_EFFECT_DENY, "ip");
    test_expect(test_eval_full(set, "GET", NULL, "/", "2001:db9::1", NULL),
                KERYU_EFFECT_DENY, "ip");
    test_expect(test_eval_full(set, "GET", NULL, "/", "::2", NULL),
                KERYU_EFFECT_DENY, "ip");

    /* deny wins inside an allowed range */

    test_expect(test_eval_full(set, "GET", NULL, "/", "10.9.255.255", NULL),
                KERYU_EFFECT_DENY, "ip");
    test_expect(test_eval_full(set, "GET", NULL, "/", "2001:db8:bad::1",
                               NULL),
                KERYU_EFFECT_DENY, "ip");
    test_expect(test_eval_full(set, "GET", NULL, "/", "2001:db8:bae::1",
                               NULL),
                KERYU_EFFECT_ALLOW, "all");

    /* an unknown address fails a non-empty allow list */

    test_expect(test_eval_full(set, "GET", NULL, "/", NULL, NULL),
                KERYU_EFFECT_DENY, "ip");

    keryu_policy_set_free(set);
}


static void
ip_deny_only_policy_passes_everyone_else(void **state)
{
    keryu_policy_set_t       *set;
    keryu_policy_decision_t   d;
    const char               *docs[] = {
        "{'name': 'z-block', 'policy_type': 'ip', 'rules': {"
        " 'deny': ['192.0.2.0/24', '::ffff:198.51.100.0/120']}}",
        "{'name': 'a-block', 'policy_type': 'ip', 'priority': 100,"
        " 'rules': {'allow': [], 'deny': ['192.0.2.128/25']}}",
        "{'name': 'trial', 'policy_type': 'ip', 'shadow': true,"
        " 'priority': 1, 'rules': {'deny': ['203.0.113.0/24',"
        " '192.0.2.0/24']}}",
        NULL
    };

    (void) state;

    set = test_set(docs);

    d = test_eval_full(set, "GET", NULL, "/", "192.0.2.1", NULL);
    test_expect(d, KERYU_EFFECT_DENY, "ip");
    assert_string_equal(d.policy, "z-block");
    assert_string_equal(d.shadow_policy, "trial");

    /* both deny: the first by name decides */

    d = test_eval_full(set, "GET", NULL, "/", "192.0.2.200", NULL);
    assert_string_equal(d.policy, "a-block");

    test_expect(test_eval_full(set, "GET", NULL, "/", "198.51.100.9", NULL),
                KERYU_EFFECT_DENY, "ip");

    /* the shadow policy only reports */

    d = test_eval_full(set, "GET", NULL, "/", "203.0.113.5", NULL);
    test_expect(d, KERYU_EFFECT_NONE, NULL);
    assert_string_equal(d.shadow_policy, "trial");
    assert_string_equal(d.shadow_rule, "ip");

    test_expect(test_eval_full(set, "GET", NULL, "/", "192.0.3.1", NULL),
                KERYU_EFFECT_NONE, NULL);
    test_expect(test_eval_full(set, "GET", NULL, "/", NULL, NULL),
                KERYU_EFFECT_NONE, NULL);

    assert_int_equal(keryu_policy_set_rules(set), 3);

    keryu_policy_set_free(set);
}


/* ---- the index ---- */


/*
 * a policy of n rules on distinct paths, "/svc/<i>/items/{id}" and
 * "/static/<i>/", plus a few rules that every request passes
 */

static char *
test_big_policy(size_t n)
{
    char    *doc;
    size_t   i, len, size;

    size = 256 + n * 160;
    doc = malloc(size);
    assert_non_null(doc);

    len = snprintf(doc, size, "{\"name\": \"big\", \"policy_type\": "
                   "\"access\", \"rules\": [{\"id\": \"root\", \"path\": "
                   "\"/\", \"match\": \"prefix\", \"effect\": \"deny\", "
                   "\"users\": [\"mallory\"]}");

    for (i = 0; i < n; i++) {
        len += snprintf(doc + len, size - len,
                        ", {\"id\": \"r%zu\", \"path\": "
                        "\"/svc/%zu/items/{id}\", \"methods\": [\"GET\"], "
                        "\"effect\": \"allow\", \"owner\": {\"segment\": "
                        "\"id\", \"claim\": \"orders\"}}", i, i);
        assert_true(len < size);
    }

    len += snprintf(doc + len, size - len, "]}");
    assert_true(len < size);

    return doc;
}


static double
test_cpu_time(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);

    return ts.tv_sec + ts.tv_nsec / 1e9;
}


static keryu_policy_set_t *
test_big_set(size_t n)
{
    char                 err[KERYU_POLICY_ERR_MAX], *doc;
    keryu_policy_set_t  *set;

    doc = test_big_policy(n);

    set = keryu_policy_set_create();
    assert_non_null(set);

    if (keryu_policy_set_add(set, doc, strlen(doc), err, sizeof(err)) != 0) {
        fail_msg("keryu_policy_set_add() failed: %s", err);
    }

    free(doc);

    assert_int_equal(keryu_policy_set_finish(set, err, sizeof(err)), 0);
    assert_int_equal(keryu_policy_set_rules(set), n + 1);

    return set;
}


static void
index_work_does_not_grow_with_the_number_of_rules(void **state)
{
    int                       i;
    char                      path[64];
    double                    t0, t_small, t_big;
    size_t                    visited[2];
    test_ident_t              alice = { "alice", "user", "7" };
    keryu_policy_set_t       *small, *big;
    keryu_policy_decision_t   d;

    (void) state;

    small = test_big_set(TEST_SMALL_RULES);
    big = test_big_set(TEST_BIG_RULES);

    snprintf(path, sizeof(path), "/svc/%d/items/7", TEST_SMALL_RULES / 2);

    d = test_eval(small, "GET", path, &alice);
    test_expect(d, KERYU_EFFECT_ALLOW, "r25");
    visited[0] = d.visited;

    d = test_eval(big, "GET", path, &alice);
    test_expect(d, KERYU_EFFECT_ALLOW, "r25");
    visited[1] = d.visited;

    /* the prefix rule on "/" and the one rule on the path: nothing else */

    assert_int_equal(visited[0], 2);
    assert_int_equal(visited[1], 2);

    d = test_eval(big, "GET", "/svc/4999/items/8", &alice);
    test_expect(d, KERYU_EFFECT_NONE, NULL);
    assert_int_equal(d.visited, 2);

    d = test_eval(big, "GET", "/svc/5000/items/7", &alice);
    test_expect(d, KERYU_EFFECT_NONE, NULL);
    assert_int_equal(d.visited, 1);

    /* CPU time is printed, not asserted: the counts above are the proof */

    t0 = test_cpu_time();

    for (i = 0; i < TEST_EVALS; i++) {
        d = test_eval(small, "GET", path, &alice);
    }

    t_small = test_cpu_time() - t0;

    t0 = test_cpu_time();

    for (i = 0; i < TEST_EVALS; i++) {
        d = test_eval(big, "GET", path, &alice);
    }

    t_big = test_cpu_time() - t0;

    print_message("      %d evaluations: %d rules %.0f ns each, %d rules "
                  "%.0f ns each\n", TEST_EVALS, TEST_SMALL_RULES,
                  t_small * 1e9 / TEST_EVALS, TEST_BIG_RULES,
                  t_big * 1e9 / TEST_EVALS);

    keryu_policy_set_free(small);
    keryu_policy_set_free(big);
}


/* ---- the demo's policies ---- */


static int
test_demo_add(void *ctx, size_t index, const char *doc, size_t len)
{
    char                 err[KERYU_POLICY_ERR_MAX];
    keryu_policy_set_t  *set = ctx;

    (void) index;

    if (keryu_policy_set_add(set, doc, len, err, sizeof(err)) != 0) {
        fail_msg("conf/policies/demo.json: %s", err);
    }

    return 0;
}


static void
demo_policies_give_the_demo_its_access(void **state)
{
    char                     err[KERYU_POLICY_ERR_MAX], *buf;
    FILE                    *f;
    size_t                   len;
    test_ident_t             alice = { "alice", "user", "1" };
    test_ident_t             bob = { "bob", "user", "2" };
    test_ident_t             root = { "root", "admin", NULL };
    keryu_policy_set_t      *set;
    keryu_policy_decision_t  d;

    (void) state;

    /* make runs the unit tests from the top of the tree */

    f = fopen("conf/policies/demo.json", "r");
    if (f == NULL) {
        skip();
    }

    buf = malloc(65536);
    assert_non_null(buf);

    len = fread(buf, 1, 65536, f);
    fclose(f);

    set = keryu_policy_set_create();
    assert_non_null(set);

    assert_int_equal(keryu_policy_split(buf, len, test_demo_add, set, err,
                                        sizeof(err)),
                     0);
    assert_int_equal(keryu_policy_set_finish(set, err, sizeof(err)), 0);

    free(buf);

    test_expect(test_eval(set, "GET", "/", NULL), KERYU_EFFECT_ALLOW,
                "public-pages");
    test_expect(test_eval(set, "GET", "/health", NULL), KERYU_EFFECT_ALLOW,
                "health");
    test_expect(test_eval(set, "POST", "/login", NULL), KERYU_EFFECT_ALLOW,
                "login");
    test_expect(test_eval(set, "POST", "/logout", &alice),
                KERYU_EFFECT_ALLOW, "logout");

    test_expect(test_eval(set, "GET", "/api/me", &alice), KERYU_EFFECT_ALLOW,
                "me");
    test_expect(test_eval(set, "GET", "/api/me", NULL), KERYU_EFFECT_NONE,
                NULL);

    test_expect(test_eval(set, "GET", "/api/orders/1", &alice),
                KERYU_EFFECT_ALLOW, "own-orders");
    test_expect(test_eval(set, "GET", "/api/orders/1", &bob),
                KERYU_EFFECT_NONE, NULL);
    test_expect(test_eval(set, "GET", "/api/orders/1", &root),
                KERYU_EFFECT_ALLOW, "orders-admin");
    test_expect(test_eval(set, "DELETE", "/api/orders/1", &alice),
                KERYU_EFFECT_NONE, NULL);

    test_expect(test_eval(set, "GET", "/admin/users", &root),
                KERYU_EFFECT_ALLOW, "admin-area");
    test_expect(test_eval(set, "GET", "/admin/users", &alice),
                KERYU_EFFECT_NONE, NULL);

    d = test_eval_full(set, "GET", NULL, "/", "192.0.2.10", NULL);
    test_expect(d, KERYU_EFFECT_DENY, "ip");
    assert_string_equal(d.policy, "demo-ip");

    test_expect(test_eval_full(set, "GET", NULL, "/", "::1", NULL),
                KERYU_EFFECT_ALLOW, "public-pages");
    test_expect(test_eval_full(set, "GET", NULL, "/", NULL, NULL),
                KERYU_EFFECT_ALLOW, "public-pages");

    keryu_policy_set_free(set);
}


/* ---- keryud's helpers ---- */


typedef struct {
    size_t               n;
    char                 names[4][80];
} test_split_t;


static int
test_split_handler(void *ctx, size_t index, const char *doc, size_t len)
{
    char           err[KERYU_POLICY_ERR_MAX];
    test_split_t  *t = ctx;

    assert_int_equal(index, t->n);
    assert_int_equal(strlen(doc), len);

    if (keryu_policy_validate(doc, len, t->names[t->n], 80, err, sizeof(err))
        != 0)
    {
        return 7;
    }

    t->n++;

    return 0;
}


static void
split_hands_over_each_document_of_an_array(void **state)
{
    char          err[KERYU_POLICY_ERR_MAX];
    const char   *json;
    test_split_t  t;

    (void) state;

    memset(&t, 0, sizeof(test_split_t));

    json = test_json("[{'name': 'a', 'policy_type': 'ip', 'rules': {}},"
                     " {'name': 'b', 'policy_type': 'ip', 'rules': {},"
                     " 'priority': 5}]");

    assert_int_equal(keryu_policy_split(json, strlen(json),
                                        test_split_handler, &t, err,
                                        sizeof(err)),
                     0);
    assert_int_equal(t.n, 2);
    assert_string_equal(t.names[0], "a");
    assert_string_equal(t.names[1], "b");

    memset(&t, 0, sizeof(test_split_t));

    json = test_json("{'name': 'c', 'policy_type': 'ip', 'rules': {}}");

    assert_int_equal(keryu_policy_split(json, strlen(json),
                                        test_split_handler, &t, err,
                                        sizeof(err)),
                     0);
    assert_int_equal(t.n, 1);

    /* the handler's code stops the walk */

    memset(&t, 0, sizeof(test_split_t));

    json = test_json("[{'name': 'a', 'policy_type': 'ip', 'rules': {}},"
                     " {'name': 'b'}, {'name': 'c'}]");

    assert_int_equal(keryu_policy_split(json, strlen(json),
                                        test_split_handler, &t, err,
                                        sizeof(err)),
                     7);
    assert_int_equal(t.n, 1);

    json = "42";
    assert_int_equal(keryu_policy_split(json, strlen(json),
                                        test_split_handler, &t, err,
                                        sizeof(err)),
                     -1);
    assert_string_equal(err, "expecting a policy or an array of policies");
}


static void
stamp_replaces_the_times_and_keeps_the_rest(void **state)
{
    char         err[KERYU_POLICY_ERR_MAX], *out;
    size_t       len;
    const char  *json;

    (void) state;

    json = test_json("{'name': 'a', 'created_at': 'old', 'priority': 5,"
                     " 'updated_at': 'old', 'rules': {'deny': ['1.2.3.4']},"
                     " 'policy_type': 'ip', 'description': 'caf\\u00e9'}");

    assert_int_equal(keryu_policy_stamp(json, strlen(json), "c1", "u1", &out,
                                        &len, err, sizeof(err)),
                     0);

    assert_string_equal(out, "{\"name\":\"a\",\"priority\":5,\"rules\":"
                        "{\"deny\":[\"1.2.3.4\"]},\"policy_type\":\"ip\","
                        "\"description\":\"caf\xc3\xa9\",\"created_at\":"
                        "\"c1\",\"updated_at\":\"u1\"}");
    assert_int_equal(strlen(out), len);

    free(out);
}


/* ---- threshold rules ---- */


static void
threshold_rules_compile_in_name_order_with_defaults(void **state)
{
    size_t                          n;
    keryu_policy_set_t             *set;
    const keryu_threshold_t        *t;
    const keryu_threshold_t *const *rules;

    (void) state;

    set = test_set((const char *const []) {
        "{'name': 'z-late', 'policy_type': 'threshold', 'rules': ["
        " {'id': 'a', 'group_by': 'user', 'count': 3, 'window': '90s',"
        "  'action': 'block', 'duration': '10m'}]}",
        "{'name': 'a-early', 'policy_type': 'threshold', 'shadow': true,"
        " 'rules': ["
        " {'id': 'enum', 'group_by': 'ip+user', 'count': 100,"
        "  'window': '5m', 'pattern': '/api/orders/{id}', 'distinct': 'id',"
        "  'severity': 'high', 'action': 'block', 'duration': '1h',"
        "  'max_duration': '1d'},"
        " {'id': 'fail', 'types': ['auth_failure', 'login'],"
        "  'status': [401, 403], 'group_by': 'ip', 'count': 10,"
        "  'window': '1m'}]}",
        "{'name': 'off', 'policy_type': 'threshold', 'is_active': false,"
        " 'rules': [{'id': 'x', 'group_by': 'ip', 'count': 1,"
        "  'window': '1s'}]}",
        NULL });

    n = keryu_policy_set_thresholds(set, &rules);
    assert_int_equal(n, 3);

    /* access rules and the module's rule count do not see them */
    assert_int_equal(keryu_policy_set_rules(set), 0);

    t = rules[0];
    assert_string_equal(t->policy, "a-early");
    assert_string_equal(t->id, "enum");
    assert_int_equal(t->group, KERYU_GROUP_IP_USER);
    assert_int_equal(t->distinct, KERYU_DISTINCT_SEGMENT);
    assert_int_equal(t->segment, 2);
    assert_int_equal(t->severity, KERYU_SEVERITY_HIGH);
    assert_int_equal(t->block, KERYU_GROUP_IP);
    assert_true(t->shadow);
    assert_int_equal(t->duration_ms, 3600 * 1000);
    assert_int_equal(t->max_duration_ms, 86400 * 1000);

    t = rules[1];
    assert_string_equal(t->id, "fail");
    assert_int_equal(t->types, (1u << KERYU_EVENT_AUTH_FAILURE)
                               | (1u << KERYU_EVENT_LOGIN));
    assert_int_equal(t->nstatuses, 2);
    assert_int_equal(t->count, 10);
    assert_int_equal(t->window_ms, 60 * 1000);
    assert_int_equal(t->severity, KERYU_SEVERITY_MEDIUM);
    assert_int_equal(t->block, 0);

    t = rules[2];
    assert_string_equal(t->policy, "z-late");
    assert_int_equal(t->block, KERYU_GROUP_USER);
    assert_false(t->shadow);
    assert_int_equal(t->window_ms, 90 * 1000);
    assert_int_equal(t->max_duration_ms, 86400 * 1000);

    keryu_policy_set_free(set);
}


static void
threshold_match_checks_type_status_path_and_pattern(void **state)
{
    size_t                          n, len;
    const char                     *seg;
    keryu_policy_set_t             *set;
    const keryu_threshold_t *const *r;

    (void) state;

    set = test_set((const char *const []) {
        "{'name': 't', 'policy_type': 'threshold', 'rules': ["
        " {'id': 'a-login', 'types': ['auth_failure'], 'status': [401],"
        "  'path': '/login', 'group_by': 'ip', 'count': 2, 'window': '1m'},"
        " {'id': 'b-orders', 'pattern': '/api/{kind}/{id}',"
        "  'distinct': 'id', 'group_by': 'user', 'count': 2,"
        "  'window': '1m'},"
        " {'id': 'c-below', 'path': '/admin/', 'group_by': 'ip',"
        "  'count': 2, 'window': '1m'},"
        " {'id': 'd-any', 'group_by': 'ip', 'count': 2, 'window': '1m'}]}",
        NULL });

    n = keryu_policy_set_thresholds(set, &r);
    assert_int_equal(n, 4);

#define M(i, type, status, uri)                                              \
    keryu_threshold_match(r[i], type, status, uri, strlen(uri), &seg, &len)

    assert_true(M(0, KERYU_EVENT_AUTH_FAILURE, 401, "/login"));
    assert_true(M(0, KERYU_EVENT_AUTH_FAILURE, 401, "/login?next=/x"));
    assert_true(M(0, KERYU_EVENT_AUTH_FAILURE, 401, "/login/form"));
    assert_false(M(0, KERYU_EVENT_AUTH_FAILURE, 401, "/loginx"));
    assert_false(M(0, KERYU_EVENT_AUTH_FAILURE, 403, "/login"));
    assert_false(M(0, KERYU_EVENT_REQUEST, 401, "/login"));

    assert_true(M(1, KERYU_EVENT_REQUEST, 200, "/api/orders/17?full=1"));
    assert_int_equal(len, 2);
    assert_memory_equal(seg, "17", 2);
    assert_false(M(1, KERYU_EVENT_REQUEST, 200, "/api/orders/17/items"));
    assert_false(M(1, KERYU_EVENT_REQUEST, 200, "/api/orders/"));
    assert_false(M(1, KERYU_EVENT_REQUEST, 200, "/api/orders"));
    assert_false(M(1, KERYU_EVENT_REQUEST, 200, "*"));

    assert_true(M(2, KERYU_EVENT_REQUEST, 200, "/admin/"));
    assert_true(M(2, KERYU_EVENT_REQUEST, 200, "/admin/users"));
    assert_false(M(2, KERYU_EVENT_REQUEST, 200, "/admin"));

    assert_true(M(3, KERYU_EVENT_SYSTEM_CHANGE, 0, ""));

#undef M

    keryu_policy_set_free(set);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(every_refusal_names_its_field_or_rule),
        cmocka_unit_test(valid_document_returns_its_name_and_defaults),
        cmocka_unit_test(set_refuses_a_name_given_twice_and_stays_usable),
        cmocka_unit_test(exact_match_takes_the_whole_path_only),
        cmocka_unit_test(prefix_match_keeps_to_segment_boundaries),
        cmocka_unit_test(prefix_without_slash_does_not_cover_a_longer_segment),
        cmocka_unit_test(pattern_segment_matches_one_non_empty_segment),
        cmocka_unit_test(deep_request_paths_are_walked_as_deep_as_rules_go),
        cmocka_unit_test(methods_and_host_narrow_a_rule),
        cmocka_unit_test(each_condition_holds_only_for_its_callers),
        cmocka_unit_test(owner_compares_the_bound_segment_with_a_claim),
        cmocka_unit_test(policies_run_by_priority_then_name_then_rule_order),
        cmocka_unit_test(rule_order_decides_between_prefix_and_exact_rules),
        cmocka_unit_test(nothing_matching_leaves_the_effect_none),
        cmocka_unit_test(shadow_rule_is_reported_and_evaluation_goes_on),
        cmocka_unit_test(shadow_policy_never_decides),
        cmocka_unit_test(inactive_policies_are_checked_but_not_enforced),
        cmocka_unit_test(ip_lists_allow_and_deny_v4_v6_cidr_and_mapped),
        cmocka_unit_test(ip_deny_only_policy_passes_everyone_else),
        cmocka_unit_test(index_work_does_not_grow_with_the_number_of_rules),
        cmocka_unit_test(demo_policies_give_the_demo_its_access),
        cmocka_unit_test(split_hands_over_each_document_of_an_array),
        cmocka_unit_test(stamp_replaces_the_times_and_keeps_the_rest),
        cmocka_unit_test(threshold_rules_compile_in_name_order_with_defaults),
        cmocka_unit_test(threshold_match_checks_type_status_path_and_pattern),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
