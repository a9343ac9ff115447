/* SPDX-License-Identifier: MIT */
/* The machine-context switch (src/core/ctx_<arch>.S) and the first frame corio__ctx_make()
 * builds (src/core/ctx.h), checked through the public API on every architecture.
 *
 * What is pinned down: every callee-saved register survives a switch (x19-x29 and d8-d15 on
 * AArch64, rbx, rbp and r12-r15 on x86-64, each loaded with a distinct value by a small
 * assembly routine so the check does not depend on which registers the compiler happens to
 * pick); the floating-point control state is per task (rounding mode; flush-to-zero in FPCR or
 * MXCSR; the x87 control word) and a new task starts with its spawner's; the scheduler's own
 * control state survives a run; values the compiler keeps in registers (doubles, deep recursion)
 * survive long chains of yields among many interleaved tasks; a task starts on a 16-byte
 * aligned stack; and both unwinders (frame pointers, CFI) stop cleanly at the bottom of a task's
 * stack.
 *
 * Rounding and flush-to-zero are observed through results, not only through the control bits:
 * the operands are volatile so nothing is folded at compile time. Everything runs on virtual
 * time and yields only, so the suite is deterministic and also runs under qemu user-mode
 * emulation (the aarch64 cross build, `make test-aarch64`).
 *
 * Deliberately not covered: signals arriving in the middle of a switch (nothing here can place
 * one there deterministically), the upper halves of v8-v15 and the xmm registers (the ABIs do not
 * preserve them across calls), and the stack-overflow guard (test_task.c).
 */
#include "test.h"

#include "corio/core.h"

#include <execinfo.h>
#include <fenv.h>
#include <float.h>
#include <stdalign.h>
#include <stdbool.h>
#include <stdint.h>

#if defined(__x86_64__)
#include <fpu_control.h>
#include <xmmintrin.h>
#endif

static const struct corio_run_opts VT = {.virtual_time = true, .watchdog_ns = -1};

#define RUN(fn, arg) ASSERT_EQ(corio_run(&VT, (fn), (arg)), 0)

/* Spawns n tasks fn(args + i * size) in a fresh group and waits for all of them. */
static void spawn_all(corio_fn fn, void *args, size_t size, int n)
{
    corio_group *g;
    ASSERT_EQ(corio_group_open(&g), 0);
    for (int i = 0; i < n; i++)
        ASSERT_EQ(corio_spawn(g, fn, args ? (char *)args + (size_t)i * size : NULL), 0);
    ASSERT_EQ(corio_group_wait(g), 0);
    ASSERT_EQ(corio_group_close(g), 0);
}

/* ---- callee-saved registers, one by one ------------------------------------------------------ */

/* uint64_t test_ctx_regs_roundtrip(uint64_t seed, void (*fn)(void)): loads seed + k into each
 * callee-saved register (k distinct per register), calls fn, and returns a bit mask of the
 * registers that no longer hold their value (0 = all preserved). It saves and restores those
 * registers itself, so it is an ordinary ABI-conforming function. The frame pointer is checked
 * too: it must still address this routine's frame. */
uint64_t test_ctx_regs_roundtrip(uint64_t seed, void (*fn)(void));

/* The routines are written one instruction per line; the formatter would pack them. */
/* clang-format off */
#if defined(__aarch64__)
#define A64_SET(reg, k) "    add " #reg ", x0, #" #k "\n"
#define A64_SETD(reg, k) "    add x9, x0, #" #k "\n    fmov " #reg ", x9\n"
#define A64_CHK(reg, k, bit)                                                                       \
    "    add x9, x0, #" #k "\n    cmp " #reg ", x9\n    cset x10, ne\n"                            \
    "    orr x2, x2, x10, lsl #" #bit "\n"
#define A64_CHKD(reg, k, bit) "    fmov x11, " #reg "\n" A64_CHK(x11, k, bit)
__asm__(".pushsection .text\n"
        ".p2align 4\n"
        ".globl test_ctx_regs_roundtrip\n"
        ".hidden test_ctx_regs_roundtrip\n"
        ".type test_ctx_regs_roundtrip, %function\n"
        "test_ctx_regs_roundtrip:\n"
        "    .cfi_startproc\n"
        "    stp x29, x30, [sp, #-176]!\n"
        "    .cfi_def_cfa_offset 176\n"
        "    .cfi_offset x29, -176\n"
        "    .cfi_offset x30, -168\n"
        "    mov x29, sp\n"
        "    stp x19, x20, [sp, #16]\n"
        "    stp x21, x22, [sp, #32]\n"
        "    stp x23, x24, [sp, #48]\n"
        "    stp x25, x26, [sp, #64]\n"
        "    stp x27, x28, [sp, #80]\n"
        "    stp d8, d9, [sp, #96]\n"
        "    stp d10, d11, [sp, #112]\n"
        "    stp d12, d13, [sp, #128]\n"
        "    stp d14, d15, [sp, #144]\n"
        "    str x0, [sp, #160]\n"
        A64_SET(x19, 19) A64_SET(x20, 20) A64_SET(x21, 21) A64_SET(x22, 22) A64_SET(x23, 23)
        A64_SET(x24, 24) A64_SET(x25, 25) A64_SET(x26, 26) A64_SET(x27, 27) A64_SET(x28, 28)
        A64_SETD(d8, 108) A64_SETD(d9, 109) A64_SETD(d10, 110) A64_SETD(d11, 111)
        A64_SETD(d12, 112) A64_SETD(d13, 113) A64_SETD(d14, 114) A64_SETD(d15, 115)
        "    blr x1\n"
        "    ldr x0, [sp, #160]\n"
        "    mov x2, #0\n"
        A64_CHK(x19, 19, 0) A64_CHK(x20, 20, 1) A64_CHK(x21, 21, 2) A64_CHK(x22, 22, 3)
        A64_CHK(x23, 23, 4) A64_CHK(x24, 24, 5) A64_CHK(x25, 25, 6) A64_CHK(x26, 26, 7)
        A64_CHK(x27, 27, 8) A64_CHK(x28, 28, 9)
        A64_CHKD(d8, 108, 10) A64_CHKD(d9, 109, 11) A64_CHKD(d10, 110, 12)
        A64_CHKD(d11, 111, 13) A64_CHKD(d12, 112, 14) A64_CHKD(d13, 113, 15)
        A64_CHKD(d14, 114, 16) A64_CHKD(d15, 115, 17)
        "    mov x9, sp\n    cmp x29, x9\n    cset x10, ne\n    orr x2, x2, x10, lsl #18\n"
        "    mov x0, x2\n"
        "    ldp x19, x20, [sp, #16]\n"
        "    ldp x21, x22, [sp, #32]\n"
        "    ldp x23, x24, [sp, #48]\n"
        "    ldp x25, x26, [sp, #64]\n"
        "    ldp x27, x28, [sp, #80]\n"
        "    ldp d8, d9, [sp, #96]\n"
        "    ldp d10, d11, [sp, #112]\n"
        "    ldp d12, d13, [sp, #128]\n"
        "    ldp d14, d15, [sp, #144]\n"
        "    ldp x29, x30, [sp], #176\n"
        "    .cfi_def_cfa_offset 0\n"
        "    ret\n"
        "    .cfi_endproc\n"
        ".size test_ctx_regs_roundtrip, .-test_ctx_regs_roundtrip\n"
        ".popsection\n");
static const char *const reg_names[] = {"x19", "x20", "x21", "x22", "x23", "x24", "x25",
                                        "x26", "x27", "x28", "d8",  "d9",  "d10", "d11",
                                        "d12", "d13", "d14", "d15", "x29"};
#elif defined(__x86_64__)
#if defined(__CET__)
#define X86_ENDBR "    endbr64\n"
#else
#define X86_ENDBR ""
#endif
#define X86_CHK(reg, k, bit)                                                                       \
    "    leaq " #k "(%rdi), %rcx\n    cmpq %rcx, %" #reg "\n    setne %dl\n"                       \
    "    movzbl %dl, %edx\n    shll $" #bit ", %edx\n    orl %edx, %eax\n"
__asm__(".pushsection .text\n"
        ".p2align 4\n"
        ".globl test_ctx_regs_roundtrip\n"
        ".hidden test_ctx_regs_roundtrip\n"
        ".type test_ctx_regs_roundtrip, @function\n"
        "test_ctx_regs_roundtrip:\n"
        "    .cfi_startproc\n"
        X86_ENDBR
        "    pushq %rbp\n"
        "    .cfi_def_cfa_offset 16\n"
        "    .cfi_offset %rbp, -16\n"
        "    movq %rsp, %rbp\n"
        "    .cfi_def_cfa_register %rbp\n"
        "    pushq %rbx\n"
        "    pushq %r12\n"
        "    pushq %r13\n"
        "    pushq %r14\n"
        "    pushq %r15\n"
        "    pushq %rdi\n" /* the seed; rsp is now 16-byte aligned for the call */
        "    leaq 1(%rdi), %rbx\n"
        "    leaq 12(%rdi), %r12\n"
        "    leaq 13(%rdi), %r13\n"
        "    leaq 14(%rdi), %r14\n"
        "    leaq 15(%rdi), %r15\n"
        "    callq *%rsi\n"
        "    movq (%rsp), %rdi\n"
        "    xorl %eax, %eax\n"
        X86_CHK(rbx, 1, 0) X86_CHK(r12, 12, 1) X86_CHK(r13, 13, 2) X86_CHK(r14, 14, 3)
        X86_CHK(r15, 15, 4)
        "    leaq 48(%rsp), %rcx\n    cmpq %rcx, %rbp\n    setne %dl\n"
        "    movzbl %dl, %edx\n    shll $5, %edx\n    orl %edx, %eax\n"
        "    popq %rdi\n"
        "    popq %r15\n"
        "    popq %r14\n"
        "    popq %r13\n"
        "    popq %r12\n"
        "    popq %rbx\n"
        "    popq %rbp\n"
        "    .cfi_def_cfa %rsp, 8\n"
        "    ret\n"
        "    .cfi_endproc\n"
        ".size test_ctx_regs_roundtrip, .-test_ctx_regs_roundtrip\n"
        ".popsection\n");
static const char *const reg_names[] = {"rbx", "r12", "r13", "r14", "r15", "rbp"};
#else
#error "test_ctx.c knows the registers of x86-64 and aarch64 only"
#endif
/* clang-format on */

static void yield_twice(void)
{
    ASSERT_EQ(corio_yield(), 0);
    ASSERT_EQ(corio_yield(), 0);
}

#define REG_TASKS 8
#define REG_ROUNDS 300

static int regs_task(void *arg)
{
    uint64_t id = (uint64_t)(uintptr_t)arg;
    for (uint64_t r = 0; r < REG_ROUNDS; r++) {
        /* Distinct in every task and round, and in both halves of the register. */
        uint64_t seed = (id + 1) << 40 | r << 8;
        uint64_t bad = test_ctx_regs_roundtrip(seed, yield_twice);
        for (size_t b = 0; b < sizeof reg_names / sizeof reg_names[0]; b++)
            if (bad & (uint64_t)1 << b)
                test__fail(__FILE__, __LINE__, "task %d round %d: %s was not preserved", (int)id,
                           (int)r, reg_names[b]);
        ASSERT_EQ(bad, 0);
    }
    return 0;
}

static int t_regs(void *arg)
{
    corio_group *g;
    (void)arg;
    ASSERT_EQ(test_ctx_regs_roundtrip(7, yield_twice), 0); /* the main task alone */
    ASSERT_EQ(corio_group_open(&g), 0);
    for (uintptr_t i = 0; i < REG_TASKS; i++)
        ASSERT_EQ(corio_spawn(g, regs_task, (void *)i), 0);
    ASSERT_EQ(corio_group_wait(g), 0);
    ASSERT_EQ(corio_group_close(g), 0);
    return 0;
}
TEST(switch_preserves_every_callee_saved_register)
{
    RUN(t_regs, NULL);
}

/* ---- floating-point control state ------------------------------------------------------------ */

/* Results that tell the four rounding modes apart: 1/3 rounds down to nearest, 1/10 rounds up,
 * and -1/10 separates downward from toward-zero. */
struct fp_sig {
    double third, tenth, neg_tenth;
};

__attribute__((noinline)) static struct fp_sig fp_signature(void)
{
    volatile double one = 1.0, three = 3.0, ten = 10.0, mone = -1.0;
    volatile double r;
    struct fp_sig s;
    r = one / three;
    s.third = r;
    r = one / ten;
    s.tenth = r;
    r = mone / ten;
    s.neg_tenth = r;
    return s;
}

static bool sig_eq(struct fp_sig a, struct fp_sig b)
{
    return a.third == b.third && a.tenth == b.tenth && a.neg_tenth == b.neg_tenth;
}

static const int modes[4] = {FE_TONEAREST, FE_UPWARD, FE_DOWNWARD, FE_TOWARDZERO};
static struct fp_sig mode_sig[4]; /* filled by fill_mode_sigs() */

static void fill_mode_sigs(void)
{
    int saved = fegetround();
    for (int i = 0; i < 4; i++) {
        ASSERT_EQ(fesetround(modes[i]), 0);
        mode_sig[i] = fp_signature();
    }
    ASSERT_EQ(fesetround(saved), 0);
    for (int i = 0; i < 4; i++)
        for (int j = i + 1; j < 4; j++)
            ASSERT(!sig_eq(mode_sig[i], mode_sig[j])); /* the probe can see every mode */
}

/* DBL_MIN / 2: a subnormal, or 0 when flush-to-zero is on. */
__attribute__((noinline)) static double half_dbl_min(void)
{
    volatile double m = DBL_MIN, h = 0.5;
    volatile double r = m * h;
    return r;
}

#if defined(__aarch64__)
#define FPCR_FZ ((uint64_t)1 << 24)
static uint64_t fpcr_get(void)
{
    uint64_t v;
    __asm__ volatile("mrs %0, fpcr" : "=r"(v));
    return v;
}
static void fpcr_set(uint64_t v)
{
    __asm__ volatile("msr fpcr, %0" : : "r"(v));
}
static bool ftz_get(void)
{
    return (fpcr_get() & FPCR_FZ) != 0;
}
static void ftz_set(bool on)
{
    fpcr_set(on ? fpcr_get() | FPCR_FZ : fpcr_get() & ~FPCR_FZ);
}
#else
static bool ftz_get(void)
{
    return (_mm_getcsr() & _MM_FLUSH_ZERO_ON) != 0;
}
static void ftz_set(bool on)
{
    unsigned csr = _mm_getcsr() & ~(unsigned)_MM_FLUSH_ZERO_MASK;
    _mm_setcsr(csr | (on ? _MM_FLUSH_ZERO_ON : _MM_FLUSH_ZERO_OFF));
}
#endif

#define FP_ROUNDS 500

struct fp_task {
    int mode;   /* index into modes[] */
    bool ftz;   /* flush-to-zero on */
    int rounds; /* completed */
};

static void check_fp_state(const struct fp_task *ft)
{
    ASSERT_EQ(fegetround(), modes[ft->mode]);
    ASSERT(sig_eq(fp_signature(), mode_sig[ft->mode]));
    ASSERT_EQ(ftz_get(), ft->ftz);
    double h = half_dbl_min();
    if (ft->ftz)
        ASSERT(h == 0.0);
    else
        ASSERT(h > 0.0 && h < DBL_MIN);
}

static int fp_worker(void *arg)
{
    struct fp_task *ft = arg;
    ASSERT_EQ(fesetround(modes[ft->mode]), 0);
    ftz_set(ft->ftz);
    check_fp_state(ft);
    for (ft->rounds = 0; ft->rounds < FP_ROUNDS; ft->rounds++) {
        ASSERT_EQ(corio_yield(), 0);
        check_fp_state(ft);
    }
    return 0;
}

static int t_fp_per_task(void *arg)
{
    struct fp_task ft[8];
    (void)arg;
    fill_mode_sigs();
    for (int i = 0; i < 8; i++)
        ft[i] = (struct fp_task){.mode = i % 4, .ftz = i >= 4, .rounds = 0};
    spawn_all(fp_worker, ft, sizeof ft[0], 8);
    for (int i = 0; i < 8; i++)
        ASSERT_EQ(ft[i].rounds, FP_ROUNDS);
    /* The main task never changed its own state, whatever the others did. */
    ASSERT_EQ(fegetround(), FE_TONEAREST);
    ASSERT(sig_eq(fp_signature(), mode_sig[0]));
    ASSERT(!ftz_get());
    return 0;
}
TEST(rounding_mode_and_flush_to_zero_are_per_task)
{
    RUN(t_fp_per_task, NULL);
}

static int inherits_fp(void *arg)
{
    const struct fp_task *expect = arg;
    check_fp_state(expect); /* before any switch of its own: the first frame's control word */
    ASSERT_EQ(corio_yield(), 0);
    check_fp_state(expect);
    ASSERT_EQ(fesetround(FE_DOWNWARD), 0); /* must not leak back to the spawner */
    ftz_set(false);
    return 0;
}

static int t_fp_inherit(void *arg)
{
    struct fp_task expect = {.mode = 3, .ftz = true, .rounds = 0}; /* toward zero */
    corio_task *t;
    (void)arg;
    fill_mode_sigs();
    ASSERT_EQ(fesetround(FE_TOWARDZERO), 0);
    ftz_set(true);
    ASSERT_EQ(corio_spawn_task(NULL, inherits_fp, &expect, &t), 0);
    /* Changing the spawner's state after the spawn does not reach the child. */
    ASSERT_EQ(fesetround(FE_UPWARD), 0);
    ftz_set(false);
    ASSERT_EQ(corio_task_join(t, NULL), 0);
    ASSERT_EQ(fegetround(), FE_UPWARD);
    ASSERT(!ftz_get());
    ASSERT_EQ(fesetround(FE_TONEAREST), 0);
    return 0;
}
TEST(new_task_starts_with_its_spawners_fp_state)
{
    RUN(t_fp_inherit, NULL);
}

static int flips_fp(void *arg)
{
    (void)arg;
    for (int i = 0; i < 200; i++) {
        ASSERT_EQ(fesetround(modes[i % 4]), 0);
        ftz_set(i % 2 == 0);
        ASSERT_EQ(corio_yield(), 0);
    }
    return 0;
}

static int t_fp_flippers(void *arg)
{
    (void)arg;
    spawn_all(flips_fp, NULL, 0, 4);
    return 0;
}

TEST(scheduler_thread_keeps_its_fp_state_across_a_run)
{
    fill_mode_sigs();
    ASSERT_EQ(fesetround(FE_DOWNWARD), 0);
    ftz_set(true);
    RUN(t_fp_flippers, NULL);
    ASSERT_EQ(fegetround(), FE_DOWNWARD);
    ASSERT(sig_eq(fp_signature(), mode_sig[2]));
    ASSERT(ftz_get());
    ftz_set(false);
    ASSERT_EQ(fesetround(FE_TONEAREST), 0);
}

#if defined(__x86_64__)
/* The x87 control word is callee-saved too; its precision field is easy to tell apart. */
static int x87_task(void *arg)
{
    fpu_control_t want = (fpu_control_t)(uintptr_t)arg, cw;
    _FPU_SETCW(want);
    for (int i = 0; i < FP_ROUNDS; i++) {
        ASSERT_EQ(corio_yield(), 0);
        _FPU_GETCW(cw);
        ASSERT_EQ(cw, want);
    }
    return 0;
}

static int t_x87(void *arg)
{
    corio_group *g;
    const fpu_control_t pc[3] = {_FPU_SINGLE, _FPU_DOUBLE, _FPU_EXTENDED};
    (void)arg;
    ASSERT_EQ(corio_group_open(&g), 0);
    for (int i = 0; i < 3; i++) {
        fpu_control_t cw = (_FPU_DEFAULT & ~(fpu_control_t)_FPU_EXTENDED) | pc[i];
        ASSERT_EQ(corio_spawn(g, x87_task, (void *)(uintptr_t)cw), 0);
    }
    ASSERT_EQ(corio_group_wait(g), 0);
    ASSERT_EQ(corio_group_close(g), 0);
    return 0;
}
TEST(x87_control_word_is_per_task)
{
    RUN(t_x87, NULL);
}
#endif

/* ---- values the compiler keeps in registers -------------------------------------------------- */

#define DBL_TASKS 12
#define DBL_ROUNDS 1000

struct dbl_task {
    int id;
    double sum[10]; /* results, copied out at the end */
};

/* Ten doubles stay live across every yield: on AArch64 the compiler keeps eight of them in
 * d8-d15; on x86-64, where no xmm register is callee-saved, they are spilled to the task's stack,
 * which is the sanity half of the check. The values stay integral and below 2^53, so every sum
 * is exact and has a closed form. */
static int dbl_task(void *arg)
{
    struct dbl_task *dt = arg;
    double base = dt->id;
    double a0 = base, a1 = base + 1, a2 = base + 2, a3 = base + 3, a4 = base + 4;
    double a5 = base + 5, a6 = base + 6, a7 = base + 7, a8 = base + 8, a9 = base + 9;
    for (int i = 0; i < DBL_ROUNDS; i++) {
        double x = i;
        a0 += 1.0;
        a1 += 2.0;
        a2 += x;
        a3 += 2.0 * x;
        a4 -= 1.0;
        a5 += x * 0.5 * 2.0;
        a6 += 3.0;
        a7 += base;
        a8 += 4.0;
        a9 += x + 1.0;
        ASSERT_EQ(corio_yield(), 0);
    }
    double s[10] = {a0, a1, a2, a3, a4, a5, a6, a7, a8, a9};
    memcpy(dt->sum, s, sizeof s);
    return 0;
}

static int t_doubles(void *arg)
{
    struct dbl_task dt[DBL_TASKS];
    (void)arg;
    for (int i = 0; i < DBL_TASKS; i++)
        dt[i] = (struct dbl_task){.id = 1000 * (i + 1)};
    spawn_all(dbl_task, dt, sizeof dt[0], DBL_TASKS);
    const double n = DBL_ROUNDS, tri = n * (n - 1) / 2; /* sum of 0..n-1 */
    for (int i = 0; i < DBL_TASKS; i++) {
        double b = dt[i].id;
        double want[10] = {b + n,         b + 1 + 2 * n,  b + 2 + tri,   b + 3 + 2 * tri,
                           b + 4 - n,     b + 5 + tri,    b + 6 + 3 * n, b + 7 + b * n,
                           b + 8 + 4 * n, b + 9 + tri + n};
        for (int k = 0; k < 10; k++)
            if (dt[i].sum[k] != want[k])
                test__fail(__FILE__, __LINE__, "task %d a%d = %.17g, want %.17g", i, k,
                           dt[i].sum[k], want[k]);
    }
    return 0;
}
TEST(doubles_survive_yields_in_interleaved_tasks)
{
    RUN(t_doubles, NULL);
}

/* Each level keeps an integer and a double live across a yield and the recursive call; the
 * result with yields must equal the result of the same recursion without them. */
__attribute__((noinline)) static uint64_t deep(unsigned depth, uint64_t x, double d, bool yield)
{
    if (depth == 0)
        return x ^ (uint64_t)d;
    uint64_t a = x * 6364136223846793005u + depth;
    double e = d * 0.5 + depth;
    if (yield && depth % 3 == 0)
        ASSERT_EQ(corio_yield(), 0);
    uint64_t r = deep(depth - 1, a, e, yield);
    if (yield && depth % 5 == 0)
        ASSERT_EQ(corio_yield(), 0);
    return r * 31 + a + (uint64_t)e;
}

#define DEEP_TASKS 6
#define DEEP_DEPTH 400

struct deep_task {
    uint64_t seed, result, expect;
};

static int deep_task(void *arg)
{
    struct deep_task *dp = arg;
    dp->expect = deep(DEEP_DEPTH, dp->seed, (double)dp->seed, false);
    dp->result = deep(DEEP_DEPTH, dp->seed, (double)dp->seed, true);
    return 0;
}

static int t_deep(void *arg)
{
    struct deep_task dp[DEEP_TASKS];
    corio_group *g;
    (void)arg;
    ASSERT_EQ(corio_group_open(&g), 0);
    for (int i = 0; i < DEEP_TASKS; i++) {
        dp[i] = (struct deep_task){.seed = 977 * (uint64_t)(i + 1)};
        /* 400 frames, larger under ASan: give them room rather than test the guard page. */
        struct corio_spawn_opts o = {.name = "deep", .stack_size = 1 << 20};
        ASSERT_EQ(corio_spawn_ex(g, &o, deep_task, &dp[i], NULL, CORIO__SITE), 0);
    }
    ASSERT_EQ(corio_group_wait(g), 0);
    ASSERT_EQ(corio_group_close(g), 0);
    for (int i = 0; i < DEEP_TASKS; i++)
        ASSERT_EQ(dp[i].result, dp[i].expect);
    return 0;
}
TEST(deep_recursion_computes_the_same_across_yields)
{
    RUN(t_deep, NULL);
}

/* ---- many tasks, long chains of yields --------------------------------------------------------
 */

#define MANY_TASKS 100
#define MANY_ROUNDS 300

static uint64_t many_turns; /* turns taken by all tasks so far */

struct many_task {
    int id;
    bool fifo;    /* the run is not shuffled: check round-robin order */
    uint64_t acc; /* result */
    double dacc;  /* result */
};

static uint64_t lcg(uint64_t x)
{
    return x * 6364136223846793005u + 1442695040888963407u;
}

static int many_task(void *arg)
{
    struct many_task *m = arg;
    uint64_t x = (uint64_t)m->id * 2654435761u + 1, acc = 0, last = 0;
    double dacc = m->id;
    for (int r = 0; r < MANY_ROUNDS; r++) {
        uint64_t turn = ++many_turns;
        /* A yield lets every other runnable task run exactly once. */
        if (m->fifo && r > 0)
            ASSERT_EQ(turn - last, (uint64_t)MANY_TASKS);
        last = turn;
        x = lcg(x);
        acc += x >> 33;
        dacc += 0.5;
        ASSERT_EQ(corio_yield(), 0);
    }
    m->acc = acc;
    m->dacc = dacc;
    return 0;
}

static int t_many(void *arg)
{
    static struct many_task m[MANY_TASKS];
    bool fifo = arg != NULL;
    many_turns = 0;
    for (int i = 0; i < MANY_TASKS; i++)
        m[i] = (struct many_task){.id = i, .fifo = fifo};
    spawn_all(many_task, m, sizeof m[0], MANY_TASKS);
    ASSERT_EQ(many_turns, (uint64_t)MANY_TASKS * MANY_ROUNDS);
    for (int i = 0; i < MANY_TASKS; i++) {
        uint64_t x = (uint64_t)i * 2654435761u + 1, acc = 0;
        for (int r = 0; r < MANY_ROUNDS; r++) {
            x = lcg(x);
            acc += x >> 33;
        }
        ASSERT_EQ(m[i].acc, acc);
        ASSERT(m[i].dacc == i + 0.5 * MANY_ROUNDS);
    }
    return 0;
}
TEST(many_tasks_interleave_round_robin)
{
    RUN(t_many, (void *)1);
}

TEST(many_tasks_interleave_in_shuffled_order)
{
    for (uint64_t seed = 1; seed <= 3; seed++) {
        struct corio_run_opts o = VT;
        o.shuffle_seed = seed;
        ASSERT_EQ(corio_run(&o, t_many, NULL), 0);
    }
}

/* ---- the first frame ------------------------------------------------------------------------- */

/* The address as a number the compiler cannot reason about: it assumes the stack is aligned as
 * the ABI says, so without this it would fold the alignment check to true. */
static uintptr_t opaque_addr(const void *p)
{
    uintptr_t a = (uintptr_t)p;
    __asm__ volatile("" : "+r"(a));
    return a;
}

__attribute__((noinline)) static void check_stack_aligned(void)
{
    alignas(16) volatile unsigned char probe[16];
    probe[0] = 1;
    ASSERT_EQ(opaque_addr((const void *)probe) % 16, 0);
#if defined(__aarch64__)
    uintptr_t sp;
    __asm__ volatile("mov %0, sp" : "=r"(sp));
    ASSERT_EQ(sp % 16, 0); /* AAPCS64: sp is 16-byte aligned at every instruction */
#else
    /* The frame pointer is the entry rsp - 8, and the ABI wants entry rsp + 8 aligned. */
    ASSERT_EQ(opaque_addr(__builtin_frame_address(0)) % 16, 0);
#endif
}

static int aligned_task(void *arg)
{
    alignas(16) volatile unsigned char probe[16];
    (void)arg;
    probe[0] = 1;
    /* The task function itself is entered straight from the first frame (via task_entry). */
    ASSERT_EQ(opaque_addr((const void *)probe) % 16, 0);
    check_stack_aligned();
    ASSERT_EQ(corio_yield(), 0);
    check_stack_aligned();
    return 0;
}

static int t_aligned(void *arg)
{
    corio_group *g;
    (void)arg;
    check_stack_aligned();
    ASSERT_EQ(corio_group_open(&g), 0);
    for (size_t i = 0; i < 8; i++) {
        /* Odd sizes too: they are rounded up to pages, and the frame must not care. */
        struct corio_spawn_opts o = {.name = "aligned", .stack_size = 16384 + i * 4104};
        ASSERT_EQ(corio_spawn_ex(g, &o, aligned_task, NULL, NULL, CORIO__SITE), 0);
    }
    ASSERT_EQ(corio_group_wait(g), 0);
    ASSERT_EQ(corio_group_close(g), 0);
    return 0;
}
TEST(task_starts_on_a_16_byte_aligned_stack)
{
    RUN(t_aligned, NULL);
}

#if defined(__aarch64__) || CORIO_ASAN
/* The first frame holds a null frame pointer, so a frame-pointer walk (perf, ASan's fast
 * unwinder) ends at the bottom of the task's stack rather than wandering into whatever the stack
 * slot held. Only where every frame keeps a frame record: AArch64 compilers keep them in
 * non-leaf functions by default, and the ASan build passes -fno-omit-frame-pointer. */
__attribute__((noinline)) static int frame_chain_length(void)
{
    const uintptr_t *fp = __builtin_frame_address(0);
    int n = 0;
    while (fp != NULL) {
        const uintptr_t *up = (const uintptr_t *)fp[0];
        ASSERT_LT(++n, 64);
        /* Callers' frames lie higher on the same stack, and not far: stacks here are small. */
        if (up != NULL &&
            (opaque_addr(up) <= opaque_addr(fp) || opaque_addr(up) - opaque_addr(fp) > (1u << 20)))
            test__fail(__FILE__, __LINE__, "frame %d: bad frame pointer %p above %p", n,
                       (const void *)up, (const void *)fp);
        fp = up;
    }
    return n;
}

static int frame_chain_task(void *arg)
{
    (void)arg;
    int n0 = frame_chain_length();
    ASSERT_EQ(corio_yield(), 0);
    ASSERT_EQ(frame_chain_length(), n0);
    ASSERT_GT(n0, 1);
    return 0;
}

static int t_frame_chain(void *arg)
{
    (void)arg;
    spawn_all(frame_chain_task, NULL, 0, 3);
    return 0;
}
TEST(frame_pointer_chain_ends_at_the_bottom_of_a_task_stack)
{
    RUN(t_frame_chain, NULL);
}
#endif

/* The unwinder (CFI) must stop at corio__ctx_boot: no frame above it on a task's stack. A
 * broken first frame could show up as a crash here or as a walk that never ends (64 frames). */
__attribute__((noinline)) static int backtrace_depth(unsigned extra)
{
    void *frames[64];
    int n;
    if (extra == 0)
        return backtrace(frames, 64);
    n = backtrace_depth(extra - 1);
    __asm__ volatile("" : "+r"(n)); /* work after the call: no tail call, one frame per level */
    return n;
}

static int backtrace_task(void *arg)
{
    (void)arg;
    int n0 = backtrace_depth(0);
    ASSERT_EQ(corio_yield(), 0);
    int n5 = backtrace_depth(5);
    ASSERT_GT(n0, 1);
    ASSERT_LT(n5, 64);
    ASSERT_EQ(n5, n0 + 5);
    return 0;
}

static int t_backtrace(void *arg)
{
    (void)arg;
    spawn_all(backtrace_task, NULL, 0, 3);
    return 0;
}
TEST(backtrace_stops_at_the_bottom_of_a_task_stack)
{
    RUN(t_backtrace, NULL);
}
