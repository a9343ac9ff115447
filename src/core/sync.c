/* SPDX-License-Identifier: MIT */
/* Semaphore, mutex, event and condition variable for the tasks of one loop (corio/sync.h).
 *
 * All four are a counter or flag plus a FIFO wait list of struct corio__waiter. A resource is
 * handed over, never left for the woken task to grab: release/unlock unlink the first waiter
 * whose task is still parked (corio__waitq_wake_one skips the ones a timeout or cancel already
 * woke), give it the permit or the lock and wake it with code 0. So a newcomer can never barge
 * past a waiter, a woken task finds its resource already its own, and a waiter that returns an
 * error took nothing.
 *
 * Invariant (semaphore): value > 0 => no task is parked on waiters.
 * Invariant (mutex): owner == NULL => no task is parked on waiters; the owner is never on them.
 *
 * Every call that may suspend first fails with corio_check()'s error even when it could
 * complete at once, so a cancelled task's loop around acquire/lock/wait stops (libdill does the
 * same); the try_ variants never check.
 *
 * Deliberately not here: recursive or reader/writer locks, priority inheritance, use from
 * another loop (every operation asserts it runs on the object's loop), and freeing an object
 * a task is parked on (aborts; a waiter already woken by a cancel or timeout is no obstacle).
 * Channels are in chan.c.
 */
#include "sync_int.h"

#include <errno.h>

/* Every object remembers its loop; using it from another thread would corrupt its lists. */
#define CHECK_LOOP(o) CORIO_ASSERT((o)->loop == corio__tls_loop)

static corio_loop *creating_loop(const char *fn)
{
    return corio__self_checked(fn)->loop;
}

/* ---- semaphore ------------------------------------------------------------------------------- */

struct corio_sem {
    corio_loop *loop;
    size_t value;               /* free permits */
    struct corio__list waiters; /* corio__waiter of corio_sem_acquire, FIFO */
};

int corio_sem_new(size_t value, corio_sem **out)
{
    corio_loop *l = creating_loop("corio_sem_new");
    corio_sem *s = malloc(sizeof(*s));
    *out = NULL;
    if (!s)
        return -ENOMEM;
    s->loop = l;
    s->value = value;
    corio__list_init(&s->waiters);
    *out = s;
    return 0;
}

void corio_sem_free(corio_sem *s)
{
    if (!s)
        return;
    CHECK_LOOP(s);
    corio__waitq_drop_idle(&s->waiters);
    free(s);
}

int corio_sem_acquire(corio_sem *s)
{
    CHECK_LOOP(s);
    int rc = corio_check();
    if (rc < 0 || corio_sem_try_acquire(s) == 0)
        return rc;
    /* 0 means release() handed us its permit; any error means we took nothing. */
    struct corio__waiter w = {.data = NULL};
    return corio__waitq_park(&s->waiters, &w, "sem", 0);
}

int corio_sem_try_acquire(corio_sem *s)
{
    CHECK_LOOP(s);
    /* No barging past a parked waiter. By the invariant the list walk only runs when the list
     * is empty (release empties it before it counts a permit), so it costs nothing; it guards
     * the invariant rather than relying on it. */
    if (s->value == 0 || corio__waitq_any_waiting(&s->waiters))
        return -EAGAIN;
    s->value--;
    return 0;
}

void corio_sem_release(corio_sem *s)
{
    CHECK_LOOP(s);
    if (!corio__waitq_wake_one(&s->waiters, 0))
        s->value++;
}

size_t corio_sem_value(const corio_sem *s)
{
    CHECK_LOOP(s);
    return s->value;
}

int corio__sem_validate(const corio_sem *s)
{
    if (s->value > 0 && corio__waitq_any_waiting(&s->waiters))
        return __LINE__;
    return 0;
}

/* ---- mutex ----------------------------------------------------------------------------------- */

struct corio_mutex {
    corio_loop *loop;
    corio_task *owner;          /* holder, or NULL */
    struct corio__list waiters; /* corio__waiter of corio_mutex_lock, FIFO */
};

int corio_mutex_new(corio_mutex **out)
{
    corio_loop *l = creating_loop("corio_mutex_new");
    corio_mutex *m = malloc(sizeof(*m));
    *out = NULL;
    if (!m)
        return -ENOMEM;
    m->loop = l;
    m->owner = NULL;
    corio__list_init(&m->waiters);
    *out = m;
    return 0;
}

void corio_mutex_free(corio_mutex *m)
{
    if (!m)
        return;
    CHECK_LOOP(m);
    corio__waitq_drop_idle(&m->waiters);
    free(m);
}

int corio_mutex_lock(corio_mutex *m)
{
    corio_task *self = corio__self_checked("corio_mutex_lock");
    CHECK_LOOP(m);
    CORIO_ASSERT(m->owner != self); /* not recursive: this would wait forever */
    int rc = corio_check();
    if (rc < 0 || corio_mutex_try_lock(m) == 0)
        return rc;
    /* 0 means unlock() made us the owner before waking us. */
    struct corio__waiter w = {.data = NULL};
    return corio__waitq_park(&m->waiters, &w, "mutex", 0);
}

int corio_mutex_try_lock(corio_mutex *m)
{
    corio_task *self = corio__self_checked("corio_mutex_try_lock");
    CHECK_LOOP(m);
    if (m->owner || corio__waitq_any_waiting(&m->waiters)) /* no barging, as for the sem */
        return -EBUSY;
    m->owner = self;
    return 0;
}

void corio_mutex_unlock(corio_mutex *m)
{
    corio_task *self = corio__self_checked("corio_mutex_unlock");
    CHECK_LOOP(m);
    CORIO_ASSERT(m->owner == self);
    struct corio__waiter *w = corio__waitq_wake_one(&m->waiters, 0);
    m->owner = w ? w->task : NULL;
}

int corio__mutex_validate(const corio_mutex *m)
{
    if (!m->owner && corio__waitq_any_waiting(&m->waiters))
        return __LINE__;
    for (const struct corio__list *n = m->waiters.next; n != &m->waiters; n = n->next)
        if (corio__container_of(n, struct corio__waiter, node)->task == m->owner)
            return __LINE__;
    return 0;
}

/* ---- event ----------------------------------------------------------------------------------- */

struct corio_event {
    corio_loop *loop;
    bool set;
    struct corio__list waiters; /* corio__waiter of corio_event_wait */
};

int corio_event_new(corio_event **out)
{
    corio_loop *l = creating_loop("corio_event_new");
    corio_event *e = malloc(sizeof(*e));
    *out = NULL;
    if (!e)
        return -ENOMEM;
    e->loop = l;
    e->set = false;
    corio__list_init(&e->waiters);
    *out = e;
    return 0;
}

void corio_event_free(corio_event *e)
{
    if (!e)
        return;
    CHECK_LOOP(e);
    corio__waitq_drop_idle(&e->waiters);
    free(e);
}

void corio_event_set(corio_event *e)
{
    CHECK_LOOP(e);
    e->set = true;
    corio__waitq_wake_all(&e->waiters, 0);
}

void corio_event_clear(corio_event *e)
{
    CHECK_LOOP(e);
    e->set = false;
}

bool corio_event_is_set(const corio_event *e)
{
    CHECK_LOOP(e);
    return e->set;
}

int corio_event_wait(corio_event *e)
{
    CHECK_LOOP(e);
    int rc = corio_check();
    if (rc < 0 || e->set)
        return rc;
    /* A set() followed by clear() before we run still counts: we were woken by the set. */
    struct corio__waiter w = {.data = NULL};
    return corio__waitq_park(&e->waiters, &w, "event", 0);
}

/* ---- condition ------------------------------------------------------------------------------- */

struct corio_cond {
    corio_loop *loop;
    struct corio__list waiters; /* corio__waiter of corio_cond_wait, FIFO */
};

int corio_cond_new(corio_cond **out)
{
    corio_loop *l = creating_loop("corio_cond_new");
    corio_cond *c = malloc(sizeof(*c));
    *out = NULL;
    if (!c)
        return -ENOMEM;
    c->loop = l;
    corio__list_init(&c->waiters);
    *out = c;
    return 0;
}

void corio_cond_free(corio_cond *c)
{
    if (!c)
        return;
    CHECK_LOOP(c);
    corio__waitq_drop_idle(&c->waiters);
    free(c);
}

int corio_cond_wait(corio_cond *c, corio_mutex *m)
{
    corio_task *self = corio__self_checked("corio_cond_wait");
    CHECK_LOOP(c);
    CHECK_LOOP(m);
    CORIO_ASSERT(m->owner == self);
    /* No other task runs between the unlock and the park, so no signal can slip past. The
     * park may fail at once (cancelled, deadline passed); the mutex is re-taken on every path. */
    struct corio__waiter w = {.data = NULL};
    corio_mutex_unlock(m);
    int rc = corio__waitq_park(&c->waiters, &w, "cond", 0);
    /* Re-locking ignores cancellation and deadlines: the caller's unlock must stay valid. */
    corio_deadline shield;
    corio__shield_forever(&shield);
    int lrc = corio_mutex_lock(m);
    corio_deadline_leave(&shield);
    CORIO_ASSERT(lrc == 0);
    return rc;
}

void corio_cond_signal(corio_cond *c)
{
    CHECK_LOOP(c);
    corio__waitq_wake_one(&c->waiters, 0);
}

void corio_cond_broadcast(corio_cond *c)
{
    CHECK_LOOP(c);
    corio__waitq_wake_all(&c->waiters, 0);
}
