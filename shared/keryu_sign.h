
/*
 * Copyright (C) Keryu Security
 *
 * Signed requests for machine clients: each request carries an HMAC-SHA256
 * over its method, path, query, a timestamp, a nonce and the digest of its
 * body, keyed by a secret shared with the client.  The clients live in the
 * store's clients database and the nonces seen in its nonces database
 * (keryu_store.h).
 *
 * The protocol, exactly:
 *
 *   X-Keryu-Client: ID            the client id
 *   X-Keryu-Timestamp: SECONDS    unix time, decimal digits only
 *   X-Keryu-Nonce: NONCE          16 to 64 of [A-Za-z0-9_-], fresh for
 *                                 each request
 *   X-Keryu-Content-SHA256: HEX   lowercase hex SHA-256 of the body, of
 *                                 the empty string when there is none
 *   X-Keryu-Signature: SIG        base64url without padding of
 *                                 HMAC-SHA256(secret, canonical string)
 *
 *   canonical string:
 *       METHOD "\n" PATH "\n" QUERY "\n" TIMESTAMP "\n" NONCE "\n"
 *       CONTENT_SHA256
 *
 * PATH is the request path as sent, before any decoding; QUERY is the raw
 * query string without "?", empty when there is none; TIMESTAMP, NONCE and
 * CONTENT_SHA256 are the header values as sent.  A request is valid when
 * its client is known, |now - timestamp| <= skew, the signature matches
 * (compared in constant time), the nonce was not seen for this client
 * within the window, and the body hashes to CONTENT_SHA256.
 *
 * A caller checks in this order: keryu_sign_verify() (everything but the
 * nonce and the body), then, with the body in hand, the digest through
 * keryu_sign_sha256_hex(), then keryu_sign_nonce() in a write transaction,
 * which records the nonce; a request refused earlier uses no nonce.
 *
 * A client table is built once and then used by one thread at a time: it
 * keeps a keyed HMAC context per client and a SHA-256 context, which every
 * check reuses.  An nginx worker has one thread, and keryud builds its
 * own table.  Nothing here logs; functions return a code, and the loader
 * writes a short reason into err.  The OpenSSL error queue is left empty.
 */


#ifndef _KERYU_SIGN_H_INCLUDED_
#define _KERYU_SIGN_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>
#include <lmdb.h>

#include "keryu_store.h"
#include "keryu_apikeys.h"


/*
 * reason codes; they sit in a range of their own, below the LMDB and
 * errno codes that keryu_sign_nonce() may return too
 */
#define KERYU_SIGN_OK             0
#define KERYU_SIGN_UNKNOWN        (-30601)  /**< "unknown client" */
#define KERYU_SIGN_STALE          (-30602)  /**< "stale timestamp" */
#define KERYU_SIGN_BAD_SIGNATURE  (-30603)  /**< "bad signature" */
#define KERYU_SIGN_MALFORMED      (-30604)  /**< "malformed" */
#define KERYU_SIGN_REPLAYED       (-30605)  /**< "replayed nonce" */
#define KERYU_SIGN_DIGEST         (-30606)  /**< "body digest mismatch" */
#define KERYU_SIGN_INTERNAL       (-30607)  /**< "internal error": OpenSSL */

/** a client id is 1 to this many bytes */
#define KERYU_SIGN_CLIENT_MAX     128

#define KERYU_SIGN_NONCE_MIN      16
#define KERYU_SIGN_NONCE_MAX      64

/** a client's raw secret, in bytes */
#define KERYU_SIGN_SECRET_MIN     32
#define KERYU_SIGN_SECRET_MAX     1024

/** the size of the text keryu_sign_sha256_hex() writes, NUL included */
#define KERYU_SIGN_HEX_LEN        65

/** stale entries keryu_sign_nonce() deletes, and entries it looks at */
#define KERYU_SIGN_PRUNE          16
#define KERYU_SIGN_PRUNE_SCAN     64


typedef struct keryu_clients_s  keryu_clients_t;


/** a request's parts, none NUL-terminated; all but query non-empty */
typedef struct {
    const char         *method;
    size_t              method_len;
    const char         *path;
    size_t              path_len;
    const char         *query;
    size_t              query_len;
    const char         *client;
    size_t              client_len;
    const char         *timestamp;
    size_t              timestamp_len;
    const char         *nonce;
    size_t              nonce_len;
    const char         *content_sha256;
    size_t              content_sha256_len;
    const char         *signature;
    size_t              signature_len;
} keryu_sign_req_t;


/**
 * Reads the whole clients database in txn into a new table.  A record
 * whose value is not {"id": the key, "secret": base64url of
 * KERYU_SIGN_SECRET_MIN to KERYU_SIGN_SECRET_MAX bytes, "roles": [string,
 * ...], "created_at": integer}, with nothing else, or whose id is longer
 * than KERYU_SIGN_CLIENT_MAX, is skipped and counted.  Each client gets a
 * keyed HMAC context; no copy of the secret is kept.  Returns the table,
 * or NULL with *rc set to an LMDB or errno code and a reason in err.
 */
keryu_clients_t *keryu_clients_load(keryu_store_t *st, MDB_txn *txn, int *rc,
    char *err, size_t errlen);

/** NULL does nothing */
void keryu_clients_free(keryu_clients_t *c);

size_t keryu_clients_count(const keryu_clients_t *c);
size_t keryu_clients_skipped(const keryu_clients_t *c);

/**
 * Checks everything but the nonce and the body digest: the form of every
 * part, the client, the timestamp against now (epoch seconds) within
 * skew seconds (< 0 reads as 0), and the signature.  Returns
 * KERYU_SIGN_OK with *client set to the client's identity (name: its id,
 * roles, expires_at 0), which lives in the table; or a reason code.  The
 * form is checked first, then the client, the time, and last the HMAC.
 * Method, path and query may not hold "\n", which would let one canonical
 * string stand for two requests.
 */
int keryu_sign_verify(keryu_clients_t *c, const keryu_sign_req_t *req,
    int64_t now, int64_t skew, const keryu_apikey_t **client);

/** short stable text for a reason code; an LMDB or errno text otherwise */
const char *keryu_sign_reason(int code);

/**
 * The replay cache.  In the caller's write transaction, records the nonce
 * of client with the request's timestamp ts, with MDB_NOOVERWRITE.
 * Returns 0; KERYU_SIGN_REPLAYED when the entry was there with a
 * timestamp at or after now - skew (an older one is overwritten: that
 * request could no longer pass the time check); EINVAL for a client or
 * nonce of a length verify refuses; or an LMDB code.
 *
 * It then deletes up to KERYU_SIGN_PRUNE entries older than now - skew,
 * looking at no more than KERYU_SIGN_PRUNE_SCAN, from where the previous
 * call of the process stopped, wrapping round at the end.  So the cache
 * stays bounded without a sweeper: a whole turn over the database takes
 * n / KERYU_SIGN_PRUNE_SCAN requests and removes all it found stale, up to
 * the limit per call.  That position is process-wide, and only touched
 * while holding the store's write transaction, which serialises it.  An
 * error from the pruning is returned, and the caller aborts.
 */
int keryu_sign_nonce(keryu_store_t *st, MDB_txn *txn, const char *client,
    size_t client_len, const char *nonce, size_t nonce_len, int64_t ts,
    int64_t now, int64_t skew);

/**
 * Writes the lowercase hex SHA-256 of len bytes of data, NUL-terminated,
 * to out, which holds KERYU_SIGN_HEX_LEN bytes.  Uses the table's SHA-256
 * context.  If OpenSSL fails, out is the empty string, which no request's
 * digest equals.
 */
void keryu_sign_sha256_hex(keryu_clients_t *c, const uint8_t *data,
    size_t len, char *out);


#endif /* _KERYU_SIGN_H_INCLUDED_ */
