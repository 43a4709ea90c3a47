
/*
 * Copyright (C) Keryu Security
 *
 * Input checks for request URIs and arguments, shared by the nginx
 * module's directives and the "validation" policies (keryu_policy.h).
 * Plain C over byte strings, so that each check can be unit-tested and
 * fuzzed on its own.  Nothing here logs or allocates, apart from a
 * pattern's compiled form; functions return a reason code, and
 * keryu_validate_reason() names it for a record's details.
 *
 * Encoding checks, in keryu_validate_uri() and keryu_validate_text():
 *
 *   - a NUL byte, raw or encoded ("%00");
 *   - invalid UTF-8 in the text as given or decoded once: a stray
 *     continuation byte, a truncated sequence, a surrogate, a code point
 *     past U+10FFFF;
 *   - an overlong UTF-8 form at any depth of decoding: C0 and C1 leads,
 *     E0 80-9F, F0 80-8F, and the old five and six byte leads, so that
 *     "%c0%ae" (an overlong ".") is refused however it is wrapped;
 *   - a ".." segment at any depth of decoding, a segment being what lies
 *     between slashes, backslashes, or the start and the end of the text
 *     (and ".." followed by ";", which some servers strip): "../",
 *     "..\", "%2e%2e/", "%2e%2e%2f", "..%2f", "%252e%252e%252f", and
 *     "%u002e%u002e/" all count.
 *
 * Decoding for these checks turns "%XX" and "%uXXXX" into bytes (the
 * latter into UTF-8), leaves a "%" that starts neither as it is, and is
 * repeated while the text still holds an escape, up to
 * KERYU_VALIDATE_DEPTH times.  Past the first decoding only NUL bytes,
 * overlong forms and ".." segments are refused: a "%25" that legitimately
 * stood for "%" may well leave bytes that are not UTF-8.
 *
 * An argument's value, decoded as a form decodes it ("+" is a space),
 * can then be checked against an argument spec: its type and its bounds.
 */


#ifndef _KERYU_VALIDATE_H_INCLUDED_
#define _KERYU_VALIDATE_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>


/** how many times the encoding checks decode a text at most */
#define KERYU_VALIDATE_DEPTH      3

/** an argument name: 1 to this many of A-Z a-z 0-9 . _ - [ ] : */
#define KERYU_ARG_NAME_MAX        64

/** a pattern, as written */
#define KERYU_PATTERN_MAX         1024

/** pcre2_set_match_limit() and pcre2_set_depth_limit() for a pattern */
#define KERYU_PATTERN_MATCH_LIMIT 100000
#define KERYU_PATTERN_DEPTH_LIMIT 10000


/* reason codes */
#define KERYU_VALID_OK            0
#define KERYU_VALID_NUL           1     /**< "nul byte" */
#define KERYU_VALID_UTF8          2     /**< "invalid utf-8" */
#define KERYU_VALID_OVERLONG      3     /**< "overlong utf-8" */
#define KERYU_VALID_TRAVERSAL     4     /**< "path traversal" */
#define KERYU_VALID_INTEGER       5     /**< "not an integer" */
#define KERYU_VALID_UUID          6     /**< "not a uuid" */
#define KERYU_VALID_EMAIL         7     /**< "not an email address" */
#define KERYU_VALID_RANGE         8     /**< "out of range" */
#define KERYU_VALID_SHORT         9     /**< "too short" */
#define KERYU_VALID_LONG          10    /**< "too long" */
#define KERYU_VALID_ENUM          11    /**< "not an allowed value" */
#define KERYU_VALID_PATTERN       12    /**< "no pattern match" */
#define KERYU_VALID_MAX           13


typedef enum {
    KERYU_ARG_STRING = 1,
    KERYU_ARG_INTEGER,
    KERYU_ARG_UUID,
    KERYU_ARG_EMAIL,
    KERYU_ARG_ENUM,
    KERYU_ARG_PATTERN
} keryu_arg_type_e;


typedef struct keryu_pattern_s  keryu_pattern_t;


/**
 * What one argument (or one {name} segment of a path) must be.  Lengths
 * count characters, that is UTF-8 code points; the value has passed the
 * encoding checks before it gets here.
 */
typedef struct {
    const char               *name;
    size_t                    name_len;
    keryu_arg_type_e          type;
    int                       required;     /**< must appear at least once */
    int                       has_min;
    int                       has_max;
    int64_t                   min;          /**< integer only */
    int64_t                   max;
    size_t                    minlen;
    size_t                    maxlen;       /**< SIZE_MAX: no bound */
    const char *const        *values;       /**< enum only */
    const size_t             *value_lens;
    size_t                    nvalues;
    const keryu_pattern_t    *pattern;      /**< or NULL */
    unsigned                  segment;      /**< a segment's place in the
                                                 path, from 0 */
} keryu_arg_spec_t;


/** one name=value piece of an argument string, still encoded */
typedef struct {
    const unsigned char      *name;
    size_t                    name_len;
    const unsigned char      *value;        /**< NULL: no "=" */
    size_t                    value_len;
} keryu_arg_pair_t;


/** the text for a reason code, "" for KERYU_VALID_OK */
const char *keryu_validate_reason(int code);

/**
 * Checks a request target as the client sent it, path and query.
 * scratch must hold len bytes when the target has a "%"; it is not read
 * or written otherwise and may then be NULL.  Returns a reason code.
 */
int keryu_validate_uri(const unsigned char *uri, size_t len,
    unsigned char *scratch);

/**
 * Checks a text already decoded once, such as an argument's value, as
 * keryu_validate_uri() does from its first decoding on; scratch is as
 * for keryu_validate_uri(), and s is left as it was.  Returns a reason
 * code.
 */
int keryu_validate_text(const unsigned char *s, size_t len,
    unsigned char *scratch);

/**
 * Decodes an argument's name or value as a form does ("%XX", and "+" for
 * a space when plus is set) into dst, which may be src; dst needs len
 * bytes.  A "%" not followed by two hex digits stays.  Returns the
 * decoded length.
 */
size_t keryu_validate_unescape(unsigned char *dst, const unsigned char *src,
    size_t len, int plus);

/**
 * Splits the next piece off the argument string between *p and end, as
 * "&" separates them, skipping empty ones.  Returns 1 with the piece in
 * pair and *p moved past it, or 0 at the end.
 */
int keryu_args_next(const unsigned char **p, const unsigned char *end,
    keryu_arg_pair_t *pair);

/** returns 1 for a valid argument name (see KERYU_ARG_NAME_MAX) */
int keryu_arg_name_valid(const char *name, size_t len);

/** "string", "integer", ...; NULL for an unknown type */
const char *keryu_arg_type_name(int type);

/** the type called name (len bytes), or -1 */
int keryu_arg_type_parse(const char *name, size_t len);

/**
 * Reads a decimal integer, with an optional "-", into *n.  Returns 0, or
 * KERYU_VALID_INTEGER for anything else, KERYU_VALID_RANGE for one that
 * does not fit 64 bits.
 */
int keryu_validate_integer(const unsigned char *s, size_t len, int64_t *n);

/**
 * Checks one decoded value against a spec: its type, then its bounds and
 * values, then its pattern.  Returns a reason code.
 */
int keryu_arg_check(const keryu_arg_spec_t *spec, const unsigned char *v,
    size_t len);

/** code points of a text, counted as lengths are: bytes that start one */
size_t keryu_validate_chars(const unsigned char *s, size_t len);

/**
 * The nearest of 0 and +-1, 2, 5 times a power of ten at or above n when
 * up is set, at or below it otherwise, within int64_t: a bound that tells
 * a value's magnitude, for reports, without giving the value.
 */
int64_t keryu_validate_round(int64_t n, int up);

/**
 * Compiles a PCRE2 pattern (len bytes, UTF mode) that a whole value must
 * match: it is anchored at both ends.  Returns NULL with a message in
 * err for a pattern that does not compile, or with no memory.  A pattern
 * keeps the memory its matches use, so it serves one thread at a time.
 */
keryu_pattern_t *keryu_pattern_compile(const char *re, size_t len,
    char *err, size_t errlen);

/**
 * Returns 1 when the whole value matches, 0 when it does not or the match
 * ran into its limits.
 */
int keryu_pattern_match(const keryu_pattern_t *p, const unsigned char *s,
    size_t len);

/** NULL is accepted */
void keryu_pattern_free(keryu_pattern_t *p);


#endif /* _KERYU_VALIDATE_H_INCLUDED_ */
