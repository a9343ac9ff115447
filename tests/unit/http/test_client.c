/* SPDX-License-Identifier: MIT */
/* The in-process test client (corio_http_test_*) and, through it, the exchange: what a
 * response looks like on the wire (managed headers, JSON errors), request accessors (headers,
 * query and form parameters, bodies by Content-Length and chunked, with their limits),
 * streaming responses decoded, HEAD, 100-continue, files with ETag and Range, handler failures,
 * parser errors answered as a server would, and header validation. Virtual time throughout:
 * handlers that sleep take no real time.
 */
#include "test.h"

#include "corio/core.h"
#include "corio/http.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const struct corio_run_opts VT = {.virtual_time = true, .watchdog_ns = -1};

#define RUN(fn) ASSERT_EQ(corio_run(&VT, (fn), NULL), 0)

/* ---- handlers ------------------------------------------------------------------------------ */

static int hello(corio_http_req *req, corio_http_resp *resp, void *ctx)
{
    (void)req;
    (void)ctx;
    return corio_http_resp_text(resp, 200, "text/plain", "Hello, World!", 13);
}

/* Echoes the whole body with the request's Content-Type. */
static int echo(corio_http_req *req, corio_http_resp *resp, void *ctx)
{
    corio_str body, ct;
    (void)ctx;
    int rc = corio_http_req_body(req, &body);
    if (rc < 0)
        return rc;
    ASSERT_EQ(body.ptr[body.len], 0); /* the body view is NUL-terminated */
    char type[128] = "application/octet-stream";
    if (corio_http_req_header(req, "content-type", &ct))
        snprintf(type, sizeof type, "%.*s", (int)ct.len, ct.ptr);
    return corio_http_resp_text(resp, 200, type, body.ptr, body.len);
}

/* Streams the body back in 7-byte reads, as chunks. */
static int stream_echo(corio_http_req *req, corio_http_resp *resp, void *ctx)
{
    char buf[7];
    ssize_t n;
    (void)ctx;
    int rc = corio_http_resp_begin(resp);
    while (rc == 0 && (n = corio_http_req_read(req, buf, sizeof buf)) > 0)
        rc = corio_http_resp_write(resp, buf, (size_t)n);
    if (rc == 0 && n < 0)
        rc = (int)n;
    return rc < 0 ? rc : corio_http_resp_end(resp);
}

/* Streams "count" numbered lines with a sleep between them. */
static int ticker(corio_http_req *req, corio_http_resp *resp, void *ctx)
{
    corio_str v;
    int count = 3;
    (void)ctx;
    if (corio_http_req_query_param(req, "count", &v))
        count = atoi(v.ptr);
    ASSERT_EQ(corio_http_resp_header(resp, "Content-Type", "text/plain"), 0);
    if (count == 0)
        return corio_http_resp_begin(resp); /* else the first write begins */
    for (int i = 0; i < count; i++) {
        char line[32];
        int n = snprintf(line, sizeof line, "tick %d\n", i);
        ASSERT_EQ(corio_sleep(100 * CORIO_MS), 0);
        int rc = corio_http_resp_write(resp, line, (size_t)n);
        if (rc < 0)
            return rc;
    }
    return 0; /* the server ends the stream */
}

/* Answers with the values of the query parameters and headers it is asked about. */
static int inspect(corio_http_req *req, corio_http_resp *resp, void *ctx)
{
    char out[1024];
    int n = 0;
    corio_str v, m = corio_http_req_method(req), p = corio_http_req_path(req);
    corio_str q = corio_http_req_query(req), t = corio_http_req_target(req);
    (void)ctx;
    n += snprintf(out + n, sizeof out - (size_t)n, "%.*s %.*s ? %.*s | %.*s | %d |", (int)m.len,
                  m.ptr, (int)p.len, p.ptr, (int)q.len, q.ptr ? q.ptr : "", (int)t.len, t.ptr,
                  corio_http_req_version(req));
    static const char *const qs[] = {"a", "b", "c", "missing", "e"};
    for (size_t i = 0; i < 5; i++)
        if (corio_http_req_query_param(req, qs[i], &v))
            n += snprintf(out + n, sizeof out - (size_t)n, " %s=[%.*s]", qs[i], (int)v.len, v.ptr);
    static const char *const hs[] = {"x-custom", "X-CUSTOM", "x-Other", "absent"};
    for (size_t i = 0; i < 4; i++)
        if (corio_http_req_header(req, hs[i], &v))
            n += snprintf(out + n, sizeof out - (size_t)n, " %s:[%.*s]", hs[i], (int)v.len, v.ptr);
    corio_str name, value;
    size_t count = 0;
    while (corio_http_req_header_at(req, count, &name, &value))
        count++;
    n += snprintf(out + n, sizeof out - (size_t)n, " headers=%zu", count);
    char peer[CORIO_ADDR_STRLEN];
    corio_addr_format(corio_http_req_peer(req), peer, sizeof peer);
    n += snprintf(out + n, sizeof out - (size_t)n, " peer=%s", peer);
    return corio_http_resp_text(resp, 200, "text/plain", out, (size_t)n);
}

static int form(corio_http_req *req, corio_http_resp *resp, void *ctx)
{
    corio_str name, lang, v;
    (void)ctx;
    int rc = corio_http_req_form(req, "name", &name);
    if (rc == -EINVAL)
        return corio_http_resp_error(resp, 415, NULL, "send a form");
    if (rc < 0)
        return rc;
    ASSERT_EQ(rc, 1);
    ASSERT_EQ(corio_http_req_form(req, "lang", &lang), 1);
    ASSERT_EQ(corio_http_req_form(req, "nothing", &v), 0);
    char out[256];
    int n =
        snprintf(out, sizeof out, "%.*s/%.*s", (int)name.len, name.ptr, (int)lang.len, lang.ptr);
    return corio_http_resp_text(resp, 200, "text/plain", out, (size_t)n);
}

static int fail_io(corio_http_req *req, corio_http_resp *resp, void *ctx)
{
    (void)req;
    (void)resp;
    (void)ctx;
    return -EIO;
}

static int silent(corio_http_req *req, corio_http_resp *resp, void *ctx)
{
    (void)req;
    (void)resp;
    (void)ctx;
    return 0;
}

/* Answers without looking at the body. */
static int ignore_body(corio_http_req *req, corio_http_resp *resp, void *ctx)
{
    (void)req;
    (void)ctx;
    return corio_http_resp_text(resp, 202, NULL, NULL, 0);
}

/* Starts a stream, then fails: the response is broken off. */
static int fail_mid_stream(corio_http_req *req, corio_http_resp *resp, void *ctx)
{
    (void)req;
    (void)ctx;
    ASSERT_EQ(corio_http_resp_write(resp, "partial", 7), 0);
    return -EIO;
}

static char file_path[64];

static int file(corio_http_req *req, corio_http_resp *resp, void *ctx)
{
    (void)ctx;
    int rc = corio_http_resp_file(resp, req, file_path);
    if (rc == -ENOENT)
        return corio_http_resp_error(resp, 404, NULL, "no such file");
    return rc;
}

static int missing_file(corio_http_req *req, corio_http_resp *resp, void *ctx)
{
    (void)ctx;
    int rc = corio_http_resp_file(resp, req, "/nonexistent/corio-test-file");
    ASSERT_EQ(rc, -ENOENT);
    ASSERT(!corio_http_resp_started(resp));
    return corio_http_resp_error(resp, 404, NULL, "no such file");
}

static int bad_headers(corio_http_req *req, corio_http_resp *resp, void *ctx)
{
    (void)req;
    (void)ctx;
    ASSERT_EQ(corio_http_resp_header(resp, "X-Bad", "a\r\nInjected: yes"), -EINVAL);
    ASSERT_EQ(corio_http_resp_header(resp, "X Bad", "v"), -EINVAL);
    ASSERT_EQ(corio_http_resp_header(resp, "X-Bad:", "v"), -EINVAL);
    ASSERT_EQ(corio_http_resp_header(resp, "", "v"), -EINVAL);
    ASSERT_EQ(corio_http_resp_header(resp, "Content-Length", "5"), -EINVAL);
    ASSERT_EQ(corio_http_resp_header(resp, "transfer-encoding", "chunked"), -EINVAL);
    ASSERT_EQ(corio_http_resp_status(resp, 99), -EINVAL);
    ASSERT_EQ(corio_http_resp_status(resp, 1000), -EINVAL);
    ASSERT_EQ(corio_http_resp_header(resp, "X-Good", ""), 0);
    ASSERT_EQ(corio_http_resp_header(resp, "Connection", "close"), 0);
    ASSERT_EQ(corio_http_resp_status(resp, 418), 0);
    ASSERT_EQ(corio_http_resp_get_status(resp), 418);
    ASSERT_EQ(corio_http_resp_text(resp, 418, "text/plain", "teapot", 6), 0);
    ASSERT_EQ(corio_http_resp_bytes(resp), 6);
    ASSERT_EQ(corio_http_resp_text(resp, 200, "text/plain", "again", 5), -EALREADY);
    ASSERT_EQ(corio_http_resp_error(resp, 500, NULL, NULL), -EALREADY);
    ASSERT_EQ(corio_http_resp_begin(resp), -EALREADY);
    return 0;
}

static corio_http_app *make_app(void)
{
    corio_http_app *app;
    ASSERT_EQ(corio_http_app_new(&app), 0);
    ASSERT_EQ(corio_http_app_route(app, "GET", "/hello", hello, NULL), 0);
    ASSERT_EQ(corio_http_app_route(app, "POST", "/echo", echo, NULL), 0);
    ASSERT_EQ(corio_http_app_route(app, "POST", "/stream-echo", stream_echo, NULL), 0);
    ASSERT_EQ(corio_http_app_route(app, "GET", "/ticker", ticker, NULL), 0);
    ASSERT_EQ(corio_http_app_route(app, "*", "/inspect", inspect, NULL), 0);
    ASSERT_EQ(corio_http_app_route(app, "POST", "/form", form, NULL), 0);
    ASSERT_EQ(corio_http_app_route(app, "GET", "/fail", fail_io, NULL), 0);
    ASSERT_EQ(corio_http_app_route(app, "GET", "/silent", silent, NULL), 0);
    ASSERT_EQ(corio_http_app_route(app, "POST", "/ignore", ignore_body, NULL), 0);
    ASSERT_EQ(corio_http_app_route(app, "GET", "/broken-stream", fail_mid_stream, NULL), 0);
    ASSERT_EQ(corio_http_app_route(app, "GET", "/file", file, NULL), 0);
    ASSERT_EQ(corio_http_app_route(app, "GET", "/missing-file", missing_file, NULL), 0);
    ASSERT_EQ(corio_http_app_route(app, "GET", "/bad-headers", bad_headers, NULL), 0);
    return app;
}

/* Sends raw bytes (a C string) and returns the response (caller frees). */
static struct corio_http_test_resp raw_req(corio_http_app *app, const char *raw)
{
    struct corio_http_test_resp res;
    ASSERT_EQ(corio_http_test_request(app, raw, strlen(raw), &res), 0);
    return res;
}

/* ---- the client itself ----------------------------------------------------------------------- */

static int basics_main(void *arg)
{
    corio_http_app *app = make_app();
    struct corio_http_test_resp res;
    (void)arg;
    ASSERT_EQ(corio_http_test_get(app, "/hello", &res), 0);
    ASSERT_EQ(res.status, 200);
    ASSERT_STREQ(res.body, "Hello, World!");
    ASSERT_EQ(res.body_len, 13);
    ASSERT_STREQ(corio_http_test_header(&res, "Content-Type"), "text/plain");
    ASSERT_STREQ(corio_http_test_header(&res, "content-length"), "13");
    ASSERT_STREQ(corio_http_test_header(&res, "SERVER"), "corio");
    ASSERT_NOT_NULL(corio_http_test_header(&res, "Date"));
    ASSERT_EQ(strlen(corio_http_test_header(&res, "Date")), 29);
    ASSERT_NULL(corio_http_test_header(&res, "Connection")); /* HTTP/1.1 keeps alive */
    ASSERT_NULL(corio_http_test_header(&res, "Content"));
    /* The header lines as sent: managed ones first, then the handler's. */
    ASSERT(strncmp(res.headers, "Server: corio\r\nDate: ", 21) == 0);
    ASSERT(strstr(res.headers, "\r\nContent-Length: 13\r\nContent-Type: text/plain\r\n") != NULL);
    ASSERT(strstr(res.headers, "\r\n\r\n") == NULL);
    corio_http_test_resp_free(&res);
    corio_http_test_resp_free(&res); /* freeing twice is harmless */

    /* Options: no Server header, another peer, tighter limits. */
    corio_addr peer;
    ASSERT_EQ(corio_addr_parse("10.1.2.3", 5555, &peer), 0);
    struct corio_http_test_opts o = {.server_name = "", .peer = &peer, .limits.max_body = 4};
    const char *raw = "GET /inspect HTTP/1.1\r\nHost: x\r\n\r\n";
    ASSERT_EQ(corio_http_test_request_ex(app, &o, raw, strlen(raw), &res), 0);
    ASSERT_NULL(corio_http_test_header(&res, "Server"));
    ASSERT(strstr(res.body, "peer=10.1.2.3:5555") != NULL);
    corio_http_test_resp_free(&res);
    raw = "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello";
    ASSERT_EQ(corio_http_test_request_ex(app, &o, raw, strlen(raw), &res), 0);
    ASSERT_EQ(res.status, 413);
    ASSERT_STREQ(corio_http_test_header(&res, "Connection"), "close");
    corio_http_test_resp_free(&res);

    /* The default peer. */
    ASSERT_EQ(corio_http_test_get(app, "/inspect", &res), 0);
    ASSERT(strstr(res.body, "peer=127.0.0.1:40000") != NULL);
    corio_http_test_resp_free(&res);

    /* An incomplete head is the caller's mistake. */
    ASSERT_EQ(corio_http_test_request(app, "GET / HTTP/1.1\r\n", 16, &res), -EINVAL);
    ASSERT_NULL(res.body);
    corio_http_app_free(app);
    return 0;
}

TEST(test_client_returns_status_headers_and_body)
{
    RUN(basics_main);
}

static int send_main(void *arg)
{
    corio_http_app *app = make_app();
    struct corio_http_test_resp res;
    (void)arg;
    /* Host and Content-Length are added... */
    ASSERT_EQ(corio_http_test_send(app, "POST", "/echo", "Content-Type: text/x-a", "abc", 3, &res),
              0);
    ASSERT_EQ(res.status, 200);
    ASSERT_STREQ(res.body, "abc");
    ASSERT_STREQ(corio_http_test_header(&res, "Content-Type"), "text/x-a");
    corio_http_test_resp_free(&res);
    /* ...unless given. */
    ASSERT_EQ(corio_http_test_send(app, "POST", "/echo",
                                   "host: mine\r\nTransfer-Encoding: chunked\r\n",
                                   "2\r\nhi\r\n0\r\n\r\n", 12, &res),
              0);
    ASSERT_EQ(res.status, 200);
    ASSERT_STREQ(res.body, "hi");
    corio_http_test_resp_free(&res);
    /* A body with NULs in it comes back whole. */
    ASSERT_EQ(corio_http_test_send(app, "POST", "/echo", NULL, "a\0b\0", 4, &res), 0);
    ASSERT_EQ(res.body_len, 4);
    ASSERT_MEMEQ(res.body, "a\0b\0", 4);
    corio_http_test_resp_free(&res);
    corio_http_app_free(app);
    return 0;
}

TEST(test_send_builds_the_request)
{
    RUN(send_main);
}

/* ---- requests ------------------------------------------------------------------------------- */

static int accessors_main(void *arg)
{
    corio_http_app *app = make_app();
    (void)arg;
    struct corio_http_test_resp res =
        raw_req(app, "PUT /inspect?a=1+2&b=x%20y&c=%E2%9C%93&a=second&e&c=dup HTTP/1.1\r\n"
                     "Host: example.com\r\nX-CUSTOM: Value One \r\nx-other:\t2\r\n\r\n");
    ASSERT_EQ(res.status, 200);
    ASSERT_STREQ(res.body,
                 "PUT /inspect ? a=1+2&b=x%20y&c=%E2%9C%93&a=second&e&c=dup | "
                 "/inspect?a=1+2&b=x%20y&c=%E2%9C%93&a=second&e&c=dup | 11 | a=[1 2] b=[x y] "
                 "c=[\xe2\x9c\x93] e=[] x-custom:[Value One] X-CUSTOM:[Value One] x-Other:[2] "
                 "headers=3 peer=127.0.0.1:40000");
    corio_http_test_resp_free(&res);
    /* HTTP/1.0, no query at all. */
    res = raw_req(app, "GET /inspect HTTP/1.0\r\n\r\n");
    ASSERT_STREQ(res.body, "GET /inspect ?  | /inspect | 10 | headers=0 peer=127.0.0.1:40000");
    ASSERT_STREQ(corio_http_test_header(&res, "Connection"), "close");
    ASSERT(strncmp(res.headers, "Server", 6) == 0);
    corio_http_test_resp_free(&res);
    corio_http_app_free(app);
    return 0;
}

TEST(request_accessors_headers_and_decoded_query)
{
    RUN(accessors_main);
}

static int form_main(void *arg)
{
    corio_http_app *app = make_app();
    struct corio_http_test_resp res;
    (void)arg;
    const char *body = "name=Ada+Lovelace&lang=en%2DGB&x=";
    ASSERT_EQ(corio_http_test_send(app, "POST", "/form",
                                   "Content-Type: application/x-www-form-urlencoded; charset=utf-8",
                                   body, strlen(body), &res),
              0);
    ASSERT_EQ(res.status, 200);
    ASSERT_STREQ(res.body, "Ada Lovelace/en-GB");
    corio_http_test_resp_free(&res);
    ASSERT_EQ(
        corio_http_test_send(app, "POST", "/form", "Content-Type: application/json", "{}", 2, &res),
        0);
    ASSERT_EQ(res.status, 415);
    corio_http_test_resp_free(&res);
    /* A type that only starts like a form is not one. */
    ASSERT_EQ(corio_http_test_send(app, "POST", "/form",
                                   "Content-Type: application/x-www-form-urlencodedX", body,
                                   strlen(body), &res),
              0);
    ASSERT_EQ(res.status, 415);
    corio_http_test_resp_free(&res);
    corio_http_app_free(app);
    return 0;
}

TEST(form_bodies_are_decoded)
{
    RUN(form_main);
}

static int bodies_main(void *arg)
{
    corio_http_app *app = make_app();
    struct corio_http_test_resp res;
    (void)arg;
    /* Chunked with extensions and trailers, read whole and streamed. */
    static const char chunked[] = "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                                  "Content-Type: text/plain\r\n\r\n"
                                  "5;ext=1\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\n"
                                  "X-Checksum: abc\r\n\r\n";
    res = raw_req(app, chunked);
    ASSERT_EQ(res.status, 200);
    ASSERT_STREQ(res.body, "hello world");
    corio_http_test_resp_free(&res);
    res = raw_req(app, "POST /stream-echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                       "5;ext=1\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\nX-T: 1\r\n\r\n");
    ASSERT_EQ(res.status, 200);
    ASSERT_STREQ(corio_http_test_header(&res, "Transfer-Encoding"), "chunked");
    ASSERT_STREQ(res.body, "hello world");
    corio_http_test_resp_free(&res);

    /* A body of exactly max_body is fine, by Content-Length and chunked; one byte more is 413. */
    struct corio_http_test_opts o = {.limits.max_body = 10};
    const char *exact[] = {
        "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n0123456789",
        "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        "4\r\n0123\r\n6\r\n456789\r\n0\r\n\r\n",
    };
    for (int i = 0; i < 2; i++) {
        ASSERT_EQ(corio_http_test_request_ex(app, &o, exact[i], strlen(exact[i]), &res), 0);
        ASSERT_EQ(res.status, 200);
        ASSERT_STREQ(res.body, "0123456789");
        corio_http_test_resp_free(&res);
    }
    const char *over[] = {
        "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\n0123456789A",
        "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        "4\r\n0123\r\n7\r\n456789A\r\n0\r\n\r\n",
        "POST /stream-echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        "4\r\n0123\r\n7\r\n456789A\r\n0\r\n\r\n",
    };
    for (int i = 0; i < 3; i++) {
        ASSERT_EQ(corio_http_test_request_ex(app, &o, over[i], strlen(over[i]), &res), 0);
        if (i < 2) {
            ASSERT_EQ(res.status, 413);
            ASSERT_STREQ(corio_http_test_header(&res, "Connection"), "close");
            ASSERT_STREQ(corio_http_test_header(&res, "Content-Type"), "application/json");
            ASSERT(!res.truncated);
        } else {
            /* The stream had begun: the response is broken off without its last chunk. */
            ASSERT_EQ(res.status, 200);
            ASSERT(res.truncated);
            ASSERT_STREQ(res.body, "0123");
        }
        corio_http_test_resp_free(&res);
    }

    /* Malformed chunked framing found while reading: 400. */
    res = raw_req(app, "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                       "zz\r\nhello\r\n0\r\n\r\n");
    ASSERT_EQ(res.status, 400);
    ASSERT_STREQ(corio_http_test_header(&res, "Connection"), "close");
    ASSERT(strstr(res.body, "\"error\":\"Bad Request\"") != NULL);
    corio_http_test_resp_free(&res);

    /* A body shorter than its Content-Length: the client went away; nothing is answered. */
    const char *shortbody = "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc";
    ASSERT_EQ(corio_http_test_request(app, shortbody, strlen(shortbody), &res), -ECONNRESET);
    ASSERT_NULL(res.body);
    corio_http_app_free(app);
    return 0;
}

TEST(request_bodies_chunked_and_limits)
{
    RUN(bodies_main);
}

/* ---- responses ----------------------------------------------------------------------------- */

static int streaming_main(void *arg)
{
    corio_http_app *app = make_app();
    struct corio_http_test_resp res;
    (void)arg;
    int64_t t0 = corio_now();
    ASSERT_EQ(corio_http_test_get(app, "/ticker?count=4", &res), 0);
    ASSERT_EQ(corio_now() - t0, 400 * CORIO_MS); /* virtual time: the sleeps happened */
    ASSERT_EQ(res.status, 200);
    ASSERT_STREQ(corio_http_test_header(&res, "Transfer-Encoding"), "chunked");
    ASSERT_NULL(corio_http_test_header(&res, "Content-Length"));
    ASSERT_STREQ(res.body, "tick 0\ntick 1\ntick 2\ntick 3\n");
    ASSERT(!res.truncated);
    corio_http_test_resp_free(&res);

    /* HTTP/1.0 has no chunked coding: the body runs to the close. */
    res = raw_req(app, "GET /ticker?count=2 HTTP/1.0\r\n\r\n");
    ASSERT_EQ(res.status, 200);
    ASSERT_NULL(corio_http_test_header(&res, "Transfer-Encoding"));
    ASSERT_STREQ(corio_http_test_header(&res, "Connection"), "close");
    ASSERT_STREQ(res.body, "tick 0\ntick 1\n");
    corio_http_test_resp_free(&res);

    /* HEAD of a streamed GET: the head only. */
    ASSERT_EQ(corio_http_test_send(app, "HEAD", "/ticker?count=2", NULL, NULL, 0, &res), 0);
    ASSERT_EQ(res.status, 200);
    ASSERT_EQ(res.body_len, 0);
    corio_http_test_resp_free(&res);

    /* Zero chunks: just the last chunk. */
    ASSERT_EQ(corio_http_test_get(app, "/ticker?count=0", &res), 0);
    ASSERT_EQ(res.status, 200);
    ASSERT_EQ(res.body_len, 0);
    ASSERT_STREQ(corio_http_test_header(&res, "Transfer-Encoding"), "chunked");
    corio_http_test_resp_free(&res);

    /* A handler failing mid-stream breaks the response off. */
    ASSERT_EQ(corio_http_test_get(app, "/broken-stream", &res), 0);
    ASSERT_EQ(res.status, 200);
    ASSERT(res.truncated);
    ASSERT_STREQ(res.body, "partial");
    corio_http_test_resp_free(&res);
    corio_http_app_free(app);
    return 0;
}

TEST(streamed_responses_are_decoded)
{
    RUN(streaming_main);
}

static int head_main(void *arg)
{
    corio_http_app *app = make_app();
    struct corio_http_test_resp res;
    (void)arg;
    ASSERT_EQ(corio_http_test_send(app, "HEAD", "/hello", NULL, NULL, 0, &res), 0);
    ASSERT_EQ(res.status, 200);
    ASSERT_STREQ(corio_http_test_header(&res, "Content-Length"), "13");
    ASSERT_STREQ(corio_http_test_header(&res, "Content-Type"), "text/plain");
    ASSERT_EQ(res.body_len, 0);
    ASSERT_STREQ(res.body, "");
    corio_http_test_resp_free(&res);
    /* HEAD of a missing path is still a 404, without its body. */
    ASSERT_EQ(corio_http_test_send(app, "HEAD", "/nope", NULL, NULL, 0, &res), 0);
    ASSERT_EQ(res.status, 404);
    ASSERT_EQ(res.body_len, 0);
    ASSERT_NOT_NULL(corio_http_test_header(&res, "Content-Length"));
    corio_http_test_resp_free(&res);
    corio_http_app_free(app);
    return 0;
}

TEST(head_has_content_length_but_no_body)
{
    RUN(head_main);
}

static int continue_main(void *arg)
{
    corio_http_app *app = make_app();
    (void)arg;
    /* The handler reads: 100 Continue goes first (the client skips it), keep-alive stays. */
    struct corio_http_test_resp res =
        raw_req(app, "POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                     "Content-Length: 4\r\n\r\nbody");
    ASSERT_EQ(res.status, 200);
    ASSERT_STREQ(res.body, "body");
    ASSERT_NULL(corio_http_test_header(&res, "Connection"));
    corio_http_test_resp_free(&res);
    /* The handler answers without reading: no 100, and the connection will close, since the
     * client may or may not send the body now. */
    res = raw_req(app, "POST /ignore HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                       "Content-Length: 4\r\n\r\n");
    ASSERT_EQ(res.status, 202);
    ASSERT_STREQ(corio_http_test_header(&res, "Connection"), "close");
    corio_http_test_resp_free(&res);
    /* Without Expect, a small unread body is drained and the connection is kept. */
    res = raw_req(app, "POST /ignore HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nbody");
    ASSERT_EQ(res.status, 202);
    ASSERT_NULL(corio_http_test_header(&res, "Connection"));
    corio_http_test_resp_free(&res);
    corio_http_app_free(app);
    return 0;
}

TEST(expect_continue_only_when_the_body_is_read)
{
    RUN(continue_main);
}

static int failures_main(void *arg)
{
    corio_http_app *app = make_app();
    struct corio_http_test_resp res;
    (void)arg;
    ASSERT_EQ(corio_http_test_get(app, "/fail", &res), 0);
    ASSERT_EQ(res.status, 500);
    ASSERT_STREQ(corio_http_test_header(&res, "Content-Type"), "application/json");
    char want[128];
    snprintf(want, sizeof want, "{\"error\":\"Internal Server Error\",\"detail\":\"%s\"}",
             corio_strerror(-EIO));
    ASSERT_STREQ(res.body, want);
    ASSERT_NULL(corio_http_test_header(&res, "Connection")); /* the connection is fine */
    corio_http_test_resp_free(&res);
    ASSERT_EQ(corio_http_test_get(app, "/silent", &res), 0);
    ASSERT_EQ(res.status, 500);
    ASSERT_STREQ(res.body, "{\"error\":\"Internal Server Error\",\"detail\":\"the handler sent no "
                           "response\"}");
    corio_http_test_resp_free(&res);
    ASSERT_EQ(corio_http_test_get(app, "/bad-headers", &res), 0);
    ASSERT_EQ(res.status, 418);
    ASSERT_STREQ(res.body, "teapot");
    ASSERT_STREQ(corio_http_test_header(&res, "X-Good"), "");
    ASSERT_STREQ(corio_http_test_header(&res, "Connection"), "close");
    ASSERT_NULL(corio_http_test_header(&res, "X-Bad"));
    ASSERT_NULL(corio_http_test_header(&res, "Injected"));
    ASSERT(strstr(res.headers, "I'm") == NULL);
    corio_http_test_resp_free(&res);
    corio_http_app_free(app);
    return 0;
}

TEST(handler_failures_are_json_errors)
{
    RUN(failures_main);
}

/* What a server answers to requests its parser refuses, and the JSON shape of the answer. */
static int parse_errors_main(void *arg)
{
    static const struct {
        const char *raw;
        int status;
    } cases[] = {
        {"GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n", 400},
        {"GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505},
        {"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
         400},
        {"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc", 400},
        {"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 501},
        {"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000\r\n\r\n", 413},
        {"GET / HTTP/1.1\r\n\r\n", 400}, /* no Host */
    };
    corio_http_app *app = make_app();
    (void)arg;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct corio_http_test_resp res = raw_req(app, cases[i].raw);
        ASSERT_EQ(res.status, cases[i].status);
        ASSERT_STREQ(corio_http_test_header(&res, "Connection"), "close");
        ASSERT_STREQ(corio_http_test_header(&res, "Content-Type"), "application/json");
        ASSERT(strncmp(res.body, "{\"error\":\"", 10) == 0);
        ASSERT(strstr(res.body, "\",\"detail\":\"") != NULL);
        ASSERT_EQ(res.body[res.body_len - 1], '}');
        corio_http_test_resp_free(&res);
    }
    /* The target limit: 414. */
    char raw[10000];
    int n = snprintf(raw, sizeof raw, "GET /");
    memset(raw + n, 'a', 9000);
    snprintf(raw + n + 9000, sizeof raw - (size_t)n - 9000, " HTTP/1.1\r\nHost: x\r\n\r\n");
    struct corio_http_test_resp res = raw_req(app, raw);
    ASSERT_EQ(res.status, 414);
    corio_http_test_resp_free(&res);
    corio_http_app_free(app);
    return 0;
}

TEST(parser_errors_are_answered_as_a_server_would)
{
    RUN(parse_errors_main);
}

/* ---- files ------------------------------------------------------------------------------------
 */

static void make_file(const char *content)
{
    snprintf(file_path, sizeof file_path, "/tmp/corio-test-file-XXXXXX");
    int fd = mkstemp(file_path);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(write(fd, content, strlen(content)), (ssize_t)strlen(content));
    close(fd);
}

static int files_main(void *arg)
{
    corio_http_app *app = make_app();
    struct corio_http_test_resp res;
    char etag[80], hdr[160];
    (void)arg;
    make_file("0123456789abcdef");
    ASSERT_EQ(corio_http_test_get(app, "/file", &res), 0);
    ASSERT_EQ(res.status, 200);
    ASSERT_STREQ(res.body, "0123456789abcdef");
    ASSERT_STREQ(corio_http_test_header(&res, "Content-Length"), "16");
    ASSERT_STREQ(corio_http_test_header(&res, "Accept-Ranges"), "bytes");
    const char *e = corio_http_test_header(&res, "ETag");
    ASSERT_NOT_NULL(e);
    ASSERT_EQ(e[0], '"');
    snprintf(etag, sizeof etag, "%s", e);
    corio_http_test_resp_free(&res);

    /* If-None-Match with the ETag (alone, in a list, weak, or "*"): 304 without a body. */
    const char *inm[] = {"%s", "\"other\", %s", "W/%s", "*"};
    for (int i = 0; i < 4; i++) {
        char line[128];
        snprintf(line, sizeof line, inm[i], etag);
        snprintf(hdr, sizeof hdr, "If-None-Match: %s\r\n", line);
        ASSERT_EQ(corio_http_test_send(app, "GET", "/file", hdr, NULL, 0, &res), 0);
        ASSERT_EQ(res.status, 304);
        ASSERT_EQ(res.body_len, 0);
        ASSERT_STREQ(corio_http_test_header(&res, "ETag"), etag);
        ASSERT_NULL(corio_http_test_header(&res, "Content-Length"));
        corio_http_test_resp_free(&res);
    }
    ASSERT_EQ(corio_http_test_send(app, "GET", "/file", "If-None-Match: \"stale\"", NULL, 0, &res),
              0);
    ASSERT_EQ(res.status, 200);
    corio_http_test_resp_free(&res);

    /* Ranges. */
    static const struct {
        const char *range;
        int status;
        const char *body, *content_range;
    } ranges[] = {
        {"bytes=2-5", 206, "2345", "bytes 2-5/16"},
        {"bytes=10-", 206, "abcdef", "bytes 10-15/16"},
        {"bytes=-3", 206, "def", "bytes 13-15/16"},
        {"bytes=-100", 206, "0123456789abcdef", "bytes 0-15/16"},
        {"bytes=14-100", 206, "ef", "bytes 14-15/16"},
        {"bytes=15-15", 206, "f", "bytes 15-15/16"},
        {"bytes=16-", 416, NULL, "bytes */16"},
        {"bytes=100-200", 416, NULL, "bytes */16"},
        {"bytes=-0", 416, NULL, "bytes */16"},
        {"bytes=5-2", 200, "0123456789abcdef", NULL},     /* invalid: ignored */
        {"bytes=0-1,4-5", 200, "0123456789abcdef", NULL}, /* several: whole file */
        {"items=0-1", 200, "0123456789abcdef", NULL},     /* another unit: ignored */
        {"bytes=x-1", 200, "0123456789abcdef", NULL},
    };
    for (size_t i = 0; i < sizeof ranges / sizeof ranges[0]; i++) {
        snprintf(hdr, sizeof hdr, "Range: %s\r\n", ranges[i].range);
        ASSERT_EQ(corio_http_test_send(app, "GET", "/file", hdr, NULL, 0, &res), 0);
        if (res.status != ranges[i].status)
            fprintf(stderr, "Range %s -> %d\n", ranges[i].range, res.status);
        ASSERT_EQ(res.status, ranges[i].status);
        if (ranges[i].body)
            ASSERT_STREQ(res.body, ranges[i].body);
        else
            ASSERT(strstr(res.body, "\"error\":\"Range Not Satisfiable\"") != NULL);
        const char *cr = corio_http_test_header(&res, "Content-Range");
        if (ranges[i].content_range)
            ASSERT_STREQ(cr, ranges[i].content_range);
        else
            ASSERT_NULL(cr);
        corio_http_test_resp_free(&res);
    }

    /* HEAD of a file: its length, no body. */
    ASSERT_EQ(corio_http_test_send(app, "HEAD", "/file", NULL, NULL, 0, &res), 0);
    ASSERT_EQ(res.status, 200);
    ASSERT_STREQ(corio_http_test_header(&res, "Content-Length"), "16");
    ASSERT_EQ(res.body_len, 0);
    corio_http_test_resp_free(&res);

    /* A missing file is -ENOENT, nothing sent. */
    ASSERT_EQ(corio_http_test_get(app, "/missing-file", &res), 0);
    ASSERT_EQ(res.status, 404);
    corio_http_test_resp_free(&res);
    unlink(file_path);
    ASSERT_EQ(corio_http_test_get(app, "/file", &res), 0);
    ASSERT_EQ(res.status, 404);
    corio_http_test_resp_free(&res);
    corio_http_app_free(app);
    return 0;
}

TEST(files_with_etag_and_ranges)
{
    RUN(files_main);
}

/* A body's Content-Type replaces one the handler set before (an error answered after the
 * handler had chosen the type of a success), so a response never carries two. */
static int typed_then_error(corio_http_req *req, corio_http_resp *resp, void *ctx)
{
    (void)req;
    (void)ctx;
    ASSERT_EQ(corio_http_resp_header(resp, "X-Before", "1"), 0);
    ASSERT_EQ(corio_http_resp_header(resp, "content-type", "text/html"), 0);
    ASSERT_EQ(corio_http_resp_header(resp, "X-After", "2"), 0);
    return corio_http_resp_error(resp, 415, NULL, "no");
}

static size_t count(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = hay; (p = strcasestr(p, needle)); p++)
        n++;
    return n;
}

static int content_type_main(void *arg)
{
    (void)arg;
    corio_http_app *app;
    struct corio_http_test_resp res;
    ASSERT_EQ(corio_http_app_new(&app), 0);
    ASSERT_EQ(corio_http_app_route(app, "GET", "/t", typed_then_error, NULL), 0);
    ASSERT_EQ(corio_http_test_get(app, "/t", &res), 0);
    ASSERT_EQ(res.status, 415);
    ASSERT_EQ(count(res.headers, "content-type:"), 1u);
    ASSERT_STREQ(corio_http_test_header(&res, "Content-Type"), "application/json");
    ASSERT_STREQ(corio_http_test_header(&res, "X-Before"), "1");
    ASSERT_STREQ(corio_http_test_header(&res, "X-After"), "2");
    ASSERT_STREQ(res.body, "{\"error\":\"Unsupported Media Type\",\"detail\":\"no\"}");
    corio_http_test_resp_free(&res);
    corio_http_app_free(app);
    return 0;
}

TEST(a_body_content_type_replaces_an_earlier_one)
{
    RUN(content_type_main);
}
