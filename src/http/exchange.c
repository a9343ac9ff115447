/* SPDX-License-Identifier: MIT */
/* One exchange: the request a handler reads and the response it writes.
 *
 * The request head was parsed into views of a buffer the connection keeps stable for the whole
 * exchange. The body is read on demand from the sink (the connection's stream, or the test
 * client's bytes): a Content-Length body with reads that never pass its end, a chunked body
 * decoded straight out of the input buffer so that a pipelined request behind it stays there,
 * both within max_body. The response head (status line, server-managed fields, the handler's
 * fields, the blank line) is built in one stack buffer and sent with the body in one gather
 * write; a streamed response uses chunked encoding. Scratch memory comes from a small
 * per-exchange arena (inline first block) freed in one go.
 *
 * Invariants: w->started is set before the first byte of the response is handed to the sink,
 * and once set nothing may change the head; w->ended means the response is complete on the
 * wire (or queued), so the connection may carry another; r->body_error means the framing of
 * the request body can no longer be trusted, so the connection must close.
 * Deliberately not here: the connection loop, keep-alive and timeouts between requests
 * (server.c), routing (app.c), file responses (files.c).
 */
#include "http_int.h"

#include "corio/obs.h"

#include <errno.h>
#include <time.h>
#include <unistd.h>

/* ---- arena ---------------------------------------------------------------------------------- */

void *corio_http_req_alloc(corio_http_req *r, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    if (r->arena0_used + n <= sizeof r->arena0) {
        void *p = r->arena0 + r->arena0_used;
        r->arena0_used += n;
        return p;
    }
    if (r->arena_ext_cap - r->arena_ext_used >= n) {
        void *p = r->arena_ext + r->arena_ext_used;
        r->arena_ext_used += n;
        return p;
    }
    struct arena_block *b = r->arena;
    if (!b || b->cap - b->used < n) {
        size_t cap = n > 4096 ? n : 4096;
        b = malloc(sizeof(*b) + cap);
        if (!b)
            return NULL;
        b->cap = cap;
        b->used = 0;
        b->next = r->arena;
        r->arena = b;
    }
    void *p = b->data + b->used;
    b->used += n;
    return p;
}

/* ---- set-up --------------------------------------------------------------------------------- */

void corio__http_limits_fill(struct corio_http_limits *lim)
{
    if (!lim->max_body)
        lim->max_body = CORIO_HTTP_DEFAULT_MAX_BODY;
    if (!lim->max_headers)
        lim->max_headers = CORIO_HTTP_DEFAULT_MAX_HEADERS;
    if (!lim->max_head_bytes)
        lim->max_head_bytes = CORIO_HTTP_DEFAULT_MAX_HEAD_BYTES;
    if (lim->max_head_bytes > CORIO_HTTP_MAX_HEAD_BYTES_CAP)
        lim->max_head_bytes = CORIO_HTTP_MAX_HEAD_BYTES_CAP;
}

void corio__http_timeouts_fill(struct corio_http_timeouts *to)
{
    if (!to->header_ns)
        to->header_ns = 10 * CORIO_S;
    if (!to->body_ns)
        to->body_ns = 30 * CORIO_S;
    if (!to->write_ns)
        to->write_ns = 30 * CORIO_S;
    if (!to->keepalive_ns)
        to->keepalive_ns = 75 * CORIO_S;
}

void corio__http_exchange_init(corio_http_req *r, corio_http_resp *w, struct corio__http_sink *sink,
                               const corio_addr *peer, const struct corio_http_limits *lim,
                               const struct corio_http_timeouts *to, const char *server_name)
{
    /* The head and header storage are set by the caller before parsing; keep them. */
    r->lim = lim;
    r->to = to;
    r->peer = peer;
    r->sink = sink;
    r->resp = w;
    r->route = "";
    r->nparams = 0;
    r->body_left = r->head.content_length > 0 ? (uint64_t)r->head.content_length : 0;
    r->chunked = r->head.chunked;
    r->body_done = !r->chunked && r->body_left == 0;
    r->body_read_started = r->continue_sent = r->body_error = false;
    r->body_status = 0;
    r->body = NULL;
    r->body_len = 0;
    r->arena = NULL;
    r->arena0_used = r->arena_ext_used = 0;
    if (r->chunked)
        corio_http_chunked_init(&r->dec, lim);
    memset(w, 0, sizeof(*w));
    w->req = r;
    w->status = 200;
    w->head_only = r->head.method == CORIO_HTTP_HEAD;
    w->close = !r->head.keep_alive;
    w->server_name = server_name;
}

void corio__http_exchange_free(corio_http_req *r)
{
    while (r->arena) {
        struct arena_block *b = r->arena;
        r->arena = b->next;
        free(b);
    }
}

/* ---- request accessors --------------------------------------------------------------------- */

corio_str corio_http_req_method(const corio_http_req *r)
{
    return r->head.method_name;
}
corio_str corio_http_req_path(const corio_http_req *r)
{
    return r->head.path;
}
corio_str corio_http_req_query(const corio_http_req *r)
{
    return r->head.query;
}
corio_str corio_http_req_target(const corio_http_req *r)
{
    return r->head.target;
}
int corio_http_req_version(const corio_http_req *r)
{
    return 10 + r->head.minor_version;
}
const char *corio_http_req_route(const corio_http_req *r)
{
    return r->route ? r->route : "";
}
const corio_addr *corio_http_req_peer(const corio_http_req *r)
{
    return r->peer;
}

bool corio_http_req_header(const corio_http_req *r, const char *name, corio_str *v)
{
    const struct corio_http_header *h =
        corio_http_header_find(r->head.headers, r->head.num_headers, name);
    if (!h)
        return false;
    if (v)
        *v = h->value;
    return true;
}

bool corio_http_req_header_at(const corio_http_req *r, size_t i, corio_str *name, corio_str *value)
{
    if (i >= r->head.num_headers)
        return false;
    *name = r->head.headers[i].name;
    *value = r->head.headers[i].value;
    return true;
}

bool corio_http_req_param(corio_http_req *r, const char *name, corio_str *v)
{
    for (size_t i = 0; i < r->nparams; i++)
        if (strcmp(r->params[i].name, name) == 0) {
            *v = r->params[i].value;
            return true;
        }
    return false;
}

/* Finds name in a urlencoded string and decodes its value into the arena. */
static bool form_get(corio_http_req *r, corio_str s, const char *name, corio_str *v)
{
    corio_str raw;
    if (!corio_http_query_get(s, name, &raw))
        return false;
    char *d = corio_http_req_alloc(r, raw.len + 1);
    if (!d)
        return false;
    ssize_t n = corio_http_pct_decode(d, raw.ptr, raw.len, CORIO_HTTP_PCT_PLUS);
    if (n < 0)
        return false;
    d[n] = 0;
    *v = (corio_str){d, (size_t)n};
    return true;
}

bool corio_http_req_query_param(corio_http_req *r, const char *name, corio_str *v)
{
    return r->head.query.ptr && form_get(r, r->head.query, name, v);
}

/* ---- request body ---------------------------------------------------------------------------- */

static int send_continue(corio_http_req *r)
{
    if (!r->head.expect_continue || r->continue_sent || r->resp->started)
        return 0;
    r->continue_sent = true;
    static const char msg[] = "HTTP/1.1 100 Continue\r\n\r\n";
    corio_iov iov = {msg, sizeof msg - 1};
    return r->sink->writev(r->sink->ctx, &iov, 1, false);
}

/* Reads from the sink under the body timeout; the end of the input mid-body is -ECONNRESET. */
static ssize_t sink_read(corio_http_req *r, void *buf, size_t cap)
{
    corio_deadline d;
    corio_deadline_enter(&d, corio_after(r->to->body_ns));
    ssize_t n = r->sink->read(r->sink->ctx, buf, cap);
    corio_deadline_leave(&d);
    return n == 0 ? -ECONNRESET : n;
}

static ssize_t sink_fill(corio_http_req *r)
{
    corio_deadline d;
    corio_deadline_enter(&d, corio_after(r->to->body_ns));
    ssize_t n = r->sink->fill(r->sink->ctx);
    corio_deadline_leave(&d);
    return n == 0 ? -ECONNRESET : n;
}

/* Decodes chunked framing from the sink's buffer into buf. Only what the decoder consumed is
 * taken from the buffer, so the bytes after the body (a pipelined request) stay there. */
static ssize_t read_chunked(corio_http_req *r, char *buf, size_t cap)
{
    struct corio__http_sink *s = r->sink;
    for (;;) {
        size_t in, out = cap;
        const char *p = s->peek(s->ctx, &in);
        /* Called even without input: an error is sticky and comes back here after the data
         * decoded before it was handed out. */
        int rc = corio_http_chunked_decode(&r->dec, p ? p : "", &in, buf, &out);
        if (in)
            s->consume(s->ctx, in);
        if (rc < 0 && out > 0)
            return (ssize_t)out; /* the data before the error first */
        if (rc < 0) {
            r->body_status = r->dec.error.status;
            return rc; /* -EPROTO (400) or -EMSGSIZE (413, 431) */
        }
        if (rc == 1)
            r->body_done = true;
        if (out > 0 || r->body_done)
            return (ssize_t)out;
        ssize_t n = sink_fill(r); /* nothing decodable buffered: a chunk line or trailer is
                                     incomplete */
        if (n < 0)
            return n;
    }
}

ssize_t corio_http_req_read(corio_http_req *r, void *buf, size_t cap)
{
    if (r->body_error)
        return -EPROTO;
    if (r->body_done || cap == 0)
        return 0;
    r->body_read_started = true;
    ssize_t n = send_continue(r);
    if (n < 0) {
        /* The client is gone, or does not read: it will not send a body. */
    } else if (r->chunked) {
        n = read_chunked(r, buf, cap);
    } else {
        if (cap > r->body_left)
            cap = (size_t)r->body_left;
        n = sink_read(r, buf, cap);
        if (n > 0) {
            r->body_left -= (uint64_t)n;
            r->body_done = r->body_left == 0;
        }
    }
    if (n < 0) {
        /* The rest of the body cannot be found any more: whatever is answered, the connection
         * closes after it. */
        r->body_error = true;
        if (n == -ETIMEDOUT)
            r->body_status = 408;
        r->resp->close = true;
    }
    return n;
}

int corio_http_req_body(corio_http_req *r, corio_str *body)
{
    if (r->body) {
        *body = (corio_str){r->body, r->body_len};
        return 0;
    }
    if (r->body_read_started)
        return -EALREADY; /* part of it was streamed already */
    uint64_t max = r->lim->max_body;
    /* A Content-Length body gets exactly its size (the parser refused any above max_body); a
     * chunked one grows by doubling up to max_body. One byte more holds a terminating NUL. */
    size_t cap = r->chunked ? (max < 4096 ? (size_t)max : 4096) : (size_t)r->body_left;
    char *buf = corio_http_req_alloc(r, cap + 1);
    size_t len = 0;
    if (!buf)
        return -ENOMEM;
    while (!r->body_done) {
        if (len == cap) {
            if (cap >= max) {
                /* Full at exactly max_body: only the last chunk may follow. The decoder
                 * reports anything more as 413. */
                ssize_t n = corio_http_req_read(r, buf + len, 1);
                if (n < 0)
                    return (int)n;
                if (n > 0)
                    return -EMSGSIZE;
                continue;
            }
            size_t ncap = cap * 2 > max ? (size_t)max : cap * 2;
            char *nb = corio_http_req_alloc(r, ncap + 1);
            if (!nb)
                return -ENOMEM;
            memcpy(nb, buf, len);
            buf = nb;
            cap = ncap;
        }
        ssize_t n = corio_http_req_read(r, buf + len, cap - len);
        if (n < 0)
            return (int)n;
        len += (size_t)n;
    }
    buf[len] = 0;
    r->body = buf;
    r->body_len = len;
    *body = (corio_str){buf, len};
    return 0;
}

int corio_http_req_form(corio_http_req *r, const char *name, corio_str *v)
{
    corio_str ct, body;
    static const char form[] = "application/x-www-form-urlencoded";
    const size_t fl = sizeof form - 1;
    if (!corio_http_req_header(r, "Content-Type", &ct) || ct.len < fl ||
        strncasecmp(ct.ptr, form, fl) != 0 ||
        (ct.len > fl && ct.ptr[fl] != ';' && ct.ptr[fl] != ' ' && ct.ptr[fl] != '\t'))
        return -EINVAL;
    int rc = corio_http_req_body(r, &body);
    if (rc < 0)
        return rc;
    return form_get(r, body, name, v) ? 1 : 0;
}

/* Past this much unread body, closing is cheaper than reading it. */
#define DISCARD_MAX (256 * 1024)

/* False if what is left of the body already rules out reading the next request: the client
 * was told to wait for 100 Continue and never got it (it may or may not send the body now),
 * or more is left than is worth discarding. A chunked body's size is unknown until read. */
static bool body_reusable(const corio_http_req *r)
{
    if (r->body_error)
        return false;
    if (r->body_done)
        return true;
    if (r->head.expect_continue && !r->continue_sent)
        return false;
    return r->chunked || r->body_left <= DISCARD_MAX;
}

bool corio__http_discard_body(corio_http_req *r)
{
    if (!body_reusable(r))
        return false;
    size_t budget = DISCARD_MAX;
    char buf[4096];
    while (!r->body_done) {
        ssize_t n = corio_http_req_read(r, buf, sizeof buf);
        if (n < 0 || (size_t)n > budget)
            return false;
        budget -= (size_t)n;
    }
    return true;
}

/* ---- response ------------------------------------------------------------------------------ */

static bool is_tchar(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return true;
    return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static bool valid_value(const char *s)
{
    for (; *s; s++)
        if (*s == '\r' || *s == '\n')
            return false;
    return true;
}

int corio_http_resp_status(corio_http_resp *w, int status)
{
    if (w->started)
        return -EALREADY;
    if (status < 100 || status > 999)
        return -EINVAL;
    w->status = status;
    return 0;
}

int corio_http_resp_get_status(const corio_http_resp *w)
{
    return w->status;
}
bool corio_http_resp_started(const corio_http_resp *w)
{
    return w->started;
}
uint64_t corio_http_resp_bytes(const corio_http_resp *w)
{
    return w->bytes;
}

int corio_http_resp_header(corio_http_resp *w, const char *name, const char *value)
{
    if (w->started)
        return -EALREADY;
    size_t nl = 0;
    for (; name[nl]; nl++)
        if (!is_tchar((unsigned char)name[nl]))
            return -EINVAL;
    if (nl == 0 || !valid_value(value))
        return -EINVAL;
    /* The framing is the server's: a second Content-Length or a Transfer-Encoding it does not
     * apply would let the client read the body differently from how it was sent. */
    if ((nl == 14 && strcasecmp(name, "Content-Length") == 0) ||
        (nl == 17 && strcasecmp(name, "Transfer-Encoding") == 0))
        return -EINVAL;
    if (nl == 10 && strcasecmp(name, "Connection") == 0 && strcasecmp(value, "close") == 0) {
        w->close = true;
        return 0;
    }
    size_t vl = strlen(value), need = w->hdrs_len + nl + vl + 4;
    if (need > w->hdrs_cap) {
        size_t cap = need * 2 < 256 ? 256 : need * 2;
        char *n = corio_http_req_alloc(w->req, cap);
        if (!n)
            return -ENOMEM;
        if (w->hdrs_len)
            memcpy(n, w->hdrs, w->hdrs_len);
        w->hdrs = n;
        w->hdrs_cap = cap;
    }
    char *p = w->hdrs + w->hdrs_len;
    memcpy(p, name, nl);
    p[nl] = ':';
    p[nl + 1] = ' ';
    memcpy(p + nl + 2, value, vl);
    p[nl + 2 + vl] = '\r';
    p[nl + 3 + vl] = '\n';
    w->hdrs_len = need;
    return 0;
}

bool corio__http_no_body_status(int s)
{
    return (s >= 100 && s < 200) || s == 204 || s == 304;
}

int corio__http_send_iov(corio_http_resp *w, const corio_iov *iov, int n, bool final)
{
    corio_deadline d;
    corio_deadline_enter(&d, corio_after(w->req->to->write_ns));
    int rc = w->req->sink->writev(w->req->sink->ctx, iov, n, final);
    corio_deadline_leave(&d);
    if (rc < 0)
        w->failed = true;
    return rc;
}

int corio__http_head_iov(corio_http_resp *w, char *buf, int64_t content_length, corio_iov *iov)
{
    size_t hl = corio__http_head(w, buf, CORIO__HTTP_HEAD_BUF, content_length);
    if (hl + w->hdrs_len + 2 <= CORIO__HTTP_HEAD_BUF) {
        if (w->hdrs_len)
            memcpy(buf + hl, w->hdrs, w->hdrs_len);
        hl += w->hdrs_len;
        buf[hl++] = '\r';
        buf[hl++] = '\n';
        iov[0] = (corio_iov){buf, hl};
        return 1;
    }
    iov[0] = (corio_iov){buf, hl};
    iov[1] = (corio_iov){w->hdrs, w->hdrs_len};
    iov[2] = (corio_iov){"\r\n", 2};
    return 3;
}

/* Removes the handler's header lines named name (nl bytes, ASCII case-insensitive). */
static void drop_header(corio_http_resp *w, const char *name, size_t nl)
{
    char *p = w->hdrs, *end = w->hdrs + w->hdrs_len;
    while (p && p < end) {
        char *eol = memchr(p, '\n', (size_t)(end - p));
        char *next = eol ? eol + 1 : end;
        if ((size_t)(end - p) > nl && p[nl] == ':' && strncasecmp(p, name, nl) == 0) {
            memmove(p, next, (size_t)(end - next));
            end -= next - p;
            w->hdrs_len -= (size_t)(next - p);
        } else {
            p = next;
        }
    }
}

int corio_http_resp_text(corio_http_resp *w, int status, const char *content_type, const void *body,
                         size_t len)
{
    if (w->started)
        return -EALREADY;
    int rc = corio_http_resp_status(w, status);
    if (rc == 0 && content_type && len > 0) {
        drop_header(w, "Content-Type", 12); /* the type of this body replaces an earlier one */
        rc = corio_http_resp_header(w, "Content-Type", content_type);
    }
    if (rc < 0)
        return rc;
    bool nobody = corio__http_no_body_status(w->status);
    /* The gzip middleware's hook (http_int.h); it runs for HEAD too, so that HEAD reports the
     * Content-Length and Content-Encoding a GET would get. */
    if (w->body_filter && !nobody && len > 0 &&
        (rc = w->body_filter(w->body_filter_ctx, w, content_type, &body, &len)) < 0)
        return rc;
    char head[CORIO__HTTP_HEAD_BUF];
    corio_iov iov[4];
    w->started = w->ended = true;
    int n = corio__http_head_iov(w, head, nobody ? -1 : (int64_t)len, iov);
    if (!w->head_only && !nobody && len) {
        iov[n++] = (corio_iov){body, len};
        w->bytes = len;
    }
    return corio__http_send_iov(w, iov, n, true);
}

/* Escapes s into a JSON string body (without quotes) in the arena. */
static char *json_escape(corio_http_req *r, const char *s)
{
    size_t n = strlen(s), cap = n * 6 + 1; /* \u00XX or \ufffd per byte at worst */
    char *o = corio_http_req_alloc(r, cap);
    if (o)
        corio_json_escape(o, cap, s, n);
    return o;
}

int corio_http_resp_error(corio_http_resp *w, int status, const char *error, const char *detail)
{
    corio_http_req *r = w->req;
    if (w->started)
        return -EALREADY;
    char *e = json_escape(r, error ? error : corio__http_reason(status));
    char *d = detail ? json_escape(r, detail) : NULL;
    if (!e || (detail && !d))
        return -ENOMEM;
    size_t cap = strlen(e) + (d ? strlen(d) : 4) + 32;
    char *body = corio_http_req_alloc(r, cap);
    if (!body)
        return -ENOMEM;
    int n = d ? snprintf(body, cap, "{\"error\":\"%s\",\"detail\":\"%s\"}", e, d)
              : snprintf(body, cap, "{\"error\":\"%s\",\"detail\":null}", e);
    return corio_http_resp_text(w, status, "application/json", body, (size_t)n);
}

/* ---- after the handler ----------------------------------------------------------------------- */

void corio__http_answer_failure(corio_http_resp *w, int rc)
{
    corio_http_req *r = w->req;
    if (w->started)
        return;
    if (r->body_error) {
        /* The request body broke off: answer its status, or nothing if the client left. */
        if (!r->body_status) {
            w->failed = true;
            return;
        }
        w->close = true;
        const char *why = r->body_status == 408 ? "the request body took too long to arrive"
                          : r->chunked          ? r->dec.error.reason
                                                : "the request body could not be read";
        corio_http_resp_error(w, r->body_status, NULL, why);
        return;
    }
    if (rc == -ETIMEDOUT || rc == -ECANCELED)
        corio_http_resp_error(w, 503, NULL, corio_strerror(rc));
    else if (rc < 0)
        corio_http_resp_error(w, 500, NULL, corio_strerror(rc));
    else
        corio_http_resp_error(w, 500, NULL, "the handler sent no response");
}

void corio__http_finish(corio_http_resp *w, int rc)
{
    if (!w->started)
        corio__http_answer_failure(w, rc);
    else if (!w->ended && rc < 0)
        w->failed = true; /* broken off: closing without the last chunk tells the client */
    else if (!w->ended)
        corio_http_resp_end(w);
}

void corio__http_answer_early(corio_http_req *r, struct corio__http_sink *sink,
                              const corio_addr *peer, const struct corio_http_limits *lim,
                              const struct corio_http_timeouts *to, const char *server_name,
                              int status, const char *detail)
{
    corio_http_resp w;
    /* Whatever the parser filled in before it stopped is not to be trusted: answer as a plain
     * HTTP/1.1 GET without a body (the server's version, which any client accepts). */
    r->head.minor_version = 1;
    r->head.keep_alive = false;
    r->head.method = CORIO_HTTP_GET;
    r->head.chunked = false;
    r->head.content_length = -1;
    r->head.expect_continue = false;
    corio__http_exchange_init(r, &w, sink, peer, lim, to, server_name);
    w.close = true;
    corio_http_resp_error(&w, status, NULL, detail);
    corio__http_exchange_free(r);
}

/* ---- streaming ------------------------------------------------------------------------------- */

int corio_http_resp_begin(corio_http_resp *w)
{
    if (w->started)
        return -EALREADY;
    char head[CORIO__HTTP_HEAD_BUF];
    corio_iov iov[3];
    w->started = true;
    bool body = !w->head_only && !corio__http_no_body_status(w->status);
    if (w->req->head.minor_version == 0) {
        /* HTTP/1.0 has no chunked coding: the end of the body is the close. */
        w->close_delim = body;
        w->close |= body;
    } else {
        w->chunked = body;
    }
    int n = corio__http_head_iov(w, head, body ? -2 : -1, iov);
    return corio__http_send_iov(w, iov, n, false);
}

int corio_http_resp_write(corio_http_resp *w, const void *data, size_t len)
{
    if (!w->started) {
        int rc = corio_http_resp_begin(w);
        if (rc < 0)
            return rc;
    }
    if (w->ended)
        return -EALREADY;
    if (w->failed)
        return -EPIPE;
    if (len == 0 || (!w->chunked && !w->close_delim))
        return 0; /* HEAD, 204, 304: no body bytes */
    w->bytes += len;
    if (!w->chunked) {
        corio_iov iov = {data, len};
        return corio__http_send_iov(w, &iov, 1, false);
    }
    char size[24];
    int n = snprintf(size, sizeof size, "%zx\r\n", len);
    corio_iov iov[3] = {{size, (size_t)n}, {data, len}, {"\r\n", 2}};
    return corio__http_send_iov(w, iov, 3, false);
}

int corio_http_resp_end(corio_http_resp *w)
{
    if (!w->started) {
        int rc = corio_http_resp_begin(w);
        if (rc < 0)
            return rc;
    }
    if (w->ended)
        return 0;
    w->ended = true;
    if (w->failed)
        return -EPIPE;
    if (!w->chunked)
        return 0;
    corio_iov iov = {"0\r\n\r\n", 5};
    return corio__http_send_iov(w, &iov, 1, true);
}

/* ---- protocol upgrade ------------------------------------------------------------------------ */

int corio_http_resp_upgrade(corio_http_resp *w, corio_stream **out)
{
    corio_http_req *r = w->req;
    *out = NULL;
    if (w->started)
        return -EALREADY;
    if (!r->sink->upgrade)
        return -ENOTSUP;
    if (r->head.minor_version == 0 || !r->body_done || w->head_only)
        return -EINVAL; /* HTTP/1.0, a HEAD, or body bytes the new protocol would misread */
    corio_stream *s = r->sink->upgrade(r->sink->ctx); /* first: it may fail, and nothing is sent */
    if (!s)
        return -ENOMEM;
    char head[CORIO__HTTP_HEAD_BUF];
    corio_iov iov[3];
    w->status = 101;
    w->started = w->ended = w->upgraded = w->close = true;
    int n = corio__http_head_iov(w, head, -1, iov);
    int rc = corio__http_send_iov(w, iov, n, false);
    if (rc < 0)
        return rc;
    *out = s;
    return 0;
}

bool corio_http_req_draining(const corio_http_req *r)
{
    return r->sink->draining && r->sink->draining(r->sink->ctx);
}

/* ---- head formatting ------------------------------------------------------------------------ */

const char *corio__http_reason(int s)
{
    /* RFC 9110's phrases, and those of the other registered codes in common use. */
    switch (s) {
    case 100:
        return "Continue";
    case 101:
        return "Switching Protocols";
    case 102:
        return "Processing";
    case 103:
        return "Early Hints";
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 202:
        return "Accepted";
    case 203:
        return "Non-Authoritative Information";
    case 204:
        return "No Content";
    case 205:
        return "Reset Content";
    case 206:
        return "Partial Content";
    case 207:
        return "Multi-Status";
    case 301:
        return "Moved Permanently";
    case 302:
        return "Found";
    case 303:
        return "See Other";
    case 304:
        return "Not Modified";
    case 307:
        return "Temporary Redirect";
    case 308:
        return "Permanent Redirect";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 402:
        return "Payment Required";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 406:
        return "Not Acceptable";
    case 407:
        return "Proxy Authentication Required";
    case 408:
        return "Request Timeout";
    case 409:
        return "Conflict";
    case 410:
        return "Gone";
    case 411:
        return "Length Required";
    case 412:
        return "Precondition Failed";
    case 413:
        return "Content Too Large";
    case 414:
        return "URI Too Long";
    case 415:
        return "Unsupported Media Type";
    case 416:
        return "Range Not Satisfiable";
    case 417:
        return "Expectation Failed";
    case 418:
        return "I'm a teapot";
    case 421:
        return "Misdirected Request";
    case 422:
        return "Unprocessable Content";
    case 423:
        return "Locked";
    case 424:
        return "Failed Dependency";
    case 425:
        return "Too Early";
    case 426:
        return "Upgrade Required";
    case 428:
        return "Precondition Required";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 451:
        return "Unavailable For Legal Reasons";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    case 505:
        return "HTTP Version Not Supported";
    case 506:
        return "Variant Also Negotiates";
    case 507:
        return "Insufficient Storage";
    case 508:
        return "Loop Detected";
    case 511:
        return "Network Authentication Required";
    default:
        return "Unknown";
    }
}

const char *corio__http_date(void)
{
    static _Thread_local time_t cached;
    static _Thread_local char buf[32];
    time_t now = time(NULL); /* vDSO: no system call */
    if (now != cached) {
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
        cached = now;
    }
    return buf;
}

static char *put(char *p, const char *s, size_t n)
{
    memcpy(p, s, n);
    return p + n;
}

#define PUT_LIT(p, s) put((p), (s), sizeof(s) - 1)

static char *put_u64(char *p, uint64_t v)
{
    char t[20];
    int i = 20;
    do {
        t[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    return put(p, t + i, (size_t)(20 - i));
}

/* This runs once per response, so it is memcpy rather than snprintf. Its output is bounded:
 * status line <= 48, Server <= 10 + CORIO__HTTP_SERVER_NAME_MAX, Date 37, Content-Length 38,
 * Transfer-Encoding 28, Connection 24: well under CORIO__HTTP_HEAD_MIN + the name. */
size_t corio__http_head(corio_http_resp *w, char *buf, size_t cap, int64_t content_length)
{
    corio_http_req *r = w->req;
    (void)cap;
    if (!w->close && ((r->sink->last && r->sink->last(r->sink->ctx)) || !body_reusable(r)))
        w->close = true;
    char *p = buf;
    p = put(p, r->head.minor_version ? "HTTP/1.1 " : "HTTP/1.0 ", 9);
    int s = w->status;
    *p++ = (char)('0' + s / 100);
    *p++ = (char)('0' + s / 10 % 10);
    *p++ = (char)('0' + s % 10);
    *p++ = ' ';
    const char *reason = corio__http_reason(s);
    p = put(p, reason, strlen(reason));
    p = PUT_LIT(p, "\r\n");
    if (w->server_name && *w->server_name) {
        p = PUT_LIT(p, "Server: ");
        p = put(p, w->server_name, strnlen(w->server_name, CORIO__HTTP_SERVER_NAME_MAX));
        p = PUT_LIT(p, "\r\n");
    }
    p = PUT_LIT(p, "Date: ");
    p = put(p, corio__http_date(), 29);
    p = PUT_LIT(p, "\r\n");
    if (content_length >= 0) {
        p = PUT_LIT(p, "Content-Length: ");
        p = put_u64(p, (uint64_t)content_length);
        p = PUT_LIT(p, "\r\n");
    } else if (content_length == -2 && w->chunked) {
        p = PUT_LIT(p, "Transfer-Encoding: chunked\r\n");
    }
    if (w->close && !w->upgraded) /* a 101 carries the handler's Connection: Upgrade */
        p = PUT_LIT(p, "Connection: close\r\n");
    else if (r->head.minor_version == 0)
        p = PUT_LIT(p, "Connection: keep-alive\r\n");
    return (size_t)(p - buf);
}
