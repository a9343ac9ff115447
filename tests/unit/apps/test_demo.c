/* SPDX-License-Identifier: MIT */
/* tests/unit/apps/test_demo.c: corio-demo as its users meet it: a process started with flags
 * and environment, talked to over real TCP sockets, stopped with a signal.
 *
 * The binary is found next to this test's own executable (CMake puts every program at the top
 * of the build directory), or at $CORIO_DEMO_BIN. Each case starts its own server on a port
 * picked by binding port 0 on 127.0.0.1 and closing it (a port that some other process grabs
 * in between makes the case fail loudly, never pass wrongly). The client here is plain
 * blocking socket code with receive timeouts: the test is an ordinary process driving a child
 * process. The server's stdout and stderr go to temporary files that are read after it exits;
 * the child gets PR_SET_PDEATHSIG so a failed assertion here never leaves a server behind.
 *
 * Real time is unavoidable here, so nothing asserts on durations: waits are bounded only to
 * turn a hang into a failure (scaled by CORIO_TEST_TIMEOUT_MULT), and "the drain has begun" or
 * "the handler is running" are observed through protocol events (an idle connection closed by
 * the server, a 100 Continue) rather than guessed with sleeps.
 */
#include "test.h"

#include "harness/json_check.h"
#include "harness/prom_parse.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- time and the binary --------------------------------------------------------------------- */

static double mult(void)
{
    const char *m = getenv("CORIO_TEST_TIMEOUT_MULT");
    double v = m ? atof(m) : 1.0;
    return v >= 1.0 ? v : 1.0;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void nap_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static const char *demo_bin(void)
{
    static char path[PATH_MAX];
    const char *env = getenv("CORIO_DEMO_BIN");
    if (env && *env)
        return env;
    ssize_t n = readlink("/proc/self/exe", path, sizeof path - 32);
    ASSERT(n > 0);
    path[n] = 0;
    char *slash = strrchr(path, '/');
    ASSERT_NOT_NULL(slash);
    strcpy(slash + 1, "corio-demo");
    if (access(path, X_OK) != 0)
        test__fail(__FILE__, __LINE__, "corio-demo is not built at %s (set CORIO_DEMO_BIN)", path);
    return path;
}

/* A port that was free a moment ago on 127.0.0.1. */
static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(fd, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    ASSERT_EQ(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    ASSERT_EQ(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    return ntohs(a.sin_port);
}

/* ---- the child process ----------------------------------------------------------------------- */

struct child {
    pid_t pid;
    int out, err; /* unlinked temporary files holding its stdout and stderr */
    int status;   /* exit status once reaped, or 128 + signal */
    bool reaped;
};

static const char *const demo_env[] = {"HOST",      "PORT",       "WORKERS",   "DATABASE_URL",
                                       "REDIS_URL", "RATE_LIMIT", "LOG_LEVEL", NULL};

/* Starts corio-demo with args (NULL-terminated, without argv[0]) and env ("NAME=value"
 * strings, NULL-terminated, may be NULL); the demo's own variables are cleared first so the
 * environment of whoever runs the tests cannot leak in. */
static void child_start(struct child *c, const char *const *args, const char *const *env)
{
    const char *bin = demo_bin();
    memset(c, 0, sizeof *c);
    /* Unlinked at once, so nothing is left behind whatever happens to this process. */
    char opath[] = "/tmp/test_demo_out_XXXXXX", epath[] = "/tmp/test_demo_err_XXXXXX";
    int ofd = mkostemp(opath, O_CLOEXEC), efd = mkostemp(epath, O_CLOEXEC);
    ASSERT_GE(ofd, 0);
    ASSERT_GE(efd, 0);
    unlink(opath);
    unlink(epath);
    const char *argv[32] = {bin};
    size_t n = 1;
    for (; args && args[n - 1]; n++) {
        ASSERT_LT(n, 31);
        argv[n] = args[n - 1];
    }
    argv[n] = NULL;
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        dup2(ofd, 1);
        dup2(efd, 2);
        for (size_t i = 0; demo_env[i]; i++)
            unsetenv(demo_env[i]);
        for (size_t i = 0; env && env[i]; i++)
            putenv((char *)env[i]);
        /* The harness may run us with signals blocked or ignored; the demo expects defaults. */
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        signal(SIGTERM, SIG_DFL);
        signal(SIGINT, SIG_DFL);
        execv(bin, (char *const *)argv);
        _exit(127);
    }
    c->out = ofd;
    c->err = efd;
    c->pid = pid;
}

/* Reaps the child if it has exited; true once reaped. */
static bool child_poll(struct child *c)
{
    if (c->reaped)
        return true;
    int st;
    pid_t r = waitpid(c->pid, &st, WNOHANG);
    ASSERT_NE(r, -1);
    if (r == 0)
        return false;
    c->reaped = true;
    c->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    return true;
}

/* Waits for the child to exit (failing after limit_s, scaled) and returns its status. */
static int child_wait(struct child *c, double limit_s)
{
    double until = now_s() + limit_s * mult();
    while (!child_poll(c)) {
        if (now_s() > until) {
            kill(c->pid, SIGKILL);
            waitpid(c->pid, NULL, 0);
            c->reaped = true;
            test__fail(__FILE__, __LINE__, "corio-demo did not exit within %.0f s",
                       limit_s * mult());
        }
        nap_ms(10);
    }
    return c->status;
}

/* The whole file behind fd (read with pread: the child shares the file offset). */
static char *slurp(int fd)
{
    size_t cap = 4096, len = 0;
    char *s = malloc(cap);
    ASSERT_NOT_NULL(s);
    ssize_t n;
    while ((n = pread(fd, s + len, cap - len - 1, (off_t)len)) > 0) {
        len += (size_t)n;
        if (cap - len < 2) {
            cap *= 2;
            s = realloc(s, cap);
            ASSERT_NOT_NULL(s);
        }
    }
    ASSERT_GE(n, 0);
    s[len] = 0;
    return s;
}

static char *child_stderr(const struct child *c)
{
    return slurp(c->err);
}

static char *child_stdout(const struct child *c)
{
    return slurp(c->out);
}

static void child_cleanup(struct child *c)
{
    if (!c->reaped) {
        kill(c->pid, SIGKILL);
        waitpid(c->pid, NULL, 0);
        c->reaped = true;
    }
    close(c->out);
    close(c->err);
}

static size_t count_lines(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

/* ---- an HTTP client -------------------------------------------------------------------------- */

struct resp {
    int status;
    char *head; /* status line and header lines, NUL-terminated */
    char *body;
    size_t body_len;
};

static int connect_port(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(fd, 0);
    struct timeval tv = {.tv_sec = (time_t)(10 * mult())};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static void send_all(int fd, const void *p, size_t n)
{
    const char *s = p;
    while (n > 0) {
        ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
        ASSERT_GT(w, 0);
        s += w;
        n -= (size_t)w;
    }
}

/* Reads until the peer closes (or a receive timeout: a failure). */
static char *read_to_eof(int fd, size_t *len)
{
    size_t cap = 8192, n = 0;
    char *buf = malloc(cap);
    ASSERT_NOT_NULL(buf);
    for (;;) {
        if (cap - n < 4096) {
            cap *= 2;
            buf = realloc(buf, cap);
            ASSERT_NOT_NULL(buf);
        }
        ssize_t r = recv(fd, buf + n, cap - n - 1, 0);
        if (r == 0)
            break;
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            test__fail(__FILE__, __LINE__, "recv: %s (after %zu bytes)", strerror(errno), n);
        n += (size_t)r;
    }
    buf[n] = 0;
    *len = n;
    return buf;
}

/* The value of header name in a head (case-insensitive), copied into out; false if absent. */
static bool header(const char *head, const char *name, char *out, size_t cap)
{
    size_t nl = strlen(name);
    for (const char *p = strstr(head, "\r\n"); p && p[2]; p = strstr(p + 2, "\r\n")) {
        const char *line = p + 2;
        if (strncasecmp(line, name, nl) == 0 && line[nl] == ':') {
            const char *v = line + nl + 1;
            while (*v == ' ')
                v++;
            const char *e = strstr(v, "\r\n");
            size_t len = e ? (size_t)(e - v) : strlen(v);
            if (len >= cap)
                len = cap - 1;
            memcpy(out, v, len);
            out[len] = 0;
            return true;
        }
    }
    return false;
}

/* Parses one whole response (the connection was closed after it). */
static void parse_resp(char *raw, size_t len, struct resp *r)
{
    char *end = strstr(raw, "\r\n\r\n");
    ASSERT_NOT_NULL(end);
    size_t hl = (size_t)(end - raw) + 2;
    r->head = malloc(hl + 1);
    ASSERT_NOT_NULL(r->head);
    memcpy(r->head, raw, hl);
    r->head[hl] = 0;
    ASSERT_EQ(sscanf(raw, "HTTP/1.%*d %d", &r->status), 1);
    char *body = end + 4;
    size_t blen = len - (size_t)(body - raw);
    char te[64];
    r->body = malloc(blen + 1);
    ASSERT_NOT_NULL(r->body);
    if (header(r->head, "Transfer-Encoding", te, sizeof te) && strcasecmp(te, "chunked") == 0) {
        size_t out = 0;
        char *p = body;
        for (;;) {
            unsigned long sz = strtoul(p, &p, 16);
            p = strstr(p, "\r\n");
            ASSERT_NOT_NULL(p);
            p += 2;
            if (sz == 0)
                break;
            memcpy(r->body + out, p, sz);
            out += sz;
            p += sz + 2;
        }
        r->body_len = out;
    } else {
        char cl[32];
        if (header(r->head, "Content-Length", cl, sizeof cl) && (size_t)atol(cl) <= blen)
            blen = (size_t)atol(cl);
        memcpy(r->body, body, blen);
        r->body_len = blen;
    }
    r->body[r->body_len] = 0;
}

/* Sends raw (a whole request, which should say Connection: close) and reads the response. */
static void http_raw(int port, const char *raw, size_t len, struct resp *r)
{
    int fd = connect_port(port);
    ASSERT_GE(fd, 0);
    send_all(fd, raw, len);
    size_t n;
    char *buf = read_to_eof(fd, &n);
    close(fd);
    parse_resp(buf, n, r);
    free(buf);
}

static void http_get(int port, const char *target, const char *extra, struct resp *r)
{
    char req[1024];
    int n = snprintf(req, sizeof req,
                     "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%sConnection: close\r\n\r\n", target,
                     extra ? extra : "");
    http_raw(port, req, (size_t)n, r);
}

static void resp_free(struct resp *r)
{
    free(r->head);
    free(r->body);
    memset(r, 0, sizeof *r);
}

static void assert_header(const struct resp *r, const char *name, const char *want)
{
    char v[256];
    if (!header(r->head, name, v, sizeof v))
        test__fail(__FILE__, __LINE__, "no %s header in:\n%s", name, r->head);
    ASSERT_STREQ(v, want);
}

/* Polls GET /health until it answers 200 (the server is up and watching for signals). */
static void wait_ready(struct child *c, int port)
{
    double until = now_s() + 20 * mult();
    for (;;) {
        if (child_poll(c)) {
            char *err = child_stderr(c);
            test__fail(__FILE__, __LINE__, "corio-demo exited with %d before serving:\n%s",
                       c->status, err);
        }
        int fd = connect_port(port);
        if (fd >= 0) {
            close(fd);
            struct resp r;
            http_get(port, "/health", NULL, &r);
            int status = r.status;
            resp_free(&r);
            if (status == 200)
                return;
        }
        ASSERT(now_s() < until);
        nap_ms(20);
    }
}

/* Starts a server on a fresh port with extra flags and waits until it serves. */
static int start_server(struct child *c, const char *const *flags, const char *const *env)
{
    int port = free_port();
    char ps[16];
    snprintf(ps, sizeof ps, "%d", port);
    const char *args[24] = {"--host", "127.0.0.1", "--port", ps};
    size_t n = 4;
    for (size_t i = 0; flags && flags[i]; i++) {
        ASSERT_LT(n, 23);
        args[n++] = flags[i];
    }
    args[n] = NULL;
    child_start(c, args, env);
    wait_ready(c, port);
    return port;
}

/* ---- command line ---------------------------------------------------------------------------- */

TEST(help_lists_every_flag_with_its_default)
{
    struct child c;
    child_start(&c, (const char *const[]){"--help", NULL}, NULL);
    ASSERT_EQ(child_wait(&c, 10), 0);
    char *out = child_stdout(&c), *err = child_stderr(&c);
    static const char *const want[] = {"--host",
                                       "0.0.0.0",
                                       "--port",
                                       "8080",
                                       "--workers",
                                       "--db",
                                       "sqlite:data/corio.db",
                                       "postgresql://",
                                       "--redis",
                                       "--rate-limit",
                                       "100",
                                       "--log-level",
                                       "--help",
                                       "--version",
                                       "HOST",
                                       "PORT",
                                       "WORKERS",
                                       "DATABASE_URL",
                                       "REDIS_URL",
                                       "RATE_LIMIT",
                                       "LOG_LEVEL",
                                       "/api/users",
                                       "/plaintext",
                                       "/json",
                                       "/echo",
                                       "/health",
                                       "/metrics",
                                       "/debug/tasks"};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        if (!strstr(out, want[i]))
            test__fail(__FILE__, __LINE__, "--help does not mention %s:\n%s", want[i], out);
    ASSERT_STREQ(err, "");
    free(out);
    free(err);
    child_cleanup(&c);
}

TEST(version_prints_one_line)
{
    struct child c;
    child_start(&c, (const char *const[]){"--version", NULL}, NULL);
    ASSERT_EQ(child_wait(&c, 10), 0);
    char *out = child_stdout(&c);
    ASSERT_EQ(strncmp(out, "corio-demo ", 11), 0);
    ASSERT_EQ(count_lines(out), 1);
    free(out);
    child_cleanup(&c);
}

struct bad_case {
    const char *args[4];
    const char *env;
    const char *line; /* the whole stderr */
};

TEST_TIMEOUT(bad_flags_and_values_exit_2_with_one_line, 120)
{
    static const struct bad_case cases[] = {
        {{"--port", "abc"}, NULL, "corio-demo: invalid --port 'abc': expected 1-65535\n"},
        {{"--port", "0"}, NULL, "corio-demo: invalid --port '0': expected 1-65535\n"},
        {{"--port=70000"}, NULL, "corio-demo: invalid --port '70000': expected 1-65535\n"},
        {{"--port", "-1"}, NULL, "corio-demo: invalid --port '-1': expected 1-65535\n"},
        {{"--workers", "-1"}, NULL, "corio-demo: invalid --workers '-1': expected 1-1024\n"},
        {{"--workers", "0"}, NULL, "corio-demo: invalid --workers '0': expected 1-1024\n"},
        {{"--rate-limit", "abc"},
         NULL,
         "corio-demo: invalid --rate-limit 'abc': expected requests per second, 0-1000000 (0 = "
         "no limit)\n"},
        {{"--db", "mysql://x"},
         NULL,
         "corio-demo: invalid --db 'mysql://x': expected sqlite:PATH or postgresql://...\n"},
        {{"--redis", "http://x"}, NULL, NULL},
        {{"--log-level", "loud"},
         NULL,
         "corio-demo: invalid --log-level 'loud': expected debug, info, warn or error\n"},
        {{"--host", ""}, NULL, NULL},
        {{"--bogus"}, NULL, "corio-demo: unknown flag '--bogus' (see --help)\n"},
        {{"-p", "80"}, NULL, "corio-demo: unknown flag '-p' (see --help)\n"},
        {{"--port"}, NULL, "corio-demo: --port needs a value (see --help)\n"},
        {{"extra"}, NULL, "corio-demo: unexpected argument 'extra' (see --help)\n"},
        {{"--port", "80\n80"}, NULL, "corio-demo: invalid --port '80?80': expected 1-65535\n"},
        {{NULL},
         "PORT=abc",
         "corio-demo: invalid PORT 'abc' in the environment: expected 1-65535\n"},
        {{NULL},
         "WORKERS=-1",
         "corio-demo: invalid WORKERS '-1' in the environment: expected 1-1024\n"},
        {{NULL}, "RATE_LIMIT=fast", NULL},
        {{NULL}, "LOG_LEVEL=loud", NULL},
        {{NULL}, "DATABASE_URL=oracle://x", NULL},
        {{NULL}, "REDIS_URL=x", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct bad_case *bc = &cases[i];
        struct child c;
        child_start(&c, bc->args, (const char *const[]){bc->env, NULL});
        int st = child_wait(&c, 10);
        char *err = child_stderr(&c), *out = child_stdout(&c);
        if (st != 2 || count_lines(err) != 1 || strncmp(err, "corio-demo: ", 12) != 0 ||
            (bc->line && strcmp(err, bc->line) != 0) || *out)
            test__fail(__FILE__, __LINE__, "case %zu (%s %s, env %s): status %d, stderr:\n%s", i,
                       bc->args[0] ? bc->args[0] : "", bc->args[1] ? bc->args[1] : "",
                       bc->env ? bc->env : "-", st, err);
        free(err);
        free(out);
        child_cleanup(&c);
    }
}

TEST(port_in_use_exits_1_with_one_line)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(fd, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    ASSERT_EQ(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    ASSERT_EQ(listen(fd, 8), 0);
    ASSERT_EQ(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    char ps[16], want[128];
    snprintf(ps, sizeof ps, "%d", ntohs(a.sin_port));
    snprintf(want, sizeof want,
             "corio-demo: cannot listen on 127.0.0.1:%s: Address already in use\n", ps);
    struct child c;
    child_start(&c,
                (const char *const[]){"--host", "127.0.0.1", "--port", ps, "--workers", "2", NULL},
                NULL);
    ASSERT_EQ(child_wait(&c, 10), 1);
    char *err = child_stderr(&c);
    ASSERT_STREQ(err, want);
    free(err);
    child_cleanup(&c);
    close(fd);
}

/* ---- serving --------------------------------------------------------------------------------- */

static void check_plaintext_json_echo(int port)
{
    struct resp r;
    char v[128];
    http_get(port, "/plaintext", NULL, &r);
    ASSERT_EQ(r.status, 200);
    assert_header(&r, "Content-Type", "text/plain");
    ASSERT_STREQ(r.body, "Hello, World!");
    ASSERT(header(r.head, "X-Request-ID", v, sizeof v) && strlen(v) == 32);
    resp_free(&r);

    http_get(port, "/plaintext", "X-Request-ID: trace-me-123\r\n", &r);
    assert_header(&r, "X-Request-ID", "trace-me-123");
    resp_free(&r);

    http_get(port, "/json", NULL, &r);
    ASSERT_EQ(r.status, 200);
    assert_header(&r, "Content-Type", "application/json");
    ASSERT_STREQ(r.body, "{\"message\":\"Hello, World!\"}");
    resp_free(&r);

    /* Binary bytes, CR LF and NUL included, come back verbatim with their type. */
    static const char body[] = "a\0b\r\nc\xff\x80 {\"x\":1}";
    char req[512];
    int n = snprintf(req, sizeof req,
                     "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-thing; v=2\r\n"
                     "Content-Length: %zu\r\nConnection: close\r\n\r\n",
                     sizeof body - 1);
    memcpy(req + n, body, sizeof body - 1);
    http_raw(port, req, (size_t)n + sizeof body - 1, &r);
    ASSERT_EQ(r.status, 200);
    assert_header(&r, "Content-Type", "application/x-thing; v=2");
    ASSERT_EQ(r.body_len, sizeof body - 1);
    ASSERT_MEMEQ(r.body, body, sizeof body - 1);
    resp_free(&r);

    static const char plain[] = "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                                "Connection: close\r\n\r\nhello";
    http_raw(port, plain, sizeof plain - 1, &r);
    ASSERT_EQ(r.status, 200);
    assert_header(&r, "Content-Type", "application/octet-stream");
    ASSERT_STREQ(r.body, "hello");
    resp_free(&r);

    static const char chunked[] = "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n"
                                  "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                                  "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
    http_raw(port, chunked, sizeof chunked - 1, &r);
    ASSERT_EQ(r.status, 200);
    ASSERT_STREQ(r.body, "abcde");
    resp_free(&r);
}

static void check_health(int port, int workers)
{
    struct resp r;
    char s[64];
    double num;
    http_get(port, "/health", NULL, &r);
    ASSERT_EQ(r.status, 200);
    assert_header(&r, "Content-Type", "application/json");
    char err[200];
    if (json_validate(r.body, r.body_len, err, sizeof err) != 0)
        test__fail(__FILE__, __LINE__, "/health: %s: %s", err, r.body);
    ASSERT(json_get_string(r.body, r.body_len, "status", s, sizeof s) > 0);
    ASSERT_STREQ(s, "ok");
    ASSERT(json_get_string(r.body, r.body_len, "version", s, sizeof s) > 0);
    ASSERT(json_get_number(r.body, r.body_len, "uptime_s", &num) && num >= 0);
    /* At least this very connection is open. */
    ASSERT(json_get_number(r.body, r.body_len, "connections", &num) && num >= 1);
    ASSERT(json_get_number(r.body, r.body_len, "workers", &num));
    ASSERT_EQ((int)num, workers);
    resp_free(&r);
}

static void check_routing_and_page(int port)
{
    struct resp r;
    http_get(port, "/", NULL, &r);
    ASSERT_EQ(r.status, 200);
    assert_header(&r, "Content-Type", "text/html; charset=utf-8");
    static const char *const links[] = {"/plaintext", "/json",    "/echo",
                                        "/health",    "/metrics", "/debug/tasks"};
    for (size_t i = 0; i < sizeof links / sizeof links[0]; i++)
        ASSERT_NOT_NULL(strstr(r.body, links[i]));
    resp_free(&r);

    http_get(port, "/no/such/thing", NULL, &r);
    ASSERT_EQ(r.status, 404);
    ASSERT_EQ(json_validate(r.body, r.body_len, NULL, 0), 0);
    resp_free(&r);

    http_get(port, "/echo", NULL, &r); /* POST only */
    ASSERT_EQ(r.status, 405);
    resp_free(&r);

    static const char head[] = "HEAD /plaintext HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    http_raw(port, head, sizeof head - 1, &r);
    ASSERT_EQ(r.status, 200);
    assert_header(&r, "Content-Length", "13");
    ASSERT_EQ(r.body_len, 0);
    resp_free(&r);
}

static void check_debug_tasks(int port, int workers)
{
    struct resp r;
    char err[200];
    double num;
    http_get(port, "/debug/tasks", NULL, &r);
    ASSERT_EQ(r.status, 200);
    assert_header(&r, "Content-Type", "application/json");
    if (json_validate(r.body, r.body_len, err, sizeof err) != 0)
        test__fail(__FILE__, __LINE__, "/debug/tasks: %s", err);
    ASSERT(json_get_number(r.body, r.body_len, "workers", &num));
    ASSERT_EQ((int)num, workers);
    ASSERT_EQ(json_member_kind(r.body, r.body_len, "loops"), 'a');
    /* Every worker's main task and the connection serving this request are listed. */
    ASSERT_NOT_NULL(strstr(r.body, "\"name\":\"main\""));
    ASSERT_NOT_NULL(strstr(r.body, "\"worker\":1"));
    ASSERT_NOT_NULL(strstr(r.body, "\"state\":\"running\""));
    resp_free(&r);

    http_get(port, "/debug/tasks?limit=1", NULL, &r);
    ASSERT_EQ(r.status, 200);
    ASSERT_EQ(json_validate(r.body, r.body_len, NULL, 0), 0);
    ASSERT_NOT_NULL(strstr(r.body, "\"truncated\":true"));
    resp_free(&r);

    http_get(port, "/debug/tasks?limit=abc", NULL, &r);
    ASSERT_EQ(r.status, 400);
    resp_free(&r);
}

static void check_metrics(int port)
{
    struct resp r;
    char err[300], ct[128];
    http_get(port, "/metrics", NULL, &r);
    ASSERT_EQ(r.status, 200);
    ASSERT(header(r.head, "Content-Type", ct, sizeof ct));
    ASSERT_EQ(strncmp(ct, "text/plain; version=0.0.4", 25), 0);
    struct prom_doc d;
    if (prom_parse(r.body, r.body_len, &d, err, sizeof err) != 0)
        test__fail(__FILE__, __LINE__, "/metrics does not parse: %s", err);
    double v = 0;
    ASSERT(prom_value(&d, &v, "http_requests_total", "method", "GET", "route", "/plaintext",
                      "status", "200", NULL));
    ASSERT_GE(v, 2); /* with and without X-Request-ID (the HEAD counts as method HEAD) */
    ASSERT(prom_value(&d, &v, "http_requests_total", "method", "POST", "route", "/echo", "status",
                      "200", NULL));
    ASSERT_GE(v, 3);
    ASSERT(prom_value(&d, &v, "http_requests_total", "method", "GET", "route", "unmatched",
                      "status", "404", NULL));
    ASSERT_NOT_NULL(prom_family(&d, "http_request_duration_seconds"));
    ASSERT_NOT_NULL(prom_family(&d, "http_requests_in_flight"));
    ASSERT(prom_value(&d, &v, "http_connections_open", NULL));
    ASSERT_GE(v, 1);
    ASSERT_NOT_NULL(prom_family(&d, "corio_tasks"));
    ASSERT(prom_value(&d, &v, "corio_demo_uptime_seconds", NULL));
    prom_free(&d);
    resp_free(&r);

    /* Big enough to be compressed for a client that asks. */
    http_get(port, "/metrics", "Accept-Encoding: gzip\r\n", &r);
    ASSERT_EQ(r.status, 200);
    assert_header(&r, "Content-Encoding", "gzip");
    ASSERT_EQ((unsigned char)r.body[0], 0x1f);
    ASSERT_EQ((unsigned char)r.body[1], 0x8b);
    resp_free(&r);
}

/* Every line the server wrote on stderr is one JSON object; the access log is among them. */
static void check_log(const struct child *c)
{
    char *err = child_stderr(c);
    size_t requests = 0;
    for (char *line = err, *nl; *line; line = nl + 1) {
        nl = strchr(line, '\n');
        ASSERT_NOT_NULL(nl);
        char why[200];
        if (json_validate(line, (size_t)(nl - line), why, sizeof why) != 0)
            test__fail(__FILE__, __LINE__, "log line is not JSON (%s): %.*s", why, (int)(nl - line),
                       line);
        if (memmem(line, (size_t)(nl - line), "\"route\":\"/plaintext\"", 20))
            requests++;
    }
    ASSERT_GE(requests, 2);
    ASSERT_NOT_NULL(strstr(err, "\"request_id\":\"trace-me-123\""));
    free(err);
}

TEST_TIMEOUT(serves_every_endpoint_then_exits_0_on_sigint, 120)
{
    struct child c;
    int port = start_server(&c, (const char *const[]){"--workers", "2", NULL}, NULL);
    check_plaintext_json_echo(port);
    check_health(port, 2);
    check_routing_and_page(port);
    check_debug_tasks(port, 2);
    check_metrics(port);
    ASSERT_EQ(kill(c.pid, SIGINT), 0);
    ASSERT_EQ(child_wait(&c, 20), 0);
    check_log(&c);
    child_cleanup(&c);
}

TEST_TIMEOUT(settings_come_from_env_and_flags_win, 60)
{
    int port = free_port();
    char penv[32];
    snprintf(penv, sizeof penv, "PORT=%d", port);
    struct child c;
    /* WORKERS and RATE_LIMIT from the environment; PORT from it too; HOST as well. */
    child_start(&c, NULL,
                (const char *const[]){"HOST=127.0.0.1", penv, "WORKERS=3", "RATE_LIMIT=0",
                                      "LOG_LEVEL=warn", NULL});
    wait_ready(&c, port);
    check_health(port, 3);
    ASSERT_EQ(kill(c.pid, SIGTERM), 0);
    ASSERT_EQ(child_wait(&c, 20), 0);
    char *err = child_stderr(&c);
    ASSERT_EQ(strstr(err, "\"msg\":\"request\""), NULL); /* warn: no access log */
    free(err);
    child_cleanup(&c);

    /* A flag wins over its variable, which is then not even looked at. */
    port = free_port();
    char ps[16];
    snprintf(ps, sizeof ps, "%d", port);
    child_start(&c, (const char *const[]){"--port", ps, "--workers", "1", NULL},
                (const char *const[]){"HOST=127.0.0.1", "PORT=abc", "WORKERS=9", NULL});
    wait_ready(&c, port);
    check_health(port, 1);
    ASSERT_EQ(kill(c.pid, SIGTERM), 0);
    ASSERT_EQ(child_wait(&c, 20), 0);
    child_cleanup(&c);
}

TEST_TIMEOUT(rate_limit_answers_429_but_not_on_health, 60)
{
    struct child c;
    int port =
        start_server(&c, (const char *const[]){"--workers", "1", "--rate-limit", "1", NULL}, NULL);
    /* One request per second with a burst of one: of five quick requests, at least one is
     * refused however slowly this machine runs them (short of a second apart each). */
    int refused = 0;
    for (int i = 0; i < 5; i++) {
        struct resp r;
        http_get(port, "/plaintext", NULL, &r);
        ASSERT(r.status == 200 || r.status == 429);
        if (r.status == 429) {
            refused++;
            char v[32];
            ASSERT(header(r.head, "Retry-After", v, sizeof v));
        }
        resp_free(&r);
    }
    ASSERT_GE(refused, 1);
    for (int i = 0; i < 5; i++) {
        struct resp r;
        http_get(port, "/health", NULL, &r);
        ASSERT_EQ(r.status, 200);
        resp_free(&r);
    }
    ASSERT_EQ(kill(c.pid, SIGTERM), 0);
    ASSERT_EQ(child_wait(&c, 20), 0);
    child_cleanup(&c);
}

/* Reads from fd until the peer closes it; fails on data or a timeout. */
static void expect_closed(int fd)
{
    char b[256];
    ssize_t n = recv(fd, b, sizeof b, 0);
    if (n != 0)
        test__fail(__FILE__, __LINE__, "expected the server to close the idle connection: %zd %s",
                   n, n < 0 ? strerror(errno) : "bytes");
}

TEST_TIMEOUT(sigterm_drains_a_request_in_flight_and_exits_0, 60)
{
    struct child c;
    int port = start_server(&c, (const char *const[]){"--workers", "2", NULL}, NULL);

    /* An idle keep-alive connection: it has had one answer and waits for more. */
    int idle = connect_port(port);
    ASSERT_GE(idle, 0);
    static const char get[] = "GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n";
    send_all(idle, get, sizeof get - 1);
    char buf[4096];
    ssize_t n = recv(idle, buf, sizeof buf - 1, 0);
    ASSERT_GT(n, 0);
    buf[n] = 0;
    ASSERT_NOT_NULL(strstr(buf, "Hello, World!"));

    /* A request in flight: the 100 Continue says its handler is reading the body. */
    int busy = connect_port(port);
    ASSERT_GE(busy, 0);
    static const char post[] = "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n"
                               "Content-Length: 10\r\nExpect: 100-continue\r\n\r\n";
    send_all(busy, post, sizeof post - 1);
    n = recv(busy, buf, sizeof buf - 1, 0);
    ASSERT_GT(n, 0);
    buf[n] = 0;
    ASSERT_EQ(strncmp(buf, "HTTP/1.1 100 Continue\r\n\r\n", 25), 0);
    send_all(busy, "01234", 5);

    ASSERT_EQ(kill(c.pid, SIGTERM), 0);
    /* The drain closes the idle connection: from then on the server is draining. */
    expect_closed(idle);
    close(idle);
    /* The request in flight still completes, and the connection is closed after it. */
    send_all(busy, "56789", 5);
    size_t len;
    char *raw = read_to_eof(busy, &len);
    close(busy);
    struct resp r;
    parse_resp(raw, len, &r);
    free(raw);
    ASSERT_EQ(r.status, 200);
    ASSERT_STREQ(r.body, "0123456789");
    char conn[32];
    if (header(r.head, "Connection", conn, sizeof conn))
        ASSERT_STREQ(conn, "close");
    resp_free(&r);

    ASSERT_EQ(child_wait(&c, 20), 0);
    char *err = child_stderr(&c);
    ASSERT_NOT_NULL(strstr(err, "\"msg\":\"draining\""));
    free(err);
    child_cleanup(&c);
}
