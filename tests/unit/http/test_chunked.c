/* SPDX-License-Identifier: MIT */
/* Unit tests of the chunked body decoder (src/http/chunked.c): sizes, extensions, CRLFs,
 * limits, trailers, and the promise that any split of the stream decodes the same.
 *
 * check() is the workhorse: it decodes one input four ways, (1) whole and in place, (2) one
 * byte at a time into a separate buffer, keeping unconsumed bytes as a server would, (3) split
 * at every point, into an output buffer of 3 bytes, and (4) whole with the data discarded, and
 * requires the same result from all: return code, bytes consumed, decoded data, error status
 * and stream offset, trailers. Every call's input ends at a PROT_NONE page (guarded()).
 */
#include "corio/http_parser.h"
#include "http_util.h"
#include "test.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct result {
    struct text t;
    int rc;
    size_t used;
};

#define MAXT 16

static void describe(struct result *r, const struct corio_http_chunked *d, const char *data,
                     size_t len, bool with_data)
{
    r->t.len = 0;
    r->t.buf[0] = '\0';
    text_add(&r->t, "rc=%d used=%zu bytes=%llu", r->rc, r->used, (unsigned long long)d->body_bytes);
    if (with_data)
        text_add(&r->t, " data='%.*s'", (int)len, data);
    if (r->rc < 0)
        text_add(&r->t, " status=%d off=%zu reason='%s'", d->error.status, d->error.offset,
                 d->error.reason);
    if (r->rc == 1) {
        text_add(&r->t, " trailers=%zu", d->num_trailers);
        for (size_t i = 0; i < d->num_trailers; i++)
            text_add(&r->t, " [%.*s: %.*s]", (int)d->trailers[i].name.len, d->trailers[i].name.ptr,
                     (int)d->trailers[i].value.len, d->trailers[i].value.ptr);
    }
}

static void whole(const char *s, size_t n, const struct corio_http_limits *lim, struct result *r,
                  bool discard)
{
    struct corio_http_chunked d;
    struct corio_http_header tr[MAXT];
    corio_http_chunked_init(&d, lim);
    d.trailers = tr;
    d.trailers_cap = MAXT;
    char *g = guarded(s, n);
    size_t in = n, out = n;
    r->rc = corio_http_chunked_decode(&d, g, &in, discard ? NULL : g, &out);
    r->used = in;
    describe(r, &d, g, out, !discard);
}

/* Feeds s in pieces ending at the given cut points, output capacity `ocap` per call. */
static void pieces(const char *s, size_t n, const struct corio_http_limits *lim, const size_t *cuts,
                   size_t ncuts, size_t ocap, struct result *r)
{
    struct corio_http_chunked d;
    struct corio_http_header tr[MAXT];
    char *pend = malloc(n + 1), *data = malloc(n + 1);
    size_t plen = 0, olen = 0, fed = 0, next = 0;

    corio_http_chunked_init(&d, lim);
    d.trailers = tr;
    d.trailers_cap = MAXT;
    r->used = 0;
    r->rc = 0;
    for (;;) {
        size_t to = next < ncuts ? cuts[next++] : n;
        memcpy(pend + plen, s + fed, to - fed);
        plen += to - fed;
        fed = to;
        char *g;
        for (;;) { /* drain what we have, as far as the output space allows */
            g = guarded(pend, plen);
            size_t in = plen, out = ocap;
            r->rc = corio_http_chunked_decode(&d, g, &in, data + olen, &out);
            olen += out;
            r->used += in;
            if (r->rc != 0 || (in == 0 && out == 0))
                break;
            memmove(pend, g + in, plen - in);
            plen -= in;
        }
        if (r->rc != 0 || fed == n) {
            describe(r, &d, data, olen, true); /* trailer views point into g: still valid */
            break;
        }
    }
    free(pend);
    free(data);
}

/* Decodes s every way and requires one answer; returns it in *r (and its rc). */
static int check_n(const char *s, size_t n, const struct corio_http_limits *lim, struct result *r)
{
    struct result b, c, dsc;
    size_t *cuts = calloc(n + 1, sizeof *cuts);

    whole(s, n, lim, r, false);
    for (size_t k = 0; k < n; k++)
        cuts[k] = k + 1;
    pieces(s, n, lim, cuts, n, n, &b);
    if (strcmp(b.t.buf, r->t.buf) != 0)
        test__fail(__FILE__, __LINE__, "byte-wise:\n    %s\nwhole:\n    %s", b.t.buf, r->t.buf);
    for (size_t k = 1; k < n; k++) {
        pieces(s, n, lim, &k, 1, 3, &c);
        if (strcmp(c.t.buf, r->t.buf) != 0)
            test__fail(__FILE__, __LINE__, "split at %zu, 3-byte output:\n    %s\nwhole:\n    %s",
                       k, c.t.buf, r->t.buf);
    }
    whole(s, n, lim, &dsc, true);
    struct result plain;
    pieces(s, n, lim, NULL, 0, n, &plain); /* same as whole, but with data column */
    ASSERT_STREQ(plain.t.buf, r->t.buf);
    ASSERT_EQ(dsc.rc, r->rc);
    ASSERT_EQ(dsc.used, r->used);
    free(cuts);
    return r->rc;
}

#define CHECK(s, r) check_n((s), sizeof(s) - 1, NULL, (r))
#define CHECK_LIM(s, lim, r) check_n((s), sizeof(s) - 1, (lim), (r))

static void expect_error(const char *s, size_t n, const struct corio_http_limits *lim, int status,
                         int line)
{
    struct result r;
    int rc = check_n(s, n, lim, &r);
    int want = status == 400 ? -EPROTO : -EMSGSIZE;
    if (rc != want || strstr(r.t.buf, "status=") == NULL)
        test__fail(__FILE__, line, "expected %d, got %s for '%.*s'", status, r.t.buf, (int)n, s);
    char st[32];
    snprintf(st, sizeof st, "status=%d", status);
    if (strstr(r.t.buf, st) == NULL)
        test__fail(__FILE__, line, "expected %d, got %s for '%.*s'", status, r.t.buf, (int)n, s);
}
#define BAD(s, st) expect_error((s), sizeof(s) - 1, NULL, (st), __LINE__)
#define BAD_LIM(s, lim, st) expect_error((s), sizeof(s) - 1, (lim), (st), __LINE__)

TEST(chunked_simple_bodies)
{
    struct result r;
    ASSERT_EQ(CHECK("5\r\nhello\r\n0\r\n\r\n", &r), 1);
    ASSERT_STREQ(r.t.buf, "rc=1 used=15 bytes=5 data='hello' trailers=0");
    ASSERT_EQ(CHECK("0\r\n\r\n", &r), 1);
    ASSERT_STREQ(r.t.buf, "rc=1 used=5 bytes=0 data='' trailers=0");
    ASSERT_EQ(CHECK("3\r\nabc\r\nA\r\n0123456789\r\n1\r\nZ\r\n0\r\n\r\n", &r), 1);
    ASSERT_NOT_NULL(strstr(r.t.buf, "data='abc0123456789Z'"));
    ASSERT_EQ(CHECK("a\r\n0123456789\r\nB\r\n0123456789x\r\n0\r\n\r\n", &r), 1);
    ASSERT_EQ(CHECK("000000000000000a\r\n0123456789\r\n0000000000000000\r\n\r\n", &r), 1);
    ASSERT_NOT_NULL(strstr(r.t.buf, "bytes=10"));
}

TEST(chunked_leaves_what_follows_the_body)
{
    struct result r;
    ASSERT_EQ(CHECK("2\r\nhi\r\n0\r\n\r\nGET / HTTP/1.1\r\n", &r), 1);
    ASSERT_NOT_NULL(strstr(r.t.buf, "used=12 "));
    ASSERT_EQ(CHECK("0\r\nX: y\r\n\r\nPOST", &r), 1);
    ASSERT_NOT_NULL(strstr(r.t.buf, "used=11 "));
}

TEST(chunked_incomplete_bodies_ask_for_more)
{
    static const char m[] = "4\r\nwiki\r\n5;a=\"b\"\r\npedia\r\n0\r\nT: 1\r\n\r\n";
    struct result r;
    for (size_t k = 0; k < sizeof m - 1; k++) {
        ASSERT_EQ(check_n(m, k, NULL, &r), 0);
    }
    ASSERT_EQ(CHECK(m, &r), 1);
    ASSERT_STREQ(r.t.buf, "rc=1 used=36 bytes=9 data='wikipedia' trailers=1 [T: 1]");
}

TEST(chunked_size_errors)
{
    BAD("\r\nabc\r\n0\r\n\r\n", 400);
    BAD("x\r\n", 400);
    BAD("-1\r\n", 400);
    BAD("+1\r\nx\r\n0\r\n\r\n", 400);
    BAD("0x5\r\nhello\r\n0\r\n\r\n", 400);
    BAD("00000000000000001\r\nx\r\n0\r\n\r\n", 400); /* 17 digits */
    BAD("fffffffffffffffff\r\n", 400);               /* would overflow */
    BAD("5\nhello\r\n0\r\n\r\n", 400);               /* bare LF */
    BAD("5\rhello\r\n0\r\n\r\n", 400);               /* bare CR */
    BAD("5 \r\nhello\r\n0\r\n\r\n", 400);            /* whitespace not followed by ';' */
    BAD("5\r\nhelloX\r\n0\r\n\r\n", 400);            /* data longer than the size */
    BAD("5\r\nhell\r\n0\r\n\r\n", 400);
    BAD("5\r\nhello\n0\r\n\r\n", 400);
    BAD("5\r\nhello\r0\r\n\r\n", 400);
    BAD("5\r\nhello\r\n\r\n", 400); /* missing last-chunk */
    struct result r;
    ASSERT_EQ(CHECK("5\r\nhelloX", &r), -EPROTO);
    ASSERT_NOT_NULL(strstr(r.t.buf, "off=8 reason='missing CRLF after chunk data'"));
    ASSERT_NOT_NULL(strstr(r.t.buf, "data='hello'")); /* what came before the error stays */
}

TEST(chunked_extensions)
{
    struct result r;
    ASSERT_EQ(CHECK("5;name\r\nhello\r\n0;last\r\n\r\n", &r), 1);
    ASSERT_EQ(CHECK("5;a=b;c=\"d e\\\"f\\\\\";g\r\nhello\r\n0\r\n\r\n", &r), 1);
    ASSERT_EQ(CHECK("5 ; a = b ;\tc\t=\t\"x\" \r\n", &r), -EPROTO); /* no trailing BWS */
    ASSERT_EQ(CHECK("5 ; a = b ;\tc\t=\t\"x\"\r\nhello\r\n0\r\n\r\n", &r), 1);
    ASSERT_STREQ(r.t.buf, "rc=1 used=33 bytes=5 data='hello' trailers=0");
    BAD("5;\r\nhello\r\n0\r\n\r\n", 400);
    BAD("5;=b\r\nhello\r\n0\r\n\r\n", 400);
    BAD("5;a=\r\nhello\r\n0\r\n\r\n", 400);
    BAD("5;a b\r\nhello\r\n0\r\n\r\n", 400);
    BAD("5;a=b c\r\nhello\r\n0\r\n\r\n", 400);
    BAD("5;a=\"b\r\nhello\r\n0\r\n\r\n", 400); /* unterminated quoted-string */
    BAD("5;a=\"b\"c\r\nhello\r\n0\r\n\r\n", 400);
    BAD("5;a=\"\x01\"\r\nhello\r\n0\r\n\r\n", 400);
    BAD("5;a=\"\\\x7f\"\r\nhello\r\n0\r\n\r\n", 400);
    BAD("5;a\nb\r\nhello\r\n0\r\n\r\n", 400); /* the "funky chunks" LF in an extension */
    BAD("5;a=\"\n\"\r\nhello\r\n0\r\n\r\n", 400);
    BAD("5;a\r\r\nhello\r\n0\r\n\r\n", 400);
    BAD("5;a=b,c\r\nhello\r\n0\r\n\r\n", 400);
}

TEST(chunked_extension_budget_is_413)
{
    struct corio_http_limits lim = {.max_chunk_ext = 10};
    struct result r;
    ASSERT_EQ(CHECK_LIM("1;aaaaaaaaa\r\nx\r\n0\r\n\r\n", &lim, &r), 1); /* 10 bytes */
    BAD_LIM("1;aaaaaaaaaa\r\nx\r\n0\r\n\r\n", &lim, 413);
    /* The budget is per body, not per chunk: many small extensions add up. */
    BAD_LIM("1;aaaaa\r\nx\r\n1;bbbb\r\nx\r\n0\r\n\r\n", &lim, 413);
    ASSERT_EQ(CHECK_LIM("1;aaaa\r\nx\r\n1;bbbb\r\nx\r\n0\r\n\r\n", &lim, &r), 1);
}

TEST(chunked_body_limit_is_413_before_the_data)
{
    struct corio_http_limits lim = {.max_body = 10};
    struct result r;
    ASSERT_EQ(CHECK_LIM("5\r\nhello\r\n5\r\nworld\r\n0\r\n\r\n", &lim, &r), 1);
    BAD_LIM("5\r\nhello\r\n6\r\nworld!\r\n0\r\n\r\n", &lim, 413);
    ASSERT_EQ(CHECK_LIM("5\r\nhello\r\n6\r\nworld!\r\n0\r\n\r\n", &lim, &r), -EMSGSIZE);
    ASSERT_NOT_NULL(strstr(r.t.buf, "used=11 bytes=5 data='hello' status=413 off=11"));
    BAD("ffffffffffffffff\r\n", 413); /* the default 1 MiB */
    BAD("100001\r\n", 413);
    struct corio_http_limits none = {.max_body = UINT64_MAX};
    ASSERT_EQ(CHECK_LIM("ffffffffffffffff\r\nabc", &none, &r), 0);
}

TEST(chunked_trailers)
{
    struct result r;
    ASSERT_EQ(CHECK("1\r\nx\r\n0\r\nX-Checksum: abc \r\nX-Other:\t1\r\n\r\n", &r), 1);
    ASSERT_STREQ(r.t.buf,
                 "rc=1 used=41 bytes=1 data='x' trailers=2 [X-Checksum: abc] [X-Other: 1]");
    BAD("0\r\nContent-Length: 5\r\n\r\n", 400);
    BAD("0\r\ntransfer-encoding: chunked\r\n\r\n", 400);
    BAD("0\r\nHost: evil\r\n\r\n", 400);
    BAD("0\r\nConnection: close\r\n\r\n", 400);
    BAD("0\r\nTrailer: x\r\n\r\n", 400);
    BAD("0\r\nX: 1\r\n folded\r\n\r\n", 400);
    BAD("0\r\nX : 1\r\n\r\n", 400);
    BAD("0\r\nX: 1\n\r\n", 400);
    BAD("0\r\nX: 1\r\n\n", 400);
    BAD("0\r\n\n", 400);
    BAD("0\r\n\rX", 400);
    BAD("0\r\n X: 1\r\n\r\n", 400);
    BAD("0\r\nX: \x01\r\n\r\n", 400);
    ASSERT_EQ(CHECK("0\r\nX: 1\r\n", &r), 0);
    struct corio_http_limits lim = {.max_trailer_bytes = 16, .max_headers = 2};
    ASSERT_EQ(CHECK_LIM("0\r\nA: 1\r\nB: 2\r\n\r\n", &lim, &r), 1); /* 14 bytes */
    BAD_LIM("0\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", &lim, 431);
    BAD_LIM("0\r\nA: 12345678901234\r\n\r\n", &lim, 431);
    BAD_LIM("0\r\nA: 1234567890123", &lim, 431);
    struct corio_http_limits one = {.max_headers = 1};
    BAD_LIM("0\r\nA: 1\r\nB: 2\r\n\r\n", &one, 431);
}

TEST(chunked_trailer_views_need_storage)
{
    struct corio_http_chunked d;
    char m[] = "0\r\nA: 1\r\nB: 2\r\n\r\n";
    size_t in = sizeof m - 1, out = 0;
    corio_http_chunked_init(&d, NULL); /* no trailer storage: validated, counted, not kept */
    ASSERT_EQ(corio_http_chunked_decode(&d, m, &in, NULL, &out), 1);
    ASSERT_EQ(d.num_trailers, 0);
    struct corio_http_header one[1];
    corio_http_chunked_init(&d, NULL);
    d.trailers = one;
    d.trailers_cap = 1; /* too small an array is a limit, as for heads */
    in = sizeof m - 1;
    ASSERT_EQ(corio_http_chunked_decode(&d, m, &in, NULL, &out), -EMSGSIZE);
    ASSERT_EQ(d.error.status, 431);
}

TEST(chunked_results_are_sticky)
{
    struct corio_http_chunked d;
    char m[] = "1\r\nx\r\n0\r\n\r\n1\r\ny\r\n";
    char out[32];
    size_t in = sizeof m - 1, on = sizeof out;
    corio_http_chunked_init(&d, NULL);
    ASSERT_EQ(corio_http_chunked_decode(&d, m, &in, out, &on), 1);
    ASSERT_EQ(in, 11);
    in = 7;
    on = sizeof out;
    ASSERT_EQ(corio_http_chunked_decode(&d, m + 11, &in, out, &on), 1);
    ASSERT_EQ(in, 0);
    ASSERT_EQ(on, 0);
    corio_http_chunked_init(&d, NULL);
    in = 3;
    ASSERT_EQ(corio_http_chunked_decode(&d, "z\r\n", &in, out, &on), -EPROTO);
    in = 5;
    ASSERT_EQ(corio_http_chunked_decode(&d, "0\r\n\r\n", &in, out, &on), -EPROTO);
    ASSERT_EQ(in, 0);
    ASSERT_EQ(d.error.status, 400);
}

static uint64_t rnd(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

TEST(chunked_random_bodies_round_trip)
{
    uint64_t seed = 0x9e3779b97f4a7c15u;
    char *raw = malloc(1 << 16), *data = malloc(1 << 15);
    for (int iter = 0; iter < 200; iter++) {
        size_t n = 0, dn = 0;
        int chunks = (int)(rnd(&seed) % 6);
        for (int c = 0; c < chunks; c++) {
            size_t len = 1 + rnd(&seed) % 300;
            n += (size_t)sprintf(raw + n, rnd(&seed) % 2 ? "%zx" : "%zX", len);
            if (rnd(&seed) % 3 == 0)
                n += (size_t)sprintf(raw + n, ";e%d=\"v\\\"%d\"", c, c);
            n += (size_t)sprintf(raw + n, "\r\n");
            for (size_t i = 0; i < len; i++)
                raw[n++] = data[dn++] = (char)('a' + rnd(&seed) % 26);
            n += (size_t)sprintf(raw + n, "\r\n");
        }
        n += (size_t)sprintf(raw + n, "0\r\n%s\r\n", rnd(&seed) % 2 ? "X-T: v\r\n" : "");
        struct result r, b;
        whole(raw, n, NULL, &r, false);
        ASSERT_EQ(r.rc, 1);
        ASSERT_EQ(r.used, n);
        char want[64];
        snprintf(want, sizeof want, "bytes=%zu data='", dn);
        ASSERT_NOT_NULL(strstr(r.t.buf, want));
        ASSERT_EQ(memcmp(strstr(r.t.buf, "data='") + 6, data, dn), 0);
        /* Random splits into random output sizes. */
        size_t cuts[8], nc = 0;
        for (size_t k = 0; k < 8; k++) {
            size_t c = rnd(&seed) % n;
            if (c > (nc ? cuts[nc - 1] : 0))
                cuts[nc++] = c;
        }
        pieces(raw, n, NULL, cuts, nc, 1 + rnd(&seed) % 64, &b);
        ASSERT_STREQ(b.t.buf, r.t.buf);
    }
    free(raw);
    free(data);
}
