/* SPDX-License-Identifier: MIT */
/* corio/exec.h: the executor, a thread pool for work that would block a loop (SQLite, large
 * file I/O, CPU-heavy parsing, getaddrinfo). A task hands a function to the pool and parks; the
 * loop keeps running other tasks; the function's result comes back through the loop's mailbox.
 *
 * One executor per corio_run(), shared by all worker loops, created on first use with
 * corio_run_opts.executor_threads threads and a bounded submission queue of
 * corio_run_opts.executor_queue jobs. Executor threads block every signal.
 *
 * Cancellation and deadlines. A job that has not started when the waiting task is cancelled (or
 * its deadline passes) is removed from the queue and never runs. A job that has started cannot
 * be interrupted: by default the task keeps waiting for it (shielded), because fn may be using
 * memory the task owns, and then returns -ECANCELED / -ETIMEDOUT with *result still set to fn's
 * result so the caller can release what fn produced. With CORIO_EXEC_ABANDON the task returns
 * at once instead, and ownership of arg passes to opts.abandoned whenever the call returns an
 * error: it is called on the executor thread with fn's result when fn finishes, or, if fn never
 * started, on the waiting task's loop with the negative error as result. arg must then be owned
 * by the job, not by the task's stack.
 */
#ifndef CORIO_EXEC_H
#define CORIO_EXEC_H

#include "corio/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A blocking job. Runs on an executor thread: it must not call corio functions that need task
 * context (it may call corio_log and corio_loop_post). */
typedef intptr_t (*corio_exec_fn)(void *arg);

#define CORIO_EXEC_ABANDON 1u /* on cancel/timeout of a started job, return at once */

struct corio_exec_opts {
    unsigned flags;                                /* CORIO_EXEC_* */
    void (*abandoned)(void *arg, intptr_t result); /* with CORIO_EXEC_ABANDON: called once the
                                                    * waiter has gone with an error (see above);
                                                    * owns arg from then on */
    const char *what; /* shown in task listings while waiting; NULL = "executor" */
    uint64_t _reserved[2];
};

/* Runs fn(arg) on the executor and parks until it returns; *result (may be NULL) gets its
 * return value. When the submission queue is full, waits (FIFO per loop, cancellable) for room.
 * o may be NULL. Suspends: 0, -ECANCELED, -ETIMEDOUT (see above for what they mean here);
 * -ENOMEM; -ESHUTDOWN if the run is ending. Task context. */
CORIO_API int corio_exec_run(const struct corio_exec_opts *o, corio_exec_fn fn, void *arg,
                             intptr_t *result);

struct corio_exec_stats {
    int threads;
    size_t queue_cap;
    size_t queued;    /* waiting for a thread */
    size_t running;   /* being run now */
    uint64_t done;    /* finished since start */
    uint64_t dropped; /* removed from the queue because the waiter went away */
    uint64_t _reserved[2];
};

/* Fills *out with the executor's counters (zeros if it has not started). Task context. */
CORIO_API void corio_exec_stats(struct corio_exec_stats *out);

#ifdef __cplusplus
}
#endif
#endif
