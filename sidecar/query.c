/*
 * Copyright (C) Keryu Security
 *
 * Query parameters of the logs and events endpoints, and the time format
 * the API reads and writes.  Parsing is strict: every parameter is known,
 * appears once and has a valid value, or the request is refused and
 * q->bad names the parameter.  Nothing here touches the store, so all of
 * it can be tested on its own.
 */


#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <event2/http.h>

#include "keryud.h"


#define QUERY_MAX       4096

/* 9999-12-31T23:59:59Z */
#define TIME_SEC_MAX    253402300799LL


typedef enum {
    QUERY_EVENT_TYPE = 0,
    QUERY_USER,
    QUERY_IP,
    QUERY_STATUS,
    QUERY_SINCE,
    QUERY_UNTIL,
    QUERY_LIMIT,
    QUERY_CURSOR,
    QUERY_NPARAMS
} query_param_e;


static int query_set(query_t *q, query_param_e param, const char *value,
    size_t len);
static int query_fail(query_t *q, const char *reason, const char *name,
    size_t len);
static int query_number(const char *s, size_t len, uint64_t max,
    uint64_t *n);
static int time_digits(const char *s, int n);
static int64_t time_days(int64_t y, unsigned m, unsigned d);


static const char  *query_names[QUERY_NPARAMS] = {
    "event_type",
    "user",
    "ip",
    "status",
    "since",
    "until",
    "limit",
    "cursor"
};


int
query_parse(query_t *q, const char *qs)
{
    int          seen[QUERY_NPARAMS];
    char        *raw, *value;
    size_t       i, nlen, vlen, len;
    const char  *p, *amp, *eq;

    memset(q, 0, sizeof(query_t));
    memset(seen, 0, sizeof(seen));

    q->event_type = -1;
    q->limit = QUERY_LIMIT_DEFAULT;

    if (qs == NULL || qs[0] == '\0') {
        return 0;
    }

    if (strlen(qs) > QUERY_MAX) {
        return query_fail(q, "invalid query", NULL, 0);
    }

    for (p = qs; ; p = amp + 1) {
        amp = strchr(p, '&');
        if (amp == NULL) {
            amp = p + strlen(p);
        }

        eq = memchr(p, '=', (size_t) (amp - p));
        nlen = (size_t) ((eq ? eq : amp) - p);

        if (nlen == 0) {
            return query_fail(q, "invalid query", NULL, 0);
        }

        for (i = 0; i < QUERY_NPARAMS; i++) {
            if (strlen(query_names[i]) == nlen
                && memcmp(query_names[i], p, nlen) == 0)
            {
                break;
            }
        }

        if (i == QUERY_NPARAMS) {
            return query_fail(q, "unknown parameter", p, nlen);
        }

        if (seen[i] || eq == NULL) {
            return query_fail(q, "invalid parameter", p, nlen);
        }

        seen[i] = 1;

        vlen = (size_t) (amp - eq - 1);

        raw = malloc(vlen + 1);
        if (raw == NULL) {
            return query_fail(q, "out of memory", NULL, 0);
        }

        memcpy(raw, eq + 1, vlen);
        raw[vlen] = '\0';

        /* "+" stays "+", so a time offset need not be escaped */

        value = evhttp_uridecode(raw, 0, &len);

        free(raw);

        if (value == NULL) {
            return query_fail(q, "out of memory", NULL, 0);
        }

        if (strlen(value) != len
            || query_set(q, (query_param_e) i, value, len) == -1)
        {
            free(value);
            return query_fail(q, "invalid parameter", p, nlen);
        }

        free(value);

        if (*amp == '\0') {
            break;
        }
    }

    return 0;
}


static int
query_fail(query_t *q, const char *reason, const char *name, size_t len)
{
    q->error = reason;

    if (name == NULL) {
        q->bad[0] = '\0';
        return -1;
    }

    if (len > QUERY_NAME_MAX) {
        len = QUERY_NAME_MAX;
    }

    memcpy(q->bad, name, len);
    q->bad[len] = '\0';

    return -1;
}


static int
query_set(query_t *q, query_param_e param, const char *value, size_t len)
{
    int       rc;
    uint64_t  n;

    switch (param) {

    case QUERY_EVENT_TYPE:
        q->event_type = keryu_event_parse(value, len);
        return q->event_type == -1 ? -1 : 0;

    case QUERY_USER:
        if (len == 0 || len > KERYU_RECORD_USER_MAX) {
            return -1;
        }

        memcpy(q->user, value, len + 1);
        q->user_len = len;
        q->has_user = 1;
        return 0;

    case QUERY_IP:
        if (strchr(value, ':') != NULL) {
            rc = inet_pton(AF_INET6, value, q->addr);
            q->addr_family = 6;

        } else {
            rc = inet_pton(AF_INET, value, q->addr);
            q->addr_family = 4;
        }

        return rc == 1 ? 0 : -1;

    case QUERY_STATUS:
        if (query_number(value, len, 599, &n) == -1 || n < 100) {
            return -1;
        }

        q->status = (int) n;
        return 0;

    case QUERY_SINCE:
        q->has_since = 1;
        return time_parse(value, &q->since);

    case QUERY_UNTIL:
        q->has_until = 1;
        return time_parse(value, &q->until);

    case QUERY_LIMIT:
        if (query_number(value, len, QUERY_LIMIT_MAX, &n) == -1 || n < 1) {
            return -1;
        }

        q->limit = (unsigned) n;
        return 0;

    case QUERY_CURSOR:
        return query_cursor_parse(value, &q->cursor);

    default:
        return -1;
    }
}


/* digits only, no sign, no leading zero, at most max */

static int
query_number(const char *s, size_t len, uint64_t max, uint64_t *n)
{
    size_t  i;

    if (len == 0 || len > 19 || (s[0] == '0' && len > 1)) {
        return -1;
    }

    *n = 0;

    for (i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return -1;
        }

        *n = *n * 10 + (uint64_t) (s[i] - '0');
    }

    return *n <= max ? 0 : -1;
}


/* a cursor is the decimal id of the last record a page showed */

int
query_cursor_parse(const char *s, uint64_t *id)
{
    if (query_number(s, strlen(s), UINT64_MAX, id) == -1 || *id == 0) {
        return -1;
    }

    return 0;
}


int
query_match(const query_t *q, const keryu_record_t *rec)
{
    size_t  alen;

    if (q->event_type != -1 && rec->type != q->event_type) {
        return 0;
    }

    if (q->status && rec->status != q->status) {
        return 0;
    }

    if (q->has_since && rec->time_us < q->since) {
        return 0;
    }

    if (q->has_until && rec->time_us >= q->until) {
        return 0;
    }

    if (q->has_user
        && (rec->user.len != q->user_len
            || memcmp(rec->user.data, q->user, q->user_len) != 0))
    {
        return 0;
    }

    if (q->addr_family) {
        alen = (q->addr_family == 4) ? 4 : 16;

        if (rec->addr_family != q->addr_family
            || memcmp(rec->addr, q->addr, alen) != 0)
        {
            return 0;
        }
    }

    return 1;
}


/*
 * reads RFC 3339 ("2026-12-03T16:49:47Z", with optional fractional seconds
 * and a "+HH:MM" or "-HH:MM" offset) or a decimal count of seconds since
 * the epoch, into microseconds since the epoch; a time before the epoch
 * reads as 0, and digits beyond microseconds are dropped
 */

int
time_parse(const char *s, uint64_t *us)
{
    int       i, ndig, sign, days_in[12];
    int64_t   y, mo, d, h, mi, sec, oh, om, frac, off, secs;
    uint64_t  n;

    if (s[0] == '\0') {
        return -1;
    }

    if (strspn(s, "0123456789") == strlen(s)) {
        if (query_number(s, strlen(s), TIME_SEC_MAX, &n) == -1) {
            return -1;
        }

        *us = n * 1000000;
        return 0;
    }

    if (!(time_digits(s, 4) && s[4] == '-' && time_digits(s + 5, 2)
          && s[7] == '-' && time_digits(s + 8, 2)
          && (s[10] == 'T' || s[10] == 't')
          && time_digits(s + 11, 2) && s[13] == ':'
          && time_digits(s + 14, 2) && s[16] == ':'
          && time_digits(s + 17, 2)))
    {
        return -1;
    }

    y = atoi(s);
    mo = atoi(s + 5);
    d = atoi(s + 8);
    h = atoi(s + 11);
    mi = atoi(s + 14);
    sec = atoi(s + 17);

    days_in[0] = 31;
    days_in[1] = ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0) ? 29 : 28;
    days_in[2] = 31;
    days_in[3] = 30;
    days_in[4] = 31;
    days_in[5] = 30;
    days_in[6] = 31;
    days_in[7] = 31;
    days_in[8] = 30;
    days_in[9] = 31;
    days_in[10] = 30;
    days_in[11] = 31;

    if (mo < 1 || mo > 12 || d < 1 || d > days_in[mo - 1] || h > 23
        || mi > 59 || sec > 60)
    {
        return -1;
    }

    s += 19;
    frac = 0;

    if (*s == '.') {
        s++;

        for (ndig = 0; *s >= '0' && *s <= '9'; ndig++, s++) {
            if (ndig < 6) {
                frac = frac * 10 + (*s - '0');
            }
        }

        if (ndig == 0) {
            return -1;
        }

        for (i = ndig; i < 6; i++) {
            frac *= 10;
        }
    }

    if ((s[0] == 'Z' || s[0] == 'z') && s[1] == '\0') {
        off = 0;

    } else if ((s[0] == '+' || s[0] == '-') && time_digits(s + 1, 2)
               && s[3] == ':' && time_digits(s + 4, 2) && s[6] == '\0')
    {
        sign = (s[0] == '-') ? -1 : 1;
        oh = atoi(s + 1);
        om = atoi(s + 4);

        if (oh > 23 || om > 59) {
            return -1;
        }

        off = sign * (oh * 3600 + om * 60);

    } else {
        return -1;
    }

    secs = time_days(y, (unsigned) mo, (unsigned) d) * 86400
           + h * 3600 + mi * 60 + sec - off;

    if (secs < 0) {
        *us = 0;
        return 0;
    }

    if (secs > TIME_SEC_MAX) {
        return -1;
    }

    *us = (uint64_t) secs * 1000000 + (uint64_t) frac;

    return 0;
}


static int
time_digits(const char *s, int n)
{
    int  i;

    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return 0;
        }
    }

    return 1;
}


/* days from 1970-01-01 to a date of the proleptic Gregorian calendar */

static int64_t
time_days(int64_t y, unsigned m, unsigned d)
{
    int64_t   era, yoe, doy, doe;

    /* count years from March, so that February's leap day comes last */

    if (m <= 2) {
        y--;
    }

    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

    return era * 146097 + doe - 719468;
}


/* writes "2026-12-03T16:49:47.123456Z"; returns its length */

size_t
time_format(uint64_t us, char buf[TIME_STR_MAX])
{
    int        n;
    time_t     t;
    struct tm  tm;

    t = (time_t) (us / 1000000);

    if (gmtime_r(&t, &tm) == NULL) {
        buf[0] = '\0';
        return 0;
    }

    n = snprintf(buf, TIME_STR_MAX, "%04d-%02d-%02dT%02d:%02d:%02d.%06uZ",
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                 tm.tm_min, tm.tm_sec, (unsigned) (us % 1000000));

    if (n < 0 || n >= TIME_STR_MAX) {
        buf[0] = '\0';
        return 0;
    }

    return (size_t) n;
}
