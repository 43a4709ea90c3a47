
/*
 * Copyright (C) Keryu Security
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_keryu_module.h"


static ngx_int_t ngx_http_keryu_log_handler(ngx_http_request_t *r);
static void *ngx_http_keryu_create_main_conf(ngx_conf_t *cf);
static void *ngx_http_keryu_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_keryu_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static char *ngx_http_keryu_store(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static ngx_int_t ngx_http_keryu_init(ngx_conf_t *cf);
static ngx_int_t ngx_http_keryu_init_module(ngx_cycle_t *cycle);
static ngx_int_t ngx_http_keryu_init_process(ngx_cycle_t *cycle);
static void ngx_http_keryu_exit_process(ngx_cycle_t *cycle);


static ngx_command_t  ngx_http_keryu_commands[] = {

    { ngx_string("keryu_store"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_http_keryu_store,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("keryu_log"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_keryu_loc_conf_t, log),
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_keryu_module_ctx = {
    NULL,                                  /* preconfiguration */
    ngx_http_keryu_init,                   /* postconfiguration */

    ngx_http_keryu_create_main_conf,       /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_keryu_create_loc_conf,        /* create location configuration */
    ngx_http_keryu_merge_loc_conf          /* merge location configuration */
};


ngx_module_t  ngx_http_keryu_module = {
    NGX_MODULE_V1,
    &ngx_http_keryu_module_ctx,            /* module context */
    ngx_http_keryu_commands,               /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    ngx_http_keryu_init_module,            /* init module */
    ngx_http_keryu_init_process,           /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_http_keryu_exit_process,           /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_int_t
ngx_http_keryu_log_handler(ngx_http_request_t *r)
{
    uint64_t                     now, start;
    struct timeval               tv;
    keryu_record_t               rec;
    struct sockaddr_in          *sin;
    ngx_http_keryu_loc_conf_t   *klcf;
    ngx_http_keryu_main_conf_t  *kmcf;
#if (NGX_HAVE_INET6)
    struct sockaddr_in6         *sin6;
#endif

    klcf = ngx_http_get_module_loc_conf(r, ngx_http_keryu_module);
    kmcf = ngx_http_get_module_main_conf(r, ngx_http_keryu_module);

    if (!klcf->log || kmcf->staging == NULL) {
        return NGX_OK;
    }

    ngx_memzero(&rec, sizeof(keryu_record_t));

    ngx_gettimeofday(&tv);

    now = (uint64_t) tv.tv_sec * 1000000 + tv.tv_usec;
    start = (uint64_t) r->start_sec * 1000000 + r->start_msec * 1000;

    rec.time_us = now;
    rec.request_time_us = now > start ? now - start : 0;
    rec.type = KERYU_EVENT_REQUEST;
    rec.status = r->err_status ? r->err_status : r->headers_out.status;
    rec.bytes_sent = r->connection->sent;

    switch (r->connection->sockaddr->sa_family) {

    case AF_INET:
        sin = (struct sockaddr_in *) r->connection->sockaddr;
        rec.addr_family = 4;
        ngx_memcpy(rec.addr, &sin->sin_addr, 4);
        break;

#if (NGX_HAVE_INET6)
    case AF_INET6:
        sin6 = (struct sockaddr_in6 *) r->connection->sockaddr;
        rec.addr_family = 6;
        ngx_memcpy(rec.addr, &sin6->sin6_addr, 16);
        break;
#endif

    default: /* AF_UNIX */
        break;
    }

    if (r->headers_in.user_agent) {
        rec.user_agent.len = r->headers_in.user_agent->value.len;
        rec.user_agent.data = r->headers_in.user_agent->value.data;
    }

    rec.method.len = r->method_name.len;
    rec.method.data = r->method_name.data;
    rec.host.len = r->headers_in.server.len;
    rec.host.data = r->headers_in.server.data;
    rec.uri.len = r->unparsed_uri.len;
    rec.uri.data = r->unparsed_uri.data;

    ngx_http_keryu_store_record(kmcf, &rec, r->connection->log);

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "keryu log: seq %uL, status %ui, type %s", rec.seq,
                   (ngx_uint_t) rec.status, keryu_event_name(rec.type));

    return NGX_OK;
}


static void *
ngx_http_keryu_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_keryu_main_conf_t  *kmcf;

    kmcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_keryu_main_conf_t));
    if (kmcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     kmcf->path = { 0, NULL };
     *     kmcf->shm_zone = NULL;
     *     kmcf->staging = NULL;
     *     kmcf->open = 0;
     *     kmcf->batch = NULL;
     */

    return kmcf;
}


static void *
ngx_http_keryu_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_keryu_loc_conf_t  *klcf;

    klcf = ngx_palloc(cf->pool, sizeof(ngx_http_keryu_loc_conf_t));
    if (klcf == NULL) {
        return NULL;
    }

    klcf->log = NGX_CONF_UNSET;

    return klcf;
}


static char *
ngx_http_keryu_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_keryu_loc_conf_t  *prev = parent;
    ngx_http_keryu_loc_conf_t  *conf = child;

    ngx_http_keryu_main_conf_t  *kmcf;

    ngx_conf_merge_value(conf->log, prev->log, 0);

    kmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_keryu_module);

    if (conf->log && kmcf->path.data == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"keryu_log\" requires \"keryu_store\"");
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_keryu_store(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_keryu_main_conf_t  *kmcf = conf;

    if (kmcf->path.data) {
        return "is duplicate";
    }

    return ngx_http_keryu_store_conf(cf, kmcf, cf->args->elts,
                                     cf->args->nelts);
}


static ngx_int_t
ngx_http_keryu_init(ngx_conf_t *cf)
{
    ngx_http_handler_pt         *h;
    ngx_http_core_main_conf_t   *cmcf;
    ngx_http_keryu_main_conf_t  *kmcf;

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);
    kmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_keryu_module);

    if (kmcf->path.data == NULL) {
        return NGX_OK;
    }

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_LOG_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_keryu_log_handler;

    return NGX_OK;
}


static ngx_int_t
ngx_http_keryu_init_module(ngx_cycle_t *cycle)
{
    ngx_http_keryu_main_conf_t  *kmcf;

    kmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_keryu_module);

    if (kmcf == NULL || kmcf->path.data == NULL) {
        return NGX_OK;
    }

    return ngx_http_keryu_store_init_module(cycle, kmcf);
}


static ngx_int_t
ngx_http_keryu_init_process(ngx_cycle_t *cycle)
{
    ngx_http_keryu_main_conf_t  *kmcf;

    if (ngx_process != NGX_PROCESS_WORKER
        && ngx_process != NGX_PROCESS_SINGLE)
    {
        return NGX_OK;
    }

    kmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_keryu_module);

    if (kmcf == NULL || kmcf->path.data == NULL) {
        return NGX_OK;
    }

    return ngx_http_keryu_store_init_worker(cycle, kmcf);
}


static void
ngx_http_keryu_exit_process(ngx_cycle_t *cycle)
{
    ngx_http_keryu_main_conf_t  *kmcf;

    kmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_keryu_module);

    if (kmcf == NULL || kmcf->path.data == NULL) {
        return;
    }

    ngx_http_keryu_store_exit_worker(cycle, kmcf);
}
