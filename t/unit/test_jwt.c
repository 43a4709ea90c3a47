
/*
 * Copyright (C) Keryu Security
 *
 * Tests of JWT verification.  Every test makes fresh keys and builds its
 * tokens here with OpenSSL: HS256 with HMAC(), RS256 with EVP_DigestSign()
 * and a new 2048-bit RSA key, ES256 with a new P-256 key and the DER
 * signature turned into JOSE's r || s.  They cover each reason a token is
 * refused, the algorithm confusion attacks, the claims read from a valid
 * token, loading keys from keys database values, and the cache of
 * verified tokens: what it answers must be what verification would.  Outside
 * AddressSanitizer builds, malloc() is wrapped to count the allocations
 * of a verification and to fail each allocation in turn.
 */


#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include "keryu_jwt.h"


#define NOW           1700000000
#define FLIP_NONE     (-1)

/*
 * Allocations one HS256 verification makes: the block holding the claims,
 * and two in OpenSSL's HMAC (EVP_MD_CTX_copy_ex() duplicates the SHA-256
 * state when the MAC is restarted and when it is finished).
 */
#define ALLOC_BUDGET  3


typedef struct {
    keryu_jwt_keys_t   *ks;
    keryu_jwt_opts_t    opts;
    keryu_jwt_t         jwt;
    uint8_t             secret[48];
    const uint8_t      *hkey;       /* what HS256 tokens are signed with */
    size_t              hkey_len;
    EVP_PKEY           *rsa;
    EVP_PKEY           *ec;
    char               *rsa_pem;
    char               *ec_pem;
    uint8_t             last_sig[512];  /* as signed, before any flip */
    size_t              last_sig_len;
} fixture_t;


/*
 * Counting allocations replaces malloc() for the whole program, forwarding
 * to glibc's own, and OpenSSL's allocator through CRYPTO_set_mem_functions,
 * so the count sees OpenSSL and yajl too; the nth allocation can be made
 * to fail.  The bytes held are tallied outside OpenSSL only, since OpenSSL
 * keeps caches and per-thread error buffers of its own.  Not under
 * AddressSanitizer, which must own malloc() itself.
 */

#if defined(__GLIBC__) && !defined(__SANITIZE_ADDRESS__)
#define COUNT_ALLOCS  1

#include <malloc.h>

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t size);
extern void __libc_free(void *p);

static int     alloc_counting;
static size_t  alloc_count;
static size_t  alloc_fail_at;   /* 0: none fails */
static size_t  alloc_held;      /* bytes, outside OpenSSL */


static int
alloc_fails(void)
{
    if (!alloc_counting) {
        return 0;
    }

    return ++alloc_count == alloc_fail_at;
}


void *
malloc(size_t size)
{
    void  *p;

    if (alloc_fails()) {
        return NULL;
    }

    p = __libc_malloc(size);
    alloc_held += malloc_usable_size(p);

    return p;
}


void *
calloc(size_t n, size_t size)
{
    void  *p;

    if (alloc_fails()) {
        return NULL;
    }

    p = __libc_calloc(n, size);
    alloc_held += malloc_usable_size(p);

    return p;
}


void *
realloc(void *p, size_t size)
{
    void    *n;
    size_t   old;

    if (alloc_fails()) {
        return NULL;
    }

    old = malloc_usable_size(p);

    n = __libc_realloc(p, size);

    if (n != NULL || size == 0) {
        alloc_held += malloc_usable_size(n) - old;
    }

    return n;
}


void
free(void *p)
{
    alloc_held -= malloc_usable_size(p);
    __libc_free(p);
}


static void *
ssl_malloc(size_t size, const char *file, int line)
{
    (void) file;
    (void) line;

    return alloc_fails() ? NULL : __libc_malloc(size);
}


static void *
ssl_realloc(void *p, size_t size, const char *file, int line)
{
    (void) file;
    (void) line;

    return alloc_fails() ? NULL : __libc_realloc(p, size);
}


static void
ssl_free(void *p, const char *file, int line)
{
    (void) file;
    (void) line;

    __libc_free(p);
}

#endif


static char *
b64url(const void *data, size_t len)
{
    int     n;
    char   *out, *p;

    out = malloc(4 * (len / 3 + 1) + 1);
    assert_non_null(out);

    n = EVP_EncodeBlock((unsigned char *) out, data, (int) len);

    while (n > 0 && out[n - 1] == '=') {
        n--;
    }

    out[n] = '\0';

    for (p = out; *p; p++) {
        if (*p == '+') {
            *p = '-';

        } else if (*p == '/') {
            *p = '_';
        }
    }

    return out;
}


static char *
concat3(const char *a, const char *b, const char *c)
{
    char  *s;

    s = malloc(strlen(a) + strlen(b) + strlen(c) + 3);
    assert_non_null(s);

    sprintf(s, "%s.%s.%s", a, b, c);

    return s;
}


static char *
pem_public(EVP_PKEY *pkey)
{
    BIO   *bio;
    char  *data, *pem;
    long   len;

    bio = BIO_new(BIO_s_mem());
    assert_non_null(bio);
    assert_int_equal(PEM_write_bio_PUBKEY(bio, pkey), 1);

    len = BIO_get_mem_data(bio, &data);
    pem = malloc(len + 1);
    assert_non_null(pem);
    memcpy(pem, data, len);
    pem[len] = '\0';

    BIO_free(bio);

    return pem;
}


static void
add_rsa(fixture_t *f, const char *kid)
{
    char  err[256];

    f->rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t) 2048);
    assert_non_null(f->rsa);
    f->rsa_pem = pem_public(f->rsa);

    if (keryu_jwt_keys_add_pem(f->ks, kid, "RS256", f->rsa_pem,
                               strlen(f->rsa_pem), err, sizeof(err))
        != 0)
    {
        fail_msg("keryu_jwt_keys_add_pem(): %s", err);
    }
}


static void
add_ec(fixture_t *f, const char *kid)
{
    char  err[256];

    f->ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    assert_non_null(f->ec);
    f->ec_pem = pem_public(f->ec);

    if (keryu_jwt_keys_add_pem(f->ks, kid, "ES256", f->ec_pem,
                               strlen(f->ec_pem), err, sizeof(err))
        != 0)
    {
        fail_msg("keryu_jwt_keys_add_pem(): %s", err);
    }
}


static void
add_hs(fixture_t *f, const char *kid)
{
    char  err[256];

    if (keryu_jwt_keys_add_secret(f->ks, kid, f->secret, sizeof(f->secret),
                                  err, sizeof(err))
        != 0)
    {
        fail_msg("keryu_jwt_keys_add_secret(): %s", err);
    }
}


/* signs with the fixture's key for alg, HMAC for any other; returns length */

static size_t
sign(fixture_t *f, const char *alg, const char *in, uint8_t *sig)
{
    size_t           len;
    EVP_PKEY        *pkey;
    ECDSA_SIG       *es;
    EVP_MD_CTX      *mctx;
    const BIGNUM    *r, *s;
    unsigned int     n;
    const uint8_t   *p;
    uint8_t          der[128];

    if (strcmp(alg, "RS256") != 0 && strcmp(alg, "ES256") != 0) {
        assert_non_null(HMAC(EVP_sha256(), f->hkey, (int) f->hkey_len,
                             (const uint8_t *) in, strlen(in), sig, &n));
        return n;
    }

    pkey = alg[0] == 'R' ? f->rsa : f->ec;
    assert_non_null(pkey);

    mctx = EVP_MD_CTX_new();
    assert_non_null(mctx);
    assert_int_equal(EVP_DigestSignInit(mctx, NULL, EVP_sha256(), NULL,
                                        pkey), 1);

    len = alg[0] == 'R' ? 512 : sizeof(der);
    assert_int_equal(EVP_DigestSign(mctx, alg[0] == 'R' ? sig : der, &len,
                                    (const uint8_t *) in, strlen(in)), 1);
    EVP_MD_CTX_free(mctx);

    if (alg[0] == 'R') {
        return len;
    }

    p = der;
    es = d2i_ECDSA_SIG(NULL, &p, (long) len);
    assert_non_null(es);

    ECDSA_SIG_get0(es, &r, &s);
    assert_int_equal(BN_bn2binpad(r, sig, 32), 32);
    assert_int_equal(BN_bn2binpad(s, sig + 32, 32), 32);
    ECDSA_SIG_free(es);

    return 64;
}


/*
 * Builds header.payload.signature, signed as sign_alg says.  flip names a
 * part (0 header, 1 payload, 2 signature) whose decoded bytes get one bit
 * flipped after signing: the third byte from the end of a JSON part, the
 * first byte of the signature.
 */

static char *
make_token(fixture_t *f, const char *sign_alg, const char *header,
    const char *payload, int flip)
{
    char      *h, *p, *s, *in, *tok, *text, *enc;
    size_t     siglen;
    uint8_t    sig[512];

    h = b64url(header, strlen(header));
    p = b64url(payload, strlen(payload));

    in = malloc(strlen(h) + strlen(p) + 2);
    assert_non_null(in);
    sprintf(in, "%s.%s", h, p);

    siglen = sign(f, sign_alg, in, sig);
    free(in);

    memcpy(f->last_sig, sig, siglen);
    f->last_sig_len = siglen;

    if (flip == 0 || flip == 1) {
        text = strdup(flip == 0 ? header : payload);
        assert_non_null(text);
        text[strlen(text) - 3] ^= 0x01;

        enc = b64url(text, strlen(text));
        free(text);

        if (flip == 0) {
            free(h);
            h = enc;

        } else {
            free(p);
            p = enc;
        }

    } else if (flip == 2) {
        sig[0] ^= 0x01;
    }

    s = b64url(sig, siglen);
    tok = concat3(h, p, s);

    free(h);
    free(p);
    free(s);

    return tok;
}


/* a token with the header {"alg":alg,"typ":"JWT"} signed as alg says */

static char *
token(fixture_t *f, const char *alg, const char *payload)
{
    char  header[128];

    snprintf(header, sizeof(header), "{\"alg\":\"%s\",\"typ\":\"JWT\"}", alg);

    return make_token(f, alg, header, payload, FLIP_NONE);
}


static int
verify(fixture_t *f, const char *tok, int64_t now)
{
    keryu_jwt_free(&f->jwt);

    return keryu_jwt_verify(f->ks, &f->opts, tok, strlen(tok), now, &f->jwt);
}


/* verifies and frees a token, expecting rc */

static void
expect(fixture_t *f, char *tok, int64_t now, int rc)
{
    int  got;

    got = verify(f, tok, now);

    if (got != rc) {
        fail_msg("token %s: \"%s\", expected \"%s\"", tok,
                 keryu_jwt_reason(got), keryu_jwt_reason(rc));
    }

    free(tok);
}


static int
setup(void **state)
{
    fixture_t  *f;

    f = calloc(1, sizeof(fixture_t));
    assert_non_null(f);

    f->ks = keryu_jwt_keys_create();
    assert_non_null(f->ks);

    assert_int_equal(RAND_bytes(f->secret, sizeof(f->secret)), 1);
    f->hkey = f->secret;
    f->hkey_len = sizeof(f->secret);

    f->opts.roles_claim = "roles";
    f->opts.max_len = 8192;

    *state = f;

    return 0;
}


static int
teardown(void **state)
{
    fixture_t  *f = *state;

    keryu_jwt_free(&f->jwt);
    keryu_jwt_keys_free(f->ks);
    EVP_PKEY_free(f->rsa);
    EVP_PKEY_free(f->ec);
    free(f->rsa_pem);
    free(f->ec_pem);
    free(f);

    return 0;
}


static void
valid_hs256_token_verifies(void **state)
{
    fixture_t  *f = *state;

    add_hs(f, "hs1");

    expect(f, token(f, "HS256", "{\"sub\":\"alice\",\"exp\":1700000060,"
                    "\"roles\":[\"admin\",\"ops\"]}"), NOW, KERYU_JWT_OK);

    assert_string_equal(f->jwt.sub, "alice");
    assert_int_equal(f->jwt.sub_len, 5);
    assert_string_equal(f->jwt.kid, "hs1");
    assert_int_equal(f->jwt.nroles, 2);
    assert_int_equal(f->jwt.role_lens[0], 5);
    assert_memory_equal(f->jwt.roles[0], "admin", 5);
    assert_int_equal(f->jwt.role_lens[1], 3);
    assert_memory_equal(f->jwt.roles[1], "ops", 3);
}


static void
valid_rs256_token_verifies(void **state)
{
    fixture_t  *f = *state;

    add_rsa(f, "rsa1");

    expect(f, make_token(f, "RS256", "{\"alg\":\"RS256\",\"kid\":\"rsa1\"}",
                         "{\"sub\":\"bob\"}", FLIP_NONE),
           NOW, KERYU_JWT_OK);

    assert_string_equal(f->jwt.sub, "bob");
    assert_string_equal(f->jwt.kid, "rsa1");
    assert_int_equal(f->jwt.nroles, 0);

    expect(f, token(f, "RS256", "{\"sub\":\"bob\"}"), NOW, KERYU_JWT_OK);
    assert_string_equal(f->jwt.kid, "rsa1");
}


static void
valid_es256_token_verifies(void **state)
{
    fixture_t  *f = *state;

    add_ec(f, "ec1");

    expect(f, make_token(f, "ES256", "{\"alg\":\"ES256\",\"kid\":\"ec1\"}",
                         "{\"sub\":\"carol\"}", FLIP_NONE),
           NOW, KERYU_JWT_OK);

    assert_string_equal(f->jwt.sub, "carol");
    assert_string_equal(f->jwt.kid, "ec1");
}


/*
 * r and s are 32 bytes each in JOSE but minimal integers in DER: a zero
 * first byte is dropped and a set top bit needs a zero before it.  Sign
 * until both shapes have been seen (a zero byte turns up once in 256).
 */

static void
es256_signatures_of_every_shape_verify(void **state)
{
    fixture_t  *f = *state;
    size_t      i;
    int         seen, shape;

    add_ec(f, "ec1");

    /* bits: r starts with zero, s does, r has its top bit set, s does */
    seen = 0;

    for (i = 0; i < 4000 && seen != 0x0f; i++) {
        expect(f, token(f, "ES256", "{\"sub\":\"carol\"}"), NOW,
               KERYU_JWT_OK);

        assert_int_equal(f->last_sig_len, 64);

        shape = (f->last_sig[0] == 0)
                | (f->last_sig[32] == 0) << 1
                | (f->last_sig[0] >= 0x80) << 2
                | (f->last_sig[32] >= 0x80) << 3;

        seen |= shape;
    }

    assert_int_equal(seen, 0x0f);
}


static void
expired_token_is_refused(void **state)
{
    fixture_t  *f = *state;

    add_hs(f, "hs1");

    expect(f, token(f, "HS256", "{\"sub\":\"a\",\"exp\":1699999999}"), NOW,
           KERYU_JWT_EEXPIRED);
    expect(f, token(f, "HS256", "{\"sub\":\"a\",\"exp\":1700000000}"), NOW,
           KERYU_JWT_EEXPIRED);
    expect(f, token(f, "HS256", "{\"sub\":\"a\",\"exp\":1700000001}"), NOW,
           KERYU_JWT_OK);
    expect(f, token(f, "HS256", "{\"sub\":\"a\",\"exp\":-5}"), NOW,
           KERYU_JWT_EEXPIRED);

    /* no exp: valid at any time */
    expect(f, token(f, "HS256", "{\"sub\":\"a\"}"), NOW, KERYU_JWT_OK);
    expect(f, token(f, "HS256", "{\"sub\":\"a\"}"), INT64_MAX, KERYU_JWT_OK);

    /* huge values are clamped, not overflowed */
    expect(f, token(f, "HS256", "{\"sub\":\"a\",\"exp\":1e300}"), NOW,
           KERYU_JWT_OK);
    expect(f, token(f, "HS256", "{\"sub\":\"a\",\"exp\":1e999}"), NOW,
           KERYU_JWT_OK);
    expect(f, token(f, "HS256",
                    "{\"sub\":\"a\",\"exp\":99999999999999999999999}"),
           NOW, KERYU_JWT_OK);
    expect(f, token(f, "HS256",
                    "{\"sub\":\"a\",\"nbf\":-99999999999999999999999}"),
           NOW, KERYU_JWT_OK);
    expect(f, token(f, "HS256",
                    "{\"sub\":\"a\",\"exp\":9223372036854775807}"),
           INT64_MAX, KERYU_JWT_EEXPIRED);
    expect(f, token(f, "HS256", "{\"sub\":\"a\",\"exp\":-1e300}"), NOW,
           KERYU_JWT_EEXPIRED);
}


static void
token_before_nbf_is_refused(void **state)
{
    fixture_t  *f = *state;

    add_hs(f, "hs1");

    expect(f, token(f, "HS256", "{\"sub\":\"a\",\"nbf\":1700000001}"), NOW,
           KERYU_JWT_ENOTYET);
    expect(f, token(f, "HS256", "{\"sub\":\"a\",\"nbf\":1700000000}"), NOW,
           KERYU_JWT_OK);
    expect(f, token(f, "HS256", "{\"sub\":\"a\",\"nbf\":1}"), NOW,
           KERYU_JWT_OK);
}


static void
leeway_applies_to_exp_and_nbf(void **state)
{
    fixture_t  *f = *state;

    add_hs(f, "hs1");
    f->opts.leeway = 30;

    expect(f, token(f, "HS256", "{\"sub\":\"a\",\"exp\":1699999971}"), NOW,
           KERYU_JWT_OK);
    expect(f, token(f, "HS256", "{\"sub\":\"a\",\"exp\":1699999970}"), NOW,
           KERYU_JWT_EEXPIRED);
    expect(f, token(f, "HS256", "{\"sub\":\"a\",\"nbf\":1700000030}"), NOW,
           KERYU_JWT_OK);
    expect(f, token(f, "HS256", "{\"sub\":\"a\",\"nbf\":1700000031}"), NOW,
           KERYU_JWT_ENOTYET);

    /* a negative leeway reads as none */
    f->opts.leeway = -100;

    expect(f, token(f, "HS256", "{\"sub\":\"a\",\"exp\":1700000001}"), NOW,
           KERYU_JWT_OK);
    expect(f, token(f, "HS256", "{\"sub\":\"a\",\"nbf\":1700000001}"), NOW,
           KERYU_JWT_ENOTYET);
}


static void
fractional_times_round_towards_refusal(void **state)
{
    fixture_t  *f = *state;

    add_hs(f, "hs1");

    expect(f, token(f, "HS256", "{\"sub\":\"a\",\"exp\":1700000000.5}"), NOW,
           KERYU_JWT_EEXPIRED);
    expect(f, token(f, "HS256", "{\"sub\":\"a\",\"exp\":1700000001.5}"), NOW,
           KERYU_JWT_OK);
    expect(f, token(f, "HS256", "{\"sub\":\"a\",\"nbf\":1699999999.5}"), NOW,
           KERYU_JWT_OK);
    expect(f, token(f, "HS256", "{\"sub\":\"a\",\"nbf\":1700000000.1}"), NOW,
           KERYU_JWT_ENOTYET);

    /* down and up, not towards zero */
    expect(f, token(f, "HS256", "{\"sub\":\"a\",\"exp\":-0.5}"), -1,
           KERYU_JWT_EEXPIRED);
    expect(f, token(f, "HS256", "{\"sub\":\"a\",\"nbf\":0.5}"), 0,
           KERYU_JWT_ENOTYET);
}


static void
exp_or_nbf_not_a_number_is_malformed(void **state)
{
    fixture_t  *f = *state;

    add_hs(f, "hs1");

    expect(f, token(f, "HS256", "{\"sub\":\"a\",\"exp\":\"1800000000\"}"),
           NOW, KERYU_JWT_EMALFORMED);
    expect(f, token(f, "HS256", "{\"sub\":\"a\",\"exp\":null}"), NOW,
           KERYU_JWT_EMALFORMED);
    expect(f, token(f, "HS256", "{\"sub\":\"a\",\"nbf\":[1]}"), NOW,
           KERYU_JWT_EMALFORMED);
}


static void
flipped_bit_in_any_part_breaks_the_signature(void **state)
{
    fixture_t   *f = *state;
    int          flip;
    size_t       i;
    const char  *header, *payload;

    static const char  *algs[] = { "HS256", "RS256", "ES256" };

    add_hs(f, "hs1");
    add_rsa(f, "rsa1");
    add_ec(f, "ec1");

    payload = "{\"sub\":\"alice\"}";

    for (i = 0; i < 3; i++) {
        header = i == 0 ? "{\"alg\":\"HS256\",\"typ\":\"JWT\"}"
                        : i == 1 ? "{\"alg\":\"RS256\",\"typ\":\"JWT\"}"
                                 : "{\"alg\":\"ES256\",\"typ\":\"JWT\"}";

        expect(f, make_token(f, algs[i], header, payload, FLIP_NONE), NOW,
               KERYU_JWT_OK);

        for (flip = 0; flip < 3; flip++) {
            expect(f, make_token(f, algs[i], header, payload, flip), NOW,
                   KERYU_JWT_ESIGNATURE);
        }
    }
}


static void
signature_of_wrong_length_is_bad(void **state)
{
    fixture_t  *f = *state;
    char       *tok;

    add_hs(f, "hs1");

    tok = token(f, "HS256", "{\"sub\":\"a\"}");

    /* 43 digits cut to 40: 30 bytes, still canonical */
    tok[strlen(tok) - 3] = '\0';
    expect(f, tok, NOW, KERYU_JWT_ESIGNATURE);
}


static void
alg_none_is_refused_in_any_case(void **state)
{
    fixture_t   *f = *state;
    char        *h, *p, *tok;
    size_t       i;

    static const char  *headers[] = {
        "{\"alg\":\"none\"}",
        "{\"alg\":\"None\"}",
        "{\"alg\":\"NONE\"}",
        "{\"alg\":\"nOnE\",\"typ\":\"JWT\"}",
        "{\"alg\":\"none\",\"kid\":\"hs1\"}"
    };

    add_hs(f, "hs1");

    p = b64url("{\"sub\":\"admin\"}", 15);

    for (i = 0; i < sizeof(headers) / sizeof(headers[0]); i++) {
        h = b64url(headers[i], strlen(headers[i]));

        /* the classic form has an empty signature */
        tok = concat3(h, p, "");
        expect(f, tok, NOW, KERYU_JWT_EALGNONE);

        tok = concat3(h, p, "c2lnbmF0dXJl");
        expect(f, tok, NOW, KERYU_JWT_EALGNONE);

        free(h);
    }

    free(p);

    /* signed as HS256 but called none: still refused */
    expect(f, make_token(f, "HS256", "{\"alg\":\"none\"}", "{\"sub\":\"a\"}",
                         FLIP_NONE),
           NOW, KERYU_JWT_EALGNONE);
}


static void
unsupported_alg_is_refused(void **state)
{
    fixture_t   *f = *state;
    size_t       i;

    static const char  *headers[] = {
        "{\"alg\":\"HS512\"}",
        "{\"alg\":\"hs256\"}",
        "{\"alg\":\"PS256\"}",
        "{\"alg\":\"nonE \"}",
        "{\"alg\":\"non\"}",
        "{\"alg\":\"\"}"
    };

    add_hs(f, "hs1");

    for (i = 0; i < sizeof(headers) / sizeof(headers[0]); i++) {
        expect(f, make_token(f, "HS256", headers[i], "{\"sub\":\"a\"}",
                             FLIP_NONE),
               NOW, KERYU_JWT_EALG);
    }

    expect(f, make_token(f, "HS256", "{\"typ\":\"JWT\"}", "{\"sub\":\"a\"}",
                         FLIP_NONE),
           NOW, KERYU_JWT_EMALFORMED);
    expect(f, make_token(f, "HS256", "{\"alg\":256}", "{\"sub\":\"a\"}",
                         FLIP_NONE),
           NOW, KERYU_JWT_EMALFORMED);
}


static void
header_fields_are_checked(void **state)
{
    fixture_t  *f = *state;

    add_hs(f, "hs1");

    expect(f, make_token(f, "HS256", "{\"alg\":\"HS256\",\"kid\":7}",
                         "{\"sub\":\"a\"}", FLIP_NONE),
           NOW, KERYU_JWT_EMALFORMED);
    expect(f, make_token(f, "HS256", "{\"alg\":\"HS256\",\"typ\":null}",
                         "{\"sub\":\"a\"}", FLIP_NONE),
           NOW, KERYU_JWT_EMALFORMED);
    expect(f, make_token(f, "HS256",
                         "{\"alg\":\"HS256\",\"crit\":[\"b64\"],\"b64\":false}",
                         "{\"sub\":\"a\"}", FLIP_NONE),
           NOW, KERYU_JWT_ECRIT);
    expect(f, make_token(f, "HS256",
                         "{\"alg\":\"HS256\",\"alg\":\"HS256\"}",
                         "{\"sub\":\"a\"}", FLIP_NONE),
           NOW, KERYU_JWT_EMALFORMED);

    /* 33 values, counting those in an array, the last a scalar or not */
    expect(f, make_token(f, "HS256",
                         "{\"alg\":\"HS256\",\"x\":[1,2,3,4,5,6,7,8,9,0,1,2,3,"
                         "4,5,6,7,8,9,0,1,2,3,4,5,6,7,8,9,0,1]}",
                         "{\"sub\":\"a\"}", FLIP_NONE),
           NOW, KERYU_JWT_EMALFORMED);
    expect(f, make_token(f, "HS256",
                         "{\"alg\":\"HS256\",\"x\":[1,2,3,4,5,6,7,8,9,0,1,2,3,"
                         "4,5,6,7,8,9,0,1,2,3,4,5,6,7,8,9,0],\"y\":{}}",
                         "{\"sub\":\"a\"}", FLIP_NONE),
           NOW, KERYU_JWT_EMALFORMED);
    expect(f, make_token(f, "HS256",
                         "{\"alg\":\"HS256\",\"x\":[1,2,3,4,5,6,7,8,9,0,1,2,3,"
                         "4,5,6,7,8,9,0,1,2,3,4,5,6,7,8,9,0]}",
                         "{\"sub\":\"a\"}", FLIP_NONE),
           NOW, KERYU_JWT_OK);

    /* an embedded key is ignored, never trusted */
    expect(f, make_token(f, "HS256",
                         "{\"alg\":\"HS256\",\"typ\":\"at+jwt\","
                         "\"jwk\":{\"kty\":\"oct\",\"k\":\"AAAA\"}}",
                         "{\"sub\":\"a\"}", FLIP_NONE),
           NOW, KERYU_JWT_OK);
}


static void
kid_picks_the_key_and_its_alg_must_match(void **state)
{
    fixture_t  *f = *state;

    add_hs(f, "hs1");
    add_ec(f, "ec1");

    expect(f, make_token(f, "HS256", "{\"alg\":\"HS256\",\"kid\":\"hs1\"}",
                         "{\"sub\":\"a\"}", FLIP_NONE),
           NOW, KERYU_JWT_OK);
    expect(f, make_token(f, "HS256", "{\"alg\":\"HS256\",\"kid\":\"ec1\"}",
                         "{\"sub\":\"a\"}", FLIP_NONE),
           NOW, KERYU_JWT_EMISMATCH);
    expect(f, make_token(f, "ES256", "{\"alg\":\"ES256\",\"kid\":\"hs1\"}",
                         "{\"sub\":\"a\"}", FLIP_NONE),
           NOW, KERYU_JWT_EMISMATCH);
    expect(f, make_token(f, "ES256", "{\"alg\":\"RS256\",\"kid\":\"ec1\"}",
                         "{\"sub\":\"a\"}", FLIP_NONE),
           NOW, KERYU_JWT_EMISMATCH);
}


/*
 * The classic confusion: the attacker signs with HMAC keyed by the RSA
 * public key's PEM, which is public, and claims HS256.
 */

static void
rsa_public_key_is_never_an_hmac_secret(void **state)
{
    fixture_t  *f = *state;

    add_rsa(f, "rsa1");

    f->hkey = (const uint8_t *) f->rsa_pem;
    f->hkey_len = strlen(f->rsa_pem);

    expect(f, make_token(f, "HS256", "{\"alg\":\"HS256\",\"kid\":\"rsa1\"}",
                         "{\"sub\":\"admin\"}", FLIP_NONE),
           NOW, KERYU_JWT_EMISMATCH);

    /* without a kid only HS256 keys are tried, and there are none */
    expect(f, token(f, "HS256", "{\"sub\":\"admin\"}"), NOW, KERYU_JWT_EKEY);

    /* with an unrelated HS256 key present, the RSA key is still skipped */
    add_hs(f, "hs1");
    expect(f, token(f, "HS256", "{\"sub\":\"admin\"}"), NOW,
           KERYU_JWT_ESIGNATURE);

    /* while the real secret verifies */
    f->hkey = f->secret;
    f->hkey_len = sizeof(f->secret);
    expect(f, token(f, "HS256", "{\"sub\":\"admin\"}"), NOW, KERYU_JWT_OK);
}


static void
unknown_kid_is_refused(void **state)
{
    fixture_t  *f = *state;
    char        header[512];

    add_hs(f, "hs1");

    expect(f, make_token(f, "HS256", "{\"alg\":\"HS256\",\"kid\":\"hs2\"}",
                         "{\"sub\":\"a\"}", FLIP_NONE),
           NOW, KERYU_JWT_EKEY);
    expect(f, make_token(f, "HS256", "{\"alg\":\"HS256\",\"kid\":\"\"}",
                         "{\"sub\":\"a\"}", FLIP_NONE),
           NOW, KERYU_JWT_EKEY);
    expect(f, make_token(f, "HS256", "{\"alg\":\"HS256\",\"kid\":\"hs1 \"}",
                         "{\"sub\":\"a\"}", FLIP_NONE),
           NOW, KERYU_JWT_EKEY);

    snprintf(header, sizeof(header), "{\"alg\":\"HS256\",\"kid\":\"%0300d\"}",
             1);
    expect(f, make_token(f, "HS256", header, "{\"sub\":\"a\"}", FLIP_NONE),
           NOW, KERYU_JWT_EKEY);

    /* no keys of the alg at all */
    expect(f, make_token(f, "HS256", "{\"alg\":\"RS256\"}", "{\"sub\":\"a\"}",
                         FLIP_NONE),
           NOW, KERYU_JWT_EKEY);
}


static void
without_kid_each_key_of_the_alg_is_tried(void **state)
{
    fixture_t  *f = *state;
    char        err[256];
    uint8_t     other[32];

    assert_int_equal(RAND_bytes(other, sizeof(other)), 1);
    assert_int_equal(keryu_jwt_keys_add_secret(f->ks, "old", other,
                                               sizeof(other), err,
                                               sizeof(err)), 0);
    add_ec(f, "ec1");
    add_hs(f, "new");

    expect(f, token(f, "HS256", "{\"sub\":\"a\"}"), NOW, KERYU_JWT_OK);
    assert_string_equal(f->jwt.kid, "new");

    f->hkey = other;
    f->hkey_len = sizeof(other);

    expect(f, token(f, "HS256", "{\"sub\":\"a\"}"), NOW, KERYU_JWT_OK);
    assert_string_equal(f->jwt.kid, "old");

    expect(f, token(f, "ES256", "{\"sub\":\"a\"}"), NOW, KERYU_JWT_OK);
    assert_string_equal(f->jwt.kid, "ec1");
}


static void
audience_must_match_when_configured(void **state)
{
    fixture_t  *f = *state;

    add_hs(f, "hs1");

    /* not configured: anything goes */
    expect(f, token(f, "HS256", "{\"sub\":\"a\",\"aud\":\"other\"}"), NOW,
           KERYU_JWT_OK);

    f->opts.audience = "api";

    expect(f, token(f, "HS256", "{\"sub\":\"a\",\"aud\":\"api\"}"), NOW,
           KERYU_JWT_OK);
    expect(f, token(f, "HS256", "{\"sub\":\"a\",\"aud\":[\"x\",\"api\"]}"),
           NOW, KERYU_JWT_OK);
    expect(f, token(f, "HS256", "{\"sub\":\"a\",\"aud\":\"other\"}"), NOW,
           KERYU_JWT_EAUDIENCE);
    expect(f, token(f, "HS256", "{\"sub\":\"a\",\"aud\":\"api2\"}"), NOW,
           KERYU_JWT_EAUDIENCE);
    expect(f, token(f, "HS256", "{\"sub\":\"a\",\"aud\":[\"x\",\"y\"]}"), NOW,
           KERYU_JWT_EAUDIENCE);
    expect(f, token(f, "HS256", "{\"sub\":\"a\",\"aud\":[]}"), NOW,
           KERYU_JWT_EAUDIENCE);
    expect(f, token(f, "HS256", "{\"sub\":\"a\",\"aud\":[[\"api\"],1]}"), NOW,
           KERYU_JWT_EAUDIENCE);
    expect(f, token(f, "HS256", "{\"sub\":\"a\",\"aud\":{\"api\":1}}"), NOW,
           KERYU_JWT_EAUDIENCE);
    expect(f, token(f, "HS256", "{\"sub\":\"a\"}"), NOW, KERYU_JWT_EAUDIENCE);
}


static void
issuer_must_match_when_configured(void **state)
{
    fixture_t  *f = *state;

    add_hs(f, "hs1");
    f->opts.issuer = "https://idp.example";

    expect(f, token(f, "HS256",
                    "{\"sub\":\"a\",\"iss\":\"https://idp.example\"}"),
           NOW, KERYU_JWT_OK);
    expect(f, token(f, "HS256",
                    "{\"sub\":\"a\",\"iss\":\"https://evil.example\"}"),
           NOW, KERYU_JWT_EISSUER);
    expect(f, token(f, "HS256",
                    "{\"sub\":\"a\",\"iss\":\"https://idp.example/\"}"),
           NOW, KERYU_JWT_EISSUER);
    expect(f, token(f, "HS256",
                    "{\"sub\":\"a\",\"iss\":[\"https://idp.example\"]}"),
           NOW, KERYU_JWT_EISSUER);
    expect(f, token(f, "HS256", "{\"sub\":\"a\"}"), NOW, KERYU_JWT_EISSUER);
}


static void
malformed_base64_is_refused(void **state)
{
    fixture_t   *f = *state;
    char        *good, *tok, *dot, *last;
    size_t       i;

    static const char  alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                    "abcdefghijklmnopqrstuvwxyz0123456789-_";

    static const char  *bad[] = {
        "",
        ".",
        "..",
        "...",
        "abc",
        "abc.def",
        "a.b.c.d",
        ".eyJzdWIiOiJhIn0.c2ln",
        "eyJhbGciOiJIUzI1NiJ9..c2ln",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0.",
        "eyJhbGciOiJIUzI1NiJ9=.eyJzdWIiOiJhIn0.c2ln",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0=.c2ln",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0.c2lnbg==",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln+w",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln/w",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0.c2l n",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0.c2lnb",
        "eyJhbGciOiJIUzI1NiJ9 .eyJzdWIiOiJhIn0.c2ln",
        "eyJhbGciOiJIUzI1NiJ9\n.eyJzdWIiOiJhIn0.c2ln",
        "eyJhbGciOiJIUzI1NiJ9x.eyJzdWIiOiJhIn0.c2ln",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0.c2lnbh",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0.c2lnbmF"
    };

    add_hs(f, "hs1");

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        tok = strdup(bad[i]);
        assert_non_null(tok);
        expect(f, tok, NOW, KERYU_JWT_EMALFORMED);
    }

    /* a good token with its signature spoiled in each of those ways */
    good = token(f, "HS256", "{\"sub\":\"a\"}");
    dot = strrchr(good, '.');

    tok = malloc(strlen(good) + 3);
    assert_non_null(tok);
    sprintf(tok, "%s==", good);
    expect(f, tok, NOW, KERYU_JWT_EMALFORMED);

    /* 32 bytes: 43 digits, the last with 2 unused bits; set the lowest */
    assert_int_equal(strlen(dot + 1), 43);
    tok = strdup(good);
    assert_non_null(tok);
    last = tok + strlen(tok) - 1;
    *last = alphabet[(strchr(alphabet, *last) - alphabet) ^ 1];
    expect(f, tok, NOW, KERYU_JWT_EMALFORMED);

    tok = strdup(good);
    assert_non_null(tok);
    tok[dot + 1 - good] = '*';
    expect(f, tok, NOW, KERYU_JWT_EMALFORMED);

    expect(f, good, NOW, KERYU_JWT_OK);
}


static void
json_that_is_not_an_object_is_refused(void **state)
{
    fixture_t   *f = *state;
    char        *h, *p, *tok, payload[128];
    size_t       i, n, depth;
    uint8_t      sig[32];

    static const char  *headers[] = {
        "[\"alg\",\"HS256\"]",
        "\"HS256\"",
        "256",
        "null",
        "{\"alg\":\"HS256\"",
        "{\"alg\":\"HS256\"}{}",
        "{\"alg\":\"HS256\"} x",
        "{\"alg\":\"HS256\" /* c */}",
        "{alg:\"HS256\"}",
        "",
        " "
    };

    static const char  *payloads[] = {
        "[\"sub\",\"a\"]",
        "\"a\"",
        "1",
        "true",
        "{\"sub\":\"a\"",
        "{\"sub\":\"a\"}garbage",
        "{\"sub\":\"a\"}// c",
        "{\"sub\":\"a\",\"sub\":\"admin\"}",
        "{\"sub\":\"admin\\u0000x\"}",
        "{\"sub\":\"a\",\"x\":\"\\u0000\"}",
        "{\"sub\":\"a\",\"o\":{\"k\\u0000\":1}}",
        "{\"sub\":\"a\",\"o\":{\"k\":\"\\u0000\"}}",
        "{\"sub\":\"a\",\"o\":[[\"\\u0000\"]]}",
        "{\"sub\":\"a\",\"x\":\"\xff\"}"
    };

    add_hs(f, "hs1");

    for (i = 0; i < sizeof(headers) / sizeof(headers[0]); i++) {
        expect(f, make_token(f, "HS256", headers[i], "{\"sub\":\"a\"}",
                             FLIP_NONE),
               NOW, KERYU_JWT_EMALFORMED);
    }

    for (i = 0; i < sizeof(payloads) / sizeof(payloads[0]); i++) {
        expect(f, make_token(f, "HS256", "{\"alg\":\"HS256\"}", payloads[i],
                             FLIP_NONE),
               NOW, KERYU_JWT_EMALFORMED);
    }

    /* an escaped backslash before u0000 is text */
    expect(f, make_token(f, "HS256", "{\"alg\":\"HS256\"}",
                         "{\"sub\":\"a\\\\u0000\"}", FLIP_NONE),
           NOW, KERYU_JWT_OK);
    assert_string_equal(f->jwt.sub, "a\\u0000");

    /* nesting: the claims object and 31 arrays in it pass, 32 do not */
    for (depth = 31; depth <= 32; depth++) {
        n = sprintf(payload, "{\"sub\":\"a\",\"x\":");
        memset(payload + n, '[', depth);
        memset(payload + n + depth, ']', depth);
        strcpy(payload + n + 2 * depth, "}");

        expect(f, make_token(f, "HS256", "{\"alg\":\"HS256\"}", payload,
                             FLIP_NONE),
               NOW, depth == 31 ? KERYU_JWT_OK : KERYU_JWT_EMALFORMED);
    }

    /* a NUL byte in the decoded header, or in signed claims */
    h = b64url("{\"alg\":\"HS256\"}\0{", 17);
    p = b64url("{\"sub\":\"a\"}", 11);
    tok = concat3(h, p, "c2ln");
    expect(f, tok, NOW, KERYU_JWT_EMALFORMED);
    free(h);
    free(p);

    h = b64url("{\"alg\":\"HS256\"}", 15);
    p = b64url("{\"sub\":\"a\"}\0x", 13);
    snprintf(payload, sizeof(payload), "%s.%s", h, p);
    n = sign(f, "HS256", payload, sig);
    free(h);
    h = b64url(sig, n);
    tok = malloc(strlen(payload) + strlen(h) + 2);
    assert_non_null(tok);
    sprintf(tok, "%s.%s", payload, h);
    expect(f, tok, NOW, KERYU_JWT_EMALFORMED);
    free(h);
    free(p);

    expect(f, make_token(f, "HS256", "{\"alg\":\"HS256\"}", "{}", FLIP_NONE),
           NOW, KERYU_JWT_ESUBJECT);
}


static void
overlong_token_is_refused_before_any_work(void **state)
{
    fixture_t  *f = *state;
    char       *tok;
    size_t      len;

    add_hs(f, "hs1");

    len = 64 * 1024;
    tok = malloc(len + 1);
    assert_non_null(tok);
    memset(tok, 'A', len);
    tok[1000] = '.';
    tok[40000] = '.';
    tok[len] = '\0';

    assert_int_equal(verify(f, tok, NOW), KERYU_JWT_ETOOLONG);

    f->opts.max_len = 0;
    assert_int_equal(verify(f, tok, NOW), KERYU_JWT_ETOOLONG);

    /* allowed in, it is decoded off the stack and fails cleanly */
    f->opts.max_len = 128 * 1024;
    assert_int_equal(verify(f, tok, NOW), KERYU_JWT_EMALFORMED);

    /* the header alone is capped */
    tok[1000] = 'A';
    tok[2000] = '.';
    assert_int_equal(verify(f, tok, NOW), KERYU_JWT_EMALFORMED);

    free(tok);
}


static void
max_len_is_inclusive_and_big_tokens_verify(void **state)
{
    fixture_t  *f = *state;
    char       *payload, *tok;
    size_t      len;

    add_hs(f, "hs1");

    payload = malloc(6100);
    assert_non_null(payload);
    memset(payload, 'x', 6100);
    memcpy(payload, "{\"sub\":\"a\",\"pad\":\"", 18);
    memcpy(payload + 6100 - 3, "\"}", 3);

    tok = token(f, "HS256", payload);
    free(payload);

    len = strlen(tok);
    assert_true(len > 8000);

    f->opts.max_len = len - 1;
    assert_int_equal(verify(f, tok, NOW), KERYU_JWT_ETOOLONG);

    f->opts.max_len = len;
    assert_int_equal(verify(f, tok, NOW), KERYU_JWT_OK);
    assert_string_equal(f->jwt.sub, "a");

    free(tok);
}


/*
 * yajl's buffer for escaped strings starts at 2 KiB in the stack arena;
 * these strings move it to the heap and grow it there
 */

static void
long_escaped_strings_are_read(void **state)
{
    fixture_t   *f = *state;
    char        *payload, *value, *p;
    size_t       i, n;

    static const size_t  lens[] = { 9000, 9000 };

    add_hs(f, "hs1");
    f->opts.max_len = 65536;

    payload = malloc(20000);
    value = malloc(10000);
    assert_non_null(payload);
    assert_non_null(value);

    for (n = 0; n < 2; n++) {
        p = payload + sprintf(payload, "{\"sub\":\"a\",\"note\":\"");

        /* an escape every 100 bytes, or only at the start */
        for (i = 0; i < lens[n]; i++) {
            if (n == 0 ? i % 100 == 0 : i == 0) {
                *p++ = '\\';
                *p++ = 'n';
                value[i] = '\n';

            } else {
                *p++ = 'x';
                value[i] = 'x';
            }
        }

        strcpy(p, "\"}");

        expect(f, token(f, "HS256", payload), NOW, KERYU_JWT_OK);
        assert_true(keryu_jwt_claim_has(&f->jwt, "note", 4, value, lens[n]));
        assert_false(keryu_jwt_claim_has(&f->jwt, "note", 4, value,
                                         lens[n] - 1));
    }

    free(payload);
    free(value);
}


static void
missing_subject_is_refused(void **state)
{
    fixture_t  *f = *state;

    add_hs(f, "hs1");

    expect(f, token(f, "HS256", "{\"name\":\"a\"}"), NOW, KERYU_JWT_ESUBJECT);
    expect(f, token(f, "HS256", "{\"sub\":\"\"}"), NOW, KERYU_JWT_ESUBJECT);
    expect(f, token(f, "HS256", "{\"sub\":42}"), NOW, KERYU_JWT_ESUBJECT);
    expect(f, token(f, "HS256", "{\"sub\":null}"), NOW, KERYU_JWT_ESUBJECT);
    expect(f, token(f, "HS256", "{\"sub\":[\"a\"]}"), NOW,
           KERYU_JWT_ESUBJECT);
}


static void
roles_come_from_an_array_or_a_string(void **state)
{
    fixture_t  *f = *state;
    char        payload[4096];
    size_t      i, n;

    add_hs(f, "hs1");

    /* entries that are not strings, and empty ones, are skipped */
    expect(f, token(f, "HS256", "{\"sub\":\"a\",\"roles\":[\"admin\",1,null,"
                    "\"\",{\"x\":\"y\"},[\"z\"],\"viewer\"]}"),
           NOW, KERYU_JWT_OK);
    assert_int_equal(f->jwt.nroles, 2);
    assert_int_equal(f->jwt.role_lens[0], 5);
    assert_memory_equal(f->jwt.roles[0], "admin", 5);
    assert_int_equal(f->jwt.role_lens[1], 6);
    assert_memory_equal(f->jwt.roles[1], "viewer", 6);

    expect(f, token(f, "HS256",
                    "{\"sub\":\"a\",\"roles\":\"  read  write admin \"}"),
           NOW, KERYU_JWT_OK);
    assert_int_equal(f->jwt.nroles, 3);
    assert_int_equal(f->jwt.role_lens[0], 4);
    assert_memory_equal(f->jwt.roles[0], "read", 4);
    assert_int_equal(f->jwt.role_lens[1], 5);
    assert_memory_equal(f->jwt.roles[1], "write", 5);
    assert_int_equal(f->jwt.role_lens[2], 5);
    assert_memory_equal(f->jwt.roles[2], "admin", 5);

    expect(f, token(f, "HS256", "{\"sub\":\"a\",\"roles\":\"\"}"), NOW,
           KERYU_JWT_OK);
    assert_int_equal(f->jwt.nroles, 0);
    assert_null(f->jwt.roles);

    expect(f, token(f, "HS256", "{\"sub\":\"a\"}"), NOW, KERYU_JWT_OK);
    assert_int_equal(f->jwt.nroles, 0);

    expect(f, token(f, "HS256", "{\"sub\":\"a\",\"roles\":7}"), NOW,
           KERYU_JWT_OK);
    assert_int_equal(f->jwt.nroles, 0);

    expect(f, token(f, "HS256", "{\"sub\":\"a\",\"roles\":{\"admin\":true}}"),
           NOW, KERYU_JWT_OK);
    assert_int_equal(f->jwt.nroles, 0);

    /* another claim name, and none at all */
    f->opts.roles_claim = "groups";
    expect(f, token(f, "HS256", "{\"sub\":\"a\",\"roles\":[\"admin\"],"
                    "\"groups\":[\"staff\"]}"),
           NOW, KERYU_JWT_OK);
    assert_int_equal(f->jwt.nroles, 1);
    assert_memory_equal(f->jwt.roles[0], "staff", 5);

    f->opts.roles_claim = NULL;
    expect(f, token(f, "HS256", "{\"sub\":\"a\",\"roles\":[\"admin\"]}"), NOW,
           KERYU_JWT_OK);
    assert_int_equal(f->jwt.nroles, 0);

    /* more roles than the struct holds, more values than the first block */
    f->opts.roles_claim = "roles";
    n = snprintf(payload, sizeof(payload), "{\"sub\":\"a\",\"roles\":[");

    for (i = 0; i < 300; i++) {
        n += snprintf(payload + n, sizeof(payload) - n, "%s\"r%zu\"",
                      i ? "," : "", i);
    }

    snprintf(payload + n, sizeof(payload) - n, "]}");

    expect(f, token(f, "HS256", payload), NOW, KERYU_JWT_OK);
    assert_int_equal(f->jwt.nroles, 300);
    assert_int_equal(f->jwt.role_lens[299], 4);
    assert_memory_equal(f->jwt.roles[299], "r299", 4);
    assert_int_equal(f->jwt.role_lens[0], 2);
    assert_memory_equal(f->jwt.roles[0], "r0", 2);
}


static void
claim_has_matches_strings_numbers_and_arrays(void **state)
{
    fixture_t  *f = *state;

#define has(name, value)                                                    \
    keryu_jwt_claim_has(&f->jwt, name, strlen(name), value, strlen(value))

    add_hs(f, "hs1");

    expect(f, token(f, "HS256", "{\"sub\":\"alice\",\"dept\":\"ops\","
                    "\"level\":42,\"neg\":-7,\"ratio\":1.5,\"ok\":true,"
                    "\"no\":false,\"nil\":null,\"obj\":{\"a\":\"b\"},"
                    "\"groups\":[\"eng\",3,[\"x\"],\"sec\"]}"),
           NOW, KERYU_JWT_OK);

    assert_true(has("sub", "alice"));
    assert_true(has("dept", "ops"));
    assert_false(has("dept", "op"));
    assert_false(has("dept", "opsx"));
    assert_false(has("dep", "ops"));
    assert_false(has("depts", "ops"));

    assert_true(has("level", "42"));
    assert_false(has("level", "42.0"));
    assert_false(has("level", "4"));
    assert_true(has("neg", "-7"));
    assert_true(has("ratio", "1.5"));

    assert_true(has("ok", "true"));
    assert_true(has("no", "false"));
    assert_false(has("nil", "null"));
    assert_false(has("obj", "b"));

    assert_true(has("groups", "eng"));
    assert_true(has("groups", "sec"));
    assert_true(has("groups", "3"));
    assert_false(has("groups", "x"));
    assert_false(has("groups", "en"));

    assert_false(has("missing", ""));
    assert_false(keryu_jwt_claim_has(&f->jwt, "dept\0x", 6, "ops", 3));
    assert_false(keryu_jwt_claim_has(&f->jwt, "dept", 4, "ops\0", 4));

    /* nothing after a failure */
    expect(f, token(f, "HS256", "{\"dept\":\"ops\"}"), NOW,
           KERYU_JWT_ESUBJECT);
    assert_false(has("dept", "ops"));

#undef has
}


static void
keys_load_from_database_values(void **state)
{
    fixture_t  *f = *state;
    char       *json, *secret, *p, *q, err[256];
    size_t      len;

    f->rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t) 2048);
    f->ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    assert_non_null(f->rsa);
    assert_non_null(f->ec);
    f->rsa_pem = pem_public(f->rsa);
    f->ec_pem = pem_public(f->ec);

    secret = b64url(f->secret, sizeof(f->secret));
    json = malloc(4096);
    assert_non_null(json);

    len = snprintf(json, 4096, "{\"kid\":\"hs1\",\"alg\":\"HS256\","
                   "\"secret\":\"%s\",\"created_at\":1700000000}", secret);
    if (keryu_jwt_keys_add_json(f->ks, json, len, err, sizeof(err)) != 0) {
        fail_msg("HS256: %s", err);
    }

    /* PEM newlines are escaped in JSON */
    p = json + sprintf(json, "{\"created_at\":1,\"alg\":\"RS256\","
                       "\"kid\":\"rsa1\",\"pem\":\"");

    for (q = f->rsa_pem; *q; q++) {
        if (*q == '\n') {
            *p++ = '\\';
            *p++ = 'n';

        } else {
            *p++ = *q;
        }
    }

    p += sprintf(p, "\"}");
    if (keryu_jwt_keys_add_json(f->ks, json, p - json, err, sizeof(err))
        != 0)
    {
        fail_msg("RS256: %s", err);
    }

    p = json + sprintf(json, "{\"kid\":\"ec1\",\"alg\":\"ES256\",\"pem\":\"");

    for (q = f->ec_pem; *q; q++) {
        if (*q == '\n') {
            *p++ = '\\';
            *p++ = 'n';

        } else {
            *p++ = *q;
        }
    }

    p += sprintf(p, "\"}");
    if (keryu_jwt_keys_add_json(f->ks, json, p - json, err, sizeof(err))
        != 0)
    {
        fail_msg("ES256: %s", err);
    }

    assert_int_equal(keryu_jwt_keys_count(f->ks), 3);

    expect(f, token(f, "HS256", "{\"sub\":\"a\"}"), NOW, KERYU_JWT_OK);
    assert_string_equal(f->jwt.kid, "hs1");
    expect(f, token(f, "RS256", "{\"sub\":\"a\"}"), NOW, KERYU_JWT_OK);
    assert_string_equal(f->jwt.kid, "rsa1");
    expect(f, token(f, "ES256", "{\"sub\":\"a\"}"), NOW, KERYU_JWT_OK);
    assert_string_equal(f->jwt.kid, "ec1");

    free(secret);
    free(json);
}


static void
bad_database_values_are_refused(void **state)
{
    fixture_t   *f = *state;
    char        *json, err[256];
    size_t       i;

    static const struct {
        const char  *json;
        const char  *err;
    } cases[] = {
        { "", "key record: invalid JSON" },
        { "{\"kid\":\"k\"", "key record: invalid JSON" },
        { "[\"kid\"]", "key record: not an object" },
        { "{\"kid\":\"k\",\"alg\":\"HS256\",\"secret\":\"AAAA\",\"x\":1}",
          "unknown field \"x\"" },
        { "{\"kid\":\"k\",\"kid\":\"j\"}", "key record: duplicate name" },
        { "{\"alg\":\"HS256\",\"secret\":\"AAAA\"}",
          "\"kid\" is missing or not a string" },
        { "{\"kid\":1,\"alg\":\"HS256\",\"secret\":\"AAAA\"}",
          "\"kid\" is missing or not a string" },
        { "{\"kid\":\"k\",\"secret\":\"AAAA\"}",
          "\"alg\" is missing or not a string" },
        { "{\"kid\":\"k\",\"alg\":\"HS512\",\"secret\":\"AAAA\"}",
          "unsupported algorithm \"HS512\"" },
        { "{\"kid\":\"k\",\"alg\":\"none\"}",
          "unsupported algorithm \"none\"" },
        { "{\"kid\":\"k\",\"alg\":\"HS256\"}",
          "\"secret\" is missing or not a string" },
        { "{\"kid\":\"k\",\"alg\":\"HS256\",\"secret\":[\"AAAA\"]}",
          "\"secret\" is missing or not a string" },
        { "{\"kid\":\"k\",\"alg\":\"HS256\",\"secret\":\"AAAA\",\"pem\":\"\"}",
          "HS256 key with a \"pem\" field" },
        { "{\"kid\":\"k\",\"alg\":\"HS256\",\"secret\":"
          "\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}",
          "secret of 31 bytes is shorter than 32" },
        { "{\"kid\":\"k\",\"alg\":\"HS256\",\"secret\":"
          "\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"}",
          "\"secret\" is not base64url without padding" },
        { "{\"kid\":\"k\",\"alg\":\"HS256\",\"secret\":"
          "\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA+A\"}",
          "\"secret\" is not base64url without padding" },
        { "{\"kid\":\"\",\"alg\":\"HS256\",\"secret\":"
          "\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}",
          "key id of 0 bytes, not 1 to 255" },
        { "{\"kid\":\"k\",\"alg\":\"RS256\"}",
          "\"pem\" is missing or not a string" },
        { "{\"kid\":\"k\",\"alg\":\"ES256\",\"pem\":\"x\",\"secret\":\"AAAA\"}",
          "ES256 key with a \"secret\" field" },
        { "{\"kid\":\"k\",\"alg\":\"RS256\",\"pem\":\"not a key\"}",
          "PEM_read_bio_PUBKEY() failed: " },
        { "{\"kid\":\"k\",\"alg\":\"RS256\",\"pem\":\"\"}",
          "PEM key of 0 bytes, not 1 to 65536" },
        { "{\"kid\":\"k\",\"alg\":\"HS256\",\"created_at\":\"now\"}",
          "\"created_at\" is not a number" },
        { "{\"kid\":\"k\\u0000\",\"alg\":\"HS256\"}",
          "key record: \\u0000 in a string" },
        { "{\"kid\":\"k\" /* c */}", "key record: invalid JSON" }
    };

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        err[0] = '\0';

        if (keryu_jwt_keys_add_json(f->ks, cases[i].json,
                                    strlen(cases[i].json), err, sizeof(err))
            != KERYU_JWT_ERROR)
        {
            fail_msg("case %zu loaded: %s", i, cases[i].json);
        }

        if (strncmp(err, cases[i].err, strlen(cases[i].err)) != 0) {
            fail_msg("case %zu: \"%s\", expected \"%s\"", i, err,
                     cases[i].err);
        }
    }

    assert_int_equal(keryu_jwt_keys_count(f->ks), 0);

    /* a NUL byte, and a record over the cap */
    assert_int_equal(keryu_jwt_keys_add_json(f->ks, "{\"kid\":\"k\"}\0", 12,
                                             err, sizeof(err)),
                     KERYU_JWT_ERROR);
    assert_string_equal(err, "key record: invalid JSON");

    json = malloc(KERYU_JWT_KEY_JSON_MAX + 1);
    assert_non_null(json);
    memset(json, ' ', KERYU_JWT_KEY_JSON_MAX + 1);
    assert_int_equal(keryu_jwt_keys_add_json(f->ks, json,
                                             KERYU_JWT_KEY_JSON_MAX + 1, err,
                                             sizeof(err)),
                     KERYU_JWT_ERROR);
    assert_string_equal(err, "key record of 65537 bytes is too long");
    free(json);

    /* err may be NULL */
    assert_int_equal(keryu_jwt_keys_add_json(f->ks, "[]", 2, NULL, 0),
                     KERYU_JWT_ERROR);
    assert_int_equal(keryu_jwt_keys_add_json(f->ks, "[]", 2, err, 0),
                     KERYU_JWT_ERROR);
}


static void
bad_keys_are_refused(void **state)
{
    fixture_t  *f = *state;
    BIO        *bio;
    char       *pem, *data, kid[300], err[256];
    long        len;
    EVP_PKEY   *pkey;

    /* secrets */
    assert_int_equal(keryu_jwt_keys_add_secret(f->ks, "k", f->secret, 31, err,
                                               sizeof(err)),
                     KERYU_JWT_ERROR);
    assert_string_equal(err, "secret of 31 bytes is shorter than 32");

    assert_int_equal(keryu_jwt_keys_add_secret(f->ks, NULL, f->secret, 32,
                                               err, sizeof(err)),
                     KERYU_JWT_ERROR);
    assert_string_equal(err, "key id of 0 bytes, not 1 to 255");

    memset(kid, 'k', 256);
    kid[256] = '\0';
    assert_int_equal(keryu_jwt_keys_add_secret(f->ks, kid, f->secret, 32,
                                               err, sizeof(err)),
                     KERYU_JWT_ERROR);
    assert_string_equal(err, "key id of 256 bytes, not 1 to 255");

    kid[255] = '\0';
    assert_int_equal(keryu_jwt_keys_add_secret(f->ks, kid, f->secret, 32,
                                               err, sizeof(err)), 0);
    assert_int_equal(keryu_jwt_keys_add_secret(f->ks, kid, f->secret, 32,
                                               err, sizeof(err)),
                     KERYU_JWT_ERROR);
    assert_memory_equal(err, "duplicate key id \"kkk", 21);

    /* a duplicate id is refused whatever the algorithm */
    add_ec(f, "ec1");
    assert_int_equal(keryu_jwt_keys_add_secret(f->ks, "ec1", f->secret, 32,
                                               err, sizeof(err)),
                     KERYU_JWT_ERROR);
    assert_string_equal(err, "duplicate key id \"ec1\"");
    assert_int_equal(keryu_jwt_keys_add_pem(f->ks, "ec1", "ES256", f->ec_pem,
                                            strlen(f->ec_pem), err,
                                            sizeof(err)),
                     KERYU_JWT_ERROR);
    assert_string_equal(err, "duplicate key id \"ec1\"");

    /* algorithms */
    assert_int_equal(keryu_jwt_keys_add_pem(f->ks, "x", "HS256", f->ec_pem,
                                            strlen(f->ec_pem), err,
                                            sizeof(err)),
                     KERYU_JWT_ERROR);
    assert_string_equal(err, "unsupported algorithm \"HS256\" for a PEM key");

    assert_int_equal(keryu_jwt_keys_add_pem(f->ks, "x", NULL, f->ec_pem,
                                            strlen(f->ec_pem), err,
                                            sizeof(err)),
                     KERYU_JWT_ERROR);

    assert_int_equal(keryu_jwt_keys_add_pem(f->ks, "x", "RS256", f->ec_pem,
                                            strlen(f->ec_pem), err,
                                            sizeof(err)),
                     KERYU_JWT_ERROR);
    assert_string_equal(err, "RS256 needs an RSA key");

    data = malloc(KERYU_JWT_KEY_JSON_MAX + 1);
    assert_non_null(data);
    memset(data, 'A', KERYU_JWT_KEY_JSON_MAX + 1);
    assert_int_equal(keryu_jwt_keys_add_pem(f->ks, "x", "ES256", data,
                                            KERYU_JWT_KEY_JSON_MAX + 1, err,
                                            sizeof(err)),
                     KERYU_JWT_ERROR);
    assert_string_equal(err, "PEM key of 65537 bytes, not 1 to 65536");
    free(data);

    /* a short PEM, cut mid-block */
    assert_int_equal(keryu_jwt_keys_add_pem(f->ks, "x", "ES256", f->ec_pem,
                                            40, err, sizeof(err)),
                     KERYU_JWT_ERROR);
    assert_memory_equal(err, "PEM_read_bio_PUBKEY() failed", 28);

    /* an RSA key too short, an RSA key as ES256, a P-384 key */
    pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t) 1024);
    assert_non_null(pkey);
    pem = pem_public(pkey);
    assert_int_equal(keryu_jwt_keys_add_pem(f->ks, "x", "RS256", pem,
                                            strlen(pem), err, sizeof(err)),
                     KERYU_JWT_ERROR);
    assert_string_equal(err, "RSA key of 1024 bits is shorter than 2048");
    assert_int_equal(keryu_jwt_keys_add_pem(f->ks, "x", "ES256", pem,
                                            strlen(pem), err, sizeof(err)),
                     KERYU_JWT_ERROR);
    assert_string_equal(err, "ES256 needs a P-256 key");
    free(pem);

    /* a PEM block that says it is encrypted is refused, not prompted for */
    pem = malloc(strlen(f->ec_pem) + 100);
    assert_non_null(pem);
    data = strchr(f->ec_pem, '\n') + 1;
    sprintf(pem, "-----BEGIN PUBLIC KEY-----\nProc-Type: 4,ENCRYPTED\n"
            "DEK-Info: AES-128-CBC,00000000000000000000000000000000\n\n%s",
            data);
    assert_int_equal(keryu_jwt_keys_add_pem(f->ks, "x", "ES256", pem,
                                            strlen(pem), err, sizeof(err)),
                     KERYU_JWT_ERROR);
    assert_memory_equal(err, "PEM_read_bio_PUBKEY() failed", 28);
    free(pem);

    /* a private key is not a public key */
    bio = BIO_new(BIO_s_mem());
    assert_non_null(bio);
    assert_int_equal(PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL,
                                              NULL), 1);
    len = BIO_get_mem_data(bio, &data);
    assert_int_equal(keryu_jwt_keys_add_pem(f->ks, "x", "RS256", data,
                                            (size_t) len, err, sizeof(err)),
                     KERYU_JWT_ERROR);
    assert_memory_equal(err, "PEM_read_bio_PUBKEY() failed", 28);
    BIO_free(bio);
    EVP_PKEY_free(pkey);

    pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
    assert_non_null(pkey);
    pem = pem_public(pkey);
    assert_int_equal(keryu_jwt_keys_add_pem(f->ks, "x", "ES256", pem,
                                            strlen(pem), err, sizeof(err)),
                     KERYU_JWT_ERROR);
    assert_string_equal(err, "ES256 needs a P-256 key");
    free(pem);
    EVP_PKEY_free(pkey);

    assert_int_equal(keryu_jwt_keys_count(f->ks), 2);

    /* no OpenSSL error is left behind for nginx to find */
    assert_int_equal(ERR_peek_error(), 0);
}


static void
no_openssl_error_is_left_after_a_refusal(void **state)
{
    fixture_t  *f = *state;

    add_rsa(f, "rsa1");
    add_ec(f, "ec1");

    expect(f, make_token(f, "RS256", "{\"alg\":\"RS256\"}", "{\"sub\":\"a\"}",
                         2),
           NOW, KERYU_JWT_ESIGNATURE);
    assert_int_equal(ERR_peek_error(), 0);

    expect(f, make_token(f, "ES256", "{\"alg\":\"ES256\"}", "{\"sub\":\"a\"}",
                         2),
           NOW, KERYU_JWT_ESIGNATURE);
    assert_int_equal(ERR_peek_error(), 0);
}


static void
defaults_and_frees_are_safe(void **state)
{
    fixture_t    *f = *state;
    char         *tok;
    keryu_jwt_t   jwt;

    add_hs(f, "hs1");

    tok = token(f, "HS256", "{\"sub\":\"a\",\"roles\":[\"x\"]}");

    assert_int_equal(keryu_jwt_verify(f->ks, NULL, tok, strlen(tok), NOW,
                                      &jwt), KERYU_JWT_OK);
    assert_string_equal(jwt.sub, "a");
    assert_int_equal(jwt.nroles, 0);
    keryu_jwt_free(&jwt);
    keryu_jwt_free(&jwt);
    keryu_jwt_free(NULL);

    assert_int_equal(keryu_jwt_verify(f->ks, NULL, NULL, 0, NOW, &jwt),
                     KERYU_JWT_EMALFORMED);
    keryu_jwt_free(&jwt);

    free(tok);
    keryu_jwt_keys_free(NULL);
}


static void
reasons_are_stable_text(void **state)
{
    (void) state;

    assert_string_equal(keryu_jwt_reason(KERYU_JWT_OK), "ok");
    assert_string_equal(keryu_jwt_reason(KERYU_JWT_EMALFORMED), "malformed");
    assert_string_equal(keryu_jwt_reason(KERYU_JWT_ETOOLONG), "too long");
    assert_string_equal(keryu_jwt_reason(KERYU_JWT_EALGNONE), "alg none");
    assert_string_equal(keryu_jwt_reason(KERYU_JWT_EALG),
                        "unsupported algorithm");
    assert_string_equal(keryu_jwt_reason(KERYU_JWT_ECRIT), "critical header");
    assert_string_equal(keryu_jwt_reason(KERYU_JWT_EKEY), "unknown key");
    assert_string_equal(keryu_jwt_reason(KERYU_JWT_EMISMATCH),
                        "algorithm mismatch");
    assert_string_equal(keryu_jwt_reason(KERYU_JWT_ESIGNATURE),
                        "bad signature");
    assert_string_equal(keryu_jwt_reason(KERYU_JWT_EEXPIRED), "expired");
    assert_string_equal(keryu_jwt_reason(KERYU_JWT_ENOTYET), "not yet valid");
    assert_string_equal(keryu_jwt_reason(KERYU_JWT_EISSUER), "bad issuer");
    assert_string_equal(keryu_jwt_reason(KERYU_JWT_EAUDIENCE),
                        "bad audience");
    assert_string_equal(keryu_jwt_reason(KERYU_JWT_ESUBJECT), "no subject");
    assert_string_equal(keryu_jwt_reason(KERYU_JWT_ENOMEM), "out of memory");
    assert_string_equal(keryu_jwt_reason(KERYU_JWT_EINTERNAL),
                        "internal error");
    assert_string_equal(keryu_jwt_reason(16), "unknown");
    assert_string_equal(keryu_jwt_reason(-1), "unknown");
}


static void
hs256_verify_allocates_little(void **state)
{
#if (COUNT_ALLOCS)
    fixture_t  *f = *state;
    int         rc;
    char       *tok;

    add_hs(f, "hs1");

    tok = token(f, "HS256", "{\"sub\":\"alice\",\"iss\":\"idp\","
                "\"aud\":\"api\",\"exp\":1700000060,\"iat\":1699999000,"
                "\"roles\":[\"admin\",\"ops\"]}");

    /* the first run may set up OpenSSL's caches */
    assert_int_equal(verify(f, tok, NOW), KERYU_JWT_OK);
    keryu_jwt_free(&f->jwt);

    alloc_count = 0;
    alloc_fail_at = 0;
    alloc_counting = 1;
    rc = verify(f, tok, NOW);
    keryu_jwt_free(&f->jwt);
    alloc_counting = 0;

    assert_int_equal(rc, KERYU_JWT_OK);

    if (alloc_count > ALLOC_BUDGET) {
        fail_msg("%zu allocations, budget %d", alloc_count, ALLOC_BUDGET);
    }

    free(tok);

#else
    (void) state;
    skip();
#endif
}


#if (COUNT_ALLOCS)

/*
 * Runs a verification, or loads a key of each kind into a new set, with
 * the nth allocation failing.  Returns the reason code (0 or -1 for keys),
 * whether the nth allocation was reached, and the bytes still held.
 */

static int
alloc_run(fixture_t *f, const char *tok, const char *json, size_t n,
    int *failed, size_t *kept)
{
    int                rc;
    char               err[256];
    size_t             before;
    keryu_jwt_t        jwt;
    keryu_jwt_keys_t  *ks;

    before = alloc_held;
    alloc_count = 0;
    alloc_fail_at = n;
    alloc_counting = 1;

    if (tok != NULL) {
        rc = keryu_jwt_verify(f->ks, &f->opts, tok, strlen(tok), NOW, &jwt);
        keryu_jwt_free(&jwt);

    } else {
        rc = KERYU_JWT_ERROR;
        ks = keryu_jwt_keys_create();

        if (ks != NULL) {
            rc = keryu_jwt_keys_add_json(ks, json, strlen(json), err,
                                         sizeof(err));
        }

        if (rc == 0) {
            rc = keryu_jwt_keys_add_pem(ks, "ec1", "ES256", f->ec_pem,
                                        strlen(f->ec_pem), err, sizeof(err));
        }

        if (rc == 0) {
            rc = keryu_jwt_keys_add_pem(ks, "rsa1", "RS256", f->rsa_pem,
                                        strlen(f->rsa_pem), err, sizeof(err));
        }

        if (rc == 0 && keryu_jwt_keys_count(ks) != 3) {
            rc = 1;
        }

        keryu_jwt_keys_free(ks);
    }

    alloc_counting = 0;

    *failed = alloc_count >= n;
    *kept = alloc_held - before;

    if (ERR_peek_error() != 0) {
        fail_msg("allocation %zu failed: OpenSSL error left queued", n);
    }

    return rc;
}

#endif


/*
 * Fails each allocation of a verification in turn, then each of loading
 * keys: every failure is reported (or absorbed inside OpenSSL), nothing
 * is leaked and no OpenSSL error is left queued.
 */

static void
allocation_failures_are_reported_and_leak_nothing(void **state)
{
#if (COUNT_ALLOCS)
    fixture_t  *f = *state;
    int         rc, failed;
    char       *toks[4], *json, *secret, payload[6144], err[256];
    size_t      i, n, t, kept;

    add_hs(f, "hs1");
    add_rsa(f, "rsa1");
    add_ec(f, "ec1");

    /* 20 roles; then 600, in a token too big for the stack buffer */
    n = sprintf(payload, "{\"sub\":\"a\",\"roles\":[");

    for (i = 0; i < 600; i++) {
        n += sprintf(payload + n, "%s\"r%zu\"", i ? "," : "", i);

        if (i == 19) {
            strcpy(payload + n, "]}");

            toks[0] = token(f, "HS256", payload);
            toks[2] = token(f, "RS256", payload);
            toks[3] = token(f, "ES256", payload);
        }
    }

    strcpy(payload + n, "]}");

    toks[1] = make_token(f, "HS256", "{\"alg\":\"HS256\",\"kid\":\"hs1\"}",
                         payload, FLIP_NONE);
    assert_true(strlen(toks[1]) > 4096 * 4 / 3);
    f->opts.max_len = 16384;

    /* OpenSSL keeps a per-thread error state once it has one */
    assert_int_equal(keryu_jwt_keys_add_pem(f->ks, "x", "ES256", "x", 1, err,
                                            sizeof(err)),
                     KERYU_JWT_ERROR);

    for (t = 0; t < 4; t++) {
        for (i = 1; /* void */; i++) {
            rc = alloc_run(f, toks[t], NULL, i, &failed, &kept);

            if (kept != 0) {
                fail_msg("token %zu, allocation %zu failed: %zu bytes kept",
                         t, i, kept);
            }

            if (!failed) {
                assert_int_equal(rc, KERYU_JWT_OK);
                break;
            }

            /* a failure inside RSA or ECDSA verification reads as bad */
            if (rc != KERYU_JWT_ENOMEM && rc != KERYU_JWT_EINTERNAL
                && (t < 2 || rc != KERYU_JWT_ESIGNATURE))
            {
                fail_msg("token %zu, allocation %zu failed: \"%s\"", t, i,
                         keryu_jwt_reason(rc));
            }
        }
    }

    for (t = 0; t < 4; t++) {
        free(toks[t]);
    }

    secret = b64url(f->secret, sizeof(f->secret));
    json = malloc(256);
    assert_non_null(json);
    sprintf(json, "{\"kid\":\"hs1\",\"alg\":\"HS256\",\"secret\":\"%s\"}",
            secret);

    for (i = 1; /* void */; i++) {
        rc = alloc_run(f, NULL, json, i, &failed, &kept);

        if (kept != 0) {
            fail_msg("keys, allocation %zu failed: %zu bytes kept", i, kept);
        }

        assert_true(rc == 0 || rc == KERYU_JWT_ERROR);

        if (!failed) {
            assert_int_equal(rc, 0);
            break;
        }
    }

    free(secret);
    free(json);

#else
    (void) state;
    skip();
#endif
}


/* ---- the cache of verified tokens ---- */


static int
cache_verify(fixture_t *f, keryu_jwt_cache_t *c, const char *tok,
    int64_t now, const keryu_jwt_t **jwt)
{
    return keryu_jwt_cache_verify(c, f->ks, &f->opts, tok, strlen(tok), now,
                                  jwt);
}


static void
expect_stats(keryu_jwt_cache_t *c, size_t count, uint64_t hits,
    uint64_t misses)
{
    keryu_jwt_cache_stats_t  st;

    keryu_jwt_cache_stats(c, &st);

    if (st.count != count || st.hits != hits || st.misses != misses) {
        fail_msg("cache count %zu, hits %llu, misses %llu; expected %zu, "
                 "%llu, %llu", st.count, (unsigned long long) st.hits,
                 (unsigned long long) st.misses, count,
                 (unsigned long long) hits, (unsigned long long) misses);
    }
}


static void
cache_sizes_are_powers_of_two(void **state)
{
    keryu_jwt_cache_t        *c;
    keryu_jwt_cache_stats_t   st;

    (void) state;

    c = keryu_jwt_cache_create(0);
    assert_non_null(c);
    keryu_jwt_cache_stats(c, &st);
    assert_int_equal(st.size, 2);
    assert_int_equal(st.count, 0);
    keryu_jwt_cache_free(c);

    c = keryu_jwt_cache_create(1000);
    assert_non_null(c);
    keryu_jwt_cache_stats(c, &st);
    assert_int_equal(st.size, 1024);
    keryu_jwt_cache_free(c);

    c = keryu_jwt_cache_create(KERYU_JWT_CACHE_MAX);
    assert_non_null(c);
    keryu_jwt_cache_free(c);

    assert_null(keryu_jwt_cache_create(KERYU_JWT_CACHE_MAX + 1));

    keryu_jwt_cache_free(NULL);
    keryu_jwt_cache_clear(NULL);
}


static void
cache_hit_returns_the_verified_claims(void **state)
{
    fixture_t          *f = *state;
    char               *tok;
    keryu_jwt_cache_t  *c;
    const keryu_jwt_t  *jwt, *first;

    add_hs(f, "hs1");

    c = keryu_jwt_cache_create(1024);
    assert_non_null(c);

    tok = token(f, "HS256", "{\"sub\":\"alice\",\"exp\":1700000060,"
                "\"roles\":[\"admin\",\"ops\"],\"dept\":\"eng\","
                "\"level\":3}");

    assert_int_equal(cache_verify(f, c, tok, NOW, &first), KERYU_JWT_OK);
    assert_non_null(first);
    expect_stats(c, 1, 0, 1);

    assert_int_equal(cache_verify(f, c, tok, NOW + 1, &jwt), KERYU_JWT_OK);
    expect_stats(c, 1, 1, 1);
    assert_ptr_equal(jwt, first);

    assert_string_equal(jwt->sub, "alice");
    assert_int_equal(jwt->sub_len, 5);
    assert_string_equal(jwt->kid, "hs1");
    assert_int_equal(jwt->nroles, 2);
    assert_int_equal(jwt->role_lens[0], 5);
    assert_memory_equal(jwt->roles[0], "admin", 5);
    assert_int_equal(jwt->role_lens[1], 3);
    assert_memory_equal(jwt->roles[1], "ops", 3);
    assert_true(keryu_jwt_claim_has(jwt, "dept", 4, "eng", 3));
    assert_true(keryu_jwt_claim_has(jwt, "level", 5, "3", 1));
    assert_true(keryu_jwt_claim_has(jwt, "roles", 5, "ops", 3));
    assert_false(keryu_jwt_claim_has(jwt, "roles", 5, "root", 4));

    /* the cached answer is the one verification gives */
    assert_int_equal(verify(f, tok, NOW + 1), KERYU_JWT_OK);
    assert_string_equal(f->jwt.sub, jwt->sub);
    assert_int_equal(f->jwt.nroles, jwt->nroles);

    /* NULL opts and opts holding the defaults are equal values */
    memset(&f->opts, 0, sizeof(keryu_jwt_opts_t));

    assert_int_equal(keryu_jwt_cache_verify(c, f->ks, NULL, tok, strlen(tok),
                                            NOW, &first),
                     KERYU_JWT_OK);
    expect_stats(c, 2, 1, 2);
    assert_int_equal(first->nroles, 0);

    assert_int_equal(cache_verify(f, c, tok, NOW, &jwt), KERYU_JWT_OK);
    expect_stats(c, 2, 2, 2);
    assert_ptr_equal(jwt, first);

    free(tok);
    keryu_jwt_cache_free(c);
}


/* each change is verified as usual, since no entry matches it */

static void
cache_token_differing_by_one_byte_misses(void **state)
{
    fixture_t          *f = *state;
    int                 rc;
    char               *tok, *bad;
    size_t              len, i, misses;
    keryu_jwt_cache_t  *c;
    const keryu_jwt_t  *jwt;

    add_hs(f, "hs1");

    c = keryu_jwt_cache_create(1024);
    assert_non_null(c);

    tok = token(f, "HS256", "{\"sub\":\"alice\",\"exp\":1700000060}");
    len = strlen(tok);

    assert_int_equal(cache_verify(f, c, tok, NOW, &jwt), KERYU_JWT_OK);

    bad = malloc(len + 2);
    assert_non_null(bad);
    misses = 1;

    for (i = 0; i < len; i++) {
        if (tok[i] == '.') {
            continue;
        }

        memcpy(bad, tok, len + 1);
        bad[i] = tok[i] == 'A' ? 'B' : 'A';

        rc = cache_verify(f, c, bad, NOW, &jwt);
        misses++;

        assert_int_not_equal(rc, KERYU_JWT_OK);
        assert_int_equal(rc, verify(f, bad, NOW));
        assert_null(jwt);
        expect_stats(c, 1, 0, misses);
    }

    /* one byte shorter, one byte longer */

    memcpy(bad, tok, len + 1);
    bad[len - 1] = '\0';
    rc = cache_verify(f, c, bad, NOW, &jwt);
    assert_int_not_equal(rc, KERYU_JWT_OK);
    assert_int_equal(rc, verify(f, bad, NOW));

    memcpy(bad, tok, len);
    strcpy(bad + len, "A");
    rc = cache_verify(f, c, bad, NOW, &jwt);
    assert_int_not_equal(rc, KERYU_JWT_OK);
    assert_int_equal(rc, verify(f, bad, NOW));

    misses += 2;
    expect_stats(c, 1, 0, misses);

    /* the original still hits */
    assert_int_equal(cache_verify(f, c, tok, NOW, &jwt), KERYU_JWT_OK);
    expect_stats(c, 1, 1, misses);

    free(bad);
    free(tok);
    keryu_jwt_cache_free(c);
}


static void
cache_rechecks_exp_and_nbf_on_a_hit(void **state)
{
    fixture_t          *f = *state;
    char               *tok;
    keryu_jwt_cache_t  *c;
    const keryu_jwt_t  *jwt;

    add_hs(f, "hs1");

    c = keryu_jwt_cache_create(1024);
    assert_non_null(c);

    tok = token(f, "HS256", "{\"sub\":\"a\",\"exp\":1700000060,"
                "\"nbf\":1699999990}");

    assert_int_equal(cache_verify(f, c, tok, NOW, &jwt), KERYU_JWT_OK);
    expect_stats(c, 1, 0, 1);

    assert_int_equal(cache_verify(f, c, tok, NOW + 3600, &jwt),
                     KERYU_JWT_EEXPIRED);
    assert_null(jwt);
    expect_stats(c, 0, 1, 1);

    /* dropped: the next call verifies again */
    assert_int_equal(cache_verify(f, c, tok, NOW + 3600, &jwt),
                     KERYU_JWT_EEXPIRED);
    expect_stats(c, 0, 1, 2);

    /* exp is refused from the second it names, leeway added */
    assert_int_equal(cache_verify(f, c, tok, NOW, &jwt), KERYU_JWT_OK);
    assert_int_equal(cache_verify(f, c, tok, NOW + 59, &jwt), KERYU_JWT_OK);
    assert_int_equal(cache_verify(f, c, tok, NOW + 60, &jwt),
                     KERYU_JWT_EEXPIRED);
    expect_stats(c, 0, 3, 3);

    f->opts.leeway = 10;
    assert_int_equal(cache_verify(f, c, tok, NOW, &jwt), KERYU_JWT_OK);
    assert_int_equal(cache_verify(f, c, tok, NOW + 69, &jwt), KERYU_JWT_OK);
    assert_int_equal(cache_verify(f, c, tok, NOW + 70, &jwt),
                     KERYU_JWT_EEXPIRED);
    expect_stats(c, 0, 5, 4);

    /* a clock set back before nbf: "not yet valid", as verify says */
    f->opts.leeway = 0;
    assert_int_equal(cache_verify(f, c, tok, NOW, &jwt), KERYU_JWT_OK);
    assert_int_equal(cache_verify(f, c, tok, NOW - 10, &jwt), KERYU_JWT_OK);
    assert_int_equal(cache_verify(f, c, tok, NOW - 11, &jwt),
                     KERYU_JWT_ENOTYET);
    assert_int_equal(verify(f, tok, NOW - 11), KERYU_JWT_ENOTYET);
    assert_null(jwt);
    expect_stats(c, 0, 7, 5);

    /* fractions round as verification rounds them */
    free(tok);
    tok = token(f, "HS256", "{\"sub\":\"a\",\"exp\":1700000060.5}");
    assert_int_equal(cache_verify(f, c, tok, NOW, &jwt), KERYU_JWT_OK);
    assert_int_equal(cache_verify(f, c, tok, NOW + 59, &jwt), KERYU_JWT_OK);
    assert_int_equal(cache_verify(f, c, tok, NOW + 60, &jwt),
                     KERYU_JWT_EEXPIRED);
    assert_int_equal(verify(f, tok, NOW + 60), KERYU_JWT_EEXPIRED);

    /* no exp: valid from the cache at any time */
    free(tok);
    tok = token(f, "HS256", "{\"sub\":\"a\"}");
    assert_int_equal(cache_verify(f, c, tok, NOW, &jwt), KERYU_JWT_OK);
    assert_int_equal(cache_verify(f, c, tok, INT64_MAX, &jwt), KERYU_JWT_OK);
    expect_stats(c, 1, 10, 7);

    free(tok);
    keryu_jwt_cache_free(c);
}


/*
 * Two locations with other options share a cache: each option is part of
 * the match, by value, so a token cached under one never answers another.
 */

static void
cache_different_opts_do_not_hit(void **state)
{
    fixture_t          *f = *state;
    char               *tok, *plain, api[] = "api";
    keryu_jwt_cache_t  *c;
    const keryu_jwt_t  *jwt, *first;

    add_hs(f, "hs1");

    c = keryu_jwt_cache_create(1024);
    assert_non_null(c);

    tok = token(f, "HS256", "{\"sub\":\"a\",\"iss\":\"idp\","
                "\"aud\":[\"api\",\"web\"],\"roles\":\"x y\","
                "\"perms\":[\"p\"]}");
    plain = token(f, "HS256", "{\"sub\":\"a\"}");

    f->opts.audience = "api";
    assert_int_equal(cache_verify(f, c, tok, NOW, &first), KERYU_JWT_OK);
    expect_stats(c, 1, 0, 1);

    f->opts.audience = "web";
    assert_int_equal(cache_verify(f, c, tok, NOW, &jwt), KERYU_JWT_OK);
    expect_stats(c, 2, 0, 2);
    assert_ptr_not_equal(jwt, first);

    f->opts.audience = "admin";
    assert_int_equal(cache_verify(f, c, tok, NOW, &jwt), KERYU_JWT_EAUDIENCE);
    expect_stats(c, 2, 0, 3);

    /* equal by value, not by pointer */
    f->opts.audience = api;
    assert_int_equal(cache_verify(f, c, tok, NOW, &jwt), KERYU_JWT_OK);
    expect_stats(c, 2, 1, 3);
    assert_ptr_equal(jwt, first);

    /* a value changed in place no longer matches the copy kept */
    api[0] = 'A';
    assert_int_equal(cache_verify(f, c, tok, NOW, &jwt), KERYU_JWT_EAUDIENCE);
    expect_stats(c, 2, 1, 4);
    f->opts.audience = "api";

    f->opts.issuer = "idp";
    assert_int_equal(cache_verify(f, c, tok, NOW, &jwt), KERYU_JWT_OK);
    expect_stats(c, 2, 1, 5);
    f->opts.issuer = "other";
    assert_int_equal(cache_verify(f, c, tok, NOW, &jwt), KERYU_JWT_EISSUER);
    expect_stats(c, 2, 1, 6);
    f->opts.issuer = NULL;

    /* roles come from the claim the options name */
    f->opts.roles_claim = "perms";
    assert_int_equal(cache_verify(f, c, tok, NOW, &jwt), KERYU_JWT_OK);
    expect_stats(c, 2, 1, 7);
    assert_int_equal(jwt->nroles, 1);
    assert_memory_equal(jwt->roles[0], "p", 1);

    f->opts.roles_claim = NULL;
    assert_int_equal(cache_verify(f, c, tok, NOW, &jwt), KERYU_JWT_OK);
    expect_stats(c, 2, 1, 8);
    assert_int_equal(jwt->nroles, 0);

    f->opts.roles_claim = "roles";
    assert_int_equal(cache_verify(f, c, tok, NOW, &jwt), KERYU_JWT_OK);
    expect_stats(c, 2, 1, 9);
    assert_int_equal(jwt->nroles, 2);

    f->opts.leeway = 5;
    assert_int_equal(cache_verify(f, c, tok, NOW, &jwt), KERYU_JWT_OK);
    expect_stats(c, 2, 1, 10);
    f->opts.leeway = 0;

    /* max_len: 0 is the default, compared as the value it stands for */
    f->opts.max_len = strlen(tok);
    assert_int_equal(cache_verify(f, c, tok, NOW, &jwt), KERYU_JWT_OK);
    expect_stats(c, 2, 1, 11);
    f->opts.max_len = strlen(tok) - 1;
    assert_int_equal(cache_verify(f, c, tok, NOW, &jwt), KERYU_JWT_ETOOLONG);
    expect_stats(c, 2, 1, 12);
    f->opts.max_len = 0;
    assert_int_equal(cache_verify(f, c, tok, NOW, &jwt), KERYU_JWT_OK);
    expect_stats(c, 2, 1, 13);
    f->opts.max_len = KERYU_JWT_MAX_LEN_DEFAULT;
    assert_int_equal(cache_verify(f, c, tok, NOW, &jwt), KERYU_JWT_OK);
    expect_stats(c, 2, 2, 13);

    /* cached without an audience, asked with one */
    f->opts.audience = NULL;
    assert_int_equal(cache_verify(f, c, plain, NOW, &jwt), KERYU_JWT_OK);
    f->opts.audience = "api";
    assert_int_equal(cache_verify(f, c, plain, NOW, &jwt),
                     KERYU_JWT_EAUDIENCE);
    expect_stats(c, 3, 2, 15);

    free(plain);
    free(tok);
    keryu_jwt_cache_free(c);
}


static void
cache_new_key_set_does_not_hit(void **state)
{
    fixture_t          *f = *state;
    char               *tok, err[256];
    uint64_t            gen;
    keryu_jwt_cache_t  *c;
    keryu_jwt_keys_t   *ks;
    const keryu_jwt_t  *jwt;
    uint8_t             other[48];

    add_hs(f, "hs1");

    c = keryu_jwt_cache_create(1024);
    assert_non_null(c);

    tok = token(f, "HS256", "{\"sub\":\"a\"}");

    assert_int_equal(cache_verify(f, c, tok, NOW, &jwt), KERYU_JWT_OK);
    assert_int_equal(cache_verify(f, c, tok, NOW, &jwt), KERYU_JWT_OK);
    expect_stats(c, 1, 1, 1);

    /* a key added to the set: a new generation */
    gen = keryu_jwt_keys_generation(f->ks);
    assert_int_not_equal(gen, 0);
    memset(other, 0x5a, sizeof(other));
    assert_int_equal(keryu_jwt_keys_add_secret(f->ks, "hs2", other,
                                               sizeof(other), err,
                                               sizeof(err)),
                     0);
    assert_int_not_equal(keryu_jwt_keys_generation(f->ks), gen);

    assert_int_equal(cache_verify(f, c, tok, NOW, &jwt), KERYU_JWT_OK);
    expect_stats(c, 2, 1, 2);

    /* a failed add changes nothing */
    gen = keryu_jwt_keys_generation(f->ks);
    assert_int_equal(keryu_jwt_keys_add_secret(f->ks, "hs2", other,
                                               sizeof(other), err,
                                               sizeof(err)),
                     KERYU_JWT_ERROR);
    assert_int_equal(keryu_jwt_keys_generation(f->ks), gen);
    assert_int_equal(cache_verify(f, c, tok, NOW, &jwt), KERYU_JWT_OK);
    expect_stats(c, 2, 2, 2);

    /*
     * The key rotated away: a new set without it, very likely at the
     * address of the freed one, must refuse the token, not find it cached.
     */

    keryu_jwt_keys_free(f->ks);

    ks = keryu_jwt_keys_create();
    assert_non_null(ks);
    assert_int_equal(keryu_jwt_keys_add_secret(ks, "hs2", other,
                                               sizeof(other), err,
                                               sizeof(err)),
                     0);
    assert_int_not_equal(keryu_jwt_keys_generation(ks), gen);
    f->ks = ks;

    assert_int_equal(cache_verify(f, c, tok, NOW, &jwt),
                     KERYU_JWT_ESIGNATURE);
    assert_null(jwt);
    expect_stats(c, 2, 2, 3);

    /* the same secret in another set verifies, but is a miss */
    keryu_jwt_keys_free(f->ks);
    f->ks = keryu_jwt_keys_create();
    assert_non_null(f->ks);
    add_hs(f, "hs1");

    assert_int_equal(cache_verify(f, c, tok, NOW, &jwt), KERYU_JWT_OK);
    assert_int_equal(cache_verify(f, c, tok, NOW, &jwt), KERYU_JWT_OK);
    expect_stats(c, 2, 3, 4);

    free(tok);
    keryu_jwt_cache_free(c);
}


static void
cache_clear_empties_it(void **state)
{
    fixture_t          *f = *state;
    int                 i;
    char               *toks[3], payload[64];
    keryu_jwt_cache_t  *c;
    const keryu_jwt_t  *jwt;

    add_hs(f, "hs1");

    c = keryu_jwt_cache_create(1024);
    assert_non_null(c);

    for (i = 0; i < 3; i++) {
        snprintf(payload, sizeof(payload), "{\"sub\":\"user%d\"}", i);
        toks[i] = token(f, "HS256", payload);
        assert_int_equal(cache_verify(f, c, toks[i], NOW, &jwt),
                         KERYU_JWT_OK);
    }

    expect_stats(c, 3, 0, 3);

    keryu_jwt_cache_clear(c);
    expect_stats(c, 0, 0, 3);

    for (i = 0; i < 3; i++) {
        assert_int_equal(cache_verify(f, c, toks[i], NOW, &jwt),
                         KERYU_JWT_OK);
        assert_memory_equal(jwt->sub, "user", 4);
        assert_int_equal(jwt->sub[4], '0' + i);
    }

    expect_stats(c, 3, 0, 6);

    /* cleared right after an answer: nothing left to use */
    keryu_jwt_cache_clear(c);
    keryu_jwt_cache_clear(c);
    expect_stats(c, 0, 0, 6);

    for (i = 0; i < 3; i++) {
        free(toks[i]);
    }

    keryu_jwt_cache_free(c);
}


/*
 * Ten tokens through a cache of two entries, in an order that evicts on
 * most calls: every answer names the right subject and nothing leaks
 * (AddressSanitizer, or the byte count outside it).
 */

static void
cache_eviction_stays_correct(void **state)
{
    fixture_t                *f = *state;
    char                     *toks[10], payload[256], sub[16];
    size_t                    i, n, round;
    keryu_jwt_cache_t        *c;
    const keryu_jwt_t        *jwt;
    keryu_jwt_cache_stats_t   st;
#if (COUNT_ALLOCS)
    size_t                    before;
#endif

    add_hs(f, "hs1");

    for (i = 0; i < 10; i++) {
        n = snprintf(payload, sizeof(payload), "{\"sub\":\"user%zu\","
                     "\"exp\":%d,\"roles\":[", i, NOW + 100 + (int) i);

        /* more roles than fit inline in some, so those are allocated */
        for (round = 0; round < (i % 2 ? 20 : 1); round++) {
            n += snprintf(payload + n, sizeof(payload) - n, "%s\"r\"",
                          round ? "," : "");
            assert_true(n < sizeof(payload) - 3);
        }

        strcpy(payload + n, "]}");
        toks[i] = token(f, "HS256", payload);
    }

#if (COUNT_ALLOCS)
    before = alloc_held;
#endif

    c = keryu_jwt_cache_create(2);
    assert_non_null(c);

    for (round = 0; round < 20; round++) {
        for (n = 0; n < 10; n++) {
            i = (n * 7 + round * 3) % 10;

            if (round % 4 == 3) {
                i = n % 3;
            }

            assert_int_equal(cache_verify(f, c, toks[i], NOW + round, &jwt),
                             KERYU_JWT_OK);

            snprintf(sub, sizeof(sub), "user%zu", i);
            assert_string_equal(jwt->sub, sub);
            assert_int_equal(jwt->nroles, i % 2 ? 20 : 1);
            assert_true(keryu_jwt_claim_has(jwt, "roles", 5, "r", 1));

            keryu_jwt_cache_stats(c, &st);
            assert_true(st.count <= 2);
        }
    }

    keryu_jwt_cache_stats(c, &st);
    assert_int_equal(st.size, 2);
    assert_int_equal(st.count, 2);
    assert_int_equal(st.hits + st.misses, 200);
    assert_true(st.hits > 0);

    /* expiry on a hit in a full cache, then fill again */
    assert_int_equal(cache_verify(f, c, toks[9], NOW, &jwt), KERYU_JWT_OK);
    assert_int_equal(cache_verify(f, c, toks[9], NOW + 109, &jwt),
                     KERYU_JWT_EEXPIRED);
    keryu_jwt_cache_stats(c, &st);
    assert_int_equal(st.count, 1);
    assert_int_equal(cache_verify(f, c, toks[0], NOW, &jwt), KERYU_JWT_OK);
    assert_string_equal(jwt->sub, "user0");

    keryu_jwt_cache_free(c);

#if (COUNT_ALLOCS)
    if (alloc_held != before) {
        fail_msg("%zu bytes kept after keryu_jwt_cache_free()",
                 alloc_held - before);
    }
#endif

    for (i = 0; i < 10; i++) {
        free(toks[i]);
    }
}


static void
cache_failures_are_not_cached(void **state)
{
    fixture_t          *f = *state;
    int                 i, round, rcs[5];
    char               *toks[5];
    keryu_jwt_cache_t  *c;
    const keryu_jwt_t  *jwt;

    add_hs(f, "hs1");

    c = keryu_jwt_cache_create(1024);
    assert_non_null(c);

    f->opts.audience = "api";

    toks[0] = make_token(f, "HS256", "{\"alg\":\"HS256\"}",
                         "{\"sub\":\"a\",\"aud\":\"api\"}", 2);
    rcs[0] = KERYU_JWT_ESIGNATURE;
    toks[1] = token(f, "HS256", "{\"sub\":\"a\",\"aud\":\"api\","
                    "\"exp\":1699999999}");
    rcs[1] = KERYU_JWT_EEXPIRED;
    toks[2] = token(f, "HS256", "{\"sub\":\"a\",\"aud\":\"web\"}");
    rcs[2] = KERYU_JWT_EAUDIENCE;
    toks[3] = token(f, "none", "{\"sub\":\"a\",\"aud\":\"api\"}");
    rcs[3] = KERYU_JWT_EALGNONE;
    toks[4] = strdup("not.a-token");
    assert_non_null(toks[4]);
    rcs[4] = KERYU_JWT_EMALFORMED;

    for (round = 0; round < 3; round++) {
        for (i = 0; i < 5; i++) {
            assert_int_equal(cache_verify(f, c, toks[i], NOW, &jwt), rcs[i]);
            assert_null(jwt);
        }
    }

    expect_stats(c, 0, 0, 15);

    /* NULL and overlong tokens are refused as verify refuses them */
    assert_int_equal(keryu_jwt_cache_verify(c, f->ks, &f->opts, NULL, 0, NOW,
                                            &jwt),
                     KERYU_JWT_EMALFORMED);
    assert_int_equal(keryu_jwt_cache_verify(c, f->ks, &f->opts, toks[0],
                                            f->opts.max_len + 1, NOW, &jwt),
                     KERYU_JWT_ETOOLONG);
    expect_stats(c, 0, 0, 17);

    for (i = 0; i < 5; i++) {
        free(toks[i]);
    }

    keryu_jwt_cache_free(c);
}


static void
cache_keeps_no_long_token(void **state)
{
    fixture_t          *f = *state;
    char               *tok, payload[3000];
    size_t              n;
    keryu_jwt_cache_t  *c;
    const keryu_jwt_t  *jwt;

    add_hs(f, "hs1");

    c = keryu_jwt_cache_create(1024);
    assert_non_null(c);

    n = sprintf(payload, "{\"sub\":\"long\",\"pad\":\"");
    memset(payload + n, 'x', 1600);
    strcpy(payload + n + 1600, "\"}");

    tok = token(f, "HS256", payload);
    assert_true(strlen(tok) > KERYU_JWT_CACHE_TOKEN_MAX);

    assert_int_equal(cache_verify(f, c, tok, NOW, &jwt), KERYU_JWT_OK);
    assert_string_equal(jwt->sub, "long");
    expect_stats(c, 0, 0, 1);

    assert_int_equal(cache_verify(f, c, tok, NOW, &jwt), KERYU_JWT_OK);
    assert_string_equal(jwt->sub, "long");
    expect_stats(c, 0, 0, 2);

    free(tok);
    keryu_jwt_cache_free(c);
}


static void
cache_hit_allocates_nothing(void **state)
{
#if (COUNT_ALLOCS)
    fixture_t          *f = *state;
    int                 i, rc;
    char               *tok;
    keryu_jwt_cache_t  *c;
    const keryu_jwt_t  *jwt;

    add_hs(f, "hs1");
    f->opts.audience = "api";

    c = keryu_jwt_cache_create(1024);
    assert_non_null(c);

    tok = token(f, "HS256", "{\"sub\":\"alice\",\"aud\":\"api\","
                "\"exp\":1700000060,\"roles\":[\"admin\",\"ops\"]}");

    assert_int_equal(cache_verify(f, c, tok, NOW, &jwt), KERYU_JWT_OK);

    alloc_count = 0;
    alloc_fail_at = 0;
    alloc_counting = 1;

    rc = KERYU_JWT_OK;

    for (i = 0; i < 100 && rc == KERYU_JWT_OK; i++) {
        rc = cache_verify(f, c, tok, NOW + i % 60, &jwt);
    }

    alloc_counting = 0;

    assert_int_equal(rc, KERYU_JWT_OK);
    expect_stats(c, 1, 100, 1);
    assert_int_equal(alloc_count, 0);

    free(tok);
    keryu_jwt_cache_free(c);

#else
    (void) state;
    skip();
#endif
}


/*
 * Fails each allocation of a miss in turn: verification reports it; the
 * copy of the token failing leaves the token answered but not cached;
 * nothing leaks.
 */

static void
cache_allocation_failures_leak_nothing(void **state)
{
#if (COUNT_ALLOCS)
    fixture_t                *f = *state;
    int                       rc;
    char                     *tok;
    size_t                    i, before, count;
    keryu_jwt_cache_t        *c;
    const keryu_jwt_t        *jwt;
    keryu_jwt_cache_stats_t   st;

    add_hs(f, "hs1");
    f->opts.audience = "api";

    tok = token(f, "HS256", "{\"sub\":\"alice\",\"aud\":\"api\"}");

    for (i = 1; /* void */; i++) {
        before = alloc_held;

        c = keryu_jwt_cache_create(4);
        assert_non_null(c);

        alloc_count = 0;
        alloc_fail_at = i;
        alloc_counting = 1;
        rc = cache_verify(f, c, tok, NOW, &jwt);
        alloc_counting = 0;

        keryu_jwt_cache_stats(c, &st);
        count = st.count;

        if (rc == KERYU_JWT_OK) {
            assert_string_equal(jwt->sub, "alice");

        } else {
            assert_null(jwt);
            assert_true(rc == KERYU_JWT_ENOMEM || rc == KERYU_JWT_EINTERNAL);
            assert_int_equal(count, 0);
        }

        keryu_jwt_cache_free(c);

        if (alloc_held != before) {
            fail_msg("allocation %zu failed: %zu bytes kept", i,
                     alloc_held - before);
        }

        if (alloc_count < i) {
            assert_int_equal(rc, KERYU_JWT_OK);
            assert_int_equal(count, 1);
            break;
        }
    }

    free(tok);

#else
    (void) state;
    skip();
#endif
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test_setup_teardown(valid_hs256_token_verifies,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(valid_rs256_token_verifies,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(valid_es256_token_verifies,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(es256_signatures_of_every_shape_verify,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(expired_token_is_refused,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(token_before_nbf_is_refused,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(leeway_applies_to_exp_and_nbf,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(fractional_times_round_towards_refusal,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(exp_or_nbf_not_a_number_is_malformed,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            flipped_bit_in_any_part_breaks_the_signature, setup, teardown),
        cmocka_unit_test_setup_teardown(signature_of_wrong_length_is_bad,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(alg_none_is_refused_in_any_case,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(unsupported_alg_is_refused,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(header_fields_are_checked,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            kid_picks_the_key_and_its_alg_must_match, setup, teardown),
        cmocka_unit_test_setup_teardown(rsa_public_key_is_never_an_hmac_secret,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(unknown_kid_is_refused,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            without_kid_each_key_of_the_alg_is_tried, setup, teardown),
        cmocka_unit_test_setup_teardown(audience_must_match_when_configured,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(issuer_must_match_when_configured,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(malformed_base64_is_refused,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(json_that_is_not_an_object_is_refused,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            overlong_token_is_refused_before_any_work, setup, teardown),
        cmocka_unit_test_setup_teardown(
            max_len_is_inclusive_and_big_tokens_verify, setup, teardown),
        cmocka_unit_test_setup_teardown(long_escaped_strings_are_read,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(missing_subject_is_refused,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(roles_come_from_an_array_or_a_string,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            claim_has_matches_strings_numbers_and_arrays, setup, teardown),
        cmocka_unit_test_setup_teardown(keys_load_from_database_values,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(bad_database_values_are_refused,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(bad_keys_are_refused,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            no_openssl_error_is_left_after_a_refusal, setup, teardown),
        cmocka_unit_test_setup_teardown(defaults_and_frees_are_safe,
                                        setup, teardown),
        cmocka_unit_test(reasons_are_stable_text),
        cmocka_unit_test_setup_teardown(hs256_verify_allocates_little,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            allocation_failures_are_reported_and_leak_nothing, setup,
            teardown),
        cmocka_unit_test(cache_sizes_are_powers_of_two),
        cmocka_unit_test_setup_teardown(cache_hit_returns_the_verified_claims,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            cache_token_differing_by_one_byte_misses, setup, teardown),
        cmocka_unit_test_setup_teardown(cache_rechecks_exp_and_nbf_on_a_hit,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(cache_different_opts_do_not_hit,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(cache_new_key_set_does_not_hit,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(cache_clear_empties_it,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(cache_eviction_stays_correct,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(cache_failures_are_not_cached,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(cache_keeps_no_long_token,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(cache_hit_allocates_nothing,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            cache_allocation_failures_leak_nothing, setup, teardown),
    };

#if (COUNT_ALLOCS)
    if (CRYPTO_set_mem_functions(ssl_malloc, ssl_realloc, ssl_free) != 1) {
        return 1;
    }
#endif

    return cmocka_run_group_tests(tests, NULL, NULL);
}
