/*
 * Copyright (C) Keryu Security
 *
 * TLS for the HTTP API.  tls_new() builds one server context from the
 * "tls_certificate" and "tls_key" files: TLS 1.2 and later, with only
 * forward-secret AEAD ciphers under TLS 1.2 (no CBC, whose padding checks
 * keep timing attacks such as Lucky 13 possible), the server's cipher
 * order, no compression and no renegotiation.  tls_bufferevent()
 * then gives evhttp a TLS bufferevent for each connection it accepts.
 *
 * The key file must be a regular file that gives group and others no
 * access at all, as ssh asks of its keys; anything else is refused before
 * it is read.  It is read whole into memory that is wiped once OpenSSL
 * has parsed it, and a key that needs a passphrase is refused rather than
 * prompted for.
 */


#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/http.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include "log.h"
#include "tls.h"


#define TLS_KEY_MAX  (64 * 1024)
#define TLS_ERR_MAX  512

/* TLS 1.2 only; TLS 1.3's own suites are all AEAD and left as they are */
#define TLS_CIPHERS_12                                                    \
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"          \
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"          \
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256"


struct tls_s {
    SSL_CTX            *ctx;
};


static int tls_key_use(SSL_CTX *ctx, const char *path);
static int tls_no_passphrase(char *buf, int size, int rwflag, void *u);
static const char *tls_errors(char *buf, size_t len);


tls_t *
tls_new(const char *cert, const char *key)
{
    char      errs[TLS_ERR_MAX];
    tls_t    *tls;
    SSL_CTX  *ctx;

    tls = calloc(1, sizeof(tls_t));
    if (tls == NULL) {
        log_warn("%s: calloc", __func__);
        return NULL;
    }

    ERR_clear_error();

    ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == NULL) {
        log_warnx("SSL_CTX_new() failed%s", tls_errors(errs, sizeof(errs)));
        goto tls_free;
    }

    if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) {
        log_warnx("SSL_CTX_set_min_proto_version() failed%s",
                  tls_errors(errs, sizeof(errs)));
        goto ctx_free;
    }

    if (SSL_CTX_set_cipher_list(ctx, TLS_CIPHERS_12) != 1) {
        log_warnx("SSL_CTX_set_cipher_list() failed%s",
                  tls_errors(errs, sizeof(errs)));
        goto ctx_free;
    }

    SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION
                             | SSL_OP_CIPHER_SERVER_PREFERENCE);

    if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
        log_warnx("cannot load tls_certificate \"%s\": "
                  "SSL_CTX_use_certificate_chain_file() failed%s", cert,
                  tls_errors(errs, sizeof(errs)));
        goto ctx_free;
    }

    if (tls_key_use(ctx, key) == -1) {
        goto ctx_free;
    }

    if (SSL_CTX_check_private_key(ctx) != 1) {
        log_warnx("tls_key \"%s\" does not match tls_certificate \"%s\"%s",
                  key, cert, tls_errors(errs, sizeof(errs)));
        goto ctx_free;
    }

    tls->ctx = ctx;

    return tls;

ctx_free:

    SSL_CTX_free(ctx);

tls_free:

    free(tls);

    return NULL;
}


void
tls_free(tls_t *tls)
{
    if (tls == NULL) {
        return;
    }

    SSL_CTX_free(tls->ctx);
    free(tls);
}


/*
 * libevent 2.1 gives a connection whose callback returned NULL a plain
 * bufferevent; api.c checks tls_request() so that such a connection is
 * never answered in the clear
 */

struct bufferevent *
tls_bufferevent(struct event_base *base, void *arg)
{
    tls_t  *tls = arg;

    SSL                 *ssl;
    char                 errs[TLS_ERR_MAX];
    struct bufferevent  *bev;

    ssl = SSL_new(tls->ctx);
    if (ssl == NULL) {
        log_warnx("SSL_new() failed%s", tls_errors(errs, sizeof(errs)));
        return NULL;
    }

    /* on failure, BEV_OPT_CLOSE_ON_FREE makes libevent free ssl too */

    bev = bufferevent_openssl_socket_new(base, -1, ssl,
                                         BUFFEREVENT_SSL_ACCEPTING,
                                         BEV_OPT_CLOSE_ON_FREE);
    if (bev == NULL) {
        log_warnx("bufferevent_openssl_socket_new() failed");
        return NULL;
    }

    return bev;
}


int
tls_request(struct evhttp_request *req)
{
    struct bufferevent        *bev;
    struct evhttp_connection  *evcon;

    evcon = evhttp_request_get_connection(req);
    if (evcon == NULL) {
        return 0;
    }

    bev = evhttp_connection_get_bufferevent(evcon);

    return bev != NULL && bufferevent_openssl_get_ssl(bev) != NULL;
}


/* reads the key file itself, so that its mode is checked on what is read */

static int
tls_key_use(SSL_CTX *ctx, const char *path)
{
    int             fd, rc;
    BIO            *bio;
    char            errs[TLS_ERR_MAX];
    size_t          len;
    ssize_t         n;
    EVP_PKEY       *pkey;
    struct stat     st;
    unsigned char  *buf;

    rc = -1;

    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd == -1) {
        log_warn("cannot load tls_key \"%s\"", path);
        return -1;
    }

    if (fstat(fd, &st) == -1) {
        log_warn("cannot load tls_key \"%s\": fstat()", path);
        goto fd_close;
    }

    if (!S_ISREG(st.st_mode)) {
        log_warnx("cannot load tls_key \"%s\": not a regular file", path);
        goto fd_close;
    }

    if (st.st_mode & (S_IRWXG | S_IRWXO)) {
        log_warnx("cannot load tls_key \"%s\": mode %04o gives group or "
                  "others access, expecting 0600 or 0400", path,
                  (unsigned) (st.st_mode & 07777));
        goto fd_close;
    }

    buf = malloc(TLS_KEY_MAX + 1);
    if (buf == NULL) {
        log_warn("%s: malloc", __func__);
        goto fd_close;
    }

    len = 0;

    for ( ;; ) {
        n = read(fd, buf + len, TLS_KEY_MAX + 1 - len);

        if (n == -1 && errno == EINTR) {
            continue;
        }

        if (n == -1) {
            log_warn("cannot load tls_key \"%s\": read()", path);
            goto buf_free;
        }

        if (n == 0) {
            break;
        }

        len += (size_t) n;

        if (len > TLS_KEY_MAX) {
            log_warnx("cannot load tls_key \"%s\": file is too large", path);
            goto buf_free;
        }
    }

    bio = BIO_new_mem_buf(buf, (int) len);
    if (bio == NULL) {
        log_warnx("BIO_new_mem_buf() failed%s",
                  tls_errors(errs, sizeof(errs)));
        goto buf_free;
    }

    pkey = PEM_read_bio_PrivateKey(bio, NULL, tls_no_passphrase, NULL);

    BIO_free(bio);

    if (pkey == NULL) {
        log_warnx("cannot load tls_key \"%s\": PEM_read_bio_PrivateKey() "
                  "failed%s", path, tls_errors(errs, sizeof(errs)));
        goto buf_free;
    }

    if (SSL_CTX_use_PrivateKey(ctx, pkey) != 1) {
        log_warnx("cannot load tls_key \"%s\": SSL_CTX_use_PrivateKey() "
                  "failed%s", path, tls_errors(errs, sizeof(errs)));
        EVP_PKEY_free(pkey);
        goto buf_free;
    }

    EVP_PKEY_free(pkey);

    rc = 0;

buf_free:

    OPENSSL_cleanse(buf, TLS_KEY_MAX + 1);
    free(buf);

fd_close:

    close(fd);

    return rc;
}


/* keryud runs unattended: a key that needs a passphrase is an error */

static int
tls_no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void) buf;
    (void) size;
    (void) rwflag;
    (void) u;

    return -1;
}


/* drains OpenSSL's error queue into buf as " (SSL: ...)" for each error */

static const char *
tls_errors(char *buf, size_t len)
{
    int            n;
    char           one[256];
    size_t         used;
    unsigned long  e;

    buf[0] = '\0';
    used = 0;

    while ((e = ERR_get_error()) != 0) {
        if (used + 1 >= len) {
            continue;
        }

        ERR_error_string_n(e, one, sizeof(one));

        n = snprintf(buf + used, len - used, " (SSL: %s)", one);
        if (n < 0) {
            continue;
        }

        used += (size_t) n < len - used ? (size_t) n : len - used - 1;
    }

    return buf;
}
