/* SPDX-License-Identifier: MIT */
/* apps/corio-demo/handlers.c: corio-demo's HTTP application: the routes, their handlers and
 * the middleware chain.
 *
 * The chain, outermost first: request id (X-Request-ID, also in every log line of the
 * request), access log (a JSON line per request), metrics (http_requests_total and friends,
 * by route pattern), rate limit (token bucket per client IP; 429 past --rate-limit), gzip
 * (negotiated, for bodies of 1 KiB and more). The rate limiter sits inside the log and the
 * metrics so its 429s are logged and counted; the operational endpoints /health and /metrics
 * skip it, because a load balancer's probe or a scraper behind the same NAT or proxy as the
 * clients must not be refused when the clients are busy.
 *
 * The app is built once, before the workers start, and then only read: every worker serves
 * the same app (corio/http.h). Handlers are the one-screen kind: the interesting parts (the
 * cross-worker calls of /health and /debug/tasks) are in workers.c and debug.c.
 */
#include "demo.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char hello[] = "Hello, World!";

double demo_uptime(const struct demo *d)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    int64_t now = (int64_t)ts.tv_sec * CORIO_S + ts.tv_nsec;
    return (double)(now - d->started_ns) / 1e9;
}

/* ---- handlers -------------------------------------------------------------------------------- */

static int plaintext(corio_http_req *req, corio_http_resp *resp, void *ctx)
{
    return corio_http_resp_text(resp, 200, "text/plain", hello, sizeof hello - 1);
}

static int json(corio_http_req *req, corio_http_resp *resp, void *ctx)
{
    return corio_http_resp_json_strs(resp, 200, "message", hello);
}

/* The body back verbatim, with the request's Content-Type (application/octet-stream if it had
 * none). A body over the server's limit is answered 413 by the server (-EMSGSIZE). */
static int echo(corio_http_req *req, corio_http_resp *resp, void *ctx)
{
    corio_str body;
    int rc = corio_http_req_body(req, &body);
    if (rc < 0)
        return rc;
    const char *type = "application/octet-stream";
    corio_str ct;
    if (corio_http_req_header(req, "Content-Type", &ct) && ct.len > 0) {
        char *t = corio_http_req_alloc(req, ct.len + 1);
        if (!t)
            return -ENOMEM;
        memcpy(t, ct.ptr, ct.len);
        t[ct.len] = 0;
        type = t;
    }
    return corio_http_resp_text(resp, 200, type, body.ptr, body.len);
}

/* 200 {"status":"ok",...} while serving; 503 with "starting" until every worker listens and
 * the signal watcher is in place, and with "draining" once a shutdown signal came, so a load
 * balancer stops sending before the listeners close. */
static int health(corio_http_req *req, corio_http_resp *resp, void *ctx)
{
    struct demo *d = ctx;
    long conns = demo_connections(d);
    if (conns < 0)
        return (int)conns;
    const char *status = "ok";
    int code = 200;
    if (atomic_load(&d->draining)) {
        status = "draining";
        code = 503;
    } else if (atomic_load(&d->serving) < d->cfg.workers || !atomic_load(&d->watching)) {
        status = "starting";
        code = 503;
    }
    char body[256];
    int n = snprintf(body, sizeof body,
                     "{\"status\":\"%s\",\"uptime_s\":%.3f,\"version\":\"" DEMO_VERSION
                     "\",\"connections\":%ld,\"workers\":%d}",
                     status, demo_uptime(d), conns, d->cfg.workers);
    int rc = corio_http_resp_header(resp, "Cache-Control", "no-store");
    return rc < 0 ? rc : corio_http_resp_text(resp, code, "application/json", body, (size_t)n);
}

static int metrics(corio_http_req *req, corio_http_resp *resp, void *ctx)
{
    struct demo *d = ctx;
    char *text;
    size_t len;
    /* Refreshes the counts behind http_connections_open (see add_metrics). */
    long conns = demo_connections(d);
    if (conns == -ECANCELED || conns == -ETIMEDOUT)
        return (int)conns;
    int rc = corio_metrics_render(d->metrics, &text, &len);
    if (rc < 0)
        return rc;
    rc = corio_http_resp_text(resp, 200, "text/plain; version=0.0.4; charset=utf-8", text, len);
    free(text);
    return rc;
}

static int index_page(corio_http_req *req, corio_http_resp *resp, void *ctx)
{
    return corio_http_resp_text(resp, 200, "text/html; charset=utf-8", demo_index_html,
                                demo_index_html_len);
}

/* ---- middleware ------------------------------------------------------------------------------ */

static bool path_is(corio_str p, const char *s)
{
    size_t n = strlen(s);
    return p.len == n && memcmp(p.ptr, s, n) == 0;
}

/* The rate limiter, except for the operational endpoints (see the top of the file). The route
 * is not known yet at this point of the chain, so the raw path decides. */
static int ratelimit(corio_http_req *req, corio_http_resp *resp, corio_http_chain *next, void *ctx)
{
    corio_str p = corio_http_req_path(req);
    if (path_is(p, "/health") || path_is(p, "/metrics"))
        return corio_http_next(req, resp, next);
    return corio_http_ratelimit_mw(req, resp, next, ctx);
}

/* ---- the app --------------------------------------------------------------------------------- */

static double uptime_metric(void *ctx)
{
    return demo_uptime(ctx);
}

/* Open connections as last counted by each worker: the same counts /health reports, published
 * by each loop itself through demo_connections(), which GET /metrics calls before rendering, so
 * the two endpoints always agree. */
static double conns_metric(void *ctx)
{
    const struct demo *d = ctx;
    long total = 0;
    for (int i = 0; i < d->cfg.workers; i++)
        total += atomic_load_explicit(&d->workers[i].conns, memory_order_relaxed);
    return (double)total;
}

static int add_metrics(struct demo *d)
{
    int rc = corio_metrics_new(NULL, &d->metrics);
    if (rc < 0)
        return rc;
    rc = corio_http_metrics_new(&(struct corio_http_metrics_opts){.registry = d->metrics},
                                &d->http_metrics);
    if (rc < 0)
        return rc;
    rc = corio_gauge_func_register(d->metrics, "http_connections_open",
                                   "Open HTTP connections over every worker.", conns_metric, d);
    if (rc == 0)
        rc = corio_gauge_func_register(d->metrics, "corio_demo_uptime_seconds",
                                       "Seconds since corio-demo started.", uptime_metric, d);
    corio_gauge *info;
    if (rc == 0)
        rc = corio_gauge_register(d->metrics, "corio_demo_info",
                                  "corio-demo build and settings (value 1).", "version,workers",
                                  &info);
    if (rc == 0) {
        char workers[16];
        snprintf(workers, sizeof workers, "%d", d->cfg.workers);
        corio_gauge_set(corio_gauge_labels(info, DEMO_VERSION, workers), 1);
    }
    return rc;
}

static int add_middleware(struct demo *d)
{
    int rc = corio_http_app_use(d->app, corio_http_request_id_mw, NULL);
    if (rc == 0)
        rc = corio_http_app_use(d->app, corio_http_access_log_mw, NULL);
    if (rc == 0)
        rc = corio_http_app_use(d->app, corio_http_metrics_mw, d->http_metrics);
    if (rc == 0 && d->cfg.rate_limit > 0) {
        /* Shared by the workers: a client gets --rate-limit whatever worker serves it. */
        struct corio_http_ratelimit_opts o = {.rate = (double)d->cfg.rate_limit,
                                              .shared = d->cfg.workers > 1};
        rc = corio_http_ratelimit_new(&o, &d->ratelimit);
        if (rc == 0)
            rc = corio_http_app_use(d->app, ratelimit, d->ratelimit);
    }
    if (rc == 0)
        rc = corio_http_app_use(d->app, corio_http_gzip_mw, NULL);
    return rc;
}

static int add_routes(struct demo *d)
{
    static const struct {
        const char *method, *pattern;
        corio_http_handler h;
    } routes[] = {
        {"GET", "/", index_page},
        {"GET", "/plaintext", plaintext},
        {"GET", "/json", json},
        {"POST", "/echo", echo},
        {"GET", "/health", health},
        {"GET", "/metrics", metrics},
        {"GET", "/debug/tasks", demo_debug_tasks},
    };
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        int rc = corio_http_app_route(d->app, routes[i].method, routes[i].pattern, routes[i].h, d);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int demo_app_build(struct demo *d)
{
    int rc = corio_http_app_new(&d->app);
    if (rc == 0)
        rc = add_metrics(d);
    if (rc == 0)
        rc = add_middleware(d);
    if (rc == 0)
        rc = add_routes(d);
    if (rc < 0)
        demo_fail("cannot set up the application: %s", corio_strerror(rc));
    return rc;
}

void demo_app_free(struct demo *d)
{
    if (d->app)
        corio_http_app_free(d->app);
    if (d->ratelimit)
        corio_http_ratelimit_free(d->ratelimit);
    if (d->http_metrics)
        corio_http_metrics_free(d->http_metrics);
    corio_metrics_free(d->metrics); /* NULL is a no-op */
    d->app = NULL;
    d->ratelimit = NULL;
    d->http_metrics = NULL;
    d->metrics = NULL;
}
