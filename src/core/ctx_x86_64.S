/* SPDX-License-Identifier: MIT */
/* Context switch for x86-64 (System V). corio__ctx_switch(void **save_sp, void *new_sp) saves the
 * callee-saved state of the running context on its own stack, stores the stack pointer in
 * *save_sp, loads new_sp and restores the state found there. Callee-saved state is rbx, rbp,
 * r12-r15, the MXCSR control/status bits and the x87 control word (the ABI says both control
 * words are callee-saved). Caller-saved registers need no saving: the call itself clobbers them.
 *
 * Frame layout at the saved stack pointer (low to high):
 *   0: mxcsr (4) | 4: x87 cw (2) | pad (2) | r15 | r14 | r13 | r12 | rbx | rbp | return address
 * A new context is built by corio__ctx_make() (ctx.h) with the return address pointing at
 * corio__ctx_boot, r12 = entry function and r13 = its argument. */
#if defined(__x86_64__)
#if defined(__CET__)
#define ENDBR endbr64
#else
#define ENDBR
#endif
    .text
    .p2align 4
    .globl corio__ctx_switch
    .hidden corio__ctx_switch
    .type corio__ctx_switch, @function
corio__ctx_switch:
    .cfi_startproc
    ENDBR
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    subq $8, %rsp
    stmxcsr (%rsp)
    fnstcw 4(%rsp)
    movq %rsp, (%rdi)
    movq %rsi, %rsp
    ldmxcsr (%rsp)
    fldcw 4(%rsp)
    addq $8, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret
    .cfi_endproc
    .size corio__ctx_switch, .-corio__ctx_switch

    .p2align 4
    .globl corio__ctx_boot
    .hidden corio__ctx_boot
    .type corio__ctx_boot, @function
corio__ctx_boot:
    .cfi_startproc
    .cfi_undefined rip
    ENDBR
    movq %r13, %rdi
    callq *%r12
    ud2                 /* the entry function never returns */
    .cfi_endproc
    .size corio__ctx_boot, .-corio__ctx_boot
#endif
    .section .note.GNU-stack,"",@progbits
