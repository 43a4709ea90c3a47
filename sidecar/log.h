/*
 * Copyright (C) Keryu Security
 *
 * keryud's logger: syslog by default, stderr in the foreground (-d).  Each
 * call writes one line.  log_warn appends strerror(errno), log_warnx does
 * not; fatal and fatalx log at LOG_CRIT and exit, and are meant for startup
 * and broken invariants only.
 */


#ifndef _KERYUD_LOG_H_INCLUDED_
#define _KERYUD_LOG_H_INCLUDED_


#include <stdarg.h>


void log_init(int foreground, int debug);
void log_set_debug(int debug);
int log_get_debug(void);
void log_warn(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
void fatal(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));


#endif /* _KERYUD_LOG_H_INCLUDED_ */
