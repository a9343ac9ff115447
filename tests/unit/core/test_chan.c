/* SPDX-License-Identifier: MIT */
/* Channels (src/core/chan.c): buffered and rendezvous transfer, FIFO service of parked putters
 * and getters, final hand-over, cancellation and deadlines that move nothing, close, task_done
 * and join, 100,000 items through bounded channels with 1x1 and 4x4 tasks, and a shuffled
 * stress with random cancellations and deadlines that checks conservation: every item whose put
 * returned 0 is received exactly once, and no other item is ever received.
 *
 * Every case runs on virtual time, so deadlines fire at exactly their instant. settle() lets
 * every spawned task run until it parks. corio__chan_validate() is checked after the steps that
 * move items, and after every operation in the stress run.
 */
#include "test.h"

#include "core/sync_int.h"
#include "corio/core.h"
#include "corio/sync.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static const struct corio_run_opts VT = {.virtual_time = true, .watchdog_ns = -1};

#define RUN(fn, arg) ASSERT_EQ(corio_run(&VT, (fn), (arg)), 0)
#define VALID(c) ASSERT_EQ(corio__chan_validate(c), 0)

static void settle(void)
{
    for (int i = 0; i < 3; i++)
        ASSERT_EQ(corio_yield(), 0);
}

/* A task doing one put or get of an int, recording its result and the order of returns. */
struct op {
    corio_chan *c;
    int idx;
    int val;  /* put: the item; get: what arrived (-1 before) */
    int rc;   /* 1 until the call returned */
    int *log; /* log[0] = entries, then idx in return order */
    corio_task *t;
};

static int op_put(void *arg)
{
    struct op *o = arg;
    o->rc = corio_chan_put(o->c, &o->val);
    if (o->log)
        o->log[++o->log[0]] = o->idx;
    return 0;
}

static int op_get(void *arg)
{
    struct op *o = arg;
    o->rc = corio_chan_get(o->c, &o->val);
    if (o->log)
        o->log[++o->log[0]] = o->idx;
    return 0;
}

static int op_join(void *arg)
{
    struct op *o = arg;
    o->rc = corio_chan_join(o->c);
    return 0;
}

static void spawn_ops(struct op *o, int n, corio_chan *c, corio_fn fn, int first_val, int *log)
{
    for (int i = 0; i < n; i++) {
        o[i] = (struct op){
            .c = c, .idx = i, .val = first_val < 0 ? -1 : first_val + i, .rc = 1, .log = log};
        ASSERT_EQ(corio_spawn_task(NULL, fn, &o[i], &o[i].t), 0);
    }
    settle();
}

static void join_ops(struct op *o, int n)
{
    for (int i = 0; i < n; i++)
        ASSERT_EQ(corio_task_join(o[i].t, NULL), 0);
}

static void expect_items(corio_chan *c, const int *want, int n)
{
    int v;
    ASSERT_EQ(corio_chan_len(c), (size_t)n);
    for (int i = 0; i < n; i++) {
        ASSERT_EQ(corio_chan_try_get(c, &v), 0);
        ASSERT_EQ(v, want[i]);
    }
    ASSERT_EQ(corio_chan_try_get(c, &v), -EAGAIN);
}

/* ---- basics ---------------------------------------------------------------------------------- */

static int t_new(void *arg)
{
    corio_chan *c = (void *)1;
    (void)arg;
    ASSERT_EQ(corio_chan_new(0, 4, &c), -EINVAL);
    ASSERT_NULL(c);
    ASSERT_EQ(corio_chan_new(65537, 4, &c), -EINVAL);
    ASSERT_EQ(corio_chan_new(2, SIZE_MAX, &c), -EINVAL);
    ASSERT_EQ(corio_chan_new(65536, 2, &c), 0);
    ASSERT_EQ(corio_chan_cap(c), 2);
    corio_chan_free(c);
    corio_chan_free(NULL);
    return 0;
}
TEST(chan_new_checks_sizes)
{
    RUN(t_new, NULL);
}

static int t_buffered(void *arg)
{
    corio_chan *c;
    (void)arg;
    ASSERT_EQ(corio_chan_new(sizeof(int), 3, &c), 0);
    for (int round = 0; round < 4; round++) { /* rounds move the ring's head around */
        for (int i = 0; i < 3; i++) {
            int v = round * 10 + i;
            ASSERT_EQ(i == 1 ? corio_chan_try_put(c, &v) : corio_chan_put(c, &v), 0);
        }
        int v = 99;
        ASSERT_EQ(corio_chan_try_put(c, &v), -EAGAIN);
        ASSERT_EQ(corio_chan_len(c), 3);
        VALID(c);
        for (int i = 0; i < 2; i++) {
            ASSERT_EQ(corio_chan_get(c, &v), 0);
            ASSERT_EQ(v, round * 10 + i);
        }
        int rest[] = {round * 10 + 2};
        expect_items(c, rest, 1);
    }
    corio_chan_free(c);
    return 0;
}
TEST(chan_buffers_in_fifo_order)
{
    RUN(t_buffered, NULL);
}

struct big {
    unsigned char b[1000];
};

static int t_big(void *arg)
{
    corio_chan *c;
    struct big in, out;
    (void)arg;
    ASSERT_EQ(corio_chan_new(sizeof(struct big), 2, &c), 0);
    for (int i = 0; i < 5; i++) {
        for (size_t j = 0; j < sizeof in.b; j++)
            in.b[j] = (unsigned char)(i * 7 + j);
        ASSERT_EQ(corio_chan_put(c, &in), 0);
        ASSERT_EQ(corio_chan_get(c, &out), 0);
        ASSERT_MEMEQ(&in, &out, sizeof in);
    }
    corio_chan_free(c);
    return 0;
}
TEST(chan_copies_large_items_whole)
{
    RUN(t_big, NULL);
}

static int t_rendezvous(void *arg)
{
    corio_chan *c;
    struct op g, p;
    int v = 7;
    (void)arg;
    ASSERT_EQ(corio_chan_new(sizeof(int), 0, &c), 0);
    ASSERT_EQ(corio_chan_cap(c), 0);
    ASSERT_EQ(corio_chan_try_put(c, &v), -EAGAIN); /* nobody to take it */
    ASSERT_EQ(corio_chan_try_get(c, &v), -EAGAIN);
    spawn_ops(&g, 1, c, op_get, -1, NULL);
    VALID(c);
    ASSERT_EQ(corio_chan_try_put(c, &v), 0); /* straight into the parked getter */
    ASSERT_EQ(corio_chan_len(c), 0);
    settle();
    ASSERT_EQ(g.rc, 0);
    ASSERT_EQ(g.val, 7);
    spawn_ops(&p, 1, c, op_put, 8, NULL);
    ASSERT_EQ(p.rc, 1); /* a put waits for a getter */
    VALID(c);
    ASSERT_EQ(corio_chan_get(c, &v), 0);
    ASSERT_EQ(v, 8);
    settle();
    ASSERT_EQ(p.rc, 0);
    join_ops(&g, 1);
    join_ops(&p, 1);
    corio_chan_free(c);
    return 0;
}
TEST(chan_unbuffered_is_a_rendezvous)
{
    RUN(t_rendezvous, NULL);
}

/* ---- FIFO service ---------------------------------------------------------------------------- */

static void fifo_getters(size_t cap)
{
    corio_chan *c;
    struct op g[5];
    int log[8] = {0};
    ASSERT_EQ(corio_chan_new(sizeof(int), cap, &c), 0);
    spawn_ops(g, 5, c, op_get, -1, log);
    for (int i = 0; i < 5; i++) {
        int v = 10 + i;
        ASSERT_EQ(corio_chan_put(c, &v), 0);
        ASSERT_EQ(corio_chan_len(c), 0); /* handed to a getter, never buffered */
        settle();
        ASSERT_EQ(log[0], i + 1);
        ASSERT_EQ(log[i + 1], i);
        ASSERT_EQ(g[i].val, 10 + i);
    }
    join_ops(g, 5);
    corio_chan_free(c);
}

static int t_fifo_getters(void *arg)
{
    (void)arg;
    fifo_getters(2);
    fifo_getters(0);
    return 0;
}
TEST(chan_serves_getters_in_fifo_order)
{
    RUN(t_fifo_getters, NULL);
}

static void fifo_putters(size_t cap)
{
    corio_chan *c;
    struct op p[5];
    int log[8] = {0}, v = 0;
    ASSERT_EQ(corio_chan_new(sizeof(int), cap, &c), 0);
    if (cap)
        ASSERT_EQ(corio_chan_put(c, &v), 0);
    spawn_ops(p, 5, c, op_put, 1, log);
    ASSERT_EQ(log[0], 0);
    VALID(c);
    for (int i = cap ? 0 : 1; i <= 5; i++) {
        ASSERT_EQ(corio_chan_get(c, &v), 0);
        ASSERT_EQ(v, i);
        ASSERT_EQ(corio_chan_len(c), cap && i < 5 ? 1 : 0); /* the slot was refilled at once */
        settle();
        ASSERT_EQ(log[0], i < 5 || !cap ? i + (cap ? 1 : 0) : 5);
    }
    for (int i = 0; i < 5; i++)
        ASSERT_EQ(log[i + 1], i);
    join_ops(p, 5);
    corio_chan_free(c);
}

static int t_fifo_putters(void *arg)
{
    (void)arg;
    fifo_putters(1);
    fifo_putters(0);
    return 0;
}
TEST(chan_serves_putters_in_fifo_order)
{
    RUN(t_fifo_putters, NULL);
}

/* ---- cancellation ---------------------------------------------------------------------------- */

static void cancel_put(size_t cap)
{
    corio_chan *c;
    struct op p[3];
    int v = 0;
    ASSERT_EQ(corio_chan_new(sizeof(int), cap, &c), 0);
    if (cap)
        ASSERT_EQ(corio_chan_put(c, &v), 0);
    spawn_ops(p, 3, c, op_put, 1, NULL);
    corio_task_cancel(p[1].t); /* the middle one: the order of the others must survive */
    settle();
    ASSERT_EQ(p[1].rc, -ECANCELED);
    ASSERT_EQ(corio_chan_len(c), cap);
    VALID(c);
    int want[] = {0, 1, 3};
    for (int i = cap ? 0 : 1; i < 3; i++) {
        ASSERT_EQ(corio_chan_get(c, &v), 0);
        ASSERT_EQ(v, want[i]);
    }
    settle();
    expect_items(c, NULL, 0);
    ASSERT_EQ(p[0].rc, 0);
    ASSERT_EQ(p[2].rc, 0);
    join_ops(p, 3);
    corio_chan_free(c);
}

static int t_cancel_put(void *arg)
{
    (void)arg;
    cancel_put(1);
    cancel_put(0);
    return 0;
}
TEST(chan_cancelled_put_adds_nothing_and_keeps_order)
{
    RUN(t_cancel_put, NULL);
}

static void cancel_get(size_t cap)
{
    corio_chan *c;
    struct op g[2];
    int v = 5;
    ASSERT_EQ(corio_chan_new(sizeof(int), cap, &c), 0);
    spawn_ops(g, 2, c, op_get, -1, NULL);
    corio_task_cancel(g[0].t);
    corio_task_cancel(g[1].t);
    /* Both were woken by the cancel but have not run: a put must not hand them anything. */
    ASSERT_EQ(cap ? corio_chan_put(c, &v) : corio_chan_try_put(c, &v), cap ? 0 : -EAGAIN);
    settle();
    ASSERT_EQ(g[0].rc, -ECANCELED);
    ASSERT_EQ(g[1].rc, -ECANCELED);
    ASSERT_EQ(g[0].val, -1);
    ASSERT_EQ(g[1].val, -1);
    int want[] = {5};
    expect_items(c, want, cap ? 1 : 0);
    join_ops(g, 2);
    corio_chan_free(c);
}

static int t_cancel_get(void *arg)
{
    (void)arg;
    cancel_get(4);
    cancel_get(0);
    return 0;
}
TEST(chan_cancelled_get_takes_nothing)
{
    RUN(t_cancel_get, NULL);
}

static int t_cancelled_fast_path(void *arg)
{
    corio_chan *c;
    int v = 1;
    (void)arg;
    ASSERT_EQ(corio_chan_new(sizeof(int), 2, &c), 0);
    ASSERT_EQ(corio_chan_put(c, &v), 0);
    corio_task_cancel(corio_self());
    /* Cancelled: every blocking call fails, even one that could complete at once. */
    ASSERT_EQ(corio_chan_put(c, &v), -ECANCELED);
    ASSERT_EQ(corio_chan_get(c, &v), -ECANCELED);
    ASSERT_EQ(corio_chan_join(c), -ECANCELED);
    int want[] = {1};
    expect_items(c, want, 1);
    corio_chan_free(c);
    return 0;
}
TEST(chan_cancelled_task_moves_nothing_even_without_waiting)
{
    ASSERT_EQ(corio_run(&VT, t_cancelled_fast_path, NULL), 0);
}

static int t_handover_get(void *arg)
{
    corio_chan *c;
    struct op g;
    int v = 42;
    (void)arg;
    ASSERT_EQ(corio_chan_new(sizeof(int), 1, &c), 0);
    spawn_ops(&g, 1, c, op_get, -1, NULL);
    ASSERT_EQ(corio_chan_put(c, &v), 0);
    corio_task_cancel(g.t); /* too late: the item is the getter's */
    settle();
    ASSERT_EQ(g.rc, 0);
    ASSERT_EQ(g.val, 42);
    expect_items(c, NULL, 0);
    join_ops(&g, 1);
    corio_chan_free(c);
    return 0;
}
TEST(chan_get_hand_over_is_final)
{
    RUN(t_handover_get, NULL);
}

static void handover_put(size_t cap)
{
    corio_chan *c;
    struct op p;
    int v = 0;
    ASSERT_EQ(corio_chan_new(sizeof(int), cap, &c), 0);
    if (cap)
        ASSERT_EQ(corio_chan_put(c, &v), 0);
    spawn_ops(&p, 1, c, op_put, 9, NULL);
    ASSERT_EQ(corio_chan_get(c, &v), 0);
    ASSERT_EQ(v, cap ? 0 : 9);
    corio_task_cancel(p.t); /* too late: the item was accepted */
    settle();
    ASSERT_EQ(p.rc, 0);
    int want[] = {9};
    expect_items(c, want, cap ? 1 : 0);
    join_ops(&p, 1);
    corio_chan_free(c);
}

static int t_handover_put(void *arg)
{
    (void)arg;
    handover_put(1);
    handover_put(0);
    return 0;
}
TEST(chan_put_hand_over_is_final)
{
    RUN(t_handover_put, NULL);
}

/* ---- deadlines ------------------------------------------------------------------------------- */

static int t_deadline(void *arg)
{
    corio_chan *c;
    corio_deadline d;
    int v = 3;
    (void)arg;
    ASSERT_EQ(corio_chan_new(sizeof(int), 1, &c), 0);
    int64_t at = corio_after(5 * CORIO_MS);
    corio_deadline_enter(&d, at);
    ASSERT_EQ(corio_chan_get(c, &v), -ETIMEDOUT);
    ASSERT_EQ(corio_now(), at);
    ASSERT(corio_deadline_leave(&d));
    ASSERT_EQ(v, 3);
    ASSERT_EQ(corio_chan_put(c, &v), 0);
    at = corio_after(2 * CORIO_MS);
    corio_deadline_enter(&d, at);
    ASSERT_EQ(corio_chan_put(c, &v), -ETIMEDOUT);
    ASSERT_EQ(corio_now(), at);
    ASSERT(corio_deadline_leave(&d));
    int want[] = {3};
    expect_items(c, want, 1);
    VALID(c);
    corio_chan_free(c);
    return 0;
}
TEST(chan_get_and_put_time_out_exactly_at_deadline)
{
    RUN(t_deadline, NULL);
}

static int t_nested(void *arg)
{
    corio_chan *c;
    corio_deadline outer, inner;
    int v;
    (void)arg;
    ASSERT_EQ(corio_chan_new(sizeof(int), 0, &c), 0);
    int64_t t0 = corio_now();
    corio_deadline_enter(&outer, t0 + 10 * CORIO_MS);
    corio_deadline_enter(&inner, t0 + 30 * CORIO_MS);
    ASSERT_EQ(corio_chan_get(c, &v), -ETIMEDOUT);
    ASSERT_EQ(corio_now(), t0 + 10 * CORIO_MS);
    ASSERT(!corio_deadline_leave(&inner));
    ASSERT(corio_deadline_leave(&outer));
    t0 = corio_now();
    corio_deadline_enter(&outer, t0 + 30 * CORIO_MS);
    corio_deadline_enter(&inner, t0 + 10 * CORIO_MS);
    ASSERT_EQ(corio_chan_get(c, &v), -ETIMEDOUT);
    ASSERT_EQ(corio_now(), t0 + 10 * CORIO_MS);
    ASSERT(corio_deadline_leave(&inner));
    ASSERT(!corio_deadline_leave(&outer));
    corio_chan_free(c);
    return 0;
}
TEST(chan_nested_deadlines_earliest_wins)
{
    RUN(t_nested, NULL);
}

/* ---- close ----------------------------------------------------------------------------------- */

static int t_close(void *arg)
{
    corio_chan *c;
    struct op p[2], g[2];
    int v = 1;
    (void)arg;
    ASSERT_EQ(corio_chan_new(sizeof(int), 2, &c), 0);
    ASSERT_EQ(corio_chan_put(c, &v), 0);
    v = 2;
    ASSERT_EQ(corio_chan_put(c, &v), 0);
    spawn_ops(p, 2, c, op_put, 3, NULL);
    corio_chan_close(c);
    corio_chan_close(c); /* idempotent */
    settle();
    ASSERT_EQ(p[0].rc, -EPIPE);
    ASSERT_EQ(p[1].rc, -EPIPE);
    ASSERT_EQ(corio_chan_put(c, &v), -EPIPE);
    ASSERT_EQ(corio_chan_try_put(c, &v), -EPIPE);
    VALID(c);
    /* Buffered items outlive the close; then -EPIPE, never -EAGAIN. */
    ASSERT_EQ(corio_chan_get(c, &v), 0);
    ASSERT_EQ(v, 1);
    ASSERT_EQ(corio_chan_try_get(c, &v), 0);
    ASSERT_EQ(v, 2);
    ASSERT_EQ(corio_chan_get(c, &v), -EPIPE);
    ASSERT_EQ(corio_chan_try_get(c, &v), -EPIPE);
    join_ops(p, 2);
    corio_chan_free(c);

    ASSERT_EQ(corio_chan_new(sizeof(int), 0, &c), 0);
    spawn_ops(g, 2, c, op_get, -1, NULL);
    corio_chan_close(c);
    settle();
    ASSERT_EQ(g[0].rc, -EPIPE);
    ASSERT_EQ(g[1].rc, -EPIPE);
    ASSERT_EQ(g[0].val, -1);
    join_ops(g, 2);
    corio_chan_free(c);
    return 0;
}
TEST(chan_close_fails_waiters_and_drains_buffer)
{
    RUN(t_close, NULL);
}

/* ---- task_done and join ---------------------------------------------------------------------- */

static int t_join(void *arg)
{
    corio_chan *c;
    struct op j[2];
    int v = 0;
    (void)arg;
    ASSERT_EQ(corio_chan_new(sizeof(int), 4, &c), 0);
    ASSERT_EQ(corio_chan_join(c), 0); /* nothing unfinished */
    ASSERT_EQ(corio_chan_task_done(c), -EINVAL);
    for (int i = 0; i < 3; i++)
        ASSERT_EQ(corio_chan_put(c, &v), 0);
    spawn_ops(j, 2, c, op_join, -1, NULL);
    for (int i = 0; i < 3; i++) {
        ASSERT_EQ(j[0].rc, 1);
        ASSERT_EQ(corio_chan_get(c, &v), 0);
        ASSERT_EQ(corio_chan_task_done(c), 0);
        settle();
    }
    ASSERT_EQ(j[0].rc, 0);
    ASSERT_EQ(j[1].rc, 0);
    ASSERT_EQ(corio_chan_task_done(c), -EINVAL); /* one too many */
    join_ops(j, 2);

    /* A rendezvous hand-over counts as a put too. */
    struct op p;
    spawn_ops(&p, 1, c, op_put, 5, NULL);
    settle();
    ASSERT_EQ(corio_chan_get(c, &v), 0);
    ASSERT_EQ(corio_chan_task_done(c), 0);
    ASSERT_EQ(corio_chan_task_done(c), -EINVAL);
    join_ops(&p, 1);

    /* A cancelled or timed-out join takes nothing from the count. */
    ASSERT_EQ(corio_chan_put(c, &v), 0);
    spawn_ops(j, 1, c, op_join, -1, NULL);
    corio_task_cancel(j[0].t);
    settle();
    ASSERT_EQ(j[0].rc, -ECANCELED);
    corio_deadline d;
    int64_t at = corio_after(3 * CORIO_MS);
    corio_deadline_enter(&d, at);
    ASSERT_EQ(corio_chan_join(c), -ETIMEDOUT);
    ASSERT_EQ(corio_now(), at);
    ASSERT(corio_deadline_leave(&d));
    ASSERT_EQ(corio_chan_task_done(c), 0);
    ASSERT_EQ(corio_chan_join(c), 0);
    join_ops(j, 1);
    corio_chan_free(c);
    return 0;
}
TEST(chan_join_waits_until_every_item_is_done)
{
    RUN(t_join, NULL);
}

static int t_free_busy(void *arg)
{
    corio_chan *c;
    struct op g;
    (void)arg;
    ASSERT_EQ(corio_chan_new(sizeof(int), 1, &c), 0);
    spawn_ops(&g, 1, c, op_get, -1, NULL);
    corio_chan_free(c);
    return 0;
}
TEST_EXPECT_DEATH(chan_free_with_waiters_aborts, SIGABRT, "freed while a task waits on it")
{
    corio_run(&VT, t_free_busy, NULL);
}

/* Waiters woken by a cancel no longer need the channel, even before they have run again. */
static int t_free_after_cancel(void *arg)
{
    corio_chan *c1, *c2;
    struct op o[3];
    int v = 0;
    (void)arg;
    ASSERT_EQ(corio_chan_new(sizeof(int), 0, &c1), 0);
    ASSERT_EQ(corio_chan_new(sizeof(int), 0, &c2), 0);
    spawn_ops(&o[0], 1, c1, op_get, -1, NULL);
    spawn_ops(&o[1], 1, c2, op_put, 1, NULL);
    ASSERT_EQ(corio_chan_get(c2, &v), 0); /* one unfinished item for a joiner to wait on */
    settle();
    join_ops(&o[1], 1);
    spawn_ops(&o[2], 1, c2, op_join, -1, NULL);
    spawn_ops(&o[1], 1, c2, op_put, 2, NULL);
    for (int i = 0; i < 3; i++)
        corio_task_cancel(o[i].t);
    corio_chan_free(c1);
    corio_chan_free(c2);
    settle();
    for (int i = 0; i < 3; i++)
        ASSERT_EQ(o[i].rc, -ECANCELED);
    join_ops(o, 3);
    return 0;
}
TEST(chan_free_after_cancelling_the_waiters_needs_no_join)
{
    RUN(t_free_after_cancel, NULL);
}

/* ---- 100,000 items --------------------------------------------------------------------------- */

#define MAXP 4
#define TOTAL 100000

struct item {
    uint32_t producer;
    uint32_t seq;
};

struct flow {
    size_t cap;
    corio_chan *c;
    int nprod, ncons, per_prod;
    uint8_t *seen;            /* receipts per item: producer * per_prod + seq */
    int64_t last[MAXP][MAXP]; /* consumer x producer: last seq received */
    long received;
    int bad;
};

struct role {
    struct flow *f;
    int id;
};

static int producer(void *arg)
{
    struct role *r = arg;
    for (int s = 0; s < r->f->per_prod; s++) {
        struct item it = {(uint32_t)r->id, (uint32_t)s};
        if (corio_chan_put(r->f->c, &it) != 0)
            r->f->bad++;
    }
    return 0;
}

static int consumer(void *arg)
{
    struct role *r = arg;
    struct flow *f = r->f;
    struct item it;
    int rc;
    while ((rc = corio_chan_get(f->c, &it)) == 0) {
        if (it.producer >= (uint32_t)f->nprod || it.seq >= (uint32_t)f->per_prod ||
            (int64_t)it.seq <= f->last[r->id][it.producer]) {
            f->bad++;
            continue;
        }
        f->last[r->id][it.producer] = it.seq;
        f->seen[it.producer * (uint32_t)f->per_prod + it.seq]++;
        f->received++;
    }
    if (rc != -EPIPE)
        f->bad++;
    return 0;
}

static int t_flow(void *arg)
{
    struct flow *f = arg;
    struct role rp[MAXP], rc[MAXP];
    corio_group *gp, *gc;
    ASSERT_EQ(corio_chan_new(sizeof(struct item), f->cap, &f->c), 0);
    ASSERT_EQ(corio_group_open(&gp), 0);
    ASSERT_EQ(corio_group_open(&gc), 0);
    for (int i = 0; i < f->ncons; i++) {
        rc[i] = (struct role){f, i};
        ASSERT_EQ(corio_spawn(gc, consumer, &rc[i]), 0);
    }
    for (int i = 0; i < f->nprod; i++) {
        rp[i] = (struct role){f, i};
        ASSERT_EQ(corio_spawn(gp, producer, &rp[i]), 0);
    }
    ASSERT_EQ(corio_group_wait(gp), 0);
    corio_chan_close(f->c); /* the consumers drain what is left, then see -EPIPE */
    ASSERT_EQ(corio_group_wait(gc), 0);
    ASSERT_EQ(corio_group_close(gp), 0);
    ASSERT_EQ(corio_group_close(gc), 0);
    VALID(f->c);
    corio_chan_free(f->c);
    return 0;
}

static void flow(size_t cap, int nprod, int ncons)
{
    static uint8_t seen[TOTAL];
    struct flow f = {
        .cap = cap, .nprod = nprod, .ncons = ncons, .per_prod = TOTAL / nprod, .seen = seen};
    memset(seen, 0, sizeof seen);
    for (int i = 0; i < MAXP; i++)
        for (int j = 0; j < MAXP; j++)
            f.last[i][j] = -1;
    RUN(t_flow, &f);
    ASSERT_EQ(f.bad, 0);
    ASSERT_EQ(f.received, TOTAL);
    for (int i = 0; i < TOTAL; i++)
        if (seen[i] != 1)
            ASSERT_EQ(seen[i], 1); /* none lost, none duplicated */
}

TEST_TIMEOUT(chan_100k_items_cap16_1x1, 120)
{
    flow(16, 1, 1);
}
TEST_TIMEOUT(chan_100k_items_cap0_1x1, 120)
{
    flow(0, 1, 1);
}
TEST_TIMEOUT(chan_100k_items_cap16_4x4, 120)
{
    flow(16, 4, 4);
}
TEST_TIMEOUT(chan_100k_items_cap0_4x4, 120)
{
    flow(0, 4, 4);
}

/* ---- shuffled stress: conservation under cancellations and deadlines ------------------------- */

#define SP 4   /* producers */
#define SC 4   /* consumers */
#define SN 300 /* items per producer */

struct stress {
    size_t cap;
    corio_chan *c;
    uint64_t rng;
    int8_t put_rc[SP][SN]; /* 1: not attempted, 0: accepted, -1: the put failed */
    uint8_t got[SP][SN];
    int64_t last[SC + 1][SP]; /* per consumer (SC = the final drain), per producer */
    corio_task *t[SP + SC];
    long accepted, failed;
    int bad;
};

struct srole {
    struct stress *st;
    int id;
};

static uint64_t xorshift(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

/* A random deadline: none, already passed, or 0..3 ms away. */
static int64_t random_deadline(struct stress *st)
{
    uint64_t r = xorshift(&st->rng) % 8;
    return r == 0 ? CORIO_FOREVER : corio_after((int64_t)(r - 1) * CORIO_MS / 2);
}

static void receive(struct stress *st, int who, const struct item *it)
{
    if (it->producer >= SP || it->seq >= SN || st->put_rc[it->producer][it->seq] == -1 ||
        (int64_t)it->seq <= st->last[who][it->producer]) {
        st->bad++;
        return;
    }
    st->last[who][it->producer] = it->seq;
    st->got[it->producer][it->seq]++;
}

static int stress_producer(void *arg)
{
    struct srole *r = arg;
    struct stress *st = r->st;
    for (uint32_t s = 0; s < SN; s++) {
        struct item it = {(uint32_t)r->id, s};
        corio_deadline d;
        int rc;
        corio_deadline_enter(&d, random_deadline(st));
        if (xorshift(&st->rng) % 4 == 0)
            rc = corio_chan_try_put(st->c, &it);
        else
            rc = corio_chan_put(st->c, &it);
        corio_deadline_leave(&d);
        if (rc != 0 && rc != -EAGAIN && rc != -ETIMEDOUT && rc != -ECANCELED && rc != -EPIPE)
            st->bad++;
        /* Each item is offered once. A getter may have received it already (it can run before
         * the putter does), which is why receive() rejects only -1, never 1. */
        if (st->put_rc[r->id][s] != 1)
            st->bad++;
        st->put_rc[r->id][s] = rc == 0 ? 0 : -1;
        if (rc == 0)
            st->accepted++;
        else
            st->failed++;
        st->bad += corio__chan_validate(st->c) != 0;
        if (rc == -ECANCELED || rc == -EPIPE)
            break;
        if (xorshift(&st->rng) % 3 == 0)
            corio_sleep((int64_t)(xorshift(&st->rng) % 2) * CORIO_MS);
    }
    return 0;
}

static int stress_consumer(void *arg)
{
    struct srole *r = arg;
    struct stress *st = r->st;
    for (;;) {
        struct item it;
        corio_deadline d;
        int rc;
        corio_deadline_enter(&d, random_deadline(st));
        if (xorshift(&st->rng) % 4 == 0)
            rc = corio_chan_try_get(st->c, &it);
        else
            rc = corio_chan_get(st->c, &it);
        corio_deadline_leave(&d);
        st->bad += corio__chan_validate(st->c) != 0;
        if (rc == 0)
            receive(st, r->id, &it);
        else if (rc == -ECANCELED || rc == -EPIPE)
            break;
        else if (rc != -EAGAIN && rc != -ETIMEDOUT)
            st->bad++;
        if (xorshift(&st->rng) % 3 == 0)
            corio_sleep((int64_t)(xorshift(&st->rng) % 2) * CORIO_MS);
    }
    return 0;
}

static int t_stress(void *arg)
{
    struct stress *st = arg;
    struct srole roles[SP + SC];
    ASSERT_EQ(corio_chan_new(sizeof(struct item), st->cap, &st->c), 0);
    for (int i = 0; i < SP + SC; i++) {
        roles[i] = (struct srole){st, i < SP ? i : i - SP};
        ASSERT_EQ(corio_spawn_task(NULL, i < SP ? stress_producer : stress_consumer, &roles[i],
                                   &st->t[i]),
                  0);
    }
    /* Cancel a random task now and then, sometimes one that just got or handed an item. */
    for (int round = 0; round < 60; round++) {
        if (xorshift(&st->rng) % 2)
            ASSERT_EQ(corio_sleep(CORIO_MS), 0);
        else
            ASSERT_EQ(corio_yield(), 0);
        if (xorshift(&st->rng) % 5 == 0)
            corio_task_cancel(st->t[xorshift(&st->rng) % (SP + SC)]);
    }
    corio_chan_close(st->c);
    for (int i = 0; i < SP + SC; i++)
        ASSERT_EQ(corio_task_join(st->t[i], NULL), 0);
    VALID(st->c);
    /* What the (possibly cancelled) consumers left behind is drained here. */
    struct item it;
    int rc;
    while ((rc = corio_chan_try_get(st->c, &it)) == 0)
        receive(st, SC, &it);
    ASSERT_EQ(rc, -EPIPE);
    corio_chan_free(st->c);
    return 0;
}

static void stress(size_t cap, uint64_t seed)
{
    static struct stress st;
    memset(&st, 0, sizeof st);
    st.cap = cap;
    st.rng = seed * 0x9e3779b97f4a7c15ull + cap;
    memset(st.put_rc, 1, sizeof st.put_rc);
    for (int i = 0; i <= SC; i++)
        for (int j = 0; j < SP; j++)
            st.last[i][j] = -1;
    struct corio_run_opts o = VT;
    o.shuffle_seed = seed;
    ASSERT_EQ(corio_run(&o, t_stress, &st), 0);
    if (st.bad)
        fprintf(stderr, "stress: cap %zu seed %llu\n", cap, (unsigned long long)seed);
    ASSERT_EQ(st.bad, 0);
    long received = 0;
    for (int p = 0; p < SP; p++)
        for (int s = 0; s < SN; s++) {
            int want = st.put_rc[p][s] == 0 ? 1 : 0; /* accepted: exactly once; else never */
            if (st.got[p][s] != want) {
                fprintf(stderr, "stress: cap %zu seed %llu item %d/%d put %d got %d\n", cap,
                        (unsigned long long)seed, p, s, st.put_rc[p][s], st.got[p][s]);
                ASSERT_EQ(st.got[p][s], want);
            }
            received += st.got[p][s];
        }
    ASSERT_EQ(received, st.accepted);
    ASSERT_GT(st.accepted, 0);
    ASSERT_GT(st.failed, 0);
}

TEST_TIMEOUT(chan_shuffled_stress_conserves_items, 120)
{
    static const size_t caps[] = {0, 1, 4};
    for (size_t i = 0; i < sizeof caps / sizeof caps[0]; i++)
        for (uint64_t seed = 1; seed <= 16; seed++)
            stress(caps[i], seed);
}
