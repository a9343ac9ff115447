/* SPDX-License-Identifier: MIT */
/* File responses (corio_http_resp_file): a regular file sent with sendfile, with an ETag from
 * its size and modification time, If-None-Match (304), a single byte Range (206, or 416 past
 * the end) and HEAD. Conditional requests are evaluated before the range, as RFC 9110 orders
 * them; several ranges are answered with the whole file rather than a multipart body.
 * Deliberately not here: Content-Type (the caller's, or the static middleware's), directory
 * handling and path safety (mw_static.c).
 */
#include "http_int.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

enum range { RANGE_NONE, RANGE_OK, RANGE_UNSATISFIABLE };

static bool parse_u64(const char *s, const char *e, uint64_t *out)
{
    uint64_t v = 0;
    if (s == e || e - s > 19)
        return false;
    for (; s < e; s++) {
        if (*s < '0' || *s > '9')
            return false;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    *out = v;
    return true;
}

/* Parses a Range value against size (RFC 9110 section 14.1.2). Only one range of unit "bytes"
 * is served: anything else (several ranges, another unit, a syntax error) is ignored as the
 * RFC allows, and the whole file is sent. */
static enum range parse_range(corio_str v, uint64_t size, uint64_t *from, uint64_t *to)
{
    const char *p = v.ptr, *end = v.ptr + v.len;
    if (v.len < 7 || strncmp(p, "bytes=", 6) != 0 || memchr(p, ',', v.len))
        return RANGE_NONE;
    p += 6;
    const char *dash = memchr(p, '-', (size_t)(end - p));
    if (!dash)
        return RANGE_NONE;
    uint64_t a, b;
    if (dash == p) { /* "-n": the last n bytes */
        if (!parse_u64(dash + 1, end, &b))
            return RANGE_NONE;
        if (b == 0 || size == 0)
            return RANGE_UNSATISFIABLE;
        *from = b >= size ? 0 : size - b;
        *to = size - 1;
        return RANGE_OK;
    }
    if (!parse_u64(p, dash, &a))
        return RANGE_NONE;
    b = UINT64_MAX;
    if (dash + 1 < end && (!parse_u64(dash + 1, end, &b) || b < a))
        return RANGE_NONE;
    if (a >= size)
        return RANGE_UNSATISFIABLE;
    *from = a;
    *to = b >= size ? size - 1 : b;
    return RANGE_OK;
}

/* If-None-Match: "*", or a list of entity tags compared weakly (W/ ignored). */
static bool etag_matches(corio_str inm, const char *etag)
{
    size_t el = strlen(etag);
    const char *p = inm.ptr, *end = inm.ptr + inm.len;
    while (p < end) {
        while (p < end && (*p == ' ' || *p == '\t' || *p == ','))
            p++;
        const char *s = p;
        while (p < end && *p != ',')
            p++;
        const char *e = p;
        while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
            e--;
        if (e - s == 1 && *s == '*')
            return true;
        if (e - s > 2 && s[0] == 'W' && s[1] == '/')
            s += 2;
        if ((size_t)(e - s) == el && memcmp(s, etag, el) == 0)
            return true;
    }
    return false;
}

int corio_http_resp_file(corio_http_resp *w, corio_http_req *r, const char *path)
{
    if (w->started)
        return -EALREADY;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return -ENOENT;
    }
    char etag[64];
    snprintf(etag, sizeof etag, "\"%llx-%llx\"", (unsigned long long)st.st_size,
             (unsigned long long)st.st_mtime);
    int rc = corio_http_resp_header(w, "ETag", etag);
    if (rc == 0)
        rc = corio_http_resp_header(w, "Accept-Ranges", "bytes");
    if (rc < 0) {
        close(fd);
        return rc;
    }
    corio_str inm, range;
    if (corio_http_req_header(r, "If-None-Match", &inm) && etag_matches(inm, etag)) {
        close(fd);
        return corio_http_resp_text(w, 304, NULL, NULL, 0);
    }
    uint64_t size = (uint64_t)st.st_size, from = 0, to = size ? size - 1 : 0;
    int status = 200;
    if (corio_http_req_header(r, "Range", &range)) {
        char cr[96];
        switch (parse_range(range, size, &from, &to)) {
        case RANGE_OK:
            snprintf(cr, sizeof cr, "bytes %llu-%llu/%llu", (unsigned long long)from,
                     (unsigned long long)to, (unsigned long long)size);
            corio_http_resp_header(w, "Content-Range", cr);
            status = 206;
            break;
        case RANGE_UNSATISFIABLE:
            snprintf(cr, sizeof cr, "bytes */%llu", (unsigned long long)size);
            corio_http_resp_header(w, "Content-Range", cr);
            close(fd);
            return corio_http_resp_error(w, 416, NULL, "the range is outside the file");
        case RANGE_NONE:
            from = 0;
            to = size ? size - 1 : 0;
            break;
        }
    }
    uint64_t len = size ? to - from + 1 : 0;
    w->status = status;
    w->started = w->ended = true;
    char head[CORIO__HTTP_HEAD_BUF];
    corio_iov iov[3];
    bool body = !w->head_only && len;
    int n = corio__http_head_iov(w, head, (int64_t)len, iov);
    rc = corio__http_send_iov(w, iov, n, !body);
    if (rc == 0 && body) {
        corio_deadline d;
        corio_deadline_enter(&d, corio_after(r->to->write_ns));
        rc = r->sink->sendfile(r->sink->ctx, fd, (off_t)from, (size_t)len);
        corio_deadline_leave(&d);
        if (rc < 0)
            w->failed = true;
        else
            w->bytes = len;
    }
    close(fd);
    return rc;
}
