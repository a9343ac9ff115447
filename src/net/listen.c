/* SPDX-License-Identifier: MIT */
/* Listeners and accept: TCP (IPv4, IPv6, dual stack) and Unix stream sockets.
 *
 * Every socket is non-blocking and close-on-exec from its creation (SOCK_NONBLOCK |
 * SOCK_CLOEXEC, accept4), so no fd leaks into a child between socket() and fcntl(). TCP
 * listeners always set SO_REUSEADDR (a restarted server must not wait out TIME_WAIT);
 * SO_REUSEPORT is opt-in, for one listener per worker loop. A Unix listener replaces a socket
 * file only when nothing accepts on it (a connect probe is refused), and removes its file at
 * close only if the file is still the one it created.
 *
 * corio_accept parks on the listener's fd. Errors that belong to the pending connection are
 * skipped, as accept(2) advises on Linux; running out of fds or memory is logged (rate
 * limited) and backed off, leaving the connection in the kernel queue instead of spinning.
 *
 * Deliberately not here: systemd socket activation, TCP_DEFER_ACCEPT, TCP Fast Open.
 */
#include "net_int.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

enum { DEFAULT_BACKLOG = 4096 };

#define EMFILE_LOG_EVERY (10 * CORIO_S)
#define EMFILE_BACKOFF_MIN (10 * CORIO_MS)
#define EMFILE_BACKOFF_MAX (500 * CORIO_MS)

void corio__net_assert_fail(const char *expr, const char *file, int line)
{
    corio_log(CORIO_LOG_FATAL, "net", "assertion failed: %s (%s:%d)", expr, file, line);
    abort();
}

void corio__net_nodelay(int fd)
{
    int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

static int set_int(int fd, int level, int opt, int v)
{
    return setsockopt(fd, level, opt, &v, sizeof v) < 0 ? -errno : 0;
}

static int new_listener(int fd, const struct corio_listen_opts *o, corio_listener **out)
{
    corio_listener *l = calloc(1, sizeof(*l));
    if (!l)
        return -ENOMEM;
    l->fd = fd;
    l->nagle = o && o->nagle;
    l->emfile_logged_at = INT64_MIN;
    l->addr.len = sizeof l->addr.ss;
    if (getsockname(fd, (struct sockaddr *)&l->addr.ss, &l->addr.len) < 0)
        l->addr.len = 0;
    l->is_inet = l->addr.ss.ss_family == AF_INET || l->addr.ss.ss_family == AF_INET6;
    *out = l;
    return 0;
}

/* socket + options + bind + listen for one address. Returns the fd. */
static int bind_listen(const corio_addr *a, const struct corio_listen_opts *o)
{
    int backlog = o && o->backlog ? o->backlog : DEFAULT_BACKLOG;
    int family = a->ss.ss_family;
    int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int rc = 0;
    if (family != AF_UNIX)
        rc = set_int(fd, SOL_SOCKET, SO_REUSEADDR, 1);
    if (rc == 0 && o && o->reuseport)
        rc = set_int(fd, SOL_SOCKET, SO_REUSEPORT, 1);
    if (rc == 0 && family == AF_INET6)
        rc = set_int(fd, IPPROTO_IPV6, IPV6_V6ONLY, o && o->v6only);
    if (rc == 0 && bind(fd, (const struct sockaddr *)&a->ss, a->len) < 0)
        rc = -errno;
    if (rc == 0 && listen(fd, backlog) < 0)
        rc = -errno;
    if (rc < 0) {
        close(fd);
        return rc;
    }
    return fd;
}

/* host NULL or "": the IPv6 any address with dual stack where IPv6 exists, else IPv4 any. */
static int bind_any(int port, const struct corio_listen_opts *o)
{
    corio_addr a;
    struct corio_listen_opts dual = o ? *o : (struct corio_listen_opts){0};
    dual.v6only = false;
    corio_addr_parse("::", port, &a);
    int fd = bind_listen(&a, &dual);
    if (fd == -EAFNOSUPPORT || fd == -EADDRNOTAVAIL || fd == -EPROTONOSUPPORT) {
        corio_addr_parse("0.0.0.0", port, &a);
        fd = bind_listen(&a, o);
    }
    return fd;
}

int corio_tcp_listen(const char *host, int port, const struct corio_listen_opts *o,
                     corio_listener **out)
{
    *out = NULL;
    if (port < 0 || port > 65535 || (o && o->backlog < 0))
        return -EINVAL;
    int fd;
    if (!host || !*host) {
        fd = bind_any(port, o);
    } else {
        corio_addr a;
        int n = corio_resolve(host, port, AF_UNSPEC, &a, 1);
        if (n < 0)
            return n;
        fd = bind_listen(&a, o);
    }
    if (fd < 0)
        return fd;
    int rc = new_listener(fd, o, out);
    if (rc < 0)
        close(fd);
    return rc;
}

/* ---- Unix sockets ----------------------------------------------------------------------- */

/* bind failed with EADDRINUSE at a path: 0 if the file was a dead socket and is now gone
 * (bind again), else -EADDRINUSE. */
static int unlink_if_stale(const char *path, const corio_addr *a)
{
    struct stat st;
    if (lstat(path, &st) < 0)
        return errno == ENOENT ? 0 : -EADDRINUSE;
    if (!S_ISSOCK(st.st_mode))
        return -EADDRINUSE;
    int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (probe < 0)
        return -errno;
    int rc = connect(probe, (const struct sockaddr *)&a->ss, a->len);
    int err = rc == 0 ? 0 : errno;
    close(probe);
    if (err != ECONNREFUSED)
        return -EADDRINUSE; /* someone accepts there (or its queue is full): alive */
    corio_log(CORIO_LOG_INFO, "net", "replacing stale unix socket %s", path);
    return unlink(path) < 0 && errno != ENOENT ? -errno : 0;
}

static int unix_bind_listen(const char *path, const corio_addr *a,
                            const struct corio_listen_opts *o)
{
    int fd = bind_listen(a, o);
    if (fd == -EADDRINUSE && path[0] != '@') {
        int rc = unlink_if_stale(path, a);
        if (rc < 0)
            return rc;
        fd = bind_listen(a, o);
    }
    return fd;
}

int corio_unix_listen(const char *path, const struct corio_listen_opts *o, corio_listener **out)
{
    corio_addr a;
    *out = NULL;
    if (o && o->backlog < 0)
        return -EINVAL;
    int rc = corio_addr_unix(path, &a);
    if (rc < 0)
        return rc;
    int fd = unix_bind_listen(path, &a, o);
    if (fd < 0)
        return fd;
    bool file = path[0] != '@';
    struct stat st = {0};
    if (file && ((o && o->mode && chmod(path, o->mode) < 0) || stat(path, &st) < 0)) {
        rc = -errno;
        goto fail;
    }
    if ((rc = new_listener(fd, o, out)) < 0)
        goto fail;
    if (file) {
        (*out)->dev = st.st_dev;
        (*out)->ino = st.st_ino;
        if (!((*out)->unix_path = strdup(path))) {
            free(*out);
            *out = NULL;
            rc = -ENOMEM;
            goto fail;
        }
    }
    return 0;
fail:
    close(fd);
    if (file)
        unlink(path);
    return rc;
}

void corio_listener_close(corio_listener *l)
{
    if (!l)
        return;
    corio_close(l->fd);
    if (l->unix_path) {
        struct stat st;
        if (stat(l->unix_path, &st) == 0 && st.st_dev == l->dev && st.st_ino == l->ino)
            unlink(l->unix_path);
        free(l->unix_path);
    }
    free(l);
}

int corio_listener_fd(const corio_listener *l)
{
    return l->fd;
}

int corio_listener_port(const corio_listener *l)
{
    int p = corio_addr_port(&l->addr);
    return p < 0 ? 0 : p;
}

void corio_listener_addr(const corio_listener *l, corio_addr *out)
{
    *out = l->addr;
}

/* ---- accept ------------------------------------------------------------------------------ */

/* Errors accept(2) reports for the pending connection, not the listener: try the next one. */
static bool per_connection_error(int err)
{
    switch (err) {
    case EINTR:
    case ECONNABORTED:
    case EPROTO:
    case EPERM: /* firewall rules */
    case ENETDOWN:
    case ENOPROTOOPT:
    case EHOSTDOWN:
    case ENONET:
    case EHOSTUNREACH:
    case EOPNOTSUPP:
    case ENETUNREACH:
        return true;
    default:
        return false;
    }
}

static bool resource_error(int err)
{
    return err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM;
}

/* Out of fds or memory: warn (rate limited, a peer can trigger it) and sleep. */
static int resource_backoff(corio_listener *l, int err, int64_t *backoff)
{
    int64_t now = corio_now();
    if (l->emfile_logged_at == INT64_MIN || now - l->emfile_logged_at >= EMFILE_LOG_EVERY) {
        l->emfile_logged_at = now;
        corio_log(CORIO_LOG_WARN, "net", "accept on fd %d: %s; pausing accepts", l->fd,
                  corio_strerror(-err));
    }
    int rc = corio_sleep(*backoff);
    *backoff = *backoff * 2 > EMFILE_BACKOFF_MAX ? EMFILE_BACKOFF_MAX : *backoff * 2;
    return rc;
}

int corio_accept(corio_listener *l, corio_addr *peer)
{
    int64_t backoff = EMFILE_BACKOFF_MIN;
    int rc = corio_check();
    while (rc == 0) {
        corio_addr a;
        a.len = sizeof a.ss;
        int fd = accept4(l->fd, (struct sockaddr *)&a.ss, &a.len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            if (l->is_inet && !l->nagle)
                corio__net_nodelay(fd);
            if (peer)
                *peer = a;
            return fd;
        }
        int err = errno;
        if (err == EAGAIN)
            rc = corio_fd_wait(l->fd, CORIO_READ);
        else if (resource_error(err))
            rc = resource_backoff(l, err, &backoff);
        else if (!per_connection_error(err))
            rc = -err;
    }
    return rc;
}
