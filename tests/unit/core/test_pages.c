/* SPDX-License-Identifier: MIT */
/* The per-loop page pool (src/core/pages.h): pages are page-aligned and writable, reused warm
 * (LIFO) while the loop is busy, and beyond the warm reserve handed back to the kernel when the
 * loop sleeps (checked with mincore: a returned page is no longer resident), and fresh again
 * on the next use. Outside a loop, and in AddressSanitizer builds, pages come from
 * aligned_alloc (pooled == false) and those cases check only the plain contract.
 */
#include "test.h"

#include "core/pages.h"
#include "corio/core.h"

#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#define N 300

static bool resident(void *p)
{
    unsigned char v = 0;
    ASSERT_EQ(mincore(p, CORIO__PAGE, &v), 0);
    return v & 1;
}

static int pool_main(void *arg)
{
    (void)arg;
    void *pg[N];
    bool pooled[N];
    for (int i = 0; i < N; i++) {
        pg[i] = corio__page_get(&pooled[i]);
        ASSERT_NOT_NULL(pg[i]);
        ASSERT_EQ((uintptr_t)pg[i] % CORIO__PAGE, 0u);
        memset(pg[i], i & 0xff, CORIO__PAGE);
    }
    for (int i = 0; i < N; i++)
        corio__page_put(pg[i], pooled[i]);
    if (!pooled[0])
        return 0; /* sanitizer build: plain allocations, nothing more to see */
    /* Busy loop (no sleep yet): the last page returned is the first handed out, still warm. */
    bool p;
    void *again = corio__page_get(&p);
    ASSERT(p);
    ASSERT(again == pg[N - 1]);
    ASSERT_EQ(((unsigned char *)again)[17], (N - 1) & 0xff);
    corio__page_put(again, p);
    /* A sleep lets the loop trim: most free pages are no longer resident. */
    ASSERT_EQ(corio_sleep(CORIO_MS), 0);
    int still = 0;
    for (int i = 0; i < N; i++)
        still += resident(pg[i]);
    ASSERT_LT(still, 100);
    ASSERT_GT(still, 0); /* the warm reserve */
    /* Every page comes back, writable, before the pool maps more; cold ones read as zeros. */
    int zeros = 0;
    for (int i = 0; i < N; i++) {
        pg[i] = corio__page_get(&pooled[i]);
        ASSERT(pooled[i]);
        zeros += ((unsigned char *)pg[i])[100] == 0 && ((unsigned char *)pg[i])[4000] == 0;
        memset(pg[i], 0x5a, CORIO__PAGE);
    }
    ASSERT_GE(zeros, N - 100);
    for (int i = 0; i < N; i++)
        corio__page_put(pg[i], pooled[i]);
    return 0;
}

TEST(pages_are_reused_warm_and_returned_when_the_loop_sleeps)
{
    ASSERT_EQ(corio_run(NULL, pool_main, NULL), 0);
}

static int blocks_main(void *arg)
{
    (void)arg;
    bool p1, p2, p3;
    char *a = corio__pages_get(2, &p1), *b = corio__pages_get(1, &p2);
    ASSERT_NOT_NULL(a);
    ASSERT_NOT_NULL(b);
    ASSERT_EQ((uintptr_t)a % CORIO__PAGE, 0u);
    memset(a, 7, 2 * CORIO__PAGE);
    memset(b, 9, CORIO__PAGE);
    ASSERT(b >= a + 2 * CORIO__PAGE || b + CORIO__PAGE <= a); /* no overlap */
    corio__pages_put(a, 2, p1);
    /* A freed two-page block serves two-page requests only. */
    char *c = corio__pages_get(1, &p3);
    ASSERT(c != a || !p1);
    corio__pages_put(c, 1, p3);
    char *d = corio__pages_get(2, &p3);
    if (p1)
        ASSERT_PTR_EQ(d, a);
    ASSERT_EQ(d[2 * CORIO__PAGE - 1] == 7 || !p1, true);
    corio__pages_put(d, 2, p3);
    corio__pages_put(b, 1, p2);
    return 0;
}

TEST(two_page_blocks_have_their_own_free_list)
{
    ASSERT_EQ(corio_run(NULL, blocks_main, NULL), 0);
}

TEST(outside_a_loop_pages_are_plain_allocations)
{
    bool pooled = true;
    void *p = corio__page_get(&pooled);
    ASSERT_NOT_NULL(p);
    ASSERT(!pooled);
    memset(p, 1, CORIO__PAGE);
    corio__page_put(p, pooled);
}
