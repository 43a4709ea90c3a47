
/*
 * Copyright (C) Keryu Security
 *
 * A streaming JSON Schema validator for request bodies.  A schema is
 * compiled once into an immutable tree; each body is then checked by a
 * run, fed the body in pieces as they arrive.  A run builds no tree and
 * keeps no copy of the body: its state is a fixed record per level of
 * nesting, so its memory is bounded by KERYU_SCHEMA_DEPTH_MAX and
 * KERYU_SCHEMA_TOKEN_MAX whatever the body's size.  The result does not
 * depend on how the body is cut into pieces.
 *
 * The subset of JSON Schema 2020-12 understood:
 *   - a schema is an object, or true (anything) or false (nothing)
 *   - "type": one of "object", "array", "string", "integer", "number",
 *     "boolean", "null", or an array of them, non-empty and unique.
 *     "integer" is read from the text: 3 is an integer, 3.0 and 3e0 are
 *     numbers only (2020-12 would count them as integers)
 *   - "properties": an object of schemas; "additionalProperties": a
 *     schema for every other member; "required": an array of unique names
 *   - "enum": a non-empty array of strings, numbers, booleans and null;
 *     an object or an array is never one of them
 *   - "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum":
 *     numbers.  Here and in "enum" numbers compare by value (1 equals
 *     1.0): integers of any length exactly, and a decimal (one with a
 *     fraction or an exponent) as the double strtod() reads, which is
 *     then compared exactly with an integer
 *   - "minLength", "maxLength": non-negative integers, in Unicode code
 *     points
 *   - "pattern": a PCRE2 regular expression in UTF mode, unanchored (as
 *     ECMA-262's are in JSON Schema), where "$" matches only at the very
 *     end as in ECMA-262 and \C is refused; other syntax is PCRE2's.  It
 *     runs with match, depth and heap limits; a match that hits one fails
 *     the value
 *   - "items": one schema for every element (the array form is refused:
 *     it is "prefixItems" in 2020-12); "minItems", "maxItems"
 *   - "$schema", "title", "description": strings, ignored
 * A keyword applies only to values of its kind: "maxLength" to strings,
 * "minimum" to numbers, "required" to objects.  Any other keyword, a
 * keyword twice in one object, or a value of the wrong form is refused
 * when compiling, with a message naming it and where it is ("#/..."), so
 * that no constraint is silently dropped.  So are a "\u0000" escape
 * anywhere in the schema and subschemas nested more than
 * KERYU_SCHEMA_NEST_MAX deep.  The schema may hold comments, which
 * yajl_tree allows; a body may not.
 *
 * What a body must be besides: one JSON value (RFC 8259) with nothing
 * after it but whitespace, strictly UTF-8 (no overlong forms, surrogates
 * or code points past U+10FFFF, in the raw bytes or through \u escapes,
 * where a surrogate must be half of a pair), arrays and objects nested at
 * most KERYU_SCHEMA_DEPTH_MAX deep, no string, number or literal longer
 * than KERYU_SCHEMA_TOKEN_MAX bytes as written.  Duplicate names in an
 * object are each checked; none is refused.  A body is refused at the
 * first fault in its own order; within one value "type" comes first, then
 * the keywords of its kind, then "enum".
 *
 * A schema is shared by any number of runs, in any thread.  A run is used
 * by one thread, and must not outlive its schema.  Nothing here logs.
 */


#ifndef _KERYU_SCHEMA_H_INCLUDED_
#define _KERYU_SCHEMA_H_INCLUDED_


#include <stddef.h>


/** nesting of arrays and objects in a body; one more is refused */
#define KERYU_SCHEMA_DEPTH_MAX      32

/**
 * bytes of one string (quotes and escapes included), number or literal
 * in a body; longer is refused.  yajl keeps a token that spans two pieces
 * in a buffer, and a string is matched whole, so this bounds that memory
 */
#define KERYU_SCHEMA_TOKEN_MAX      65536

/** bytes of an error's JSON pointer, NUL included; longer ones are cut */
#define KERYU_SCHEMA_POINTER_MAX    256

/** nesting of subschemas in a schema document */
#define KERYU_SCHEMA_NEST_MAX       64

/** "pattern": pcre2_set_match_limit(), pcre2_set_depth_limit() */
#define KERYU_SCHEMA_MATCH_LIMIT    100000
#define KERYU_SCHEMA_DEPTH_LIMIT    10000

/** "pattern": pcre2_set_heap_limit(), in KiB */
#define KERYU_SCHEMA_HEAP_LIMIT     1024


typedef struct keryu_schema_s      keryu_schema_t;
typedef struct keryu_schema_run_s  keryu_schema_run_t;


/**
 * Where a run's memory comes from: the run itself, yajl's buffers and
 * PCRE2's match data.  All three functions are required, and return
 * memory aligned for any type, as malloc() does; realloc() is called with
 * p NULL as a malloc(), and free() with p NULL must do nothing.  A failed
 * allocation stops the run with the keyword "memory".
 * A run allocates in keryu_schema_run_new(), and in feeding only when a
 * token spans two pieces or a pattern is first matched, until its
 * buffers reach their bounds; all of it is freed by
 * keryu_schema_run_free().
 */
typedef struct {
    void                     *(*malloc)(void *ctx, size_t size);
    void                     *(*realloc)(void *ctx, void *p, size_t size);
    void                      (*free)(void *ctx, void *p);
    void                       *ctx;
} keryu_schema_alloc_t;                /* NULL: libc */


/**
 * Compiles the schema document of len bytes at json (not necessarily
 * NUL-terminated).  Returns the schema, or NULL with a message in err
 * (err may be NULL): the JSON parser's error, or for instance
 * 'unsupported keyword "oneOf" at "#/properties/a"'.  Uses libc's
 * allocator.
 */
keryu_schema_t *keryu_schema_compile(const char *json, size_t len, char *err,
    size_t errlen);

/** frees the schema; its runs must be freed first; NULL is allowed */
void keryu_schema_free(keryu_schema_t *s);

/**
 * Starts checking a body against s, allocating with a (NULL: libc).
 * Returns the run, or NULL with no memory.
 */
keryu_schema_run_t *keryu_schema_run_new(const keryu_schema_t *s,
    const keryu_schema_alloc_t *a);

/**
 * Checks the next len bytes of the body.  Returns 0 while the body may
 * still be valid, or -1 once it cannot be: invalid JSON, a keyword
 * broken, or no memory.  After -1 stop feeding; later calls return -1.
 */
int keryu_schema_run_feed(keryu_schema_run_t *run, const unsigned char *buf,
    size_t len);

/**
 * Ends the body: returns 0 when it was a valid JSON value that the schema
 * accepts, or -1 (also for an empty body, or after a feed gave -1).
 */
int keryu_schema_run_finish(keryu_schema_run_t *run);

/**
 * After -1, what was wrong; each string lives as long as the run.
 *
 * keyword: the schema keyword broken ("type", "maximum", "required",
 * ...); "properties", "additionalProperties" or "items" for a value their
 * false schema forbids, "false" for a root schema of false; "json" for
 * invalid JSON; "depth" for nesting past KERYU_SCHEMA_DEPTH_MAX; "size"
 * for a token past KERYU_SCHEMA_TOKEN_MAX; "memory" when an allocation
 * failed.
 *
 * pointer: an RFC 6901 JSON pointer into the body, "" for the whole
 * body: the value that broke the keyword; the object or array itself for
 * "maxItems" and "minItems"; the object and the missing name for
 * "required" ("/items/3/qty"); the member for "additionalProperties".
 * For "json" and "size" it names where the parser was: the member whose
 * name was read last, or the array element about to be read, or else the
 * innermost open object or array.  It holds names from the body,
 * escaped ("~0", "~1") but otherwise as they came, so escape it before
 * logging.  It is cut at KERYU_SCHEMA_POINTER_MAX - 1 bytes, on a UTF-8
 * character boundary, and at a name's NUL byte.
 *
 * reason: a short fixed text, such as "above maximum"; never any of the
 * body.
 *
 * Before any -1, all three are "".
 */
void keryu_schema_run_error(const keryu_schema_run_t *run,
    const char **pointer, const char **keyword, const char **reason);

/** frees the run and all it allocated; NULL is allowed */
void keryu_schema_run_free(keryu_schema_run_t *run);


#endif /* _KERYU_SCHEMA_H_INCLUDED_ */
