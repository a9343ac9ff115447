/* SPDX-License-Identifier: MIT */
/* Several worker loops: each runs main on its own thread and loop; tasks reach other loops
 * through corio_loop_post and corio_loop_call; corio_shutdown stops them all. Runs under TSan.
 */
#include "test.h"

#include "corio/core.h"
#include "corio/signal.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>

#define NW 3

static _Atomic int seen_mask;
static _Atomic int mains_done;

static int each_main(void *arg)
{
    (void)arg;
    int id = corio_worker_id();
    ASSERT_EQ(corio_worker_count(), NW);
    ASSERT_NOT_NULL(corio_worker_loop(id));
    ASSERT_PTR_EQ(corio_worker_loop(id), corio_loop_current());
    ASSERT_NULL(corio_worker_loop(NW));
    atomic_fetch_or(&seen_mask, 1 << id);
    atomic_fetch_add(&mains_done, 1);
    return 0;
}

TEST(every_worker_runs_main_on_its_own_loop)
{
    struct corio_run_opts o = {.workers = NW, .watchdog_ns = -1};
    atomic_store(&seen_mask, 0);
    atomic_store(&mains_done, 0);
    ASSERT_EQ(corio_run(&o, each_main, NULL), 0);
    ASSERT_EQ(atomic_load(&seen_mask), (1 << NW) - 1);
    ASSERT_EQ(atomic_load(&mains_done), NW);
}

/* ---- posting ----------------------------------------------------------------------------------
 */

struct ping {
    int from;
    int ran_on;
    _Atomic int *counter;
};

static int posted(void *arg)
{
    struct ping *p = arg;
    p->ran_on = corio_worker_id();
    atomic_fetch_add(p->counter, 1);
    return 0;
}

static int square_on_remote(void *arg)
{
    int *v = arg;
    int r = *v * *v + corio_worker_id() * 1000;
    /* Park on the remote loop too, to show it is a real task there. */
    if (corio_sleep(CORIO_MS) < 0)
        return -ECANCELED;
    return r;
}

static int sleepy_remote(void *arg)
{
    _Atomic int *cancelled = arg;
    int rc = corio_sleep(1000 * CORIO_S);
    if (rc == -ECANCELED)
        atomic_store(cancelled, 1);
    return rc;
}

static int poster_main(void *arg)
{
    static struct ping pings[100];
    static _Atomic int counter;
    _Atomic int *rem_cancelled = arg;
    if (corio_worker_id() != 0) {
        /* Other workers idle until shutdown. */
        return corio_sleep(1000 * CORIO_S) == -ECANCELED ? 0 : -EIO;
    }
    atomic_store(&counter, 0);
    for (int i = 0; i < 100; i++) {
        pings[i] = (struct ping){.from = 0, .ran_on = -1, .counter = &counter};
        ASSERT_EQ(corio_loop_post(corio_worker_loop(1 + i % (NW - 1)), posted, &pings[i]), 0);
    }
    /* call: run on worker 2 and wait for the result */
    for (int v = 1; v <= 20; v++) {
        int res = 0;
        ASSERT_EQ(corio_loop_call(corio_worker_loop(2), square_on_remote, &v, &res), 0);
        ASSERT_EQ(res, v * v + 2000);
    }
    /* call on our own loop runs as a child */
    int v = 7, res = 0;
    ASSERT_EQ(corio_loop_call(corio_loop_current(), square_on_remote, &v, &res), 0);
    ASSERT_EQ(res, 49);
    /* a remote call whose caller times out: the remote task is cancelled and waited for */
    corio_deadline d;
    corio_deadline_enter(&d, corio_after(20 * CORIO_MS));
    ASSERT_EQ(corio_loop_call(corio_worker_loop(1), sleepy_remote, rem_cancelled, &res),
              -ETIMEDOUT);
    ASSERT(corio_deadline_leave(&d));
    ASSERT_EQ(atomic_load(rem_cancelled), 1);
    while (atomic_load(&counter) < 100)
        ASSERT_EQ(corio_sleep(CORIO_MS), 0);
    for (int i = 0; i < 100; i++)
        ASSERT_EQ(pings[i].ran_on, 1 + i % (NW - 1));
    corio_shutdown(); /* stops the idle workers and ourselves */
    ASSERT_EQ(corio_sleep(CORIO_S), -ECANCELED);
    return 0;
}

TEST(post_and_call_between_worker_loops)
{
    static _Atomic int rem_cancelled;
    struct corio_run_opts o = {.workers = NW, .watchdog_ns = -1};
    ASSERT_EQ(corio_run(&o, poster_main, (void *)&rem_cancelled), 0);
}

static int fail_on_one(void *arg)
{
    (void)arg;
    return corio_worker_id() == 1 ? -EIO : 0;
}

TEST(run_reports_a_failing_worker)
{
    struct corio_run_opts o = {.workers = 2, .watchdog_ns = -1};
    ASSERT_EQ(corio_run(&o, fail_on_one, NULL), -EIO);
}
