/* SPDX-License-Identifier: MIT */
/* The executor: results, the bounded queue and its space waiters, cancellation and deadlines in
 * each state of a job, abandoning, the virtual clock and the counters.
 *
 * Jobs that must block do so on POSIX semaphores: a job posts `started` and waits for `gate`.
 * Tasks never block on them: they poll with sem_trywait between yields (task_wait_sem), so the
 * loop keeps running. Nothing waits for time to pass to be sure something happened; the cases
 * that need a deadline to fire while a job is in flight use real time (virtual time stands
 * still while a job is in flight), with outcomes that do not depend on how long anything took.
 */
#include "test.h"

#include "corio/core.h"
#include "corio/diag.h"
#include "corio/exec.h"

#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>

static const struct corio_run_opts VT = {.virtual_time = true, .watchdog_ns = -1};

static sem_t started;  /* posted by a gated job once it runs */
static sem_t gate;     /* posted by the test to let a gated job return */
static atomic_int ran; /* jobs of count_run that ran */

static void sems_init(void)
{
    ASSERT_EQ(sem_init(&started, 0, 0), 0);
    ASSERT_EQ(sem_init(&gate, 0, 0), 0);
}

/* Waits for s without blocking the loop. */
static void task_wait_sem(sem_t *s)
{
    while (sem_trywait(s) != 0)
        ASSERT_EQ(corio_yield(), 0);
}

static void sem_wait_all(sem_t *s)
{
    while (sem_wait(s) != 0)
        ; /* EINTR */
}

static intptr_t twice(void *arg)
{
    return 2 * (intptr_t)arg;
}

static intptr_t gated(void *arg)
{
    sem_post(&started);
    sem_wait_all(&gate);
    return (intptr_t)arg;
}

static intptr_t count_run(void *arg)
{
    atomic_fetch_add(&ran, 1);
    return (intptr_t)arg;
}

/* What a task saw from one corio_exec_run. */
struct outcome {
    corio_exec_fn fn;
    intptr_t in;
    const struct corio_exec_opts *opts;
    int rc;
    intptr_t r; /* *result; -1 until written */
    bool returned;
};

static int submit_task(void *arg)
{
    struct outcome *o = arg;
    o->r = -1;
    o->rc = corio_exec_run(o->opts, o->fn, (void *)o->in, &o->r);
    o->returned = true;
    return 0;
}

static corio_task *spawn_submit(struct outcome *o)
{
    corio_task *t;
    ASSERT_EQ(corio_spawn_task(NULL, submit_task, o, &t), 0);
    return t;
}

/* ---- results --------------------------------------------------------------------------------- */

static pthread_t loop_thread;

static intptr_t thread_and_mask(void *arg)
{
    sigset_t cur;
    pthread_sigmask(SIG_BLOCK, NULL, &cur);
    bool other = !pthread_equal(pthread_self(), loop_thread);
    bool masked = sigismember(&cur, SIGUSR1) == 1 && sigismember(&cur, SIGCHLD) == 1 &&
                  sigismember(&cur, SIGPIPE) == 1 && sigismember(&cur, SIGINT) == 1;
    return (other ? 1 : 0) | (masked ? 2 : 0);
}

static int t_round_trip(void *arg)
{
    intptr_t r = 0;
    ASSERT_EQ(corio_exec_run(NULL, twice, (void *)(intptr_t)21, &r), 0);
    ASSERT_EQ(r, 42);
    ASSERT_EQ(corio_exec_run(NULL, twice, (void *)(intptr_t)-5, &r), 0);
    ASSERT_EQ(r, -10);
    ASSERT_EQ(corio_exec_run(NULL, twice, NULL, NULL), 0); /* result may be NULL */
    loop_thread = pthread_self();
    ASSERT_EQ(corio_exec_run(NULL, thread_and_mask, NULL, &r), 0);
    ASSERT_EQ(r, 3); /* ran on another thread, with every signal blocked */
    return 0;
}
TEST(exec_round_trip_returns_fn_result)
{
    ASSERT_EQ(corio_run(&VT, t_round_trip, NULL), 0);
}

static int done_jobs; /* loop thread only */

static intptr_t square(void *arg)
{
    return (intptr_t)arg * (intptr_t)arg;
}

static int ten_jobs(void *arg)
{
    intptr_t base = (intptr_t)arg * 10;
    for (intptr_t k = 0; k < 10; k++) {
        intptr_t r = -1;
        ASSERT_EQ(corio_exec_run(NULL, square, (void *)(base + k), &r), 0);
        ASSERT_EQ(r, (base + k) * (base + k));
        done_jobs++;
    }
    return 0;
}

static int t_many(void *arg)
{
    corio_group *g;
    ASSERT_EQ(corio_group_open(&g), 0);
    for (intptr_t i = 0; i < 100; i++)
        ASSERT_EQ(corio_spawn(g, ten_jobs, (void *)i), 0);
    ASSERT_EQ(corio_group_wait(g), 0);
    ASSERT_EQ(corio_group_close(g), 0);
    ASSERT_EQ(done_jobs, 1000);
    struct corio_exec_stats s;
    corio_exec_stats(&s);
    ASSERT_EQ(s.done, 1000);
    ASSERT_EQ(s.queued, 0);
    ASSERT_EQ(s.running, 0);
    ASSERT_EQ(s.dropped, 0);
    return 0;
}
TEST(exec_thousand_jobs_from_hundred_tasks)
{
    ASSERT_EQ(corio_run(&VT, t_many, NULL), 0);
}

/* The same through a queue of 4: most submissions wait for room. */
TEST(exec_thousand_jobs_through_small_queue)
{
    struct corio_run_opts o = VT;
    o.executor_threads = 2;
    o.executor_queue = 4;
    ASSERT_EQ(corio_run(&o, t_many, NULL), 0);
}

/* Several loops share one executor (and its space waiters). */
static int per_worker_done[3]; /* entry i: worker i's thread only */

static int twenty_jobs(void *arg)
{
    int w = corio_worker_id();
    for (intptr_t k = 0; k < 20; k++) {
        intptr_t v = w * 1000 + (intptr_t)arg * 20 + k, r = -1;
        ASSERT_EQ(corio_exec_run(NULL, twice, (void *)v, &r), 0);
        ASSERT_EQ(r, 2 * v);
        per_worker_done[w]++;
    }
    return 0;
}

static int t_workers(void *arg)
{
    corio_group *g;
    ASSERT_EQ(corio_group_open(&g), 0);
    for (intptr_t i = 0; i < 10; i++)
        ASSERT_EQ(corio_spawn(g, twenty_jobs, (void *)i), 0);
    ASSERT_EQ(corio_group_wait(g), 0);
    ASSERT_EQ(corio_group_close(g), 0);
    ASSERT_EQ(per_worker_done[corio_worker_id()], 200);
    return 0;
}
TEST(exec_is_shared_by_worker_loops)
{
    struct corio_run_opts o = VT;
    o.workers = 3;
    o.executor_threads = 2;
    o.executor_queue = 3;
    ASSERT_EQ(corio_run(&o, t_workers, NULL), 0);
}

/* ---- the loop goes on ------------------------------------------------------------------------ */

static int ticks; /* loop thread only */

static int ticker(void *arg)
{
    for (int i = 0; i < 100; i++) {
        ticks++;
        ASSERT_EQ(corio_yield(), 0);
    }
    return 0;
}

static int t_loop_runs(void *arg)
{
    struct outcome o = {.fn = gated, .in = 7};
    corio_task *w = spawn_submit(&o), *tk;
    task_wait_sem(&started); /* the job now blocks a worker */
    ASSERT_EQ(corio_spawn_task(NULL, ticker, NULL, &tk), 0);
    ASSERT_EQ(corio_task_join(tk, NULL), 0);
    ASSERT_EQ(ticks, 100);
    ASSERT(!o.returned);
    sem_post(&gate);
    ASSERT_EQ(corio_task_join(w, NULL), 0);
    ASSERT_EQ(o.rc, 0);
    ASSERT_EQ(o.r, 7);
    return 0;
}
TEST(exec_loop_runs_other_tasks_while_job_blocks)
{
    sems_init();
    ASSERT_EQ(corio_run(&VT, t_loop_runs, NULL), 0);
}

/* Virtual time must not jump while a job is in flight: the sleeper wakes only after the job's
 * completion has been handled, even though the loop had nothing else to do. The gate is opened
 * by a plain thread once the job has started. */
static void *opener(void *arg)
{
    sem_wait_all(&started);
    sem_post(&gate);
    return NULL;
}

static int t_vt_frozen(void *arg)
{
    struct outcome o = {.fn = gated, .in = 5};
    corio_task *w = spawn_submit(&o);
    int64_t t0 = corio_now();
    ASSERT_EQ(corio_sleep(CORIO_S), 0);
    ASSERT(o.returned);
    ASSERT_EQ(o.rc, 0);
    ASSERT_EQ(corio_now(), t0 + CORIO_S);
    ASSERT_EQ(corio_task_join(w, NULL), 0);
    return 0;
}
TEST(exec_virtual_time_waits_for_jobs_in_flight)
{
    pthread_t th;
    sems_init();
    ASSERT_EQ(pthread_create(&th, NULL, opener, NULL), 0);
    ASSERT_EQ(corio_run(&VT, t_vt_frozen, NULL), 0);
    pthread_join(th, NULL);
}

/* ---- full queue ------------------------------------------------------------------------------ */

static int order[8], norder; /* written by the single executor thread */

static intptr_t record(void *arg)
{
    order[norder++] = (int)(intptr_t)arg;
    return (intptr_t)arg + 100;
}

struct waiting_count {
    const char *what;
    int n;
};

static int count_waiting(void *ctx, const struct corio_task_info *ti)
{
    struct waiting_count *c = ctx;
    if (ti->waits_on && strcmp(ti->waits_on, c->what) == 0)
        c->n++;
    return 0;
}

/* The tasks of this loop whose listing says they wait on what. */
static int waiting_on(const char *what)
{
    struct waiting_count c = {what, 0};
    corio_tasks_foreach(count_waiting, &c);
    return c.n;
}

static int t_queue_full(void *arg)
{
    struct outcome blocker = {.fn = gated, .in = 1};
    corio_task *b = spawn_submit(&blocker);
    task_wait_sem(&started); /* the only worker is busy */
    struct outcome o[5];
    corio_task *t[5];
    for (int i = 0; i < 5; i++) {
        o[i] = (struct outcome){.fn = record, .in = i};
        t[i] = spawn_submit(&o[i]);
    }
    ASSERT_EQ(corio_yield(), 0); /* all five have run up to their park */
    struct corio_exec_stats s;
    corio_exec_stats(&s);
    ASSERT_EQ(s.queued, 2);
    ASSERT_EQ(s.running, 1);
    ASSERT_EQ(waiting_on("executor queue"), 3);
    ASSERT_EQ(waiting_on("executor"), 1 + 2); /* the running job's waiter and the queued ones */
    sem_post(&gate);
    for (int i = 0; i < 5; i++) {
        ASSERT_EQ(corio_task_join(t[i], NULL), 0);
        ASSERT_EQ(o[i].rc, 0);
        ASSERT_EQ(o[i].r, i + 100);
    }
    ASSERT_EQ(corio_task_join(b, NULL), 0);
    ASSERT_EQ(norder, 5);
    for (int i = 0; i < 5; i++)
        ASSERT_EQ(order[i], i);
    corio_exec_stats(&s);
    ASSERT_EQ(s.done, 6);
    ASSERT_EQ(s.queued, 0);
    ASSERT_EQ(s.dropped, 0);
    return 0;
}
TEST(exec_full_queue_waiters_run_in_fifo_order)
{
    struct corio_run_opts o = VT;
    o.executor_threads = 1;
    o.executor_queue = 2;
    sems_init();
    ASSERT_EQ(corio_run(&o, t_queue_full, NULL), 0);
}

/* A waiter that gives up while waiting for room leaves its place; the jobs behind still run. */
static int t_space_cancel(void *arg)
{
    struct outcome blocker = {.fn = gated, .in = 1};
    struct outcome q = {.fn = count_run, .in = 2}, c = {.fn = count_run, .in = 3};
    struct outcome d = {.fn = count_run, .in = 4};
    corio_task *b = spawn_submit(&blocker);
    task_wait_sem(&started);
    corio_task *tq = spawn_submit(&q), *tc = spawn_submit(&c), *td = spawn_submit(&d);
    ASSERT_EQ(corio_yield(), 0);
    ASSERT_EQ(waiting_on("executor queue"), 2); /* c and d */
    corio_task_cancel(tc);
    ASSERT_EQ(corio_task_join(tc, NULL), 0);
    ASSERT_EQ(c.rc, -ECANCELED);
    ASSERT_EQ(c.r, -1);
    ASSERT_EQ(waiting_on("executor queue"), 1);
    sem_post(&gate);
    ASSERT_EQ(corio_task_join(b, NULL), 0);
    ASSERT_EQ(corio_task_join(tq, NULL), 0);
    ASSERT_EQ(corio_task_join(td, NULL), 0);
    ASSERT_EQ(q.rc, 0);
    ASSERT_EQ(q.r, 2);
    ASSERT_EQ(d.rc, 0);
    ASSERT_EQ(d.r, 4);
    struct corio_exec_stats s;
    corio_exec_stats(&s);
    ASSERT_EQ(s.dropped, 0); /* it never was in the queue */
    ASSERT_EQ(s.done, 3);
    return 0;
}
TEST(exec_cancelled_space_waiter_leaves_its_place)
{
    struct corio_run_opts o = VT;
    o.executor_threads = 1;
    o.executor_queue = 1;
    sems_init();
    ASSERT_EQ(corio_run(&o, t_space_cancel, NULL), 0);
    ASSERT_EQ(atomic_load(&ran), 2); /* q and d, never c */
}

/* ---- cancellation and deadlines -------------------------------------------------------------- */

static int abandoned_calls; /* executor thread; read after corio_run */
static intptr_t abandoned_result;

static void on_abandoned(void *arg, intptr_t result)
{
    abandoned_calls++;
    abandoned_result = result;
    free(arg);
}

static const struct corio_exec_opts ABANDON = {.flags = CORIO_EXEC_ABANDON,
                                               .abandoned = on_abandoned};

/* For jobs whose arg is not heap memory (the test keeps it alive instead). */
static void on_abandoned_keep(void *arg, intptr_t result)
{
    (void)arg;
    abandoned_calls++;
    abandoned_result = result;
}
static const struct corio_exec_opts ABANDON_KEEP = {.flags = CORIO_EXEC_ABANDON,
                                                    .abandoned = on_abandoned_keep};

/* A queued job whose waiter is cancelled is dropped at once and never runs. */
static int t_cancel_queued(void *arg)
{
    const struct corio_exec_opts *opts = arg;
    struct outcome blocker = {.fn = gated, .in = 1};
    struct outcome q = {.fn = count_run, .in = 2, .opts = opts};
    corio_task *b = spawn_submit(&blocker);
    task_wait_sem(&started);
    corio_task *tq = spawn_submit(&q);
    ASSERT_EQ(corio_yield(), 0);
    struct corio_exec_stats s;
    corio_exec_stats(&s);
    ASSERT_EQ(s.queued, 1);
    corio_task_cancel(tq);
    ASSERT_EQ(corio_task_join(tq, NULL), 0); /* while the worker is still blocked */
    ASSERT_EQ(q.rc, -ECANCELED);
    ASSERT_EQ(q.r, -1);
    corio_exec_stats(&s);
    ASSERT_EQ(s.queued, 0);
    ASSERT_EQ(s.dropped, 1);
    sem_post(&gate);
    ASSERT_EQ(corio_task_join(b, NULL), 0);
    ASSERT_EQ(blocker.rc, 0);
    return 0;
}
TEST(exec_cancel_drops_queued_job)
{
    struct corio_run_opts o = VT;
    o.executor_threads = 1;
    sems_init();
    ASSERT_EQ(corio_run(&o, t_cancel_queued, NULL), 0);
    ASSERT_EQ(atomic_load(&ran), 0); /* the executor is gone: the job can never run now */
}

/* With CORIO_EXEC_ABANDON too the job never runs, and arg still goes to abandoned(), with the
 * error as result: ownership of arg always moves at submission. */
TEST(exec_cancel_drops_queued_job_in_abandon_mode)
{
    struct corio_run_opts o = VT;
    o.executor_threads = 1;
    sems_init();
    abandoned_calls = 0;
    ASSERT_EQ(corio_run(&o, t_cancel_queued, (void *)&ABANDON_KEEP), 0);
    ASSERT_EQ(atomic_load(&ran), 0);
    ASSERT_EQ(abandoned_calls, 1);
    ASSERT_EQ(abandoned_result, -ECANCELED);
}

/* A task cancelled before it submits anything submits nothing. */
static int t_cancel_first(void *arg)
{
    corio_task_cancel(corio_self());
    intptr_t r = -1;
    ASSERT_EQ(corio_exec_run(NULL, count_run, NULL, &r), -ECANCELED);
    ASSERT_EQ(r, -1);
    struct corio_exec_stats s;
    corio_exec_stats(&s);
    ASSERT_EQ(s.dropped, 0);
    return 0;
}
TEST(exec_cancelled_task_submits_nothing)
{
    ASSERT_EQ(corio_run(&VT, t_cancel_first, NULL), 0);
    ASSERT_EQ(atomic_load(&ran), 0);
}

/* Default mode: a running job is waited for; the error comes with fn's result. */
static int t_cancel_running(void *arg)
{
    struct outcome o = {.fn = gated, .in = 7};
    corio_task *t = spawn_submit(&o);
    task_wait_sem(&started);
    corio_task_cancel(t);
    for (int i = 0; i < 10; i++) {
        ASSERT_EQ(corio_yield(), 0);
        ASSERT(!o.returned); /* shielded until the job finishes */
    }
    ASSERT_EQ(waiting_on("executor (cancelling)"), 1);
    sem_post(&gate);
    ASSERT_EQ(corio_task_join(t, NULL), 0);
    ASSERT_EQ(o.rc, -ECANCELED);
    ASSERT_EQ(o.r, 7);
    return 0;
}
TEST(exec_cancel_waits_for_running_job)
{
    sems_init();
    ASSERT_EQ(corio_run(&VT, t_cancel_running, NULL), 0);
}

/* ABANDON: the waiter returns at once; the result goes to abandoned(), which owns arg. */
struct boxed {
    intptr_t value;
};

static intptr_t gated_boxed(void *arg)
{
    struct boxed *bx = arg;
    sem_post(&started);
    sem_wait_all(&gate);
    return bx->value;
}

static int abandon_task(void *arg)
{
    struct outcome *o = arg;
    struct boxed *bx = malloc(sizeof(*bx));
    ASSERT_NOT_NULL(bx);
    bx->value = 99;
    o->r = -1;
    o->rc = corio_exec_run(&ABANDON, gated_boxed, bx, &o->r);
    o->returned = true;
    return 0;
}

static int t_abandon(void *arg)
{
    struct outcome o = {.rc = 1};
    corio_task *t;
    ASSERT_EQ(corio_spawn_task(NULL, abandon_task, &o, &t), 0);
    task_wait_sem(&started);
    corio_task_cancel(t);
    ASSERT_EQ(corio_task_join(t, NULL), 0); /* the job is still blocked on the gate */
    ASSERT_EQ(o.rc, -ECANCELED);
    ASSERT_EQ(o.r, -1);
    sem_post(&gate); /* the job finishes after the run's loops, or during their teardown */
    return 0;
}
TEST(exec_abandon_returns_at_once_and_hands_result_over)
{
    sems_init();
    ASSERT_EQ(corio_run(&VT, t_abandon, NULL), 0);
    ASSERT_EQ(abandoned_calls, 1);
    ASSERT_EQ(abandoned_result, 99);
}

/* ABANDON without cancellation behaves like the default: the heap job is freed (ASan). */
static int t_abandon_ok(void *arg)
{
    intptr_t r = 0;
    ASSERT_EQ(corio_exec_run(&ABANDON, twice, (void *)(intptr_t)4, &r), 0);
    ASSERT_EQ(r, 8);
    return 0;
}
TEST(exec_abandon_mode_completes_normally)
{
    ASSERT_EQ(corio_run(&VT, t_abandon_ok, NULL), 0);
    ASSERT_EQ(abandoned_calls, 0);
}

/* A cancel that comes after fn has returned (its completion is in the mailbox, not yet
 * handled) is too late: the call succeeds with fn's result, in both modes. The loop is held by
 * a busy wait until the executor counts the job done, so the mailbox cannot be drained first. */
static int t_cancel_after_done(void *arg)
{
    const struct corio_exec_opts *opts = arg;
    struct outcome o = {.fn = twice, .in = 21, .opts = opts};
    struct corio_exec_stats s;
    corio_task *t = spawn_submit(&o);
    ASSERT_EQ(corio_yield(), 0); /* submitted */
    do
        corio_exec_stats(&s); /* deliberately blocks the loop */
    while (s.done == 0);
    corio_task_cancel(t);
    ASSERT_EQ(corio_task_join(t, NULL), 0);
    ASSERT_EQ(o.rc, 0);
    ASSERT_EQ(o.r, 42);
    return 0;
}
TEST(exec_cancel_after_job_finished_is_too_late)
{
    ASSERT_EQ(corio_run(&VT, t_cancel_after_done, NULL), 0);
}
TEST(exec_cancel_after_job_finished_is_too_late_in_abandon_mode)
{
    ASSERT_EQ(corio_run(&VT, t_cancel_after_done, (void *)&ABANDON), 0);
    ASSERT_EQ(abandoned_calls, 0);
}

/* Deadlines need the clock to move while a job is in flight, so these run on real time. */
static const struct corio_run_opts RT1 = {.executor_threads = 1, .watchdog_ns = -1};

static int t_deadline_queued(void *arg)
{
    struct outcome blocker = {.fn = gated, .in = 1};
    corio_task *b = spawn_submit(&blocker);
    task_wait_sem(&started);
    corio_deadline d;
    intptr_t r = -1;
    corio_deadline_enter(&d, corio_after(5 * CORIO_MS));
    ASSERT_EQ(corio_exec_run(NULL, count_run, NULL, &r), -ETIMEDOUT);
    ASSERT(corio_deadline_leave(&d));
    ASSERT_EQ(r, -1);
    struct corio_exec_stats s;
    corio_exec_stats(&s);
    ASSERT_EQ(s.dropped, 1);
    ASSERT_EQ(s.queued, 0);
    sem_post(&gate);
    ASSERT_EQ(corio_task_join(b, NULL), 0);
    return 0;
}
TEST(exec_deadline_drops_queued_job)
{
    sems_init();
    ASSERT_EQ(corio_run(&RT1, t_deadline_queued, NULL), 0);
    ASSERT_EQ(atomic_load(&ran), 0);
}

/* The job must be running when the deadline is noticed: the spinner holds the loop (so no
 * timer can fire) until the job has started. The opener opens the gate once the listing shows
 * the waiter has timed out and only waits for the job. */
static int spin_until_started(void *arg)
{
    while (sem_trywait(&started) != 0)
        ; /* deliberately blocks the loop */
    return 0;
}

static int open_gate_after_give_up(void *arg)
{
    while (waiting_on("executor (cancelling)") == 0)
        ASSERT_EQ(corio_yield(), 0);
    sem_post(&gate);
    return 0;
}

static int t_deadline_running(void *arg)
{
    corio_deadline d;
    intptr_t r = -1;
    corio_task *sp, *op;
    ASSERT_EQ(corio_spawn_task(NULL, spin_until_started, NULL, &sp), 0);
    ASSERT_EQ(corio_spawn_task(NULL, open_gate_after_give_up, NULL, &op), 0);
    corio_deadline_enter(&d, corio_after(CORIO_MS));
    ASSERT_EQ(corio_exec_run(NULL, gated, (void *)(intptr_t)11, &r), -ETIMEDOUT);
    ASSERT(corio_deadline_leave(&d));
    ASSERT_EQ(r, 11);
    ASSERT_EQ(corio_task_join(sp, NULL), 0);
    ASSERT_EQ(corio_task_join(op, NULL), 0);
    return 0;
}
TEST(exec_deadline_waits_for_running_job)
{
    sems_init();
    ASSERT_EQ(corio_run(&RT1, t_deadline_running, NULL), 0);
}

/* ---- listing and counters -------------------------------------------------------------------- */

static int t_what(void *arg)
{
    struct corio_exec_opts opts = {.what = "sqlite step"};
    struct outcome o = {.fn = gated, .in = 3, .opts = &opts};
    corio_task *t = spawn_submit(&o);
    task_wait_sem(&started);
    ASSERT_EQ(waiting_on("sqlite step"), 1);
    sem_post(&gate);
    ASSERT_EQ(corio_task_join(t, NULL), 0);
    ASSERT_EQ(o.r, 3);
    return 0;
}
TEST(exec_waiter_listed_with_what)
{
    sems_init();
    ASSERT_EQ(corio_run(&VT, t_what, NULL), 0);
}

static int t_stats(void *arg)
{
    struct corio_exec_stats s;
    corio_exec_stats(&s);
    ASSERT_EQ(s.threads, 0); /* not started yet */
    ASSERT_EQ(s.queue_cap, 0);
    ASSERT_EQ(s.done, 0);
    for (intptr_t i = 0; i < 3; i++)
        ASSERT_EQ(corio_exec_run(NULL, twice, (void *)i, NULL), 0);
    corio_exec_stats(&s);
    ASSERT_EQ(s.threads, 2);
    ASSERT_EQ(s.queue_cap, 8);
    ASSERT_EQ(s.queued, 0);
    ASSERT_EQ(s.running, 0);
    ASSERT_EQ(s.done, 3);
    ASSERT_EQ(s.dropped, 0);
    return 0;
}
TEST(exec_stats_counts)
{
    struct corio_run_opts o = VT;
    o.executor_threads = 2;
    o.executor_queue = 8;
    ASSERT_EQ(corio_run(&o, t_stats, NULL), 0);
}

static int t_stats_default(void *arg)
{
    struct corio_exec_stats s;
    ASSERT_EQ(corio_exec_run(NULL, twice, NULL, NULL), 0);
    corio_exec_stats(&s);
    ASSERT_EQ(s.threads, 4);
    ASSERT_EQ(s.queue_cap, 1024);
    return 0;
}
TEST(exec_defaults_four_threads_and_1024_slots)
{
    ASSERT_EQ(corio_run(&VT, t_stats_default, NULL), 0);
}

TEST_EXPECT_DEATH(exec_outside_task_aborts, SIGABRT, "outside a corio task")
{
    (void)corio_exec_run(NULL, twice, NULL, NULL);
}
