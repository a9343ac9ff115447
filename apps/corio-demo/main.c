/* SPDX-License-Identifier: MIT */
/* apps/corio-demo/main.c: corio-demo's start, its worker loops and its shutdown.
 *
 * Start, in order: settings (config.c; a bad one exits 2 with one line), resolving --host and
 * checking that the port can be bound (a port in use exits 1 with one line), building the app
 * (handlers.c), starting the JSON logger, then corio_run() with --workers loops. Each worker
 * opens its own SO_REUSEPORT listener on the same address and serves the one shared app on it.
 *
 * Why check the port in the main thread first: with SO_REUSEPORT a second listener on a port
 * may be accepted by the kernel (a port taken by another corio-demo of the same user is then
 * silently shared), and a failure in one of N worker threads would have to be reported after
 * the others started. The probe binds without SO_REUSEPORT, which fails whenever anything
 * listens on the port, and is closed again before the workers bind. A worker that still fails
 * to listen (the port was taken in between) records the error and shuts the run down, and
 * main reports it the same way.
 *
 * Shutdown: worker 0 runs corio_shutdown_on_signal() in a background task. On SIGTERM or
 * SIGINT it drains every worker's server at once (workers.c) under a 30 s deadline, then
 * corio_shutdown() cancels every loop and corio_run() returns; the exit status is 0. A second
 * signal during the drain cuts it short. Each worker's main task stays alive after its server
 * has drained, until that shutdown, so the drain of other workers is never cut off by a loop
 * that ended early.
 *
 * Not here: the database and Redis. Their URLs are checked and reported, not opened: those
 * layers do not exist yet.
 */
#include "demo.h"

#include <corio/net.h>
#include <corio/signal.h>

#include <errno.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* "host:port" for messages, IPv6 literals in brackets. */
static void where(const struct demo *d, char *buf, size_t cap)
{
    const char *h = d->cfg.host;
    if (strchr(h, ':') && h[0] != '[')
        snprintf(buf, cap, "[%s]:%d", h, d->cfg.port);
    else
        snprintf(buf, cap, "%s:%d", h, d->cfg.port);
}

/* Resolves cfg.host into a, and its numeric form into d->bind_host (what workers listen on,
 * so they all bind the same address however the name resolves later). Returns -1 to go on,
 * or the exit status after printing the reason. */
static int resolve_host(struct demo *d, corio_addr *a)
{
    if (corio_addr_parse(d->cfg.host, d->cfg.port, a) < 0) {
        struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
        struct addrinfo *res;
        int g = getaddrinfo(d->cfg.host, NULL, &hints, &res);
        if (g != 0) {
            demo_fail("invalid --host '%.80s': %s", d->cfg.host,
                      g == EAI_SYSTEM ? strerror(errno) : gai_strerror(g));
            return g == EAI_AGAIN ? 1 : 2;
        }
        memcpy(&a->ss, res->ai_addr, res->ai_addrlen);
        a->len = res->ai_addrlen;
        freeaddrinfo(res);
    }
    int g = getnameinfo((struct sockaddr *)&a->ss, a->len, d->bind_host, sizeof d->bind_host, NULL,
                        0, NI_NUMERICHOST);
    if (g != 0) {
        demo_fail("invalid --host '%.80s': %s", d->cfg.host, gai_strerror(g));
        return 2;
    }
    return -1;
}

/* Binds and listens on the address without SO_REUSEPORT, then closes (see the top of the
 * file). Returns -1 to go on, or 1 after printing why the port cannot be used. */
static int probe_port(const struct demo *d, corio_addr *a)
{
    char at[200];
    where(d, at, sizeof at);
    int family = a->ss.ss_family;
    if (family == AF_INET)
        ((struct sockaddr_in *)&a->ss)->sin_port = htons((uint16_t)d->cfg.port);
    else if (family == AF_INET6)
        ((struct sockaddr_in6 *)&a->ss)->sin6_port = htons((uint16_t)d->cfg.port);
    int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int err = fd < 0 ? errno : 0;
    if (fd >= 0) {
        int one = 1, zero = 0;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (family == AF_INET6) /* dual stack, as corio_tcp_listen does by default */
            setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
        if (bind(fd, (struct sockaddr *)&a->ss, a->len) < 0 || listen(fd, 1) < 0)
            err = errno;
        close(fd);
    }
    if (err) {
        demo_fail("cannot listen on %s: %s", at, strerror(err));
        return 1;
    }
    return -1;
}

/* ---- the workers ----------------------------------------------------------------------------- */

static int watch_signals(void *arg)
{
    struct demo *d = arg;
    struct corio_shutdown_opts o = {.drain = demo_drain, .ctx = d, .drain_ns = DEMO_DRAIN_NS};
    int rc = corio_shutdown_on_signal(&o);
    return rc > 0 || rc == -ECANCELED ? 0 : rc;
}

/* Worker 0: starts the signal watcher and lets it run up to its wait, so that from the moment
 * /health says "ok" a SIGTERM is a graceful shutdown and never the default action. */
static int start_watcher(struct demo *d)
{
    int rc = corio_spawn_named(NULL, "signal watch", watch_signals, d, NULL);
    if (rc < 0)
        return rc;
    corio_yield();
    atomic_store(&d->watching, true);
    return 0;
}

static void announce(const struct demo *d)
{
    char url[256];
    char at[200];
    where(d, at, sizeof at);
    snprintf(url, sizeof url, "http://%s/", at);
    corio_log_json(CORIO_LOG_INFO, "demo", "listening", CORIO_LOG_STR("url", url),
                   CORIO_LOG_INT("workers", d->cfg.workers),
                   CORIO_LOG_INT("rate_limit", d->cfg.rate_limit),
                   CORIO_LOG_STR("db", d->cfg.db_url), CORIO_LOG_STR("redis", d->cfg.redis_url),
                   CORIO_LOG_STR("version", DEMO_VERSION));
}

/* Frees the worker's server once no call from another worker is parked inside it. By the time
 * the run shuts down the drain calls have returned (corio_loop_call waits for its remote task
 * even when cancelled, and the shutdown comes after the drain), so this wait is a safeguard;
 * if it ever ran out, leaking the server beats freeing it under a parked task. */
static void release_server(struct demo_worker *w)
{
    corio_deadline shield;
    corio_shield_enter(&shield, corio_after(5 * CORIO_S));
    while (w->busy > 0 && corio_sleep(CORIO_MS) == 0)
        ;
    corio_deadline_leave(&shield);
    if (w->busy == 0)
        corio_http_server_free(w->srv);
    else
        corio_log(CORIO_LOG_ERROR, "demo", "a drain call is still inside the server: not freed");
    w->srv = NULL;
}

static int serve(struct demo *d, struct demo_worker *w, corio_listener *l)
{
    int id = corio_worker_id();
    int rc = corio_http_server_new(d->app, l, NULL, &w->srv);
    if (rc < 0)
        return rc;
    rc = id == 0 ? start_watcher(d) : 0;
    if (rc == 0) {
        if (atomic_fetch_add(&d->serving, 1) + 1 == d->cfg.workers)
            announce(d);
        rc = corio_http_server_run(w->srv);
        /* 0: drained. Stay until corio_shutdown() ends the run (see the top of the file). */
        if (rc == 0)
            rc = corio_sleep_until(CORIO_FOREVER);
    }
    release_server(w);
    return rc;
}

static int worker_main(void *arg)
{
    struct demo *d = arg;
    int id = corio_worker_id();
    int rc = corio_metrics_runtime_register(d->metrics, 0);
    if (rc < 0 && rc != -ECANCELED)
        corio_log(CORIO_LOG_WARN, "demo", "worker %d: no runtime metrics: %s", id,
                  corio_strerror(rc));
    corio_listener *l;
    rc = corio_tcp_listen(d->bind_host, d->cfg.port, &(struct corio_listen_opts){.reuseport = true},
                          &l);
    if (rc < 0) {
        int none = 0;
        if (rc != -ECANCELED && atomic_compare_exchange_strong(&d->listen_error, &none, rc))
            corio_shutdown();
        return rc == -ECANCELED ? 0 : rc;
    }
    rc = serve(d, &d->workers[id], l);
    corio_listener_close(l);
    if (rc < 0 && rc != -ECANCELED) {
        corio_log(CORIO_LOG_ERROR, "demo", "worker %d stopped: %s", id, corio_strerror(rc));
        corio_shutdown();
    }
    return rc == -ECANCELED ? 0 : rc;
}

/* ---- main ------------------------------------------------------------------------------------ */

static int run(struct demo *d)
{
    if (demo_app_build(d) < 0)
        return 1;
    int rc = corio_logger_start(&(struct corio_logger_opts){.level = d->cfg.log_level});
    if (rc < 0) {
        demo_fail("cannot start the logger: %s", corio_strerror(rc));
        return 1;
    }
    corio_log_json(CORIO_LOG_INFO, "demo", "starting", CORIO_LOG_STR("version", DEMO_VERSION),
                   CORIO_LOG_INT("workers", d->cfg.workers));
    corio_log(CORIO_LOG_INFO, "demo",
              "database layer not built yet: --db %s is checked but not opened; /api/users "
              "arrives with it",
              d->cfg.db_url);
    struct corio_run_opts o = {.workers = d->cfg.workers};
    rc = corio_run(&o, worker_main, d);
    int listen_error = atomic_load(&d->listen_error);
    if (listen_error == 0 && rc == 0)
        corio_log(CORIO_LOG_INFO, "demo", "stopped");
    corio_logger_stop();
    if (listen_error) {
        char at[200];
        where(d, at, sizeof at);
        demo_fail("cannot listen on %s: %s", at, corio_strerror(listen_error));
        return 1;
    }
    if (rc < 0) {
        demo_fail("stopped on an error: %s", corio_strerror(rc));
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    static struct demo d; /* zero-initialised; the workers read it throughout corio_run */
    int status = demo_config_load(&d.cfg, argc, argv);
    if (status >= 0)
        return status;
    corio_addr a;
    if ((status = resolve_host(&d, &a)) >= 0 || (status = probe_port(&d, &a)) >= 0)
        return status;
    /* A client or log reader that goes away must not kill the server: writes then fail with
     * EPIPE instead (sockets use MSG_NOSIGNAL already; this covers the log on stderr). */
    signal(SIGPIPE, SIG_IGN);
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    d.started_ns = (int64_t)ts.tv_sec * CORIO_S + ts.tv_nsec;
    d.workers = calloc((size_t)d.cfg.workers, sizeof(*d.workers));
    if (!d.workers) {
        demo_fail("out of memory");
        return 1;
    }
    status = run(&d);
    demo_app_free(&d);
    free(d.workers);
    return status;
}
