/* SPDX-License-Identifier: MIT */
/* bench/http_ceiling.c: the ceiling probe of bench/http.sh, the least work any HTTP/1.1 server
 * can do per request: one thread, one level-triggered epoll set, non-blocking sockets with
 * TCP_NODELAY, and per readable connection one read(), a scan for request ends ("\r\n\r\n"), and
 * one write() carrying a canned response for every request that ended in that read. Its
 * requests per second are the ceiling the other servers are measured against.
 *
 *   bench_http_ceiling --port P [--host 127.0.0.1]
 *
 * Responses: "GET /json" gets {"message":"Hello, World!"} as application/json, anything else
 * "Hello, World!" as text/plain. Both carry Server, Date (refreshed at most once a second, as
 * every real server caches it) and Content-Length, the same head the peers send, so the bytes
 * on the wire match theirs. It runs until SIGTERM or SIGINT and then exits 0.
 *
 * Invariants: a connection's carry buffer holds only the unfinished tail of a request (bytes
 * after the last "\r\n\r\n" seen), at most CARRY_MAX bytes, and is allocated only while there
 * is such a tail (wrk never splits a request, so an idle connection costs its 48-byte struct);
 * pending output exists only while EPOLLOUT is armed, and no input is read from a connection
 * while it has pending output (so a client that does not read cannot make the probe buffer
 * without bound).
 *
 * Deliberately not here: parsing (no method, header or body handling: a request with a body
 * would be misread), keep-alive rules, timeouts, limits, and any use of the corio library. It
 * is a yardstick, not a server. Run with no arguments it prints its usage and exits 0, because
 * `make bench` runs every bench_* binary that way.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memmem, accept4 */
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define READ_MAX (64 * 1024) /* one read; 16 pipelined wrk requests are about 1 KiB */
#define CARRY_MAX 8192       /* an unfinished request tail longer than this closes the conn */
#define EVENTS 256

struct conn {
    int fd;
    size_t carry_len;
    char *carry;   /* CARRY_MAX bytes (malloc'd) once a read ends inside a request, else NULL */
    char *pending; /* unwritten output (malloc'd) while EPOLLOUT is armed */
    size_t pending_off, pending_len;
};

static volatile sig_atomic_t stop;
static int ep;
static char inbuf[CARRY_MAX + READ_MAX];
static char *outbuf;
static size_t outcap;

/* The two canned responses, rebuilt when the second changes. */
static char plain[256], json[256];
static size_t plain_len, json_len;
static time_t built_at = -1;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static void build_responses(time_t now)
{
    char date[64];
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    static const char hello[] = "Hello, World!";
    static const char msg[] = "{\"message\":\"Hello, World!\"}";
    plain_len = (size_t)snprintf(plain, sizeof plain,
                                 "HTTP/1.1 200 OK\r\nServer: ceiling\r\nDate: %s\r\n"
                                 "Content-Type: text/plain\r\nContent-Length: %zu\r\n\r\n%s",
                                 date, sizeof hello - 1, hello);
    json_len = (size_t)snprintf(json, sizeof json,
                                "HTTP/1.1 200 OK\r\nServer: ceiling\r\nDate: %s\r\n"
                                "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
                                date, sizeof msg - 1, msg);
    built_at = now;
}

static void conn_close(struct conn *c)
{
    close(c->fd); /* also removes it from the epoll set */
    free(c->carry);
    free(c->pending);
    free(c);
}

static bool out_reserve(size_t need)
{
    if (need <= outcap)
        return true;
    size_t cap = outcap ? outcap : 64 * 1024;
    while (cap < need)
        cap *= 2;
    char *p = realloc(outbuf, cap);
    if (!p)
        return false;
    outbuf = p;
    outcap = cap;
    return true;
}

/* Writes buf[0..len); keeps what the socket did not take and arms EPOLLOUT. False: close. */
static bool send_all(struct conn *c, const char *buf, size_t len)
{
    size_t off = 0;
    while (off < len) {
        ssize_t n = write(c->fd, buf + off, len - off);
        if (n > 0) {
            off += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            c->pending = malloc(len - off);
            if (!c->pending)
                return false;
            memcpy(c->pending, buf + off, len - off);
            c->pending_off = 0;
            c->pending_len = len - off;
            struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = c};
            return epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) == 0;
        }
        return false;
    }
    return true;
}

static bool on_writable(struct conn *c)
{
    while (c->pending_off < c->pending_len) {
        ssize_t n = write(c->fd, c->pending + c->pending_off, c->pending_len - c->pending_off);
        if (n > 0) {
            c->pending_off += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
    }
    free(c->pending);
    c->pending = NULL;
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
    return epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) == 0;
}

/* One read, every complete request in it answered with one write. False: close. */
static bool on_readable(struct conn *c)
{
    if (c->carry_len)
        memcpy(inbuf, c->carry, c->carry_len);
    ssize_t n;
    do
        n = read(c->fd, inbuf + c->carry_len, READ_MAX);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return errno == EAGAIN || errno == EWOULDBLOCK;
    if (n == 0)
        return false;
    size_t len = c->carry_len + (size_t)n;
    /* A request end may straddle the previous read: scan from 3 bytes before the new data. */
    size_t scan = c->carry_len > 3 ? c->carry_len - 3 : 0;
    size_t start = 0, out = 0;
    for (;;) {
        const char *e = memmem(inbuf + scan, len - scan, "\r\n\r\n", 4);
        if (!e)
            break;
        bool is_json = (size_t)(e - (inbuf + start)) >= 9 && !memcmp(inbuf + start, "GET /json", 9);
        const char *resp = is_json ? json : plain;
        size_t rlen = is_json ? json_len : plain_len;
        if (!out_reserve(out + rlen))
            return false;
        memcpy(outbuf + out, resp, rlen);
        out += rlen;
        start = scan = (size_t)(e - inbuf) + 4;
    }
    c->carry_len = len - start;
    if (c->carry_len > CARRY_MAX)
        return false;
    if (c->carry_len && !c->carry && !(c->carry = malloc(CARRY_MAX)))
        return false;
    if (c->carry_len) {
        memcpy(c->carry, inbuf + start, c->carry_len);
    } else {
        free(c->carry);
        c->carry = NULL;
    }
    return out == 0 || send_all(c, outbuf, out);
}

static int usage(FILE *f)
{
    fprintf(f, "usage: bench_http_ceiling --port P [--host ADDR]\n"
               "  the ceiling probe of bench/http.sh (make bench-http): a minimal epoll "
               "server\n");
    return f == stdout ? 0 : 2;
}

int main(int argc, char **argv)
{
    const char *host = "127.0.0.1";
    int port = -1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--port") && i + 1 < argc)
            port = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--host") && i + 1 < argc)
            host = argv[++i];
        else
            return usage(stderr);
    }
    if (port < 0)
        return usage(argc == 1 ? stdout : stderr);

    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (lfd < 0 || inet_pton(AF_INET, host, &a.sin_addr) != 1 ||
        setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
        bind(lfd, (struct sockaddr *)&a, sizeof a) < 0 || listen(lfd, 4096) < 0) {
        fprintf(stderr, "bench_http_ceiling: cannot listen on %s:%d: %s\n", host, port,
                strerror(errno));
        return 1;
    }
    ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event lev = {.events = EPOLLIN, .data.ptr = NULL};
    if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &lev) < 0) {
        fprintf(stderr, "bench_http_ceiling: epoll: %s\n", strerror(errno));
        return 1;
    }

    struct epoll_event evs[EVENTS];
    while (!stop) {
        int n = epoll_wait(ep, evs, EVENTS, 1000);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            fprintf(stderr, "bench_http_ceiling: epoll_wait: %s\n", strerror(errno));
            return 1;
        }
        time_t now = time(NULL); /* vDSO: no system call */
        if (now != built_at)
            build_responses(now);
        for (int i = 0; i < n; i++) {
            struct conn *c = evs[i].data.ptr;
            if (!c) {
                for (;;) {
                    int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                    if (fd < 0)
                        break; /* EAGAIN, or out of descriptors: retried on the next event */
                    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    c = malloc(sizeof *c);
                    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
                    if (!c || epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
                        close(fd);
                        free(c);
                        continue;
                    }
                    c->fd = fd;
                    c->carry_len = 0;
                    c->carry = NULL;
                    c->pending = NULL;
                }
                continue;
            }
            bool ok = c->pending ? on_writable(c) : on_readable(c);
            if (!ok)
                conn_close(c);
        }
    }
    return 0;
}
