/* SPDX-License-Identifier: MIT */
/* examples/net_streams.c: connecting, and the buffered stream calls, with a client and a server
 * in one program over loopback.
 *
 * The server is a corio_server on 127.0.0.1 (port 0: the kernel picks one). Each client
 * connection starts with a command line that picks what the server does:
 *   FRAMES      length-prefixed frames: read_exact for the 4-byte header and the payload,
 *               writev for the answer (header and payload in one system call)
 *   NETSTRINGS  a zero-copy parser with peek / fill / consume ("5:hello,")
 *   FILE        a 4-byte length, then a file with sendfile; the client uses read_exact
 *   SINK        reads everything, but only after 200 ms: the client's write_all parks meanwhile
 *   SILENT      never answers: the client's read runs into its deadline
 * The client connects to "localhost" under a deadline that covers the name lookup and every
 * address tried (where the name also gives ::1, that attempt is refused and 127.0.0.1 is tried
 * next), and also shows a refused connection. Runs in about half a second and exits 0.
 */
#include <corio/core.h>
#include <corio/net.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_FRAME 65536

static void put_be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

static uint32_t get_be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* ---- the server --------------------------------------------------------------------------------
 */

/* Frames until an empty one: each comes back upper-cased. */
static int frames_loop(corio_stream *s, char *buf)
{
    for (;;) {
        unsigned char hdr[4];
        ssize_t n = corio_stream_read_exact(s, hdr, 4);
        if (n <= 0)
            return (int)n; /* 0: the client closed between frames; -EPIPE: in a header */
        uint32_t len = get_be32(hdr);
        if (len == 0)
            return 0;
        if (len > MAX_FRAME)
            return -EMSGSIZE; /* never trust a length from the network */
        if ((n = corio_stream_read_exact(s, buf, len)) <= 0)
            return n == 0 ? -EPIPE : (int)n;
        for (uint32_t i = 0; i < len; i++)
            buf[i] = (char)(buf[i] >= 'a' && buf[i] <= 'z' ? buf[i] - 32 : buf[i]);
        corio_iov iov[2] = {{hdr, 4}, {buf, len}}; /* the same header: the same length */
        int rc = corio_stream_writev(s, iov, 2);
        if (rc < 0)
            return rc;
    }
}

static int serve_frames(corio_stream *s)
{
    char *buf = malloc(MAX_FRAME); /* per connection: writev parks while it is in use */
    int rc = buf ? frames_loop(s, buf) : -ENOMEM;
    free(buf);
    return rc;
}

/* Reads one netstring ("5:hello,") straight out of the stream's buffer: peek at what is
 * buffered, fill when that is not enough, consume what was parsed. *payload is a view into the
 * buffer, valid until the next read or fill. Returns the payload length, 0 at a clean end,
 * -EPROTO for malformed input. */
static ssize_t read_netstring(corio_stream *s, char **payload)
{
    for (;;) {
        size_t have, len = 0, digits = 0;
        char *p = corio_stream_peek(s, &have);
        while (digits < have && digits < 6 && p[digits] >= '0' && p[digits] <= '9')
            len = len * 10 + (size_t)(p[digits++] - '0');
        if (digits < have && (p[digits] != ':' || digits == 0))
            return -EPROTO;
        if (digits == 6 || len > 60000)
            return -EPROTO; /* our own limit: it must fit in the stream's buffer */
        size_t total = digits + 1 + len + 1;
        if (digits < have && have >= total) {
            if (p[total - 1] != ',')
                return -EPROTO;
            *payload = p + digits + 1;
            corio_stream_consume(s, total); /* moves no data: the view stays valid */
            return (ssize_t)len;
        }
        ssize_t n = corio_stream_fill(s); /* at least one more byte, or the end */
        if (n == 0)
            return have ? -EPIPE : 0;
        if (n < 0)
            return n;
    }
}

static int serve_netstrings(corio_stream *s)
{
    char *payload = NULL, line[80];
    ssize_t n;
    while ((n = read_netstring(s, &payload)) > 0) {
        int shown = n < 40 ? (int)n : 40;
        int len = snprintf(line, sizeof line, "got %zd bytes: %.*s\n", n, shown, payload);
        int rc = corio_stream_write_all(s, line, (size_t)len);
        if (rc < 0)
            return rc;
    }
    return (int)n;
}

static int serve_file(corio_stream *s, int fd)
{
    off_t size = lseek(fd, 0, SEEK_END);
    unsigned char hdr[4];
    put_be32(hdr, (uint32_t)size);
    int rc = corio_stream_write_all(s, hdr, 4);
    return rc < 0 ? rc : corio_stream_sendfile(s, fd, 0, (size_t)size); /* zero copy */
}

static int serve_sink(corio_stream *s)
{
    char buf[4096];
    int rc = corio_sleep(200 * CORIO_MS); /* a slow consumer */
    ssize_t n;
    while (rc == 0 && (n = corio_stream_read_some(s, buf, sizeof buf)) != 0)
        rc = n < 0 ? (int)n : 0;
    return rc;
}

static int serve_silent(corio_stream *s)
{
    char c;
    return (int)corio_stream_read_some(s, &c, 1); /* until the client leaves */
}

static bool is(const char *line, ssize_t n, const char *cmd)
{
    return (size_t)n == strlen(cmd) + 1 && memcmp(line, cmd, (size_t)n - 1) == 0;
}

/* The connection handler: the first line says what to do. */
static int serve(void *ctx, corio_stream *s, const corio_addr *peer)
{
    const int *file_fd = ctx;
    char *cmd;
    ssize_t n = corio_stream_read_until(s, "\n", 1, 32, &cmd);
    if (n <= 0)
        return (int)n; /* -EMSGSIZE: no newline within 32 bytes */
    if (is(cmd, n, "FRAMES"))
        return serve_frames(s);
    if (is(cmd, n, "NETSTRINGS"))
        return serve_netstrings(s);
    if (is(cmd, n, "FILE"))
        return serve_file(s, *file_fd);
    if (is(cmd, n, "SINK"))
        return serve_sink(s);
    if (is(cmd, n, "SILENT"))
        return serve_silent(s);
    return -EPROTO;
}

/* ---- the client --------------------------------------------------------------------------------
 */

/* Connects to localhost:port and sends the command. The deadline covers the name lookup and
 * every connection attempt together. */
static int dial(int port, const char *cmd, corio_stream **out)
{
    corio_deadline dl;
    corio_deadline_enter(&dl, corio_after(2 * CORIO_S));
    int fd = corio_tcp_connect("localhost", port, NULL);
    corio_deadline_leave(&dl);
    if (fd < 0)
        return fd;
    int rc = corio_stream_open(fd, NULL, out);
    if (rc < 0) {
        corio_close(fd); /* on error the fd is still ours */
        return rc;
    }
    rc = corio_stream_write_all(*out, cmd, strlen(cmd));
    if (rc < 0)
        corio_stream_close(*out);
    return rc;
}

static int try_frames(int port)
{
    static const char *const words[] = {"alpha", "beta", "gamma", ""};
    corio_stream *s;
    int rc = dial(port, "FRAMES\n", &s);
    for (int i = 0; i < 4 && rc == 0; i++) {
        unsigned char hdr[4];
        uint32_t len = (uint32_t)strlen(words[i]);
        put_be32(hdr, len);
        corio_iov iov[2] = {{hdr, 4}, {words[i], len}};
        if ((rc = corio_stream_writev(s, iov, 2)) < 0 || len == 0)
            break;
        char reply[16];
        ssize_t n = corio_stream_read_exact(s, hdr, 4);
        if (n == 4 && get_be32(hdr) == len)
            n = corio_stream_read_exact(s, reply, len);
        if (n != (ssize_t)len)
            rc = n < 0 ? (int)n : -EPROTO;
        else
            printf("   frame %s -> %.*s\n", words[i], (int)len, reply);
    }
    if (rc == 0)
        corio_stream_close(s);
    return rc;
}

static int try_netstrings(int port)
{
    corio_stream *s;
    int rc = dial(port, "NETSTRINGS\n", &s);
    if (rc < 0)
        return rc;
    /* Split in awkward places on purpose: the parser fills until a netstring is complete. */
    static const char *const parts[] = {"5:hel", "lo,11:hello", " world,", "0:,"};
    for (int i = 0; i < 4 && rc == 0; i++) {
        rc = corio_stream_write_all(s, parts[i], strlen(parts[i]));
        if (rc == 0)
            rc = corio_sleep(5 * CORIO_MS); /* so that they arrive as separate reads */
    }
    char *line;
    ssize_t n;
    while (rc == 0 && (n = corio_stream_read_until(s, "\n", 1, 100, &line)) != 0) {
        if (n < 0)
            rc = (int)n;
        else
            printf("   %.*s", (int)n, line);
    }
    corio_stream_close(s);
    return rc;
}

static int try_file(int port, size_t size)
{
    corio_stream *s;
    int rc = dial(port, "FILE\n", &s);
    if (rc < 0)
        return rc;
    unsigned char hdr[4];
    char *body = malloc(size);
    ssize_t n = body ? corio_stream_read_exact(s, hdr, 4) : -ENOMEM;
    if (n == 4 && get_be32(hdr) == size)
        n = corio_stream_read_exact(s, body, size);
    if (n == (ssize_t)size)
        printf("   received %zu bytes of file, last byte '%c'\n", size, body[size - 1]);
    else
        rc = n < 0 ? (int)n : -EPROTO;
    free(body);
    corio_stream_close(s);
    return rc;
}

static int try_backpressure(int port)
{
    size_t total = 32u << 20;
    char *data = calloc(1, total);
    corio_stream *s;
    int rc = data ? dial(port, "SINK\n", &s) : -ENOMEM;
    if (rc == 0) {
        int64_t t0 = corio_now();
        rc = corio_stream_write_all(s, data, total); /* parks whenever the socket is full */
        int64_t ms = (corio_now() - t0) / CORIO_MS;
        printf("   write_all of 32 MiB: %s, %s the reader's 200 ms pause\n", corio_strerror(rc),
               ms >= 100 ? "parked through" : "(too fast to see)");
        corio_stream_close(s);
    }
    free(data);
    return rc;
}

static int try_deadline(int port)
{
    corio_stream *s;
    int rc = dial(port, "SILENT\n", &s);
    if (rc < 0)
        return rc;
    char buf[16];
    corio_deadline dl;
    corio_deadline_enter(&dl, corio_after(100 * CORIO_MS));
    ssize_t n = corio_stream_read_some(s, buf, sizeof buf);
    bool ours = corio_deadline_leave(&dl);
    printf("   read from a silent server: %s (our 100 ms deadline: %s)\n", corio_strerror((int)n),
           ours ? "yes" : "no");
    corio_stream_close(s);
    return n == -ETIMEDOUT ? 0 : -EPROTO;
}

static int try_refused(void)
{
    corio_listener *l;
    int rc = corio_tcp_listen("127.0.0.1", 0, NULL, &l); /* a free port... */
    if (rc < 0)
        return rc;
    int port = corio_listener_port(l);
    corio_listener_close(l); /* ...where nothing listens any more */
    int fd = corio_tcp_connect("127.0.0.1", port, NULL);
    printf("   connect to a closed port: %s\n", corio_strerror(fd));
    return fd == -ECONNREFUSED ? 0 : -EPROTO;
}

static int client(void *arg)
{
    int port = *(const int *)arg;
    int rc;
    printf("1. frames with writev and read_exact\n");
    rc = try_frames(port);
    if (rc == 0) {
        printf("2. netstrings with peek, fill and consume\n");
        rc = try_netstrings(port);
    }
    if (rc == 0) {
        printf("3. sendfile\n");
        rc = try_file(port, 256 * 1024);
    }
    if (rc == 0) {
        printf("4. backpressure\n");
        rc = try_backpressure(port);
    }
    if (rc == 0) {
        printf("5. deadlines and errors\n");
        rc = try_deadline(port);
    }
    if (rc == 0)
        rc = try_refused();
    return rc;
}

/* ---- main --------------------------------------------------------------------------------------
 */

static int make_file(size_t size)
{
    char path[] = "/tmp/net_streams_XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        return -errno;
    unlink(path); /* gone when closed */
    char block[4096];
    for (size_t i = 0; i < sizeof block; i++)
        block[i] = (char)('a' + i % 26);
    for (size_t done = 0; done < size; done += sizeof block)
        if (write(fd, block, sizeof block) != (ssize_t)sizeof block) {
            close(fd);
            return -EIO;
        }
    return fd;
}

static int run_server(void *arg)
{
    return corio_server_run(arg);
}

static int main_task(void *arg)
{
    corio_listener *l;
    corio_server *srv = NULL;
    corio_group *g = NULL;
    int file_fd = make_file(256 * 1024);
    if (file_fd < 0)
        return file_fd;
    int rc = corio_tcp_listen("127.0.0.1", 0, NULL, &l);
    if (rc < 0) {
        close(file_fd);
        return rc;
    }
    int port = corio_listener_port(l);
    struct corio_server_opts so = {.handler = serve, .ctx = &file_fd, .max_conns = 16};
    if ((rc = corio_server_new(l, &so, &srv)) == 0 && (rc = corio_group_open(&g)) == 0 &&
        (rc = corio_spawn(g, run_server, srv)) == 0)
        rc = client(&port);
    if (srv)
        corio_server_stop(srv); /* the SILENT connection ends when its client closes */
    if (g) {
        int wrc = corio_group_wait(g);
        rc = rc < 0 ? rc : wrc;
        corio_group_close(g);
    }
    if (srv) {
        struct corio_server_stats st;
        corio_server_stats(srv, &st);
        printf("server: %llu connections, %llu handler errors\n", (unsigned long long)st.accepted,
               (unsigned long long)st.failed);
        corio_server_free(srv);
    }
    corio_listener_close(l);
    close(file_fd);
    return rc;
}

int main(void)
{
    int rc = corio_run(NULL, main_task, NULL);
    printf("done: %s\n", corio_strerror(rc));
    return rc < 0 ? 1 : 0;
}
