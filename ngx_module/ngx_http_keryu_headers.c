
/*
 * Copyright (C) Keryu Security
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_keryu_module.h"


#define NGX_HTTP_KERYU_HEADERS_OFF       0
#define NGX_HTTP_KERYU_HEADERS_BASIC     1
#define NGX_HTTP_KERYU_HEADERS_STRICT    2

#define NGX_HTTP_KERYU_FRAME_OFF         0
#define NGX_HTTP_KERYU_FRAME_DENY        1
#define NGX_HTTP_KERYU_FRAME_SAMEORIGIN  2

/* the headers set, in the order they are added to a response */
#define NGX_HTTP_KERYU_HSTS              0
#define NGX_HTTP_KERYU_CSP               1
#define NGX_HTTP_KERYU_XFO               2
#define NGX_HTTP_KERYU_XCTO              3
#define NGX_HTTP_KERYU_REFERRER          4
#define NGX_HTTP_KERYU_PERMISSIONS       5
#define NGX_HTTP_KERYU_COOP              6
#define NGX_HTTP_KERYU_NHEADERS          7


/* what a preset sends; csp is indexed by the frame option in force */

typedef struct {
    ngx_uint_t                      frame;
    ngx_flag_t                      nosniff;
    ngx_str_t                       csp[3];
    ngx_str_t                       hsts;
    ngx_str_t                       referrer;
    ngx_str_t                       permissions;
    ngx_str_t                       coop;
} ngx_http_keryu_preset_t;


/*
 * the directives as written, merged one by one: a string left unset has
 * no data and "off" is an empty string; then what they make together, a
 * value per header, empty for a header not sent
 */

typedef struct {
    ngx_uint_t                      preset;
    ngx_uint_t                      frame;
    ngx_flag_t                      nosniff;
    ngx_flag_t                      hide;
    ngx_str_t                       hsts;
    ngx_str_t                       csp;
    ngx_str_t                       referrer;
    ngx_str_t                       permissions;

    ngx_flag_t                      enabled;
    ngx_str_t                       values[NGX_HTTP_KERYU_NHEADERS];
} ngx_http_keryu_headers_loc_conf_t;


static ngx_int_t ngx_http_keryu_headers_filter(ngx_http_request_t *r);
static ngx_uint_t ngx_http_keryu_headers_hidden(ngx_str_t *key);
static void *ngx_http_keryu_headers_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_keryu_headers_merge_loc_conf(ngx_conf_t *cf,
    void *parent, void *child);
static char *ngx_http_keryu_security_headers(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_keryu_hsts(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_keryu_frame_options(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_keryu_referrer_policy(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_keryu_headers_policy(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static ngx_int_t ngx_http_keryu_headers_init(ngx_conf_t *cf);


static ngx_str_t  ngx_http_keryu_header_names[] = {
    ngx_string("Strict-Transport-Security"),
    ngx_string("Content-Security-Policy"),
    ngx_string("X-Frame-Options"),
    ngx_string("X-Content-Type-Options"),
    ngx_string("Referrer-Policy"),
    ngx_string("Permissions-Policy"),
    ngx_string("Cross-Origin-Opener-Policy")
};


/* what keryu_hide_server_tokens removes from a response */

static ngx_str_t  ngx_http_keryu_hidden_names[] = {
    ngx_string("Server"),
    ngx_string("X-Powered-By"),
    ngx_string("X-AspNet-Version"),
    ngx_string("X-AspNetMvc-Version"),
    ngx_null_string
};


/* the policy tokens of the W3C Referrer Policy specification */

static ngx_str_t  ngx_http_keryu_referrer_tokens[] = {
    ngx_string("no-referrer"),
    ngx_string("no-referrer-when-downgrade"),
    ngx_string("same-origin"),
    ngx_string("origin"),
    ngx_string("strict-origin"),
    ngx_string("origin-when-cross-origin"),
    ngx_string("strict-origin-when-cross-origin"),
    ngx_string("unsafe-url"),
    ngx_null_string
};


static ngx_http_keryu_preset_t  ngx_http_keryu_presets[] = {

    /* off */
    { NGX_HTTP_KERYU_FRAME_OFF, 0,
      { ngx_null_string, ngx_null_string, ngx_null_string },
      ngx_null_string,
      ngx_null_string,
      ngx_null_string,
      ngx_null_string },

    /* basic */
    { NGX_HTTP_KERYU_FRAME_SAMEORIGIN, 1,
      { ngx_null_string,
        ngx_string("frame-ancestors 'none'"),
        ngx_string("frame-ancestors 'self'") },
      ngx_string("max-age=31536000"),
      ngx_string("strict-origin-when-cross-origin"),
      ngx_null_string,
      ngx_null_string },

    /* strict */
    { NGX_HTTP_KERYU_FRAME_DENY, 1,
      { ngx_string("default-src 'self'; object-src 'none'; "
                   "base-uri 'self'; form-action 'self'"),
        ngx_string("default-src 'self'; object-src 'none'; "
                   "frame-ancestors 'none'; base-uri 'self'; "
                   "form-action 'self'"),
        ngx_string("default-src 'self'; object-src 'none'; "
                   "frame-ancestors 'self'; base-uri 'self'; "
                   "form-action 'self'") },
      ngx_string("max-age=31536000; includeSubDomains"),
      ngx_string("no-referrer"),
      ngx_string("camera=(), microphone=(), geolocation=()"),
      ngx_string("same-origin") }
};


static ngx_command_t  ngx_http_keryu_headers_commands[] = {

    { ngx_string("keryu_security_headers"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_keryu_security_headers,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("keryu_hsts"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE123,
      ngx_http_keryu_hsts,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("keryu_csp"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_keryu_headers_policy,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_keryu_headers_loc_conf_t, csp),
      NULL },

    { ngx_string("keryu_frame_options"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_keryu_frame_options,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("keryu_referrer_policy"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_keryu_referrer_policy,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("keryu_permissions_policy"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_keryu_headers_policy,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_keryu_headers_loc_conf_t, permissions),
      NULL },

    { ngx_string("keryu_content_type_options"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_keryu_headers_loc_conf_t, nosniff),
      NULL },

    { ngx_string("keryu_hide_server_tokens"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_keryu_headers_loc_conf_t, hide),
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_keryu_headers_filter_module_ctx = {
    NULL,                                  /* preconfiguration */
    ngx_http_keryu_headers_init,           /* postconfiguration */

    NULL,                                  /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_keryu_headers_create_loc_conf, /* create location configuration */
    ngx_http_keryu_headers_merge_loc_conf  /* merge location configuration */
};


ngx_module_t  ngx_http_keryu_headers_filter_module = {
    NGX_MODULE_V1,
    &ngx_http_keryu_headers_filter_module_ctx,   /* module context */
    ngx_http_keryu_headers_commands,       /* module directives */
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


static ngx_http_output_header_filter_pt  ngx_http_next_header_filter;


/*
 * every status gets the headers, errors included, unlike add_header
 * without "always"; a header the upstream sent under a name set here
 * takes the value configured, and its repeats are dropped
 */

static ngx_int_t
ngx_http_keryu_headers_filter(ngx_http_request_t *r)
{
    ngx_str_t                          *value;
    ngx_uint_t                          i, n, want, found;
    ngx_list_part_t                    *part;
    ngx_table_elt_t                    *h;
    ngx_http_keryu_headers_loc_conf_t  *khlcf;

    if (r != r->main) {
        return ngx_http_next_header_filter(r);
    }

    khlcf = ngx_http_get_module_loc_conf(r,
                                         ngx_http_keryu_headers_filter_module);

    if (!khlcf->enabled) {
        return ngx_http_next_header_filter(r);
    }

    value = khlcf->values;
    want = 0;

    for (n = 0; n < NGX_HTTP_KERYU_NHEADERS; n++) {
        if (value[n].len) {
            want |= (ngx_uint_t) 1 << n;
        }
    }

    /* browsers ignore Strict-Transport-Security over plain HTTP */

#if (NGX_HTTP_SSL)
    if (r->connection->ssl == NULL) {
        want &= ~((ngx_uint_t) 1 << NGX_HTTP_KERYU_HSTS);
    }
#else
    want &= ~((ngx_uint_t) 1 << NGX_HTTP_KERYU_HSTS);
#endif

    found = 0;

    part = &r->headers_out.headers.part;
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

        if (h[i].hash == 0) {
            continue;
        }

        if (khlcf->hide && ngx_http_keryu_headers_hidden(&h[i].key)) {
            ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                           "keryu headers: \"%V\" removed", &h[i].key);

            h[i].hash = 0;
            continue;
        }

        for (n = 0; n < NGX_HTTP_KERYU_NHEADERS; n++) {

            if (!(want & ((ngx_uint_t) 1 << n))
                || h[i].key.len != ngx_http_keryu_header_names[n].len
                || ngx_strncasecmp(h[i].key.data,
                                   ngx_http_keryu_header_names[n].data,
                                   h[i].key.len)
                   != 0)
            {
                continue;
            }

            ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                           "keryu headers: \"%V: %V\" replaced",
                           &h[i].key, &h[i].value);

            if (found & ((ngx_uint_t) 1 << n)) {
                h[i].hash = 0;

            } else {
                h[i].value = value[n];
                found |= (ngx_uint_t) 1 << n;
            }

            break;
        }
    }

    for (n = 0; n < NGX_HTTP_KERYU_NHEADERS; n++) {

        if (!(want & ~found & ((ngx_uint_t) 1 << n))) {
            continue;
        }

        h = ngx_list_push(&r->headers_out.headers);
        if (h == NULL) {
            return NGX_ERROR;
        }

        h->hash = 1;
        h->key = ngx_http_keryu_header_names[n];
        h->value = value[n];
#if (nginx_version >= 1023000)
        h->next = NULL;
#endif
    }

    if (khlcf->hide && r->headers_out.server == NULL) {

        /*
         * an empty Server header that is not sent stops the header
         * filters from writing their own
         */

        h = ngx_list_push(&r->headers_out.headers);
        if (h == NULL) {
            return NGX_ERROR;
        }

        h->hash = 0;
        ngx_str_set(&h->key, "Server");
        ngx_str_null(&h->value);
#if (nginx_version >= 1023000)
        h->next = NULL;
#endif

        r->headers_out.server = h;
    }

    return ngx_http_next_header_filter(r);
}


static ngx_uint_t
ngx_http_keryu_headers_hidden(ngx_str_t *key)
{
    ngx_str_t  *name;

    for (name = ngx_http_keryu_hidden_names; name->len; name++) {
        if (key->len == name->len
            && ngx_strncasecmp(key->data, name->data, name->len) == 0)
        {
            return 1;
        }
    }

    return 0;
}


static void *
ngx_http_keryu_headers_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_keryu_headers_loc_conf_t  *khlcf;

    khlcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_keryu_headers_loc_conf_t));
    if (khlcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     khlcf->hsts = { 0, NULL };
     *     khlcf->csp = { 0, NULL };
     *     khlcf->referrer = { 0, NULL };
     *     khlcf->permissions = { 0, NULL };
     *     khlcf->enabled = 0;
     *     khlcf->values = { { 0, NULL }, ... };
     */

    khlcf->preset = NGX_CONF_UNSET_UINT;
    khlcf->frame = NGX_CONF_UNSET_UINT;
    khlcf->nosniff = NGX_CONF_UNSET;
    khlcf->hide = NGX_CONF_UNSET;

    return khlcf;
}


/*
 * each directive is inherited on its own, so a header set at an outer
 * level stays under a preset chosen further in; a header left unset
 * takes the preset's value
 */

static char *
ngx_http_keryu_headers_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child)
{
    ngx_http_keryu_headers_loc_conf_t  *prev = parent;
    ngx_http_keryu_headers_loc_conf_t  *conf = child;

    ngx_str_t                 *v;
    ngx_uint_t                 n, frame;
    ngx_flag_t                 nosniff;
    ngx_http_keryu_preset_t   *p;
    ngx_http_core_loc_conf_t  *clcf;

    ngx_conf_merge_uint_value(conf->preset, prev->preset,
                              NGX_HTTP_KERYU_HEADERS_OFF);
    ngx_conf_merge_value(conf->hide, prev->hide, 0);

    if (conf->frame == NGX_CONF_UNSET_UINT) {
        conf->frame = prev->frame;
    }

    if (conf->nosniff == NGX_CONF_UNSET) {
        conf->nosniff = prev->nosniff;
    }

    if (conf->hsts.data == NULL) {
        conf->hsts = prev->hsts;
    }

    if (conf->csp.data == NULL) {
        conf->csp = prev->csp;
    }

    if (conf->referrer.data == NULL) {
        conf->referrer = prev->referrer;
    }

    if (conf->permissions.data == NULL) {
        conf->permissions = prev->permissions;
    }

    p = &ngx_http_keryu_presets[conf->preset];
    v = conf->values;

    frame = (conf->frame != NGX_CONF_UNSET_UINT) ? conf->frame : p->frame;
    nosniff = (conf->nosniff != NGX_CONF_UNSET) ? conf->nosniff : p->nosniff;

    v[NGX_HTTP_KERYU_HSTS] = conf->hsts.data ? conf->hsts : p->hsts;

    /* the preset's policy names the frame ancestors X-Frame-Options allows */

    v[NGX_HTTP_KERYU_CSP] = conf->csp.data ? conf->csp : p->csp[frame];

    switch (frame) {

    case NGX_HTTP_KERYU_FRAME_DENY:
        ngx_str_set(&v[NGX_HTTP_KERYU_XFO], "DENY");
        break;

    case NGX_HTTP_KERYU_FRAME_SAMEORIGIN:
        ngx_str_set(&v[NGX_HTTP_KERYU_XFO], "SAMEORIGIN");
        break;

    default: /* NGX_HTTP_KERYU_FRAME_OFF */
        ngx_str_null(&v[NGX_HTTP_KERYU_XFO]);
        break;
    }

    if (nosniff) {
        ngx_str_set(&v[NGX_HTTP_KERYU_XCTO], "nosniff");

    } else {
        ngx_str_null(&v[NGX_HTTP_KERYU_XCTO]);
    }

    v[NGX_HTTP_KERYU_REFERRER] = conf->referrer.data ? conf->referrer
                                                     : p->referrer;
    v[NGX_HTTP_KERYU_PERMISSIONS] = conf->permissions.data
                                    ? conf->permissions : p->permissions;
    v[NGX_HTTP_KERYU_COOP] = p->coop;

    /* nginx's own error pages name no version either */

    if (conf->hide) {
        clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
        clcf->server_tokens = NGX_HTTP_SERVER_TOKENS_OFF;
    }

    conf->enabled = conf->hide;

    for (n = 0; n < NGX_HTTP_KERYU_NHEADERS; n++) {
        if (v[n].len) {
            conf->enabled = 1;
        }
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_keryu_security_headers(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_keryu_headers_loc_conf_t  *khlcf = conf;

    ngx_str_t  *value;

    if (khlcf->preset != NGX_CONF_UNSET_UINT) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "off") == 0) {
        khlcf->preset = NGX_HTTP_KERYU_HEADERS_OFF;

    } else if (ngx_strcmp(value[1].data, "basic") == 0) {
        khlcf->preset = NGX_HTTP_KERYU_HEADERS_BASIC;

    } else if (ngx_strcmp(value[1].data, "strict") == 0) {
        khlcf->preset = NGX_HTTP_KERYU_HEADERS_STRICT;

    } else {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid value \"%V\" in \"%V\" directive, "
                           "it must be \"off\", \"basic\" or \"strict\"",
                           &value[1], &cmd->name);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_keryu_hsts(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_keryu_headers_loc_conf_t  *khlcf = conf;

    u_char      *p;
    time_t       max_age;
    ngx_str_t   *value, s;
    ngx_uint_t   i, subdomains, preload;

    if (khlcf->hsts.data) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "off") == 0) {

        if (cf->args->nelts > 2) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid parameter \"%V\"", &value[2]);
            return NGX_CONF_ERROR;
        }

        ngx_str_set(&khlcf->hsts, "");
        return NGX_CONF_OK;
    }

    max_age = NGX_ERROR;

    if (ngx_strncmp(value[1].data, "max-age=", 8) == 0) {
        s.len = value[1].len - 8;
        s.data = value[1].data + 8;

        max_age = ngx_parse_time(&s, 1);
    }

    if (max_age == (time_t) NGX_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid value \"%V\" in \"%V\" directive, "
                           "it must be \"max-age=<time>\" or \"off\"",
                           &value[1], &cmd->name);
        return NGX_CONF_ERROR;
    }

    subdomains = 0;
    preload = 0;

    for (i = 2; i < cf->args->nelts; i++) {

        if (!subdomains
            && ngx_strcasecmp(value[i].data, (u_char *) "includeSubDomains")
               == 0)
        {
            subdomains = 1;
            continue;
        }

        if (!preload && ngx_strcmp(value[i].data, "preload") == 0) {
            preload = 1;
            continue;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid parameter \"%V\"", &value[i]);
        return NGX_CONF_ERROR;
    }

    p = ngx_pnalloc(cf->pool, sizeof("max-age=; includeSubDomains; preload")
                              - 1 + NGX_TIME_T_LEN);
    if (p == NULL) {
        return NGX_CONF_ERROR;
    }

    khlcf->hsts.data = p;

    p = ngx_sprintf(p, "max-age=%T", max_age);

    if (subdomains) {
        p = ngx_cpymem(p, "; includeSubDomains",
                       sizeof("; includeSubDomains") - 1);
    }

    if (preload) {
        p = ngx_cpymem(p, "; preload", sizeof("; preload") - 1);
    }

    khlcf->hsts.len = p - khlcf->hsts.data;

    return NGX_CONF_OK;
}


static char *
ngx_http_keryu_frame_options(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_keryu_headers_loc_conf_t  *khlcf = conf;

    ngx_str_t  *value;

    if (khlcf->frame != NGX_CONF_UNSET_UINT) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "deny") == 0) {
        khlcf->frame = NGX_HTTP_KERYU_FRAME_DENY;

    } else if (ngx_strcmp(value[1].data, "sameorigin") == 0) {
        khlcf->frame = NGX_HTTP_KERYU_FRAME_SAMEORIGIN;

    } else if (ngx_strcmp(value[1].data, "off") == 0) {
        khlcf->frame = NGX_HTTP_KERYU_FRAME_OFF;

    } else {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid value \"%V\" in \"%V\" directive, "
                           "it must be \"deny\", \"sameorigin\" or \"off\"",
                           &value[1], &cmd->name);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_keryu_referrer_policy(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_keryu_headers_loc_conf_t  *khlcf = conf;

    ngx_str_t  *value, *token;

    if (khlcf->referrer.data) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "off") == 0) {
        ngx_str_set(&khlcf->referrer, "");
        return NGX_CONF_OK;
    }

    for (token = ngx_http_keryu_referrer_tokens; token->len; token++) {
        if (value[1].len == token->len
            && ngx_strncmp(value[1].data, token->data, token->len) == 0)
        {
            khlcf->referrer = *token;
            return NGX_CONF_OK;
        }
    }

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid value \"%V\" in \"%V\" directive, "
                       "it must be a Referrer-Policy token or \"off\"",
                       &value[1], &cmd->name);

    return NGX_CONF_ERROR;
}


/* keryu_csp and keryu_permissions_policy: a header value as written */

static char *
ngx_http_keryu_headers_policy(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    char  *p = conf;

    u_char     *c, *last;
    ngx_str_t  *field, *value;

    field = (ngx_str_t *) (p + cmd->offset);

    if (field->data) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "off") == 0) {
        ngx_str_set(field, "");
        return NGX_CONF_OK;
    }

    last = value[1].data + value[1].len;

    for (c = value[1].data; c < last; c++) {
        if (*c < 0x20 || *c > 0x7e) {
            break;
        }
    }

    /* bytes that could break the log line are not echoed into it */

    if (c != last) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid character in \"%V\" directive, "
                           "it must be a policy in printable ASCII "
                           "or \"off\"", &cmd->name);
        return NGX_CONF_ERROR;
    }

    if (value[1].len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid value \"\" in \"%V\" directive, "
                           "it must be a policy in printable ASCII "
                           "or \"off\"", &cmd->name);
        return NGX_CONF_ERROR;
    }

    *field = value[1];

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_keryu_headers_init(ngx_conf_t *cf)
{
    ngx_http_next_header_filter = ngx_http_top_header_filter;
    ngx_http_top_header_filter = ngx_http_keryu_headers_filter;

    return NGX_OK;
}
