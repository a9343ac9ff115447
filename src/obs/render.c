/* SPDX-License-Identifier: MIT */
/* Prometheus text exposition (format 0.0.4) of a registry.
 *
 * A scrape walks the registry's family list and, per family, sums every shard's series into a
 * scratch array indexed by label-set creation order, then prints one sample (or one histogram
 * block) per set. It only reads what metrics.c published with release stores, with acquire and
 * relaxed atomic loads, and takes no lock: recording threads never wait for a scrape. Sets
 * created after the scrape read the family's set count are left for the next scrape.
 *
 * Histogram counts are stored per bucket (not cumulative) and _count is computed as their sum,
 * so a scrape that races with observations still prints non-decreasing buckets whose +Inf
 * equals _count; only _sum may be off by the observations in flight.
 *
 * Deliberately not here: the OpenMetrics format, timestamps, and sorting (samples come in the
 * order their label sets were first seen, families in the order they were declared).
 */
#include "obs_int.h"

#include <errno.h>
#include <string.h>

static double bitsd(uint64_t u)
{
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

static void put_double(struct corio__obs_buf *b, double v)
{
    char tmp[32];
    corio__obs_buf_put(b, tmp, corio__fmt_double(tmp, v));
}

static void put_header(struct corio__obs_buf *b, const char *name, const char *help,
                       const char *type)
{
    if (help) {
        corio__obs_buf_printf(b, "# HELP %s ", name);
        corio__prom_escape(b, help, strlen(help), false);
        corio__obs_buf_putc(b, '\n');
    }
    corio__obs_buf_printf(b, "# TYPE %s %s\n", name, type);
}

/* name{l1="v1",...[,le="bound"]} followed by a space. */
static void put_sample_name(struct corio__obs_buf *b, const struct corio__metric *m,
                            const char *suffix, const struct corio__labelset *ls, const char *le)
{
    corio__obs_buf_puts(b, m->name);
    corio__obs_buf_puts(b, suffix);
    if (m->nlabels || le) {
        corio__obs_buf_putc(b, '{');
        for (size_t i = 0; i < m->nlabels; i++) {
            corio__obs_buf_printf(b, "%s%s=\"", i ? "," : "", m->label[i]);
            corio__prom_escape(b, ls->val[i], ls->len[i], true);
            corio__obs_buf_putc(b, '"');
        }
        if (le)
            corio__obs_buf_printf(b, "%sle=\"%s\"", m->nlabels ? "," : "", le);
        corio__obs_buf_putc(b, '}');
    }
    corio__obs_buf_putc(b, ' ');
}

/* Per label set: the summed values. Counter: cnt[0]. Gauge: sum. Histogram: sum and
 * cnt[0..nbuckets] per bucket. */
struct acc {
    const struct corio__labelset *ls; /* NULL: no shard has this set (the overflow slot) */
    double sum;
    uint64_t cnt[];
};

static void put_set(struct corio__obs_buf *b, const struct corio__metric *m, const struct acc *a)
{
    if (m->kind == CORIO__M_COUNTER) {
        put_sample_name(b, m, "", a->ls, NULL);
        corio__obs_buf_printf(b, "%llu\n", (unsigned long long)a->cnt[0]);
        return;
    }
    if (m->kind == CORIO__M_GAUGE) {
        put_sample_name(b, m, "", a->ls, NULL);
        put_double(b, a->sum);
        corio__obs_buf_putc(b, '\n');
        return;
    }
    uint64_t cum = 0;
    char le[32];
    for (size_t i = 0; i <= m->nbuckets; i++) {
        cum += a->cnt[i];
        if (i < m->nbuckets)
            corio__fmt_double(le, m->bounds[i]);
        else
            strcpy(le, "+Inf");
        put_sample_name(b, m, "_bucket", a->ls, le);
        corio__obs_buf_printf(b, "%llu\n", (unsigned long long)cum);
    }
    put_sample_name(b, m, "_sum", a->ls, NULL);
    put_double(b, a->sum);
    corio__obs_buf_putc(b, '\n');
    put_sample_name(b, m, "_count", a->ls, NULL);
    corio__obs_buf_printf(b, "%llu\n", (unsigned long long)cum);
}

static void accumulate(const struct corio__metric *m, struct acc *a,
                       const struct corio_metric_series *s)
{
    a->ls = s->ls;
    if (m->kind == CORIO__M_COUNTER) {
        a->cnt[0] += atomic_load_explicit(&s->v[0], memory_order_relaxed);
        return;
    }
    a->sum += bitsd(atomic_load_explicit(&s->v[0], memory_order_relaxed));
    if (m->kind == CORIO__M_HISTOGRAM)
        for (size_t i = 0; i <= m->nbuckets; i++)
            a->cnt[i] += atomic_load_explicit(&s->v[1 + i], memory_order_relaxed);
}

static int render_series(struct corio__obs_buf *b, struct corio__metric *m)
{
    /* Count first, then the list: sets 0..n-1 are then all listed (see labelset_get). */
    uint32_t n = atomic_load_explicit(&m->nsets, memory_order_acquire);
    size_t ncnt = m->kind == CORIO__M_HISTOGRAM ? m->nbuckets + 1 : 1;
    size_t stride = (sizeof(struct acc) + ncnt * sizeof(uint64_t) + 7) & ~(size_t)7;
    char *mem = calloc((size_t)n + 1, stride); /* slot n: the overflow set */
    if (!mem)
        return -ENOMEM;
#define ACC(i) ((struct acc *)(void *)(mem + (size_t)(i)*stride))
    for (const struct corio__labelset *ls = atomic_load_explicit(&m->sets, memory_order_acquire);
         ls; ls = ls->next)
        if (ls->index < n)
            ACC(ls->index)->ls = ls;
    for (size_t slot = 0; slot <= CORIO__OBS_SLOTS; slot++) {
        struct corio__shard *sh = atomic_load_explicit(&m->shards[slot], memory_order_acquire);
        if (!sh)
            continue;
        for (const struct corio_metric_series *s =
                 atomic_load_explicit(&sh->list, memory_order_acquire);
             s; s = s->next) {
            uint32_t i = s->ls->index;
            if (i == UINT32_MAX)
                i = n;
            else if (i >= n)
                continue; /* newer than this scrape */
            accumulate(m, ACC(i), s);
        }
    }
    for (uint32_t i = 0; i <= n; i++)
        if (ACC(i)->ls)
            put_set(b, m, ACC(i));
#undef ACC
    free(mem);
    return 0;
}

static void render_dropped(corio_metrics *r, struct corio__obs_buf *b)
{
    bool any = false;
    for (struct corio__metric *m = atomic_load_explicit(&r->first, memory_order_acquire); m;
         m = atomic_load_explicit(&m->next, memory_order_acquire)) {
        uint64_t d = atomic_load_explicit(&m->dropped, memory_order_relaxed);
        if (!d)
            continue;
        if (!any)
            put_header(b, "corio_metrics_label_sets_dropped_total",
                       "Label sets refused because a metric reached its label-set limit; their "
                       "observations went to the __overflow__ series.",
                       "counter");
        any = true;
        corio__obs_buf_printf(b, "corio_metrics_label_sets_dropped_total{metric=\"%s\"} %llu\n",
                              m->name, (unsigned long long)d);
    }
}

int corio_metrics_render(corio_metrics *r, char **out, size_t *len)
{
    struct corio__obs_buf b = {0};
    *out = NULL;
    *len = 0;
    corio__obs_buf_put(&b, "", 0); /* an empty registry still gives a string */
    for (struct corio__metric *m = atomic_load_explicit(&r->first, memory_order_acquire); m;
         m = atomic_load_explicit(&m->next, memory_order_acquire)) {
        if (m->kind == CORIO__M_CUSTOM) {
            m->render(m, &b);
            continue;
        }
        put_header(&b, m->name, m->help, m->type);
        if (m->kind == CORIO__M_FUNC) {
            corio__obs_buf_printf(&b, "%s ", m->name);
            put_double(&b, m->fn(m->ctx));
            corio__obs_buf_putc(&b, '\n');
        } else if (render_series(&b, m) < 0) {
            b.oom = true;
        }
        if (b.oom)
            break;
    }
    render_dropped(r, &b);
    if (b.oom) {
        corio__obs_buf_free(&b);
        return -ENOMEM;
    }
    *out = b.p;
    *len = b.len;
    return 0;
}
