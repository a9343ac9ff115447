/* SPDX-License-Identifier: MIT */
/* Servers: the accept loop with a connection limit, a task per connection, stop and drain.
 *
 * Shape of a running server. corio_server_run (in the caller's task R) opens a group G owned by
 * R, spawns the acceptor task A into G and joins it. A loops: take a slot from the semaphore
 * (max_conns permits), accept, spawn a connection task C into G that owns the slot until its
 * handler returns. With every slot taken, A parks on the semaphore and accepts nothing: new
 * clients wait in the kernel's queue, and no connection is ever accepted only to be dropped.
 *
 * Stopping. corio_server_stop cancels A (A is a separate task precisely so that another task
 * can interrupt its accept or semaphore wait without touching R). R's join then returns, and R
 * waits for G under a deadline of drain_timeout; at the deadline, corio_group_wait cancels
 * what is left. Cancelling R instead cancels G at once (core semantics: a cancelled owner
 * cancels its groups), which is the hard stop.
 *
 * Connection tasks always return 0: a handler's failure concerns its own connection only and
 * must not cancel its siblings through the group. A slot is released and the count dropped
 * by the connection task itself, after the stream is closed, so the limit counts fds.
 *
 * Invariant: open == number of connection tasks that have not released their slot ==
 *   max_conns - free permits - (1 if A holds a permit it has not handed to a connection).
 * Deliberately not here: per-IP limits, TLS handshakes, protocol knowledge (idle detection
 * during drain belongs to the protocol layer, which can read corio_server_draining).
 */
#include "net_int.h"

#include "corio/sync.h"

#include <errno.h>
#include <stdatomic.h>
#include <string.h>

enum { DEFAULT_MAX_CONNS = 10000, ACCEPT_BURST = 64 };

#define DEFAULT_DRAIN (30 * CORIO_S)
#define SPAWN_BACKOFF (10 * CORIO_MS)

struct corio_server {
    corio_listener *l;          /* borrowed */
    struct corio_server_opts o; /* copy; o.max_conns and o.drain_timeout_ns resolved */
    corio_sem *slots;           /* max_conns permits */
    corio_group *conns;         /* G, while running */
    corio_task *acceptor;       /* A's handle, while A may be running */
    int acc_rc;                 /* why A ended */
    _Atomic size_t open;        /* written by the loop only; read by scrapes on any thread */
    uint64_t accepted, failed, full_waits, spawn_errors;
    bool ran, running, stopping;
};

struct conn {
    corio_server *srv;
    int fd; /* owned until the stream takes it */
    corio_addr peer;
};

/* ---- connection tasks ------------------------------------------------------------------- */

static void conn_result(corio_server *srv, const struct conn *c, int rc)
{
    if (rc >= 0 || rc == -ECANCELED)
        return;
    srv->failed++;
    char who[CORIO_ADDR_STRLEN];
    corio_addr_format(&c->peer, who, sizeof who);
    corio_log(CORIO_LOG_DEBUG, "net", "connection from %s ended: %s", who, corio_strerror(rc));
}

static int conn_main(void *arg)
{
    struct conn *c = arg;
    corio_server *srv = c->srv;
    corio_stream *s;
    int rc = corio__stream_new(c->fd, &srv->o.stream, true, &s);
    if (rc < 0) {
        corio_close(c->fd);
    } else {
        rc = srv->o.handler(srv->o.ctx, s, &c->peer);
        corio_stream_close(s);
    }
    conn_result(srv, c, rc);
    atomic_store_explicit(&srv->open, atomic_load_explicit(&srv->open, memory_order_relaxed) - 1,
                          memory_order_relaxed);
    corio_sem_release(srv->slots);
    free(c);
    return 0;
}

/* Hands fd and the slot A holds to a new connection task. On failure both are given back. */
static int start_conn(corio_server *srv, int fd, const corio_addr *peer)
{
    struct conn *c = malloc(sizeof(*c));
    int rc = -ENOMEM;
    srv->accepted++;
    if (c) {
        *c = (struct conn){.srv = srv, .fd = fd, .peer = *peer};
        const struct corio_spawn_opts so = {
            .name = srv->o.conn_name ? srv->o.conn_name : "conn",
            .stack_size = srv->o.conn_stack_size,
        };
        atomic_store_explicit(&srv->open,
                              atomic_load_explicit(&srv->open, memory_order_relaxed) + 1,
                              memory_order_relaxed);
        rc = corio_spawn_ex(srv->conns, &so, conn_main, c, NULL, CORIO__SITE);
        if (rc == 0)
            return 0;
        atomic_store_explicit(&srv->open,
                              atomic_load_explicit(&srv->open, memory_order_relaxed) - 1,
                              memory_order_relaxed);
        free(c);
    }
    srv->spawn_errors++;
    corio_close(fd);
    corio_sem_release(srv->slots);
    corio_log(CORIO_LOG_WARN, "net", "cannot start a connection task: %s", corio_strerror(rc));
    return rc == -ECANCELED ? rc : corio_sleep(SPAWN_BACKOFF);
}

/* ---- the acceptor ----------------------------------------------------------------------- */

static int take_slot(corio_server *srv)
{
    if (corio_sem_try_acquire(srv->slots) == 0)
        return 0;
    srv->full_waits++;
    return corio_sem_acquire(srv->slots);
}

static int accept_one(corio_server *srv)
{
    int rc = take_slot(srv);
    if (rc < 0)
        return rc;
    corio_addr peer;
    int fd = corio_accept(srv->l, &peer);
    if (fd < 0) {
        corio_sem_release(srv->slots);
        return fd;
    }
    return start_conn(srv, fd, &peer);
}

static int acceptor_main(void *arg)
{
    corio_server *srv = arg;
    int rc = 0;
    for (unsigned burst = 1; rc == 0; burst++) {
        rc = accept_one(srv);
        /* A flood of pending connections must not keep the loop from the tasks it made. */
        if (rc == 0 && burst % ACCEPT_BURST == 0)
            rc = corio_yield();
    }
    srv->acc_rc = rc;
    return 0; /* the reason travels in acc_rc: a failure here must not cancel connections */
}

/* ---- lifecycle -------------------------------------------------------------------------- */

int corio_server_new(corio_listener *l, const struct corio_server_opts *o, corio_server **out)
{
    *out = NULL;
    if (!l || !o || !o->handler)
        return -EINVAL;
    corio_server *srv = calloc(1, sizeof(*srv));
    if (!srv)
        return -ENOMEM;
    srv->l = l;
    srv->o = *o;
    if (!srv->o.max_conns)
        srv->o.max_conns = DEFAULT_MAX_CONNS;
    if (!srv->o.drain_timeout_ns)
        srv->o.drain_timeout_ns = DEFAULT_DRAIN;
    int rc = corio_sem_new(srv->o.max_conns, &srv->slots);
    if (rc < 0) {
        free(srv);
        return rc;
    }
    *out = srv;
    return 0;
}

void corio_server_free(corio_server *srv)
{
    if (!srv)
        return;
    NET_ASSERT(!srv->conns);
    corio_sem_free(srv->slots);
    free(srv);
}

/* After a stop: lets connections finish within the drain timeout. Returns 0, or -ECANCELED /
 * -ETIMEDOUT when the caller itself is cancelled or an outer deadline passes meanwhile. */
static int drain(corio_server *srv)
{
    if (srv->o.drain_timeout_ns < 0 || corio_group_size(srv->conns) == 0)
        return 0;
    corio_deadline d;
    corio_deadline_enter(&d, corio_after(srv->o.drain_timeout_ns));
    int rc = corio_group_wait(srv->conns);
    bool ours = corio_deadline_leave(&d);
    if (rc == -ETIMEDOUT && ours) {
        corio_log(CORIO_LOG_INFO, "net", "drain timeout: cancelled the connections still open");
        return 0;
    }
    return rc == -ECANCELED || rc == -ETIMEDOUT ? rc : 0;
}

/* Waits for A to end; on the caller's own cancel or timeout, stops A first. */
static int join_acceptor(corio_server *srv)
{
    int rc = corio_task_join(srv->acceptor, NULL);
    if (rc < 0) {
        corio_task_cancel(srv->acceptor);
        corio_task_release(srv->acceptor); /* group close below reaps it */
    }
    srv->acceptor = NULL;
    if (rc == 0 && !srv->stopping)
        rc = srv->acc_rc; /* A ended on its own: a fatal accept error or its deadline */
    return rc;
}

int corio_server_run(corio_server *srv)
{
    NET_ASSERT(!srv->ran);
    srv->ran = true;
    if (srv->stopping)
        return 0;
    int rc = corio_group_open(&srv->conns);
    if (rc < 0)
        return rc;
    const struct corio_spawn_opts so = {.name = "acceptor"};
    rc = corio_spawn_ex(srv->conns, &so, acceptor_main, srv, &srv->acceptor, CORIO__SITE);
    if (rc == 0) {
        srv->running = true;
        rc = join_acceptor(srv);
        srv->running = false;
        if (rc == 0)
            rc = drain(srv);
    }
    corio_group_close(srv->conns); /* cancels and reaps whatever is left */
    srv->conns = NULL;
    return rc;
}

void corio_server_stop(corio_server *srv)
{
    srv->stopping = true;
    if (srv->acceptor)
        corio_task_cancel(srv->acceptor);
}

bool corio_server_draining(const corio_server *srv)
{
    return srv->stopping;
}

size_t corio_server_conns(const corio_server *srv)
{
    return atomic_load_explicit(&srv->open, memory_order_relaxed);
}

void corio_server_stats(const corio_server *srv, struct corio_server_stats *out)
{
    memset(out, 0, sizeof(*out));
    out->accepted = srv->accepted;
    out->open = atomic_load_explicit(&srv->open, memory_order_relaxed);
    out->failed = srv->failed;
    out->full_waits = srv->full_waits;
    out->spawn_errors = srv->spawn_errors;
    out->running = srv->running;
    out->draining = srv->stopping;
}

int corio_serve(corio_listener *l, const struct corio_server_opts *o)
{
    corio_server *srv;
    int rc = corio_server_new(l, o, &srv);
    if (rc < 0)
        return rc;
    rc = corio_server_run(srv);
    corio_server_free(srv);
    return rc;
}
