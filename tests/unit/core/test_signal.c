/* SPDX-License-Identifier: MIT */
/* Signals read through the loop, and the graceful-shutdown helper. Signals are sent with kill()
 * to the process itself; the signalfd makes them ordinary loop events, so the order of events
 * is deterministic.
 */
#include "test.h"

#include "corio/core.h"
#include "corio/signal.h"

#include <errno.h>
#include <signal.h>
#include <unistd.h>

static const struct corio_run_opts VT = {.virtual_time = true, .watchdog_ns = -1};

#define RUN(fn, arg) ASSERT_EQ(corio_run(&VT, (fn), (arg)), 0)

static int wait_usr1(void *arg)
{
    int *got = arg;
    *got = corio_signal_wait(CORIO_SIG(SIGUSR1) | CORIO_SIG(SIGHUP));
    return 0;
}

static int t_deliver(void *arg)
{
    int got = 0;
    corio_task *t;
    (void)arg;
    ASSERT_EQ(corio_spawn_task(NULL, wait_usr1, &got, &t), 0);
    ASSERT_EQ(corio_yield(), 0);
    ASSERT_EQ(kill(getpid(), SIGUSR1), 0);
    ASSERT_EQ(corio_task_join(t, NULL), 0);
    ASSERT_EQ(got, SIGUSR1);
    return 0;
}
TEST(signal_is_delivered_to_waiting_task)
{
    RUN(t_deliver, NULL);
}

static int t_pending(void *arg)
{
    corio_deadline d;
    (void)arg;
    /* Watch SIGHUP by waiting once (briefly), then let two arrive while nobody waits. */
    corio_deadline_enter(&d, corio_after(CORIO_MS));
    ASSERT_EQ(corio_signal_wait(CORIO_SIG(SIGHUP)), -ETIMEDOUT);
    corio_deadline_leave(&d);
    ASSERT_EQ(kill(getpid(), SIGHUP), 0);
    ASSERT_EQ(corio_sleep(CORIO_MS), 0);
    int64_t t0 = corio_now();
    ASSERT_EQ(corio_signal_wait(CORIO_SIG(SIGHUP)), SIGHUP); /* kept pending, returned at once */
    ASSERT_EQ(corio_now(), t0);
    return 0;
}
TEST(watched_signal_without_waiter_stays_pending)
{
    RUN(t_pending, NULL);
}

static int t_cancel(void *arg)
{
    int got = 0;
    corio_task *t;
    (void)arg;
    ASSERT_EQ(corio_spawn_task(NULL, wait_usr1, &got, &t), 0);
    ASSERT_EQ(corio_yield(), 0);
    corio_task_cancel(t);
    ASSERT_EQ(corio_task_join(t, NULL), 0);
    ASSERT_EQ(got, -ECANCELED);
    ASSERT_EQ(corio_signal_wait(CORIO_SIG(SIGKILL)), -EINVAL);
    ASSERT_EQ(corio_signal_wait(0), -EINVAL);
    return 0;
}
TEST(signal_wait_cancel_and_bad_mask)
{
    RUN(t_cancel, NULL);
}

static int t_unwatched(void *arg)
{
    (void)arg;
    kill(getpid(), SIGTERM); /* nobody waits for it: the default action ends the process */
    return corio_sleep(CORIO_S);
}
TEST_EXPECT_SIGNAL(unwatched_signal_keeps_default_action, SIGTERM)
{
    corio_run(&VT, t_unwatched, NULL);
}

/* ---- graceful shutdown ---------------------------------------------------------------------- */

struct svc {
    int inflight_done; /* requests that completed during the drain */
    int drained;       /* drain callback result */
    int worker_rc;     /* background worker's end */
    int signo;
    int64_t drain_started, ended;
    int64_t request_ns; /* how long an in-flight request takes */
};

static int request(void *arg)
{
    struct svc *s = arg;
    int rc = corio_sleep(s->request_ns);
    if (rc == 0)
        s->inflight_done++;
    return rc;
}

static corio_group *requests; /* the "server's" in-flight requests */

static int drain(void *ctx)
{
    struct svc *s = ctx;
    s->drain_started = corio_now();
    /* Stop accepting (nothing to do here) and wait for the requests in flight. */
    s->drained = corio_group_wait(requests);
    return s->drained;
}

static int background(void *arg)
{
    struct svc *s = arg;
    s->worker_rc = corio_sleep(1000 * CORIO_S);
    return 0;
}

static int shutdown_task(void *arg)
{
    struct svc *s = arg;
    struct corio_shutdown_opts o = {.drain_ns = 10 * CORIO_S, .drain = drain, .ctx = s};
    s->signo = corio_shutdown_on_signal(&o);
    return 0;
}

static int service_main(void *arg)
{
    struct svc *s = arg;
    ASSERT_EQ(corio_group_open(&requests), 0);
    for (int i = 0; i < 3; i++)
        ASSERT_EQ(corio_spawn(requests, request, s), 0);
    ASSERT_EQ(corio_spawn(NULL, background, s), 0);
    ASSERT_EQ(corio_spawn(NULL, shutdown_task, s), 0);
    ASSERT_EQ(corio_yield(), 0);
    ASSERT_EQ(kill(getpid(), SIGTERM), 0);
    int rc = corio_sleep(10000 * CORIO_S); /* the service runs until shutdown cancels it */
    s->ended = corio_now();
    corio_group_close(requests);
    return rc == -ECANCELED ? 0 : -EIO;
}

TEST(sigterm_drains_in_flight_work_then_cancels_everything)
{
    struct svc s = {.request_ns = 2 * CORIO_S};
    RUN(service_main, &s);
    ASSERT_EQ(s.signo, SIGTERM);
    ASSERT_EQ(s.inflight_done, 3); /* in-flight requests completed */
    ASSERT_EQ(s.drained, 0);
    ASSERT_EQ(s.worker_rc, -ECANCELED);
    ASSERT_EQ(s.ended - s.drain_started, 2 * CORIO_S);
}

TEST(drain_timeout_cuts_slow_requests)
{
    struct svc s = {.request_ns = 60 * CORIO_S}; /* longer than the 10 s drain */
    RUN(service_main, &s);
    ASSERT_EQ(s.inflight_done, 0);
    ASSERT_EQ(s.drained, -ETIMEDOUT);
    ASSERT_EQ(s.ended - s.drain_started, 10 * CORIO_S);
}

static int second_kill(void *arg)
{
    (void)arg;
    corio_sleep(CORIO_S);
    kill(getpid(), SIGINT);
    return 0;
}

static int impatient_main(void *arg)
{
    struct svc *s = arg;
    ASSERT_EQ(corio_spawn(NULL, second_kill, NULL), 0);
    return service_main(s);
}

TEST(second_signal_stops_without_waiting)
{
    struct svc s = {.request_ns = 60 * CORIO_S};
    RUN(impatient_main, &s);
    ASSERT_EQ(s.inflight_done, 0);
    ASSERT_EQ(s.ended - s.drain_started, CORIO_S);
}
