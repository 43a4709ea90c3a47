/*
 * Copyright (C) Keryu Security
 *
 * Reports (report.h).  Every report is first built as one JSON document:
 * that is the JSON format, and the CSV and HTML formats are rendered from
 * it, read back through jtree.h, so that the three always say the same.
 * The HTML page draws its charts as inline SVG from the same numbers; it
 * holds no script and loads nothing, and every string in it is escaped.
 *
 * A stored report is one value in the reports database: the length of
 * its metadata (4 bytes, little-endian), the metadata as JSON, then the
 * file, so that listing reads the metadata without touching the files.
 */


#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include "report.h"
#include "alert.h"
#include "audit.h"
#include "keys.h"
#include "keryu_policy.h"
#include "log.h"
#include "risk.h"


#define RB_FAILED         ((size_t) -1)

/* a string literal, its length counted by the compiler */
#define rb_lit(b, s)      rb_add(b, s, sizeof(s) - 1)

#define REPORT_KEY_VERSION  1
#define REPORT_ALERTS_MAX   100000
#define REPORT_KEY_LEN      (1 + 8 + 32)

#define C_PASS      "#2e7d32"
#define C_WARN      "#f9a825"
#define C_FAIL      "#c62828"
#define C_LOW       "#9ccc65"
#define C_MEDIUM    "#ffca28"
#define C_HIGH      "#fb8c00"
#define C_CRITICAL  "#d32f2f"


/* a growing text buffer; the first failure sticks */
typedef struct {
    char               *p;
    size_t              len;
    size_t              size;
    int                 failed;
} rbuf_t;


static const char  *report_types[] = { NULL, "compliance", "audit",
                                       "metrics", "risk" };
static const char  *report_formats[] = { NULL, "json", "csv", "html" };


static void rb_add(rbuf_t *b, const char *s, size_t n);
static void rb_printf(rbuf_t *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void rb_esc(rbuf_t *b, const char *s);
static void rb_csv(rbuf_t *b, const char *s, int last);
static void rb_csv_uint(rbuf_t *b, const jtree_t *v, int last);
static const char *rb_str(const jtree_t *v, const char *key);
static uint64_t rb_uint(const jtree_t *v, const char *key);
static char *report_emit(const jtree_t *v, size_t *len);

static int report_data(comply_t *c, const report_req_t *req, uint64_t id,
    uint64_t now, json_t *j);
static int report_compliance(comply_t *c, const report_req_t *req,
    json_t *j);
static int report_history(MDB_txn *txn, MDB_dbi dbi, uint64_t since,
    uint64_t until, const char *at_key, json_t *j);
static int report_audits(comply_t *c, const report_req_t *req, json_t *j);
static int report_audit_item(void *ctx, const audit_t *a);
static int report_metrics(comply_t *c, const report_req_t *req, json_t *j);
static int report_alert_counts(store_t *st, MDB_txn *txn,
    const report_req_t *req, uint64_t alerts[5], uint64_t astatus[4]);
static int report_risk(comply_t *c, const report_req_t *req, json_t *j);

static void report_csv(rbuf_t *b, const jtree_t *doc, int type);
static void report_html(rbuf_t *b, const jtree_t *doc, int type);
static void html_compliance(rbuf_t *b, const jtree_t *d);
static void html_audit(rbuf_t *b, const jtree_t *d);
static void html_metrics(rbuf_t *b, const jtree_t *d);
static void html_risk(rbuf_t *b, const jtree_t *d);
static void svg_legend(rbuf_t *b, int x, int y, size_t n,
    const char *const *colors, const char *const *names);
static void svg_stacked(rbuf_t *b, const char *title, size_t n,
    const char *const *labels, const uint64_t (*values)[3],
    const char *const colors[3], const char *const names[3]);
static void svg_donut(rbuf_t *b, const uint64_t v[3],
    const char *const colors[3], const char *const names[3]);
static void svg_lines(rbuf_t *b, const char *title, size_t n,
    const char *const *labels, const uint64_t (*values)[3], size_t series,
    const char *const colors[3], const char *const names[3]);
static void svg_columns(rbuf_t *b, const char *title, size_t n,
    const char *const *labels, const uint64_t (*values)[4],
    const char *const colors[4], const char *const names[4]);
static void svg_heatmap(rbuf_t *b, const unsigned counts[5][5]);
static void svg_bars(rbuf_t *b, const char *title, size_t n,
    const char *const *labels, const uint64_t *values,
    const char *const *colors, uint64_t max);
static const char *level_color(const char *level);

static int report_split(const MDB_val *val, const uint8_t **meta,
    size_t *mlen, const uint8_t **file, size_t *flen);
static int report_value(store_t *st, MDB_txn *txn, uint64_t id,
    MDB_val *val);
static const char *report_content_type(int format);
static int report_local_key(comply_t *c, uint8_t seed[32], char *kid,
    uint8_t pub[REPORT_PUB_LEN]);
static int report_local_sign(const uint8_t seed[32], const uint8_t *msg,
    size_t len, uint8_t sig[REPORT_SIG_LEN], uint8_t pub[REPORT_PUB_LEN]);
static void report_hex(const uint8_t *p, size_t n, char *out);
static void report_b64(const uint8_t *p, size_t n, char *out);


const char *
report_type_name(int type)
{
    return (type >= REPORT_COMPLIANCE && type <= REPORT_RISK)
           ? report_types[type] : "unknown";
}


int
report_type_parse(const char *name)
{
    int  i;

    for (i = REPORT_COMPLIANCE; i <= REPORT_RISK; i++) {
        if (strcmp(name, report_types[i]) == 0) {
            return i;
        }
    }

    return -1;
}


const char *
report_format_name(int format)
{
    return (format >= REPORT_JSON && format <= REPORT_HTML)
           ? report_formats[format] : "unknown";
}


int
report_format_parse(const char *name)
{
    int  i;

    for (i = REPORT_JSON; i <= REPORT_HTML; i++) {
        if (strcmp(name, report_formats[i]) == 0) {
            return i;
        }
    }

    return -1;
}


static const char *
report_content_type(int format)
{
    switch (format) {

    case REPORT_CSV:
        return "text/csv; charset=utf-8";

    case REPORT_HTML:
        return "text/html; charset=utf-8";

    default:
        return "application/json";
    }
}


/* ---- the text buffer ---- */


static void
rb_add(rbuf_t *b, const char *s, size_t n)
{
    if (b->failed) {
        return;
    }

    if (b->len + n > REPORT_FILE_MAX
        || comply_buf_add(&b->p, &b->len, &b->size, s, n) == -1)
    {
        b->failed = 1;
    }
}


/* a short text goes through the stack, a longer one (the page's head) not */

static void
rb_printf(rbuf_t *b, const char *fmt, ...)
{
    int      n;
    char     buf[1024], *p;
    va_list  ap;

    va_start(ap, fmt);
    n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);

    if (n < 0) {
        b->failed = 1;
        return;
    }

    if ((size_t) n < sizeof(buf)) {
        rb_add(b, buf, (size_t) n);
        return;
    }

    p = malloc((size_t) n + 1);
    if (p == NULL) {
        b->failed = 1;
        return;
    }

    va_start(ap, fmt);
    vsnprintf(p, (size_t) n + 1, fmt, ap);
    va_end(ap);

    rb_add(b, p, (size_t) n);

    free(p);
}


/* text for HTML and SVG, bytes that are not plain text escaped */

static void
rb_esc(rbuf_t *b, const char *s)
{
    const char  *p, *run;

    if (s == NULL) {
        return;
    }

    for (p = run = s; *p; p++) {
        const char  *e;

        switch (*p) {

        case '&':
            e = "&amp;";
            break;

        case '<':
            e = "&lt;";
            break;

        case '>':
            e = "&gt;";
            break;

        case '"':
            e = "&quot;";
            break;

        case '\'':
            e = "&#39;";
            break;

        default:
            continue;
        }

        rb_add(b, run, (size_t) (p - run));
        rb_add(b, e, strlen(e));
        run = p + 1;
    }

    rb_add(b, run, (size_t) (p - run));
}


/*
 * one CSV field (RFC 4180): quoted when it holds a comma, a quote or a
 * line break, quotes doubled; a field that a spreadsheet would take for a
 * formula (= + - @ first) gets a "'" before it
 */

static void
rb_csv(rbuf_t *b, const char *s, int last)
{
    const char  *p;

    s = s ? s : "";

    if (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@') {
        rb_lit(b, "\"'");

    } else if (strpbrk(s, ",\"\r\n") != NULL) {
        rb_lit(b, "\"");

    } else {
        rb_add(b, s, strlen(s));
        rb_add(b, last ? "\r\n" : ",", last ? 2 : 1);
        return;
    }

    for (p = s; *p; p++) {
        rb_add(b, p, 1);

        if (*p == '"') {
            rb_lit(b, "\"");
        }
    }

    rb_lit(b, "\"");
    rb_add(b, last ? "\r\n" : ",", last ? 2 : 1);
}


static void
rb_csv_uint(rbuf_t *b, const jtree_t *v, int last)
{
    char     buf[24];
    int64_t  n;

    if (jtree_int(v, &n) == 0) {
        snprintf(buf, sizeof(buf), "%lld", (long long) n);
        rb_csv(b, buf, last);

    } else {
        rb_csv(b, "", last);
    }
}


static const char *
rb_str(const jtree_t *v, const char *key)
{
    const char  *s;

    s = jtree_get_string(v, key);

    return s ? s : "";
}


static uint64_t
rb_uint(const jtree_t *v, const char *key)
{
    int64_t  n;

    return (jtree_int(jtree_get(v, key), &n) == 0 && n > 0)
           ? (uint64_t) n : 0;
}


/* v as compact JSON text, malloc()ed */

static char *
report_emit(const jtree_t *v, size_t *len)
{
    char           *p;
    json_t         *j;
    const uint8_t  *buf;

    j = json_new();
    if (j == NULL) {
        return NULL;
    }

    jtree_emit(j, v);

    p = NULL;

    if (json_result(j, &buf, len) == 0) {
        p = malloc(*len + 1);

        if (p) {
            memcpy(p, buf, *len);
            p[*len] = '\0';
        }
    }

    json_free(j);

    return p;
}


/* ---- making a report ---- */


int
report_create(comply_t *c, report_req_t *req, json_t *meta)
{
    int              rc;
    char             err[64], tbuf[TIME_STR_MAX], hex[65], b64[100],
                     pub64[64], name[96];
    size_t           dlen, signed_len, mlen;
    uint8_t          digest[SHA256_DIGEST_LENGTH], lenb[4];
    rbuf_t           file, value;
    json_t          *j, *m;
    jtree_t         *doc;
    MDB_txn         *txn;
    uint64_t         id, now;
    report_sig_t     sig;
    const uint8_t   *dbuf, *mbuf;

    memset(&file, 0, sizeof(rbuf_t));
    memset(&value, 0, sizeof(rbuf_t));

    j = NULL;
    m = NULL;
    doc = NULL;

    now = comply_now();

    /*
     * the id first, so that the report can name itself
     * XXX a report that fails after this leaves a gap in the ids
     */

    rc = store_txn_begin(c->own, 0, &txn);
    if (rc != 0) {
        goto failed;
    }

    rc = comply_next_id(c->own, txn, REPORT_META_NEXT, &id);
    if (rc != 0) {
        mdb_txn_abort(txn);
        goto failed;
    }

    rc = mdb_txn_commit(txn);
    if (rc != 0) {
        goto failed;
    }

    req->id = id;

    j = json_new();
    if (j == NULL) {
        rc = ENOMEM;
        goto failed;
    }

    rc = report_data(c, req, id, now, j);
    if (rc != 0) {
        goto failed;
    }

    if (json_result(j, &dbuf, &dlen) != 0) {
        log_warnx("report %llu: %s", (unsigned long long) id, json_error(j));
        rc = -1;
        goto failed;
    }

    if (req->format == REPORT_JSON) {
        rb_add(&file, (const char *) dbuf, dlen);

    } else {
        doc = jtree_parse((const char *) dbuf, dlen, err, sizeof(err));
        if (doc == NULL) {
            log_warnx("report %llu: %s", (unsigned long long) id, err);
            rc = -1;
            goto failed;
        }

        if (req->format == REPORT_CSV) {
            report_csv(&file, doc, req->type);

        } else {
            report_html(&file, doc, req->type);
        }
    }

    if (file.failed) {
        log_warnx("report %llu: out of memory, or larger than %d bytes",
                  (unsigned long long) id, REPORT_FILE_MAX);
        rc = -1;
        goto failed;
    }

    signed_len = file.len;

    SHA256((const uint8_t *) file.p, signed_len, digest);

    if (report_sign(c, digest, &sig) != 0) {
        rc = -1;
        goto failed;
    }

    report_hex(digest, sizeof(digest), hex);
    report_b64(sig.sig, REPORT_SIG_LEN, b64);
    report_b64(sig.pub, REPORT_PUB_LEN, pub64);

    /* the page shows its own signature after what it signs */

    if (req->format == REPORT_HTML) {
        rb_printf(&file, "<footer><h2>Signature</h2><dl>"
                  "<dt>Report</dt><dd>%llu</dd>"
                  "<dt>SHA-256 of the first %zu bytes</dt>"
                  "<dd><code>%s</code></dd>"
                  "<dt>Ed25519 signature</dt><dd><code>%s</code></dd>"
                  "<dt>Key id</dt><dd><code>%s</code> (%s)</dd>"
                  "<dt>Public key</dt><dd><code>%s</code></dd></dl>"
                  "<p>The signed bytes are this page up to and including "
                  "the keryu-signature comment line.</p></footer>\n"
                  "</body>\n</html>\n",
                  (unsigned long long) id, signed_len, hex, b64, sig.kid,
                  sig.signer, pub64);

        if (file.failed) {
            rc = -1;
            goto failed;
        }
    }

    snprintf(name, sizeof(name), "keryu-%s-%llu.%s",
             report_type_name(req->type), (unsigned long long) id,
             report_format_name(req->format));

    m = json_new();
    if (m == NULL) {
        rc = ENOMEM;
        goto failed;
    }

    json_map_open(m);
    json_key(m, "id");
    json_uint(m, id);
    json_key(m, "report_type");
    json_cstring(m, report_type_name(req->type));
    json_key(m, "format");
    json_cstring(m, report_format_name(req->format));
    json_key(m, "since");
    json_string(m, (uint8_t *) tbuf, time_format(req->since_us, tbuf));
    json_key(m, "until");
    json_string(m, (uint8_t *) tbuf, time_format(req->until_us, tbuf));

    if (req->type == REPORT_AUDIT && req->audit_id) {
        json_key(m, "audit_id");
        json_uint(m, req->audit_id);
    }

    json_key(m, "created_at");
    json_string(m, (uint8_t *) tbuf, time_format(now, tbuf));
    json_key(m, "created_by");
    json_cstring(m, req->actor ? req->actor : "keryud");
    json_key(m, "content_type");
    json_cstring(m, report_content_type(req->format));
    json_key(m, "filename");
    json_cstring(m, name);
    json_key(m, "bytes");
    json_uint(m, file.len);
    json_key(m, "signed_bytes");
    json_uint(m, signed_len);
    json_key(m, "sha256");
    json_cstring(m, hex);
    json_key(m, "signature");
    json_map_open(m);
    json_key(m, "algorithm");
    json_cstring(m, "Ed25519");
    json_key(m, "signed");
    json_cstring(m, "sha256");
    json_key(m, "key_id");
    json_cstring(m, sig.kid);
    json_key(m, "signer");
    json_cstring(m, sig.signer);
    json_key(m, "public_key");
    json_cstring(m, pub64);
    json_key(m, "value");
    json_cstring(m, b64);
    json_map_close(m);
    json_map_close(m);

    if (json_result(m, &mbuf, &mlen) != 0) {
        log_warnx("report %llu: %s", (unsigned long long) id, json_error(m));
        rc = -1;
        goto failed;
    }

    lenb[0] = (uint8_t) mlen;
    lenb[1] = (uint8_t) (mlen >> 8);
    lenb[2] = (uint8_t) (mlen >> 16);
    lenb[3] = (uint8_t) (mlen >> 24);

    rb_add(&value, (const char *) lenb, 4);
    rb_add(&value, (const char *) mbuf, mlen);
    rb_add(&value, file.p, file.len);

    if (value.failed) {
        rc = -1;
        goto failed;
    }

    rc = store_txn_begin(c->own, 0, &txn);
    if (rc != 0) {
        goto failed;
    }

    if ((rc = comply_trim(txn, c->own->reports, REPORT_KEEP))
        || (rc = comply_put(txn, c->own->reports, id, value.p, value.len)))
    {
        mdb_txn_abort(txn);
        goto failed;
    }

    rc = mdb_txn_commit(txn);
    if (rc != 0) {
        goto failed;
    }

    json_details(meta, mbuf, mlen);

    log_info("report %llu: %s as %s, %zu bytes, signed with key %s (%s), "
             "by \"%s\"", (unsigned long long) id,
             report_type_name(req->type), report_format_name(req->format),
             file.len, sig.kid, sig.signer,
             req->actor ? req->actor : "keryud");

    rc = 0;

failed:

    if (rc != 0 && rc != MDB_NOTFOUND && rc != -1) {
        log_warnx("report: %s", mdb_strerror(rc));
    }

    jtree_free(doc);
    json_free(j);
    json_free(m);
    free(file.p);
    free(value.p);

    return rc;
}


static int
report_data(comply_t *c, const report_req_t *req, uint64_t id, uint64_t now,
    json_t *j)
{
    int   rc;
    char  tbuf[TIME_STR_MAX];

    json_map_open(j);
    json_key(j, "report");
    json_map_open(j);
    json_key(j, "id");
    json_uint(j, id);
    json_key(j, "type");
    json_cstring(j, report_type_name(req->type));
    json_key(j, "generated_at");
    json_string(j, (uint8_t *) tbuf, time_format(now, tbuf));
    json_key(j, "generated_by");
    json_cstring(j, req->actor ? req->actor : "keryud");
    json_key(j, "since");
    json_string(j, (uint8_t *) tbuf, time_format(req->since_us, tbuf));
    json_key(j, "until");
    json_string(j, (uint8_t *) tbuf, time_format(req->until_us, tbuf));
    json_map_close(j);

    switch (req->type) {

    case REPORT_COMPLIANCE:
        rc = report_compliance(c, req, j);
        break;

    case REPORT_AUDIT:
        rc = report_audits(c, req, j);
        break;

    case REPORT_METRICS:
        rc = report_metrics(c, req, j);
        break;

    default:
        rc = report_risk(c, req, j);
        break;
    }

    json_map_close(j);

    return rc;
}


/* the controls as they are now, and the stored runs of the period */

static int
report_compliance(comply_t *c, const report_req_t *req, json_t *j)
{
    int           rc;
    MDB_txn      *txn;
    evidence_t    ev;
    comply_run_t  run;

    if (comply_evaluate_now(c, &run, &ev) == -1) {
        return -1;
    }

    evidence_free(&ev);

    json_key(j, "compliance");
    comply_run_json(j, c->cat, &run, -1);

    comply_run_free(&run);

    rc = store_txn_begin(c->own, MDB_RDONLY, &txn);
    if (rc != 0) {
        return rc;
    }

    json_key(j, "history");
    rc = report_history(txn, c->own->compliance, req->since_us,
                        req->until_us, "evaluated_at", j);

    mdb_txn_abort(txn);

    return rc;
}


/*
 * [{"at", "passed", "warned", "failed"}] of the stored runs of the
 * period, or [{"at", "total"}] of the assessments, oldest first
 */

static int
report_history(MDB_txn *txn, MDB_dbi dbi, uint64_t since, uint64_t until,
    const char *at_key, json_t *j)
{
    int           rc;
    char          err[64];
    MDB_val       key, val;
    jtree_t      *t, *sum;
    uint64_t      at;
    MDB_cursor   *cur;
    const char   *s;

    rc = mdb_cursor_open(txn, dbi, &cur);
    if (rc != 0) {
        return rc;
    }

    json_array_open(j);

    for (rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST);
         rc == 0;
         rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT))
    {
        t = jtree_parse(val.mv_data, val.mv_size, err, sizeof(err));
        s = jtree_get_string(t, at_key);

        if (s == NULL || time_parse(s, &at) != 0 || at < since
            || at >= until)
        {
            jtree_free(t);
            continue;
        }

        json_map_open(j);
        json_key(j, "at");
        json_cstring(j, s);

        sum = jtree_get(t, "summary");

        if (sum) {
            json_key(j, "passed");
            json_uint(j, rb_uint(sum, "passed"));
            json_key(j, "warned");
            json_uint(j, rb_uint(sum, "warned"));
            json_key(j, "failed");
            json_uint(j, rb_uint(sum, "failed"));

        } else {
            json_key(j, "total");
            json_uint(j, rb_uint(t, "total"));
        }

        json_map_close(j);

        jtree_free(t);
    }

    json_array_close(j);
    mdb_cursor_close(cur);

    return rc == MDB_NOTFOUND ? 0 : rc;
}


typedef struct {
    json_t             *json;
} report_audit_ctx_t;


static int
report_audits(comply_t *c, const report_req_t *req, json_t *j)
{
    int                  rc;
    audit_t              a;
    MDB_txn             *txn;
    report_audit_ctx_t   ctx;

    rc = store_txn_begin(c->own, MDB_RDONLY, &txn);
    if (rc != 0) {
        return rc;
    }

    json_key(j, "audits");
    json_array_open(j);

    if (req->audit_id) {
        rc = audit_get(c->own, txn, req->audit_id, &a);

        if (rc == 0) {
            audit_json(j, &a, AUDIT_JSON_FULL);
            audit_free(&a);
        }

    } else {
        ctx.json = j;
        rc = audit_list(c->own, txn, AUDIT_LIST_MAX, report_audit_item,
                        &ctx);
    }

    json_array_close(j);

    mdb_txn_abort(txn);

    return rc == AUDIT_EDECODE ? -1 : rc;
}


static int
report_audit_item(void *ctx, const audit_t *a)
{
    report_audit_ctx_t  *ac = ctx;

    audit_json(ac->json, a, AUDIT_JSON_FULL);

    return 0;
}


/* records of the period by type, per day; alerts raised in it */

static int
report_metrics(comply_t *c, const report_req_t *req, json_t *j)
{
    int              rc, truncated;
    char             day[16];
    size_t           d, ndays, t;
    time_t           secs;
    uint8_t          kbuf[8];
    MDB_val          key, val, lkey, lval;
    MDB_txn         *txn;
    uint64_t         scanned, at, total[KERYU_EVENT_MAX], sum;
    uint64_t       (*days)[KERYU_EVENT_MAX];
    uint64_t         alerts[5], astatus[4];
    unsigned         i;
    MDB_cursor      *cur;
    struct tm        tm;
    keryu_record_t   rec;

    ndays = (size_t) ((req->until_us - req->since_us + 86399999999ULL)
                      / 86400000000ULL);
    ndays = ndays ? ndays : 1;

    days = calloc(ndays, sizeof(*days));
    if (days == NULL) {
        return ENOMEM;
    }

    memset(total, 0, sizeof(total));
    memset(alerts, 0, sizeof(alerts));
    memset(astatus, 0, sizeof(astatus));

    rc = store_txn_begin(c->own, MDB_RDONLY, &txn);
    if (rc != 0) {
        free(days);
        return rc;
    }

    rc = mdb_cursor_open(txn, c->own->by_time, &cur);
    if (rc != 0) {
        goto txn_abort;
    }

    keryu_store_key_encode(kbuf, req->since_us);

    key.mv_size = 8;
    key.mv_data = kbuf;
    scanned = 0;
    truncated = 0;

    for (rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);
         rc == 0;
         rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT))
    {
        if (key.mv_size != 8 || val.mv_size != 8) {
            rc = MDB_CORRUPTED;
            break;
        }

        at = keryu_store_key_decode(key.mv_data);

        if (at >= req->until_us) {
            break;
        }

        if (++scanned > REPORT_SCAN_MAX) {
            truncated = 1;
            break;
        }

        lkey = val;

        if (mdb_get(txn, c->own->logs, &lkey, &lval) != 0
            || keryu_record_decode(&rec, lval.mv_data, lval.mv_size) != 0
            || rec.type >= KERYU_EVENT_MAX)
        {
            continue;
        }

        d = (size_t) ((at - req->since_us) / 86400000000ULL);

        if (d < ndays) {
            days[d][rec.type]++;
        }

        total[rec.type]++;
    }

    mdb_cursor_close(cur);

    if (rc != 0 && rc != MDB_NOTFOUND) {
        goto txn_abort;
    }

    rc = report_alert_counts(c->own, txn, req, alerts, astatus);
    if (rc != 0) {
        goto txn_abort;
    }

    json_key(j, "metrics");
    json_map_open(j);

    json_key(j, "records_read");
    json_uint(j, scanned > REPORT_SCAN_MAX ? REPORT_SCAN_MAX : scanned);
    json_key(j, "truncated");
    json_bool(j, truncated);

    sum = 0;

    json_key(j, "events");
    json_map_open(j);

    for (t = 0; t < KERYU_EVENT_MAX; t++) {
        json_key(j, keryu_event_name((unsigned) t));
        json_uint(j, total[t]);
        sum += total[t];
    }

    json_map_close(j);

    json_key(j, "total");
    json_uint(j, sum);

    json_key(j, "days");
    json_array_open(j);

    for (d = 0; d < ndays; d++) {
        secs = (time_t) ((req->since_us / 1000000) + d * 86400);

        if (gmtime_r(&secs, &tm) == NULL) {
            continue;
        }

        strftime(day, sizeof(day), "%Y-%m-%d", &tm);

        json_map_open(j);
        json_key(j, "date");
        json_cstring(j, day);

        for (t = 0; t < KERYU_EVENT_MAX; t++) {
            json_key(j, keryu_event_name((unsigned) t));
            json_uint(j, days[d][t]);
        }

        json_map_close(j);
    }

    json_array_close(j);

    json_key(j, "alerts");
    json_map_open(j);
    json_key(j, "by_severity");
    json_map_open(j);

    for (i = KERYU_SEVERITY_LOW; i <= KERYU_SEVERITY_CRITICAL; i++) {
        json_key(j, keryu_severity_name((int) i));
        json_uint(j, alerts[i]);
    }

    json_map_close(j);
    json_key(j, "by_status");
    json_map_open(j);

    for (i = ALERT_OPEN; i <= ALERT_RESOLVED; i++) {
        json_key(j, alert_status_name((int) i));
        json_uint(j, astatus[i]);
    }

    json_map_close(j);
    json_map_close(j);
    json_map_close(j);

txn_abort:

    mdb_txn_abort(txn);
    free(days);

    return rc == MDB_NOTFOUND ? 0 : rc;
}


/* alerts opened in the period, by severity and by status */

static int
report_alert_counts(store_t *st, MDB_txn *txn, const report_req_t *req,
    uint64_t alerts[5], uint64_t astatus[4])
{
    int          rc;
    size_t       n;
    alert_t      a;
    MDB_val      key, val;
    MDB_cursor  *cur;

    rc = mdb_cursor_open(txn, st->alerts, &cur);
    if (rc != 0) {
        return rc;
    }

    n = 0;

    /* newest first, until one opened before the period */

    for (rc = mdb_cursor_get(cur, &key, &val, MDB_LAST);
         rc == 0 && n < REPORT_ALERTS_MAX;
         rc = mdb_cursor_get(cur, &key, &val, MDB_PREV), n++)
    {
        if (key.mv_size != 8
            || alert_get(st, txn, keryu_store_key_decode(key.mv_data), &a)
               != ALERT_OK)
        {
            continue;
        }

        if (a.created_us < req->since_us) {
            alert_free(&a);
            break;
        }

        if (a.created_us < req->until_us) {
            if (a.severity >= KERYU_SEVERITY_LOW
                && a.severity <= KERYU_SEVERITY_CRITICAL)
            {
                alerts[a.severity]++;
            }

            if (a.status >= ALERT_OPEN && a.status <= ALERT_RESOLVED) {
                astatus[a.status]++;
            }
        }

        alert_free(&a);
    }

    mdb_cursor_close(cur);

    return (rc == 0 || rc == MDB_NOTFOUND) ? 0 : rc;
}


/* the newest assessment, and the totals of those of the period */

static int
report_risk(comply_t *c, const report_req_t *req, json_t *j)
{
    int       rc;
    char     *doc;
    size_t    len;
    MDB_txn  *txn;

    rc = store_txn_begin(c->own, MDB_RDONLY, &txn);
    if (rc != 0) {
        return rc;
    }

    doc = risk_latest(c->own, txn, &len, &rc);

    json_key(j, "risk");

    if (doc) {
        json_details(j, (const uint8_t *) doc, len);
        free(doc);

    } else {
        json_null(j);
    }

    if (rc == 0) {
        json_key(j, "history");
        rc = report_history(txn, c->own->risk, req->since_us, req->until_us,
                            "assessed_at", j);
    }

    mdb_txn_abort(txn);

    return rc;
}


/* ---- CSV ---- */


static void
report_csv(rbuf_t *b, const jtree_t *doc, int type)
{
    size_t          i, k, n, len;
    char           *ev, buf[4096];
    jtree_t        *list, *row, *m, *refs, *audits, *a, *fl, *f, *locs;
    const char     *std;

    static const char  *stds[] = { "gdpr", "hipaa", "pci_dss_4",
                                   "iso27001_2022", "nis2", "dora", NULL };

    switch (type) {

    case REPORT_COMPLIANCE:
        rb_lit(b, "control,title,severity,status,remediation");

        for (i = 0; stds[i]; i++) {
            rb_printf(b, ",%s", stds[i]);
        }

        rb_lit(b, ",evidence\r\n");

        list = jtree_get(jtree_get(doc, "compliance"), "controls");

        for (i = 0; i < jtree_len(list); i++) {
            row = jtree_at(list, i);

            rb_csv(b, rb_str(row, "id"), 0);
            rb_csv(b, rb_str(row, "title"), 0);
            rb_csv(b, rb_str(row, "severity"), 0);
            rb_csv(b, rb_str(row, "status"), 0);
            rb_csv(b, rb_str(row, "remediation"), 0);

            m = jtree_get(row, "mappings");

            for (k = 0; stds[k]; k++) {
                refs = jtree_get(m, stds[k]);
                buf[0] = '\0';
                len = 0;

                for (n = 0; n < jtree_len(refs); n++) {
                    std = jtree_string(jtree_at(refs, n));

                    if (std && len + strlen(std) + 3 < sizeof(buf)) {
                        len += (size_t) snprintf(buf + len,
                                                 sizeof(buf) - len, "%s%s",
                                                 n ? "; " : "", std);
                    }
                }

                rb_csv(b, buf, 0);
            }

            ev = report_emit(jtree_get(row, "evidence"), &len);
            rb_csv(b, ev ? ev : "{}", 1);
            free(ev);
        }

        break;

    case REPORT_AUDIT:
        rb_printf(b, "audit,name,scope,finding,control,title,severity,"
                  "result,status,first_seen,last_seen,remediation,note\r\n");

        audits = jtree_get(doc, "audits");

        for (i = 0; i < jtree_len(audits); i++) {
            a = jtree_at(audits, i);
            fl = jtree_get(a, "findings");

            for (k = 0; k < jtree_len(fl); k++) {
                f = jtree_at(fl, k);

                rb_csv_uint(b, jtree_get(a, "id"), 0);
                rb_csv(b, rb_str(a, "name"), 0);
                rb_csv(b, rb_str(a, "scope"), 0);
                rb_csv_uint(b, jtree_get(f, "id"), 0);
                rb_csv(b, rb_str(f, "control"), 0);
                rb_csv(b, rb_str(f, "title"), 0);
                rb_csv(b, rb_str(f, "severity"), 0);
                rb_csv(b, rb_str(f, "result"), 0);
                rb_csv(b, rb_str(f, "status"), 0);
                rb_csv(b, rb_str(f, "first_seen"), 0);
                rb_csv(b, rb_str(f, "last_seen"), 0);
                rb_csv(b, rb_str(f, "remediation"), 0);
                rb_csv(b, rb_str(f, "note"), 1);
            }
        }

        break;

    case REPORT_METRICS:
        rb_lit(b, "date");

        for (i = 0; i < KERYU_EVENT_MAX; i++) {
            rb_printf(b, ",%s", keryu_event_name((unsigned) i));
        }

        rb_lit(b, ",total\r\n");

        list = jtree_get(jtree_get(doc, "metrics"), "days");

        for (i = 0; i < jtree_len(list); i++) {
            uint64_t  sum;

            row = jtree_at(list, i);
            sum = 0;

            rb_csv(b, rb_str(row, "date"), 0);

            for (k = 0; k < KERYU_EVENT_MAX; k++) {
                rb_csv_uint(b, jtree_get(row, keryu_event_name((unsigned) k)),
                            0);
                sum += rb_uint(row, keryu_event_name((unsigned) k));
            }

            rb_printf(b, "%llu\r\n", (unsigned long long) sum);
        }

        break;

    default:
        rb_printf(b, "rank,control,title,status,severity,likelihood,impact,"
                  "score,level,trend,previous_score,locations,"
                  "remediation\r\n");

        list = jtree_get(jtree_get(doc, "risk"), "risks");

        for (i = 0; i < jtree_len(list); i++) {
            row = jtree_at(list, i);

            rb_csv_uint(b, jtree_get(row, "rank"), 0);
            rb_csv(b, rb_str(row, "control"), 0);
            rb_csv(b, rb_str(row, "title"), 0);
            rb_csv(b, rb_str(row, "status"), 0);
            rb_csv(b, rb_str(row, "severity"), 0);
            rb_csv_uint(b, jtree_get(row, "likelihood"), 0);
            rb_csv_uint(b, jtree_get(row, "impact"), 0);
            rb_csv_uint(b, jtree_get(row, "score"), 0);
            rb_csv(b, rb_str(row, "level"), 0);
            rb_csv(b, rb_str(row, "trend"), 0);
            rb_csv_uint(b, jtree_get(row, "previous_score"), 0);

            locs = jtree_get(row, "locations");
            buf[0] = '\0';
            len = 0;

            for (k = 0; k < jtree_len(locs); k++) {
                std = jtree_string(jtree_at(locs, k));

                if (std && len + strlen(std) + 3 < sizeof(buf)) {
                    len += (size_t) snprintf(buf + len, sizeof(buf) - len,
                                             "%s%s", k ? "; " : "", std);
                }
            }

            rb_csv(b, buf, 0);
            rb_csv(b, rb_str(row, "remediation"), 1);
        }

        break;
    }
}


/* ---- HTML ---- */


static const char  report_css[] =
    "body{font:14px/1.45 -apple-system,'Segoe UI',Helvetica,Arial,"
    "sans-serif;color:#1c2430;margin:0;background:#f4f6f8}"
    "header{background:#1c2430;color:#fff;padding:24px 40px}"
    "header h1{margin:0 0 4px;font-size:24px}"
    "header p{margin:0;color:#c5ccd6}"
    "main{padding:24px 40px;max-width:1100px}"
    "section{background:#fff;border:1px solid #dde2e8;border-radius:6px;"
    "padding:16px 20px;margin:0 0 20px}"
    "h2{font-size:18px;margin:0 0 12px}"
    "table{border-collapse:collapse;width:100%;font-size:13px}"
    "th,td{text-align:left;vertical-align:top;padding:6px 8px;"
    "border-bottom:1px solid #e6e9ee}"
    "th{background:#eef1f5}"
    ".pass{color:#2e7d32;font-weight:600}.warn{color:#a66f00;"
    "font-weight:600}.fail{color:#c62828;font-weight:600}"
    ".badge{display:inline-block;padding:1px 8px;border-radius:10px;"
    "color:#fff;font-size:12px}"
    ".charts{display:flex;flex-wrap:wrap;gap:20px;align-items:flex-start}"
    "svg{background:#fff}svg text{font:12px Helvetica,Arial,sans-serif;"
    "fill:#1c2430}"
    "code{font-size:12px;word-break:break-all}"
    "footer{padding:16px 40px 40px;color:#4a5563;font-size:12px}"
    "footer dt{font-weight:600;margin-top:6px}footer dd{margin:0}"
    "@media print{body{background:#fff}section{break-inside:avoid}}";


static void
report_html(rbuf_t *b, const jtree_t *doc, int type)
{
    const jtree_t  *r;

    static const char  *titles[] = { NULL, "Compliance report",
                                     "Audit report", "Security metrics "
                                     "report", "Risk register" };

    r = jtree_get(doc, "report");

    rb_printf(b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n"
              "<meta charset=\"utf-8\">\n<title>Keryu %s %llu</title>\n"
              "<style>%s</style>\n</head>\n<body>\n",
              titles[type], (unsigned long long) rb_uint(r, "id"),
              report_css);

    rb_printf(b, "<header><h1>Keryu Security: %s</h1><p>Report %llu, "
              "generated ", titles[type],
              (unsigned long long) rb_uint(r, "id"));
    rb_esc(b, rb_str(r, "generated_at"));
    rb_lit(b, " by ");
    rb_esc(b, rb_str(r, "generated_by"));
    rb_lit(b, "; period ");
    rb_esc(b, rb_str(r, "since"));
    rb_lit(b, " to ");
    rb_esc(b, rb_str(r, "until"));
    rb_lit(b, "</p></header>\n<main>\n");

    switch (type) {

    case REPORT_COMPLIANCE:
        html_compliance(b, doc);
        break;

    case REPORT_AUDIT:
        html_audit(b, doc);
        break;

    case REPORT_METRICS:
        html_metrics(b, doc);
        break;

    default:
        html_risk(b, doc);
        break;
    }

    rb_lit(b, "</main>\n");
    rb_lit(b, REPORT_MARKER);
}


static const char  *const status_colors[3] = { C_PASS, C_WARN, C_FAIL };
static const char  *const status_names[3] = { "passed", "warned",
                                              "failed" };


static void
html_compliance(rbuf_t *b, const jtree_t *doc)
{
    size_t           i, n, k;
    uint64_t         total[3], (*vals)[3];
    const char     **labels;
    const jtree_t   *comp, *stds, *s, *ctls, *ctl, *hist, *ev, *m;
    char            *evs;
    size_t           len;

    comp = jtree_get(doc, "compliance");
    stds = jtree_get(comp, "standards");
    n = jtree_len(stds);

    vals = calloc(n + 1, sizeof(*vals));
    labels = calloc(n + 1, sizeof(char *));

    if (vals == NULL || labels == NULL) {
        free(vals);
        free(labels);
        b->failed = 1;
        return;
    }

    s = jtree_get(comp, "summary");
    total[0] = rb_uint(s, "passed");
    total[1] = rb_uint(s, "warned");
    total[2] = rb_uint(s, "failed");

    rb_lit(b, "<section id=\"summary\"><h2>Summary</h2>");
    rb_printf(b, "<p>%llu controls: <span class=\"pass\">%llu passed</span>, "
              "<span class=\"warn\">%llu warned</span>, <span class=\"fail\">"
              "%llu failed</span>. Evaluated ",
              (unsigned long long) (total[0] + total[1] + total[2]),
              (unsigned long long) total[0], (unsigned long long) total[1],
              (unsigned long long) total[2]);
    rb_esc(b, rb_str(comp, "evaluated_at"));

    ev = jtree_get(comp, "evidence");

    if (jtree_bool(jtree_get(ev, "effective_config")) == 1) {
        rb_lit(b, " against nginx ");
        rb_esc(b, rb_str(ev, "nginx_version"));
        rb_lit(b, " as published ");
        rb_esc(b, rb_str(ev, "published_at"));

    } else {
        rb_lit(b, "; nginx has published no effective configuration, so "
               "the checks of nginx warn");
    }

    rb_lit(b, ".</p><div class=\"charts\">");

    svg_donut(b, total, status_colors, status_names);

    for (i = 0; i < n; i++) {
        s = jtree_at(stds, i);
        labels[i] = rb_str(s, "title")[0] ? rb_str(s, "title")
                                          : jtree_key_at(stds, i);
        vals[i][0] = rb_uint(s, "passed");
        vals[i][1] = rb_uint(s, "warned");
        vals[i][2] = rb_uint(s, "failed");
    }

    svg_stacked(b, "Controls by standard", n, labels,
                (const uint64_t (*)[3]) vals, status_colors, status_names);

    free(vals);
    free(labels);

    hist = jtree_get(doc, "history");
    n = jtree_len(hist);

    if (n > 1) {
        vals = calloc(n, sizeof(*vals));
        labels = calloc(n, sizeof(char *));

        if (vals && labels) {
            for (i = 0; i < n; i++) {
                s = jtree_at(hist, i);
                labels[i] = rb_str(s, "at");
                vals[i][0] = rb_uint(s, "passed");
                vals[i][1] = rb_uint(s, "warned");
                vals[i][2] = rb_uint(s, "failed");
            }

            svg_lines(b, "Runs in the period", n, labels,
                      (const uint64_t (*)[3]) vals, 3, status_colors,
                      status_names);
        }

        free(vals);
        free(labels);
    }

    rb_lit(b, "</div></section>\n");

    rb_lit(b, "<section id=\"standards\"><h2>Standards</h2><table><tr>"
           "<th>Standard</th><th>Status</th><th>Passed</th><th>Warned</th>"
           "<th>Failed</th></tr>");

    for (i = 0; i < jtree_len(stds); i++) {
        s = jtree_at(stds, i);

        rb_lit(b, "<tr><td>");
        rb_esc(b, rb_str(s, "title"));
        rb_printf(b, " (<code>%s</code>)</td><td class=\"%s\">%s</td>"
                  "<td>%llu</td><td>%llu</td><td>%llu</td></tr>",
                  jtree_key_at(stds, i), rb_str(s, "status"),
                  rb_str(s, "status"),
                  (unsigned long long) rb_uint(s, "passed"),
                  (unsigned long long) rb_uint(s, "warned"),
                  (unsigned long long) rb_uint(s, "failed"));
    }

    rb_lit(b, "</table></section>\n");

    rb_lit(b, "<section id=\"controls\"><h2>Controls</h2><table><tr>"
           "<th>Control</th><th>Status</th><th>What to change</th>"
           "<th>Mappings</th></tr>");

    ctls = jtree_get(comp, "controls");

    for (i = 0; i < jtree_len(ctls); i++) {
        ctl = jtree_at(ctls, i);

        rb_lit(b, "<tr><td><strong>");
        rb_esc(b, rb_str(ctl, "title"));
        rb_lit(b, "</strong><br><code>");
        rb_esc(b, rb_str(ctl, "id"));
        rb_lit(b, "</code> ");
        rb_esc(b, rb_str(ctl, "severity"));
        rb_lit(b, "<br>");
        rb_esc(b, rb_str(ctl, "text"));
        rb_printf(b, "</td><td class=\"%s\">", rb_str(ctl, "status"));
        rb_esc(b, rb_str(ctl, "status"));
        rb_lit(b, "</td><td>");
        rb_esc(b, rb_str(ctl, "remediation"));

        evs = report_emit(jtree_get(ctl, "evidence"), &len);

        if (evs) {
            rb_lit(b, "<br><code>");
            rb_esc(b, evs);
            rb_lit(b, "</code>");
            free(evs);
        }

        rb_lit(b, "</td><td>");

        m = jtree_get(ctl, "mappings");

        for (k = 0; k < jtree_len(m); k++) {
            size_t  r;

            rb_printf(b, "<code>%s</code>: ", jtree_key_at(m, k));

            for (r = 0; r < jtree_len(jtree_at(m, k)); r++) {
                if (r) {
                    rb_lit(b, ", ");
                }

                rb_esc(b, jtree_string(jtree_at(jtree_at(m, k), r)));
            }

            rb_lit(b, "<br>");
        }

        rb_lit(b, "</td></tr>\n");
    }

    rb_lit(b, "</table></section>\n");
}


static void
html_audit(rbuf_t *b, const jtree_t *doc)
{
    size_t           i, k, n;
    uint64_t       (*vals)[3];
    const char     **labels;
    const jtree_t   *audits, *a, *fl, *f, *s;

    static const char  *const colors[3] = { C_FAIL, C_WARN, C_PASS };
    static const char  *const names[3] = { "open", "accepted", "fixed" };

    audits = jtree_get(doc, "audits");
    n = jtree_len(audits);

    rb_lit(b, "<section id=\"summary\"><h2>Audits</h2>");

    if (n == 0) {
        rb_lit(b, "<p>No audit matches.</p></section>\n");
        return;
    }

    vals = calloc(n, sizeof(*vals));
    labels = calloc(n, sizeof(char *));

    if (vals && labels) {
        for (i = 0; i < n; i++) {
            a = jtree_at(audits, i);
            s = jtree_get(a, "summary");
            labels[i] = rb_str(a, "name");
            vals[i][0] = rb_uint(s, "open");
            vals[i][1] = rb_uint(s, "accepted");
            vals[i][2] = rb_uint(s, "fixed");
        }

        rb_lit(b, "<div class=\"charts\">");
        svg_stacked(b, "Findings by audit", n, labels,
                    (const uint64_t (*)[3]) vals, colors, names);
        rb_lit(b, "</div>");
    }

    free(vals);
    free(labels);

    rb_lit(b, "</section>\n");

    for (i = 0; i < n; i++) {
        a = jtree_at(audits, i);
        fl = jtree_get(a, "findings");

        rb_printf(b, "<section class=\"audit\"><h2>Audit %llu: ",
                  (unsigned long long) rb_uint(a, "id"));
        rb_esc(b, rb_str(a, "name"));
        rb_lit(b, "</h2><p>Scope <code>");
        rb_esc(b, rb_str(a, "scope"));
        rb_lit(b, "</code>, schedule ");
        rb_esc(b, rb_str(a, "schedule"));
        rb_lit(b, ", owner ");
        rb_esc(b, rb_str(a, "owner")[0] ? rb_str(a, "owner") : "none");
        rb_printf(b, ", %llu runs, last ",
                  (unsigned long long) rb_uint(a, "runs"));
        rb_esc(b, rb_str(a, "last_run_at")[0] ? rb_str(a, "last_run_at")
                                              : "never");
        rb_lit(b, ".</p><table><tr><th>#</th><th>Control</th><th>Result</th>"
               "<th>Status</th><th>Seen</th><th>What to change</th></tr>");

        for (k = 0; k < jtree_len(fl); k++) {
            f = jtree_at(fl, k);

            rb_printf(b, "<tr><td>%llu</td><td>",
                      (unsigned long long) rb_uint(f, "id"));
            rb_esc(b, rb_str(f, "title"));
            rb_lit(b, "<br><code>");
            rb_esc(b, rb_str(f, "control"));
            rb_printf(b, "</code></td><td class=\"%s\">",
                      rb_str(f, "result"));
            rb_esc(b, rb_str(f, "result"));
            rb_lit(b, "</td><td>");
            rb_esc(b, rb_str(f, "status"));
            rb_lit(b, "</td><td>");
            rb_esc(b, rb_str(f, "first_seen"));
            rb_lit(b, "<br>");
            rb_esc(b, rb_str(f, "last_seen"));
            rb_lit(b, "</td><td>");
            rb_esc(b, rb_str(f, "remediation"));

            if (rb_str(f, "note")[0]) {
                rb_lit(b, "<br><em>");
                rb_esc(b, rb_str(f, "note"));
                rb_lit(b, "</em>");
            }

            rb_lit(b, "</td></tr>\n");
        }

        rb_lit(b, "</table></section>\n");
    }
}


static void
html_metrics(rbuf_t *b, const jtree_t *doc)
{
    size_t           i, n, t;
    uint64_t       (*vals)[4], sev[4], other;
    const char     **labels;
    const jtree_t   *m, *days, *d, *evs, *al;

    static const char  *const colors[4] = { C_FAIL, C_HIGH, C_MEDIUM,
                                            "#90a4ae" };
    static const char  *const names[4] = { "auth_failure",
                                           "permission_denied",
                                           "input_rejected", "other" };
    static const char  *const sev_names[4] = { "low", "medium", "high",
                                               "critical" };
    static const char  *const sev_colors[4] = { C_LOW, C_MEDIUM, C_HIGH,
                                                C_CRITICAL };

    m = jtree_get(doc, "metrics");
    evs = jtree_get(m, "events");
    days = jtree_get(m, "days");
    n = jtree_len(days);

    rb_lit(b, "<section id=\"summary\"><h2>Events</h2>");
    rb_printf(b, "<p>%llu records in the period",
              (unsigned long long) rb_uint(m, "total"));

    if (jtree_bool(jtree_get(m, "truncated")) == 1) {
        rb_printf(b, " (only the first %llu were read)",
                  (unsigned long long) rb_uint(m, "records_read"));
    }

    rb_lit(b, ".</p><div class=\"charts\">");

    vals = calloc(n ? n : 1, sizeof(*vals));
    labels = calloc(n ? n : 1, sizeof(char *));

    if (vals && labels) {
        for (i = 0; i < n; i++) {
            d = jtree_at(days, i);
            labels[i] = rb_str(d, "date");
            vals[i][0] = rb_uint(d, "auth_failure");
            vals[i][1] = rb_uint(d, "permission_denied");
            vals[i][2] = rb_uint(d, "input_rejected");

            other = 0;

            for (t = 0; t < KERYU_EVENT_MAX; t++) {
                other += rb_uint(d, keryu_event_name((unsigned) t));
            }

            vals[i][3] = other - vals[i][0] - vals[i][1] - vals[i][2];
        }

        svg_columns(b, "Records per day", n, labels,
                    (const uint64_t (*)[4]) vals, colors, names);
    }

    free(vals);
    free(labels);

    al = jtree_get(jtree_get(m, "alerts"), "by_severity");

    for (i = 0; i < 4; i++) {
        sev[i] = rb_uint(al, sev_names[i]);
    }

    svg_bars(b, "Alerts raised, by severity", 4, sev_names, sev,
             sev_colors, 0);

    rb_lit(b, "</div><table><tr><th>Event type</th><th>Records</th></tr>");

    for (i = 0; i < jtree_len(evs); i++) {
        rb_lit(b, "<tr><td>");
        rb_esc(b, jtree_key_at(evs, i));
        rb_lit(b, "</td><td>");
        rb_printf(b, "%llu</td></tr>",
                  (unsigned long long) rb_uint(evs, jtree_key_at(evs, i)));
    }

    rb_lit(b, "</table></section>\n");
}


static void
html_risk(rbuf_t *b, const jtree_t *doc)
{
    size_t           i, n, k;
    int64_t          l, im;
    unsigned         counts[5][5];
    uint64_t        *scores;
    const char     **labels, **colors;
    const jtree_t   *r, *risks, *row, *locs, *closed;

    r = jtree_get(doc, "risk");

    rb_lit(b, "<section id=\"summary\"><h2>Register</h2>");

    if (jtree_type(r) != JTREE_OBJECT) {
        rb_lit(b, "<p>No assessment has been made yet.</p></section>\n");
        return;
    }

    risks = jtree_get(r, "risks");
    n = jtree_len(risks);

    rb_printf(b, "<p>Assessment %llu of ",
              (unsigned long long) rb_uint(r, "id"));
    rb_esc(b, rb_str(r, "assessed_at"));
    rb_printf(b, ": %zu risks, total score %llu, trend ", n,
              (unsigned long long) rb_uint(r, "total"));
    rb_esc(b, rb_str(r, "trend"));
    rb_lit(b, ". ");
    rb_esc(b, rb_str(r, "formula"));
    rb_lit(b, ".</p><div class=\"charts\">");

    memset(counts, 0, sizeof(counts));

    for (i = 0; i < n; i++) {
        row = jtree_at(risks, i);

        if (jtree_int(jtree_get(row, "likelihood"), &l) == 0
            && jtree_int(jtree_get(row, "impact"), &im) == 0
            && l >= 1 && l <= 5 && im >= 1 && im <= 5)
        {
            counts[l - 1][im - 1]++;
        }
    }

    svg_heatmap(b, (const unsigned (*)[5]) counts);

    k = n < 10 ? n : 10;

    scores = calloc(k ? k : 1, sizeof(uint64_t));
    labels = calloc(k ? k : 1, sizeof(char *));
    colors = calloc(k ? k : 1, sizeof(char *));

    if (scores && labels && colors) {
        for (i = 0; i < k; i++) {
            row = jtree_at(risks, i);
            scores[i] = rb_uint(row, "score");
            labels[i] = rb_str(row, "control");
            colors[i] = level_color(rb_str(row, "level"));
        }

        svg_bars(b, "Top risks by score", k, labels, scores, colors, 25);
    }

    free(scores);
    free(labels);
    free(colors);

    rb_lit(b, "</div></section>\n");

    rb_lit(b, "<section id=\"risks\"><h2>Risks</h2><table><tr><th>#</th>"
           "<th>Control</th><th>L</th><th>I</th><th>Score</th>"
           "<th>Trend</th><th>Locations</th><th>What to change</th></tr>");

    for (i = 0; i < n; i++) {
        row = jtree_at(risks, i);

        rb_printf(b, "<tr><td>%llu</td><td>",
                  (unsigned long long) rb_uint(row, "rank"));
        rb_esc(b, rb_str(row, "title"));
        rb_lit(b, "<br><code>");
        rb_esc(b, rb_str(row, "control"));
        rb_printf(b, "</code> <span class=\"%s\">", rb_str(row, "status"));
        rb_esc(b, rb_str(row, "status"));
        rb_printf(b, "</span></td><td>%llu</td><td>%llu</td><td><span "
                  "class=\"badge\" style=\"background:%s\">%llu ",
                  (unsigned long long) rb_uint(row, "likelihood"),
                  (unsigned long long) rb_uint(row, "impact"),
                  level_color(rb_str(row, "level")),
                  (unsigned long long) rb_uint(row, "score"));
        rb_esc(b, rb_str(row, "level"));
        rb_lit(b, "</span></td><td>");
        rb_esc(b, rb_str(row, "trend"));
        rb_lit(b, "</td><td>");

        locs = jtree_get(row, "locations");

        for (k = 0; k < jtree_len(locs); k++) {
            if (k) {
                rb_lit(b, ", ");
            }

            rb_lit(b, "<code>");
            rb_esc(b, jtree_string(jtree_at(locs, k)));
            rb_lit(b, "</code>");
        }

        rb_lit(b, "</td><td>");
        rb_esc(b, rb_str(row, "remediation"));
        rb_lit(b, "</td></tr>\n");
    }

    rb_lit(b, "</table>");

    closed = jtree_get(r, "closed");

    if (jtree_len(closed)) {
        rb_lit(b, "<p>Closed since the assessment before: ");

        for (i = 0; i < jtree_len(closed); i++) {
            if (i) {
                rb_lit(b, ", ");
            }

            rb_lit(b, "<code>");
            rb_esc(b, rb_str(jtree_at(closed, i), "control"));
            rb_lit(b, "</code>");
        }

        rb_lit(b, ".</p>");
    }

    rb_lit(b, "</section>\n");
}


static const char *
level_color(const char *level)
{
    return strcmp(level, "critical") == 0 ? C_CRITICAL
           : strcmp(level, "high") == 0 ? C_HIGH
           : strcmp(level, "medium") == 0 ? C_MEDIUM : C_LOW;
}


/* ---- charts ---- */


static void
svg_legend(rbuf_t *b, int x, int y, size_t n, const char *const *colors,
    const char *const *names)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        rb_printf(b, "<rect x=\"%d\" y=\"%d\" width=\"12\" height=\"12\" "
                  "fill=\"%s\"/><text x=\"%d\" y=\"%d\">", x, y - 10,
                  colors[i], x + 16, y);
        rb_esc(b, names[i]);
        rb_lit(b, "</text>");
        x += 24 + 8 * (int) strlen(names[i]);
    }
}


/* one horizontal bar per row, its three parts stacked */

static void
svg_stacked(rbuf_t *b, const char *title, size_t n,
    const char *const *labels, const uint64_t (*values)[3],
    const char *const colors[3], const char *const names[3])
{
    int       h, y, x, w;
    size_t    i, k;
    uint64_t  max, sum;

    h = 40 + (int) n * 28 + 30;
    max = 1;

    for (i = 0; i < n; i++) {
        sum = values[i][0] + values[i][1] + values[i][2];
        max = sum > max ? sum : max;
    }

    rb_printf(b, "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" "
              "role=\"img\" width=\"620\" height=\"%d\" viewBox=\"0 0 620 %d\">"
              "<title>", h, h);
    rb_esc(b, title);
    rb_lit(b, "</title><text x=\"10\" y=\"20\" font-weight=\"bold\">");
    rb_esc(b, title);
    rb_lit(b, "</text>");

    for (i = 0; i < n; i++) {
        y = 36 + (int) i * 28;
        x = 200;

        rb_printf(b, "<text x=\"10\" y=\"%d\">", y + 14);
        rb_esc(b, labels[i]);
        rb_lit(b, "</text>");

        for (k = 0; k < 3; k++) {
            w = (int) (values[i][k] * 360 / max);

            if (w == 0) {
                continue;
            }

            rb_printf(b, "<rect class=\"bar\" x=\"%d\" y=\"%d\" width=\"%d\" "
                      "height=\"18\" fill=\"%s\"><title>%s: %llu</title>"
                      "</rect>", x, y, w, colors[k], names[k],
                      (unsigned long long) values[i][k]);
            x += w;
        }

        rb_printf(b, "<text x=\"%d\" y=\"%d\">%llu / %llu / %llu</text>",
                  x + 6, y + 14, (unsigned long long) values[i][0],
                  (unsigned long long) values[i][1],
                  (unsigned long long) values[i][2]);
    }

    svg_legend(b, 200, h - 8, 3, colors, names);
    rb_lit(b, "</svg>");
}


static void
svg_donut(rbuf_t *b, const uint64_t v[3], const char *const colors[3],
    const char *const names[3])
{
    size_t    k;
    double    total, off, len, circ;

    total = (double) (v[0] + v[1] + v[2]);
    circ = 2 * 3.14159265358979 * 60;

    rb_lit(b, "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" "
           "role=\"img\" width=\"220\" height=\"220\" viewBox=\"0 0 220 220\">"
           "<title>Controls by status</title>");
    rb_lit(b, "<circle cx=\"110\" cy=\"100\" r=\"60\" fill=\"none\" "
           "stroke=\"#e6e9ee\" stroke-width=\"28\"/>");

    off = 0;

    for (k = 0; k < 3 && total > 0; k++) {
        len = circ * (double) v[k] / total;

        if (len <= 0) {
            continue;
        }

        rb_printf(b, "<circle class=\"slice\" cx=\"110\" cy=\"100\" r=\"60\" "
                  "fill=\"none\" stroke=\"%s\" stroke-width=\"28\" "
                  "stroke-dasharray=\"%.2f %.2f\" stroke-dashoffset=\"%.2f\" "
                  "transform=\"rotate(-90 110 100)\"><title>%s: %llu"
                  "</title></circle>", colors[k], len, circ - len, -off,
                  names[k], (unsigned long long) v[k]);
        off += len;
    }

    rb_printf(b, "<text x=\"110\" y=\"106\" text-anchor=\"middle\" "
              "font-size=\"20\" font-weight=\"bold\">%llu%%</text>",
              total > 0 ? (unsigned long long) (100 * v[0] / (v[0] + v[1]
                                                               + v[2]))
                        : 0ULL);
    rb_lit(b, "<text x=\"110\" y=\"185\" text-anchor=\"middle\">passed"
           "</text>");
    svg_legend(b, 10, 212, 3, colors, names);
    rb_lit(b, "</svg>");
}


static void
svg_lines(rbuf_t *b, const char *title, size_t n, const char *const *labels,
    const uint64_t (*values)[3], size_t series, const char *const colors[3],
    const char *const names[3])
{
    int       x, y;
    size_t    i, k;
    uint64_t  max;

    max = 1;

    for (i = 0; i < n; i++) {
        for (k = 0; k < series; k++) {
            max = values[i][k] > max ? values[i][k] : max;
        }
    }

    rb_lit(b, "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" "
           "role=\"img\" width=\"620\" height=\"240\" viewBox=\"0 0 620 240\">"
           "<title>");
    rb_esc(b, title);
    rb_lit(b, "</title><text x=\"10\" y=\"20\" font-weight=\"bold\">");
    rb_esc(b, title);
    rb_printf(b, "</text><line x1=\"50\" y1=\"200\" x2=\"600\" y2=\"200\" "
              "stroke=\"#8a94a3\"/><text x=\"10\" y=\"44\">%llu</text>"
              "<text x=\"10\" y=\"200\">0</text>",
              (unsigned long long) max);

    for (k = 0; k < series; k++) {
        rb_printf(b, "<polyline class=\"series\" fill=\"none\" stroke=\"%s\" "
                  "stroke-width=\"2\" points=\"", colors[k]);

        for (i = 0; i < n; i++) {
            x = 50 + (int) (i * 550 / (n > 1 ? n - 1 : 1));
            y = 200 - (int) (values[i][k] * 160 / max);
            rb_printf(b, "%s%d,%d", i ? " " : "", x, y);
        }

        rb_lit(b, "\"/>");
    }

    rb_lit(b, "<text x=\"50\" y=\"216\">");
    rb_esc(b, labels[0]);
    rb_lit(b, "</text><text x=\"600\" y=\"216\" text-anchor=\"end\">");
    rb_esc(b, labels[n - 1]);
    rb_lit(b, "</text>");

    svg_legend(b, 50, 236, series, colors, names);
    rb_lit(b, "</svg>");
}


/* one column per day, four series stacked */

static void
svg_columns(rbuf_t *b, const char *title, size_t n,
    const char *const *labels, const uint64_t (*values)[4],
    const char *const colors[4], const char *const names[4])
{
    int       x, y, w, h;
    size_t    i, k;
    uint64_t  max, sum;

    max = 1;

    for (i = 0; i < n; i++) {
        sum = values[i][0] + values[i][1] + values[i][2] + values[i][3];
        max = sum > max ? sum : max;
    }

    w = n ? 550 / (int) n : 550;
    w = w < 1 ? 1 : w;

    rb_lit(b, "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" "
           "role=\"img\" width=\"620\" height=\"260\" viewBox=\"0 0 620 260\">"
           "<title>");
    rb_esc(b, title);
    rb_lit(b, "</title><text x=\"10\" y=\"20\" font-weight=\"bold\">");
    rb_esc(b, title);
    rb_printf(b, "</text><line x1=\"50\" y1=\"210\" x2=\"600\" y2=\"210\" "
              "stroke=\"#8a94a3\"/><text x=\"10\" y=\"54\">%llu</text>",
              (unsigned long long) max);

    for (i = 0; i < n; i++) {
        x = 50 + (int) i * w;
        y = 210;

        for (k = 0; k < 4; k++) {
            h = (int) (values[i][k] * 160 / max);

            if (h == 0) {
                continue;
            }

            y -= h;

            rb_printf(b, "<rect class=\"bar\" x=\"%d\" y=\"%d\" width=\"%d\" "
                      "height=\"%d\" fill=\"%s\"><title>", x, y,
                      w > 2 ? w - 1 : w, h, colors[k]);
            rb_esc(b, labels[i]);
            rb_printf(b, " %s: %llu</title></rect>", names[k],
                      (unsigned long long) values[i][k]);
        }
    }

    if (n) {
        rb_lit(b, "<text x=\"50\" y=\"226\">");
        rb_esc(b, labels[0]);
        rb_lit(b, "</text><text x=\"600\" y=\"226\" text-anchor=\"end\">");
        rb_esc(b, labels[n - 1]);
        rb_lit(b, "</text>");
    }

    svg_legend(b, 50, 252, 4, colors, names);
    rb_lit(b, "</svg>");
}


/* likelihood up, impact across, each cell the risks in it */

static void
svg_heatmap(rbuf_t *b, const unsigned counts[5][5])
{
    int          l, i, score;
    const char  *color;

    rb_lit(b, "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" "
           "role=\"img\" width=\"330\" height=\"330\" viewBox=\"0 0 330 330\">"
           "<title>Risks by likelihood and impact</title>"
           "<text x=\"10\" y=\"20\" font-weight=\"bold\">Likelihood x "
           "impact</text>");

    for (l = 5; l >= 1; l--) {
        for (i = 1; i <= 5; i++) {
            score = l * i;
            color = score >= 20 ? C_CRITICAL : score >= 10 ? C_HIGH
                    : score >= 5 ? C_MEDIUM : C_LOW;

            rb_printf(b, "<rect class=\"cell\" x=\"%d\" y=\"%d\" width=\"50\" "
                      "height=\"50\" fill=\"%s\" fill-opacity=\"%s\" "
                      "stroke=\"#fff\"><title>likelihood %d, impact %d: %u"
                      "</title></rect>", 40 + (i - 1) * 52,
                      30 + (5 - l) * 52, color,
                      counts[l - 1][i - 1] ? "1" : "0.35", l, i,
                      counts[l - 1][i - 1]);

            if (counts[l - 1][i - 1]) {
                rb_printf(b, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" "
                          "font-weight=\"bold\">%u</text>",
                          65 + (i - 1) * 52, 60 + (5 - l) * 52,
                          counts[l - 1][i - 1]);
            }
        }

        rb_printf(b, "<text x=\"24\" y=\"%d\">%d</text>", 60 + (5 - l) * 52,
                  l);
    }

    for (i = 1; i <= 5; i++) {
        rb_printf(b, "<text x=\"%d\" y=\"310\" text-anchor=\"middle\">%d"
                  "</text>", 65 + (i - 1) * 52, i);
    }

    rb_lit(b, "<text x=\"170\" y=\"326\" text-anchor=\"middle\">impact"
           "</text></svg>");
}


static void
svg_bars(rbuf_t *b, const char *title, size_t n, const char *const *labels,
    const uint64_t *values, const char *const *colors, uint64_t max)
{
    int     h, y, w;
    size_t  i;

    for (i = 0; i < n; i++) {
        max = values[i] > max ? values[i] : max;
    }

    max = max ? max : 1;
    h = 40 + (int) n * 26;

    rb_printf(b, "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" "
              "role=\"img\" width=\"460\" height=\"%d\" viewBox=\"0 0 460 %d\">"
              "<title>", h, h);
    rb_esc(b, title);
    rb_lit(b, "</title><text x=\"10\" y=\"20\" font-weight=\"bold\">");
    rb_esc(b, title);
    rb_lit(b, "</text>");

    for (i = 0; i < n; i++) {
        y = 34 + (int) i * 26;
        w = (int) (values[i] * 240 / max);

        rb_printf(b, "<text x=\"10\" y=\"%d\">", y + 13);
        rb_esc(b, labels[i]);
        rb_printf(b, "</text><rect class=\"bar\" x=\"170\" y=\"%d\" "
                  "width=\"%d\" height=\"16\" fill=\"%s\"/><text x=\"%d\" "
                  "y=\"%d\">%llu</text>", y, w, colors[i], 176 + w, y + 13,
                  (unsigned long long) values[i]);
    }

    rb_lit(b, "</svg>");
}


/* ---- signing ---- */


int
report_sign(comply_t *c, const uint8_t digest[32], report_sig_t *s)
{
    int          rc;
    size_t       len;
    uint8_t      seed[32];
    uint32_t     got;
    keys_key_t   k;

    memset(s, 0, sizeof(report_sig_t));

    if (keys_enabled(c->keys)) {
        len = REPORT_SIG_LEN;

        rc = keys_sign(c->keys, KEYS_REPORT_SIGNING, digest, 32, s->sig,
                       &len);

        if (rc == 0 && len == REPORT_SIG_LEN
            && keys_get(c->keys, KEYS_REPORT_SIGNING, 0, &k) == 0)
        {
            keys_kid(&k, s->kid);
            OPENSSL_cleanse(&k, sizeof(keys_key_t));

            len = REPORT_PUB_LEN;

            if (keys_public(c->keys, KEYS_REPORT_SIGNING, 0, s->pub, &len,
                            &got)
                == 0)
            {
                s->signer = "keys";
                return 0;
            }
        }

        log_warnx("report: signing with the report_signing key failed: %s",
                  keys_strerror(rc));
        return -1;
    }

    if (report_local_key(c, seed, s->kid, s->pub) != 0) {
        return -1;
    }

    rc = report_local_sign(seed, digest, 32, s->sig, s->pub);

    OPENSSL_cleanse(seed, sizeof(seed));

    if (rc != 0) {
        log_warnx("report: EVP_DigestSign() failed");
        return -1;
    }

    s->signer = "local";

    return 0;
}


/*
 * keryud's own report key: the first of report_keys, made on first use;
 * the key id is the hex of the first 8 bytes of the public key's SHA-256
 */

static int
report_local_key(comply_t *c, uint8_t seed[32], char *kid,
    uint8_t pub[REPORT_PUB_LEN])
{
    int           rc, i;
    size_t        len;
    uint8_t       val_buf[REPORT_KEY_LEN], hash[SHA256_DIGEST_LENGTH];
    uint64_t      now;
    MDB_val       key, val;
    MDB_txn      *txn;
    MDB_cursor   *cur;
    EVP_PKEY     *pk;
    EVP_PKEY_CTX *pctx;

    rc = store_txn_begin(c->own, 0, &txn);
    if (rc != 0) {
        log_warnx("report: mdb_txn_begin() failed: %s", mdb_strerror(rc));
        return -1;
    }

    rc = mdb_cursor_open(txn, c->own->report_keys, &cur);
    if (rc != 0) {
        goto txn_abort;
    }

    rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST);
    mdb_cursor_close(cur);

    if (rc == 0 && val.mv_size == REPORT_KEY_LEN
        && ((uint8_t *) val.mv_data)[0] == REPORT_KEY_VERSION
        && key.mv_size <= REPORT_KID_MAX)
    {
        memcpy(seed, (uint8_t *) val.mv_data + 9, 32);
        memcpy(kid, key.mv_data, key.mv_size);
        kid[key.mv_size] = '\0';

        mdb_txn_abort(txn);

        /* the public half is derived again when signing */

        memset(pub, 0, REPORT_PUB_LEN);

        return 0;
    }

    if (rc != MDB_NOTFOUND) {
        rc = rc ? rc : MDB_CORRUPTED;
        goto txn_abort;
    }

    pk = NULL;
    pctx = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, NULL);

    if (pctx == NULL || EVP_PKEY_keygen_init(pctx) != 1
        || EVP_PKEY_keygen(pctx, &pk) != 1)
    {
        EVP_PKEY_CTX_free(pctx);
        mdb_txn_abort(txn);
        log_warnx("report: EVP_PKEY_keygen() failed");
        return -1;
    }

    EVP_PKEY_CTX_free(pctx);

    len = 32;

    if (EVP_PKEY_get_raw_private_key(pk, seed, &len) != 1 || len != 32) {
        EVP_PKEY_free(pk);
        mdb_txn_abort(txn);
        log_warnx("report: EVP_PKEY_get_raw_private_key() failed");
        return -1;
    }

    len = REPORT_PUB_LEN;

    if (EVP_PKEY_get_raw_public_key(pk, pub, &len) != 1) {
        EVP_PKEY_free(pk);
        OPENSSL_cleanse(seed, 32);
        mdb_txn_abort(txn);
        log_warnx("report: EVP_PKEY_get_raw_public_key() failed");
        return -1;
    }

    EVP_PKEY_free(pk);

    SHA256(pub, REPORT_PUB_LEN, hash);
    report_hex(hash, 8, kid);

    now = comply_now() / 1000000;

    val_buf[0] = REPORT_KEY_VERSION;

    for (i = 0; i < 8; i++) {
        val_buf[1 + i] = (uint8_t) (now >> (8 * i));
    }

    memcpy(val_buf + 9, seed, 32);

    key.mv_size = strlen(kid);
    key.mv_data = kid;
    val.mv_size = REPORT_KEY_LEN;
    val.mv_data = val_buf;

    rc = mdb_put(txn, c->own->report_keys, &key, &val, MDB_NOOVERWRITE);

    OPENSSL_cleanse(val_buf, sizeof(val_buf));

    if (rc != 0) {
        goto txn_abort;
    }

    rc = mdb_txn_commit(txn);
    if (rc != 0) {
        OPENSSL_cleanse(seed, 32);
        log_warnx("report: storing the report key failed: %s",
                  mdb_strerror(rc));
        return -1;
    }

    log_info("report: made report signing key %s", kid);

    return 0;

txn_abort:

    mdb_txn_abort(txn);
    OPENSSL_cleanse(seed, 32);

    log_warnx("report: reading the report key failed: %s", mdb_strerror(rc));

    return -1;
}


static int
report_local_sign(const uint8_t seed[32], const uint8_t *msg, size_t len,
    uint8_t sig[REPORT_SIG_LEN], uint8_t pub[REPORT_PUB_LEN])
{
    int          rc;
    size_t       slen, plen;
    EVP_PKEY    *pk;
    EVP_MD_CTX  *md;

    pk = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, 32);
    if (pk == NULL) {
        return -1;
    }

    md = EVP_MD_CTX_new();

    slen = REPORT_SIG_LEN;
    plen = REPORT_PUB_LEN;

    rc = (md != NULL
          && EVP_DigestSignInit(md, NULL, NULL, NULL, pk) == 1
          && EVP_DigestSign(md, sig, &slen, msg, len) == 1
          && slen == REPORT_SIG_LEN
          && EVP_PKEY_get_raw_public_key(pk, pub, &plen) == 1)
         ? 0 : -1;

    EVP_MD_CTX_free(md);
    EVP_PKEY_free(pk);

    return rc;
}


static void
report_hex(const uint8_t *p, size_t n, char *out)
{
    size_t  i;

    static const char  hex[] = "0123456789abcdef";

    for (i = 0; i < n; i++) {
        out[2 * i] = hex[p[i] >> 4];
        out[2 * i + 1] = hex[p[i] & 0xf];
    }

    out[2 * n] = '\0';
}


/* standard base64 with padding, as openssl base64 -d reads it */

static void
report_b64(const uint8_t *p, size_t n, char *out)
{
    EVP_EncodeBlock((unsigned char *) out, p, (int) n);
}


/* ---- reading stored reports ---- */


static int
report_split(const MDB_val *val, const uint8_t **meta, size_t *mlen,
    const uint8_t **file, size_t *flen)
{
    const uint8_t  *p = val->mv_data;

    if (val->mv_size < 4) {
        return -1;
    }

    *mlen = (size_t) p[0] | (size_t) p[1] << 8 | (size_t) p[2] << 16
            | (size_t) p[3] << 24;

    if (*mlen > val->mv_size - 4) {
        return -1;
    }

    *meta = p + 4;
    *file = p + 4 + *mlen;
    *flen = val->mv_size - 4 - *mlen;

    return 0;
}


static int
report_value(store_t *st, MDB_txn *txn, uint64_t id, MDB_val *val)
{
    uint8_t  kbuf[8];
    MDB_val  key;

    keryu_store_key_encode(kbuf, id);

    key.mv_size = 8;
    key.mv_data = kbuf;

    return mdb_get(txn, st->reports, &key, val);
}


int
report_meta(store_t *st, MDB_txn *txn, uint64_t id, json_t *j)
{
    int             rc;
    size_t          mlen, flen;
    MDB_val         val;
    const uint8_t  *meta, *file;

    rc = report_value(st, txn, id, &val);
    if (rc != 0) {
        return rc;
    }

    if (report_split(&val, &meta, &mlen, &file, &flen) != 0) {
        return MDB_CORRUPTED;
    }

    json_details(j, meta, mlen);

    return 0;
}


int
report_file(store_t *st, MDB_txn *txn, uint64_t id, const uint8_t **buf,
    size_t *len, const char **type, char *name, size_t namelen)
{
    int             rc;
    char            err[64];
    size_t          mlen;
    MDB_val         val;
    jtree_t        *t;
    const char     *fmt, *fn;
    const uint8_t  *meta;

    rc = report_value(st, txn, id, &val);
    if (rc != 0) {
        return rc;
    }

    if (report_split(&val, &meta, &mlen, buf, len) != 0) {
        return MDB_CORRUPTED;
    }

    t = jtree_parse((const char *) meta, mlen, err, sizeof(err));
    fmt = jtree_get_string(t, "format");
    fn = jtree_get_string(t, "filename");

    *type = report_content_type(fmt ? report_format_parse(fmt) : 0);
    snprintf(name, namelen, "%s", fn ? fn : "report");

    jtree_free(t);

    return 0;
}


int
report_list(store_t *st, MDB_txn *txn, json_t *j)
{
    int             rc;
    size_t          mlen, flen, n;
    MDB_val         key, val;
    MDB_cursor     *cur;
    const uint8_t  *meta, *file;

    rc = mdb_cursor_open(txn, st->reports, &cur);
    if (rc != 0) {
        return rc;
    }

    json_map_open(j);
    json_key(j, "items");
    json_array_open(j);

    n = 0;

    for (rc = mdb_cursor_get(cur, &key, &val, MDB_LAST);
         rc == 0 && n < REPORT_LIST_MAX;
         rc = mdb_cursor_get(cur, &key, &val, MDB_PREV))
    {
        if (report_split(&val, &meta, &mlen, &file, &flen) != 0) {
            continue;
        }

        json_details(j, meta, mlen);
        n++;
    }

    json_array_close(j);
    json_map_close(j);

    mdb_cursor_close(cur);

    return (rc == MDB_NOTFOUND || rc == 0) ? 0 : rc;
}
