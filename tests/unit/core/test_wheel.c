/* SPDX-License-Identifier: MIT */
/* Unit tests of the hierarchical timer wheel (src/core/wheel.c): firing order and FIFO ties,
 * deletion at every list position, next() as a lower bound that is exact at level 0, adding and
 * deleting from fire callbacks, cheap long jumps over a sparse wheel, timers at every level and
 * beyond the 36-bit epoch (never early, exactly on their tick), a million random timers, and a
 * randomized model check of 10^5 operations against a plain array.
 *
 * What every test relies on: a timer fires exactly once, in the first run whose target reaches
 * its tick, with w->now equal to its tick, and corio__wheel_validate() returns 0 after every
 * step. Fire callbacks only record what they saw (counters of violations, logs of ids) and the
 * test body checks those records afterwards, so a failure names the test's line. The harness
 * compares ASSERT_* operands as long long, which misorders ticks at or above 2^63, so tick
 * orderings use plain ASSERT(a <= b).
 */
#include "core/wheel.h"
#include "test.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DAY_TICKS ((uint64_t)24 * 3600 * 1000) /* the loop's ticks are 1 ms */
#define EPOCH ((uint64_t)1 << (CORIO__WHEEL_BITS * CORIO__WHEEL_LEVELS))

static uint64_t xorshift(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

static double ms_since(const struct timespec *a)
{
    struct timespec b;
    clock_gettime(CLOCK_MONOTONIC, &b);
    return (double)(b.tv_sec - a->tv_sec) * 1e3 + (double)(b.tv_nsec - a->tv_nsec) / 1e6;
}

/* ---- a recording fire callback over an array of timers ------------------------------------ */

#define LOG_MAX 4096

struct log {
    struct corio__wheel *w;
    struct corio__timer *base; /* ids are indexes into this array */
    size_t n;
    size_t ids[LOG_MAX];
    uint64_t ticks[LOG_MAX];
    unsigned bad; /* fired while still armed, with now != tick, or the log overflowed */
};

static void log_fire(struct corio__timer *t, void *ctx)
{
    struct log *lg = ctx;
    if (corio__timer_armed(t) || lg->w->now != t->tick || lg->n == LOG_MAX) {
        lg->bad++;
        return;
    }
    lg->ids[lg->n] = (size_t)(t - lg->base);
    lg->ticks[lg->n] = t->tick;
    lg->n++;
}

static void log_init(struct log *lg, struct corio__wheel *w, struct corio__timer *base)
{
    lg->w = w;
    lg->base = base;
    lg->n = 0;
    lg->bad = 0;
}

TEST(wheel_empty)
{
    static struct corio__wheel w;
    static struct log lg;
    const uint64_t starts[] = {0, 1, 63, 64, EPOCH - 1, EPOCH, UINT64_MAX - 1};
    for (size_t i = 0; i < sizeof starts / sizeof starts[0]; i++) {
        corio__wheel_init(&w, starts[i]);
        log_init(&lg, &w, NULL);
        ASSERT_EQ(corio__wheel_validate(&w), 0);
        ASSERT_EQ(corio__wheel_next(&w), UINT64_MAX);
        ASSERT_EQ(corio__wheel_run(&w, starts[i] / 2, log_fire, &lg), (size_t)0);
        ASSERT_EQ(w.now, starts[i]); /* never goes back */
        ASSERT_EQ(corio__wheel_run(&w, starts[i] + 1, log_fire, &lg), (size_t)0);
        ASSERT_EQ(w.now, starts[i] + 1);
        ASSERT_EQ(corio__wheel_validate(&w), 0);
    }
    struct corio__timer t;
    corio__timer_init(&t);
    ASSERT(!corio__timer_armed(&t));
    corio__wheel_del(&w, &t); /* not armed: nothing happens */
    ASSERT_EQ(w.count, (size_t)0);
    ASSERT_EQ(corio__wheel_validate(&w), 0);
}

TEST(wheel_order_and_fifo_ties)
{
    static struct corio__wheel w;
    static struct log lg;
    static struct corio__timer t[16];
    /* Equal ticks at several levels, added out of order. */
    const uint64_t ticks[16] = {5, 3, 3, 100, 5, 4099, 3, 70, 4099, 64, 4096, 100, 0, 3, 9000, 64};
    corio__wheel_init(&w, 0);
    log_init(&lg, &w, t);
    for (size_t i = 0; i < 16; i++) {
        corio__timer_init(&t[i]);
        corio__wheel_add(&w, &t[i], ticks[i]);
        ASSERT(corio__timer_armed(&t[i]));
        ASSERT_EQ(t[i].tick, ticks[i]);
    }
    ASSERT_EQ(w.count, (size_t)16);
    ASSERT_EQ(corio__wheel_validate(&w), 0);
    ASSERT_EQ(corio__wheel_run(&w, 100, log_fire, &lg), (size_t)12);
    ASSERT_EQ(corio__wheel_validate(&w), 0);
    ASSERT_EQ(corio__wheel_run(&w, 100000, log_fire, &lg), (size_t)4);
    ASSERT_EQ(corio__wheel_validate(&w), 0);
    ASSERT_EQ(lg.bad, 0u);
    const size_t want[16] = {12, 1, 2, 6, 13, 0, 4, 9, 15, 7, 3, 11, 10, 5, 8, 14};
    ASSERT_EQ(lg.n, (size_t)16);
    for (size_t i = 0; i < 16; i++)
        ASSERT_EQ(lg.ids[i], want[i]);
    ASSERT_EQ(w.count, (size_t)0);
    ASSERT_EQ(w.now, (uint64_t)100000);
}

TEST(wheel_fifo_across_levels_and_clamp)
{
    /* Four timers for one tick, added while now approaches it, so each starts at a different
     * level; plus one added with a past tick, which is clamped to now and joins the queue of
     * now behind the timers already due then. */
    static struct corio__wheel w;
    static struct log lg;
    static struct corio__timer t[6];
    const uint64_t T = 300000;
    corio__wheel_init(&w, 0);
    log_init(&lg, &w, t);
    for (size_t i = 0; i < 6; i++)
        corio__timer_init(&t[i]);
    corio__wheel_add(&w, &t[0], T); /* level 3 */
    ASSERT_EQ(corio__wheel_run(&w, 290000, log_fire, &lg), (size_t)0);
    corio__wheel_add(&w, &t[1], T); /* level 2 */
    ASSERT_EQ(corio__wheel_run(&w, T - 100, log_fire, &lg), (size_t)0);
    corio__wheel_add(&w, &t[2], T); /* level 1 or 0 */
    ASSERT_EQ(corio__wheel_run(&w, T - 1, log_fire, &lg), (size_t)0);
    corio__wheel_add(&w, &t[3], T);     /* level 0 */
    corio__wheel_add(&w, &t[4], T - 1); /* due now, one tick before the others */
    ASSERT_EQ(t[4].tick, T - 1);
    ASSERT_EQ(corio__wheel_validate(&w), 0);
    ASSERT_EQ(corio__wheel_next(&w), T - 1);
    ASSERT_EQ(corio__wheel_run(&w, T, log_fire, &lg), (size_t)5);
    corio__wheel_add(&w, &t[5], 7); /* long past: clamped to now = T */
    ASSERT_EQ(t[5].tick, T);
    ASSERT_EQ(corio__wheel_next(&w), T);
    ASSERT_EQ(corio__wheel_run(&w, 0, log_fire, &lg), (size_t)1); /* to < now: runs to now */
    ASSERT_EQ(w.now, T);
    ASSERT_EQ(lg.bad, 0u);
    const size_t want[6] = {4, 0, 1, 2, 3, 5};
    ASSERT_EQ(lg.n, (size_t)6);
    for (size_t i = 0; i < 6; i++)
        ASSERT_EQ(lg.ids[i], want[i]);
    ASSERT_EQ(corio__wheel_validate(&w), 0);
}

TEST(wheel_del_positions)
{
    static struct corio__wheel w;
    static struct log lg;
    static struct corio__timer t[8];
    corio__wheel_init(&w, 1000);
    log_init(&lg, &w, t);
    /* Five in one level-0 slot (tick 1010) and three in one level-2 slot. */
    for (size_t i = 0; i < 8; i++) {
        corio__timer_init(&t[i]);
        corio__wheel_add(&w, &t[i], i < 5 ? 1010 : 1000 + 3 * 4096 + i);
    }
    ASSERT_EQ(corio__wheel_validate(&w), 0);
    corio__wheel_del(&w, &t[2]); /* middle */
    ASSERT(!corio__timer_armed(&t[2]));
    ASSERT_EQ(corio__wheel_validate(&w), 0);
    corio__wheel_del(&w, &t[0]); /* head */
    ASSERT_EQ(corio__wheel_validate(&w), 0);
    corio__wheel_del(&w, &t[4]); /* tail */
    ASSERT_EQ(corio__wheel_validate(&w), 0);
    corio__wheel_del(&w, &t[4]); /* again: a no-op */
    ASSERT_EQ(w.count, (size_t)5);
    corio__wheel_del(&w, &t[6]); /* middle of the high slot */
    corio__wheel_del(&w, &t[5]); /* then its head */
    corio__wheel_del(&w, &t[7]); /* then the only one left: the slot empties */
    ASSERT_EQ(corio__wheel_validate(&w), 0);
    ASSERT_EQ(w.occupied[2], (uint64_t)0);
    /* Re-adding a deleted timer puts it at the tail. */
    corio__wheel_add(&w, &t[0], 1010);
    ASSERT_EQ(corio__wheel_validate(&w), 0);
    ASSERT_EQ(corio__wheel_run(&w, 1000 + 4 * 4096, log_fire, &lg), (size_t)3);
    ASSERT_EQ(lg.bad, 0u);
    ASSERT_EQ(lg.n, (size_t)3);
    ASSERT_EQ(lg.ids[0], (size_t)1);
    ASSERT_EQ(lg.ids[1], (size_t)3);
    ASSERT_EQ(lg.ids[2], (size_t)0);
    /* The only timer of a slot, deleted: the wheel is empty again. */
    corio__wheel_add(&w, &t[1], w.now + 5);
    corio__wheel_del(&w, &t[1]);
    ASSERT_EQ(w.count, (size_t)0);
    ASSERT_EQ(corio__wheel_next(&w), UINT64_MAX);
    ASSERT_EQ(corio__wheel_validate(&w), 0);
    for (size_t i = 0; i < 6; i++)
        ASSERT_EQ(w.occupied[i], (uint64_t)0);
}

TEST(wheel_next_bound)
{
    static struct corio__wheel w;
    static struct log lg;
    static struct corio__timer t[4];
    const uint64_t now = 5 * EPOCH + 777777;
    corio__wheel_init(&w, now);
    log_init(&lg, &w, t);
    for (size_t i = 0; i < 4; i++)
        corio__timer_init(&t[i]);
    corio__wheel_add(&w, &t[0], now); /* due now */
    ASSERT_EQ(corio__wheel_next(&w), now);
    corio__wheel_del(&w, &t[0]);
    /* Same 64-tick block as now: level 0, exact. */
    uint64_t in_block = (now | 63) - 1;
    corio__wheel_add(&w, &t[0], in_block);
    ASSERT_EQ(corio__wheel_next(&w), in_block);
    corio__wheel_del(&w, &t[0]);
    /* Far ones: a lower bound, never below now; following next() reaches each tick exactly,
     * waking early at most once per level. */
    const uint64_t far[4] = {now + 100, now + 5000, now + 3 * DAY_TICKS, now + EPOCH + 12345};
    for (size_t i = 0; i < 4; i++)
        corio__wheel_add(&w, &t[i], far[i]);
    size_t wakes = 0;
    for (uint64_t nx; (nx = corio__wheel_next(&w)) != UINT64_MAX; wakes++) {
        ASSERT(nx >= w.now && nx <= far[lg.n]);
        size_t before = lg.n;
        corio__wheel_run(&w, nx, log_fire, &lg);
        ASSERT_EQ(w.now, nx);
        ASSERT_EQ(corio__wheel_validate(&w), 0);
        if (lg.n > before)
            ASSERT_EQ(lg.ticks[lg.n - 1], nx);
        ASSERT_LE(wakes, (size_t)(4 * (CORIO__WHEEL_LEVELS + 2)));
    }
    ASSERT_EQ(lg.n, (size_t)4);
    ASSERT_EQ(lg.bad, 0u);
    for (size_t i = 0; i < 4; i++)
        ASSERT_EQ(lg.ticks[i], far[i]);
}

/* ---- fire callbacks that change the wheel ------------------------------------------------- */

struct busy {
    struct corio__wheel *w;
    struct corio__timer t[8];
    size_t order[64];
    uint64_t at[64];
    size_t n;
    unsigned bad;
    unsigned periodic_left;
};

static void busy_fire(struct corio__timer *t, void *ctx)
{
    struct busy *b = ctx;
    size_t id = (size_t)(t - b->t);
    if (corio__timer_armed(t) || b->w->now != t->tick || b->n == 64) {
        b->bad++;
        return;
    }
    b->order[b->n] = id;
    b->at[b->n++] = t->tick;
    switch (id) {
    case 0: /* periodic: re-adds itself every 10 ticks */
        if (b->periodic_left && b->periodic_left--)
            corio__wheel_add(b->w, t, t->tick + 10);
        break;
    case 1: /* deletes timer 2 (same tick, queued behind it) and timer 3 (later) */
        corio__wheel_del(b->w, &b->t[2]);
        corio__wheel_del(b->w, &b->t[3]);
        /* and adds timer 4 in the past (fires right after, same tick) and 5 a bit later */
        corio__wheel_add(b->w, &b->t[4], 0);
        corio__wheel_add(b->w, &b->t[5], t->tick + 1000);
        break;
    case 5: /* adds 6 for a tick past the run's target */
        corio__wheel_add(b->w, &b->t[6], t->tick + 100000);
        break;
    default:
        break;
    }
}

TEST(wheel_add_del_from_fire)
{
    static struct busy b;
    memset(&b, 0, sizeof b);
    static struct corio__wheel w;
    b.w = &w;
    corio__wheel_init(&w, 10);
    for (size_t i = 0; i < 8; i++)
        corio__timer_init(&b.t[i]);
    b.periodic_left = 5;
    corio__wheel_add(&w, &b.t[0], 15);
    corio__wheel_add(&w, &b.t[1], 37);
    corio__wheel_add(&w, &b.t[2], 37);
    corio__wheel_add(&w, &b.t[3], 90);
    corio__wheel_add(&w, &b.t[7], 37);
    ASSERT_EQ(corio__wheel_run(&w, 2000, busy_fire, &b), (size_t)10);
    ASSERT_EQ(b.bad, 0u);
    ASSERT_EQ(corio__wheel_validate(&w), 0);
    /* 0@15 0@25 0@35 1@37 7@37 4@37 0@45 0@55 0@65 5@1037; 2 and 3 deleted; 6 pending */
    const size_t want[10] = {0, 0, 0, 1, 7, 4, 0, 0, 0, 5};
    const uint64_t at[10] = {15, 25, 35, 37, 37, 37, 45, 55, 65, 1037};
    ASSERT_EQ(b.n, (size_t)10);
    for (size_t i = 0; i < 10; i++) {
        ASSERT_EQ(b.order[i], want[i]);
        ASSERT_EQ(b.at[i], at[i]);
    }
    ASSERT(!corio__timer_armed(&b.t[2]));
    ASSERT(!corio__timer_armed(&b.t[3]));
    ASSERT(corio__timer_armed(&b.t[6]));
    ASSERT_EQ(w.count, (size_t)1);
    ASSERT_EQ(corio__wheel_run(&w, UINT64_MAX, busy_fire, &b), (size_t)1);
    ASSERT_EQ(b.at[10], (uint64_t)101037);
    ASSERT_EQ(w.now, UINT64_MAX);
    ASSERT_EQ(corio__wheel_validate(&w), 0);
}

TEST(wheel_long_jump_is_cheap)
{
    /* 1000 jumps of 10 days over 4 timers each. Walking ticks would cost 8.6e8 steps per jump;
     * the wheel needs a few dozen. The bound is loose enough for sanitizers and loaded CI. */
    static struct corio__wheel w;
    static struct log lg;
    static struct corio__timer t[4];
    corio__wheel_init(&w, 42);
    log_init(&lg, &w, t);
    for (size_t i = 0; i < 4; i++)
        corio__timer_init(&t[i]);
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    size_t fired = 0;
    for (int round = 0; round < 1000; round++) {
        uint64_t base = w.now;
        lg.n = 0;
        for (size_t i = 0; i < 4; i++)
            corio__wheel_add(&w, &t[i], base + (i + 1) * 2 * DAY_TICKS + (uint64_t)round);
        fired += corio__wheel_run(&w, base + 10 * DAY_TICKS, log_fire, &lg);
        /* and an empty jump */
        fired += corio__wheel_run(&w, w.now + 10 * DAY_TICKS, log_fire, &lg);
    }
    double ms = ms_since(&start);
    ASSERT_EQ(fired, (size_t)4000);
    ASSERT_EQ(lg.bad, 0u);
    ASSERT_EQ(corio__wheel_validate(&w), 0);
    ASSERT(ms < 1000.0);
}

/* ---- every level, the epoch boundary and beyond ------------------------------------------- */

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

#define SPAN_MAX 160

TEST(wheel_every_level_and_overflow)
{
    static struct corio__wheel w;
    static struct log lg;
    static struct corio__timer t[SPAN_MAX];
    static uint64_t ticks[SPAN_MAX], sorted[SPAN_MAX];
    const uint64_t starts[] = {
        0,
        123456789,
        EPOCH - 7,                             /* just before an epoch boundary */
        5 * EPOCH + ((uint64_t)63 << 30) + 17, /* in the last level-5 slot of an epoch */
        UINT64_MAX - ((uint64_t)1 << 40),      /* near the end of time */
    };
    for (size_t si = 0; si < sizeof starts / sizeof starts[0]; si++) {
        uint64_t now = starts[si];
        uint64_t next_epoch = (now / EPOCH + 1) * EPOCH;
        size_t n = 0;
        corio__wheel_init(&w, now);
        log_init(&lg, &w, t);
        /* Distances around each level's span, the epoch size and the distance to the next
         * epoch start, and far beyond. */
        for (unsigned l = 0; l <= CORIO__WHEEL_LEVELS + 2; l++) {
            uint64_t span = (uint64_t)1 << (CORIO__WHEEL_BITS * l);
            ticks[n++] = now + span - 1;
            ticks[n++] = now + span;
            ticks[n++] = now + span + 1;
            ticks[n++] = now + 3 * span + 5;
        }
        for (uint64_t k = 0; k < 5; k++) {
            ticks[n++] = next_epoch - 2 + k;
            ticks[n++] = next_epoch + EPOCH - 2 + k;
        }
        ticks[n++] = now + ((uint64_t)1 << 44) + 3;
        ticks[n++] = now + ((uint64_t)1 << 50);
        ticks[n++] = UINT64_MAX;
        ticks[n++] = UINT64_MAX - 1;
        ticks[n++] = now; /* due at once */
        ticks[n++] = now + 1;
        ticks[n++] = (now | 63);
        for (size_t i = 0; i < n; i++) {
            if (ticks[i] < now) /* wrapped near the end of time: keep it in range */
                ticks[i] = UINT64_MAX - i;
            corio__timer_init(&t[i]);
            corio__wheel_add(&w, &t[i], ticks[i]);
            sorted[i] = ticks[i];
        }
        ASSERT_EQ(corio__wheel_validate(&w), 0);
        qsort(sorted, n, sizeof sorted[0], cmp_u64);
        /* Stop just before each distinct tick (nothing fires), then on it (exactly its timers
         * fire). */
        size_t done = 0;
        for (size_t i = 0; i < n; i++) {
            if (i > 0 && sorted[i] == sorted[i - 1])
                continue;
            uint64_t tk = sorted[i];
            ASSERT(corio__wheel_next(&w) <= tk && corio__wheel_next(&w) >= w.now);
            if (tk > w.now) {
                ASSERT_EQ(corio__wheel_run(&w, tk - 1, log_fire, &lg), (size_t)0);
                ASSERT_EQ(corio__wheel_validate(&w), 0);
            }
            size_t same = 0;
            while (i + same < n && sorted[i + same] == tk)
                same++;
            ASSERT_EQ(corio__wheel_run(&w, tk, log_fire, &lg), same);
            ASSERT_EQ(corio__wheel_validate(&w), 0);
            done += same;
            ASSERT_EQ(lg.n, done);
            for (size_t j = done - same; j < done; j++)
                ASSERT_EQ(lg.ticks[j], tk);
        }
        ASSERT_EQ(w.count, (size_t)0);
        ASSERT_EQ(lg.bad, 0u);
    }
}

TEST(wheel_far_epochs)
{
    /* Timers epochs away: run() jumps straight to the epoch of the earliest one rather than
     * stepping through 2^36-tick epochs one by one (2^28 of them up to UINT64_MAX), and a run
     * ending on an epoch start with them still pending re-places them without firing. */
    static struct corio__wheel w;
    static struct log lg;
    static struct corio__timer t[6];
    const uint64_t ticks[5] = {3 * EPOCH + 5, (uint64_t)1 << 50, ((uint64_t)1 << 60) + 99,
                               UINT64_MAX - 1, UINT64_MAX};
    corio__wheel_init(&w, 17);
    log_init(&lg, &w, t);
    for (size_t i = 0; i < 5; i++) {
        corio__timer_init(&t[i]);
        corio__wheel_add(&w, &t[i], ticks[i]);
    }
    ASSERT_EQ(corio__wheel_validate(&w), 0);
    ASSERT_EQ(corio__wheel_next(&w), EPOCH); /* a lower bound: the next epoch's start */
    ASSERT_EQ(corio__wheel_run(&w, EPOCH, log_fire, &lg), (size_t)0);
    ASSERT_EQ(corio__wheel_validate(&w), 0);
    ASSERT_EQ(corio__wheel_run(&w, 2 * EPOCH + 7, log_fire, &lg), (size_t)0);
    ASSERT_EQ(corio__wheel_run(&w, 3 * EPOCH + 4, log_fire, &lg), (size_t)0);
    ASSERT_EQ(corio__wheel_validate(&w), 0);
    ASSERT_EQ(corio__wheel_next(&w), 3 * EPOCH + 5); /* now at level 0: exact */
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    ASSERT_EQ(corio__wheel_run(&w, UINT64_MAX, log_fire, &lg), (size_t)5);
    ASSERT(ms_since(&start) < 100.0);
    ASSERT_EQ(lg.bad, 0u);
    for (size_t i = 0; i < 5; i++) {
        ASSERT_EQ(lg.ids[i], i);
        ASSERT_EQ(lg.ticks[i], ticks[i]);
    }
    ASSERT_EQ(corio__wheel_validate(&w), 0);
    /* A lone timer at the very last tick, from inside the last epoch. */
    corio__wheel_init(&w, UINT64_MAX - 12345678);
    corio__timer_init(&t[5]);
    corio__wheel_add(&w, &t[5], UINT64_MAX);
    ASSERT_EQ(corio__wheel_validate(&w), 0);
    ASSERT_EQ(corio__wheel_run(&w, UINT64_MAX - 1, log_fire, &lg), (size_t)0);
    ASSERT_EQ(corio__wheel_next(&w), UINT64_MAX);
    ASSERT_EQ(corio__wheel_run(&w, UINT64_MAX, log_fire, &lg), (size_t)1);
    ASSERT_EQ(lg.ticks[5], UINT64_MAX);
    ASSERT_EQ(corio__wheel_validate(&w), 0);
}

/* ---- a million random timers ---------------------------------------------------------------- */

#define MILLION 1000000

struct million {
    struct corio__wheel *w;
    struct corio__timer *t;
    unsigned char *state; /* 0 armed, 1 fired, 2 deleted */
    uint64_t prev_to, to, last_tick;
    size_t fired;
    unsigned long bad_twice, bad_early, bad_late, bad_order, bad_now;
};

static void million_fire(struct corio__timer *t, void *ctx)
{
    struct million *m = ctx;
    size_t id = (size_t)(t - m->t);
    m->bad_twice += m->state[id] != 0;
    m->state[id] = 1;
    m->bad_late += t->tick <= m->prev_to; /* should have fired in an earlier run */
    m->bad_early += t->tick > m->to;
    m->bad_order += t->tick < m->last_tick;
    m->bad_now += t->tick != m->w->now;
    m->last_tick = t->tick;
    m->fired++;
}

TEST(wheel_million_random)
{
    static struct corio__wheel w;
    static struct million m;
    struct corio__timer *t = malloc(MILLION * sizeof *t);
    unsigned char *state = calloc(MILLION, 1);
    ASSERT(t != NULL && state != NULL);
    uint64_t seed = 0x9e3779b97f4a7c15u;
    const uint64_t start = EPOCH - 1000000; /* the run crosses an epoch boundary */
    corio__wheel_init(&w, start);
    /* prev_to is the target of the previous run; no run yet, so nothing was due before. */
    m = (struct million){.w = &w, .t = t, .state = state, .prev_to = start - 1, .to = start};
    uint64_t max_tick = start;
    for (size_t i = 0; i < MILLION; i++) {
        uint64_t r = xorshift(&seed);
        unsigned bits = (unsigned)(r % 42); /* distances of 0 to 41 bits: every level and past */
        uint64_t d = bits ? (xorshift(&seed) & (((uint64_t)1 << bits) - 1)) : 0;
        corio__timer_init(&t[i]);
        corio__wheel_add(&w, &t[i], start + d);
        if (start + d > max_tick)
            max_tick = start + d;
    }
    ASSERT_EQ(corio__wheel_validate(&w), 0);
    size_t deleted = 0;
    for (size_t i = 0; i < MILLION; i += 1 + (size_t)(xorshift(&seed) % 20)) {
        corio__wheel_del(&w, &t[i]);
        state[i] = 2;
        deleted++;
    }
    ASSERT_EQ(w.count, (size_t)MILLION - deleted);
    ASSERT_EQ(corio__wheel_validate(&w), 0);
    corio__wheel_run(&w, start, million_fire, &m); /* the ones due at once */
    unsigned steps = 0;
    while (m.to < max_tick) {
        /* Fine steps first, where the timers are dense, then ever longer jumps. */
        unsigned cap = 4 + steps / 4 < 40 ? 4 + steps / 4 : 40;
        unsigned bits = (unsigned)(xorshift(&seed) % cap);
        m.prev_to = m.to;
        m.to += 1 + (xorshift(&seed) & (((uint64_t)1 << bits) - 1));
        corio__wheel_run(&w, m.to, million_fire, &m);
        if (++steps % 32 == 0)
            ASSERT_EQ(corio__wheel_validate(&w), 0);
    }
    ASSERT(steps > 200);
    ASSERT_EQ(corio__wheel_validate(&w), 0);
    ASSERT_EQ(w.count, (size_t)0);
    ASSERT_EQ(m.fired, (size_t)MILLION - deleted);
    ASSERT_EQ(m.bad_twice + m.bad_early + m.bad_late + m.bad_order + m.bad_now, 0ul);
    size_t unfired = 0;
    for (size_t i = 0; i < MILLION; i++)
        unfired += state[i] == 0;
    ASSERT_EQ(unfired, (size_t)0);
    free(t);
    free(state);
}

/* ---- randomized model check ---------------------------------------------------------------- */

/* The reference: an array of timers with armed flag, tick and insertion sequence; the next to
 * fire is the armed one with the smallest (tick, seq). The wheel runs in lockstep: each fire
 * call is compared with the model's choice, then both apply the timer's action (chosen at add
 * time, so both sides do the same thing). */
#define MODEL_N 256

enum action { ACT_NONE, ACT_READD, ACT_DEL_OTHER, ACT_ADD_OTHER };

struct model {
    struct corio__wheel w;
    struct corio__timer t[MODEL_N];
    bool armed[MODEL_N];
    uint64_t tick[MODEL_N], seq[MODEL_N];
    enum action act[MODEL_N];
    uint64_t arg[MODEL_N]; /* delta for re-adds and adds, target id for others */
    size_t other[MODEL_N];
    uint64_t now, to, next_seq, rng;
    unsigned long mismatches, fired;
};

static uint64_t model_delta(uint64_t *rng)
{
    uint64_t r = xorshift(rng);
    static const unsigned scale[8] = {0, 3, 6, 7, 12, 20, 36, 40};
    unsigned bits = scale[r & 7];
    return bits ? (xorshift(rng) & (((uint64_t)1 << bits) - 1)) : 0;
}

static uint64_t sub_sat(uint64_t a, uint64_t b)
{
    return a > b ? a - b : 0;
}

static void model_add(struct model *m, size_t id, uint64_t tick, uint64_t *rng)
{
    corio__wheel_add(&m->w, &m->t[id], tick);
    m->armed[id] = true;
    m->tick[id] = tick < m->now ? m->now : tick;
    m->seq[id] = m->next_seq++;
    if (m->t[id].tick != m->tick[id])
        m->mismatches++;
    static const enum action acts[8] = {ACT_NONE,  ACT_NONE,      ACT_NONE,      ACT_NONE,
                                        ACT_READD, ACT_DEL_OTHER, ACT_ADD_OTHER, ACT_NONE};
    m->act[id] = acts[xorshift(rng) & 7];
    m->arg[id] = model_delta(rng);
    m->other[id] = (size_t)(xorshift(rng) % MODEL_N);
}

static void model_del(struct model *m, size_t id)
{
    corio__wheel_del(&m->w, &m->t[id]);
    m->armed[id] = false;
}

static void model_fire(struct corio__timer *t, void *ctx)
{
    struct model *m = ctx;
    size_t id = (size_t)(t - m->t), want = MODEL_N;
    for (size_t i = 0; i < MODEL_N; i++) {
        if (m->armed[i] && m->tick[i] <= m->to &&
            (want == MODEL_N || m->tick[i] < m->tick[want] ||
             (m->tick[i] == m->tick[want] && m->seq[i] < m->seq[want])))
            want = i;
    }
    m->fired++;
    if (id != want || corio__timer_armed(t) || m->w.now != t->tick) {
        m->mismatches++;
        return;
    }
    m->armed[id] = false;
    m->now = m->tick[id];
    /* The action's randomness comes from the model's own stream, consumed in fire order,
     * which is the same on both sides as long as they agree. */
    size_t o = m->other[id];
    switch (m->act[id]) {
    case ACT_READD: /* once: the re-added timer gets a fresh action that may be NONE */
        model_add(m, id, m->now + m->arg[id] / 2, &m->rng);
        if (m->act[id] == ACT_READD && m->arg[id] < 2)
            m->act[id] = ACT_NONE; /* avoid an endless chain at one tick */
        break;
    case ACT_DEL_OTHER:
        model_del(m, o);
        break;
    case ACT_ADD_OTHER:
        if (!m->armed[o]) {
            /* odd deltas go back in time: clamped to now, so it fires in this run */
            model_add(m, o, (m->arg[id] & 1) ? sub_sat(m->now, m->arg[id]) : m->now + m->arg[id],
                      &m->rng);
            if (m->act[o] == ACT_ADD_OTHER || m->act[o] == ACT_READD)
                m->act[o] = ACT_NONE;
        }
        break;
    case ACT_NONE:
        break;
    }
}

static unsigned long model_check(struct model *m, uint64_t start, uint64_t seed, int ops)
{
    memset(m, 0, sizeof *m);
    corio__wheel_init(&m->w, start);
    m->now = m->to = start;
    m->rng = seed ^ 0x5555;
    for (size_t i = 0; i < MODEL_N; i++)
        corio__timer_init(&m->t[i]);
    uint64_t rng = seed;
    for (int op = 0; op < ops; op++) {
        uint64_t r = xorshift(&rng);
        size_t id = (size_t)((r >> 8) % MODEL_N);
        switch (r % 10) {
        case 0:
        case 1:
        case 2:
        case 3: { /* add (a past tick sometimes) */
            if (m->armed[id])
                model_del(m, id);
            uint64_t d = model_delta(&rng);
            model_add(m, id, (r & 0x100000) ? sub_sat(m->now, d) : m->now + d, &rng);
            break;
        }
        case 4:
        case 5:
            model_del(m, id);
            break;
        default: { /* run; to below now sometimes */
            uint64_t d = model_delta(&rng);
            uint64_t to = (r & 0x100000) ? sub_sat(m->now, d) : m->now + d;
            m->to = to < m->now ? m->now : to;
            unsigned long before = m->fired;
            size_t n = corio__wheel_run(&m->w, to, model_fire, m);
            m->mismatches += n != m->fired - before;
            m->now = m->to;
            for (size_t i = 0; i < MODEL_N; i++)
                m->mismatches += m->armed[i] && m->tick[i] <= m->to;
            break;
        }
        }
        size_t armed = 0;
        for (size_t i = 0; i < MODEL_N; i++) {
            armed += m->armed[i];
            m->mismatches += m->armed[i] != corio__timer_armed(&m->t[i]);
        }
        m->mismatches += armed != m->w.count || m->now != m->w.now;
        m->mismatches += corio__wheel_validate(&m->w) != 0;
        if (m->mismatches)
            break;
    }
    return m->mismatches;
}

TEST(wheel_model_check)
{
    static struct model m;
    ASSERT_EQ(model_check(&m, 0, 0x1234567u, 100000), 0ul);
    ASSERT_GT(m.fired, 10000ul);
    ASSERT_EQ(model_check(&m, EPOCH - 3000, 0xdeadbeefu, 50000), 0ul);
    ASSERT_EQ(model_check(&m, 7 * EPOCH + ((uint64_t)62 << 30), 0xc0ffeeu, 50000), 0ul);
}
