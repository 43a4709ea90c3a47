
/*
 * Copyright (C) Keryu Security
 *
 * system_change records: built here, appended to keryud's own logs with
 * the next id, their index entries and their link in the hash chain
 * (chain.c), in one write transaction.
 */


#include <arpa/inet.h>
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "change.h"
#include "chain.h"
#include "json.h"
#include "log.h"


static int change_details(json_t *j, const change_t *c, int digests);
static void change_object(json_t *j, const char *data, size_t len,
    int digest);


int
change_record(store_t *st, const change_t *c)
{
    int               rc;
    size_t            dlen, size;
    uint8_t           kbuf[8], *buf;
    json_t           *j;
    MDB_val           key, val;
    MDB_txn          *txn;
    chain_t           ch;
    store_rbuf_t     *rb;
    uint64_t          id;
    keryu_record_t    rec;
    struct timespec   ts;
    const uint8_t    *details;

    memset(&rec, 0, sizeof(keryu_record_t));
    memset(&ch, 0, sizeof(chain_t));

    clock_gettime(CLOCK_REALTIME, &ts);

    rec.type = KERYU_EVENT_SYSTEM_CHANGE;
    rec.time_us = (uint64_t) ts.tv_sec * 1000000
                  + (uint64_t) ts.tv_nsec / 1000;
    rec.status = (uint16_t) c->status;

    rec.user.data = (const uint8_t *) c->actor;
    rec.user.len = strlen(c->actor);
    rec.method.data = (const uint8_t *) c->method;
    rec.method.len = strlen(c->method);
    rec.uri.data = (const uint8_t *) c->uri;
    rec.uri.len = strlen(c->uri);
    rec.host.data = (const uint8_t *) "keryud";
    rec.host.len = sizeof("keryud") - 1;

    if (c->addr) {
        if (inet_pton(AF_INET, c->addr, rec.addr) == 1) {
            rec.addr_family = 4;

        } else if (inet_pton(AF_INET6, c->addr, rec.addr) == 1) {
            rec.addr_family = 6;
        }
    }

    /* whole objects when they fit, digests of them when they do not */

    j = json_new();
    if (j == NULL || change_details(j, c, 0) != 0
        || json_result(j, &details, &dlen) != 0)
    {
        json_free(j);
        return ENOMEM;
    }

    if (dlen > KERYU_RECORD_DETAILS_MAX) {
        json_free(j);

        j = json_new();
        if (j == NULL || change_details(j, c, 1) != 0
            || json_result(j, &details, &dlen) != 0)
        {
            json_free(j);
            return ENOMEM;
        }
    }

    rec.details.data = details;
    rec.details.len = dlen;

    rec.seq = 0;

    /* kept as the consumer keeps records: encrypted under a master key */

    buf = malloc(KERYU_RECORD_SEALED_MAX_SIZE);
    rb = malloc(sizeof(store_rbuf_t));

    if (buf == NULL || rb == NULL) {
        free(buf);
        free(rb);
        json_free(j);
        return ENOMEM;
    }

    rc = store_record_encrypt(st, &rec, buf, &size, rb);

    OPENSSL_cleanse(rb, sizeof(store_rbuf_t));
    free(rb);

    if (rc == 1) {
        size = keryu_record_encode(&rec, buf);

    } else if (rc != 0) {
        free(buf);
        json_free(j);
        return EIO;
    }

    rc = store_txn_begin(st, 0, &txn);
    if (rc != 0) {
        goto free;
    }

    rc = store_meta_get(st, txn, STORE_META_NEXT_ID, &id);
    if (rc != 0) {
        goto txn_abort;
    }

    if (id == 0) {
        id = 1;
    }

    keryu_store_key_encode(kbuf, id);

    key.mv_size = 8;
    key.mv_data = kbuf;
    val.mv_size = size;
    val.mv_data = buf;

    if ((rc = mdb_put(txn, st->logs, &key, &val, MDB_APPEND))
        || (rc = store_index_put(st, txn, id, &rec))
        || (rc = store_meta_put(st, txn, STORE_META_NEXT_ID, id + 1))
        || (rc = chain_begin(&ch, st, txn, id))
        || (rc = chain_add(&ch, id, buf, size))
        || (rc = chain_checkpoint(&ch, st, txn, rec.time_us)))
    {
        goto txn_abort;
    }

    /* a failed commit has freed the transaction already */

    rc = mdb_txn_commit(txn);

    goto free;

txn_abort:

    mdb_txn_abort(txn);

free:

    chain_free(&ch);
    free(buf);
    json_free(j);

    return rc;
}


static int
change_details(json_t *j, const change_t *c, int digests)
{
    json_map_open(j);

    json_key(j, "action");
    json_cstring(j, c->action);
    json_key(j, "target");
    json_cstring(j, c->target);

    json_key(j, "before");
    change_object(j, c->before, c->before_len, digests);
    json_key(j, "after");
    change_object(j, c->after, c->after_len, digests);

    if (digests) {
        json_key(j, "truncated");
        json_bool(j, 1);
    }

    json_map_close(j);

    return 0;
}


static void
change_object(json_t *j, const char *data, size_t len, int digest)
{
    char           hex[2 * SHA256_DIGEST_LENGTH + 1];
    size_t         i;
    unsigned char  md[SHA256_DIGEST_LENGTH];

    if (data == NULL) {
        json_null(j);
        return;
    }

    if (!digest) {
        json_details(j, (const uint8_t *) data, len);
        return;
    }

    SHA256((const unsigned char *) data, len, md);

    for (i = 0; i < SHA256_DIGEST_LENGTH; i++) {
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    }

    json_map_open(j);
    json_key(j, "sha256");
    json_cstring(j, hex);
    json_key(j, "bytes");
    json_uint(j, len);
    json_map_close(j);
}


char *
change_policy(keryu_store_t *src, const char *name, size_t *len)
{
    int       rc;
    char     *doc;
    MDB_val   key, val;
    MDB_txn  *txn;

    if (src->env == NULL) {
        return NULL;
    }

    rc = keryu_store_txn_begin(src, MDB_RDONLY, &txn);
    if (rc != 0) {
        return NULL;
    }

    key.mv_size = strlen(name);
    key.mv_data = (void *) name;

    doc = NULL;

    if (mdb_get(txn, src->policies, &key, &val) == 0) {
        doc = malloc(val.mv_size + 1);

        if (doc) {
            memcpy(doc, val.mv_data, val.mv_size);
            doc[val.mv_size] = '\0';
            *len = val.mv_size;
        }
    }

    mdb_txn_abort(txn);

    return doc;
}


const char *
change_cli_actor(char *buf, size_t size)
{
    struct passwd  *pw;

    pw = getpwuid(getuid());

    if (pw && pw->pw_name) {
        snprintf(buf, size, "cli:%s", pw->pw_name);

    } else {
        snprintf(buf, size, "cli:%lu", (unsigned long) getuid());
    }

    return buf;
}
