/*
 * Copyright (C) Keryu Security
 *
 * The dashboard's static files under /dashboard/, served by the API's
 * listener from the "dashboard_root" directory without a token: the
 * pages hold no data, and every call they make to the API carries the
 * token the operator signs in with.
 */


#ifndef _KERYUD_DASHBOARD_H_INCLUDED_
#define _KERYUD_DASHBOARD_H_INCLUDED_


struct evhttp_request;

typedef struct dashboard_s  dashboard_t;


/* "/dashboard" or a path under "/dashboard/" */
int dashboard_match(const char *path);

/*
 * opens root; returns NULL when it cannot (logged once), and then every
 * dashboard path is answered 404 "dashboard not installed"
 */
dashboard_t *dashboard_new(const char *root);
void dashboard_free(dashboard_t *d);

/* answers req for path, which dashboard_match() accepted; d may be NULL */
void dashboard_serve(dashboard_t *d, struct evhttp_request *req,
    const char *path);


#endif /* _KERYUD_DASHBOARD_H_INCLUDED_ */
