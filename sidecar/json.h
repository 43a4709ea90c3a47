/*
 * Copyright (C) Keryu Security
 *
 * JSON output for keryud.  This is the only interface to yajl: callers
 * build a document through these calls and never see a yajl type.  Each
 * call checks yajl's status; the first failure sticks, later calls do
 * nothing, and json_result() reports it, so a caller checks once at the
 * end.  Strings are untrusted bytes: invalid UTF-8 in them is replaced
 * with U+FFFD before yajl, which validates UTF-8, sees them.
 */


#ifndef _KERYUD_JSON_H_INCLUDED_
#define _KERYUD_JSON_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>

#include "keryu_record.h"


typedef struct json_s  json_t;


/* returns NULL when out of memory */
json_t *json_new(void);
void json_free(json_t *j);

void json_map_open(json_t *j);
void json_map_close(json_t *j);
void json_array_open(json_t *j);
void json_array_close(json_t *j);
void json_key(json_t *j, const char *key);
void json_string(json_t *j, const uint8_t *data, size_t len);
void json_cstring(json_t *j, const char *s);
void json_uint(json_t *j, uint64_t n);
void json_int(json_t *j, int64_t n);
/* a number as JSON text that a parser has already checked */
void json_number(json_t *j, const char *text, size_t len);
void json_bool(json_t *j, int value);
void json_null(json_t *j);

/* a stored JSON object, parsed and emitted again; anything else is {} */
void json_details(json_t *j, const uint8_t *data, size_t len);

/* one record as the API shows it */
void json_record(json_t *j, uint64_t id, const keryu_record_t *rec);

/*
 * returns 0 and the document, which lives until json_free(), or -1 after
 * a failure that json_error() describes
 */
int json_result(json_t *j, const uint8_t **buf, size_t *len);
const char *json_error(json_t *j);

/*
 * reads a request body that must be a JSON object of string members, each
 * one of the n names; values[i] gets a NUL-terminated copy of member
 * names[i], or NULL, for the caller to free.  Returns 0; -1 for a body
 * that is not a JSON object, or out of memory; -2 with the member's name
 * in bad for an unknown member, one given twice, or one that is not a
 * string
 */
int json_read_strings(const char *buf, size_t len, const char *const *names,
    size_t n, char **values, char *bad, size_t badlen);

/* is it UTF-8, with no overlong forms, surrogates or values past U+10FFFF */
int json_utf8_valid(const uint8_t *in, size_t len);

/* copies len bytes into out (3 * len bytes) with U+FFFD for bad UTF-8 */
size_t json_utf8_clean(const uint8_t *in, size_t len, uint8_t *out);

/*
 * checks only the syntax of the JSON text in buf; returns 0, or -1 with
 * in offset the last byte of the token at fault (len when the text ends
 * early)
 */
int json_syntax_check(const char *buf, size_t len, size_t *offset);


#endif /* _KERYUD_JSON_H_INCLUDED_ */
