/* SPDX-License-Identifier: MIT */
/* Tasks: spawning, switching, parking and waking, cancellation, joining, deadline and shield
 * scopes, and task-local values.
 *
 * Switching. A task that parks switches directly to the next runnable task while the loop's
 * budget lasts, and to the scheduler context otherwise (loop.c), so a yield costs one context
 * switch rather than two. A finished task cannot free the stack it runs on: it leaves itself in
 * loop->dead and whichever context runs next releases it (corio__after_switch).
 *
 * Parking. A blocking primitive links a waiter on its own wait list, then calls corio__park().
 * The park checks cancellation and the deadline first, arms the task's single timer for the
 * effective deadline, and switches away. Whoever wakes the task (the primitive handing over a
 * resource, the timer, a cancel) sets a wake code; the first wake wins, later ones are no-ops
 * because the task is no longer WAITING. A primitive that hands something over removes the
 * waiter from its list first, so a woken waiter that is still linked knows it was not served.
 *
 * Invariant: at most one task per loop is RUNNING, and it is loop->cur.
 */
#include "core_int.h"
#include "ctx.h"

#include <errno.h>
#include <stdarg.h>
#include <string.h>

#if CORIO_ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif
#if CORIO_TSAN
void *__tsan_get_current_fiber(void);
void *__tsan_create_fiber(unsigned flags);
void __tsan_destroy_fiber(void *fiber);
void __tsan_switch_to_fiber(void *fiber, unsigned flags);
void __tsan_set_fiber_name(void *fiber, const char *name);
#endif

_Thread_local corio_loop *corio__tls_loop;
static _Atomic uint64_t next_task_id = 1;

#define SWITCH_BUDGET 512 /* direct switches between two polls of the fds: ~10 us of work */

/* ---- switching --------------------------------------------------------------------------------
 */

/* Switches from the running context (saving into *save) to the context at to_sp. to_task is
 * NULL for the scheduler. dying: the current task will never run again. */
static void switch_to(corio_loop *l, void **save, corio_task *to_task, bool dying)
{
    void *to_sp = to_task ? to_task->sp : l->sched_sp;
#if CORIO_ASAN
    void *fake = NULL;
    const void *lo = to_task ? to_task->stack.lo : l->sched_stack_lo;
    size_t sz = to_task ? to_task->stack.size : l->sched_stack_size;
    __sanitizer_start_switch_fiber(dying ? NULL : &fake, lo, sz);
#endif
#if CORIO_TSAN
    /* Fibers are created on first run: TSan counts them as threads (8128 at most), and a burst
     * of spawned-but-not-yet-run tasks must not exhaust them. */
    if (to_task && !to_task->tsan_fiber) {
        to_task->tsan_fiber = __tsan_create_fiber(0);
        __tsan_set_fiber_name(to_task->tsan_fiber, to_task->name);
    }
    __tsan_switch_to_fiber(to_task ? to_task->tsan_fiber : l->sched_fiber, 0);
#endif
    (void)dying;
    corio__ctx_switch(save, to_sp);
#if CORIO_ASAN
    __sanitizer_finish_switch_fiber(fake, NULL, NULL);
#endif
    corio__after_switch(l);
}

static void task_free_struct(corio_loop *l, corio_task *t)
{
    if (l->nfree_tasks < 4096) {
        t->rq_next = l->free_tasks;
        l->free_tasks = t;
        l->nfree_tasks++;
    } else {
        free(t);
    }
}

void corio__task_ref(corio_task *t)
{
    t->refs++;
}

void corio__task_unref(corio_task *t)
{
    CORIO_ASSERT(t->refs > 0);
    if (--t->refs == 0)
        task_free_struct(t->loop, t);
}

void corio__after_switch(corio_loop *l)
{
    corio_task *d = l->dead;
    if (CORIO_UNLIKELY(d != NULL)) {
        l->dead = NULL;
        corio__stack_check_canary(d);
        corio__stack_put(&l->stacks, &d->stack);
#if CORIO_TSAN
        __tsan_destroy_fiber(d->tsan_fiber);
        d->tsan_fiber = NULL;
#endif
        corio__task_unref(d);
    }
}

/* The running task gives up the CPU; its state has been set by the caller. */
static void switch_out(corio_loop *l, corio_task *cur, bool dying)
{
    corio_task *next = NULL;
    /* A shuffled run (shuffle_seed, tests) switches through the scheduler every time, which
     * permutes the run queue; a direct switch would always take the head, in FIFO order. */
    if (l->budget > 0 && l->rq_head && !l->shuffle) {
        l->budget--;
        next = l->rq_head;
        l->rq_head = next->rq_next;
        if (!l->rq_head)
            l->rq_tail = NULL;
        l->rq_len--;
        next->state = CORIO__RUNNING;
        if (next == cur) {
            /* A yield with nobody else runnable: keep running, no switch (switching to oneself
             * would resume the stack pointer saved by the previous switch). */
            return;
        }
    }
    l->cur = next;
    atomic_store_explicit(&l->wd_task, next, memory_order_release);
    atomic_store_explicit(&l->c.switches,
                          atomic_load_explicit(&l->c.switches, memory_order_relaxed) + 1,
                          memory_order_relaxed);
    switch_to(l, &cur->sp, next, dying);
}

void corio__sched_resume(corio_loop *l, corio_task *t)
{
    l->budget = SWITCH_BUDGET;
    t->state = CORIO__RUNNING;
    l->cur = t;
    atomic_store_explicit(&l->wd_task, t, memory_order_release);
    atomic_store_explicit(&l->c.switches,
                          atomic_load_explicit(&l->c.switches, memory_order_relaxed) + 1,
                          memory_order_relaxed);
    switch_to(l, &l->sched_sp, t, false);
}

void corio__runq_push(corio_task *t)
{
    corio_loop *l = t->loop;
    t->state = CORIO__RUNNABLE;
    t->rq_next = NULL;
    if (l->rq_tail)
        l->rq_tail->rq_next = t;
    else
        l->rq_head = t;
    l->rq_tail = t;
    l->rq_len++;
}

corio_task *corio__self_checked(const char *fn)
{
    corio_loop *l = corio__tls_loop;
    if (CORIO_UNLIKELY(!l || !l->cur))
        corio__fatal("%s called outside a corio task", fn);
    return l->cur;
}

/* ---- parking ------------------------------------------------------------------------------------
 */

static void mark_deadline_hit(corio_task *t, int64_t eff)
{
    for (corio_deadline *d = t->dl; d; d = d->_prev) {
        if (d->at == eff) {
            d->_hit = 1;
            return;
        }
        if (d->_shield == 2)
            return; /* outer scopes are hidden by the shield */
    }
}

static bool shielded(const corio_task *t)
{
    return t->dl->_shield != 0;
}

int corio__park_until(const char *what, int64_t arg, int64_t until)
{
    corio_task *t = corio__self_checked(what);
    corio_loop *l = t->loop;
    if (t->cancelled && !shielded(t))
        return -ECANCELED;
    int64_t eff = t->dl->_eff;
    if (eff <= l->now) {
        mark_deadline_hit(t, eff);
        return -ETIMEDOUT;
    }
    if (until <= l->now && until < eff)
        return CORIO__WAKE_UNTIL;
    if (until < eff)
        corio__timer_arm(l, t, until, CORIO__WAKE_UNTIL);
    else if (eff != CORIO_FOREVER)
        corio__timer_arm(l, t, eff, -ETIMEDOUT);
    t->state = CORIO__WAITING;
    t->wait_what = what;
    t->wait_arg = arg;
    switch_out(l, t, false);
    /* Running again: whoever woke us disarmed the timer and left a code. */
    t->wait_what = NULL;
    int code = t->wake;
    if (code == -ETIMEDOUT)
        mark_deadline_hit(t, eff);
    return code;
}

int corio__park(const char *what, int64_t arg)
{
    return corio__park_until(what, arg, CORIO_FOREVER);
}

bool corio__wake(corio_task *t, int code)
{
    if (t->state != CORIO__WAITING)
        return false;
    corio__timer_disarm(t->loop, t);
    t->wake = code;
    corio__runq_push(t);
    return true;
}

struct corio__waiter *corio__waitq_wake_one(struct corio__list *q, int code)
{
    while (!corio__list_empty(q)) {
        struct corio__waiter *w = corio__container_of(q->next, struct corio__waiter, node);
        corio__list_del(&w->node);
        if (corio__wake(w->task, code))
            return w;
    }
    return NULL;
}

size_t corio__waitq_wake_all(struct corio__list *q, int code)
{
    size_t n = 0;
    while (corio__waitq_wake_one(q, code))
        n++;
    return n;
}

int corio__waitq_park(struct corio__list *q, struct corio__waiter *w, const char *what, int64_t arg)
{
    w->task = corio__self_checked(what);
    corio__list_push(q, &w->node);
    int rc = corio__park(what, arg);
    if (corio__list_linked(&w->node)) {
        /* Not served: a timeout or cancel woke us (or the pre-check failed). */
        corio__list_del(&w->node);
        if (rc == 0)
            rc = -EINTR; /* cannot happen: a plain wake always unlinks first */
    }
    return rc;
}

/* ---- spawning and finishing -------------------------------------------------------------------
 */

static void local_release(struct corio__local *n);
static void task_entry(void *arg);

int corio__spawn(corio_loop *l, corio_group *g, const struct corio_spawn_opts *o, corio_fn fn,
                 void *arg, corio_task **out, const char *site)
{
    if (out)
        *out = NULL;
    if (g->cancelled || g->closing)
        return -ECANCELED;
    corio_task *t = l->free_tasks;
    if (t) {
        l->free_tasks = t->rq_next;
        l->nfree_tasks--;
    } else if (!(t = malloc(sizeof(*t)))) {
        return -ENOMEM;
    }
    memset(t, 0, offsetof(corio_task, name));
    if (corio__stack_get(&l->stacks, o ? o->stack_size : 0, &t->stack) < 0) {
        task_free_struct(l, t);
        return -ENOMEM;
    }
    const char *name = o && o->name ? o->name : "task";
    size_t nl = strlen(name);
    if (nl >= sizeof t->name)
        nl = sizeof t->name - 1;
    memcpy(t->name, name, nl);
    t->name[nl] = 0;
    t->loop = l;
    t->fn = fn;
    t->arg = arg;
    t->refs = out ? 2 : 1;
    t->id = atomic_fetch_add_explicit(&next_task_id, 1, memory_order_relaxed);
    t->site = site;
    t->spawned_at = l->now;
    corio__timer_init(&t->timer);
    corio_task *parent = l->cur;
    t->base.at = CORIO_FOREVER;
    if (parent && g->owner == parent)
        t->base.at = parent->dl->_shield ? CORIO_FOREVER : parent->dl->_eff;
    t->base._eff = t->base.at;
    t->dl = &t->base;
    if (parent && parent->locals) {
        t->locals = parent->locals;
        /* refcount bump: struct corio__local starts with its count (see below) */
        ++*(uint32_t *)(void *)t->locals;
    }
    t->group = g;
    corio__list_push(&g->children, &t->gnode);
    g->nchildren++;
    corio__list_push(&l->tasks, &t->anode);
    l->ntasks++;
    corio__list_init(&t->owned);
    corio__list_init(&t->joiners);
    t->sp = corio__ctx_make(t->stack.lo + t->stack.size, task_entry, t);
#if CORIO_TSAN
    t->tsan_fiber = NULL;
#endif
    l->c.spawned++;
    corio__runq_push(t);
    if (out)
        *out = t;
    return 0;
}

static void task_finish(corio_loop *l, corio_task *t)
{
    /* Groups the task left open are closed for it: children never outlive their owner. */
    while (!corio__list_empty(&t->owned)) {
        corio_group *g = corio__container_of(t->owned.next, corio_group, onode);
        corio_group_close(g);
    }
    t->dl = &t->base;
    local_release(t->locals);
    t->locals = NULL;
    t->state = CORIO__DONE;
    corio__list_del(&t->anode);
    l->ntasks--;
    l->c.finished++;
    corio__waitq_wake_all(&t->joiners, 0);
    corio__group_child_done(t->group, t);
    if (t->is_main) {
        /* As in groups: a main that was asked to cancel (shutdown) and says so succeeded. */
        l->result = t->result == -ECANCELED && t->cancelled ? 0 : t->result;
        corio__group_cancel(&l->top);
    }
}

static void task_entry(void *arg)
{
    corio_task *t = arg;
    corio_loop *l = t->loop;
#if CORIO_ASAN
    __sanitizer_finish_switch_fiber(NULL, NULL, NULL);
#endif
    corio__after_switch(l);
    t->result = t->fn(t->arg);
    task_finish(l, t);
    l->dead = t;
    switch_out(l, t, true);
    corio__fatal("finished task %s resumed", t->name);
}

void corio__task_free_all(corio_loop *l)
{
    while (l->free_tasks) {
        corio_task *t = l->free_tasks;
        l->free_tasks = t->rq_next;
        free(t);
    }
    l->nfree_tasks = 0;
}

/* ---- public task API ----------------------------------------------------------------------------
 */

int corio_spawn_ex(corio_group *g, const struct corio_spawn_opts *o, corio_fn fn, void *arg,
                   corio_task **out, const char *site)
{
    corio_loop *l = corio__tls_loop;
    if (CORIO_UNLIKELY(!l))
        corio__fatal("corio_spawn called outside a corio loop");
    if (!g)
        g = &l->top;
    CORIO_ASSERT(g->loop == l);
    return corio__spawn(l, g, o, fn, arg, out, site);
}

int corio_task_join(corio_task *t, int *result)
{
    corio_task *self = corio__self_checked("corio_task_join");
    if (t == self)
        return -EDEADLK;
    CORIO_ASSERT(t->loop == self->loop);
    while (t->state != CORIO__DONE) {
        struct corio__waiter w = {.data = NULL};
        int rc = corio__waitq_park(&t->joiners, &w, "join", (int64_t)t->id);
        if (rc < 0)
            return rc;
    }
    if (result)
        *result = t->result;
    corio__task_unref(t);
    return 0;
}

void corio_task_cancel(corio_task *t)
{
    if (t->state == CORIO__DONE || t->cancelled)
        return;
    t->cancelled = true;
    for (struct corio__list *n = t->owned.next; n != &t->owned; n = n->next)
        corio__group_cancel(corio__container_of(n, corio_group, onode));
    if (t->state == CORIO__WAITING && !shielded(t))
        corio__wake(t, -ECANCELED);
}

void corio_task_release(corio_task *t)
{
    corio__task_unref(t);
}

bool corio_task_done(const corio_task *t)
{
    return t->state == CORIO__DONE;
}

corio_task *corio_self(void)
{
    corio_loop *l = corio__tls_loop;
    return l ? l->cur : NULL;
}

uint64_t corio_task_id(const corio_task *t)
{
    return t->id;
}

const char *corio_task_name(const corio_task *t)
{
    return t->name;
}

bool corio_cancelled(void)
{
    corio_task *t = corio_self();
    return t && t->cancelled;
}

int corio_check(void)
{
    corio_task *t = corio__self_checked("corio_check");
    if (t->cancelled && !shielded(t))
        return -ECANCELED;
    if (t->dl->_eff <= t->loop->now) {
        mark_deadline_hit(t, t->dl->_eff);
        return -ETIMEDOUT;
    }
    return 0;
}

int corio_yield(void)
{
    corio_task *t = corio__self_checked("corio_yield");
    int rc = corio_check();
    if (rc < 0)
        return rc;
    corio_loop *l = t->loop;
    corio__runq_push(t);
    switch_out(l, t, false);
    return 0;
}

int corio_sleep_until(int64_t at)
{
    int rc = corio__park_until("sleep", 0, at);
    return rc == CORIO__WAKE_UNTIL ? 0 : rc;
}

int corio_sleep(int64_t ns)
{
    return corio_sleep_until(corio_after(ns));
}

/* ---- deadlines and shields ----------------------------------------------------------------------
 */

void corio_deadline_enter(corio_deadline *d, int64_t at)
{
    corio_task *t = corio__self_checked("corio_deadline_enter");
    d->at = at;
    d->_prev = t->dl;
    d->_shield = t->dl->_shield ? 1 : 0;
    d->_eff = at < t->dl->_eff ? at : t->dl->_eff;
    d->_hit = 0;
    t->dl = d;
}

void corio_shield_enter(corio_deadline *d, int64_t at)
{
    corio_task *t = corio__self_checked("corio_shield_enter");
    d->at = at;
    d->_prev = t->dl;
    d->_shield = 2; /* 2 marks the shield's own scope, 1 a scope inside one */
    d->_eff = at;
    d->_hit = 0;
    t->dl = d;
}

void corio__shield_forever(corio_deadline *d)
{
    corio_shield_enter(d, CORIO_FOREVER);
}

bool corio_deadline_leave(corio_deadline *d)
{
    corio_task *t = corio__self_checked("corio_deadline_leave");
    if (CORIO_UNLIKELY(t->dl != d))
        corio__fatal("corio_deadline_leave: scope left out of order in task %s", t->name);
    t->dl = d->_prev;
    return d->_hit != 0;
}

int64_t corio_deadline_current(void)
{
    corio_task *t = corio__self_checked("corio_deadline_current");
    return t->dl->_eff;
}

int corio_wait_for(int64_t timeout_ns, corio_fn fn, void *arg)
{
    corio_deadline d;
    corio_deadline_enter(&d, corio_after(timeout_ns));
    int rc = fn(arg);
    corio_deadline_leave(&d);
    return rc;
}

int64_t corio_now(void)
{
    corio_loop *l = corio__tls_loop;
    if (CORIO_UNLIKELY(!l))
        corio__fatal("corio_now called outside a corio loop");
    return l->now;
}

int64_t corio_clock(void)
{
    corio_loop *l = corio__tls_loop;
    if (CORIO_UNLIKELY(!l))
        corio__fatal("corio_clock called outside a corio loop");
    return corio__clock_now(l);
}

int64_t corio_after(int64_t ns)
{
    int64_t now = corio_now();
    if (ns <= 0)
        return now;
    return ns > CORIO_FOREVER - now ? CORIO_FOREVER : now + ns;
}

/* ---- task-local values --------------------------------------------------------------------------
 */

/* Nodes form persistent (immutable) lists shared between parents and children: setting a value
 * prepends a node, so tasks that already hold the list see no change. One exception keeps the
 * common pattern "set k, work, set k again" (a request id per request on a connection's task)
 * free of allocations: when the head node is for the same key and no other task holds it
 * (refs == 1), nobody can observe the change, so it is updated in place. */
struct corio__local {
    uint32_t refs;  /* must stay first: spawn bumps it without knowing the struct */
    uint32_t len;   /* bytes of data[] in use for a copy, 0 for a borrowed value */
    uint32_t cap;   /* bytes allocated for data[] */
    uint32_t depth; /* nodes from this one to the end of the list */
    struct corio__local *next;
    const corio_local_key *key;
    void *value;
    char data[];
};
CORIO_STATIC_ASSERT(offsetof(struct corio__local, refs) == 0, "refs first");

#define LOCAL_COMPACT_LEN 32

static void local_release(struct corio__local *n)
{
    while (n && --n->refs == 0) {
        struct corio__local *next = n->next;
        free(n);
        n = next;
    }
}

/* A long chain (a long-lived task setting the same key again and again) is rebuilt with only
 * the newest value of each key. */
static int local_compact(corio_task *t)
{
    struct corio__local *head = NULL, **tail = &head;
    for (struct corio__local *n = t->locals; n; n = n->next) {
        bool seen = false;
        for (struct corio__local *m = head; m && !seen; m = m->next)
            seen = m->key == n->key;
        if (seen)
            continue;
        struct corio__local *c = malloc(sizeof(*c) + n->len);
        if (!c) {
            local_release(head);
            return -ENOMEM;
        }
        memcpy(c, n, sizeof(*c) + n->len);
        c->cap = n->len;
        c->refs = 1;
        c->next = NULL;
        c->depth = 0; /* set below */
        if (n->len)
            c->value = c->data;
        *tail = c;
        tail = &c->next;
    }
    local_release(t->locals);
    t->locals = head;
    uint32_t d = 0;
    for (struct corio__local *m = head; m; m = m->next)
        d++;
    for (struct corio__local *m = head; m; m = m->next)
        m->depth = d--;
    return 0;
}

static int local_push(corio_task *t, struct corio__local *n)
{
    size_t len = t->locals ? t->locals->depth : 0;
    n->depth = (uint32_t)len + 1;
    n->refs = 1;
    n->next = t->locals; /* the task's reference moves to the new head */
    t->locals = n;
    if (len >= LOCAL_COMPACT_LEN)
        return local_compact(t);
    return 0;
}

/* The head node if it may be updated in place for k (see above), else NULL. */
static struct corio__local *own_head(corio_task *t, const corio_local_key *k)
{
    struct corio__local *h = t->locals;
    return h && h->key == k && h->refs == 1 ? h : NULL;
}

int corio_local_set(const corio_local_key *k, void *value)
{
    corio_task *t = corio__self_checked("corio_local_set");
    struct corio__local *n = own_head(t, k);
    if (n) {
        n->value = value;
        n->len = 0;
        return 0;
    }
    n = malloc(sizeof(*n));
    if (!n)
        return -ENOMEM;
    n->key = k;
    n->value = value;
    n->len = n->cap = 0;
    return local_push(t, n);
}

int corio_local_set_copy(const corio_local_key *k, const void *data, size_t len)
{
    corio_task *t = corio__self_checked("corio_local_set_copy");
    if (len > 65536)
        return -EMSGSIZE;
    struct corio__local *n = own_head(t, k);
    if (n && n->cap >= len + 1) {
        memmove(n->data, data, len); /* data may be the old value */
        n->data[len] = 0;
        n->len = (uint32_t)len + 1;
        n->value = n->data;
        return 0;
    }
    /* Room for a typical id or token, so that later values reuse the node. */
    size_t cap = len + 1 < 48 ? 48 : len + 1;
    n = malloc(sizeof(*n) + cap);
    if (!n)
        return -ENOMEM;
    n->cap = (uint32_t)cap;
    n->key = k;
    if (len)
        memcpy(n->data, data, len);
    n->data[len] = 0;
    n->len = (uint32_t)len + 1;
    n->value = n->data;
    return local_push(t, n);
}

void *corio_local_get(const corio_local_key *k)
{
    corio_task *t = corio_self();
    if (!t)
        return NULL;
    for (struct corio__local *n = t->locals; n; n = n->next)
        if (n->key == k)
            return n->value;
    return NULL;
}
