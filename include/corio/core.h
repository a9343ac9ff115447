/* SPDX-License-Identifier: MIT */
/* corio/core.h: the runtime core: loops, tasks, groups, cancellation, deadlines, task-local
 * values, sleeping and fd readiness.
 *
 * The model in one paragraph. corio_run() starts a loop on the calling thread (or one loop per
 * worker thread) and runs a main task on it. Tasks are stackful coroutines: a call that would
 * block (sleep, wait for an fd, take a lock, read a channel, wait for the executor) parks the
 * task and lets the loop run others. Every task belongs to a group; a group is owned by the task
 * that opened it, and waiting on it waits for every child. The first child that fails (returns
 * a negative value) cancels its siblings and its error is what corio_group_wait() returns.
 * Cancelling a task makes its current and every later blocking call return -ECANCELED until it
 * returns, and cancels the groups it owns. Deadlines are scopes: they nest, the earliest one
 * governs every blocking call inside, and a blocking call past it returns -ETIMEDOUT. A shield
 * scope protects cleanup from cancellation and outer deadlines.
 *
 * Threads. A loop and everything attached to it (tasks, groups, sync objects, fds being waited
 * on) belongs to one thread. Other threads reach a loop only through corio_loop_post() /
 * corio_loop_call(). Unless stated otherwise, functions here must be called from a task running
 * on a loop ("task context"); calling them elsewhere is a bug and aborts.
 *
 * Errors. Functions return 0 or a count on success and a negative errno on failure; nothing
 * here uses errno. corio_strerror() renders any code. Functions marked "Suspends" may park the
 * calling task and so may return -ECANCELED (the task was cancelled) or -ETIMEDOUT (a deadline
 * in scope passed).
 */
#ifndef CORIO_CORE_H
#define CORIO_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CORIO_API __attribute__((visibility("default")))

/* ---------------------------------------------------------------------------------------------
 * Time. All times are int64_t nanoseconds on the loop's monotonic clock. Deadlines are absolute.
 */
#define CORIO_NS ((int64_t)1)
#define CORIO_US ((int64_t)1000)
#define CORIO_MS ((int64_t)1000000)
#define CORIO_S ((int64_t)1000000000)
#define CORIO_FOREVER INT64_MAX /* "no deadline" */

/* ---------------------------------------------------------------------------------------------
 * Opaque types.
 */
typedef struct corio_loop corio_loop;   /* one event loop; owned by its thread */
typedef struct corio_task corio_task;   /* a coroutine; handles are reference counted */
typedef struct corio_group corio_group; /* a set of child tasks owned by one task */

/* A task body. The return value is the task's result: >= 0 is success, negative is an error
 * (a failed child cancels its group's siblings). */
typedef int (*corio_fn)(void *arg);

/* ---------------------------------------------------------------------------------------------
 * Running.
 */
struct corio_run_opts {
    int workers;           /* loop threads; 0 or 1 = one loop on the calling thread. Each worker
                            * runs main(arg) on its own loop; see corio_worker_id(). */
    size_t stack_size;     /* default stack per task; 0 = 64 KiB; rounded up to pages */
    size_t stack_cache;    /* free stacks kept resident per loop; 0 = 1024 */
    size_t guard_stacks;   /* stacks with a guard page per process; 0 = vm.max_map_count / 8 */
    int64_t watchdog_ns;   /* report a task holding a loop longer than this; 0 = 100 ms,
                            * negative = no watchdog */
    int executor_threads;  /* threads of the blocking-work executor; 0 = 4 */
    size_t executor_queue; /* bounded executor submission queue; 0 = 1024 */
    bool virtual_time;     /* tests: the clock starts at 0 and stands still while anything can
                            * run; when every task waits, it jumps to the next timer. fds are
                            * still polled, without blocking. Not for production. */
    uint64_t shuffle_seed; /* tests: non-zero shuffles each batch of runnable tasks with this
                            * seed to explore interleavings */
    uint64_t _reserved[4];
};

/* Runs main(arg) as the main task of a new loop (one per worker) and returns when it has
 * finished and every task in the loop's top group has been cancelled and reaped, like
 * asyncio.run(). Returns main's result (with workers > 1: the first negative result of any
 * worker, else worker 0's); a main that was cancelled (corio_shutdown) and returns -ECANCELED
 * counts as 0. May be called again after it returns, but not nested. Blocks the
 * calling thread. Signals SIGINT, SIGTERM, SIGHUP, SIGUSR1 and SIGUSR2 are blocked in every
 * corio thread during the run and read through a signalfd; if no task waits for one of them when it
 * arrives, the default action happens as without corio (see corio/signal.h). Errors: -ENOMEM,
 * -EMFILE, -EINVAL (bad option), -EBUSY (already running on this thread). o may be NULL for
 * defaults; it is borrowed for the call. */
CORIO_API int corio_run(const struct corio_run_opts *o, corio_fn main, void *arg);

/* The current time of this loop in ns (cached once per loop iteration, so cheap). Task
 * context, or any thread with a loop. */
CORIO_API int64_t corio_now(void);

/* The loop's clock read afresh rather than cached (a vDSO clock read, some 20 ns): for timing
 * work done within one loop iteration, such as a request's handling time, which corio_now()
 * would show as zero. On a virtual-time run it is the virtual clock. Task context, or any
 * thread with a loop. */
CORIO_API int64_t corio_clock(void);

/* corio_now() + ns, saturating at CORIO_FOREVER. */
CORIO_API int64_t corio_after(int64_t ns);

/* Parks the calling task for ns nanoseconds (until the absolute time at, for _until). Time is
 * rounded up to the loop's 1 ms timer tick; a sleep never ends early. Suspends; returns 0,
 * -ECANCELED or -ETIMEDOUT (an enclosing deadline comes first). */
CORIO_API int corio_sleep(int64_t ns);
CORIO_API int corio_sleep_until(int64_t at);

/* Lets every other runnable task run once, then continues. Suspends; returns 0 or
 * -ECANCELED. (A deadline already passed returns -ETIMEDOUT.) */
CORIO_API int corio_yield(void);

/* ---------------------------------------------------------------------------------------------
 * Tasks.
 */
struct corio_spawn_opts {
    const char *name;  /* shown in listings and reports; copied (first 31 bytes); NULL = "task" */
    size_t stack_size; /* 0 = the run's default */
    uint64_t _reserved[2];
};

/* Spawns fn(arg) as a child of group g (NULL = the loop's top group, for background work that
 * must outlive the caller; it is still cancelled at shutdown). The child starts running
 * later, in FIFO order with other runnable tasks; the caller keeps running. arg is passed
 * through untouched (ownership is the caller's business). The child inherits the caller's
 * task-local values and, when g is owned by the calling task, its current deadline.
 * If out is non-NULL it receives a handle the caller owns: release it with corio_task_join()
 * (which waits) or corio_task_release(). site is the spawn site shown in reports (the macros
 * pass "file:line"). Errors: -ENOMEM; -ECANCELED if g is cancelled or closing (the child is not
 * started). Does not suspend. */
CORIO_API int corio_spawn_ex(corio_group *g, const struct corio_spawn_opts *o, corio_fn fn,
                             void *arg, corio_task **out, const char *site);

#define CORIO__STR2(x) #x
#define CORIO__STR(x) CORIO__STR2(x)
#define CORIO__SITE __FILE__ ":" CORIO__STR(__LINE__)

/* corio_spawn(g, fn, arg): spawn with the function's name as the task name.
 * corio_spawn_task(g, fn, arg, &t): the same, keeping a handle to join.
 * corio_spawn_named(g, "name", fn, arg, &t): an explicit name (t may be NULL). */
#define corio_spawn(g, fn, arg)                                                                    \
    corio_spawn_ex((g), &(struct corio_spawn_opts){.name = #fn}, (fn), (arg), NULL, CORIO__SITE)
#define corio_spawn_task(g, fn, arg, out)                                                          \
    corio_spawn_ex((g), &(struct corio_spawn_opts){.name = #fn}, (fn), (arg), (out), CORIO__SITE)
#define corio_spawn_named(g, nm, fn, arg, out)                                                     \
    corio_spawn_ex((g), &(struct corio_spawn_opts){.name = (nm)}, (fn), (arg), (out), CORIO__SITE)

/* Waits for t to finish and stores its result in *result (may be NULL). On success (0) the
 * handle is released: t must not be used again. If the waiting task is cancelled or a deadline
 * passes first, returns -ECANCELED / -ETIMEDOUT and the handle stays valid (join again, cancel
 * it, or release it). Joining one's own task returns -EDEADLK. Suspends. */
CORIO_API int corio_task_join(corio_task *t, int *result);

/* Requests cancellation of t (borrowed): its current and every later blocking call return
 * -ECANCELED (outside shields) and the groups it owns are cancelled. Idempotent; a finished
 * task is left alone. Does not wait: join to wait. Does not suspend; may be called on oneself. */
CORIO_API void corio_task_cancel(corio_task *t);

/* Drops the handle from spawn without waiting; the task keeps running in its group. */
CORIO_API void corio_task_release(corio_task *t);

/* True once t has finished (its result is then available through join). */
CORIO_API bool corio_task_done(const corio_task *t);

/* The running task (borrowed; valid while it runs), or NULL outside task context. */
CORIO_API corio_task *corio_self(void);

/* A task's unique id within the process (ids start at 1) and name (borrowed, lives as long as
 * the task). */
CORIO_API uint64_t corio_task_id(const corio_task *t);
CORIO_API const char *corio_task_name(const corio_task *t);

/* True if the current task has been asked to cancel (even inside a shield). A long
 * computation should call corio_yield() now and then (which also lets a cancel arrive and the
 * clock move) and can check this to stop early. */
CORIO_API bool corio_cancelled(void);

/* Returns -ECANCELED if the current task is cancelled and not shielded, -ETIMEDOUT if the
 * current deadline has passed, else 0. Never suspends. */
CORIO_API int corio_check(void);

/* ---------------------------------------------------------------------------------------------
 * Task groups (structured concurrency).
 */

/* Opens a group owned by the calling task: its children belong to it and never outlive it. If
 * the owner is cancelled, the group is cancelled. If the owner returns with the group still
 * open, the group is closed for it (children cancelled and reaped). Errors: -ENOMEM. Does not
 * suspend. */
CORIO_API int corio_group_open(corio_group **out);

/* Waits until every child (including ones spawned while waiting) has finished. Returns 0 if
 * all succeeded, else the error of the first child that failed (the others were cancelled when
 * it failed). If the waiting task is cancelled or a deadline passes, the children are cancelled
 * and reaped first (this part does not obey the deadline; children stop at their next blocking
 * call) and -ECANCELED / -ETIMEDOUT is returned. Any task of the loop may wait (e.g. a shutdown
 * step waiting for a server's connections), except a child of g. Suspends. */
CORIO_API int corio_group_wait(corio_group *g);

/* Cancels every child; later spawns into g fail with -ECANCELED. Does not suspend. */
CORIO_API void corio_group_cancel(corio_group *g);

/* Cancels the children still running, waits for them (not cancellable: children stop at their
 * next blocking call), frees g and returns the group's result: the first failure, else
 * -ECANCELED if the group was cancelled (by corio_group_cancel, its owner's cancellation, or
 * because children were still running at close), else 0. Only the owner may close.
 * Suspends (uninterruptibly). */
CORIO_API int corio_group_close(corio_group *g);

/* Children currently running in g. */
CORIO_API size_t corio_group_size(const corio_group *g);

/* The loop's top group: the main task and background workers live there; shutdown cancels
 * it. */
CORIO_API corio_group *corio_top_group(void);

/* ---------------------------------------------------------------------------------------------
 * Deadlines and shields: scopes on the calling task's stack, left in reverse order of entry.
 */
typedef struct corio_deadline {
    int64_t at;   /* this scope's own deadline */
    int64_t _eff; /* effective deadline (min with outer scopes unless shielded) */
    struct corio_deadline *_prev;
    unsigned _shield; /* non-zero: this scope or an outer one shields */
    unsigned _hit;    /* a blocking call in scope returned -ETIMEDOUT because of this scope */
} corio_deadline;

/* Enters a deadline scope: every blocking call until corio_deadline_leave() returns -ETIMEDOUT
 * once corio_now() >= min(at, outer deadlines). d is caller storage that must stay valid until
 * leave. Does not suspend. */
CORIO_API void corio_deadline_enter(corio_deadline *d, int64_t at);

/* Leaves the innermost scope (d must be it; anything else aborts). Returns true if this scope's
 * own deadline caused a blocking call inside it to time out (like Trio's cancelled_caught). */
CORIO_API bool corio_deadline_leave(corio_deadline *d);

/* Enters a shield: inside it, cancellation and outer deadlines are ignored; only at (use
 * corio_after() for a short cleanup budget, or CORIO_FOREVER) applies. Leaving restores them: a
 * cancellation requested meanwhile takes effect at the next blocking call. Leave with
 * corio_deadline_leave(). */
CORIO_API void corio_shield_enter(corio_deadline *d, int64_t at);

/* The effective deadline governing the calling task now (CORIO_FOREVER if none). */
CORIO_API int64_t corio_deadline_current(void);

/* Runs fn(arg) in the calling task under a deadline of corio_after(timeout_ns) and returns its
 * result (which is -ETIMEDOUT when a blocking call inside timed out, if fn passes errors up).
 * The asyncio.wait_for analogue without a second task. */
CORIO_API int corio_wait_for(int64_t timeout_ns, corio_fn fn, void *arg);

/* ---------------------------------------------------------------------------------------------
 * Task-local values (the contextvars analogue). A child task sees the values its parent had at
 * spawn time; setting a value affects the calling task and children spawned afterwards only.
 */
typedef struct corio_local_key {
    const char *name; /* for diagnostics */
} corio_local_key;

/* Defines a key: static corio_local_key REQUEST_ID = CORIO_LOCAL_KEY("request_id"); */
#define CORIO_LOCAL_KEY(n)                                                                         \
    {                                                                                              \
        .name = (n)                                                                                \
    }

/* Sets the calling task's value for k to value (borrowed: it must stay valid as long as this
 * task or a child may read it). Errors: -ENOMEM. */
CORIO_API int corio_local_set(const corio_local_key *k, void *value);

/* Sets the value to a private copy of the len bytes at data (a trailing NUL is added); the
 * copy lives as long as any task can see it. Errors: -ENOMEM, -EMSGSIZE (len > 64 KiB). */
CORIO_API int corio_local_set_copy(const corio_local_key *k, const void *data, size_t len);

/* The calling task's value for k, or NULL. Outside task context: NULL. */
CORIO_API void *corio_local_get(const corio_local_key *k);

/* ---------------------------------------------------------------------------------------------
 * fd readiness. An fd is registered with the loop (edge-triggered) on first wait.
 */
#define CORIO_READ 1u
#define CORIO_WRITE 2u

/* Parks until fd may be readable (CORIO_READ) or writable (CORIO_WRITE). It is edge-like:
 * call it after the operation returned EAGAIN; it returns at once if readiness was reported
 * since the previous wait on this fd and direction returned, so no wake-up is lost, and a
 * spurious return is possible (retry the operation). Hang-up and errors count as ready. One
 * task at a time may wait per fd and direction. Suspends: 0, -ECANCELED, -ETIMEDOUT; -EBUSY
 * (another task waits), -EBADF (not an fd, or closed by corio_close() while waiting), -EPERM
 * (the fd does not support polling, e.g. a regular file), -ENOMEM. */
CORIO_API int corio_fd_wait(int fd, unsigned events);

/* Forgets fd (removes it from the loop, wakes its waiters with -EBADF). Call before closing an
 * fd that was waited on, or use corio_close(). Does not suspend. */
CORIO_API void corio_fd_forget(int fd);

/* corio_fd_forget(fd) then close(fd). Returns 0 or -errno from close. Does not suspend. */
CORIO_API int corio_close(int fd);

/* ---------------------------------------------------------------------------------------------
 * Loops, workers and cross-thread messages.
 */

/* The loop of the calling thread, or NULL. Any thread. */
CORIO_API corio_loop *corio_loop_current(void);

/* This worker's index in [0, corio_worker_count()) and the number of workers of the run. */
CORIO_API int corio_worker_id(void);
CORIO_API int corio_worker_count(void);

/* The loop of worker i (borrowed; valid during the run), or NULL if out of range. Any thread of
 * the run. */
CORIO_API corio_loop *corio_worker_loop(int i);

/* Posts fn(arg) to loop l, where it is spawned as a task in l's top group. Any thread, never
 * blocks. Ownership of arg passes to fn. Errors: -ENOMEM, -ESHUTDOWN (l is stopping). */
CORIO_API int corio_loop_post(corio_loop *l, corio_fn fn, void *arg);

/* Runs fn(arg) as a task on loop l and waits for its result (stored in *result). If the caller
 * is cancelled or times out, the remote task is cancelled and waited for (so arg stays valid
 * throughout), then -ECANCELED / -ETIMEDOUT is returned. Calling with l = the current loop runs
 * it as a child task. Suspends. Errors also: -ENOMEM, -ESHUTDOWN. */
CORIO_API int corio_loop_call(corio_loop *l, corio_fn fn, void *arg, int *result);

/* ---------------------------------------------------------------------------------------------
 * Errors and logging.
 */

/* A static string describing err (a negative errno or 0). Any thread. */
CORIO_API const char *corio_strerror(int err);

enum corio_log_level {
    CORIO_LOG_DEBUG = 0,
    CORIO_LOG_INFO = 1,
    CORIO_LOG_WARN = 2,
    CORIO_LOG_ERROR = 3,
    CORIO_LOG_FATAL = 4,
};

/* A log hook receives every message the library emits: level, subsystem ("core", "http"...),
 * and a formatted message without newline. It is called from any corio thread (including the
 * watchdog and executor threads), so it must be thread-safe, and must not block for long. */
typedef void (*corio_log_fn)(void *ctx, enum corio_log_level level, const char *subsystem,
                             const char *msg);

/* Installs the process-wide hook (NULL restores the default, which writes one line per message
 * to stderr with a single write) and the minimum level (default INFO). Any thread. */
CORIO_API void corio_log_set_hook(corio_log_fn fn, void *ctx, enum corio_log_level min_level);

/* Emits a message through the hook. Any thread. */
CORIO_API void corio_log(enum corio_log_level level, const char *subsystem, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#ifdef __cplusplus
}
#endif
#endif
