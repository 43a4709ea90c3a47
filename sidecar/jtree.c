/*
 * Copyright (C) Keryu Security
 *
 * The JSON reader behind jtree.h, on yajl's tree parser.  A jtree_t is a
 * yajl_val under another name: the cast is the whole layer, and it keeps
 * yajl's types out of every other file.  yajl_tree_parse() wants a
 * NUL-terminated copy, and its error text may quote the input, so only a
 * fixed reason goes back to the caller.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_tree.h>

#include "jtree.h"
#include "json.h"


static int jtree_text_depth(const char *p, size_t len);


jtree_t *
jtree_parse(const char *buf, size_t len, char *err, size_t errlen)
{
    char      *tmp;
    yajl_val   tree;

    if (memchr(buf, '\0', len) != NULL) {
        snprintf(err, errlen, "NUL byte in JSON text");
        return NULL;
    }

    /* yajl frees a tree recursively: deep text is refused before parsing */

    if (jtree_text_depth(buf, len) > JTREE_DEPTH_MAX) {
        snprintf(err, errlen, "JSON nested too deep");
        return NULL;
    }

    tmp = malloc(len + 1);
    if (tmp == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }

    memcpy(tmp, buf, len);
    tmp[len] = '\0';

    tree = yajl_tree_parse(tmp, NULL, 0);

    free(tmp);

    if (tree == NULL) {
        snprintf(err, errlen, "not valid JSON");
        return NULL;
    }

    return (jtree_t *) tree;
}


void
jtree_free(jtree_t *root)
{
    if (root) {
        yajl_tree_free((yajl_val) root);
    }
}


/*
 * the deepest nesting of arrays and objects in the text, brackets inside
 * strings not counted; text that is not JSON is left for yajl to refuse
 */

static int
jtree_text_depth(const char *p, size_t len)
{
    int          depth, max, in_string;
    const char  *end;

    depth = 0;
    max = 0;
    in_string = 0;

    for (end = p + len; p < end; p++) {
        if (in_string) {
            if (*p == '\\') {
                p++;

            } else if (*p == '"') {
                in_string = 0;
            }

            continue;
        }

        switch (*p) {

        case '"':
            in_string = 1;
            break;

        case '[':
        case '{':
            depth++;
            max = depth > max ? depth : max;
            break;

        case ']':
        case '}':
            depth--;
            break;
        }
    }

    return max;
}


jtree_type_e
jtree_type(const jtree_t *t)
{
    yajl_val  v = (yajl_val) t;

    if (v == NULL) {
        return JTREE_MISSING;
    }

    switch (v->type) {

    case yajl_t_string:
        return JTREE_STRING;

    case yajl_t_number:
        return JTREE_NUMBER;

    case yajl_t_object:
        return JTREE_OBJECT;

    case yajl_t_array:
        return JTREE_ARRAY;

    case yajl_t_true:
        return JTREE_TRUE;

    case yajl_t_false:
        return JTREE_FALSE;

    default:
        return JTREE_NULL;
    }
}


jtree_t *
jtree_get(const jtree_t *obj, const char *key)
{
    size_t    i;
    yajl_val  v = (yajl_val) obj;

    if (!YAJL_IS_OBJECT(v)) {
        return NULL;
    }

    /* the last of duplicate members wins, as in most readers */

    for (i = v->u.object.len; i > 0; i--) {
        if (strcmp(v->u.object.keys[i - 1], key) == 0) {
            return (jtree_t *) v->u.object.values[i - 1];
        }
    }

    return NULL;
}


size_t
jtree_len(const jtree_t *t)
{
    yajl_val  v = (yajl_val) t;

    if (YAJL_IS_OBJECT(v)) {
        return v->u.object.len;
    }

    if (YAJL_IS_ARRAY(v)) {
        return v->u.array.len;
    }

    return 0;
}


jtree_t *
jtree_at(const jtree_t *t, size_t i)
{
    yajl_val  v = (yajl_val) t;

    if (YAJL_IS_OBJECT(v) && i < v->u.object.len) {
        return (jtree_t *) v->u.object.values[i];
    }

    if (YAJL_IS_ARRAY(v) && i < v->u.array.len) {
        return (jtree_t *) v->u.array.values[i];
    }

    return NULL;
}


const char *
jtree_key_at(const jtree_t *t, size_t i)
{
    yajl_val  v = (yajl_val) t;

    if (YAJL_IS_OBJECT(v) && i < v->u.object.len) {
        return v->u.object.keys[i];
    }

    return NULL;
}


const char *
jtree_string(const jtree_t *t)
{
    yajl_val  v = (yajl_val) t;

    return YAJL_IS_STRING(v) ? v->u.string : NULL;
}


int
jtree_int(const jtree_t *t, int64_t *n)
{
    yajl_val  v = (yajl_val) t;

    if (!YAJL_IS_INTEGER(v)) {
        return -1;
    }

    *n = (int64_t) YAJL_GET_INTEGER(v);

    return 0;
}


int
jtree_bool(const jtree_t *t)
{
    yajl_val  v = (yajl_val) t;

    if (YAJL_IS_TRUE(v)) {
        return 1;
    }

    if (YAJL_IS_FALSE(v)) {
        return 0;
    }

    return -1;
}


const char *
jtree_get_string(const jtree_t *obj, const char *key)
{
    return jtree_string(jtree_get(obj, key));
}


void
jtree_emit(json_t *j, const jtree_t *t)
{
    size_t    i;
    yajl_val  v = (yajl_val) t;

    if (v == NULL) {
        json_null(j);
        return;
    }

    switch (v->type) {

    case yajl_t_string:
        json_cstring(j, v->u.string);
        break;

    case yajl_t_number:
        json_number(j, YAJL_GET_NUMBER(v), strlen(YAJL_GET_NUMBER(v)));
        break;

    case yajl_t_object:
        json_map_open(j);

        for (i = 0; i < v->u.object.len; i++) {
            json_key(j, v->u.object.keys[i]);
            jtree_emit(j, (jtree_t *) v->u.object.values[i]);
        }

        json_map_close(j);
        break;

    case yajl_t_array:
        json_array_open(j);

        for (i = 0; i < v->u.array.len; i++) {
            jtree_emit(j, (jtree_t *) v->u.array.values[i]);
        }

        json_array_close(j);
        break;

    case yajl_t_true:
        json_bool(j, 1);
        break;

    case yajl_t_false:
        json_bool(j, 0);
        break;

    default:
        json_null(j);
        break;
    }
}
