/* SPDX-License-Identifier: MIT */
/* examples/deadlines.c: deadline scopes.
 *
 * 1. Scopes nest and the earliest deadline wins, whichever scope it belongs to.
 *    corio_deadline_leave() tells which scope's deadline fired.
 * 2. An inner deadline that fires does not end the outer scope: the code after it goes on.
 * 3. corio_wait_for(): run a function under a timeout, in the same task.
 * 4. A shield ignores the outer deadlines (and cancellation); only its own applies.
 * Runs in about 0.2 s and exits 0.
 */
#include <corio/core.h>
#include <errno.h>
#include <stdio.h>

static long long ms_since(int64_t t0)
{
    return (long long)((corio_now() - t0 + CORIO_MS / 2) / CORIO_MS);
}

static int slow_lookup(void *arg)
{
    int *value = arg;
    int rc = corio_sleep(80 * CORIO_MS);
    if (rc < 0)
        return rc;
    *value = 42;
    return 0;
}

static int main_task(void *arg)
{
    (void)arg;
    corio_deadline outer, inner;

    printf("1. nesting: outer 50 ms, inner 300 ms\n");
    corio_deadline_enter(&outer, corio_after(50 * CORIO_MS));
    corio_deadline_enter(&inner, corio_after(300 * CORIO_MS));
    printf("   effective deadline: in %lld ms\n",
           (long long)((corio_deadline_current() - corio_now()) / CORIO_MS));
    int rc = corio_sleep(CORIO_S);
    bool inner_hit = corio_deadline_leave(&inner);
    bool outer_hit = corio_deadline_leave(&outer);
    printf("   sleep(1 s): %s; inner fired: %d, outer fired: %d\n", corio_strerror(rc), inner_hit,
           outer_hit);

    printf("2. an inner deadline that fires leaves the outer scope running\n");
    int64_t t0 = corio_now();
    corio_deadline_enter(&outer, corio_after(200 * CORIO_MS));
    corio_deadline_enter(&inner, corio_after(20 * CORIO_MS));
    rc = corio_sleep(CORIO_S);
    inner_hit = corio_deadline_leave(&inner);
    printf("   inner: %s after %lld ms (fired: %d)\n", corio_strerror(rc), ms_since(t0), inner_hit);
    rc = corio_sleep(10 * CORIO_MS); /* still under the outer 200 ms */
    outer_hit = corio_deadline_leave(&outer);
    printf("   then sleep(10 ms): %s; outer fired: %d\n", corio_strerror(rc), outer_hit);

    printf("3. corio_wait_for\n");
    int value = 0;
    rc = corio_wait_for(50 * CORIO_MS, slow_lookup, &value);
    printf("   50 ms budget: %s, value %d\n", corio_strerror(rc), value);
    rc = corio_wait_for(100 * CORIO_MS, slow_lookup, &value);
    printf("   100 ms budget: %s, value %d\n", corio_strerror(rc), value);

    printf("4. a shield inside an expired deadline\n");
    corio_deadline_enter(&outer, corio_after(10 * CORIO_MS));
    rc = corio_sleep(CORIO_S);
    printf("   sleep: %s; corio_check(): %s\n", corio_strerror(rc), corio_strerror(corio_check()));
    corio_deadline shield;
    corio_shield_enter(&shield, corio_after(50 * CORIO_MS)); /* a cleanup budget */
    rc = corio_sleep(10 * CORIO_MS);
    printf("   in the shield: sleep(10 ms): %s\n", corio_strerror(rc));
    corio_deadline_leave(&shield);
    corio_deadline_leave(&outer);
    return 0;
}

int main(void)
{
    return corio_run(NULL, main_task, NULL) < 0 ? 1 : 0;
}
