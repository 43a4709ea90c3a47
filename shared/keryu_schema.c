
/*
 * Copyright (C) Keryu Security
 *
 * JSON Schema validation of request bodies (keryu_schema.h).
 *
 * Compiling reads the schema with yajl_tree and turns it into a tree of
 * nodes, one per subschema, with the names of "properties" and
 * "required" in one hash table per object and patterns compiled by
 * PCRE2.  Every block of it comes
 * from one list, freed in one loop; only the PCRE2 codes are freed apart.
 *
 * A run feeds the body to yajl's event parser.  Each callback finds the
 * schema of the value it sees from the record of the enclosing level (an
 * array's "items", or the schema its object's last name chose) and checks
 * the value against it there and then; an object's "required" names are
 * a bitmap per level, checked when the object ends.  The JSON pointer of
 * the value being read is not written as the body is read: each level
 * holds what it adds (a name of the schema, or an index), and the pointer
 * is written into one fixed buffer when the run fails.  Only a name the
 * schema does not know, which lives no longer than its callback, is
 * written at once.  Numbers are compared without strtod() where they
 * can be exactly.
 *
 * Before yajl sees a piece, a small scanner reads it for what yajl lets
 * through: UTF-8 that is not strict (yajl takes overlong forms and
 * surrogates), \u escapes that are half a surrogate pair (yajl turns them
 * into such bytes, or loses a character), and tokens longer than
 * KERYU_SCHEMA_TOKEN_MAX, which yajl would buffer whole.  yajl gets the
 * bytes before the first such fault, so it reports any error of its own
 * before it, and the same error wins however the body is cut.
 *
 * yajl cannot be told that an allocation failed, and writes through the
 * pointer it got.  Its allocations are therefore made only inside
 * keryu_schema_parse() and keryu_schema_yajl_new(), which set a jump
 * point: a failed one ends the run there with a longjmp() out of yajl,
 * which holds no lock or other state that would need unwinding.
 */


#include <errno.h>
#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <yajl/yajl_parse.h>
#include <yajl/yajl_tree.h>

#include "keryu_schema.h"


/* value kinds, as "type" names them; an instance is one of them */
#define KERYU_SCHEMA_T_NULL       0x01
#define KERYU_SCHEMA_T_BOOLEAN    0x02
#define KERYU_SCHEMA_T_OBJECT     0x04
#define KERYU_SCHEMA_T_ARRAY      0x08
#define KERYU_SCHEMA_T_STRING     0x10
#define KERYU_SCHEMA_T_INTEGER    0x20
#define KERYU_SCHEMA_T_NUMBER     0x40

/* numbers: an int64_t, an integer past it kept as digits, or a double */
#define KERYU_SCHEMA_N_INT        1
#define KERYU_SCHEMA_N_BIG        2
#define KERYU_SCHEMA_N_DBL        3

/* the numeric bounds a node has, and their index in node->bound */
#define KERYU_SCHEMA_B_MIN        0
#define KERYU_SCHEMA_B_XMIN       1
#define KERYU_SCHEMA_B_MAX        2
#define KERYU_SCHEMA_B_XMAX       3
#define KERYU_SCHEMA_B_N          4

/* the counts a node has */
#define KERYU_SCHEMA_C_MIN_LENGTH 0
#define KERYU_SCHEMA_C_MAX_LENGTH 1
#define KERYU_SCHEMA_C_MIN_ITEMS  2
#define KERYU_SCHEMA_C_MAX_ITEMS  3

#define KERYU_SCHEMA_NONE         SIZE_MAX

/* run states */
#define KERYU_SCHEMA_RUNNING      0
#define KERYU_SCHEMA_FAILED       1
#define KERYU_SCHEMA_DONE         2

/* scanner states */
#define KERYU_SCHEMA_SC_OUT       0   /* between tokens */
#define KERYU_SCHEMA_SC_BARE      1   /* in a number or literal */
#define KERYU_SCHEMA_SC_STR       2   /* in a string */
#define KERYU_SCHEMA_SC_UTF       3   /* in a string, within a character */
#define KERYU_SCHEMA_SC_ESC       4   /* after a backslash */
#define KERYU_SCHEMA_SC_HEX       5   /* in the digits of \u */
#define KERYU_SCHEMA_SC_LOW_BS    6   /* after a high surrogate's escape */
#define KERYU_SCHEMA_SC_LOW_U     7   /* and its low half's backslash */

/* what a level adds to the pointer of its value */
#define KERYU_SCHEMA_SEG_NONE     0   /* nothing: the object or array */
#define KERYU_SCHEMA_SEG_KEY      1   /* "/" and the name at key */
#define KERYU_SCHEMA_SEG_INDEX    2   /* "/" and index */
#define KERYU_SCHEMA_SEG_SHOWN    3   /* written in the path already */

/* bytes of a word: each set to one, to 0x7f, to 0x80 */
#define KERYU_SCHEMA_ONES         0x0101010101010101ULL
#define KERYU_SCHEMA_LO7          0x7f7f7f7f7f7f7f7fULL
#define KERYU_SCHEMA_HI           0x8080808080808080ULL

/* number texts that fit here are read from it, longer ones from scratch */
#define KERYU_SCHEMA_NUM_BUF      64

/* yajl_alloc() and a first parse take five blocks, freed if one fails */
#define KERYU_SCHEMA_BOOT_MAX     8

/* 2^63, as a double */
#define KERYU_SCHEMA_2_63         9223372036854775808.0


typedef struct keryu_schema_node_s  keryu_schema_node_t;


typedef struct {
    int                         kind;      /* KERYU_SCHEMA_N_* */
    int                         neg;       /* _BIG: below zero */
    int64_t                     i;         /* _INT */
    double                      d;         /* _DBL */
    const char                 *digits;    /* _BIG: no sign, no zero first */
    size_t                      ndigits;
} keryu_schema_num_t;


typedef struct {
    const char                 *name;      /* no NUL inside, NUL after */
    size_t                      len;
    keryu_schema_node_t        *schema;    /* NULL: anything */
} keryu_schema_prop_t;


/* a name an object's members are looked up by, from both keywords */
typedef struct {
    const char                 *name;      /* no NUL inside, NUL after */
    size_t                      len;
    keryu_schema_node_t        *schema;    /* "properties": NULL anything */
    size_t                      req;       /* index in "required", or
                                              KERYU_SCHEMA_NONE */
    unsigned                    prop;      /* in "properties" */
} keryu_schema_name_t;


typedef struct {
    unsigned                    type;      /* one KERYU_SCHEMA_T_*; numbers
                                              are _NUMBER */
    int                         b;
    keryu_schema_num_t          num;
    const char                 *str;
    size_t                      len;
} keryu_schema_enum_t;


/*
 * One subschema.  A false schema is a node with false_kw set and nothing
 * else: the keyword that a value it meets has broken.  A true schema, or
 * an absent one, is a NULL node.
 */
struct keryu_schema_node_s {
    unsigned                    types;     /* KERYU_SCHEMA_T_*, 0: any */
    unsigned                    bounds;    /* 1 << KERYU_SCHEMA_B_* */
    const char                 *false_kw;
    keryu_schema_num_t          bound[KERYU_SCHEMA_B_N];
    size_t                      count[4];  /* KERYU_SCHEMA_C_*; maxima are
                                              KERYU_SCHEMA_NONE if absent */
    pcre2_code                 *pattern;
    keryu_schema_node_t        *next_pattern;
    keryu_schema_node_t        *items;
    keryu_schema_node_t        *additional;
    keryu_schema_prop_t        *props;     /* sorted */
    size_t                      nprops;
    keryu_schema_prop_t        *required;  /* as written; schema unused */
    keryu_schema_prop_t       **req_sorted;
    size_t                      nrequired;
    keryu_schema_enum_t        *enums;
    size_t                      nenums;
    keryu_schema_name_t        *names;     /* "properties" and "required" */
    uint32_t                   *slots;     /* hash of names: index + 1,
                                              0 empty; NULL if none */
    size_t                      mask;      /* slots - 1, a power of 2 */
};


/* a block of a compiled schema; the 16 bytes keep malloc()'s alignment */
typedef struct keryu_schema_block_s  keryu_schema_block_t;

struct keryu_schema_block_s {
    keryu_schema_block_t       *next;
    uint64_t                    pad;
};


struct keryu_schema_s {
    keryu_schema_node_t        *root;      /* NULL: anything */
    keryu_schema_block_t       *blocks;
    keryu_schema_node_t        *patterns;  /* nodes with a pattern */
    size_t                      req_words; /* of the largest "required" */
};


typedef struct {
    keryu_schema_t             *schema;
    char                       *err;
    size_t                      errlen;
    const char                 *kw;        /* the keyword being read */
    size_t                      path_len;
    char                        path[KERYU_SCHEMA_POINTER_MAX];
} keryu_schema_cc_t;


typedef struct {
    const char                 *name;
    int                       (*set)(keryu_schema_cc_t *cc,
                                   keryu_schema_node_t *node, yajl_val v,
                                   unsigned nest, int arg);
    int                         arg;
} keryu_schema_kw_t;


/*
 * An open object or array of the body.  The pointer of the value being
 * read is the segments of the open levels, written out only when a run
 * fails or a name must be kept: a segment names a string of the schema,
 * which lives as long as the run, or an index; a name the schema does not
 * know is written at once (KERYU_SCHEMA_SEG_SHOWN).
 */
typedef struct {
    const keryu_schema_node_t  *node;      /* its schema; NULL: any */
    const keryu_schema_node_t  *child;     /* object: the schema of the
                                              member named last */
    uint64_t                   *seen;      /* object: "required" names read */
    size_t                      count;     /* array: elements begun */
    const char                 *key;       /* KERYU_SCHEMA_SEG_KEY */
    size_t                      key_len;
    size_t                      index;     /* KERYU_SCHEMA_SEG_INDEX */
    size_t                      base;      /* length of the pointer before
                                              its segment, while shown */
    unsigned                    array:1;
    unsigned                    pending:1; /* object: a name read, and its
                                              value not begun */
    unsigned                    seg:2;     /* KERYU_SCHEMA_SEG_* */
} keryu_schema_level_t;


struct keryu_schema_run_s {
    const keryu_schema_t       *schema;
    keryu_schema_alloc_t        alloc;
    yajl_handle                 yajl;
    pcre2_general_context      *gctx;
    pcre2_match_context        *mctx;
    pcre2_match_data           *match;
    char                       *scratch;   /* long number texts */
    size_t                      scratch_size;
    uint64_t                   *seen;      /* schema->req_words per level */
    int                         state;
    const char                 *keyword;
    const char                 *reason;

    jmp_buf                     jmp;
    unsigned                    armed:1;   /* jmp is set */
    unsigned                    booting:1; /* in yajl_alloc() */
    size_t                      nboot;
    void                       *boot[KERYU_SCHEMA_BOOT_MAX];

    int                         sc_state;
    size_t                      sc_len;    /* bytes of the token so far */
    unsigned                    sc_need;   /* UTF-8 bytes still to come */
    unsigned                    sc_lo;     /* the next one's range */
    unsigned                    sc_hi;
    unsigned                    sc_hex;    /* \u digits still to come */
    unsigned                    sc_cp;
    unsigned                    sc_high;   /* the \u read is a low half */
    const char                 *sc_kw;     /* why the scanner stopped */
    const char                 *sc_reason;

    size_t                      depth;
    size_t                      shown;     /* levels written in path */
    size_t                      path_len;  /* their length */
    char                        path[KERYU_SCHEMA_POINTER_MAX];
    char                        num[KERYU_SCHEMA_NUM_BUF];
    keryu_schema_level_t        levels[KERYU_SCHEMA_DEPTH_MAX];
};


static void *keryu_schema_cc_alloc(keryu_schema_cc_t *cc, size_t size);
static int keryu_schema_cc_error(keryu_schema_cc_t *cc, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
static size_t keryu_schema_cc_push(keryu_schema_cc_t *cc, const char *seg);
static void keryu_schema_cc_pop(keryu_schema_cc_t *cc, size_t base);
static int keryu_schema_node(keryu_schema_cc_t *cc, yajl_val v,
    const char *false_kw, unsigned nest, keryu_schema_node_t **out);
static int keryu_schema_kw_ignored(keryu_schema_cc_t *cc,
    keryu_schema_node_t *node, yajl_val v, unsigned nest, int arg);
static int keryu_schema_kw_type(keryu_schema_cc_t *cc,
    keryu_schema_node_t *node, yajl_val v, unsigned nest, int arg);
static int keryu_schema_kw_enum(keryu_schema_cc_t *cc,
    keryu_schema_node_t *node, yajl_val v, unsigned nest, int arg);
static int keryu_schema_kw_bound(keryu_schema_cc_t *cc,
    keryu_schema_node_t *node, yajl_val v, unsigned nest, int arg);
static int keryu_schema_kw_count(keryu_schema_cc_t *cc,
    keryu_schema_node_t *node, yajl_val v, unsigned nest, int arg);
static int keryu_schema_kw_pattern(keryu_schema_cc_t *cc,
    keryu_schema_node_t *node, yajl_val v, unsigned nest, int arg);
static int keryu_schema_kw_items(keryu_schema_cc_t *cc,
    keryu_schema_node_t *node, yajl_val v, unsigned nest, int arg);
static int keryu_schema_kw_properties(keryu_schema_cc_t *cc,
    keryu_schema_node_t *node, yajl_val v, unsigned nest, int arg);
static int keryu_schema_kw_additional(keryu_schema_cc_t *cc,
    keryu_schema_node_t *node, yajl_val v, unsigned nest, int arg);
static int keryu_schema_kw_required(keryu_schema_cc_t *cc,
    keryu_schema_node_t *node, yajl_val v, unsigned nest, int arg);
static int keryu_schema_cc_names(keryu_schema_cc_t *cc,
    keryu_schema_node_t *node);
static int keryu_schema_cc_number(keryu_schema_cc_t *cc, yajl_val v,
    keryu_schema_num_t *n);
static const char *keryu_schema_cc_string(keryu_schema_cc_t *cc,
    const char *s, size_t len);
static int keryu_schema_prop_cmp(const void *a, const void *b);
static int keryu_schema_prop_pcmp(const void *a, const void *b);
static int keryu_schema_name_cmp(const char *a, size_t alen, const char *b,
    size_t blen);
static int keryu_schema_has_nul_escape(const char *s, size_t len);

static int keryu_schema_yajl_new(keryu_schema_run_t *run);
static void *keryu_schema_yajl_malloc(void *ctx, size_t size);
static void *keryu_schema_yajl_realloc(void *ctx, void *p, size_t size);
static void keryu_schema_yajl_free(void *ctx, void *p);
static void *keryu_schema_pcre_malloc(size_t size, void *data);
static void keryu_schema_pcre_free(void *p, void *data);
static void *keryu_schema_libc_malloc(void *ctx, size_t size);
static void *keryu_schema_libc_realloc(void *ctx, void *p, size_t size);
static void keryu_schema_libc_free(void *ctx, void *p);
static int keryu_schema_parse(keryu_schema_run_t *run,
    const unsigned char *buf, size_t len, int complete);
static size_t keryu_schema_scan(keryu_schema_run_t *run,
    const unsigned char *p, size_t len);
static size_t keryu_schema_scan_ascii(keryu_schema_run_t *run,
    const unsigned char *p, size_t len);
static int keryu_schema_scan_bytes(keryu_schema_run_t *run,
    const unsigned char *p, size_t len, size_t *n);
static int keryu_schema_hex(unsigned c);

static int keryu_schema_on_null(void *ctx);
static int keryu_schema_on_boolean(void *ctx, int b);
static int keryu_schema_on_number(void *ctx, const char *s, size_t len);
static int keryu_schema_on_string(void *ctx, const unsigned char *s,
    size_t len);
static int keryu_schema_on_start_map(void *ctx);
static int keryu_schema_on_map_key(void *ctx, const unsigned char *key,
    size_t len);
static int keryu_schema_on_end_map(void *ctx);
static int keryu_schema_on_start_array(void *ctx);
static int keryu_schema_on_end_array(void *ctx);
static int keryu_schema_value(keryu_schema_run_t *run, unsigned accept,
    const keryu_schema_node_t **np);
static int keryu_schema_push(keryu_schema_run_t *run,
    const keryu_schema_node_t *node, int array);
static int keryu_schema_fail(keryu_schema_run_t *run, const char *keyword,
    const char *reason);
static void keryu_schema_fail_at_parser(keryu_schema_run_t *run,
    const char *keyword, const char *reason);
static void keryu_schema_oom(keryu_schema_run_t *run);
static void keryu_schema_stop(keryu_schema_run_t *run, const char *keyword,
    const char *reason);
static void keryu_schema_unshow(keryu_schema_run_t *run, size_t level);
static void keryu_schema_show(keryu_schema_run_t *run);
static size_t keryu_schema_pointer_add(char *buf, size_t at,
    const unsigned char *s, size_t len);
static int keryu_schema_num_int(const char *s, size_t len,
    keryu_schema_num_t *n);
static int keryu_schema_num_dbl(const char *s, size_t len, double *d);
static int keryu_schema_num_cmp(const keryu_schema_num_t *a,
    const keryu_schema_num_t *b);
static int keryu_schema_int_dbl_cmp(int64_t i, double d);
static int keryu_schema_big_dbl_cmp(const keryu_schema_num_t *big,
    double d);
static int keryu_schema_digits_cmp(const char *a, size_t alen, const char *b,
    size_t blen);
static int keryu_schema_bounds(keryu_schema_run_t *run,
    const keryu_schema_node_t *node, const keryu_schema_num_t *num);
static const keryu_schema_prop_t *keryu_schema_prop_find(
    const keryu_schema_prop_t *props, size_t n, const unsigned char *name,
    size_t len);
static uint32_t keryu_schema_hash(const unsigned char *s, size_t len);
static const keryu_schema_name_t *keryu_schema_name_find(
    const keryu_schema_node_t *node, const unsigned char *name, size_t len);


static const keryu_schema_kw_t  keryu_schema_keywords[] = {
    { "$schema", keryu_schema_kw_ignored, 0 },
    { "title", keryu_schema_kw_ignored, 0 },
    { "description", keryu_schema_kw_ignored, 0 },
    { "type", keryu_schema_kw_type, 0 },
    { "enum", keryu_schema_kw_enum, 0 },
    { "minimum", keryu_schema_kw_bound, KERYU_SCHEMA_B_MIN },
    { "exclusiveMinimum", keryu_schema_kw_bound, KERYU_SCHEMA_B_XMIN },
    { "maximum", keryu_schema_kw_bound, KERYU_SCHEMA_B_MAX },
    { "exclusiveMaximum", keryu_schema_kw_bound, KERYU_SCHEMA_B_XMAX },
    { "minLength", keryu_schema_kw_count, KERYU_SCHEMA_C_MIN_LENGTH },
    { "maxLength", keryu_schema_kw_count, KERYU_SCHEMA_C_MAX_LENGTH },
    { "pattern", keryu_schema_kw_pattern, 0 },
    { "items", keryu_schema_kw_items, 0 },
    { "minItems", keryu_schema_kw_count, KERYU_SCHEMA_C_MIN_ITEMS },
    { "maxItems", keryu_schema_kw_count, KERYU_SCHEMA_C_MAX_ITEMS },
    { "properties", keryu_schema_kw_properties, 0 },
    { "additionalProperties", keryu_schema_kw_additional, 0 },
    { "required", keryu_schema_kw_required, 0 },
    { NULL, NULL, 0 }
};


static const struct {
    const char                 *name;
    unsigned                    type;
} keryu_schema_types[] = {
    { "null", KERYU_SCHEMA_T_NULL },
    { "boolean", KERYU_SCHEMA_T_BOOLEAN },
    { "object", KERYU_SCHEMA_T_OBJECT },
    { "array", KERYU_SCHEMA_T_ARRAY },
    { "string", KERYU_SCHEMA_T_STRING },
    { "integer", KERYU_SCHEMA_T_INTEGER },
    { "number", KERYU_SCHEMA_T_NUMBER },
    { NULL, 0 }
};


/* which keyword a bound or a count is, for messages and errors */
static const char  *keryu_schema_bound_names[] = {
    "minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum"
};


/* what ends a number or a literal: whitespace and punctuation */
static const unsigned char  keryu_schema_delims[256] = {
    [' '] = 1, ['\t'] = 1, ['\n'] = 1, ['\r'] = 1, [','] = 1, [':'] = 1,
    ['['] = 1, [']'] = 1, ['{'] = 1, ['}'] = 1
};


static const yajl_callbacks  keryu_schema_callbacks = {
    keryu_schema_on_null,
    keryu_schema_on_boolean,
    NULL,
    NULL,
    keryu_schema_on_number,
    keryu_schema_on_string,
    keryu_schema_on_start_map,
    keryu_schema_on_map_key,
    keryu_schema_on_end_map,
    keryu_schema_on_start_array,
    keryu_schema_on_end_array
};


static const keryu_schema_alloc_t  keryu_schema_libc = {
    keryu_schema_libc_malloc,
    keryu_schema_libc_realloc,
    keryu_schema_libc_free,
    NULL
};


/* ---- compiling ---------------------------------------------------- */


keryu_schema_t *
keryu_schema_compile(const char *json, size_t len, char *err, size_t errlen)
{
    char               *text, *nl;
    yajl_val            doc;
    keryu_schema_t     *s;
    keryu_schema_cc_t   cc;
    char                msg[256];

    if (err != NULL && errlen > 0) {
        err[0] = '\0';
    }

    cc.schema = NULL;
    cc.err = err;
    cc.errlen = errlen;
    cc.kw = NULL;
    cc.path_len = 0;
    cc.path[0] = '\0';

    /* yajl_tree reads a C string and keeps names as C strings */

    if (memchr(json, '\0', len) != NULL) {
        keryu_schema_cc_error(&cc, "NUL byte in schema");
        return NULL;
    }

    if (keryu_schema_has_nul_escape(json, len)) {
        keryu_schema_cc_error(&cc, "\"\\u0000\" in schema is unsupported");
        return NULL;
    }

    text = malloc(len + 1);
    if (text == NULL) {
        keryu_schema_cc_error(&cc, "out of memory");
        return NULL;
    }

    memcpy(text, json, len);
    text[len] = '\0';

    msg[0] = '\0';
    doc = yajl_tree_parse(text, msg, sizeof(msg));
    free(text);

    if (doc == NULL) {

        /* the first line; the next ones quote the text */

        nl = strchr(msg, '\n');
        if (nl != NULL) {
            *nl = '\0';
        }

        if (err != NULL && errlen > 0) {
            snprintf(err, errlen, "invalid schema JSON: %s",
                     msg[0] ? msg : "parse error");
        }

        return NULL;
    }

    s = calloc(1, sizeof(keryu_schema_t));
    if (s == NULL) {
        yajl_tree_free(doc);
        keryu_schema_cc_error(&cc, "out of memory");
        return NULL;
    }

    cc.schema = s;

    if (keryu_schema_node(&cc, doc, "false", 0, &s->root) != 0) {
        yajl_tree_free(doc);
        keryu_schema_free(s);
        return NULL;
    }

    yajl_tree_free(doc);

    return s;
}


void
keryu_schema_free(keryu_schema_t *s)
{
    keryu_schema_node_t   *node;
    keryu_schema_block_t  *b, *next;

    if (s == NULL) {
        return;
    }

    for (node = s->patterns; node != NULL; node = node->next_pattern) {
        pcre2_code_free(node->pattern);
    }

    for (b = s->blocks; b != NULL; b = next) {
        next = b->next;
        free(b);
    }

    free(s);
}


static void *
keryu_schema_cc_alloc(keryu_schema_cc_t *cc, size_t size)
{
    keryu_schema_block_t  *b;

    if (size > SIZE_MAX - sizeof(keryu_schema_block_t)) {
        keryu_schema_cc_error(cc, "out of memory");
        return NULL;
    }

    b = malloc(sizeof(keryu_schema_block_t) + size);
    if (b == NULL) {
        keryu_schema_cc_error(cc, "out of memory");
        return NULL;
    }

    b->next = cc->schema->blocks;
    cc->schema->blocks = b;

    return &b[1];
}


/* writes the message and where in the schema; returns -1 */

static int
keryu_schema_cc_error(keryu_schema_cc_t *cc, const char *fmt, ...)
{
    int      n;
    va_list  args;

    if (cc->err == NULL || cc->errlen == 0) {
        return -1;
    }

    va_start(args, fmt);
    n = vsnprintf(cc->err, cc->errlen, fmt, args);
    va_end(args);

    if (n >= 0 && (size_t) n < cc->errlen) {
        snprintf(cc->err + n, cc->errlen - n, " at \"#%s\"", cc->path);
    }

    return -1;
}


/* adds a segment to the schema pointer; returns the length before it */

static size_t
keryu_schema_cc_push(keryu_schema_cc_t *cc, const char *seg)
{
    size_t  base;

    base = cc->path_len;
    cc->path_len = keryu_schema_pointer_add(cc->path, base,
                                            (const unsigned char *) seg,
                                            strlen(seg));
    return base;
}


static void
keryu_schema_cc_pop(keryu_schema_cc_t *cc, size_t base)
{
    cc->path_len = base;
    cc->path[base] = '\0';
}


static int
keryu_schema_node(keryu_schema_cc_t *cc, yajl_val v, const char *false_kw,
    unsigned nest, keryu_schema_node_t **out)
{
    size_t                    i, k, nreq;
    uint32_t                  seen;
    const char               *name;
    keryu_schema_node_t      *node;
    const keryu_schema_kw_t  *kw;

    *out = NULL;

    if (YAJL_IS_TRUE(v)) {
        return 0;
    }

    if (!YAJL_IS_FALSE(v) && !YAJL_IS_OBJECT(v)) {
        return keryu_schema_cc_error(cc,
                                     "a schema must be an object or a boolean");
    }

    if (nest > KERYU_SCHEMA_NEST_MAX) {
        return keryu_schema_cc_error(cc, "schema nested deeper than %d",
                                     KERYU_SCHEMA_NEST_MAX);
    }

    node = keryu_schema_cc_alloc(cc, sizeof(keryu_schema_node_t));
    if (node == NULL) {
        return -1;
    }

    memset(node, 0, sizeof(keryu_schema_node_t));
    node->count[KERYU_SCHEMA_C_MAX_LENGTH] = KERYU_SCHEMA_NONE;
    node->count[KERYU_SCHEMA_C_MAX_ITEMS] = KERYU_SCHEMA_NONE;

    *out = node;

    if (YAJL_IS_FALSE(v)) {
        node->false_kw = false_kw;
        return 0;
    }

    seen = 0;

    for (i = 0; i < v->u.object.len; i++) {
        name = v->u.object.keys[i];

        for (k = 0; keryu_schema_keywords[k].name != NULL; k++) {
            if (strcmp(keryu_schema_keywords[k].name, name) == 0) {
                break;
            }
        }

        kw = &keryu_schema_keywords[k];

        if (kw->name == NULL) {
            return keryu_schema_cc_error(cc, "unsupported keyword \"%.64s\"",
                                         name);
        }

        if (seen & (1u << k)) {
            return keryu_schema_cc_error(cc, "duplicate keyword \"%s\"",
                                         kw->name);
        }

        seen |= 1u << k;
        cc->kw = kw->name;

        if (kw->set(cc, node, v->u.object.values[i], nest, kw->arg) != 0) {
            return -1;
        }
    }

    nreq = (node->nrequired + 63) / 64;

    if (nreq > cc->schema->req_words) {
        cc->schema->req_words = nreq;
    }

    return keryu_schema_cc_names(cc, node);
}


static int
keryu_schema_kw_ignored(keryu_schema_cc_t *cc, keryu_schema_node_t *node,
    yajl_val v, unsigned nest, int arg)
{
    (void) node;
    (void) nest;
    (void) arg;

    if (!YAJL_IS_STRING(v)) {
        return keryu_schema_cc_error(cc, "\"%s\" must be a string", cc->kw);
    }

    return 0;
}


static int
keryu_schema_kw_type(keryu_schema_cc_t *cc, keryu_schema_node_t *node,
    yajl_val v, unsigned nest, int arg)
{
    size_t       i, n, k;
    unsigned     t;
    yajl_val    *vals;
    const char  *name;

    (void) nest;
    (void) arg;

    if (YAJL_IS_STRING(v)) {
        vals = &v;
        n = 1;

    } else if (YAJL_IS_ARRAY(v) && v->u.array.len > 0) {
        vals = v->u.array.values;
        n = v->u.array.len;

    } else {
        return keryu_schema_cc_error(cc, "\"type\" must be a type name or "
                                     "a non-empty array of them");
    }

    for (i = 0; i < n; i++) {
        name = YAJL_GET_STRING(vals[i]);
        if (name == NULL) {
            return keryu_schema_cc_error(cc, "\"type\" must be a type name "
                                         "or a non-empty array of them");
        }

        t = 0;

        for (k = 0; keryu_schema_types[k].name != NULL; k++) {
            if (strcmp(keryu_schema_types[k].name, name) == 0) {
                t = keryu_schema_types[k].type;
                break;
            }
        }

        if (t == 0) {
            return keryu_schema_cc_error(cc, "unknown type \"%.64s\"", name);
        }

        if (node->types & t) {
            return keryu_schema_cc_error(cc, "duplicate type \"%s\"", name);
        }

        node->types |= t;
    }

    return 0;
}


static int
keryu_schema_kw_enum(keryu_schema_cc_t *cc, keryu_schema_node_t *node,
    yajl_val v, unsigned nest, int arg)
{
    size_t                i, n;
    yajl_val              e;
    keryu_schema_enum_t  *en;

    (void) nest;
    (void) arg;

    if (!YAJL_IS_ARRAY(v) || v->u.array.len == 0) {
        return keryu_schema_cc_error(cc, "\"enum\" must be a non-empty array");
    }

    n = v->u.array.len;

    if (n > SIZE_MAX / sizeof(keryu_schema_enum_t)) {
        return keryu_schema_cc_error(cc, "out of memory");
    }

    node->enums = keryu_schema_cc_alloc(cc, n * sizeof(keryu_schema_enum_t));
    if (node->enums == NULL) {
        return -1;
    }

    memset(node->enums, 0, n * sizeof(keryu_schema_enum_t));
    node->nenums = n;

    for (i = 0; i < n; i++) {
        e = v->u.array.values[i];
        en = &node->enums[i];

        if (YAJL_IS_NULL(e)) {
            en->type = KERYU_SCHEMA_T_NULL;

        } else if (YAJL_IS_TRUE(e) || YAJL_IS_FALSE(e)) {
            en->type = KERYU_SCHEMA_T_BOOLEAN;
            en->b = YAJL_IS_TRUE(e);

        } else if (YAJL_IS_STRING(e)) {
            en->type = KERYU_SCHEMA_T_STRING;
            en->len = strlen(e->u.string);
            en->str = keryu_schema_cc_string(cc, e->u.string, en->len);
            if (en->str == NULL) {
                return -1;
            }

        } else if (YAJL_IS_NUMBER(e)) {
            en->type = KERYU_SCHEMA_T_NUMBER;

            if (keryu_schema_cc_number(cc, e, &en->num) != 0) {
                return -1;
            }

        } else {
            return keryu_schema_cc_error(cc, "\"enum\" may hold only "
                                         "strings, numbers, booleans and "
                                         "null");
        }
    }

    return 0;
}


static int
keryu_schema_kw_bound(keryu_schema_cc_t *cc, keryu_schema_node_t *node,
    yajl_val v, unsigned nest, int arg)
{
    (void) nest;

    if (!YAJL_IS_NUMBER(v)) {
        return keryu_schema_cc_error(cc, "\"%s\" must be a number", cc->kw);
    }

    if (keryu_schema_cc_number(cc, v, &node->bound[arg]) != 0) {
        return -1;
    }

    node->bounds |= 1u << arg;

    return 0;
}


static int
keryu_schema_kw_count(keryu_schema_cc_t *cc, keryu_schema_node_t *node,
    yajl_val v, unsigned nest, int arg)
{
    keryu_schema_num_t  n;

    (void) nest;

    if (!YAJL_IS_NUMBER(v)
        || !keryu_schema_num_int(v->u.number.r, strlen(v->u.number.r), &n)
        || n.kind != KERYU_SCHEMA_N_INT || n.i < 0)
    {
        return keryu_schema_cc_error(cc, "\"%s\" must be a non-negative "
                                     "integer", cc->kw);
    }

#if (INT64_MAX > SIZE_MAX)
    if ((uint64_t) n.i >= SIZE_MAX) {
        n.i = SIZE_MAX - 1;
    }
#endif

    node->count[arg] = (size_t) n.i;

    return 0;
}


static int
keryu_schema_kw_pattern(keryu_schema_cc_t *cc, keryu_schema_node_t *node,
    yajl_val v, unsigned nest, int arg)
{
    int          rc;
    PCRE2_SIZE   off;
    const char  *p;
    char         msg[128];

    (void) nest;
    (void) arg;

    p = YAJL_GET_STRING(v);
    if (p == NULL) {
        return keryu_schema_cc_error(cc, "\"pattern\" must be a string");
    }

    /*
     * "$" matches only at the very end, as in ECMA-262: PCRE2's default
     * also matches before a final newline, which "^[a-z]+$" would let in
     */

    node->pattern = pcre2_compile((PCRE2_SPTR) p, strlen(p),
                                  PCRE2_UTF | PCRE2_DOLLAR_ENDONLY
                                  | PCRE2_NEVER_BACKSLASH_C,
                                  &rc, &off, NULL);
    if (node->pattern == NULL) {
        if (pcre2_get_error_message(rc, (PCRE2_UCHAR *) msg, sizeof(msg))
            < 0)
        {
            snprintf(msg, sizeof(msg), "error %d", rc);
        }

        return keryu_schema_cc_error(cc, "invalid \"pattern\": %s at "
                                     "offset %zu", msg, (size_t) off);
    }

    node->next_pattern = cc->schema->patterns;
    cc->schema->patterns = node;

    return 0;
}


static int
keryu_schema_kw_items(keryu_schema_cc_t *cc, keryu_schema_node_t *node,
    yajl_val v, unsigned nest, int arg)
{
    size_t  base;

    (void) arg;

    if (YAJL_IS_ARRAY(v)) {
        return keryu_schema_cc_error(cc, "\"items\" must be a schema (an "
                                     "array of schemas is \"prefixItems\", "
                                     "unsupported)");
    }

    base = keryu_schema_cc_push(cc, "items");

    if (keryu_schema_node(cc, v, "items", nest + 1, &node->items) != 0) {
        return -1;
    }

    keryu_schema_cc_pop(cc, base);

    return 0;
}


static int
keryu_schema_kw_additional(keryu_schema_cc_t *cc, keryu_schema_node_t *node,
    yajl_val v, unsigned nest, int arg)
{
    size_t  base;

    (void) arg;

    base = keryu_schema_cc_push(cc, "additionalProperties");

    if (keryu_schema_node(cc, v, "additionalProperties", nest + 1,
                          &node->additional)
        != 0)
    {
        return -1;
    }

    keryu_schema_cc_pop(cc, base);

    return 0;
}


static int
keryu_schema_kw_properties(keryu_schema_cc_t *cc, keryu_schema_node_t *node,
    yajl_val v, unsigned nest, int arg)
{
    size_t                base, i, n;
    keryu_schema_prop_t  *p;

    (void) arg;

    if (!YAJL_IS_OBJECT(v)) {
        return keryu_schema_cc_error(cc, "\"properties\" must be an object");
    }

    n = v->u.object.len;

    if (n > SIZE_MAX / sizeof(keryu_schema_prop_t)) {
        return keryu_schema_cc_error(cc, "out of memory");
    }

    node->props = keryu_schema_cc_alloc(cc, n * sizeof(keryu_schema_prop_t));
    if (node->props == NULL) {
        return -1;
    }

    node->nprops = n;

    for (i = 0; i < n; i++) {
        p = &node->props[i];
        p->len = strlen(v->u.object.keys[i]);
        p->name = keryu_schema_cc_string(cc, v->u.object.keys[i], p->len);
        if (p->name == NULL) {
            return -1;
        }

        base = keryu_schema_cc_push(cc, "properties");
        cc->path_len = keryu_schema_pointer_add(cc->path, cc->path_len,
                                        (const unsigned char *) p->name,
                                        p->len);

        if (keryu_schema_node(cc, v->u.object.values[i], "properties",
                              nest + 1, &p->schema)
            != 0)
        {
            return -1;
        }

        keryu_schema_cc_pop(cc, base);
    }

    qsort(node->props, n, sizeof(keryu_schema_prop_t),
          keryu_schema_prop_cmp);

    for (i = 1; i < n; i++) {
        if (keryu_schema_prop_cmp(&node->props[i - 1], &node->props[i]) == 0)
        {
            return keryu_schema_cc_error(cc, "duplicate name \"%.64s\" in "
                                         "\"properties\"",
                                         node->props[i].name);
        }
    }

    return 0;
}


static int
keryu_schema_kw_required(keryu_schema_cc_t *cc, keryu_schema_node_t *node,
    yajl_val v, unsigned nest, int arg)
{
    size_t                i, n;
    keryu_schema_prop_t  *r;

    (void) nest;
    (void) arg;

    if (!YAJL_IS_ARRAY(v)) {
        return keryu_schema_cc_error(cc, "\"required\" must be an array of "
                                     "strings");
    }

    n = v->u.array.len;

    if (n == 0) {
        return 0;
    }

    if (n > SIZE_MAX / sizeof(keryu_schema_prop_t)) {
        return keryu_schema_cc_error(cc, "out of memory");
    }

    node->required = keryu_schema_cc_alloc(cc,
                                           n * sizeof(keryu_schema_prop_t));
    node->req_sorted = keryu_schema_cc_alloc(cc,
                                       n * sizeof(keryu_schema_prop_t *));
    if (node->required == NULL || node->req_sorted == NULL) {
        return -1;
    }

    node->nrequired = n;

    for (i = 0; i < n; i++) {
        if (!YAJL_IS_STRING(v->u.array.values[i])) {
            return keryu_schema_cc_error(cc, "\"required\" must be an array "
                                         "of strings");
        }

        r = &node->required[i];
        r->len = strlen(v->u.array.values[i]->u.string);
        r->name = keryu_schema_cc_string(cc, v->u.array.values[i]->u.string,
                                         r->len);
        if (r->name == NULL) {
            return -1;
        }

        r->schema = NULL;
        node->req_sorted[i] = r;
    }

    qsort(node->req_sorted, n, sizeof(keryu_schema_prop_t *),
          keryu_schema_prop_pcmp);

    for (i = 1; i < n; i++) {
        if (keryu_schema_prop_pcmp(&node->req_sorted[i - 1],
                                   &node->req_sorted[i])
            == 0)
        {
            return keryu_schema_cc_error(cc, "duplicate name \"%.64s\" in "
                                         "\"required\"",
                                         node->req_sorted[i]->name);
        }
    }

    return 0;
}


/*
 * Makes the table a body's names are looked up in: each name of
 * "properties" and "required" once, with its schema and its place in
 * "required", hashed into twice as many slots or more.
 */

static int
keryu_schema_cc_names(keryu_schema_cc_t *cc, keryu_schema_node_t *node)
{
    size_t                      i, n, k, size;
    keryu_schema_name_t        *e;
    const keryu_schema_prop_t  *p, *r;

    n = node->nprops + node->nrequired;

    if (n == 0) {
        return 0;
    }

    if (n > UINT32_MAX / 2 || n > SIZE_MAX / 2 / sizeof(keryu_schema_name_t))
    {
        return keryu_schema_cc_error(cc, "out of memory");
    }

    for (size = 4; size < 2 * n; size *= 2) { /* void */ }

    node->names = keryu_schema_cc_alloc(cc, n * sizeof(keryu_schema_name_t));
    node->slots = keryu_schema_cc_alloc(cc, size * sizeof(uint32_t));
    if (node->names == NULL || node->slots == NULL) {
        return -1;
    }

    memset(node->slots, 0, size * sizeof(uint32_t));
    node->mask = size - 1;

    for (i = 0; i < node->nprops; i++) {
        p = &node->props[i];
        e = &node->names[i];

        e->name = p->name;
        e->len = p->len;
        e->schema = p->schema;
        e->req = KERYU_SCHEMA_NONE;
        e->prop = 1;
    }

    n = node->nprops;

    for (i = 0; i < node->nrequired; i++) {
        r = &node->required[i];
        p = keryu_schema_prop_find(node->props, node->nprops,
                                   (const unsigned char *) r->name, r->len);

        if (p != NULL) {
            node->names[p - node->props].req = i;
            continue;
        }

        e = &node->names[n++];

        e->name = r->name;
        e->len = r->len;
        e->schema = NULL;
        e->req = i;
        e->prop = 0;
    }

    for (i = 0; i < n; i++) {
        e = &node->names[i];
        k = keryu_schema_hash((const unsigned char *) e->name, e->len)
            & node->mask;

        while (node->slots[k] != 0) {
            k = (k + 1) & node->mask;
        }

        node->slots[k] = (uint32_t) (i + 1);
    }

    return 0;
}


/* a number of the schema: an integer exactly, a decimal if in range */

static int
keryu_schema_cc_number(keryu_schema_cc_t *cc, yajl_val v,
    keryu_schema_num_t *n)
{
    size_t       len;
    const char  *text;

    text = v->u.number.r;
    len = strlen(text);

    if (keryu_schema_num_int(text, len, n)) {
        if (n->kind == KERYU_SCHEMA_N_BIG) {
            n->digits = keryu_schema_cc_string(cc, n->digits, n->ndigits);
            if (n->digits == NULL) {
                return -1;
            }
        }

        return 0;
    }

    errno = 0;
    n->kind = KERYU_SCHEMA_N_DBL;
    n->d = strtod(text, NULL);

    if (errno == ERANGE) {
        return keryu_schema_cc_error(cc, "number in \"%s\" out of range",
                                     cc->kw);
    }

    return 0;
}


static const char *
keryu_schema_cc_string(keryu_schema_cc_t *cc, const char *s, size_t len)
{
    char  *p;

    p = keryu_schema_cc_alloc(cc, len + 1);
    if (p == NULL) {
        return NULL;
    }

    memcpy(p, s, len);
    p[len] = '\0';

    return p;
}


static int
keryu_schema_prop_cmp(const void *a, const void *b)
{
    const keryu_schema_prop_t  *pa = a, *pb = b;

    return keryu_schema_name_cmp(pa->name, pa->len, pb->name, pb->len);
}


static int
keryu_schema_prop_pcmp(const void *a, const void *b)
{
    const keryu_schema_prop_t  *pa = *(keryu_schema_prop_t * const *) a;
    const keryu_schema_prop_t  *pb = *(keryu_schema_prop_t * const *) b;

    return keryu_schema_name_cmp(pa->name, pa->len, pb->name, pb->len);
}


static int
keryu_schema_name_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    int  rc;

    rc = memcmp(a, b, alen < blen ? alen : blen);

    if (rc != 0) {
        return rc;
    }

    return alen < blen ? -1 : (alen > blen ? 1 : 0);
}


/*
 * Whether the text holds a \u0000 escape.  A backslash that is itself
 * escaped is skipped, so "\\u0000" is not one.
 */

static int
keryu_schema_has_nul_escape(const char *s, size_t len)
{
    size_t  i;

    for (i = 0; i + 1 < len; i++) {
        if (s[i] != '\\') {
            continue;
        }

        if (s[i + 1] == 'u' && i + 5 < len
            && memcmp(&s[i + 2], "0000", 4) == 0)
        {
            return 1;
        }

        i++;
    }

    return 0;
}


/* ---- runs --------------------------------------------------------- */


keryu_schema_run_t *
keryu_schema_run_new(const keryu_schema_t *s, const keryu_schema_alloc_t *a)
{
    size_t               size, words;
    keryu_schema_run_t  *run;

    if (a == NULL) {
        a = &keryu_schema_libc;
    }

    words = s->req_words * KERYU_SCHEMA_DEPTH_MAX;
    size = sizeof(keryu_schema_run_t) + words * sizeof(uint64_t);

    run = a->malloc(a->ctx, size);
    if (run == NULL) {
        return NULL;
    }

    memset(run, 0, sizeof(keryu_schema_run_t));
    run->schema = s;
    run->alloc = *a;
    run->state = KERYU_SCHEMA_RUNNING;
    run->keyword = "";
    run->reason = "";
    run->sc_state = KERYU_SCHEMA_SC_OUT;

    if (words > 0) {
        run->seen = (uint64_t *) &run[1];
    }

    if (s->patterns != NULL) {
        run->gctx = pcre2_general_context_create(keryu_schema_pcre_malloc,
                                                 keryu_schema_pcre_free, run);
        if (run->gctx == NULL) {
            goto failed;
        }

        run->mctx = pcre2_match_context_create(run->gctx);
        if (run->mctx == NULL) {
            goto failed;
        }

        pcre2_set_match_limit(run->mctx, KERYU_SCHEMA_MATCH_LIMIT);
        pcre2_set_depth_limit(run->mctx, KERYU_SCHEMA_DEPTH_LIMIT);
        pcre2_set_heap_limit(run->mctx, KERYU_SCHEMA_HEAP_LIMIT);

        /* one pair: a match is all that is asked, not its captures */

        run->match = pcre2_match_data_create(1, run->gctx);
        if (run->match == NULL) {
            goto failed;
        }
    }

    if (keryu_schema_yajl_new(run) != 0) {
        goto failed;
    }

    return run;

failed:

    keryu_schema_run_free(run);

    return NULL;
}


int
keryu_schema_run_feed(keryu_schema_run_t *run, const unsigned char *buf,
    size_t len)
{
    size_t  n;

    if (run->state == KERYU_SCHEMA_DONE) {
        run->path_len = 0;
        run->path[0] = '\0';
        keryu_schema_stop(run, "json", "data after the end");
        return -1;
    }

    if (run->state != KERYU_SCHEMA_RUNNING) {
        return -1;
    }

    n = keryu_schema_scan(run, buf, len);

    if (n > 0 && keryu_schema_parse(run, buf, n, 0) != 0) {
        return -1;
    }

    if (n < len) {
        keryu_schema_fail_at_parser(run, run->sc_kw, run->sc_reason);
        return -1;
    }

    return 0;
}


int
keryu_schema_run_finish(keryu_schema_run_t *run)
{
    if (run->state != KERYU_SCHEMA_RUNNING) {
        return -1;
    }

    if (keryu_schema_parse(run, NULL, 0, 1) != 0) {
        return -1;
    }

    run->state = KERYU_SCHEMA_DONE;

    return 0;
}


void
keryu_schema_run_error(const keryu_schema_run_t *run, const char **pointer,
    const char **keyword, const char **reason)
{
    int  failed;

    failed = (run->state == KERYU_SCHEMA_FAILED);

    if (pointer != NULL) {
        *pointer = failed ? run->path : "";
    }

    if (keyword != NULL) {
        *keyword = run->keyword;
    }

    if (reason != NULL) {
        *reason = run->reason;
    }
}


void
keryu_schema_run_free(keryu_schema_run_t *run)
{
    if (run == NULL) {
        return;
    }

    if (run->yajl != NULL) {
        yajl_free(run->yajl);
    }

    if (run->match != NULL) {
        pcre2_match_data_free(run->match);
    }

    if (run->mctx != NULL) {
        pcre2_match_context_free(run->mctx);
    }

    if (run->gctx != NULL) {
        pcre2_general_context_free(run->gctx);
    }

    if (run->scratch != NULL) {
        run->alloc.free(run->alloc.ctx, run->scratch);
    }

    run->alloc.free(run->alloc.ctx, run);
}


/*
 * yajl_alloc() with a jump point: when one of its allocations fails, the
 * blocks it had are freed and -1 returned, instead of yajl writing
 * through NULL.
 */

static int
keryu_schema_yajl_new(keryu_schema_run_t *run)
{
    yajl_handle       h;
    yajl_alloc_funcs  af;

    af.malloc = keryu_schema_yajl_malloc;
    af.realloc = keryu_schema_yajl_realloc;
    af.free = keryu_schema_yajl_free;
    af.ctx = run;

    if (setjmp(run->jmp) != 0) {
        run->armed = 0;
        run->booting = 0;

        while (run->nboot > 0) {
            run->alloc.free(run->alloc.ctx, run->boot[--run->nboot]);
        }

        return -1;
    }

    run->armed = 1;
    run->booting = 1;

    h = yajl_alloc(&keryu_schema_callbacks, &af, run);
    if (h == NULL) {
        run->armed = 0;
        run->booting = 0;
        run->nboot = 0;
        return -1;
    }

    /* the defaults, said aloud: no comments, strings' UTF-8 checked */

    yajl_config(h, yajl_allow_comments, 0);
    yajl_config(h, yajl_dont_validate_strings, 0);

    /*
     * yajl makes its lexer at the first parse, and loses the lexer's first
     * block if the second cannot be had: an empty parse makes it here,
     * where both are on the list
     */

    (void) yajl_parse(h, (const unsigned char *) "", 0);

    run->armed = 0;
    run->booting = 0;
    run->nboot = 0;

    run->yajl = h;

    return 0;
}


static void *
keryu_schema_yajl_malloc(void *ctx, size_t size)
{
    void                *p;
    keryu_schema_run_t  *run = ctx;

    p = run->alloc.malloc(run->alloc.ctx, size);

    if (p == NULL) {
        keryu_schema_oom(run);

    } else if (run->booting && run->nboot < KERYU_SCHEMA_BOOT_MAX) {
        run->boot[run->nboot++] = p;
    }

    return p;
}


static void *
keryu_schema_yajl_realloc(void *ctx, void *p, size_t size)
{
    void                *np;
    keryu_schema_run_t  *run = ctx;

    np = run->alloc.realloc(run->alloc.ctx, p, size);

    if (np == NULL) {
        keryu_schema_oom(run);

    } else if (run->booting && p == NULL
               && run->nboot < KERYU_SCHEMA_BOOT_MAX)
    {
        run->boot[run->nboot++] = np;
    }

    return np;
}


static void
keryu_schema_yajl_free(void *ctx, void *p)
{
    keryu_schema_run_t  *run = ctx;

    run->alloc.free(run->alloc.ctx, p);
}


static void *
keryu_schema_pcre_malloc(size_t size, void *data)
{
    keryu_schema_run_t  *run = data;

    return run->alloc.malloc(run->alloc.ctx, size);
}


static void
keryu_schema_pcre_free(void *p, void *data)
{
    keryu_schema_run_t  *run = data;

    run->alloc.free(run->alloc.ctx, p);
}


static void *
keryu_schema_libc_malloc(void *ctx, size_t size)
{
    (void) ctx;

    return malloc(size);
}


static void *
keryu_schema_libc_realloc(void *ctx, void *p, size_t size)
{
    (void) ctx;

    return realloc(p, size);
}


static void
keryu_schema_libc_free(void *ctx, void *p)
{
    (void) ctx;

    free(p);
}


/*
 * Runs yajl on len bytes, or to the end when complete is set.  Returns 0,
 * or -1 with the run failed: by a callback, by yajl finding invalid JSON,
 * or by an allocation that failed inside yajl.
 */

static int
keryu_schema_parse(keryu_schema_run_t *run, const unsigned char *buf,
    size_t len, int complete)
{
    yajl_status  st;

    if (setjmp(run->jmp) != 0) {
        run->armed = 0;
        return -1;
    }

    run->armed = 1;

    if (complete) {
        st = yajl_complete_parse(run->yajl);

    } else {
        st = yajl_parse(run->yajl, buf, len);
    }

    run->armed = 0;

    if (st == yajl_status_ok) {
        return 0;
    }

    if (run->state != KERYU_SCHEMA_FAILED) {
        keryu_schema_fail_at_parser(run, "json",
                                    complete ? "incomplete json"
                                             : "invalid json");
    }

    return -1;
}


/*
 * Reads the bytes ahead of yajl.  Returns how many of them yajl may
 * have: len, or fewer with sc_kw and sc_reason set for the byte after
 * them.  What yajl checks itself (escapes, control characters, grammar)
 * is left to it, and where yajl's tokens would differ from the scanner's
 * view, yajl has found an error first.
 *
 * ASCII without a backslash goes to a quick scan; a string with anything
 * else, and a token at its limit, goes byte by byte to its end.
 */

static size_t
keryu_schema_scan(keryu_schema_run_t *run, const unsigned char *p,
    size_t len)
{
    size_t  i, n;

    i = 0;

    while (i < len) {
        if (run->sc_state <= KERYU_SCHEMA_SC_STR) {
            i += keryu_schema_scan_ascii(run, p + i, len - i);

            if (i == len) {
                break;
            }
        }

        if (keryu_schema_scan_bytes(run, p + i, len - i, &n) != 0) {
            return i + n;
        }

        i += n;
    }

    return len;
}


/*
 * The quick scan, from between tokens, in a number or literal, or in a
 * string.  Over ASCII bytes without a backslash, where no token can
 * pass KERYU_SCHEMA_TOKEN_MAX, nothing can be wrong, and the state after
 * them follows from the quotes and punctuation alone: quotes open and
 * close strings in turn, and after the last one, the last punctuation
 * says whether a number or literal is open.  Returns how many bytes it
 * read, up to the first it cannot.
 */

static size_t
keryu_schema_scan_ascii(keryu_schema_run_t *run, const unsigned char *p,
    size_t len)
{
    int       state;
    size_t    i, j, k, start, room;
    uint64_t  w, x;

    state = run->sc_state;

    room = KERYU_SCHEMA_TOKEN_MAX;

    if (state != KERYU_SCHEMA_SC_OUT) {
        room -= run->sc_len;
    }

    if (len > room) {
        len = room;
    }

    /* the bytes it can read, eight at a time, and the quotes among them */

    k = 0;

    for (i = 0; i + 8 <= len; i += 8) {
        memcpy(&w, p + i, 8);

        if (w & KERYU_SCHEMA_HI) {
            break;
        }

        /*
         * with all bytes below 0x80, "+ 0x7f" sets the top bit of those
         * not zero, carrying nothing into the next
         */

        x = (w ^ (KERYU_SCHEMA_ONES * '\\')) + KERYU_SCHEMA_LO7;

        if ((x & KERYU_SCHEMA_HI) != KERYU_SCHEMA_HI) {
            break;
        }

        x = ((w ^ (KERYU_SCHEMA_ONES * '"')) + KERYU_SCHEMA_LO7)
            & KERYU_SCHEMA_HI;

        k += 8 - (size_t) (((x >> 7) * KERYU_SCHEMA_ONES) >> 56);
    }

    for ( /* void */ ; i < len; i++) {
        if (p[i] >= 0x80 || p[i] == '\\') {
            break;
        }

        k += (p[i] == '"');
    }

    len = i;
    start = 0;

    if (k > 0) {
        for (j = len - 1; p[j] != '"'; j--) { /* void */ }

        /* from a string, the even quotes open one; else the odd ones */

        if ((state == KERYU_SCHEMA_SC_STR) == (k % 2 == 0)) {
            run->sc_state = KERYU_SCHEMA_SC_STR;
            run->sc_len = len - j;
            return len;
        }

        state = KERYU_SCHEMA_SC_OUT;
        start = j + 1;
    }

    /* no quote from start on */

    if (len == start) {
        run->sc_state = state;
        return len;
    }

    if (state == KERYU_SCHEMA_SC_STR) {
        run->sc_len += len;
        return len;
    }

    for (j = len; j > start && !keryu_schema_delims[p[j - 1]]; j--) {
        /* void */
    }

    if (j == len) {
        run->sc_state = KERYU_SCHEMA_SC_OUT;

    } else if (j > start || state == KERYU_SCHEMA_SC_OUT) {
        run->sc_state = KERYU_SCHEMA_SC_BARE;
        run->sc_len = len - j;

    } else {
        run->sc_len += len;                /* the same number or literal */
    }

    return len;
}


/*
 * The scan byte by byte, to the end of the token it is in or begins: 0
 * with *n the bytes read, or -1 with sc_kw and sc_reason set for the
 * byte after the *n read.  Runs of a number's or a literal's bytes, and
 * of a string's plain ASCII, are skipped in tight loops.  Every byte of a
 * token counts towards KERYU_SCHEMA_TOKEN_MAX, and the first one past it
 * is refused.
 */

static int
keryu_schema_scan_bytes(keryu_schema_run_t *run, const unsigned char *p,
    size_t len, size_t *n)
{
    int       h, state;
    size_t    i, tok, end, start;
    unsigned  c;

    state = run->sc_state;
    tok = run->sc_len;
    i = 0;

    while (i < len) {

        switch (state) {

        case KERYU_SCHEMA_SC_OUT:
            if (i > 0) {
                goto done;                 /* the token has ended */
            }

            while (keryu_schema_delims[p[i]]) {
                if (++i == len) {
                    goto done;
                }
            }

            state = (p[i] == '"') ? KERYU_SCHEMA_SC_STR
                                  : KERYU_SCHEMA_SC_BARE;
            tok = 1;
            i++;
            continue;

        case KERYU_SCHEMA_SC_BARE:

            /* tok is at most KERYU_SCHEMA_TOKEN_MAX here */

            end = (len - i > KERYU_SCHEMA_TOKEN_MAX - tok)
                  ? i + (KERYU_SCHEMA_TOKEN_MAX - tok) : len;

            start = i;

            while (i < end && !keryu_schema_delims[p[i]] && p[i] != '"') {
                i++;
            }

            tok += i - start;

            if (i == len) {
                goto done;
            }

            if (p[i] == '"') {
                state = KERYU_SCHEMA_SC_STR;
                tok = 1;
                i++;
                continue;
            }

            if (keryu_schema_delims[p[i]]) {
                state = KERYU_SCHEMA_SC_OUT;
                i++;
                continue;
            }

            goto too_long;

        case KERYU_SCHEMA_SC_STR:
            end = (len - i > KERYU_SCHEMA_TOKEN_MAX - tok)
                  ? i + (KERYU_SCHEMA_TOKEN_MAX - tok) : len;

            start = i;

            while (i < end && p[i] < 0x80 && p[i] != '"' && p[i] != '\\') {
                i++;
            }

            tok += i - start;

            if (i == len) {
                goto done;
            }

            c = p[i];

            if (c == '"') {
                state = KERYU_SCHEMA_SC_OUT;    /* counted too */
                break;
            }

            if (c == '\\') {
                state = KERYU_SCHEMA_SC_ESC;
                break;
            }

            if (c < 0x80) {
                goto too_long;
            }

            /* a lead byte: how many follow, and the first one's range */

            run->sc_lo = 0x80;
            run->sc_hi = 0xbf;

            if (c >= 0xc2 && c <= 0xdf) {
                run->sc_need = 1;

            } else if (c >= 0xe0 && c <= 0xef) {
                run->sc_need = 2;

                if (c == 0xe0) {
                    run->sc_lo = 0xa0;         /* not overlong */

                } else if (c == 0xed) {
                    run->sc_hi = 0x9f;         /* not a surrogate */
                }

            } else if (c >= 0xf0 && c <= 0xf4) {
                run->sc_need = 3;

                if (c == 0xf0) {
                    run->sc_lo = 0x90;         /* not overlong */

                } else if (c == 0xf4) {
                    run->sc_hi = 0x8f;         /* not past U+10FFFF */
                }

            } else {
                goto bad_utf8;
            }

            state = KERYU_SCHEMA_SC_UTF;
            break;

        case KERYU_SCHEMA_SC_UTF:
            c = p[i];

            if (c < run->sc_lo || c > run->sc_hi) {
                goto bad_utf8;
            }

            run->sc_lo = 0x80;
            run->sc_hi = 0xbf;

            if (--run->sc_need == 0) {
                state = KERYU_SCHEMA_SC_STR;
            }

            break;

        case KERYU_SCHEMA_SC_ESC:
            if (p[i] == 'u') {
                state = KERYU_SCHEMA_SC_HEX;
                run->sc_hex = 4;
                run->sc_cp = 0;
                run->sc_high = 0;

            } else {
                state = KERYU_SCHEMA_SC_STR;
            }

            break;

        case KERYU_SCHEMA_SC_HEX:
            h = keryu_schema_hex(p[i]);

            if (h < 0) {
                state = KERYU_SCHEMA_SC_STR;   /* yajl refuses it */
                break;
            }

            run->sc_cp = run->sc_cp * 16 + h;

            if (--run->sc_hex > 0) {
                break;
            }

            if (run->sc_high) {
                if (run->sc_cp < 0xdc00 || run->sc_cp > 0xdfff) {
                    goto bad_escape;
                }

                state = KERYU_SCHEMA_SC_STR;

            } else if (run->sc_cp >= 0xd800 && run->sc_cp <= 0xdbff) {
                state = KERYU_SCHEMA_SC_LOW_BS;

            } else if (run->sc_cp >= 0xdc00 && run->sc_cp <= 0xdfff) {
                goto bad_escape;

            } else {
                state = KERYU_SCHEMA_SC_STR;
            }

            break;

        case KERYU_SCHEMA_SC_LOW_BS:
            if (p[i] != '\\') {
                goto bad_escape;
            }

            state = KERYU_SCHEMA_SC_LOW_U;
            break;

        default: /* KERYU_SCHEMA_SC_LOW_U */
            if (p[i] != 'u') {
                goto bad_escape;
            }

            state = KERYU_SCHEMA_SC_HEX;
            run->sc_hex = 4;
            run->sc_cp = 0;
            run->sc_high = 1;
            break;
        }

        /* the byte at i, of a string, is counted */

        if (++tok > KERYU_SCHEMA_TOKEN_MAX) {
            goto too_long;
        }

        i++;
    }

done:

    run->sc_state = state;
    run->sc_len = tok;
    *n = i;

    return 0;

too_long:

    run->sc_kw = "size";
    run->sc_reason = "string or number too long";
    goto stop;

bad_utf8:

    run->sc_kw = "json";
    run->sc_reason = "invalid utf-8";
    goto stop;

bad_escape:

    run->sc_kw = "json";
    run->sc_reason = "invalid unicode escape";

stop:

    run->sc_state = state;
    run->sc_len = tok;
    *n = i;

    return -1;
}


static int
keryu_schema_hex(unsigned c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }

    c |= 0x20;

    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }

    return -1;
}


/* ---- yajl callbacks: each returns 1 to go on, 0 once the run failed -- */


static int
keryu_schema_on_null(void *ctx)
{
    size_t                      i;
    keryu_schema_run_t         *run = ctx;
    const keryu_schema_node_t  *node;

    if (keryu_schema_value(run, KERYU_SCHEMA_T_NULL, &node) != 0) {
        return 0;
    }

    if (node == NULL || node->nenums == 0) {
        return 1;
    }

    for (i = 0; i < node->nenums; i++) {
        if (node->enums[i].type == KERYU_SCHEMA_T_NULL) {
            return 1;
        }
    }

    keryu_schema_fail(run, "enum", "not an allowed value");
    return 0;
}


static int
keryu_schema_on_boolean(void *ctx, int b)
{
    size_t                      i;
    keryu_schema_run_t         *run = ctx;
    const keryu_schema_node_t  *node;

    if (keryu_schema_value(run, KERYU_SCHEMA_T_BOOLEAN, &node) != 0) {
        return 0;
    }

    if (node == NULL || node->nenums == 0) {
        return 1;
    }

    for (i = 0; i < node->nenums; i++) {
        if (node->enums[i].type == KERYU_SCHEMA_T_BOOLEAN
            && node->enums[i].b == (b != 0))
        {
            return 1;
        }
    }

    keryu_schema_fail(run, "enum", "not an allowed value");
    return 0;
}


static int
keryu_schema_on_number(void *ctx, const char *s, size_t len)
{
    int                         is_int;
    char                       *text, *p;
    size_t                      i, size;
    unsigned                    accept;
    keryu_schema_num_t          num;
    keryu_schema_run_t         *run = ctx;
    const keryu_schema_node_t  *node;

    is_int = keryu_schema_num_int(s, len, &num);
    accept = KERYU_SCHEMA_T_NUMBER | (is_int ? KERYU_SCHEMA_T_INTEGER : 0);

    if (keryu_schema_value(run, accept, &node) != 0) {
        return 0;
    }

    if (node == NULL || (node->bounds == 0 && node->nenums == 0)) {
        return 1;
    }

    if (!is_int && keryu_schema_num_dbl(s, len, &num.d) == 0) {
        num.kind = KERYU_SCHEMA_N_DBL;

    } else if (!is_int) {

        /* strtod() wants a C string; yajl's text is not one */

        if (len < KERYU_SCHEMA_NUM_BUF) {
            text = run->num;

        } else {
            if (len >= run->scratch_size) {
                size = len + 1;
                p = run->alloc.realloc(run->alloc.ctx, run->scratch, size);
                if (p == NULL) {
                    keryu_schema_oom(run);
                    return 0;
                }

                run->scratch = p;
                run->scratch_size = size;
            }

            text = run->scratch;
        }

        memcpy(text, s, len);
        text[len] = '\0';

        /*
         * out of range, it is +-HUGE_VAL or next to 0, which compares
         * right with every bound but 0
         */

        num.kind = KERYU_SCHEMA_N_DBL;
        num.d = strtod(text, NULL);
    }

    if (keryu_schema_bounds(run, node, &num) != 0) {
        return 0;
    }

    if (node->nenums == 0) {
        return 1;
    }

    for (i = 0; i < node->nenums; i++) {
        if (node->enums[i].type == KERYU_SCHEMA_T_NUMBER
            && keryu_schema_num_cmp(&num, &node->enums[i].num) == 0)
        {
            return 1;
        }
    }

    keryu_schema_fail(run, "enum", "not an allowed value");
    return 0;
}


static int
keryu_schema_on_string(void *ctx, const unsigned char *s, size_t len)
{
    int                         rc;
    size_t                      i, n;
    keryu_schema_run_t         *run = ctx;
    const keryu_schema_node_t  *node;
    const keryu_schema_enum_t  *en;

    if (keryu_schema_value(run, KERYU_SCHEMA_T_STRING, &node) != 0) {
        return 0;
    }

    if (node == NULL) {
        return 1;
    }

    /*
     * len bytes are len / 4 to len code points: they are counted only
     * when that range does not settle both bounds
     */

    if (len / 4 < node->count[KERYU_SCHEMA_C_MIN_LENGTH]
        || len > node->count[KERYU_SCHEMA_C_MAX_LENGTH])
    {
        /* code points: the bytes that start one; the UTF-8 is checked */

        n = 0;

        for (i = 0; i < len; i++) {
            n += (s[i] & 0xc0) != 0x80;
        }

        if (n < node->count[KERYU_SCHEMA_C_MIN_LENGTH]) {
            keryu_schema_fail(run, "minLength", "string too short");
            return 0;
        }

        if (n > node->count[KERYU_SCHEMA_C_MAX_LENGTH]) {
            keryu_schema_fail(run, "maxLength", "string too long");
            return 0;
        }
    }

    if (node->pattern != NULL) {

        /*
         * the scanner let through strict UTF-8 only, and yajl decodes
         * escapes to it, surrogates in pairs: PCRE2 need not check again
         */

        rc = pcre2_match(node->pattern, s, len, 0, PCRE2_NO_UTF_CHECK,
                         run->match, run->mctx);

        if (rc == PCRE2_ERROR_NOMATCH) {
            keryu_schema_fail(run, "pattern", "does not match pattern");
            return 0;
        }

        if (rc == PCRE2_ERROR_NOMEMORY) {
            keryu_schema_oom(run);
            return 0;
        }

        if (rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_DEPTHLIMIT
            || rc == PCRE2_ERROR_HEAPLIMIT)
        {
            keryu_schema_fail(run, "pattern", "pattern match limit reached");
            return 0;
        }

        if (rc < 0) {
            keryu_schema_fail(run, "pattern", "pattern match failed");
            return 0;
        }
    }

    if (node->nenums == 0) {
        return 1;
    }

    for (i = 0; i < node->nenums; i++) {
        en = &node->enums[i];

        if (en->type == KERYU_SCHEMA_T_STRING && en->len == len
            && memcmp(en->str, s, len) == 0)
        {
            return 1;
        }
    }

    keryu_schema_fail(run, "enum", "not an allowed value");
    return 0;
}


static int
keryu_schema_on_start_map(void *ctx)
{
    keryu_schema_run_t         *run = ctx;
    const keryu_schema_node_t  *node;

    if (keryu_schema_value(run, KERYU_SCHEMA_T_OBJECT, &node) != 0) {
        return 0;
    }

    return keryu_schema_push(run, node, 0) == 0;
}


static int
keryu_schema_on_map_key(void *ctx, const unsigned char *key, size_t len)
{
    keryu_schema_run_t         *run = ctx;
    keryu_schema_level_t       *lv;
    const keryu_schema_name_t  *e;
    const keryu_schema_node_t  *node, *child;

    lv = &run->levels[run->depth - 1];

    keryu_schema_unshow(run, run->depth - 1);
    lv->seg = KERYU_SCHEMA_SEG_KEY;
    lv->key = (const char *) key;
    lv->key_len = len;
    lv->pending = 1;
    lv->child = NULL;

    node = lv->node;

    if (node == NULL) {
        e = NULL;
        child = NULL;

    } else {
        e = keryu_schema_name_find(node, key, len);

        if (e != NULL) {

            /* the schema's copy of the name outlives this callback */

            lv->key = e->name;
            child = e->prop ? e->schema : node->additional;

            if (e->req != KERYU_SCHEMA_NONE) {
                lv->seen[e->req / 64] |= (uint64_t) 1 << (e->req % 64);
            }

        } else {
            child = node->additional;
        }

        if (child != NULL && child->false_kw != NULL) {
            keryu_schema_fail(run, child->false_kw, "property not allowed");
            return 0;
        }
    }

    if (e == NULL) {
        keryu_schema_show(run);
        lv->seg = KERYU_SCHEMA_SEG_SHOWN;
    }

    lv->child = child;

    return 1;
}


static int
keryu_schema_on_end_map(void *ctx)
{
    size_t                      i;
    keryu_schema_run_t         *run = ctx;
    keryu_schema_level_t       *lv;
    const keryu_schema_prop_t  *r;
    const keryu_schema_node_t  *node;

    lv = &run->levels[run->depth - 1];
    node = lv->node;

    if (node != NULL) {

        /* the first name missing, in the order "required" gives them */

        for (i = 0; i < node->nrequired; i++) {
            if (lv->seen[i / 64] & ((uint64_t) 1 << (i % 64))) {
                continue;
            }

            r = &node->required[i];

            keryu_schema_unshow(run, run->depth - 1);
            lv->seg = KERYU_SCHEMA_SEG_KEY;
            lv->key = r->name;
            lv->key_len = r->len;
            keryu_schema_fail(run, "required", "required property missing");
            return 0;
        }
    }

    keryu_schema_unshow(run, run->depth - 1);
    run->depth--;

    return 1;
}


static int
keryu_schema_on_start_array(void *ctx)
{
    keryu_schema_run_t         *run = ctx;
    const keryu_schema_node_t  *node;

    if (keryu_schema_value(run, KERYU_SCHEMA_T_ARRAY, &node) != 0) {
        return 0;
    }

    return keryu_schema_push(run, node, 1) == 0;
}


static int
keryu_schema_on_end_array(void *ctx)
{
    keryu_schema_run_t    *run = ctx;
    keryu_schema_level_t  *lv;

    lv = &run->levels[run->depth - 1];

    keryu_schema_unshow(run, run->depth - 1);

    if (lv->node != NULL
        && lv->count < lv->node->count[KERYU_SCHEMA_C_MIN_ITEMS])
    {
        lv->seg = KERYU_SCHEMA_SEG_NONE;
        keryu_schema_fail(run, "minItems", "too few items");
        return 0;
    }

    run->depth--;

    return 1;
}


/*
 * A value begins: finds its schema from the enclosing level, extends the
 * pointer to it, and checks what applies to any value ("type", a false
 * schema, "enum" for an object or an array).  accept holds the kinds the
 * value is.  Returns 0 with *np set, or -1 with the run failed.
 */

static int
keryu_schema_value(keryu_schema_run_t *run, unsigned accept,
    const keryu_schema_node_t **np)
{
    keryu_schema_level_t       *lv;
    const keryu_schema_node_t  *node;

    *np = NULL;

    if (run->depth == 0) {
        node = run->schema->root;

    } else {
        lv = &run->levels[run->depth - 1];

        if (lv->array) {
            keryu_schema_unshow(run, run->depth - 1);

            if (lv->node != NULL
                && lv->count >= lv->node->count[KERYU_SCHEMA_C_MAX_ITEMS])
            {
                lv->seg = KERYU_SCHEMA_SEG_NONE;
                return keryu_schema_fail(run, "maxItems", "too many items");
            }

            lv->seg = KERYU_SCHEMA_SEG_INDEX;
            lv->index = lv->count++;

            node = (lv->node != NULL) ? lv->node->items : NULL;

        } else {
            node = lv->child;
            lv->pending = 0;
        }
    }

    if (node == NULL) {
        return 0;
    }

    if (node->false_kw != NULL) {
        return keryu_schema_fail(run, node->false_kw, "value not allowed");
    }

    if (node->types != 0 && (node->types & accept) == 0) {
        return keryu_schema_fail(run, "type", "wrong type");
    }

    if (node->nenums > 0
        && (accept & (KERYU_SCHEMA_T_OBJECT | KERYU_SCHEMA_T_ARRAY)))
    {
        return keryu_schema_fail(run, "enum", "not an allowed value");
    }

    *np = node;

    return 0;
}


static int
keryu_schema_push(keryu_schema_run_t *run, const keryu_schema_node_t *node,
    int array)
{
    keryu_schema_level_t  *lv;

    if (run->depth == KERYU_SCHEMA_DEPTH_MAX) {
        return keryu_schema_fail(run, "depth", "nested too deep");
    }

    lv = &run->levels[run->depth];

    lv->node = node;
    lv->child = NULL;
    lv->count = 0;
    lv->array = array;
    lv->pending = 0;
    lv->seg = KERYU_SCHEMA_SEG_NONE;
    lv->seen = NULL;

    if (!array && run->seen != NULL) {
        lv->seen = run->seen + run->depth * run->schema->req_words;
        memset(lv->seen, 0, run->schema->req_words * sizeof(uint64_t));
    }

    run->depth++;

    return 0;
}


/* ends the run at the value being read; returns -1 */

static int
keryu_schema_fail(keryu_schema_run_t *run, const char *keyword,
    const char *reason)
{
    keryu_schema_show(run);
    keryu_schema_stop(run, keyword, reason);

    return -1;
}


/* ends the run, its pointer written */

static void
keryu_schema_stop(keryu_schema_run_t *run, const char *keyword,
    const char *reason)
{
    run->state = KERYU_SCHEMA_FAILED;
    run->keyword = keyword;
    run->reason = reason;
}


/*
 * Ends the run for a fault in the text, at where the parser is: the
 * member whose name was read last if its value has not begun, the
 * element about to be read, or else the open object.
 */

static void
keryu_schema_fail_at_parser(keryu_schema_run_t *run, const char *keyword,
    const char *reason)
{
    keryu_schema_level_t  *lv;

    if (run->depth > 0) {
        lv = &run->levels[run->depth - 1];

        if (lv->array) {
            keryu_schema_unshow(run, run->depth - 1);
            lv->seg = KERYU_SCHEMA_SEG_INDEX;
            lv->index = lv->count;

        } else if (!lv->pending) {
            keryu_schema_unshow(run, run->depth - 1);
            lv->seg = KERYU_SCHEMA_SEG_NONE;
        }
    }

    keryu_schema_fail(run, keyword, reason);
}


/* fails the run for a failed allocation, and leaves yajl if inside it */

static void
keryu_schema_oom(keryu_schema_run_t *run)
{
    run->path_len = 0;
    run->path[0] = '\0';
    keryu_schema_stop(run, "memory", "out of memory");

    if (run->armed) {
        run->armed = 0;
        longjmp(run->jmp, 1);
    }
}


/* a level's segment is to change: it and those after it are unwritten */

static void
keryu_schema_unshow(keryu_schema_run_t *run, size_t level)
{
    if (run->shown > level) {
        run->shown = level;
        run->path_len = run->levels[level].base;
    }
}


/* writes the segments of the open levels not yet in the path */

static void
keryu_schema_show(keryu_schema_run_t *run)
{
    char                  *p;
    size_t                 i, n;
    keryu_schema_level_t  *lv;
    char                   buf[24];

    for (i = run->shown; i < run->depth; i++) {
        lv = &run->levels[i];
        lv->base = run->path_len;

        switch (lv->seg) {

        case KERYU_SCHEMA_SEG_KEY:
            run->path_len = keryu_schema_pointer_add(run->path,
                                    run->path_len,
                                    (const unsigned char *) lv->key,
                                    lv->key_len);
            break;

        case KERYU_SCHEMA_SEG_INDEX:
            p = buf + sizeof(buf);
            n = lv->index;

            do {
                *--p = (char) ('0' + n % 10);
                n /= 10;
            } while (n != 0);

            run->path_len = keryu_schema_pointer_add(run->path,
                                    run->path_len, (const unsigned char *) p,
                                    (size_t) (buf + sizeof(buf) - p));
            break;

        default: /* KERYU_SCHEMA_SEG_NONE: a shown one is below shown */
            break;
        }
    }

    run->shown = run->depth;
    run->path[run->path_len] = '\0';
}


/*
 * Appends "/" and the len bytes at s, escaped as RFC 6901 says, to the
 * pointer of at bytes in buf (KERYU_SCHEMA_POINTER_MAX bytes), and
 * returns its new length.  What does not fit is cut, before any
 * character or escape it would split; a NUL byte cuts too.
 */

static size_t
keryu_schema_pointer_add(char *buf, size_t at, const unsigned char *s,
    size_t len)
{
    size_t    i, lead;
    unsigned  c;

    if (at + 1 >= KERYU_SCHEMA_POINTER_MAX) {
        return at;
    }

    buf[at++] = '/';
    lead = at;

    for (i = 0; i < len; i++) {
        c = s[i];

        if (c == '\0') {
            break;
        }

        if (c == '~' || c == '/') {
            if (at + 2 >= KERYU_SCHEMA_POINTER_MAX) {
                break;
            }

            buf[at++] = '~';
            buf[at++] = (c == '~') ? '0' : '1';
            lead = at;
            continue;
        }

        if ((c & 0xc0) != 0x80) {
            lead = at;
        }

        if (at + 1 >= KERYU_SCHEMA_POINTER_MAX) {

            /* a continuation byte left out: its character goes too */

            if ((c & 0xc0) == 0x80) {
                at = lead;
            }

            break;
        }

        buf[at++] = (char) c;
    }

    buf[at] = '\0';

    return at;
}


/*
 * Reads len bytes of a JSON number.  Returns 0 for a decimal (a fraction
 * or an exponent), left to keryu_schema_num_dbl(); or 1 for an integer,
 * as an int64_t or, past its range, as its digits (JSON allows no zero
 * before them).
 */

static int
keryu_schema_num_int(const char *s, size_t len, keryu_schema_num_t *n)
{
    int       neg;
    size_t    i;
    uint64_t  v, max;
    unsigned  d;

    neg = (len > 0 && s[0] == '-');
    max = neg ? (uint64_t) INT64_MAX + 1 : (uint64_t) INT64_MAX;
    v = 0;

    for (i = neg; i < len; i++) {
        d = (unsigned) (unsigned char) s[i] - '0';

        if (d > 9) {
            return 0;                      /* '.', 'e' or 'E' */
        }

        if (v > (max - d) / 10) {

            /* past int64_t: an integer unless a fraction or exponent */

            for ( /* void */ ; i < len; i++) {
                if (s[i] == '.' || s[i] == 'e' || s[i] == 'E') {
                    return 0;
                }
            }

            n->kind = KERYU_SCHEMA_N_BIG;
            n->neg = neg;
            n->digits = s + neg;
            n->ndigits = len - neg;
            return 1;
        }

        v = v * 10 + d;
    }

    n->kind = KERYU_SCHEMA_N_INT;

    if (neg) {
        n->i = (v == (uint64_t) INT64_MAX + 1) ? INT64_MIN : -(int64_t) v;

    } else {
        n->i = (int64_t) v;
    }

    return 1;
}


/*
 * Reads len bytes of a JSON decimal as strtod() does, without it where
 * that is exact: when its digits make an integer m up to 2^53 and its
 * value is m * 10^e with e within 22 either way, m and 10^e are both
 * doubles exactly, so the one multiplication or division rounds the
 * value correctly, as strtod() does.  Returns 0 with *d set, or -1 when
 * strtod() is needed.
 */

static int
keryu_schema_num_dbl(const char *s, size_t len, double *d)
{
#if defined(FLT_EVAL_METHOD) && FLT_EVAL_METHOD == 0
    int       neg, eneg;
    long      e, x;
    size_t    i;
    uint64_t  m;
    unsigned  c;

    static const double  pow10[] = {
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
        1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22
    };

    neg = (len > 0 && s[0] == '-');
    m = 0;
    e = 0;

    for (i = neg; i < len; i++) {
        c = (unsigned) (unsigned char) s[i] - '0';

        if (c > 9) {
            break;
        }

        m = m * 10 + c;

        if (m > (uint64_t) 1 << 53) {
            return -1;
        }
    }

    if (i < len && s[i] == '.') {
        for (i++; i < len; i++) {
            c = (unsigned) (unsigned char) s[i] - '0';

            if (c > 9) {
                break;
            }

            m = m * 10 + c;
            e--;

            if (m > (uint64_t) 1 << 53) {
                return -1;
            }
        }
    }

    if (i < len) {                         /* 'e' or 'E' */
        i++;
        eneg = (i < len && s[i] == '-');

        if (i < len && (s[i] == '-' || s[i] == '+')) {
            i++;
        }

        x = 0;

        for ( /* void */ ; i < len; i++) {
            if (x > 10000) {
                return -1;
            }

            x = x * 10 + (s[i] - '0');
        }

        e += eneg ? -x : x;
    }

    if (m == 0) {
        *d = neg ? -0.0 : 0.0;
        return 0;
    }

    if (e < -22 || e > 22) {
        return -1;
    }

    *d = (e < 0) ? (double) m / pow10[-e] : (double) m * pow10[e];

    if (neg) {
        *d = -*d;
    }

    return 0;
#else
    (void) s;
    (void) len;
    (void) d;

    return -1;
#endif
}


/* compares two numbers by value: -1, 0 or 1 */

static int
keryu_schema_num_cmp(const keryu_schema_num_t *a, const keryu_schema_num_t *b)
{
    int  rc;

    switch (a->kind * 4 + b->kind) {

    case KERYU_SCHEMA_N_INT * 4 + KERYU_SCHEMA_N_INT:
        return (a->i > b->i) - (a->i < b->i);

    case KERYU_SCHEMA_N_INT * 4 + KERYU_SCHEMA_N_BIG:
        return b->neg ? 1 : -1;

    case KERYU_SCHEMA_N_BIG * 4 + KERYU_SCHEMA_N_INT:
        return a->neg ? -1 : 1;

    case KERYU_SCHEMA_N_BIG * 4 + KERYU_SCHEMA_N_BIG:
        if (a->neg != b->neg) {
            return a->neg ? -1 : 1;
        }

        rc = keryu_schema_digits_cmp(a->digits, a->ndigits, b->digits,
                                     b->ndigits);
        return a->neg ? -rc : rc;

    case KERYU_SCHEMA_N_INT * 4 + KERYU_SCHEMA_N_DBL:
        return keryu_schema_int_dbl_cmp(a->i, b->d);

    case KERYU_SCHEMA_N_DBL * 4 + KERYU_SCHEMA_N_INT:
        return -keryu_schema_int_dbl_cmp(b->i, a->d);

    case KERYU_SCHEMA_N_BIG * 4 + KERYU_SCHEMA_N_DBL:
        return keryu_schema_big_dbl_cmp(a, b->d);

    case KERYU_SCHEMA_N_DBL * 4 + KERYU_SCHEMA_N_BIG:
        return -keryu_schema_big_dbl_cmp(b, a->d);

    default: /* both doubles */
        return (a->d > b->d) - (a->d < b->d);
    }
}


/* an int64_t and a double, exactly: no conversion that could round */

static int
keryu_schema_int_dbl_cmp(int64_t i, double d)
{
    double   f;
    int64_t  t;

    if (d >= KERYU_SCHEMA_2_63) {
        return -1;
    }

    if (d < -KERYU_SCHEMA_2_63) {
        return 1;
    }

    t = (int64_t) d;                       /* d's integer part, exactly */

    if (i != t) {
        return (i > t) - (i < t);
    }

    f = d - (double) t;                    /* d's fraction, exactly */

    return (f < 0) - (f > 0);
}


/*
 * An integer past int64_t and a double, exactly.  A double that could
 * equal it is at least 2^63 in size, so it is an integer, and printed
 * with "%.0f" it gives all its digits.
 */

static int
keryu_schema_big_dbl_cmp(const keryu_schema_num_t *big, double d)
{
    int   n;
    char  buf[400];

    if (!big->neg) {
        if (d < KERYU_SCHEMA_2_63) {
            return 1;
        }

        if (isinf(d)) {
            return -1;
        }

        n = snprintf(buf, sizeof(buf), "%.0f", d);

        return keryu_schema_digits_cmp(big->digits, big->ndigits, buf,
                                       (size_t) n);
    }

    if (d >= -KERYU_SCHEMA_2_63) {
        return -1;
    }

    if (isinf(d)) {
        return 1;
    }

    n = snprintf(buf, sizeof(buf), "%.0f", -d);

    return -keryu_schema_digits_cmp(big->digits, big->ndigits, buf,
                                    (size_t) n);
}


/* two magnitudes written without a zero first */

static int
keryu_schema_digits_cmp(const char *a, size_t alen, const char *b,
    size_t blen)
{
    int  rc;

    if (alen != blen) {
        return alen < blen ? -1 : 1;
    }

    rc = memcmp(a, b, alen);

    return (rc > 0) - (rc < 0);
}


static int
keryu_schema_bounds(keryu_schema_run_t *run, const keryu_schema_node_t *node,
    const keryu_schema_num_t *num)
{
    int  b, rc, bad;

    for (b = 0; b < KERYU_SCHEMA_B_N; b++) {
        if (!(node->bounds & (1u << b))) {
            continue;
        }

        rc = keryu_schema_num_cmp(num, &node->bound[b]);

        switch (b) {
        case KERYU_SCHEMA_B_MIN:
            bad = rc < 0;
            break;
        case KERYU_SCHEMA_B_XMIN:
            bad = rc <= 0;
            break;
        case KERYU_SCHEMA_B_MAX:
            bad = rc > 0;
            break;
        default: /* KERYU_SCHEMA_B_XMAX */
            bad = rc >= 0;
            break;
        }

        if (bad) {
            return keryu_schema_fail(run, keryu_schema_bound_names[b],
                                     b < KERYU_SCHEMA_B_MAX
                                     ? "below minimum" : "above maximum");
        }
    }

    return 0;
}


static const keryu_schema_prop_t *
keryu_schema_prop_find(const keryu_schema_prop_t *props, size_t n,
    const unsigned char *name, size_t len)
{
    int     rc;
    size_t  lo, hi, mid;

    lo = 0;
    hi = n;

    while (lo < hi) {
        mid = lo + (hi - lo) / 2;
        rc = keryu_schema_name_cmp((const char *) name, len, props[mid].name,
                                   props[mid].len);
        if (rc == 0) {
            return &props[mid];
        }

        if (rc < 0) {
            hi = mid;

        } else {
            lo = mid + 1;
        }
    }

    return NULL;
}


/* FNV-1a */

static uint32_t
keryu_schema_hash(const unsigned char *s, size_t len)
{
    size_t    i;
    uint32_t  h;

    h = 2166136261u;

    for (i = 0; i < len; i++) {
        h = (h ^ s[i]) * 16777619u;
    }

    return h;
}


/* the entry of a name in an object's table, or NULL */

static const keryu_schema_name_t *
keryu_schema_name_find(const keryu_schema_node_t *node,
    const unsigned char *name, size_t len)
{
    size_t                      k;
    uint32_t                    i;
    const keryu_schema_name_t  *e;

    if (node->slots == NULL) {
        return NULL;
    }

    k = keryu_schema_hash(name, len) & node->mask;

    while ((i = node->slots[k]) != 0) {
        e = &node->names[i - 1];

        if (e->len == len && memcmp(e->name, name, len) == 0) {
            return e;
        }

        k = (k + 1) & node->mask;
    }

    return NULL;
}
