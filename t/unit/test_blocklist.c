
/*
 * Copyright (C) Keryu Security
 *
 * Tests of the block table: address blocks exact and by prefix, IPv4 and
 * IPv6, the longest prefix winning, IPv4-mapped clients, expiry, user
 * blocks, entries that do not decode, and that a lookup does the same
 * work among 10 blocks as among 10,000.  Each test writes its blocks
 * through keryu_store_change() into a fresh store in a mkdtemp directory.
 */


#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "keryu_store.h"
#include "unit.h"
#include "keryu_blocklist.h"


#define test_case(f)                                                          \
    cmocka_unit_test_setup_teardown(f, test_setup, test_teardown)


#define TEST_NOW          1700000000000000ULL
#define TEST_HOUR         3600000000ULL
#define TEST_MANY         10000


typedef struct {
    char                dir[64];
    char                path[96];
    keryu_store_t       st;
    MDB_txn            *txn;          /* the write in progress, or NULL */
    keryu_blocklist_t  *bl;
} test_t;


static int
test_setup(void **state)
{
    test_t  *t;

    t = calloc(1, sizeof(test_t));
    if (t == NULL) {
        return -1;
    }

    if (unit_dir_make(t->dir, t->path, "blocklist") != 0) {
        free(t);
        return -1;
    }

    if (unit_store_open(&t->st, t->path) != 0) {
        free(t);
        return -1;
    }

    *state = t;

    return 0;
}


static int
test_teardown(void **state)
{
    int      rc;
    test_t  *t;

    t = *state;

    if (t->txn) {
        mdb_txn_abort(t->txn);
    }

    keryu_blocklist_free(t->bl);
    keryu_store_close(&t->st);

    rc = unit_dir_remove(t->dir);

    free(t);

    return rc == 0 ? 0 : -1;
}


static void
test_begin(test_t *t)
{
    int  rc;

    rc = keryu_store_txn_begin(&t->st, 0, &t->txn);
    test_mdb_ok(rc, "keryu_store_txn_begin");
}


static void
test_commit(test_t *t)
{
    int  rc;

    rc = mdb_txn_commit(t->txn);
    t->txn = NULL;
    test_mdb_ok(rc, "mdb_txn_commit");
}


static void
test_put(test_t *t, const uint8_t *k, size_t klen, const uint8_t *v,
    size_t vlen)
{
    int      rc;
    MDB_val  key, val;

    key.mv_size = klen;
    key.mv_data = (void *) k;
    val.mv_size = vlen;
    val.mv_data = (void *) v;

    rc = keryu_store_change(&t->st, t->txn, t->st.blocks, &key, &val,
                            KERYU_META_BLOCK_VERSION);
    test_mdb_ok(rc, "keryu_store_change");
}


static void
test_put_block(test_t *t, const uint8_t *key, size_t klen,
    uint64_t expires_us, const char *reason)
{
    size_t         vlen;
    uint8_t        val[16 + KERYU_BLOCK_REASON_MAX];
    keryu_block_t  b;

    b.expires_us = expires_us;
    b.created_us = TEST_NOW - TEST_HOUR;
    b.reason = reason;
    b.reason_len = strlen(reason);

    vlen = keryu_block_encode(&b, val);

    test_put(t, key, klen, val, vlen);
}


/* family 4 or 6, addr as text; begins and commits unless a txn is open */

static void
test_block_addr(test_t *t, int family, const char *text, unsigned prefix,
    uint64_t expires_us, const char *reason)
{
    int      own;
    size_t   klen;
    uint8_t  addr[16], key[KERYU_BLOCK_KEY_MAX];

    if (inet_pton(family == 4 ? AF_INET : AF_INET6, text, addr) != 1) {
        fail_msg("inet_pton() \"%s\" failed", text);
    }

    klen = keryu_block_key_addr(key, family, addr, prefix);
    assert_int_equal(klen, 18);

    own = (t->txn == NULL);

    if (own) {
        test_begin(t);
    }

    test_put_block(t, key, klen, expires_us, reason);

    if (own) {
        test_commit(t);
    }
}


static void
test_block_user(test_t *t, const char *user, uint64_t expires_us,
    const char *reason)
{
    size_t   klen;
    uint8_t  key[KERYU_BLOCK_KEY_MAX];

    klen = keryu_block_key_user(key, user, strlen(user));
    assert_true(klen > 0);

    test_begin(t);
    test_put_block(t, key, klen, expires_us, reason);
    test_commit(t);
}


static void
test_load(test_t *t)
{
    int       rc;
    MDB_txn  *txn;

    keryu_blocklist_free(t->bl);

    rc = keryu_store_txn_begin(&t->st, MDB_RDONLY, &txn);
    test_mdb_ok(rc, "keryu_store_txn_begin");

    rc = -1;
    t->bl = keryu_blocklist_load(&t->st, txn, &rc);

    mdb_txn_abort(txn);

    if (t->bl == NULL) {
        fail_msg("keryu_blocklist_load() failed: %s",
                 keryu_store_strerror(rc));
    }
}


/*
 * looks the address up at TEST_NOW: returns the block's reason as a
 * string in a static buffer, or NULL; *prefix gets the prefix length
 */

static const char *
test_lookup(test_t *t, int family, const char *text, unsigned *prefix)
{
    uint8_t               addr[16];
    const keryu_block_t  *b;

    static char           reason[KERYU_BLOCK_REASON_MAX + 1];

    if (inet_pton(family == 4 ? AF_INET : AF_INET6, text, addr) != 1) {
        fail_msg("inet_pton() \"%s\" failed", text);
    }

    *prefix = 999;

    b = keryu_blocklist_addr(t->bl, family, addr, TEST_NOW, prefix);
    if (b == NULL) {
        return NULL;
    }

    memcpy(reason, b->reason, b->reason_len);
    reason[b->reason_len] = '\0';

    return reason;
}


static void
test_expect(test_t *t, int family, const char *text, const char *reason,
    unsigned prefix)
{
    unsigned     got;
    const char  *r;

    r = test_lookup(t, family, text, &got);

    if (reason == NULL) {
        if (r != NULL) {
            fail_msg("%s: blocked by \"%s\" /%u, expected no block", text, r,
                     got);
        }

        return;
    }

    if (r == NULL) {
        fail_msg("%s: no block, expected \"%s\" /%u", text, reason, prefix);
    }

    assert_string_equal(r, reason);
    assert_int_equal(got, prefix);
}


static int
test_user(test_t *t, const char *user)
{
    return keryu_blocklist_user(t->bl, user, strlen(user), TEST_NOW) != NULL;
}


static void
empty_table_blocks_nothing(void **state)
{
    uint8_t  addr[16];
    test_t  *t;

    t = *state;

    test_load(t);

    assert_int_equal(keryu_blocklist_count(t->bl), 0);

    test_expect(t, 4, "192.0.2.1", NULL, 0);
    test_expect(t, 6, "2001:db8::1", NULL, 0);
    assert_false(test_user(t, "alice"));

    /* an unknown family finds nothing, and prefix may be NULL */

    memset(addr, 0, sizeof(addr));
    assert_null(keryu_blocklist_addr(t->bl, 0, addr, TEST_NOW, NULL));
    assert_null(keryu_blocklist_addr(t->bl, 4, addr, TEST_NOW, NULL));
}


static void
exact_ipv4_block_matches_only_its_address(void **state)
{
    test_t  *t;

    t = *state;

    test_block_addr(t, 4, "192.0.2.1", 32, 0, "exact");
    test_load(t);

    assert_int_equal(keryu_blocklist_count(t->bl), 1);

    test_expect(t, 4, "192.0.2.1", "exact", 32);
    test_expect(t, 4, "192.0.2.2", NULL, 0);
    test_expect(t, 4, "192.0.2.0", NULL, 0);
    test_expect(t, 4, "193.0.2.1", NULL, 0);

    /* the same bytes as a native IPv6 address are another address */

    test_expect(t, 6, "::c000:201", NULL, 0);
}


static void
exact_ipv6_block_matches_only_its_address(void **state)
{
    test_t  *t;

    t = *state;

    test_block_addr(t, 6, "2001:db8::1", 128, 0, "exact6");
    test_load(t);

    test_expect(t, 6, "2001:db8::1", "exact6", 128);
    test_expect(t, 6, "2001:db8::2", NULL, 0);
    test_expect(t, 6, "2001:db8:0:0:1::1", NULL, 0);
    test_expect(t, 4, "192.0.2.1", NULL, 0);
}


static void
ipv4_prefixes_cover_their_ranges(void **state)
{
    test_t  *t;

    t = *state;

    test_block_addr(t, 4, "198.51.100.0", 24, 0, "net24");
    test_block_addr(t, 4, "10.0.0.0", 8, 0, "net8");
    test_load(t);

    assert_int_equal(keryu_blocklist_count(t->bl), 2);

    test_expect(t, 4, "198.51.100.0", "net24", 24);
    test_expect(t, 4, "198.51.100.77", "net24", 24);
    test_expect(t, 4, "198.51.100.255", "net24", 24);
    test_expect(t, 4, "198.51.101.1", NULL, 0);
    test_expect(t, 4, "198.51.99.255", NULL, 0);

    test_expect(t, 4, "10.0.0.1", "net8", 8);
    test_expect(t, 4, "10.255.255.255", "net8", 8);
    test_expect(t, 4, "11.0.0.0", NULL, 0);
    test_expect(t, 4, "9.255.255.255", NULL, 0);

    test_expect(t, 6, "2001:db8::1", NULL, 0);
}


static void
ipv4_zero_prefix_covers_every_ipv4_client_only(void **state)
{
    test_t  *t;

    t = *state;

    test_block_addr(t, 4, "0.0.0.0", 0, 0, "all4");
    test_load(t);

    test_expect(t, 4, "0.0.0.0", "all4", 0);
    test_expect(t, 4, "203.0.113.9", "all4", 0);
    test_expect(t, 4, "255.255.255.255", "all4", 0);
    test_expect(t, 6, "::ffff:203.0.113.9", "all4", 0);

    test_expect(t, 6, "2001:db8::1", NULL, 0);
    test_expect(t, 6, "::1", NULL, 0);
}


static void
ipv6_prefixes_cover_their_ranges(void **state)
{
    test_t  *t;

    t = *state;

    test_block_addr(t, 6, "2001:db8:1:2::", 64, 0, "net64");
    test_block_addr(t, 6, "2001:db8:aaaa::", 48, 0, "net48");
    test_load(t);

    test_expect(t, 6, "2001:db8:1:2::", "net64", 64);
    test_expect(t, 6, "2001:db8:1:2:ffff:ffff:ffff:ffff", "net64", 64);
    test_expect(t, 6, "2001:db8:1:3::", NULL, 0);
    test_expect(t, 6, "2001:db8:1:1:ffff:ffff:ffff:ffff", NULL, 0);

    test_expect(t, 6, "2001:db8:aaaa::1", "net48", 48);
    test_expect(t, 6, "2001:db8:aaaa:ffff:1:2:3:4", "net48", 48);
    test_expect(t, 6, "2001:db8:aaab::", NULL, 0);
}


static void
ipv6_zero_prefix_does_not_cover_ipv4_clients(void **state)
{
    test_t  *t;

    t = *state;

    test_block_addr(t, 6, "::", 0, 0, "all6");
    test_load(t);

    test_expect(t, 6, "2001:db8::1", "all6", 0);
    test_expect(t, 6, "::1", "all6", 0);
    test_expect(t, 4, "192.0.2.1", NULL, 0);
    test_expect(t, 6, "::ffff:192.0.2.1", NULL, 0);
}


static void
longest_prefix_wins(void **state)
{
    test_t  *t;

    t = *state;

    test_block_addr(t, 4, "10.0.0.0", 8, 0, "eight");
    test_block_addr(t, 4, "10.1.0.0", 16, 0, "sixteen");
    test_block_addr(t, 4, "10.1.2.0", 24, 0, "twentyfour");
    test_block_addr(t, 4, "10.1.2.3", 32, 0, "host");
    test_block_addr(t, 6, "2001:db8::", 32, 0, "v6-32");
    test_block_addr(t, 6, "2001:db8:1::", 48, 0, "v6-48");
    test_block_addr(t, 6, "2001:db8:1:2::", 64, 0, "v6-64");
    test_load(t);

    assert_int_equal(keryu_blocklist_count(t->bl), 7);

    test_expect(t, 4, "10.1.2.3", "host", 32);
    test_expect(t, 4, "10.1.2.4", "twentyfour", 24);
    test_expect(t, 4, "10.1.3.4", "sixteen", 16);
    test_expect(t, 4, "10.2.3.4", "eight", 8);
    test_expect(t, 4, "11.1.2.3", NULL, 0);

    test_expect(t, 6, "2001:db8:1:2::9", "v6-64", 64);
    test_expect(t, 6, "2001:db8:1:3::9", "v6-48", 48);
    test_expect(t, 6, "2001:db8:2::9", "v6-32", 32);
    test_expect(t, 6, "2001:db9::", NULL, 0);
}


static void
ipv4_mapped_client_matches_ipv4_block(void **state)
{
    test_t  *t;

    t = *state;

    test_block_addr(t, 4, "192.0.2.0", 24, 0, "v4net");
    test_block_addr(t, 4, "198.51.100.7", 32, 0, "v4host");
    test_load(t);

    test_expect(t, 6, "::ffff:192.0.2.200", "v4net", 24);
    test_expect(t, 6, "::ffff:198.51.100.7", "v4host", 32);
    test_expect(t, 6, "::ffff:198.51.100.8", NULL, 0);

    /* the same address bytes, not mapped: not the IPv4 client */

    test_expect(t, 6, "::192.0.2.200", NULL, 0);
    test_expect(t, 6, "64:ff9b::192.0.2.200", NULL, 0);
}


static void
expired_block_never_matches(void **state)
{
    uint8_t               addr[4];
    test_t               *t;
    const keryu_block_t  *b;

    t = *state;

    test_block_addr(t, 4, "192.0.2.1", 32, TEST_NOW - 1, "expired");
    test_block_addr(t, 4, "192.0.2.2", 32, TEST_NOW, "expires-now");
    test_block_addr(t, 4, "192.0.2.3", 32, TEST_NOW + 1, "live");
    test_block_addr(t, 4, "192.0.2.0", 24, TEST_NOW + TEST_HOUR, "net");
    test_block_addr(t, 4, "198.51.100.9", 32, TEST_NOW - TEST_HOUR, "gone");
    test_load(t);

    /* expired entries stay in the table until keryud removes them */

    assert_int_equal(keryu_blocklist_count(t->bl), 5);

    test_expect(t, 4, "198.51.100.9", NULL, 0);
    test_expect(t, 4, "192.0.2.3", "live", 32);

    /* an expired host block uncovers the shorter prefix around it */

    test_expect(t, 4, "192.0.2.1", "net", 24);
    test_expect(t, 4, "192.0.2.2", "net", 24);

    /* and the block that was live is gone an hour later */

    inet_pton(AF_INET, "192.0.2.3", addr);

    b = keryu_blocklist_addr(t->bl, 4, addr, TEST_NOW + 1, NULL);
    assert_non_null(b);
    b = keryu_blocklist_addr(t->bl, 4, addr, TEST_NOW + 2 * TEST_HOUR, NULL);
    assert_null(b);
}


static void
user_blocks_match_exact_names(void **state)
{
    test_t               *t;
    const keryu_block_t  *b;

    t = *state;

    test_block_user(t, "alice", 0, "fraud");
    test_block_user(t, "bob", TEST_NOW - 1, "was");
    test_block_user(t, "carol@example.com", TEST_NOW + TEST_HOUR, "spam");
    test_block_addr(t, 4, "192.0.2.1", 32, 0, "addr");
    test_load(t);

    assert_int_equal(keryu_blocklist_count(t->bl), 4);

    b = keryu_blocklist_user(t->bl, "alice", 5, TEST_NOW);
    assert_non_null(b);
    assert_int_equal(b->reason_len, 5);
    assert_memory_equal(b->reason, "fraud", 5);
    assert_true(b->expires_us == 0);
    assert_true(b->created_us == TEST_NOW - TEST_HOUR);

    assert_true(test_user(t, "carol@example.com"));
    assert_false(test_user(t, "bob"));
    assert_false(test_user(t, "alic"));
    assert_false(test_user(t, "alice2"));
    assert_false(test_user(t, "carol"));
    assert_false(test_user(t, ""));

    /* the length decides, not a terminating NUL */

    assert_non_null(keryu_blocklist_user(t->bl, "alicexyz", 5, TEST_NOW));
    assert_null(keryu_blocklist_user(t->bl, "alice", 4, TEST_NOW));

    /* users and addresses do not mix */

    assert_false(test_user(t, "192.0.2.1"));
}


static void
user_blocks_are_case_sensitive(void **state)
{
    test_t  *t;

    t = *state;

    test_block_user(t, "Alice", 0, "upper");
    test_load(t);

    assert_true(test_user(t, "Alice"));
    assert_false(test_user(t, "alice"));
    assert_false(test_user(t, "ALICE"));
}


static void
malformed_entries_are_skipped_and_counted(void **state)
{
    uint8_t                  key[KERYU_BLOCK_KEY_MAX], val[8];
    test_t                  *t;
    keryu_blocklist_stats_t  stats;

    t = *state;

    test_block_addr(t, 4, "192.0.2.1", 32, 0, "good");
    test_block_user(t, "alice", 0, "good");

    test_begin(t);

    /* a value too short to be a block */

    keryu_block_key_user(key, "short", 5);
    memset(val, 0, sizeof(val));
    test_put(t, key, 6, val, sizeof(val));

    /* an unknown key type */

    key[0] = 'x';
    test_put_block(t, key, 6, 0, "unknown type");

    /* an address key with host bits set, and one with a bad prefix */

    keryu_block_key_addr(key, 4, (const uint8_t *) "\xc6\x33\x64\x00", 24);
    key[17] = 0x05;
    test_put_block(t, key, 18, 0, "host bits");

    key[1] = 129;
    key[17] = 0;
    test_put_block(t, key, 18, 0, "prefix 129");

    /* a key of the wrong length */

    keryu_block_key_addr(key, 4, (const uint8_t *) "\xcb\x00\x71\x00", 24);
    test_put_block(t, key, 17, 0, "short key");

    test_commit(t);

    test_load(t);

    keryu_blocklist_stats(t->bl, &stats);

    assert_int_equal(keryu_blocklist_count(t->bl), 2);
    assert_int_equal(stats.blocks, 2);
    assert_int_equal(stats.skipped, 5);

    test_expect(t, 4, "192.0.2.1", "good", 32);
    test_expect(t, 4, "198.51.100.5", NULL, 0);
    test_expect(t, 4, "203.0.113.1", NULL, 0);
    assert_true(test_user(t, "alice"));
    assert_false(test_user(t, "short"));
}


static uint64_t
test_clock_us(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);

    return (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;
}


/*
 * n blocks: a /8 and a /48, then in turn for j = 0, 1, ... /32s of
 * 10.0.j, /24s of 172.16-31.j, /128s of 2001:db8::1000+j and /64s of
 * 2001:db8:0:j, every /64 expired (the /48 covers them)
 */

static void
test_fill_many(test_t *t, unsigned n)
{
    char      text[64];
    unsigned  i, j;

    test_begin(t);

    test_block_addr(t, 4, "10.0.0.0", 8, 0, "wide4");
    test_block_addr(t, 6, "2001:db8::", 48, 0, "wide6");

    for (i = 0; i < n - 2; i++) {
        j = i / 4;

        switch (i % 4) {

        case 0:
            snprintf(text, sizeof(text), "10.0.%u.%u", j >> 8, j & 0xff);
            test_block_addr(t, 4, text, 32, 0, "h4");
            break;

        case 1:
            snprintf(text, sizeof(text), "172.%u.%u.0", 16 + (j >> 8),
                     j & 0xff);
            test_block_addr(t, 4, text, 24, 0, "n4");
            break;

        case 2:
            snprintf(text, sizeof(text), "2001:db8::%x", 0x1000 + j);
            test_block_addr(t, 6, text, 128, 0, "h6");
            break;

        default:
            snprintf(text, sizeof(text), "2001:db8:0:%x::", j);
            test_block_addr(t, 6, text, 64, TEST_NOW - 1, "n6");
            break;
        }
    }

    test_commit(t);
}


static void
ten_thousand_blocks_load_fast_and_match(void **state)
{
    char                     text[64];
    test_t                  *t;
    unsigned                 i, j;
    uint64_t                 start, took;
    keryu_blocklist_stats_t  stats;

    t = *state;

    test_fill_many(t, TEST_MANY);

    start = test_clock_us();
    test_load(t);
    took = test_clock_us() - start;

    print_message("loaded %u blocks in %llu us\n", TEST_MANY,
                  (unsigned long long) took);

    /* a few milliseconds; the bound leaves room for ASan and a busy host */

    assert_true(took < 100000);

    /* /32 and /128 share one hash: both are 128 bits mapped */

    keryu_blocklist_stats(t->bl, &stats);
    assert_int_equal(stats.blocks, TEST_MANY);
    assert_int_equal(stats.skipped, 0);
    assert_int_equal(stats.prefixes, 5);

    for (i = 0; i < TEST_MANY - 2; i++) {
        j = i / 4;

        switch (i % 4) {

        case 0:
            snprintf(text, sizeof(text), "10.0.%u.%u", j >> 8, j & 0xff);
            test_expect(t, 4, text, "h4", 32);
            break;

        case 1:
            snprintf(text, sizeof(text), "172.%u.%u.9", 16 + (j >> 8),
                     j & 0xff);
            test_expect(t, 4, text, "n4", 24);
            break;

        case 2:
            snprintf(text, sizeof(text), "2001:db8::%x", 0x1000 + j);
            test_expect(t, 6, text, "h6", 128);
            break;

        default:
            snprintf(text, sizeof(text), "2001:db8:0:%x::1", j);
            test_expect(t, 6, text, "wide6", 48);
            break;
        }
    }

    test_expect(t, 4, "10.200.200.200", "wide4", 8);
    test_expect(t, 4, "172.15.0.1", NULL, 0);
    test_expect(t, 4, "172.26.0.1", NULL, 0);
    test_expect(t, 6, "2001:db8::fff", "wide6", 48);
    test_expect(t, 6, "2001:db9::1", NULL, 0);
}


/*
 * the same 2,000 pairs of lookups, half of them hits, against 10 blocks
 * and against 10,000 of the same prefix lengths; the work is summed, and
 * the most slots one pair read is kept
 */

static void
test_work(test_t *t, unsigned n, keryu_blocklist_stats_t *work,
    uint64_t *max_slots)
{
    char                     text[64];
    unsigned                 i, prefix;
    uint64_t                 slots;
    keryu_blocklist_stats_t  before, after;

    test_fill_many(t, n);
    test_load(t);

    memset(work, 0, sizeof(keryu_blocklist_stats_t));
    keryu_blocklist_stats(t->bl, &before);
    *max_slots = 0;

    for (i = 0; i < 2000; i++) {

        /* hits on blocks that the 10 hold too */

        if (i % 2 == 0) {
            assert_non_null(test_lookup(t, 4, "10.0.0.0", &prefix));
            assert_non_null(test_lookup(t, 6, "2001:db8::1000", &prefix));

        } else {
            snprintf(text, sizeof(text), "203.0.%u.%u", i >> 8, i & 0xff);
            assert_null(test_lookup(t, 4, text, &prefix));
            snprintf(text, sizeof(text), "2001:db9::%x", i);
            assert_null(test_lookup(t, 6, text, &prefix));
        }

        keryu_blocklist_stats(t->bl, &after);

        slots = after.slots - before.slots;

        if (slots > *max_slots) {
            *max_slots = slots;
        }

        work->lookups += after.lookups - before.lookups;
        work->tables += after.tables - before.tables;
        work->slots += slots;

        before = after;
    }
}


static void
lookup_work_does_not_grow_with_the_count(void **state)
{
    test_t                  *t;
    uint64_t                 max_few, max_many;
    keryu_blocklist_stats_t  few, many;

    t = *state;

    test_work(t, 10, &few, &max_few);

    /* the second fill rewrites the first 10 among its 10,000 */

    test_work(t, TEST_MANY, &many, &max_many);

    print_message("%6u blocks: %llu lookups, %llu hashes, %llu slots, "
                  "at most %llu slots a pair\n", 10,
                  (unsigned long long) few.lookups,
                  (unsigned long long) few.tables,
                  (unsigned long long) few.slots,
                  (unsigned long long) max_few);
    print_message("%6u blocks: %llu lookups, %llu hashes, %llu slots, "
                  "at most %llu slots a pair\n", TEST_MANY,
                  (unsigned long long) many.lookups,
                  (unsigned long long) many.tables,
                  (unsigned long long) many.slots,
                  (unsigned long long) max_many);

    assert_int_equal(keryu_blocklist_count(t->bl), TEST_MANY);

    assert_true(few.lookups == 4000);
    assert_true(many.lookups == 4000);

    /*
     * one hash per prefix length present that can cover the client, the
     * same for both: a hit stops at 128, an IPv4 miss probes 128, 120 and
     * 104, an IPv6 miss those and 64 and 48
     */

    assert_true(few.tables == 1000 * (1 + 1 + 3 + 5));
    assert_true(many.tables == few.tables);

    /*
     * each hash is at most a quarter full, so a probe reads about 1.2
     * slots whatever the seed; the mean over 10,000 probes stays far
     * below 2, and no pair of lookups reads more than a few slots per hash
     */

    assert_true(few.slots < 2 * few.tables);
    assert_true(many.slots < 2 * many.tables);
    assert_true(max_few <= 8 * 8);
    assert_true(max_many <= 8 * 8);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        test_case(empty_table_blocks_nothing),
        test_case(exact_ipv4_block_matches_only_its_address),
        test_case(exact_ipv6_block_matches_only_its_address),
        test_case(ipv4_prefixes_cover_their_ranges),
        test_case(ipv4_zero_prefix_covers_every_ipv4_client_only),
        test_case(ipv6_prefixes_cover_their_ranges),
        test_case(ipv6_zero_prefix_does_not_cover_ipv4_clients),
        test_case(longest_prefix_wins),
        test_case(ipv4_mapped_client_matches_ipv4_block),
        test_case(expired_block_never_matches),
        test_case(user_blocks_match_exact_names),
        test_case(user_blocks_are_case_sensitive),
        test_case(malformed_entries_are_skipped_and_counted),
        test_case(ten_thousand_blocks_load_fast_and_match),
        test_case(lookup_work_does_not_grow_with_the_count),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
