
/*
 * Copyright (C) Keryu Security
 *
 * Tests of the streaming JSON Schema validator: each keyword passing and
 * failing with its exact pointer and keyword, invalid JSON and UTF-8, the
 * caps on nesting and token length, schemas refused when compiled, and
 * memory: a run's allocations, counted through the allocation hooks, must
 * not grow with the body, and any one of them failing must end the run
 * cleanly.  Every body is checked whole, a byte at a time and in random
 * pieces, and all three must give the same result.  Documents are written
 * with single quotes, which test_q() turns into double ones.
 */


#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "keryu_schema.h"


#define TEST_DOC_MAX      8192
#define TEST_SPLITS       24       /* random cuttings of each body */
#define TEST_MEM_HDR      16
#define TEST_BIG_BODY     (10 * 1024 * 1024)
#define TEST_SMALL_BODY   (100 * 1024)
#define TEST_CHUNK        4093     /* prime: tokens span the pieces */


typedef struct {
    int                  rc;
    char                 pointer[KERYU_SCHEMA_POINTER_MAX];
    const char          *keyword;
    const char          *reason;
} test_result_t;


/* the allocation hooks' books */
typedef struct {
    size_t               live;      /* bytes held now */
    size_t               peak;
    size_t               calls;     /* malloc() and realloc() */
    size_t               fail_at;   /* the call that fails; 0: none */
    size_t               failed;
} test_mem_t;


typedef struct {
    const char          *schema;
    const char          *err;
} test_refusal_t;


static char      test_bufs[4][TEST_DOC_MAX];
static unsigned  test_next;
static uint64_t  test_seed = 0x9e3779b97f4a7c15ULL;


/* the text with ' turned into "; four buffers in turn */

static const char *
test_q(const char *s)
{
    char    *b;
    size_t   i;

    b = test_bufs[test_next++ % 4];

    assert_true(strlen(s) < TEST_DOC_MAX);

    for (i = 0; s[i]; i++) {
        b[i] = (s[i] == '\'') ? '"' : s[i];
    }

    b[i] = '\0';

    return b;
}


static uint64_t
test_rand(void)
{
    test_seed ^= test_seed << 13;
    test_seed ^= test_seed >> 7;
    test_seed ^= test_seed << 17;

    return test_seed;
}


static void *
test_mem_malloc(void *ctx, size_t size)
{
    test_mem_t     *m = ctx;
    unsigned char  *p;

    m->calls++;

    if (m->calls == m->fail_at) {
        m->failed++;
        return NULL;
    }

    p = malloc(TEST_MEM_HDR + size);
    if (p == NULL) {
        return NULL;
    }

    memcpy(p, &size, sizeof(size_t));
    m->live += size;

    if (m->live > m->peak) {
        m->peak = m->live;
    }

    return p + TEST_MEM_HDR;
}


static void
test_mem_free(void *ctx, void *p)
{
    size_t          size;
    test_mem_t     *m = ctx;
    unsigned char  *b;

    if (p == NULL) {
        return;
    }

    b = (unsigned char *) p - TEST_MEM_HDR;
    memcpy(&size, b, sizeof(size_t));
    m->live -= size;
    free(b);
}


static void *
test_mem_realloc(void *ctx, void *p, size_t size)
{
    size_t       old;
    void        *n;
    test_mem_t  *m = ctx;

    if (p == NULL) {
        return test_mem_malloc(ctx, size);
    }

    memcpy(&old, (unsigned char *) p - TEST_MEM_HDR, sizeof(size_t));

    n = test_mem_malloc(ctx, size);
    if (n == NULL) {
        return NULL;
    }

    memcpy(n, p, old < size ? old : size);
    test_mem_free(m, p);

    return n;
}


static keryu_schema_alloc_t
test_mem_hooks(test_mem_t *m)
{
    keryu_schema_alloc_t  a;

    memset(m, 0, sizeof(test_mem_t));

    a.malloc = test_mem_malloc;
    a.realloc = test_mem_realloc;
    a.free = test_mem_free;
    a.ctx = m;

    return a;
}


static keryu_schema_t *
test_compile(const char *doc, const char *file, int line)
{
    char             err[256];
    const char      *json;
    keryu_schema_t  *s;

    json = test_q(doc);
    s = keryu_schema_compile(json, strlen(json), err, sizeof(err));

    if (s == NULL) {
        fail_msg("%s:%d: keryu_schema_compile() failed: %s", file, line, err);
    }

    return s;
}

#define compile(doc)  test_compile(doc, __FILE__, __LINE__)


/*
 * Feeds len bytes of body: whole (max 0), one byte at a time (max 1), or
 * in random pieces of up to max bytes, with empty feeds between some.
 */

static void
test_feed(const keryu_schema_t *s, const char *body, size_t len, size_t max,
    test_result_t *res)
{
    int                  rc;
    size_t               off, n;
    const char          *p, *k, *r;
    keryu_schema_run_t  *run;

    run = keryu_schema_run_new(s, NULL);
    assert_non_null(run);

    rc = 0;
    off = 0;

    while (off < len) {
        n = len - off;

        if (max == 1) {
            n = 1;

        } else if (max > 1) {
            n = 1 + test_rand() % (n < max ? n : max);

            if (test_rand() % 8 == 0) {
                rc = keryu_schema_run_feed(run, (const unsigned char *) body,
                                           0);
                if (rc != 0) {
                    break;
                }
            }
        }

        rc = keryu_schema_run_feed(run, (const unsigned char *) body + off,
                                   n);
        off += n;

        if (rc != 0) {
            break;
        }
    }

    if (rc == 0) {
        rc = keryu_schema_run_finish(run);
    }

    keryu_schema_run_error(run, &p, &k, &r);

    res->rc = rc;
    snprintf(res->pointer, sizeof(res->pointer), "%s", p);
    res->keyword = k;
    res->reason = r;

    keryu_schema_run_free(run);
}


static void
test_same(const test_result_t *a, const test_result_t *b, const char *how,
    const char *file, int line)
{
    if (a->rc != b->rc || strcmp(a->pointer, b->pointer) != 0
        || strcmp(a->keyword, b->keyword) != 0
        || strcmp(a->reason, b->reason) != 0)
    {
        fail_msg("%s:%d: fed %s: %d \"%s\" %s (%s), whole: %d \"%s\" %s (%s)",
                 file, line, how, b->rc, b->pointer, b->keyword, b->reason,
                 a->rc, a->pointer, a->keyword, a->reason);
    }
}


/*
 * Checks a body whole, byte by byte and in random pieces: valid when
 * keyword is NULL, else refused at pointer for keyword.
 */

static void
test_expect_raw(const keryu_schema_t *s, const char *body, size_t len,
    const char *pointer, const char *keyword, const char *file, int line)
{
    int            i;
    test_result_t  whole, other;

    test_feed(s, body, len, 0, &whole);

    if (keyword == NULL) {
        if (whole.rc != 0) {
            fail_msg("%s:%d: refused at \"%s\" for %s (%s)", file, line,
                     whole.pointer, whole.keyword, whole.reason);
        }

        _assert_string_equal(whole.pointer, "", file, line);
        _assert_string_equal(whole.keyword, "", file, line);
        _assert_string_equal(whole.reason, "", file, line);

    } else {
        if (whole.rc != -1) {
            fail_msg("%s:%d: valid, expected refused at \"%s\" for %s",
                     file, line, pointer, keyword);
        }

        _assert_string_equal(whole.keyword, keyword, file, line);
        _assert_string_equal(whole.pointer, pointer, file, line);
        _assert_true(whole.reason[0] != '\0', "reason", file, line);
    }

    test_feed(s, body, len, 1, &other);
    test_same(&whole, &other, "bytewise", file, line);

    for (i = 0; i < TEST_SPLITS; i++) {
        test_feed(s, body, len, (i % 2) ? 7 : len, &other);
        test_same(&whole, &other, "in pieces", file, line);
    }
}

#define expect_valid(s, body)                                                 \
    do {                                                                      \
        const char *b_ = test_q(body);                                        \
        test_expect_raw(s, b_, strlen(b_), NULL, NULL, __FILE__, __LINE__);   \
    } while (0)

#define expect_invalid(s, body, pointer, keyword)                             \
    do {                                                                      \
        const char *b_ = test_q(body);                                        \
        test_expect_raw(s, b_, strlen(b_), pointer, keyword, __FILE__,        \
                        __LINE__);                                            \
    } while (0)

/* a body of C string bytes as they are, no quote turned */
#define expect_raw(s, body, pointer, keyword)                                 \
    test_expect_raw(s, body, strlen(body), pointer, keyword, __FILE__,        \
                    __LINE__)


/* the message of a refused schema, given with single quotes */

static void
test_refused(const char *doc, const char *msg, const char *file, int line)
{
    char             err[256];
    const char      *json, *want;
    keryu_schema_t  *s;

    json = test_q(doc);
    want = test_q(msg);
    s = keryu_schema_compile(json, strlen(json), err, sizeof(err));

    if (s != NULL) {
        keryu_schema_free(s);
        fail_msg("%s:%d: schema compiled: %s", file, line, json);
    }

    _assert_string_equal(err, want, file, line);
}

#define expect_refused(doc, msg)  test_refused(doc, msg, __FILE__, __LINE__)


/* ---- keywords ------------------------------------------------------ */


static void
type_keyword_accepts_and_refuses_each_type(void **state)
{
    keryu_schema_t  *s;

    (void) state;

    s = compile("{'type':'object'}");
    expect_valid(s, "{}");
    expect_valid(s, " {'a':[1]} ");
    expect_invalid(s, "[]", "", "type");
    expect_invalid(s, "null", "", "type");
    keryu_schema_free(s);

    s = compile("{'type':'array'}");
    expect_valid(s, "[]");
    expect_invalid(s, "{}", "", "type");
    keryu_schema_free(s);

    s = compile("{'type':'string'}");
    expect_valid(s, "'x'");
    expect_valid(s, "''");
    expect_invalid(s, "1", "", "type");
    expect_invalid(s, "true", "", "type");
    keryu_schema_free(s);

    s = compile("{'type':'number'}");
    expect_valid(s, "1");
    expect_valid(s, "-1.5e-3");
    expect_valid(s, "1E400");
    expect_invalid(s, "'1'", "", "type");
    keryu_schema_free(s);

    s = compile("{'type':'boolean'}");
    expect_valid(s, "true");
    expect_valid(s, "false");
    expect_invalid(s, "null", "", "type");
    expect_invalid(s, "0", "", "type");
    keryu_schema_free(s);

    s = compile("{'type':'null'}");
    expect_valid(s, "null");
    expect_invalid(s, "false", "", "type");
    expect_invalid(s, "''", "", "type");
    keryu_schema_free(s);

    s = compile("{'type':['string','null']}");
    expect_valid(s, "'x'");
    expect_valid(s, "null");
    expect_invalid(s, "1", "", "type");
    expect_invalid(s, "{}", "", "type");
    keryu_schema_free(s);
}


static void
integer_is_read_from_the_text(void **state)
{
    keryu_schema_t  *s;

    (void) state;

    s = compile("{'type':'integer'}");
    expect_valid(s, "0");
    expect_valid(s, "-0");
    expect_valid(s, "-9223372036854775808");
    expect_valid(s, "123456789012345678901234567890");
    expect_invalid(s, "1.0", "", "type");
    expect_invalid(s, "1e2", "", "type");
    expect_invalid(s, "1E+2", "", "type");
    expect_invalid(s, "'1'", "", "type");
    keryu_schema_free(s);
}


static void
properties_check_members_at_their_pointer(void **state)
{
    keryu_schema_t  *s;

    (void) state;

    s = compile("{'type':'object','properties':{"
                "  'a':{'type':'object','properties':{'b':{'type':'string'}}},"
                "  'n':{'type':'integer'}}}");

    expect_valid(s, "{}");
    expect_valid(s, "{'a':{'b':'x','c':1},'n':3,'other':[1,{}]}");
    expect_invalid(s, "{'a':{'b':1}}", "/a/b", "type");
    expect_invalid(s, "{'n':1,'a':{'c':{},'b':null}}", "/a/b", "type");
    expect_invalid(s, "{'n':'3'}", "/n", "type");
    expect_invalid(s, "{'a':[]}", "/a", "type");

    /* each duplicate is checked */
    expect_invalid(s, "{'n':1,'n':'x'}", "/n", "type");

    keryu_schema_free(s);
}


static void
required_names_the_missing_member(void **state)
{
    keryu_schema_t  *s;

    (void) state;

    s = compile("{'type':'object','properties':{"
                "  'items':{'type':'array','items':{"
                "    'type':'object',"
                "    'properties':{'qty':{'type':'integer','maximum':10}},"
                "    'required':['sku','qty']}}},"
                " 'required':['items']}");

    expect_valid(s, "{'items':[]}");
    expect_valid(s, "{'items':[{'qty':1,'sku':'a'},{'sku':'b','qty':10}]}");
    expect_invalid(s, "{}", "/items", "required");
    expect_invalid(s, "{'item':[]}", "/items", "required");
    expect_invalid(s, "{'items':[{'sku':'a','qty':1},{'sku':'b','qty':2},"
                   "{'sku':'c','qty':3},{'sku':'d','qty':11}]}",
                   "/items/3/qty", "maximum");
    expect_invalid(s, "{'items':[{'sku':'a','qty':1},{'sku':'b','qty':2},"
                   "{'sku':'c','qty':3},{'sku':'d'}]}",
                   "/items/3/qty", "required");

    /* the first missing, in the order "required" lists them */
    expect_invalid(s, "{'items':[{}]}", "/items/0/sku", "required");

    keryu_schema_free(s);

    /* names past the first bitmap word, at every level */

    {
        char    doc[TEST_DOC_MAX], body[TEST_DOC_MAX];
        size_t  i, n, m;

        n = (size_t) snprintf(doc, sizeof(doc), "{'required':[");
        for (i = 0; i < 70; i++) {
            n += (size_t) snprintf(doc + n, sizeof(doc) - n, "%s'p%zu'",
                                   i ? "," : "", i);
        }
        snprintf(doc + n, sizeof(doc) - n,
                 "],'additionalProperties':{'type':'object'}}");

        s = compile(doc);

        m = (size_t) snprintf(body, sizeof(body), "{");
        for (i = 0; i < 70; i++) {
            if (i == 67) {
                continue;
            }

            m += (size_t) snprintf(body + m, sizeof(body) - m, "%s'p%zu':{}",
                                   i ? "," : "", i);
        }
        snprintf(body + m, sizeof(body) - m, "}");

        expect_invalid(s, body, "/p67", "required");

        body[m] = '\0';
        strcat(body, ",'p67':{}}");
        expect_valid(s, body);

        keryu_schema_free(s);
    }
}


static void
additional_properties_false_or_a_schema(void **state)
{
    keryu_schema_t  *s;

    (void) state;

    s = compile("{'properties':{'a':{},'b':true,'c':false},"
                " 'additionalProperties':false}");
    expect_valid(s, "{'a':1,'b':[]}");
    expect_invalid(s, "{'a':1,'extra':2}", "/extra", "additionalProperties");
    expect_invalid(s, "{'c':2}", "/c", "properties");
    expect_valid(s, "[1,2]");
    keryu_schema_free(s);

    s = compile("{'properties':{'a':{'type':'string'}},"
                " 'additionalProperties':{'type':'integer'}}");
    expect_valid(s, "{'a':'x','b':1,'c':2}");
    expect_invalid(s, "{'a':'x','b':1,'c':'2'}", "/c", "type");
    expect_invalid(s, "{'a':1}", "/a", "type");
    keryu_schema_free(s);
}


static void
false_schemas_name_their_keyword(void **state)
{
    keryu_schema_t  *s;

    (void) state;

    s = compile("false");
    expect_invalid(s, "{}", "", "false");
    expect_invalid(s, "null", "", "false");
    keryu_schema_free(s);

    s = compile("true");
    expect_valid(s, "{'a':[1,2,{'b':null}],'c':'d'}");
    keryu_schema_free(s);

    s = compile("{}");
    expect_valid(s, "-1");
    keryu_schema_free(s);

    s = compile("{'items':false}");
    expect_valid(s, "[]");
    expect_invalid(s, "[[]]", "/0", "items");
    keryu_schema_free(s);
}


static void
enum_matches_scalars_by_value(void **state)
{
    keryu_schema_t  *s;

    (void) state;

    s = compile("{'enum':['red','\\u00e9t\\u00e9',1,2.5,true,null,"
                "12345678901234567890]}");
    expect_valid(s, "'red'");
    expect_valid(s, "'\xc3\xa9t\xc3\xa9'");
    expect_valid(s, "'\\u00e9t\\u00e9'");
    expect_valid(s, "1");
    expect_valid(s, "1.0");
    expect_valid(s, "10e-1");
    expect_valid(s, "2.5");
    expect_valid(s, "25e-1");
    expect_valid(s, "true");
    expect_valid(s, "null");
    expect_valid(s, "12345678901234567890");
    expect_invalid(s, "12345678901234567891", "", "enum");

    /* a decimal is a double: this one is 12345678901234567168 */
    expect_invalid(s, "12345678901234567890.0", "", "enum");
    expect_invalid(s, "'Red'", "", "enum");
    expect_invalid(s, "'red '", "", "enum");
    expect_invalid(s, "2", "", "enum");
    expect_invalid(s, "false", "", "enum");
    expect_invalid(s, "{}", "", "enum");
    expect_invalid(s, "['red']", "", "enum");
    keryu_schema_free(s);

    s = compile("{'properties':{'c':{'enum':[false]}}}");
    expect_valid(s, "{'c':false}");
    expect_invalid(s, "{'c':0}", "/c", "enum");
    expect_invalid(s, "{'c':null}", "/c", "enum");
    keryu_schema_free(s);
}


static void
numeric_bounds_hold_at_their_edges(void **state)
{
    keryu_schema_t  *s;

    (void) state;

    s = compile("{'minimum':-5,'maximum':10}");
    expect_valid(s, "-5");
    expect_valid(s, "10");
    expect_valid(s, "10.0");
    expect_valid(s, "-5e0");
    expect_invalid(s, "-6", "", "minimum");
    expect_invalid(s, "-5.000001", "", "minimum");
    expect_invalid(s, "11", "", "maximum");
    expect_invalid(s, "10.000001", "", "maximum");
    expect_invalid(s, "1e400", "", "maximum");
    expect_invalid(s, "-1e400", "", "minimum");
    expect_valid(s, "'a string is not a number'");
    keryu_schema_free(s);

    s = compile("{'exclusiveMinimum':0,'exclusiveMaximum':1.5}");
    expect_valid(s, "1");
    expect_valid(s, "0.5");
    expect_valid(s, "1.4999");
    expect_invalid(s, "0", "", "exclusiveMinimum");
    expect_invalid(s, "-0.0", "", "exclusiveMinimum");
    expect_invalid(s, "1.5", "", "exclusiveMaximum");
    expect_invalid(s, "2", "", "exclusiveMaximum");
    keryu_schema_free(s);

    /* an integer against a decimal bound, both ways round */

    s = compile("{'minimum':0.5,'maximum':2.5}");
    expect_valid(s, "1");
    expect_valid(s, "2");
    expect_invalid(s, "0", "", "minimum");
    expect_invalid(s, "3", "", "maximum");
    keryu_schema_free(s);

    s = compile("{'minimum':-2.5,'maximum':-0.5}");
    expect_valid(s, "-1");
    expect_valid(s, "-2");
    expect_invalid(s, "-3", "", "minimum");
    expect_invalid(s, "0", "", "maximum");
    keryu_schema_free(s);
}


static void
big_integers_compare_exactly(void **state)
{
    keryu_schema_t  *s;

    (void) state;

    /* 2^53 + 1 is not a double: it must not round to 2^53 */

    s = compile("{'maximum':9007199254740992}");
    expect_valid(s, "9007199254740992");
    expect_invalid(s, "9007199254740993", "", "maximum");
    keryu_schema_free(s);

    s = compile("{'minimum':-9223372036854775808,"
                " 'maximum':9223372036854775807}");
    expect_valid(s, "9223372036854775807");
    expect_valid(s, "-9223372036854775808");
    expect_invalid(s, "9223372036854775808", "", "maximum");
    expect_invalid(s, "-9223372036854775809", "", "minimum");
    expect_invalid(s, "100000000000000000000000000000", "", "maximum");
    keryu_schema_free(s);

    /* past int64_t on both sides */

    s = compile("{'minimum':-100000000000000000000,"
                " 'maximum':100000000000000000000}");
    expect_valid(s, "100000000000000000000");
    expect_valid(s, "99999999999999999999");
    expect_valid(s, "-100000000000000000000");
    expect_valid(s, "0");
    expect_invalid(s, "100000000000000000001", "", "maximum");
    expect_invalid(s, "-100000000000000000001", "", "minimum");
    expect_invalid(s, "1000000000000000000000", "", "maximum");
    expect_invalid(s, "1e400", "", "maximum");
    expect_invalid(s, "-1e400", "", "minimum");
    expect_valid(s, "1e20");
    expect_invalid(s, "1.0000000000000002e20", "", "maximum");
    keryu_schema_free(s);

    /* 1e19 is a double that is exactly 10000000000000000000 */

    s = compile("{'maximum':1e19,'exclusiveMinimum':-1e19}");
    expect_valid(s, "10000000000000000000");
    expect_valid(s, "9999999999999999999");
    expect_invalid(s, "10000000000000000001", "", "maximum");
    expect_invalid(s, "-10000000000000000000", "", "exclusiveMinimum");
    expect_valid(s, "-9999999999999999999");
    keryu_schema_free(s);

    s = compile("{'exclusiveMaximum':9223372036854775807}");
    expect_valid(s, "9223372036854775806");
    expect_valid(s, "9.2e18");
    expect_invalid(s, "9.3e18", "", "exclusiveMaximum");
    expect_invalid(s, "9223372036854775807", "", "exclusiveMaximum");
    keryu_schema_free(s);
}


static void
lengths_count_code_points(void **state)
{
    keryu_schema_t  *s;

    (void) state;

    s = compile("{'minLength':2,'maxLength':3}");
    expect_valid(s, "'ab'");
    expect_valid(s, "'abc'");
    expect_invalid(s, "'a'", "", "minLength");
    expect_invalid(s, "'abcd'", "", "maxLength");

    /* two bytes, three bytes, four bytes: one code point each */
    expect_valid(s, "'\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80'");
    expect_invalid(s, "'\xf0\x9f\x98\x80'", "", "minLength");
    expect_invalid(s, "'\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9'", "", "maxLength");

    /* escapes count as what they stand for */
    expect_valid(s, "'\\ud83d\\ude00\\n'");
    expect_invalid(s, "'\\u00e9'", "", "minLength");

    expect_valid(s, "12345");
    keryu_schema_free(s);

    s = compile("{'maxLength':0}");
    expect_valid(s, "''");
    expect_invalid(s, "' '", "", "maxLength");
    keryu_schema_free(s);
}


static void
pattern_is_unanchored_utf8_and_dollar_ends_it(void **state)
{
    keryu_schema_t  *s;

    (void) state;

    s = compile("{'properties':{'a':{'pattern':'b+c'},"
                " 'sku':{'pattern':'^[A-Z]{3}-[0-9]+$'},"
                " 'one':{'pattern':'^.$'}}}");

    expect_valid(s, "{'a':'abbcd'}");
    expect_invalid(s, "{'a':'ac'}", "/a", "pattern");
    expect_valid(s, "{'sku':'ABC-123'}");
    expect_invalid(s, "{'sku':'ABC-123\\n'}", "/sku", "pattern");
    expect_invalid(s, "{'sku':'xABC-123'}", "/sku", "pattern");
    expect_valid(s, "{'one':'\xe2\x82\xac'}");
    expect_valid(s, "{'one':'\\u20ac'}");
    expect_invalid(s, "{'one':'ab'}", "/one", "pattern");

    /* a NUL from an escape is matched, not cut at */
    expect_invalid(s, "{'sku':'ABC-1\\u0000x'}", "/sku", "pattern");

    expect_valid(s, "{'a':5}");
    keryu_schema_free(s);
}


static void
pattern_backtracking_is_bounded(void **state)
{
    char             body[256];
    const char      *p, *k, *r;
    keryu_schema_t  *s;

    (void) state;

    s = compile("{'pattern':'^(a+)+$'}");

    snprintf(body, sizeof(body), "'%.*s!'", 40,
             "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    expect_invalid(s, body, "", "pattern");

    {
        keryu_schema_run_t  *run;
        const char          *b = test_q(body);

        run = keryu_schema_run_new(s, NULL);
        assert_non_null(run);
        assert_int_equal(keryu_schema_run_feed(run, (const unsigned char *) b,
                                               strlen(b)),
                         -1);
        keryu_schema_run_error(run, &p, &k, &r);
        assert_string_equal(r, "pattern match limit reached");
        keryu_schema_run_free(run);
    }

    expect_valid(s, "'aaaa'");
    keryu_schema_free(s);
}


static void
items_and_item_counts(void **state)
{
    keryu_schema_t  *s;

    (void) state;

    s = compile("{'type':'array','minItems':1,'maxItems':3,"
                " 'items':{'type':'object','properties':{'n':{'maximum':5}}}}");
    expect_valid(s, "[{}]");
    expect_valid(s, "[{},{'n':5},{'x':[]}]");
    expect_invalid(s, "[]", "", "minItems");
    expect_invalid(s, "[{},{},{},{}]", "", "maxItems");
    expect_invalid(s, "[{},1]", "/1", "type");
    expect_invalid(s, "[{},{},{'n':6}]", "/2/n", "maximum");
    keryu_schema_free(s);

    s = compile("{'properties':{'list':{'items':{'items':{'type':'string'}},"
                " 'maxItems':2,'minItems':2}}}");
    expect_valid(s, "{'list':[[],['a','b']]}");
    expect_invalid(s, "{'list':[[],['a',1]]}", "/list/1/1", "type");
    expect_invalid(s, "{'list':[[]]}", "/list", "minItems");
    expect_invalid(s, "{'list':[[],[],[]]}", "/list", "maxItems");
    keryu_schema_free(s);
}


static void
keywords_apply_only_to_their_kind(void **state)
{
    keryu_schema_t  *s;

    (void) state;

    s = compile("{'minimum':5,'minLength':5,'minItems':5,'required':['a'],"
                " 'pattern':'^x','properties':{'b':false}}");
    expect_valid(s, "5");
    expect_valid(s, "'xxxxx'");
    expect_valid(s, "[1,2,3,4,5]");
    expect_valid(s, "{'a':null}");
    expect_valid(s, "true");
    expect_valid(s, "null");
    expect_invalid(s, "4", "", "minimum");
    expect_invalid(s, "'xxxx'", "", "minLength");
    expect_invalid(s, "'yyyyy'", "", "pattern");
    expect_invalid(s, "[]", "", "minItems");
    expect_invalid(s, "{}", "/a", "required");
    expect_invalid(s, "{'a':1,'b':1}", "/b", "properties");
    keryu_schema_free(s);
}


/* ---- the body as JSON ---------------------------------------------- */


static void
nesting_past_the_cap_is_refused(void **state)
{
    char             body[512], ptr[256];
    size_t           i, n, m;
    keryu_schema_t  *s;

    (void) state;

    s = compile("{'properties':{'a':{'type':'array'}}}");

    /* KERYU_SCHEMA_DEPTH_MAX arrays pass, one more does not */

    n = 0;
    for (i = 0; i < KERYU_SCHEMA_DEPTH_MAX - 1; i++) {
        body[n++] = '[';
    }
    body[n++] = '[';
    body[n++] = ']';
    for (i = 0; i < KERYU_SCHEMA_DEPTH_MAX - 1; i++) {
        body[n++] = ']';
    }
    body[n] = '\0';
    expect_raw(s, body, NULL, NULL);

    n = 0;
    for (i = 0; i < KERYU_SCHEMA_DEPTH_MAX + 1; i++) {
        body[n++] = '[';
    }
    body[n] = '\0';

    m = 0;
    for (i = 0; i < KERYU_SCHEMA_DEPTH_MAX; i++) {
        m += (size_t) snprintf(ptr + m, sizeof(ptr) - m, "/0");
    }
    expect_raw(s, body, ptr, "depth");

    /* objects count too */

    n = (size_t) snprintf(body, sizeof(body), "{\"a\":[");
    for (i = 0; i < KERYU_SCHEMA_DEPTH_MAX - 1; i++) {
        n += (size_t) snprintf(body + n, sizeof(body) - n, "{\"k\":");
    }
    body[n] = '\0';

    m = (size_t) snprintf(ptr, sizeof(ptr), "/a/0");
    for (i = 0; i < KERYU_SCHEMA_DEPTH_MAX - 2; i++) {
        m += (size_t) snprintf(ptr + m, sizeof(ptr) - m, "/k");
    }
    expect_raw(s, body, ptr, "depth");

    keryu_schema_free(s);
}


static void
invalid_json_is_refused_where_found(void **state)
{
    keryu_schema_t  *s;

    (void) state;

    s = compile("true");

    expect_raw(s, "", "", "json");
    expect_raw(s, "   ", "", "json");
    expect_raw(s, "{", "", "json");
    expect_raw(s, "[1,2", "/2", "json");
    expect_raw(s, "[1,]", "/1", "json");
    expect_raw(s, "[1 2]", "/1", "json");
    expect_raw(s, "[1\"a\"]", "/1", "json");
    expect_raw(s, "{\"a\" 1}", "/a", "json");
    expect_raw(s, "{\"a\":1,}", "", "json");
    expect_raw(s, "{\"a\":tru}", "/a", "json");
    expect_raw(s, "{\"a\":{\"b\":1},\"c\":[true,nul]}", "/c/1", "json");
    expect_raw(s, "tru", "", "json");
    expect_raw(s, "01", "", "json");
    expect_raw(s, "1.", "", "json");
    expect_raw(s, "-", "", "json");
    expect_raw(s, "NaN", "", "json");
    expect_raw(s, "'a'", "", "json");
    expect_raw(s, "[1]x", "", "json");
    expect_raw(s, "[1] [2]", "", "json");
    expect_raw(s, "/* c */ 1", "", "json");
    expect_raw(s, "\"a\tb\"", "", "json");
    expect_raw(s, "\"\\x\"", "", "json");
    expect_raw(s, "\"\\u12g4\"", "", "json");
    expect_raw(s, "\"abc", "", "json");

    expect_raw(s, " [1, {\"a\": \"\\\"\\\\\\/\\b\\f\\n\\r\\t\"}] \n", NULL,
               NULL);

    keryu_schema_free(s);
}


static void
invalid_utf8_is_refused(void **state)
{
    keryu_schema_t  *s;

    (void) state;

    s = compile("true");

    expect_raw(s, "[\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf\"]",
               NULL, NULL);
    expect_raw(s, "[\"\xed\x9f\xbf\xee\x80\x80\"]", NULL, NULL);

    expect_raw(s, "[\"\xc0\xaf\"]", "/0", "json");          /* overlong / */
    expect_raw(s, "[\"\xc1\xbf\"]", "/0", "json");
    expect_raw(s, "[\"\xe0\x80\xaf\"]", "/0", "json");
    expect_raw(s, "[\"\xe0\x9f\xbf\"]", "/0", "json");
    expect_raw(s, "[\"\xf0\x8f\xbf\xbf\"]", "/0", "json");
    expect_raw(s, "[\"\xed\xa0\x80\"]", "/0", "json");      /* surrogate */
    expect_raw(s, "[\"\xed\xbf\xbf\"]", "/0", "json");
    expect_raw(s, "[\"\xf4\x90\x80\x80\"]", "/0", "json");  /* > U+10FFFF */
    expect_raw(s, "[\"\xf5\x80\x80\x80\"]", "/0", "json");
    expect_raw(s, "[\"\xff\"]", "/0", "json");
    expect_raw(s, "[\"\x80\"]", "/0", "json");              /* stray */
    expect_raw(s, "[\"\xc3\"]", "/0", "json");              /* cut short */
    expect_raw(s, "[\"\xe2\x82\"]", "/0", "json");
    expect_raw(s, "[\"\xe2\x82x\"]", "/0", "json");
    expect_raw(s, "{\"k\xc0\xaf\":1}", "", "json");         /* in a name */
    expect_raw(s, "{\"a\":\"\xc0\xaf\"}", "/a", "json");

    keryu_schema_free(s);
}


static void
surrogate_escapes_must_pair(void **state)
{
    test_result_t    res;
    keryu_schema_t  *s;

    (void) state;

    s = compile("{'items':{'maxLength':1}}");

    expect_raw(s, "[\"\\ud83d\\ude00\"]", NULL, NULL);
    expect_raw(s, "[\"\\uD83D\\uDE00\"]", NULL, NULL);
    expect_raw(s, "[\"\\ud800\\udc00\", \"\\udbff\\udfff\"]", NULL, NULL);
    expect_raw(s, "[\"\\uffff\", \"\\u0000\"]", NULL, NULL);

    expect_raw(s, "[\"\\ud800\"]", "/0", "json");
    expect_raw(s, "[\"\\ud800x\"]", "/0", "json");
    expect_raw(s, "[\"\\ud800\\n\"]", "/0", "json");
    expect_raw(s, "[\"\\ud800\\u0041\"]", "/0", "json");
    expect_raw(s, "[\"\\ud800\\ud800\"]", "/0", "json");
    expect_raw(s, "[\"\\udc00\"]", "/0", "json");
    expect_raw(s, "[\"\\udfff\\ud800\"]", "/0", "json");
    expect_raw(s, "[1, \"\\\\ud800\"]", "/1", "maxLength");

    test_feed(s, "[\"\\udc00\"]", 10, 0, &res);
    assert_string_equal(res.reason, "invalid unicode escape");

    keryu_schema_free(s);
}


static void
long_tokens_are_refused(void **state)
{
    char             *body;
    size_t            n;
    keryu_schema_t   *s;
    test_result_t     res;

    (void) state;

    s = compile("{'properties':{'s':{'maxLength':100000}}}");

    body = malloc(KERYU_SCHEMA_TOKEN_MAX + 64);
    assert_non_null(body);

    /* a string of KERYU_SCHEMA_TOKEN_MAX bytes with its quotes passes */

    n = (size_t) snprintf(body, 64, "{\"s\":\"");
    memset(body + n, 'x', KERYU_SCHEMA_TOKEN_MAX - 2);
    n += KERYU_SCHEMA_TOKEN_MAX - 2;
    memcpy(body + n, "\"}", 3);
    n += 2;

    test_feed(s, body, n, 0, &res);
    assert_int_equal(res.rc, 0);
    test_feed(s, body, n, 1000, &res);
    assert_int_equal(res.rc, 0);

    /* one byte more does not, however it is cut */

    memmove(body + 7, body + 6, n - 6);
    n++;

    test_feed(s, body, n, 0, &res);
    assert_int_equal(res.rc, -1);
    assert_string_equal(res.keyword, "size");
    assert_string_equal(res.pointer, "/s");
    assert_string_equal(res.reason, "string or number too long");
    test_feed(s, body, n, 1000, &res);
    assert_string_equal(res.keyword, "size");
    assert_string_equal(res.pointer, "/s");

    /* numbers too */

    n = (size_t) snprintf(body, 64, "[1,");
    memset(body + n, '7', KERYU_SCHEMA_TOKEN_MAX + 1);
    n += KERYU_SCHEMA_TOKEN_MAX + 1;
    body[n++] = ']';

    test_feed(s, body, n, 0, &res);
    assert_string_equal(res.keyword, "size");
    assert_string_equal(res.pointer, "/1");

    free(body);
    keryu_schema_free(s);
}


static void
pointers_are_escaped_and_cut(void **state)
{
    char             body[1024], want[KERYU_SCHEMA_POINTER_MAX];
    size_t           i, n, plen;
    test_result_t    res;
    keryu_schema_t  *s;

    (void) state;

    s = compile("{'additionalProperties':{'type':'string'}}");

    expect_raw(s, "{\"a/b~c\":1}", "/a~1b~0c", "type");
    expect_raw(s, "{\"~1\":1}", "/~01", "type");
    expect_raw(s, "{\"\":1}", "/", "type");
    expect_raw(s, "{\"\\u00e9\":1}", "/\xc3\xa9", "type");
    expect_raw(s, "{\"a\\u0000b\":1}", "/a", "type");

    /* 300 bytes of name: the pointer keeps the first 254 */

    n = (size_t) snprintf(body, sizeof(body), "{\"");
    memset(body + n, 'n', 300);
    n += 300;
    n += (size_t) snprintf(body + n, sizeof(body) - n, "\":1}");

    want[0] = '/';
    memset(want + 1, 'n', KERYU_SCHEMA_POINTER_MAX - 2);
    want[KERYU_SCHEMA_POINTER_MAX - 1] = '\0';
    expect_raw(s, body, want, "type");

    /* "/x" and two-byte characters: none is split at the cut */

    n = (size_t) snprintf(body, sizeof(body), "{\"x");
    for (i = 0; i < 200; i++) {
        body[n++] = '\xc3';
        body[n++] = '\xa9';
    }
    n += (size_t) snprintf(body + n, sizeof(body) - n, "\":1}");

    test_feed(s, body, n, 0, &res);
    plen = strlen(res.pointer);
    assert_int_equal(plen, 2 + 2 * ((KERYU_SCHEMA_POINTER_MAX - 3) / 2));
    assert_true((unsigned char) res.pointer[plen - 1] == 0xa9);

    /* "~" escapes are not split either */

    n = (size_t) snprintf(body, sizeof(body), "{\"");
    for (i = 0; i < 200; i++) {
        body[n++] = '~';
    }
    n += (size_t) snprintf(body + n, sizeof(body) - n, "\":1}");

    test_feed(s, body, n, 0, &res);
    plen = strlen(res.pointer);
    assert_int_equal(plen, 1 + 2 * ((KERYU_SCHEMA_POINTER_MAX - 2) / 2));
    assert_true(res.pointer[plen - 2] == '~' && res.pointer[plen - 1] == '0');

    keryu_schema_free(s);
}


/*
 * One document with every kind of token, checked whole against every
 * cut into two pieces and many random ones, valid and with each fault.
 */

static void
pieces_of_any_size_give_one_result(void **state)
{
    size_t           i, n, k;
    const char      *body;
    test_result_t    whole, other;
    keryu_schema_t  *s;

    static const char  *bodies[] = {
        "{\"id\": 12, \"name\": \"caf\\u00e9 \xe2\x82\xac\", \"tags\": "
        "[\"a\", \"b\\n\"], \"price\": 12.5e0, \"big\": "
        "123456789012345678901234567890, \"ok\": true, \"none\": null, "
        "\"nested\": {\"list\": [[], [1, -2.5E-3], {}]}}",
        "{\"id\": 12, \"name\": \"x\", \"tags\": [\"a\", 1]}",
        "{\"id\": 12.0, \"name\": \"x\"}",
        "{\"id\": 12, \"name\": \"\\ud83d\\ude00\", \"price\": 1e999}",
        "{\"id\": 12, \"name\": \"\\ud83d\"}",
        "{\"id\": 12, \"name\": \"\xf0\x9f\x98\"}",
        "{\"id\": 12, \"name\": \"x\", \"tags\": [\"a\" \"b\"]}",
        "{\"id\": 12, \"extra\": 1}",
        "{\"name\": \"x\"}",
        "{\"id\": 1234567, \"name\": \"x\"} [",
    };

    (void) state;

    s = compile("{'type':'object','required':['id','name'],"
                " 'properties':{"
                "  'id':{'type':'integer','minimum':1,'maximum':999999},"
                "  'name':{'type':'string','minLength':1,'pattern':'^\\\\S'},"
                "  'tags':{'type':'array','items':{'type':'string'}},"
                "  'price':{'type':'number','exclusiveMaximum':1e300},"
                "  'big':{'type':'integer'},"
                "  'ok':{'enum':[true]},'none':{'type':'null'},"
                "  'nested':{'type':'object'}},"
                " 'additionalProperties':false}");

    for (k = 0; k < sizeof(bodies) / sizeof(bodies[0]); k++) {
        body = bodies[k];
        n = strlen(body);

        test_feed(s, body, n, 0, &whole);

        if (k == 0) {
            assert_int_equal(whole.rc, 0);

        } else {
            assert_int_equal(whole.rc, -1);
        }

        /* every cut into two pieces */

        for (i = 1; i < n; i++) {
            keryu_schema_run_t  *run;
            const char          *p, *kw, *r;
            int                  rc;

            run = keryu_schema_run_new(s, NULL);
            assert_non_null(run);

            rc = keryu_schema_run_feed(run, (const unsigned char *) body, i);
            if (rc == 0) {
                rc = keryu_schema_run_feed(run,
                                           (const unsigned char *) body + i,
                                           n - i);
            }
            if (rc == 0) {
                rc = keryu_schema_run_finish(run);
            }

            keryu_schema_run_error(run, &p, &kw, &r);
            other.rc = rc;
            snprintf(other.pointer, sizeof(other.pointer), "%s", p);
            other.keyword = kw;
            other.reason = r;
            keryu_schema_run_free(run);

            test_same(&whole, &other, "in two", __FILE__, __LINE__);
        }

        test_feed(s, body, n, 1, &other);
        test_same(&whole, &other, "bytewise", __FILE__, __LINE__);

        for (i = 0; i < 200; i++) {
            test_feed(s, body, n, 1 + test_rand() % 16, &other);
            test_same(&whole, &other, "in pieces", __FILE__, __LINE__);
        }
    }

    expect_raw(s, bodies[2], "/id", "type");
    expect_raw(s, bodies[3], "/price", "exclusiveMaximum");
    expect_raw(s, bodies[4], "/name", "json");
    expect_raw(s, bodies[5], "/name", "json");
    expect_raw(s, bodies[6], "/tags/1", "json");
    expect_raw(s, bodies[7], "/extra", "additionalProperties");
    expect_raw(s, bodies[8], "/id", "required");
    expect_raw(s, bodies[9], "/id", "maximum");

    keryu_schema_free(s);
}


/* ---- schemas refused ----------------------------------------------- */


static void
unsupported_keywords_are_refused(void **state)
{
    size_t  i;
    char    doc[128], msg[128];

    static const char  *kws[] = {
        "not", "allOf", "anyOf", "oneOf", "if", "then", "else", "$ref",
        "$defs", "$id", "$comment", "const", "default", "examples",
        "multipleOf", "format", "patternProperties", "propertyNames",
        "dependentRequired", "dependentSchemas", "minProperties",
        "maxProperties", "prefixItems", "contains", "minContains",
        "uniqueItems", "unevaluatedProperties", "unevaluatedItems",
        "contentEncoding", "readOnly", "Type", "type ", ""
    };

    (void) state;

    for (i = 0; i < sizeof(kws) / sizeof(kws[0]); i++) {
        snprintf(doc, sizeof(doc), "{'type':'object','%s':{}}", kws[i]);
        snprintf(msg, sizeof(msg), "unsupported keyword '%s' at '#'", kws[i]);
        expect_refused(doc, msg);
    }

    expect_refused("{'properties':{'a':{'items':{'oneOf':[]}}}}",
                   "unsupported keyword 'oneOf' at '#/properties/a/items'");
    expect_refused("{'properties':{'a/b~':{'not':{}}}}",
                   "unsupported keyword 'not' at '#/properties/a~1b~0'");
    expect_refused("{'additionalProperties':{'const':1}}",
                   "unsupported keyword 'const' at '#/additionalProperties'");
}


static void
malformed_schemas_are_refused_with_messages(void **state)
{
    size_t  i;

    static const test_refusal_t  refusals[] = {
        { "", "invalid schema JSON: parse error: premature EOF" },
        { "{'type':", "invalid schema JSON: parse error: premature EOF" },
        { "{'type':'object'} x",
          "invalid schema JSON: parse error: trailing garbage" },
        { "1", "a schema must be an object or a boolean at '#'" },
        { "[]", "a schema must be an object or a boolean at '#'" },
        { "{'items':'x'}",
          "a schema must be an object or a boolean at '#/items'" },
        { "{'type':'int'}", "unknown type 'int' at '#'" },
        { "{'type':[]}",
          "'type' must be a type name or a non-empty array of them at '#'" },
        { "{'type':['string',1]}",
          "'type' must be a type name or a non-empty array of them at '#'" },
        { "{'type':['string','string']}", "duplicate type 'string' at '#'" },
        { "{'type':'object','type':'array'}",
          "duplicate keyword 'type' at '#'" },
        { "{'properties':[]}", "'properties' must be an object at '#'" },
        { "{'properties':{'a':{},'a':{}}}",
          "duplicate name 'a' in 'properties' at '#'" },
        { "{'properties':{'a':1}}",
          "a schema must be an object or a boolean at '#/properties/a'" },
        { "{'required':'a'}", "'required' must be an array of strings at '#'" },
        { "{'required':['a',1]}",
          "'required' must be an array of strings at '#'" },
        { "{'required':['a','b','a']}",
          "duplicate name 'a' in 'required' at '#'" },
        { "{'additionalProperties':1}",
          "a schema must be an object or a boolean at "
          "'#/additionalProperties'" },
        { "{'enum':[]}", "'enum' must be a non-empty array at '#'" },
        { "{'enum':'a'}", "'enum' must be a non-empty array at '#'" },
        { "{'enum':[1,{}]}",
          "'enum' may hold only strings, numbers, booleans and null at '#'" },
        { "{'enum':[[1]]}",
          "'enum' may hold only strings, numbers, booleans and null at '#'" },
        { "{'enum':[1e999]}", "number in 'enum' out of range at '#'" },
        { "{'minimum':'1'}", "'minimum' must be a number at '#'" },
        { "{'maximum':null}", "'maximum' must be a number at '#'" },
        { "{'exclusiveMinimum':true}",
          "'exclusiveMinimum' must be a number at '#'" },
        { "{'exclusiveMaximum':1e400}",
          "number in 'exclusiveMaximum' out of range at '#'" },
        { "{'minLength':-1}",
          "'minLength' must be a non-negative integer at '#'" },
        { "{'maxLength':1.5}",
          "'maxLength' must be a non-negative integer at '#'" },
        { "{'minItems':1.0}",
          "'minItems' must be a non-negative integer at '#'" },
        { "{'maxItems':'2'}",
          "'maxItems' must be a non-negative integer at '#'" },
        { "{'maxItems':99999999999999999999}",
          "'maxItems' must be a non-negative integer at '#'" },
        { "{'pattern':1}", "'pattern' must be a string at '#'" },
        { "{'pattern':'(a'}",
          "invalid 'pattern': missing closing parenthesis at offset 2 "
          "at '#'" },
        { "{'pattern':'\\\\C'}",
          "invalid 'pattern': using \\C is disabled by the application "
          "at offset 2 at '#'" },
        { "{'items':[{}]}",
          "'items' must be a schema (an array of schemas is 'prefixItems', "
          "unsupported) at '#'" },
        { "{'title':1}", "'title' must be a string at '#'" },
        { "{'description':{}}", "'description' must be a string at '#'" },
        { "{'$schema':true}", "'$schema' must be a string at '#'" },
        { "{'enum':['a\\u0000']}",
          "'\\u0000' in schema is unsupported at '#'" },
        { "{'properties':{'\\u0000':{}}}",
          "'\\u0000' in schema is unsupported at '#'" },
    };

    (void) state;

    for (i = 0; i < sizeof(refusals) / sizeof(refusals[0]); i++) {
        expect_refused(refusals[i].schema, refusals[i].err);
    }
}


static void
schema_limits_and_error_buffers(void **state)
{
    char             doc[TEST_DOC_MAX], err[256], small[8];
    size_t           i, n;
    keryu_schema_t  *s;

    (void) state;

    /* nesting of subschemas */

    n = 0;
    for (i = 0; i < KERYU_SCHEMA_NEST_MAX; i++) {
        n += (size_t) snprintf(doc + n, sizeof(doc) - n, "{'items':");
    }
    n += (size_t) snprintf(doc + n, sizeof(doc) - n, "{}");
    for (i = 0; i < KERYU_SCHEMA_NEST_MAX; i++) {
        doc[n++] = '}';
    }
    doc[n] = '\0';

    s = compile(doc);
    keryu_schema_free(s);

    memmove(doc + 9, doc, n + 1);
    memcpy(doc, "{'items':", 9);
    strcat(doc, "}");

    {
        const char  *json = test_q(doc);

        s = keryu_schema_compile(json, strlen(json), err, sizeof(err));
        assert_null(s);
        assert_non_null(strstr(err, "schema nested deeper than 64 at"));
    }

    /* a raw NUL, an escaped backslash before u0000, a short err, no err */

    s = keryu_schema_compile("{}\0", 3, err, sizeof(err));
    assert_null(s);
    assert_string_equal(err, "NUL byte in schema at \"#\"");

    s = compile("{'enum':['\\\\u0000']}");
    expect_valid(s, "'\\\\u0000'");
    expect_invalid(s, "'\\u0000'", "", "enum");
    keryu_schema_free(s);

    s = keryu_schema_compile("{\"not\":1}", 9, small, sizeof(small));
    assert_null(s);
    assert_string_equal(small, "unsuppo");

    s = keryu_schema_compile("{\"not\":1}", 9, NULL, 0);
    assert_null(s);

    /* the text need not end in a NUL; annotations are ignored */

    s = keryu_schema_compile("{\"type\":\"string\"}xyz", 17, err,
                             sizeof(err));
    assert_non_null(s);
    keryu_schema_free(s);

    s = compile("{'$schema':'https://json-schema.org/draft/2020-12/schema',"
                " 'title':'t','description':'d','type':'integer',"
                " 'required':[]}");
    expect_valid(s, "1");
    expect_invalid(s, "'1'", "", "type");
    keryu_schema_free(s);

    keryu_schema_free(NULL);
    keryu_schema_run_free(NULL);
}


/* ---- runs ------------------------------------------------------------ */


static void
errors_are_empty_until_a_failure(void **state)
{
    const char          *p, *k, *r;
    keryu_schema_t      *s;
    keryu_schema_run_t  *run;

    (void) state;

    s = compile("{'type':'array'}");

    run = keryu_schema_run_new(s, NULL);
    assert_non_null(run);

    keryu_schema_run_error(run, &p, &k, &r);
    assert_string_equal(p, "");
    assert_string_equal(k, "");
    assert_string_equal(r, "");

    assert_int_equal(keryu_schema_run_feed(run, (const unsigned char *) "[1",
                                           2),
                     0);
    assert_int_equal(keryu_schema_run_feed(run, (const unsigned char *) "]",
                                           1),
                     0);
    assert_int_equal(keryu_schema_run_finish(run), 0);

    keryu_schema_run_error(run, &p, &k, &r);
    assert_string_equal(k, "");

    /* nothing after the end, not even an ending again */

    assert_int_equal(keryu_schema_run_feed(run, (const unsigned char *) " ",
                                           1),
                     -1);
    keryu_schema_run_error(run, &p, &k, &r);
    assert_string_equal(k, "json");
    assert_string_equal(r, "data after the end");
    assert_int_equal(keryu_schema_run_finish(run), -1);
    keryu_schema_run_free(run);

    /* after -1, -1 and the first error */

    run = keryu_schema_run_new(s, NULL);
    assert_non_null(run);
    assert_int_equal(keryu_schema_run_feed(run, (const unsigned char *) "{",
                                           1),
                     -1);
    assert_int_equal(keryu_schema_run_feed(run, (const unsigned char *) "[]",
                                           2),
                     -1);
    assert_int_equal(keryu_schema_run_finish(run), -1);
    keryu_schema_run_error(run, &p, &k, &r);
    assert_string_equal(p, "");
    assert_string_equal(k, "type");
    assert_string_equal(r, "wrong type");
    keryu_schema_run_free(run);

    keryu_schema_free(s);
}


static void
one_schema_serves_interleaved_runs(void **state)
{
    int                  i;
    const char          *p, *k, *r;
    keryu_schema_t      *s;
    keryu_schema_run_t  *a, *b;

    static const char  *pa[] = { "{\"n\":", "1,\"s\":\"ab", "c\"}" };
    static const char  *pb[] = { "{\"s\":\"x", "\",\"n\":", "11}" };

    (void) state;

    s = compile("{'properties':{'n':{'maximum':10},'s':{'pattern':'^a'}}}");

    a = keryu_schema_run_new(s, NULL);
    b = keryu_schema_run_new(s, NULL);
    assert_non_null(a);
    assert_non_null(b);

    for (i = 0; i < 3; i++) {
        assert_int_equal(keryu_schema_run_feed(a,
                             (const unsigned char *) pa[i], strlen(pa[i])),
                         0);

        if (i < 1) {
            assert_int_equal(keryu_schema_run_feed(b,
                                 (const unsigned char *) pb[i],
                                 strlen(pb[i])),
                             0);

        } else if (i == 1) {
            assert_int_equal(keryu_schema_run_feed(b,
                                 (const unsigned char *) pb[i],
                                 strlen(pb[i])),
                             -1);
        }
    }

    assert_int_equal(keryu_schema_run_finish(a), 0);

    keryu_schema_run_error(b, &p, &k, &r);
    assert_string_equal(p, "/s");
    assert_string_equal(k, "pattern");

    keryu_schema_run_free(a);
    keryu_schema_run_free(b);
    keryu_schema_free(s);
}


/* ---- memory ---------------------------------------------------------- */


static const char  test_mem_schema[] =
    "{'type':'array','items':{'type':'object',"
    " 'required':['id','name'],"
    " 'properties':{'id':{'type':'integer','minimum':0},"
    "  'name':{'type':'string','pattern':'^[a-z]+\\\\d*$','maxLength':64},"
    "  'price':{'type':'number','maximum':1e6},"
    "  'tags':{'type':'array','maxItems':8,'items':{'enum':['a','b','c']}},"
    "  'note':{'type':'string'}},"
    " 'additionalProperties':false}}";


/*
 * Feeds an array of items, about size bytes of them, in pieces of
 * TEST_CHUNK bytes, counting the run's allocations in m.  Returns what
 * keryu_schema_run_finish() said.
 */

static int
test_mem_body(const keryu_schema_t *s, test_mem_t *m, size_t size)
{
    int                   rc;
    char                  item[256];
    size_t                i, n, off, sent, cut;
    keryu_schema_run_t   *run;
    keryu_schema_alloc_t  a;
    static char           chunk[2 * TEST_CHUNK];

    a = test_mem_hooks(m);

    run = keryu_schema_run_new(s, &a);
    assert_non_null(run);

    rc = keryu_schema_run_feed(run, (const unsigned char *) "[", 1);
    assert_int_equal(rc, 0);

    sent = 1;
    off = 0;

    for (i = 0; sent < size; i++) {
        n = (size_t) snprintf(item, sizeof(item),
                              "%s{\"id\": %zu, \"name\": \"item%zu\", "
                              "\"price\": %zu.25, \"tags\": [\"a\", \"c\"], "
                              "\"note\": \"caf\\u00e9 \\\"%zu\\\"\"}",
                              i ? ", " : "", i, i, i % 1000, i);

        memcpy(chunk + off, item, n);
        off += n;

        while (off >= TEST_CHUNK) {
            rc = keryu_schema_run_feed(run, (const unsigned char *) chunk,
                                       TEST_CHUNK);
            assert_int_equal(rc, 0);

            sent += TEST_CHUNK;
            off -= TEST_CHUNK;
            memmove(chunk, chunk + TEST_CHUNK, off);
        }
    }

    /* the rest in pieces of odd sizes */

    chunk[off++] = ']';

    for (i = 0; i < off; i += cut) {
        cut = off - i < 97 ? off - i : 97;
        rc = keryu_schema_run_feed(run, (const unsigned char *) chunk + i,
                                   cut);
        assert_int_equal(rc, 0);
    }

    rc = keryu_schema_run_finish(run);

    keryu_schema_run_free(run);

    return rc;
}


static void
big_bodies_stream_in_bounded_memory(void **state)
{
    test_mem_t       small, big;
    keryu_schema_t  *s;

    (void) state;

    s = compile(test_mem_schema);

    assert_int_equal(test_mem_body(s, &small, TEST_SMALL_BODY), 0);
    assert_int_equal(test_mem_body(s, &big, TEST_BIG_BODY), 0);

    print_message("run memory: peak %zu bytes in %zu allocations "
                  "(100 KiB body), %zu bytes in %zu (10 MiB body)\n",
                  small.peak, small.calls, big.peak, big.calls);

    /* all given back, and a hundred times the body costs nothing more */

    assert_int_equal(small.live, 0);
    assert_int_equal(big.live, 0);
    assert_int_equal(big.peak, small.peak);
    assert_int_equal(big.calls, small.calls);
    assert_true(big.peak < 64 * 1024);

    keryu_schema_free(s);
}


static void
long_strings_use_bounded_memory(void **state)
{
    char                 *body;
    size_t                i, n;
    test_mem_t            m;
    keryu_schema_t       *s;
    keryu_schema_run_t   *run;
    keryu_schema_alloc_t  a;

    (void) state;

    s = compile("{'items':{'type':'string'}}");

    /* many strings of nearly KERYU_SCHEMA_TOKEN_MAX, all cut up */

    body = malloc(KERYU_SCHEMA_TOKEN_MAX + 16);
    assert_non_null(body);

    n = 0;
    body[n++] = '"';
    memset(body + n, 'y', KERYU_SCHEMA_TOKEN_MAX - 2);
    n += KERYU_SCHEMA_TOKEN_MAX - 2;
    body[n++] = '"';

    a = test_mem_hooks(&m);
    run = keryu_schema_run_new(s, &a);
    assert_non_null(run);
    assert_int_equal(keryu_schema_run_feed(run, (const unsigned char *) "[",
                                           1),
                     0);

    for (i = 0; i < 64; i++) {
        if (i > 0) {
            assert_int_equal(keryu_schema_run_feed(run,
                                 (const unsigned char *) ",", 1),
                             0);
        }

        assert_int_equal(keryu_schema_run_feed(run,
                             (const unsigned char *) body, 1000),
                         0);
        assert_int_equal(keryu_schema_run_feed(run,
                             (const unsigned char *) body + 1000, n - 1000),
                         0);
    }

    assert_int_equal(keryu_schema_run_feed(run, (const unsigned char *) "]",
                                           1),
                     0);
    assert_int_equal(keryu_schema_run_finish(run), 0);
    keryu_schema_run_free(run);

    print_message("run memory: peak %zu bytes for 64 strings of %d bytes\n",
                  m.peak, KERYU_SCHEMA_TOKEN_MAX);

    assert_int_equal(m.live, 0);
    assert_true(m.peak < 4 * KERYU_SCHEMA_TOKEN_MAX);

    free(body);
    keryu_schema_free(s);
}


/* feeds the C string body in pieces of step bytes */

static int
test_feed_by(keryu_schema_run_t *run, const char *body, size_t step)
{
    int     rc;
    size_t  i, len, n;

    len = strlen(body);

    for (i = 0; i < len; i += n) {
        n = (len - i < step) ? len - i : step;

        rc = keryu_schema_run_feed(run, (const unsigned char *) body + i, n);
        if (rc != 0) {
            return rc;
        }
    }

    return 0;
}


/*
 * Fails each allocation in turn, in keryu_schema_run_new() and while
 * feeding, with and without patterns: the run ends with "memory" or
 * never starts, and everything it took is given back.
 */

static void
allocation_failures_end_the_run_cleanly(void **state)
{
    int                   rc;
    size_t                i, total, sch, in_new, in_feed;
    const char           *p, *k, *r, *body;
    test_mem_t            m;
    keryu_schema_t       *s[2];
    keryu_schema_run_t   *run;
    keryu_schema_alloc_t  a;

    (void) state;

    s[0] = compile(test_mem_schema);
    s[1] = compile("{'items':{'type':'number','maximum':1}}");

    body = "[{\"id\": 1, \"name\": \"abc\", \"price\": 1.5, "
           "\"tags\": [\"a\"], \"note\": \"\\\"quoted\\\" and long enough "
           "to span the pieces\"}, {\"id\": 2, \"name\": \"x\"}]";

    for (sch = 0; sch < 2; sch++) {
        if (sch == 1) {
            body = "[0.1234567890123456789012345678901234567890123456789"
                   "01234567890123456789, 0.5]";
        }

        /* how many allocations a run makes with nothing failing */

        a = test_mem_hooks(&m);
        run = keryu_schema_run_new(s[sch], &a);
        assert_non_null(run);

        assert_int_equal(test_feed_by(run, body, 5), 0);
        assert_int_equal(keryu_schema_run_finish(run), 0);
        keryu_schema_run_free(run);

        total = m.calls;
        in_new = 0;
        in_feed = 0;

        for (i = 1; i <= total; i++) {
            a = test_mem_hooks(&m);
            m.fail_at = i;

            run = keryu_schema_run_new(s[sch], &a);

            if (run == NULL) {
                assert_int_equal(m.failed, 1);
                assert_int_equal(m.live, 0);
                in_new++;
                continue;
            }

            in_feed++;

            rc = test_feed_by(run, body, 5);

            if (rc == 0) {
                rc = keryu_schema_run_finish(run);
            }

            assert_int_equal(rc, -1);
            keryu_schema_run_error(run, &p, &k, &r);
            assert_string_equal(k, "memory");
            assert_string_equal(p, "");
            assert_string_equal(r, "out of memory");

            keryu_schema_run_free(run);
            assert_int_equal(m.live, 0);
        }

        /* the run and yajl's blocks; then buffers, a scratch, PCRE2's frames */

        print_message("allocations: %zu in keryu_schema_run_new(), %zu while "
                      "feeding\n", in_new, in_feed);
        assert_true(in_new >= 6);
        assert_true(in_feed >= 1);
    }

    keryu_schema_free(s[0]);
    keryu_schema_free(s[1]);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(type_keyword_accepts_and_refuses_each_type),
        cmocka_unit_test(integer_is_read_from_the_text),
        cmocka_unit_test(properties_check_members_at_their_pointer),
        cmocka_unit_test(required_names_the_missing_member),
        cmocka_unit_test(additional_properties_false_or_a_schema),
        cmocka_unit_test(false_schemas_name_their_keyword),
        cmocka_unit_test(enum_matches_scalars_by_value),
        cmocka_unit_test(numeric_bounds_hold_at_their_edges),
        cmocka_unit_test(big_integers_compare_exactly),
        cmocka_unit_test(lengths_count_code_points),
        cmocka_unit_test(pattern_is_unanchored_utf8_and_dollar_ends_it),
        cmocka_unit_test(pattern_backtracking_is_bounded),
        cmocka_unit_test(items_and_item_counts),
        cmocka_unit_test(keywords_apply_only_to_their_kind),
        cmocka_unit_test(nesting_past_the_cap_is_refused),
        cmocka_unit_test(invalid_json_is_refused_where_found),
        cmocka_unit_test(invalid_utf8_is_refused),
        cmocka_unit_test(surrogate_escapes_must_pair),
        cmocka_unit_test(long_tokens_are_refused),
        cmocka_unit_test(pointers_are_escaped_and_cut),
        cmocka_unit_test(pieces_of_any_size_give_one_result),
        cmocka_unit_test(unsupported_keywords_are_refused),
        cmocka_unit_test(malformed_schemas_are_refused_with_messages),
        cmocka_unit_test(schema_limits_and_error_buffers),
        cmocka_unit_test(errors_are_empty_until_a_failure),
        cmocka_unit_test(one_schema_serves_interleaved_runs),
        cmocka_unit_test(big_bodies_stream_in_bounded_memory),
        cmocka_unit_test(long_strings_use_bounded_memory),
        cmocka_unit_test(allocation_failures_end_the_run_cleanly),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
