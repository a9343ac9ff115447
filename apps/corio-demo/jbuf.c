/* SPDX-License-Identifier: MIT */
/* apps/corio-demo/jbuf.c: a growable text buffer for building JSON answers (/health,
 * /debug/tasks) without a JSON library in the hot path.
 *
 * Invariant: p[0..len) is the text so far and, when p is non-NULL, p[len] is a NUL. After an
 * allocation fails, oom is set and every later append does nothing, so a builder checks once
 * at the end instead of after every call. Strings are escaped with corio_json_escape (obs.h):
 * the output is valid JSON whatever a task name holds.
 */
#include "demo.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool reserve(struct jbuf *b, size_t n)
{
    if (b->oom)
        return false;
    if (b->len + n + 1 <= b->cap)
        return true;
    size_t cap = b->cap ? b->cap : 1024;
    while (cap < b->len + n + 1)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) {
        b->oom = true;
        return false;
    }
    b->p = p;
    b->cap = cap;
    return true;
}

void jbuf_put(struct jbuf *b, const char *s, size_t n)
{
    if (n == 0 || !reserve(b, n))
        return;
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = 0;
}

void jbuf_puts(struct jbuf *b, const char *s)
{
    jbuf_put(b, s, strlen(s));
}

void jbuf_printf(struct jbuf *b, const char *fmt, ...)
{
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof small) {
        jbuf_put(b, small, (size_t)n);
        return;
    }
    if (!reserve(b, (size_t)n))
        return;
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void jbuf_json_str(struct jbuf *b, const char *s)
{
    if (!s) {
        jbuf_puts(b, "null");
        return;
    }
    size_t n = strlen(s), cap = n * 6 + 1; /* the longest escape of a byte is 6 bytes */
    if (!reserve(b, cap + 2))
        return;
    b->p[b->len++] = '"';
    b->len += corio_json_escape(b->p + b->len, cap, s, n);
    b->p[b->len++] = '"';
    b->p[b->len] = 0;
}

void jbuf_free(struct jbuf *b)
{
    free(b->p);
    *b = (struct jbuf){0};
}
