/* SPDX-License-Identifier: MIT */
/* examples/sync.c: semaphore, mutex, event and condition between the tasks of one loop.
 *
 * 1. A semaphore with 2 permits limits 5 "downloads" to 2 at a time.
 * 2. Hand-over: a released permit goes straight to the first waiter, so a try_acquire right
 *    after the release fails even though release was just called.
 * 3. A mutex keeps a two-step update (with a sleep in the middle) atomic for other tasks.
 * 4. An event is a one-shot "ready" gate for many waiters.
 * 5. A condition variable waits for a predicate (a counter reaching a value), in a loop.
 * Runs in about 50 ms and exits 0.
 */
#include <corio/core.h>
#include <corio/sync.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>

struct state {
    corio_sem *sem;
    corio_mutex *mu;
    corio_event *ready;
    corio_cond *cond;
    int running, max_running;
    int balance_a, balance_b; /* invariant under mu: a + b == 100 */
    int counter;
};

static struct state S;

static int download(void *arg)
{
    (void)arg;
    int rc = corio_sem_acquire(S.sem);
    if (rc < 0)
        return rc; /* nothing taken: do not release */
    if (++S.running > S.max_running)
        S.max_running = S.running;
    rc = corio_sleep(5 * CORIO_MS);
    S.running--;
    corio_sem_release(S.sem);
    return rc;
}

static int transfer(void *arg)
{
    int amount = (int)(intptr_t)arg;
    int rc = corio_mutex_lock(S.mu);
    if (rc < 0)
        return rc;
    S.balance_a -= amount;
    rc = corio_sleep(CORIO_MS); /* other tasks run here, but cannot see the half-done update */
    S.balance_b += amount;
    corio_mutex_unlock(S.mu);
    return rc;
}

static int auditor(void *arg)
{
    (void)arg;
    int rc = corio_mutex_lock(S.mu);
    if (rc < 0)
        return rc;
    printf("3. auditor sees a + b = %d\n", S.balance_a + S.balance_b);
    corio_mutex_unlock(S.mu);
    return 0;
}

static int gated(void *arg)
{
    int rc = corio_event_wait(S.ready); /* returns at once once set */
    printf("4. worker %d: %s\n", (int)(intptr_t)arg, rc == 0 ? "go" : corio_strerror(rc));
    return rc;
}

static int incrementer(void *arg)
{
    (void)arg;
    for (int i = 0; i < 5; i++) {
        int rc = corio_sleep(CORIO_MS);
        if (rc < 0)
            return rc;
        if ((rc = corio_mutex_lock(S.mu)) < 0)
            return rc;
        S.counter++;
        corio_cond_broadcast(S.cond);
        corio_mutex_unlock(S.mu);
    }
    return 0;
}

static int holder(void *arg) /* part 2: waits for the permit main holds */
{
    int *got = arg;
    int rc = corio_sem_acquire(S.sem);
    *got = rc == 0;
    if (rc == 0)
        corio_sem_release(S.sem);
    return rc;
}

static int main_task(void *arg)
{
    (void)arg;
    corio_group *g;
    int rc;
    if ((rc = corio_sem_new(2, &S.sem)) < 0 || (rc = corio_mutex_new(&S.mu)) < 0 ||
        (rc = corio_event_new(&S.ready)) < 0 || (rc = corio_cond_new(&S.cond)) < 0)
        return rc; /* (a real program would free what was created) */
    if ((rc = corio_group_open(&g)) < 0)
        return rc;

    for (int i = 0; i < 5; i++)
        corio_spawn(g, download, NULL);
    rc = corio_group_wait(g);
    printf("1. 5 downloads: %s, at most %d at a time\n", corio_strerror(rc), S.max_running);

    corio_sem *one;
    int got = 0;
    if ((rc = corio_sem_new(1, &one)) < 0)
        return rc;
    corio_sem *two = S.sem;
    S.sem = one;
    corio_sem_acquire(one);       /* we hold the only permit */
    corio_spawn(g, holder, &got); /* ... and a task queues for it */
    corio_sleep(CORIO_MS);
    corio_sem_release(one); /* handed to the waiter, not put back */
    printf("2. after release: value %zu, try_acquire: %s\n", corio_sem_value(one),
           corio_strerror(corio_sem_try_acquire(one)));
    corio_group_wait(g);
    printf("   the waiter got it: %s; value now %zu\n", got ? "yes" : "no", corio_sem_value(one));
    S.sem = two;
    corio_sem_free(one);

    S.balance_a = 100;
    for (int i = 0; i < 3; i++) {
        corio_spawn(g, transfer, (void *)(intptr_t)10);
        corio_spawn(g, auditor, NULL);
    }
    corio_group_wait(g);
    printf("3. final a = %d, b = %d\n", S.balance_a, S.balance_b);

    for (int i = 0; i < 3; i++)
        corio_spawn(g, gated, (void *)(intptr_t)i);
    corio_sleep(CORIO_MS);
    printf("4. setting the event\n");
    corio_event_set(S.ready);
    corio_group_wait(g);

    corio_spawn(g, incrementer, NULL);
    if ((rc = corio_mutex_lock(S.mu)) == 0) {
        int wakeups = 0;
        while (S.counter < 3 && rc == 0) {      /* re-check: it may have changed again */
            rc = corio_cond_wait(S.cond, S.mu); /* unlocks, waits, re-locks */
            wakeups++;
        }
        printf("5. counter reached %d after %d wake-ups: %s\n", S.counter, wakeups,
               corio_strerror(rc));
        corio_mutex_unlock(S.mu); /* held again, even when the wait failed */
    }
    corio_group_close(g);

    corio_cond_free(S.cond);
    corio_event_free(S.ready);
    corio_mutex_free(S.mu);
    corio_sem_free(S.sem);
    return rc;
}

int main(void)
{
    return corio_run(NULL, main_task, NULL) < 0 ? 1 : 0;
}
