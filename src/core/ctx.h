/* SPDX-License-Identifier: MIT */
/* Machine contexts: the assembly switch (ctx_<arch>.S) and how a fresh context's first frame is
 * laid out so that the first switch into it "returns" into corio__ctx_boot, which calls
 * entry(arg). The entry function must never return: a finished coroutine switches away for good.
 */
#ifndef CORIO_CORE_CTX_H
#define CORIO_CORE_CTX_H

#include <stdint.h>
#include <string.h>

void corio__ctx_switch(void **save_sp, void *new_sp);
void corio__ctx_boot(void);

typedef void corio__ctx_entry(void *arg);

/* Builds the first frame of a context at the top of a stack whose highest usable address is
 * top (exclusive) and returns the stack pointer to pass to corio__ctx_switch. The control words
 * are copied from the calling context so a coroutine starts with the thread's FP environment. */
static inline void *corio__ctx_make(void *top, corio__ctx_entry *entry, void *arg)
{
    uintptr_t t = (uintptr_t)top & ~(uintptr_t)15;
#if defined(__x86_64__)
    uint64_t *sp = (uint64_t *)(t - 128);
    uint32_t mxcsr;
    uint16_t fpucw;
    __asm__ volatile("stmxcsr %0" : "=m"(mxcsr));
    __asm__ volatile("fnstcw %0" : "=m"(fpucw));
    memset(sp, 0, 64);
    sp[0] = (uint64_t)mxcsr | ((uint64_t)fpucw << 32);
    sp[3] = (uint64_t)(uintptr_t)arg;   /* r13 */
    sp[4] = (uint64_t)(uintptr_t)entry; /* r12 */
    sp[6] = 0;                          /* rbp: ends frame-pointer walks */
    sp[7] = (uint64_t)(uintptr_t)corio__ctx_boot;
    /* ret pops sp[7], leaving rsp = t - 64: 16-byte aligned, so the call in corio__ctx_boot
     * enters entry with the ABI's (rsp + 8) % 16 == 0. */
    return sp;
#elif defined(__aarch64__)
    uint64_t *sp = (uint64_t *)(t - 256);
    uint64_t fpcr;
    __asm__ volatile("mrs %0, fpcr" : "=r"(fpcr));
    memset(sp, 0, 176);
    sp[0] = (uint64_t)(uintptr_t)entry;            /* x19 */
    sp[1] = (uint64_t)(uintptr_t)arg;              /* x20 */
    sp[10] = 0;                                    /* x29 */
    sp[11] = (uint64_t)(uintptr_t)corio__ctx_boot; /* x30 */
    sp[20] = fpcr;
    return sp;
#else
#error "corio supports x86-64 and aarch64"
#endif
}

#endif
