/* SPDX-License-Identifier: MIT */
/* Text helpers of the obs module: a growable buffer, UTF-8 validation, JSON string escaping
 * (the logger), Prometheus escaping (the exposition) and shortest round-trip formatting of
 * doubles.
 *
 * Both escapers treat their input as hostile bytes: valid UTF-8 passes through, every byte that
 * does not start a valid sequence is replaced by U+FFFD, so the output is always valid UTF-8 and
 * a reader can never be tricked into seeing a quote or a line break that was not escaped. They
 * deliberately do not normalise or otherwise interpret the text.
 */
#include "obs_int.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

_Noreturn void corio__obs_assert_fail(const char *expr, const char *file, int line)
{
    corio_log(CORIO_LOG_FATAL, "obs", "assertion failed: %s (%s:%d)", expr, file, line);
    abort();
}

/* ---- buffer --------------------------------------------------------------------------------- */

static bool buf_reserve(struct corio__obs_buf *b, size_t n)
{
    if (b->oom)
        return false;
    if (b->len + n + 1 <= b->cap)
        return true;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + n + 1) {
        if (cap > SIZE_MAX / 2) {
            b->oom = true;
            return false;
        }
        cap *= 2;
    }
    char *p = realloc(b->p, cap);
    if (!p) {
        b->oom = true;
        return false;
    }
    b->p = p;
    b->cap = cap;
    return true;
}

void corio__obs_buf_put(struct corio__obs_buf *b, const void *s, size_t n)
{
    if (!buf_reserve(b, n))
        return;
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = 0;
}

void corio__obs_buf_puts(struct corio__obs_buf *b, const char *s)
{
    corio__obs_buf_put(b, s, strlen(s));
}

void corio__obs_buf_putc(struct corio__obs_buf *b, char c)
{
    corio__obs_buf_put(b, &c, 1);
}

void corio__obs_buf_printf(struct corio__obs_buf *b, const char *fmt, ...)
{
    char small[128];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof small) {
        corio__obs_buf_put(b, small, (size_t)n);
        return;
    }
    if (!buf_reserve(b, (size_t)n))
        return;
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void corio__obs_buf_free(struct corio__obs_buf *b)
{
    free(b->p);
    *b = (struct corio__obs_buf){0};
}

/* ---- UTF-8 ---------------------------------------------------------------------------------- */

/* Unicode 15, table 3-7 "Well-Formed UTF-8 Byte Sequences". */
size_t corio__utf8_valid_len(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    if (c < 0x80)
        return 1;
    size_t len;
    unsigned lo = 0x80, hi = 0xbf; /* allowed range of the second byte */
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        if (c == 0xe0)
            lo = 0xa0; /* overlong */
        else if (c == 0xed)
            hi = 0x9f; /* surrogates */
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        if (c == 0xf0)
            lo = 0x90; /* overlong */
        else if (c == 0xf4)
            hi = 0x8f; /* past U+10FFFF */
    } else {
        return 0; /* continuation byte, C0/C1 (overlong), F5..FF */
    }
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    return len;
}

/* ---- JSON ----------------------------------------------------------------------------------- */

size_t corio__json_escape(char *dst, size_t cap, const char *src, size_t n, size_t *used)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *s = (const unsigned char *)src;
    size_t o = 0, i = 0;
    while (i < n) {
        /* The common case first: a run of printable ASCII goes out in one copy. */
        size_t run = i;
        while (run < n && s[run] >= 0x20 && s[run] < 0x7f && s[run] != '"' && s[run] != '\\')
            run++;
        if (run > i) {
            size_t k = run - i < cap - o ? run - i : cap - o;
            memcpy(dst + o, s + i, k);
            o += k;
            i += k;
            if (i < run)
                break; /* out of room */
            continue;
        }
        char esc[8];
        const char *unit = esc;
        size_t ulen, adv = 1;
        unsigned c = s[i];
        if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
            esc[0] = (char)c;
            ulen = 1;
        } else if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            ulen = 2;
        } else if (c < 0x20 || c == 0x7f) {
            const char *named = NULL;
            switch (c) {
            case '\n':
                named = "\\n";
                break;
            case '\r':
                named = "\\r";
                break;
            case '\t':
                named = "\\t";
                break;
            case '\b':
                named = "\\b";
                break;
            case '\f':
                named = "\\f";
                break;
            default:
                break;
            }
            if (named) {
                unit = named;
                ulen = 2;
            } else {
                memcpy(esc, "\\u00", 4);
                esc[4] = hex[c >> 4];
                esc[5] = hex[c & 15];
                ulen = 6;
            }
        } else if ((adv = corio__utf8_valid_len(s + i, n - i)) != 0) {
            unit = (const char *)s + i;
            ulen = adv;
        } else {
            unit = "\\ufffd";
            ulen = 6;
            adv = 1;
        }
        if (ulen > cap - o)
            break;
        memcpy(dst + o, unit, ulen);
        o += ulen;
        i += adv;
    }
    *used = i;
    return o;
}

size_t corio_json_escape(char *dst, size_t cap, const char *s, size_t len)
{
    size_t used = 0, o = 0;
    if (cap) {
        o = corio__json_escape(dst, cap - 1, s, len, &used);
        dst[o] = 0;
    }
    /* Out of room: count what the rest would need. */
    size_t need = o;
    char tmp[256];
    while (used < len) {
        size_t u;
        need += corio__json_escape(tmp, sizeof tmp, s + used, len - used, &u);
        used += u;
    }
    return need;
}

/* ---- Prometheus ----------------------------------------------------------------------------- */

void corio__prom_escape(struct corio__obs_buf *b, const char *src, size_t n, bool label)
{
    const unsigned char *s = (const unsigned char *)src;
    size_t i = 0, run = 0; /* s[run..i) is pending verbatim output */
    while (i < n) {
        unsigned c = s[i];
        const char *rep = NULL;
        size_t adv = 1;
        if (c == '\\')
            rep = "\\\\";
        else if (c == '\n')
            rep = "\\n";
        else if (c == '"' && label)
            rep = "\\\"";
        else if (c >= 0x80 && (adv = corio__utf8_valid_len(s + i, n - i)) == 0)
            rep = "\xef\xbf\xbd"; /* U+FFFD */
        if (!rep) {
            i += adv;
            continue;
        }
        corio__obs_buf_put(b, s + run, i - run);
        corio__obs_buf_puts(b, rep);
        i += 1;
        run = i;
    }
    corio__obs_buf_put(b, s + run, i - run);
}

/* ---- numbers -------------------------------------------------------------------------------- */

size_t corio__fmt_double(char out[32], double v)
{
    int n;
    if (isnan(v)) {
        n = snprintf(out, 32, "NaN");
    } else if (isinf(v)) {
        n = snprintf(out, 32, v > 0 ? "+Inf" : "-Inf");
    } else if (fabs(v) < 9007199254740992.0 && v == (double)(long long)v) {
        n = snprintf(out, 32, "%lld", (long long)v); /* exact integers, without exponent */
    } else {
        /* %g drops trailing zeros, so the first precision that reads back is the shortest. */
        n = snprintf(out, 32, "%.15g", v);
        if (strtod(out, NULL) != v)
            n = snprintf(out, 32, "%.16g", v);
        if (strtod(out, NULL) != v)
            n = snprintf(out, 32, "%.17g", v);
    }
    return n < 0 ? 0 : (size_t)n;
}
