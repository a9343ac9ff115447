/* SPDX-License-Identifier: MIT */
/* The log hook and error strings. The library never prints on its own: everything goes through
 * the hook, whose default writes one line per message to stderr with a single write(2) (so lines
 * from different threads do not interleave). The obs module installs its JSON logger here.
 */
#include "core_int.h"

#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

static const char *const level_names[] = {"debug", "info", "warn", "error", "fatal"};

static void default_hook(void *ctx, enum corio_log_level level, const char *subsystem,
                         const char *msg)
{
    char line[1200];
    (void)ctx;
    int n =
        snprintf(line, sizeof line, "corio %s [%s] %s\n",
                 level_names[level <= CORIO_LOG_FATAL ? level : CORIO_LOG_FATAL], subsystem, msg);
    if (n < 0)
        return;
    if ((size_t)n >= sizeof line) {
        n = (int)sizeof line;
        line[n - 1] = '\n';
    }
    ssize_t w = write(STDERR_FILENO, line, (size_t)n);
    (void)w;
}

/* The hook is read from any thread while rarely written: each field is atomic, and a reader
 * may pair an old function with a new context only while a caller replaces both at once,
 * which the header asks callers not to do while other threads log. */
static _Atomic(corio_log_fn) hook_fn = default_hook;
static _Atomic(void *) hook_ctx;
static _Atomic int hook_min = CORIO_LOG_INFO;

void corio_log_set_hook(corio_log_fn fn, void *ctx, enum corio_log_level min_level)
{
    atomic_store(&hook_ctx, ctx);
    atomic_store(&hook_fn, fn ? fn : default_hook);
    atomic_store(&hook_min, (int)min_level);
}

static void vlog(enum corio_log_level level, const char *subsystem, const char *fmt, va_list ap)
{
    if ((int)level < atomic_load_explicit(&hook_min, memory_order_relaxed))
        return;
    char msg[1024];
    vsnprintf(msg, sizeof msg, fmt, ap);
    corio_log_fn fn = atomic_load(&hook_fn);
    fn(atomic_load(&hook_ctx), level, subsystem, msg);
}

void corio_log(enum corio_log_level level, const char *subsystem, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog(level, subsystem, fmt, ap);
    va_end(ap);
}

_Noreturn void corio__fatal(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    /* Fatal messages ignore the level filter: they are the last thing the process says. */
    char msg[1024];
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    atomic_load (&hook_fn)(atomic_load(&hook_ctx), CORIO_LOG_FATAL, "core", msg);
    abort();
}

_Noreturn void corio__assert_fail(const char *expr, const char *file, int line)
{
    corio__fatal("assertion failed: %s (%s:%d)", expr, file, line);
}

const char *corio_strerror(int err)
{
    switch (err) {
    case 0:
        return "success";
    case -ECANCELED:
        return "cancelled";
    case -ETIMEDOUT:
        return "deadline passed";
    case -EPROTO:
        return "the peer broke the protocol";
    case -EMSGSIZE:
        return "a configured size limit was hit";
    case -EREMOTEIO:
        return "the server answered with an error";
    case -ESHUTDOWN:
        return "the loop is shutting down";
    case -EPIPE:
        return "closed";
    default:
        break;
    }
    if (err < 0 && err > -4096) {
        /* strerrordesc_np is static and thread-safe (glibc >= 2.32). */
        const char *s = strerrordesc_np(-err);
        if (s)
            return s;
    }
    return "unknown error";
}
