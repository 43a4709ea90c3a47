/*
 * Copyright (C) Keryu Security
 *
 * Tests of the compliance checks: each built-in check against evidence
 * that passes and evidence that fails (and, where it matters, evidence it
 * cannot judge, which warns), the catalogue and the CVE list as shipped
 * and as refused, the nginx version ranges, the reading of effective
 * configurations in both listen forms and with fields missing, audit
 * findings through runs, and the risk score.  The nginx side of the
 * evidence comes from the effective_config fixtures in t/unit/compliance/;
 * keryud's side is set in the evidence directly.  Run from the top of the
 * repository, as "make unit" does.
 */


#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keryud.h"
#include "audit.h"
#include "comply.h"
#include "evidence.h"
#include "keryu_policy.h"
#include "log.h"
#include "risk.h"


#define FIXTURES    "t/unit/compliance/"
#define NOW_US      1796316587000000ULL          /* 2026-12-03 */
#define DAY_S       86400ULL
#define HOUR_US     3600000000ULL


typedef struct {
    comply_catalogue_t *cat;
    comply_cves_t      *cves;
    evidence_t          ev;
    comply_result_t     res;
} fixture_t;


static char *
read_fixture(const char *name, size_t *len)
{
    char    path[256], *buf;
    FILE   *fp;

    snprintf(path, sizeof(path), FIXTURES "%s", name);

    fp = fopen(path, "r");
    if (fp == NULL) {
        fail_msg("fopen() \"%s\" failed", path);
    }

    buf = malloc(1024 * 1024);
    assert_non_null(buf);

    *len = fread(buf, 1, 1024 * 1024, fp);
    fclose(fp);

    return buf;
}


/* keryud's side of the evidence, as a well-kept installation shows it */

static void
good_keryud(evidence_t *ev)
{
    ev->retention_s = 30 * DAY_S;
    ev->api_tls = 1;
    strcpy(ev->api_listen, "10.0.0.5");
    ev->shared_store = 1;

    ev->rules_known = 1;
    ev->rules = calloc(1, sizeof(ev_rule_t));
    assert_non_null(ev->rules);
    strcpy(ev->rules[0].name, "brute-force/auth-failures");
    ev->rules[0].types = 1u << KERYU_EVENT_AUTH_FAILURE;
    ev->rules[0].block = 1;
    ev->rules[0].count = 10;
    ev->rules[0].window_ms = 60000;
    ev->nrules = 1;

    ev->alerts_known = 1;
    ev->alerts = calloc(EV_ALERTS_MAX, sizeof(ev_alert_t));
    assert_non_null(ev->alerts);

    ev->tokens_known = 1;
    ev->tokens = calloc(EV_TOKENS_MAX, sizeof(ev_token_t));
    assert_non_null(ev->tokens);
    strcpy(ev->tokens[0].name, "ops");
    ev->tokens[0].role = ROLE_ADMIN;
    ev->tokens[0].created = NOW_US / 1000000 - DAY_S;
    ev->tokens[0].expires = NOW_US / 1000000 + 29 * DAY_S;
    ev->ntokens = 1;

    ev->keys_known = 1;
    ev->keys = calloc(EV_KEYS_MAX, sizeof(ev_key_t));
    assert_non_null(ev->keys);

    ev->key_management = 1;
    ev->sealing_key = 1;
    strcpy(ev->mkeys[0].type, "log_sealing");
    strcpy(ev->mkeys[0].kid, "00112233aabbccdd");
    ev->mkeys[0].version = 2;
    ev->mkeys[0].created = NOW_US / 1000000 - 10 * DAY_S;
    ev->mkeys[0].period = 30 * DAY_S;
    ev->nmkeys = 1;
    ev->key_backup_s = NOW_US / 1000000 - 3 * DAY_S;

    ev->integrity = 1;
    ev->integrity_ok = 1;
    ev->integrity_records = 1000;
    ev->integrity_checkpoints = 3;

    ev->workers = 2;
    ev->workers_behind = 0;
    ev->config_version = 7;
}


static int
setup(void **state)
{
    char        err[256];
    fixture_t  *f;

    f = calloc(1, sizeof(fixture_t));
    if (f == NULL) {
        return -1;
    }

    f->cat = comply_catalogue_load("conf/controls.json", err, sizeof(err));
    if (f->cat == NULL) {
        print_error("conf/controls.json: %s\n", err);
        free(f);
        return -1;
    }

    f->cves = comply_cves_load("conf/nginx-cves.json", err, sizeof(err));
    if (f->cves == NULL) {
        print_error("conf/nginx-cves.json: %s\n", err);
        comply_catalogue_free(f->cat);
        free(f);
        return -1;
    }

    evidence_init(&f->ev, NOW_US);
    good_keryud(&f->ev);

    *state = f;

    return 0;
}


static int
teardown(void **state)
{
    fixture_t  *f = *state;

    comply_result_free(&f->res);
    evidence_free(&f->ev);
    comply_cves_free(f->cves);
    comply_catalogue_free(f->cat);
    free(f);

    return 0;
}


static void
load(fixture_t *f, const char *name)
{
    char    err[128], *buf;
    size_t  len;

    buf = read_fixture(name, &len);

    if (evidence_parse(&f->ev, buf, len, err, sizeof(err)) != 0) {
        fail_msg("%s: %s", name, err);
    }

    free(buf);
}


static const comply_control_t *
control(fixture_t *f, const char *id)
{
    size_t  i;

    for (i = 0; i < f->cat->ncontrols; i++) {
        if (strcmp(f->cat->controls[i].id, id) == 0) {
            return &f->cat->controls[i];
        }
    }

    fail_msg("no control \"%s\" in the catalogue", id);

    return NULL;
}


/* the status of control id over the fixture's evidence */

static int
check(fixture_t *f, const char *id)
{
    comply_result_free(&f->res);

    if (comply_check(f->cat, f->cves, &f->ev, control(f, id), &f->res) != 0) {
        fail_msg("comply_check(%s) failed", id);
    }

    return f->res.status;
}


static void
assert_status(fixture_t *f, const char *id, int expect)
{
    int  st;

    st = check(f, id);

    if (st != expect) {
        fail_msg("%s: %s, expected %s; evidence %s; remediation \"%s\"", id,
                 comply_status_name(st), comply_status_name(expect),
                 f->res.evidence, f->res.remediation);
    }
}


static void
assert_evidence_has(fixture_t *f, const char *text)
{
    if (strstr(f->res.evidence, text) == NULL) {
        fail_msg("evidence %s lacks %s", f->res.evidence, text);
    }
}


static void
assert_remedy_has(fixture_t *f, const char *text)
{
    if (strstr(f->res.remediation, text) == NULL) {
        fail_msg("remediation \"%s\" lacks \"%s\"", f->res.remediation, text);
    }
}


static int
has_target(fixture_t *f, const char *name)
{
    size_t  i;

    for (i = 0; i < f->res.ntargets; i++) {
        if (strcmp(f->res.targets[i], name) == 0) {
            return 1;
        }
    }

    return 0;
}


/* ---- the catalogue and the CVE list ---- */


static void
test_catalogue_as_shipped(void **state)
{
    size_t             i, k;
    fixture_t         *f = *state;
    const char        *ids[] = { "access-enforced", "default-deny",
                                 "logging-everywhere", "log-retention",
                                 "log-integrity", "encryption-at-rest",
                                 "key-rotation", "tls-versions",
                                 "tls-ciphers", "security-headers",
                                 "server-tokens", "brute-force",
                                 "alert-response", "admin-tokens", "api-tls",
                                 "body-limits", "input-validation",
                                 "erasure", "key-backup", "nginx-cves",
                                 NULL };

    assert_true(f->cat->ncontrols >= 20 && f->cat->ncontrols <= 30);
    assert_int_equal(f->cat->nstandards, 6);
    assert_true(comply_standard_index(f->cat, "pci_dss_4") >= 0);
    assert_true(comply_standard_index(f->cat, "dora") >= 0);
    assert_int_equal(comply_standard_index(f->cat, "sox"), -1);

    for (i = 0; ids[i]; i++) {
        control(f, ids[i]);
    }

    /* every control is mapped to at least one standard, and has a check */

    for (i = 0; i < f->cat->ncontrols; i++) {
        assert_non_null(f->cat->controls[i].fn);
        assert_true(f->cat->controls[i].standards != 0);
        assert_true(strlen(f->cat->controls[i].text) > 20);
    }

    for (k = 0; k < f->cat->nzones; k++) {
        assert_true(f->cat->zones[k].level >= 1
                    && f->cat->zones[k].level <= 5);
    }

    assert_int_equal(comply_zone_level(f->cat, "/admin/users"), 5);
    assert_int_equal(comply_zone_level(f->cat, "/api/"), 4);
    assert_int_equal(comply_zone_level(f->cat, "/static/"), 1);
    assert_int_equal(comply_zone_level(f->cat, "/blog/"), 2);
    assert_int_equal(comply_zone_level(f->cat, "= /login"), 5);
    assert_int_equal(comply_zone_level(f->cat, "~ ^/admin/.*"), 5);
}


static void
test_catalogue_refused(void **state)
{
    char                 err[256];
    size_t               i;
    comply_catalogue_t  *cat;

    static const char   *bad[] = {
        "[]",
        "{\"version\":1,\"standards\":{},\"controls\":[]}",
        "{\"version\":1,\"standards\":{\"gdpr\":\"GDPR\"},\"controls\":[{"
        "\"id\":\"x\",\"title\":\"t\",\"text\":\"t\",\"severity\":\"low\","
        "\"check\":\"no_such_check\",\"mappings\":{}}]}",
        "{\"version\":1,\"standards\":{\"gdpr\":\"GDPR\"},\"controls\":[{"
        "\"id\":\"x\",\"title\":\"t\",\"text\":\"t\",\"severity\":\"low\","
        "\"check\":\"server_tokens\",\"mappings\":{\"sox\":[\"1\"]}}]}",
        "{\"version\":1,\"standards\":{\"gdpr\":\"GDPR\"},\"controls\":[{"
        "\"id\":\"x\",\"title\":\"t\",\"text\":\"t\",\"severity\":\"dire\","
        "\"check\":\"server_tokens\",\"mappings\":{}}]}",
        "{\"version\":1,\"standards\":{\"gdpr\":\"GDPR\"},\"controls\":[{"
        "\"id\":\"Bad Id\",\"title\":\"t\",\"text\":\"t\",\"severity\":"
        "\"low\",\"check\":\"server_tokens\",\"mappings\":{}}]}",
        "{\"version\":1,\"standards\":{\"gdpr\":\"GDPR\"},\"controls\":[{"
        "\"id\":\"x\",\"title\":\"t\",\"text\":\"t\",\"severity\":\"low\","
        "\"check\":\"server_tokens\",\"mappings\":{}},{"
        "\"id\":\"x\",\"title\":\"t\",\"text\":\"t\",\"severity\":\"low\","
        "\"check\":\"server_tokens\",\"mappings\":{}}]}",
        "{\"version\":1,\"standards\":{\"gdpr\":\"GDPR\"},\"controls\":[{"
        "\"id\":\"x\",\"title\":\"t\",\"text\":\"t\",\"severity\":\"low\","
        "\"check\":\"server_tokens\",\"mappings\":{},\"threat\":[\"ddos\"]}]}",
        NULL
    };

    (void) state;

    for (i = 0; bad[i]; i++) {
        err[0] = '\0';
        cat = comply_catalogue_parse(bad[i], strlen(bad[i]), err,
                                     sizeof(err));
        if (cat != NULL) {
            fail_msg("catalogue %zu was accepted", i);
        }

        assert_true(err[0] != '\0');
    }
}


static void
test_cve_ranges(void **state)
{
    size_t               i;
    fixture_t           *f = *state;
    comply_version_t     v;
    const comply_cve_t  *resolver, *mp4, *reset;

    resolver = NULL;
    mp4 = NULL;
    reset = NULL;

    for (i = 0; i < f->cves->ncves; i++) {
        if (strcmp(f->cves->cves[i].id, "CVE-2021-23017") == 0) {
            resolver = &f->cves->cves[i];

        } else if (strcmp(f->cves->cves[i].id, "CVE-2022-41741") == 0) {
            mp4 = &f->cves->cves[i];

        } else if (strcmp(f->cves->cves[i].id, "CVE-2023-44487") == 0) {
            reset = &f->cves->cves[i];
        }
    }

    assert_non_null(resolver);
    assert_non_null(mp4);
    assert_non_null(reset);
    assert_non_null(f->cves->caveat);
    assert_non_null(strstr(f->cves->caveat, "Debian"));

    assert_int_equal(comply_version_parse("1.20.0", &v), 0);
    assert_int_equal(comply_cve_affects(resolver, &v), 1);
    assert_int_equal(comply_version_parse("0.6.17", &v), 0);
    assert_int_equal(comply_cve_affects(resolver, &v), 0);
    assert_int_equal(comply_version_parse("1.20.1", &v), 0);
    assert_int_equal(comply_cve_affects(resolver, &v), 0);
    assert_int_equal(comply_version_parse("1.21.0", &v), 0);
    assert_int_equal(comply_cve_affects(resolver, &v), 0);

    /* 1.22.1 is the fix on its own branch, inside the range as numbers */

    assert_int_equal(comply_version_parse("1.22.1", &v), 0);
    assert_int_equal(comply_cve_affects(mp4, &v), 0);
    assert_int_equal(comply_version_parse("1.22.0", &v), 0);
    assert_int_equal(comply_cve_affects(mp4, &v), 1);
    assert_int_equal(comply_version_parse("1.23.1", &v), 0);
    assert_int_equal(comply_cve_affects(mp4, &v), 1);
    assert_int_equal(comply_version_parse("1.23.2", &v), 0);
    assert_int_equal(comply_cve_affects(mp4, &v), 0);

    assert_int_equal(comply_version_parse("1.25.2", &v), 0);
    assert_int_equal(comply_cve_affects(reset, &v), 1);
    assert_int_equal(comply_version_parse("1.25.3", &v), 0);
    assert_int_equal(comply_cve_affects(reset, &v), 0);

    assert_int_equal(comply_version_parse("1", &v), -1);
    assert_int_equal(comply_version_parse("1.x", &v), -1);
    assert_int_equal(comply_version_parse("", &v), -1);
}


/* ---- reading effective configurations ---- */


static void
test_evidence_tolerates_missing(void **state)
{
    fixture_t            *f = *state;
    const ev_server_t    *s;
    const ev_location_t  *l;

    load(f, "sparse.json");

    assert_int_equal(f->ev.config, 1);
    assert_int_equal(f->ev.nservers, 1);
    assert_int_equal(f->ev.published_us, 0);

    s = &f->ev.servers[0];

    assert_int_equal(s->nlisten, 2);
    assert_string_equal(s->listen[0], "0.0.0.0:443 ssl");
    assert_string_equal(s->listen[1], "127.0.0.1:8443");
    assert_int_equal(s->ssl, 1);
    assert_int_equal(s->protocols, EV_TLS_V1_3);
    assert_null(s->ciphers);
    assert_int_equal(s->server_tokens, EV_UNKNOWN);

    assert_int_equal(s->nlocations, 4);
    assert_string_equal(s->locations[0].name, EV_SERVER_LEVEL);
    assert_string_equal(s->locations[1].name, "/admin");
    assert_string_equal(s->locations[2].name, "~ ^/api/v[0-9]+/");
    assert_string_equal(s->locations[3].name, "@fallback");

    l = &s->locations[1];

    assert_int_equal(l->enforce, EV_MODE_ON);
    assert_int_equal(l->log, EV_UNKNOWN);
    assert_int_equal(l->identity, EV_UNKNOWN);
    assert_int_equal(l->default_deny, EV_UNKNOWN);
    assert_int_equal(l->fail_closed, EV_UNKNOWN);
    assert_int_equal(l->validate, EV_UNKNOWN);
    assert_int_equal(l->headers, EV_UNKNOWN);
    assert_int_equal(l->body_max, EV_UNKNOWN);

    /* unknown evidence warns, it never passes */

    assert_status(f, "logging-everywhere", COMPLY_WARN);
    assert_status(f, "server-tokens", COMPLY_WARN);
    assert_status(f, "security-headers", COMPLY_WARN);
    assert_status(f, "tls-ciphers", COMPLY_WARN);
    assert_status(f, "body-limits", COMPLY_WARN);
    assert_status(f, "default-deny", COMPLY_WARN);
    assert_status(f, "tls-versions", COMPLY_PASS);
    assert_status(f, "evidence-published", COMPLY_PASS);
}


static void
test_evidence_refused(void **state)
{
    char        err[128];
    size_t      i;
    fixture_t  *f = *state;

    static const char  *bad[] = { "", "[]", "{\"servers\":{}}", "nope",
                                  "{\"servers\":[", NULL };

    for (i = 0; bad[i]; i++) {
        assert_int_equal(evidence_parse(&f->ev, bad[i], strlen(bad[i]), err,
                                        sizeof(err)),
                         -1);
        assert_int_equal(f->ev.config, 0);
    }

    /* without a configuration every check of nginx warns */

    assert_status(f, "evidence-published", COMPLY_FAIL);
    assert_status(f, "access-enforced", COMPLY_WARN);
    assert_remedy_has(f, "published no effective configuration");
    assert_status(f, "server-tokens", COMPLY_WARN);
}


/* ---- the checks of nginx's configuration ---- */


static void
test_config_passes(void **state)
{
    size_t          i;
    fixture_t      *f = *state;
    comply_run_t    run;
    unsigned        counts[3];

    load(f, "pass.json");

    assert_status(f, "evidence-published", COMPLY_PASS);
    assert_status(f, "access-enforced", COMPLY_PASS);
    assert_evidence_has(f, "\"sensitive_locations\":4");
    assert_status(f, "default-deny", COMPLY_PASS);
    assert_status(f, "fail-closed", COMPLY_PASS);
    assert_status(f, "identity-required", COMPLY_PASS);
    assert_status(f, "logging-everywhere", COMPLY_PASS);
    assert_status(f, "tls-versions", COMPLY_PASS);
    assert_status(f, "tls-ciphers", COMPLY_PASS);
    assert_status(f, "transport-encryption", COMPLY_PASS);
    assert_status(f, "security-headers", COMPLY_PASS);
    assert_status(f, "server-tokens", COMPLY_PASS);
    assert_status(f, "body-limits", COMPLY_PASS);
    assert_status(f, "input-validation", COMPLY_PASS);
    assert_status(f, "nginx-cves", COMPLY_PASS);

    /* with keryud kept well too, every control of the catalogue passes */

    assert_int_equal(comply_evaluate(f->cat, f->cves, &f->ev, &run), 0);
    assert_int_equal(run.nresults, f->cat->ncontrols);

    for (i = 0; i < run.nresults; i++) {
        if (run.results[i].status != COMPLY_PASS) {
            fail_msg("%s: %s: %s", run.results[i].control->id,
                     comply_status_name(run.results[i].status),
                     run.results[i].remediation);
        }
    }

    comply_standard_counts(f->cat, &run, -1, counts);
    assert_int_equal(counts[COMPLY_PASS], f->cat->ncontrols);

    comply_run_free(&run);
}


static void
test_config_fails(void **state)
{
    fixture_t  *f = *state;

    load(f, "fail.json");

    /* "/" serves /login and /account here, and enforces nothing */

    assert_status(f, "access-enforced", COMPLY_FAIL);
    assert_true(has_target(f, "/"));
    assert_remedy_has(f, "Set keryu_access on in location / of server "
                         "shop.example.com");

    assert_status(f, "default-deny", COMPLY_FAIL);
    assert_true(has_target(f, "/api/"));

    assert_status(f, "fail-closed", COMPLY_FAIL);
    assert_remedy_has(f, "keryu_fail closed");

    assert_status(f, "identity-required", COMPLY_FAIL);
    assert_true(has_target(f, "/admin/"));

    assert_status(f, "logging-everywhere", COMPLY_FAIL);
    assert_remedy_has(f, "keryu_log on");

    assert_status(f, "tls-versions", COMPLY_FAIL);
    assert_evidence_has(f, "\"TLSv1\"");
    assert_evidence_has(f, "\"TLSv1.1\"");
    assert_remedy_has(f, "ssl_protocols TLSv1.2 TLSv1.3");

    assert_status(f, "tls-ciphers", COMPLY_FAIL);
    assert_evidence_has(f, "\"weak\":\"RC4-SHA\"");

    assert_status(f, "transport-encryption", COMPLY_FAIL);
    assert_remedy_has(f, "plain.example.com is reachable in the clear");

    assert_status(f, "security-headers", COMPLY_FAIL);
    assert_remedy_has(f, "keryu_security_headers");
    assert_remedy_has(f, "Set keryu_csp in location /api/");

    assert_status(f, "server-tokens", COMPLY_FAIL);
    assert_evidence_has(f, "\"server_tokens\":\"on\"");
    assert_evidence_has(f, "\"server_tokens\":\"build\"");
    assert_remedy_has(f, "server_tokens off;");

    assert_status(f, "body-limits", COMPLY_FAIL);
    assert_evidence_has(f, "\"client_max_body_size\":0");

    assert_status(f, "input-validation", COMPLY_FAIL);
    assert_true(has_target(f, "/api/"));

    /* 1.22.1 falls in CVE-2024-7347's range: a warning, with the caveat */

    assert_status(f, "nginx-cves", COMPLY_WARN);
    assert_evidence_has(f, "CVE-2024-7347");
    assert_evidence_has(f, "backport");
    assert_remedy_has(f, "indication, not proof");
}


static void
test_shadow_and_server_tokens(void **state)
{
    char        err[128];
    fixture_t  *f = *state;

    static const char  shadow[] =
        "{\"nginx_version\":\"1.31.3\",\"servers\":[{\"names\":[\"a\"],"
        "\"listen\":[\"127.0.0.1:80\"],\"ssl\":null,\"server_tokens\":\"off\","
        "\"locations\":[{\"name\":\"/admin/\",\"enforce\":\"shadow\","
        "\"log\":true,\"identity\":[\"bearer\"],\"default\":\"deny\","
        "\"fail\":\"closed\",\"validate\":\"shadow\",\"headers\":null,"
        "\"client_max_body_size\":20971520}]}]}";

    static const char  tokens_on[] =
        "{\"nginx_version\":\"1.31.3\",\"servers\":[{\"names\":[\"a\"],"
        "\"server_tokens\":\"on\",\"locations\":[]}]}";

    assert_int_equal(evidence_parse(&f->ev, shadow, sizeof(shadow) - 1, err,
                                    sizeof(err)),
                     0);

    assert_status(f, "access-enforced", COMPLY_WARN);
    assert_remedy_has(f, "only reports");
    assert_status(f, "server-tokens", COMPLY_PASS);
    assert_status(f, "body-limits", COMPLY_WARN);
    assert_status(f, "transport-encryption", COMPLY_PASS);
    assert_status(f, "tls-versions", COMPLY_WARN);

    assert_int_equal(evidence_parse(&f->ev, tokens_on, sizeof(tokens_on) - 1,
                                    err, sizeof(err)),
                     0);

    assert_status(f, "server-tokens", COMPLY_FAIL);
}


static void
test_weak_ciphers(void **state)
{
    char        doc[512], err[128];
    size_t      i;
    fixture_t  *f = *state;

    static const struct {
        const char  *ciphers;
        int          status;
    } cases[] = {
        { "HIGH:!aNULL:!MD5", COMPLY_PASS },
        { "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384",
          COMPLY_PASS },
        { "HIGH:!aNULL:!eNULL:!EXPORT:!DES:!RC4:!MD5:!3DES", COMPLY_PASS },
        { "HIGH:RC4", COMPLY_FAIL },
        { "HIGH:DES-CBC3-SHA", COMPLY_FAIL },
        { "HIGH:3DES", COMPLY_FAIL },
        { "HIGH:aNULL", COMPLY_FAIL },
        { "eNULL", COMPLY_FAIL },
        { "EXPORT:HIGH", COMPLY_FAIL },
        { "EXP-RC4-MD5", COMPLY_FAIL },
        { "HIGH:MD5", COMPLY_FAIL },
        { "DES", COMPLY_FAIL },
        { "ALL", COMPLY_WARN },
        { NULL, 0 }
    };

    for (i = 0; cases[i].ciphers; i++) {
        snprintf(doc, sizeof(doc),
                 "{\"servers\":[{\"names\":[\"a\"],\"listen\":"
                 "[\"0.0.0.0:443 ssl\"],\"ssl\":{\"protocols\":[\"TLSv1.3\"],"
                 "\"ciphers\":\"%s\"}}]}", cases[i].ciphers);

        assert_int_equal(evidence_parse(&f->ev, doc, strlen(doc), err,
                                        sizeof(err)),
                         0);

        if (check(f, "tls-ciphers") != cases[i].status) {
            fail_msg("ciphers \"%s\": %s", cases[i].ciphers,
                     comply_status_name(f->res.status));
        }
    }
}


static void
test_cves_by_listen(void **state)
{
    char        err[128];
    fixture_t  *f = *state;

    static const char  h2[] =
        "{\"nginx_version\":\"1.25.2\",\"servers\":[{\"listen\":"
        "[{\"address\":\"0.0.0.0:443\",\"ssl\":true,\"http2\":true}]}]}";
    static const char  h1[] =
        "{\"nginx_version\":\"1.25.2\",\"servers\":[{\"listen\":"
        "[\"0.0.0.0:80\"]}]}";
    static const char  noversion[] =
        "{\"servers\":[{\"listen\":[\"0.0.0.0:80\"]}]}";

    assert_int_equal(evidence_parse(&f->ev, h2, sizeof(h2) - 1, err,
                                    sizeof(err)), 0);
    assert_status(f, "nginx-cves", COMPLY_WARN);
    assert_evidence_has(f, "CVE-2023-44487");

    /* the same version without HTTP/2 in its listens: not that one */

    assert_int_equal(evidence_parse(&f->ev, h1, sizeof(h1) - 1, err,
                                    sizeof(err)), 0);
    check(f, "nginx-cves");
    assert_null(strstr(f->res.evidence, "CVE-2023-44487"));

    assert_int_equal(evidence_parse(&f->ev, noversion, sizeof(noversion) - 1,
                                    err, sizeof(err)), 0);
    assert_status(f, "nginx-cves", COMPLY_WARN);
    assert_remedy_has(f, "did not publish a version");
}


/* ---- the checks of keryud's own state ---- */


static void
test_retention(void **state)
{
    fixture_t  *f = *state;

    assert_status(f, "log-retention", COMPLY_PASS);
    assert_status(f, "erasure", COMPLY_PASS);

    f->ev.retention_s = 0;
    assert_status(f, "log-retention", COMPLY_FAIL);
    assert_remedy_has(f, "for ever");
    assert_status(f, "erasure", COMPLY_FAIL);

    f->ev.retention_s = 10 * DAY_S;
    assert_status(f, "log-retention", COMPLY_FAIL);

    f->ev.retention_s = 1000 * DAY_S;
    assert_status(f, "log-retention", COMPLY_WARN);
}


static void
test_integrity_and_loss(void **state)
{
    fixture_t  *f = *state;

    assert_status(f, "log-integrity", COMPLY_PASS);

    f->ev.integrity_ok = 0;
    strcpy(f->ev.integrity_reason, "altered at record 12");
    assert_status(f, "log-integrity", COMPLY_FAIL);
    assert_remedy_has(f, "altered at record 12");

    f->ev.integrity = 0;
    assert_status(f, "log-integrity", COMPLY_WARN);
    assert_remedy_has(f, "integrity not configured");

    assert_status(f, "record-loss", COMPLY_PASS);

    f->ev.lost = 12;
    assert_status(f, "record-loss", COMPLY_WARN);

    strcpy(f->ev.alerts[0].rule, "log_loss");
    f->ev.alerts[0].status = 1;
    f->ev.alerts[0].severity = KERYU_SEVERITY_HIGH;
    f->ev.alerts[0].created_us = NOW_US - HOUR_US;
    f->ev.alerts[0].acked_us = NOW_US - HOUR_US / 2;
    f->ev.nalerts = 1;
    assert_status(f, "record-loss", COMPLY_FAIL);
}


static void
test_keys(void **state)
{
    fixture_t  *f = *state;

    assert_status(f, "encryption-at-rest", COMPLY_PASS);
    assert_status(f, "key-rotation", COMPLY_PASS);
    assert_status(f, "key-backup", COMPLY_PASS);

    /* a JWT key past max_age_days */

    strcpy(f->ev.keys[0].kid, "old-hs");
    strcpy(f->ev.keys[0].alg, "HS256");
    f->ev.keys[0].created = NOW_US / 1000000 - 200 * DAY_S;
    f->ev.nkeys = 1;
    assert_status(f, "key-rotation", COMPLY_FAIL);
    assert_remedy_has(f, "keryud key delete old-hs");
    f->ev.nkeys = 0;

    /* a managed key past its key_period */

    f->ev.mkeys[0].created = NOW_US / 1000000 - 45 * DAY_S;
    assert_status(f, "key-rotation", COMPLY_FAIL);
    assert_remedy_has(f, "log_sealing");

    f->ev.key_backup_s = NOW_US / 1000000 - 40 * DAY_S;
    assert_status(f, "key-backup", COMPLY_FAIL);
    f->ev.key_backup_s = 0;
    assert_status(f, "key-backup", COMPLY_FAIL);

    f->ev.sealing_key = 0;
    assert_status(f, "encryption-at-rest", COMPLY_FAIL);

    /* without key management every key check warns and says so */

    f->ev.key_management = 0;
    f->ev.nmkeys = 0;

    assert_status(f, "encryption-at-rest", COMPLY_WARN);
    assert_remedy_has(f, "warn: key management not configured");
    assert_status(f, "key-rotation", COMPLY_WARN);
    assert_remedy_has(f, "warn: key management not configured");
    assert_status(f, "key-backup", COMPLY_WARN);
    assert_remedy_has(f, "warn: key management not configured");
}


static void
test_brute_force(void **state)
{
    fixture_t  *f = *state;

    assert_status(f, "brute-force", COMPLY_PASS);
    assert_evidence_has(f, "brute-force/auth-failures");

    f->ev.rules[0].block = 0;
    assert_status(f, "brute-force", COMPLY_WARN);

    f->ev.rules[0].types = 1u << KERYU_EVENT_PERMISSION_DENIED;
    assert_status(f, "brute-force", COMPLY_FAIL);
    assert_remedy_has(f, "No active threshold rule counts auth_failure");

    f->ev.nrules = 0;
    assert_status(f, "brute-force", COMPLY_FAIL);

    f->ev.rules_known = 0;
    assert_status(f, "brute-force", COMPLY_WARN);
}


static void
test_alert_response(void **state)
{
    fixture_t   *f = *state;
    ev_alert_t  *a;

    assert_status(f, "alert-response", COMPLY_PASS);
    assert_evidence_has(f, "\"alerts\":0");

    a = &f->ev.alerts[0];
    strcpy(a->rule, "brute-force/auth-failures");
    a->id = 7;
    a->severity = KERYU_SEVERITY_HIGH;
    a->status = 2;
    a->created_us = NOW_US - 10 * HOUR_US;
    a->acked_us = a->created_us + HOUR_US;
    a->resolved_us = 0;
    f->ev.nalerts = 1;

    assert_status(f, "alert-response", COMPLY_PASS);
    assert_evidence_has(f, "\"mean_acknowledge_s\":3600");

    /* a high alert acknowledged after 5 hours, past its 4 */

    a->acked_us = a->created_us + 5 * HOUR_US;
    assert_status(f, "alert-response", COMPLY_FAIL);

    /* and one never acknowledged */

    a->acked_us = 0;
    a->status = 1;
    assert_status(f, "alert-response", COMPLY_FAIL);
    assert_evidence_has(f, "\"unacknowledged_overdue\":1");

    /* a low one late is a warning */

    a->severity = KERYU_SEVERITY_LOW;
    a->created_us = NOW_US - 100 * HOUR_US;
    assert_status(f, "alert-response", COMPLY_WARN);

    /* and one older than the window does not count */

    a->created_us = NOW_US - 100 * 24 * HOUR_US;
    assert_status(f, "alert-response", COMPLY_PASS);
}


static void
test_tokens(void **state)
{
    size_t      i;
    fixture_t  *f = *state;

    assert_status(f, "admin-tokens", COMPLY_PASS);
    assert_status(f, "token-expiry", COMPLY_PASS);

    f->ev.tokens[0].expires = 0;
    assert_status(f, "admin-tokens", COMPLY_FAIL);
    assert_remedy_has(f, "never expires");
    f->ev.tokens[0].expires = NOW_US / 1000000 + 29 * DAY_S;

    for (i = 1; i < 5; i++) {
        f->ev.tokens[i] = f->ev.tokens[0];
        snprintf(f->ev.tokens[i].name, sizeof(f->ev.tokens[i].name),
                 "admin-%zu", i);
    }

    f->ev.ntokens = 5;
    assert_status(f, "admin-tokens", COMPLY_FAIL);
    assert_evidence_has(f, "\"admin_tokens\":5");

    f->ev.ntokens = 2;
    f->ev.tokens[1].role = ROLE_VIEWER;
    f->ev.tokens[1].expires = 0;
    assert_status(f, "admin-tokens", COMPLY_PASS);
    assert_status(f, "token-expiry", COMPLY_WARN);
    assert_remedy_has(f, "never expires");
}


static void
test_api_tls_and_workers(void **state)
{
    fixture_t  *f = *state;

    assert_status(f, "api-tls", COMPLY_PASS);

    f->ev.api_tls = 0;
    assert_status(f, "api-tls", COMPLY_FAIL);

    strcpy(f->ev.api_listen, "127.0.0.1");
    assert_status(f, "api-tls", COMPLY_WARN);

    assert_status(f, "enforcement-current", COMPLY_PASS);

    f->ev.workers_behind = 1;
    assert_status(f, "enforcement-current", COMPLY_FAIL);

    f->ev.workers_behind = 0;
    f->ev.workers = 0;
    assert_status(f, "enforcement-current", COMPLY_WARN);
}


/* ---- audits and risk ---- */


static audit_finding_t *
audit_test_find(audit_t *a, const char *control)
{
    size_t  i;

    for (i = 0; i < a->nfindings; i++) {
        if (strcmp(a->findings[i].control, control) == 0) {
            return &a->findings[i];
        }
    }

    return NULL;
}


static void
test_audit_findings(void **state)
{
    char             *buf;
    size_t            len, i;
    json_t           *j;
    audit_t           a, b;
    fixture_t        *f = *state;
    comply_run_t      run;
    const uint8_t    *out;
    audit_finding_t  *tok;

    memset(&a, 0, sizeof(audit_t));
    a.id = 3;
    strcpy(a.name, "quarterly");
    strcpy(a.scope, "pci_dss_4");
    a.schedule = AUDIT_WEEKLY;

    /* a failing configuration files one finding per failing control */

    load(f, "fail.json");
    assert_int_equal(comply_evaluate(f->cat, f->cves, &f->ev, &run), 0);
    assert_int_equal(audit_apply(&a, f->cat, &run, NOW_US), 0);
    comply_run_free(&run);

    assert_true(a.nfindings >= 10);
    assert_int_equal(a.runs, 1);
    assert_int_equal(a.next_run_us, NOW_US + 7 * 24 * HOUR_US);

    tok = NULL;

    for (i = 0; i < a.nfindings; i++) {
        assert_int_equal(a.findings[i].status, FINDING_OPEN);

        if (strcmp(a.findings[i].control, "server-tokens") == 0) {
            tok = &a.findings[i];
        }
    }

    assert_non_null(tok);
    assert_int_equal(tok->result, COMPLY_FAIL);

    /* an accepted finding stays accepted while its control still fails */

    tok->status = FINDING_ACCEPTED;

    assert_int_equal(comply_evaluate(f->cat, f->cves, &f->ev, &run), 0);
    i = (size_t) (tok - a.findings);
    assert_int_equal(audit_apply(&a, f->cat, &run, NOW_US + HOUR_US), 0);
    comply_run_free(&run);

    /* audit_apply() may have moved the findings */

    tok = audit_test_find(&a, "server-tokens");
    assert_non_null(tok);
    assert_int_equal(tok->status, FINDING_ACCEPTED);
    assert_int_equal(tok->last_us, NOW_US + HOUR_US);
    assert_int_equal(tok->first_us, NOW_US);

    /* everything passes now: every finding is fixed */

    load(f, "pass.json");
    assert_int_equal(comply_evaluate(f->cat, f->cves, &f->ev, &run), 0);
    assert_int_equal(audit_apply(&a, f->cat, &run, NOW_US + 2 * HOUR_US), 0);
    comply_run_free(&run);

    for (i = 0; i < a.nfindings; i++) {
        assert_int_equal(a.findings[i].status, FINDING_FIXED);
    }

    /* failing again opens what was fixed, and files nothing twice */

    len = a.nfindings;

    load(f, "fail.json");
    assert_int_equal(comply_evaluate(f->cat, f->cves, &f->ev, &run), 0);
    assert_int_equal(audit_apply(&a, f->cat, &run, NOW_US + 3 * HOUR_US), 0);
    comply_run_free(&run);

    assert_int_equal(a.nfindings, len);

    for (i = 0; i < a.nfindings; i++) {
        assert_int_equal(a.findings[i].status, FINDING_OPEN);
    }

    /* stored and read back */

    j = json_new();
    assert_non_null(j);
    audit_json(j, &a, AUDIT_JSON_STORE);
    assert_int_equal(json_result(j, &out, &len), 0);

    buf = malloc(len);
    assert_non_null(buf);
    memcpy(buf, out, len);
    json_free(j);

    assert_int_equal(audit_decode(&b, buf, len), 0);
    free(buf);

    assert_int_equal(b.id, 3);
    assert_string_equal(b.name, "quarterly");
    assert_string_equal(b.scope, "pci_dss_4");
    assert_int_equal(b.schedule, AUDIT_WEEKLY);
    assert_int_equal(b.nfindings, a.nfindings);
    assert_int_equal(b.runs, 4);
    assert_int_equal(b.next_finding, a.next_finding);
    assert_string_equal(b.findings[0].evidence, a.findings[0].evidence);
    assert_int_equal(b.findings[0].first_us, a.findings[0].first_us);

    audit_free(&a);
    audit_free(&b);
}


static void
test_risk_score(void **state)
{
    risk_input_t  in;
    risk_score_t  s;

    (void) state;

    memset(&in, 0, sizeof(risk_input_t));

    /* a critical control failing on /admin, under a brute force */

    in.status = COMPLY_FAIL;
    in.severity = KERYU_SEVERITY_CRITICAL;
    in.sensitivity = 5;
    in.threat = 1;
    in.events = 150;
    in.open_alerts = 1;
    risk_score(&in, &s);
    assert_int_equal(s.likelihood, 5);
    assert_int_equal(s.impact, 5);
    assert_int_equal(s.score, 25);
    assert_string_equal(s.level, "critical");

    /* the same with no threat seen */

    in.events = 0;
    in.open_alerts = 0;
    risk_score(&in, &s);
    assert_int_equal(s.likelihood, 2);
    assert_int_equal(s.score, 10);
    assert_string_equal(s.level, "high");

    /* a low warning on /static, naming no threat */

    in.status = COMPLY_WARN;
    in.severity = KERYU_SEVERITY_LOW;
    in.sensitivity = 1;
    in.threat = 0;
    risk_score(&in, &s);
    assert_int_equal(s.likelihood, 2);
    assert_int_equal(s.impact, 2);
    assert_int_equal(s.score, 4);
    assert_string_equal(s.level, "low");

    /* a medium control naming no location: its severity alone */

    in.status = COMPLY_FAIL;
    in.severity = KERYU_SEVERITY_MEDIUM;
    in.sensitivity = 0;
    in.threat = 1;
    in.events = 12;
    risk_score(&in, &s);
    assert_int_equal(s.impact, 3);
    assert_int_equal(s.likelihood, 4);
    assert_int_equal(s.score, 12);

    /* and a key blocked for it: a threat that was real */

    in.blocks = 1;
    risk_score(&in, &s);
    assert_int_equal(s.likelihood, 5);
    assert_int_equal(s.score, 15);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test_setup_teardown(test_catalogue_as_shipped, setup,
                                        teardown),
        cmocka_unit_test(test_catalogue_refused),
        cmocka_unit_test_setup_teardown(test_cve_ranges, setup, teardown),
        cmocka_unit_test_setup_teardown(test_evidence_tolerates_missing,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_evidence_refused, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_config_passes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_config_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shadow_and_server_tokens, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_weak_ciphers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cves_by_listen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retention, setup, teardown),
        cmocka_unit_test_setup_teardown(test_integrity_and_loss, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_brute_force, setup, teardown),
        cmocka_unit_test_setup_teardown(test_alert_response, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tokens, setup, teardown),
        cmocka_unit_test_setup_teardown(test_api_tls_and_workers, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_audit_findings, setup,
                                        teardown),
        cmocka_unit_test(test_risk_score)
    };

    log_init(1, 0);

    return cmocka_run_group_tests(tests, NULL, NULL);
}
