/*
 * Copyright (C) Keryu Security
 *
 * The administration subcommands of keryud: verification keys, blocks and
 * API keys, written into the shared store that the nginx module reads.
 * Each command that changes something does it in one write transaction,
 * through keryu_store_change(), so the module sees the whole change and
 * its version counter rises; a command that fails writes nothing.  The
 * API's decisions and API keys endpoints call the same functions on
 * keryud's open shared store, so both accept exactly the same.
 */


#ifndef _KERYUD_ADMIN_H_INCLUDED_
#define _KERYUD_ADMIN_H_INCLUDED_


#include "keryud.h"


/* what admin_main() returns for a command line it cannot use */
#define ADMIN_USAGE  (-1)

#define ADMIN_ESC_MAX  (4 * KERYU_BLOCK_KEY_MAX + 1)

#define ADMIN_ROLES_MAX   16
#define ADMIN_APIKEY_LEN  47                     /* "kak_" and 43 */


/* a block's target, as given on the command line and as stored */
typedef struct {
    int                 is_user;
    size_t              key_len;
    uint8_t             key[KERYU_BLOCK_KEY_MAX];
    char                text[ADMIN_ESC_MAX];      /* normalised, printable */
} admin_target_t;


/* what is kept of an API key besides its hash: never the key itself */
typedef struct {
    char                name[TOKEN_NAME_MAX + 1];
    char                roles[ADMIN_ROLES_MAX * (TOKEN_NAME_MAX + 1)];
                                                 /* comma-separated */
    int                 expires;
    uint64_t            expires_at;              /* unix seconds */
    uint64_t            created_at;              /* unix seconds */
} admin_apikey_info_t;


/* sees each API key; returning -1 stops the walk */
typedef int (*admin_apikey_pt)(void *ctx, const admin_apikey_info_t *ai);


/* sees each block; returning -1 stops the walk */
typedef int (*admin_block_pt)(void *ctx, const admin_target_t *tg,
    const keryu_block_t *b);


/*
 * runs "key", "block", "apikey" or "client" (argv[0]) with its
 * arguments; returns the exit status, 0 or 1, after printing any error on
 * stderr, or ADMIN_USAGE, when the caller prints the usage
 */
int admin_main(conf_t *cf, int argc, char **argv);

/*
 * builds the target of ADDR[/PREFIX] (ip) or NAME (user); returns 0, 1
 * when host bits under the prefix were cleared (err says so), or -1 with
 * the reason in err
 */
int admin_target_parse(admin_target_t *tg, const char *ip, const char *user,
    char *err, size_t errlen);

/* "30s", "15m", "1h", "7d" or seconds, 1s to 3650d; returns 0 or -1 */
int admin_duration_parse(const char *s, uint64_t *sec);

/* 1 to KERYU_BLOCK_REASON_MAX bytes, no control characters; 0 or -1 */
int admin_reason_check(const char *reason, char *err, size_t errlen);

/*
 * blocks tg for ttl seconds (0: for ever), replacing any block of it, in
 * one transaction; fills b and exists; returns 0 or an LMDB code
 */
int admin_block_put(keryu_store_t *st, const admin_target_t *tg,
    uint64_t ttl, const char *reason, keryu_block_t *b, int *exists);

/* returns 0, MDB_NOTFOUND, or another LMDB code */
int admin_block_remove(keryu_store_t *st, const admin_target_t *tg);

/*
 * calls handler for each block that decodes, in key order, counting the
 * others in bad; returns 0 or an LMDB code
 */
int admin_block_each(keryu_store_t *st, admin_block_pt handler, void *ctx,
    size_t *bad);

/*
 * checks an API key's name and roles (1 to ADMIN_ROLES_MAX, each once) as
 * "apikey create" does; returns 0, or -1 with the reason in err and the
 * field at fault, "name" or "roles", in *field
 */
int admin_apikey_check(const char *name, const char *const *roles,
    size_t nroles, char *err, size_t errlen, const char **field);

/*
 * makes an API key for checked name and roles, valid for ttl seconds (0:
 * for ever), and stores its hash and metadata in one transaction; the key
 * is written to apikey only, wiped on failure, and ai gets the metadata.
 * Returns 0, MDB_KEYEXIST when a key has that name already, -1 without
 * random bytes (the OpenSSL error queue says why), ENOMEM, or an LMDB code
 */
int admin_apikey_put(keryu_store_t *st, const char *name,
    const char *const *roles, size_t nroles, uint64_t ttl,
    char apikey[ADMIN_APIKEY_LEN + 1], admin_apikey_info_t *ai);

/*
 * deletes the API key called name in one transaction, filling ai (when
 * not NULL) with what it was; returns 0, MDB_NOTFOUND, or an LMDB code
 */
int admin_apikey_remove(keryu_store_t *st, const char *name,
    admin_apikey_info_t *ai);

/*
 * calls handler for each API key that decodes, in hash order, counting
 * the others in bad; returns 0 or an LMDB code
 */
int admin_apikey_each(keryu_store_t *st, admin_apikey_pt handler,
    void *ctx, size_t *bad);

/*
 * the alg and created_at of a stored verification key (the shared
 * store's keys database), never its secret; returns 0 or -1
 */
int admin_key_info(const MDB_val *val, char *alg, size_t alglen,
    uint64_t *created_at);

/* RFC 3339 in UTC, to the second */
void admin_time(uint64_t sec, char buf[TIME_STR_MAX]);


#endif /* _KERYUD_ADMIN_H_INCLUDED_ */
