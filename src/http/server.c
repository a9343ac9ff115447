/* SPDX-License-Identifier: MIT */
/* The HTTP/1.1 server: a net server whose connection handler reads requests, dispatches them to
 * the app and writes responses, with keep-alive and pipelining.
 *
 * Per connection, in order: wait for the first byte of a request (keep-alive timeout; after a
 * short grace period the read buffer is released, so idle connections cost little while busy
 * ones do not give it back and take it again per request), read the head under the header
 * timeout (slowloris clients get 408), parse it, run the app, discard an unread body (or
 * close), and go on. The head's views point into the stream's read buffer; only a request with
 * a body, whose reading may move that buffer, gets its head copied into a per-connection
 * buffer first. Pipelining: a complete response is held back in an output buffer while the
 * next request is already buffered, and written together with the later ones once the input
 * runs dry (or before anything waits for input), which is what makes deep pipelines cheap;
 * without pipelining each response is one gather write. Errors the parser reports are
 * answered with their status and the connection is closed, since its framing can no longer be
 * trusted; such closes linger (shut down the write side, read and drop what the client still
 * sends for a moment) so the client is not reset before it has read the answer.
 *
 * Drain: corio_http_server_drain stops the net server from accepting; connections waiting
 * between requests are woken (their read side is shut down) and close; a response being
 * prepared when the drain starts says Connection: close unless another request has already
 * arrived behind it, and every request read during the drain is answered with
 * Connection: close.
 *
 * Invariants: a connection's idle flag is set exactly while it waits between requests (or
 * after an upgrade); c->out
 * holds only complete responses, and is empty whenever the task waits for input.
 * Deliberately not here: request parsing (parser.c), the exchange (exchange.c), routing
 * (app.c), accepting and the connection limit (net/server.c).
 */
#include "http_int.h"

#include "core/pages.h"

#include <errno.h>
#include <sys/socket.h>

#define OUT_MAX (64 * 1024)         /* pipelined responses collected before a write */
#define TRIM_AFTER_NS (1 * CORIO_S) /* idle time before the read buffer is released */
#define LINGER_NS (2 * CORIO_S)     /* how long a closing connection drops client bytes */
#define LINGER_MAX (256 * 1024)     /* ... and how many at most */

struct conn;

struct corio_http_server {
    corio_http_app *app;
    corio_server *net;
    struct corio_http_limits lim;
    struct corio_http_timeouts to;
    size_t max_requests;
    const char *server_name;
    bool draining;
    struct conn *conns; /* every connection (doubly linked) */
};

struct conn {
    corio_http_server *srv;
    corio_stream *s;
    const corio_addr *peer;
    corio_http_req *r; /* the request being served (reused; released while idle) */
    bool r_pooled;     /* r is a page of the loop's page pool */
    struct corio__http_sink sink;
    char *head; /* copy of the current request head (requests with a body, upgrades) */
    size_t head_cap;
    const char *head_src; /* the head in the stream's buffer while it is not copied, or NULL */
    size_t head_len;
    char *out; /* held-back complete responses (pipelining) */
    size_t out_len, out_cap;
    struct conn *prev, *next; /* on srv->conns */
    bool idle;                /* waiting between requests, or upgraded */
    bool upgraded;            /* handed to another protocol: never serves HTTP again */
};

/* ---- output -------------------------------------------------------------------------------- */

/* Writes the held-back responses, then iov[0..n), in as few system calls as the stream
 * allows. */
static int write_out(struct conn *c, const corio_iov *iov, int n)
{
    if (!c->out_len)
        return n ? corio_stream_writev(c->s, iov, n) : 0;
    corio_iov all[8];
    int k = 0;
    all[k++] = (corio_iov){c->out, c->out_len};
    for (int i = 0; i < n && k < 8; i++)
        all[k++] = iov[i];
    c->out_len = 0;
    int rc = corio_stream_writev(c->s, all, k);
    if (rc == 0 && k - 1 < n)
        rc = corio_stream_writev(c->s, iov + (k - 1), n - (k - 1));
    return rc;
}

/* Sends the held-back responses under the write timeout. */
static int flush(struct conn *c)
{
    if (!c->out_len)
        return 0;
    corio_deadline d;
    corio_deadline_enter(&d, corio_after(c->srv->to.write_ns));
    int rc = write_out(c, NULL, 0);
    corio_deadline_leave(&d);
    return rc;
}

/* Appends iov[0..n) to the output buffer if it stays within OUT_MAX; false if it would not. */
static bool hold_back(struct conn *c, const corio_iov *iov, int n)
{
    size_t total = 0;
    for (int i = 0; i < n; i++)
        total += iov[i].len;
    if (c->out_len + total > OUT_MAX)
        return false;
    if (c->out_len + total > c->out_cap) {
        size_t cap = c->out_cap ? c->out_cap * 2 : 16384;
        while (cap < c->out_len + total)
            cap *= 2;
        char *o = realloc(c->out, cap);
        if (!o)
            return false;
        c->out = o;
        c->out_cap = cap;
    }
    for (int i = 0; i < n; i++) {
        memcpy(c->out + c->out_len, iov[i].base, iov[i].len);
        c->out_len += iov[i].len;
    }
    return true;
}

/* ---- the sink over the stream ---------------------------------------------------------------- */

static int conn_writev(void *ctx, const corio_iov *iov, int n, bool final)
{
    struct conn *c = ctx;
    size_t more;
    /* Hold a complete response back while the next request is already here (and is not this
     * one's unread body): its answer will follow at once. */
    if (final && c->r->body_done && (corio_stream_peek(c->s, &more), more > 0) &&
        hold_back(c, iov, n))
        return 0;
    return write_out(c, iov, n);
}

static int conn_sendfile(void *ctx, int fd, off_t off, size_t len)
{
    struct conn *c = ctx;
    int rc = write_out(c, NULL, 0);
    return rc < 0 ? rc : corio_stream_sendfile(c->s, fd, off, len);
}

/* Before any read that may wait, held-back responses go out: a client may wait for them
 * before it sends more. */
static ssize_t conn_read(void *ctx, void *buf, size_t cap)
{
    struct conn *c = ctx;
    int rc = write_out(c, NULL, 0);
    return rc < 0 ? rc : corio_stream_read_some(c->s, buf, cap);
}

static const char *conn_peek(void *ctx, size_t *len)
{
    struct conn *c = ctx;
    return corio_stream_peek(c->s, len);
}

static ssize_t conn_fill(void *ctx)
{
    struct conn *c = ctx;
    int rc = write_out(c, NULL, 0);
    return rc < 0 ? rc : corio_stream_fill(c->s);
}

static void conn_consume(void *ctx, size_t n)
{
    struct conn *c = ctx;
    corio_stream_consume(c->s, n);
}

/* True if another request has already arrived behind the current one (buffered, or waiting
 * in the socket). Only asked during a drain. */
static bool input_waiting(struct conn *c)
{
    size_t len;
    char b;
    corio_stream_peek(c->s, &len);
    if (len)
        return true;
    return recv(corio_stream_fd(c->s), &b, 1, MSG_PEEK | MSG_DONTWAIT) > 0;
}

/* During a drain a response is the connection's last, unless a request is already waiting
 * behind it: that one is then answered (with Connection: close) before closing. */
static bool conn_last(void *ctx)
{
    struct conn *c = ctx;
    return c->srv->draining && !(c->r->body_done && input_waiting(c));
}

static void set_idle(struct conn *c, bool idle);

/* An upgraded connection counts as idle for good: a drain shuts down its read side like
 * an idle connection's, so the protocol's reader sees the end of input, can find
 * corio_http_req_draining() true and say goodbye its own way (WebSocket's 1001). */
static int pin_head(struct conn *c, corio_http_req *r, const char *base, size_t hl);

static corio_stream *conn_upgrade(void *ctx)
{
    struct conn *c = ctx;
    /* The new protocol reads the stream, which may move or free the buffer the request's views
     * point into; the handler and the middleware around it still read them. */
    if (c->head_src && pin_head(c, c->r, c->head_src, c->head_len) < 0)
        return NULL;
    c->upgraded = true;
    set_idle(c, true);
    return c->s;
}

static bool conn_draining(void *ctx)
{
    struct conn *c = ctx;
    return c->srv->draining;
}

/* ---- idle tracking -------------------------------------------------------------------------- */

/* Connections are on srv->conns from start to end; the idle flag is what a drain looks at.
 * Keeping a flag rather than a list of the idle ones spares every request two list updates,
 * which touch other connections' memory (cache misses with thousands of connections). */
static void set_idle(struct conn *c, bool idle)
{
    c->idle = idle;
}

static void conn_link(struct conn *c)
{
    corio_http_server *srv = c->srv;
    c->prev = NULL;
    c->next = srv->conns;
    if (srv->conns)
        srv->conns->prev = c;
    srv->conns = c;
}

static void conn_unlink(struct conn *c)
{
    corio_http_server *srv = c->srv;
    if (c->prev)
        c->prev->next = c->next;
    else
        srv->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
}

/* ---- the request structure ------------------------------------------------------------------ */

/* The request block: the request structure, its header array and, in the rest of the block,
 * room for the request's allocations (corio_http_req_alloc), so that a typical request
 * allocates nothing. Two pool pages when the header array leaves room, which it does for the
 * default limit. */
#define REQ_BLOCK_PAGES 2
#define REQ_BLOCK (REQ_BLOCK_PAGES * CORIO__PAGE)

/* Makes c->r ready for parsing the next head: allocated and reset. */
static int req_ready(struct conn *c)
{
    size_t nh = c->srv->lim.max_headers;
    size_t size = sizeof(corio_http_req) + nh * sizeof(struct corio_http_header);
    if (!c->r) {
        c->r_pooled = false;
        bool block = size + 1024 <= REQ_BLOCK;
        c->r = block ? corio__pages_get(REQ_BLOCK_PAGES, &c->r_pooled) : malloc(size);
        if (!c->r)
            return -ENOMEM;
        c->r->headers = (struct corio_http_header *)(c->r + 1);
        size_t off = (size + 15) & ~(size_t)15; /* arena allocations are 16-aligned */
        c->r->arena_ext = block ? (char *)c->r + off : NULL;
        c->r->arena_ext_cap = block ? REQ_BLOCK - off : 0;
    }
    memset(&c->r->head, 0, sizeof c->r->head);
    c->r->head.headers = c->r->headers;
    c->r->head.headers_cap = nh;
    return 0;
}

/* Gives back what only a busy connection needs: the request structure and the head copy and
 * output buffers. The stream's read buffer is trimmed by the caller. */
static void release_busy_memory(struct conn *c)
{
    if (c->r_pooled)
        corio__pages_put(c->r, REQ_BLOCK_PAGES, true);
    else
        free(c->r);
    c->r = NULL;
    free(c->head);
    c->head = NULL;
    c->head_cap = 0;
    free(c->out);
    c->out = NULL;
    c->out_cap = 0;
}

/* Waits between requests for input, for at most idle_ns. The read buffer is kept for a moment
 * and released only when the connection stays idle: a busy client's next request usually
 * arrives within a round trip, and releasing and allocating the buffer per request would put
 * an allocation on every request. Returns 0 when input (or the end) is there. */
static int wait_idle(struct conn *c, int64_t idle_ns)
{
    corio_http_server *srv = c->srv;
    int64_t end = corio_after(idle_ns), grace = corio_after(TRIM_AFTER_NS);
    corio_deadline d;
    set_idle(c, true);
    corio_deadline_enter(&d, grace < end ? grace : end);
    int rc = corio_stream_wait_readable(c->s);
    bool grace_over = corio_deadline_leave(&d) && grace < end;
    if (rc == -ETIMEDOUT && grace_over && !srv->draining) {
        corio_stream_trim(c->s);
        release_busy_memory(c);
        corio_deadline_enter(&d, end);
        rc = corio_stream_wait_readable(c->s);
        corio_deadline_leave(&d);
    }
    set_idle(c, false);
    return rc;
}

/* ---- one request ---------------------------------------------------------------------------- */

enum { HEAD_CLOSE = 0, HEAD_ANSWERED = -1 };

/* Answers a request that could not be read and returns HEAD_ANSWERED (close, lingering). */
static int answer(struct conn *c, corio_http_req *r, int status, const char *detail)
{
    corio_http_server *srv = c->srv;
    corio__http_answer_early(r, &c->sink, c->peer, &srv->lim, &srv->to, srv->server_name, status,
                             detail);
    flush(c);
    return HEAD_ANSWERED;
}

/* Parses the request head that has begun to arrive (or is about to) into r, reading more
 * under the header timeout, which runs from the first byte of the request. Returns as
 * read_head. */
static ssize_t parse_head(struct conn *c, corio_http_req *r)
{
    corio_http_server *srv = c->srv;
    size_t len, state = 0;
    corio_deadline d;
    corio_deadline_enter(&d, corio_after(srv->to.header_ns));
    for (;;) {
        char *p = corio_stream_peek(c->s, &len);
        int rc = len ? corio_http_parse_request(p, len, &state, &srv->lim, &r->head) : -EAGAIN;
        if (rc > 0) {
            corio_deadline_leave(&d);
            return rc;
        }
        if (rc != -EAGAIN) {
            corio_deadline_leave(&d);
            return answer(c, r, r->head.error.status, r->head.error.reason);
        }
        /* The rest of this head may wait for the answers held back so far. */
        ssize_t n = flush(c);
        if (n == 0)
            n = corio_stream_fill(c->s);
        if (n > 0)
            continue;
        corio_deadline_leave(&d);
        if (n == -ETIMEDOUT)
            return answer(c, r, 408, "the request head took too long to arrive");
        if (n == -EMSGSIZE)
            return answer(c, r, 431, "the request head is too large");
        return HEAD_CLOSE; /* the client left (mid-head or between requests), or an error */
    }
}

/* Waits for and parses the next request head into r. Returns the head length (> 0),
 * HEAD_CLOSE when the connection should just close (the client left, stayed idle too long,
 * or a drain began) or HEAD_ANSWERED after answering an error. A new connection gets
 * header_ns (if shorter than keepalive_ns) for its first byte: one that never sends anything
 * is not held for a whole keep-alive period. */
static ssize_t read_head(struct conn *c, bool first)
{
    corio_http_server *srv = c->srv;
    size_t len;
    corio_stream_peek(c->s, &len);
    if (len == 0) {
        if (flush(c) < 0)
            return HEAD_CLOSE;
        if (srv->draining && !input_waiting(c)) /* only a request already here is answered */
            return HEAD_CLOSE;
        if (c->out_cap > 16384) { /* a burst of pipelining is over: give the big buffer back */
            free(c->out);
            c->out = NULL;
            c->out_cap = 0;
        }
        int64_t idle_ns = srv->to.keepalive_ns;
        if (first && srv->to.header_ns < idle_ns)
            idle_ns = srv->to.header_ns;
        if (!srv->draining && (wait_idle(c, idle_ns) < 0 || srv->draining))
            return HEAD_CLOSE;
    }
    if (req_ready(c) < 0)
        return HEAD_CLOSE;
    return parse_head(c, c->r);
}

/* Copies the head (hl bytes at base) into the connection's own buffer and rebases every view
 * of r onto the copy. */
static int pin_head(struct conn *c, corio_http_req *r, const char *base, size_t hl)
{
    if (hl > c->head_cap) {
        char *h = realloc(c->head, hl);
        if (!h)
            return -ENOMEM;
        c->head = h;
        c->head_cap = hl;
    }
    memcpy(c->head, base, hl);
    ptrdiff_t off = c->head - base;
#define REBASE(v)                                                                                  \
    do {                                                                                           \
        if ((v).ptr >= base && (v).ptr <= base + hl)                                               \
            (v).ptr += off;                                                                        \
    } while (0)
    struct corio_http_request_head *h = &r->head;
    REBASE(h->method_name);
    REBASE(h->target);
    REBASE(h->path);
    REBASE(h->query);
    REBASE(h->authority);
    REBASE(h->host);
    for (size_t i = 0; i < h->num_headers; i++) {
        REBASE(h->headers[i].name);
        REBASE(h->headers[i].value);
    }
#undef REBASE
    c->head_src = NULL;
    return 0;
}

/* Consumes the head from the stream. A request with a body is read after this, which may move
 * the stream's buffer, so its head is pinned (copied) at once; without a body nothing reads
 * the stream until the next request, and the views stay put, unless the connection is handed
 * over to another protocol (conn_upgrade pins the head then). */
static int take_head(struct conn *c, corio_http_req *r, size_t hl)
{
    size_t len;
    char *base = corio_stream_peek(c->s, &len);
    corio_stream_consume(c->s, hl);
    c->head_src = base;
    c->head_len = hl;
    if (!r->head.chunked && r->head.content_length <= 0)
        return 0;
    return pin_head(c, r, base, hl);
}

/* Runs one exchange; returns true to keep the connection. *clean is cleared when the client
 * may still be sending (an unread body), so the close should linger. */
static bool serve_one(struct conn *c, corio_http_req *r, size_t served, bool *clean)
{
    corio_http_server *srv = c->srv;
    corio_http_resp w;
    corio__http_exchange_init(r, &w, &c->sink, c->peer, &srv->lim, &srv->to, srv->server_name);
    if (srv->draining || (srv->max_requests && served + 1 >= srv->max_requests))
        w.close = true;
    int rc = corio__http_dispatch(srv->app, r, &w);
    corio__http_finish(&w, rc);
    bool keep = !w.close && !w.failed && !w.close_delim && corio__http_discard_body(r);
    *clean = (r->body_done && !r->body_error) || w.upgraded;
    corio__http_exchange_free(r);
    return keep;
}

/* Closes the write side and drops what the client still sends, for a moment: closing a
 * socket with unread input makes the kernel send a reset, which can destroy the response
 * before the client has read it. */
static void linger(struct conn *c)
{
    if (corio_stream_shutdown(c->s, SHUT_WR) < 0)
        return;
    corio_deadline d;
    corio_deadline_enter(&d, corio_after(LINGER_NS));
    char buf[2048];
    for (size_t total = 0; total < LINGER_MAX;) {
        ssize_t n = corio_stream_read_some(c->s, buf, sizeof buf);
        if (n <= 0)
            break;
        total += (size_t)n;
    }
    corio_deadline_leave(&d);
}

static int conn_main(void *ctx, corio_stream *s, const corio_addr *peer)
{
    corio_http_server *srv = ctx;
    struct conn c = {.srv = srv, .s = s, .peer = peer};
    c.sink = (struct corio__http_sink){
        .writev = conn_writev,
        .sendfile = conn_sendfile,
        .read = conn_read,
        .peek = conn_peek,
        .fill = conn_fill,
        .consume = conn_consume,
        .last = conn_last,
        .upgrade = conn_upgrade,
        .draining = conn_draining,
        .ctx = &c,
    };
    bool clean = true;
    conn_link(&c);
    for (size_t served = 0;; served++) {
        ssize_t hl = read_head(&c, served == 0);
        if (hl <= 0) {
            clean = hl == HEAD_CLOSE;
            break;
        }
        if (take_head(&c, c.r, (size_t)hl) < 0)
            break;
        if (!serve_one(&c, c.r, served, &clean))
            break;
    }
    if (flush(&c) == 0 && !c.upgraded) {
        size_t left;
        corio_stream_peek(s, &left);
        if (!clean || left)
            linger(&c);
    }
    conn_unlink(&c);
    release_busy_memory(&c);
    return 0;
}

/* ---- the server ----------------------------------------------------------------------------- */

static void fill_defaults(corio_http_server *srv, const struct corio_http_server_opts *o)
{
    if (o) {
        srv->lim = o->limits;
        srv->to = o->timeouts;
        srv->max_requests = o->max_requests_per_conn;
        srv->server_name = o->server_name;
    }
    corio__http_limits_fill(&srv->lim);
    corio__http_timeouts_fill(&srv->to);
    if (!srv->server_name)
        srv->server_name = "corio";
}

int corio_http_server_new(corio_http_app *app, corio_listener *l,
                          const struct corio_http_server_opts *o, corio_http_server **out)
{
    corio_http_server *srv = calloc(1, sizeof(*srv));
    *out = NULL;
    if (!srv)
        return -ENOMEM;
    srv->app = app;
    fill_defaults(srv, o);
    struct corio_server_opts so = {
        .handler = conn_main,
        .ctx = srv,
        .max_conns = o ? o->max_conns : 0,
        .drain_timeout_ns = CORIO_FOREVER, /* the drain caller's deadline governs */
        /* The whole head must fit in the buffer; the slack is for the next pipelined one. */
        .stream = {.read_buffer = 4096, .max_buffer = srv->lim.max_head_bytes + 4096},
        .conn_name = "http conn",
    };
    int rc = corio_server_new(l, &so, &srv->net);
    if (rc < 0) {
        free(srv);
        return rc;
    }
    *out = srv;
    return 0;
}

int corio_http_server_run(corio_http_server *srv)
{
    return corio_server_run(srv->net);
}

int corio_http_server_drain(corio_http_server *srv)
{
    srv->draining = true;
    corio_server_stop(srv->net);
    /* Connections idle between requests leave now: shutting their read side wakes them. A
     * connection busy with a request goes idle later and is caught by a later pass. */
    for (;;) {
        for (struct conn *c = srv->conns; c; c = c->next)
            if (c->idle)
                corio_stream_shutdown(c->s, SHUT_RD);
        if (corio_server_conns(srv->net) == 0)
            return 0;
        int rc = corio_sleep(10 * CORIO_MS);
        if (rc < 0)
            return rc;
    }
}

size_t corio_http_server_conns(const corio_http_server *srv)
{
    return corio_server_conns(srv->net);
}

void corio_http_server_free(corio_http_server *srv)
{
    if (!srv)
        return;
    corio_server_free(srv->net);
    free(srv);
}
