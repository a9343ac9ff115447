/* SPDX-License-Identifier: MIT */
/* examples/testing.c: testing time-dependent code with virtual_time, and exploring task
 * interleavings with shuffle_seed.
 *
 * 1. A retry loop with exponential backoff (1 s, 2 s, 4 s, ... capped at 60 s) under a
 *    10-minute deadline. With virtual_time the clock jumps to the next timer whenever every
 *    task waits, so ten simulated minutes take a few milliseconds of real time, and the
 *    result is the same on every run.
 * 2. The same three tasks run with shuffle_seed 0 (FIFO order) and with three seeds: each
 *    seed gives a different but reproducible order of the tasks that are runnable together.
 * Runs in a few ms and exits 0.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* clock_gettime; the CMake build defines it for every file */
#endif
#include <corio/core.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

/* The code under test: retries op until it succeeds, doubling the pause each time. */
static int retry_with_backoff(int (*op)(void *), void *arg, int *attempts)
{
    int64_t pause = CORIO_S;
    for (;;) {
        ++*attempts;
        int rc = op(arg);
        if (rc != -EAGAIN)
            return rc;
        if ((rc = corio_sleep(pause)) < 0)
            return rc;
        pause = pause * 2 > 60 * CORIO_S ? 60 * CORIO_S : pause * 2;
    }
}

static int always_busy(void *arg)
{
    (void)arg;
    return -EAGAIN;
}

struct backoff {
    int attempts;
};

static int run_backoff(void *arg)
{
    struct backoff *b = arg;
    return retry_with_backoff(always_busy, NULL, &b->attempts);
}

/* The test: under a 10-minute deadline, an operation that never succeeds must give up with
 * -ETIMEDOUT after exactly 15 attempts (at 0, 1, 3, 7, 15, 31, 63, 123, ..., 543 s). */
static int backoff_test(void *arg)
{
    (void)arg;
    struct backoff b = {0};
    int64_t t0 = corio_now();
    int rc = corio_wait_for(10 * 60 * CORIO_S, run_backoff, &b);
    long long secs = (long long)((corio_now() - t0) / CORIO_S);
    printf("1. retry gave up: %s after %d attempts and %lld s of virtual time\n",
           corio_strerror(rc), b.attempts, secs);
    return rc == -ETIMEDOUT && b.attempts == 15 && secs == 600 ? 0 : -EPROTO;
}

static int64_t real_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int order_pos;
static char order[8];

static int step(void *arg)
{
    char name = (char)(intptr_t)arg;
    for (int i = 0; i < 2; i++) {
        if (order_pos < (int)sizeof order - 1)
            order[order_pos++] = name;
        corio_yield();
    }
    return 0;
}

static int three_tasks(void *arg)
{
    (void)arg;
    corio_group *g;
    int rc = corio_group_open(&g);
    if (rc < 0)
        return rc;
    corio_spawn(g, step, (void *)(intptr_t)'A');
    corio_spawn(g, step, (void *)(intptr_t)'B');
    corio_spawn(g, step, (void *)(intptr_t)'C');
    rc = corio_group_wait(g);
    corio_group_close(g);
    return rc;
}

int main(void)
{
    int64_t r0 = real_ms();
    struct corio_run_opts vt = {.virtual_time = true};
    int rc = corio_run(&vt, backoff_test, NULL);
    printf("   test %s in %lld ms of real time\n", rc == 0 ? "passed" : "FAILED",
           (long long)(real_ms() - r0));
    if (rc < 0)
        return 1;

    for (uint64_t seed = 0; seed <= 3; seed++) {
        struct corio_run_opts o = {.virtual_time = true, .shuffle_seed = seed};
        order_pos = 0;
        if ((rc = corio_run(&o, three_tasks, NULL)) < 0)
            return 1;
        order[order_pos] = 0;
        printf("2. shuffle_seed %llu: %s\n", (unsigned long long)seed, order);
    }
    return 0;
}
