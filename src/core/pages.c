/* SPDX-License-Identifier: MIT */
/* The per-loop page pool of pages.h. Pages are carved from 2 MiB mappings ("slabs", never
 * unmapped while pages are out) and kept on two free lists: warm pages (resident, reused first)
 * and cold ones (given back to the kernel; touching one again costs a page fault). The free
 * lists are arrays of pointers, not links stored in the pages, so that listing a cold page does
 * not fault it back in. When the loop is about to sleep, warm pages beyond WARM_KEEP go cold.
 *
 * Blocks of one and two pages have free lists of their own (a two-page block is never split).
 * Invariant: every slab page belongs to a block handed out or on a free list, or lies past
 * slab_next. Deliberately not here: larger sizes (callers use malloc for those).
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
#define WARM_KEEP 64   /* free blocks of each size kept resident across a sleep */

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

static void *carve(struct corio__pages *pp, size_t npages)
{
    size_t bytes = npages * CORIO__PAGE;
    if ((size_t)(pp->slab_end - pp->slab_next) < bytes) {
        /* The odd page left at a slab's end is lost; a slab holds hundreds. */
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
    pp->slab_next += bytes;
    return p;
}

void *corio__pages_get(size_t npages, bool *pooled)
{
    corio_loop *l = corio__tls_loop;
    *pooled = false;
    CORIO_ASSERT(npages >= 1 && npages <= CORIO__PAGES_MAX);
    if (l && !CORIO_ASAN) {
        struct corio__pages *pp = &l->pages;
        struct corio__page_list *fl = &pp->size[npages - 1];
        void *p = fl->nwarm   ? fl->warm[--fl->nwarm]
                  : fl->ncold ? fl->cold[--fl->ncold]
                              : carve(pp, npages);
        if (p) {
            pp->out++;
            *pooled = true;
            return p;
        }
    }
    return aligned_alloc(CORIO__PAGE, npages * CORIO__PAGE);
}

void corio__pages_put(void *p, size_t npages, bool pooled)
{
    if (!p)
        return;
    if (!pooled) {
        free(p);
        return;
    }
    corio_loop *l = corio__tls_loop;
    CORIO_ASSERT(l != NULL && npages >= 1 && npages <= CORIO__PAGES_MAX);
    struct corio__pages *pp = &l->pages;
    struct corio__page_list *fl = &pp->size[npages - 1];
    pp->out--;
    if (!push(&fl->warm, &fl->nwarm, &fl->capwarm, p)) {
        /* No room to list it: give its memory back and lose the block (rare: out of memory). */
        madvise(p, npages * CORIO__PAGE, MADV_DONTNEED);
    }
}

void corio__pages_trim(struct corio__pages *pp)
{
    for (size_t k = 0; k < CORIO__PAGES_MAX; k++) {
        struct corio__page_list *fl = &pp->size[k];
        while (fl->nwarm > WARM_KEEP) {
            void *p = fl->warm[fl->nwarm - 1];
            if (!push(&fl->cold, &fl->ncold, &fl->capcold, p))
                break;
            fl->nwarm--;
            madvise(p, (k + 1) * CORIO__PAGE, MADV_DONTNEED);
        }
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
    for (size_t k = 0; k < CORIO__PAGES_MAX; k++) {
        free(pp->size[k].warm);
        free(pp->size[k].cold);
    }
    *pp = (struct corio__pages){0};
}
