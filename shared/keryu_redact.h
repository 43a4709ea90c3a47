
/*
 * Copyright (C) Keryu Security
 *
 * Redaction at capture: what the nginx module does to a record's fields
 * before it stages them, so that secrets and personal data never reach the
 * store.  Four transformations, each usable on its own:
 *
 *   - query arguments: the value of every argument whose name is on a
 *     list is replaced by a token, the rest of the URI is kept byte for
 *     byte;
 *   - card numbers: a run of 13 to 19 digits that passes the Luhn check
 *     keeps its first 6 and last 4 digits, the others become '*';
 *   - email addresses: the local part is replaced by a token, the domain
 *     is kept;
 *   - client addresses: IPv4 cut to /24, IPv6 to /48.
 *
 * A token is "~" and the first 16 hex digits of HMAC-SHA256(key, value)
 * when a key is set, so that the same value under the same key always
 * gives the same token and records can still be matched on it, and
 * "[redacted]" without a key.  The value is hashed as it appears, before
 * any percent-decoding.
 *
 * Nothing here allocates, logs or keeps state: the caller provides every
 * output buffer, a result longer than its buffer is cut and the length it
 * needed is returned, and the work is linear in the input.  A key, once
 * made, is only read, so threads may share it.
 */


#ifndef _KERYU_REDACT_H_INCLUDED_
#define _KERYU_REDACT_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>

#include "keryu_record.h"


/** a key is 32 to 1024 bytes, used as they are */
#define KERYU_REDACT_KEY_MIN      32
#define KERYU_REDACT_KEY_MAX      1024

/** the longest argument name a list may hold, decoded */
#define KERYU_REDACT_NAME_MAX     64

/** the longest token: "~" and 16 hex digits */
#define KERYU_REDACT_TOKEN_MAX    17

/** the token used when no key is set */
#define KERYU_REDACT_NO_KEY       "[redacted]"


/**
 * An HMAC-SHA256 key, kept as the two SHA-256 states that its padded
 * blocks lead to; the key itself is not kept.
 */
typedef struct {
    uint32_t            inner[8];     /**< state after key ^ ipad */
    uint32_t            outer[8];     /**< state after key ^ opad */
} keryu_redact_key_t;


/**
 * A list of secret argument names made ready for keryu_redact_args(): the
 * names are lowercase and decoded, and are not copied, so they must live
 * as long as the list.  The filter rejects most names that are not on the
 * list with one bit test.
 */
typedef struct {
    const keryu_bytes_t  *names;
    size_t                n;
    uint64_t              filter[4];
} keryu_redact_names_t;


/**
 * The built-in list of secret argument names, lowercase, *n set to its
 * length: password, passwd, pass, pwd, token, access_token, ...
 */
const keryu_bytes_t *keryu_redact_default_names(size_t *n);

/**
 * Checks an argument name for a list: 1 to KERYU_REDACT_NAME_MAX bytes,
 * none of them a control character, a space or one of "=&[]%+?#", and no
 * uppercase ASCII letter.  Returns 0, or -1.
 */
int keryu_redact_name_check(const uint8_t *name, size_t len);

/** makes list from n names, which it refers to */
void keryu_redact_names_init(keryu_redact_names_t *list,
    const keryu_bytes_t *names, size_t n);

/**
 * Makes key from len bytes of secret.  Returns 0, or -1 if len is outside
 * KERYU_REDACT_KEY_MIN and KERYU_REDACT_KEY_MAX.  The copies of the secret
 * made on the way are wiped; the caller wipes its own.
 */
int keryu_redact_key_init(keryu_redact_key_t *key, const uint8_t *secret,
    size_t len);

/** HMAC-SHA256 of len bytes at data under key */
void keryu_redact_hmac(const keryu_redact_key_t *key, const uint8_t *data,
    size_t len, uint8_t mac[32]);

/**
 * Writes the token for a value into out: "~" and 16 lowercase hex digits
 * of its HMAC under key, or KERYU_REDACT_NO_KEY when key is NULL.  Returns
 * the token's length.
 */
size_t keryu_redact_token(const keryu_redact_key_t *key,
    const uint8_t *value, size_t len, uint8_t out[KERYU_REDACT_TOKEN_MAX]);

/**
 * Replaces the values of secret arguments in a URI.  The query string
 * starts at the first "?"; arguments are separated by "&" only, and a
 * value runs from the first "=" of its argument to the next "&" or the
 * end, so no byte of a value is ever left out of its token.  A name is
 * percent-decoded ("+" is a space) and lowercased before it is compared
 * with the list; it is secret when
 * it, or any part of it between brackets, is on the list: "password",
 * "Password[]", "user[password]", "pass%77ord" all are for "password".  A
 * part too long to decode (over 256 bytes) counts as secret.  An empty
 * value stays empty.
 *
 * With out NULL, only counts.  Otherwise writes at most size bytes of the
 * result to out, which must not overlap uri, and sets *olen to the
 * result's whole length, which is more than size when it was cut.
 * Returns the number of values replaced.
 */
unsigned keryu_redact_args(const keryu_redact_key_t *key,
    const keryu_redact_names_t *list, const uint8_t *uri, size_t len,
    uint8_t *out, size_t size, size_t *olen);

/**
 * Masks card numbers: a run of 13 to 19 digits, with single separators
 * allowed between digits (a space, "-", "+" or "%20"), not touching
 * another digit, that passes the Luhn check keeps its first 6 and last 4
 * digits and has the others replaced by '*'; separators stay.  Digits
 * of a percent escape ("%25") belong to no run.  The result
 * has the length of the input.
 *
 * With out NULL, only counts.  Otherwise writes the first min(len, size)
 * bytes of the result to out, which may be in itself.  Returns the number
 * of card numbers found in the whole input.
 */
unsigned keryu_redact_cards(const uint8_t *in, size_t len, uint8_t *out,
    size_t size);

/**
 * Replaces the local part of each email address by its token, keeping
 * the "@" (or "%40") and the domain: "alice@example.com" becomes
 * "~<16 hex>@example.com".  A local part is the longest run of letters,
 * digits and "._%+-" before the "@"; a domain is letters, digits, "-" and
 * ".", with at least two labels and a last label of two or more
 * characters starting with a letter.
 *
 * With out NULL, only counts.  Otherwise writes at most size bytes of the
 * result to out, which must not overlap in, and sets *olen to the
 * result's whole length.  Returns the number of addresses replaced.
 */
unsigned keryu_redact_emails(const keryu_redact_key_t *key,
    const uint8_t *in, size_t len, uint8_t *out, size_t size, size_t *olen);

/**
 * Zeroes the host part of a client address in place, as the record holds
 * it (family 4: 4 bytes, family 6: 16 bytes, network order): an IPv4
 * address keeps 24 bits, an IPv6 address 48, an IPv4-mapped IPv6 address
 * (::ffff:a.b.c.d) 24 bits of its IPv4 part.  Returns 0, or -1 for any
 * other family, leaving addr alone.
 */
int keryu_redact_addr(uint8_t *addr, unsigned family);


#endif /* _KERYU_REDACT_H_INCLUDED_ */
