/* SPDX-License-Identifier: MIT */
/* corio/diag.h: looking inside a running service: the live task listing (what /debug/tasks
 * serves), loop counters, and the watchdog that reports a task holding its loop too long.
 */
#ifndef CORIO_DIAG_H
#define CORIO_DIAG_H

#include "corio/core.h"

#ifdef __cplusplus
extern "C" {
#endif

struct corio_task_info {
    uint64_t id;
    const char *name;     /* view, valid during the callback */
    const char *state;    /* "running", "runnable" or "waiting" */
    const char *waits_on; /* e.g. "sleep", "fd read", "chan get", "group wait"; NULL unless
                           * waiting */
    int64_t wait_arg;     /* detail for waits_on: the fd, the task id joined, ... */
    int64_t age_ns;       /* since spawn */
    int64_t deadline_ns;  /* effective deadline (absolute), CORIO_FOREVER if none */
    const char *site;     /* spawn site "file:line" */
    uint64_t parent_id;   /* owner of the task's group; 0 for the top group */
    bool cancelled;
    uint64_t _reserved[2];
};

/* Calls fn for every live task of the calling thread's loop, in spawn order, until fn returns
 * non-zero. Returns the number of tasks visited. fn must not park, spawn or cancel. Any code on
 * the loop's thread (task or scheduler context). */
CORIO_API size_t corio_tasks_foreach(int (*fn)(void *ctx, const struct corio_task_info *ti),
                                     void *ctx);

struct corio_loop_stats {
    int worker;
    uint64_t tasks; /* live */
    uint64_t runnable;
    uint64_t spawned; /* since start */
    uint64_t finished;
    uint64_t switches;
    uint64_t iterations;
    uint64_t timers; /* pending */
    uint64_t timers_fired;
    uint64_t fd_waits;
    uint64_t messages;      /* mailbox messages handled */
    uint64_t stacks_mapped; /* pooled stacks carved so far */
    uint64_t stacks_free;
    uint64_t _reserved[4];
};

/* Fills *out with the counters of the calling thread's loop. Loop thread only. */
CORIO_API void corio_loop_stats(struct corio_loop_stats *out);

struct corio_watchdog_report {
    int worker; /* index of the loop held */
    uint64_t task_id;
    char name[32];
    const char *site; /* spawn site (static string) */
    int64_t held_ns;  /* how long the task has run without yielding, at least */
};

/* Installs a function called (from the watchdog thread) with every report, besides the warning
 * it logs; NULL removes it. The threshold is corio_run_opts.watchdog_ns. Any thread. */
CORIO_API void corio_watchdog_set_hook(void (*fn)(void *ctx, const struct corio_watchdog_report *r),
                                       void *ctx);

#ifdef __cplusplus
}
#endif
#endif
