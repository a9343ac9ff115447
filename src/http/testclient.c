/* SPDX-License-Identifier: MIT */
/* The in-process test client: one request through an app without a socket.
 *
 * The raw request is parsed with the server's parser and limits, then run through
 * corio__http_dispatch and corio__http_finish exactly as a connection runs it, over a sink
 * whose input is the bytes after the head and whose output is a growable memory buffer. The
 * bytes the app produced are then parsed back as a client would (interim 1xx responses
 * skipped, the body framed by Content-Length, chunked coding or the end of the output), so a
 * test sees what is on the wire and a malformed response is an error (-EPROTO), not something
 * the test has to notice.
 *
 * Deliberately not here: keep-alive, pipelining and timeouts between requests (server.c; they
 * need a connection and are tested over sockets).
 */
#include "http_int.h"

#include <errno.h>
#include <strings.h>
#include <unistd.h>

#define RESP_MAX_FIELDS 256

struct mem {
    const char *in; /* the bytes after the request head */
    size_t in_len, in_off;
    char *out;
    size_t out_len, out_cap;
};

static int out_reserve(struct mem *m, size_t n)
{
    if (m->out_len + n <= m->out_cap)
        return 0;
    size_t cap = m->out_cap ? m->out_cap : 4096;
    while (cap < m->out_len + n)
        cap *= 2;
    char *o = realloc(m->out, cap);
    if (!o)
        return -ENOMEM;
    m->out = o;
    m->out_cap = cap;
    return 0;
}

static int mem_writev(void *ctx, const corio_iov *iov, int n, bool final)
{
    struct mem *m = ctx;
    (void) final;
    for (int i = 0; i < n; i++) {
        if (out_reserve(m, iov[i].len) < 0)
            return -ENOMEM;
        memcpy(m->out + m->out_len, iov[i].base, iov[i].len);
        m->out_len += iov[i].len;
    }
    return 0;
}

static int mem_sendfile(void *ctx, int fd, off_t off, size_t len)
{
    struct mem *m = ctx;
    if (out_reserve(m, len) < 0)
        return -ENOMEM;
    while (len > 0) {
        ssize_t n = pread(fd, m->out + m->out_len, len, off);
        if (n < 0)
            return -errno;
        if (n == 0)
            return -ENODATA; /* as corio_stream_sendfile: the file is shorter */
        m->out_len += (size_t)n;
        off += n;
        len -= (size_t)n;
    }
    return 0;
}

static ssize_t mem_read(void *ctx, void *buf, size_t cap)
{
    struct mem *m = ctx;
    size_t n = m->in_len - m->in_off;
    if (n > cap)
        n = cap;
    memcpy(buf, m->in + m->in_off, n);
    m->in_off += n;
    return (ssize_t)n;
}

static const char *mem_peek(void *ctx, size_t *len)
{
    struct mem *m = ctx;
    *len = m->in_len - m->in_off;
    return *len ? m->in + m->in_off : NULL;
}

static ssize_t mem_fill(void *ctx)
{
    (void)ctx;
    return 0; /* everything the client will ever send is in `in` already */
}

static void mem_consume(void *ctx, size_t n)
{
    struct mem *m = ctx;
    m->in_off += n;
}

/* ---- reading the response back -----------------------------------------------------------------
 */

static char *dup_mem(const char *p, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        if (n)
            memcpy(d, p, n);
        d[n] = 0;
    }
    return d;
}

/* Copies the header lines (between the status line and the blank line) and the name/value
 * table. */
static int take_fields(const char *head, size_t hl, const struct corio_http_response_head *h,
                       struct corio_http_test_resp *out)
{
    const char *eol = memchr(head, '\n', hl);
    size_t from = eol ? (size_t)(eol + 1 - head) : hl;
    size_t flen = hl - from >= 2 ? hl - from - 2 : 0; /* without the blank line */
    if (!(out->headers = dup_mem(head + from, flen)))
        return -ENOMEM;
    size_t need = 1;
    for (size_t i = 0; i < h->num_headers; i++)
        need += h->headers[i].name.len + h->headers[i].value.len + 2;
    char *f = malloc(need);
    if (!f)
        return -ENOMEM;
    out->_fields = f;
    for (size_t i = 0; i < h->num_headers; i++) {
        memcpy(f, h->headers[i].name.ptr, h->headers[i].name.len);
        f += h->headers[i].name.len;
        *f++ = 0;
        memcpy(f, h->headers[i].value.ptr, h->headers[i].value.len);
        f += h->headers[i].value.len;
        *f++ = 0;
    }
    out->_nfields = h->num_headers;
    return 0;
}

/* Decodes a chunked body in place (the decoder allows out == in); the body must end exactly at
 * the end of the buffer, or, when the response was broken off, anywhere between chunks. */
static int take_chunked(char *p, size_t n, bool broken, struct corio_http_test_resp *out)
{
    struct corio_http_chunked d;
    struct corio_http_limits lim = {.max_body = UINT64_MAX, .max_trailer_bytes = 1 << 20};
    corio_http_chunked_init(&d, &lim);
    size_t in = n, got = n;
    int rc = corio_http_chunked_decode(&d, p, &in, p, &got);
    if (rc < 0 || in != n || rc != (broken ? 0 : 1))
        return -EPROTO;
    if (!(out->body = dup_mem(p, got)))
        return -ENOMEM;
    out->body_len = got;
    return 0;
}

/* Parses the bytes an exchange produced as one response to a request with method `method`;
 * broken: the app broke the response off, so its body ends early. */
static int parse_output(char *buf, size_t len, enum corio_http_method method, bool broken,
                        struct corio_http_test_resp *out)
{
    struct corio_http_header *hdrs = malloc(RESP_MAX_FIELDS * sizeof(*hdrs));
    struct corio_http_limits lim = {.max_body = UINT64_MAX,
                                    .max_headers = RESP_MAX_FIELDS,
                                    .max_head_bytes = CORIO_HTTP_MAX_HEAD_BYTES_CAP};
    struct corio_http_response_head h;
    size_t off = 0;
    int rc;
    if (!hdrs)
        return -ENOMEM;
    for (;;) { /* skip interim responses (100 Continue) */
        h = (struct corio_http_response_head){
            .headers = hdrs, .headers_cap = RESP_MAX_FIELDS, .request_method = method};
        rc = corio_http_parse_response(buf + off, len - off, NULL, &lim, &h);
        if (rc < 0) {
            rc = rc == -ENOMEM ? rc : -EPROTO;
            goto out;
        }
        if (h.status >= 200 || h.status == 101)
            break;
        off += (size_t)rc;
    }
    char *head = buf + off, *body = head + rc;
    size_t left = len - off - (size_t)rc;
    out->status = h.status;
    if ((rc = take_fields(head, (size_t)(body - head), &h, out)) < 0)
        goto out;
    switch (h.body) {
    case CORIO_HTTP_BODY_NONE:
        rc = left ? -EPROTO : 0;
        left = 0;
        break;
    case CORIO_HTTP_BODY_LENGTH:
        rc = (uint64_t)h.content_length == left || (broken && (uint64_t)h.content_length > left)
                 ? 0
                 : -EPROTO;
        break;
    case CORIO_HTTP_BODY_CHUNKED:
        rc = take_chunked(body, left, broken, out);
        goto out;
    case CORIO_HTTP_BODY_CLOSE:
        rc = 0;
        break;
    }
    if (rc == 0 && !(out->body = dup_mem(body, left)))
        rc = -ENOMEM;
    out->body_len = left;
out:
    free(hdrs);
    return rc;
}

/* ---- the client --------------------------------------------------------------------------------
 */

void corio_http_test_resp_free(struct corio_http_test_resp *r)
{
    if (!r)
        return;
    free(r->headers);
    free(r->body);
    free(r->_fields);
    memset(r, 0, sizeof(*r));
}

const char *corio_http_test_header(const struct corio_http_test_resp *r, const char *name)
{
    const char *f = r->_fields;
    for (size_t i = 0; f && i < r->_nfields; i++) {
        const char *v = f + strlen(f) + 1;
        if (strcasecmp(f, name) == 0)
            return v;
        f = v + strlen(v) + 1;
    }
    return NULL;
}

int corio_http_test_request_ex(corio_http_app *app, const struct corio_http_test_opts *o,
                               const char *raw, size_t len, struct corio_http_test_resp *out)
{
    struct corio_http_limits lim = o ? o->limits : (struct corio_http_limits){0};
    struct corio_http_timeouts to = o ? o->timeouts : (struct corio_http_timeouts){0};
    const char *server_name = o && o->server_name ? o->server_name : "corio";
    corio_addr local;
    const corio_addr *peer = o ? o->peer : NULL;
    memset(out, 0, sizeof(*out));
    corio__http_limits_fill(&lim);
    corio__http_timeouts_fill(&to);
    if (!peer) {
        corio_addr_parse("127.0.0.1", 40000, &local);
        peer = &local;
    }
    corio_http_req *r = calloc(1, sizeof(*r) + lim.max_headers * sizeof(struct corio_http_header));
    if (!r)
        return -ENOMEM;
    memset(&r->head, 0, sizeof r->head);
    r->headers = (struct corio_http_header *)(r + 1);
    r->head.headers = r->headers;
    r->head.headers_cap = lim.max_headers;
    r->arena = NULL;

    struct mem m = {0};
    struct corio__http_sink sink = {
        .writev = mem_writev,
        .sendfile = mem_sendfile,
        .read = mem_read,
        .peek = mem_peek,
        .fill = mem_fill,
        .consume = mem_consume,
        .last = NULL,
        .ctx = &m,
    };
    int rc = corio_http_parse_request(raw, len, NULL, &lim, &r->head);
    enum corio_http_method method = CORIO_HTTP_GET;
    bool broken = false, gone = false;
    if (rc == -EAGAIN) {
        rc = -EINVAL;
        goto done;
    }
    if (rc < 0) {
        corio__http_answer_early(r, &sink, peer, &lim, &to, server_name, r->head.error.status,
                                 r->head.error.reason);
    } else {
        corio_http_resp w;
        m.in = raw + rc;
        m.in_len = len - (size_t)rc;
        method = r->head.method;
        corio__http_exchange_init(r, &w, &sink, peer, &lim, &to, server_name);
        corio__http_finish(&w, corio__http_dispatch(app, r, &w));
        /* Writes to memory fail only for want of it, so a failed response was broken off by
         * the app (or was never sent: the request body ended early, as a client that left). */
        broken = w.failed;
        gone = r->body_error && !w.started;
        corio__http_exchange_free(r);
    }
    if (gone) {
        rc = -ECONNRESET;
        goto done;
    }
    rc = parse_output(m.out, m.out_len, method, broken, out);
    out->truncated = broken;
    if (rc < 0)
        corio_http_test_resp_free(out);
done:
    free(m.out);
    free(r);
    return rc;
}

int corio_http_test_request(corio_http_app *app, const char *raw, size_t len,
                            struct corio_http_test_resp *out)
{
    return corio_http_test_request_ex(app, NULL, raw, len, out);
}

/* True if the header lines in h have a field named name. */
static bool has_field(const char *h, const char *name)
{
    size_t nl = strlen(name);
    for (const char *p = h; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        if (strncasecmp(p, name, nl) == 0 && p[nl] == ':')
            return true;
    return false;
}

int corio_http_test_send(corio_http_app *app, const char *method, const char *target,
                         const char *headers, const void *body, size_t len,
                         struct corio_http_test_resp *out)
{
    const char *h = headers ? headers : "";
    size_t hl = strlen(h);
    bool crlf = hl == 0 || (hl >= 2 && h[hl - 2] == '\r' && h[hl - 1] == '\n');
    bool host = !has_field(h, "Host");
    bool cl = body && !has_field(h, "Content-Length") && !has_field(h, "Transfer-Encoding");
    size_t cap = strlen(method) + strlen(target) + hl + 96 + (body ? len : 0);
    char *raw = malloc(cap);
    memset(out, 0, sizeof(*out));
    if (!raw)
        return -ENOMEM;
    int n = snprintf(raw, cap, "%s %s HTTP/1.1\r\n%s%s%s", method, target,
                     host ? "Host: test\r\n" : "", h, crlf ? "" : "\r\n");
    if (cl)
        n += snprintf(raw + n, cap - (size_t)n, "Content-Length: %zu\r\n", len);
    n += snprintf(raw + n, cap - (size_t)n, "\r\n");
    if (body && len)
        memcpy(raw + n, body, len);
    int rc = corio_http_test_request(app, raw, (size_t)n + (body ? len : 0), out);
    free(raw);
    return rc;
}

int corio_http_test_get(corio_http_app *app, const char *target, struct corio_http_test_resp *out)
{
    return corio_http_test_send(app, "GET", target, NULL, NULL, 0, out);
}
