/* SPDX-License-Identifier: MIT */
/* Internal checkers of the synchronisation objects (sync.c, chan.c), for tests: each returns 0
 * when the object's invariants hold and otherwise the source line of the first broken check,
 * so a failing test can say which one. They walk the wait lists, so they cost O(waiters).
 */
#ifndef CORIO_SYNC_INT_H
#define CORIO_SYNC_INT_H

#include "core_int.h"
#include "corio/sync.h"

/* True if some waiter on q belongs to a task still parked there. Entries of tasks already woken
 * by a timeout or a cancel stay linked until those tasks run and unlink themselves; they wait
 * for nothing any more. */
static inline bool corio__waitq_any_waiting(const struct corio__list *q)
{
    for (const struct corio__list *n = q->next; n != q; n = n->next)
        if (corio__container_of(n, struct corio__waiter, node)->task->state == CORIO__WAITING)
            return true;
    return false;
}

/* Before an object is freed: aborts if a task is parked on q, and unlinks the entries of tasks
 * a timeout or cancel already woke. Those tasks no longer need the object (they find their
 * waiter unlinked and return their error), so "cancel the waiter, then free" needs no join. */
static inline void corio__waitq_drop_idle(struct corio__list *q)
{
    CORIO_ASSERT(!corio__waitq_any_waiting(q) && "freed while a task waits on it");
    while (!corio__list_empty(q))
        corio__list_del(q->next);
}

int corio__chan_validate(const corio_chan *c);
int corio__sem_validate(const corio_sem *s);
int corio__mutex_validate(const corio_mutex *m);

#endif
