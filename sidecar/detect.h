
/*
 * Copyright (C) Keryu Security
 *
 * Detection rules over the records keryud consumes.  The first one counts
 * auth_failure events per client address in a sliding window and blocks
 * an address that reaches the threshold.  detect_event() decides, purely
 * in memory; detect_apply() writes its decision to the shared store.
 */


#ifndef _KERYUD_DETECT_H_INCLUDED_
#define _KERYUD_DETECT_H_INCLUDED_


#include <stdint.h>
#include <arpa/inet.h>

#include "keryu_record.h"
#include "keryu_store.h"


#define DETECT_SLOTS          4096
#define DETECT_WAYS           8
#define DETECT_THRESHOLD_MAX  100
#define DETECT_TEXT_MAX       INET6_ADDRSTRLEN


/* one client address and the times of its latest failures */
typedef struct {
    uint8_t             de_family;        /* 0: a free slot */
    uint8_t             de_addr[16];
    uint32_t            de_count;         /* times held, at most threshold */
    uint32_t            de_next;          /* where the next time goes */
    uint64_t            de_last_us;       /* newest event, for eviction */
} detect_entry_t;


typedef struct detect_s {
    unsigned            threshold;
    uint64_t            window_us;
    uint64_t            block_us;
    uint64_t            evicted;
    detect_entry_t     *entries;          /* DETECT_SLOTS of them */
    uint64_t           *times;            /* threshold per entry */
} detect_t;


/* a block that detect_event() asks for */
typedef struct {
    int                 family;           /* 4 or 6 */
    uint8_t             addr[16];         /* 4 or 16 bytes used */
    unsigned            count;
    uint64_t            created_us;
    uint64_t            expires_us;
    uint64_t            block_s;
    char                text[DETECT_TEXT_MAX];
    char                reason[KERYU_BLOCK_REASON_MAX + 1];
} detect_action_t;


/* returns 0, or -1 with errno set; allocates all it will ever need */
int detect_init(detect_t *d, unsigned threshold, uint64_t window_us,
    uint64_t block_us);
void detect_free(detect_t *d);

/*
 * counts rec if it is an auth_failure with a client address; returns 1
 * and fills out when the address has reached the threshold, else 0
 */
int detect_event(detect_t *d, const keryu_record_t *rec, uint64_t now_us,
    detect_action_t *out);

/* writes the block in one transaction; returns 0 or an LMDB code */
int detect_apply(keryu_store_t *st, const detect_action_t *a);


#endif /* _KERYUD_DETECT_H_INCLUDED_ */
