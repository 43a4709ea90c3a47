
/*
 * Copyright (C) Keryu Security
 *
 * JWT verification for the access phase: compact JWS tokens signed with
 * HS256, RS256 or ES256, checked against a set of keys loaded from the
 * store's keys database (keryu_store.h).  The nginx module verifies one
 * token per request with it, so the key set keeps every keyed OpenSSL
 * context it needs and a verification fetches no algorithm and creates no
 * context.
 *
 * A key set is built once (keys_create, keys_add_*) and then used by one
 * thread at a time: keryu_jwt_verify() reuses the contexts inside the set,
 * so two threads must not verify against the same set at once, though the
 * set is never changed by verification.  An nginx worker has one thread,
 * and keryud builds its own set.  Nothing here logs; functions return a
 * code, and the key loaders write a short reason into err.  The OpenSSL
 * error queue is left empty.
 *
 * What a token must be to pass:
 *   - compact JWS, three base64url parts without padding, each in its one
 *     canonical encoding; at most opts->max_len bytes in all
 *   - a header of at most KERYU_JWT_HEADER_MAX bytes that is a JSON
 *     object with a string "alg" of HS256, RS256 or ES256 ("none" in any
 *     case, and every other name, are refused); "kid" and "typ", when
 *     present, are strings; "crit" is refused since no extension is
 *     understood; other fields, such as "jwk" or "jku", are ignored and
 *     never used to find a key
 *   - with a "kid", the key of that id, whose algorithm must equal "alg";
 *     without one, any key of algorithm "alg"
 *   - a signature that verifies: HMAC compared in constant time, RSA
 *     PKCS#1 v1.5, or ECDSA P-256 in JOSE's 64-byte r || s form
 *   - header and claims each a JSON object whose top-level names are
 *     unique (parsers disagree on which duplicate wins), nested at most
 *     KERYU_JWT_DEPTH_MAX deep, with no \u0000 escape (names and values
 *     are used as C strings), no comments and nothing after the object
 *   - "exp" and "nbf", optional, numbers when present: refused once
 *     now >= exp + leeway, or while now + leeway < nbf (a fraction is
 *     rounded towards refusal)
 *   - "iss" equal to opts->issuer, and "aud" equal to opts->audience or,
 *     as an array, holding it, when those are set
 *   - "sub" a non-empty string
 * "iat", "jti" and any other claim are not checked.
 */


#ifndef _KERYU_JWT_H_INCLUDED_
#define _KERYU_JWT_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>


/** reason codes of keryu_jwt_verify(); the numbers are stable */
#define KERYU_JWT_OK                0
#define KERYU_JWT_EMALFORMED        1   /**< "malformed" */
#define KERYU_JWT_ETOOLONG          2   /**< "too long" */
#define KERYU_JWT_EALGNONE          3   /**< "alg none" */
#define KERYU_JWT_EALG              4   /**< "unsupported algorithm" */
#define KERYU_JWT_ECRIT             5   /**< "critical header" */
#define KERYU_JWT_EKEY              6   /**< "unknown key" */
#define KERYU_JWT_EMISMATCH         7   /**< "algorithm mismatch" */
#define KERYU_JWT_ESIGNATURE        8   /**< "bad signature" */
#define KERYU_JWT_EEXPIRED          9   /**< "expired" */
#define KERYU_JWT_ENOTYET           10  /**< "not yet valid" */
#define KERYU_JWT_EISSUER           11  /**< "bad issuer" */
#define KERYU_JWT_EAUDIENCE         12  /**< "bad audience" */
#define KERYU_JWT_ESUBJECT          13  /**< "no subject" */
#define KERYU_JWT_ENOMEM            14  /**< "out of memory" */
#define KERYU_JWT_EINTERNAL         15  /**< "internal error": OpenSSL */

/** key loaders: 0 or -1 with a reason in err */
#define KERYU_JWT_ERROR             (-1)

/** opts->max_len 0 means this */
#define KERYU_JWT_MAX_LEN_DEFAULT   8192

/** a key id is 1 to this many bytes */
#define KERYU_JWT_KID_MAX           255

/** the shortest HS256 secret accepted */
#define KERYU_JWT_SECRET_MIN        32

/** the smallest RSA modulus accepted, in bits */
#define KERYU_JWT_RSA_BITS_MIN      2048

/**
 * decoded header bytes: the JSON read before the signature is known; it
 * may hold at most 32 values, counting the scalars of its arrays
 */
#define KERYU_JWT_HEADER_MAX        1024

/** nesting of arrays and objects in the header or the claims */
#define KERYU_JWT_DEPTH_MAX         32

/** a keys database value, in bytes */
#define KERYU_JWT_KEY_JSON_MAX      65536

/** roles held in keryu_jwt_t itself; more take one allocation */
#define KERYU_JWT_ROLES_INLINE      16


typedef struct keryu_jwt_keys_s  keryu_jwt_keys_t;


typedef struct {
    const char         *issuer;       /**< NULL: not checked */
    const char         *audience;     /**< NULL: not checked */
    const char         *roles_claim;  /**< NULL: no roles read */
    int64_t             leeway;       /**< seconds, for exp and nbf; < 0
                                           reads as 0 */
    size_t              max_len;      /**< 0: KERYU_JWT_MAX_LEN_DEFAULT */
} keryu_jwt_opts_t;


/**
 * A verified token.  keryu_jwt_verify() fills it; keryu_jwt_free() releases
 * what it holds.  Every pointer stays valid until keryu_jwt_free(), and
 * none depends on the key set.  roles may point into the struct itself, so
 * the struct must not be copied or moved while in use.
 *
 * sub is NUL-terminated and sub_len is its length.  roles[i] is NOT
 * NUL-terminated: use role_lens[i].  Roles come from opts->roles_claim:
 * an array of strings (entries of other types and empty strings are
 * skipped), or one string split on spaces (empty pieces skipped).  A
 * missing claim, or one of another type, gives no roles: the token is
 * still valid, it just grants nothing through roles.
 */
typedef struct {
    const char         *sub;
    size_t              sub_len;
    const char        **roles;
    size_t             *role_lens;
    size_t              nroles;
    const char         *kid;          /**< id of the key that verified it */

    /* private */
    void               *claims;
    const char         *role_data[KERYU_JWT_ROLES_INLINE];
    size_t              role_len_data[KERYU_JWT_ROLES_INLINE];
    char                kid_data[KERYU_JWT_KID_MAX + 1];
} keryu_jwt_t;


/** returns an empty set, or NULL when OpenSSL cannot fetch HMAC or SHA256 */
keryu_jwt_keys_t *keryu_jwt_keys_create(void);

/** frees the set and every key in it; NULL is allowed */
void keryu_jwt_keys_free(keryu_jwt_keys_t *ks);

/**
 * Adds an HS256 key: secret is the raw key, at least KERYU_JWT_SECRET_MIN
 * bytes.  kid is a C string of 1 to KERYU_JWT_KID_MAX bytes, unique in the
 * set.  The set keeps a keyed HMAC context, not a copy of the secret.
 * Returns 0, or -1 with a reason in err (err may be NULL).
 */
int keryu_jwt_keys_add_secret(keryu_jwt_keys_t *ks, const char *kid,
    const uint8_t *secret, size_t len, char *err, size_t errlen);

/**
 * Adds an RS256 (RSA, at least KERYU_JWT_RSA_BITS_MIN bits) or ES256
 * (P-256) public key given as a PEM "PUBLIC KEY" block of len bytes.
 * Returns 0, or -1 with a reason in err.
 */
int keryu_jwt_keys_add_pem(keryu_jwt_keys_t *ks, const char *kid,
    const char *alg, const char *pem, size_t len, char *err, size_t errlen);

/**
 * Adds the key of one keys database value: a JSON object with "kid",
 * "alg", "secret" (HS256, base64url without padding) or "pem" (RS256,
 * ES256), and an optional numeric "created_at".  Any other field, a field
 * of the wrong type, or a field of the other algorithm is refused.
 * Returns 0, or -1 with a reason in err.
 */
int keryu_jwt_keys_add_json(keryu_jwt_keys_t *ks, const char *json,
    size_t len, char *err, size_t errlen);

size_t keryu_jwt_keys_count(const keryu_jwt_keys_t *ks);

/**
 * A number for what the set holds now: it changes whenever a key is
 * added, and no two sets made by this process share one, even when a new
 * set is given the address of a freed one.  A cache entry (below) made
 * under one generation is never used under another.
 */
uint64_t keryu_jwt_keys_generation(const keryu_jwt_keys_t *ks);

/**
 * Verifies the token of len bytes at now (epoch seconds) and fills jwt,
 * which it overwrites: free what a previous call left there first.  opts
 * may be NULL for the defaults.  Returns KERYU_JWT_OK, or a reason code
 * and a jwt that holds nothing.  keryu_jwt_free() is harmless after a
 * failure, so a caller may always call it.  Uses the contexts in ks: one
 * thread at a time per key set.  An HS256 token under about 5 KiB costs
 * one allocation here and two inside OpenSSL's HMAC.
 */
int keryu_jwt_verify(const keryu_jwt_keys_t *ks, const keryu_jwt_opts_t *opts,
    const char *token, size_t len, int64_t now, keryu_jwt_t *jwt);

/** short stable text for a reason code, e.g. "expired" */
const char *keryu_jwt_reason(int code);

/** releases what a verified jwt holds and zeroes it; NULL is allowed */
void keryu_jwt_free(keryu_jwt_t *jwt);

/**
 * Returns 1 when the top-level claim named by claim (claim_len bytes) is a
 * string equal to value, a number written as value in the token (42
 * matches "42", not "42.0"), true or false written as such, or an array
 * holding such an element; 0 otherwise, and for a jwt that failed.
 * Objects, and arrays or objects inside an array, never match.
 */
int keryu_jwt_claim_has(const keryu_jwt_t *jwt, const char *claim,
    size_t claim_len, const char *value, size_t value_len);


/**
 * A cache of verified tokens, for a caller that sees the same token many
 * times: a hit costs a keyed hash and a comparison of the token's bytes
 * instead of a verification.  The table is 2-way set associative, keyed
 * by SipHash-1-3 of the token under a random seed drawn when the cache is
 * made, so the tokens a client picks can cause misses but never a wrong
 * hit: an entry answers only a token equal to it byte for byte, verified
 * against the same key set pointer at the same generation, with options
 * of equal values (issuer, audience and roles_claim compared as strings,
 * leeway and max_len after their defaults apply).  A token is cached only
 * once it verified and only up to KERYU_JWT_CACHE_TOKEN_MAX bytes; a
 * refusal is never cached.
 *
 * A cache is used by one thread: an nginx worker makes its own in init
 * process.  It holds no pointer to a key set or to opts strings beyond a
 * call, only copies of the values and the set's address and generation
 * for comparison, so freeing a set while its tokens are cached is safe.
 */

/** the longest token a cache keeps; longer ones are verified each time */
#define KERYU_JWT_CACHE_TOKEN_MAX   2048

/** the most entries a cache may have */
#define KERYU_JWT_CACHE_MAX         (1 << 20)


typedef struct keryu_jwt_cache_s  keryu_jwt_cache_t;


typedef struct {
    size_t              size;         /**< entries the table holds */
    size_t              count;        /**< entries in use */
    uint64_t            hits;         /**< calls answered from the cache,
                                           refusals for exp or nbf too */
    uint64_t            misses;       /**< calls that ran a verification */
} keryu_jwt_cache_stats_t;


/**
 * Returns an empty cache of entries entries, rounded up to a power of two
 * and to at least 2; or NULL with no memory, with no randomness from
 * getrandom(), or for more than KERYU_JWT_CACHE_MAX entries.  Each entry
 * takes about 700 bytes, plus a copy of its token once used.
 */
keryu_jwt_cache_t *keryu_jwt_cache_create(size_t entries);

/** frees the cache and every token in it; NULL is allowed */
void keryu_jwt_cache_free(keryu_jwt_cache_t *c);

/** drops every entry, e.g. when the key set is replaced */
void keryu_jwt_cache_clear(keryu_jwt_cache_t *c);

/**
 * Like keryu_jwt_verify(), with the same reason codes.  A token that
 * matches an entry (see above) is answered from it once exp and nbf are
 * checked again at now, with the same leeway; refused there, the entry is
 * dropped and the code is the one verify would give ("expired" or "not
 * yet valid").  Anything else is verified with keryu_jwt_verify() and, if
 * it passes, kept, replacing the older of the two entries of its set.
 *
 * On KERYU_JWT_OK, *jwt points at a verified token that the cache owns:
 * the caller must not free it, and it stays valid until the next call on
 * this cache, keryu_jwt_cache_clear() or keryu_jwt_cache_free().  On
 * failure *jwt is NULL.  A hit allocates nothing; a miss allocates what
 * verify does, and once per entry for its copy of the token when the
 * entry's buffer is too small.  With no memory for that copy the token is
 * still answered, but not cached.
 */
int keryu_jwt_cache_verify(keryu_jwt_cache_t *c, const keryu_jwt_keys_t *ks,
    const keryu_jwt_opts_t *opts, const char *token, size_t len, int64_t now,
    const keryu_jwt_t **jwt);

/** fills st with the cache's size, count and counters */
void keryu_jwt_cache_stats(const keryu_jwt_cache_t *c,
    keryu_jwt_cache_stats_t *st);


/**
 * Strict base64url, as tokens use it: the URL-safe alphabet only, no
 * padding, and the unused bits of the last digit zero, so that a byte
 * string has one encoding.  keryu_jwt_base64url_size() is the decoded
 * size of len digits; keryu_jwt_base64url_decode() writes that many bytes
 * to dst and returns 0, or -1 for anything else.  Other users of
 * base64url in shared code (keryu_sign.c) go through these two.
 */
size_t keryu_jwt_base64url_size(size_t len);
int keryu_jwt_base64url_decode(const char *src, size_t len, uint8_t *dst);


#endif /* _KERYU_JWT_H_INCLUDED_ */
