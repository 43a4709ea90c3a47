
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
 *
 * Version 2 (KERYU_RECORD_VERSION_SEALED) is version 1 with the personal
 * fields moved into a sealed section after the strings.  It is written
 * only for a record with KERYU_RECORD_F_SEALED, _F_ENCRYPTED or
 * _F_OMITTED; every other record stays version 1.  Bytes 6 and 7 hold the
 * sealed section's length (16-bit), and in the plain part:
 *
 *   - addr_family and addr are zero, the user, user_agent and details
 *     lengths are zero;
 *   - uri holds the path only: the URI up to its first "?";
 *   - type, status, flags, seq, times, bytes_sent, method and host stay
 *     plain: they describe the site and the outcome, not the person, and
 *     keryud's listings, metrics and indexes by type, status and time
 *     work on them without a key.
 *
 * The personal part, once opened, is (KERYU_RECORD_PERSONAL_HEADER bytes,
 * then the four strings back to back):
 *
 *   offset  size  field
 *        0     1  addr_family
 *        1    16  addr
 *       17     8  four 16-bit lengths: user, user_agent, query, details
 *       25     -  the four strings; query is the URI from its first "?"
 *                 on, "?" included, so that uri is path and query joined
 *
 * The sealed section wraps the personal part with AES-256-GCM.  Its AAD
 * holds the record's bytes before the sealed section with seq (bytes 8
 * to 15) read as zero, since a writer numbers a record only when it
 * stages it, and the envelope's prefix.  Two envelopes:
 *
 *   F_SEALED     keryu_seal.h: a worker sealed it to keryud's log_sealing
 *                public key: key version (4, LE) | worker's ephemeral
 *                X25519 public key (32) | nonce (12) | ciphertext | tag
 *                (16); AAD the record's bytes, then version and public
 *                key, so that a worker feeds the bytes before the nonce
 *                in one pass
 *   F_ENCRYPTED  keryud's own store, under its data key (keys_encrypt()):
 *                key version (4, LE) | nonce (12) | ciphertext | tag (16);
 *                AAD the version, then the record's bytes
 *
 * F_OMITTED marks a record whose personal fields were left out because no
 * sealing key was there to seal them with: no sealed section, version 2.
 */


#ifndef _KERYU_RECORD_H_INCLUDED_
#define _KERYU_RECORD_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>


#define KERYU_RECORD_VERSION       1
#define KERYU_RECORD_VERSION_SEALED  2
#define KERYU_RECORD_HEADER_SIZE   68
#define KERYU_RECORD_PERSONAL_HEADER  25

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

/** the largest personal part (user, address, agent, query, details) */
#define KERYU_RECORD_PERSONAL_MAX                                             \
    (KERYU_RECORD_PERSONAL_HEADER + KERYU_RECORD_USER_MAX                     \
     + KERYU_RECORD_AGENT_MAX + KERYU_RECORD_URI_MAX + KERYU_RECORD_DETAILS_MAX)

/** room for the envelope of either kind of sealed section */
#define KERYU_RECORD_ENVELOPE_MAX  (4 + 32 + 12 + 16)

/** the largest record with a sealed section */
#define KERYU_RECORD_SEALED_MAX_SIZE                                          \
    (KERYU_RECORD_HEADER_SIZE + KERYU_RECORD_METHOD_MAX                       \
     + KERYU_RECORD_HOST_MAX + KERYU_RECORD_URI_MAX                           \
     + KERYU_RECORD_PERSONAL_MAX + KERYU_RECORD_ENVELOPE_MAX)

/** at least one string field was cut to its cap */
#define KERYU_RECORD_F_TRUNCATED   0x01
/** personal fields sealed by a worker to keryud's log_sealing key */
#define KERYU_RECORD_F_SEALED      0x02
/** personal fields encrypted by keryud under its data key */
#define KERYU_RECORD_F_ENCRYPTED   0x04
/** personal fields left out: no key to seal them with */
#define KERYU_RECORD_F_OMITTED     0x08

#define KERYU_RECORD_F_LOCKED      (KERYU_RECORD_F_SEALED                    \
                                    | KERYU_RECORD_F_ENCRYPTED)


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
    keryu_bytes_t       sealed;       /**< the sealed section of a version 2
                                           record, else empty; for encoding
                                           data NULL leaves it unwritten */
} keryu_record_t;


/**
 * Returns the encoded size of rec, with every string cut to its cap, and
 * the sealed section.
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
 * Splits rec into its plain part, written to plain (which then points into
 * rec's strings), and its personal part, encoded into personal of
 * KERYU_RECORD_PERSONAL_MAX bytes.  The URI is cut to its cap before it
 * is split.  plain gets flags added and no sealed section; the caller
 * sets its length.  Returns the length of the personal part.
 */
size_t keryu_record_split(const keryu_record_t *rec, keryu_record_t *plain,
    uint8_t *personal, unsigned flags);

/**
 * The inverse of keryu_record_split(): adds to rec, a decoded plain part,
 * the personal part of len bytes at personal, opened; uri becomes path
 * and query joined in uri_buf of KERYU_RECORD_URI_MAX bytes, and the
 * flags lose F_SEALED, F_ENCRYPTED and the sealed section.  Strings point
 * into personal and uri_buf.  Returns 0, or -1 for a personal part that
 * does not decode (rec unchanged).
 */
int keryu_record_join(keryu_record_t *rec, const uint8_t *personal,
    size_t len, uint8_t *uri_buf);

/**
 * Writes the AAD of a sealed section: the len bytes of an encoded record
 * before its sealed section, with seq zero, into aad.
 */
void keryu_record_aad(const uint8_t *buf, size_t len, uint8_t *aad);

/** writes seq into an encoded record */
void keryu_record_set_seq(uint8_t *buf, uint64_t seq);

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
