/* SPDX-License-Identifier: MIT */
/* apps/corio-demo/jbuf.c: a growable text buffer for building JSON answers (/health,
 * /debug/tasks) without a JSON library in the hot path.
 *
 * Invariant: p[0..len) is the text so far and, when p is non-NULL, p[len] is a NUL. After an
 * allocation fails, oom is set and every later append does nothing, so a builder checks once
 * at the end instead of after every call. Strings are escaped for JSON (RFC 8259): quote,
 * backslash and control characters; any byte that does not belong to a valid UTF-8 sequence
 * becomes U+FFFD, so the output is valid JSON whatever a task name holds.
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

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if the bytes there are not one
 * (overlong forms, surrogates and code points past U+10FFFF are invalid). */
static size_t utf8_len(const unsigned char *s)
{
    unsigned c = s[0];
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        return (s[1] & 0xc0) == 0x80 ? 2 : 0;
    if (c >= 0xe0 && c <= 0xef) {
        unsigned lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;
        if (s[1] < lo || s[1] > hi || (s[2] & 0xc0) != 0x80)
            return 0;
        return 3;
    }
    if (c >= 0xf0 && c <= 0xf4) {
        unsigned lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;
        if (s[1] < lo || s[1] > hi || (s[2] & 0xc0) != 0x80 || (s[3] & 0xc0) != 0x80)
            return 0;
        return 4;
    }
    return 0;
}

void jbuf_json_str(struct jbuf *b, const char *s)
{
    if (!s) {
        jbuf_puts(b, "null");
        return;
    }
    jbuf_put(b, "\"", 1);
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        /* Copy the longest run that needs no escaping in one go. */
        const unsigned char *run = p;
        while (*p >= 0x20 && *p != '"' && *p != '\\' && *p < 0x80 && *p != 0x7f)
            p++;
        if (p > run)
            jbuf_put(b, (const char *)run, (size_t)(p - run));
        if (!*p)
            break;
        char esc[8];
        if (*p == '"' || *p == '\\') {
            esc[0] = '\\';
            esc[1] = (char)*p;
            jbuf_put(b, esc, 2);
            p++;
        } else if (*p < 0x20 || *p == 0x7f) {
            snprintf(esc, sizeof esc, "\\u%04x", *p);
            jbuf_put(b, esc, 6);
            p++;
        } else {
            /* utf8_len stops at the NUL: a continuation byte is never 0. */
            size_t n = utf8_len(p);
            if (n) {
                jbuf_put(b, (const char *)p, n);
                p += n;
            } else {
                jbuf_puts(b, "\\ufffd");
                p++;
            }
        }
    }
    jbuf_put(b, "\"", 1);
}

void jbuf_free(struct jbuf *b)
{
    free(b->p);
    *b = (struct jbuf){0};
}
