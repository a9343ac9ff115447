/* SPDX-License-Identifier: MIT */
/* Listeners, connect and accept on real sockets: ephemeral ports, IPv4/IPv6/dual stack, a port
 * in use, a refused connect, the connect deadline against a full backlog, names, Unix sockets
 * (stale files, live sockets, abstract names), address parsing and formatting, and accept's
 * back-off when the process is out of fds.
 */
#include "net_test.h"

#include "corio/exec.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static void assert_nodelay_nonblock_cloexec(int fd)
{
    int v = 0;
    socklen_t len = sizeof v;
    ASSERT_EQ(getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &v, &len), 0);
    ASSERT(v != 0);
    ASSERT(fcntl(fd, F_GETFL) & O_NONBLOCK);
    ASSERT(fcntl(fd, F_GETFD) & FD_CLOEXEC);
}

/* Sends "ping" from c and reads it on s: the pair is really connected. */
static void assert_connected(int c, int s)
{
    corio_stream *a, *b;
    char buf[4];
    ASSERT_EQ(corio_stream_open(c, NULL, &a), 0);
    ASSERT_EQ(corio_stream_open(s, NULL, &b), 0);
    ASSERT_EQ(corio_stream_write_all(a, "ping", 4), 0);
    ASSERT_EQ(corio_stream_read_exact(b, buf, 4), 4);
    ASSERT_MEMEQ(buf, "ping", 4);
    corio_stream_close(a);
    corio_stream_close(b);
}

static int t_port0(void *arg)
{
    corio_listener *l;
    corio_addr peer, bound;
    char txt[CORIO_ADDR_STRLEN];
    ASSERT_EQ(corio_tcp_listen("127.0.0.1", 0, NULL, &l), 0);
    int port = corio_listener_port(l);
    ASSERT(port > 0 && port < 65536);
    corio_listener_addr(l, &bound);
    ASSERT_EQ(corio_addr_port(&bound), port);
    int c = corio_tcp_connect("127.0.0.1", port, NULL);
    ASSERT_GE(c, 0);
    int s = corio_accept(l, &peer);
    ASSERT_GE(s, 0);
    ASSERT_EQ(peer.ss.ss_family, AF_INET);
    ASSERT(corio_addr_format(&peer, txt, sizeof txt) > 0);
    ASSERT_EQ(strncmp(txt, "127.0.0.1:", 10), 0);
    assert_nodelay_nonblock_cloexec(c);
    assert_nodelay_nonblock_cloexec(s);
    ASSERT(fcntl(corio_listener_fd(l), F_GETFL) & O_NONBLOCK);
    assert_connected(c, s);
    corio_listener_close(l);
    return 0;
}
TEST(tcp_listen_on_port_0_then_connect_and_accept)
{
    RUN_VT(t_port0, NULL);
}

static int t_ipv6(void *arg)
{
    corio_listener *l;
    corio_addr peer;
    char txt[CORIO_ADDR_STRLEN];
    int rc = corio_tcp_listen("::1", 0, NULL, &l);
    if (rc == -EADDRNOTAVAIL || rc == -EAFNOSUPPORT)
        return 77;
    ASSERT_EQ(rc, 0);
    int c = corio_tcp_connect("[::1]", corio_listener_port(l), NULL);
    ASSERT_GE(c, 0);
    int s = corio_accept(l, &peer);
    ASSERT_GE(s, 0);
    ASSERT_EQ(peer.ss.ss_family, AF_INET6);
    corio_addr_format(&peer, txt, sizeof txt);
    ASSERT_EQ(strncmp(txt, "[::1]:", 6), 0);
    assert_nodelay_nonblock_cloexec(s);
    assert_connected(c, s);
    corio_listener_close(l);
    return 0;
}
TEST(tcp_listen_and_connect_over_ipv6_loopback)
{
    int rc = corio_run(&NET_VT, t_ipv6, NULL);
    if (rc == 77)
        SKIP("::1 is not available");
    ASSERT_EQ(rc, 0);
}

/* NULL host: reachable over IPv4 (and IPv6 when the host has it). */
static int t_any(void *arg)
{
    corio_listener *l;
    ASSERT_EQ(corio_tcp_listen(NULL, 0, NULL, &l), 0);
    int port = corio_listener_port(l);
    int c = corio_tcp_connect("127.0.0.1", port, NULL);
    ASSERT_GE(c, 0);
    int s = corio_accept(l, NULL);
    ASSERT_GE(s, 0);
    assert_connected(c, s);
    corio_addr bound;
    corio_listener_addr(l, &bound);
    if (bound.ss.ss_family == AF_INET6) {
        c = corio_tcp_connect("::1", port, NULL);
        ASSERT_GE(c, 0);
        s = corio_accept(l, NULL);
        ASSERT_GE(s, 0);
        assert_connected(c, s);
    }
    corio_listener_close(l);
    return 0;
}
TEST(tcp_listen_any_accepts_ipv4_and_ipv6)
{
    RUN_VT(t_any, NULL);
}

static int t_v6only(void *arg)
{
    corio_listener *l;
    const struct corio_listen_opts o = {.v6only = true};
    int rc = corio_tcp_listen("::", 0, &o, &l);
    if (rc == -EADDRNOTAVAIL || rc == -EAFNOSUPPORT)
        return 77;
    ASSERT_EQ(rc, 0);
    ASSERT_EQ(corio_tcp_connect("127.0.0.1", corio_listener_port(l), NULL), -ECONNREFUSED);
    corio_listener_close(l);
    return 0;
}
TEST(tcp_listen_v6only_refuses_ipv4)
{
    int rc = corio_run(&NET_VT, t_v6only, NULL);
    if (rc == 77)
        SKIP("IPv6 is not available");
    ASSERT_EQ(rc, 0);
}

static int t_in_use(void *arg)
{
    corio_listener *a, *b;
    ASSERT_EQ(corio_tcp_listen("127.0.0.1", 0, NULL, &a), 0);
    int port = corio_listener_port(a);
    ASSERT_EQ(corio_tcp_listen("127.0.0.1", port, NULL, &b), -EADDRINUSE);
    ASSERT_NULL(b);
    ASSERT(strstr(corio_strerror(-EADDRINUSE), "in use") != NULL);
    corio_listener_close(a);
    return 0;
}
TEST(tcp_listen_on_a_port_in_use_is_eaddrinuse)
{
    RUN_VT(t_in_use, NULL);
}

static int t_reuseport(void *arg)
{
    corio_listener *a, *b;
    const struct corio_listen_opts o = {.reuseport = true};
    ASSERT_EQ(corio_tcp_listen("127.0.0.1", 0, &o, &a), 0);
    ASSERT_EQ(corio_tcp_listen("127.0.0.1", corio_listener_port(a), &o, &b), 0);
    corio_listener_close(a);
    corio_listener_close(b);
    return 0;
}
TEST(tcp_listen_reuseport_shares_a_port)
{
    RUN_VT(t_reuseport, NULL);
}

static int t_refused(void *arg)
{
    corio_listener *l;
    ASSERT_EQ(corio_tcp_listen("127.0.0.1", 0, NULL, &l), 0);
    int port = corio_listener_port(l);
    corio_listener_close(l);
    ASSERT_EQ(corio_tcp_connect("127.0.0.1", port, NULL), -ECONNREFUSED);
    ASSERT_EQ(corio_tcp_connect("127.0.0.1", 70000, NULL), -EINVAL);
    ASSERT_EQ(corio_tcp_connect("", 80, NULL), -EINVAL);
    return 0;
}
TEST(tcp_connect_to_a_closed_port_is_econnrefused)
{
    RUN_VT(t_refused, NULL);
}

/* A listener with backlog 0 that never accepts: after its one queued connection, further
 * handshakes are not answered, so a connect parks until the caller's deadline. */
static int t_connect_deadline(void *arg)
{
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    ASSERT_EQ(bind(lfd, (struct sockaddr *)&a, sizeof a), 0);
    ASSERT_EQ(listen(lfd, 0), 0);
    ASSERT_EQ(getsockname(lfd, (struct sockaddr *)&a, &len), 0);
    int fds[16], nfds = 0, rc = 0;
    while (nfds < 16) {
        corio_deadline d;
        corio_deadline_enter(&d, corio_after(300 * CORIO_MS));
        rc = corio_tcp_connect("127.0.0.1", ntohs(a.sin_port), NULL);
        bool hit = corio_deadline_leave(&d);
        if (rc < 0) {
            ASSERT_EQ(rc, -ETIMEDOUT);
            ASSERT(hit);
            break;
        }
        fds[nfds++] = rc;
    }
    for (int i = 0; i < nfds; i++)
        corio_close(fds[i]);
    close(lfd);
    return rc == -ETIMEDOUT ? 0 : 77;
}
TEST(tcp_connect_obeys_the_deadline_against_a_full_backlog)
{
    int rc = corio_run(&NET_RT, t_connect_deadline, NULL);
    if (rc == 77)
        SKIP("this kernel completes handshakes past a full backlog");
    ASSERT_EQ(rc, 0);
}

static int t_cancel_connect(void *arg)
{
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    ASSERT_EQ(bind(lfd, (struct sockaddr *)&a, sizeof a), 0);
    ASSERT_EQ(listen(lfd, 0), 0);
    ASSERT_EQ(getsockname(lfd, (struct sockaddr *)&a, &len), 0);
    corio_task_cancel(corio_self());
    ASSERT_EQ(corio_tcp_connect("127.0.0.1", ntohs(a.sin_port), NULL), -ECANCELED);
    close(lfd);
    return 0;
}
TEST(tcp_connect_when_cancelled_is_ecanceled)
{
    RUN_VT(t_cancel_connect, NULL);
}

/* ---- names ------------------------------------------------------------------------------- */

static int t_localhost(void *arg)
{
    corio_listener *l;
    corio_addr addrs[4];
    int n = corio_resolve("localhost", 80, AF_INET, addrs, 4);
    if (n == -ENXIO || n == -EAGAIN)
        return 77;
    ASSERT_GE(n, 1);
    ASSERT_EQ(addrs[0].ss.ss_family, AF_INET);
    ASSERT_EQ(corio_addr_port(&addrs[0]), 80);
    ASSERT_EQ(corio_tcp_listen("127.0.0.1", 0, NULL, &l), 0);
    /* localhost may list ::1 first, where nothing listens: the next address is tried. */
    int c = corio_tcp_connect("localhost", corio_listener_port(l), NULL);
    ASSERT_GE(c, 0);
    int s = corio_accept(l, NULL);
    ASSERT_GE(s, 0);
    assert_connected(c, s);
    corio_listener_close(l);
    return 0;
}
TEST(tcp_connect_resolves_localhost_on_the_executor)
{
    int rc = corio_run(&NET_RT, t_localhost, NULL);
    if (rc == 77)
        SKIP("localhost does not resolve here");
    ASSERT_EQ(rc, 0);
}

static sem_t gate;
static atomic_int gate_entered;

static intptr_t gated(void *arg)
{
    atomic_store(&gate_entered, 1);
    while (sem_wait(&gate) < 0) {
    }
    return 0;
}

static int block_executor(void *arg)
{
    return corio_exec_run(NULL, gated, NULL, NULL);
}

/* A lookup queued behind a busy executor is given up at the deadline; the helper drops the
 * job and frees it (ASan checks the leak side). */
static int t_resolve_deadline(void *arg)
{
    corio_task *b;
    corio_addr out[2];
    ASSERT_EQ(corio_spawn_task(NULL, block_executor, NULL, &b), 0);
    while (!atomic_load(&gate_entered))
        ASSERT_EQ(corio_sleep(CORIO_MS), 0);
    corio_deadline d;
    corio_deadline_enter(&d, corio_after(50 * CORIO_MS));
    ASSERT_EQ(corio_resolve("localhost", 80, AF_UNSPEC, out, 2), -ETIMEDOUT);
    ASSERT(corio_deadline_leave(&d));
    sem_post(&gate);
    ASSERT_EQ(corio_task_join(b, NULL), 0);
    for (int i = 0; i < 100; i++) /* let the helper see its dropped job */
        ASSERT_EQ(corio_yield(), 0);
    return 0;
}
TEST(resolve_gives_up_at_the_deadline_and_frees_the_job)
{
    struct corio_run_opts o = NET_RT;
    o.executor_threads = 1;
    sem_init(&gate, 0, 0);
    ASSERT_EQ(corio_run(&o, t_resolve_deadline, NULL), 0);
}

TEST(addr_parse_and_format)
{
    corio_addr a;
    char t[CORIO_ADDR_STRLEN];
    ASSERT_EQ(corio_addr_parse("10.1.2.3", 8080, &a), 0);
    ASSERT_EQ(corio_addr_format(&a, t, sizeof t), 13);
    ASSERT_STREQ(t, "10.1.2.3:8080");
    ASSERT_EQ(corio_addr_parse("[::1]", 443, &a), 0);
    corio_addr_format(&a, t, sizeof t);
    ASSERT_STREQ(t, "[::1]:443");
    ASSERT_EQ(corio_addr_parse("fe80::1%1", 1, &a), 0);
    corio_addr_format(&a, t, sizeof t);
    ASSERT_STREQ(t, "[fe80::1%1]:1");
    ASSERT_EQ(corio_addr_parse(NULL, 0, &a), 0);
    corio_addr_format(&a, t, sizeof t);
    ASSERT_STREQ(t, "0.0.0.0:0");
    ASSERT_EQ(corio_addr_parse("1.2.3", 80, &a), -EINVAL);
    ASSERT_EQ(corio_addr_parse("localhost", 80, &a), -EINVAL);
    ASSERT_EQ(corio_addr_parse("::1", 65536, &a), -EINVAL);
    ASSERT_EQ(corio_addr_parse("::1", -1, &a), -EINVAL);
    ASSERT_EQ(corio_addr_unix("/run/x.sock", &a), 0);
    corio_addr_format(&a, t, sizeof t);
    ASSERT_STREQ(t, "unix:/run/x.sock");
    ASSERT_EQ(corio_addr_port(&a), -EAFNOSUPPORT);
    ASSERT_EQ(corio_addr_unix("@abstract", &a), 0);
    corio_addr_format(&a, t, sizeof t);
    ASSERT_STREQ(t, "unix:@abstract");
    ASSERT_EQ(corio_addr_unix("", &a), -EINVAL);
    char longp[200];
    memset(longp, 'x', sizeof longp - 1);
    longp[sizeof longp - 1] = 0;
    ASSERT_EQ(corio_addr_unix(longp, &a), -ENAMETOOLONG);
    ASSERT_EQ(corio_addr_parse("127.0.0.1", 80, &a), 0);
    ASSERT_EQ(corio_addr_format(&a, t, 5), 4); /* truncated, terminated */
    ASSERT_STREQ(t, "127.");
}

/* ---- Unix sockets ------------------------------------------------------------------------ */

struct tmpdir {
    char dir[64];
    char path[128];
};

static void tmp_socket_path(struct tmpdir *t)
{
    strcpy(t->dir, "/tmp/corio-net-XXXXXX");
    ASSERT_NOT_NULL(mkdtemp(t->dir));
    snprintf(t->path, sizeof t->path, "%s/s.sock", t->dir);
}

static void unix_roundtrip(corio_listener *l, const char *path)
{
    corio_addr peer;
    int c = corio_unix_connect(path);
    ASSERT_GE(c, 0);
    int s = corio_accept(l, &peer);
    ASSERT_GE(s, 0);
    ASSERT_EQ(peer.ss.ss_family, AF_UNIX);
    ASSERT_EQ(corio_listener_port(l), 0);
    assert_connected(c, s);
}

static int t_unix(void *arg)
{
    struct tmpdir t;
    corio_listener *l, *l2;
    struct stat st;
    tmp_socket_path(&t);
    /* A socket file left behind by a dead process is replaced. */
    int dead = socket(AF_UNIX, SOCK_STREAM, 0);
    corio_addr a;
    ASSERT_EQ(corio_addr_unix(t.path, &a), 0);
    ASSERT_EQ(bind(dead, (struct sockaddr *)&a.ss, a.len), 0);
    close(dead);
    ASSERT_EQ(stat(t.path, &st), 0);
    const struct corio_listen_opts o = {.mode = 0600};
    ASSERT_EQ(corio_unix_listen(t.path, &o, &l), 0);
    ASSERT_EQ(stat(t.path, &st), 0);
    ASSERT_EQ(st.st_mode & 0777, 0600);
    unix_roundtrip(l, t.path);
    /* A live one is not. */
    ASSERT_EQ(corio_unix_listen(t.path, NULL, &l2), -EADDRINUSE);
    int probe = corio_accept(l, NULL); /* the probe's connection; closed by the prober */
    ASSERT_GE(probe, 0);
    corio_close(probe);
    corio_listener_close(l);
    ASSERT_EQ(stat(t.path, &st), -1); /* close removed our file */
    ASSERT_EQ(corio_unix_connect(t.path), -ENOENT);
    /* Nor is a file that is not a socket. */
    int f = open(t.path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
    ASSERT_GE(f, 0);
    close(f);
    ASSERT_EQ(corio_unix_listen(t.path, NULL, &l2), -EADDRINUSE);
    ASSERT_EQ(stat(t.path, &st), 0);
    unlink(t.path);
    rmdir(t.dir);
    return 0;
}
TEST(unix_listen_replaces_stale_files_only)
{
    RUN_VT(t_unix, NULL);
}

static int t_unix_abstract(void *arg)
{
    char name[64];
    corio_listener *l;
    snprintf(name, sizeof name, "@corio-test-%d", (int)getpid());
    ASSERT_EQ(corio_unix_listen(name, NULL, &l), 0);
    unix_roundtrip(l, name);
    corio_listener_close(l);
    ASSERT_EQ(corio_unix_connect(name), -ECONNREFUSED);
    return 0;
}
TEST(unix_listen_in_the_abstract_namespace)
{
    RUN_VT(t_unix_abstract, NULL);
}

/* ---- accept out of fds ------------------------------------------------------------------- */

static atomic_int warnings;

static void count_warnings(void *ctx, enum corio_log_level lv, const char *sub, const char *msg)
{
    if (lv == CORIO_LOG_WARN && strcmp(sub, "net") == 0 && strstr(msg, "accept"))
        atomic_fetch_add(&warnings, 1);
}

struct emfile {
    struct rlimit old;
    bool raised;
};

static int raise_limit_later(void *arg)
{
    struct emfile *e = arg;
    ASSERT_EQ(corio_sleep(200 * CORIO_MS), 0);
    ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &e->old), 0);
    e->raised = true;
    return 0;
}

static int t_emfile(void *arg)
{
    struct emfile e;
    corio_listener *l;
    ASSERT_EQ(corio_tcp_listen("127.0.0.1", 0, NULL, &l), 0);
    int c = corio_tcp_connect("127.0.0.1", corio_listener_port(l), NULL);
    ASSERT_GE(c, 0);
    int probe = dup(0);
    ASSERT_GE(probe, 0);
    close(probe); /* the lowest free fd: a limit of probe leaves no room */
    ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &e.old), 0);
    struct rlimit low = {.rlim_cur = (rlim_t)probe, .rlim_max = e.old.rlim_max};
    ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &low), 0);
    e.raised = false;
    corio_task *t;
    ASSERT_EQ(corio_spawn_task(NULL, raise_limit_later, &e, &t), 0);
    int s = corio_accept(l, NULL); /* EMFILE until the limit is raised */
    ASSERT_GE(s, 0);
    ASSERT(e.raised);
    ASSERT_EQ(corio_task_join(t, NULL), 0);
    corio_close(s);
    corio_close(c);
    corio_listener_close(l);
    return 0;
}
TEST(accept_backs_off_while_out_of_fds)
{
    corio_log_set_hook(count_warnings, NULL, CORIO_LOG_WARN);
    RUN_RT(t_emfile, NULL);
    ASSERT_EQ(atomic_load(&warnings), 1); /* logged once, not once per retry */
}
