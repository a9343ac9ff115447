/* SPDX-License-Identifier: MIT */
/* fd readiness: wake-ups on data, deadlines and cancellation while waiting, one waiter per
 * direction, forgetting an fd with a waiter, and fds that cannot be polled.
 */
#include "test.h"

#include "corio/core.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

static const struct corio_run_opts VT = {.virtual_time = true, .watchdog_ns = -1};

#define RUN(fn, arg) ASSERT_EQ(corio_run(&VT, (fn), (arg)), 0)

static void nb_pair(int sv[2])
{
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
}

/* Reads exactly n bytes the corio way: try, and wait on EAGAIN. */
static ssize_t read_n(int fd, char *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, buf + got, n - got);
        if (r > 0) {
            got += (size_t)r;
            continue;
        }
        if (r == 0)
            return (ssize_t)got;
        if (errno != EAGAIN)
            return -errno;
        int rc = corio_fd_wait(fd, CORIO_READ);
        if (rc < 0)
            return rc;
    }
    return (ssize_t)got;
}

struct rd {
    int fd;
    ssize_t rc;
    char buf[16];
    int64_t at;
};

static int reader(void *arg)
{
    struct rd *r = arg;
    r->rc = read_n(r->fd, r->buf, 5);
    r->at = corio_now();
    return 0;
}

static int t_wake(void *arg)
{
    int sv[2];
    struct rd r = {0};
    corio_task *t;
    (void)arg;
    nb_pair(sv);
    r.fd = sv[0];
    ASSERT_EQ(corio_spawn_task(NULL, reader, &r, &t), 0);
    ASSERT_EQ(corio_sleep(3 * CORIO_MS), 0);
    ASSERT_EQ(write(sv[1], "he", 2), 2); /* two edges: partial data, then the rest */
    ASSERT_EQ(corio_sleep(CORIO_MS), 0);
    ASSERT_EQ(write(sv[1], "llo", 3), 3);
    ASSERT_EQ(corio_task_join(t, NULL), 0);
    ASSERT_EQ(r.rc, 5);
    ASSERT_MEMEQ(r.buf, "hello", 5);
    corio_close(sv[0]);
    corio_close(sv[1]);
    return 0;
}
TEST(fd_wait_wakes_on_data)
{
    RUN(t_wake, NULL);
}

static int t_no_lost_edge(void *arg)
{
    int sv[2];
    char c;
    (void)arg;
    nb_pair(sv);
    /* Register, drain, then data arrives while this task is busy elsewhere (sleeping): the
     * edge is remembered and the next wait returns at once. */
    ASSERT_EQ(read(sv[0], &c, 1), -1);
    ASSERT_EQ(write(sv[1], "a", 1), 1);
    ASSERT_EQ(corio_fd_wait(sv[0], CORIO_READ), 0);
    ASSERT_EQ(read(sv[0], &c, 1), 1);
    ASSERT_EQ(write(sv[1], "b", 1), 1);
    ASSERT_EQ(corio_sleep(CORIO_MS), 0); /* the loop polls and records the edge meanwhile */
    int64_t t0 = corio_now();
    ASSERT_EQ(corio_fd_wait(sv[0], CORIO_READ), 0);
    ASSERT_EQ(corio_now(), t0);
    ASSERT_EQ(read(sv[0], &c, 1), 1);
    ASSERT_EQ(c, 'b');
    /* Writable right away */
    ASSERT_EQ(corio_fd_wait(sv[0], CORIO_WRITE), 0);
    corio_close(sv[0]);
    corio_close(sv[1]);
    return 0;
}
TEST(fd_edge_during_other_work_is_not_lost)
{
    RUN(t_no_lost_edge, NULL);
}

static int t_deadline(void *arg)
{
    int sv[2];
    corio_deadline d;
    char c;
    (void)arg;
    nb_pair(sv);
    ASSERT_EQ(read(sv[0], &c, 1), -1);
    int64_t t0 = corio_now();
    corio_deadline_enter(&d, t0 + 5 * CORIO_S);
    ASSERT_EQ(corio_fd_wait(sv[0], CORIO_READ), -ETIMEDOUT); /* a silent peer */
    ASSERT_EQ(corio_now(), t0 + 5 * CORIO_S);
    ASSERT(corio_deadline_leave(&d));
    corio_close(sv[0]);
    corio_close(sv[1]);
    return 0;
}
TEST(fd_wait_deadline_expires_exactly)
{
    RUN(t_deadline, NULL);
}

static int wait_read(void *arg)
{
    return corio_fd_wait(*(int *)arg, CORIO_READ);
}

static int t_cancel_and_busy(void *arg)
{
    int sv[2];
    corio_task *t;
    int res = 0;
    (void)arg;
    nb_pair(sv);
    ASSERT_EQ(corio_spawn_task(NULL, wait_read, &sv[0], &t), 0);
    ASSERT_EQ(corio_yield(), 0);
    ASSERT_EQ(corio_fd_wait(sv[0], CORIO_READ), -EBUSY); /* one reader per fd */
    corio_task_cancel(t);
    ASSERT_EQ(corio_task_join(t, &res), 0);
    ASSERT_EQ(res, -ECANCELED);
    /* The slot is free again. */
    ASSERT_EQ(write(sv[1], "x", 1), 1);
    ASSERT_EQ(corio_fd_wait(sv[0], CORIO_READ), 0);
    corio_close(sv[0]);
    corio_close(sv[1]);
    return 0;
}
TEST(fd_wait_cancel_and_single_waiter)
{
    RUN(t_cancel_and_busy, NULL);
}

static int t_forget(void *arg)
{
    int sv[2];
    corio_task *t;
    int res = 0;
    (void)arg;
    nb_pair(sv);
    ASSERT_EQ(corio_spawn_task(NULL, wait_read, &sv[0], &t), 0);
    ASSERT_EQ(corio_yield(), 0);
    ASSERT_EQ(corio_close(sv[0]), 0);
    ASSERT_EQ(corio_task_join(t, &res), 0);
    ASSERT_EQ(res, -EBADF);
    corio_close(sv[1]);
    return 0;
}
TEST(fd_close_wakes_waiter_with_ebadf)
{
    RUN(t_forget, NULL);
}

static int t_hangup(void *arg)
{
    int sv[2];
    char c;
    (void)arg;
    nb_pair(sv);
    ASSERT_EQ(read(sv[0], &c, 1), -1);
    close(sv[1]);
    ASSERT_EQ(corio_fd_wait(sv[0], CORIO_READ), 0); /* hang-up counts as readable */
    ASSERT_EQ(read(sv[0], &c, 1), 0);
    corio_close(sv[0]);
    return 0;
}
TEST(fd_hangup_is_readable)
{
    RUN(t_hangup, NULL);
}

static int t_bad(void *arg)
{
    (void)arg;
    char path[] = "/tmp/corio-fd-XXXXXX";
    int f = mkstemp(path);
    ASSERT_GE(f, 0);
    unlink(path);
    ASSERT_EQ(corio_fd_wait(f, CORIO_READ), -EPERM); /* regular files cannot be polled */
    close(f);
    ASSERT_EQ(corio_fd_wait(-1, CORIO_READ), -EBADF);
    ASSERT_EQ(corio_fd_wait(1000, CORIO_READ), -EBADF);
    return 0;
}
TEST(fd_wait_rejects_unpollable_fds)
{
    RUN(t_bad, NULL);
}

/* Two tasks ping-pong a byte over a socket pair 10,000 times. */
static int pong(void *arg)
{
    int fd = *(int *)arg;
    char c;
    for (int i = 0; i < 10000; i++) {
        if (read_n(fd, &c, 1) != 1)
            return -EIO;
        while (write(fd, &c, 1) != 1)
            if (corio_fd_wait(fd, CORIO_WRITE) < 0)
                return -EIO;
    }
    return 0;
}

static int t_pingpong(void *arg)
{
    int sv[2];
    corio_group *g;
    (void)arg;
    nb_pair(sv);
    ASSERT_EQ(corio_group_open(&g), 0);
    ASSERT_EQ(corio_spawn(g, pong, &sv[1]), 0);
    for (int i = 0; i < 10000; i++) {
        char c = (char)i, back;
        ASSERT_EQ(write(sv[0], &c, 1), 1);
        ASSERT_EQ(read_n(sv[0], &back, 1), 1);
        ASSERT_EQ(back, c);
    }
    ASSERT_EQ(corio_group_wait(g), 0);
    corio_group_close(g);
    corio_close(sv[0]);
    corio_close(sv[1]);
    return 0;
}
TEST(fd_ping_pong_between_tasks)
{
    RUN(t_pingpong, NULL);
}
