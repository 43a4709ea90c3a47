/*
 * Copyright (C) Keryu Security
 *
 * Alert notifications: a webhook (an HTTP or HTTPS POST per alert event,
 * signed when a secret is configured, retried with backoff) and syslog
 * (one line per alert event).  The caller hands over an alert already
 * serialised as a JSON object; notify_alert() copies it, queues it and
 * returns at once.  Deliveries run on the caller's event loop, which they
 * never block: at most NOTIFY_INFLIGHT_MAX at a time, up to
 * NOTIFY_QUEUE_MAX more waiting (NOTIFY_QUEUE_BYTES of bodies), the oldest
 * dropped when the queue is full.
 */


#ifndef _KERYUD_NOTIFY_H_INCLUDED_
#define _KERYUD_NOTIFY_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>


#define NOTIFY_URL_MAX        1024
#define NOTIFY_PATH_MAX       1024
#define NOTIFY_EVENT_MAX      64

#define NOTIFY_RETRIES        5
#define NOTIFY_RETRIES_MAX    100
#define NOTIFY_TIMEOUT        5000              /* milliseconds */
#define NOTIFY_TIMEOUT_MIN    100
#define NOTIFY_TIMEOUT_MAX    (5 * 60 * 1000)
#define NOTIFY_BACKOFF        1000              /* milliseconds */
#define NOTIFY_BACKOFF_MAX    (60 * 1000)

/* deliveries waiting, and the bytes of their bodies */
#define NOTIFY_QUEUE_MAX      1024
#define NOTIFY_QUEUE_BYTES    (32 * 1024 * 1024)

#define NOTIFY_INFLIGHT_MAX   4
#define NOTIFY_BODY_MAX       (1024 * 1024)     /* the alert's JSON */
#define NOTIFY_SYSLOG_MAX     1024              /* JSON bytes per line */
#define NOTIFY_SECRET_MIN     16
#define NOTIFY_SECRET_MAX     4096


typedef struct {
    char                webhook[NOTIFY_URL_MAX];      /* "": none */
    char                secret_file[NOTIFY_PATH_MAX]; /* "": unsigned */
    unsigned            retries;          /* after the first attempt */
    uint64_t            timeout;          /* milliseconds per attempt */
    uint64_t            backoff;          /* milliseconds, first retry */
    int                 insecure;         /* https: no certificate check */
    int                 syslog;
    int                 facility;         /* LOG_DAEMON, LOG_LOCAL0, ... */
} notify_conf_t;


/* counters since notify_new(); queued is a gauge, the others only grow */
typedef struct {
    uint64_t            sent;             /* answered 2xx */
    uint64_t            failed;           /* gave up after the retries */
    uint64_t            retried;          /* attempts after a first one */
    uint64_t            queued;           /* waiting or in flight now */
    uint64_t            dropped;          /* pushed out of a full queue */
} notify_stats_t;


struct event_base;

typedef struct notify_s  notify_t;


/* webhook none, retries 5, timeout 5s, backoff 1s, syslog off, daemon */
void notify_conf_defaults(notify_conf_t *nc);

/* returns 1 for an http:// or https:// URL with a host, else 0 */
int notify_url_valid(const char *url);

/*
 * reads the secret file, which must be a regular file of mode 0600 or
 * stricter, and prepares the webhook and syslog; returns NULL with the
 * reason in err.  Nothing it logs or returns holds the secret.
 */
notify_t *notify_new(struct event_base *base, const notify_conf_t *nc,
    char *err, size_t errlen);

/*
 * keys the webhook's HMAC with secret (len bytes), replacing the key
 * before; keys.c gives the webhook_signing key when there is no
 * webhook_secret file.  Returns 0, or -1 leaving the key before in place
 */
int notify_set_secret(notify_t *n, const uint8_t *secret, size_t len);

/* drops whatever is still queued or in flight; NULL is allowed */
void notify_free(notify_t *n);

/*
 * sends one alert event: "alert.opened", "alert.updated" and so on, json
 * an object of len bytes (copied).  severity ("low", "medium", "high",
 * "critical") sets the syslog priority.  Never blocks and never fails the
 * caller; what cannot be queued is logged and counted as dropped.
 */
void notify_alert(notify_t *n, const char *event, const char *severity,
    const char *json, size_t len);

void notify_stats(notify_t *n, notify_stats_t *st);


#endif /* _KERYUD_NOTIFY_H_INCLUDED_ */
