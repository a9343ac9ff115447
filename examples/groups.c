/* SPDX-License-Identifier: MIT */
/* examples/groups.c: structured concurrency with task groups.
 *
 * 1. The first child that fails cancels its siblings; corio_group_wait() returns its error.
 * 2. Cancelling a task cancels the groups it owns, so its children stop too.
 * 3. A task that returns with a group still open has it closed for it: the children are
 *    cancelled and reaped before the task counts as finished.
 * 4. A background task in the top group runs until the main task returns; then the run
 *    cancels it and waits for it before corio_run() returns.
 * Runs in about 60 ms and exits 0.
 */
#include <corio/core.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>

static int sleep_then(void *arg) /* sleeps arg ms; reports how it ended */
{
    int ms = (int)(intptr_t)arg;
    int rc = corio_sleep(ms * CORIO_MS);
    printf("  child (%d ms): %s\n", ms, corio_strerror(rc));
    return rc;
}

static int fail_after_10ms(void *arg)
{
    (void)arg;
    corio_sleep(10 * CORIO_MS);
    printf("  child (fails): returning -EIO\n");
    return -EIO;
}

static int owner(void *arg) /* owns a group; used by parts 2 and 3 */
{
    bool wait = arg != NULL;
    corio_group *g;
    int rc = corio_group_open(&g);
    if (rc < 0)
        return rc;
    corio_spawn(g, sleep_then, (void *)(intptr_t)1000);
    corio_spawn(g, sleep_then, (void *)(intptr_t)2000);
    if (!wait)
        return 0; /* part 3: g is still open; corio closes it for us */
    rc = corio_group_wait(g);
    printf("  owner: group wait: %s\n", corio_strerror(rc));
    corio_group_close(g);
    return rc;
}

static int background(void *arg)
{
    (void)arg;
    int rc = corio_sleep(3600 * CORIO_S);
    printf("background: %s at the end of the run\n", corio_strerror(rc));
    return rc;
}

static int main_task(void *arg)
{
    (void)arg;
    corio_group *g;
    corio_task *t;
    int rc, res = 0;

    printf("1. first failure cancels the siblings\n");
    if ((rc = corio_group_open(&g)) < 0)
        return rc;
    corio_spawn(g, sleep_then, (void *)(intptr_t)1000);
    corio_spawn(g, fail_after_10ms, NULL);
    corio_spawn(g, sleep_then, (void *)(intptr_t)1000);
    rc = corio_group_wait(g);
    printf("  group wait: %s\n", corio_strerror(rc));
    corio_group_close(g);

    printf("2. cancelling the owner cancels its group\n");
    if ((rc = corio_spawn_task(NULL, owner, "wait", &t)) < 0)
        return rc;
    corio_sleep(10 * CORIO_MS);
    corio_task_cancel(t);
    if (corio_task_join(t, &res) < 0)
        corio_task_release(t);
    printf("  owner returned: %s\n", corio_strerror(res));

    printf("3. a group left open is closed when its owner returns\n");
    if ((rc = corio_spawn_task(NULL, owner, NULL, &t)) < 0)
        return rc;
    if (corio_task_join(t, &res) < 0) /* returns after the owner's children are gone */
        corio_task_release(t);
    printf("  owner returned: %s\n", corio_strerror(res));

    printf("4. a background task lives in the top group\n");
    corio_spawn(NULL, background, NULL);
    corio_sleep(10 * CORIO_MS);
    printf("main: returning\n");
    return 0;
}

int main(void)
{
    int rc = corio_run(NULL, main_task, NULL);
    printf("corio_run: %s\n", corio_strerror(rc));
    return rc < 0 ? 1 : 0;
}
