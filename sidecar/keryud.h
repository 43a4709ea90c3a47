/*
 * Copyright (C) Keryu Security
 *
 * keryud, the sidecar daemon: it drains the ring that nginx workers write
 * into the shared store, keeps every record in its own LMDB environment,
 * and serves them over a small HTTP API.  This header declares what the
 * subsystems share: configuration (conf_), keryud's own store (store_),
 * API tokens (token_), the consumer (consume_), query parameters and time
 * (query_, time_), and the API (api_).
 */


#ifndef _KERYUD_H_INCLUDED_
#define _KERYUD_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>
#include <lmdb.h>

#include "keryu_record.h"
#include "keryu_store.h"
#include "notify.h"


#define CONF_PATH_MAX        1024
#define CONF_ERR_MAX         (CONF_PATH_MAX + 256)

/* key types by keys_type_e (keys.h), index 0 unused */
#define CONF_KEY_TYPES       7

#define STORE_SCHEMA         3

/* own meta keys, each an 8-byte little-endian counter */
#define STORE_META_SCHEMA    "schema"
#define STORE_META_NEXT_ID   "next_id"
#define STORE_META_SRC_ID    "source_id"
#define STORE_META_SRC_SEQ   "source_seq"
#define STORE_META_CONSUMED  "consumed"
#define STORE_META_LOST      "lost"
#define STORE_META_INVALID   "invalid"
#define STORE_META_UNSEALABLE "unsealable"  /* sealed records not opened */
#define STORE_META_DEFAULTS  "defaults"   /* store_id given the defaults */
#define STORE_META_NEXT_ALERT "next_alert"
#define STORE_META_EXPIRED   "expired"
#define STORE_META_INDEXED   "indexed"
#define STORE_META_CHAIN_FIRST "chain_first"  /* the first id chained */
#define STORE_META_CHAIN_KEY "chain_key"  /* the local signer's key id */
#define STORE_META_CHAIN_BASE "chain_base"  /* compacted up to it */
#define STORE_META_ERASED    "erased"
#define STORE_META_SEEN_FULL "seen_map_full"  /* the shared map_full seen */
#define STORE_META_SEEN_FAILED "seen_failed"  /* and failed plus overflow */
#define STORE_META_CRASHED   "workers_crashed"  /* reports keryud removed */

/* an index key of an address: the family, 4 or 6, and its bytes */
#define STORE_KEY_IP_MAX     17

/* a blind index key: HMAC-SHA256 under the blind_index key */
#define STORE_BLIND_LEN      32

/* the longest by_user or by_ip key, plain or blind */
#define STORE_INDEX_KEY_MAX  KERYU_RECORD_USER_MAX

/* records deleted by one store_expire() call, in one transaction */
#define STORE_EXPIRE_MAX     10000

#define TOKEN_PREFIX         "kry_"
#define TOKEN_LEN            47
#define TOKEN_HASH_LEN       32
#define TOKEN_NAME_MAX       64

#define QUERY_LIMIT_DEFAULT  100
#define QUERY_LIMIT_MAX      1000
#define QUERY_NAME_MAX       64

#define API_SCAN_MAX         100000

#define TIME_STR_MAX         32

/*
 * the rules that decided requests, counted by the consumer from the
 * records' details: a bounded table, the rules past it counted as "other"
 */
#define CONSUME_RULES_MAX    1024
#define CONSUME_RULE_SLOTS   2048             /* hash slots, a power of 2 */
#define CONSUME_RULE_LEN     129              /* "policy/rule" */


typedef struct {
    char                store[CONF_PATH_MAX];
    char                data[CONF_PATH_MAX];
    char                pid_file[CONF_PATH_MAX];
    char                listen_addr[64];
    uint16_t            listen_port;
    uint64_t            poll_interval;    /* milliseconds */
    uint64_t            sync_interval;    /* milliseconds */
    uint64_t            batch;
    uint64_t            data_size;        /* bytes */
    int                 log_debug;
    char                tls_certificate[CONF_PATH_MAX]; /* "": no TLS */
    char                tls_key[CONF_PATH_MAX];
    uint64_t            retention;        /* seconds, 0: for ever */
    notify_conf_t       notify;           /* webhook and syslog alerts */
    int                 default_policies; /* install the shipped ones */
    char                master_key[CONF_PATH_MAX];  /* "": the environment */
    uint64_t            key_period[CONF_KEY_TYPES]; /* seconds, 0: never */
    uint32_t            key_period_set;   /* types given "key_period" */
    uint64_t            key_grace;        /* seconds */
    char                controls[CONF_PATH_MAX];    /* comply.h */
    int                 controls_set;     /* given by a directive */
    char                nginx_cves[CONF_PATH_MAX];
    int                 nginx_cves_set;
    uint64_t            compliance_interval;  /* milliseconds */
    char                dashboard_root[CONF_PATH_MAX];  /* "": none */
    unsigned            metrics_interval; /* seconds, 0: no history */
} conf_t;


/* keryud's own environment; only keryud processes open it */
typedef struct {
    MDB_env            *env;
    MDB_dbi             logs;
    MDB_dbi             meta;
    MDB_dbi             tokens;
    MDB_dbi             by_type;
    MDB_dbi             by_ip;
    MDB_dbi             by_user;
    MDB_dbi             by_status;
    MDB_dbi             by_time;
    MDB_dbi             alerts;           /* alert.h */
    MDB_dbi             alert_keys;
    MDB_dbi             offences;
    MDB_dbi             chain;            /* chain.h */
    MDB_dbi             checkpoints;
    MDB_dbi             chain_keys;
    const struct chain_signer_s *signer;  /* NULL: chain_signer_local */
    uint64_t            reindexed;        /* records store_open indexed */
    MDB_dbi             enc_keys;         /* keys.h */
    MDB_dbi             compliance;       /* comply.h */
    MDB_dbi             audits;
    MDB_dbi             reports;
    MDB_dbi             risk;
    MDB_dbi             report_keys;
    struct keys_s      *keys;             /* NULL: records kept plain */
} store_t;


/* what opening a stored record needs besides the record (store.c) */
typedef struct {
    uint8_t             personal[KERYU_RECORD_PERSONAL_MAX];  /* opened */
    uint8_t             split[KERYU_RECORD_PERSONAL_MAX];     /* to seal */
    uint8_t             uri[KERYU_RECORD_URI_MAX];
    uint8_t             aad[KERYU_RECORD_SEALED_MAX_SIZE];
} store_rbuf_t;


typedef enum {
    ROLE_NONE = 0,
    ROLE_ADMIN,
    ROLE_AUDITOR,
    ROLE_VIEWER
} role_e;


/* how the module decided a request, as its record's details tell */
typedef enum {
    CONSUME_ALLOW = 0,
    CONSUME_DENY,
    CONSUME_SHADOW_DENY,
    CONSUME_DECISIONS
} consume_decision_e;


typedef struct {
    uint64_t            count[CONSUME_DECISIONS];
    uint32_t            pending[CONSUME_DECISIONS];  /* in the open batch */
    size_t              len;
    char                name[CONSUME_RULE_LEN + 1];
} consume_rule_t;


/*
 * what the consumer stored since keryud started; rules[CONSUME_RULES_MAX]
 * is "other", for rules past the table and names that are not plain
 */
typedef struct {
    uint64_t            events[KERYU_EVENT_MAX];
    unsigned            nrules;
    uint16_t            slots[CONSUME_RULE_SLOTS];  /* rule index + 1 */
    consume_rule_t      rules[CONSUME_RULES_MAX + 1];
} consume_stats_t;


/*
 * the index entries of a batch of records, gathered so that they go into
 * the indexes sorted by key, each key's ids in one put (store.c)
 */
typedef struct {
    struct store_ientry_s  *ib_entries;
    size_t              ib_n;
    size_t              ib_nalloc;
    uint8_t            *ib_keys;          /* the entries' keys */
    size_t              ib_keys_len;
    size_t              ib_keys_alloc;
    uint8_t            *ib_ids;           /* their ids, 8 bytes each */
} store_ibatch_t;


/* the hash chain while records are appended to logs (chain.c) */
typedef struct {
    struct evp_md_ctx_st  *ch_ctx;        /* reused for every hash */
    struct evp_md_st   *ch_md;            /* SHA-256, fetched once */
    uint64_t            ch_id;            /* the last id linked, 0: none */
    uint8_t             ch_link[32];      /* its link */
    MDB_cursor         *ch_cur;           /* on chain, in chain_begin()'s
                                             transaction, which frees it */
} chain_t;


typedef struct {
    keryu_store_t      *cs_src;
    store_t            *cs_dst;
    MDB_txn            *cs_rtxn;          /* reused with reset/renew */
    uint64_t            cs_batch;
    time_t              cs_warned;
    struct respond_s   *cs_respond;       /* NULL: no detection */
    consume_stats_t     cs_stats;
    store_ibatch_t      cs_index;         /* the batch's index entries */
    chain_t             cs_chain;
    store_rbuf_t       *cs_rbuf;
    uint8_t            *cs_out;           /* a record as it is stored */
} consumer_t;


/* what one consume_batch() did */
typedef struct {
    uint64_t            read;             /* ring entries read */
    uint64_t            stored;
    uint64_t            lost;
    uint64_t            invalid;
    uint64_t            unsealable;       /* stored sealed, not opened */
    uint64_t            last_seq;
} consume_res_t;


typedef struct {
    int                 event_type;       /* -1: any */
    int                 status;           /* 0: any */
    int                 addr_family;      /* 0: any, 4 or 6 */
    uint8_t             addr[16];
    size_t              user_len;
    char                user[KERYU_RECORD_USER_MAX + 1];
    int                 has_user;
    int                 has_since;
    int                 has_until;
    uint64_t            since;            /* microseconds, inclusive */
    uint64_t            until;            /* microseconds, exclusive */
    unsigned            limit;
    uint64_t            cursor;           /* 0: from the newest record */
    const char         *error;            /* reason, when parsing failed */
    char                bad[QUERY_NAME_MAX + 1];
} query_t;


int conf_parse(conf_t *cf, const char *file, char *err, size_t errlen);
void conf_defaults(conf_t *cf);

int store_open(store_t *st, const char *path, uint64_t mapsize);
void store_close(store_t *st);
int store_txn_begin(store_t *st, unsigned flags, MDB_txn **txn);
int store_meta_get(store_t *st, MDB_txn *txn, const char *name,
    uint64_t *value);
int store_meta_put(store_t *st, MDB_txn *txn, const char *name,
    uint64_t value);
int store_index_put(store_t *st, MDB_txn *txn, uint64_t id,
    const keryu_record_t *rec);
int store_index_del(store_t *st, MDB_txn *txn, uint64_t id,
    const keryu_record_t *rec);
size_t store_key_ip(uint8_t key[STORE_KEY_IP_MAX], int family,
    const uint8_t *addr);
size_t store_index_ip(store_t *st, uint8_t key[STORE_INDEX_KEY_MAX],
    int family, const uint8_t *addr);
size_t store_index_user(store_t *st, uint8_t key[STORE_INDEX_KEY_MAX],
    const uint8_t *user, size_t len);
int store_record_read(store_t *st, const MDB_val *val, keryu_record_t *rec,
    store_rbuf_t *b);
int store_record_open(store_t *st, keryu_record_t *rec, const uint8_t *buf,
    store_rbuf_t *b);
int store_record_encrypt(store_t *st, const keryu_record_t *rec,
    uint8_t *out, size_t *outlen, store_rbuf_t *b);
void store_key_status(uint8_t key[2], unsigned status);
int store_expire(store_t *st, uint64_t before_us, size_t max,
    size_t *removed);
int store_erase_user(store_t *st, const uint8_t *user, size_t len,
    size_t max, size_t *removed, int *more);
int store_erase_subject(store_t *st, const char *user, uint64_t *records,
    uint64_t *alerts);
void store_ibatch_reset(store_ibatch_t *b);
int store_ibatch_add(store_ibatch_t *b, store_t *st, MDB_txn *txn,
    uint64_t id, const keryu_record_t *rec);
int store_ibatch_write(store_ibatch_t *b, MDB_txn *txn);
void store_ibatch_free(store_ibatch_t *b);

role_e token_role_parse(const char *name);
const char *token_role_name(role_e role);
int token_name_valid(const char *name);
int token_generate(char token[TOKEN_LEN + 1], uint8_t hash[TOKEN_HASH_LEN]);
void token_hash(const char *token, size_t len, uint8_t hash[TOKEN_HASH_LEN]);
int token_create(store_t *st, role_e role, const char *name,
    time_t expires, FILE *out);
int token_list(store_t *st, FILE *out);
int token_revoke(store_t *st, const char *name);
int token_lookup(store_t *st, MDB_txn *txn, const char *token, size_t len,
    role_e *role);
int token_identify(store_t *st, MDB_txn *txn, const char *token, size_t len,
    role_e *role, char *name, size_t namelen);
int token_expire(store_t *st, time_t now, size_t max, size_t *removed);

/* sees each stored token; a non-zero return stops the walk (token.c) */
typedef int (*token_each_pt)(void *ctx, role_e role, const char *name,
    size_t name_len, time_t created, time_t expires);

int token_each(store_t *st, MDB_txn *txn, token_each_pt handler, void *ctx);

int consume_init(consumer_t *cs, keryu_store_t *src, store_t *dst,
    uint64_t batch);
void consume_free(consumer_t *cs);
int consume_batch(consumer_t *cs, consume_res_t *res);

int query_parse(query_t *q, const char *qs);
int query_match(const query_t *q, const keryu_record_t *rec);
int query_cursor_parse(const char *s, uint64_t *id);
int time_parse(const char *s, uint64_t *us);
size_t time_format(uint64_t us, char buf[TIME_STR_MAX]);


#endif /* _KERYUD_H_INCLUDED_ */
