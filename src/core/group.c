/* SPDX-License-Identifier: MIT */
/* Task groups: structured concurrency. A group is owned by the task that opened it (or by the
 * loop, for the top group). Children are linked on the group; the first child that fails
 * records its error and cancels the others; the owner waits for all of them.
 *
 * Invariant: a group is freed only by corio_group_close(), which first waits until it has no
 * children, so no child outlives it. A task that finishes with groups still open has them
 * closed by task_finish() before its own end is reported.
 */
#include "core_int.h"

#include <errno.h>

void corio__group_init(corio_group *g, corio_loop *l, corio_task *owner)
{
    g->loop = l;
    g->owner = owner;
    corio__list_init(&g->children);
    corio__list_init(&g->waiters);
    corio__list_init(&g->onode);
    g->nchildren = 0;
    g->err = 0;
    g->cancelled = false;
    g->closing = false;
}

void corio__group_cancel(corio_group *g)
{
    g->cancelled = true;
    /* corio_task_cancel never unlinks a child, so walking the list is safe. */
    for (struct corio__list *n = g->children.next; n != &g->children; n = n->next)
        corio_task_cancel(corio__container_of(n, corio_task, gnode));
}

void corio__group_child_done(corio_group *g, corio_task *t)
{
    corio__list_del(&t->gnode);
    g->nchildren--;
    /* A child that was asked to cancel and says so is not a failure; any other negative
     * result is, and the first one cancels the siblings. */
    bool failed = t->result < 0 && !(t->result == -ECANCELED && t->cancelled);
    if (failed && g == &g->loop->top && !t->is_main && t->refs == 1) {
        /* A background task nobody holds a handle to: nobody else will see the error. */
        corio_log(CORIO_LOG_WARN, "core",
                  "background task '%s' (id %llu, spawned at %s) failed: %s", t->name,
                  (unsigned long long)t->id, t->site ? t->site : "?", corio_strerror(t->result));
    } else if (failed && g->err == 0 && g != &g->loop->top) {
        /* The top group never fails fast: one background task's error must not stop the
         * service; whoever joins it gets the error. */
        g->err = t->result;
        corio__group_cancel(g);
    }
    if (g->nchildren == 0)
        corio__waitq_wake_all(&g->waiters, 0);
}

int corio_group_open(corio_group **out)
{
    corio_task *t = corio__self_checked("corio_group_open");
    corio_group *g = malloc(sizeof(*g));
    *out = NULL;
    if (!g)
        return -ENOMEM;
    corio__group_init(g, t->loop, t);
    corio__list_push(&t->owned, &g->onode);
    if (t->cancelled)
        g->cancelled = true;
    *out = g;
    return 0;
}

static int group_result(const corio_group *g)
{
    if (g->err)
        return g->err;
    return g->cancelled ? -ECANCELED : 0;
}

/* Waits for nchildren == 0 without obeying cancellation or deadlines. */
static void wait_empty(corio_group *g)
{
    corio_deadline shield;
    corio__shield_forever(&shield);
    while (g->nchildren > 0) {
        struct corio__waiter w = {.data = NULL};
        corio__waitq_park(&g->waiters, &w, "group close", (int64_t)g->nchildren);
    }
    corio_deadline_leave(&shield);
}

int corio_group_wait(corio_group *g)
{
    corio_task *t = corio__self_checked("corio_group_wait");
    /* Any task of the loop may wait (a drain step waits for a server's connections), but
     * never a child for its own group: it would wait for itself. */
    CORIO_ASSERT(t->loop == g->loop && t->group != g);
    while (g->nchildren > 0) {
        struct corio__waiter w = {.data = NULL};
        int rc = corio__waitq_park(&g->waiters, &w, "group wait", (int64_t)g->nchildren);
        if (rc < 0) {
            corio__group_cancel(g);
            wait_empty(g);
            return rc;
        }
    }
    return group_result(g);
}

void corio_group_cancel(corio_group *g)
{
    corio__group_cancel(g);
}

int corio_group_close(corio_group *g)
{
    corio_task *t = corio__self_checked("corio_group_close");
    CORIO_ASSERT(g->owner == t && !g->closing);
    g->closing = true;
    if (g->nchildren > 0) {
        corio__group_cancel(g);
        wait_empty(g);
    }
    int rc = group_result(g);
    corio__list_del(&g->onode);
    free(g);
    return rc;
}

size_t corio_group_size(const corio_group *g)
{
    return g->nchildren;
}

corio_group *corio_top_group(void)
{
    corio_loop *l = corio__tls_loop;
    if (!l)
        corio__fatal("corio_top_group called outside a corio loop");
    return &l->top;
}
