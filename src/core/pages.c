/* SPDX-License-Identifier: MIT */
/* The per-loop page pool of pages.h. Pages are carved from 2 MiB mappings ("slabs", never
 * unmapped while pages are out) and kept on two free lists: warm pages (resident, reused first)
 * and cold ones (given back to the kernel; touching one again costs a page fault). The free
 * lists are arrays of pointers, not links stored in the pages, so that listing a cold page does
 * not fault it back in. When the loop is about to sleep, warm pages beyond WARM_KEEP go cold.
 *
 * Invariant: every slab page is either handed out, on a free list, or past slab_next.
 * Deliberately not here: sizes other than one page (callers use malloc for those).
 */
#include "pages.h"

#include "core_int.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>

#ifndef CORIO_ASAN
#define CORIO_ASAN 0
#endif

#define SLAB_PAGES 512 /* 2 MiB */
#define WARM_KEEP 64   /* free pages kept resident across a sleep */

static bool push(void ***arr, size_t *n, size_t *cap, void *p)
{
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 256;
        void **a = realloc(*arr, nc * sizeof *a);
        if (!a)
            return false;
        *arr = a;
        *cap = nc;
    }
    (*arr)[(*n)++] = p;
    return true;
}

static void *carve(struct corio__pages *pp)
{
    if (pp->slab_next == pp->slab_end) {
        size_t len = (size_t)SLAB_PAGES * CORIO__PAGE;
        char *s = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (s == MAP_FAILED)
            return NULL;
        if (!push(&pp->slabs, &pp->nslabs, &pp->capslabs, s)) {
            munmap(s, len);
            return NULL;
        }
        pp->slab_next = s;
        pp->slab_end = s + len;
    }
    void *p = pp->slab_next;
    pp->slab_next += CORIO__PAGE;
    return p;
}

void *corio__page_get(bool *pooled)
{
    corio_loop *l = corio__tls_loop;
    *pooled = false;
    if (l && !CORIO_ASAN) {
        struct corio__pages *pp = &l->pages;
        void *p = pp->nwarm ? pp->warm[--pp->nwarm]
                  : pp->ncold ? pp->cold[--pp->ncold]
                              : carve(pp);
        if (p) {
            pp->out++;
            *pooled = true;
            return p;
        }
    }
    return aligned_alloc(CORIO__PAGE, CORIO__PAGE);
}

void corio__page_put(void *p, bool pooled)
{
    if (!p)
        return;
    if (!pooled) {
        free(p);
        return;
    }
    corio_loop *l = corio__tls_loop;
    CORIO_ASSERT(l != NULL);
    struct corio__pages *pp = &l->pages;
    pp->out--;
    if (!push(&pp->warm, &pp->nwarm, &pp->capwarm, p)) {
        /* No room to list it: give its memory back and lose the page (rare: out of memory). */
        madvise(p, CORIO__PAGE, MADV_DONTNEED);
    }
}

void corio__pages_trim(struct corio__pages *pp)
{
    while (pp->nwarm > WARM_KEEP) {
        void *p = pp->warm[pp->nwarm - 1];
        if (!push(&pp->cold, &pp->ncold, &pp->capcold, p))
            return;
        pp->nwarm--;
        madvise(p, CORIO__PAGE, MADV_DONTNEED);
    }
}

void corio__pages_deinit(struct corio__pages *pp)
{
    /* Pages still out (a stream closed after its loop ended would be a bug elsewhere) keep
     * their slabs: leaking beats a use after free. */
    if (pp->out == 0)
        for (size_t i = 0; i < pp->nslabs; i++)
            munmap(pp->slabs[i], (size_t)SLAB_PAGES * CORIO__PAGE);
    free(pp->slabs);
    free(pp->warm);
    free(pp->cold);
    *pp = (struct corio__pages){0};
}
