/* SPDX-License-Identifier: MIT */
/* examples/http_api.c: a small JSON API with routing, path and query parameters, JSON in and
 * out, errors as JSON, built-in and custom middleware, limits, several workers and a graceful
 * shutdown.
 *
 * Routes (users live in memory, shared by every worker):
 *     GET    /users?limit=N        the first N users (default 100)
 *     POST   /users                {"name": "..."}  -> 201 with Location, 400 for bad JSON,
 *                                  422 for a missing or bad name
 *     GET    /users/{id:int}       one user, or 404
 *     DELETE /users/{id:int}       204, or 404
 *     GET    /slow?ms=N            answers after N ms: try a SIGTERM while it runs
 * Middleware, outermost first: request id, JSON access log, a custom one that adds
 * Cache-Control and logs slow requests, a rate limit of 20 requests/s per client IP (burst 40),
 * and a custom one that answers POST and DELETE early with 401 unless they carry
 * "Authorization: Bearer <API_TOKEN>". Limits: bodies up to 16 KiB (413), request heads within
 * 5 s (408), at most 1000 connections per worker.
 *
 * Shutdown: on SIGTERM or SIGINT every worker's server drains at once: no new connections,
 * idle ones close, requests in flight finish (for up to 10 s; a second signal cuts it short),
 * then the process exits 0. Logs are JSON lines on stderr (LOG_LEVEL=debug|info|warn|error).
 *
 *     example_http_api [port] [workers]      (or PORT / WORKERS; default 8080 and 1)
 *     curl -H 'Authorization: Bearer secret' -d '{"name":"Ada"}' localhost:8080/users
 */
#include <corio/core.h>
#include <corio/http.h>
#include <corio/http_mw.h>
#include <corio/net.h>
#include <corio/obs.h>
#include <corio/signal.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_WORKERS 64
#define MAX_USERS 1000

/* ---- the data -------------------------------------------------------------------------------- */

struct user {
    long id;
    char name[64];
};

/* Handlers of every worker thread share the store, so a pthread mutex guards it. That is fine
 * in a task as long as it is never held across a call that suspends (nothing below does). */
static struct {
    pthread_mutex_t mu;
    struct user users[MAX_USERS];
    size_t n;
    long next_id;
} store = {.mu = PTHREAD_MUTEX_INITIALIZER, .next_id = 1};

static json_t *user_json(const struct user *u)
{
    return json_pack("{s:I, s:s}", "id", (json_int_t)u->id, "name", u->name);
}

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

static bool str_is(corio_str s, const char *lit)
{
    return s.len == strlen(lit) && memcmp(s.ptr, lit, s.len) == 0;
}

/* ---- handlers -------------------------------------------------------------------------------- */

static int list_users(corio_http_req *req, corio_http_resp *resp, void *ctx)
{
    long limit = 100;
    corio_str v;
    if (corio_http_req_query_param(req, "limit", &v) && (!parse_long(v, 1000, &limit) || !limit))
        return corio_http_resp_error(resp, 400, NULL, "limit must be a number from 1 to 1000");
    json_t *list = json_array();
    if (!list)
        return -ENOMEM;
    pthread_mutex_lock(&store.mu);
    for (size_t i = 0; i < store.n && i < (size_t)limit; i++)
        json_array_append_new(list, user_json(&store.users[i]));
    pthread_mutex_unlock(&store.mu);
    int rc = corio_http_resp_json(resp, 200, list); /* suspends: after the unlock */
    json_decref(list);
    return rc;
}

static int create_user(corio_http_req *req, corio_http_resp *resp, void *ctx)
{
    json_error_t jerr;
    json_t *in;
    int rc = corio_http_req_json(req, &in, &jerr);
    if (rc < 0) /* 400 saying where the JSON is wrong, 413 if too large */
        return corio_http_resp_json_error(resp, rc, &jerr);
    json_t *name = json_object_get(in, "name");
    size_t len = json_string_length(name);
    if (!json_is_string(name) || len == 0 || len >= sizeof store.users[0].name) {
        json_decref(in);
        return corio_http_resp_error(resp, 422, NULL, "\"name\" must be a string of 1 to 63 bytes");
    }
    struct user u = {0};
    memcpy(u.name, json_string_value(name), len);
    json_decref(in);
    pthread_mutex_lock(&store.mu);
    bool full = store.n == MAX_USERS;
    if (!full) {
        u.id = store.next_id++;
        store.users[store.n++] = u;
    }
    pthread_mutex_unlock(&store.mu);
    if (full)
        return corio_http_resp_error(resp, 503, NULL, "the store is full");
    char location[32];
    snprintf(location, sizeof location, "/users/%ld", u.id);
    json_t *out = user_json(&u);
    rc = out ? corio_http_resp_header(resp, "Location", location) : -ENOMEM;
    if (rc == 0)
        rc = corio_http_resp_json(resp, 201, out);
    json_decref(out);
    return rc;
}

/* "{id:int}" only matches 1 to 18 digits, so the parameter is always a number. */
static long id_param(corio_http_req *req)
{
    corio_str v;
    long id = -1;
    if (corio_http_req_param(req, "id", &v))
        parse_long(v, 999999999999999999L, &id);
    return id;
}

static int get_user(corio_http_req *req, corio_http_resp *resp, void *ctx)
{
    long id = id_param(req);
    struct user u = {.id = -1};
    pthread_mutex_lock(&store.mu);
    for (size_t i = 0; i < store.n; i++)
        if (store.users[i].id == id)
            u = store.users[i];
    pthread_mutex_unlock(&store.mu);
    if (u.id < 0)
        return corio_http_resp_error(resp, 404, NULL, "no user with this id");
    json_t *out = user_json(&u);
    int rc = out ? corio_http_resp_json(resp, 200, out) : -ENOMEM;
    json_decref(out);
    return rc;
}

static int delete_user(corio_http_req *req, corio_http_resp *resp, void *ctx)
{
    long id = id_param(req);
    bool found = false;
    pthread_mutex_lock(&store.mu);
    for (size_t i = 0; i < store.n && !found; i++)
        if ((found = store.users[i].id == id))
            store.users[i] = store.users[--store.n];
    pthread_mutex_unlock(&store.mu);
    if (!found)
        return corio_http_resp_error(resp, 404, NULL, "no user with this id");
    return corio_http_resp_text(resp, 204, NULL, NULL, 0);
}

static int slow(corio_http_req *req, corio_http_resp *resp, void *ctx)
{
    long ms = 1000;
    corio_str v;
    if (corio_http_req_query_param(req, "ms", &v) && !parse_long(v, 60000, &ms))
        return corio_http_resp_error(resp, 400, NULL, "ms must be a number from 0 to 60000");
    int rc = corio_sleep(ms * CORIO_MS); /* other requests go on meanwhile */
    if (rc < 0)
        return rc; /* -ECANCELED: a hard stop; the client gets a 503 */
    return corio_http_resp_json_strs(resp, 200, "slept", "done");
}

/* ---- custom middleware ----------------------------------------------------------------------- */

/* Code before corio_http_next() runs before the handler, code after it once the response has
 * been sent. So headers are added before: afterwards the response has usually started. */
static int cache_and_timing(corio_http_req *req, corio_http_resp *resp, corio_http_chain *next,
                            void *ctx)
{
    int64_t t0 = corio_clock(); /* read afresh: corio_now() is the loop iteration's time */
    int rc = corio_http_resp_header(resp, "Cache-Control", "no-store");
    if (rc == 0)
        rc = corio_http_next(req, resp, next); /* the inner middleware, then the handler */
    int64_t ms = (corio_clock() - t0) / CORIO_MS;
    if (ms >= 500) /* the request id is added to the line by the logger */
        corio_log_json(CORIO_LOG_WARN, "api", "slow request",
                       CORIO_LOG_STR("route", corio_http_req_route(req)),
                       CORIO_LOG_INT("status", corio_http_resp_get_status(resp)),
                       CORIO_LOG_INT("ms", ms));
    return rc;
}

/* Answers early: a write without the right token never reaches the router. */
static int require_token(corio_http_req *req, corio_http_resp *resp, corio_http_chain *next,
                         void *ctx)
{
    const char *token = ctx;
    size_t tl = strlen(token);
    corio_str m = corio_http_req_method(req), auth;
    if (str_is(m, "GET") || str_is(m, "HEAD") || str_is(m, "OPTIONS"))
        return corio_http_next(req, resp, next);
    if (corio_http_req_header(req, "Authorization", &auth) && auth.len == 7 + tl &&
        memcmp(auth.ptr, "Bearer ", 7) == 0 && memcmp(auth.ptr + 7, token, tl) == 0)
        return corio_http_next(req, resp, next);
    int rc = corio_http_resp_header(resp, "WWW-Authenticate", "Bearer");
    if (rc == 0)
        rc = corio_http_resp_error(resp, 401, NULL, "send Authorization: Bearer <token>");
    return rc;
}

/* ---- the app --------------------------------------------------------------------------------- */

struct api {
    corio_http_app *app;
    corio_http_ratelimit *ratelimit;
    const char *token;
    int port;
    corio_http_server *servers[MAX_WORKERS]; /* [i] is used by worker i's loop only */
};

static int build_app(struct api *a)
{
    struct corio_http_ratelimit_opts rl = {.rate = 20, .burst = 40};
    int rc = corio_http_app_new(&a->app);
    if (rc == 0)
        rc = corio_http_ratelimit_new(&rl, &a->ratelimit);
    /* Outermost first: everything after the request id logs with it; the 401s and 429s of the
     * inner ones are logged. */
    if (rc == 0)
        rc = corio_http_app_use(a->app, corio_http_request_id_mw, NULL);
    if (rc == 0)
        rc = corio_http_app_use(a->app, corio_http_access_log_mw, NULL);
    if (rc == 0)
        rc = corio_http_app_use(a->app, cache_and_timing, NULL);
    if (rc == 0)
        rc = corio_http_app_use(a->app, corio_http_ratelimit_mw, a->ratelimit);
    if (rc == 0)
        rc = corio_http_app_use(a->app, require_token, (void *)a->token);
    if (rc == 0)
        rc = corio_http_app_route(a->app, "GET", "/users", list_users, NULL);
    if (rc == 0)
        rc = corio_http_app_route(a->app, "POST", "/users", create_user, NULL);
    if (rc == 0)
        rc = corio_http_app_route(a->app, "GET", "/users/{id:int}", get_user, NULL);
    if (rc == 0)
        rc = corio_http_app_route(a->app, "DELETE", "/users/{id:int}", delete_user, NULL);
    if (rc == 0)
        rc = corio_http_app_route(a->app, "GET", "/slow", slow, NULL);
    return rc;
}

/* ---- graceful shutdown over every worker ----------------------------------------------------- */

/* On worker i's loop: drains its server (0 once every connection has closed). */
static int drain_one(void *arg)
{
    struct api *a = arg;
    corio_http_server *srv = a->servers[corio_worker_id()];
    return srv ? corio_http_server_drain(srv) : 0;
}

struct drain_call {
    struct api *api;
    int worker, result;
};

static int call_drain(void *arg)
{
    struct drain_call *c = arg;
    int res = 0;
    int rc = corio_loop_call(corio_worker_loop(c->worker), drain_one, c->api, &res);
    c->result = rc < 0 ? rc : res; /* -ESHUTDOWN: that worker has ended already */
    return 0;
}

/* The drain step of corio_shutdown_on_signal, on worker 0 under its deadline: one child task
 * per worker, so that every server stops accepting at the same moment and the drain takes as
 * long as the slowest worker. */
static int drain_all(void *ctx)
{
    struct drain_call calls[MAX_WORKERS];
    corio_group *g;
    int n = corio_worker_count();
    int rc = corio_group_open(&g);
    if (rc < 0)
        return rc;
    for (int i = 0; i < n && rc == 0; i++) {
        calls[i] = (struct drain_call){.api = ctx, .worker = i};
        rc = corio_spawn(g, call_drain, &calls[i]);
    }
    if (rc == 0)
        rc = corio_group_wait(g); /* -ETIMEDOUT when the drain deadline passes */
    corio_group_close(g);         /* calls[] must outlive the children */
    corio_log(CORIO_LOG_INFO, "api", "drain: %s", corio_strerror(rc));
    return rc;
}

static int watch_signals(void *arg)
{
    struct corio_shutdown_opts o = {.drain = drain_all, .ctx = arg, .drain_ns = 10 * CORIO_S};
    int sig = corio_shutdown_on_signal(&o); /* drains, then corio_shutdown() */
    return sig > 0 ? 0 : sig;
}

static int run_server(void *arg)
{
    return corio_http_server_run(arg); /* 0 once drained */
}

/* ---- every worker ---------------------------------------------------------------------------- */

static int worker_main(void *arg)
{
    struct api *a = arg;
    int id = corio_worker_id();
    corio_listener *l;
    corio_group *g = NULL;
    int rc = corio_tcp_listen(NULL, a->port, &(struct corio_listen_opts){.reuseport = true}, &l);
    if (rc < 0) {
        corio_log(CORIO_LOG_ERROR, "api", "cannot listen on port %d: %s", a->port,
                  corio_strerror(rc));
        corio_shutdown();
        return rc;
    }
    struct corio_http_server_opts so = {
        .limits = {.max_body = 16 * 1024},      /* 413 above; the default is 1 MiB */
        .timeouts = {.header_ns = 5 * CORIO_S}, /* 408 for a slow head; the default is 10 s */
        .max_conns = 1000,                      /* then stop accepting until one closes */
    };
    rc = corio_http_server_new(a->app, l, &so, &a->servers[id]);
    if (rc == 0)
        rc = corio_group_open(&g);
    if (rc == 0)
        rc = corio_spawn(g, run_server, a->servers[id]);
    if (rc == 0 && id == 0 && (rc = corio_spawn(NULL, watch_signals, a)) == 0) {
        corio_yield(); /* the watcher is waiting now: SIGTERM drains from here on */
        corio_log(CORIO_LOG_INFO, "api", "listening on port %d with %d worker(s)", a->port,
                  corio_worker_count());
    }
    if (rc == 0)
        rc = corio_group_wait(g); /* the server ended: drained (0), or the run is ending */
    if (rc == 0)
        rc = corio_sleep_until(CORIO_FOREVER); /* drained: wait for corio_shutdown(), which comes
                                                  after every drain call has returned */
    if (g)
        corio_group_close(g);
    corio_http_server_free(a->servers[id]); /* no drain call is inside it any more */
    a->servers[id] = NULL;
    corio_listener_close(l);
    return rc == -ECANCELED ? 0 : rc;
}

/* argv[i], else the environment variable env, else def; -1 if it is not a number > 0. */
static int int_arg(int argc, char **argv, int i, const char *env, int def)
{
    const char *s = i < argc ? argv[i] : getenv(env);
    if (!s || !*s)
        return def;
    char *end;
    long v = strtol(s, &end, 10);
    return *end || v <= 0 || v > 65535 ? -1 : (int)v;
}

int main(int argc, char **argv)
{
    static struct api a; /* read by every worker during the run */
    a.port = int_arg(argc, argv, 1, "PORT", 8080);
    int workers = int_arg(argc, argv, 2, "WORKERS", 1);
    a.token = getenv("API_TOKEN") ? getenv("API_TOKEN") : "secret";
    if (a.port < 0 || workers < 0 || workers > MAX_WORKERS) {
        fprintf(stderr, "usage: %s [port] [workers 1..%d]\n", argv[0], MAX_WORKERS);
        return 2;
    }
    int rc = build_app(&a);
    if (rc == 0)
        rc = corio_logger_start(NULL); /* JSON lines on stderr; level from LOG_LEVEL */
    if (rc == 0) {
        rc = corio_run(&(struct corio_run_opts){.workers = workers}, worker_main, &a);
        corio_log(CORIO_LOG_INFO, "api", "stopped: %s", corio_strerror(rc));
        corio_logger_stop();
    }
    if (rc < 0)
        fprintf(stderr, "http_api: %s\n", corio_strerror(rc));
    corio_http_app_free(a.app);
    corio_http_ratelimit_free(a.ratelimit);
    return rc < 0 ? 1 : 0;
}
