/* SPDX-License-Identifier: MIT */
/* The loop mailbox under load: plain threads (not corio workers) post tasks to a loop as fast
 * as they can while the loop is busy; every post runs exactly once, and posts after the run
 * has ended are refused with -ESHUTDOWN. Runs under TSan.
 */
#include "test.h"

#include "corio/core.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>

#define THREADS 4
#if CORIO_TSAN
#define PER_THREAD 500 /* TSan makes a task's first switch cost a fiber (~1 MB of shadow) */
#else
#define PER_THREAD 5000
#endif

static _Atomic long ran;
static _Atomic int posters_done;
static corio_loop *target;

static int count(void *arg)
{
    atomic_fetch_add(&ran, (long)(intptr_t)arg);
    return 0;
}

static void *poster(void *arg)
{
    (void)arg;
    for (int i = 0; i < PER_THREAD; i++)
        while (corio_loop_post(target, count, (void *)(intptr_t)1) != 0)
            ;
    atomic_fetch_add(&posters_done, 1);
    return NULL;
}

static int mailbox_main(void *arg)
{
    pthread_t th[THREADS];
    (void)arg;
    target = corio_loop_current();
    for (int i = 0; i < THREADS; i++)
        ASSERT_EQ(pthread_create(&th[i], NULL, poster, NULL), 0);
    /* Stay busy with other work while posts arrive. */
    while (atomic_load(&posters_done) < THREADS || atomic_load(&ran) < THREADS * PER_THREAD)
        ASSERT_EQ(corio_sleep(CORIO_MS), 0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    return 0;
}

TEST(posts_from_foreign_threads_all_run_once)
{
    struct corio_run_opts o = {.watchdog_ns = -1};
    atomic_store(&ran, 0);
    atomic_store(&posters_done, 0);
    ASSERT_EQ(corio_run(&o, mailbox_main, NULL), 0);
    ASSERT_EQ(atomic_load(&ran), (long)THREADS * PER_THREAD);
    /* The loop is gone: its mailbox refuses. (target is dangling; only the closed flag of a
     * live loop can be tested, so test on a fresh run below instead.) */
}

static corio_loop *first_loop;
static int remember_loop(void *arg)
{
    (void)arg;
    first_loop = corio_worker_loop(1);
    return 0;
}

static int late_poster_main(void *arg)
{
    (void)arg;
    if (corio_worker_id() == 1)
        return 0; /* worker 1 ends at once */
    remember_loop(NULL);
    /* Wait until worker 1's loop has ended: posting then fails cleanly. */
    int rc;
    /* Each accepted post keeps worker 1 busy a little longer, so leave it room to finish. */
    for (int i = 0; i < 3000; i++) {
        rc = corio_loop_post(first_loop, count, (void *)(intptr_t)1000000);
        if (rc == -ESHUTDOWN)
            return 0;
        ASSERT_EQ(rc, 0);
        ASSERT_EQ(corio_sleep(20 * CORIO_MS), 0);
    }
    return -EIO;
}

TEST(post_to_finished_loop_is_eshutdown)
{
    struct corio_run_opts o = {.workers = 2, .watchdog_ns = -1};
    atomic_store(&ran, 0);
    ASSERT_EQ(corio_run(&o, late_poster_main, NULL), 0);
    /* Posts accepted before the loop closed still ran. */
    ASSERT_EQ(atomic_load(&ran) % 1000000, 0);
}
