/* SPDX-License-Identifier: MIT */
/* corio/signal.h: waiting for process signals, and graceful shutdown.
 *
 * During corio_run() the signals SIGINT, SIGTERM, SIGHUP, SIGUSR1 and SIGUSR2 are blocked in
 * every corio thread and read by worker 0's loop through a signalfd. A task on worker 0 waits
 * for them with corio_signal_wait(). A signal nobody has ever waited for keeps its default
 * action (the process ends, as it would without corio); once some task has waited for a signal,
 * an occurrence with no waiter is kept pending and the next wait returns it at once, so a
 * service that handles SIGHUP in a loop never dies from one arriving between two waits.
 */
#ifndef CORIO_SIGNAL_H
#define CORIO_SIGNAL_H

#include "corio/core.h"

#include <signal.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The bit of signal s in a mask: CORIO_SIG(SIGTERM) | CORIO_SIG(SIGINT). */
#define CORIO_SIG(s) (1u << (unsigned)(s))

/* Parks until one of the signals in mask arrives and returns its number (> 0). Every task
 * waiting for that signal is woken by it. Task context on worker 0 only. Suspends: -ECANCELED,
 * -ETIMEDOUT; -EINVAL if mask names a signal corio does not handle (see above) or the caller is
 * not on worker 0. */
CORIO_API int corio_signal_wait(unsigned mask);

/* Cancels the top group of every worker loop of the run (from another loop, through its
 * mailbox): main tasks and background tasks see -ECANCELED at their next blocking call, and
 * corio_run() returns once they have finished. Task context, any worker. Does not suspend. */
CORIO_API void corio_shutdown(void);

struct corio_shutdown_opts {
    unsigned signals;        /* 0 = CORIO_SIG(SIGINT) | CORIO_SIG(SIGTERM) */
    int64_t drain_ns;        /* time allowed to drain; 0 = 30 s */
    int (*drain)(void *ctx); /* NULL = nothing to drain. Runs in its own task after the first
                              * signal, under the drain deadline: it should stop accepting new
                              * work and wait for work in flight. */
    void *ctx;
    uint64_t _reserved[2];
};

/* The graceful-shutdown sequence, meant to run as a background task on worker 0 (spawn it into
 * the top group, or call it at the end of main): waits for one of o->signals; runs o->drain
 * under a deadline of o->drain_ns (a second signal meanwhile cuts the drain short); then calls
 * corio_shutdown(). Returns the signal number, or -ECANCELED if the task was cancelled before
 * any signal came (e.g. the service ended on its own). o is borrowed for the call. Suspends. */
CORIO_API int corio_shutdown_on_signal(const struct corio_shutdown_opts *o);

#ifdef __cplusplus
}
#endif
#endif
