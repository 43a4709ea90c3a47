/*
 * Copyright (C) Keryu Security
 *
 * A test helper for t/api/api.t: it appends synthetic records to a shared
 * store exactly as nginx workers do, through keryu_store_append() with
 * MDB_NOSYNC.  api.t compiles it with the shared sources:
 *
 *   fill STORE COUNT [type=NAME] [user=USER] [status=N] [ip=ADDR]
 *        [method=METHOD] [uri=URI] [details=JSON] [time=EPOCH_SECONDS]
 *        [gap=N] [capacity=N]
 *
 * Sequence numbers continue from the store's last_seq; gap=N leaves N of
 * them out before the first record, as a writer that lost records would.
 * Times default to now, one microsecond apart.
 */


#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "keryu_record.h"
#include "keryu_store.h"


static void fill_bytes(keryu_bytes_t *b, const char *s);
static int fill_arg(keryu_record_t *rec, const char *arg, uint64_t *gap,
    uint64_t *capacity, uint64_t *time_us);


static void
fill_bytes(keryu_bytes_t *b, const char *s)
{
    b->data = (const uint8_t *) s;
    b->len = strlen(s);
}


static int
fill_arg(keryu_record_t *rec, const char *arg, uint64_t *gap,
    uint64_t *capacity, uint64_t *time_us)
{
    int          type;
    const char  *v;

    v = strchr(arg, '=');
    if (v == NULL) {
        return -1;
    }

    v++;

    if (strncmp(arg, "type=", 5) == 0) {
        type = keryu_event_parse(v, strlen(v));
        if (type == -1) {
            return -1;
        }

        rec->type = (uint8_t) type;

    } else if (strncmp(arg, "user=", 5) == 0) {
        fill_bytes(&rec->user, v);

    } else if (strncmp(arg, "status=", 7) == 0) {
        rec->status = (uint16_t) atoi(v);

    } else if (strncmp(arg, "ip=", 3) == 0) {
        if (inet_pton(AF_INET, v, rec->addr) == 1) {
            rec->addr_family = 4;

        } else if (inet_pton(AF_INET6, v, rec->addr) == 1) {
            rec->addr_family = 6;

        } else {
            return -1;
        }

    } else if (strncmp(arg, "method=", 7) == 0) {
        fill_bytes(&rec->method, v);

    } else if (strncmp(arg, "uri=", 4) == 0) {
        fill_bytes(&rec->uri, v);

    } else if (strncmp(arg, "details=", 8) == 0) {
        fill_bytes(&rec->details, v);

    } else if (strncmp(arg, "time=", 5) == 0) {
        *time_us = strtoull(v, NULL, 10) * 1000000;

    } else if (strncmp(arg, "gap=", 4) == 0) {
        *gap = strtoull(v, NULL, 10);

    } else if (strncmp(arg, "capacity=", 9) == 0) {
        *capacity = strtoull(v, NULL, 10);

    } else {
        return -1;
    }

    return 0;
}


int
main(int argc, char **argv)
{
    int                    i, rc;
    size_t                 len, size;
    uint8_t               *batch, *p;
    MDB_txn               *txn;
    uint64_t               n, count, last, gap, capacity, time_us;
    keryu_store_t          st;
    keryu_record_t         rec;
    struct timeval         tv;
    keryu_store_append_t   res;

    if (argc < 3) {
        fprintf(stderr, "usage: fill STORE COUNT [name=value ...]\n");
        return 1;
    }

    count = strtoull(argv[2], NULL, 10);

    memset(&rec, 0, sizeof(keryu_record_t));
    rec.type = KERYU_EVENT_REQUEST;
    rec.status = 200;
    rec.bytes_sent = 642;
    rec.request_time_us = 1234;
    fill_bytes(&rec.user_agent, "fill/1.0");
    fill_bytes(&rec.method, "GET");
    fill_bytes(&rec.host, "localhost");
    fill_bytes(&rec.uri, "/");

    gap = 0;
    capacity = 1000000;
    gettimeofday(&tv, NULL);
    time_us = (uint64_t) tv.tv_sec * 1000000 + (uint64_t) tv.tv_usec;

    for (i = 3; i < argc; i++) {
        if (fill_arg(&rec, argv[i], &gap, &capacity, &time_us) == -1) {
            fprintf(stderr, "fill: bad argument \"%s\"\n", argv[i]);
            return 1;
        }
    }

    rc = keryu_store_open(&st, argv[1], 64 * 1024 * 1024, MDB_NOSYNC);
    if (rc != 0) {
        fprintf(stderr, "fill: keryu_store_open() failed: %s\n",
                keryu_store_strerror(rc));
        return 1;
    }

    rc = keryu_store_txn_begin(&st, 0, &txn);
    if (rc != 0) {
        fprintf(stderr, "fill: mdb_txn_begin() failed: %s\n",
                mdb_strerror(rc));
        goto store_close;
    }

    rc = keryu_store_meta_get(&st, txn, KERYU_META_LAST_SEQ, &last);
    if (rc != 0) {
        fprintf(stderr, "fill: reading last_seq failed: %s\n",
                mdb_strerror(rc));
        goto txn_abort;
    }

    size = (size_t) count * (4 + keryu_record_size(&rec)) + 1;

    batch = malloc(size);
    if (batch == NULL) {
        fprintf(stderr, "fill: malloc failed\n");
        rc = 1;
        goto txn_abort;
    }

    p = batch;

    for (n = 0; n < count; n++) {
        rec.seq = last + gap + 1 + n;
        rec.time_us = time_us + n;

        len = keryu_record_encode(&rec, p + 4);

        p[0] = (uint8_t) len;
        p[1] = (uint8_t) (len >> 8);
        p[2] = (uint8_t) (len >> 16);
        p[3] = (uint8_t) (len >> 24);
        p += 4 + len;
    }

    rc = keryu_store_append(&st, txn, batch, (size_t) (p - batch), capacity,
                            &res);

    free(batch);

    if (rc != 0) {
        fprintf(stderr, "fill: keryu_store_append() failed: %s\n",
                mdb_strerror(rc));
        goto txn_abort;
    }

    rc = mdb_txn_commit(txn);
    if (rc != 0) {
        fprintf(stderr, "fill: mdb_txn_commit() failed: %s\n",
                mdb_strerror(rc));
        goto store_close;
    }

    keryu_store_close(&st);

    return 0;

txn_abort:

    mdb_txn_abort(txn);

store_close:

    keryu_store_close(&st);

    return 1;
}
