/* SPDX-License-Identifier: MIT */
/* Unit tests of the streaming UTF-8 validator (src/ws/utf8.c): the classic test vectors, an
 * exhaustive comparison with a plain reference decoder over every sequence of up to three bytes
 * (and sampled four-byte ones), streaming at every split point, the sticky failure, and the
 * ASCII fast path at every alignment (a bad byte at each position of long ASCII runs, inputs
 * ending at a PROT_NONE page so a read past the end faults).
 */
#include "corio/ws_frame.h"
#include "test.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* A deliberately naive reference: decode each character, then check the ranges of RFC 3629. */
static bool ref_valid(const uint8_t *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint8_t c = p[i];
        uint32_t cp, min;
        size_t len;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            len = 2, cp = c & 0x1f, min = 0x80;
        } else if ((c & 0xf0) == 0xe0) {
            len = 3, cp = c & 0x0f, min = 0x800;
        } else if ((c & 0xf8) == 0xf0) {
            len = 4, cp = c & 0x07, min = 0x10000;
        } else {
            return false;
        }
        if (n - i < len)
            return false;
        for (size_t k = 1; k < len; k++) {
            if ((p[i + k] & 0xc0) != 0x80)
                return false;
            cp = cp << 6 | (p[i + k] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += len;
    }
    return true;
}

/* Whether p[0..n) could be continued into valid UTF-8 (the streaming verdict). */
static bool ref_prefix_ok(const uint8_t *p, size_t n)
{
    static const uint8_t cont[3][3] = {{0x80}, {0x80, 0x80}, {0x80, 0x80, 0x80}};
    if (ref_valid(p, n))
        return true;
    /* Try completing a trailing partial sequence with the smallest continuation bytes that
     * could be legal; if some completion works, the prefix is fine. */
    for (size_t add = 1; add <= 3; add++) {
        uint8_t tmp[16];
        if (n + add > sizeof tmp)
            return false;
        memcpy(tmp, p, n);
        memcpy(tmp + n, cont[add - 1], add);
        for (unsigned lo = 0x80; lo <= 0xbf; lo += 0x10) { /* 80, 90, A0, B0 */
            tmp[n] = (uint8_t)lo;
            if (ref_valid(tmp, n + add))
                return true;
        }
    }
    return false;
}

static const uint8_t *guarded(const void *src, size_t n)
{
    static uint8_t *base;
    static size_t region = (size_t)1 << 20;
    size_t page = (size_t)sysconf(_SC_PAGESIZE);

    if (base == NULL) {
        base = mmap(NULL, region + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
                    0);
        ASSERT(base != MAP_FAILED);
        ASSERT_EQ(mprotect(base + region, page, PROT_NONE), 0);
    }
    ASSERT(n <= region);
    memcpy(base + region - n, src, n);
    return base + region - n;
}

static bool valid_str(const char *s)
{
    size_t n = strlen(s);
    return corio_ws_utf8_valid(guarded(s, n), n);
}

TEST(valid_vectors)
{
    ASSERT(corio_ws_utf8_valid(NULL, 0));
    ASSERT(valid_str(""));
    ASSERT(valid_str("plain ASCII, the quick brown fox \x01\x7f"));
    ASSERT(valid_str("\xc2\x80"));             /* U+0080, smallest 2-byte */
    ASSERT(valid_str("\xdf\xbf"));             /* U+07FF */
    ASSERT(valid_str("\xe0\xa0\x80"));         /* U+0800, smallest 3-byte */
    ASSERT(valid_str("\xed\x9f\xbf"));         /* U+D7FF, just below the surrogates */
    ASSERT(valid_str("\xee\x80\x80"));         /* U+E000, just above */
    ASSERT(valid_str("\xef\xbf\xbf"));         /* U+FFFF */
    ASSERT(valid_str("\xf0\x90\x80\x80"));     /* U+10000, smallest 4-byte */
    ASSERT(valid_str("\xf4\x8f\xbf\xbf"));     /* U+10FFFF, the last code point */
    ASSERT(valid_str("\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5")); /* "kosme" in Greek */
    ASSERT(valid_str("Hello-\xe4\xb8\x96\xe7\x95\x8c-\xf0\x9f\x98\x80-end"));
    ASSERT(corio_ws_utf8_valid("\0\0\0", 3));  /* NUL is a character */
}

TEST(invalid_vectors)
{
    static const char *bad[] = {
        "\xc0\x80",             /* overlong NUL */
        "\xc1\xbf",             /* overlong U+007F */
        "\xe0\x80\x80",         /* overlong 3-byte */
        "\xe0\x9f\xbf",         /* overlong U+07FF */
        "\xf0\x80\x80\x80",     /* overlong 4-byte */
        "\xf0\x8f\xbf\xbf",     /* overlong U+FFFF */
        "\xed\xa0\x80",         /* U+D800 surrogate */
        "\xed\xbf\xbf",         /* U+DFFF */
        "\xed\xa0\x80\xed\xb0\x80", /* a surrogate pair, CESU-8 style */
        "\xf4\x90\x80\x80",     /* U+110000 */
        "\xf5\x80\x80\x80", "\xf8\x88\x80\x80\x80", "\xfc\x84\x80\x80\x80\x80",
        "\xfe", "\xff", "\xfe\xfe\xff\xff",
        "\x80",                 /* lone continuation */
        "a\xbf" "b",
        "\xc2",                 /* truncated at the end */
        "\xe2\x82",
        "\xf0\x9f\x98",
        "\xc2" "a",             /* interrupted */
        "\xe2\x82" "a",
        "\xf0\x9f" "\x98" "a",
        "ok until here \xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80" "edited",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (valid_str(bad[i]))
            test__fail(__FILE__, __LINE__, "vector %zu accepted", i);
    }
}

TEST_TIMEOUT(matches_reference_on_every_short_sequence, 120)
{
    uint8_t b[4];
    /* Every 1-, 2- and 3-byte sequence. */
    for (unsigned a = 0; a < 256; a++) {
        b[0] = (uint8_t)a;
        ASSERT_EQ(corio_ws_utf8_valid(b, 1), ref_valid(b, 1));
        for (unsigned c = 0; c < 256; c++) {
            b[1] = (uint8_t)c;
            ASSERT_EQ(corio_ws_utf8_valid(b, 2), ref_valid(b, 2));
            for (unsigned d = 0; d < 256; d++) {
                b[2] = (uint8_t)d;
                if (corio_ws_utf8_valid(b, 3) != ref_valid(b, 3))
                    test__fail(__FILE__, __LINE__, "%02x %02x %02x", a, c, d);
            }
        }
    }
    /* Every 4-byte sequence starting F0..F7 with the last byte among a few interesting ones. */
    static const uint8_t last[] = {0x00, 0x41, 0x7f, 0x80, 0x8f, 0x90, 0xbf, 0xc0, 0xff};
    for (unsigned a = 0xf0; a < 0xf8; a++)
        for (unsigned c = 0; c < 256; c++)
            for (unsigned d = 0; d < 256; d++)
                for (size_t k = 0; k < sizeof last; k++) {
                    b[0] = (uint8_t)a, b[1] = (uint8_t)c, b[2] = (uint8_t)d, b[3] = last[k];
                    ASSERT_EQ(corio_ws_utf8_valid(b, 4), ref_valid(b, 4));
                }
}

TEST(streaming_verdicts_match_the_reference_for_prefixes)
{
    /* Feeding byte by byte: feed() says "could still be valid", done() says "valid and whole". */
    static const char *texts[] = {
        "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80z", "\xf4\x8f\xbf\xbf", "\xf4\x90", "\xe0\x9f",
        "\xed\xa0", "\xed\x9f\xbf", "\xc0", "\xf0\x8f", "\xe2\x82\xac\x80",
    };
    for (size_t t = 0; t < sizeof texts / sizeof texts[0]; t++) {
        const uint8_t *s = (const uint8_t *)texts[t];
        size_t n = strlen(texts[t]);
        struct corio_ws_utf8 v = {0};
        bool alive = true;
        for (size_t i = 0; i < n; i++) {
            bool r = corio_ws_utf8_feed(&v, s + i, 1);
            alive = alive && ref_prefix_ok(s, i + 1);
            ASSERT_EQ(r, alive);
            ASSERT_EQ(corio_ws_utf8_done(&v), alive && ref_valid(s, i + 1));
        }
    }
}

TEST(every_split_gives_the_whole_verdict)
{
    static const char *texts[] = {
        "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5 and some ascii \xf0\x9f\x98\x80 more text!",
        "0123456789abcdef0123456789abcdef\xe2\x98\x83 0123456789abcdef0123456789abcdef",
        "ascii ascii ascii ascii ascii \xed\xa0\x80 ascii ascii ascii ascii",
        "long ascii run then a truncated char at the very end.......\xe2\x82",
    };
    for (size_t t = 0; t < sizeof texts / sizeof texts[0]; t++) {
        const uint8_t *s = (const uint8_t *)texts[t];
        size_t n = strlen(texts[t]);
        bool whole = corio_ws_utf8_valid(s, n);
        ASSERT_EQ(whole, ref_valid(s, n));
        for (size_t i = 0; i <= n; i++)
            for (size_t j = i; j <= n; j++) {
                struct corio_ws_utf8 v = {0};
                bool ok = corio_ws_utf8_feed(&v, guarded(s, i), i);
                ok = corio_ws_utf8_feed(&v, guarded(s + i, j - i), j - i) && ok;
                ok = corio_ws_utf8_feed(&v, guarded(s + j, n - j), n - j) && ok;
                ASSERT_EQ(ok && corio_ws_utf8_done(&v), whole);
            }
    }
}

TEST(failure_is_sticky)
{
    struct corio_ws_utf8 v = {0};
    ASSERT(corio_ws_utf8_feed(&v, "abc", 3));
    ASSERT(corio_ws_utf8_done(&v));
    ASSERT(!corio_ws_utf8_feed(&v, "\xff", 1));
    ASSERT(!corio_ws_utf8_done(&v));
    ASSERT(!corio_ws_utf8_feed(&v, "abc", 3));
    ASSERT(!corio_ws_utf8_feed(&v, NULL, 0));
    ASSERT(!corio_ws_utf8_done(&v));
    /* Inside a sequence: still fine, not done. */
    struct corio_ws_utf8 w = {0};
    ASSERT(corio_ws_utf8_feed(&w, "\xf0\x9f", 2));
    ASSERT(!corio_ws_utf8_done(&w));
    ASSERT(corio_ws_utf8_feed(&w, NULL, 0));
    ASSERT(corio_ws_utf8_feed(&w, "\x98\x80", 2));
    ASSERT(corio_ws_utf8_done(&w));
}

TEST(fast_path_sees_a_bad_byte_anywhere)
{
    static uint8_t buf[300];
    static const uint8_t bad[] = {0x80, 0xbf, 0xc0, 0xff, 0xc3, 0xed};
    for (size_t n = 1; n <= sizeof buf; n += (n < 80 ? 1 : 13))
        for (size_t pos = 0; pos < n; pos++)
            for (size_t b = 0; b < sizeof bad; b++) {
                memset(buf, 'a' + (int)(pos % 26), n);
                buf[pos] = bad[b];
                /* C3 and ED followed by ASCII, or at the very end, are invalid too. */
                ASSERT(!corio_ws_utf8_valid(guarded(buf, n), n));
            }
    /* And valid multi-byte characters at every position of ASCII runs. */
    for (size_t n = 4; n <= 200; n += 7)
        for (size_t pos = 0; pos + 4 <= n; pos++) {
            memset(buf, 'z', n);
            memcpy(buf + pos, "\xf0\x9f\x98\x80", 4);
            ASSERT(corio_ws_utf8_valid(guarded(buf, n), n));
            buf[pos + 3] = 'z';
            memcpy(buf + pos, "\xe2\x82\xac", 3);
            ASSERT(corio_ws_utf8_valid(guarded(buf, n), n));
        }
}

TEST(random_inputs_match_the_reference)
{
    static uint8_t buf[512];
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (int round = 0; round < 20000; round++) {
        size_t n = (size_t)(x % sizeof buf);
        for (size_t i = 0; i < n; i++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            /* Mostly ASCII with some UTF-8-ish bytes, so that valid inputs also occur. */
            unsigned r = (unsigned)(x >> 32) % 100;
            buf[i] = r < 85 ? (uint8_t)(0x20 + r) : r < 92 ? (uint8_t)(0x80 | (x & 0x3f))
                     : r < 96 ? (uint8_t)(0xc2 | (x & 0x1)) : (uint8_t)(0xe0 | (x & 0x1f));
        }
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        ASSERT_EQ(corio_ws_utf8_valid(buf, n), ref_valid(buf, n));
    }
}
