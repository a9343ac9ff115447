/* SPDX-License-Identifier: MIT */
/* Server-Sent Events (corio/http_sse.h): the response head, event framing (type, id, data
 * split at every kind of line end, empty data, a trailing line end kept), the retry field,
 * refused field values, heartbeats while sleeping (virtual time, through the in-process test
 * client), Last-Event-ID, HEAD, and over a real socket: a graceful drain ends a sleeping
 * stream with -ESHUTDOWN and a client that left is noticed at the next heartbeat.
 */
#include "test.h"

#include "corio/core.h"
#include "corio/http.h"
#include "corio/http_sse.h"
#include "corio/net.h"

#include <errno.h>
#include <string.h>

static const struct corio_run_opts VT = {.virtual_time = true, .watchdog_ns = -1};

#define RUN(fn) ASSERT_EQ(corio_run(&VT, (fn), NULL), 0)

static int framing(corio_http_req *req, corio_http_resp *resp, void *ctx)
{
    corio_http_sse s;
    (void)ctx;
    ASSERT_EQ(corio_http_sse_begin(&s, req, resp, &(struct corio_http_sse_opts){.retry_ms = 2500}),
              0);
    ASSERT_EQ(corio_http_sse_send(&s, NULL, NULL, "plain"), 0);
    ASSERT_EQ(corio_http_sse_send(&s, "update", "7", "a\nb\r\nc\rd"), 0);
    ASSERT_EQ(corio_http_sse_send(&s, "", "", NULL), 0);
    ASSERT_EQ(corio_http_sse_send(&s, NULL, NULL, "ends with a line end\n"), 0);
    ASSERT_EQ(corio_http_sse_comment(&s, "note"), 0);
    ASSERT_EQ(corio_http_sse_send(&s, "bad\ntype", NULL, "x"), -EINVAL);
    ASSERT_EQ(corio_http_sse_send(&s, NULL, "bad\rid", "x"), -EINVAL);
    ASSERT_EQ(corio_http_sse_comment(&s, "two\nlines"), -EINVAL);
    ASSERT_EQ(corio_http_sse_begin(&s, req, resp, NULL), -EALREADY);
    return 0;
}

static void t_framing(void)
{
    corio_http_app *app;
    struct corio_http_test_resp r;
    ASSERT_EQ(corio_http_app_new(&app), 0);
    ASSERT_EQ(corio_http_app_route(app, "GET", "/events", framing, NULL), 0);
    ASSERT_EQ(corio_http_test_get(app, "/events", &r), 0);
    ASSERT_EQ(r.status, 200);
    ASSERT_STREQ(corio_http_test_header(&r, "Content-Type"), "text/event-stream");
    ASSERT_STREQ(corio_http_test_header(&r, "Cache-Control"), "no-cache");
    ASSERT_STREQ(corio_http_test_header(&r, "X-Accel-Buffering"), "no");
    ASSERT_STREQ(corio_http_test_header(&r, "Transfer-Encoding"), "chunked");
    ASSERT_STREQ(r.body, "retry: 2500\n\n"
                         "data: plain\n\n"
                         "event: update\nid: 7\ndata: a\ndata: b\ndata: c\ndata: d\n\n"
                         "id: \ndata: \n\n"
                         "data: ends with a line end\ndata: \n\n"
                         ": note\n\n");
    corio_http_test_resp_free(&r);
    /* HEAD: the head only, and sending succeeds without bytes. */
    ASSERT_EQ(corio_http_test_send(app, "HEAD", "/events", NULL, NULL, 0, &r), 0);
    ASSERT_EQ(r.status, 200);
    ASSERT_EQ(r.body_len, 0u);
    corio_http_test_resp_free(&r);
    corio_http_app_free(app);
}

static int framing_main(void *arg)
{
    (void)arg;
    t_framing();
    return 0;
}

TEST(events_are_framed_per_the_event_stream_format)
{
    RUN(framing_main);
}

/* Two events 10 s apart with a 3 s heartbeat; echoes Last-Event-ID as the first event's id. */
static int beats(corio_http_req *req, corio_http_resp *resp, void *ctx)
{
    corio_http_sse s;
    corio_str last;
    char id[32] = "none";
    (void)ctx;
    if (corio_http_sse_last_event_id(req, &last))
        snprintf(id, sizeof id, "%.*s", (int)last.len, last.ptr);
    ASSERT_EQ(corio_http_sse_begin(&s, req, resp,
                                   &(struct corio_http_sse_opts){.heartbeat_ns = 3 * CORIO_S}),
              0);
    ASSERT_EQ(corio_http_sse_send(&s, NULL, id, "first"), 0);
    ASSERT_EQ(corio_http_sse_sleep(&s, 10 * CORIO_S), 0);
    ASSERT_EQ(corio_http_sse_send(&s, NULL, NULL, "second"), 0);
    return 0;
}

static int beats_main(void *arg)
{
    (void)arg;
    corio_http_app *app;
    struct corio_http_test_resp r;
    ASSERT_EQ(corio_http_app_new(&app), 0);
    ASSERT_EQ(corio_http_app_route(app, "GET", "/beats", beats, NULL), 0);
    int64_t t0 = corio_now();
    ASSERT_EQ(corio_http_test_send(app, "GET", "/beats", "Last-Event-ID: 41\r\n", NULL, 0, &r), 0);
    ASSERT_EQ(corio_now() - t0, 10 * CORIO_S);
    /* Quiet for 3 s three times within the 10 s sleep. */
    ASSERT_STREQ(r.body, "id: 41\ndata: first\n\n"
                         ": heartbeat\n\n: heartbeat\n\n: heartbeat\n\n"
                         "data: second\n\n");
    corio_http_test_resp_free(&r);
    corio_http_app_free(app);
    return 0;
}

TEST(sleeping_streams_send_heartbeats_and_see_last_event_id)
{
    RUN(beats_main);
}

/* ---- over a socket: drain and a departed client -------------------------------------------- */

struct live {
    corio_http_server *srv;
    int rc; /* what corio_http_sse_sleep returned */
    bool done;
};

static int forever(corio_http_req *req, corio_http_resp *resp, void *ctx)
{
    struct live *l = ctx;
    corio_http_sse s;
    int rc = corio_http_sse_begin(&s, req, resp,
                                  &(struct corio_http_sse_opts){.heartbeat_ns = 50 * CORIO_MS});
    if (rc == 0)
        rc = corio_http_sse_send(&s, NULL, NULL, "hello");
    while (rc == 0)
        rc = corio_http_sse_sleep(&s, 60 * CORIO_S);
    l->rc = rc;
    l->done = true;
    return rc == -ESHUTDOWN ? 0 : rc;
}

static int serve(void *arg)
{
    struct live *l = arg;
    return corio_http_server_run(l->srv);
}

static void live_case(bool drain)
{
    corio_http_app *app;
    corio_listener *lst;
    struct live l = {0};
    corio_task *st;
    ASSERT_EQ(corio_http_app_new(&app), 0);
    ASSERT_EQ(corio_http_app_route(app, "GET", "/live", forever, &l), 0);
    ASSERT_EQ(corio_tcp_listen("127.0.0.1", 0, NULL, &lst), 0);
    ASSERT_EQ(corio_http_server_new(app, lst, NULL, &l.srv), 0);
    ASSERT_EQ(corio_spawn_task(NULL, serve, &l, &st), 0);
    int fd = corio_tcp_connect("127.0.0.1", corio_listener_port(lst), NULL);
    ASSERT_GE(fd, 0);
    corio_stream *c;
    ASSERT_EQ(corio_stream_open(fd, NULL, &c), 0);
    const char req[] = "GET /live HTTP/1.1\r\nHost: x\r\n\r\n";
    ASSERT_EQ(corio_stream_write_all(c, req, sizeof req - 1), 0);
    char *line;
    for (;;) { /* through the head to the first event */
        ssize_t n = corio_stream_read_until(c, "data: hello\n", 12, 65536, &line);
        ASSERT_GT(n, 0);
        break;
    }
    if (drain) {
        ASSERT_EQ(corio_http_server_drain(l.srv), 0); /* returns once the stream ended */
        ASSERT(l.done);
        ASSERT_EQ(l.rc, -ESHUTDOWN);
        corio_stream_close(c);
    } else {
        corio_stream_close(c); /* the client leaves; the next heartbeat fails */
        while (!l.done)
            ASSERT_EQ(corio_sleep(10 * CORIO_MS), 0);
        ASSERT(l.rc == -EPIPE || l.rc == -ECONNRESET);
        corio_task_cancel(st);
    }
    ASSERT_EQ(corio_task_join(st, NULL), 0);
    corio_http_server_free(l.srv);
    corio_listener_close(lst);
    corio_http_app_free(app);
}

static int drain_main(void *arg)
{
    (void)arg;
    corio_deadline d;
    corio_deadline_enter(&d, corio_after(20 * CORIO_S));
    live_case(true);
    live_case(false);
    ASSERT(!corio_deadline_leave(&d));
    return 0;
}

TEST(a_drain_ends_a_stream_and_a_departed_client_is_noticed)
{
    ASSERT_EQ(corio_run(&(struct corio_run_opts){.watchdog_ns = -1}, drain_main, NULL), 0);
}
