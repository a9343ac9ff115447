/* SPDX-License-Identifier: MIT */
/* Internal definitions shared by the obs sources: the metric and registry structures, the
 * per-thread slot that selects a shard, a growable text buffer, and the text helpers (UTF-8
 * validation, JSON and Prometheus escaping, shortest round-trip number formatting).
 *
 * obs uses only the public core headers: it may not include src/core/core_int.h (a module never
 * includes another module's internal header), so it has its own assertion macro.
 */
#ifndef CORIO_OBS_INT_H
#define CORIO_OBS_INT_H

#include "corio/obs.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#define OBS_UNLIKELY(x) __builtin_expect(!!(x), 0)

/* API misuse that would corrupt memory or silently mis-count: log at fatal level and abort. */
#define OBS_ASSERT(c)                                                                              \
    do {                                                                                           \
        if (OBS_UNLIKELY(!(c)))                                                                    \
            corio__obs_assert_fail(#c, __FILE__, __LINE__);                                        \
    } while (0)
#ifndef NDEBUG
#define OBS_DASSERT(c) OBS_ASSERT(c)
#else
#define OBS_DASSERT(c) ((void)0)
#endif
_Noreturn void corio__obs_assert_fail(const char *expr, const char *file, int line);

/* ---- per-thread slots ------------------------------------------------------------------------
 * Every thread that records metrics gets a slot in [0, CORIO__OBS_SLOTS) on first use, released
 * when the thread exits (and reused by a later thread, which then keeps adding to the same
 * shards: the counts stay). While a slot is owned, only its thread resolves label sets in the
 * shards of that slot, so the shard's lookup table needs no lock. When every slot is owned,
 * further threads share CORIO__OBS_SHARED_SLOT, whose shards lock their table.
 */
#define CORIO__OBS_SLOTS 128
#define CORIO__OBS_SHARED_SLOT CORIO__OBS_SLOTS
int corio__obs_thread_slot(void);

/* ---- growable text buffer ------------------------------------------------------------------- */
struct corio__obs_buf {
    char *p;
    size_t len, cap; /* p[len] is kept NUL when p != NULL */
    bool oom;        /* an append failed; later appends are ignored */
};
void corio__obs_buf_put(struct corio__obs_buf *b, const void *s, size_t n);
void corio__obs_buf_puts(struct corio__obs_buf *b, const char *s);
void corio__obs_buf_putc(struct corio__obs_buf *b, char c);
void corio__obs_buf_printf(struct corio__obs_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void corio__obs_buf_free(struct corio__obs_buf *b);

/* ---- text helpers --------------------------------------------------------------------------- */

/* Length (1..4) of the valid UTF-8 sequence at s[0..n), or 0 if s[0] does not start one
 * (stray continuation byte, overlong form, surrogate, past U+10FFFF, truncated). */
size_t corio__utf8_valid_len(const unsigned char *s, size_t n);

/* Writes the JSON string escape of src[0..n) (without the surrounding quotes) into
 * dst[0..cap), stopping before a unit (a character or its escape) that would not fit. Returns
 * the bytes written; *used gets the source bytes consumed (n when all fit). */
size_t corio__json_escape(char *dst, size_t cap, const char *src, size_t n, size_t *used);

/* Appends src[0..n) escaped for the Prometheus text format: in a label value (label = true)
 * backslash, double quote and newline; in HELP text backslash and newline. Invalid UTF-8 bytes
 * become U+FFFD. */
void corio__prom_escape(struct corio__obs_buf *b, const char *src, size_t n, bool label);

/* Formats v as the shortest decimal that reads back as v ("0.0005", "1", "2.5", "1e+21"), or
 * "+Inf", "-Inf", "NaN". out needs 32 bytes. Returns the length. */
size_t corio__fmt_double(char out[32], double v);

/* ---- metrics -------------------------------------------------------------------------------- */
enum corio__metric_kind {
    CORIO__M_COUNTER,
    CORIO__M_GAUGE,
    CORIO__M_HISTOGRAM,
    CORIO__M_FUNC,   /* a value computed at scrape time */
    CORIO__M_CUSTOM, /* renders its own samples (the runtime families) */
};

/* A distinct label set of one metric, shared by the series of every shard. Immutable once
 * published. Invariant: index < metric->nsets for published sets; the overflow set has index
 * UINT32_MAX. */
struct corio__labelset {
    struct corio__labelset *next;  /* metric->sets list, newest first */
    struct corio__labelset *hnext; /* metric dictionary chain */
    uint64_t hash;
    uint32_t index; /* creation order */
    uint32_t len[CORIO_METRICS_MAX_LABELS];
    const char *val[CORIO_METRICS_MAX_LABELS]; /* into the same allocation, NUL-terminated */
};

/* One label set in one shard. Only the values change after publication; they are written
 * with relaxed atomic read-modify-writes and read by scrapes with relaxed loads.
 * Counter: v[0] count. Gauge: v[0] the double's bits. Histogram: v[0] the sum's bits,
 * v[1 + i] the observations in bucket i (not cumulative), i = nbuckets is the +Inf bucket. */
struct corio_metric_series {
    struct corio__metric *m;
    const struct corio__labelset *ls;
    struct corio_metric_series *next;  /* shard list, newest first; immutable once published */
    struct corio_metric_series *hnext; /* shard lookup chain; owner thread only */
    uint64_t hash;
    _Atomic uint64_t v[];
};

/* One thread slot's part of a metric. Invariant: every series in list is also in tab, except
 * overflow. tab, tabcap, n and overflow are used by the owning thread only (in the shared slot:
 * under mu). */
struct corio__shard {
    _Atomic(struct corio_metric_series *) list; /* published with release; scrapes walk it */
    struct corio_metric_series **tab;           /* lookup chains by hash */
    size_t tabcap, n;
    struct corio_metric_series *overflow; /* the overflow set's series, once needed */
    pthread_mutex_t mu; /* taken around lookup and insert in the shared slot only */
};

/* A metric family. corio_counter, corio_gauge and corio_histogram are this struct. */
struct corio__metric {
    struct corio__metric *_Atomic next; /* registry list; published with release */
    corio_metrics *reg;
    enum corio__metric_kind kind;
    const char *type; /* "counter", "gauge", "histogram" for # TYPE */
    char *name, *help;
    size_t nlabels;
    char *label[CORIO_METRICS_MAX_LABELS];
    size_t nbuckets;
    double *bounds; /* histogram: nbuckets finite upper bounds, increasing */
    size_t nvals;   /* atomics per series: 1 or 2 + nbuckets */
    /* Label-set dictionary: taken on a shard miss only (once per set per thread). */
    pthread_mutex_t mu;
    struct corio__labelset **dict;
    size_t dictcap;
    _Atomic uint32_t nsets;               /* published sets; release after link */
    struct corio__labelset *_Atomic sets; /* newest first */
    struct corio__labelset *overflow;     /* created on first refusal, under mu */
    _Atomic uint64_t dropped;             /* label sets refused */
    _Atomic(struct corio__shard *) shards[CORIO__OBS_SLOTS + 1];
    /* CORIO__M_FUNC / CORIO__M_CUSTOM */
    double (*fn)(void *ctx);
    void (*render)(struct corio__metric *m, struct corio__obs_buf *b);
    void *ctx;
    int field; /* CORIO__M_CUSTOM: which runtime counter */
};

struct corio_metrics {
    pthread_mutex_t mu; /* registering; never taken by recording or rendering */
    size_t max_sets;
    struct corio__metric *_Atomic first;
    struct corio__metric *last;
    struct corio__obs_runtime *runtime; /* under mu; freed with the registry */
};

/* Validates and allocates a family of any kind, not yet visible (error: -EINVAL, -ENOMEM). */
int corio__metric_new(corio_metrics *r, enum corio__metric_kind kind, const char *name,
                      const char *help, const char *labels, struct corio__metric **out);
/* Frees a family that was never linked, or at registry teardown. */
void corio__metric_free(struct corio__metric *m);
/* Links m last in r, which must be locked (r->mu): -EEXIST if the name is taken (m is left
 * to the caller). */
int corio__metric_link_locked(corio_metrics *r, struct corio__metric *m);
/* The runtime families' state, freed with the registry (runtime.c). */
void corio__obs_runtime_free(struct corio__obs_runtime *rt);

#endif
