/*
 * Copyright (C) Keryu Security
 *
 * The administration subcommands of keryud: verification keys, blocks and
 * API keys, written into the shared store that the nginx module reads.
 * Each command that changes something does it in one write transaction,
 * through keryu_store_change(), so the module sees the whole change and
 * its version counter rises; a command that fails writes nothing.
 */


#ifndef _KERYUD_ADMIN_H_INCLUDED_
#define _KERYUD_ADMIN_H_INCLUDED_


#include "keryud.h"


/* what admin_main() returns for a command line it cannot use */
#define ADMIN_USAGE  (-1)


/*
 * runs "key", "block", "apikey" or "client" (argv[0]) with its
 * arguments; returns the exit status, 0 or 1, after printing any error on
 * stderr, or ADMIN_USAGE, when the caller prints the usage
 */
int admin_main(conf_t *cf, int argc, char **argv);


#endif /* _KERYUD_ADMIN_H_INCLUDED_ */
