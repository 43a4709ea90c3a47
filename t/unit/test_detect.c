
/*
 * Copyright (C) Keryu Security
 *
 * Tests of threshold detection: rules compiled from policy documents,
 * records built in memory, and the hits detect_event() hands back.
 */


#include "unit.h"

#include <arpa/inet.h>

#include "detect.h"


#define T0     1700000000000000ULL
#define SEC    1000000ULL

#define HITS_MAX  64


typedef struct {
    unsigned            n;
    char                rule[HITS_MAX][DETECT_RULE_MAX + 1];
    char                key[HITS_MAX][DETECT_KEY_MAX + 1];
    unsigned            count[HITS_MAX];
    uint64_t            first[HITS_MAX];
    uint64_t            last[HITS_MAX];
    unsigned            nsamples[HITS_MAX];
    uint64_t            samples[HITS_MAX][DETECT_SAMPLES];
} hits_t;


static void
on_hit(void *ctx, const detect_hit_t *h)
{
    hits_t  *hs = ctx;

    assert_true(hs->n < HITS_MAX);

    snprintf(hs->rule[hs->n], sizeof(hs->rule[0]), "%s", h->name);
    snprintf(hs->key[hs->n], sizeof(hs->key[0]), "%s", h->key);
    hs->count[hs->n] = h->count;
    hs->first[hs->n] = h->first_us;
    hs->last[hs->n] = h->last_us;
    hs->nsamples[hs->n] = h->nsamples;
    memcpy(hs->samples[hs->n], h->samples, h->nsamples * sizeof(uint64_t));

    hs->n++;
}


/* a detector loaded with one policy document, quotes written as ' */

static detect_t *
detector(const char *doc)
{
    char                 err[KERYU_POLICY_ERR_MAX], json[4096];
    size_t               i;
    detect_t            *d;
    keryu_policy_set_t  *set;

    for (i = 0; doc[i] && i < sizeof(json) - 1; i++) {
        json[i] = doc[i] == '\'' ? '"' : doc[i];
    }

    json[i] = '\0';

    set = keryu_policy_set_create();
    assert_non_null(set);

    if (keryu_policy_set_add(set, json, i, err, sizeof(err)) != 0
        || keryu_policy_set_finish(set, err, sizeof(err)) != 0)
    {
        fail_msg("policy: %s", err);
    }

    d = detect_new();
    assert_non_null(d);
    assert_int_equal(detect_load(d, set), 0);

    return d;
}


static keryu_record_t
event(int type, unsigned status, const char *ip, const char *user,
    const char *uri, uint64_t time_us)
{
    keryu_record_t  rec;

    memset(&rec, 0, sizeof(keryu_record_t));

    rec.type = (uint8_t) type;
    rec.status = (uint16_t) status;
    rec.time_us = time_us;

    if (ip) {
        rec.addr_family = strchr(ip, ':') ? 6 : 4;
        assert_int_equal(inet_pton(rec.addr_family == 4 ? AF_INET : AF_INET6,
                                   ip, rec.addr), 1);
    }

    if (user) {
        rec.user.data = (const uint8_t *) user;
        rec.user.len = strlen(user);
    }

    uri = uri ? uri : "/login";

    rec.uri.data = (const uint8_t *) uri;
    rec.uri.len = strlen(uri);

    return rec;
}


#define BRUTE                                                                 \
    "{'name': 'bf', 'policy_type': 'threshold', 'rules': [{'id': 'r',"        \
    " 'types': ['auth_failure'], 'group_by': 'ip', 'count': 10,"              \
    " 'window': '60s', 'action': 'block', 'duration': '15m'}]}"


static void
count_rule_hits_on_the_tenth_event_within_the_window(void **state)
{
    unsigned        i;
    hits_t          hs;
    detect_t       *d;
    keryu_record_t  rec;

    (void) state;

    memset(&hs, 0, sizeof(hits_t));
    d = detector(BRUTE);

    assert_true(detect_wants(d, KERYU_EVENT_AUTH_FAILURE));
    assert_false(detect_wants(d, KERYU_EVENT_REQUEST));

    for (i = 0; i < 9; i++) {
        rec = event(KERYU_EVENT_AUTH_FAILURE, 401, "203.0.113.7", "mallory",
                    NULL, T0 + i * SEC);
        detect_event(d, 100 + i, &rec, on_hit, &hs);
    }

    assert_int_equal(hs.n, 0);

    /* another address does not add to this one */

    rec = event(KERYU_EVENT_AUTH_FAILURE, 401, "203.0.113.8", NULL, NULL,
                T0 + 9 * SEC);
    detect_event(d, 109, &rec, on_hit, &hs);
    assert_int_equal(hs.n, 0);

    rec = event(KERYU_EVENT_AUTH_FAILURE, 401, "203.0.113.7", NULL, NULL,
                T0 + 20 * SEC);
    detect_event(d, 110, &rec, on_hit, &hs);

    assert_int_equal(hs.n, 1);
    assert_string_equal(hs.rule[0], "bf/r");
    assert_string_equal(hs.key[0], "203.0.113.7");
    assert_int_equal(hs.count[0], 10);
    assert_true(hs.first[0] == T0);
    assert_true(hs.last[0] == T0 + 20 * SEC);
    assert_int_equal(hs.nsamples[0], 10);
    assert_true(hs.samples[0][0] == 100 && hs.samples[0][8] == 108
                && hs.samples[0][9] == 110);

    /* the count starts again after a hit */

    rec = event(KERYU_EVENT_AUTH_FAILURE, 401, "203.0.113.7", NULL, NULL,
                T0 + 21 * SEC);
    detect_event(d, 111, &rec, on_hit, &hs);
    assert_int_equal(hs.n, 1);

    detect_free(d);
}


static void
events_spread_wider_than_the_window_never_hit(void **state)
{
    unsigned        i;
    hits_t          hs;
    detect_t       *d;
    keryu_record_t  rec;

    (void) state;

    memset(&hs, 0, sizeof(hits_t));
    d = detector(BRUTE);

    /* one failure every 7 s: ten of them span 63 s */

    for (i = 0; i < 40; i++) {
        rec = event(KERYU_EVENT_AUTH_FAILURE, 401, "2001:db8::1", NULL, NULL,
                    T0 + i * 7 * SEC);
        detect_event(d, i + 1, &rec, on_hit, &hs);
    }

    assert_int_equal(hs.n, 0);

    /* then a burst: the window slides over the latest ten */

    for (i = 0; i < 5; i++) {
        rec = event(KERYU_EVENT_AUTH_FAILURE, 401, "2001:db8::1", NULL, NULL,
                    T0 + 280 * SEC + i * SEC);
        detect_event(d, 100 + i, &rec, on_hit, &hs);
    }

    assert_int_equal(hs.n, 1);
    assert_string_equal(hs.key[0], "2001:db8::1");

    detect_free(d);
}


static void
other_types_and_events_without_the_key_do_not_count(void **state)
{
    unsigned        i;
    hits_t          hs;
    detect_t       *d;
    keryu_record_t  rec;

    (void) state;

    memset(&hs, 0, sizeof(hits_t));
    d = detector(BRUTE);

    for (i = 0; i < 20; i++) {
        rec = event(KERYU_EVENT_LOGIN, 200, "192.0.2.1", NULL, NULL,
                    T0 + i);
        detect_event(d, i + 1, &rec, on_hit, &hs);

        rec = event(KERYU_EVENT_AUTH_FAILURE, 401, NULL, "alice", NULL,
                    T0 + i);
        detect_event(d, i + 1, &rec, on_hit, &hs);
    }

    assert_int_equal(hs.n, 0);

    detect_free(d);
}


static void
distinct_users_count_each_user_once(void **state)
{
    char            user[32];
    unsigned        i;
    hits_t          hs;
    detect_t       *d;
    keryu_record_t  rec;

    (void) state;

    memset(&hs, 0, sizeof(hits_t));
    d = detector("{'name': 'cs', 'policy_type': 'threshold', 'rules': ["
                 "{'id': 'r', 'types': ['auth_failure'], 'group_by': 'ip',"
                 " 'distinct': 'user', 'count': 20, 'window': '5m'}]}");

    /* one user a hundred times is brute force, not stuffing */

    for (i = 0; i < 100; i++) {
        rec = event(KERYU_EVENT_AUTH_FAILURE, 401, "198.51.100.4", "alice",
                    NULL, T0 + i * SEC);
        detect_event(d, i + 1, &rec, on_hit, &hs);
    }

    assert_int_equal(hs.n, 0);

    for (i = 0; i < 19; i++) {
        snprintf(user, sizeof(user), "user%u", i);
        rec = event(KERYU_EVENT_AUTH_FAILURE, 401, "198.51.100.4", user, NULL,
                    T0 + 100 * SEC + i * SEC);
        detect_event(d, 200 + i, &rec, on_hit, &hs);

        /* a repeat of a value changes nothing */
        detect_event(d, 300 + i, &rec, on_hit, &hs);
    }

    /* alice, seen 100 s ago, and 19 more: 20 distinct in 5 minutes */

    assert_int_equal(hs.n, 1);
    assert_string_equal(hs.key[0], "198.51.100.4");
    assert_int_equal(hs.count[0], 20);

    detect_free(d);
}


static void
distinct_values_leave_the_window(void **state)
{
    char            user[32];
    unsigned        i;
    hits_t          hs;
    detect_t       *d;
    keryu_record_t  rec;

    (void) state;

    memset(&hs, 0, sizeof(hits_t));
    d = detector("{'name': 'cs', 'policy_type': 'threshold', 'rules': ["
                 "{'id': 'r', 'group_by': 'ip', 'distinct': 'user',"
                 " 'count': 3, 'window': '10s'}]}");

    /* two users, then a third one 11 s later: the first two have gone */

    for (i = 0; i < 2; i++) {
        snprintf(user, sizeof(user), "u%u", i);
        rec = event(KERYU_EVENT_AUTH_FAILURE, 401, "192.0.2.9", user, NULL,
                    T0 + i * SEC);
        detect_event(d, i + 1, &rec, on_hit, &hs);
    }

    rec = event(KERYU_EVENT_AUTH_FAILURE, 401, "192.0.2.9", "u2", NULL,
                T0 + 12 * SEC);
    detect_event(d, 3, &rec, on_hit, &hs);
    assert_int_equal(hs.n, 0);

    rec = event(KERYU_EVENT_AUTH_FAILURE, 401, "192.0.2.9", "u3", NULL,
                T0 + 13 * SEC);
    detect_event(d, 4, &rec, on_hit, &hs);
    rec = event(KERYU_EVENT_AUTH_FAILURE, 401, "192.0.2.9", "u4", NULL,
                T0 + 14 * SEC);
    detect_event(d, 5, &rec, on_hit, &hs);

    assert_int_equal(hs.n, 1);
    assert_true(hs.first[0] == T0 + 12 * SEC);

    detect_free(d);
}


static void
enumeration_counts_distinct_ids_under_a_pattern(void **state)
{
    char            uri[64];
    unsigned        i;
    hits_t          hs;
    detect_t       *d;
    keryu_record_t  rec;

    (void) state;

    memset(&hs, 0, sizeof(hits_t));
    d = detector("{'name': 'en', 'policy_type': 'threshold', 'rules': ["
                 "{'id': 'r', 'status': [200],"
                 " 'pattern': '/api/orders/{id}', 'distinct': 'id',"
                 " 'group_by': 'ip+user', 'count': 5, 'window': '5m'}]}");

    for (i = 0; i < 4; i++) {
        snprintf(uri, sizeof(uri), "/api/orders/%u?x=%u", i, i);
        rec = event(KERYU_EVENT_REQUEST, 200, "192.0.2.5", "bob", uri,
                    T0 + i);
        detect_event(d, i + 1, &rec, on_hit, &hs);
    }

    /* other paths, statuses and keys do not add */

    rec = event(KERYU_EVENT_REQUEST, 200, "192.0.2.5", "bob",
                "/api/users/9", T0 + 10);
    detect_event(d, 10, &rec, on_hit, &hs);
    rec = event(KERYU_EVENT_REQUEST, 404, "192.0.2.5", "bob",
                "/api/orders/99", T0 + 11);
    detect_event(d, 11, &rec, on_hit, &hs);
    rec = event(KERYU_EVENT_REQUEST, 200, "192.0.2.5", "carol",
                "/api/orders/98", T0 + 12);
    detect_event(d, 12, &rec, on_hit, &hs);
    rec = event(KERYU_EVENT_REQUEST, 200, "192.0.2.5", "bob",
                "/api/orders/2", T0 + 13);
    detect_event(d, 13, &rec, on_hit, &hs);

    assert_int_equal(hs.n, 0);

    rec = event(KERYU_EVENT_REQUEST, 200, "192.0.2.5", "bob",
                "/api/orders/77", T0 + 14);
    detect_event(d, 14, &rec, on_hit, &hs);

    assert_int_equal(hs.n, 1);
    assert_string_equal(hs.key[0], "192.0.2.5 bob");

    detect_free(d);
}


static void
denials_by_blocks_are_not_evidence(void **state)
{
    unsigned        i;
    hits_t          hs;
    detect_t       *d;
    keryu_record_t  rec;
    const char     *blocked, *ruled;

    (void) state;

    memset(&hs, 0, sizeof(hits_t));
    d = detector("{'name': 'sc', 'policy_type': 'threshold', 'rules': ["
                 "{'id': 'r', 'types': ['permission_denied'],"
                 " 'group_by': 'ip', 'count': 3, 'window': '60s'}]}");

    blocked = "{\"reason\":\"blocked\",\"rule\":\"block\","
              "\"block\":\"192.0.2.7/32: sc/r, alert 1\"}";
    ruled = "{\"reason\":\"denied\",\"rule\":\"p/admin\"}";

    for (i = 0; i < 10; i++) {
        rec = event(KERYU_EVENT_PERMISSION_DENIED, 403, "192.0.2.7", NULL,
                    "/admin", T0 + i);
        rec.details.data = (const uint8_t *) blocked;
        rec.details.len = strlen(blocked);
        detect_event(d, i + 1, &rec, on_hit, &hs);
    }

    assert_int_equal(hs.n, 0);

    for (i = 0; i < 3; i++) {
        rec = event(KERYU_EVENT_PERMISSION_DENIED, 403, "192.0.2.7", NULL,
                    "/admin", T0 + 20 + i);
        rec.details.data = (const uint8_t *) ruled;
        rec.details.len = strlen(ruled);
        detect_event(d, 20 + i, &rec, on_hit, &hs);
    }

    assert_int_equal(hs.n, 1);

    detect_free(d);
}


static void
reload_keeps_counts_of_unchanged_rules_only(void **state)
{
    char                 err[KERYU_POLICY_ERR_MAX], json[1024];
    size_t               i;
    hits_t               hs;
    detect_t            *d;
    keryu_record_t       rec;
    keryu_policy_set_t  *set;
    const char          *docs[2], *p;

    (void) state;

    memset(&hs, 0, sizeof(hits_t));
    d = detector(BRUTE);

    for (i = 0; i < 9; i++) {
        rec = event(KERYU_EVENT_AUTH_FAILURE, 401, "192.0.2.44", NULL, NULL,
                    T0 + i);
        detect_event(d, i + 1, &rec, on_hit, &hs);
    }

    /* the same rule with a new severity, and another rule besides */

    docs[0] = "{'name': 'bf', 'policy_type': 'threshold', 'rules': [{"
              "'id': 'r', 'types': ['auth_failure'], 'group_by': 'ip',"
              " 'count': 10, 'window': '60s', 'severity': 'critical'}]}";
    docs[1] = "{'name': 'other', 'policy_type': 'threshold', 'rules': [{"
              "'id': 'r', 'group_by': 'ip', 'count': 50, 'window': '1m'}]}";

    set = keryu_policy_set_create();
    assert_non_null(set);

    for (i = 0; i < 2; i++) {
        for (p = docs[i]; *p; p++) {
            json[p - docs[i]] = *p == '\'' ? '"' : *p;
        }

        json[p - docs[i]] = '\0';

        assert_int_equal(keryu_policy_set_add(set, json, strlen(json), err,
                                              sizeof(err)), 0);
    }

    assert_int_equal(keryu_policy_set_finish(set, err, sizeof(err)), 0);
    assert_int_equal(detect_load(d, set), 0);

    rec = event(KERYU_EVENT_AUTH_FAILURE, 401, "192.0.2.44", NULL, NULL,
                T0 + 10);
    detect_event(d, 10, &rec, on_hit, &hs);

    assert_int_equal(hs.n, 1);
    assert_string_equal(hs.rule[0], "bf/r");

    /* a new count starts from nothing */

    set = keryu_policy_set_create();
    assert_non_null(set);

    p = "{\"name\": \"bf\", \"policy_type\": \"threshold\", \"rules\": [{"
        "\"id\": \"r\", \"group_by\": \"ip\", \"count\": 3,"
        " \"window\": \"60s\"}]}";

    assert_int_equal(keryu_policy_set_add(set, p, strlen(p), err,
                                          sizeof(err)), 0);
    assert_int_equal(keryu_policy_set_finish(set, err, sizeof(err)), 0);

    for (i = 0; i < 2; i++) {
        rec = event(KERYU_EVENT_AUTH_FAILURE, 401, "192.0.2.45", NULL, NULL,
                    T0 + 20 + i);
        detect_event(d, 20 + i, &rec, on_hit, &hs);
    }

    assert_int_equal(detect_load(d, set), 0);

    rec = event(KERYU_EVENT_AUTH_FAILURE, 401, "192.0.2.45", NULL, NULL,
                T0 + 30);
    detect_event(d, 30, &rec, on_hit, &hs);

    assert_int_equal(hs.n, 1);

    detect_free(d);
}


static void
a_full_table_evicts_the_least_recent_key(void **state)
{
    uint8_t         a[4];
    unsigned        i;
    hits_t          hs;
    detect_t       *d;
    detect_stats_t  st;
    keryu_record_t  rec;

    (void) state;

    memset(&hs, 0, sizeof(hits_t));
    d = detector("{'name': 'bf', 'policy_type': 'threshold', 'rules': [{"
                 "'id': 'r', 'group_by': 'ip', 'count': 2,"
                 " 'window': '1h'}]}");

    for (i = 0; i < 3 * DETECT_SLOTS; i++) {
        rec = event(KERYU_EVENT_AUTH_FAILURE, 401, "10.0.0.0", NULL, NULL,
                    T0 + i);
        a[0] = 10;
        a[1] = (uint8_t) (i >> 16);
        a[2] = (uint8_t) (i >> 8);
        a[3] = (uint8_t) i;
        memcpy(rec.addr, a, 4);

        detect_event(d, i + 1, &rec, on_hit, &hs);
    }

    detect_stats(d, &st);

    assert_int_equal(hs.n, 0);
    assert_true(st.keys <= DETECT_SLOTS);
    assert_true(st.evicted >= 2 * DETECT_SLOTS);

    /* the newest key is still held */

    rec = event(KERYU_EVENT_AUTH_FAILURE, 401, "10.0.0.0", NULL, NULL,
                T0 + 3 * DETECT_SLOTS);
    i = 3 * DETECT_SLOTS - 1;
    rec.addr[1] = (uint8_t) (i >> 16);
    rec.addr[2] = (uint8_t) (i >> 8);
    rec.addr[3] = (uint8_t) i;

    detect_event(d, 1, &rec, on_hit, &hs);
    assert_int_equal(hs.n, 1);

    detect_free(d);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(count_rule_hits_on_the_tenth_event_within_the_window),
        cmocka_unit_test(events_spread_wider_than_the_window_never_hit),
        cmocka_unit_test(other_types_and_events_without_the_key_do_not_count),
        cmocka_unit_test(distinct_users_count_each_user_once),
        cmocka_unit_test(distinct_values_leave_the_window),
        cmocka_unit_test(enumeration_counts_distinct_ids_under_a_pattern),
        cmocka_unit_test(denials_by_blocks_are_not_evidence),
        cmocka_unit_test(reload_keeps_counts_of_unchanged_rules_only),
        cmocka_unit_test(a_full_table_evicts_the_least_recent_key),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
