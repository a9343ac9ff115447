/* SPDX-License-Identifier: MIT */
/* Task listing, loop counters and the watchdog.
 *
 * The watchdog is one thread per run. Every quarter of the threshold it samples each loop's
 * switch counter and running task (both published by the loop with plain atomic stores, so the
 * hot path pays no clock read and no locked instruction). A loop whose counter has not moved
 * while the same task ran for a whole threshold is reported once per stall, naming the task and
 * where it was spawned.
 */
#include "core_int.h"
#include "corio/diag.h"

#include <errno.h>
#include <string.h>
#include <time.h>

static const char *state_name(uint8_t s)
{
    switch (s) {
    case CORIO__RUNNING:
        return "running";
    case CORIO__RUNNABLE:
        return "runnable";
    case CORIO__WAITING:
        return "waiting";
    default:
        return "done";
    }
}

size_t corio_tasks_foreach(int (*fn)(void *ctx, const struct corio_task_info *ti), void *ctx)
{
    corio_loop *l = corio__tls_loop;
    size_t n = 0;
    if (!l)
        return 0;
    for (struct corio__list *p = l->tasks.next; p != &l->tasks; p = p->next) {
        corio_task *t = corio__container_of(p, corio_task, anode);
        struct corio_task_info ti = {
            .id = t->id,
            .name = t->name,
            .state = state_name(t->state),
            .waits_on = t->state == CORIO__WAITING ? t->wait_what : NULL,
            .wait_arg = t->wait_arg,
            .age_ns = l->now - t->spawned_at,
            .deadline_ns = t->dl->_eff,
            .site = t->site ? t->site : "?",
            .parent_id = t->group->owner ? t->group->owner->id : 0,
            .cancelled = t->cancelled,
        };
        n++;
        if (fn(ctx, &ti))
            break;
    }
    return n;
}

void corio_loop_stats(struct corio_loop_stats *out)
{
    corio_loop *l = corio__tls_loop;
    memset(out, 0, sizeof(*out));
    if (!l)
        return;
    out->worker = l->index;
    out->tasks = l->ntasks;
    out->runnable = l->rq_len;
    out->spawned = l->c.spawned;
    out->finished = l->c.finished;
    out->switches = atomic_load_explicit(&l->c.switches, memory_order_relaxed);
    out->iterations = atomic_load_explicit(&l->c.iterations, memory_order_relaxed);
    out->timers = l->wheel.count;
    out->timers_fired = l->c.timers_fired;
    out->fd_waits = l->c.fd_waits;
    out->messages = l->c.msgs;
    out->stacks_mapped = l->stacks.mapped;
    out->stacks_free = l->stacks.nfree;
}

/* ---- watchdog -------------------------------------------------------------------------------- */

typedef void wd_hook_fn(void *ctx, const struct corio_watchdog_report *r);
static _Atomic(wd_hook_fn *) wd_hook;
static _Atomic(void *) wd_hook_ctx;

void corio_watchdog_set_hook(wd_hook_fn *fn, void *ctx)
{
    atomic_store(&wd_hook_ctx, ctx);
    atomic_store(&wd_hook, fn);
}

struct wd_loop {
    uint64_t switches;
    corio_task *task;
    int64_t since; /* when this stall was first seen; 0 = none */
    bool reported;
};

struct corio__wd {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool stop;
    int64_t threshold;
    struct corio__rt *rt;
    struct wd_loop *loops;
};

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * CORIO_S + ts.tv_nsec;
}

#if CORIO_TSAN
/* The dynamic annotations every ThreadSanitizer runtime (gcc's and clang's) exports. */
void AnnotateIgnoreReadsBegin(const char *file, int line);
void AnnotateIgnoreReadsEnd(const char *file, int line);
#define SEQ_READ_BEGIN() AnnotateIgnoreReadsBegin(__FILE__, __LINE__)
#define SEQ_READ_END() AnnotateIgnoreReadsEnd(__FILE__, __LINE__)
#else
#define SEQ_READ_BEGIN() ((void)0)
#define SEQ_READ_END() ((void)0)
#endif

static void report(struct corio__wd *wd, int i, corio_task *t, int64_t held)
{
    corio_loop *l = wd->rt->loops[i];
    struct corio_watchdog_report r = {.worker = i, .held_ns = held};
    /* A seqlock read: the loop thread owns the task struct and may reuse it for another task
     * once it switches; the switch counter, read again after the copy, tells whether that
     * happened (then the copy may be torn, and the stall is over anyway, so nothing is
     * reported). The copy itself is racy by design, hence hidden from ThreadSanitizer. */
    SEQ_READ_BEGIN();
    r.task_id = t->id;
    memcpy(r.name, t->name, sizeof r.name);
    r.site = t->site ? t->site : "?";
    SEQ_READ_END();
    r.name[sizeof r.name - 1] = 0;
    if (atomic_load_explicit(&l->c.switches, memory_order_acquire) != wd->loops[i].switches)
        return;
    corio_log(CORIO_LOG_WARN, "core",
              "watchdog: task '%s' (id %llu, spawned at %s) has held worker %d for %lld ms "
              "without yielding",
              r.name, (unsigned long long)r.task_id, r.site, i, (long long)(held / CORIO_MS));
    wd_hook_fn *fn = atomic_load(&wd_hook);
    if (fn)
        fn(atomic_load(&wd_hook_ctx), &r);
}

static void sample(struct corio__wd *wd, int64_t now)
{
    for (int i = 0; i < wd->rt->nloops; i++) {
        corio_loop *l = wd->rt->loops[i];
        struct wd_loop *s = &wd->loops[i];
        uint64_t sw = atomic_load_explicit(&l->c.switches, memory_order_relaxed);
        corio_task *t = atomic_load_explicit(&l->wd_task, memory_order_acquire);
        if (t == NULL || sw != s->switches || t != s->task) {
            s->switches = sw;
            s->task = t;
            s->since = now;
            s->reported = false;
            continue;
        }
        if (!s->reported && now - s->since >= wd->threshold) {
            s->reported = true;
            report(wd, i, t, now - s->since);
        }
    }
}

static void *wd_thread(void *arg)
{
    struct corio__wd *wd = arg;
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
    int64_t period = wd->threshold / 4;
    if (period < CORIO_MS)
        period = CORIO_MS;
    pthread_mutex_lock(&wd->lock);
    while (!wd->stop) {
        int64_t now = mono_ns();
        sample(wd, now);
        int64_t at = now + period;
        struct timespec ts = {.tv_sec = at / CORIO_S, .tv_nsec = at % CORIO_S};
        pthread_cond_timedwait(&wd->cond, &wd->lock, &ts);
    }
    pthread_mutex_unlock(&wd->lock);
    return NULL;
}

int corio__watchdog_start(struct corio__rt *rt)
{
    if (rt->o.watchdog_ns < 0)
        return 0;
    struct corio__wd *wd = calloc(1, sizeof(*wd));
    if (!wd)
        return -ENOMEM;
    wd->loops = calloc((size_t)rt->nloops, sizeof(*wd->loops));
    if (!wd->loops) {
        free(wd);
        return -ENOMEM;
    }
    wd->rt = rt;
    wd->threshold = rt->o.watchdog_ns;
    pthread_mutex_init(&wd->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&wd->cond, &ca);
    pthread_condattr_destroy(&ca);
    int rc = pthread_create(&wd->thread, NULL, wd_thread, wd);
    if (rc) {
        pthread_cond_destroy(&wd->cond);
        pthread_mutex_destroy(&wd->lock);
        free(wd->loops);
        free(wd);
        return -rc;
    }
    rt->wd = wd;
    return 0;
}

void corio__watchdog_stop(struct corio__rt *rt)
{
    struct corio__wd *wd = rt->wd;
    if (!wd)
        return;
    pthread_mutex_lock(&wd->lock);
    wd->stop = true;
    pthread_cond_signal(&wd->cond);
    pthread_mutex_unlock(&wd->lock);
    pthread_join(wd->thread, NULL);
    pthread_cond_destroy(&wd->cond);
    pthread_mutex_destroy(&wd->lock);
    free(wd->loops);
    free(wd);
    rt->wd = NULL;
}
