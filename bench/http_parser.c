/* SPDX-License-Identifier: MIT */
/* bench/http_parser.c (bench_http_parser): throughput of the HTTP/1.1 codec (src/http/).
 *
 * Parses, in a loop, a typical browser request (~300 bytes of head, like picohttpparser's
 * bench.c), the minimal request wrk sends, a response head, and decodes a chunked body; prints
 * one line per case with ns per message and GB/s of input, after a line describing the build
 * and machine. Each case runs about CORIO_BENCH_SECONDS (default 1) seconds after a warm-up.
 * Never asserts thresholds: results go to bench/RESULTS.md by hand.
 *
 * The parser's header is not public yet (it becomes part of corio/http.h), hence the relative
 * include.
 */
#include "corio/http_parser.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>

static const char browser[] =
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
    "\r\n";

static const char wrk[] = "GET /plaintext HTTP/1.1\r\nHost: localhost:8080\r\n\r\n";

static const char response[] = "HTTP/1.1 200 OK\r\n"
                               "Server: corio\r\n"
                               "Date: Mon, 01 Jan 2024 00:00:00 GMT\r\n"
                               "Content-Type: text/plain\r\n"
                               "Content-Length: 13\r\n"
                               "\r\n";

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static volatile size_t sink;

enum kind { REQ, RESP, CHUNKED };

static size_t run(enum kind k, const char *msg, size_t len, size_t iters)
{
    struct corio_http_header h[32];
    static char scratch[1 << 16];
    size_t acc = 0;
    /* Set up once, as a server reuses its head struct from request to request. */
    struct corio_http_request_head rq = {.headers = h, .headers_cap = 32};
    struct corio_http_response_head rs = {.headers = h, .headers_cap = 32};

    for (size_t i = 0; i < iters; i++) {
        if (k == REQ) {
            acc += (size_t)corio_http_parse_request(msg, len, NULL, NULL, &rq) + rq.num_headers;
        } else if (k == RESP) {
            acc += (size_t)corio_http_parse_response(msg, len, NULL, NULL, &rs) + rs.num_headers;
        } else {
            struct corio_http_chunked d;
            size_t in = len, out = sizeof scratch;
            corio_http_chunked_init(&d, NULL);
            acc += (size_t)corio_http_chunked_decode(&d, msg, &in, scratch, &out) + out;
        }
    }
    return acc;
}

static void bench(const char *name, enum kind k, const char *msg, size_t len, double seconds)
{
    size_t iters = 1000;
    double t0, t;

    /* Check once that the input parses, then grow the batch until it takes ~10 ms. */
    if (run(k, msg, len, 1) == 0)
        fprintf(stderr, "%s: input does not parse\n", name);
    for (;;) {
        t0 = now();
        sink += run(k, msg, len, iters);
        if ((t = now() - t0) > 0.01)
            break;
        iters *= 2;
    }
    size_t total = 0;
    double start = now(), el;
    do {
        sink += run(k, msg, len, iters);
        total += iters;
    } while ((el = now() - start) < seconds);
    double ns = el * 1e9 / (double)total;
    printf("%-22s bytes=%-5zu ns_per_msg=%-8.1f msgs_per_s=%-11.0f GB_per_s=%.2f\n", name, len, ns,
           1e9 / ns, (double)len / ns);
}

int main(void)
{
    struct utsname u;
    const char *env = getenv("CORIO_BENCH_SECONDS");
    double seconds = env != NULL ? atof(env) : 1.0;
    static char chunked[1 << 15];
    size_t n = 0;

    uname(&u);
    printf("# bench_http_parser: %s %s, %s, "
#ifdef __clang__
           "clang %d.%d"
#else
           "gcc %d.%d"
#endif
           ", %s\n",
           u.sysname, u.machine, u.release,
#ifdef __clang__
           __clang_major__, __clang_minor__,
#else
           __GNUC__, __GNUC_MINOR__,
#endif
#if defined(__SSE2__) && !defined(CORIO_HTTP_SCALAR)
           "SSE2 scanners"
#else
           "scalar scanners"
#endif
    );
    /* 16 KiB of data in 1 KiB chunks, then an empty trailer section. */
    for (int i = 0; i < 16; i++) {
        n += (size_t)snprintf(chunked + n, sizeof chunked - n, "400\r\n");
        memset(chunked + n, 'x', 1024);
        n += 1024;
        n += (size_t)snprintf(chunked + n, sizeof chunked - n, "\r\n");
    }
    n += (size_t)snprintf(chunked + n, sizeof chunked - n, "0\r\n\r\n");

    bench("request_browser", REQ, browser, sizeof browser - 1, seconds);
    bench("request_wrk", REQ, wrk, sizeof wrk - 1, seconds);
    bench("response_head", RESP, response, sizeof response - 1, seconds);
    bench("chunked_16k_body", CHUNKED, chunked, n, seconds);
    return 0;
}
