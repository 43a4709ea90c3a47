
/*
 * Copyright (C) Keryu Security
 *
 * Policy suggestions from shadow validation hits:
 *
 *   GET /api/security/policies/suggestions/   admin, auditor
 *
 * The nginx module records a validation rule in shadow mode that would
 * have refused a request in the request's details (the "invalid" member
 * and what follows it, ngx_http_keryu_validate.c), with the shape of what
 * failed but never the input.  suggest.c reads those records from
 * keryud's own store, groups them by rule, field, path and reason, and
 * for each group proposes the change of the stored validation policy that
 * would let such requests through, as a JSON Patch and as the whole
 * document to PUT, or says why it proposes none.
 */


#ifndef _KERYUD_SUGGEST_H_INCLUDED_
#define _KERYUD_SUGGEST_H_INCLUDED_


#include "keryud.h"
#include "json.h"
#include "keryu_policy.h"


/* groups kept at most; hits of further groups are only counted */
#define SUGGEST_GROUPS_MAX   1000

#define SUGGEST_COUNT_MAX    1000000000


typedef struct {
    int                 has_since;
    int                 has_until;
    uint64_t            since;            /* microseconds, inclusive */
    uint64_t            until;            /* microseconds, exclusive */
    char                policy[KERYU_POLICY_NAME_MAX + 1]; /* "": any */
    uint64_t            min_count;        /* groups with fewer are left out */
    const char         *error;            /* reason, when parsing failed */
    char                bad[QUERY_NAME_MAX + 1];
} suggest_query_t;


struct evhttp_request;


/*
 * parses the query string (NULL or "" for none); returns 0, or -1 with
 * q->error "invalid query", "unknown parameter" or "invalid parameter"
 * and q->bad naming the parameter
 */
int suggest_query_parse(suggest_query_t *q, const char *qs);

/*
 * writes the suggestions for the records of logs, newest first, looking
 * at no more than scan_max of them, with the policies of src; returns 0,
 * or -1 with the failed call in err
 */
int suggest_build(store_t *own, MDB_txn *txn, keryu_store_t *src,
    const suggest_query_t *q, uint64_t scan_max, json_t *j, char *err,
    size_t errlen);

/* answers the endpoint; api.c has checked the token and the role */
void suggest_api(struct evhttp_request *req, store_t *own, MDB_txn *txn,
    keryu_store_t *src);


#endif /* _KERYUD_SUGGEST_H_INCLUDED_ */
