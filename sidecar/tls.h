/*
 * Copyright (C) Keryu Security
 *
 * TLS for the HTTP API: the server context built from "tls_certificate"
 * and "tls_key", and the bufferevents that evhttp wraps each connection
 * in.  Only tls.c sees OpenSSL's TLS types.
 */


#ifndef _KERYUD_TLS_H_INCLUDED_
#define _KERYUD_TLS_H_INCLUDED_


struct bufferevent;
struct event_base;
struct evhttp_request;

typedef struct tls_s  tls_t;


/* loads the certificate chain and the key; returns NULL after logging */
tls_t *tls_new(const char *cert, const char *key);
void tls_free(tls_t *tls);

/*
 * evhttp's bufferevent callback, arg being a tls_t: a TLS bufferevent in
 * the accepting state, or NULL after logging why not
 */
struct bufferevent *tls_bufferevent(struct event_base *base, void *arg);

/* returns 1 if the request came over a TLS connection, else 0 */
int tls_request(struct evhttp_request *req);


#endif /* _KERYUD_TLS_H_INCLUDED_ */
