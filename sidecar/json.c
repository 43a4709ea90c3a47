/*
 * Copyright (C) Keryu Security
 *
 * JSON through yajl.  The generator runs with beautify off and UTF-8
 * validation on; strings are cleaned before they reach it, so validation
 * failing would mean a bug here, and it is reported like any other yajl
 * failure.  The details field of a record is parsed with yajl's tree
 * parser and emitted again, so a client never receives bytes that did not
 * pass through a parser.
 */


#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_parse.h>
#include <yajl/yajl_tree.h>

#include "keryud.h"
#include "json.h"
#include "log.h"


/* deeper details are shown as {}; yajl_gen stops at 128 levels */
#define JSON_DETAILS_DEPTH  32


struct json_s {
    yajl_gen            gen;
    const char         *failed;       /* the first call that failed */
    yajl_gen_status     status;
    uint8_t            *tmp;
    size_t              tmp_size;
    char                error[128];
};


static int json_check(json_t *j, const char *call, yajl_gen_status status);
static int json_tmp(json_t *j, size_t size);
static size_t json_utf8_seq(const uint8_t *p, size_t len);
static int json_depth(yajl_val v, int depth);
static void json_value(json_t *j, yajl_val v);


json_t *
json_new(void)
{
    json_t  *j;

    j = calloc(1, sizeof(json_t));
    if (j == NULL) {
        return NULL;
    }

    j->gen = yajl_gen_alloc(NULL);
    if (j->gen == NULL) {
        goto json_free;
    }

    if (!yajl_gen_config(j->gen, yajl_gen_beautify, 0)
        || !yajl_gen_config(j->gen, yajl_gen_validate_utf8, 1))
    {
        goto gen_free;
    }

    return j;

gen_free:

    yajl_gen_free(j->gen);

json_free:

    free(j);

    return NULL;
}


void
json_free(json_t *j)
{
    if (j == NULL) {
        return;
    }

    yajl_gen_free(j->gen);
    free(j->tmp);
    free(j);
}


static int
json_check(json_t *j, const char *call, yajl_gen_status status)
{
    if (status == yajl_gen_status_ok) {
        return 0;
    }

    if (j->failed == NULL) {
        j->failed = call;
        j->status = status;
    }

    return -1;
}


void
json_map_open(json_t *j)
{
    if (j->failed == NULL) {
        json_check(j, "yajl_gen_map_open", yajl_gen_map_open(j->gen));
    }
}


void
json_map_close(json_t *j)
{
    if (j->failed == NULL) {
        json_check(j, "yajl_gen_map_close", yajl_gen_map_close(j->gen));
    }
}


void
json_array_open(json_t *j)
{
    if (j->failed == NULL) {
        json_check(j, "yajl_gen_array_open", yajl_gen_array_open(j->gen));
    }
}


void
json_array_close(json_t *j)
{
    if (j->failed == NULL) {
        json_check(j, "yajl_gen_array_close", yajl_gen_array_close(j->gen));
    }
}


void
json_key(json_t *j, const char *key)
{
    json_string(j, (const uint8_t *) key, strlen(key));
}


void
json_cstring(json_t *j, const char *s)
{
    json_string(j, (const uint8_t *) s, strlen(s));
}


void
json_string(json_t *j, const uint8_t *data, size_t len)
{
    size_t  n;

    if (j->failed) {
        return;
    }

    if (json_utf8_valid(data, len)) {
        json_check(j, "yajl_gen_string", yajl_gen_string(j->gen, data, len));
        return;
    }

    if (json_tmp(j, 3 * len) == -1) {
        j->failed = "realloc";
        return;
    }

    n = json_utf8_clean(data, len, j->tmp);

    json_check(j, "yajl_gen_string", yajl_gen_string(j->gen, j->tmp, n));
}


void
json_int(json_t *j, int64_t n)
{
    int   len;
    char  buf[24];

    if (j->failed) {
        return;
    }

    len = snprintf(buf, sizeof(buf), "%lld", (long long) n);

    json_check(j, "yajl_gen_number",
               yajl_gen_number(j->gen, buf, (size_t) len));
}


void
json_uint(json_t *j, uint64_t n)
{
    int   len;
    char  buf[24];

    if (j->failed) {
        return;
    }

    len = snprintf(buf, sizeof(buf), "%llu", (unsigned long long) n);

    json_check(j, "yajl_gen_number",
               yajl_gen_number(j->gen, buf, (size_t) len));
}


void
json_number(json_t *j, const char *text, size_t len)
{
    if (j->failed) {
        return;
    }

    json_check(j, "yajl_gen_number", yajl_gen_number(j->gen, text, len));
}


void
json_bool(json_t *j, int value)
{
    if (j->failed == NULL) {
        json_check(j, "yajl_gen_bool", yajl_gen_bool(j->gen, value));
    }
}


void
json_null(json_t *j)
{
    if (j->failed == NULL) {
        json_check(j, "yajl_gen_null", yajl_gen_null(j->gen));
    }
}


int
json_result(json_t *j, const uint8_t **buf, size_t *len)
{
    if (j->failed) {
        return -1;
    }

    return json_check(j, "yajl_gen_get_buf",
                      yajl_gen_get_buf(j->gen, buf, len));
}


const char *
json_error(json_t *j)
{
    const char  *reason;

    switch ((int) j->status) {

    case yajl_gen_keys_must_be_strings:
        reason = "keys must be strings";
        break;

    case yajl_max_depth_exceeded:
        reason = "max depth exceeded";
        break;

    case yajl_gen_in_error_state:
        reason = "in error state";
        break;

    case yajl_gen_generation_complete:
        reason = "generation complete";
        break;

    case yajl_gen_invalid_number:
        reason = "invalid number";
        break;

    case yajl_gen_no_buf:
        reason = "no buffer";
        break;

    case yajl_gen_invalid_string:
        reason = "invalid string";
        break;

    default:
        reason = "out of memory";
        break;
    }

    snprintf(j->error, sizeof(j->error), "%s() failed: %s",
             j->failed ? j->failed : "json", reason);

    return j->error;
}


static int
json_tmp(json_t *j, size_t size)
{
    uint8_t  *p;

    if (size <= j->tmp_size) {
        return 0;
    }

    p = realloc(j->tmp, size);
    if (p == NULL) {
        return -1;
    }

    j->tmp = p;
    j->tmp_size = size;

    return 0;
}


/* returns the length of a valid UTF-8 sequence at p, or 0 */

static size_t
json_utf8_seq(const uint8_t *p, size_t len)
{
    size_t   n, i;
    uint8_t  lo, hi;

    lo = 0x80;
    hi = 0xbf;

    if (p[0] < 0x80) {
        return 1;
    }

    if (p[0] >= 0xc2 && p[0] <= 0xdf) {
        n = 2;

    } else if (p[0] >= 0xe0 && p[0] <= 0xef) {
        n = 3;

        /* no overlong forms, no UTF-16 surrogates */

        if (p[0] == 0xe0) {
            lo = 0xa0;

        } else if (p[0] == 0xed) {
            hi = 0x9f;
        }

    } else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
        n = 4;

        if (p[0] == 0xf0) {
            lo = 0x90;

        } else if (p[0] == 0xf4) {
            hi = 0x8f;
        }

    } else {
        return 0;
    }

    if (len < n || p[1] < lo || p[1] > hi) {
        return 0;
    }

    for (i = 2; i < n; i++) {
        if (p[i] < 0x80 || p[i] > 0xbf) {
            return 0;
        }
    }

    return n;
}


int
json_utf8_valid(const uint8_t *p, size_t len)
{
    size_t  i, n;

    for (i = 0; i < len; i += n) {
        n = json_utf8_seq(p + i, len - i);
        if (n == 0) {
            return 0;
        }
    }

    return 1;
}


size_t
json_utf8_clean(const uint8_t *in, size_t len, uint8_t *out)
{
    size_t    i, n;
    uint8_t  *p;

    p = out;

    for (i = 0; i < len; i += n) {
        n = json_utf8_seq(in + i, len - i);

        if (n == 0) {
            *p++ = 0xef;
            *p++ = 0xbf;
            *p++ = 0xbd;
            n = 1;
            continue;
        }

        memcpy(p, in + i, n);
        p += n;
    }

    return (size_t) (p - out);
}


static int
json_depth(yajl_val v, int depth)
{
    int     d, max;
    size_t  i, n;

    if (depth > JSON_DETAILS_DEPTH) {
        return depth;
    }

    max = depth;

    if (YAJL_IS_OBJECT(v)) {
        n = v->u.object.len;

        for (i = 0; i < n; i++) {
            d = json_depth(v->u.object.values[i], depth + 1);
            max = d > max ? d : max;
        }

    } else if (YAJL_IS_ARRAY(v)) {
        n = v->u.array.len;

        for (i = 0; i < n; i++) {
            d = json_depth(v->u.array.values[i], depth + 1);
            max = d > max ? d : max;
        }
    }

    return max;
}


static void
json_value(json_t *j, yajl_val v)
{
    size_t       i;
    const char  *num;

    switch (v->type) {

    case yajl_t_string:
        json_cstring(j, YAJL_GET_STRING(v));
        break;

    case yajl_t_number:
        num = YAJL_GET_NUMBER(v);
        json_number(j, num, strlen(num));
        break;

    case yajl_t_object:
        json_map_open(j);

        for (i = 0; i < v->u.object.len; i++) {
            json_key(j, v->u.object.keys[i]);
            json_value(j, v->u.object.values[i]);
        }

        json_map_close(j);
        break;

    case yajl_t_array:
        json_array_open(j);

        for (i = 0; i < v->u.array.len; i++) {
            json_value(j, v->u.array.values[i]);
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


void
json_details(json_t *j, const uint8_t *data, size_t len)
{
    yajl_val  tree;

    if (j->failed) {
        return;
    }

    tree = NULL;

    if (len == 0 || json_tmp(j, 3 * len + 1) == -1) {
        goto empty;
    }

    if (memchr(data, '\0', len) != NULL) {
        log_debug("%s: details hold a NUL byte", __func__);
        goto empty;
    }

    /*
     * yajl_tree_parse() wants a NUL-terminated string, and refuses the
     * whole document for one bad byte: invalid UTF-8 that a value brought
     * in (a block's reason, say) becomes U+FFFD instead
     */

    len = json_utf8_clean(data, len, j->tmp);
    j->tmp[len] = '\0';

    tree = yajl_tree_parse((const char *) j->tmp, NULL, 0);

    if (!YAJL_IS_OBJECT(tree)) {
        log_debug("%s: details are not a JSON object", __func__);
        goto empty;
    }

    if (json_depth(tree, 1) > JSON_DETAILS_DEPTH) {
        log_debug("%s: details nest too deep", __func__);
        goto empty;
    }

    json_value(j, tree);

    yajl_tree_free(tree);

    return;

empty:

    yajl_tree_free(tree);

    json_map_open(j);
    json_map_close(j);
}


void
json_record(json_t *j, uint64_t id, const keryu_record_t *rec)
{
    int          len;
    char         buf[INET6_ADDRSTRLEN], tbuf[TIME_STR_MAX];
    const char  *name;

    json_map_open(j);

    json_key(j, "id");
    json_uint(j, id);

    json_key(j, "seq");
    json_uint(j, rec->seq);

    json_key(j, "time");
    json_string(j, (uint8_t *) tbuf, time_format(rec->time_us, tbuf));

    json_key(j, "event_type");
    name = keryu_event_name(rec->type);

    if (name) {
        json_cstring(j, name);

    } else {
        json_null(j);
    }

    json_key(j, "user");

    if (rec->user.len) {
        json_string(j, rec->user.data, rec->user.len);

    } else {
        json_null(j);
    }

    json_key(j, "ip");

    if (rec->addr_family == 4
        && inet_ntop(AF_INET, rec->addr, buf, sizeof(buf)) != NULL)
    {
        json_cstring(j, buf);

    } else if (rec->addr_family == 6
               && inet_ntop(AF_INET6, rec->addr, buf, sizeof(buf)) != NULL)
    {
        json_cstring(j, buf);

    } else {
        json_null(j);
    }

    json_key(j, "user_agent");
    json_string(j, rec->user_agent.data, rec->user_agent.len);

    json_key(j, "method");
    json_string(j, rec->method.data, rec->method.len);

    json_key(j, "host");
    json_string(j, rec->host.data, rec->host.len);

    json_key(j, "uri");
    json_string(j, rec->uri.data, rec->uri.len);

    json_key(j, "status");
    json_uint(j, rec->status);

    json_key(j, "bytes_sent");
    json_uint(j, rec->bytes_sent);

    json_key(j, "request_time");

    if (j->failed == NULL) {
        len = snprintf(buf, sizeof(buf), "%llu.%06u",
                       (unsigned long long) (rec->request_time_us / 1000000),
                       (unsigned) (rec->request_time_us % 1000000));

        json_check(j, "yajl_gen_number",
                   yajl_gen_number(j->gen, buf, (size_t) len));
    }

    json_key(j, "truncated");
    json_bool(j, (rec->flags & KERYU_RECORD_F_TRUNCATED) != 0);

    json_key(j, "details");
    json_details(j, rec->details.data, rec->details.len);

    /* a record whose personal fields could not be opened says so */

    if (rec->flags & KERYU_RECORD_F_LOCKED) {
        json_key(j, "sealed");
        json_bool(j, 1);
    }

    if (rec->flags & KERYU_RECORD_F_OMITTED) {
        json_key(j, "personal_omitted");
        json_bool(j, 1);
    }

    json_map_close(j);
}


int
json_read_strings(const char *buf, size_t len, const char *const *names,
    size_t n, char **values, char *bad, size_t badlen)
{
    int          rc;
    char        *tmp;
    size_t       i, k;
    yajl_val     tree, v;
    const char  *key;

    for (k = 0; k < n; k++) {
        values[k] = NULL;
    }

    if (memchr(buf, '\0', len) != NULL) {
        return -1;
    }

    /* yajl_tree_parse() wants a NUL-terminated string */

    tmp = malloc(len + 1);
    if (tmp == NULL) {
        return -1;
    }

    memcpy(tmp, buf, len);
    tmp[len] = '\0';

    tree = yajl_tree_parse(tmp, NULL, 0);

    free(tmp);

    rc = -1;

    if (!YAJL_IS_OBJECT(tree)) {
        goto tree_free;
    }

    for (i = 0; i < tree->u.object.len; i++) {
        key = tree->u.object.keys[i];
        v = tree->u.object.values[i];

        for (k = 0; k < n; k++) {
            if (strcmp(names[k], key) == 0) {
                break;
            }
        }

        if (k == n || values[k] != NULL || !YAJL_IS_STRING(v)) {
            snprintf(bad, badlen, "%s", key);
            rc = -2;
            goto values_free;
        }

        values[k] = strdup(v->u.string);
        if (values[k] == NULL) {
            goto values_free;
        }
    }

    rc = 0;

    goto tree_free;

values_free:

    for (k = 0; k < n; k++) {
        free(values[k]);
        values[k] = NULL;
    }

tree_free:

    yajl_tree_free(tree);

    return rc;
}


int
json_syntax_check(const char *buf, size_t len, size_t *offset)
{
    yajl_handle    h;
    yajl_status    st;

    h = yajl_alloc(NULL, NULL, NULL);
    if (h == NULL) {
        *offset = 0;
        return -1;
    }

    st = yajl_parse(h, (const unsigned char *) buf, len);

    if (st == yajl_status_ok) {
        st = yajl_complete_parse(h);
        *offset = len;

    } else {

        /* yajl counts the offending token in: point at its last byte */

        *offset = yajl_get_bytes_consumed(h);
        *offset -= *offset > 0;
    }

    yajl_free(h);

    return st == yajl_status_ok ? 0 : -1;
}
