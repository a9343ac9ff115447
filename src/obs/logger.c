/* SPDX-License-Identifier: MIT */
/* The JSON-lines logger: one line per message, formatted on the calling thread, queued in a
 * bounded byte ring, written by one writer thread.
 *
 * Producers (any thread: loops, executor, watchdog) build the whole line in a per-thread buffer
 * without any lock, then take the ring's mutex only to copy it in, so the critical section is a
 * memcpy and never waits for I/O; the writer takes the mutex only to pick the next chunk and to
 * free it after write(2). Lines are copied in whole or not at all, so lines of different
 * threads never interleave. A full ring refuses the line and counts it; whoever appends next
 * (a producer, or the writer as soon as space returns) first appends a notice saying how many
 * were dropped, so the notice sits exactly where the gap is. The writer, woken from idle by a
 * line, naps NAP_NS before draining so that a steady trickle of lines costs one wake-up per nap
 * rather than one futex call per line; a queue past half full cuts the nap short.
 *
 * Invariant (under mu): tail <= wpos <= head and head - tail <= cap. [tail, wpos) is being
 * written by the writer thread (which reads it without the lock: producers never touch it),
 * [wpos, head) is queued, and the rest is free. Positions grow forever; the byte for position p
 * is ring[p % cap].
 *
 * The writer never blocks forever: except on regular files it waits with poll(2) for the fd to
 * be writable and then writes at most PIPE_BUF bytes (which a pipe with room accepts without
 * blocking), so at stop it notices its flush deadline. Its thread has every signal blocked, so
 * a write to a closed pipe gives it EPIPE instead of killing the process with SIGPIPE.
 *
 * Deliberately not here: log rotation, sampling or rate limiting (callers rate-limit what a
 * peer can trigger), and formatting fields lazily on the writer thread (the arguments are only
 * valid during the call).
 */
#include "obs_int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

const corio_local_key corio_log_request_id_key = CORIO_LOCAL_KEY("request_id");

static const char *const level_names[] = {"debug", "info", "warn", "error", "fatal"};

#define NAP_NS (1 * CORIO_MS) /* the writer's batching delay after a wake-up */
#define TRUNC_RESERVE 32      /* room kept for `"..."` + `,"truncated":true` + `}\n` (24) */

static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv; /* the writer waits here for lines or stop */
    char *ring;        /* NULL while stopped */
    size_t cap;
    uint64_t head, wpos, tail;
    uint64_t pending_drops; /* dropped since the last notice */
    bool accepting;         /* false from the start of stop */
    bool stopping;
    bool writer_waiting; /* idle in cond_wait: the next line wakes it */
    bool writer_napping; /* batching after a wake: only a half-full queue wakes it */
    int fd;
    bool regular; /* fd is a regular file: plain blocking writes */
    int64_t flush_timeout;
    pthread_t thread;
    struct corio_logger_stats st; /* lines, dropped, written, write_errors */
} L = {.mu = PTHREAD_ADAPTIVE_MUTEX_INITIALIZER_NP};

static pthread_mutex_t life_mu = PTHREAD_MUTEX_INITIALIZER; /* serialises start and stop */
static bool running;                                        /* under life_mu */
static _Atomic int cur_level = -1;    /* minimum level while running, else -1 */
static _Atomic size_t cur_max_line;   /* while running */
static _Atomic int64_t stop_deadline; /* CLOCK_MONOTONIC ns; 0 = not stopping */

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * CORIO_S + ts.tv_nsec;
}

/* ---- line building -------------------------------------------------------------------------- */

struct line {
    char *p;
    size_t len;
    size_t limit; /* cap - TRUNC_RESERVE */
    bool trunc;   /* something was cut: the rest is skipped */
};

static void put_raw(struct line *l, const char *s, size_t n)
{
    if (l->trunc)
        return;
    if (n > l->limit - l->len) {
        l->trunc = true;
        return;
    }
    memcpy(l->p + l->len, s, n);
    l->len += n;
}

/* "...", escaped. A string that does not fit is cut and ends in ...", which the reserve has
 * room for (even when not one byte of it fits), so the line stays valid JSON. */
static void put_str(struct line *l, const char *s, size_t n)
{
    if (l->trunc)
        return;
    if (l->limit - l->len < 2) {
        l->trunc = true;
        memcpy(l->p + l->len, "\"...\"", 5);
        l->len += 5;
        return;
    }
    l->p[l->len++] = '"';
    size_t used; /* one byte kept for the closing quote */
    l->len += corio__json_escape(l->p + l->len, l->limit - l->len - 1, s, n, &used);
    if (used < n) {
        l->trunc = true;
        memcpy(l->p + l->len, "...\"", 4);
        l->len += 4;
        return;
    }
    l->p[l->len++] = '"';
}

/* Starts a member ,"key": ; returns the length to roll back to if its value does not fit. */
static size_t put_key(struct line *l, const char *key, bool first)
{
    size_t mark = l->len;
    if (!first)
        put_raw(l, ",", 1);
    put_str(l, key, strlen(key));
    put_raw(l, ":", 1);
    if (l->trunc)
        l->len = mark; /* no half keys */
    return mark;
}

/* Decimal digits of v, right-aligned ending at end; returns the start. */
static char *utoa_rev(char *end, uint64_t v)
{
    do {
        *--end = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    return end;
}

static void put_field(struct line *l, const struct corio_log_field *f, bool first)
{
    if (l->trunc || !f->key)
        return;
    size_t mark = put_key(l, f->key, first);
    char tmp[40];
    int n = 0;
    switch (f->type) {
    case CORIO_LOG_FIELD_STR:
    case CORIO_LOG_FIELD_STRN:
        if (!f->s) {
            put_raw(l, "null", 4);
            break;
        }
        put_str(l, f->s, f->type == CORIO_LOG_FIELD_STR ? strlen(f->s) : f->n);
        return; /* a cut string ends the line validly as it is */
    case CORIO_LOG_FIELD_INT:
    case CORIO_LOG_FIELD_UINT: {
        bool neg = f->type == CORIO_LOG_FIELD_INT && f->i < 0;
        uint64_t u = f->type == CORIO_LOG_FIELD_UINT ? f->u
                     : neg                           ? 0 - (uint64_t)f->i
                                                     : (uint64_t)f->i;
        char *st = utoa_rev(tmp + sizeof tmp, u);
        if (neg)
            *--st = '-';
        put_raw(l, st, (size_t)(tmp + sizeof tmp - st));
        if (l->trunc)
            l->len = mark;
        return;
    }
    case CORIO_LOG_FIELD_DBL:
        if (isfinite(f->d))
            n = (int)corio__fmt_double(tmp, f->d);
        else
            n = snprintf(tmp, sizeof tmp, "null");
        break;
    case CORIO_LOG_FIELD_BOOL:
        n = snprintf(tmp, sizeof tmp, f->b ? "true" : "false");
        break;
    default:
        n = snprintf(tmp, sizeof tmp, "null");
        break;
    }
    put_raw(l, tmp, (size_t)n);
    if (l->trunc)
        l->len = mark;
}

static void put_end(struct line *l)
{
    if (l->trunc) {
        /* Cut lines say so; the reserve guarantees room. */
        memcpy(l->p + l->len, ",\"truncated\":true", 17);
        l->len += 17;
    }
    memcpy(l->p + l->len, "}\n", 2);
    l->len += 2;
}

/* "2026-11-22T04:35:12.123Z" (24 bytes and a NUL); the part up to the seconds is cached per
 * thread for the current second. */
static void format_ts(char out[64])
{
    static _Thread_local time_t cached_sec = -1;
    static _Thread_local char cached[48];
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    if (ts.tv_sec != cached_sec) {
        struct tm tm;
        gmtime_r(&ts.tv_sec, &tm);
        snprintf(cached, sizeof cached, "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
        cached_sec = ts.tv_sec;
    }
    size_t n = strlen(cached);
    int ms = (int)(ts.tv_nsec / 1000000);
    memcpy(out, cached, n);
    out[n] = '.';
    out[n + 1] = (char)('0' + ms / 100);
    out[n + 2] = (char)('0' + ms / 10 % 10);
    out[n + 3] = (char)('0' + ms % 10);
    out[n + 4] = 'Z';
    out[n + 5] = 0;
}

static void build(struct line *l, enum corio_log_level level, const char *sub, const char *msg,
                  const struct corio_log_field *f, size_t n)
{
    char ts[64];
    format_ts(ts);
    put_raw(l, "{", 1);
    put_key(l, "ts", true);
    put_str(l, ts, strlen(ts));
    put_key(l, "level", false);
    const char *lv = level_names[(unsigned)level <= CORIO_LOG_FATAL ? level : CORIO_LOG_FATAL];
    put_str(l, lv, strlen(lv));
    put_key(l, "sub", false);
    put_str(l, sub ? sub : "", sub ? strlen(sub) : 0);
    put_key(l, "msg", false);
    put_str(l, msg ? msg : "", msg ? strlen(msg) : 0);
    /* corio_local_get is NULL outside task context, so threads without a loop get none. */
    const char *rid = corio_local_get(CORIO_LOG_REQUEST_ID);
    if (rid) {
        put_key(l, "request_id", false);
        put_str(l, rid, strlen(rid));
    }
    for (size_t i = 0; i < n; i++)
        put_field(l, &f[i], false);
    put_end(l);
}

/* The per-thread line buffer, max_line bytes, freed when the thread exits. */
static pthread_once_t buf_once = PTHREAD_ONCE_INIT;
static pthread_key_t buf_key;
static bool buf_key_ok;
static _Thread_local char *tls_buf;
static _Thread_local size_t tls_cap;

static void buf_key_create(void)
{
    buf_key_ok = pthread_key_create(&buf_key, free) == 0;
}

static char *line_buffer(size_t cap)
{
    if (tls_cap >= cap)
        return tls_buf;
    pthread_once(&buf_once, buf_key_create);
    char *p = realloc(tls_buf, cap);
    if (!p)
        return NULL;
    tls_buf = p;
    tls_cap = cap;
    if (buf_key_ok)
        pthread_setspecific(buf_key, p);
    return p;
}

/* ---- the ring ------------------------------------------------------------------------------- */

static void ring_put_locked(const char *s, size_t n)
{
    size_t off = (size_t)(L.head % L.cap);
    size_t first = n < L.cap - off ? n : L.cap - off;
    memcpy(L.ring + off, s, first);
    memcpy(L.ring, s + first, n - first);
    L.head += n;
    L.st.lines++;
}

static size_t format_notice(char *out, size_t cap, uint64_t dropped)
{
    char ts[64];
    format_ts(ts);
    int n = snprintf(out, cap,
                     "{\"ts\":\"%s\",\"level\":\"warn\",\"sub\":\"obs\",\"msg\":\"dropped %llu log "
                     "messages: the queue was full\",\"dropped\":%llu}\n",
                     ts, (unsigned long long)dropped, (unsigned long long)dropped);
    return n < 0 ? 0 : (size_t)n;
}

/* Appends the drop notice if one is due and fits; returns false if one is due and does not. */
static bool notice_locked(size_t extra)
{
    if (!L.pending_drops)
        return true;
    char buf[256];
    size_t n = format_notice(buf, sizeof buf, L.pending_drops);
    if (n + extra > L.cap - (L.head - L.tail))
        return false;
    ring_put_locked(buf, n);
    L.pending_drops = 0;
    return true;
}

static void submit(const char *line, size_t n)
{
    pthread_mutex_lock(&L.mu);
    if (!L.ring || !L.accepting) {
        L.st.dropped++;
        pthread_mutex_unlock(&L.mu);
        return;
    }
    if (!notice_locked(n) || n > L.cap - (L.head - L.tail)) {
        L.st.dropped++;
        L.pending_drops++;
        pthread_mutex_unlock(&L.mu);
        return;
    }
    ring_put_locked(line, n);
    /* Signalled under the lock: stop destroys the condition variable under it. Wake-ups are
     * rare anyway (see NAP_NS). */
    if (L.writer_waiting || (L.writer_napping && L.head - L.tail > L.cap / 2))
        pthread_cond_signal(&L.cv);
    pthread_mutex_unlock(&L.mu);
}

static void write_fully(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;
        p += w;
        n -= (size_t)w;
    }
}

/* A fatal line: the process aborts right after, so write what is queued and then the line
 * synchronously, from this thread, under the lock. The writer's chunk in flight may come out
 * after these: better than losing the line that says why the process died. */
static void submit_fatal(const char *line, size_t n)
{
    pthread_mutex_lock(&L.mu);
    if (L.ring) {
        while (L.wpos < L.head) {
            size_t off = (size_t)(L.wpos % L.cap);
            size_t len = (size_t)(L.head - L.wpos);
            if (len > L.cap - off)
                len = L.cap - off;
            write_fully(L.fd, L.ring + off, len);
            L.wpos += len; /* tail stays: the writer may still be reading its chunk */
        }
        write_fully(L.fd, line, n);
    }
    pthread_mutex_unlock(&L.mu);
}

static void emit(enum corio_log_level level, const char *sub, const char *msg,
                 const struct corio_log_field *f, size_t n)
{
    size_t cap = atomic_load_explicit(&cur_max_line, memory_order_relaxed);
    if (cap == 0)
        return; /* stopped meanwhile */
    struct line l = {.p = line_buffer(cap), .limit = cap - TRUNC_RESERVE};
    if (!l.p) {
        pthread_mutex_lock(&L.mu);
        L.st.dropped++;
        pthread_mutex_unlock(&L.mu);
        return;
    }
    build(&l, level, sub, msg, f, n);
    if (level >= CORIO_LOG_FATAL)
        submit_fatal(l.p, l.len);
    else
        submit(l.p, l.len);
}

static void hook(void *ctx, enum corio_log_level level, const char *subsystem, const char *msg)
{
    (void)ctx;
    /* The core stores the hook and its minimum level separately, so right after start a call
     * may pair this hook with the old minimum: filter here too. Fatal always passes. */
    if (level < CORIO_LOG_FATAL &&
        (int)level < atomic_load_explicit(&cur_level, memory_order_relaxed))
        return;
    emit(level, subsystem, msg, NULL, 0);
}

/* ---- the writer thread ---------------------------------------------------------------------- */

/* Waits until fd takes data; false if the stop deadline passed first. */
static bool wait_writable(void)
{
    for (;;) {
        struct pollfd p = {.fd = L.fd, .events = POLLOUT};
        int64_t dl = atomic_load_explicit(&stop_deadline, memory_order_relaxed);
        bool past = dl && mono_ns() >= dl;
        int rc = poll(&p, 1, past ? 0 : 50);
        if (rc > 0 || (rc < 0 && errno != EINTR))
            return true; /* writable, or an error the write will report */
        if (past)
            return false;
    }
}

/* Writes p[0..n); returns the bytes that could not be written (lost). */
static size_t write_chunk(const char *p, size_t n, uint64_t *errors)
{
    while (n) {
        size_t want = n;
        if (!L.regular) {
            if (!wait_writable())
                return n;
            if (want > PIPE_BUF)
                want = PIPE_BUF;
        }
        ssize_t w = write(L.fd, p, want);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            /* Someone made the file description non-blocking: wait as for a full pipe. */
            if (!wait_writable())
                return n;
            continue;
        }
        if (w <= 0) {
            (*errors)++;
            return n;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static uint64_t count_lines(const char *p, size_t n)
{
    uint64_t c = 0;
    for (const char *e = p + n; (p = memchr(p, '\n', (size_t)(e - p))) != NULL; p++)
        c++;
    return c;
}

static void *writer_main(void *arg)
{
    (void)arg;
    size_t chunk_max = L.regular ? 65536 : PIPE_BUF;
    pthread_mutex_lock(&L.mu);
    for (;;) {
        notice_locked(0);
        if (L.wpos == L.head) {
            if (L.stopping)
                break;
            L.writer_waiting = true;
            pthread_cond_wait(&L.cv, &L.mu);
            L.writer_waiting = false;
            /* Woken from idle by one line: let more gather for a moment, so a steady trickle
             * costs one wake-up per NAP_NS instead of one per line. */
            if (!L.stopping) {
                int64_t until = mono_ns() + NAP_NS;
                struct timespec ts = {.tv_sec = until / CORIO_S, .tv_nsec = until % CORIO_S};
                L.writer_napping = true;
                pthread_cond_timedwait(&L.cv, &L.mu, &ts);
                L.writer_napping = false;
            }
            continue;
        }
        size_t off = (size_t)(L.wpos % L.cap);
        size_t len = (size_t)(L.head - L.wpos);
        if (len > L.cap - off)
            len = L.cap - off;
        if (len > chunk_max)
            len = chunk_max;
        L.wpos += len;
        pthread_mutex_unlock(&L.mu);
        uint64_t errors = 0;
        size_t lost = write_chunk(L.ring + off, len, &errors);
        uint64_t lost_lines = lost ? count_lines(L.ring + off + (len - lost), lost) : 0;
        pthread_mutex_lock(&L.mu);
        L.tail += len;
        L.st.written += len - lost;
        L.st.write_errors += errors;
        L.st.dropped += lost_lines;
    }
    pthread_mutex_unlock(&L.mu);
    return NULL;
}

/* ---- start, stop, stats --------------------------------------------------------------------- */

static int parse_level(const char *s, int *out)
{
    static const struct {
        const char *name;
        int level;
    } names[] = {{"debug", CORIO_LOG_DEBUG},
                 {"info", CORIO_LOG_INFO},
                 {"warn", CORIO_LOG_WARN},
                 {"warning", CORIO_LOG_WARN},
                 {"error", CORIO_LOG_ERROR}};
    if (!s || !*s) {
        *out = CORIO_LOG_INFO;
        return 0;
    }
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strcasecmp(s, names[i].name) == 0) {
            *out = names[i].level;
            return 0;
        }
    }
    return -EINVAL;
}

static int start_locked(const struct corio_logger_opts *o)
{
    int level;
    const char *lv = o->level ? o->level : getenv("LOG_LEVEL");
    if (parse_level(lv, &level) < 0)
        return -EINVAL;
    int fd = o->fd ? o->fd : STDERR_FILENO;
    size_t max_line = o->max_line ? o->max_line : 16384;
    size_t cap = o->queue_bytes ? o->queue_bytes : (size_t)1 << 20;
    if (fd < 0 || max_line < 256 || max_line > cap / 4 || o->flush_timeout_ns < 0)
        return -EINVAL;
    struct stat sb;
    if (fstat(fd, &sb) < 0)
        return -EBADF;
    char *ring = malloc(cap);
    if (!ring)
        return -ENOMEM;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* naps ignore wall-clock jumps */
    pthread_mutex_lock(&L.mu);
    pthread_cond_init(&L.cv, &ca);
    L.ring = ring;
    L.cap = cap;
    L.head = L.wpos = L.tail = 0;
    L.pending_drops = 0;
    L.accepting = true;
    L.stopping = false;
    L.fd = fd;
    L.regular = S_ISREG(sb.st_mode);
    L.flush_timeout = o->flush_timeout_ns ? o->flush_timeout_ns : CORIO_S;
    memset(&L.st, 0, sizeof L.st);
    pthread_mutex_unlock(&L.mu);
    pthread_condattr_destroy(&ca);
    atomic_store(&stop_deadline, 0);

    /* The writer starts with every signal blocked: process signals go to other threads, and
     * EPIPE comes back as an error instead of a SIGPIPE that would kill the process. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&L.thread, NULL, writer_main, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        pthread_mutex_lock(&L.mu);
        L.ring = NULL;
        pthread_cond_destroy(&L.cv);
        pthread_mutex_unlock(&L.mu);
        free(ring);
        return -rc;
    }
    atomic_store(&cur_max_line, max_line);
    atomic_store(&cur_level, level);
    corio_log_set_hook(hook, NULL, (enum corio_log_level)level);
    return 0;
}

int corio_logger_start(const struct corio_logger_opts *o)
{
    static const struct corio_logger_opts defaults;
    pthread_mutex_lock(&life_mu);
    int rc = running ? -EALREADY : start_locked(o ? o : &defaults);
    if (rc == 0)
        running = true;
    pthread_mutex_unlock(&life_mu);
    return rc;
}

void corio_logger_stop(void)
{
    pthread_mutex_lock(&life_mu);
    if (!running) {
        pthread_mutex_unlock(&life_mu);
        return;
    }
    corio_log_set_hook(NULL, NULL, CORIO_LOG_INFO);
    atomic_store(&cur_level, -1);
    pthread_mutex_lock(&L.mu);
    L.accepting = false;
    L.stopping = true;
    atomic_store(&stop_deadline, mono_ns() + L.flush_timeout);
    pthread_cond_signal(&L.cv);
    pthread_mutex_unlock(&L.mu);
    pthread_join(L.thread, NULL);
    pthread_mutex_lock(&L.mu);
    pthread_cond_destroy(&L.cv);
    free(L.ring);
    L.ring = NULL;
    L.head = L.wpos = L.tail = 0;
    pthread_mutex_unlock(&L.mu);
    /* emit() of a racing producer sees 0 and drops; its buffer stays its thread's. */
    atomic_store(&cur_max_line, 0);
    running = false;
    pthread_mutex_unlock(&life_mu);
}

void corio_logger_stats(struct corio_logger_stats *out)
{
    pthread_mutex_lock(&L.mu);
    *out = L.st;
    out->queued = L.head - L.tail;
    pthread_mutex_unlock(&L.mu);
}

bool corio_log_enabled(enum corio_log_level level)
{
    int min = atomic_load_explicit(&cur_level, memory_order_relaxed);
    return (int)level >= (min >= 0 ? min : CORIO_LOG_INFO);
}

void corio_log_fields(enum corio_log_level level, const char *subsystem, const char *msg,
                      const struct corio_log_field *f, size_t n)
{
    if (!corio_log_enabled(level))
        return;
    if (atomic_load_explicit(&cur_level, memory_order_relaxed) >= 0) {
        emit(level, subsystem, msg, f, n);
        return;
    }
    /* No logger: the fields as a JSON object after the message, through the core hook. */
    char tmp[900];
    struct line l = {.p = tmp, .limit = sizeof tmp - TRUNC_RESERVE};
    put_raw(&l, "{", 1);
    for (size_t i = 0; i < n; i++)
        put_field(&l, &f[i], i == 0);
    put_end(&l);
    tmp[l.len - 1] = 0; /* the newline */
    corio_log(level, subsystem, "%s %s", msg ? msg : "", tmp);
}
