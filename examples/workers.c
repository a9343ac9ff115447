/* SPDX-License-Identifier: MIT */
/* examples/workers.c: two worker loops (workers = 2), each on its own thread, sharing nothing.
 *
 * Every worker runs the same main function; corio_worker_id() tells them apart. Worker 0:
 *   - corio_loop_call(): runs a function as a task on worker 1 and waits for its result;
 *   - corio_loop_post(): sends a message to worker 1 without waiting; the posted task answers
 *     by posting back to worker 0, where the reply task sets an event that worker 0's main
 *     waits on (sync objects belong to one loop, so the reply must run on worker 0);
 *   - corio_shutdown(): cancels the top group of every loop, which ends the run.
 * Worker 1's main just waits until it is shut down. Runs in a few ms and exits 0.
 */
#include <corio/core.h>
#include <corio/signal.h>
#include <corio/sync.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

static corio_event *reply_seen; /* created and used by worker 0 only */

static int square_remote(void *arg) /* runs on worker 1, called from worker 0 */
{
    int *v = arg; /* the caller's stack: valid until corio_loop_call returns */
    printf("worker %d: squaring %d\n", corio_worker_id(), *v);
    return *v * *v;
}

static int reply(void *arg) /* posted to worker 0 by worker 1 */
{
    char *text = arg; /* ownership passed with the post */
    printf("worker %d: reply received: \"%s\"\n", corio_worker_id(), text);
    free(text);
    corio_event_set(reply_seen);
    return 0;
}

static int greet(void *arg) /* posted to worker 1 by worker 0 */
{
    char *text = arg;
    printf("worker %d: message received: \"%s\"\n", corio_worker_id(), text);
    free(text);
    char *answer = malloc(16);
    if (!answer)
        return -ENOMEM;
    snprintf(answer, 16, "hello from %d", corio_worker_id());
    int rc = corio_loop_post(corio_worker_loop(0), reply, answer);
    if (rc < 0)
        free(answer); /* not posted: still ours */
    return rc;
}

static int worker_main(void *arg)
{
    (void)arg;
    if (corio_worker_id() != 0) {
        /* Idle until corio_shutdown(): then the sleep returns -ECANCELED. */
        int rc = corio_sleep(3600 * CORIO_S);
        printf("worker %d: %s, exiting\n", corio_worker_id(), corio_strerror(rc));
        return rc == -ECANCELED ? 0 : rc; /* a non-negative result: a clean stop */
    }
    corio_loop *w1 = corio_worker_loop(1);
    int v = 7, sq = 0;
    int rc = corio_loop_call(w1, square_remote, &v, &sq);
    printf("worker 0: corio_loop_call: %s, 7 squared on worker 1 = %d\n", corio_strerror(rc), sq);

    if ((rc = corio_event_new(&reply_seen)) < 0)
        return rc;
    char *msg = malloc(16);
    if (!msg)
        return -ENOMEM;
    snprintf(msg, 16, "ping from 0");
    if ((rc = corio_loop_post(w1, greet, msg)) < 0) {
        free(msg);
        return rc;
    }
    corio_deadline dl;
    corio_deadline_enter(&dl, corio_after(CORIO_S));
    rc = corio_event_wait(reply_seen);
    corio_deadline_leave(&dl);
    corio_event_free(reply_seen);
    printf("worker 0: round trip %s; shutting down every worker\n", corio_strerror(rc));
    corio_shutdown();
    return rc;
}

int main(void)
{
    struct corio_run_opts o = {.workers = 2};
    int rc = corio_run(&o, worker_main, NULL);
    printf("corio_run: %s\n", corio_strerror(rc));
    return rc < 0 ? 1 : 0;
}
