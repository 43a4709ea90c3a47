/*
 * Copyright (C) Keryu Security
 *
 * libFuzzer target for what keryud does with a ring entry it did not
 * write: decode it as a record and, for one with a sealed section, read
 * the section as a sealed value and open it with a fixed key, then join
 * bytes that are not a personal part, as if they had opened.  Nothing
 * may read outside its buffers, whatever the bytes.
 */


#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "keryu_record.h"
#include "keryu_seal.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t           alen;
    uint8_t         *buf, *aad, *out;
    keryu_record_t   rec, copy;

    static const uint8_t  key[KERYU_SEAL_KEY_LEN] = { 1, 2, 3 };
    static uint8_t        uri[KERYU_RECORD_URI_MAX];

    /* a copy of exactly size bytes, so that reading past it is caught */

    buf = malloc(size ? size : 1);
    if (buf == NULL) {
        return 0;
    }

    memcpy(buf, data, size);

    if (keryu_record_decode(&rec, buf, size) == 0 && rec.sealed.len) {
        alen = (size_t) (rec.sealed.data - buf);

        aad = malloc(alen ? alen : 1);
        out = malloc(rec.sealed.len);

        if (aad && out) {
            keryu_record_aad(buf, alen, aad);

            if (rec.sealed.len >= 4) {
                (void) keryu_seal_version(rec.sealed.data);
            }
            (void) keryu_seal_open(key, rec.sealed.data, rec.sealed.len, aad,
                                   alen, out);

            copy = rec;
            (void) keryu_record_join(&copy, rec.sealed.data, rec.sealed.len,
                                     uri);
        }

        free(aad);
        free(out);
    }

    free(buf);

    return 0;
}
