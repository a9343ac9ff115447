/* SPDX-License-Identifier: MIT */
/* Tests of the observability middleware through the in-process test client: the request id
 * (generated, passed through, replaced when insane, visible to the handler, in every log line
 * of the request, cleared afterwards), the JSON access log (each line valid JSON with the
 * documented fields and types), and the metrics (exposition parsed back: counts by route
 * pattern and status, histogram counts, the in-flight gauge during and after a request,
 * early answers labelled with their route, and the open-connections gauge).
 */
#include "corio/http_mw.h"
#include "corio/net.h"
#include "corio/obs.h"
#include "harness/json_check.h"
#include "harness/prom_parse.h"
#include "mw_util.h"
#include "test.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- handlers ------------------------------------------------------------------------------- */

static char seen_id[200]; /* corio_http_request_id() as the handler saw it */
static double seen_in_flight = -1;
static corio_metrics *reg; /* for the in-flight check */

static int h_user(corio_http_req *req, corio_http_resp *resp, void *ctx)
{
    const char *id = corio_http_request_id(req);
    snprintf(seen_id, sizeof seen_id, "%s", id ? id : "(null)");
    corio_log(CORIO_LOG_INFO, "app", "loading user");
    corio_str v;
    ASSERT(corio_http_req_param(req, "id", &v));
    char body[64];
    int n = snprintf(body, sizeof body, "{\"id\":%.*s}", (int)v.len, v.ptr);
    return corio_http_resp_text(resp, 200, "application/json", body, (size_t)n);
}

static int h_fail(corio_http_req *req, corio_http_resp *resp, void *ctx)
{
    return -EIO;
}

static int h_inflight(corio_http_req *req, corio_http_resp *resp, void *ctx)
{
    char *text;
    size_t len;
    ASSERT_EQ(corio_metrics_render(reg, &text, &len), 0);
    struct prom_doc d;
    char err[200];
    ASSERT_EQ(prom_parse(text, len, &d, err, sizeof err), 0);
    ASSERT(prom_value(&d, &seen_in_flight, "http_requests_in_flight", NULL));
    prom_free(&d);
    free(text);
    return corio_http_resp_text(resp, 200, "text/plain", "ok", 2);
}

static corio_http_app *new_app(void)
{
    corio_http_app *app;
    ASSERT_EQ(corio_http_app_new(&app), 0);
    ASSERT_EQ(corio_http_app_route(app, "GET", "/users/{id}", h_user, NULL), 0);
    ASSERT_EQ(corio_http_app_route(app, "GET", "/fail", h_fail, NULL), 0);
    ASSERT_EQ(corio_http_app_route(app, "GET", "/inflight", h_inflight, NULL), 0);
    return app;
}

static bool is_hex32(const char *s)
{
    if (!s || strlen(s) != 32)
        return false;
    for (int i = 0; i < 32; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return true;
}

/* ---- request id ----------------------------------------------------------------------------- */

static int reqid_generated(corio_http_app *app)
{
    struct corio_http_test_resp r1, r2;
    get(app, "/users/1", NULL, &r1);
    ASSERT_EQ(r1.status, 200);
    const char *id1 = corio_http_test_header(&r1, "X-Request-ID");
    ASSERT(is_hex32(id1));
    ASSERT_STREQ(seen_id, id1);
    get(app, "/users/2", NULL, &r2);
    ASSERT(is_hex32(corio_http_test_header(&r2, "x-request-id")));
    ASSERT(strcmp(id1, corio_http_test_header(&r2, "x-request-id")) != 0);
    /* The task-local value does not outlive the request. */
    ASSERT_NULL(corio_local_get(CORIO_LOG_REQUEST_ID));
    /* A failing handler's 500 still carries the id. */
    struct corio_http_test_resp r3;
    get(app, "/fail", NULL, &r3);
    ASSERT_EQ(r3.status, 500);
    ASSERT(is_hex32(corio_http_test_header(&r3, "X-Request-ID")));
    corio_http_test_resp_free(&r1);
    corio_http_test_resp_free(&r2);
    corio_http_test_resp_free(&r3);
    return 0;
}

TEST(request_id_is_generated_when_absent)
{
    corio_http_app *app = new_app();
    ASSERT_EQ(corio_http_app_use(app, corio_http_request_id_mw, NULL), 0);
    run_app(app, reqid_generated);
    corio_http_app_free(app);
}

static int reqid_passthrough(corio_http_app *app)
{
    struct corio_http_test_resp r;
    get(app, "/users/1", "X-Request-ID: abc-123_XYZ.trace:9\r\n", &r);
    ASSERT_STREQ(corio_http_test_header(&r, "X-Request-ID"), "abc-123_XYZ.trace:9");
    ASSERT_STREQ(seen_id, "abc-123_XYZ.trace:9");
    ASSERT_EQ(header_count(&r, "X-Request-ID"), 1u);
    corio_http_test_resp_free(&r);

    char hdr[200], id128[129];
    memset(id128, 'a', 128);
    id128[128] = 0;
    snprintf(hdr, sizeof hdr, "X-Request-ID: %s\r\n", id128);
    get(app, "/users/1", hdr, &r);
    ASSERT_STREQ(corio_http_test_header(&r, "X-Request-ID"), id128); /* 128: the limit */
    corio_http_test_resp_free(&r);
    return 0;
}

TEST(request_id_is_passed_through_when_sane)
{
    corio_http_app *app = new_app();
    ASSERT_EQ(corio_http_app_use(app, corio_http_request_id_mw, NULL), 0);
    run_app(app, reqid_passthrough);
    corio_http_app_free(app);
}

static int reqid_insane(corio_http_app *app)
{
    char id129[130], hdr[200];
    memset(id129, 'b', 129);
    id129[129] = 0;
    snprintf(hdr, sizeof hdr, "X-Request-ID: %s\r\n", id129);
    const char *bad[] = {hdr, "X-Request-ID: has space\r\n", "X-Request-ID: caf\xc3\xa9\r\n",
                         "X-Request-ID: \r\n", "X-Request-ID: tab\there\r\n"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct corio_http_test_resp r;
        get(app, "/users/1", bad[i], &r);
        ASSERT_EQ(r.status, 200);
        ASSERT(is_hex32(corio_http_test_header(&r, "X-Request-ID")));
        ASSERT_STREQ(seen_id, corio_http_test_header(&r, "X-Request-ID"));
        corio_http_test_resp_free(&r);
    }
    return 0;
}

TEST(request_id_is_replaced_when_insane)
{
    corio_http_app *app = new_app();
    ASSERT_EQ(corio_http_app_use(app, corio_http_request_id_mw, NULL), 0);
    run_app(app, reqid_insane);
    corio_http_app_free(app);
}

static int reqid_custom(corio_http_app *app)
{
    struct corio_http_test_resp r;
    get(app, "/users/1", "X-Trace: given\r\nX-Request-ID: other\r\n", &r);
    ASSERT(is_hex32(corio_http_test_header(&r, "X-Trace")));
    ASSERT_NULL(corio_http_test_header(&r, "X-Request-ID"));
    corio_http_test_resp_free(&r);
    return 0;
}

TEST(request_id_options_header_and_ignore_incoming)
{
    static const struct corio_http_request_id_opts o = {.header = "X-Trace",
                                                        .ignore_incoming = true};
    corio_http_app *app = new_app();
    ASSERT_EQ(corio_http_app_use(app, corio_http_request_id_mw, (void *)&o), 0);
    run_app(app, reqid_custom);
    corio_http_app_free(app);
}

TEST(request_id_generator_gives_distinct_hex_ids)
{
    char a[33], b[33];
    corio_http_request_id_generate(a);
    for (int i = 0; i < 1000; i++) {
        corio_http_request_id_generate(b);
        ASSERT(is_hex32(b));
        ASSERT(strcmp(a, b) != 0);
    }
}

/* ---- access log ---------------------------------------------------------------------------- */

struct log_lines {
    char *buf;
    char *line[64];
    size_t len[64];
    size_t n;
};

/* Reads the log file and splits it into lines, each checked to be valid JSON. */
static void read_lines(int fd, struct log_lines *ls)
{
    off_t size = lseek(fd, 0, SEEK_END);
    ASSERT_GE(size, 0);
    ls->buf = calloc(1, (size_t)size + 1);
    ASSERT_EQ(pread(fd, ls->buf, (size_t)size, 0), size);
    ls->n = 0;
    for (char *p = ls->buf; *p;) {
        char *nl = strchr(p, '\n');
        ASSERT_NOT_NULL(nl);
        char err[200];
        if (json_validate(p, (size_t)(nl - p), err, sizeof err) != 0)
            fprintf(stderr, "invalid JSON (%s): %.*s\n", err, (int)(nl - p), p);
        ASSERT_EQ(json_validate(p, (size_t)(nl - p), err, sizeof err), 0);
        ASSERT_LT(ls->n, 64u);
        ls->line[ls->n] = p;
        ls->len[ls->n++] = (size_t)(nl - p);
        p = nl + 1;
    }
}

static long str_of(struct log_lines *ls, size_t i, const char *key, char *out, size_t cap)
{
    return json_get_string(ls->line[i], ls->len[i], key, out, cap);
}

static double num_of(struct log_lines *ls, size_t i, const char *key)
{
    double v = -12345;
    ASSERT(json_get_number(ls->line[i], ls->len[i], key, &v));
    return v;
}

static char resp_ids[3][200];
static size_t resp_bytes[3];

static int access_log_requests(corio_http_app *app)
{
    struct corio_http_test_resp r;
    const char *targets[] = {"/users/7?x=1", "/nope", "/fail"};
    for (int i = 0; i < 3; i++) {
        get(app, targets[i], "User-Agent: probe/1.0\r\n", &r);
        snprintf(resp_ids[i], sizeof resp_ids[i], "%s", corio_http_test_header(&r, "X-Request-ID"));
        resp_bytes[i] = r.body_len;
        corio_http_test_resp_free(&r);
    }
    return 0;
}

TEST(access_log_writes_one_json_line_per_request)
{
    char path[] = "/tmp/corio-mw-log-XXXXXX";
    int fd = mkstemp(path);
    ASSERT_GE(fd, 0);
    unlink(path);
    ASSERT_EQ(corio_logger_start(&(struct corio_logger_opts){.fd = fd, .level = "info"}), 0);
    corio_http_app *app = new_app();
    ASSERT_EQ(corio_http_app_use(app, corio_http_request_id_mw, NULL), 0);
    ASSERT_EQ(corio_http_app_use(app, corio_http_access_log_mw, NULL), 0);
    run_app(app, access_log_requests);
    corio_logger_stop();
    corio_http_app_free(app);

    struct log_lines ls;
    read_lines(fd, &ls);
    char v[256];
    size_t nreq = 0;
    static const int want_status[] = {200, 404, 500};
    static const char *const want_path[] = {"/users/7", "/nope", "/fail"};
    static const char *const want_route[] = {"/users/{id}", "", "/fail"};
    for (size_t i = 0; i < ls.n; i++) {
        ASSERT_GT(str_of(&ls, i, "request_id", v, sizeof v), 0);
        ASSERT_GE(str_of(&ls, i, "msg", v, sizeof v), 0);
        if (strcmp(v, "loading user") == 0) {
            /* The handler's own line carries the id of its request. */
            ASSERT_EQ(str_of(&ls, i, "request_id", v, sizeof v), 32);
            ASSERT_STREQ(v, resp_ids[0]);
            continue;
        }
        if (strcmp(v, "request") != 0)
            continue;
        ASSERT_LT(nreq, 3u);
        ASSERT_EQ(str_of(&ls, i, "sub", v, sizeof v), 4);
        ASSERT_STREQ(v, "http");
        ASSERT_GT(str_of(&ls, i, "request_id", v, sizeof v), 0);
        ASSERT_STREQ(v, resp_ids[nreq]);
        ASSERT_EQ(str_of(&ls, i, "method", v, sizeof v), 3);
        ASSERT_STREQ(v, "GET");
        ASSERT_GE(str_of(&ls, i, "path", v, sizeof v), 0);
        ASSERT_STREQ(v, want_path[nreq]);
        ASSERT_GE(str_of(&ls, i, "route", v, sizeof v), 0);
        ASSERT_STREQ(v, want_route[nreq]);
        ASSERT_GT(str_of(&ls, i, "peer", v, sizeof v), 0);
        ASSERT_STREQ(v, "127.0.0.1:40000");
        ASSERT_GT(str_of(&ls, i, "user_agent", v, sizeof v), 0);
        ASSERT_STREQ(v, "probe/1.0");
        ASSERT(num_of(&ls, i, "status") == want_status[nreq]);
        ASSERT(num_of(&ls, i, "bytes") == (double)resp_bytes[nreq]);
        ASSERT(num_of(&ls, i, "duration_ms") == 0); /* virtual time stands still */
        ASSERT_EQ(json_member_kind(ls.line[i], ls.len[i], "duration_ms"), 'n');
        /* Only the failed handler's line names an error. */
        ASSERT_EQ(json_member_kind(ls.line[i], ls.len[i], "error"), nreq == 2 ? 's' : 0);
        nreq++;
    }
    ASSERT_EQ(nreq, 3u);
    free(ls.buf);
    close(fd);
}

/* ---- metrics ------------------------------------------------------------------------------- */

static int metrics_requests(corio_http_app *app)
{
    struct corio_http_test_resp r;
    get(app, "/users/1", NULL, &r);
    corio_http_test_resp_free(&r);
    get(app, "/users/2", NULL, &r);
    corio_http_test_resp_free(&r);
    send_h(app, "POST", "/users/3", NULL, &r);
    ASSERT_EQ(r.status, 405);
    corio_http_test_resp_free(&r);
    get(app, "/no/such/path", NULL, &r);
    ASSERT_EQ(r.status, 404);
    corio_http_test_resp_free(&r);
    get(app, "/fail", NULL, &r);
    ASSERT_EQ(r.status, 500);
    corio_http_test_resp_free(&r);
    get(app, "/inflight", NULL, &r);
    ASSERT_EQ(r.status, 200);
    corio_http_test_resp_free(&r);
    /* Over the limit (burst 6 for this app): answered early, still counted by route. */
    get(app, "/users/4", NULL, &r);
    ASSERT_EQ(r.status, 429);
    corio_http_test_resp_free(&r);
    return 0;
}

TEST(metrics_count_by_route_pattern_and_status)
{
    ASSERT_EQ(corio_metrics_new(NULL, &reg), 0);
    corio_http_metrics *m;
    ASSERT_EQ(corio_http_metrics_new(&(struct corio_http_metrics_opts){.registry = reg}, &m), 0);
    corio_http_ratelimit *rl;
    ASSERT_EQ(
        corio_http_ratelimit_new(&(struct corio_http_ratelimit_opts){.rate = 1, .burst = 6}, &rl),
        0);
    corio_http_app *app = new_app();
    ASSERT_EQ(corio_http_app_use(app, corio_http_metrics_mw, m), 0);
    ASSERT_EQ(corio_http_app_use(app, corio_http_ratelimit_mw, rl), 0);
    run_app(app, metrics_requests);

    char *text;
    size_t len;
    ASSERT_EQ(corio_metrics_render(reg, &text, &len), 0);
    struct prom_doc d;
    char err[200];
    int prc = prom_parse(text, len, &d, err, sizeof err);
    if (prc != 0)
        fprintf(stderr, "%s\n%s", err, text);
    ASSERT_EQ(prc, 0);
    double v;
    ASSERT(prom_value(&d, &v, "http_requests_total", "method", "GET", "route", "/users/{id}",
                      "status", "200", NULL));
    ASSERT(v == 2);
    ASSERT(prom_value(&d, &v, "http_requests_total", "method", "POST", "route", "/users/{id}",
                      "status", "405", NULL));
    ASSERT(v == 1);
    ASSERT(prom_value(&d, &v, "http_requests_total", "method", "GET", "route", "unmatched",
                      "status", "404", NULL));
    ASSERT(v == 1);
    ASSERT(prom_value(&d, &v, "http_requests_total", "method", "GET", "route", "/fail", "status",
                      "500", NULL));
    ASSERT(v == 1);
    ASSERT(prom_value(&d, &v, "http_requests_total", "method", "GET", "route", "/users/{id}",
                      "status", "429", NULL));
    ASSERT(v == 1);
    /* No raw path ever becomes a label. */
    ASSERT(strstr(text, "/users/1") == NULL && strstr(text, "/no/such") == NULL);
    ASSERT(prom_value(&d, &v, "http_request_duration_seconds_count", "method", "GET", "route",
                      "/users/{id}", NULL));
    ASSERT(v == 3);
    ASSERT(prom_value(&d, &v, "http_request_duration_seconds_bucket", "method", "GET", "route",
                      "/users/{id}", "le", "0.0005", NULL));
    ASSERT(v == 3); /* virtual time: every duration is 0 */
    ASSERT(prom_value(&d, &v, "http_request_duration_seconds_bucket", "method", "GET", "route",
                      "/users/{id}", "le", "10", NULL));
    ASSERT(prom_value(&d, &v, "http_requests_in_flight", NULL));
    ASSERT(v == 0);
    ASSERT(seen_in_flight == 1); /* during /inflight */
    ASSERT_STREQ(prom_family(&d, "http_requests_total")->type, "counter");
    ASSERT_STREQ(prom_family(&d, "http_request_duration_seconds")->type, "histogram");
    ASSERT_STREQ(prom_family(&d, "http_requests_in_flight")->type, "gauge");
    prom_free(&d);
    free(text);

    /* A second set of families in the same registry is refused. */
    corio_http_metrics *m2;
    ASSERT_EQ(corio_http_metrics_new(&(struct corio_http_metrics_opts){.registry = reg}, &m2),
              -EEXIST);
    ASSERT_EQ(corio_http_metrics_new(&(struct corio_http_metrics_opts){0}, &m2), -EINVAL);
    corio_http_app_free(app);
    corio_http_ratelimit_free(rl);
    corio_http_metrics_free(m);
    corio_metrics_free(reg);
}

static corio_http_metrics *conns_m;

static int conns_main(corio_http_app *app)
{
    corio_listener *l;
    ASSERT_EQ(corio_tcp_listen("127.0.0.1", 0, NULL, &l), 0);
    corio_http_server *srv;
    ASSERT_EQ(corio_http_server_new(app, l, NULL, &srv), 0);
    ASSERT_EQ(corio_http_metrics_add_server(conns_m, srv), 0);
    char *text;
    size_t len;
    ASSERT_EQ(corio_metrics_render(reg, &text, &len), 0);
    struct prom_doc d;
    char err[200];
    ASSERT_EQ(prom_parse(text, len, &d, err, sizeof err), 0);
    double v = -1;
    ASSERT(prom_value(&d, &v, "http_connections_open", NULL));
    ASSERT(v == 0);
    ASSERT_STREQ(prom_family(&d, "http_connections_open")->type, "gauge");
    prom_free(&d);
    free(text);
    corio_http_metrics_remove_server(conns_m, srv);
    corio_http_server_free(srv);
    corio_listener_close(l);
    return 0;
}

TEST(metrics_open_connections_gauge)
{
    ASSERT_EQ(corio_metrics_new(NULL, &reg), 0);
    ASSERT_EQ(corio_http_metrics_new(&(struct corio_http_metrics_opts){.registry = reg}, &conns_m),
              0);
    corio_http_app *app = new_app();
    run_app(app, conns_main);
    corio_http_app_free(app);
    corio_metrics_free(reg);
    corio_http_metrics_free(conns_m);
}
