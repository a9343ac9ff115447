/* SPDX-License-Identifier: MIT */
/* Coroutine stacks: a per-loop pool carved out of large mappings ("slabs"), and stack overflow
 * reporting.
 *
 * Why slabs: a mapping per stack would cost one memory map each (two with a guard page), and
 * Linux allows vm.max_map_count (65530 by default) per process, so a million coroutines could
 * not exist. A slab holds many stacks in one mapping. Guard pages still split a mapping in two,
 * so they are given to the first stacks only, up to a process-wide budget (default
 * vm.max_map_count / 8 stacks); later slabs are unguarded. An unguarded stack's lowest bytes are
 * never written by a well-behaved task, so they stay zero; they are checked when the task ends
 * and a non-zero byte is reported as an overflow (after the fact, but naming the task).
 *
 * Memory: slabs are mapped MAP_NORESERVE, so only the pages a task touches become resident:
 * a task that sleeps uses one page. Free stacks go on a LIFO (warm in cache); beyond the
 * configured cache, a freed stack's pages are returned to the kernel with MADV_DONTNEED.
 *
 * Overflow reports: each loop thread has an alternate signal stack and a SIGSEGV handler that
 * checks whether the faulting address lies in the running task's guard page; if so it writes
 * one line naming the task, its id and spawn site, and aborts. Any other fault is re-raised with
 * the previous disposition.
 */
#include "core_int.h"

#include <errno.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#if CORIO_ASAN
#include <sanitizer/asan_interface.h>
#endif
#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define CORIO_VALGRIND 1
#endif
#endif

#define SLAB_BYTES ((size_t)16 << 20) /* 16 MiB: 256 stacks of 64 KiB per mapping */
#define CANARY_BYTES 64

static _Atomic long guard_budget = -1; /* stacks that may still get a guard page */

size_t corio__page_size(void)
{
    static size_t ps;
    if (!ps)
        ps = (size_t)sysconf(_SC_PAGESIZE);
    return ps;
}

static long default_guard_budget(void)
{
    long maps = 65530;
    FILE *f = fopen("/proc/sys/vm/max_map_count", "r");
    if (f) {
        if (fscanf(f, "%ld", &maps) != 1)
            maps = 65530;
        fclose(f);
    }
    return maps / 8;
}

void corio__stack_guard_budget_set(size_t stacks)
{
    long want = stacks ? (long)stacks : default_guard_budget();
    long expect = -1;
    /* Set once per process: the budget counts mappings, which are per process. */
    atomic_compare_exchange_strong(&guard_budget, &expect, want);
}

static bool take_guards(long n)
{
    long cur = atomic_load(&guard_budget);
    while (cur >= n) {
        if (atomic_compare_exchange_weak(&guard_budget, &cur, cur - n))
            return true;
    }
    return false;
}

void corio__stack_pool_init(struct corio__stack_pool *p, size_t size, size_t cache)
{
    size_t ps = corio__page_size();
    memset(p, 0, sizeof(*p));
    p->size = (size + ps - 1) & ~(ps - 1);
    p->cache = cache;
    corio__stack_guard_budget_set(0);
}

static int remember_slab(struct corio__stack_pool *p, void *base, size_t len, size_t guards)
{
    if (p->nslabs == p->capslabs) {
        size_t cap = p->capslabs ? p->capslabs * 2 : 16;
        struct corio__slab *s = realloc(p->slabs, cap * sizeof(*s));
        if (!s)
            return -ENOMEM;
        p->slabs = s;
        p->capslabs = cap;
    }
    p->slabs[p->nslabs++] = (struct corio__slab){.base = base, .len = len, .guards = guards};
    return 0;
}

static int new_slab(struct corio__stack_pool *p)
{
    size_t ps = corio__page_size();
    size_t n = SLAB_BYTES / p->size;
    if (n < 4)
        n = 4;
    bool guarded = take_guards((long)n);
    size_t per = p->size + (guarded ? ps : 0);
    size_t len = n * per;
    char *base = mmap(NULL, len, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
    if (base == MAP_FAILED) {
        if (guarded)
            atomic_fetch_add(&guard_budget, (long)n);
        return -ENOMEM;
    }
    if (remember_slab(p, base, len, guarded ? n : 0) < 0) {
        munmap(base, len);
        if (guarded)
            atomic_fetch_add(&guard_budget, (long)n);
        return -ENOMEM;
    }
    if (guarded) {
        for (size_t i = 0; i < n; i++)
            if (mprotect(base + i * per, ps, PROT_NONE) < 0) {
                /* Out of map entries: the remaining stacks of this slab still have their extra
                 * page below them, just not protected; count them as unguarded. */
                guarded = false;
                break;
            }
    }
    p->slab_next = base;
    p->slab_end = base + len;
    p->slab_stride = per;
    p->slab_guarded = guarded;
    return 0;
}

int corio__stack_get(struct corio__stack_pool *p, size_t size, struct corio__stack *out)
{
    size_t ps = corio__page_size();
    if (size == 0 || size == p->size) {
        if (p->nfree) {
            *out = p->free[--p->nfree];
            if (p->ntrimmed > p->nfree)
                p->ntrimmed = p->nfree;
            return 0;
        }
        if (p->slab_next == NULL || (size_t)(p->slab_end - p->slab_next) < p->slab_stride) {
            int rc = new_slab(p);
            if (rc < 0)
                return rc;
        }
        size_t per = p->slab_stride;
        out->lo = p->slab_next + (per - p->size);
        out->size = p->size;
        out->guarded = p->slab_guarded;
        out->pooled = true;
        p->slab_next += per;
        p->mapped++;
#if CORIO_VALGRIND
        if (RUNNING_ON_VALGRIND)
            VALGRIND_STACK_REGISTER(out->lo, out->lo + out->size);
#endif
        return 0;
    }
    /* An odd size: a mapping of its own, with a guard page if the budget allows. */
    size = (size + ps - 1) & ~(ps - 1);
    bool guarded = take_guards(1);
    size_t len = size + (guarded ? ps : 0);
    char *base = mmap(NULL, len, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
    if (base == MAP_FAILED) {
        if (guarded)
            atomic_fetch_add(&guard_budget, 1);
        return -ENOMEM;
    }
    if (guarded && mprotect(base, ps, PROT_NONE) < 0)
        guarded = false;
    out->lo = base + (guarded ? ps : 0);
    out->size = size;
    out->guarded = guarded;
    out->pooled = false;
    return 0;
}

void corio__stack_put(struct corio__stack_pool *p, struct corio__stack *s)
{
#if CORIO_ASAN
    /* Frames of a coroutine that never returned leave poisoned redzones behind. */
    ASAN_UNPOISON_MEMORY_REGION(s->lo, s->size);
#endif
    if (!s->pooled) {
        size_t ps = corio__page_size();
        char *base = s->lo - (s->guarded ? ps : 0);
        munmap(base, s->size + (s->guarded ? ps : 0));
        if (s->guarded)
            atomic_fetch_add(&guard_budget, 1);
        return;
    }
    if (p->nfree == p->capfree) {
        size_t cap = p->capfree ? p->capfree * 2 : 64;
        struct corio__stack *f = realloc(p->free, cap * sizeof(*f));
        if (!f) {
            /* Cannot remember it: the stack stays mapped until the loop ends. */
            madvise(s->lo, s->size, MADV_DONTNEED);
            return;
        }
        p->free = f;
        p->capfree = cap;
    }
    p->free[p->nfree++] = *s;
}

static int by_address(const void *a, const void *b)
{
    const struct corio__stack *x = a, *y = b;
    return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* Why here and not in stack_put: madvise costs a TLB shootdown, and a burst of a million
 * finishing tasks would pay it a million times. The free list is a LIFO, so its bottom holds
 * the coldest stacks; beyond the cache they are sorted by address and released with one
 * madvise per run of adjacent stacks (a slab's stacks are contiguous), when the loop idles. */
void corio__stack_pool_trim(struct corio__stack_pool *p)
{
    if (p->nfree <= p->cache + p->ntrimmed)
        return;
    size_t end = p->nfree - p->cache;
    struct corio__stack *cold = p->free + p->ntrimmed;
    size_t n = end - p->ntrimmed;
    qsort(cold, n, sizeof(*cold), by_address);
    for (size_t i = 0; i < n;) {
        char *lo = cold[i].lo;
        char *hi = lo + cold[i].size;
        size_t j = i + 1;
        while (j < n && !cold[j].guarded && !cold[i].guarded && cold[j].lo == hi) {
            hi += cold[j].size;
            j++;
        }
        madvise(lo, (size_t)(hi - lo), MADV_DONTNEED); /* keep the addresses, drop the pages */
        i = j;
    }
    p->ntrimmed = end;
}

void corio__stack_pool_deinit(struct corio__stack_pool *p)
{
    for (size_t i = 0; i < p->nslabs; i++) {
        munmap(p->slabs[i].base, p->slabs[i].len);
        if (p->slabs[i].guards)
            atomic_fetch_add(&guard_budget, (long)p->slabs[i].guards);
    }
    free(p->slabs);
    free(p->free);
    memset(p, 0, sizeof(*p));
}

/* ---- overflow detection ---------------------------------------------------------------------- */

static struct sigaction old_segv, old_bus;
static _Atomic int handler_users;

static size_t append(char *buf, size_t at, size_t cap, const char *s)
{
    while (*s && at + 1 < cap)
        buf[at++] = *s++;
    return at;
}

static size_t append_u64(char *buf, size_t at, size_t cap, uint64_t v)
{
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n && at + 1 < cap)
        buf[at++] = tmp[--n];
    return at;
}

static void report_overflow(const corio_task *t, const char *how)
{
    /* Async-signal-safe: no stdio, no malloc. */
    char buf[512];
    size_t n = 0;
    n = append(buf, n, sizeof buf, "corio: stack overflow in task '");
    n = append(buf, n, sizeof buf, t->name);
    n = append(buf, n, sizeof buf, "' (id ");
    n = append_u64(buf, n, sizeof buf, t->id);
    n = append(buf, n, sizeof buf, ", spawned at ");
    n = append(buf, n, sizeof buf, t->site ? t->site : "?");
    n = append(buf, n, sizeof buf, ", stack ");
    n = append_u64(buf, n, sizeof buf, t->stack.size);
    n = append(buf, n, sizeof buf, " bytes");
    n = append(buf, n, sizeof buf, how);
    n = append(buf, n, sizeof buf, "); give it a larger stack_size\n");
    ssize_t w = write(STDERR_FILENO, buf, n);
    (void)w;
}

static void segv_handler(int sig, siginfo_t *si, void *uc)
{
    corio_loop *l = corio__tls_loop;
    corio_task *t = l ? l->cur : NULL;
    if (t && t->stack.guarded) {
        char *a = si->si_addr;
        size_t ps = corio__page_size();
        /* A little slack below the guard: a large frame can skip past it. */
        if (a >= t->stack.lo - 16 * ps && a < t->stack.lo) {
            report_overflow(t, ", hit the guard page");
            signal(SIGABRT, SIG_DFL);
            abort();
        }
    }
    /* Not ours: hand over to whoever was installed before. */
    struct sigaction *old = sig == SIGSEGV ? &old_segv : &old_bus;
    if (old->sa_flags & SA_SIGINFO) {
        if (old->sa_sigaction) {
            old->sa_sigaction(sig, si, uc);
            return;
        }
    } else if (old->sa_handler != SIG_DFL && old->sa_handler != SIG_IGN) {
        old->sa_handler(sig);
        return;
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

int corio__overflow_handler_install(corio_loop *l)
{
    size_t sz = 64 * 1024;
    l->altstack = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (l->altstack == MAP_FAILED) {
        l->altstack = NULL;
        return -ENOMEM;
    }
    stack_t ss = {.ss_sp = l->altstack, .ss_size = sz, .ss_flags = 0};
    if (sigaltstack(&ss, NULL) < 0)
        return -errno;
    if (atomic_fetch_add(&handler_users, 1) == 0) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_sigaction = segv_handler;
        sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGSEGV, &sa, &old_segv);
        sigaction(SIGBUS, &sa, &old_bus);
    }
    return 0;
}

void corio__overflow_handler_remove(corio_loop *l)
{
    if (!l->altstack)
        return;
    if (atomic_fetch_sub(&handler_users, 1) == 1) {
        sigaction(SIGSEGV, &old_segv, NULL);
        sigaction(SIGBUS, &old_bus, NULL);
    }
    stack_t ss = {.ss_flags = SS_DISABLE};
    sigaltstack(&ss, NULL);
    munmap(l->altstack, 64 * 1024);
    l->altstack = NULL;
}

__attribute__((no_sanitize("address"))) void corio__stack_check_canary(corio_task *t)
{
    if (t->stack.guarded)
        return;
    /* Reading a page the task never touched would fault it in (and on some kernels allocate
     * it), doubling the memory of an idle task. An overflow would have made the page
     * resident, so a non-resident page needs no look. */
    unsigned char resident = 0;
    if (mincore(t->stack.lo, corio__page_size(), &resident) == 0 && !(resident & 1))
        return;
    const unsigned char *p = (const unsigned char *)t->stack.lo;
    unsigned char acc = 0;
    for (int i = 0; i < CANARY_BYTES; i++)
        acc |= p[i];
    if (CORIO_UNLIKELY(acc)) {
        report_overflow(t, ", unguarded: its lowest bytes were overwritten");
        signal(SIGABRT, SIG_DFL);
        abort();
    }
}
