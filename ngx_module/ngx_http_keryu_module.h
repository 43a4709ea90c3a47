
/*
 * Copyright (C) Keryu Security
 */


#ifndef _NGX_HTTP_KERYU_MODULE_H_INCLUDED_
#define _NGX_HTTP_KERYU_MODULE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "keryu_record.h"
#include "keryu_store.h"


#define NGX_HTTP_KERYU_STAGING_SIZE  (1024 * 1024)


/*
 * records wait in shared memory until a worker commits them to the store
 * in a batch, so a record survives the death of the worker that made it;
 * head and tail count bytes ever staged and ever committed
 */

typedef struct {
    uint64_t                        head;
    uint64_t                        tail;
    uint64_t                        next_seq;
    uint64_t                        overflow;
    uint64_t                        failed;
    ngx_atomic_t                    log_time;
    size_t                          size;
    u_char                          data[1];
} ngx_http_keryu_staging_t;


typedef struct {
    ngx_str_t                       path;
    size_t                          size;
    uint64_t                        ring;
    ngx_msec_t                      flush;

    ngx_shm_zone_t                 *shm_zone;
    ngx_slab_pool_t                *shpool;
    ngx_http_keryu_staging_t       *staging;

    keryu_store_t                   store;
    ngx_flag_t                      open;
    u_char                         *batch;
    ngx_event_t                     flush_event;
} ngx_http_keryu_main_conf_t;


typedef struct {
    ngx_flag_t                      log;
} ngx_http_keryu_loc_conf_t;


char *ngx_http_keryu_store_conf(ngx_conf_t *cf, ngx_http_keryu_main_conf_t *kmcf,
    ngx_str_t *value, ngx_uint_t n);
ngx_int_t ngx_http_keryu_store_init_module(ngx_cycle_t *cycle,
    ngx_http_keryu_main_conf_t *kmcf);
ngx_int_t ngx_http_keryu_store_init_worker(ngx_cycle_t *cycle,
    ngx_http_keryu_main_conf_t *kmcf);
void ngx_http_keryu_store_exit_worker(ngx_cycle_t *cycle,
    ngx_http_keryu_main_conf_t *kmcf);
void ngx_http_keryu_store_record(ngx_http_keryu_main_conf_t *kmcf,
    keryu_record_t *rec, ngx_log_t *log);


extern ngx_module_t  ngx_http_keryu_module;


#endif /* _NGX_HTTP_KERYU_MODULE_H_INCLUDED_ */
