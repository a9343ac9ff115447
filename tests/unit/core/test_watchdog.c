/* SPDX-License-Identifier: MIT */
/* The watchdog reports a task that holds its loop without yielding, naming it and its spawn
 * site; a task that yields often is never reported. No wall-clock luck: the spinning task spins
 * until the report has arrived (bounded by a generous cap), rather than for a fixed time.
 */
#include "test.h"

#include "corio/core.h"
#include "corio/diag.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

static _Atomic int reports; /* reports naming the spinning task */
static _Atomic int polite_reports;
static struct corio_watchdog_report last;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static void hook(void *ctx, const struct corio_watchdog_report *r)
{
    (void)ctx;
    /* Slow sanitizer builds may also catch other tasks (main spawning, say): only the two
     * tasks under test count. */
    if (strcmp(r->name, "polite") == 0)
        atomic_fetch_add(&polite_reports, 1);
    if (strcmp(r->name, "hog") != 0)
        return;
    pthread_mutex_lock(&lock);
    last = *r;
    pthread_mutex_unlock(&lock);
    atomic_fetch_add(&reports, 1);
}

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int spinner(void *arg)
{
    (void)arg;
    double cap = mono_s() + 60; /* never reached unless the watchdog is broken */
    while (atomic_load(&reports) == 0 && mono_s() < cap)
        ;
    return 0;
}

static int polite(void *arg)
{
    (void)arg;
    double until = mono_s() + 0.3;
    while (mono_s() < until)
        corio_yield(); /* busy, but yielding */
    return 0;
}

static int wd_main(void *arg)
{
    corio_task *t;
    (void)arg;
    ASSERT_EQ(corio_spawn_named(NULL, "polite", polite, NULL, &t), 0);
    ASSERT_EQ(corio_task_join(t, NULL), 0);
    ASSERT_EQ(atomic_load(&polite_reports), 0);
    ASSERT_EQ(corio_spawn_named(NULL, "hog", spinner, NULL, &t), 0);
    ASSERT_EQ(corio_task_join(t, NULL), 0);
    return 0;
}

TEST(watchdog_reports_task_that_spins)
{
    struct corio_run_opts o = {.watchdog_ns = 50 * CORIO_MS};
    corio_watchdog_set_hook(hook, NULL);
    ASSERT_EQ(corio_run(&o, wd_main, NULL), 0);
    corio_watchdog_set_hook(NULL, NULL);
    ASSERT_EQ(atomic_load(&reports), 1); /* once per stall */
    pthread_mutex_lock(&lock);
    ASSERT_STREQ(last.name, "hog");
    ASSERT(strstr(last.site, "test_watchdog.c:") != NULL);
    ASSERT_EQ(last.worker, 0);
    ASSERT_GE(last.held_ns, 50 * CORIO_MS);
    pthread_mutex_unlock(&lock);
}
