/* SPDX-License-Identifier: MIT */
/* corio_run(): the runtime's entry point. It creates one loop per worker (loop 0 on the calling
 * thread, the others on threads of their own; they share nothing but the executor, the signal
 * state and the watchdog), runs main(arg) as the main task of each, and tears everything down
 * once every loop has finished. Also here: cross-loop messages (corio_loop_post and
 * corio_loop_call) and the worker accessors.
 */
#include "core_int.h"

#include <errno.h>
#include <string.h>

#define DEFAULT_STACK (64 * 1024)
#define MIN_STACK (16 * 1024)

static void *worker_thread(void *arg)
{
    corio_loop *l = arg;
    corio__loop_run(l);
    return NULL;
}

static int fill_defaults(const struct corio_run_opts *in, struct corio_run_opts *o)
{
    if (in)
        *o = *in;
    else
        memset(o, 0, sizeof(*o));
    if (o->workers < 0 || o->workers > 1024 || o->executor_threads < 0 ||
        o->executor_threads > 1024)
        return -EINVAL;
    if (o->workers == 0)
        o->workers = 1;
    if (o->stack_size == 0)
        o->stack_size = DEFAULT_STACK;
    if (o->stack_size < MIN_STACK)
        o->stack_size = MIN_STACK;
    if (o->stack_cache == 0)
        o->stack_cache = 1024;
    if (o->watchdog_ns == 0)
        o->watchdog_ns = 100 * CORIO_MS;
    if (o->executor_threads == 0)
        o->executor_threads = 4;
    if (o->executor_queue == 0)
        o->executor_queue = 1024;
    return 0;
}

static void rt_free(struct corio__rt *rt)
{
    corio__watchdog_stop(rt);
    corio__exec_shutdown(rt);
    for (int i = 0; i < rt->nloops; i++)
        corio__loop_free(rt->loops[i]);
    corio__signal_rt_free(rt);
    pthread_mutex_destroy(&rt->exec_lock);
    free(rt->loops);
    free(rt);
}

int corio_run(const struct corio_run_opts *opts, corio_fn main, void *arg)
{
    if (corio__tls_loop)
        return -EBUSY;
    struct corio__rt *rt = calloc(1, sizeof(*rt));
    if (!rt)
        return -ENOMEM;
    pthread_mutex_init(&rt->exec_lock, NULL);
    int rc = fill_defaults(opts, &rt->o);
    if (rc < 0) {
        rt_free(rt);
        return rc;
    }
    rt->loops = calloc((size_t)rt->o.workers, sizeof(*rt->loops));
    if (!rt->loops) {
        rt_free(rt);
        return -ENOMEM;
    }
    /* Signals first: the mask must be in place before any thread exists to inherit it. */
    sigset_t old;
    if ((rc = corio__signal_rt_init(rt, &old)) < 0) {
        rt_free(rt);
        return rc;
    }
    for (int i = 0; i < rt->o.workers; i++) {
        if ((rc = corio__loop_new(rt, i, &rt->loops[i])) < 0)
            goto out;
        rt->nloops = i + 1;
    }
    if ((rc = corio__signal_attach(rt->loops[0])) < 0)
        goto out;
    if ((rc = corio__watchdog_start(rt)) < 0)
        goto out;
    /* Nothing can fail any more before the mains run, except starting threads. */
    for (int i = 0; i < rt->nloops; i++) {
        corio_loop *l = rt->loops[i];
        rc = corio__spawn(l, &l->top, &(struct corio_spawn_opts){.name = "main"}, main, arg,
                          &l->main, "corio_run");
        if (rc < 0)
            corio__fatal("corio_run: cannot allocate the main task");
        l->main->is_main = true;
    }
    int started = 1;
    for (int i = 1; i < rt->nloops; i++) {
        if ((rc = -pthread_create(&rt->loops[i]->thread, NULL, worker_thread, rt->loops[i])))
            break;
        started++;
    }
    if (rc < 0) {
        /* Not every worker could start: the others stop at once; the unstarted loops are run
         * down on this thread afterwards so their mains release what they own. */
        for (int i = 0; i < rt->nloops; i++)
            corio__group_cancel(&rt->loops[i]->top);
    }
    corio__loop_run(rt->loops[0]);
    for (int i = 1; i < started; i++)
        pthread_join(rt->loops[i]->thread, NULL);
    for (int i = started; i < rt->nloops; i++)
        corio__loop_run(rt->loops[i]);
    if (rc == 0) {
        rc = rt->loops[0]->result;
        for (int i = 1; i < rt->nloops && rc >= 0; i++)
            if (rt->loops[i]->result < 0)
                rc = rt->loops[i]->result;
    }
    for (int i = 0; i < rt->nloops; i++)
        corio__task_unref(rt->loops[i]->main);
out:
    rt_free(rt);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return rc;
}

/* ---- workers ------------------------------------------------------------------------------- */

corio_loop *corio_loop_current(void)
{
    return corio__tls_loop;
}

int corio_worker_id(void)
{
    corio_loop *l = corio__tls_loop;
    return l ? l->index : -1;
}

int corio_worker_count(void)
{
    corio_loop *l = corio__tls_loop;
    return l ? l->rt->nloops : 0;
}

corio_loop *corio_worker_loop(int i)
{
    corio_loop *l = corio__tls_loop;
    if (!l || i < 0 || i >= l->rt->nloops)
        return NULL;
    return l->rt->loops[i];
}

/* ---- posting ------------------------------------------------------------------------------- */

struct post_msg {
    struct corio__msg m;
    corio_fn fn;
    void *arg;
};

/* Spawns into the top group even while it is cancelled: the task then sees -ECANCELED at its
 * first blocking call, and still gets to release what it owns. */
static int spawn_forced(corio_loop *l, const char *name, corio_fn fn, void *arg, corio_task **out)
{
    bool was = l->top.cancelled;
    l->top.cancelled = false;
    int rc = corio__spawn(l, &l->top, &(struct corio_spawn_opts){.name = name}, fn, arg, out,
                          "corio_loop_post");
    l->top.cancelled = was;
    if (rc == 0 && was && out && *out)
        corio_task_cancel(*out);
    return rc;
}

static void post_handler(corio_loop *l, struct corio__msg *m)
{
    struct post_msg *p = (struct post_msg *)m;
    corio_task *t = NULL;
    if (spawn_forced(l, "posted", p->fn, p->arg, &t) == 0) {
        if (l->top.cancelled)
            corio_task_cancel(t);
        corio__task_unref(t);
    } else {
        corio_log(CORIO_LOG_ERROR, "core", "out of memory: posted task dropped");
    }
    free(p);
}

int corio_loop_post(corio_loop *l, corio_fn fn, void *arg)
{
    struct post_msg *p = malloc(sizeof(*p));
    if (!p)
        return -ENOMEM;
    p->m.fn = post_handler;
    p->fn = fn;
    p->arg = arg;
    int rc = corio__loop_send(l, &p->m);
    if (rc < 0)
        free(p);
    return rc;
}

/* A call to another loop. Lives on the caller's stack; the caller does not return before the
 * done message has arrived, so both sides may use it until then. */
struct remote_call {
    struct corio__msg req, cancel, done;
    corio_loop *from;
    corio_task *caller; /* from's side */
    bool finished;      /* from's side */
    corio_task *remote; /* to's side: the running task, NULL once finished */
    corio_fn fn;
    void *arg;
    int result;
};

static void call_done_handler(corio_loop *l, struct corio__msg *m)
{
    struct remote_call *c = corio__container_of(m, struct remote_call, done);
    (void)l;
    c->finished = true;
    corio__wake(c->caller, 0);
    corio__loop_ext_end(c->from);
}

static int call_body(void *arg)
{
    struct remote_call *c = arg;
    c->result = c->fn(c->arg);
    c->remote = NULL;
    c->done.fn = call_done_handler;
    if (corio__loop_send(c->from, &c->done) < 0)
        corio__fatal("corio_loop_call: the calling loop went away");
    return 0;
}

static void call_req_handler(corio_loop *l, struct corio__msg *m)
{
    struct remote_call *c = corio__container_of(m, struct remote_call, req);
    corio_task *t = NULL;
    if (spawn_forced(l, "remote call", call_body, c, &t) < 0)
        corio__fatal("corio_loop_call: out of memory on the remote loop");
    c->remote = t;
    corio__task_unref(t);
}

static void call_cancel_handler(corio_loop *l, struct corio__msg *m)
{
    struct remote_call *c = corio__container_of(m, struct remote_call, cancel);
    (void)l;
    if (c->remote) /* still running (the request always precedes the cancel) */
        corio_task_cancel(c->remote);
}

static int call_local(corio_fn fn, void *arg, int *result)
{
    corio_group *g;
    corio_task *t;
    int rc = corio_group_open(&g);
    if (rc < 0)
        return rc;
    rc = corio_spawn_task(g, fn, arg, &t);
    if (rc == 0) {
        rc = corio_task_join(t, result);
        if (rc < 0) {
            corio_task_cancel(t);
            corio_task_release(t);
        }
    }
    int grc = corio_group_close(g);
    (void)grc; /* the child's own result travels through *result */
    return rc;
}

int corio_loop_call(corio_loop *l, corio_fn fn, void *arg, int *result)
{
    corio_task *self = corio__self_checked("corio_loop_call");
    if (l == self->loop)
        return call_local(fn, arg, result);
    struct remote_call c = {.from = self->loop, .caller = self, .fn = fn, .arg = arg};
    c.req.fn = call_req_handler;
    corio__loop_ext_begin(self->loop);
    int rc = corio__loop_send(l, &c.req);
    if (rc < 0) {
        corio__loop_ext_end(self->loop);
        return rc;
    }
    int err = 0;
    while (!c.finished) {
        rc = corio__park("loop call", l->index);
        if (rc < 0 && !err) {
            err = rc;
            c.cancel.fn = call_cancel_handler;
            /* A closed mailbox means the remote task has finished and its done message is on
             * its way, so there is nothing left to cancel. */
            (void)corio__loop_send(l, &c.cancel);
        }
        if (rc < 0) {
            /* Wait for the remote side regardless: it may still use c and arg. */
            corio_deadline shield;
            corio__shield_forever(&shield);
            while (!c.finished)
                corio__park("loop call (cancelling)", l->index);
            corio_deadline_leave(&shield);
        }
    }
    if (err)
        return err;
    if (result)
        *result = c.result;
    return 0;
}
