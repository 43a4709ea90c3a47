/*
 * Copyright (C) Keryu Security
 *
 * The configuration file.  The grammar is nginx's, cut down: a directive
 * is a name, one argument and a ";", "#" starts a comment that runs to the
 * end of the line, and an argument may be quoted with "..." (\" and \\
 * escape inside quotes).  Parsing is strict: an unknown directive, a bad
 * value, a repeated directive or a missing required one fails the whole
 * file with one message of the form "FILE:LINE: reason".
 */


#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <sys/stat.h>

#include "keryud.h"
#include "admin.h"
#include "keys.h"


#define CONF_WORD_MAX  CONF_PATH_MAX
#define CONF_FILE_MAX  (1024 * 1024)
#define CONF_ARGS_MAX  3

/* PREFIX/share/keryu, which the Makefile sets from its prefix */
#ifndef KERYU_SHARE
#define KERYU_SHARE    "/usr/local/share/keryu"
#endif


typedef struct {
    const char         *file;
    const char         *p;
    const char         *end;
    unsigned            line;
    char               *err;
    size_t              errlen;
    unsigned            nargs;            /* arguments of the directive */
    char              (*args)[CONF_WORD_MAX];
} conf_ctx_t;


typedef int (*conf_set_pt)(conf_ctx_t *ctx, conf_t *cf, const char *value);


typedef struct {
    const char         *name;
    conf_set_pt         set;
    int                 required;
    unsigned            max_args;
} conf_command_t;


static int conf_error(conf_ctx_t *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static char *conf_read(const char *file, size_t *len, char *err,
    size_t errlen);
static int conf_token(conf_ctx_t *ctx, char *word, size_t size, int *quoted);
static int conf_parse_time(const char *s, uint64_t *ms);
static int conf_parse_size(const char *s, uint64_t *bytes);
static int conf_set_path(conf_ctx_t *ctx, char *dst, const char *name,
    const char *value);
static int conf_set_store(conf_ctx_t *ctx, conf_t *cf, const char *value);
static int conf_set_data(conf_ctx_t *ctx, conf_t *cf, const char *value);
static int conf_set_pid_file(conf_ctx_t *ctx, conf_t *cf, const char *value);
static int conf_set_listen(conf_ctx_t *ctx, conf_t *cf, const char *value);
static int conf_set_poll(conf_ctx_t *ctx, conf_t *cf, const char *value);
static int conf_set_sync(conf_ctx_t *ctx, conf_t *cf, const char *value);
static int conf_set_batch(conf_ctx_t *ctx, conf_t *cf, const char *value);
static int conf_set_data_size(conf_ctx_t *ctx, conf_t *cf,
    const char *value);
static int conf_set_log_level(conf_ctx_t *ctx, conf_t *cf,
    const char *value);
static int conf_set_tls_certificate(conf_ctx_t *ctx, conf_t *cf,
    const char *value);
static int conf_set_tls_key(conf_ctx_t *ctx, conf_t *cf, const char *value);
static int conf_set_retention(conf_ctx_t *ctx, conf_t *cf,
    const char *value);
static unsigned conf_seen(const unsigned *seen, const char *name);
static int conf_webhook_check(const unsigned *seen, const char *file,
    char *err, size_t errlen);
static int conf_parse_flag(const char *s, int *flag);
static int conf_set_webhook(conf_ctx_t *ctx, conf_t *cf, const char *value);
static int conf_set_webhook_secret(conf_ctx_t *ctx, conf_t *cf,
    const char *value);
static int conf_set_webhook_retries(conf_ctx_t *ctx, conf_t *cf,
    const char *value);
static int conf_set_webhook_timeout(conf_ctx_t *ctx, conf_t *cf,
    const char *value);
static int conf_set_webhook_insecure(conf_ctx_t *ctx, conf_t *cf,
    const char *value);
static int conf_set_syslog(conf_ctx_t *ctx, conf_t *cf, const char *value);
static int conf_set_default_policies(conf_ctx_t *ctx, conf_t *cf,
    const char *value);
static int conf_set_syslog_facility(conf_ctx_t *ctx, conf_t *cf,
    const char *value);
static int conf_set_master_key(conf_ctx_t *ctx, conf_t *cf,
    const char *value);
static int conf_set_key_period(conf_ctx_t *ctx, conf_t *cf,
    const char *value);
static int conf_set_key_grace(conf_ctx_t *ctx, conf_t *cf,
    const char *value);
static int conf_set_controls(conf_ctx_t *ctx, conf_t *cf,
    const char *value);
static int conf_set_nginx_cves(conf_ctx_t *ctx, conf_t *cf,
    const char *value);
static int conf_set_compliance_interval(conf_ctx_t *ctx, conf_t *cf,
    const char *value);
static int conf_set_dashboard_root(conf_ctx_t *ctx, conf_t *cf,
    const char *value);
static int conf_set_metrics_interval(conf_ctx_t *ctx, conf_t *cf,
    const char *value);


static const conf_command_t  conf_commands[] = {
    { "store",             conf_set_store,             1, 1 },
    { "data",              conf_set_data,              1, 1 },
    { "listen",            conf_set_listen,            0, 1 },
    { "poll_interval",     conf_set_poll,              0, 1 },
    { "sync_interval",     conf_set_sync,              0, 1 },
    { "batch",             conf_set_batch,             0, 1 },
    { "data_size",         conf_set_data_size,         0, 1 },
    { "pid_file",          conf_set_pid_file,          0, 1 },
    { "log_level",         conf_set_log_level,         0, 1 },
    { "tls_certificate",   conf_set_tls_certificate,   0, 1 },
    { "tls_key",           conf_set_tls_key,           0, 1 },
    { "retention",         conf_set_retention,         0, 1 },
    { "webhook",           conf_set_webhook,           0, 1 },
    { "webhook_secret",    conf_set_webhook_secret,    0, 1 },
    { "webhook_retries",   conf_set_webhook_retries,   0, 1 },
    { "webhook_timeout",   conf_set_webhook_timeout,   0, 1 },
    { "webhook_insecure",  conf_set_webhook_insecure,  0, 1 },
    { "default_policies",  conf_set_default_policies,  0, 1 },
    { "syslog",            conf_set_syslog,            0, 1 },
    { "syslog_facility",   conf_set_syslog_facility,   0, 1 },
    { "master_key",        conf_set_master_key,        0, 1 },
    { "key_period",        conf_set_key_period,        0, 2 },
    { "key_grace",         conf_set_key_grace,         0, 1 },
    { "controls",          conf_set_controls,          0, 1 },
    { "nginx_cves",        conf_set_nginx_cves,        0, 1 },
    { "compliance_interval", conf_set_compliance_interval, 0, 1 },
    { "dashboard_root",    conf_set_dashboard_root,    0, 1 },
    { "metrics_interval",  conf_set_metrics_interval,  0, 1 }
};

#define CONF_NCOMMANDS  (sizeof(conf_commands) / sizeof(conf_commands[0]))


void
conf_defaults(conf_t *cf)
{
    struct stat  sb;

    memset(cf, 0, sizeof(conf_t));

    strcpy(cf->listen_addr, "127.0.0.1");
    cf->listen_port = 8081;
    cf->poll_interval = 25;
    cf->sync_interval = 1000;
    cf->batch = 16384;
    cf->data_size = 1024ULL * 1024 * 1024;
    cf->retention = 30 * 86400;

    notify_conf_defaults(&cf->notify);
    cf->default_policies = 1;

    keys_conf_defaults(cf);

    /* the repository's files, as "make run" and the tests start keryud */

    strcpy(cf->controls, "conf/controls.json");
    strcpy(cf->nginx_cves, "conf/nginx-cves.json");

    /* a source tree's build, else where "make install" put the files */

    if (stat("build/dashboard", &sb) == 0 && S_ISDIR(sb.st_mode)) {
        strcpy(cf->dashboard_root, "build/dashboard");

    } else {
        strcpy(cf->dashboard_root, KERYU_SHARE "/dashboard");
    }
    cf->compliance_interval = 24 * 60 * 60 * 1000;
    cf->metrics_interval = 10;
}


int
conf_parse(conf_t *cf, const char *file, char *err, size_t errlen)
{
    int          rc, quoted;
    char        *text, name[CONF_WORD_MAX], semi[CONF_WORD_MAX],
                 args[CONF_ARGS_MAX][CONF_WORD_MAX];
    size_t       i, len;
    unsigned     line, max, cert, key, seen[CONF_NCOMMANDS];
    conf_ctx_t   ctx;

    conf_defaults(cf);
    memset(seen, 0, sizeof(seen));

    text = conf_read(file, &len, err, errlen);
    if (text == NULL) {
        return -1;
    }

    ctx.file = file;
    ctx.p = text;
    ctx.end = text + len;
    ctx.line = 1;
    ctx.err = err;
    ctx.errlen = errlen;
    ctx.nargs = 0;
    ctx.args = args;

    rc = -1;

    for ( ;; ) {
        if (conf_token(&ctx, name, sizeof(name), &quoted) == -1) {
            goto done;
        }

        if (name[0] == '\0' && !quoted) {
            break;
        }

        line = ctx.line;

        for (i = 0; i < CONF_NCOMMANDS; i++) {
            if (strcmp(conf_commands[i].name, name) == 0) {
                break;
            }
        }

        if (i == CONF_NCOMMANDS || quoted) {
            conf_error(&ctx, "unknown directive \"%s\"", name);
            goto done;
        }

        /* key_period is given once per key type, which it checks itself */

        if (seen[i] && conf_commands[i].set != conf_set_key_period) {
            conf_error(&ctx, "\"%s\" directive is duplicate, first at line %u",
                       name, seen[i]);
            goto done;
        }

        seen[i] = line;

        if (conf_token(&ctx, args[0], CONF_WORD_MAX, &quoted) == -1) {
            goto done;
        }

        if ((args[0][0] == '\0' && !quoted)
            || (!quoted && strcmp(args[0], ";") == 0))
        {
            conf_error(&ctx, "invalid number of arguments in \"%s\" directive",
                       name);
            goto done;
        }

        max = conf_commands[i].max_args;
        ctx.nargs = 1;

        for ( ;; ) {
            if (conf_token(&ctx, semi, sizeof(semi), &quoted) == -1) {
                goto done;
            }

            if (!quoted && strcmp(semi, ";") == 0) {
                break;
            }

            if (semi[0] == '\0' && !quoted) {
                conf_error(&ctx, "unexpected end of file, expecting \";\"");
                goto done;
            }

            if (ctx.nargs == max) {
                conf_error(&ctx, "invalid number of arguments in \"%s\" "
                           "directive", name);
                goto done;
            }

            memcpy(args[ctx.nargs++], semi, strlen(semi) + 1);
        }

        ctx.line = line;

        if (conf_commands[i].set(&ctx, cf, args[0]) == -1) {
            goto done;
        }
    }

    for (i = 0; i < CONF_NCOMMANDS; i++) {
        if (conf_commands[i].required && !seen[i]) {
            snprintf(err, errlen, "%s: no \"%s\" directive", file,
                     conf_commands[i].name);
            goto done;
        }
    }

    /* TLS needs both files; one of them alone is a mistake, not plain HTTP */

    cert = conf_seen(seen, "tls_certificate");
    key = conf_seen(seen, "tls_key");

    if (cert != 0 && key == 0) {
        snprintf(err, errlen, "%s:%u: no \"tls_key\" directive for "
                 "\"tls_certificate\"", file, cert);
        goto done;
    }

    if (key != 0 && cert == 0) {
        snprintf(err, errlen, "%s:%u: no \"tls_certificate\" directive for "
                 "\"tls_key\"", file, key);
        goto done;
    }

    if (conf_webhook_check(seen, file, err, errlen) == -1) {
        goto done;
    }

    rc = 0;

done:

    free(text);

    return rc;
}


static int
conf_error(conf_ctx_t *ctx, const char *fmt, ...)
{
    int      n;
    va_list  ap;

    n = snprintf(ctx->err, ctx->errlen, "%s:%u: ", ctx->file, ctx->line);

    if (n >= 0 && (size_t) n < ctx->errlen) {
        va_start(ap, fmt);
        vsnprintf(ctx->err + n, ctx->errlen - n, fmt, ap);
        va_end(ap);
    }

    return -1;
}


/* the line a directive was given on, or 0 if the file has none */

static unsigned
conf_seen(const unsigned *seen, const char *name)
{
    size_t  i;

    for (i = 0; i < CONF_NCOMMANDS; i++) {
        if (strcmp(conf_commands[i].name, name) == 0) {
            return seen[i];
        }
    }

    return 0;
}


/* the webhook_ directives mean nothing without a webhook */

static int
conf_webhook_check(const unsigned *seen, const char *file, char *err,
    size_t errlen)
{
    size_t    i, first;
    unsigned  line;

    if (conf_seen(seen, "webhook") != 0) {
        return 0;
    }

    line = 0;
    first = 0;

    for (i = 0; i < CONF_NCOMMANDS; i++) {
        if (seen[i] != 0 && (line == 0 || seen[i] < line)
            && strncmp(conf_commands[i].name, "webhook_", 8) == 0)
        {
            line = seen[i];
            first = i;
        }
    }

    if (line == 0) {
        return 0;
    }

    snprintf(err, errlen, "%s:%u: no \"webhook\" directive for \"%s\"",
             file, line, conf_commands[first].name);

    return -1;
}


/* reads the whole file; a file with a NUL byte in it is refused */

static char *
conf_read(const char *file, size_t *len, char *err, size_t errlen)
{
    char    *text;
    FILE    *fp;
    size_t   n;

    fp = fopen(file, "r");
    if (fp == NULL) {
        snprintf(err, errlen, "%s: %s", file, strerror(errno));
        return NULL;
    }

    text = malloc(CONF_FILE_MAX + 1);
    if (text == NULL) {
        snprintf(err, errlen, "%s: %s", file, strerror(errno));
        goto file_close;
    }

    n = fread(text, 1, CONF_FILE_MAX + 1, fp);

    if (ferror(fp)) {
        snprintf(err, errlen, "%s: read error", file);
        goto text_free;
    }

    if (n > CONF_FILE_MAX) {
        snprintf(err, errlen, "%s: file is too large", file);
        goto text_free;
    }

    if (memchr(text, '\0', n) != NULL) {
        snprintf(err, errlen, "%s: file contains a NUL byte", file);
        goto text_free;
    }

    text[n] = '\0';
    *len = n;

    fclose(fp);

    return text;

text_free:

    free(text);

file_close:

    fclose(fp);

    return NULL;
}


/*
 * reads the next word, a quoted string or ";" into word; an empty unquoted
 * word means the end of the file
 */

static int
conf_token(conf_ctx_t *ctx, char *word, size_t size, int *quoted)
{
    char    c;
    size_t  n;

    *quoted = 0;
    n = 0;

    for ( ;; ) {
        while (ctx->p < ctx->end && isspace((unsigned char) *ctx->p)) {
            if (*ctx->p == '\n') {
                ctx->line++;
            }

            ctx->p++;
        }

        if (ctx->p < ctx->end && *ctx->p == '#') {
            while (ctx->p < ctx->end && *ctx->p != '\n') {
                ctx->p++;
            }

            continue;
        }

        break;
    }

    if (ctx->p == ctx->end) {
        word[0] = '\0';
        return 0;
    }

    if (*ctx->p == ';') {
        ctx->p++;
        strcpy(word, ";");
        return 0;
    }

    if (*ctx->p == '"') {
        *quoted = 1;
        ctx->p++;

        for ( ;; ) {
            if (ctx->p == ctx->end || *ctx->p == '\n') {
                return conf_error(ctx, "unterminated quoted string");
            }

            c = *ctx->p++;

            if (c == '"') {
                break;
            }

            if (c == '\\' && ctx->p < ctx->end
                && (*ctx->p == '"' || *ctx->p == '\\'))
            {
                c = *ctx->p++;
            }

            if (n + 1 == size) {
                return conf_error(ctx, "argument is too long");
            }

            word[n++] = c;
        }

        word[n] = '\0';

        return 0;
    }

    while (ctx->p < ctx->end && !isspace((unsigned char) *ctx->p)
           && *ctx->p != ';' && *ctx->p != '#' && *ctx->p != '"')
    {
        if (n + 1 == size) {
            return conf_error(ctx, "argument is too long");
        }

        word[n++] = *ctx->p++;
    }

    word[n] = '\0';

    return 0;
}


/* a number with an optional unit: ms, s (the default), m or h */

static int
conf_parse_time(const char *s, uint64_t *ms)
{
    char      *end;
    uint64_t   n, scale;

    if (!isdigit((unsigned char) s[0])) {
        return -1;
    }

    errno = 0;
    n = strtoull(s, &end, 10);

    if (errno != 0) {
        return -1;
    }

    if (strcmp(end, "ms") == 0) {
        scale = 1;

    } else if (strcmp(end, "s") == 0 || *end == '\0') {
        scale = 1000;

    } else if (strcmp(end, "m") == 0) {
        scale = 60 * 1000;

    } else if (strcmp(end, "h") == 0) {
        scale = 60 * 60 * 1000;

    } else {
        return -1;
    }

    if (n > UINT64_MAX / scale) {
        return -1;
    }

    *ms = n * scale;

    return 0;
}


/* a number of bytes with an optional unit: k, m or g, in either case */

static int
conf_parse_size(const char *s, uint64_t *bytes)
{
    char      *end;
    uint64_t   n, scale;

    if (!isdigit((unsigned char) s[0])) {
        return -1;
    }

    errno = 0;
    n = strtoull(s, &end, 10);

    if (errno != 0) {
        return -1;
    }

    switch (*end) {

    case '\0':
        scale = 1;
        break;

    case 'k':
    case 'K':
        scale = 1024;
        break;

    case 'm':
    case 'M':
        scale = 1024 * 1024;
        break;

    case 'g':
    case 'G':
        scale = 1024 * 1024 * 1024;
        break;

    default:
        return -1;
    }

    if (*end != '\0' && end[1] != '\0') {
        return -1;
    }

    if (n > UINT64_MAX / scale) {
        return -1;
    }

    *bytes = n * scale;

    return 0;
}


static int
conf_set_path(conf_ctx_t *ctx, char *dst, const char *name, const char *value)
{
    if (value[0] == '\0') {
        return conf_error(ctx, "empty path in \"%s\" directive", name);
    }

    if (strlen(value) >= CONF_PATH_MAX) {
        return conf_error(ctx, "path in \"%s\" directive is too long", name);
    }

    strcpy(dst, value);

    return 0;
}


static int
conf_set_store(conf_ctx_t *ctx, conf_t *cf, const char *value)
{
    return conf_set_path(ctx, cf->store, "store", value);
}


static int
conf_set_data(conf_ctx_t *ctx, conf_t *cf, const char *value)
{
    return conf_set_path(ctx, cf->data, "data", value);
}


static int
conf_set_pid_file(conf_ctx_t *ctx, conf_t *cf, const char *value)
{
    return conf_set_path(ctx, cf->pid_file, "pid_file", value);
}


static int
conf_set_tls_certificate(conf_ctx_t *ctx, conf_t *cf, const char *value)
{
    return conf_set_path(ctx, cf->tls_certificate, "tls_certificate", value);
}


static int
conf_set_tls_key(conf_ctx_t *ctx, conf_t *cf, const char *value)
{
    return conf_set_path(ctx, cf->tls_key, "tls_key", value);
}


/* "ADDR:PORT" for IPv4, "[ADDR]:PORT" for IPv6, numeric only */

static int
conf_set_listen(conf_ctx_t *ctx, conf_t *cf, const char *value)
{
    int            af;
    char          *end, host[64];
    size_t         len;
    uint8_t        buf[16];
    const char    *colon, *addr;
    unsigned long  port;

    addr = value;
    colon = strrchr(value, ':');
    if (colon == NULL || colon == value) {
        goto invalid;
    }

    len = (size_t) (colon - value);
    af = AF_INET;

    if (value[0] == '[') {
        if (len < 3 || value[len - 1] != ']') {
            goto invalid;
        }

        value++;
        len -= 2;
        af = AF_INET6;
    }

    if (len >= sizeof(host)) {
        goto invalid;
    }

    memcpy(host, value, len);
    host[len] = '\0';

    if (inet_pton(af, host, buf) != 1) {
        goto invalid;
    }

    if (!isdigit((unsigned char) colon[1])) {
        goto invalid;
    }

    errno = 0;
    port = strtoul(colon + 1, &end, 10);

    if (errno != 0 || *end != '\0' || port == 0 || port > 65535) {
        goto invalid;
    }

    strcpy(cf->listen_addr, host);
    cf->listen_port = (uint16_t) port;

    return 0;

invalid:

    return conf_error(ctx, "invalid address \"%s\" in \"listen\" directive, "
                      "expecting ADDR:PORT", addr);
}


static int
conf_set_poll(conf_ctx_t *ctx, conf_t *cf, const char *value)
{
    if (conf_parse_time(value, &cf->poll_interval) == -1
        || cf->poll_interval < 1 || cf->poll_interval > 60 * 1000)
    {
        return conf_error(ctx, "invalid time \"%s\" in \"poll_interval\" "
                          "directive, expecting 1ms to 60s", value);
    }

    return 0;
}


static int
conf_set_sync(conf_ctx_t *ctx, conf_t *cf, const char *value)
{
    if (conf_parse_time(value, &cf->sync_interval) == -1
        || cf->sync_interval < 10 || cf->sync_interval > 60 * 60 * 1000)
    {
        return conf_error(ctx, "invalid time \"%s\" in \"sync_interval\" "
                          "directive, expecting 10ms to 1h", value);
    }

    return 0;
}


static int
conf_set_batch(conf_ctx_t *ctx, conf_t *cf, const char *value)
{
    char  *end;

    if (!isdigit((unsigned char) value[0])) {
        goto invalid;
    }

    errno = 0;
    cf->batch = strtoull(value, &end, 10);

    if (errno != 0 || *end != '\0' || cf->batch < 1 || cf->batch > 1000000) {
        goto invalid;
    }

    return 0;

invalid:

    return conf_error(ctx, "invalid number \"%s\" in \"batch\" "
                      "directive, expecting 1 to 1000000", value);
}


static int
conf_set_data_size(conf_ctx_t *ctx, conf_t *cf, const char *value)
{
    if (conf_parse_size(value, &cf->data_size) == -1
        || cf->data_size < 1024 * 1024
        || cf->data_size > 1024ULL * 1024 * 1024 * 1024)
    {
        return conf_error(ctx, "invalid size \"%s\" in \"data_size\" "
                          "directive, expecting 1m to 1024g", value);
    }

    return 0;
}


static int
conf_set_log_level(conf_ctx_t *ctx, conf_t *cf, const char *value)
{
    if (strcmp(value, "info") == 0) {
        cf->log_debug = 0;

    } else if (strcmp(value, "debug") == 0) {
        cf->log_debug = 1;

    } else {
        return conf_error(ctx, "invalid value \"%s\" in \"log_level\" "
                          "directive, expecting \"info\" or \"debug\"", value);
    }

    return 0;
}


/* retention DAYS; or retention off; */

static int
conf_set_retention(conf_ctx_t *ctx, conf_t *cf, const char *value)
{
    char      *end;
    uint64_t   days;

    if (strcmp(value, "off") == 0) {
        cf->retention = 0;
        return 0;
    }

    if (!isdigit((unsigned char) value[0])) {
        goto invalid;
    }

    errno = 0;
    days = strtoull(value, &end, 10);

    if (errno != 0 || *end != '\0' || days < 1 || days > 36500) {
        goto invalid;
    }

    cf->retention = days * 86400;

    return 0;

invalid:

    return conf_error(ctx, "invalid number \"%s\" in \"retention\" "
                      "directive, expecting 1 to 36500 days or \"off\"",
                      value);
}


/* "on" or "off" */

static int
conf_parse_flag(const char *s, int *flag)
{
    if (strcmp(s, "on") == 0) {
        *flag = 1;
        return 0;
    }

    if (strcmp(s, "off") == 0) {
        *flag = 0;
        return 0;
    }

    return -1;
}


static int
conf_set_webhook(conf_ctx_t *ctx, conf_t *cf, const char *value)
{
    if (!notify_url_valid(value)) {
        return conf_error(ctx, "invalid URL \"%s\" in \"webhook\" "
                          "directive, expecting http:// or https://, a host, "
                          "and an optional port, path and query", value);
    }

    strcpy(cf->notify.webhook, value);

    return 0;
}


static int
conf_set_webhook_secret(conf_ctx_t *ctx, conf_t *cf, const char *value)
{
    if (value[0] == '\0') {
        return conf_error(ctx, "empty path in \"webhook_secret\" directive");
    }

    if (strlen(value) >= sizeof(cf->notify.secret_file)) {
        return conf_error(ctx, "path in \"webhook_secret\" directive is too "
                          "long");
    }

    strcpy(cf->notify.secret_file, value);

    return 0;
}


static int
conf_set_webhook_retries(conf_ctx_t *ctx, conf_t *cf, const char *value)
{
    char                *end;
    unsigned long long   n;

    if (!isdigit((unsigned char) value[0])) {
        goto invalid;
    }

    errno = 0;
    n = strtoull(value, &end, 10);

    if (errno != 0 || *end != '\0' || n > NOTIFY_RETRIES_MAX) {
        goto invalid;
    }

    cf->notify.retries = (unsigned) n;

    return 0;

invalid:

    return conf_error(ctx, "invalid number \"%s\" in \"webhook_retries\" "
                      "directive, expecting 0 to %d", value,
                      NOTIFY_RETRIES_MAX);
}


static int
conf_set_webhook_timeout(conf_ctx_t *ctx, conf_t *cf, const char *value)
{
    if (conf_parse_time(value, &cf->notify.timeout) == -1
        || cf->notify.timeout < NOTIFY_TIMEOUT_MIN
        || cf->notify.timeout > NOTIFY_TIMEOUT_MAX)
    {
        return conf_error(ctx, "invalid time \"%s\" in \"webhook_timeout\" "
                          "directive, expecting 100ms to 5m", value);
    }

    return 0;
}


static int
conf_set_webhook_insecure(conf_ctx_t *ctx, conf_t *cf, const char *value)
{
    if (conf_parse_flag(value, &cf->notify.insecure) == -1) {
        return conf_error(ctx, "invalid value \"%s\" in \"webhook_insecure\" "
                          "directive, expecting \"on\" or \"off\"", value);
    }

    return 0;
}


static int
conf_set_syslog(conf_ctx_t *ctx, conf_t *cf, const char *value)
{
    if (conf_parse_flag(value, &cf->notify.syslog) == -1) {
        return conf_error(ctx, "invalid value \"%s\" in \"syslog\" "
                          "directive, expecting \"on\" or \"off\"", value);
    }

    return 0;
}


static int
conf_set_default_policies(conf_ctx_t *ctx, conf_t *cf, const char *value)
{
    if (conf_parse_flag(value, &cf->default_policies) == -1) {
        return conf_error(ctx, "invalid value \"%s\" in \"default_policies\" "
                          "directive, expecting \"on\" or \"off\"", value);
    }

    return 0;
}


/* daemon, user, auth, or local0 to local7 */

static int
conf_set_syslog_facility(conf_ctx_t *ctx, conf_t *cf, const char *value)
{
    static const int  locals[] = {
        LOG_LOCAL0, LOG_LOCAL1, LOG_LOCAL2, LOG_LOCAL3,
        LOG_LOCAL4, LOG_LOCAL5, LOG_LOCAL6, LOG_LOCAL7
    };

    if (strcmp(value, "daemon") == 0) {
        cf->notify.facility = LOG_DAEMON;

    } else if (strcmp(value, "user") == 0) {
        cf->notify.facility = LOG_USER;

    } else if (strcmp(value, "auth") == 0) {
        cf->notify.facility = LOG_AUTH;

    } else if (strncmp(value, "local", 5) == 0
               && value[5] >= '0' && value[5] <= '7' && value[6] == '\0')
    {
        cf->notify.facility = locals[value[5] - '0'];

    } else {
        return conf_error(ctx, "invalid value \"%s\" in \"syslog_facility\" "
                          "directive, expecting daemon, user, auth or "
                          "local0 to local7", value);
    }

    return 0;
}


static int
conf_set_master_key(conf_ctx_t *ctx, conf_t *cf, const char *value)
{
    return conf_set_path(ctx, cf->master_key, "master_key", value);
}


/* key_period TYPE DURATION; DURATION "never" (or "off") stops rotation */

static int
conf_set_key_period(conf_ctx_t *ctx, conf_t *cf, const char *value)
{
    int          type;
    uint64_t     sec;
    const char  *period;

    if (ctx->nargs != 2) {
        return conf_error(ctx, "invalid number of arguments in "
                          "\"key_period\" directive");
    }

    period = ctx->args[1];

    type = keys_type_parse(value);

    if (type <= 0 || type > KEYS_MANAGED) {
        return conf_error(ctx, "invalid key type \"%s\" in \"key_period\" "
                          "directive, expecting log_sealing, data, "
                          "blind_index, report_signing or webhook_signing",
                          value);
    }

    if (cf->key_period_set & (1u << type)) {
        return conf_error(ctx, "\"key_period\" of %s is duplicate", value);
    }

    cf->key_period_set |= 1u << type;

    if (strcmp(period, "never") == 0 || strcmp(period, "off") == 0) {
        cf->key_period[type] = 0;
        return 0;
    }

    if (type == KEYS_BLIND_INDEX) {
        return conf_error(ctx, "invalid period \"%s\" of blind_index in "
                          "\"key_period\" directive, expecting \"never\": "
                          "a new blind index key would no longer find the "
                          "values indexed under the old one", period);
    }

    if (admin_duration_parse(period, &sec) == -1) {
        return conf_error(ctx, "invalid period \"%s\" in \"key_period\" "
                          "directive, expecting 1s to 3650d, as 12h, 30d or "
                          "\"never\"", period);
    }

    cf->key_period[type] = sec;

    return 0;
}


static int
conf_set_key_grace(conf_ctx_t *ctx, conf_t *cf, const char *value)
{
    if (admin_duration_parse(value, &cf->key_grace) == -1) {
        return conf_error(ctx, "invalid time \"%s\" in \"key_grace\" "
                          "directive, expecting 1s to 3650d, as 12h or 7d",
                          value);
    }

    return 0;
}


static int
conf_set_controls(conf_ctx_t *ctx, conf_t *cf, const char *value)
{
    cf->controls_set = 1;

    return conf_set_path(ctx, cf->controls, "controls", value);
}


static int
conf_set_nginx_cves(conf_ctx_t *ctx, conf_t *cf, const char *value)
{
    cf->nginx_cves_set = 1;

    return conf_set_path(ctx, cf->nginx_cves, "nginx_cves", value);
}


static int
conf_set_compliance_interval(conf_ctx_t *ctx, conf_t *cf, const char *value)
{
    if (conf_parse_time(value, &cf->compliance_interval) == -1
        || cf->compliance_interval < 1000
        || cf->compliance_interval > 30ULL * 24 * 60 * 60 * 1000)
    {
        return conf_error(ctx, "invalid time \"%s\" in "
                          "\"compliance_interval\" directive, expecting 1s "
                          "to 720h", value);
    }

    return 0;
}


/* "off" serves no dashboard */

static int
conf_set_dashboard_root(conf_ctx_t *ctx, conf_t *cf, const char *value)
{
    if (strcmp(value, "off") == 0) {
        cf->dashboard_root[0] = '\0';
        return 0;
    }

    return conf_set_path(ctx, cf->dashboard_root, "dashboard_root", value);
}


static int
conf_set_metrics_interval(conf_ctx_t *ctx, conf_t *cf, const char *value)
{
    uint64_t  ms;

    if (strcmp(value, "off") == 0) {
        cf->metrics_interval = 0;
        return 0;
    }

    if (conf_parse_time(value, &ms) == -1 || ms < 1000 || ms % 1000
        || ms > 3600 * 1000)
    {
        return conf_error(ctx, "invalid time \"%s\" in \"metrics_interval\" "
                          "directive, expecting whole seconds from 1s to 1h, "
                          "or off", value);
    }

    cf->metrics_interval = ms / 1000;

    return 0;
}
