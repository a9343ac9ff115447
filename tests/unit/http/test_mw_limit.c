/* SPDX-License-Identifier: MIT */
/* Tests of the rate-limit and CORS middleware through the in-process test client: a burst and
 * then 429 with the exact Retry-After and RateLimit-* headers, refill after virtual time,
 * isolation by peer address and by API-key header, a pluggable backend (its answer used
 * verbatim, its failure failing open), and CORS preflights (early 204, allowed and refused
 * origins, echoed request headers) and simple requests (exact origin, "*", credentials, Vary).
 */
#include "corio/http_mw.h"
#include "harness/json_check.h"
#include "http/mw_int.h"
#include "mw_util.h"
#include "test.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static int handled; /* requests that reached a handler */

static int h_ok(corio_http_req *req, corio_http_resp *resp, void *ctx)
{
    __atomic_fetch_add(&handled, 1, __ATOMIC_RELAXED); /* workers share it */
    return corio_http_resp_text(resp, 200, "text/plain", "ok", 2);
}

static corio_http_app *new_app(corio_http_middleware mw, void *ctx)
{
    corio_http_app *app;
    ASSERT_EQ(corio_http_app_new(&app), 0);
    ASSERT_EQ(corio_http_app_route(app, "GET", "/r", h_ok, NULL), 0);
    ASSERT_EQ(corio_http_app_route(app, "POST", "/r", h_ok, NULL), 0);
    ASSERT_EQ(corio_http_app_use(app, mw, ctx), 0);
    return app;
}

static void expect_limits(const struct corio_http_test_resp *r, const char *limit,
                          const char *remaining, const char *reset)
{
    ASSERT_STREQ(corio_http_test_header(r, "RateLimit-Limit"), limit);
    ASSERT_STREQ(corio_http_test_header(r, "RateLimit-Remaining"), remaining);
    ASSERT_STREQ(corio_http_test_header(r, "RateLimit-Reset"), reset);
}

/* ---- rate limit ------------------------------------------------------------------------------ */

static int burst_then_429(corio_http_app *app)
{
    struct corio_http_test_resp r;
    static const char *const remaining[] = {"2", "1", "0"};
    static const char *const reset[] = {"1", "2", "3"};
    for (int i = 0; i < 3; i++) {
        get(app, "/r", NULL, &r);
        ASSERT_EQ(r.status, 200);
        expect_limits(&r, "3", remaining[i], reset[i]);
        ASSERT_NULL(corio_http_test_header(&r, "Retry-After"));
        corio_http_test_resp_free(&r);
    }
    get(app, "/r", NULL, &r);
    ASSERT_EQ(r.status, 429);
    expect_limits(&r, "3", "0", "3");
    ASSERT_STREQ(corio_http_test_header(&r, "Retry-After"), "1");
    ASSERT_STREQ(corio_http_test_header(&r, "Content-Type"), "application/json");
    char err[200], v[64];
    ASSERT_EQ(json_validate(r.body, r.body_len, err, sizeof err), 0);
    ASSERT_GT(json_get_string(r.body, r.body_len, "error", v, sizeof v), 0);
    ASSERT_STREQ(v, "too many requests");
    corio_http_test_resp_free(&r);
    ASSERT_EQ(handled, 3);

    /* 400 ms later still refused, Retry-After rounds the remaining 600 ms up. */
    ASSERT_EQ(corio_sleep(400 * CORIO_MS), 0);
    get(app, "/r", NULL, &r);
    ASSERT_EQ(r.status, 429);
    ASSERT_STREQ(corio_http_test_header(&r, "Retry-After"), "1");
    corio_http_test_resp_free(&r);
    /* After a full second one token is back; after 3 more the bucket is full. */
    ASSERT_EQ(corio_sleep(600 * CORIO_MS), 0);
    get(app, "/r", NULL, &r);
    ASSERT_EQ(r.status, 200);
    expect_limits(&r, "3", "0", "3");
    corio_http_test_resp_free(&r);
    ASSERT_EQ(corio_sleep(3 * CORIO_S), 0);
    get(app, "/r", NULL, &r);
    ASSERT_EQ(r.status, 200);
    expect_limits(&r, "3", "2", "1");
    corio_http_test_resp_free(&r);
    ASSERT_EQ(handled, 5);
    return 0;
}

TEST(ratelimit_burst_then_429_then_refill)
{
    corio_http_ratelimit *rl;
    ASSERT_EQ(
        corio_http_ratelimit_new(&(struct corio_http_ratelimit_opts){.rate = 1, .burst = 3}, &rl),
        0);
    corio_http_app *app = new_app(corio_http_ratelimit_mw, rl);
    run_app(app, burst_then_429);
    corio_http_app_free(app);
    corio_http_ratelimit_free(rl);
}

static int slow_rate(corio_http_app *app)
{
    struct corio_http_test_resp r;
    get(app, "/r", NULL, &r);
    ASSERT_EQ(r.status, 200);
    expect_limits(&r, "1", "0", "4");
    corio_http_test_resp_free(&r);
    get(app, "/r", NULL, &r);
    ASSERT_EQ(r.status, 429);
    ASSERT_STREQ(corio_http_test_header(&r, "Retry-After"), "4");
    corio_http_test_resp_free(&r);
    return 0;
}

TEST(ratelimit_retry_after_for_slow_rates)
{
    corio_http_ratelimit *rl;
    ASSERT_EQ(corio_http_ratelimit_new(&(struct corio_http_ratelimit_opts){.rate = 0.25}, &rl), 0);
    corio_http_app *app = new_app(corio_http_ratelimit_mw, rl);
    run_app(app, slow_rate);
    corio_http_app_free(app);
    corio_http_ratelimit_free(rl);
}

static int status_from(corio_http_app *app, const char *ip, const char *headers)
{
    corio_addr peer;
    ASSERT_EQ(corio_addr_parse(ip, 5555, &peer), 0);
    char raw[512];
    snprintf(raw, sizeof raw, "GET /r HTTP/1.1\r\nHost: t\r\n%s\r\n", headers ? headers : "");
    struct corio_http_test_resp r;
    ASSERT_EQ(corio_http_test_request_ex(app, &(struct corio_http_test_opts){.peer = &peer}, raw,
                                         strlen(raw), &r),
              0);
    int st = r.status;
    corio_http_test_resp_free(&r);
    return st;
}

static int isolation(corio_http_app *app)
{
    /* By IP: two addresses, two buckets of one. */
    ASSERT_EQ(status_from(app, "10.0.0.1", NULL), 200);
    ASSERT_EQ(status_from(app, "10.0.0.1", NULL), 429);
    ASSERT_EQ(status_from(app, "10.0.0.2", NULL), 200);
    ASSERT_EQ(status_from(app, "::1", NULL), 200);
    ASSERT_EQ(status_from(app, "::1", NULL), 429);
    /* By key: the header wins over the address, whoever sends it. */
    ASSERT_EQ(status_from(app, "10.0.0.3", "X-API-Key: alpha\r\n"), 200);
    ASSERT_EQ(status_from(app, "10.0.0.4", "X-API-Key: alpha\r\n"), 429);
    ASSERT_EQ(status_from(app, "10.0.0.4", "x-api-key: beta\r\n"), 200);
    /* Without the header the address is the key again (10.0.0.4 is still fresh). */
    ASSERT_EQ(status_from(app, "10.0.0.4", NULL), 200);
    ASSERT_EQ(status_from(app, "10.0.0.4", NULL), 429);
    return 0;
}

TEST(ratelimit_isolates_keys_by_ip_and_header)
{
    corio_http_ratelimit *rl;
    ASSERT_EQ(
        corio_http_ratelimit_new(
            &(struct corio_http_ratelimit_opts){.rate = 1, .burst = 1, .key_header = "X-API-Key"},
            &rl),
        0);
    corio_http_app *app = new_app(corio_http_ratelimit_mw, rl);
    run_app(app, isolation);
    ASSERT_EQ(corio_http_ratelimit_keys(rl), 0u); /* this thread has no loop: its own slot */
    corio_http_app_free(app);
    corio_http_ratelimit_free(rl);
}

struct backend {
    char last_key[64];
    int calls;
    int fail;
};

static int backend_take(void *ctx, const char *key, size_t len,
                        struct corio_http_ratelimit_result *out)
{
    struct backend *b = ctx;
    b->calls++;
    snprintf(b->last_key, sizeof b->last_key, "%.*s", (int)len, key);
    if (b->fail)
        return -ECONNREFUSED;
    *out = (struct corio_http_ratelimit_result){.allowed = b->calls == 1,
                                                .limit = 100,
                                                .remaining = 0,
                                                .reset_ns = 42 * CORIO_S + 1,
                                                .retry_ns = 7 * CORIO_S};
    return 0;
}

static struct backend be;

static int backend_main(corio_http_app *app)
{
    struct corio_http_test_resp r;
    get(app, "/r", NULL, &r);
    ASSERT_EQ(r.status, 200);
    ASSERT_STREQ(be.last_key, "127.0.0.1");
    expect_limits(&r, "100", "0", "43");
    corio_http_test_resp_free(&r);
    get(app, "/r", NULL, &r);
    ASSERT_EQ(r.status, 429);
    ASSERT_STREQ(corio_http_test_header(&r, "Retry-After"), "7");
    corio_http_test_resp_free(&r);
    /* A failing backend lets requests through, without RateLimit headers. */
    be.fail = 1;
    get(app, "/r", NULL, &r);
    ASSERT_EQ(r.status, 200);
    ASSERT_NULL(corio_http_test_header(&r, "RateLimit-Limit"));
    corio_http_test_resp_free(&r);
    ASSERT_EQ(be.calls, 3);
    return 0;
}

TEST(ratelimit_pluggable_backend)
{
    corio_http_ratelimit *rl;
    ASSERT_EQ(corio_http_ratelimit_new(
                  &(struct corio_http_ratelimit_opts){.take = backend_take, .take_ctx = &be}, &rl),
              0);
    corio_http_app *app = new_app(corio_http_ratelimit_mw, rl);
    run_app(app, backend_main);
    corio_http_app_free(app);
    corio_http_ratelimit_free(rl);
}

/* ---- CORS ----------------------------------------------------------------------------------- */

static const char preflight_hdrs[] = "Origin: https://a.example\r\n"
                                     "Access-Control-Request-Method: POST\r\n"
                                     "Access-Control-Request-Headers: content-type, x-token\r\n";

static int cors_list(corio_http_app *app)
{
    struct corio_http_test_resp r;
    handled = 0;
    send_h(app, "OPTIONS", "/r", preflight_hdrs, &r);
    ASSERT_EQ(r.status, 204);
    ASSERT_STREQ(corio_http_test_header(&r, "Access-Control-Allow-Origin"), "https://a.example");
    ASSERT_STREQ(corio_http_test_header(&r, "Access-Control-Allow-Methods"),
                 "GET, HEAD, POST, PUT, PATCH, DELETE");
    ASSERT_STREQ(corio_http_test_header(&r, "Access-Control-Allow-Headers"),
                 "content-type, x-token");
    ASSERT_STREQ(corio_http_test_header(&r, "Access-Control-Max-Age"), "600");
    ASSERT(has_header_line(&r, "Vary", "Origin"));
    ASSERT_NULL(corio_http_test_header(&r, "Access-Control-Allow-Credentials"));
    ASSERT_EQ(r.body_len, 0u);
    corio_http_test_resp_free(&r);
    ASSERT_EQ(handled, 0); /* answered early */

    /* A refused origin's preflight: 204 without permission. */
    send_h(app, "OPTIONS", "/r",
           "Origin: https://evil.example\r\nAccess-Control-Request-Method: POST\r\n", &r);
    ASSERT_EQ(r.status, 204);
    ASSERT_NULL(corio_http_test_header(&r, "Access-Control-Allow-Origin"));
    ASSERT_NULL(corio_http_test_header(&r, "Access-Control-Allow-Methods"));
    corio_http_test_resp_free(&r);

    /* Simple requests. */
    get(app, "/r", "Origin: https://b.example\r\n", &r);
    ASSERT_EQ(r.status, 200);
    ASSERT_STREQ(corio_http_test_header(&r, "Access-Control-Allow-Origin"), "https://b.example");
    ASSERT_STREQ(corio_http_test_header(&r, "Access-Control-Expose-Headers"), "X-Total");
    ASSERT(has_header_line(&r, "Vary", "Origin"));
    corio_http_test_resp_free(&r);
    get(app, "/r", "Origin: https://evil.example\r\n", &r);
    ASSERT_EQ(r.status, 200);
    ASSERT_NULL(corio_http_test_header(&r, "Access-Control-Allow-Origin"));
    ASSERT(has_header_line(&r, "Vary", "Origin"));
    corio_http_test_resp_free(&r);
    get(app, "/r", NULL, &r);
    ASSERT_EQ(r.status, 200);
    ASSERT_NULL(corio_http_test_header(&r, "Access-Control-Allow-Origin"));
    ASSERT(has_header_line(&r, "Vary", "Origin")); /* the answer depends on Origin */
    corio_http_test_resp_free(&r);
    /* OPTIONS without Access-Control-Request-Method is not a preflight: the router answers. */
    send_h(app, "OPTIONS", "/r", "Origin: https://a.example\r\n", &r);
    ASSERT_EQ(r.status, 204);
    ASSERT_NOT_NULL(corio_http_test_header(&r, "Allow"));
    ASSERT_STREQ(corio_http_test_header(&r, "Access-Control-Allow-Origin"), "https://a.example");
    corio_http_test_resp_free(&r);
    ASSERT_EQ(handled, 3);
    return 0;
}

TEST(cors_origin_list_preflight_and_simple_requests)
{
    corio_http_cors *c;
    ASSERT_EQ(corio_http_cors_new(
                  &(struct corio_http_cors_opts){.origins = "https://a.example , https://b.example",
                                                 .expose_headers = "X-Total"},
                  &c),
              0);
    corio_http_app *app = new_app(corio_http_cors_mw, c);
    run_app(app, cors_list);
    corio_http_app_free(app);
    corio_http_cors_free(c);
}

static int cors_any(corio_http_app *app)
{
    struct corio_http_test_resp r;
    get(app, "/r", "Origin: https://whoever.example\r\n", &r);
    ASSERT_STREQ(corio_http_test_header(&r, "Access-Control-Allow-Origin"), "*");
    ASSERT_EQ(header_count(&r, "Vary"), 0u); /* the same for every origin */
    corio_http_test_resp_free(&r);
    send_h(app, "OPTIONS", "/r", preflight_hdrs, &r);
    ASSERT_EQ(r.status, 204);
    ASSERT_STREQ(corio_http_test_header(&r, "Access-Control-Allow-Origin"), "*");
    ASSERT_STREQ(corio_http_test_header(&r, "Access-Control-Allow-Methods"), "GET, POST");
    ASSERT_STREQ(corio_http_test_header(&r, "Access-Control-Allow-Headers"), "Content-Type");
    ASSERT_NULL(corio_http_test_header(&r, "Access-Control-Max-Age"));
    corio_http_test_resp_free(&r);
    return 0;
}

TEST(cors_any_origin)
{
    corio_http_cors *c;
    ASSERT_EQ(corio_http_cors_new(&(struct corio_http_cors_opts){.origins = "*",
                                                                 .methods = "GET, POST",
                                                                 .headers = "Content-Type",
                                                                 .max_age = -1},
                                  &c),
              0);
    corio_http_app *app = new_app(corio_http_cors_mw, c);
    run_app(app, cors_any);
    corio_http_app_free(app);
    corio_http_cors_free(c);
}

static int cors_credentials(corio_http_app *app)
{
    struct corio_http_test_resp r;
    get(app, "/r", "Origin: https://whoever.example\r\n", &r);
    /* Credentials forbid "*": the origin is echoed, and the answer varies with it. */
    ASSERT_STREQ(corio_http_test_header(&r, "Access-Control-Allow-Origin"),
                 "https://whoever.example");
    ASSERT_STREQ(corio_http_test_header(&r, "Access-Control-Allow-Credentials"), "true");
    ASSERT(has_header_line(&r, "Vary", "Origin"));
    corio_http_test_resp_free(&r);
    send_h(app, "OPTIONS", "/r", preflight_hdrs, &r);
    ASSERT_STREQ(corio_http_test_header(&r, "Access-Control-Max-Age"), "30");
    ASSERT_STREQ(corio_http_test_header(&r, "Access-Control-Allow-Credentials"), "true");
    ASSERT(has_header_line(&r, "Vary", "Access-Control-Request-Headers"));
    corio_http_test_resp_free(&r);
    return 0;
}

TEST(cors_credentials_never_use_star)
{
    corio_http_cors *c;
    ASSERT_EQ(
        corio_http_cors_new(&(struct corio_http_cors_opts){.credentials = true, .max_age = 30}, &c),
        0);
    corio_http_app *app = new_app(corio_http_cors_mw, c);
    run_app(app, cors_credentials);
    corio_http_app_free(app);
    corio_http_cors_free(c);
}

TEST(cors_rejects_empty_origin_in_list)
{
    corio_http_cors *c;
    ASSERT_EQ(corio_http_cors_new(&(struct corio_http_cors_opts){.origins = "https://a,,b"}, &c),
              -EINVAL);
    ASSERT_EQ(corio_http_cors_new(&(struct corio_http_cors_opts){.origins = ""}, &c), -EINVAL);
    ASSERT_EQ(corio_http_cors_new(NULL, &c), 0);
    corio_http_cors_free(c);
}

/* ---- per-worker state -------------------------------------------------------------------------
 */

static corio_http_app *workers_app;
static corio_http_ratelimit *workers_rl;
static int workers_allowed[8], workers_refused[8];

static int worker_main(void *arg)
{
    int id = corio_worker_id();
    ASSERT(id >= 0 && id < 8);
    for (int i = 0; i < 5; i++) {
        struct corio_http_test_resp r;
        get(workers_app, "/r", "Accept-Encoding: gzip\r\n", &r);
        if (r.status == 200)
            workers_allowed[id]++;
        else if (r.status == 429)
            workers_refused[id]++;
        corio_http_test_resp_free(&r);
        corio__http_ratelimit_validate(workers_rl);
    }
    ASSERT_EQ(corio_http_ratelimit_keys(workers_rl), 1u);
    return 0;
}

static int sum(const int *a)
{
    return a[0] + a[1] + a[2] + a[3];
}

TEST(ratelimit_state_is_per_worker_loop)
{
    /* Every worker sees the same client (127.0.0.1) and gets its own bucket of 2: no worker
     * sees another's tokens, and nothing is shared between threads (run under TSan too). */
    ASSERT_EQ(corio_http_ratelimit_new(
                  &(struct corio_http_ratelimit_opts){.rate = 0.001, .burst = 2}, &workers_rl),
              0);
    workers_app = new_app(corio_http_ratelimit_mw, workers_rl);
    ASSERT_EQ(corio_http_app_use(workers_app, corio_http_gzip_mw, NULL), 0);
    ASSERT_EQ(
        corio_run(&(struct corio_run_opts){.workers = 4, .virtual_time = true}, worker_main, NULL),
        0);
    for (int i = 0; i < 4; i++) {
        ASSERT_EQ(workers_allowed[i], 2);
        ASSERT_EQ(workers_refused[i], 3);
    }
    corio_http_app_free(workers_app);
    corio_http_ratelimit_free(workers_rl);
}

TEST(ratelimit_shared_holds_the_rate_across_workers)
{
    /* The same client on four workers with shared = true: one bucket of 2 for all of them. */
    memset(workers_allowed, 0, sizeof workers_allowed);
    memset(workers_refused, 0, sizeof workers_refused);
    ASSERT_EQ(corio_http_ratelimit_new(
                  &(struct corio_http_ratelimit_opts){.rate = 0.001, .burst = 2, .shared = true},
                  &workers_rl),
              0);
    workers_app = new_app(corio_http_ratelimit_mw, workers_rl);
    ASSERT_EQ(corio_http_app_use(workers_app, corio_http_gzip_mw, NULL), 0);
    ASSERT_EQ(
        corio_run(&(struct corio_run_opts){.workers = 4, .virtual_time = true}, worker_main, NULL),
        0);
    ASSERT_EQ(sum(workers_allowed), 2);
    ASSERT_EQ(sum(workers_refused), 18);
    corio_http_app_free(workers_app);
    corio_http_ratelimit_free(workers_rl);
}
