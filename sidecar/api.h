/*
 * Copyright (C) Keryu Security
 *
 * The HTTP API, on libevent's evhttp.  api_scan() is the logs and events
 * listing without HTTP around it, so that tests can call it directly.
 */


#ifndef _KERYUD_API_H_INCLUDED_
#define _KERYUD_API_H_INCLUDED_


#include "keryud.h"
#include "json.h"


struct event_base;
struct respond_s;
struct keys_s;
struct comply_s;

typedef struct api_s  api_t;


/* binds the listen address; returns NULL after logging why not */
api_t *api_new(struct event_base *base, const conf_t *cf, store_t *own,
    keryu_store_t *src);
void api_free(api_t *api);

/* alerts raised and changed through the API are answered by r */
void api_set_respond(api_t *api, struct respond_s *r);

/* the keys the keys endpoints manage; NULL or off: they answer 503 */
void api_set_keys(api_t *api, struct keys_s *ks);

/* the compliance state; NULL: those endpoints answer 503 */
void api_set_comply(api_t *api, struct comply_s *c);

/* where the metrics find the consumer's and the notifications' counts */
void api_set_sources(api_t *api, consumer_t *cs, notify_t *n);

/*
 * writes {"items":[...],"next_cursor":...} for the records of logs that
 * match q, newest first, looking at no more than scan_max of them;
 * returns 0, or an LMDB code
 */
int api_scan(store_t *st, MDB_txn *txn, const query_t *q, int events_only,
    uint64_t scan_max, json_t *j);


#endif /* _KERYUD_API_H_INCLUDED_ */
