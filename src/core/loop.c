/* SPDX-License-Identifier: MIT */
/* The event loop: one per thread. Each iteration runs in a fixed order:
 *
 *   1. run runnable tasks in FIFO order (a batch: the tasks switch among themselves directly
 *      for up to SWITCH_BUDGET switches, then control returns here);
 *   2. poll fds with epoll: without blocking if tasks are runnable, else until the next timer;
 *   3. read the clock once and fire due timers (a task's park deadline);
 *   4. drain the mailbox (messages from other threads: posted tasks, executor completions).
 *
 * The loop ends when it has no tasks left and its mailbox is closed and empty. Time comes from
 * one function (corio__clock_now), so tests can run on virtual time: the clock then moves only
 * when every task waits, and jumps straight to the next timer.
 *
 * Not here: fd registration (fd.c), tasks (task.c), the run and workers (run.c).
 */
#include "core_int.h"

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#if CORIO_TSAN
void *__tsan_get_current_fiber(void);
#endif

#define TICK_NS CORIO_MS
#define EV_MBOX CORIO__EV_MBOX
#define EV_SIGNAL CORIO__EV_SIGNAL
#define MAX_EVENTS 256

int64_t corio__clock_now(corio_loop *l)
{
    if (l->virtual_time)
        return l->vnow;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * CORIO_S + ts.tv_nsec;
}

static uint64_t tick_ceil(const corio_loop *l, int64_t at)
{
    if (at <= l->epoch)
        return 0;
    return ((uint64_t)(at - l->epoch) + (uint64_t)TICK_NS - 1) / (uint64_t)TICK_NS;
}

static uint64_t tick_floor(const corio_loop *l, int64_t at)
{
    return at <= l->epoch ? 0 : (uint64_t)(at - l->epoch) / (uint64_t)TICK_NS;
}

void corio__timer_arm(corio_loop *l, corio_task *t, int64_t at, int code)
{
    t->timer_at = at;
    t->timer_code = code;
    corio__wheel_add(&l->wheel, &t->timer, tick_ceil(l, at));
}

void corio__timer_disarm(corio_loop *l, corio_task *t)
{
    corio__wheel_del(&l->wheel, &t->timer);
}

static void timer_fire(struct corio__timer *tm, void *ctx)
{
    corio_loop *l = ctx;
    corio_task *t = corio__container_of(tm, corio_task, timer);
    if (l->now < t->timer_at) {
        /* Placed at a capped tick (a deadline years away): not due yet, put it back. */
        corio__wheel_add(&l->wheel, tm, tick_ceil(l, t->timer_at));
        return;
    }
    l->c.timers_fired++;
    corio__wake(t, t->timer_code);
}

void corio__loop_update_time(corio_loop *l)
{
    int64_t now = corio__clock_now(l);
    if (now > l->now)
        l->now = now;
    corio__wheel_run(&l->wheel, tick_floor(l, l->now), timer_fire, l);
}

int corio__loop_new(struct corio__rt *rt, int index, corio_loop **out)
{
    corio_loop *l = calloc(1, sizeof(*l));
    int rc;
    *out = NULL;
    if (!l)
        return -ENOMEM;
    l->rt = rt;
    l->index = index;
    l->evfd = -1;
    l->sigfd = -1;
    l->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (l->epfd < 0) {
        rc = -errno;
        goto fail;
    }
    l->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (l->evfd < 0) {
        rc = -errno;
        goto fail;
    }
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = EV_MBOX};
    if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->evfd, &ev) < 0) {
        rc = -errno;
        goto fail;
    }
    pthread_mutex_init(&l->mbox_lock, NULL);
    l->virtual_time = rt->o.virtual_time;
    l->shuffle = rt->o.shuffle_seed ? rt->o.shuffle_seed + (uint64_t)index : 0;
    l->epoch = corio__clock_now(l);
    l->now = l->epoch;
    corio__wheel_init(&l->wheel, 0);
    corio__stack_pool_init(&l->stacks, rt->o.stack_size, rt->o.stack_cache);
    corio__stack_guard_budget_set(rt->o.guard_stacks);
    corio__group_init(&l->top, l, NULL);
    corio__list_init(&l->tasks);
    *out = l;
    return 0;
fail:
    corio__loop_free(l);
    return rc;
}

void corio__loop_free(corio_loop *l)
{
    if (!l)
        return;
    if (l->epfd >= 0)
        close(l->epfd);
    if (l->evfd >= 0) {
        close(l->evfd);
        pthread_mutex_destroy(&l->mbox_lock);
    }
    corio__fd_table_free(l);
    corio__stack_pool_deinit(&l->stacks);
    corio__pages_deinit(&l->pages);
    corio__task_free_all(l);
    free(l);
}

/* ---- mailbox -----------------------------------------------------------------------------------
 */

int corio__loop_send(corio_loop *l, struct corio__msg *m)
{
    m->next = NULL;
    pthread_mutex_lock(&l->mbox_lock);
    if (atomic_load_explicit(&l->mbox_closed, memory_order_relaxed)) {
        pthread_mutex_unlock(&l->mbox_lock);
        return -ESHUTDOWN;
    }
    if (l->mbox_tail)
        l->mbox_tail->next = m;
    else
        l->mbox_head = m;
    l->mbox_tail = m;
    pthread_mutex_unlock(&l->mbox_lock);
    /* One eventfd write per batch: the loop clears the flag before it takes the list, so a
     * message appended after that always finds the flag clear and writes. */
    if (!atomic_exchange(&l->mbox_signalled, true)) {
        uint64_t one = 1;
        ssize_t w = write(l->evfd, &one, sizeof one);
        (void)w; /* EAGAIN means the counter is already non-zero: the loop will wake */
    }
    return 0;
}

static bool mbox_drain(corio_loop *l)
{
    uint64_t v;
    ssize_t r = read(l->evfd, &v, sizeof v);
    (void)r;
    atomic_store(&l->mbox_signalled, false);
    pthread_mutex_lock(&l->mbox_lock);
    struct corio__msg *m = l->mbox_head;
    l->mbox_head = l->mbox_tail = NULL;
    pthread_mutex_unlock(&l->mbox_lock);
    bool any = m != NULL;
    while (m) {
        struct corio__msg *next = m->next;
        l->c.msgs++;
        m->fn(l, m);
        m = next;
    }
    return any;
}

/* Closes the mailbox if it is empty; returns false if messages arrived meanwhile. */
static bool mbox_close_if_empty(corio_loop *l)
{
    pthread_mutex_lock(&l->mbox_lock);
    bool empty = l->mbox_head == NULL;
    if (empty)
        atomic_store(&l->mbox_closed, true);
    pthread_mutex_unlock(&l->mbox_lock);
    return empty;
}

void corio__loop_ext_begin(corio_loop *l)
{
    atomic_fetch_add(&l->ext_pending, 1);
}
void corio__loop_ext_end(corio_loop *l)
{
    atomic_fetch_sub(&l->ext_pending, 1);
}

/* ---- polling ------------------------------------------------------------------------------------
 */

static int poll_timeout_ms(corio_loop *l)
{
    if (l->rq_head)
        return 0;
    uint64_t next = corio__wheel_next(&l->wheel);
    if (l->virtual_time)
        return next == UINT64_MAX ? -1 : 0; /* with timers pending, virtual_jump() decides */
    if (next == UINT64_MAX)
        return -1;
    int64_t at = l->epoch + (int64_t)next * TICK_NS;
    int64_t wait = at - l->now;
    if (wait <= 0)
        return 0;
    int64_t ms = (wait + CORIO_MS - 1) / CORIO_MS;
    return ms > 60000 ? 60000 : (int)ms;
}

/* Virtual time: nothing ran and nothing arrived, so jump to the next timer if nothing outside
 * the loop (executor jobs, remote calls) could still make progress first. */
static void virtual_jump(corio_loop *l, int nev)
{
    if (l->rq_head || nev > 0)
        return;
    if (atomic_load(&l->ext_pending) > 0) {
        /* Wait for the outside world in real time; timers stay frozen meanwhile. */
        struct epoll_event ev[1];
        int n = epoll_wait(l->epfd, ev, 1, 100);
        if (n > 0 && ev[0].data.u64 == EV_MBOX)
            mbox_drain(l);
        else if (n > 0 && ev[0].data.u64 == EV_SIGNAL)
            corio__signal_dispatch(l);
        else if (n > 0)
            corio__fd_event(l, (int)ev[0].data.u64, ev[0].events);
        return;
    }
    uint64_t next = corio__wheel_next(&l->wheel);
    if (next == UINT64_MAX)
        return;
    int64_t at = l->epoch + (int64_t)next * TICK_NS;
    if (at > l->vnow)
        l->vnow = at;
}

static void poll_once(corio_loop *l)
{
    struct epoll_event ev[MAX_EVENTS];
    int timeout = poll_timeout_ms(l);
    if (timeout != 0) { /* about to sleep: a good time to give memory back */
        corio__stack_pool_trim(&l->stacks);
        corio__pages_trim(&l->pages);
    }
    int n = epoll_wait(l->epfd, ev, MAX_EVENTS, timeout);
    if (n < 0)
        n = 0; /* EINTR: a signal; the signalfd reports it */
    bool mbox = false, sig = false;
    for (int i = 0; i < n; i++) {
        uint64_t d = ev[i].data.u64;
        if (d == EV_MBOX)
            mbox = true;
        else if (d == EV_SIGNAL)
            sig = true;
        else
            corio__fd_event(l, (int)d, ev[i].events);
    }
    if (l->virtual_time)
        virtual_jump(l, n);
    corio__loop_update_time(l);
    if (sig)
        corio__signal_dispatch(l);
    if (mbox)
        mbox_drain(l);
}

static uint64_t xorshift(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

/* Tests: permute the run queue to explore other interleavings. */
static void shuffle_runq(corio_loop *l)
{
    size_t n = l->rq_len;
    if (n < 2)
        return;
    corio_task **a = malloc(n * sizeof(*a));
    if (!a)
        return;
    size_t i = 0;
    for (corio_task *t = l->rq_head; t; t = t->rq_next)
        a[i++] = t;
    for (i = n - 1; i > 0; i--) {
        size_t j = xorshift(&l->shuffle) % (i + 1);
        corio_task *tmp = a[i];
        a[i] = a[j];
        a[j] = tmp;
    }
    for (i = 0; i + 1 < n; i++)
        a[i]->rq_next = a[i + 1];
    a[n - 1]->rq_next = NULL;
    l->rq_head = a[0];
    l->rq_tail = a[n - 1];
    free(a);
}

static void sched_stack_bounds(corio_loop *l)
{
    pthread_attr_t attr;
    if (pthread_getattr_np(pthread_self(), &attr) == 0) {
        pthread_attr_getstack(&attr, &l->sched_stack_lo, &l->sched_stack_size);
        pthread_attr_destroy(&attr);
    }
}

void corio__loop_run(corio_loop *l)
{
    corio__tls_loop = l;
    l->thread = pthread_self();
    sched_stack_bounds(l);
#if CORIO_TSAN
    l->sched_fiber = __tsan_get_current_fiber();
#endif
    corio__overflow_handler_install(l);
    corio__loop_update_time(l); /* the loop may have been created a while ago */
    for (;;) {
        if (l->rq_head) {
            if (l->shuffle)
                shuffle_runq(l);
            corio_task *t = l->rq_head;
            l->rq_head = t->rq_next;
            if (!l->rq_head)
                l->rq_tail = NULL;
            l->rq_len--;
            corio__sched_resume(l, t);
        }
        if (l->ntasks == 0 && !l->rq_head && mbox_close_if_empty(l))
            break;
        poll_once(l);
        atomic_store_explicit(&l->c.iterations,
                              atomic_load_explicit(&l->c.iterations, memory_order_relaxed) + 1,
                              memory_order_relaxed);
    }
    corio__overflow_handler_remove(l);
    corio__tls_loop = NULL;
}
