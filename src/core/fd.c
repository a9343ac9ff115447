/* SPDX-License-Identifier: MIT */
/* fd readiness. Each fd is added to the loop's epoll set once, edge-triggered, for both
 * directions; readiness reported by the kernel is remembered per direction until a waiter
 * consumes it, so a task that calls corio_fd_wait() after EAGAIN never misses an edge that came
 * while it was busy elsewhere. This is the netpoller design: one epoll_ctl per fd lifetime, not
 * per wait.
 *
 * Invariant: fds[fd].rd / .wr is the task parked reading / writing fd, or NULL.
 * Events of one epoll_wait batch are all applied before any task runs, so a task that closes an
 * fd can never see a stale event of the same batch attributed to a new fd with that number.
 */
#include "core_int.h"

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

static struct corio__fd *fd_slot(corio_loop *l, int fd)
{
    if ((size_t)fd >= l->nfds) {
        size_t n = l->nfds ? l->nfds : 64;
        while (n <= (size_t)fd)
            n *= 2;
        struct corio__fd *t = realloc(l->fds, n * sizeof(*t));
        if (!t)
            return NULL;
        memset(t + l->nfds, 0, (n - l->nfds) * sizeof(*t));
        l->fds = t;
        l->nfds = n;
    }
    return &l->fds[fd];
}

void corio__fd_event(corio_loop *l, int fd, uint32_t events)
{
    if ((size_t)fd >= l->nfds)
        return;
    struct corio__fd *f = &l->fds[fd];
    uint8_t r = 0;
    if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
        r |= CORIO_READ;
    if (events & (EPOLLOUT | EPOLLHUP | EPOLLERR))
        r |= CORIO_WRITE;
    f->ready |= r;
    if ((r & CORIO_READ) && f->rd)
        corio__wake(f->rd, 0);
    if ((r & CORIO_WRITE) && f->wr)
        corio__wake(f->wr, 0);
}

void corio__fd_table_free(corio_loop *l)
{
    free(l->fds);
    l->fds = NULL;
    l->nfds = 0;
}

int corio_fd_wait(int fd, unsigned events)
{
    corio_task *t = corio__self_checked("corio_fd_wait");
    corio_loop *l = t->loop;
    if (fd < 0)
        return -EBADF;
    events &= CORIO_READ | CORIO_WRITE;
    if (!events)
        return -EINVAL;
    struct corio__fd *f = fd_slot(l, fd);
    if (!f)
        return -ENOMEM;
    if (!f->registered) {
        struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
                                 .data.u64 = (uint64_t)fd};
        if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0 && errno != EEXIST)
            return -errno; /* EBADF, EPERM (regular file), ENOMEM, ENOSPC */
        f->registered = true;
        f->ready = 0;
    }
    if (f->ready & events) {
        f->ready &= (uint8_t)~events;
        return 0;
    }
    if (((events & CORIO_READ) && f->rd) || ((events & CORIO_WRITE) && f->wr))
        return -EBUSY;
    if (events & CORIO_READ)
        f->rd = t;
    if (events & CORIO_WRITE)
        f->wr = t;
    l->fd_waiters++;
    l->c.fd_waits++;
    int rc = corio__park(events == CORIO_READ    ? "fd read"
                         : events == CORIO_WRITE ? "fd write"
                                                 : "fd",
                         fd);
    l->fd_waiters--;
    /* The table may have moved while we were parked. */
    f = &l->fds[fd];
    if (f->rd == t)
        f->rd = NULL;
    if (f->wr == t)
        f->wr = NULL;
    if (rc == 0)
        f->ready &= (uint8_t)~events;
    return rc;
}

void corio__fd_unready(int fd, unsigned events);
void corio__fd_unready(int fd, unsigned events)
{
    corio_loop *l = corio__tls_loop;
    if (l && fd >= 0 && (size_t)fd < l->nfds)
        l->fds[fd].ready &= (uint8_t)~events;
}

void corio_fd_forget(int fd)
{
    corio_loop *l = corio__tls_loop;
    if (!l || fd < 0 || (size_t)fd >= l->nfds)
        return;
    struct corio__fd *f = &l->fds[fd];
    if (f->registered)
        epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
    if (f->rd)
        corio__wake(f->rd, -EBADF);
    if (f->wr)
        corio__wake(f->wr, -EBADF);
    memset(f, 0, sizeof(*f));
}

int corio_close(int fd)
{
    corio_fd_forget(fd);
    return close(fd) < 0 ? -errno : 0;
}
