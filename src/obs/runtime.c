/* SPDX-License-Identifier: MIT */
/* The runtime families: each worker loop's counters (corio_loop_stats) in a registry.
 *
 * A loop's counters may be read only on its own thread, and rendering must work from any thread
 * without suspending, so each worker publishes its own: corio_metrics_runtime_register() takes a
 * snapshot on the calling loop and spawns a task in the loop's top group that takes one every
 * interval, storing each counter with a relaxed atomic store into the worker's row. A scrape
 * reads the rows with relaxed loads (values at most one interval old) and prints one sample per
 * worker seen. The rows live in the registry; the refresh task ends when its loop shuts down
 * (the top group is cancelled), which must happen before the registry is freed.
 *
 * Deliberately not here: process-level metrics (CPU, RSS, fds), which belong to a func gauge of
 * the application, and any reading of another loop's memory.
 */
#include "obs_int.h"
#include "corio/diag.h"

#include <errno.h>
#include <string.h>

enum {
    RT_TASKS,
    RT_RUNNABLE,
    RT_SPAWNED,
    RT_FINISHED,
    RT_SWITCHES,
    RT_ITERATIONS,
    RT_TIMERS,
    RT_TIMERS_FIRED,
    RT_FD_WAITS,
    RT_MESSAGES,
    RT_STACKS_MAPPED,
    RT_STACKS_FREE,
    RT_N
};

#define RT_MAX_WORKERS 256

static const struct {
    const char *name, *type, *help;
} fields[RT_N] = {
    [RT_TASKS] = {"corio_tasks", "gauge", "Live tasks of the worker loop."},
    [RT_RUNNABLE] = {"corio_tasks_runnable", "gauge", "Tasks ready to run."},
    [RT_SPAWNED] = {"corio_tasks_spawned_total", "counter", "Tasks spawned."},
    [RT_FINISHED] = {"corio_tasks_finished_total", "counter", "Tasks finished."},
    [RT_SWITCHES] = {"corio_context_switches_total", "counter", "Task switches."},
    [RT_ITERATIONS] = {"corio_loop_iterations_total", "counter", "Event loop iterations."},
    [RT_TIMERS] = {"corio_timers", "gauge", "Pending timers."},
    [RT_TIMERS_FIRED] = {"corio_timers_fired_total", "counter", "Timers fired."},
    [RT_FD_WAITS] = {"corio_fd_waits_total", "counter", "Waits for fd readiness."},
    [RT_MESSAGES] = {"corio_mailbox_messages_total", "counter",
                     "Cross-thread mailbox messages handled."},
    [RT_STACKS_MAPPED] = {"corio_stacks_mapped", "gauge", "Task stacks carved so far."},
    [RT_STACKS_FREE] = {"corio_stacks_free", "gauge", "Task stacks cached for reuse."},
};

struct corio__obs_runtime {
    _Atomic int nworkers; /* worker count of the latest run that published */
    struct {
        _Atomic uint64_t v[RT_N];
        _Atomic bool seen;
    } row[RT_MAX_WORKERS];
};

struct refresher {
    struct corio__obs_runtime *rt;
    int64_t interval;
};

void corio__obs_runtime_free(struct corio__obs_runtime *rt)
{
    free(rt);
}

static void snapshot(struct corio__obs_runtime *rt)
{
    struct corio_loop_stats st;
    corio_loop_stats(&st);
    if (st.worker < 0 || st.worker >= RT_MAX_WORKERS)
        return;
    const uint64_t v[RT_N] = {
        [RT_TASKS] = st.tasks,
        [RT_RUNNABLE] = st.runnable,
        [RT_SPAWNED] = st.spawned,
        [RT_FINISHED] = st.finished,
        [RT_SWITCHES] = st.switches,
        [RT_ITERATIONS] = st.iterations,
        [RT_TIMERS] = st.timers,
        [RT_TIMERS_FIRED] = st.timers_fired,
        [RT_FD_WAITS] = st.fd_waits,
        [RT_MESSAGES] = st.messages,
        [RT_STACKS_MAPPED] = st.stacks_mapped,
        [RT_STACKS_FREE] = st.stacks_free,
    };
    for (int i = 0; i < RT_N; i++)
        atomic_store_explicit(&rt->row[st.worker].v[i], v[i], memory_order_relaxed);
    atomic_store_explicit(&rt->row[st.worker].seen, true, memory_order_release);
    atomic_store_explicit(&rt->nworkers, corio_worker_count(), memory_order_relaxed);
}

static int refresh_task(void *arg)
{
    struct refresher *f = arg;
    while (corio_sleep(f->interval) == 0)
        snapshot(f->rt);
    free(f);
    return 0; /* cancelled at shutdown: not a failure of the top group */
}

static void render_field(struct corio__metric *m, struct corio__obs_buf *b)
{
    struct corio__obs_runtime *rt = m->ctx;
    corio__obs_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", m->name, m->help, m->name, m->type);
    int n = atomic_load_explicit(&rt->nworkers, memory_order_relaxed);
    for (int w = 0; w < n && w < RT_MAX_WORKERS; w++) {
        if (!atomic_load_explicit(&rt->row[w].seen, memory_order_acquire))
            continue;
        corio__obs_buf_printf(b, "%s{worker=\"%d\"} %llu\n", m->name, w,
                              (unsigned long long)atomic_load_explicit(&rt->row[w].v[m->field],
                                                                       memory_order_relaxed));
    }
}

/* Declares the twelve families at once, or none. r->mu held. */
static int declare_locked(corio_metrics *r)
{
    struct corio__metric *ms[RT_N] = {0};
    struct corio__obs_runtime *rt = calloc(1, sizeof(*rt));
    int rc = rt ? 0 : -ENOMEM;
    for (int i = 0; i < RT_N && rc == 0; i++) {
        for (struct corio__metric *p = atomic_load(&r->first); p && rc == 0;
             p = atomic_load(&p->next))
            if (strcmp(p->name, fields[i].name) == 0)
                rc = -EEXIST;
        if (rc == 0)
            rc =
                corio__metric_new(r, CORIO__M_CUSTOM, fields[i].name, fields[i].help, NULL, &ms[i]);
        if (rc == 0) {
            ms[i]->type = fields[i].type;
            ms[i]->render = render_field;
            ms[i]->ctx = rt;
            ms[i]->field = i;
        }
    }
    if (rc < 0) {
        for (int i = 0; i < RT_N; i++)
            if (ms[i])
                corio__metric_free(ms[i]);
        free(rt);
        return rc;
    }
    for (int i = 0; i < RT_N; i++) {
        rc = corio__metric_link_locked(r, ms[i]);
        OBS_ASSERT(rc == 0); /* names checked above, under the same lock */
    }
    r->runtime = rt;
    return 0;
}

int corio_metrics_runtime_register(corio_metrics *r, int64_t interval_ns)
{
    OBS_ASSERT(corio_self() != NULL);
    pthread_mutex_lock(&r->mu);
    int rc = r->runtime ? 0 : declare_locked(r);
    struct corio__obs_runtime *rt = r->runtime;
    pthread_mutex_unlock(&r->mu);
    if (rc < 0)
        return rc;
    snapshot(rt);
    struct refresher *f = malloc(sizeof(*f));
    if (!f)
        return -ENOMEM;
    f->rt = rt;
    f->interval = interval_ns > 0 ? interval_ns : CORIO_S;
    rc = corio_spawn_named(corio_top_group(), "obs-runtime", refresh_task, f, NULL);
    if (rc < 0)
        free(f);
    return rc;
}
