/*
 * Copyright (C) Keryu Security
 *
 * Reports: a compliance, audit, metrics or risk report over a period, as
 * JSON, CSV or one self-contained HTML page (inline CSS, SVG charts drawn
 * here, no script, nothing fetched), stored in keryud's own store and
 * signed.
 *
 * Signing: the SHA-256 of the signed bytes is signed with Ed25519.  The
 * signed bytes are the whole file for JSON and CSV; for HTML, the page up
 * to and including the line "<!-- keryu-signature -->", after which a
 * footer shows the digest, the signature and the key id, so that the page
 * carries its own signature.  The metadata gives "signed_bytes", so that
 * anyone can check a download:
 *
 *   head -c SIGNED_BYTES report.html | openssl dgst -sha256 -binary \
 *       > digest.bin
 *   openssl pkeyutl -verify -pubin -inkey report-key.pem -rawin \
 *       -in digest.bin -sigfile signature.bin
 *
 * The key is the active report_signing key of key management (keys.h)
 * when keryud has a master key; otherwise keryud's own Ed25519 key, made
 * on first use and kept in the report_keys database (comply.h) unwrapped,
 * behind report_sign(), which is all the rest of keryud calls.
 */


#ifndef _KERYUD_REPORT_H_INCLUDED_
#define _KERYUD_REPORT_H_INCLUDED_


#include <stdint.h>

#include "comply.h"


#define REPORT_FILE_MAX       (16 * 1024 * 1024)
#define REPORT_KEEP           500
#define REPORT_PERIOD_DAYS    30
#define REPORT_PERIOD_MAX     (366 * 86400ULL * 1000000)   /* microseconds */
#define REPORT_SCAN_MAX       1000000    /* records a metrics report reads */
#define REPORT_LIST_MAX       1000
#define REPORT_META_NEXT      "next_report"
#define REPORT_KID_MAX        32
#define REPORT_SIG_LEN        64
#define REPORT_PUB_LEN        32
#define REPORT_MARKER         "<!-- keryu-signature -->\n"


typedef enum {
    REPORT_COMPLIANCE = 1,
    REPORT_AUDIT,
    REPORT_METRICS,
    REPORT_RISK
} report_type_e;


typedef enum {
    REPORT_JSON = 1,
    REPORT_CSV,
    REPORT_HTML
} report_format_e;


typedef struct {
    int                 type;
    int                 format;
    uint64_t            since_us;
    uint64_t            until_us;
    uint64_t            audit_id;         /* audit reports: 0, all */
    const char         *actor;
    uint64_t            id;               /* set by report_create() */
} report_req_t;


typedef struct {
    uint8_t             sig[REPORT_SIG_LEN];
    uint8_t             pub[REPORT_PUB_LEN];
    char                kid[REPORT_KID_MAX + 1];
    const char         *signer;           /* "keys" or "local" */
} report_sig_t;


/*
 * makes, signs and stores a report; meta gets its metadata document.
 * Returns 0, MDB_NOTFOUND for an audit_id that does not exist, -1 after
 * logging, or an LMDB code.
 */
int report_create(comply_t *c, report_req_t *req, json_t *meta);

/* the stored metadata of id into j; 0, MDB_NOTFOUND or an LMDB code */
int report_meta(store_t *st, MDB_txn *txn, uint64_t id, json_t *j);

/*
 * the file of id and its content type and name, pointing into txn's
 * pages; 0, MDB_NOTFOUND or an LMDB code
 */
int report_file(store_t *st, MDB_txn *txn, uint64_t id, const uint8_t **buf,
    size_t *len, const char **type, char *name, size_t namelen);

/* {"items":[metadata, ...]} newest first */
int report_list(store_t *st, MDB_txn *txn, json_t *j);

/*
 * signs the SHA-256 digest of a report; returns 0, or -1 after logging.
 * The one way keryud signs what it reports.
 */
int report_sign(comply_t *c, const uint8_t digest[32], report_sig_t *s);

const char *report_type_name(int type);
int report_type_parse(const char *name);
const char *report_format_name(int format);
int report_format_parse(const char *name);


#endif /* _KERYUD_REPORT_H_INCLUDED_ */
