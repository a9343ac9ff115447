/* SPDX-License-Identifier: MIT */
/* Internal definitions of the net layer: the listener and stream structures, and the transport
 * vtable a stream reads and writes through. Plain fds use the transport in stream_io.c; TLS
 * will add another one (its state in corio_stream.tctx) without touching the buffering code.
 *
 * The net layer uses only the public core API (corio/core.h, corio/sync.h, corio/exec.h);
 * nothing here reaches into the core's internals.
 */
#ifndef CORIO_NET_INT_H
#define CORIO_NET_INT_H

#include "corio/net.h"

#include <stdlib.h>
#include <sys/uio.h>

/* Always-on check for API misuse that would corrupt memory (consuming more than is buffered,
 * running a server twice): logs at fatal level through the hook, then aborts. */
#define NET_ASSERT(c)                                                                              \
    do {                                                                                           \
        if (__builtin_expect(!(c), 0))                                                             \
            corio__net_assert_fail(#c, __FILE__, __LINE__);                                        \
    } while (0)
_Noreturn void corio__net_assert_fail(const char *expr, const char *file, int line);

/* ---- listeners --------------------------------------------------------------------------- */

/* Invariant: fd >= 0 while the listener exists; unix_path is non-NULL only for a socket file
 * this listener created, identified by (dev, ino) so that close never unlinks a successor's. */
struct corio_listener {
    int fd;
    bool nagle;      /* accepted TCP sockets keep Nagle (no TCP_NODELAY) */
    bool is_inet;    /* AF_INET or AF_INET6: TCP_NODELAY applies */
    corio_addr addr; /* bound address, from getsockname */
    char *unix_path; /* owned copy of the socket file's path, or NULL */
    unsigned long long dev, ino;
    int64_t emfile_logged_at; /* loop time of the last out-of-fds warning; INT64_MIN = never */
};

/* ---- streams ----------------------------------------------------------------------------- */

/* A transport moves bytes for a stream. Every function may park the calling task (through
 * corio_fd_wait) and returns a negative errno on failure; none of them touches the stream's
 * read buffer. */
struct corio__stream_ops {
    const char *name;
    /* Reads up to len (> 0) bytes into buf, parking until at least one byte, end of stream
     * (returns 0) or an error. */
    ssize_t (*read)(corio_stream *s, void *buf, size_t len);
    /* Writes a prefix of the n (>= 1, <= IOV_MAX) buffers, not all empty, parking until at
     * least one byte is taken. Returns the bytes written (> 0). */
    ssize_t (*writev)(corio_stream *s, const struct iovec *iov, int n);
    /* Parks until a read would not block. */
    int (*wait_readable)(corio_stream *s);
    /* Sends up to len bytes of file_fd from *off (advanced), parking while the socket is full.
     * Returns the bytes sent, 0 at the end of the file, -EINVAL/-ENOSYS when this pair of fds
     * cannot do it (the stream then copies). NULL: always copy. */
    ssize_t (*sendfile)(corio_stream *s, int file_fd, off_t *off, size_t len);
    int (*shutdown)(corio_stream *s, int how);
    /* Releases the transport and closes the fd. */
    int (*close)(corio_stream *s);
};

/* Invariant: rpos <= wpos <= cap <= max_cap; buf == NULL <=> cap == 0; buf[rpos, wpos) holds
 * the unconsumed input. init_cap <= max_cap. */
struct corio_stream {
    const struct corio__stream_ops *ops;
    void *tctx; /* transport state; NULL for plain fds */
    int fd;
    bool is_sock;      /* send/sendmsg with MSG_NOSIGNAL work on fd */
    bool eof;          /* the transport reported end of stream: reads return 0 from now on */
    bool drained;      /* the last read was short: the socket was empty then */
    bool buf_pooled;   /* buf is a page of the loop's page pool (core/pages.h) */
    char *buf;         /* read buffer, NULL until the first buffered read and after trim */
    size_t cap;        /* bytes allocated at buf */
    size_t rpos, wpos; /* consumed / filled offsets in buf */
    size_t init_cap;   /* first allocation */
    size_t max_cap;    /* the buffer never grows past this */
};

/* corio_stream_open for a caller that knows whether fd is a socket (saves a getsockopt per
 * accepted connection). */
int corio__stream_new(int fd, const struct corio_stream_opts *o, bool is_sock, corio_stream **out);

/* The transport for plain fds (stream_io.c). */
extern const struct corio__stream_ops corio__fd_ops;

/* Copies file_fd's bytes [off, off + len) to s with pread and writes (stream_write.c). */
int corio__stream_copy_file(corio_stream *s, int file_fd, off_t off, size_t len);

/* ---- helpers shared by the sources ------------------------------------------------------- */

/* Sets TCP_NODELAY on a TCP socket. Errors are ignored: the socket works either way. */
void corio__net_nodelay(int fd);

/* Connects fd (non-blocking, any family) to a, parking until done. 0 or -errno. */
int corio__net_connect_fd(int fd, const corio_addr *a);

#endif
