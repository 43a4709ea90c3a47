
/*
 * Copyright (C) Keryu Security
 *
 * Alerts in keryud's own store (layout in alert.h).  The stored value is
 * a small binary encoding, so that reading an alert back needs no JSON
 * parser: a version byte, status, severity, the numbers, then each string
 * as a 2-byte length and its bytes, then the response log.  All numbers
 * are little-endian.
 */


#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert.h"
#include "chain.h"
#include "log.h"


#define ALERT_VERSION      1
#define ALERT_KEYBUF_MAX   (ALERT_RULE_MAX + 1 + ALERT_KEY_MAX)
#define ALERT_FORGET_BATCH 1000


/* a growing buffer for encoding; the first failure sticks */
typedef struct {
    uint8_t            *data;
    size_t              len;
    size_t              cap;
    int                 failed;
} alert_buf_t;


/* a reader over a stored value; running short sets failed */
typedef struct {
    const uint8_t      *p;
    const uint8_t      *end;
    int                 failed;
} alert_rd_t;


static const char *const  alert_statuses[] = {
    NULL, "open", "acknowledged", "resolved", NULL
};


static int alert_encode(const alert_t *a, alert_buf_t *b);
static int alert_decode(alert_t *a, const uint8_t *data, size_t len);
static void alert_put(alert_buf_t *b, const void *data, size_t len);
static void alert_put_u64(alert_buf_t *b, uint64_t v);
static void alert_put_str(alert_buf_t *b, const char *s);
static uint64_t alert_get_u64(alert_rd_t *r);
static uint8_t alert_get_u8(alert_rd_t *r);
static void alert_get_str(alert_rd_t *r, char *dst, size_t size);
static size_t alert_index_key(uint8_t *buf, const char *rule,
    const char *key);
static int alert_store(store_t *st, MDB_txn *txn, const alert_t *a);
static int alert_names(const alert_t *a, const char *user);
static int alert_respond(alert_t *a, uint64_t now_us, const char *actor,
    const char *action, int from, int to, const char *note);
static int alert_offence(store_t *st, MDB_txn *txn, const char *rule,
    const char *key, uint64_t now_us, uint64_t *n);
static void alert_key_encode(uint8_t buf[8], uint64_t id);
static uint64_t alert_key_decode(const uint8_t *buf);


int
alert_dbs_open(store_t *st, MDB_txn *txn)
{
    int  rc;

    rc = mdb_dbi_open(txn, "alerts", MDB_CREATE, &st->alerts);
    if (rc != 0) {
        return rc;
    }

    rc = mdb_dbi_open(txn, "alert_keys", MDB_CREATE, &st->alert_keys);
    if (rc != 0) {
        return rc;
    }

    return mdb_dbi_open(txn, "offences", MDB_CREATE, &st->offences);
}


int
alert_raise(store_t *st, const alert_raise_t *in, uint64_t now_us,
    alert_t *out, int *opened)
{
    int       rc;
    uint8_t   kbuf[ALERT_KEYBUF_MAX], ibuf[8];
    MDB_val   key, val;
    MDB_txn  *txn;
    uint64_t  id, n, ms;
    unsigned  i, keep, skip;
    alert_t  *a;

    a = out;
    memset(a, 0, sizeof(alert_t));
    *opened = 0;

    rc = store_txn_begin(st, 0, &txn);
    if (rc != 0) {
        return rc;
    }

    key.mv_size = alert_index_key(kbuf, in->rule, in->key);
    key.mv_data = kbuf;

    rc = mdb_get(txn, st->alert_keys, &key, &val);

    if (rc == 0 && val.mv_size == 8) {
        id = alert_key_decode(val.mv_data);

        rc = alert_get(st, txn, id, a);
        if (rc == ALERT_FAILED) {
            rc = MDB_CORRUPTED;
            goto txn_abort;
        }

        if (rc == ALERT_MISSING) {
            rc = 0;
            id = 0;
        }

    } else if (rc == MDB_NOTFOUND) {
        rc = 0;
        id = 0;

    } else {
        goto txn_abort;
    }

    if (id == 0) {
        rc = store_meta_get(st, txn, STORE_META_NEXT_ALERT, &id);
        if (rc != 0) {
            goto txn_abort;
        }

        if (id == 0) {
            id = 1;
        }

        rc = store_meta_put(st, txn, STORE_META_NEXT_ALERT, id + 1);
        if (rc != 0) {
            goto txn_abort;
        }

        a->id = id;
        a->status = ALERT_OPEN;
        a->severity = in->severity;
        a->first_us = in->first_us;
        a->created_us = now_us;

        snprintf(a->rule, sizeof(a->rule), "%s", in->rule);
        snprintf(a->key, sizeof(a->key), "%s", in->key);
        snprintf(a->key_type, sizeof(a->key_type), "%s", in->key_type);

        if (alert_respond(a, now_us, in->actor, "opened", 0, ALERT_OPEN,
                          in->summary)
            != 0)
        {
            rc = ENOMEM;
            goto txn_abort;
        }

        *opened = 1;

        alert_key_encode(ibuf, id);

        val.mv_size = 8;
        val.mv_data = ibuf;

        rc = mdb_put(txn, st->alert_keys, &key, &val, 0);
        if (rc != 0) {
            goto txn_abort;
        }
    }

    /* the same rule and key again: the alert grows */

    a->count += in->count;
    a->updated_us = now_us;

    if (in->last_us > a->last_us) {
        a->last_us = in->last_us;
    }

    if (in->first_us && in->first_us < a->first_us) {
        a->first_us = in->first_us;
    }

    if (in->severity > a->severity) {
        a->severity = in->severity;
    }

    snprintf(a->summary, sizeof(a->summary), "%s", in->summary);

    /* the newest samples, oldest first */

    skip = in->nsamples > ALERT_SAMPLES ? in->nsamples - ALERT_SAMPLES : 0;
    keep = ALERT_SAMPLES - (in->nsamples - skip);

    if (a->nsamples > keep) {
        memmove(a->samples, a->samples + (a->nsamples - keep),
                keep * sizeof(uint64_t));
        a->nsamples = keep;
    }

    for (i = skip; i < in->nsamples; i++) {
        a->samples[a->nsamples++] = in->samples[i];
    }

    if (in->block) {
        rc = alert_offence(st, txn, in->rule, in->key, now_us, &n);
        if (rc != 0) {
            goto txn_abort;
        }

        /* each repeat doubles the block, up to the longest allowed */

        ms = in->block_ms;

        for ( ; n > 1 && ms < in->block_max_ms; n--) {
            ms *= 2;
        }

        if (ms > in->block_max_ms) {
            ms = in->block_max_ms;
        }

        snprintf(a->block, sizeof(a->block), "%s", in->block);

        a->block_s = ms / 1000;
        a->block_expires_us = now_us + ms * 1000;
        a->offences++;
    }

    rc = alert_store(st, txn, a);
    if (rc != 0) {
        goto txn_abort;
    }

    return mdb_txn_commit(txn);

txn_abort:

    mdb_txn_abort(txn);
    alert_free(a);

    return rc;
}


/* counts one more block of rule and key, forgetting old ones */

static int
alert_offence(store_t *st, MDB_txn *txn, const char *rule, const char *key,
    uint64_t now_us, uint64_t *n)
{
    int       rc;
    uint8_t   kbuf[ALERT_KEYBUF_MAX], vbuf[16];
    MDB_val   k, v;
    uint64_t  count, last;

    k.mv_size = alert_index_key(kbuf, rule, key);
    k.mv_data = kbuf;

    count = 0;

    rc = mdb_get(txn, st->offences, &k, &v);

    if (rc == 0 && v.mv_size == 16) {
        memcpy(&count, v.mv_data, 8);
        memcpy(&last, (uint8_t *) v.mv_data + 8, 8);

        count = le64toh(count);
        last = le64toh(last);

        if (last + ALERT_OFFENCE_MEMORY < now_us) {
            count = 0;
        }

    } else if (rc != 0 && rc != MDB_NOTFOUND) {
        return rc;
    }

    count++;

    *n = count;

    count = htole64(count);
    last = htole64(now_us);

    memcpy(vbuf, &count, 8);
    memcpy(vbuf + 8, &last, 8);

    v.mv_size = 16;
    v.mv_data = vbuf;

    return mdb_put(txn, st->offences, &k, &v, 0);
}


int
alert_get(store_t *st, MDB_txn *txn, uint64_t id, alert_t *out)
{
    int      rc;
    uint8_t  kbuf[8];
    MDB_val  key, val;

    memset(out, 0, sizeof(alert_t));

    alert_key_encode(kbuf, id);

    key.mv_size = 8;
    key.mv_data = kbuf;

    rc = mdb_get(txn, st->alerts, &key, &val);

    if (rc == MDB_NOTFOUND) {
        return ALERT_MISSING;
    }

    if (rc != 0) {
        log_warnx("%s: mdb_get() failed: %s", __func__, mdb_strerror(rc));
        return ALERT_FAILED;
    }

    if (alert_decode(out, val.mv_data, val.mv_size) != 0) {
        log_warnx("%s: alert %llu does not decode", __func__,
                  (unsigned long long) id);
        alert_free(out);
        return ALERT_FAILED;
    }

    return ALERT_OK;
}


int
alert_update(store_t *st, uint64_t id, int status, const char *note,
    const char *actor, uint64_t now_us, alert_t *out)
{
    int       rc, from;
    uint8_t   kbuf[ALERT_KEYBUF_MAX], ibuf[8];
    MDB_val   key, val;
    MDB_txn  *txn;

    rc = store_txn_begin(st, 0, &txn);
    if (rc != 0) {
        log_warnx("%s: mdb_txn_begin() failed: %s", __func__,
                  mdb_strerror(rc));
        return ALERT_FAILED;
    }

    rc = alert_get(st, txn, id, out);
    if (rc != ALERT_OK) {
        mdb_txn_abort(txn);
        return rc;
    }

    if (out->nresponses >= ALERT_RESPONSES_MAX) {
        rc = ALERT_FULL;
        goto failed;
    }

    from = out->status;

    if (status == 0) {
        status = from;
    }

    key.mv_size = alert_index_key(kbuf, out->rule, out->key);
    key.mv_data = kbuf;

    if (from == ALERT_RESOLVED && status != ALERT_RESOLVED) {

        /* reopened: only while no other alert holds its rule and key */

        alert_key_encode(ibuf, id);

        val.mv_size = 8;
        val.mv_data = ibuf;

        rc = mdb_put(txn, st->alert_keys, &key, &val, MDB_NOOVERWRITE);

        if (rc == MDB_KEYEXIST) {
            rc = ALERT_CONFLICT;
            goto failed;
        }

        if (rc != 0) {
            goto store_failed;
        }

    } else if (from != ALERT_RESOLVED && status == ALERT_RESOLVED) {
        rc = mdb_del(txn, st->alert_keys, &key, NULL);
        if (rc != 0 && rc != MDB_NOTFOUND) {
            goto store_failed;
        }
    }

    out->status = status;
    out->updated_us = now_us;

    if (alert_respond(out, now_us, actor, status != from ? "status" : "note",
                      from, status, note)
        != 0)
    {
        rc = ENOMEM;
        goto store_failed;
    }

    rc = alert_store(st, txn, out);
    if (rc != 0) {
        goto store_failed;
    }

    rc = mdb_txn_commit(txn);
    if (rc != 0) {
        log_warnx("%s: mdb_txn_commit() failed: %s", __func__,
                  mdb_strerror(rc));
        alert_free(out);
        return ALERT_FAILED;
    }

    return ALERT_OK;

store_failed:

    log_warnx("%s: updating alert %llu failed: %s", __func__,
              (unsigned long long) id, mdb_strerror(rc));
    rc = ALERT_FAILED;

failed:

    mdb_txn_abort(txn);
    alert_free(out);

    return rc;
}


int
alert_delete(store_t *st, uint64_t id)
{
    int       rc;
    uint8_t   kbuf[ALERT_KEYBUF_MAX], ibuf[8];
    MDB_val   key, val;
    MDB_txn  *txn;
    alert_t   a;

    rc = store_txn_begin(st, 0, &txn);
    if (rc != 0) {
        log_warnx("%s: mdb_txn_begin() failed: %s", __func__,
                  mdb_strerror(rc));
        return ALERT_FAILED;
    }

    rc = alert_get(st, txn, id, &a);
    if (rc != ALERT_OK) {
        mdb_txn_abort(txn);
        return rc;
    }

    /* the index entry goes only if it names this alert */

    key.mv_size = alert_index_key(kbuf, a.rule, a.key);
    key.mv_data = kbuf;

    alert_free(&a);

    rc = mdb_get(txn, st->alert_keys, &key, &val);

    if (rc == 0 && val.mv_size == 8 && alert_key_decode(val.mv_data) == id) {
        rc = mdb_del(txn, st->alert_keys, &key, NULL);
    }

    if (rc != 0 && rc != MDB_NOTFOUND) {
        goto failed;
    }

    alert_key_encode(ibuf, id);

    key.mv_size = 8;
    key.mv_data = ibuf;

    rc = mdb_del(txn, st->alerts, &key, NULL);
    if (rc != 0) {
        goto failed;
    }

    rc = mdb_txn_commit(txn);
    if (rc != 0) {
        log_warnx("%s: mdb_txn_commit() failed: %s", __func__,
                  mdb_strerror(rc));
        return ALERT_FAILED;
    }

    return ALERT_OK;

failed:

    log_warnx("%s: deleting alert %llu failed: %s", __func__,
              (unsigned long long) id, mdb_strerror(rc));
    mdb_txn_abort(txn);

    return ALERT_FAILED;
}


int
alert_forget(store_t *st, const char *user, uint64_t *touched)
{
    int          rc, more;
    uint8_t      kbuf[8];
    MDB_val      key, val;
    MDB_txn     *txn;
    uint64_t     next;
    unsigned     i, n, kept;
    alert_t      a;
    MDB_cursor  *cur;

    *touched = 0;
    next = 1;

    do {
        rc = store_txn_begin(st, 0, &txn);
        if (rc != 0) {
            return rc;
        }

        rc = mdb_cursor_open(txn, st->alerts, &cur);
        if (rc != 0) {
            mdb_txn_abort(txn);
            return rc;
        }

        more = 0;

        /* a put may move the cursor's page: each alert is sought anew */

        for (n = 0; n < ALERT_FORGET_BATCH; n++) {
            alert_key_encode(kbuf, next);

            key.mv_size = 8;
            key.mv_data = kbuf;

            rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);
            if (rc != 0) {
                break;
            }

            if (key.mv_size != 8) {
                rc = MDB_CORRUPTED;
                break;
            }

            next = alert_key_decode(key.mv_data) + 1;

            if (alert_decode(&a, val.mv_data, val.mv_size) != 0) {
                alert_free(&a);
                continue;
            }

            kept = 0;

            for (i = 0; i < a.nsamples; i++) {
                if (chain_state(st, txn, a.samples[i]) != CHAIN_ERASED) {
                    a.samples[kept++] = a.samples[i];
                }
            }

            if (kept != a.nsamples || alert_names(&a, user)) {
                (*touched)++;
            }

            if (kept != a.nsamples) {
                a.nsamples = kept;
                rc = alert_store(st, txn, &a);
            }

            alert_free(&a);

            if (rc != 0) {
                break;
            }
        }

        mdb_cursor_close(cur);

        if (rc == 0) {
            more = 1;

        } else if (rc != MDB_NOTFOUND) {
            mdb_txn_abort(txn);
            return rc;
        }

        /* a failed commit has freed the transaction already */

        rc = mdb_txn_commit(txn);
        if (rc != 0) {
            return rc;
        }

    } while (more);

    return 0;
}


/* whether the alert's key is user, or "ADDR user" of an ip+user rule */

static int
alert_names(const alert_t *a, const char *user)
{
    size_t  len, klen;

    len = strlen(user);
    klen = strlen(a->key);

    if (strcmp(a->key_type, "user") == 0) {
        return strcmp(a->key, user) == 0;
    }

    if (strcmp(a->key_type, "ip+user") == 0) {
        return klen > len && a->key[klen - len - 1] == ' '
               && strcmp(a->key + klen - len, user) == 0;
    }

    return 0;
}


int
alert_list(store_t *st, MDB_txn *txn, const alert_filter_t *f,
    alert_each_pt handler, void *ctx, uint64_t *next)
{
    int          rc;
    uint8_t      kbuf[8];
    MDB_val      key, val;
    uint64_t     id, shown;
    unsigned     n;
    alert_t      a;
    MDB_cursor  *cur;

    *next = 0;
    shown = 0;

    rc = mdb_cursor_open(txn, st->alerts, &cur);
    if (rc != 0) {
        return rc;
    }

    if (f->cursor) {
        alert_key_encode(kbuf, f->cursor);

        key.mv_size = 8;
        key.mv_data = kbuf;

        rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);

        if (rc == 0) {
            rc = mdb_cursor_get(cur, &key, &val, MDB_PREV);

        } else if (rc == MDB_NOTFOUND) {
            rc = mdb_cursor_get(cur, &key, &val, MDB_LAST);
        }

    } else {
        rc = mdb_cursor_get(cur, &key, &val, MDB_LAST);
    }

    n = 0;

    for ( ; rc == 0; rc = mdb_cursor_get(cur, &key, &val, MDB_PREV)) {
        if (key.mv_size != 8) {
            rc = MDB_CORRUPTED;
            break;
        }

        id = alert_key_decode(key.mv_data);

        /* the cursor names the last alert shown: the next page is below */

        if (n == f->limit) {
            *next = shown;
            break;
        }

        if (alert_decode(&a, val.mv_data, val.mv_size) != 0) {
            log_warnx("%s: alert %llu does not decode", __func__,
                      (unsigned long long) id);
            alert_free(&a);
            continue;
        }

        if ((f->status == 0 || a.status == f->status)
            && (f->severity == 0 || a.severity == f->severity)
            && (f->rule == NULL || strcmp(a.rule, f->rule) == 0)
            && (f->key == NULL || strcmp(a.key, f->key) == 0))
        {
            n++;
            shown = id;

            if (handler(ctx, &a) != 0) {
                alert_free(&a);
                rc = MDB_NOTFOUND;
                break;
            }
        }

        alert_free(&a);
    }

    mdb_cursor_close(cur);

    return (rc == MDB_NOTFOUND) ? 0 : rc;
}


int
alert_counts(store_t *st, MDB_txn *txn, uint64_t counts[4][5])
{
    int             rc;
    MDB_val         key, val;
    MDB_cursor     *cur;
    const uint8_t  *p;

    memset(counts, 0, 4 * 5 * sizeof(uint64_t));

    rc = mdb_cursor_open(txn, st->alerts, &cur);
    if (rc != 0) {
        return rc;
    }

    /* status and severity sit right after the version byte */

    for (rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST);
         rc == 0;
         rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT))
    {
        p = val.mv_data;

        if (val.mv_size >= 3 && p[0] == ALERT_VERSION && p[1] >= 1
            && p[1] <= 3 && p[2] >= 1 && p[2] <= 4)
        {
            counts[p[1]][p[2]]++;
        }
    }

    mdb_cursor_close(cur);

    return (rc == MDB_NOTFOUND) ? 0 : rc;
}


void
alert_json(json_t *j, const alert_t *a)
{
    char      tbuf[TIME_STR_MAX];
    unsigned  i;

    json_map_open(j);

    json_key(j, "id");
    json_uint(j, a->id);
    json_key(j, "rule");
    json_cstring(j, a->rule);
    json_key(j, "severity");
    json_cstring(j, keryu_severity_name(a->severity)
                    ? keryu_severity_name(a->severity) : "medium");
    json_key(j, "status");
    json_cstring(j, alert_status_name(a->status));
    json_key(j, "key");
    json_cstring(j, a->key);
    json_key(j, "key_type");
    json_cstring(j, a->key_type);
    json_key(j, "summary");
    json_cstring(j, a->summary);
    json_key(j, "count");
    json_uint(j, a->count);

    json_key(j, "first_seen");
    json_string(j, (uint8_t *) tbuf, time_format(a->first_us, tbuf));
    json_key(j, "last_seen");
    json_string(j, (uint8_t *) tbuf, time_format(a->last_us, tbuf));
    json_key(j, "created_at");
    json_string(j, (uint8_t *) tbuf, time_format(a->created_us, tbuf));
    json_key(j, "updated_at");
    json_string(j, (uint8_t *) tbuf, time_format(a->updated_us, tbuf));

    json_key(j, "samples");
    json_array_open(j);

    for (i = 0; i < a->nsamples; i++) {
        json_uint(j, a->samples[i]);
    }

    json_array_close(j);

    json_key(j, "block");

    if (a->block[0]) {
        json_map_open(j);
        json_key(j, "target");
        json_cstring(j, a->block);
        json_key(j, "duration_s");
        json_uint(j, a->block_s);
        json_key(j, "expires_at");
        json_string(j, (uint8_t *) tbuf,
                    time_format(a->block_expires_us, tbuf));
        json_key(j, "offences");
        json_uint(j, a->offences);
        json_map_close(j);

    } else {
        json_null(j);
    }

    json_key(j, "responses");
    json_array_open(j);

    for (i = 0; i < a->nresponses; i++) {
        json_map_open(j);
        json_key(j, "at");
        json_string(j, (uint8_t *) tbuf,
                    time_format(a->responses[i].at_us, tbuf));
        json_key(j, "actor");
        json_cstring(j, a->responses[i].actor);
        json_key(j, "action");
        json_cstring(j, a->responses[i].action);

        if (a->responses[i].from) {
            json_key(j, "from");
            json_cstring(j, alert_status_name(a->responses[i].from));
        }

        json_key(j, "to");
        json_cstring(j, alert_status_name(a->responses[i].to));

        if (a->responses[i].note[0]) {
            json_key(j, "note");
            json_cstring(j, a->responses[i].note);
        }

        json_map_close(j);
    }

    json_array_close(j);

    json_map_close(j);
}


void
alert_free(alert_t *a)
{
    free(a->responses);

    a->responses = NULL;
    a->nresponses = 0;
}


const char *
alert_status_name(int status)
{
    if (status < ALERT_OPEN || status > ALERT_RESOLVED) {
        return "open";
    }

    return alert_statuses[status];
}


int
alert_status_parse(const char *name)
{
    int  i;

    for (i = ALERT_OPEN; i <= ALERT_RESOLVED; i++) {
        if (strcmp(name, alert_statuses[i]) == 0) {
            return i;
        }
    }

    return -1;
}


/* ---- storage ---- */


static int
alert_respond(alert_t *a, uint64_t now_us, const char *actor,
    const char *action, int from, int to, const char *note)
{
    alert_response_t  *r;

    r = realloc(a->responses, (a->nresponses + 1) * sizeof(alert_response_t));
    if (r == NULL) {
        return -1;
    }

    a->responses = r;
    r = &a->responses[a->nresponses++];

    memset(r, 0, sizeof(alert_response_t));

    r->at_us = now_us;
    r->from = from;
    r->to = to;

    snprintf(r->actor, sizeof(r->actor), "%s", actor ? actor : "");
    snprintf(r->action, sizeof(r->action), "%s", action);
    snprintf(r->note, sizeof(r->note), "%s", note ? note : "");

    return 0;
}


static int
alert_store(store_t *st, MDB_txn *txn, const alert_t *a)
{
    int          rc;
    uint8_t      kbuf[8];
    MDB_val      key, val;
    alert_buf_t  b;

    memset(&b, 0, sizeof(alert_buf_t));

    if (alert_encode(a, &b) != 0) {
        free(b.data);
        return ENOMEM;
    }

    alert_key_encode(kbuf, a->id);

    key.mv_size = 8;
    key.mv_data = kbuf;
    val.mv_size = b.len;
    val.mv_data = b.data;

    rc = mdb_put(txn, st->alerts, &key, &val, 0);

    free(b.data);

    return rc;
}


static int
alert_encode(const alert_t *a, alert_buf_t *b)
{
    uint8_t   head[4];
    unsigned  i;

    head[0] = ALERT_VERSION;
    head[1] = (uint8_t) a->status;
    head[2] = (uint8_t) a->severity;
    head[3] = 0;

    alert_put(b, head, 4);
    alert_put_u64(b, a->id);
    alert_put_u64(b, a->count);
    alert_put_u64(b, a->first_us);
    alert_put_u64(b, a->last_us);
    alert_put_u64(b, a->created_us);
    alert_put_u64(b, a->updated_us);
    alert_put_u64(b, a->block_expires_us);
    alert_put_u64(b, a->block_s);
    alert_put_u64(b, a->offences);
    alert_put_u64(b, a->nsamples);

    for (i = 0; i < a->nsamples; i++) {
        alert_put_u64(b, a->samples[i]);
    }

    alert_put_str(b, a->rule);
    alert_put_str(b, a->key);
    alert_put_str(b, a->key_type);
    alert_put_str(b, a->summary);
    alert_put_str(b, a->block);

    alert_put_u64(b, a->nresponses);

    for (i = 0; i < a->nresponses; i++) {
        head[0] = (uint8_t) a->responses[i].from;
        head[1] = (uint8_t) a->responses[i].to;

        alert_put(b, head, 2);
        alert_put_u64(b, a->responses[i].at_us);
        alert_put_str(b, a->responses[i].actor);
        alert_put_str(b, a->responses[i].action);
        alert_put_str(b, a->responses[i].note);
    }

    return b->failed ? -1 : 0;
}


static int
alert_decode(alert_t *a, const uint8_t *data, size_t len)
{
    uint64_t           n, i;
    alert_rd_t         r;
    alert_response_t  *resp;

    memset(a, 0, sizeof(alert_t));

    r.p = data;
    r.end = data + len;
    r.failed = 0;

    if (alert_get_u8(&r) != ALERT_VERSION) {
        return -1;
    }

    a->status = alert_get_u8(&r);
    a->severity = alert_get_u8(&r);
    (void) alert_get_u8(&r);

    a->id = alert_get_u64(&r);
    a->count = alert_get_u64(&r);
    a->first_us = alert_get_u64(&r);
    a->last_us = alert_get_u64(&r);
    a->created_us = alert_get_u64(&r);
    a->updated_us = alert_get_u64(&r);
    a->block_expires_us = alert_get_u64(&r);
    a->block_s = alert_get_u64(&r);
    a->offences = alert_get_u64(&r);

    n = alert_get_u64(&r);

    if (n > ALERT_SAMPLES) {
        return -1;
    }

    for (i = 0; i < n; i++) {
        a->samples[i] = alert_get_u64(&r);
    }

    a->nsamples = (unsigned) n;

    alert_get_str(&r, a->rule, sizeof(a->rule));
    alert_get_str(&r, a->key, sizeof(a->key));
    alert_get_str(&r, a->key_type, sizeof(a->key_type));
    alert_get_str(&r, a->summary, sizeof(a->summary));
    alert_get_str(&r, a->block, sizeof(a->block));

    n = alert_get_u64(&r);

    if (r.failed || n > ALERT_RESPONSES_MAX + 1) {
        return -1;
    }

    if (n) {
        resp = calloc(n, sizeof(alert_response_t));
        if (resp == NULL) {
            return -1;
        }

        a->responses = resp;
        a->nresponses = (unsigned) n;

        for (i = 0; i < n; i++) {
            resp[i].from = alert_get_u8(&r);
            resp[i].to = alert_get_u8(&r);
            resp[i].at_us = alert_get_u64(&r);

            alert_get_str(&r, resp[i].actor, sizeof(resp[i].actor));
            alert_get_str(&r, resp[i].action, sizeof(resp[i].action));
            alert_get_str(&r, resp[i].note, sizeof(resp[i].note));
        }
    }

    return r.failed ? -1 : 0;
}


static void
alert_put(alert_buf_t *b, const void *data, size_t len)
{
    size_t    cap;
    uint8_t  *p;

    if (b->failed) {
        return;
    }

    if (b->len + len > b->cap) {
        cap = b->cap ? b->cap * 2 : 512;

        while (cap < b->len + len) {
            cap *= 2;
        }

        p = realloc(b->data, cap);
        if (p == NULL) {
            b->failed = 1;
            return;
        }

        b->data = p;
        b->cap = cap;
    }

    memcpy(b->data + b->len, data, len);
    b->len += len;
}


static void
alert_put_u64(alert_buf_t *b, uint64_t v)
{
    v = htole64(v);
    alert_put(b, &v, 8);
}


static void
alert_put_str(alert_buf_t *b, const char *s)
{
    size_t    len;
    uint16_t  n;

    len = strlen(s);

    if (len > 0xffff) {
        len = 0xffff;
    }

    n = htole16((uint16_t) len);

    alert_put(b, &n, 2);
    alert_put(b, s, len);
}


static uint8_t
alert_get_u8(alert_rd_t *r)
{
    if (r->failed || r->end - r->p < 1) {
        r->failed = 1;
        return 0;
    }

    return *r->p++;
}


static uint64_t
alert_get_u64(alert_rd_t *r)
{
    uint64_t  v;

    if (r->failed || r->end - r->p < 8) {
        r->failed = 1;
        return 0;
    }

    memcpy(&v, r->p, 8);
    r->p += 8;

    return le64toh(v);
}


/* copies a stored string into dst, cut to fit */

static void
alert_get_str(alert_rd_t *r, char *dst, size_t size)
{
    size_t    len, n;
    uint16_t  v;

    dst[0] = '\0';

    if (r->failed || r->end - r->p < 2) {
        r->failed = 1;
        return;
    }

    memcpy(&v, r->p, 2);
    r->p += 2;
    len = le16toh(v);

    if ((size_t) (r->end - r->p) < len) {
        r->failed = 1;
        return;
    }

    n = len < size - 1 ? len : size - 1;

    memcpy(dst, r->p, n);
    dst[n] = '\0';

    r->p += len;
}


static size_t
alert_index_key(uint8_t *buf, const char *rule, const char *key)
{
    size_t  rlen, klen;

    rlen = strnlen(rule, ALERT_RULE_MAX);
    klen = strnlen(key, ALERT_KEY_MAX);

    memcpy(buf, rule, rlen);
    buf[rlen] = '\0';
    memcpy(buf + rlen + 1, key, klen);

    return rlen + 1 + klen;
}


static void
alert_key_encode(uint8_t buf[8], uint64_t id)
{
    keryu_store_key_encode(buf, id);
}


static uint64_t
alert_key_decode(const uint8_t *buf)
{
    return keryu_store_key_decode(buf);
}
