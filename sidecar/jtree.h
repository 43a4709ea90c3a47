/*
 * Copyright (C) Keryu Security
 *
 * A small reader of JSON documents, for the parts of keryud that read
 * JSON rather than write it: the effective configuration the nginx module
 * publishes, the control catalogue, the CVE list, and request bodies that
 * hold more than strings.  It parses a whole document into a tree (yajl's,
 * which only jtree.c sees) and lets callers walk it by member name or
 * index.  Every getter takes NULL and answers "missing", so that a chain
 * of lookups needs one check at its end.
 */


#ifndef _KERYUD_JTREE_H_INCLUDED_
#define _KERYUD_JTREE_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>


/* deepest nesting a document may have; deeper ones are refused */
#define JTREE_DEPTH_MAX  64


typedef struct jtree_s  jtree_t;


typedef enum {
    JTREE_MISSING = 0,
    JTREE_NULL,
    JTREE_FALSE,
    JTREE_TRUE,
    JTREE_NUMBER,
    JTREE_STRING,
    JTREE_OBJECT,
    JTREE_ARRAY
} jtree_type_e;


/*
 * parses len bytes (no NUL inside) into a tree that jtree_free() frees;
 * returns NULL with a short reason in err for text that is not JSON, is
 * nested too deep, or when out of memory.  The reason never quotes the
 * input.
 */
jtree_t *jtree_parse(const char *buf, size_t len, char *err, size_t errlen);

/* frees a tree from jtree_parse(); NULL is accepted */
void jtree_free(jtree_t *root);

jtree_type_e jtree_type(const jtree_t *v);

/* the member called key of an object, or NULL */
jtree_t *jtree_get(const jtree_t *obj, const char *key);

/* elements of an array or members of an object; 0 for anything else */
size_t jtree_len(const jtree_t *v);

/* element i of an array, or value i of an object, or NULL */
jtree_t *jtree_at(const jtree_t *v, size_t i);

/* name of member i of an object, or NULL */
const char *jtree_key_at(const jtree_t *v, size_t i);

/* the string, NUL-terminated, or NULL for anything but a string */
const char *jtree_string(const jtree_t *v);

/* returns 0 with an integer that fits, or -1 */
int jtree_int(const jtree_t *v, int64_t *n);

/* 1 for true, 0 for false, -1 for anything else */
int jtree_bool(const jtree_t *v);

/* the member key, when it is a string; else NULL */
const char *jtree_get_string(const jtree_t *obj, const char *key);

struct json_s;

/*
 * writes v into a JSON document being built (json.h): integers from 0 up
 * as numbers, other numbers as the strings they were written as
 */
void jtree_emit(struct json_s *j, const jtree_t *v);


#endif /* _KERYUD_JTREE_H_INCLUDED_ */
