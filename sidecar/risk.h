/*
 * Copyright (C) Keryu Security
 *
 * The risk register: one risk per control that fails or warns, scored
 * 1 to 25 as likelihood times impact, each 1 to 5:
 *
 *   impact      the control's severity (low 2, medium 3, high 4,
 *               critical 5); when its result names locations, the mean,
 *               rounded up, of that and the highest sensitivity among them
 *               (the catalogue's zones, 1 to 5), so that a weak control on
 *               /admin weighs more than the same on /static
 *
 *   likelihood  3 for a failing control, 2 for a warning; for a control
 *               whose catalogue entry names a threat, then -1 when the
 *               period shows none of it, +1 for 10 or more events, +2 for
 *               100 or more, and +1 more while an alert is open; kept
 *               within 1 to 5
 *
 * Threat evidence is what the control's "threat" names in the
 * catalogue: records of those event types (auth_failure,
 * permission_denied, input_rejected, ...) within the period, counted on
 * the locations the result names, or over the whole site for a control
 * that names none; and "alerts", the alerts raised within the period.
 *
 * Levels: 1-4 low, 5-9 medium, 10-16 high, 20-25 critical.  Risks are
 * ranked by score, then impact, then control id.
 *
 * Every compliance run stores an assessment (the "risk" database of
 * keryud's own store, comply.h), each risk's trend set against the
 * assessment before it: "new", "up", "down" or "same", with the risks
 * that are gone listed as closed.  The register the API shows is the
 * newest assessment.
 */


#ifndef _KERYUD_RISK_H_INCLUDED_
#define _KERYUD_RISK_H_INCLUDED_


#include <stdint.h>

#include "comply.h"


#define RISK_PERIOD_DAYS     30
#define RISK_SCAN_MAX        500000    /* records one assessment reads */
#define RISK_KEEP            200       /* assessments kept */
#define RISK_META_NEXT       "next_risk"


/* what risk_score() weighs */
typedef struct {
    int                 status;           /* COMPLY_WARN or _FAIL */
    int                 severity;         /* keryu_severity_e */
    int                 sensitivity;      /* 0: no location, else 1-5 */
    uint64_t            events;           /* threat events counted */
    int                 threat;           /* the control names a threat */
    int                 open_alerts;      /* an alert it names is open */
    int                 blocks;           /* such an alert blocked a key */
} risk_input_t;


typedef struct {
    int                 likelihood;
    int                 impact;
    int                 score;
    const char         *level;
} risk_score_t;


void risk_score(const risk_input_t *in, risk_score_t *out);

/*
 * assesses run over the records of the RISK_PERIOD_DAYS before it and
 * stores the assessment; returns 0, or an LMDB code or -1 after logging
 */
int risk_assess_store(comply_t *c, const comply_run_t *run,
    const evidence_t *ev);

/*
 * the newest stored assessment, malloc()ed, NUL-terminated, or NULL with
 * *rc 0 when there is none
 */
char *risk_latest(store_t *st, MDB_txn *txn, size_t *len, int *rc);


#endif /* _KERYUD_RISK_H_INCLUDED_ */
