
/*
 * Copyright (C) Keryu Security
 *
 * Access to the shared store.  Writers append batches of records with
 * MDB_APPEND and trim the ring in the same transaction, so a reader never
 * sees a ring over capacity, and a failed batch leaves no trace.
 */


#include <errno.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>

#include "keryu_record.h"
#include "keryu_store.h"


#define KERYU_STORE_MAXDBS  16


static int keryu_store_init_schema(keryu_store_t *st);
static size_t keryu_store_worker_key(char *key, uint64_t pid);
static void keryu_store_le_put(uint8_t *p, uint64_t v);
static uint64_t keryu_store_le_get(const uint8_t *p);


void
keryu_store_key_encode(uint8_t key[8], uint64_t n)
{
    int  i;

    for (i = 7; i >= 0; i--) {
        key[i] = (uint8_t) n;
        n >>= 8;
    }
}


uint64_t
keryu_store_key_decode(const uint8_t key[8])
{
    int       i;
    uint64_t  n;

    n = 0;

    for (i = 0; i < 8; i++) {
        n = (n << 8) | key[i];
    }

    return n;
}


int
keryu_store_open(keryu_store_t *st, const char *path, size_t mapsize,
    unsigned flags)
{
    int  rc;

    st->env = NULL;

    if (mkdir(path, 0700) == -1 && errno != EEXIST) {
        return errno;
    }

    rc = mdb_env_create(&st->env);
    if (rc != 0) {
        st->env = NULL;
        return rc;
    }

    rc = mdb_env_set_maxdbs(st->env, KERYU_STORE_MAXDBS);
    if (rc != 0) {
        goto env_close;
    }

    if (mapsize) {
        rc = mdb_env_set_mapsize(st->env, mapsize);
        if (rc != 0) {
            goto env_close;
        }
    }

    rc = mdb_env_open(st->env, path, flags | MDB_NOTLS, 0600);
    if (rc != 0) {
        goto env_close;
    }

    rc = keryu_store_init_schema(st);
    if (rc != 0) {
        goto env_close;
    }

    return 0;

env_close:

    mdb_env_close(st->env);
    st->env = NULL;

    return rc;
}


void
keryu_store_close(keryu_store_t *st)
{
    if (st->env) {
        mdb_env_close(st->env);
        st->env = NULL;
    }
}


/*
 * opens the databases, and stamps a new store with its schema and a random
 * identity; a store of another schema is refused before anything is written
 */

static int
keryu_store_init_schema(keryu_store_t *st)
{
    int       rc;
    MDB_txn  *txn;
    uint64_t  schema, id;

    rc = keryu_store_txn_begin(st, 0, &txn);
    if (rc != 0) {
        return rc;
    }

    rc = mdb_dbi_open(txn, "ring", MDB_CREATE, &st->ring);
    if (rc != 0) {
        goto txn_abort;
    }

    rc = mdb_dbi_open(txn, "meta", MDB_CREATE, &st->meta);
    if (rc != 0) {
        goto txn_abort;
    }

    rc = mdb_dbi_open(txn, "policies", MDB_CREATE, &st->policies);
    if (rc != 0) {
        goto txn_abort;
    }

    rc = mdb_dbi_open(txn, "keys", MDB_CREATE, &st->keys);
    if (rc != 0) {
        goto txn_abort;
    }

    rc = mdb_dbi_open(txn, "apikeys", MDB_CREATE, &st->apikeys);
    if (rc != 0) {
        goto txn_abort;
    }

    rc = mdb_dbi_open(txn, "blocks", MDB_CREATE, &st->blocks);
    if (rc != 0) {
        goto txn_abort;
    }

    rc = mdb_dbi_open(txn, "clients", MDB_CREATE, &st->clients);
    if (rc != 0) {
        goto txn_abort;
    }

    rc = mdb_dbi_open(txn, "nonces", MDB_CREATE, &st->nonces);
    if (rc != 0) {
        goto txn_abort;
    }

    rc = keryu_store_meta_get(st, txn, "schema", &schema);
    if (rc != 0) {
        goto txn_abort;
    }

    if (schema != 0 && schema != KERYU_STORE_SCHEMA) {
        rc = KERYU_STORE_EVERSION;
        goto txn_abort;
    }

    /* the handles live only if the transaction that opened them commits */

    if (schema != 0) {
        return mdb_txn_commit(txn);
    }

    if (getrandom(&id, sizeof(id), 0) != sizeof(id)) {
        rc = errno;
        goto txn_abort;
    }

    rc = keryu_store_meta_put(st, txn, "schema", KERYU_STORE_SCHEMA);
    if (rc != 0) {
        goto txn_abort;
    }

    rc = keryu_store_meta_put(st, txn, KERYU_META_STORE_ID, id | 1);
    if (rc != 0) {
        goto txn_abort;
    }

    /* a failed commit has freed the transaction already */

    return mdb_txn_commit(txn);

txn_abort:

    mdb_txn_abort(txn);

    return rc;
}


int
keryu_store_txn_begin(keryu_store_t *st, unsigned flags, MDB_txn **txn)
{
    int  rc;

    rc = mdb_txn_begin(st->env, NULL, flags, txn);

    if (rc == MDB_MAP_RESIZED) {
        rc = mdb_env_set_mapsize(st->env, 0);
        if (rc == 0) {
            rc = mdb_txn_begin(st->env, NULL, flags, txn);
        }
    }

    return rc;
}


int
keryu_store_append(keryu_store_t *st, MDB_txn *txn, const uint8_t *batch,
    size_t len, uint64_t capacity, keryu_store_append_t *res)
{
    int           rc;
    size_t        off, rlen;
    uint8_t       kbuf[8];
    uint64_t      seq, last, last_time;
    MDB_val       key, val;
    MDB_stat      ms;
    keryu_record_t  rec;

    memset(res, 0, sizeof(keryu_store_append_t));

    rc = keryu_store_meta_get(st, txn, KERYU_META_LAST_SEQ, &last);
    if (rc != 0) {
        return rc;
    }

    last_time = 0;

    for (off = 0; len - off >= 4; off += rlen) {
        rlen = batch[off] | batch[off + 1] << 8 | batch[off + 2] << 16
               | (size_t) batch[off + 3] << 24;
        off += 4;

        if (rlen > len - off || keryu_record_decode(&rec, batch + off, rlen)) {
            return EINVAL;
        }

        seq = rec.seq;

        if (seq <= last) {
            res->skipped++;
            continue;
        }

        keryu_store_key_encode(kbuf, seq);

        key.mv_size = 8;
        key.mv_data = kbuf;
        val.mv_size = rlen;
        val.mv_data = (void *) (batch + off);

        rc = mdb_put(txn, st->ring, &key, &val, MDB_APPEND);
        if (rc != 0) {
            return rc;
        }

        last = seq;
        last_time = rec.time_us;
        res->appended++;
    }

    if (off != len) {
        return EINVAL;
    }

    res->last_seq = last;

    if (res->appended == 0) {
        return 0;
    }

    rc = keryu_store_meta_put(st, txn, KERYU_META_LAST_SEQ, last);
    if (rc != 0) {
        return rc;
    }

    rc = keryu_store_meta_put(st, txn, KERYU_META_LAST_TIME, last_time);
    if (rc != 0) {
        return rc;
    }

    rc = mdb_stat(txn, st->ring, &ms);
    if (rc != 0) {
        return rc;
    }

    if (ms.ms_entries <= capacity) {
        return 0;
    }

    return keryu_store_trim(st, txn, ms.ms_entries - capacity, res);
}


int
keryu_store_trim(keryu_store_t *st, MDB_txn *txn, uint64_t n,
    keryu_store_append_t *res)
{
    int          rc;
    uint64_t     consumed, trimmed, dropped;
    MDB_val      key, val;
    MDB_cursor  *cur;

    rc = keryu_store_meta_get(st, txn, KERYU_META_CONSUMER_SEQ, &consumed);
    if (rc != 0) {
        return rc;
    }

    rc = mdb_cursor_open(txn, st->ring, &cur);
    if (rc != 0) {
        return rc;
    }

    trimmed = 0;
    dropped = 0;

    /* after a deletion, MDB_NEXT yields the record that followed it */

    for (rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST);
         rc == 0 && n;
         rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT))
    {
        if (keryu_store_key_decode(key.mv_data) > consumed) {
            dropped++;
        }

        rc = mdb_cursor_del(cur, 0);
        if (rc != 0) {
            break;
        }

        trimmed++;
        n--;
    }

    mdb_cursor_close(cur);

    if (rc == MDB_NOTFOUND) {
        rc = 0;
    }

    if (rc != 0) {
        return rc;
    }

    res->trimmed += trimmed;
    res->dropped += dropped;

    rc = keryu_store_meta_add(st, txn, KERYU_META_TRIMMED, trimmed);
    if (rc != 0) {
        return rc;
    }

    return keryu_store_meta_add(st, txn, KERYU_META_DROPPED, dropped);
}


int
keryu_store_make_room(keryu_store_t *st, keryu_store_append_t *res)
{
    int        rc;
    MDB_txn   *txn;
    MDB_stat   ms;

    memset(res, 0, sizeof(keryu_store_append_t));

    rc = keryu_store_txn_begin(st, 0, &txn);
    if (rc != 0) {
        return rc;
    }

    rc = mdb_stat(txn, st->ring, &ms);

    /*
     * deleting needs a few new pages itself; the copies that earlier
     * transactions left behind are usually enough
     */

    if (rc == 0) {
        rc = keryu_store_trim(st, txn, ms.ms_entries / 4 + 1, res);
    }

    if (rc == 0) {
        rc = keryu_store_meta_add(st, txn, KERYU_META_MAP_FULL, 1);
    }

    if (rc != 0) {
        mdb_txn_abort(txn);
        return rc;
    }

    return mdb_txn_commit(txn);
}


int
keryu_store_meta_get(keryu_store_t *st, MDB_txn *txn, const char *name,
    uint64_t *value)
{
    int       i, rc;
    MDB_val   key, val;
    uint8_t  *p;

    key.mv_size = strlen(name);
    key.mv_data = (void *) name;

    rc = mdb_get(txn, st->meta, &key, &val);

    if (rc == MDB_NOTFOUND) {
        *value = 0;
        return 0;
    }

    if (rc != 0) {
        return rc;
    }

    if (val.mv_size != 8) {
        return MDB_CORRUPTED;
    }

    p = val.mv_data;
    *value = 0;

    for (i = 7; i >= 0; i--) {
        *value = (*value << 8) | p[i];
    }

    return 0;
}


int
keryu_store_meta_put(keryu_store_t *st, MDB_txn *txn, const char *name,
    uint64_t value)
{
    int      i;
    MDB_val  key, val;
    uint8_t  buf[8];

    for (i = 0; i < 8; i++) {
        buf[i] = (uint8_t) (value >> (8 * i));
    }

    key.mv_size = strlen(name);
    key.mv_data = (void *) name;
    val.mv_size = 8;
    val.mv_data = buf;

    return mdb_put(txn, st->meta, &key, &val, 0);
}


int
keryu_store_meta_add(keryu_store_t *st, MDB_txn *txn, const char *name,
    uint64_t delta)
{
    int       rc;
    uint64_t  value;

    if (delta == 0) {
        return 0;
    }

    rc = keryu_store_meta_get(st, txn, name, &value);
    if (rc != 0) {
        return rc;
    }

    return keryu_store_meta_put(st, txn, name, value + delta);
}


/* "worker." and the pid in decimal; returns the key's length */

static size_t
keryu_store_worker_key(char *key, uint64_t pid)
{
    char    digits[20];
    size_t  n, len;

    n = 0;

    do {
        digits[n++] = (char) ('0' + pid % 10);
        pid /= 10;
    } while (pid);

    len = sizeof(KERYU_META_WORKER) - 1;
    memcpy(key, KERYU_META_WORKER, len);

    while (n) {
        key[len++] = digits[--n];
    }

    return len;
}


static void
keryu_store_le_put(uint8_t *p, uint64_t v)
{
    int  i;

    for (i = 0; i < 8; i++) {
        p[i] = (uint8_t) (v >> (8 * i));
    }
}


static uint64_t
keryu_store_le_get(const uint8_t *p)
{
    int       i;
    uint64_t  v;

    v = 0;

    for (i = 7; i >= 0; i--) {
        v = (v << 8) | p[i];
    }

    return v;
}


int
keryu_store_worker_put(keryu_store_t *st, MDB_txn *txn,
    const keryu_worker_t *w)
{
    char     kbuf[sizeof(KERYU_META_WORKER) + 20];
    MDB_val  key, val;
    uint8_t  buf[24];

    keryu_store_le_put(buf, w->config_version);
    keryu_store_le_put(buf + 8, w->block_version);
    keryu_store_le_put(buf + 16, w->time_us);

    key.mv_size = keryu_store_worker_key(kbuf, w->pid);
    key.mv_data = kbuf;
    val.mv_size = sizeof(buf);
    val.mv_data = buf;

    return mdb_put(txn, st->meta, &key, &val, 0);
}


int
keryu_store_worker_del(keryu_store_t *st, MDB_txn *txn, uint64_t pid)
{
    char     kbuf[sizeof(KERYU_META_WORKER) + 20];
    MDB_val  key;

    key.mv_size = keryu_store_worker_key(kbuf, pid);
    key.mv_data = kbuf;

    return mdb_del(txn, st->meta, &key, NULL);
}


int
keryu_store_workers(keryu_store_t *st, MDB_txn *txn,
    keryu_worker_pt handler, void *ctx)
{
    int              rc;
    size_t           i, plen;
    MDB_val          key, val;
    MDB_cursor      *cur;
    const char      *k;
    keryu_worker_t   w;

    rc = mdb_cursor_open(txn, st->meta, &cur);
    if (rc != 0) {
        return rc;
    }

    plen = sizeof(KERYU_META_WORKER) - 1;

    key.mv_size = plen;
    key.mv_data = (void *) KERYU_META_WORKER;

    for (rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);
         rc == 0;
         rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT))
    {
        k = key.mv_data;

        if (key.mv_size < plen || memcmp(k, KERYU_META_WORKER, plen) != 0) {
            rc = MDB_NOTFOUND;
            break;
        }

        if (key.mv_size == plen || key.mv_size > plen + 19
            || val.mv_size != 24)
        {
            continue;
        }

        w.pid = 0;

        for (i = plen; i < key.mv_size; i++) {
            if (k[i] < '0' || k[i] > '9') {
                break;
            }

            w.pid = w.pid * 10 + (uint64_t) (k[i] - '0');
        }

        if (i != key.mv_size || w.pid == 0) {
            continue;
        }

        w.config_version = keryu_store_le_get(val.mv_data);
        w.block_version = keryu_store_le_get((uint8_t *) val.mv_data + 8);
        w.time_us = keryu_store_le_get((uint8_t *) val.mv_data + 16);

        if (handler(ctx, &w) != 0) {
            rc = MDB_NOTFOUND;
            break;
        }
    }

    mdb_cursor_close(cur);

    return (rc == MDB_NOTFOUND) ? 0 : rc;
}


int
keryu_store_change(keryu_store_t *st, MDB_txn *txn, MDB_dbi dbi,
    const MDB_val *key, MDB_val *val, const char *version)
{
    int  rc;

    if (val) {
        rc = mdb_put(txn, dbi, (MDB_val *) key, val, 0);

    } else {
        rc = mdb_del(txn, dbi, (MDB_val *) key, NULL);
    }

    if (rc != 0) {
        return rc;
    }

    return keryu_store_meta_add(st, txn, version, 1);
}


int
keryu_store_prune_blocks(keryu_store_t *st, uint64_t now_us, size_t max,
    size_t *removed)
{
    int             rc;
    size_t          n;
    MDB_val         key, val;
    MDB_txn        *txn;
    MDB_cursor     *cur;
    keryu_block_t   b;

    *removed = 0;

    if (max == 0) {
        return 0;
    }

    rc = keryu_store_txn_begin(st, 0, &txn);
    if (rc != 0) {
        return rc;
    }

    rc = mdb_cursor_open(txn, st->blocks, &cur);
    if (rc != 0) {
        goto txn_abort;
    }

    n = 0;

    /*
     * after a deletion, MDB_NEXT yields the block that followed it
     * XXX each call reads every block under the write lock
     */

    for (rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST);
         rc == 0 && n < max;
         rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT))
    {
        if (keryu_block_decode(&b, val.mv_data, val.mv_size) == -1
            || b.expires_us == 0 || b.expires_us > now_us)
        {
            continue;
        }

        rc = mdb_cursor_del(cur, 0);
        if (rc != 0) {
            break;
        }

        n++;
    }

    mdb_cursor_close(cur);

    /* the loop ends at the last block, or with max reached and rc 0 */

    if (rc != 0 && rc != MDB_NOTFOUND) {
        goto txn_abort;
    }

    if (n == 0) {
        mdb_txn_abort(txn);
        return 0;
    }

    rc = keryu_store_meta_add(st, txn, KERYU_META_BLOCK_VERSION, 1);
    if (rc != 0) {
        goto txn_abort;
    }

    /* a failed commit has freed the transaction already */

    rc = mdb_txn_commit(txn);
    if (rc != 0) {
        return rc;
    }

    *removed = n;

    return 0;

txn_abort:

    mdb_txn_abort(txn);

    return rc;
}


size_t
keryu_block_key_addr(uint8_t *key, int family, const uint8_t *addr,
    unsigned prefix)
{
    unsigned  i;
    uint8_t  *a;

    a = key + 2;

    if (family == 4) {
        if (prefix > 32) {
            return 0;
        }

        memset(a, 0, 10);
        a[10] = 0xff;
        a[11] = 0xff;
        memcpy(a + 12, addr, 4);
        prefix += 96;

    } else if (family == 6) {
        if (prefix > 128) {
            return 0;
        }

        memcpy(a, addr, 16);

    } else {
        return 0;
    }

    for (i = 0; i < 16; i++) {
        if (prefix <= 8 * i) {
            a[i] = 0;

        } else if (prefix < 8 * (i + 1)) {
            a[i] &= (uint8_t) (0xff << (8 * (i + 1) - prefix));
        }
    }

    key[0] = KERYU_BLOCK_ADDR;
    key[1] = (uint8_t) prefix;

    return 18;
}


size_t
keryu_block_key_user(uint8_t *key, const char *user, size_t len)
{
    if (len == 0 || len > KERYU_BLOCK_KEY_MAX - 1) {
        return 0;
    }

    key[0] = KERYU_BLOCK_USER;
    memcpy(key + 1, user, len);

    return len + 1;
}


size_t
keryu_block_encode(const keryu_block_t *b, uint8_t *buf)
{
    int     i;
    size_t  len;

    for (i = 0; i < 8; i++) {
        buf[i] = (uint8_t) (b->expires_us >> (8 * i));
        buf[8 + i] = (uint8_t) (b->created_us >> (8 * i));
    }

    len = b->reason_len < KERYU_BLOCK_REASON_MAX
          ? b->reason_len : KERYU_BLOCK_REASON_MAX;

    memcpy(buf + 16, b->reason, len);

    return 16 + len;
}


int
keryu_block_decode(keryu_block_t *b, const uint8_t *buf, size_t len)
{
    int  i;

    if (len < 16 || len > 16 + KERYU_BLOCK_REASON_MAX) {
        return -1;
    }

    b->expires_us = 0;
    b->created_us = 0;

    for (i = 7; i >= 0; i--) {
        b->expires_us = (b->expires_us << 8) | buf[i];
        b->created_us = (b->created_us << 8) | buf[8 + i];
    }

    b->reason = (const char *) buf + 16;
    b->reason_len = len - 16;

    return 0;
}


const char *
keryu_store_strerror(int rc)
{
    if (rc == KERYU_STORE_EVERSION) {
        return "store schema is not supported by this version";
    }

    return mdb_strerror(rc);
}


int
keryu_store_sealing_get(keryu_store_t *st, MDB_txn *txn, uint64_t *version,
    uint8_t pub[KERYU_SEALING_PUBLIC_LEN])
{
    int       i, rc;
    MDB_val   key, val;
    uint8_t  *p;

    key.mv_size = sizeof(KERYU_META_SEALING) - 1;
    key.mv_data = (void *) KERYU_META_SEALING;

    rc = mdb_get(txn, st->meta, &key, &val);
    if (rc != 0) {
        return rc;
    }

    if (val.mv_size != 8 + KERYU_SEALING_PUBLIC_LEN) {
        return MDB_CORRUPTED;
    }

    p = val.mv_data;
    *version = 0;

    for (i = 7; i >= 0; i--) {
        *version = (*version << 8) | p[i];
    }

    memcpy(pub, p + 8, KERYU_SEALING_PUBLIC_LEN);

    return 0;
}


int
keryu_store_sealing_put(keryu_store_t *st, MDB_txn *txn, uint64_t version,
    const uint8_t pub[KERYU_SEALING_PUBLIC_LEN])
{
    int       i;
    uint8_t   buf[8 + KERYU_SEALING_PUBLIC_LEN];
    MDB_val   key, val;

    for (i = 0; i < 8; i++) {
        buf[i] = (uint8_t) (version >> (8 * i));
    }

    memcpy(buf + 8, pub, KERYU_SEALING_PUBLIC_LEN);

    key.mv_size = sizeof(KERYU_META_SEALING) - 1;
    key.mv_data = (void *) KERYU_META_SEALING;
    val.mv_size = sizeof(buf);
    val.mv_data = buf;

    return keryu_store_change(st, txn, st->meta, &key, &val,
                              KERYU_META_CONFIG_VERSION);
}
