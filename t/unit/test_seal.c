
/*
 * Copyright (C) Keryu Security
 *
 * Sealing personal fields: keryu_seal.h's sealer and opener, the record's
 * split into plain and personal parts and their join, and keryud's
 * keys_unseal_aad() opening what a worker sealed.
 */


#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "keryu_record.h"
#include "keryu_seal.h"


typedef struct {
    uint8_t             priv[KERYU_SEAL_KEY_LEN];
    uint8_t             pub[KERYU_SEAL_KEY_LEN];
} test_pair_t;


static void
test_pair(test_pair_t *p)
{
    size_t     len;
    EVP_PKEY  *pk;

    pk = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
    assert_non_null(pk);

    len = sizeof(p->priv);
    assert_int_equal(EVP_PKEY_get_raw_private_key(pk, p->priv, &len), 1);
    len = sizeof(p->pub);
    assert_int_equal(EVP_PKEY_get_raw_public_key(pk, p->pub, &len), 1);

    EVP_PKEY_free(pk);
}


/* opens a sealed value as keryud does: derive from its ephemeral key */

static int
test_open(const test_pair_t *p, const uint8_t *in, size_t len,
    const uint8_t *aad, size_t aadlen, uint8_t *out)
{
    uint8_t  key[KERYU_SEAL_KEY_LEN];

    if (len < KERYU_SEAL_OVERHEAD
        || keryu_seal_derive(p->priv, p->pub, in + 4, key) != 0)
    {
        return -1;
    }

    return keryu_seal_open(key, in, len, aad, aadlen, out);
}


static void
seal_then_open_round_trips(void **state)
{
    uint8_t           out[64 + KERYU_SEAL_OVERHEAD], pt[64];
    test_pair_t       p;
    keryu_sealer_t    s;
    static const char msg[] = "Mozilla/5.0 (sealed-agent-7731)";

    (void) state;

    test_pair(&p);

    assert_int_equal(keryu_sealer_init(&s), 0);

    /* no key yet: nothing is sealed */
    assert_int_equal(keryu_sealer_seal(&s, NULL, 0, (const uint8_t *) msg,
                                       sizeof(msg), out), -1);

    assert_int_equal(keryu_sealer_rekey(&s, 7, p.pub), 0);
    assert_int_equal(s.version, 7);

    assert_int_equal(keryu_sealer_seal(&s, (const uint8_t *) "aad", 3,
                                       (const uint8_t *) msg, sizeof(msg),
                                       out), 0);

    assert_int_equal(keryu_seal_version(out), 7);
    assert_null(memmem(out, sizeof(msg) + KERYU_SEAL_OVERHEAD, "sealed-agent",
                       12));

    assert_int_equal(test_open(&p, out, sizeof(msg) + KERYU_SEAL_OVERHEAD,
                               (const uint8_t *) "aad", 3, pt), 0);
    assert_memory_equal(pt, msg, sizeof(msg));

    /* an empty plaintext is sealed too: a tag alone */
    assert_int_equal(keryu_sealer_seal(&s, NULL, 0, NULL, 0, out), 0);
    assert_int_equal(test_open(&p, out, KERYU_SEAL_OVERHEAD, NULL, 0, pt), 0);

    keryu_sealer_free(&s);
}


static void
tampering_is_refused(void **state)
{
    size_t          i, len;
    uint8_t         out[32 + KERYU_SEAL_OVERHEAD], bad[sizeof(out)], pt[32];
    test_pair_t     p;
    keryu_sealer_t  s;

    (void) state;

    test_pair(&p);
    memset(pt, 'x', sizeof(pt));

    assert_int_equal(keryu_sealer_init(&s), 0);
    assert_int_equal(keryu_sealer_rekey(&s, 1, p.pub), 0);
    assert_int_equal(keryu_sealer_seal(&s, (const uint8_t *) "hdr", 3, pt,
                                       sizeof(pt), out), 0);

    len = sizeof(out);

    /* every single bit flipped anywhere, the version and key included */

    for (i = 0; i < len * 8; i++) {
        memcpy(bad, out, len);
        bad[i / 8] ^= (uint8_t) (1 << (i % 8));
        assert_int_equal(test_open(&p, bad, len, (const uint8_t *) "hdr", 3,
                                   pt), -1);
    }

    /* another AAD, a missing AAD, a cut value */

    assert_int_equal(test_open(&p, out, len, (const uint8_t *) "hdR", 3, pt),
                     -1);
    assert_int_equal(test_open(&p, out, len, NULL, 0, pt), -1);
    assert_int_equal(test_open(&p, out, len - 1, (const uint8_t *) "hdr", 3,
                               pt), -1);
    assert_int_equal(test_open(&p, out, KERYU_SEAL_OVERHEAD - 1,
                               (const uint8_t *) "hdr", 3, pt), -1);

    assert_int_equal(test_open(&p, out, len, (const uint8_t *) "hdr", 3, pt),
                     0);

    keryu_sealer_free(&s);
}


static void
wrong_key_or_version_is_refused(void **state)
{
    uint8_t         out[16 + KERYU_SEAL_OVERHEAD], pt[16];
    test_pair_t     p, q;
    keryu_sealer_t  s;

    (void) state;

    test_pair(&p);
    test_pair(&q);
    memset(pt, 'y', sizeof(pt));

    assert_int_equal(keryu_sealer_init(&s), 0);
    assert_int_equal(keryu_sealer_rekey(&s, 2, p.pub), 0);
    assert_int_equal(keryu_sealer_seal(&s, NULL, 0, pt, sizeof(pt), out), 0);

    /* the private key of another version does not open it */
    assert_int_equal(test_open(&q, out, sizeof(out), NULL, 0, pt), -1);

    /* a version number changed to another key's is caught by the tag */
    out[0] = 3;
    assert_int_equal(test_open(&p, out, sizeof(out), NULL, 0, pt), -1);
    out[0] = 2;
    assert_int_equal(test_open(&p, out, sizeof(out), NULL, 0, pt), 0);

    /* version 0 names no key */
    assert_int_equal(keryu_sealer_rekey(&s, 0, p.pub), -1);
    assert_int_equal(s.version, 0);
    assert_int_equal(keryu_sealer_seal(&s, NULL, 0, pt, sizeof(pt), out), -1);

    keryu_sealer_free(&s);
}


static int
test_cmp(const void *a, const void *b)
{
    return memcmp(a, b, KERYU_SEAL_NONCE_LEN);
}


static void
nonces_are_unique(void **state)
{
    size_t          i, n;
    uint8_t        *nonces, out[8 + KERYU_SEAL_OVERHEAD], pt[8];
    test_pair_t     p;
    keryu_sealer_t  s;

    (void) state;

    n = 20000;
    nonces = malloc(n * KERYU_SEAL_NONCE_LEN);
    assert_non_null(nonces);

    test_pair(&p);
    memset(pt, 0, sizeof(pt));

    assert_int_equal(keryu_sealer_init(&s), 0);

    /* across rekeying too: half under one ephemeral key, half another */

    for (i = 0; i < n; i++) {
        if (i == 0 || i == n / 2) {
            assert_int_equal(keryu_sealer_rekey(&s, 1, p.pub), 0);
        }

        assert_int_equal(keryu_sealer_seal(&s, NULL, 0, pt, sizeof(pt), out),
                         0);
        memcpy(nonces + i * KERYU_SEAL_NONCE_LEN, out + KERYU_SEAL_PREFIX_LEN,
               KERYU_SEAL_NONCE_LEN);
    }

    qsort(nonces, n / 2, KERYU_SEAL_NONCE_LEN, test_cmp);

    for (i = 1; i < n / 2; i++) {
        assert_true(memcmp(nonces + (i - 1) * KERYU_SEAL_NONCE_LEN,
                           nonces + i * KERYU_SEAL_NONCE_LEN,
                           KERYU_SEAL_NONCE_LEN) != 0);
    }

    /* the same plaintext seals differently each time */

    assert_int_equal(keryu_sealer_seal(&s, NULL, 0, pt, sizeof(pt), out), 0);
    assert_true(memcmp(out + KERYU_SEAL_PREFIX_LEN + KERYU_SEAL_NONCE_LEN,
                       pt, sizeof(pt)) != 0);

    keryu_sealer_free(&s);
    free(nonces);
}


static void
test_set(keryu_bytes_t *b, const char *s)
{
    b->len = strlen(s);
    b->data = (const uint8_t *) s;
}


/* a record sealed as the module seals it, opened as keryud opens it */

static void
sealed_record_round_trips(void **state)
{
    size_t           n, plen, slen;
    uint8_t          buf[KERYU_RECORD_SEALED_MAX_SIZE],
                     personal[KERYU_RECORD_PERSONAL_MAX],
                     opened[KERYU_RECORD_PERSONAL_MAX],
                     aad[KERYU_RECORD_SEALED_MAX_SIZE],
                     uri[KERYU_RECORD_URI_MAX];
    test_pair_t      p;
    keryu_record_t   rec, plain, out;
    keryu_sealer_t   s;

    (void) state;

    test_pair(&p);

    memset(&rec, 0, sizeof(keryu_record_t));
    rec.time_us = 1700000000000000ULL;
    rec.status = 200;
    rec.type = KERYU_EVENT_LOGIN;
    rec.addr_family = 4;
    memcpy(rec.addr, "\xc0\x00\x02\x07", 4);
    test_set(&rec.user, "alice");
    test_set(&rec.user_agent, "seal-agent/1.0");
    test_set(&rec.method, "POST");
    test_set(&rec.host, "shop.test");
    test_set(&rec.uri, "/login?email=alice%40example.test&x=1");
    test_set(&rec.details, "{\"rule\":\"r1\"}");

    plen = keryu_record_split(&rec, &plain, personal, KERYU_RECORD_F_SEALED);
    plain.sealed.len = plen + KERYU_SEAL_OVERHEAD;

    n = keryu_record_encode(&plain, buf);
    slen = n - plain.sealed.len;

    assert_int_equal(keryu_sealer_init(&s), 0);
    assert_int_equal(keryu_sealer_rekey(&s, 5, p.pub), 0);
    assert_int_equal(keryu_sealer_seal(&s, buf, slen, personal, plen,
                                       buf + slen), 0);
    keryu_sealer_free(&s);

    /* staged later, with its sequence number */
    keryu_record_set_seq(buf, 42);

    assert_int_equal(buf[0], KERYU_RECORD_VERSION_SEALED);
    assert_null(memmem(buf, n, "alice", 5));
    assert_null(memmem(buf, n, "seal-agent", 10));
    assert_null(memmem(buf, n, "email=", 6));
    assert_null(memmem(buf, n, "\xc0\x00\x02\x07", 4));
    assert_non_null(memmem(buf, n, "/login", 6));
    assert_non_null(memmem(buf, n, "shop.test", 9));

    assert_int_equal(keryu_record_decode(&out, buf, n), 0);
    assert_int_equal(out.seq, 42);
    assert_int_equal(out.status, 200);
    assert_int_equal(out.type, KERYU_EVENT_LOGIN);
    assert_int_equal(out.addr_family, 0);
    assert_int_equal(out.user.len, 0);
    assert_int_equal(out.uri.len, 6);
    assert_true(out.flags & KERYU_RECORD_F_SEALED);
    assert_int_equal(out.sealed.len, plen + KERYU_SEAL_OVERHEAD);

    keryu_record_aad(buf, n - out.sealed.len, aad);
    assert_int_equal(test_open(&p, out.sealed.data, out.sealed.len, aad,
                               n - out.sealed.len, opened), 0);

    /* the header is bound: another status does not open */
    aad[2] ^= 1;
    assert_int_equal(test_open(&p, out.sealed.data, out.sealed.len, aad,
                               n - out.sealed.len, opened), -1);
    aad[2] ^= 1;
    assert_int_equal(test_open(&p, out.sealed.data, out.sealed.len, aad,
                               n - out.sealed.len, opened), 0);

    assert_int_equal(keryu_record_join(&out, opened, plen, uri), 0);
    assert_int_equal(out.flags & KERYU_RECORD_F_LOCKED, 0);
    assert_int_equal(out.addr_family, 4);
    assert_memory_equal(out.addr, "\xc0\x00\x02\x07", 4);
    assert_int_equal(out.user.len, 5);
    assert_memory_equal(out.user.data, "alice", 5);
    assert_int_equal(out.user_agent.len, rec.user_agent.len);
    assert_memory_equal(out.user_agent.data, rec.user_agent.data,
                        rec.user_agent.len);
    assert_int_equal(out.uri.len, rec.uri.len);
    assert_memory_equal(out.uri.data, rec.uri.data, rec.uri.len);
    assert_int_equal(out.details.len, rec.details.len);

    /* a personal part that lies about its lengths does not join */
    assert_int_equal(keryu_record_decode(&out, buf, n), 0);
    opened[17] = 0xff;
    assert_int_equal(keryu_record_join(&out, opened, plen, uri), -1);
}


/* a header-only record: no sealed section, still version 2 */

static void
omitted_record_keeps_header_only(void **state)
{
    size_t           n;
    uint8_t          buf[KERYU_RECORD_SEALED_MAX_SIZE],
                     personal[KERYU_RECORD_PERSONAL_MAX];
    keryu_record_t   rec, plain, out;

    (void) state;

    memset(&rec, 0, sizeof(keryu_record_t));
    rec.status = 404;
    rec.addr_family = 4;
    memcpy(rec.addr, "\x0a\x01\x02\x03", 4);
    test_set(&rec.user, "bob");
    test_set(&rec.user_agent, "omit-agent");
    test_set(&rec.uri, "/a?b=c");

    (void) keryu_record_split(&rec, &plain, personal, KERYU_RECORD_F_OMITTED);
    n = keryu_record_encode(&plain, buf);

    assert_int_equal(buf[0], KERYU_RECORD_VERSION_SEALED);
    assert_null(memmem(buf, n, "omit-agent", 10));
    assert_null(memmem(buf, n, "bob", 3));
    assert_null(memmem(buf, n, "b=c", 3));

    assert_int_equal(keryu_record_decode(&out, buf, n), 0);
    assert_int_equal(out.flags, KERYU_RECORD_F_OMITTED);
    assert_int_equal(out.sealed.len, 0);
    assert_int_equal(out.status, 404);
    assert_int_equal(out.uri.len, 2);

    /* a sealed flag without a section, or a section without one, is bad */
    buf[5] = KERYU_RECORD_F_SEALED;
    assert_int_equal(keryu_record_decode(&out, buf, n), -1);

    /* and a version 1 record has no section to be sealed or encrypted */
    buf[0] = KERYU_RECORD_VERSION;
    assert_int_equal(keryu_record_decode(&out, buf, n), -1);
    buf[5] = KERYU_RECORD_F_ENCRYPTED;
    assert_int_equal(keryu_record_decode(&out, buf, n), -1);
    buf[5] = 0;
    assert_int_equal(keryu_record_decode(&out, buf, n), 0);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(seal_then_open_round_trips),
        cmocka_unit_test(tampering_is_refused),
        cmocka_unit_test(wrong_key_or_version_is_refused),
        cmocka_unit_test(nonces_are_unique),
        cmocka_unit_test(sealed_record_round_trips),
        cmocka_unit_test(omitted_record_keeps_header_only),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
