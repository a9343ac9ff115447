/* SPDX-License-Identifier: MIT */
/* Tests of the body-handling middleware and helpers through the in-process test client: gzip
 * (negotiated on, refused with q=0, small and incompressible bodies left alone, the output
 * inflating back to the original, HEAD agreeing with GET), static files (types, index.html,
 * directory redirects, ETag and 304, Range, Cache-Control, fallthrough, and traversal through
 * "..", encoded dots and slashes, absolute paths and symlinks leading out, all refused), and
 * the JSON helpers (parse errors with line and column, 413, compact output, the jansson-free
 * object path).
 */
#include "corio/http_mw.h"
#include "harness/json_check.h"
#include "mw_util.h"
#include "test.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

/* ---- gzip ----------------------------------------------------------------------------------- */

static char big[5000];

static int h_big(corio_http_req *req, corio_http_resp *resp, void *ctx)
{
    const char *type = ctx;
    return corio_http_resp_text(resp, 200, type, big, sizeof big);
}

static int h_small(corio_http_req *req, corio_http_resp *resp, void *ctx)
{
    return corio_http_resp_text(resp, 200, "text/plain", big, 1023);
}

static int h_json_big(corio_http_req *req, corio_http_resp *resp, void *ctx)
{
    json_t *a = json_array();
    for (int i = 0; i < 300; i++)
        json_array_append_new(a, json_pack("{s:i,s:s}", "id", i, "name", "widget"));
    int rc = corio_http_resp_json(resp, 200, a);
    json_decref(a);
    return rc;
}

static void fill_big(void)
{
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = "lorem ipsum dolor sit amet, "[i % 28];
}

/* Inflates a gzip member; returns the length or -1. */
static long gunzip(const char *in, size_t len, char *out, size_t cap)
{
    z_stream z = {0};
    if (inflateInit2(&z, 15 + 16) != Z_OK)
        return -1;
    z.next_in = (Bytef *)(uintptr_t)in;
    z.avail_in = (uInt)len;
    z.next_out = (Bytef *)out;
    z.avail_out = (uInt)cap;
    int rc = inflate(&z, Z_FINISH);
    long n = rc == Z_STREAM_END && z.avail_in == 0 ? (long)z.total_out : -1;
    inflateEnd(&z);
    return n;
}

static int gzip_main(corio_http_app *app)
{
    struct corio_http_test_resp r;
    char out[sizeof big * 2];

    get(app, "/big", "Accept-Encoding: deflate, gzip;q=0.8\r\n", &r);
    ASSERT_EQ(r.status, 200);
    ASSERT_STREQ(corio_http_test_header(&r, "Content-Encoding"), "gzip");
    ASSERT(has_header_line(&r, "Vary", "Accept-Encoding"));
    ASSERT_LT(r.body_len, sizeof big / 4);
    char cl[32];
    snprintf(cl, sizeof cl, "%zu", r.body_len);
    ASSERT_STREQ(corio_http_test_header(&r, "Content-Length"), cl);
    ASSERT_EQ(gunzip(r.body, r.body_len, out, sizeof out), (long)sizeof big);
    ASSERT_MEMEQ(out, big, sizeof big);
    size_t gz_len = r.body_len;
    corio_http_test_resp_free(&r);

    /* HEAD gets the same head as GET, without the body. */
    send_h(app, "HEAD", "/big", "Accept-Encoding: gzip\r\n", &r);
    ASSERT_STREQ(corio_http_test_header(&r, "Content-Encoding"), "gzip");
    snprintf(cl, sizeof cl, "%zu", gz_len);
    ASSERT_STREQ(corio_http_test_header(&r, "Content-Length"), cl);
    ASSERT_EQ(r.body_len, 0u);
    corio_http_test_resp_free(&r);

    /* Refused: q=0, or not mentioned, or no header at all. */
    static const char *const refuse[] = {"Accept-Encoding: gzip;q=0, br\r\n",
                                         "Accept-Encoding: br, deflate\r\n",
                                         "Accept-Encoding: *;q=0\r\n", NULL};
    for (size_t i = 0; i < 4; i++) {
        get(app, "/big", refuse[i], &r);
        ASSERT_NULL(corio_http_test_header(&r, "Content-Encoding"));
        ASSERT(has_header_line(&r, "Vary", "Accept-Encoding"));
        ASSERT_EQ(r.body_len, sizeof big);
        ASSERT_MEMEQ(r.body, big, sizeof big);
        corio_http_test_resp_free(&r);
    }

    /* Below the threshold: untouched, and no Vary (it never depends on the request). */
    get(app, "/small", "Accept-Encoding: gzip\r\n", &r);
    ASSERT_NULL(corio_http_test_header(&r, "Content-Encoding"));
    ASSERT_EQ(header_count(&r, "Vary"), 0u);
    ASSERT_EQ(r.body_len, 1023u);
    corio_http_test_resp_free(&r);

    /* Not compressible. */
    get(app, "/png", "Accept-Encoding: gzip\r\n", &r);
    ASSERT_NULL(corio_http_test_header(&r, "Content-Encoding"));
    ASSERT_EQ(r.body_len, sizeof big);
    corio_http_test_resp_free(&r);

    /* Wildcard and JSON. */
    get(app, "/json", "Accept-Encoding: *\r\n", &r);
    ASSERT_STREQ(corio_http_test_header(&r, "Content-Encoding"), "gzip");
    long n = gunzip(r.body, r.body_len, out, sizeof out);
    ASSERT_GT(n, 1024);
    char err[200];
    ASSERT_EQ(json_validate(out, (size_t)n, err, sizeof err), 0);
    corio_http_test_resp_free(&r);

    /* Errors from the router are small: never compressed. */
    get(app, "/missing", "Accept-Encoding: gzip\r\n", &r);
    ASSERT_EQ(r.status, 404);
    ASSERT_NULL(corio_http_test_header(&r, "Content-Encoding"));
    corio_http_test_resp_free(&r);
    return 0;
}

TEST(gzip_negotiation_threshold_and_roundtrip)
{
    fill_big();
    corio_http_app *app;
    ASSERT_EQ(corio_http_app_new(&app), 0);
    ASSERT_EQ(corio_http_app_use(app, corio_http_gzip_mw, NULL), 0);
    ASSERT_EQ(corio_http_app_route(app, "GET", "/big", h_big, "text/plain; charset=utf-8"), 0);
    ASSERT_EQ(corio_http_app_route(app, "GET", "/png", h_big, "image/png"), 0);
    ASSERT_EQ(corio_http_app_route(app, "GET", "/small", h_small, NULL), 0);
    ASSERT_EQ(corio_http_app_route(app, "GET", "/json", h_json_big, NULL), 0);
    run_app(app, gzip_main);
    corio_http_app_free(app);
}

static int gzip_opts_main(corio_http_app *app)
{
    struct corio_http_test_resp r;
    get(app, "/small", "Accept-Encoding: gzip\r\n", &r);
    ASSERT_STREQ(corio_http_test_header(&r, "Content-Encoding"), "gzip");
    char out[2048];
    ASSERT_EQ(gunzip(r.body, r.body_len, out, sizeof out), 1023);
    ASSERT_MEMEQ(out, big, 1023);
    corio_http_test_resp_free(&r);
    return 0;
}

TEST(gzip_options_level_and_threshold)
{
    static const struct corio_http_gzip_opts o = {.level = 9, .min_size = 100};
    fill_big();
    corio_http_app *app;
    ASSERT_EQ(corio_http_app_new(&app), 0);
    ASSERT_EQ(corio_http_app_use(app, corio_http_gzip_mw, (void *)&o), 0);
    ASSERT_EQ(corio_http_app_route(app, "GET", "/small", h_small, NULL), 0);
    run_app(app, gzip_opts_main);
    corio_http_app_free(app);
}

/* ---- static files ---------------------------------------------------------------------------- */

static char dir[64];

static void write_file(const char *rel, const char *content)
{
    char p[256];
    snprintf(p, sizeof p, "%s/%s", dir, rel);
    FILE *f = fopen(p, "w");
    ASSERT_NOT_NULL(f);
    fputs(content, f);
    fclose(f);
}

static void make_tree(void)
{
    char p[256], outside[256];
    snprintf(dir, sizeof dir, "/tmp/corio-mw-static-XXXXXX");
    ASSERT_NOT_NULL(mkdtemp(dir));
    snprintf(p, sizeof p, "%s/root", dir);
    ASSERT_EQ(mkdir(p, 0755), 0);
    snprintf(p, sizeof p, "%s/root/sub", dir);
    ASSERT_EQ(mkdir(p, 0755), 0);
    write_file("secret.txt", "outside the root\n");
    write_file("root/index.html", "<h1>home</h1>\n");
    write_file("root/a.txt", "0123456789abcdef");
    write_file("root/app.js", "console.log(1);\n");
    write_file("root/.env", "PASSWORD=x\n");
    write_file("root/sub/index.html", "<h1>sub</h1>\n");
    write_file("root/sub/s.css", "body{}\n");
    snprintf(outside, sizeof outside, "%s/secret.txt", dir);
    snprintf(p, sizeof p, "%s/root/escape.txt", dir);
    ASSERT_EQ(symlink(outside, p), 0);
    snprintf(p, sizeof p, "%s/root/updir", dir);
    ASSERT_EQ(symlink("..", p), 0);
    snprintf(p, sizeof p, "%s/root/alias.txt", dir);
    ASSERT_EQ(symlink("a.txt", p), 0);
}

static void remove_tree(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    ASSERT_EQ(system(cmd), 0);
}

static int h_fallback(corio_http_req *req, corio_http_resp *resp, void *ctx)
{
    return corio_http_resp_text(resp, 200, "text/plain", "fallback", 8);
}

static void expect_status(corio_http_app *app, const char *target, int status)
{
    struct corio_http_test_resp r;
    get(app, target, NULL, &r);
    if (r.status != status)
        fprintf(stderr, "%s -> %d %s\n", target, r.status, r.body);
    ASSERT_EQ(r.status, status);
    ASSERT(strstr(r.body, "outside the root") == NULL);
    corio_http_test_resp_free(&r);
}

static int static_main(corio_http_app *app)
{
    struct corio_http_test_resp r;
    get(app, "/static/a.txt", NULL, &r);
    ASSERT_EQ(r.status, 200);
    ASSERT_STREQ(r.body, "0123456789abcdef");
    ASSERT_STREQ(corio_http_test_header(&r, "Content-Type"), "text/plain; charset=utf-8");
    ASSERT_STREQ(corio_http_test_header(&r, "Cache-Control"), "public, max-age=60");
    const char *etag = corio_http_test_header(&r, "ETag");
    ASSERT_NOT_NULL(etag);
    char inm[128];
    snprintf(inm, sizeof inm, "If-None-Match: %s\r\n", etag);
    struct corio_http_test_resp r2;
    get(app, "/static/a.txt", inm, &r2);
    ASSERT_EQ(r2.status, 304);
    ASSERT_EQ(r2.body_len, 0u);
    corio_http_test_resp_free(&r2);
    corio_http_test_resp_free(&r);

    get(app, "/static/a.txt", "Range: bytes=2-5\r\n", &r);
    ASSERT_EQ(r.status, 206);
    ASSERT_STREQ(r.body, "2345");
    ASSERT_STREQ(corio_http_test_header(&r, "Content-Range"), "bytes 2-5/16");
    corio_http_test_resp_free(&r);
    get(app, "/static/a.txt", "Range: bytes=-3\r\n", &r);
    ASSERT_EQ(r.status, 206);
    ASSERT_STREQ(r.body, "def");
    corio_http_test_resp_free(&r);
    get(app, "/static/a.txt", "Range: bytes=100-\r\n", &r);
    ASSERT_EQ(r.status, 416);
    corio_http_test_resp_free(&r);

    get(app, "/static/app.js", NULL, &r);
    ASSERT_STREQ(corio_http_test_header(&r, "Content-Type"), "text/javascript; charset=utf-8");
    corio_http_test_resp_free(&r);

    /* Directories: index.html, and a redirect to the slash form. */
    get(app, "/static/", NULL, &r);
    ASSERT_EQ(r.status, 200);
    ASSERT_STREQ(r.body, "<h1>home</h1>\n");
    ASSERT_STREQ(corio_http_test_header(&r, "Content-Type"), "text/html; charset=utf-8");
    corio_http_test_resp_free(&r);
    get(app, "/static/sub/", NULL, &r);
    ASSERT_STREQ(r.body, "<h1>sub</h1>\n");
    corio_http_test_resp_free(&r);
    get(app, "/static/sub?v=1", NULL, &r);
    ASSERT_EQ(r.status, 301);
    ASSERT_STREQ(corio_http_test_header(&r, "Location"), "/static/sub/?v=1");
    corio_http_test_resp_free(&r);
    get(app, "/static", NULL, &r);
    ASSERT_EQ(r.status, 301);
    ASSERT_STREQ(corio_http_test_header(&r, "Location"), "/static/");
    corio_http_test_resp_free(&r);

    /* A symlink inside the root is followed. */
    get(app, "/static/alias.txt", NULL, &r);
    ASSERT_EQ(r.status, 200);
    ASSERT_STREQ(r.body, "0123456789abcdef");
    corio_http_test_resp_free(&r);

    /* Traversal, in every spelling, and things that are not there. The parser may refuse some
     * targets itself (400); the middleware answers 404; nothing reads outside the root. */
    static const struct {
        const char *target;
        int status;
    } bad[] = {
        {"/static/../secret.txt", 404},
        {"/static/%2e%2e/secret.txt", 404},
        {"/static/%2E%2E%2Fsecret.txt", 404},
        {"/static/sub/..%2f..%2fsecret.txt", 404},
        {"/static/..%5csecret.txt", 404},
        {"/static//etc/passwd", 404},
        {"/static/%2fetc%2fpasswd", 404},
        {"/static/a.txt%00.html", 404},
        {"/static/escape.txt", 404},
        {"/static/updir/secret.txt", 404},
        {"/static/.env", 404},
        {"/static/a.txt/", 404},
        {"/static/missing.txt", 404},
        {"/static/%zz", 404},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        get(app, bad[i].target, NULL, &r);
        if (r.status != bad[i].status && r.status != 400)
            fprintf(stderr, "%s -> %d %s\n", bad[i].target, r.status, r.body);
        ASSERT(r.status == bad[i].status || r.status == 400);
        ASSERT(strstr(r.body, "outside the root") == NULL);
        corio_http_test_resp_free(&r);
    }

    /* Other paths and methods go down the chain to the router. */
    expect_status(app, "/elsewhere", 200);
    send_h(app, "POST", "/static/a.txt", NULL, &r);
    ASSERT_EQ(r.status, 404); /* no route: the router's 404, not a file */
    ASSERT(strstr(r.body, "no route") != NULL);
    corio_http_test_resp_free(&r);
    return 0;
}

TEST(static_files_serve_safely)
{
    make_tree();
    char root[128];
    snprintf(root, sizeof root, "%s/root", dir);
    corio_http_static *st;
    ASSERT_EQ(corio_http_static_new(
                  &(struct corio_http_static_opts){
                      .root = root, .prefix = "/static/", .cache_control = "public, max-age=60"},
                  &st),
              0);
    corio_http_app *app;
    ASSERT_EQ(corio_http_app_new(&app), 0);
    ASSERT_EQ(corio_http_app_use(app, corio_http_static_mw, st), 0);
    ASSERT_EQ(corio_http_app_route(app, "GET", "/elsewhere", h_fallback, NULL), 0);
    run_app(app, static_main);
    corio_http_app_free(app);
    corio_http_static_free(st);
    remove_tree();
}

static int static_fallthrough_main(corio_http_app *app)
{
    struct corio_http_test_resp r;
    get(app, "/missing", NULL, &r);
    ASSERT_EQ(r.status, 200);
    ASSERT_STREQ(r.body, "fallback");
    corio_http_test_resp_free(&r);
    get(app, "/a.txt", NULL, &r);
    ASSERT_STREQ(r.body, "0123456789abcdef");
    corio_http_test_resp_free(&r);
    get(app, "/.env", NULL, &r);
    ASSERT_EQ(r.status, 200);
    ASSERT_STREQ(r.body, "PASSWORD=x\n"); /* dotfiles on */
    corio_http_test_resp_free(&r);
    get(app, "/sub/", NULL, &r);
    ASSERT_STREQ(r.body, "fallback"); /* no index file configured */
    corio_http_test_resp_free(&r);
    return 0;
}

TEST(static_files_fallthrough_dotfiles_and_handler_form)
{
    make_tree();
    char root[128];
    snprintf(root, sizeof root, "%s/root", dir);
    corio_http_static *st;
    ASSERT_EQ(corio_http_static_new(
                  &(struct corio_http_static_opts){
                      .root = root, .index = "", .fallthrough = true, .dotfiles = true},
                  &st),
              0);
    corio_http_app *app;
    ASSERT_EQ(corio_http_app_new(&app), 0);
    ASSERT_EQ(corio_http_app_use(app, corio_http_static_mw, st), 0);
    ASSERT_EQ(corio_http_app_route(app, "GET", "/{rest...}", h_fallback, NULL), 0);
    run_app(app, static_fallthrough_main);
    corio_http_app_free(app);
    corio_http_static_free(st);

    /* Bad options. */
    ASSERT_EQ(corio_http_static_new(
                  &(struct corio_http_static_opts){.root = root, .prefix = "static/"}, &st),
              -EINVAL);
    ASSERT_EQ(corio_http_static_new(
                  &(struct corio_http_static_opts){.root = root, .prefix = "/static"}, &st),
              -EINVAL);
    ASSERT_EQ(corio_http_static_new(&(struct corio_http_static_opts){.root = "/no/such/dir"}, &st),
              -ENOENT);
    char file[160];
    snprintf(file, sizeof file, "%s/a.txt", root);
    ASSERT_EQ(corio_http_static_new(&(struct corio_http_static_opts){.root = file}, &st), -ENOTDIR);
    remove_tree();
}

static int static_handler_main(corio_http_app *app)
{
    struct corio_http_test_resp r;
    get(app, "/assets/sub/s.css", NULL, &r);
    ASSERT_EQ(r.status, 200);
    ASSERT_STREQ(r.body, "body{}\n");
    ASSERT_STREQ(corio_http_test_header(&r, "Content-Type"), "text/css; charset=utf-8");
    corio_http_test_resp_free(&r);
    expect_status(app, "/assets/%2e%2e/secret.txt", 404);
    expect_status(app, "/assets/nothing", 404);
    return 0;
}

TEST(static_files_as_a_route_handler)
{
    make_tree();
    char root[128];
    snprintf(root, sizeof root, "%s/root", dir);
    corio_http_static *st;
    ASSERT_EQ(corio_http_static_new(
                  &(struct corio_http_static_opts){.root = root, .prefix = "/assets/"}, &st),
              0);
    corio_http_app *app;
    ASSERT_EQ(corio_http_app_new(&app), 0);
    ASSERT_EQ(corio_http_app_route(app, "GET", "/assets/{path...}", corio_http_static_handler, st),
              0);
    run_app(app, static_handler_main);
    corio_http_app_free(app);
    corio_http_static_free(st);
    remove_tree();
}

/* ---- JSON ------------------------------------------------------------------------------------ */

static int h_echo(corio_http_req *req, corio_http_resp *resp, void *ctx)
{
    json_error_t jerr;
    json_t *in;
    int rc;
    if ((rc = corio_http_req_json(req, &in, &jerr)) < 0)
        return corio_http_resp_json_error(resp, rc, &jerr);
    json_t *out = json_pack("{s:O,s:b}", "got", in, "ok", 1);
    rc = corio_http_resp_json(resp, 201, out);
    json_decref(out);
    json_decref(in);
    return rc;
}

static int h_hello(corio_http_req *req, corio_http_resp *resp, void *ctx)
{
    return corio_http_resp_json_strs(resp, 200, "message", "Hello, World!", "q", "a\"b\\c\n");
}

static int h_nan(corio_http_req *req, corio_http_resp *resp, void *ctx)
{
    json_t *v = json_pack("{s:o}", "x", json_object());
    json_t *big_arr = json_array();
    for (int i = 0; i < 2000; i++)
        json_array_append_new(big_arr, json_integer(i));
    json_object_set_new(v, "n", big_arr);
    int rc = corio_http_resp_json(resp, 200, v); /* > 1 KiB: the second dump path */
    json_decref(v);
    return rc;
}

static void post_json(corio_http_app *app, const char *body, struct corio_http_test_resp *r)
{
    ASSERT_EQ(corio_http_test_send(app, "POST", "/echo", "Content-Type: application/json\r\n", body,
                                   strlen(body), r),
              0);
}

static int json_main(corio_http_app *app)
{
    struct corio_http_test_resp r;
    char err[200], v[200];
    post_json(app, "{ \"a\" : [1, 2, {\"b\": null}] }", &r);
    ASSERT_EQ(r.status, 201);
    ASSERT_STREQ(corio_http_test_header(&r, "Content-Type"), "application/json");
    ASSERT_STREQ(r.body, "{\"got\":{\"a\":[1,2,{\"b\":null}]},\"ok\":true}");
    corio_http_test_resp_free(&r);

    post_json(app, "[1, 2", &r);
    ASSERT_EQ(r.status, 400);
    ASSERT_EQ(json_validate(r.body, r.body_len, err, sizeof err), 0);
    ASSERT_GT(json_get_string(r.body, r.body_len, "error", v, sizeof v), 0);
    ASSERT_STREQ(v, "invalid JSON");
    ASSERT_GT(json_get_string(r.body, r.body_len, "detail", v, sizeof v), 0);
    ASSERT(strncmp(v, "line 1 column 5: ", 17) == 0);
    corio_http_test_resp_free(&r);

    post_json(app, "{\n  \"a\": tru\n}", &r);
    ASSERT_EQ(r.status, 400);
    ASSERT_GT(json_get_string(r.body, r.body_len, "detail", v, sizeof v), 0);
    ASSERT(strncmp(v, "line 2 column ", 14) == 0);
    corio_http_test_resp_free(&r);

    post_json(app, "", &r);
    ASSERT_EQ(r.status, 400);
    corio_http_test_resp_free(&r);

    /* Any value at the top level; NUL escapes refused. */
    post_json(app, " 42 ", &r);
    ASSERT_EQ(r.status, 201);
    ASSERT_STREQ(r.body, "{\"got\":42,\"ok\":true}");
    corio_http_test_resp_free(&r);
    post_json(app, "\"a\\u0000b\"", &r);
    ASSERT_EQ(r.status, 400);
    corio_http_test_resp_free(&r);

    /* Over the body limit: 413. */
    static char huge[3000];
    memset(huge, ' ', sizeof huge - 1);
    huge[0] = '[';
    huge[sizeof huge - 2] = ']';
    char raw[4000];
    int n =
        snprintf(raw, sizeof raw, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: %zu\r\n\r\n%s",
                 strlen(huge), huge);
    struct corio_http_test_opts o = {.limits = {.max_body = 1000}};
    ASSERT_EQ(corio_http_test_request_ex(app, &o, raw, (size_t)n, &r), 0);
    ASSERT_EQ(r.status, 413);
    corio_http_test_resp_free(&r);

    get(app, "/hello", NULL, &r);
    ASSERT_EQ(r.status, 200);
    ASSERT_STREQ(r.body, "{\"message\":\"Hello, World!\",\"q\":\"a\\\"b\\\\c\\n\"}");
    ASSERT_STREQ(corio_http_test_header(&r, "Content-Type"), "application/json");
    corio_http_test_resp_free(&r);

    get(app, "/big", NULL, &r);
    ASSERT_EQ(r.status, 200);
    ASSERT_GT(r.body_len, 1024u);
    ASSERT_EQ(json_validate(r.body, r.body_len, err, sizeof err), 0);
    ASSERT_EQ(json_member_kind(r.body, r.body_len, "n"), 'a');
    corio_http_test_resp_free(&r);
    return 0;
}

TEST(json_helpers_parse_errors_and_output)
{
    corio_http_app *app;
    ASSERT_EQ(corio_http_app_new(&app), 0);
    ASSERT_EQ(corio_http_app_route(app, "POST", "/echo", h_echo, NULL), 0);
    ASSERT_EQ(corio_http_app_route(app, "GET", "/hello", h_hello, NULL), 0);
    ASSERT_EQ(corio_http_app_route(app, "GET", "/big", h_nan, NULL), 0);
    run_app(app, json_main);
    corio_http_app_free(app);
}
