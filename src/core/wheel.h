/* SPDX-License-Identifier: MIT */
/* A hierarchical timer wheel: the loop's timer queue. Ticks are absolute uint64_t counts (the
 * loop uses 1 ms ticks). Add and delete are O(1); advancing costs O(levels) per step plus O(1)
 * per timer moved or fired, and the steps jump straight to the next occupied slot, so a long
 * jump over a sparse wheel is as cheap as a short one.
 *
 * Layout and invariants. There are 6 levels of 64 slots; level L is indexed by the 6-bit digit
 * L of a tick. A timer with tick T (always T >= now) lives at the lowest level L such that T and
 * now agree on every digit above L, in slot digit L of T. So a level-0 slot holds timers of one
 * exact tick, a level-L slot (L > 0) lies strictly after now's digit L, and where a timer is
 * placed is a pure function of (T, now): delete recomputes it instead of storing it, and
 * timers of equal tick always share one list, which is what makes ties fire FIFO. A timer whose
 * tick lies beyond now's 36-bit "epoch" (T >> 36 > now >> 36) goes to level 5, slot 0: a slot
 * no in-epoch timer can use (it would need digit 5 below now's) and one that is cascaded exactly
 * when now enters a new epoch, where such timers are placed again from their real tick. A slot
 * is a circular doubly-linked list without sentinel, so an armed timer always has both links
 * non-NULL (a lone timer points at itself) and an unarmed one has both NULL. occupied[L] bit s
 * is set iff slot s of level L is non-empty.
 *
 * Single-threaded: a wheel belongs to one loop thread. fire callbacks must not call
 * corio__wheel_run() on the same wheel.
 */
#ifndef CORIO_CORE_WHEEL_H
#define CORIO_CORE_WHEEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CORIO__WHEEL_BITS 6
#define CORIO__WHEEL_SLOTS 64
#define CORIO__WHEEL_LEVELS 6 /* 36 bits of ticks; ticks are 1 ms in the loop: ~795 days */

struct corio__timer {
    struct corio__timer *next, *prev; /* slot list links; both NULL when not armed */
    uint64_t tick;                    /* expiry tick (absolute); valid while armed and in fire */
};

/* A circular list: head->prev is the tail. NULL when empty. */
struct corio__wheel_slot {
    struct corio__timer *head;
};

struct corio__wheel {
    uint64_t now;                           /* last tick processed */
    uint64_t occupied[CORIO__WHEEL_LEVELS]; /* bit s set <=> slot s of level non-empty */
    struct corio__wheel_slot slots[CORIO__WHEEL_LEVELS][CORIO__WHEEL_SLOTS];
    size_t count; /* armed timers */
};

/* An empty wheel whose current tick is now_tick. */
void corio__wheel_init(struct corio__wheel *w, uint64_t now_tick);

/* Links are set and cleared together (a lone armed timer links to itself), so one suffices. */
static inline bool corio__timer_armed(const struct corio__timer *t)
{
    return t->next != NULL;
}

/* Makes t a valid, unarmed timer. */
static inline void corio__timer_init(struct corio__timer *t)
{
    t->next = t->prev = NULL;
    t->tick = 0;
}

/* Arms t (which must not be armed) to fire at tick; a tick below w->now is clamped to w->now
 * and t->tick holds the clamped value. O(1). */
void corio__wheel_add(struct corio__wheel *w, struct corio__timer *t, uint64_t tick);

/* Disarms t; a no-op if t is not armed. O(1). */
void corio__wheel_del(struct corio__wheel *w, struct corio__timer *t);

/* A lower bound of the earliest armed tick, never below w->now; exact when the earliest timer
 * is at level 0 (within the current 64-tick block); UINT64_MAX when the wheel is empty. A loop
 * that sleeps until this tick and then runs the wheel may wake without firing anything (at most
 * once per level per timer), never late. O(levels). */
uint64_t corio__wheel_next(const struct corio__wheel *w);

typedef void corio__timer_fire_fn(struct corio__timer *t, void *ctx);

/* Advances now to max(now, to_tick) and fires every timer whose tick <= to_tick, in
 * non-decreasing tick order, equal ticks in insertion order. Each timer is unlinked before its
 * fire call (so it is not armed then, and may be re-added or freed), and w->now == t->tick
 * during the call. fire may add and delete other timers; one added with tick <= to_tick (ticks
 * below now are clamped to now) fires in this same run. Returns the number fired. Costs
 * O(levels) per occupied slot reached, not per tick crossed; timers in later 2^36-tick epochs
 * add O(their number) per epoch that holds one. */
size_t corio__wheel_run(struct corio__wheel *w, uint64_t to_tick, corio__timer_fire_fn *fire,
                        void *ctx);

/* Checks every invariant by walking every slot (for tests): returns 0 if all hold, else a
 * negative number naming the first one found broken (see wheel.c). O(timers + slots). */
int corio__wheel_validate(const struct corio__wheel *w);

#endif
