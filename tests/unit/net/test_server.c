/* SPDX-License-Identifier: MIT */
/* Servers over real sockets: the connection limit (the server stops accepting at max_conns and
 * resumes when a connection ends, observed through the handlers it starts), stop with drain,
 * the drain timeout, cancellation as the hard stop, handler failures that stay with their
 * connection, bursts of clients, and corio_serve on a Unix socket.
 */
#include "net_test.h"

#include "corio/sync.h"

#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

enum { MODE_ECHO, MODE_WORK, MODE_FAIL_FIRST };

struct env {
    corio_listener *l;
    corio_server *srv;
    corio_chan *accepted; /* ids of started handlers, in order */
    int mode;
    int next_id;
    int handler_rc[256];
    int run_rc;
    bool run_done;
};

/* Echoes lines until the client ends the stream. */
static int echo_lines(corio_stream *s)
{
    char *line;
    ssize_t n;
    while ((n = corio_stream_read_until(s, "\n", 1, 1024, &line)) > 0) {
        int rc = corio_stream_write_all(s, line, (size_t)n);
        if (rc < 0)
            return rc;
    }
    return (int)n;
}

/* MODE_WORK: each "work\n" takes a second to answer "done\n"; stops after an answer once the
 * server drains (what an HTTP server does with keep-alive during shutdown). */
static int work_lines(struct env *e, corio_stream *s)
{
    char *line;
    ssize_t n;
    while ((n = corio_stream_read_until(s, "\n", 1, 1024, &line)) > 0) {
        int rc = corio_sleep(CORIO_S);
        if (rc == 0)
            rc = corio_stream_write_all(s, "done\n", 5);
        if (rc < 0 || corio_server_draining(e->srv))
            return rc;
    }
    return (int)n;
}

static int handler(void *ctx, corio_stream *s, const corio_addr *peer)
{
    struct env *e = ctx;
    int id = e->next_id++;
    ASSERT(peer->len > 0);
    ASSERT_EQ(corio_chan_try_put(e->accepted, &id), 0);
    int rc;
    if (e->mode == MODE_FAIL_FIRST && id == 0)
        rc = -EPROTO;
    else if (e->mode == MODE_WORK)
        rc = work_lines(e, s);
    else
        rc = echo_lines(s);
    e->handler_rc[id] = rc;
    return rc;
}

static int runner(void *arg)
{
    struct env *e = arg;
    e->run_rc = corio_server_run(e->srv);
    e->run_done = true;
    return 0;
}

/* Listener on 127.0.0.1, server, and its runner task. */
static corio_task *start(struct env *e, int mode, const struct corio_server_opts *extra)
{
    struct corio_server_opts o = extra ? *extra : (struct corio_server_opts){0};
    o.handler = handler;
    o.ctx = e;
    e->mode = mode;
    ASSERT_EQ(corio_chan_new(sizeof(int), 256, &e->accepted), 0);
    ASSERT_EQ(corio_tcp_listen("127.0.0.1", 0, NULL, &e->l), 0);
    ASSERT_EQ(corio_server_new(e->l, &o, &e->srv), 0);
    corio_task *t;
    ASSERT_EQ(corio_spawn_task(NULL, runner, e, &t), 0);
    return t;
}

static void finish(struct env *e, corio_task *t)
{
    ASSERT_EQ(corio_task_join(t, NULL), 0);
    ASSERT(e->run_done);
    corio_server_free(e->srv);
    corio_listener_close(e->l);
    corio_chan_free(e->accepted);
}

/* The id of the next handler to start. No deadline: under virtual time a timer could jump
 * the clock past a kernel event still on its way; the harness's timeout catches a hang. */
static int next_accepted(struct env *e)
{
    int id = -1;
    ASSERT_EQ(corio_chan_get(e->accepted, &id), 0);
    return id;
}

static int client(struct env *e)
{
    int fd = corio_tcp_connect("127.0.0.1", corio_listener_port(e->l), NULL);
    ASSERT_GE(fd, 0);
    return fd;
}

/* Sends msg on the raw client fd and expects want back. */
static void roundtrip(int fd, const char *msg, const char *want)
{
    char buf[64];
    size_t n = strlen(want), got = 0;
    ASSERT_EQ(write(fd, msg, strlen(msg)), (ssize_t)strlen(msg));
    while (got < n) {
        ssize_t r = read(fd, buf + got, n - got);
        if (r < 0 && errno == EAGAIN) {
            ASSERT_EQ(corio_fd_wait(fd, CORIO_READ), 0);
            continue;
        }
        ASSERT_GT(r, 0);
        got += (size_t)r;
    }
    ASSERT_MEMEQ(buf, want, n);
}

/* ---- the connection limit ---------------------------------------------------------------- */

static int t_limit(void *arg)
{
    struct env e = {0};
    const struct corio_server_opts o = {.max_conns = 2};
    corio_task *t = start(&e, MODE_ECHO, &o);
    int c[3];
    for (int i = 0; i < 3; i++)
        c[i] = client(&e); /* all three complete the handshake in the kernel's queue */
    ASSERT_EQ(next_accepted(&e), 0);
    ASSERT_EQ(next_accepted(&e), 1);
    ASSERT_EQ(corio_sleep(200 * CORIO_MS), 0);
    int id;
    ASSERT_EQ(corio_chan_try_get(e.accepted, &id), -EAGAIN); /* the third waits */
    struct corio_server_stats st;
    corio_server_stats(e.srv, &st);
    ASSERT_EQ(st.accepted, 2);
    ASSERT_EQ(st.open, 2);
    ASSERT_GE(st.full_waits, 1);
    ASSERT(st.running);
    ASSERT_EQ(corio_server_conns(e.srv), 2);
    roundtrip(c[1], "one\n", "one\n");
    corio_close(c[0]); /* a slot frees: the third is accepted now */
    ASSERT_EQ(next_accepted(&e), 2);
    roundtrip(c[2], "three\n", "three\n");
    corio_server_stats(e.srv, &st);
    ASSERT_EQ(st.accepted, 3);
    ASSERT_EQ(st.open, 2);
    corio_server_stop(e.srv);
    corio_close(c[1]);
    corio_close(c[2]);
    finish(&e, t);
    ASSERT_EQ(e.run_rc, 0);
    ASSERT_EQ(e.handler_rc[0], 0);
    return 0;
}
TEST(server_stops_accepting_at_max_conns_until_a_slot_frees)
{
    RUN_RT(t_limit, NULL);
}

/* ---- stopping ---------------------------------------------------------------------------- */

static int t_drain(void *arg)
{
    struct env e = {0};
    corio_task *t = start(&e, MODE_WORK, NULL);
    int c = client(&e);
    corio_stream *s;
    char buf[8];
    ASSERT_EQ(corio_stream_open(c, NULL, &s), 0);
    ASSERT_EQ(corio_stream_write_all(s, "work\n", 5), 0);
    ASSERT_EQ(next_accepted(&e), 0);
    ASSERT_EQ(corio_sleep(10 * CORIO_MS), 0); /* the request is in flight */
    corio_server_stop(e.srv);
    ASSERT(corio_server_draining(e.srv));
    int late = client(&e);                            /* queued by the kernel, never accepted */
    ASSERT_EQ(corio_stream_read_exact(s, buf, 5), 5); /* the in-flight request completes */
    ASSERT_MEMEQ(buf, "done\n", 5);
    ASSERT_EQ(corio_stream_read_some(s, buf, sizeof buf), 0); /* then the server closes */
    finish(&e, t);
    ASSERT_EQ(e.run_rc, 0);
    ASSERT_EQ(e.handler_rc[0], 0);
    ASSERT_EQ(e.next_id, 1); /* the late client was not accepted */
    corio_stream_close(s);
    corio_close(late);
    return 0;
}
TEST(server_stop_stops_accepting_and_lets_requests_finish)
{
    RUN_VT(t_drain, NULL);
}

static int t_drain_timeout(void *arg)
{
    struct env e = {0};
    const struct corio_server_opts o = {.drain_timeout_ns = 100 * CORIO_MS};
    corio_task *t = start(&e, MODE_ECHO, &o);
    int c = client(&e); /* connects and stays silent */
    ASSERT_EQ(next_accepted(&e), 0);
    int64_t stopped = corio_now();
    corio_server_stop(e.srv);
    ASSERT_EQ(corio_task_join(t, NULL), 0);
    ASSERT_GE(corio_now() - stopped, 100 * CORIO_MS);
    ASSERT_EQ(e.run_rc, 0);
    ASSERT_EQ(e.handler_rc[0], -ECANCELED); /* its read was cancelled at the drain deadline */
    corio_server_free(e.srv);
    corio_listener_close(e.l);
    corio_chan_free(e.accepted);
    corio_close(c);
    return 0;
}
TEST(server_drain_timeout_cancels_the_rest)
{
    RUN_VT(t_drain_timeout, NULL);
}

static int t_hard_stop(void *arg)
{
    struct env e = {0};
    corio_task *t = start(&e, MODE_ECHO, NULL);
    int c = client(&e);
    ASSERT_EQ(next_accepted(&e), 0);
    corio_task_cancel(t); /* cancelling the task that runs the server */
    ASSERT_EQ(corio_task_join(t, NULL), 0);
    ASSERT_EQ(e.run_rc, -ECANCELED);
    ASSERT_EQ(e.handler_rc[0], -ECANCELED);
    ASSERT_EQ(corio_server_conns(e.srv), 0);
    corio_server_free(e.srv);
    corio_listener_close(e.l);
    corio_chan_free(e.accepted);
    corio_close(c);
    return 0;
}
TEST(server_cancel_is_a_hard_stop)
{
    RUN_VT(t_hard_stop, NULL);
}

static int t_stop_first(void *arg)
{
    struct env e = {0};
    ASSERT_EQ(corio_chan_new(sizeof(int), 4, &e.accepted), 0);
    ASSERT_EQ(corio_tcp_listen("127.0.0.1", 0, NULL, &e.l), 0);
    const struct corio_server_opts o = {.handler = handler, .ctx = &e};
    ASSERT_EQ(corio_server_new(e.l, &o, &e.srv), 0);
    corio_server_stop(e.srv);
    ASSERT_EQ(corio_server_run(e.srv), 0);
    corio_server_free(e.srv);
    const struct corio_server_opts none = {0};
    ASSERT_EQ(corio_server_new(e.l, &none, &e.srv), -EINVAL);
    corio_listener_close(e.l);
    corio_chan_free(e.accepted);
    return 0;
}
TEST(server_stopped_before_run_returns_at_once)
{
    RUN_VT(t_stop_first, NULL);
}

/* ---- failures and bursts ------------------------------------------------------------------ */

static int t_fail(void *arg)
{
    struct env e = {0};
    corio_task *t = start(&e, MODE_FAIL_FIRST, NULL);
    int c0 = client(&e);
    ASSERT_EQ(next_accepted(&e), 0);
    int c1 = client(&e);
    ASSERT_EQ(next_accepted(&e), 1);
    char buf[4];
    ssize_t r;
    while ((r = read(c0, buf, sizeof buf)) < 0 && errno == EAGAIN)
        ASSERT_EQ(corio_fd_wait(c0, CORIO_READ), 0);
    ASSERT_EQ(r, 0);               /* closed by the server after -EPROTO */
    roundtrip(c1, "ok\n", "ok\n"); /* the sibling is unaffected */
    struct corio_server_stats st;
    corio_server_stats(e.srv, &st);
    ASSERT_EQ(st.failed, 1);
    ASSERT_EQ(e.handler_rc[0], -EPROTO);
    corio_server_stop(e.srv);
    corio_close(c1);
    finish(&e, t);
    ASSERT_EQ(e.run_rc, 0);
    corio_close(c0);
    return 0;
}
TEST(server_handler_failure_stays_with_its_connection)
{
    RUN_RT(t_fail, NULL);
}

enum { BURST = 150 };

static int t_burst(void *arg)
{
    struct env e = {0};
    corio_task *t = start(&e, MODE_ECHO, NULL);
    int c[BURST];
    for (int i = 0; i < BURST; i++)
        c[i] = client(&e);
    for (int i = 0; i < BURST; i++)
        ASSERT_EQ(next_accepted(&e), i);
    for (int i = 0; i < BURST; i += 7) {
        char msg[16];
        snprintf(msg, sizeof msg, "m%d\n", i);
        roundtrip(c[i], msg, msg);
    }
    corio_server_stop(e.srv);
    for (int i = 0; i < BURST; i++)
        corio_close(c[i]);
    finish(&e, t);
    ASSERT_EQ(e.run_rc, 0);
    return 0;
}
TEST(server_accepts_a_burst_of_clients)
{
    RUN_RT(t_burst, NULL);
}

/* corio_serve on a Unix socket, ended by cancelling its task. */
struct unix_env {
    struct env e;
    corio_listener *l;
    int rc;
};

static int serve_task(void *arg)
{
    struct unix_env *u = arg;
    const struct corio_server_opts o = {.handler = handler, .ctx = &u->e};
    u->rc = corio_serve(u->l, &o);
    return 0;
}

static int t_serve_unix(void *arg)
{
    struct unix_env u = {0};
    char dir[] = "/tmp/corio-net-XXXXXX", path[64];
    ASSERT_NOT_NULL(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/srv.sock", dir);
    ASSERT_EQ(corio_chan_new(sizeof(int), 8, &u.e.accepted), 0);
    ASSERT_EQ(corio_unix_listen(path, NULL, &u.l), 0);
    corio_task *t;
    ASSERT_EQ(corio_spawn_task(NULL, serve_task, &u, &t), 0);
    int c = corio_unix_connect(path);
    ASSERT_GE(c, 0);
    roundtrip(c, "unix\n", "unix\n");
    corio_task_cancel(t);
    ASSERT_EQ(corio_task_join(t, NULL), 0);
    ASSERT_EQ(u.rc, -ECANCELED);
    corio_close(c);
    corio_listener_close(u.l);
    corio_chan_free(u.e.accepted);
    ASSERT_EQ(rmdir(dir), 0); /* the socket file is gone */
    return 0;
}
TEST(serve_on_a_unix_socket_until_cancelled)
{
    RUN_VT(t_serve_unix, NULL);
}
