/* SPDX-License-Identifier: MIT */
/* apps/corio-demo/config.c: corio-demo's settings from the environment and the command line,
 * and its --help and --version.
 *
 * Every setting has a flag and an environment variable (../shared/DESIGN.md, "Programs and
 * their command lines"); the environment is read first and flags override it, so
 * `PORT=9000 corio-demo --port 9001` listens on 9001. An empty environment variable counts as
 * unset (a common way to "unset" a variable in a compose file). Every value is checked here,
 * before anything starts: a bad one ends the program with exactly one line on stderr naming
 * the flag or variable, the value and what was expected, and exit status 2.
 *
 * Deliberately not here: resolving --host and checking that the port is free (main.c does that
 * just before starting, since it is about the machine rather than the syntax), and opening the
 * database or Redis (those layers do not exist yet: the URLs are only checked).
 */
#include "demo.h"

#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

enum setting_kind { S_HOST, S_PORT, S_WORKERS, S_DB, S_REDIS, S_RATE, S_LOG };

struct setting {
    const char *flag;
    const char *env;
    enum setting_kind kind;
};

/* clang-format off */
static const struct setting settings[] = {
    {"--host", "HOST", S_HOST},
    {"--port", "PORT", S_PORT},
    {"--workers", "WORKERS", S_WORKERS},
    {"--db", "DATABASE_URL", S_DB},
    {"--redis", "REDIS_URL", S_REDIS},
    {"--rate-limit", "RATE_LIMIT", S_RATE},
    {"--log-level", "LOG_LEVEL", S_LOG},
};
/* clang-format on */
#define NSETTINGS (sizeof settings / sizeof settings[0])

void demo_fail(const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    /* A value quoted in the message may hold a newline or an escape sequence; the promise is
     * one line, and a terminal should not interpret what a user typed by mistake. */
    for (char *p = msg; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '?';
    fprintf(stderr, DEMO_NAME ": %s\n", msg);
}

/* The CPUs this process may run on (what `taskset` allows), at least 1. */
static int cpu_count(void)
{
    cpu_set_t set;
    int n = 0;
    if (sched_getaffinity(0, sizeof set, &set) == 0)
        n = CPU_COUNT(&set);
    if (n <= 0) {
        long m = sysconf(_SC_NPROCESSORS_ONLN);
        n = m > 0 ? (int)(m < INT_MAX ? m : INT_MAX) : 1;
    }
    return n > DEMO_MAX_WORKERS ? DEMO_MAX_WORKERS : n;
}

/* A decimal integer in [min, max]: digits only (no sign, spaces or suffix). */
static bool parse_long(const char *s, long min, long max, long *out)
{
    if (!*s || strlen(s) > 18)
        return false;
    long v = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return false;
        v = v * 10 + (*p - '0');
    }
    if (v < min || v > max)
        return false;
    *out = v;
    return true;
}

static bool starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

static bool has_space_or_control(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s <= 0x20 || *s == 0x7f)
            return true;
    return false;
}

static bool valid_db_url(const char *v)
{
    if (has_space_or_control(v))
        return false;
    if (starts_with(v, "sqlite:"))
        return v[strlen("sqlite:")] != 0;
    return starts_with(v, "postgresql://") || starts_with(v, "postgres://");
}

static bool valid_redis_url(const char *v)
{
    if (has_space_or_control(v))
        return false;
    return starts_with(v, "redis://") || starts_with(v, "rediss://") || starts_with(v, "unix://");
}

static bool valid_log_level(const char *v)
{
    static const char *const levels[] = {"debug", "info", "warn", "warning", "error"};
    for (size_t i = 0; i < sizeof levels / sizeof levels[0]; i++)
        if (strcasecmp(v, levels[i]) == 0)
            return true;
    return false;
}

/* Stores value for the setting, or prints why it is wrong, naming the flag or the variable:
 * "invalid --port 'abc': ..." or "invalid PORT 'abc' in the environment: ...". */
static int apply(struct demo_config *c, const struct setting *s, const char *value, bool env)
{
    const char *where = env ? s->env : s->flag;
    /* The value quoted, cut at 80 bytes (enough to recognise it, never a screenful), and where
     * it came from when that was not the command line. */
    char shown[128];
    snprintf(shown, sizeof shown, "'%.80s%s'%s", value, strlen(value) > 80 ? "..." : "",
             env ? " in the environment" : "");
    long v;
    switch (s->kind) {
    case S_HOST:
        if (!*value || has_space_or_control(value)) {
            demo_fail("invalid %s %s: expected an IP address or a host name", where, shown);
            return -1;
        }
        c->host = value;
        return 0;
    case S_PORT:
        if (!parse_long(value, 1, 65535, &v)) {
            demo_fail("invalid %s %s: expected 1-65535", where, shown);
            return -1;
        }
        c->port = (int)v;
        return 0;
    case S_WORKERS:
        if (!parse_long(value, 1, DEMO_MAX_WORKERS, &v)) {
            demo_fail("invalid %s %s: expected 1-%d", where, shown, DEMO_MAX_WORKERS);
            return -1;
        }
        c->workers = (int)v;
        return 0;
    case S_DB:
        if (!valid_db_url(value)) {
            demo_fail("invalid %s %s: expected sqlite:PATH or postgresql://...", where, shown);
            return -1;
        }
        c->db_url = value;
        return 0;
    case S_REDIS:
        if (!valid_redis_url(value)) {
            demo_fail("invalid %s %s: expected redis://HOST[:PORT][/DB], rediss://... or "
                      "unix://PATH",
                      where, shown);
            return -1;
        }
        c->redis_url = value;
        return 0;
    case S_RATE:
        if (!parse_long(value, 0, DEMO_MAX_RATE, &v)) {
            demo_fail("invalid %s %s: expected requests per second, 0-%d (0 = no limit)", where,
                      shown, DEMO_MAX_RATE);
            return -1;
        }
        c->rate_limit = v;
        return 0;
    case S_LOG:
        if (!valid_log_level(value)) {
            demo_fail("invalid %s %s: expected debug, info, warn or error", where, shown);
            return -1;
        }
        c->log_level = value;
        return 0;
    }
    return -1;
}

static void print_help(void)
{
    printf("Usage: " DEMO_NAME " [FLAGS]\n"
           "\n"
           "The corio demo service: an HTTP/1.1 server with one event loop per worker thread.\n"
           "\n"
           "Flags (each may also come from the environment variable in brackets; a flag wins):\n"
           "  --host ADDR        address or name to listen on (default " DEMO_DEFAULT_HOST ")"
           " [HOST]\n"
           "  --port N           TCP port, 1-65535 (default %d) [PORT]\n"
           "  --workers N        worker threads, each with its own event loop and SO_REUSEPORT\n"
           "                     listener, 1-%d (default: the CPUs available, here %d) [WORKERS]\n"
           "  --db URL           database, sqlite:PATH or postgresql://... (default\n"
           "                     " DEMO_DEFAULT_DB ") [DATABASE_URL]. Checked but not opened yet:\n"
           "                     /api/users arrives with the database layer.\n"
           "  --redis URL        Redis, redis://HOST[:PORT][/DB] (default: none; rate limits stay\n"
           "                     in process) [REDIS_URL]. Checked but not used yet.\n"
           "  --rate-limit N     requests per second per client IP, 0 = no limit (default %d)\n"
           "                     [RATE_LIMIT]. /health and /metrics are not limited.\n"
           "  --log-level LEVEL  debug, info, warn or error (default info) [LOG_LEVEL]\n"
           "  -h, --help         print this help and exit\n"
           "  --version          print the version and exit\n"
           "\n"
           "Endpoints:\n"
           "  GET  /             a page listing these endpoints\n"
           "  GET  /plaintext    \"Hello, World!\" as text/plain\n"
           "  GET  /json         {\"message\":\"Hello, World!\"}\n"
           "  POST /echo         the request body back, with its Content-Type\n"
           "  GET  /health       status, uptime, version, open connections and workers as JSON\n"
           "                     (503 while starting or draining)\n"
           "  GET  /metrics      Prometheus text: HTTP requests, latencies, runtime counters\n"
           "  GET  /debug/tasks  every live task of every worker as JSON (?limit=N per worker)\n"
           "  Later layers add /api/users (database), /ws/echo, /ws/chat and /events.\n"
           "\n"
           "Requests are logged as JSON lines on stderr. On SIGTERM or SIGINT the server stops\n"
           "accepting, lets requests in flight finish (up to 30 s) and exits 0. Exit status 1:\n"
           "cannot listen or failed while running; 2: a bad flag or environment value.\n",
           DEMO_DEFAULT_PORT, DEMO_MAX_WORKERS, cpu_count(), DEMO_DEFAULT_RATE_LIMIT);
}

static const struct setting *find_flag(const char *arg, size_t len)
{
    for (size_t i = 0; i < NSETTINGS; i++)
        if (strlen(settings[i].flag) == len && strncmp(arg, settings[i].flag, len) == 0)
            return &settings[i];
    return NULL;
}

int demo_config_load(struct demo_config *c, int argc, char **argv)
{
    *c = (struct demo_config){
        .host = DEMO_DEFAULT_HOST,
        .port = DEMO_DEFAULT_PORT,
        .workers = cpu_count(),
        .db_url = DEMO_DEFAULT_DB,
        .redis_url = NULL,
        .rate_limit = DEMO_DEFAULT_RATE_LIMIT,
        .log_level = "info",
    };
    /* --help and --version win over everything else, including bad settings elsewhere. */
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            print_help();
            return 0;
        }
        if (strcmp(argv[i], "--version") == 0) {
            printf(DEMO_NAME " " DEMO_VERSION "\n");
            return 0;
        }
    }
    /* First the shape of the command line, then each setting from its flag if given (the last
     * one wins), else from its variable. A variable overridden by a flag is not looked at, so
     * a stale PORT in the environment does not stop `--port 9000` from working. */
    const char *flag_value[NSETTINGS] = {0};
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (arg[0] != '-') {
            demo_fail("unexpected argument '%.80s' (see --help)", arg);
            return 2;
        }
        const char *eq = strchr(arg, '=');
        size_t name_len = eq ? (size_t)(eq - arg) : strlen(arg);
        const struct setting *s = find_flag(arg, name_len);
        if (!s) {
            demo_fail("unknown flag '%.*s' (see --help)", (int)(name_len < 80 ? name_len : 80),
                      arg);
            return 2;
        }
        const char *value = eq ? eq + 1 : NULL;
        if (!value) {
            if (i + 1 >= argc) {
                demo_fail("%s needs a value (see --help)", s->flag);
                return 2;
            }
            value = argv[++i];
        }
        flag_value[s - settings] = value;
    }
    for (size_t i = 0; i < NSETTINGS; i++) {
        const char *v = flag_value[i];
        bool env = false;
        if (!v) {
            v = getenv(settings[i].env);
            env = true;
            if (!v || !*v)
                continue;
        }
        if (apply(c, &settings[i], v, env) < 0)
            return 2;
    }
    return -1;
}
