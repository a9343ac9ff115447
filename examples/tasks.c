/* SPDX-License-Identifier: MIT */
/* examples/tasks.c: the live task listing (what a /debug/tasks endpoint serves) and the loop
 * counters.
 *
 * The main task starts a few tasks that park in different ways (a sleep under a deadline, a
 * channel get, a join, a group wait), lets them run until they park, then prints one line per
 * live task with corio_tasks_foreach(), and the loop's counters. Then it closes the group,
 * which cancels them all. Runs in a few ms and exits 0.
 */
#include <corio/core.h>
#include <corio/diag.h>
#include <corio/sync.h>
#include <inttypes.h>
#include <stdio.h>

static int sleeper(void *arg)
{
    (void)arg;
    corio_deadline dl;
    corio_deadline_enter(&dl, corio_after(5 * CORIO_S));
    int rc = corio_sleep(3600 * CORIO_S); /* the listing shows the 5 s deadline */
    corio_deadline_leave(&dl);
    return rc;
}

static int reader(void *arg)
{
    int item;
    return corio_chan_get(arg, &item);
}

static int joiner(void *arg)
{
    int rc = corio_task_join(arg, NULL); /* waits for the sleeper; releases the handle */
    if (rc < 0)
        corio_task_release(arg); /* cancelled while joining: the handle is still ours */
    return rc;
}

static int nested(void *arg) /* owns a group with one child and waits for it */
{
    corio_group *g;
    int rc = corio_group_open(&g);
    if (rc < 0)
        return rc;
    if ((rc = corio_spawn_named(g, "grandchild", reader, arg, NULL)) == 0)
        rc = corio_group_wait(g);
    corio_group_close(g);
    return rc;
}

static int print_task(void *ctx, const struct corio_task_info *ti)
{
    int64_t now = *(const int64_t *)ctx;
    char dl[32] = "-";
    if (ti->deadline_ns != CORIO_FOREVER)
        snprintf(dl, sizeof dl, "in %" PRId64 " ms", (ti->deadline_ns - now) / CORIO_MS);
    char wait[32] = "";
    if (ti->waits_on && ti->wait_arg) /* the detail: task id joined, fd, children left... */
        snprintf(wait, sizeof wait, "%s %" PRId64, ti->waits_on, ti->wait_arg);
    else if (ti->waits_on)
        snprintf(wait, sizeof wait, "%s", ti->waits_on);
    printf("%3" PRIu64 " %-11s %-8s %-16s %-10s parent %-2" PRIu64 " %s\n", ti->id, ti->name,
           ti->state, wait, dl, ti->parent_id, ti->site);
    return 0; /* non-zero would stop the walk */
}

static int main_task(void *arg)
{
    (void)arg;
    corio_chan *ch;
    corio_group *g;
    corio_task *sl;
    int rc;
    if ((rc = corio_chan_new(sizeof(int), 1, &ch)) < 0)
        return rc;
    if ((rc = corio_group_open(&g)) < 0) {
        corio_chan_free(ch);
        return rc;
    }
    if ((rc = corio_spawn_task(g, sleeper, NULL, &sl)) == 0) {
        corio_spawn(g, reader, ch);
        corio_spawn_named(g, "joiner", joiner, sl, NULL); /* the joiner takes over the handle */
        corio_spawn_named(g, "nested", nested, ch, NULL);
    }
    corio_sleep(CORIO_MS); /* let them all start and park */

    int64_t now = corio_now();
    printf(" id name        state    waits on         deadline   parent    spawned at\n");
    size_t n = corio_tasks_foreach(print_task, &now);
    struct corio_loop_stats st;
    corio_loop_stats(&st);
    printf("%zu tasks; loop: %" PRIu64 " spawned, %" PRIu64 " switches, %" PRIu64
           " timers pending, %" PRIu64 " stacks mapped\n",
           n, st.spawned, st.switches, st.timers, st.stacks_mapped);

    rc = corio_group_close(g); /* cancels every child, waits for them */
    printf("group closed: %s; still alive:\n", corio_strerror(rc));
    corio_tasks_foreach(print_task, &now);
    corio_chan_free(ch);
    return 0;
}

int main(void)
{
    return corio_run(NULL, main_task, NULL) < 0 ? 1 : 0;
}
