/*
 * Copyright (C) Keryu Security
 *
 * Tests of policy suggestions (suggest.h) without HTTP: the query
 * parameters, and suggest_build() over records that come through the
 * consumer from a shared store holding a validation policy, as in the
 * daemon: the bound on records read, the bound on groups, and what a
 * group is made of.  Each test has a fresh mkdtemp directory.
 */


#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keryud.h"
#include "jtree.h"
#include "log.h"
#include "policy.h"
#include "suggest.h"


#define CHECK_MDB(call)                                                       \
    do {                                                                      \
        int  rc_ = (call);                                                    \
        if (rc_ != 0) {                                                       \
            fail_msg("%s: %s", #call, keryu_store_strerror(rc_));             \
        }                                                                     \
    } while (0)


#define T0  1796316587000000ULL

#define POLICY                                                                \
    "{\"name\":\"shop\",\"policy_type\":\"validation\",\"rules\":["          \
    "{\"id\":\"search\",\"path\":\"/search\","                               \
    "\"args\":{\"q\":{\"type\":\"string\",\"maxLength\":10}}}]}"


typedef struct {
    char                dir[64];
    char                src_path[96];
    char                dst_path[96];
    keryu_store_t       src;
    store_t             dst;
    consumer_t          cs;
    uint64_t            seq;
} fixture_t;


static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void) sb;
    (void) flag;
    (void) ftw;

    return remove(path);
}


static int
setup(void **state)
{
    char        err[256];
    fixture_t  *f;

    log_init(1, 0);

    f = calloc(1, sizeof(fixture_t));
    assert_non_null(f);

    strcpy(f->dir, "/tmp/keryud-suggest-XXXXXX");
    assert_non_null(mkdtemp(f->dir));

    snprintf(f->src_path, sizeof(f->src_path), "%s/store", f->dir);
    snprintf(f->dst_path, sizeof(f->dst_path), "%s/data", f->dir);

    CHECK_MDB(keryu_store_open(&f->src, f->src_path, 64 * 1024 * 1024,
                               MDB_NOSYNC));
    CHECK_MDB(store_open(&f->dst, f->dst_path, 64 * 1024 * 1024));
    consume_init(&f->cs, &f->src, &f->dst, 1000);

    if (policy_write(&f->src, POLICY, sizeof(POLICY) - 1, POLICY_UPSERT,
                     NULL, NULL, NULL, err, sizeof(err))
        != POLICY_OK)
    {
        fail_msg("policy_write() failed: %s", err);
    }

    *state = f;

    return 0;
}


static int
teardown(void **state)
{
    fixture_t  *f = *state;

    consume_free(&f->cs);
    keryu_store_close(&f->src);
    store_close(&f->dst);
    nftw(f->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    free(f);

    return 0;
}


/* count records with this uri and details, one microsecond apart */

static void
append(fixture_t *f, unsigned count, const char *uri, const char *details)
{
    size_t                 len;
    uint8_t               *buf, *p;
    MDB_txn               *txn;
    unsigned               n;
    keryu_record_t         rec;
    keryu_store_append_t   res;

    memset(&rec, 0, sizeof(keryu_record_t));
    rec.method.data = (const uint8_t *) "GET";
    rec.method.len = 3;
    rec.uri.data = (const uint8_t *) uri;
    rec.uri.len = strlen(uri);
    rec.details.data = (const uint8_t *) details;
    rec.details.len = strlen(details);
    rec.status = 200;

    buf = malloc(count * (4 + keryu_record_size(&rec)));
    assert_non_null(buf);

    p = buf;

    for (n = 0; n < count; n++) {
        rec.seq = ++f->seq;
        rec.time_us = T0 + f->seq;

        len = keryu_record_encode(&rec, p + 4);
        p[0] = (uint8_t) len;
        p[1] = (uint8_t) (len >> 8);
        p[2] = 0;
        p[3] = 0;
        p += 4 + len;
    }

    CHECK_MDB(keryu_store_txn_begin(&f->src, 0, &txn));
    CHECK_MDB(keryu_store_append(&f->src, txn, buf, (size_t) (p - buf),
                                 100000, &res));
    CHECK_MDB(mdb_txn_commit(txn));

    free(buf);
}


static void
consume_all(fixture_t *f)
{
    consume_res_t  res;

    do {
        assert_int_equal(consume_batch(&f->cs, &res), 0);
    } while (res.read);
}


/* suggest_build() over the store, its answer parsed */

static jtree_t *
build(fixture_t *f, const char *qs, uint64_t scan_max)
{
    char              err[256];
    size_t            len;
    json_t           *j;
    MDB_txn          *txn;
    jtree_t          *t;
    const uint8_t    *buf;
    suggest_query_t   q;

    assert_int_equal(suggest_query_parse(&q, qs), 0);

    j = json_new();
    assert_non_null(j);

    CHECK_MDB(store_txn_begin(&f->dst, MDB_RDONLY, &txn));

    if (suggest_build(&f->dst, txn, &f->src, &q, scan_max, j, err,
                      sizeof(err))
        != 0)
    {
        fail_msg("suggest_build() failed: %s", err);
    }

    mdb_txn_abort(txn);

    assert_int_equal(json_result(j, &buf, &len), 0);

    t = jtree_parse((const char *) buf, len, err, sizeof(err));
    assert_non_null(t);

    json_free(j);

    return t;
}


static int64_t
get_int(const jtree_t *t, const char *key)
{
    int64_t  n;

    assert_int_equal(jtree_int(jtree_get(t, key), &n), 0);

    return n;
}


static void
query_parameters_are_strict(void **state)
{
    suggest_query_t  q;

    (void) state;

    assert_int_equal(suggest_query_parse(&q, NULL), 0);
    assert_int_equal(q.min_count, 1);
    assert_false(q.has_since);
    assert_string_equal(q.policy, "");

    assert_int_equal(suggest_query_parse(&q, "since=1800000000&until="
                                         "2027-01-16T00:00:00Z&policy=shop"
                                         "&min_count=7"), 0);
    assert_true(q.has_since && q.has_until);
    assert_true(q.since == 1800000000ULL * 1000000);
    assert_string_equal(q.policy, "shop");
    assert_int_equal(q.min_count, 7);

    assert_int_equal(suggest_query_parse(&q, "limit=1"), -1);
    assert_string_equal(q.error, "unknown parameter");
    assert_string_equal(q.bad, "limit");

    assert_int_equal(suggest_query_parse(&q, "policy=a%2Fb"), -1);
    assert_string_equal(q.error, "invalid parameter");
    assert_string_equal(q.bad, "policy");

    assert_int_equal(suggest_query_parse(&q, "policy=shop%00x"), -1);
    assert_string_equal(q.bad, "policy");

    assert_int_equal(suggest_query_parse(&q, "min_count=01"), -1);
    assert_string_equal(q.bad, "min_count");

    assert_int_equal(suggest_query_parse(&q, "min_count=1000000001"), -1);
    assert_string_equal(q.bad, "min_count");

    assert_int_equal(suggest_query_parse(&q, "since=2&until=1"), -1);
    assert_string_equal(q.bad, "until");

    assert_int_equal(suggest_query_parse(&q, "=1"), -1);
    assert_string_equal(q.error, "invalid query");
    assert_string_equal(q.bad, "");
}


static void
a_group_is_made_of_its_hits(void **state)
{
    fixture_t      *f = *state;
    jtree_t        *t;
    const jtree_t  *g, *patch;

    append(f, 2, "/search?q=0123456789ab",
           "{\"reason\":\"shadow\",\"rule\":\"shop/search\",\"field\":\"q\","
           "\"invalid\":\"too long\",\"length\":12}");
    append(f, 1, "/search?q=0123456789abcdef",
           "{\"rule\":\"site/open\",\"shadow\":\"shop/search\",\"field\":\"q\","
           "\"invalid\":\"too long\",\"length\":16}");
    append(f, 3, "/search", "{\"rule\":\"site/open\"}");
    consume_all(f);

    t = build(f, NULL, API_SCAN_MAX);

    assert_int_equal(get_int(t, "scanned"), 6);
    assert_int_equal(jtree_bool(jtree_get(t, "complete")), 1);
    assert_int_equal(jtree_len(jtree_get(t, "items")), 1);

    g = jtree_at(jtree_get(t, "items"), 0);
    assert_string_equal(jtree_get_string(g, "rule"), "shop/search");
    assert_string_equal(jtree_get_string(g, "path"), "/search");
    assert_int_equal(get_int(g, "count"), 3);
    assert_int_equal(get_int(jtree_get(jtree_get(g, "observed"), "length"),
                             "max"), 16);

    patch = jtree_at(jtree_get(jtree_get(g, "change"), "patch"), 0);
    assert_string_equal(jtree_get_string(patch, "path"),
                        "/rules/0/args/q/maxLength");
    assert_int_equal(get_int(patch, "value"), 16);

    jtree_free(t);
}


static void
no_more_records_are_read_than_asked(void **state)
{
    fixture_t      *f = *state;
    jtree_t        *t;
    const jtree_t  *g;

    append(f, 5, "/search",
           "{\"reason\":\"shadow\",\"rule\":\"shop/search\",\"field\":\"q\","
           "\"invalid\":\"too long\",\"length\":12}");
    consume_all(f);

    t = build(f, NULL, 3);

    assert_int_equal(get_int(t, "scanned"), 3);
    assert_int_equal(jtree_bool(jtree_get(t, "complete")), 0);

    g = jtree_at(jtree_get(t, "items"), 0);
    assert_int_equal(get_int(g, "count"), 3);

    jtree_free(t);
}


static void
groups_past_the_bound_are_counted_as_dropped(void **state)
{
    fixture_t  *f = *state;
    char        uri[32];
    jtree_t    *t;
    unsigned    i;

    /* a path of its own for each record: a group each */

    for (i = 0; i < SUGGEST_GROUPS_MAX + 5; i++) {
        snprintf(uri, sizeof(uri), "/p/a%u", i);
        append(f, 1, uri,
               "{\"reason\":\"shadow\",\"rule\":\"keryu_max_args\","
               "\"field\":\"args\",\"invalid\":\"too many arguments\","
               "\"count\":3}");
    }

    consume_all(f);

    t = build(f, "min_count=1", API_SCAN_MAX);

    assert_int_equal(jtree_len(jtree_get(t, "items")), SUGGEST_GROUPS_MAX);
    assert_int_equal(get_int(t, "dropped"), 5);

    jtree_free(t);
}


static void
min_count_and_policy_filter_groups(void **state)
{
    fixture_t  *f = *state;
    jtree_t    *t;

    append(f, 2, "/search",
           "{\"reason\":\"shadow\",\"rule\":\"shop/search\",\"field\":\"q\","
           "\"invalid\":\"too long\",\"length\":12}");
    append(f, 1, "/x/17",
           "{\"reason\":\"shadow\",\"rule\":\"keryu_max_args\","
           "\"field\":\"args\",\"invalid\":\"too many arguments\","
           "\"count\":3}");
    consume_all(f);

    t = build(f, NULL, API_SCAN_MAX);
    assert_int_equal(jtree_len(jtree_get(t, "items")), 2);
    assert_string_equal(jtree_get_string(jtree_at(jtree_get(t, "items"), 1),
                                         "path"), "/x/{int}");
    jtree_free(t);

    t = build(f, "min_count=2", API_SCAN_MAX);
    assert_int_equal(jtree_len(jtree_get(t, "items")), 1);
    jtree_free(t);

    t = build(f, "policy=shop", API_SCAN_MAX);
    assert_int_equal(jtree_len(jtree_get(t, "items")), 1);
    assert_string_equal(jtree_get_string(jtree_at(jtree_get(t, "items"), 0),
                                         "rule"), "shop/search");
    jtree_free(t);

    t = build(f, "policy=sho", API_SCAN_MAX);
    assert_int_equal(jtree_len(jtree_get(t, "items")), 0);
    jtree_free(t);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(query_parameters_are_strict),
        cmocka_unit_test_setup_teardown(a_group_is_made_of_its_hits, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(no_more_records_are_read_than_asked,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            groups_past_the_bound_are_counted_as_dropped, setup, teardown),
        cmocka_unit_test_setup_teardown(min_count_and_policy_filter_groups,
                                        setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
