/* SPDX-License-Identifier: MIT */
/* Channels (corio/sync.h): a bounded FIFO of fixed-size items between the tasks of one loop,
 * with asyncio.Queue's task_done/join.
 *
 * The buffer is a ring of capacity * elem_size bytes (none for capacity 0). Waiting putters
 * and getters queue in FIFO order; a putter's waiter points at its item, a getter's at its
 * destination. Items move by hand-over, as in sync.c: whoever makes progress possible does
 * the copy for the parked task, unlinks its waiter and wakes it with code 0, so a woken task
 * never competes with newcomers and a task that returns an error moved nothing.
 *   - put with a parked getter copies straight into the getter's destination;
 *   - get from a full buffer takes the oldest item and moves the first parked putter's item
 *     into the freed slot; with capacity 0 it copies straight from the putter.
 * Every item therefore enters the channel exactly once and leaves exactly once, and the order
 * of accepted puts is the order of gets.
 *
 * Invariant: len <= cap; a task parked on getters => len == 0; a task parked on putters =>
 *            len == cap and no task parked on getters; closed => nobody parked on putters
 *            or getters.
 * Invariant: unfinished counts accepted puts minus task_done() calls; it rises when an item
 *            is accepted (so before the putter runs again), never when the putter returns.
 *
 * put, get and join check cancellation and the deadline first, even when they could complete
 * at once (see sync.c); the try_ variants never do.
 *
 * Deliberately not here: select over several channels, variable-size items, use from another
 * loop (asserted), and freeing a channel that a task is parked on (aborts).
 */
#include "sync_int.h"

#include <errno.h>
#include <string.h>

#define CHECK_LOOP(o) CORIO_ASSERT((o)->loop == corio__tls_loop)
#define MAX_ELEM 65536

struct corio_chan {
    corio_loop *loop;
    size_t esize;      /* bytes per item */
    size_t cap;        /* items the ring holds; 0 = rendezvous */
    size_t head, len;  /* ring: oldest item's slot, items buffered */
    size_t unfinished; /* accepted puts not yet matched by task_done() */
    bool closed;
    struct corio__list putters; /* corio__waiter, data = the item (const), FIFO */
    struct corio__list getters; /* corio__waiter, data = the destination, FIFO */
    struct corio__list joiners; /* corio__waiter of corio_chan_join */
    unsigned char *buf;         /* cap * esize bytes, owned */
};

static unsigned char *slot(const corio_chan *c, size_t i)
{
    return c->buf + i * c->esize;
}

static void ring_push(corio_chan *c, const void *item)
{
    memcpy(slot(c, (c->head + c->len) % c->cap), item, c->esize);
    c->len++;
}

static void ring_pop(corio_chan *c, void *item)
{
    memcpy(item, slot(c, c->head), c->esize);
    c->head = (c->head + 1) % c->cap;
    c->len--;
}

int corio_chan_new(size_t elem_size, size_t capacity, corio_chan **out)
{
    corio_loop *l = corio__self_checked("corio_chan_new")->loop;
    *out = NULL;
    if (elem_size == 0 || elem_size > MAX_ELEM || capacity > SIZE_MAX / elem_size)
        return -EINVAL;
    corio_chan *c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    if (capacity && !(c->buf = malloc(capacity * elem_size))) {
        free(c);
        return -ENOMEM;
    }
    c->loop = l;
    c->esize = elem_size;
    c->cap = capacity;
    corio__list_init(&c->putters);
    corio__list_init(&c->getters);
    corio__list_init(&c->joiners);
    *out = c;
    return 0;
}

void corio_chan_free(corio_chan *c)
{
    if (!c)
        return;
    CHECK_LOOP(c);
    corio__waitq_drop_idle(&c->putters);
    corio__waitq_drop_idle(&c->getters);
    corio__waitq_drop_idle(&c->joiners);
    free(c->buf);
    free(c);
}

int corio_chan_try_put(corio_chan *c, const void *item)
{
    CHECK_LOOP(c);
    if (c->closed)
        return -EPIPE;
    struct corio__waiter *w = corio__waitq_wake_one(&c->getters, 0);
    if (w)
        memcpy(w->data, item, c->esize); /* the getter has not run yet: its buffer is ours */
    else if (c->len < c->cap)
        ring_push(c, item);
    else
        return -EAGAIN;
    c->unfinished++;
    return 0;
}

int corio_chan_put(corio_chan *c, const void *item)
{
    CHECK_LOOP(c);
    int rc = corio_check();
    if (rc < 0 || (rc = corio_chan_try_put(c, item)) != -EAGAIN)
        return rc;
    /* 0: a getter took the item; -EPIPE: closed meanwhile; other errors: nothing was taken. */
    struct corio__waiter w = {.data = (void *)item};
    return corio__waitq_park(&c->putters, &w, "chan put", (int64_t)c->len);
}

int corio_chan_try_get(corio_chan *c, void *item)
{
    CHECK_LOOP(c);
    struct corio__waiter *w;
    if (c->len > 0) {
        ring_pop(c, item);
        /* The slot just freed goes to the longest-waiting putter, ahead of any newcomer. */
        if ((w = corio__waitq_wake_one(&c->putters, 0))) {
            ring_push(c, w->data);
            c->unfinished++;
        }
        return 0;
    }
    if ((w = corio__waitq_wake_one(&c->putters, 0))) {
        memcpy(item, w->data, c->esize); /* rendezvous: the putter's item is still intact */
        c->unfinished++;
        return 0;
    }
    return c->closed ? -EPIPE : -EAGAIN;
}

int corio_chan_get(corio_chan *c, void *item)
{
    CHECK_LOOP(c);
    int rc = corio_check();
    if (rc < 0 || (rc = corio_chan_try_get(c, item)) != -EAGAIN)
        return rc;
    /* 0: a putter filled *item before waking us; -EPIPE: closed while empty. */
    struct corio__waiter w = {.data = item};
    return corio__waitq_park(&c->getters, &w, "chan get", 0);
}

void corio_chan_close(corio_chan *c)
{
    CHECK_LOOP(c);
    c->closed = true;
    /* Getters park only on an empty buffer, so none of them is owed a buffered item. */
    corio__waitq_wake_all(&c->putters, -EPIPE);
    corio__waitq_wake_all(&c->getters, -EPIPE);
}

size_t corio_chan_len(const corio_chan *c)
{
    CHECK_LOOP(c);
    return c->len;
}

size_t corio_chan_cap(const corio_chan *c)
{
    CHECK_LOOP(c);
    return c->cap;
}

int corio_chan_task_done(corio_chan *c)
{
    CHECK_LOOP(c);
    if (c->unfinished == 0)
        return -EINVAL;
    if (--c->unfinished == 0)
        corio__waitq_wake_all(&c->joiners, 0);
    return 0;
}

int corio_chan_join(corio_chan *c)
{
    CHECK_LOOP(c);
    int rc = corio_check();
    if (rc < 0 || c->unfinished == 0)
        return rc;
    /* Woken with 0 means the count reached zero, as asyncio's join: a put arriving before we
     * run again does not send us back to sleep. */
    struct corio__waiter w = {.data = NULL};
    return corio__waitq_park(&c->joiners, &w, "chan join", (int64_t)c->unfinished);
}

int corio__chan_validate(const corio_chan *c)
{
    bool putting = corio__waitq_any_waiting(&c->putters);
    bool getting = corio__waitq_any_waiting(&c->getters);
    if (c->len > c->cap || (c->cap && c->head >= c->cap) || (!c->cap && c->head))
        return __LINE__;
    if (getting && (c->len != 0 || putting))
        return __LINE__;
    if (putting && c->len != c->cap)
        return __LINE__;
    if (c->closed && (putting || getting))
        return __LINE__;
    return 0;
}
