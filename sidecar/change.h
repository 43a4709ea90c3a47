
/*
 * Copyright (C) Keryu Security
 *
 * The change history: every change made through the API or the command
 * line is stored in keryud's own logs as a system_change record, beside
 * the records consumed from the ring, so that the events API shows who
 * changed what and when.  The record's user is the actor (an API token's
 * name, or "cli:" and the login of whoever ran the command), and its
 * details are
 *
 *   {"action":"policy.replace","target":"NAME","before":{...},
 *    "after":{...}}
 *
 * with before and after the objects as they were and became, or null.
 * Details that would not fit a record keep, for each of before and after,
 * only {"sha256":HEX,"bytes":N} of the object, and "truncated":true.
 */


#ifndef _KERYUD_CHANGE_H_INCLUDED_
#define _KERYUD_CHANGE_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>

#include "keryud.h"


typedef struct {
    const char         *actor;
    const char         *action;           /* "policy.create", ... */
    const char         *target;
    const char         *before;           /* a JSON object, or NULL */
    size_t              before_len;
    const char         *after;
    size_t              after_len;
    const char         *method;           /* "POST", or "CLI" */
    const char         *uri;              /* the request, or the command */
    const char         *addr;             /* the client's address, or NULL */
    unsigned            status;           /* what the API answered, or 0 */
} change_t;


/* appends the record in one transaction; returns 0 or an LMDB code */
int change_record(store_t *st, const change_t *c);

/*
 * a malloc()ed copy of the stored policy called name, NUL-terminated, or
 * NULL when there is none
 */
char *change_policy(keryu_store_t *src, const char *name, size_t *len);

/* "cli:" and the login name of the real user, into buf */
const char *change_cli_actor(char *buf, size_t size);


#endif /* _KERYUD_CHANGE_H_INCLUDED_ */
