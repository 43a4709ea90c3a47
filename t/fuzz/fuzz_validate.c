
/*
 * Copyright (C) Keryu Security
 *
 * libFuzzer target for the URI and argument validators.  The input is
 * taken three ways: as a request target for keryu_validate_uri(), as a
 * text decoded once for keryu_validate_text(), and as an argument string
 * that is split, unescaped and checked as the nginx module checks a
 * query, each value against the spec its name selects (integer, uuid,
 * email, enum, bounded string, pattern).
 *
 * Every result is compared with a slow, plainly written model of what
 * keryu_validate.h promises: the encoding checks at each depth of
 * decoding, the form decoding, the splitting, and each spec's rules.  A
 * text accepted therefore holds no ".." segment, NUL or overlong form at
 * any depth, and a text refused is refused for a reason the model finds
 * at the first depth that has one.  Every buffer handed to the library
 * is exactly as large as its contract asks and is followed by a guard,
 * so a byte written past it is caught even where AddressSanitizer would
 * see only the allocator's slack.  The first eight bytes, taken as an
 * integer, are also rounded as a shadow hit's bound is.  Any difference
 * aborts.
 */


#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keryu_validate.h"


#define FUZZ_GUARD        16
#define FUZZ_GUARD_BYTE   0xa5

/* problems the model finds at one depth, as bits of reason codes */
#define FUZZ_BIT(code)    (1u << (code))


int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


typedef struct {
    const char         *name;
    keryu_arg_spec_t    spec;
} fuzz_spec_t;


static const char *const  fuzz_enum_values[] = { "asc", "desc", "r\xc3\xa9" };
static const size_t       fuzz_enum_lens[] = { 3, 4, 3 };

static keryu_pattern_t   *fuzz_pattern;

static fuzz_spec_t        fuzz_specs[] = {
    { "id",    { "id", 2, KERYU_ARG_INTEGER, 0, 1, 1, -100, 100000, 0,
                 SIZE_MAX, NULL, NULL, 0, NULL, 0 } },
    { "big",   { "big", 3, KERYU_ARG_INTEGER, 0, 0, 1, 0, INT64_MAX, 0,
                 SIZE_MAX, NULL, NULL, 0, NULL, 0 } },
    { "uuid",  { "uuid", 4, KERYU_ARG_UUID, 0, 0, 0, 0, 0, 0, SIZE_MAX,
                 NULL, NULL, 0, NULL, 0 } },
    { "email", { "email", 5, KERYU_ARG_EMAIL, 0, 0, 0, 0, 0, 0, SIZE_MAX,
                 NULL, NULL, 0, NULL, 0 } },
    { "sort",  { "sort", 4, KERYU_ARG_ENUM, 0, 0, 0, 0, 0, 0, SIZE_MAX,
                 fuzz_enum_values, fuzz_enum_lens, 3, NULL, 0 } },
    { "q",     { "q", 1, KERYU_ARG_STRING, 0, 0, 0, 0, 0, 2, 8, NULL, NULL,
                 0, NULL, 0 } },
    { "code",  { "code", 4, KERYU_ARG_PATTERN, 0, 0, 0, 0, 0, 0, SIZE_MAX,
                 NULL, NULL, 0, NULL, 0 } },
    { "tag",   { "tag", 3, KERYU_ARG_STRING, 0, 0, 0, 0, 0, 1, 6, NULL,
                 NULL, 0, NULL, 0 } }
};

#define FUZZ_NSPECS  (sizeof(fuzz_specs) / sizeof(fuzz_specs[0]))


static void
fuzz_fail(const char *what, const uint8_t *s, size_t len)
{
    size_t  i;

    fprintf(stderr, "%s: \"", what);

    for (i = 0; i < len && i < 256; i++) {
        if (s[i] >= 0x20 && s[i] < 0x7f && s[i] != '"' && s[i] != '\\') {
            fputc(s[i], stderr);

        } else {
            fprintf(stderr, "\\x%02x", s[i]);
        }
    }

    fprintf(stderr, "\"\n");
    abort();
}


/* a buffer of exactly len bytes, followed by a guard */

static uint8_t *
fuzz_alloc(size_t len)
{
    uint8_t  *p;

    p = malloc(len + FUZZ_GUARD);
    if (p == NULL) {
        abort();
    }

    memset(p, FUZZ_GUARD_BYTE, len + FUZZ_GUARD);

    return p;
}


static void
fuzz_check_guard(const uint8_t *p, size_t len, const char *what)
{
    size_t  i;

    for (i = 0; i < FUZZ_GUARD; i++) {
        if (p[len + i] != FUZZ_GUARD_BYTE) {
            fuzz_fail(what, p, len);
        }
    }
}


/* ---- the model ---- */


static int
model_hex(uint8_t c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }

    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }

    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }

    return -1;
}


/* "%XX" to a byte, "%uXXXX" to UTF-8, anything else as it is */

static size_t
model_decode(uint8_t *out, const uint8_t *in, size_t len)
{
    size_t    i, o;
    unsigned  cp;

    o = 0;

    for (i = 0; i < len; i++) {
        if (in[i] == '%' && i + 2 < len && model_hex(in[i + 1]) >= 0
            && model_hex(in[i + 2]) >= 0)
        {
            out[o++] = (uint8_t) (model_hex(in[i + 1]) << 4
                                  | model_hex(in[i + 2]));
            i += 2;
            continue;
        }

        if (in[i] == '%' && i + 5 < len && (in[i + 1] == 'u'
                                            || in[i + 1] == 'U')
            && model_hex(in[i + 2]) >= 0 && model_hex(in[i + 3]) >= 0
            && model_hex(in[i + 4]) >= 0 && model_hex(in[i + 5]) >= 0)
        {
            cp = (unsigned) (model_hex(in[i + 2]) << 12
                             | model_hex(in[i + 3]) << 8
                             | model_hex(in[i + 4]) << 4
                             | model_hex(in[i + 5]));

            if (cp < 0x80) {
                out[o++] = (uint8_t) cp;

            } else if (cp < 0x800) {
                out[o++] = (uint8_t) (0xc0 | cp >> 6);
                out[o++] = (uint8_t) (0x80 | (cp & 0x3f));

            } else {
                out[o++] = (uint8_t) (0xe0 | cp >> 12);
                out[o++] = (uint8_t) (0x80 | ((cp >> 6) & 0x3f));
                out[o++] = (uint8_t) (0x80 | (cp & 0x3f));
            }

            i += 5;
            continue;
        }

        out[o++] = in[i];
    }

    return o;
}


/*
 * a lead byte at s[0] with all its continuation bytes: its length, and
 * its code point in *cp and the least one its length may carry in *min;
 * 0 when s does not start a whole sequence
 */

static size_t
model_sequence(const uint8_t *s, size_t len, uint32_t *cp, uint32_t *min)
{
    size_t  n, i;

    if (s[0] >= 0xc0 && s[0] <= 0xdf) {
        n = 2; *cp = s[0] & 0x1f; *min = 0x80;

    } else if (s[0] >= 0xe0 && s[0] <= 0xef) {
        n = 3; *cp = s[0] & 0x0f; *min = 0x800;

    } else if (s[0] >= 0xf0 && s[0] <= 0xf7) {
        n = 4; *cp = s[0] & 0x07; *min = 0x10000;

    } else if (s[0] >= 0xf8 && s[0] <= 0xfb) {
        n = 5; *cp = s[0] & 0x03; *min = 0x200000;

    } else if (s[0] >= 0xfc && s[0] <= 0xfd) {
        n = 6; *cp = s[0] & 0x01; *min = 0x4000000;

    } else {
        return 0;
    }

    if (len < n) {
        return 0;
    }

    for (i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80) {
            return 0;
        }

        *cp = *cp << 6 | (s[i] & 0x3f);
    }

    return n;
}


/* the problems of one depth of decoding */

static unsigned
model_problems(const uint8_t *s, size_t len, int strict)
{
    size_t    i, n, start;
    uint32_t  cp, min;
    unsigned  found;

    found = 0;

    if (memchr(s, '\0', len) != NULL) {
        found |= FUZZ_BIT(KERYU_VALID_NUL);
    }

    /* segments between / \ ; ? # and the ends */

    start = 0;

    for (i = 0; i <= len; i++) {
        if (i == len || s[i] == '/' || s[i] == '\\' || s[i] == ';'
            || s[i] == '?' || s[i] == '#')
        {
            if (i - start == 2 && s[start] == '.' && s[start + 1] == '.') {
                found |= FUZZ_BIT(KERYU_VALID_TRAVERSAL);
            }

            start = i + 1;
        }
    }

    /* overlong forms wherever a whole sequence starts */

    for (i = 0; i < len; i++) {
        n = model_sequence(s + i, len - i, &cp, &min);

        if (n && cp < min) {
            found |= FUZZ_BIT(KERYU_VALID_OVERLONG);
        }
    }

    if (!strict) {
        return found;
    }

    /* strict: well-formed UTF-8, code points up to U+10FFFF, no surrogate */

    for (i = 0; i < len; i += n) {
        if (s[i] < 0x80) {
            n = 1;
            continue;
        }

        n = model_sequence(s + i, len - i, &cp, &min);

        if (n == 0 || n > 4 || cp > 0x10ffff
            || (cp >= 0xd800 && cp <= 0xdfff))
        {
            found |= FUZZ_BIT(KERYU_VALID_UTF8);

            if (n == 0) {
                n = 1;
            }

        } else if (cp < min) {
            found |= FUZZ_BIT(KERYU_VALID_OVERLONG);
        }
    }

    return found;
}


/*
 * the encoding checks of the model over a text at depth first (0 for a
 * request target, 1 for a text decoded once): the problems of the first
 * depth that has any, or 0
 */

static unsigned
model_encoding(const uint8_t *s, size_t len, int first)
{
    int       depth;
    size_t    n;
    uint8_t  *a, *b, *t;
    unsigned  found;

    a = fuzz_alloc(len + 1);
    b = fuzz_alloc(len + 1);

    memcpy(a, s, len);
    n = len;
    found = 0;

    for (depth = first; depth <= KERYU_VALIDATE_DEPTH; depth++) {
        found = model_problems(a, n, depth <= 1);

        if (found) {
            break;
        }

        n = model_decode(b, a, n);
        t = a; a = b; b = t;
    }

    free(a);
    free(b);

    return found;
}


static size_t
model_unescape(uint8_t *out, const uint8_t *in, size_t len, int plus)
{
    size_t  i, o;

    o = 0;

    for (i = 0; i < len; i++) {
        if (in[i] == '+' && plus) {
            out[o++] = ' ';

        } else if (in[i] == '%' && i + 2 < len && model_hex(in[i + 1]) >= 0
                   && model_hex(in[i + 2]) >= 0)
        {
            out[o++] = (uint8_t) (model_hex(in[i + 1]) * 16
                                  + model_hex(in[i + 2]));
            i += 2;

        } else {
            out[o++] = in[i];
        }
    }

    return o;
}


static size_t
model_chars(const uint8_t *s, size_t len)
{
    size_t  i, n;

    for (i = 0, n = 0; i < len; i++) {
        n += (s[i] & 0xc0) != 0x80;
    }

    return n;
}


/*
 * a decimal integer: 0 with its value, 1 for not an integer, 2 for one
 * past 64 bits
 */

static int
model_integer(const uint8_t *s, size_t len, int64_t *v)
{
    int         neg;
    size_t      i, first;
    __int128    n;

    neg = (len > 0 && s[0] == '-');
    first = neg;

    if (first == len) {
        return 1;
    }

    for (i = first; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return 1;
        }
    }

    n = 0;

    for (i = first; i < len; i++) {
        n = n * 10 + (s[i] - '0');

        if (n > (__int128) INT64_MAX + 1) {
            return 2;
        }
    }

    if (neg) {
        n = -n;
    }

    if (n > INT64_MAX) {
        return 2;
    }

    *v = (int64_t) n;

    return 0;
}


static int
model_uuid(const uint8_t *s, size_t len)
{
    size_t  i;

    if (len != 36) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-') {
                return 0;
            }

        } else if (model_hex(s[i]) < 0) {
            return 0;
        }
    }

    return 1;
}


/* what an accepted address must at least be */

static int
model_email_plausible(const uint8_t *s, size_t len)
{
    size_t          i, ats;
    const uint8_t  *at;

    if (len < 5 || len > 254) {
        return 0;
    }

    for (i = 0, ats = 0; i < len; i++) {
        if (s[i] <= 0x20 || s[i] >= 0x7f) {
            return 0;
        }

        ats += s[i] == '@';
    }

    at = memchr(s, '@', len);

    return ats == 1 && at != s && (size_t) (at - s) <= 64
           && memchr(at, '.', len - (size_t) (at - s)) != NULL
           && s[len - 1] != '.' && s[len - 1] != '-' && at[1] != '.'
           && at[-1] != '.' && s[0] != '.';
}


/* ^[a-z]{1,4}-[0-9]+$ */

static int
model_code(const uint8_t *s, size_t len)
{
    size_t  i;

    for (i = 0; i < len && s[i] >= 'a' && s[i] <= 'z'; i++) {
        /* void */
    }

    if (i == 0 || i > 4 || i == len || s[i] != '-' || i + 1 == len) {
        return 0;
    }

    for (i++; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return 0;
        }
    }

    return 1;
}


/* what keryu_arg_check() must answer, by the model */

static int
model_arg(const keryu_arg_spec_t *spec, const uint8_t *v, size_t len)
{
    int      rc;
    size_t   i, chars;
    int64_t  n;

    switch (spec->type) {

    case KERYU_ARG_INTEGER:
        rc = model_integer(v, len, &n);

        if (rc == 1) {
            return KERYU_VALID_INTEGER;
        }

        if (rc == 2 || (spec->has_min && n < spec->min)
            || (spec->has_max && n > spec->max))
        {
            return KERYU_VALID_RANGE;
        }

        break;

    case KERYU_ARG_UUID:
        if (!model_uuid(v, len)) {
            return KERYU_VALID_UUID;
        }

        break;

    default:
        break;
    }

    chars = model_chars(v, len);

    if (chars < spec->minlen) {
        return KERYU_VALID_SHORT;
    }

    if (chars > spec->maxlen) {
        return KERYU_VALID_LONG;
    }

    if (spec->type == KERYU_ARG_ENUM) {
        for (i = 0; i < spec->nvalues; i++) {
            if (spec->value_lens[i] == len
                && memcmp(spec->values[i], v, len) == 0)
            {
                break;
            }
        }

        if (i == spec->nvalues) {
            return KERYU_VALID_ENUM;
        }
    }

    if (spec->type == KERYU_ARG_PATTERN && !model_code(v, len)) {
        return KERYU_VALID_PATTERN;
    }

    return KERYU_VALID_OK;
}


/* ---- the checks ---- */


static void
fuzz_encoding(const uint8_t *data, size_t size, int uri)
{
    int       code;
    uint8_t  *in, *scratch;
    unsigned  found;

    in = fuzz_alloc(size);
    scratch = fuzz_alloc(size);

    memcpy(in, data, size);

    if (uri) {
        code = keryu_validate_uri(in, size, scratch);

    } else {
        code = keryu_validate_text(in, size, scratch);
    }

    fuzz_check_guard(scratch, size, "scratch written past its end");
    fuzz_check_guard(in, size, "input written past its end");

    if (memcmp(in, data, size) != 0) {
        fuzz_fail("input changed", data, size);
    }

    if (code < 0 || code >= KERYU_VALID_MAX
        || keryu_validate_reason(code) == NULL)
    {
        fuzz_fail("unknown reason code", data, size);
    }

    found = model_encoding(data, size, uri ? 0 : 1);

    if (code == KERYU_VALID_OK && found) {
        fprintf(stderr, "accepted, model finds 0x%x\n", found);
        fuzz_fail(uri ? "uri accepted" : "text accepted", data, size);
    }

    if (code != KERYU_VALID_OK && !(found & FUZZ_BIT(code))) {
        fprintf(stderr, "refused: %s, model finds 0x%x\n",
                keryu_validate_reason(code), found);
        fuzz_fail(uri ? "uri refused" : "text refused", data, size);
    }

    free(in);
    free(scratch);
}


static void
fuzz_unescape(const uint8_t *data, size_t size, int plus)
{
    size_t    n, m;
    uint8_t  *out, *model;

    out = fuzz_alloc(size);
    model = fuzz_alloc(size);

    n = keryu_validate_unescape(out, data, size, plus);

    fuzz_check_guard(out, size, "unescape wrote past its output");

    m = model_unescape(model, data, size, plus);

    if (n > size || n != m || memcmp(out, model, n) != 0) {
        fuzz_fail("unescape differs from the model", data, size);
    }

    /* in place, as the module may call it */

    memcpy(out, data, size);

    n = keryu_validate_unescape(out, out, size, plus);

    if (n != m || memcmp(out, model, n) != 0) {
        fuzz_fail("unescape in place differs", data, size);
    }

    fuzz_check_guard(out, size, "unescape in place wrote past its end");

    free(out);
    free(model);
}


static const keryu_arg_spec_t *
fuzz_spec(const uint8_t *name, size_t len)
{
    size_t  i;

    for (i = 0; i < FUZZ_NSPECS; i++) {
        if (strlen(fuzz_specs[i].name) == len
            && memcmp(fuzz_specs[i].name, name, len) == 0)
        {
            return &fuzz_specs[i].spec;
        }
    }

    return NULL;
}


static void
fuzz_value(const keryu_arg_spec_t *spec, const uint8_t *v, size_t len)
{
    int       code, model;
    uint8_t  *copy;

    copy = fuzz_alloc(len);
    memcpy(copy, v, len);

    code = keryu_arg_check(spec, copy, len);
    model = model_arg(spec, copy, len);

    fuzz_check_guard(copy, len, "arg check wrote past the value");

    if (spec->type == KERYU_ARG_EMAIL) {
        if (code == KERYU_VALID_OK && !model_email_plausible(copy, len)) {
            fuzz_fail("implausible email accepted", copy, len);
        }

        if (code != KERYU_VALID_OK && code != KERYU_VALID_EMAIL) {
            fuzz_fail("email refused for another reason", copy, len);
        }

    } else if (code != model) {
        fprintf(stderr, "spec %s: %s, model: %s\n", spec->name,
                keryu_validate_reason(code), keryu_validate_reason(model));
        fuzz_fail("arg check differs from the model", copy, len);
    }

    free(copy);
}


/* an argument string as the module takes a query */

static void
fuzz_args(const uint8_t *data, size_t size)
{
    int                      code;
    size_t                   i, covered, nlen, vlen, need;
    uint8_t                 *buf, *name, *value, *deep;
    const uint8_t           *p, *end, *last;
    keryu_arg_pair_t         pair;
    const keryu_arg_spec_t  *spec;

    p = data;
    end = data + size;
    last = data;
    covered = 0;

    while (keryu_args_next(&p, end, &pair)) {

        /* a piece lies inside the input, after the last, and is whole */

        if (pair.name < last || pair.name_len + (pair.value ? 1 : 0)
                                + pair.value_len == 0
            || pair.name + pair.name_len > end
            || memchr(pair.name, '&', pair.name_len) != NULL
            || memchr(pair.name, '=', pair.name_len) != NULL
            || (pair.value
                && (pair.value != pair.name + pair.name_len + 1
                    || pair.value[-1] != '='
                    || pair.value + pair.value_len > end
                    || memchr(pair.value, '&', pair.value_len) != NULL))
            || (pair.value == NULL && pair.value_len != 0))
        {
            fuzz_fail("bad pair", data, size);
        }

        last = pair.value ? pair.value + pair.value_len
                          : pair.name + pair.name_len;

        if (last != end && *last != '&') {
            fuzz_fail("pair cut short", data, size);
        }

        /* only "&"s lie between two pieces */

        for (i = 0; i < (size_t) (pair.name - data) - covered; i++) {
            if (data[covered + i] != '&') {
                fuzz_fail("bytes skipped between pairs", data, size);
            }
        }

        covered = (size_t) (last - data);

        if (p < last || p > end) {
            fuzz_fail("position moved wrongly", data, size);
        }

        /* as the module does: both decoded into one scratch buffer */

        need = 2 * (pair.name_len + pair.value_len);
        buf = fuzz_alloc(need);

        name = buf;
        nlen = keryu_validate_unescape(name, pair.name, pair.name_len, 1);

        value = name + nlen;
        vlen = keryu_validate_unescape(value, pair.value, pair.value_len, 1);

        deep = value + vlen;

        if (nlen > pair.name_len || vlen > pair.value_len) {
            fuzz_fail("unescape grew", data, size);
        }

        code = keryu_validate_text(name, nlen, deep);

        if (code == KERYU_VALID_OK
            && model_encoding(name, nlen, 1) != 0)
        {
            fuzz_fail("argument name accepted", name, nlen);
        }

        code = keryu_validate_text(value, vlen, deep);

        if (code == KERYU_VALID_OK
            && model_encoding(value, vlen, 1) != 0)
        {
            fuzz_fail("argument value accepted", value, vlen);
        }

        fuzz_check_guard(buf, need, "argument scratch overrun");

        spec = fuzz_spec(name, nlen);

        if (spec) {
            fuzz_value(spec, value, vlen);
        }

        free(buf);
    }

    for (i = covered; i < size; i++) {
        if (data[i] != '&') {
            fuzz_fail("bytes left after the last pair", data, size);
        }
    }
}


/* 0, or +-1, 2, 5 times a power of ten, or one of the ends of int64_t */

static int
fuzz_series(int64_t v)
{
    uint64_t  m;

    if (v == 0 || v == INT64_MAX || v == INT64_MIN) {
        return 1;
    }

    m = v < 0 ? - (uint64_t) v : (uint64_t) v;

    while (m % 10 == 0) {
        m /= 10;
    }

    return m == 1 || m == 2 || m == 5;
}


/* the bound a shadow hit records: on the series, on the right side */

static void
fuzz_round(const uint8_t *data, size_t size)
{
    int64_t  n, up, down;

    if (size < sizeof(int64_t)) {
        return;
    }

    memcpy(&n, data, sizeof(int64_t));

    up = keryu_validate_round(n, 1);
    down = keryu_validate_round(n, 0);

    if (up < n || down > n || !fuzz_series(up) || !fuzz_series(down)
        || keryu_validate_round(up, 1) != up
        || keryu_validate_round(down, 0) != down
        || (n != INT64_MAX && n != INT64_MIN && fuzz_series(n)
            && (up != n || down != n)))
    {
        fprintf(stderr, "round %lld: up %lld, down %lld\n", (long long) n,
                (long long) up, (long long) down);
        abort();
    }

    /* nothing of the series lies between n and the bound above it */

    if (up > n && up > 0 && up != INT64_MAX
        && keryu_validate_round(up - 1, 0) >= n)
    {
        fprintf(stderr, "round %lld: up %lld is not the least\n",
                (long long) n, (long long) up);
        abort();
    }
}


int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char    err[256];
    size_t  i;

    (void) argc;
    (void) argv;

    fuzz_pattern = keryu_pattern_compile("[a-z]{1,4}-\\d+", 14, err,
                                         sizeof(err));
    if (fuzz_pattern == NULL) {
        fprintf(stderr, "keryu_pattern_compile() failed: %s\n", err);
        abort();
    }

    for (i = 0; i < FUZZ_NSPECS; i++) {
        if (fuzz_specs[i].spec.type == KERYU_ARG_PATTERN) {
            fuzz_specs[i].spec.pattern = fuzz_pattern;
        }
    }

    return 0;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t  i;

    fuzz_encoding(data, size, 1);
    fuzz_encoding(data, size, 0);

    fuzz_unescape(data, size, 0);
    fuzz_unescape(data, size, 1);

    fuzz_args(data, size);

    fuzz_round(data, size);

    /* the whole input as a value of each spec */

    for (i = 0; i < FUZZ_NSPECS; i++) {
        fuzz_value(&fuzz_specs[i].spec, data, size);
    }

    return 0;
}
