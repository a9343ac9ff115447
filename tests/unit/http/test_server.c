/* SPDX-License-Identifier: MIT */
/* The HTTP/1.1 server over real sockets on 127.0.0.1: keep-alive (HTTP/1.1 by default,
 * HTTP/1.0 by opt-in), pipelining (ten requests in one write answered in order, every split
 * point of a pipelined buffer, streaming in the middle of a pipeline, a deep pipeline past the
 * output buffer), chunked bodies in both directions, 100-continue, HEAD and OPTIONS, 404 and
 * 405, every limit answered with its exact status and the connection closed, a slowloris
 * client cut off with 408, a client leaving mid-body, handler errors, files with ETag and
 * Range, graceful drain, max_requests_per_conn, idle timeouts, and the request accessors.
 *
 * The clients are tasks of the same loop using corio_tcp_connect and streams; they parse what
 * comes back with the response parser. Real time, with a generous deadline around every test
 * and no assertion on durations: where an order matters, the test enforces it with events.
 */
#include "test.h"

#include "corio/core.h"
#include "corio/http.h"
#include "corio/net.h"
#include "corio/sync.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static const struct corio_run_opts RT = {.watchdog_ns = -1};

/* ---- the server under test --------------------------------------------------------------------
 */

struct env {
    corio_http_app *app;
    corio_listener *l;
    corio_http_server *srv;
    corio_task *task;
    int port;
    int run_rc;
    bool run_done;
    corio_chan *entered; /* ids of slow handlers that started */
    corio_event *gate;   /* slow handlers wait for it */
    corio_chan *body_rc; /* results of corio_http_req_body in /upload */
    char file[64];       /* path served by /file */
};

static int hello(corio_http_req *req, corio_http_resp *resp, void *ctx)
{
    (void)req;
    (void)ctx;
    return corio_http_resp_text(resp, 200, "text/plain", "Hello, World!", 13);
}

/* "/p/{n}" answers "p<n>". */
static int numbered(corio_http_req *req, corio_http_resp *resp, void *ctx)
{
    corio_str n;
    char out[64];
    (void)ctx;
    ASSERT(corio_http_req_param(req, "n", &n));
    int len = snprintf(out, sizeof out, "p%.*s", (int)n.len, n.ptr);
    return corio_http_resp_text(resp, 200, "text/plain", out, (size_t)len);
}

static int echo(corio_http_req *req, corio_http_resp *resp, void *ctx)
{
    corio_str body;
    (void)ctx;
    int rc = corio_http_req_body(req, &body);
    if (rc < 0)
        return rc;
    return corio_http_resp_text(resp, 200, "application/octet-stream", body.ptr, body.len);
}

/* Streams ?count lines, sleeping ?ms between them. */
static int stream(corio_http_req *req, corio_http_resp *resp, void *ctx)
{
    corio_str v;
    int count = 3, ms = 0;
    (void)ctx;
    if (corio_http_req_query_param(req, "count", &v))
        count = atoi(v.ptr);
    if (corio_http_req_query_param(req, "ms", &v))
        ms = atoi(v.ptr);
    int rc = corio_http_resp_begin(resp);
    for (int i = 0; rc == 0 && i < count; i++) {
        char line[32];
        int n = snprintf(line, sizeof line, "line %d\n", i);
        if (ms)
            rc = corio_sleep(ms * CORIO_MS);
        if (rc == 0)
            rc = corio_http_resp_write(resp, line, (size_t)n);
    }
    return rc < 0 ? rc : corio_http_resp_end(resp);
}

/* Reports that it started, waits for the gate, sleeps 200 ms, answers "slow". */
static int slow(corio_http_req *req, corio_http_resp *resp, void *ctx)
{
    struct env *e = ctx;
    int id = 1;
    (void)req;
    ASSERT_EQ(corio_chan_put(e->entered, &id), 0);
    int rc = corio_event_wait(e->gate);
    if (rc == 0)
        rc = corio_sleep(200 * CORIO_MS);
    return rc < 0 ? rc : corio_http_resp_text(resp, 200, "text/plain", "slow", 4);
}

static int ignore_body(corio_http_req *req, corio_http_resp *resp, void *ctx)
{
    (void)req;
    (void)ctx;
    return corio_http_resp_text(resp, 200, "text/plain", "ignored", 7);
}

/* Reads the body and reports how that went. */
static int upload(corio_http_req *req, corio_http_resp *resp, void *ctx)
{
    struct env *e = ctx;
    corio_str body;
    int rc = corio_http_req_body(req, &body);
    ASSERT_EQ(corio_chan_put(e->body_rc, &rc), 0);
    if (rc < 0)
        return rc;
    return corio_http_resp_text(resp, 200, "text/plain", "stored", 6);
}

static int fail(corio_http_req *req, corio_http_resp *resp, void *ctx)
{
    (void)req;
    (void)resp;
    (void)ctx;
    return -EIO;
}

static int file(corio_http_req *req, corio_http_resp *resp, void *ctx)
{
    struct env *e = ctx;
    return corio_http_resp_file(resp, req, e->file);
}

/* "/inspect/{name}": the decoded parameter, query values and a header by any case. */
static int inspect(corio_http_req *req, corio_http_resp *resp, void *ctx)
{
    corio_str name, q, s, h1, h2;
    char out[512];
    (void)ctx;
    ASSERT(corio_http_req_param(req, "name", &name));
    ASSERT(corio_http_req_query_param(req, "q", &q));
    ASSERT(corio_http_req_query_param(req, "s", &s));
    ASSERT(corio_http_req_header(req, "x-custom-header", &h1));
    ASSERT(corio_http_req_header(req, "X-CUSTOM-HEADER", &h2));
    ASSERT(h1.ptr == h2.ptr);
    int n = snprintf(out, sizeof out, "name=%.*s q=%.*s s=%.*s h=%.*s", (int)name.len, name.ptr,
                     (int)q.len, q.ptr, (int)s.len, s.ptr, (int)h1.len, h1.ptr);
    return corio_http_resp_text(resp, 200, "text/plain", out, (size_t)n);
}

static int form(corio_http_req *req, corio_http_resp *resp, void *ctx)
{
    corio_str a, b;
    char out[256];
    (void)ctx;
    ASSERT_EQ(corio_http_req_form(req, "a", &a), 1);
    ASSERT_EQ(corio_http_req_form(req, "b", &b), 1);
    int n = snprintf(out, sizeof out, "a=%.*s b=%.*s", (int)a.len, a.ptr, (int)b.len, b.ptr);
    return corio_http_resp_text(resp, 200, "text/plain", out, (size_t)n);
}

/* 64 MiB of zeros: more than the socket buffers of both ends hold. */
#define BIG_BODY (64u << 20)

static int big(corio_http_req *req, corio_http_resp *resp, void *ctx)
{
    (void)req;
    (void)ctx;
    char *body = calloc(1, BIG_BODY);
    ASSERT_NOT_NULL(body);
    int rc = corio_http_resp_text(resp, 200, "application/octet-stream", body, BIG_BODY);
    free(body);
    return rc;
}

/* "/up": switches to a line echo protocol; on the end of input during a drain it says "bye".
 * Reports the upgrade's result on body_rc. */
static int upgrade(corio_http_req *req, corio_http_resp *resp, void *ctx)
{
    struct env *e = ctx;
    corio_stream *s;
    ASSERT_EQ(corio_http_resp_header(resp, "Upgrade", "lines"), 0);
    ASSERT_EQ(corio_http_resp_header(resp, "Connection", "Upgrade"), 0);
    int rc = corio_http_resp_upgrade(resp, &s);
    ASSERT_EQ(corio_chan_put(e->body_rc, &rc), 0);
    if (rc < 0)
        return rc;
    corio_stream *again;
    ASSERT_EQ(corio_http_resp_upgrade(resp, &again), -EALREADY);
    ASSERT_NULL(again);
    ASSERT(!corio_http_req_draining(req));
    char *line;
    ssize_t n;
    while ((n = corio_stream_read_until(s, "\n", 1, 1024, &line)) > 0)
        if ((rc = corio_stream_write_all(s, line, (size_t)n)) < 0)
            return rc;
    /* The new protocol's reads reused the stream's buffer; the request's views were copied
     * away before the hand-over, so they still read right (middleware reads them after us). */
    corio_str v, path = corio_http_req_path(req), m = corio_http_req_method(req);
    ASSERT(path.len == 3 && memcmp(path.ptr, "/up", 3) == 0);
    ASSERT(m.len == 3 && memcmp(m.ptr, "GET", 3) == 0);
    ASSERT(corio_http_req_header(req, "Upgrade", &v) && v.len == 5 &&
           memcmp(v.ptr, "lines", 5) == 0);
    if (n == 0 && corio_http_req_draining(req))
        return corio_stream_write_all(s, "bye\n", 4);
    return n < 0 ? (int)n : 0;
}

static int server_task(void *arg)
{
    struct env *e = arg;
    e->run_rc = corio_http_server_run(e->srv);
    e->run_done = true;
    return 0;
}

static void start(struct env *e, const struct corio_http_server_opts *o)
{
    memset(e, 0, sizeof(*e));
    ASSERT_EQ(corio_chan_new(sizeof(int), 64, &e->entered), 0);
    ASSERT_EQ(corio_chan_new(sizeof(int), 64, &e->body_rc), 0);
    ASSERT_EQ(corio_event_new(&e->gate), 0);
    ASSERT_EQ(corio_http_app_new(&e->app), 0);
    corio_http_app *a = e->app;
    ASSERT_EQ(corio_http_app_route(a, "GET", "/hello", hello, e), 0);
    ASSERT_EQ(corio_http_app_route(a, "POST", "/hello", hello, e), 0);
    ASSERT_EQ(corio_http_app_route(a, "GET", "/p/{n}", numbered, e), 0);
    ASSERT_EQ(corio_http_app_route(a, "POST", "/echo", echo, e), 0);
    ASSERT_EQ(corio_http_app_route(a, "GET", "/stream", stream, e), 0);
    ASSERT_EQ(corio_http_app_route(a, "GET", "/slow", slow, e), 0);
    ASSERT_EQ(corio_http_app_route(a, "POST", "/ignore", ignore_body, e), 0);
    ASSERT_EQ(corio_http_app_route(a, "POST", "/upload", upload, e), 0);
    ASSERT_EQ(corio_http_app_route(a, "GET", "/fail", fail, e), 0);
    ASSERT_EQ(corio_http_app_route(a, "GET", "/file", file, e), 0);
    ASSERT_EQ(corio_http_app_route(a, "GET", "/inspect/{name}", inspect, e), 0);
    ASSERT_EQ(corio_http_app_route(a, "POST", "/form", form, e), 0);
    ASSERT_EQ(corio_http_app_route(a, "GET", "/big", big, e), 0);
    ASSERT_EQ(corio_http_app_route(a, "GET", "/up", upgrade, e), 0);
    ASSERT_EQ(corio_tcp_listen("127.0.0.1", 0, NULL, &e->l), 0);
    e->port = corio_listener_port(e->l);
    ASSERT_EQ(corio_http_server_new(e->app, e->l, o, &e->srv), 0);
    ASSERT_EQ(corio_spawn_task(NULL, server_task, e, &e->task), 0);
}

/* Hard stop: cancels the server (and its connections) unless it was joined already. */
static void stop(struct env *e)
{
    if (e->task) {
        corio_task_cancel(e->task);
        ASSERT_EQ(corio_task_join(e->task, NULL), 0);
    }
    ASSERT(e->run_done);
    corio_http_server_free(e->srv);
    corio_listener_close(e->l);
    corio_http_app_free(e->app);
    corio_chan_free(e->entered);
    corio_chan_free(e->body_rc);
    corio_event_free(e->gate);
    if (e->file[0])
        unlink(e->file);
}

/* Runs fn under a 20 s deadline (a hang fails the test rather than the harness timing out). */
struct run_arg {
    void (*fn)(void);
};

static int run_main(void *arg)
{
    struct run_arg *ra = arg;
    corio_deadline d;
    corio_deadline_enter(&d, corio_after(20 * CORIO_S));
    ra->fn();
    ASSERT(!corio_deadline_leave(&d));
    return 0;
}

#define RUN(fn) ASSERT_EQ(corio_run(&RT, run_main, &(struct run_arg){(fn)}), 0)

/* ---- the client side ------------------------------------------------------------------------ */

static corio_stream *dial(struct env *e)
{
    int fd = corio_tcp_connect("127.0.0.1", e->port, NULL);
    ASSERT_GE(fd, 0);
    corio_stream *s;
    ASSERT_EQ(corio_stream_open(fd, &(struct corio_stream_opts){.max_buffer = 1 << 20}, &s), 0);
    return s;
}

static void send_str(corio_stream *s, const char *str)
{
    ASSERT_EQ(corio_stream_write_all(s, str, strlen(str)), 0);
}

struct resp {
    int status;
    int minor;
    bool keep_alive;   /* what the response parser concluded */
    char fields[8192]; /* "name\0value\0" per field */
    size_t nfields;
    char *body; /* NUL-terminated, malloc'd */
    size_t body_len;
};

static void resp_free(struct resp *r)
{
    free(r->body);
    r->body = NULL;
}

static const char *hdr(const struct resp *r, const char *name)
{
    const char *f = r->fields;
    for (size_t i = 0; i < r->nfields; i++) {
        const char *v = f + strlen(f) + 1;
        if (strcasecmp(f, name) == 0)
            return v;
        f = v + strlen(v) + 1;
    }
    return NULL;
}

static void body_append(struct resp *r, const char *p, size_t n, size_t *cap)
{
    if (r->body_len + n + 1 > *cap) {
        while (r->body_len + n + 1 > *cap)
            *cap = *cap ? *cap * 2 : 4096;
        r->body = realloc(r->body, *cap);
        ASSERT_NOT_NULL(r->body);
    }
    memcpy(r->body + r->body_len, p, n);
    r->body_len += n;
    r->body[r->body_len] = 0;
}

/* Reads one response (an interim 1xx counts as one) to a request with method m. Returns 0,
 * -ENODATA if the connection ended before any byte of it, or another error. */
static int read_resp(corio_stream *s, enum corio_http_method m, struct resp *out)
{
    struct corio_http_header hv[64];
    struct corio_http_response_head h;
    static const struct corio_http_limits lim = {.max_body = UINT64_MAX};
    size_t len, state = 0, cap = 0;
    memset(out, 0, offsetof(struct resp, fields));
    out->nfields = 0;
    out->body = NULL;
    out->body_len = 0;
    body_append(out, "", 0, &cap);
    for (;;) {
        char *p = corio_stream_peek(s, &len);
        h = (struct corio_http_response_head){
            .headers = hv, .headers_cap = 64, .request_method = m};
        int rc = len ? corio_http_parse_response(p, len, &state, &lim, &h) : -EAGAIN;
        if (rc > 0) {
            char *f = out->fields;
            for (size_t i = 0; i < h.num_headers; i++) {
                ASSERT(f + hv[i].name.len + hv[i].value.len + 2 < out->fields + sizeof out->fields);
                f += sprintf(f, "%.*s", (int)hv[i].name.len, hv[i].name.ptr) + 1;
                f += sprintf(f, "%.*s", (int)hv[i].value.len, hv[i].value.ptr) + 1;
            }
            out->nfields = h.num_headers;
            corio_stream_consume(s, (size_t)rc);
            break;
        }
        if (rc != -EAGAIN)
            return rc;
        ssize_t n = corio_stream_fill(s);
        if (n == 0 || n == -ECONNRESET)
            return len ? -EPIPE : -ENODATA;
        if (n < 0)
            return (int)n;
    }
    out->status = h.status;
    out->minor = h.minor_version;
    out->keep_alive = h.keep_alive;
    char buf[16384];
    switch (h.body) {
    case CORIO_HTTP_BODY_NONE:
        break;
    case CORIO_HTTP_BODY_LENGTH:
        for (uint64_t left = (uint64_t)h.content_length; left > 0;) {
            ssize_t n = corio_stream_read_some(s, buf, left < sizeof buf ? left : sizeof buf);
            if (n <= 0)
                return n == 0 ? -EPIPE : (int)n;
            body_append(out, buf, (size_t)n, &cap);
            left -= (uint64_t)n;
        }
        break;
    case CORIO_HTTP_BODY_CHUNKED: {
        struct corio_http_chunked d;
        corio_http_chunked_init(&d, &lim);
        for (;;) {
            char *p = corio_stream_peek(s, &len);
            size_t in = len, got = sizeof buf;
            int rc = corio_http_chunked_decode(&d, p ? p : "", &in, buf, &got);
            corio_stream_consume(s, in);
            body_append(out, buf, got, &cap);
            if (rc == 1)
                break;
            if (rc < 0)
                return rc;
            if (got == 0 && corio_stream_fill(s) <= 0)
                return -EPIPE;
        }
        break;
    }
    case CORIO_HTTP_BODY_CLOSE:
        for (;;) {
            ssize_t n = corio_stream_read_some(s, buf, sizeof buf);
            if (n == 0 || n == -ECONNRESET)
                break;
            if (n < 0)
                return (int)n;
            body_append(out, buf, (size_t)n, &cap);
        }
        break;
    }
    return 0;
}

/* Reads a response and checks its status and (if body is not NULL) its body. */
static void expect_resp(corio_stream *s, enum corio_http_method m, int status, const char *body,
                        struct resp *r)
{
    int rc = read_resp(s, m, r);
    if (rc != 0 || r->status != status)
        fprintf(stderr, "read_resp: %d, status %d, body %s\n", rc, r->status,
                r->body ? r->body : "-");
    ASSERT_EQ(rc, 0);
    ASSERT_EQ(r->status, status);
    if (body)
        ASSERT_STREQ(r->body, body);
}

/* The same, for a response the test does not look at further. */
static void expect(corio_stream *s, enum corio_http_method m, int status, const char *body)
{
    struct resp r;
    expect_resp(s, m, status, body, &r);
    resp_free(&r);
}

/* The server has closed the connection: the next read ends (or is reset) without data. */
static void expect_closed(corio_stream *s)
{
    char buf[256];
    ssize_t n = corio_stream_read_some(s, buf, sizeof buf);
    if (n > 0)
        fprintf(stderr, "unexpected bytes: %.*s\n", (int)n, buf);
    ASSERT(n == 0 || n == -ECONNRESET);
}

/* Connects, sends raw, expects status and body, and closes. */
static void one_shot(struct env *e, const char *raw, int status, const char *body)
{
    corio_stream *s = dial(e);
    send_str(s, raw);
    expect(s, CORIO_HTTP_GET, status, body);
    corio_stream_close(s);
}

/* ---- keep-alive -------------------------------------------------------------------------------
 */

static void keepalive(void)
{
    struct env e;
    struct resp r;
    start(&e, NULL);
    corio_stream *s = dial(&e);
    for (int i = 0; i < 5; i++) {
        send_str(s, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
        expect_resp(s, CORIO_HTTP_GET, 200, "Hello, World!", &r);
        ASSERT_EQ(r.minor, 1);
        ASSERT(r.keep_alive);
        ASSERT_NULL(hdr(&r, "Connection"));
        ASSERT_STREQ(hdr(&r, "Content-Length"), "13");
        ASSERT_STREQ(hdr(&r, "Server"), "corio");
        ASSERT_NOT_NULL(hdr(&r, "Date"));
        resp_free(&r);
        ASSERT_EQ(corio_http_server_conns(e.srv), 1);
    }
    /* Connection: close from the client: answered with it, then closed. */
    send_str(s, "GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    expect_resp(s, CORIO_HTTP_GET, 200, "Hello, World!", &r);
    ASSERT_STREQ(hdr(&r, "Connection"), "close");
    resp_free(&r);
    expect_closed(s);
    corio_stream_close(s);
    stop(&e);
}

TEST(keepalive_serves_several_requests_on_one_connection)
{
    RUN(keepalive);
}

static void http10(void)
{
    struct env e;
    struct resp r;
    start(&e, NULL);
    /* By default an HTTP/1.0 connection closes after one response. */
    corio_stream *s = dial(&e);
    send_str(s, "GET /hello HTTP/1.0\r\n\r\n");
    expect_resp(s, CORIO_HTTP_GET, 200, "Hello, World!", &r);
    ASSERT_EQ(r.minor, 0);
    ASSERT_STREQ(hdr(&r, "Connection"), "close");
    resp_free(&r);
    expect_closed(s);
    corio_stream_close(s);
    /* With Connection: keep-alive it persists, and says so. */
    s = dial(&e);
    for (int i = 0; i < 3; i++) {
        send_str(s, "GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
        expect_resp(s, CORIO_HTTP_GET, 200, "Hello, World!", &r);
        ASSERT_EQ(r.minor, 0);
        ASSERT_STREQ(hdr(&r, "Connection"), "keep-alive");
        ASSERT(r.keep_alive);
        resp_free(&r);
    }
    /* A streamed response to HTTP/1.0 is delimited by the close. */
    send_str(s, "GET /stream?count=2 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    expect_resp(s, CORIO_HTTP_GET, 200, "line 0\nline 1\n", &r);
    ASSERT_STREQ(hdr(&r, "Connection"), "close");
    ASSERT_NULL(hdr(&r, "Transfer-Encoding"));
    resp_free(&r);
    corio_stream_close(s);
    stop(&e);
}

TEST(http10_closes_by_default_and_keeps_alive_on_request)
{
    RUN(http10);
}

static void max_requests(void)
{
    struct env e;
    struct resp r;
    start(&e, &(struct corio_http_server_opts){.max_requests_per_conn = 3});
    corio_stream *s = dial(&e);
    for (int i = 0; i < 3; i++) {
        send_str(s, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
        expect_resp(s, CORIO_HTTP_GET, 200, "Hello, World!", &r);
        if (i < 2)
            ASSERT_NULL(hdr(&r, "Connection"));
        else
            ASSERT_STREQ(hdr(&r, "Connection"), "close");
        resp_free(&r);
    }
    expect_closed(s);
    corio_stream_close(s);
    stop(&e);
}

TEST(max_requests_per_conn_closes_after_the_last)
{
    RUN(max_requests);
}

static void idle_timeouts(void)
{
    struct env e;
    /* A short keep-alive timeout: the idle connection is closed. */
    start(&e, &(struct corio_http_server_opts){.timeouts.keepalive_ns = 200 * CORIO_MS});
    corio_stream *s = dial(&e);
    send_str(s, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
    expect(s, CORIO_HTTP_GET, 200, "Hello, World!");
    expect_closed(s);
    corio_stream_close(s);
    stop(&e);
    /* One longer than the grace period after which an idle connection gives its read buffer
     * back: the next request after that is still served. */
    start(&e, &(struct corio_http_server_opts){.timeouts.keepalive_ns = 5 * CORIO_S});
    s = dial(&e);
    send_str(s, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
    expect(s, CORIO_HTTP_GET, 200, "Hello, World!");
    ASSERT_EQ(corio_sleep(1200 * CORIO_MS), 0);
    send_str(s, "GET /p/2 HTTP/1.1\r\nHost: x\r\n\r\n");
    expect(s, CORIO_HTTP_GET, 200, "p2");
    corio_stream_close(s);
    stop(&e);
}

TEST(idle_connections_time_out_and_survive_buffer_release)
{
    RUN(idle_timeouts);
}

/* ---- pipelining ------------------------------------------------------------------------------ */

static void pipelined_ten(void)
{
    struct env e;
    char raw[1024];
    size_t n = 0;
    start(&e, NULL);
    for (int i = 0; i < 10; i++)
        n += (size_t)snprintf(raw + n, sizeof raw - n, "GET /p/%d HTTP/1.1\r\nHost: x\r\n\r\n", i);
    corio_stream *s = dial(&e);
    ASSERT_EQ(corio_stream_write_all(s, raw, n), 0);
    for (int i = 0; i < 10; i++) {
        char want[16];
        snprintf(want, sizeof want, "p%d", i);
        expect(s, CORIO_HTTP_GET, 200, want);
    }
    /* The connection is still good afterwards. */
    send_str(s, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
    expect(s, CORIO_HTTP_GET, 200, "Hello, World!");
    corio_stream_close(s);
    stop(&e);
}

TEST(ten_pipelined_requests_in_one_write_are_answered_in_order)
{
    RUN(pipelined_ten);
}

/* Three requests (a GET, a POST with Content-Length, a chunked POST with trailers, then a GET
 * so the chunked body is followed by another request) sent in two writes, for every split
 * point, all on one connection. */
static void pipelined_splits(void)
{
    static const char raw[] = "GET /p/1 HTTP/1.1\r\nHost: x\r\n\r\n"
                              "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
                              "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                              "3;x=y\r\nabc\r\n2\r\nde\r\n0\r\nTrailer-A: 1\r\n\r\n"
                              "GET /p/4 HTTP/1.1\r\nHost: x\r\n\r\n";
    const size_t n = sizeof raw - 1;
    struct env e;
    start(&e, NULL);
    corio_stream *s = dial(&e);
    for (size_t cut = 1; cut < n; cut++) {
        ASSERT_EQ(corio_stream_write_all(s, raw, cut), 0);
        ASSERT_EQ(corio_sleep(1 * CORIO_MS), 0); /* usually two reads on the server's side */
        ASSERT_EQ(corio_stream_write_all(s, raw + cut, n - cut), 0);
        expect(s, CORIO_HTTP_GET, 200, "p1");
        expect(s, CORIO_HTTP_POST, 200, "hello");
        expect(s, CORIO_HTTP_POST, 200, "abcde");
        expect(s, CORIO_HTTP_GET, 200, "p4");
    }
    corio_stream_close(s);
    stop(&e);
}

TEST_TIMEOUT(every_split_point_of_a_pipelined_buffer, 60)
{
    RUN(pipelined_splits);
}

/* A client that pipelines a request and the start of the next, then waits for the first
 * answer before sending the rest: the answer must not be held back for the partial head. */
static void pipelined_partial(void)
{
    struct env e;
    start(&e, NULL);
    corio_stream *s = dial(&e);
    send_str(s, "GET /p/1 HTTP/1.1\r\nHost: x\r\n\r\nGET /p/2 HTTP/1.1\r\nHo");
    expect(s, CORIO_HTTP_GET, 200, "p1");
    send_str(s, "st: x\r\n\r\n");
    expect(s, CORIO_HTTP_GET, 200, "p2");
    corio_stream_close(s);
    stop(&e);
}

TEST(answers_are_not_held_back_behind_a_partial_request)
{
    RUN(pipelined_partial);
}

/* Held-back responses go out before a streamed one, in order. */
static void pipelined_stream(void)
{
    struct env e;
    struct resp r;
    start(&e, NULL);
    corio_stream *s = dial(&e);
    send_str(s, "GET /p/0 HTTP/1.1\r\nHost: x\r\n\r\n"
                "GET /stream?count=3&ms=20 HTTP/1.1\r\nHost: x\r\n\r\n"
                "GET /p/2 HTTP/1.1\r\nHost: x\r\n\r\n"
                "HEAD /p/3 HTTP/1.1\r\nHost: x\r\n\r\n"
                "GET /p/4 HTTP/1.1\r\nHost: x\r\n\r\n");
    expect(s, CORIO_HTTP_GET, 200, "p0");
    expect_resp(s, CORIO_HTTP_GET, 200, "line 0\nline 1\nline 2\n", &r);
    ASSERT_STREQ(hdr(&r, "Transfer-Encoding"), "chunked");
    resp_free(&r);
    expect(s, CORIO_HTTP_GET, 200, "p2");
    expect_resp(s, CORIO_HTTP_HEAD, 200, "", &r);
    ASSERT_STREQ(hdr(&r, "Content-Length"), "2");
    resp_free(&r);
    expect(s, CORIO_HTTP_GET, 200, "p4");
    corio_stream_close(s);
    stop(&e);
}

TEST(streamed_response_in_the_middle_of_a_pipeline)
{
    RUN(pipelined_stream);
}

/* A deep pipeline whose answers exceed the output buffer, written by another task so that
 * neither side's socket buffer can fill up against the other. */
struct writer {
    corio_stream *s;
    const char *buf;
    size_t len;
    int rc;
};

static int writer_task(void *arg)
{
    struct writer *w = arg;
    w->rc = corio_stream_write_all(w->s, w->buf, w->len);
    return 0;
}

static void pipelined_deep(void)
{
    enum { N = 2000 };
    struct env e;
    char *raw = malloc(N * 40);
    size_t n = 0;
    start(&e, NULL);
    for (int i = 0; i < N; i++)
        n += (size_t)sprintf(raw + n, "GET /p/%d HTTP/1.1\r\nHost: x\r\n\r\n", i);
    corio_stream *s = dial(&e);
    struct writer w = {s, raw, n, 1};
    corio_task *t;
    ASSERT_EQ(corio_spawn_task(NULL, writer_task, &w, &t), 0);
    for (int i = 0; i < N; i++) {
        char want[16];
        snprintf(want, sizeof want, "p%d", i);
        expect(s, CORIO_HTTP_GET, 200, want);
    }
    ASSERT_EQ(corio_task_join(t, NULL), 0);
    ASSERT_EQ(w.rc, 0);
    corio_stream_close(s);
    free(raw);
    stop(&e);
}

TEST(deep_pipeline_past_the_output_buffer)
{
    RUN(pipelined_deep);
}

/* ---- bodies --------------------------------------------------------------------------------- */

static void chunked_in(void)
{
    struct env e;
    start(&e, NULL);
    corio_stream *s = dial(&e);
    /* All at once, then piece by piece with pauses, then one byte at a time. */
    static const char head[] =
        "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
    static const char body[] = "5;name=\"v\"\r\nhello\r\n1\r\n,\r\n6\r\n world\r\n0\r\n"
                               "X-Sum: 1\r\nX-Other: two\r\n\r\n";
    send_str(s, head);
    send_str(s, body);
    expect(s, CORIO_HTTP_POST, 200, "hello, world");
    send_str(s, head);
    for (const char *p = body; *p;) {
        const char *nl = strstr(p, "\r\n");
        size_t k = nl ? (size_t)(nl + 2 - p) : strlen(p);
        ASSERT_EQ(corio_stream_write_all(s, p, k), 0);
        ASSERT_EQ(corio_sleep(2 * CORIO_MS), 0);
        p += k;
    }
    expect(s, CORIO_HTTP_POST, 200, "hello, world");
    send_str(s, head);
    for (const char *p = body; *p; p++) {
        ASSERT_EQ(corio_stream_write_all(s, p, 1), 0);
        if ((p - body) % 8 == 0)
            ASSERT_EQ(corio_yield(), 0);
    }
    expect(s, CORIO_HTTP_POST, 200, "hello, world");
    /* A big body with Content-Length, echoed. */
    enum { BIG = 600 * 1000 };
    char *big = malloc(BIG + 1);
    for (int i = 0; i < BIG; i++)
        big[i] = (char)('a' + i % 26);
    big[BIG] = 0;
    char h[128];
    snprintf(h, sizeof h, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", BIG);
    send_str(s, h);
    ASSERT_EQ(corio_stream_write_all(s, big, BIG), 0);
    expect(s, CORIO_HTTP_POST, 200, big);
    free(big);
    corio_stream_close(s);
    stop(&e);
}

TEST(chunked_request_bodies_with_trailers_are_echoed)
{
    RUN(chunked_in);
}

static void chunked_out(void)
{
    struct env e;
    struct resp r;
    start(&e, NULL);
    corio_stream *s = dial(&e);
    send_str(s, "GET /stream?count=5&ms=10 HTTP/1.1\r\nHost: x\r\n\r\n");
    expect_resp(s, CORIO_HTTP_GET, 200, "line 0\nline 1\nline 2\nline 3\nline 4\n", &r);
    ASSERT_STREQ(hdr(&r, "Transfer-Encoding"), "chunked");
    ASSERT_NULL(hdr(&r, "Content-Length"));
    ASSERT(r.keep_alive);
    resp_free(&r);
    /* The framing ended where it should: the connection carries on. */
    send_str(s, "GET /stream?count=0 HTTP/1.1\r\nHost: x\r\n\r\n");
    expect(s, CORIO_HTTP_GET, 200, "");
    send_str(s, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
    expect(s, CORIO_HTTP_GET, 200, "Hello, World!");
    corio_stream_close(s);
    stop(&e);
}

TEST(chunked_streaming_responses)
{
    RUN(chunked_out);
}

static void expect_continue(void)
{
    struct env e;
    struct resp r;
    start(&e, NULL);
    /* The handler reads the body: 100 Continue first, then the answer. */
    corio_stream *s = dial(&e);
    send_str(s, "POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                "Content-Length: 4\r\n\r\n");
    expect_resp(s, CORIO_HTTP_POST, 100, "", &r);
    ASSERT_EQ(r.nfields, 0);
    resp_free(&r);
    send_str(s, "data");
    expect(s, CORIO_HTTP_POST, 200, "data");
    /* The connection stays usable. */
    send_str(s, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
    expect(s, CORIO_HTTP_GET, 200, "Hello, World!");
    corio_stream_close(s);

    /* The handler answers without reading: no 100, Connection: close, and closed, whether or
     * not the client then sends the body anyway. */
    for (int send_body = 0; send_body < 2; send_body++) {
        s = dial(&e);
        send_str(s, "POST /ignore HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                    "Content-Length: 4\r\n\r\n");
        expect_resp(s, CORIO_HTTP_POST, 200, "ignored", &r);
        ASSERT_STREQ(hdr(&r, "Connection"), "close");
        resp_free(&r);
        if (send_body)
            send_str(s, "data");
        expect_closed(s);
        corio_stream_close(s);
    }
    stop(&e);
}

TEST(expect_100_continue_only_when_the_body_is_read)
{
    RUN(expect_continue);
}

static void client_leaves_mid_body(void)
{
    struct env e;
    start(&e, NULL);
    for (int chunked = 0; chunked < 2; chunked++) {
        corio_stream *s = dial(&e);
        send_str(s, chunked ? "POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked"
                              "\r\n\r\n100\r\nonly a little"
                            : "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 100000"
                              "\r\n\r\nonly a little");
        ASSERT_EQ(corio_sleep(20 * CORIO_MS), 0);
        corio_stream_close(s); /* gone */
        int rc = 0;
        ASSERT_EQ(corio_chan_get(e.body_rc, &rc), 0);
        ASSERT(rc == -ECONNRESET || rc == -EPIPE);
    }
    /* The server carries on. */
    one_shot(&e, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n", 200, "Hello, World!");
    one_shot(&e, "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc", 200, "stored");
    stop(&e);
}

TEST(client_disconnecting_mid_body_fails_only_its_request)
{
    RUN(client_leaves_mid_body);
}

/* ---- methods and errors ------------------------------------------------------------------------
 */

static void methods(void)
{
    struct env e;
    struct resp r;
    start(&e, NULL);
    corio_stream *s = dial(&e);
    /* HEAD and GET pipelined: HEAD's response has the length but no body bytes, or the GET's
     * response would not parse. */
    send_str(s, "HEAD /hello HTTP/1.1\r\nHost: x\r\n\r\nGET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
    expect_resp(s, CORIO_HTTP_HEAD, 200, "", &r);
    ASSERT_STREQ(hdr(&r, "Content-Length"), "13");
    ASSERT_STREQ(hdr(&r, "Content-Type"), "text/plain");
    resp_free(&r);
    expect(s, CORIO_HTTP_GET, 200, "Hello, World!");

    send_str(s, "OPTIONS /hello HTTP/1.1\r\nHost: x\r\n\r\n");
    expect_resp(s, CORIO_HTTP_OPTIONS, 204, "", &r);
    ASSERT_STREQ(hdr(&r, "Allow"), "GET, POST, HEAD, OPTIONS");
    resp_free(&r);

    send_str(s, "DELETE /hello HTTP/1.1\r\nHost: x\r\n\r\n");
    expect_resp(s, CORIO_HTTP_DELETE, 405,
                "{\"error\":\"Method Not Allowed\",\"detail\":\"GET, POST, HEAD, OPTIONS\"}", &r);
    ASSERT_STREQ(hdr(&r, "Allow"), "GET, POST, HEAD, OPTIONS");
    ASSERT_STREQ(hdr(&r, "Content-Type"), "application/json");
    ASSERT_NULL(hdr(&r, "Connection"));
    resp_free(&r);

    send_str(s, "GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n");
    expect_resp(s, CORIO_HTTP_GET, 404,
                "{\"error\":\"Not Found\",\"detail\":\"no route matches this path\"}", &r);
    ASSERT_STREQ(hdr(&r, "Content-Type"), "application/json");
    resp_free(&r);

    /* A failing handler: 500 with a JSON body, and the connection is kept. */
    send_str(s, "GET /fail HTTP/1.1\r\nHost: x\r\n\r\n");
    expect_resp(s, CORIO_HTTP_GET, 500, NULL, &r);
    char want[160];
    snprintf(want, sizeof want, "{\"error\":\"Internal Server Error\",\"detail\":\"%s\"}",
             corio_strerror(-EIO));
    ASSERT_STREQ(r.body, want);
    ASSERT_NULL(hdr(&r, "Connection"));
    resp_free(&r);
    send_str(s, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
    expect(s, CORIO_HTTP_GET, 200, "Hello, World!");
    corio_stream_close(s);
    stop(&e);
}

TEST(head_options_404_405_and_500)
{
    RUN(methods);
}

/* Sends raw on a new connection and expects status, Connection: close, a JSON error body,
 * and the connection closed. tail, if not NULL, is sent after the response arrived. */
static void expect_refused(struct env *e, const char *raw, size_t len, int status)
{
    struct resp r;
    corio_stream *s = dial(e);
    ASSERT_EQ(corio_stream_write_all(s, raw, len), 0);
    expect_resp(s, CORIO_HTTP_GET, status, NULL, &r);
    ASSERT_STREQ(hdr(&r, "Connection"), "close");
    ASSERT_STREQ(hdr(&r, "Content-Type"), "application/json");
    ASSERT(strncmp(r.body, "{\"error\":\"", 10) == 0);
    ASSERT(strstr(r.body, "\",\"detail\":") != NULL);
    resp_free(&r);
    expect_closed(s);
    corio_stream_close(s);
}

static void limits(void)
{
    struct env e;
    char *raw = malloc(64 * 1024);
    int n;
    start(&e, &(struct corio_http_server_opts){.limits.max_body = 1000});

#define REFUSED(str, status) expect_refused(&e, (str), strlen(str), (status))
    /* Bad syntax: 400. */
    REFUSED("GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n", 400);
    REFUSED("GET / HTTP/1.1\r\nHost: x\r\nX: a\rb\r\n\r\n", 400);
    REFUSED("GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n", 400);
    REFUSED("GET / HTTP/1.1\nHost: x\n\n", 400);
    REFUSED("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 400); /* a TLS hello */
    /* Framing that could smuggle: 400. */
    REFUSED("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
            "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            400);
    REFUSED("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc",
            400);
    REFUSED("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3, 3\r\n\r\nabc", 400);
    REFUSED("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", 400);
    /* A transfer coding we do not know: 501. A version we do not speak: 505. */
    REFUSED("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 501);
    REFUSED("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501);
    REFUSED("GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505);
    /* A body over max_body: 413, from the Content-Length before reading the body (which the
     * client is still sending), or while reading a chunked one. */
    n = snprintf(raw, 64 * 1024, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1001\r\n\r\n");
    memset(raw + n, 'b', 1001);
    expect_refused(&e, raw, (size_t)n + 1001, 413);
    n = snprintf(raw, 64 * 1024,
                 "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked"
                 "\r\n\r\n1f4\r\n");
    memset(raw + n, 'c', 500);
    n += 500;
    n += snprintf(raw + n, 64 * 1024 - (size_t)n, "\r\n1f5\r\n");
    memset(raw + n, 'd', 501);
    n += 501;
    n += snprintf(raw + n, 64 * 1024 - (size_t)n, "\r\n0\r\n\r\n");
    expect_refused(&e, raw, (size_t)n, 413);
    /* A malformed chunk size found while reading the body: 400. */
    REFUSED("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400);
    /* A target over 8 KiB: 414. */
    n = sprintf(raw, "GET /");
    memset(raw + n, 'a', 9000);
    n += 9000;
    n += sprintf(raw + n, " HTTP/1.1\r\nHost: x\r\n\r\n");
    expect_refused(&e, raw, (size_t)n, 414);
    /* More than 100 header fields: 431. */
    n = sprintf(raw, "GET / HTTP/1.1\r\nHost: x\r\n");
    for (int i = 0; i < 101; i++)
        n += sprintf(raw + n, "X-%d: v\r\n", i);
    n += sprintf(raw + n, "\r\n");
    expect_refused(&e, raw, (size_t)n, 431);
    /* A head over 16 KiB: 431. */
    n = sprintf(raw, "GET / HTTP/1.1\r\nHost: x\r\n");
    for (int i = 0; i < 20; i++) {
        n += sprintf(raw + n, "X-%d: ", i);
        memset(raw + n, 'v', 1000);
        n += 1000;
        n += sprintf(raw + n, "\r\n");
    }
    n += sprintf(raw + n, "\r\n");
    expect_refused(&e, raw, (size_t)n, 431);
#undef REFUSED
    /* And the server is fine. */
    one_shot(&e, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n", 200, "Hello, World!");
    free(raw);
    stop(&e);
}

TEST(every_limit_gives_its_status_and_closes)
{
    RUN(limits);
}

/* Sends the head of a request one byte every 100 ms, never finishing. */
static int trickle(void *arg)
{
    corio_stream *s = arg;
    static const char head[] = "GET /hello HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaa";
    for (size_t i = 0; i < sizeof head - 1; i++) {
        if (corio_stream_write_all(s, head + i, 1) < 0)
            return 0;
        if (corio_sleep(100 * CORIO_MS) < 0)
            return 0;
    }
    return 0;
}

static void slowloris(void)
{
    struct env e;
    struct resp r;
    start(&e, &(struct corio_http_server_opts){.timeouts.header_ns = 300 * CORIO_MS});
    corio_stream *s = dial(&e);
    corio_task *t;
    ASSERT_EQ(corio_spawn_task(NULL, trickle, s, &t), 0);
    expect_resp(s, CORIO_HTTP_GET, 408, NULL, &r);
    ASSERT_STREQ(hdr(&r, "Connection"), "close");
    ASSERT(strstr(r.body, "\"error\":\"Request Timeout\"") != NULL);
    resp_free(&r);
    expect_closed(s);
    corio_task_cancel(t);
    ASSERT_EQ(corio_task_join(t, NULL), 0);
    corio_stream_close(s);
    /* A connection that never sends a byte is closed after header_ns too, without an answer. */
    s = dial(&e);
    expect_closed(s);
    corio_stream_close(s);
    /* A request that arrives whole in time is served, and a pause between requests on a kept
     * connection is governed by the keep-alive timeout, not the header timeout. */
    s = dial(&e);
    send_str(s, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
    expect(s, CORIO_HTTP_GET, 200, "Hello, World!");
    ASSERT_EQ(corio_sleep(400 * CORIO_MS), 0);
    send_str(s, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
    expect(s, CORIO_HTTP_GET, 200, "Hello, World!");
    corio_stream_close(s);
    stop(&e);
}

TEST(slowloris_gets_408_and_is_cut_off)
{
    RUN(slowloris);
}

/* A client that asks for a big response and never reads it is cut off by the write timeout;
 * the server goes on serving others. */
static void not_reading(void)
{
    struct env e;
    start(&e, &(struct corio_http_server_opts){.timeouts.write_ns = 300 * CORIO_MS});
    corio_stream *s = dial(&e);
    send_str(s, "GET /big HTTP/1.1\r\nHost: x\r\n\r\n");
    while (corio_http_server_conns(e.srv) == 0)
        ASSERT_EQ(corio_sleep(5 * CORIO_MS), 0);
    one_shot(&e, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n", 200, "Hello, World!");
    while (corio_http_server_conns(e.srv) > 0)
        ASSERT_EQ(corio_sleep(10 * CORIO_MS), 0);
    corio_stream_close(s);
    stop(&e);
}

TEST(client_not_reading_is_cut_off_by_the_write_timeout)
{
    RUN(not_reading);
}

/* ---- files ------------------------------------------------------------------------------------
 */

static void files(void)
{
    enum { SIZE = 3 * 1000 * 1000 + 7 };
    struct env e;
    struct resp r;
    char etag[80], req[256];
    start(&e, NULL);
    snprintf(e.file, sizeof e.file, "/tmp/corio-http-file-XXXXXX");
    int fd = mkstemp(e.file);
    ASSERT_GE(fd, 0);
    char *data = malloc(SIZE + 1);
    for (int i = 0; i < SIZE; i++)
        data[i] = (char)('A' + (i * 7) % 26);
    data[SIZE] = 0;
    ASSERT_EQ(write(fd, data, SIZE), SIZE);
    close(fd);

    corio_stream *s = dial(&e);
    send_str(s, "GET /file HTTP/1.1\r\nHost: x\r\n\r\n");
    expect_resp(s, CORIO_HTTP_GET, 200, NULL, &r);
    ASSERT_EQ(r.body_len, SIZE);
    ASSERT_MEMEQ(r.body, data, SIZE);
    ASSERT_STREQ(hdr(&r, "Accept-Ranges"), "bytes");
    ASSERT_NOT_NULL(hdr(&r, "ETag"));
    snprintf(etag, sizeof etag, "%s", hdr(&r, "ETag"));
    resp_free(&r);

    snprintf(req, sizeof req, "GET /file HTTP/1.1\r\nHost: x\r\nIf-None-Match: %s\r\n\r\n", etag);
    send_str(s, req);
    expect_resp(s, CORIO_HTTP_GET, 304, "", &r);
    ASSERT_STREQ(hdr(&r, "ETag"), etag);
    resp_free(&r);

    send_str(s, "GET /file HTTP/1.1\r\nHost: x\r\nRange: bytes=1000-1009\r\n\r\n");
    expect_resp(s, CORIO_HTTP_GET, 206, NULL, &r);
    ASSERT_EQ(r.body_len, 10);
    ASSERT_MEMEQ(r.body, data + 1000, 10);
    snprintf(req, sizeof req, "bytes 1000-1009/%d", SIZE);
    ASSERT_STREQ(hdr(&r, "Content-Range"), req);
    resp_free(&r);

    send_str(s, "GET /file HTTP/1.1\r\nHost: x\r\nRange: bytes=-5\r\n\r\n");
    expect_resp(s, CORIO_HTTP_GET, 206, data + SIZE - 5, &r);
    resp_free(&r);

    send_str(s, "GET /file HTTP/1.1\r\nHost: x\r\nRange: bytes=99999999-\r\n\r\n");
    expect_resp(s, CORIO_HTTP_GET, 416, NULL, &r);
    snprintf(req, sizeof req, "bytes */%d", SIZE);
    ASSERT_STREQ(hdr(&r, "Content-Range"), req);
    resp_free(&r);

    /* HEAD: the length without the bytes; the connection is still in step afterwards. */
    send_str(s, "HEAD /file HTTP/1.1\r\nHost: x\r\n\r\nGET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
    expect_resp(s, CORIO_HTTP_HEAD, 200, "", &r);
    snprintf(req, sizeof req, "%d", SIZE);
    ASSERT_STREQ(hdr(&r, "Content-Length"), req);
    resp_free(&r);
    expect(s, CORIO_HTTP_GET, 200, "Hello, World!");
    corio_stream_close(s);
    free(data);
    stop(&e);
}

TEST(files_with_etag_304_and_ranges)
{
    RUN(files);
}

/* ---- drain ------------------------------------------------------------------------------------
 */

struct drain {
    struct env *e;
    int rc;
    bool done;
};

static int drain_task(void *arg)
{
    struct drain *d = arg;
    corio_deadline dl;
    corio_deadline_enter(&dl, corio_after(10 * CORIO_S));
    d->rc = corio_http_server_drain(d->e->srv);
    corio_deadline_leave(&dl);
    d->done = true;
    return 0;
}

static void drain(void)
{
    struct env e;
    struct resp r;
    int id;
    start(&e, NULL);
    /* idle: one request done, now waiting between requests. */
    corio_stream *idle = dial(&e);
    send_str(idle, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
    expect(idle, CORIO_HTTP_GET, 200, "Hello, World!");
    /* a and busy: a request in flight each. */
    corio_stream *a = dial(&e), *busy = dial(&e);
    send_str(a, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n");
    ASSERT_EQ(corio_chan_get(e.entered, &id), 0);
    send_str(busy, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n");
    ASSERT_EQ(corio_chan_get(e.entered, &id), 0);
    ASSERT_EQ(corio_http_server_conns(e.srv), 3);

    struct drain d = {&e, 1, false};
    corio_task *t;
    ASSERT_EQ(corio_spawn_task(NULL, drain_task, &d, &t), 0);
    /* The idle connection is closed at once, while both requests are still held. */
    expect_closed(idle);
    ASSERT(!corio_event_is_set(e.gate));
    /* A request arriving on the busy connection during the drain. */
    send_str(busy, "GET /p/9 HTTP/1.1\r\nHost: x\r\n\r\n");
    /* New connections are not accepted any more (they wait in the kernel's queue). */
    corio_stream *late = dial(&e);
    send_str(late, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
    ASSERT(!d.done);
    corio_event_set(e.gate); /* the requests in flight complete */

    /* a: nothing behind its request, so its answer is its last. */
    expect_resp(a, CORIO_HTTP_GET, 200, "slow", &r);
    ASSERT_STREQ(hdr(&r, "Connection"), "close");
    resp_free(&r);
    expect_closed(a);
    /* busy: its answer keeps the connection for the request that came in behind it, which is
     * answered with Connection: close. */
    expect_resp(busy, CORIO_HTTP_GET, 200, "slow", &r);
    ASSERT_NULL(hdr(&r, "Connection"));
    resp_free(&r);
    expect_resp(busy, CORIO_HTTP_GET, 200, "p9", &r);
    ASSERT_STREQ(hdr(&r, "Connection"), "close");
    resp_free(&r);
    expect_closed(busy);

    ASSERT_EQ(corio_task_join(t, NULL), 0);
    ASSERT(d.done);
    ASSERT_EQ(d.rc, 0);
    ASSERT_EQ(corio_http_server_conns(e.srv), 0);
    ASSERT_EQ(corio_task_join(e.task, NULL), 0); /* the server returned by itself */
    e.task = NULL;
    ASSERT(e.run_done);
    ASSERT_EQ(e.run_rc, 0);
    corio_stream_close(idle);
    corio_stream_close(a);
    corio_stream_close(busy);
    corio_stream_close(late);
    stop(&e);
}

TEST(graceful_drain_finishes_requests_in_flight)
{
    RUN(drain);
}

static void drain_empty(void)
{
    struct env e;
    start(&e, NULL);
    ASSERT_EQ(corio_yield(), 0); /* let the server start */
    struct drain d = {&e, 1, false};
    drain_task(&d);
    ASSERT_EQ(d.rc, 0);
    ASSERT_EQ(corio_task_join(e.task, NULL), 0);
    e.task = NULL;
    ASSERT_EQ(e.run_rc, 0);
    stop(&e);
}

TEST(drain_without_connections_returns_at_once)
{
    RUN(drain_empty);
}

/* ---- request accessors ------------------------------------------------------------------------
 */

static void accessors(void)
{
    struct env e;
    start(&e, NULL);
    corio_stream *s = dial(&e);
    send_str(s, "GET /inspect/J%C3%B6rg%20K?q=a+b%20c&s=%2B%26 HTTP/1.1\r\nHost: x\r\n"
                "X-Custom-HEADER:  some value \r\n\r\n");
    expect(s, CORIO_HTTP_GET, 200, "name=J\xc3\xb6rg K q=a b c s=+& h=some value");
    const char *body = "a=1+2&b=%C3%A9t%C3%A9";
    char req[256];
    snprintf(req, sizeof req,
             "POST /form HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded"
             "\r\nContent-Length: %zu\r\n\r\n%s",
             strlen(body), body);
    send_str(s, req);
    expect(s, CORIO_HTTP_POST, 200, "a=1 2 b=\xc3\xa9t\xc3\xa9");
    corio_stream_close(s);
    stop(&e);
}

TEST(request_headers_query_path_params_and_forms)
{
    RUN(accessors);
}

/* ---- protocol upgrade ----------------------------------------------------------------------- */

static void expect_line(corio_stream *s, const char *want)
{
    char *line;
    ssize_t n = corio_stream_read_until(s, "\n", 1, 1024, &line);
    ASSERT_EQ(n, (ssize_t)strlen(want));
    ASSERT(memcmp(line, want, (size_t)n) == 0);
}

static void upgrades(void)
{
    struct env e;
    struct resp r;
    int rc;
    start(&e, NULL);
    /* A request, the upgrade and the first line of the new protocol in one write: the line
     * must stay buffered for the new protocol. */
    corio_stream *s = dial(&e);
    send_str(s, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"
                "GET /up HTTP/1.1\r\nHost: x\r\nUpgrade: lines\r\nConnection: Upgrade\r\n\r\n"
                "first\n");
    expect(s, CORIO_HTTP_GET, 200, "Hello, World!");
    ASSERT_EQ(read_resp(s, CORIO_HTTP_GET, &r), 0);
    ASSERT_EQ(r.status, 101);
    ASSERT_STREQ(hdr(&r, "Upgrade"), "lines");
    ASSERT_STREQ(hdr(&r, "Connection"), "Upgrade");
    ASSERT_NULL(hdr(&r, "Content-Length"));
    ASSERT_NULL(hdr(&r, "Transfer-Encoding"));
    resp_free(&r);
    ASSERT_EQ(corio_chan_get(e.body_rc, &rc), 0);
    ASSERT_EQ(rc, 0);
    expect_line(s, "first\n");
    send_str(s, "GET / HTTP/1.1\r\n"); /* not HTTP any more: echoed as a line */
    expect_line(s, "GET / HTTP/1.1\r\n");
    send_str(
        s, "XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX\n");
    expect_line(
        s, "XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX\n");

    /* HTTP/1.0 cannot switch protocols: the handler's error becomes a 500. */
    corio_stream *old = dial(&e);
    send_str(old, "GET /up HTTP/1.0\r\nUpgrade: lines\r\n\r\n");
    expect(old, CORIO_HTTP_GET, 500, NULL);
    ASSERT_EQ(corio_chan_get(e.body_rc, &rc), 0);
    ASSERT_EQ(rc, -EINVAL);

    /* A drain ends the new protocol's input; the handler says goodbye and the server ends. */
    struct drain d = {&e, 1, false};
    corio_task *t;
    ASSERT_EQ(corio_spawn_task(NULL, drain_task, &d, &t), 0);
    expect_line(s, "bye\n");
    expect_closed(s);
    ASSERT_EQ(corio_task_join(t, NULL), 0);
    ASSERT_EQ(d.rc, 0);
    ASSERT_EQ(corio_task_join(e.task, NULL), 0);
    e.task = NULL;
    corio_stream_close(s);
    corio_stream_close(old);
    stop(&e);
}

TEST(upgrade_hands_over_the_stream_and_drain_ends_it)
{
    RUN(upgrades);
}

static void upgrade_in_test_client(void)
{
    struct env e;
    struct corio_http_test_resp r;
    int rc;
    start(&e, NULL);
    ASSERT_EQ(corio_http_test_get(e.app, "/up", &r), 0);
    ASSERT_EQ(r.status, 500);
    corio_http_test_resp_free(&r);
    ASSERT_EQ(corio_chan_get(e.body_rc, &rc), 0);
    ASSERT_EQ(rc, -ENOTSUP);
    stop(&e);
}

TEST(upgrade_is_refused_by_the_test_client)
{
    RUN(upgrade_in_test_client);
}
