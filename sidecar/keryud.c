/*
 * Copyright (C) Keryu Security
 *
 * keryud's main: the command line, the token subcommands, and the event
 * loop that runs the consumer, the sync and retention timers, signals and
 * the API.  All of it runs in one thread; signals arrive through libevent,
 * which turns them into ordinary callbacks, so no handler runs in signal
 * context.
 *
 *   keryud [-dnv] -c file
 *   keryud -c file token create --role admin|auditor|viewer [--name name]
 *                               [--expires duration]
 *   keryud -c file token list
 *   keryud -c file token revoke name
 *   keryud -c file key|block|apikey|client ...   (admin.c)
 *   keryud -c file policy apply|list|show|delete ...   (policy.c)
 *   keryud -c file keys list|rotate|backup|restore|validate ...   (keys.c)
 *   keryud -c file verify [--quick]   (chain.c)
 *   keryud -c file subject erase user
 *   keryud -c file backup|restore dir   (backup.c)
 */


#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <event2/event.h>
#include <openssl/crypto.h>

#include "keryud.h"
#include "admin.h"
#include "api.h"
#include "backup.h"
#include "respond.h"
#include "change.h"
#include "chain.h"
#include "json.h"
#include "keys.h"
#include "comply.h"
#include "log.h"
#include "metrics.h"
#include "policy.h"


/* expired blocks removed per sync tick, each tick one write transaction */
#define KERYUD_PRUNE_MAX    1000

/* entries of dead nginx workers removed per sync tick */
#define KERYUD_WORKERS_PRUNE_MAX  64

/* expired tokens removed per retention tick */
#define KERYUD_TOKEN_EXPIRE_MAX  1000

/* how often the compliance timer looks for a run or an audit that is due */
#define KERYUD_COMPLY_TICK       60

/* after a full retention batch, the next one runs this soon (ms) */
#define KERYUD_EXPIRE_AGAIN      10


typedef struct {
    conf_t              conf;
    const char         *conf_file;
    int                 verbose;
    int                 pid_written;
    keryu_store_t       src;
    store_t             own;
    consumer_t          cs;
    respond_t           resp;
    notify_t           *notify;
    api_t              *api;
    keys_t             *keys;
    struct event_base  *base;
    struct event       *ev_consume;
    struct event       *ev_sync;
    struct event       *ev_expire;
    struct event       *ev_term;
    struct event       *ev_int;
    struct event       *ev_hup;
    comply_t            comply;
    struct event       *ev_comply;
} keryud_t;


/* the pids of dead workers found in the shared store's meta */

typedef struct {
    size_t              n;
    uint64_t            pids[KERYUD_WORKERS_PRUNE_MAX];
} keryud_dead_t;


static void usage(void) __attribute__((noreturn));
static int keryud_command(keryud_t *kd, int argc, char **argv);
static void keryud_changed(keryud_t *kd, int argc, char **argv,
    const char *before, size_t before_len);
static int keryud_own_keys(keryud_t *kd);
static int keryud_token(keryud_t *kd, int argc, char **argv);
static int keryud_verify(keryud_t *kd, int argc, char **argv);
static int keryud_subject(keryud_t *kd, int argc, char **argv);
static int keryud_run(keryud_t *kd);
static void keryud_free(keryud_t *kd);
static void keryud_readers(keryud_t *kd);
static void keryud_prune(keryud_t *kd);
static void keryud_workers(keryud_t *kd);
static void keryud_checkpoint(keryud_t *kd);
static void keryud_faults(keryud_t *kd);
static void keryud_crashed(keryud_t *kd, const keryud_dead_t *dead,
    size_t removed);
static int keryud_worker_dead(void *ctx, const keryu_worker_t *w);
static void keryud_replaced(keryud_t *kd);
static int keryud_pid_file(keryud_t *kd);
static void keryud_consume(evutil_socket_t fd, short what, void *arg);
static void keryud_sync(evutil_socket_t fd, short what, void *arg);
static void keryud_expire(evutil_socket_t fd, short what, void *arg);
static void keryud_signal(evutil_socket_t sig, short what, void *arg);
static void keryud_comply(evutil_socket_t fd, short what, void *arg);


static void
usage(void)
{
    fprintf(stderr,
            "usage: keryud [-dnv] -c file\n"
            "       keryud -c file token create --role admin|auditor|viewer "
            "[--name name]\n"
            "              [--expires duration]\n"
            "       keryud -c file token list\n"
            "       keryud -c file token revoke name\n"
            "       keryud -c file key add --kid kid --alg HS256 "
            "--secret-file path\n"
            "       keryud -c file key add --kid kid --alg RS256|ES256 "
            "--pem-file path\n"
            "       keryud -c file key list\n"
            "       keryud -c file key delete kid\n"
            "       keryud -c file block add --ip addr[/prefix] | "
            "--user name\n"
            "              [--ttl duration] [--reason text]\n"
            "       keryud -c file block list\n"
            "       keryud -c file block delete --ip addr[/prefix] | "
            "--user name\n"
            "       keryud -c file apikey create --name name --role role "
            "[--role role ...]\n"
            "              [--ttl duration]\n"
            "       keryud -c file apikey list\n"
            "       keryud -c file apikey revoke name\n"
            "       keryud -c file client add --id id --role role "
            "[--role role ...]\n"
            "              --secret-file path\n"
            "       keryud -c file client list\n"
            "       keryud -c file client delete id\n"
            "       keryud -c file policy apply file.json\n"
            "       keryud -c file policy list\n"
            "       keryud -c file policy show|delete name\n"
            "       keryud -c file keys list|validate\n"
            "       keryud -c file keys rotate type\n"
            "       keryud -c file keys backup --out file "
            "[--passphrase-file file]\n"
            "       keryud -c file keys restore --in file "
            "[--passphrase-file file] [--force]\n"
            "       keryud -c file keys webhook-secret --out file\n"
            "       keryud -c file verify [--quick]\n"
            "       keryud -c file subject erase user\n"
            "       keryud -c file backup|restore dir\n");
    exit(1);
}


int
main(int argc, char **argv)
{
    int        ch, foreground, noaction, rc;
    char       err[CONF_ERR_MAX];
    keryud_t   kd;

    memset(&kd, 0, sizeof(keryud_t));

    foreground = 0;
    noaction = 0;

    /* "+" stops at the first operand, so subcommands keep their options */

    while ((ch = getopt(argc, argv, "+c:dnv")) != -1) {
        switch (ch) {

        case 'c':
            kd.conf_file = optarg;
            break;

        case 'd':
            foreground = 1;
            break;

        case 'n':
            noaction = 1;
            break;

        case 'v':
            kd.verbose = 1;
            break;

        default:
            usage();
        }
    }

    argc -= optind;
    argv += optind;

    if (kd.conf_file == NULL) {
        usage();
    }

    if (conf_parse(&kd.conf, kd.conf_file, err, sizeof(err)) == -1) {
        fprintf(stderr, "keryud: %s\n", err);
        return 1;
    }

    if (noaction) {
        if (argc != 0) {
            usage();
        }

        printf("configuration OK\n");
        return 0;
    }

    if (argc != 0) {
        return keryud_command(&kd, argc, argv);
    }

    /* keep the directory: paths in the configuration may be relative */

    if (!foreground && daemon(1, 0) == -1) {
        fprintf(stderr, "keryud: daemon: %s\n", strerror(errno));
        return 1;
    }

    log_init(foreground, kd.verbose || kd.conf.log_debug);

    rc = keryud_run(&kd);

    keryud_free(&kd);

    if (rc == 0) {
        log_info("stopped");
    }

    return rc == 0 ? 0 : 1;
}


/*
 * runs a subcommand; one that changed something is recorded as a
 * system_change event, its actor the login of whoever ran it
 */

static int
keryud_command(keryud_t *kd, int argc, char **argv)
{
    int          rc, change;
    char        *before;
    size_t       blen;
    const char  *sub;

    sub = argc > 1 ? argv[1] : "";

    change = strcmp(sub, "create") == 0 || strcmp(sub, "revoke") == 0
             || strcmp(sub, "add") == 0 || strcmp(sub, "delete") == 0
             || strcmp(sub, "apply") == 0;

    before = NULL;
    blen = 0;

    if (strcmp(argv[0], "key") == 0 || strcmp(argv[0], "block") == 0
        || strcmp(argv[0], "apikey") == 0 || strcmp(argv[0], "client") == 0)
    {
        rc = admin_main(&kd->conf, argc, argv);

        if (rc == ADMIN_USAGE) {
            usage();
        }

    } else if (strcmp(argv[0], "policy") == 0) {

        /* a deleted policy is kept in the change that deleted it */

        if (strcmp(sub, "delete") == 0 && argc == 3
            && keryu_store_open(&kd->src, kd->conf.store, 0, 0) == 0)
        {
            before = change_policy(&kd->src, argv[2], &blen);
            keryu_store_close(&kd->src);
        }

        rc = policy_main(&kd->conf, argc - 1, argv + 1);

        if (rc == -1) {
            usage();
        }

    } else if (strcmp(argv[0], "verify") == 0) {
        rc = keryud_verify(kd, argc, argv);

    } else if (strcmp(argv[0], "subject") == 0) {

        /* records its own change, with the counts */

        rc = keryud_subject(kd, argc, argv);

    } else if (strcmp(argv[0], "backup") == 0
               || strcmp(argv[0], "restore") == 0)
    {
        rc = backup_main(&kd->conf, argc, argv);

        if (rc == BACKUP_USAGE) {
            usage();
        }

        change = 0;

    } else if (strcmp(argv[0], "keys") == 0) {

        /* records its own changes, with the keys' metadata */

        rc = keys_main(&kd->conf, argc, argv);

        if (rc == KEYS_USAGE) {
            usage();
        }

        change = 0;

    } else {
        rc = keryud_token(kd, argc, argv);
    }

    if (rc == 0 && change) {
        keryud_changed(kd, argc, argv, before, blen);
    }

    free(before);

    return rc;
}


static void
keryud_changed(keryud_t *kd, int argc, char **argv, const char *before,
    size_t before_len)
{
    int              i, rc;
    char             actor[64], action[64], cmd[1024];
    size_t           n, alen;
    json_t          *j;
    change_t         c;
    const char      *target;
    const uint8_t   *after;

    target = "";

    for (i = 2; i < argc; i++) {
        if (argv[i][0] != '-') {
            if (i == 2) {
                target = argv[i];
            }

            continue;
        }

        if (i + 1 < argc
            && (strcmp(argv[i], "--ip") == 0 || strcmp(argv[i], "--user") == 0
                || strcmp(argv[i], "--kid") == 0
                || strcmp(argv[i], "--id") == 0
                || strcmp(argv[i], "--name") == 0))
        {
            target = argv[i + 1];
        }
    }

    snprintf(action, sizeof(action), "%s.%s", argv[0], argv[1]);

    n = snprintf(cmd, sizeof(cmd), "keryud");

    for (i = 0; i < argc && n < sizeof(cmd); i++) {
        n += snprintf(cmd + n, sizeof(cmd) - n, " %s", argv[i]);
    }

    /* secrets come from files, so the arguments are safe to keep */

    j = json_new();
    if (j == NULL) {
        return;
    }

    json_map_open(j);
    json_key(j, "argv");
    json_array_open(j);

    for (i = 0; i < argc; i++) {
        json_cstring(j, argv[i]);
    }

    json_array_close(j);
    json_map_close(j);

    if (json_result(j, &after, &alen) != 0) {
        json_free(j);
        return;
    }

    rc = store_open(&kd->own, kd->conf.data, kd->conf.data_size);
    if (rc != 0) {
        fprintf(stderr, "keryud: recording the change failed: %s\n",
                keryu_store_strerror(rc));
        json_free(j);
        return;
    }

    if (keryud_own_keys(kd) != 0) {
        store_close(&kd->own);
        json_free(j);
        return;
    }

    c.actor = change_cli_actor(actor, sizeof(actor));
    c.action = action;
    c.target = target;
    c.before = before;
    c.before_len = before_len;
    c.after = (const char *) after;
    c.after_len = alen;
    c.method = "CLI";
    c.uri = cmd;
    c.addr = NULL;
    c.status = 0;

    rc = change_record(&kd->own, &c);
    if (rc != 0) {
        fprintf(stderr, "keryud: recording the change failed: %s\n",
                keryu_store_strerror(rc));
    }

    store_close(&kd->own);
    keys_free(kd->keys);
    kd->keys = NULL;
    json_free(j);
}


/*
 * for a command that writes records into keryud's store: its keys, so
 * that what it writes and the indexes it looks in are keryud's own
 */

static int
keryud_own_keys(keryud_t *kd)
{
    int      rc;
    char     err[256];
    uint8_t  master[KEYS_MASTER_LEN];

    /* without a master key records stay plain, and nothing is said */

    rc = keys_master_read(kd->conf.master_key, master, err, sizeof(err));

    if (rc == 0) {
        return 0;
    }

    if (rc == 1) {
        kd->keys = keys_new(&kd->own, &kd->conf, master);
        OPENSSL_cleanse(master, sizeof(master));

        if (kd->keys == NULL) {
            snprintf(err, sizeof(err), "keys_new() failed: out of memory");

        } else if (keys_load(kd->keys, (uint64_t) time(NULL), 1, err,
                             sizeof(err))
                   != 0)
        {
            keys_free(kd->keys);
            kd->keys = NULL;

        } else {
            kd->own.keys = kd->keys;
            return 0;
        }
    }

    fprintf(stderr, "keryud: %s\n", err);

    return -1;
}


static int
keryud_token(keryud_t *kd, int argc, char **argv)
{
    int          i, rc;
    role_e       role;
    time_t       expires;
    uint64_t     ttl;
    const char  *name, *ttl_s;

    if (strcmp(argv[0], "token") != 0 || argc < 2) {
        usage();
    }

    role = ROLE_NONE;
    name = NULL;
    ttl_s = NULL;
    expires = 0;

    if (strcmp(argv[1], "create") == 0) {
        for (i = 2; i < argc; i += 2) {
            if (i + 1 == argc) {
                usage();
            }

            if (strcmp(argv[i], "--role") == 0 && role == ROLE_NONE) {
                role = token_role_parse(argv[i + 1]);

                if (role == ROLE_NONE) {
                    fprintf(stderr, "keryud: invalid role \"%s\"\n",
                            argv[i + 1]);
                    usage();
                }

            } else if (strcmp(argv[i], "--name") == 0 && name == NULL) {
                name = argv[i + 1];

                if (!token_name_valid(name)) {
                    fprintf(stderr, "keryud: invalid token name \"%s\", "
                            "expecting 1 to %d of A-Z a-z 0-9 . _ -\n",
                            name, TOKEN_NAME_MAX);
                    return 1;
                }

            } else if (strcmp(argv[i], "--expires") == 0 && ttl_s == NULL) {
                ttl_s = argv[i + 1];

                if (admin_duration_parse(ttl_s, &ttl) == -1) {
                    fprintf(stderr, "keryud: invalid duration \"%s\", "
                            "expecting 1s to 3650d, as 30s, 15m, 1h or "
                            "7d\n", ttl_s);
                    return 1;
                }

                expires = time(NULL) + (time_t) ttl;

            } else {
                usage();
            }
        }

        if (role == ROLE_NONE) {
            usage();
        }

    } else if (strcmp(argv[1], "list") == 0) {
        if (argc != 2) {
            usage();
        }

    } else if (strcmp(argv[1], "revoke") == 0) {
        if (argc != 3) {
            usage();
        }

        name = argv[2];

    } else {
        usage();
    }

    rc = store_open(&kd->own, kd->conf.data, kd->conf.data_size);
    if (rc != 0) {
        fprintf(stderr, "keryud: cannot open store \"%s\": %s\n",
                kd->conf.data, keryu_store_strerror(rc));
        return 1;
    }

    if (role != ROLE_NONE) {
        rc = token_create(&kd->own, role, name, expires, stdout);

    } else if (name) {
        rc = token_revoke(&kd->own, name);

    } else {
        rc = token_list(&kd->own, stdout);
    }

    store_close(&kd->own);

    if (rc == 0) {
        return 0;
    }

    if (rc == EEXIST) {
        fprintf(stderr, "keryud: token \"%s\" exists already\n", name);

    } else if (rc == MDB_NOTFOUND) {
        fprintf(stderr, "keryud: no token \"%s\"\n", name);

    } else if (rc == -1) {
        fprintf(stderr, "keryud: RAND_bytes() failed\n");

    } else {
        fprintf(stderr, "keryud: token %s failed: %s\n", argv[1],
                mdb_strerror(rc));
    }

    return 1;
}


/*
 * recomputes the hash chain of keryud's store, as the integrity API does;
 * exits 0 when it verifies, 1 at the first bad record or on a failure
 */

static int
keryud_verify(keryud_t *kd, int argc, char **argv)
{
    int              rc, full;
    char             kid[2 * CHAIN_KID_LEN + 1], ts[TIME_STR_MAX];
    MDB_txn         *txn;
    unsigned         i;
    chain_verify_t   v;

    full = 1;

    if (argc == 2 && strcmp(argv[1], "--quick") == 0) {
        full = 0;

    } else if (argc != 1) {
        usage();
    }

    rc = store_open(&kd->own, kd->conf.data, kd->conf.data_size);
    if (rc != 0) {
        fprintf(stderr, "keryud: cannot open store \"%s\": %s\n",
                kd->conf.data, keryu_store_strerror(rc));
        return 1;
    }

    rc = store_txn_begin(&kd->own, MDB_RDONLY, &txn);

    if (rc == 0) {
        rc = chain_verify(&kd->own, txn, full, &v);
        mdb_txn_abort(txn);
    }

    store_close(&kd->own);

    if (rc != 0) {
        fprintf(stderr, "keryud: verify failed: %s\n",
                keryu_store_strerror(rc));
        return 1;
    }

    printf("%s chain: %llu records, ids %llu to %llu (%llu kept, "
           "%llu expired, %llu erased), %llu unchained, %llu checkpoints "
           "verified, %llu ms\n",
           full ? "full" : "quick", (unsigned long long) v.entries,
           (unsigned long long) v.first_id, (unsigned long long) v.last_id,
           (unsigned long long) v.kept, (unsigned long long) v.expired,
           (unsigned long long) v.erased, (unsigned long long) v.unchained,
           (unsigned long long) v.checkpoints,
           (unsigned long long) (v.elapsed_us / 1000));

    if (v.cp_id) {
        for (i = 0; i < CHAIN_KID_LEN; i++) {
            snprintf(kid + 2 * i, 3, "%02x", v.cp_kid[i]);
        }

        time_format(v.cp_time, ts);

        printf("last checkpoint: id %llu at %s, key %s\n",
               (unsigned long long) v.cp_id, ts, kid);
    }

    if (v.kind == CHAIN_OK) {
        printf("ok\n");
        return 0;
    }

    printf("first bad: id %llu, %s: %s", (unsigned long long) v.bad_id,
           chain_kind_name(v.kind), v.reason);

    if (v.other_id) {
        printf(" (id %llu)", (unsigned long long) v.other_id);
    }

    printf("\n");

    return 1;
}


/*
 * erases a data subject's records and their alert samples, and records
 * the erasure as a system_change: the actor, and the user as its target
 */

static int
keryud_subject(keryud_t *kd, int argc, char **argv)
{
    int             rc, erc;
    char            actor[64], cmd[1024];
    size_t          len, alen;
    json_t         *j;
    uint64_t        records, alerts;
    change_t        c;
    const char     *user;
    const uint8_t  *after;

    if (argc != 3 || strcmp(argv[1], "erase") != 0) {
        usage();
    }

    user = argv[2];
    len = strlen(user);

    if (len == 0 || len > KERYU_RECORD_USER_MAX) {
        fprintf(stderr, "keryud: invalid user \"%s\", expecting 1 to %d "
                "bytes\n", user, KERYU_RECORD_USER_MAX);
        return 1;
    }

    rc = store_open(&kd->own, kd->conf.data, kd->conf.data_size);
    if (rc != 0) {
        fprintf(stderr, "keryud: cannot open store \"%s\": %s\n",
                kd->conf.data, keryu_store_strerror(rc));
        return 1;
    }

    if (keryud_own_keys(kd) != 0) {
        store_close(&kd->own);
        return 1;
    }

    erc = store_erase_subject(&kd->own, user, &records, &alerts);

    if (erc != 0) {
        fprintf(stderr, "keryud: erasing \"%s\" failed after %llu records: "
                "%s\n", user, (unsigned long long) records,
                keryu_store_strerror(erc));

        /* what was erased before the failure is recorded all the same */

        if (records == 0) {
            store_close(&kd->own);
            keys_free(kd->keys);
            return 1;
        }

    } else {
        printf("erased %llu records of \"%s\", %llu alerts touched\n",
               (unsigned long long) records, user,
               (unsigned long long) alerts);
    }

    j = json_new();
    if (j == NULL) {
        store_close(&kd->own);
        keys_free(kd->keys);
        return 1;
    }

    json_map_open(j);
    json_key(j, "user");
    json_cstring(j, user);
    json_key(j, "records_removed");
    json_uint(j, records);
    json_key(j, "alerts_touched");
    json_uint(j, alerts);
    json_map_close(j);

    snprintf(cmd, sizeof(cmd), "keryud subject erase %s", user);

    c.actor = change_cli_actor(actor, sizeof(actor));
    c.action = "subject.erase";
    c.target = user;
    c.before = NULL;
    c.before_len = 0;
    c.method = "CLI";
    c.uri = cmd;
    c.addr = NULL;
    c.status = 0;

    rc = json_result(j, &after, &alen);

    if (rc == 0) {
        c.after = (const char *) after;
        c.after_len = alen;

        rc = change_record(&kd->own, &c);
    }

    if (rc != 0) {
        fprintf(stderr, "keryud: recording the change failed: %s\n",
                keryu_store_strerror(rc));
    }

    json_free(j);
    store_close(&kd->own);
    keys_free(kd->keys);
    kd->keys = NULL;

    return (rc == 0 && erc == 0) ? 0 : 1;
}


static int
keryud_run(keryud_t *kd)
{
    int             rc;
    char            err[CONF_ERR_MAX];
    conf_t         *cf;
    struct timeval  tv;

    cf = &kd->conf;

    signal(SIGPIPE, SIG_IGN);

    rc = keryu_store_open(&kd->src, cf->store, 0, 0);
    if (rc != 0) {
        log_warnx("cannot open shared store \"%s\": %s", cf->store,
                  keryu_store_strerror(rc));
        return -1;
    }

    rc = store_open(&kd->own, cf->data, cf->data_size);
    if (rc != 0) {
        log_warnx("cannot open store \"%s\": %s", cf->data,
                  keryu_store_strerror(rc));
        return -1;
    }

    if (kd->own.reindexed) {
        log_info("store \"%s\" upgraded to schema %d, %llu records indexed",
                 cf->data, STORE_SCHEMA,
                 (unsigned long long) kd->own.reindexed);
    }

    keryud_readers(kd);

    /* a wrong master key or a damaged key stops keryud here */

    kd->keys = keys_open(&kd->own, cf, (uint64_t) time(NULL), err,
                         sizeof(err));
    if (kd->keys == NULL) {
        log_warnx("cannot start: %s", err);
        return -1;
    }

    /* with a master key, personal fields are kept encrypted */

    if (keys_enabled(kd->keys)) {
        kd->own.keys = kd->keys;
    }

    if (consume_init(&kd->cs, &kd->src, &kd->own, cf->batch) != 0) {
        log_warnx("consume_init() failed: out of memory");
        return -1;
    }

    if (respond_init(&kd->resp, &kd->own, &kd->src) != 0) {
        log_warnx("respond_init() failed: out of memory");
        return -1;
    }

    kd->cs.cs_respond = &kd->resp;

    keys_set_respond(kd->keys, &kd->resp);
    keys_set_shared(kd->keys, &kd->src);

    if (cf->default_policies) {
        respond_defaults(&kd->resp);
    }
    respond_policies(&kd->resp);

    kd->base = event_base_new();
    if (kd->base == NULL) {
        log_warnx("event_base_new() failed");
        return -1;
    }

    if (cf->notify.webhook[0] || cf->notify.syslog) {
        kd->notify = notify_new(kd->base, &cf->notify, err, sizeof(err));
        if (kd->notify == NULL) {
            log_warnx("%s", err);
            return -1;
        }

        kd->resp.notify = kd->notify;
        keys_set_notify(kd->keys, kd->notify);
    }

    kd->api = api_new(kd->base, cf, &kd->own, &kd->src);
    if (kd->api == NULL) {
        return -1;
    }

    api_set_respond(kd->api, &kd->resp);
    api_set_keys(kd->api, kd->keys);
    api_set_sources(kd->api, &kd->cs, kd->notify);

    /* a catalogue named by "controls" that does not load stops keryud */

    if (comply_init(&kd->comply, cf, &kd->own, &kd->src) == -1) {
        return -1;
    }

    kd->comply.respond = &kd->resp;
    kd->comply.keys = kd->keys;
    api_set_comply(kd->api, &kd->comply);

    kd->ev_comply = evtimer_new(kd->base, keryud_comply, kd);
    if (kd->ev_comply == NULL) {
        log_warnx("event_new() failed");
        return -1;
    }

    /* TODO: drop privileges once the stores and the socket are open */

    kd->ev_consume = evtimer_new(kd->base, keryud_consume, kd);
    kd->ev_sync = event_new(kd->base, -1, EV_PERSIST, keryud_sync, kd);
    kd->ev_expire = evtimer_new(kd->base, keryud_expire, kd);
    kd->ev_term = evsignal_new(kd->base, SIGTERM, keryud_signal, kd);
    kd->ev_int = evsignal_new(kd->base, SIGINT, keryud_signal, kd);
    kd->ev_hup = evsignal_new(kd->base, SIGHUP, keryud_signal, kd);

    if (kd->ev_consume == NULL || kd->ev_sync == NULL
        || kd->ev_expire == NULL || kd->ev_term == NULL
        || kd->ev_int == NULL || kd->ev_hup == NULL)
    {
        log_warnx("event_new() failed");
        return -1;
    }

    tv.tv_sec = 0;
    tv.tv_usec = 0;

    if (evtimer_add(kd->ev_consume, &tv) == -1
        || evtimer_add(kd->ev_expire, &tv) == -1
        || evtimer_add(kd->ev_comply, &tv) == -1)
    {
        log_warnx("evtimer_add() failed");
        return -1;
    }

    tv.tv_sec = cf->sync_interval / 1000;
    tv.tv_usec = (cf->sync_interval % 1000) * 1000;

    if (event_add(kd->ev_sync, &tv) == -1
        || evsignal_add(kd->ev_term, NULL) == -1
        || evsignal_add(kd->ev_int, NULL) == -1
        || evsignal_add(kd->ev_hup, NULL) == -1)
    {
        log_warnx("event_add() failed");
        return -1;
    }

    if (cf->pid_file[0] && keryud_pid_file(kd) == -1) {
        return -1;
    }

    log_info("started, shared store \"%s\", store \"%s\"", cf->store,
             cf->data);

    if (event_base_dispatch(kd->base) == -1) {
        log_warnx("event_base_dispatch() failed");
        return -1;
    }

    return 0;
}


/* frees whatever keryud_run() got, in any state it left */

static void
keryud_free(keryud_t *kd)
{
    int  rc;

    if (kd->ev_consume) {
        event_free(kd->ev_consume);
    }

    if (kd->ev_sync) {
        event_free(kd->ev_sync);
    }

    if (kd->ev_expire) {
        event_free(kd->ev_expire);
    }

    if (kd->ev_term) {
        event_free(kd->ev_term);
    }

    if (kd->ev_int) {
        event_free(kd->ev_int);
    }

    if (kd->ev_hup) {
        event_free(kd->ev_hup);
    }

    if (kd->ev_comply) {
        event_free(kd->ev_comply);
    }

    api_free(kd->api);
    notify_free(kd->notify);

    consume_free(&kd->cs);
    comply_free(&kd->comply);
    respond_free(&kd->resp);
    keys_free(kd->keys);

    if (kd->src.env) {
        rc = mdb_env_sync(kd->src.env, 1);
        if (rc != 0) {
            log_warnx("mdb_env_sync() on shared store failed: %s",
                      mdb_strerror(rc));
        }
    }

    keryu_store_close(&kd->src);
    store_close(&kd->own);

    if (kd->base) {
        event_base_free(kd->base);
    }

    if (kd->pid_written && unlink(kd->conf.pid_file) == -1) {
        log_warn("unlink \"%s\"", kd->conf.pid_file);
    }
}


/* clears reader slots left by processes that died inside a read */

static void
keryud_readers(keryud_t *kd)
{
    int  rc, dead;

    if (kd->src.env) {
        rc = mdb_reader_check(kd->src.env, &dead);

        if (rc != 0) {
            log_warnx("mdb_reader_check() on shared store failed: %s",
                      mdb_strerror(rc));

        } else if (dead) {
            log_info("cleared %d stale readers of shared store", dead);
        }
    }

    rc = mdb_reader_check(kd->own.env, &dead);

    if (rc != 0) {
        log_warnx("mdb_reader_check() failed: %s", mdb_strerror(rc));

    } else if (dead) {
        log_info("cleared %d stale readers", dead);
    }
}


static int
keryud_pid_file(keryud_t *kd)
{
    int   fd, n;
    char  buf[32];

    fd = open(kd->conf.pid_file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
              0644);
    if (fd == -1) {
        log_warn("open \"%s\"", kd->conf.pid_file);
        return -1;
    }

    n = snprintf(buf, sizeof(buf), "%ld\n", (long) getpid());

    if (write(fd, buf, (size_t) n) != n) {
        log_warn("write \"%s\"", kd->conf.pid_file);
        close(fd);
        return -1;
    }

    close(fd);

    kd->pid_written = 1;

    return 0;
}


static void
keryud_consume(evutil_socket_t fd, short what, void *arg)
{
    keryud_t       *kd = arg;

    int             rc;
    struct timeval  tv;
    consume_res_t   res;

    (void) fd;
    (void) what;

    respond_policies(&kd->resp);

    rc = consume_batch(&kd->cs, &res);

    /* a full batch means more is waiting: read again at once */

    if (rc == 0 && res.read == kd->conf.batch) {
        tv.tv_sec = 0;
        tv.tv_usec = 0;

    } else {
        tv.tv_sec = kd->conf.poll_interval / 1000;
        tv.tv_usec = (kd->conf.poll_interval % 1000) * 1000;
    }

    if (evtimer_add(kd->ev_consume, &tv) == -1) {
        fatalx("evtimer_add() failed");
    }
}


/*
 * nginx writes the shared store with MDB_NOSYNC, so its durability is
 * this timer's flush
 */

static void
keryud_sync(evutil_socket_t fd, short what, void *arg)
{
    keryud_t  *kd = arg;

    int        rc;

    (void) fd;
    (void) what;

    keryud_replaced(kd);

    if (kd->src.env) {
        rc = mdb_env_sync(kd->src.env, 1);
        if (rc != 0) {
            log_warnx("mdb_env_sync() on shared store failed: %s",
                      mdb_strerror(rc));
        }
    }

    keryud_readers(kd);
    keryud_prune(kd);
    keryud_workers(kd);
    keys_tick(kd->keys, (uint64_t) time(NULL));
    keryud_checkpoint(kd);
    keryud_faults(kd);
}


/*
 * raises an alert when nginx workers found the shared store's map full,
 * or lost records to failed writes or a full staging area, since the last
 * look; what was seen is kept in the own meta, so that a fault while
 * keryud was down is raised when it starts, and only once
 */

static void
keryud_faults(keryud_t *kd)
{
    int        rc;
    char       summary[ALERT_SUMMARY_MAX + 1];
    MDB_txn   *txn;
    uint64_t   full, failed, overflow, lost, seen_full, seen_lost;

    if (kd->src.env == NULL) {
        return;
    }

    rc = keryu_store_txn_begin(&kd->src, MDB_RDONLY, &txn);
    if (rc != 0) {
        log_warnx("%s: mdb_txn_begin() failed: %s", __func__,
                  keryu_store_strerror(rc));
        return;
    }

    if ((rc = keryu_store_meta_get(&kd->src, txn, KERYU_META_MAP_FULL,
                                   &full))
        || (rc = keryu_store_meta_get(&kd->src, txn, KERYU_META_FAILED,
                                      &failed))
        || (rc = keryu_store_meta_get(&kd->src, txn, KERYU_META_OVERFLOW,
                                      &overflow)))
    {
        mdb_txn_abort(txn);
        log_warnx("%s: reading the shared meta failed: %s", __func__,
                  keryu_store_strerror(rc));
        return;
    }

    mdb_txn_abort(txn);

    lost = failed + overflow;

    rc = store_txn_begin(&kd->own, 0, &txn);
    if (rc != 0) {
        log_warnx("%s: mdb_txn_begin() failed: %s", __func__,
                  mdb_strerror(rc));
        return;
    }

    if ((rc = store_meta_get(&kd->own, txn, STORE_META_SEEN_FULL,
                             &seen_full))
        || (rc = store_meta_get(&kd->own, txn, STORE_META_SEEN_FAILED,
                                &seen_lost)))
    {
        mdb_txn_abort(txn);
        log_warnx("%s: reading own meta failed: %s", __func__,
                  mdb_strerror(rc));
        return;
    }

    if (full == seen_full && lost == seen_lost) {
        mdb_txn_abort(txn);
        return;
    }

    /* counters below what was seen: a new shared store, nothing to raise */

    if ((rc = store_meta_put(&kd->own, txn, STORE_META_SEEN_FULL, full))
        || (rc = store_meta_put(&kd->own, txn, STORE_META_SEEN_FAILED, lost)))
    {
        mdb_txn_abort(txn);
        log_warnx("%s: writing own meta failed: %s", __func__,
                  mdb_strerror(rc));
        return;
    }

    rc = mdb_txn_commit(txn);
    if (rc != 0) {
        log_warnx("%s: mdb_txn_commit() failed: %s", __func__,
                  mdb_strerror(rc));
        return;
    }

    if (full > seen_full) {
        snprintf(summary, sizeof(summary), "nginx found the shared store "
                 "\"%.200s\" full %" PRIu64 " times and deleted the oldest "
                 "records to make room: raise \"size\" of \"keryu_store\" "
                 "or lower \"ring\"", kd->conf.store, full);
        log_warnx("alert store_full: %s", summary);
        respond_fault(&kd->resp, "store_full", "ring", summary, full);
    }

    if (lost > seen_lost) {
        snprintf(summary, sizeof(summary), "nginx workers could not write "
                 "%" PRIu64 " records into the shared store \"%.200s\" "
                 "(%" PRIu64 " failed writes, %" PRIu64 " with staging full)",
                 lost, kd->conf.store, failed, overflow);
        log_warnx("alert store_failed: %s", summary);
        respond_fault(&kd->resp, "store_failed", "ring", summary, lost);
    }
}


/* signs the chain's newest records when they waited long enough */

static void
keryud_checkpoint(keryud_t *kd)
{
    int              rc;
    struct timespec  ts;

    clock_gettime(CLOCK_REALTIME, &ts);

    rc = chain_tick(&kd->own, (uint64_t) ts.tv_sec * 1000000
                              + (uint64_t) ts.tv_nsec / 1000);
    if (rc != 0) {
        log_warnx("writing a chain checkpoint failed: %s", mdb_strerror(rc));
    }
}


/*
 * removes expired blocks from the shared store, a bounded batch per tick
 * so that the write lock nginx workers wait on is held briefly; what is
 * left goes on the next tick, and a failure only waits for it too
 */

static void
keryud_prune(keryud_t *kd)
{
    int              rc;
    size_t           removed;
    uint64_t         now_us;
    struct timespec  ts;

    if (kd->src.env == NULL) {
        return;
    }

    clock_gettime(CLOCK_REALTIME, &ts);
    now_us = (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;

    rc = keryu_store_prune_blocks(&kd->src, now_us, KERYUD_PRUNE_MAX,
                                  &removed);

    if (rc != 0) {
        log_warnx("pruning expired blocks failed: %s",
                  keryu_store_strerror(rc));

    } else if (removed) {
        log_info("pruned %zu expired blocks", removed);
    }
}


/*
 * deletes the worker.<pid> entries of nginx workers that died without
 * deleting their own (killed, or crashed); a pid's process is looked for
 * with kill(pid, 0), so this assumes nginx runs on keryud's host, in its
 * PID namespace.  Only a tick that finds some takes the write lock.
 */

static void
keryud_workers(keryud_t *kd)
{
    int             rc;
    size_t          i, removed;
    MDB_txn        *txn;
    keryud_dead_t   dead;

    if (kd->src.env == NULL) {
        return;
    }

    dead.n = 0;

    rc = keryu_store_txn_begin(&kd->src, MDB_RDONLY, &txn);
    if (rc != 0) {
        goto failed;
    }

    rc = keryu_store_workers(&kd->src, txn, keryud_worker_dead, &dead);
    mdb_txn_abort(txn);

    if (rc != 0) {
        goto failed;
    }

    if (dead.n == 0) {
        return;
    }

    rc = keryu_store_txn_begin(&kd->src, 0, &txn);
    if (rc != 0) {
        goto failed;
    }

    removed = 0;

    for (i = 0; i < dead.n; i++) {
        rc = keryu_store_worker_del(&kd->src, txn, dead.pids[i]);

        if (rc == 0) {
            removed++;

        } else if (rc != MDB_NOTFOUND) {
            mdb_txn_abort(txn);
            goto failed;
        }
    }

    /* a failed commit has freed the transaction already */

    rc = mdb_txn_commit(txn);
    if (rc != 0) {
        goto failed;
    }

    if (removed) {
        log_info("removed the reports of %zu nginx workers that exited",
                 removed);
        keryud_crashed(kd, &dead, removed);
    }

    return;

failed:

    log_warnx("removing the reports of exited nginx workers failed: %s",
              keryu_store_strerror(rc));
}


/*
 * a worker that exits removes its own report, so one that keryud had to
 * remove died without a word: killed, or crashed; each is counted, and
 * raises an alert
 */

static void
keryud_crashed(keryud_t *kd, const keryud_dead_t *dead, size_t removed)
{
    int        rc;
    char       pids[256], summary[ALERT_SUMMARY_MAX + 1];
    size_t     i, len;
    MDB_txn   *txn;
    uint64_t   total;

    len = 0;
    pids[0] = '\0';

    for (i = 0; i < dead->n && len < sizeof(pids) - 24; i++) {
        len += (size_t) snprintf(pids + len, sizeof(pids) - len, "%s%" PRIu64,
                                 i ? ", " : "", dead->pids[i]);
    }

    rc = store_txn_begin(&kd->own, 0, &txn);

    if (rc == 0) {
        rc = store_meta_get(&kd->own, txn, STORE_META_CRASHED, &total);

        if (rc == 0) {
            rc = store_meta_put(&kd->own, txn, STORE_META_CRASHED,
                                total + removed);
        }

        if (rc == 0) {
            rc = mdb_txn_commit(txn);

        } else {
            mdb_txn_abort(txn);
        }
    }

    if (rc != 0) {
        log_warnx("counting crashed nginx workers failed: %s",
                  mdb_strerror(rc));
    }

    snprintf(summary, sizeof(summary), "%zu nginx workers died without "
             "removing their report (pid %s): killed, or crashed; see "
             "nginx's error log", removed, pids);
    log_warnx("alert worker_crashed: %s", summary);
    respond_fault(&kd->resp, "worker_crashed", "nginx", summary,
                  removed);
}


static int
keryud_worker_dead(void *ctx, const keryu_worker_t *w)
{
    keryud_dead_t  *dead = ctx;

    if (metrics_worker_alive(w->pid)) {
        return 0;
    }

    dead->pids[dead->n++] = w->pid;

    return dead->n == KERYUD_WORKERS_PRUNE_MAX;
}


/*
 * deletes records older than "retention" and expired API tokens, a
 * bounded batch each per tick, one write transaction each; after a full
 * batch of records the next tick comes at once, so that a backlog drains
 * while the consumer and the API still get their turns
 */

static void
keryud_expire(evutil_socket_t fd, short what, void *arg)
{
    keryud_t         *kd = arg;

    int               rc;
    size_t            removed, tokens, entries;
    uint64_t          now_us, ms;
    struct timeval    tv;
    struct timespec   ts;

    (void) fd;
    (void) what;

    clock_gettime(CLOCK_REALTIME, &ts);
    now_us = (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;

    removed = 0;

    if (kd->conf.retention && now_us > kd->conf.retention * 1000000) {
        rc = store_expire(&kd->own, now_us - kd->conf.retention * 1000000,
                          STORE_EXPIRE_MAX, &removed);

        if (rc != 0) {
            log_warnx("deleting expired records failed: %s",
                      mdb_strerror(rc));

        } else if (removed) {
            log_debug("%s: deleted %zu records older than %llu s", __func__,
                      removed, (unsigned long long) kd->conf.retention);
        }
    }

    /* the chain entries of deleted records go once a checkpoint covers them */

    if (removed) {
        rc = chain_compact(&kd->own, &entries);

        if (rc != 0) {
            log_warnx("compacting the hash chain failed: %s",
                      mdb_strerror(rc));

        } else if (entries) {
            log_debug("%s: dropped %zu chain entries of deleted records",
                      __func__, entries);
        }
    }

    rc = token_expire(&kd->own, ts.tv_sec, KERYUD_TOKEN_EXPIRE_MAX,
                      &tokens);

    if (rc != 0) {
        log_warnx("deleting expired tokens failed: %s", mdb_strerror(rc));

    } else if (tokens) {
        log_info("deleted %zu expired tokens", tokens);
    }

    ms = (removed == STORE_EXPIRE_MAX) ? KERYUD_EXPIRE_AGAIN
                                       : kd->conf.sync_interval;

    tv.tv_sec = ms / 1000;
    tv.tv_usec = (ms % 1000) * 1000;

    if (evtimer_add(kd->ev_expire, &tv) == -1) {
        fatalx("evtimer_add() failed");
    }
}


/*
 * the compliance timer: a run once at startup and every
 * "compliance_interval", and scheduled audits when they are due; it looks
 * once a minute, or once an interval when that is shorter, so a run comes
 * at most that late
 */

static void
keryud_comply(evutil_socket_t fd, short what, void *arg)
{
    keryud_t        *kd = arg;

    uint64_t         ms;
    struct timeval   tv;

    (void) fd;
    (void) what;

    comply_tick(&kd->comply);

    ms = kd->conf.compliance_interval;

    if (ms > KERYUD_COMPLY_TICK * 1000) {
        ms = KERYUD_COMPLY_TICK * 1000;
    }

    tv.tv_sec = ms / 1000;
    tv.tv_usec = (ms % 1000) * 1000;

    if (evtimer_add(kd->ev_comply, &tv) == -1) {
        fatalx("evtimer_add() failed");
    }
}


/*
 * an open environment keeps reading the files it mapped, so a shared store
 * removed and made again (a new data.mdb) is only seen by opening it anew;
 * the old one is closed first, since LMDB forbids one process two handles
 * on one lock file, and until the new one opens the shared store is away
 */

static void
keryud_replaced(keryud_t *kd)
{
    int          rc, fd;
    char         path[CONF_PATH_MAX + 16];
    struct stat  old, cur;

    snprintf(path, sizeof(path), "%s/data.mdb", kd->conf.store);

    if (stat(path, &cur) == -1) {
        return;
    }

    if (kd->src.env) {
        if (mdb_env_get_fd(kd->src.env, &fd) != 0 || fstat(fd, &old) == -1
            || (old.st_ino == cur.st_ino && old.st_dev == cur.st_dev))
        {
            return;
        }

        log_info("shared store \"%s\" was replaced, reopening it",
                 kd->conf.store);

        consume_free(&kd->cs);
        keryu_store_close(&kd->src);
    }

    rc = keryu_store_open(&kd->src, kd->conf.store, 0, 0);
    if (rc != 0) {
        log_warnx("cannot open shared store \"%s\": %s", kd->conf.store,
                  keryu_store_strerror(rc));
    }
}


static void
keryud_signal(evutil_socket_t sig, short what, void *arg)
{
    keryud_t  *kd = arg;

    char       err[CONF_ERR_MAX];
    conf_t    *cf;

    (void) what;

    switch (sig) {

    case SIGHUP:

        /* only the log level is taken from a reloaded file */

        cf = malloc(sizeof(conf_t));
        if (cf == NULL) {
            log_warn("reload: malloc");
            return;
        }

        if (conf_parse(cf, kd->conf_file, err, sizeof(err)) == -1) {
            log_warnx("reload failed: %s", err);
            free(cf);
            return;
        }

        kd->conf.log_debug = cf->log_debug;
        log_set_debug(kd->verbose || cf->log_debug);

        log_info("reloaded \"%s\", log level %s", kd->conf_file,
                 log_get_debug() ? "debug" : "info");

        free(cf);
        break;

    default:
        log_info("received signal %d, stopping", (int) sig);
        event_base_loopexit(kd->base, NULL);
        break;
    }
}
