/* SPDX-License-Identifier: MIT */
/* Connecting: TCP to a host (numeric or a name, each resolved address tried in order) and
 * Unix stream sockets, all non-blocking and bounded only by the caller's deadline scopes.
 *
 * A non-blocking TCP connect returns EINPROGRESS; the socket turns writable when the handshake
 * ends either way. corio_fd_wait may return spuriously, and SO_ERROR is 0 both for "connected"
 * and "still connecting", so success is confirmed with getpeername (ENOTCONN: keep waiting),
 * as Go's netpoller does. A Unix connect never goes in progress: with the listener's queue full
 * it fails with EAGAIN, and there is nothing to wait on, so it retries after a short,
 * doubling sleep.
 *
 * Deliberately not here: Happy Eyeballs (parallel attempts), per-attempt timeouts, binding
 * the local address.
 */
#include "net_int.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

enum { MAX_ADDRS = 16 };

#define UNIX_RETRY_MIN (1 * CORIO_MS)
#define UNIX_RETRY_MAX (64 * CORIO_MS)

/* After EINPROGRESS: parks until the handshake has finished. */
static int wait_connected(int fd)
{
    for (;;) {
        int rc = corio_fd_wait(fd, CORIO_WRITE);
        if (rc < 0)
            return rc;
        int err = 0;
        socklen_t len = sizeof err;
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
            return -errno;
        if (err)
            return -err;
        struct sockaddr_storage ss;
        len = sizeof ss;
        if (getpeername(fd, (struct sockaddr *)&ss, &len) == 0)
            return 0;
        if (errno != ENOTCONN)
            return -errno;
        /* A spurious wake-up: the handshake is still going on. */
    }
}

int corio__net_connect_fd(int fd, const corio_addr *a)
{
    int64_t retry = UNIX_RETRY_MIN;
    for (;;) {
        if (connect(fd, (const struct sockaddr *)&a->ss, a->len) == 0)
            return 0;
        int err = errno;
        /* EINTR on a non-blocking connect: the attempt goes on asynchronously. */
        if (err == EINPROGRESS || err == EINTR)
            return wait_connected(fd);
        if (err != EAGAIN || a->ss.ss_family != AF_UNIX)
            return -err;
        int rc = corio_sleep(retry);
        if (rc < 0)
            return rc;
        retry = retry * 2 > UNIX_RETRY_MAX ? UNIX_RETRY_MAX : retry * 2;
    }
}

int corio_connect_addr(const corio_addr *a, const struct corio_connect_opts *o)
{
    int family = a->ss.ss_family;
    int rc = corio_check();
    if (rc < 0)
        return rc;
    int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    if ((family == AF_INET || family == AF_INET6) && !(o && o->nagle))
        corio__net_nodelay(fd);
    rc = corio__net_connect_fd(fd, a);
    if (rc < 0) {
        corio_close(fd);
        return rc;
    }
    return fd;
}

int corio_tcp_connect(const char *host, int port, const struct corio_connect_opts *o)
{
    corio_addr addrs[MAX_ADDRS];
    int family = o ? o->family : AF_UNSPEC;
    if (!host || !*host)
        return -EINVAL;
    int n = corio_resolve(host, port, family, addrs, MAX_ADDRS);
    if (n < 0)
        return n;
    int first_err = 0;
    for (int i = 0; i < n; i++) {
        int fd = corio_connect_addr(&addrs[i], o);
        if (fd >= 0)
            return fd;
        if (fd == -ECANCELED || fd == -ETIMEDOUT)
            return fd; /* the caller's time is up: no further attempts */
        if (first_err == 0)
            first_err = fd;
    }
    return first_err;
}

int corio_unix_connect(const char *path)
{
    corio_addr a;
    int rc = corio_addr_unix(path, &a);
    if (rc < 0)
        return rc;
    return corio_connect_addr(&a, NULL);
}
