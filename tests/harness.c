/* SPDX-License-Identifier: MIT */
/* tests/harness.c: main() for every unit-test binary (in the spirit of libuv's test/runner.c).
 *
 * Each registered case runs in its own forked child, so a crash, a leak report at exit or a
 * hang stays with that case. The child's stderr goes through a pipe: the parent forwards it
 * to its own stderr and, for TEST_EXPECT_DEATH, searches it for the expected text. A second
 * pipe carries a one-line note from the child ('S' + reason for SKIP, 'F' for a failed
 * assertion), which is how an assertion failure inside an expected-death case is told apart
 * from the expected death. A case that outlives its timeout (30 s or its TEST_TIMEOUT value,
 * times CORIO_TEST_TIMEOUT_MULT) is killed with SIGKILL.
 *
 * Usage: test_x [--list] [--no-fork] [substring...]
 *   substrings select the cases whose names contain any of them; --no-fork (or
 *   CORIO_TEST_NOFORK=1) runs the cases in this process, for gdb: no timeout, a failure aborts
 *   the run, and expected-death cases are skipped.
 * Output: one line per case (ok N - name | not ok N - name (why) | skip N - name: reason),
 * then "P passed, F failed, S skipped". The exit status is 0 exactly when nothing failed.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* pipe2, memmem */
#endif

#include "test.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { MAX_TESTS = 4096, MAX_CAPTURE = 4 << 20, EXIT_SKIP = 77 };

enum verdict { PASS, FAIL, SKIPPED };

struct outcome {
    enum verdict verdict;
    char why[320]; /* failure detail or skip reason */
};

static struct test_case *tests[MAX_TESTS];
static size_t ntests;
static int note_fd = -1;          /* child only: write end of the note pipe */
static const char *current = "?"; /* name of the running case, for failure messages */
static jmp_buf skip_jump;         /* --no-fork: SKIP() lands here */
static char skip_reason[256];

void test__register(struct test_case *tc)
{
    if (ntests == MAX_TESTS) {
        fputs("harness: too many test cases\n", stderr);
        abort();
    }
    tests[ntests++] = tc;
}

static void send_note(char kind, const char *text)
{
    char buf[300];
    int n = snprintf(buf, sizeof buf, "%c%s", kind, text);

    if (note_fd >= 0 && n > 0) {
        ssize_t r = write(note_fd, buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
        (void)r;
    }
}

void test__fail(const char *file, int line, const char *fmt, ...)
{
    va_list ap;

    fflush(stdout);
    fprintf(stderr, "%s:%d: in test %s: ", file, line, current);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    fflush(stderr);
    send_note('F', "");
    abort();
}

void test__skip(const char *file, int line, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(skip_reason, sizeof skip_reason, fmt, ap);
    va_end(ap);
    if (note_fd < 0)
        longjmp(skip_jump, 1);
    fprintf(stderr, "%s:%d: skipping %s: %s\n", file, line, current, skip_reason);
    send_note('S', skip_reason);
    fflush(NULL);
    _exit(EXIT_SKIP); /* not exit(): a case may skip half-way, holding memory on purpose */
}

const char *test__quote(const char *s, char *buf, size_t cap)
{
    size_t o = 0;

    if (s == NULL)
        return "NULL";
    buf[o++] = '"';
    for (; *s != '\0' && o + 8 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            o += (size_t)snprintf(buf + o, cap - o, "\\%c", c);
        else if (c < 0x20 || c >= 0x7f)
            o += (size_t)snprintf(buf + o, cap - o, "\\x%02x", c);
        else
            buf[o++] = (char)c;
    }
    snprintf(buf + o, cap - o, *s != '\0' ? "\"..." : "\"");
    return buf;
}

static void hex16(char *out, const unsigned char *p, size_t from, size_t to)
{
    for (size_t k = from; k < to; k++)
        snprintf(out + 3 * (k - from), 4, "%02x ", p[k]);
}

void test__fail_mem(const char *file, int line, const char *ea, const char *eb, const void *a,
                    const void *b, size_t n)
{
    const unsigned char *pa = a, *pb = b;
    char ha[16 * 3 + 1] = "", hb[16 * 3 + 1] = "";
    size_t i = 0, from, to;

    while (i < n && pa[i] == pb[i])
        i++;
    from = i & ~(size_t)15;
    to = from + 16 < n ? from + 16 : n;
    hex16(ha, pa, from, to);
    hex16(hb, pb, from, to);
    test__fail(file, line,
               "ASSERT_MEMEQ(%s, %s, %zu) failed at offset %zu\n    %s[%zu..] = %s\n"
               "    %s[%zu..] = %s",
               ea, eb, n, i, ea, from, ha, eb, from, hb);
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct capture {
    char *buf;
    size_t len, cap;
    int keep; /* only expected-death cases need the text */
};

/* Forwards what the child wrote to stderr; returns 0 at end of file, 1 otherwise. */
static int pump(int fd, struct capture *c)
{
    char chunk[4096];
    ssize_t n;

    while ((n = read(fd, chunk, sizeof chunk)) > 0) {
        for (ssize_t off = 0, w; off < n; off += w)
            if ((w = write(STDERR_FILENO, chunk + off, (size_t)(n - off))) <= 0)
                break;
        if (c->keep && c->len + (size_t)n <= MAX_CAPTURE) {
            if (c->len + (size_t)n > c->cap) {
                size_t cap = c->cap ? c->cap * 2 : 8192;
                while (cap < c->len + (size_t)n)
                    cap *= 2;
                char *p = realloc(c->buf, cap);
                if (p == NULL)
                    continue;
                c->buf = p;
                c->cap = cap;
            }
            memcpy(c->buf + c->len, chunk, (size_t)n);
            c->len += (size_t)n;
        }
    }
    return n == 0 ? 0 : 1;
}

static _Noreturn void child_main(const struct test_case *tc, int err_w, int note_w)
{
    if (dup2(err_w, STDERR_FILENO) < 0)
        _exit(125);
    close(err_w);
    note_fd = note_w;
    current = tc->name;
    if (tc->expect_signal != 0) { /* an expected crash should not leave a core file behind */
        struct rlimit none = {0, 0};
        setrlimit(RLIMIT_CORE, &none);
    }
    tc->fn();
    fflush(NULL);
    exit(0); /* exit(), not _exit(): LeakSanitizer checks at exit */
}

static void judge(const struct test_case *tc, int status, char note, const char *note_text,
                  const struct capture *cap, struct outcome *out)
{
    int sig = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;

    out->verdict = FAIL;
    if (note == 'F' && tc->expect_signal != 0) {
        snprintf(out->why, sizeof out->why, "assertion failed");
    } else if (code == EXIT_SKIP) {
        out->verdict = SKIPPED;
        snprintf(out->why, sizeof out->why, "%s", note == 'S' ? note_text : "exit status 77");
    } else if (tc->expect_signal != 0) {
        if (sig != tc->expect_signal)
            snprintf(out->why, sizeof out->why, "expected signal %d, got %s %d", tc->expect_signal,
                     sig ? "signal" : "exit", sig ? sig : code);
        else if (tc->expect_stderr != NULL &&
                 (cap->buf == NULL ||
                  memmem(cap->buf, cap->len, tc->expect_stderr, strlen(tc->expect_stderr)) == NULL))
            snprintf(out->why, sizeof out->why, "signal %d, but stderr lacks \"%s\"", sig,
                     tc->expect_stderr);
        else
            out->verdict = PASS;
    } else if (sig != 0) {
        snprintf(out->why, sizeof out->why, "signal %d", sig);
    } else if (code != 0) {
        snprintf(out->why, sizeof out->why, "exit %d", code);
    } else {
        out->verdict = PASS;
    }
}

static void run_forked(const struct test_case *tc, double timeout_s, struct outcome *out)
{
    int errp[2], notep[2], status = 0, efd, timed_out = 0;
    struct capture cap = {.keep = tc->expect_stderr != NULL};
    char note[300] = "";
    double deadline;
    pid_t pid;

    if (pipe2(errp, O_CLOEXEC) < 0 || pipe2(notep, O_CLOEXEC) < 0) {
        perror("harness: pipe2");
        exit(2);
    }
    fflush(NULL);
    if ((pid = fork()) < 0) {
        perror("harness: fork");
        exit(2);
    }
    if (pid == 0) {
        close(errp[0]);
        close(notep[0]);
        child_main(tc, errp[1], notep[1]);
    }
    close(errp[1]);
    close(notep[1]);
    efd = errp[0];
    fcntl(efd, F_SETFL, O_NONBLOCK); /* a grandchild may keep the write ends open */
    fcntl(notep[0], F_SETFL, O_NONBLOCK);
    deadline = now_s() + timeout_s;
    for (;;) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid || (r < 0 && errno != EINTR))
            break;
        double left = deadline - now_s();
        if (left <= 0) {
            kill(pid, SIGKILL);
            while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
            timed_out = 1;
            break;
        }
        /* Wake up now and then: a grandchild may hold the pipe open after the child exits. */
        int ms = efd < 0 ? 5 : left < 0.05 ? (int)(left * 1000) + 1 : 50;
        struct pollfd pfd = {.fd = efd, .events = POLLIN};
        if (poll(&pfd, efd < 0 ? 0 : 1, ms) > 0 && pump(efd, &cap) == 0)
            efd = -1;
    }
    pump(errp[0], &cap);
    close(errp[0]);
    ssize_t n = read(notep[0], note, sizeof note - 1);
    note[n > 0 ? n : 0] = '\0';
    close(notep[0]);

    if (timed_out) {
        out->verdict = FAIL;
        snprintf(out->why, sizeof out->why, "timeout after %gs", timeout_s);
    } else {
        judge(tc, status, note[0], note[0] ? note + 1 : "", &cap, out);
    }
    free(cap.buf);
}

static void run_in_process(const struct test_case *tc, struct outcome *out)
{
    out->verdict = SKIPPED;
    if (tc->expect_signal != 0) {
        snprintf(out->why, sizeof out->why, "expects signal %d; not run with --no-fork",
                 tc->expect_signal);
        return;
    }
    current = tc->name;
    if (setjmp(skip_jump) != 0) {
        snprintf(out->why, sizeof out->why, "%s", skip_reason);
        return;
    }
    tc->fn();
    out->verdict = PASS;
}

static int by_position(const void *a, const void *b)
{
    const struct test_case *x = *(const struct test_case *const *)a;
    const struct test_case *y = *(const struct test_case *const *)b;
    int c = strcmp(x->file, y->file);
    return c != 0 ? c : (x->line > y->line) - (x->line < y->line);
}

static int selected(const char *name, char **filters, int nfilters)
{
    for (int i = 0; i < nfilters; i++)
        if (strstr(name, filters[i]) != NULL)
            return 1;
    return nfilters == 0;
}

int main(int argc, char **argv)
{
    const char *env = getenv("CORIO_TEST_NOFORK");
    int list = 0, no_fork = env != NULL && strcmp(env, "1") == 0, nfilters = 0;
    int counts[3] = {0, 0, 0}, number = 0;
    double mult = 1.0;
    char *end;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--list") == 0) {
            list = 1;
        } else if (strcmp(argv[i], "--no-fork") == 0) {
            no_fork = 1;
        } else if (argv[i][0] == '-') {
            fprintf(stderr, "usage: %s [--list] [--no-fork] [name-substring...]\n", argv[0]);
            return 2;
        } else {
            argv[1 + nfilters++] = argv[i];
        }
    }
    if ((env = getenv("CORIO_TEST_TIMEOUT_MULT")) != NULL) {
        double m = strtod(env, &end);
        if (end != env && m > 0)
            mult = m;
    }
    qsort(tests, ntests, sizeof tests[0], by_position);
    setvbuf(stdout, NULL, _IOLBF, 0);

    for (size_t i = 0; i < ntests; i++) {
        const struct test_case *tc = tests[i];
        struct outcome out = {.verdict = PASS};

        if (!selected(tc->name, argv + 1, nfilters))
            continue;
        if (list) {
            puts(tc->name);
            continue;
        }
        number++;
        if (no_fork)
            run_in_process(tc, &out);
        else
            run_forked(tc, (tc->timeout_s > 0 ? tc->timeout_s : 30.0) * mult, &out);
        counts[out.verdict]++;
        if (out.verdict == PASS)
            printf("ok %d - %s\n", number, tc->name);
        else if (out.verdict == FAIL)
            printf("not ok %d - %s (%s)\n", number, tc->name, out.why);
        else
            printf("skip %d - %s: %s\n", number, tc->name, out.why);
    }
    if (!list)
        printf("%d passed, %d failed, %d skipped\n", counts[PASS], counts[FAIL], counts[SKIPPED]);
    return counts[FAIL] == 0 ? 0 : 1;
}
