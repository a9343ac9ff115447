/* SPDX-License-Identifier: MIT */
/* Buffered streams, the write side, over real TCP connections: writev across partial writes to
 * a slow reader with small socket buffers, 8 MiB through write_all under backpressure, sendfile
 * of a temp file (and its copying fallback), writes to a vanished peer without SIGPIPE, and a
 * blocked write ended by its deadline.
 */
#include "net_test.h"

#include "corio/diag.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

static void small_buffers(corio_stream *w, corio_stream *r)
{
    int v = 64 * 1024; /* smaller makes some TCP stacks (gVisor) crawl on window probes */
    ASSERT_EQ(setsockopt(corio_stream_fd(w), SOL_SOCKET, SO_SNDBUF, &v, sizeof v), 0);
    ASSERT_EQ(setsockopt(corio_stream_fd(r), SOL_SOCKET, SO_RCVBUF, &v, sizeof v), 0);
}

struct slow_reader {
    corio_stream *s;
    size_t expect; /* bytes to read, then expect end of stream */
    size_t chunk;  /* per read */
    int64_t pause; /* sleep between reads */
    const bool *writer_done;
    bool writer_done_at_half; /* writer_done seen when half had been read */
    size_t got;
};

/* Reads the pattern slowly and checks every byte. */
static int slow_reader_main(void *arg)
{
    struct slow_reader *r = arg;
    uint8_t *buf = malloc(r->chunk);
    bool half_seen = false;
    while (r->got < r->expect) {
        ssize_t n = corio_stream_read_some(r->s, buf, r->chunk);
        ASSERT_GT(n, 0);
        ASSERT_EQ(pattern_check(buf, (size_t)n, r->got), (size_t)n);
        r->got += (size_t)n;
        if (!half_seen && r->got >= r->expect / 2) {
            half_seen = true;
            r->writer_done_at_half = r->writer_done && *r->writer_done;
        }
        ASSERT_EQ(corio_sleep(r->pause), 0);
    }
    ASSERT_EQ(corio_stream_read_some(r->s, buf, r->chunk), 0);
    free(buf);
    return 0;
}

/* ---- writev -------------------------------------------------------------------------------- */

enum { NIOV = 300 };

static int t_writev(void *arg)
{
    corio_stream *c, *s;
    static corio_iov iov[NIOV];
    size_t total = 0;
    tcp_pair(NULL, &c, &s);
    small_buffers(c, s);
    for (int i = 0; i < NIOV; i++)
        total += i % 7 == 3 ? 0 : (size_t)(i * 37 % 5000) + 1;
    uint8_t *data = malloc(total);
    pattern_fill(data, total, 0);
    size_t off = 0;
    for (int i = 0; i < NIOV; i++) { /* uneven sizes, some empty */
        size_t len = i % 7 == 3 ? 0 : (size_t)(i * 37 % 5000) + 1;
        iov[i] = (corio_iov){.base = data + off, .len = len};
        off += len;
    }
    struct slow_reader r = {.s = s, .expect = total, .chunk = 3000, .pause = CORIO_MS};
    corio_task *t;
    ASSERT_EQ(corio_spawn_task(NULL, slow_reader_main, &r, &t), 0);
    struct corio_loop_stats before, after;
    corio_loop_stats(&before);
    ASSERT_EQ(corio_stream_writev(c, iov, NIOV), 0);
    corio_loop_stats(&after);
    ASSERT_GT(after.fd_waits, before.fd_waits); /* it had to wait: writes were partial */
    ASSERT_EQ(corio_stream_shutdown(c, SHUT_WR), 0);
    ASSERT_EQ(corio_task_join(t, NULL), 0);
    ASSERT_EQ(r.got, total);
    ASSERT_EQ(corio_stream_writev(c, iov, 0), 0);
    ASSERT_EQ(corio_stream_writev(c, iov, -1), -EINVAL);
    free(data);
    corio_stream_close(c);
    corio_stream_close(s);
    return 0;
}
TEST(writev_resumes_partial_writes_across_buffers)
{
    RUN_VT(t_writev, NULL);
}

/* More buffers than IOV_MAX in one call. */
static int t_writev_many(void *arg)
{
    corio_stream *c, *s;
    enum { N = 3000 };
    corio_iov *iov = malloc(N * sizeof(*iov));
    uint8_t *data = malloc(N * 3);
    pattern_fill(data, N * 3, 0);
    for (int i = 0; i < N; i++)
        iov[i] = (corio_iov){.base = data + 3 * i, .len = 3};
    tcp_pair(NULL, &c, &s);
    struct slow_reader r = {.s = s, .expect = N * 3, .chunk = 4096, .pause = 0};
    corio_task *t;
    ASSERT_EQ(corio_spawn_task(NULL, slow_reader_main, &r, &t), 0);
    ASSERT_EQ(corio_stream_writev(c, iov, N), 0);
    ASSERT_EQ(corio_stream_shutdown(c, SHUT_WR), 0);
    ASSERT_EQ(corio_task_join(t, NULL), 0);
    free(iov);
    free(data);
    corio_stream_close(c);
    corio_stream_close(s);
    return 0;
}
TEST(writev_takes_more_buffers_than_iov_max)
{
    RUN_VT(t_writev_many, NULL);
}

/* ---- write_all under backpressure ---------------------------------------------------------- */

enum { BIG = 8 << 20 };

static int t_backpressure(void *arg)
{
    corio_stream *c, *s;
    static bool done;
    uint8_t *data = malloc(BIG);
    pattern_fill(data, BIG, 0);
    tcp_pair(NULL, &c, &s);
    small_buffers(c, s);
    struct slow_reader r = {
        .s = s, .expect = BIG, .chunk = 64 * 1024, .pause = CORIO_MS, .writer_done = &done};
    corio_task *t;
    ASSERT_EQ(corio_spawn_task(NULL, slow_reader_main, &r, &t), 0);
    struct corio_loop_stats before, after;
    corio_loop_stats(&before);
    ASSERT_EQ(corio_stream_write_all(c, data, BIG), 0);
    done = true;
    corio_loop_stats(&after);
    /* The writer parked many times and could not run ahead of the reader: with no output
     * buffer in the stream, only the kernel's small socket buffers hold unread data. */
    ASSERT_GT(after.fd_waits - before.fd_waits, 16);
    ASSERT(!r.writer_done_at_half);
    size_t n;
    ASSERT_NULL(corio_stream_peek(c, &n)); /* and the writer's stream allocated nothing */
    ASSERT_EQ(corio_stream_shutdown(c, SHUT_WR), 0);
    ASSERT_EQ(corio_task_join(t, NULL), 0);
    ASSERT_EQ(r.got, (size_t)BIG);
    free(data);
    corio_stream_close(c);
    corio_stream_close(s);
    return 0;
}
TEST_TIMEOUT(write_all_of_8_mib_parks_under_backpressure, 120)
{
    RUN_VT(t_backpressure, NULL);
}

static int t_write_deadline(void *arg)
{
    corio_stream *c, *s;
    static uint8_t chunk[64 * 1024];
    tcp_pair(NULL, &c, &s);
    small_buffers(c, s);
    corio_deadline d;
    corio_deadline_enter(&d, corio_after(2 * CORIO_S));
    int rc;
    do /* the peer never reads: the socket fills up and the writer parks until the deadline */
        rc = corio_stream_write_all(c, chunk, sizeof chunk);
    while (rc == 0);
    ASSERT_EQ(rc, -ETIMEDOUT);
    ASSERT(corio_deadline_leave(&d));
    corio_stream_close(c);
    corio_stream_close(s);
    return 0;
}
TEST(blocked_write_ends_at_the_deadline)
{
    RUN_VT(t_write_deadline, NULL);
}

/* ---- sendfile ------------------------------------------------------------------------------ */

static int temp_file(size_t len, char *path)
{
    strcpy(path, "/tmp/corio-net-file-XXXXXX");
    int fd = mkstemp(path);
    ASSERT_GE(fd, 0);
    uint8_t *data = malloc(len);
    pattern_fill(data, len, 0);
    ASSERT_EQ(write(fd, data, len), (ssize_t)len);
    free(data);
    return fd;
}

enum { FILE_LEN = (1 << 20) + 123, FILE_OFF = 1000 };

static int t_sendfile(void *arg)
{
    corio_stream *c, *s;
    char path[64];
    int f = temp_file(FILE_LEN, path);
    tcp_pair(NULL, &c, &s);
    small_buffers(c, s);
    struct slow_reader r = {.s = s, .expect = FILE_LEN, .chunk = 32768, .pause = 0};
    corio_task *t;
    ASSERT_EQ(corio_spawn_task(NULL, slow_reader_main, &r, &t), 0);
    ASSERT_EQ(corio_stream_sendfile(c, f, 0, FILE_OFF), 0);
    ASSERT_EQ(corio_stream_sendfile(c, f, FILE_OFF, FILE_LEN - FILE_OFF), 0);
    ASSERT_EQ(lseek(f, 0, SEEK_CUR), FILE_LEN); /* the file offset is left alone */
    ASSERT_EQ(corio_stream_shutdown(c, SHUT_WR), 0);
    ASSERT_EQ(corio_task_join(t, NULL), 0);
    ASSERT_EQ(r.got, (size_t)FILE_LEN);
    corio_stream_close(c);
    corio_stream_close(s);
    /* Past the end of the file: what exists is sent, then -ENODATA. */
    uint8_t tail[16];
    tcp_pair(NULL, &c, &s);
    ASSERT_EQ(corio_stream_sendfile(c, f, FILE_LEN - 10, 11), -ENODATA);
    ASSERT_EQ(corio_stream_sendfile(c, f, -1, 1), -EINVAL);
    ASSERT_EQ(corio_stream_read_exact(s, tail, 10), 10);
    ASSERT_EQ(pattern_check(tail, 10, FILE_LEN - 10), 10);
    corio_stream_close(c);
    corio_stream_close(s);
    close(f);
    unlink(path);
    return 0;
}
TEST(sendfile_sends_a_temp_file_and_reports_a_short_file)
{
    RUN_VT(t_sendfile, NULL);
}

/* sendfile refuses an O_APPEND target (EINVAL): the stream copies instead. */
static int t_sendfile_fallback(void *arg)
{
    char src[64], dst[64];
    int f = temp_file(200000, src);
    strcpy(dst, "/tmp/corio-net-out-XXXXXX");
    int o = mkstemp(dst);
    ASSERT_GE(o, 0);
    close(o);
    o = open(dst, O_WRONLY | O_APPEND | O_CLOEXEC);
    ASSERT_GE(o, 0);
    corio_stream *s;
    ASSERT_EQ(corio_stream_open(o, NULL, &s), 0);
    ASSERT_EQ(corio_stream_sendfile(s, f, 5, 200000 - 5), 0);
    ASSERT_EQ(corio_stream_close(s), 0);
    uint8_t *buf = malloc(200000);
    int in = open(dst, O_RDONLY | O_CLOEXEC);
    ASSERT_EQ(read(in, buf, 200000), 200000 - 5);
    ASSERT_EQ(pattern_check(buf, 200000 - 5, 5), 200000 - 5);
    free(buf);
    close(in);
    close(f);
    unlink(src);
    unlink(dst);
    return 0;
}
TEST(sendfile_falls_back_to_copying)
{
    RUN_VT(t_sendfile_fallback, NULL);
}

/* ---- a vanished peer ------------------------------------------------------------------------ */

static bool peer_gone(int rc)
{
    return rc == -EPIPE || rc == -ECONNRESET;
}

static int t_no_sigpipe(void *arg)
{
    static uint8_t chunk[256 * 1024];
    char path[64];
    int f = temp_file(sizeof chunk, path);
    int c, s;
    corio_stream *cs;
    tcp_fd_pair(&c, &s);
    ASSERT_EQ(corio_stream_open(c, NULL, &cs), 0);
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    ASSERT_EQ(setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof lg), 0);
    corio_close(s); /* reset */
    int rc = 0;
    for (int i = 0; i < 4 && rc == 0; i++)
        rc = corio_stream_write_all(cs, chunk, sizeof chunk);
    ASSERT(peer_gone(rc));
    rc = corio_stream_sendfile(cs, f, 0, sizeof chunk);
    ASSERT(peer_gone(rc));
    corio_stream_close(cs);
    /* A pipe has no MSG_NOSIGNAL: the stream blocks SIGPIPE around the write. */
    int p[2];
    ASSERT_EQ(pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
    close(p[0]);
    ASSERT_EQ(corio_stream_open(p[1], NULL, &cs), 0);
    ASSERT_EQ(corio_stream_write_all(cs, "x", 1), -EPIPE);
    ASSERT_EQ(corio_stream_sendfile(cs, f, 0, 100), -EPIPE);
    corio_stream_close(cs);
    sigset_t pending;
    sigpending(&pending);
    ASSERT(!sigismember(&pending, SIGPIPE)); /* none left pending either */
    close(f);
    unlink(path);
    return 0;
}
TEST(writes_to_a_vanished_peer_fail_without_sigpipe)
{
    RUN_VT(t_no_sigpipe, NULL);
}
