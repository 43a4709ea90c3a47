/*
 * Copyright (C) Keryu Security
 *
 * Evidence: what the compliance checks look at.  Half of it comes from
 * nginx: the module publishes its effective configuration as JSON in the
 * shared store's meta database under EVIDENCE_META_KEY,
 *
 *   {"nginx_version":"1.22.1","published_at":"RFC 3339",
 *    "servers":[{"names":[...],"listen":["127.0.0.1:8080","[::]:443 ssl"],
 *                (or listen objects {"address":"...","ssl":true}),
 *                "ssl":{"protocols":[...],"ciphers":"..."}|null,
 *                "server_tokens":"on|off|build",
 *                "locations":[{"name":"/api/",
 *                              "match":"prefix|exact|regex|named|server",
 *                              "enforce":"on|off|shadow",
 *                              "log":true,"identity":["bearer",...],
 *                              "default":"allow|deny","fail":"closed|open",
 *                              "validate":"on|off|shadow"|null,
 *                              "headers":{"preset":"off|basic|strict",
 *                                         "hsts":true,"csp":true,
 *                                         "frame_options":true,
 *                                         "content_type_options":true,
 *                                         "referrer_policy":true}|null,
 *                              "client_max_body_size":1048576}]}]}
 *
 * evidence_parse() reads that document.  A location's name is kept as
 * nginx writes it in a configuration ("/api/", "= /login", "~ ^/x",
 * "@fallback"), built from "match" when the document gives it, and the
 * server's own configuration outside any location is EV_SERVER_LEVEL;
 * listen objects become "ADDRESS ssl" strings.  Every field but the structure
 * itself is optional: a field that is missing, or has a value of the
 * wrong kind, is recorded as unknown (EV_UNKNOWN) and the checks report
 * unknown evidence as a warning rather than guess.  The other half is what
 * keryud knows itself: retention, the threshold rules of the stored
 * policies, how alerts were handled, API tokens, verification keys, TLS
 * on its own API, record loss and what the nginx workers enforce;
 * evidence_gather() collects both.
 *
 * Key management (keys.h) and the hash chain over keryud's records
 * (chain.h) are read when keryud has them: without a master key the key
 * checks report key management as not configured.
 *
 * Everything is copied out of the stores and the document, so evidence
 * outlives the transactions it was read in; evidence_free() frees it.
 */


#ifndef _KERYUD_EVIDENCE_H_INCLUDED_
#define _KERYUD_EVIDENCE_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>

#include "keryud.h"


#define EVIDENCE_META_KEY     KERYU_META_EFFECTIVE_CONFIG

/* bounds on what is read from the document */
#define EV_SERVERS_MAX        256
#define EV_LOCATIONS_MAX      1024          /* per server */
#define EV_NAMES_MAX          64            /* names, listens per server */
#define EV_STRING_MAX         256           /* longer strings are cut */
#define EV_VERSION_MAX        32
#define EV_CONFIG_MAX         (8 * 1024 * 1024)

/* alerts and tokens looked at */
#define EV_ALERTS_MAX         1000
#define EV_TOKENS_MAX         1024
#define EV_KEYS_MAX           256
#define EV_RULES_MAX          256
#define EV_CHANGES_MAX        10000         /* changes searched for backups */

#define EV_UNKNOWN            (-1)

/* the name of a server's configuration outside any location */
#define EV_SERVER_LEVEL       "(server)"

/* enforce and validate */
#define EV_MODE_NULL          0             /* validate: null */
#define EV_MODE_OFF           1
#define EV_MODE_ON            2
#define EV_MODE_SHADOW        3

/* server_tokens */
#define EV_TOKENS_OFF         0
#define EV_TOKENS_ON          1
#define EV_TOKENS_BUILD       2

/* identity sources, bits */
#define EV_ID_BEARER          0x01
#define EV_ID_COOKIE          0x02
#define EV_ID_APIKEY          0x04
#define EV_ID_SIGNATURE       0x08
#define EV_ID_OTHER           0x80

/* TLS protocol versions, bits */
#define EV_TLS_SSLV2          0x01
#define EV_TLS_SSLV3          0x02
#define EV_TLS_V1             0x04
#define EV_TLS_V1_1           0x08
#define EV_TLS_V1_2           0x10
#define EV_TLS_V1_3           0x20
#define EV_TLS_OTHER          0x80
#define EV_TLS_WEAK           (EV_TLS_SSLV2 | EV_TLS_SSLV3 | EV_TLS_V1       \
                               | EV_TLS_V1_1)


/* each int below is EV_UNKNOWN when the document did not say */

typedef struct {
    char               *name;             /* "/api/", "= /login", ... */
    int                 enforce;          /* EV_MODE_OFF, _ON, _SHADOW */
    int                 log;              /* 0 or 1 */
    int                 identity;         /* EV_ID_* bits */
    int                 default_deny;     /* 0 allow, 1 deny */
    int                 fail_closed;      /* 0 open, 1 closed */
    int                 validate;         /* EV_MODE_* */
    int                 headers;          /* 0: null, 1: an object */
    char                preset[16];       /* "" unknown */
    int                 hsts;
    int                 csp;
    int                 frame_options;
    int                 content_type_options;
    int                 referrer_policy;
    int64_t             body_max;         /* bytes, 0: no limit */
} ev_location_t;


typedef struct {
    char              **names;
    size_t              nnames;
    char              **listen;
    size_t              nlisten;
    int                 ssl;              /* 0: null, 1: an object */
    int                 protocols;        /* EV_TLS_* bits */
    char               *ciphers;          /* NULL: not given */
    int                 server_tokens;    /* EV_TOKENS_* */
    ev_location_t      *locations;
    size_t              nlocations;
} ev_server_t;


/* a threshold rule of an active stored policy */
typedef struct {
    char                name[2 * 64 + 2];   /* "policy/rule" */
    uint32_t            types;            /* 1 << event type; 0: any */
    int                 block;            /* blocks the key */
    int                 shadow;
    int                 severity;
    unsigned            count;
    uint64_t            window_ms;
} ev_rule_t;


/* an alert, reduced to how it was handled */
typedef struct {
    uint64_t            id;
    int                 severity;
    int                 status;
    char                rule[2 * 64 + 2];   /* "policy/rule" */
    int                 blocked;          /* it blocked its key */
    uint64_t            created_us;
    uint64_t            acked_us;         /* 0: never acknowledged */
    uint64_t            resolved_us;      /* 0: not resolved */
} ev_alert_t;


typedef struct {
    char                name[TOKEN_NAME_MAX + 1];
    int                 role;             /* role_e */
    uint64_t            created;          /* seconds since the epoch */
    uint64_t            expires;          /* 0: never */
} ev_token_t;


/* a JWT verification key of the shared store */
typedef struct {
    char                kid[EV_STRING_MAX];
    char                alg[16];
    uint64_t            created;          /* seconds since the epoch */
} ev_key_t;


/* the active version of a key keryud manages (keys.h) */
typedef struct {
    char                type[24];         /* "log_sealing", ... */
    char                kid[24];
    uint32_t            version;
    uint64_t            created;          /* seconds since the epoch */
    uint64_t            period;           /* key_period, 0: not rotated */
} ev_mkey_t;

#define EV_MKEYS_MAX          8


typedef struct {
    /* the effective configuration of nginx */
    int                 config;           /* 1: read, 0: none published */
    char                config_error[128];  /* why it could not be read */
    char                nginx_version[EV_VERSION_MAX];
    char                published_at[EV_STRING_MAX];
    uint64_t            published_us;     /* 0: unknown */
    ev_server_t        *servers;
    size_t              nservers;

    /* keryud's own */
    uint64_t            now_us;
    uint64_t            retention_s;      /* 0: for ever */
    int                 api_tls;
    char                api_listen[64];
    int                 shared_store;     /* 1: open */
    int                 rules_known;      /* the stored policies compiled */
    ev_rule_t          *rules;
    size_t              nrules;
    int                 alerts_known;
    ev_alert_t         *alerts;           /* newest first */
    size_t              nalerts;
    int                 alerts_truncated; /* EV_ALERTS_MAX reached */
    int                 tokens_known;
    ev_token_t         *tokens;
    size_t              ntokens;
    int                 keys_known;
    ev_key_t           *keys;             /* verification keys */
    size_t              nkeys;
    int                 key_management;   /* keys.h, with a master key */
    int                 sealing_key;      /* EV_UNKNOWN without it */
    ev_mkey_t           mkeys[EV_MKEYS_MAX];  /* active managed keys */
    size_t              nmkeys;
    uint64_t            key_backup_s;     /* last backup; 0: none seen */
    int                 integrity;        /* chain.h: a log hash chain */
    int                 integrity_ok;     /* EV_UNKNOWN: not verified */
    char                integrity_reason[128];
    uint64_t            integrity_records;
    uint64_t            integrity_checkpoints;
    uint64_t            lost;             /* own meta "lost" */
    uint64_t            workers;          /* live workers that reported */
    uint64_t            workers_behind;
    uint64_t            config_version;
} evidence_t;


/*
 * parses an effective configuration into ev (ev->config set); returns 0,
 * or -1 with the reason in err for a document that is not a JSON object
 * or not one of this shape, when ev holds nothing of it
 */
int evidence_parse(evidence_t *ev, const char *json, size_t len, char *err,
    size_t errlen);

/*
 * reads and parses the effective configuration from the shared store;
 * returns 0 when there is none or it does not parse (config 0, and
 * config_error says why), or an LMDB code
 */
int evidence_read_config(evidence_t *ev, keryu_store_t *src);

/*
 * gathers every piece of evidence, configuration included; a store that
 * fails leaves its pieces unknown and is logged.  Returns 0, or -1 when
 * out of memory.
 */
struct keys_s;

int evidence_gather(evidence_t *ev, const conf_t *cf, store_t *own,
    keryu_store_t *src, struct keys_s *keys, uint64_t now_us);

void evidence_init(evidence_t *ev, uint64_t now_us);
void evidence_free(evidence_t *ev);

/* "on", "off", "shadow", "null" or "unknown" */
const char *evidence_mode_name(int mode);

/*
 * the path a location name covers and how: returns 1 for a prefix, 2 for
 * an exact match, 0 for a regular expression or a named location, which
 * cover no literal path; path and len get the literal
 */
int evidence_location_path(const char *name, const char **path,
    size_t *len);


#endif /* _KERYUD_EVIDENCE_H_INCLUDED_ */
