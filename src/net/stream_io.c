/* SPDX-License-Identifier: MIT */
/* The plain-fd transport of streams: read, gather write, sendfile, shutdown and close on a
 * non-blocking fd, parking on EAGAIN through corio_fd_wait.
 *
 * SIGPIPE. Writing to a connection the peer has closed raises SIGPIPE, whose default action
 * kills the process. Sockets are written with send/sendmsg and MSG_NOSIGNAL. sendfile(2) and
 * write(2) to a pipe have no such flag, so around them SIGPIPE is blocked in this thread and a
 * SIGPIPE the call raised is taken back with sigtimedwait before the mask is restored; the
 * process's disposition is never changed (that belongs to the application).
 *
 * readiness: corio_fd_wait is edge-like and only called after EAGAIN, so no wake-up is lost;
 * wait_readable cannot rely on a previous EAGAIN and asks poll(2) first.
 *
 * Deliberately not here: buffering (stream.c), TLS (another transport).
 */
#include "net_int.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/sendfile.h>
#include <time.h>
#include <unistd.h>

/* Linux sends at most this much per sendfile call anyway. */
enum { SENDFILE_CHUNK = 0x7ffff000 };

struct sigpipe_guard {
    sigset_t old;
    bool was_pending;
};

static void sigpipe_block(struct sigpipe_guard *g)
{
    sigset_t pipe, pending;
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    sigpending(&pending);
    g->was_pending = sigismember(&pending, SIGPIPE) == 1;
    pthread_sigmask(SIG_BLOCK, &pipe, &g->old);
}

/* err is the errno of the guarded call (0 if it succeeded). */
static void sigpipe_restore(struct sigpipe_guard *g, int err)
{
    if (err == EPIPE && !g->was_pending) {
        sigset_t pipe;
        sigemptyset(&pipe);
        sigaddset(&pipe, SIGPIPE);
        const struct timespec zero = {0, 0};
        while (sigtimedwait(&pipe, NULL, &zero) < 0 && errno == EINTR) {
        }
    }
    pthread_sigmask(SIG_SETMASK, &g->old, NULL);
}

void corio__fd_unready(int fd, unsigned events);

static ssize_t fd_read(corio_stream *s, void *buf, size_t len)
{
    for (;;) {
        ssize_t n = read(s->fd, buf, len);
        if (n > 0 && (size_t)n < len && s->is_sock) {
            /* A short read emptied the socket: readiness seen before it is stale, and any
             * later data brings a new edge. */
            s->drained = true;
            corio__fd_unready(s->fd, CORIO_READ);
        } else {
            s->drained = false;
        }
        if (n >= 0)
            return n;
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN)
            return -errno;
        int rc = corio_fd_wait(s->fd, CORIO_READ);
        if (rc < 0)
            return rc;
    }
}

/* One gather write without parking: bytes written or -errno (EAGAIN included). */
static ssize_t writev_once(corio_stream *s, const struct iovec *iov, int n)
{
    ssize_t w;
    if (s->is_sock && n == 1) {
        w = send(s->fd, iov[0].iov_base, iov[0].iov_len, MSG_NOSIGNAL);
    } else if (s->is_sock) {
        struct msghdr m = {.msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)n};
        w = sendmsg(s->fd, &m, MSG_NOSIGNAL);
    } else {
        struct sigpipe_guard g;
        sigpipe_block(&g);
        w = writev(s->fd, iov, n);
        int err = w < 0 ? errno : 0;
        sigpipe_restore(&g, err);
        errno = err;
    }
    return w < 0 ? -errno : w;
}

static ssize_t fd_writev(corio_stream *s, const struct iovec *iov, int n)
{
    for (;;) {
        ssize_t w = writev_once(s, iov, n);
        if (w > 0)
            return w;
        if (w == 0)
            return -EIO; /* a stream fd that takes nothing of a non-empty write */
        if (w == -EINTR)
            continue;
        if (w != -EAGAIN)
            return w;
        int rc = corio_fd_wait(s->fd, CORIO_WRITE);
        if (rc < 0)
            return rc;
    }
}

static int fd_wait_readable(corio_stream *s)
{
    if (s->drained) {
        s->drained = false;
        return corio_fd_wait(s->fd, CORIO_READ);
    }
    for (;;) {
        struct pollfd p = {.fd = s->fd, .events = POLLIN};
        int n = poll(&p, 1, 0);
        if (n > 0)
            return 0; /* readable, hung up or failed: a read will not block */
        if (n < 0 && errno != EINTR)
            return -errno;
        if (n == 0) {
            int rc = corio_fd_wait(s->fd, CORIO_READ);
            if (rc < 0)
                return rc;
        }
    }
}

static ssize_t fd_sendfile(corio_stream *s, int file_fd, off_t *off, size_t len)
{
    size_t chunk = len < SENDFILE_CHUNK ? len : SENDFILE_CHUNK;
    for (;;) {
        struct sigpipe_guard g;
        sigpipe_block(&g);
        ssize_t n = sendfile(s->fd, file_fd, off, chunk);
        int err = n < 0 ? errno : 0;
        sigpipe_restore(&g, err);
        if (n >= 0)
            return n;
        if (err == EINTR)
            continue;
        if (err != EAGAIN)
            return -err;
        int rc = corio_fd_wait(s->fd, CORIO_WRITE);
        if (rc < 0)
            return rc;
    }
}

static int fd_shutdown(corio_stream *s, int how)
{
    return shutdown(s->fd, how) < 0 ? -errno : 0;
}

static int fd_close(corio_stream *s)
{
    return corio_close(s->fd);
}

const struct corio__stream_ops corio__fd_ops = {
    .name = "fd",
    .read = fd_read,
    .writev = fd_writev,
    .wait_readable = fd_wait_readable,
    .sendfile = fd_sendfile,
    .shutdown = fd_shutdown,
    .close = fd_close,
};
