/* SPDX-License-Identifier: MIT */
/* examples/executor.c: blocking work on the executor (the run_in_executor analogue).
 *
 * 1. A job that blocks (nanosleep, then fill and FNV-1a hash 1 MiB) runs on an executor thread
 *    while a ticker task keeps running on the loop.
 * 2. A running job outlives its waiter's deadline: by default the task waits for it anyway
 *    (the job may use the task's memory), then returns -ETIMEDOUT with the job's result set.
 * 3. The same with CORIO_EXEC_ABANDON: the task returns at the deadline; the job's heap
 *    argument belongs to the abandoned() callback, which runs on the executor thread when the
 *    job finishes.
 * 4. A job that is still queued when its waiter's deadline passes is removed and never runs.
 *
 * executor_threads = 1 makes step 4 deterministic: the one thread is still busy with the
 * abandoned job of step 3. Runs in about 0.5 s and exits 0.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* nanosleep; the CMake build defines it for every file */
#endif
#include <corio/core.h>
#include <corio/exec.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void block_ms(long ms) /* a blocking call: never do this on the loop itself */
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

struct hash_job {
    long sleep_ms;
    size_t len;
    unsigned char *data;
};

/* Runs on an executor thread: no corio calls that need a task. */
static intptr_t hash_fn(void *arg)
{
    struct hash_job *j = arg;
    block_ms(j->sleep_ms);
    memset(j->data, 'x', j->len); /* 1 MiB of work that would also hold up the loop */
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < j->len; i++)
        h = (h ^ j->data[i]) * 16777619u;
    return (intptr_t)h;
}

static int ticker(void *arg)
{
    int *ticks = arg;
    while (corio_sleep(50 * CORIO_MS) == 0)
        ++*ticks;
    return 0;
}

static intptr_t slow_fn(void *arg)
{
    long *ms = arg;
    block_ms(*ms);
    return 42;
}

static void abandoned(void *arg, intptr_t result)
{
    printf("3. abandoned() on the executor thread: result %ld; freeing the argument\n",
           (long)result);
    free(arg);
}

static intptr_t never_fn(void *arg)
{
    (void)arg;
    printf("4. this line is never printed\n");
    return 0;
}

static long long ms_since(int64_t t0) /* rounded to 10 ms */
{
    return (long long)((corio_now() - t0 + 5 * CORIO_MS) / (10 * CORIO_MS) * 10);
}

static int main_task(void *arg)
{
    (void)arg;
    int rc;
    intptr_t res = 0;

    /* 1. Blocking work off the loop; the ticker shows the loop keeps running. */
    static unsigned char data[1 << 20];
    struct hash_job hj = {.sleep_ms = 220, .len = sizeof data, .data = data};
    int ticks = 0;
    corio_group *g;
    if ((rc = corio_group_open(&g)) < 0)
        return rc;
    corio_spawn(g, ticker, &ticks);
    struct corio_exec_opts hash_opts = {.what = "hash 1 MiB"}; /* shown in task listings */
    rc = corio_exec_run(&hash_opts, hash_fn, &hj, &res);
    printf("1. hash: %s, %#lx; the loop ticked %s while the job blocked a thread\n",
           corio_strerror(rc), (unsigned long)res, ticks >= 3 ? "3+ times" : "too little");
    corio_group_close(g); /* cancels the ticker */

    /* 2. Deadline passes while the job runs: we still wait for it (default). */
    long ms = 150;
    res = 0;
    int64_t t0 = corio_now();
    corio_deadline dl;
    corio_deadline_enter(&dl, corio_after(50 * CORIO_MS));
    rc = corio_exec_run(NULL, slow_fn, &ms, &res);
    corio_deadline_leave(&dl);
    printf("2. default: %s after ~%lld ms, result still delivered: %ld\n", corio_strerror(rc),
           ms_since(t0), (long)res);

    /* 3. CORIO_EXEC_ABANDON: return at the deadline; the argument must be the job's own. */
    long *heap_ms = malloc(sizeof *heap_ms);
    if (!heap_ms)
        return -ENOMEM;
    *heap_ms = 150;
    struct corio_exec_opts ab = {.flags = CORIO_EXEC_ABANDON, .abandoned = abandoned};
    t0 = corio_now();
    corio_deadline_enter(&dl, corio_after(50 * CORIO_MS));
    rc = corio_exec_run(&ab, slow_fn, heap_ms, &res);
    corio_deadline_leave(&dl);
    if (rc == 0)
        free(heap_ms); /* finished in time: arg is still ours. On an error, abandoned() owns it */
    printf("3. abandon: %s after ~%lld ms; the job keeps its thread until it ends\n",
           corio_strerror(rc), ms_since(t0));

    /* 4. Queued behind the abandoned job, then its deadline passes: dropped, never run. */
    corio_deadline_enter(&dl, corio_after(20 * CORIO_MS));
    rc = corio_exec_run(NULL, never_fn, NULL, NULL);
    corio_deadline_leave(&dl);
    struct corio_exec_stats st;
    corio_exec_stats(&st);
    printf("4. queued job: %s; executor: %d thread, %llu done, %llu dropped\n", corio_strerror(rc),
           st.threads, (unsigned long long)st.done, (unsigned long long)st.dropped);
    return 0; /* corio_run() returns after the abandoned job's callback has run */
}

int main(void)
{
    struct corio_run_opts o = {.executor_threads = 1};
    return corio_run(&o, main_task, NULL) < 0 ? 1 : 0;
}
