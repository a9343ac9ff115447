/* SPDX-License-Identifier: MIT */
/* corio/net.h: sockets for tasks: addresses and name resolution, TCP and Unix listeners,
 * connect with the enclosing deadline, accept, an accept loop with a connection limit
 * (corio_server), and buffered streams with backpressure (corio_stream).
 *
 * The model. Every fd made here is non-blocking and close-on-exec, and TCP sockets get
 * TCP_NODELAY unless asked otherwise. A call that would block parks the calling task on the
 * loop (through corio_fd_wait), so everything marked "Suspends" obeys the task's deadline
 * scopes (-ETIMEDOUT) and cancellation (-ECANCELED), like every blocking call in corio. There
 * are no per-call timeouts: put a deadline scope around the calls instead.
 *
 *     corio_listener *l;
 *     int rc = corio_tcp_listen("0.0.0.0", 8080, NULL, &l);      // -EADDRINUSE, ...
 *     struct corio_server_opts so = {.handler = echo, .max_conns = 10000};
 *     rc = corio_serve(l, &so);                                   // until cancelled
 *     corio_listener_close(l);
 *
 *     static int echo(void *ctx, corio_stream *s, const corio_addr *peer)
 *     {
 *         char *line;
 *         ssize_t n;
 *         while ((n = corio_stream_read_until(s, "\n", 1, 4096, &line)) > 0)
 *             if ((n = corio_stream_write_all(s, line, (size_t)n)) < 0)
 *                 break;
 *         return n < 0 ? (int)n : 0;
 *     }
 *
 * Threads. A listener, server or stream belongs to the loop of the task that made it and is
 * used only by that loop's tasks. With corio_run_opts.workers > 1 each worker opens its own
 * listener with reuseport = true on the same port and runs its own server; a worker stops its
 * server when a task on that loop calls corio_server_stop (post one with corio_loop_post).
 *
 * Errors are negative errnos. Besides -ECANCELED and -ETIMEDOUT, the ones callers meet most:
 * -EADDRINUSE (the port or socket path is taken), -ECONNREFUSED (nothing listens there),
 * -ECONNRESET (the peer reset the connection), -EPIPE (the peer is gone, or the stream ended
 * in the middle of something: see each function), -EMSGSIZE (a configured size limit),
 * -ENXIO (a host name that does not resolve), -EMFILE (out of fds). corio_strerror renders them.
 */
#ifndef CORIO_NET_H
#define CORIO_NET_H

#include "corio/core.h"

#include <sys/socket.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------------------------------
 * Types.
 */
typedef struct corio_listener corio_listener; /* a listening socket; opaque */
typedef struct corio_server corio_server;     /* an accept loop over a listener; opaque */
typedef struct corio_stream corio_stream;     /* a buffered byte stream over a connection */

/* One buffer of a gather write. The layout is struct iovec's, so arrays convert for free. */
typedef struct corio_iov {
    const void *base;
    size_t len;
} corio_iov;

/* A socket address of any family (IPv4, IPv6, Unix). A plain value: copy it freely. */
typedef struct corio_addr {
    struct sockaddr_storage ss; /* ss.ss_family tells the family */
    socklen_t len;              /* bytes of ss in use; 0 = no address */
} corio_addr;

/* Longest text corio_addr_format writes: "[" IPv6 "%" scope "]:" port, or "unix:" path. */
#define CORIO_ADDR_STRLEN 128

/* ---------------------------------------------------------------------------------------------
 * Addresses and name resolution.
 */

/* Fills *out from a numeric host ("127.0.0.1", "::1", "[::1]", "fe80::1%lo") and a port
 * (0..65535). NULL or "" is the IPv4 any address. Never resolves names and never suspends.
 * Errors: -EINVAL (not a numeric address, bad port). Any thread. */
CORIO_API int corio_addr_parse(const char *host, int port, corio_addr *out);

/* Fills *out with the Unix socket address for path; a leading '@' selects the Linux abstract
 * namespace. Errors: -ENAMETOOLONG, -EINVAL (empty path). Any thread. */
CORIO_API int corio_addr_unix(const char *path, corio_addr *out);

/* The port of an IPv4/IPv6 address, or -EAFNOSUPPORT for other families. Any thread. */
CORIO_API int corio_addr_port(const corio_addr *a);

/* Writes a as text into buf: "127.0.0.1:80", "[::1]:80", "unix:/run/x.sock", "unix:@name", or
 * "unix:" for an unnamed peer. Returns the length written (always NUL-terminated, truncated to
 * cap), or -EAFNOSUPPORT. Any thread. */
CORIO_API int corio_addr_format(const corio_addr *a, char *buf, size_t cap);

/* Resolves host and port into at most cap addresses, in the resolver's order (numeric hosts
 * give one address without resolving). family is AF_UNSPEC, AF_INET or AF_INET6. Names go to
 * getaddrinfo on the executor (corio/exec.h), so the caller's deadline applies to the lookup as
 * a whole: a lookup the caller gives up on finishes in the background and its result is
 * dropped. Returns the number of addresses stored (>= 1). Suspends for names. Errors: -ENXIO
 * (the name does not resolve), -EAGAIN (temporary resolver failure), -EINVAL (bad port,
 * family or cap 0), -EAFNOSUPPORT (a numeric host of another family than asked), -ENOMEM,
 * -EIO (other resolver failures), -ECANCELED, -ETIMEDOUT, -ESHUTDOWN. Task context. */
CORIO_API int corio_resolve(const char *host, int port, int family, corio_addr *out, size_t cap);

/* ---------------------------------------------------------------------------------------------
 * Listeners.
 */
struct corio_listen_opts {
    int backlog;    /* kernel accept queue; 0 = 4096 (the kernel caps it at somaxconn);
                     * negative = -EINVAL */
    bool reuseport; /* SO_REUSEPORT: one listener per worker loop on the same port */
    bool v6only;    /* for an IPv6 any address: IPv6 only (default: dual stack, IPv4 too) */
    bool nagle;     /* keep Nagle's algorithm on accepted sockets (default: TCP_NODELAY) */
    unsigned mode;  /* Unix sockets: chmod the socket file to this mode; 0 = leave as made */
    uint64_t _reserved[4];
};

/* Opens a TCP listener on host:port. host NULL or "" means any address: "::" dual stack where
 * IPv6 exists, else "0.0.0.0"; "::" is IPv6 any (dual stack unless v6only); a name is resolved
 * (first address used). port 0 picks a free port: read it with corio_listener_port (with
 * reuseport, open the first listener on port 0 and the others on the port it got). Sets
 * SO_REUSEADDR always and SO_REUSEPORT if asked. o may be NULL. On success the caller owns *out
 * and releases it with corio_listener_close. Suspends only to resolve a name. Errors:
 * -EADDRINUSE (the port is taken), -EACCES (a privileged port), -EADDRNOTAVAIL (not a local
 * address), -EINVAL, -EAFNOSUPPORT, -EMFILE, -ENOMEM, and those of corio_resolve. Task
 * context. */
CORIO_API int corio_tcp_listen(const char *host, int port, const struct corio_listen_opts *o,
                               corio_listener **out);

/* Opens a Unix stream listener at path ('@' prefix: abstract namespace). A socket file left by
 * a dead process (nobody accepts on it) is unlinked and replaced; a live socket or a file that
 * is not a socket gives -EADDRINUSE. The socket file is unlinked again by
 * corio_listener_close if it is still ours. Errors: -EADDRINUSE, -ENAMETOOLONG, -EACCES,
 * -ENOENT (no such directory), -EMFILE, -ENOMEM. Does not suspend. Task context. */
CORIO_API int corio_unix_listen(const char *path, const struct corio_listen_opts *o,
                                corio_listener **out);

/* Closes the listening socket (a task parked in corio_accept on it gets -EBADF) and frees l.
 * A server must not be running on l. Does not suspend. */
CORIO_API void corio_listener_close(corio_listener *l);

/* The listening fd (borrowed: do not close it), and the bound port (0 for Unix sockets). */
CORIO_API int corio_listener_fd(const corio_listener *l);
CORIO_API int corio_listener_port(const corio_listener *l);

/* The bound address (the actual port when 0 was asked for). */
CORIO_API void corio_listener_addr(const corio_listener *l, corio_addr *out);

/* ---------------------------------------------------------------------------------------------
 * Accepting and connecting. These return a connected fd (>= 0, non-blocking, close-on-exec)
 * that the caller owns: wrap it with corio_stream_open, or close it with corio_close.
 */

/* Waits for the next connection on l and returns its fd; *peer (may be NULL) gets the peer's
 * address. Failures that concern only the pending connection (it was reset before accept,
 * ECONNABORTED and the like) are skipped. When out of fds or memory (EMFILE, ENFILE, ENOBUFS,
 * ENOMEM) it logs a warning (at most once per 10 s per listener), sleeps briefly and retries
 * rather than spinning, so the pending connection waits in the kernel queue. One task at a
 * time may accept on a listener. Suspends. Errors: -ECANCELED, -ETIMEDOUT, -EBADF (l was
 * closed). Task context. */
CORIO_API int corio_accept(corio_listener *l, corio_addr *peer);

struct corio_connect_opts {
    int family; /* AF_UNSPEC (default), AF_INET or AF_INET6: which addresses of a name */
    bool nagle; /* keep Nagle's algorithm (default: TCP_NODELAY) */
    uint64_t _reserved[4];
};

/* Connects to host:port: a numeric host directly, a name through corio_resolve, trying each
 * address in order until one connects. The caller's deadline bounds the whole call (lookup
 * and every attempt); there is no other timeout. o may be NULL. Returns the connected fd.
 * Suspends. Errors: the first attempt's error if all fail (-ECONNREFUSED, -ENETUNREACH,
 * -EHOSTUNREACH, ...), -ETIMEDOUT, -ECANCELED, -EMFILE, -EINVAL (host NULL or ""), and those
 * of corio_resolve. */
CORIO_API int corio_tcp_connect(const char *host, int port, const struct corio_connect_opts *o);

/* Connects to the address a (TCP for IPv4/IPv6, stream for Unix). Returns the fd. Suspends.
 * Errors as for corio_tcp_connect; for Unix also -ENOENT (no such socket file) and
 * -ECONNREFUSED (nobody listens). A Unix listener whose queue is full makes it retry with a
 * short back-off until the deadline. */
CORIO_API int corio_connect_addr(const corio_addr *a, const struct corio_connect_opts *o);

/* Connects to the Unix stream socket at path ('@' prefix: abstract). Suspends. Errors as for
 * corio_connect_addr, and -ENAMETOOLONG. */
CORIO_API int corio_unix_connect(const char *path);

/* ---------------------------------------------------------------------------------------------
 * Buffered streams.
 *
 * A stream wraps a connected fd (a socket, or a pipe or tty) with a read buffer and direct
 * writes. The read buffer is allocated on the first read, grows by doubling up to max_buffer
 * and is compacted in place; a reader that needs more than max_buffer bytes at once gets
 * -EMSGSIZE, never unbounded growth. Writes go straight to the fd; when the kernel's send
 * buffer is full the writer parks until it drains (backpressure), so a stream never buffers
 * output and its memory does not grow with a slow peer.
 *
 * Views. read_until and peek return pointers into the read buffer ("views"). A view stays
 * valid until the next read_*, fill, trim or close on the same stream (peek and consume move no
 * data). Bytes in a view may be modified in place.
 *
 * Concurrency. One task may read and another write the same stream at the same time (a proxy,
 * a WebSocket writer); two tasks must not read (or write) at once (the second gets -EBUSY from
 * the fd wait at best). Close a stream only when no other task is inside a call on it (cancel
 * and join such a task first, or make it return with corio_stream_shutdown).
 *
 * End of stream and errors. A read that reaches the end of the stream where a message could
 * cleanly end returns 0; an end in the middle of what was asked for is -EPIPE (read_exact,
 * read_until) and the bytes that did arrive stay readable (peek) when they are still buffered.
 * An error (-ECONNRESET, ...) is returned as is, and the next call tries the fd again.
 */
struct corio_stream_opts {
    size_t read_buffer; /* initial read buffer in bytes, allocated on first read; 0 = 4 KiB */
    size_t max_buffer;  /* the read buffer never grows past this (raised to read_buffer if
                         * smaller); 0 = 64 KiB */
    uint64_t _reserved[4];
};

/* Wraps the connected fd in a stream. Ownership of fd passes to the stream on success only (on
 * error the caller still owns it). o may be NULL; it is copied. Errors: -ENOMEM, -EBADF (fd <
 * 0). Does not suspend. Task context. */
CORIO_API int corio_stream_open(int fd, const struct corio_stream_opts *o, corio_stream **out);

/* Closes the fd (with corio_close) and frees s, with any buffered input. Returns 0 or the
 * close error (the stream is freed either way). Does not suspend. */
CORIO_API int corio_stream_close(corio_stream *s);

/* The stream's fd (borrowed; for socket options and getpeername, not for reading: that would
 * bypass the buffer). */
CORIO_API int corio_stream_fd(const corio_stream *s);

/* --- reading --- */

/* Copies up to cap bytes into buf: buffered bytes first, otherwise whatever one read from the
 * fd gives (at least one byte; a large cap with an empty buffer reads into buf directly).
 * Returns the count (> 0), 0 at end of stream. Suspends if nothing is available. Errors:
 * -ECONNRESET and other socket errors, -ECANCELED, -ETIMEDOUT, -ENOMEM. */
CORIO_API ssize_t corio_stream_read_some(corio_stream *s, void *buf, size_t cap);

/* Reads exactly n bytes into buf. Returns n; 0 if the stream ended before the first byte (a
 * clean end between messages); -EPIPE if it ended after some but not all of them (those bytes
 * are in buf and consumed). On other errors an unspecified prefix of buf was filled and
 * consumed: treat the stream as broken. Suspends. Errors as for read_some. */
CORIO_API ssize_t corio_stream_read_exact(corio_stream *s, void *buf, size_t n);

/* Reads until the dlen-byte delimiter delim (dlen >= 1) and sets *view to the data, delimiter
 * included; returns its length. The bytes are consumed; the view stays valid as described
 * above. max bounds the length including the delimiter (capped to max_buffer). Returns 0 if
 * the stream ended with nothing buffered. Errors: -EMSGSIZE (no delimiter within max bytes;
 * nothing is consumed, the bytes stay buffered), -EPIPE (the stream ended after some bytes
 * but before a delimiter; they stay buffered), -EINVAL (dlen 0), and those of read_some.
 * Suspends. */
CORIO_API ssize_t corio_stream_read_until(corio_stream *s, const void *delim, size_t dlen,
                                          size_t max, char **view);

/* Zero-copy parsing. peek returns a view of the buffered, unconsumed bytes and their count in
 * *len (NULL and 0 if none); it never reads or suspends. fill reads from the fd once, appending
 * at least one byte to the buffer (it compacts or grows the buffer first if needed, moving
 * earlier views): returns the count added, 0 at end of stream, -EMSGSIZE if max_buffer bytes
 * are already buffered (consume some first). consume drops the first n buffered bytes
 * (n <= the peeked length, else it aborts: a bug). A parser's loop is: peek, parse, consume
 * what it used, fill if it needs more.
 * fill suspends; errors as for read_some. */
CORIO_API char *corio_stream_peek(corio_stream *s, size_t *len);
CORIO_API ssize_t corio_stream_fill(corio_stream *s);
CORIO_API void corio_stream_consume(corio_stream *s, size_t n);

/* Parks until a read would not block: input is buffered, the fd is readable, or the stream has
 * ended or failed. Reads nothing and allocates nothing, so an idle connection can wait here
 * after corio_stream_trim holding no buffer. Suspends: 0, -ECANCELED, -ETIMEDOUT. */
CORIO_API int corio_stream_wait_readable(corio_stream *s);

/* Frees the read buffer if it holds no unconsumed bytes (the next read allocates it again).
 * For idle connections: thousands of them then cost no buffer memory. Does not suspend. */
CORIO_API void corio_stream_trim(corio_stream *s);

/* --- writing --- */

/* Writes all len bytes, parking whenever the socket's send buffer is full. Returns 0. On error
 * an unspecified prefix was sent. Never raises SIGPIPE. Suspends. Errors: -EPIPE or
 * -ECONNRESET (the peer is gone), other socket errors, -ECANCELED, -ETIMEDOUT. */
CORIO_API int corio_stream_write_all(corio_stream *s, const void *buf, size_t len);

/* Writes all the buffers in order (one gather write when the kernel takes them whole, then
 * resuming mid-buffer after partial writes). iov is borrowed and not modified; n >= 0 (any
 * count: more than IOV_MAX buffers go out in several calls). Returns 0. Suspends. Errors as
 * for write_all, and -EINVAL (n < 0). */
CORIO_API int corio_stream_writev(corio_stream *s, const corio_iov *iov, int n);

/* Sends len bytes of the file file_fd starting at offset, with sendfile(2) (zero copy) where
 * the fd and file allow it, else with pread and writes (sendfile failing with EINVAL or
 * ENOSYS, e.g. a pipe as the source or a stream that is not a socket). file_fd is borrowed and
 * its file offset is not changed. Returns 0. Reading the file does not park (it is assumed to
 * be in the page cache; use the executor for cold files). Suspends while the socket is full.
 * Errors: -ENODATA (the file is shorter than offset + len), file read errors, and those of
 * write_all. */
CORIO_API int corio_stream_sendfile(corio_stream *s, int file_fd, off_t offset, size_t len);

/* Shuts down one or both directions (how: SHUT_RD, SHUT_WR, SHUT_RDWR from <sys/socket.h>).
 * SHUT_WR sends end-of-stream to the peer once queued data is sent; reading still works. Any
 * direction shut down wakes a task of this loop parked in that direction (it then sees end of
 * stream or -EPIPE), which is how one task makes another leave a stream before closing it.
 * Returns 0 or -ENOTCONN, -ENOTSOCK. Does not suspend. */
CORIO_API int corio_stream_shutdown(corio_stream *s, int how);

/* ---------------------------------------------------------------------------------------------
 * Servers: an accept loop with a connection limit.
 *
 * A server accepts connections on a listener and runs handler(ctx, stream, peer) in a new task
 * per connection, in a group the server owns. At most max_conns connections are open at a
 * time; at the limit the server stops accepting (new clients wait in the kernel's accept
 * queue) until a connection ends. It never accepts a connection only to drop it.
 *
 * The handler borrows the stream and the peer address; the server closes the stream when the
 * handler returns. A handler's error result ends only its own connection: it is counted in the
 * stats (failed) and logged at debug level, and never cancels other connections.
 *
 * Stopping. corio_server_stop (from another task of the loop, e.g. one waiting for SIGTERM)
 * stops accepting at once; corio_server_run then waits for the open connections to finish on
 * their own, for at most drain_timeout_ns, cancels those still open, and returns 0. Handlers
 * can poll corio_server_draining to finish early (an HTTP server answers with Connection:
 * close and ends idle keep-alive connections). Cancelling the task running the server (or its
 * deadline passing) is the hard stop: as with every group in corio, the connections are
 * cancelled at once, and run returns -ECANCELED (-ETIMEDOUT).
 */
typedef int (*corio_conn_fn)(void *ctx, corio_stream *s, const corio_addr *peer);

struct corio_server_opts {
    corio_conn_fn handler;           /* required */
    void *ctx;                       /* passed to handler untouched */
    size_t max_conns;                /* open connections at most; 0 = 10000 */
    int64_t drain_timeout_ns;        /* after stop: wait this long for connections to end; 0 = 30 s,
                                      * negative = cancel them at once, CORIO_FOREVER = no limit */
    struct corio_stream_opts stream; /* for each connection's stream */
    size_t conn_stack_size;          /* stack of connection tasks; 0 = the run's default */
    const char *conn_name;           /* task name of connections (static string); NULL = "conn" */
    uint64_t _reserved[4];
};

struct corio_server_stats {
    uint64_t accepted;     /* connections accepted since start */
    uint64_t open;         /* connections open now (their handler has not returned) */
    uint64_t failed;       /* handlers that returned an error */
    uint64_t full_waits;   /* times the server stopped accepting because max_conns was open */
    uint64_t spawn_errors; /* accepted connections closed because no task could be made */
    bool running;          /* inside corio_server_run and accepting */
    bool draining;         /* corio_server_stop was called */
    uint64_t _reserved[4];
};

/* Makes a server for l (borrowed: it must outlive the server). o is copied. Nothing happens
 * until corio_server_run. Errors: -EINVAL (no handler), -ENOMEM. Does not suspend. Task
 * context. */
CORIO_API int corio_server_new(corio_listener *l, const struct corio_server_opts *o,
                               corio_server **out);

/* Runs the accept loop in the calling task until corio_server_stop, cancellation or the
 * caller's deadline, as described above; returns once every connection task has finished.
 * Returns 0 after a stop, else -ECANCELED, -ETIMEDOUT, or a fatal accept error (-EBADF: the
 * listener was closed under it). Runs at most once per server. Suspends. */
CORIO_API int corio_server_run(corio_server *srv);

/* Asks the server to stop accepting and drain (see above). Idempotent; before run it makes
 * run return at once. Any task of the server's loop. Does not suspend. */
CORIO_API void corio_server_stop(corio_server *srv);

/* True once corio_server_stop was called. For handlers deciding whether to keep a connection
 * alive. */
CORIO_API bool corio_server_draining(const corio_server *srv);

/* Connections open now. */
CORIO_API size_t corio_server_conns(const corio_server *srv);

/* Fills *out with the server's counters. */
CORIO_API void corio_server_stats(const corio_server *srv, struct corio_server_stats *out);

/* Frees srv. It must not be running (run has returned, or never started). */
CORIO_API void corio_server_free(corio_server *srv);

/* corio_server_new + corio_server_run + corio_server_free: serves l until the calling task is
 * cancelled or its deadline passes (no other task can stop it: use the three calls for
 * that). Suspends. Errors as for new and run. */
CORIO_API int corio_serve(corio_listener *l, const struct corio_server_opts *o);

#ifdef __cplusplus
}
#endif
#endif
