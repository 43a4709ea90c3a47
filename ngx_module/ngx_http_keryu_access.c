
/*
 * Copyright (C) Keryu Security
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_keryu_module.h"


#define NGX_HTTP_KERYU_TOKEN_MAX  8192


/* who the caller is, from whichever credentials it presented */

typedef struct {
    ngx_uint_t                      authenticated;
    ngx_uint_t                      signed_request;
    const char                     *bad;
    const char                     *user;
    size_t                          user_len;
    const char *const              *roles;
    const size_t                   *role_lens;
    size_t                          nroles;
    const keryu_jwt_t              *token;
    keryu_jwt_t                     jwt;
    ngx_str_t                       client;
    ngx_str_t                       nonce;
    ngx_str_t                       digest;
    int64_t                         timestamp;
} ngx_http_keryu_identity_t;


static ngx_int_t ngx_http_keryu_rebuild(ngx_http_keryu_main_conf_t *kmcf,
    MDB_txn *txn, uint64_t version, ngx_log_t *log);
static int ngx_http_keryu_load(MDB_txn *txn, MDB_dbi dbi,
    keryu_jwt_keys_t *keys, keryu_policy_set_t *set, char *err,
    size_t errlen);
static ngx_int_t ngx_http_keryu_token(ngx_http_request_t *r,
    ngx_http_keryu_loc_conf_t *klcf, ngx_str_t *token);
static ngx_int_t ngx_http_keryu_decide(ngx_http_request_t *r,
    ngx_http_keryu_loc_conf_t *klcf, ngx_http_keryu_ctx_t *ctx,
    ngx_http_keryu_identity_t *id);
static ngx_int_t ngx_http_keryu_signature(ngx_http_request_t *r,
    ngx_http_keryu_loc_conf_t *klcf, ngx_http_keryu_state_t *state,
    ngx_http_keryu_identity_t *id);
static ngx_http_keryu_identity_t *ngx_http_keryu_identity_copy(
    ngx_http_request_t *r, ngx_http_keryu_identity_t *id);
static void ngx_http_keryu_body_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_keryu_body_digest(ngx_http_request_t *r,
    keryu_clients_t *clients, char *hex);
static int ngx_http_keryu_nonce(ngx_http_keryu_main_conf_t *kmcf,
    ngx_http_keryu_loc_conf_t *klcf, ngx_http_keryu_identity_t *id);
static ngx_int_t ngx_http_keryu_identify(ngx_http_request_t *r,
    ngx_http_keryu_loc_conf_t *klcf, ngx_http_keryu_state_t *state,
    ngx_http_keryu_identity_t *id);
static ngx_table_elt_t *ngx_http_keryu_header(ngx_http_request_t *r,
    ngx_str_t *name);
static ngx_int_t ngx_http_keryu_set_identity(ngx_http_request_t *r,
    ngx_http_keryu_ctx_t *ctx, ngx_http_keryu_identity_t *id);
static int ngx_http_keryu_claim_has(void *data, const char *claim,
    size_t claim_len, const char *value, size_t value_len);
static ngx_int_t ngx_http_keryu_deny(ngx_http_request_t *r,
    ngx_http_keryu_loc_conf_t *klcf, ngx_http_keryu_ctx_t *ctx,
    ngx_uint_t status, ngx_int_t type, const char *reason);
static ngx_int_t ngx_http_keryu_details(ngx_http_request_t *r,
    ngx_http_keryu_ctx_t *ctx, const char *reason, ngx_str_t *shadow);
static ngx_int_t ngx_http_keryu_block_name(ngx_http_request_t *r,
    ngx_http_keryu_ctx_t *ctx, int family, const uint8_t *addr,
    unsigned prefix, const keryu_block_t *block);
static u_char *ngx_http_keryu_json_string(u_char *p, u_char *s, size_t len);
static ngx_int_t ngx_http_keryu_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);


static ngx_str_t  ngx_http_keryu_allow = ngx_string("allow");
static ngx_str_t  ngx_http_keryu_deny_str = ngx_string("deny");
static ngx_str_t  ngx_http_keryu_shadow_deny = ngx_string("shadow_deny");
static ngx_str_t  ngx_http_keryu_fail_open = ngx_string("fail_open");
static ngx_str_t  ngx_http_keryu_json_type = ngx_string("application/json");


static ngx_http_variable_t  ngx_http_keryu_vars[] = {

    { ngx_string("keryu_user"), NULL, ngx_http_keryu_variable,
      offsetof(ngx_http_keryu_ctx_t, user), NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("keryu_roles"), NULL, ngx_http_keryu_variable,
      offsetof(ngx_http_keryu_ctx_t, roles), NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("keryu_decision"), NULL, ngx_http_keryu_variable,
      offsetof(ngx_http_keryu_ctx_t, decision), NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("keryu_rule"), NULL, ngx_http_keryu_variable,
      offsetof(ngx_http_keryu_ctx_t, rule), NGX_HTTP_VAR_NOCACHEABLE, 0 },

      ngx_http_null_variable
};


ngx_int_t
ngx_http_keryu_access_handler(ngx_http_request_t *r)
{
    int                          family;
    unsigned                     prefix;
    ngx_int_t                    rc;
    const uint8_t               *addr;
    const keryu_block_t         *block;
    ngx_http_keryu_ctx_t        *ctx;
    ngx_http_keryu_state_t      *state;
    ngx_http_keryu_identity_t    id;
    ngx_http_keryu_loc_conf_t   *klcf;
    ngx_http_keryu_main_conf_t  *kmcf;

    klcf = ngx_http_get_module_loc_conf(r, ngx_http_keryu_module);

    if (klcf->access == NGX_HTTP_KERYU_OFF) {
        return NGX_DECLINED;
    }

    kmcf = ngx_http_get_module_main_conf(r, ngx_http_keryu_module);
    state = &kmcf->state;

    ctx = ngx_http_get_module_ctx(r, ngx_http_keryu_module);

    if (ctx && ctx->pending) {

        /* back after the body of a signed request was read */

        return ctx->status;
    }

    if (ctx == NULL) {
        ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_keryu_ctx_t));
        if (ctx == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ngx_http_set_ctx(r, ctx, ngx_http_keryu_module);
    }

    if (ngx_http_keryu_refresh(kmcf, r->connection->log) != NGX_OK) {

        if (klcf->fail == NGX_HTTP_KERYU_FAIL_OPEN) {
            ctx->decision = ngx_http_keryu_allow;
            ctx->rule = ngx_http_keryu_fail_open;

            if (ngx_http_keryu_details(r, ctx, NULL, NULL) != NGX_OK) {
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }

            return NGX_OK;
        }

        return ngx_http_keryu_deny(r, klcf, ctx,
                                   NGX_HTTP_SERVICE_UNAVAILABLE,
                                   -1, "policy store unavailable");
    }

    family = ngx_http_keryu_client_addr(r, &addr);

    if (family) {
        block = keryu_blocklist_addr(state->blocks, family, addr,
                                     (uint64_t) ngx_time() * 1000000,
                                     &prefix);

        if (block) {
            if (ngx_http_keryu_block_name(r, ctx, family, addr, prefix, block)
                != NGX_OK)
            {
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }

            ngx_str_set(&ctx->rule, "block");
            return ngx_http_keryu_deny(r, klcf, ctx, NGX_HTTP_FORBIDDEN,
                                       KERYU_EVENT_PERMISSION_DENIED,
                                       "blocked address");
        }
    }

    ngx_memzero(&id, sizeof(ngx_http_keryu_identity_t));

    if (ngx_http_keryu_identify(r, klcf, state, &id) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (!id.signed_request) {
        return ngx_http_keryu_decide(r, klcf, ctx, &id);
    }

    /*
     * a signed request is the caller's only once its body matches the
     * digest that was signed, so the body is read first
     */

    ctx->pending = ngx_http_keryu_identity_copy(r, &id);
    if (ctx->pending == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->status = NGX_DONE;

    rc = ngx_http_read_client_request_body(r, ngx_http_keryu_body_handler);

    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }

    ngx_http_finalize_request(r, NGX_DONE);

    return NGX_DONE;
}


/* the rest of the decision: user blocks, then the policies */

static ngx_int_t
ngx_http_keryu_decide(ngx_http_request_t *r, ngx_http_keryu_loc_conf_t *klcf,
    ngx_http_keryu_ctx_t *ctx, ngx_http_keryu_identity_t *id)
{
    ngx_int_t                    deflt;
    ngx_str_t                    shadow;
    const keryu_block_t         *block;
    keryu_policy_req_t           req;
    ngx_http_keryu_state_t      *state;
    keryu_policy_decision_t      d;
    ngx_http_keryu_main_conf_t  *kmcf;

    kmcf = ngx_http_get_module_main_conf(r, ngx_http_keryu_module);
    state = &kmcf->state;

    if (id->authenticated) {
        if (ngx_http_keryu_set_identity(r, ctx, id) != NGX_OK) {
            keryu_jwt_free(&id->jwt);
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        block = keryu_blocklist_user(state->blocks, id->user, id->user_len,
                                     (uint64_t) ngx_time() * 1000000);
        if (block) {
            keryu_jwt_free(&id->jwt);

            if (ngx_http_keryu_block_name(r, ctx, 0, NULL, 0, block)
                != NGX_OK)
            {
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }

            ngx_str_set(&ctx->rule, "block");
            return ngx_http_keryu_deny(r, klcf, ctx, NGX_HTTP_FORBIDDEN,
                                       KERYU_EVENT_PERMISSION_DENIED,
                                       "blocked user");
        }
    }

    ngx_memzero(&req, sizeof(keryu_policy_req_t));

    req.addr_family = ngx_http_keryu_client_addr(r, &req.addr);

    req.method = (char *) r->method_name.data;
    req.method_len = r->method_name.len;
    req.host = (char *) r->headers_in.server.data;
    req.host_len = r->headers_in.server.len;
    req.path = (char *) r->uri.data;
    req.path_len = r->uri.len;
    req.authenticated = id->authenticated;

    if (id->authenticated) {
        req.user = id->user;
        req.user_len = id->user_len;
        req.roles = id->roles;
        req.role_lens = id->role_lens;
        req.nroles = id->nroles;

        if (id->token) {
            req.claim_has = ngx_http_keryu_claim_has;
            req.claim_ctx = (void *) id->token;
        }
    }

    keryu_policy_eval(state->policies, &req, &d);

    keryu_jwt_free(&id->jwt);

    ngx_str_null(&shadow);

    if (d.shadow_policy) {
        shadow.len = ngx_strlen(d.shadow_policy) + 1
                     + ngx_strlen(d.shadow_rule);
        shadow.data = ngx_pnalloc(r->pool, shadow.len);
        if (shadow.data == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ngx_sprintf(shadow.data, "%s/%s", d.shadow_policy, d.shadow_rule);

        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "keryu shadow rule \"%V\" would deny", &shadow);
    }

    deflt = (d.effect == KERYU_EFFECT_NONE);

    if (!deflt) {
        ctx->rule.len = ngx_strlen(d.policy) + 1 + ngx_strlen(d.rule);
        ctx->rule.data = ngx_pnalloc(r->pool, ctx->rule.len);
        if (ctx->rule.data == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ngx_sprintf(ctx->rule.data, "%s/%s", d.policy, d.rule);

    } else {
        ngx_str_set(&ctx->rule, "default");
        d.effect = (klcf->deflt == NGX_HTTP_KERYU_ALLOW)
                   ? KERYU_EFFECT_ALLOW : KERYU_EFFECT_DENY;
    }

    if (d.effect == KERYU_EFFECT_ALLOW) {
        ctx->decision = ngx_http_keryu_allow;

        if (ngx_http_keryu_details(r, ctx, NULL, shadow.len ? &shadow : NULL)
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return NGX_OK;
    }

    if (klcf->access == NGX_HTTP_KERYU_SHADOW) {
        ctx->decision = ngx_http_keryu_shadow_deny;

        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "keryu would deny by \"%V\" in shadow mode",
                      &ctx->rule);

        if (ngx_http_keryu_details(r, ctx, "shadow", &ctx->rule) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return NGX_OK;
    }

    /* credentials might have helped only where no rule refused outright */

    if (deflt && !id->authenticated) {
        return ngx_http_keryu_deny(r, klcf, ctx, NGX_HTTP_UNAUTHORIZED,
                                   KERYU_EVENT_AUTH_FAILURE,
                                   id->bad ? id->bad : "no credentials");
    }

    return ngx_http_keryu_deny(r, klcf, ctx, NGX_HTTP_FORBIDDEN,
                               KERYU_EVENT_PERMISSION_DENIED, "policy");
}


/*
 * One read transaction per request tells whether the store changed; a
 * change is compiled here, in the worker, and replaces the old state only
 * once it compiled in full.
 */

ngx_int_t
ngx_http_keryu_refresh(ngx_http_keryu_main_conf_t *kmcf, ngx_log_t *log)
{
    int                      rc;
    uint64_t                 config, blocks;
    keryu_blocklist_t       *bl;
    ngx_http_keryu_state_t  *state;

    state = &kmcf->state;

    if (!kmcf->open) {
        return NGX_ERROR;
    }

    if (state->txn == NULL) {
        rc = keryu_store_txn_begin(&kmcf->store, MDB_RDONLY, &state->txn);

    } else {
        rc = mdb_txn_renew(state->txn);
    }

    if (rc != 0) {
        ngx_log_error(NGX_LOG_ERR, log, 0, "mdb_txn_begin() failed: %s",
                      keryu_store_strerror(rc));

        if (state->txn) {
            mdb_txn_abort(state->txn);
            state->txn = NULL;
        }

        return NGX_ERROR;
    }

    rc = keryu_store_meta_get(&kmcf->store, state->txn,
                              KERYU_META_CONFIG_VERSION, &config);
    if (rc == 0) {
        rc = keryu_store_meta_get(&kmcf->store, state->txn,
                                  KERYU_META_BLOCK_VERSION, &blocks);
    }

    if (rc != 0) {
        ngx_log_error(NGX_LOG_ERR, log, 0, "mdb_get() failed: %s",
                      keryu_store_strerror(rc));
        mdb_txn_reset(state->txn);
        return NGX_ERROR;
    }

    if ((!state->ready || config != state->config_version)
        && config != state->rejected_version)
    {
        if (ngx_http_keryu_rebuild(kmcf, state->txn, config, log) == NGX_OK) {
            state->config_version = config;
            state->ready = 1;
            kmcf->report = NGX_HTTP_KERYU_REPORT_PUT;

        } else {
            state->rejected_version = config;
        }
    }

    if (state->blocks == NULL || blocks != state->block_version) {
        bl = keryu_blocklist_load(&kmcf->store, state->txn, &rc);

        if (bl) {
            keryu_blocklist_free(state->blocks);
            state->blocks = bl;
            state->block_version = blocks;
            kmcf->report = NGX_HTTP_KERYU_REPORT_PUT;

        } else if (state->blocks == NULL) {
            ngx_log_error(NGX_LOG_ERR, log, 0,
                          "keryu blocks cannot be read: %s",
                          keryu_store_strerror(rc));
        }
    }

    mdb_txn_reset(state->txn);

    return (state->ready && state->blocks) ? NGX_OK : NGX_ERROR;
}


static ngx_int_t
ngx_http_keryu_rebuild(ngx_http_keryu_main_conf_t *kmcf, MDB_txn *txn,
    uint64_t version, ngx_log_t *log)
{
    int                        rc;
    char                       err[256];
    ngx_uint_t                 i;
    keryu_clients_t           *clients;
    keryu_apikeys_t           *apikeys;
    keryu_jwt_keys_t          *keys;
    keryu_policy_set_t        *set;
    ngx_http_keryu_pem_key_t  *pk;

    err[0] = '\0';

    set = keryu_policy_set_create();
    keys = keryu_jwt_keys_create();

    if (set == NULL || keys == NULL) {
        ngx_log_error(NGX_LOG_ALERT, log, 0, "keryu: no memory for policies");
        goto failed;
    }

    if (kmcf->pem_keys) {
        pk = kmcf->pem_keys->elts;

        for (i = 0; i < kmcf->pem_keys->nelts; i++) {
            if (keryu_jwt_keys_add_pem(keys, (char *) pk[i].kid.data,
                                       (char *) pk[i].alg.data,
                                       (char *) pk[i].pem.data, pk[i].pem.len,
                                       err, sizeof(err))
                != 0)
            {
                goto failed;
            }
        }
    }

    rc = ngx_http_keryu_load(txn, kmcf->store.keys, keys, NULL, err,
                             sizeof(err));
    if (rc == 0) {
        rc = ngx_http_keryu_load(txn, kmcf->store.policies, NULL, set, err,
                                 sizeof(err));
    }

    if (rc == -1) {
        goto failed;
    }

    if (rc != 0) {
        goto store_failed;
    }

    if (keryu_policy_set_finish(set, err, sizeof(err)) != 0) {
        goto failed;
    }

    apikeys = keryu_apikeys_load(&kmcf->store, txn, &rc, err, sizeof(err));
    if (apikeys == NULL) {
        goto failed;
    }

    clients = keryu_clients_load(&kmcf->store, txn, &rc, err, sizeof(err));
    if (clients == NULL) {
        keryu_apikeys_free(apikeys);
        goto failed;
    }

    keryu_policy_set_free(kmcf->state.policies);
    keryu_jwt_keys_free(kmcf->state.keys);
    keryu_apikeys_free(kmcf->state.apikeys);
    keryu_clients_free(kmcf->state.clients);

    keryu_jwt_cache_clear(kmcf->state.tokens);

    kmcf->state.policies = set;
    kmcf->state.keys = keys;
    kmcf->state.apikeys = apikeys;
    kmcf->state.clients = clients;

    ngx_log_error(NGX_LOG_INFO, log, 0,
                  "keryu policies version %uL loaded: %uz rules, %uz keys",
                  version, keryu_policy_set_rules(set),
                  keryu_jwt_keys_count(keys));

    return NGX_OK;

store_failed:

    ngx_cpystrn((u_char *) err, (u_char *) keryu_store_strerror(rc),
                sizeof(err));

failed:

    keryu_policy_set_free(set);
    keryu_jwt_keys_free(keys);

    ngx_log_error(NGX_LOG_ERR, log, 0,
                  "keryu policies version %uL rejected, %s: %s", version,
                  kmcf->state.ready ? "the last good set stays in force"
                                    : "no set is in force",
                  err);

    return NGX_ERROR;
}


/*
 * feeds every value of dbi to the key set or the policy set; returns 0,
 * -1 for a value they refused (err says why), or an LMDB error
 */

static int
ngx_http_keryu_load(MDB_txn *txn, MDB_dbi dbi, keryu_jwt_keys_t *keys,
    keryu_policy_set_t *set, char *err, size_t errlen)
{
    int          rc, added;
    MDB_val      key, val;
    MDB_cursor  *cur;

    rc = mdb_cursor_open(txn, dbi, &cur);
    if (rc != 0) {
        return rc;
    }

    for (rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST);
         rc == 0;
         rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT))
    {
        if (keys) {
            added = keryu_jwt_keys_add_json(keys, val.mv_data, val.mv_size,
                                            err, errlen);

        } else {
            added = keryu_policy_set_add(set, val.mv_data, val.mv_size,
                                         err, errlen);
        }

        if (added != 0) {
            mdb_cursor_close(cur);
            return -1;
        }
    }

    mdb_cursor_close(cur);

    return (rc == MDB_NOTFOUND) ? 0 : rc;
}


void
ngx_http_keryu_state_free(ngx_http_keryu_state_t *state)
{
    if (state->txn) {
        mdb_txn_abort(state->txn);
        state->txn = NULL;
    }

    keryu_policy_set_free(state->policies);
    keryu_jwt_keys_free(state->keys);
    keryu_apikeys_free(state->apikeys);
    keryu_clients_free(state->clients);
    keryu_blocklist_free(state->blocks);
    keryu_jwt_cache_free(state->tokens);

    state->policies = NULL;
    state->keys = NULL;
    state->apikeys = NULL;
    state->clients = NULL;
    state->blocks = NULL;
    state->tokens = NULL;
    state->ready = 0;
}


/*
 * The first credentials the caller presents decide: a token, a request
 * signature, then an API key.  Bad ones grant nothing: the request goes on
 * as anonymous, and their fault answers it if it is refused for want of
 * credentials.
 */

static ngx_int_t
ngx_http_keryu_identify(ngx_http_request_t *r,
    ngx_http_keryu_loc_conf_t *klcf, ngx_http_keryu_state_t *state,
    ngx_http_keryu_identity_t *id)
{
    int                     rc;
    ngx_str_t               token;
    ngx_table_elt_t        *h;
    keryu_jwt_opts_t        opts;
    const keryu_apikey_t   *key;

    if (ngx_http_keryu_token(r, klcf, &token) == NGX_OK) {

        ngx_memzero(&opts, sizeof(keryu_jwt_opts_t));

        opts.issuer = (char *) klcf->issuer.data;
        opts.audience = (char *) klcf->audience.data;
        opts.roles_claim = (char *) klcf->roles_claim.data;
        opts.leeway = klcf->leeway;
        opts.max_len = NGX_HTTP_KERYU_TOKEN_MAX;

        if (state->tokens) {
            rc = keryu_jwt_cache_verify(state->tokens, state->keys, &opts,
                                        (char *) token.data, token.len,
                                        ngx_time(), &id->token);

        } else {
            rc = keryu_jwt_verify(state->keys, &opts, (char *) token.data,
                                  token.len, ngx_time(), &id->jwt);

            if (rc != KERYU_JWT_OK) {
                keryu_jwt_free(&id->jwt);
                ngx_memzero(&id->jwt, sizeof(keryu_jwt_t));

            } else {
                id->token = &id->jwt;
            }
        }

        if (rc != KERYU_JWT_OK) {
            id->bad = keryu_jwt_reason(rc);
            return NGX_OK;
        }

        id->authenticated = 1;
        id->user = id->token->sub;
        id->user_len = id->token->sub_len;
        id->roles = (const char *const *) id->token->roles;
        id->role_lens = id->token->role_lens;
        id->nroles = id->token->nroles;

        return NGX_OK;
    }

    if (klcf->sources & NGX_HTTP_KERYU_SIGNED) {
        rc = ngx_http_keryu_signature(r, klcf, state, id);
        if (rc != NGX_DECLINED) {
            return rc;
        }
    }

    if (klcf->apikey_header.len == 0) {
        return NGX_OK;
    }

    h = ngx_http_keryu_header(r, &klcf->apikey_header);
    if (h == NULL) {
        return NGX_OK;
    }

    key = keryu_apikeys_find(state->apikeys, (char *) h->value.data,
                             h->value.len, ngx_time());
    if (key == NULL) {
        id->bad = "invalid api key";
        return NGX_OK;
    }

    id->authenticated = 1;
    id->user = key->name;
    id->user_len = key->name_len;
    id->roles = key->roles;
    id->role_lens = key->role_lens;
    id->nroles = key->nroles;

    return NGX_OK;
}


/*
 * checks the signature headers; the body digest and the nonce are checked
 * once the body is read
 */

static ngx_int_t
ngx_http_keryu_signature(ngx_http_request_t *r,
    ngx_http_keryu_loc_conf_t *klcf, ngx_http_keryu_state_t *state,
    ngx_http_keryu_identity_t *id)
{
    int                    rc;
    ngx_uint_t             i;
    ngx_str_t             *v[5];
    ngx_table_elt_t       *h;
    keryu_sign_req_t       sr;
    const keryu_apikey_t  *client;

    static ngx_str_t       names[] = {
        ngx_string("X-Keryu-Signature"),
        ngx_string("X-Keryu-Client"),
        ngx_string("X-Keryu-Timestamp"),
        ngx_string("X-Keryu-Nonce"),
        ngx_string("X-Keryu-Content-SHA256")
    };

    for (i = 0; i < 5; i++) {
        h = ngx_http_keryu_header(r, &names[i]);

        if (h == NULL) {
            if (i == 0) {
                return NGX_DECLINED;
            }

            id->bad = keryu_sign_reason(KERYU_SIGN_MALFORMED);
            return NGX_OK;
        }

        v[i] = &h->value;
    }

    ngx_memzero(&sr, sizeof(keryu_sign_req_t));

    sr.method = (char *) r->method_name.data;
    sr.method_len = r->method_name.len;
    sr.path = (char *) r->unparsed_uri.data;
    sr.path_len = r->args_start ? (size_t) (r->args_start - 1
                                            - r->unparsed_uri.data)
                                : r->unparsed_uri.len;
    sr.query = (char *) r->args.data;
    sr.query_len = r->args.len;
    sr.signature = (char *) v[0]->data;
    sr.signature_len = v[0]->len;
    sr.client = (char *) v[1]->data;
    sr.client_len = v[1]->len;
    sr.timestamp = (char *) v[2]->data;
    sr.timestamp_len = v[2]->len;
    sr.nonce = (char *) v[3]->data;
    sr.nonce_len = v[3]->len;
    sr.content_sha256 = (char *) v[4]->data;
    sr.content_sha256_len = v[4]->len;

    rc = keryu_sign_verify(state->clients, &sr, ngx_time(), klcf->skew,
                           &client);
    if (rc != KERYU_SIGN_OK) {
        id->bad = keryu_sign_reason(rc);
        return NGX_OK;
    }

    id->signed_request = 1;
    id->user = client->name;
    id->user_len = client->name_len;
    id->roles = client->roles;
    id->role_lens = client->role_lens;
    id->nroles = client->nroles;
    id->client = *v[1];
    id->nonce = *v[3];
    id->digest = *v[4];
    id->timestamp = ngx_atotm(v[2]->data, v[2]->len);

    return NGX_OK;
}


/* what must outlive a rebuild of the tables while the body is read */

static ngx_http_keryu_identity_t *
ngx_http_keryu_identity_copy(ngx_http_request_t *r,
    ngx_http_keryu_identity_t *id)
{
    char                        *user, **roles;
    size_t                      *lens;
    ngx_uint_t                   i;
    ngx_http_keryu_identity_t   *copy;

    copy = ngx_palloc(r->pool, sizeof(ngx_http_keryu_identity_t));
    if (copy == NULL) {
        return NULL;
    }

    *copy = *id;

    user = ngx_pnalloc(r->pool, id->user_len + 1);
    roles = ngx_palloc(r->pool, (id->nroles + 1) * sizeof(char *));
    lens = ngx_palloc(r->pool, (id->nroles + 1) * sizeof(size_t));

    if (user == NULL || roles == NULL || lens == NULL) {
        return NULL;
    }

    ngx_memcpy(user, id->user, id->user_len);
    copy->user = user;

    for (i = 0; i < id->nroles; i++) {
        lens[i] = id->role_lens[i];
        roles[i] = ngx_pnalloc(r->pool, lens[i]);
        if (roles[i] == NULL) {
            return NULL;
        }

        ngx_memcpy(roles[i], id->roles[i], lens[i]);
    }

    copy->roles = (const char *const *) roles;
    copy->role_lens = lens;

    return copy;
}


static void
ngx_http_keryu_body_handler(ngx_http_request_t *r)
{
    int                          rc;
    char                         hex[KERYU_SIGN_HEX_LEN];
    ngx_int_t                    status;
    ngx_http_keryu_ctx_t        *ctx;
    ngx_http_keryu_identity_t   *id;
    ngx_http_keryu_loc_conf_t   *klcf;
    ngx_http_keryu_main_conf_t  *kmcf;

    ctx = ngx_http_get_module_ctx(r, ngx_http_keryu_module);
    klcf = ngx_http_get_module_loc_conf(r, ngx_http_keryu_module);
    kmcf = ngx_http_get_module_main_conf(r, ngx_http_keryu_module);

    id = ctx->pending;

    if (ngx_http_keryu_body_digest(r, kmcf->state.clients, hex) != NGX_OK) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    if (id->digest.len != KERYU_SIGN_HEX_LEN - 1
        || ngx_strncmp(hex, id->digest.data, id->digest.len) != 0)
    {
        id->bad = keryu_sign_reason(KERYU_SIGN_DIGEST);

    } else {
        rc = ngx_http_keryu_nonce(kmcf, klcf, id);

        if (rc == 0) {
            id->authenticated = 1;

        } else {
            id->bad = keryu_sign_reason(rc);
        }
    }

    status = ngx_http_keryu_decide(r, klcf, ctx, id);

    if (status == NGX_DONE) {
        return;
    }

    if (status != NGX_OK) {
        ngx_http_finalize_request(r, status);
        return;
    }

    ctx->status = NGX_OK;

    r->preserve_body = 1;
    r->write_event_handler = ngx_http_core_run_phases;
    ngx_http_core_run_phases(r);
}


static ngx_int_t
ngx_http_keryu_body_digest(ngx_http_request_t *r, keryu_clients_t *clients,
    char *hex)
{
    u_char       *p, *body;
    off_t         len;
    ssize_t       n;
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    len = 0;

    for (cl = r->request_body ? r->request_body->bufs : NULL;
         cl;
         cl = cl->next)
    {
        b = cl->buf;
        len += b->in_file ? b->file_last - b->file_pos : b->last - b->pos;
    }

    body = ngx_pnalloc(r->pool, len + 1);
    if (body == NULL) {
        return NGX_ERROR;
    }

    p = body;

    for (cl = r->request_body ? r->request_body->bufs : NULL;
         cl;
         cl = cl->next)
    {
        b = cl->buf;

        if (b->in_file) {
            n = ngx_read_file(b->file, p, b->file_last - b->file_pos,
                              b->file_pos);
            if (n != b->file_last - b->file_pos) {
                return NGX_ERROR;
            }

            p += n;

        } else {
            p = ngx_cpymem(p, b->pos, b->last - b->pos);
        }
    }

    keryu_sign_sha256_hex(clients, body, p - body, hex);

    return NGX_OK;
}


/* records the nonce; returns 0, KERYU_SIGN_REPLAYED or an LMDB error */

static int
ngx_http_keryu_nonce(ngx_http_keryu_main_conf_t *kmcf,
    ngx_http_keryu_loc_conf_t *klcf, ngx_http_keryu_identity_t *id)
{
    int       rc;
    MDB_txn  *txn;

    rc = keryu_store_txn_begin(&kmcf->store, 0, &txn);
    if (rc != 0) {
        return rc;
    }

    rc = keryu_sign_nonce(&kmcf->store, txn, (char *) id->client.data,
                          id->client.len, (char *) id->nonce.data,
                          id->nonce.len, id->timestamp, ngx_time(),
                          klcf->skew);
    if (rc != 0) {
        mdb_txn_abort(txn);
        return rc;
    }

    /* a failed commit has freed the transaction already */

    return mdb_txn_commit(txn);
}


static ngx_table_elt_t *
ngx_http_keryu_header(ngx_http_request_t *r, ngx_str_t *name)
{
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */ ; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                return NULL;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].key.len == name->len
            && ngx_strncasecmp(h[i].key.data, name->data, name->len) == 0)
        {
            return &h[i];
        }
    }
}


static ngx_int_t
ngx_http_keryu_token(ngx_http_request_t *r, ngx_http_keryu_loc_conf_t *klcf,
    ngx_str_t *token)
{
    ngx_str_t  *h;

    if ((klcf->sources & NGX_HTTP_KERYU_BEARER)
        && r->headers_in.authorization)
    {
        h = &r->headers_in.authorization->value;

        if (h->len > sizeof("Bearer ") - 1
            && ngx_strncasecmp(h->data, (u_char *) "Bearer ",
                               sizeof("Bearer ") - 1) == 0)
        {
            token->data = h->data + sizeof("Bearer ") - 1;
            token->len = h->len - (sizeof("Bearer ") - 1);

            while (token->len && *token->data == ' ') {
                token->data++;
                token->len--;
            }

            return NGX_OK;
        }
    }

    if (!(klcf->sources & NGX_HTTP_KERYU_COOKIE)) {
        return NGX_DECLINED;
    }

#if (nginx_version >= 1023000)

    if (ngx_http_parse_multi_header_lines(r, r->headers_in.cookie,
                                          &klcf->cookie, token)
        != NULL)
    {
        return NGX_OK;
    }

#else

    if (ngx_http_parse_multi_header_lines(&r->headers_in.cookies,
                                          &klcf->cookie, token)
        != NGX_DECLINED)
    {
        return NGX_OK;
    }

#endif

    return NGX_DECLINED;
}


static ngx_int_t
ngx_http_keryu_set_identity(ngx_http_request_t *r, ngx_http_keryu_ctx_t *ctx,
    ngx_http_keryu_identity_t *id)
{
    u_char      *p;
    size_t       len;
    ngx_uint_t   i;

    ctx->user.len = id->user_len;
    ctx->user.data = ngx_pnalloc(r->pool, id->user_len);
    if (ctx->user.data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(ctx->user.data, id->user, id->user_len);

    len = 0;

    for (i = 0; i < id->nroles; i++) {
        len += id->role_lens[i] + 1;
    }

    if (len == 0) {
        return NGX_OK;
    }

    ctx->roles.data = ngx_pnalloc(r->pool, len);
    if (ctx->roles.data == NULL) {
        return NGX_ERROR;
    }

    p = ctx->roles.data;

    for (i = 0; i < id->nroles; i++) {
        if (i) {
            *p++ = ',';
        }

        p = ngx_cpymem(p, id->roles[i], id->role_lens[i]);
    }

    ctx->roles.len = p - ctx->roles.data;

    return NGX_OK;
}


static int
ngx_http_keryu_claim_has(void *data, const char *claim, size_t claim_len,
    const char *value, size_t value_len)
{
    const keryu_jwt_t  *token = data;

    return keryu_jwt_claim_has(token, claim, claim_len, value, value_len);
}


/*
 * answers the request here with a short JSON body; the log phase records
 * it as the event type given, with the reason and the rule in details
 */

static ngx_int_t
ngx_http_keryu_deny(ngx_http_request_t *r, ngx_http_keryu_loc_conf_t *klcf,
    ngx_http_keryu_ctx_t *ctx, ngx_uint_t status, ngx_int_t type,
    const char *reason)
{
    u_char                    *p;
    size_t                     len;
    ngx_int_t                  rc;
    ngx_str_t                  body;
    ngx_table_elt_t           *h;
    ngx_http_complex_value_t   cv;

    ctx->decision = ngx_http_keryu_deny_str;

    if (type >= 0) {
        ctx->type = type;
    }

    if (ngx_http_keryu_details(r, ctx, reason, NULL) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_log_error(klcf->deny_log_level, r->connection->log, 0,
                  "keryu denied access: %s, rule \"%V\", user \"%V\"",
                  reason, &ctx->rule, &ctx->user);

    len = sizeof("{\"error\":\"unavailable\",\"reason\":\"\"}\n") - 1
          + ngx_strlen(reason) * 6;

    body.data = ngx_pnalloc(r->pool, len);
    if (body.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_cpymem(body.data, "{\"error\":\"", sizeof("{\"error\":\"") - 1);

    switch (status) {

    case NGX_HTTP_UNAUTHORIZED:
        p = ngx_cpymem(p, "unauthorized", sizeof("unauthorized") - 1);
        break;

    case NGX_HTTP_FORBIDDEN:
        p = ngx_cpymem(p, "forbidden", sizeof("forbidden") - 1);
        break;

    default:
        p = ngx_cpymem(p, "unavailable", sizeof("unavailable") - 1);
        break;
    }

    p = ngx_cpymem(p, "\",\"reason\":", sizeof("\",\"reason\":") - 1);
    p = ngx_http_keryu_json_string(p, (u_char *) reason, ngx_strlen(reason));
    *p++ = '}';
    *p++ = LF;

    body.len = p - body.data;

    if (status == NGX_HTTP_UNAUTHORIZED) {
        h = ngx_list_push(&r->headers_out.headers);
        if (h == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        h->hash = 1;
        ngx_str_set(&h->key, "WWW-Authenticate");

        if (ngx_strcmp(reason, "no credentials") == 0) {
            ngx_str_set(&h->value, "Bearer");

        } else {
            ngx_str_set(&h->value, "Bearer error=\"invalid_token\"");
        }
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    ngx_memzero(&cv, sizeof(ngx_http_complex_value_t));
    cv.value = body;

    rc = ngx_http_send_response(r, status, &ngx_http_keryu_json_type, &cv);

    ngx_http_finalize_request(r, rc);

    return NGX_DONE;
}


static ngx_int_t
ngx_http_keryu_details(ngx_http_request_t *r, ngx_http_keryu_ctx_t *ctx,
    const char *reason, ngx_str_t *shadow)
{
    u_char  *p;
    size_t   len;

    len = sizeof("{\"reason\":,\"rule\":,\"shadow\":,\"block\":}") - 1
          + (reason ? ngx_strlen(reason) * 6 + 2 : 0)
          + ctx->rule.len * 6 + 2
          + (shadow ? shadow->len * 6 + 2 : 0)
          + ctx->block.len * 6 + 2;

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    ctx->details.data = p;

    *p++ = '{';

    if (reason) {
        p = ngx_cpymem(p, "\"reason\":", sizeof("\"reason\":") - 1);
        p = ngx_http_keryu_json_string(p, (u_char *) reason,
                                       ngx_strlen(reason));
        *p++ = ',';
    }

    p = ngx_cpymem(p, "\"rule\":", sizeof("\"rule\":") - 1);
    p = ngx_http_keryu_json_string(p, ctx->rule.data, ctx->rule.len);

    if (shadow) {
        p = ngx_cpymem(p, ",\"shadow\":", sizeof(",\"shadow\":") - 1);
        p = ngx_http_keryu_json_string(p, shadow->data, shadow->len);
    }

    if (ctx->block.len) {
        p = ngx_cpymem(p, ",\"block\":", sizeof(",\"block\":") - 1);
        p = ngx_http_keryu_json_string(p, ctx->block.data, ctx->block.len);
    }

    *p++ = '}';

    ctx->details.len = p - ctx->details.data;

    return NGX_OK;
}


/* the client's address after realip: 4 or 6 and its bytes, or 0 */

int
ngx_http_keryu_client_addr(ngx_http_request_t *r, const uint8_t **addr)
{
    struct sockaddr_in   *sin;
#if (NGX_HAVE_INET6)
    struct sockaddr_in6  *sin6;
#endif

    switch (r->connection->sockaddr->sa_family) {

    case AF_INET:
        sin = (struct sockaddr_in *) r->connection->sockaddr;
        *addr = (const uint8_t *) &sin->sin_addr;
        return 4;

#if (NGX_HAVE_INET6)
    case AF_INET6:
        sin6 = (struct sockaddr_in6 *) r->connection->sockaddr;
        *addr = (const uint8_t *) &sin6->sin6_addr;
        return 6;
#endif

    default: /* AF_UNIX */
        *addr = NULL;
        return 0;
    }
}


/*
 * names the block for the record: "198.51.100.0/24: reason" for an
 * address (family 4 or 6), "user NAME: reason" for a user
 */

static ngx_int_t
ngx_http_keryu_block_name(ngx_http_request_t *r, ngx_http_keryu_ctx_t *ctx,
    int family, const uint8_t *addr, unsigned prefix,
    const keryu_block_t *block)
{
    u_char      *p;
    size_t       n;
    u_char       bits[16], text[NGX_INET6_ADDRSTRLEN];
    ngx_uint_t   i;

    if (family == 0) {
        n = ngx_cpymem(text, "user ", 5) - text;

    } else {
        n = (family == 4) ? 4 : 16;

        for (i = 0; i < n; i++) {
            bits[i] = (prefix >= 8 * (i + 1)) ? addr[i]
                      : (prefix <= 8 * i) ? 0
                      : addr[i] & (u_char) (0xff << (8 * (i + 1) - prefix));
        }

        n = ngx_inet_ntop(family == 4 ? AF_INET : AF_INET6, bits, text,
                          NGX_INET6_ADDRSTRLEN);
    }

    ctx->block.data = ngx_pnalloc(r->pool, n + NGX_INT_T_LEN + 3
                                           + ctx->user.len
                                           + block->reason_len);
    if (ctx->block.data == NULL) {
        return NGX_ERROR;
    }

    p = ngx_cpymem(ctx->block.data, text, n);

    if (family) {
        p = ngx_sprintf(p, "/%ud", prefix);

    } else {
        p = ngx_cpymem(p, ctx->user.data, ctx->user.len);
    }

    p = ngx_sprintf(p, ": %*s", block->reason_len, block->reason);

    ctx->block.len = p - ctx->block.data;

    return NGX_OK;
}


static u_char *
ngx_http_keryu_json_string(u_char *p, u_char *s, size_t len)
{
    *p++ = '"';

    if (len) {
        p = (u_char *) ngx_escape_json(p, s, len);
    }

    *p++ = '"';

    return p;
}


ngx_int_t
ngx_http_keryu_add_variables(ngx_conf_t *cf)
{
    ngx_http_variable_t  *var, *v;

    for (v = ngx_http_keryu_vars; v->name.len; v++) {
        var = ngx_http_add_variable(cf, &v->name, v->flags);
        if (var == NULL) {
            return NGX_ERROR;
        }

        var->get_handler = v->get_handler;
        var->data = v->data;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_keryu_variable(ngx_http_request_t *r, ngx_http_variable_value_t *v,
    uintptr_t data)
{
    ngx_str_t             *s;
    ngx_http_keryu_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_keryu_module);

    if (ctx == NULL) {
        v->not_found = 1;
        return NGX_OK;
    }

    s = (ngx_str_t *) ((char *) ctx + data);

    v->len = s->len;
    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;
    v->data = s->data;

    return NGX_OK;
}
