/* SPDX-License-Identifier: MIT */
/* tests/unit/http/http_util.h: helpers shared by the HTTP codec tests.
 *
 * guarded(): copies bytes so that they end exactly at a PROT_NONE page, the picohttpparser
 * trick: a parser that reads one byte past what it was given faults at once instead of reading
 * a neighbour's memory. Every parse in these tests goes through it. The region is one mapping
 * reused by every call, so a new copy overwrites the previous one (tests use views only until
 * the next call, and incremental tests thereby check that a buffer may move between calls).
 *
 * describe_request() / describe_response(): render a parse result as text, with views written
 * as offsets into their buffer, so results from different buffers (one-shot vs incremental, or
 * two splits of one stream) compare with ASSERT_STREQ and print readably when they differ.
 */
#ifndef CORIO_TESTS_HTTP_UTIL_H
#define CORIO_TESTS_HTTP_UTIL_H

#include "corio/http_parser.h"
#include "test.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define GUARD_REGION ((size_t)2 << 20)

static inline char *guarded(const void *src, size_t n)
{
    static char *base;
    size_t page = (size_t)sysconf(_SC_PAGESIZE);

    if (base == NULL) {
        base = mmap(NULL, GUARD_REGION + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                    -1, 0);
        ASSERT(base != MAP_FAILED);
        ASSERT_EQ(mprotect(base + GUARD_REGION, page, PROT_NONE), 0);
    }
    ASSERT(n <= GUARD_REGION);
    char *dst = base + GUARD_REGION - n;
    if (n > 0)
        memcpy(dst, src, n);
    return dst;
}

struct text {
    char buf[8192];
    size_t len;
};

__attribute__((format(printf, 2, 3))) static inline void text_add(struct text *t, const char *fmt,
                                                                  ...)
{
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(t->buf + t->len, sizeof t->buf - t->len, fmt, ap);
    va_end(ap);
    if (k > 0)
        t->len += (size_t)k < sizeof t->buf - t->len ? (size_t)k : sizeof t->buf - t->len - 1;
}

static inline void text_view(struct text *t, const char *name, struct corio_http_str v,
                             const char *buf)
{
    if (v.ptr == NULL)
        text_add(t, " %s=absent", name);
    else if ((uintptr_t)v.ptr >= (uintptr_t)buf &&
             (uintptr_t)v.ptr <= (uintptr_t)buf + GUARD_REGION)
        text_add(t, " %s=@%td+%zu'%.*s'", name, v.ptr - buf, v.len, (int)v.len, v.ptr);
    else
        text_add(t, " %s=static'%.*s'", name, (int)v.len, v.ptr);
}

static inline void text_error(struct text *t, int rc, const struct corio_http_error *e)
{
    text_add(t, "rc=%d", rc);
    if (rc < 0 && rc != -EAGAIN)
        text_add(t, " status=%d off=%zu reason='%s'", e->status, e->offset,
                 e->reason ? e->reason : "(null)");
}

static inline const char *describe_request(struct text *t, int rc,
                                           const struct corio_http_request_head *h, const char *buf)
{
    t->len = 0;
    t->buf[0] = '\0';
    text_error(t, rc, &h->error);
    if (rc <= 0 && !(rc == -EMSGSIZE && h->error.status == 413))
        return t->buf;
    text_add(t, " method=%d", (int)h->method);
    text_view(t, "name", h->method_name, buf);
    text_add(t, " form=%d", (int)h->form);
    text_view(t, "target", h->target, buf);
    text_view(t, "path", h->path, buf);
    text_view(t, "query", h->query, buf);
    text_view(t, "authority", h->authority, buf);
    text_view(t, "host", h->host, buf);
    text_add(t, " minor=%d cl=%lld chunked=%d ka=%d expect=%d upgrade=%d n=%zu", h->minor_version,
             (long long)h->content_length, h->chunked, h->keep_alive, h->expect_continue,
             h->upgrade, h->num_headers);
    for (size_t i = 0; i < h->num_headers && h->headers != NULL; i++) {
        text_view(t, "h", h->headers[i].name, buf);
        text_view(t, ":", h->headers[i].value, buf);
    }
    return t->buf;
}

static inline const char *
describe_response(struct text *t, int rc, const struct corio_http_response_head *h, const char *buf)
{
    t->len = 0;
    t->buf[0] = '\0';
    text_error(t, rc, &h->error);
    if (rc <= 0)
        return t->buf;
    text_add(t, " minor=%d status=%d", h->minor_version, h->status);
    text_view(t, "reason", h->reason, buf);
    text_add(t, " cl=%lld body=%d chunked=%d ka=%d tunnel=%d n=%zu", (long long)h->content_length,
             (int)h->body, h->chunked, h->keep_alive, h->tunnel, h->num_headers);
    for (size_t i = 0; i < h->num_headers && h->headers != NULL; i++) {
        text_view(t, "h", h->headers[i].name, buf);
        text_view(t, ":", h->headers[i].value, buf);
    }
    return t->buf;
}

static inline bool view_is(struct corio_http_str v, const char *s)
{
    return v.ptr != NULL && v.len == strlen(s) && memcmp(v.ptr, s, v.len) == 0;
}

#define ASSERT_VIEW(v, s)                                                                          \
    do {                                                                                           \
        struct corio_http_str test__v = (v);                                                       \
        if (!view_is(test__v, (s)))                                                                \
            test__fail(__FILE__, __LINE__, "ASSERT_VIEW(%s, \"%s\") failed: got '%.*s'%s", #v,     \
                       (s), (int)test__v.len, test__v.ptr ? test__v.ptr : "",                      \
                       test__v.ptr ? "" : " (absent)");                                            \
    } while (0)

#endif /* CORIO_TESTS_HTTP_UTIL_H */
