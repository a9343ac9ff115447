/* SPDX-License-Identifier: MIT */
/* examples/net_echo.c: a line echo server on corio_server: a TCP listener and, optionally, a
 * Unix socket, with a connection limit, a line length limit, an idle timeout and a graceful stop.
 *
 * Each connection gets a task running echo(): it reads a line (up to 1 KiB, else "ERR line too
 * long" and close), writes it back, and closes a connection that stays silent for 30 s. At most
 * 100 connections are open per server; past that the server stops accepting, so the 101st
 * client waits in the kernel's queue until a slot frees. On SIGTERM or SIGINT both servers stop
 * accepting, connections that send a line meanwhile get "BYE" and close, and those still open
 * after 3 s are cancelled; then the program prints the servers' counters and exits 0.
 *
 *     example_net_echo [port] [unix-socket-path]   (or PORT / ECHO_SOCKET; default 8080, none)
 *     exec 3<>/dev/tcp/localhost/8080; echo hello >&3; head -1 <&3      (bash)  -> hello
 */
#include <corio/core.h>
#include <corio/net.h>
#include <corio/signal.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LINE 1024
#define IDLE_NS (30 * CORIO_S)

struct echo {
    corio_server *srv[2]; /* TCP, then the Unix socket if any */
    int nsrv;
};

static int write_str(corio_stream *s, const char *text)
{
    return corio_stream_write_all(s, text, strlen(text));
}

/* One connection, in its own task. The server closes the stream when this returns. */
static int echo(void *ctx, corio_stream *s, const corio_addr *peer)
{
    const corio_server *const *srv = ctx;
    for (;;) {
        char *line;
        corio_deadline idle;
        corio_deadline_enter(&idle, corio_after(IDLE_NS));
        ssize_t n = corio_stream_read_until(s, "\n", 1, MAX_LINE, &line);
        bool idle_out = corio_deadline_leave(&idle); /* our 30 s ran out */
        if (n == 0)
            return 0; /* the client closed between lines */
        if (n == -EMSGSIZE)
            return write_str(s, "ERR line too long\n");
        if (idle_out)
            return write_str(s, "BYE idle\n");
        if (n < 0)
            return (int)n; /* -ECONNRESET, -EPIPE (closed mid-line), -ECANCELED... */
        if (corio_server_draining(*srv))
            return write_str(s, "BYE\n");
        int rc = corio_stream_write_all(s, line, (size_t)n); /* parks while the peer is slow */
        if (rc < 0)
            return rc;
    }
}

static int run_server(void *arg)
{
    return corio_server_run(arg); /* 0 after corio_server_stop and the drain */
}

static int stop_on_signal(void *arg)
{
    struct echo *e = arg;
    int sig = corio_signal_wait(CORIO_SIG(SIGINT) | CORIO_SIG(SIGTERM));
    if (sig < 0)
        return sig;
    for (int i = 0; i < e->nsrv; i++)
        corio_server_stop(e->srv[i]); /* stop accepting; connections get 3 s to finish */
    return 0;
}

static int main_task(void *arg)
{
    char **args = arg;
    const char *port_s = args[0], *path = args[1];
    int port = port_s && *port_s ? atoi(port_s) : 8080;
    struct echo e = {.nsrv = 0};
    corio_listener *l[2] = {NULL, NULL};
    corio_group *g = NULL;
    struct corio_server_opts so = {
        .handler = echo,
        .max_conns = 100,                /* per server */
        .drain_timeout_ns = 3 * CORIO_S, /* after a stop; then the rest are cancelled */
        .stream = {.max_buffer = 4096},  /* read buffer per connection, at most */
        .conn_stack_size = 32 * 1024,    /* echo() needs little stack */
    };
    int rc = corio_tcp_listen(NULL, port, NULL, &l[0]);
    if (rc == 0 && path && *path)
        rc = corio_unix_listen(path, &(struct corio_listen_opts){.mode = 0660}, &l[1]);
    for (int i = 0; i < 2 && l[i] && rc == 0; i++) {
        so.ctx = &e.srv[i]; /* echo() asks its own server whether it is draining */
        if ((rc = corio_server_new(l[i], &so, &e.srv[i])) == 0)
            e.nsrv++;
    }
    if (rc == 0)
        rc = corio_group_open(&g);
    for (int i = 0; i < e.nsrv && rc == 0; i++)
        rc = corio_spawn(g, run_server, e.srv[i]);
    if (rc == 0)
        rc = corio_spawn(g, stop_on_signal, &e);
    if (rc == 0) {
        corio_yield(); /* stop_on_signal is waiting: SIGTERM is ours from here on */
        printf("echo server on port %d%s%s\n", corio_listener_port(l[0]), l[1] ? " and " : "",
               l[1] ? path : "");
        fflush(stdout);
        rc = corio_group_wait(g);
    } else {
        fprintf(stderr, "net_echo: %s\n", corio_strerror(rc));
    }
    if (g)
        corio_group_close(g);
    for (int i = 0; i < e.nsrv; i++) {
        struct corio_server_stats st;
        corio_server_stats(e.srv[i], &st);
        printf("%s: %llu accepted, %llu failed, %llu times full\n", i ? "unix" : "tcp",
               (unsigned long long)st.accepted, (unsigned long long)st.failed,
               (unsigned long long)st.full_waits);
        corio_server_free(e.srv[i]);
    }
    for (int i = 0; i < 2; i++)
        if (l[i])
            corio_listener_close(l[i]); /* also unlinks the socket file */
    return rc;
}

int main(int argc, char **argv)
{
    char *args[2] = {argc > 1 ? argv[1] : getenv("PORT"),
                     argc > 2 ? argv[2] : getenv("ECHO_SOCKET")};
    int rc = corio_run(NULL, main_task, args);
    return rc < 0 ? 1 : 0;
}
