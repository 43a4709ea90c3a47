/*
 * Copyright (C) Keryu Security
 *
 * A benchmark of keryud's consumer: it fills a new shared store with
 * realistic records, as nginx workers append them, then times
 * consume_batch() moving them into a new keryud store with its indexes,
 * as the daemon does, until the ring is drained.  t/bench/keryud.sh runs
 * it pinned to one core and then serves the store it leaves with keryud.
 *
 *   consume_bench DIR [RECORDS [BATCH [detect]]]
 *
 * DIR must not hold a store yet; the shared store goes to DIR/store and
 * keryud's to DIR/data.  RECORDS defaults to 1000000, BATCH (records a
 * transaction, keryud's "batch") to 16384.  "detect" runs every batch
 * through detection, with the shipped threshold policies, as keryud does.
 *
 * The records span the last 24 hours.  Most are requests; users and
 * addresses are drawn with a skew, so that some are frequent and most are
 * rare: user0001@example.com and 10.0.0.1 are among the most frequent,
 * which the benchmark's queries use.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "keryud.h"
#include "respond.h"
#include "log.h"


#define BENCH_FILL_BATCH    10000
#define BENCH_USERS         2000
#define BENCH_ADDRS         20000
#define BENCH_ADDRS6        1000
#define BENCH_SRC_MAP       (4ULL * 1024 * 1024 * 1024)
#define BENCH_DST_MAP       (8ULL * 1024 * 1024 * 1024)


static uint64_t bench_rnd(uint64_t *s);
static unsigned bench_skew(uint64_t *s, unsigned n);
static double bench_now(int clock);
static void bench_record(keryu_record_t *rec, uint64_t seq, uint64_t t,
    uint64_t *s, char *user, char *uri);
static int bench_fill(keryu_store_t *st, uint64_t records);


static const char  *bench_agents[] = {
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 "
    "Firefox/127.0",
    "curl/8.5.0",
    "okhttp/4.12.0"
};

static const char  *bench_paths[] = {
    "/api/v1/orders/%u?page=%u&sort=desc",
    "/api/v1/products/%u",
    "/static/js/app.%u.js",
    "/account/settings?tab=%u",
    "/search?q=item%u&page=%u"
};


static uint64_t
bench_rnd(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;

    return *s;
}


/* a number below n, low numbers far more often than high ones */

static unsigned
bench_skew(uint64_t *s, unsigned n)
{
    double  u;

    u = (double) (bench_rnd(s) % 1000000) / 1000000.0;

    return (unsigned) (u * u * u * n);
}


static double
bench_now(int clock)
{
    struct timespec  ts;

    clock_gettime(clock, &ts);

    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}


static void
bench_record(keryu_record_t *rec, uint64_t seq, uint64_t t, uint64_t *s,
    char *user, char *uri)
{
    unsigned   a, r;

    static const char  *details[] = {
        "", "{\"method\":\"password\",\"mfa\":true}", "",
        "{\"reason\":\"bad password\"}", "{\"rule\":\"admin-only\"}",
        "{\"object\":\"invoice\"}", "{\"change\":\"policy\"}"
    };

    memset(rec, 0, sizeof(keryu_record_t));

    r = (unsigned) (bench_rnd(s) % 1000);

    rec->seq = seq;
    rec->time_us = t;
    rec->bytes_sent = 200 + bench_rnd(s) % 50000;
    rec->request_time_us = 100 + bench_rnd(s) % 200000;

    if (r < 850) {
        rec->type = KERYU_EVENT_REQUEST;
        r = (unsigned) (bench_rnd(s) % 100);
        rec->status = r < 80 ? 200 : r < 88 ? 304 : r < 94 ? 404
                      : r < 98 ? 302 : 500;

    } else if (r < 900) {
        rec->type = KERYU_EVENT_LOGIN;
        rec->status = 200;

    } else if (r < 920) {
        rec->type = KERYU_EVENT_LOGOUT;
        rec->status = 302;

    } else if (r < 960) {
        rec->type = KERYU_EVENT_AUTH_FAILURE;
        rec->status = 401;

    } else if (r < 980) {
        rec->type = KERYU_EVENT_PERMISSION_DENIED;
        rec->status = 403;

    } else if (r < 995) {
        rec->type = KERYU_EVENT_DATA_ACCESS;
        rec->status = 200;

    } else {
        rec->type = KERYU_EVENT_SYSTEM_CHANGE;
        rec->status = 200;
    }

    if (bench_rnd(s) % 10 >= 3 || rec->type != KERYU_EVENT_REQUEST) {
        snprintf(user, 32, "user%04u@example.com",
                 1 + bench_skew(s, BENCH_USERS));
        rec->user.data = (const uint8_t *) user;
        rec->user.len = strlen(user);
    }

    if (bench_rnd(s) % 20 == 0) {
        a = 1 + bench_skew(s, BENCH_ADDRS6);
        rec->addr_family = 6;
        rec->addr[0] = 0x20;
        rec->addr[1] = 0x01;
        rec->addr[2] = 0x0d;
        rec->addr[3] = 0xb8;
        rec->addr[14] = (uint8_t) (a >> 8);
        rec->addr[15] = (uint8_t) a;

    } else {
        a = 1 + bench_skew(s, BENCH_ADDRS);
        rec->addr_family = 4;
        rec->addr[0] = 10;
        rec->addr[1] = (uint8_t) (a >> 16);
        rec->addr[2] = (uint8_t) (a >> 8);
        rec->addr[3] = (uint8_t) a;
    }

    r = (unsigned) (bench_rnd(s) % 100);

    rec->method.data = (const uint8_t *) (r < 80 ? "GET" : r < 95 ? "POST"
                                          : r < 98 ? "PUT" : "DELETE");
    rec->method.len = strlen((const char *) rec->method.data);

    rec->host.data = (const uint8_t *) (r % 2 ? "shop.example.com"
                                              : "api.example.com");
    rec->host.len = strlen((const char *) rec->host.data);

    snprintf(uri, 128, bench_paths[bench_rnd(s) % 5],
             (unsigned) (bench_rnd(s) % 1000000),
             (unsigned) (bench_rnd(s) % 20));
    rec->uri.data = (const uint8_t *) uri;
    rec->uri.len = strlen(uri);

    r = (unsigned) (bench_rnd(s) % 5);
    rec->user_agent.data = (const uint8_t *) bench_agents[r];
    rec->user_agent.len = strlen(bench_agents[r]);

    rec->details.data = (const uint8_t *) details[rec->type];
    rec->details.len = strlen(details[rec->type]);
}


/* appends records in worker-sized transactions, one batch each */

static int
bench_fill(keryu_store_t *st, uint64_t records)
{
    int                    rc;
    char                   user[32], uri[128];
    size_t                 len;
    uint8_t               *buf, *p;
    MDB_txn               *txn;
    uint64_t               n, seq, s, t0, step;
    keryu_record_t         rec;
    keryu_store_append_t   res;

    buf = malloc(BENCH_FILL_BATCH * (4 + KERYU_RECORD_MAX_SIZE));
    if (buf == NULL) {
        fprintf(stderr, "consume_bench: malloc failed\n");
        return -1;
    }

    s = 0x9e3779b97f4a7c15ULL;
    t0 = (uint64_t) time(NULL) * 1000000 - 86400ULL * 1000000;
    step = 86400ULL * 1000000 / records;

    for (seq = 1; seq <= records; ) {
        p = buf;

        for (n = 0; n < BENCH_FILL_BATCH && seq <= records; n++, seq++) {
            bench_record(&rec, seq, t0 + seq * step + bench_rnd(&s) % step,
                         &s, user, uri);

            len = keryu_record_encode(&rec, p + 4);
            p[0] = (uint8_t) len;
            p[1] = (uint8_t) (len >> 8);
            p[2] = (uint8_t) (len >> 16);
            p[3] = (uint8_t) (len >> 24);
            p += 4 + len;
        }

        rc = keryu_store_txn_begin(st, 0, &txn);
        if (rc != 0) {
            goto failed;
        }

        rc = keryu_store_append(st, txn, buf, (size_t) (p - buf), records,
                                &res);
        if (rc != 0) {
            mdb_txn_abort(txn);
            goto failed;
        }

        rc = mdb_txn_commit(txn);
        if (rc != 0) {
            goto failed;
        }
    }

    free(buf);

    return mdb_env_sync(st->env, 1);

failed:

    fprintf(stderr, "consume_bench: filling the shared store failed: %s\n",
            keryu_store_strerror(rc));
    free(buf);

    return -1;
}


int
main(int argc, char **argv)
{
    int              rc, detect;
    char             src_path[CONF_PATH_MAX], dst_path[CONF_PATH_MAX];
    double           t0, c0, wall, cpu;
    MDB_txn         *txn;
    store_t          dst;
    uint64_t         records, batch, stored, batches;
    MDB_stat         ms;
    consumer_t       cs;
    keryu_store_t    src;
    consume_res_t    res;
    respond_t        resp;

    if (argc < 2 || argc > 5) {
        fprintf(stderr, "usage: consume_bench DIR [RECORDS [BATCH "
                "[detect]]]\n");
        return 1;
    }

    detect = argc > 4 && strcmp(argv[4], "detect") == 0;

    memset(&resp, 0, sizeof(respond_t));

    records = argc > 2 ? strtoull(argv[2], NULL, 10) : 1000000;
    batch = argc > 3 ? strtoull(argv[3], NULL, 10) : 16384;

    if (records == 0 || batch == 0) {
        fprintf(stderr, "consume_bench: RECORDS and BATCH must be above 0\n");
        return 1;
    }

    snprintf(src_path, sizeof(src_path), "%s/store", argv[1]);
    snprintf(dst_path, sizeof(dst_path), "%s/data", argv[1]);

    log_init(1, 0);

    rc = keryu_store_open(&src, src_path, BENCH_SRC_MAP, MDB_NOSYNC);
    if (rc != 0) {
        fprintf(stderr, "consume_bench: keryu_store_open() failed: %s\n",
                keryu_store_strerror(rc));
        return 1;
    }

    t0 = bench_now(CLOCK_MONOTONIC);

    if (bench_fill(&src, records) == -1) {
        keryu_store_close(&src);
        return 1;
    }

    printf("filled %llu records in %.1f s\n", (unsigned long long) records,
           bench_now(CLOCK_MONOTONIC) - t0);

    /* reopened as keryud opens it: without MDB_NOSYNC */

    keryu_store_close(&src);

    rc = keryu_store_open(&src, src_path, 0, 0);
    if (rc != 0) {
        fprintf(stderr, "consume_bench: keryu_store_open() failed: %s\n",
                keryu_store_strerror(rc));
        return 1;
    }

    rc = store_open(&dst, dst_path, BENCH_DST_MAP);
    if (rc != 0) {
        fprintf(stderr, "consume_bench: store_open() failed: %s\n",
                keryu_store_strerror(rc));
        keryu_store_close(&src);
        return 1;
    }

    consume_init(&cs, &src, &dst, batch);

    /* detection as keryud runs it: the shipped threshold policies */

    if (detect) {
        if (respond_init(&resp, &dst, &src) != 0) {
            fprintf(stderr, "consume_bench: respond_init() failed\n");
            rc = 1;
            goto done;
        }

        respond_defaults(&resp);
        respond_policies(&resp);

        cs.cs_respond = &resp;
    }

    stored = 0;
    batches = 0;

    t0 = bench_now(CLOCK_MONOTONIC);
    c0 = bench_now(CLOCK_PROCESS_CPUTIME_ID);

    do {
        if (consume_batch(&cs, &res) != 0) {
            fprintf(stderr, "consume_bench: consume_batch() failed\n");
            rc = 1;
            goto done;
        }

        stored += res.stored;
        batches++;

    } while (res.read);

    wall = bench_now(CLOCK_MONOTONIC) - t0;
    cpu = bench_now(CLOCK_PROCESS_CPUTIME_ID) - c0;

    if (stored != records) {
        fprintf(stderr, "consume_bench: stored %llu of %llu records\n",
                (unsigned long long) stored, (unsigned long long) records);
        rc = 1;
        goto done;
    }

    printf("consumed %llu records in %llu transactions of %llu: %.2f s, "
           "%.2f s of CPU\n", (unsigned long long) stored,
           (unsigned long long) batches - 1, (unsigned long long) batch,
           wall, cpu);
    printf("consume rate%s: %.0f records/s (%.0f per CPU second)\n",
           detect ? " with detection" : "", stored / wall, stored / cpu);

    rc = store_txn_begin(&dst, MDB_RDONLY, &txn);

    if (rc == 0) {
        rc = mdb_stat(txn, dst.logs, &ms);
        mdb_txn_abort(txn);
    }

    if (rc != 0) {
        fprintf(stderr, "consume_bench: mdb_stat() failed: %s\n",
                mdb_strerror(rc));
        rc = 1;
        goto done;
    }

    printf("logs: %zu records in %zu pages\n", ms.ms_entries,
           ms.ms_leaf_pages + ms.ms_branch_pages + ms.ms_overflow_pages);

done:

    respond_free(&resp);
    consume_free(&cs);
    store_close(&dst);
    keryu_store_close(&src);

    return rc;
}
