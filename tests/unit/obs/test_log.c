/* SPDX-License-Identifier: MIT */
/* The JSON-lines logger (runs under TSan: a writer thread and several producers): JSON escaping
 * of hostile strings, every line valid JSON with its strings round-tripping, the request id from
 * the task-local key, level filtering from LOG_LEVEL, cutting of long entries, a pipe nobody
 * reads (the caller never blocks, drops are counted and reported once space returns), stop on a
 * stuck fd, concurrent producers, the synchronous fatal line, and option errors.
 */
#include "test.h"

#include "harness/json_check.h"
#include "obs/obs_int.h"

#include "corio/core.h"
#include "corio/obs.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <sys/mman.h>
#include <unistd.h>

/* ---- helpers ----------------------------------------------------------------------------------
 */

static int mem_fd(void)
{
    int fd = memfd_create("corio-log", MFD_CLOEXEC);
    ASSERT_GE(fd, 0);
    return fd;
}

/* Everything written to fd so far (a memfd), NUL-terminated; the caller frees it. */
static char *slurp(int fd, size_t *len)
{
    off_t end = lseek(fd, 0, SEEK_END);
    ASSERT_GE(end, 0);
    char *buf = malloc((size_t)end + 1);
    ASSERT_NOT_NULL(buf);
    ASSERT_EQ(pread(fd, buf, (size_t)end, 0), end);
    buf[end] = 0;
    *len = (size_t)end;
    return buf;
}

struct lines {
    const char *p[20000];
    size_t len[20000];
    size_t n;
};

/* Splits buf into lines, checking that each is a valid JSON object with the standard members
 * and that the text ends with a newline. */
static void split_check(const char *buf, size_t len, struct lines *ls)
{
    ls->n = 0;
    for (const char *s = buf, *e = buf + len; s < e;) {
        const char *nl = memchr(s, '\n', (size_t)(e - s));
        ASSERT_NOT_NULL(nl);
        char err[128];
        if (json_validate(s, (size_t)(nl - s), err, sizeof err) != 0) {
            fprintf(stderr, "bad line: %.*s\n%s\n", (int)(nl - s), s, err);
            ASSERT(!"invalid JSON line");
        }
        ASSERT_EQ(json_member_kind(s, (size_t)(nl - s), "ts"), 's');
        ASSERT_EQ(json_member_kind(s, (size_t)(nl - s), "level"), 's');
        ASSERT_EQ(json_member_kind(s, (size_t)(nl - s), "sub"), 's');
        ASSERT_EQ(json_member_kind(s, (size_t)(nl - s), "msg"), 's');
        char ts[64];
        ASSERT_EQ(json_get_string(s, (size_t)(nl - s), "ts", ts, sizeof ts), 24);
        ASSERT(ts[4] == '-' && ts[10] == 'T' && ts[19] == '.' && ts[23] == 'Z');
        ASSERT_LT(ls->n, sizeof ls->p / sizeof ls->p[0]);
        ls->p[ls->n] = s;
        ls->len[ls->n++] = (size_t)(nl - s);
        s = nl + 1;
    }
}

static long get(const struct lines *ls, size_t i, const char *key, char *out, size_t cap)
{
    return json_get_string(ls->p[i], ls->len[i], key, out, cap);
}

static void start_on(int fd, const char *level)
{
    struct corio_logger_opts o = {.fd = fd, .level = level};
    ASSERT_EQ(corio_logger_start(&o), 0);
}

/* ---- escaping ---------------------------------------------------------------------------------
 */

static void expect_escape(const char *in, size_t n, const char *want)
{
    char out[256];
    size_t used;
    size_t w = corio__json_escape(out, sizeof out, in, n, &used);
    out[w] = 0;
    ASSERT_EQ(used, n);
    ASSERT_STREQ(out, want);
}

TEST(json_escape_of_hostile_strings)
{
    expect_escape("plain", 5, "plain");
    expect_escape("q\"b\\s/", 6, "q\\\"b\\\\s/");
    expect_escape("\n\r\t\b\f", 5, "\\n\\r\\t\\b\\f");
    expect_escape("\x01\x1f\x7f", 3, "\\u0001\\u001f\\u007f");
    expect_escape("nul\0in", 6, "nul\\u0000in");
    /* Valid UTF-8 passes through: 2, 3 and 4 bytes, and the largest code point. */
    expect_escape("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf", 13,
                  "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf");
    /* Each byte that does not start a valid sequence becomes \ufffd. */
    expect_escape("\xff", 1, "\\ufffd");
    expect_escape("\x80", 1, "\\ufffd");                                  /* stray continuation */
    expect_escape("\xc0\xaf", 2, "\\ufffd\\ufffd");                       /* overlong '/' */
    expect_escape("\xe0\x80\xaf", 3, "\\ufffd\\ufffd\\ufffd");            /* overlong */
    expect_escape("\xed\xa0\x80", 3, "\\ufffd\\ufffd\\ufffd");            /* surrogate D800 */
    expect_escape("\xf4\x90\x80\x80", 4, "\\ufffd\\ufffd\\ufffd\\ufffd"); /* > U+10FFFF */
    expect_escape("\xe2\x82", 2, "\\ufffd\\ufffd");                       /* truncated */
    expect_escape("a\xe2\x82"
                  "b",
                  4, "a\\ufffd\\ufffdb");
    expect_escape("\xf5\x80", 2, "\\ufffd\\ufffd");
}

TEST(json_escape_never_splits_a_unit)
{
    char out[16];
    size_t used;
    ASSERT_EQ(corio__json_escape(out, 3, "ab\"", 3, &used), 2); /* \" needs 2 */
    ASSERT_EQ(used, 2);
    ASSERT_EQ(corio__json_escape(out, 5, "\x01", 1, &used), 0); /* \u0001 needs 6 */
    ASSERT_EQ(used, 0);
    ASSERT_EQ(corio__json_escape(out, 3, "\xe2\x82\xac", 3, &used), 3);
    ASSERT_EQ(corio__json_escape(out, 2, "\xe2\x82\xac", 3, &used), 0);
    ASSERT_EQ(used, 0);
}

/* ---- lines ------------------------------------------------------------------------------------
 */

TEST(every_line_is_valid_json_and_strings_round_trip)
{
    int fd = mem_fd();
    start_on(fd, "debug");
    char all[256];
    for (int i = 1; i < 256; i++)
        all[i - 1] = (char)i;
    all[255] = 0;
    corio_log(CORIO_LOG_DEBUG, "core", "plain %d", 1);
    corio_log(CORIO_LOG_INFO, "we\"ird\nsub", "%s", all);
    corio_log_json(CORIO_LOG_WARN, "http", "request", CORIO_LOG_STR("method", "GET"),
                   CORIO_LOG_STRN("path", "/a\0b\"c", 6), CORIO_LOG_INT("status", -42),
                   CORIO_LOG_UINT("bytes", UINT64_MAX), CORIO_LOG_DBL("duration_s", 0.25),
                   CORIO_LOG_DBL("nan", NAN), CORIO_LOG_BOOL("ok", true),
                   CORIO_LOG_STR("none", NULL), CORIO_LOG_STR("k\"ey\x01", "v"));
    corio_log(CORIO_LOG_ERROR, "core", "%s", "");
    corio_logger_stop();

    size_t len;
    char *buf = slurp(fd, &len);
    static struct lines ls;
    split_check(buf, len, &ls);
    ASSERT_EQ(ls.n, 4);
    char s[1024];
    ASSERT_EQ(get(&ls, 0, "level", s, sizeof s), 5);
    ASSERT_STREQ(s, "debug");
    ASSERT_EQ(get(&ls, 0, "msg", s, sizeof s), 7);
    ASSERT_STREQ(s, "plain 1");
    ASSERT(strncmp(ls.p[0], "{\"ts\":\"", 7) == 0); /* the documented member order */
    ASSERT_NOT_NULL(
        strstr(ls.p[0], "\",\"level\":\"debug\",\"sub\":\"core\",\"msg\":\"plain 1\"}"));

    /* Every byte 1..255: ASCII comes back as it was, every byte >= 0x80 (none of them forms a
     * valid sequence with its neighbour) as U+FFFD. */
    char want[1024];
    size_t wl = 0;
    for (int i = 1; i < 256; i++) {
        if (i < 0x80) {
            want[wl++] = (char)i;
        } else {
            memcpy(want + wl, "\xef\xbf\xbd", 3);
            wl += 3;
        }
    }
    ASSERT_EQ(get(&ls, 1, "msg", s, sizeof s), (long)wl);
    ASSERT_MEMEQ(s, want, wl);
    ASSERT_EQ(get(&ls, 1, "sub", s, sizeof s), 10);
    ASSERT_STREQ(s, "we\"ird\nsub");

    const char *l2 = ls.p[2];
    size_t n2 = ls.len[2];
    ASSERT_EQ(get(&ls, 2, "level", s, sizeof s), 4);
    ASSERT_STREQ(s, "warn");
    ASSERT_EQ(get(&ls, 2, "method", s, sizeof s), 3);
    ASSERT_EQ(get(&ls, 2, "path", s, sizeof s), 6);
    ASSERT_MEMEQ(s, "/a\0b\"c", 6);
    double d;
    ASSERT(json_get_number(l2, n2, "status", &d));
    ASSERT_EQ(d, -42);
    ASSERT_NOT_NULL(strstr(l2, "\"bytes\":18446744073709551615"));
    ASSERT(json_get_number(l2, n2, "duration_s", &d));
    ASSERT(d == 0.25);
    ASSERT_EQ(json_member_kind(l2, n2, "nan"), 'z');
    ASSERT_EQ(json_member_kind(l2, n2, "ok"), 't');
    ASSERT_EQ(json_member_kind(l2, n2, "none"), 'z');
    ASSERT_EQ(json_member_kind(l2, n2, "k\"ey\x01"), 's');
    ASSERT_EQ(json_member_kind(l2, n2, "request_id"), 0); /* not a task */
    ASSERT_EQ(get(&ls, 3, "msg", s, sizeof s), 0);
    free(buf);
    close(fd);
}

/* ---- request id -------------------------------------------------------------------------------
 */

static int child_logs(void *arg)
{
    (void)arg;
    corio_log(CORIO_LOG_INFO, "test", "from the child");
    return 0;
}

static int request_main(void *arg)
{
    (void)arg;
    corio_log(CORIO_LOG_INFO, "test", "before");
    ASSERT_EQ(corio_local_set_copy(CORIO_LOG_REQUEST_ID, "req-\"42\"", 8), 0);
    corio_log(CORIO_LOG_INFO, "test", "after");
    corio_log_json(CORIO_LOG_INFO, "http", "access", CORIO_LOG_INT("status", 200));
    corio_task *t;
    ASSERT_EQ(corio_spawn_task(NULL, child_logs, NULL, &t), 0);
    ASSERT_EQ(corio_task_join(t, NULL), 0);
    return 0;
}

TEST(request_id_comes_from_the_task_local_key)
{
    int fd = mem_fd();
    start_on(fd, "info");
    struct corio_run_opts o = {.virtual_time = true, .watchdog_ns = -1};
    ASSERT_EQ(corio_run(&o, request_main, NULL), 0);
    corio_logger_stop();
    size_t len;
    char *buf = slurp(fd, &len);
    static struct lines ls;
    split_check(buf, len, &ls);
    char s[256];
    size_t found = 0;
    for (size_t i = 0; i < ls.n; i++) {
        get(&ls, i, "msg", s, sizeof s);
        if (strcmp(s, "before") == 0) {
            ASSERT_EQ(json_member_kind(ls.p[i], ls.len[i], "request_id"), 0);
            found++;
        } else if (strcmp(s, "after") == 0 || strcmp(s, "access") == 0 ||
                   strcmp(s, "from the child") == 0) {
            ASSERT_EQ(get(&ls, i, "request_id", s, sizeof s), 8);
            ASSERT_STREQ(s, "req-\"42\"");
            found++;
        }
    }
    ASSERT_EQ(found, 4);
    /* Fields come after the request id. */
    ASSERT_NOT_NULL(
        strstr(buf, "\"msg\":\"access\",\"request_id\":\"req-\\\"42\\\"\",\"status\":200}"));
    free(buf);
    close(fd);
}

/* ---- levels -----------------------------------------------------------------------------------
 */

static void log_each_level(void)
{
    corio_log(CORIO_LOG_DEBUG, "t", "d");
    corio_log(CORIO_LOG_INFO, "t", "i");
    corio_log_json(CORIO_LOG_INFO, "t", "ij", CORIO_LOG_BOOL("x", true));
    corio_log(CORIO_LOG_WARN, "t", "w");
    corio_log(CORIO_LOG_ERROR, "t", "e");
}

static size_t count_lines_of(int fd, char *levels, size_t cap)
{
    size_t len;
    char *buf = slurp(fd, &len);
    static struct lines ls;
    split_check(buf, len, &ls);
    levels[0] = 0;
    for (size_t i = 0; i < ls.n; i++) {
        char s[16];
        get(&ls, i, "level", s, sizeof s);
        strncat(levels, s, cap - strlen(levels) - 2);
        strcat(levels, " ");
    }
    free(buf);
    return ls.n;
}

TEST(level_filtering_from_LOG_LEVEL)
{
    char levels[256];
    int fd = mem_fd();
    ASSERT_EQ(setenv("LOG_LEVEL", "warn", 1), 0);
    start_on(fd, NULL);
    ASSERT(!corio_log_enabled(CORIO_LOG_INFO));
    ASSERT(corio_log_enabled(CORIO_LOG_WARN));
    log_each_level();
    corio_logger_stop();
    ASSERT_EQ(count_lines_of(fd, levels, sizeof levels), 2);
    ASSERT_STREQ(levels, "warn error ");
    close(fd);

    fd = mem_fd();
    ASSERT_EQ(setenv("LOG_LEVEL", "DEBUG", 1), 0);
    start_on(fd, NULL);
    log_each_level();
    corio_logger_stop();
    ASSERT_EQ(count_lines_of(fd, levels, sizeof levels), 5);
    close(fd);

    fd = mem_fd();
    ASSERT_EQ(setenv("LOG_LEVEL", "", 1), 0); /* empty: info */
    start_on(fd, NULL);
    log_each_level();
    corio_logger_stop();
    ASSERT_EQ(count_lines_of(fd, levels, sizeof levels), 4);
    close(fd);

    fd = mem_fd();
    ASSERT_EQ(setenv("LOG_LEVEL", "error", 1), 0);
    start_on(fd, "Warning"); /* the option wins over the environment */
    log_each_level();
    corio_logger_stop();
    ASSERT_EQ(count_lines_of(fd, levels, sizeof levels), 2);
    close(fd);

    ASSERT_EQ(setenv("LOG_LEVEL", "verbose", 1), 0);
    ASSERT_EQ(corio_logger_start(&(struct corio_logger_opts){.fd = 2}), -EINVAL);
    ASSERT_EQ(corio_logger_start(&(struct corio_logger_opts){.fd = 2, .level = "loud"}), -EINVAL);
}

/* ---- long entries -----------------------------------------------------------------------------
 */

TEST(long_entries_are_cut_and_stay_valid_json)
{
    enum { MAX = 256 };
    int fd = mem_fd();
    struct corio_logger_opts o = {.fd = fd, .level = "debug", .max_line = MAX};
    ASSERT_EQ(corio_logger_start(&o), 0);
    char big[600];
    /* Every length of plain text, of 6-byte escapes, of 2-byte escapes, of multi-byte UTF-8,
     * in the message or in a field after it. */
    static const char *const fill[] = {"x", "\x01", "\"", "\xe2\x82\xac", "\xff"};
    for (size_t f = 0; f < sizeof fill / sizeof fill[0]; f++) {
        for (size_t n = 0; n < 300; n += 1 + n / 40) {
            size_t fl = strlen(fill[f]), k = 0;
            for (size_t i = 0; i < n && k + fl < sizeof big; i++, k += fl)
                memcpy(big + k, fill[f], fl);
            big[k] = 0;
            corio_log(CORIO_LOG_INFO, "cut", "%s", big);
            corio_log_json(CORIO_LOG_INFO, "cut", "fields", CORIO_LOG_STR("a", big),
                           CORIO_LOG_INT("after", 1));
        }
    }
    corio_logger_stop();
    size_t len;
    char *buf = slurp(fd, &len);
    static struct lines ls;
    split_check(buf, len, &ls);
    size_t cut = 0;
    for (size_t i = 0; i < ls.n; i++) {
        ASSERT_LE(ls.len[i] + 1, MAX);
        if (json_member_kind(ls.p[i], ls.len[i], "truncated") == 't') {
            /* A cut message ends in "..."; a fields line lost at least "after" (its "a" may
             * have been cut, or fit whole with no room left for "after"). */
            cut++;
            char s[MAX];
            long sl = get(&ls, i, "msg", s, sizeof s);
            if (json_member_kind(ls.p[i], ls.len[i], "a") == 0 && strcmp(s, "fields") != 0)
                ASSERT(sl >= 3 && strcmp(s + sl - 3, "...") == 0);
            ASSERT_EQ(json_member_kind(ls.p[i], ls.len[i], "after"), 0);
        }
    }
    ASSERT_GT(cut, 100);
    struct corio_logger_stats st;
    corio_logger_stats(&st);
    ASSERT_EQ(st.dropped, 0);
    ASSERT_EQ(st.lines, ls.n);
    free(buf);
    close(fd);
}

/* ---- a pipe nobody reads ----------------------------------------------------------------------
 */

enum { FLOOD = 3000 };

static int flood_main(void *arg)
{
    (void)arg;
    /* Far more than the pipe (64 KiB) and the queue (16 KiB) hold: none of these may block. */
    for (int i = 0; i < FLOOD; i++)
        corio_log(CORIO_LOG_INFO, "flood",
                  "message %05d padded to about a hundred and fifty bytes "
                  "of JSON once the envelope is added",
                  i);
    return 0;
}

TEST(a_pipe_nobody_reads_never_blocks_the_caller_and_drops_are_reported)
{
    int p[2];
    ASSERT_EQ(pipe(p), 0);
    struct corio_logger_opts o = {.fd = p[1], .queue_bytes = 16384, .max_line = 1024};
    ASSERT_EQ(corio_logger_start(&o), 0);
    struct corio_run_opts ro = {.virtual_time = true, .watchdog_ns = -1};
    ASSERT_EQ(corio_run(&ro, flood_main, NULL), 0);
    struct corio_logger_stats st;
    corio_logger_stats(&st);
    ASSERT_GT(st.dropped, 0);
    ASSERT_LT(st.dropped, FLOOD);
    uint64_t dropped = st.dropped;

    /* Now read: everything queued comes out, then the notice(s) for exactly the drops. */
    static char buf[1 << 20];
    size_t len = 0;
    uint64_t reported = 0, normal = 0;
    while (reported < dropped || normal < FLOOD - dropped) {
        struct pollfd pf = {.fd = p[0], .events = POLLIN};
        ASSERT_EQ(poll(&pf, 1, 10000), 1);
        ssize_t n = read(p[0], buf + len, sizeof buf - len);
        ASSERT_GT(n, 0);
        len += (size_t)n;
        reported = normal = 0;
        const char *s = buf;
        for (const char *nl; (nl = memchr(s, '\n', len - (size_t)(s - buf))) != NULL; s = nl + 1) {
            double d;
            if (json_get_number(s, (size_t)(nl - s), "dropped", &d))
                reported += (uint64_t)d;
            else
                normal++;
        }
    }
    corio_logger_stop();
    static struct lines ls;
    split_check(buf, len, &ls);
    ASSERT_EQ(reported, dropped);
    ASSERT_EQ(normal, FLOOD - dropped);
    /* The first lines came out in order; the notice says what happened. */
    char s[256];
    ASSERT_GE(get(&ls, 0, "msg", s, sizeof s), 0);
    ASSERT(strncmp(s, "message 00000", 13) == 0);
    bool notice = false;
    for (size_t i = 0; i < ls.n && !notice; i++) {
        get(&ls, i, "msg", s, sizeof s);
        if (strncmp(s, "dropped ", 8) == 0) {
            notice = true;
            get(&ls, i, "level", s, sizeof s);
            ASSERT_STREQ(s, "warn");
            get(&ls, i, "sub", s, sizeof s);
            ASSERT_STREQ(s, "obs");
        }
    }
    ASSERT(notice);
    close(p[0]);
    close(p[1]);
}

TEST(stop_gives_up_on_a_stuck_fd_after_the_flush_timeout)
{
    int p[2];
    ASSERT_EQ(pipe(p), 0);
    struct corio_logger_opts o = {
        .fd = p[1], .queue_bytes = 1 << 20, .flush_timeout_ns = 20 * CORIO_MS};
    ASSERT_EQ(corio_logger_start(&o), 0);
    for (int i = 0; i < 2000; i++)
        corio_log(CORIO_LOG_INFO, "stuck", "line %d with some padding to fill the pipe quickly", i);
    corio_logger_stop(); /* returns although nobody ever reads */
    struct corio_logger_stats st;
    corio_logger_stats(&st);
    ASSERT_GT(st.dropped, 0); /* what was still queued was discarded, and counted */
    ASSERT_EQ(st.queued, 0);
    ASSERT_LE(st.written, 65536);
    close(p[0]);
    close(p[1]);
}

TEST(a_closed_pipe_counts_write_errors_without_sigpipe)
{
    int p[2];
    ASSERT_EQ(pipe(p), 0);
    close(p[0]); /* writing now gives EPIPE (and SIGPIPE, which the writer thread blocks) */
    start_on(p[1], "info");
    for (int i = 0; i < 10; i++)
        corio_log(CORIO_LOG_INFO, "epipe", "line %d", i);
    corio_logger_stop();
    struct corio_logger_stats st;
    corio_logger_stats(&st);
    ASSERT_GT(st.write_errors, 0);
    ASSERT_EQ(st.written, 0);
    ASSERT_EQ(st.dropped, 10); /* lost to the errors */
    close(p[1]);
}

/* ---- producers on several threads -------------------------------------------------------------
 */

enum { PRODUCERS = 4, PER_PRODUCER = 2000 };

static void *producer(void *arg)
{
    int id = (int)(intptr_t)arg;
    for (int i = 0; i < PER_PRODUCER; i++)
        corio_log_json(CORIO_LOG_INFO, "par", "tick", CORIO_LOG_INT("t", id),
                       CORIO_LOG_INT("i", i));
    return NULL;
}

TEST_TIMEOUT(lines_of_concurrent_producers_never_interleave, 120)
{
    int fd = mem_fd();
    struct corio_logger_opts o = {.fd = fd, .level = "info", .queue_bytes = 8 << 20};
    ASSERT_EQ(corio_logger_start(&o), 0);
    pthread_t t[PRODUCERS];
    for (int i = 0; i < PRODUCERS; i++)
        ASSERT_EQ(pthread_create(&t[i], NULL, producer, (void *)(intptr_t)i), 0);
    for (int i = 0; i < PRODUCERS; i++)
        ASSERT_EQ(pthread_join(t[i], NULL), 0);
    corio_logger_stop();
    size_t len;
    char *buf = slurp(fd, &len);
    static struct lines ls;
    split_check(buf, len, &ls);
    ASSERT_EQ(ls.n, PRODUCERS * PER_PRODUCER);
    int next[PRODUCERS] = {0};
    for (size_t k = 0; k < ls.n; k++) {
        double tid, i;
        ASSERT(json_get_number(ls.p[k], ls.len[k], "t", &tid));
        ASSERT(json_get_number(ls.p[k], ls.len[k], "i", &i));
        ASSERT_EQ(i, next[(int)tid]++); /* each thread's lines in its order */
    }
    struct corio_logger_stats st;
    corio_logger_stats(&st);
    ASSERT_EQ(st.written, len);
    ASSERT_EQ(st.dropped, 0);
    free(buf);
    close(fd);
}

/* ---- fatal, options, restart, fallback --------------------------------------------------------
 */

TEST_EXPECT_DEATH(fatal_line_is_written_before_the_abort, SIGABRT,
                  "\"level\":\"fatal\",\"sub\":\"obs\",\"msg\":\"assertion failed: n == m->nlabels")
{
    start_on(2, "info");
    corio_log(CORIO_LOG_INFO, "test", "about to misuse the metrics API");
    corio_metrics *r;
    corio_counter *c;
    ASSERT_EQ(corio_metrics_new(NULL, &r), 0);
    ASSERT_EQ(corio_counter_register(r, "x_total", NULL, "a", &c), 0);
    corio_counter_labelsv(c, NULL, 0);
}

TEST(start_rejects_bad_options_and_a_second_start)
{
    ASSERT_EQ(corio_logger_start(&(struct corio_logger_opts){.fd = -1}), -EINVAL);
    ASSERT_EQ(corio_logger_start(&(struct corio_logger_opts){.fd = 2, .max_line = 100}), -EINVAL);
    ASSERT_EQ(corio_logger_start(
                  &(struct corio_logger_opts){.fd = 2, .max_line = 4096, .queue_bytes = 8192}),
              -EINVAL);
    ASSERT_EQ(corio_logger_start(&(struct corio_logger_opts){.fd = 2, .flush_timeout_ns = -1}),
              -EINVAL);
    ASSERT_EQ(corio_logger_start(&(struct corio_logger_opts){.fd = 987}), -EBADF);
    int fd = mem_fd();
    start_on(fd, "info");
    ASSERT_EQ(corio_logger_start(&(struct corio_logger_opts){.fd = fd}), -EALREADY);
    corio_logger_stop();
    corio_logger_stop(); /* no-op */
    close(fd);
}

TEST(the_logger_restarts_with_fresh_counters)
{
    for (int round = 0; round < 3; round++) {
        int fd = mem_fd();
        start_on(fd, "info");
        for (int i = 0; i <= round; i++)
            corio_log(CORIO_LOG_INFO, "r", "round %d line %d", round, i);
        corio_logger_stop();
        struct corio_logger_stats st;
        corio_logger_stats(&st);
        ASSERT_EQ(st.lines, round + 1);
        size_t len;
        char *buf = slurp(fd, &len);
        static struct lines ls;
        split_check(buf, len, &ls);
        ASSERT_EQ(ls.n, round + 1);
        ASSERT_EQ(st.written, len);
        free(buf);
        close(fd);
    }
}

TEST(fields_without_a_logger_go_through_the_core_hook)
{
    int p[2];
    ASSERT_EQ(pipe(p), 0);
    int saved = dup(2);
    ASSERT_GE(saved, 0);
    ASSERT_EQ(dup2(p[1], 2), 2);
    corio_log_json(CORIO_LOG_INFO, "http", "req", CORIO_LOG_STR("a", "b\"c"),
                   CORIO_LOG_INT("n", 1));
    corio_log_json(CORIO_LOG_DEBUG, "http", "filtered", CORIO_LOG_INT("n", 2));
    ASSERT_EQ(dup2(saved, 2), 2);
    close(saved);
    close(p[1]);
    char buf[512];
    ssize_t n = read(p[0], buf, sizeof buf - 1);
    ASSERT_GT(n, 0);
    buf[n] = 0;
    ASSERT_STREQ(buf, "corio info [http] req {\"a\":\"b\\\"c\",\"n\":1}\n");
    close(p[0]);
}
