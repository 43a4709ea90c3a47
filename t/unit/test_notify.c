
/*
 * Copyright (C) Keryu Security
 *
 * Tests of webhook notifications.  Each test runs an event loop with an
 * evhttp receiver on an ephemeral port of 127.0.0.1 in this process, so
 * that both ends of a delivery run on one loop: the receiver records
 * what it gets and answers with the statuses a test scripts.  A 5 ms
 * ticker runs alongside and shows that the loop never blocks.  HTTPS
 * tests make a self-signed certificate in memory and trust it through
 * SSL_CERT_FILE, which OpenSSL's default verify paths honour.
 */


#include "unit.h"

#include <fcntl.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "notify.h"


#define test_case(f)                                                          \
    cmocka_unit_test_setup_teardown(f, test_setup, test_teardown)


#define TEST_SECRET       "0123456789abcdef0123456789abcdef"
#define TEST_ALERT        "{\"id\":7,\"rule\":\"brute_force\"," \
                          "\"severity\":\"high\",\"key\":\"198.51.100.7\"}"
#define TEST_KEPT         8           /* requests kept in full */
#define TEST_ALERTS_MAX   (NOTIFY_QUEUE_MAX + 64)
#define TEST_TICK_MS      5
#define TEST_WAIT_MS      10000


typedef struct {
    int                 method;
    char                uri[256];
    char                host[64];
    char                ctype[64];
    char                event[64];
    char                delivery[64];
    char                timestamp[32];
    char                signature[128];
    int                 signed_req;       /* either signature header */
    size_t              len;
    char                body[1024];
} test_req_t;


typedef struct {
    char                dir[UNIT_DIR_LEN];
    char                path[UNIT_PATH_LEN];
    char                secret[UNIT_PATH_LEN];
    char                cert[UNIT_PATH_LEN];
    struct event_base  *base;
    struct event       *tick;
    unsigned            ticks;
    struct evhttp      *http;
    SSL_CTX            *ssl_ctx;          /* receiver's, for HTTPS */
    uint16_t            port;
    const int          *statuses;         /* answers, then 200 */
    size_t              nstatuses;
    unsigned            delay_ms;         /* answer this much later */
    unsigned            count;            /* requests received */
    unsigned            pending;          /* received, not answered */
    unsigned            pending_max;
    unsigned            seen[TEST_ALERTS_MAX]; /* by the alert's "n" */
    test_req_t          reqs[TEST_KEPT];
    notify_t           *n;
} test_t;


typedef struct {
    test_t                 *t;
    struct evhttp_request  *req;
    int                     status;
} test_reply_t;


static int
test_setup(void **state)
{
    test_t                      *t;
    socklen_t                    len;
    struct sockaddr_in           sin;
    struct evhttp_bound_socket  *bound;

    t = calloc(1, sizeof(test_t));
    if (t == NULL) {
        return -1;
    }

    if (unit_dir_make(t->dir, t->path, "notify") != 0) {
        free(t);
        return -1;
    }

    snprintf(t->secret, sizeof(t->secret), "%s/secret", t->dir);
    snprintf(t->cert, sizeof(t->cert), "%s/cert.pem", t->dir);

    t->base = event_base_new();
    if (t->base == NULL) {
        return -1;
    }

    t->http = evhttp_new(t->base);
    if (t->http == NULL) {
        return -1;
    }

    bound = evhttp_bind_socket_with_handle(t->http, "127.0.0.1", 0);
    if (bound == NULL) {
        return -1;
    }

    len = sizeof(sin);

    if (getsockname(evhttp_bound_socket_get_fd(bound),
                    (struct sockaddr *) &sin, &len) == -1)
    {
        return -1;
    }

    t->port = ntohs(sin.sin_port);

    *state = t;

    return 0;
}


static int
test_teardown(void **state)
{
    int      rc;
    test_t  *t;

    t = *state;

    notify_free(t->n);

    if (t->tick) {
        event_free(t->tick);
    }

    evhttp_free(t->http);
    event_base_free(t->base);
    SSL_CTX_free(t->ssl_ctx);

    unsetenv("SSL_CERT_FILE");

    rc = unit_dir_remove(t->dir);

    free(t);

    return rc == 0 ? 0 : -1;
}


static void
copy_header(struct evkeyvalq *h, const char *name, char *dst, size_t size)
{
    const char  *v;

    v = evhttp_find_header(h, name);

    snprintf(dst, size, "%s", v ? v : "");
}


static void
receiver_answer(evutil_socket_t fd, short what, void *arg)
{
    test_reply_t  *rp = arg;

    (void) fd;
    (void) what;

    rp->t->pending--;
    evhttp_send_reply(rp->req, rp->status, "Test", NULL);
    free(rp);
}


static void
receiver(struct evhttp_request *req, void *arg)
{
    test_t            *t = arg;

    int                status;
    char              *p, buf[1024];
    size_t             len;
    unsigned           idx, n;
    test_req_t        *r;
    test_reply_t      *rp;
    struct timeval     tv;
    struct evbuffer   *in;
    struct evkeyvalq  *h;

    idx = t->count++;

    in = evhttp_request_get_input_buffer(req);
    len = evbuffer_get_length(in);
    assert_true(len < sizeof(buf));
    evbuffer_copyout(in, buf, len);
    buf[len] = '\0';

    if (idx < TEST_KEPT) {
        r = &t->reqs[idx];
        h = evhttp_request_get_input_headers(req);

        r->method = evhttp_request_get_command(req);
        snprintf(r->uri, sizeof(r->uri), "%s", evhttp_request_get_uri(req));
        copy_header(h, "Host", r->host, sizeof(r->host));
        copy_header(h, "Content-Type", r->ctype, sizeof(r->ctype));
        copy_header(h, "X-Keryu-Event", r->event, sizeof(r->event));
        copy_header(h, "X-Keryu-Delivery", r->delivery, sizeof(r->delivery));
        copy_header(h, "X-Keryu-Timestamp", r->timestamp,
                    sizeof(r->timestamp));
        copy_header(h, "X-Keryu-Signature", r->signature,
                    sizeof(r->signature));
        r->signed_req = evhttp_find_header(h, "X-Keryu-Timestamp") != NULL
                        || evhttp_find_header(h, "X-Keryu-Signature") != NULL;
        memcpy(r->body, buf, len + 1);
        r->len = len;
    }

    p = strstr(buf, "\"n\":");
    if (p != NULL && sscanf(p + 4, "%u", &n) == 1 && n < TEST_ALERTS_MAX) {
        t->seen[n]++;
    }

    status = idx < t->nstatuses ? t->statuses[idx] : 200;

    t->pending++;
    if (t->pending > t->pending_max) {
        t->pending_max = t->pending;
    }

    if (t->delay_ms == 0) {
        t->pending--;
        evhttp_send_reply(req, status, "Test", NULL);
        return;
    }

    rp = malloc(sizeof(test_reply_t));
    assert_non_null(rp);

    rp->t = t;
    rp->req = req;
    rp->status = status;

    tv.tv_sec = 0;
    tv.tv_usec = t->delay_ms * 1000;

    assert_int_equal(event_base_once(t->base, -1, EV_TIMEOUT,
                                     receiver_answer, rp, &tv), 0);
}


static void
ticker(evutil_socket_t fd, short what, void *arg)
{
    test_t  *t = arg;

    (void) fd;
    (void) what;

    t->ticks++;
}


static uint64_t
now_ms(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);

    return (uint64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}


/*
 * runs the loop until the deliveries settled (sent, failed or dropped)
 * reach want, or TEST_WAIT_MS pass; returns the milliseconds it ran
 */

static uint64_t
run(test_t *t, uint64_t want)
{
    uint64_t         start;
    struct timeval   tv;
    notify_stats_t   st;

    if (t->tick == NULL) {
        t->tick = event_new(t->base, -1, EV_PERSIST, ticker, t);
        assert_non_null(t->tick);

        tv.tv_sec = 0;
        tv.tv_usec = TEST_TICK_MS * 1000;
        assert_int_equal(event_add(t->tick, &tv), 0);
    }

    start = now_ms();

    for ( ;; ) {
        notify_stats(t->n, &st);

        if (st.sent + st.failed + st.dropped >= want) {
            break;
        }

        if (now_ms() - start > TEST_WAIT_MS) {
            fail_msg("timed out: sent %" PRIu64 ", failed %" PRIu64
                     ", queued %" PRIu64, st.sent, st.failed, st.queued);
        }

        assert_int_equal(event_base_loop(t->base, EVLOOP_ONCE), 0);
    }

    /* let the receiver see the end of connections, if any */

    tv.tv_sec = 0;
    tv.tv_usec = 20 * 1000;
    event_base_loopexit(t->base, &tv);
    event_base_dispatch(t->base);

    return now_ms() - start;
}


static void
write_file(const char *path, const char *text, mode_t mode)
{
    int  fd;

    unlink(path);

    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd != -1);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t) strlen(text));
    assert_int_equal(fchmod(fd, mode), 0);
    close(fd);
}


static void
conf(test_t *t, notify_conf_t *nc, const char *scheme)
{
    notify_conf_defaults(nc);

    snprintf(nc->webhook, sizeof(nc->webhook),
             "%s://127.0.0.1:%u/hook?src=keryu", scheme, t->port);
    nc->backoff = 10;
}


static void
start(test_t *t, const notify_conf_t *nc)
{
    char  err[256];

    t->n = notify_new(t->base, nc, err, sizeof(err));
    if (t->n == NULL) {
        fail_msg("notify_new() failed: %s", err);
    }
}


static void
send_alert(test_t *t, unsigned n)
{
    char  json[64];

    snprintf(json, sizeof(json), "{\"n\":%u}", n);
    notify_alert(t->n, "alert.opened", "high", json, strlen(json));
}


static void
stats_equal(test_t *t, uint64_t sent, uint64_t failed, uint64_t retried,
    uint64_t queued, uint64_t dropped)
{
    notify_stats_t  st;

    notify_stats(t->n, &st);

    assert_int_equal(st.sent, sent);
    assert_int_equal(st.failed, failed);
    assert_int_equal(st.retried, retried);
    assert_int_equal(st.queued, queued);
    assert_int_equal(st.dropped, dropped);
}


/* "sha256=" and the hex HMAC-SHA256 of "ts.body", as a receiver does it */

static void
expected_signature(const char *ts, const char *body, size_t len, char *sig,
    size_t size)
{
    char           *msg;
    size_t          i, n;
    unsigned        mdlen;
    unsigned char   md[EVP_MAX_MD_SIZE];

    n = strlen(ts) + 1 + len;
    msg = malloc(n);
    assert_non_null(msg);

    memcpy(msg, ts, strlen(ts));
    msg[strlen(ts)] = '.';
    memcpy(msg + strlen(ts) + 1, body, len);

    assert_non_null(HMAC(EVP_sha256(), TEST_SECRET, strlen(TEST_SECRET),
                         (unsigned char *) msg, n, md, &mdlen));
    free(msg);

    assert_true(size > 7 + 2 * mdlen);
    strcpy(sig, "sha256=");

    for (i = 0; i < mdlen; i++) {
        sprintf(sig + 7 + 2 * i, "%02x", md[i]);
    }
}


static int
uuid_v4(const char *s)
{
    size_t  i;

    if (strlen(s) != 36 || s[14] != '4') {
        return 0;
    }

    for (i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-') {
                return 0;
            }

        } else if (!((s[i] >= '0' && s[i] <= '9')
                     || (s[i] >= 'a' && s[i] <= 'f')))
        {
            return 0;
        }
    }

    return 1;
}


/* a self-signed P-256 certificate for one IP address, PEM into file */

static SSL_CTX *
tls_receiver(test_t *t, const char *ip)
{
    char             san[64];
    FILE            *fp;
    X509            *x;
    SSL_CTX         *ctx;
    EVP_PKEY        *pkey;
    X509_NAME       *name;
    X509V3_CTX       v3;
    X509_EXTENSION  *ext;

    pkey = EVP_EC_gen("P-256");
    assert_non_null(pkey);

    x = X509_new();
    assert_non_null(x);

    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), -60);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_pubkey(x, pkey);

    name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               (const unsigned char *) "keryu test", -1, -1,
                               0);
    X509_set_issuer_name(x, name);

    snprintf(san, sizeof(san), "IP:%s", ip);
    X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
    ext = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name, san);
    assert_non_null(ext);
    X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);

    assert_true(X509_sign(x, pkey, EVP_sha256()) > 0);

    fp = fopen(t->cert, "w");
    assert_non_null(fp);
    assert_int_equal(PEM_write_X509(fp, x), 1);
    fclose(fp);

    ctx = SSL_CTX_new(TLS_server_method());
    assert_non_null(ctx);
    assert_int_equal(SSL_CTX_use_certificate(ctx, x), 1);
    assert_int_equal(SSL_CTX_use_PrivateKey(ctx, pkey), 1);

    X509_free(x);
    EVP_PKEY_free(pkey);

    return ctx;
}


static struct bufferevent *
tls_accept(struct event_base *base, void *arg)
{
    test_t  *t = arg;

    return bufferevent_openssl_socket_new(base, -1, SSL_new(t->ssl_ctx),
                                          BUFFEREVENT_SSL_ACCEPTING,
                                          BEV_OPT_CLOSE_ON_FREE);
}


static void
a_signed_delivery_carries_headers_body_and_a_valid_signature(void **state)
{
    test_t         *t = *state;

    char            body[512], sig[128];
    long long       ts;
    test_req_t     *r;
    notify_conf_t   nc;

    evhttp_set_gencb(t->http, receiver, t);

    write_file(t->secret, TEST_SECRET "\n", 0600);

    conf(t, &nc, "http");
    snprintf(nc.secret_file, sizeof(nc.secret_file), "%s", t->secret);
    start(t, &nc);

    notify_alert(t->n, "alert.opened", "high", TEST_ALERT,
                 sizeof(TEST_ALERT) - 1);

    run(t, 1);

    stats_equal(t, 1, 0, 0, 0, 0);
    assert_int_equal(t->count, 1);

    r = &t->reqs[0];

    snprintf(body, sizeof(body), "{\"event\":\"alert.opened\",\"alert\":%s}",
             TEST_ALERT);

    assert_int_equal(r->method, EVHTTP_REQ_POST);
    assert_string_equal(r->uri, "/hook?src=keryu");
    assert_string_equal(r->ctype, "application/json");
    assert_string_equal(r->event, "alert.opened");
    assert_true(uuid_v4(r->delivery));
    assert_int_equal(r->len, strlen(body));
    assert_string_equal(r->body, body);

    snprintf(sig, sizeof(sig), "127.0.0.1:%u", t->port);
    assert_string_equal(r->host, sig);

    ts = atoll(r->timestamp);
    assert_true(ts >= (long long) time(NULL) - 5
                && ts <= (long long) time(NULL) + 1);

    expected_signature(r->timestamp, r->body, r->len, sig, sizeof(sig));
    assert_string_equal(r->signature, sig);
}


static void
two_500s_then_200_make_three_attempts_and_one_delivery(void **state)
{
    test_t         *t = *state;

    notify_conf_t   nc;

    static const int  statuses[] = { 500, 500 };

    t->statuses = statuses;
    t->nstatuses = 2;
    evhttp_set_gencb(t->http, receiver, t);

    conf(t, &nc, "http");
    start(t, &nc);

    send_alert(t, 1);

    run(t, 1);

    stats_equal(t, 1, 0, 2, 0, 0);
    assert_int_equal(t->count, 3);

    /* one delivery id for all attempts; unsigned without a secret */

    assert_string_equal(t->reqs[0].delivery, t->reqs[1].delivery);
    assert_string_equal(t->reqs[0].delivery, t->reqs[2].delivery);
    assert_string_equal(t->reqs[0].body, t->reqs[2].body);
    assert_int_equal(t->reqs[0].signed_req, 0);
    assert_int_equal(t->reqs[2].signed_req, 0);
}


static void
a_receiver_down_is_given_up_after_the_retries(void **state)
{
    test_t              *t = *state;

    int                  fd;
    socklen_t            len;
    notify_conf_t        nc;
    struct sockaddr_in   sin;

    /* a port nothing listens on */

    fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd != -1);

    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *) &sin, sizeof(sin)), 0);

    len = sizeof(sin);
    assert_int_equal(getsockname(fd, (struct sockaddr *) &sin, &len), 0);
    close(fd);

    notify_conf_defaults(&nc);
    snprintf(nc.webhook, sizeof(nc.webhook), "http://127.0.0.1:%u/",
             ntohs(sin.sin_port));
    nc.retries = 2;
    nc.backoff = 10;
    start(t, &nc);

    send_alert(t, 1);

    run(t, 1);

    stats_equal(t, 0, 1, 2, 0, 0);
    assert_true(t->ticks > 0);
}


static void
a_silent_receiver_times_out_without_blocking_the_loop(void **state)
{
    test_t              *t = *state;

    int                  fd;
    uint64_t             ms;
    unsigned             ticks;
    socklen_t            len;
    notify_conf_t        nc;
    struct sockaddr_in   sin;

    /* the kernel accepts the connection; nobody ever reads or answers */

    fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd != -1);

    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *) &sin, sizeof(sin)), 0);
    assert_int_equal(listen(fd, 8), 0);

    len = sizeof(sin);
    assert_int_equal(getsockname(fd, (struct sockaddr *) &sin, &len), 0);

    notify_conf_defaults(&nc);
    snprintf(nc.webhook, sizeof(nc.webhook), "http://127.0.0.1:%u/",
             ntohs(sin.sin_port));
    nc.retries = 1;
    nc.timeout = 200;
    nc.backoff = 10;
    start(t, &nc);

    send_alert(t, 1);

    ticks = t->ticks;
    ms = run(t, 1);

    close(fd);

    stats_equal(t, 0, 1, 1, 0, 0);

    /* two attempts of 200 ms each, with the ticker running all along */

    assert_true(ms >= 380);
    assert_true(t->ticks - ticks >= 380 / TEST_TICK_MS / 4);
}


static void
a_full_queue_drops_the_oldest(void **state)
{
    test_t         *t = *state;

    unsigned        i, extra;
    notify_conf_t   nc;

    extra = 6;
    t->delay_ms = 2;
    evhttp_set_gencb(t->http, receiver, t);

    conf(t, &nc, "http");
    start(t, &nc);

    /* the loop has not run: nothing is in flight yet */

    for (i = 0; i < NOTIFY_QUEUE_MAX + extra; i++) {
        send_alert(t, i);
    }

    stats_equal(t, 0, 0, 0, NOTIFY_QUEUE_MAX, extra);

    run(t, NOTIFY_QUEUE_MAX + extra);

    stats_equal(t, NOTIFY_QUEUE_MAX, 0, 0, 0, extra);
    assert_int_equal(t->count, NOTIFY_QUEUE_MAX);

    for (i = 0; i < NOTIFY_QUEUE_MAX + extra; i++) {
        if (t->seen[i] != (i < extra ? 0 : 1)) {
            fail_msg("alert %u seen %u times", i, t->seen[i]);
        }
    }

    assert_int_equal(t->pending_max, NOTIFY_INFLIGHT_MAX);
}


static void
a_queue_of_large_bodies_is_bounded_by_bytes(void **state)
{
    test_t         *t = *state;

    char           *json;
    size_t          len;
    unsigned        i;
    notify_conf_t   nc;

    conf(t, &nc, "http");
    start(t, &nc);

    /* a body is the JSON and 33 bytes around it: 32 of them fit */

    len = NOTIFY_BODY_MAX - 64;
    json = malloc(NOTIFY_BODY_MAX + 1);
    assert_non_null(json);

    memset(json, ' ', NOTIFY_BODY_MAX + 1);
    json[0] = '{';
    json[len - 1] = '}';
    json[NOTIFY_BODY_MAX] = '}';

    for (i = 0; i < 40; i++) {
        notify_alert(t->n, "alert.opened", "low", json, len);
    }

    stats_equal(t, 0, 0, 0, 32, 8);

    /* one byte over the limit is refused */

    notify_alert(t->n, "alert.opened", "low", json, NOTIFY_BODY_MAX + 1);
    stats_equal(t, 0, 0, 0, 32, 9);

    free(json);
}


static void
a_secret_readable_by_others_is_refused(void **state)
{
    test_t         *t = *state;

    char            err[512], expect[512];
    notify_conf_t   nc;
    notify_t       *n;

    conf(t, &nc, "http");
    snprintf(nc.secret_file, sizeof(nc.secret_file), "%s", t->secret);

    write_file(t->secret, TEST_SECRET, 0644);

    n = notify_new(t->base, &nc, err, sizeof(err));
    assert_null(n);

    snprintf(expect, sizeof(expect), "webhook secret \"%s\" has mode 0644, "
             "expecting 0600 or stricter", t->secret);
    assert_string_equal(err, expect);

    write_file(t->secret, TEST_SECRET, 0640);
    assert_null(notify_new(t->base, &nc, err, sizeof(err)));

    write_file(t->secret, "short\n", 0600);
    assert_null(notify_new(t->base, &nc, err, sizeof(err)));

    snprintf(expect, sizeof(expect), "webhook secret \"%s\" is shorter than "
             "16 bytes", t->secret);
    assert_string_equal(err, expect);

    write_file(t->secret, TEST_SECRET, 0400);
    n = notify_new(t->base, &nc, err, sizeof(err));
    assert_non_null(n);
    notify_free(n);
}


static void
bad_event_names_and_bodies_are_dropped(void **state)
{
    test_t         *t = *state;

    notify_conf_t   nc;

    evhttp_set_gencb(t->http, receiver, t);

    conf(t, &nc, "http");
    start(t, &nc);

    notify_alert(t->n, "Alert Opened", "low", "{}", 2);
    notify_alert(t->n, "alert\r\nX-Evil: 1", "low", "{}", 2);
    notify_alert(t->n, "alert.opened", "low", "[1]", 3);
    notify_alert(t->n, "alert.opened", "low", "", 0);
    notify_alert(t->n, NULL, "low", "{}", 2);

    stats_equal(t, 0, 0, 0, 0, 5);

    notify_alert(t->n, "alert.updated", NULL, " {\"n\":1}\n", 9);

    run(t, 6);

    stats_equal(t, 1, 0, 0, 0, 5);
    assert_int_equal(t->count, 1);
    assert_string_equal(t->reqs[0].event, "alert.updated");
    assert_string_equal(t->reqs[0].body,
                        "{\"event\":\"alert.updated\",\"alert\": {\"n\":1}\n}");
}


static void
syslog_only_sends_nothing_over_http(void **state)
{
    test_t         *t = *state;

    notify_conf_t   nc;

    notify_conf_defaults(&nc);
    nc.syslog = 1;
    start(t, &nc);

    send_alert(t, 1);
    notify_alert(t->n, "alert.opened", "critical", TEST_ALERT,
                 sizeof(TEST_ALERT) - 1);

    stats_equal(t, 0, 0, 0, 0, 0);
}


static void
https_to_a_trusted_certificate_delivers(void **state)
{
    test_t         *t = *state;

    notify_conf_t   nc;

    t->ssl_ctx = tls_receiver(t, "127.0.0.1");
    evhttp_set_bevcb(t->http, tls_accept, t);
    evhttp_set_gencb(t->http, receiver, t);

    assert_int_equal(setenv("SSL_CERT_FILE", t->cert, 1), 0);

    conf(t, &nc, "https");
    nc.retries = 0;
    start(t, &nc);

    send_alert(t, 1);

    run(t, 1);

    stats_equal(t, 1, 0, 0, 0, 0);
    assert_int_equal(t->count, 1);
    assert_string_equal(t->reqs[0].event, "alert.opened");
}


static void
https_to_a_certificate_for_another_address_fails(void **state)
{
    test_t         *t = *state;

    notify_conf_t   nc;

    t->ssl_ctx = tls_receiver(t, "127.0.0.2");
    evhttp_set_bevcb(t->http, tls_accept, t);
    evhttp_set_gencb(t->http, receiver, t);

    assert_int_equal(setenv("SSL_CERT_FILE", t->cert, 1), 0);

    conf(t, &nc, "https");
    nc.retries = 1;
    start(t, &nc);

    send_alert(t, 1);

    run(t, 1);

    stats_equal(t, 0, 1, 1, 0, 0);
    assert_int_equal(t->count, 0);
}


static void
https_to_an_untrusted_certificate_needs_insecure(void **state)
{
    test_t         *t = *state;

    notify_conf_t   nc;

    t->ssl_ctx = tls_receiver(t, "127.0.0.1");
    evhttp_set_bevcb(t->http, tls_accept, t);
    evhttp_set_gencb(t->http, receiver, t);

    conf(t, &nc, "https");
    nc.retries = 0;
    start(t, &nc);

    send_alert(t, 1);

    run(t, 1);

    stats_equal(t, 0, 1, 0, 0, 0);
    assert_int_equal(t->count, 0);

    notify_free(t->n);

    nc.insecure = 1;
    start(t, &nc);

    send_alert(t, 2);

    run(t, 1);

    stats_equal(t, 1, 0, 0, 0, 0);
    assert_int_equal(t->count, 1);
}


static void
urls_are_checked(void **state)
{
    (void) state;

    assert_true(notify_url_valid("http://127.0.0.1/"));
    assert_true(notify_url_valid("https://hooks.example.com:8443/a/b?c=d"));
    assert_true(notify_url_valid("http://[::1]:8080"));
    assert_true(notify_url_valid("HTTPS://example.com"));

    assert_false(notify_url_valid("ftp://example.com/"));
    assert_false(notify_url_valid("example.com/hook"));
    assert_false(notify_url_valid("http:///hook"));
    assert_false(notify_url_valid("http://user:pw@example.com/"));
    assert_false(notify_url_valid("http://example.com:0/"));
    assert_false(notify_url_valid("http://example.com:65536/"));
    assert_false(notify_url_valid("http://exa mple.com/"));
    assert_false(notify_url_valid("http://[example]/"));
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        test_case(a_signed_delivery_carries_headers_body_and_a_valid_signature),
        test_case(two_500s_then_200_make_three_attempts_and_one_delivery),
        test_case(a_receiver_down_is_given_up_after_the_retries),
        test_case(a_silent_receiver_times_out_without_blocking_the_loop),
        test_case(a_full_queue_drops_the_oldest),
        test_case(a_queue_of_large_bodies_is_bounded_by_bytes),
        test_case(a_secret_readable_by_others_is_refused),
        test_case(bad_event_names_and_bodies_are_dropped),
        test_case(syslog_only_sends_nothing_over_http),
        test_case(https_to_a_trusted_certificate_delivers),
        test_case(https_to_a_certificate_for_another_address_fails),
        test_case(https_to_an_untrusted_certificate_needs_insecure),
        cmocka_unit_test(urls_are_checked),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
