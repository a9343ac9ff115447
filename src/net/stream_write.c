/* SPDX-License-Identifier: MIT */
/* Buffered streams, the write side: write_all, writev across partial writes, sendfile with a
 * copying fallback, and shutdown.
 *
 * Writes are never buffered: the caller's memory goes straight to the transport, and the
 * transport parks the task while the kernel's send buffer is full. That is the backpressure:
 * a slow peer slows its writer down instead of growing memory.
 *
 * writev hands the caller's array to the kernel unchanged while it is consumed from the start
 * of a buffer (the common case: everything fits in one call). After a partial write that ends
 * inside a buffer, the rest goes out from a small copy of the next entries whose first one is
 * advanced; the caller's array is never modified.
 *
 * Deliberately not here: corking, output buffering, TCP_CORK/MSG_MORE heuristics.
 */
#include "net_int.h"

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <unistd.h>

_Static_assert(sizeof(corio_iov) == sizeof(struct iovec), "corio_iov must match struct iovec");
_Static_assert(offsetof(corio_iov, base) == offsetof(struct iovec, iov_base), "iov_base");
_Static_assert(offsetof(corio_iov, len) == offsetof(struct iovec, iov_len), "iov_len");

enum { COPY_BATCH = 64, COPY_CHUNK = 64 * 1024 };

/* Position in a corio_iov array: entry i, byte off within it. */
struct iov_pos {
    const corio_iov *iov;
    int n, i;
    size_t off;
};

static void skip_empty(struct iov_pos *p)
{
    while (p->i < p->n && p->off == p->iov[p->i].len) {
        p->i++;
        p->off = 0;
    }
}

static void advance(struct iov_pos *p, size_t w)
{
    while (w > 0) {
        size_t rest = p->iov[p->i].len - p->off;
        if (w < rest) {
            p->off += w;
            return;
        }
        w -= rest;
        p->i++;
        p->off = 0;
    }
    skip_empty(p);
}

/* One transport write from position p. */
static __attribute__((noinline)) ssize_t write_from_copy(corio_stream *s, const struct iov_pos *p)
{
    int left = p->n - p->i;
    struct iovec v[COPY_BATCH];
    int cnt = left < COPY_BATCH ? left : COPY_BATCH;
    for (int k = 0; k < cnt; k++) {
        v[k].iov_base = (void *)p->iov[p->i + k].base;
        v[k].iov_len = p->iov[p->i + k].len;
    }
    v[0].iov_base = (char *)v[0].iov_base + p->off;
    v[0].iov_len -= p->off;
    return s->ops->writev(s, v, cnt);
}

static ssize_t write_from(corio_stream *s, const struct iov_pos *p)
{
    int left = p->n - p->i;
    if (p->off == 0) {
        int cnt = left < IOV_MAX ? left : IOV_MAX;
        return s->ops->writev(s, (const struct iovec *)(const void *)(p->iov + p->i), cnt);
    }
    return write_from_copy(s, p);
}

int corio_stream_writev(corio_stream *s, const corio_iov *iov, int n)
{
    if (n < 0)
        return -EINVAL;
    int rc = corio_check();
    if (rc < 0)
        return rc;
    struct iov_pos p = {.iov = iov, .n = n, .i = 0, .off = 0};
    skip_empty(&p);
    while (p.i < p.n) {
        ssize_t w = write_from(s, &p);
        if (w < 0)
            return (int)w;
        advance(&p, (size_t)w);
    }
    return 0;
}

int corio_stream_write_all(corio_stream *s, const void *buf, size_t len)
{
    const corio_iov v = {.base = buf, .len = len};
    return corio_stream_writev(s, &v, 1);
}

int corio__stream_copy_file(corio_stream *s, int file_fd, off_t off, size_t len)
{
    size_t bsz = len < COPY_CHUNK ? len : COPY_CHUNK;
    char *buf = malloc(bsz ? bsz : 1);
    if (!buf)
        return -ENOMEM;
    int rc = 0;
    while (len > 0 && rc == 0) {
        ssize_t r = pread(file_fd, buf, len < bsz ? len : bsz, off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            rc = r < 0 ? -errno : -ENODATA;
            break;
        }
        rc = corio_stream_write_all(s, buf, (size_t)r);
        off += r;
        len -= (size_t)r;
    }
    free(buf);
    return rc;
}

int corio_stream_sendfile(corio_stream *s, int file_fd, off_t offset, size_t len)
{
    int rc = corio_check();
    if (rc < 0)
        return rc;
    if (offset < 0)
        return -EINVAL;
    off_t off = offset;
    while (len > 0 && s->ops->sendfile) {
        ssize_t n = s->ops->sendfile(s, file_fd, &off, len);
        if (n > 0) {
            len -= (size_t)n;
            continue;
        }
        if (n == 0)
            return -ENODATA;
        if (n != -EINVAL && n != -ENOSYS)
            return (int)n;
        break; /* this pair of fds cannot splice: copy instead */
    }
    return len > 0 ? corio__stream_copy_file(s, file_fd, off, len) : 0;
}

int corio_stream_shutdown(corio_stream *s, int how)
{
    if (how != SHUT_RD && how != SHUT_WR && how != SHUT_RDWR)
        return -EINVAL;
    return s->ops->shutdown(s, how);
}
