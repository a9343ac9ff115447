/* SPDX-License-Identifier: MIT */
/* Unit tests of the HTTP/1.1 head parsers (src/http/parser.c): every rule of http/parser.h with
 * its exact status, the request-smuggling cases from the literature, response framing, and the
 * incremental contract.
 *
 * What every test relies on: req() and resp() parse a copy of the input that ends at a
 * PROT_NONE page (an over-read faults), and for inputs up to TRICKLE_MAX bytes they also feed
 * every prefix through the incremental path, carrying the state word, and require each result
 * to equal a fresh one-shot parse of that prefix, until the first result that is not -EAGAIN.
 * So every case below also checks "any split parses the same as one read". The incremental
 * sweeps over valid messages, the pipelined stream split at every point, and the guard-page
 * placements come at the end.
 */
#include "corio/http_parser.h"
#include "http_util.h"
#include "test.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define TRICKLE_MAX 700
#define NHDR 128

static struct corio_http_header H[NHDR];
static struct corio_http_request_head R;
static struct corio_http_response_head S;
static const char *B; /* the buffer R or S refers to */

static void trickle_request(const char *s, size_t n, const struct corio_http_limits *lim)
{
    struct corio_http_header h2[NHDR];
    struct text a, b;
    size_t st = 0;

    for (size_t k = 0; k <= n; k++) {
        char *buf = guarded(s, k);
        struct corio_http_request_head inc = {.headers = h2, .headers_cap = NHDR};
        int rc = corio_http_parse_request(buf, k, &st, lim, &inc);
        describe_request(&a, rc, &inc, buf);
        struct corio_http_request_head one = {.headers = H, .headers_cap = NHDR};
        int rc1 = corio_http_parse_request(buf, k, NULL, lim, &one);
        describe_request(&b, rc1, &one, buf);
        if (strcmp(a.buf, b.buf) != 0)
            test__fail(__FILE__, __LINE__,
                       "prefix %zu of %zu: incremental\n    %s\none-shot\n    %s", k, n, a.buf,
                       b.buf);
        if (rc != -EAGAIN)
            return;
    }
}

static int req_n(const char *s, size_t n, const struct corio_http_limits *lim)
{
    if (n <= TRICKLE_MAX)
        trickle_request(s, n, lim);
    char *buf = guarded(s, n);
    size_t st = 0;
    R = (struct corio_http_request_head){.headers = H, .headers_cap = NHDR};
    B = buf;
    return corio_http_parse_request(buf, n, &st, lim, &R);
}

static void trickle_response(const char *s, size_t n, enum corio_http_method m)
{
    struct corio_http_header h2[NHDR];
    struct text a, b;
    size_t st = 0;

    for (size_t k = 0; k <= n; k++) {
        char *buf = guarded(s, k);
        struct corio_http_response_head inc = {
            .headers = h2, .headers_cap = NHDR, .request_method = m};
        int rc = corio_http_parse_response(buf, k, &st, NULL, &inc);
        describe_response(&a, rc, &inc, buf);
        struct corio_http_response_head one = {
            .headers = H, .headers_cap = NHDR, .request_method = m};
        int rc1 = corio_http_parse_response(buf, k, NULL, NULL, &one);
        describe_response(&b, rc1, &one, buf);
        if (strcmp(a.buf, b.buf) != 0)
            test__fail(__FILE__, __LINE__,
                       "prefix %zu of %zu: incremental\n    %s\none-shot\n    %s", k, n, a.buf,
                       b.buf);
        if (rc != -EAGAIN)
            return;
    }
}

static int resp_n(const char *s, size_t n, enum corio_http_method m,
                  const struct corio_http_limits *lim)
{
    if (n <= TRICKLE_MAX && lim == NULL)
        trickle_response(s, n, m);
    char *buf = guarded(s, n);
    S = (struct corio_http_response_head){.headers = H, .headers_cap = NHDR, .request_method = m};
    B = buf;
    return corio_http_parse_response(buf, n, NULL, lim, &S);
}

#define REQ(s) req_n((s), sizeof(s) - 1, NULL)
#define REQ_LIM(s, lim) req_n((s), sizeof(s) - 1, (lim))
#define RESP(s) resp_n((s), sizeof(s) - 1, CORIO_HTTP_GET, NULL)
#define RESP_TO(m, s) resp_n((s), sizeof(s) - 1, (m), NULL)

/* A request must be rejected with this status (and -EPROTO or -EMSGSIZE to match). */
#define REJECT(s, st) reject_n((s), sizeof(s) - 1, NULL, (st), __LINE__)
#define REJECT_LIM(s, lim, st) reject_n((s), sizeof(s) - 1, (lim), (st), __LINE__)

static void reject_n(const char *s, size_t n, const struct corio_http_limits *lim, int status,
                     int line)
{
    int rc = req_n(s, n, lim);
    int want = status == 413 || status == 414 || status == 431 ? -EMSGSIZE : -EPROTO;
    if (rc != want || R.error.status != status || R.error.reason == NULL)
        test__fail(__FILE__, line, "expected %d (rc %d), got rc %d status %d (%s) for:\n%.*s",
                   status, want, rc, R.error.status, R.error.reason ? R.error.reason : "-", (int)n,
                   s);
    ASSERT(R.error.offset <= n);
}

#define OK_LEN(s) ASSERT_EQ(REQ(s), (int)(sizeof(s) - 1))

/* ---- request line --------------------------------------------------------------------------- */

TEST(request_simple_get)
{
    OK_LEN("GET /index.html HTTP/1.1\r\nHost: example.com\r\n\r\n");
    ASSERT_EQ(R.method, CORIO_HTTP_GET);
    ASSERT_VIEW(R.method_name, "GET");
    ASSERT_VIEW(R.target, "/index.html");
    ASSERT_VIEW(R.path, "/index.html");
    ASSERT_NULL(R.query.ptr);
    ASSERT_NULL(R.authority.ptr);
    ASSERT_EQ(R.form, CORIO_HTTP_ORIGIN_FORM);
    ASSERT_EQ(R.minor_version, 1);
    ASSERT_EQ(R.num_headers, 1);
    ASSERT_VIEW(R.headers[0].name, "Host");
    ASSERT_VIEW(R.headers[0].value, "example.com");
    ASSERT_VIEW(R.host, "example.com");
    ASSERT_EQ(R.content_length, -1);
    ASSERT(!R.chunked && R.keep_alive && !R.expect_continue && !R.upgrade);
    ASSERT_EQ(R.error.status, 0);
}

TEST(request_views_point_into_buffer_and_body_is_left_alone)
{
    static const char m[] = "POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhelloGET";
    int rc = REQ(m);
    ASSERT_EQ(rc, (int)(sizeof(m) - 1 - 8));
    ASSERT_PTR_EQ(R.target.ptr, B + 5);
    ASSERT_PTR_EQ(R.headers[1].value.ptr, B + 43);
    ASSERT_EQ(R.content_length, 5);
    ASSERT_MEMEQ(B + rc, "helloGET", 8);
}

TEST(request_browser_headers_and_ows_trimming)
{
    OK_LEN("GET /a/b.html?x=1&y=%41 HTTP/1.1\r\n"
           "Host: www.example.com:8080\r\n"
           "User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:109.0) Gecko/20100101 Firefox/115.0\r\n"
           "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n"
           "Accept-Language: en-US,en;q=0.5\r\n"
           "X-Spaces: \t  a b \t \r\n"
           "X-Empty:\r\n"
           "X-Empty2:   \r\n"
           "X-Obs-Text: caf\xc3\xa9\r\n"
           "Cookie: a=b; c=d\r\n"
           "\r\n");
    ASSERT_EQ(R.num_headers, 9);
    ASSERT_VIEW(R.path, "/a/b.html");
    ASSERT_VIEW(R.query, "x=1&y=%41");
    ASSERT_VIEW(R.host, "www.example.com:8080");
    ASSERT_VIEW(R.headers[4].name, "X-Spaces");
    ASSERT_VIEW(R.headers[4].value, "a b");
    ASSERT_VIEW(R.headers[5].value, "");
    ASSERT_VIEW(R.headers[6].value, "");
    ASSERT_VIEW(R.headers[7].value, "caf\xc3\xa9");
    ASSERT_VIEW(R.headers[8].value, "a=b; c=d");
}

TEST(request_query_split_at_first_question_mark)
{
    OK_LEN("GET /a?b?c=d HTTP/1.1\r\nHost: h\r\n\r\n");
    ASSERT_VIEW(R.path, "/a");
    ASSERT_VIEW(R.query, "b?c=d");
    OK_LEN("GET /a? HTTP/1.1\r\nHost: h\r\n\r\n");
    ASSERT_VIEW(R.path, "/a");
    ASSERT_VIEW(R.query, ""); /* present but empty */
    OK_LEN("GET /{a}|b^[c]\\\"<>`?q={\"x\":1} HTTP/1.1\r\nHost: h\r\n\r\n");
    ASSERT_VIEW(R.query, "q={\"x\":1}");
}

TEST(request_methods)
{
    static const struct {
        const char *msg;
        enum corio_http_method m;
    } cases[] = {
        {"GET / HTTP/1.1\r\nHost: h\r\n\r\n", CORIO_HTTP_GET},
        {"HEAD / HTTP/1.1\r\nHost: h\r\n\r\n", CORIO_HTTP_HEAD},
        {"POST / HTTP/1.1\r\nHost: h\r\n\r\n", CORIO_HTTP_POST},
        {"PUT / HTTP/1.1\r\nHost: h\r\n\r\n", CORIO_HTTP_PUT},
        {"DELETE / HTTP/1.1\r\nHost: h\r\n\r\n", CORIO_HTTP_DELETE},
        {"OPTIONS / HTTP/1.1\r\nHost: h\r\n\r\n", CORIO_HTTP_OPTIONS},
        {"TRACE / HTTP/1.1\r\nHost: h\r\n\r\n", CORIO_HTTP_TRACE},
        {"PATCH / HTTP/1.1\r\nHost: h\r\n\r\n", CORIO_HTTP_PATCH},
        {"get / HTTP/1.1\r\nHost: h\r\n\r\n", CORIO_HTTP_METHOD_OTHER},
        {"PURGE / HTTP/1.1\r\nHost: h\r\n\r\n", CORIO_HTTP_METHOD_OTHER},
        {"GETS / HTTP/1.1\r\nHost: h\r\n\r\n", CORIO_HTTP_METHOD_OTHER},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t n = strlen(cases[i].msg);
        ASSERT_EQ(req_n(cases[i].msg, n, NULL), (int)n);
        ASSERT_EQ(R.method, cases[i].m);
        ASSERT_EQ(R.method_name.len, strchr(cases[i].msg, ' ') - cases[i].msg);
        if (cases[i].m != CORIO_HTTP_METHOD_OTHER)
            ASSERT_EQ(strncmp(corio_http_method_str(cases[i].m), cases[i].msg, R.method_name.len),
                      0);
    }
    ASSERT_STREQ(corio_http_method_str(CORIO_HTTP_PATCH), "PATCH");
    ASSERT_STREQ(corio_http_method_str(CORIO_HTTP_METHOD_OTHER), "");
    ASSERT_STREQ(corio_http_method_str((enum corio_http_method)99), "");
    OK_LEN("X-32-CHARACTERS-LONG-METHOD-NAME / HTTP/1.1\r\nHost: h\r\n\r\n");
    REJECT("X-33-CHARACTERS-LONG-METHOD-NAME! / HTTP/1.1\r\nHost: h\r\n\r\n", 400);
    REJECT("G(T / HTTP/1.1\r\nHost: h\r\n\r\n", 400);
    REJECT(" / HTTP/1.1\r\nHost: h\r\n\r\n", 400);
}

TEST(request_absolute_form)
{
    OK_LEN("GET http://example.com:8080/x/y?z=1 HTTP/1.1\r\nHost: other\r\n\r\n");
    ASSERT_EQ(R.form, CORIO_HTTP_ABSOLUTE_FORM);
    ASSERT_VIEW(R.authority, "example.com:8080");
    ASSERT_VIEW(R.host, "example.com:8080"); /* the target wins over Host */
    ASSERT_VIEW(R.path, "/x/y");
    ASSERT_VIEW(R.query, "z=1");
    OK_LEN("GET HTTPS://Example.COM HTTP/1.1\r\nHost: x\r\n\r\n");
    ASSERT_VIEW(R.path, "/"); /* empty path means "/" */
    ASSERT_VIEW(R.authority, "Example.COM");
    OK_LEN("GET http://[::1]:80?q HTTP/1.1\r\nHost: x\r\n\r\n");
    ASSERT_VIEW(R.authority, "[::1]:80");
    ASSERT_VIEW(R.path, "/");
    ASSERT_VIEW(R.query, "q");
    OK_LEN("GET http://h/ HTTP/1.0\r\n\r\n");
    ASSERT_VIEW(R.host, "h");
    REJECT("GET ftp://example.com/ HTTP/1.1\r\nHost: x\r\n\r\n", 400);
    REJECT("GET http://user:pw@example.com/ HTTP/1.1\r\nHost: x\r\n\r\n", 400);
    REJECT("GET http:///x HTTP/1.1\r\nHost: x\r\n\r\n", 400);
    REJECT("GET http:/x HTTP/1.1\r\nHost: x\r\n\r\n", 400);
    REJECT("GET example.com/x HTTP/1.1\r\nHost: x\r\n\r\n", 400);
    REJECT("GET http://a b/ HTTP/1.1\r\nHost: x\r\n\r\n", 400);
    REJECT("GET http://a:8x/ HTTP/1.1\r\nHost: x\r\n\r\n", 400);
}

TEST(request_authority_and_asterisk_forms)
{
    OK_LEN("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n");
    ASSERT_EQ(R.form, CORIO_HTTP_AUTHORITY_FORM);
    ASSERT_VIEW(R.authority, "example.com:443");
    ASSERT_NULL(R.path.ptr);
    OK_LEN("CONNECT [2001:db8::1]:443 HTTP/1.1\r\nHost: x\r\n\r\n");
    REJECT("CONNECT example.com HTTP/1.1\r\nHost: x\r\n\r\n", 400); /* port required */
    REJECT("CONNECT example.com: HTTP/1.1\r\nHost: x\r\n\r\n", 400);
    REJECT("CONNECT / HTTP/1.1\r\nHost: x\r\n\r\n", 400);
    REJECT("CONNECT http://a:1/ HTTP/1.1\r\nHost: x\r\n\r\n", 400);
    REJECT("GET example.com:443 HTTP/1.1\r\nHost: x\r\n\r\n", 400);
    OK_LEN("OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n");
    ASSERT_EQ(R.form, CORIO_HTTP_ASTERISK_FORM);
    ASSERT_VIEW(R.path, "*");
    REJECT("GET * HTTP/1.1\r\nHost: x\r\n\r\n", 400);
    REJECT("OPTIONS *? HTTP/1.1\r\nHost: x\r\n\r\n", 400);
}

TEST(request_versions)
{
    OK_LEN("GET / HTTP/1.0\r\n\r\n");
    ASSERT_EQ(R.minor_version, 0);
    ASSERT(!R.keep_alive);
    ASSERT_NULL(R.host.ptr);
    REJECT("GET / HTTP/2.0\r\nHost: h\r\n\r\n", 505);
    REJECT("GET / HTTP/1.2\r\nHost: h\r\n\r\n", 505);
    REJECT("GET / HTTP/0.9\r\nHost: h\r\n\r\n", 505);
    REJECT("GET / HTTP/3.1\r\nHost: h\r\n\r\n", 505);
    REJECT("GET / http/1.1\r\nHost: h\r\n\r\n", 400);
    REJECT("GET / HTTP/1.10\r\nHost: h\r\n\r\n", 400);
    REJECT("GET / HTTP/1\r\nHost: h\r\n\r\n", 400);
    REJECT("GET / HTTP/1.1 \r\nHost: h\r\n\r\n", 400);
    REJECT("GET / HTTP/1.x\r\nHost: h\r\n\r\n", 400);
    REJECT("GET /\r\nHost: h\r\n\r\n", 400); /* HTTP/0.9 style */
    REJECT("GET / HTTP/1.1\rHost: h\r\n\r\n", 400);
    REJECT("GET / HTTP/1.1\nHost: h\r\n\r\n", 400);
}

TEST(request_line_spacing_and_target_characters)
{
    REJECT("GET  / HTTP/1.1\r\nHost: h\r\n\r\n", 400);
    REJECT("GET /  HTTP/1.1\r\nHost: h\r\n\r\n", 400);
    REJECT("GET\t/ HTTP/1.1\r\nHost: h\r\n\r\n", 400);
    REJECT("GET /\tHTTP/1.1\r\nHost: h\r\n\r\n", 400);
    REJECT("GET /a#frag HTTP/1.1\r\nHost: h\r\n\r\n", 400);
    REJECT("GET /caf\xc3\xa9 HTTP/1.1\r\nHost: h\r\n\r\n", 400);
    REJECT("GET /a\x01 HTTP/1.1\r\nHost: h\r\n\r\n", 400);
    REJECT("GET /a\x7f HTTP/1.1\r\nHost: h\r\n\r\n", 400);
    REJECT("GET /a%zz HTTP/1.1\r\nHost: h\r\n\r\n", 400);
    REJECT("GET /a%4 HTTP/1.1\r\nHost: h\r\n\r\n", 400);
    REJECT("GET /a% HTTP/1.1\r\nHost: h\r\n\r\n", 400);
    REJECT("GET  HTTP/1.1\r\nHost: h\r\n\r\n", 400);
    OK_LEN("GET /a%4a%4B%20 HTTP/1.1\r\nHost: h\r\n\r\n");
    /* Long targets go through the 16-byte scanner with specials at every position. */
    char m[512];
    for (int pos = 0; pos < 40; pos++) {
        char t[64];
        memset(t, 'a', sizeof t);
        t[0] = '/';
        t[45] = '\0';
        t[1 + pos] = '#';
        int n = snprintf(m, sizeof m, "GET %s HTTP/1.1\r\nHost: h\r\n\r\n", t);
        reject_n(m, (size_t)n, NULL, 400, __LINE__);
        ASSERT_EQ(R.error.offset, 4 + 1 + pos);
        t[1 + pos] = '?';
        n = snprintf(m, sizeof m, "GET %s HTTP/1.1\r\nHost: h\r\n\r\n", t);
        ASSERT_EQ(req_n(m, (size_t)n, NULL), n);
        ASSERT_EQ(R.path.len, 1 + pos);
    }
}

TEST(request_target_too_long_is_414)
{
    struct corio_http_limits lim = {.max_target_len = 16};
    OK_LEN("GET /0123456789abcdef HTTP/1.1\r\nHost: h\r\n\r\n"); /* default limit */
    ASSERT_EQ(REQ_LIM("GET /0123456789abcdef HTTP/1.1\r\nHost: h\r\n\r\n", &lim), -EMSGSIZE);
    ASSERT_EQ(R.error.status, 414);
    ASSERT_EQ(R.error.offset, 4 + 16);
    ASSERT_EQ(REQ_LIM("GET /0123456789abcde HTTP/1.1\r\nHost: h\r\n\r\n", &lim), 42);
    /* 414 before the head ends: a request line longer than any valid one. */
    REJECT_LIM("GET /0123456789abcdefghijklmnopqrstuvwxyz", &lim, 414);
    /* The head limit reached inside the request line: 414 too. */
    struct corio_http_limits small = {.max_head_bytes = 32};
    REJECT_LIM("GET /0123456789abcdefghijklmnopqrstuvwxyz", &small, 414);
}

TEST(request_leading_empty_line)
{
    ASSERT_EQ(REQ("\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n"), 29);
    ASSERT_PTR_EQ(R.method_name.ptr, B + 2);
    REJECT("\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n", 400);
    REJECT("\nGET / HTTP/1.1\r\nHost: h\r\n\r\n", 400);
    REJECT("\rGET / HTTP/1.1\r\nHost: h\r\n\r\n", 400);
    REJECT("\r\n\r\n", 400);
}

TEST(request_garbage_is_refused_at_the_first_bytes)
{
    /* A TLS ClientHello or SSH banner on the plain port: no need to wait for a whole head. */
    REJECT("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 400);
    ASSERT_EQ(R.error.offset, 0);
    REJECT("SSH-2.0-OpenSSH_9.2\r\n", 400);
    REJECT("GETTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTT", 400);
    ASSERT_EQ(REQ("GET /partial"), -EAGAIN);
    ASSERT_EQ(REQ(""), -EAGAIN);
    ASSERT_EQ(REQ("\r"), -EAGAIN);
    /* Other syntax errors wait for the end of the head (or the size limit). */
    ASSERT_EQ(REQ("GET / HTTP/1.1\r\nBad Name: x\r\n"), -EAGAIN);
    REJECT("GET / HTTP/1.1\r\nBad Name: x\r\n\r\n", 400);
}

/* ---- header fields -------------------------------------------------------------------------- */

TEST(header_syntax_errors)
{
    REJECT("GET / HTTP/1.1\r\nHost: h\r\nX(: y\r\n\r\n", 400);
    ASSERT_STREQ(R.error.reason, "invalid character in header name");
    ASSERT_EQ(R.error.offset, 26);
    REJECT("GET / HTTP/1.1\r\nHost : h\r\n\r\n", 400);
    ASSERT_STREQ(R.error.reason, "whitespace between header name and colon");
    REJECT("GET / HTTP/1.1\r\nHost\t: h\r\n\r\n", 400);
    REJECT("GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n b\r\n\r\n", 400);
    ASSERT_STREQ(R.error.reason, "whitespace at the start of a field line (obs-fold)");
    REJECT("GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n\tb\r\n\r\n", 400);
    REJECT("GET / HTTP/1.1\r\n Host: h\r\n\r\n", 400); /* whitespace after the start line */
    REJECT("GET / HTTP/1.1\r\nHost: h\r\n: empty\r\n\r\n", 400);
    ASSERT_STREQ(R.error.reason, "empty header name");
    REJECT("GET / HTTP/1.1\r\nHost: h\r\nNoColon\r\n\r\n", 400);
    REJECT("GET / HTTP/1.1\r\nHost: h\r\nX: a\rb\r\n\r\n", 400);
    REJECT("GET / HTTP/1.1\r\nHost: h\r\nX: a\r\r\n\r\n", 400);
    REJECT("GET / HTTP/1.1\r\nHost: h\r\nX: a\n\r\n", 400);
    REJECT("GET / HTTP/1.1\r\nHost: h\nX: a\r\n\r\n", 400);
    REJECT("GET / HTTP/1.1\r\nHost: h\r\n\n", 400);
    REJECT("GET / HTTP/1.1\r\nHost: h\r\n\r\r\n", 400);
    REJECT("GET / HTTP/1.1\r\nHost: h\r\nX: a\x7f\r\n\r\n", 400);
    REJECT("GET / HTTP/1.1\r\nHost: h\r\nX: a\x01\r\n\r\n", 400);
    REJECT("GET / HTTP/1.1\r\nHost: h\r\nX: a\x00z\r\n\r\n", 400);
    ASSERT_STREQ(R.error.reason, "invalid character in header value");
    REJECT("GET / HTTP/1.1\r\nHost: h\r\nX\x00: a\r\n\r\n", 400);
    REJECT("GET / HTTP/1.1\r\nHost: h\r\nX\xc3\xa9: a\r\n\r\n", 400);
    /* Control characters at every position of a long value, so both scanners see them. */
    for (int pos = 0; pos < 40; pos++) {
        char m[256], v[48];
        memset(v, 'v', 47);
        v[47] = '\0';
        v[pos] = "\x01\x0b\x1f\x7f\x00"[pos % 5];
        int n = snprintf(m, sizeof m, "GET / HTTP/1.1\r\nHost: h\r\nX: %s\r\n\r\n", v);
        if (pos % 5 == 4) { /* snprintf stopped at the NUL: rebuild by hand */
            n = snprintf(m, sizeof m, "GET / HTTP/1.1\r\nHost: h\r\nX: %s", v);
            memset(m + n, 0, 1);
            memset(m + n + 1, 'v', (size_t)(46 - pos));
            n += 47 - pos;
            memcpy(m + n, "\r\n\r\n", 4);
            n += 4;
        }
        reject_n(m, (size_t)n, NULL, 400, __LINE__);
        ASSERT_EQ(R.error.offset, 28 + pos);
    }
    /* HTAB is fine inside a value. */
    OK_LEN("GET / HTTP/1.1\r\nHost: h\r\nX: a\tb\r\n\r\n");
    ASSERT_VIEW(R.headers[1].value, "a\tb");
}

TEST(header_count_and_size_limits_are_431)
{
    static const char three[] = "GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\n\r\n";
    static const char cl[] = "GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 7\r\n\r\n";
    struct corio_http_limits lim = {.max_headers = 3};
    ASSERT_EQ(REQ_LIM(three, &lim), (int)sizeof three - 1);
    REJECT_LIM("GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", &lim, 431);
    ASSERT_EQ(R.error.offset, sizeof three - 3);
    /* The caller's array is a limit too. */
    R.headers_cap = 2;
    char *b = guarded(three, sizeof three - 1);
    ASSERT_EQ(corio_http_parse_request(b, sizeof three - 1, NULL, NULL, &R), -EMSGSIZE);
    ASSERT_EQ(R.error.status, 431);
    ASSERT_EQ(R.headers_cap, 2);
    /* No array: fields are counted, checked and used for framing, but not stored. */
    struct corio_http_request_head h = {0};
    b = guarded(cl, sizeof cl - 1);
    ASSERT_EQ(corio_http_parse_request(b, sizeof cl - 1, NULL, NULL, &h), (int)sizeof cl - 1);
    ASSERT_EQ(h.num_headers, 0);
    ASSERT_EQ(h.content_length, 7);
    ASSERT_VIEW(h.host, "h");

    struct corio_http_limits small = {.max_head_bytes = 64};
    ASSERT_EQ(
        REQ_LIM("GET / HTTP/1.1\r\nHost: h\r\nX: 01234567890123456789012345678901\r\n\r\n", &small),
        64);
    REJECT_LIM("GET / HTTP/1.1\r\nHost: h\r\nX: 012345678901234567890123456789012\r\n\r\n", &small,
               431);
    REJECT_LIM("GET / HTTP/1.1\r\nHost: h\r\nX: 01234567890123456789012345678901234567890123",
               &small, 431);
    ASSERT_EQ(R.error.offset, 64);
    /* The default limit, with a realistic pile of cookies. */
    char *big = malloc(20000);
    int n = snprintf(big, 20000, "GET / HTTP/1.1\r\nHost: h\r\n");
    while (n < 17000)
        n += snprintf(big + n, (size_t)(20000 - n), "Cookie: %0100d\r\n", n);
    memcpy(big + n, "\r\n", 2);
    reject_n(big, (size_t)n + 2, NULL, 431, __LINE__);
    free(big);
}

TEST(host_rules)
{
    REJECT("GET / HTTP/1.1\r\n\r\n", 400);
    ASSERT_STREQ(R.error.reason, "missing Host header");
    REJECT("GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", 400);
    ASSERT_STREQ(R.error.reason, "duplicate Host header");
    REJECT("GET / HTTP/1.0\r\nHost: a\r\nhost: b\r\n\r\n", 400);
    REJECT("GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400);
    REJECT("GET / HTTP/1.1\r\nHost: u@a\r\n\r\n", 400);
    REJECT("GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 400);
    REJECT("GET / HTTP/1.1\r\nHost: a:80x\r\n\r\n", 400);
    REJECT("GET / HTTP/1.1\r\nHost: a:123456\r\n\r\n", 400);
    REJECT("GET / HTTP/1.1\r\nHost: [::1\r\n\r\n", 400);
    REJECT("GET / HTTP/1.1\r\nHost: []\r\n\r\n", 400);
    REJECT("GET / HTTP/1.1\r\nHost: a%zz\r\n\r\n", 400);
    OK_LEN("GET / HTTP/1.1\r\nHost:\r\n\r\n");
    ASSERT_VIEW(R.host, "");
    OK_LEN("GET / HTTP/1.1\r\nHOST: [::1]:8080\r\n\r\n");
    ASSERT_VIEW(R.host, "[::1]:8080");
    OK_LEN("GET / HTTP/1.1\r\nHost: a.b-c_d~e%41:\r\n\r\n");
    OK_LEN("GET / HTTP/1.1\r\nHost: 127.0.0.1:65535\r\n\r\n");
}

/* ---- framing -------------------------------------------------------------------------------- */

TEST(content_length_rules)
{
    OK_LEN("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n");
    ASSERT_EQ(R.content_length, 0);
    OK_LEN("POST / HTTP/1.1\r\nHost: h\r\ncontent-LENGTH:   42 \t\r\n\r\n");
    ASSERT_EQ(R.content_length, 42);
    REJECT("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n", 400);
    ASSERT_STREQ(R.error.reason, "duplicate Content-Length");
    ASSERT_EQ(R.error.offset, 45);
    REJECT("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5, 5\r\n\r\n", 400);
    REJECT("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: +5\r\n\r\n", 400);
    REJECT("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n", 400);
    REJECT("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 05\r\n\r\n", 400);
    REJECT("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0x5\r\n\r\n", 400);
    REJECT("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5 5\r\n\r\n", 400);
    REJECT("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1e3\r\n\r\n", 400);
    REJECT("POST / HTTP/1.1\r\nHost: h\r\nContent-Length:\r\n\r\n", 400);
    REJECT("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 9223372036854775808\r\n\r\n", 400);
    REJECT("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999999999999\r\n\r\n", 400);
    struct corio_http_limits nolimit = {.max_body = UINT64_MAX};
    ASSERT_GT(REQ_LIM("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 9223372036854775807\r\n\r\n",
                      &nolimit),
              0);
    ASSERT_EQ(R.content_length, INT64_MAX);
}

TEST(body_over_limit_is_413_from_the_head)
{
    struct corio_http_limits lim = {.max_body = 100};
    ASSERT_GT(REQ_LIM("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 100\r\n\r\n", &lim), 0);
    REJECT_LIM("POST /up HTTP/1.1\r\nHost: h\r\nContent-Length: 101\r\n\r\n", &lim, 413);
    ASSERT_EQ(R.error.offset, 28);
    /* Everything else is filled in so the server can log and answer before the body. */
    ASSERT_VIEW(R.path, "/up");
    ASSERT_EQ(R.content_length, 101);
    ASSERT_EQ(R.num_headers, 2);
    REJECT("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1048577\r\n\r\n", 413);
}

TEST(transfer_encoding_rules)
{
    OK_LEN("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n");
    ASSERT(R.chunked);
    ASSERT_EQ(R.content_length, -1);
    OK_LEN("POST / HTTP/1.1\r\nHost: h\r\ntransfer-encoding: CHUNKED\r\n\r\n");
    ASSERT(R.chunked);
    OK_LEN("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding:\tchunked\t\r\n\r\n");
    ASSERT(R.chunked); /* HTAB is OWS: this is plain chunked */
    OK_LEN("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: , chunked,\r\n\r\n");
    ASSERT(R.chunked); /* empty list elements are ignored */
    REJECT("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400);
    REJECT("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501);
    REJECT("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n", 501);
    REJECT("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: identity\r\n\r\n", 501);
    REJECT("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip;q=1, chunked\r\n\r\n", 501);
    REJECT("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", 400);
    REJECT("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", 400);
    REJECT("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked;ext=1\r\n\r\n", 400);
    REJECT("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding:\r\n\r\n", 400);
    REJECT("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: ,\r\n\r\n", 400);
    REJECT("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked chunked\r\n\r\n", 400);
    REJECT("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: \"chunked\"\r\n\r\n", 400);
    REJECT("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n"
           "Transfer-Encoding: chunked\r\n\r\n",
           400);
}

/* The request-smuggling classics (Watchfire 2005, PortSwigger 2019, "funky chunks" 2025): each
 * one makes a front end and a back end disagree about where a request ends. */
TEST(smuggling_cases_are_refused)
{
    /* CL.TE and TE.CL */
    REJECT("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n"
           "0\r\n\r\nG",
           400);
    ASSERT_STREQ(R.error.reason, "both Transfer-Encoding and Content-Length");
    REJECT("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n"
           "8\r\nSMUGGLED\r\n0\r\n\r\n",
           400);
    /* TE.TE: obfuscated Transfer-Encoding that one side ignores. */
    REJECT("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: xchunked\r\n\r\n", 501);
    REJECT("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding : chunked\r\n\r\n", 400);
    REJECT("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\nTransfer-Encoding:\tchunked\r\n\r\n",
           400);
    REJECT("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n Transfer-Encoding: chunked\r\n\r\n",
           400);
    REJECT(
        "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nTransfer-encoding: x\r\n\r\n",
        400);
    REJECT(
        "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: x\r\nTransfer-encoding: chunked\r\n\r\n",
        501);
    REJECT("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding:\r\n chunked\r\n\r\n", 400);
    REJECT("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding\r\n: chunked\r\n\r\n", 400);
    REJECT("POST / HTTP/1.1\r\nHost: h\r\nX: y\nTransfer-Encoding: chunked\r\n\r\n", 400);
    REJECT("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\x0b\r\n\r\n", 400);
    REJECT("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: \x0b"
           "chunked\r\n\r\n",
           400);
    REJECT("POST / HTTP/1.1\r\nHost: h\r\nTransfer_Encoding: chunked\r\n"
           "Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n",
           400);
    REJECT("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunk\xc3\xa9\r\n\r\n", 400);
    /* Content-Length variants. */
    REJECT("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 6\r\nContent-Length: 5\r\n\r\n", 400);
    REJECT("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: +6\r\n\r\n", 400);
    REJECT("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 006\r\n\r\n", 400);
    REJECT("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 6\x00\r\n\r\n", 400);
    REJECT("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 6, 6\r\n\r\n", 400);
    REJECT("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: \"6\"\r\n\r\n", 400);
}

/* ---- connection semantics ------------------------------------------------------------------- */

TEST(keep_alive_rules)
{
    OK_LEN("GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
    ASSERT(!R.keep_alive);
    OK_LEN("GET / HTTP/1.1\r\nHost: h\r\nConnection: Keep-Alive, CLOSE\r\n\r\n");
    ASSERT(!R.keep_alive);
    OK_LEN("GET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive\r\n\r\n");
    ASSERT(R.keep_alive);
    OK_LEN("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    ASSERT(R.keep_alive);
    OK_LEN("GET / HTTP/1.0\r\nConnection: foo, , Keep-Alive\r\n\r\n");
    ASSERT(R.keep_alive);
    OK_LEN("GET / HTTP/1.0\r\nConnection: keep-alive\r\nConnection: close\r\n\r\n");
    ASSERT(!R.keep_alive);
    OK_LEN("GET / HTTP/1.0\r\n\r\n");
    ASSERT(!R.keep_alive);
    OK_LEN("GET / HTTP/1.1\r\nHost: h\r\nConnection: closed\r\n\r\n");
    ASSERT(R.keep_alive);
    REJECT("GET / HTTP/1.1\r\nHost: h\r\nConnection: keep alive\r\n\r\n", 400);
    REJECT("GET / HTTP/1.1\r\nHost: h\r\nConnection: close;x\r\n\r\n", 400);
}

TEST(upgrade_and_expect)
{
    OK_LEN("GET /ws HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, Upgrade\r\n"
           "Upgrade: websocket\r\n\r\n");
    ASSERT(R.upgrade && R.keep_alive);
    OK_LEN("GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n\r\n");
    ASSERT(!R.upgrade); /* Connection must list it */
    OK_LEN("GET /ws HTTP/1.1\r\nHost: h\r\nConnection: upgrade\r\n\r\n");
    ASSERT(!R.upgrade);
    OK_LEN("GET /ws HTTP/1.0\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n");
    ASSERT(!R.upgrade); /* ignored in HTTP/1.0 */
    OK_LEN("POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-Continue\r\nContent-Length: 3\r\n\r\n");
    ASSERT(R.expect_continue);
    OK_LEN("POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n");
    ASSERT(!R.expect_continue);
    OK_LEN("POST / HTTP/1.1\r\nHost: h\r\nExpect: 200-ok\r\n\r\n");
    ASSERT(!R.expect_continue);
}

TEST(header_find_is_case_insensitive)
{
    OK_LEN("GET / HTTP/1.1\r\nHost: h\r\nX-Thing: 1\r\nx-thing: 2\r\n\r\n");
    const struct corio_http_header *h = corio_http_header_find(R.headers, R.num_headers, "X-THING");
    ASSERT_NOT_NULL(h);
    ASSERT_VIEW(h->value, "1");
    ASSERT_NULL(corio_http_header_find(R.headers, R.num_headers, "X-Thin"));
    ASSERT_NULL(corio_http_header_find(R.headers, 0, "Host"));
}

/* ---- incremental parsing -------------------------------------------------------------------- */

static const char *const valid_requests[] = {
    "GET / HTTP/1.1\r\nHost: a\r\n\r\n",
    "\r\nGET /after-crlf HTTP/1.1\r\nHost: a\r\n\r\n",
    "POST /form?x=%20 HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n"
    "Content-Type: application/x-www-form-urlencoded\r\n\r\n",
    "GET http://example.com:81/abs?q HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
    "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
    "GET /wp-content/uploads/2010/03/hello-kitty-darth-vader-pink.jpg HTTP/1.1\r\n"
    "Host: www.kittyhell.com\r\n"
    "User-Agent: Mozilla/5.0 (Macintosh; U; Intel Mac OS X 10_6_3; ja-JP-mac; rv:1.9.2.3) "
    "Gecko/20100401 Firefox/3.6.3 Pathtraq/0.9\r\n"
    "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n"
    "Accept-Language: ja,en-us;q=0.7,en;q=0.3\r\n"
    "Accept-Encoding: gzip,deflate\r\n"
    "Accept-Charset: Shift_JIS,utf-8;q=0.7,*;q=0.7\r\n"
    "Keep-Alive: 115\r\n"
    "Connection: keep-alive\r\n"
    "Cookie: wp_ozh_wsa_visits=2; wp_ozh_wsa_visit_lasttime=xxxxxxxxxx; "
    "__utma=xxxxxxxxx.xxxxxxxxxx.xxxxxxxxxx.xxxxxxxxxx.xxxxxxxxxx.x; "
    "__utmz=xxxxxxxxx.xxxxxxxxxx.x.x.utmccn=(referral)|utmcsr=reader.livedoor.com|utmcct=/reader/|"
    "utmcmd=referral\r\n"
    "\r\n",
};

TEST(every_prefix_of_a_valid_request_is_incomplete)
{
    struct corio_http_header h1[NHDR], h2[NHDR];
    struct text want, got;

    for (size_t m = 0; m < sizeof valid_requests / sizeof valid_requests[0]; m++) {
        const char *msg = valid_requests[m];
        size_t n = strlen(msg), st = 0;
        char *one = malloc(n);
        memcpy(one, msg, n);
        struct corio_http_request_head a = {.headers = h1, .headers_cap = NHDR};
        int rc = corio_http_parse_request(one, n, NULL, NULL, &a);
        ASSERT_EQ(rc, (int)n);
        describe_request(&want, rc, &a, one);
        for (size_t k = 0; k <= n; k++) {
            char *buf = guarded(msg, k); /* moves every time: the state must not care */
            struct corio_http_request_head b = {.headers = h2, .headers_cap = NHDR};
            int rc2 = corio_http_parse_request(buf, k, &st, NULL, &b);
            if (k < n) {
                ASSERT_EQ(rc2, -EAGAIN);
                ASSERT(k == 0 || st != 0);
                ASSERT_EQ(corio_http_parse_request(buf, k, NULL, NULL, &b), -EAGAIN);
                continue;
            }
            ASSERT_EQ(st, 0);
            describe_request(&got, rc2, &b, buf);
            ASSERT_STREQ(got.buf, want.buf);
        }
        free(one);
    }
}

TEST(trickled_head_is_scanned_in_linear_time)
{
    /* 16 KiB of headers one byte at a time: with the state word this is ~16 K short calls;
     * without it, it would be ~130 M byte visits. Checked by counting, not timing: the state
     * after each call is exactly the length seen. */
    static char msg[CORIO_HTTP_DEFAULT_MAX_HEAD_BYTES];
    size_t n = (size_t)snprintf(msg, sizeof msg, "GET / HTTP/1.1\r\nHost: h\r\n");
    while (n < sizeof msg - 100)
        n += (size_t)snprintf(msg + n, sizeof msg - n, "X-Pad: %0200zu\r\n", n);
    memcpy(msg + n, "\r\n", 2);
    n += 2;
    size_t st = 0;
    struct corio_http_request_head h = {0};
    for (size_t k = 1; k < n; k++) {
        ASSERT_EQ(corio_http_parse_request(msg, k, &st, NULL, &h), -EAGAIN);
        ASSERT_EQ(st & (SIZE_MAX >> 1), k);
    }
    ASSERT_EQ(corio_http_parse_request(msg, n, &st, NULL, &h), (int)n);
}

/* A stream of pipelined requests with bodies, delivered in pieces. */
static const char pipeline[] =
    "GET / HTTP/1.1\r\nHost: a\r\n\r\n"
    "POST /form HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\nhello world"
    "GET /x?y=1 HTTP/1.1\r\nHost: a\r\nConnection: keep-alive\r\n\r\n"
    "\r\nGET /after-crlf HTTP/1.1\r\nHost: a\r\n\r\n"
    "POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
    "5;e=1\r\nhello\r\n1A\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nX-T: 1\r\n\r\n"
    "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n"
    "GET http://a/abs HTTP/1.1\r\nHost: b\r\n\r\n"
    "HEAD /h HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n\r\n"
    "GET /browser HTTP/1.1\r\nHost: www.example.com\r\nUser-Agent: Mozilla/5.0 (X11)\r\n"
    "Accept: text/html,*/*;q=0.8\r\nAccept-Language: en-US,en;q=0.5\r\n"
    "Cookie: session=0123456789abcdef\r\n\r\n"
    "GET /last HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";

struct stream {
    const char *src;
    size_t src_len, delivered;
    const size_t *cuts; /* delivery boundaries, ascending; then the rest */
    size_t ncuts, next_cut;
    char *buf;
    size_t off, have;
};

static bool deliver(struct stream *s)
{
    if (s->delivered == s->src_len)
        return false;
    size_t to = s->next_cut < s->ncuts ? s->cuts[s->next_cut++] : s->src_len;
    memcpy(s->buf + s->have, s->src + s->delivered, to - s->delivered);
    s->have += to - s->delivered;
    s->delivered = to;
    return true;
}

/* Parses request after request as a server would, appending a description of each to t. */
static void run_stream(struct stream *s, struct text *t)
{
    struct corio_http_header h[NHDR];
    struct text one;
    char body[256];

    t->len = 0;
    t->buf[0] = '\0';
    s->buf = malloc(s->src_len + 1);
    s->have = s->off = s->delivered = s->next_cut = 0;
    for (int req = 0; req < 20; req++) {
        struct corio_http_request_head r = {.headers = h, .headers_cap = NHDR};
        if (s->off == s->have && !deliver(s))
            break; /* the client sent nothing more */
        size_t st = 0;
        int rc;
        for (;;) {
            char *g = guarded(s->buf + s->off, s->have - s->off);
            rc = corio_http_parse_request(g, s->have - s->off, &st, NULL, &r);
            if (rc != -EAGAIN || !deliver(s)) {
                text_add(t, "\n[%d] %s", req, describe_request(&one, rc, &r, g));
                break;
            }
        }
        if (rc <= 0)
            break;
        s->off += (size_t)rc;
        if (r.chunked) {
            struct corio_http_chunked d;
            corio_http_chunked_init(&d, NULL);
            size_t got = 0;
            for (;;) {
                size_t in = s->have - s->off, out = sizeof body - got;
                char *g = guarded(s->buf + s->off, in);
                int drc = corio_http_chunked_decode(&d, g, &in, body + got, &out);
                got += out;
                s->off += in;
                if (drc != 0 || !deliver(s)) {
                    text_add(t, " chunked=%d body='%.*s' trailers=%zu", drc, (int)got, body,
                             d.num_trailers);
                    break;
                }
            }
        } else if (r.content_length > 0) {
            while (s->have - s->off < (size_t)r.content_length && deliver(s))
                ;
            size_t k = s->have - s->off < (size_t)r.content_length ? s->have - s->off
                                                                   : (size_t)r.content_length;
            text_add(t, " body='%.*s'", (int)k, s->buf + s->off);
            s->off += k;
        }
    }
    free(s->buf);
}

TEST(pipelined_requests_parse_the_same_at_every_split)
{
    struct text want, got;
    struct stream s = {.src = pipeline, .src_len = sizeof pipeline - 1};

    run_stream(&s, &want);
    ASSERT_NOT_NULL(strstr(want.buf, "[9] rc="));
    ASSERT_NOT_NULL(strstr(want.buf, "body='hello world'"));
    ASSERT_NOT_NULL(strstr(want.buf, "chunked=1 body='helloabcdefghijklmnopqrstuvwxyz'"));
    ASSERT_NULL(strstr(want.buf, "[10]"));
    for (size_t k = 1; k < s.src_len; k++) {
        s.cuts = &k;
        s.ncuts = 1;
        run_stream(&s, &got);
        if (strcmp(got.buf, want.buf) != 0)
            test__fail(__FILE__, __LINE__, "split at %zu differs:\n%s\nvs one shot:\n%s", k,
                       got.buf, want.buf);
    }
    /* And one byte at a time. */
    size_t *cuts = malloc(s.src_len * sizeof *cuts);
    for (size_t k = 0; k < s.src_len; k++)
        cuts[k] = k + 1;
    s.cuts = cuts;
    s.ncuts = s.src_len;
    run_stream(&s, &got);
    ASSERT_STREQ(got.buf, want.buf);
    free(cuts);
}

TEST(over_reads_fault_on_a_guard_page)
{
    /* Every prefix of every valid request, and of the pipeline, ends right at a PROT_NONE page
     * (guarded()); a parser reading one byte too far dies with SIGSEGV here. */
    struct corio_http_request_head h = {.headers = H, .headers_cap = NHDR};
    for (size_t m = 0; m < sizeof valid_requests / sizeof valid_requests[0]; m++) {
        for (size_t k = 0; k <= strlen(valid_requests[m]); k++) {
            char *b = guarded(valid_requests[m], k);
            (void)corio_http_parse_request(b, k, NULL, NULL, &h);
        }
    }
    for (size_t k = 0; k < sizeof pipeline; k++) {
        char *b = guarded(pipeline, k);
        (void)corio_http_parse_request(b, k, NULL, NULL, &h);
        struct corio_http_response_head r = {.headers = H, .headers_cap = NHDR};
        (void)corio_http_parse_response(b, k, NULL, NULL, &r);
    }
}

/* ---- responses ------------------------------------------------------------------------------ */

#define RESP_OK(s) ASSERT_EQ(RESP(s), (int)(sizeof(s) - 1))

static void resp_reject_n(const char *s, size_t n, enum corio_http_method m, int want_rc, int line)
{
    int rc = resp_n(s, n, m, NULL);
    if (rc != want_rc || S.error.status != 502 || S.error.reason == NULL)
        test__fail(__FILE__, line, "expected rc %d/502, got rc %d status %d (%s) for:\n%.*s",
                   want_rc, rc, S.error.status, S.error.reason ? S.error.reason : "-", (int)n, s);
}
#define RESP_REJECT(s) resp_reject_n((s), sizeof(s) - 1, CORIO_HTTP_GET, -EPROTO, __LINE__)

TEST(response_basic_framing)
{
    ASSERT_EQ(RESP("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"), 38);
    ASSERT_EQ(S.status, 200);
    ASSERT_VIEW(S.reason, "OK");
    ASSERT_EQ(S.minor_version, 1);
    ASSERT_EQ(S.body, CORIO_HTTP_BODY_LENGTH);
    ASSERT_EQ(S.content_length, 5);
    ASSERT(S.keep_alive && !S.tunnel);
    RESP_OK("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
    ASSERT_EQ(S.body, CORIO_HTTP_BODY_CHUNKED);
    ASSERT(S.chunked);
    RESP_OK("HTTP/1.1 200 OK\r\nServer: x\r\n\r\n");
    ASSERT_EQ(S.body, CORIO_HTTP_BODY_CLOSE);
    ASSERT(!S.keep_alive);
    RESP_OK("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n");
    ASSERT(!S.keep_alive);
    RESP_OK("HTTP/1.0 200 OK\r\nContent-Length: 0\r\nConnection: keep-alive\r\n\r\n");
    ASSERT(S.keep_alive);
    RESP_OK("HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    ASSERT(!S.keep_alive);
    RESP_OK("HTTP/1.1 404 Not   Found \r\nContent-Length: 0\r\n\r\n");
    ASSERT_VIEW(S.reason, "Not   Found ");
    RESP_OK("HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n");
    ASSERT_VIEW(S.reason, "");
    RESP_OK("HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n"); /* missing SP tolerated */
    ASSERT_VIEW(S.reason, "");
}

TEST(response_without_body)
{
    RESP_OK("HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n");
    ASSERT_EQ(S.body, CORIO_HTTP_BODY_NONE);
    RESP_OK("HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n");
    ASSERT_EQ(S.body, CORIO_HTTP_BODY_NONE);
    ASSERT_EQ(S.content_length, 10);
    ASSERT(S.keep_alive);
    RESP_OK("HTTP/1.1 100 Continue\r\n\r\n");
    ASSERT_EQ(S.body, CORIO_HTTP_BODY_NONE);
    ASSERT(!S.tunnel);
    ASSERT_EQ(RESP_TO(CORIO_HTTP_HEAD, "HTTP/1.1 200 OK\r\nContent-Length: 99999999999\r\n\r\n"),
              48);
    ASSERT_EQ(S.body, CORIO_HTTP_BODY_NONE);
    ASSERT(S.keep_alive);
    RESP_OK(
        "HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n");
    ASSERT(S.tunnel && !S.keep_alive);
    ASSERT_EQ(S.body, CORIO_HTTP_BODY_NONE);
    ASSERT_GT(RESP_TO(CORIO_HTTP_CONNECT, "HTTP/1.1 200 Connection established\r\n\r\n"), 0);
    ASSERT(S.tunnel);
    ASSERT_GT(RESP_TO(CORIO_HTTP_CONNECT, "HTTP/1.1 407 Auth\r\nContent-Length: 0\r\n\r\n"), 0);
    ASSERT(!S.tunnel);
    ASSERT_EQ(S.body, CORIO_HTTP_BODY_LENGTH);
}

TEST(response_errors)
{
    RESP_REJECT("HTTP/1.1 99 Low\r\n\r\n");
    RESP_REJECT("HTTP/1.1 099 Low\r\n\r\n");
    RESP_REJECT("HTTP/1.1 600 High\r\n\r\n");
    RESP_REJECT("HTTP/1.1 2000 OK\r\n\r\n");
    RESP_REJECT("HTTP/1.1 20x OK\r\n\r\n");
    RESP_REJECT("HTTP/2.0 200 OK\r\n\r\n");
    RESP_REJECT("HTTP/1.2 200 OK\r\n\r\n");
    RESP_REJECT("HTTP/1.1  200 OK\r\n\r\n");
    RESP_REJECT("HTTP/1.1 200 O\x01K\r\n\r\n");
    RESP_REJECT("HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n");
    RESP_REJECT("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n");
    RESP_REJECT("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n");
    RESP_REJECT("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n");
    RESP_REJECT("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n");
    RESP_REJECT("HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
    RESP_REJECT("HTTP/1.1 200 OK\r\nBad Header: x\r\n\r\n");
    RESP_REJECT("HTTP/1.1 200 OK\r\n folded: x\r\n\r\n");
    RESP_REJECT("http/1.1 200 OK\r\n\r\n");
    ASSERT_EQ(S.error.offset, 0);
    RESP_REJECT("\r\nHTTP/1.1 200 OK\r\n\r\n"); /* no empty line before a status line */
    RESP_REJECT("<html>");                      /* refused at the first byte */
    ASSERT_EQ(RESP("HTTP/1.1 200 OK\r\nX"), -EAGAIN);
    ASSERT_EQ(RESP("HTT"), -EAGAIN);
    struct corio_http_limits lim = {.max_body = 10, .max_head_bytes = 64, .max_headers = 1};
    ASSERT_EQ(resp_n("HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n", 39, CORIO_HTTP_GET, &lim),
              -EMSGSIZE);
    ASSERT_EQ(S.error.status, 502);
    ASSERT_EQ(resp_n("HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\n\r\n", 31, CORIO_HTTP_GET, &lim),
              -EMSGSIZE);
    ASSERT_EQ(resp_n("HTTP/1.1 200 OK\r\nX: 0123456789012345678901234567890123456789012345", 66,
                     CORIO_HTTP_GET, &lim),
              -EMSGSIZE);
}

TEST(response_interim_then_final)
{
    static const char m[] =
        "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
    int rc = RESP(m);
    ASSERT_EQ(rc, 25);
    ASSERT_EQ(S.status, 100);
    int rc2 = resp_n(m + rc, sizeof m - 1 - (size_t)rc, CORIO_HTTP_GET, NULL);
    ASSERT_EQ(rc2, 38);
    ASSERT_EQ(S.status, 200);
    ASSERT_EQ(S.body, CORIO_HTTP_BODY_LENGTH);
}
