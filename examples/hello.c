/* SPDX-License-Identifier: MIT */
/* examples/hello.c: the README example. The main task opens a group, spawns three tasks that
 * sleep 100, 200 and 300 ms, and waits for them under a 250 ms deadline. The first two finish;
 * the third is still sleeping when the deadline passes, so the group wait returns -ETIMEDOUT
 * and the group is cancelled. Runs in about 250 ms and exits 0.
 */
#include <corio/core.h>
#include <stdint.h>
#include <stdio.h>

static int fetch(void *arg)
{
    int ms = (int)(intptr_t)arg;
    int rc = corio_sleep(ms * CORIO_MS); /* parks this task; the others run */
    if (rc < 0)
        return rc; /* -ETIMEDOUT: the deadline inherited from main passed */
    printf("fetch %d ms: done\n", ms);
    return 0;
}

static int main_task(void *arg)
{
    (void)arg;
    corio_group *g;
    corio_deadline dl;
    int rc = corio_group_open(&g);
    if (rc < 0)
        return rc;
    corio_deadline_enter(&dl, corio_after(250 * CORIO_MS));
    for (int ms = 100; ms <= 300 && rc == 0; ms += 100)
        rc = corio_spawn(g, fetch, (void *)(intptr_t)ms); /* children inherit the deadline */
    if (rc == 0)
        rc = corio_group_wait(g); /* 0, or the first failure: here -ETIMEDOUT */
    bool late = corio_deadline_leave(&dl);
    printf("group: %s%s\n", corio_strerror(rc), late ? " (our 250 ms deadline)" : "");
    corio_group_close(g);
    return 0;
}

int main(void)
{
    int rc = corio_run(NULL, main_task, NULL);
    return rc < 0 ? 1 : 0;
}
