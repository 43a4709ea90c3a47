/*
 * Copyright (C) Keryu Security
 *
 * Compliance runs: the control catalogue and the CVE list read from their
 * files, every control evaluated over gathered evidence, the result as
 * the API shows it, and keryud's side of it: runs on a timer and on
 * request, each stored, compared with the run before it (a control that
 * went from pass to fail raises an alert), and followed by a risk
 * assessment.  The catalogue is checked whole when it is loaded, so a
 * catalogue that names a check keryud does not have, a standard it does
 * not list, or a severity it does not know is refused at startup rather
 * than found out in a run.
 */


#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "comply.h"
#include "alert.h"
#include "audit.h"
#include "keryu_policy.h"
#include "log.h"
#include "respond.h"
#include "risk.h"


static char *comply_file_read(const char *path, size_t *len, char *err,
    size_t errlen);
static int comply_control_parse(comply_catalogue_t *cat,
    comply_control_t *c, const jtree_t *v, size_t index, char *err,
    size_t errlen);
static int comply_id_valid(const char *id);
static int comply_cve_parse(comply_cve_t *cve, const jtree_t *v, char *err,
    size_t errlen);
static int comply_range_parse(const char *s, comply_range_t *r);
static void comply_mappings_json(json_t *j, const comply_catalogue_t *cat,
    const comply_control_t *c, int standard);
static int comply_store(comply_t *c, comply_run_t *run, char **prev,
    size_t *prev_len);
static void comply_regressions(comply_t *c, const comply_run_t *run,
    const char *prev, size_t prev_len);
static char *comply_copy(const MDB_val *val, size_t *len, int *rc);


static const char  *comply_status_names[] = { "pass", "warn", "fail" };


uint64_t
comply_now(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_REALTIME, &ts);

    return (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;
}


int
comply_buf_add(char **buf, size_t *len, size_t *size, const void *p,
    size_t n)
{
    char    *nb;
    size_t   ns;

    if (*len + n + 1 > *size) {
        ns = *size ? *size : 4096;

        while (ns < *len + n + 1) {
            ns *= 2;
        }

        nb = realloc(*buf, ns);
        if (nb == NULL) {
            return -1;
        }

        *buf = nb;
        *size = ns;
    }

    memcpy(*buf + *len, p, n);
    *len += n;
    (*buf)[*len] = '\0';

    return 0;
}


const char *
comply_status_name(int status)
{
    return (status >= COMPLY_PASS && status <= COMPLY_FAIL)
           ? comply_status_names[status] : "unknown";
}


int
comply_status_parse(const char *name)
{
    int  i;

    for (i = COMPLY_PASS; i <= COMPLY_FAIL; i++) {
        if (strcmp(name, comply_status_names[i]) == 0) {
            return i;
        }
    }

    return -1;
}


/* ---- the catalogue ---- */


static char *
comply_file_read(const char *path, size_t *len, char *err, size_t errlen)
{
    char    *buf;
    FILE    *fp;
    size_t   n;

    fp = fopen(path, "r");
    if (fp == NULL) {
        snprintf(err, errlen, "cannot open \"%s\": %s", path,
                 strerror(errno));
        return NULL;
    }

    buf = malloc(COMPLY_FILE_MAX + 1);
    if (buf == NULL) {
        snprintf(err, errlen, "out of memory");
        fclose(fp);
        return NULL;
    }

    n = fread(buf, 1, COMPLY_FILE_MAX + 1, fp);

    if (ferror(fp) || n > COMPLY_FILE_MAX) {
        snprintf(err, errlen, "\"%s\": %s", path,
                 ferror(fp) ? "read error" : "file is too large");
        free(buf);
        fclose(fp);
        return NULL;
    }

    fclose(fp);

    *len = n;

    return buf;
}


comply_catalogue_t *
comply_catalogue_load(const char *path, char *err, size_t errlen)
{
    char                *buf;
    size_t               len;
    comply_catalogue_t  *cat;

    buf = comply_file_read(path, &len, err, errlen);
    if (buf == NULL) {
        return NULL;
    }

    cat = comply_catalogue_parse(buf, len, err, errlen);

    free(buf);

    return cat;
}


comply_catalogue_t *
comply_catalogue_parse(const char *buf, size_t len, char *err, size_t errlen)
{
    size_t               i, j, n;
    int64_t              level;
    jtree_t             *v, *zones, *z, *controls;
    const char          *s;
    comply_catalogue_t  *cat;

    cat = calloc(1, sizeof(comply_catalogue_t));
    if (cat == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }

    cat->tree = jtree_parse(buf, len, err, errlen);
    if (cat->tree == NULL) {
        goto failed;
    }

    if (jtree_type(cat->tree) != JTREE_OBJECT) {
        snprintf(err, errlen, "not a JSON object");
        goto failed;
    }

    if (jtree_int(jtree_get(cat->tree, "version"), &cat->version) == -1) {
        snprintf(err, errlen, "\"version\" must be an integer");
        goto failed;
    }

    /* standards: {"key": "title", ...} */

    v = jtree_get(cat->tree, "standards");
    n = jtree_len(v);

    if (jtree_type(v) != JTREE_OBJECT || n == 0
        || n > COMPLY_STANDARDS_MAX)
    {
        snprintf(err, errlen, "\"standards\" must be an object of 1 to %d "
                 "titles", COMPLY_STANDARDS_MAX);
        goto failed;
    }

    for (i = 0; i < n; i++) {
        s = jtree_string(jtree_at(v, i));

        if (s == NULL || !comply_id_valid(jtree_key_at(v, i))) {
            snprintf(err, errlen, "standard %zu: a name of a-z 0-9 _ and "
                     "a title string are needed", i + 1);
            goto failed;
        }

        cat->standards[i].key = jtree_key_at(v, i);
        cat->standards[i].title = s;
    }

    cat->nstandards = n;

    /* sensitivity: {"sensitive_level": 4, "zones": [{prefix, level}]} */

    v = jtree_get(cat->tree, "sensitivity");
    cat->sensitive_level = 4;

    if (v) {
        if (jtree_get(v, "sensitive_level")) {
            if (jtree_int(jtree_get(v, "sensitive_level"), &level) == -1
                || level < 1 || level > 5)
            {
                snprintf(err, errlen, "\"sensitive_level\" must be 1 to 5");
                goto failed;
            }

            cat->sensitive_level = (int) level;
        }

        zones = jtree_get(v, "zones");
        n = jtree_len(zones);

        if (jtree_type(zones) != JTREE_ARRAY || n > COMPLY_ZONES_MAX) {
            snprintf(err, errlen, "\"zones\" must be an array of at most %d",
                     COMPLY_ZONES_MAX);
            goto failed;
        }

        for (i = 0; i < n; i++) {
            z = jtree_at(zones, i);
            s = jtree_get_string(z, "prefix");

            if (s == NULL || s[0] != '/'
                || jtree_int(jtree_get(z, "level"), &level) == -1
                || level < 1 || level > 5)
            {
                snprintf(err, errlen, "zone %zu: \"prefix\" (a path) and "
                         "\"level\" (1 to 5) are needed", i + 1);
                goto failed;
            }

            cat->zones[i].prefix = s;
            cat->zones[i].len = strlen(s);
            cat->zones[i].level = (int) level;
        }

        cat->nzones = n;
    }

    controls = jtree_get(cat->tree, "controls");
    n = jtree_len(controls);

    if (jtree_type(controls) != JTREE_ARRAY || n == 0
        || n > COMPLY_CONTROLS_MAX)
    {
        snprintf(err, errlen, "\"controls\" must be an array of 1 to %d",
                 COMPLY_CONTROLS_MAX);
        goto failed;
    }

    cat->controls = calloc(n, sizeof(comply_control_t));
    if (cat->controls == NULL) {
        snprintf(err, errlen, "out of memory");
        goto failed;
    }

    for (i = 0; i < n; i++) {
        if (comply_control_parse(cat, &cat->controls[i], jtree_at(controls, i),
                                 i, err, errlen)
            == -1)
        {
            goto failed;
        }

        for (j = 0; j < i; j++) {
            if (strcmp(cat->controls[j].id, cat->controls[i].id) == 0) {
                snprintf(err, errlen, "control \"%s\" is duplicate",
                         cat->controls[i].id);
                goto failed;
            }
        }
    }

    cat->ncontrols = n;

    return cat;

failed:

    comply_catalogue_free(cat);

    return NULL;
}


static int
comply_control_parse(comply_catalogue_t *cat, comply_control_t *c,
    const jtree_t *v, size_t index, char *err, size_t errlen)
{
    int          k, type;
    size_t       i, j, n;
    jtree_t     *m, *refs, *threat;
    const char  *s, *sev;

    if (jtree_type(v) != JTREE_OBJECT) {
        snprintf(err, errlen, "control %zu is not an object", index + 1);
        return -1;
    }

    c->id = jtree_get_string(v, "id");

    if (c->id == NULL || !comply_id_valid(c->id)) {
        snprintf(err, errlen, "control %zu: \"id\" must be 1 to %d of a-z "
                 "0-9 . _ -", index + 1, COMPLY_ID_MAX);
        return -1;
    }

    c->title = jtree_get_string(v, "title");
    c->text = jtree_get_string(v, "text");
    c->check = jtree_get_string(v, "check");
    sev = jtree_get_string(v, "severity");

    if (c->title == NULL || c->text == NULL || c->check == NULL
        || sev == NULL)
    {
        snprintf(err, errlen, "control \"%s\": \"title\", \"text\", "
                 "\"severity\" and \"check\" are needed", c->id);
        return -1;
    }

    c->severity = keryu_severity_parse(sev);

    if (c->severity == -1) {
        snprintf(err, errlen, "control \"%s\": unknown severity \"%s\"",
                 c->id, sev);
        return -1;
    }

    c->fn = comply_check_find(c->check);

    if (c->fn == NULL) {
        snprintf(err, errlen, "control \"%s\": unknown check \"%s\"", c->id,
                 c->check);
        return -1;
    }

    c->params = jtree_get(v, "params");

    if (c->params && jtree_type(c->params) != JTREE_OBJECT) {
        snprintf(err, errlen, "control \"%s\": \"params\" must be an object",
                 c->id);
        return -1;
    }

    m = jtree_get(v, "mappings");

    if (jtree_type(m) != JTREE_OBJECT) {
        snprintf(err, errlen, "control \"%s\": \"mappings\" must be an "
                 "object", c->id);
        return -1;
    }

    c->mappings = m;

    for (i = 0; i < jtree_len(m); i++) {
        k = comply_standard_index(cat, jtree_key_at(m, i));
        refs = jtree_at(m, i);

        if (k == -1) {
            snprintf(err, errlen, "control \"%s\": unknown standard \"%s\"",
                     c->id, jtree_key_at(m, i));
            return -1;
        }

        if (jtree_type(refs) != JTREE_ARRAY) {
            snprintf(err, errlen, "control \"%s\": the %s mapping must be "
                     "an array of strings", c->id, jtree_key_at(m, i));
            return -1;
        }

        for (j = 0; j < jtree_len(refs); j++) {
            if (jtree_string(jtree_at(refs, j)) == NULL) {
                snprintf(err, errlen, "control \"%s\": the %s mapping must "
                         "be an array of strings", c->id,
                         jtree_key_at(m, i));
                return -1;
            }
        }

        if (jtree_len(refs)) {
            c->standards |= 1u << k;
        }
    }

    threat = jtree_get(v, "threat");
    n = jtree_len(threat);

    if (threat && jtree_type(threat) != JTREE_ARRAY) {
        snprintf(err, errlen, "control \"%s\": \"threat\" must be an array",
                 c->id);
        return -1;
    }

    for (i = 0; i < n; i++) {
        s = jtree_string(jtree_at(threat, i));
        type = s ? keryu_event_parse(s, strlen(s)) : -1;

        if (s && strcmp(s, "alerts") == 0) {
            c->threat |= COMPLY_THREAT_ALERTS;

        } else if (type >= 0) {
            c->threat |= 1u << type;

        } else {
            snprintf(err, errlen, "control \"%s\": \"threat\" names an "
                     "unknown event type", c->id);
            return -1;
        }
    }

    return 0;
}


/* ids become alert rules ("compliance/ID"), so they keep to rule bytes */

static int
comply_id_valid(const char *id)
{
    size_t       n;
    const char  *p;

    n = strlen(id);

    if (n == 0 || n > COMPLY_ID_MAX) {
        return 0;
    }

    for (p = id; *p; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9')
              || *p == '-' || *p == '_' || *p == '.'))
        {
            return 0;
        }
    }

    return 1;
}


void
comply_catalogue_free(comply_catalogue_t *cat)
{
    if (cat == NULL) {
        return;
    }

    jtree_free(cat->tree);
    free(cat->controls);
    free(cat);
}


int
comply_standard_index(const comply_catalogue_t *cat, const char *key)
{
    size_t  i;

    for (i = 0; i < cat->nstandards; i++) {
        if (strcmp(cat->standards[i].key, key) == 0) {
            return (int) i;
        }
    }

    return -1;
}


/* ---- the CVE list ---- */


comply_cves_t *
comply_cves_load(const char *path, char *err, size_t errlen)
{
    char           *buf;
    size_t          len;
    comply_cves_t  *cves;

    buf = comply_file_read(path, &len, err, errlen);
    if (buf == NULL) {
        return NULL;
    }

    cves = comply_cves_parse(buf, len, err, errlen);

    free(buf);

    return cves;
}


comply_cves_t *
comply_cves_parse(const char *buf, size_t len, char *err, size_t errlen)
{
    size_t          i, n;
    jtree_t        *list;
    comply_cves_t  *cves;

    cves = calloc(1, sizeof(comply_cves_t));
    if (cves == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }

    cves->tree = jtree_parse(buf, len, err, errlen);
    if (cves->tree == NULL) {
        goto failed;
    }

    cves->checked = jtree_get_string(cves->tree, "checked");
    cves->caveat = jtree_get_string(cves->tree, "caveat");

    list = jtree_get(cves->tree, "cves");
    n = jtree_len(list);

    if (jtree_type(list) != JTREE_ARRAY || n > COMPLY_CVES_MAX) {
        snprintf(err, errlen, "\"cves\" must be an array of at most %d",
                 COMPLY_CVES_MAX);
        goto failed;
    }

    if (n) {
        cves->cves = calloc(n, sizeof(comply_cve_t));
        if (cves->cves == NULL) {
            snprintf(err, errlen, "out of memory");
            goto failed;
        }
    }

    for (i = 0; i < n; i++) {
        if (comply_cve_parse(&cves->cves[i], jtree_at(list, i), err, errlen)
            == -1)
        {
            goto failed;
        }
    }

    cves->ncves = n;

    return cves;

failed:

    comply_cves_free(cves);

    return NULL;
}


static int
comply_cve_parse(comply_cve_t *cve, const jtree_t *v, char *err,
    size_t errlen)
{
    size_t       i, n, len;
    jtree_t     *a;
    const char  *s;
    char         buf[32];

    cve->id = jtree_get_string(v, "id");
    cve->summary = jtree_get_string(v, "summary");
    cve->severity = jtree_get_string(v, "severity");
    cve->requires = jtree_get_string(v, "requires");

    if (cve->id == NULL || cve->summary == NULL) {
        snprintf(err, errlen, "a CVE needs \"id\" and \"summary\"");
        return -1;
    }

    a = jtree_get(v, "vulnerable");
    n = jtree_len(a);

    if (jtree_type(a) != JTREE_ARRAY || n == 0 || n > COMPLY_RANGES_MAX) {
        snprintf(err, errlen, "%s: \"vulnerable\" must be an array of 1 to "
                 "%d ranges", cve->id, COMPLY_RANGES_MAX);
        return -1;
    }

    for (i = 0; i < n; i++) {
        s = jtree_string(jtree_at(a, i));

        if (s == NULL || comply_range_parse(s, &cve->vulnerable[i]) == -1) {
            snprintf(err, errlen, "%s: invalid range in \"vulnerable\"",
                     cve->id);
            return -1;
        }
    }

    cve->nvulnerable = n;

    /* "not_vulnerable": ["1.23.2+", "1.22.1+"], as nginx.org writes them */

    a = jtree_get(v, "not_vulnerable");
    n = jtree_len(a);

    if ((a && jtree_type(a) != JTREE_ARRAY) || n > COMPLY_RANGES_MAX) {
        snprintf(err, errlen, "%s: \"not_vulnerable\" must be an array of "
                 "at most %d versions", cve->id, COMPLY_RANGES_MAX);
        return -1;
    }

    for (i = 0; i < n; i++) {
        s = jtree_string(jtree_at(a, i));
        len = s ? strlen(s) : 0;

        if (len < 2 || len >= sizeof(buf) || s[len - 1] != '+') {
            snprintf(err, errlen, "%s: invalid version in "
                     "\"not_vulnerable\"", cve->id);
            return -1;
        }

        memcpy(buf, s, len - 1);
        buf[len - 1] = '\0';

        if (comply_version_parse(buf, &cve->fixed[i]) == -1) {
            snprintf(err, errlen, "%s: invalid version in "
                     "\"not_vulnerable\"", cve->id);
            return -1;
        }
    }

    cve->nfixed = n;

    return 0;
}


/* "0.6.18-1.20.0", or one version */

static int
comply_range_parse(const char *s, comply_range_t *r)
{
    char         buf[64];
    size_t       len;
    const char  *dash;

    len = strlen(s);

    if (len >= sizeof(buf)) {
        return -1;
    }

    dash = strchr(s, '-');

    if (dash == NULL) {
        if (comply_version_parse(s, &r->from) == -1) {
            return -1;
        }

        r->to = r->from;
        return 0;
    }

    memcpy(buf, s, (size_t) (dash - s));
    buf[dash - s] = '\0';

    if (comply_version_parse(buf, &r->from) == -1
        || comply_version_parse(dash + 1, &r->to) == -1
        || comply_version_cmp(&r->from, &r->to) > 0)
    {
        return -1;
    }

    return 0;
}


int
comply_version_parse(const char *s, comply_version_t *v)
{
    int            i;
    char          *end;
    unsigned long  n;

    memset(v, 0, sizeof(comply_version_t));

    for (i = 0; i < 3; i++) {
        if (*s < '0' || *s > '9') {
            return -1;
        }

        n = strtoul(s, &end, 10);

        if (n > 100000) {
            return -1;
        }

        v->v[i] = (unsigned) n;
        s = end;

        if (*s == '\0') {
            return i >= 1 ? 0 : -1;
        }

        if (*s != '.') {
            return -1;
        }

        s++;
    }

    return -1;
}


int
comply_version_cmp(const comply_version_t *a, const comply_version_t *b)
{
    int  i;

    for (i = 0; i < 3; i++) {
        if (a->v[i] != b->v[i]) {
            return a->v[i] < b->v[i] ? -1 : 1;
        }
    }

    return 0;
}


/*
 * nginx.org's reading: a version inside a vulnerable range is affected
 * unless a "not vulnerable" version of its own branch (major.minor) is at
 * or below it
 */

int
comply_cve_affects(const comply_cve_t *cve, const comply_version_t *v)
{
    size_t  i;
    int     in;

    in = 0;

    for (i = 0; i < cve->nvulnerable; i++) {
        if (comply_version_cmp(v, &cve->vulnerable[i].from) >= 0
            && comply_version_cmp(v, &cve->vulnerable[i].to) <= 0)
        {
            in = 1;
            break;
        }
    }

    if (!in) {
        return 0;
    }

    for (i = 0; i < cve->nfixed; i++) {
        if (cve->fixed[i].v[0] == v->v[0] && cve->fixed[i].v[1] == v->v[1]
            && comply_version_cmp(v, &cve->fixed[i]) >= 0)
        {
            return 0;
        }
    }

    return 1;
}


void
comply_cves_free(comply_cves_t *cves)
{
    if (cves == NULL) {
        return;
    }

    jtree_free(cves->tree);
    free(cves->cves);
    free(cves);
}


/* ---- evaluation ---- */


int
comply_evaluate(const comply_catalogue_t *cat, const comply_cves_t *cves,
    const evidence_t *ev, comply_run_t *run)
{
    size_t  i;

    memset(run, 0, sizeof(comply_run_t));

    run->at_us = ev->now_us;
    run->config = ev->config;

    snprintf(run->config_error, sizeof(run->config_error), "%s",
             ev->config_error);
    snprintf(run->nginx_version, sizeof(run->nginx_version), "%s",
             ev->nginx_version);
    snprintf(run->published_at, sizeof(run->published_at), "%s",
             ev->published_at);

    run->results = calloc(cat->ncontrols, sizeof(comply_result_t));
    if (run->results == NULL) {
        return -1;
    }

    for (i = 0; i < cat->ncontrols; i++) {
        if (comply_check(cat, cves, ev, &cat->controls[i], &run->results[i])
            == -1)
        {
            run->nresults = i;
            comply_run_free(run);
            return -1;
        }
    }

    run->nresults = cat->ncontrols;

    return 0;
}


int
comply_check(const comply_catalogue_t *cat, const comply_cves_t *cves,
    const evidence_t *ev, const comply_control_t *control,
    comply_result_t *res)
{
    size_t          len;
    json_t         *j;
    comply_ctx_t    cx;
    const uint8_t  *buf;

    memset(res, 0, sizeof(comply_result_t));

    res->control = control;

    j = json_new();
    if (j == NULL) {
        return -1;
    }

    memset(&cx, 0, sizeof(comply_ctx_t));

    cx.cat = cat;
    cx.cves = cves;
    cx.ev = ev;
    cx.control = control;
    cx.json = j;
    cx.status = COMPLY_PASS;
    cx.remedy = res->remediation;
    cx.result = res;

    json_map_open(j);
    control->fn(&cx, control->params);
    json_map_close(j);

    res->status = cx.status;

    if (json_result(j, &buf, &len) != 0) {
        log_warnx("compliance: evidence of %s: %s", control->id,
                  json_error(j));
        json_free(j);
        comply_result_free(res);
        return -1;
    }

    res->evidence = malloc(len + 1);
    if (res->evidence == NULL) {
        json_free(j);
        comply_result_free(res);
        return -1;
    }

    memcpy(res->evidence, buf, len);
    res->evidence[len] = '\0';
    res->evidence_len = len;

    json_free(j);

    return 0;
}


void
comply_result_free(comply_result_t *res)
{
    size_t  i;

    for (i = 0; i < res->ntargets; i++) {
        free(res->targets[i]);
    }

    free(res->evidence);

    res->evidence = NULL;
    res->ntargets = 0;
}


void
comply_run_free(comply_run_t *run)
{
    size_t  i;

    for (i = 0; i < run->nresults; i++) {
        comply_result_free(&run->results[i]);
    }

    free(run->results);

    run->results = NULL;
    run->nresults = 0;
}


const comply_result_t *
comply_run_find(const comply_run_t *run, const char *id)
{
    size_t  i;

    for (i = 0; i < run->nresults; i++) {
        if (strcmp(run->results[i].control->id, id) == 0) {
            return &run->results[i];
        }
    }

    return NULL;
}


void
comply_standard_counts(const comply_catalogue_t *cat,
    const comply_run_t *run, int standard, unsigned counts[3])
{
    size_t  i;

    (void) cat;

    counts[0] = 0;
    counts[1] = 0;
    counts[2] = 0;

    for (i = 0; i < run->nresults; i++) {
        if (standard >= 0
            && !(run->results[i].control->standards & (1u << standard)))
        {
            continue;
        }

        counts[run->results[i].status]++;
    }
}


static const char *
comply_counts_status(const unsigned counts[3])
{
    return counts[COMPLY_FAIL] ? "fail"
           : counts[COMPLY_WARN] ? "warn" : "pass";
}


void
comply_run_json(json_t *j, const comply_catalogue_t *cat,
    const comply_run_t *run, int standard)
{
    char                      tbuf[TIME_STR_MAX];
    size_t                    i;
    unsigned                  counts[3];
    const char               *sev;
    const comply_result_t    *r;
    const comply_control_t   *c;

    json_map_open(j);

    json_key(j, "evaluated_at");
    json_string(j, (uint8_t *) tbuf, time_format(run->at_us, tbuf));

    json_key(j, "run");

    if (run->id) {
        json_map_open(j);
        json_key(j, "id");
        json_uint(j, run->id);
        json_key(j, "trigger");
        json_cstring(j, run->trigger ? run->trigger : "api");
        json_map_close(j);

    } else {
        json_null(j);
    }

    json_key(j, "catalogue");
    json_map_open(j);
    json_key(j, "version");
    json_uint(j, (uint64_t) (cat->version > 0 ? cat->version : 0));
    json_key(j, "controls");
    json_uint(j, cat->ncontrols);
    json_map_close(j);

    json_key(j, "evidence");
    json_map_open(j);
    json_key(j, "effective_config");
    json_bool(j, run->config);
    json_key(j, "error");

    if (run->config || run->config_error[0] == '\0') {
        json_null(j);

    } else {
        json_cstring(j, run->config_error);
    }

    json_key(j, "nginx_version");

    if (run->nginx_version[0]) {
        json_cstring(j, run->nginx_version);

    } else {
        json_null(j);
    }

    json_key(j, "published_at");

    if (run->published_at[0]) {
        json_cstring(j, run->published_at);

    } else {
        json_null(j);
    }

    json_map_close(j);

    comply_standard_counts(cat, run, standard, counts);

    json_key(j, "summary");
    json_map_open(j);
    json_key(j, "status");
    json_cstring(j, comply_counts_status(counts));
    json_key(j, "passed");
    json_uint(j, counts[COMPLY_PASS]);
    json_key(j, "warned");
    json_uint(j, counts[COMPLY_WARN]);
    json_key(j, "failed");
    json_uint(j, counts[COMPLY_FAIL]);
    json_map_close(j);

    json_key(j, "standards");
    json_map_open(j);

    for (i = 0; i < cat->nstandards; i++) {
        if (standard >= 0 && (size_t) standard != i) {
            continue;
        }

        comply_standard_counts(cat, run, (int) i, counts);

        json_key(j, cat->standards[i].key);
        json_map_open(j);
        json_key(j, "title");
        json_cstring(j, cat->standards[i].title);
        json_key(j, "status");
        json_cstring(j, comply_counts_status(counts));
        json_key(j, "passed");
        json_uint(j, counts[COMPLY_PASS]);
        json_key(j, "warned");
        json_uint(j, counts[COMPLY_WARN]);
        json_key(j, "failed");
        json_uint(j, counts[COMPLY_FAIL]);
        json_map_close(j);
    }

    json_map_close(j);

    json_key(j, "controls");
    json_array_open(j);

    for (i = 0; i < run->nresults; i++) {
        r = &run->results[i];
        c = r->control;

        if (standard >= 0 && !(c->standards & (1u << standard))) {
            continue;
        }

        sev = keryu_severity_name(c->severity);

        json_map_open(j);
        json_key(j, "id");
        json_cstring(j, c->id);
        json_key(j, "title");
        json_cstring(j, c->title);
        json_key(j, "text");
        json_cstring(j, c->text);
        json_key(j, "severity");
        json_cstring(j, sev ? sev : "medium");
        json_key(j, "status");
        json_cstring(j, comply_status_name(r->status));
        json_key(j, "evidence");
        json_details(j, (const uint8_t *) r->evidence, r->evidence_len);
        json_key(j, "remediation");
        json_cstring(j, r->remediation);
        json_key(j, "mappings");
        comply_mappings_json(j, cat, c, standard);
        json_map_close(j);
    }

    json_array_close(j);
    json_map_close(j);
}


static void
comply_mappings_json(json_t *j, const comply_catalogue_t *cat,
    const comply_control_t *c, int standard)
{
    size_t        i, k;
    jtree_t      *refs;
    const char   *key;

    json_map_open(j);

    for (i = 0; i < jtree_len(c->mappings); i++) {
        key = jtree_key_at(c->mappings, i);
        refs = jtree_at(c->mappings, i);

        if (standard >= 0 && strcmp(key, cat->standards[standard].key) != 0) {
            continue;
        }

        json_key(j, key);
        json_array_open(j);

        for (k = 0; k < jtree_len(refs); k++) {
            json_cstring(j, jtree_string(jtree_at(refs, k)));
        }

        json_array_close(j);
    }

    json_map_close(j);
}


/* ---- keryud's side ---- */


int
comply_init(comply_t *c, const conf_t *cf, store_t *own, keryu_store_t *src)
{
    char  err[512];

    memset(c, 0, sizeof(comply_t));

    c->conf = cf;
    c->own = own;
    c->src = src;

    c->cat = comply_catalogue_load(cf->controls, err, sizeof(err));

    if (c->cat == NULL) {
        if (cf->controls_set) {
            log_warnx("cannot load controls \"%s\": %s", cf->controls, err);
            return -1;
        }

        snprintf(c->error, sizeof(c->error), "no control catalogue: %s",
                 err);
        log_warnx("compliance off: %s", c->error);
        return 0;
    }

    c->cves = comply_cves_load(cf->nginx_cves, err, sizeof(err));

    if (c->cves == NULL) {
        if (cf->nginx_cves_set) {
            log_warnx("cannot load nginx_cves \"%s\": %s", cf->nginx_cves,
                      err);
            return -1;
        }

        log_warnx("no nginx CVE list, the version check warns: %s", err);
    }

    log_info("compliance: %zu controls from \"%s\", %zu nginx CVEs, a run "
             "every %llu s", c->cat->ncontrols, cf->controls,
             c->cves ? c->cves->ncves : 0,
             (unsigned long long) (cf->compliance_interval / 1000));

    return 0;
}


void
comply_free(comply_t *c)
{
    comply_catalogue_free(c->cat);
    comply_cves_free(c->cves);

    c->cat = NULL;
    c->cves = NULL;
}


int
comply_dbs_open(store_t *st, MDB_txn *txn)
{
    int  rc;

    if ((rc = mdb_dbi_open(txn, "compliance", MDB_CREATE, &st->compliance))
        || (rc = mdb_dbi_open(txn, "audits", MDB_CREATE, &st->audits))
        || (rc = mdb_dbi_open(txn, "reports", MDB_CREATE, &st->reports))
        || (rc = mdb_dbi_open(txn, "risk", MDB_CREATE, &st->risk))
        || (rc = mdb_dbi_open(txn, "report_keys", MDB_CREATE,
                              &st->report_keys)))
    {
        return rc;
    }

    return 0;
}


int
comply_evaluate_now(comply_t *c, comply_run_t *run, evidence_t *ev)
{
    int  rc;

    if (c->cat == NULL) {
        return -1;
    }

    if (evidence_gather(ev, c->conf, c->own, c->src, c->keys, comply_now())
        == -1)
    {
        log_warnx("compliance: out of memory gathering evidence");
        evidence_free(ev);
        return -1;
    }

    rc = comply_evaluate(c->cat, c->cves, ev, run);

    if (rc == -1) {
        log_warnx("compliance: out of memory evaluating controls");
        evidence_free(ev);
    }

    return rc;
}


int
comply_run(comply_t *c, const char *trigger, comply_run_t *out)
{
    char          *prev;
    size_t         prev_len;
    unsigned       counts[3];
    evidence_t     ev;
    comply_run_t   run;

    if (comply_evaluate_now(c, &run, &ev) == -1) {
        return -1;
    }

    run.trigger = trigger;
    prev = NULL;
    prev_len = 0;

    if (comply_store(c, &run, &prev, &prev_len) != 0) {
        run.id = 0;
    }

    comply_regressions(c, &run, prev, prev_len);
    free(prev);

    c->runs++;

    comply_standard_counts(c->cat, &run, -1, counts);

    log_info("compliance run %llu (%s): %u passed, %u warned, %u failed",
             (unsigned long long) run.id, trigger, counts[COMPLY_PASS],
             counts[COMPLY_WARN], counts[COMPLY_FAIL]);

    if (risk_assess_store(c, &run, &ev) != 0) {
        log_warnx("compliance run %llu: storing the risk assessment failed",
                  (unsigned long long) run.id);
    }

    evidence_free(&ev);

    if (out) {
        *out = run;

    } else {
        comply_run_free(&run);
    }

    return 0;
}


/*
 * stores run under the next id, deleting the oldest beyond
 * COMPLY_RUNS_KEEP, and hands back a copy of the run before it
 */

static int
comply_store(comply_t *c, comply_run_t *run, char **prev, size_t *prev_len)
{
    int              rc;
    size_t           len;
    json_t          *j;
    MDB_txn         *txn;
    uint64_t         id, last;
    const uint8_t   *buf;

    rc = store_txn_begin(c->own, 0, &txn);
    if (rc != 0) {
        goto failed;
    }

    *prev = comply_get_last(txn, c->own->compliance, &last, prev_len, &rc);

    if (rc != 0 || (rc = comply_next_id(c->own, txn, COMPLY_META_NEXT_RUN,
                                        &id))
        || (rc = comply_trim(txn, c->own->compliance, COMPLY_RUNS_KEEP)))
    {
        goto txn_abort;
    }

    run->id = id;

    j = json_new();
    if (j == NULL) {
        rc = ENOMEM;
        goto txn_abort;
    }

    comply_run_json(j, c->cat, run, -1);

    if (json_result(j, &buf, &len) != 0) {
        log_warnx("compliance: %s", json_error(j));
        json_free(j);
        rc = EINVAL;
        goto txn_abort;
    }

    rc = comply_put(txn, c->own->compliance, id, buf, len);

    json_free(j);

    if (rc != 0) {
        goto txn_abort;
    }

    rc = mdb_txn_commit(txn);
    if (rc != 0) {
        goto failed;
    }

    return 0;

txn_abort:

    mdb_txn_abort(txn);

failed:

    run->id = 0;

    log_warnx("compliance: storing the run failed: %s", mdb_strerror(rc));

    return rc;
}


int
comply_next_id(store_t *st, MDB_txn *txn, const char *name, uint64_t *id)
{
    int  rc;

    rc = store_meta_get(st, txn, name, id);
    if (rc != 0) {
        return rc;
    }

    *id = *id ? *id : 1;

    return store_meta_put(st, txn, name, *id + 1);
}


int
comply_trim(MDB_txn *txn, MDB_dbi dbi, size_t keep)
{
    int          rc;
    size_t       n;
    MDB_val      key, val;
    MDB_stat     ms;
    MDB_cursor  *cur;

    rc = mdb_stat(txn, dbi, &ms);
    if (rc != 0) {
        return rc;
    }

    if (ms.ms_entries < keep) {
        return 0;
    }

    rc = mdb_cursor_open(txn, dbi, &cur);
    if (rc != 0) {
        return rc;
    }

    for (n = ms.ms_entries; n >= keep; n--) {
        rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST);

        if (rc == 0) {
            rc = mdb_cursor_del(cur, 0);
        }

        if (rc != 0) {
            break;
        }
    }

    mdb_cursor_close(cur);

    return rc;
}


int
comply_put(MDB_txn *txn, MDB_dbi dbi, uint64_t id, const void *buf,
    size_t len)
{
    uint8_t  kbuf[8];
    MDB_val  key, val;

    keryu_store_key_encode(kbuf, id);

    key.mv_size = 8;
    key.mv_data = kbuf;
    val.mv_size = len;
    val.mv_data = (void *) buf;

    return mdb_put(txn, dbi, &key, &val, 0);
}


static char *
comply_copy(const MDB_val *val, size_t *len, int *rc)
{
    char  *p;

    p = malloc(val->mv_size + 1);
    if (p == NULL) {
        *rc = ENOMEM;
        return NULL;
    }

    memcpy(p, val->mv_data, val->mv_size);
    p[val->mv_size] = '\0';
    *len = val->mv_size;

    return p;
}


char *
comply_get(MDB_txn *txn, MDB_dbi dbi, uint64_t id, size_t *len, int *rc)
{
    uint8_t  kbuf[8];
    MDB_val  key, val;

    keryu_store_key_encode(kbuf, id);

    key.mv_size = 8;
    key.mv_data = kbuf;

    *rc = mdb_get(txn, dbi, &key, &val);
    if (*rc != 0) {
        return NULL;
    }

    return comply_copy(&val, len, rc);
}


char *
comply_get_last(MDB_txn *txn, MDB_dbi dbi, uint64_t *id, size_t *len,
    int *rc)
{
    char        *p;
    MDB_val      key, val;
    MDB_cursor  *cur;

    *id = 0;

    *rc = mdb_cursor_open(txn, dbi, &cur);
    if (*rc != 0) {
        return NULL;
    }

    *rc = mdb_cursor_get(cur, &key, &val, MDB_LAST);

    if (*rc == MDB_NOTFOUND) {
        *rc = 0;
        mdb_cursor_close(cur);
        return NULL;
    }

    p = NULL;

    if (*rc == 0 && key.mv_size == 8) {
        *id = keryu_store_key_decode(key.mv_data);
        p = comply_copy(&val, len, rc);
    }

    mdb_cursor_close(cur);

    return p;
}


/*
 * raises an alert for each control that passed in the stored run before
 * this one and fails now; a control that was missing then, or warned,
 * raises nothing
 */

static void
comply_regressions(comply_t *c, const comply_run_t *run, const char *prev,
    size_t prev_len)
{
    int                     opened;
    char                    err[64], rule[COMPLY_ID_MAX + 16],
                            summary[ALERT_SUMMARY_MAX + 1];
    size_t                  i, k;
    alert_t                 a;
    jtree_t                *tree, *controls, *ctl;
    const char             *id, *status;
    alert_raise_t           in;
    const comply_result_t  *r;

    if (prev == NULL || c->respond == NULL) {
        return;
    }

    tree = jtree_parse(prev, prev_len, err, sizeof(err));
    if (tree == NULL) {
        log_warnx("compliance: the previous run does not parse: %s", err);
        return;
    }

    controls = jtree_get(tree, "controls");

    for (i = 0; i < jtree_len(controls); i++) {
        ctl = jtree_at(controls, i);
        id = jtree_get_string(ctl, "id");
        status = jtree_get_string(ctl, "status");

        if (id == NULL || status == NULL || strcmp(status, "pass") != 0) {
            continue;
        }

        r = comply_run_find(run, id);

        if (r == NULL || r->status != COMPLY_FAIL) {
            continue;
        }

        snprintf(rule, sizeof(rule), "compliance/%s", id);
        k = (size_t) snprintf(summary, sizeof(summary),
                              "control %s (%s) went from pass to fail: %s",
                              id, r->control->title, r->remediation);

        /* a summary cut short ends on a whole character */

        if (k >= sizeof(summary)) {
            k = sizeof(summary) - 1;

            while (k > 0 && ((uint8_t) summary[k] & 0xc0) == 0x80) {
                k--;
            }

            summary[k] = '\0';
        }

        memset(&in, 0, sizeof(alert_raise_t));

        in.rule = rule;
        in.severity = r->control->severity;
        in.key = id;
        in.key_type = "control";
        in.summary = summary;
        in.count = 1;
        in.first_us = run->at_us;
        in.last_us = run->at_us;
        in.actor = "keryud";

        if (respond_raise(c->respond, &in, &a, &opened) != 0) {
            log_warnx("compliance: raising the alert of %s failed", id);
            continue;
        }

        c->regressions++;

        log_info("alert %llu %s: control went from pass to fail in run %llu",
                 (unsigned long long) a.id, rule,
                 (unsigned long long) run->id);

        alert_free(&a);
    }

    jtree_free(tree);
}


int
comply_last_run(comply_t *c, MDB_txn *txn, uint64_t *id, uint64_t *at_us)
{
    int          rc;
    MDB_val      key, val;
    MDB_cursor  *cur;

    *id = 0;
    *at_us = 0;

    rc = mdb_cursor_open(txn, c->own->compliance, &cur);
    if (rc != 0) {
        return rc;
    }

    rc = mdb_cursor_get(cur, &key, &val, MDB_LAST);

    if (rc == 0 && key.mv_size == 8) {
        *id = keryu_store_key_decode(key.mv_data);
    }

    mdb_cursor_close(cur);

    return rc == MDB_NOTFOUND ? 0 : rc;
}


void
comply_tick(comply_t *c)
{
    uint64_t  now;

    if (c->cat == NULL) {
        return;
    }

    now = comply_now();

    if (now >= c->next_run_us) {
        c->next_run_us = now + c->conf->compliance_interval * 1000;

        if (comply_run(c, c->runs ? "timer" : "startup", NULL) == -1) {
            log_warnx("compliance: the %s run failed",
                      c->runs ? "timer" : "startup");

        } else {
            audit_continuous(c);
        }
    }

    audit_due(c, now);
}
