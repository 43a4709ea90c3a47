
/*
 * Copyright (C) Keryu Security
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <nginx.h>

#include "ngx_http_keryu_module.h"


/*
 * The effective configuration, as keryud's compliance checks see it: per
 * server its names, listening sockets, TLS protocols and ciphers, and per
 * location what keryu enforces there and the nginx settings that matter
 * for security.  Locations are noted as their configuration is merged and
 * the document is written at the end of the configuration; the first
 * worker puts it in the store, under "effective_config" in meta.
 */


typedef struct {
    ngx_http_core_srv_conf_t   *cscf;
    ngx_http_core_loc_conf_t   *clcf;
    ngx_http_keryu_loc_conf_t  *klcf;
    void                      **loc_conf;
} ngx_http_keryu_location_t;


typedef struct {
    u_char                     *start;
    u_char                     *pos;
    u_char                     *end;
    ngx_pool_t                 *pool;
    ngx_uint_t                  failed;
} ngx_http_keryu_buf_t;


static void ngx_http_keryu_config_server(ngx_http_keryu_buf_t *b,
    ngx_http_core_main_conf_t *cmcf, ngx_http_core_srv_conf_t *cscf);
static void ngx_http_keryu_config_location(ngx_http_keryu_buf_t *b,
    ngx_http_keryu_location_t *loc);
static void ngx_http_keryu_put(ngx_http_keryu_buf_t *b, const char *s);
static void ngx_http_keryu_put_str(ngx_http_keryu_buf_t *b, u_char *data,
    size_t len);
static void ngx_http_keryu_put_uint(ngx_http_keryu_buf_t *b, uint64_t n);
static u_char *ngx_http_keryu_reserve(ngx_http_keryu_buf_t *b, size_t n);


ngx_int_t
ngx_http_keryu_config_note(ngx_conf_t *cf, ngx_http_keryu_main_conf_t *kmcf,
    ngx_http_keryu_loc_conf_t *klcf)
{
    ngx_http_conf_ctx_t        *ctx;
    ngx_http_keryu_location_t  *loc;

    if (kmcf->locations == NULL) {
        kmcf->locations = ngx_array_create(cf->pool, 16,
                                           sizeof(ngx_http_keryu_location_t));
        if (kmcf->locations == NULL) {
            return NGX_ERROR;
        }
    }

    loc = ngx_array_push(kmcf->locations);
    if (loc == NULL) {
        return NGX_ERROR;
    }

    ctx = cf->ctx;

    loc->cscf = ngx_http_conf_get_module_srv_conf(cf, ngx_http_core_module);
    loc->clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    loc->klcf = klcf;
    loc->loc_conf = ctx->loc_conf;

    return NGX_OK;
}


ngx_int_t
ngx_http_keryu_config_build(ngx_conf_t *cf, ngx_http_keryu_main_conf_t *kmcf)
{
    ngx_uint_t                  s, i, first;
    ngx_http_keryu_buf_t        b;
    ngx_http_core_srv_conf_t  **cscfp;
    ngx_http_core_main_conf_t  *cmcf;
    ngx_http_keryu_location_t  *loc;

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    b.pool = cf->pool;
    b.start = NULL;
    b.pos = NULL;
    b.end = NULL;
    b.failed = 0;

    ngx_http_keryu_put(&b, "{\"nginx_version\":\"" NGINX_VERSION "\","
                           "\"servers\":[");

    cscfp = cmcf->servers.elts;
    loc = kmcf->locations ? kmcf->locations->elts : NULL;

    for (s = 0; s < cmcf->servers.nelts; s++) {

        if (s) {
            ngx_http_keryu_put(&b, ",");
        }

        ngx_http_keryu_config_server(&b, cmcf, cscfp[s]);

        ngx_http_keryu_put(&b, ",\"locations\":[");

        first = 1;

        for (i = 0; loc && i < kmcf->locations->nelts; i++) {
            if (loc[i].cscf != cscfp[s]) {
                continue;
            }

            if (!first) {
                ngx_http_keryu_put(&b, ",");
            }

            first = 0;

            ngx_http_keryu_config_location(&b, &loc[i]);
        }

        ngx_http_keryu_put(&b, "]}");
    }

    ngx_http_keryu_put(&b, "]}");

    if (b.failed) {
        return NGX_ERROR;
    }

    kmcf->effective.data = b.start;
    kmcf->effective.len = b.pos - b.start;

    return NGX_OK;
}


static void
ngx_http_keryu_config_server(ngx_http_keryu_buf_t *b,
    ngx_http_core_main_conf_t *cmcf, ngx_http_core_srv_conf_t *cscf)
{
    ngx_uint_t                  p, a, i, n, ssl;
    ngx_http_conf_port_t       *port;
    ngx_http_conf_addr_t       *addr;
    ngx_http_server_name_t     *sn;
    ngx_http_core_srv_conf_t  **servers;
    ngx_http_core_loc_conf_t   *clcf;
#if (NGX_HTTP_SSL)
    ngx_uint_t                  k;
    ngx_http_ssl_srv_conf_t    *sscf;

    static const struct {
        ngx_uint_t              flag;
        const char             *name;
    } protocols[] = {
        { NGX_SSL_SSLv2, "SSLv2" },
        { NGX_SSL_SSLv3, "SSLv3" },
        { NGX_SSL_TLSv1, "TLSv1" },
        { NGX_SSL_TLSv1_1, "TLSv1.1" },
        { NGX_SSL_TLSv1_2, "TLSv1.2" },
        { NGX_SSL_TLSv1_3, "TLSv1.3" }
    };
#endif

    ngx_http_keryu_put(b, "{\"names\":[");

    sn = cscf->server_names.elts;

    for (i = 0; i < cscf->server_names.nelts; i++) {
        if (i) {
            ngx_http_keryu_put(b, ",");
        }

        ngx_http_keryu_put_str(b, sn[i].name.data, sn[i].name.len);
    }

    ngx_http_keryu_put(b, "],\"listen\":[");

    n = 0;
    ssl = 0;
    port = cmcf->ports ? cmcf->ports->elts : NULL;

    for (p = 0; port && p < cmcf->ports->nelts; p++) {
        addr = port[p].addrs.elts;

        for (a = 0; a < port[p].addrs.nelts; a++) {
            servers = addr[a].servers.elts;

            for (i = 0; i < addr[a].servers.nelts; i++) {
                if (servers[i] != cscf) {
                    continue;
                }

                if (n++) {
                    ngx_http_keryu_put(b, ",");
                }

#if (NGX_HTTP_SSL)
                ssl |= addr[a].opt.ssl;
#endif

                ngx_http_keryu_put(b, "{\"address\":");
                ngx_http_keryu_put_str(b, addr[a].opt.addr_text.data,
                                       addr[a].opt.addr_text.len);
#if (NGX_HTTP_SSL)
                ngx_http_keryu_put(b, addr[a].opt.ssl ? ",\"ssl\":true}"
                                                      : ",\"ssl\":false}");
#else
                ngx_http_keryu_put(b, ",\"ssl\":false}");
#endif
                break;
            }
        }
    }

    ngx_http_keryu_put(b, "],\"ssl\":");

#if (NGX_HTTP_SSL)
    sscf = cscf->ctx->srv_conf[ngx_http_ssl_module.ctx_index];

    if (ssl && sscf) {
        ngx_http_keryu_put(b, "{\"protocols\":[");

        n = 0;

        for (k = 0; k < sizeof(protocols) / sizeof(protocols[0]); k++) {
            if (sscf->protocols & protocols[k].flag) {
                if (n++) {
                    ngx_http_keryu_put(b, ",");
                }

                ngx_http_keryu_put_str(b, (u_char *) protocols[k].name,
                                       ngx_strlen(protocols[k].name));
            }
        }

        ngx_http_keryu_put(b, "],\"ciphers\":");
        ngx_http_keryu_put_str(b, sscf->ciphers.data, sscf->ciphers.len);
        ngx_http_keryu_put(b, "}");

    } else {
        ngx_http_keryu_put(b, "null");
    }
#else
    ngx_http_keryu_put(b, "null");
#endif

    clcf = cscf->ctx->loc_conf[ngx_http_core_module.ctx_index];

    ngx_http_keryu_put(b, ",\"server_tokens\":");
    ngx_http_keryu_put(b, clcf->server_tokens == NGX_HTTP_SERVER_TOKENS_OFF
                          ? "\"off\""
                          : clcf->server_tokens == NGX_HTTP_SERVER_TOKENS_BUILD
                          ? "\"build\"" : "\"on\"");
}


static void
ngx_http_keryu_config_location(ngx_http_keryu_buf_t *b,
    ngx_http_keryu_location_t *loc)
{
    ngx_uint_t                  n;
    ngx_http_core_loc_conf_t   *clcf;
    ngx_http_keryu_loc_conf_t  *klcf;

    clcf = loc->clcf;
    klcf = loc->klcf;

    ngx_http_keryu_put(b, "{\"name\":");

    if (clcf->name.len) {
        ngx_http_keryu_put_str(b, clcf->name.data, clcf->name.len);

    } else {
        /* the server's own configuration, outside any location */
        ngx_http_keryu_put(b, "\"\"");
    }

    ngx_http_keryu_put(b, ",\"match\":");
    ngx_http_keryu_put(b, clcf->name.len == 0 ? "\"server\""
                          : clcf->named ? "\"named\""
#if (NGX_PCRE)
                          : clcf->regex ? "\"regex\""
#endif
                          : clcf->exact_match ? "\"exact\"" : "\"prefix\"");

    ngx_http_keryu_put(b, ",\"enforce\":");
    ngx_http_keryu_put(b, klcf->access == NGX_HTTP_KERYU_ON ? "\"on\""
                          : klcf->access == NGX_HTTP_KERYU_SHADOW
                          ? "\"shadow\"" : "\"off\"");

    ngx_http_keryu_put(b, klcf->log ? ",\"log\":true" : ",\"log\":false");

    ngx_http_keryu_put(b, ",\"seal\":");
    ngx_http_keryu_put(b, klcf->seal == 1 ? "\"on\""
                          : klcf->seal == 0 ? "\"off\"" : "\"auto\"");

    ngx_http_keryu_put(b, ",\"identity\":[");

    n = 0;

    if (klcf->sources & NGX_HTTP_KERYU_BEARER) {
        ngx_http_keryu_put(b, "\"bearer\"");
        n++;
    }

    if (klcf->sources & NGX_HTTP_KERYU_COOKIE) {
        ngx_http_keryu_put(b, n++ ? ",\"cookie\"" : "\"cookie\"");
    }

    if (klcf->sources & NGX_HTTP_KERYU_SIGNED) {
        ngx_http_keryu_put(b, n++ ? ",\"signature\"" : "\"signature\"");
    }

    if (klcf->apikey_header.len) {
        ngx_http_keryu_put(b, n++ ? ",\"apikey\"" : "\"apikey\"");
    }

    ngx_http_keryu_put(b, "],\"default\":");
    ngx_http_keryu_put(b, klcf->deflt == NGX_HTTP_KERYU_ALLOW ? "\"allow\""
                                                              : "\"deny\"");

    ngx_http_keryu_put(b, ",\"fail\":");
    ngx_http_keryu_put(b, klcf->fail == NGX_HTTP_KERYU_FAIL_OPEN
                          ? "\"open\"" : "\"closed\"");

    ngx_http_keryu_put(b, ",\"client_max_body_size\":");
    ngx_http_keryu_put_uint(b, (uint64_t) clcf->client_max_body_size);

    ngx_http_keryu_put(b, "}");
}


static void
ngx_http_keryu_put(ngx_http_keryu_buf_t *b, const char *s)
{
    size_t   len;
    u_char  *p;

    len = ngx_strlen(s);

    p = ngx_http_keryu_reserve(b, len);
    if (p == NULL) {
        return;
    }

    b->pos = ngx_cpymem(p, s, len);
}


/* a JSON string; bytes outside printable ASCII are escaped as \u00XX */

static void
ngx_http_keryu_put_str(ngx_http_keryu_buf_t *b, u_char *data, size_t len)
{
    u_char   *p;
    size_t    i;

    static u_char  hex[] = "0123456789abcdef";

    p = ngx_http_keryu_reserve(b, len * 6 + 2);
    if (p == NULL) {
        return;
    }

    *p++ = '"';

    for (i = 0; i < len; i++) {
        if (data[i] == '"' || data[i] == '\\') {
            *p++ = '\\';
            *p++ = data[i];

        } else if (data[i] < 0x20 || data[i] >= 0x7f) {
            p = ngx_cpymem(p, "\\u00", 4);
            *p++ = hex[data[i] >> 4];
            *p++ = hex[data[i] & 0xf];

        } else {
            *p++ = data[i];
        }
    }

    *p++ = '"';

    b->pos = p;
}


static void
ngx_http_keryu_put_uint(ngx_http_keryu_buf_t *b, uint64_t n)
{
    u_char  *p;

    p = ngx_http_keryu_reserve(b, NGX_INT64_LEN);
    if (p == NULL) {
        return;
    }

    b->pos = ngx_sprintf(p, "%uL", n);
}


/* room for n more bytes at b->pos, growing the buffer by doubling */

static u_char *
ngx_http_keryu_reserve(ngx_http_keryu_buf_t *b, size_t n)
{
    size_t   size, used;
    u_char  *p;

    if (b->failed) {
        return NULL;
    }

    if ((size_t) (b->end - b->pos) >= n) {
        return b->pos;
    }

    used = b->pos - b->start;
    size = b->start ? (size_t) (b->end - b->start) * 2 : 4096;

    while (size - used < n) {
        size *= 2;
    }

    p = ngx_pnalloc(b->pool, size);
    if (p == NULL) {
        b->failed = 1;
        return NULL;
    }

    if (used) {
        ngx_memcpy(p, b->start, used);
    }

    b->start = p;
    b->pos = p + used;
    b->end = p + size;

    return b->pos;
}
