/* SPDX-License-Identifier: MIT */
/* Semaphore, mutex, event and condition variable (src/core/sync.c): basic operation, FIFO
 * service of waiters, no barging, final hand-over, cancellation and deadlines that take nothing,
 * the uninterruptible re-lock of cond_wait, misuse that aborts, and a shuffled stress run that
 * checks permits are conserved.
 *
 * Every case runs on virtual time: a deadline fires at exactly its instant, so "timed out at
 * the deadline" is checked with ==. settle() lets every spawned task run until it parks.
 * corio__sem_validate / corio__mutex_validate are called after the steps that move resources.
 */
#include "test.h"

#include "core/sync_int.h"
#include "corio/core.h"
#include "corio/sync.h"

#include <errno.h>
#include <stdint.h>

static const struct corio_run_opts VT = {.virtual_time = true, .watchdog_ns = -1};

#define RUN(fn, arg) ASSERT_EQ(corio_run(&VT, (fn), (arg)), 0)

static void settle(void)
{
    for (int i = 0; i < 3; i++)
        ASSERT_EQ(corio_yield(), 0);
}

/* A waiter task: runs op(obj), records its result and the order it returned in. */
struct waiter {
    void *obj;
    int idx;
    int rc;    /* 1 until the operation returned */
    int *log;  /* log[0] = entries, then indexes in return order */
    int after; /* result of one more blocking call (shows later calls see a cancel) */
    corio_task *t;
};

static void record(struct waiter *w, int rc)
{
    w->rc = rc;
    if (w->log)
        w->log[++w->log[0]] = w->idx;
}

/* ---- semaphore ------------------------------------------------------------------------------- */

static int mutex_waiter(void *arg);
static int event_waiter(void *arg);

static int sem_waiter(void *arg)
{
    struct waiter *w = arg;
    record(w, corio_sem_acquire(w->obj));
    w->after = corio_yield();
    return 0;
}

static void spawn_waiters(struct waiter *w, int n, void *obj, int *log, corio_fn fn)
{
    for (int i = 0; i < n; i++) {
        w[i] = (struct waiter){.obj = obj, .idx = i, .rc = 1, .log = log};
        ASSERT_EQ(corio_spawn_task(NULL, fn, &w[i], &w[i].t), 0);
    }
    settle();
}

static void join_all(struct waiter *w, int n)
{
    for (int i = 0; i < n; i++)
        ASSERT_EQ(corio_task_join(w[i].t, NULL), 0);
}

static int t_sem_basic(void *arg)
{
    corio_sem *s;
    (void)arg;
    ASSERT_EQ(corio_sem_new(2, &s), 0);
    ASSERT_EQ(corio_sem_try_acquire(s), 0);
    ASSERT_EQ(corio_sem_acquire(s), 0);
    ASSERT_EQ(corio_sem_value(s), 0);
    ASSERT_EQ(corio_sem_try_acquire(s), -EAGAIN);
    corio_sem_release(s);
    corio_sem_release(s);
    corio_sem_release(s); /* a counting semaphore may grow past its start value */
    ASSERT_EQ(corio_sem_value(s), 3);
    ASSERT_EQ(corio__sem_validate(s), 0);
    corio_sem_free(s);
    corio_sem_free(NULL);
    return 0;
}
TEST(sem_counts_permits)
{
    RUN(t_sem_basic, NULL);
}

static int t_sem_fifo(void *arg)
{
    corio_sem *s;
    struct waiter w[5];
    int log[8] = {0};
    (void)arg;
    ASSERT_EQ(corio_sem_new(0, &s), 0);
    spawn_waiters(w, 5, s, log, sem_waiter);
    for (int i = 0; i < 5; i++) {
        ASSERT_EQ(log[0], i);
        /* No barging: while anybody waits, try_acquire fails even right after a release. */
        corio_sem_release(s);
        ASSERT_EQ(corio_sem_try_acquire(s), -EAGAIN);
        ASSERT_EQ(corio_sem_value(s), 0);
        ASSERT_EQ(corio__sem_validate(s), 0);
        settle();
    }
    ASSERT_EQ(log[0], 5);
    for (int i = 0; i < 5; i++)
        ASSERT_EQ(log[i + 1], i);
    join_all(w, 5);
    corio_sem_free(s);
    return 0;
}
TEST(sem_serves_waiters_in_fifo_order_without_barging)
{
    RUN(t_sem_fifo, NULL);
}

static int t_sem_cancel(void *arg)
{
    corio_sem *s;
    struct waiter w[3];
    int log[8] = {0};
    (void)arg;
    ASSERT_EQ(corio_sem_new(0, &s), 0);
    spawn_waiters(w, 3, s, log, sem_waiter);
    corio_task_cancel(w[0].t);
    settle();
    ASSERT_EQ(w[0].rc, -ECANCELED);
    ASSERT_EQ(corio_sem_value(s), 0);
    /* The permit goes to the next live waiter, not to the cancelled one. */
    corio_sem_release(s);
    settle();
    ASSERT_EQ(w[1].rc, 0);
    ASSERT_EQ(w[2].rc, 1);
    corio_task_cancel(w[2].t);
    settle();
    ASSERT_EQ(w[2].rc, -ECANCELED);
    /* A waiter cancelled but not yet run is skipped too: the permit stays in the semaphore. */
    struct waiter x;
    spawn_waiters(&x, 1, s, NULL, sem_waiter);
    corio_task_cancel(x.t);
    corio_sem_release(s);
    ASSERT_EQ(corio_sem_value(s), 1);
    settle();
    ASSERT_EQ(x.rc, -ECANCELED);
    ASSERT_EQ(corio_sem_value(s), 1);
    join_all(w, 3);
    ASSERT_EQ(corio_task_join(x.t, NULL), 0);
    ASSERT_EQ(corio__sem_validate(s), 0);
    corio_sem_free(s);
    return 0;
}
TEST(sem_cancelled_acquire_takes_nothing)
{
    RUN(t_sem_cancel, NULL);
}

static int t_sem_handover(void *arg)
{
    corio_sem *s;
    struct waiter w;
    (void)arg;
    ASSERT_EQ(corio_sem_new(0, &s), 0);
    spawn_waiters(&w, 1, s, NULL, sem_waiter);
    corio_sem_release(s);   /* the permit is now the waiter's ... */
    corio_task_cancel(w.t); /* ... and a cancel before it runs does not take it back */
    settle();
    ASSERT_EQ(w.rc, 0);
    ASSERT_EQ(w.after, -ECANCELED);
    ASSERT_EQ(corio_sem_value(s), 0);
    ASSERT_EQ(corio_task_join(w.t, NULL), 0);
    corio_sem_free(s);
    return 0;
}
TEST(sem_hand_over_is_final)
{
    RUN(t_sem_handover, NULL);
}

static int t_sem_deadline(void *arg)
{
    corio_sem *s;
    corio_deadline d;
    (void)arg;
    ASSERT_EQ(corio_sem_new(0, &s), 0);
    int64_t at = corio_after(7 * CORIO_MS);
    corio_deadline_enter(&d, at);
    ASSERT_EQ(corio_sem_acquire(s), -ETIMEDOUT);
    ASSERT_EQ(corio_now(), at);
    ASSERT(corio_deadline_leave(&d));
    ASSERT_EQ(corio_sem_value(s), 0);
    /* Past the deadline every acquire fails at once, even with a permit free, and takes
     * nothing; so does a cancelled task's. */
    corio_sem_release(s);
    corio_deadline_enter(&d, corio_now());
    ASSERT_EQ(corio_sem_acquire(s), -ETIMEDOUT);
    ASSERT(corio_deadline_leave(&d));
    ASSERT_EQ(corio_sem_value(s), 1);
    corio_task_cancel(corio_self());
    ASSERT_EQ(corio_sem_acquire(s), -ECANCELED);
    ASSERT_EQ(corio_sem_value(s), 1);
    ASSERT_EQ(corio_sem_try_acquire(s), 0); /* try_ never checks */
    corio_sem_free(s);
    return 0;
}
TEST(sem_acquire_times_out_exactly_at_deadline)
{
    RUN(t_sem_deadline, NULL);
}

/* The earliest of nested deadlines governs, and only its own scope reports the hit. */
static int t_sem_nested(void *arg)
{
    corio_sem *s;
    corio_deadline outer, inner;
    (void)arg;
    ASSERT_EQ(corio_sem_new(0, &s), 0);
    int64_t t0 = corio_now();
    corio_deadline_enter(&outer, t0 + 10 * CORIO_MS);
    corio_deadline_enter(&inner, t0 + 20 * CORIO_MS);
    ASSERT_EQ(corio_sem_acquire(s), -ETIMEDOUT);
    ASSERT_EQ(corio_now(), t0 + 10 * CORIO_MS);
    ASSERT(!corio_deadline_leave(&inner));
    ASSERT(corio_deadline_leave(&outer));

    t0 = corio_now();
    corio_deadline_enter(&outer, t0 + 20 * CORIO_MS);
    corio_deadline_enter(&inner, t0 + 5 * CORIO_MS);
    ASSERT_EQ(corio_sem_acquire(s), -ETIMEDOUT);
    ASSERT_EQ(corio_now(), t0 + 5 * CORIO_MS);
    ASSERT(corio_deadline_leave(&inner));
    ASSERT(!corio_deadline_leave(&outer));
    ASSERT_EQ(corio_sem_value(s), 0);
    corio_sem_free(s);
    return 0;
}
TEST(sem_nested_deadlines_earliest_wins)
{
    RUN(t_sem_nested, NULL);
}

static int t_sem_free_busy(void *arg)
{
    corio_sem *s;
    struct waiter w;
    (void)arg;
    ASSERT_EQ(corio_sem_new(0, &s), 0);
    spawn_waiters(&w, 1, s, NULL, sem_waiter);
    corio_sem_free(s);
    return 0;
}
TEST_EXPECT_DEATH(sem_free_with_waiters_aborts, SIGABRT, "freed while a task waits on it")
{
    corio_run(&VT, t_sem_free_busy, NULL);
}

/* A waiter woken by a cancel no longer needs the object, even before it has run again. */
static int t_free_after_cancel(void *arg)
{
    corio_sem *s;
    corio_mutex *m;
    corio_event *e;
    struct waiter w[3];
    (void)arg;
    ASSERT_EQ(corio_sem_new(0, &s), 0);
    ASSERT_EQ(corio_mutex_new(&m), 0);
    ASSERT_EQ(corio_event_new(&e), 0);
    ASSERT_EQ(corio_mutex_lock(m), 0);
    spawn_waiters(&w[0], 1, s, NULL, sem_waiter);
    spawn_waiters(&w[1], 1, m, NULL, mutex_waiter);
    spawn_waiters(&w[2], 1, e, NULL, event_waiter);
    for (int i = 0; i < 3; i++)
        corio_task_cancel(w[i].t);
    corio_sem_free(s);
    corio_mutex_free(m);
    corio_event_free(e);
    settle();
    for (int i = 0; i < 3; i++)
        ASSERT_EQ(w[i].rc, -ECANCELED);
    join_all(w, 3);
    return 0;
}
TEST(free_after_cancelling_the_waiters_needs_no_join)
{
    RUN(t_free_after_cancel, NULL);
}

/* ---- mutex ----------------------------------------------------------------------------------- */

static int mutex_waiter(void *arg)
{
    struct waiter *w = arg;
    int rc = corio_mutex_lock(w->obj);
    record(w, rc);
    if (rc == 0) {
        w->after = corio_yield();
        corio_mutex_unlock(w->obj);
    }
    return 0;
}

static int t_mutex_basic(void *arg)
{
    corio_mutex *m;
    (void)arg;
    ASSERT_EQ(corio_mutex_new(&m), 0);
    ASSERT_EQ(corio_mutex_try_lock(m), 0);
    ASSERT_EQ(corio_mutex_try_lock(m), -EBUSY);
    corio_mutex_unlock(m);
    ASSERT_EQ(corio_mutex_lock(m), 0);
    corio_mutex_unlock(m);
    ASSERT_EQ(corio__mutex_validate(m), 0);
    corio_mutex_free(m);
    return 0;
}
TEST(mutex_locks_and_unlocks)
{
    RUN(t_mutex_basic, NULL);
}

static int t_mutex_fifo(void *arg)
{
    corio_mutex *m;
    struct waiter w[5];
    int log[8] = {0};
    (void)arg;
    ASSERT_EQ(corio_mutex_new(&m), 0);
    ASSERT_EQ(corio_mutex_lock(m), 0);
    spawn_waiters(w, 5, m, log, mutex_waiter);
    ASSERT_EQ(log[0], 0);
    corio_mutex_unlock(m);
    /* Ownership passed to waiter 0 at unlock: nobody can take the lock in between. */
    ASSERT_EQ(corio_mutex_try_lock(m), -EBUSY);
    ASSERT_EQ(corio__mutex_validate(m), 0);
    for (int i = 0; i < 20 && log[0] < 5; i++)
        settle();
    ASSERT_EQ(log[0], 5);
    for (int i = 0; i < 5; i++)
        ASSERT_EQ(log[i + 1], i);
    join_all(w, 5);
    ASSERT_EQ(corio_mutex_try_lock(m), 0);
    corio_mutex_unlock(m);
    corio_mutex_free(m);
    return 0;
}
TEST(mutex_hands_off_in_fifo_order)
{
    RUN(t_mutex_fifo, NULL);
}

static int t_mutex_cancel(void *arg)
{
    corio_mutex *m;
    struct waiter w[2];
    (void)arg;
    ASSERT_EQ(corio_mutex_new(&m), 0);
    ASSERT_EQ(corio_mutex_lock(m), 0);
    spawn_waiters(w, 2, m, NULL, mutex_waiter);
    corio_task_cancel(w[0].t);
    settle();
    ASSERT_EQ(w[0].rc, -ECANCELED);
    ASSERT_EQ(w[1].rc, 1);
    ASSERT_EQ(corio__mutex_validate(m), 0);
    /* Still ours. Cancel the last waiter and unlock before it runs: the cancel woke it
     * first, so the unlock finds nobody to hand to and the lock is simply free. */
    corio_task_cancel(w[1].t);
    corio_mutex_unlock(m);
    ASSERT_EQ(corio_mutex_try_lock(m), 0);
    settle();
    ASSERT_EQ(w[1].rc, -ECANCELED);
    corio_mutex_unlock(m);
    join_all(w, 2);
    corio_mutex_free(m);
    return 0;
}
TEST(mutex_cancelled_lock_leaves_state_unchanged)
{
    RUN(t_mutex_cancel, NULL);
}

static int t_mutex_handover(void *arg)
{
    corio_mutex *m;
    struct waiter w;
    (void)arg;
    ASSERT_EQ(corio_mutex_new(&m), 0);
    ASSERT_EQ(corio_mutex_lock(m), 0);
    spawn_waiters(&w, 1, m, NULL, mutex_waiter);
    corio_mutex_unlock(m);
    corio_task_cancel(w.t);
    settle();
    ASSERT_EQ(w.rc, 0);
    ASSERT_EQ(w.after, -ECANCELED);
    ASSERT_EQ(corio_task_join(w.t, NULL), 0);
    ASSERT_EQ(corio_mutex_try_lock(m), 0); /* the waiter unlocked on its way out */
    corio_mutex_unlock(m);
    corio_mutex_free(m);
    return 0;
}
TEST(mutex_hand_over_is_final)
{
    RUN(t_mutex_handover, NULL);
}

static int sleepy_holder(void *arg)
{
    corio_mutex *m = arg;
    ASSERT_EQ(corio_mutex_lock(m), 0);
    ASSERT_EQ(corio_sleep(10 * CORIO_MS), 0);
    corio_mutex_unlock(m);
    return 0;
}

static int t_mutex_deadline(void *arg)
{
    corio_mutex *m;
    corio_task *t;
    corio_deadline d;
    (void)arg;
    ASSERT_EQ(corio_mutex_new(&m), 0);
    ASSERT_EQ(corio_spawn_task(NULL, sleepy_holder, m, &t), 0);
    settle();
    int64_t at = corio_after(3 * CORIO_MS);
    corio_deadline_enter(&d, at);
    ASSERT_EQ(corio_mutex_lock(m), -ETIMEDOUT);
    ASSERT_EQ(corio_now(), at);
    ASSERT(corio_deadline_leave(&d));
    ASSERT_EQ(corio__mutex_validate(m), 0);
    ASSERT_EQ(corio_task_join(t, NULL), 0);
    ASSERT_EQ(corio_mutex_try_lock(m), 0); /* the holder's unlock found nobody to hand to */
    corio_mutex_unlock(m);
    corio_mutex_free(m);
    return 0;
}
TEST(mutex_lock_times_out_and_takes_nothing)
{
    RUN(t_mutex_deadline, NULL);
}

static int t_relock(void *arg)
{
    corio_mutex *m;
    (void)arg;
    ASSERT_EQ(corio_mutex_new(&m), 0);
    ASSERT_EQ(corio_mutex_lock(m), 0);
    corio_mutex_lock(m);
    return 0;
}
TEST_EXPECT_DEATH(mutex_lock_by_holder_aborts, SIGABRT, "m->owner != self")
{
    corio_run(&VT, t_relock, NULL);
}

static int t_foreign_unlock(void *arg)
{
    corio_mutex *m;
    (void)arg;
    ASSERT_EQ(corio_mutex_new(&m), 0);
    corio_mutex_unlock(m);
    return 0;
}
TEST_EXPECT_DEATH(mutex_unlock_by_non_holder_aborts, SIGABRT, "m->owner == self")
{
    corio_run(&VT, t_foreign_unlock, NULL);
}

/* ---- event ----------------------------------------------------------------------------------- */

static int event_waiter(void *arg)
{
    struct waiter *w = arg;
    record(w, corio_event_wait(w->obj));
    return 0;
}

static int t_event(void *arg)
{
    corio_event *e;
    struct waiter w[4];
    int log[8] = {0};
    (void)arg;
    ASSERT_EQ(corio_event_new(&e), 0);
    ASSERT(!corio_event_is_set(e));
    spawn_waiters(w, 4, e, log, event_waiter);
    corio_task_cancel(w[3].t);
    settle();
    ASSERT_EQ(w[3].rc, -ECANCELED);
    ASSERT_EQ(log[0], 1);
    corio_event_set(e);
    corio_event_clear(e); /* woken waiters were woken by the set: they still return 0 */
    settle();
    ASSERT_EQ(log[0], 4);
    for (int i = 0; i < 3; i++)
        ASSERT_EQ(w[i].rc, 0);
    corio_event_set(e);
    ASSERT(corio_event_is_set(e));
    ASSERT_EQ(corio_event_wait(e), 0);
    join_all(w, 4);
    corio_event_free(e);
    return 0;
}
TEST(event_set_wakes_every_waiter)
{
    RUN(t_event, NULL);
}

static int t_event_deadline(void *arg)
{
    corio_event *e;
    corio_deadline d;
    (void)arg;
    ASSERT_EQ(corio_event_new(&e), 0);
    int64_t at = corio_after(3 * CORIO_MS);
    corio_deadline_enter(&d, at);
    ASSERT_EQ(corio_event_wait(e), -ETIMEDOUT);
    ASSERT_EQ(corio_now(), at);
    ASSERT(corio_deadline_leave(&d));
    corio_event_free(e);
    return 0;
}
TEST(event_wait_times_out)
{
    RUN(t_event_deadline, NULL);
}

/* ---- condition ------------------------------------------------------------------------------- */

struct condbox {
    corio_cond *c;
    corio_mutex *m;
    int ready;
    int owned_after; /* the waiter held the mutex when cond_wait returned */
};

struct cond_waiter {
    struct waiter w;
    struct condbox *b;
};

static int cond_waiter(void *arg)
{
    struct cond_waiter *cw = arg;
    struct condbox *b = cw->b;
    ASSERT_EQ(corio_mutex_lock(b->m), 0);
    int rc = 0;
    while (!b->ready && rc == 0)
        rc = corio_cond_wait(b->c, b->m);
    record(&cw->w, rc);
    /* try_lock by the holder fails; unlock by a non-holder would abort: together they show
     * the mutex is ours again. */
    b->owned_after += corio_mutex_try_lock(b->m) == -EBUSY;
    corio_mutex_unlock(b->m);
    return 0;
}

static void spawn_cond_waiters(struct cond_waiter *cw, int n, struct condbox *b, int *log)
{
    for (int i = 0; i < n; i++) {
        cw[i] = (struct cond_waiter){.w = {.idx = i, .rc = 1, .log = log}, .b = b};
        ASSERT_EQ(corio_spawn_task(NULL, cond_waiter, &cw[i], &cw[i].w.t), 0);
    }
    settle();
}

static int t_cond_signal(void *arg)
{
    struct condbox b = {0};
    struct cond_waiter cw[5];
    int log[8] = {0};
    (void)arg;
    ASSERT_EQ(corio_cond_new(&b.c), 0);
    ASSERT_EQ(corio_mutex_new(&b.m), 0);
    spawn_cond_waiters(cw, 5, &b, log);
    b.ready = 1;
    for (int i = 0; i < 3; i++) {
        corio_cond_signal(b.c);
        settle();
        ASSERT_EQ(log[0], i + 1);
        ASSERT_EQ(log[i + 1], i);
    }
    corio_cond_broadcast(b.c);
    settle();
    ASSERT_EQ(log[0], 5);
    for (int i = 0; i < 5; i++)
        ASSERT_EQ(cw[i].w.rc, 0);
    ASSERT_EQ(b.owned_after, 5);
    for (int i = 0; i < 5; i++)
        ASSERT_EQ(corio_task_join(cw[i].w.t, NULL), 0);
    corio_cond_signal(b.c); /* nobody waits: a no-op */
    corio_cond_free(b.c);
    corio_mutex_free(b.m);
    return 0;
}
TEST(cond_signal_wakes_longest_waiter_broadcast_all)
{
    RUN(t_cond_signal, NULL);
}

static int t_cond_cancel(void *arg)
{
    struct condbox b = {0};
    struct cond_waiter cw;
    (void)arg;
    ASSERT_EQ(corio_cond_new(&b.c), 0);
    ASSERT_EQ(corio_mutex_new(&b.m), 0);
    spawn_cond_waiters(&cw, 1, &b, NULL);
    /* We hold the mutex when the cancel lands: the waiter must wait for it, cancelled or not. */
    ASSERT_EQ(corio_mutex_lock(b.m), 0);
    corio_task_cancel(cw.w.t);
    settle();
    ASSERT_EQ(cw.w.rc, 1);
    ASSERT(!corio_task_done(cw.w.t));
    corio_mutex_unlock(b.m);
    settle();
    ASSERT_EQ(cw.w.rc, -ECANCELED);
    ASSERT_EQ(b.owned_after, 1);
    ASSERT_EQ(corio_task_join(cw.w.t, NULL), 0);
    ASSERT_EQ(corio_mutex_try_lock(b.m), 0);
    corio_mutex_unlock(b.m);
    corio_cond_free(b.c);
    corio_mutex_free(b.m);
    return 0;
}
TEST(cond_cancelled_wait_relocks_uninterruptibly)
{
    RUN(t_cond_cancel, NULL);
}

static int t_cond_deadline(void *arg)
{
    struct condbox b = {0};
    corio_deadline d;
    (void)arg;
    ASSERT_EQ(corio_cond_new(&b.c), 0);
    ASSERT_EQ(corio_mutex_new(&b.m), 0);
    ASSERT_EQ(corio_mutex_lock(b.m), 0);
    int64_t at = corio_after(4 * CORIO_MS);
    corio_deadline_enter(&d, at);
    ASSERT_EQ(corio_cond_wait(b.c, b.m), -ETIMEDOUT);
    ASSERT_EQ(corio_now(), at);
    ASSERT_EQ(corio_mutex_try_lock(b.m), -EBUSY);
    corio_mutex_unlock(b.m); /* aborts unless cond_wait re-locked it for us */
    ASSERT(corio_deadline_leave(&d));
    corio_cond_free(b.c);
    corio_mutex_free(b.m);
    return 0;
}
TEST(cond_wait_times_out_holding_the_mutex)
{
    RUN(t_cond_deadline, NULL);
}

/* ---- shuffled stress: permits are conserved -------------------------------------------------- */

#define SEM_PERMITS 3
#define SEM_TASKS 24

struct sem_stress {
    corio_sem *s;
    corio_mutex *m;
    uint64_t rng;
    int inside, max_inside, in_mutex, bad;
    int acquired, failed;
    corio_task *t[SEM_TASKS];
};

static uint64_t xorshift(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

static int sem_worker(void *arg)
{
    struct sem_stress *st = arg;
    for (int i = 0; i < 50; i++) {
        corio_deadline d;
        corio_deadline_enter(&d, corio_after((int64_t)(xorshift(&st->rng) % 4) * CORIO_MS));
        int rc = corio_sem_acquire(st->s);
        corio_deadline_leave(&d);
        if (rc < 0) {
            st->failed++;
            if (rc == -ECANCELED)
                return 0;
            continue;
        }
        st->acquired++;
        if (++st->inside > st->max_inside)
            st->max_inside = st->inside;
        if (corio_mutex_lock(st->m) == 0) {
            st->bad += st->in_mutex++ != 0;
            corio_yield();
            st->in_mutex--;
            corio_mutex_unlock(st->m);
        }
        corio_sleep((int64_t)(xorshift(&st->rng) % 3) * CORIO_MS);
        st->inside--;
        corio_sem_release(st->s);
        st->bad += corio__sem_validate(st->s) != 0 || corio__mutex_validate(st->m) != 0;
    }
    return 0;
}

static int t_sem_stress(void *arg)
{
    struct sem_stress *st = arg;
    ASSERT_EQ(corio_sem_new(SEM_PERMITS, &st->s), 0);
    ASSERT_EQ(corio_mutex_new(&st->m), 0);
    for (int i = 0; i < SEM_TASKS; i++)
        ASSERT_EQ(corio_spawn_task(NULL, sem_worker, st, &st->t[i]), 0);
    for (int round = 0; round < 30; round++) {
        ASSERT_EQ(corio_sleep(CORIO_MS), 0);
        corio_task_cancel(st->t[xorshift(&st->rng) % SEM_TASKS]);
    }
    for (int i = 0; i < SEM_TASKS; i++)
        ASSERT_EQ(corio_task_join(st->t[i], NULL), 0);
    ASSERT_EQ(corio_sem_value(st->s), SEM_PERMITS);
    ASSERT_EQ(st->inside, 0);
    ASSERT_LE(st->max_inside, SEM_PERMITS);
    ASSERT_EQ(st->bad, 0);
    ASSERT_GT(st->acquired, 0);
    ASSERT_EQ(corio_mutex_try_lock(st->m), 0);
    corio_mutex_unlock(st->m);
    corio_sem_free(st->s);
    corio_mutex_free(st->m);
    return 0;
}

TEST(sem_and_mutex_shuffled_stress_conserve_permits)
{
    for (uint64_t seed = 1; seed <= 8; seed++) {
        struct sem_stress st = {.rng = seed * 0x9e3779b97f4a7c15ull};
        struct corio_run_opts o = VT;
        o.shuffle_seed = seed;
        ASSERT_EQ(corio_run(&o, t_sem_stress, &st), 0);
    }
}
