
/*
 * Copyright (C) Keryu Security
 *
 * Hot backups of both stores and their restore (backup.h).  A backup goes
 * into a directory that is new or empty, a restore into store directories
 * that are absent or empty: neither ever overwrites anything.  A restore
 * checks both copies before it writes, and removes what it wrote when the
 * second copy fails, so it restores both stores or neither.
 */


#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "backup.h"


#define BACKUP_DATA         "data"
#define BACKUP_STORE        "store"
#define BACKUP_FILE         "data.mdb"
#define BACKUP_ERR_MAX      (2 * CONF_PATH_MAX + 256)

/* what backup_dir_state() finds */
#define BACKUP_ABSENT       0
#define BACKUP_EMPTY        1
#define BACKUP_FULL         2


static int backup_take(const conf_t *cf, const char *dir);
static int backup_restore(const conf_t *cf, const char *dir);
static int backup_dir_state(const char *path);
static int backup_open(const char *path, unsigned flags, uint64_t schema_min,
    uint64_t schema_max, MDB_env **envp, char *err, size_t errlen);
static int backup_copy(MDB_env *env, const char *dst, char *err,
    size_t errlen);
static int backup_sync(const char *path);


int
backup_main(const conf_t *cf, int argc, char **argv)
{
    int     rc;
    mode_t  mask;

    if (argc != 2 || argv[1][0] == '\0') {
        return BACKUP_USAGE;
    }

    /* the copies hold every record: nobody else may read them */

    mask = umask(077);

    if (strcmp(argv[0], "backup") == 0) {
        rc = backup_take(cf, argv[1]);

    } else if (strcmp(argv[0], "restore") == 0) {
        rc = backup_restore(cf, argv[1]);

    } else {
        rc = BACKUP_USAGE;
    }

    umask(mask);

    return rc;
}


static int
backup_take(const conf_t *cf, const char *dir)
{
    int       rc, state;
    char      data[CONF_PATH_MAX + 8], store[CONF_PATH_MAX + 8];
    char      err[BACKUP_ERR_MAX];
    MDB_env  *env;

    if (strlen(dir) >= CONF_PATH_MAX) {
        fprintf(stderr, "keryud: backup directory name too long\n");
        return 1;
    }

    state = backup_dir_state(dir);

    if (state == -1) {
        fprintf(stderr, "keryud: backup directory \"%s\": %s\n", dir,
                strerror(errno));
        return 1;
    }

    if (state == BACKUP_FULL) {
        fprintf(stderr, "keryud: backup directory \"%s\" is not empty\n",
                dir);
        return 1;
    }

    if (state == BACKUP_ABSENT && mkdir(dir, 0700) == -1) {
        fprintf(stderr, "keryud: mkdir(\"%s\") failed: %s\n", dir,
                strerror(errno));
        return 1;
    }

    if (chmod(dir, 0700) == -1) {
        fprintf(stderr, "keryud: chmod(\"%s\") failed: %s\n", dir,
                strerror(errno));
        return 1;
    }

    snprintf(data, sizeof(data), "%s/%s", dir, BACKUP_DATA);
    snprintf(store, sizeof(store), "%s/%s", dir, BACKUP_STORE);

    if (mkdir(data, 0700) == -1 || mkdir(store, 0700) == -1) {
        fprintf(stderr, "keryud: cannot make the directories of backup "
                "\"%s\": %s\n", dir, strerror(errno));
        return 1;
    }

    /*
     * the own store first: its consumer cursor then points at or behind
     * the newest record of the ring copied next
     */

    rc = backup_open(cf->data, MDB_RDONLY, 1, STORE_SCHEMA, &env, err,
                     sizeof(err));
    if (rc != 0) {
        fprintf(stderr, "keryud: keryud store \"%s\": %s\n", cf->data, err);
        return 1;
    }

    rc = backup_copy(env, data, err, sizeof(err));
    mdb_env_close(env);

    if (rc != 0) {
        fprintf(stderr, "keryud: backup of keryud store \"%s\" failed: %s\n",
                cf->data, err);
        return 1;
    }

    rc = backup_open(cf->store, MDB_RDONLY, 1, KERYU_STORE_SCHEMA, &env, err,
                     sizeof(err));
    if (rc != 0) {
        fprintf(stderr, "keryud: shared store \"%s\": %s\n", cf->store, err);
        return 1;
    }

    rc = backup_copy(env, store, err, sizeof(err));
    mdb_env_close(env);

    if (rc != 0) {
        fprintf(stderr, "keryud: backup of shared store \"%s\" failed: %s\n",
                cf->store, err);
        return 1;
    }

    if (backup_sync(dir) == -1) {
        fprintf(stderr, "keryud: fsync(\"%s\") failed: %s\n", dir,
                strerror(errno));
        return 1;
    }

    printf("backup of \"%s\" and \"%s\" written to \"%s\"\n", cf->data,
           cf->store, dir);

    return 0;
}


static int
backup_restore(const conf_t *cf, const char *dir)
{
    int          i, rc, state;
    char         src[2][CONF_PATH_MAX + 8], made[2][CONF_PATH_MAX + 16];
    char         err[BACKUP_ERR_MAX];
    MDB_env     *env[2];
    const char  *dst[2], *what[2];

    if (strlen(dir) >= CONF_PATH_MAX) {
        fprintf(stderr, "keryud: backup directory name too long\n");
        return 1;
    }

    snprintf(src[0], sizeof(src[0]), "%s/%s", dir, BACKUP_DATA);
    snprintf(src[1], sizeof(src[1]), "%s/%s", dir, BACKUP_STORE);
    dst[0] = cf->data;
    dst[1] = cf->store;
    what[0] = "keryud store";
    what[1] = "shared store";
    env[0] = NULL;
    env[1] = NULL;
    made[0][0] = '\0';
    made[1][0] = '\0';

    /* everything is checked before anything is written */

    for (i = 0; i < 2; i++) {
        state = backup_dir_state(dst[i]);

        if (state == -1) {
            fprintf(stderr, "keryud: %s \"%s\": %s\n", what[i], dst[i],
                    strerror(errno));
            goto failed;
        }

        if (state == BACKUP_FULL) {
            fprintf(stderr, "keryud: %s \"%s\" is not empty; restore only "
                    "writes into an absent or empty directory (stop nginx "
                    "and keryud and move it away first)\n", what[i], dst[i]);
            goto failed;
        }

        rc = backup_open(src[i], MDB_RDONLY | MDB_NOLOCK, 1,
                         i == 0 ? STORE_SCHEMA : KERYU_STORE_SCHEMA, &env[i],
                         err, sizeof(err));
        if (rc != 0) {
            fprintf(stderr, "keryud: backup \"%s\" has no usable %s: %s\n",
                    dir, what[i], err);
            goto failed;
        }
    }

    for (i = 0; i < 2; i++) {
        if (mkdir(dst[i], 0700) == -1 && errno != EEXIST) {
            fprintf(stderr, "keryud: mkdir(\"%s\") failed: %s\n", dst[i],
                    strerror(errno));
            goto undo;
        }

        if (chmod(dst[i], 0700) == -1) {
            fprintf(stderr, "keryud: chmod(\"%s\") failed: %s\n", dst[i],
                    strerror(errno));
            goto undo;
        }

        snprintf(made[i], sizeof(made[i]), "%s/%s", dst[i], BACKUP_FILE);

        if (backup_copy(env[i], dst[i], err, sizeof(err)) != 0) {
            fprintf(stderr, "keryud: restore of %s \"%s\" failed: %s\n",
                    what[i], dst[i], err);
            goto undo;
        }
    }

    mdb_env_close(env[0]);
    mdb_env_close(env[1]);

    printf("restored \"%s\" and \"%s\" from \"%s\"\n", cf->data, cf->store,
           dir);

    return 0;

undo:

    for (i = 0; i < 2; i++) {
        if (made[i][0] != '\0') {
            (void) unlink(made[i]);
        }
    }

failed:

    for (i = 0; i < 2; i++) {
        if (env[i] != NULL) {
            mdb_env_close(env[i]);
        }
    }

    return 1;
}


/*
 * returns BACKUP_ABSENT, BACKUP_EMPTY or BACKUP_FULL, or -1 with errno
 * set (ENOTDIR for something that is not a directory)
 */

static int
backup_dir_state(const char *path)
{
    int             state;
    DIR            *d;
    struct dirent  *de;

    d = opendir(path);

    if (d == NULL) {
        return errno == ENOENT ? BACKUP_ABSENT : -1;
    }

    state = BACKUP_EMPTY;

    for ( ;; ) {
        errno = 0;
        de = readdir(d);

        if (de == NULL) {
            if (errno != 0) {
                state = -1;
            }

            break;
        }

        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) {
            state = BACKUP_FULL;
            break;
        }
    }

    closedir(d);

    return state;
}


/*
 * opens the environment in path and checks that its meta database holds
 * a schema between schema_min and schema_max; returns 0, or -1 with the
 * reason in err
 */

static int
backup_open(const char *path, unsigned flags, uint64_t schema_min,
    uint64_t schema_max, MDB_env **envp, char *err, size_t errlen)
{
    int          i, rc;
    MDB_dbi      meta;
    MDB_env     *env;
    MDB_txn     *txn;
    MDB_val      key, val;
    uint64_t     schema;
    struct stat  sb;
    char         file[CONF_PATH_MAX + 16];

    snprintf(file, sizeof(file), "%s/%s", path, BACKUP_FILE);

    if (stat(file, &sb) == -1) {
        snprintf(err, errlen, "%s", errno == ENOENT ? "it does not exist"
                                                    : strerror(errno));
        return -1;
    }

    rc = mdb_env_create(&env);
    if (rc != 0) {
        snprintf(err, errlen, "mdb_env_create() failed: %s",
                 mdb_strerror(rc));
        return -1;
    }

    if ((rc = mdb_env_set_maxdbs(env, 32)) != 0
        || (rc = mdb_env_open(env, path, flags | MDB_NOTLS, 0600)) != 0)
    {
        snprintf(err, errlen, "mdb_env_open() failed: %s", mdb_strerror(rc));
        goto env_close;
    }

    rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn);
    if (rc != 0) {
        snprintf(err, errlen, "mdb_txn_begin() failed: %s", mdb_strerror(rc));
        goto env_close;
    }

    rc = mdb_dbi_open(txn, "meta", 0, &meta);

    if (rc == 0) {
        key.mv_data = "schema";
        key.mv_size = sizeof("schema") - 1;
        rc = mdb_get(txn, meta, &key, &val);
    }

    if (rc != 0 || val.mv_size != 8) {
        mdb_txn_abort(txn);
        snprintf(err, errlen, "no schema in it: not a keryu store");
        goto env_close;
    }

    schema = 0;

    for (i = 7; i >= 0; i--) {
        schema = (schema << 8) | ((const uint8_t *) val.mv_data)[i];
    }

    mdb_txn_abort(txn);

    if (schema < schema_min || schema > schema_max) {
        snprintf(err, errlen, "schema %llu, this keryud knows %llu to %llu",
                 (unsigned long long) schema,
                 (unsigned long long) schema_min,
                 (unsigned long long) schema_max);
        goto env_close;
    }

    *envp = env;

    return 0;

env_close:

    mdb_env_close(env);

    return -1;
}


/*
 * writes a compacted copy of env into the directory dst, which holds no
 * data.mdb yet (LMDB refuses to replace one), and syncs it; returns 0, or
 * -1 with the reason in err
 */

static int
backup_copy(MDB_env *env, const char *dst, char *err, size_t errlen)
{
    int   rc;
    char  file[CONF_PATH_MAX + 16];

    rc = mdb_env_copy2(env, dst, MDB_CP_COMPACT);
    if (rc != 0) {
        snprintf(err, errlen, "mdb_env_copy2() failed: %s",
                 mdb_strerror(rc));
        return -1;
    }

    snprintf(file, sizeof(file), "%s/%s", dst, BACKUP_FILE);

    if (chmod(file, 0600) == -1) {
        snprintf(err, errlen, "chmod(\"%s\") failed: %s", file,
                 strerror(errno));
        return -1;
    }

    if (backup_sync(file) == -1 || backup_sync(dst) == -1) {
        snprintf(err, errlen, "fsync() failed: %s", strerror(errno));
        return -1;
    }

    return 0;
}


/* fsyncs a file or a directory; returns 0, or -1 with errno set */

static int
backup_sync(const char *path)
{
    int  fd, rc, e;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd == -1) {
        return -1;
    }

    rc = fsync(fd);
    e = errno;
    close(fd);
    errno = e;

    return rc;
}
