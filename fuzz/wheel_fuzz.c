/* SPDX-License-Identifier: MIT */
/* libFuzzer target for the timer wheel (src/core/wheel.c). The input is a program of operations
 * on 256 timers, checked against a reference model: an array of (armed, tick, insertion
 * sequence) where the next timer to fire is the armed one with the smallest (tick, sequence).
 *
 *   op byte % 4 == 0, 1   add:  id, delta, action, other   (re-arms id if armed)
 *   op byte % 4 == 2      del:  id
 *   op byte % 4 == 3      run:  delta
 *   delta: a class byte, then 0 to 8 little-endian bytes; some classes aim at the epoch
 *   boundary or the past, so clamping and the overflow slot get exercised.
 *
 * The wheel runs in lockstep with the model: every fire call must name the timer the model
 * picks, with w->now equal to its tick, and then both sides apply the action chosen at add time
 * (re-add itself later, delete another timer, add another timer, or nothing). Timers armed from
 * fire get no action of their own, which bounds the fires per input. Any disagreement, or a
 * non-zero corio__wheel_validate() after an operation, aborts. Invariant of the harness: the
 * model is only mutated next to the matching wheel call.
 *
 * Built as fuzz_wheel (CORIO_FUZZ=ON) and, for replaying saved inputs, fuzz_regress_wheel. By
 * hand: clang -fsanitize=fuzzer,address,undefined -Isrc fuzz/wheel_fuzz.c src/core/wheel.c.
 */
#include "core/wheel.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N 256
#define EPOCH ((uint64_t)1 << (CORIO__WHEEL_BITS * CORIO__WHEEL_LEVELS))

enum action { ACT_NONE, ACT_READD, ACT_DEL_OTHER, ACT_ADD_OTHER };

struct model {
    struct corio__wheel w;
    struct corio__timer t[N];
    bool armed[N];
    uint64_t tick[N], seq[N], arg[N];
    enum action act[N];
    uint8_t other[N];
    uint64_t now, to, next_seq;
    size_t fired;
};

struct input {
    const uint8_t *p, *end;
};

static uint8_t byte(struct input *in)
{
    return in->p < in->end ? *in->p++ : 0;
}

static uint64_t bytes(struct input *in, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++)
        v |= (uint64_t)byte(in) << (8 * i);
    return v;
}

static uint64_t add_sat(uint64_t a, uint64_t b)
{
    return a + b < a ? UINT64_MAX : a + b;
}
static uint64_t sub_sat(uint64_t a, uint64_t b)
{
    return a > b ? a - b : 0;
}

/* A target tick relative to now. */
static uint64_t target(struct input *in, uint64_t now)
{
    uint8_t cls = byte(in);
    uint64_t next_epoch = add_sat(now | (EPOCH - 1), 1);
    switch (cls & 7) {
    case 0:
        return add_sat(now, cls >> 3);
    case 1:
        return add_sat(now, bytes(in, 1));
    case 2:
        return add_sat(now, bytes(in, 2));
    case 3:
        return add_sat(now, bytes(in, 4));
    case 4:
        return add_sat(now, bytes(in, 5)); /* up to 2^40: the overflow slot */
    case 5:
        return add_sat(now, bytes(in, 8));
    case 6: /* around the next epoch boundary */
        return (cls & 8) ? sub_sat(next_epoch, bytes(in, 1)) : add_sat(next_epoch, bytes(in, 1));
    default:
        return sub_sat(now, bytes(in, 2)); /* the past: clamped */
    }
}

static void fail(const char *what, size_t id)
{
    fprintf(stderr, "wheel_fuzz: %s (timer %zu)\n", what, id);
    abort();
}

static void model_add(struct model *m, size_t id, uint64_t tick)
{
    corio__wheel_add(&m->w, &m->t[id], tick);
    m->armed[id] = true;
    m->tick[id] = tick < m->now ? m->now : tick;
    m->seq[id] = m->next_seq++;
    m->act[id] = ACT_NONE;
    if (m->t[id].tick != m->tick[id])
        fail("stored tick differs", id);
}

static void model_del(struct model *m, size_t id)
{
    corio__wheel_del(&m->w, &m->t[id]);
    m->armed[id] = false;
}

static void fire(struct corio__timer *t, void *ctx)
{
    struct model *m = ctx;
    size_t id = (size_t)(t - m->t), want = N;
    for (size_t i = 0; i < N; i++) {
        if (m->armed[i] && m->tick[i] <= m->to &&
            (want == N || m->tick[i] < m->tick[want] ||
             (m->tick[i] == m->tick[want] && m->seq[i] < m->seq[want])))
            want = i;
    }
    if (id != want)
        fail("fired out of order", id);
    if (corio__timer_armed(t) || m->w.now != t->tick)
        fail("fired armed or off its tick", id);
    m->armed[id] = false;
    m->now = m->tick[id];
    m->fired++;
    size_t o = m->other[id];
    switch (m->act[id]) {
    case ACT_READD:
        model_add(m, id, add_sat(m->now, m->arg[id]));
        break;
    case ACT_DEL_OTHER:
        model_del(m, o);
        break;
    case ACT_ADD_OTHER:
        if (!m->armed[o])
            model_add(m, o,
                      (m->arg[id] & 1) ? sub_sat(m->now, m->arg[id]) : add_sat(m->now, m->arg[id]));
        break;
    case ACT_NONE:
        break;
    }
}

static void check(struct model *m)
{
    size_t armed = 0;
    for (size_t i = 0; i < N; i++) {
        armed += m->armed[i];
        if (m->armed[i] != corio__timer_armed(&m->t[i]))
            fail("armed state differs", i);
    }
    if (armed != m->w.count)
        fail("count differs", armed);
    if (m->now != m->w.now)
        fail("now differs", 0);
    int v = corio__wheel_validate(&m->w);
    if (v != 0)
        fail("validate failed", (size_t)-v);
    uint64_t next = corio__wheel_next(&m->w);
    for (size_t i = 0; i < N; i++) {
        if (m->armed[i] && next > m->tick[i])
            fail("next() above an armed tick", i);
    }
    if (armed == 0 ? next != UINT64_MAX : next < m->now)
        fail("next() out of range", 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct model m;
    struct input in = {data, data + size};
    memset(&m, 0, sizeof m);
    m.now = m.to = bytes(&in, 8) >> (byte(&in) & 63); /* any start, often a small one */
    corio__wheel_init(&m.w, m.now);
    for (size_t i = 0; i < N; i++)
        corio__timer_init(&m.t[i]);
    while (in.p < in.end) {
        uint8_t op = byte(&in);
        size_t id;
        switch (op & 3) {
        case 0:
        case 1: {
            id = byte(&in);
            if (m.armed[id])
                model_del(&m, id);
            uint64_t tick = target(&in, m.now);
            model_add(&m, id, tick);
            uint8_t a = byte(&in);
            m.act[id] = (enum action)(a & 3);
            m.arg[id] = (uint64_t)(a >> 2) << (a & 0x80 ? 20 : 0);
            m.other[id] = byte(&in);
            break;
        }
        case 2:
            id = byte(&in);
            model_del(&m, id);
            break;
        default: {
            uint64_t to = target(&in, m.now);
            m.to = to < m.now ? m.now : to;
            size_t before = m.fired;
            if (corio__wheel_run(&m.w, to, fire, &m) != m.fired - before)
                fail("run returned a wrong count", m.fired - before);
            m.now = m.to;
            for (size_t i = 0; i < N; i++) {
                if (m.armed[i] && m.tick[i] <= m.to)
                    fail("due timer left armed", i);
            }
            break;
        }
        }
        check(&m);
    }
    return 0;
}
