/* SPDX-License-Identifier: MIT */
/* examples/http_hello.c: the smallest complete HTTP server, on one or several worker loops.
 *
 * An app with two routes, a server per worker on its own SO_REUSEPORT listener (the kernel
 * spreads the connections over the workers), and a signal watcher on worker 0. On SIGTERM or
 * SIGINT the watcher calls corio_shutdown(), which cancels every server at once: a hard stop,
 * fine for a hello world. examples/http_api.c drains the requests in flight instead.
 *
 *     example_http_hello [port] [workers]      (or PORT / WORKERS; default 8080 and 1)
 *     curl localhost:8080/hello                -> Hello, World!
 *     curl localhost:8080/hello/Ada%20Lovelace -> Hello, Ada Lovelace!
 *
 * It serves until SIGTERM or Ctrl-C, then exits 0; 1 if it cannot listen.
 */
#include <corio/core.h>
#include <corio/http.h>
#include <corio/net.h>
#include <corio/signal.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct config {
    corio_http_app *app; /* built before corio_run, then only read: shared by every worker */
    int port;
};

static int hello(corio_http_req *req, corio_http_resp *resp, void *ctx)
{
    return corio_http_resp_text(resp, 200, "text/plain", "Hello, World!\n", 14);
}

static int greet(corio_http_req *req, corio_http_resp *resp, void *ctx)
{
    corio_str name; /* percent-decoded; a view, not NUL-terminated */
    corio_http_req_param(req, "name", &name);
    char *body = corio_http_req_alloc(req, name.len + 16); /* freed with the exchange */
    if (!body)
        return -ENOMEM; /* the client gets a 500 */
    int n = sprintf(body, "Hello, %.*s!\n", (int)name.len, name.ptr);
    return corio_http_resp_text(resp, 200, "text/plain; charset=utf-8", body, (size_t)n);
}

/* Worker 0, in the background: waits for SIGTERM or SIGINT, then corio_shutdown(). */
static int stop_on_signal(void *arg)
{
    int sig = corio_shutdown_on_signal(&(struct corio_shutdown_opts){0});
    return sig > 0 ? 0 : sig;
}

/* Runs on every worker loop. */
static int serve(void *arg)
{
    const struct config *cfg = arg;
    corio_listener *l;
    corio_http_server *srv;
    int rc = corio_tcp_listen(NULL, cfg->port, &(struct corio_listen_opts){.reuseport = true}, &l);
    if (rc < 0) {
        fprintf(stderr, "http_hello: cannot listen on port %d: %s\n", cfg->port,
                corio_strerror(rc));
        corio_shutdown(); /* stop the other workers too */
        return rc;
    }
    rc = corio_http_server_new(cfg->app, l, NULL, &srv);
    if (rc == 0) {
        if (corio_worker_id() == 0 && (rc = corio_spawn(NULL, stop_on_signal, NULL)) == 0) {
            corio_yield(); /* let it reach its wait: from now on SIGTERM is ours */
            printf("listening on http://localhost:%d/hello with %d worker(s)\n", cfg->port,
                   corio_worker_count());
            fflush(stdout);
        }
        if (rc == 0)
            rc = corio_http_server_run(srv); /* until corio_shutdown(): -ECANCELED */
        corio_http_server_free(srv);
    }
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
    struct config cfg = {.port = int_arg(argc, argv, 1, "PORT", 8080)};
    int workers = int_arg(argc, argv, 2, "WORKERS", 1);
    if (cfg.port < 0 || workers < 0 || workers > 64) {
        fprintf(stderr, "usage: %s [port] [workers 1..64]\n", argv[0]);
        return 2;
    }
    int rc = corio_http_app_new(&cfg.app);
    if (rc == 0)
        rc = corio_http_app_route(cfg.app, "GET", "/hello", hello, NULL);
    if (rc == 0)
        rc = corio_http_app_route(cfg.app, "GET", "/hello/{name}", greet, NULL);
    if (rc == 0)
        rc = corio_run(&(struct corio_run_opts){.workers = workers}, serve, &cfg);
    corio_http_app_free(cfg.app);
    if (rc < 0)
        fprintf(stderr, "http_hello: %s\n", corio_strerror(rc));
    return rc < 0 ? 1 : 0;
}
