/* SPDX-License-Identifier: MIT */
/* Context switch for AArch64 (AAPCS64). corio__ctx_switch(void **save_sp, void *new_sp) saves
 * the callee-saved state on the running stack, stores sp in *save_sp, switches to new_sp and
 * restores. Callee-saved state: x19-x28, the frame pointer x29, the link register x30, the low
 * halves d8-d15 of v8-v15, and FPCR (rounding mode and trap enables are callee-saved by the
 * ABI's rules for the floating-point control register).
 *
 * Frame (176 bytes, 16-byte aligned), low to high:
 *   x19..x28 (80) | x29, x30 (16) | d8..d15 (64) | fpcr (8) | pad (8)
 * corio__ctx_make() (ctx.h) builds a new frame with x30 = corio__ctx_boot, x19 = entry and
 * x20 = argument. */
#if defined(__aarch64__)
/* Branch Target Identification (-mbranch-protection=bti|standard, the default of some
 * distributions): a landing pad where an indirect call (or a linker veneer) may arrive, and a
 * note telling the linker this object is BTI-clean. Without the note, linking this one object
 * silently drops BTI for the whole program. corio__ctx_boot needs no pad: it is entered by ret,
 * which BTI does not check. */
#if defined(__ARM_FEATURE_BTI_DEFAULT) && __ARM_FEATURE_BTI_DEFAULT
#define BTI_C hint #34 /* bti c; a no-op on cores without BTI */
#define FEATURE_1_BTI 1
#else
#define BTI_C
#define FEATURE_1_BTI 0
#endif
    .text
    .p2align 4
    .globl corio__ctx_switch
    .hidden corio__ctx_switch
    .type corio__ctx_switch, %function
corio__ctx_switch:
    .cfi_startproc
    BTI_C
    sub sp, sp, #176
    stp x19, x20, [sp, #0]
    stp x21, x22, [sp, #16]
    stp x23, x24, [sp, #32]
    stp x25, x26, [sp, #48]
    stp x27, x28, [sp, #64]
    stp x29, x30, [sp, #80]
    stp d8, d9, [sp, #96]
    stp d10, d11, [sp, #112]
    stp d12, d13, [sp, #128]
    stp d14, d15, [sp, #144]
    mrs x9, fpcr
    str x9, [sp, #160]
    mov x9, sp
    str x9, [x0]
    mov sp, x1
    ldr x9, [sp, #160]
    msr fpcr, x9
    ldp x19, x20, [sp, #0]
    ldp x21, x22, [sp, #16]
    ldp x23, x24, [sp, #32]
    ldp x25, x26, [sp, #48]
    ldp x27, x28, [sp, #64]
    ldp x29, x30, [sp, #80]
    ldp d8, d9, [sp, #96]
    ldp d10, d11, [sp, #112]
    ldp d12, d13, [sp, #128]
    ldp d14, d15, [sp, #144]
    add sp, sp, #176
    ret
    .cfi_endproc
    .size corio__ctx_switch, .-corio__ctx_switch

    .p2align 4
    .globl corio__ctx_boot
    .hidden corio__ctx_boot
    .type corio__ctx_boot, %function
corio__ctx_boot:
    .cfi_startproc
    .cfi_undefined x30
    mov x0, x20
    blr x19
    brk #0              /* the entry function never returns */
    .cfi_endproc
    .size corio__ctx_boot, .-corio__ctx_boot

#if FEATURE_1_BTI
    /* NT_GNU_PROPERTY_TYPE_0 with GNU_PROPERTY_AARCH64_FEATURE_1_AND = BTI. PAC is not claimed:
     * the saved x30 is stored unsigned (a first frame built in C could not be signed). */
    .pushsection .note.gnu.property, "a"
    .p2align 3
    .word 4, 16, 5      /* n_namesz, n_descsz, n_type */
    .asciz "GNU"
    .word 0xc0000000, 4, FEATURE_1_BTI, 0 /* pr_type, pr_datasz, pr_data, padding */
    .popsection
#endif
#endif
    .section .note.GNU-stack,"",%progbits
