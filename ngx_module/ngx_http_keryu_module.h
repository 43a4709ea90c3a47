
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
#include "keryu_jwt.h"
#include "keryu_policy.h"
#include "keryu_blocklist.h"
#include "keryu_apikeys.h"
#include "keryu_sign.h"
#include "keryu_redact.h"
#include "keryu_seal.h"


#define NGX_HTTP_KERYU_STAGING_SIZE  (1024 * 1024)

#define NGX_HTTP_KERYU_OFF           0
#define NGX_HTTP_KERYU_ON            1
#define NGX_HTTP_KERYU_SHADOW        2

#define NGX_HTTP_KERYU_ALLOW         1
#define NGX_HTTP_KERYU_DENY          2

#define NGX_HTTP_KERYU_FAIL_CLOSED   0
#define NGX_HTTP_KERYU_FAIL_OPEN     1

/* keryu_seal unset: seal when keryud has published a sealing key */
#define NGX_HTTP_KERYU_SEAL_AUTO     2

#define NGX_HTTP_KERYU_BEARER        0x01
#define NGX_HTTP_KERYU_COOKIE        0x02
#define NGX_HTTP_KERYU_SIGNED        0x04

/* what the next flush tells the store about this worker's state */
#define NGX_HTTP_KERYU_REPORT_NONE   0
#define NGX_HTTP_KERYU_REPORT_PUT    1
#define NGX_HTTP_KERYU_REPORT_DEL    2


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
    uint64_t                        nokey;
    ngx_atomic_t                    overflow_log_time;
    ngx_atomic_t                    store_log_time;
    size_t                          size;
    u_char                          data[1];
} ngx_http_keryu_staging_t;


/*
 * what a worker compiled from the store; rebuilt when the store's version
 * counters move, kept when a new version does not compile
 */

typedef struct {
    uint64_t                        config_version;
    uint64_t                        block_version;
    uint64_t                        rejected_version;
    ngx_flag_t                      ready;
    keryu_policy_set_t             *policies;
    keryu_jwt_keys_t               *keys;
    keryu_apikeys_t                *apikeys;
    keryu_clients_t                *clients;
    keryu_blocklist_t              *blocks;
    keryu_jwt_cache_t              *tokens;
    MDB_txn                        *txn;
} ngx_http_keryu_state_t;


typedef struct {
    ngx_str_t                       kid;
    ngx_str_t                       alg;
    ngx_str_t                       pem;
} ngx_http_keryu_pem_key_t;


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

    ngx_array_t                    *pem_keys;
    ngx_int_t                       token_cache;
    ngx_flag_t                      enforce;
    ngx_http_keryu_state_t          state;
    ngx_uint_t                      report;
    ngx_array_t                    *locations;
    ngx_str_t                       effective;

    keryu_redact_key_t             *redact_key;

    keryu_sealer_t                 *sealer;
} ngx_http_keryu_main_conf_t;


typedef struct {
    ngx_flag_t                      log;
    ngx_flag_t                      seal;

    ngx_uint_t                      access;
    ngx_uint_t                      deflt;
    ngx_uint_t                      fail;
    ngx_uint_t                      deny_log_level;
    ngx_uint_t                      sources;
    ngx_str_t                       cookie;
    ngx_str_t                       apikey_header;
    ngx_str_t                       issuer;
    ngx_str_t                       audience;
    ngx_str_t                       roles_claim;
    time_t                          leeway;
    time_t                          skew;

    ngx_int_t                       event;
    ngx_http_complex_value_t       *event_user;

    ngx_array_t                    *redact_args;
    keryu_redact_names_t           *redact_names;
    ngx_flag_t                      redact_cards;
    ngx_flag_t                      redact_emails;
    ngx_flag_t                      anonymize;
} ngx_http_keryu_loc_conf_t;


/* what the access phase found out, for the log phase and the variables */

typedef struct {
    ngx_str_t                       user;
    ngx_str_t                       roles;
    ngx_str_t                       decision;
    ngx_str_t                       rule;
    ngx_str_t                       details;
    ngx_str_t                       block;
    ngx_int_t                       type;
    ngx_int_t                       status;
    void                           *pending;
} ngx_http_keryu_ctx_t;


char *ngx_http_keryu_store_conf(ngx_conf_t *cf,
    ngx_http_keryu_main_conf_t *kmcf, ngx_str_t *value, ngx_uint_t n);
ngx_int_t ngx_http_keryu_store_init_module(ngx_cycle_t *cycle,
    ngx_http_keryu_main_conf_t *kmcf);
ngx_int_t ngx_http_keryu_store_init_worker(ngx_cycle_t *cycle,
    ngx_http_keryu_main_conf_t *kmcf);
void ngx_http_keryu_store_exit_worker(ngx_cycle_t *cycle,
    ngx_http_keryu_main_conf_t *kmcf);
uint64_t ngx_http_keryu_store_record(ngx_http_keryu_main_conf_t *kmcf,
    u_char *buf, size_t len, ngx_log_t *log);
void ngx_http_keryu_store_nokey(ngx_http_keryu_main_conf_t *kmcf,
    ngx_log_t *log);

ngx_int_t ngx_http_keryu_access_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_keryu_refresh(ngx_http_keryu_main_conf_t *kmcf,
    ngx_log_t *log);
ngx_int_t ngx_http_keryu_add_variables(ngx_conf_t *cf);
int ngx_http_keryu_client_addr(ngx_http_request_t *r, const uint8_t **addr);
void ngx_http_keryu_state_free(ngx_http_keryu_state_t *state);
ngx_int_t ngx_http_keryu_config_note(ngx_conf_t *cf,
    ngx_http_keryu_main_conf_t *kmcf, ngx_http_keryu_loc_conf_t *klcf);
ngx_int_t ngx_http_keryu_config_build(ngx_conf_t *cf,
    ngx_http_keryu_main_conf_t *kmcf);

ngx_int_t ngx_http_keryu_set_event(ngx_http_request_t *r, ngx_int_t type,
    ngx_str_t *details);


extern ngx_module_t  ngx_http_keryu_module;


#endif /* _NGX_HTTP_KERYU_MODULE_H_INCLUDED_ */
