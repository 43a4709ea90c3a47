
/*
 * Copyright (C) Keryu Security
 *
 * The policy subcommands.  "apply" reads a file holding one policy or an
 * array of them, checks each with the compiler the nginx module uses, and
 * then, in one write transaction on the shared store, compiles the whole
 * set that would result (the stored policies with the new ones in place of
 * those they replace) before it writes anything, so a file is applied
 * entirely or not at all.  Each write raises config_version, which tells
 * the workers to compile the set again.  keryud stamps every stored
 * policy with created_at (kept across updates) and updated_at, both RFC
 * 3339 times in UTC.
 */


#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "keryud.h"
#include "keryu_policy.h"
#include "json.h"
#include "policy.h"


#define POLICY_TIME_LEN  sizeof("1970-01-01T00:00:00Z")


typedef struct {
    char                name[KERYU_POLICY_NAME_MAX + 1];
    char               *doc;
    size_t              len;
    char               *stored;       /* as written, stamped */
    size_t              stored_len;
    int                 existed;
} policy_doc_t;


typedef struct {
    policy_doc_t       *docs;
    size_t              n;
    size_t              cap;
    char               *err;
    size_t              errlen;
    int                 single;       /* messages without "document N" */
    int                 rc;           /* POLICY_* of a failed collect */
} policy_batch_t;


static const char *policy_rule_at(const char *json, size_t len,
    unsigned long n);
static char *policy_read(const char *file, size_t *len, char *err,
    size_t errlen);
static int policy_collect(void *ctx, size_t index, const char *doc,
    size_t len);
static void policy_batch_free(policy_batch_t *b);
static int policy_compile(keryu_store_t *st, MDB_txn *txn,
    policy_batch_t *b, char *err, size_t errlen);
static int policy_put(keryu_store_t *st, MDB_txn *txn, policy_doc_t *pd,
    const char *now, char *err, size_t errlen);
static void policy_now(char buf[POLICY_TIME_LEN]);
static void policy_report(void *ctx, const char *name, int existed,
    const char *doc, size_t len);
static int policy_line(void *ctx, const char *name, size_t namelen,
    const char *doc, size_t len);


int
policy_main(const conf_t *cf, int argc, char **argv)
{
    int             rc;
    char            err[KERYU_POLICY_ERR_MAX + CONF_PATH_MAX];
    const char     *what;
    keryu_store_t   st;

    if (argc < 1) {
        return -1;
    }

    if (strcmp(argv[0], "list") == 0) {
        if (argc != 1) {
            return -1;
        }

        what = "list";

    } else if (strcmp(argv[0], "apply") == 0
               || strcmp(argv[0], "show") == 0
               || strcmp(argv[0], "delete") == 0)
    {
        if (argc != 2) {
            return -1;
        }

        what = argv[1];

    } else {
        return -1;
    }

    rc = keryu_store_open(&st, cf->store, 0, 0);
    if (rc != 0) {
        fprintf(stderr, "keryud: cannot open shared store \"%s\": %s\n",
                cf->store, keryu_store_strerror(rc));
        return 1;
    }

    err[0] = '\0';

    switch (argv[0][0]) {

    case 'a':
        rc = policy_apply(&st, argv[1], stdout, err, sizeof(err));
        break;

    case 'l':
        rc = policy_list(&st, stdout, err, sizeof(err));
        break;

    case 's':
        rc = policy_show(&st, argv[1], stdout, err, sizeof(err));
        break;

    default:
        rc = policy_delete(&st, argv[1], stdout, err, sizeof(err));
        break;
    }

    keryu_store_close(&st);

    if (rc != 0) {
        fprintf(stderr, "keryud: policy %s: %s\n", what, err);
        return 1;
    }

    return 0;
}


int
policy_apply(keryu_store_t *st, const char *file, FILE *out, char *err,
    size_t errlen)
{
    int      rc;
    char    *buf;
    size_t   len;

    buf = policy_read(file, &len, err, errlen);
    if (buf == NULL) {
        return -1;
    }

    rc = policy_write(st, buf, len, POLICY_UPSERT, NULL, policy_report, out,
                      err, errlen);

    free(buf);

    if (rc != POLICY_OK) {
        return -1;
    }

    fflush(out);

    return 0;
}


static void
policy_report(void *ctx, const char *name, int existed, const char *doc,
    size_t len)
{
    FILE  *out = ctx;

    (void) doc;
    (void) len;

    fprintf(out, "policy %s: %s\n", name, existed ? "updated" : "created");
}


int
policy_write(keryu_store_t *st, const char *json, size_t len,
    policy_mode_e mode, const char *name, policy_stored_pt stored,
    void *ctx, char *err, size_t errlen)
{
    int              rc;
    char             now[POLICY_TIME_LEN];
    size_t           i, skip;
    MDB_val          key, val;
    MDB_txn         *txn;
    policy_batch_t   b;

    memset(&b, 0, sizeof(policy_batch_t));
    b.err = err;
    b.errlen = errlen;
    b.single = (mode != POLICY_UPSERT);

    /* one document is an object, not an array of one */

    for (skip = 0; skip < len; skip++) {
        if (json[skip] != ' ' && json[skip] != '\t' && json[skip] != '\r'
            && json[skip] != '\n')
        {
            break;
        }
    }

    if (b.single && (skip >= len || json[skip] != '{')) {
        snprintf(err, errlen, "expected one policy document");
        return POLICY_INVALID;
    }

    if (keryu_policy_split(json, len, policy_collect, &b, err, errlen) != 0) {
        rc = b.rc ? b.rc : POLICY_INVALID;
        goto batch_free;
    }

    if (b.n == 0 || (b.single && b.n != 1)) {
        snprintf(err, errlen, b.single ? "expected one policy document"
                                       : "no policy in the file");
        rc = POLICY_INVALID;
        goto batch_free;
    }

    if (mode == POLICY_REPLACE && strcmp(b.docs[0].name, name) != 0) {
        snprintf(err, errlen, "the document names policy \"%s\"",
                 b.docs[0].name);
        rc = POLICY_MISMATCH;
        goto batch_free;
    }

    rc = keryu_store_txn_begin(st, 0, &txn);
    if (rc != 0) {
        snprintf(err, errlen, "mdb_txn_begin() failed: %s",
                 keryu_store_strerror(rc));
        rc = POLICY_FAILED;
        goto batch_free;
    }

    if (b.single) {
        key.mv_size = strlen(b.docs[0].name);
        key.mv_data = b.docs[0].name;

        rc = mdb_get(txn, st->policies, &key, &val);

        if (rc != 0 && rc != MDB_NOTFOUND) {
            snprintf(err, errlen, "mdb_get() failed: %s",
                     keryu_store_strerror(rc));
            rc = POLICY_FAILED;
            goto txn_abort;
        }

        if (mode == POLICY_CREATE && rc == 0) {
            snprintf(err, errlen, "policy exists");
            rc = POLICY_EXISTS;
            goto txn_abort;
        }

        if (mode == POLICY_REPLACE && rc == MDB_NOTFOUND) {
            snprintf(err, errlen, "no such policy");
            rc = POLICY_MISSING;
            goto txn_abort;
        }
    }

    rc = policy_compile(st, txn, &b, err, errlen);
    if (rc != POLICY_OK) {
        goto txn_abort;
    }

    policy_now(now);

    for (i = 0; i < b.n; i++) {
        rc = policy_put(st, txn, &b.docs[i], now, err, errlen);
        if (rc != POLICY_OK) {
            goto txn_abort;
        }
    }

    /* a failed commit has freed the transaction already */

    rc = mdb_txn_commit(txn);
    if (rc != 0) {
        snprintf(err, errlen, "mdb_txn_commit() failed: %s",
                 keryu_store_strerror(rc));
        rc = POLICY_FAILED;
        goto batch_free;
    }

    if (stored) {
        for (i = 0; i < b.n; i++) {
            stored(ctx, b.docs[i].name, b.docs[i].existed, b.docs[i].stored,
                   b.docs[i].stored_len);
        }
    }

    policy_batch_free(&b);

    return POLICY_OK;

txn_abort:

    mdb_txn_abort(txn);

batch_free:

    policy_batch_free(&b);

    return rc;
}


/* reads a whole file, up to the size the compiler takes */

static char *
policy_read(const char *file, size_t *len, char *err, size_t errlen)
{
    char    *buf;
    FILE    *f;
    size_t   n;

    f = fopen(file, "r");
    if (f == NULL) {
        snprintf(err, errlen, "%s", strerror(errno));
        return NULL;
    }

    buf = malloc(KERYU_POLICY_DOC_MAX + 1);
    if (buf == NULL) {
        snprintf(err, errlen, "out of memory");
        fclose(f);
        return NULL;
    }

    n = fread(buf, 1, KERYU_POLICY_DOC_MAX + 1, f);

    if (ferror(f)) {
        snprintf(err, errlen, "%s", strerror(errno));
        goto failed;
    }

    if (n > KERYU_POLICY_DOC_MAX) {
        snprintf(err, errlen, "file is larger than %d bytes",
                 KERYU_POLICY_DOC_MAX);
        goto failed;
    }

    fclose(f);

    *len = n;

    return buf;

failed:

    free(buf);
    fclose(f);

    return NULL;
}


/* checks one document of the file and keeps a copy of it */

static int
policy_collect(void *ctx, size_t index, const char *doc, size_t len)
{
    policy_batch_t  *b = ctx;

    char             msg[KERYU_POLICY_ERR_MAX];
    size_t           i, cap;
    policy_doc_t    *pd, *docs;

    if (b->n == b->cap) {
        cap = b->cap ? b->cap * 2 : 8;

        docs = realloc(b->docs, cap * sizeof(policy_doc_t));
        if (docs == NULL) {
            snprintf(b->err, b->errlen, "out of memory");
            b->rc = POLICY_FAILED;
            return -1;
        }

        b->docs = docs;
        b->cap = cap;
    }

    pd = &b->docs[b->n];
    memset(pd, 0, sizeof(policy_doc_t));

    if (keryu_policy_validate(doc, len, pd->name, sizeof(pd->name), msg,
                              sizeof(msg))
        != 0)
    {
        /* a message that cannot name the policy names its place instead */

        if (b->single || strncmp(msg, "policy \"", 8) == 0) {
            snprintf(b->err, b->errlen, "%s", msg);

        } else {
            snprintf(b->err, b->errlen, "document %zu: %s", index + 1, msg);
        }

        return -1;
    }

    for (i = 0; i < b->n; i++) {
        if (strcmp(b->docs[i].name, pd->name) == 0) {
            snprintf(b->err, b->errlen, "policy \"%s\" is given twice",
                     pd->name);
            return -1;
        }
    }

    pd->doc = malloc(len);
    if (pd->doc == NULL) {
        snprintf(b->err, b->errlen, "out of memory");
        b->rc = POLICY_FAILED;
        return -1;
    }

    memcpy(pd->doc, doc, len);
    pd->len = len;

    b->n++;

    return 0;
}


static void
policy_batch_free(policy_batch_t *b)
{
    size_t  i;

    for (i = 0; i < b->n; i++) {
        free(b->docs[i].doc);
        free(b->docs[i].stored);
    }

    free(b->docs);
}


/*
 * compiles the set the store would hold after the batch: every stored
 * policy the batch does not replace, then the batch
 */

static int
policy_compile(keryu_store_t *st, MDB_txn *txn, policy_batch_t *b,
    char *err, size_t errlen)
{
    int                  rc;
    char                 msg[KERYU_POLICY_ERR_MAX];
    size_t               i;
    MDB_val              key, val;
    MDB_cursor          *cur;
    keryu_policy_set_t  *set;

    set = keryu_policy_set_create();
    if (set == NULL) {
        snprintf(err, errlen, "out of memory");
        return POLICY_FAILED;
    }

    rc = mdb_cursor_open(txn, st->policies, &cur);
    if (rc != 0) {
        snprintf(err, errlen, "mdb_cursor_open() failed: %s",
                 keryu_store_strerror(rc));
        keryu_policy_set_free(set);
        return POLICY_FAILED;
    }

    for (rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST);
         rc == 0;
         rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT))
    {
        for (i = 0; i < b->n; i++) {
            if (key.mv_size == strlen(b->docs[i].name)
                && memcmp(key.mv_data, b->docs[i].name, key.mv_size) == 0)
            {
                break;
            }
        }

        if (i < b->n) {
            continue;
        }

        if (keryu_policy_set_add(set, val.mv_data, val.mv_size, msg,
                                 sizeof(msg))
            != 0)
        {
            snprintf(err, errlen, "stored policy \"%.*s\" does not compile: "
                     "%s", (int) (key.mv_size > KERYU_POLICY_NAME_MAX
                                  ? KERYU_POLICY_NAME_MAX : key.mv_size),
                     (char *) key.mv_data, msg);
            rc = POLICY_INVALID;
            break;
        }
    }

    mdb_cursor_close(cur);

    if (rc != MDB_NOTFOUND) {
        if (rc != POLICY_INVALID) {
            snprintf(err, errlen, "mdb_cursor_get() failed: %s",
                     keryu_store_strerror(rc));
            rc = POLICY_FAILED;
        }

        keryu_policy_set_free(set);
        return rc;
    }

    for (i = 0; i < b->n; i++) {
        if (keryu_policy_set_add(set, b->docs[i].doc, b->docs[i].len, err,
                                 errlen)
            != 0)
        {
            keryu_policy_set_free(set);
            return POLICY_INVALID;
        }
    }

    rc = keryu_policy_set_finish(set, err, errlen);

    keryu_policy_set_free(set);

    return rc == 0 ? POLICY_OK : POLICY_INVALID;
}


/* stores one policy, keeping the created_at of the one it replaces */

static int
policy_put(keryu_store_t *st, MDB_txn *txn, policy_doc_t *pd,
    const char *now, char *err, size_t errlen)
{
    int                  rc;
    char                 msg[KERYU_POLICY_ERR_MAX], *doc;
    size_t               len;
    MDB_val              key, val;
    const char          *created;
    keryu_policy_info_t  info;

    key.mv_size = strlen(pd->name);
    key.mv_data = pd->name;

    created = now;

    rc = mdb_get(txn, st->policies, &key, &val);

    if (rc == 0) {
        pd->existed = 1;

        if (keryu_policy_inspect(val.mv_data, val.mv_size, &info, msg,
                                 sizeof(msg))
            == 0
            && info.created_at[0])
        {
            created = info.created_at;
        }

    } else if (rc != MDB_NOTFOUND) {
        snprintf(err, errlen, "mdb_get() failed: %s",
                 keryu_store_strerror(rc));
        return POLICY_FAILED;
    }

    if (keryu_policy_stamp(pd->doc, pd->len, created, now, &doc, &len, err,
                           errlen)
        != 0)
    {
        return POLICY_FAILED;
    }

    pd->stored = doc;
    pd->stored_len = len;

    val.mv_size = len;
    val.mv_data = doc;

    rc = keryu_store_change(st, txn, st->policies, &key, &val,
                            KERYU_META_CONFIG_VERSION);
    if (rc != 0) {
        snprintf(err, errlen, "mdb_put() failed: %s",
                 keryu_store_strerror(rc));
        return POLICY_FAILED;
    }

    return POLICY_OK;
}


int
policy_list(keryu_store_t *st, FILE *out, char *err, size_t errlen)
{
    fprintf(out, "%-32s %-9s %-6s %-6s %5s  %s\n", "NAME", "TYPE", "ACTIVE",
            "SHADOW", "RULES", "UPDATED");

    if (policy_each(st, policy_line, out, err, errlen) != POLICY_OK) {
        return -1;
    }

    fflush(out);

    return 0;
}


static int
policy_line(void *ctx, const char *name, size_t namelen, const char *doc,
    size_t len)
{
    FILE                 *out = ctx;

    char                  msg[KERYU_POLICY_ERR_MAX];
    keryu_policy_info_t   info;

    if (keryu_policy_inspect(doc, len, &info, msg, sizeof(msg)) != 0) {
        fprintf(out, "%-32.*s invalid: %s\n",
                (int) (namelen > KERYU_POLICY_NAME_MAX
                       ? KERYU_POLICY_NAME_MAX : namelen), name, msg);
        return 0;
    }

    fprintf(out, "%-32s %-9s %-6s %-6s %5zu  %s\n", info.name,
            info.type == KERYU_POLICY_IP ? "ip"
            : info.type == KERYU_POLICY_THRESHOLD ? "threshold" : "access",
            info.active ? "yes" : "no", info.shadow ? "yes" : "no",
            info.rules, info.updated_at[0] ? info.updated_at : "-");

    return 0;
}


int
policy_each(keryu_store_t *st, policy_each_pt handler, void *ctx,
    char *err, size_t errlen)
{
    int          rc;
    MDB_val      key, val;
    MDB_txn     *txn;
    MDB_cursor  *cur;

    rc = keryu_store_txn_begin(st, MDB_RDONLY, &txn);
    if (rc != 0) {
        snprintf(err, errlen, "mdb_txn_begin() failed: %s",
                 keryu_store_strerror(rc));
        return POLICY_FAILED;
    }

    rc = mdb_cursor_open(txn, st->policies, &cur);
    if (rc != 0) {
        snprintf(err, errlen, "mdb_cursor_open() failed: %s",
                 keryu_store_strerror(rc));
        mdb_txn_abort(txn);
        return POLICY_FAILED;
    }

    for (rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST);
         rc == 0;
         rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT))
    {
        if (handler(ctx, key.mv_data, key.mv_size, val.mv_data, val.mv_size)
            == -1)
        {
            snprintf(err, errlen, "listing stopped");
            rc = POLICY_FAILED;
            break;
        }
    }

    mdb_cursor_close(cur);
    mdb_txn_abort(txn);

    if (rc == POLICY_FAILED) {
        return POLICY_FAILED;
    }

    if (rc != MDB_NOTFOUND) {
        snprintf(err, errlen, "mdb_cursor_get() failed: %s",
                 keryu_store_strerror(rc));
        return POLICY_FAILED;
    }

    return POLICY_OK;
}


int
policy_show(keryu_store_t *st, const char *name, FILE *out, char *err,
    size_t errlen)
{
    int       rc;
    MDB_val   key, val;
    MDB_txn  *txn;

    rc = keryu_store_txn_begin(st, MDB_RDONLY, &txn);
    if (rc != 0) {
        snprintf(err, errlen, "mdb_txn_begin() failed: %s",
                 keryu_store_strerror(rc));
        return -1;
    }

    key.mv_size = strlen(name);
    key.mv_data = (void *) name;

    rc = mdb_get(txn, st->policies, &key, &val);

    if (rc == 0) {
        fwrite(val.mv_data, 1, val.mv_size, out);
        fputc('\n', out);
        fflush(out);
    }

    mdb_txn_abort(txn);

    if (rc == MDB_NOTFOUND) {
        snprintf(err, errlen, "no such policy");
        return -1;
    }

    if (rc != 0) {
        snprintf(err, errlen, "mdb_get() failed: %s",
                 keryu_store_strerror(rc));
        return -1;
    }

    return 0;
}


int
policy_delete(keryu_store_t *st, const char *name, FILE *out, char *err,
    size_t errlen)
{
    if (policy_remove(st, name, err, errlen) != POLICY_OK) {
        return -1;
    }

    fprintf(out, "policy %s: deleted\n", name);
    fflush(out);

    return 0;
}


int
policy_remove(keryu_store_t *st, const char *name, char *err, size_t errlen)
{
    int       rc;
    MDB_val   key;
    MDB_txn  *txn;

    rc = keryu_store_txn_begin(st, 0, &txn);
    if (rc != 0) {
        snprintf(err, errlen, "mdb_txn_begin() failed: %s",
                 keryu_store_strerror(rc));
        return POLICY_FAILED;
    }

    key.mv_size = strlen(name);
    key.mv_data = (void *) name;

    rc = keryu_store_change(st, txn, st->policies, &key, NULL,
                            KERYU_META_CONFIG_VERSION);
    if (rc != 0) {
        mdb_txn_abort(txn);

        if (rc == MDB_NOTFOUND) {
            snprintf(err, errlen, "no such policy");
            return POLICY_MISSING;
        }

        snprintf(err, errlen, "mdb_del() failed: %s",
                 keryu_store_strerror(rc));
        return POLICY_FAILED;
    }

    rc = mdb_txn_commit(txn);
    if (rc != 0) {
        snprintf(err, errlen, "mdb_txn_commit() failed: %s",
                 keryu_store_strerror(rc));
        return POLICY_FAILED;
    }

    return POLICY_OK;
}


static void
policy_now(char buf[POLICY_TIME_LEN])
{
    time_t     t;
    struct tm  tm;

    t = time(NULL);

    if (gmtime_r(&t, &tm) == NULL
        || strftime(buf, POLICY_TIME_LEN, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
    {
        snprintf(buf, POLICY_TIME_LEN, "1970-01-01T00:00:00Z");
    }
}


int
policy_check(const char *json, size_t len, char *name, size_t namelen,
    char *err, size_t errlen, long *offset)
{
    char        *needle, *q, *end;
    size_t       at, n;
    const char  *from, *hit;

    *offset = -1;

    if (keryu_policy_validate(json, len, name, namelen, err, errlen) == 0) {
        return 0;
    }

    if (json_syntax_check(json, len, &at) == -1) {
        *offset = (long) at;
        return -1;
    }

    /*
     * XXX the compiler names the field at fault but not its place: this
     * points at the first occurrence of the last quoted word of its
     * message, searched for after "rules" when a rule is at fault
     */

    end = strrchr(err, '"');
    if (end == NULL || end == err) {
        return -1;
    }

    for (q = end - 1; q > err && *q != '"'; q--) {
        /* void */
    }

    if (*q != '"' || end - q < 2) {
        return -1;
    }

    n = (size_t) (end - q) + 1;

    needle = malloc(n + 1);
    if (needle == NULL) {
        return -1;
    }

    memcpy(needle, q, n);
    needle[n] = '\0';

    from = json;
    q = strstr(err, ": rule ");

    if (q != NULL) {
        from = policy_rule_at(json, len, strtoul(q + 7, NULL, 10));
        if (from == NULL) {
            from = json;
        }
    }

    hit = memmem(from, len - (size_t) (from - json), needle, n);

    if (hit == NULL) {
        hit = memmem(from, len - (size_t) (from - json), needle + 1, n - 2);
    }

    if (hit == NULL && from != json) {
        hit = from;
    }

    if (hit != NULL) {
        *offset = hit - json;
    }

    free(needle);

    return -1;
}


/* the "{" of the n-th (from 1) element of the first "rules" array */

static const char *
policy_rule_at(const char *json, size_t len, unsigned long n)
{
    int          depth, str;
    const char  *p, *end;

    p = memmem(json, len, "\"rules\"", 7);
    if (p == NULL || n == 0) {
        return NULL;
    }

    end = json + len;
    p += 7;
    p += strspn(p, " \t\r\n:");

    if (p >= end || *p != '[') {
        return NULL;
    }

    depth = 0;
    str = 0;

    for ( ; p < end; p++) {
        if (str) {
            if (*p == '\\') {
                p++;

            } else if (*p == '"') {
                str = 0;
            }

            continue;
        }

        switch (*p) {

        case '"':
            str = 1;
            break;

        case '[':
        case '{':
            if (depth++ == 1 && *p == '{' && --n == 0) {
                return p;
            }

            break;

        case ']':
        case '}':
            if (--depth == 0) {
                return NULL;
            }

            break;
        }
    }

    return NULL;
}
