
/*
 * Copyright (C) Keryu Security
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_keryu_module.h"


static ngx_int_t ngx_http_keryu_log_handler(ngx_http_request_t *r);
static size_t ngx_http_keryu_encode(ngx_http_keryu_main_conf_t *kmcf,
    ngx_http_keryu_loc_conf_t *klcf, keryu_record_t *rec, u_char *buf,
    ngx_log_t *log);
static uint8_t ngx_http_keryu_event_type(ngx_http_keryu_loc_conf_t *klcf,
    ngx_uint_t status);
static void *ngx_http_keryu_create_main_conf(ngx_conf_t *cf);
static void *ngx_http_keryu_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_keryu_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static char *ngx_http_keryu_store(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_keryu_identity(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_keryu_jwt_key(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_keryu_jwt_cache(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_keryu_event(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static void ngx_http_keryu_redact(ngx_http_keryu_main_conf_t *kmcf,
    ngx_http_keryu_loc_conf_t *klcf, keryu_record_t *rec);
static void ngx_http_keryu_redact_field(ngx_http_keryu_main_conf_t *kmcf,
    ngx_http_keryu_loc_conf_t *klcf, keryu_record_t *rec,
    keryu_bytes_t *field, u_char *buf, size_t size);
static keryu_redact_names_t *ngx_http_keryu_redact_names(ngx_conf_t *cf,
    ngx_array_t *args);
static size_t ngx_http_keryu_redact_cut(keryu_record_t *rec, u_char *p,
    size_t len, size_t size);
static char *ngx_http_keryu_redact_args(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_keryu_redact_key(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static ngx_int_t ngx_http_keryu_check_pem(ngx_conf_t *cf,
    ngx_http_keryu_pem_key_t *pk);
static ngx_int_t ngx_http_keryu_preconfiguration(ngx_conf_t *cf);
static ngx_int_t ngx_http_keryu_init(ngx_conf_t *cf);
static ngx_int_t ngx_http_keryu_init_module(ngx_cycle_t *cycle);
static ngx_int_t ngx_http_keryu_init_process(ngx_cycle_t *cycle);
static void ngx_http_keryu_exit_process(ngx_cycle_t *cycle);


static ngx_conf_enum_t  ngx_http_keryu_access_modes[] = {
    { ngx_string("off"), NGX_HTTP_KERYU_OFF },
    { ngx_string("on"), NGX_HTTP_KERYU_ON },
    { ngx_string("shadow"), NGX_HTTP_KERYU_SHADOW },
    { ngx_null_string, 0 }
};


static ngx_conf_enum_t  ngx_http_keryu_effects[] = {
    { ngx_string("allow"), NGX_HTTP_KERYU_ALLOW },
    { ngx_string("deny"), NGX_HTTP_KERYU_DENY },
    { ngx_null_string, 0 }
};


static ngx_conf_enum_t  ngx_http_keryu_fail_modes[] = {
    { ngx_string("closed"), NGX_HTTP_KERYU_FAIL_CLOSED },
    { ngx_string("open"), NGX_HTTP_KERYU_FAIL_OPEN },
    { ngx_null_string, 0 }
};


static ngx_conf_enum_t  ngx_http_keryu_log_levels[] = {
    { ngx_string("info"), NGX_LOG_INFO },
    { ngx_string("notice"), NGX_LOG_NOTICE },
    { ngx_string("warn"), NGX_LOG_WARN },
    { ngx_string("error"), NGX_LOG_ERR },
    { ngx_null_string, 0 }
};


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

    { ngx_string("keryu_seal"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_keryu_loc_conf_t, seal),
      NULL },

    { ngx_string("keryu_access"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_enum_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_keryu_loc_conf_t, access),
      &ngx_http_keryu_access_modes },

    { ngx_string("keryu_default"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_enum_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_keryu_loc_conf_t, deflt),
      &ngx_http_keryu_effects },

    { ngx_string("keryu_fail"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_enum_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_keryu_loc_conf_t, fail),
      &ngx_http_keryu_fail_modes },

    { ngx_string("keryu_deny_log_level"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_enum_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_keryu_loc_conf_t, deny_log_level),
      &ngx_http_keryu_log_levels },

    { ngx_string("keryu_identity"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_keryu_identity,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("keryu_jwt_issuer"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_keryu_loc_conf_t, issuer),
      NULL },

    { ngx_string("keryu_jwt_audience"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_keryu_loc_conf_t, audience),
      NULL },

    { ngx_string("keryu_jwt_roles_claim"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_keryu_loc_conf_t, roles_claim),
      NULL },

    { ngx_string("keryu_jwt_leeway"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_keryu_loc_conf_t, leeway),
      NULL },

    { ngx_string("keryu_signature_skew"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_keryu_loc_conf_t, skew),
      NULL },

    { ngx_string("keryu_jwt_key"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE3,
      ngx_http_keryu_jwt_key,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("keryu_jwt_cache"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_keryu_jwt_cache,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("keryu_event"),
      NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE12,
      ngx_http_keryu_event,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("keryu_redact_args"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_keryu_redact_args,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("keryu_redact_key"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_keryu_redact_key,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("keryu_redact_cards"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_keryu_loc_conf_t, redact_cards),
      NULL },

    { ngx_string("keryu_redact_emails"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_keryu_loc_conf_t, redact_emails),
      NULL },

    { ngx_string("keryu_anonymize_addresses"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_keryu_loc_conf_t, anonymize),
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_keryu_module_ctx = {
    ngx_http_keryu_preconfiguration,       /* preconfiguration */
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


/*
 * redacted fields are made here: a worker logs one request at a time, and
 * the record is copied into staging before the next one
 */

static u_char  ngx_http_keryu_redact_args_buf[KERYU_RECORD_URI_MAX];
static u_char  ngx_http_keryu_redact_uri_buf[KERYU_RECORD_URI_MAX];
static u_char  ngx_http_keryu_redact_agent_buf[KERYU_RECORD_AGENT_MAX];
static u_char  ngx_http_keryu_redact_user_buf[KERYU_RECORD_USER_MAX];
static u_char  ngx_http_keryu_redact_details_buf[KERYU_RECORD_DETAILS_MAX];

/* the record is encoded, and its personal part sealed, here */

static u_char  ngx_http_keryu_record_buf[KERYU_RECORD_SEALED_MAX_SIZE];
static u_char  ngx_http_keryu_personal_buf[KERYU_RECORD_PERSONAL_MAX];


static ngx_int_t
ngx_http_keryu_log_handler(ngx_http_request_t *r)
{
    size_t                       len;
    uint64_t                     now, start, seq;
    ngx_str_t                    user, value;
    const uint8_t               *addr;
    struct timeval               tv;
    keryu_record_t               rec;
    ngx_http_keryu_ctx_t        *ctx;
    ngx_http_keryu_loc_conf_t   *klcf;
    ngx_http_keryu_main_conf_t  *kmcf;

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
    rec.status = r->err_status ? r->err_status : r->headers_out.status;
    rec.bytes_sent = r->connection->sent;

    ctx = ngx_http_get_module_ctx(r, ngx_http_keryu_module);

    ngx_str_null(&user);

    if (ctx) {
        user = ctx->user;
        rec.details.len = ctx->details.len;
        rec.details.data = ctx->details.data;
    }

    if (ctx && ctx->type) {
        rec.type = (uint8_t) ctx->type;

    } else {
        rec.type = ngx_http_keryu_event_type(klcf, rec.status);

        if (klcf->event_user
            && ngx_http_complex_value(r, klcf->event_user, &value) == NGX_OK
            && value.len)
        {
            user = value;
        }
    }

    rec.user.len = user.len;
    rec.user.data = user.data;

    rec.addr_family = (uint8_t) ngx_http_keryu_client_addr(r, &addr);

    if (rec.addr_family) {
        ngx_memcpy(rec.addr, addr, rec.addr_family == 4 ? 4 : 16);
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

    ngx_http_keryu_redact(kmcf, klcf, &rec);

    len = ngx_http_keryu_encode(kmcf, klcf, &rec, ngx_http_keryu_record_buf,
                                r->connection->log);
    if (len == 0) {
        return NGX_OK;
    }

    seq = ngx_http_keryu_store_record(kmcf, ngx_http_keryu_record_buf, len,
                                      r->connection->log);

    ngx_log_debug6(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "keryu log: seq %uL, status %ui, type %s, details %*s, "
                   "flags %ui", seq, (ngx_uint_t) rec.status,
                   keryu_event_name(rec.type), rec.details.len,
                   rec.details.data,
                   (ngx_uint_t) ngx_http_keryu_record_buf[5]);

    return NGX_OK;
}


/*
 * encodes rec into buf, its personal fields sealed to keryud's published
 * key when "keryu_seal" asks for it; with no key to seal with, "keryu_seal
 * on" writes the plain header only under "keryu_fail open" and nothing
 * under "keryu_fail closed", the default leaves the record unsealed.
 * Returns the encoded length, 0 when nothing is to be written
 */

static size_t
ngx_http_keryu_encode(ngx_http_keryu_main_conf_t *kmcf,
    ngx_http_keryu_loc_conf_t *klcf, keryu_record_t *rec, u_char *buf,
    ngx_log_t *log)
{
    size_t           n, plen;
    keryu_record_t   plain;
    keryu_sealer_t  *s;

    s = kmcf->sealer;

    if (klcf->seal == 0
        || (klcf->seal == NGX_HTTP_KERYU_SEAL_AUTO
            && (s == NULL || s->version == 0)))
    {
        return keryu_record_encode(rec, buf);
    }

    if (s == NULL || s->version == 0) {
        ngx_http_keryu_store_nokey(kmcf, log);

        if (klcf->fail != NGX_HTTP_KERYU_FAIL_OPEN) {
            return 0;
        }

        (void) keryu_record_split(rec, &plain, ngx_http_keryu_personal_buf,
                                  KERYU_RECORD_F_OMITTED);

        return keryu_record_encode(&plain, buf);
    }

    plen = keryu_record_split(rec, &plain, ngx_http_keryu_personal_buf,
                              KERYU_RECORD_F_SEALED);

    plain.sealed.len = plen + KERYU_SEAL_OVERHEAD;

    /* the sequence number is zero until the record is staged */

    plain.seq = 0;

    n = keryu_record_encode(&plain, buf);

    if (keryu_sealer_seal(s, buf, n - plain.sealed.len,
                          ngx_http_keryu_personal_buf, plen,
                          buf + n - plain.sealed.len)
        != 0)
    {
        ngx_log_error(NGX_LOG_ALERT, log, 0,
                      "keryu: sealing a record failed");
        ngx_explicit_memzero(ngx_http_keryu_personal_buf, plen);
        return 0;
    }

    ngx_explicit_memzero(ngx_http_keryu_personal_buf, plen);

    return n;
}


/*
 * a location classified by "keryu_event" takes the outcome of its
 * requests from the status the upstream answered with
 */

static uint8_t
ngx_http_keryu_event_type(ngx_http_keryu_loc_conf_t *klcf, ngx_uint_t status)
{
    if (klcf->event == KERYU_EVENT_REQUEST) {
        return KERYU_EVENT_REQUEST;
    }

    if (klcf->event == KERYU_EVENT_LOGIN
        && (status == NGX_HTTP_UNAUTHORIZED || status == NGX_HTTP_FORBIDDEN))
    {
        return KERYU_EVENT_AUTH_FAILURE;
    }

    if (status >= 200 && status < 400) {
        return (uint8_t) klcf->event;
    }

    return KERYU_EVENT_REQUEST;
}


/*
 * secret arguments, email addresses and card numbers leave the record's
 * strings, and the client address is cut to its network, before the
 * record is staged
 */

static void
ngx_http_keryu_redact(ngx_http_keryu_main_conf_t *kmcf,
    ngx_http_keryu_loc_conf_t *klcf, keryu_record_t *rec)
{
    size_t  len;

    /* counted first: a query with no secret in it is not copied */

    if (klcf->redact_names->n
        && ngx_strlchr((u_char *) rec->uri.data,
                       (u_char *) rec->uri.data + rec->uri.len, '?')
        && keryu_redact_args(kmcf->redact_key, klcf->redact_names,
                             rec->uri.data, rec->uri.len, NULL, 0, NULL))
    {
        (void) keryu_redact_args(kmcf->redact_key, klcf->redact_names,
                                 rec->uri.data, rec->uri.len,
                                 ngx_http_keryu_redact_args_buf,
                                 KERYU_RECORD_URI_MAX, &len);

        rec->uri.len = ngx_http_keryu_redact_cut(rec,
                                                 ngx_http_keryu_redact_args_buf,
                                                 len, KERYU_RECORD_URI_MAX);
        rec->uri.data = ngx_http_keryu_redact_args_buf;
    }

    ngx_http_keryu_redact_field(kmcf, klcf, rec, &rec->uri,
                                ngx_http_keryu_redact_uri_buf,
                                KERYU_RECORD_URI_MAX);
    ngx_http_keryu_redact_field(kmcf, klcf, rec, &rec->user_agent,
                                ngx_http_keryu_redact_agent_buf,
                                KERYU_RECORD_AGENT_MAX);
    ngx_http_keryu_redact_field(kmcf, klcf, rec, &rec->user,
                                ngx_http_keryu_redact_user_buf,
                                KERYU_RECORD_USER_MAX);
    ngx_http_keryu_redact_field(kmcf, klcf, rec, &rec->details,
                                ngx_http_keryu_redact_details_buf,
                                KERYU_RECORD_DETAILS_MAX);

    if (klcf->anonymize && rec->addr_family) {
        (void) keryu_redact_addr(rec->addr, rec->addr_family);
    }
}


/*
 * each pass counts first, so that a field with nothing to redact, the
 * usual case, is read but not copied; buf must not hold the field unless
 * an earlier pass put it there
 */

static void
ngx_http_keryu_redact_field(ngx_http_keryu_main_conf_t *kmcf,
    ngx_http_keryu_loc_conf_t *klcf, keryu_record_t *rec,
    keryu_bytes_t *field, u_char *buf, size_t size)
{
    size_t  len;

    if (field->len == 0) {
        return;
    }

    if (klcf->redact_emails
        && keryu_redact_emails(kmcf->redact_key, field->data, field->len,
                               NULL, 0, NULL))
    {
        (void) keryu_redact_emails(kmcf->redact_key, field->data,
                                   field->len, buf, size, &len);

        field->len = ngx_http_keryu_redact_cut(rec, buf, len, size);
        field->data = buf;
    }

    if (klcf->redact_cards
        && keryu_redact_cards(field->data, field->len, NULL, 0))
    {
        (void) keryu_redact_cards(field->data, field->len, buf, size);

        field->len = ngx_http_keryu_redact_cut(rec, buf, field->len, size);
        field->data = buf;
    }
}


/*
 * a result longer than its buffer is cut, and then loses what the cut may
 * have left of a card number or an address, which a later pass could no
 * longer recognise: the digits and separators at its end, then the word
 */

static size_t
ngx_http_keryu_redact_cut(keryu_record_t *rec, u_char *p, size_t len,
    size_t size)
{
    u_char  c;

    if (len <= size) {
        return len;
    }

    rec->flags |= KERYU_RECORD_F_TRUNCATED;

    while (size) {
        c = p[size - 1];

        if ((c < '0' || c > '9') && c != ' ' && c != '-' && c != '+'
            && c != '%')
        {
            break;
        }

        size--;
    }

    while (size) {
        c = p[size - 1];

        if ((c < '0' || c > '9') && ((c | 0x20) < 'a' || (c | 0x20) > 'z')
            && c != '.' && c != '_' && c != '%' && c != '+' && c != '-'
            && c != '@')
        {
            break;
        }

        size--;
    }

    return size;
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
     *     kmcf->pem_keys = NULL;
     *     kmcf->enforce = 0;
     *     kmcf->state = { 0 };
     *     kmcf->redact_key = NULL;
     *     kmcf->sealer = NULL;
     */

    kmcf->token_cache = NGX_CONF_UNSET;

    return kmcf;
}


static void *
ngx_http_keryu_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_keryu_loc_conf_t  *klcf;

    klcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_keryu_loc_conf_t));
    if (klcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     klcf->cookie = { 0, NULL };
     *     klcf->apikey_header = { 0, NULL };
     *     klcf->issuer = { 0, NULL };
     *     klcf->audience = { 0, NULL };
     *     klcf->roles_claim = { 0, NULL };
     *     klcf->event_user = NULL;
     *     klcf->redact_names = NULL;
     */

    klcf->log = NGX_CONF_UNSET;
    klcf->seal = NGX_CONF_UNSET;
    klcf->access = NGX_CONF_UNSET_UINT;
    klcf->deflt = NGX_CONF_UNSET_UINT;
    klcf->fail = NGX_CONF_UNSET_UINT;
    klcf->deny_log_level = NGX_CONF_UNSET_UINT;
    klcf->sources = NGX_CONF_UNSET_UINT;
    klcf->leeway = NGX_CONF_UNSET;
    klcf->skew = NGX_CONF_UNSET;
    klcf->event = NGX_CONF_UNSET;
    klcf->redact_args = NGX_CONF_UNSET_PTR;
    klcf->redact_cards = NGX_CONF_UNSET;
    klcf->redact_emails = NGX_CONF_UNSET;
    klcf->anonymize = NGX_CONF_UNSET;

    return klcf;
}


static char *
ngx_http_keryu_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_keryu_loc_conf_t  *prev = parent;
    ngx_http_keryu_loc_conf_t  *conf = child;

    ngx_http_keryu_main_conf_t  *kmcf;

    ngx_conf_merge_value(conf->log, prev->log, 0);
    ngx_conf_merge_value(conf->seal, prev->seal, NGX_HTTP_KERYU_SEAL_AUTO);
    ngx_conf_merge_uint_value(conf->access, prev->access, NGX_HTTP_KERYU_OFF);
    ngx_conf_merge_uint_value(conf->deflt, prev->deflt, NGX_HTTP_KERYU_DENY);
    ngx_conf_merge_uint_value(conf->fail, prev->fail,
                              NGX_HTTP_KERYU_FAIL_CLOSED);
    ngx_conf_merge_uint_value(conf->deny_log_level, prev->deny_log_level,
                              NGX_LOG_ERR);
    ngx_conf_merge_uint_value(conf->sources, prev->sources,
                              NGX_HTTP_KERYU_BEARER);
    ngx_conf_merge_str_value(conf->cookie, prev->cookie, "");
    ngx_conf_merge_str_value(conf->apikey_header, prev->apikey_header, "");
    ngx_conf_merge_str_value(conf->issuer, prev->issuer, "");
    ngx_conf_merge_str_value(conf->audience, prev->audience, "");
    ngx_conf_merge_str_value(conf->roles_claim, prev->roles_claim, "roles");
    ngx_conf_merge_sec_value(conf->leeway, prev->leeway, 30);
    ngx_conf_merge_sec_value(conf->skew, prev->skew, 300);
    ngx_conf_merge_value(conf->event, prev->event, KERYU_EVENT_REQUEST);

    if (conf->event_user == NULL) {
        conf->event_user = prev->event_user;
    }

    /*
     * names given at a level replace those of the level above, as with
     * nginx's own array directives; the built-in names stay unless "off"
     */

    if (conf->redact_args == NGX_CONF_UNSET_PTR) {
        conf->redact_args = prev->redact_args;
        conf->redact_names = prev->redact_names;
    }

    if (conf->redact_names == NULL) {
        conf->redact_names = ngx_http_keryu_redact_names(cf,
                                                         conf->redact_args);
        if (conf->redact_names == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    ngx_conf_merge_value(conf->redact_cards, prev->redact_cards, 1);
    ngx_conf_merge_value(conf->redact_emails, prev->redact_emails, 0);
    ngx_conf_merge_value(conf->anonymize, prev->anonymize, 0);

    /* empty strings are "not checked" for the verifier */

    if (conf->issuer.len == 0) {
        conf->issuer.data = NULL;
    }

    if (conf->audience.len == 0) {
        conf->audience.data = NULL;
    }

    kmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_keryu_module);

    if (kmcf->path.data == NULL) {

        if (conf->log) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"keryu_log\" requires \"keryu_store\"");
            return NGX_CONF_ERROR;
        }

        if (conf->access != NGX_HTTP_KERYU_OFF) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"keryu_access\" requires \"keryu_store\"");
            return NGX_CONF_ERROR;
        }
    }

    if (conf->access != NGX_HTTP_KERYU_OFF) {
        kmcf->enforce = 1;
    }

    if (kmcf->path.data && ngx_http_keryu_config_note(cf, kmcf, conf) != NGX_OK)
    {
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


static char *
ngx_http_keryu_identity(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_keryu_loc_conf_t  *klcf = conf;

    ngx_str_t   *value;
    ngx_uint_t   i;

    if (klcf->sources != NGX_CONF_UNSET_UINT) {
        return "is duplicate";
    }

    klcf->sources = 0;
    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {

        if (ngx_strcmp(value[i].data, "bearer") == 0) {
            klcf->sources |= NGX_HTTP_KERYU_BEARER;
            continue;
        }

        if (ngx_strncmp(value[i].data, "cookie=", 7) == 0
            && value[i].len > 7)
        {
            klcf->sources |= NGX_HTTP_KERYU_COOKIE;
            klcf->cookie.len = value[i].len - 7;
            klcf->cookie.data = value[i].data + 7;
            continue;
        }

        if (ngx_strcmp(value[i].data, "signature") == 0) {
            klcf->sources |= NGX_HTTP_KERYU_SIGNED;
            continue;
        }

        if (ngx_strncmp(value[i].data, "apikey=", 7) == 0
            && value[i].len > 7)
        {
            klcf->apikey_header.len = value[i].len - 7;
            klcf->apikey_header.data = value[i].data + 7;
            continue;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid parameter \"%V\"", &value[i]);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_keryu_jwt_key(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_keryu_main_conf_t  *kmcf = conf;

    u_char                    *pem;
    ssize_t                    n;
    ngx_fd_t                   fd;
    ngx_str_t                 *value, file;
    ngx_file_info_t            fi;
    ngx_http_keryu_pem_key_t  *pk;

    value = cf->args->elts;

    if (ngx_strcmp(value[2].data, "RS256") != 0
        && ngx_strcmp(value[2].data, "ES256") != 0)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid algorithm \"%V\", "
                           "a key file holds an RS256 or ES256 public key",
                           &value[2]);
        return NGX_CONF_ERROR;
    }

    file = value[3];

    if (ngx_conf_full_name(cf->cycle, &file, 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    fd = ngx_open_file(file.data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);
    if (fd == NGX_INVALID_FILE) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           ngx_open_file_n " \"%s\" failed", file.data);
        return NGX_CONF_ERROR;
    }

    if (ngx_fd_info(fd, &fi) == NGX_FILE_ERROR
        || ngx_file_size(&fi) > 64 * 1024)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "key file \"%s\" is not a PEM file", file.data);
        ngx_close_file(fd);
        return NGX_CONF_ERROR;
    }

    pem = ngx_pnalloc(cf->pool, ngx_file_size(&fi) + 1);
    if (pem == NULL) {
        ngx_close_file(fd);
        return NGX_CONF_ERROR;
    }

    n = ngx_read_fd(fd, pem, ngx_file_size(&fi));

    ngx_close_file(fd);

    if (n != ngx_file_size(&fi)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           ngx_read_fd_n " \"%s\" failed", file.data);
        return NGX_CONF_ERROR;
    }

    pem[n] = '\0';

    if (kmcf->pem_keys == NULL) {
        kmcf->pem_keys = ngx_array_create(cf->pool, 2,
                                          sizeof(ngx_http_keryu_pem_key_t));
        if (kmcf->pem_keys == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    pk = ngx_array_push(kmcf->pem_keys);
    if (pk == NULL) {
        return NGX_CONF_ERROR;
    }

    pk->kid = value[1];
    pk->alg = value[2];
    pk->pem.len = n;
    pk->pem.data = pem;

    /* a key that does not parse is refused now, not on the first request */

    if (ngx_http_keryu_check_pem(cf, pk) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_keryu_check_pem(ngx_conf_t *cf, ngx_http_keryu_pem_key_t *pk)
{
    char               err[256];
    ngx_int_t          rc;
    keryu_jwt_keys_t  *keys;

    keys = keryu_jwt_keys_create();
    if (keys == NULL) {
        return NGX_ERROR;
    }

    rc = NGX_OK;

    if (keryu_jwt_keys_add_pem(keys, (char *) pk->kid.data,
                               (char *) pk->alg.data, (char *) pk->pem.data,
                               pk->pem.len, err, sizeof(err))
        != 0)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "invalid key \"%V\": %s",
                           &pk->kid, err);
        rc = NGX_ERROR;
    }

    keryu_jwt_keys_free(keys);

    return rc;
}


static char *
ngx_http_keryu_jwt_cache(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_keryu_main_conf_t  *kmcf = conf;

    ngx_str_t  *value;

    if (kmcf->token_cache != NGX_CONF_UNSET) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "off") == 0) {
        kmcf->token_cache = 0;
        return NGX_CONF_OK;
    }

    kmcf->token_cache = ngx_atoi(value[1].data, value[1].len);

    if (kmcf->token_cache == NGX_ERROR || kmcf->token_cache == 0
        || kmcf->token_cache > KERYU_JWT_CACHE_MAX)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid number of tokens \"%V\"", &value[1]);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_keryu_event(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_keryu_loc_conf_t  *klcf = conf;

    ngx_str_t                         *value, s;
    ngx_http_compile_complex_value_t   ccv;

    if (klcf->event != NGX_CONF_UNSET) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "login") == 0) {
        klcf->event = KERYU_EVENT_LOGIN;

    } else if (ngx_strcmp(value[1].data, "logout") == 0) {
        klcf->event = KERYU_EVENT_LOGOUT;

    } else if (ngx_strcmp(value[1].data, "data_access") == 0) {
        klcf->event = KERYU_EVENT_DATA_ACCESS;

    } else {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid event \"%V\"", &value[1]);
        return NGX_CONF_ERROR;
    }

    if (cf->args->nelts == 2) {
        return NGX_CONF_OK;
    }

    if (ngx_strncmp(value[2].data, "user=", 5) != 0 || value[2].len == 5) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid parameter \"%V\"", &value[2]);
        return NGX_CONF_ERROR;
    }

    s.len = value[2].len - 5;
    s.data = value[2].data + 5;

    klcf->event_user = ngx_palloc(cf->pool, sizeof(ngx_http_complex_value_t));
    if (klcf->event_user == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memzero(&ccv, sizeof(ngx_http_compile_complex_value_t));

    ccv.cf = cf;
    ccv.value = &s;
    ccv.complex_value = klcf->event_user;

    if (ngx_http_compile_complex_value(&ccv) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/* the built-in names and those given, or none after "off" */

static keryu_redact_names_t *
ngx_http_keryu_redact_names(ngx_conf_t *cf, ngx_array_t *args)
{
    size_t                 n, nargs;
    keryu_bytes_t         *names;
    keryu_redact_names_t  *list;
    const keryu_bytes_t   *defaults;

    list = ngx_palloc(cf->pool, sizeof(keryu_redact_names_t));
    if (list == NULL) {
        return NULL;
    }

    if (args == NULL) {
        keryu_redact_names_init(list, NULL, 0);
        return list;
    }

    defaults = keryu_redact_default_names(&n);

    nargs = (args != NGX_CONF_UNSET_PTR) ? args->nelts : 0;

    names = ngx_palloc(cf->pool, (n + nargs) * sizeof(keryu_bytes_t));
    if (names == NULL) {
        return NULL;
    }

    ngx_memcpy(names, defaults, n * sizeof(keryu_bytes_t));

    if (nargs) {
        ngx_memcpy(names + n, args->elts, nargs * sizeof(keryu_bytes_t));
    }

    keryu_redact_names_init(list, names, n + nargs);

    return list;
}


static char *
ngx_http_keryu_redact_args(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_keryu_loc_conf_t  *klcf = conf;

    u_char         *p;
    ngx_str_t      *value;
    ngx_uint_t      i;
    keryu_bytes_t  *name;

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "off") == 0) {

        if (cf->args->nelts > 2) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid parameter \"%V\"", &value[1]);
            return NGX_CONF_ERROR;
        }

        if (klcf->redact_args != NGX_CONF_UNSET_PTR) {
            return "is duplicate";
        }

        klcf->redact_args = NULL;

        return NGX_CONF_OK;
    }

    if (klcf->redact_args == NULL) {
        return "is duplicate";
    }

    if (klcf->redact_args == NGX_CONF_UNSET_PTR) {
        klcf->redact_args = ngx_array_create(cf->pool, cf->args->nelts - 1,
                                             sizeof(keryu_bytes_t));
        if (klcf->redact_args == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    for (i = 1; i < cf->args->nelts; i++) {

        p = ngx_pnalloc(cf->pool, value[i].len);
        if (p == NULL) {
            return NGX_CONF_ERROR;
        }

        ngx_strlow(p, value[i].data, value[i].len);

        if (keryu_redact_name_check(p, value[i].len) != 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid argument name \"%V\"", &value[i]);
            return NGX_CONF_ERROR;
        }

        name = ngx_array_push(klcf->redact_args);
        if (name == NULL) {
            return NGX_CONF_ERROR;
        }

        name->len = value[i].len;
        name->data = p;
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_keryu_redact_key(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_keryu_main_conf_t  *kmcf = conf;

    u_char           buf[KERYU_REDACT_KEY_MAX + 2];
    size_t           len;
    ssize_t          n;
    ngx_fd_t         fd;
    ngx_str_t       *value, file;
    ngx_file_info_t  fi;

    if (kmcf->redact_key) {
        return "is duplicate";
    }

    value = cf->args->elts;
    file = value[1];

    if (ngx_conf_full_name(cf->cycle, &file, 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    fd = ngx_open_file(file.data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);
    if (fd == NGX_INVALID_FILE) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           ngx_open_file_n " \"%s\" failed", file.data);
        return NGX_CONF_ERROR;
    }

    if (ngx_fd_info(fd, &fi) == NGX_FILE_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           ngx_fd_info_n " \"%s\" failed", file.data);
        ngx_close_file(fd);
        return NGX_CONF_ERROR;
    }

    /* whoever reads the key can test guesses against the tokens */

    if (ngx_file_access(&fi) & 0077) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "key file \"%s\" is accessible by group or "
                           "others, it must be mode 0600 or 0400",
                           file.data);
        ngx_close_file(fd);
        return NGX_CONF_ERROR;
    }

    if (ngx_file_size(&fi) > (off_t) sizeof(buf)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "key file \"%s\" is too large, "
                           "it must hold %d to %d bytes", file.data,
                           KERYU_REDACT_KEY_MIN, KERYU_REDACT_KEY_MAX);
        ngx_close_file(fd);
        return NGX_CONF_ERROR;
    }

    n = ngx_read_fd(fd, buf, sizeof(buf));

    ngx_close_file(fd);

    if (n == -1) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           ngx_read_fd_n " \"%s\" failed", file.data);
        return NGX_CONF_ERROR;
    }

    /* a line break at the end, as an editor or echo leaves, is not key */

    len = n;

    if (len && buf[len - 1] == LF) {
        len--;
    }

    if (len && buf[len - 1] == CR) {
        len--;
    }

    if (len < KERYU_REDACT_KEY_MIN || len > KERYU_REDACT_KEY_MAX) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "key file \"%s\" is too %s, "
                           "it must hold %d to %d bytes", file.data,
                           len < KERYU_REDACT_KEY_MIN ? "small" : "large",
                           KERYU_REDACT_KEY_MIN, KERYU_REDACT_KEY_MAX);
        ngx_explicit_memzero(buf, sizeof(buf));
        return NGX_CONF_ERROR;
    }

    kmcf->redact_key = ngx_palloc(cf->pool, sizeof(keryu_redact_key_t));
    if (kmcf->redact_key == NULL) {
        ngx_explicit_memzero(buf, sizeof(buf));
        return NGX_CONF_ERROR;
    }

    (void) keryu_redact_key_init(kmcf->redact_key, buf, len);

    ngx_explicit_memzero(buf, sizeof(buf));

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_keryu_preconfiguration(ngx_conf_t *cf)
{
    return ngx_http_keryu_add_variables(cf);
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

    if (ngx_http_keryu_config_build(cf, kmcf) != NGX_OK) {
        return NGX_ERROR;
    }

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_LOG_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_keryu_log_handler;

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_ACCESS_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_keryu_access_handler;

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


/*
 * what the log phase records of a request that another part of the module
 * decided: an event type (-1 leaves it) and the details, which must live
 * as long as the request; the request's context is made if it has none
 */

ngx_int_t
ngx_http_keryu_set_event(ngx_http_request_t *r, ngx_int_t type,
    ngx_str_t *details)
{
    ngx_http_keryu_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_keryu_module);

    if (ctx == NULL) {
        ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_keryu_ctx_t));
        if (ctx == NULL) {
            return NGX_ERROR;
        }

        ngx_http_set_ctx(r, ctx, ngx_http_keryu_module);
    }

    if (type >= 0) {
        ctx->type = type;
    }

    ctx->details = *details;

    return NGX_OK;
}
