
/*
 * Copyright (C) Keryu Security
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_keryu_module.h"
#include "keryu_validate.h"
#include "keryu_schema.h"


#define NGX_HTTP_KERYU_VALIDATE_STACK    2048  /* scratch bytes, no alloc */
#define NGX_HTTP_KERYU_VALIDATE_RULES    16    /* store rules, no alloc */
#define NGX_HTTP_KERYU_VALIDATE_ARGS     64    /* keryu_arg per location */
#define NGX_HTTP_KERYU_VALIDATE_VALUES   256   /* values= of an enum */
#define NGX_HTTP_KERYU_VALIDATE_CHUNK    8192  /* a body read back */
#define NGX_HTTP_KERYU_SCHEMA_FILE_MAX   (1024 * 1024)

#define NGX_HTTP_KERYU_UNKNOWN_ALLOW     0
#define NGX_HTTP_KERYU_UNKNOWN_DENY      1

#define NGX_HTTP_KERYU_BODY_NONE         0
#define NGX_HTTP_KERYU_BODY_COUNT        1     /* its size only */
#define NGX_HTTP_KERYU_BODY_FORM         2
#define NGX_HTTP_KERYU_BODY_JSON         3

#define NGX_HTTP_KERYU_NO_RULE           ((size_t) -1)

#define NGX_HTTP_KERYU_HEADERS_TOO_LARGE 431


typedef struct {
    ngx_flag_t                      enabled;
} ngx_http_keryu_validate_main_conf_t;


typedef struct {
    ngx_uint_t                      mode;
    ngx_array_t                    *methods;      /* of ngx_str_t */
    ngx_str_t                       allow;
    ngx_int_t                       max_uri_length;
    ngx_int_t                       max_args;
    ngx_int_t                       max_headers;
    size_t                          max_header_size;
    ngx_array_t                    *args;         /* of keryu_arg_spec_t */
    ngx_uint_t                      unknown_args;
    keryu_schema_t                 *schema;
    off_t                           body_max;
} ngx_http_keryu_validate_loc_conf_t;


/*
 * the shape of what broke a check, for a shadow hit's details: sizes,
 * counts and a rounded bound, never the input itself
 */

typedef struct {
    size_t                          length;
    ngx_uint_t                      count;
    int64_t                         bound;
    const char                     *range;        /* "above", "below",
                                                     "overflow" or NULL */
    unsigned                        has_length:1;
    unsigned                        has_count:1;
    unsigned                        args:1;       /* count: the arguments */
} ngx_http_keryu_validate_shape_t;


/* what broke a check: only names from the configuration, never input */

typedef struct {
    ngx_uint_t                      status;
    ngx_str_t                       rule;
    ngx_str_t                       field;
    ngx_str_t                       allow;
    const char                     *reason;
    ngx_http_keryu_validate_shape_t shape;
} ngx_http_keryu_validate_hit_t;


typedef struct {
    ngx_http_keryu_validate_hit_t   hit;          /* refuses the request */
    ngx_http_keryu_validate_hit_t   shadow;       /* the first shadow hit */
    ngx_uint_t                      nargs;        /* arguments counted */
    unsigned                        refused:1;
    unsigned                        shadowed:1;
} ngx_http_keryu_validate_result_t;


/* one pass of checks over a request, kept on the stack */

typedef struct {
    ngx_http_request_t                  *request;
    ngx_http_keryu_validate_loc_conf_t  *conf;
    ngx_http_keryu_validate_result_t    *res;
    const keryu_validation_t           **rules;
    size_t                               nrules;
    u_char                              *done;    /* the rule hit already */
    uint64_t                            *seen;    /* its args given */
    uint64_t                             given;   /* keryu_arg's given */
    ngx_uint_t                           nargs;
    ngx_uint_t                           shadow;  /* keryu_validate shadow */
    u_char                              *scratch;
    size_t                               size;
    u_char                              *carry;   /* a form pair cut off */
    size_t                               carry_len;
    size_t                               carry_size;
    ngx_http_keryu_validate_shape_t      shape;   /* for the next hit */
} ngx_http_keryu_validate_pass_t;


typedef struct {
    ngx_http_keryu_validate_result_t    res;
    keryu_schema_run_t                 *run;
    off_t                               received;
    ngx_uint_t                          body;
    ngx_str_t                           details;  /* a shadow hit recorded */
    ngx_str_t                           members;
    unsigned                            reading:1;
    unsigned                            streamed:1;
    unsigned                            failed:1; /* the schema run */
    unsigned                            done:1;
} ngx_http_keryu_validate_ctx_t;


static ngx_int_t ngx_http_keryu_validate_handler(ngx_http_request_t *r);
static void ngx_http_keryu_validate_body_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_keryu_validate_body_filter(ngx_http_request_t *r,
    ngx_chain_t *in);
static ngx_int_t ngx_http_keryu_validate_precontent(ngx_http_request_t *r);
static void ngx_http_keryu_validate_start(ngx_http_request_t *r,
    ngx_http_keryu_validate_pass_t *v, ngx_http_keryu_validate_result_t *res,
    const keryu_validation_t **rules, u_char *done, uint64_t *seen);
static ngx_int_t ngx_http_keryu_validate_rules(
    ngx_http_keryu_validate_pass_t *v);
static void ngx_http_keryu_validate_value_shape(
    ngx_http_keryu_validate_pass_t *v, const keryu_arg_spec_t *spec,
    int code, u_char *value, size_t len);
static ngx_int_t ngx_http_keryu_validate_head(
    ngx_http_keryu_validate_pass_t *v);
static ngx_int_t ngx_http_keryu_validate_headers(
    ngx_http_keryu_validate_pass_t *v);
static ngx_int_t ngx_http_keryu_validate_segments(
    ngx_http_keryu_validate_pass_t *v, size_t i);
static ngx_int_t ngx_http_keryu_validate_query(
    ngx_http_keryu_validate_pass_t *v);
static ngx_int_t ngx_http_keryu_validate_args(
    ngx_http_keryu_validate_pass_t *v, u_char *p, size_t len);
static ngx_int_t ngx_http_keryu_validate_pair(
    ngx_http_keryu_validate_pass_t *v, keryu_arg_pair_t *pair);
static ngx_int_t ngx_http_keryu_validate_required(
    ngx_http_keryu_validate_pass_t *v);
static ngx_int_t ngx_http_keryu_validate_form(
    ngx_http_keryu_validate_pass_t *v);
static ngx_int_t ngx_http_keryu_validate_form_piece(
    ngx_http_keryu_validate_pass_t *v, u_char *p, size_t len);
static ngx_int_t ngx_http_keryu_validate_carry(
    ngx_http_keryu_validate_pass_t *v, u_char *p, size_t len);
static ngx_int_t ngx_http_keryu_validate_stored(ngx_http_request_t *r,
    ngx_http_keryu_validate_ctx_t *ctx);
static ngx_int_t ngx_http_keryu_validate_chunk(ngx_http_request_t *r,
    ngx_http_keryu_validate_ctx_t *ctx, u_char *p, size_t len);
static ngx_int_t ngx_http_keryu_validate_schema(ngx_http_request_t *r,
    ngx_http_keryu_validate_ctx_t *ctx);
static ngx_int_t ngx_http_keryu_validate_fail(
    ngx_http_keryu_validate_pass_t *v, size_t rule, ngx_uint_t status,
    const char *directive, ngx_str_t *field, const char *reason);
static ngx_int_t ngx_http_keryu_validate_hit(ngx_http_request_t *r,
    ngx_http_keryu_validate_result_t *res, ngx_uint_t shadow,
    ngx_http_keryu_validate_hit_t *hit);
static const keryu_arg_spec_t *ngx_http_keryu_validate_spec(
    const keryu_arg_spec_t *specs, size_t n, u_char *name, size_t len,
    size_t *index);
static ngx_uint_t ngx_http_keryu_validate_body_kind(ngx_http_request_t *r,
    ngx_http_keryu_validate_loc_conf_t *vlcf);
static ngx_int_t ngx_http_keryu_validate_type(ngx_str_t *value,
    const char *type, size_t len);
static ngx_int_t ngx_http_keryu_validate_finish(ngx_http_request_t *r,
    ngx_http_keryu_validate_result_t *res);
static ngx_int_t ngx_http_keryu_validate_reject(ngx_http_request_t *r,
    ngx_http_keryu_validate_hit_t *hit);
static ngx_int_t ngx_http_keryu_validate_record(ngx_http_request_t *r,
    ngx_http_keryu_validate_hit_t *hit);
static u_char *ngx_http_keryu_validate_json(u_char *p, u_char *name,
    u_char *s, size_t len);
static void ngx_http_keryu_validate_run_cleanup(void *data);
static void *ngx_http_keryu_validate_create_main_conf(ngx_conf_t *cf);
static void *ngx_http_keryu_validate_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_keryu_validate_merge_loc_conf(ngx_conf_t *cf,
    void *parent, void *child);
static char *ngx_http_keryu_allow_methods(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_keryu_arg(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_keryu_arg_values(ngx_conf_t *cf, keryu_arg_spec_t *a,
    ngx_str_t *list);
static char *ngx_http_keryu_body_schema(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static void ngx_http_keryu_pattern_cleanup(void *data);
static void ngx_http_keryu_schema_cleanup(void *data);
static ngx_int_t ngx_http_keryu_validate_init(ngx_conf_t *cf);


static ngx_http_request_body_filter_pt   ngx_http_next_request_body_filter;


static ngx_str_t  ngx_http_keryu_validate_json_type =
    ngx_string("application/json");
static ngx_str_t  ngx_http_keryu_validate_uri = ngx_string("uri");


static ngx_conf_enum_t  ngx_http_keryu_validate_modes[] = {
    { ngx_string("off"), NGX_HTTP_KERYU_OFF },
    { ngx_string("on"), NGX_HTTP_KERYU_ON },
    { ngx_string("shadow"), NGX_HTTP_KERYU_SHADOW },
    { ngx_null_string, 0 }
};


static ngx_conf_enum_t  ngx_http_keryu_unknown_args[] = {
    { ngx_string("allow"), NGX_HTTP_KERYU_UNKNOWN_ALLOW },
    { ngx_string("deny"), NGX_HTTP_KERYU_UNKNOWN_DENY },
    { ngx_null_string, 0 }
};


static ngx_conf_num_bounds_t  ngx_http_keryu_validate_positive = {
    ngx_conf_check_num_bounds, 1, NGX_MAX_INT32_VALUE
};


static ngx_conf_num_bounds_t  ngx_http_keryu_validate_count = {
    ngx_conf_check_num_bounds, 0, NGX_MAX_INT32_VALUE
};


static ngx_command_t  ngx_http_keryu_validate_commands[] = {

    { ngx_string("keryu_validate"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_enum_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_keryu_validate_loc_conf_t, mode),
      &ngx_http_keryu_validate_modes },

    { ngx_string("keryu_allow_methods"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_keryu_allow_methods,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("keryu_max_uri_length"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_keryu_validate_loc_conf_t, max_uri_length),
      &ngx_http_keryu_validate_positive },

    { ngx_string("keryu_max_args"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_keryu_validate_loc_conf_t, max_args),
      &ngx_http_keryu_validate_count },

    { ngx_string("keryu_max_headers"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_keryu_validate_loc_conf_t, max_headers),
      &ngx_http_keryu_validate_positive },

    { ngx_string("keryu_max_header_size"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_keryu_validate_loc_conf_t, max_header_size),
      NULL },

    { ngx_string("keryu_arg"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_2MORE,
      ngx_http_keryu_arg,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("keryu_unknown_args"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_enum_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_keryu_validate_loc_conf_t, unknown_args),
      &ngx_http_keryu_unknown_args },

    { ngx_string("keryu_body_schema"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_keryu_body_schema,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("keryu_body_max"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_off_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_keryu_validate_loc_conf_t, body_max),
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_keryu_validate_module_ctx = {
    NULL,                                  /* preconfiguration */
    ngx_http_keryu_validate_init,          /* postconfiguration */

    ngx_http_keryu_validate_create_main_conf, /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_keryu_validate_create_loc_conf, /* create location configuration */
    ngx_http_keryu_validate_merge_loc_conf /* merge location configuration */
};


ngx_module_t  ngx_http_keryu_validate_module = {
    NGX_MODULE_V1,
    &ngx_http_keryu_validate_module_ctx,   /* module context */
    ngx_http_keryu_validate_commands,      /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_int_t
ngx_http_keryu_validate_handler(ngx_http_request_t *r)
{
    ngx_int_t                            rc;
    ngx_uint_t                           body;
    uint64_t                             seen[NGX_HTTP_KERYU_VALIDATE_RULES];
    u_char                               done[NGX_HTTP_KERYU_VALIDATE_RULES];
    u_char                               buf[NGX_HTTP_KERYU_VALIDATE_STACK];
    ngx_pool_cleanup_t                  *cln;
    const keryu_validation_t            *rules[NGX_HTTP_KERYU_VALIDATE_RULES];
    ngx_http_keryu_validate_ctx_t       *ctx;
    ngx_http_keryu_validate_pass_t       v;
    ngx_http_keryu_validate_result_t     res;
    ngx_http_keryu_validate_loc_conf_t  *vlcf;

    vlcf = ngx_http_get_module_loc_conf(r, ngx_http_keryu_validate_module);

    if (vlcf->mode == NGX_HTTP_KERYU_OFF || r != r->main) {
        return NGX_DECLINED;
    }

    ctx = ngx_http_get_module_ctx(r, ngx_http_keryu_validate_module);

    if (ctx) {

        /* back after the body was read */

        return NGX_DECLINED;
    }

    ngx_memzero(&res, sizeof(ngx_http_keryu_validate_result_t));

    ngx_http_keryu_validate_start(r, &v, &res, rules, done, seen);

    v.scratch = buf;
    v.size = sizeof(buf);

    if (ngx_http_keryu_validate_rules(&v) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = ngx_http_keryu_validate_head(&v);

    if (rc == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    body = NGX_HTTP_KERYU_BODY_NONE;

    if (rc == NGX_OK) {
        body = ngx_http_keryu_validate_body_kind(r, vlcf);

        if (vlcf->body_max >= 0
            && r->headers_in.content_length_n > vlcf->body_max)
        {
            body = NGX_HTTP_KERYU_BODY_NONE;

            v.shape.length = (size_t) r->headers_in.content_length_n;
            v.shape.has_length = 1;

            rc = ngx_http_keryu_validate_fail(&v, NGX_HTTP_KERYU_NO_RULE,
                                              NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                              "keryu_body_max", NULL,
                                              "body too large");

        } else if (body == NGX_HTTP_KERYU_BODY_NONE && vlcf->schema
                   && (r->headers_in.content_length_n > 0
                       || r->headers_in.chunked))
        {
            rc = ngx_http_keryu_validate_fail(&v, NGX_HTTP_KERYU_NO_RULE,
                                              NGX_HTTP_UNSUPPORTED_MEDIA_TYPE,
                                              "keryu_body_schema", NULL,
                                              "unsupported media type");
        }

        if (rc == NGX_ERROR) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    /* a form body is checked with the query, once both are in */

    if (rc == NGX_OK && body != NGX_HTTP_KERYU_BODY_FORM) {
        rc = ngx_http_keryu_validate_query(&v);

        if (rc == NGX_OK) {
            rc = ngx_http_keryu_validate_required(&v);
        }

        res.nargs = v.nargs;

        if (rc == NGX_ERROR) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    if (rc == NGX_DONE || body == NGX_HTTP_KERYU_BODY_NONE) {
        return ngx_http_keryu_validate_finish(r, &res);
    }

    /* the body is read here, and checked as it arrives */

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_keryu_validate_ctx_t));
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->res = res;
    ctx->body = body;

    if (body == NGX_HTTP_KERYU_BODY_JSON) {
        cln = ngx_pool_cleanup_add(r->pool, 0);
        if (cln == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ctx->run = keryu_schema_run_new(vlcf->schema, NULL);
        if (ctx->run == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        cln->handler = ngx_http_keryu_validate_run_cleanup;
        cln->data = ctx;
    }

    ngx_http_set_ctx(r, ctx, ngx_http_keryu_validate_module);

    ctx->reading = 1;

    rc = ngx_http_read_client_request_body(r,
                                          ngx_http_keryu_validate_body_handler);

    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }

    ngx_http_finalize_request(r, NGX_DONE);

    return NGX_DONE;
}


static void
ngx_http_keryu_validate_body_handler(ngx_http_request_t *r)
{
    uint64_t                             seen[NGX_HTTP_KERYU_VALIDATE_RULES];
    u_char                               done[NGX_HTTP_KERYU_VALIDATE_RULES];
    u_char                               buf[NGX_HTTP_KERYU_VALIDATE_STACK];
    ngx_int_t                            status;
    const keryu_validation_t            *rules[NGX_HTTP_KERYU_VALIDATE_RULES];
    ngx_http_keryu_validate_ctx_t       *ctx;
    ngx_http_keryu_validate_pass_t       v;
    ngx_http_keryu_validate_loc_conf_t  *vlcf;

    ctx = ngx_http_get_module_ctx(r, ngx_http_keryu_validate_module);
    vlcf = ngx_http_get_module_loc_conf(r, ngx_http_keryu_validate_module);

    ctx->reading = 0;

    /* a body read before this phase is read again from where it is kept */

    if (!ctx->streamed) {
        if (ngx_http_keryu_validate_stored(r, ctx) != NGX_OK) {
            ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
            return;
        }
    }

    if (ctx->run && !ctx->failed && !ctx->res.refused
        && keryu_schema_run_finish(ctx->run) != 0)
    {
        if (ngx_http_keryu_validate_schema(r, ctx) != NGX_OK) {
            ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
            return;
        }
    }

    if (ctx->run) {
        keryu_schema_run_free(ctx->run);
        ctx->run = NULL;
    }

    /* the query and the form body, against the rules in force now */

    if (ctx->body == NGX_HTTP_KERYU_BODY_FORM && !ctx->res.refused
        && !(ctx->res.shadowed && vlcf->mode == NGX_HTTP_KERYU_SHADOW))
    {
        ngx_http_keryu_validate_start(r, &v, &ctx->res, rules, done, seen);

        v.scratch = buf;
        v.size = sizeof(buf);

        status = ngx_http_keryu_validate_rules(&v);

        if (status == NGX_OK) {
            status = ngx_http_keryu_validate_query(&v);
        }

        if (status == NGX_OK) {
            status = ngx_http_keryu_validate_form(&v);
        }

        if (status == NGX_OK && v.carry_len) {
            status = ngx_http_keryu_validate_args(&v, v.carry, v.carry_len);
        }

        if (status == NGX_OK) {
            status = ngx_http_keryu_validate_required(&v);
        }

        ctx->res.nargs = v.nargs;

        if (status == NGX_ERROR) {
            ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
            return;
        }
    }

    status = ngx_http_keryu_validate_finish(r, &ctx->res);

    if (status == NGX_DONE) {
        return;
    }

    if (status != NGX_DECLINED) {
        ngx_http_finalize_request(r, status);
        return;
    }

    ctx->done = 1;

    r->preserve_body = 1;

    r->write_event_handler = ngx_http_core_run_phases;
    ngx_http_core_run_phases(r);
}


/*
 * sees each piece of a body as it is read, before it is kept in memory or
 * written to a file; once the request is to be refused, the rest is read
 * and dropped
 */

static ngx_int_t
ngx_http_keryu_validate_body_filter(ngx_http_request_t *r, ngx_chain_t *in)
{
    ngx_buf_t                      *b;
    ngx_chain_t                    *cl, *last;
    ngx_http_keryu_validate_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_keryu_validate_module);

    if (ctx == NULL || !ctx->reading) {
        return ngx_http_next_request_body_filter(r, in);
    }

    ctx->streamed = 1;

    for (cl = in; cl; cl = cl->next) {
        b = cl->buf;

        if (b->in_file || ctx->res.refused) {
            continue;
        }

        if (ngx_http_keryu_validate_chunk(r, ctx, b->pos, b->last - b->pos)
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    if (!ctx->res.refused) {
        return ngx_http_next_request_body_filter(r, in);
    }

    last = NULL;

    for (cl = in; cl; cl = cl->next) {
        cl->buf->pos = cl->buf->last;

        if (cl->buf->last_buf) {
            last = cl;
        }
    }

    if (last == NULL) {
        return NGX_OK;
    }

    cl = ngx_alloc_chain_link(r->pool);
    if (cl == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cl->buf = last->buf;
    cl->next = NULL;

    return ngx_http_next_request_body_filter(r, cl);
}


/*
 * keryu_access, in the access phase, writes the details of what it
 * decided over those of a shadow hit: they are put together again here
 */

static ngx_int_t
ngx_http_keryu_validate_precontent(ngx_http_request_t *r)
{
    u_char                         *p;
    size_t                          len;
    ngx_str_t                       details;
    ngx_http_keryu_ctx_t           *kctx;
    ngx_http_keryu_validate_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_keryu_validate_module);

    if (ctx == NULL || ctx->members.len == 0) {
        return NGX_DECLINED;
    }

    kctx = ngx_http_get_module_ctx(r, ngx_http_keryu_module);

    if (kctx == NULL || kctx->details.data == ctx->details.data
        || kctx->details.len < 2)
    {
        return NGX_DECLINED;
    }

    /* a rule of keryu_access that would have refused keeps "shadow" */

    len = kctx->details.len + ctx->members.len
          + sizeof(",\"shadow_validation\"") - 1;

    details.data = ngx_pnalloc(r->pool, len);
    if (details.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_cpymem(details.data, kctx->details.data, kctx->details.len - 1);

    if (ngx_strlcasestrn(kctx->details.data,
                         kctx->details.data + kctx->details.len,
                         (u_char *) "\"shadow\":", sizeof("\"shadow\":") - 2)
        != NULL)
    {
        p = ngx_cpymem(p, ",\"shadow_validation\"",
                       sizeof(",\"shadow_validation\"") - 1);

    } else {
        p = ngx_cpymem(p, ",\"shadow\"", sizeof(",\"shadow\"") - 1);
    }

    p = ngx_cpymem(p, ctx->members.data, ctx->members.len);

    details.len = p - details.data;

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "keryu validate: shadow %V", &details);

    if (ngx_http_keryu_set_event(r, -1, &details) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->details = details;

    return NGX_DECLINED;
}


static void
ngx_http_keryu_validate_start(ngx_http_request_t *r,
    ngx_http_keryu_validate_pass_t *v, ngx_http_keryu_validate_result_t *res,
    const keryu_validation_t **rules, u_char *done, uint64_t *seen)
{
    ngx_memzero(v, sizeof(ngx_http_keryu_validate_pass_t));

    v->request = r;
    v->conf = ngx_http_get_module_loc_conf(r, ngx_http_keryu_validate_module);
    v->res = res;
    v->rules = rules;
    v->done = done;
    v->seen = seen;
    v->shadow = (v->conf->mode == NGX_HTTP_KERYU_SHADOW);
}


/*
 * the validation rules of the store that cover the request, from the set
 * of policies this worker has compiled; a store that cannot be read
 * leaves the last set in force, or none
 */

static ngx_int_t
ngx_http_keryu_validate_rules(ngx_http_keryu_validate_pass_t *v)
{
    size_t                       n;
    ngx_http_request_t          *r;
    keryu_policy_set_t          *set;
    ngx_http_keryu_main_conf_t  *kmcf;

    r = v->request;

    kmcf = ngx_http_get_module_main_conf(r, ngx_http_keryu_module);

    if (kmcf->path.data == NULL) {
        return NGX_OK;
    }

    (void) ngx_http_keryu_refresh(kmcf, r->connection->log);

    set = kmcf->state.policies;

    if (set == NULL) {
        return NGX_OK;
    }

    n = keryu_policy_validations(set, (char *) r->uri.data, r->uri.len,
                                 v->rules, NGX_HTTP_KERYU_VALIDATE_RULES);

    if (n > NGX_HTTP_KERYU_VALIDATE_RULES) {
        v->rules = ngx_palloc(r->pool, n * sizeof(keryu_validation_t *));
        v->done = ngx_palloc(r->pool, n);
        v->seen = ngx_palloc(r->pool, n * sizeof(uint64_t));

        if (v->rules == NULL || v->done == NULL || v->seen == NULL) {
            return NGX_ERROR;
        }

        n = keryu_policy_validations(set, (char *) r->uri.data, r->uri.len,
                                     v->rules, n);
    }

    v->nrules = n;

    ngx_memzero(v->done, n);
    ngx_memzero(v->seen, n * sizeof(uint64_t));

    return NGX_OK;
}


/*
 * what does not need the arguments or the body: the method, the lengths,
 * the headers, the encoding of the request target, and the store rules'
 * own limits and segments
 */

static ngx_int_t
ngx_http_keryu_validate_head(ngx_http_keryu_validate_pass_t *v)
{
    int                                  code;
    u_char                              *scratch;
    size_t                               i, k;
    ngx_int_t                            rc;
    ngx_str_t                           *m;
    ngx_uint_t                           j;
    ngx_http_request_t                  *r;
    const keryu_validation_t            *vr;
    ngx_http_keryu_validate_loc_conf_t  *vlcf;

    r = v->request;
    vlcf = v->conf;

    if (vlcf->methods) {
        m = vlcf->methods->elts;

        for (j = 0; j < vlcf->methods->nelts; j++) {
            if (m[j].len == r->method_name.len
                && ngx_strncmp(m[j].data, r->method_name.data, m[j].len) == 0)
            {
                break;
            }
        }

        if (j == vlcf->methods->nelts) {
            rc = ngx_http_keryu_validate_fail(v, NGX_HTTP_KERYU_NO_RULE,
                                              NGX_HTTP_NOT_ALLOWED,
                                              "keryu_allow_methods", NULL,
                                              "method not allowed");
            if (rc != NGX_OK) {
                return rc;
            }
        }
    }

    if (vlcf->max_uri_length != NGX_CONF_UNSET
        && r->unparsed_uri.len > (size_t) vlcf->max_uri_length)
    {
        v->shape.length = r->unparsed_uri.len;
        v->shape.has_length = 1;

        rc = ngx_http_keryu_validate_fail(v, NGX_HTTP_KERYU_NO_RULE,
                                          NGX_HTTP_REQUEST_URI_TOO_LARGE,
                                          "keryu_max_uri_length", NULL,
                                          "uri too long");
        if (rc != NGX_OK) {
            return rc;
        }
    }

    if (vlcf->max_headers != NGX_CONF_UNSET
        || vlcf->max_header_size != NGX_CONF_UNSET_SIZE)
    {
        rc = ngx_http_keryu_validate_headers(v);
        if (rc != NGX_OK) {
            return rc;
        }
    }

    /* the target as sent: decoding needs room only when it holds "%" */

    scratch = NULL;

    if (ngx_strlchr(r->unparsed_uri.data,
                    r->unparsed_uri.data + r->unparsed_uri.len, '%'))
    {
        scratch = v->scratch;

        if (r->unparsed_uri.len > v->size) {
            scratch = ngx_pnalloc(r->pool, r->unparsed_uri.len);
            if (scratch == NULL) {
                return NGX_ERROR;
            }
        }
    }

    code = keryu_validate_uri(r->unparsed_uri.data, r->unparsed_uri.len,
                              scratch);

    if (code != KERYU_VALID_OK) {
        rc = ngx_http_keryu_validate_fail(v, NGX_HTTP_KERYU_NO_RULE,
                                          NGX_HTTP_BAD_REQUEST,
                                          "keryu_validate",
                                          &ngx_http_keryu_validate_uri,
                                          keryu_validate_reason(code));
        if (rc != NGX_OK) {
            return rc;
        }
    }

    for (i = 0; i < v->nrules; i++) {
        vr = v->rules[i];

        if (vr->nmethods) {
            for (k = 0; k < vr->nmethods; k++) {
                if (vr->method_lens[k] == r->method_name.len
                    && ngx_strncmp(vr->methods[k], r->method_name.data,
                                   r->method_name.len)
                       == 0)
                {
                    break;
                }
            }

            if (k == vr->nmethods) {
                rc = ngx_http_keryu_validate_fail(v, i, NGX_HTTP_NOT_ALLOWED,
                                                  NULL, NULL,
                                                  "method not allowed");
                if (rc != NGX_OK) {
                    return rc;
                }

                continue;
            }
        }

        if (vr->max_uri_length != KERYU_VALIDATION_NONE
            && r->unparsed_uri.len > vr->max_uri_length)
        {
            v->shape.length = r->unparsed_uri.len;
            v->shape.has_length = 1;

            rc = ngx_http_keryu_validate_fail(v, i,
                                              NGX_HTTP_REQUEST_URI_TOO_LARGE,
                                              NULL, NULL, "uri too long");
            if (rc != NGX_OK) {
                return rc;
            }

            continue;
        }

        if (vr->nsegments) {
            rc = ngx_http_keryu_validate_segments(v, i);
            if (rc != NGX_OK) {
                return rc;
            }
        }
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_keryu_validate_headers(ngx_http_keryu_validate_pass_t *v)
{
    size_t                               size;
    ngx_int_t                            n;
    ngx_uint_t                           i;
    ngx_list_part_t                     *part;
    ngx_table_elt_t                     *h;
    ngx_http_keryu_validate_loc_conf_t  *vlcf;

    vlcf = v->conf;

    n = 0;
    size = 0;

    part = &v->request->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */ ; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        n++;

        if (h[i].key.len + h[i].value.len > size) {
            size = h[i].key.len + h[i].value.len;
        }
    }

    if (vlcf->max_headers != NGX_CONF_UNSET && n > vlcf->max_headers) {
        v->shape.count = n;
        v->shape.has_count = 1;

        return ngx_http_keryu_validate_fail(v, NGX_HTTP_KERYU_NO_RULE,
                                            NGX_HTTP_KERYU_HEADERS_TOO_LARGE,
                                            "keryu_max_headers", NULL,
                                            "too many headers");
    }

    if (vlcf->max_header_size != NGX_CONF_UNSET_SIZE
        && size > vlcf->max_header_size)
    {
        v->shape.length = size;
        v->shape.has_length = 1;

        return ngx_http_keryu_validate_fail(v, NGX_HTTP_KERYU_NO_RULE,
                                            NGX_HTTP_KERYU_HEADERS_TOO_LARGE,
                                            "keryu_max_header_size", NULL,
                                            "header too large");
    }

    return NGX_OK;
}


/* {name} segments of a rule's path, as nginx decoded the path */

static ngx_int_t
ngx_http_keryu_validate_segments(ngx_http_keryu_validate_pass_t *v,
    size_t i)
{
    int                        code;
    size_t                     k, len;
    ngx_str_t                  field;
    const char                *seg;
    ngx_http_request_t        *r;
    const keryu_arg_spec_t    *spec;
    const keryu_validation_t  *vr;

    r = v->request;
    vr = v->rules[i];

    for (k = 0; k < vr->nsegments; k++) {
        spec = &vr->segments[k];

        if (!keryu_policy_segment((char *) r->uri.data, r->uri.len,
                                  spec->segment, &seg, &len))
        {
            continue;
        }

        code = keryu_arg_check(spec, (u_char *) seg, len);

        if (code != KERYU_VALID_OK) {
            ngx_http_keryu_validate_value_shape(v, spec, code, (u_char *) seg,
                                                len);

            field.len = spec->name_len;
            field.data = (u_char *) spec->name;

            return ngx_http_keryu_validate_fail(v, i, NGX_HTTP_BAD_REQUEST,
                                                NULL, &field,
                                                keryu_validate_reason(code));
        }
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_keryu_validate_query(ngx_http_keryu_validate_pass_t *v)
{
    ngx_http_request_t  *r;

    r = v->request;

    if (r->args.len == 0) {
        return NGX_OK;
    }

    /* a name and a value decode into at most twice their length */

    if (2 * r->args.len > v->size) {
        v->size = 2 * r->args.len;

        v->scratch = ngx_pnalloc(r->pool, v->size);
        if (v->scratch == NULL) {
            return NGX_ERROR;
        }
    }

    return ngx_http_keryu_validate_args(v, r->args.data, r->args.len);
}


static ngx_int_t
ngx_http_keryu_validate_args(ngx_http_keryu_validate_pass_t *v, u_char *p,
    size_t len)
{
    ngx_int_t          rc;
    const u_char      *pos;
    keryu_arg_pair_t   pair;

    pos = p;

    while (keryu_args_next(&pos, p + len, &pair)) {
        rc = ngx_http_keryu_validate_pair(v, &pair);

        if (rc == NGX_DONE && v->res->shadowed
            && v->res->shadow.shape.args)
        {
            /* a shadow count of arguments takes in the rest of these */

            while (keryu_args_next(&pos, p + len, &pair)) {
                v->nargs++;
            }

            v->res->nargs = v->nargs;
        }

        if (rc != NGX_OK) {
            return rc;
        }
    }

    return NGX_OK;
}


/*
 * one argument: its count, the encoding of its name and value, then the
 * keryu_arg of its name, then each store rule's spec of it
 */

static ngx_int_t
ngx_http_keryu_validate_pair(ngx_http_keryu_validate_pass_t *v,
    keryu_arg_pair_t *pair)
{
    int                                  code;
    u_char                              *name, *value, *deep;
    size_t                               i, nlen, vlen, need, index;
    ngx_int_t                            rc;
    ngx_str_t                            field, *fp;
    const keryu_arg_spec_t              *spec;
    const keryu_validation_t            *vr;
    ngx_http_keryu_validate_loc_conf_t  *vlcf;

    vlcf = v->conf;

    v->nargs++;

    if (vlcf->max_args != NGX_CONF_UNSET
        && v->nargs > (ngx_uint_t) vlcf->max_args)
    {
        v->shape.count = v->nargs;
        v->shape.has_count = 1;
        v->shape.args = 1;

        return ngx_http_keryu_validate_fail(v, NGX_HTTP_KERYU_NO_RULE,
                                            NGX_HTTP_BAD_REQUEST,
                                            "keryu_max_args", NULL,
                                            "too many arguments");
    }

    need = 2 * (pair->name_len + pair->value_len);

    if (need > v->size) {
        v->scratch = ngx_pnalloc(v->request->pool, need);
        if (v->scratch == NULL) {
            return NGX_ERROR;
        }

        v->size = need;
    }

    name = v->scratch;
    nlen = keryu_validate_unescape(name, pair->name, pair->name_len, 1);

    value = name + nlen;
    vlen = keryu_validate_unescape(value, pair->value, pair->value_len, 1);

    deep = value + vlen;

    code = keryu_validate_text(name, nlen, deep);

    if (code != KERYU_VALID_OK) {
        return ngx_http_keryu_validate_fail(v, NGX_HTTP_KERYU_NO_RULE,
                                            NGX_HTTP_BAD_REQUEST,
                                            "keryu_validate", NULL,
                                            keryu_validate_reason(code));
    }

    spec = NULL;

    if (vlcf->args) {
        spec = ngx_http_keryu_validate_spec(vlcf->args->elts,
                                            vlcf->args->nelts, name, nlen,
                                            &index);
    }

    fp = NULL;

    if (spec) {
        field.len = spec->name_len;
        field.data = (u_char *) spec->name;
        fp = &field;
    }

    code = keryu_validate_text(value, vlen, deep);

    if (code != KERYU_VALID_OK) {
        return ngx_http_keryu_validate_fail(v, NGX_HTTP_KERYU_NO_RULE,
                                            NGX_HTTP_BAD_REQUEST,
                                            "keryu_validate", fp,
                                            keryu_validate_reason(code));
    }

    if (spec) {
        v->given |= (uint64_t) 1 << index;

        code = keryu_arg_check(spec, value, vlen);

        if (code != KERYU_VALID_OK) {
            ngx_http_keryu_validate_value_shape(v, spec, code, value, vlen);

            rc = ngx_http_keryu_validate_fail(v, NGX_HTTP_KERYU_NO_RULE,
                                              NGX_HTTP_BAD_REQUEST,
                                              "keryu_arg", fp,
                                              keryu_validate_reason(code));
            if (rc != NGX_OK) {
                return rc;
            }
        }

    } else if (vlcf->unknown_args == NGX_HTTP_KERYU_UNKNOWN_DENY) {
        rc = ngx_http_keryu_validate_fail(v, NGX_HTTP_KERYU_NO_RULE,
                                          NGX_HTTP_BAD_REQUEST,
                                          "keryu_unknown_args", NULL,
                                          "unknown argument");
        if (rc != NGX_OK) {
            return rc;
        }
    }

    for (i = 0; i < v->nrules; i++) {
        vr = v->rules[i];

        if (v->done[i]) {
            continue;
        }

        if (vr->max_args != KERYU_VALIDATION_NONE
            && v->nargs > vr->max_args)
        {
            v->shape.count = v->nargs;
            v->shape.has_count = 1;
            v->shape.args = 1;

            rc = ngx_http_keryu_validate_fail(v, i, NGX_HTTP_BAD_REQUEST,
                                              NULL, NULL,
                                              "too many arguments");
            if (rc != NGX_OK) {
                return rc;
            }

            continue;
        }

        spec = ngx_http_keryu_validate_spec(vr->args, vr->nargs, name, nlen,
                                            &index);

        if (spec == NULL) {
            if (vr->unknown_deny) {
                rc = ngx_http_keryu_validate_fail(v, i, NGX_HTTP_BAD_REQUEST,
                                                  NULL, NULL,
                                                  "unknown argument");
                if (rc != NGX_OK) {
                    return rc;
                }
            }

            continue;
        }

        v->seen[i] |= (uint64_t) 1 << index;

        code = keryu_arg_check(spec, value, vlen);

        if (code != KERYU_VALID_OK) {
            ngx_http_keryu_validate_value_shape(v, spec, code, value, vlen);

            field.len = spec->name_len;
            field.data = (u_char *) spec->name;

            rc = ngx_http_keryu_validate_fail(v, i, NGX_HTTP_BAD_REQUEST,
                                              NULL, &field,
                                              keryu_validate_reason(code));
            if (rc != NGX_OK) {
                return rc;
            }
        }
    }

    return NGX_OK;
}


/* what must be given and was not, once every argument has been seen */

static ngx_int_t
ngx_http_keryu_validate_required(ngx_http_keryu_validate_pass_t *v)
{
    size_t                               i, k;
    ngx_int_t                            rc;
    ngx_str_t                            field;
    ngx_uint_t                           j;
    keryu_arg_spec_t                    *specs;
    const keryu_validation_t            *vr;
    ngx_http_keryu_validate_loc_conf_t  *vlcf;

    vlcf = v->conf;

    if (vlcf->args) {
        specs = vlcf->args->elts;

        for (j = 0; j < vlcf->args->nelts; j++) {
            if (!specs[j].required || (v->given & ((uint64_t) 1 << j))) {
                continue;
            }

            field.len = specs[j].name_len;
            field.data = (u_char *) specs[j].name;

            rc = ngx_http_keryu_validate_fail(v, NGX_HTTP_KERYU_NO_RULE,
                                              NGX_HTTP_BAD_REQUEST,
                                              "keryu_arg", &field,
                                              "missing");
            if (rc != NGX_OK) {
                return rc;
            }

            break;
        }
    }

    for (i = 0; i < v->nrules; i++) {
        vr = v->rules[i];

        if (v->done[i]) {
            continue;
        }

        for (k = 0; k < vr->nargs; k++) {
            if (!vr->args[k].required || (v->seen[i] & ((uint64_t) 1 << k))) {
                continue;
            }

            field.len = vr->args[k].name_len;
            field.data = (u_char *) vr->args[k].name;

            rc = ngx_http_keryu_validate_fail(v, i, NGX_HTTP_BAD_REQUEST,
                                              NULL, &field, "missing");
            if (rc != NGX_OK) {
                return rc;
            }

            break;
        }
    }

    return NGX_OK;
}


/*
 * the arguments of a form body, wherever its pieces are kept: memory, or
 * a file read back in chunks; a pair cut between two pieces is carried
 */

static ngx_int_t
ngx_http_keryu_validate_form(ngx_http_keryu_validate_pass_t *v)
{
    u_char                   *buf;
    off_t                     pos;
    size_t                    size;
    ssize_t                   n;
    ngx_int_t                 rc;
    ngx_buf_t                *b;
    ngx_chain_t              *cl;
    ngx_http_request_t       *r;

    r = v->request;
    buf = NULL;

    if (r->request_body == NULL) {
        return NGX_OK;
    }

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        b = cl->buf;

        if (!b->in_file) {
            rc = ngx_http_keryu_validate_form_piece(v, b->pos,
                                                    b->last - b->pos);
            if (rc != NGX_OK) {
                return rc;
            }

            continue;
        }

        if (buf == NULL) {
            buf = ngx_pnalloc(r->pool, NGX_HTTP_KERYU_VALIDATE_CHUNK);
            if (buf == NULL) {
                return NGX_ERROR;
            }
        }

        for (pos = b->file_pos; pos < b->file_last; pos += n) {
            size = (size_t) ngx_min(b->file_last - pos,
                                    NGX_HTTP_KERYU_VALIDATE_CHUNK);

            n = ngx_read_file(b->file, buf, size, pos);

            if (n != (ssize_t) size) {
                return NGX_ERROR;
            }

            rc = ngx_http_keryu_validate_form_piece(v, buf, size);
            if (rc != NGX_OK) {
                return rc;
            }
        }
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_keryu_validate_form_piece(ngx_http_keryu_validate_pass_t *v,
    u_char *p, size_t len)
{
    u_char     *amp, *last;
    ngx_int_t   rc;

    if (v->carry_len) {
        amp = ngx_strlchr(p, p + len, '&');

        if (amp == NULL) {
            return ngx_http_keryu_validate_carry(v, p, len);
        }

        rc = ngx_http_keryu_validate_carry(v, p, amp - p);

        if (rc == NGX_OK) {
            rc = ngx_http_keryu_validate_args(v, v->carry, v->carry_len);
        }

        if (rc != NGX_OK) {
            return rc;
        }

        v->carry_len = 0;

        len -= amp + 1 - p;
        p = amp + 1;
    }

    for (last = p + len; last > p; last--) {
        if (last[-1] == '&') {
            break;
        }
    }

    if (last > p) {
        rc = ngx_http_keryu_validate_args(v, p, last - p);
        if (rc != NGX_OK) {
            return rc;
        }
    }

    return ngx_http_keryu_validate_carry(v, last, p + len - last);
}


static ngx_int_t
ngx_http_keryu_validate_carry(ngx_http_keryu_validate_pass_t *v, u_char *p,
    size_t len)
{
    u_char  *carry;
    size_t   size;

    if (len == 0) {
        return NGX_OK;
    }

    if (v->carry_len + len > v->carry_size) {
        size = ngx_max(2 * v->carry_size, v->carry_len + len);
        size = ngx_max(size, 256);

        carry = ngx_pnalloc(v->request->pool, size);
        if (carry == NULL) {
            return NGX_ERROR;
        }

        ngx_memcpy(carry, v->carry, v->carry_len);

        v->carry = carry;
        v->carry_size = size;
    }

    ngx_memcpy(v->carry + v->carry_len, p, len);
    v->carry_len += len;

    return NGX_OK;
}


/* a body that was read before this module asked: its kept pieces */

static ngx_int_t
ngx_http_keryu_validate_stored(ngx_http_request_t *r,
    ngx_http_keryu_validate_ctx_t *ctx)
{
    u_char       *buf;
    off_t         pos;
    size_t        size;
    ssize_t       n;
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    if (r->request_body == NULL || ctx->body == NGX_HTTP_KERYU_BODY_FORM) {
        return NGX_OK;
    }

    buf = NULL;

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        b = cl->buf;

        if (!b->in_file) {
            if (ngx_http_keryu_validate_chunk(r, ctx, b->pos, b->last - b->pos)
                != NGX_OK)
            {
                return NGX_ERROR;
            }

            continue;
        }

        if (buf == NULL) {
            buf = ngx_pnalloc(r->pool, NGX_HTTP_KERYU_VALIDATE_CHUNK);
            if (buf == NULL) {
                return NGX_ERROR;
            }
        }

        for (pos = b->file_pos; pos < b->file_last; pos += n) {
            size = (size_t) ngx_min(b->file_last - pos,
                                    NGX_HTTP_KERYU_VALIDATE_CHUNK);

            n = ngx_read_file(b->file, buf, size, pos);

            if (n != (ssize_t) size) {
                return NGX_ERROR;
            }

            if (ngx_http_keryu_validate_chunk(r, ctx, buf, size) != NGX_OK) {
                return NGX_ERROR;
            }
        }
    }

    return NGX_OK;
}


/* one piece of a body: its size so far, and the schema run fed with it */

static ngx_int_t
ngx_http_keryu_validate_chunk(ngx_http_request_t *r,
    ngx_http_keryu_validate_ctx_t *ctx, u_char *p, size_t len)
{
    ngx_uint_t                           shadow;
    ngx_http_keryu_validate_hit_t        hit;
    ngx_http_keryu_validate_loc_conf_t  *vlcf;

    vlcf = ngx_http_get_module_loc_conf(r, ngx_http_keryu_validate_module);

    shadow = (vlcf->mode == NGX_HTTP_KERYU_SHADOW);

    ctx->received += len;

    if (vlcf->body_max >= 0 && ctx->received > vlcf->body_max
        && !(ctx->received - (off_t) len > vlcf->body_max))
    {
        ngx_memzero(&hit, sizeof(ngx_http_keryu_validate_hit_t));

        hit.status = NGX_HTTP_REQUEST_ENTITY_TOO_LARGE;
        hit.reason = "body too large";
        ngx_str_set(&hit.rule, "keryu_body_max");
        ngx_str_set(&hit.field, "body");

        hit.shape.length = (size_t) ctx->received;
        hit.shape.has_length = 1;

        if (ngx_http_keryu_validate_hit(r, &ctx->res, shadow, &hit)
            == NGX_ERROR)
        {
            return NGX_ERROR;
        }

        if (ctx->res.refused) {
            return NGX_OK;
        }
    }

    if (ctx->run == NULL || ctx->failed || len == 0) {
        return NGX_OK;
    }

    if (keryu_schema_run_feed(ctx->run, p, len) != 0) {
        return ngx_http_keryu_validate_schema(r, ctx);
    }

    return NGX_OK;
}


/* what the schema run refused the body for */

static ngx_int_t
ngx_http_keryu_validate_schema(ngx_http_request_t *r,
    ngx_http_keryu_validate_ctx_t *ctx)
{
    u_char                              *p;
    const char                          *pointer, *keyword, *reason;
    ngx_http_keryu_validate_hit_t        hit;
    ngx_http_keryu_validate_loc_conf_t  *vlcf;

    vlcf = ngx_http_get_module_loc_conf(r, ngx_http_keryu_validate_module);

    ctx->failed = 1;

    keryu_schema_run_error(ctx->run, &pointer, &keyword, &reason);

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "keryu validate: schema \"%s\": %s", keyword, reason);

    ngx_memzero(&hit, sizeof(ngx_http_keryu_validate_hit_t));

    hit.status = NGX_HTTP_BAD_REQUEST;
    ngx_str_set(&hit.rule, "keryu_body_schema");
    ngx_str_set(&hit.field, "body");

    /*
     * the keyword and the reason come from the schema and the validator;
     * the pointer names members of the body, so it is left out
     */

    p = ngx_pnalloc(r->pool, ngx_strlen(keyword) + ngx_strlen(reason) + 3);
    if (p == NULL) {
        return NGX_ERROR;
    }

    ngx_sprintf(p, "%s: %s%Z", keyword, reason);

    hit.reason = (char *) p;

    return ngx_http_keryu_validate_hit(r, &ctx->res,
                                       vlcf->mode == NGX_HTTP_KERYU_SHADOW,
                                       &hit);
}


/*
 * notes that a check failed: rule is an index into the store rules, or
 * NO_RULE for the directive named; returns NGX_OK while checking goes
 * on, NGX_DONE when nothing more is to be learnt
 */

static ngx_int_t
ngx_http_keryu_validate_fail(ngx_http_keryu_validate_pass_t *v, size_t rule,
    ngx_uint_t status, const char *directive, ngx_str_t *field,
    const char *reason)
{
    u_char                         *p;
    size_t                          k, len;
    ngx_int_t                       rc;
    ngx_uint_t                      shadow;
    ngx_pool_t                     *pool;
    const keryu_validation_t       *vr;
    ngx_http_keryu_validate_hit_t   hit;

    pool = v->request->pool;

    ngx_memzero(&hit, sizeof(ngx_http_keryu_validate_hit_t));

    hit.status = status;
    hit.reason = reason;
    hit.shape = v->shape;

    ngx_memzero(&v->shape, sizeof(ngx_http_keryu_validate_shape_t));

    vr = (rule == NGX_HTTP_KERYU_NO_RULE) ? NULL : v->rules[rule];

    if (vr == NULL) {
        hit.rule.len = ngx_strlen(directive);
        hit.rule.data = (u_char *) directive;
        hit.allow = v->conf->allow;

    } else {
        len = ngx_strlen(vr->policy) + 1 + ngx_strlen(vr->id);

        hit.rule.data = ngx_pnalloc(pool, len);
        if (hit.rule.data == NULL) {
            return NGX_ERROR;
        }

        hit.rule.len = ngx_sprintf(hit.rule.data, "%s/%s", vr->policy, vr->id)
                       - hit.rule.data;

        if (status == NGX_HTTP_NOT_ALLOWED) {
            len = 0;

            for (k = 0; k < vr->nmethods; k++) {
                len += vr->method_lens[k] + 2;
            }

            hit.allow.data = ngx_pnalloc(pool, len);
            if (hit.allow.data == NULL) {
                return NGX_ERROR;
            }

            p = hit.allow.data;

            for (k = 0; k < vr->nmethods; k++) {
                if (k) {
                    *p++ = ',';
                    *p++ = ' ';
                }

                p = ngx_cpymem(p, vr->methods[k], vr->method_lens[k]);
            }

            hit.allow.len = p - hit.allow.data;
        }

        v->done[rule] = 1;
    }

    if (field) {
        hit.field = *field;

    } else {
        switch (status) {

        case NGX_HTTP_NOT_ALLOWED:
            ngx_str_set(&hit.field, "method");
            break;

        case NGX_HTTP_REQUEST_URI_TOO_LARGE:
            ngx_str_set(&hit.field, "uri");
            break;

        case NGX_HTTP_KERYU_HEADERS_TOO_LARGE:
            ngx_str_set(&hit.field, "headers");
            break;

        case NGX_HTTP_REQUEST_ENTITY_TOO_LARGE:
        case NGX_HTTP_UNSUPPORTED_MEDIA_TYPE:
            ngx_str_set(&hit.field, "body");
            break;

        default:
            ngx_str_set(&hit.field, "args");
        }
    }

    shadow = v->shadow || (vr && vr->shadow);

    rc = ngx_http_keryu_validate_hit(v->request, v->res, shadow, &hit);

    if (rc == NGX_ERROR) {
        return NGX_ERROR;
    }

    return (v->shadow || v->res->refused) ? NGX_DONE : NGX_OK;
}


/* keeps a refusal, or the first shadow hit */

static ngx_int_t
ngx_http_keryu_validate_hit(ngx_http_request_t *r,
    ngx_http_keryu_validate_result_t *res, ngx_uint_t shadow,
    ngx_http_keryu_validate_hit_t *hit)
{
    if (shadow) {
        if (!res->shadowed) {
            res->shadow = *hit;
            res->shadowed = 1;
        }

        return NGX_OK;
    }

    if (!res->refused) {
        res->hit = *hit;
        res->refused = 1;
    }

    return NGX_OK;
}


/*
 * the shape of a value that failed its spec: its length in characters,
 * and for an integer out of range which side it lies on and a bound of
 * the 1-2-5 series beyond it, so that the value itself is not recorded
 */

static void
ngx_http_keryu_validate_value_shape(ngx_http_keryu_validate_pass_t *v,
    const keryu_arg_spec_t *spec, int code, u_char *value, size_t len)
{
    int64_t  n;

    v->shape.length = keryu_validate_chars(value, len);
    v->shape.has_length = 1;

    if (code != KERYU_VALID_RANGE) {
        return;
    }

    if (keryu_validate_integer(value, len, &n) != KERYU_VALID_OK) {
        v->shape.range = "overflow";
        return;
    }

    if (spec->has_min && n < spec->min) {
        v->shape.range = "below";
        v->shape.bound = keryu_validate_round(n, 0);

    } else {
        v->shape.range = "above";
        v->shape.bound = keryu_validate_round(n, 1);
    }
}


/* the spec of an argument, by its decoded name, compared without case */

static const keryu_arg_spec_t *
ngx_http_keryu_validate_spec(const keryu_arg_spec_t *specs, size_t n,
    u_char *name, size_t len, size_t *index)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        if (specs[i].name_len == len
            && ngx_strncasecmp((u_char *) specs[i].name, name, len) == 0)
        {
            *index = i;
            return &specs[i];
        }
    }

    return NULL;
}


/*
 * what is done with a body: a form is always checked, JSON against
 * keryu_body_schema, and any other counted against keryu_body_max when
 * its length is not known in advance
 */

static ngx_uint_t
ngx_http_keryu_validate_body_kind(ngx_http_request_t *r,
    ngx_http_keryu_validate_loc_conf_t *vlcf)
{
    ngx_str_t  *type;

    if (r->headers_in.content_length_n <= 0 && !r->headers_in.chunked) {
        return NGX_HTTP_KERYU_BODY_NONE;
    }

    type = r->headers_in.content_type ? &r->headers_in.content_type->value
                                      : NULL;

    if (type
        && ngx_http_keryu_validate_type(type,
                                        "application/x-www-form-urlencoded",
                                        sizeof("application/x-www-form-"
                                               "urlencoded") - 1)
           == NGX_OK)
    {
        return NGX_HTTP_KERYU_BODY_FORM;
    }

    if (vlcf->schema) {
        if (type
            && ngx_http_keryu_validate_type(type, "application/json",
                                            sizeof("application/json") - 1)
               == NGX_OK)
        {
            return NGX_HTTP_KERYU_BODY_JSON;
        }

        return NGX_HTTP_KERYU_BODY_NONE;
    }

    if (vlcf->body_max >= 0 && r->headers_in.chunked) {
        return NGX_HTTP_KERYU_BODY_COUNT;
    }

    return NGX_HTTP_KERYU_BODY_NONE;
}


/* a media type, without case, alone or followed by parameters */

static ngx_int_t
ngx_http_keryu_validate_type(ngx_str_t *value, const char *type, size_t len)
{
    if (value->len < len
        || ngx_strncasecmp(value->data, (u_char *) type, len) != 0)
    {
        return NGX_DECLINED;
    }

    if (value->len == len || value->data[len] == ';'
        || value->data[len] == ' ' || value->data[len] == '\t')
    {
        return NGX_OK;
    }

    return NGX_DECLINED;
}


/*
 * a refusal is answered here; a shadow hit is recorded and the request
 * goes on
 */

static ngx_int_t
ngx_http_keryu_validate_finish(ngx_http_request_t *r,
    ngx_http_keryu_validate_result_t *res)
{
    if (res->refused) {
        return ngx_http_keryu_validate_reject(r, &res->hit);
    }

    if (res->shadowed) {

        /* a rule's count of arguments: all of them, when all were seen */

        if (res->shadow.shape.args && res->nargs > res->shadow.shape.count) {
            res->shadow.shape.count = res->nargs;
        }

        if (ngx_http_keryu_validate_record(r, &res->shadow) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    return NGX_DECLINED;
}


static ngx_int_t
ngx_http_keryu_validate_reject(ngx_http_request_t *r,
    ngx_http_keryu_validate_hit_t *hit)
{
    u_char                     *p;
    size_t                      len;
    ngx_int_t                   rc;
    ngx_str_t                   details, body;
    ngx_table_elt_t            *h;
    ngx_http_complex_value_t    cv;
    ngx_http_keryu_loc_conf_t  *klcf;

    klcf = ngx_http_get_module_loc_conf(r, ngx_http_keryu_module);

    len = sizeof("{\"rule\":,\"field\":,\"reason\":}") - 1
          + (hit->rule.len + hit->field.len + ngx_strlen(hit->reason)) * 6
          + 6;

    details.data = ngx_pnalloc(r->pool, len);
    if (details.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = details.data;
    *p++ = '{';
    p = ngx_http_keryu_validate_json(p, (u_char *) "rule", hit->rule.data,
                                     hit->rule.len);
    *p++ = ',';
    p = ngx_http_keryu_validate_json(p, (u_char *) "field", hit->field.data,
                                     hit->field.len);
    *p++ = ',';
    p = ngx_http_keryu_validate_json(p, (u_char *) "reason",
                                     (u_char *) hit->reason,
                                     ngx_strlen(hit->reason));
    *p++ = '}';

    details.len = p - details.data;

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "keryu validate: input_rejected %V", &details);

    if (ngx_http_keryu_set_event(r, KERYU_EVENT_INPUT_REJECTED, &details)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_log_error(klcf->deny_log_level, r->connection->log, 0,
                  "keryu rejected input: %s, rule \"%V\", field \"%V\"",
                  hit->reason, &hit->rule, &hit->field);

    len = sizeof("{\"error\":\"invalid request\",\"field\":,\"rule\":}\n") - 1
          + (hit->field.len + hit->rule.len) * 6 + 4;

    body.data = ngx_pnalloc(r->pool, len);
    if (body.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_cpymem(body.data, "{\"error\":\"invalid request\",",
                   sizeof("{\"error\":\"invalid request\",") - 1);
    p = ngx_http_keryu_validate_json(p, (u_char *) "field", hit->field.data,
                                     hit->field.len);
    *p++ = ',';
    p = ngx_http_keryu_validate_json(p, (u_char *) "rule", hit->rule.data,
                                     hit->rule.len);
    *p++ = '}';
    *p++ = LF;

    body.len = p - body.data;

    if (hit->status == NGX_HTTP_NOT_ALLOWED && hit->allow.len) {
        h = ngx_list_push(&r->headers_out.headers);
        if (h == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        h->hash = 1;
        ngx_str_set(&h->key, "Allow");
        h->value = hit->allow;
    }

    if (hit->status == NGX_HTTP_KERYU_HEADERS_TOO_LARGE) {
        ngx_str_set(&r->headers_out.status_line,
                    "431 Request Header Fields Too Large");
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    ngx_memzero(&cv, sizeof(ngx_http_complex_value_t));
    cv.value = body;

    rc = ngx_http_send_response(r, hit->status,
                                &ngx_http_keryu_validate_json_type, &cv);

    ngx_http_finalize_request(r, rc);

    return NGX_DONE;
}


/*
 * A shadow hit leaves the request's event type alone and is written in
 * its details the way keryu_access writes a shadow refusal, so that
 * keryud counts it as a "shadow_deny" of the validation rule:
 * {"reason":"shadow","rule":R,"field":F,"invalid":WHY,...}.  If
 * keryu_access decides later, its details replace these, and the
 * precontent handler adds "shadow":R,"field":F,"invalid":WHY,... to them
 * ("shadow_validation":R when keryu_access wrote a "shadow" of its own).
 * What follows WHY is the shape of what failed, for keryud's suggestions:
 * "length" (characters of a value, bytes of the target, of the largest
 * header or of the body), "count" (arguments or headers), and for an
 * integer out of range "range" ("above", "below" or "overflow") with
 * "bound", the value rounded away from the limit on the 1-2-5 series.
 */

static ngx_int_t
ngx_http_keryu_validate_record(ngx_http_request_t *r,
    ngx_http_keryu_validate_hit_t *hit)
{
    u_char                         *p;
    size_t                          len;
    ngx_http_keryu_validate_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_keryu_validate_module);

    if (ctx == NULL) {
        ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_keryu_validate_ctx_t));
        if (ctx == NULL) {
            return NGX_ERROR;
        }

        ctx->done = 1;

        ngx_http_set_ctx(r, ctx, ngx_http_keryu_validate_module);
    }

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "keryu would reject input in shadow mode: %s, rule \"%V\", "
                  "field \"%V\"", hit->reason, &hit->rule, &hit->field);

    len = sizeof("{\"reason\":\"shadow\",\"rule\"") - 1
          + sizeof(":,\"field\":,\"invalid\":}") - 1
          + (hit->rule.len + hit->field.len + ngx_strlen(hit->reason)) * 6
          + 6
          + sizeof(",\"length\":,\"count\":,\"range\":\"overflow\","
                   "\"bound\":") - 1
          + 3 * NGX_INT64_LEN;

    ctx->details.data = ngx_pnalloc(r->pool, len);
    if (ctx->details.data == NULL) {
        return NGX_ERROR;
    }

    p = ngx_cpymem(ctx->details.data, "{\"reason\":\"shadow\",\"rule\"",
                   sizeof("{\"reason\":\"shadow\",\"rule\"") - 1);

    /* what follows "rule" is what the precontent handler may add */

    ctx->members.data = p;

    *p++ = ':';
    *p++ = '"';
    p = (u_char *) ngx_escape_json(p, hit->rule.data, hit->rule.len);
    *p++ = '"';
    *p++ = ',';
    p = ngx_http_keryu_validate_json(p, (u_char *) "field", hit->field.data,
                                     hit->field.len);
    *p++ = ',';
    p = ngx_http_keryu_validate_json(p, (u_char *) "invalid",
                                     (u_char *) hit->reason,
                                     ngx_strlen(hit->reason));

    if (hit->shape.has_length) {
        p = ngx_sprintf(p, ",\"length\":%uz", hit->shape.length);
    }

    if (hit->shape.has_count) {
        p = ngx_sprintf(p, ",\"count\":%ui", hit->shape.count);
    }

    if (hit->shape.range) {
        p = ngx_sprintf(p, ",\"range\":\"%s\"", hit->shape.range);

        if (hit->shape.range[0] != 'o') {
            p = ngx_sprintf(p, ",\"bound\":%L", hit->shape.bound);
        }
    }

    *p++ = '}';

    ctx->members.len = p - ctx->members.data;
    ctx->details.len = p - ctx->details.data;

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "keryu validate: shadow %V", &ctx->details);

    return ngx_http_keryu_set_event(r, -1, &ctx->details);
}


/* "name":"escaped value" */

static u_char *
ngx_http_keryu_validate_json(u_char *p, u_char *name, u_char *s, size_t len)
{
    *p++ = '"';
    p = ngx_cpymem(p, name, ngx_strlen(name));
    *p++ = '"';
    *p++ = ':';
    *p++ = '"';

    if (len) {
        p = (u_char *) ngx_escape_json(p, s, len);
    }

    *p++ = '"';

    return p;
}


static void
ngx_http_keryu_validate_run_cleanup(void *data)
{
    ngx_http_keryu_validate_ctx_t  *ctx = data;

    if (ctx->run) {
        keryu_schema_run_free(ctx->run);
        ctx->run = NULL;
    }
}


static void *
ngx_http_keryu_validate_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_keryu_validate_main_conf_t  *vmcf;

    vmcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_keryu_validate_main_conf_t));
    if (vmcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     vmcf->enabled = 0;
     */

    return vmcf;
}


static void *
ngx_http_keryu_validate_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_keryu_validate_loc_conf_t  *vlcf;

    vlcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_keryu_validate_loc_conf_t));
    if (vlcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     vlcf->allow = { 0, NULL };
     */

    vlcf->mode = NGX_CONF_UNSET_UINT;
    vlcf->methods = NGX_CONF_UNSET_PTR;
    vlcf->max_uri_length = NGX_CONF_UNSET;
    vlcf->max_args = NGX_CONF_UNSET;
    vlcf->max_headers = NGX_CONF_UNSET;
    vlcf->max_header_size = NGX_CONF_UNSET_SIZE;
    vlcf->args = NGX_CONF_UNSET_PTR;
    vlcf->unknown_args = NGX_CONF_UNSET_UINT;
    vlcf->schema = NGX_CONF_UNSET_PTR;
    vlcf->body_max = NGX_CONF_UNSET;

    return vlcf;
}


static char *
ngx_http_keryu_validate_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child)
{
    ngx_http_keryu_validate_loc_conf_t  *prev = parent;
    ngx_http_keryu_validate_loc_conf_t  *conf = child;

    ngx_http_keryu_main_conf_t           *kmcf;
    ngx_http_keryu_validate_main_conf_t  *vmcf;

    ngx_conf_merge_uint_value(conf->mode, prev->mode, NGX_HTTP_KERYU_OFF);

    if (conf->methods == NGX_CONF_UNSET_PTR) {
        conf->methods = prev->methods;
        conf->allow = prev->allow;
    }

    ngx_conf_merge_ptr_value(conf->methods, prev->methods, NULL);

    /* NGX_CONF_UNSET stays for a limit never set: none */

    ngx_conf_merge_value(conf->max_uri_length, prev->max_uri_length,
                         NGX_CONF_UNSET);
    ngx_conf_merge_value(conf->max_args, prev->max_args, NGX_CONF_UNSET);
    ngx_conf_merge_value(conf->max_headers, prev->max_headers,
                         NGX_CONF_UNSET);
    ngx_conf_merge_size_value(conf->max_header_size, prev->max_header_size,
                              NGX_CONF_UNSET_SIZE);
    ngx_conf_merge_ptr_value(conf->args, prev->args, NULL);
    ngx_conf_merge_uint_value(conf->unknown_args, prev->unknown_args,
                              NGX_HTTP_KERYU_UNKNOWN_ALLOW);
    ngx_conf_merge_ptr_value(conf->schema, prev->schema, NULL);
    ngx_conf_merge_off_value(conf->body_max, prev->body_max, NGX_CONF_UNSET);

    if (conf->mode == NGX_HTTP_KERYU_OFF) {
        return NGX_CONF_OK;
    }

    vmcf = ngx_http_conf_get_module_main_conf(cf,
                                              ngx_http_keryu_validate_module);
    vmcf->enabled = 1;

    /* the validation policies of the store are compiled as access ones */

    kmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_keryu_module);

    if (kmcf->path.data) {
        kmcf->enforce = 1;
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_keryu_allow_methods(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_keryu_validate_loc_conf_t  *vlcf = conf;

    u_char      *p;
    size_t       len;
    ngx_str_t   *value, *m;
    ngx_uint_t   i, k;

    if (vlcf->methods != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    vlcf->methods = ngx_array_create(cf->pool, cf->args->nelts - 1,
                                     sizeof(ngx_str_t));
    if (vlcf->methods == NULL) {
        return NGX_CONF_ERROR;
    }

    value = cf->args->elts;
    len = 0;

    for (i = 1; i < cf->args->nelts; i++) {

        for (k = 0; k < value[i].len; k++) {
            if (!((value[i].data[k] >= 'A' && value[i].data[k] <= 'Z')
                  || value[i].data[k] == '-' || value[i].data[k] == '_'))
            {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid method \"%V\"", &value[i]);
                return NGX_CONF_ERROR;
            }
        }

        m = ngx_array_push(vlcf->methods);
        if (m == NULL) {
            return NGX_CONF_ERROR;
        }

        *m = value[i];
        len += value[i].len + 2;
    }

    vlcf->allow.data = ngx_pnalloc(cf->pool, len);
    if (vlcf->allow.data == NULL) {
        return NGX_CONF_ERROR;
    }

    p = vlcf->allow.data;

    for (i = 1; i < cf->args->nelts; i++) {
        if (i > 1) {
            *p++ = ',';
            *p++ = ' ';
        }

        p = ngx_cpymem(p, value[i].data, value[i].len);
    }

    vlcf->allow.len = p - vlcf->allow.data;

    return NGX_CONF_OK;
}


static char *
ngx_http_keryu_arg(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_keryu_validate_loc_conf_t  *vlcf = conf;

    int                  type, code;
    char                 err[128];
    int64_t              n;
    ngx_int_t            len;
    ngx_str_t           *value, s;
    ngx_uint_t           i;
    keryu_pattern_t     *pt;
    keryu_arg_spec_t    *a, *specs;
    ngx_pool_cleanup_t  *cln;

    value = cf->args->elts;

    if (!keryu_arg_name_valid((char *) value[1].data, value[1].len)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid argument name \"%V\"", &value[1]);
        return NGX_CONF_ERROR;
    }

    if (vlcf->args == NGX_CONF_UNSET_PTR) {
        vlcf->args = ngx_array_create(cf->pool, 4, sizeof(keryu_arg_spec_t));
        if (vlcf->args == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    specs = vlcf->args->elts;

    for (i = 0; i < vlcf->args->nelts; i++) {
        if (specs[i].name_len == value[1].len
            && ngx_strncasecmp((u_char *) specs[i].name, value[1].data,
                               value[1].len)
               == 0)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "duplicate argument \"%V\"", &value[1]);
            return NGX_CONF_ERROR;
        }
    }

    if (vlcf->args->nelts == NGX_HTTP_KERYU_VALIDATE_ARGS) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "more than %d arguments in one location",
                           NGX_HTTP_KERYU_VALIDATE_ARGS);
        return NGX_CONF_ERROR;
    }

    type = keryu_arg_type_parse((char *) value[2].data, value[2].len);

    if (type == -1) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid type \"%V\"", &value[2]);
        return NGX_CONF_ERROR;
    }

    a = ngx_array_push(vlcf->args);
    if (a == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memzero(a, sizeof(keryu_arg_spec_t));

    a->name = (char *) value[1].data;
    a->name_len = value[1].len;
    a->type = type;
    a->maxlen = SIZE_MAX;

    for (i = 3; i < cf->args->nelts; i++) {

        if (ngx_strcmp(value[i].data, "required") == 0) {
            a->required = 1;
            continue;
        }

        if ((ngx_strncmp(value[i].data, "min=", 4) == 0
             || ngx_strncmp(value[i].data, "max=", 4) == 0)
            && type == KERYU_ARG_INTEGER)
        {
            code = keryu_validate_integer(value[i].data + 4, value[i].len - 4,
                                          &n);
            if (code != KERYU_VALID_OK) {
                goto invalid;
            }

            if (value[i].data[1] == 'i') {
                a->has_min = 1;
                a->min = n;

            } else {
                a->has_max = 1;
                a->max = n;
            }

            continue;
        }

        if ((ngx_strncmp(value[i].data, "minlen=", 7) == 0
             || ngx_strncmp(value[i].data, "maxlen=", 7) == 0)
            && type != KERYU_ARG_INTEGER)
        {
            len = ngx_atoi(value[i].data + 7, value[i].len - 7);
            if (len == NGX_ERROR) {
                goto invalid;
            }

            if (value[i].data[1] == 'i') {
                a->minlen = (size_t) len;

            } else {
                a->maxlen = (size_t) len;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "values=", 7) == 0
            && type == KERYU_ARG_ENUM && a->nvalues == 0)
        {
            s.len = value[i].len - 7;
            s.data = value[i].data + 7;

            if (ngx_http_keryu_arg_values(cf, a, &s) != NGX_CONF_OK) {
                return NGX_CONF_ERROR;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "pattern=", 8) == 0
            && type != KERYU_ARG_INTEGER && a->pattern == NULL)
        {
            cln = ngx_pool_cleanup_add(cf->pool, 0);
            if (cln == NULL) {
                return NGX_CONF_ERROR;
            }

            pt = keryu_pattern_compile((char *) value[i].data + 8,
                                       value[i].len - 8, err, sizeof(err));
            if (pt == NULL) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid pattern \"%V\": %s", &value[i],
                                   err);
                return NGX_CONF_ERROR;
            }

            cln->handler = ngx_http_keryu_pattern_cleanup;
            cln->data = pt;

            a->pattern = pt;
            continue;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid parameter \"%V\"", &value[i]);
        return NGX_CONF_ERROR;
    }

    if (type == KERYU_ARG_ENUM && a->nvalues == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"enum\" must have \"values\" parameter");
        return NGX_CONF_ERROR;
    }

    if (type == KERYU_ARG_PATTERN && a->pattern == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"pattern\" must have \"pattern\" parameter");
        return NGX_CONF_ERROR;
    }

    if ((a->has_min && a->has_max && a->min > a->max)
        || a->minlen > a->maxlen)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "minimum is greater than maximum for \"%V\"",
                           &value[1]);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid value \"%V\"", &value[i]);

    return NGX_CONF_ERROR;
}


/* "a|b|c": one to NGX_HTTP_KERYU_VALIDATE_VALUES values, none empty */

static char *
ngx_http_keryu_arg_values(ngx_conf_t *cf, keryu_arg_spec_t *a,
    ngx_str_t *list)
{
    u_char      *p, *end, *bar;
    char       **values;
    size_t      *lens;
    ngx_uint_t   n;

    n = 1;

    for (p = list->data; p < list->data + list->len; p++) {
        if (*p == '|') {
            n++;
        }
    }

    if (n > NGX_HTTP_KERYU_VALIDATE_VALUES) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "more than %d values",
                           NGX_HTTP_KERYU_VALIDATE_VALUES);
        return NGX_CONF_ERROR;
    }

    values = ngx_palloc(cf->pool, n * sizeof(char *));
    lens = ngx_palloc(cf->pool, n * sizeof(size_t));

    if (values == NULL || lens == NULL) {
        return NGX_CONF_ERROR;
    }

    p = list->data;
    end = list->data + list->len;

    for (n = 0; /* void */ ; n++) {
        bar = ngx_strlchr(p, end, '|');

        if (bar == NULL) {
            bar = end;
        }

        if (bar == p) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "empty value in \"values=%V\"", list);
            return NGX_CONF_ERROR;
        }

        values[n] = (char *) p;
        lens[n] = bar - p;

        if (bar == end) {
            break;
        }

        p = bar + 1;
    }

    a->values = (const char *const *) values;
    a->value_lens = lens;
    a->nvalues = n + 1;

    return NGX_CONF_OK;
}


static char *
ngx_http_keryu_body_schema(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_keryu_validate_loc_conf_t  *vlcf = conf;

    char                 err[256];
    u_char              *json;
    ssize_t              n;
    ngx_fd_t             fd;
    ngx_str_t           *value, file;
    keryu_schema_t      *schema;
    ngx_file_info_t      fi;
    ngx_pool_cleanup_t  *cln;

    if (vlcf->schema != NGX_CONF_UNSET_PTR) {
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

    if (ngx_file_size(&fi) > NGX_HTTP_KERYU_SCHEMA_FILE_MAX) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "schema file \"%s\" is larger than %d bytes",
                           file.data, NGX_HTTP_KERYU_SCHEMA_FILE_MAX);
        ngx_close_file(fd);
        return NGX_CONF_ERROR;
    }

    json = ngx_pnalloc(cf->pool, ngx_file_size(&fi) + 1);
    if (json == NULL) {
        ngx_close_file(fd);
        return NGX_CONF_ERROR;
    }

    n = ngx_read_fd(fd, json, ngx_file_size(&fi));

    ngx_close_file(fd);

    if (n != ngx_file_size(&fi)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           ngx_read_fd_n " \"%s\" failed", file.data);
        return NGX_CONF_ERROR;
    }

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        return NGX_CONF_ERROR;
    }

    err[0] = '\0';

    schema = keryu_schema_compile((char *) json, n, err, sizeof(err));
    if (schema == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid schema \"%s\": %s", file.data, err);
        return NGX_CONF_ERROR;
    }

    cln->handler = ngx_http_keryu_schema_cleanup;
    cln->data = schema;

    vlcf->schema = schema;

    return NGX_CONF_OK;
}


static void
ngx_http_keryu_pattern_cleanup(void *data)
{
    keryu_pattern_free(data);
}


static void
ngx_http_keryu_schema_cleanup(void *data)
{
    keryu_schema_free(data);
}


static ngx_int_t
ngx_http_keryu_validate_init(ngx_conf_t *cf)
{
    ngx_uint_t                            n;
    ngx_http_handler_pt                  *h;
    ngx_http_core_main_conf_t            *cmcf;
    ngx_http_keryu_validate_main_conf_t  *vmcf;

    vmcf = ngx_http_conf_get_module_main_conf(cf,
                                              ngx_http_keryu_validate_module);

    /* with no location validating, not a single call per request */

    if (!vmcf->enabled) {
        return NGX_OK;
    }

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    /*
     * handlers of a phase run last added first: put at the front, this
     * one runs last in the preaccess phase, after limit_conn and limit_req
     * have refused what they refuse, and before any access check
     */

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_PREACCESS_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h = cmcf->phases[NGX_HTTP_PREACCESS_PHASE].handlers.elts;
    n = cmcf->phases[NGX_HTTP_PREACCESS_PHASE].handlers.nelts;

    ngx_memmove(&h[1], &h[0], (n - 1) * sizeof(ngx_http_handler_pt));

    h[0] = ngx_http_keryu_validate_handler;

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_PRECONTENT_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_keryu_validate_precontent;

    ngx_http_next_request_body_filter = ngx_http_top_request_body_filter;
    ngx_http_top_request_body_filter = ngx_http_keryu_validate_body_filter;

    return NGX_OK;
}
