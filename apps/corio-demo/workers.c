/* SPDX-License-Identifier: MIT */
/* apps/corio-demo/workers.c: doing something on every worker loop at once: counting open
 * connections (/health) and draining every server (graceful shutdown).
 *
 * Why calls instead of shared counters: a server and its connections belong to the worker loop
 * that runs them, and corio's rule is that other threads reach a loop only through its mailbox.
 * So a question about all workers becomes one corio_loop_call() per worker, made from child
 * tasks of a group so that they run in parallel: the answer takes one round trip, not N, and
 * a drain waits for the slowest worker rather than the sum of them.
 *
 * A call whose target worker is already stopping gets -ESHUTDOWN for that worker only; the
 * others still answer.
 */
#include "demo.h"

#include <errno.h>
#include <stdlib.h>

struct call {
    corio_loop *loop;
    corio_fn fn;
    void *arg;
    int *result;
};

static int call_one(void *arg)
{
    struct call *c = arg;
    int res = 0;
    int rc = corio_loop_call(c->loop, c->fn, c->arg, &res);
    *c->result = rc < 0 ? rc : res;
    /* Never fail the group: one worker that is stopping must not cancel the calls to the
     * others. The caller reads each result. */
    return 0;
}

int demo_on_workers(struct demo *d, corio_fn fn, void **args, int *results)
{
    int n = d->cfg.workers;
    struct call *calls = calloc((size_t)n, sizeof(*calls));
    if (!calls)
        return -ENOMEM;
    for (int i = 0; i < n; i++)
        results[i] = -ESHUTDOWN;
    corio_group *g = NULL;
    int rc = corio_group_open(&g);
    for (int i = 0; i < n && rc == 0; i++) {
        calls[i] = (struct call){corio_worker_loop(i), fn, args[i], &results[i]};
        if (calls[i].loop)
            rc = corio_spawn_named(g, "worker call", call_one, &calls[i], NULL);
    }
    if (rc == 0)
        rc = corio_group_wait(g);
    if (g) {
        /* Closing reaps the children even after an error: calls[] must outlive them. */
        int crc = corio_group_close(g);
        if (rc == 0 && crc < 0)
            rc = crc;
    }
    free(calls);
    return rc;
}

/* ---- connections ----------------------------------------------------------------------------- */

/* On the worker's loop: its open connections. Does not park. */
static int count_conns(void *arg)
{
    struct demo_worker *w = arg;
    int n = w->srv ? (int)corio_http_server_conns(w->srv) : 0;
    atomic_store_explicit(&w->conns, n, memory_order_relaxed);
    return n;
}

long demo_connections(struct demo *d)
{
    int n = d->cfg.workers;
    void **args = calloc((size_t)n, sizeof(*args));
    int *results = calloc((size_t)n, sizeof(*results));
    long total = -ENOMEM;
    if (args && results) {
        for (int i = 0; i < n; i++)
            args[i] = &d->workers[i];
        int rc = demo_on_workers(d, count_conns, args, results);
        total = rc;
        if (rc == 0)
            for (int i = 0; i < n; i++)
                if (results[i] > 0)
                    total += results[i];
    }
    free(args);
    free(results);
    return total;
}

/* ---- drain ----------------------------------------------------------------------------------- */

/* On the worker's loop: drains its server. busy keeps the worker's main task from freeing the
 * server while this call is parked inside it. */
static int drain_one(void *arg)
{
    struct demo_worker *w = arg;
    if (!w->srv)
        return 0;
    w->busy++;
    int rc = corio_http_server_drain(w->srv);
    w->busy--;
    return rc;
}

int demo_drain(void *ctx)
{
    struct demo *d = ctx;
    int n = d->cfg.workers;
    atomic_store(&d->draining, true);
    corio_log_json(CORIO_LOG_INFO, "demo", "draining", CORIO_LOG_INT("workers", n),
                   CORIO_LOG_INT("timeout_s", DEMO_DRAIN_NS / CORIO_S));
    void **args = calloc((size_t)n, sizeof(*args));
    int *results = calloc((size_t)n, sizeof(*results));
    int rc = -ENOMEM;
    if (args && results) {
        for (int i = 0; i < n; i++)
            args[i] = &d->workers[i];
        rc = demo_on_workers(d, drain_one, args, results);
        for (int i = 0; i < n && rc == 0; i++)
            if (results[i] < 0 && results[i] != -ESHUTDOWN)
                rc = results[i];
    }
    free(args);
    free(results);
    if (rc == 0)
        corio_log(CORIO_LOG_INFO, "demo", "drained: every connection has closed");
    else
        corio_log(CORIO_LOG_WARN, "demo", "drain ended early (%s): closing what is left",
                  corio_strerror(rc));
    return rc;
}
