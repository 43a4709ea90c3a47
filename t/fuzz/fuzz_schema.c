
/*
 * Copyright (C) Keryu Security
 *
 * libFuzzer target for the streaming JSON Schema validator.  The input is
 * a request body, checked against one fixed schema, compiled once, that
 * uses every keyword.  Each input is fed whole, then in pieces whose sizes
 * come from a hash of the input, then a byte at a time when it is short:
 * the three results must be the same, and each run must give back all it
 * allocated and keep under a bound while it runs.  The input is also
 * compiled as a schema and, when that succeeds, checked against itself.
 * Any difference aborts, which libFuzzer reports as a crash.
 */


#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keryu_schema.h"


/* the most a run may hold: yajl's buffers for one token, and the rest */
#define FUZZ_MEM_MAX      (4 * KERYU_SCHEMA_TOKEN_MAX + 64 * 1024)

/* inputs up to this long are also fed a byte at a time */
#define FUZZ_BYTEWISE     2048

#define FUZZ_MEM_HDR      16


typedef struct {
    int                  rc;
    char                 pointer[KERYU_SCHEMA_POINTER_MAX];
    const char          *keyword;
    const char          *reason;
} fuzz_result_t;


typedef struct {
    size_t               live;
    size_t               peak;
} fuzz_mem_t;


int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


static const char  fuzz_schema_json[] =
    "{\"$schema\": \"https://json-schema.org/draft/2020-12/schema\","
    " \"title\": \"order\", \"type\": \"object\","
    " \"required\": [\"id\", \"items\"],"
    " \"additionalProperties\": false,"
    " \"properties\": {"
    "  \"id\": {\"type\": \"integer\", \"minimum\": 1,"
    "          \"maximum\": 9223372036854775807},"
    "  \"customer\": {\"type\": \"string\", \"minLength\": 1,"
    "                \"maxLength\": 64, \"pattern\": \"^[\\\\p{L} .'-]+$\"},"
    "  \"email\": {\"type\": [\"string\", \"null\"],"
    "             \"pattern\": \"^[^@\\\\s]+@[^@\\\\s]+$\"},"
    "  \"status\": {\"enum\": [\"new\", \"paid\", \"\\u00e9t\\u00e9\","
    "              null, 1, 2.5, true, 100000000000000000000]},"
    "  \"total\": {\"type\": \"number\", \"exclusiveMinimum\": 0,"
    "             \"exclusiveMaximum\": 1e9},"
    "  \"items\": {\"type\": \"array\", \"minItems\": 1, \"maxItems\": 50,"
    "    \"items\": {\"type\": \"object\", \"required\": [\"sku\", \"qty\"],"
    "      \"properties\": {"
    "        \"sku\": {\"type\": \"string\","
    "                 \"pattern\": \"^[A-Z]{3}-\\\\d+$\"},"
    "        \"qty\": {\"type\": \"integer\", \"minimum\": 1,"
    "                 \"maximum\": 1000},"
    "        \"price\": {\"type\": \"number\","
    "                   \"minimum\": -100000000000000000000,"
    "                   \"maximum\": 1.5e300}},"
    "      \"additionalProperties\": {"
    "        \"type\": [\"string\", \"number\", \"boolean\"]}}},"
    "  \"tags\": {\"type\": \"array\","
    "            \"items\": {\"type\": \"string\", \"maxLength\": 16}},"
    "  \"meta\": {\"type\": \"object\", \"additionalProperties\": true},"
    "  \"notes\": {\"items\": {\"items\": {\"type\": \"array\"}}},"
    "  \"flag\": {\"type\": \"boolean\"},"
    "  \"nothing\": false}}";


static keryu_schema_t  *fuzz_schema;


static void *
fuzz_malloc(void *ctx, size_t size)
{
    fuzz_mem_t     *m = ctx;
    unsigned char  *p;

    p = malloc(FUZZ_MEM_HDR + size);
    if (p == NULL) {
        return NULL;
    }

    memcpy(p, &size, sizeof(size_t));

    m->live += size;
    if (m->live > m->peak) {
        m->peak = m->live;
    }

    return p + FUZZ_MEM_HDR;
}


static void
fuzz_free(void *ctx, void *p)
{
    size_t          size;
    fuzz_mem_t     *m = ctx;
    unsigned char  *b;

    if (p == NULL) {
        return;
    }

    b = (unsigned char *) p - FUZZ_MEM_HDR;
    memcpy(&size, b, sizeof(size_t));
    m->live -= size;
    free(b);
}


static void *
fuzz_realloc(void *ctx, void *p, size_t size)
{
    size_t   old;
    void    *n;

    n = fuzz_malloc(ctx, size);
    if (n == NULL || p == NULL) {
        return n;
    }

    memcpy(&old, (unsigned char *) p - FUZZ_MEM_HDR, sizeof(size_t));
    memcpy(n, p, old < size ? old : size);
    fuzz_free(ctx, p);

    return n;
}


/*
 * Checks size bytes of data against s: whole when seed is 0, a byte at a
 * time when it is 1, else in pieces of 1 to 64 bytes drawn from seed.
 */

static void
fuzz_run(const keryu_schema_t *s, const uint8_t *data, size_t size,
    uint64_t seed, fuzz_result_t *res)
{
    int                   rc;
    size_t                off, n;
    fuzz_mem_t            m;
    const char           *p, *k, *r;
    keryu_schema_run_t   *run;
    keryu_schema_alloc_t  a;

    memset(&m, 0, sizeof(fuzz_mem_t));

    a.malloc = fuzz_malloc;
    a.realloc = fuzz_realloc;
    a.free = fuzz_free;
    a.ctx = &m;

    run = keryu_schema_run_new(s, &a);
    if (run == NULL) {
        fprintf(stderr, "keryu_schema_run_new() failed\n");
        abort();
    }

    rc = 0;

    for (off = 0; off < size; off += n) {
        n = size - off;

        if (seed == 1) {
            n = 1;

        } else if (seed > 1) {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;

            if (n > 1 + seed % 64) {
                n = 1 + seed % 64;
            }
        }

        rc = keryu_schema_run_feed(run, data + off, n);
        if (rc != 0) {
            break;
        }
    }

    if (rc == 0) {
        rc = keryu_schema_run_finish(run);
    }

    keryu_schema_run_error(run, &p, &k, &r);

    res->rc = rc;
    snprintf(res->pointer, sizeof(res->pointer), "%s", p);
    res->keyword = k;
    res->reason = r;

    if (rc == -1 && (k[0] == '\0' || r[0] == '\0')) {
        fprintf(stderr, "refused with no keyword or reason\n");
        abort();
    }

    keryu_schema_run_free(run);

    if (m.live != 0 || m.peak > FUZZ_MEM_MAX) {
        fprintf(stderr, "run memory: %zu bytes left, peak %zu\n", m.live,
                m.peak);
        abort();
    }
}


static void
fuzz_same(const fuzz_result_t *a, const fuzz_result_t *b, const char *how)
{
    if (a->rc == b->rc && strcmp(a->pointer, b->pointer) == 0
        && strcmp(a->keyword, b->keyword) == 0
        && strcmp(a->reason, b->reason) == 0)
    {
        return;
    }

    fprintf(stderr, "whole: %d \"%s\" %s (%s), %s: %d \"%s\" %s (%s)\n",
            a->rc, a->pointer, a->keyword, a->reason, how, b->rc, b->pointer,
            b->keyword, b->reason);
    abort();
}


static void
fuzz_body(const keryu_schema_t *s, const uint8_t *data, size_t size)
{
    size_t         i;
    uint64_t       seed;
    fuzz_result_t  whole, other;

    fuzz_run(s, data, size, 0, &whole);

    /* FNV-1a of the input, kept above 1 */

    seed = 0xcbf29ce484222325ULL;

    for (i = 0; i < size; i++) {
        seed = (seed ^ data[i]) * 0x100000001b3ULL;
    }

    fuzz_run(s, data, size, seed | 2, &other);
    fuzz_same(&whole, &other, "in pieces");

    if (size <= FUZZ_BYTEWISE) {
        fuzz_run(s, data, size, 1, &other);
        fuzz_same(&whole, &other, "bytewise");
    }
}


int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char  err[256];

    (void) argc;
    (void) argv;

    fuzz_schema = keryu_schema_compile(fuzz_schema_json,
                                       sizeof(fuzz_schema_json) - 1, err,
                                       sizeof(err));
    if (fuzz_schema == NULL) {
        fprintf(stderr, "keryu_schema_compile() failed: %s\n", err);
        abort();
    }

    return 0;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char             err[256];
    keryu_schema_t  *s;

    fuzz_body(fuzz_schema, data, size);

    /* the input as a schema, and as a body for itself */

    s = keryu_schema_compile((const char *) data, size, err, sizeof(err));

    if (s != NULL) {
        fuzz_body(s, data, size);
        keryu_schema_free(s);

    } else if (err[0] == '\0') {
        fprintf(stderr, "schema refused with no message\n");
        abort();
    }

    return 0;
}
