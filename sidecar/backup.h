
/*
 * Copyright (C) Keryu Security
 *
 * keryud's backup and restore subcommands:
 *
 *   keryud -c file backup dir
 *   keryud -c file restore dir
 *
 * A backup is a directory, mode 0700, holding a compacted copy of each
 * environment, files 0600:
 *
 *   dir/data/data.mdb    keryud's own store ("data")
 *   dir/store/data.mdb   the shared store ("store")
 *
 * Each copy is one read transaction of LMDB's (mdb_env_copy2() with
 * MDB_CP_COMPACT), so it is consistent while nginx and keryud write.  The
 * own store is copied first: the consumer's cursor in the copy is then
 * never ahead of the copied ring, and a restored keryud reads on from it.
 * Keys in the own store stay wrapped under the master key, which is not
 * part of a backup.
 */


#ifndef _KERYUD_BACKUP_H_INCLUDED_
#define _KERYUD_BACKUP_H_INCLUDED_


#include "keryud.h"


/* what backup_main() returns for a command line it cannot use */
#define BACKUP_USAGE  (-1)


/*
 * runs "backup" or "restore" (argv[0]) with its directory; returns the
 * exit status, or BACKUP_USAGE
 */
int backup_main(const conf_t *cf, int argc, char **argv);


#endif /* _KERYUD_BACKUP_H_INCLUDED_ */
