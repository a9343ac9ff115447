/* SPDX-License-Identifier: MIT */
/* corio/sync.h: synchronisation between tasks of one loop: a bounded channel (asyncio.Queue
 * with task_done/join), a semaphore, a mutex, an event and a condition variable.
 *
 * Every object belongs to the loop it was created on and is used only by that loop's tasks
 * (tasks on other loops talk through corio_loop_post / corio_loop_call). None of these take a
 * lock or a system call: a wait is a park on the loop.
 *
 * Every wait is FIFO (the longest waiter is served first), obeys the caller's deadline scope
 * (-ETIMEDOUT) and cancellation (-ECANCELED), and on such an error nothing was taken: no item,
 * permit or lock is lost or leaked. A hand-over is final: once a waiter has been given an item
 * or a permit, a cancellation arriving before it runs does not take it back (the call returns
 * success; the next blocking call sees the cancellation). A call that may suspend checks
 * cancellation and the deadline first, so a cancelled task (or one past its deadline) gets the
 * error even where the call could have completed at once; the try_ variants never check.
 *
 * Freeing an object some task still waits on is a bug and aborts. A task whose wait was already
 * ended by a cancel or timeout does not count, even before it has run again: "cancel the
 * waiter, then free" is fine without a join.
 */
#ifndef CORIO_SYNC_H
#define CORIO_SYNC_H

#include "corio/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- channel ------------------------------------------------------------------------------ */
typedef struct corio_chan corio_chan;

/* Creates a channel of items of elem_size bytes (1..65536) holding up to capacity items
 * (0 = unbuffered: a put waits until a get takes the item). Items are copied in and out.
 * Errors: -EINVAL, -ENOMEM. Task context. */
CORIO_API int corio_chan_new(size_t elem_size, size_t capacity, corio_chan **out);

/* Frees c. No task may be waiting on it. */
CORIO_API void corio_chan_free(corio_chan *c);

/* Copies *item into the channel, waiting while it is full. Suspends: 0, -EPIPE (closed, item
 * not taken), -ECANCELED, -ETIMEDOUT. */
CORIO_API int corio_chan_put(corio_chan *c, const void *item);

/* Like put but never waits: -EAGAIN if it would. */
CORIO_API int corio_chan_try_put(corio_chan *c, const void *item);

/* Takes the oldest item into *item, waiting while the channel is empty. After close, the items
 * still buffered are returned first, then -EPIPE. Suspends: 0, -EPIPE, -ECANCELED,
 * -ETIMEDOUT. */
CORIO_API int corio_chan_get(corio_chan *c, void *item);

/* Like get but never waits: -EAGAIN if empty (and open), -EPIPE if closed and empty. */
CORIO_API int corio_chan_try_get(corio_chan *c, void *item);

/* Closes c: waiting and later puts fail with -EPIPE; gets drain the buffer, then fail with
 * -EPIPE. Idempotent. */
CORIO_API void corio_chan_close(corio_chan *c);

/* Items buffered now, and the capacity. */
CORIO_API size_t corio_chan_len(const corio_chan *c);
CORIO_API size_t corio_chan_cap(const corio_chan *c);

/* asyncio.Queue's task_done/join: every successful put adds one unfinished item; task_done()
 * marks one finished (-EINVAL if none is unfinished); join() waits until none is unfinished.
 * join suspends: 0, -ECANCELED, -ETIMEDOUT. */
CORIO_API int corio_chan_task_done(corio_chan *c);
CORIO_API int corio_chan_join(corio_chan *c);

/* ---- semaphore ---------------------------------------------------------------------------- */
typedef struct corio_sem corio_sem;

/* Creates a counting semaphore with value permits. Errors: -ENOMEM. Task context. */
CORIO_API int corio_sem_new(size_t value, corio_sem **out);
CORIO_API void corio_sem_free(corio_sem *s);

/* Takes a permit, waiting while none is free. Later arrivals never overtake earlier waiters.
 * Suspends: 0, -ECANCELED, -ETIMEDOUT. */
CORIO_API int corio_sem_acquire(corio_sem *s);

/* Takes a permit if one is free and nobody waits: 0 or -EAGAIN. */
CORIO_API int corio_sem_try_acquire(corio_sem *s);

/* Returns a permit (handing it straight to the first waiter, if any). Never suspends. */
CORIO_API void corio_sem_release(corio_sem *s);

/* Free permits now. */
CORIO_API size_t corio_sem_value(const corio_sem *s);

/* ---- mutex -------------------------------------------------------------------------------- */
typedef struct corio_mutex corio_mutex;

CORIO_API int corio_mutex_new(corio_mutex **out);
CORIO_API void corio_mutex_free(corio_mutex *m);

/* Locks m, waiting while another task holds it; ownership passes to waiters in FIFO order.
 * Locking a mutex one already holds is a bug and aborts. Suspends: 0, -ECANCELED, -ETIMEDOUT. */
CORIO_API int corio_mutex_lock(corio_mutex *m);

/* 0 if locked now, -EBUSY if held or waited for. */
CORIO_API int corio_mutex_try_lock(corio_mutex *m);

/* Unlocks m; only the holder may (anything else aborts). Never suspends. */
CORIO_API void corio_mutex_unlock(corio_mutex *m);

/* ---- event -------------------------------------------------------------------------------- */
typedef struct corio_event corio_event;

CORIO_API int corio_event_new(corio_event **out);
CORIO_API void corio_event_free(corio_event *e);

/* Sets the flag and wakes every waiter. */
CORIO_API void corio_event_set(corio_event *e);
CORIO_API void corio_event_clear(corio_event *e);
CORIO_API bool corio_event_is_set(const corio_event *e);

/* Returns at once if set, else waits until set. Suspends: 0, -ECANCELED, -ETIMEDOUT. */
CORIO_API int corio_event_wait(corio_event *e);

/* ---- condition ---------------------------------------------------------------------------- */
typedef struct corio_cond corio_cond;

CORIO_API int corio_cond_new(corio_cond **out);
CORIO_API void corio_cond_free(corio_cond *c);

/* Unlocks m (which the caller must hold), waits for a signal, and locks m again before
 * returning, also when it returns -ECANCELED or -ETIMEDOUT (re-locking is not cancellable,
 * as with asyncio.Condition). Spurious wake-ups do not happen, but a condition may have
 * changed again by the time the waiter runs: re-check it in a loop. Suspends. */
CORIO_API int corio_cond_wait(corio_cond *c, corio_mutex *m);

/* Wakes the longest waiter / every waiter. Never suspends. */
CORIO_API void corio_cond_signal(corio_cond *c);
CORIO_API void corio_cond_broadcast(corio_cond *c);

#ifdef __cplusplus
}
#endif
#endif
