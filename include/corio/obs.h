/* SPDX-License-Identifier: MIT */
/* corio/obs.h: observability: a metrics registry with Prometheus text exposition, and a
 * structured JSON-lines logger that never blocks the loop.
 *
 * Metrics in one paragraph. A registry (corio_metrics) holds metric families: counters, gauges
 * and histograms, each declared with a fixed list of label names ("method,route,status"). A
 * label set is chosen per observation by giving the label values; resolving the values returns
 * a series handle (corio_metric_series) on which counter_add / gauge_set / histogram_observe
 * are a handful of instructions, so hot code resolves once and keeps the handle:
 *
 *     corio_counter *req;
 *     corio_counter_register(reg, "http_requests_total", "HTTP requests answered.",
 *                            "method,route,status", &req);
 *     corio_metric_series *s = corio_counter_labels(req, "GET", "/users/{id}", "200");
 *     corio_counter_add(s, 1);
 *     ...
 *     char *text; size_t len;
 *     corio_metrics_render(reg, &text, &len);          text format 0.0.4, for GET /metrics
 *
 * Multi-core without contention. Every thread that records gets its own shard of each metric
 * (a per-thread slot, so each worker loop records into memory no other worker writes), and a
 * series handle belongs to the shard of the thread that resolved it. Recording is a relaxed
 * atomic add or store on that shard: no lock, no shared cache line. A scrape, from any thread,
 * sums the shards with relaxed atomic loads and takes no lock a recording thread takes, so it
 * never stalls a worker and a worker never stalls it; its values are "consistent enough": a
 * series updated during the scrape may show the value from just before or just after, and a
 * histogram's _sum may lag its _count by the observations in flight (its buckets, +Inf and
 * _count always agree, because _count is computed from the buckets). A handle used on a thread
 * other than the one that resolved it still counts correctly (the adds are atomic); it is only
 * slower, because two threads then share a cache line. So resolve handles on the thread that
 * uses them: per request, or once per worker at start-up. Resolving a label set this thread has
 * already seen is a hash and a probe in a table only this thread touches (no lock); the first
 * time a thread sees a set it takes the family's mutex once.
 *
 * Bounded memory. A metric accepts at most corio_metrics_opts.max_label_sets distinct label
 * sets (default 10,000). Resolving a new label set past the limit returns the metric's overflow
 * series instead, whose label values all read "__overflow__", and counts the refusal in
 * corio_metrics_label_sets_dropped_total{metric="<name>"} (rendered once non-zero; a refused set
 * is not remembered, so resolving it again counts again, and takes the family's mutex again).
 * Label values longer than CORIO_METRICS_MAX_VALUE_LEN bytes are truncated to that length.
 * Memory is therefore bounded by (limit + 1) x shards series per metric, with at most 129 shards
 * (128 threads get one each; threads beyond share the last, with a lock on resolving).
 *
 * Logging in one paragraph. corio_logger_start() installs a JSON-lines logger as the core log
 * hook: every corio_log() message of the library and the application becomes one line
 *     {"ts":"2026-11-22T04:35:12.123Z","level":"info","sub":"core","msg":"...","request_id":"..."}
 * and corio_log_json() adds typed fields for access logs. The calling thread formats the line
 * and copies it into a bounded queue; a writer thread drains the queue with write(2). When the
 * queue is full the line is dropped and counted, and a line saying how many were dropped is
 * written once space returns: a slow terminal or a pipe nobody reads never blocks a loop, and
 * memory never grows.
 *
 * Threads. Everything here may be called from any thread unless stated otherwise; nothing here
 * suspends. Errors are negative errno values.
 */
#ifndef CORIO_OBS_H
#define CORIO_OBS_H

#include "corio/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------------------------------
 * Metrics: opaque types.
 */
typedef struct corio_metrics corio_metrics;     /* a registry */
typedef struct corio_counter corio_counter;     /* a counter family; owned by its registry */
typedef struct corio_gauge corio_gauge;         /* a gauge family; owned by its registry */
typedef struct corio_histogram corio_histogram; /* a histogram family; owned by its registry */
typedef struct corio_metric_series corio_metric_series; /* one label set in one thread's shard */

#define CORIO_METRICS_MAX_LABELS 16     /* label names per metric */
#define CORIO_METRICS_MAX_VALUE_LEN 256 /* longer label values are truncated */
#define CORIO_METRICS_MAX_BUCKETS 64    /* finite bucket bounds per histogram */

/* The default histogram buckets, in seconds, for latencies: .0005 .001 .0025 .005 .01 .025 .05
 * .1 .25 .5 1 2.5 5 10 (plus the implicit +Inf). */
#define CORIO_METRICS_DEFAULT_NBUCKETS 14
CORIO_API extern const double corio_metrics_default_buckets[CORIO_METRICS_DEFAULT_NBUCKETS];

/* ---------------------------------------------------------------------------------------------
 * Metrics: the registry.
 */
struct corio_metrics_opts {
    size_t max_label_sets; /* distinct label sets per metric; 0 = 10,000 */
    uint64_t _reserved[4];
};

/* Creates an empty registry; the caller owns it. o may be NULL for defaults (borrowed for the
 * call). Errors: -ENOMEM. */
CORIO_API int corio_metrics_new(const struct corio_metrics_opts *o, corio_metrics **out);

/* Frees r and every metric and series handle of it. Nothing may use r or its handles any more:
 * no thread may be recording or rendering, and the runtime refresh tasks of
 * corio_metrics_runtime_register() must have ended (their run has returned). NULL is a no-op. */
CORIO_API void corio_metrics_free(corio_metrics *r);

/* ---------------------------------------------------------------------------------------------
 * Metrics: declaring families. All take name (a Prometheus metric name,
 * [a-zA-Z_:][a-zA-Z0-9_:]*), help (one line of text for # HELP, may be NULL for none) and labels
 * (comma-separated label names, [a-zA-Z_][a-zA-Z0-9_]* each, not starting with "__", no
 * duplicates, at most CORIO_METRICS_MAX_LABELS; NULL or "" for none). Strings are copied. The
 * family lives until corio_metrics_free(). Families render in the order they were declared.
 * Errors: -EINVAL (a bad name, label name or bucket list), -EEXIST (the name is taken in r),
 * -ENOMEM.
 */

/* A counter: a uint64_t that only goes up (rendered as an integer). */
CORIO_API int corio_counter_register(corio_metrics *r, const char *name, const char *help,
                                     const char *labels, corio_counter **out);

/* A gauge: a double that goes up and down. See corio_gauge_set() for how shards combine. */
CORIO_API int corio_gauge_register(corio_metrics *r, const char *name, const char *help,
                                   const char *labels, corio_gauge **out);

/* A histogram with the given finite upper bounds (strictly increasing, at most
 * CORIO_METRICS_MAX_BUCKETS; the +Inf bucket is implicit). buckets NULL (nbuckets ignored)
 * selects corio_metrics_default_buckets. "le" may not be a label name. */
CORIO_API int corio_histogram_register(corio_metrics *r, const char *name, const char *help,
                                       const char *labels, const double *buckets, size_t nbuckets,
                                       corio_histogram **out);

/* Unlabelled metrics whose value fn(ctx) computes at scrape time, on the scraping thread (so
 * fn must be thread-safe and quick; it must not call back into r). ctx is retained until
 * corio_metrics_free(). For values owned elsewhere: open connections, queue depths, process
 * counters. */
CORIO_API int corio_gauge_func_register(corio_metrics *r, const char *name, const char *help,
                                        double (*fn)(void *ctx), void *ctx);
CORIO_API int corio_counter_func_register(corio_metrics *r, const char *name, const char *help,
                                          double (*fn)(void *ctx), void *ctx);

/* ---------------------------------------------------------------------------------------------
 * Metrics: resolving label values to a series handle.
 *
 * values[0..n) are the label values in the order of the declared label names; n must equal the
 * number of names (anything else is a bug and aborts). NULL values read as "". Values are
 * copied (bytes, any content: rendering escapes them). The handle belongs to the calling
 * thread's shard and stays valid until corio_metrics_free(); resolving the same values again on
 * the same thread returns the same handle. Past the label-set limit the metric's overflow series
 * is returned (see the overview). Returns NULL only when out of memory; every recording
 * function accepts NULL and then does nothing, so callers need not check.
 *
 * The macros take the values as arguments: corio_counter_labels(c, "GET", "/", "200"). For a
 * metric without labels call corio_counter_labelsv(c, NULL, 0).
 */
CORIO_API corio_metric_series *corio_counter_labelsv(corio_counter *c, const char *const *values,
                                                     size_t n);
CORIO_API corio_metric_series *corio_gauge_labelsv(corio_gauge *g, const char *const *values,
                                                   size_t n);
CORIO_API corio_metric_series *corio_histogram_labelsv(corio_histogram *h,
                                                       const char *const *values, size_t n);

#define CORIO__OBS_STRS(...)                                                                       \
    (const char *const[]){__VA_ARGS__},                                                            \
        sizeof((const char *const[]){__VA_ARGS__}) / sizeof(const char *)
#define corio_counter_labels(c, ...) corio_counter_labelsv((c), CORIO__OBS_STRS(__VA_ARGS__))
#define corio_gauge_labels(g, ...) corio_gauge_labelsv((g), CORIO__OBS_STRS(__VA_ARGS__))
#define corio_histogram_labels(h, ...) corio_histogram_labelsv((h), CORIO__OBS_STRS(__VA_ARGS__))

/* ---------------------------------------------------------------------------------------------
 * Metrics: recording. s must come from a family of the matching kind (a counter series for
 * counter_add, ...); a mismatch is a bug (checked in debug builds). NULL s does nothing. Never
 * blocks, never allocates.
 */

/* Adds n to a counter. */
CORIO_API void corio_counter_add(corio_metric_series *s, uint64_t n);

/* Gauges are sharded like everything else, and the rendered value is the sum of the shards.
 * So corio_gauge_add() (+1 when a connection opens, -1 when it closes) gives the process total
 * whatever threads call it, and corio_gauge_set() sets the calling shard's part: a gauge set
 * from one thread shows that value; set from several threads it shows the sum of each thread's
 * last value (e.g. each worker setting its own queue depth). For one process-wide value set from
 * anywhere, use a func gauge. */
CORIO_API void corio_gauge_set(corio_metric_series *s, double v);
CORIO_API void corio_gauge_add(corio_metric_series *s, double delta);

/* Counts v in the first bucket whose bound is >= v (an observation exactly on a bound counts in
 * that bucket, as "le" says) and adds v to the sum. NaN is ignored. */
CORIO_API void corio_histogram_observe(corio_metric_series *s, double v);

/* corio_histogram_observe(s, ns / 1e9): a duration in nanoseconds observed in seconds. */
CORIO_API void corio_histogram_observe_ns(corio_metric_series *s, int64_t ns);

/* ---------------------------------------------------------------------------------------------
 * Metrics: exposition and introspection.
 */

/* Renders every family of r in the Prometheus text exposition format 0.0.4
 * (Content-Type: text/plain; version=0.0.4; charset=utf-8): per family a "# HELP" line (help
 * escaped: backslash and newline), a "# TYPE" line, then one sample per label set in the order
 * the sets were first seen, label values escaped (backslash, double quote, newline; invalid
 * UTF-8 bytes become U+FFFD). Histograms give cumulative name_bucket{...,le="<bound>"} samples
 * ending with le="+Inf", then name_sum and name_count. An unlabelled family always has its
 * sample (0 before any recording); a labelled one has samples only for label sets seen so far.
 * On success *out is a NUL-terminated malloc'd string of *len bytes (without the NUL) which the
 * caller frees with free(). Does not block recording threads (see the overview). Any thread; it
 * may run concurrently with recording, registering and other renders, not with
 * corio_metrics_free(). Errors: -ENOMEM. */
CORIO_API int corio_metrics_render(corio_metrics *r, char **out, size_t *len);

/* Label sets the family called name refused because of the limit, since it was declared (the
 * value of corio_metrics_label_sets_dropped_total{metric="<name>"}); 0 for an unknown name. */
CORIO_API uint64_t corio_metrics_dropped_label_sets(corio_metrics *r, const char *name);

/* Exposes the runtime counters of the calling worker loop (struct corio_loop_stats of
 * corio/diag.h) in r, labelled {worker="<i>"}: corio_tasks, corio_tasks_runnable,
 * corio_tasks_spawned_total, corio_tasks_finished_total, corio_context_switches_total,
 * corio_loop_iterations_total, corio_timers, corio_timers_fired_total, corio_fd_waits_total,
 * corio_mailbox_messages_total, corio_stacks_mapped, corio_stacks_free.
 *
 * Design: a loop's counters may only be read on its own thread, so instead of reaching into
 * other loops at scrape time (which would make rendering a suspending, loop-bound operation),
 * each worker publishes its own counters: this call takes a snapshot at once and spawns a
 * background task in the loop's top group (named "obs-runtime") that refreshes it every
 * interval_ns (0 = 1 s) until the loop shuts down. A scrape therefore shows values at most one
 * interval old, from any thread, without locks. Call it once from each worker (e.g. at the top
 * of the function given to corio_run()); the families are declared by the first call. Workers
 * beyond the first 256 are not exported. Task context. Errors: -ENOMEM, -EEXIST (a family name
 * is taken by a metric that is not this runtime's), -ECANCELED (the loop is shutting down). */
CORIO_API int corio_metrics_runtime_register(corio_metrics *r, int64_t interval_ns);

/* ---------------------------------------------------------------------------------------------
 * Logging.
 */

/* The task-local key the logger reads the request id from: a task (and, by inheritance, the
 * tasks it spawns afterwards) that sets it, e.g.
 *     corio_local_set_copy(CORIO_LOG_REQUEST_ID, id, id_len);
 * gets "request_id":"<value>" in every line it logs. The value is a NUL-terminated string.
 * The HTTP layer sets it per request. */
CORIO_API extern const corio_local_key corio_log_request_id_key;
#define CORIO_LOG_REQUEST_ID (&corio_log_request_id_key)

struct corio_logger_opts {
    int fd;                   /* where lines go; 0 = 2 (stderr). Not closed by the logger. The
                               * file's mode is left alone: a blocking fd is fine. */
    const char *level;        /* minimum level: "debug", "info", "warn" (or "warning"), "error",
                               * any case; NULL = the LOG_LEVEL environment variable, and "info"
                               * if that is unset or empty */
    size_t queue_bytes;       /* queue capacity; 0 = 1 MiB; at least 4 x max_line */
    size_t max_line;          /* longest line in bytes; 0 = 16 KiB; minimum 256. A longer entry
                               * is cut inside a string value, which then ends in "...", and
                               * gets "truncated":true; fields after the cut are left out. */
    int64_t flush_timeout_ns; /* how long corio_logger_stop() waits for a stuck fd to accept the
                               * queued lines before discarding them; 0 = 1 s */
    uint64_t _reserved[4];
};

/* Starts the process-wide logger: a writer thread, the queue, and the core log hook
 * (corio_log_set_hook) with the chosen minimum level, so from now on every corio_log() message
 * becomes a JSON line:
 *     {"ts":"<UTC, ms>","level":"info","sub":"<subsystem>","msg":"<message>"}
 * with "request_id" appended when the caller is a task whose CORIO_LOG_REQUEST_ID is set.
 * Strings are escaped for JSON: quote, backslash and control characters (U+0000..U+001F and
 * DEL) as \", \\, \n, \r, \t, \b, \f or \u00XX; valid UTF-8 passes through; each byte that is
 * not part of a valid UTF-8 sequence (including overlong forms, surrogates and code points past
 * U+10FFFF) becomes \ufffd. Lines at level fatal are written synchronously, after whatever is
 * queued, because the process is about to abort. Other lines reach the fd after at most about
 * a millisecond (the writer batches wake-ups) unless the fd is slow. A caller pays the
 * formatting (a few hundred ns for a plain message) and a copy under a mutex that is never held
 * across I/O. o may be NULL for defaults (borrowed for the call). Errors: -EINVAL (a bad level,
 * in o or LOG_LEVEL; a bad option), -EBADF (fd is not open), -EALREADY (already started),
 * -ENOMEM, or an error from creating the thread. */
CORIO_API int corio_logger_start(const struct corio_logger_opts *o);

/* Restores the default core log hook, lets the writer drain the queue (waiting at most
 * flush_timeout_ns for the fd, then discarding the rest, counted as dropped), joins it and
 * frees the queue. Messages logged meanwhile from other threads go to the default hook or are
 * dropped. Blocks the calling thread for as long as the flush takes: call it at exit, not from
 * a loop that should keep serving. No-op if not started. */
CORIO_API void corio_logger_stop(void);

struct corio_logger_stats {
    uint64_t lines;        /* accepted into the queue (including drop notices) */
    uint64_t dropped;      /* lines refused because the queue was full, lost to a write
                            * error, or discarded at stop */
    uint64_t written;      /* bytes written to the fd */
    uint64_t write_errors; /* write(2) failures other than EINTR/EAGAIN (the chunk is lost) */
    uint64_t queued;       /* bytes waiting in the queue now */
    uint64_t _reserved[3];
};

/* Counters of the current (or last stopped) logger. */
CORIO_API void corio_logger_stats(struct corio_logger_stats *out);

/* True if a message at level would be logged now (the logger's level, or the core default's
 * when the logger is not running). Cheap: check it before building expensive fields. */
CORIO_API bool corio_log_enabled(enum corio_log_level level);

/* A typed extra field of a JSON log line. Build them with the CORIO_LOG_* macros. */
enum corio_log_field_type {
    CORIO_LOG_FIELD_STR,  /* s, NUL-terminated (NULL renders as null) */
    CORIO_LOG_FIELD_STRN, /* s with length n (a view, need not be NUL-terminated) */
    CORIO_LOG_FIELD_INT,  /* i */
    CORIO_LOG_FIELD_UINT, /* u */
    CORIO_LOG_FIELD_DBL,  /* d; NaN and infinities render as null */
    CORIO_LOG_FIELD_BOOL, /* b */
};
struct corio_log_field {
    const char *key; /* borrowed for the call */
    enum corio_log_field_type type;
    union {
        const char *s;
        int64_t i;
        uint64_t u;
        double d;
        bool b;
    };
    size_t n; /* CORIO_LOG_FIELD_STRN only */
};
#define CORIO_LOG_STR(k, v)                                                                        \
    ((struct corio_log_field){.key = (k), .type = CORIO_LOG_FIELD_STR, .s = (v)})
#define CORIO_LOG_STRN(k, v, len)                                                                  \
    ((struct corio_log_field){.key = (k), .type = CORIO_LOG_FIELD_STRN, .s = (v), .n = (len)})
#define CORIO_LOG_INT(k, v)                                                                        \
    ((struct corio_log_field){.key = (k), .type = CORIO_LOG_FIELD_INT, .i = (v)})
#define CORIO_LOG_UINT(k, v)                                                                       \
    ((struct corio_log_field){.key = (k), .type = CORIO_LOG_FIELD_UINT, .u = (v)})
#define CORIO_LOG_DBL(k, v)                                                                        \
    ((struct corio_log_field){.key = (k), .type = CORIO_LOG_FIELD_DBL, .d = (v)})
#define CORIO_LOG_BOOL(k, v)                                                                       \
    ((struct corio_log_field){.key = (k), .type = CORIO_LOG_FIELD_BOOL, .b = (v)})

/* Logs msg (a plain string, not a format) with the extra fields f[0..n) appended after the
 * standard ones (and after request_id), in order. Keys are escaped like values; nothing stops
 * a key from repeating a standard one ("ts", "level", "sub", "msg", "request_id"), so don't.
 * Filtered by level like corio_log(). Without a running logger the line goes to the core log
 * hook as msg followed by the fields as a JSON object. Never blocks (see the overview). */
CORIO_API void corio_log_fields(enum corio_log_level level, const char *subsystem, const char *msg,
                                const struct corio_log_field *f, size_t n);

/* corio_log_json(level, sub, msg, field...): at least one field, e.g. an access log line
 *     corio_log_json(CORIO_LOG_INFO, "http", "request", CORIO_LOG_STR("method", "GET"),
 *                    CORIO_LOG_STRN("path", path, path_len), CORIO_LOG_INT("status", 200),
 *                    CORIO_LOG_DBL("duration_s", 0.0012));
 * (use corio_log() for a message without fields). */
#define corio_log_json(level, sub, msg, ...)                                                       \
    corio_log_fields((level), (sub), (msg), (const struct corio_log_field[]){__VA_ARGS__},         \
                     sizeof((const struct corio_log_field[]){__VA_ARGS__}) /                       \
                         sizeof(struct corio_log_field))

/* Escapes s[0..len) as the inside of a JSON string, the way the logger does: quote and
 * backslash escaped, control characters as \n, \r, \t, \b, \f or \u00XX (also DEL), valid
 * UTF-8 passed through, and every byte that is not part of a valid UTF-8 sequence replaced by
 * \ufffd, so the result is always valid JSON text. Writes into dst (cap bytes) and
 * NUL-terminates it (unless cap is 0). Returns the length the whole escaped string needs
 * (without the NUL), like snprintf: a result >= cap means dst was too small and holds the
 * escapes of a prefix of s (never half an escape). Pure function; any thread. */
CORIO_API size_t corio_json_escape(char *dst, size_t cap, const char *s, size_t len);

#ifdef __cplusplus
}
#endif
#endif
