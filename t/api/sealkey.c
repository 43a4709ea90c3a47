/*
 * Copyright (C) Keryu Security
 *
 * A test helper for t/060-seal.t: it plays keryud's part in sealing
 * without a keryud.
 *
 *   sealkey publish STORE VERSION KEYFILE
 *       makes an X25519 key pair, publishes its public half in the shared
 *       store as sealing key VERSION and writes the private half, hex,
 *       to KEYFILE
 *   sealkey unpublish STORE
 *       deletes the published key
 *   sealkey open STORE KEYFILE...
 *       prints, for every record of the ring, one line: seq, flags and,
 *       for a sealed record opened with one of the KEYFILEs (of the
 *       version it names), its user agent and URI, tab-separated; a
 *       sealed record that none opens gets "unopened"
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "keryu_record.h"
#include "keryu_seal.h"
#include "keryu_store.h"


#define SEALKEY_MAX  8


static int
sealkey_publish(keryu_store_t *st, unsigned long version, const char *file)
{
    int        rc;
    FILE      *fp;
    size_t     i, len;
    uint8_t    priv[32], pub[32];
    MDB_txn   *txn;
    EVP_PKEY  *pk;

    pk = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
    len = 32;

    if (pk == NULL || EVP_PKEY_get_raw_private_key(pk, priv, &len) != 1) {
        return 1;
    }

    len = 32;

    if (EVP_PKEY_get_raw_public_key(pk, pub, &len) != 1) {
        return 1;
    }

    EVP_PKEY_free(pk);

    fp = fopen(file, "w");
    if (fp == NULL) {
        perror(file);
        return 1;
    }

    fprintf(fp, "%lu ", version);

    for (i = 0; i < 32; i++) {
        fprintf(fp, "%02x", priv[i]);
    }

    fprintf(fp, " ");

    for (i = 0; i < 32; i++) {
        fprintf(fp, "%02x", pub[i]);
    }

    fprintf(fp, "\n");
    fclose(fp);

    rc = keryu_store_txn_begin(st, 0, &txn);
    if (rc == 0) {
        rc = keryu_store_sealing_put(st, txn, version, pub);

        if (rc == 0) {
            rc = mdb_txn_commit(txn);

        } else {
            mdb_txn_abort(txn);
        }
    }

    if (rc != 0) {
        fprintf(stderr, "sealkey: %s\n", keryu_store_strerror(rc));
        return 1;
    }

    return 0;
}


static int
sealkey_unpublish(keryu_store_t *st)
{
    int       rc;
    MDB_val   key;
    MDB_txn  *txn;

    rc = keryu_store_txn_begin(st, 0, &txn);
    if (rc != 0) {
        return 1;
    }

    key.mv_size = sizeof(KERYU_META_SEALING) - 1;
    key.mv_data = KERYU_META_SEALING;

    rc = mdb_del(txn, st->meta, &key, NULL);

    if (rc != 0 && rc != MDB_NOTFOUND) {
        mdb_txn_abort(txn);
        return 1;
    }

    return mdb_txn_commit(txn) == 0 ? 0 : 1;
}


typedef struct {
    unsigned long       version;
    uint8_t             priv[32];
    uint8_t             pub[32];
} sealkey_t;


static int
sealkey_read(const char *file, sealkey_t *k)
{
    FILE      *fp;
    size_t     i;
    unsigned   b;
    char       hpriv[65], hpub[65];

    fp = fopen(file, "r");
    if (fp == NULL || fscanf(fp, "%lu %64s %64s", &k->version, hpriv, hpub)
                      != 3)
    {
        return -1;
    }

    fclose(fp);

    for (i = 0; i < 32; i++) {
        if (sscanf(hpriv + 2 * i, "%2x", &b) != 1) {
            return -1;
        }

        k->priv[i] = (uint8_t) b;

        if (sscanf(hpub + 2 * i, "%2x", &b) != 1) {
            return -1;
        }

        k->pub[i] = (uint8_t) b;
    }

    return 0;
}


static int
sealkey_open(keryu_store_t *st, int n, char **files)
{
    int              i, rc;
    size_t           alen, plen;
    uint8_t          key[32], uri[KERYU_RECORD_URI_MAX],
                     aad[KERYU_RECORD_SEALED_MAX_SIZE],
                     pt[KERYU_RECORD_PERSONAL_MAX];
    MDB_val          k, v;
    MDB_txn         *txn;
    sealkey_t        keys[SEALKEY_MAX];
    MDB_cursor      *cur;
    keryu_record_t   rec;

    if (n > SEALKEY_MAX) {
        return 2;
    }

    for (i = 0; i < n; i++) {
        if (sealkey_read(files[i], &keys[i]) != 0) {
            fprintf(stderr, "sealkey: cannot read %s\n", files[i]);
            return 1;
        }
    }

    if (keryu_store_txn_begin(st, MDB_RDONLY, &txn) != 0
        || mdb_cursor_open(txn, st->ring, &cur) != 0)
    {
        return 1;
    }

    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
         rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT))
    {
        if (keryu_record_decode(&rec, v.mv_data, v.mv_size) != 0) {
            printf("bad\n");
            continue;
        }

        printf("%llu\t%u", (unsigned long long) rec.seq, rec.flags);

        if (!(rec.flags & KERYU_RECORD_F_SEALED)) {
            printf("\t%.*s\t%.*s\n", (int) rec.user_agent.len,
                   rec.user_agent.data, (int) rec.uri.len, rec.uri.data);
            continue;
        }

        if (rec.sealed.len < KERYU_SEAL_OVERHEAD) {
            printf("\tunopened\n");
            continue;
        }

        alen = (size_t) (rec.sealed.data - (const uint8_t *) v.mv_data);
        plen = rec.sealed.len - KERYU_SEAL_OVERHEAD;
        keryu_record_aad(v.mv_data, alen, aad);

        for (i = 0; i < n; i++) {
            if (keys[i].version == keryu_seal_version(rec.sealed.data)
                && keryu_seal_derive(keys[i].priv, keys[i].pub,
                                     rec.sealed.data + 4, key) == 0
                && keryu_seal_open(key, rec.sealed.data, rec.sealed.len,
                                   aad, alen, pt) == 0
                && keryu_record_join(&rec, pt, plen, uri) == 0)
            {
                break;
            }
        }

        if (i == n) {
            printf("\tunopened\n");
            continue;
        }

        printf("\t%.*s\t%.*s\n", (int) rec.user_agent.len,
               rec.user_agent.data, (int) rec.uri.len, rec.uri.data);
    }

    mdb_cursor_close(cur);
    mdb_txn_abort(txn);

    return rc == MDB_NOTFOUND ? 0 : 1;
}


int
main(int argc, char **argv)
{
    int            rc;
    keryu_store_t  st;

    if (argc < 3) {
        fprintf(stderr, "usage: sealkey publish STORE VERSION KEYFILE | "
                "unpublish STORE | open STORE KEYFILE...\n");
        return 2;
    }

    rc = keryu_store_open(&st, argv[2], 0, 0);
    if (rc != 0) {
        fprintf(stderr, "sealkey: %s\n", keryu_store_strerror(rc));
        return 1;
    }

    if (strcmp(argv[1], "publish") == 0 && argc == 5) {
        rc = sealkey_publish(&st, strtoul(argv[3], NULL, 10), argv[4]);

    } else if (strcmp(argv[1], "unpublish") == 0) {
        rc = sealkey_unpublish(&st);

    } else if (strcmp(argv[1], "open") == 0) {
        rc = sealkey_open(&st, argc - 3, argv + 3);

    } else {
        rc = 2;
    }

    keryu_store_close(&st);

    return rc;
}
