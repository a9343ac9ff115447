/* SPDX-License-Identifier: MIT */
/* examples/http_sse.c: Server-Sent Events: a clock that ticks once a second to every client,
 * with heartbeats, Last-Event-ID on reconnect, and a graceful drain that ends the streams.
 *
 *     example_http_sse [port]                 (or PORT; default 8080)
 *     curl -N localhost:8080/clock            -> id: 1 / event: tick / data: {"n":1,...} ...
 *     curl -N -H 'Last-Event-ID: 41' localhost:8080/clock   -> counting resumes at 42
 *
 * On SIGTERM or SIGINT the server drains: every stream's corio_http_sse_sleep() returns
 * -ESHUTDOWN within a second, the handlers return, the responses end cleanly, and the program
 * exits 0.
 */
#include <corio/core.h>
#include <corio/http.h>
#include <corio/http_sse.h>
#include <corio/net.h>
#include <corio/signal.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static int clock_events(corio_http_req *req, corio_http_resp *resp, void *ctx)
{
    corio_http_sse sse;
    corio_str last;
    long n = 0;
    if (corio_http_sse_last_event_id(req, &last))
        n = strtol(last.ptr, NULL, 10); /* header values end at CR, so strtol stops there */
    int rc = corio_http_sse_begin(&sse, req, resp, &(struct corio_http_sse_opts){.retry_ms = 2000});
    while (rc == 0) {
        char id[24], data[96];
        snprintf(id, sizeof id, "%ld", ++n);
        snprintf(data, sizeof data, "{\"n\":%ld,\"unix_time\":%lld}", n, (long long)time(NULL));
        rc = corio_http_sse_send(&sse, "tick", id, data);
        if (rc == 0)
            rc = corio_http_sse_sleep(&sse, CORIO_S); /* heartbeats, and notices a drain */
    }
    return rc == -ESHUTDOWN ? 0 : rc; /* a drain: end the stream cleanly */
}

static corio_http_server *server;

static int drain(void *ctx)
{
    return corio_http_server_drain(server);
}

static int stop_on_signal(void *arg)
{
    int sig = corio_shutdown_on_signal(&(struct corio_shutdown_opts){.drain = drain});
    return sig > 0 ? 0 : sig;
}

static int serve(void *arg)
{
    corio_http_app *app = arg;
    const char *p = getenv("PORT");
    int port = p ? atoi(p) : 8080;
    corio_listener *l;
    int rc = corio_tcp_listen(NULL, port, NULL, &l);
    if (rc < 0) {
        fprintf(stderr, "http_sse: cannot listen on port %d: %s\n", port, corio_strerror(rc));
        return rc;
    }
    rc = corio_http_server_new(app, l, NULL, &server);
    if (rc == 0 && (rc = corio_spawn(NULL, stop_on_signal, NULL)) == 0) {
        corio_yield(); /* the watcher owns SIGTERM from now on */
        printf("listening on http://localhost:%d/clock\n", port);
        fflush(stdout);
        rc = corio_http_server_run(server); /* returns 0 once a drain is over */
    }
    corio_http_server_free(server);
    corio_listener_close(l);
    return rc == -ECANCELED ? 0 : rc;
}

int main(int argc, char **argv)
{
    if (argc > 1)
        setenv("PORT", argv[1], 1);
    corio_http_app *app;
    int rc = corio_http_app_new(&app);
    if (rc == 0)
        rc = corio_http_app_route(app, "GET", "/clock", clock_events, NULL);
    if (rc == 0)
        rc = corio_run(NULL, serve, app);
    corio_http_app_free(app);
    if (rc < 0)
        fprintf(stderr, "http_sse: %s\n", corio_strerror(rc));
    return rc < 0 ? 1 : 0;
}
