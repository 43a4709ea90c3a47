
/*
 * Copyright (C) Keryu Security
 *
 * Scaffolding shared by the unit tests that work on a store: a fresh
 * mkdtemp directory with the store's path inside it, opening the store,
 * and removing the directory with all in it afterwards.  Header only, so
 * that each test still builds from its one source file.
 */


#ifndef _KERYU_UNIT_H_INCLUDED_
#define _KERYU_UNIT_H_INCLUDED_


#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "keryu_store.h"


#define UNIT_DIR_LEN      64
#define UNIT_PATH_LEN     96
#define UNIT_MAP_SIZE     (64 * 1024 * 1024)


/*
 * fails the test with the call's name and the code's text; the store's
 * strerror is mdb_strerror() for every LMDB and errno code
 */

#define test_mdb_ok(rc, call)                                                 \
    do {                                                                      \
        if ((rc) != 0) {                                                      \
            fail_msg("%s() failed: %s", call, keryu_store_strerror(rc));      \
        }                                                                     \
    } while (0)


/*
 * makes the directory "/tmp/keryu-test-<name>.XXXXXX" into dir, and the
 * store's path in it, not made until the store is opened, into path
 */

static inline int
unit_dir_make(char dir[UNIT_DIR_LEN], char path[UNIT_PATH_LEN],
    const char *name)
{
    snprintf(dir, UNIT_DIR_LEN, "/tmp/keryu-test-%s.XXXXXX", name);

    if (mkdtemp(dir) == NULL) {
        print_error("mkdtemp() \"%s\" failed: %s\n", dir, strerror(errno));
        return -1;
    }

    snprintf(path, UNIT_PATH_LEN, "%s/store", dir);

    return 0;
}


static inline int
unit_store_open(keryu_store_t *st, const char *path)
{
    int  rc;

    rc = keryu_store_open(st, path, UNIT_MAP_SIZE, 0);
    if (rc != 0) {
        print_error("keryu_store_open() failed: %s\n",
                    keryu_store_strerror(rc));
        return -1;
    }

    return 0;
}


static inline int
unit_remove(const char *path, const struct stat *sb, int type,
    struct FTW *ftw)
{
    (void) sb;
    (void) type;
    (void) ftw;

    if (remove(path) == -1) {
        print_error("remove() \"%s\" failed: %s\n", path, strerror(errno));
        return -1;
    }

    return 0;
}


/* removes the directory and all in it, the store closed first */

static inline int
unit_dir_remove(const char *dir)
{
    return nftw(dir, unit_remove, 8, FTW_DEPTH | FTW_PHYS) == 0 ? 0 : -1;
}


#endif /* _KERYU_UNIT_H_INCLUDED_ */
