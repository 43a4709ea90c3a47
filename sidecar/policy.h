
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

/*
 * applies every policy in the file, all or none, in one transaction;
 * returns 0, or -1 with the reason in err
 */
int policy_apply(keryu_store_t *st, const char *file, FILE *out, char *err,
    size_t errlen);

int policy_list(keryu_store_t *st, FILE *out, char *err, size_t errlen);
int policy_show(keryu_store_t *st, const char *name, FILE *out, char *err,
    size_t errlen);
int policy_delete(keryu_store_t *st, const char *name, FILE *out, char *err,
    size_t errlen);


#endif /* _KERYUD_POLICY_H_INCLUDED_ */
