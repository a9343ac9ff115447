/* SPDX-License-Identifier: MIT */
/* Per-thread metric slots: the index of the shard a thread records into.
 *
 * A thread takes the lowest free slot the first time it records and gives it back when it
 * exits (through a pthread key destructor); a later thread that takes the slot keeps adding to
 * the same shards, so nothing recorded is lost when threads come and go. The bitmap is behind a
 * mutex taken only then, which also orders the old owner's table updates before the new
 * owner's. When all CORIO__OBS_SLOTS slots are owned, further threads use the shared slot, whose
 * shards lock their lookup table: correct, only slower. This file deliberately knows nothing of
 * metrics.
 */
#include "obs_int.h"

#include <stdint.h>

static pthread_mutex_t slot_mu = PTHREAD_MUTEX_INITIALIZER;
static uint64_t slot_used[CORIO__OBS_SLOTS / 64];
static pthread_once_t slot_once = PTHREAD_ONCE_INIT;
static pthread_key_t slot_key;
static bool slot_key_ok;
static _Thread_local int tls_slot = -1;

static void slot_release(void *v)
{
    int s = (int)(intptr_t)v - 1;
    pthread_mutex_lock(&slot_mu);
    slot_used[s / 64] &= ~(UINT64_C(1) << (s % 64));
    pthread_mutex_unlock(&slot_mu);
    /* Another thread may own the slot from now on; whatever this thread still records (from a
     * later key destructor) goes to the shared slot. */
    tls_slot = CORIO__OBS_SHARED_SLOT;
}

static void slot_key_create(void)
{
    slot_key_ok = pthread_key_create(&slot_key, slot_release) == 0;
}

static int slot_acquire(void)
{
    int s = CORIO__OBS_SHARED_SLOT;
    pthread_once(&slot_once, slot_key_create);
    if (slot_key_ok) {
        pthread_mutex_lock(&slot_mu);
        for (int w = 0; w < CORIO__OBS_SLOTS / 64 && s == CORIO__OBS_SHARED_SLOT; w++) {
            if (slot_used[w] == UINT64_MAX)
                continue;
            int b = __builtin_ctzll(~slot_used[w]);
            if (pthread_setspecific(slot_key, (void *)(intptr_t)(w * 64 + b + 1)) != 0)
                break;
            slot_used[w] |= UINT64_C(1) << b;
            s = w * 64 + b;
        }
        pthread_mutex_unlock(&slot_mu);
    }
    tls_slot = s;
    return s;
}

int corio__obs_thread_slot(void)
{
    int s = tls_slot;
    if (__builtin_expect(s >= 0, 1))
        return s;
    return slot_acquire();
}
