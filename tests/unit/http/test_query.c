/* SPDX-License-Identifier: MIT */
/* Unit tests of percent-decoding and query-string iteration (src/http/query.c): escapes in
 * either case, '+' only when asked, malformed escapes and %00 refused, in-place decoding,
 * empty pairs skipped, keys without '=', and lookup by decoded key. Inputs end at a guard page.
 */
#include "corio/http_parser.h"
#include "http_util.h"
#include "test.h"

#include <errno.h>
#include <string.h>

static ssize_t dec(const char *s, unsigned flags, char *out)
{
    size_t n = strlen(s);
    char *g = guarded(s, n);
    return corio_http_pct_decode(out, g, n, flags);
}

TEST(pct_decode_basics)
{
    char out[64];
    ASSERT_EQ(dec("a%20b%2fc%2F", 0, out), 6);
    ASSERT_MEMEQ(out, "a b/c/", 6);
    ASSERT_EQ(dec("a+b", 0, out), 3);
    ASSERT_MEMEQ(out, "a+b", 3);
    ASSERT_EQ(dec("a+b%2B", CORIO_HTTP_PCT_PLUS, out), 4);
    ASSERT_MEMEQ(out, "a b+", 4);
    ASSERT_EQ(dec("", 0, out), 0);
    ASSERT_EQ(dec("%e2%82%AC", 0, out), 3);
    ASSERT_MEMEQ(out, "\xe2\x82\xac", 3);
    ASSERT_EQ(dec("%00", 0, out), 1);
    ASSERT_EQ(out[0], 0);
    ASSERT_EQ(dec("a%00", CORIO_HTTP_PCT_NO_NUL, out), -EINVAL);
    ASSERT_EQ(dec("%", 0, out), -EINVAL);
    ASSERT_EQ(dec("%4", 0, out), -EINVAL);
    ASSERT_EQ(dec("ab%4", 0, out), -EINVAL);
    ASSERT_EQ(dec("%zz", 0, out), -EINVAL);
    ASSERT_EQ(dec("%4g", 0, out), -EINVAL);
}

TEST(pct_decode_in_place)
{
    char s[] = "%41%42+c%2b";
    ASSERT_EQ(corio_http_pct_decode(s, s, strlen(s), CORIO_HTTP_PCT_PLUS), 5);
    ASSERT_MEMEQ(s, "AB c+", 5);
}

TEST(query_iteration)
{
    static const char q[] = "a=1&&b=&c&=d&e=x=y&";
    char *g = guarded(q, sizeof q - 1);
    struct corio_http_query_iter it;
    struct corio_http_str k, v;
    corio_http_query_init(&it, (struct corio_http_str){g, sizeof q - 1});
    const char *want[][2] = {{"a", "1"}, {"b", ""}, {"c", ""}, {"", "d"}, {"e", "x=y"}};
    for (size_t i = 0; i < 5; i++) {
        ASSERT(corio_http_query_next(&it, &k, &v));
        ASSERT_EQ(k.len, strlen(want[i][0]));
        ASSERT_MEMEQ(k.ptr, want[i][0], k.len);
        ASSERT_NOT_NULL(v.ptr);
        ASSERT_EQ(v.len, strlen(want[i][1]));
        ASSERT_MEMEQ(v.ptr, want[i][1], v.len);
    }
    ASSERT(!corio_http_query_next(&it, &k, &v));
    ASSERT(!corio_http_query_next(&it, &k, &v));
    corio_http_query_init(&it, (struct corio_http_str){NULL, 0}); /* absent query */
    ASSERT(!corio_http_query_next(&it, &k, &v));
}

TEST(query_get_matches_decoded_keys)
{
    static const char q[] = "x%20y=1&first+name=Ada&a=2&a=3&bad%zz=4&e%3D=5";
    char *g = guarded(q, sizeof q - 1);
    struct corio_http_str query = {g, sizeof q - 1}, v;
    ASSERT(corio_http_query_get(query, "x y", &v));
    ASSERT_VIEW(v, "1");
    ASSERT(corio_http_query_get(query, "first name", &v));
    ASSERT_VIEW(v, "Ada");
    ASSERT(corio_http_query_get(query, "a", &v));
    ASSERT_VIEW(v, "2"); /* the first one */
    ASSERT(corio_http_query_get(query, "e=", &v));
    ASSERT_VIEW(v, "5");
    ASSERT(!corio_http_query_get(query, "bad%zz", &v));
    ASSERT(!corio_http_query_get(query, "x", &v));
    ASSERT(!corio_http_query_get(query, "first name2", &v));
    ASSERT(!corio_http_query_get((struct corio_http_str){NULL, 0}, "a", &v));
}

TEST(query_from_a_parsed_request)
{
    static const char m[] = "GET /s?q=caf%C3%A9+au+lait&page=2 HTTP/1.1\r\nHost: h\r\n\r\n";
    char *g = guarded(m, sizeof m - 1);
    struct corio_http_request_head r = {0};
    ASSERT_GT(corio_http_parse_request(g, sizeof m - 1, NULL, NULL, &r), 0);
    struct corio_http_str v;
    ASSERT(corio_http_query_get(r.query, "q", &v));
    char out[32];
    ssize_t n = corio_http_pct_decode(out, v.ptr, v.len, CORIO_HTTP_PCT_PLUS);
    ASSERT_EQ(n, 13);
    ASSERT_MEMEQ(out, "caf\xc3\xa9 au lait", 13);
}
