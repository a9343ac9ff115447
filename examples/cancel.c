/* SPDX-License-Identifier: MIT */
/* examples/cancel.c: cancellation and shielded cleanup.
 *
 * Two tasks run in a group: a "session" that blocks (it sleeps between requests) and a
 * CPU-bound "crunch" that yields now and then. After 100 ms the main task cancels the group.
 * The session's blocking call returns -ECANCELED; from then on every blocking call fails at
 * once, so its cleanup (which has to block: it "sends a goodbye") runs inside a shield with a
 * 50 ms budget of its own. The CPU-bound task sees the cancellation at its next corio_yield().
 * Runs in about 120 ms and exits 0.
 */
#include <corio/core.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>

struct session {
    int requests;
    bool open;
};

static int session(void *arg)
{
    struct session *s = arg;
    int rc;
    while ((rc = corio_sleep(40 * CORIO_MS)) == 0) /* "wait for the next request" */
        printf("session: request %d\n", ++s->requests);
    /* rc is -ECANCELED. Every later blocking call fails the same way, at once: */
    printf("session: %s; another sleep now returns: %s\n", corio_strerror(rc),
           corio_strerror(corio_sleep(CORIO_MS)));

    /* Cleanup that blocks goes in a shield: cancellation and outer deadlines are ignored
     * inside, and only the shield's own deadline applies. */
    corio_deadline shield;
    corio_shield_enter(&shield, corio_after(50 * CORIO_MS));
    printf("session: in shield: corio_cancelled() = %s, corio_check() = %s\n",
           corio_cancelled() ? "true" : "false", corio_strerror(corio_check()));
    int crc = corio_sleep(20 * CORIO_MS); /* "send goodbye, flush" */
    s->open = false;
    bool over_budget = corio_deadline_leave(&shield);
    printf("session: goodbye sent: %s%s\n", corio_strerror(crc),
           over_budget ? " (cleanup budget ran out)" : "");
    return rc; /* -ECANCELED after a cancel is not counted as a failure of the group */
}

static uint64_t crunch_sink; /* keeps the computation from being optimised away */

static int crunch(void *arg)
{
    uint64_t *rounds = arg;
    uint64_t x = 1;
    for (;;) {
        for (int i = 0; i < 100000; i++)
            x = x * 6364136223846793005u + 1442695040888963407u;
        ++*rounds;
        crunch_sink = x;
        /* Nothing can cancel a task that never gives the loop back. A yield lets the others
         * run and returns -ECANCELED (or -ETIMEDOUT) when it is time to stop. */
        int rc = corio_yield();
        if (rc < 0) {
            printf("crunch: stopped at a yield: %s\n", corio_strerror(rc));
            return rc;
        }
    }
}

static int main_task(void *arg)
{
    (void)arg;
    struct session s = {.open = true};
    uint64_t rounds = 0;
    corio_group *g;
    corio_task *st, *ct;
    int rc = corio_group_open(&g);
    if (rc < 0)
        return rc;
    if ((rc = corio_spawn_task(g, session, &s, &st)) < 0)
        goto out;
    if ((rc = corio_spawn_task(g, crunch, &rounds, &ct)) < 0) {
        corio_task_release(st);
        goto out;
    }
    corio_sleep(100 * CORIO_MS);
    printf("main: cancelling the group\n");
    corio_group_cancel(g); /* does not wait: the tasks stop at their next blocking call */

    int sres = 0, cres = 0;
    if (corio_task_join(st, &sres) < 0) /* join waits, and on success releases the handle */
        corio_task_release(st);         /* on failure (we were cancelled) it is still ours */
    if (corio_task_join(ct, &cres) < 0)
        corio_task_release(ct);
    printf("main: session returned %s (connection %s), crunch returned %s\n", corio_strerror(sres),
           s.open ? "open" : "closed", corio_strerror(cres));
out:
    rc = corio_group_close(g);
    printf("main: corio_group_close: %s\n", corio_strerror(rc));
    return rc == -ECANCELED ? 0 : rc; /* we cancelled it ourselves */
}

int main(void)
{
    return corio_run(NULL, main_task, NULL) < 0 ? 1 : 0;
}
