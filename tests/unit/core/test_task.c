/* SPDX-License-Identifier: MIT */
/* Tasks, groups, cancellation, shields, task-local values and the task listing. Every case runs
 * on virtual time, so a sleep of a second takes no time and deadlines fire at exact instants.
 */
#include "test.h"

#include "corio/core.h"
#include "corio/diag.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

static const struct corio_run_opts VT = {.virtual_time = true, .watchdog_ns = -1};

#define RUN(fn, arg) ASSERT_EQ(corio_run(&VT, (fn), (arg)), 0)

/* ---- spawn and join ---------------------------------------------------------------------- */

static int return_arg(void *arg)
{
    return (int)(intptr_t)arg;
}

static int t_join_result(void *arg)
{
    corio_task *t;
    int res = -1;
    (void)arg;
    ASSERT_EQ(corio_spawn_task(NULL, return_arg, (void *)(intptr_t)42, &t), 0);
    ASSERT_STREQ(corio_task_name(t), "return_arg");
    ASSERT(!corio_task_done(t));
    ASSERT_EQ(corio_task_join(t, &res), 0);
    ASSERT_EQ(res, 42);
    return 0;
}
TEST(join_returns_child_result)
{
    RUN(t_join_result, NULL);
}

static int append_id(void *arg)
{
    int *log = arg;
    log[++log[0]] = (int)corio_task_id(corio_self());
    return 0;
}

static int t_fifo(void *arg)
{
    int log[16] = {0};
    uint64_t ids[5];
    corio_group *g;
    (void)arg;
    ASSERT_EQ(corio_group_open(&g), 0);
    for (int i = 0; i < 5; i++) {
        corio_task *t;
        ASSERT_EQ(corio_spawn_task(g, append_id, log, &t), 0);
        ids[i] = corio_task_id(t);
        corio_task_release(t);
    }
    ASSERT_EQ(corio_group_wait(g), 0);
    ASSERT_EQ(corio_group_close(g), 0);
    ASSERT_EQ(log[0], 5);
    for (int i = 0; i < 5; i++)
        ASSERT_EQ((uint64_t)log[i + 1], ids[i]);
    return 0;
}
TEST(children_start_in_spawn_order)
{
    RUN(t_fifo, NULL);
}

static int t_join_self(void *arg)
{
    (void)arg;
    ASSERT_EQ(corio_task_join(corio_self(), NULL), -EDEADLK);
    return 0;
}
TEST(join_self_is_edeadlk)
{
    RUN(t_join_self, NULL);
}

static int t_main_result(void *arg)
{
    (void)arg;
    return -EIO;
}
TEST(run_returns_main_result)
{
    ASSERT_EQ(corio_run(&VT, t_main_result, NULL), -EIO);
}

/* ---- cancellation --------------------------------------------------------------------------- */

struct probe {
    int rc[4];
    int n;
    int64_t at;
};

static int sleep_probe(void *arg)
{
    struct probe *p = arg;
    p->rc[p->n++] = corio_sleep(10 * CORIO_S);
    p->at = corio_now();
    p->rc[p->n++] = corio_sleep(CORIO_MS); /* every later blocking call fails too */
    p->rc[p->n++] = corio_yield();
    return p->rc[0];
}

static int t_cancel_sleep(void *arg)
{
    struct probe p = {{0}, 0, 0};
    corio_task *t;
    int res = 0;
    (void)arg;
    ASSERT_EQ(corio_spawn_task(NULL, sleep_probe, &p, &t), 0);
    ASSERT_EQ(corio_sleep(5 * CORIO_MS), 0);
    int64_t when = corio_now();
    corio_task_cancel(t);
    corio_task_cancel(t); /* idempotent */
    ASSERT_EQ(corio_task_join(t, &res), 0);
    ASSERT_EQ(res, -ECANCELED);
    ASSERT_EQ(p.rc[0], -ECANCELED);
    ASSERT_EQ(p.rc[1], -ECANCELED);
    ASSERT_EQ(p.rc[2], -ECANCELED);
    ASSERT_EQ(p.at, when);
    return 0;
}
TEST(cancel_wakes_sleeper_and_every_later_call_fails)
{
    RUN(t_cancel_sleep, NULL);
}

static int join_probe(void *arg)
{
    corio_task *other = arg;
    return corio_task_join(other, NULL);
}

static int sleeper(void *arg)
{
    (void)arg;
    return corio_sleep(CORIO_S);
}

static int t_cancel_join(void *arg)
{
    corio_task *target, *joiner;
    int res = 0;
    (void)arg;
    ASSERT_EQ(corio_spawn_task(NULL, sleeper, NULL, &target), 0);
    ASSERT_EQ(corio_spawn_task(NULL, join_probe, target, &joiner), 0);
    ASSERT_EQ(corio_sleep(CORIO_MS), 0);
    corio_task_cancel(joiner);
    ASSERT_EQ(corio_task_join(joiner, &res), 0);
    ASSERT_EQ(res, -ECANCELED);
    ASSERT(!corio_task_done(target)); /* the joined task is left alone */
    ASSERT_EQ(corio_task_join(target, &res), 0);
    ASSERT_EQ(res, 0);
    return 0;
}
TEST(cancel_joiner_leaves_target_running)
{
    RUN(t_cancel_join, NULL);
}

static int t_cancel_self(void *arg)
{
    (void)arg;
    corio_task_cancel(corio_self());
    ASSERT(corio_cancelled());
    ASSERT_EQ(corio_check(), -ECANCELED);
    ASSERT_EQ(corio_sleep(CORIO_MS), -ECANCELED);
    return 0;
}
TEST(cancel_self_applies_at_next_blocking_call)
{
    RUN(t_cancel_self, NULL);
}

/* ---- groups -------------------------------------------------------------------------------- */

struct child_log {
    int rc[8];
    int64_t ended[8];
    int cleanup;
};

struct child_arg {
    struct child_log *log;
    int i;
    int64_t sleep;
    int fail; /* return this after sleeping */
};

static int child(void *arg)
{
    struct child_arg *a = arg;
    int rc = corio_sleep(a->sleep);
    a->log->rc[a->i] = rc;
    a->log->ended[a->i] = corio_now();
    if (rc == -ECANCELED)
        a->log->cleanup++;
    return rc < 0 ? rc : a->fail;
}

static int t_group_failure(void *arg)
{
    struct child_log log = {{0}, {0}, 0};
    struct child_arg a[4];
    corio_group *g;
    (void)arg;
    int64_t t0 = corio_now();
    ASSERT_EQ(corio_group_open(&g), 0);
    for (int i = 0; i < 4; i++) {
        a[i] = (struct child_arg){&log, i, (i + 1) * 10 * CORIO_MS, 0};
        if (i == 1)
            a[i].fail = -EIO;
        ASSERT_EQ(corio_spawn(g, child, &a[i]), 0);
    }
    ASSERT_EQ(corio_group_size(g), 4u);
    ASSERT_EQ(corio_group_wait(g), -EIO);
    ASSERT_EQ(corio_now() - t0, 20 * CORIO_MS);
    ASSERT_EQ(log.rc[0], 0);
    ASSERT_EQ(log.rc[1], 0);
    ASSERT_EQ(log.rc[2], -ECANCELED);
    ASSERT_EQ(log.rc[3], -ECANCELED);
    ASSERT_EQ(log.ended[2], t0 + 20 * CORIO_MS);
    ASSERT_EQ(corio_group_size(g), 0u);
    ASSERT_EQ(corio_group_close(g), -EIO);
    return 0;
}
TEST(group_first_failure_cancels_siblings_and_is_reported)
{
    RUN(t_group_failure, NULL);
}

static int parent_with_children(void *arg)
{
    struct child_log *log = arg;
    struct child_arg a[3];
    corio_group *g;
    ASSERT_EQ(corio_group_open(&g), 0);
    for (int i = 0; i < 3; i++) {
        a[i] = (struct child_arg){log, i, CORIO_S, 0};
        ASSERT_EQ(corio_spawn(g, child, &a[i]), 0);
    }
    int rc = corio_group_wait(g); /* the parent is cancelled while waiting */
    log->rc[7] = rc;
    /* wait returned only after every child had finished */
    ASSERT_EQ(corio_group_size(g), 0u);
    ASSERT_EQ(log->cleanup, 3);
    corio_group_close(g);
    return rc;
}

static int t_parent_cancelled(void *arg)
{
    struct child_log log = {{0}, {0}, 0};
    corio_task *p;
    int res = 0;
    (void)arg;
    ASSERT_EQ(corio_spawn_task(NULL, parent_with_children, &log, &p), 0);
    ASSERT_EQ(corio_sleep(5 * CORIO_MS), 0);
    corio_task_cancel(p);
    ASSERT_EQ(corio_task_join(p, &res), 0);
    ASSERT_EQ(res, -ECANCELED);
    ASSERT_EQ(log.rc[7], -ECANCELED);
    for (int i = 0; i < 3; i++)
        ASSERT_EQ(log.rc[i], -ECANCELED);
    return 0;
}
TEST(parent_cancelled_cancels_and_reaps_its_children)
{
    RUN(t_parent_cancelled, NULL);
}

static int parent_sleeping(void *arg)
{
    struct child_log *log = arg;
    static struct child_arg a[2];
    corio_group *g;
    ASSERT_EQ(corio_group_open(&g), 0);
    for (int i = 0; i < 2; i++) {
        a[i] = (struct child_arg){log, i, CORIO_S, 0};
        ASSERT_EQ(corio_spawn(g, child, &a[i]), 0);
    }
    /* Cancelled while sleeping, not while waiting: the children must be cancelled at once. */
    int rc = corio_sleep(10 * CORIO_S);
    log->ended[7] = corio_now();
    return rc; /* returns with the group open: it is closed for us */
}

static int t_owner_returns(void *arg)
{
    struct child_log log = {{0}, {0}, 0};
    corio_task *p;
    (void)arg;
    ASSERT_EQ(corio_spawn_task(NULL, parent_sleeping, &log, &p), 0);
    ASSERT_EQ(corio_sleep(3 * CORIO_MS), 0);
    corio_task_cancel(p);
    ASSERT_EQ(corio_task_join(p, NULL), 0);
    ASSERT_EQ(log.cleanup, 2); /* children reaped before the parent counted as done */
    ASSERT_EQ(log.ended[0], log.ended[7]);
    return 0;
}
TEST(open_group_is_closed_when_owner_returns)
{
    RUN(t_owner_returns, NULL);
}

static int t_group_close_reaps(void *arg)
{
    struct child_log log = {{0}, {0}, 0};
    struct child_arg a = {&log, 0, CORIO_S, 0};
    corio_group *g;
    (void)arg;
    ASSERT_EQ(corio_group_open(&g), 0);
    ASSERT_EQ(corio_spawn(g, child, &a), 0);
    ASSERT_EQ(corio_yield(), 0);
    ASSERT_EQ(corio_group_close(g), -ECANCELED);
    ASSERT_EQ(log.rc[0], -ECANCELED);
    return 0;
}
TEST(group_close_cancels_and_reaps_survivors)
{
    RUN(t_group_close_reaps, NULL);
}

static int t_cancelled_group_refuses(void *arg)
{
    corio_group *g;
    (void)arg;
    ASSERT_EQ(corio_group_open(&g), 0);
    corio_group_cancel(g);
    ASSERT_EQ(corio_spawn(g, sleeper, NULL), -ECANCELED);
    ASSERT_EQ(corio_group_wait(g), -ECANCELED);
    corio_group_close(g);
    return 0;
}
TEST(spawn_into_cancelled_group_fails)
{
    RUN(t_cancelled_group_refuses, NULL);
}

static int bg_worker(void *arg)
{
    int *state = arg;
    *state = 1;
    int rc = corio_sleep(100 * CORIO_S);
    *state = rc == -ECANCELED ? 2 : 3;
    return rc;
}

static int t_main_detaches(void *arg)
{
    ASSERT_EQ(corio_spawn(NULL, bg_worker, arg), 0);
    return corio_sleep(CORIO_MS);
}
TEST(background_tasks_are_cancelled_when_main_returns)
{
    int state = 0;
    RUN(t_main_detaches, &state);
    ASSERT_EQ(state, 2);
}

/* ---- deadlines and shields ------------------------------------------------------------------ */

static int t_deadline_sleep(void *arg)
{
    corio_deadline d;
    (void)arg;
    int64_t t0 = corio_now();
    corio_deadline_enter(&d, corio_after(50 * CORIO_MS));
    ASSERT_EQ(corio_deadline_current(), t0 + 50 * CORIO_MS);
    ASSERT_EQ(corio_sleep(20 * CORIO_MS), 0); /* shorter than the deadline: fine */
    ASSERT_EQ(corio_sleep(CORIO_S), -ETIMEDOUT);
    ASSERT_EQ(corio_now(), t0 + 50 * CORIO_MS);
    ASSERT_EQ(corio_yield(), -ETIMEDOUT); /* and stays expired */
    ASSERT(corio_deadline_leave(&d));
    ASSERT_EQ(corio_deadline_current(), CORIO_FOREVER);
    ASSERT_EQ(corio_sleep(CORIO_MS), 0);
    return 0;
}
TEST(deadline_expires_in_sleep_exactly)
{
    RUN(t_deadline_sleep, NULL);
}

static int t_nested(void *arg)
{
    corio_deadline outer, inner;
    (void)arg;
    int64_t t0 = corio_now();
    /* inner earlier than outer: inner governs, and only inner reports the hit */
    corio_deadline_enter(&outer, t0 + 100 * CORIO_MS);
    corio_deadline_enter(&inner, t0 + 30 * CORIO_MS);
    ASSERT_EQ(corio_sleep(CORIO_S), -ETIMEDOUT);
    ASSERT_EQ(corio_now(), t0 + 30 * CORIO_MS);
    ASSERT(corio_deadline_leave(&inner));
    ASSERT(!corio_deadline_leave(&outer));
    /* inner later than outer: the outer, earlier one still wins */
    t0 = corio_now();
    corio_deadline_enter(&outer, t0 + 30 * CORIO_MS);
    corio_deadline_enter(&inner, t0 + 100 * CORIO_MS);
    ASSERT_EQ(corio_deadline_current(), t0 + 30 * CORIO_MS);
    ASSERT_EQ(corio_sleep(CORIO_S), -ETIMEDOUT);
    ASSERT_EQ(corio_now(), t0 + 30 * CORIO_MS);
    ASSERT(!corio_deadline_leave(&inner));
    ASSERT(corio_deadline_leave(&outer));
    return 0;
}
TEST(nested_deadlines_earliest_wins)
{
    RUN(t_nested, NULL);
}

static int sleep_long(void *arg)
{
    (void)arg;
    return corio_sleep(CORIO_S);
}

static int t_wait_for(void *arg)
{
    (void)arg;
    int64_t t0 = corio_now();
    ASSERT_EQ(corio_wait_for(10 * CORIO_MS, sleep_long, NULL), -ETIMEDOUT);
    ASSERT_EQ(corio_now(), t0 + 10 * CORIO_MS);
    ASSERT_EQ(corio_wait_for(2 * CORIO_S, sleep_long, NULL), 0);
    return 0;
}
TEST(wait_for_runs_under_deadline)
{
    RUN(t_wait_for, NULL);
}

static int report_deadline(void *arg)
{
    *(int64_t *)arg = corio_deadline_current();
    return 0;
}

static int t_inherit_deadline(void *arg)
{
    corio_deadline d;
    corio_group *g;
    int64_t seen_child = 0, seen_bg = 0;
    corio_task *bg;
    (void)arg;
    corio_deadline_enter(&d, corio_after(40 * CORIO_MS));
    ASSERT_EQ(corio_group_open(&g), 0);
    ASSERT_EQ(corio_spawn(g, report_deadline, &seen_child), 0);
    ASSERT_EQ(corio_spawn_task(NULL, report_deadline, &seen_bg, &bg), 0);
    ASSERT_EQ(corio_group_wait(g), 0);
    ASSERT_EQ(corio_task_join(bg, NULL), 0);
    corio_group_close(g);
    ASSERT_EQ(seen_child, d.at);       /* a structured child runs under our deadline */
    ASSERT_EQ(seen_bg, CORIO_FOREVER); /* background work does not */
    corio_deadline_leave(&d);
    return 0;
}
TEST(children_inherit_deadline_background_does_not)
{
    RUN(t_inherit_deadline, NULL);
}

static int t_group_wait_deadline(void *arg)
{
    struct child_log log = {{0}, {0}, 0};
    struct child_arg a = {&log, 0, CORIO_S, 0};
    corio_group *g;
    corio_deadline d;
    (void)arg;
    ASSERT_EQ(corio_group_open(&g), 0);
    int64_t t0 = corio_now();
    corio_deadline_enter(&d, t0 + 25 * CORIO_MS);
    ASSERT_EQ(corio_spawn(g, child, &a), 0);
    ASSERT_EQ(corio_group_wait(g), -ETIMEDOUT);
    ASSERT(corio_deadline_leave(&d));
    ASSERT_EQ(corio_now(), t0 + 25 * CORIO_MS);
    ASSERT_EQ(log.rc[0], -ETIMEDOUT); /* the child inherited the deadline */
    corio_group_close(g);
    return 0;
}
TEST(group_wait_times_out_and_reaps_children)
{
    RUN(t_group_wait_deadline, NULL);
}

struct shield_log {
    int first, cleanup, after;
    int64_t cleanup_done;
};

static int shielded_cleanup(void *arg)
{
    struct shield_log *s = arg;
    s->first = corio_sleep(10 * CORIO_S);
    corio_deadline sh;
    corio_shield_enter(&sh, corio_after(50 * CORIO_MS));
    s->cleanup = corio_sleep(20 * CORIO_MS); /* cancelled, yet the cleanup may wait */
    s->cleanup_done = corio_now();
    corio_deadline_leave(&sh);
    s->after = corio_sleep(CORIO_MS);
    return 0;
}

static int t_shield(void *arg)
{
    struct shield_log s = {0, 0, 0, 0};
    corio_task *t;
    corio_deadline outer;
    (void)arg;
    corio_deadline_enter(&outer, corio_after(CORIO_S));
    ASSERT_EQ(corio_spawn_task(NULL, shielded_cleanup, &s, &t), 0);
    ASSERT_EQ(corio_sleep(5 * CORIO_MS), 0);
    int64_t t0 = corio_now();
    corio_task_cancel(t);
    ASSERT_EQ(corio_task_join(t, NULL), 0);
    corio_deadline_leave(&outer);
    ASSERT_EQ(s.first, -ECANCELED);
    ASSERT_EQ(s.cleanup, 0);
    ASSERT_EQ(s.cleanup_done, t0 + 20 * CORIO_MS);
    ASSERT_EQ(s.after, -ECANCELED); /* cancellation resumes once the shield is left */
    return 0;
}
TEST(shielded_cleanup_completes_after_cancel)
{
    RUN(t_shield, NULL);
}

static int t_shield_deadline(void *arg)
{
    corio_deadline outer, sh;
    (void)arg;
    int64_t t0 = corio_now();
    corio_deadline_enter(&outer, t0 + 5 * CORIO_MS);
    corio_shield_enter(&sh, t0 + 15 * CORIO_MS); /* hides the earlier outer deadline */
    ASSERT_EQ(corio_sleep(10 * CORIO_MS), 0);
    ASSERT_EQ(corio_sleep(10 * CORIO_MS), -ETIMEDOUT);
    ASSERT_EQ(corio_now(), t0 + 15 * CORIO_MS);
    ASSERT(corio_deadline_leave(&sh));
    ASSERT_EQ(corio_sleep(CORIO_MS), -ETIMEDOUT); /* the outer one is back, and expired */
    ASSERT(corio_deadline_leave(&outer));
    return 0;
}
TEST(shield_has_its_own_deadline)
{
    RUN(t_shield_deadline, NULL);
}

static int t_bad_leave(void *arg)
{
    corio_deadline a, b;
    (void)arg;
    corio_deadline_enter(&a, CORIO_FOREVER);
    corio_deadline_enter(&b, CORIO_FOREVER);
    corio_deadline_leave(&a); /* out of order: a bug, aborts */
    return 0;
}
TEST_EXPECT_DEATH(deadline_left_out_of_order_aborts, SIGABRT, "out of order")
{
    corio_run(&VT, t_bad_leave, NULL);
}

/* ---- task-local values ------------------------------------------------------------------------
 */

static corio_local_key REQ_ID = CORIO_LOCAL_KEY("request_id");
static corio_local_key USER = CORIO_LOCAL_KEY("user");

static int local_child(void *arg)
{
    char **seen = arg;
    seen[0] = corio_local_get(&REQ_ID);
    ASSERT_EQ(corio_local_set_copy(&REQ_ID, "child", 5), 0);
    /* the copy lives only as long as a task sees it: check it here */
    seen[1] = strcmp(corio_local_get(&REQ_ID), "child") == 0 ? "child" : "wrong";
    seen[2] = corio_local_get(&USER);
    return 0;
}

static int t_locals(void *arg)
{
    char *seen[3] = {0};
    char user[] = "alice";
    corio_group *g;
    (void)arg;
    ASSERT_NULL(corio_local_get(&REQ_ID));
    ASSERT_EQ(corio_local_set_copy(&REQ_ID, "req-1xyz", 5), 0);
    ASSERT_EQ(corio_local_set(&USER, user), 0);
    ASSERT_STREQ(corio_local_get(&REQ_ID), "req-1");
    ASSERT_EQ(corio_group_open(&g), 0);
    ASSERT_EQ(corio_spawn(g, local_child, seen), 0);
    ASSERT_EQ(corio_group_wait(g), 0);
    corio_group_close(g);
    ASSERT_STREQ(seen[0], "req-1");
    ASSERT_STREQ(seen[1], "child");
    ASSERT_PTR_EQ(seen[2], user);
    ASSERT_STREQ(corio_local_get(&REQ_ID), "req-1"); /* the child's set did not leak upward */
    /* A long-lived task setting a value per request stays bounded (compaction). */
    for (int i = 0; i < 1000; i++) {
        char buf[16];
        int n = snprintf(buf, sizeof buf, "r%d", i);
        ASSERT_EQ(corio_local_set_copy(&REQ_ID, buf, (size_t)n), 0);
    }
    ASSERT_STREQ(corio_local_get(&REQ_ID), "r999");
    ASSERT_PTR_EQ(corio_local_get(&USER), user);
    ASSERT_EQ(corio_local_set_copy(&REQ_ID, "x", 70000), -EMSGSIZE);
    return 0;
}
TEST(task_locals_are_inherited_not_shared)
{
    RUN(t_locals, NULL);
}

/* A child that keeps reading its value while the parent sets new ones. */
static int local_watcher(void *arg)
{
    const char **seen = arg;
    seen[0] = corio_local_get(&REQ_ID);
    ASSERT_EQ(corio_sleep(10 * CORIO_MS), 0);
    seen[1] = corio_local_get(&REQ_ID);
    return 0;
}

/* Setting the same key again while no other task holds the value updates it in place (a
 * connection's task setting a request id per request allocates once), but never under a child
 * that already holds it. */
static int t_locals_in_place(void *arg)
{
    (void)arg;
    ASSERT_EQ(corio_local_set_copy(&REQ_ID, "first", 5), 0);
    const char *p1 = corio_local_get(&REQ_ID);
    ASSERT_EQ(corio_local_set_copy(&REQ_ID, "second", 6), 0);
    ASSERT_PTR_EQ(corio_local_get(&REQ_ID), p1); /* reused */
    ASSERT_STREQ(p1, "second");
    ASSERT_EQ(corio_local_set(&REQ_ID, NULL), 0);
    ASSERT_NULL(corio_local_get(&REQ_ID));
    ASSERT_EQ(corio_local_set_copy(&REQ_ID, "third", 5), 0);
    ASSERT_PTR_EQ(corio_local_get(&REQ_ID), p1);
    /* A value longer than the node holds gets a new node. */
    char big[100];
    memset(big, 'b', sizeof big);
    ASSERT_EQ(corio_local_set_copy(&REQ_ID, big, sizeof big), 0);
    ASSERT_EQ(strlen(corio_local_get(&REQ_ID)), sizeof big);
    /* With a child holding the value, the parent's next set must not change what it sees. */
    const char *seen[2] = {0};
    ASSERT_EQ(corio_local_set_copy(&REQ_ID, "parent", 6), 0);
    corio_group *g;
    ASSERT_EQ(corio_group_open(&g), 0);
    ASSERT_EQ(corio_spawn(g, local_watcher, seen), 0);
    ASSERT_EQ(corio_sleep(CORIO_MS), 0);
    ASSERT_EQ(corio_local_set_copy(&REQ_ID, "PARENT", 6), 0);
    ASSERT_EQ(corio_local_set(&REQ_ID, NULL), 0);
    ASSERT_EQ(corio_group_wait(g), 0);
    corio_group_close(g);
    ASSERT_STREQ(seen[0], "parent");
    ASSERT_STREQ(seen[1], "parent");
    return 0;
}
TEST(task_locals_are_updated_in_place_only_when_unshared)
{
    RUN(t_locals_in_place, NULL);
}

/* ---- listing, counters, scale ------------------------------------------------------------------
 */

struct listing {
    int sleeping;
    int named;
    bool site_ok;
    uint64_t parent;
};

static int list_cb(void *ctx, const struct corio_task_info *ti)
{
    struct listing *l = ctx;
    if (ti->waits_on && strcmp(ti->waits_on, "sleep") == 0)
        l->sleeping++;
    if (strcmp(ti->name, "napper") == 0) {
        l->named++;
        l->site_ok = strstr(ti->site, "test_task.c:") != NULL;
        l->parent = ti->parent_id;
        if (strcmp(ti->state, "waiting") != 0 || ti->age_ns != 7 * CORIO_MS)
            l->site_ok = false;
    }
    return 0;
}

static int t_listing(void *arg)
{
    struct listing l = {0, 0, false, 0};
    corio_group *g;
    (void)arg;
    ASSERT_EQ(corio_group_open(&g), 0);
    for (int i = 0; i < 3; i++)
        ASSERT_EQ(corio_spawn_named(g, "napper", sleeper, NULL, NULL), 0);
    ASSERT_EQ(corio_sleep(7 * CORIO_MS), 0);
    size_t n = corio_tasks_foreach(list_cb, &l);
    ASSERT_EQ(n, 4u);         /* main and the three nappers */
    ASSERT_EQ(l.sleeping, 3); /* main is running */
    ASSERT_EQ(l.named, 3);
    ASSERT(l.site_ok);
    ASSERT_EQ(l.parent, corio_task_id(corio_self()));
    struct corio_loop_stats st;
    corio_loop_stats(&st);
    ASSERT_EQ(st.tasks, 4u);
    ASSERT_EQ(st.timers, 3u);
    ASSERT_GE(st.spawned, 4u);
    ASSERT_GT(st.switches, 0u);
    corio_group_close(g);
    return 0;
}
TEST(task_listing_shows_state_wait_age_and_site)
{
    RUN(t_listing, NULL);
}

static int count_up(void *arg)
{
    (*(int *)arg)++;
    return corio_sleep(CORIO_MS);
}

static int t_many(void *arg)
{
    int count = 0;
    corio_group *g;
    (void)arg;
    for (int round = 0; round < 3; round++) {
        ASSERT_EQ(corio_group_open(&g), 0);
        for (int i = 0; i < 5000; i++)
            ASSERT_EQ(corio_spawn(g, count_up, &count), 0);
        ASSERT_EQ(corio_group_wait(g), 0);
        corio_group_close(g);
    }
    ASSERT_EQ(count, 15000);
    struct corio_loop_stats st;
    corio_loop_stats(&st);
    ASSERT_LE(st.stacks_mapped, 5100u); /* stacks are reused across rounds */
    return 0;
}
TEST(many_tasks_reuse_pooled_stacks)
{
    RUN(t_many, NULL);
}

static int t_shuffled(void *arg)
{
    (void)arg;
    /* not t_fifo: shuffling permutes start order on purpose */
    return t_group_failure(NULL) || t_parent_cancelled(NULL) || t_owner_returns(NULL);
}
TEST(group_semantics_hold_under_shuffled_scheduling)
{
    for (uint64_t seed = 1; seed <= 8; seed++) {
        struct corio_run_opts o = VT;
        o.shuffle_seed = seed;
        int rc = corio_run(&o, t_shuffled, NULL);
        if (rc != 0)
            fprintf(stderr, "failing seed: %llu\n", (unsigned long long)seed);
        ASSERT_EQ(rc, 0);
    }
}

/* ---- stack overflow ----------------------------------------------------------------------------
 */

static int recurse(int n)
{
    volatile char buf[512];
    buf[0] = (char)n;
    if (n > 100000000)
        return 0;
    return recurse(n + 1) + buf[0];
}

static int overflow(void *arg)
{
    (void)arg;
    return recurse(0);
}

static int t_overflow(void *arg)
{
    (void)arg;
    corio_spawn_named(NULL, "deep-recursion", overflow, NULL, NULL);
    return corio_sleep(CORIO_S);
}
TEST_EXPECT_DEATH(stack_overflow_names_the_task, SIGABRT, "stack overflow in task 'deep-recursion'")
{
    corio_run(&VT, t_overflow, NULL);
}

static int deep_but_fits(void *arg)
{
    (void)arg;
    volatile char big[200 * 1024];
    big[0] = 1;
    big[sizeof big - 1] = 2;
    return big[0] + big[sizeof big - 1] - 3;
}

static int t_big_stack(void *arg)
{
    corio_task *t;
    int res = -1;
    (void)arg;
    struct corio_spawn_opts o = {.name = "big", .stack_size = 512 * 1024};
    ASSERT_EQ(corio_spawn_ex(NULL, &o, deep_but_fits, NULL, &t, "here"), 0);
    ASSERT_EQ(corio_task_join(t, &res), 0);
    ASSERT_EQ(res, 0);
    return 0;
}
TEST(spawn_with_larger_stack)
{
    RUN(t_big_stack, NULL);
}

TEST(run_rejects_bad_options)
{
    struct corio_run_opts o = {.workers = -1};
    ASSERT_EQ(corio_run(&o, t_main_result, NULL), -EINVAL);
}

static int t_nested_run(void *arg)
{
    (void)arg;
    ASSERT_EQ(corio_run(&VT, t_main_result, NULL), -EBUSY);
    return 0;
}
TEST(nested_run_is_ebusy)
{
    RUN(t_nested_run, NULL);
}

static int t_yield_alone(void *arg)
{
    int x = 0;
    (void)arg;
    for (int i = 0; i < 1000; i++) {
        ASSERT_EQ(corio_yield(), 0); /* nobody else runnable: keeps running */
        x++;
    }
    ASSERT_EQ(x, 1000);
    return 0;
}
TEST(yield_with_nobody_else_runnable)
{
    RUN(t_yield_alone, NULL);
}
