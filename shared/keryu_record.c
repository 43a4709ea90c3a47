
/*
 * Copyright (C) Keryu Security
 *
 * Encoding and decoding of security records.  The layout is described in
 * keryu_record.h; the code here is the only place that knows the offsets.
 */


#include <string.h>

#include "keryu_record.h"


#define KERYU_RECORD_NFIELDS  6


static const char  *keryu_event_names[KERYU_EVENT_MAX] = {
    "request",
    "login",
    "logout",
    "auth_failure",
    "permission_denied",
    "data_access",
    "system_change",
    "input_rejected"
};


static const size_t  keryu_record_caps[KERYU_RECORD_NFIELDS] = {
    KERYU_RECORD_USER_MAX,
    KERYU_RECORD_AGENT_MAX,
    KERYU_RECORD_METHOD_MAX,
    KERYU_RECORD_HOST_MAX,
    KERYU_RECORD_URI_MAX,
    KERYU_RECORD_DETAILS_MAX
};


static void
keryu_record_fields(const keryu_record_t *rec,
    const keryu_bytes_t *fields[KERYU_RECORD_NFIELDS])
{
    fields[0] = &rec->user;
    fields[1] = &rec->user_agent;
    fields[2] = &rec->method;
    fields[3] = &rec->host;
    fields[4] = &rec->uri;
    fields[5] = &rec->details;
}


static void
keryu_put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t) v;
    p[1] = (uint8_t) (v >> 8);
}


static void
keryu_put64(uint8_t *p, uint64_t v)
{
    int  i;

    for (i = 0; i < 8; i++) {
        p[i] = (uint8_t) (v >> (8 * i));
    }
}


static uint16_t
keryu_get16(const uint8_t *p)
{
    return (uint16_t) (p[0] | (p[1] << 8));
}


static uint64_t
keryu_get64(const uint8_t *p)
{
    int       i;
    uint64_t  v;

    v = 0;

    for (i = 7; i >= 0; i--) {
        v = (v << 8) | p[i];
    }

    return v;
}


size_t
keryu_record_size(const keryu_record_t *rec)
{
    size_t                i, size;
    const keryu_bytes_t  *fields[KERYU_RECORD_NFIELDS];

    keryu_record_fields(rec, fields);

    size = KERYU_RECORD_HEADER_SIZE;

    for (i = 0; i < KERYU_RECORD_NFIELDS; i++) {
        size += fields[i]->len < keryu_record_caps[i]
                ? fields[i]->len : keryu_record_caps[i];
    }

    return size + rec->sealed.len;
}


size_t
keryu_record_encode(const keryu_record_t *rec, uint8_t *buf)
{
    size_t                i, len;
    uint8_t              *p, flags;
    const keryu_bytes_t  *fields[KERYU_RECORD_NFIELDS];

    keryu_record_fields(rec, fields);

    flags = rec->flags;
    p = buf + KERYU_RECORD_HEADER_SIZE;

    for (i = 0; i < KERYU_RECORD_NFIELDS; i++) {
        len = fields[i]->len;

        if (len > keryu_record_caps[i]) {
            len = keryu_record_caps[i];
            flags |= KERYU_RECORD_F_TRUNCATED;
        }

        keryu_put16(buf + 56 + 2 * i, (uint16_t) len);

        if (len) {
            memcpy(p, fields[i]->data, len);
            p += len;
        }
    }

    if (rec->sealed.len) {
        if (rec->sealed.data) {
            memcpy(p, rec->sealed.data, rec->sealed.len);
        }

        p += rec->sealed.len;
    }

    if (rec->sealed.len
        || (flags & (KERYU_RECORD_F_LOCKED|KERYU_RECORD_F_OMITTED)))
    {
        buf[0] = KERYU_RECORD_VERSION_SEALED;

    } else {
        buf[0] = KERYU_RECORD_VERSION;
    }

    buf[1] = rec->type;
    keryu_put16(buf + 2, rec->status);
    buf[4] = rec->addr_family;
    buf[5] = flags;
    keryu_put16(buf + 6, (uint16_t) rec->sealed.len);
    keryu_put64(buf + 8, rec->seq);
    keryu_put64(buf + 16, rec->time_us);
    keryu_put64(buf + 24, rec->bytes_sent);
    keryu_put64(buf + 32, rec->request_time_us);
    memcpy(buf + 40, rec->addr, 16);

    return (size_t) (p - buf);
}


int
keryu_record_decode(keryu_record_t *rec, const uint8_t *buf, size_t len)
{
    size_t          i, flen, off;
    keryu_bytes_t  *fields[KERYU_RECORD_NFIELDS];

    if (len < KERYU_RECORD_HEADER_SIZE
        || (buf[0] != KERYU_RECORD_VERSION
            && buf[0] != KERYU_RECORD_VERSION_SEALED))
    {
        return -1;
    }

    fields[0] = &rec->user;
    fields[1] = &rec->user_agent;
    fields[2] = &rec->method;
    fields[3] = &rec->host;
    fields[4] = &rec->uri;
    fields[5] = &rec->details;

    off = KERYU_RECORD_HEADER_SIZE;

    for (i = 0; i < KERYU_RECORD_NFIELDS; i++) {
        flen = keryu_get16(buf + 56 + 2 * i);

        if (flen > len - off) {
            return -1;
        }

        fields[i]->len = flen;
        fields[i]->data = buf + off;
        off += flen;
    }

    rec->sealed.len = 0;
    rec->sealed.data = NULL;

    /* only a version 2 record has a sealed section to open */

    if (buf[0] == KERYU_RECORD_VERSION && (buf[5] & KERYU_RECORD_F_LOCKED)) {
        return -1;
    }

    if (buf[0] == KERYU_RECORD_VERSION_SEALED) {
        flen = keryu_get16(buf + 6);

        if (flen > len - off
            || ((buf[5] & KERYU_RECORD_F_LOCKED) != 0) != (flen != 0)
            || (buf[5] & KERYU_RECORD_F_LOCKED) == KERYU_RECORD_F_LOCKED)
        {
            return -1;
        }

        rec->sealed.len = flen;
        rec->sealed.data = flen ? buf + off : NULL;
    }

    rec->type = buf[1];
    rec->status = keryu_get16(buf + 2);
    rec->addr_family = buf[4];
    rec->flags = buf[5];
    rec->seq = keryu_get64(buf + 8);
    rec->time_us = keryu_get64(buf + 16);
    rec->bytes_sent = keryu_get64(buf + 24);
    rec->request_time_us = keryu_get64(buf + 32);
    memcpy(rec->addr, buf + 40, 16);

    if (rec->type >= KERYU_EVENT_MAX
        || (rec->addr_family != 0 && rec->addr_family != 4
            && rec->addr_family != 6))
    {
        return -1;
    }

    return 0;
}


size_t
keryu_record_split(const keryu_record_t *rec, keryu_record_t *plain,
    uint8_t *personal, unsigned flags)
{
    size_t                i, n, len, path;
    uint8_t              *p;
    keryu_bytes_t         query;
    const keryu_bytes_t  *fields[4];
    static const size_t   caps[4] = {
        KERYU_RECORD_USER_MAX, KERYU_RECORD_AGENT_MAX, KERYU_RECORD_URI_MAX,
        KERYU_RECORD_DETAILS_MAX
    };

    *plain = *rec;

    plain->flags |= (uint8_t) flags;

    len = rec->uri.len;

    if (len > KERYU_RECORD_URI_MAX) {
        len = KERYU_RECORD_URI_MAX;
        plain->flags |= KERYU_RECORD_F_TRUNCATED;
    }

    for (path = 0; path < len && rec->uri.data[path] != '?'; path++) {
        /* void */
    }

    query.len = len - path;
    query.data = query.len ? rec->uri.data + path : NULL;

    personal[0] = rec->addr_family;
    memcpy(personal + 1, rec->addr, 16);

    fields[0] = &rec->user;
    fields[1] = &rec->user_agent;
    fields[2] = &query;
    fields[3] = &rec->details;

    p = personal + KERYU_RECORD_PERSONAL_HEADER;

    for (i = 0; i < 4; i++) {
        n = fields[i]->len;

        if (n > caps[i]) {
            n = caps[i];
            plain->flags |= KERYU_RECORD_F_TRUNCATED;
        }

        keryu_put16(personal + 17 + 2 * i, (uint16_t) n);

        if (n) {
            memcpy(p, fields[i]->data, n);
            p += n;
        }
    }

    plain->addr_family = 0;
    memset(plain->addr, 0, 16);
    plain->user.len = 0;
    plain->user_agent.len = 0;
    plain->details.len = 0;
    plain->uri.len = path;
    plain->sealed.len = 0;
    plain->sealed.data = NULL;

    return (size_t) (p - personal);
}


int
keryu_record_join(keryu_record_t *rec, const uint8_t *personal, size_t len,
    uint8_t *uri_buf)
{
    size_t          i, off, flen[4];
    const uint8_t  *data[4];

    if (len < KERYU_RECORD_PERSONAL_HEADER
        || (personal[0] != 0 && personal[0] != 4 && personal[0] != 6))
    {
        return -1;
    }

    off = KERYU_RECORD_PERSONAL_HEADER;

    for (i = 0; i < 4; i++) {
        flen[i] = keryu_get16(personal + 17 + 2 * i);

        if (flen[i] > len - off) {
            return -1;
        }

        data[i] = personal + off;
        off += flen[i];
    }

    if (rec->uri.len + flen[2] > KERYU_RECORD_URI_MAX
        || (flen[2] && data[2][0] != '?'))
    {
        return -1;
    }

    if (rec->uri.len) {
        memmove(uri_buf, rec->uri.data, rec->uri.len);
    }

    if (flen[2]) {
        memcpy(uri_buf + rec->uri.len, data[2], flen[2]);
    }

    rec->uri.data = uri_buf;
    rec->uri.len += flen[2];

    rec->addr_family = personal[0];
    memcpy(rec->addr, personal + 1, 16);

    rec->user.len = flen[0];
    rec->user.data = data[0];
    rec->user_agent.len = flen[1];
    rec->user_agent.data = data[1];
    rec->details.len = flen[3];
    rec->details.data = data[3];

    rec->flags &= (uint8_t) ~KERYU_RECORD_F_LOCKED;
    rec->sealed.len = 0;
    rec->sealed.data = NULL;

    return 0;
}


void
keryu_record_aad(const uint8_t *buf, size_t len, uint8_t *aad)
{
    memcpy(aad, buf, len);

    if (len >= 16) {
        memset(aad + 8, 0, 8);
    }
}


void
keryu_record_set_seq(uint8_t *buf, uint64_t seq)
{
    keryu_put64(buf + 8, seq);
}


int
keryu_record_peek_seq(const uint8_t *buf, size_t len, uint64_t *seq)
{
    if (len < KERYU_RECORD_HEADER_SIZE) {
        return -1;
    }

    *seq = keryu_get64(buf + 8);

    return 0;
}


const char *
keryu_event_name(unsigned type)
{
    return type < KERYU_EVENT_MAX ? keryu_event_names[type] : NULL;
}


int
keryu_event_parse(const char *name, size_t len)
{
    int  i;

    for (i = 0; i < KERYU_EVENT_MAX; i++) {
        if (strlen(keryu_event_names[i]) == len
            && memcmp(keryu_event_names[i], name, len) == 0)
        {
            return i;
        }
    }

    return -1;
}
