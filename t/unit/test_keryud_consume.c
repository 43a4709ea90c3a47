/*
 * Copyright (C) Keryu Security
 *
 * Tests of keryud's consumer and of the logs listing over its store.  The
 * shared store is filled through keryu_store_append(), as nginx workers
 * fill it, in a fresh mkdtemp directory per test; the consumer runs by
 * direct calls of consume_batch(), without the event loop.  The indexes
 * are checked entry by entry, and listings through them against a reading
 * of every record, over many filter combinations on a mixed data set.
 */


#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "keryud.h"
#include "api.h"
#include "json.h"
#include "log.h"


#define CHECK_MDB(call)                                                       \
    do {                                                                      \
        int  rc_ = (call);                                                    \
        if (rc_ != 0) {                                                       \
            fail_msg("%s: %s", #call, keryu_store_strerror(rc_));             \
        }                                                                     \
    } while (0)


typedef struct {
    char                dir[64];
    char                src_path[96];
    char                dst_path[96];
    keryu_store_t       src;
    store_t             dst;
    consumer_t          cs;
} fixture_t;


static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void) sb;
    (void) flag;
    (void) ftw;

    return remove(path);
}


static void
fixture_open(fixture_t *f, uint64_t batch)
{
    CHECK_MDB(keryu_store_open(&f->src, f->src_path, 16 * 1024 * 1024,
                               MDB_NOSYNC));
    CHECK_MDB(store_open(&f->dst, f->dst_path, 16 * 1024 * 1024));
    consume_init(&f->cs, &f->src, &f->dst, batch);
}


static void
fixture_close(fixture_t *f)
{
    consume_free(&f->cs);
    keryu_store_close(&f->src);
    store_close(&f->dst);
}


static int
setup(void **state)
{
    fixture_t  *f;

    log_init(1, 0);

    f = calloc(1, sizeof(fixture_t));
    assert_non_null(f);

    strcpy(f->dir, "/tmp/keryud-test-XXXXXX");
    assert_non_null(mkdtemp(f->dir));

    snprintf(f->src_path, sizeof(f->src_path), "%s/store", f->dir);
    snprintf(f->dst_path, sizeof(f->dst_path), "%s/data", f->dir);

    fixture_open(f, 4);

    *state = f;

    return 0;
}


static int
teardown(void **state)
{
    fixture_t  *f = *state;

    fixture_close(f);
    nftw(f->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    free(f);

    return 0;
}


/* appends records first..first+count-1 as one worker batch would */

static void
append(keryu_store_t *st, uint64_t first, uint64_t count, uint64_t capacity)
{
    char                   uri[32];
    size_t                 len;
    uint8_t                buf[64 * 1024], *p;
    MDB_txn               *txn;
    uint64_t               n;
    keryu_record_t         rec;
    keryu_store_append_t   res;

    memset(&rec, 0, sizeof(keryu_record_t));
    rec.status = 200;
    rec.type = KERYU_EVENT_REQUEST;
    rec.method.data = (const uint8_t *) "GET";
    rec.method.len = 3;

    p = buf;

    for (n = first; n < first + count; n++) {
        snprintf(uri, sizeof(uri), "/r/%llu", (unsigned long long) n);

        rec.seq = n;
        rec.time_us = 1796316587000000ULL + n;
        rec.type = (n % 3 == 0) ? KERYU_EVENT_LOGIN : KERYU_EVENT_REQUEST;
        rec.uri.data = (const uint8_t *) uri;
        rec.uri.len = strlen(uri);

        assert_true(p + 4 + keryu_record_size(&rec) <= buf + sizeof(buf));

        len = keryu_record_encode(&rec, p + 4);
        p[0] = (uint8_t) len;
        p[1] = (uint8_t) (len >> 8);
        p[2] = 0;
        p[3] = 0;
        p += 4 + len;
    }

    CHECK_MDB(keryu_store_txn_begin(st, 0, &txn));
    CHECK_MDB(keryu_store_append(st, txn, buf, (size_t) (p - buf), capacity,
                                 &res));
    CHECK_MDB(mdb_txn_commit(txn));
}


static uint64_t
own_meta(fixture_t *f, const char *name)
{
    MDB_txn   *txn;
    uint64_t   v;

    CHECK_MDB(store_txn_begin(&f->dst, MDB_RDONLY, &txn));
    CHECK_MDB(store_meta_get(&f->dst, txn, name, &v));
    mdb_txn_abort(txn);

    return v;
}


/*
 * checks that logs holds ids 1..n in order and returns their source
 * sequence numbers in seqs
 */

static void
own_logs(fixture_t *f, uint64_t *seqs, uint64_t n)
{
    int              rc;
    MDB_val          key, val;
    MDB_txn         *txn;
    uint64_t         i;
    MDB_cursor      *cur;
    keryu_record_t   rec;

    CHECK_MDB(store_txn_begin(&f->dst, MDB_RDONLY, &txn));
    CHECK_MDB(mdb_cursor_open(txn, f->dst.logs, &cur));

    i = 0;

    for (rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST);
         rc == 0;
         rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT))
    {
        assert_true(i < n);
        assert_int_equal(key.mv_size, 8);
        assert_int_equal(keryu_store_key_decode(key.mv_data), i + 1);
        assert_int_equal(keryu_record_decode(&rec, val.mv_data, val.mv_size),
                         0);
        seqs[i++] = rec.seq;
    }

    assert_int_equal(rc, MDB_NOTFOUND);
    assert_int_equal(i, n);

    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
}


static void
consume_all(fixture_t *f)
{
    consume_res_t  res;

    do {
        assert_int_equal(consume_batch(&f->cs, &res), 0);
    } while (res.read);
}


static void
test_consume_in_batches(void **state)
{
    fixture_t      *f = *state;

    uint64_t        i, seqs[10], consumer_seq;
    MDB_txn        *txn;
    consume_res_t   res;

    append(&f->src, 1, 10, 1000);

    assert_int_equal(consume_batch(&f->cs, &res), 0);
    assert_int_equal(res.read, 4);
    assert_int_equal(res.stored, 4);
    assert_int_equal(res.last_seq, 4);

    assert_int_equal(consume_batch(&f->cs, &res), 0);
    assert_int_equal(res.read, 4);

    assert_int_equal(consume_batch(&f->cs, &res), 0);
    assert_int_equal(res.read, 2);
    assert_int_equal(res.last_seq, 10);

    assert_int_equal(consume_batch(&f->cs, &res), 0);
    assert_int_equal(res.read, 0);

    own_logs(f, seqs, 10);

    for (i = 0; i < 10; i++) {
        assert_int_equal(seqs[i], i + 1);
    }

    assert_int_equal(own_meta(f, STORE_META_CONSUMED), 10);
    assert_int_equal(own_meta(f, STORE_META_SRC_SEQ), 10);
    assert_int_equal(own_meta(f, STORE_META_NEXT_ID), 11);
    assert_int_equal(own_meta(f, STORE_META_LOST), 0);

    CHECK_MDB(keryu_store_txn_begin(&f->src, MDB_RDONLY, &txn));
    CHECK_MDB(keryu_store_meta_get(&f->src, txn, KERYU_META_CONSUMER_SEQ,
                                   &consumer_seq));
    mdb_txn_abort(txn);

    assert_int_equal(consumer_seq, 10);
}


static void
test_consume_stores_bytes_as_read(void **state)
{
    fixture_t      *f = *state;

    uint8_t         key8[8];
    MDB_val         key, src_val, dst_val;
    MDB_txn        *stxn, *dtxn;

    append(&f->src, 1, 3, 1000);
    consume_all(f);

    CHECK_MDB(keryu_store_txn_begin(&f->src, MDB_RDONLY, &stxn));
    CHECK_MDB(store_txn_begin(&f->dst, MDB_RDONLY, &dtxn));

    keryu_store_key_encode(key8, 2);
    key.mv_size = 8;
    key.mv_data = key8;

    CHECK_MDB(mdb_get(stxn, f->src.ring, &key, &src_val));
    CHECK_MDB(mdb_get(dtxn, f->dst.logs, &key, &dst_val));

    assert_int_equal(src_val.mv_size, dst_val.mv_size);
    assert_memory_equal(src_val.mv_data, dst_val.mv_data, src_val.mv_size);

    mdb_txn_abort(dtxn);
    mdb_txn_abort(stxn);
}


static void
test_restart_loses_and_doubles_nothing(void **state)
{
    fixture_t      *f = *state;

    uint64_t        i, seqs[25];
    consume_res_t   res;

    append(&f->src, 1, 10, 1000);

    assert_int_equal(consume_batch(&f->cs, &res), 0);
    assert_int_equal(consume_batch(&f->cs, &res), 0);

    fixture_close(f);
    fixture_open(f, 4);

    append(&f->src, 11, 15, 1000);
    consume_all(f);

    own_logs(f, seqs, 25);

    for (i = 0; i < 25; i++) {
        assert_int_equal(seqs[i], i + 1);
    }

    assert_int_equal(own_meta(f, STORE_META_CONSUMED), 25);
    assert_int_equal(own_meta(f, STORE_META_LOST), 0);
}


static void
test_gap_counts_as_lost(void **state)
{
    fixture_t      *f = *state;

    uint64_t        seqs[6];
    consume_res_t   res;

    append(&f->src, 1, 3, 1000);
    append(&f->src, 7, 3, 1000);

    assert_int_equal(consume_batch(&f->cs, &res), 0);
    assert_int_equal(res.lost, 3);
    consume_all(f);

    own_logs(f, seqs, 6);

    assert_int_equal(seqs[2], 3);
    assert_int_equal(seqs[3], 7);
    assert_int_equal(own_meta(f, STORE_META_LOST), 3);
    assert_int_equal(own_meta(f, STORE_META_CONSUMED), 6);
}


static void
test_trimmed_before_read_counts_as_lost(void **state)
{
    fixture_t  *f = *state;

    uint64_t    seqs[5];

    append(&f->src, 1, 10, 5);
    consume_all(f);

    own_logs(f, seqs, 5);

    assert_int_equal(seqs[0], 6);
    assert_int_equal(own_meta(f, STORE_META_LOST), 5);
}


static void
test_replaced_store_read_from_start(void **state)
{
    fixture_t  *f = *state;

    uint64_t    seqs[5], old_id;

    append(&f->src, 1, 3, 1000);
    consume_all(f);

    old_id = own_meta(f, STORE_META_SRC_ID);
    assert_true(old_id != 0);

    fixture_close(f);
    assert_int_equal(nftw(f->src_path, rm_entry, 8, FTW_DEPTH | FTW_PHYS), 0);
    fixture_open(f, 4);

    append(&f->src, 1, 2, 1000);
    consume_all(f);

    own_logs(f, seqs, 5);

    assert_int_equal(seqs[2], 3);
    assert_int_equal(seqs[3], 1);
    assert_int_equal(seqs[4], 2);
    assert_true(own_meta(f, STORE_META_SRC_ID) != old_id);
    assert_int_equal(own_meta(f, STORE_META_SRC_SEQ), 2);
    assert_int_equal(own_meta(f, STORE_META_LOST), 0);
    assert_int_equal(own_meta(f, STORE_META_NEXT_ID), 6);
}


static void
test_undecodable_record_skipped(void **state)
{
    fixture_t      *f = *state;

    uint8_t         key8[8], junk[16];
    MDB_val         key, val;
    MDB_txn        *txn;
    uint64_t        seqs[4];
    consume_res_t   res;

    append(&f->src, 1, 2, 1000);

    memset(junk, 0x5a, sizeof(junk));
    keryu_store_key_encode(key8, 3);

    key.mv_size = 8;
    key.mv_data = key8;
    val.mv_size = sizeof(junk);
    val.mv_data = junk;

    CHECK_MDB(keryu_store_txn_begin(&f->src, 0, &txn));
    CHECK_MDB(mdb_put(txn, f->src.ring, &key, &val, MDB_APPEND));
    CHECK_MDB(keryu_store_meta_put(&f->src, txn, KERYU_META_LAST_SEQ, 3));
    CHECK_MDB(mdb_txn_commit(txn));

    append(&f->src, 4, 2, 1000);

    assert_int_equal(consume_batch(&f->cs, &res), 0);
    assert_int_equal(res.read, 4);
    assert_int_equal(res.stored, 3);
    assert_int_equal(res.invalid, 1);
    consume_all(f);

    own_logs(f, seqs, 4);

    assert_int_equal(seqs[2], 4);
    assert_int_equal(own_meta(f, STORE_META_INVALID), 1);
    assert_int_equal(own_meta(f, STORE_META_LOST), 0);
    assert_int_equal(own_meta(f, STORE_META_SRC_SEQ), 5);
}


/* appends one record of type with details, as sequence number seq */

static void
append_details(keryu_store_t *st, uint64_t seq, unsigned type,
    const char *details)
{
    size_t                 len;
    uint8_t                buf[8192];
    MDB_txn               *txn;
    keryu_record_t         rec;
    keryu_store_append_t   res;

    memset(&rec, 0, sizeof(keryu_record_t));
    rec.seq = seq;
    rec.status = 200;
    rec.type = (uint8_t) type;
    rec.time_us = 1796316587000000ULL + seq;
    rec.details.data = (const uint8_t *) details;
    rec.details.len = strlen(details);

    len = keryu_record_encode(&rec, buf + 4);
    buf[0] = (uint8_t) len;
    buf[1] = (uint8_t) (len >> 8);
    buf[2] = 0;
    buf[3] = 0;

    CHECK_MDB(keryu_store_txn_begin(st, 0, &txn));
    CHECK_MDB(keryu_store_append(st, txn, buf, len + 4, 100000, &res));
    CHECK_MDB(mdb_txn_commit(txn));
}


static const consume_rule_t *
rule_of(const consume_stats_t *st, const char *name)
{
    unsigned  i;

    for (i = 0; i < st->nrules; i++) {
        if (strcmp(st->rules[i].name, name) == 0) {
            return &st->rules[i];
        }
    }

    return strcmp(name, "other") == 0 ? &st->rules[CONSUME_RULES_MAX] : NULL;
}


static void
test_counts_by_type_decision_and_rule(void **state)
{
    fixture_t              *f = *state;

    char                    details[64];
    uint64_t                seq, i;
    const consume_rule_t   *r;
    const consume_stats_t  *st;

    static const struct {
        unsigned            type;
        const char         *details;
    } recs[] = {
        { KERYU_EVENT_REQUEST, "{\"rule\":\"p/a\"}" },
        { KERYU_EVENT_REQUEST, "{\"rule\":\"p/a\"}" },
        { KERYU_EVENT_PERMISSION_DENIED,
          "{\"reason\":\"policy\",\"rule\":\"p/b\"}" },
        { KERYU_EVENT_REQUEST,
          "{\"reason\":\"shadow\",\"rule\":\"p/b\",\"shadow\":\"p/b\"}" },
        { KERYU_EVENT_REQUEST, "{\"rule\":\"p/a\",\"shadow\":\"s/x\"}" },
        { KERYU_EVENT_REQUEST,
          "{\"reason\":\"policy store unavailable\",\"rule\":\"\"}" },
        { KERYU_EVENT_REQUEST, "{\"rule\":\"a \\\"quoted\\\" rule\"}" },
        { KERYU_EVENT_LOGIN, "{\"method\":\"password\",\"rule\":1}" },
        { KERYU_EVENT_LOGIN, "{\"note\":\"\\\"rule\\\":\\\"p/a\"}" },
        { KERYU_EVENT_REQUEST, "" },
        { KERYU_EVENT_REQUEST, "{\"rule\":\"p/unterminated" },
    };

    st = &f->cs.cs_stats;

    for (i = 0; i < sizeof(recs) / sizeof(recs[0]); i++) {
        append_details(&f->src, i + 1, recs[i].type, recs[i].details);
    }

    consume_all(f);

    assert_int_equal(st->events[KERYU_EVENT_REQUEST], 8);
    assert_int_equal(st->events[KERYU_EVENT_PERMISSION_DENIED], 1);
    assert_int_equal(st->events[KERYU_EVENT_LOGIN], 2);
    assert_int_equal(st->events[KERYU_EVENT_AUTH_FAILURE], 0);

    assert_int_equal(st->nrules, 4);

    r = rule_of(st, "p/a");
    assert_non_null(r);
    assert_int_equal(r->count[CONSUME_ALLOW], 2);
    assert_int_equal(r->count[CONSUME_DENY], 0);
    assert_int_equal(r->count[CONSUME_SHADOW_DENY], 0);

    r = rule_of(st, "p/b");
    assert_non_null(r);
    assert_int_equal(r->count[CONSUME_DENY], 1);
    assert_int_equal(r->count[CONSUME_SHADOW_DENY], 1);

    r = rule_of(st, "s/x");
    assert_non_null(r);
    assert_int_equal(r->count[CONSUME_SHADOW_DENY], 1);

    r = rule_of(st, "none");
    assert_non_null(r);
    assert_int_equal(r->count[CONSUME_DENY], 1);

    r = rule_of(st, "other");
    assert_int_equal(r->count[CONSUME_ALLOW], 1);

    /* past CONSUME_RULES_MAX distinct rules, the rest count as other */

    seq = sizeof(recs) / sizeof(recs[0]);

    for (i = 0; i < CONSUME_RULES_MAX + 10; i++) {
        snprintf(details, sizeof(details), "{\"rule\":\"many/r%llu\"}",
                 (unsigned long long) i);
        append_details(&f->src, ++seq, KERYU_EVENT_REQUEST, details);
    }

    consume_all(f);

    assert_int_equal(st->nrules, CONSUME_RULES_MAX);
    assert_non_null(rule_of(st, "many/r0"));
    assert_null(rule_of(st, "many/r1029"));
    assert_int_equal(rule_of(st, "other")->count[CONSUME_ALLOW], 1 + 14);
    assert_int_equal(rule_of(st, "p/a")->count[CONSUME_ALLOW], 2);
    assert_int_equal(st->events[KERYU_EVENT_REQUEST],
                     8 + CONSUME_RULES_MAX + 10);
}


static char *
scan(fixture_t *f, const char *qs, int events_only, uint64_t scan_max)
{
    char            *out;
    size_t           len;
    json_t          *j;
    query_t          q;
    MDB_txn         *txn;
    const uint8_t   *buf;

    assert_int_equal(query_parse(&q, qs), 0);

    j = json_new();
    assert_non_null(j);

    CHECK_MDB(store_txn_begin(&f->dst, MDB_RDONLY, &txn));
    CHECK_MDB(api_scan(&f->dst, txn, &q, events_only, scan_max, j));
    mdb_txn_abort(txn);

    assert_int_equal(json_result(j, &buf, &len), 0);

    out = strndup((const char *) buf, len);
    assert_non_null(out);

    json_free(j);

    return out;
}


/* the ids of the items in a listing, in order, and its next_cursor */

static void
scan_ids(const char *out, char *ids, size_t size, char *next, size_t nsize)
{
    size_t       n;
    const char  *p, *c;

    ids[0] = '\0';
    n = 0;

    for (p = strstr(out, "{\"id\":"); p; p = strstr(p + 1, "{\"id\":")) {
        n += snprintf(ids + n, size - n, "%s%d", n ? "," : "",
                      atoi(p + 6));
    }

    c = strstr(out, "\"next_cursor\":");
    assert_non_null(c);
    c += 14;

    if (*c == '"') {
        snprintf(next, nsize, "%.*s", (int) strcspn(c + 1, "\""), c + 1);

    } else {
        snprintf(next, nsize, "null");
    }
}


static void
test_scan_pages_newest_first(void **state)
{
    fixture_t  *f = *state;

    char        ids[256], next[32], qs[64], *out;

    append(&f->src, 1, 10, 1000);
    consume_all(f);

    out = scan(f, "limit=4", 0, API_SCAN_MAX);
    scan_ids(out, ids, sizeof(ids), next, sizeof(next));
    assert_string_equal(ids, "10,9,8,7");
    assert_string_equal(next, "7");
    free(out);

    snprintf(qs, sizeof(qs), "limit=4&cursor=%s", next);
    out = scan(f, qs, 0, API_SCAN_MAX);
    scan_ids(out, ids, sizeof(ids), next, sizeof(next));
    assert_string_equal(ids, "6,5,4,3");
    assert_string_equal(next, "3");
    free(out);

    snprintf(qs, sizeof(qs), "limit=4&cursor=%s", next);
    out = scan(f, qs, 0, API_SCAN_MAX);
    scan_ids(out, ids, sizeof(ids), next, sizeof(next));
    assert_string_equal(ids, "2,1");
    assert_string_equal(next, "null");
    free(out);

    /* exactly a full last page: no cursor to an empty page */

    out = scan(f, "limit=10", 0, API_SCAN_MAX);
    scan_ids(out, ids, sizeof(ids), next, sizeof(next));
    assert_string_equal(next, "null");
    free(out);

    /* a cursor above every id starts from the newest */

    out = scan(f, "limit=1&cursor=1000", 0, API_SCAN_MAX);
    scan_ids(out, ids, sizeof(ids), next, sizeof(next));
    assert_string_equal(ids, "10");
    free(out);
}


static void
test_scan_filters_and_events(void **state)
{
    fixture_t  *f = *state;

    char        ids[256], next[32], *out;

    append(&f->src, 1, 10, 1000);
    consume_all(f);

    out = scan(f, "", 1, API_SCAN_MAX);
    scan_ids(out, ids, sizeof(ids), next, sizeof(next));
    assert_string_equal(ids, "9,6,3");
    assert_string_equal(next, "null");
    free(out);

    out = scan(f, "event_type=request&limit=3", 0, API_SCAN_MAX);
    scan_ids(out, ids, sizeof(ids), next, sizeof(next));
    assert_string_equal(ids, "10,8,7");
    assert_string_equal(next, "7");
    free(out);

    out = scan(f, "event_type=logout", 0, API_SCAN_MAX);
    assert_string_equal(out, "{\"items\":[],\"next_cursor\":null}");
    free(out);
}


/*
 * the bound counts the entries a listing looks at: records of logs for a
 * filter no index serves, index entries for one that an index serves
 */

static void
test_scan_bound_returns_cursor(void **state)
{
    fixture_t  *f = *state;

    char        ids[256], next[32], qs[96], *out;

    append(&f->src, 1, 10, 1000);
    consume_all(f);

    out = scan(f, "until=2026-12-03T16:49:47.000004Z", 0, 2);
    scan_ids(out, ids, sizeof(ids), next, sizeof(next));
    assert_string_equal(ids, "");
    assert_string_equal(next, "9");
    free(out);

    snprintf(qs, sizeof(qs), "until=2026-12-03T16:49:47.000004Z&cursor=%s",
             next);
    out = scan(f, qs, 0, 2);
    scan_ids(out, ids, sizeof(ids), next, sizeof(next));
    assert_string_equal(ids, "");
    assert_string_equal(next, "7");
    free(out);

    /* by_type holds the logins 9, 6 and 3 */

    out = scan(f, "event_type=login", 0, 2);
    scan_ids(out, ids, sizeof(ids), next, sizeof(next));
    assert_string_equal(ids, "9,6");
    assert_string_equal(next, "6");
    free(out);

    snprintf(qs, sizeof(qs), "event_type=login&cursor=%s", next);
    out = scan(f, qs, 0, 2);
    scan_ids(out, ids, sizeof(ids), next, sizeof(next));
    assert_string_equal(ids, "3");
    assert_string_equal(next, "null");
    free(out);

    out = scan(f, "event_type=login&until=2026-12-03T16:49:47.000004Z", 0,
               2);
    scan_ids(out, ids, sizeof(ids), next, sizeof(next));
    assert_string_equal(ids, "");
    assert_string_equal(next, "6");
    free(out);
}


/* a small deterministic generator, so that a failure can be replayed */

static uint64_t
rnd(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;

    return *s;
}


static const char  *mixed_users[] = { "", "alice", "bob", "carol", "al" };

static const char  *mixed_ips[] = { "", "10.0.0.1", "10.0.0.2", "2001:db8::1",
                                    "::ffff:10.0.0.1" };

static const uint16_t  mixed_status[] = { 200, 302, 401, 403, 404, 500 };


/*
 * appends count records from first on whose type, user, address, status
 * and time are drawn from small sets, so that filters overlap; times do
 * not follow sequence numbers
 */

static void
append_mixed(keryu_store_t *st, uint64_t first, uint64_t count, uint64_t *s)
{
    size_t                 len;
    uint8_t               *buf, *p;
    MDB_txn               *txn;
    uint64_t               n, r;
    const char            *ip;
    keryu_record_t         rec;
    keryu_store_append_t   res;

    buf = malloc(count * 256);
    assert_non_null(buf);

    memset(&rec, 0, sizeof(keryu_record_t));
    rec.method.data = (const uint8_t *) "GET";
    rec.method.len = 3;
    rec.uri.data = (const uint8_t *) "/mixed";
    rec.uri.len = 6;

    p = buf;

    for (n = first; n < first + count; n++) {
        r = rnd(s);

        rec.seq = n;
        rec.time_us = 1796316587000000ULL + (r >> 40) % 1000;
        rec.type = (r & 1) ? KERYU_EVENT_REQUEST
                           : (uint8_t) ((r >> 1) % KERYU_EVENT_MAX);
        rec.status = mixed_status[(r >> 8) % 6];

        rec.user.data = (const uint8_t *) mixed_users[(r >> 16) % 5];
        rec.user.len = strlen(mixed_users[(r >> 16) % 5]);

        ip = mixed_ips[(r >> 24) % 5];
        memset(rec.addr, 0, 16);
        rec.addr_family = 0;

        if (strchr(ip, ':')) {
            assert_int_equal(inet_pton(AF_INET6, ip, rec.addr), 1);
            rec.addr_family = 6;

        } else if (ip[0]) {
            assert_int_equal(inet_pton(AF_INET, ip, rec.addr), 1);
            rec.addr_family = 4;
        }

        len = keryu_record_encode(&rec, p + 4);
        p[0] = (uint8_t) len;
        p[1] = (uint8_t) (len >> 8);
        p[2] = 0;
        p[3] = 0;
        p += 4 + len;
    }

    CHECK_MDB(keryu_store_txn_begin(st, 0, &txn));
    CHECK_MDB(keryu_store_append(st, txn, buf, (size_t) (p - buf), 1000000,
                                 &res));
    CHECK_MDB(mdb_txn_commit(txn));

    free(buf);
}


/* the ids under key in an index, in order */

static size_t
index_ids(fixture_t *f, MDB_dbi dbi, const void *k, size_t klen,
    uint64_t *ids, size_t max)
{
    int          rc;
    size_t       n;
    MDB_val      key, val;
    MDB_txn     *txn;
    MDB_cursor  *cur;

    CHECK_MDB(store_txn_begin(&f->dst, MDB_RDONLY, &txn));
    CHECK_MDB(mdb_cursor_open(txn, dbi, &cur));

    key.mv_size = klen;
    key.mv_data = (void *) k;
    n = 0;

    for (rc = mdb_cursor_get(cur, &key, &val, MDB_SET);
         rc == 0;
         rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT_DUP))
    {
        assert_int_equal(val.mv_size, 8);
        assert_true(n < max);
        ids[n++] = keryu_store_key_decode(val.mv_data);
    }

    assert_int_equal(rc, MDB_NOTFOUND);

    mdb_cursor_close(cur);
    mdb_txn_abort(txn);

    return n;
}


static uint64_t
index_entries(fixture_t *f, MDB_dbi dbi)
{
    MDB_txn   *txn;
    MDB_stat   ms;

    CHECK_MDB(store_txn_begin(&f->dst, MDB_RDONLY, &txn));
    CHECK_MDB(mdb_stat(txn, dbi, &ms));
    mdb_txn_abort(txn);

    return ms.ms_entries;
}


static void
test_index_entries_written_with_records(void **state)
{
    fixture_t  *f = *state;

    uint8_t     k[17], tkey[8];
    uint64_t    ids[16], s;

    append(&f->src, 1, 10, 1000);
    consume_all(f);

    /* every third record is a login */

    k[0] = KERYU_EVENT_LOGIN;
    assert_int_equal(index_ids(f, f->dst.by_type, k, 1, ids, 16), 3);
    assert_int_equal(ids[0], 3);
    assert_int_equal(ids[1], 6);
    assert_int_equal(ids[2], 9);

    k[0] = KERYU_EVENT_REQUEST;
    assert_int_equal(index_ids(f, f->dst.by_type, k, 1, ids, 16), 7);
    assert_int_equal(ids[0], 1);
    assert_int_equal(ids[6], 10);

    store_key_status(k, 200);
    assert_int_equal(index_ids(f, f->dst.by_status, k, 2, ids, 16), 10);

    keryu_store_key_encode(tkey, 1796316587000000ULL + 4);
    assert_int_equal(index_ids(f, f->dst.by_time, tkey, 8, ids, 16), 1);
    assert_int_equal(ids[0], 4);

    assert_int_equal(index_entries(f, f->dst.by_time), 10);

    /* records without a user or an address are in neither index */

    assert_int_equal(index_entries(f, f->dst.by_user), 0);
    assert_int_equal(index_entries(f, f->dst.by_ip), 0);

    s = 42;
    append_mixed(&f->src, 11, 40, &s);
    consume_all(f);

    assert_int_equal(index_entries(f, f->dst.by_type), 50);
    assert_int_equal(index_entries(f, f->dst.by_status), 50);
    assert_int_equal(index_entries(f, f->dst.by_time), 50);
    assert_true(index_entries(f, f->dst.by_user) > 0);
    assert_true(index_entries(f, f->dst.by_ip) > 0);

    assert_int_equal(store_key_ip(k, 4, (const uint8_t *) "\x0a\0\0\x01"), 5);
    assert_memory_equal(k, "\x04\x0a\x00\x00\x01", 5);
    assert_int_equal(store_key_ip(k, 0, (const uint8_t *) "\0\0\0\0"), 0);
}


/* the ids of a listing's items, and its next_cursor (0 for null) */

static size_t
page_ids(const char *out, uint64_t *ids, size_t max, uint64_t *next)
{
    size_t       n;
    const char  *p, *c;

    n = 0;

    for (p = strstr(out, "{\"id\":"); p; p = strstr(p + 1, "{\"id\":")) {
        assert_true(n < max);
        ids[n++] = strtoull(p + 6, NULL, 10);
    }

    c = strstr(out, "\"next_cursor\":");
    assert_non_null(c);
    c += 14;

    *next = (*c == '"') ? strtoull(c + 1, NULL, 10) : 0;

    return n;
}


/* the ids q matches, newest first, by reading every record of logs */

static size_t
oracle_ids(fixture_t *f, const query_t *q, int events_only, uint64_t *ids,
    size_t max)
{
    int              rc;
    size_t           n;
    MDB_val          key, val;
    MDB_txn         *txn;
    MDB_cursor      *cur;
    keryu_record_t   rec;

    CHECK_MDB(store_txn_begin(&f->dst, MDB_RDONLY, &txn));
    CHECK_MDB(mdb_cursor_open(txn, f->dst.logs, &cur));

    n = 0;

    for (rc = mdb_cursor_get(cur, &key, &val, MDB_LAST);
         rc == 0;
         rc = mdb_cursor_get(cur, &key, &val, MDB_PREV))
    {
        assert_int_equal(keryu_record_decode(&rec, val.mv_data, val.mv_size),
                         0);

        if ((!events_only || rec.type != KERYU_EVENT_REQUEST)
            && query_match(q, &rec))
        {
            assert_true(n < max);
            ids[n++] = keryu_store_key_decode(key.mv_data);
        }
    }

    assert_int_equal(rc, MDB_NOTFOUND);

    mdb_cursor_close(cur);
    mdb_txn_abort(txn);

    return n;
}


#define MIXED_RECORDS  3000


/*
 * pages through the listing of filter fq, limit items a page, and fills
 * ids with what it shows; returns the number of ids
 */

static size_t
scan_all(fixture_t *f, const char *fq, unsigned limit, int events_only,
    uint64_t scan_max, uint64_t *ids, size_t max)
{
    char       qs[600], *out;
    size_t     n, got, pages;
    uint64_t   next, page[1000];

    got = 0;
    next = 0;

    for (pages = 0; pages <= MIXED_RECORDS; pages++) {
        if (next) {
            snprintf(qs, sizeof(qs), "limit=%u%s&cursor=%llu", limit, fq,
                     (unsigned long long) next);

        } else {
            snprintf(qs, sizeof(qs), "limit=%u%s", limit, fq);
        }

        out = scan(f, qs, events_only, scan_max);
        n = page_ids(out, page, 1000, &next);
        free(out);

        if (n > limit || got + n > max) {
            fail_msg("\"%s\" (events %d): %zu items on a page", qs,
                     events_only, n);
        }

        memcpy(ids + got, page, n * sizeof(uint64_t));
        got += n;

        if (next == 0) {
            return got;
        }
    }

    fail_msg("\"%s\" (events %d): too many pages", fq, events_only);

    return 0;
}


static void
test_index_query_equals_full_scan(void **state)
{
    fixture_t        *f = *state;

    int               events_only;
    char              fq[512], qs[600];
    size_t            i, got, want, len;
    query_t           q;
    uint64_t          s, r, scan_max, *ids, *expect;
    unsigned          c, limit;

    static const char      *types[] = { "", "request", "login",
                                        "auth_failure", "system_change" };
    static const char      *users[] = { "", "alice", "bob", "al", "nobody" };
    static const char      *ips[] = { "", "10.0.0.1", "2001:db8::1",
                                      "::ffff:10.0.0.1", "10.9.9.9" };
    static const char      *statuses[] = { "", "200", "403", "404", "503" };
    static const char      *times[] = {
        "", "&since=2026-12-03T16:49:47.000500Z",
        "&until=2026-12-03T16:49:47.000300Z"
    };
    static const unsigned   limits[] = { 1, 7, 100, 1000 };
    static const uint64_t   bounds[] = { 1, 17, API_SCAN_MAX };

    fixture_close(f);
    fixture_open(f, 1000);

    s = 7;

    for (i = 0; i < MIXED_RECORDS; i += 500) {
        append_mixed(&f->src, i + 1, 500, &s);
    }

    consume_all(f);

    ids = calloc(MIXED_RECORDS, sizeof(uint64_t));
    expect = calloc(MIXED_RECORDS, sizeof(uint64_t));
    assert_non_null(ids);
    assert_non_null(expect);

    /* every combination of filters, with drawn page sizes and bounds */

    for (c = 0; c < 2 * 5 * 5 * 5 * 5 * 3; c++) {
        r = rnd(&s);
        events_only = c % 2;
        len = 0;
        fq[0] = '\0';

        if (types[c / 2 % 5][0]) {
            len += snprintf(fq + len, sizeof(fq) - len, "&event_type=%s",
                            types[c / 2 % 5]);
        }

        if (users[c / 10 % 5][0]) {
            len += snprintf(fq + len, sizeof(fq) - len, "&user=%s",
                            users[c / 10 % 5]);
        }

        if (ips[c / 50 % 5][0]) {
            len += snprintf(fq + len, sizeof(fq) - len, "&ip=%s",
                            ips[c / 50 % 5]);
        }

        if (statuses[c / 250 % 5][0]) {
            len += snprintf(fq + len, sizeof(fq) - len, "&status=%s",
                            statuses[c / 250 % 5]);
        }

        snprintf(fq + len, sizeof(fq) - len, "%s", times[c / 1250 % 3]);

        snprintf(qs, sizeof(qs), "limit=1%s", fq);
        assert_int_equal(query_parse(&q, qs), 0);

        want = oracle_ids(f, &q, events_only, expect, MIXED_RECORDS);

        /* short pages and small bounds only where they stay few */

        limit = limits[r % 4];
        scan_max = bounds[(r >> 8) % 3];

        if (want > 50 * (size_t) limit) {
            limit = 1000;
        }

        if (scan_max < API_SCAN_MAX && want > 100) {
            scan_max = API_SCAN_MAX;
        }

        got = scan_all(f, fq, limit, events_only, scan_max, ids,
                       MIXED_RECORDS);

        if (got != want || memcmp(ids, expect, want * sizeof(uint64_t)))
        {
            fail_msg("\"%s\" (events %d, limit %u, scan_max %llu): %zu "
                     "items, expected %zu", fq, events_only, limit,
                     (unsigned long long) scan_max, got, want);
        }
    }

    free(ids);
    free(expect);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test_setup_teardown(test_consume_in_batches,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_consume_stores_bytes_as_read,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_restart_loses_and_doubles_nothing,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_gap_counts_as_lost,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_trimmed_before_read_counts_as_lost,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_replaced_store_read_from_start,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_undecodable_record_skipped,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_counts_by_type_decision_and_rule, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scan_pages_newest_first,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_scan_filters_and_events,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_scan_bound_returns_cursor,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_index_entries_written_with_records, setup, teardown),
        cmocka_unit_test_setup_teardown(test_index_query_equals_full_scan,
                                        setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
