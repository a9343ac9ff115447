/* SPDX-License-Identifier: MIT */
/* Buffered streams, the read side: the lazily allocated read buffer (reserve, commit, consume),
 * read_some, read_exact, read_until, and peek/fill/consume for zero-copy parsers.
 *
 * Buffer policy. Nothing is allocated until the first buffered read; trim gives the memory
 * back while no input is pending. When the tail of the buffer is full, the unconsumed bytes
 * are moved to the front if they fill at most half of it, otherwise the buffer doubles, up to
 * max_cap; a full buffer at max_cap is -EMSGSIZE for whoever asked for more. Moving data on
 * demand (rather than on every consume) keeps consume O(1) and views stable until the next
 * read. Reads larger than the initial buffer go straight into the caller's memory when nothing
 * is buffered, so bulk transfers are not copied twice.
 *
 * Every public call that may suspend checks cancellation and the deadline first (as the sync
 * primitives do), so a cancelled task stops even while input is already buffered.
 *
 * Invariant (see net_int.h): rpos <= wpos <= cap <= max_cap, buf == NULL <=> cap == 0.
 * Deliberately not here: read timeouts (deadline scopes do that), line-ending normalisation.
 */
#include "net_int.h"

#include "core/pages.h"

static void release(corio_stream *s);

#include <errno.h>
#include <string.h>

enum { DEFAULT_READ_BUFFER = 4096, DEFAULT_MAX_BUFFER = 64 * 1024 };

int corio__stream_new(int fd, const struct corio_stream_opts *o, bool is_sock, corio_stream **out)
{
    *out = NULL;
    if (fd < 0)
        return -EBADF;
    corio_stream *s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    s->ops = &corio__fd_ops;
    s->fd = fd;
    s->is_sock = is_sock;
    s->init_cap = o && o->read_buffer ? o->read_buffer : DEFAULT_READ_BUFFER;
    s->max_cap = o && o->max_buffer ? o->max_buffer : DEFAULT_MAX_BUFFER;
    if (s->max_cap < s->init_cap)
        s->max_cap = s->init_cap;
    *out = s;
    return 0;
}

int corio_stream_open(int fd, const struct corio_stream_opts *o, corio_stream **out)
{
    int type;
    socklen_t len = sizeof type;
    bool is_sock = fd >= 0 && getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0;
    return corio__stream_new(fd, o, is_sock, out);
}

int corio_stream_close(corio_stream *s)
{
    if (!s)
        return 0;
    int rc = s->ops->close(s);
    release(s);
    free(s);
    return rc;
}

int corio_stream_fd(const corio_stream *s)
{
    return s->fd;
}

/* ---- buffer management ------------------------------------------------------------------- */

static void release(corio_stream *s)
{
    if (s->buf_pooled)
        corio__page_put(s->buf, true);
    else
        free(s->buf);
    s->buf = NULL;
    s->buf_pooled = false;
}

static size_t buffered(const corio_stream *s)
{
    return s->wpos - s->rpos;
}

static void compact(corio_stream *s)
{
    size_t n = buffered(s);
    if (n && s->rpos)
        memmove(s->buf, s->buf + s->rpos, n);
    s->rpos = 0;
    s->wpos = n;
}

/* Makes room for at least one byte after wpos. A first buffer of one page comes from the
 * loop's page pool, so that an idle connection's trimmed buffer really leaves the process. */
static int reserve(corio_stream *s)
{
    if (!s->buf) {
        s->buf_pooled = false;
        s->buf = s->init_cap == CORIO__PAGE ? corio__page_get(&s->buf_pooled)
                                            : malloc(s->init_cap);
        if (!s->buf)
            return -ENOMEM;
        s->cap = s->init_cap;
        s->rpos = s->wpos = 0;
        return 0;
    }
    if (s->rpos == s->wpos)
        s->rpos = s->wpos = 0; /* empty: restart at the front for free */
    if (s->wpos < s->cap)
        return 0;
    if (s->rpos > 0 && (buffered(s) <= s->cap / 2 || s->cap >= s->max_cap)) {
        compact(s);
        return 0;
    }
    if (s->cap >= s->max_cap)
        return -EMSGSIZE;
    size_t ncap = s->cap * 2 < s->max_cap ? s->cap * 2 : s->max_cap;
    char *nb;
    if (s->buf_pooled) { /* a pool page cannot grow: move to the heap */
        if ((nb = malloc(ncap)))
            memcpy(nb, s->buf, s->wpos);
    } else {
        nb = realloc(s->buf, ncap);
    }
    if (!nb)
        return -ENOMEM;
    if (s->buf_pooled)
        corio__page_put(s->buf, true);
    s->buf_pooled = false;
    s->buf = nb;
    s->cap = ncap;
    compact(s);
    return 0;
}

/* One transport read into the buffer: bytes added, 0 at end of stream. */
static ssize_t fill_once(corio_stream *s)
{
    if (s->eof)
        return 0;
    int rc = reserve(s);
    if (rc < 0)
        return rc;
    ssize_t n = s->ops->read(s, s->buf + s->wpos, s->cap - s->wpos);
    if (n > 0)
        s->wpos += (size_t)n;
    else if (n == 0)
        s->eof = true;
    return n;
}

/* A read straight into the caller's memory, bypassing the (empty) buffer. */
static ssize_t read_direct(corio_stream *s, void *buf, size_t len)
{
    if (s->eof)
        return 0;
    ssize_t n = s->ops->read(s, buf, len);
    if (n == 0)
        s->eof = true;
    return n;
}

/* Copies up to len buffered bytes out and consumes them. */
static size_t take(corio_stream *s, void *buf, size_t len)
{
    size_t n = buffered(s);
    if (n > len)
        n = len;
    memcpy(buf, s->buf + s->rpos, n);
    s->rpos += n;
    return n;
}

/* ---- public reads ------------------------------------------------------------------------ */

ssize_t corio_stream_read_some(corio_stream *s, void *buf, size_t cap)
{
    int rc = corio_check();
    if (rc < 0)
        return rc;
    if (cap == 0)
        return 0;
    if (buffered(s) == 0) {
        if (cap >= s->init_cap)
            return read_direct(s, buf, cap);
        ssize_t n = fill_once(s);
        if (n <= 0)
            return n;
    }
    return (ssize_t)take(s, buf, cap);
}

ssize_t corio_stream_read_exact(corio_stream *s, void *buf, size_t n)
{
    int rc = corio_check();
    if (rc < 0)
        return rc;
    char *p = buf;
    size_t got = 0;
    while (got < n) {
        if (buffered(s) > 0) {
            got += take(s, p + got, n - got);
            continue;
        }
        bool direct = n - got >= s->init_cap;
        ssize_t r = direct ? read_direct(s, p + got, n - got) : fill_once(s);
        if (r < 0)
            return r;
        if (r == 0)
            return got == 0 ? 0 : -EPIPE;
        if (direct)
            got += (size_t)r;
    }
    return (ssize_t)n;
}

ssize_t corio_stream_read_until(corio_stream *s, const void *delim, size_t dlen, size_t max,
                                char **view)
{
    *view = NULL;
    if (dlen == 0)
        return -EINVAL;
    int rc = corio_check();
    if (rc < 0)
        return rc;
    if (max > s->max_cap)
        max = s->max_cap;
    size_t scanned = 0; /* bytes known to hold no complete delimiter start */
    for (;;) {
        size_t have = buffered(s);
        size_t lim = have < max ? have : max;
        if (lim >= dlen) {
            char *p = s->buf + s->rpos;
            char *hit = memmem(p + scanned, lim - scanned, delim, dlen);
            if (hit) {
                size_t len = (size_t)(hit - p) + dlen;
                *view = p;
                s->rpos += len;
                return (ssize_t)len;
            }
            scanned = lim - (dlen - 1);
        }
        if (have >= max)
            return -EMSGSIZE;
        ssize_t n = fill_once(s);
        if (n < 0)
            return n;
        if (n == 0)
            return buffered(s) ? -EPIPE : 0;
    }
}

char *corio_stream_peek(corio_stream *s, size_t *len)
{
    *len = buffered(s);
    return *len ? s->buf + s->rpos : NULL;
}

ssize_t corio_stream_fill(corio_stream *s)
{
    int rc = corio_check();
    if (rc < 0)
        return rc;
    return fill_once(s);
}

void corio_stream_consume(corio_stream *s, size_t n)
{
    NET_ASSERT(n <= buffered(s));
    s->rpos += n;
}

int corio_stream_wait_readable(corio_stream *s)
{
    int rc = corio_check();
    if (rc < 0)
        return rc;
    if (buffered(s) > 0 || s->eof)
        return 0;
    return s->ops->wait_readable(s);
}

void corio_stream_trim(corio_stream *s)
{
    if (s->buf && buffered(s) == 0) {
        release(s);
        s->cap = s->rpos = s->wpos = 0;
    }
}
