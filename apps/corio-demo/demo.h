/* SPDX-License-Identifier: MIT */
/* apps/corio-demo/demo.h: what the files of corio-demo share: the settings (from flags and
 * environment), the process-wide state every worker reads, and the helpers between files.
 *
 * Threads. struct demo is built by main() before corio_run() and is read-only afterwards,
 * except for the fields marked atomic and each worker's struct demo_worker, which only that
 * worker's loop thread touches (other workers reach it through corio_loop_call, never
 * directly).
 */
#ifndef CORIO_DEMO_H
#define CORIO_DEMO_H

#include <corio/core.h>
#include <corio/http.h>
#include <corio/http_mw.h>
#include <corio/obs.h>

#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DEMO_NAME "corio-demo"
#define DEMO_VERSION "0.1.0"

#define DEMO_DEFAULT_HOST "0.0.0.0"
#define DEMO_DEFAULT_PORT 8080
#define DEMO_DEFAULT_DB "sqlite:data/corio.db"
#define DEMO_DEFAULT_RATE_LIMIT 100
#define DEMO_MAX_WORKERS 1024 /* corio_run's limit */
#define DEMO_MAX_RATE 1000000 /* requests/s per client; more is "no limit" in practice */
#define DEMO_DRAIN_NS (30 * CORIO_S)

/* ---- settings -------------------------------------------------------------------------------- */

/* Every string is borrowed from argv or the environment (which live as long as the process). */
struct demo_config {
    const char *host;      /* address or name to listen on */
    int port;              /* 1..65535 */
    int workers;           /* 1..DEMO_MAX_WORKERS */
    const char *db_url;    /* sqlite:PATH or postgresql://...; validated, not used yet */
    const char *redis_url; /* redis://... or NULL; validated, not used yet */
    long rate_limit;       /* requests/s per client IP; 0 = no limit */
    const char *log_level; /* "debug", "info", "warn" or "error" (any case) */
};

/* Fills *c from the environment, then argv (flags win). Returns -1 to go on, or the status to
 * exit with: 0 after --help / --version (printed on stdout), 2 after a bad flag or value (one
 * line on stderr). */
int demo_config_load(struct demo_config *c, int argc, char **argv);

/* Prints "corio-demo: <message>" as one line on stderr (control characters in the message are
 * replaced, so it stays one line). */
void demo_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- process state --------------------------------------------------------------------------- */

/* One worker loop's part. Only that worker's thread uses srv and busy; conns is written there
 * and read by any thread. */
struct demo_worker {
    corio_http_server *srv; /* NULL before serving and after it ended */
    int busy;               /* tasks of other workers inside a call that uses srv and parks */
    atomic_long conns;      /* open connections when last asked (demo_connections) */
};

struct demo {
    struct demo_config cfg;
    char bind_host[128]; /* numeric form of cfg.host, what every worker listens on */
    int64_t started_ns;  /* CLOCK_MONOTONIC at start, for uptime */
    corio_http_app *app;
    corio_metrics *metrics;
    corio_http_metrics *http_metrics;
    corio_http_ratelimit *ratelimit; /* NULL when --rate-limit 0 */
    struct demo_worker *workers;     /* cfg.workers of them */
    atomic_int serving;              /* workers whose server is up */
    atomic_bool watching;            /* worker 0 waits for SIGTERM/SIGINT */
    atomic_bool draining;            /* a shutdown signal came */
    atomic_int listen_error;         /* first listen failure of a worker (negative errno), or 0 */
};

/* Builds d->app: the routes and the middleware chain. Returns 0 or a negative errno (with a
 * one-line reason printed). */
int demo_app_build(struct demo *d);
void demo_app_free(struct demo *d);

/* Seconds since start. Any thread. */
double demo_uptime(const struct demo *d);

/* ---- across workers (workers.c, debug.c) ----------------------------------------------------- */

/* Runs fn(args[i]) on worker i's loop for every worker, all at once, and waits for them.
 * results[i] gets fn's result, or the error of the call itself (-ESHUTDOWN for a worker that
 * is stopping). Returns 0, or -ENOMEM / -ECANCELED / -ETIMEDOUT for the whole. Suspends. */
int demo_on_workers(struct demo *d, corio_fn fn, void **args, int *results);

/* Open connections over every worker (exact: asked of each loop, which also publishes its
 * count in demo_worker.conns for the http_connections_open gauge). Suspends. */
long demo_connections(struct demo *d);

/* Graceful drain of every worker's server, for corio_shutdown_on_signal. */
int demo_drain(void *ctx);

/* GET /debug/tasks. ctx: struct demo *. */
int demo_debug_tasks(corio_http_req *req, corio_http_resp *resp, void *ctx);

/* ---- JSON text (jbuf.c) ---------------------------------------------------------------------- */

/* A growable text buffer. After an allocation failure it stops growing and sets oom; check it
 * once at the end. */
struct jbuf {
    char *p;
    size_t len, cap;
    bool oom;
};

void jbuf_put(struct jbuf *b, const char *s, size_t n);
void jbuf_puts(struct jbuf *b, const char *s);
void jbuf_printf(struct jbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends s as a quoted JSON string (escaped; bytes that are not valid UTF-8 become U+FFFD), or
 * null for NULL. */
void jbuf_json_str(struct jbuf *b, const char *s);
void jbuf_free(struct jbuf *b);

/* ---- the page (page.c) ----------------------------------------------------------------------- */

extern const char demo_index_html[];
extern const size_t demo_index_html_len;

#endif
