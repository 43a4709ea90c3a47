/*
 * Copyright (C) Keryu Security
 *
 * A bounded history of keryud's key metrics, for the dashboard's charts:
 * one sample every "metrics_interval" seconds into a ring of
 * HISTORY_SAMPLES samples (24 hours at the default 10 s), allocated once,
 * the oldest overwritten.  Rates are taken between two samples, so the
 * first sample after start carries none.  The history lives in memory
 * only and starts empty with each keryud.
 */


#ifndef _KERYUD_HISTORY_H_INCLUDED_
#define _KERYUD_HISTORY_H_INCLUDED_


#include <stdint.h>

#include "json.h"
#include "metrics.h"


#define HISTORY_SAMPLES  8640


typedef struct history_s  history_t;


/* a ring of HISTORY_SAMPLES, sampled every interval seconds; or NULL */
history_t *history_new(unsigned interval);

void history_free(history_t *h);

/*
 * appends a sample taken at now (unix seconds) of keryud's store, the
 * shared store (NULL: unavailable, its columns are null) and the API's
 * counters; mono_ns is a monotonic clock, for the rates
 */
void history_add(history_t *h, uint64_t now, uint64_t mono_ns,
    const metrics_own_t *own, const metrics_shared_t *sh,
    const metrics_api_t *api);

/*
 * writes {"interval","capacity","time":[...],...} with the samples taken
 * at or after since (unix seconds), oldest first, one array per column
 */
void history_json(const history_t *h, uint64_t since, json_t *j);


#endif /* _KERYUD_HISTORY_H_INCLUDED_ */
