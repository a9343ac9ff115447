/* SPDX-License-Identifier: MIT */
/* Page-sized buffers from a per-loop pool, for memory that a connection holds only while it is
 * busy (a stream's read buffer, an HTTP request) and gives back while it is idle.
 *
 * Why not malloc: an idle connection's freed 4 KiB buffers sit in the middle of malloc's heap,
 * between the small structures that stay live, so the process keeps them resident; with ten
 * thousand idle connections that is most of their memory. Pool pages live in their own
 * mappings: free pages beyond a small warm reserve are handed back to the kernel
 * (MADV_DONTNEED) when the loop is about to sleep, so idle memory really leaves the process,
 * while a busy loop reuses warm pages without a system call.
 *
 * Used by src/net and src/http; a page must be returned on the loop that handed it out. Outside
 * a loop, and under AddressSanitizer (which must see every buffer overflow), pages come from
 * aligned_alloc instead; *pooled tells which, and the caller passes it back.
 */
#ifndef CORIO_PAGES_H
#define CORIO_PAGES_H

#include <stdbool.h>
#include <stddef.h>

#define CORIO__PAGE 4096
#define CORIO__PAGES_MAX 2 /* the largest block, in pages */

/* A page-aligned buffer of npages (1..CORIO__PAGES_MAX) pages, contents undefined, or NULL
 * when out of memory. *pooled: whether it came from the loop's pool. */
void *corio__pages_get(size_t npages, bool *pooled);
/* Returns p (from corio__pages_get with the same npages, and its pooled flag); NULL is
 * ignored. */
void corio__pages_put(void *p, size_t npages, bool pooled);

static inline void *corio__page_get(bool *pooled)
{
    return corio__pages_get(1, pooled);
}

static inline void corio__page_put(void *p, bool pooled)
{
    corio__pages_put(p, 1, pooled);
}

#endif
