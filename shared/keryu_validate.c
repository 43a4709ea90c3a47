
/*
 * Copyright (C) Keryu Security
 *
 * Input checks (keryu_validate.h).  One pass over a text finds a NUL,
 * bad or overlong UTF-8 and a ".." segment at once, and notes whether
 * the text holds an escape; only then is it decoded and scanned again,
 * the first time into the caller's scratch buffer, later in place, since
 * decoding never makes a text longer.  Argument values are checked by
 * type with hand-written scanners; patterns go to PCRE2 with match and
 * depth limits, so that no value can make a match run away.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "keryu_validate.h"


#define KERYU_EMAIL_MAX           254
#define KERYU_EMAIL_LOCAL_MAX     64
#define KERYU_EMAIL_LABEL_MAX     63
#define KERYU_UUID_LEN            36


struct keryu_pattern_s {
    pcre2_code               *code;
    pcre2_match_data         *data;
    pcre2_match_context      *mctx;
};


static int keryu_validate_levels(unsigned char *s, size_t len, int level);
static int keryu_validate_scan(const unsigned char *s, size_t len,
    int strict, int *escaped);
static int keryu_validate_utf8(const unsigned char *s, size_t len,
    size_t *n);
static int keryu_validate_hex(unsigned c);
static int keryu_validate_escape(const unsigned char *s, size_t len);
static size_t keryu_validate_decode(unsigned char *dst,
    const unsigned char *src, size_t len);
static uint64_t keryu_validate_series(uint64_t m, int up, uint64_t cap);
static int keryu_validate_uuid(const unsigned char *s, size_t len);
static int keryu_validate_email(const unsigned char *s, size_t len);


static const char *const  keryu_validate_reasons[] = {
    "",
    "nul byte",
    "invalid utf-8",
    "overlong utf-8",
    "path traversal",
    "not an integer",
    "not a uuid",
    "not an email address",
    "out of range",
    "too short",
    "too long",
    "not an allowed value",
    "no pattern match"
};


/*
 * the bytes a scan must look at: NUL, the segment ends, the dot, the
 * percent sign, and every byte above 0x7f; runs of the others are skipped
 */

static const uint8_t  keryu_validate_special[256] = {
    1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1,     /* # % . / */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1,     /* ; ? */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0,     /* \ */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1
};


static const uint64_t  keryu_validate_steps[3] = { 1, 2, 5 };


static const char *const  keryu_arg_types[] = {
    NULL, "string", "integer", "uuid", "email", "enum", "pattern", NULL
};


const char *
keryu_validate_reason(int code)
{
    if (code < 0 || code >= KERYU_VALID_MAX) {
        return "invalid";
    }

    return keryu_validate_reasons[code];
}


/* ---- encoding ---- */


int
keryu_validate_uri(const unsigned char *uri, size_t len,
    unsigned char *scratch)
{
    int     rc, escaped;
    size_t  n;

    rc = keryu_validate_scan(uri, len, 1, &escaped);

    if (rc != KERYU_VALID_OK || !escaped) {
        return rc;
    }

    n = keryu_validate_decode(scratch, uri, len);

    return keryu_validate_levels(scratch, n, 1);
}


int
keryu_validate_text(const unsigned char *s, size_t len,
    unsigned char *scratch)
{
    int     rc, escaped;
    size_t  n;

    rc = keryu_validate_scan(s, len, 1, &escaped);

    if (rc != KERYU_VALID_OK || !escaped) {
        return rc;
    }

    n = keryu_validate_decode(scratch, s, len);

    return keryu_validate_levels(scratch, n, 2);
}


/*
 * scans a text decoded level times, and decodes it again in place while
 * it holds an escape; only the first decoding must be valid UTF-8
 */

static int
keryu_validate_levels(unsigned char *s, size_t len, int level)
{
    int  rc, escaped;

    for ( ;; ) {
        rc = keryu_validate_scan(s, len, level <= 1, &escaped);

        if (rc != KERYU_VALID_OK || !escaped || level == KERYU_VALIDATE_DEPTH)
        {
            return rc;
        }

        len = keryu_validate_decode(s, s, len);
        level++;
    }
}


/*
 * one pass: NUL bytes, UTF-8 (any invalid sequence when strict, overlong
 * forms always), and ".." segments; a segment ends at "/", "\", ";",
 * "?" or "#", or at the end of the text
 */

static int
keryu_validate_scan(const unsigned char *s, size_t len, int strict,
    int *escaped)
{
    int       rc, dots;
    size_t    i, n;
    unsigned  c;

    *escaped = 0;
    dots = 0;

    for (i = 0; i < len; i++) {

        if (!keryu_validate_special[s[i]]) {
            dots = -1;

            do {
                i++;
            } while (i < len && !keryu_validate_special[s[i]]);

            if (i == len) {
                break;
            }
        }

        c = s[i];

        switch (c) {

        case '\0':
            return KERYU_VALID_NUL;

        case '/':
        case '\\':
        case ';':
        case '?':
        case '#':
            if (dots == 2) {
                return KERYU_VALID_TRAVERSAL;
            }

            dots = 0;
            continue;

        case '.':
            if (dots >= 0) {
                dots++;
            }

            continue;

        case '%':
            if (!*escaped && keryu_validate_escape(s + i, len - i)) {
                *escaped = 1;
            }

            break;
        }

        dots = -1;

        if (c < 0x80) {
            continue;
        }

        rc = keryu_validate_utf8(s + i, len - i, &n);

        if (rc == KERYU_VALID_OVERLONG || (rc != KERYU_VALID_OK && strict)) {
            return rc;
        }

        i += n - 1;
    }

    return dots == 2 ? KERYU_VALID_TRAVERSAL : KERYU_VALID_OK;
}


/*
 * reads one sequence starting with a byte above 0x7f; *n is its length,
 * or 1 for a byte that starts nothing valid
 */

static int
keryu_validate_utf8(const unsigned char *s, size_t len, size_t *n)
{
    size_t    i, need;
    uint32_t  cp, min;

    *n = 1;

    if (s[0] < 0xc0 || s[0] > 0xfd) {
        return KERYU_VALID_UTF8;
    }

    if (s[0] < 0xe0) {
        need = 1;
        cp = s[0] & 0x1f;
        min = 0x80;

    } else if (s[0] < 0xf0) {
        need = 2;
        cp = s[0] & 0x0f;
        min = 0x800;

    } else if (s[0] < 0xf8) {
        need = 3;
        cp = s[0] & 0x07;
        min = 0x10000;

    } else if (s[0] < 0xfc) {
        need = 4;
        cp = s[0] & 0x03;
        min = 0x200000;

    } else {
        need = 5;
        cp = s[0] & 0x01;
        min = 0x4000000;
    }

    for (i = 1; i <= need; i++) {
        if (i >= len || (s[i] & 0xc0) != 0x80) {
            return KERYU_VALID_UTF8;
        }

        cp = (cp << 6) | (s[i] & 0x3f);
    }

    *n = need + 1;

    if (cp < min) {
        return KERYU_VALID_OVERLONG;
    }

    if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
        return KERYU_VALID_UTF8;
    }

    return KERYU_VALID_OK;
}


static int
keryu_validate_hex(unsigned c)
{
    if (c >= '0' && c <= '9') {
        return (int) (c - '0');
    }

    c |= 0x20;

    if (c >= 'a' && c <= 'f') {
        return (int) (c - 'a' + 10);
    }

    return -1;
}


/* does s start with "%XX" or "%uXXXX" */

static int
keryu_validate_escape(const unsigned char *s, size_t len)
{
    size_t  i;

    if (len >= 3 && keryu_validate_hex(s[1]) >= 0
        && keryu_validate_hex(s[2]) >= 0)
    {
        return 1;
    }

    if (len < 6 || (s[1] | 0x20) != 'u') {
        return 0;
    }

    for (i = 2; i < 6; i++) {
        if (keryu_validate_hex(s[i]) < 0) {
            return 0;
        }
    }

    return 1;
}


/*
 * decodes "%XX" and "%uXXXX" (written as UTF-8, surrogates too, which a
 * strict scan then refuses) for the checks; dst may be src
 */

static size_t
keryu_validate_decode(unsigned char *dst, const unsigned char *src,
    size_t len)
{
    size_t          i;
    uint32_t        cp;
    unsigned char  *p;

    p = dst;

    for (i = 0; i < len; i++) {
        if (src[i] != '%' || !keryu_validate_escape(src + i, len - i)) {
            *p++ = src[i];
            continue;
        }

        if (keryu_validate_hex(src[i + 1]) >= 0
            && keryu_validate_hex(src[i + 2]) >= 0)
        {
            *p++ = (unsigned char) (keryu_validate_hex(src[i + 1]) * 16
                                    + keryu_validate_hex(src[i + 2]));
            i += 2;
            continue;
        }

        cp = (uint32_t) (keryu_validate_hex(src[i + 2]) << 12
                         | keryu_validate_hex(src[i + 3]) << 8
                         | keryu_validate_hex(src[i + 4]) << 4
                         | keryu_validate_hex(src[i + 5]));

        if (cp < 0x80) {
            *p++ = (unsigned char) cp;

        } else if (cp < 0x800) {
            *p++ = (unsigned char) (0xc0 | (cp >> 6));
            *p++ = (unsigned char) (0x80 | (cp & 0x3f));

        } else {
            *p++ = (unsigned char) (0xe0 | (cp >> 12));
            *p++ = (unsigned char) (0x80 | ((cp >> 6) & 0x3f));
            *p++ = (unsigned char) (0x80 | (cp & 0x3f));
        }

        i += 5;
    }

    return (size_t) (p - dst);
}


size_t
keryu_validate_unescape(unsigned char *dst, const unsigned char *src,
    size_t len, int plus)
{
    int             hi, lo;
    size_t          i;
    unsigned char  *p;

    p = dst;

    for (i = 0; i < len; i++) {

        if (src[i] == '+' && plus) {
            *p++ = ' ';
            continue;
        }

        if (src[i] == '%' && len - i >= 3) {
            hi = keryu_validate_hex(src[i + 1]);
            lo = keryu_validate_hex(src[i + 2]);

            if (hi >= 0 && lo >= 0) {
                *p++ = (unsigned char) (hi * 16 + lo);
                i += 2;
                continue;
            }
        }

        *p++ = src[i];
    }

    return (size_t) (p - dst);
}


/* ---- arguments ---- */


int
keryu_args_next(const unsigned char **p, const unsigned char *end,
    keryu_arg_pair_t *pair)
{
    const unsigned char  *start, *stop, *eq;

    while (*p < end) {
        start = *p;

        stop = memchr(start, '&', (size_t) (end - start));

        if (stop == NULL) {
            stop = end;
            *p = end;

        } else {
            *p = stop + 1;
        }

        if (stop == start) {
            continue;
        }

        eq = memchr(start, '=', (size_t) (stop - start));

        pair->name = start;

        if (eq) {
            pair->name_len = (size_t) (eq - start);
            pair->value = eq + 1;
            pair->value_len = (size_t) (stop - eq - 1);

        } else {
            pair->name_len = (size_t) (stop - start);
            pair->value = NULL;
            pair->value_len = 0;
        }

        return 1;
    }

    return 0;
}


int
keryu_arg_name_valid(const char *name, size_t len)
{
    size_t  i;
    char    c;

    if (len == 0 || len > KERYU_ARG_NAME_MAX) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        c = name[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
              || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'
              || c == '[' || c == ']' || c == ':'))
        {
            return 0;
        }
    }

    return 1;
}


const char *
keryu_arg_type_name(int type)
{
    if (type < KERYU_ARG_STRING || type > KERYU_ARG_PATTERN) {
        return NULL;
    }

    return keryu_arg_types[type];
}


int
keryu_arg_type_parse(const char *name, size_t len)
{
    int  i;

    for (i = KERYU_ARG_STRING; i <= KERYU_ARG_PATTERN; i++) {
        if (strlen(keryu_arg_types[i]) == len
            && memcmp(keryu_arg_types[i], name, len) == 0)
        {
            return i;
        }
    }

    return -1;
}


int
keryu_validate_integer(const unsigned char *s, size_t len, int64_t *n)
{
    int       neg;
    size_t    i;
    uint64_t  v, limit, d;

    neg = (len > 0 && s[0] == '-');
    i = neg ? 1 : 0;

    if (i == len) {
        return KERYU_VALID_INTEGER;
    }

    limit = neg ? (uint64_t) INT64_MAX + 1 : (uint64_t) INT64_MAX;
    v = 0;

    for ( /* void */ ; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return KERYU_VALID_INTEGER;
        }

        d = (uint64_t) (s[i] - '0');

        if (v > (limit - d) / 10) {

            /* the rest must still be digits for this to be a range error */

            for (i++; i < len; i++) {
                if (s[i] < '0' || s[i] > '9') {
                    return KERYU_VALID_INTEGER;
                }
            }

            return KERYU_VALID_RANGE;
        }

        v = v * 10 + d;
    }

    if (neg) {
        *n = (v == (uint64_t) INT64_MAX + 1) ? INT64_MIN : -(int64_t) v;

    } else {
        *n = (int64_t) v;
    }

    return KERYU_VALID_OK;
}


int
keryu_arg_check(const keryu_arg_spec_t *spec, const unsigned char *v,
    size_t len)
{
    int      rc;
    size_t   i, chars;
    int64_t  n;

    switch (spec->type) {

    case KERYU_ARG_INTEGER:
        rc = keryu_validate_integer(v, len, &n);
        if (rc != KERYU_VALID_OK) {
            return rc;
        }

        if ((spec->has_min && n < spec->min)
            || (spec->has_max && n > spec->max))
        {
            return KERYU_VALID_RANGE;
        }

        break;

    case KERYU_ARG_UUID:
        if (!keryu_validate_uuid(v, len)) {
            return KERYU_VALID_UUID;
        }

        break;

    case KERYU_ARG_EMAIL:
        if (!keryu_validate_email(v, len)) {
            return KERYU_VALID_EMAIL;
        }

        break;

    default:
        break;
    }

    /* len bytes are at most len code points: often that settles it */

    if (spec->minlen > 0 || len > spec->maxlen) {
        chars = keryu_validate_chars(v, len);

        if (chars < spec->minlen) {
            return KERYU_VALID_SHORT;
        }

        if (chars > spec->maxlen) {
            return KERYU_VALID_LONG;
        }
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

    if (spec->pattern && !keryu_pattern_match(spec->pattern, v, len)) {
        return KERYU_VALID_PATTERN;
    }

    return KERYU_VALID_OK;
}


/* code points of valid UTF-8: every byte that does not continue one */

size_t
keryu_validate_chars(const unsigned char *s, size_t len)
{
    size_t  i, n;

    n = 0;

    for (i = 0; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80) {
            n++;
        }
    }

    return n;
}


int64_t
keryu_validate_round(int64_t n, int up)
{
    uint64_t  m;

    if (n >= 0) {
        return (int64_t) keryu_validate_series((uint64_t) n, up, INT64_MAX);
    }

    /* the magnitude of a negative n rounds the other way */

    m = keryu_validate_series(- (uint64_t) n, !up, (uint64_t) INT64_MAX + 1);

    return (m > (uint64_t) INT64_MAX) ? INT64_MIN : - (int64_t) m;
}


/*
 * the least of 1, 2, 5, 10, 20, ... at or above m when up, else the
 * greatest at or below it; 0 for 0, and never more than cap
 */

static uint64_t
keryu_validate_series(uint64_t m, int up, uint64_t cap)
{
    int       i;
    uint64_t  p, v, below;

    if (m == 0) {
        return 0;
    }

    below = 0;

    for (p = 1; /* void */ ; p *= 10) {
        for (i = 0; i < 3; i++) {
            v = keryu_validate_steps[i] * p;

            if (v == m) {
                return v;
            }

            if (v > m) {
                return up ? (v > cap ? cap : v) : below;
            }

            below = v;
        }

        if (p > UINT64_MAX / 100) {

            /* 5 * 10^18 is the last of the series below 2^63 */

            return up ? cap : below;
        }
    }
}


/* 8-4-4-4-12 hex digits, any version, either case */

static int
keryu_validate_uuid(const unsigned char *s, size_t len)
{
    size_t  i;

    if (len != KERYU_UUID_LEN) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-') {
                return 0;
            }

        } else if (keryu_validate_hex(s[i]) < 0) {
            return 0;
        }
    }

    return 1;
}


/*
 * local@domain in ASCII: a dot-atom local part of at most 64 bytes, and a
 * domain of at least two labels of letters, digits and inner hyphens;
 * quoted local parts and address literals are refused
 */

static int
keryu_validate_email(const unsigned char *s, size_t len)
{
    size_t                i, label;
    unsigned              c, prev;
    const unsigned char  *at;

    if (len > KERYU_EMAIL_MAX) {
        return 0;
    }

    at = memchr(s, '@', len);

    if (at == NULL || at == s || (size_t) (at - s) > KERYU_EMAIL_LOCAL_MAX
        || at == s + len - 1)
    {
        return 0;
    }

    prev = '.';

    for (i = 0; s + i < at; i++) {
        c = s[i];

        if (c == '.') {
            if (prev == '.') {
                return 0;
            }

        } else if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
                     || (c >= '0' && c <= '9')
                     || (c > 0x20 && c < 0x7f
                         && strchr("!#$%&'*+/=?^_`{|}~-", (int) c) != NULL)))
        {
            return 0;
        }

        prev = c;
    }

    if (prev == '.') {
        return 0;
    }

    label = 0;
    prev = '.';

    for (i = (size_t) (at - s) + 1; i < len; i++) {
        c = s[i];

        if (c == '.') {
            if (label == 0 || prev == '-') {
                return 0;
            }

            label = 0;
            prev = c;
            continue;
        }

        if (c == '-') {
            if (label == 0) {
                return 0;
            }

        } else if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
                     || (c >= '0' && c <= '9')))
        {
            return 0;
        }

        if (++label > KERYU_EMAIL_LABEL_MAX) {
            return 0;
        }

        prev = c;
    }

    /* at least one dot, and the last label neither empty nor "-" ended */

    return label > 0 && prev != '-'
           && memchr(at + 1, '.', len - (size_t) (at - s) - 1) != NULL;
}


/* ---- patterns ---- */


keryu_pattern_t *
keryu_pattern_compile(const char *re, size_t len, char *err, size_t errlen)
{
    int               rc;
    PCRE2_SIZE        off;
    keryu_pattern_t  *p;
    PCRE2_UCHAR       msg[128];

    if (len > KERYU_PATTERN_MAX) {
        snprintf(err, errlen, "pattern is longer than %d bytes",
                 KERYU_PATTERN_MAX);
        return NULL;
    }

    p = calloc(1, sizeof(keryu_pattern_t));
    if (p == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }

    p->code = pcre2_compile((PCRE2_SPTR) re, len,
                            PCRE2_UTF | PCRE2_ANCHORED | PCRE2_ENDANCHORED,
                            &rc, &off, NULL);

    if (p->code == NULL) {
        pcre2_get_error_message(rc, msg, sizeof(msg));
        snprintf(err, errlen, "%s at offset %zu", (char *) msg, (size_t) off);
        free(p);
        return NULL;
    }

    /* without JIT the interpreter runs, within the same limits */

    (void) pcre2_jit_compile(p->code, PCRE2_JIT_COMPLETE);

    p->data = pcre2_match_data_create_from_pattern(p->code, NULL);
    p->mctx = pcre2_match_context_create(NULL);

    if (p->data == NULL || p->mctx == NULL) {
        snprintf(err, errlen, "out of memory");
        keryu_pattern_free(p);
        return NULL;
    }

    pcre2_set_match_limit(p->mctx, KERYU_PATTERN_MATCH_LIMIT);
    pcre2_set_depth_limit(p->mctx, KERYU_PATTERN_DEPTH_LIMIT);

    return p;
}


int
keryu_pattern_match(const keryu_pattern_t *p, const unsigned char *s,
    size_t len)
{
    int  rc;

    rc = pcre2_match(p->code, (PCRE2_SPTR) s, len, 0, 0, p->data, p->mctx);

    return rc >= 0;
}


void
keryu_pattern_free(keryu_pattern_t *p)
{
    if (p == NULL) {
        return;
    }

    pcre2_match_context_free(p->mctx);
    pcre2_match_data_free(p->data);
    pcre2_code_free(p->code);
    free(p);
}
