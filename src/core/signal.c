/* SPDX-License-Identifier: MIT */
/* Signals through a signalfd read by worker 0's loop, and the graceful-shutdown helper.
 *
 * Why a signalfd and blocked signals: a handler would run at an arbitrary point of an arbitrary
 * thread (and coroutine); reading signals as data on the loop keeps them ordinary events. The
 * mask is set on the calling thread before any corio thread exists, so every thread inherits it.
 *
 * Invariant: waiters are tasks of loop 0 parked in corio_signal_wait(); pending holds signals
 * that arrived while watched and not waited for.
 */
#include "core_int.h"
#include "corio/signal.h"

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#define HANDLED                                                                                    \
    (CORIO_SIG(SIGINT) | CORIO_SIG(SIGTERM) | CORIO_SIG(SIGHUP) | CORIO_SIG(SIGUSR1) |             \
     CORIO_SIG(SIGUSR2))

struct corio__sig {
    int fd;
    unsigned watched; /* signals some task has waited for */
    unsigned pending; /* arrived while watched, not yet taken */
    struct corio__list waiters;
};

struct sig_waiter {
    struct corio__waiter w;
    unsigned mask;
    int signo;
};

static void handled_set(sigset_t *s)
{
    sigemptyset(s);
    for (int i = 1; i < 32; i++)
        if (HANDLED & CORIO_SIG(i))
            sigaddset(s, i);
}

int corio__signal_rt_init(struct corio__rt *rt, sigset_t *old)
{
    sigset_t set;
    handled_set(&set);
    pthread_sigmask(SIG_BLOCK, &set, old);
    struct corio__sig *s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    corio__list_init(&s->waiters);
    s->fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (s->fd < 0) {
        int rc = -errno;
        free(s);
        return rc;
    }
    rt->sig = s;
    return 0;
}

int corio__signal_attach(corio_loop *l0)
{
    struct corio__sig *s = l0->rt->sig;
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = CORIO__EV_SIGNAL};
    if (epoll_ctl(l0->epfd, EPOLL_CTL_ADD, s->fd, &ev) < 0)
        return -errno;
    l0->sigfd = s->fd;
    return 0;
}

void corio__signal_rt_free(struct corio__rt *rt)
{
    struct corio__sig *s = rt->sig;
    if (!s)
        return;
    /* Signals that arrived after the last wait stay pending in the kernel and would fire once
     * the caller restores its mask; drain them so a handled signal is not delivered twice. */
    struct signalfd_siginfo si;
    while (read(s->fd, &si, sizeof si) == (ssize_t)sizeof si) {
        if (!(s->watched & CORIO_SIG(si.ssi_signo))) {
            /* Never handled by anyone: deliver it as the process would have. */
            signal((int)si.ssi_signo, SIG_DFL);
            raise((int)si.ssi_signo);
        }
    }
    close(s->fd);
    free(s);
    rt->sig = NULL;
}

static void default_action(int signo)
{
    sigset_t one;
    corio_log(CORIO_LOG_INFO, "core", "signal %d (%s) with no task waiting: default action", signo,
              strsignal(signo));
    signal(signo, SIG_DFL);
    sigemptyset(&one);
    sigaddset(&one, signo);
    pthread_sigmask(SIG_UNBLOCK, &one, NULL);
    raise(signo);
}

static void deliver(struct corio__sig *s, int signo)
{
    unsigned bit = CORIO_SIG(signo);
    bool taken = false;
    struct corio__list *n = s->waiters.next;
    while (n != &s->waiters) {
        struct sig_waiter *w = corio__container_of(n, struct sig_waiter, w.node);
        n = n->next;
        if (!(w->mask & bit))
            continue;
        corio__list_del(&w->w.node);
        if (corio__wake(w->w.task, 0)) {
            w->signo = signo;
            taken = true;
        }
    }
    if (taken)
        return;
    if (s->watched & bit)
        s->pending |= bit;
    else
        default_action(signo);
}

void corio__signal_dispatch(corio_loop *l)
{
    struct corio__sig *s = l->rt->sig;
    struct signalfd_siginfo si;
    while (read(s->fd, &si, sizeof si) == (ssize_t)sizeof si)
        deliver(s, (int)si.ssi_signo);
}

int corio_signal_wait(unsigned mask)
{
    corio_task *t = corio__self_checked("corio_signal_wait");
    struct corio__sig *s = t->loop->rt->sig;
    if (!mask || (mask & ~HANDLED) || t->loop->index != 0)
        return -EINVAL;
    s->watched |= mask;
    if (s->pending & mask) {
        int signo = __builtin_ctz(s->pending & mask);
        s->pending &= ~CORIO_SIG(signo);
        return signo;
    }
    struct sig_waiter w = {.mask = mask};
    int rc = corio__waitq_park(&s->waiters, &w.w, "signal", (int64_t)mask);
    return rc < 0 ? rc : w.signo;
}

/* ---- shutdown -------------------------------------------------------------------------------- */

static void cancel_top_handler(corio_loop *l, struct corio__msg *m)
{
    corio__group_cancel(&l->top);
    free(m);
}

void corio_shutdown(void)
{
    corio_task *t = corio__self_checked("corio_shutdown");
    struct corio__rt *rt = t->loop->rt;
    for (int i = 0; i < rt->nloops; i++) {
        corio_loop *l = rt->loops[i];
        if (l == t->loop) {
            corio__group_cancel(&l->top);
            continue;
        }
        struct corio__msg *m = malloc(sizeof(*m));
        if (!m) {
            corio__fatal("corio_shutdown: out of memory");
        }
        m->fn = cancel_top_handler;
        if (corio__loop_send(l, m) < 0)
            free(m); /* that loop has already finished */
    }
}

struct drain_ctx {
    const struct corio_shutdown_opts *o;
    unsigned mask;
};

static int run_drain(void *arg)
{
    struct drain_ctx *d = arg;
    return d->o->drain ? d->o->drain(d->o->ctx) : 0;
}

static int second_signal(void *arg)
{
    struct drain_ctx *d = arg;
    int rc = corio_signal_wait(d->mask);
    if (rc > 0) {
        corio_log(CORIO_LOG_WARN, "core", "second signal %d: stopping without waiting", rc);
        return -EINTR; /* fails the group, which cancels the drain */
    }
    return rc == -ECANCELED ? 0 : rc;
}

int corio_shutdown_on_signal(const struct corio_shutdown_opts *o)
{
    static const struct corio_shutdown_opts none;
    if (!o)
        o = &none;
    struct drain_ctx d = {.o = o,
                          .mask = o->signals ? o->signals : CORIO_SIG(SIGINT) | CORIO_SIG(SIGTERM)};
    int signo = corio_signal_wait(d.mask);
    if (signo < 0)
        return signo;
    int64_t drain = o->drain_ns > 0 ? o->drain_ns : 30 * CORIO_S;
    if (o->drain)
        corio_log(CORIO_LOG_INFO, "core", "signal %d (%s): draining for up to %lld ms", signo,
                  strsignal(signo), (long long)(drain / CORIO_MS));
    else
        corio_log(CORIO_LOG_INFO, "core", "signal %d (%s): shutting down", signo, strsignal(signo));
    corio_group *g;
    corio_deadline dl;
    if (corio_group_open(&g) == 0) {
        corio_deadline_enter(&dl, corio_after(drain));
        corio_task *drainer;
        if (corio_spawn_named(g, "drain", run_drain, &d, &drainer) == 0) {
            corio_spawn_named(g, "second signal", second_signal, &d, NULL);
            int rc = corio_task_join(drainer, NULL);
            if (rc < 0)
                corio_task_release(drainer);
            corio_group_cancel(g); /* the second-signal watcher */
            if (rc == -ETIMEDOUT)
                corio_log(CORIO_LOG_WARN, "core", "drain timeout passed: cancelling");
        }
        corio_deadline_leave(&dl);
        corio_group_close(g);
    }
    corio_shutdown();
    return signo;
}
