/*
 * Copyright (C) Keryu Security
 *
 * Alert notifications over a webhook and syslog.  notify_alert() writes
 * the syslog line at once and queues a webhook delivery; everything else
 * runs from libevent callbacks on the caller's loop.  A delivery is one
 * POST on a connection of its own (no keep-alive, so an https connection
 * never outlives its handshake's checks), with a deadline of "timeout"
 * for the whole attempt, name lookup included.  A 2xx answer delivers it;
 * anything else schedules a retry after 1, 2, 4 ... seconds (at most 60,
 * each up to a quarter shorter at random), and after "retries" of them the
 * delivery is dropped with one log line.
 *
 * Deliveries keep the order they were queued in: the queue is sorted by
 * sequence number, retries included, so that the oldest is the first to
 * go when it is full.  Libevent callbacks only record how an attempt
 * ended; notify_kick(), run from the loop, frees connections, settles
 * results and starts the next attempts, so no connection is freed from
 * inside its own callbacks.
 *
 * The body is {"event":EVENT,"alert":ALERT}.  With a secret, each attempt
 * carries X-Keryu-Timestamp (unix seconds) and X-Keryu-Signature,
 * "sha256=" and the hex HMAC-SHA256 of the timestamp, ".", and the body,
 * keyed with the secret; X-Keryu-Delivery stays the same across retries.
 */


#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/queue.h>
#include <sys/stat.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/http.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "log.h"
#include "notify.h"


#define NOTIFY_HOST_MAX       256
#define NOTIFY_ID_LEN         36
#define NOTIFY_REASON_MAX     160
#define NOTIFY_RESPONSE_MAX   (64 * 1024)
#define NOTIFY_HMAC_LEN       32
#define NOTIFY_DROP_LOG       60                /* seconds between lines */

#define NOTIFY_BODY_HEAD      "{\"event\":\""
#define NOTIFY_BODY_ALERT     "\",\"alert\":"
#define NOTIFY_BODY_TAIL      "}"


typedef enum {
    NOTIFY_READY = 0,       /* queued, to be sent */
    NOTIFY_WAITING,         /* queued, backoff timer armed */
    NOTIFY_SENDING,         /* in flight, deadline armed */
    NOTIFY_DONE             /* attempt over, notify_kick() settles it */
} notify_state_e;


typedef struct {
    int                 https;
    int                 ip;               /* host is an address */
    uint16_t            port;
    char                host[NOTIFY_HOST_MAX];       /* no brackets */
    char                authority[NOTIFY_HOST_MAX + 8]; /* Host: */
    char                uri[NOTIFY_URL_MAX];         /* path and query */
} notify_url_t;


typedef struct notify_delivery_s  notify_delivery_t;

struct notify_delivery_s {
    TAILQ_ENTRY(notify_delivery_s)  nd_link;
    notify_t                       *nd_notify;
    struct event                   *nd_timer;   /* backoff or deadline */
    struct evhttp_connection       *nd_evcon;
    uint64_t                        nd_seq;
    unsigned                        nd_attempts;
    notify_state_e                  nd_state;
    int                             nd_status;  /* HTTP, 0: no answer */
    char                            nd_reason[NOTIFY_REASON_MAX];
    char                            nd_id[NOTIFY_ID_LEN + 1];
    char                            nd_event[NOTIFY_EVENT_MAX + 1];
    size_t                          nd_len;
    char                            nd_body[];
};

TAILQ_HEAD(notify_list_s, notify_delivery_s);


struct notify_s {
    struct event_base      *base;
    struct evdns_base      *dns;          /* NULL: the host is an address */
    struct event           *kick;
    SSL_CTX                *ssl_ctx;      /* NULL: http */
    EVP_MAC_CTX            *mac;          /* NULL: unsigned */
    int                     webhook;
    int                     insecure;
    int                     syslog;
    int                     facility;
    unsigned                retries;
    uint64_t                timeout;      /* milliseconds */
    uint64_t                backoff;      /* milliseconds */
    uint64_t                seq;
    time_t                  drop_logged;
    unsigned                nqueue;
    unsigned                nsending;
    size_t                  qbytes;       /* bodies in the queue */
    struct notify_list_s    queue;        /* ready and waiting, by seq */
    struct notify_list_s    sending;      /* in flight and done */
    notify_stats_t          stats;
    notify_url_t            url;
};


static int notify_url_parse(const char *url, notify_url_t *u);
static int notify_secret(notify_t *n, const char *file, char *err,
    size_t errlen);
static int notify_ssl_ctx(notify_t *n, char *err, size_t errlen);
static void notify_ssl_err(char *err, size_t errlen, const char *call);
static int notify_event_valid(const char *event);
static int notify_json_object(const char *json, size_t len);
static int notify_priority(const char *severity);
static void notify_syslog(notify_t *n, const char *event,
    const char *severity, const char *json, size_t len);
static void notify_id(notify_t *n, char id[NOTIFY_ID_LEN + 1]);
static void notify_enqueue(notify_t *n, notify_delivery_t *d);
static void notify_drop_oldest(notify_t *n);
static void notify_delivery_free(notify_delivery_t *d);
static void notify_kick(evutil_socket_t fd, short what, void *arg);
static void notify_send(notify_t *n, notify_delivery_t *d);
static SSL *notify_ssl_new(notify_t *n);
static int notify_sign(notify_t *n, const char *ts,
    const notify_delivery_t *d, char *sig, size_t size);
static void notify_done(notify_delivery_t *d, const char *reason);
static void notify_response(struct evhttp_request *req, void *arg);
static void notify_error(enum evhttp_request_error error, void *arg);
static void notify_timer(evutil_socket_t fd, short what, void *arg);
static void notify_settle(notify_t *n, notify_delivery_t *d);
static uint64_t notify_backoff(notify_t *n, unsigned attempts);
static void notify_ms(uint64_t ms, struct timeval *tv);


void
notify_conf_defaults(notify_conf_t *nc)
{
    memset(nc, 0, sizeof(notify_conf_t));

    nc->retries = NOTIFY_RETRIES;
    nc->timeout = NOTIFY_TIMEOUT;
    nc->backoff = NOTIFY_BACKOFF;
    nc->facility = LOG_DAEMON;
}


int
notify_url_valid(const char *url)
{
    notify_url_t  u;

    return notify_url_parse(url, &u) == 0;
}


notify_t *
notify_new(struct event_base *base, const notify_conf_t *nc, char *err,
    size_t errlen)
{
    notify_t  *n;

    n = calloc(1, sizeof(notify_t));
    if (n == NULL) {
        snprintf(err, errlen, "calloc() failed: %s", strerror(errno));
        return NULL;
    }

    n->base = base;
    n->insecure = nc->insecure;
    n->syslog = nc->syslog;
    n->facility = nc->facility;
    n->retries = nc->retries;
    n->timeout = nc->timeout ? nc->timeout : NOTIFY_TIMEOUT;
    n->backoff = nc->backoff ? nc->backoff : NOTIFY_BACKOFF;
    TAILQ_INIT(&n->queue);
    TAILQ_INIT(&n->sending);

    n->kick = event_new(base, -1, 0, notify_kick, n);
    if (n->kick == NULL) {
        snprintf(err, errlen, "event_new() failed");
        goto failed;
    }

    if (nc->webhook[0]) {
        if (notify_url_parse(nc->webhook, &n->url) == -1) {
            snprintf(err, errlen, "invalid webhook URL");
            goto failed;
        }

        n->webhook = 1;

        if (!n->url.ip) {
            n->dns = evdns_base_new(base, EVDNS_BASE_INITIALIZE_NAMESERVERS
                                          | EVDNS_BASE_DISABLE_WHEN_INACTIVE);
            if (n->dns == NULL) {
                snprintf(err, errlen, "evdns_base_new() failed");
                goto failed;
            }
        }

        if (n->url.https && notify_ssl_ctx(n, err, errlen) == -1) {
            goto failed;
        }

        if (nc->secret_file[0]
            && notify_secret(n, nc->secret_file, err, errlen) == -1)
        {
            goto failed;
        }

        log_info("webhook to %s://%s, %s", n->url.https ? "https" : "http",
                 n->url.authority, n->mac ? "signed" : "unsigned");
    }

    if (n->syslog) {
        /*
         * log.c opens syslog the same way in the background; the alert's
         * own facility goes with each line instead, so that keryud's other
         * lines stay under daemon
         */

        openlog("keryud", LOG_PID | LOG_NDELAY, LOG_DAEMON);
    }

    return n;

failed:

    notify_free(n);

    return NULL;
}


void
notify_free(notify_t *n)
{
    notify_delivery_t  *d;

    if (n == NULL) {
        return;
    }

    while ((d = TAILQ_FIRST(&n->sending)) != NULL) {
        TAILQ_REMOVE(&n->sending, d, nd_link);
        notify_delivery_free(d);
    }

    while ((d = TAILQ_FIRST(&n->queue)) != NULL) {
        TAILQ_REMOVE(&n->queue, d, nd_link);
        notify_delivery_free(d);
    }

    if (n->kick) {
        event_free(n->kick);
    }

    if (n->dns) {
        /* XXX a lookup still pending is abandoned and its buffer leaked */
        evdns_base_free(n->dns, 0);
    }

    SSL_CTX_free(n->ssl_ctx);
    EVP_MAC_CTX_free(n->mac);
    free(n);
}


void
notify_alert(notify_t *n, const char *event, const char *severity,
    const char *json, size_t len)
{
    char               *p;
    size_t              elen, size;
    notify_delivery_t  *d;

    if (n == NULL) {
        return;
    }

    if (!notify_event_valid(event) || !notify_json_object(json, len)) {
        log_warnx("notify: an alert event with a bad name or body dropped");
        n->stats.dropped++;
        return;
    }

    if (n->syslog) {
        notify_syslog(n, event, severity, json, len);
    }

    if (!n->webhook) {
        return;
    }

    if (len > NOTIFY_BODY_MAX) {
        log_warnx("webhook: %s alert of %zu bytes dropped, more than %d",
                  event, len, NOTIFY_BODY_MAX);
        n->stats.dropped++;
        return;
    }

    elen = strlen(event);
    size = sizeof(NOTIFY_BODY_HEAD) - 1 + elen + sizeof(NOTIFY_BODY_ALERT) - 1
           + len + sizeof(NOTIFY_BODY_TAIL) - 1;

    d = calloc(1, sizeof(notify_delivery_t) + size);
    if (d == NULL) {
        log_warn("webhook: %s alert dropped: calloc", event);
        n->stats.dropped++;
        return;
    }

    d->nd_timer = evtimer_new(n->base, notify_timer, d);
    if (d->nd_timer == NULL) {
        log_warnx("webhook: %s alert dropped: event_new() failed", event);
        free(d);
        n->stats.dropped++;
        return;
    }

    d->nd_notify = n;
    d->nd_seq = ++n->seq;
    d->nd_state = NOTIFY_READY;
    memcpy(d->nd_event, event, elen + 1);
    notify_id(n, d->nd_id);

    p = d->nd_body;

    memcpy(p, NOTIFY_BODY_HEAD, sizeof(NOTIFY_BODY_HEAD) - 1);
    p += sizeof(NOTIFY_BODY_HEAD) - 1;
    memcpy(p, event, elen);
    p += elen;
    memcpy(p, NOTIFY_BODY_ALERT, sizeof(NOTIFY_BODY_ALERT) - 1);
    p += sizeof(NOTIFY_BODY_ALERT) - 1;
    memcpy(p, json, len);
    p += len;
    memcpy(p, NOTIFY_BODY_TAIL, sizeof(NOTIFY_BODY_TAIL) - 1);

    d->nd_len = size;

    notify_enqueue(n, d);

    event_active(n->kick, EV_TIMEOUT, 1);
}


void
notify_stats(notify_t *n, notify_stats_t *st)
{
    if (n == NULL) {
        memset(st, 0, sizeof(notify_stats_t));
        return;
    }

    *st = n->stats;
    st->queued = n->nqueue + n->nsending;
}


/*
 * http:// or https://, a host, an optional port, path and query; no
 * user:password@, and a fragment is ignored
 */

static int
notify_url_parse(const char *url, notify_url_t *u)
{
    int                 port, rc;
    size_t              len;
    uint8_t             addr[16];
    const char         *scheme, *host, *path, *query;
    struct evhttp_uri  *uri;

    if (strlen(url) >= NOTIFY_URL_MAX) {
        return -1;
    }

    uri = evhttp_uri_parse_with_flags(url, 0);
    if (uri == NULL) {
        return -1;
    }

    rc = -1;

    memset(u, 0, sizeof(notify_url_t));

    scheme = evhttp_uri_get_scheme(uri);
    host = evhttp_uri_get_host(uri);
    port = evhttp_uri_get_port(uri);
    path = evhttp_uri_get_path(uri);
    query = evhttp_uri_get_query(uri);

    if (scheme == NULL || host == NULL || host[0] == '\0'
        || evhttp_uri_get_userinfo(uri) != NULL
        || port == 0 || port > 65535)
    {
        goto done;
    }

    if (strcasecmp(scheme, "https") == 0) {
        u->https = 1;
        u->port = 443;

    } else if (strcasecmp(scheme, "http") == 0) {
        u->port = 80;

    } else {
        goto done;
    }

    len = strlen(host);

    if (len >= NOTIFY_HOST_MAX) {
        goto done;
    }

    if (host[0] == '[') {
        memcpy(u->host, host + 1, len - 2);
        u->ip = inet_pton(AF_INET6, u->host, addr) == 1;

        if (!u->ip) {
            goto done;
        }

    } else {
        memcpy(u->host, host, len);
        u->ip = inet_pton(AF_INET, u->host, addr) == 1;
    }

    if (port > 0 && port != u->port) {
        u->port = (uint16_t) port;
        snprintf(u->authority, sizeof(u->authority), "%s:%d", host, port);

    } else {
        memcpy(u->authority, host, len + 1);
    }

    if (path == NULL || path[0] == '\0') {
        path = "/";
    }

    if ((size_t) snprintf(u->uri, sizeof(u->uri), "%s%s%s", path,
                          query ? "?" : "", query ? query : "")
        >= sizeof(u->uri))
    {
        goto done;
    }

    rc = 0;

done:

    evhttp_uri_free(uri);

    return rc;
}


/*
 * keys the HMAC with the secret file's content, one trailing newline
 * dropped; the secret itself is wiped from memory at once
 */

static int
notify_secret(notify_t *n, const char *file, char *err, size_t errlen)
{
    int            fd, rc;
    char           digest[] = "SHA256";
    size_t         len;
    ssize_t        r;
    EVP_MAC       *mac;
    OSSL_PARAM     params[2];
    struct stat    sb;
    unsigned char  buf[NOTIFY_SECRET_MAX + 1];

    fd = open(file, O_RDONLY | O_CLOEXEC);
    if (fd == -1) {
        snprintf(err, errlen, "webhook secret \"%s\": %s", file,
                 strerror(errno));
        return -1;
    }

    rc = -1;
    len = 0;

    if (fstat(fd, &sb) == -1) {
        snprintf(err, errlen, "webhook secret \"%s\": fstat: %s", file,
                 strerror(errno));
        goto done;
    }

    if (!S_ISREG(sb.st_mode)) {
        snprintf(err, errlen, "webhook secret \"%s\" is not a regular file",
                 file);
        goto done;
    }

    if (sb.st_mode & (S_IRWXG | S_IRWXO)) {
        snprintf(err, errlen, "webhook secret \"%s\" has mode %04o, "
                 "expecting 0600 or stricter", file,
                 (unsigned) (sb.st_mode & 07777));
        goto done;
    }

    while (len < sizeof(buf)) {
        r = read(fd, buf + len, sizeof(buf) - len);

        if (r == -1 && errno == EINTR) {
            continue;
        }

        if (r == -1) {
            snprintf(err, errlen, "webhook secret \"%s\": read: %s", file,
                     strerror(errno));
            goto done;
        }

        if (r == 0) {
            break;
        }

        len += (size_t) r;
    }

    if (len > 0 && buf[len - 1] == '\n') {
        len--;
    }

    if (len > NOTIFY_SECRET_MAX) {
        snprintf(err, errlen, "webhook secret \"%s\" is longer than %d bytes",
                 file, NOTIFY_SECRET_MAX);
        goto done;
    }

    if (len < NOTIFY_SECRET_MIN) {
        snprintf(err, errlen, "webhook secret \"%s\" is shorter than %d "
                 "bytes", file, NOTIFY_SECRET_MIN);
        goto done;
    }

    mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    if (mac == NULL) {
        notify_ssl_err(err, errlen, "EVP_MAC_fetch");
        goto done;
    }

    n->mac = EVP_MAC_CTX_new(mac);
    EVP_MAC_free(mac);

    if (n->mac == NULL) {
        notify_ssl_err(err, errlen, "EVP_MAC_CTX_new");
        goto done;
    }

    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
                                                 digest, 0);
    params[1] = OSSL_PARAM_construct_end();

    if (EVP_MAC_init(n->mac, buf, len, params) != 1) {
        notify_ssl_err(err, errlen, "EVP_MAC_init");
        goto done;
    }

    rc = 0;

done:

    OPENSSL_cleanse(buf, sizeof(buf));
    close(fd);

    return rc;
}


int
notify_set_secret(notify_t *n, const uint8_t *secret, size_t len)
{
    char          digest[] = "SHA256";
    EVP_MAC      *mac;
    OSSL_PARAM    params[2];
    EVP_MAC_CTX  *ctx;

    if (!n->webhook) {
        return 0;
    }

    mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    if (mac == NULL) {
        return -1;
    }

    ctx = EVP_MAC_CTX_new(mac);
    EVP_MAC_free(mac);

    if (ctx == NULL) {
        return -1;
    }

    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
                                                 digest, 0);
    params[1] = OSSL_PARAM_construct_end();

    if (EVP_MAC_init(ctx, secret, len, params) != 1) {
        EVP_MAC_CTX_free(ctx);
        return -1;
    }

    EVP_MAC_CTX_free(n->mac);
    n->mac = ctx;

    return 0;
}


static int
notify_ssl_ctx(notify_t *n, char *err, size_t errlen)
{
    n->ssl_ctx = SSL_CTX_new(TLS_client_method());
    if (n->ssl_ctx == NULL) {
        notify_ssl_err(err, errlen, "SSL_CTX_new");
        return -1;
    }

    if (SSL_CTX_set_min_proto_version(n->ssl_ctx, TLS1_2_VERSION) != 1) {
        notify_ssl_err(err, errlen, "SSL_CTX_set_min_proto_version");
        return -1;
    }

    if (n->insecure) {
        SSL_CTX_set_verify(n->ssl_ctx, SSL_VERIFY_NONE, NULL);
        return 0;
    }

    if (SSL_CTX_set_default_verify_paths(n->ssl_ctx) != 1) {
        notify_ssl_err(err, errlen, "SSL_CTX_set_default_verify_paths");
        return -1;
    }

    SSL_CTX_set_verify(n->ssl_ctx, SSL_VERIFY_PEER, NULL);

    return 0;
}


static void
notify_ssl_err(char *err, size_t errlen, const char *call)
{
    char           reason[256];
    unsigned long  e;

    e = ERR_get_error();

    if (e == 0) {
        snprintf(err, errlen, "%s() failed", call);

    } else {
        ERR_error_string_n(e, reason, sizeof(reason));
        snprintf(err, errlen, "%s() failed: %s", call, reason);
    }

    ERR_clear_error();
}


/* the name goes in a header and in JSON unescaped: [a-z0-9._-] only */

static int
notify_event_valid(const char *event)
{
    size_t  i;

    if (event == NULL || event[0] == '\0') {
        return 0;
    }

    for (i = 0; event[i]; i++) {
        if (i == NOTIFY_EVENT_MAX
            || !((event[i] >= 'a' && event[i] <= 'z')
                 || (event[i] >= '0' && event[i] <= '9')
                 || event[i] == '.' || event[i] == '_' || event[i] == '-'))
        {
            return 0;
        }
    }

    return 1;
}


/* a cheap check that the caller did pass an object: "{" ... "}" */

static int
notify_json_object(const char *json, size_t len)
{
    if (json == NULL) {
        return 0;
    }

    while (len > 0 && isspace((unsigned char) json[len - 1])) {
        len--;
    }

    while (len > 0 && isspace((unsigned char) json[0])) {
        json++;
        len--;
    }

    return len >= 2 && json[0] == '{' && json[len - 1] == '}';
}


static int
notify_priority(const char *severity)
{
    if (severity == NULL) {
        return LOG_WARNING;
    }

    if (strcmp(severity, "low") == 0) {
        return LOG_NOTICE;
    }

    if (strcmp(severity, "medium") == 0) {
        return LOG_WARNING;
    }

    if (strcmp(severity, "high") == 0) {
        return LOG_ERR;
    }

    if (strcmp(severity, "critical") == 0) {
        return LOG_CRIT;
    }

    return LOG_WARNING;
}


/*
 * one line, "EVENT JSON", the JSON cut at NOTIFY_SYSLOG_MAX bytes on a
 * UTF-8 boundary and followed by "..." then; control bytes become "?"
 */

static void
notify_syslog(notify_t *n, const char *event, const char *severity,
    const char *json, size_t len)
{
    char    line[NOTIFY_SYSLOG_MAX + 1];
    size_t  i, max;

    max = len;

    if (max > NOTIFY_SYSLOG_MAX) {
        max = NOTIFY_SYSLOG_MAX;

        while (max > 0 && ((unsigned char) json[max] & 0xc0) == 0x80) {
            max--;
        }
    }

    for (i = 0; i < max; i++) {
        line[i] = ((unsigned char) json[i] < 0x20 || json[i] == 0x7f)
                  ? '?' : json[i];
    }

    line[max] = '\0';

    syslog(n->facility | notify_priority(severity), "%s %s%s", event, line,
           max < len ? "..." : "");
}


/* a random UUID (version 4), the same for every attempt of a delivery */

static void
notify_id(notify_t *n, char id[NOTIFY_ID_LEN + 1])
{
    time_t         now;
    unsigned char  b[16];

    if (RAND_bytes(b, sizeof(b)) != 1) {
        ERR_clear_error();

        /* unique still, if not unpredictable */
        now = time(NULL);
        memset(b, 0, sizeof(b));
        memcpy(b, &n->seq, sizeof(n->seq));
        memcpy(b + 8, &now, sizeof(now) < 8 ? sizeof(now) : 8);
    }

    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;

    snprintf(id, NOTIFY_ID_LEN + 1,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
             "%02x%02x%02x%02x%02x%02x",
             b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9],
             b[10], b[11], b[12], b[13], b[14], b[15]);
}


/* inserts by sequence number, then drops the oldest past the bounds */

static void
notify_enqueue(notify_t *n, notify_delivery_t *d)
{
    notify_delivery_t  *prev;

    prev = TAILQ_LAST(&n->queue, notify_list_s);

    while (prev != NULL && prev->nd_seq > d->nd_seq) {
        prev = TAILQ_PREV(prev, notify_list_s, nd_link);
    }

    if (prev == NULL) {
        TAILQ_INSERT_HEAD(&n->queue, d, nd_link);

    } else {
        TAILQ_INSERT_AFTER(&n->queue, prev, d, nd_link);
    }

    n->nqueue++;
    n->qbytes += d->nd_len;

    while (n->nqueue > NOTIFY_QUEUE_MAX
           || (n->qbytes > NOTIFY_QUEUE_BYTES && n->nqueue > 1))
    {
        notify_drop_oldest(n);
    }
}


static void
notify_drop_oldest(notify_t *n)
{
    time_t              now;
    notify_delivery_t  *d;

    d = TAILQ_FIRST(&n->queue);

    TAILQ_REMOVE(&n->queue, d, nd_link);
    n->nqueue--;
    n->qbytes -= d->nd_len;
    n->stats.dropped++;

    now = time(NULL);

    if (now - n->drop_logged >= NOTIFY_DROP_LOG) {
        n->drop_logged = now;
        log_warnx("webhook: queue full, oldest delivery %s (%s) dropped, "
                  "%" PRIu64 " dropped in all", d->nd_id, d->nd_event,
                  n->stats.dropped);
    }

    notify_delivery_free(d);
}


/* frees a delivery already off its list, its connection included */

static void
notify_delivery_free(notify_delivery_t *d)
{
    if (d->nd_evcon) {
        evhttp_connection_free(d->nd_evcon);
    }

    event_free(d->nd_timer);
    free(d);
}


/* settles the attempts that ended, then starts ready ones, oldest first */

static void
notify_kick(evutil_socket_t fd, short what, void *arg)
{
    notify_t           *n = arg;

    notify_delivery_t  *d, *next;

    (void) fd;
    (void) what;

    for (d = TAILQ_FIRST(&n->sending); d != NULL; d = next) {
        next = TAILQ_NEXT(d, nd_link);

        if (d->nd_state == NOTIFY_DONE) {
            TAILQ_REMOVE(&n->sending, d, nd_link);
            n->nsending--;
            notify_settle(n, d);
        }
    }

    for (d = TAILQ_FIRST(&n->queue);
         d != NULL && n->nsending < NOTIFY_INFLIGHT_MAX;
         d = next)
    {
        next = TAILQ_NEXT(d, nd_link);

        if (d->nd_state == NOTIFY_READY) {
            TAILQ_REMOVE(&n->queue, d, nd_link);
            n->nqueue--;
            n->qbytes -= d->nd_len;
            notify_send(n, d);
        }
    }
}


/*
 * one attempt; whatever fails here ends the attempt like a failed
 * connection would, and notify_kick() settles it
 */

static void
notify_send(notify_t *n, notify_delivery_t *d)
{
    SSL                       *ssl;
    char                       ts[24], sig[8 + 2 * NOTIFY_HMAC_LEN];
    struct timeval             tv;
    struct evkeyvalq          *h;
    struct bufferevent        *bev;
    struct evhttp_request     *req;
    struct evhttp_connection  *evcon;

    d->nd_attempts++;
    d->nd_state = NOTIFY_SENDING;
    d->nd_status = 0;
    d->nd_reason[0] = '\0';
    TAILQ_INSERT_TAIL(&n->sending, d, nd_link);
    n->nsending++;

    if (d->nd_attempts > 1) {
        n->stats.retried++;
    }

    log_debug("%s: delivery %s (%s), attempt %u", __func__, d->nd_id,
              d->nd_event, d->nd_attempts);

    bev = NULL;

    if (n->ssl_ctx) {
        ssl = notify_ssl_new(n);
        if (ssl == NULL) {
            notify_done(d, "cannot set up TLS");
            return;
        }

        /* frees ssl when it fails */
        bev = bufferevent_openssl_socket_new(n->base, -1, ssl,
                                             BUFFEREVENT_SSL_CONNECTING,
                                             BEV_OPT_CLOSE_ON_FREE
                                             | BEV_OPT_DEFER_CALLBACKS);
        if (bev == NULL) {
            notify_done(d, "bufferevent_openssl_socket_new() failed");
            return;
        }

        bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
    }

    evcon = evhttp_connection_base_bufferevent_new(n->base, n->dns, bev,
                                                   n->url.host, n->url.port);
    if (evcon == NULL) {
        if (bev) {
            bufferevent_free(bev);
        }

        notify_done(d, "evhttp_connection_base_bufferevent_new() failed");
        return;
    }

    d->nd_evcon = evcon;

    notify_ms(n->timeout, &tv);

    evhttp_connection_set_timeout_tv(evcon, &tv);
    evhttp_connection_set_retries(evcon, 0);
    evhttp_connection_set_max_headers_size(evcon, NOTIFY_RESPONSE_MAX);
    evhttp_connection_set_max_body_size(evcon, NOTIFY_RESPONSE_MAX);

    req = evhttp_request_new(notify_response, d);
    if (req == NULL) {
        notify_done(d, "evhttp_request_new() failed");
        return;
    }

    evhttp_request_set_error_cb(req, notify_error);

    h = evhttp_request_get_output_headers(req);

    snprintf(ts, sizeof(ts), "%lld", (long long) time(NULL));

    if (evhttp_add_header(h, "Host", n->url.authority) == -1
        || evhttp_add_header(h, "User-Agent", "keryud") == -1
        || evhttp_add_header(h, "Content-Type", "application/json") == -1
        || evhttp_add_header(h, "Connection", "close") == -1
        || evhttp_add_header(h, "X-Keryu-Event", d->nd_event) == -1
        || evhttp_add_header(h, "X-Keryu-Delivery", d->nd_id) == -1
        || (n->mac != NULL
            && (notify_sign(n, ts, d, sig, sizeof(sig)) == -1
                || evhttp_add_header(h, "X-Keryu-Timestamp", ts) == -1
                || evhttp_add_header(h, "X-Keryu-Signature", sig) == -1))
        || evbuffer_add(evhttp_request_get_output_buffer(req), d->nd_body,
                        d->nd_len) == -1)
    {
        evhttp_request_free(req);
        notify_done(d, "cannot build the request");
        return;
    }

    if (evtimer_add(d->nd_timer, &tv) == -1) {
        evhttp_request_free(req);
        notify_done(d, "event_add() failed");
        return;
    }

    /* a connection that fails at once calls notify_response() from here */

    if (evhttp_make_request(evcon, req, EVHTTP_REQ_POST, n->url.uri) == -1) {
        /* XXX libevent may keep req in this case, and it is leaked then */
        notify_done(d, "evhttp_make_request() failed");
    }
}


static SSL *
notify_ssl_new(notify_t *n)
{
    SSL                 *ssl;
    X509_VERIFY_PARAM   *param;

    ssl = SSL_new(n->ssl_ctx);
    if (ssl == NULL) {
        goto failed;
    }

    /* SNI is for names only */

    if (!n->url.ip && SSL_set_tlsext_host_name(ssl, n->url.host) != 1) {
        goto failed;
    }

    if (n->insecure) {
        return ssl;
    }

    param = SSL_get0_param(ssl);

    if (n->url.ip) {
        if (X509_VERIFY_PARAM_set1_ip_asc(param, n->url.host) != 1) {
            goto failed;
        }

    } else {
        X509_VERIFY_PARAM_set_hostflags(param,
                                        X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);

        if (X509_VERIFY_PARAM_set1_host(param, n->url.host, 0) != 1) {
            goto failed;
        }
    }

    return ssl;

failed:

    log_warnx("webhook: cannot set up TLS for \"%s\"", n->url.host);
    ERR_clear_error();
    SSL_free(ssl);

    return NULL;
}


/* writes "sha256=" and the hex HMAC of "TIMESTAMP.BODY" into sig */

static int
notify_sign(notify_t *n, const char *ts, const notify_delivery_t *d,
    char *sig, size_t size)
{
    size_t         i, len;
    unsigned char  md[EVP_MAX_MD_SIZE];

    static const char  hex[] = "0123456789abcdef";

    if (EVP_MAC_init(n->mac, NULL, 0, NULL) != 1
        || EVP_MAC_update(n->mac, (const unsigned char *) ts, strlen(ts)) != 1
        || EVP_MAC_update(n->mac, (const unsigned char *) ".", 1) != 1
        || EVP_MAC_update(n->mac, (const unsigned char *) d->nd_body,
                          d->nd_len) != 1
        || EVP_MAC_final(n->mac, md, &len, sizeof(md)) != 1
        || len != NOTIFY_HMAC_LEN
        || size < sizeof("sha256=") + 2 * len)
    {
        ERR_clear_error();
        return -1;
    }

    memcpy(sig, "sha256=", sizeof("sha256=") - 1);
    sig += sizeof("sha256=") - 1;

    for (i = 0; i < len; i++) {
        *sig++ = hex[md[i] >> 4];
        *sig++ = hex[md[i] & 0x0f];
    }

    *sig = '\0';

    return 0;
}


/* ends the attempt in flight; the first reason given is kept */

static void
notify_done(notify_delivery_t *d, const char *reason)
{
    if (d->nd_state != NOTIFY_SENDING) {
        return;
    }

    if (reason != NULL && d->nd_reason[0] == '\0') {
        snprintf(d->nd_reason, sizeof(d->nd_reason), "%s", reason);
    }

    d->nd_state = NOTIFY_DONE;

    event_active(d->nd_notify->kick, EV_TIMEOUT, 1);
}


/*
 * libevent calls this once per attempt: with the answer, or with NULL or
 * an unanswered request when the attempt failed
 */

static void
notify_response(struct evhttp_request *req, void *arg)
{
    notify_delivery_t   *d = arg;

    char                 buf[128];
    unsigned long        e;
    struct bufferevent  *bev;

    if (d->nd_state != NOTIFY_SENDING) {
        return;
    }

    if (req != NULL) {
        d->nd_status = evhttp_request_get_response_code(req);
    }

    if (d->nd_status != 0 || d->nd_notify->ssl_ctx == NULL) {
        notify_done(d, "connection failed");
        return;
    }

    /* a TLS failure says more than the connection's end does */

    bev = evhttp_connection_get_bufferevent(d->nd_evcon);
    e = bufferevent_get_openssl_error(bev);

    if (e != 0) {
        ERR_error_string_n(e, buf, sizeof(buf));
        snprintf(d->nd_reason, sizeof(d->nd_reason), "TLS: %s", buf);

        while (bufferevent_get_openssl_error(bev) != 0) {
            /* void */
        }
    }

    notify_done(d, "connection failed");
}


static void
notify_error(enum evhttp_request_error error, void *arg)
{
    notify_delivery_t  *d = arg;

    const char         *reason;

    if (d->nd_state != NOTIFY_SENDING) {
        return;
    }

    switch (error) {

    case EVREQ_HTTP_TIMEOUT:
        reason = "timed out";
        break;

    case EVREQ_HTTP_EOF:
        reason = "connection closed";
        break;

    case EVREQ_HTTP_INVALID_HEADER:
        reason = "invalid response";
        break;

    case EVREQ_HTTP_DATA_TOO_LONG:
        reason = "response too large";
        break;

    default:
        reason = "connection error";
        break;
    }

    snprintf(d->nd_reason, sizeof(d->nd_reason), "%s", reason);
}


/* the deadline of an attempt in flight, or the end of a backoff */

static void
notify_timer(evutil_socket_t fd, short what, void *arg)
{
    notify_delivery_t  *d = arg;

    (void) fd;
    (void) what;

    switch (d->nd_state) {

    case NOTIFY_SENDING:

        /* not inside the connection's callbacks, so it can go now */

        if (d->nd_evcon) {
            evhttp_connection_free(d->nd_evcon);
            d->nd_evcon = NULL;
        }

        snprintf(d->nd_reason, sizeof(d->nd_reason), "timed out");
        notify_done(d, NULL);
        break;

    case NOTIFY_WAITING:
        d->nd_state = NOTIFY_READY;
        event_active(d->nd_notify->kick, EV_TIMEOUT, 1);
        break;

    default:
        break;
    }
}


/* a delivery whose attempt ended, off the sending list */

static void
notify_settle(notify_t *n, notify_delivery_t *d)
{
    char            status[32];
    uint64_t        ms;
    const char     *reason;
    struct timeval  tv;

    if (d->nd_evcon) {
        evhttp_connection_free(d->nd_evcon);
        d->nd_evcon = NULL;
    }

    evtimer_del(d->nd_timer);

    if (d->nd_status >= 200 && d->nd_status < 300) {
        n->stats.sent++;
        log_debug("%s: delivery %s (%s) sent, attempt %u, status %d",
                  __func__, d->nd_id, d->nd_event, d->nd_attempts,
                  d->nd_status);
        notify_delivery_free(d);
        return;
    }

    if (d->nd_status != 0) {
        snprintf(status, sizeof(status), "status %d", d->nd_status);
        reason = status;

    } else {
        reason = d->nd_reason[0] ? d->nd_reason : "failed";
    }

    if (d->nd_attempts > n->retries) {
        n->stats.failed++;
        log_warnx("webhook: delivery %s (%s) to %s failed after %u "
                  "attempt%s: %s", d->nd_id, d->nd_event, n->url.authority,
                  d->nd_attempts, d->nd_attempts == 1 ? "" : "s", reason);
        notify_delivery_free(d);
        return;
    }

    ms = notify_backoff(n, d->nd_attempts);

    log_debug("%s: delivery %s (%s), attempt %u: %s, next in %" PRIu64
              "ms", __func__, d->nd_id, d->nd_event, d->nd_attempts, reason,
              ms);

    notify_ms(ms, &tv);

    if (evtimer_add(d->nd_timer, &tv) == -1) {
        n->stats.failed++;
        log_warnx("webhook: delivery %s (%s) dropped: event_add() failed",
                  d->nd_id, d->nd_event);
        notify_delivery_free(d);
        return;
    }

    d->nd_state = NOTIFY_WAITING;

    notify_enqueue(n, d);
}


/* base * 2^(attempts - 1), at most NOTIFY_BACKOFF_MAX, minus 0-25% */

static uint64_t
notify_backoff(notify_t *n, unsigned attempts)
{
    unsigned  i;
    uint32_t  r;
    uint64_t  ms;

    ms = n->backoff;

    for (i = 1; i < attempts && ms < NOTIFY_BACKOFF_MAX; i++) {
        ms *= 2;
    }

    if (ms > NOTIFY_BACKOFF_MAX) {
        ms = NOTIFY_BACKOFF_MAX;
    }

    if (RAND_bytes((unsigned char *) &r, sizeof(r)) != 1) {
        ERR_clear_error();
        r = 0;
    }

    return ms - r % (ms / 4 + 1);
}


static void
notify_ms(uint64_t ms, struct timeval *tv)
{
    tv->tv_sec = (time_t) (ms / 1000);
    tv->tv_usec = (suseconds_t) (ms % 1000) * 1000;
}
