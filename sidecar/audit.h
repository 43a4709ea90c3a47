/*
 * Copyright (C) Keryu Security
 *
 * Audits: a named, owned review of the controls in a scope (every control,
 * or those mapped to one standard), run now and, with a schedule, again
 * on its own: daily, weekly, monthly, or "continuous", after every
 * compliance run of the timer (compliance_interval).  Each run evaluates
 * the controls and files a finding for every one that fails or warns; a
 * finding is open until someone accepts it (a risk taken knowingly) or a
 * later run finds the control passing, which marks it fixed.  A fixed
 * finding whose control fails again is opened again.  An audit is stored
 * as JSON in the "audits" database of keryud's own store, under its id
 * (comply.h).
 */


#ifndef _KERYUD_AUDIT_H_INCLUDED_
#define _KERYUD_AUDIT_H_INCLUDED_


#include <stdint.h>

#include "comply.h"
#include "alert.h"


#define AUDIT_NAME_MAX         128
#define AUDIT_OWNER_MAX        128
#define AUDIT_NOTE_MAX         1024
#define AUDIT_TITLE_MAX        256
#define AUDIT_LIST_MAX         1000      /* audits a listing or the timer
                                            looks at */
#define AUDIT_META_NEXT        "next_audit"

/* what audit_get() and audit_delete() return besides LMDB codes */
#define AUDIT_EDECODE          (-30700)

/* what audit_json() writes */
#define AUDIT_JSON_SUMMARY     0         /* no findings */
#define AUDIT_JSON_FULL        1         /* as the API shows one audit */
#define AUDIT_JSON_STORE       2         /* as stored */


typedef enum {
    AUDIT_NONE = 0,
    AUDIT_DAILY,
    AUDIT_WEEKLY,
    AUDIT_MONTHLY,
    AUDIT_CONTINUOUS                      /* with every timed run */
} audit_schedule_e;


typedef enum {
    FINDING_OPEN = 1,
    FINDING_ACCEPTED,
    FINDING_FIXED
} finding_status_e;


typedef struct {
    uint64_t            id;               /* within its audit, from 1 */
    char                control[COMPLY_ID_MAX + 1];
    char                title[AUDIT_TITLE_MAX + 1];
    int                 severity;
    int                 result;           /* COMPLY_WARN or _FAIL, latest */
    int                 status;           /* finding_status_e */
    char               *evidence;         /* a JSON object, malloc()ed */
    size_t              evidence_len;
    char                remediation[COMPLY_REMEDY_MAX];
    uint64_t            first_us;
    uint64_t            last_us;          /* last run that found it */
    uint64_t            updated_us;       /* last change of status */
    char                updated_by[ALERT_ACTOR_MAX + 1];
    char                note[AUDIT_NOTE_MAX + 1];
} audit_finding_t;


typedef struct {
    uint64_t            id;
    char                name[AUDIT_NAME_MAX + 1];
    char                scope[COMPLY_ID_MAX + 1];   /* "all", a standard */
    int                 schedule;
    char                owner[AUDIT_OWNER_MAX + 1];
    char                created_by[ALERT_ACTOR_MAX + 1];
    uint64_t            created_us;
    uint64_t            updated_us;
    uint64_t            last_run_us;      /* 0: never */
    uint64_t            next_run_us;      /* 0: no schedule */
    uint64_t            runs;
    uint64_t            next_finding;
    audit_finding_t    *findings;
    size_t              nfindings;
} audit_t;


/* each audit in id order; a non-zero return stops the walk */
typedef int (*audit_each_pt)(void *ctx, const audit_t *a);


/*
 * JSON in, JSON out: the stored form is what the API shows, with
 * "next_finding" and each finding's evidence as a string of its JSON
 */
int audit_decode(audit_t *a, const char *json, size_t len);
void audit_json(json_t *j, const audit_t *a, int mode);
void audit_free(audit_t *a);

/* returns 0, MDB_NOTFOUND, AUDIT_EDECODE, or an LMDB code */
int audit_get(store_t *st, MDB_txn *txn, uint64_t id, audit_t *a);

/* writes a; a->id 0 takes the next id.  Returns 0 or an LMDB code */
int audit_put(store_t *st, MDB_txn *txn, audit_t *a);

int audit_delete(store_t *st, uint64_t id);

/* newest first, at most limit; returns 0 or an LMDB code */
int audit_list(store_t *st, MDB_txn *txn, unsigned limit,
    audit_each_pt handler, void *ctx);

/*
 * files the findings of run into a for the controls of its scope, and
 * marks fixed those whose control passes now; returns 0, or -1 when out
 * of memory
 */
int audit_apply(audit_t *a, const comply_catalogue_t *cat,
    const comply_run_t *run, uint64_t now_us);

/*
 * evaluates the controls now and applies them to the stored audit id in
 * one transaction; out, when not NULL, gets the audit as stored.
 * Returns 0, MDB_NOTFOUND, AUDIT_EDECODE, -1 (evaluation failed), or an
 * LMDB code.
 */
int audit_run(comply_t *c, uint64_t id, audit_t *out);

/* runs the scheduled audits that are due */
void audit_due(comply_t *c, uint64_t now_us);

/* runs the "continuous" audits; the timer calls it after each of its runs */
void audit_continuous(comply_t *c);

/*
 * the time of the next run of schedule after from_us, or 0 for none
 * (and for "continuous", which follows the compliance runs instead)
 */
uint64_t audit_next(int schedule, uint64_t from_us);

const char *audit_schedule_name(int schedule);
int audit_schedule_parse(const char *name);
const char *audit_finding_name(int status);
int audit_finding_parse(const char *name);

/* "all" or a standard of cat */
int audit_scope_valid(const comply_catalogue_t *cat, const char *scope);


#endif /* _KERYUD_AUDIT_H_INCLUDED_ */
