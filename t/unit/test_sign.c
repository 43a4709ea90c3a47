
/*
 * Copyright (C) Keryu Security
 *
 * Tests of signed requests: the canonical string against a fixed vector
 * and against OpenSSL's one-shot HMAC, a valid request, bad signatures,
 * stale timestamps both ways, unknown clients, malformed parts, client
 * records skipped, the replay cache (a replay refused, an old entry
 * reused, pruning that keeps it bounded) and the body digest.  Each test
 * writes clients through keryu_store_change() into a fresh store in a
 * mkdtemp directory.
 */


#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "keryu_store.h"
#include "unit.h"
#include "keryu_sign.h"


#define test_case(f)                                                          \
    cmocka_unit_test_setup_teardown(f, test_setup, test_teardown)


#define TEST_TS           1700000000
#define TEST_SKEW         300

/* the bytes 0 to 31, base64url */
#define TEST_SECRET_B64   "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"

/* another secret, 32 bytes of 0xff */
#define TEST_OTHER_B64    "__________________________________________8"

#define TEST_EMPTY_SHA256                                                     \
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

/* HMAC-SHA256 of the canonical string of test_req(), by Python's hmac */
#define TEST_VECTOR_SIG   "VNg0w2O9VGs4dDXKiJUvovk0TAofj_CChM7_rGczqSE"


typedef struct {
    char                dir[64];
    char                path[96];
    keryu_store_t       st;
    keryu_clients_t    *c;
} test_t;


static int
test_setup(void **state)
{
    test_t  *t;

    t = calloc(1, sizeof(test_t));
    if (t == NULL) {
        return -1;
    }

    if (unit_dir_make(t->dir, t->path, "sign") != 0) {
        free(t);
        return -1;
    }

    if (unit_store_open(&t->st, t->path) != 0) {
        free(t);
        return -1;
    }

    *state = t;

    return 0;
}


static int
test_teardown(void **state)
{
    int      rc;
    test_t  *t;

    t = *state;

    keryu_clients_free(t->c);
    keryu_store_close(&t->st);

    rc = unit_dir_remove(t->dir);

    free(t);

    return rc == 0 ? 0 : -1;
}


/* stores a clients record under id, as "keryud client add" does */

static void
test_client_json(test_t *t, const char *id, const char *json)
{
    int       rc;
    MDB_val   key, val;
    MDB_txn  *txn;

    rc = keryu_store_txn_begin(&t->st, 0, &txn);
    test_mdb_ok(rc, "keryu_store_txn_begin");

    key.mv_size = strlen(id);
    key.mv_data = (void *) id;
    val.mv_size = strlen(json);
    val.mv_data = (void *) json;

    rc = keryu_store_change(&t->st, txn, t->st.clients, &key, &val,
                            KERYU_META_CONFIG_VERSION);
    if (rc != 0) {
        mdb_txn_abort(txn);
    }

    test_mdb_ok(rc, "keryu_store_change");

    rc = mdb_txn_commit(txn);
    test_mdb_ok(rc, "mdb_txn_commit");
}


static void
test_client(test_t *t, const char *id, const char *secret_b64)
{
    char  json[512];

    snprintf(json, sizeof(json),
             "{\"id\":\"%s\",\"secret\":\"%s\",\"roles\":[\"ingest\","
             "\"read\"],\"created_at\":1699990000}", id, secret_b64);

    test_client_json(t, id, json);
}


static void
test_load(test_t *t)
{
    int       rc;
    char      err[256];
    MDB_txn  *txn;

    keryu_clients_free(t->c);
    t->c = NULL;

    rc = keryu_store_txn_begin(&t->st, MDB_RDONLY, &txn);
    test_mdb_ok(rc, "keryu_store_txn_begin");

    err[0] = '\0';
    t->c = keryu_clients_load(&t->st, txn, &rc, err, sizeof(err));

    mdb_txn_abort(txn);

    if (t->c == NULL) {
        fail_msg("keryu_clients_load() failed: %s (%s)", err,
                 keryu_store_strerror(rc));
    }
}


/* the request of the fixed vector, signed by TEST_VECTOR_SIG */

static void
test_req(keryu_sign_req_t *req)
{
    static char  ts[] = "1700000000";

    req->method = "GET";
    req->method_len = 3;
    req->path = "/v1/items/a%2Fb";
    req->path_len = strlen(req->path);
    req->query = "limit=10&q=x%20y";
    req->query_len = strlen(req->query);
    req->client = "batch-1";
    req->client_len = 7;
    req->timestamp = ts;
    req->timestamp_len = strlen(ts);
    req->nonce = "AbCdEfGh_-12345678";
    req->nonce_len = strlen(req->nonce);
    req->content_sha256 = TEST_EMPTY_SHA256;
    req->content_sha256_len = 64;
    req->signature = TEST_VECTOR_SIG;
    req->signature_len = strlen(TEST_VECTOR_SIG);
}


/*
 * signs req into sig (64 bytes) with the raw secret, independently of
 * keryu_sign.c: the canonical string built whole, OpenSSL's HMAC(), and
 * EVP_EncodeBlock() turned into unpadded base64url
 */

static void
test_sign(keryu_sign_req_t *req, const uint8_t *secret, size_t len,
    char *sig)
{
    int            i, n;
    char           cs[1024];
    uint8_t        md[EVP_MAX_MD_SIZE];
    unsigned int   mdlen;

    n = snprintf(cs, sizeof(cs), "%.*s\n%.*s\n%.*s\n%.*s\n%.*s\n%.*s",
                 (int) req->method_len, req->method,
                 (int) req->path_len, req->path,
                 (int) req->query_len, req->query,
                 (int) req->timestamp_len, req->timestamp,
                 (int) req->nonce_len, req->nonce,
                 (int) req->content_sha256_len, req->content_sha256);

    assert_true(n > 0 && (size_t) n < sizeof(cs));

    assert_non_null(HMAC(EVP_sha256(), secret, (int) len,
                         (const unsigned char *) cs, (size_t) n, md, &mdlen));
    assert_int_equal(mdlen, 32);

    n = EVP_EncodeBlock((unsigned char *) sig, md, 32);

    while (n > 0 && sig[n - 1] == '=') {
        n--;
    }

    for (i = 0; i < n; i++) {
        sig[i] = sig[i] == '+' ? '-' : (sig[i] == '/' ? '_' : sig[i]);
    }

    sig[n] = '\0';

    req->signature = sig;
    req->signature_len = (size_t) n;
}


static int
test_verify(test_t *t, const keryu_sign_req_t *req, int64_t now)
{
    const keryu_apikey_t  *client;

    return keryu_sign_verify(t->c, req, now, TEST_SKEW, &client);
}


static size_t
test_nonces(test_t *t)
{
    int        rc;
    MDB_txn   *txn;
    MDB_stat   ms;

    rc = keryu_store_txn_begin(&t->st, MDB_RDONLY, &txn);
    test_mdb_ok(rc, "keryu_store_txn_begin");

    rc = mdb_stat(txn, t->st.nonces, &ms);
    mdb_txn_abort(txn);
    test_mdb_ok(rc, "mdb_stat");

    return ms.ms_entries;
}


/* records one nonce in a transaction of its own; returns what it did */

static int
test_nonce(test_t *t, const char *client, const char *nonce, int64_t ts,
    int64_t now)
{
    int       rc, nrc;
    MDB_txn  *txn;

    rc = keryu_store_txn_begin(&t->st, 0, &txn);
    test_mdb_ok(rc, "keryu_store_txn_begin");

    nrc = keryu_sign_nonce(&t->st, txn, client, strlen(client), nonce,
                           strlen(nonce), ts, now, TEST_SKEW);

    if (nrc != 0) {
        mdb_txn_abort(txn);
        return nrc;
    }

    rc = mdb_txn_commit(txn);
    test_mdb_ok(rc, "mdb_txn_commit");

    return 0;
}


static void
fixed_vector_verifies(void **state)
{
    const keryu_apikey_t  *client;
    keryu_sign_req_t       req;
    test_t                *t = *state;

    test_client(t, "batch-1", TEST_SECRET_B64);
    test_load(t);

    assert_int_equal(keryu_clients_count(t->c), 1);

    test_req(&req);

    assert_int_equal(keryu_sign_verify(t->c, &req, TEST_TS, TEST_SKEW,
                                       &client),
                     KERYU_SIGN_OK);

    assert_non_null(client);
    assert_int_equal(client->name_len, 7);
    assert_memory_equal(client->name, "batch-1", 7);
    assert_int_equal(client->expires_at, 0);
    assert_int_equal(client->nroles, 2);
    assert_memory_equal(client->roles[0], "ingest", 6);
    assert_int_equal(client->role_lens[1], 4);
    assert_memory_equal(client->roles[1], "read", 4);
}


static void
canonical_form_matches_openssl(void **state)
{
    int               i;
    char              sig[64], body_hex[KERYU_SIGN_HEX_LEN];
    uint8_t           secret[32];
    keryu_sign_req_t  req;
    test_t           *t = *state;

    static const char  body[] = "{\"x\":1}";

    for (i = 0; i < 32; i++) {
        secret[i] = (uint8_t) i;
    }

    test_client(t, "batch-1", TEST_SECRET_B64);
    test_load(t);

    /* the fixed vector, signed here again */

    test_req(&req);
    test_sign(&req, secret, sizeof(secret), sig);
    assert_string_equal(sig, TEST_VECTOR_SIG);

    /* a POST with a body and no query */

    keryu_sign_sha256_hex(t->c, (const uint8_t *) body, sizeof(body) - 1,
                          body_hex);
    assert_string_equal(body_hex, "5041bf1f713df204784353e82f6a4a53"
                                  "5931cb64f1f4b4a5aeaffcb720918b22");

    req.method = "POST";
    req.method_len = 4;
    req.path = "/v1/events";
    req.path_len = strlen(req.path);
    req.query = "";
    req.query_len = 0;
    req.content_sha256 = body_hex;
    req.content_sha256_len = 64;

    test_sign(&req, secret, sizeof(secret), sig);
    assert_int_equal(test_verify(t, &req, TEST_TS), KERYU_SIGN_OK);

    /* the query moved into the path is another request */

    req.path = "/v1/events\n";
    req.path_len = strlen(req.path);
    assert_int_equal(test_verify(t, &req, TEST_TS), KERYU_SIGN_MALFORMED);
}


static void
bad_signature_refused(void **state)
{
    char              sig[64];
    uint8_t           other[32];
    keryu_sign_req_t  req;
    test_t           *t = *state;

    test_client(t, "batch-1", TEST_SECRET_B64);
    test_load(t);

    /* one digit changed, still canonical base64url */

    test_req(&req);
    memcpy(sig, TEST_VECTOR_SIG, sizeof(TEST_VECTOR_SIG));
    sig[0] = sig[0] == 'A' ? 'B' : 'A';
    req.signature = sig;
    assert_int_equal(test_verify(t, &req, TEST_TS),
                     KERYU_SIGN_BAD_SIGNATURE);

    /* signed with another secret */

    memset(other, 0xff, sizeof(other));
    test_req(&req);
    test_sign(&req, other, sizeof(other), sig);
    assert_int_equal(test_verify(t, &req, TEST_TS),
                     KERYU_SIGN_BAD_SIGNATURE);

    /* each signed part changed */

    test_req(&req);
    req.method = "PUT";
    assert_int_equal(test_verify(t, &req, TEST_TS),
                     KERYU_SIGN_BAD_SIGNATURE);

    test_req(&req);
    req.path = "/v1/items/a/b";
    req.path_len = strlen(req.path);
    assert_int_equal(test_verify(t, &req, TEST_TS),
                     KERYU_SIGN_BAD_SIGNATURE);

    test_req(&req);
    req.query_len = 0;
    assert_int_equal(test_verify(t, &req, TEST_TS),
                     KERYU_SIGN_BAD_SIGNATURE);

    test_req(&req);
    req.timestamp = "1700000001";
    assert_int_equal(test_verify(t, &req, TEST_TS),
                     KERYU_SIGN_BAD_SIGNATURE);

    test_req(&req);
    req.nonce = "AbCdEfGh_-12345679";
    assert_int_equal(test_verify(t, &req, TEST_TS),
                     KERYU_SIGN_BAD_SIGNATURE);

    test_req(&req);
    req.content_sha256 = "5041bf1f713df204784353e82f6a4a53"
                         "5931cb64f1f4b4a5aeaffcb720918b22";
    assert_int_equal(test_verify(t, &req, TEST_TS),
                     KERYU_SIGN_BAD_SIGNATURE);
}


static void
stale_timestamp_refused_both_ways(void **state)
{
    keryu_sign_req_t  req;
    test_t           *t = *state;

    test_client(t, "batch-1", TEST_SECRET_B64);
    test_load(t);

    test_req(&req);

    assert_int_equal(test_verify(t, &req, TEST_TS + TEST_SKEW),
                     KERYU_SIGN_OK);
    assert_int_equal(test_verify(t, &req, TEST_TS - TEST_SKEW),
                     KERYU_SIGN_OK);

    /* too old, and from too far in the future */

    assert_int_equal(test_verify(t, &req, TEST_TS + TEST_SKEW + 1),
                     KERYU_SIGN_STALE);
    assert_int_equal(test_verify(t, &req, TEST_TS - TEST_SKEW - 1),
                     KERYU_SIGN_STALE);

    assert_int_equal(test_verify(t, &req, INT64_MAX), KERYU_SIGN_STALE);
    assert_int_equal(test_verify(t, &req, INT64_MIN), KERYU_SIGN_STALE);

    /* a negative skew reads as 0 */

    assert_int_equal(keryu_sign_verify(t->c, &req, TEST_TS, -5,
                                       &(const keryu_apikey_t *) { NULL }),
                     KERYU_SIGN_OK);
    assert_int_equal(keryu_sign_verify(t->c, &req, TEST_TS + 1, -5,
                                       &(const keryu_apikey_t *) { NULL }),
                     KERYU_SIGN_STALE);

    assert_string_equal(keryu_sign_reason(KERYU_SIGN_STALE),
                        "stale timestamp");
}


static void
unknown_client_refused(void **state)
{
    const keryu_apikey_t  *client;
    keryu_sign_req_t       req;
    test_t                *t = *state;

    test_client(t, "batch-1", TEST_SECRET_B64);
    test_client(t, "batch-2", TEST_OTHER_B64);
    test_load(t);

    test_req(&req);
    req.client = "batch-3";
    assert_int_equal(keryu_sign_verify(t->c, &req, TEST_TS, TEST_SKEW,
                                       &client),
                     KERYU_SIGN_UNKNOWN);
    assert_null(client);

    req.client = "batch-";
    req.client_len = 6;
    assert_int_equal(test_verify(t, &req, TEST_TS), KERYU_SIGN_UNKNOWN);

    /* a known client with another secret */

    req.client = "batch-2";
    req.client_len = 7;
    assert_int_equal(test_verify(t, &req, TEST_TS),
                     KERYU_SIGN_BAD_SIGNATURE);

    assert_string_equal(keryu_sign_reason(KERYU_SIGN_UNKNOWN),
                        "unknown client");
}


static void
malformed_parts_refused(void **state)
{
    size_t            i;
    char              long_client[KERYU_SIGN_CLIENT_MAX + 2];
    keryu_sign_req_t  req;
    test_t           *t = *state;

    static const char  *nonces[] = {
        "AbCdEfGh_-12345",
        "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdefX",
        "AbCdEfGh+-12345678",
        "AbCdEfGh.-12345678",
        "AbCdEfGh -12345678",
        "",
    };

    static const char  *timestamps[] = {
        "", "-1700000000", "+1700000000", "1700000000.5", "17e8",
        " 1700000000", "1234567890123456789", "0x6553f100",
    };

    static const char  *sigs[] = {
        "",
        "VNg0w2O9VGs4dDXKiJUvovk0TAofj_CChM7_rGczqS",
        "VNg0w2O9VGs4dDXKiJUvovk0TAofj_CChM7_rGczqSE=",
        "VNg0w2O9VGs4dDXKiJUvovk0TAofj_CChM7_rGczqSF",
        "VNg0w2O9VGs4dDXKiJUvovk0TAofj/CChM7+rGczqSE",
        "VNg0w2O9VGs4dDXKiJUvovk0TAofj_CChM7_rGczq E",
    };

    static const char  *digests[] = {
        "",
        "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85",
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85g",
    };

    test_client(t, "batch-1", TEST_SECRET_B64);
    test_load(t);

    for (i = 0; i < sizeof(nonces) / sizeof(nonces[0]); i++) {
        test_req(&req);
        req.nonce = nonces[i];
        req.nonce_len = strlen(nonces[i]);
        assert_int_equal(test_verify(t, &req, TEST_TS), KERYU_SIGN_MALFORMED);
    }

    for (i = 0; i < sizeof(timestamps) / sizeof(timestamps[0]); i++) {
        test_req(&req);
        req.timestamp = timestamps[i];
        req.timestamp_len = strlen(timestamps[i]);
        assert_int_equal(test_verify(t, &req, TEST_TS), KERYU_SIGN_MALFORMED);
    }

    for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
        test_req(&req);
        req.signature = sigs[i];
        req.signature_len = strlen(sigs[i]);
        assert_int_equal(test_verify(t, &req, TEST_TS), KERYU_SIGN_MALFORMED);
    }

    for (i = 0; i < sizeof(digests) / sizeof(digests[0]); i++) {
        test_req(&req);
        req.content_sha256 = digests[i];
        req.content_sha256_len = strlen(digests[i]);
        assert_int_equal(test_verify(t, &req, TEST_TS), KERYU_SIGN_MALFORMED);
    }

    test_req(&req);
    req.method_len = 0;
    assert_int_equal(test_verify(t, &req, TEST_TS), KERYU_SIGN_MALFORMED);

    test_req(&req);
    req.path_len = 0;
    assert_int_equal(test_verify(t, &req, TEST_TS), KERYU_SIGN_MALFORMED);

    test_req(&req);
    req.query = "a=1\nb=2";
    req.query_len = 7;
    assert_int_equal(test_verify(t, &req, TEST_TS), KERYU_SIGN_MALFORMED);

    test_req(&req);
    req.client_len = 0;
    assert_int_equal(test_verify(t, &req, TEST_TS), KERYU_SIGN_MALFORMED);

    memset(long_client, 'c', sizeof(long_client));
    test_req(&req);
    req.client = long_client;
    req.client_len = KERYU_SIGN_CLIENT_MAX + 1;
    assert_int_equal(test_verify(t, &req, TEST_TS), KERYU_SIGN_MALFORMED);

    /* malformed wins over a stale time and an unknown client */

    test_req(&req);
    req.client = "nobody";
    req.client_len = 6;
    req.nonce_len = 3;
    assert_int_equal(test_verify(t, &req, 0), KERYU_SIGN_MALFORMED);

    assert_string_equal(keryu_sign_reason(KERYU_SIGN_MALFORMED), "malformed");
}


static void
bad_client_records_skipped(void **state)
{
    keryu_sign_req_t  req;
    test_t           *t = *state;

    /* 31 bytes of secret */
    test_client(t, "short", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg");

    /* padded, and not base64url */
    test_client(t, "padded", TEST_SECRET_B64 "=");
    test_client(t, "plus", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdH+8");

    test_client_json(t, "mismatch",
                     "{\"id\":\"other\",\"secret\":\"" TEST_SECRET_B64 "\","
                     "\"roles\":[],\"created_at\":1}");
    test_client_json(t, "extra",
                     "{\"id\":\"extra\",\"secret\":\"" TEST_SECRET_B64 "\","
                     "\"roles\":[],\"created_at\":1,\"expires_at\":null}");
    test_client_json(t, "noroles",
                     "{\"id\":\"noroles\",\"secret\":\"" TEST_SECRET_B64
                     "\",\"created_at\":1}");
    test_client_json(t, "broken", "{\"id\":\"broken\",");

    test_client(t, "batch-1", TEST_SECRET_B64);
    test_load(t);

    assert_int_equal(keryu_clients_count(t->c), 1);
    assert_int_equal(keryu_clients_skipped(t->c), 7);

    test_req(&req);
    assert_int_equal(test_verify(t, &req, TEST_TS), KERYU_SIGN_OK);

    req.client = "short";
    req.client_len = 5;
    assert_int_equal(test_verify(t, &req, TEST_TS), KERYU_SIGN_UNKNOWN);
}


static void
replayed_nonce_refused(void **state)
{
    test_t  *t = *state;

    assert_int_equal(test_nonce(t, "batch-1", "AbCdEfGh_-12345678", TEST_TS,
                                TEST_TS), 0);
    assert_int_equal(test_nonce(t, "batch-1", "AbCdEfGh_-12345678", TEST_TS,
                                TEST_TS + 10),
                     KERYU_SIGN_REPLAYED);

    /* to the end of the window */
    assert_int_equal(test_nonce(t, "batch-1", "AbCdEfGh_-12345678", TEST_TS,
                                TEST_TS + TEST_SKEW),
                     KERYU_SIGN_REPLAYED);

    /* the same nonce from another client is another entry */
    assert_int_equal(test_nonce(t, "batch-2", "AbCdEfGh_-12345678", TEST_TS,
                                TEST_TS), 0);

    assert_int_equal(test_nonces(t), 2);

    assert_string_equal(keryu_sign_reason(KERYU_SIGN_REPLAYED),
                        "replayed nonce");

    /* what verify would have refused */
    assert_int_equal(test_nonce(t, "batch-1", "short", TEST_TS, TEST_TS),
                     EINVAL);
    assert_int_equal(test_nonce(t, "", "AbCdEfGh_-12345679", TEST_TS,
                                TEST_TS), EINVAL);
}


static void
old_nonce_entry_not_a_replay(void **state)
{
    test_t  *t = *state;

    assert_int_equal(test_nonce(t, "batch-1", "AbCdEfGh_-12345678", TEST_TS,
                                TEST_TS), 0);

    /* past the window, the entry is overwritten with the new time */

    assert_int_equal(test_nonce(t, "batch-1", "AbCdEfGh_-12345678",
                                TEST_TS + TEST_SKEW + 1,
                                TEST_TS + TEST_SKEW + 1), 0);
    assert_int_equal(test_nonces(t), 1);

    assert_int_equal(test_nonce(t, "batch-1", "AbCdEfGh_-12345678",
                                TEST_TS + TEST_SKEW + 1,
                                TEST_TS + TEST_SKEW + 2),
                     KERYU_SIGN_REPLAYED);
}


static void
pruning_bounds_the_cache(void **state)
{
    int       i, rc;
    char      nonce[64];
    MDB_txn  *txn;
    test_t   *t = *state;

    /* 1000 entries at one time, in one transaction */

    rc = keryu_store_txn_begin(&t->st, 0, &txn);
    test_mdb_ok(rc, "keryu_store_txn_begin");

    for (i = 0; i < 1000; i++) {
        snprintf(nonce, sizeof(nonce), "old-nonce-%08d", i);

        rc = keryu_sign_nonce(&t->st, txn, "batch-1", 7, nonce,
                              strlen(nonce), TEST_TS, TEST_TS, TEST_SKEW);
        if (rc != 0) {
            mdb_txn_abort(txn);
        }

        test_mdb_ok(rc, "keryu_sign_nonce");
    }

    rc = mdb_txn_commit(txn);
    test_mdb_ok(rc, "mdb_txn_commit");

    assert_int_equal(test_nonces(t), 1000);

    /* later, each request deletes up to KERYU_SIGN_PRUNE of them */

    assert_int_equal(test_nonce(t, "batch-1", "new-nonce-00000000",
                                TEST_TS + 2 * TEST_SKEW,
                                TEST_TS + 2 * TEST_SKEW), 0);
    assert_int_equal(test_nonces(t), 1000 + 1 - KERYU_SIGN_PRUNE);

    for (i = 1; i < 100; i++) {
        snprintf(nonce, sizeof(nonce), "new-nonce-%08d", i);
        assert_int_equal(test_nonce(t, "batch-2", nonce,
                                    TEST_TS + 2 * TEST_SKEW,
                                    TEST_TS + 2 * TEST_SKEW), 0);
    }

    /* every old entry is gone, and the new ones are all there */

    assert_int_equal(test_nonces(t), 100);

    assert_int_equal(test_nonce(t, "batch-2", "new-nonce-00000050",
                                TEST_TS + 2 * TEST_SKEW,
                                TEST_TS + 2 * TEST_SKEW),
                     KERYU_SIGN_REPLAYED);
}


static void
body_digest_of_empty_body(void **state)
{
    char     hex[KERYU_SIGN_HEX_LEN];
    test_t  *t = *state;

    test_load(t);

    keryu_sign_sha256_hex(t->c, (const uint8_t *) "", 0, hex);
    assert_string_equal(hex, TEST_EMPTY_SHA256);

    assert_string_equal(keryu_sign_reason(KERYU_SIGN_DIGEST),
                        "body digest mismatch");
    assert_string_equal(keryu_sign_reason(KERYU_SIGN_BAD_SIGNATURE),
                        "bad signature");
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        test_case(fixed_vector_verifies),
        test_case(canonical_form_matches_openssl),
        test_case(bad_signature_refused),
        test_case(stale_timestamp_refused_both_ways),
        test_case(unknown_client_refused),
        test_case(malformed_parts_refused),
        test_case(bad_client_records_skipped),
        test_case(replayed_nonce_refused),
        test_case(old_nonce_entry_not_a_replay),
        test_case(pruning_bounds_the_cache),
        test_case(body_digest_of_empty_body),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
