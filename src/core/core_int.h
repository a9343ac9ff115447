/* SPDX-License-Identifier: MIT */
/* Internal definitions shared by the core's sources: the loop, task and group structures, the
 * run queue, parking and waking, wait lists, stacks, the mailbox and the runtime that ties
 * worker loops together. Nothing outside src/ includes this file; other modules of the library
 * use it only through the corio__ functions declared here.
 */
#ifndef CORIO_CORE_INT_H
#define CORIO_CORE_INT_H

#include "corio/core.h"
#include "wheel.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#if defined(__SANITIZE_ADDRESS__) && !defined(CORIO_ASAN)
#define CORIO_ASAN 1
#endif
#if defined(__SANITIZE_THREAD__) && !defined(CORIO_TSAN)
#define CORIO_TSAN 1
#endif
#if defined(__has_feature)
#if __has_feature(address_sanitizer) && !defined(CORIO_ASAN)
#define CORIO_ASAN 1
#endif
#if __has_feature(thread_sanitizer) && !defined(CORIO_TSAN)
#define CORIO_TSAN 1
#endif
#endif

#define CORIO_LIKELY(x) __builtin_expect(!!(x), 1)
#define CORIO_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define CORIO_STATIC_ASSERT(c, m) _Static_assert(c, m)

/* Always-on assertion for conditions whose violation would corrupt memory (a bug, never a
 * peer's doing): logs the expression and place at fatal level, then aborts. */
#define CORIO_ASSERT(c)                                                                            \
    do {                                                                                           \
        if (CORIO_UNLIKELY(!(c)))                                                                  \
            corio__assert_fail(#c, __FILE__, __LINE__);                                            \
    } while (0)
#ifndef NDEBUG
#define CORIO_DASSERT(c) CORIO_ASSERT(c)
#else
#define CORIO_DASSERT(c) ((void)0)
#endif
_Noreturn void corio__assert_fail(const char *expr, const char *file, int line);
_Noreturn void corio__fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- intrusive circular doubly-linked lists ------------------------------------------------ */
struct corio__list {
    struct corio__list *next, *prev;
};
static inline void corio__list_init(struct corio__list *l)
{
    l->next = l->prev = l;
}
static inline bool corio__list_empty(const struct corio__list *l)
{
    return l->next == l;
}
static inline void corio__list_push(struct corio__list *head, struct corio__list *n)
{
    n->prev = head->prev;
    n->next = head;
    head->prev->next = n;
    head->prev = n;
}
/* Unlinks n and leaves it self-linked, so removing twice is harmless. */
static inline void corio__list_del(struct corio__list *n)
{
    n->prev->next = n->next;
    n->next->prev = n->prev;
    n->next = n->prev = n;
}
static inline bool corio__list_linked(const struct corio__list *n)
{
    return n->next != n;
}
#define corio__container_of(p, T, m) ((T *)(void *)((char *)(p)-offsetof(T, m)))

/* ---- stacks ---------------------------------------------------------------------------------- */
struct corio__stack {
    char *lo;     /* lowest usable byte; the guard page (if any) is just below */
    size_t size;  /* usable bytes */
    bool guarded; /* a PROT_NONE page sits below lo */
    bool pooled;  /* from the loop's default-size pool (else mapped alone) */
};
struct corio__stack_pool {
    size_t size;               /* default usable size */
    size_t cache;              /* free stacks kept resident */
    struct corio__stack *free; /* LIFO of free stacks */
    size_t nfree, capfree;
    size_t ntrimmed;            /* free[0..ntrimmed) had their pages returned to the kernel */
    char *slab_next, *slab_end; /* carving area of the current slab */
    size_t slab_stride;         /* bytes per stack in the current slab (stack + guard) */
    bool slab_guarded;
    struct corio__slab {
        void *base;
        size_t len;
        size_t guards; /* guard pages taken from the process budget */
    } * slabs;         /* every slab mapping, unmapped at loop end */
    size_t nslabs, capslabs;
    size_t mapped; /* stacks ever carved or mapped */
};
int corio__stack_get(struct corio__stack_pool *p, size_t size, struct corio__stack *out);
void corio__stack_put(struct corio__stack_pool *p, struct corio__stack *s);
void corio__stack_pool_init(struct corio__stack_pool *p, size_t size, size_t cache);
void corio__stack_pool_deinit(struct corio__stack_pool *p);
/* Returns the pages of the coldest free stacks beyond the cache to the kernel. Called by the
 * loop when it is about to sleep. */
void corio__stack_pool_trim(struct corio__stack_pool *p);
size_t corio__page_size(void);
void corio__stack_guard_budget_set(size_t stacks);

/* ---- tasks ---------------------------------------------------------------------------------- */
enum corio__task_state {
    CORIO__RUNNABLE = 0,
    CORIO__RUNNING = 1,
    CORIO__WAITING = 2,
    CORIO__DONE = 3,
};

/* Wake codes besides 0 (woken by whatever it waited for) and negative errors. */
#define CORIO__WAKE_UNTIL 1 /* the park's own time limit (corio__park_until) passed */

struct corio__local; /* task-local value node (task.c) */

/* Invariant: state == WAITING <=> the task is parked in corio__park(); it is then on exactly
 * the wait structure named by wait_what (if any) and its timer is armed iff a deadline applies.
 * Invariant: state == RUNNABLE <=> the task is on its loop's run queue. */
struct corio_task {
    void *sp;                   /* saved stack pointer while not running */
    corio_loop *loop;           /* owning loop; never changes */
    struct corio_task *rq_next; /* run queue link */
    uint8_t state;              /* enum corio__task_state */
    bool cancelled;             /* cancellation requested */
    bool is_main;               /* the run's main task: its end cancels the top group */
    int wake;                   /* code handed over by corio__wake() */
    int result;                 /* fn's return value once DONE */
    uint32_t refs;              /* 1 while alive + 1 per handle */
    corio_fn fn;
    void *arg;
    struct corio__stack stack;
    struct corio__timer timer; /* deadline of the current park */
    int64_t timer_at;          /* exact ns the timer stands for */
    int timer_code;            /* wake code when it fires */
    corio_deadline base;       /* bottom deadline scope (inherited at spawn) */
    corio_deadline *dl;        /* innermost deadline scope, never NULL */
    struct corio__local *locals;
    corio_group *group;         /* the group the task belongs to */
    struct corio__list gnode;   /* in group->children */
    struct corio__list anode;   /* in loop->tasks */
    struct corio__list owned;   /* groups this task opened and has not closed */
    struct corio__list joiners; /* corio__waiter of tasks joining this one */
    const char *wait_what;      /* what the task waits on (static string), for listings */
    int64_t wait_arg;           /* e.g. the fd */
    int64_t spawned_at;         /* loop time at spawn */
    uint64_t id;
    const char *site; /* spawn site, static string */
    char name[32];
#if CORIO_ASAN
    void *asan_fake;
#endif
#if CORIO_TSAN
    void *tsan_fiber;
#endif
};

/* A parked task's place on a wait list. Lives on the waiting task's stack. */
struct corio__waiter {
    struct corio__list node;
    corio_task *task;
    void *data; /* primitive-specific (e.g. where a channel item is copied) */
    int status; /* primitive-specific hand-over result */
};

/* Parks the running task until corio__wake(), cancellation or the effective deadline. Before
 * parking it checks cancellation (-ECANCELED) and an expired deadline (-ETIMEDOUT) and returns
 * at once; the caller must then undo what it set up (e.g. unlink its waiter), exactly as for a
 * wake by timeout. what (static) and arg describe the wait for task listings. */
int corio__park(const char *what, int64_t arg);
/* The same with an extra time limit until, which ends the park with CORIO__WAKE_UNTIL if it
 * comes before the scope deadline. */
int corio__park_until(const char *what, int64_t arg, int64_t until);
/* Makes a WAITING task runnable with code (0 or a negative errno); no-op otherwise. Returns
 * whether it woke the task. Loop thread only. */
bool corio__wake(corio_task *t, int code);
/* Appends a task to its loop's run queue (state becomes RUNNABLE). */
void corio__runq_push(corio_task *t);
/* The running task, aborting if called outside task context. */
corio_task *corio__self_checked(const char *fn);
/* Current loop of the thread (NULL if none). */
extern _Thread_local corio_loop *corio__tls_loop;
void corio__task_ref(corio_task *t);
void corio__task_unref(corio_task *t);
/* Cancels every child of g (no suspension). */
void corio__group_cancel(corio_group *g);
/* Enters/leaves an uninterruptible region (a shield without deadline). */
void corio__shield_forever(corio_deadline *d);
/* Wait lists: wake the first waiter whose task is still WAITING with code; returns it or NULL
 * (waiters whose task was already woken by a timeout or cancel are unlinked and skipped). */
struct corio__waiter *corio__waitq_wake_one(struct corio__list *q, int code);
size_t corio__waitq_wake_all(struct corio__list *q, int code);
/* Parks on q with a waiter w (caller-initialised data); unlinks w on any error. */
int corio__waitq_park(struct corio__list *q, struct corio__waiter *w, const char *what,
                      int64_t arg);

/* ---- groups --------------------------------------------------------------------------------- */
/* Invariant: every task in children has group == this group; nchildren counts them. A group
 * with an owner is on owner->owned until closed. */
struct corio_group {
    corio_loop *loop;
    corio_task *owner; /* NULL for a loop's top group */
    struct corio__list children;
    size_t nchildren;
    struct corio__list onode;   /* in owner->owned */
    struct corio__list waiters; /* tasks waiting for nchildren == 0 */
    int err;                    /* first failure */
    bool cancelled;             /* corio_group_cancel() or owner cancelled */
    bool closing;
};
void corio__group_init(corio_group *g, corio_loop *l, corio_task *owner);
void corio__group_child_done(corio_group *g, corio_task *t);

/* ---- fds ------------------------------------------------------------------------------------ */
struct corio__fd {
    corio_task *rd, *wr; /* waiters */
    uint8_t ready;       /* CORIO_READ/CORIO_WRITE reported since last consumed */
    bool registered;     /* added to epoll */
};

/* ---- mailbox --------------------------------------------------------------------------------- */
/* A message posted to a loop from any thread; fn runs on the loop thread in scheduler context
 * (it must not park) and owns m from then on. */
struct corio__msg {
    struct corio__msg *next;
    void (*fn)(corio_loop *l, struct corio__msg *m);
};
/* Posts m to l. Returns 0, or -ESHUTDOWN if l no longer accepts messages (m not taken). */
int corio__loop_send(corio_loop *l, struct corio__msg *m);
/* Counts an external operation in flight (executor job, remote call) so that virtual time does
 * not jump past it. */
void corio__loop_ext_begin(corio_loop *l);
void corio__loop_ext_end(corio_loop *l);

/* ---- runtime & loop ------------------------------------------------------------------------- */
struct corio__rt;

struct corio_loop_counters {
    _Atomic uint64_t switches; /* written by the loop thread only (relaxed), read by others */
    _Atomic uint64_t iterations;
    uint64_t spawned;
    uint64_t finished;
    uint64_t timers_fired;
    uint64_t fd_waits;
    uint64_t msgs;
};

/* The page pool of pages.h (pages.c): free lists per block size (1 and 2 pages). */
struct corio__page_list {
    void **warm, **cold; /* free blocks: resident / given back to the kernel */
    size_t nwarm, capwarm, ncold, capcold;
};
struct corio__pages {
    struct corio__page_list size[2];
    char *slab_next, *slab_end; /* the uncarved rest of the newest slab */
    void **slabs;
    size_t nslabs, capslabs;
    size_t out; /* blocks handed out */
};
void corio__pages_trim(struct corio__pages *pp);
void corio__pages_deinit(struct corio__pages *pp);

struct corio_loop {
    struct corio__rt *rt;
    int index; /* worker index */
    int epfd;
    int evfd;        /* mailbox wake-up */
    corio_task *cur; /* running task or NULL in the scheduler */
    void *sched_sp;  /* scheduler context */
    corio_task *rq_head, *rq_tail;
    size_t rq_len;
    int budget;       /* direct task-to-task switches left before polling */
    corio_task *dead; /* finished task whose stack is released after the switch */
    struct corio__wheel wheel;
    int64_t epoch; /* clock value of tick 0 */
    int64_t now;   /* cached clock */
    int64_t vnow;  /* virtual clock */
    bool virtual_time;
    uint64_t shuffle; /* xorshift state, 0 = off */
    struct corio__fd *fds;
    size_t nfds;
    size_t fd_waiters;
    struct corio__stack_pool stacks;
    struct corio__pages pages; /* page pool of pages.h */
    corio_task *free_tasks; /* task structs for reuse (linked by rq_next) */
    size_t nfree_tasks;
    corio_group top;
    corio_task *main;
    struct corio__list tasks; /* every live task */
    size_t ntasks;
    pthread_mutex_t mbox_lock;
    struct corio__msg *mbox_head, *mbox_tail;
    _Atomic bool mbox_closed;
    _Atomic bool mbox_signalled;
    _Atomic int ext_pending;
    _Atomic(corio_task *) wd_task; /* running task as seen by the watchdog */
    struct corio_loop_counters c;
    int sigfd;            /* loop 0 only: the run's signalfd, else -1 */
    void *sched_stack_lo; /* sanitizers: the scheduler's stack */
    size_t sched_stack_size;
#if CORIO_TSAN
    void *sched_fiber;
#endif
    void *altstack; /* SIGSEGV alternate stack for overflow reports */
    pthread_t thread;
    int result; /* main's result */
};

struct corio__rt {
    struct corio_run_opts o;
    int nloops;
    corio_loop **loops;
    struct corio__exec *exec; /* executor, created on first use */
    pthread_mutex_t exec_lock;
    struct corio__sig *sig; /* signal state (signal.c) */
    struct corio__wd *wd;   /* watchdog (watchdog.c) */
};

/* epoll data values of the loop's own fds (fds use their number). */
#define CORIO__EV_MBOX UINT64_MAX
#define CORIO__EV_SIGNAL (UINT64_MAX - 1)

/* Loop lifecycle (loop.c). */
int corio__loop_new(struct corio__rt *rt, int index, corio_loop **out);
void corio__loop_free(corio_loop *l);
/* Runs l until every task has finished. Must be called on l's thread. */
void corio__loop_run(corio_loop *l);
int64_t corio__clock_now(corio_loop *l);
void corio__loop_update_time(corio_loop *l);
/* Arms/disarms a task's park timer. */
void corio__timer_arm(corio_loop *l, corio_task *t, int64_t at, int code);
void corio__timer_disarm(corio_loop *l, corio_task *t);
/* Runs the first runnable task from the scheduler (loop.c calls; task.c implements). */
void corio__sched_resume(corio_loop *l, corio_task *t);
/* Task reaping after a switch (task.c). */
void corio__after_switch(corio_loop *l);
/* Spawns a task on loop l into group g from scheduler or task context. */
int corio__spawn(corio_loop *l, corio_group *g, const struct corio_spawn_opts *o, corio_fn fn,
                 void *arg, corio_task **out, const char *site);
void corio__task_free_all(corio_loop *l);
/* Dispatchers of the fds the loop owns itself (signal.c). */
void corio__signal_dispatch(corio_loop *l);
void corio__fd_event(corio_loop *l, int fd, uint32_t events);
void corio__fd_table_free(corio_loop *l);
/* Executor and watchdog lifecycle (exec.c, watchdog.c); rt-wide. */
void corio__exec_shutdown(struct corio__rt *rt);
int corio__watchdog_start(struct corio__rt *rt);
void corio__watchdog_stop(struct corio__rt *rt);
/* Stack overflow reporting (stack.c). */
int corio__overflow_handler_install(corio_loop *l);
void corio__overflow_handler_remove(corio_loop *l);
void corio__stack_check_canary(corio_task *t);
/* Signal state per run (signal.c). */
int corio__signal_rt_init(struct corio__rt *rt, sigset_t *old_mask);
int corio__signal_attach(corio_loop *l0);
void corio__signal_rt_free(struct corio__rt *rt);

#endif
