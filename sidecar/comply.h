/*
 * Copyright (C) Keryu Security
 *
 * Compliance: a catalogue of controls, each mapped to clauses of the
 * standards an operator answers to, checked against evidence (evidence.h)
 * by built-in check functions (checks.c).  A check answers pass, warn or
 * fail, with the values it used and what to change to pass; unknown
 * evidence is a warning, never a pass.
 *
 * The catalogue is data (conf/controls.json): standards, how sensitive
 * each part of a site is, and the controls.  A control names its check
 * and the check's parameters; keryud refuses a catalogue that names a
 * check it does not have.  The CVE list (conf/nginx-cves.json) is data
 * too: known nginx vulnerabilities with the versions they affect.
 *
 * keryud runs every check on a timer and on request, stores each run in
 * its own store, and raises an alert (rule "compliance/ID") for each
 * control that passed in the run before and fails in this one.  Audits
 * (audit.c) file findings from runs, reports (report.c) render runs,
 * audits, metrics and risk, and the risk register (risk.c) weighs the
 * failing controls against what the records show.
 *
 * Own store databases:
 *
 *   compliance  key: run id, 8 bytes big-endian, from 1 up
 *               value: the run as JSON (comply_run_json()), at most
 *               COMPLY_RUNS_KEEP of them, oldest deleted first
 *   audits      key: audit id, 8 bytes big-endian; value: JSON (audit.c)
 *   reports     key: report id, 8 bytes big-endian; value: the length of
 *               the metadata (4 bytes little-endian), the metadata as
 *               JSON, then the file (report.c)
 *   risk        key: assessment id, 8 bytes big-endian; value: JSON
 *               (risk.c)
 *   report_keys key: a key id; value: version (1), created (8 bytes
 *               little-endian, seconds), Ed25519 private key (32)
 *
 * Own meta counters: next_run, next_audit, next_report, next_risk.
 */


#ifndef _KERYUD_COMPLY_H_INCLUDED_
#define _KERYUD_COMPLY_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>

#include "keryud.h"
#include "evidence.h"
#include "jtree.h"
#include "json.h"


#define COMPLY_ID_MAX          48
#define COMPLY_STANDARDS_MAX   16
#define COMPLY_CONTROLS_MAX    256
#define COMPLY_ZONES_MAX       128
#define COMPLY_REMEDY_MAX      1024
#define COMPLY_TARGETS_MAX     32
#define COMPLY_ITEMS_MAX       20      /* offending items shown a check */
#define COMPLY_FILE_MAX        (1024 * 1024)
#define COMPLY_RUNS_KEEP       200
#define COMPLY_CVES_MAX        256
#define COMPLY_RANGES_MAX      8

#define COMPLY_META_NEXT_RUN   "next_run"

/* what a control's "threat" may name besides event types */
#define COMPLY_THREAT_ALERTS   0x80000000u


typedef enum {
    COMPLY_PASS = 0,
    COMPLY_WARN,
    COMPLY_FAIL
} comply_status_e;


typedef struct comply_ctx_s  comply_ctx_t;

typedef void (*comply_check_pt)(comply_ctx_t *cx, const jtree_t *params);


typedef struct {
    const char         *key;              /* "gdpr", "pci_dss_4", ... */
    const char         *title;
} comply_standard_t;


/* a part of a site and how much harm its misuse does, 1 to 5 */
typedef struct {
    const char         *prefix;
    size_t              len;
    int                 level;
} comply_zone_t;


typedef struct {
    const char         *id;
    const char         *title;
    const char         *text;
    const char         *check;
    int                 severity;         /* keryu_severity_e */
    const jtree_t      *params;           /* an object, or NULL */
    const jtree_t      *mappings;         /* standard: [clause, ...] */
    uint32_t            standards;        /* bit i: standards[i] mapped */
    uint32_t            threat;           /* 1 << type, or _ALERTS */
    comply_check_pt     fn;
} comply_control_t;


/* the catalogue; every string points into tree */
typedef struct {
    jtree_t            *tree;
    int64_t             version;
    comply_standard_t   standards[COMPLY_STANDARDS_MAX];
    size_t              nstandards;
    comply_zone_t       zones[COMPLY_ZONES_MAX];
    size_t              nzones;
    int                 sensitive_level;  /* zones at or above it */
    comply_control_t   *controls;
    size_t              ncontrols;
} comply_catalogue_t;


typedef struct {
    unsigned            v[3];
} comply_version_t;


typedef struct {
    comply_version_t    from;
    comply_version_t    to;
} comply_range_t;


typedef struct {
    const char         *id;
    const char         *summary;
    const char         *severity;
    const char         *requires;         /* "http2", "mp4", ... or NULL */
    comply_range_t      vulnerable[COMPLY_RANGES_MAX];
    size_t              nvulnerable;
    comply_version_t    fixed[COMPLY_RANGES_MAX];  /* "1.22.1+" each */
    size_t              nfixed;
} comply_cve_t;


typedef struct {
    jtree_t            *tree;
    const char         *checked;          /* when the list was reviewed */
    const char         *caveat;
    comply_cve_t       *cves;
    size_t              ncves;
} comply_cves_t;


typedef struct {
    const comply_control_t  *control;
    int                 status;
    char               *evidence;         /* a JSON object, malloc()ed */
    size_t              evidence_len;
    char                remediation[COMPLY_REMEDY_MAX];
    char               *targets[COMPLY_TARGETS_MAX];  /* locations */
    size_t              ntargets;
} comply_result_t;


typedef struct {
    uint64_t            id;               /* 0: not stored */
    uint64_t            at_us;
    const char         *trigger;
    comply_result_t    *results;
    size_t              nresults;
    int                 config;           /* evidence.h's */
    char                config_error[128];
    char                nginx_version[EV_VERSION_MAX];
    char                published_at[EV_STRING_MAX];
} comply_run_t;


/* what a check works with; checks.c and its tests only */
struct comply_ctx_s {
    const comply_catalogue_t  *cat;
    const comply_cves_t       *cves;
    const evidence_t          *ev;
    const comply_control_t    *control;
    json_t                    *json;      /* the evidence object, open */
    int                        status;
    char                      *remedy;
    size_t                     remedy_len;
    comply_result_t           *result;
};


struct respond_s;
struct keys_s;


/* keryud's compliance state */
typedef struct comply_s {
    const conf_t       *conf;
    store_t            *own;
    keryu_store_t      *src;
    struct respond_s   *respond;          /* NULL: no alerts */
    struct keys_s      *keys;             /* NULL: no key management */
    comply_catalogue_t *cat;              /* NULL: none loaded */
    comply_cves_t      *cves;             /* NULL: none loaded */
    char                error[CONF_PATH_MAX + 128];  /* why cat is NULL */
    uint64_t            next_run_us;
    uint64_t            audit_due_us;     /* 0: look at the audits */
    uint64_t            runs;
    uint64_t            regressions;
} comply_t;


/* ---- the catalogue and the CVE list (comply.c) ---- */

comply_catalogue_t *comply_catalogue_parse(const char *buf, size_t len,
    char *err, size_t errlen);
comply_catalogue_t *comply_catalogue_load(const char *path, char *err,
    size_t errlen);
void comply_catalogue_free(comply_catalogue_t *cat);

/* the index of a standard's key, or -1 */
int comply_standard_index(const comply_catalogue_t *cat, const char *key);

comply_cves_t *comply_cves_parse(const char *buf, size_t len, char *err,
    size_t errlen);
comply_cves_t *comply_cves_load(const char *path, char *err, size_t errlen);
void comply_cves_free(comply_cves_t *cves);

/* "1.22.1" into v; returns 0 or -1 */
int comply_version_parse(const char *s, comply_version_t *v);
int comply_version_cmp(const comply_version_t *a, const comply_version_t *b);

/* 1 when cve affects version by its ranges and fixes, else 0 */
int comply_cve_affects(const comply_cve_t *cve, const comply_version_t *v);


/* ---- evaluation (comply.c) ---- */

/*
 * runs every control of cat over ev into run; returns 0, or -1 when out
 * of memory, with run empty
 */
int comply_evaluate(const comply_catalogue_t *cat, const comply_cves_t *cves,
    const evidence_t *ev, comply_run_t *run);

/* evaluates one control; tests call it directly */
int comply_check(const comply_catalogue_t *cat, const comply_cves_t *cves,
    const evidence_t *ev, const comply_control_t *control,
    comply_result_t *res);

void comply_result_free(comply_result_t *res);
void comply_run_free(comply_run_t *run);

/* the result of control id in run, or NULL */
const comply_result_t *comply_run_find(const comply_run_t *run,
    const char *id);

const char *comply_status_name(int status);
int comply_status_parse(const char *name);

/*
 * the compliance document the API shows: per standard {status, passed,
 * warned, failed}, per control {id, title, status, evidence, remediation,
 * mappings}; standard -1 for all, or the index of one, which limits both
 */
void comply_run_json(json_t *j, const comply_catalogue_t *cat,
    const comply_run_t *run, int standard);

/* counts of one standard's controls in run, by status */
void comply_standard_counts(const comply_catalogue_t *cat,
    const comply_run_t *run, int standard, unsigned counts[3]);


/* ---- the daemon's side (comply.c) ---- */

/*
 * loads the catalogue and the CVE list named by cf; a file named by a
 * directive that cannot be loaded fails (-1, after logging), a default
 * one that is missing only disables compliance (error says why)
 */
int comply_init(comply_t *c, const conf_t *cf, store_t *own,
    keryu_store_t *src);
void comply_free(comply_t *c);

/* opens the compliance databases in a write transaction of store_open() */
int comply_dbs_open(store_t *st, MDB_txn *txn);

/*
 * gathers evidence, evaluates, stores the run, raises alerts for
 * controls that went from pass to fail, and stores a risk assessment;
 * out, when not NULL, gets the run for the caller to free.  Returns 0,
 * or -1 after logging.
 */
int comply_run(comply_t *c, const char *trigger, comply_run_t *out);

/* the timer: a run when one is due, then the audits that are due */
void comply_tick(comply_t *c);

/* evaluates now without storing; returns 0 or -1 */
int comply_evaluate_now(comply_t *c, comply_run_t *run, evidence_t *ev);

/* the id and time of the newest stored run, 0 when none */
int comply_last_run(comply_t *c, MDB_txn *txn, uint64_t *id,
    uint64_t *at_us);


/* ---- checks (checks.c) ---- */

/* the built-in check called name, or NULL */
comply_check_pt comply_check_find(const char *name);

/* the sensitivity of a location name, 1 to 5, by the catalogue's zones */
int comply_zone_level(const comply_catalogue_t *cat, const char *location);


/* ---- shared helpers ---- */

uint64_t comply_now(void);

/* appends a copy of len bytes to a malloc()ed buffer; 0 or -1 */
int comply_buf_add(char **buf, size_t *len, size_t *size, const void *p,
    size_t n);

/* takes the next id from the meta counter name (from 1); 0 or an LMDB code */
int comply_next_id(store_t *st, MDB_txn *txn, const char *name,
    uint64_t *id);

/* deletes the oldest entries of dbi until fewer than keep are left */
int comply_trim(MDB_txn *txn, MDB_dbi dbi, size_t keep);

/* puts len bytes under id, 8 bytes big-endian */
int comply_put(MDB_txn *txn, MDB_dbi dbi, uint64_t id, const void *buf,
    size_t len);

/* a malloc()ed, NUL-terminated copy of the value under id, or NULL */
char *comply_get(MDB_txn *txn, MDB_dbi dbi, uint64_t id, size_t *len,
    int *rc);

/* the same of the newest entry; *id gets its id */
char *comply_get_last(MDB_txn *txn, MDB_dbi dbi, uint64_t *id, size_t *len,
    int *rc);


#endif /* _KERYUD_COMPLY_H_INCLUDED_ */
