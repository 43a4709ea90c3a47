/*
 * Copyright (C) Keryu Security
 *
 * Logging for keryud.  Until log_init() runs, and in the foreground, lines
 * go to stderr prefixed with the program name; otherwise to syslog under
 * the daemon facility.  The logger keeps no buffer, so a line is complete
 * once the call returns.
 */


#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "log.h"


#define LOG_LINE_MAX  1024


static void log_vwrite(int pri, const char *fmt, va_list ap, int errnum);


static int  log_foreground = 1;
static int  log_verbose;


void
log_init(int foreground, int debug)
{
    log_foreground = foreground;
    log_verbose = debug;

    if (!foreground) {
        openlog("keryud", LOG_PID | LOG_NDELAY, LOG_DAEMON);
    }
}


void
log_set_debug(int debug)
{
    log_verbose = debug;
}


int
log_get_debug(void)
{
    return log_verbose;
}


static void
log_vwrite(int pri, const char *fmt, va_list ap, int errnum)
{
    char  line[LOG_LINE_MAX];
    int   n;

    n = vsnprintf(line, sizeof(line), fmt, ap);
    if (n < 0) {
        return;
    }

    if (errnum && (size_t) n < sizeof(line)) {
        snprintf(line + n, sizeof(line) - n, ": %s", strerror(errnum));
    }

    if (log_foreground) {
        fprintf(stderr, "keryud: %s\n", line);
        return;
    }

    syslog(pri, "%s", line);
}


void
log_warn(const char *fmt, ...)
{
    int      saved;
    va_list  ap;

    saved = errno;

    va_start(ap, fmt);
    log_vwrite(LOG_ERR, fmt, ap, saved);
    va_end(ap);

    errno = saved;
}


void
log_warnx(const char *fmt, ...)
{
    va_list  ap;

    va_start(ap, fmt);
    log_vwrite(LOG_ERR, fmt, ap, 0);
    va_end(ap);
}


void
log_info(const char *fmt, ...)
{
    va_list  ap;

    va_start(ap, fmt);
    log_vwrite(LOG_INFO, fmt, ap, 0);
    va_end(ap);
}


void
log_debug(const char *fmt, ...)
{
    va_list  ap;

    if (!log_verbose) {
        return;
    }

    va_start(ap, fmt);
    log_vwrite(LOG_DEBUG, fmt, ap, 0);
    va_end(ap);
}


void
fatal(const char *fmt, ...)
{
    int      saved;
    va_list  ap;

    saved = errno;

    va_start(ap, fmt);
    log_vwrite(LOG_CRIT, fmt, ap, saved);
    va_end(ap);

    exit(1);
}


void
fatalx(const char *fmt, ...)
{
    va_list  ap;

    va_start(ap, fmt);
    log_vwrite(LOG_CRIT, fmt, ap, 0);
    va_end(ap);

    exit(1);
}
