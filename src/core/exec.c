/* SPDX-License-Identifier: MIT */
/* The executor (corio/exec.h): one pool of threads per run that runs blocking functions for
 * tasks, created on the first corio_exec_run() and torn down by corio__exec_shutdown() once
 * every loop has finished.
 *
 * A job is a struct on the waiting task's stack (on the heap with CORIO_EXEC_ABANDON, because
 * the worker may outlive the waiter). It goes through these states, all under x->lock:
 *
 *   SPACE ---> QUEUED ---> RUNNING ---> DONE          (completion posted to the job's loop)
 *     |          |            `-------> ABANDONED     (waiter gone; the worker frees the job)
 *     `----------`-> (removed by a waiter that gave up)
 *
 * The submission queue is bounded. A submitter that finds it full (or finds earlier submitters
 * of its own loop still waiting) links its job on its loop's slot, a FIFO of space waiters, and
 * parks. Whenever room appears (a worker dequeues, a waiter withdraws a job) and some slot has
 * waiters, that slot's loop gets one message; its handler, on the loop thread, moves waiters'
 * jobs into the queue while there is room and wakes their tasks, so a woken waiter is already
 * queued and a newcomer of the same loop cannot overtake it. Completion travels the same way:
 * the worker sets DONE and posts the job's own message; the handler marks it completed and
 * wakes the task. Every submitted job counts as an external operation of its loop
 * (corio__loop_ext_begin) until its completion is handled or its waiter withdraws, so a
 * virtual-time loop does not jump its clock while a job may still come back.
 *
 * When the waiter is cancelled or its deadline passes: a job still waiting for room or queued
 * is removed and never runs; a RUNNING job is waited for, shielded (default), or marked
 * ABANDONED (CORIO_EXEC_ABANDON), in which case the worker calls o->abandoned instead of
 * posting. A job already DONE when the waiter looks has finished before the waiter gave up, so
 * the call succeeds (the completion message is in flight; the waiter waits for it, shielded):
 * with CORIO_EXEC_ABANDON this keeps "an error after fn started means abandoned() owns arg".
 *
 * Invariant: nqueued == length of queue <= cap; nspace == sum of the slots' nwait; each slot's
 *   nwait == length of its waiters list; a slot's message is in its loop's mailbox iff
 *   msg_pending.
 * Invariant: a job's loop-side fields (completed, in_space) are touched only on its loop's
 *   thread; the worker never touches a job after posting its completion or freeing it.
 *
 * Deliberately not here: priorities, per-job timeouts inside fn (fn cannot be interrupted),
 * growing the pool, work stealing between loops.
 */
#include "core_int.h"
#include "corio/exec.h"

#include <errno.h>
#include <string.h>

enum job_state {
    JOB_SPACE,     /* on its loop's slot, waiting for room in the queue */
    JOB_QUEUED,    /* in x->queue */
    JOB_RUNNING,   /* fn is running on a worker */
    JOB_DONE,      /* fn returned; the completion message is posted or about to be */
    JOB_ABANDONED, /* fn is running and the waiter has gone: the worker frees the job */
};

struct job {
    struct corio__msg msg;   /* completion, posted by the worker to loop */
    struct corio__list node; /* in x->queue (QUEUED) or slot->waiters (SPACE); under lock */
    corio_exec_fn fn;
    void *arg;
    void (*abandoned)(void *arg, intptr_t result);
    intptr_t result;  /* written by the worker before DONE */
    corio_loop *loop; /* the submitting loop */
    corio_task *task; /* the waiting task */
    int state;        /* enum job_state; under x->lock */
    bool abandon;     /* CORIO_EXEC_ABANDON: the job is malloc'ed */
    bool completed;   /* loop thread only: the completion has been handled */
    bool in_space;    /* loop thread only: parked for room (for task listings) */
};

/* Space waiters of one loop (index = loop->index). */
struct slot {
    struct corio__msg msg;      /* "the queue may have room", posted to loop */
    struct corio__list waiters; /* jobs in SPACE, FIFO; under lock, only by loop's thread */
    size_t nwait;               /* length of waiters; under lock */
    bool msg_pending;           /* msg is in loop's mailbox; under lock */
    corio_loop *loop;
};

struct corio__exec {
    pthread_mutex_t lock;     /* guards every field below except threads/nthreads/slots */
    pthread_cond_t cond;      /* workers: a job was queued, or shut was set */
    struct corio__list queue; /* QUEUED jobs, FIFO */
    size_t nqueued, cap;
    size_t running;
    uint64_t done, dropped;
    size_t nspace; /* space waiters over all slots */
    bool shut;
    int nthreads; /* written before the executor is published, then constant */
    pthread_t *threads;
    int nslots;
    struct slot *slots;
};

static struct corio__exec *exec_peek(struct corio__rt *rt)
{
    /* Published once under rt->exec_lock; loops of other threads read it without the lock. */
    return __atomic_load_n(&rt->exec, __ATOMIC_ACQUIRE);
}

/* ---- queue (callers hold x->lock) ------------------------------------------------------------ */

static void enqueue(struct corio__exec *x, struct job *j)
{
    j->state = JOB_QUEUED;
    corio__list_push(&x->queue, &j->node);
    x->nqueued++;
    pthread_cond_signal(&x->cond);
}

/* Room may have appeared: tell every loop with space waiters that has not been told yet. One
 * pending message per loop is enough, since its handler fills all the room there is then. */
static void notify_space(struct corio__exec *x)
{
    if (x->nspace == 0 || x->nqueued >= x->cap)
        return;
    for (int i = 0; i < x->nslots; i++) {
        struct slot *s = &x->slots[i];
        if (s->nwait == 0 || s->msg_pending)
            continue;
        s->msg_pending = true;
        /* A loop with parked tasks keeps its mailbox open, so this cannot fail; if it did, the
         * next notification would retry. */
        if (corio__loop_send(s->loop, &s->msg) < 0)
            s->msg_pending = false;
    }
}

static void space_unlink(struct corio__exec *x, struct slot *s, struct job *j)
{
    corio__list_del(&j->node);
    s->nwait--;
    x->nspace--;
}

/* ---- loop side ------------------------------------------------------------------------------- */

/* Moves this loop's space waiters into the queue while there is room, in FIFO order. */
static void space_handler(corio_loop *l, struct corio__msg *m)
{
    struct slot *s = corio__container_of(m, struct slot, msg);
    struct corio__exec *x = exec_peek(l->rt);
    pthread_mutex_lock(&x->lock);
    s->msg_pending = false;
    struct corio__list *n = s->waiters.next;
    while (n != &s->waiters && x->nqueued < x->cap) {
        struct job *j = corio__container_of(n, struct job, node);
        n = n->next;
        /* A task already woken by a cancel or timeout is leaving: it unlinks itself. */
        if (j->task->state != CORIO__WAITING)
            continue;
        space_unlink(x, s, j);
        enqueue(x, j);
        j->in_space = false;
        corio__wake(j->task, 0);
    }
    pthread_mutex_unlock(&x->lock);
}

static void done_handler(corio_loop *l, struct corio__msg *m)
{
    struct job *j = corio__container_of(m, struct job, msg);
    j->completed = true;
    corio__wake(j->task, 0); /* a no-op if a cancel woke it first: it sees completed */
    corio__loop_ext_end(l);
}

/* ---- workers --------------------------------------------------------------------------------- */

static void *worker_main(void *arg)
{
    struct corio__exec *x = arg;
    pthread_mutex_lock(&x->lock);
    for (;;) {
        while (corio__list_empty(&x->queue) && !x->shut)
            pthread_cond_wait(&x->cond, &x->lock);
        if (corio__list_empty(&x->queue))
            break; /* shut, and nothing left to run */
        struct job *j = corio__container_of(x->queue.next, struct job, node);
        corio__list_del(&j->node);
        x->nqueued--;
        x->running++;
        j->state = JOB_RUNNING;
        notify_space(x);
        pthread_mutex_unlock(&x->lock);

        intptr_t r = j->fn(j->arg);

        pthread_mutex_lock(&x->lock);
        x->running--;
        x->done++;
        if (j->state == JOB_ABANDONED) {
            pthread_mutex_unlock(&x->lock);
            if (j->abandoned)
                j->abandoned(j->arg, r);
            free(j);
            pthread_mutex_lock(&x->lock);
            continue;
        }
        j->result = r;
        j->state = JOB_DONE;
        pthread_mutex_unlock(&x->lock);
        /* From here on the job belongs to its loop again (it may be gone once this returns).
         * The waiter is still parked on that loop, so its mailbox is open. */
        if (corio__loop_send(j->loop, &j->msg) < 0)
            corio__fatal("executor: the loop of a waiting task stopped accepting messages");
        pthread_mutex_lock(&x->lock);
    }
    pthread_mutex_unlock(&x->lock);
    return NULL;
}

static void exec_free(struct corio__exec *x)
{
    pthread_cond_destroy(&x->cond);
    pthread_mutex_destroy(&x->lock);
    free(x->threads);
    free(x->slots);
    free(x);
}

static int exec_start(struct corio__rt *rt, struct corio__exec **out)
{
    struct corio__exec *x = calloc(1, sizeof(*x));
    if (!x)
        return -ENOMEM;
    int want = rt->o.executor_threads;
    x->threads = calloc((size_t)want, sizeof(*x->threads));
    x->slots = calloc((size_t)rt->nloops, sizeof(*x->slots));
    pthread_mutex_init(&x->lock, NULL);
    pthread_cond_init(&x->cond, NULL);
    if (!x->threads || !x->slots) {
        exec_free(x);
        return -ENOMEM;
    }
    corio__list_init(&x->queue);
    x->cap = rt->o.executor_queue;
    x->nslots = rt->nloops;
    for (int i = 0; i < x->nslots; i++) {
        x->slots[i].msg.fn = space_handler;
        x->slots[i].loop = rt->loops[i];
        corio__list_init(&x->slots[i].waiters);
    }
    /* Threads inherit the creator's mask: blocking everything around pthread_create leaves no
     * moment at which a process-directed signal could land on an executor thread. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int err = 0;
    for (int i = 0; i < want; i++) {
        if ((err = pthread_create(&x->threads[i], NULL, worker_main, x)) != 0)
            break;
        x->nthreads++;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (x->nthreads == 0) {
        exec_free(x);
        return -ENOMEM; /* pthread_create's EAGAIN: out of threads or memory */
    }
    if (x->nthreads < want)
        corio_log(CORIO_LOG_WARN, "core", "executor: started %d of %d threads: %s", x->nthreads,
                  want, corio_strerror(-err));
    *out = x;
    return 0;
}

static int exec_get(struct corio__rt *rt, struct corio__exec **out)
{
    struct corio__exec *x = exec_peek(rt);
    int rc = 0;
    if (CORIO_LIKELY(x != NULL)) {
        *out = x;
        return 0;
    }
    pthread_mutex_lock(&rt->exec_lock);
    x = rt->exec;
    if (!x && (rc = exec_start(rt, &x)) == 0)
        __atomic_store_n(&rt->exec, x, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&rt->exec_lock);
    *out = x;
    return rc;
}

void corio__exec_shutdown(struct corio__rt *rt)
{
    struct corio__exec *x = rt->exec;
    if (!x)
        return;
    pthread_mutex_lock(&x->lock);
    x->shut = true;
    pthread_cond_broadcast(&x->cond);
    pthread_mutex_unlock(&x->lock);
    /* Every loop has finished, so only abandoned jobs can still be running; joining lets their
     * abandoned() callbacks run before corio_run() returns. */
    for (int i = 0; i < x->nthreads; i++)
        pthread_join(x->threads[i], NULL);
    CORIO_ASSERT(corio__list_empty(&x->queue) && x->nspace == 0);
    exec_free(x);
    rt->exec = NULL;
}

/* ---- submitting and waiting ------------------------------------------------------------------ */

/* Queues j, or links it on its loop's slot if the queue is full or earlier submitters of this
 * loop are still waiting for room. */
static int submit(struct corio__exec *x, struct job *j)
{
    struct slot *s = &x->slots[j->loop->index];
    pthread_mutex_lock(&x->lock);
    if (x->shut) {
        pthread_mutex_unlock(&x->lock);
        return -ESHUTDOWN;
    }
    if (x->nqueued < x->cap && s->nwait == 0) {
        enqueue(x, j);
    } else {
        j->state = JOB_SPACE;
        j->in_space = true;
        corio__list_push(&s->waiters, &j->node);
        s->nwait++;
        x->nspace++;
        notify_space(x); /* there may be room already, with earlier waiters about to leave */
    }
    pthread_mutex_unlock(&x->lock);
    corio__loop_ext_begin(j->loop);
    return 0;
}

static void job_release(struct job *j)
{
    if (j->abandon)
        free(j);
}

/* Parks, shielded, until the completion of j has been handled. The listing says the task has
 * given up and only waits for fn to let go of what it may be using. */
static void wait_completion(struct job *j)
{
    corio_deadline shield;
    corio__shield_forever(&shield);
    while (!j->completed)
        (void)corio__park("executor (cancelling)", 0); /* only the completion wakes it */
    corio_deadline_leave(&shield);
}

/* A job withdrawn before fn started. With CORIO_EXEC_ABANDON, arg still goes to abandoned()
 * (with the negative error as result), so ownership of arg always moves at submission and the
 * caller never has to guess whether fn ran. */
static void never_ran(struct job *j, int err)
{
    if (j->abandon && j->abandoned)
        j->abandoned(j->arg, err);
    job_release(j);
}

/* The waiter was cancelled or timed out (err) before the completion was handled. */
static int give_up(struct corio__exec *x, struct job *j, int err, intptr_t *result)
{
    corio_loop *l = j->loop;
    pthread_mutex_lock(&x->lock);
    switch (j->state) {
    case JOB_SPACE:
        space_unlink(x, &x->slots[l->index], j);
        notify_space(x); /* room left unused for us goes to whoever waits behind */
        pthread_mutex_unlock(&x->lock);
        corio__loop_ext_end(l);
        never_ran(j, err);
        return err;
    case JOB_QUEUED:
        corio__list_del(&j->node);
        x->nqueued--;
        x->dropped++;
        notify_space(x);
        pthread_mutex_unlock(&x->lock);
        corio__loop_ext_end(l);
        never_ran(j, err);
        return err;
    case JOB_RUNNING:
        if (j->abandon) {
            j->state = JOB_ABANDONED; /* the worker frees j: do not touch it again */
            pthread_mutex_unlock(&x->lock);
            corio__loop_ext_end(l);
            return err;
        }
        break; /* fn may use the task's memory: wait for it, then report err */
    default:
        CORIO_ASSERT(j->state == JOB_DONE);
        err = 0; /* fn finished before we gave up: its completion is on its way */
        break;
    }
    pthread_mutex_unlock(&x->lock);
    wait_completion(j);
    if (result)
        *result = j->result;
    job_release(j);
    return err;
}

/* An ABANDON call failing before submission still hands arg over, so that "an error means
 * abandoned() owns arg" holds for every error. */
static int refuse(const struct corio_exec_opts *o, void *arg, int rc)
{
    if (o && (o->flags & CORIO_EXEC_ABANDON) && o->abandoned)
        o->abandoned(arg, rc);
    return rc;
}

int corio_exec_run(const struct corio_exec_opts *o, corio_exec_fn fn, void *arg, intptr_t *result)
{
    corio_task *self = corio__self_checked("corio_exec_run");
    CORIO_ASSERT(fn != NULL);
    int rc = corio_check(); /* a task that already has to stop submits nothing */
    if (rc < 0)
        return refuse(o, arg, rc);
    struct corio__exec *x;
    if ((rc = exec_get(self->loop->rt, &x)) < 0)
        return refuse(o, arg, rc);
    const char *what = o && o->what ? o->what : "executor";
    struct job local, *j = &local;
    bool abandon = o && (o->flags & CORIO_EXEC_ABANDON);
    if (abandon && !(j = malloc(sizeof(*j))))
        return refuse(o, arg, -ENOMEM);
    *j = (struct job){
        .msg.fn = done_handler,
        .fn = fn,
        .arg = arg,
        .abandoned = o ? o->abandoned : NULL,
        .loop = self->loop,
        .task = self,
        .abandon = abandon,
    };
    corio__list_init(&j->node);
    if ((rc = submit(x, j)) < 0) {
        never_ran(j, rc);
        return rc;
    }
    while (!j->completed) {
        rc = corio__park(j->in_space ? "executor queue" : what, 0);
        if (rc < 0 && !j->completed)
            return give_up(x, j, rc, result);
    }
    if (result)
        *result = j->result;
    job_release(j);
    return 0;
}

void corio_exec_stats(struct corio_exec_stats *out)
{
    corio_task *self = corio__self_checked("corio_exec_stats");
    memset(out, 0, sizeof(*out));
    struct corio__exec *x = exec_peek(self->loop->rt);
    if (!x)
        return;
    pthread_mutex_lock(&x->lock);
    out->threads = x->nthreads;
    out->queue_cap = x->cap;
    out->queued = x->nqueued;
    out->running = x->running;
    out->done = x->done;
    out->dropped = x->dropped;
    pthread_mutex_unlock(&x->lock);
}
