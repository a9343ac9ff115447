/* SPDX-License-Identifier: MIT */
/* examples/pipe.c: waiting for fd readiness, with a non-blocking pipe between two tasks.
 *
 * The contract is edge-like, as with Go's netpoller: try the operation first, and only when it
 * fails with EAGAIN call corio_fd_wait() for that direction, then try again. The writer sends
 * 1 MiB, far more than the pipe buffer holds, so it waits for CORIO_WRITE many times; the
 * reader waits for CORIO_READ. The writer closes its end with corio_close(), and the reader
 * sees end of file. Also shown: a second waiter on the same fd and direction gets -EBUSY.
 * Runs in a few ms and exits 0.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* pipe2; the CMake build defines it for every file */
#endif
#include <corio/core.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define TOTAL (1 << 20)

struct pipe_ends {
    int rd, wr;
    long written, read, write_waits, read_waits;
};

/* Writes all of buf, waiting whenever the pipe is full. */
static int write_all(int fd, const char *buf, size_t len, long *waits)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n >= 0) {
            buf += n;
            len -= (size_t)n;
            continue;
        }
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN)
            return -errno;
        ++*waits;
        int rc = corio_fd_wait(fd, CORIO_WRITE); /* after EAGAIN, never before */
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int writer(void *arg)
{
    struct pipe_ends *p = arg;
    static char chunk[64 * 1024];
    memset(chunk, 'z', sizeof chunk);
    int rc = 0;
    for (long sent = 0; sent < TOTAL && rc == 0; sent += (long)sizeof chunk) {
        rc = write_all(p->wr, chunk, sizeof chunk, &p->write_waits);
        if (rc == 0)
            p->written += (long)sizeof chunk;
    }
    corio_close(p->wr); /* forget the fd in the loop, then close it */
    return rc;
}

static int reader(void *arg)
{
    struct pipe_ends *p = arg;
    char buf[16 * 1024];
    for (;;) {
        ssize_t n = read(p->rd, buf, sizeof buf);
        if (n > 0) {
            p->read += n;
            continue;
        }
        if (n == 0)
            return 0; /* end of file: the writer closed */
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN)
            return -errno;
        p->read_waits++;
        int rc = corio_fd_wait(p->rd, CORIO_READ);
        if (rc < 0)
            return rc;
    }
}

static int second_reader(void *arg)
{
    struct pipe_ends *p = arg;
    int rc = corio_fd_wait(p->rd, CORIO_READ); /* the reader is already waiting */
    printf("second waiter on the read side: %s\n", corio_strerror(rc));
    return 0; /* returning rc would fail the group and cancel the others */
}

static int main_task(void *arg)
{
    (void)arg;
    int fds[2];
    if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) < 0)
        return -errno;
    struct pipe_ends p = {.rd = fds[0], .wr = fds[1]};
    corio_group *g;
    int rc = corio_group_open(&g);
    if (rc < 0)
        return rc;
    corio_spawn(g, reader, &p);
    corio_spawn(g, second_reader, &p);
    corio_spawn(g, writer, &p);
    rc = corio_group_wait(g);
    corio_group_close(g);
    corio_close(p.rd);
    printf("group: %s; wrote %ld bytes (%ld write waits), read %ld bytes (%ld read waits)\n",
           corio_strerror(rc), p.written, p.write_waits, p.read, p.read_waits);
    return rc;
}

int main(void)
{
    return corio_run(NULL, main_task, NULL) < 0 ? 1 : 0;
}
