/* SPDX-License-Identifier: MIT */
/* Buffered streams, the read side, over real TCP connections on 127.0.0.1: read_until across
 * reads and its limits, read_exact over many tiny writes and against an early close, the
 * end-of-stream and reset codes, peek/fill/consume parsing, trim and wait_readable, shutdown,
 * and a blocked read ended by a deadline or a cancel.
 */
#include "net_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

struct script {
    corio_stream *s;
    const char *const *parts; /* written one by one, with a yield between */
    bool close_after;
};

static int writer(void *arg)
{
    struct script *w = arg;
    for (const char *const *p = w->parts; *p; p++) {
        ASSERT_EQ(corio_stream_write_all(w->s, *p, strlen(*p)), 0);
        ASSERT_EQ(corio_sleep(CORIO_MS), 0);
    }
    if (w->close_after)
        ASSERT_EQ(corio_stream_shutdown(w->s, SHUT_WR), 0);
    return 0;
}

static corio_task *spawn_writer(struct script *w)
{
    corio_task *t;
    ASSERT_EQ(corio_spawn_task(NULL, writer, w, &t), 0);
    return t;
}

static int t_until(void *arg)
{
    corio_stream *c, *s;
    char *v;
    tcp_pair(NULL, &c, &s);
    static const char *const parts[] = {"hel", "lo\r", "\nwor", "ld\r\n", "tail", NULL};
    struct script w = {.s = c, .parts = parts, .close_after = true};
    corio_task *t = spawn_writer(&w);
    ASSERT_EQ(corio_stream_read_until(s, "\r\n", 2, 100, &v), 7);
    ASSERT_MEMEQ(v, "hello\r\n", 7);
    ASSERT_EQ(corio_stream_read_until(s, "\r\n", 2, 100, &v), 7);
    ASSERT_MEMEQ(v, "world\r\n", 7);
    ASSERT_EQ(corio_stream_read_until(s, "\r\n", 2, 100, &v), -EPIPE); /* "tail", then EOF */
    size_t n;
    char *p = corio_stream_peek(s, &n);
    ASSERT_EQ(n, 4);
    ASSERT_MEMEQ(p, "tail", 4);
    corio_stream_consume(s, 4);
    ASSERT_EQ(corio_stream_read_until(s, "\r\n", 2, 100, &v), 0); /* clean end */
    ASSERT_NULL(v);
    ASSERT_EQ(corio_stream_read_until(s, "", 0, 100, &v), -EINVAL);
    ASSERT_EQ(corio_task_join(t, NULL), 0);
    corio_stream_close(c);
    corio_stream_close(s);
    return 0;
}
TEST(read_until_finds_delimiters_split_across_reads)
{
    RUN_VT(t_until, NULL);
}

static int t_until_max(void *arg)
{
    corio_stream *c, *s;
    char *v;
    char line[300];
    const struct corio_stream_opts o = {.read_buffer = 64, .max_buffer = 256};
    tcp_pair(&o, &c, &s);
    memset(line, 'a', sizeof line);
    line[99] = '\n';
    ASSERT_EQ(corio_stream_write_all(c, line, 100), 0);
    /* No delimiter within max: -EMSGSIZE, nothing consumed. */
    ASSERT_EQ(corio_stream_read_until(s, "\n", 1, 50, &v), -EMSGSIZE);
    size_t n;
    corio_stream_peek(s, &n);
    ASSERT_GE(n, 50);
    /* The same line with room for it. */
    ASSERT_EQ(corio_stream_read_until(s, "\n", 1, 100, &v), 100);
    ASSERT_EQ(v[99], '\n');
    /* A line longer than max_buffer: -EMSGSIZE whatever max says. */
    line[99] = 'a';
    ASSERT_EQ(corio_stream_write_all(c, line, sizeof line), 0);
    ASSERT_EQ(corio_stream_read_until(s, "\n", 1, SIZE_MAX, &v), -EMSGSIZE);
    char *p = corio_stream_peek(s, &n);
    ASSERT_EQ(n, 256);
    ASSERT_EQ(p[0], 'a');
    ASSERT_EQ(corio_stream_fill(s), -EMSGSIZE); /* full: consume first */
    corio_stream_close(c);
    corio_stream_close(s);
    return 0;
}
TEST(read_until_past_its_max_is_emsgsize)
{
    RUN_VT(t_until_max, NULL);
}

struct dribble {
    corio_stream *s;
    size_t n;
};

/* Writes the pattern one byte per write, yielding between them. */
static int dribbler(void *arg)
{
    struct dribble *d = arg;
    for (size_t i = 0; i < d->n; i++) {
        uint8_t b = pattern_at(i);
        ASSERT_EQ(corio_stream_write_all(d->s, &b, 1), 0);
        ASSERT_EQ(corio_yield(), 0);
    }
    return 0;
}

static void read_exact_dribbled(size_t n)
{
    corio_stream *c, *s;
    const struct corio_stream_opts o = {.read_buffer = 256};
    tcp_pair(&o, &c, &s);
    struct dribble d = {.s = c, .n = n};
    corio_task *t;
    ASSERT_EQ(corio_spawn_task(NULL, dribbler, &d, &t), 0);
    uint8_t *buf = malloc(n);
    ASSERT_EQ(corio_stream_read_exact(s, buf, n), (ssize_t)n);
    ASSERT_EQ(pattern_check(buf, n, 0), n);
    ASSERT_EQ(corio_task_join(t, NULL), 0);
    free(buf);
    corio_stream_close(c);
    corio_stream_close(s);
}

static int t_exact_small(void *arg)
{
    read_exact_dribbled(200);  /* through the buffer (n < read_buffer) */
    read_exact_dribbled(3000); /* straight into the caller's memory */
    return 0;
}
TEST(read_exact_across_many_one_byte_writes)
{
    RUN_VT(t_exact_small, NULL);
}

static int t_exact_eof(void *arg)
{
    corio_stream *c, *s;
    char buf[20];
    tcp_pair(NULL, &c, &s);
    ASSERT_EQ(corio_stream_write_all(c, "0123456789", 10), 0);
    corio_stream_close(c); /* closes mid-message */
    ASSERT_EQ(corio_stream_read_exact(s, buf, 4), 4);
    ASSERT_MEMEQ(buf, "0123", 4);
    ASSERT_EQ(corio_stream_read_exact(s, buf, 20), -EPIPE);
    ASSERT_MEMEQ(buf, "456789", 6);
    ASSERT_EQ(corio_stream_read_exact(s, buf, 20), 0); /* nothing left: a clean end */
    ASSERT_EQ(corio_stream_read_some(s, buf, sizeof buf), 0);
    ASSERT_EQ(corio_stream_read_some(s, buf, sizeof buf), 0); /* and it stays ended */
    corio_stream_close(s);
    return 0;
}
TEST(read_exact_when_the_peer_closes_early_is_epipe)
{
    RUN_VT(t_exact_eof, NULL);
}

static int t_reset(void *arg)
{
    int c, s;
    char buf[8];
    corio_stream *ss;
    tcp_fd_pair(&c, &s);
    ASSERT_EQ(corio_stream_open(s, NULL, &ss), 0);
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    ASSERT_EQ(setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof lg), 0);
    corio_close(c); /* RST */
    ASSERT_EQ(corio_stream_read_some(ss, buf, sizeof buf), -ECONNRESET);
    corio_stream_close(ss);
    return 0;
}
TEST(read_after_a_reset_is_econnreset)
{
    RUN_VT(t_reset, NULL);
}

/* A minimal length-prefixed parser: "<digit><payload>" frames via peek/fill/consume. */
static int next_frame(corio_stream *s, char *out)
{
    for (;;) {
        size_t n;
        char *p = corio_stream_peek(s, &n);
        if (n >= 1 && n >= 1 + (size_t)(p[0] - '0')) {
            size_t len = (size_t)(p[0] - '0');
            memcpy(out, p + 1, len);
            out[len] = 0;
            corio_stream_consume(s, 1 + len);
            return (int)len;
        }
        ssize_t r = corio_stream_fill(s);
        if (r <= 0)
            return r == 0 ? (n ? -EPIPE : 0) : (int)r;
    }
}

static int t_parser(void *arg)
{
    corio_stream *c, *s;
    char f[16];
    tcp_pair(NULL, &c, &s);
    static const char *const parts[] = {"3a", "bc5", "hel", "lo0", "2x", NULL};
    struct script w = {.s = c, .parts = parts, .close_after = true};
    corio_task *t = spawn_writer(&w);
    ASSERT_EQ(next_frame(s, f), 3);
    ASSERT_STREQ(f, "abc");
    ASSERT_EQ(next_frame(s, f), 5);
    ASSERT_STREQ(f, "hello");
    ASSERT_EQ(next_frame(s, f), 0);
    ASSERT_STREQ(f, "");
    ASSERT_EQ(next_frame(s, f), -EPIPE); /* "2x" then EOF */
    ASSERT_EQ(corio_task_join(t, NULL), 0);
    corio_stream_close(c);
    corio_stream_close(s);
    return 0;
}
TEST(peek_fill_consume_drive_an_incremental_parser)
{
    RUN_VT(t_parser, NULL);
}

static int t_trim(void *arg)
{
    corio_stream *c, *s;
    char buf[8];
    size_t n;
    tcp_pair(NULL, &c, &s);
    ASSERT_EQ(corio_stream_write_all(c, "ab", 2), 0);
    ASSERT_EQ(corio_stream_read_some(s, buf, 1), 1);
    corio_stream_trim(s); /* "b" is pending: kept */
    ASSERT_EQ(corio_stream_wait_readable(s), 0);
    ASSERT_EQ(corio_stream_read_some(s, buf, 8), 1);
    ASSERT_EQ(buf[0], 'b');
    corio_stream_trim(s);
    ASSERT_NULL(corio_stream_peek(s, &n));
    ASSERT_EQ(n, 0);
    static const char *const parts[] = {"later", NULL};
    struct script w = {.s = c, .parts = parts};
    corio_task *t = spawn_writer(&w);
    ASSERT_EQ(corio_stream_wait_readable(s), 0); /* parks without a buffer */
    ASSERT_NULL(corio_stream_peek(s, &n));
    ASSERT_EQ(corio_stream_read_some(s, buf, 8), 5);
    ASSERT_EQ(corio_task_join(t, NULL), 0);
    corio_stream_close(c);
    ASSERT_EQ(corio_stream_wait_readable(s), 0); /* end of stream counts as readable */
    ASSERT_EQ(corio_stream_read_some(s, buf, 8), 0);
    corio_stream_close(s);
    return 0;
}
TEST(trim_frees_the_buffer_and_wait_readable_needs_none)
{
    RUN_VT(t_trim, NULL);
}

/* ---- blocked reads: deadline, cancel, shutdown -------------------------------------------- */

struct blocked {
    corio_stream *s;
    ssize_t rc;
    bool done;
};

static int blocked_reader(void *arg)
{
    struct blocked *b = arg;
    char buf[16];
    b->rc = corio_stream_read_some(b->s, buf, sizeof buf);
    b->done = true;
    return 0;
}

static int t_deadline(void *arg)
{
    corio_stream *c, *s;
    char buf[16];
    tcp_pair(NULL, &c, &s);
    corio_deadline d;
    int64_t at = corio_after(5 * CORIO_S);
    corio_deadline_enter(&d, at);
    ASSERT_EQ(corio_stream_read_some(s, buf, sizeof buf), -ETIMEDOUT); /* a silent peer */
    ASSERT(corio_deadline_leave(&d));
    ASSERT_GE(corio_now(), at);
    /* The stream still works afterwards. */
    ASSERT_EQ(corio_stream_write_all(c, "x", 1), 0);
    ASSERT_EQ(corio_stream_read_some(s, buf, sizeof buf), 1);
    corio_stream_close(c);
    corio_stream_close(s);
    return 0;
}
TEST(blocked_read_ends_at_the_deadline)
{
    RUN_VT(t_deadline, NULL);
}

static int t_cancel(void *arg)
{
    corio_stream *c, *s;
    char buf[16];
    tcp_pair(NULL, &c, &s);
    struct blocked b = {.s = s};
    corio_task *t;
    ASSERT_EQ(corio_spawn_task(NULL, blocked_reader, &b, &t), 0);
    ASSERT_EQ(corio_sleep(10 * CORIO_MS), 0);
    ASSERT(!b.done);
    corio_task_cancel(t);
    ASSERT_EQ(corio_task_join(t, NULL), 0);
    ASSERT_EQ(b.rc, -ECANCELED);
    ASSERT_EQ(corio_stream_write_all(c, "y", 1), 0);
    ASSERT_EQ(corio_stream_read_some(s, buf, sizeof buf), 1);
    /* A cancelled task gets -ECANCELED even with input buffered. */
    ASSERT_EQ(corio_stream_write_all(c, "zz", 2), 0);
    ASSERT_EQ(corio_stream_read_some(s, buf, 1), 1);
    corio_task_cancel(corio_self());
    ASSERT_EQ(corio_stream_read_some(s, buf, 1), -ECANCELED);
    corio_stream_close(c);
    corio_stream_close(s);
    return 0;
}
TEST(blocked_read_ends_when_cancelled)
{
    RUN_VT(t_cancel, NULL);
}

static int t_shutdown(void *arg)
{
    corio_stream *c, *s;
    char buf[16];
    tcp_pair(NULL, &c, &s);
    /* SHUT_WR: the peer sees end of stream, the other direction still works. */
    ASSERT_EQ(corio_stream_shutdown(c, SHUT_WR), 0);
    ASSERT_EQ(corio_stream_read_some(s, buf, sizeof buf), 0);
    ASSERT_EQ(corio_stream_write_all(s, "back", 4), 0);
    ASSERT_EQ(corio_stream_read_exact(c, buf, 4), 4);
    ASSERT_EQ(corio_stream_write_all(c, "x", 1), -EPIPE);
    corio_stream_close(c);
    corio_stream_close(s);
    /* SHUT_RDWR by another task wakes a parked reader with end of stream. */
    tcp_pair(NULL, &c, &s);
    struct blocked b = {.s = s};
    corio_task *t;
    ASSERT_EQ(corio_spawn_task(NULL, blocked_reader, &b, &t), 0);
    ASSERT_EQ(corio_yield(), 0);
    ASSERT(!b.done);
    ASSERT_EQ(corio_stream_shutdown(s, SHUT_RDWR), 0);
    ASSERT_EQ(corio_task_join(t, NULL), 0);
    ASSERT_EQ(b.rc, 0);
    ASSERT_EQ(corio_stream_shutdown(s, 42), -EINVAL);
    corio_stream_close(c);
    corio_stream_close(s);
    return 0;
}
TEST(shutdown_ends_one_direction_and_wakes_a_parked_reader)
{
    RUN_RT(t_shutdown, NULL);
}

struct blob {
    corio_stream *s;
    const void *data;
    size_t len;
};

/* Writes everything, then ends the stream. */
static int blob_writer(void *arg)
{
    struct blob *w = arg;
    ASSERT_EQ(corio_stream_write_all(w->s, w->data, w->len), 0);
    ASSERT_EQ(corio_stream_shutdown(w->s, SHUT_WR), 0);
    return 0;
}

/* read_some with a large buffer reads straight into it; small reads go through the buffer. */
static int t_some(void *arg)
{
    corio_stream *c, *s;
    enum { N = 100000 };
    uint8_t *src = malloc(N), *dst = malloc(N);
    pattern_fill(src, N, 0);
    tcp_pair(NULL, &c, &s);
    struct blob w = {.s = c, .data = src, .len = N};
    corio_task *t;
    ASSERT_EQ(corio_spawn_task(NULL, blob_writer, &w, &t), 0);
    size_t got = 0;
    for (size_t step = 1; got < N; step = step * 3 % 20011 + 1) {
        size_t want = step < N - got ? step : N - got;
        ssize_t r = corio_stream_read_some(s, dst + got, want);
        ASSERT_GT(r, 0);
        got += (size_t)r;
    }
    ASSERT_EQ(pattern_check(dst, N, 0), N);
    ASSERT_EQ(corio_stream_read_some(s, dst, N), 0);
    ASSERT_EQ(corio_task_join(t, NULL), 0);
    corio_stream_close(c);
    corio_stream_close(s);
    free(src);
    free(dst);
    return 0;
}
TEST(read_some_mixes_buffered_and_direct_reads)
{
    RUN_RT(t_some, NULL);
}
