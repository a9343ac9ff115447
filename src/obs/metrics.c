/* SPDX-License-Identifier: MIT */
/* The metrics registry: declaring families, resolving label values to per-thread series, and
 * recording.
 *
 * Layout. A family (struct corio__metric) keeps one dictionary of its distinct label sets
 * (struct corio__labelset, canonical and immutable, counted against the limit) and one shard per
 * thread slot. A shard holds that thread's series: one per label set it has recorded, each with
 * its own atomics, on a list (newest first) that scrapes walk and in a hash table that only the
 * owning thread reads. So the hot paths are: recording = one relaxed atomic RMW on memory only
 * this thread writes; resolving a known set = a hash and a probe in a table only this thread
 * touches, no lock. A thread's first sight of a set takes the family's mutex to find or create
 * the canonical set (bounded by the limit), then allocates the shard's series.
 *
 * Publication. Everything a scrape reads is published with a release store after it is fully
 * built and is never modified or freed afterwards (until corio_metrics_free): registry list,
 * label-set list and count, shard pointers, shard series lists. Scrapes use acquire loads and
 * take no lock (render.c).
 *
 * Deliberately not here: removing series or families (a series lives as long as its registry;
 * the limit is what bounds memory), summaries/quantiles, and exemplars.
 */
#include "obs_int.h"

#include <errno.h>
#include <math.h>
#include <string.h>

const double corio_metrics_default_buckets[CORIO_METRICS_DEFAULT_NBUCKETS] = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

#define DROPPED_FAMILY "corio_metrics_label_sets_dropped_total"
#define OVERFLOW_VALUE "__overflow__"
#define SHARD_TAB0 16 /* initial lookup chains per shard, and dictionary chains */

/* ---- registry ------------------------------------------------------------------------------- */

int corio_metrics_new(const struct corio_metrics_opts *o, corio_metrics **out)
{
    *out = NULL;
    corio_metrics *r = calloc(1, sizeof(*r));
    if (!r)
        return -ENOMEM;
    pthread_mutex_init(&r->mu, NULL);
    r->max_sets = o && o->max_label_sets ? o->max_label_sets : 10000;
    if (r->max_sets > UINT32_MAX - 1)
        r->max_sets = UINT32_MAX - 1;
    *out = r;
    return 0;
}

void corio_metrics_free(corio_metrics *r)
{
    if (!r)
        return;
    struct corio__metric *m = atomic_load(&r->first);
    while (m) {
        struct corio__metric *next = atomic_load(&m->next);
        corio__metric_free(m);
        m = next;
    }
    corio__obs_runtime_free(r->runtime);
    pthread_mutex_destroy(&r->mu);
    free(r);
}

/* ---- declaring ------------------------------------------------------------------------------ */

static bool name_ok(const char *s, bool colon)
{
    if (!s || !*s)
        return false;
    for (const char *p = s; *p; p++) {
        char c = *p;
        bool alpha =
            (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colon && c == ':');
        if (!alpha && !(p != s && c >= '0' && c <= '9'))
            return false;
    }
    return true;
}

static char *xstrndup(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = 0;
    }
    return d;
}

/* Splits "a, b,c" into m->label[]; validates each name. */
static int parse_labels(struct corio__metric *m, const char *labels)
{
    const char *p = labels ? labels : "";
    while (*p) {
        while (*p == ' ')
            p++;
        const char *e = p;
        while (*e && *e != ',')
            e++;
        const char *t = e;
        while (t > p && t[-1] == ' ')
            t--;
        if (m->nlabels == CORIO_METRICS_MAX_LABELS)
            return -EINVAL;
        char *name = xstrndup(p, (size_t)(t - p));
        if (!name)
            return -ENOMEM;
        m->label[m->nlabels++] = name;
        if (!name_ok(name, false) || strncmp(name, "__", 2) == 0)
            return -EINVAL;
        for (size_t i = 0; i + 1 < m->nlabels; i++)
            if (strcmp(m->label[i], name) == 0)
                return -EINVAL;
        if (!*e)
            break;
        p = e + 1;
        if (!*p)
            return -EINVAL; /* trailing comma */
    }
    return 0;
}

int corio__metric_new(corio_metrics *r, enum corio__metric_kind kind, const char *name,
                      const char *help, const char *labels, struct corio__metric **out)
{
    static const char *const types[] = {"counter", "gauge", "histogram", "gauge", "gauge"};
    *out = NULL;
    if (!r || !name_ok(name, true))
        return -EINVAL;
    struct corio__metric *m = calloc(1, sizeof(*m));
    if (!m)
        return -ENOMEM;
    pthread_mutex_init(&m->mu, NULL);
    m->reg = r;
    m->kind = kind;
    m->type = types[kind];
    m->nvals = 1;
    int rc = -ENOMEM;
    m->name = xstrndup(name, strlen(name));
    m->help = help ? xstrndup(help, strlen(help)) : NULL;
    m->dict = calloc(SHARD_TAB0, sizeof(*m->dict));
    m->dictcap = SHARD_TAB0;
    if (!m->name || (help && !m->help) || !m->dict)
        goto fail;
    if ((rc = parse_labels(m, labels)) < 0)
        goto fail;
    *out = m;
    return 0;
fail:
    corio__metric_free(m);
    return rc;
}

static void labelset_free(struct corio__labelset *ls)
{
    free(ls);
}

void corio__metric_free(struct corio__metric *m)
{
    for (size_t i = 0; i <= CORIO__OBS_SLOTS; i++) {
        struct corio__shard *sh = atomic_load(&m->shards[i]);
        if (!sh)
            continue;
        struct corio_metric_series *s = atomic_load(&sh->list);
        while (s) {
            struct corio_metric_series *next = s->next;
            free(s);
            s = next;
        }
        free(sh->tab);
        pthread_mutex_destroy(&sh->mu);
        free(sh);
    }
    struct corio__labelset *ls = atomic_load(&m->sets);
    while (ls) {
        struct corio__labelset *next = ls->next;
        labelset_free(ls);
        ls = next;
    }
    if (m->overflow)
        labelset_free(m->overflow);
    for (size_t i = 0; i < m->nlabels; i++)
        free(m->label[i]);
    free(m->dict);
    free(m->bounds);
    free(m->name);
    free(m->help);
    pthread_mutex_destroy(&m->mu);
    free(m);
}

int corio__metric_link_locked(corio_metrics *r, struct corio__metric *m)
{
    if (strcmp(m->name, DROPPED_FAMILY) == 0)
        return -EEXIST;
    for (struct corio__metric *p = atomic_load(&r->first); p; p = atomic_load(&p->next))
        if (strcmp(p->name, m->name) == 0)
            return -EEXIST;
    /* Fully built before it becomes reachable: scrapes walk the list without the lock. */
    if (r->last)
        atomic_store_explicit(&r->last->next, m, memory_order_release);
    else
        atomic_store_explicit(&r->first, m, memory_order_release);
    r->last = m;
    return 0;
}

static int link_or_free(corio_metrics *r, struct corio__metric *m, void **out)
{
    pthread_mutex_lock(&r->mu);
    int rc = corio__metric_link_locked(r, m);
    pthread_mutex_unlock(&r->mu);
    if (rc < 0) {
        corio__metric_free(m);
        return rc;
    }
    if (out)
        *out = m;
    return 0;
}

static struct corio__labelset *labelset_get(struct corio__metric *m, uint64_t h,
                                            const char *const *vals, const size_t *lens);

/* Declares a counter, gauge or histogram (after the kind-specific set-up by the caller). An
 * unlabelled family gets its single label set now, so it renders (as 0) before any recording. */
static int declare(corio_metrics *r, struct corio__metric *m, void **out)
{
    if (m->nlabels == 0) {
        pthread_mutex_lock(&m->mu);
        struct corio__labelset *ls = labelset_get(m, 0, NULL, NULL);
        pthread_mutex_unlock(&m->mu);
        if (!ls) {
            corio__metric_free(m);
            return -ENOMEM;
        }
    }
    return link_or_free(r, m, out);
}

int corio_counter_register(corio_metrics *r, const char *name, const char *help, const char *labels,
                           corio_counter **out)
{
    struct corio__metric *m;
    *out = NULL;
    int rc = corio__metric_new(r, CORIO__M_COUNTER, name, help, labels, &m);
    return rc < 0 ? rc : declare(r, m, (void **)out);
}

int corio_gauge_register(corio_metrics *r, const char *name, const char *help, const char *labels,
                         corio_gauge **out)
{
    struct corio__metric *m;
    *out = NULL;
    int rc = corio__metric_new(r, CORIO__M_GAUGE, name, help, labels, &m);
    return rc < 0 ? rc : declare(r, m, (void **)out);
}

int corio_histogram_register(corio_metrics *r, const char *name, const char *help,
                             const char *labels, const double *buckets, size_t nbuckets,
                             corio_histogram **out)
{
    struct corio__metric *m;
    *out = NULL;
    if (!buckets) {
        buckets = corio_metrics_default_buckets;
        nbuckets = CORIO_METRICS_DEFAULT_NBUCKETS;
    }
    if (nbuckets > CORIO_METRICS_MAX_BUCKETS)
        return -EINVAL;
    for (size_t i = 0; i < nbuckets; i++)
        if (!isfinite(buckets[i]) || (i > 0 && !(buckets[i] > buckets[i - 1])))
            return -EINVAL;
    int rc = corio__metric_new(r, CORIO__M_HISTOGRAM, name, help, labels, &m);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < m->nlabels; i++) {
        if (strcmp(m->label[i], "le") == 0) {
            corio__metric_free(m);
            return -EINVAL;
        }
    }
    m->nbuckets = nbuckets;
    m->nvals = 2 + nbuckets;
    m->bounds = malloc((nbuckets ? nbuckets : 1) * sizeof(double));
    if (!m->bounds) {
        corio__metric_free(m);
        return -ENOMEM;
    }
    if (nbuckets)
        memcpy(m->bounds, buckets, nbuckets * sizeof(double));
    return declare(r, m, (void **)out);
}

static int func_register(corio_metrics *r, const char *type, const char *name, const char *help,
                         double (*fn)(void *ctx), void *ctx)
{
    struct corio__metric *m;
    if (!fn)
        return -EINVAL;
    int rc = corio__metric_new(r, CORIO__M_FUNC, name, help, NULL, &m);
    if (rc < 0)
        return rc;
    m->type = type;
    m->fn = fn;
    m->ctx = ctx;
    return link_or_free(r, m, NULL);
}

int corio_gauge_func_register(corio_metrics *r, const char *name, const char *help,
                              double (*fn)(void *ctx), void *ctx)
{
    return func_register(r, "gauge", name, help, fn, ctx);
}

int corio_counter_func_register(corio_metrics *r, const char *name, const char *help,
                                double (*fn)(void *ctx), void *ctx)
{
    return func_register(r, "counter", name, help, fn, ctx);
}

uint64_t corio_metrics_dropped_label_sets(corio_metrics *r, const char *name)
{
    for (struct corio__metric *m = atomic_load_explicit(&r->first, memory_order_acquire); m;
         m = atomic_load_explicit(&m->next, memory_order_acquire))
        if (strcmp(m->name, name) == 0)
            return atomic_load_explicit(&m->dropped, memory_order_relaxed);
    return 0;
}

/* ---- label sets ----------------------------------------------------------------------------- */

static uint64_t hash_values(const char *const *vals, const size_t *lens, size_t n)
{
    uint64_t h = 0xcbf29ce484222325u; /* FNV-1a, with a separator so ("ab","") != ("a","b") */
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < lens[i]; j++)
            h = (h ^ (unsigned char)vals[i][j]) * 0x100000001b3u;
        h = (h ^ 0xff) * 0x100000001b3u;
    }
    return h ^ (h >> 29);
}

static bool labelset_eq(const struct corio__labelset *ls, size_t n, const char *const *vals,
                        const size_t *lens)
{
    for (size_t i = 0; i < n; i++)
        if (ls->len[i] != lens[i] || memcmp(ls->val[i], vals[i], lens[i]) != 0)
            return false;
    return true;
}

static struct corio__labelset *labelset_new(size_t n, const char *const *vals, const size_t *lens)
{
    size_t bytes = sizeof(struct corio__labelset);
    for (size_t i = 0; i < n; i++)
        bytes += lens[i] + 1;
    struct corio__labelset *ls = calloc(1, bytes);
    if (!ls)
        return NULL;
    char *p = (char *)(ls + 1);
    for (size_t i = 0; i < n; i++) {
        memcpy(p, vals[i], lens[i]);
        p[lens[i]] = 0;
        ls->val[i] = p;
        ls->len[i] = (uint32_t)lens[i];
        p += lens[i] + 1;
    }
    return ls;
}

static void dict_grow(struct corio__metric *m)
{
    size_t cap = m->dictcap * 2;
    struct corio__labelset **d = calloc(cap, sizeof(*d));
    if (!d)
        return; /* longer chains, still correct */
    for (size_t i = 0; i < m->dictcap; i++) {
        for (struct corio__labelset *ls = m->dict[i], *next; ls; ls = next) {
            next = ls->hnext;
            ls->hnext = d[ls->hash & (cap - 1)];
            d[ls->hash & (cap - 1)] = ls;
        }
    }
    free(m->dict);
    m->dict = d;
    m->dictcap = cap;
}

/* The canonical set for the values, created if new and within the limit, else the overflow set
 * (created on first need); NULL only when out of memory. m->mu held. */
static struct corio__labelset *labelset_get(struct corio__metric *m, uint64_t h,
                                            const char *const *vals, const size_t *lens)
{
    for (struct corio__labelset *ls = m->dict[h & (m->dictcap - 1)]; ls; ls = ls->hnext)
        if (ls->hash == h && labelset_eq(ls, m->nlabels, vals, lens))
            return ls;
    uint32_t n = atomic_load_explicit(&m->nsets, memory_order_relaxed);
    if (n >= m->reg->max_sets) {
        atomic_fetch_add_explicit(&m->dropped, 1, memory_order_relaxed);
        if (!m->overflow) {
            const char *ov[CORIO_METRICS_MAX_LABELS];
            size_t ol[CORIO_METRICS_MAX_LABELS];
            for (size_t i = 0; i < m->nlabels; i++) {
                ov[i] = OVERFLOW_VALUE;
                ol[i] = sizeof(OVERFLOW_VALUE) - 1;
            }
            m->overflow = labelset_new(m->nlabels, ov, ol);
            if (m->overflow)
                m->overflow->index = UINT32_MAX;
        }
        return m->overflow;
    }
    struct corio__labelset *ls = labelset_new(m->nlabels, vals, lens);
    if (!ls)
        return NULL;
    ls->hash = h;
    ls->index = n;
    ls->hnext = m->dict[h & (m->dictcap - 1)];
    m->dict[h & (m->dictcap - 1)] = ls;
    ls->next = atomic_load_explicit(&m->sets, memory_order_relaxed);
    /* The list first, then the count: a scrape that reads count n finds sets 0..n-1 listed. */
    atomic_store_explicit(&m->sets, ls, memory_order_release);
    atomic_store_explicit(&m->nsets, n + 1, memory_order_release);
    if (n + 1 > m->dictcap)
        dict_grow(m);
    return ls;
}

/* ---- shards and series ---------------------------------------------------------------------- */

static struct corio__shard *shard_get(struct corio__metric *m, int slot)
{
    struct corio__shard *sh = atomic_load_explicit(&m->shards[slot], memory_order_acquire);
    if (sh)
        return sh;
    sh = calloc(1, sizeof(*sh));
    if (!sh)
        return NULL;
    sh->tab = calloc(SHARD_TAB0, sizeof(*sh->tab));
    if (!sh->tab) {
        free(sh);
        return NULL;
    }
    sh->tabcap = SHARD_TAB0;
    pthread_mutex_init(&sh->mu, NULL);
    /* Only the shared slot can race here (an owned slot has one thread). */
    struct corio__shard *expected = NULL;
    if (!atomic_compare_exchange_strong_explicit(&m->shards[slot], &expected, sh,
                                                 memory_order_acq_rel, memory_order_acquire)) {
        pthread_mutex_destroy(&sh->mu);
        free(sh->tab);
        free(sh);
        return expected;
    }
    return sh;
}

static void shard_grow(struct corio__shard *sh)
{
    size_t cap = sh->tabcap * 2;
    struct corio_metric_series **t = calloc(cap, sizeof(*t));
    if (!t)
        return;
    for (size_t i = 0; i < sh->tabcap; i++) {
        for (struct corio_metric_series *s = sh->tab[i], *next; s; s = next) {
            next = s->hnext;
            s->hnext = t[s->hash & (cap - 1)];
            t[s->hash & (cap - 1)] = s;
        }
    }
    free(sh->tab);
    sh->tab = t;
    sh->tabcap = cap;
}

static struct corio_metric_series *series_new(struct corio__metric *m,
                                              const struct corio__labelset *ls, uint64_t h)
{
    /* A cache line of its own (or several), so two threads' series never share one. */
    size_t bytes = sizeof(struct corio_metric_series) + m->nvals * sizeof(uint64_t);
    bytes = (bytes + 63) & ~(size_t)63;
    struct corio_metric_series *s = aligned_alloc(64, bytes);
    if (!s)
        return NULL;
    memset(s, 0, bytes);
    s->m = m;
    s->ls = ls;
    s->hash = h;
    return s;
}

static void shard_publish(struct corio__shard *sh, struct corio_metric_series *s)
{
    s->next = atomic_load_explicit(&sh->list, memory_order_relaxed);
    atomic_store_explicit(&sh->list, s, memory_order_release);
}

/* A set this shard has not seen: find or create the canonical set, then this shard's series. */
static struct corio_metric_series *shard_miss(struct corio__metric *m, struct corio__shard *sh,
                                              uint64_t h, const char *const *vals,
                                              const size_t *lens)
{
    pthread_mutex_lock(&m->mu);
    struct corio__labelset *ls = labelset_get(m, h, vals, lens);
    pthread_mutex_unlock(&m->mu);
    if (!ls)
        return NULL;
    if (ls->index == UINT32_MAX) {
        /* The overflow series is listed (for scrapes) but not in the table: the refused values
         * are not remembered, so every resolution of them comes here and counts. */
        if (!sh->overflow) {
            sh->overflow = series_new(m, ls, 0);
            if (sh->overflow)
                shard_publish(sh, sh->overflow);
        }
        return sh->overflow;
    }
    struct corio_metric_series *s = series_new(m, ls, h);
    if (!s)
        return NULL;
    s->hnext = sh->tab[h & (sh->tabcap - 1)];
    sh->tab[h & (sh->tabcap - 1)] = s;
    shard_publish(sh, s);
    if (++sh->n > sh->tabcap)
        shard_grow(sh);
    return s;
}

static corio_metric_series *resolve(struct corio__metric *m, enum corio__metric_kind kind,
                                    const char *const *values, size_t n)
{
    OBS_ASSERT(m && m->kind == kind);
    OBS_ASSERT(n == m->nlabels);
    const char *vals[CORIO_METRICS_MAX_LABELS];
    size_t lens[CORIO_METRICS_MAX_LABELS];
    for (size_t i = 0; i < n; i++) {
        vals[i] = values[i] ? values[i] : "";
        lens[i] = strnlen(vals[i], CORIO_METRICS_MAX_VALUE_LEN);
    }
    uint64_t h = n ? hash_values(vals, lens, n) : 0;
    int slot = corio__obs_thread_slot();
    struct corio__shard *sh = shard_get(m, slot);
    if (!sh)
        return NULL;
    bool shared = slot == CORIO__OBS_SHARED_SLOT;
    if (shared)
        pthread_mutex_lock(&sh->mu);
    struct corio_metric_series *s = sh->tab[h & (sh->tabcap - 1)];
    while (s && !(s->hash == h && labelset_eq(s->ls, n, vals, lens)))
        s = s->hnext;
    if (!s)
        s = shard_miss(m, sh, h, vals, lens);
    if (shared)
        pthread_mutex_unlock(&sh->mu);
    return s;
}

corio_metric_series *corio_counter_labelsv(corio_counter *c, const char *const *values, size_t n)
{
    return resolve((struct corio__metric *)c, CORIO__M_COUNTER, values, n);
}

corio_metric_series *corio_gauge_labelsv(corio_gauge *g, const char *const *values, size_t n)
{
    return resolve((struct corio__metric *)g, CORIO__M_GAUGE, values, n);
}

corio_metric_series *corio_histogram_labelsv(corio_histogram *h, const char *const *values,
                                             size_t n)
{
    return resolve((struct corio__metric *)h, CORIO__M_HISTOGRAM, values, n);
}

/* ---- recording ------------------------------------------------------------------------------ */

static uint64_t dbits(double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    return u;
}

static double bitsd(uint64_t u)
{
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

/* A relaxed atomic double add. The series is normally written by one thread only, so the
 * compare-exchange succeeds the first time. */
static void add_double(_Atomic uint64_t *p, double delta)
{
    uint64_t old = atomic_load_explicit(p, memory_order_relaxed);
    while (!atomic_compare_exchange_weak_explicit(p, &old, dbits(bitsd(old) + delta),
                                                  memory_order_relaxed, memory_order_relaxed))
        ;
}

void corio_counter_add(corio_metric_series *s, uint64_t n)
{
    if (!s)
        return;
    OBS_DASSERT(s->m->kind == CORIO__M_COUNTER);
    atomic_fetch_add_explicit(&s->v[0], n, memory_order_relaxed);
}

void corio_gauge_set(corio_metric_series *s, double v)
{
    if (!s)
        return;
    OBS_DASSERT(s->m->kind == CORIO__M_GAUGE);
    atomic_store_explicit(&s->v[0], dbits(v), memory_order_relaxed);
}

void corio_gauge_add(corio_metric_series *s, double delta)
{
    if (!s)
        return;
    OBS_DASSERT(s->m->kind == CORIO__M_GAUGE);
    add_double(&s->v[0], delta);
}

void corio_histogram_observe(corio_metric_series *s, double v)
{
    if (!s || isnan(v))
        return;
    const struct corio__metric *m = s->m;
    OBS_DASSERT(m->kind == CORIO__M_HISTOGRAM);
    /* The first bound >= v ("le"); nbuckets when v is above them all (+Inf). */
    size_t lo = 0, hi = m->nbuckets;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (v <= m->bounds[mid])
            hi = mid;
        else
            lo = mid + 1;
    }
    atomic_fetch_add_explicit(&s->v[1 + lo], 1, memory_order_relaxed);
    add_double(&s->v[0], v);
}

void corio_histogram_observe_ns(corio_metric_series *s, int64_t ns)
{
    corio_histogram_observe(s, (double)ns / 1e9);
}
