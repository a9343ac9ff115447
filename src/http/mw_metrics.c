/* SPDX-License-Identifier: MIT */
/* The metrics middleware: request counts by method, route and status, a latency histogram by
 * method and route, the requests in flight, and (for servers registered with it) the open
 * connections, all in a corio/obs.h registry.
 *
 * Label sets stay bounded by construction: the route label is the matched pattern (or
 * "unmatched"), never the raw path, and methods outside the standard set become "OTHER", so a
 * client cannot mint new series. Series handles are resolved per request on the worker's own
 * shard (a hash probe without locks, see obs.h). The in-flight gauge is added to and taken from
 * on the same thread, so its shards sum to the process total.
 *
 * It deliberately does not time anything below the chain (connection setup, head parsing):
 * durations run from entering this middleware to the chain's return.
 */
#include "mw_int.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>

#define MAX_SERVERS 1024

struct corio_http_metrics {
    uint64_t id;                             /* unique per instance: keys the series cache */
    corio_metrics *reg;                      /* borrowed */
    corio_counter *requests;                 /* owned by reg */
    corio_histogram *duration;               /* owned by reg */
    corio_gauge *in_flight;                  /* owned by reg */
    pthread_mutex_t mu;                      /* guards servers[], nservers, conns_registered */
    corio_http_server *servers[MAX_SERVERS]; /* borrowed; see add_server */
    size_t nservers;
    bool conns_registered;
};

int corio_http_metrics_new(const struct corio_http_metrics_opts *o, corio_http_metrics **out)
{
    if (!o || !o->registry)
        return -EINVAL;
    corio_http_metrics *m = calloc(1, sizeof(*m));
    if (!m)
        return -ENOMEM;
    static _Atomic uint64_t ids;
    m->id = atomic_fetch_add(&ids, 1) + 1;
    m->reg = o->registry;
    pthread_mutex_init(&m->mu, NULL);
    int rc = corio_counter_register(m->reg, "http_requests_total", "HTTP requests answered.",
                                    "method,route,status", &m->requests);
    if (rc == 0)
        rc = corio_histogram_register(m->reg, "http_request_duration_seconds",
                                      "Time from receiving a request to answering it, seconds.",
                                      "method,route", o->buckets, o->nbuckets, &m->duration);
    if (rc == 0)
        rc = corio_gauge_register(m->reg, "http_requests_in_flight", "HTTP requests being handled.",
                                  NULL, &m->in_flight);
    if (rc < 0) {
        /* Families already declared stay in the registry (it has no unregister); they are
         * harmless empty families. */
        pthread_mutex_destroy(&m->mu);
        free(m);
        return rc;
    }
    *out = m;
    return 0;
}

void corio_http_metrics_free(corio_http_metrics *m)
{
    if (!m)
        return;
    pthread_mutex_destroy(&m->mu);
    free(m);
}

static const char *method_label(corio_str m)
{
    static const char *const std[] = {"GET",   "HEAD",    "POST",  "PUT",    "DELETE",
                                      "PATCH", "OPTIONS", "TRACE", "CONNECT"};
    for (size_t i = 0; i < sizeof std / sizeof std[0]; i++)
        if (strlen(std[i]) == m.len && memcmp(std[i], m.ptr, m.len) == 0)
            return std[i];
    return "OTHER";
}

/* Series lookups hash their label values under the registry's rules; a request's labels are
 * a static method name, a route pattern owned by the app and a status, so the series are
 * cached per thread (series are per thread too) by those; the app's id goes with the pattern's
 * address, which a later app may reuse for another pattern. */
#define CACHE_SIZE 64
struct series_cache {
    uint64_t id, app; /* corio_http_metrics.id (0 = empty) and corio_http_app.id */
    const char *method, *route;
    int status;
    corio_metric_series *requests, *duration;
};
static _Thread_local struct series_cache cache[CACHE_SIZE];
static _Thread_local struct {
    uint64_t id;
    corio_metric_series *s;
} inflight_cache;

static struct series_cache *series_for(corio_http_metrics *m, uint64_t app, const char *method,
                                       const char *route, int status)
{
    uintptr_t h = ((uintptr_t)method >> 3) ^ ((uintptr_t)route >> 4) ^ (uintptr_t)status * 31u ^
                  (uintptr_t)(m->id * 7u + app);
    struct series_cache *e = &cache[(h ^ (h >> 7)) % CACHE_SIZE];
    if (e->id == m->id && e->app == app && e->method == method && e->route == route &&
        e->status == status && e->requests && e->duration)
        return e;
    char st[12];
    snprintf(st, sizeof st, "%d", status);
    *e = (struct series_cache){
        .id = m->id,
        .app = app,
        .method = method,
        .route = route,
        .status = status,
        .requests = corio_counter_labels(m->requests, method, route, st),
        .duration = corio_histogram_labels(m->duration, method, route),
    };
    return e;
}

int corio_http_metrics_mw(corio_http_req *req, corio_http_resp *resp, corio_http_chain *next,
                          void *ctx)
{
    corio_http_metrics *m = ctx;
    if (inflight_cache.id != m->id || !inflight_cache.s) {
        inflight_cache.id = m->id;
        inflight_cache.s = corio_gauge_labelsv(m->in_flight, NULL, 0);
    }
    corio_metric_series *inf = inflight_cache.s;
    int64_t t0 = corio_clock();
    corio_gauge_add(inf, 1);
    int rc = corio_http_next(req, resp, next);
    corio_gauge_add(inf, -1);
    int64_t dt = corio_clock() - t0;

    const char *method = method_label(corio_http_req_method(req));
    const char *route = corio__http_mw_route(req, next);
    if (!route[0])
        route = "unmatched";
    /* The router answers a failed handler at once; should nothing have been sent, the server
     * answers 500 after we return. */
    int status = rc < 0 && !corio_http_resp_started(resp) ? 500 : corio_http_resp_get_status(resp);
    struct series_cache *e = series_for(m, next->app->id, method, route, status);
    corio_counter_add(e->requests, 1);
    corio_histogram_observe_ns(e->duration, dt);
    return rc;
}

static double conns_sum(void *ctx)
{
    corio_http_metrics *m = ctx;
    size_t sum = 0;
    pthread_mutex_lock(&m->mu);
    for (size_t i = 0; i < m->nservers; i++)
        sum += corio_http_server_conns(m->servers[i]);
    pthread_mutex_unlock(&m->mu);
    return (double)sum;
}

int corio_http_metrics_add_server(corio_http_metrics *m, corio_http_server *srv)
{
    int rc = 0;
    pthread_mutex_lock(&m->mu);
    if (m->nservers == MAX_SERVERS) {
        rc = -ENOSPC;
    } else if (!m->conns_registered) {
        /* Registered under our mutex so that two workers adding their servers at once do not
         * both try (the second would get -EEXIST). The registry never calls back into us
         * while registering, so the nesting cannot deadlock. */
        rc = corio_gauge_func_register(m->reg, "http_connections_open", "Open HTTP connections.",
                                       conns_sum, m);
        m->conns_registered = rc == 0;
    }
    if (rc == 0)
        m->servers[m->nservers++] = srv;
    pthread_mutex_unlock(&m->mu);
    return rc;
}

void corio_http_metrics_remove_server(corio_http_metrics *m, corio_http_server *srv)
{
    pthread_mutex_lock(&m->mu);
    for (size_t i = 0; i < m->nservers; i++) {
        if (m->servers[i] == srv) {
            m->servers[i] = m->servers[--m->nservers];
            break;
        }
    }
    pthread_mutex_unlock(&m->mu);
}
