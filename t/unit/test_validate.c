
/*
 * Copyright (C) Keryu Security
 *
 * Unit tests for the input checks (keryu_validate.c) and for validation
 * policies (keryu_policy.c): every encoding trick in a table, decoding and
 * splitting arguments, each argument type with its bounds, patterns and
 * their limits, and the policy compiler's refusals and its lookup of the
 * rules that cover a path.  Documents are written with single quotes,
 * which test_json() turns into double ones.
 */


#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "keryu_validate.h"
#include "keryu_policy.h"


#define TEST_DOC_MAX     4096
#define TEST_RULES_MAX   8


typedef struct {
    const char          *text;
    int                  code;
} test_case_t;


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


static int
test_uri(const char *s)
{
    int             rc;
    size_t          len;
    unsigned char  *scratch, *copy;

    len = strlen(s);

    /* exact sizes, so that the sanitizers see any overrun */

    copy = malloc(len + 1);
    scratch = malloc(len + 1);
    assert_non_null(copy);
    assert_non_null(scratch);

    memcpy(copy, s, len);

    rc = keryu_validate_uri(copy, len, scratch);

    assert_memory_equal(copy, s, len);

    free(copy);
    free(scratch);

    return rc;
}


static int
test_text(const char *s, size_t len)
{
    int             rc;
    unsigned char  *scratch;

    scratch = malloc(len + 1);
    assert_non_null(scratch);

    rc = keryu_validate_text((const unsigned char *) s, len, scratch);

    free(scratch);

    return rc;
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


static size_t
test_lookup(keryu_policy_set_t *set, const char *path,
    const keryu_validation_t **rules)
{
    return keryu_policy_validations(set, path, strlen(path), rules,
                                    TEST_RULES_MAX);
}


/* ---- encoding ---- */


static void
encoding_tricks_in_the_request_target(void **state)
{
    size_t  i;

    static const test_case_t  cases[] = {
        { "/", KERYU_VALID_OK },
        { "/api/orders/17?full=1&x=a%20b", KERYU_VALID_OK },
        { "/caf%C3%A9/na%C3%AFve", KERYU_VALID_OK },
        { "/caf\xc3\xa9", KERYU_VALID_OK },
        { "/a..b/c...d/.../x", KERYU_VALID_OK },
        { "/100%25/discount?p=50%25", KERYU_VALID_OK },
        { "/%zz/%/%2", KERYU_VALID_OK },
        { "/a/.hidden/./b", KERYU_VALID_OK },

        { "/a/../b", KERYU_VALID_TRAVERSAL },
        { "/..", KERYU_VALID_TRAVERSAL },
        { "..", KERYU_VALID_TRAVERSAL },
        { "/a/..\\b", KERYU_VALID_TRAVERSAL },
        { "/a\\..\\b", KERYU_VALID_TRAVERSAL },
        { "/a/..;/b", KERYU_VALID_TRAVERSAL },
        { "/a/..?x=1", KERYU_VALID_TRAVERSAL },
        { "/a/%2e%2e/b", KERYU_VALID_TRAVERSAL },
        { "/a/%2E%2E%2Fb", KERYU_VALID_TRAVERSAL },
        { "/a/..%2fb", KERYU_VALID_TRAVERSAL },
        { "/a/..%5cb", KERYU_VALID_TRAVERSAL },
        { "/a/.%2e/b", KERYU_VALID_TRAVERSAL },
        { "/a/%252e%252e/b", KERYU_VALID_TRAVERSAL },
        { "/a/%252e%252e%252fb", KERYU_VALID_TRAVERSAL },
        { "/a/%25252e%25252e/b", KERYU_VALID_TRAVERSAL },
        { "/a/%u002e%u002e/b", KERYU_VALID_TRAVERSAL },
        { "/a/%U002E%U002E%U2215b", KERYU_VALID_OK },
        { "/f?path=..%2f..%2fetc%2fpasswd", KERYU_VALID_TRAVERSAL },

        { "/a/%c0%ae%c0%ae/b", KERYU_VALID_OVERLONG },
        { "/a/%c0%af", KERYU_VALID_OVERLONG },
        { "/a/%c1%9c", KERYU_VALID_OVERLONG },
        { "/a/%e0%80%ae", KERYU_VALID_OVERLONG },
        { "/a/%f0%80%80%ae", KERYU_VALID_OVERLONG },
        { "/a/%f8%80%80%80%ae", KERYU_VALID_OVERLONG },
        { "/a/%fc%80%80%80%80%ae", KERYU_VALID_OVERLONG },
        { "/a/%25c0%25ae", KERYU_VALID_OVERLONG },
        { "/a/\xc0\xae", KERYU_VALID_OVERLONG },

        { "/a%00b", KERYU_VALID_NUL },
        { "/a%2500b", KERYU_VALID_NUL },
        { "/a?x=%u0000", KERYU_VALID_NUL },

        { "/a/%ff", KERYU_VALID_UTF8 },
        { "/a/%80", KERYU_VALID_UTF8 },
        { "/a/%c3", KERYU_VALID_UTF8 },
        { "/a/%c3%28", KERYU_VALID_UTF8 },
        { "/a/%ed%a0%80", KERYU_VALID_UTF8 },
        { "/a/%f4%90%80%80", KERYU_VALID_UTF8 },
        { "/a/\xff", KERYU_VALID_UTF8 },
        { "/a?q=caf%E9", KERYU_VALID_UTF8 },
        { "/a/%ud800", KERYU_VALID_UTF8 },

        /* past the first decoding, bytes that are not UTF-8 may be data */
        { "/a/%25ff", KERYU_VALID_OK },
    };

    (void) state;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (test_uri(cases[i].text) != cases[i].code) {
            fail_msg("\"%s\": %s, expected %s", cases[i].text,
                     keryu_validate_reason(test_uri(cases[i].text)),
                     keryu_validate_reason(cases[i].code));
        }
    }

    /* a raw NUL byte in the middle */

    assert_int_equal(test_text("a\0b", 3), KERYU_VALID_NUL);
}


static void
decoded_values_are_checked_from_their_first_decoding(void **state)
{
    (void) state;

    assert_int_equal(test_text("../etc/passwd", 13), KERYU_VALID_TRAVERSAL);
    assert_int_equal(test_text("..", 2), KERYU_VALID_TRAVERSAL);
    assert_int_equal(test_text("a\\..", 4), KERYU_VALID_TRAVERSAL);
    assert_int_equal(test_text("%2e%2e%2f", 9), KERYU_VALID_TRAVERSAL);
    assert_int_equal(test_text("%252e%252e%252f", 15),
                     KERYU_VALID_TRAVERSAL);
    assert_int_equal(test_text("%00", 3), KERYU_VALID_NUL);
    assert_int_equal(test_text("%c0%ae", 6), KERYU_VALID_OVERLONG);

    /* one decoding is done already: a raw byte above 0x7f is checked */

    assert_int_equal(test_text("caf\xe9", 4), KERYU_VALID_UTF8);
    assert_int_equal(test_text("caf\xc3\xa9", 5), KERYU_VALID_OK);

    /* but what a second decoding leaves need not be UTF-8 */

    assert_int_equal(test_text("100%ff", 6), KERYU_VALID_OK);
    assert_int_equal(test_text("a..b", 4), KERYU_VALID_OK);
    assert_int_equal(test_text("", 0), KERYU_VALID_OK);
}


static void
unescape_decodes_as_forms_do(void **state)
{
    size_t          n;
    unsigned char   out[64];

    (void) state;

    n = keryu_validate_unescape(out, (unsigned char *) "a+b%20c%2B%zz%4", 15,
                                1);
    assert_int_equal(n, 11);
    assert_memory_equal(out, "a b c+%zz%4", 11);

    n = keryu_validate_unescape(out, (unsigned char *) "a+b", 3, 0);
    assert_memory_equal(out, "a+b", n);

    /* in place */

    memcpy(out, "x%41%42y", 8);
    n = keryu_validate_unescape(out, out, 8, 1);
    assert_int_equal(n, 4);
    assert_memory_equal(out, "xABy", 4);
}


static void
args_split_on_ampersands_and_skip_empty_pieces(void **state)
{
    const unsigned char  *p, *end;
    keryu_arg_pair_t      pair;

    static const char     args[] = "a=1&&b&=x&c=d=e&";

    (void) state;

    p = (const unsigned char *) args;
    end = p + sizeof(args) - 1;

    assert_true(keryu_args_next(&p, end, &pair));
    assert_int_equal(pair.name_len, 1);
    assert_memory_equal(pair.name, "a", 1);
    assert_int_equal(pair.value_len, 1);
    assert_memory_equal(pair.value, "1", 1);

    assert_true(keryu_args_next(&p, end, &pair));
    assert_memory_equal(pair.name, "b", 1);
    assert_null(pair.value);

    assert_true(keryu_args_next(&p, end, &pair));
    assert_int_equal(pair.name_len, 0);
    assert_int_equal(pair.value_len, 1);

    assert_true(keryu_args_next(&p, end, &pair));
    assert_memory_equal(pair.name, "c", 1);
    assert_int_equal(pair.value_len, 3);
    assert_memory_equal(pair.value, "d=e", 3);

    assert_false(keryu_args_next(&p, end, &pair));
}


/* ---- argument types ---- */


static int
test_check(const keryu_arg_spec_t *a, const char *v)
{
    return keryu_arg_check(a, (const unsigned char *) v, strlen(v));
}


static void
integers_with_bounds_and_overflow(void **state)
{
    int64_t           n;
    keryu_arg_spec_t  a;

    (void) state;

    memset(&a, 0, sizeof(a));
    a.type = KERYU_ARG_INTEGER;
    a.maxlen = SIZE_MAX;

    assert_int_equal(test_check(&a, "0"), KERYU_VALID_OK);
    assert_int_equal(test_check(&a, "-17"), KERYU_VALID_OK);
    assert_int_equal(test_check(&a, "007"), KERYU_VALID_OK);
    assert_int_equal(test_check(&a, ""), KERYU_VALID_INTEGER);
    assert_int_equal(test_check(&a, "-"), KERYU_VALID_INTEGER);
    assert_int_equal(test_check(&a, "+1"), KERYU_VALID_INTEGER);
    assert_int_equal(test_check(&a, "1.5"), KERYU_VALID_INTEGER);
    assert_int_equal(test_check(&a, "1e3"), KERYU_VALID_INTEGER);
    assert_int_equal(test_check(&a, " 1"), KERYU_VALID_INTEGER);
    assert_int_equal(test_check(&a, "0x10"), KERYU_VALID_INTEGER);

    assert_int_equal(keryu_validate_integer((unsigned char *)
                                            "9223372036854775807", 19, &n),
                     KERYU_VALID_OK);
    assert_true(n == INT64_MAX);
    assert_int_equal(keryu_validate_integer((unsigned char *)
                                            "-9223372036854775808", 20, &n),
                     KERYU_VALID_OK);
    assert_true(n == INT64_MIN);
    assert_int_equal(test_check(&a, "9223372036854775808"), KERYU_VALID_RANGE);
    assert_int_equal(test_check(&a, "-9223372036854775809"),
                     KERYU_VALID_RANGE);
    assert_int_equal(test_check(&a, "99999999999999999999x"),
                     KERYU_VALID_INTEGER);

    a.has_min = 1;
    a.min = 1;
    a.has_max = 1;
    a.max = 100;

    assert_int_equal(test_check(&a, "1"), KERYU_VALID_OK);
    assert_int_equal(test_check(&a, "100"), KERYU_VALID_OK);
    assert_int_equal(test_check(&a, "0"), KERYU_VALID_RANGE);
    assert_int_equal(test_check(&a, "101"), KERYU_VALID_RANGE);
    assert_int_equal(test_check(&a, "-5"), KERYU_VALID_RANGE);
}


static void
uuids_emails_and_enums(void **state)
{
    keryu_arg_spec_t   a;

    static const char    *values[] = { "asc", "desc" };
    static const size_t   lens[] = { 3, 4 };

    (void) state;

    memset(&a, 0, sizeof(a));
    a.maxlen = SIZE_MAX;

    a.type = KERYU_ARG_UUID;
    assert_int_equal(test_check(&a, "123e4567-e89b-12d3-a456-426614174000"),
                     KERYU_VALID_OK);
    assert_int_equal(test_check(&a, "123E4567-E89B-12D3-A456-426614174000"),
                     KERYU_VALID_OK);
    assert_int_equal(test_check(&a, "123e4567e89b12d3a456426614174000"),
                     KERYU_VALID_UUID);
    assert_int_equal(test_check(&a, "123e4567-e89b-12d3-a456-42661417400g"),
                     KERYU_VALID_UUID);
    assert_int_equal(test_check(&a, "{123e4567-e89b-12d3-a456-426614174000}"),
                     KERYU_VALID_UUID);

    a.type = KERYU_ARG_EMAIL;
    assert_int_equal(test_check(&a, "alice@example.com"), KERYU_VALID_OK);
    assert_int_equal(test_check(&a, "a.b+tag@mail.example-1.org"),
                     KERYU_VALID_OK);
    assert_int_equal(test_check(&a, "alice"), KERYU_VALID_EMAIL);
    assert_int_equal(test_check(&a, "@example.com"), KERYU_VALID_EMAIL);
    assert_int_equal(test_check(&a, "alice@"), KERYU_VALID_EMAIL);
    assert_int_equal(test_check(&a, "alice@localhost"), KERYU_VALID_EMAIL);
    assert_int_equal(test_check(&a, "a@b@example.com"), KERYU_VALID_EMAIL);
    assert_int_equal(test_check(&a, ".alice@example.com"), KERYU_VALID_EMAIL);
    assert_int_equal(test_check(&a, "al..ice@example.com"),
                     KERYU_VALID_EMAIL);
    assert_int_equal(test_check(&a, "alice@-example.com"), KERYU_VALID_EMAIL);
    assert_int_equal(test_check(&a, "alice@example-.com"), KERYU_VALID_EMAIL);
    assert_int_equal(test_check(&a, "alice@example..com"), KERYU_VALID_EMAIL);
    assert_int_equal(test_check(&a, "alice@example.com."), KERYU_VALID_EMAIL);
    assert_int_equal(test_check(&a, "al ice@example.com"), KERYU_VALID_EMAIL);
    assert_int_equal(test_check(&a, "al\"ice@example.com"),
                     KERYU_VALID_EMAIL);

    a.type = KERYU_ARG_ENUM;
    a.values = values;
    a.value_lens = lens;
    a.nvalues = 2;
    assert_int_equal(test_check(&a, "asc"), KERYU_VALID_OK);
    assert_int_equal(test_check(&a, "desc"), KERYU_VALID_OK);
    assert_int_equal(test_check(&a, "ASC"), KERYU_VALID_ENUM);
    assert_int_equal(test_check(&a, "as"), KERYU_VALID_ENUM);
    assert_int_equal(test_check(&a, ""), KERYU_VALID_ENUM);
}


static void
string_lengths_count_characters(void **state)
{
    keryu_arg_spec_t  a;

    (void) state;

    memset(&a, 0, sizeof(a));
    a.type = KERYU_ARG_STRING;
    a.minlen = 1;
    a.maxlen = 4;

    assert_int_equal(test_check(&a, "a"), KERYU_VALID_OK);
    assert_int_equal(test_check(&a, "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"),
                     KERYU_VALID_OK);
    assert_int_equal(test_check(&a, ""), KERYU_VALID_SHORT);
    assert_int_equal(test_check(&a, "abcde"), KERYU_VALID_LONG);
}


static void
patterns_match_the_whole_value_within_limits(void **state)
{
    int               rc;
    char              err[128], *big;
    clock_t           start;
    keryu_pattern_t  *p;
    keryu_arg_spec_t  a;

    (void) state;

    p = keryu_pattern_compile("[a-z]+", 6, err, sizeof(err));
    assert_non_null(p);

    memset(&a, 0, sizeof(a));
    a.type = KERYU_ARG_PATTERN;
    a.maxlen = SIZE_MAX;
    a.pattern = p;

    assert_int_equal(test_check(&a, "abc"), KERYU_VALID_OK);
    assert_int_equal(test_check(&a, "abc1"), KERYU_VALID_PATTERN);
    assert_int_equal(test_check(&a, "1abc"), KERYU_VALID_PATTERN);
    assert_int_equal(test_check(&a, ""), KERYU_VALID_PATTERN);

    /* an alternation is anchored as a whole */

    keryu_pattern_free(p);
    p = keryu_pattern_compile("a|b", 3, err, sizeof(err));
    assert_non_null(p);
    a.pattern = p;

    assert_int_equal(test_check(&a, "a"), KERYU_VALID_OK);
    assert_int_equal(test_check(&a, "ab"), KERYU_VALID_PATTERN);

    keryu_pattern_free(p);

    assert_null(keryu_pattern_compile("(", 1, err, sizeof(err)));
    assert_non_null(strstr(err, "at offset"));

    /* a pattern that backtracks without end gives up, and fails */

    p = keryu_pattern_compile("(a|aa)*b", 8, err, sizeof(err));
    assert_non_null(p);

    big = malloc(4096);
    assert_non_null(big);
    memset(big, 'a', 4095);
    big[4095] = '\0';

    start = clock();
    rc = keryu_pattern_match(p, (unsigned char *) big, 4095);

    assert_int_equal(rc, 0);
    assert_true(clock() - start < CLOCKS_PER_SEC);

    free(big);
    keryu_pattern_free(p);
    keryu_pattern_free(NULL);
}


static void
names_and_types(void **state)
{
    (void) state;

    assert_true(keryu_arg_name_valid("id", 2));
    assert_true(keryu_arg_name_valid("ids[]", 5));
    assert_true(keryu_arg_name_valid("a.b-c_d:e", 9));
    assert_false(keryu_arg_name_valid("", 0));
    assert_false(keryu_arg_name_valid("a b", 3));
    assert_false(keryu_arg_name_valid("a\"b", 3));
    assert_false(keryu_arg_name_valid("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                                      "aaaaaaaaaaaaaaaaaaaaaaaaaaa", 65));

    assert_int_equal(keryu_arg_type_parse("integer", 7), KERYU_ARG_INTEGER);
    assert_int_equal(keryu_arg_type_parse("pattern", 7), KERYU_ARG_PATTERN);
    assert_int_equal(keryu_arg_type_parse("int", 3), -1);
    assert_string_equal(keryu_arg_type_name(KERYU_ARG_EMAIL), "email");
    assert_null(keryu_arg_type_name(0));

    assert_string_equal(keryu_validate_reason(KERYU_VALID_OK), "");
    assert_string_equal(keryu_validate_reason(KERYU_VALID_TRAVERSAL),
                        "path traversal");
    assert_string_equal(keryu_validate_reason(99), "invalid");
}


/* ---- validation policies ---- */


static void
every_refusal_names_its_field_or_rule(void **state)
{
    char                 err[KERYU_POLICY_ERR_MAX];
    size_t               i;
    const char          *json;
    keryu_policy_set_t  *set;

    static const test_refusal_t  cases[] = {
        { "{'name': 'v', 'policy_type': 'validation', 'rules': {}}",
          "policy \"v\": \"rules\" must be an array of rules" },
        { "{'name': 'v', 'policy_type': 'validation', 'rules': [{}]}",
          "policy \"v\": rule 1: \"id\" is required" },
        { "{'name': 'v', 'policy_type': 'validation', 'rules': ["
          " {'id': 'r', 'max_args': 3}]}",
          "policy \"v\": rule \"r\": \"path\" is required" },
        { "{'name': 'v', 'policy_type': 'validation', 'rules': ["
          " {'id': 'r', 'path': '/a'}]}",
          "policy \"v\": rule \"r\": a check is required: \"methods\", "
          "\"max_uri_length\", \"max_args\", \"args\", \"segments\" or "
          "\"unknown_args\"" },
        { "{'name': 'v', 'policy_type': 'validation', 'rules': ["
          " {'id': 'r', 'path': '/a', 'effect': 'deny', 'max_args': 1}]}",
          "policy \"v\": rule \"r\": unknown field \"effect\"" },
        { "{'name': 'v', 'policy_type': 'validation', 'rules': ["
          " {'id': 'r', 'path': '/a', 'max_args': -1}]}",
          "policy \"v\": rule \"r\": \"max_args\" must be an integer from 0 "
          "to 100000" },
        { "{'name': 'v', 'policy_type': 'validation', 'rules': ["
          " {'id': 'r', 'path': '/a', 'max_uri_length': 0}]}",
          "policy \"v\": rule \"r\": \"max_uri_length\" must be an integer "
          "from 1 to 1048576" },
        { "{'name': 'v', 'policy_type': 'validation', 'rules': ["
          " {'id': 'r', 'path': '/a', 'unknown_args': 'maybe'}]}",
          "policy \"v\": rule \"r\": \"unknown_args\" must be \"allow\" or "
          "\"deny\"" },
        { "{'name': 'v', 'policy_type': 'validation', 'rules': ["
          " {'id': 'r', 'path': '/a', 'methods': ['get']}]}",
          "policy \"v\": rule \"r\": \"methods\" must be uppercase method "
          "names" },
        { "{'name': 'v', 'policy_type': 'validation', 'rules': ["
          " {'id': 'r', 'path': '/a', 'args': []}]}",
          "policy \"v\": rule \"r\": \"args\" must be an object of argument "
          "specs" },
        { "{'name': 'v', 'policy_type': 'validation', 'rules': ["
          " {'id': 'r', 'path': '/a', 'args': {'a b': {'type': 'string'}}}]}",
          "policy \"v\": rule \"r\": args: \"a b\" is not 1 to 64 of A-Z a-z "
          "0-9 . _ - [ ] :" },
        { "{'name': 'v', 'policy_type': 'validation', 'rules': ["
          " {'id': 'r', 'path': '/a', 'args': {'id': {'type': 'string'},"
          "  'ID': {'type': 'string'}}}]}",
          "policy \"v\": rule \"r\": args: \"ID\" is given twice" },
        { "{'name': 'v', 'policy_type': 'validation', 'rules': ["
          " {'id': 'r', 'path': '/a', 'args': {'id': {}}}]}",
          "policy \"v\": rule \"r\": args \"id\": \"type\" must be "
          "\"string\", \"integer\", \"uuid\", \"email\", \"enum\" or "
          "\"pattern\"" },
        { "{'name': 'v', 'policy_type': 'validation', 'rules': ["
          " {'id': 'r', 'path': '/a', 'args': {'id': 3}}]}",
          "policy \"v\": rule \"r\": args \"id\": must be an object with "
          "\"type\"" },
        { "{'name': 'v', 'policy_type': 'validation', 'rules': ["
          " {'id': 'r', 'path': '/a', 'args': {'id': {'type': 'int'}}}]}",
          "policy \"v\": rule \"r\": args \"id\": \"type\" must be "
          "\"string\", \"integer\", \"uuid\", \"email\", \"enum\" or "
          "\"pattern\"" },
        { "{'name': 'v', 'policy_type': 'validation', 'rules': ["
          " {'id': 'r', 'path': '/a', 'args': {'id': {'type': 'string',"
          "  'colour': 1}}}]}",
          "policy \"v\": rule \"r\": args \"id\": unknown field \"colour\"" },
        { "{'name': 'v', 'policy_type': 'validation', 'rules': ["
          " {'id': 'r', 'path': '/a', 'args': {'id': {'type': 'string',"
          "  'min': 1}}}]}",
          "policy \"v\": rule \"r\": args \"id\": \"min\" needs \"type\": "
          "\"integer\"" },
        { "{'name': 'v', 'policy_type': 'validation', 'rules': ["
          " {'id': 'r', 'path': '/a', 'args': {'id': {'type': 'integer',"
          "  'min': 1.5}}}]}",
          "policy \"v\": rule \"r\": args \"id\": \"min\" must be an "
          "integer" },
        { "{'name': 'v', 'policy_type': 'validation', 'rules': ["
          " {'id': 'r', 'path': '/a', 'args': {'id': {'type': 'integer',"
          "  'min': 5, 'max': 1}}}]}",
          "policy \"v\": rule \"r\": args \"id\": \"min\" is greater than "
          "\"max\"" },
        { "{'name': 'v', 'policy_type': 'validation', 'rules': ["
          " {'id': 'r', 'path': '/a', 'args': {'id': {'type': 'integer',"
          "  'maxLength': 5}}}]}",
          "policy \"v\": rule \"r\": args \"id\": \"maxLength\" does not "
          "apply to \"integer\"" },
        { "{'name': 'v', 'policy_type': 'validation', 'rules': ["
          " {'id': 'r', 'path': '/a', 'args': {'id': {'type': 'string',"
          "  'maxLength': -1}}}]}",
          "policy \"v\": rule \"r\": args \"id\": \"maxLength\" must be an "
          "integer from 0 to 1000000" },
        { "{'name': 'v', 'policy_type': 'validation', 'rules': ["
          " {'id': 'r', 'path': '/a', 'args': {'id': {'type': 'string',"
          "  'minLength': 5, 'maxLength': 4}}}]}",
          "policy \"v\": rule \"r\": args \"id\": \"minLength\" is greater "
          "than \"maxLength\"" },
        { "{'name': 'v', 'policy_type': 'validation', 'rules': ["
          " {'id': 'r', 'path': '/a', 'args': {'id': {'type': 'enum'}}}]}",
          "policy \"v\": rule \"r\": args \"id\": \"type\": \"enum\" needs "
          "\"enum\"" },
        { "{'name': 'v', 'policy_type': 'validation', 'rules': ["
          " {'id': 'r', 'path': '/a', 'args': {'id': {'type': 'enum',"
          "  'enum': []}}}]}",
          "policy \"v\": rule \"r\": args \"id\": \"enum\" must be an array "
          "of 1 to 256 strings" },
        { "{'name': 'v', 'policy_type': 'validation', 'rules': ["
          " {'id': 'r', 'path': '/a', 'args': {'id': {'type': 'string',"
          "  'enum': ['a']}}}]}",
          "policy \"v\": rule \"r\": args \"id\": \"enum\" needs \"type\": "
          "\"enum\"" },
        { "{'name': 'v', 'policy_type': 'validation', 'rules': ["
          " {'id': 'r', 'path': '/a', 'args': {'id': {'type': 'pattern'}}}]}",
          "policy \"v\": rule \"r\": args \"id\": \"type\": \"pattern\" needs "
          "\"pattern\"" },
        { "{'name': 'v', 'policy_type': 'validation', 'rules': ["
          " {'id': 'r', 'path': '/a', 'args': {'id': {'type': 'pattern',"
          "  'pattern': '('}}}]}",
          "policy \"v\": rule \"r\": args \"id\": \"pattern\" does not "
          "compile: missing closing parenthesis at offset 1" },
        { "{'name': 'v', 'policy_type': 'validation', 'rules': ["
          " {'id': 'r', 'path': '/a', 'args': {'id': {'type': 'integer',"
          "  'pattern': 'x'}}}]}",
          "policy \"v\": rule \"r\": args \"id\": \"pattern\" does not apply "
          "to \"integer\"" },
        { "{'name': 'v', 'policy_type': 'validation', 'rules': ["
          " {'id': 'r', 'path': '/a', 'args': {'id': {'type': 'string',"
          "  'required': 1}}}]}",
          "policy \"v\": rule \"r\": \"required\" must be true or false" },
        { "{'name': 'v', 'policy_type': 'validation', 'rules': ["
          " {'id': 'r', 'path': '/o/{id}', 'segments': {'x': "
          "  {'type': 'integer'}}}]}",
          "policy \"v\": rule \"r\": segments: \"x\" is not a {name} in the "
          "path" },
        { "{'name': 'v', 'policy_type': 'validation', 'rules': ["
          " {'id': 'r', 'path': '/o/{id}', 'segments': {'id': "
          "  {'type': 'integer', 'required': true}}}]}",
          "policy \"v\": rule \"r\": segments \"id\": \"required\" does not "
          "apply to a segment" },
        { "{'name': 'v', 'policy_type': 'validation', 'rules': ["
          " {'id': 'r', 'path': '/a', 'max_args': 1},"
          " {'id': 'r', 'path': '/b', 'max_args': 1}]}",
          "policy \"v\": rule \"r\": \"id\" is used by another rule" },
    };

    (void) state;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        set = keryu_policy_set_create();
        assert_non_null(set);

        json = test_json(cases[i].doc);

        err[0] = '\0';

        if (keryu_policy_set_add(set, json, strlen(json), err, sizeof(err))
            == 0)
        {
            fail_msg("case %zu compiled: %s", i, cases[i].doc);
        }

        if (strcmp(err, cases[i].err) != 0) {
            fail_msg("case %zu: \"%s\", expected \"%s\"", i, err,
                     cases[i].err);
        }

        keryu_policy_set_free(set);
    }
}


static void
rules_compile_with_their_specs(void **state)
{
    char                       err[KERYU_POLICY_ERR_MAX];
    size_t                     n;
    const char                *json;
    keryu_policy_set_t        *set;
    keryu_policy_info_t        info;
    const keryu_arg_spec_t    *a;
    const keryu_validation_t  *r, *rules[TEST_RULES_MAX];

    (void) state;

    set = test_set((const char *const []) {
        "{'name': 'orders', 'policy_type': 'validation', 'shadow': false,"
        " 'rules': ["
        " {'id': 'one', 'path': '/api/orders/{id}', 'methods': ['GET'],"
        "  'max_uri_length': 200, 'max_args': 2, 'unknown_args': 'deny',"
        "  'segments': {'id': {'type': 'integer', 'min': 1}},"
        "  'args': {'full': {'type': 'enum', 'enum': ['yes', 'no']},"
        "   'q': {'type': 'string', 'minLength': 1, 'maxLength': 10,"
        "    'pattern': '[a-z]+', 'required': true}}}]}",
        NULL });

    n = test_lookup(set, "/api/orders/17", rules);
    assert_int_equal(n, 1);

    r = rules[0];
    assert_string_equal(r->policy, "orders");
    assert_string_equal(r->id, "one");
    assert_false(r->shadow);
    assert_int_equal(r->nmethods, 1);
    assert_int_equal(r->method_lens[0], 3);
    assert_memory_equal(r->methods[0], "GET", 3);
    assert_int_equal(r->max_uri_length, 200);
    assert_int_equal(r->max_args, 2);
    assert_true(r->unknown_deny);

    assert_int_equal(r->nsegments, 1);
    a = &r->segments[0];
    assert_string_equal(a->name, "id");
    assert_int_equal(a->segment, 2);
    assert_int_equal(a->type, KERYU_ARG_INTEGER);
    assert_true(a->has_min);
    assert_false(a->has_max);
    assert_int_equal(a->min, 1);

    assert_int_equal(r->nargs, 2);
    a = &r->args[0];
    assert_string_equal(a->name, "full");
    assert_int_equal(a->nvalues, 2);
    assert_int_equal(keryu_arg_check(a, (unsigned char *) "no", 2),
                     KERYU_VALID_OK);
    a = &r->args[1];
    assert_true(a->required);
    assert_int_equal(a->maxlen, 10);
    assert_non_null(a->pattern);
    assert_int_equal(keryu_arg_check(a, (unsigned char *) "abc", 3),
                     KERYU_VALID_OK);
    assert_int_equal(keryu_arg_check(a, (unsigned char *) "ab1", 3),
                     KERYU_VALID_PATTERN);

    /* validation rules are not access rules */

    assert_int_equal(keryu_policy_set_rules(set), 0);

    keryu_policy_set_free(set);

    json = test_json("{'name': 'v', 'policy_type': 'validation', 'rules': ["
                     " {'id': 'a', 'path': '/a', 'max_args': 1},"
                     " {'id': 'b', 'path': '/b', 'max_args': 1}]}");

    assert_int_equal(keryu_policy_inspect(json, strlen(json), &info, err,
                                          sizeof(err)),
                     0);
    assert_int_equal(info.type, KERYU_POLICY_VALIDATION);
    assert_int_equal(info.rules, 2);
}


static void
lookup_finds_every_rule_covering_a_path_in_order(void **state)
{
    size_t                     n;
    keryu_policy_set_t        *set;
    const keryu_validation_t  *rules[TEST_RULES_MAX];

    (void) state;

    set = test_set((const char *const []) {
        "{'name': 'b-late', 'policy_type': 'validation', 'rules': ["
        " {'id': 'all', 'path': '/', 'match': 'prefix', 'max_args': 50},"
        " {'id': 'api', 'path': '/api', 'match': 'prefix',"
        "  'max_uri_length': 100}]}",
        "{'name': 'a-early', 'policy_type': 'validation', 'rules': ["
        " {'id': 'order', 'path': '/api/orders/{id}',"
        "  'segments': {'id': {'type': 'integer'}}},"
        " {'id': 'exact', 'path': '/api/orders', 'max_args': 0}]}",
        "{'name': 'first', 'policy_type': 'validation', 'priority': 1,"
        " 'shadow': true, 'rules': ["
        " {'id': 'trial', 'path': '/api/orders/', 'match': 'prefix',"
        "  'unknown_args': 'deny'}]}",
        "{'name': 'off', 'policy_type': 'validation', 'is_active': false,"
        " 'rules': [{'id': 'x', 'path': '/', 'match': 'prefix',"
        "  'max_args': 0}]}",
        "{'name': 'acc', 'policy_type': 'access', 'rules': ["
        " {'id': 'any', 'path': '/', 'match': 'prefix', 'effect': 'allow',"
        "  'anyone': true}]}",
        NULL });

    /* priority first, then policy name, then rule order */

    n = test_lookup(set, "/api/orders/17", rules);
    assert_int_equal(n, 4);
    assert_string_equal(rules[0]->id, "trial");
    assert_true(rules[0]->shadow);
    assert_string_equal(rules[1]->id, "order");
    assert_string_equal(rules[2]->id, "all");
    assert_string_equal(rules[3]->id, "api");
    assert_false(rules[3]->shadow);

    n = test_lookup(set, "/api/orders", rules);
    assert_int_equal(n, 3);
    assert_string_equal(rules[0]->id, "exact");
    assert_string_equal(rules[1]->id, "all");
    assert_string_equal(rules[2]->id, "api");

    n = test_lookup(set, "/apiary", rules);
    assert_int_equal(n, 1);
    assert_string_equal(rules[0]->id, "all");

    n = test_lookup(set, "/api/orders/17/items", rules);
    assert_int_equal(n, 3);

    /* a {name} matches no empty segment */

    n = test_lookup(set, "/api/orders/", rules);
    assert_int_equal(n, 3);
    assert_string_equal(rules[0]->id, "trial");

    /* a short array still gets the count, and the first in order */

    n = keryu_policy_validations(set, "/api/orders/17", 14, rules, 1);
    assert_int_equal(n, 4);

    assert_int_equal(test_lookup(set, "", rules), 0);
    assert_int_equal(test_lookup(set, "*", rules), 0);

    /* access decisions do not see validation rules */

    assert_int_equal(keryu_policy_set_rules(set), 1);

    keryu_policy_set_free(set);
}


static void
segments_are_what_lies_between_slashes(void **state)
{
    size_t       len;
    const char  *seg;

    (void) state;

    assert_true(keryu_policy_segment("/api/orders/17", 14, 2, &seg, &len));
    assert_int_equal(len, 2);
    assert_memory_equal(seg, "17", 2);

    assert_true(keryu_policy_segment("/api/orders/", 12, 2, &seg, &len));
    assert_int_equal(len, 0);

    assert_true(keryu_policy_segment("/", 1, 0, &seg, &len));
    assert_int_equal(len, 0);

    assert_false(keryu_policy_segment("/api", 4, 1, &seg, &len));
    assert_false(keryu_policy_segment("api", 3, 0, &seg, &len));
    assert_false(keryu_policy_segment("", 0, 0, &seg, &len));
}


/* the demo's validation policy compiles along with the others */

static int
test_demo_add(void *ctx, size_t index, const char *doc, size_t len)
{
    char  err[KERYU_POLICY_ERR_MAX];

    (void) index;

    if (keryu_policy_set_add(ctx, doc, len, err, sizeof(err)) != 0) {
        fail_msg("demo policy: %s", err);
    }

    return 0;
}


static void
demo_policies_validate_the_order_id(void **state)
{
    char                       err[KERYU_POLICY_ERR_MAX], *buf;
    FILE                      *f;
    size_t                     i, n, len;
    const char                *seg;
    keryu_policy_set_t        *set;
    const keryu_arg_spec_t    *a;
    const keryu_validation_t  *rules[TEST_RULES_MAX];

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

    n = test_lookup(set, "/api/orders/17", rules);
    assert_true(n >= 1);

    for (i = 0; i < n; i++) {
        if (rules[i]->nsegments) {
            break;
        }
    }

    assert_true(i < n);
    a = &rules[i]->segments[0];

    assert_true(keryu_policy_segment("/api/orders/17", 14, a->segment, &seg,
                                     &len));
    assert_int_equal(keryu_arg_check(a, (unsigned char *) seg, len),
                     KERYU_VALID_OK);
    assert_int_equal(keryu_arg_check(a, (unsigned char *) "0", 1),
                     KERYU_VALID_RANGE);
    assert_int_equal(keryu_arg_check(a, (unsigned char *) "-1", 2),
                     KERYU_VALID_RANGE);
    assert_int_equal(keryu_arg_check(a, (unsigned char *) "1x", 2),
                     KERYU_VALID_INTEGER);

    keryu_policy_set_free(set);
}


static void
bounds_round_to_one_two_five_without_giving_the_value(void **state)
{
    (void) state;

    assert_int_equal(keryu_validate_round(0, 1), 0);
    assert_int_equal(keryu_validate_round(0, 0), 0);
    assert_int_equal(keryu_validate_round(1, 1), 1);
    assert_int_equal(keryu_validate_round(3, 1), 5);
    assert_int_equal(keryu_validate_round(3, 0), 2);
    assert_int_equal(keryu_validate_round(4321, 1), 5000);
    assert_int_equal(keryu_validate_round(4321, 0), 2000);
    assert_int_equal(keryu_validate_round(5001, 1), 10000);
    assert_int_equal(keryu_validate_round(20, 1), 20);
    assert_int_equal(keryu_validate_round(-7, 1), -5);
    assert_int_equal(keryu_validate_round(-7, 0), -10);
    assert_int_equal(keryu_validate_round(-120, 0), -200);
    assert_int_equal(keryu_validate_round(-120, 1), -100);
    assert_int_equal(keryu_validate_round(INT64_MAX, 1), INT64_MAX);
    assert_int_equal(keryu_validate_round(INT64_MAX, 0),
                     5000000000000000000LL);
    assert_int_equal(keryu_validate_round(6000000000000000000LL, 1),
                     INT64_MAX);
    assert_int_equal(keryu_validate_round(INT64_MIN, 0), INT64_MIN);
    assert_int_equal(keryu_validate_round(INT64_MIN, 1),
                     -5000000000000000000LL);

    assert_int_equal(keryu_validate_chars((unsigned char *) "caf\xc3\xa9",
                                          5), 4);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(encoding_tricks_in_the_request_target),
        cmocka_unit_test(decoded_values_are_checked_from_their_first_decoding),
        cmocka_unit_test(unescape_decodes_as_forms_do),
        cmocka_unit_test(args_split_on_ampersands_and_skip_empty_pieces),
        cmocka_unit_test(integers_with_bounds_and_overflow),
        cmocka_unit_test(uuids_emails_and_enums),
        cmocka_unit_test(string_lengths_count_characters),
        cmocka_unit_test(patterns_match_the_whole_value_within_limits),
        cmocka_unit_test(names_and_types),
        cmocka_unit_test(bounds_round_to_one_two_five_without_giving_the_value),
        cmocka_unit_test(every_refusal_names_its_field_or_rule),
        cmocka_unit_test(rules_compile_with_their_specs),
        cmocka_unit_test(lookup_finds_every_rule_covering_a_path_in_order),
        cmocka_unit_test(segments_are_what_lies_between_slashes),
        cmocka_unit_test(demo_policies_validate_the_order_id),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
