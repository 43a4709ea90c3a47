
/*
 * Copyright (C) Keryu Security
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_keryu_module.h"


#define NGX_HTTP_KERYU_WRAP  0xffffffff


static ngx_int_t ngx_http_keryu_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);
static ngx_int_t ngx_http_keryu_init_seq(ngx_http_keryu_main_conf_t *kmcf,
    ngx_log_t *log);
static void ngx_http_keryu_flush(ngx_http_keryu_main_conf_t *kmcf,
    ngx_log_t *log);
static void ngx_http_keryu_flush_handler(ngx_event_t *ev);
static int ngx_http_keryu_report(ngx_http_keryu_main_conf_t *kmcf,
    MDB_txn *txn);
static void ngx_http_keryu_publish(ngx_http_keryu_main_conf_t *kmcf,
    ngx_log_t *log);
static void ngx_http_keryu_store_error(ngx_http_keryu_main_conf_t *kmcf,
    ngx_log_t *log, const char *call, int rc);
static void ngx_http_keryu_seal_refresh(ngx_http_keryu_main_conf_t *kmcf,
    ngx_log_t *log);
static void ngx_http_keryu_make_room(ngx_http_keryu_main_conf_t *kmcf,
    ngx_log_t *log);
static ngx_int_t ngx_http_keryu_chown(ngx_cycle_t *cycle, u_char *path,
    ngx_uid_t user, ngx_gid_t group);


char *
ngx_http_keryu_store_conf(ngx_conf_t *cf, ngx_http_keryu_main_conf_t *kmcf,
    ngx_str_t *value, ngx_uint_t n)
{
    ssize_t          size;
    ngx_int_t        ring, flush;
    ngx_str_t        s, name;
    ngx_uint_t       i;
    ngx_file_info_t  fi;

    kmcf->path = value[1];

    if (ngx_conf_full_name(cf->cycle, &kmcf->path, 0) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    size = 256 * 1024 * 1024;
    ring = 100000;
    flush = 50;

    for (i = 2; i < n; i++) {

        if (ngx_strncmp(value[i].data, "size=", 5) == 0) {
            s.len = value[i].len - 5;
            s.data = value[i].data + 5;

            size = ngx_parse_size(&s);

            if (size == NGX_ERROR) {
                goto invalid;
            }

            if (size < 1024 * 1024) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "store size \"%V\" is too small", &value[i]);
                return NGX_CONF_ERROR;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "ring=", 5) == 0) {
            ring = ngx_atoi(value[i].data + 5, value[i].len - 5);

            if (ring == NGX_ERROR || ring == 0) {
                goto invalid;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "flush=", 6) == 0) {
            s.len = value[i].len - 6;
            s.data = value[i].data + 6;

            flush = ngx_parse_time(&s, 0);

            if (flush == NGX_ERROR || flush == 0) {
                goto invalid;
            }

            continue;
        }

        goto invalid;
    }

    kmcf->size = size;
    kmcf->ring = ring;
    kmcf->flush = flush;

    /*
     * the directory is made here so that "nginx -t" reports an unusable
     * path; the environment itself is opened by each worker after fork
     */

    if (ngx_file_info(kmcf->path.data, &fi) == NGX_FILE_ERROR) {

        if (ngx_errno != NGX_ENOENT) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                               ngx_file_info_n " \"%s\" failed",
                               kmcf->path.data);
            return NGX_CONF_ERROR;
        }

        if (ngx_create_dir(kmcf->path.data, 0700) == NGX_FILE_ERROR) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                               ngx_create_dir_n " \"%s\" failed",
                               kmcf->path.data);
            return NGX_CONF_ERROR;
        }

    } else if (!ngx_is_dir(&fi)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "store \"%s\" is not a directory", kmcf->path.data);
        return NGX_CONF_ERROR;

    } else if (access((char *) kmcf->path.data, R_OK|W_OK|X_OK) != 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           "access() \"%s\" failed", kmcf->path.data);
        return NGX_CONF_ERROR;
    }

    ngx_str_set(&name, "keryu_staging");

    kmcf->shm_zone = ngx_shared_memory_add(cf, &name,
                                           2 * NGX_HTTP_KERYU_STAGING_SIZE,
                                           &ngx_http_keryu_module);
    if (kmcf->shm_zone == NULL) {
        return NGX_CONF_ERROR;
    }

    kmcf->shm_zone->init = ngx_http_keryu_init_zone;
    kmcf->shm_zone->data = kmcf;

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid parameter \"%V\"", &value[i]);

    return NGX_CONF_ERROR;
}


static ngx_int_t
ngx_http_keryu_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_http_keryu_staging_t  *ostg = data;

    ngx_slab_pool_t           *shpool;
    ngx_http_keryu_staging_t  *stg;

    /* on reload the staged records and the sequence carry over */

    if (ostg) {
        shm_zone->data = ostg;
        return NGX_OK;
    }

    shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (shm_zone->shm.exists) {
        shm_zone->data = shpool->data;
        return NGX_OK;
    }

    stg = ngx_slab_calloc(shpool, sizeof(ngx_http_keryu_staging_t)
                                  + NGX_HTTP_KERYU_STAGING_SIZE);
    if (stg == NULL) {
        return NGX_ERROR;
    }

    stg->size = NGX_HTTP_KERYU_STAGING_SIZE;

    shpool->data = stg;
    shm_zone->data = stg;

    return NGX_OK;
}


ngx_int_t
ngx_http_keryu_store_init_module(ngx_cycle_t *cycle,
    ngx_http_keryu_main_conf_t *kmcf)
{
    u_char           *file;
    ngx_uint_t        i;
    ngx_core_conf_t  *ccf;

    static char      *files[] = { "data.mdb", "lock.mdb" };

    ccf = (ngx_core_conf_t *) ngx_get_conf(cycle->conf_ctx, ngx_core_module);

    if (geteuid() != 0 || ccf->user == (ngx_uid_t) NGX_CONF_UNSET_UINT) {
        return NGX_OK;
    }

    /* workers open the store with their own credentials */

    if (ngx_http_keryu_chown(cycle, kmcf->path.data, ccf->user, ccf->group)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    file = ngx_pnalloc(cycle->pool, kmcf->path.len + sizeof("/data.mdb"));
    if (file == NULL) {
        return NGX_ERROR;
    }

    for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        ngx_sprintf(file, "%V/%s%Z", &kmcf->path, files[i]);

        if (access((char *) file, F_OK) == 0
            && ngx_http_keryu_chown(cycle, file, ccf->user, ccf->group)
               != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_keryu_chown(ngx_cycle_t *cycle, u_char *path, ngx_uid_t user,
    ngx_gid_t group)
{
    if (chown((char *) path, user, group) == -1) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, ngx_errno,
                      "chown(\"%s\", %d) failed", path, user);
        return NGX_ERROR;
    }

    return NGX_OK;
}


ngx_int_t
ngx_http_keryu_store_init_worker(ngx_cycle_t *cycle,
    ngx_http_keryu_main_conf_t *kmcf)
{
    int  rc;

    kmcf->staging = kmcf->shm_zone->data;
    kmcf->shpool = (ngx_slab_pool_t *) kmcf->shm_zone->shm.addr;

    kmcf->batch = ngx_alloc(NGX_HTTP_KERYU_STAGING_SIZE, cycle->log);
    if (kmcf->batch == NULL) {
        return NGX_ERROR;
    }

    /*
     * commits reach the disk when keryud syncs the store, and pages are
     * written in place rather than copied and written again
     */

    rc = keryu_store_open(&kmcf->store, (char *) kmcf->path.data, kmcf->size,
                          MDB_NOSYNC|MDB_WRITEMAP|MDB_MAPASYNC);
    if (rc != 0) {
        ngx_log_error(NGX_LOG_ALERT, cycle->log, 0,
                      "keryu store \"%V\" cannot be opened: %s, "
                      "requests are not recorded",
                      &kmcf->path, keryu_store_strerror(rc));
        return NGX_OK;
    }

    if (ngx_http_keryu_init_seq(kmcf, cycle->log) != NGX_OK) {
        keryu_store_close(&kmcf->store);
        return NGX_OK;
    }

    kmcf->open = 1;

    kmcf->sealer = ngx_alloc(sizeof(keryu_sealer_t), cycle->log);

    if (kmcf->sealer && keryu_sealer_init(kmcf->sealer) != 0) {
        ngx_log_error(NGX_LOG_ALERT, cycle->log, 0,
                      "keryu: the sealer cannot be set up, "
                      "records are not sealed");
        ngx_free(kmcf->sealer);
        kmcf->sealer = NULL;
    }

    ngx_http_keryu_seal_refresh(kmcf, cycle->log);

    if (kmcf->enforce && kmcf->token_cache != 0) {
        kmcf->state.tokens = keryu_jwt_cache_create(
                                 kmcf->token_cache == NGX_CONF_UNSET
                                 ? 1024 : (size_t) kmcf->token_cache);
        if (kmcf->state.tokens == NULL) {
            ngx_log_error(NGX_LOG_ALERT, cycle->log, 0,
                          "keryu: no token cache, every token is verified");
        }
    }

    /*
     * an enforcing worker compiles the set now and reports it with the
     * first flush, so the store knows what every worker enforces
     */

    if (kmcf->enforce) {
        (void) ngx_http_keryu_refresh(kmcf, cycle->log);
    }

    /* the configuration this generation of workers runs, once */

    if (ngx_worker == 0) {
        ngx_http_keryu_publish(kmcf, cycle->log);
    }

    /* records that a killed worker staged are committed without delay */

    ngx_http_keryu_flush(kmcf, cycle->log);

    kmcf->flush_event.handler = ngx_http_keryu_flush_handler;
    kmcf->flush_event.data = kmcf;
    kmcf->flush_event.log = cycle->log;
    kmcf->flush_event.cancelable = 1;

    ngx_add_timer(&kmcf->flush_event, kmcf->flush);

    return NGX_OK;
}


/*
 * the first worker to start after the zone was made continues the
 * sequence where the store ends
 */

static ngx_int_t
ngx_http_keryu_init_seq(ngx_http_keryu_main_conf_t *kmcf, ngx_log_t *log)
{
    int        rc;
    MDB_txn   *txn;
    uint64_t   last;

    rc = 0;

    ngx_shmtx_lock(&kmcf->shpool->mutex);

    if (kmcf->staging->next_seq == 0) {
        rc = keryu_store_txn_begin(&kmcf->store, MDB_RDONLY, &txn);

        if (rc == 0) {
            rc = keryu_store_meta_get(&kmcf->store, txn, KERYU_META_LAST_SEQ,
                                      &last);
            mdb_txn_abort(txn);
        }

        if (rc == 0) {
            kmcf->staging->next_seq = last + 1;
        }
    }

    ngx_shmtx_unlock(&kmcf->shpool->mutex);

    if (rc != 0) {
        ngx_log_error(NGX_LOG_ALERT, log, 0,
                      "keryu store \"%V\" cannot be read: %s",
                      &kmcf->path, keryu_store_strerror(rc));
        return NGX_ERROR;
    }

    return NGX_OK;
}


void
ngx_http_keryu_store_exit_worker(ngx_cycle_t *cycle,
    ngx_http_keryu_main_conf_t *kmcf)
{
    if (kmcf->open) {
        if (kmcf->enforce) {
            kmcf->report = NGX_HTTP_KERYU_REPORT_DEL;
        }

        ngx_http_keryu_flush(kmcf, cycle->log);
        ngx_http_keryu_state_free(&kmcf->state);
        keryu_store_close(&kmcf->store);
        kmcf->open = 0;
    }

    if (kmcf->batch) {
        ngx_free(kmcf->batch);
        kmcf->batch = NULL;
    }

    if (kmcf->sealer) {
        keryu_sealer_free(kmcf->sealer);
        ngx_free(kmcf->sealer);
        kmcf->sealer = NULL;
    }
}


/*
 * stages an encoded record, giving it the next sequence number; returns
 * the number, or 0 when the record could not be staged
 */

uint64_t
ngx_http_keryu_store_record(ngx_http_keryu_main_conf_t *kmcf, u_char *buf,
    size_t len, ngx_log_t *log)
{
    size_t                     need, off, skip;
    u_char                    *p;
    uint64_t                   pending, seq;
    ngx_http_keryu_staging_t  *stg;

    stg = kmcf->staging;
    need = ngx_align(4 + len, 8);

    ngx_shmtx_lock(&kmcf->shpool->mutex);

    if (!kmcf->open) {
        stg->failed++;
        ngx_shmtx_unlock(&kmcf->shpool->mutex);
        return 0;
    }

    /* a record that cannot be staged still takes its number: a gap */

    seq = stg->next_seq++;

    off = stg->head % stg->size;
    skip = (off + need > stg->size) ? stg->size - off : 0;

    if (stg->head + skip + need - stg->tail > stg->size) {
        stg->overflow++;
        ngx_shmtx_unlock(&kmcf->shpool->mutex);

        ngx_http_keryu_store_error(kmcf, log, "staging", 0);
        return 0;
    }

    if (skip) {
        p = stg->data + off;
        p[0] = p[1] = p[2] = p[3] = 0xff;
        stg->head += skip;
        off = 0;
    }

    p = stg->data + off;

    p[0] = (u_char) len;
    p[1] = (u_char) (len >> 8);
    p[2] = (u_char) (len >> 16);
    p[3] = (u_char) (len >> 24);

    ngx_memcpy(p + 4, buf, len);
    keryu_record_set_seq(p + 4, seq);

    stg->head += need;
    pending = stg->head - stg->tail;

    ngx_shmtx_unlock(&kmcf->shpool->mutex);

    if (pending >= stg->size / 2) {
        ngx_http_keryu_flush(kmcf, log);
    }

    return seq;
}


/*
 * counts a record whose personal fields could not be sealed for want of
 * a key, and says so at most once a second in each worker
 */

void
ngx_http_keryu_store_nokey(ngx_http_keryu_main_conf_t *kmcf, ngx_log_t *log)
{
    time_t                     now;
    ngx_http_keryu_staging_t  *stg;

    static time_t              last;

    stg = kmcf->staging;

    ngx_shmtx_lock(&kmcf->shpool->mutex);
    stg->nokey++;
    ngx_shmtx_unlock(&kmcf->shpool->mutex);

    now = ngx_time();

    if (now == last) {
        return;
    }

    last = now;

    ngx_log_error(NGX_LOG_ERR, log, 0,
                  "keryu: no sealing key published in store \"%V\", "
                  "personal fields are not recorded", &kmcf->path);
}


/*
 * keys this worker's sealer for the sealing key keryud published, when
 * its version or key changed: one key agreement per published version
 */

static void
ngx_http_keryu_seal_refresh(ngx_http_keryu_main_conf_t *kmcf, ngx_log_t *log)
{
    int              rc;
    u_char           pub[KERYU_SEALING_PUBLIC_LEN];
    MDB_txn         *txn;
    uint64_t         version;
    keryu_sealer_t  *s;

    s = kmcf->sealer;

    if (s == NULL || !kmcf->open) {
        return;
    }

    rc = keryu_store_txn_begin(&kmcf->store, MDB_RDONLY, &txn);
    if (rc != 0) {
        ngx_http_keryu_store_error(kmcf, log, "mdb_txn_begin", rc);
        return;
    }

    rc = keryu_store_sealing_get(&kmcf->store, txn, &version, pub);

    mdb_txn_abort(txn);

    if (rc == MDB_NOTFOUND) {
        s->version = 0;
        return;
    }

    if (rc != 0 || version == 0 || version > NGX_MAX_UINT32_VALUE) {
        ngx_http_keryu_store_error(kmcf, log, "keryu_store_sealing_get",
                                   rc ? rc : MDB_CORRUPTED);
        return;
    }

    if (s->version == version
        && ngx_memcmp(s->recipient, pub, KERYU_SEALING_PUBLIC_LEN) == 0)
    {
        return;
    }

    if (keryu_sealer_rekey(s, (uint32_t) version, pub) != 0) {
        ngx_log_error(NGX_LOG_ALERT, log, 0,
                      "keryu: keying the sealer for sealing key v%uL failed",
                      version);
        return;
    }

    ngx_log_error(NGX_LOG_INFO, log, 0,
                  "keryu: sealing records to sealing key v%uL", version);
}


/*
 * Commits the staged records in one write transaction.  The records are
 * copied out under the lock and committed without it; the tail moves only
 * after the commit, so a worker killed in between leaves them staged for
 * the next flush, which skips whatever the store already holds.  A pending
 * report of this worker's versions rides in the same transaction.
 */

static void
ngx_http_keryu_flush(ngx_http_keryu_main_conf_t *kmcf, ngx_log_t *log)
{
    int                        rc;
    size_t                     off, len, blen;
    u_char                    *p;
    MDB_txn                   *txn;
    uint64_t                   pos, overflow, failed, nokey;
    keryu_store_append_t       res;
    ngx_http_keryu_staging_t  *stg;

    stg = kmcf->staging;
    blen = 0;

    ngx_shmtx_lock(&kmcf->shpool->mutex);

    overflow = stg->overflow;
    failed = stg->failed;
    nokey = stg->nokey;

    for (pos = stg->tail; pos < stg->head; /* void */ ) {
        off = pos % stg->size;
        p = stg->data + off;

        len = p[0] | p[1] << 8 | p[2] << 16 | (size_t) p[3] << 24;

        if (len == NGX_HTTP_KERYU_WRAP) {
            pos += stg->size - off;
            continue;
        }

        ngx_memcpy(kmcf->batch + blen, p, 4 + len);
        blen += 4 + len;
        pos += ngx_align(4 + len, 8);
    }

    stg->overflow = 0;
    stg->failed = 0;
    stg->nokey = 0;

    ngx_shmtx_unlock(&kmcf->shpool->mutex);

    if (blen == 0 && overflow == 0 && failed == 0 && nokey == 0
        && kmcf->report == NGX_HTTP_KERYU_REPORT_NONE)
    {
        return;
    }

    rc = keryu_store_txn_begin(&kmcf->store, 0, &txn);
    if (rc != 0) {
        ngx_http_keryu_store_error(kmcf, log, "mdb_txn_begin", rc);
        goto failed;
    }

    rc = keryu_store_append(&kmcf->store, txn, kmcf->batch, blen, kmcf->ring,
                            &res);

    if (rc == 0) {
        rc = keryu_store_meta_add(&kmcf->store, txn, KERYU_META_OVERFLOW,
                                  overflow);
    }

    if (rc == 0) {
        rc = keryu_store_meta_add(&kmcf->store, txn, KERYU_META_FAILED,
                                  failed);
    }

    if (rc == 0 && nokey) {
        rc = keryu_store_meta_add(&kmcf->store, txn, KERYU_META_NOKEY,
                                  nokey);
    }

    if (rc == 0 && kmcf->report != NGX_HTTP_KERYU_REPORT_NONE) {
        rc = ngx_http_keryu_report(kmcf, txn);
    }

    /* a full map is logged by ngx_http_keryu_make_room(), below */

    if (rc != 0) {
        mdb_txn_abort(txn);

        if (rc != MDB_MAP_FULL) {
            ngx_http_keryu_store_error(kmcf, log, "mdb_put", rc);
        }

        goto failed;
    }

    /* a failed commit has freed the transaction already */

    rc = mdb_txn_commit(txn);
    if (rc != 0) {
        if (rc != MDB_MAP_FULL) {
            ngx_http_keryu_store_error(kmcf, log, "mdb_txn_commit", rc);
        }

        goto failed;
    }

    ngx_log_debug4(NGX_LOG_DEBUG_HTTP, log, 0,
                   "keryu flush: %uL appended, %uL skipped, %uL trimmed, "
                   "last %uL", res.appended, res.skipped, res.trimmed,
                   res.last_seq);

    kmcf->report = NGX_HTTP_KERYU_REPORT_NONE;

    ngx_shmtx_lock(&kmcf->shpool->mutex);

    if (stg->tail < pos) {
        stg->tail = pos;
    }

    ngx_shmtx_unlock(&kmcf->shpool->mutex);

    return;

failed:

    /*
     * the records stay staged for the next attempt; while the store keeps
     * failing, staging fills and further records are counted as overflow
     */

    ngx_shmtx_lock(&kmcf->shpool->mutex);

    stg->overflow += overflow;
    stg->failed += failed;
    stg->nokey += nokey;

    ngx_shmtx_unlock(&kmcf->shpool->mutex);

    if (rc == MDB_MAP_FULL) {
        ngx_http_keryu_make_room(kmcf, log);
    }
}


/*
 * a ring that outgrows the map would stop every write for good; the
 * oldest quarter goes instead, counted in trimmed, dropped and map_full
 */

static void
ngx_http_keryu_make_room(ngx_http_keryu_main_conf_t *kmcf, ngx_log_t *log)
{
    int                   rc;
    ngx_atomic_t         *slot;
    ngx_atomic_uint_t     now, last;
    keryu_store_append_t  res;

    rc = keryu_store_make_room(&kmcf->store, &res);
    if (rc != 0) {
        ngx_http_keryu_store_error(kmcf, log, "mdb_txn_commit", rc);
        return;
    }

    /* within the once a second of the store's failures */

    slot = &kmcf->staging->store_log_time;
    now = (ngx_atomic_uint_t) ngx_time();
    last = *slot;

    if (last == now || !ngx_atomic_cmp_set(slot, last, now)) {
        return;
    }

    ngx_log_error(NGX_LOG_WARN, log, 0,
                  "keryu store \"%V\" is full, deleted the %uL oldest "
                  "records (%uL not yet read)", &kmcf->path, res.trimmed,
                  res.dropped);
}


/* writes or deletes this worker's worker.<pid> entry in the store's meta */

static int
ngx_http_keryu_report(ngx_http_keryu_main_conf_t *kmcf, MDB_txn *txn)
{
    int              rc;
    ngx_time_t      *tp;
    keryu_worker_t   w;

    if (kmcf->report == NGX_HTTP_KERYU_REPORT_DEL) {
        rc = keryu_store_worker_del(&kmcf->store, txn, (uint64_t) ngx_pid);
        return (rc == MDB_NOTFOUND) ? 0 : rc;
    }

    tp = ngx_timeofday();

    w.pid = (uint64_t) ngx_pid;
    w.config_version = kmcf->state.config_version;
    w.block_version = kmcf->state.block_version;
    w.time_us = (uint64_t) tp->sec * 1000000 + tp->msec * 1000;

    return keryu_store_worker_put(&kmcf->store, txn, &w);
}


static void
ngx_http_keryu_flush_handler(ngx_event_t *ev)
{
    ngx_http_keryu_main_conf_t  *kmcf = ev->data;

    ngx_http_keryu_flush(kmcf, ev->log);

    ngx_http_keryu_seal_refresh(kmcf, ev->log);

    /* an idle worker follows policy changes too */

    if (kmcf->enforce) {
        (void) ngx_http_keryu_refresh(kmcf, ev->log);
    }

    if (!ngx_exiting) {
        ngx_add_timer(ev, kmcf->flush);
    }
}


/*
 * a full staging area and store failures each reach the error log at most
 * once a second, neither hiding the other
 */

static void
ngx_http_keryu_store_error(ngx_http_keryu_main_conf_t *kmcf, ngx_log_t *log,
    const char *call, int rc)
{
    ngx_atomic_t       *slot;
    ngx_atomic_uint_t   now, last;

    slot = (rc == 0) ? &kmcf->staging->overflow_log_time
                     : &kmcf->staging->store_log_time;

    now = (ngx_atomic_uint_t) ngx_time();
    last = *slot;

    if (last == now || !ngx_atomic_cmp_set(slot, last, now)) {
        return;
    }

    if (rc == 0) {
        ngx_log_error(NGX_LOG_ERR, log, 0,
                      "keryu staging is full, records are dropped");

    } else if (rc == MDB_MAP_FULL) {
        ngx_log_error(NGX_LOG_ERR, log, 0,
                      "keryu store \"%V\" is full, raise \"size\" of "
                      "\"keryu_store\" or lower \"ring\"", &kmcf->path);

    } else {
        ngx_log_error(NGX_LOG_ERR, log, 0, "%s() failed: %s",
                      call, keryu_store_strerror(rc));
    }
}


/* puts the effective configuration in meta, for keryud's compliance checks */

static void
ngx_http_keryu_publish(ngx_http_keryu_main_conf_t *kmcf, ngx_log_t *log)
{
    int       rc;
    MDB_val   key, val;
    MDB_txn  *txn;

    if (kmcf->effective.len == 0) {
        return;
    }

    rc = keryu_store_txn_begin(&kmcf->store, 0, &txn);
    if (rc != 0) {
        ngx_http_keryu_store_error(kmcf, log, "mdb_txn_begin", rc);
        return;
    }

    key.mv_size = sizeof(KERYU_META_EFFECTIVE_CONFIG) - 1;
    key.mv_data = KERYU_META_EFFECTIVE_CONFIG;
    val.mv_size = kmcf->effective.len;
    val.mv_data = kmcf->effective.data;

    rc = mdb_put(txn, kmcf->store.meta, &key, &val, 0);
    if (rc != 0) {
        mdb_txn_abort(txn);
        ngx_http_keryu_store_error(kmcf, log, "mdb_put", rc);
        return;
    }

    rc = mdb_txn_commit(txn);
    if (rc != 0) {
        ngx_http_keryu_store_error(kmcf, log, "mdb_txn_commit", rc);
    }
}
