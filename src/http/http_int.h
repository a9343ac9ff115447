/* SPDX-License-Identifier: MIT */
/* Internal definitions of the HTTP server: the app (router and middleware chain), one
 * exchange (a request and its response), and a connection. Only src/http includes this.
 */
#ifndef CORIO_HTTP_INT_H
#define CORIO_HTTP_INT_H

#include "corio/http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HTTP_MAX_PARAMS 8

/* ---- the app ----------------------------------------------------------------------------------
 */
struct corio__http_route {
    char method[16]; /* "*" for any */
    corio_http_handler h;
    void *ctx;
};

/* A node of the route trie: one path segment. */
struct corio__http_node {
    char *lit;                      /* literal segment (children of kids[]) */
    struct corio__http_node **kids; /* literal children */
    size_t nkids;
    struct corio__http_node *param; /* "{name}" / "{name:int}" child */
    char *param_name;
    bool param_int;
    struct corio__http_node *rest; /* "{name...}" child: the rest of the path */
    char *rest_name;
    struct corio__http_route *routes; /* handlers at this node, by method */
    size_t nroutes;
    char *pattern; /* the pattern that ends here, for metrics */
};

struct corio__http_mw {
    corio_http_middleware fn;
    void *ctx;
};

struct corio_http_app {
    uint64_t id; /* unique per app: with a pattern's address, names a route across apps */
    struct corio__http_node root;
    struct corio__http_mw *mws;
    size_t nmws;
};

/* The chain position handed to a middleware. */
struct corio_http_chain {
    corio_http_app *app;
    size_t next; /* index of the next middleware; nmws = the router */
};

/* Finds the handler for the request's method and path, filling params; sets *status to 404 or
 * 405 (with *allow listing methods) when there is none. */
int corio__http_route_find(corio_http_app *app, corio_http_req *r, corio_http_handler *h,
                           void **ctx, int *status, char *allow, size_t allow_cap);
/* Runs the middleware chain and the router for one exchange. */
int corio__http_dispatch(corio_http_app *app, corio_http_req *r, corio_http_resp *w);

/* ---- an exchange -------------------------------------------------------------------------- */

/* Where response bytes go and body bytes come from: a connection (socket) or the in-process
 * test client. One per connection, built once. */
struct corio__http_sink {
    /* Writes n iovecs; returns 0 or a negative errno. final: these bytes complete a response,
     * so the connection may hold them back to coalesce them with the answers to pipelined
     * requests behind it (it sends them before it next waits for input, and never holds back
     * a response while no further request is buffered). */
    int (*writev)(void *ctx, const corio_iov *iov, int n, bool final);
    /* Sends len bytes of a file. */
    int (*sendfile)(void *ctx, int fd, off_t off, size_t len);
    /* Content-Length bodies: like corio_stream_read_some (never returns more than cap, so it
     * never reads past the body). */
    ssize_t (*read)(void *ctx, void *buf, size_t cap);
    /* Chunked bodies, decoded straight from the input buffer so that a pipelined request
     * behind the body stays buffered: like corio_stream_peek / fill / consume. */
    const char *(*peek)(void *ctx, size_t *len);
    ssize_t (*fill)(void *ctx);
    void (*consume)(void *ctx, size_t n);
    /* True if the response now being formatted must be the connection's last (a drain).
     * NULL: never. Called once per response head. */
    bool (*last)(void *ctx);
    /* Hands the connection over to another protocol, before the 101 is sent
     * (corio_http_resp_upgrade): makes the request's views independent of the stream's
     * buffer, returns the stream, with any bytes that followed the request still buffered, and
     * stops the connection from serving HTTP afterwards; NULL if out of memory. A NULL member:
     * upgrades are not supported (the in-process test client). */
    corio_stream *(*upgrade)(void *ctx);
    /* True once the server is draining. NULL: never. */
    bool (*draining)(void *ctx);
    void *ctx;
};

struct arena_block {
    struct arena_block *next;
    size_t used, cap;
    char data[];
};

/* One request. Invariant: unless body_done or body_error, the sink's input continues with the
 * rest of the body (body_left bytes, or what the chunked decoder expects next), so the next
 * pipelined request starts right after it; the head's views stay valid until the exchange
 * ends (the connection copies a head whose body will be read). */
struct corio_http_req {
    struct corio_http_request_head head;
    struct corio_http_header *headers; /* storage for head.headers */
    const struct corio_http_limits *lim;
    const struct corio_http_timeouts *to;
    const corio_addr *peer;
    struct corio__http_sink *sink;
    corio_http_resp *resp;
    const char *route; /* matched pattern, "" if none */
    struct {
        const char *name;
        corio_str value; /* decoded, in the arena */
    } params[HTTP_MAX_PARAMS];
    size_t nparams;
    /* body state */
    uint64_t body_left; /* Content-Length bytes not read yet */
    bool chunked, body_done, body_read_started, continue_sent;
    struct corio_http_chunked dec;
    char *body; /* whole body, once read */
    size_t body_len;
    bool body_error; /* the body could not be read: close */
    int body_status; /* with body_error: the status to answer (400, 408,
                        413, 431), 0 if the client went away */
    struct arena_block *arena;
    char arena0[256]; /* first block, inline */
    size_t arena0_used;
    char *arena_ext; /* second block: the rest of the server's request block (or NULL) */
    size_t arena_ext_cap, arena_ext_used;
};

/* One response. Invariant: ended implies started; once started, status and hdrs are frozen;
 * failed or close means the connection closes after this exchange. */
struct corio_http_resp {
    corio_http_req *req;
    int status;
    char *hdrs; /* extra header lines "Name: value\r\n", in the arena (growable) */
    size_t hdrs_len, hdrs_cap;
    bool started;     /* head sent (or queued) */
    bool chunked;     /* streaming with chunked encoding */
    bool close_delim; /* streaming to an HTTP/1.0 client: end by closing */
    bool ended;
    bool head_only; /* HEAD request: no body bytes */
    bool close;     /* send Connection: close and close after */
    bool failed;    /* a write failed: close */
    bool upgraded;  /* a 101 was sent: the connection belongs to another protocol */
    uint64_t bytes;
    const char *server_name;
    /* Body filter (added for the gzip middleware, src/http/mw_gzip.c). When set,
     * corio_http_resp_text() calls it once, after status and Content-Type are set and before
     * the head is built, for a non-empty body of a status that has one. It may add headers and
     * replace *body / *len with memory that lives until the exchange ends (the arena). A
     * negative result fails the send. Streaming and corio_http_resp_file() bypass it. Written
     * by middleware only; NULL by default. */
    int (*body_filter)(void *ctx, corio_http_resp *w, const char *content_type, const void **body,
                       size_t *len);
    void *body_filter_ctx;
};

/* Fills the zero members of lim / to with the server's defaults. */
void corio__http_limits_fill(struct corio_http_limits *lim);
void corio__http_timeouts_fill(struct corio_http_timeouts *to);

/* Builds the status line and server-managed headers into buf (cap >= CORIO__HTTP_HEAD_MIN plus
 * the Server line); returns its length. content_length: >= 0 a length, -1 none (a status
 * without a body), -2 streaming. */
#define CORIO__HTTP_HEAD_MIN 256
#define CORIO__HTTP_SERVER_NAME_MAX 128 /* longer server names are cut */
size_t corio__http_head(corio_http_resp *w, char *buf, size_t cap, int64_t content_length);

/* Formats the whole head into buf (CORIO__HTTP_HEAD_BUF bytes) and describes it in
 * iov[0..return): one iovec when the handler's fields fit in buf (the usual case), else three. */
#define CORIO__HTTP_HEAD_BUF 1024
int corio__http_head_iov(corio_http_resp *w, char *buf, int64_t content_length, corio_iov *iov);
/* Writes iov[0..n) to the sink under the write timeout; a failure marks the response failed. */
int corio__http_send_iov(corio_http_resp *w, const corio_iov *iov, int n, bool final);
bool corio__http_no_body_status(int status);

/* Prepares r (whose head was parsed) and w for one exchange over sink. */
void corio__http_exchange_init(corio_http_req *r, corio_http_resp *w, struct corio__http_sink *sink,
                               const corio_addr *peer, const struct corio_http_limits *lim,
                               const struct corio_http_timeouts *to, const char *server_name);
void corio__http_exchange_free(corio_http_req *r);

/* Answers a failed exchange if nothing was sent yet: the body error's status (400, 408, 413,
 * 431; nothing if the client left), 503 for -ETIMEDOUT / -ECANCELED, else 500. The router
 * calls it as soon as the handler returns, so middleware sees the status it sets. */
void corio__http_answer_failure(corio_http_resp *w, int rc);

/* After the chain returned rc: answers a failure if nothing was sent (500, or the body error's
 * status), ends a streamed response, or marks a response broken off mid-way for closing. */
void corio__http_finish(corio_http_resp *w, int rc);

/* Answers a request that could not be read (a parse error, a timeout) with status and a JSON
 * body, and Connection: close; r->head may be partly filled. */
void corio__http_answer_early(corio_http_req *r, struct corio__http_sink *sink,
                              const corio_addr *peer, const struct corio_http_limits *lim,
                              const struct corio_http_timeouts *to, const char *server_name,
                              int status, const char *detail);

/* Reads and drops what the handler did not read of the body (bounded); false: close. */
bool corio__http_discard_body(corio_http_req *r);
/* The cached Date header value (29 bytes + NUL), refreshed once a second per thread. */
const char *corio__http_date(void);
const char *corio__http_reason(int status);

#endif
