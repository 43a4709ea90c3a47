
/*
 * Copyright (C) Keryu Security
 *
 * Alerts, kept in keryud's own store.  An alert is raised by a threshold
 * rule's hit, by lost records, or by an operator; while it is open or
 * acknowledged, another raise of the same rule and key updates it (count,
 * last seen, samples) instead of opening another.  Changes of status and
 * notes go into its response log with who made them.
 *
 *   alerts      key: the alert's id, 8 bytes big-endian, from 1 up
 *               value: the alert, encoded by alert.c (version 1)
 *   alert_keys  key: rule "\0" key, of alerts not yet resolved
 *               value: the alert's id, 8 bytes big-endian
 *   offences    key: rule "\0" key of a block
 *               value: blocks so far (8), the latest (8, microseconds),
 *               little-endian; a key quiet for ALERT_OFFENCE_MEMORY
 *               starts again from its first block
 */


#ifndef _KERYUD_ALERT_H_INCLUDED_
#define _KERYUD_ALERT_H_INCLUDED_


#include <stdint.h>
#include <lmdb.h>

#include "keryud.h"
#include "detect.h"
#include "json.h"


#define ALERT_SAMPLES          DETECT_SAMPLES
#define ALERT_RULE_MAX         DETECT_RULE_MAX
#define ALERT_KEY_MAX          DETECT_KEY_MAX
#define ALERT_SUMMARY_MAX      512
#define ALERT_NOTE_MAX         1024
#define ALERT_ACTOR_MAX        (TOKEN_NAME_MAX + 8)
#define ALERT_RESPONSES_MAX    100
#define ALERT_OFFENCE_MEMORY   (7 * 86400 * 1000000ULL)   /* microseconds */

/* what alert_update(), alert_delete() and alert_get() return */
#define ALERT_OK               0
#define ALERT_FAILED          -1
#define ALERT_MISSING         -2
#define ALERT_CONFLICT        -3
#define ALERT_FULL            -4


typedef enum {
    ALERT_OPEN = 1,
    ALERT_ACKNOWLEDGED,
    ALERT_RESOLVED
} alert_status_e;


typedef struct {
    uint64_t            at_us;
    int                 from;             /* statuses; equal for a note */
    int                 to;
    char                actor[ALERT_ACTOR_MAX + 1];
    char                action[16];       /* "opened", "status", "note", ... */
    char                note[ALERT_NOTE_MAX + 1];
} alert_response_t;


typedef struct {
    uint64_t            id;
    int                 status;
    int                 severity;         /* keryu_severity_e */
    char                rule[ALERT_RULE_MAX + 1];
    char                key[ALERT_KEY_MAX + 1];
    char                key_type[16];     /* "ip", "user", "ip+user", ... */
    char                summary[ALERT_SUMMARY_MAX + 1];
    uint64_t            count;
    uint64_t            first_us;
    uint64_t            last_us;
    uint64_t            created_us;
    uint64_t            updated_us;
    uint64_t            samples[ALERT_SAMPLES];
    unsigned            nsamples;
    char                block[ALERT_KEY_MAX + 1];   /* what was blocked */
    uint64_t            block_expires_us;
    uint64_t            block_s;
    uint64_t            offences;
    alert_response_t   *responses;        /* malloc()ed */
    unsigned            nresponses;
} alert_t;


/* what a raise asks for */
typedef struct {
    const char         *rule;
    int                 severity;
    const char         *key;
    const char         *key_type;
    const char         *summary;
    uint64_t            count;
    uint64_t            first_us;
    uint64_t            last_us;
    const uint64_t     *samples;
    unsigned            nsamples;
    const char         *actor;
    const char         *block;            /* NULL: no block */
    uint64_t            block_ms;         /* the first block's length */
    uint64_t            block_max_ms;
} alert_raise_t;


typedef struct {
    int                 status;           /* 0: any */
    int                 severity;         /* 0: any */
    const char         *rule;
    const char         *key;
    unsigned            limit;
    uint64_t            cursor;           /* 0: from the newest */
} alert_filter_t;


typedef int (*alert_each_pt)(void *ctx, const alert_t *a);


int alert_dbs_open(store_t *st, MDB_txn *txn);

/*
 * raises in one transaction: updates the alert of the same rule and key
 * that is not resolved, or opens one; with a block, counts the offence
 * and sets block_s and block_expires_us in out.  *opened is 1 for a new
 * alert.  Returns 0 or an LMDB code.  The caller frees out.
 */
int alert_raise(store_t *st, const alert_raise_t *in, uint64_t now_us,
    alert_t *out, int *opened);

int alert_get(store_t *st, MDB_txn *txn, uint64_t id, alert_t *out);

/*
 * changes status and/or adds a note, logged as actor's; reopening fails
 * with ALERT_CONFLICT when another alert of its rule and key is open
 */
int alert_update(store_t *st, uint64_t id, int status, const char *note,
    const char *actor, uint64_t now_us, alert_t *out);

int alert_delete(store_t *st, uint64_t id);

/*
 * after an erasure of user's records: drops from every alert the samples
 * whose records were erased, ALERT_FORGET_BATCH alerts a transaction, and
 * counts in touched the alerts that had such samples or whose key names
 * user.  Keys stay: they are what blocks and offences name.  Returns 0
 * or an LMDB code.
 */
int alert_forget(store_t *st, const char *user, uint64_t *touched);

/* newest first; *next gets the cursor for the next page, or 0 */
int alert_list(store_t *st, MDB_txn *txn, const alert_filter_t *f,
    alert_each_pt handler, void *ctx, uint64_t *next);

/* counts alerts by status and severity, [status][severity] */
int alert_counts(store_t *st, MDB_txn *txn, uint64_t counts[4][5]);

void alert_json(json_t *j, const alert_t *a);
void alert_free(alert_t *a);

const char *alert_status_name(int status);
int alert_status_parse(const char *name);


#endif /* _KERYUD_ALERT_H_INCLUDED_ */
