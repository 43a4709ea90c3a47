/*
 * Copyright (C) Keryu Security
 *
 * The consumer: it moves records from the shared ring into keryud's own
 * store.  One call of consume_batch() reads up to "batch" records in a
 * read transaction on the shared store and writes them, with the new
 * cursor, in one write transaction on keryud's own; the cursor, the
 * records it covers, their index entries (store.c) and their links in
 * the hash chain (chain.c) commit together, so a crash or restart neither
 * loses nor doubles a record that was read, nor leaves one unchained.
 *
 * The cursor is the pair (store_id, last sequence number read).  A store
 * with another store_id is read from its start, while keryud's own ids
 * keep counting.  Sequence numbers that are missing from the ring, because
 * writers trimmed them before keryud read them or lost them, are counted
 * as lost.  Writers number records from 1, so everything before the first
 * record keryud sees in a new store counts as lost too.
 *
 * Detection and the response to it (respond.c) see a batch's records only
 * once they are stored: after the commit, the batch is read back from
 * keryud's own store, so that alerts name records by keryud's ids.  What
 * cannot be answered is logged and skipped; it never holds up
 * consumption.
 *
 * The counters behind the metrics (cs_stats) grow as records are stored:
 * by event type, and by the decision and rule the module wrote into a
 * record's details.  A batch's counts are kept apart until its commit, so
 * that a batch read again after a failure is not counted twice.
 */


#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>

#include "keryud.h"
#include "chain.h"
#include "keys.h"
#include "respond.h"
#include "log.h"


/* repeated store failures are logged at most once a minute */
#define CONSUME_WARN_INTERVAL  60


static int consume_rtxn(consumer_t *cs);
static int consume_quiet(consumer_t *cs);
static void consume_ack(consumer_t *cs, uint64_t seq);
static int consume_count(consume_stats_t *st, const keryu_record_t *rec);
static const uint8_t *consume_value(const uint8_t *p, const uint8_t *end,
    const char *key, size_t klen, size_t *len);
static consume_rule_t *consume_rule(consume_stats_t *st, const uint8_t *name,
    size_t len);
static void consume_settle(consume_stats_t *st, int keep);


int
consume_init(consumer_t *cs, keryu_store_t *src, store_t *dst,
    uint64_t batch)
{
    memset(cs, 0, sizeof(consumer_t));

    cs->cs_src = src;
    cs->cs_dst = dst;
    cs->cs_batch = batch;

    cs->cs_rbuf = malloc(sizeof(store_rbuf_t));
    cs->cs_out = malloc(KERYU_RECORD_SEALED_MAX_SIZE);

    if (cs->cs_rbuf == NULL || cs->cs_out == NULL) {
        consume_free(cs);
        return -1;
    }

    memcpy(cs->cs_stats.rules[CONSUME_RULES_MAX].name, "other",
           sizeof("other"));
    cs->cs_stats.rules[CONSUME_RULES_MAX].len = sizeof("other") - 1;

    return 0;
}


void
consume_free(consumer_t *cs)
{
    if (cs->cs_rtxn) {
        mdb_txn_abort(cs->cs_rtxn);
        cs->cs_rtxn = NULL;
    }

    store_ibatch_free(&cs->cs_index);
    chain_free(&cs->cs_chain);

    if (cs->cs_rbuf) {
        OPENSSL_cleanse(cs->cs_rbuf, sizeof(store_rbuf_t));
        free(cs->cs_rbuf);
        cs->cs_rbuf = NULL;
    }

    free(cs->cs_out);
    cs->cs_out = NULL;
}


/* begins the read transaction, or renews the one kept from last time */

static int
consume_rtxn(consumer_t *cs)
{
    int  rc;

    if (cs->cs_rtxn) {
        rc = mdb_txn_renew(cs->cs_rtxn);
        if (rc == 0) {
            return 0;
        }

        mdb_txn_abort(cs->cs_rtxn);
        cs->cs_rtxn = NULL;

        /* another process grew the map: keryu_store_txn_begin adopts it */

        if (rc != MDB_MAP_RESIZED) {
            return rc;
        }
    }

    return keryu_store_txn_begin(cs->cs_src, MDB_RDONLY, &cs->cs_rtxn);
}


static int
consume_quiet(consumer_t *cs)
{
    time_t  now;

    now = time(NULL);

    if (cs->cs_warned && now - cs->cs_warned < CONSUME_WARN_INTERVAL) {
        return 1;
    }

    cs->cs_warned = now;

    return 0;
}


int
consume_batch(consumer_t *cs, consume_res_t *res)
{
    int              rc, changed, ruled;
    size_t           olen;
    unsigned         i;
    store_t         *dst;
    uint8_t          kbuf[8], ibuf[8];
    MDB_val          key, val, ikey, sval;
    MDB_txn         *wtxn;
    uint64_t         store_id, src_id, src_seq, next_id, consumed, lost,
                     invalid, unsealable, seq, expect, gap_lo, gap_hi,
                     bad_seq, sealed_seq, first_id, events[KERYU_EVENT_MAX];
    MDB_cursor      *cur;
    keryu_store_t   *src;
    keryu_record_t   rec;
    struct timespec  ts;

    src = cs->cs_src;
    dst = cs->cs_dst;

    memset(res, 0, sizeof(consume_res_t));
    store_ibatch_reset(&cs->cs_index);

    ruled = 0;

    if (src->env == NULL) {
        return -1;
    }

    rc = consume_rtxn(cs);
    if (rc != 0) {
        if (!consume_quiet(cs)) {
            log_warnx("%s: mdb_txn_begin() on shared store failed: %s",
                      __func__, keryu_store_strerror(rc));
        }

        return -1;
    }

    rc = keryu_store_meta_get(src, cs->cs_rtxn, KERYU_META_STORE_ID,
                              &store_id);
    if (rc != 0) {
        log_warnx("%s: reading shared store_id failed: %s", __func__,
                  keryu_store_strerror(rc));
        goto rtxn_reset;
    }

    rc = store_txn_begin(dst, 0, &wtxn);
    if (rc != 0) {
        log_warnx("%s: mdb_txn_begin() failed: %s", __func__,
                  mdb_strerror(rc));
        goto rtxn_reset;
    }

    if ((rc = store_meta_get(dst, wtxn, STORE_META_SRC_ID, &src_id))
        || (rc = store_meta_get(dst, wtxn, STORE_META_SRC_SEQ, &src_seq))
        || (rc = store_meta_get(dst, wtxn, STORE_META_NEXT_ID, &next_id))
        || (rc = store_meta_get(dst, wtxn, STORE_META_CONSUMED, &consumed))
        || (rc = store_meta_get(dst, wtxn, STORE_META_LOST, &lost))
        || (rc = store_meta_get(dst, wtxn, STORE_META_INVALID, &invalid))
        || (rc = store_meta_get(dst, wtxn, STORE_META_UNSEALABLE,
                                &unsealable)))
    {
        log_warnx("%s: reading own meta failed: %s", __func__,
                  mdb_strerror(rc));
        goto wtxn_abort;
    }

    rc = chain_begin(&cs->cs_chain, dst, wtxn, next_id);
    if (rc != 0) {
        log_warnx("%s: reading the hash chain failed: %s", __func__,
                  mdb_strerror(rc));
        goto wtxn_abort;
    }

    changed = 0;

    if (src_id != store_id) {
        if (src_id == 0) {
            log_info("reading shared store %016llx from its start",
                     (unsigned long long) store_id);

        } else {
            log_info("shared store replaced, id %016llx (was %016llx), "
                     "reading it from its start",
                     (unsigned long long) store_id,
                     (unsigned long long) src_id);
        }

        src_id = store_id;
        src_seq = 0;
        changed = 1;
    }

    rc = mdb_cursor_open(cs->cs_rtxn, src->ring, &cur);
    if (rc != 0) {
        log_warnx("%s: mdb_cursor_open() failed: %s", __func__,
                  mdb_strerror(rc));
        goto wtxn_abort;
    }

    expect = src_seq + 1;
    first_id = next_id;
    gap_lo = 0;
    gap_hi = 0;
    bad_seq = 0;
    sealed_seq = 0;

    memset(events, 0, sizeof(events));

    keryu_store_key_encode(kbuf, expect);

    key.mv_size = 8;
    key.mv_data = kbuf;

    for (rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);
         rc == 0 && res->read < cs->cs_batch;
         rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT))
    {
        if (key.mv_size != 8) {
            rc = MDB_CORRUPTED;
            break;
        }

        seq = keryu_store_key_decode(key.mv_data);

        if (seq > expect) {
            if (res->lost == 0) {
                gap_lo = expect - 1;
            }

            gap_hi = seq;
            res->lost += seq - expect;
        }

        res->read++;
        expect = seq + 1;

        if (keryu_record_decode(&rec, val.mv_data, val.mv_size) == -1
            || rec.seq != seq)
        {
            if (res->invalid++ == 0) {
                bad_seq = seq;
            }

            continue;
        }

        /*
         * a worker's seal is opened with the sealing key of its version;
         * one that does not open is stored as it came, still sealed
         */

        if ((rec.flags & KERYU_RECORD_F_SEALED)
            && store_record_open(dst, &rec, val.mv_data, cs->cs_rbuf) != 0)
        {
            if (res->unsealable++ == 0) {
                sealed_seq = seq;
            }
        }

        sval = val;

        if (!(rec.flags & KERYU_RECORD_F_LOCKED)) {
            rc = store_record_encrypt(dst, &rec, cs->cs_out, &olen,
                                      cs->cs_rbuf);

            if (rc == 0) {
                sval.mv_size = olen;
                sval.mv_data = cs->cs_out;

            } else if (rc != 1) {

                /* never stored in the clear once there is a master key */

                log_warnx("%s: encrypting record of seq %llu failed: %s",
                          __func__, (unsigned long long) seq,
                          keys_strerror(rc));
                rc = EIO;
                break;
            }
        }

        keryu_store_key_encode(ibuf, next_id);

        ikey.mv_size = 8;
        ikey.mv_data = ibuf;

        rc = mdb_put(wtxn, dst->logs, &ikey, &sval, MDB_APPEND);
        if (rc != 0) {
            break;
        }

        rc = chain_add(&cs->cs_chain, next_id, sval.mv_data, sval.mv_size);
        if (rc != 0) {
            break;
        }

        rc = store_ibatch_add(&cs->cs_index, dst, wtxn, next_id, &rec);
        if (rc != 0) {
            break;
        }

        next_id++;
        res->stored++;

        events[rec.type]++;
        ruled |= consume_count(&cs->cs_stats, &rec);
    }

    mdb_cursor_close(cur);

    if (rc == 0 || rc == MDB_NOTFOUND) {
        rc = store_ibatch_write(&cs->cs_index, wtxn);
    }

    if (rc == 0 && res->stored) {
        clock_gettime(CLOCK_REALTIME, &ts);

        rc = chain_checkpoint(&cs->cs_chain, dst, wtxn,
                              (uint64_t) ts.tv_sec * 1000000
                              + (uint64_t) ts.tv_nsec / 1000);
    }

    if (rc != 0 && rc != MDB_NOTFOUND) {
        if (!consume_quiet(cs)) {
            log_warnx("%s: reading ring into own store failed: %s%s",
                      __func__, mdb_strerror(rc),
                      rc == MDB_MAP_FULL ? ", raise \"data_size\"" : "");
        }

        goto wtxn_abort;
    }

    if (res->read == 0 && !changed) {
        mdb_txn_abort(wtxn);
        mdb_txn_reset(cs->cs_rtxn);
        res->last_seq = src_seq;
        return 0;
    }

    src_seq = expect - 1;

    if ((rc = store_meta_put(dst, wtxn, STORE_META_SRC_ID, src_id))
        || (rc = store_meta_put(dst, wtxn, STORE_META_SRC_SEQ, src_seq))
        || (rc = store_meta_put(dst, wtxn, STORE_META_NEXT_ID, next_id))
        || (rc = store_meta_put(dst, wtxn, STORE_META_CONSUMED,
                                consumed + res->stored))
        || (rc = store_meta_put(dst, wtxn, STORE_META_LOST,
                                lost + res->lost))
        || (rc = store_meta_put(dst, wtxn, STORE_META_INVALID,
                                invalid + res->invalid))
        || (rc = store_meta_put(dst, wtxn, STORE_META_UNSEALABLE,
                                unsealable + res->unsealable)))
    {
        if (!consume_quiet(cs)) {
            log_warnx("%s: writing own meta failed: %s%s", __func__,
                      mdb_strerror(rc),
                      rc == MDB_MAP_FULL ? ", raise \"data_size\"" : "");
        }

        goto wtxn_abort;
    }

    /* a failed commit has freed the transaction already */

    rc = mdb_txn_commit(wtxn);
    if (rc != 0) {
        if (!consume_quiet(cs)) {
            log_warnx("%s: mdb_txn_commit() failed: %s%s", __func__,
                      mdb_strerror(rc),
                      rc == MDB_MAP_FULL ? ", raise \"data_size\"" : "");
        }

        goto rtxn_reset;
    }

    mdb_txn_reset(cs->cs_rtxn);

    for (i = 0; i < KERYU_EVENT_MAX; i++) {
        cs->cs_stats.events[i] += events[i];
    }

    if (ruled) {
        consume_settle(&cs->cs_stats, 1);
    }

    if (cs->cs_respond) {
        respond_batch(cs->cs_respond, first_id, next_id - 1);

        if (res->lost) {
            respond_loss(cs->cs_respond, res->lost, gap_lo, gap_hi);
        }
    }

    res->last_seq = src_seq;

    if (res->lost) {
        log_warnx("log loss: %llu records between %llu and %llu",
                  (unsigned long long) res->lost,
                  (unsigned long long) gap_lo, (unsigned long long) gap_hi);
    }

    if (res->invalid) {
        log_warnx("skipped %llu records that do not decode, first seq %llu",
                  (unsigned long long) res->invalid,
                  (unsigned long long) bad_seq);
    }

    if (res->unsealable) {
        log_warnx("stored %llu sealed records that do not open, "
                  "first seq %llu", (unsigned long long) res->unsealable,
                  (unsigned long long) sealed_seq);
    }

    log_debug("%s: read %llu, stored %llu, last seq %llu", __func__,
              (unsigned long long) res->read,
              (unsigned long long) res->stored,
              (unsigned long long) src_seq);

    if (res->read) {
        consume_ack(cs, src_seq);
    }

    return 0;

wtxn_abort:

    mdb_txn_abort(wtxn);

rtxn_reset:

    mdb_txn_reset(cs->cs_rtxn);

    if (ruled) {
        consume_settle(&cs->cs_stats, 0);
    }

    return -1;
}


/*
 * tells writers how far keryud has read, so that they can count evictions
 * of records nobody read; best effort, the next batch tries again
 */

static void
consume_ack(consumer_t *cs, uint64_t seq)
{
    int       rc;
    MDB_txn  *txn;

    rc = keryu_store_txn_begin(cs->cs_src, 0, &txn);
    if (rc != 0) {
        goto failed;
    }

    rc = keryu_store_meta_put(cs->cs_src, txn, KERYU_META_CONSUMER_SEQ, seq);
    if (rc != 0) {
        mdb_txn_abort(txn);
        goto failed;
    }

    rc = mdb_txn_commit(txn);
    if (rc != 0) {
        goto failed;
    }

    return;

failed:

    if (!consume_quiet(cs)) {
        log_warnx("%s: writing consumer_seq to shared store failed: %s",
                  __func__, keryu_store_strerror(rc));
    }
}


/*
 * counts a stored record under the decision and rule in its details, as
 * the module writes them: {"reason":..,"rule":..,"shadow":..,"block":..}.
 * A "shadow" rule would have denied a request that was let through; a
 * "reason" comes only with a denial.  Returns 1 if the record was counted,
 * 0 for one without a rule.
 */

static int
consume_count(consume_stats_t *st, const keryu_record_t *rec)
{
    int              decision;
    size_t           rlen, slen, len;
    const uint8_t   *p, *end, *rule, *shadow, *reason;
    consume_rule_t  *r;

    p = rec->details.data;
    end = p + rec->details.len;

    if (rec->details.len < sizeof("{\"rule\":\"\"}") - 1) {
        return 0;
    }

    rule = consume_value(p, end, "rule", 4, &rlen);
    if (rule == NULL) {
        return 0;
    }

    shadow = consume_value(p, end, "shadow", 6, &slen);
    reason = consume_value(p, end, "reason", 6, &len);

    if (shadow) {
        decision = CONSUME_SHADOW_DENY;
        rule = shadow;
        rlen = slen;

    } else if (reason) {
        decision = (len == 6 && memcmp(reason, "shadow", 6) == 0)
                   ? CONSUME_SHADOW_DENY : CONSUME_DENY;

    } else {
        decision = CONSUME_ALLOW;
    }

    r = consume_rule(st, rule, rlen);
    r->pending[decision]++;

    return 1;
}


/*
 * finds "key":"value" in the JSON object at p and returns the value's
 * first byte, its length, escapes and all, in len; NULL if it is not
 * there.  A quote inside a JSON string is escaped, so the pattern only
 * matches where a key starts.
 */

static const uint8_t *
consume_value(const uint8_t *p, const uint8_t *end, const char *key,
    size_t klen, size_t *len)
{
    const uint8_t  *v;

    for ( ;; ) {
        p = memchr(p, '"', end - p);

        if (p == NULL || (size_t) (end - p) < klen + 4) {
            return NULL;
        }

        p++;

        if (memcmp(p, key, klen) != 0 || p[klen] != '"' || p[klen + 1] != ':'
            || p[klen + 2] != '"')
        {
            continue;
        }

        v = p + klen + 3;

        for (p = v; p < end && *p != '"'; p++) {
            if (*p == '\\' && p + 1 < end) {
                p++;
            }
        }

        if (p >= end) {
            return NULL;
        }

        *len = p - v;

        return v;
    }
}


/*
 * the entry of a rule, made when it is new; an empty rule (the module had
 * none to name) is "none", and a full table or a name of other than
 * A-Z a-z 0-9 . _ - / (escapes included) gets "other"
 */

static consume_rule_t *
consume_rule(consume_stats_t *st, const uint8_t *name, size_t len)
{
    size_t           i;
    uint32_t         h;
    consume_rule_t  *r, *other;

    other = &st->rules[CONSUME_RULES_MAX];

    if (len == 0) {
        name = (const uint8_t *) "none";
        len = 4;
    }

    if (len > CONSUME_RULE_LEN) {
        return other;
    }

    h = 2166136261u;

    for (i = 0; i < len; i++) {
        if (!((name[i] >= 'a' && name[i] <= 'z')
              || (name[i] >= 'A' && name[i] <= 'Z')
              || (name[i] >= '0' && name[i] <= '9')
              || name[i] == '.' || name[i] == '_' || name[i] == '-'
              || name[i] == '/'))
        {
            return other;
        }

        h = (h ^ name[i]) * 16777619u;
    }

    if (len == other->len && memcmp(name, other->name, len) == 0) {
        return other;
    }

    /* the table has twice the slots of entries: a free one always comes */

    for (i = h & (CONSUME_RULE_SLOTS - 1);
         st->slots[i];
         i = (i + 1) & (CONSUME_RULE_SLOTS - 1))
    {
        r = &st->rules[st->slots[i] - 1];

        if (r->len == len && memcmp(r->name, name, len) == 0) {
            return r;
        }
    }

    if (st->nrules == CONSUME_RULES_MAX) {
        return other;
    }

    r = &st->rules[st->nrules++];

    memcpy(r->name, name, len);
    r->name[len] = '\0';
    r->len = len;

    st->slots[i] = (uint16_t) st->nrules;

    return r;
}


/* adds the counts of a committed batch, or drops those of a failed one */

static void
consume_settle(consume_stats_t *st, int keep)
{
    unsigned         i, d, n;
    consume_rule_t  *r;

    n = st->nrules;

    for (i = 0; i <= n; i++) {
        r = (i < n) ? &st->rules[i] : &st->rules[CONSUME_RULES_MAX];

        for (d = 0; d < CONSUME_DECISIONS; d++) {
            if (keep) {
                r->count[d] += r->pending[d];
            }

            r->pending[d] = 0;
        }
    }
}
