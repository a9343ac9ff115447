/* SPDX-License-Identifier: MIT */
/* Unit tests of the pure parts of the built-in middleware, without requests: Accept-Encoding
 * negotiation with q-values, compressible content types, static-file path cleaning (traversal
 * in every spelling), Content-Type by extension, the token bucket on explicit times (burst,
 * refill, Retry-After and Reset arithmetic, per-key isolation), the bounded LRU key table
 * (100k+ keys, eviction order, structural validation), and JSON string escaping.
 */
#include "corio/http_mw.h"
#include "http/mw_int.h"
#include "test.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* ---- Accept-Encoding ------------------------------------------------------------------------ */

static double q(const char *ae, const char *coding)
{
    return corio_http_accept_encoding_q((corio_str){ae, strlen(ae)}, coding);
}

TEST(accept_encoding_plain_lists)
{
    ASSERT(q("gzip", "gzip") == 1);
    ASSERT(q("deflate, gzip, br", "gzip") == 1);
    ASSERT(q("GZIP", "gzip") == 1);
    ASSERT(q("x-gzip", "gzip") == 1);
    ASSERT(q("deflate, br", "gzip") == 0);
    ASSERT(q("", "gzip") == 0);
    ASSERT(q("gzipped", "gzip") == 0);
    ASSERT(q("gzi", "gzip") == 0);
}

TEST(accept_encoding_q_values)
{
    ASSERT(q("gzip;q=0", "gzip") == 0);
    ASSERT(q("gzip; q=0.000", "gzip") == 0);
    ASSERT(q("gzip;q=0.5", "gzip") == 0.5);
    ASSERT(q("gzip ; Q=0.25 , br", "gzip") == 0.25);
    ASSERT(q("br;q=1.0, gzip;q=0.001", "gzip") > 0);
    ASSERT(q("gzip;q=1.000", "gzip") == 1);
    /* Malformed weights count as 0 (the entry is disqualified). */
    ASSERT(q("gzip;q=1.5", "gzip") == 0);
    ASSERT(q("gzip;q=2", "gzip") == 0);
    ASSERT(q("gzip;q=0.5555", "gzip") == 0);
    ASSERT(q("gzip;q=", "gzip") == 0);
    ASSERT(q("gzip;q=abc", "gzip") == 0);
    /* Other parameters are ignored. */
    ASSERT(q("gzip;level=9", "gzip") == 1);
}

TEST(accept_encoding_wildcard_and_identity)
{
    ASSERT(q("*", "gzip") == 1);
    ASSERT(q("*;q=0", "gzip") == 0);
    ASSERT(q("*;q=0.3, br", "gzip") == 0.3);
    /* An explicit entry wins over the wildcard in either order. */
    ASSERT(q("gzip;q=0, *", "gzip") == 0);
    ASSERT(q("*;q=0, gzip", "gzip") == 1);
    ASSERT(q("br", "identity") == 1);
    ASSERT(q("identity;q=0", "identity") == 0);
    ASSERT(q("*;q=0", "identity") == 0);
    ASSERT(q("*;q=0, identity", "identity") == 1);
}

TEST(compressible_types)
{
    ASSERT(corio__http_gzip_compressible("text/html"));
    ASSERT(corio__http_gzip_compressible("text/plain; charset=utf-8"));
    ASSERT(corio__http_gzip_compressible("application/json"));
    ASSERT(corio__http_gzip_compressible("Application/JSON ; charset=utf-8"));
    ASSERT(corio__http_gzip_compressible("application/javascript"));
    ASSERT(corio__http_gzip_compressible("image/svg+xml"));
    ASSERT(corio__http_gzip_compressible("application/problem+json"));
    ASSERT(!corio__http_gzip_compressible("image/png"));
    ASSERT(!corio__http_gzip_compressible("application/octet-stream"));
    ASSERT(!corio__http_gzip_compressible("application/jsonx"));
    ASSERT(!corio__http_gzip_compressible("text"));
    ASSERT(!corio__http_gzip_compressible(NULL));
}

/* ---- static path cleaning -------------------------------------------------------------------- */

static int clean(const char *in, char *out, bool dotfiles, bool *dir)
{
    return corio__http_static_clean(in, strlen(in), out, 256, dotfiles, dir);
}

TEST(static_clean_accepts_plain_paths)
{
    char out[256];
    bool dir;
    ASSERT_EQ(clean("a/b.txt", out, false, &dir), 0);
    ASSERT_STREQ(out, "a/b.txt");
    ASSERT(!dir);
    ASSERT_EQ(clean("", out, false, &dir), 0);
    ASSERT_STREQ(out, "");
    ASSERT_EQ(clean("docs/", out, false, &dir), 0);
    ASSERT_STREQ(out, "docs/");
    ASSERT(dir);
    ASSERT_EQ(clean("a%20b/c%2Fd", out, false, &dir), 0);
    ASSERT_STREQ(out, "a b/c/d");
    ASSERT_EQ(clean("x..y/z..", out, false, &dir), 0); /* dots inside names are fine */
    ASSERT_EQ(clean(".well-known/x", out, true, &dir), 0);
}

TEST(static_clean_rejects_traversal_in_every_spelling)
{
    static const char *const bad[] = {
        "..",
        "../etc/passwd",
        "a/../../etc/passwd",
        "a/..",
        "%2e%2e/x",
        "%2E%2E%2Fetc",
        ".%2e/x",
        "a/%2e%2e",
        "/etc/passwd",
        "%2fetc/passwd",
        "a//b",
        "./a",
        "a/./b",
        "a\\..\\b",
        "a%5c..%5cb",
        "a%00b",
        "%zz",
        "a%2",
        ".env",
        "a/.git/config",
        "..%2f..%2f",
        "%252e%252e/ok?no",
    };
    char out[256];
    bool dir;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = clean(bad[i], out, false, &dir);
        if (i == sizeof bad / sizeof bad[0] - 1) {
            /* Double encoding decodes once: "%2e%2e" is a literal name, not "..". */
            ASSERT_EQ(rc, 0);
            ASSERT_STREQ(out, "%2e%2e/ok?no");
            continue;
        }
        if (rc != -EINVAL)
            fprintf(stderr, "accepted: %s\n", bad[i]);
        ASSERT_EQ(rc, -EINVAL);
    }
    /* ".." stays forbidden with dotfiles on. */
    ASSERT_EQ(clean("a/..", out, true, &dir), -EINVAL);
    ASSERT_EQ(corio__http_static_clean("abcdef", 6, out, 4, false, &dir), -ENAMETOOLONG);
}

TEST(static_types_by_extension)
{
    ASSERT_STREQ(corio__http_static_type("index.html"), "text/html; charset=utf-8");
    ASSERT_STREQ(corio__http_static_type("/x/app.JS"), "text/javascript; charset=utf-8");
    ASSERT_STREQ(corio__http_static_type("a.json"), "application/json");
    ASSERT_STREQ(corio__http_static_type("logo.svg"), "image/svg+xml");
    ASSERT_STREQ(corio__http_static_type("f.woff2"), "font/woff2");
    ASSERT_STREQ(corio__http_static_type("noext"), "application/octet-stream");
    ASSERT_STREQ(corio__http_static_type("dir.d/noext"), "application/octet-stream");
    ASSERT_STREQ(corio__http_static_type("a.tar.gz"), "application/gzip");
}

/* ---- token bucket ------------------------------------------------------------------------- */

static corio_http_ratelimit *limiter(double rate, uint32_t burst, size_t max_keys)
{
    corio_http_ratelimit *rl;
    ASSERT_EQ(
        corio_http_ratelimit_new(
            &(struct corio_http_ratelimit_opts){.rate = rate, .burst = burst, .max_keys = max_keys},
            &rl),
        0);
    return rl;
}

static struct corio_http_ratelimit_result take(corio_http_ratelimit *rl, const char *key,
                                               int64_t now)
{
    struct corio_http_ratelimit_result r;
    ASSERT_EQ(corio_http_ratelimit_take(rl, key, strlen(key), now, &r), 0);
    corio__http_ratelimit_validate(rl);
    return r;
}

TEST(ratelimit_rejects_bad_options)
{
    corio_http_ratelimit *rl;
    ASSERT_EQ(corio_http_ratelimit_new(&(struct corio_http_ratelimit_opts){.rate = 0}, &rl),
              -EINVAL);
    ASSERT_EQ(corio_http_ratelimit_new(&(struct corio_http_ratelimit_opts){.rate = -1}, &rl),
              -EINVAL);
    ASSERT_EQ(corio_http_ratelimit_new(NULL, &rl), -EINVAL);
}

TEST(ratelimit_burst_then_refill)
{
    /* 2 tokens per second, bucket of 5. */
    corio_http_ratelimit *rl = limiter(2, 5, 0);
    int64_t t = 1000 * CORIO_S;
    for (int i = 0; i < 5; i++) {
        struct corio_http_ratelimit_result r = take(rl, "k", t);
        ASSERT(r.allowed);
        ASSERT_EQ(r.limit, 5u);
        ASSERT_EQ(r.remaining, (uint64_t)(4 - i));
        /* (i + 1) tokens missing at 2/s. */
        ASSERT_EQ(r.reset_ns, (int64_t)(i + 1) * 500 * CORIO_MS);
    }
    struct corio_http_ratelimit_result r = take(rl, "k", t);
    ASSERT(!r.allowed);
    ASSERT_EQ(r.remaining, 0u);
    ASSERT_EQ(r.retry_ns, 500 * CORIO_MS);
    ASSERT_EQ(r.reset_ns, 2500 * CORIO_MS);
    /* 499 ms later: still nothing; at 500 ms exactly one token. */
    r = take(rl, "k", t + 499 * CORIO_MS);
    ASSERT(!r.allowed);
    ASSERT_EQ(r.retry_ns, 1 * CORIO_MS);
    r = take(rl, "k", t + 500 * CORIO_MS);
    ASSERT(r.allowed);
    ASSERT_EQ(r.remaining, 0u);
    /* A long pause refills to the burst, never beyond. */
    r = take(rl, "k", t + 3600 * CORIO_S);
    ASSERT(r.allowed);
    ASSERT_EQ(r.remaining, 4u);
    ASSERT_EQ(r.reset_ns, 500 * CORIO_MS);
    corio_http_ratelimit_free(rl);
}

TEST(ratelimit_fractional_rate_and_default_burst)
{
    /* 0.5/s: burst defaults to ceil(0.5) = 1; the next token comes after 2 s. */
    corio_http_ratelimit *rl = limiter(0.5, 0, 0);
    struct corio_http_ratelimit_result r = take(rl, "k", 0);
    ASSERT(r.allowed);
    ASSERT_EQ(r.limit, 1u);
    r = take(rl, "k", 1 * CORIO_S);
    ASSERT(!r.allowed);
    ASSERT_EQ(r.retry_ns, 1 * CORIO_S);
    r = take(rl, "k", 2 * CORIO_S);
    ASSERT(r.allowed);
    corio_http_ratelimit_free(rl);

    rl = limiter(10.5, 0, 0);
    ASSERT_EQ(take(rl, "k", 0).limit, 11u);
    corio_http_ratelimit_free(rl);
}

TEST(ratelimit_keys_are_isolated)
{
    corio_http_ratelimit *rl = limiter(1, 2, 0);
    ASSERT(take(rl, "a", 0).allowed);
    ASSERT(take(rl, "a", 0).allowed);
    ASSERT(!take(rl, "a", 0).allowed);
    ASSERT(take(rl, "b", 0).allowed);
    ASSERT(take(rl, "ab", 0).allowed);
    ASSERT(take(rl, "", 0).allowed);
    ASSERT_EQ(corio_http_ratelimit_keys(rl), 4u);
    /* Time going backwards (a stale reading) never mints tokens. */
    ASSERT(!take(rl, "a", -5 * CORIO_S).allowed);
    corio_http_ratelimit_free(rl);
}

TEST(ratelimit_long_keys_are_cut)
{
    corio_http_ratelimit *rl;
    ASSERT_EQ(
        corio_http_ratelimit_new(
            &(struct corio_http_ratelimit_opts){.rate = 1, .burst = 1, .max_key_len = 4}, &rl),
        0);
    ASSERT(take(rl, "abcdXXX", 0).allowed);
    ASSERT(!take(rl, "abcdYYY", 0).allowed); /* same first 4 bytes: same bucket */
    ASSERT(take(rl, "abceYYY", 0).allowed);
    corio_http_ratelimit_free(rl);
}

TEST(ratelimit_lru_keeps_memory_bounded)
{
    const size_t max = 100000;
    corio_http_ratelimit *rl = limiter(1, 1, max);
    char key[32];
    struct corio_http_ratelimit_result r;
    /* Exhaust key "hot", then flood with 150k distinct keys while touching "hot" now and then,
     * so it stays recently seen. */
    ASSERT(take(rl, "hot", 0).allowed);
    for (size_t i = 0; i < 150000; i++) {
        int n = snprintf(key, sizeof key, "k%zu", i);
        ASSERT_EQ(corio_http_ratelimit_take(rl, key, (size_t)n, 0, &r), 0);
        ASSERT(r.allowed);
        if (i % 50000 == 0)
            ASSERT(!take(rl, "hot", 0).allowed);
        ASSERT_LE(corio_http_ratelimit_keys(rl), max);
    }
    corio__http_ratelimit_validate(rl);
    ASSERT_EQ(corio_http_ratelimit_keys(rl), max);
    /* "hot" survived eviction (its empty bucket is remembered)... */
    ASSERT(!take(rl, "hot", 0).allowed);
    /* ...the newest keys are remembered, the oldest were evicted and start full again. */
    ASSERT(!take(rl, "k149999", 0).allowed);
    ASSERT(take(rl, "k0", 0).allowed);
    ASSERT_EQ(corio_http_ratelimit_keys(rl), max);
    corio_http_ratelimit_free(rl);
}

TEST(ratelimit_eviction_recycles_entries_of_any_size)
{
    corio_http_ratelimit *rl = limiter(1, 1, 3);
    char big[200];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = 0;
    ASSERT(take(rl, "a", 0).allowed);
    ASSERT(take(rl, "b", 0).allowed);
    ASSERT(take(rl, "c", 0).allowed);
    ASSERT(take(rl, big, 0).allowed); /* evicts "a"; needs a bigger entry */
    ASSERT(take(rl, "d", 0).allowed); /* evicts "b"; reuses its entry */
    ASSERT_EQ(corio_http_ratelimit_keys(rl), 3u);
    ASSERT(!take(rl, big, 0).allowed);
    ASSERT(!take(rl, "c", 0).allowed);
    ASSERT(take(rl, "a", 0).allowed); /* was evicted: full again */
    corio_http_ratelimit_free(rl);
}

/* ---- JSON escaping --------------------------------------------------------------------------- */

TEST(json_escape_quotes_controls_and_truncation)
{
    char out[64];
    const char in[] = "a\"b\\c\n\x01\x7f\xc3\xa9";
    size_t n = corio_json_escape(out, sizeof out, in, sizeof in - 1);
    ASSERT_STREQ(out, "a\\\"b\\\\c\\n\\u0001\\u007f\xc3\xa9");
    ASSERT_EQ(n, strlen(out));
    char small[5];
    ASSERT_EQ(corio_json_escape(small, sizeof small, "\"\"\"", 3), 6u);
    ASSERT_STREQ(small, "\\\"\\\"");
    ASSERT_EQ(corio_json_escape(NULL, 0, "abc", 3), 3u);
    /* Bytes outside valid UTF-8 (a lone continuation, an overlong, a truncated sequence)
     * become U+FFFD, so the result is always valid JSON. */
    const char bad[] = "x\x80y\xc0\xafz\xe2\x82";
    n = corio_json_escape(out, sizeof out, bad, sizeof bad - 1);
    ASSERT_STREQ(out, "x\\ufffdy\\ufffd\\ufffdz\\ufffd\\ufffd");
    ASSERT_EQ(n, strlen(out));
}
