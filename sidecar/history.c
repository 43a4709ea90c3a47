/*
 * Copyright (C) Keryu Security
 *
 * The metrics history (history.h).  A sample is a handful of numbers
 * copied from what metrics.c read; the ring is one array allocated by
 * history_new(), so taking a sample allocates nothing and the history
 * never grows past HISTORY_SAMPLES.  A column the shared store feeds is
 * null in a sample taken while that store was unavailable, and a rate is
 * null when there was no earlier sample to take it from.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert.h"
#include "history.h"


#define HISTORY_F_SHARED  0x01     /* the shared store's columns are set */
#define HISTORY_F_RATES   0x02     /* the rates are set */
#define HISTORY_F_API_MS  0x04     /* requests were answered: a mean */


typedef struct {
    uint64_t            hs_time;            /* unix seconds */
    uint64_t            hs_ring_lag;        /* keryud behind the ring */
    uint64_t            hs_consumer_lag;    /* the ring's own consumer */
    uint64_t            hs_alerts_open;
    uint64_t            hs_store_bytes;     /* the shared store in use */
    uint64_t            hs_blocks;
    double              hs_records_rate;    /* a second */
    double              hs_api_rate;        /* a second */
    double              hs_api_ms;          /* mean response time */
    unsigned            hs_flags;
} history_sample_t;


struct history_s {
    unsigned            interval;           /* seconds */
    size_t              head;               /* the next slot written */
    size_t              count;
    int                 have_prev;
    uint64_t            prev_ns;            /* the counters at the last */
    uint64_t            prev_consumed;      /* sample, for the rates */
    uint64_t            prev_api_count;
    uint64_t            prev_api_ns;
    history_sample_t    samples[HISTORY_SAMPLES];
};


static void history_double(json_t *j, double v);


history_t *
history_new(unsigned interval)
{
    history_t  *h;

    h = calloc(1, sizeof(history_t));
    if (h == NULL) {
        return NULL;
    }

    h->interval = interval;

    return h;
}


void
history_free(history_t *h)
{
    free(h);
}


void
history_add(history_t *h, uint64_t now, uint64_t mono_ns,
    const metrics_own_t *own, const metrics_shared_t *sh,
    const metrics_api_t *api)
{
    int                s;
    double             dt;
    uint64_t           n;
    history_sample_t  *hs;

    hs = &h->samples[h->head];

    memset(hs, 0, sizeof(history_sample_t));

    hs->hs_time = now;

    for (s = KERYU_SEVERITY_LOW; s <= KERYU_SEVERITY_CRITICAL; s++) {
        hs->hs_alerts_open += own->alerts[ALERT_OPEN][s];
    }

    if (sh) {
        hs->hs_flags |= HISTORY_F_SHARED;
        hs->hs_ring_lag = sh->last_seq > own->src_seq
                          ? sh->last_seq - own->src_seq : 0;
        hs->hs_consumer_lag = sh->last_seq > sh->consumer_seq
                              ? sh->last_seq - sh->consumer_seq : 0;
        hs->hs_store_bytes = sh->bytes;
        hs->hs_blocks = sh->blocks;
    }

    /* counters only rise while keryud runs; a store swapped under it not */

    if (h->have_prev && mono_ns > h->prev_ns
        && own->consumed >= h->prev_consumed
        && api->count >= h->prev_api_count)
    {
        dt = (double) (mono_ns - h->prev_ns) / 1e9;
        n = api->count - h->prev_api_count;

        hs->hs_flags |= HISTORY_F_RATES;
        hs->hs_records_rate = (double) (own->consumed - h->prev_consumed)
                              / dt;
        hs->hs_api_rate = (double) n / dt;

        if (n) {
            hs->hs_flags |= HISTORY_F_API_MS;
            hs->hs_api_ms = (double) (api->sum_ns - h->prev_api_ns)
                            / (double) n / 1e6;
        }
    }

    h->have_prev = 1;
    h->prev_ns = mono_ns;
    h->prev_consumed = own->consumed;
    h->prev_api_count = api->count;
    h->prev_api_ns = api->sum_ns;

    h->head = (h->head + 1) % HISTORY_SAMPLES;

    if (h->count < HISTORY_SAMPLES) {
        h->count++;
    }
}


void
history_json(const history_t *h, uint64_t since, json_t *j)
{
    size_t                   i, c, first, n;
    const history_sample_t  *hs;

    static const char  *const  columns[] = {
        "time", "records_per_s", "ring_lag", "consumer_lag", "alerts_open",
        "store_bytes", "api_requests_per_s", "api_response_ms", "blocks"
    };

    /* the oldest sample at or after since; samples are in time order */

    first = (h->head + HISTORY_SAMPLES - h->count) % HISTORY_SAMPLES;
    n = h->count;

    while (n && h->samples[first].hs_time < since) {
        first = (first + 1) % HISTORY_SAMPLES;
        n--;
    }

    json_map_open(j);
    json_key(j, "interval");
    json_uint(j, h->interval);
    json_key(j, "capacity");
    json_uint(j, HISTORY_SAMPLES);

    for (c = 0; c < sizeof(columns) / sizeof(columns[0]); c++) {
        json_key(j, columns[c]);
        json_array_open(j);

        for (i = 0; i < n; i++) {
            hs = &h->samples[(first + i) % HISTORY_SAMPLES];

            switch (c) {

            case 0:
                json_uint(j, hs->hs_time);
                break;

            case 1:
                if (hs->hs_flags & HISTORY_F_RATES) {
                    history_double(j, hs->hs_records_rate);

                } else {
                    json_null(j);
                }

                break;

            case 6:
                if (hs->hs_flags & HISTORY_F_RATES) {
                    history_double(j, hs->hs_api_rate);

                } else {
                    json_null(j);
                }

                break;

            case 7:
                if (hs->hs_flags & HISTORY_F_API_MS) {
                    history_double(j, hs->hs_api_ms);

                } else {
                    json_null(j);
                }

                break;

            case 4:
                json_uint(j, hs->hs_alerts_open);
                break;

            default:
                if (!(hs->hs_flags & HISTORY_F_SHARED)) {
                    json_null(j);
                    break;
                }

                json_uint(j, c == 2 ? hs->hs_ring_lag
                             : c == 3 ? hs->hs_consumer_lag
                             : c == 5 ? hs->hs_store_bytes
                             : hs->hs_blocks);
                break;
            }
        }

        json_array_close(j);
    }

    json_map_close(j);
}


/* a rate or a mean, to three decimals at most */

static void
history_double(json_t *j, double v)
{
    int   n;
    char  buf[64];

    n = snprintf(buf, sizeof(buf), "%.3f", v);

    while (n > 1 && buf[n - 1] == '0') {
        n--;
    }

    if (buf[n - 1] == '.') {
        n--;
    }

    json_number(j, buf, (size_t) n);
}
