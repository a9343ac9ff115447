/* SPDX-License-Identifier: MIT */
/* examples/watchdog.c: the log hook and the slow-task watchdog.
 *
 * A task that calls a blocking function on the loop (here nanosleep for 150 ms; in real code a
 * synchronous DNS lookup, a big file read, a long computation) holds every other task of that
 * loop. With watchdog_ns = 50 ms the watchdog thread notices and reports it once, naming the
 * task and where it was spawned: as a warning through the log hook, and to the watchdog hook.
 * Both hooks run on the watchdog thread, so they must be thread-safe. The fix for such a task
 * is corio_exec_run() (see executor.c). Runs in about 0.2 s and exits 0.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* nanosleep; the CMake build defines it for every file */
#endif
#include <corio/core.h>
#include <corio/diag.h>
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>

static _Atomic int reports;

static void log_hook(void *ctx, enum corio_log_level level, const char *subsystem, const char *msg)
{
    (void)ctx;
    static const char *const names[] = {"debug", "info", "warn", "error", "fatal"};
    printf("log hook: %s [%s] %s\n", names[level], subsystem, msg);
    fflush(stdout);
}

static void watchdog_hook(void *ctx, const struct corio_watchdog_report *r)
{
    (void)ctx;
    atomic_fetch_add(&reports, 1);
    printf("watchdog hook: worker %d, task %llu '%s', held for at least %lld ms\n", r->worker,
           (unsigned long long)r->task_id, r->name, (long long)(r->held_ns / CORIO_MS));
    fflush(stdout);
}

static int blocks_the_loop(void *arg)
{
    (void)arg;
    struct timespec ts = {.tv_nsec = 150 * 1000000L};
    nanosleep(&ts, NULL); /* the bug: a blocking call on the loop thread */
    return 0;
}

static int ticker(void *arg)
{
    int *ticks = arg;
    while (corio_sleep(10 * CORIO_MS) == 0)
        ++*ticks;
    return 0;
}

static int main_task(void *arg)
{
    (void)arg;
    int ticks = 0;
    corio_group *g;
    int rc = corio_group_open(&g);
    if (rc < 0)
        return rc;
    corio_spawn(g, ticker, &ticks);
    corio_spawn_named(g, "resolver", blocks_the_loop, NULL, NULL);
    corio_sleep(200 * CORIO_MS);
    corio_group_close(g);
    printf("main: %d watchdog report(s); the 10 ms ticker ticked %d times in 200 ms\n",
           atomic_load(&reports), ticks);
    return 0;
}

int main(void)
{
    corio_log_set_hook(log_hook, NULL, CORIO_LOG_INFO);
    corio_watchdog_set_hook(watchdog_hook, NULL);
    struct corio_run_opts o = {.watchdog_ns = 50 * CORIO_MS};
    int rc = corio_run(&o, main_task, NULL);
    corio_watchdog_set_hook(NULL, NULL);
    corio_log_set_hook(NULL, NULL, CORIO_LOG_INFO); /* back to the default (stderr) */
    return rc < 0 ? 1 : 0;
}
