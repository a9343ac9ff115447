/* SPDX-License-Identifier: MIT */
/* fuzz/http_common.h: helpers shared by the HTTP codec fuzz targets: a text rendering of parse
 * results with views as buffer offsets (so results over different buffers compare with strcmp),
 * invariant checks on successful parses, and exact-size copies (so ASan sees an over-read of
 * even one byte). A broken invariant prints what it saw and aborts, which libFuzzer reports as a
 * crash and the replay test as a failure.
 */
#ifndef CORIO_FUZZ_HTTP_COMMON_H
#define CORIO_FUZZ_HTTP_COMMON_H

#include "corio/http_parser.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FZ_TEXT 16384

struct fz_text {
    char buf[FZ_TEXT];
    size_t len;
};

__attribute__((format(printf, 2, 3))) static inline void fz_add(struct fz_text *t, const char *fmt,
                                                                ...)
{
    va_list ap;
    if (t->len >= FZ_TEXT - 1)
        return;
    va_start(ap, fmt);
    int k = vsnprintf(t->buf + t->len, FZ_TEXT - t->len, fmt, ap);
    va_end(ap);
    if (k > 0)
        t->len = t->len + (size_t)k < FZ_TEXT - 1 ? t->len + (size_t)k : FZ_TEXT - 1;
}

__attribute__((noreturn, format(printf, 1, 2))) static inline void fz_die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    abort();
}

static inline bool fz_inside(struct corio_http_str v, const char *buf, size_t len)
{
    if (v.ptr == NULL)
        return v.len == 0;
    uintptr_t p = (uintptr_t)v.ptr, b = (uintptr_t)buf;
    return p >= b && v.len <= len && p - b <= len - v.len;
}

static inline void fz_view(struct fz_text *t, const char *name, struct corio_http_str v,
                           const char *buf, size_t len)
{
    if (v.ptr == NULL)
        fz_add(t, " %s=-", name);
    else if (fz_inside(v, buf, len))
        fz_add(t, " %s=%zu+%zu", name, (size_t)(v.ptr - buf), v.len);
    else
        fz_add(t, " %s=static:%.*s", name, (int)(v.len < 8 ? v.len : 8), v.ptr);
}

static inline void fz_error(struct fz_text *t, int rc, const struct corio_http_error *e)
{
    fz_add(t, "rc=%d", rc);
    if (rc < 0 && rc != -EAGAIN)
        fz_add(t, " st=%d off=%zu why=%s", e->status, e->offset, e->reason ? e->reason : "NULL");
}

static inline void fz_headers(struct fz_text *t, const struct corio_http_header *h, size_t n,
                              const char *buf, size_t len)
{
    for (size_t i = 0; i < n && h != NULL; i++) {
        fz_view(t, "n", h[i].name, buf, len);
        fz_view(t, "v", h[i].value, buf, len);
    }
}

static inline const char *fz_request(struct fz_text *t, int rc,
                                     const struct corio_http_request_head *h, const char *buf,
                                     size_t len)
{
    t->len = 0;
    t->buf[0] = '\0';
    fz_error(t, rc, &h->error);
    if (rc <= 0 && !(rc == -EMSGSIZE && h->error.status == 413))
        return t->buf;
    fz_add(t, " m=%d f=%d", (int)h->method, (int)h->form);
    fz_view(t, "mn", h->method_name, buf, len);
    fz_view(t, "t", h->target, buf, len);
    fz_view(t, "p", h->path, buf, len);
    fz_view(t, "q", h->query, buf, len);
    fz_view(t, "a", h->authority, buf, len);
    fz_view(t, "h", h->host, buf, len);
    fz_add(t, " v=%d cl=%lld ch=%d ka=%d ex=%d up=%d nh=%zu", h->minor_version,
           (long long)h->content_length, h->chunked, h->keep_alive, h->expect_continue, h->upgrade,
           h->num_headers);
    fz_headers(t, h->headers, h->num_headers, buf, len);
    return t->buf;
}

static inline const char *fz_response(struct fz_text *t, int rc,
                                      const struct corio_http_response_head *h, const char *buf,
                                      size_t len)
{
    t->len = 0;
    t->buf[0] = '\0';
    fz_error(t, rc, &h->error);
    if (rc <= 0)
        return t->buf;
    fz_add(t, " v=%d s=%d", h->minor_version, h->status);
    fz_view(t, "r", h->reason, buf, len);
    fz_add(t, " cl=%lld b=%d ch=%d ka=%d tu=%d nh=%zu", (long long)h->content_length, (int)h->body,
           h->chunked, h->keep_alive, h->tunnel, h->num_headers);
    fz_headers(t, h->headers, h->num_headers, buf, len);
    return t->buf;
}

/* Field lines as the parser promises them: a non-empty token name; a value without CR, LF,
 * other controls or DEL (HTAB allowed) and without leading or trailing SP/HTAB. */
static inline void fz_check_fields(const struct corio_http_header *h, size_t n, const char *buf,
                                   size_t len)
{
    static const char tchars[] = "!#$%&'*+-.^_`|~";
    for (size_t i = 0; i < n; i++) {
        struct corio_http_str nm = h[i].name, v = h[i].value;
        if (!fz_inside(nm, buf, len) || !fz_inside(v, buf, len) || nm.len == 0 || v.ptr == NULL)
            fz_die("field %zu outside the head", i);
        for (size_t k = 0; k < nm.len; k++) {
            unsigned char c = (unsigned char)nm.ptr[k];
            bool ok = (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') ||
                      (c != 0 && strchr(tchars, c) != NULL);
            if (!ok)
                fz_die("field %zu: name byte 0x%02x", i, c);
        }
        for (size_t k = 0; k < v.len; k++) {
            unsigned char c = (unsigned char)v.ptr[k];
            if ((c < 0x20 && c != '\t') || c == 0x7f)
                fz_die("field %zu: value byte 0x%02x", i, c);
        }
        if (v.len > 0 && (v.ptr[0] == ' ' || v.ptr[0] == '\t' || v.ptr[v.len - 1] == ' ' ||
                          v.ptr[v.len - 1] == '\t'))
            fz_die("field %zu: value not trimmed", i);
    }
}

static inline void fz_check_error(int rc, const struct corio_http_error *e, size_t len,
                                  const int *statuses)
{
    if (rc == -EAGAIN || rc > 0)
        return;
    if (rc != -EPROTO && rc != -EMSGSIZE)
        fz_die("unexpected rc %d", rc);
    if (e->reason == NULL || e->offset > len)
        fz_die("error without reason or offset %zu beyond %zu", e->offset, len);
    for (const int *s = statuses; *s != 0; s++)
        if (*s == e->status)
            return;
    fz_die("unexpected status %d", e->status);
}

/* An exact-size heap copy of data[0..n) (n == 0 still gets a distinct allocation). */
static inline char *fz_copy(const uint8_t *data, size_t n)
{
    char *p = malloc(n ? n : 1);
    if (p == NULL)
        abort();
    if (n > 0)
        memcpy(p, data, n);
    return p;
}

static inline uint64_t fz_hash(const uint8_t *d, size_t n)
{
    uint64_t h = 1469598103934665603u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ d[i]) * 1099511628211u;
    return h;
}

#endif /* CORIO_FUZZ_HTTP_COMMON_H */
