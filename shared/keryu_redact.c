
/*
 * Copyright (C) Keryu Security
 *
 * Redaction of record fields: secret query arguments, card numbers, email
 * addresses and client addresses (keryu_redact.h).  Tokens are keyed with
 * HMAC-SHA256 computed here on a small SHA-256, so that a token costs no
 * allocation: the key's two padded blocks are hashed once, when the key is
 * made, and each token then hashes the value and one more block.
 */


#include <string.h>

#include "keryu_redact.h"


#define KERYU_REDACT_DECODE_MAX  256
#define KERYU_REDACT_CARD_MIN    13
#define KERYU_REDACT_CARD_MAX    19


typedef struct {
    uint32_t            h[8];
    uint64_t            len;          /* bytes hashed so far */
    size_t              n;            /* bytes waiting in buf */
    uint8_t             buf[64];
} keryu_sha256_t;


/* where a result goes: at most size bytes kept, len counts them all */

typedef struct {
    uint8_t            *out;
    size_t              size;
    size_t              len;
} keryu_redact_buf_t;


static void keryu_sha256_init(keryu_sha256_t *c, const uint32_t h[8],
    uint64_t len);
static void keryu_sha256_block(uint32_t h[8], const uint8_t *p);
static void keryu_sha256_update(keryu_sha256_t *c, const uint8_t *p,
    size_t len);
static void keryu_sha256_final(keryu_sha256_t *c, uint8_t md[32]);
static void keryu_redact_put(keryu_redact_buf_t *b, const uint8_t *p,
    size_t n);
static void keryu_redact_put_token(keryu_redact_buf_t *b,
    const keryu_redact_key_t *key, const uint8_t *value, size_t len);
static int keryu_redact_secret(const keryu_redact_names_t *list,
    const uint8_t *name, size_t len);
static int keryu_redact_listed(const keryu_redact_names_t *list,
    const uint8_t *name, size_t len);
static size_t keryu_redact_sep(const uint8_t *in, size_t len, size_t i);
static int keryu_redact_luhn(const uint8_t *in, const size_t *pos,
    size_t n);
static size_t keryu_redact_domain(const uint8_t *in, size_t len, size_t i);
static size_t keryu_redact_find(const uint8_t *in, size_t len, size_t i,
    uint8_t c);


static const uint32_t  keryu_sha256_iv[8] = {
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
    0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19
};


static const uint32_t  keryu_sha256_k[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5,
    0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
    0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc,
    0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
    0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
    0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3,
    0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5,
    0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
    0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2
};


#define keryu_redact_name(s)  { sizeof(s) - 1, (const uint8_t *) s }

static const keryu_bytes_t  keryu_redact_defaults[] = {
    keryu_redact_name("password"),
    keryu_redact_name("passwd"),
    keryu_redact_name("pass"),
    keryu_redact_name("pwd"),
    keryu_redact_name("token"),
    keryu_redact_name("access_token"),
    keryu_redact_name("refresh_token"),
    keryu_redact_name("id_token"),
    keryu_redact_name("api_key"),
    keryu_redact_name("apikey"),
    keryu_redact_name("secret"),
    keryu_redact_name("client_secret"),
    keryu_redact_name("session"),
    keryu_redact_name("sessionid"),
    keryu_redact_name("jsessionid"),
    keryu_redact_name("signature"),
    keryu_redact_name("x-amz-signature"),
    keryu_redact_name("x-amz-security-token"),
    keryu_redact_name("card"),
    keryu_redact_name("card_number"),
    keryu_redact_name("cc"),
    keryu_redact_name("cvv"),
    keryu_redact_name("cvc")
};


static const char  keryu_redact_hex[] = "0123456789abcdef";


/* the bytes that the search for card numbers stops at */

static const uint8_t  keryu_redact_card_stop[256] = {
    ['%'] = 1,
    ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1,
    ['5'] = 1, ['6'] = 1, ['7'] = 1, ['8'] = 1, ['9'] = 1
};


/* the bytes that may start a separator between digits */

static const uint8_t  keryu_redact_card_sep[256] = {
    [' '] = 1, ['-'] = 1, ['+'] = 1, ['%'] = 1
};


#define keryu_redact_digit(c)  ((c) >= '0' && (c) <= '9')

#define keryu_redact_alpha(c)                                                 \
    (((c) | 0x20) >= 'a' && ((c) | 0x20) <= 'z')

#define keryu_redact_alnum(c)                                                 \
    (keryu_redact_digit(c) || keryu_redact_alpha(c))

#define keryu_redact_xdigit(c)                                                \
    (keryu_redact_digit(c) || (((c) | 0x20) >= 'a' && ((c) | 0x20) <= 'f'))

#define keryu_redact_xval(c)                                                  \
    (keryu_redact_digit(c) ? (c) - '0' : ((c) | 0x20) - 'a' + 10)

#define keryu_redact_local(c)                                                 \
    (keryu_redact_alnum(c) || (c) == '.' || (c) == '_' || (c) == '%'          \
     || (c) == '+' || (c) == '-')

/* where a name sits in a list's filter */
#define keryu_redact_slot(p, n)                                               \
    (((p)[0] * 31u + (p)[(n) - 1] * 7u + (unsigned) (n) * 13u) & 0xff)

/*
 * whether a word holds a digit or a "%": bytes below 10 once xored with
 * "0", or zero once xored with "%"; exact for whether, not for where
 */
#define keryu_redact_ones     0x0101010101010101ULL
#define keryu_redact_highs    0x8080808080808080ULL
#define keryu_redact_below(x, n)                                              \
    (((x) - keryu_redact_ones * (n)) & ~(x) & keryu_redact_highs)
#define keryu_redact_stop8(w)                                                 \
    (keryu_redact_below((w) ^ (keryu_redact_ones * '0'), 10)                  \
     | keryu_redact_below((w) ^ (keryu_redact_ones * '%'), 1))

#define keryu_ror(x, n)  (((x) >> (n)) | ((x) << (32 - (n))))

/* one round of SHA-256: h and d take the round's results */
#define keryu_sha256_round(a, b, c, d, e, f, g, h, i)                         \
    do {                                                                      \
        t1 = h + (keryu_ror(e, 6) ^ keryu_ror(e, 11) ^ keryu_ror(e, 25))      \
             + (g ^ (e & (f ^ g))) + keryu_sha256_k[i] + w[i];                \
        t2 = (keryu_ror(a, 2) ^ keryu_ror(a, 13) ^ keryu_ror(a, 22))          \
             + ((a & b) | (c & (a | b)));                                     \
        d += t1;                                                              \
        h = t1 + t2;                                                          \
    } while (0)


/* ---- SHA-256 and HMAC ---- */

static void
keryu_sha256_init(keryu_sha256_t *c, const uint32_t h[8], uint64_t len)
{
    memcpy(c->h, h, sizeof(c->h));
    c->len = len;
    c->n = 0;
}


static void
keryu_sha256_block(uint32_t h[8], const uint8_t *p)
{
    int       i;
    uint32_t  w[64], a, b, c, d, e, f, g, x, t1, t2;

    for (i = 0; i < 16; i++) {
        w[i] = (uint32_t) p[4 * i] << 24 | (uint32_t) p[4 * i + 1] << 16
               | (uint32_t) p[4 * i + 2] << 8 | p[4 * i + 3];
    }

    for (i = 16; i < 64; i++) {
        t1 = keryu_ror(w[i - 2], 17) ^ keryu_ror(w[i - 2], 19)
             ^ (w[i - 2] >> 10);
        t2 = keryu_ror(w[i - 15], 7) ^ keryu_ror(w[i - 15], 18)
             ^ (w[i - 15] >> 3);
        w[i] = t1 + w[i - 7] + t2 + w[i - 16];
    }

    a = h[0];
    b = h[1];
    c = h[2];
    d = h[3];
    e = h[4];
    f = h[5];
    g = h[6];
    x = h[7];

    /* eight rounds a step, the variables renamed instead of moved */

    for (i = 0; i < 64; i += 8) {
        keryu_sha256_round(a, b, c, d, e, f, g, x, i);
        keryu_sha256_round(x, a, b, c, d, e, f, g, i + 1);
        keryu_sha256_round(g, x, a, b, c, d, e, f, i + 2);
        keryu_sha256_round(f, g, x, a, b, c, d, e, i + 3);
        keryu_sha256_round(e, f, g, x, a, b, c, d, i + 4);
        keryu_sha256_round(d, e, f, g, x, a, b, c, i + 5);
        keryu_sha256_round(c, d, e, f, g, x, a, b, i + 6);
        keryu_sha256_round(b, c, d, e, f, g, x, a, i + 7);
    }

    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
    h[4] += e;
    h[5] += f;
    h[6] += g;
    h[7] += x;
}


static void
keryu_sha256_update(keryu_sha256_t *c, const uint8_t *p, size_t len)
{
    size_t  n;

    c->len += len;

    if (c->n) {
        n = 64 - c->n < len ? 64 - c->n : len;
        memcpy(c->buf + c->n, p, n);
        c->n += n;
        p += n;
        len -= n;

        if (c->n < 64) {
            return;
        }

        keryu_sha256_block(c->h, c->buf);
        c->n = 0;
    }

    while (len >= 64) {
        keryu_sha256_block(c->h, p);
        p += 64;
        len -= 64;
    }

    if (len) {
        memcpy(c->buf, p, len);
        c->n = len;
    }
}


static void
keryu_sha256_final(keryu_sha256_t *c, uint8_t md[32])
{
    int       i;
    uint64_t  bits;

    bits = c->len * 8;

    c->buf[c->n++] = 0x80;

    if (c->n > 56) {
        memset(c->buf + c->n, 0, 64 - c->n);
        keryu_sha256_block(c->h, c->buf);
        c->n = 0;
    }

    memset(c->buf + c->n, 0, 56 - c->n);

    for (i = 0; i < 8; i++) {
        c->buf[56 + i] = (uint8_t) (bits >> (56 - 8 * i));
    }

    keryu_sha256_block(c->h, c->buf);

    for (i = 0; i < 8; i++) {
        md[4 * i] = (uint8_t) (c->h[i] >> 24);
        md[4 * i + 1] = (uint8_t) (c->h[i] >> 16);
        md[4 * i + 2] = (uint8_t) (c->h[i] >> 8);
        md[4 * i + 3] = (uint8_t) c->h[i];
    }
}


int
keryu_redact_key_init(keryu_redact_key_t *key, const uint8_t *secret,
    size_t len)
{
    int             i;
    uint8_t         k[64], pad[64];
    keryu_sha256_t  c;

    if (len < KERYU_REDACT_KEY_MIN || len > KERYU_REDACT_KEY_MAX) {
        return -1;
    }

    memset(k, 0, sizeof(k));

    /* a key longer than a block is replaced by its digest (RFC 2104) */

    if (len > sizeof(k)) {
        keryu_sha256_init(&c, keryu_sha256_iv, 0);
        keryu_sha256_update(&c, secret, len);
        keryu_sha256_final(&c, k);

    } else {
        memcpy(k, secret, len);
    }

    for (i = 0; i < 64; i++) {
        pad[i] = k[i] ^ 0x36;
    }

    memcpy(key->inner, keryu_sha256_iv, sizeof(key->inner));
    keryu_sha256_block(key->inner, pad);

    for (i = 0; i < 64; i++) {
        pad[i] = k[i] ^ 0x5c;
    }

    memcpy(key->outer, keryu_sha256_iv, sizeof(key->outer));
    keryu_sha256_block(key->outer, pad);

    explicit_bzero(k, sizeof(k));
    explicit_bzero(pad, sizeof(pad));
    explicit_bzero(&c, sizeof(c));

    return 0;
}


void
keryu_redact_hmac(const keryu_redact_key_t *key, const uint8_t *data,
    size_t len, uint8_t mac[32])
{
    uint8_t         md[32];
    keryu_sha256_t  c;

    keryu_sha256_init(&c, key->inner, 64);
    keryu_sha256_update(&c, data, len);
    keryu_sha256_final(&c, md);

    keryu_sha256_init(&c, key->outer, 64);
    keryu_sha256_update(&c, md, sizeof(md));
    keryu_sha256_final(&c, mac);
}


size_t
keryu_redact_token(const keryu_redact_key_t *key, const uint8_t *value,
    size_t len, uint8_t out[KERYU_REDACT_TOKEN_MAX])
{
    int      i;
    uint8_t  mac[32];

    if (key == NULL) {
        memcpy(out, KERYU_REDACT_NO_KEY, sizeof(KERYU_REDACT_NO_KEY) - 1);
        return sizeof(KERYU_REDACT_NO_KEY) - 1;
    }

    keryu_redact_hmac(key, value, len, mac);

    out[0] = '~';

    for (i = 0; i < 8; i++) {
        out[1 + 2 * i] = keryu_redact_hex[mac[i] >> 4];
        out[2 + 2 * i] = keryu_redact_hex[mac[i] & 0x0f];
    }

    return KERYU_REDACT_TOKEN_MAX;
}


/* ---- query arguments ---- */

const keryu_bytes_t *
keryu_redact_default_names(size_t *n)
{
    *n = sizeof(keryu_redact_defaults) / sizeof(keryu_bytes_t);

    return keryu_redact_defaults;
}


int
keryu_redact_name_check(const uint8_t *name, size_t len)
{
    size_t  i;

    if (len == 0 || len > KERYU_REDACT_NAME_MAX) {
        return -1;
    }

    for (i = 0; i < len; i++) {
        if (name[i] <= ' ' || name[i] == 0x7f
            || (name[i] >= 'A' && name[i] <= 'Z')
            || strchr("=&[]%+?#", name[i]) != NULL)
        {
            return -1;
        }
    }

    return 0;
}


void
keryu_redact_names_init(keryu_redact_names_t *list,
    const keryu_bytes_t *names, size_t n)
{
    size_t    i;
    unsigned  slot;

    list->names = names;
    list->n = n;
    memset(list->filter, 0, sizeof(list->filter));

    for (i = 0; i < n; i++) {
        if (names[i].len) {
            slot = keryu_redact_slot(names[i].data, names[i].len);
            list->filter[slot >> 6] |= (uint64_t) 1 << (slot & 63);
        }
    }
}


unsigned
keryu_redact_args(const keryu_redact_key_t *key,
    const keryu_redact_names_t *list, const uint8_t *uri, size_t len,
    uint8_t *out, size_t size, size_t *olen)
{
    unsigned             n;
    const uint8_t       *p, *q, *eq, *amp, *end;
    keryu_redact_buf_t   b;

    b.out = out;
    b.size = size;
    b.len = 0;

    n = 0;
    end = uri + len;
    q = (len && list->n) ? memchr(uri, '?', len) : NULL;

    if (q == NULL) {
        keryu_redact_put(&b, uri, len);

        if (olen) {
            *olen = b.len;
        }

        return 0;
    }

    p = q + 1;
    keryu_redact_put(&b, uri, p - uri);

    /*
     * a value ends at "&" only: ending it at ";" or "#" as well would
     * leave the rest of a value holding one of them in the clear
     */

    while (p < end) {
        amp = memchr(p, '&', end - p);
        if (amp == NULL) {
            amp = end;
        }

        eq = memchr(p, '=', amp - p);

        if (eq != NULL && amp - eq > 1
            && keryu_redact_secret(list, p, eq - p))
        {
            keryu_redact_put(&b, p, eq + 1 - p);
            keryu_redact_put_token(&b, key, eq + 1, amp - eq - 1);
            n++;

        } else {
            keryu_redact_put(&b, p, amp - p);
        }

        if (amp == end) {
            break;
        }

        keryu_redact_put(&b, amp, 1);
        p = amp + 1;
    }

    if (olen) {
        *olen = b.len;
    }

    return n;
}


/*
 * a name is secret when it, or a part of it between brackets, is listed;
 * a part too long to decode is taken as secret, so that no prefix, however
 * long, can hide a listed part
 */

static int
keryu_redact_secret(const keryu_redact_names_t *list, const uint8_t *name,
    size_t len)
{
    size_t   i, n;
    uint8_t  c, buf[KERYU_REDACT_DECODE_MAX];

    n = 0;

    for (i = 0; i < len; i++) {
        c = name[i];

        if (c == '%' && i + 2 < len && keryu_redact_xdigit(name[i + 1])
            && keryu_redact_xdigit(name[i + 2]))
        {
            c = (uint8_t) (keryu_redact_xval(name[i + 1]) << 4
                           | keryu_redact_xval(name[i + 2]));
            i += 2;

        } else if (c == '+') {
            c = ' ';
        }

        if (c == '[' || c == ']') {

            if (n && keryu_redact_listed(list, buf, n)) {
                return 1;
            }

            n = 0;
            continue;
        }

        if (n == sizeof(buf)) {
            return 1;
        }

        buf[n++] = (c >= 'A' && c <= 'Z') ? c | 0x20 : c;
    }

    return n && keryu_redact_listed(list, buf, n);
}


static int
keryu_redact_listed(const keryu_redact_names_t *list, const uint8_t *name,
    size_t len)
{
    size_t    i;
    unsigned  slot;

    /* most names in a query are not on the list: one bit says so */

    slot = keryu_redact_slot(name, len);

    if (!(list->filter[slot >> 6] >> (slot & 63) & 1)) {
        return 0;
    }

    for (i = 0; i < list->n; i++) {
        if (list->names[i].len == len && list->names[i].data[0] == name[0]
            && memcmp(list->names[i].data, name, len) == 0)
        {
            return 1;
        }
    }

    return 0;
}


/* ---- card numbers ---- */

unsigned
keryu_redact_cards(const uint8_t *in, size_t len, uint8_t *out, size_t size)
{
    size_t    i, j, k, w, nd, ng, next;
    size_t    pos[KERYU_REDACT_CARD_MAX], ends[KERYU_REDACT_CARD_MAX];
    uint64_t  word;
    unsigned  n;

    if (out != NULL && out != in) {
        memmove(out, in, len < size ? len : size);
    }

    n = 0;
    i = 0;

    for ( ;; ) {

        /* text without digits is passed over eight bytes at a time */

        while (i + 8 <= len) {
            memcpy(&word, in + i, 8);

            if (keryu_redact_stop8(word)) {
                break;
            }

            i += 8;
        }

        while (i < len && !keryu_redact_card_stop[in[i]]) {
            i++;
        }

        if (i == len) {
            break;
        }

        /* the digits of a percent escape are not a number's */

        if (in[i] == '%') {
            i += (i + 2 < len && keryu_redact_xdigit(in[i + 1])
                  && keryu_redact_xdigit(in[i + 2])) ? 3 : 1;
            continue;
        }

        /* most runs of digits are too short and end without a separator */

        for (j = i + 1; j < len && keryu_redact_digit(in[j]); j++) {
            /* void */
        }

        if (j - i < KERYU_REDACT_CARD_MIN
            && (j == len || keryu_redact_card_sep[in[j]] == 0
                || keryu_redact_sep(in, len, j) == 0))
        {
            i = j;
            continue;
        }

        /*
         * i starts a group of digits; take the groups that follow it
         * across single separators, up to as many digits as a card has,
         * and try the longest span of whole groups first, so that a
         * number just before a card, or a card just before a number,
         * does not hide it
         */

        nd = 0;
        ng = 0;
        next = 0;
        j = i;

        for ( ;; ) {
            while (j < len && keryu_redact_digit(in[j])) {
                if (nd < KERYU_REDACT_CARD_MAX) {
                    pos[nd] = j;
                }

                nd++;
                j++;
            }

            if (nd > KERYU_REDACT_CARD_MAX) {
                break;
            }

            ends[ng++] = nd;

            k = keryu_redact_sep(in, len, j);
            if (k == 0) {
                break;
            }

            if (next == 0) {
                next = j + k;
            }

            j += k;
        }

        for (w = ng; w > 0; w--) {
            nd = ends[w - 1];

            if (nd >= KERYU_REDACT_CARD_MIN
                && keryu_redact_luhn(in, pos, nd))
            {
                break;
            }
        }

        if (w == 0) {
            i = next ? next : j;
            continue;
        }

        n++;

        if (out != NULL) {
            for (k = 6; k < nd - 4; k++) {
                if (pos[k] < size) {
                    out[pos[k]] = '*';
                }
            }
        }

        i = pos[nd - 1] + 1;
    }

    return n;
}


/* the length of a separator at i that a digit follows, or 0 */

static size_t
keryu_redact_sep(const uint8_t *in, size_t len, size_t i)
{
    if (i + 1 < len && (in[i] == ' ' || in[i] == '-' || in[i] == '+')
        && keryu_redact_digit(in[i + 1]))
    {
        return 1;
    }

    if (i + 3 < len && in[i] == '%' && in[i + 1] == '2' && in[i + 2] == '0'
        && keryu_redact_digit(in[i + 3]))
    {
        return 3;
    }

    return 0;
}


static int
keryu_redact_luhn(const uint8_t *in, const size_t *pos, size_t n)
{
    size_t    i;
    unsigned  d, sum;

    sum = 0;

    for (i = 0; i < n; i++) {
        d = in[pos[n - 1 - i]] - '0';

        if (i & 1) {
            d *= 2;

            if (d > 9) {
                d -= 9;
            }
        }

        sum += d;
    }

    return sum % 10 == 0;
}


/* ---- email addresses ---- */

unsigned
keryu_redact_emails(const keryu_redact_key_t *key, const uint8_t *in,
    size_t len, uint8_t *out, size_t size, size_t *olen)
{
    size_t               i, at, start, end, done, next_at, next_pct;
    unsigned             n;
    keryu_redact_buf_t   b;

    b.out = out;
    b.size = size;
    b.len = 0;

    n = 0;
    done = 0;
    i = 0;
    next_at = keryu_redact_find(in, len, 0, '@');
    next_pct = keryu_redact_find(in, len, 0, '%');

    for ( ;; ) {

        /* the next "@" and the next "%", each looked for once passed */

        if (next_at < i) {
            next_at = keryu_redact_find(in, len, i, '@');
        }

        if (next_pct < i) {
            next_pct = keryu_redact_find(in, len, i, '%');
        }

        i = next_at < next_pct ? next_at : next_pct;

        if (i >= len) {
            break;
        }

        if (in[i] == '@') {
            at = 1;

        } else if (i + 2 < len && in[i + 1] == '4' && in[i + 2] == '0') {
            at = 3;

        } else {
            i++;
            continue;
        }

        start = i;

        while (start > done && keryu_redact_local(in[start - 1])) {
            start--;
        }

        end = keryu_redact_domain(in, len, i + at);

        if (start == i || end == 0) {
            i += at;
            continue;
        }

        keryu_redact_put(&b, in + done, start - done);
        keryu_redact_put_token(&b, key, in + start, i - start);
        keryu_redact_put(&b, in + i, end - i);

        n++;
        done = end;
        i = end;
    }

    keryu_redact_put(&b, in + done, len - done);

    if (olen) {
        *olen = b.len;
    }

    return n;
}


/* the position of the first c at or after i, or len */

static size_t
keryu_redact_find(const uint8_t *in, size_t len, size_t i, uint8_t c)
{
    const uint8_t  *p;

    if (i >= len) {
        return len;
    }

    p = memchr(in + i, c, len - i);

    return p ? (size_t) (p - in) : len;
}


/* the end of a domain starting at i, or 0 if none starts there */

static size_t
keryu_redact_domain(const uint8_t *in, size_t len, size_t i)
{
    size_t  j, end, dot;

    for (j = i; j < len; j++) {
        if (!keryu_redact_alnum(in[j]) && in[j] != '-' && in[j] != '.') {
            break;
        }
    }

    /* a sentence's full stop or a dash after the address is not in it */

    for (end = j; end > i; end--) {
        if (in[end - 1] != '.' && in[end - 1] != '-') {
            break;
        }
    }

    if (end == i || !keryu_redact_alnum(in[i])) {
        return 0;
    }

    for (dot = end - 1; dot > i; dot--) {
        if (in[dot] == '.') {
            break;
        }
    }

    if (dot == i || end - dot - 1 < 2 || !keryu_redact_alpha(in[dot + 1])) {
        return 0;
    }

    return end;
}


/* ---- client addresses ---- */

int
keryu_redact_addr(uint8_t *addr, unsigned family)
{
    static const uint8_t  mapped[12] = {
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
    };

    switch (family) {

    case 4:
        addr[3] = 0;
        return 0;

    case 6:
        if (memcmp(addr, mapped, sizeof(mapped)) == 0) {
            addr[15] = 0;

        } else {
            memset(addr + 6, 0, 10);
        }

        return 0;

    default:
        return -1;
    }
}


/* ---- output ---- */

static void
keryu_redact_put(keryu_redact_buf_t *b, const uint8_t *p, size_t n)
{
    size_t  room;

    if (b->out != NULL && n && b->len < b->size) {
        room = b->size - b->len;
        memcpy(b->out + b->len, p, n < room ? n : room);
    }

    b->len += n;
}


static void
keryu_redact_put_token(keryu_redact_buf_t *b, const keryu_redact_key_t *key,
    const uint8_t *value, size_t len)
{
    uint8_t  token[KERYU_REDACT_TOKEN_MAX];

    /* counting needs the length only, not the hash */

    if (b->out == NULL) {
        b->len += key ? KERYU_REDACT_TOKEN_MAX
                      : sizeof(KERYU_REDACT_NO_KEY) - 1;
        return;
    }

    keryu_redact_put(b, token, keryu_redact_token(key, value, len, token));
}
