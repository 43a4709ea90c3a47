/*
 * Copyright (C) Keryu Security
 *
 * Serves the dashboard's built files (sidecar/dashboard/, built into
 * build/dashboard/) from one directory, opened once at startup.  A path
 * is taken only if every segment is made of [A-Za-z0-9._-] and does not
 * start with a dot, so neither "..", nor an encoded byte, nor a hidden
 * file gets through; the file is opened one segment at a time from the
 * directory, following no symbolic link on the way, and must be a
 * regular file.  Every answer
 * carries a Content-Security-Policy that allows only the dashboard's own
 * scripts, styles and API calls, and forbids framing.
 */


#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <event2/buffer.h>
#include <event2/http.h>

#include "dashboard.h"
#include "log.h"


#define DASHBOARD_PREFIX    "/dashboard"
#define DASHBOARD_FILE_MAX  (16 * 1024 * 1024)
#define DASHBOARD_PATH_MAX  256

#define DASHBOARD_CSP                                                        \
    "default-src 'self'; script-src 'self'; style-src 'self'; "              \
    "img-src 'self'; connect-src 'self'; font-src 'self'; "                  \
    "object-src 'none'; base-uri 'none'; form-action 'none'; "               \
    "frame-ancestors 'none'"


struct dashboard_s {
    int                 fd;         /* the root directory */
};


typedef struct {
    const char         *ext;
    const char         *type;
} dashboard_type_t;


static void dashboard_headers(struct evhttp_request *req);
static void dashboard_error(struct evhttp_request *req, int code,
    const char *reason);
static int dashboard_path_valid(const char *rel);
static int dashboard_open(int dirfd, const char *rel);
static const char *dashboard_type(const char *rel);


static const dashboard_type_t  dashboard_types[] = {
    { ".html",  "text/html; charset=utf-8" },
    { ".js",    "text/javascript; charset=utf-8" },
    { ".css",   "text/css; charset=utf-8" },
    { ".json",  "application/json" },
    { ".map",   "application/json" },
    { ".svg",   "image/svg+xml" },
    { ".png",   "image/png" },
    { ".ico",   "image/x-icon" },
    { ".woff2", "font/woff2" },
    { ".txt",   "text/plain; charset=utf-8" },
    { NULL,     NULL }
};


int
dashboard_match(const char *path)
{
    size_t  n;

    n = sizeof(DASHBOARD_PREFIX) - 1;

    return path != NULL
           && strncmp(path, DASHBOARD_PREFIX, n) == 0
           && (path[n] == '\0' || path[n] == '/');
}


dashboard_t *
dashboard_new(const char *root)
{
    int           fd;
    dashboard_t  *d;

    if (root[0] == '\0') {
        return NULL;
    }

    fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd == -1) {
        log_warn("dashboard: open() \"%s\" failed, /dashboard/ is off",
                 root);
        return NULL;
    }

    d = calloc(1, sizeof(dashboard_t));
    if (d == NULL) {
        log_warn("%s: calloc", __func__);
        close(fd);
        return NULL;
    }

    d->fd = fd;

    log_info("dashboard from \"%s\"", root);

    return d;
}


void
dashboard_free(dashboard_t *d)
{
    if (d == NULL) {
        return;
    }

    close(d->fd);
    free(d);
}


void
dashboard_serve(dashboard_t *d, struct evhttp_request *req, const char *path)
{
    int                    fd;
    char                   len[24];
    off_t                  left;
    ssize_t                n;
    const char            *rel, *type;
    struct stat            sb;
    struct evbuffer       *body;
    struct evkeyvalq      *h;
    enum evhttp_cmd_type   cmd;

    cmd = evhttp_request_get_command(req);

    if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Allow",
                          "GET, HEAD");
        dashboard_error(req, HTTP_BADMETHOD, "method not allowed");
        return;
    }

    rel = path + sizeof(DASHBOARD_PREFIX) - 1;

    /* relative links in the page resolve against "/dashboard/" only */

    if (rel[0] == '\0') {
        h = evhttp_request_get_output_headers(req);
        evhttp_add_header(h, "Location", DASHBOARD_PREFIX "/");
        dashboard_headers(req);
        evhttp_send_reply(req, HTTP_MOVEPERM, "Moved Permanently", NULL);
        return;
    }

    rel++;

    if (rel[0] == '\0') {
        rel = "index.html";
    }

    if (d == NULL) {
        dashboard_error(req, HTTP_NOTFOUND, "dashboard not installed");
        return;
    }

    type = dashboard_type(rel);

    if (!dashboard_path_valid(rel) || type == NULL) {
        dashboard_error(req, HTTP_NOTFOUND, "not found");
        return;
    }

    fd = dashboard_open(d->fd, rel);
    if (fd == -1) {
        if (errno != ENOENT && errno != ELOOP && errno != ENOTDIR) {
            log_warn("dashboard: openat() \"%s\" failed", rel);
        }

        dashboard_error(req, HTTP_NOTFOUND, "not found");
        return;
    }

    if (fstat(fd, &sb) == -1) {
        log_warn("dashboard: fstat() \"%s\" failed", rel);
        dashboard_error(req, HTTP_INTERNAL, "internal error");
        goto fd_close;
    }

    if (!S_ISREG(sb.st_mode) || sb.st_size > DASHBOARD_FILE_MAX) {
        dashboard_error(req, HTTP_NOTFOUND, "not found");
        goto fd_close;
    }

    h = evhttp_request_get_output_headers(req);

    /* libevent would send a HEAD's body: give its length alone */

    if (cmd == EVHTTP_REQ_HEAD) {
        snprintf(len, sizeof(len), "%lld", (long long) sb.st_size);
        evhttp_add_header(h, "Content-Type", type);
        evhttp_add_header(h, "Content-Length", len);
        dashboard_headers(req);
        evhttp_send_reply(req, HTTP_OK, "OK", NULL);
        goto fd_close;
    }

    body = evbuffer_new();
    if (body == NULL) {
        log_warnx("%s: evbuffer_new() failed", __func__);
        dashboard_error(req, HTTP_INTERNAL, "internal error");
        goto fd_close;
    }

    /* the files are small: read whole, so TLS and plain HTTP alike work */

    for (left = sb.st_size; left > 0; left -= n) {
        n = evbuffer_read(body, fd, (int) left);

        if (n <= 0) {
            log_warn("dashboard: read() \"%s\" failed", rel);
            evbuffer_free(body);
            dashboard_error(req, HTTP_INTERNAL, "internal error");
            goto fd_close;
        }
    }

    evhttp_add_header(h, "Content-Type", type);
    dashboard_headers(req);

    evhttp_send_reply(req, HTTP_OK, "OK", body);

    evbuffer_free(body);

fd_close:

    close(fd);
}


static void
dashboard_headers(struct evhttp_request *req)
{
    struct evkeyvalq  *h;

    h = evhttp_request_get_output_headers(req);

    evhttp_add_header(h, "Content-Security-Policy", DASHBOARD_CSP);
    evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
    evhttp_add_header(h, "X-Frame-Options", "DENY");
    evhttp_add_header(h, "Referrer-Policy", "no-referrer");
    evhttp_add_header(h, "Cross-Origin-Opener-Policy", "same-origin");
    evhttp_add_header(h, "Cache-Control", "no-cache");
}


/* {"error":reason}; reasons are fixed strings, so no escaping is needed */

static void
dashboard_error(struct evhttp_request *req, int code, const char *reason)
{
    struct evbuffer   *body;
    struct evkeyvalq  *h;

    body = evbuffer_new();
    if (body == NULL) {
        log_warnx("%s: evbuffer_new() failed", __func__);
        evhttp_send_error(req, HTTP_INTERNAL, NULL);
        return;
    }

    if (evbuffer_add_printf(body, "{\"error\":\"%s\"}", reason) == -1) {
        log_warnx("%s: evbuffer_add_printf() failed", __func__);
        evbuffer_free(body);
        evhttp_send_error(req, HTTP_INTERNAL, NULL);
        return;
    }

    h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Content-Type", "application/json");
    dashboard_headers(req);

    evhttp_send_reply(req, code, NULL, body);

    evbuffer_free(body);
}


/* segments of [A-Za-z0-9._-], none empty or starting with a dot */

static int
dashboard_path_valid(const char *rel)
{
    size_t       len;
    const char  *p;

    len = strlen(rel);

    if (len == 0 || len > DASHBOARD_PATH_MAX) {
        return 0;
    }

    for (p = rel; *p; p++) {
        if (p == rel || p[-1] == '/') {
            if (*p == '.' || *p == '/') {
                return 0;
            }
        }

        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')
              || (*p >= '0' && *p <= '9')
              || *p == '.' || *p == '_' || *p == '-' || *p == '/'))
        {
            return 0;
        }
    }

    return rel[len - 1] != '/';
}


/*
 * opens rel, checked by dashboard_path_valid(), under dirfd: each
 * directory on the way and the file itself with O_NOFOLLOW, so a
 * symbolic link anywhere in the path fails with ELOOP or ENOTDIR;
 * returns the descriptor, or -1 with errno set
 */

static int
dashboard_open(int dirfd, const char *rel)
{
    int          fd, next, err;
    char         seg[DASHBOARD_PATH_MAX + 1];
    size_t       n;
    const char  *slash;

    fd = dirfd;

    while ((slash = strchr(rel, '/')) != NULL) {
        n = (size_t) (slash - rel);
        memcpy(seg, rel, n);
        seg[n] = '\0';

        next = openat(fd, seg, O_RDONLY | O_DIRECTORY | O_NOFOLLOW
                               | O_CLOEXEC);
        err = errno;

        if (fd != dirfd) {
            close(fd);
        }

        if (next == -1) {
            errno = err;
            return -1;
        }

        fd = next;
        rel = slash + 1;
    }

    next = openat(fd, rel, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    err = errno;

    if (fd != dirfd) {
        close(fd);
    }

    errno = err;

    return next;
}


/* the type of rel's extension; NULL for one not served */

static const char *
dashboard_type(const char *rel)
{
    size_t                   n, len;
    const dashboard_type_t  *t;

    len = strlen(rel);

    for (t = dashboard_types; t->ext; t++) {
        n = strlen(t->ext);

        if (len > n && strcmp(rel + len - n, t->ext) == 0) {
            return t->type;
        }
    }

    return NULL;
}
