/* SPDX-License-Identifier: MIT */
/* Metrics across threads (runs under TSan): shards of 4 threads summed exactly while a scraper
 * renders concurrently and checks every intermediate scrape, one handle shared by threads,
 * more threads than slots (the shared slot), slots reused by threads that come and go, and
 * 4 worker loops recording and publishing their runtime counters.
 */
#include "test.h"

#include "harness/prom_parse.h"

#include "corio/core.h"
#include "corio/obs.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>

static void render_parse(corio_metrics *r, struct prom_doc *d)
{
    char *text, err[256];
    size_t len;
    ASSERT_EQ(corio_metrics_render(r, &text, &len), 0);
    if (prom_parse(text, len, d, err, sizeof err) != 0) {
        fprintf(stderr, "%s\n", err);
        ASSERT(!"exposition did not parse");
    }
    free(text);
}

struct fixture {
    corio_metrics *r;
    corio_counter *c;
    corio_gauge *g;
    corio_histogram *h;
    _Atomic int stop;
    _Atomic int scrapes;
};

static void fixture_init(struct fixture *f)
{
    memset(f, 0, sizeof(*f));
    ASSERT_EQ(corio_metrics_new(NULL, &f->r), 0);
    ASSERT_EQ(corio_counter_register(f->r, "ops_total", "ops", "who", &f->c), 0);
    ASSERT_EQ(corio_gauge_register(f->r, "level", "lvl", NULL, &f->g), 0);
    ASSERT_EQ(corio_histogram_register(f->r, "lat_seconds", "lat", "who",
                                       (const double[]){0.5, 1.5}, 2, &f->h),
              0);
}

enum { NT = 4, ITERS = 20000 };

struct worker_arg {
    struct fixture *f;
    int id;
};

static void *recorder(void *p)
{
    struct worker_arg *a = p;
    struct fixture *f = a->f;
    char own[16];
    snprintf(own, sizeof own, "t%d", a->id);
    corio_metric_series *g = corio_gauge_labelsv(f->g, NULL, 0);
    for (int i = 0; i < ITERS; i++) {
        /* Resolve every time for half of it, keep the handle for the other half. */
        corio_counter_add(corio_counter_labels(f->c, "all"), 1);
        corio_counter_add(corio_counter_labels(f->c, own), 2);
        corio_gauge_add(g, 1);
        corio_histogram_observe(corio_histogram_labels(f->h, "all"), (double)(i % 3));
        corio_gauge_add(g, -1);
    }
    return NULL;
}

/* Renders over and over while the recorders run: every scrape must parse (histogram
 * invariants included) and counters must never go backwards. */
static void *scraper(void *p)
{
    struct fixture *f = p;
    double last = 0;
    while (!atomic_load(&f->stop)) {
        struct prom_doc d;
        double v;
        render_parse(f->r, &d);
        if (prom_value(&d, &v, "ops_total", "who", "all", NULL)) {
            ASSERT_GE(v, last);
            last = v;
        }
        prom_free(&d);
        atomic_fetch_add(&f->scrapes, 1);
    }
    return NULL;
}

TEST_TIMEOUT(shards_of_four_threads_sum_exactly_while_scraped, 120)
{
    static struct fixture f;
    fixture_init(&f);
    pthread_t t[NT], s;
    struct worker_arg args[NT];
    ASSERT_EQ(pthread_create(&s, NULL, scraper, &f), 0);
    for (int i = 0; i < NT; i++) {
        args[i] = (struct worker_arg){&f, i};
        ASSERT_EQ(pthread_create(&t[i], NULL, recorder, &args[i]), 0);
    }
    for (int i = 0; i < NT; i++)
        ASSERT_EQ(pthread_join(t[i], NULL), 0);
    /* At least one scrape after the recorders are done (and usually many during). */
    int seen = atomic_load(&f.scrapes);
    while (atomic_load(&f.scrapes) < seen + 1)
        sched_yield();
    atomic_store(&f.stop, 1);
    ASSERT_EQ(pthread_join(s, NULL), 0);

    struct prom_doc d;
    double v;
    render_parse(f.r, &d);
    ASSERT(prom_value(&d, &v, "ops_total", "who", "all", NULL));
    ASSERT_EQ(v, NT * ITERS);
    for (int i = 0; i < NT; i++) {
        char own[16];
        snprintf(own, sizeof own, "t%d", i);
        ASSERT(prom_value(&d, &v, "ops_total", "who", own, NULL));
        ASSERT_EQ(v, 2 * ITERS);
    }
    ASSERT(prom_value(&d, &v, "level", NULL));
    ASSERT(v == 0);
    /* i % 3 = 0, 1, 2: buckets le=0.5 gets the 0s, le=1.5 the 1s, +Inf the 2s. */
    int per = ITERS / 3, rest = ITERS % 3;
    ASSERT(prom_value(&d, &v, "lat_seconds_bucket", "who", "all", "le", "0.5", NULL));
    ASSERT_EQ(v, NT * (per + (rest > 0)));
    ASSERT(prom_value(&d, &v, "lat_seconds_bucket", "who", "all", "le", "1.5", NULL));
    ASSERT_EQ(v, NT * (2 * per + (rest > 0) + (rest > 1)));
    ASSERT(prom_value(&d, &v, "lat_seconds_count", "who", "all", NULL));
    ASSERT_EQ(v, NT * ITERS);
    ASSERT(prom_value(&d, &v, "lat_seconds_sum", "who", "all", NULL));
    ASSERT_EQ(v, NT * (per * 3 + (rest > 1 ? 1 : 0)));
    prom_free(&d);
    corio_metrics_free(f.r);
}

/* ---- one handle, several threads ------------------------------------------------------------- */

struct shared_arg {
    corio_metric_series *c, *g, *h;
};

static void *use_shared(void *p)
{
    struct shared_arg *a = p;
    for (int i = 0; i < ITERS; i++) {
        corio_counter_add(a->c, 1);
        corio_gauge_add(a->g, 0.5);
        corio_histogram_observe(a->h, 1);
    }
    return NULL;
}

TEST_TIMEOUT(a_handle_used_from_other_threads_still_counts_exactly, 120)
{
    static struct fixture f;
    fixture_init(&f);
    struct shared_arg a = {corio_counter_labels(f.c, "shared"), corio_gauge_labelsv(f.g, NULL, 0),
                           corio_histogram_labels(f.h, "shared")};
    pthread_t t[NT];
    for (int i = 0; i < NT; i++)
        ASSERT_EQ(pthread_create(&t[i], NULL, use_shared, &a), 0);
    for (int i = 0; i < NT; i++)
        ASSERT_EQ(pthread_join(t[i], NULL), 0);
    struct prom_doc d;
    double v;
    render_parse(f.r, &d);
    ASSERT(prom_value(&d, &v, "ops_total", "who", "shared", NULL));
    ASSERT_EQ(v, NT * ITERS);
    ASSERT(prom_value(&d, &v, "level", NULL));
    ASSERT(v == NT * ITERS * 0.5);
    ASSERT(prom_value(&d, &v, "lat_seconds_sum", "who", "shared", NULL));
    ASSERT(v == NT * ITERS);
    prom_free(&d);
    corio_metrics_free(f.r);
}

/* ---- more threads than slots ------------------------------------------------------------------
 */

enum { MANY = 150, MANY_ITERS = 200 };

struct many_arg {
    struct fixture *f;
    pthread_barrier_t *all_alive;
};

static void *many_worker(void *p)
{
    struct many_arg *a = p;
    /* Everyone records once, then waits, so all MANY threads hold a slot at the same time and
     * the ones past CORIO__OBS_SLOTS share one. */
    corio_counter_add(corio_counter_labels(a->f->c, "many"), 1);
    pthread_barrier_wait(a->all_alive);
    for (int i = 1; i < MANY_ITERS; i++) {
        corio_counter_add(corio_counter_labels(a->f->c, "many"), 1);
        corio_histogram_observe(corio_histogram_labels(a->f->h, "many"), 1);
    }
    return NULL;
}

TEST_TIMEOUT(more_threads_than_slots_share_one_and_count_exactly, 120)
{
    static struct fixture f;
    fixture_init(&f);
    pthread_barrier_t bar;
    pthread_barrier_init(&bar, NULL, MANY);
    struct many_arg a = {&f, &bar};
    static pthread_t t[MANY];
    for (int i = 0; i < MANY; i++)
        ASSERT_EQ(pthread_create(&t[i], NULL, many_worker, &a), 0);
    for (int i = 0; i < MANY; i++)
        ASSERT_EQ(pthread_join(t[i], NULL), 0);
    pthread_barrier_destroy(&bar);
    struct prom_doc d;
    double v;
    render_parse(f.r, &d);
    ASSERT(prom_value(&d, &v, "ops_total", "who", "many", NULL));
    ASSERT_EQ(v, MANY * MANY_ITERS);
    ASSERT(prom_value(&d, &v, "lat_seconds_count", "who", "many", NULL));
    ASSERT_EQ(v, MANY * (MANY_ITERS - 1));
    prom_free(&d);
    corio_metrics_free(f.r);
}

static void *short_lived(void *p)
{
    struct fixture *f = p;
    for (int i = 0; i < 10; i++)
        corio_counter_add(corio_counter_labels(f->c, "short"), 1);
    return NULL;
}

TEST_TIMEOUT(threads_that_come_and_go_reuse_slots_without_losing_counts, 120)
{
    static struct fixture f;
    fixture_init(&f);
    for (int round = 0; round < 100; round++) {
        pthread_t t[3];
        for (int i = 0; i < 3; i++)
            ASSERT_EQ(pthread_create(&t[i], NULL, short_lived, &f), 0);
        for (int i = 0; i < 3; i++)
            ASSERT_EQ(pthread_join(t[i], NULL), 0);
    }
    struct prom_doc d;
    double v;
    render_parse(f.r, &d);
    ASSERT(prom_value(&d, &v, "ops_total", "who", "short", NULL));
    ASSERT_EQ(v, 100 * 3 * 10);
    prom_free(&d);
    corio_metrics_free(f.r);
}

/* ---- worker loops ------------------------------------------------------------------------------
 */

enum { NW = 4, LOOP_ITERS = 5000 };

static struct fixture loops_f;
static _Atomic int registered;

static int loop_main(void *arg)
{
    (void)arg;
    ASSERT_EQ(corio_metrics_runtime_register(loops_f.r, 0), 0);
    atomic_fetch_add(&registered, 1);
    corio_metric_series *mine = corio_counter_labels(loops_f.c, "loops");
    for (int i = 0; i < LOOP_ITERS; i++) {
        corio_counter_add(mine, 1);
        if (i % 1000 == 0)
            ASSERT_EQ(corio_yield(), 0);
    }
    if (corio_worker_id() == 0) {
        /* Scrape from a loop while the others may still record or register. */
        while (atomic_load(&registered) < NW)
            ASSERT_EQ(corio_sleep(CORIO_MS), 0);
        struct prom_doc d;
        render_parse(loops_f.r, &d);
        for (int w = 0; w < NW; w++) {
            char id[16];
            snprintf(id, sizeof id, "%d", w);
            ASSERT_NOT_NULL(prom_find(&d, "corio_tasks_spawned_total", "worker", id, NULL));
        }
        prom_free(&d);
    }
    return 0;
}

TEST_TIMEOUT(worker_loops_record_into_their_own_shards, 120)
{
    fixture_init(&loops_f);
    atomic_store(&registered, 0);
    struct corio_run_opts o = {.workers = NW, .watchdog_ns = -1};
    ASSERT_EQ(corio_run(&o, loop_main, NULL), 0);
    struct prom_doc d;
    double v;
    render_parse(loops_f.r, &d);
    ASSERT(prom_value(&d, &v, "ops_total", "who", "loops", NULL));
    ASSERT_EQ(v, NW * LOOP_ITERS);
    for (int w = 0; w < NW; w++) {
        char id[16];
        snprintf(id, sizeof id, "%d", w);
        ASSERT(prom_value(&d, &v, "corio_tasks_spawned_total", "worker", id, NULL));
        ASSERT_GE(v, 1); /* main, at the snapshot taken by the registration */
    }
    ASSERT(!prom_find(&d, "corio_tasks_spawned_total", "worker", "4", NULL));
    prom_free(&d);
    corio_metrics_free(loops_f.r);
}
