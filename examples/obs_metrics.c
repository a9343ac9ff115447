/* SPDX-License-Identifier: MIT */
/* examples/obs_metrics.c: metrics with Prometheus exposition and JSON logs, in an HTTP service.
 *
 * One registry holds:
 *   - the HTTP families of the metrics middleware (requests by method, route and status,
 *     latency histogram, requests in flight) and http_connections_open for the server;
 *   - the service's own: jobs_total{kind,result} (counter), job_duration_seconds{kind}
 *     (histogram with its own buckets), jobs_running (gauge), example_uptime_seconds (a gauge
 *     computed at scrape time);
 *   - the runtime's counters (tasks, context switches, timers...) labelled by worker.
 * The JSON logger writes every line to stderr; the request-id middleware puts the request's id
 * in each line logged while the request runs, the handler's own lines included. LOG_LEVEL
 * (debug, info, warn, error) picks the level.
 *
 *     example_obs_metrics [port]            (or PORT; default 8080)
 *     curl -X POST 'localhost:8080/jobs/resize?ms=30'
 *     curl localhost:8080/metrics
 *
 * It serves until SIGTERM or Ctrl-C, draining first, then exits 0.
 */
#include <corio/core.h>
#include <corio/http.h>
#include <corio/http_mw.h>
#include <corio/net.h>
#include <corio/obs.h>
#include <corio/signal.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct service {
    corio_metrics *reg;
    corio_http_metrics *http;
    corio_counter *jobs;
    corio_histogram *job_seconds;
    corio_gauge *running;
    int64_t started;
    corio_http_app *app;
    corio_http_server *srv;
    int port;
};

/* Parses v as a decimal number from 0 to max. Views are not NUL-terminated. */
static bool parse_long(corio_str v, long max, long *out)
{
    long n = 0;
    if (v.len == 0)
        return false;
    for (size_t i = 0; i < v.len; i++) {
        int d = v.ptr[i] - '0';
        if (d < 0 || d > 9 || n > (max - d) / 10)
            return false;
        n = n * 10 + d;
    }
    *out = n;
    return true;
}

/* ---- declaring the metrics ------------------------------------------------------------------- */

static int64_t monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * CORIO_S + ts.tv_nsec;
}

/* Called on whatever thread scrapes (corio_now() needs a loop, so not that). */
static double uptime(void *ctx)
{
    const struct service *sv = ctx;
    return (double)(monotonic_ns() - sv->started) / 1e9;
}

static int declare_metrics(struct service *sv)
{
    static const double job_buckets[] = {0.01, 0.05, 0.1, 0.5, 1, 5};
    int rc = corio_metrics_new(NULL, &sv->reg); /* at most 10,000 label sets per metric */
    if (rc == 0)
        rc = corio_http_metrics_new(&(struct corio_http_metrics_opts){.registry = sv->reg},
                                    &sv->http);
    if (rc == 0)
        rc = corio_counter_register(sv->reg, "jobs_total", "Jobs run, by kind and result.",
                                    "kind,result", &sv->jobs);
    if (rc == 0)
        rc = corio_histogram_register(sv->reg, "job_duration_seconds", "Time a job took.", "kind",
                                      job_buckets, sizeof job_buckets / sizeof job_buckets[0],
                                      &sv->job_seconds);
    if (rc == 0)
        rc = corio_gauge_register(sv->reg, "jobs_running", "Jobs running now.", NULL, &sv->running);
    if (rc == 0)
        rc = corio_gauge_func_register(sv->reg, "example_uptime_seconds",
                                       "Seconds since the service started.", uptime, sv);
    return rc;
}

/* ---- handlers -------------------------------------------------------------------------------- */

/* POST /jobs/{kind}?ms=N[&fail=1]: a pretend job of N ms. */
static int run_job(corio_http_req *req, corio_http_resp *resp, void *ctx)
{
    struct service *sv = ctx;
    corio_str kind, v;
    corio_http_req_param(req, "kind", &kind);
    /* Label values come from a fixed set: a client must not be able to mint new series. */
    const char *k = kind.len == 6 && !memcmp(kind.ptr, "resize", 6)  ? "resize"
                    : kind.len == 5 && !memcmp(kind.ptr, "email", 5) ? "email"
                                                                     : NULL;
    if (!k)
        return corio_http_resp_error(resp, 404, NULL, "kinds are resize and email");
    long ms = 20;
    if (corio_http_req_query_param(req, "ms", &v) && !parse_long(v, 10000, &ms))
        return corio_http_resp_error(resp, 400, NULL, "ms must be from 0 to 10000");
    bool fail = corio_http_req_query_param(req, "fail", &v);

    corio_log_json(CORIO_LOG_DEBUG, "jobs", "job starting", CORIO_LOG_STR("kind", k),
                   CORIO_LOG_INT("ms", ms));
    corio_metric_series *running = corio_gauge_labelsv(sv->running, NULL, 0);
    int64_t t0 = corio_clock();
    corio_gauge_add(running, 1);
    int rc = corio_sleep(ms * CORIO_MS); /* the work */
    corio_gauge_add(running, -1);
    const char *result = rc < 0 ? "cancelled" : fail ? "failed" : "ok";
    corio_counter_add(corio_counter_labels(sv->jobs, k, result), 1);
    corio_histogram_observe_ns(corio_histogram_labels(sv->job_seconds, k), corio_clock() - t0);
    corio_log_json(fail ? CORIO_LOG_WARN : CORIO_LOG_INFO, "jobs", "job done",
                   CORIO_LOG_STR("kind", k), CORIO_LOG_STR("result", result),
                   CORIO_LOG_DBL("seconds", (double)(corio_clock() - t0) / 1e9));
    if (rc < 0)
        return rc;
    return corio_http_resp_json_strs(resp, fail ? 500 : 200, "kind", k, "result", result);
}

/* GET /metrics: the Prometheus text format. */
static int metrics(corio_http_req *req, corio_http_resp *resp, void *ctx)
{
    struct service *sv = ctx;
    char *text;
    size_t len;
    int rc = corio_metrics_render(sv->reg, &text, &len); /* never blocks the recording threads */
    if (rc < 0)
        return rc;
    rc = corio_http_resp_text(resp, 200, "text/plain; version=0.0.4; charset=utf-8", text, len);
    free(text);
    return rc;
}

/* ---- the service ----------------------------------------------------------------------------- */

static int build_app(struct service *sv)
{
    int rc = corio_http_app_new(&sv->app);
    if (rc == 0)
        rc = corio_http_app_use(sv->app, corio_http_request_id_mw, NULL);
    if (rc == 0)
        rc = corio_http_app_use(sv->app, corio_http_access_log_mw, NULL);
    if (rc == 0)
        rc = corio_http_app_use(sv->app, corio_http_metrics_mw, sv->http);
    if (rc == 0)
        rc = corio_http_app_route(sv->app, "POST", "/jobs/{kind}", run_job, sv);
    if (rc == 0)
        rc = corio_http_app_route(sv->app, "GET", "/metrics", metrics, sv);
    return rc;
}

static int drain(void *ctx)
{
    struct service *sv = ctx;
    return corio_http_server_drain(sv->srv);
}

static int run_server(void *arg)
{
    return corio_http_server_run(arg);
}

static int main_task(void *arg)
{
    struct service *sv = arg;
    corio_listener *l;
    corio_group *g = NULL;
    int rc = corio_metrics_runtime_register(sv->reg, 0); /* this worker's loop, every second */
    if (rc == 0)
        rc = corio_tcp_listen(NULL, sv->port, NULL, &l);
    if (rc < 0) {
        corio_log(CORIO_LOG_ERROR, "example", "cannot start: %s", corio_strerror(rc));
        return rc;
    }
    rc = corio_http_server_new(sv->app, l, NULL, &sv->srv);
    if (rc == 0)
        rc = corio_http_metrics_add_server(sv->http, sv->srv); /* http_connections_open */
    if (rc == 0)
        rc = corio_group_open(&g);
    if (rc == 0)
        rc = corio_spawn(g, run_server, sv->srv);
    if (rc == 0) {
        corio_log_json(CORIO_LOG_INFO, "example", "listening", CORIO_LOG_INT("port", sv->port));
        struct corio_shutdown_opts o = {.drain = drain, .ctx = sv, .drain_ns = 5 * CORIO_S};
        rc = corio_shutdown_on_signal(&o);
    }
    if (g)
        corio_group_close(g);
    if (sv->srv)
        corio_http_metrics_remove_server(sv->http, sv->srv);
    corio_http_server_free(sv->srv);
    corio_listener_close(l);
    return rc > 0 ? 0 : rc;
}

int main(int argc, char **argv)
{
    static struct service sv = {.port = 8080};
    const char *port = argc > 1 ? argv[1] : getenv("PORT");
    if (port && *port && ((sv.port = atoi(port)) <= 0 || sv.port > 65535)) {
        fprintf(stderr, "usage: %s [port]\n", argv[0]);
        return 2;
    }
    sv.started = monotonic_ns();
    int rc = corio_logger_start(NULL); /* level: LOG_LEVEL, else info */
    if (rc < 0) {
        fprintf(stderr, "obs_metrics: logger: %s\n", corio_strerror(rc));
        return 2;
    }
    rc = declare_metrics(&sv);
    if (rc == 0)
        rc = build_app(&sv);
    if (rc == 0)
        rc = corio_run(NULL, main_task, &sv);
    corio_log(CORIO_LOG_INFO, "example", "stopped: %s", corio_strerror(rc));
    corio_logger_stop(); /* flushes what is queued */
    corio_http_app_free(sv.app);
    corio_metrics_free(sv.reg); /* after the run: the runtime refresh task has ended */
    corio_http_metrics_free(sv.http);
    return rc < 0 ? 1 : 0;
}
