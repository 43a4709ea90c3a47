/*
 * Copyright (C) Keryu Security
 *
 * Tests of keryud's metrics history (history.h): the columns it writes,
 * rates taken between samples and left null where there is nothing to take
 * them from, the shared store's columns null while it was away, the ring
 * keeping the newest HISTORY_SAMPLES once it wraps, and "since".  The JSON
 * is compared as text, so a number written differently fails too.
 */


#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keryud.h"
#include "alert.h"
#include "history.h"
#include "json.h"


#define NS  1000000000ULL


typedef struct {
    metrics_own_t       own;
    metrics_shared_t    sh;
    metrics_api_t       api;
    char               *text;
} fixture_t;


static int
setup(void **state)
{
    fixture_t  *f;

    f = calloc(1, sizeof(fixture_t));
    assert_non_null(f);

    *state = f;

    return 0;
}


static int
teardown(void **state)
{
    fixture_t  *f = *state;

    free(f->text);
    free(f);

    return 0;
}


/* the history as JSON text, kept in f until the next call or teardown */

static const char *
history_text(fixture_t *f, const history_t *h, uint64_t since)
{
    size_t          len;
    json_t         *j;
    const uint8_t  *buf;

    j = json_new();
    assert_non_null(j);

    history_json(h, since, j);

    assert_int_equal(json_result(j, &buf, &len), 0);

    free(f->text);
    f->text = strndup((const char *) buf, len);
    assert_non_null(f->text);

    json_free(j);

    return f->text;
}


static void
assert_has(const char *text, const char *part)
{
    if (strstr(text, part) == NULL) {
        fail_msg("%s not in %s", part, text);
    }
}


static void
test_empty(void **state)
{
    fixture_t  *f = *state;

    history_t  *h;

    h = history_new(10);
    assert_non_null(h);

    assert_string_equal(history_text(f, h, 0),
        "{\"interval\":10,\"capacity\":8640,\"time\":[],"
        "\"records_per_s\":[],\"ring_lag\":[],\"consumer_lag\":[],"
        "\"alerts_open\":[],\"store_bytes\":[],\"api_requests_per_s\":[],"
        "\"api_response_ms\":[],\"blocks\":[]}");

    history_free(h);
}


static void
test_rates_and_columns(void **state)
{
    fixture_t  *f = *state;

    const char  *t;
    history_t   *h;

    h = history_new(1);
    assert_non_null(h);

    f->sh.last_seq = 100;
    f->sh.consumer_seq = 97;
    f->sh.bytes = 65536;
    f->sh.blocks = 2;
    f->own.src_seq = 90;
    f->own.alerts[ALERT_OPEN][KERYU_SEVERITY_HIGH] = 2;
    f->own.alerts[ALERT_OPEN][KERYU_SEVERITY_LOW] = 1;
    f->own.alerts[ALERT_RESOLVED][KERYU_SEVERITY_HIGH] = 5;

    history_add(h, 1000, 5 * NS, &f->own, &f->sh, &f->api);

    /* 10 records and 2 requests of 1.5 ms each in one second */

    f->own.consumed = 10;
    f->own.src_seq = 100;
    f->api.count = 2;
    f->api.sum_ns = 3000000;

    history_add(h, 1001, 6 * NS, &f->own, &f->sh, &f->api);

    /* 30 records in two seconds, no request, the shared store away */

    f->own.consumed = 40;

    history_add(h, 1003, 8 * NS, &f->own, NULL, &f->api);

    t = history_text(f, h, 0);

    assert_has(t, "\"time\":[1000,1001,1003]");
    assert_has(t, "\"records_per_s\":[null,10,15]");
    assert_has(t, "\"ring_lag\":[10,0,null]");
    assert_has(t, "\"consumer_lag\":[3,3,null]");
    assert_has(t, "\"alerts_open\":[3,3,3]");
    assert_has(t, "\"store_bytes\":[65536,65536,null]");
    assert_has(t, "\"api_requests_per_s\":[null,2,0]");
    assert_has(t, "\"api_response_ms\":[null,1.5,null]");
    assert_has(t, "\"blocks\":[2,2,null]");

    /* a replaced store's counters start lower: no rate across that */

    f->own.consumed = 5;

    history_add(h, 1004, 9 * NS, &f->own, &f->sh, &f->api);

    f->own.consumed = 8;

    history_add(h, 1005, 10 * NS, &f->own, &f->sh, &f->api);

    t = history_text(f, h, 1003);

    assert_has(t, "\"time\":[1003,1004,1005]");
    assert_has(t, "\"records_per_s\":[15,null,3]");

    t = history_text(f, h, 1006);

    assert_has(t, "\"time\":[],\"records_per_s\":[]");

    history_free(h);
}


static void
test_ring_wraps(void **state)
{
    fixture_t  *f = *state;

    char         want[64];
    uint64_t     i;
    history_t   *h;
    const char  *t;

    h = history_new(10);
    assert_non_null(h);

    for (i = 0; i < HISTORY_SAMPLES + 5; i++) {
        f->own.consumed = i * 20;
        history_add(h, 1000 + i * 10, (i + 1) * 10 * NS, &f->own, &f->sh,
                    &f->api);
    }

    t = history_text(f, h, 0);

    /* the five oldest are gone; the oldest kept still has its rate */

    assert_has(t, "\"time\":[1050,1060,");
    snprintf(want, sizeof(want), ",%llu],\"records_per_s\":[2,2,",
             (unsigned long long) (1000 + (HISTORY_SAMPLES + 4) * 10));
    assert_has(t, want);

    t = history_text(f, h, 1000 + (HISTORY_SAMPLES + 3) * 10);

    snprintf(want, sizeof(want), "\"time\":[%llu,%llu]",
             (unsigned long long) (1000 + (HISTORY_SAMPLES + 3) * 10),
             (unsigned long long) (1000 + (HISTORY_SAMPLES + 4) * 10));
    assert_has(t, want);

    history_free(h);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test_setup_teardown(test_empty, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rates_and_columns, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_ring_wraps, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
