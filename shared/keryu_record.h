
/*
 * Copyright (C) Keryu Security
 *
 * The security record: one per request, written by the nginx module and
 * read by keryud.  This header is the single definition of its binary form.
 *
 * Encoded layout, version 1.  All integers are little-endian; strings are
 * raw bytes, not NUL-terminated, stored back to back after the fixed header
 * in the order of their lengths.
 *
 *   offset  size  field
 *        0     1  version          KERYU_RECORD_VERSION
 *        1     1  type             keryu_event_e
 *        2     2  status           HTTP status sent to the client
 *        4     1  addr_family      0 (unknown), 4 or 6
 *        5     1  flags            KERYU_RECORD_F_*
 *        6     2  reserved         zero
 *        8     8  seq              sequence number, unique and increasing
 *       16     8  time_us          request end, microseconds since the epoch
 *       24     8  bytes_sent       bytes sent to the client, headers included
 *       32     8  request_time_us  time from the first byte read to the end
 *       40    16  addr             client address, network order, zero-padded
 *       56    12  lengths          six 16-bit lengths: user, user_agent,
 *                                  method, host, uri, details
 *       68     -  the six strings
 *
 * A reader must refuse a version it does not know; a writer of a later
 * version may append fields only after the strings, and must raise the
 * version when it does.
 */


#ifndef _KERYU_RECORD_H_INCLUDED_
#define _KERYU_RECORD_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>


#define KERYU_RECORD_VERSION       1
#define KERYU_RECORD_HEADER_SIZE   68

/** a string field longer than its cap is cut and the record flagged */
#define KERYU_RECORD_USER_MAX      256
#define KERYU_RECORD_AGENT_MAX     512
#define KERYU_RECORD_METHOD_MAX    32
#define KERYU_RECORD_HOST_MAX      256
#define KERYU_RECORD_URI_MAX       4096
#define KERYU_RECORD_DETAILS_MAX   4096

/** the largest record an encoder can produce */
#define KERYU_RECORD_MAX_SIZE                                                 \
    (KERYU_RECORD_HEADER_SIZE + KERYU_RECORD_USER_MAX + KERYU_RECORD_AGENT_MAX \
     + KERYU_RECORD_METHOD_MAX + KERYU_RECORD_HOST_MAX + KERYU_RECORD_URI_MAX \
     + KERYU_RECORD_DETAILS_MAX)

/** at least one string field was cut to its cap */
#define KERYU_RECORD_F_TRUNCATED   0x01


/** event types; the numbers are part of the stored format */
typedef enum {
    KERYU_EVENT_REQUEST = 0,
    KERYU_EVENT_LOGIN,
    KERYU_EVENT_LOGOUT,
    KERYU_EVENT_AUTH_FAILURE,
    KERYU_EVENT_PERMISSION_DENIED,
    KERYU_EVENT_DATA_ACCESS,
    KERYU_EVENT_SYSTEM_CHANGE,
    KERYU_EVENT_INPUT_REJECTED,
    KERYU_EVENT_MAX
} keryu_event_e;


/** a byte string that the record does not own */
typedef struct {
    size_t              len;
    const uint8_t      *data;
} keryu_bytes_t;


/**
 * A decoded record.  After keryu_record_decode() the strings point into the
 * buffer that was decoded, and live only as long as it does: for a value
 * read from LMDB, until the end of the read transaction.
 */
typedef struct {
    uint64_t            seq;          /**< assigned when the record is staged */
    uint64_t            time_us;      /**< wall clock when the request ended */
    uint64_t            bytes_sent;   /**< bytes sent, headers included */
    uint64_t            request_time_us;  /**< duration of the request */
    uint16_t            status;       /**< HTTP status sent */
    uint8_t             type;         /**< one of keryu_event_e */
    uint8_t             flags;        /**< KERYU_RECORD_F_* */
    uint8_t             addr_family;  /**< 0, 4 or 6 */
    uint8_t             addr[16];     /**< client address, network order */
    keryu_bytes_t       user;         /**< authenticated user, may be empty */
    keryu_bytes_t       user_agent;
    keryu_bytes_t       method;
    keryu_bytes_t       host;
    keryu_bytes_t       uri;          /**< the request line's URI, as sent */
    keryu_bytes_t       details;      /**< a JSON object, or empty for {} */
} keryu_record_t;


/**
 * Returns the encoded size of rec, with every string cut to its cap.
 */
size_t keryu_record_size(const keryu_record_t *rec);

/**
 * Encodes rec into buf, which must hold keryu_record_size(rec) bytes.
 * Strings over their caps are cut and KERYU_RECORD_F_TRUNCATED is set in
 * the output.  Returns the number of bytes written.
 */
size_t keryu_record_encode(const keryu_record_t *rec, uint8_t *buf);

/**
 * Decodes len bytes at buf into rec.  Returns 0, or -1 if the buffer is not
 * a complete record of a known version.  Strings in rec point into buf.
 */
int keryu_record_decode(keryu_record_t *rec, const uint8_t *buf, size_t len);

/**
 * Reads the sequence number of an encoded record without decoding it.
 * Returns 0, or -1 if buf is too short.
 */
int keryu_record_peek_seq(const uint8_t *buf, size_t len, uint64_t *seq);

/**
 * Returns the name of an event type ("request", "login", ...), or NULL.
 */
const char *keryu_event_name(unsigned type);

/**
 * Returns the event type called name, or -1.
 */
int keryu_event_parse(const char *name, size_t len);


#endif /* _KERYU_RECORD_H_INCLUDED_ */
