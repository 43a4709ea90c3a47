
/*
 * Copyright (C) Keryu Security
 *
 * keryud's policy subcommands, which edit the policies database of the
 * shared store:
 *
 *   keryud -c file policy apply file.json
 *   keryud -c file policy list
 *   keryud -c file policy show name
 *   keryud -c file policy delete name
 */


#ifndef _KERYUD_POLICY_H_INCLUDED_
#define _KERYUD_POLICY_H_INCLUDED_


#include "keryud.h"


/*
 * runs one subcommand, argv[0] being its name; returns the exit status,
 * or -1 for a command line that calls for the usage message
 */
int policy_main(const conf_t *cf, int argc, char **argv);

/* what policy_write(), policy_each() and policy_remove() return */
#define POLICY_OK         0
#define POLICY_FAILED    -1     /* the store failed */
#define POLICY_INVALID   -2     /* a document or the set does not compile */
#define POLICY_EXISTS    -3     /* POLICY_CREATE: the name is taken */
#define POLICY_MISSING   -4     /* no policy of that name */
#define POLICY_MISMATCH  -5     /* the document names another */


typedef enum {
    POLICY_UPSERT = 0,          /* any number, created or replaced */
    POLICY_CREATE,              /* one document, a new name */
    POLICY_REPLACE              /* one document, a stored name */
} policy_mode_e;


/* sees each policy policy_write() stored, after the commit */
typedef void (*policy_stored_pt)(void *ctx, const char *name, int existed,
    const char *doc, size_t len);

/* sees each stored policy in name order; returning -1 stops the walk */
typedef int (*policy_each_pt)(void *ctx, const char *name, size_t namelen,
    const char *doc, size_t len);


/*
 * checks the documents in json (one, or an array of them) with the shared
 * compiler, compiles the set the store would then hold, and writes them
 * all or none in one transaction, stamped; name is the policy that
 * POLICY_REPLACE replaces.  Returns POLICY_OK, or another POLICY_* code
 * with the reason in err (for POLICY_INVALID the compiler's message)
 */
int policy_write(keryu_store_t *st, const char *json, size_t len,
    policy_mode_e mode, const char *name, policy_stored_pt stored,
    void *ctx, char *err, size_t errlen);

/* returns POLICY_OK, or POLICY_FAILED with the reason in err */
int policy_each(keryu_store_t *st, policy_each_pt handler, void *ctx,
    char *err, size_t errlen);

/* returns POLICY_OK, POLICY_MISSING, or POLICY_FAILED */
int policy_remove(keryu_store_t *st, const char *name, char *err,
    size_t errlen);

/*
 * applies every policy in the file, all or none, in one transaction;
 * returns 0, or -1 with the reason in err
 */
int policy_apply(keryu_store_t *st, const char *file, FILE *out, char *err,
    size_t errlen);

/*
 * checks one document with the compiler, as policy_write() does before it
 * stores anything; returns 0, or -1 with the compiler's message in err
 * and in offset the byte where the problem is, or -1 if it cannot tell
 */
int policy_check(const char *json, size_t len, char *name, size_t namelen,
    char *err, size_t errlen, long *offset);

int policy_list(keryu_store_t *st, FILE *out, char *err, size_t errlen);
int policy_show(keryu_store_t *st, const char *name, FILE *out, char *err,
    size_t errlen);
int policy_delete(keryu_store_t *st, const char *name, FILE *out, char *err,
    size_t errlen);


#endif /* _KERYUD_POLICY_H_INCLUDED_ */
