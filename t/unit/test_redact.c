
/*
 * Copyright (C) Keryu Security
 *
 * Unit tests for redaction: the HMAC against RFC 4231 and OpenSSL, tokens,
 * secret query arguments (names in any case, percent-encoded, with
 * brackets; empty values, values at the end, "&&"), card numbers (the
 * Luhn check, separators, runs too short or too long, numbers next to a
 * card), email addresses, client addresses, and every function's cut and
 * count-only forms.
 */


#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "keryu_redact.h"


#define TEST_OUT_MAX  1024


static keryu_redact_key_t    test_key;
static keryu_redact_key_t    test_key2;
static keryu_redact_names_t  test_names;


static int
test_setup(void **state)
{
    size_t               n;
    uint8_t              secret[32];
    const keryu_bytes_t  *names;

    (void) state;

    names = keryu_redact_default_names(&n);
    keryu_redact_names_init(&test_names, names, n);

    memset(secret, 'k', sizeof(secret));

    if (keryu_redact_key_init(&test_key, secret, sizeof(secret)) != 0) {
        return -1;
    }

    secret[31] = 'K';

    return keryu_redact_key_init(&test_key2, secret, sizeof(secret));
}


/* the token of a value, as a string */

static const char *
test_token(const keryu_redact_key_t *key, const char *value)
{
    size_t          n;
    static uint8_t  buf[KERYU_REDACT_TOKEN_MAX + 1];

    n = keryu_redact_token(key, (const uint8_t *) value, strlen(value), buf);
    buf[n] = '\0';

    return (const char *) buf;
}


static void
test_hex(const uint8_t *p, size_t n, char *out)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        sprintf(out + 2 * i, "%02x", p[i]);
    }
}


static unsigned
test_args(const keryu_redact_key_t *key, const char *uri, char *out)
{
    size_t    len, counted;
    unsigned  count;

    count = keryu_redact_args(key, &test_names, (const uint8_t *) uri,
                              strlen(uri), (uint8_t *) out, TEST_OUT_MAX,
                              &len);
    assert_true(len < TEST_OUT_MAX);
    out[len] = '\0';

    /* counting alone gives the same count and length */

    assert_int_equal(keryu_redact_args(key, &test_names, (const uint8_t *) uri,
                                       strlen(uri), NULL, 0, &counted),
                     count);
    assert_int_equal(counted, len);

    return count;
}


static unsigned
test_cards(const char *in, char *out)
{
    size_t    len;
    unsigned  count;

    len = strlen(in);

    count = keryu_redact_cards((const uint8_t *) in, len, (uint8_t *) out,
                               TEST_OUT_MAX);
    out[len] = '\0';

    assert_int_equal(keryu_redact_cards((const uint8_t *) in, len, NULL, 0),
                     count);

    return count;
}


static unsigned
test_emails(const keryu_redact_key_t *key, const char *in, char *out)
{
    size_t    len, counted;
    unsigned  count;

    count = keryu_redact_emails(key, (const uint8_t *) in, strlen(in),
                                (uint8_t *) out, TEST_OUT_MAX, &len);
    assert_true(len < TEST_OUT_MAX);
    out[len] = '\0';

    assert_int_equal(keryu_redact_emails(key, (const uint8_t *) in,
                                         strlen(in), NULL, 0, &counted),
                     count);
    assert_int_equal(counted, len);

    return count;
}


/* ---- the HMAC and tokens ---- */

static void
hmac_matches_rfc_4231_long_key_vectors(void **state)
{
    char                 hex[65];
    uint8_t              secret[131], mac[32];
    keryu_redact_key_t   key;
    static const char   *data6 =
        "Test Using Larger Than Block-Size Key - Hash Key First";
    static const char   *data7 =
        "This is a test using a larger than block-size key and a larger "
        "than block-size data. The key needs to be hashed before being "
        "used by the HMAC algorithm.";

    (void) state;

    memset(secret, 0xaa, sizeof(secret));
    assert_int_equal(keryu_redact_key_init(&key, secret, sizeof(secret)), 0);

    keryu_redact_hmac(&key, (const uint8_t *) data6, strlen(data6), mac);
    test_hex(mac, sizeof(mac), hex);
    assert_string_equal(hex, "60e431591ee0b67f0d8a26aacbf5b77f"
                             "8e0bc6213728c5140546040f0ee37f54");

    keryu_redact_hmac(&key, (const uint8_t *) data7, strlen(data7), mac);
    test_hex(mac, sizeof(mac), hex);
    assert_string_equal(hex, "9b09ffa71b942fcb27635fbcd5b0e944"
                             "bfdc63644f0713938a7f51535c3a35e2");
}


static void
hmac_matches_openssl_for_every_length(void **state)
{
    size_t               klen, dlen, i;
    uint8_t              secret[KERYU_REDACT_KEY_MAX], data[300];
    uint8_t              mac[32], want[32];
    unsigned             wlen;
    keryu_redact_key_t   key;
    static const size_t  klens[] = { 32, 63, 64, 65, 128, 1024 };

    (void) state;

    for (i = 0; i < sizeof(secret); i++) {
        secret[i] = (uint8_t) (i * 7 + 3);
    }

    for (i = 0; i < sizeof(data); i++) {
        data[i] = (uint8_t) (i * 13 + 1);
    }

    for (i = 0; i < sizeof(klens) / sizeof(klens[0]); i++) {
        klen = klens[i];
        assert_int_equal(keryu_redact_key_init(&key, secret, klen), 0);

        for (dlen = 0; dlen <= sizeof(data); dlen++) {
            keryu_redact_hmac(&key, data, dlen, mac);
            HMAC(EVP_sha256(), secret, (int) klen, data, dlen, want, &wlen);

            assert_int_equal(wlen, 32);
            assert_memory_equal(mac, want, 32);
        }
    }
}


static void
key_refuses_short_and_long_secrets(void **state)
{
    uint8_t             secret[KERYU_REDACT_KEY_MAX + 1];
    keryu_redact_key_t  key;

    (void) state;

    memset(secret, 's', sizeof(secret));

    assert_int_equal(keryu_redact_key_init(&key, secret, 0), -1);
    assert_int_equal(keryu_redact_key_init(&key, secret,
                                           KERYU_REDACT_KEY_MIN - 1), -1);
    assert_int_equal(keryu_redact_key_init(&key, secret,
                                           KERYU_REDACT_KEY_MIN), 0);
    assert_int_equal(keryu_redact_key_init(&key, secret,
                                           KERYU_REDACT_KEY_MAX), 0);
    assert_int_equal(keryu_redact_key_init(&key, secret,
                                           KERYU_REDACT_KEY_MAX + 1), -1);
}


static void
token_is_stable_per_key_and_value(void **state)
{
    char     first[KERYU_REDACT_TOKEN_MAX + 1], hex[65];
    size_t   i;
    uint8_t  mac[32];

    (void) state;

    strcpy(first, test_token(&test_key, "hunter2"));

    assert_int_equal(strlen(first), KERYU_REDACT_TOKEN_MAX);
    assert_int_equal(first[0], '~');

    for (i = 1; i < KERYU_REDACT_TOKEN_MAX; i++) {
        assert_non_null(strchr("0123456789abcdef", first[i]));
    }

    /* the first 8 bytes of the HMAC, in hex */

    keryu_redact_hmac(&test_key, (const uint8_t *) "hunter2", 7, mac);
    test_hex(mac, 8, hex);
    assert_string_equal(first + 1, hex);

    assert_string_equal(test_token(&test_key, "hunter2"), first);
    assert_string_not_equal(test_token(&test_key2, "hunter2"), first);
    assert_string_not_equal(test_token(&test_key, "hunter3"), first);
    assert_string_equal(test_token(NULL, "hunter2"), "[redacted]");
    assert_string_equal(test_token(NULL, ""), "[redacted]");
}


/* ---- query arguments ---- */

static void
default_names_hold_the_documented_list(void **state)
{
    size_t               n, i, j;
    const keryu_bytes_t  *names;
    static const char   *want[] = {
        "password", "passwd", "pass", "token", "access_token",
        "refresh_token", "id_token", "api_key", "apikey", "secret",
        "client_secret", "card", "card_number", "cc", "cvv", "cvc"
    };

    (void) state;

    names = keryu_redact_default_names(&n);

    for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        for (j = 0; j < n; j++) {
            if (names[j].len == strlen(want[i])
                && memcmp(names[j].data, want[i], names[j].len) == 0)
            {
                break;
            }
        }

        if (j == n) {
            fail_msg("\"%s\" is not a default name", want[i]);
        }
    }

    for (j = 0; j < n; j++) {
        assert_int_equal(keryu_redact_name_check(names[j].data,
                                                 names[j].len), 0);
    }
}


static void
name_check_refuses_what_cannot_match(void **state)
{
    char                 name[KERYU_REDACT_NAME_MAX + 2];
    size_t               i;
    static const char   *bad[] = {
        "", "pass word", "a=b", "a&b", "a[]", "a]", "a%41", "a+b", "a?",
        "a#", "Password", "tab\there"
    };

    (void) state;

    assert_int_equal(keryu_redact_name_check((const uint8_t *) "otp", 3), 0);
    assert_int_equal(keryu_redact_name_check((const uint8_t *) "x-api-key",
                                             9), 0);

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (keryu_redact_name_check((const uint8_t *) bad[i], strlen(bad[i]))
            != -1)
        {
            fail_msg("\"%s\" was accepted", bad[i]);
        }
    }

    memset(name, 'a', sizeof(name));

    assert_int_equal(keryu_redact_name_check((const uint8_t *) name,
                                             KERYU_REDACT_NAME_MAX), 0);
    assert_int_equal(keryu_redact_name_check((const uint8_t *) name,
                                             KERYU_REDACT_NAME_MAX + 1), -1);
}


static void
args_replace_secret_values_and_keep_the_rest(void **state)
{
    char  out[TEST_OUT_MAX], want[TEST_OUT_MAX];

    (void) state;

    assert_int_equal(test_args(NULL, "/login?user=bob&password=hunter2&x=1",
                               out), 1);
    assert_string_equal(out, "/login?user=bob&password=[redacted]&x=1");

    assert_int_equal(test_args(&test_key,
                               "/login?user=bob&password=hunter2&x=1", out),
                     1);
    snprintf(want, sizeof(want), "/login?user=bob&password=%s&x=1",
             test_token(&test_key, "hunter2"));
    assert_string_equal(out, want);

    /* the value is hashed as sent, escapes and all */

    assert_int_equal(test_args(&test_key, "/?token=a%2Fb+c", out), 1);
    snprintf(want, sizeof(want), "/?token=%s",
             test_token(&test_key, "a%2Fb+c"));
    assert_string_equal(out, want);

    /* several secrets, the same name twice */

    assert_int_equal(test_args(NULL, "/cb?access_token=A&refresh_token=B"
                                     "&id_token=C&state=s&access_token=D",
                               out), 4);
    assert_string_equal(out, "/cb?access_token=[redacted]"
                             "&refresh_token=[redacted]&id_token=[redacted]"
                             "&state=s&access_token=[redacted]");

    assert_int_equal(test_args(NULL, "/pay?card=4111&cvv=123&cc=1&cvc=2"
                                     "&card_number=3&api_key=4&apikey=5"
                                     "&secret=6&client_secret=7&pass=8"
                                     "&passwd=9", out), 11);
    assert_null(strpbrk(strchr(out, '?'), "0123456789"));
}


static void
args_match_names_in_any_case_and_encoding(void **state)
{
    char                 out[TEST_OUT_MAX], want[TEST_OUT_MAX];
    size_t               i;
    static const char   *names[] = {
        "PASSWORD", "PassWord", "pass%77ord", "%70%61%73%73%77%6F%72%64",
        "%50ASSWORD", "password[]", "password%5B%5D", "password%5b%5d",
        "user[password]", "user%5Bpassword%5D", "password[new]",
        "a[b][password]", "password[][]"
    };

    (void) state;

    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        snprintf(want, sizeof(want), "/?x=1&%s=hunter2&y=2", names[i]);

        if (test_args(NULL, want, out) != 1) {
            fail_msg("\"%s\" was not taken as secret", names[i]);
        }

        snprintf(want, sizeof(want), "/?x=1&%s=[redacted]&y=2", names[i]);
        assert_string_equal(out, want);
    }
}


static void
args_leave_other_names_byte_exact(void **state)
{
    char                 out[TEST_OUT_MAX];
    size_t               i;
    static const char   *uris[] = {
        "/?passport=1&passwords=2&tokens=3&my_token=4&xpassword=5",
        "/?pass%2=1&%zz=2&=3&%=4&a%5B=5&user[name]=bob",
        "/path/password=x/token=y",
        "/?q=password%3Dhunter2",
        "/?a=1;password=2",
        "/a?b?password",
        "",
        "/",
        "?"
    };

    (void) state;

    for (i = 0; i < sizeof(uris) / sizeof(uris[0]); i++) {
        if (test_args(&test_key, uris[i], out) != 0) {
            fail_msg("\"%s\" was changed to \"%s\"", uris[i], out);
        }

        assert_string_equal(out, uris[i]);
    }
}


static void
args_keep_empty_values_and_odd_separators(void **state)
{
    char  out[TEST_OUT_MAX];

    (void) state;

    /* an empty value stays empty; so does a name with no "=" */

    assert_int_equal(test_args(NULL, "/?password=&x=1", out), 0);
    assert_string_equal(out, "/?password=&x=1");

    assert_int_equal(test_args(NULL, "/?password&token", out), 0);
    assert_string_equal(out, "/?password&token");

    assert_int_equal(test_args(NULL, "/?password=", out), 0);
    assert_string_equal(out, "/?password=");

    /* a value at the very end */

    assert_int_equal(test_args(NULL, "/?a=1&token=abc", out), 1);
    assert_string_equal(out, "/?a=1&token=[redacted]");

    assert_int_equal(test_args(NULL, "/?token=abc", out), 1);
    assert_string_equal(out, "/?token=[redacted]");

    /* empty arguments are kept as they are */

    assert_int_equal(test_args(NULL, "/?&&password=x&&token=y&", out), 2);
    assert_string_equal(out, "/?&&password=[redacted]&&token=[redacted]&");

    /* a value runs to the next "&", whatever it holds */

    assert_int_equal(test_args(NULL, "/?token=a=b;c#d?e&x=1", out), 1);
    assert_string_equal(out, "/?token=[redacted]&x=1");

    /* a "?" after the first is part of the query */

    assert_int_equal(test_args(NULL, "/a?b=1?&password=2", out), 1);
    assert_string_equal(out, "/a?b=1?&password=[redacted]");
}


static void
args_take_a_name_too_long_to_decode_as_secret(void **state)
{
    char  uri[600], out[TEST_OUT_MAX];

    (void) state;

    memset(uri, 'n', sizeof(uri));
    memcpy(uri, "/?", 2);
    strcpy(uri + 2 + 256, "=v");

    assert_int_equal(test_args(NULL, uri, out), 0);

    memset(uri, 'n', sizeof(uri));
    memcpy(uri, "/?", 2);
    strcpy(uri + 2 + 257, "=v");

    assert_int_equal(test_args(NULL, uri, out), 1);
    assert_string_equal(out + 2 + 257, "=[redacted]");
}


static void
args_use_the_list_given(void **state)
{
    char                  out[TEST_OUT_MAX];
    size_t                len;
    unsigned              n;
    keryu_bytes_t         names[2];
    const char           *uri = "/?otp=123456&password=x&sid=abc";
    keryu_redact_names_t  list;

    (void) state;

    names[0].len = 3;
    names[0].data = (const uint8_t *) "otp";
    names[1].len = 3;
    names[1].data = (const uint8_t *) "sid";

    keryu_redact_names_init(&list, names, 2);

    n = keryu_redact_args(NULL, &list, (const uint8_t *) uri, strlen(uri),
                          (uint8_t *) out, sizeof(out), &len);
    out[len] = '\0';

    assert_int_equal(n, 2);
    assert_string_equal(out, "/?otp=[redacted]&password=x&sid=[redacted]");

    /* an empty list changes nothing */

    keryu_redact_names_init(&list, names, 0);

    n = keryu_redact_args(NULL, &list, (const uint8_t *) uri, strlen(uri),
                          (uint8_t *) out, sizeof(out), &len);
    out[len] = '\0';

    assert_int_equal(n, 0);
    assert_string_equal(out, uri);
}


static void
args_cut_a_result_longer_than_its_buffer(void **state)
{
    char        out[32];
    size_t      len, i;
    unsigned    count;
    const char *uri = "/?a=1&b=2&password=hunter2&c=3";

    (void) state;

    for (i = 0; i < 30; i++) {
        memset(out, '#', sizeof(out));

        count = keryu_redact_args(&test_key, &test_names,
                                  (const uint8_t *) uri, strlen(uri),
                                  (uint8_t *) out, i, &len);

        assert_int_equal(count, 1);
        assert_int_equal(len, strlen(uri) - 7 + KERYU_REDACT_TOKEN_MAX);
        assert_int_equal(out[i], '#');
        assert_null(memchr(out, 'h', i));
    }
}


/* ---- card numbers ---- */

static void
cards_mask_all_but_first_six_and_last_four(void **state)
{
    char  out[TEST_OUT_MAX];

    (void) state;

    assert_int_equal(test_cards("4111111111111111", out), 1);
    assert_string_equal(out, "411111******1111");

    assert_int_equal(test_cards("/pay/5555555555554444/ok", out), 1);
    assert_string_equal(out, "/pay/555555******4444/ok");

    /* 13 and 19 digits, the shortest and the longest */

    assert_int_equal(test_cards("n=4222222222222;", out), 1);
    assert_string_equal(out, "n=422222***2222;");

    assert_int_equal(test_cards("4000000000000000006", out), 1);
    assert_string_equal(out, "400000*********0006");

    /* letters around a number do not hide it */

    assert_int_equal(test_cards("abc4111111111111111xyz", out), 1);
    assert_string_equal(out, "abc411111******1111xyz");

    assert_int_equal(test_cards("a 4111111111111111 b 5555555555554444", out),
                     2);
    assert_string_equal(out, "a 411111******1111 b 555555******4444");
}


static void
cards_keep_single_separators(void **state)
{
    char  out[TEST_OUT_MAX];

    (void) state;

    assert_int_equal(test_cards("4111 1111 1111 1111", out), 1);
    assert_string_equal(out, "4111 11** **** 1111");

    assert_int_equal(test_cards("4111-1111-1111-1111", out), 1);
    assert_string_equal(out, "4111-11**-****-1111");

    assert_int_equal(test_cards("?q=4111+1111+1111+1111", out), 1);
    assert_string_equal(out, "?q=4111+11**+****+1111");

    assert_int_equal(test_cards("?q=4111%201111%201111%201111", out), 1);
    assert_string_equal(out, "?q=4111%2011**%20****%201111");

    assert_int_equal(test_cards("4 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1", out), 1);
    assert_string_equal(out, "4 1 1 1 1 1 * * * * * * 1 1 1 1");

    /* two separators in a row end a number */

    assert_int_equal(test_cards("4111  1111 1111 1111", out), 0);
    assert_string_equal(out, "4111  1111 1111 1111");

    assert_int_equal(test_cards("4111--1111-1111-1111", out), 0);
    assert_string_equal(out, "4111--1111-1111-1111");

    /* and a trailing one is not part of it */

    assert_int_equal(test_cards("4111 1111 1111 1111 ", out), 1);
    assert_string_equal(out, "4111 11** **** 1111 ");
}


static void
cards_leave_other_digit_runs_alone(void **state)
{
    char                 out[TEST_OUT_MAX];
    size_t               i;
    static const char   *runs[] = {
        "4111111111111112",             /* fails the Luhn check */
        "422222222222",                 /* 12 digits, passes Luhn */
        "40000000000000000002",         /* 20 digits, passes Luhn */
        "12345678901234567894",         /* 20 digits, passes Luhn */
        "123456789015",                 /* 12 digits, passes Luhn */
        "x=12345678901234567894&y",
        "1700000000000 ms",             /* fails the Luhn check */
        "4111.1111.1111.1111",
        "4111_1111_1111_1111",
        ""
    };

    (void) state;

    for (i = 0; i < sizeof(runs) / sizeof(runs[0]); i++) {
        if (test_cards(runs[i], out) != 0) {
            fail_msg("\"%s\" was masked to \"%s\"", runs[i], out);
        }

        assert_string_equal(out, runs[i]);
    }
}


static void
cards_are_found_next_to_other_numbers(void **state)
{
    char  out[TEST_OUT_MAX];

    (void) state;

    /* a number before a card, a separator between */

    assert_int_equal(test_cards("build 20240101 4111111111111111)", out), 1);
    assert_string_equal(out, "build 20240101 411111******1111)");

    /* and after it: the whole 18 digits fail Luhn, the first 16 pass */

    assert_int_equal(test_cards("4111111111111111 43", out), 1);
    assert_string_equal(out, "411111******1111 43");

    /* percent escapes are not digits of a number */

    assert_int_equal(test_cards("?q=%204111111111111111", out), 1);
    assert_string_equal(out, "?q=%20411111******1111");

    assert_int_equal(test_cards("%2C4111111111111111%2C", out), 1);
    assert_string_equal(out, "%2C411111******1111%2C");
}


static void
cards_mask_in_place_and_cut(void **state)
{
    char        buf[64], out[8];
    size_t      i;
    const char *in = "x4111111111111111";

    (void) state;

    strcpy(buf, "card 4111 1111 1111 1111 end");

    assert_int_equal(keryu_redact_cards((uint8_t *) buf, strlen(buf),
                                        (uint8_t *) buf, sizeof(buf)), 1);
    assert_string_equal(buf, "card 4111 11** **** 1111 end");

    /* a cut result still comes from the whole input */

    memset(out, '#', sizeof(out));

    assert_int_equal(keryu_redact_cards((const uint8_t *) in, strlen(in),
                                        (uint8_t *) out, 7), 1);
    assert_memory_equal(out, "x411111#", 8);

    memset(out, '#', sizeof(out));

    assert_int_equal(keryu_redact_cards((const uint8_t *) in + 5, 12,
                                        (uint8_t *) out, 8), 0);

    for (i = 0; i < 8; i++) {
        assert_int_equal(out[i], '1');
    }
}


/* ---- email addresses ---- */

static void
emails_replace_the_local_part_and_keep_the_domain(void **state)
{
    char  out[TEST_OUT_MAX], want[TEST_OUT_MAX];

    (void) state;

    assert_int_equal(test_emails(NULL, "alice@example.com", out), 1);
    assert_string_equal(out, "[redacted]@example.com");

    assert_int_equal(test_emails(&test_key, "/u/alice@example.com/x", out),
                     1);
    snprintf(want, sizeof(want), "/u/%s@example.com/x",
             test_token(&test_key, "alice"));
    assert_string_equal(out, want);

    /* percent-encoded "@", as forms send it */

    assert_int_equal(test_emails(&test_key, "/?email=bob.smith%2Btag%40mail"
                                            ".example.org&x=1", out), 1);
    snprintf(want, sizeof(want), "/?email=%s%%40mail.example.org&x=1",
             test_token(&test_key, "bob.smith%2Btag"));
    assert_string_equal(out, want);

    /* in JSON, in a sentence, several */

    assert_int_equal(test_emails(NULL, "{\"who\":\"carol_d-1@x.co\"}", out), 1);
    assert_string_equal(out, "{\"who\":\"[redacted]@x.co\"}");

    assert_int_equal(test_emails(NULL, "mail a@b.io, c.d@e.f.museum.", out),
                     2);
    assert_string_equal(out, "mail [redacted]@b.io, [redacted]@e.f.museum.");

    /* the same address, the same token */

    assert_int_equal(test_emails(&test_key, "x@a.com x@a.com", out), 2);
    snprintf(want, sizeof(want), "%s@a.com %s@a.com",
             test_token(&test_key, "x"), test_token(&test_key, "x"));
    assert_string_equal(out, want);
}


static void
emails_leave_what_is_not_an_address(void **state)
{
    char                 out[TEST_OUT_MAX];
    size_t               i;
    static const char   *texts[] = {
        "@example.com", "alice@", "alice@localhost", "a@b", "a@1.2.3.4",
        "a@example.c", "a@.example.com", "a@-x.com", "a @example.com",
        "%40example.com", "a%4", "user:@x.com", "Mozilla/5.0 (X11)", ""
    };

    (void) state;

    for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        if (test_emails(&test_key, texts[i], out) != 0) {
            fail_msg("\"%s\" was changed to \"%s\"", texts[i], out);
        }

        assert_string_equal(out, texts[i]);
    }
}


static void
emails_cut_a_result_longer_than_its_buffer(void **state)
{
    char        out[16];
    size_t      len, i;
    const char *in = "to: alice@example.com";

    (void) state;

    for (i = 0; i < sizeof(out); i++) {
        memset(out, '#', sizeof(out));

        assert_int_equal(keryu_redact_emails(NULL, (const uint8_t *) in,
                                             strlen(in), (uint8_t *) out, i,
                                             &len),
                         1);
        assert_int_equal(len, strlen(in) - 5 + 10);
        assert_null(memchr(out, 'l', i));

        if (i < sizeof(out)) {
            assert_int_equal(out[i], '#');
        }
    }
}


/* ---- client addresses ---- */

static void
addr_keeps_24_bits_of_ipv4_and_48_of_ipv6(void **state)
{
    uint8_t  a4[4] = { 192, 0, 2, 77 };
    uint8_t  a6[16] = {
        0x20, 0x01, 0x0d, 0xb8, 0x12, 0x34, 0x56, 0x78,
        0x9a, 0xbc, 0xde, 0xf0, 0x11, 0x22, 0x33, 0x44
    };
    uint8_t  m6[16] = {
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 198, 51, 100, 9
    };
    uint8_t  keep[16];

    static const uint8_t  w4[4] = { 192, 0, 2, 0 };
    static const uint8_t  w6[16] = {
        0x20, 0x01, 0x0d, 0xb8, 0x12, 0x34, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
    };
    static const uint8_t  wm6[16] = {
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 198, 51, 100, 0
    };

    (void) state;

    assert_int_equal(keryu_redact_addr(a4, 4), 0);
    assert_memory_equal(a4, w4, 4);

    assert_int_equal(keryu_redact_addr(a6, 6), 0);
    assert_memory_equal(a6, w6, 16);

    assert_int_equal(keryu_redact_addr(m6, 6), 0);
    assert_memory_equal(m6, wm6, 16);

    /* again changes nothing */

    assert_int_equal(keryu_redact_addr(a6, 6), 0);
    assert_memory_equal(a6, w6, 16);

    memcpy(keep, a6, 16);
    assert_int_equal(keryu_redact_addr(a6, 0), -1);
    assert_int_equal(keryu_redact_addr(a6, 5), -1);
    assert_memory_equal(a6, keep, 16);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(hmac_matches_rfc_4231_long_key_vectors),
        cmocka_unit_test(hmac_matches_openssl_for_every_length),
        cmocka_unit_test(key_refuses_short_and_long_secrets),
        cmocka_unit_test(token_is_stable_per_key_and_value),
        cmocka_unit_test(default_names_hold_the_documented_list),
        cmocka_unit_test(name_check_refuses_what_cannot_match),
        cmocka_unit_test(args_replace_secret_values_and_keep_the_rest),
        cmocka_unit_test(args_match_names_in_any_case_and_encoding),
        cmocka_unit_test(args_leave_other_names_byte_exact),
        cmocka_unit_test(args_keep_empty_values_and_odd_separators),
        cmocka_unit_test(args_take_a_name_too_long_to_decode_as_secret),
        cmocka_unit_test(args_use_the_list_given),
        cmocka_unit_test(args_cut_a_result_longer_than_its_buffer),
        cmocka_unit_test(cards_mask_all_but_first_six_and_last_four),
        cmocka_unit_test(cards_keep_single_separators),
        cmocka_unit_test(cards_leave_other_digit_runs_alone),
        cmocka_unit_test(cards_are_found_next_to_other_numbers),
        cmocka_unit_test(cards_mask_in_place_and_cut),
        cmocka_unit_test(emails_replace_the_local_part_and_keep_the_domain),
        cmocka_unit_test(emails_leave_what_is_not_an_address),
        cmocka_unit_test(emails_cut_a_result_longer_than_its_buffer),
        cmocka_unit_test(addr_keeps_24_bits_of_ipv4_and_48_of_ipv6),
    };

    return cmocka_run_group_tests(tests, test_setup, NULL);
}
