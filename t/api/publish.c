/*
 * Copyright (C) Keryu Security
 *
 * A test helper for t/api/compliance-api.t: it puts a file into the
 * shared store's meta under "effective_config", as the nginx module does
 * with the configuration it runs with, so that keryud's compliance checks
 * can be fed configurations that pass and that fail without an nginx:
 *
 *   publish STORE FILE
 *
 * An empty FILE ("-" for none) deletes the entry.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keryu_store.h"


int
main(int argc, char **argv)
{
    int            rc;
    char          *buf;
    FILE          *fp;
    size_t         len;
    MDB_val        key, val;
    MDB_txn       *txn;
    keryu_store_t  st;

    if (argc != 3) {
        fprintf(stderr, "usage: publish STORE FILE\n");
        return 2;
    }

    buf = malloc(8 * 1024 * 1024);
    if (buf == NULL) {
        return 1;
    }

    len = 0;

    if (strcmp(argv[2], "-") != 0) {
        fp = fopen(argv[2], "r");
        if (fp == NULL) {
            perror(argv[2]);
            return 1;
        }

        len = fread(buf, 1, 8 * 1024 * 1024, fp);
        fclose(fp);
    }

    rc = keryu_store_open(&st, argv[1], 0, 0);
    if (rc != 0) {
        fprintf(stderr, "publish: %s\n", keryu_store_strerror(rc));
        return 1;
    }

    rc = keryu_store_txn_begin(&st, 0, &txn);
    if (rc != 0) {
        fprintf(stderr, "publish: %s\n", mdb_strerror(rc));
        return 1;
    }

    key.mv_size = sizeof(KERYU_META_EFFECTIVE_CONFIG) - 1;
    key.mv_data = KERYU_META_EFFECTIVE_CONFIG;
    val.mv_size = len;
    val.mv_data = buf;

    rc = len ? mdb_put(txn, st.meta, &key, &val, 0)
             : mdb_del(txn, st.meta, &key, NULL);

    if (rc != 0 && rc != MDB_NOTFOUND) {
        fprintf(stderr, "publish: %s\n", mdb_strerror(rc));
        mdb_txn_abort(txn);
        return 1;
    }

    rc = mdb_txn_commit(txn);
    if (rc != 0) {
        fprintf(stderr, "publish: %s\n", mdb_strerror(rc));
        return 1;
    }

    keryu_store_close(&st);
    free(buf);

    return 0;
}
