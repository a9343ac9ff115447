/* SPDX-License-Identifier: MIT */
/* examples/http_handlers.c: what a handler can read and send, one route per feature, and the
 * CORS, gzip and static-file middleware.
 *
 *     * /inspect/{path...}  any method: method, path, catch-all parameter, query, headers and
 *                           peer as JSON
 *     POST /form            a urlencoded form field (415 for another content type)
 *     POST /upload          the body streamed in 16 KiB reads (up to 8 MiB), never held whole
 *     GET  /count?n=5       a chunked response, one line every 200 ms
 *     GET  /readme          a file (README.md of the working directory): ETag, 304, Range
 *     GET  /big             8 KiB of text, gzip-compressed for clients that accept it
 *     GET  /upgrade         with "Upgrade: lineecho": 101, then a line protocol on the socket
 *     GET  /static/...      files under STATIC_DIR (default: the working directory)
 *
 * Because it serves files from the working directory it listens on 127.0.0.1 only.
 *
 *     example_http_handlers [port]            (or PORT; default 8080)
 *
 * It serves until SIGTERM or Ctrl-C, draining first, then exits 0.
 */
#include <corio/core.h>
#include <corio/http.h>
#include <corio/http_mw.h>
#include <corio/net.h>
#include <corio/signal.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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

/* ---- reading a request ----------------------------------------------------------------------- */

static json_t *str_json(corio_str s) /* a view as a JSON string, or null when absent */
{
    return s.ptr ? json_stringn(s.ptr, s.len) : json_null();
}

static int inspect(corio_http_req *req, corio_http_resp *resp, void *ctx)
{
    corio_str rest = {0}, q = {0}, name, value;
    corio_http_req_param(req, "path", &rest); /* the catch-all: may be empty */
    corio_http_req_query_param(req, "q", &q); /* decoded: "a+b%21" is "a b!" */
    char peer[CORIO_ADDR_STRLEN];
    corio_addr_format(corio_http_req_peer(req), peer, sizeof peer);
    json_t *out = json_object(), *headers = json_object();
    if (!out || !headers) {
        json_decref(out);
        json_decref(headers);
        return -ENOMEM;
    }
    json_object_set_new(out, "method", str_json(corio_http_req_method(req)));
    json_object_set_new(out, "path", str_json(corio_http_req_path(req))); /* raw */
    json_object_set_new(out, "route", json_string(corio_http_req_route(req)));
    json_object_set_new(out, "rest", str_json(rest));
    json_object_set_new(out, "query", str_json(corio_http_req_query(req))); /* raw */
    json_object_set_new(out, "q", str_json(q));
    json_object_set_new(out, "version", json_integer(corio_http_req_version(req)));
    json_object_set_new(out, "peer", json_string(peer));
    for (size_t i = 0; corio_http_req_header_at(req, i, &name, &value); i++)
        json_object_setn_new(headers, name.ptr, name.len, str_json(value));
    json_object_set_new(out, "headers", headers);
    int rc = corio_http_resp_json(resp, 200, out);
    json_decref(out);
    return rc;
}

static int form(corio_http_req *req, corio_http_resp *resp, void *ctx)
{
    corio_str name;
    int rc = corio_http_req_form(req, "name", &name); /* reads the whole body first */
    if (rc == -EINVAL)
        return corio_http_resp_error(resp, 415, "unsupported media type",
                                     "send application/x-www-form-urlencoded");
    if (rc < 0)
        return rc; /* the body's own error: 413, 400, 408... */
    if (rc == 0)
        return corio_http_resp_error(resp, 422, NULL, "the form has no \"name\" field");
    char *text = corio_http_req_alloc(req, name.len + 16);
    if (!text)
        return -ENOMEM;
    int n = sprintf(text, "Hello, %.*s!\n", (int)name.len, name.ptr);
    return corio_http_resp_text(resp, 200, "text/plain; charset=utf-8", text, (size_t)n);
}

static int upload(corio_http_req *req, corio_http_resp *resp, void *ctx)
{
    const size_t cap = 16384;
    char *buf = corio_http_req_alloc(req, cap); /* off the task's stack; freed with the exchange */
    uint64_t bytes = 0;
    uint32_t hash = 2166136261u; /* FNV-1a */
    ssize_t n;
    if (!buf)
        return -ENOMEM;
    while ((n = corio_http_req_read(req, buf, cap)) > 0) {
        bytes += (uint64_t)n;
        for (ssize_t i = 0; i < n; i++)
            hash = (hash ^ (unsigned char)buf[i]) * 16777619u;
    }
    if (n < 0)
        return (int)n; /* -EMSGSIZE past max_body: the client gets a 413 */
    char out[64];
    int len = snprintf(out, sizeof out, "{\"bytes\":%llu,\"fnv1a\":\"%08x\"}",
                       (unsigned long long)bytes, hash);
    return corio_http_resp_text(resp, 200, "application/json", out, (size_t)len);
}

/* ---- sending a response ---------------------------------------------------------------------- */

static int count(corio_http_req *req, corio_http_resp *resp, void *ctx)
{
    long n = 5;
    corio_str v;
    if (corio_http_req_query_param(req, "n", &v) && !parse_long(v, 100, &n))
        return corio_http_resp_error(resp, 400, NULL, "n must be a number from 0 to 100");
    int rc = corio_http_resp_header(resp, "Content-Type", "text/plain");
    if (rc == 0)
        rc = corio_http_resp_begin(resp); /* the head, with Transfer-Encoding: chunked */
    for (long i = 1; i <= n && rc == 0 && !corio_http_req_draining(req); i++) {
        char line[24];
        int len = snprintf(line, sizeof line, "%ld\n", i);
        rc = corio_http_resp_write(resp, line, (size_t)len); /* one chunk, sent at once */
        if (rc == 0 && i < n)
            rc = corio_sleep(200 * CORIO_MS);
    }
    return rc < 0 ? rc : corio_http_resp_end(resp); /* the last chunk */
}

static int readme(corio_http_req *req, corio_http_resp *resp, void *ctx)
{
    int rc = corio_http_resp_header(resp, "Content-Type", "text/markdown; charset=utf-8");
    if (rc == 0)
        rc = corio_http_resp_file(resp, req, "README.md");
    if (rc == -ENOENT) /* nothing was sent yet */
        return corio_http_resp_error(resp, 404, NULL, "no README.md in the working directory");
    return rc;
}

static int big(corio_http_req *req, corio_http_resp *resp, void *ctx)
{
    static char text[8192];
    for (size_t i = 0; i < sizeof text; i++)
        text[i] = "corio gzip\n"[i % 11];
    return corio_http_resp_text(resp, 200, "text/plain", text, sizeof text);
}

/* ---- a protocol upgrade ---------------------------------------------------------------------- */

static bool str_eq_nocase(corio_str s, const char *lit)
{
    return s.len == strlen(lit) && strncasecmp(s.ptr, lit, s.len) == 0;
}

/* After "101 Switching Protocols" the connection speaks "lineecho": every line comes back in
 * capitals, until the client closes, stays silent for a minute, or the server drains. */
static int upgrade(corio_http_req *req, corio_http_resp *resp, void *ctx)
{
    corio_str up;
    int rc = corio_http_resp_header(resp, "Upgrade", "lineecho");
    if (rc < 0)
        return rc;
    if (!corio_http_req_header(req, "Upgrade", &up) || !str_eq_nocase(up, "lineecho"))
        return corio_http_resp_error(resp, 426, NULL, "this endpoint speaks lineecho");
    corio_stream *s;
    if ((rc = corio_http_resp_header(resp, "Connection", "Upgrade")) < 0 ||
        (rc = corio_http_resp_upgrade(resp, &s)) < 0)
        return rc;
    for (;;) {
        char *line;
        corio_deadline idle;
        corio_deadline_enter(&idle, corio_after(60 * CORIO_S));
        ssize_t n = corio_stream_read_until(s, "\n", 1, 1024, &line);
        corio_deadline_leave(&idle);
        if (n <= 0)
            break; /* 0: the client closed, or a drain shut the read side; < 0: an error */
        for (ssize_t i = 0; i < n; i++)
            line[i] = (char)toupper((unsigned char)line[i]); /* views may be modified */
        if (corio_stream_write_all(s, line, (size_t)n) < 0)
            break;
    }
    if (corio_http_req_draining(req))
        corio_stream_write_all(s, "BYE\n", 4);
    return 0; /* the server closes the connection; the stream is not ours to close */
}

/* ---- the server ------------------------------------------------------------------------------ */

struct service {
    corio_http_app *app;
    corio_http_cors *cors;
    corio_http_static *files;
    corio_http_server *srv;
    int port;
};

static int build_app(struct service *sv)
{
    static const struct corio_http_gzip_opts gzip = {.level = 6, .min_size = 1024};
    const char *dir = getenv("STATIC_DIR") ? getenv("STATIC_DIR") : ".";
    int rc = corio_http_app_new(&sv->app);
    if (rc == 0)
        rc = corio_http_cors_new(
            &(struct corio_http_cors_opts){.origins = "https://app.example", .max_age = 3600},
            &sv->cors);
    if (rc == 0)
        rc = corio_http_static_new(&(struct corio_http_static_opts){.root = dir,
                                                                    .prefix = "/static/",
                                                                    .cache_control = "max-age=60"},
                                   &sv->files);
    if (rc == 0)
        rc = corio_http_app_use(sv->app, corio_http_cors_mw, sv->cors);
    if (rc == 0)
        rc = corio_http_app_use(sv->app, corio_http_gzip_mw, (void *)&gzip);
    if (rc == 0)
        rc = corio_http_app_use(sv->app, corio_http_static_mw, sv->files);
    if (rc == 0)
        rc = corio_http_app_route(sv->app, "*", "/inspect/{path...}", inspect, NULL);
    if (rc == 0)
        rc = corio_http_app_route(sv->app, "POST", "/form", form, NULL);
    if (rc == 0)
        rc = corio_http_app_route(sv->app, "POST", "/upload", upload, NULL);
    if (rc == 0)
        rc = corio_http_app_route(sv->app, "GET", "/count", count, NULL);
    if (rc == 0)
        rc = corio_http_app_route(sv->app, "GET", "/readme", readme, NULL);
    if (rc == 0)
        rc = corio_http_app_route(sv->app, "GET", "/big", big, NULL);
    if (rc == 0)
        rc = corio_http_app_route(sv->app, "GET", "/upgrade", upgrade, NULL);
    if (rc < 0)
        fprintf(stderr, "http_handlers: setting up (static dir %s): %s\n", dir, corio_strerror(rc));
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
    int rc = corio_tcp_listen("127.0.0.1", sv->port, NULL, &l);
    if (rc < 0) {
        fprintf(stderr, "http_handlers: port %d: %s\n", sv->port, corio_strerror(rc));
        return rc;
    }
    struct corio_http_server_opts so = {.limits = {.max_body = 8 << 20}};
    rc = corio_http_server_new(sv->app, l, &so, &sv->srv);
    if (rc == 0)
        rc = corio_group_open(&g);
    if (rc == 0)
        rc = corio_spawn(g, run_server, sv->srv);
    if (rc == 0) {
        printf("listening on http://127.0.0.1:%d/\n", sv->port);
        fflush(stdout);
        struct corio_shutdown_opts o = {.drain = drain, .ctx = sv, .drain_ns = 5 * CORIO_S};
        rc = corio_shutdown_on_signal(&o); /* the signal number, after the drain */
    }
    if (g)
        corio_group_close(g);
    corio_http_server_free(sv->srv);
    corio_listener_close(l);
    return rc > 0 ? 0 : rc;
}

int main(int argc, char **argv)
{
    struct service sv = {.port = 8080};
    const char *port = argc > 1 ? argv[1] : getenv("PORT");
    if (port && *port && ((sv.port = atoi(port)) <= 0 || sv.port > 65535)) {
        fprintf(stderr, "usage: %s [port]\n", argv[0]);
        return 2;
    }
    int rc = build_app(&sv);
    if (rc == 0)
        rc = corio_run(NULL, main_task, &sv);
    corio_http_app_free(sv.app);
    corio_http_cors_free(sv.cors);
    corio_http_static_free(sv.files);
    return rc < 0 ? 1 : 0;
}
