/* SPDX-License-Identifier: MIT */
/* The router and the middleware chain, driven through the in-process test client: precedence
 * of literal, parameter and catch-all segments whatever the registration order, {id:int},
 * the catch-all remainder, trailing-slash strictness, duplicate and malformed patterns refused
 * with -EINVAL (leaving the app usable), "*" method routes, the route pattern reported for
 * metrics, 404 / 405 with Allow / OPTIONS / HEAD, decoded path parameters, and middleware
 * order (outermost first, after-code seeing the final status, early answers).
 */
#include "test.h"

#include "corio/core.h"
#include "corio/http.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static const struct corio_run_opts VT = {.virtual_time = true, .watchdog_ns = -1};

/* A handler that answers "<tag>" followed by "|name=value" for each parameter named in the
 * space-separated list after the tag in ctx ("param id" answers "param|id=42"). */
static int tagged(corio_http_req *req, corio_http_resp *resp, void *ctx)
{
    const char *spec = ctx;
    char out[512];
    const char *sp = strchr(spec, ' ');
    size_t tl = sp ? (size_t)(sp - spec) : strlen(spec);
    int n = snprintf(out, sizeof out, "%.*s", (int)tl, spec);
    while (sp) {
        const char *name = sp + 1;
        sp = strchr(name, ' ');
        char nm[32];
        snprintf(nm, sizeof nm, "%.*s", (int)(sp ? (size_t)(sp - name) : strlen(name)), name);
        corio_str v;
        if (corio_http_req_param(req, nm, &v))
            n += snprintf(out + n, sizeof out - (size_t)n, "|%s=%.*s", nm, (int)v.len, v.ptr);
        else
            n += snprintf(out + n, sizeof out - (size_t)n, "|%s?", nm);
    }
    return corio_http_resp_text(resp, 200, "text/plain", out, (size_t)n);
}

/* GETs target and checks status and body (body NULL: not checked). */
static void expect(corio_http_app *app, const char *method, const char *target, int status,
                   const char *body)
{
    struct corio_http_test_resp res;
    ASSERT_EQ(corio_http_test_send(app, method, target, NULL, NULL, 0, &res), 0);
    if (res.status != status)
        fprintf(stderr, "%s %s -> %d %s\n", method, target, res.status, res.body);
    ASSERT_EQ(res.status, status);
    if (body)
        ASSERT_STREQ(res.body, body);
    corio_http_test_resp_free(&res);
}

/* ---- precedence ------------------------------------------------------------------------------ */

static const char *const PRECEDENCE[][2] = {
    {"/users/me", "lit"},
    {"/users/{id}", "param id"},
    {"/users/{path...}", "rest path"},
    {"/users/{id}/posts", "posts id"},
    {"/users/me/posts", "myposts"},
};

static void add_all(corio_http_app *app, const int *order)
{
    for (int i = 0; i < 5; i++) {
        const char *const *r = PRECEDENCE[order[i]];
        ASSERT_EQ(corio_http_app_route(app, "GET", r[0], tagged, (void *)r[1]), 0);
    }
}

static int precedence_main(void *arg)
{
    static const int orders[][5] = {
        {0, 1, 2, 3, 4}, {4, 3, 2, 1, 0}, {2, 1, 0, 4, 3}, {3, 2, 4, 0, 1}};
    (void)arg;
    for (size_t k = 0; k < sizeof orders / sizeof orders[0]; k++) {
        corio_http_app *app;
        ASSERT_EQ(corio_http_app_new(&app), 0);
        add_all(app, orders[k]);
        expect(app, "GET", "/users/me", 200, "lit");
        expect(app, "GET", "/users/42", 200, "param|id=42");
        expect(app, "GET", "/users/42/x/y", 200, "rest|path=42/x/y");
        expect(app, "GET", "/users/42/posts", 200, "posts|id=42");
        expect(app, "GET", "/users/me/posts", 200, "myposts");
        /* "me" is literal at the first level, but "/users/me/other" has no literal or
         * parameter continuation: the walk backtracks into the catch-all. */
        expect(app, "GET", "/users/me/other", 200, "rest|path=me/other");
        expect(app, "GET", "/users", 404, NULL);
        corio_http_app_free(app);
    }
    return 0;
}

TEST(literal_beats_param_beats_catch_all_in_any_registration_order)
{
    ASSERT_EQ(corio_run(&VT, precedence_main, NULL), 0);
}

static int int_param_main(void *arg)
{
    corio_http_app *app;
    (void)arg;
    ASSERT_EQ(corio_http_app_new(&app), 0);
    ASSERT_EQ(corio_http_app_route(app, "GET", "/items/{id:int}", tagged, "int id"), 0);
    ASSERT_EQ(
        corio_http_app_route(app, "GET", "/items/{id:int}/{rest...}", tagged, "intrest id rest"),
        0);
    ASSERT_EQ(corio_http_app_route(app, "GET", "/items/all", tagged, "all"), 0);
    expect(app, "GET", "/items/123", 200, "int|id=123");
    expect(app, "GET", "/items/0", 200, "int|id=0");
    expect(app, "GET", "/items/all", 200, "all");
    expect(app, "GET", "/items/12a", 404, NULL);
    expect(app, "GET", "/items/-1", 404, NULL);
    expect(app, "GET", "/items/", 404, NULL);
    expect(app, "GET", "/items/1234567890123456789", 404, NULL); /* over 18 digits */
    expect(app, "GET", "/items/7/a/b", 200, "intrest|id=7|rest=a/b");
    /* An {id:int} and a {name} at one position would make the order of tries ambiguous. */
    ASSERT_EQ(corio_http_app_route(app, "GET", "/items/{name}", tagged, "x"), -EINVAL);
    corio_http_app_free(app);
    return 0;
}

TEST(int_params_match_digits_only)
{
    ASSERT_EQ(corio_run(&VT, int_param_main, NULL), 0);
}

static int catch_all_main(void *arg)
{
    corio_http_app *app;
    (void)arg;
    ASSERT_EQ(corio_http_app_new(&app), 0);
    ASSERT_EQ(corio_http_app_route(app, "GET", "/static/{path...}", tagged, "s path"), 0);
    ASSERT_EQ(corio_http_app_route(app, "GET", "/{all...}", tagged, "root all"), 0);
    expect(app, "GET", "/static/css/site.css", 200, "s|path=css/site.css");
    expect(app, "GET", "/static/a%20b/c%2Fd", 200, "s|path=a b/c/d"); /* decoded */
    expect(app, "GET", "/static/", 200, "s|path=");
    expect(app, "GET", "/static/x//y/", 200, "s|path=x//y/");
    expect(app, "GET", "/static", 200, "root|all=static");
    expect(app, "GET", "/", 200, "root|all=");
    expect(app, "GET", "/static/%00", 400, NULL); /* a NUL in a parameter */
    corio_http_app_free(app);
    return 0;
}

TEST(catch_all_takes_the_decoded_remainder)
{
    ASSERT_EQ(corio_run(&VT, catch_all_main, NULL), 0);
}

static int trailing_main(void *arg)
{
    corio_http_app *app;
    (void)arg;
    ASSERT_EQ(corio_http_app_new(&app), 0);
    ASSERT_EQ(corio_http_app_route(app, "GET", "/a", tagged, "a"), 0);
    ASSERT_EQ(corio_http_app_route(app, "GET", "/b/", tagged, "b/"), 0);
    ASSERT_EQ(corio_http_app_route(app, "GET", "/c/{id}/", tagged, "c id"), 0);
    ASSERT_EQ(corio_http_app_route(app, "GET", "/", tagged, "root"), 0);
    expect(app, "GET", "/a", 200, "a");
    expect(app, "GET", "/a/", 404, NULL);
    expect(app, "GET", "/b/", 200, "b/");
    expect(app, "GET", "/b", 404, NULL);
    expect(app, "GET", "/c/1/", 200, "c|id=1");
    expect(app, "GET", "/c/1", 404, NULL);
    expect(app, "GET", "/c//", 404, NULL); /* an empty segment is no parameter */
    expect(app, "GET", "/", 200, "root");
    expect(app, "GET", "//", 404, NULL);
    /* "/a" and "/a/" are different routes, so both may be registered. */
    ASSERT_EQ(corio_http_app_route(app, "GET", "/a/", tagged, "a/"), 0);
    expect(app, "GET", "/a/", 200, "a/");
    expect(app, "GET", "/a", 200, "a");
    corio_http_app_free(app);
    return 0;
}

TEST(trailing_slash_is_strict)
{
    ASSERT_EQ(corio_run(&VT, trailing_main, NULL), 0);
}

/* ---- registration errors --------------------------------------------------------------------- */

static int dup_main(void *arg)
{
    corio_http_app *app;
    (void)arg;
    ASSERT_EQ(corio_http_app_new(&app), 0);
    ASSERT_EQ(corio_http_app_route(app, "GET", "/u/{id}", tagged, "first id"), 0);
    ASSERT_EQ(corio_http_app_route(app, "GET", "/u/{id}", tagged, "again"), -EINVAL);
    ASSERT_EQ(corio_http_app_route(app, "GET", "/u/{name}", tagged, "renamed"), -EINVAL);
    ASSERT_EQ(corio_http_app_route(app, "GET", "/u/{id:int}", tagged, "typed"), -EINVAL);
    ASSERT_EQ(corio_http_app_route(app, "POST", "/u/{id}", tagged, "post id"), 0);
    ASSERT_EQ(corio_http_app_route(app, "*", "/u/{id}", tagged, "any id"), 0);
    ASSERT_EQ(corio_http_app_route(app, "*", "/u/{id}", tagged, "any2"), -EINVAL);
    ASSERT_EQ(corio_http_app_route(app, "GET", "/s/{p...}", tagged, "s"), 0);
    ASSERT_EQ(corio_http_app_route(app, "GET", "/s/{q...}", tagged, "s2"), -EINVAL);
    /* The first registration still answers. */
    expect(app, "GET", "/u/7", 200, "first|id=7");
    expect(app, "POST", "/u/7", 200, "post|id=7");
    corio_http_app_free(app);
    return 0;
}

TEST(duplicate_routes_are_refused)
{
    ASSERT_EQ(corio_run(&VT, dup_main, NULL), 0);
}

static int malformed_main(void *arg)
{
    static const char *const bad[] = {
        "",
        "users",
        "/a//b",
        "//",
        "/{",
        "/}",
        "/{}",
        "/{a",
        "/a}",
        "/a{b}",
        "/{a}b",
        "/{path...}/x",
        "/{p...}/",
        "/{1a}",
        "/{a-b}",
        "/{a:float}",
        "/{:int}",
        "/{...}",
        "/a b",
        "/a?b",
        "/a#b",
        "/a%20b",
        "/caf\xc3\xa9",
        "/a\tb",
        "/{a}/{b}/{c}/{d}/{e}/{f}/{g}/{h}/{i}", /* nine parameters: more than can be kept */
    };
    corio_http_app *app;
    (void)arg;
    ASSERT_EQ(corio_http_app_new(&app), 0);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = corio_http_app_route(app, "GET", bad[i], tagged, "x");
        if (rc != -EINVAL)
            fprintf(stderr, "pattern \"%s\" gave %d\n", bad[i], rc);
        ASSERT_EQ(rc, -EINVAL);
    }
    ASSERT_EQ(corio_http_app_route(app, "GET", NULL, tagged, "x"), -EINVAL);
    ASSERT_EQ(corio_http_app_route(app, "GET", "/x", NULL, "x"), -EINVAL);
    ASSERT_EQ(corio_http_app_route(app, "", "/x", tagged, "x"), -EINVAL);
    ASSERT_EQ(corio_http_app_route(app, "GE T", "/x", tagged, "x"), -EINVAL);
    ASSERT_EQ(corio_http_app_route(app, "M-SEARCH", "/x", tagged, "x"), 0);
    ASSERT_EQ(corio_http_app_route(app, "AVERYLONGMETHODNAME", "/x", tagged, "x"), -EINVAL);
    /* Eight parameters are fine; refused patterns left nothing behind that would clash. */
    ASSERT_EQ(
        corio_http_app_route(app, "GET", "/{a}/{b}/{c}/{d}/{e}/{f}/{g}/{h}", tagged, "eight a h"),
        0);
    expect(app, "GET", "/1/2/3/4/5/6/7/8", 200, "eight|a=1|h=8");
    ASSERT_EQ(corio_http_app_route(app, "GET", "/{path}/x", tagged, "px path"), -EINVAL);
    ASSERT_EQ(corio_http_app_route(app, "GET", "/{a}/x", tagged, "ax a"), 0);
    expect(app, "GET", "/q/x", 200, "ax|a=q");
    corio_http_app_free(app);
    return 0;
}

TEST(malformed_patterns_are_refused)
{
    ASSERT_EQ(corio_run(&VT, malformed_main, NULL), 0);
}

/* ---- methods -----------------------------------------------------------------------------------
 */

static int methods_main(void *arg)
{
    corio_http_app *app;
    struct corio_http_test_resp res;
    (void)arg;
    ASSERT_EQ(corio_http_app_new(&app), 0);
    ASSERT_EQ(corio_http_app_route(app, "*", "/any", tagged, "star"), 0);
    ASSERT_EQ(corio_http_app_route(app, "GET", "/any", tagged, "get"), 0);
    ASSERT_EQ(corio_http_app_route(app, "GET", "/r", tagged, "r-get"), 0);
    ASSERT_EQ(corio_http_app_route(app, "POST", "/r", tagged, "r-post"), 0);
    ASSERT_EQ(corio_http_app_route(app, "DELETE", "/d", tagged, "d"), 0);
    ASSERT_EQ(corio_http_app_route(app, "OPTIONS", "/o", tagged, "own-options"), 0);

    expect(app, "GET", "/any", 200, "get"); /* an exact method beats "*" */
    expect(app, "POST", "/any", 200, "star");
    expect(app, "PURGE", "/any", 200, "star");
    expect(app, "OPTIONS", "/any", 200, "star");
    expect(app, "POST", "/r", 200, "r-post");

    /* 405 lists what the path allows, HEAD included for GET routes. */
    ASSERT_EQ(corio_http_test_send(app, "PUT", "/r", NULL, "x", 1, &res), 0);
    ASSERT_EQ(res.status, 405);
    ASSERT_STREQ(corio_http_test_header(&res, "Allow"), "GET, POST, HEAD, OPTIONS");
    ASSERT_STREQ(corio_http_test_header(&res, "Content-Type"), "application/json");
    ASSERT_STREQ(res.body, "{\"error\":\"Method Not Allowed\",\"detail\":\"GET, POST, HEAD, "
                           "OPTIONS\"}");
    corio_http_test_resp_free(&res);
    ASSERT_EQ(corio_http_test_get(app, "/d", &res), 0);
    ASSERT_EQ(res.status, 405);
    ASSERT_STREQ(corio_http_test_header(&res, "allow"), "DELETE, OPTIONS");
    corio_http_test_resp_free(&res);

    /* OPTIONS without a route of its own: 204 with Allow and no body. */
    ASSERT_EQ(corio_http_test_send(app, "OPTIONS", "/r", NULL, NULL, 0, &res), 0);
    ASSERT_EQ(res.status, 204);
    ASSERT_STREQ(corio_http_test_header(&res, "Allow"), "GET, POST, HEAD, OPTIONS");
    ASSERT_EQ(res.body_len, 0);
    ASSERT_NULL(corio_http_test_header(&res, "Content-Length"));
    corio_http_test_resp_free(&res);
    expect(app, "OPTIONS", "/o", 200, "own-options");

    /* HEAD is answered by the GET handler, with the GET's Content-Length and no body. */
    ASSERT_EQ(corio_http_test_send(app, "HEAD", "/r", NULL, NULL, 0, &res), 0);
    ASSERT_EQ(res.status, 200);
    ASSERT_STREQ(corio_http_test_header(&res, "Content-Length"), "5");
    ASSERT_EQ(res.body_len, 0);
    corio_http_test_resp_free(&res);

    /* No route at all: 404 with the JSON error body, whatever the method. */
    ASSERT_EQ(corio_http_test_send(app, "PATCH", "/nothing/here", NULL, NULL, 0, &res), 0);
    ASSERT_EQ(res.status, 404);
    ASSERT_STREQ(res.body, "{\"error\":\"Not Found\",\"detail\":\"no route matches this path\"}");
    ASSERT_NULL(corio_http_test_header(&res, "Allow"));
    corio_http_test_resp_free(&res);
    corio_http_app_free(app);
    return 0;
}

TEST(star_routes_405_allow_options_and_head)
{
    ASSERT_EQ(corio_run(&VT, methods_main, NULL), 0);
}

/* ---- route patterns and parameters ------------------------------------------------------------
 */

static int route_echo(corio_http_req *req, corio_http_resp *resp, void *ctx)
{
    const char *route = corio_http_req_route(req);
    return corio_http_resp_text(resp, 200, "text/plain", route, strlen(route));
}

/* Records the route seen after the chain ran, in a header-free way: into ctx. */
static int route_mw(corio_http_req *req, corio_http_resp *resp, corio_http_chain *next, void *ctx)
{
    int rc = corio_http_next(req, resp, next);
    snprintf(ctx, 64, "%s", corio_http_req_route(req));
    return rc;
}

static int patterns_main(void *arg)
{
    corio_http_app *app;
    char seen[64] = "unset";
    (void)arg;
    ASSERT_EQ(corio_http_app_new(&app), 0);
    ASSERT_EQ(corio_http_app_use(app, route_mw, seen), 0);
    ASSERT_EQ(corio_http_app_route(app, "GET", "/users/{id}", route_echo, NULL), 0);
    ASSERT_EQ(corio_http_app_route(app, "POST", "/users/{id}", route_echo, NULL), 0);
    ASSERT_EQ(corio_http_app_route(app, "GET", "/files/{p...}", route_echo, NULL), 0);
    ASSERT_EQ(corio_http_app_route(app, "GET", "/", route_echo, NULL), 0);
    expect(app, "GET", "/users/1", 200, "/users/{id}");
    ASSERT_STREQ(seen, "/users/{id}");
    expect(app, "POST", "/users/2", 200, "/users/{id}");
    expect(app, "GET", "/files/a/b", 200, "/files/{p...}");
    expect(app, "GET", "/", 200, "/");
    expect(app, "GET", "/nope", 404, NULL);
    ASSERT_STREQ(seen, "");
    expect(app, "DELETE", "/users/3", 405, NULL); /* the path matched: its pattern is known */
    ASSERT_STREQ(seen, "/users/{id}");
    corio_http_app_free(app);
    return 0;
}

TEST(route_pattern_is_reported_not_the_raw_path)
{
    ASSERT_EQ(corio_run(&VT, patterns_main, NULL), 0);
}

static int params_main(void *arg)
{
    corio_http_app *app;
    (void)arg;
    ASSERT_EQ(corio_http_app_new(&app), 0);
    ASSERT_EQ(corio_http_app_route(app, "GET", "/u/{name}/{n:int}", tagged, "u name n"), 0);
    ASSERT_EQ(corio_http_app_route(app, "GET", "/q", tagged, "q missing"), 0);
    expect(app, "GET", "/u/J%C3%B6rg/5", 200, "u|name=J\xc3\xb6rg|n=5");
    expect(app, "GET", "/u/a+b%20c/5", 200, "u|name=a+b c|n=5"); /* '+' stays in a path */
    expect(app, "GET", "/u/a%2Fb/5", 200, "u|name=a/b|n=5");
    expect(app, "GET", "/q", 200, "q|missing?");
    corio_http_app_free(app);
    return 0;
}

TEST(path_params_are_percent_decoded)
{
    ASSERT_EQ(corio_run(&VT, params_main, NULL), 0);
}

/* ---- middleware --------------------------------------------------------------------------------
 */

struct trace {
    char log[256];
    int statuses[4];
};

struct mw_ctx {
    struct trace *t;
    const char *name;
    int index;
};

static void trace_add(struct trace *t, const char *s)
{
    strncat(t->log, s, sizeof t->log - strlen(t->log) - 1);
}

static int recording_mw(corio_http_req *req, corio_http_resp *resp, corio_http_chain *next,
                        void *ctx)
{
    struct mw_ctx *m = ctx;
    char s[16];
    snprintf(s, sizeof s, "%s>", m->name);
    trace_add(m->t, s);
    ASSERT(!corio_http_resp_started(resp));
    int rc = corio_http_next(req, resp, next);
    snprintf(s, sizeof s, "<%s", m->name);
    trace_add(m->t, s);
    m->t->statuses[m->index] = corio_http_resp_get_status(resp);
    return rc;
}

/* Answers 401 unless the request has an Authorization header. */
static int auth_mw(corio_http_req *req, corio_http_resp *resp, corio_http_chain *next, void *ctx)
{
    struct trace *t = ctx;
    if (!corio_http_req_header(req, "authorization", NULL)) {
        trace_add(t, "401");
        return corio_http_resp_error(resp, 401, NULL, "log in first");
    }
    return corio_http_next(req, resp, next);
}

/* Adds a header before the handler runs. */
static int header_mw(corio_http_req *req, corio_http_resp *resp, corio_http_chain *next, void *ctx)
{
    (void)ctx;
    ASSERT_EQ(corio_http_resp_header(resp, "X-Mw", "yes"), 0);
    int rc = corio_http_next(req, resp, next);
    /* After the response has gone out nothing can be added. */
    ASSERT_EQ(corio_http_resp_header(resp, "X-Late", "no"), -EALREADY);
    ASSERT_EQ(corio_http_resp_status(resp, 299), -EALREADY);
    return rc;
}

static int traced_handler(corio_http_req *req, corio_http_resp *resp, void *ctx)
{
    struct trace *t = ctx;
    trace_add(t, "H");
    corio_str v;
    if (corio_http_req_query_param(req, "fail", &v))
        return -EIO; /* the router answers 500 before the middleware after-code runs */
    return corio_http_resp_text(resp, 201, "text/plain", "made", 4);
}

static int middleware_main(void *arg)
{
    corio_http_app *app;
    struct trace t;
    memset(&t, 0, sizeof t);
    struct mw_ctx a = {&t, "A", 0}, b = {&t, "B", 1};
    struct corio_http_test_resp res;
    (void)arg;
    ASSERT_EQ(corio_http_app_new(&app), 0);
    ASSERT_EQ(corio_http_app_use(app, recording_mw, &a), 0);
    ASSERT_EQ(corio_http_app_use(app, header_mw, NULL), 0);
    ASSERT_EQ(corio_http_app_use(app, recording_mw, &b), 0);
    ASSERT_EQ(corio_http_app_use(app, auth_mw, &t), 0);
    ASSERT_EQ(corio_http_app_route(app, "POST", "/make", traced_handler, &t), 0);

    ASSERT_EQ(corio_http_test_send(app, "POST", "/make", "Authorization: yes\r\n", "", 0, &res), 0);
    ASSERT_EQ(res.status, 201);
    ASSERT_STREQ(res.body, "made");
    ASSERT_STREQ(corio_http_test_header(&res, "X-Mw"), "yes");
    ASSERT_NULL(corio_http_test_header(&res, "X-Late"));
    ASSERT_STREQ(t.log, "A>B>H<B<A");
    ASSERT_EQ(t.statuses[0], 201);
    ASSERT_EQ(t.statuses[1], 201);
    corio_http_test_resp_free(&res);

    /* An early answer: the handler never runs, the outer middleware still sees the status. */
    t.log[0] = 0;
    ASSERT_EQ(corio_http_test_send(app, "POST", "/make", NULL, "", 0, &res), 0);
    ASSERT_EQ(res.status, 401);
    ASSERT_STREQ(res.body, "{\"error\":\"Unauthorized\",\"detail\":\"log in first\"}");
    ASSERT_STREQ(t.log, "A>B>401<B<A");
    ASSERT_EQ(t.statuses[0], 401);
    corio_http_test_resp_free(&res);

    /* Middleware runs for a 404 too, and sees it. */
    t.log[0] = 0;
    ASSERT_EQ(corio_http_test_send(app, "GET", "/none", "Authorization: yes\r\n", NULL, 0, &res),
              0);
    ASSERT_EQ(res.status, 404);
    ASSERT_STREQ(t.log, "A>B><B<A");
    ASSERT_EQ(t.statuses[0], 404);
    corio_http_test_resp_free(&res);

    /* A failing handler: the after-code sees the 500 the router answered. */
    t.log[0] = 0;
    ASSERT_EQ(
        corio_http_test_send(app, "POST", "/make?fail=1", "Authorization: yes\r\n", "", 0, &res),
        0);
    ASSERT_EQ(res.status, 500);
    ASSERT_STREQ(t.log, "A>B>H<B<A");
    ASSERT_EQ(t.statuses[0], 500);
    ASSERT_EQ(t.statuses[1], 500);
    corio_http_test_resp_free(&res);
    corio_http_app_free(app);
    return 0;
}

TEST(middleware_runs_outermost_first_and_may_answer_early)
{
    ASSERT_EQ(corio_run(&VT, middleware_main, NULL), 0);
}
