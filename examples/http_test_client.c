/* SPDX-License-Identifier: MIT */
/* examples/http_test_client.c: testing an app with the in-process test client.
 *
 * corio_http_test_send() runs one request through the app's middleware and router in the
 * calling task, without a socket, and hands back the response as a client would receive it:
 * status, headers (Server, Date, Content-Length... included) and the body, chunked coding
 * removed. Here an app with two routes and the request-id middleware is checked: a JSON
 * answer, a POST with a JSON body, a JSON error, a 404, a 405 with Allow, HEAD, a malformed
 * request and a handler that sleeps for a minute (virtual time: it takes no real time).
 *
 * The program prints one line per check and exits 0 if all passed, 1 otherwise, like a test.
 * In a real project the app is built by a function of the service (the same one main() uses)
 * and the test links it.
 */
#include <corio/core.h>
#include <corio/http.h>
#include <corio/http_mw.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

/* ---- the app under test ---------------------------------------------------------------------- */

static int get_item(corio_http_req *req, corio_http_resp *resp, void *ctx)
{
    corio_str id;
    corio_http_req_param(req, "id", &id);
    if (id.len == 1 && id.ptr[0] == '7')
        return corio_http_resp_json_strs(resp, 200, "id", "7", "name", "teapot");
    return corio_http_resp_error(resp, 404, NULL, "no such item");
}

static int add_item(corio_http_req *req, corio_http_resp *resp, void *ctx)
{
    json_error_t jerr;
    json_t *in;
    int rc = corio_http_req_json(req, &in, &jerr);
    if (rc < 0)
        return corio_http_resp_json_error(resp, rc, &jerr);
    rc = corio_http_resp_json(resp, 201, in); /* echoes the item back */
    json_decref(in);
    return rc;
}

static int slow_report(corio_http_req *req, corio_http_resp *resp, void *ctx)
{
    int rc = corio_sleep(60 * CORIO_S);
    return rc < 0 ? rc : corio_http_resp_text(resp, 200, "text/plain", "done", 4);
}

static int build_app(corio_http_app **app)
{
    int rc = corio_http_app_new(app);
    if (rc == 0)
        rc = corio_http_app_use(*app, corio_http_request_id_mw, NULL);
    if (rc == 0)
        rc = corio_http_app_route(*app, "GET", "/items/{id:int}", get_item, NULL);
    if (rc == 0)
        rc = corio_http_app_route(*app, "POST", "/items", add_item, NULL);
    if (rc == 0)
        rc = corio_http_app_route(*app, "GET", "/report", slow_report, NULL);
    return rc;
}

/* ---- the checks ------------------------------------------------------------------------------ */

static int failures;

static void check(bool ok, const char *what)
{
    printf("%s  %s\n", ok ? "ok  " : "FAIL", what);
    failures += !ok;
}

static bool header_is(const struct corio_http_test_resp *r, const char *name, const char *want)
{
    const char *v = corio_http_test_header(r, name);
    return v && strcmp(v, want) == 0;
}

/* A call that failed (-ENOMEM...) leaves r empty: status 0, body NULL. */
static bool body_is(const struct corio_http_test_resp *r, const char *want)
{
    return r->body && strcmp(r->body, want) == 0;
}

static bool body_has(const struct corio_http_test_resp *r, const char *part)
{
    return r->body && strstr(r->body, part);
}

static int tests(void *arg)
{
    corio_http_app *app = arg;
    struct corio_http_test_resp r;

    corio_http_test_get(app, "/items/7", &r);
    check(r.status == 200 && header_is(&r, "Content-Type", "application/json") &&
              body_is(&r, "{\"id\":\"7\",\"name\":\"teapot\"}"),
          "GET /items/7: 200 with the item as JSON");
    check(corio_http_test_header(&r, "X-Request-ID") != NULL, "the middleware ran: X-Request-ID");
    corio_http_test_resp_free(&r);

    const char *item = "{\"name\":\"kettle\"}";
    corio_http_test_send(app, "POST", "/items", "Content-Type: application/json\r\n", item,
                         strlen(item), &r);
    check(r.status == 201 && body_is(&r, item), "POST /items: 201, the item echoed");
    corio_http_test_resp_free(&r);

    corio_http_test_send(app, "POST", "/items", NULL, "{\"name\":", 8, &r);
    check(r.status == 400 && body_has(&r, "\"invalid JSON\"") && body_has(&r, "line 1"),
          "POST /items with broken JSON: 400 saying where");
    corio_http_test_resp_free(&r);

    corio_http_test_get(app, "/items/8", &r);
    check(r.status == 404 && body_is(&r, "{\"error\":\"Not Found\",\"detail\":\"no such item\"}"),
          "GET /items/8: the handler's 404");
    corio_http_test_resp_free(&r);

    corio_http_test_get(app, "/items/teapot", &r); /* {id:int} does not match */
    check(r.status == 404, "GET /items/teapot: no route, 404");
    corio_http_test_resp_free(&r);

    corio_http_test_send(app, "DELETE", "/items/7", NULL, NULL, 0, &r);
    check(r.status == 405 && header_is(&r, "Allow", "GET, HEAD, OPTIONS"),
          "DELETE /items/7: 405, Allow: GET, HEAD, OPTIONS");
    corio_http_test_resp_free(&r);

    corio_http_test_send(app, "HEAD", "/items/7", NULL, NULL, 0, &r);
    check(r.status == 200 && r.body_len == 0 && header_is(&r, "Content-Length", "26"),
          "HEAD /items/7: the GET's headers, no body");
    corio_http_test_resp_free(&r);

    const char *raw = "GET /items/7 HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n";
    corio_http_test_request(app, raw, strlen(raw), &r);
    check(r.status == 400, "two Host headers: 400, as a server answers");
    corio_http_test_resp_free(&r);

    int64_t t0 = corio_now();
    corio_http_test_get(app, "/report", &r);
    check(r.status == 200 && corio_now() - t0 == 60 * CORIO_S,
          "GET /report: a 60 s handler, in virtual time");
    corio_http_test_resp_free(&r);
    return 0;
}

int main(void)
{
    corio_http_app *app = NULL;
    int rc = build_app(&app);
    if (rc == 0)
        rc = corio_run(&(struct corio_run_opts){.virtual_time = true}, tests, app);
    corio_http_app_free(app);
    if (rc < 0)
        fprintf(stderr, "http_test_client: %s\n", corio_strerror(rc));
    printf("%d check(s) failed\n", failures);
    return rc < 0 || failures ? 1 : 0;
}
