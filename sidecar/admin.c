/*
 * Copyright (C) Keryu Security
 *
 * keryud's administration commands on the shared store:
 *
 *   key add --kid KID --alg HS256 --secret-file PATH
 *   key add --kid KID --alg RS256|ES256 --pem-file PATH
 *   key list | key delete KID
 *   block add (--ip ADDR[/PREFIX] | --user NAME) [--ttl DURATION]
 *       [--reason TEXT]
 *   block list | block delete (--ip ADDR[/PREFIX] | --user NAME)
 *   apikey create --name NAME --role ROLE [--role ROLE ...] [--ttl DURATION]
 *   apikey list | apikey revoke NAME
 *   client add --id ID --role ROLE [--role ROLE ...] --secret-file PATH
 *   client list | client delete ID
 *
 * Secrets never reach stdout once stored: "key list" shows the key id,
 * algorithm and creation time, and an API key is printed once, when it is
 * made.  Buffers that held a secret are wiped before they are freed.
 * Stored public keys are the PEM that OpenSSL writes again after parsing
 * the file, so what the module reads has parsed once already.
 */


#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <yajl/yajl_tree.h>

#include "keryud.h"
#include "admin.h"
#include "json.h"
#include "keryu_apikeys.h"


#define ADMIN_KID_MAX        128
#define ADMIN_SECRET_MIN     32
#define ADMIN_SECRET_MAX     1024
#define ADMIN_PEM_MAX        16384
#define ADMIN_RSA_BITS_MIN   2048
#define ADMIN_TTL_MAX        (3650ULL * 86400)    /* seconds */
#define ADMIN_VALUE_MAX      65536               /* a stored JSON value */
#define ADMIN_ADDR_STR_MAX   (INET6_ADDRSTRLEN + 4)

#define ADMIN_APIKEY_PREFIX  "kak_"
#define ADMIN_APIKEY_RAND    32


/* what "key list" reads back from a stored key */
typedef struct {
    char                alg[8];
    uint64_t            created_at;
} admin_key_info_t;


typedef struct {
    size_t              bad;
} admin_list_ctx_t;


static int admin_key(conf_t *cf, int argc, char **argv);
static int admin_key_add(conf_t *cf, const char *kid, const char *alg,
    const char *secret_file, const char *pem_file);
typedef void (*admin_row_pt)(void *ctx, const MDB_val *key,
    const MDB_val *val);

static int admin_list(conf_t *cf, size_t dbi_offset, const char *what,
    const char *header, admin_row_pt row, void *ctx);
static int admin_key_list(conf_t *cf);
static void admin_key_row(void *ctx, const MDB_val *key, const MDB_val *val);
static int admin_delete(conf_t *cf, size_t dbi_offset, const char *what,
    const char *name);
static int admin_secret_read(const char *path, uint8_t *buf, size_t *len);
static int admin_pem_read(const char *path, const char *alg, char **pem,
    size_t *pem_len);
static int admin_block(conf_t *cf, int argc, char **argv);
static int admin_block_add(conf_t *cf, admin_target_t *tg, uint64_t ttl,
    const char *reason);
static int admin_block_list(conf_t *cf);
static int admin_block_delete(conf_t *cf, admin_target_t *tg);
static int admin_target(admin_target_t *tg, const char *ip,
    const char *user);
static int admin_block_line(void *ctx, const admin_target_t *tg,
    const keryu_block_t *b);
static void admin_target_text(admin_target_t *tg);
static int admin_apikey(conf_t *cf, int argc, char **argv);
static int admin_apikey_create(conf_t *cf, const char *name,
    const char **roles, size_t nroles, uint64_t ttl);
static int admin_apikey_list(conf_t *cf);
static void admin_apikey_row(void *ctx, const MDB_val *key,
    const MDB_val *val);
static int admin_apikey_revoke(conf_t *cf, const char *name);
static int admin_apikey_find(keryu_store_t *st, MDB_txn *txn,
    const char *name, uint8_t hash[SHA256_DIGEST_LENGTH]);
static int admin_client(conf_t *cf, int argc, char **argv);
static int admin_client_add(conf_t *cf, const char *id, const char **roles,
    size_t nroles, const char *secret_file);
static int admin_client_list(conf_t *cf);
static void admin_client_row(void *ctx, const MDB_val *key,
    const MDB_val *val);
static int admin_open(conf_t *cf, keryu_store_t *st, unsigned flags,
    MDB_txn **txn);
static int admin_commit(keryu_store_t *st, MDB_txn *txn);
static int admin_json(json_t *j, const uint8_t **buf, size_t *len);
static int admin_duration(const char *s, uint64_t *sec);
static int admin_kid_valid(const char *kid);
static size_t admin_base64url(char *out, const uint8_t *in, size_t len);
static size_t admin_escape(char *out, const uint8_t *in, size_t len);
static uint64_t admin_now_us(void);
static void admin_ssl_error(const char *call);
static int admin_key_read(const MDB_val *val, admin_key_info_t *ki);
static int admin_apikey_read(const MDB_val *val, admin_apikey_info_t *ai);
static yajl_val admin_json_parse(const MDB_val *val);


int
admin_main(conf_t *cf, int argc, char **argv)
{
    if (argc < 2) {
        return ADMIN_USAGE;
    }

    if (strcmp(argv[0], "key") == 0) {
        return admin_key(cf, argc - 1, argv + 1);
    }

    if (strcmp(argv[0], "block") == 0) {
        return admin_block(cf, argc - 1, argv + 1);
    }

    if (strcmp(argv[0], "apikey") == 0) {
        return admin_apikey(cf, argc - 1, argv + 1);
    }

    if (strcmp(argv[0], "client") == 0) {
        return admin_client(cf, argc - 1, argv + 1);
    }

    return ADMIN_USAGE;
}


/* verification keys */

static int
admin_key(conf_t *cf, int argc, char **argv)
{
    int          i;
    const char  *kid, *alg, *secret_file, *pem_file, **opt;

    if (strcmp(argv[0], "list") == 0) {
        return argc == 1 ? admin_key_list(cf) : ADMIN_USAGE;
    }

    if (strcmp(argv[0], "delete") == 0) {
        return argc == 2 ? admin_delete(cf, offsetof(keryu_store_t, keys),
                                        "key", argv[1])
                         : ADMIN_USAGE;
    }

    if (strcmp(argv[0], "add") != 0) {
        return ADMIN_USAGE;
    }

    kid = NULL;
    alg = NULL;
    secret_file = NULL;
    pem_file = NULL;

    for (i = 1; i < argc; i += 2) {
        if (strcmp(argv[i], "--kid") == 0) {
            opt = &kid;

        } else if (strcmp(argv[i], "--alg") == 0) {
            opt = &alg;

        } else if (strcmp(argv[i], "--secret-file") == 0) {
            opt = &secret_file;

        } else if (strcmp(argv[i], "--pem-file") == 0) {
            opt = &pem_file;

        } else {
            return ADMIN_USAGE;
        }

        if (i + 1 == argc || *opt != NULL) {
            return ADMIN_USAGE;
        }

        *opt = argv[i + 1];
    }

    if (kid == NULL || alg == NULL) {
        return ADMIN_USAGE;
    }

    if (strcmp(alg, "HS256") == 0) {
        if (secret_file == NULL || pem_file != NULL) {
            return ADMIN_USAGE;
        }

    } else if (strcmp(alg, "RS256") == 0 || strcmp(alg, "ES256") == 0) {
        if (pem_file == NULL || secret_file != NULL) {
            return ADMIN_USAGE;
        }

    } else {
        fprintf(stderr, "keryud: invalid alg \"%s\", expecting HS256, RS256 "
                "or ES256\n", alg);
        return ADMIN_USAGE;
    }

    if (!admin_kid_valid(kid)) {
        fprintf(stderr, "keryud: invalid kid \"%s\", expecting 1 to %d "
                "printable characters, no space, quote or backslash\n",
                kid, ADMIN_KID_MAX);
        return 1;
    }

    return admin_key_add(cf, kid, alg, secret_file, pem_file);
}


static int
admin_key_add(conf_t *cf, const char *kid, const char *alg,
    const char *secret_file, const char *pem_file)
{
    int             rc, status;
    char           *pem, b64[4 * ((ADMIN_SECRET_MAX + 2) / 3) + 1];
    size_t          len, pem_len, b64_len;
    json_t         *j;
    uint8_t         secret[ADMIN_SECRET_MAX + 1];
    MDB_val         key, val;
    MDB_txn        *txn;
    const uint8_t  *buf;
    keryu_store_t   st;

    status = 1;
    pem = NULL;
    pem_len = 0;
    b64_len = 0;
    j = NULL;

    if (secret_file) {
        if (admin_secret_read(secret_file, secret, &len) == -1) {
            goto wipe;
        }

        b64_len = admin_base64url(b64, secret, len);

    } else if (admin_pem_read(pem_file, alg, &pem, &pem_len) == -1) {
        goto wipe;
    }

    j = json_new();
    if (j == NULL) {
        fprintf(stderr, "keryud: out of memory\n");
        goto wipe;
    }

    json_map_open(j);
    json_key(j, "kid");
    json_cstring(j, kid);
    json_key(j, "alg");
    json_cstring(j, alg);

    if (secret_file) {
        json_key(j, "secret");
        json_string(j, (uint8_t *) b64, b64_len);

    } else {
        json_key(j, "pem");
        json_string(j, (uint8_t *) pem, pem_len);
    }

    json_key(j, "created_at");
    json_uint(j, (uint64_t) time(NULL));
    json_map_close(j);

    if (admin_json(j, &buf, &len) == -1) {
        goto wipe;
    }

    if (admin_open(cf, &st, 0, &txn) == -1) {
        goto wipe;
    }

    key.mv_size = strlen(kid);
    key.mv_data = (void *) kid;

    rc = mdb_get(txn, st.keys, &key, &val);

    if (rc == 0) {
        fprintf(stderr, "keryud: key \"%s\" exists already\n", kid);
        goto txn_abort;
    }

    if (rc != MDB_NOTFOUND) {
        fprintf(stderr, "keryud: mdb_get() on keys failed: %s\n",
                mdb_strerror(rc));
        goto txn_abort;
    }

    val.mv_size = len;
    val.mv_data = (void *) buf;

    rc = keryu_store_change(&st, txn, st.keys, &key, &val,
                            KERYU_META_CONFIG_VERSION);
    if (rc != 0) {
        fprintf(stderr, "keryud: key add failed: %s\n",
                keryu_store_strerror(rc));
        goto txn_abort;
    }

    if (admin_commit(&st, txn) == 0) {
        printf("key %s added, %s\n", kid, alg);
        status = 0;
    }

    goto wipe;

txn_abort:

    mdb_txn_abort(txn);
    keryu_store_close(&st);

wipe:

    /* the document holds the secret too: yajl's buffer is its own heap */

    if (j && json_result(j, &buf, &len) == 0) {
        OPENSSL_cleanse((void *) buf, len);
    }

    json_free(j);
    free(pem);

    OPENSSL_cleanse(secret, sizeof(secret));
    OPENSSL_cleanse(b64, sizeof(b64));

    return status;
}


static int
admin_key_list(conf_t *cf)
{
    char  header[128];

    snprintf(header, sizeof(header), "%-32s %-6s %s\n", "KID", "ALG",
             "CREATED");

    return admin_list(cf, offsetof(keryu_store_t, keys), "key", header,
                      admin_key_row, NULL);
}


static void
admin_key_row(void *ctx, const MDB_val *key, const MDB_val *val)
{
    char              created[TIME_STR_MAX], kid[ADMIN_ESC_MAX];
    admin_key_info_t  ki;

    (void) ctx;

    admin_escape(kid, key->mv_data,
                 key->mv_size < KERYU_BLOCK_KEY_MAX ? key->mv_size
                                                    : KERYU_BLOCK_KEY_MAX);

    if (admin_key_read(val, &ki) == -1) {
        printf("%-32s %-6s %s\n", kid, "?", "?");
        return;
    }

    admin_time(ki.created_at, created);

    printf("%-32s %-6s %s\n", kid, ki.alg, created);
}


/*
 * prints the header and one row for each entry of the database at
 * dbi_offset in keryu_store_t; returns the exit status
 */

static int
admin_list(conf_t *cf, size_t dbi_offset, const char *what,
    const char *header, admin_row_pt row, void *ctx)
{
    int             rc;
    MDB_val         key, val;
    MDB_txn        *txn;
    MDB_cursor     *cur;
    keryu_store_t   st;

    if (admin_open(cf, &st, MDB_RDONLY, &txn) == -1) {
        return 1;
    }

    rc = mdb_cursor_open(txn, *(MDB_dbi *) ((char *) &st + dbi_offset),
                         &cur);
    if (rc != 0) {
        goto failed;
    }

    fputs(header, stdout);

    for (rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST);
         rc == 0;
         rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT))
    {
        row(ctx, &key, &val);
    }

    mdb_cursor_close(cur);

    if (rc != MDB_NOTFOUND) {
        goto failed;
    }

    mdb_txn_abort(txn);
    keryu_store_close(&st);

    return 0;

failed:

    fprintf(stderr, "keryud: %s list failed: %s\n", what, mdb_strerror(rc));

    mdb_txn_abort(txn);
    keryu_store_close(&st);

    return 1;
}


/*
 * deletes one entry of the database at dbi_offset in keryu_store_t, what
 * being "key" or "client" for the messages; returns the exit status
 */

static int
admin_delete(conf_t *cf, size_t dbi_offset, const char *what,
    const char *name)
{
    int             rc;
    MDB_val         key;
    MDB_txn        *txn;
    keryu_store_t   st;

    if (admin_open(cf, &st, 0, &txn) == -1) {
        return 1;
    }

    key.mv_size = strlen(name);
    key.mv_data = (void *) name;

    rc = keryu_store_change(&st, txn, *(MDB_dbi *) ((char *) &st + dbi_offset),
                            &key, NULL, KERYU_META_CONFIG_VERSION);

    if (rc != 0) {
        if (rc == MDB_NOTFOUND) {
            fprintf(stderr, "keryud: no %s \"%s\"\n", what, name);

        } else {
            fprintf(stderr, "keryud: %s delete failed: %s\n", what,
                    keryu_store_strerror(rc));
        }

        mdb_txn_abort(txn);
        keryu_store_close(&st);

        return 1;
    }

    rc = admin_commit(&st, txn);

    if (rc == 0) {
        printf("%s %s deleted\n", what, name);
    }

    return rc == 0 ? 0 : 1;
}


/*
 * reads an HS256 secret: the file's bytes, one trailing newline dropped;
 * buf has room for ADMIN_SECRET_MAX + 1 bytes
 */

static int
admin_secret_read(const char *path, uint8_t *buf, size_t *len)
{
    int          fd;
    size_t       n;
    ssize_t      r;
    struct stat  sb;

    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd == -1) {
        fprintf(stderr, "keryud: open \"%s\": %s\n", path, strerror(errno));
        return -1;
    }

    if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) && (sb.st_mode & 077)) {
        fprintf(stderr, "keryud: warning: secret file \"%s\" is open to "
                "group or others (mode %04o)\n", path,
                (unsigned) (sb.st_mode & 07777));
    }

    n = 0;

    /* one byte more than allowed tells a file that is too long */

    while (n < ADMIN_SECRET_MAX + 1) {
        r = read(fd, buf + n, ADMIN_SECRET_MAX + 1 - n);

        if (r == -1 && errno == EINTR) {
            continue;
        }

        if (r == -1) {
            fprintf(stderr, "keryud: read \"%s\": %s\n", path,
                    strerror(errno));
            close(fd);
            return -1;
        }

        if (r == 0) {
            break;
        }

        n += (size_t) r;
    }

    close(fd);

    if (n > ADMIN_SECRET_MAX) {
        fprintf(stderr, "keryud: secret in \"%s\" is longer than %d bytes\n",
                path, ADMIN_SECRET_MAX);
        return -1;
    }

    if (n && buf[n - 1] == '\n') {
        n--;
    }

    if (n < ADMIN_SECRET_MIN) {
        fprintf(stderr, "keryud: secret in \"%s\" is %zu bytes, HS256 needs "
                "at least %d\n", path, n, ADMIN_SECRET_MIN);
        return -1;
    }

    *len = n;

    return 0;
}


/*
 * reads a public key of the algorithm's type from a PEM file and returns
 * it written again as PEM, in memory the caller frees
 */

static int
admin_pem_read(const char *path, const char *alg, char **pem,
    size_t *pem_len)
{
    int        rc, id;
    BIO       *in, *out;
    FILE      *f;
    char       group[64], *data;
    long       n;
    size_t     len, glen;
    uint8_t    buf[ADMIN_PEM_MAX + 1];
    EVP_PKEY  *pkey;

    f = fopen(path, "re");
    if (f == NULL) {
        fprintf(stderr, "keryud: open \"%s\": %s\n", path, strerror(errno));
        return -1;
    }

    len = fread(buf, 1, sizeof(buf), f);

    if (ferror(f)) {
        fprintf(stderr, "keryud: read \"%s\": %s\n", path, strerror(errno));
        fclose(f);
        return -1;
    }

    fclose(f);

    if (len > ADMIN_PEM_MAX) {
        fprintf(stderr, "keryud: \"%s\" is longer than %d bytes\n", path,
                ADMIN_PEM_MAX);
        return -1;
    }

    rc = -1;
    out = NULL;
    pkey = NULL;

    ERR_clear_error();

    in = BIO_new_mem_buf(buf, (int) len);
    if (in == NULL) {
        fprintf(stderr, "keryud: ");
        admin_ssl_error("BIO_new_mem_buf");
        return -1;
    }

    pkey = PEM_read_bio_PUBKEY(in, NULL, NULL, NULL);
    if (pkey == NULL) {
        fprintf(stderr, "keryud: no public key in \"%s\": ", path);
        admin_ssl_error("PEM_read_bio_PUBKEY");
        goto free;
    }

    id = EVP_PKEY_get_base_id(pkey);

    if (strcmp(alg, "RS256") == 0) {
        if (id != EVP_PKEY_RSA) {
            fprintf(stderr, "keryud: \"%s\" holds no RSA key, which RS256 "
                    "needs\n", path);
            goto free;
        }

        if (EVP_PKEY_get_bits(pkey) < ADMIN_RSA_BITS_MIN) {
            fprintf(stderr, "keryud: \"%s\" holds a %d-bit RSA key, RS256 "
                    "needs at least %d\n", path, EVP_PKEY_get_bits(pkey),
                    ADMIN_RSA_BITS_MIN);
            goto free;
        }

    } else {
        if (id != EVP_PKEY_EC
            || EVP_PKEY_get_group_name(pkey, group, sizeof(group), &glen)
               != 1
            || strcmp(group, SN_X9_62_prime256v1) != 0)
        {
            fprintf(stderr, "keryud: \"%s\" holds no EC P-256 key, which "
                    "ES256 needs\n", path);
            goto free;
        }
    }

    out = BIO_new(BIO_s_mem());

    if (out == NULL || PEM_write_bio_PUBKEY(out, pkey) != 1) {
        fprintf(stderr, "keryud: ");
        admin_ssl_error("PEM_write_bio_PUBKEY");
        goto free;
    }

    n = BIO_get_mem_data(out, &data);

    *pem = malloc((size_t) n + 1);
    if (*pem == NULL) {
        fprintf(stderr, "keryud: out of memory\n");
        goto free;
    }

    memcpy(*pem, data, (size_t) n);
    (*pem)[n] = '\0';
    *pem_len = (size_t) n;

    rc = 0;

free:

    EVP_PKEY_free(pkey);
    BIO_free(in);
    BIO_free(out);

    return rc;
}


/* blocks */

static int
admin_block(conf_t *cf, int argc, char **argv)
{
    int              i, add;
    uint64_t         ttl;
    const char      *ip, *user, *ttl_s, *reason, **opt;
    admin_target_t   tg;

    if (strcmp(argv[0], "list") == 0) {
        return argc == 1 ? admin_block_list(cf) : ADMIN_USAGE;
    }

    if (strcmp(argv[0], "add") == 0) {
        add = 1;

    } else if (strcmp(argv[0], "delete") == 0) {
        add = 0;

    } else {
        return ADMIN_USAGE;
    }

    ip = NULL;
    user = NULL;
    ttl_s = NULL;
    reason = NULL;

    for (i = 1; i < argc; i += 2) {
        if (strcmp(argv[i], "--ip") == 0) {
            opt = &ip;

        } else if (strcmp(argv[i], "--user") == 0) {
            opt = &user;

        } else if (add && strcmp(argv[i], "--ttl") == 0) {
            opt = &ttl_s;

        } else if (add && strcmp(argv[i], "--reason") == 0) {
            opt = &reason;

        } else {
            return ADMIN_USAGE;
        }

        if (i + 1 == argc || *opt != NULL) {
            return ADMIN_USAGE;
        }

        *opt = argv[i + 1];
    }

    if ((ip == NULL) == (user == NULL)) {
        return ADMIN_USAGE;
    }

    if (admin_target(&tg, ip, user) == -1) {
        return 1;
    }

    if (!add) {
        return admin_block_delete(cf, &tg);
    }

    ttl = 0;

    if (ttl_s && admin_duration(ttl_s, &ttl) == -1) {
        return 1;
    }

    if (reason == NULL) {
        reason = "manual";
    }

    return admin_block_add(cf, &tg, ttl, reason);
}


static int
admin_block_add(conf_t *cf, admin_target_t *tg, uint64_t ttl,
    const char *reason)
{
    int             rc, exists;
    char            expires[TIME_STR_MAX], err[128];
    keryu_block_t   b;
    keryu_store_t   st;

    if (admin_reason_check(reason, err, sizeof(err)) == -1) {
        fprintf(stderr, "keryud: %s\n", err);
        return 1;
    }

    rc = keryu_store_open(&st, cf->store, 0, 0);
    if (rc != 0) {
        fprintf(stderr, "keryud: cannot open shared store \"%s\": %s\n",
                cf->store, keryu_store_strerror(rc));
        return 1;
    }

    rc = admin_block_put(&st, tg, ttl, reason, &b, &exists);

    keryu_store_close(&st);

    if (rc != 0) {
        fprintf(stderr, "keryud: block add failed: %s\n",
                keryu_store_strerror(rc));
        return 1;
    }

    if (ttl) {
        admin_time(b.expires_us / 1000000, expires);

    } else {
        strcpy(expires, "never");
    }

    printf("block %s %s %s, expires %s\n", tg->is_user ? "user" : "ip",
           tg->text, exists ? "replaced" : "added", expires);

    return 0;
}


int
admin_reason_check(const char *reason, char *err, size_t errlen)
{
    size_t  i, len;

    len = strlen(reason);

    if (len == 0 || len > KERYU_BLOCK_REASON_MAX) {
        snprintf(err, errlen, "reason must be 1 to %d bytes",
                 KERYU_BLOCK_REASON_MAX);
        return -1;
    }

    for (i = 0; i < len; i++) {
        if ((uint8_t) reason[i] < 0x20 || reason[i] == 0x7f) {
            snprintf(err, errlen, "reason must not hold control characters");
            return -1;
        }
    }

    if (!json_utf8_valid((const uint8_t *) reason, len)) {
        snprintf(err, errlen, "reason must be UTF-8");
        return -1;
    }

    return 0;
}


int
admin_block_put(keryu_store_t *st, const admin_target_t *tg, uint64_t ttl,
    const char *reason, keryu_block_t *b, int *exists)
{
    int       rc;
    uint8_t   value[16 + KERYU_BLOCK_REASON_MAX];
    MDB_val   key, val, old;
    MDB_txn  *txn;

    b->created_us = admin_now_us();
    b->expires_us = ttl ? b->created_us + ttl * 1000000 : 0;
    b->reason = reason;
    b->reason_len = strlen(reason);

    key.mv_size = tg->key_len;
    key.mv_data = (void *) tg->key;
    val.mv_size = keryu_block_encode(b, value);
    val.mv_data = value;

    rc = keryu_store_txn_begin(st, 0, &txn);
    if (rc != 0) {
        return rc;
    }

    *exists = 0;

    rc = mdb_get(txn, st->blocks, &key, &old);

    if (rc == 0) {
        *exists = 1;

    } else if (rc != MDB_NOTFOUND) {
        goto txn_abort;
    }

    rc = keryu_store_change(st, txn, st->blocks, &key, &val,
                            KERYU_META_BLOCK_VERSION);
    if (rc != 0) {
        goto txn_abort;
    }

    /* a failed commit has freed the transaction already */

    return mdb_txn_commit(txn);

txn_abort:

    mdb_txn_abort(txn);

    return rc;
}


static int
admin_block_list(conf_t *cf)
{
    int               rc;
    keryu_store_t     st;
    admin_list_ctx_t  ctx;

    rc = keryu_store_open(&st, cf->store, 0, 0);
    if (rc != 0) {
        fprintf(stderr, "keryud: cannot open shared store \"%s\": %s\n",
                cf->store, keryu_store_strerror(rc));
        return 1;
    }

    ctx.bad = 0;

    printf("%-4s %-43s %-20s %s\n", "TYPE", "BLOCK", "EXPIRES", "REASON");

    rc = admin_block_each(&st, admin_block_line, &ctx, &ctx.bad);

    keryu_store_close(&st);

    if (rc != 0) {
        fprintf(stderr, "keryud: block list failed: %s\n", mdb_strerror(rc));
        return 1;
    }

    if (ctx.bad) {
        fprintf(stderr, "keryud: %zu entries of blocks do not decode\n",
                ctx.bad);
    }

    return 0;
}


static int
admin_block_line(void *ctx, const admin_target_t *tg, const keryu_block_t *b)
{
    char  expires[TIME_STR_MAX], reason[ADMIN_ESC_MAX];

    (void) ctx;

    if (b->expires_us) {
        admin_time(b->expires_us / 1000000, expires);

    } else {
        strcpy(expires, "never");
    }

    admin_escape(reason, (const uint8_t *) b->reason, b->reason_len);

    printf("%-4s %-43s %-20s %s\n", tg->is_user ? "user" : "ip", tg->text,
           expires, reason);

    return 0;
}


int
admin_block_each(keryu_store_t *st, admin_block_pt handler, void *ctx,
    size_t *bad)
{
    int              rc;
    MDB_val          key, val;
    MDB_txn         *txn;
    MDB_cursor      *cur;
    keryu_block_t    b;
    admin_target_t   tg;

    rc = keryu_store_txn_begin(st, MDB_RDONLY, &txn);
    if (rc != 0) {
        return rc;
    }

    rc = mdb_cursor_open(txn, st->blocks, &cur);
    if (rc != 0) {
        mdb_txn_abort(txn);
        return rc;
    }

    *bad = 0;

    for (rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST);
         rc == 0;
         rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT))
    {
        tg.key_len = key.mv_size;

        if (key.mv_size < 2 || key.mv_size > KERYU_BLOCK_KEY_MAX
            || keryu_block_decode(&b, val.mv_data, val.mv_size) == -1)
        {
            (*bad)++;
            continue;
        }

        memcpy(tg.key, key.mv_data, key.mv_size);

        if (tg.key[0] == KERYU_BLOCK_USER) {
            tg.is_user = 1;

        } else if (tg.key[0] == KERYU_BLOCK_ADDR && key.mv_size == 18
                   && tg.key[1] <= 128)
        {
            tg.is_user = 0;

        } else {
            (*bad)++;
            continue;
        }

        admin_target_text(&tg);

        if (handler(ctx, &tg, &b) == -1) {
            break;
        }
    }

    mdb_cursor_close(cur);
    mdb_txn_abort(txn);

    if (rc != 0 && rc != MDB_NOTFOUND) {
        return rc;
    }

    return 0;
}


static int
admin_block_delete(conf_t *cf, admin_target_t *tg)
{
    int             rc;
    keryu_store_t   st;

    rc = keryu_store_open(&st, cf->store, 0, 0);
    if (rc != 0) {
        fprintf(stderr, "keryud: cannot open shared store \"%s\": %s\n",
                cf->store, keryu_store_strerror(rc));
        return 1;
    }

    rc = admin_block_remove(&st, tg);

    keryu_store_close(&st);

    if (rc == MDB_NOTFOUND) {
        fprintf(stderr, "keryud: no block of %s %s\n",
                tg->is_user ? "user" : "ip", tg->text);
        return 1;
    }

    if (rc != 0) {
        fprintf(stderr, "keryud: block delete failed: %s\n",
                keryu_store_strerror(rc));
        return 1;
    }

    printf("block %s %s deleted\n", tg->is_user ? "user" : "ip", tg->text);

    return 0;
}


int
admin_block_remove(keryu_store_t *st, const admin_target_t *tg)
{
    int       rc;
    MDB_val   key;
    MDB_txn  *txn;

    rc = keryu_store_txn_begin(st, 0, &txn);
    if (rc != 0) {
        return rc;
    }

    key.mv_size = tg->key_len;
    key.mv_data = (void *) tg->key;

    rc = keryu_store_change(st, txn, st->blocks, &key, NULL,
                            KERYU_META_BLOCK_VERSION);
    if (rc != 0) {
        mdb_txn_abort(txn);
        return rc;
    }

    return mdb_txn_commit(txn);
}


/*
 * builds the blocks key of --ip ADDR[/PREFIX] or --user NAME; an address
 * without a prefix is a host, and host bits under a prefix are cleared,
 * with a note, since the module only ever finds the masked form
 */

static int
admin_target(admin_target_t *tg, const char *ip, const char *user)
{
    int   rc;
    char  err[ADMIN_ESC_MAX + 128];

    rc = admin_target_parse(tg, ip, user, err, sizeof(err));

    if (rc != 0) {
        fprintf(stderr, "keryud: %s\n", err);
    }

    return rc == -1 ? -1 : 0;
}


int
admin_target_parse(admin_target_t *tg, const char *ip, const char *user,
    char *err, size_t errlen)
{
    int       family;
    char      addr[ADMIN_ADDR_STR_MAX], *slash, *end;
    size_t    len;
    uint8_t   a[16], masked[KERYU_BLOCK_KEY_MAX];
    unsigned  prefix, max;

    if (user) {
        tg->is_user = 1;
        tg->key_len = keryu_block_key_user(tg->key, user, strlen(user));

        if (tg->key_len == 0) {
            snprintf(err, errlen, "user name must be 1 to %d bytes",
                     KERYU_BLOCK_KEY_MAX - 1);
            return -1;
        }

        admin_target_text(tg);

        return 0;
    }

    tg->is_user = 0;

    len = strlen(ip);

    if (len >= sizeof(addr)) {
        goto invalid;
    }

    memcpy(addr, ip, len + 1);

    slash = strchr(addr, '/');

    if (slash) {
        *slash++ = '\0';
    }

    if (inet_pton(AF_INET, addr, a) == 1) {
        family = 4;
        max = 32;

    } else if (inet_pton(AF_INET6, addr, a) == 1) {
        family = 6;
        max = 128;

    } else {
        goto invalid;
    }

    prefix = max;

    if (slash) {

        /* digits only: no sign, no space, no leading zero */

        if (slash[0] < '0' || slash[0] > '9' || strlen(slash) > 3
            || (slash[0] == '0' && slash[1] != '\0'))
        {
            goto invalid;
        }

        prefix = (unsigned) strtoul(slash, &end, 10);

        if (*end != '\0' || prefix > max) {
            goto invalid;
        }
    }

    tg->key_len = keryu_block_key_addr(tg->key, family, a, prefix);

    /* the same key without masking tells whether host bits were set */

    keryu_block_key_addr(masked, family, a, family == 4 ? 32 : 128);

    admin_target_text(tg);

    if (memcmp(masked + 2, tg->key + 2, 16) != 0) {
        snprintf(err, errlen, "%s has host bits set, using %s", ip,
                 tg->text);
        return 1;
    }

    return 0;

invalid:

    snprintf(err, errlen, "invalid address \"%.64s\", expecting ADDR or "
             "ADDR/PREFIX, IPv4 or IPv6", ip);

    return -1;
}


/* the printable form of a stored key: IPv4 for a mapped /96 or longer */

static void
admin_target_text(admin_target_t *tg)
{
    char            buf[INET6_ADDRSTRLEN];
    unsigned        prefix;
    const uint8_t  *a;

    static const uint8_t  mapped[12] = {
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
    };

    if (tg->is_user) {
        admin_escape(tg->text, tg->key + 1, tg->key_len - 1);
        return;
    }

    prefix = tg->key[1];
    a = tg->key + 2;

    if (prefix >= 96 && memcmp(a, mapped, 12) == 0) {
        inet_ntop(AF_INET, a + 12, buf, sizeof(buf));
        prefix -= 96;

    } else {
        inet_ntop(AF_INET6, a, buf, sizeof(buf));
    }

    snprintf(tg->text, sizeof(tg->text), "%s/%u", buf, prefix);
}


/* API keys */

static int
admin_apikey(conf_t *cf, int argc, char **argv)
{
    int          i;
    char         err[2 * TOKEN_NAME_MAX + 128];
    size_t       n;
    uint64_t     ttl;
    const char  *name, *ttl_s, *field, *roles[ADMIN_ROLES_MAX];

    if (strcmp(argv[0], "list") == 0) {
        return argc == 1 ? admin_apikey_list(cf) : ADMIN_USAGE;
    }

    if (strcmp(argv[0], "revoke") == 0) {
        return argc == 2 ? admin_apikey_revoke(cf, argv[1]) : ADMIN_USAGE;
    }

    if (strcmp(argv[0], "create") != 0) {
        return ADMIN_USAGE;
    }

    name = NULL;
    ttl_s = NULL;
    n = 0;

    for (i = 1; i < argc; i += 2) {
        if (i + 1 == argc) {
            return ADMIN_USAGE;
        }

        if (strcmp(argv[i], "--name") == 0 && name == NULL) {
            name = argv[i + 1];

        } else if (strcmp(argv[i], "--ttl") == 0 && ttl_s == NULL) {
            ttl_s = argv[i + 1];

        } else if (strcmp(argv[i], "--role") == 0) {
            if (n == ADMIN_ROLES_MAX) {
                fprintf(stderr, "keryud: more than %d roles\n",
                        ADMIN_ROLES_MAX);
                return 1;
            }

            roles[n++] = argv[i + 1];

        } else {
            return ADMIN_USAGE;
        }
    }

    if (name == NULL || n == 0) {
        return ADMIN_USAGE;
    }

    if (admin_apikey_check(name, roles, n, err, sizeof(err), &field) == -1) {
        fprintf(stderr, "keryud: %s\n", err);
        return 1;
    }

    ttl = 0;

    if (ttl_s && admin_duration(ttl_s, &ttl) == -1) {
        return 1;
    }

    return admin_apikey_create(cf, name, roles, n, ttl);
}


static int
admin_apikey_create(conf_t *cf, const char *name, const char **roles,
    size_t nroles, uint64_t ttl)
{
    int                  rc;
    char                 apikey[ADMIN_APIKEY_LEN + 1];
    keryu_store_t        st;
    admin_apikey_info_t  ai;

    rc = keryu_store_open(&st, cf->store, 0, 0);
    if (rc != 0) {
        fprintf(stderr, "keryud: cannot open shared store \"%s\": %s\n",
                cf->store, keryu_store_strerror(rc));
        return 1;
    }

    rc = admin_apikey_put(&st, name, roles, nroles, ttl, apikey, &ai);

    keryu_store_close(&st);

    if (rc == 0) {
        printf("%s\n", apikey);
        fflush(stdout);
        OPENSSL_cleanse(apikey, sizeof(apikey));
        return 0;
    }

    if (rc == -1) {
        fprintf(stderr, "keryud: cannot make an apikey: ");
        admin_ssl_error("RAND_bytes");

    } else if (rc == MDB_KEYEXIST) {
        fprintf(stderr, "keryud: apikey \"%s\" exists already\n", name);

    } else {
        fprintf(stderr, "keryud: apikey create failed: %s\n",
                keryu_store_strerror(rc));
    }

    return 1;
}


int
admin_apikey_check(const char *name, const char *const *roles,
    size_t nroles, char *err, size_t errlen, const char **field)
{
    size_t  k, m;

    if (!token_name_valid(name)) {
        snprintf(err, errlen, "invalid apikey name \"%s\", expecting 1 to "
                 "%d of A-Z a-z 0-9 . _ -", name, TOKEN_NAME_MAX);
        *field = "name";
        return -1;
    }

    *field = "roles";

    if (nroles == 0) {
        snprintf(err, errlen, "no role");
        return -1;
    }

    if (nroles > ADMIN_ROLES_MAX) {
        snprintf(err, errlen, "more than %d roles", ADMIN_ROLES_MAX);
        return -1;
    }

    for (k = 0; k < nroles; k++) {
        if (!token_name_valid(roles[k])) {
            snprintf(err, errlen, "invalid role \"%s\", expecting 1 to %d "
                     "of A-Z a-z 0-9 . _ -", roles[k], TOKEN_NAME_MAX);
            return -1;
        }

        for (m = 0; m < k; m++) {
            if (strcmp(roles[m], roles[k]) == 0) {
                snprintf(err, errlen, "role \"%s\" given twice", roles[k]);
                return -1;
            }
        }
    }

    return 0;
}


int
admin_apikey_put(keryu_store_t *st, const char *name,
    const char *const *roles, size_t nroles, uint64_t ttl,
    char apikey[ADMIN_APIKEY_LEN + 1], admin_apikey_info_t *ai)
{
    int             rc;
    char           *p, out[ADMIN_APIKEY_LEN + 8];
    size_t          i, len;
    json_t         *j;
    uint8_t         rnd[ADMIN_APIKEY_RAND], hash[SHA256_DIGEST_LENGTH];
    MDB_val         key, val;
    MDB_txn        *txn;
    uint64_t        now;
    const uint8_t  *buf;

    if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
        return -1;
    }

    /* EVP_EncodeBlock() writes the padding and a NUL past the key */

    memcpy(out, ADMIN_APIKEY_PREFIX, sizeof(ADMIN_APIKEY_PREFIX) - 1);
    len = sizeof(ADMIN_APIKEY_PREFIX) - 1;
    len += admin_base64url(out + len, rnd, sizeof(rnd));
    memcpy(apikey, out, len + 1);

    OPENSSL_cleanse(rnd, sizeof(rnd));
    OPENSSL_cleanse(out, sizeof(out));

    SHA256((const unsigned char *) apikey, len, hash);

    now = (uint64_t) time(NULL);

    snprintf(ai->name, sizeof(ai->name), "%s", name);
    ai->expires = ttl != 0;
    ai->expires_at = ttl ? now + ttl : 0;
    ai->created_at = now;

    p = ai->roles;
    *p = '\0';

    j = json_new();
    if (j == NULL) {
        rc = ENOMEM;
        goto wipe;
    }

    json_map_open(j);
    json_key(j, "name");
    json_cstring(j, name);
    json_key(j, "roles");
    json_array_open(j);

    for (i = 0; i < nroles; i++) {
        json_cstring(j, roles[i]);

        /* admin_apikey_check() bounds the roles, so they fit */

        p += sprintf(p, "%s%s", i ? "," : "", roles[i]);
    }

    json_array_close(j);
    json_key(j, "expires_at");

    if (ttl) {
        json_uint(j, now + ttl);

    } else {
        json_null(j);
    }

    json_key(j, "created_at");
    json_uint(j, now);
    json_map_close(j);

    if (json_result(j, &buf, &len) != 0) {
        rc = ENOMEM;
        goto wipe;
    }

    rc = keryu_store_txn_begin(st, 0, &txn);
    if (rc != 0) {
        goto wipe;
    }

    rc = admin_apikey_find(st, txn, name, NULL);

    if (rc == 0) {
        rc = MDB_KEYEXIST;
        goto txn_abort;
    }

    if (rc != MDB_NOTFOUND) {
        goto txn_abort;
    }

    key.mv_size = sizeof(hash);
    key.mv_data = hash;
    val.mv_size = len;
    val.mv_data = (void *) buf;

    rc = keryu_store_change(st, txn, st->apikeys, &key, &val,
                            KERYU_META_CONFIG_VERSION);
    if (rc != 0) {
        goto txn_abort;
    }

    /* a failed commit has freed the transaction already */

    rc = mdb_txn_commit(txn);

    goto wipe;

txn_abort:

    mdb_txn_abort(txn);

wipe:

    json_free(j);

    if (rc != 0) {
        OPENSSL_cleanse(apikey, ADMIN_APIKEY_LEN + 1);
    }

    return rc;
}


static int
admin_apikey_list(conf_t *cf)
{
    char  header[128];

    snprintf(header, sizeof(header), "%-24s %-24s %-20s %-20s %s\n", "NAME",
             "ROLES", "EXPIRES", "CREATED", "HASH");

    return admin_list(cf, offsetof(keryu_store_t, apikeys), "apikey", header,
                      admin_apikey_row, NULL);
}


static void
admin_apikey_row(void *ctx, const MDB_val *key, const MDB_val *val)
{
    char                 expires[TIME_STR_MAX], created[TIME_STR_MAX];
    const uint8_t       *h;
    admin_apikey_info_t  ai;

    (void) ctx;

    if (key->mv_size != SHA256_DIGEST_LENGTH) {
        return;
    }

    h = key->mv_data;

    if (admin_apikey_read(val, &ai) == -1) {
        printf("%-24s %-24s %-20s %-20s %02x%02x%02x%02x\n", "?", "?",
               "?", "?", h[0], h[1], h[2], h[3]);
        return;
    }

    if (ai.expires) {
        admin_time(ai.expires_at, expires);

    } else {
        strcpy(expires, "never");
    }

    admin_time(ai.created_at, created);

    printf("%-24s %-24s %-20s %-20s %02x%02x%02x%02x\n", ai.name,
           ai.roles, expires, created, h[0], h[1], h[2], h[3]);
}


int
admin_apikey_each(keryu_store_t *st, admin_apikey_pt handler, void *ctx,
    size_t *bad)
{
    int                  rc;
    MDB_val              key, val;
    MDB_txn             *txn;
    MDB_cursor          *cur;
    admin_apikey_info_t  ai;

    *bad = 0;

    rc = keryu_store_txn_begin(st, MDB_RDONLY, &txn);
    if (rc != 0) {
        return rc;
    }

    rc = mdb_cursor_open(txn, st->apikeys, &cur);
    if (rc != 0) {
        mdb_txn_abort(txn);
        return rc;
    }

    for (rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST);
         rc == 0;
         rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT))
    {
        if (key.mv_size != SHA256_DIGEST_LENGTH
            || admin_apikey_read(&val, &ai) == -1)
        {
            (*bad)++;
            continue;
        }

        if (handler(ctx, &ai) == -1) {
            rc = MDB_NOTFOUND;
            break;
        }
    }

    mdb_cursor_close(cur);
    mdb_txn_abort(txn);

    return rc == MDB_NOTFOUND ? 0 : rc;
}


static int
admin_apikey_revoke(conf_t *cf, const char *name)
{
    int                  rc;
    keryu_store_t        st;
    admin_apikey_info_t  ai;

    rc = keryu_store_open(&st, cf->store, 0, 0);
    if (rc != 0) {
        fprintf(stderr, "keryud: cannot open shared store \"%s\": %s\n",
                cf->store, keryu_store_strerror(rc));
        return 1;
    }

    rc = admin_apikey_remove(&st, name, &ai);

    keryu_store_close(&st);

    if (rc == MDB_NOTFOUND) {
        fprintf(stderr, "keryud: no apikey \"%s\"\n", name);
        return 1;
    }

    if (rc != 0) {
        fprintf(stderr, "keryud: apikey revoke failed: %s\n",
                keryu_store_strerror(rc));
        return 1;
    }

    printf("apikey %s revoked\n", name);

    return 0;
}


int
admin_apikey_remove(keryu_store_t *st, const char *name,
    admin_apikey_info_t *ai)
{
    int       rc;
    uint8_t   hash[SHA256_DIGEST_LENGTH];
    MDB_val   key, val;
    MDB_txn  *txn;

    rc = keryu_store_txn_begin(st, 0, &txn);
    if (rc != 0) {
        return rc;
    }

    rc = admin_apikey_find(st, txn, name, hash);
    if (rc != 0) {
        goto txn_abort;
    }

    key.mv_size = sizeof(hash);
    key.mv_data = hash;

    if (ai) {
        rc = mdb_get(txn, st->apikeys, &key, &val);
        if (rc != 0 || admin_apikey_read(&val, ai) == -1) {
            rc = rc ? rc : MDB_CORRUPTED;
            goto txn_abort;
        }
    }

    rc = keryu_store_change(st, txn, st->apikeys, &key, NULL,
                            KERYU_META_CONFIG_VERSION);
    if (rc != 0) {
        goto txn_abort;
    }

    /* a failed commit has freed the transaction already */

    return mdb_txn_commit(txn);

txn_abort:

    mdb_txn_abort(txn);

    return rc;
}


/*
 * finds the API key called name; returns 0 with a copy of its hash (when
 * hash is not NULL), MDB_NOTFOUND, or an LMDB code
 */

static int
admin_apikey_find(keryu_store_t *st, MDB_txn *txn, const char *name,
    uint8_t hash[SHA256_DIGEST_LENGTH])
{
    int                  rc;
    MDB_val              key, val;
    MDB_cursor          *cur;
    admin_apikey_info_t  ai;

    rc = mdb_cursor_open(txn, st->apikeys, &cur);
    if (rc != 0) {
        return rc;
    }

    for (rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST);
         rc == 0;
         rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT))
    {
        if (key.mv_size == SHA256_DIGEST_LENGTH
            && admin_apikey_read(&val, &ai) == 0
            && strcmp(ai.name, name) == 0)
        {
            if (hash) {
                memcpy(hash, key.mv_data, SHA256_DIGEST_LENGTH);
            }

            break;
        }
    }

    mdb_cursor_close(cur);

    return rc;
}


/* clients of signed requests (keryu_sign.h) */

static int
admin_client(conf_t *cf, int argc, char **argv)
{
    int          i;
    size_t       k, m, n;
    const char  *id, *secret_file, *roles[ADMIN_ROLES_MAX];

    if (strcmp(argv[0], "list") == 0) {
        return argc == 1 ? admin_client_list(cf) : ADMIN_USAGE;
    }

    if (strcmp(argv[0], "delete") == 0) {
        return argc == 2 ? admin_delete(cf, offsetof(keryu_store_t, clients),
                                        "client", argv[1])
                         : ADMIN_USAGE;
    }

    if (strcmp(argv[0], "add") != 0) {
        return ADMIN_USAGE;
    }

    id = NULL;
    secret_file = NULL;
    n = 0;

    for (i = 1; i < argc; i += 2) {
        if (i + 1 == argc) {
            return ADMIN_USAGE;
        }

        if (strcmp(argv[i], "--id") == 0 && id == NULL) {
            id = argv[i + 1];

        } else if (strcmp(argv[i], "--secret-file") == 0
                   && secret_file == NULL)
        {
            secret_file = argv[i + 1];

        } else if (strcmp(argv[i], "--role") == 0) {
            if (n == ADMIN_ROLES_MAX) {
                fprintf(stderr, "keryud: more than %d roles\n",
                        ADMIN_ROLES_MAX);
                return 1;
            }

            roles[n++] = argv[i + 1];

        } else {
            return ADMIN_USAGE;
        }
    }

    if (id == NULL || secret_file == NULL || n == 0) {
        return ADMIN_USAGE;
    }

    if (!token_name_valid(id)) {
        fprintf(stderr, "keryud: invalid client id \"%s\", expecting 1 to %d "
                "of A-Z a-z 0-9 . _ -\n", id, TOKEN_NAME_MAX);
        return 1;
    }

    for (k = 0; k < n; k++) {
        if (!token_name_valid(roles[k])) {
            fprintf(stderr, "keryud: invalid role \"%s\", expecting 1 to %d "
                    "of A-Z a-z 0-9 . _ -\n", roles[k], TOKEN_NAME_MAX);
            return 1;
        }

        for (m = 0; m < k; m++) {
            if (strcmp(roles[m], roles[k]) == 0) {
                fprintf(stderr, "keryud: role \"%s\" given twice\n",
                        roles[k]);
                return 1;
            }
        }
    }

    return admin_client_add(cf, id, roles, n, secret_file);
}


/*
 * the secret is the file's bytes, as for an HS256 key: 32 to
 * ADMIN_SECRET_MAX of them, one trailing newline dropped
 */

static int
admin_client_add(conf_t *cf, const char *id, const char **roles,
    size_t nroles, const char *secret_file)
{
    int             rc, status;
    char            b64[4 * ((ADMIN_SECRET_MAX + 2) / 3) + 1];
    size_t          i, len, b64_len;
    json_t         *j;
    uint8_t         secret[ADMIN_SECRET_MAX + 1];
    MDB_val         key, val;
    MDB_txn        *txn;
    const uint8_t  *buf;
    keryu_store_t   st;

    status = 1;
    j = NULL;
    b64_len = 0;

    if (admin_secret_read(secret_file, secret, &len) == -1) {
        goto wipe;
    }

    b64_len = admin_base64url(b64, secret, len);

    j = json_new();
    if (j == NULL) {
        fprintf(stderr, "keryud: out of memory\n");
        goto wipe;
    }

    json_map_open(j);
    json_key(j, "id");
    json_cstring(j, id);
    json_key(j, "secret");
    json_string(j, (uint8_t *) b64, b64_len);
    json_key(j, "roles");
    json_array_open(j);

    for (i = 0; i < nroles; i++) {
        json_cstring(j, roles[i]);
    }

    json_array_close(j);
    json_key(j, "created_at");
    json_uint(j, (uint64_t) time(NULL));
    json_map_close(j);

    if (admin_json(j, &buf, &len) == -1) {
        goto wipe;
    }

    if (admin_open(cf, &st, 0, &txn) == -1) {
        goto wipe;
    }

    key.mv_size = strlen(id);
    key.mv_data = (void *) id;

    rc = mdb_get(txn, st.clients, &key, &val);

    if (rc == 0) {
        fprintf(stderr, "keryud: client \"%s\" exists already\n", id);
        goto txn_abort;
    }

    if (rc != MDB_NOTFOUND) {
        goto failed;
    }

    val.mv_size = len;
    val.mv_data = (void *) buf;

    rc = keryu_store_change(&st, txn, st.clients, &key, &val,
                            KERYU_META_CONFIG_VERSION);
    if (rc != 0) {
        goto failed;
    }

    if (admin_commit(&st, txn) == 0) {
        printf("client %s added\n", id);
        status = 0;
    }

    goto wipe;

failed:

    fprintf(stderr, "keryud: client add failed: %s\n",
            keryu_store_strerror(rc));

txn_abort:

    mdb_txn_abort(txn);
    keryu_store_close(&st);

wipe:

    if (j && json_result(j, &buf, &len) == 0) {
        OPENSSL_cleanse((void *) buf, len);
    }

    json_free(j);

    OPENSSL_cleanse(secret, sizeof(secret));
    OPENSSL_cleanse(b64, sizeof(b64));

    return status;
}


static int
admin_client_list(conf_t *cf)
{
    int    rc;
    char   header[128], *text;

    text = malloc(ADMIN_VALUE_MAX + 1);
    if (text == NULL) {
        fprintf(stderr, "keryud: out of memory\n");
        return 1;
    }

    snprintf(header, sizeof(header), "%-32s %-32s %s\n", "ID", "ROLES",
             "CREATED");

    rc = admin_list(cf, offsetof(keryu_store_t, clients), "client", header,
                    admin_client_row, text);

    OPENSSL_cleanse(text, ADMIN_VALUE_MAX + 1);
    free(text);

    return rc;
}


/* ctx is a buffer of ADMIN_VALUE_MAX + 1 bytes for the parsed record */

static void
admin_client_row(void *ctx, const MDB_val *key, const MDB_val *val)
{
    char                *text = ctx;

    char                 id[ADMIN_ESC_MAX], created[TIME_STR_MAX];
    char                 roles[ADMIN_ROLES_MAX * (TOKEN_NAME_MAX + 1)];
    size_t               i, n;
    keryu_apikey_rec_t   rec;

    admin_escape(id, key->mv_data,
                 key->mv_size < KERYU_BLOCK_KEY_MAX ? key->mv_size
                                                    : KERYU_BLOCK_KEY_MAX);

    /* the secret is read too, wiped once the list is done, never shown */

    if (val->mv_size > ADMIN_VALUE_MAX
        || keryu_apikey_rec_parse(&rec, val->mv_data, val->mv_size, text)
           != 0
        || !(rec.fields & KERYU_APIKEY_F_CREATED))
    {
        printf("%-32s %-32s %s\n", id, "?", "?");
        return;
    }

    roles[0] = '\0';
    n = 0;

    for (i = 0; i < rec.nroles && i < ADMIN_ROLES_MAX; i++) {
        if (rec.role_lens[i] > TOKEN_NAME_MAX) {
            continue;
        }

        n += (size_t) snprintf(roles + n, sizeof(roles) - n, "%s%s",
                               n ? "," : "", rec.roles[i]);
    }

    admin_time(rec.created_at, created);

    printf("%-32s %-32s %s\n", id, roles, created);
}


/* the store */

/* opens the shared store and begins a transaction; -1 after a message */

static int
admin_open(conf_t *cf, keryu_store_t *st, unsigned flags, MDB_txn **txn)
{
    int  rc;

    rc = keryu_store_open(st, cf->store, 0, 0);
    if (rc != 0) {
        fprintf(stderr, "keryud: cannot open shared store \"%s\": %s\n",
                cf->store, keryu_store_strerror(rc));
        return -1;
    }

    rc = keryu_store_txn_begin(st, flags, txn);
    if (rc != 0) {
        fprintf(stderr, "keryud: mdb_txn_begin() failed: %s\n",
                keryu_store_strerror(rc));
        keryu_store_close(st);
        return -1;
    }

    return 0;
}


/* commits and closes the store; -1 after a message */

static int
admin_commit(keryu_store_t *st, MDB_txn *txn)
{
    int  rc;

    /* a failed commit has freed the transaction already */

    rc = mdb_txn_commit(txn);

    keryu_store_close(st);

    if (rc != 0) {
        fprintf(stderr, "keryud: mdb_txn_commit() failed: %s\n",
                keryu_store_strerror(rc));
        return -1;
    }

    return 0;
}


/* helpers */

static int
admin_json(json_t *j, const uint8_t **buf, size_t *len)
{
    if (json_result(j, buf, len) == -1) {
        fprintf(stderr, "keryud: %s\n", json_error(j));
        return -1;
    }

    return 0;
}


/* a number of seconds with an optional unit: s (the default), m, h or d */

static int
admin_duration(const char *s, uint64_t *sec)
{
    if (admin_duration_parse(s, sec) == -1) {
        fprintf(stderr, "keryud: invalid duration \"%s\", expecting 1s to "
                "3650d, as 30s, 15m, 1h or 7d\n", s);
        return -1;
    }

    return 0;
}


int
admin_duration_parse(const char *s, uint64_t *sec)
{
    char      *end;
    uint64_t   n, scale;

    if (s[0] < '0' || s[0] > '9') {
        goto invalid;
    }

    errno = 0;
    n = strtoull(s, &end, 10);

    if (errno != 0) {
        goto invalid;
    }

    if (*end == '\0' || strcmp(end, "s") == 0) {
        scale = 1;

    } else if (strcmp(end, "m") == 0) {
        scale = 60;

    } else if (strcmp(end, "h") == 0) {
        scale = 3600;

    } else if (strcmp(end, "d") == 0) {
        scale = 86400;

    } else {
        goto invalid;
    }

    if (n == 0 || n > ADMIN_TTL_MAX / scale) {
        goto invalid;
    }

    *sec = n * scale;

    return 0;

invalid:

    return -1;
}


/* 1 to ADMIN_KID_MAX printable characters but space, '"' and '\' */

static int
admin_kid_valid(const char *kid)
{
    size_t  i, len;

    len = strlen(kid);

    if (len == 0 || len > ADMIN_KID_MAX) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        if (kid[i] <= 0x20 || kid[i] >= 0x7f || kid[i] == '"'
            || kid[i] == '\\')
        {
            return 0;
        }
    }

    return 1;
}


/* unpadded base64url; out has room for 4 * ((len + 2) / 3) + 1 bytes */

static size_t
admin_base64url(char *out, const uint8_t *in, size_t len)
{
    int  i, n;

    n = EVP_EncodeBlock((unsigned char *) out, in, (int) len);

    while (n > 0 && out[n - 1] == '=') {
        n--;
    }

    for (i = 0; i < n; i++) {
        if (out[i] == '+') {
            out[i] = '-';

        } else if (out[i] == '/') {
            out[i] = '_';
        }
    }

    out[n] = '\0';

    return (size_t) n;
}


/* printable ASCII as it is, "\" and any other byte as \xNN */

static size_t
admin_escape(char *out, const uint8_t *in, size_t len)
{
    char    *p;
    size_t   i;

    static const char  hex[] = "0123456789abcdef";

    p = out;

    for (i = 0; i < len; i++) {
        if (in[i] >= 0x20 && in[i] < 0x7f && in[i] != '\\') {
            *p++ = (char) in[i];
            continue;
        }

        *p++ = '\\';
        *p++ = 'x';
        *p++ = hex[in[i] >> 4];
        *p++ = hex[in[i] & 0xf];
    }

    *p = '\0';

    return (size_t) (p - out);
}


/* RFC 3339 in UTC, to the second */

void
admin_time(uint64_t sec, char buf[TIME_STR_MAX])
{
    if (time_format(sec * 1000000, buf) < 20) {
        strcpy(buf, "?");
        return;
    }

    buf[19] = 'Z';
    buf[20] = '\0';
}


static uint64_t
admin_now_us(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_REALTIME, &ts);

    return (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;
}


/*
 * ends a line of stderr that the caller began with the call that failed
 * and OpenSSL's error queue, which it drains
 */

static void
admin_ssl_error(const char *call)
{
    char           buf[256];
    unsigned long  e;

    fprintf(stderr, "%s() failed", call);

    while ((e = ERR_get_error()) != 0) {
        ERR_error_string_n(e, buf, sizeof(buf));
        fprintf(stderr, " (SSL: %s)", buf);
    }

    fprintf(stderr, "\n");
}


/*
 * TODO: the readers below belong in json.c, the one file meant to see
 * yajl; json.c only writes JSON so far
 */

static int
admin_key_read(const MDB_val *val, admin_key_info_t *ki)
{
    yajl_val     tree, v;
    const char  *alg;

    static const char  *alg_path[] = { "alg", NULL };
    static const char  *created_path[] = { "created_at", NULL };

    tree = admin_json_parse(val);
    if (tree == NULL) {
        return -1;
    }

    alg = YAJL_GET_STRING(yajl_tree_get(tree, alg_path, yajl_t_string));
    v = yajl_tree_get(tree, created_path, yajl_t_number);

    if (alg == NULL || strlen(alg) >= sizeof(ki->alg) || !YAJL_IS_INTEGER(v)
        || YAJL_GET_INTEGER(v) < 0)
    {
        yajl_tree_free(tree);
        return -1;
    }

    strcpy(ki->alg, alg);
    ki->created_at = (uint64_t) YAJL_GET_INTEGER(v);

    yajl_tree_free(tree);

    return 0;
}


int
admin_key_info(const MDB_val *val, char *alg, size_t alglen,
    uint64_t *created_at)
{
    admin_key_info_t  ki;

    if (admin_key_read(val, &ki) == -1 || strlen(ki.alg) >= alglen) {
        return -1;
    }

    strcpy(alg, ki.alg);
    *created_at = ki.created_at;

    return 0;
}


static int
admin_apikey_read(const MDB_val *val, admin_apikey_info_t *ai)
{
    char         *p;
    size_t        i, len;
    yajl_val      tree, v, roles;
    const char   *s;

    static const char  *name_path[] = { "name", NULL };
    static const char  *roles_path[] = { "roles", NULL };
    static const char  *expires_path[] = { "expires_at", NULL };
    static const char  *created_path[] = { "created_at", NULL };

    tree = admin_json_parse(val);
    if (tree == NULL) {
        return -1;
    }

    s = YAJL_GET_STRING(yajl_tree_get(tree, name_path, yajl_t_string));

    if (s == NULL || !token_name_valid(s)) {
        goto invalid;
    }

    strcpy(ai->name, s);

    roles = yajl_tree_get(tree, roles_path, yajl_t_array);

    if (roles == NULL || roles->u.array.len > ADMIN_ROLES_MAX) {
        goto invalid;
    }

    p = ai->roles;
    *p = '\0';

    for (i = 0; i < roles->u.array.len; i++) {
        s = YAJL_GET_STRING(roles->u.array.values[i]);

        if (s == NULL || !token_name_valid(s)) {
            goto invalid;
        }

        len = strlen(s);

        /* TOKEN_NAME_MAX + 1 per role, the comma included, always fits */

        if (i) {
            *p++ = ',';
        }

        memcpy(p, s, len + 1);
        p += len;
    }

    v = yajl_tree_get(tree, expires_path, yajl_t_any);

    if (YAJL_IS_NULL(v)) {
        ai->expires = 0;
        ai->expires_at = 0;

    } else if (YAJL_IS_INTEGER(v) && YAJL_GET_INTEGER(v) >= 0) {
        ai->expires = 1;
        ai->expires_at = (uint64_t) YAJL_GET_INTEGER(v);

    } else {
        goto invalid;
    }

    v = yajl_tree_get(tree, created_path, yajl_t_number);

    if (!YAJL_IS_INTEGER(v) || YAJL_GET_INTEGER(v) < 0) {
        goto invalid;
    }

    ai->created_at = (uint64_t) YAJL_GET_INTEGER(v);

    yajl_tree_free(tree);

    return 0;

invalid:

    yajl_tree_free(tree);

    return -1;
}


/* parses a stored value that should be a JSON object, or returns NULL */

static yajl_val
admin_json_parse(const MDB_val *val)
{
    char      *buf;
    yajl_val   tree;

    if (val->mv_size == 0 || val->mv_size > ADMIN_VALUE_MAX
        || memchr(val->mv_data, '\0', val->mv_size) != NULL)
    {
        return NULL;
    }

    /* yajl_tree_parse() wants a NUL-terminated string */

    buf = malloc(val->mv_size + 1);
    if (buf == NULL) {
        return NULL;
    }

    memcpy(buf, val->mv_data, val->mv_size);
    buf[val->mv_size] = '\0';

    tree = yajl_tree_parse(buf, NULL, 0);

    free(buf);

    if (!YAJL_IS_OBJECT(tree)) {
        yajl_tree_free(tree);
        return NULL;
    }

    return tree;
}
