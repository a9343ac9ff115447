/* SPDX-License-Identifier: MIT */
/* The hierarchical timer wheel (see wheel.h for the layout and its invariants).
 *
 * How time advances. run() never walks ticks one by one. It fires the level-0 slot of now (the
 * timers due exactly now), then finds the earliest occupied slot with the occupancy bitmaps: the
 * lowest level with an occupied slot after now's digit wins, because any slot of a higher level
 * starts after the whole current block of the lower one. That slot's lower bound (now with digit
 * L replaced by the slot's digit and the digits below zeroed) is where now jumps next. Moving
 * now to n' "cascades" level by level from the top: wherever n's prefix above digit L changed,
 * the slot at digit L of n' has just become current, and each of its timers is placed again
 * relative to n', which puts it at a lower level (or at level 0 of n', to fire now). Every
 * other timer keeps its place: its slot still lies after n' (the jump never passes a lower
 * bound), which is why placement stays a pure function of (tick, now) and del() can recompute
 * a timer's slot. Each step fires or moves at least one timer down, so a run costs O(levels)
 * per step and O(levels) moves per timer, whatever the distance.
 *
 * The overflow slot (level 5, slot 0) holds timers of later epochs; next() reports the next
 * epoch's first tick for it. Nothing in the current epoch comes after that, so it is only the
 * earliest when every other slot is empty, and jumping to the start of any later epoch changes
 * every prefix, so the slot at digit 5 = 0 (this one) is cascaded right then. run() jumps
 * straight to the start of the epoch of the earliest timer in it, found by walking the slot:
 * stepping epoch by epoch would cost O(epochs crossed), 2^28 of them up to UINT64_MAX. A run
 * across epochs thus costs O(overflow timers) per distinct epoch holding one; with 1 ms ticks
 * an epoch is ~795 days, so that list is normally empty.
 */
#include "wheel.h"

#include <assert.h>

#define BITS CORIO__WHEEL_BITS
#define SLOTS CORIO__WHEEL_SLOTS
#define LEVELS CORIO__WHEEL_LEVELS
#define MASK ((uint64_t)SLOTS - 1)
#define SPAN (BITS * LEVELS) /* bits of tick the levels index: one epoch */
#define OVERFLOW_LEVEL (LEVELS - 1)
#define OVERFLOW_SLOT 0u

_Static_assert(SLOTS == 1 << BITS, "a level's occupancy must match its slot count");
_Static_assert(SLOTS == 64, "occupancy bitmaps are uint64_t");
_Static_assert(SPAN < 64, "an epoch shift must be a valid uint64_t shift");

struct pos {
    unsigned lvl, slot;
};

static inline unsigned digit(uint64_t tick, unsigned lvl)
{
    return (unsigned)((tick >> (BITS * lvl)) & MASK);
}

/* Where a timer of tick (>= now) belongs: the lowest level above which tick and now agree. */
static inline struct pos place(uint64_t tick, uint64_t now)
{
    uint64_t diff = tick ^ now;
    if (diff >> SPAN)
        return (struct pos){OVERFLOW_LEVEL, OVERFLOW_SLOT};
    unsigned lvl = diff ? (unsigned)(63 - __builtin_clzll(diff)) / BITS : 0;
    return (struct pos){lvl, digit(tick, lvl)};
}

/* Appends t at the tail of the slot its tick belongs to; keeping tails as the insertion end is
 * what preserves FIFO among equal ticks through every cascade. Does not touch count. */
static void link_timer(struct corio__wheel *w, struct corio__timer *t)
{
    struct pos p = place(t->tick, w->now);
    struct corio__wheel_slot *s = &w->slots[p.lvl][p.slot];
    struct corio__timer *h = s->head;
    if (!h) {
        t->next = t->prev = t;
        s->head = t;
        w->occupied[p.lvl] |= (uint64_t)1 << p.slot;
    } else {
        t->next = h;
        t->prev = h->prev;
        h->prev->next = t;
        h->prev = t;
    }
}

/* Removes t from slot p and marks it unarmed. */
static void unlink_timer(struct corio__wheel *w, struct pos p, struct corio__timer *t)
{
    struct corio__wheel_slot *s = &w->slots[p.lvl][p.slot];
    assert(s->head != NULL && w->count > 0);
    if (t->next == t) {
        s->head = NULL;
        w->occupied[p.lvl] &= ~((uint64_t)1 << p.slot);
    } else {
        t->prev->next = t->next;
        t->next->prev = t->prev;
        if (s->head == t)
            s->head = t->next;
    }
    t->next = t->prev = NULL;
    w->count--;
}

void corio__wheel_init(struct corio__wheel *w, uint64_t now_tick)
{
    *w = (struct corio__wheel){.now = now_tick};
}

void corio__wheel_add(struct corio__wheel *w, struct corio__timer *t, uint64_t tick)
{
    assert(!corio__timer_armed(t));
    /* A past tick fires at the next run like one due now; storing the clamped value keeps the
     * invariant tick >= now that placement relies on. */
    t->tick = tick < w->now ? w->now : tick;
    link_timer(w, t);
    w->count++;
}

void corio__wheel_del(struct corio__wheel *w, struct corio__timer *t)
{
    if (!corio__timer_armed(t))
        return;
    unlink_timer(w, place(t->tick, w->now), t);
}

enum { NONE, IN_EPOCH, LATER_EPOCH };

/* Stores the lower bound of the earliest occupied slot (see the top of the file) and returns
 * IN_EPOCH, or LATER_EPOCH if only the overflow slot is occupied, or NONE if the wheel is empty.
 * Not a UINT64_MAX sentinel: that is also the lower bound of a timer due at UINT64_MAX. */
static int earliest(const struct corio__wheel *w, uint64_t *at)
{
    uint64_t now = w->now;
    for (unsigned lvl = 0; lvl < LEVELS; lvl++) {
        unsigned d = digit(now, lvl);
        /* Level 0 may hold the slot of now itself (timers due now); higher levels only hold
         * slots strictly after now's digit. 2 << 63 wraps to 0, which makes the mask empty. */
        uint64_t below = lvl == 0 ? ((uint64_t)1 << d) - 1 : ((uint64_t)2 << d) - 1;
        uint64_t bits = w->occupied[lvl] & ~below;
        if (bits) {
            unsigned hi = BITS * (lvl + 1);
            uint64_t slot = (uint64_t)__builtin_ctzll(bits);
            *at = (now >> hi << hi) | (slot << (BITS * lvl));
            return IN_EPOCH;
        }
    }
    /* The overflow slot is excluded above (digit 5 of now is >= 0). It is non-empty only if
     * some tick lies in a later epoch, so now is not in the last one and this cannot wrap. */
    if (!(w->occupied[OVERFLOW_LEVEL] & ((uint64_t)1 << OVERFLOW_SLOT)))
        return NONE;
    *at = ((now >> SPAN) + 1) << SPAN;
    return LATER_EPOCH;
}

/* The start of the epoch of the earliest timer in the overflow slot. */
static uint64_t overflow_epoch(const struct corio__wheel *w)
{
    const struct corio__timer *h = w->slots[OVERFLOW_LEVEL][OVERFLOW_SLOT].head, *t = h;
    uint64_t min = t->tick;
    while ((t = t->next) != h)
        min = t->tick < min ? t->tick : min;
    return min >> SPAN << SPAN;
}

uint64_t corio__wheel_next(const struct corio__wheel *w)
{
    uint64_t at;
    return earliest(w, &at) != NONE ? at : UINT64_MAX;
}

/* Sets now to n (>= now) and re-places the timers of every slot that n makes current. The
 * slot is detached first because re-placing may put a timer back into it (the overflow slot,
 * for a timer still epochs away). */
static void advance(struct corio__wheel *w, uint64_t n)
{
    uint64_t changed = w->now ^ n;
    w->now = n;
    for (unsigned lvl = LEVELS - 1; lvl >= 1; lvl--) {
        unsigned s = digit(n, lvl);
        if (!(changed >> (BITS * lvl)) || !(w->occupied[lvl] & ((uint64_t)1 << s)))
            continue;
        struct corio__timer *t = w->slots[lvl][s].head;
        w->slots[lvl][s].head = NULL;
        w->occupied[lvl] &= ~((uint64_t)1 << s);
        t->prev->next = NULL; /* open the circle to walk it head to tail */
        while (t) {
            struct corio__timer *next = t->next;
            link_timer(w, t);
            t = next;
        }
    }
}

/* Fires the timers due at now, one at a time from the head: fire may add timers due now (they
 * join the tail and fire in this loop, after the earlier ones) or delete ones still queued,
 * both of which see an ordinary slot. */
static size_t fire_due(struct corio__wheel *w, corio__timer_fire_fn *fire, void *ctx)
{
    struct pos p = {0, digit(w->now, 0)};
    struct corio__wheel_slot *s = &w->slots[0][p.slot];
    size_t n = 0;
    while (s->head) {
        struct corio__timer *t = s->head;
        unlink_timer(w, p, t);
        fire(t, ctx);
        n++;
    }
    return n;
}

size_t corio__wheel_run(struct corio__wheel *w, uint64_t to_tick, corio__timer_fire_fn *fire,
                        void *ctx)
{
    size_t n = 0;
    if (to_tick < w->now)
        to_tick = w->now;
    for (;;) {
        n += fire_due(w, fire, ctx);
        uint64_t at;
        int found = earliest(w, &at);
        if (found == LATER_EPOCH && at <= to_tick)
            at = overflow_epoch(w); /* skip the epochs holding no timer */
        if (found == NONE || at > to_tick)
            break;
        advance(w, at); /* at > now: the slot of now at level 0 was just emptied */
    }
    /* Nothing is due in (now, to_tick]: every in-epoch slot starts after to_tick, so none
     * becomes current on the way. At most the overflow slot is re-placed (into itself, when
     * to_tick lies in a later epoch with digit 5 = 0), and nothing is left due at to_tick. */
    advance(w, to_tick);
    return n;
}

/* Negative results of corio__wheel_validate(), one per invariant. */
enum {
    BAD_BITMAP = -1,    /* occupied bit disagrees with the slot being non-empty */
    BAD_LINKS = -2,     /* a next/prev pair is not mutual, or a link is NULL */
    BAD_COUNT = -3,     /* count differs from the timers linked (or a list cycles off head) */
    BAD_PAST = -4,      /* an armed tick below now */
    BAD_SLOT = -5,      /* a timer not in the slot its tick and now select */
    BAD_BELOW_NOW = -6, /* an occupied slot that lies at or before now's digit */
    BAD_NEXT = -7,      /* next() above the earliest tick, below now, or inexact at level 0 */
};

int corio__wheel_validate(const struct corio__wheel *w)
{
    size_t total = 0;
    uint64_t min_tick = UINT64_MAX;
    struct pos min_pos = {0, 0};
    for (unsigned lvl = 0; lvl < LEVELS; lvl++) {
        for (unsigned s = 0; s < SLOTS; s++) {
            const struct corio__timer *h = w->slots[lvl][s].head;
            if (!h != !(w->occupied[lvl] & ((uint64_t)1 << s)))
                return BAD_BITMAP;
            if (!h)
                continue;
            bool overflow = lvl == OVERFLOW_LEVEL && s == OVERFLOW_SLOT;
            unsigned d = digit(w->now, lvl);
            if (!overflow && (lvl == 0 ? s < d : s <= d))
                return BAD_BELOW_NOW;
            const struct corio__timer *t = h;
            do {
                if (!t->next || !t->prev || t->next->prev != t || t->prev->next != t)
                    return BAD_LINKS;
                if (++total > w->count) /* also stops a walk caught in a cycle */
                    return BAD_COUNT;
                if (t->tick < w->now)
                    return BAD_PAST;
                struct pos p = place(t->tick, w->now);
                if (p.lvl != lvl || p.slot != s)
                    return BAD_SLOT;
                if (total == 1 || t->tick < min_tick) { /* the first may be UINT64_MAX */
                    min_tick = t->tick;
                    min_pos = p;
                }
                t = t->next;
            } while (t != h);
        }
    }
    if (total != w->count)
        return BAD_COUNT;
    uint64_t next = corio__wheel_next(w); /* empty: min_tick stays UINT64_MAX, at "level 0" */
    if (next > min_tick || next < w->now || (min_pos.lvl == 0 && next != min_tick))
        return BAD_NEXT;
    return 0;
}
