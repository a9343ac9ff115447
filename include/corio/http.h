/* SPDX-License-Identifier: MIT */
/* corio/http.h: the HTTP/1.1 server: an app (router + middleware), requests and responses.
 *
 * The model. An app holds routes and an ordered middleware chain. A server serves an app on a
 * listener: one task per connection reads a request head with our own parser, runs the chain
 * and the matched handler, writes the response and, with keep-alive, goes on to the next
 * request (pipelined requests are answered in order). Handlers are plain functions that run in
 * the connection's task, so they may block (query a database, sleep, call another service):
 *
 *     static int hello(corio_http_req *req, corio_http_resp *resp, void *ctx)
 *     {
 *         return corio_http_resp_text(resp, 200, "text/plain", "Hello, World!", 13);
 *     }
 *     ...
 *     corio_http_app_route(app, "GET", "/hello", hello, NULL);
 *
 * Limits and timeouts come from struct corio_http_limits; every one has a default. A request
 * the parser rejects is answered with its status (400, 413, 414, 431, 501, 505) and a JSON body
 * {"error": ..., "detail": ...}; where framing can no longer be trusted the connection is then
 * closed.
 *
 * Lifetimes. corio_http_req and corio_http_resp live for one exchange: every string view taken
 * from a request (method, path, header values, parameters) stays valid until the handler
 * returns. Memory obtained from corio_http_req_alloc() is freed when the exchange ends.
 *
 * Threads. An app is built before serving and then only read, so one app may be served by
 * every worker loop at once. A server, its connections and its exchanges belong to the loop
 * that runs it.
 */
#ifndef CORIO_HTTP_H
#define CORIO_HTTP_H

#include "corio/core.h"
#include "corio/http_parser.h"
#include "corio/net.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct corio_http_app corio_http_app;
typedef struct corio_http_server corio_http_server;
typedef struct corio_http_req corio_http_req;
typedef struct corio_http_resp corio_http_resp;

/* A string view (corio/http_parser.h): not NUL-terminated unless stated. */
typedef struct corio_http_str corio_str;

/* A handler answers a request. It returns 0, or a negative errno if it failed: if nothing has
 * been sent yet the client gets a 500 (503 for -ETIMEDOUT / -ECANCELED; the status of the body
 * error if reading the request body failed: 400, 408, 413, 431) with a JSON error body, which
 * the router sends as soon as the handler returns, so middleware after-code sees it; if the
 * response had started and was not complete, the connection is closed without completing it
 * (the client sees a truncated response). A handler that returns 0 without answering gets a
 * 500; a streamed response it began and did not end is ended for it. Runs in the connection's
 * task: it may suspend. */
typedef int (*corio_http_handler)(corio_http_req *req, corio_http_resp *resp, void *ctx);

/* ---- timeouts ------------------------------------------------------------------------------ */
struct corio_http_timeouts {
    int64_t header_ns;    /* from the first byte of a request to its last header byte: cuts off
                           * slowloris clients; 0 = 10 s (408, then close). A new connection
                           * that sends no byte at all within it is closed (without a 408) */
    int64_t body_ns;      /* idle time between body reads; 0 = 30 s (408, then close) */
    int64_t write_ns;     /* for each write of a response (one gather write, one chunk, one
                           * file) to be taken by the client; 0 = 30 s (then close). Note it
                           * bounds each write call, so it must cover the largest body at the
                           * slowest client's speed */
    int64_t keepalive_ns; /* idle time between requests; 0 = 75 s: longer than common load
                           * balancers' 60 s idle timeout, so they never reuse a connection the
                           * server is closing */
    uint64_t _reserved[2];
};

/* ---- the app: routes and middleware --------------------------------------------------------- */

/* Creates an empty app. Errors: -ENOMEM. Any thread. */
CORIO_API int corio_http_app_new(corio_http_app **out);
CORIO_API void corio_http_app_free(corio_http_app *app);

/* Adds a route. method is a method token ("GET", "POST", ..., case-sensitive, at most 15
 * characters) or "*" for any; pattern is a path where segments may be parameters:
 * "/users/{id}", "/users/{id:int}" (1 to 18 digits, else the route does not match), and a final
 * catch-all "/static/{path...}" (the rest of the path, possibly empty: it matches
 * "/static/", not "/static"; a root "/{all...}" also matches "/"). Names are C identifiers;
 * literal segments are visible ASCII without "{}?#%" and are compared with the raw path, so
 * register them as they arrive (unescaped ASCII). Parameter values are percent-decoded (a %00
 * in one is a 400). Literal segments win over parameters, and parameters over catch-alls,
 * whatever the order of registration, with backtracking ("/users/me/x" falls back to
 * "/users/{path...}" if "/users/me" has no "x"). A trailing slash is significant: "/a" and
 * "/a/" are different routes. An exact method wins over "*". GET routes also answer HEAD
 * (without a body); OPTIONS to a path that has routes is answered with its Allow list (204)
 * unless an OPTIONS route exists;
 * a path that matches with another method gets 405 with Allow; no match is a 404; each of these
 * has a JSON body {"error": reason phrase, "detail": ...}. ctx is passed to h.
 * Errors: -EINVAL (a malformed pattern or method, an empty segment as in "/a//b", more than 8
 * parameters, a duplicate method and pattern, or a parameter whose name or type differs from
 * the one already registered at that position, as "/u/{id}" then "/u/{name}"; a refused
 * pattern leaves the app unchanged), -ENOMEM. Before serving only. */
CORIO_API int corio_http_app_route(corio_http_app *app, const char *method, const char *pattern,
                                   corio_http_handler h, void *ctx);

/* Middleware. It runs around the rest of the chain: call corio_http_next() to run the next
 * middleware (and finally the handler), or answer early without calling it. Code after
 * corio_http_next() runs after the handler, with the response status known (it may still add
 * headers if the response has not started). */
typedef struct corio_http_chain corio_http_chain;
typedef int (*corio_http_middleware)(corio_http_req *req, corio_http_resp *resp,
                                     corio_http_chain *next, void *ctx);
CORIO_API int corio_http_next(corio_http_req *req, corio_http_resp *resp, corio_http_chain *next);

/* Appends a middleware to the chain (the first added runs outermost). Errors: -ENOMEM. */
CORIO_API int corio_http_app_use(corio_http_app *app, corio_http_middleware mw, void *ctx);

/* ---- serving --------------------------------------------------------------------------------- */
struct corio_http_server_opts {
    struct corio_http_limits limits;     /* sizes (corio/http_parser.h); zeros = defaults */
    struct corio_http_timeouts timeouts; /* zeros = defaults */
    size_t max_requests_per_conn;        /* 0 = unlimited */
    size_t max_conns;        /* 0 = 10,000; past it the server stops accepting until a slot frees */
    const char *server_name; /* Server header; NULL = "corio"; "" = no header */
    uint64_t _reserved[4];
};

/* Creates a server for app (borrowed: it must outlive the server) on listener l (borrowed).
 * Task context. Errors: -ENOMEM. */
CORIO_API int corio_http_server_new(corio_http_app *app, corio_listener *l,
                                    const struct corio_http_server_opts *o,
                                    corio_http_server **out);

/* Serves until cancelled or drained: accepts connections and answers requests. On
 * cancellation the connections are cancelled too. Returns 0 after a completed drain, or
 * -ECANCELED. Suspends. */
CORIO_API int corio_http_server_run(corio_http_server *srv);

/* Graceful drain (for shutdown): stop accepting (new clients wait in the kernel's queue);
 * connections idle between requests are closed at once; requests in flight finish, and a
 * response finished during the drain says Connection: close and is the connection's last,
 * unless another request has already arrived behind it on that connection: that one is still
 * answered (with Connection: close). Waits until no connection is left, polling every 10 ms,
 * and returns 0; corio_http_server_run then returns 0 too. Obeys the caller's deadline: on
 * -ETIMEDOUT the remaining connections are left to the server task's cancellation (the hard
 * stop). Task context, on the server's loop. Suspends. */
CORIO_API int corio_http_server_drain(corio_http_server *srv);

CORIO_API size_t corio_http_server_conns(const corio_http_server *srv);
CORIO_API void corio_http_server_free(corio_http_server *srv);

/* ---- requests ------------------------------------------------------------------------------- */
CORIO_API corio_str corio_http_req_method(const corio_http_req *r);
CORIO_API corio_str corio_http_req_path(const corio_http_req *r);  /* raw (not decoded) */
CORIO_API corio_str corio_http_req_query(const corio_http_req *r); /* after '?', raw */
CORIO_API corio_str corio_http_req_target(const corio_http_req *r);
CORIO_API int corio_http_req_version(const corio_http_req *r); /* 10 or 11 */
/* The route pattern matched ("/users/{id}"), for metrics; "" if none matched. */
CORIO_API const char *corio_http_req_route(const corio_http_req *r);
/* The client's address. */
CORIO_API const corio_addr *corio_http_req_peer(const corio_http_req *r);

/* The first header named name (case-insensitive); found = true. */
CORIO_API bool corio_http_req_header(const corio_http_req *r, const char *name, corio_str *v);
/* Iterates headers: i from 0 while it returns true. */
CORIO_API bool corio_http_req_header_at(const corio_http_req *r, size_t i, corio_str *name,
                                        corio_str *value);

/* A path parameter ("{id}") by name, percent-decoded. The value is also NUL-terminated (the
 * NUL is not counted in len), so it may go straight to atoi/strtol; it lives until the exchange
 * ends. */
CORIO_API bool corio_http_req_param(corio_http_req *r, const char *name, corio_str *v);
/* The first query parameter named name, percent-decoded ('+' is a space), NUL-terminated like
 * corio_http_req_param's. */
CORIO_API bool corio_http_req_query_param(corio_http_req *r, const char *name, corio_str *v);

/* Reads the whole body (up to limits.max_body) and returns a view of it (NUL-terminated after
 * its len bytes; valid until the exchange ends; the same view again on later calls). Sends
 * 100 Continue first if the client asked for it: a handler that never reads the body sends no
 * 100, and its response says Connection: close. Suspends. Errors: -EMSGSIZE (over the limit,
 * or a trailer section too large: a handler that passes it up gets 413 / 431), -EPROTO
 * (malformed chunked framing: 400), -ETIMEDOUT (body_ns passed: 408), -ECONNRESET (the client
 * left mid-body: nothing is answered), -EALREADY (part of the body was read with
 * corio_http_req_read), -ENOMEM, -ECANCELED. After any error the connection closes after this
 * exchange. */
CORIO_API int corio_http_req_body(corio_http_req *r, corio_str *body);
/* Streams the body: up to cap bytes; 0 at its end. Same errors (and once one happened, every
 * later call fails with -EPROTO). Suspends. */
CORIO_API ssize_t corio_http_req_read(corio_http_req *r, void *buf, size_t cap);

/* An application/x-www-form-urlencoded body field, decoded (reads the body first). Suspends.
 * Returns 1 if found, 0 if not, or an error from corio_http_req_body. -EINVAL if the content
 * type is not a form. */
CORIO_API int corio_http_req_form(corio_http_req *r, const char *name, corio_str *v);

/* Scratch memory freed when the exchange ends. NULL on exhaustion. */
CORIO_API void *corio_http_req_alloc(corio_http_req *r, size_t n);

/* ---- responses ------------------------------------------------------------------------------ */

/* Sets the status (default 200) / adds a header. Both fail with -EALREADY once the head has
 * been sent, -EINVAL for a status outside 100..999, a name that is not a token or a value with
 * CR or LF. The name and value are copied. Date and Server are set by the server; the framing
 * is the server's, so Content-Length and Transfer-Encoding are refused (-EINVAL);
 * "Connection: close" makes this the connection's last response (any other Connection value
 * is sent as given, e.g. for a 101 upgrade). */
CORIO_API int corio_http_resp_status(corio_http_resp *w, int status);
CORIO_API int corio_http_resp_header(corio_http_resp *w, const char *name, const char *value);
CORIO_API int corio_http_resp_get_status(const corio_http_resp *w);
CORIO_API bool corio_http_resp_started(const corio_http_resp *w);

/* Sends the whole response: status, a Content-Type and a body (copied or written directly).
 * Suspends (writing). Errors: -EALREADY, -ETIMEDOUT (write timeout), -EPIPE/-ECONNRESET. */
CORIO_API int corio_http_resp_text(corio_http_resp *w, int status, const char *content_type,
                                   const void *body, size_t len);
/* Sends an error as JSON: {"error": error, "detail": detail}, with strings escaped; error NULL
 * is the status's reason phrase ("Not Found"), detail NULL is a JSON null. Errors as for
 * corio_http_resp_text, and -ENOMEM. */
CORIO_API int corio_http_resp_error(corio_http_resp *w, int status, const char *error,
                                    const char *detail);
/* Sends a regular file (sendfile) with an ETag from its size and mtime and Accept-Ranges:
 * If-None-Match ("*", or a list, compared weakly) gives 304; a single "bytes=" Range gives 206
 * with Content-Range, or 416 (with a Content-Range giving the size) when it starts past the end;
 * any other Range (several ranges, another unit, invalid) is ignored and the whole file sent.
 * HEAD sends the head only. Content-Type is the caller's to set. Errors: -ENOENT (also for
 * something that is not a regular file; nothing was sent, so 404 is up to the caller), open's
 * errors (-EACCES...), and those of corio_http_resp_text. */
CORIO_API int corio_http_resp_file(corio_http_resp *w, corio_http_req *r, const char *path);

/* Streaming: begin sends the head with chunked encoding (HTTP/1.1) or close-delimited
 * (HTTP/1.0: the connection closes after it); write sends one chunk right away (it begins the
 * response if needed); end sends the last chunk. HEAD, 204 and 304 send no body bytes. A
 * handler returning 0 with the stream not ended gets it ended; returning an error breaks it
 * off. Suspends. Errors: -EALREADY (begin twice, write after end), -EPIPE (an earlier write
 * failed), and those of corio_http_resp_text. */
CORIO_API int corio_http_resp_begin(corio_http_resp *w);
CORIO_API int corio_http_resp_write(corio_http_resp *w, const void *data, size_t len);
CORIO_API int corio_http_resp_end(corio_http_resp *w);

/* Switches the connection to another protocol (WebSocket, or anything negotiated with the
 * Upgrade header): sends "101 Switching Protocols" with the headers set so far (the caller sets
 * Upgrade and Connection: Upgrade, and e.g. Sec-WebSocket-Accept) and hands over the
 * connection's stream in *out. Bytes the client sent after the request are still in the
 * stream's buffer. The stream stays owned by the server: the handler speaks the new protocol
 * on it until it returns, and must not close it; the connection closes when the handler
 * returns. During a graceful drain the server shuts down the stream's read side, so a reader
 * sees the end of input; corio_http_req_draining() then tells a drain from a client that left.
 * Suspends (writing the head). Errors: -EALREADY (a response was started), -ENOTSUP (the
 * in-process test client cannot hand over a connection), -EINVAL (HTTP/1.0, HEAD, or a request
 * body not read to its end), and those of corio_http_resp_text. */
CORIO_API int corio_http_resp_upgrade(corio_http_resp *w, corio_stream **out);

/* True once the server serving r has begun a graceful drain: long-lived handlers (streams,
 * upgraded connections) should finish up. False for the in-process test client. */
CORIO_API bool corio_http_req_draining(const corio_http_req *r);

/* Bytes of body sent so far (for access logs). */
CORIO_API uint64_t corio_http_resp_bytes(const corio_http_resp *w);

/* ---- in-process test client -------------------------------------------------------------------
 *
 * Sends a request through an app's middleware chain and router without a socket and hands back
 * the parsed response: what FastAPI's TestClient and Go's httptest give their users. Handlers
 * run in the calling task exactly as they would in a connection's task (they may sleep, read
 * the body, stream, send files), and the bytes they produce go through the same code that
 * writes to sockets, so the status line, the server-managed headers (Server, Date,
 * Content-Length, Transfer-Encoding, Connection) and the body are what a client would
 * receive; a chunked response is decoded. A request the parser rejects gets the answer a
 * server would send (400, 413, 414, 431, 501, 505 with a JSON body).
 *
 *     static int test_main(void *arg)
 *     {
 *         corio_http_app *app = arg;
 *         struct corio_http_test_resp res;
 *         ASSERT_EQ(corio_http_test_get(app, "/users/42?full=1", &res), 0);
 *         ASSERT_EQ(res.status, 200);
 *         ASSERT_STREQ(corio_http_test_header(&res, "content-type"), "application/json");
 *         ASSERT_STREQ(res.body, "{\"id\":42}");
 *         corio_http_test_resp_free(&res);
 *
 *         const char *form = "name=Ada+Lovelace";
 *         ASSERT_EQ(corio_http_test_send(app, "POST", "/users",
 *                                        "Content-Type: application/x-www-form-urlencoded\r\n",
 *                                        form, strlen(form), &res), 0);
 *         ...
 *     }
 *     corio_run(&(struct corio_run_opts){.virtual_time = true}, test_main, app);
 *
 * Every call here runs in task context (inside corio_run) and suspends while the handler
 * does; with virtual time a handler's sleeps and deadlines take no real time. Differences from
 * a socket: one request per call (no keep-alive or pipelining: bytes after the first request
 * are ignored), the connection-level decisions (Connection: close, closing after an unread
 * body) show only in the Connection header, and a body shorter than its Content-Length reads
 * as a client that went away (-ECONNRESET inside the handler).
 */
struct corio_http_test_resp {
    int status;      /* the final status (interim 100 Continue responses are skipped) */
    char *headers;   /* the header lines as sent, "Name: value\r\n" each; owned */
    char *body;      /* the body, chunked coding removed, NUL-terminated; owned */
    size_t body_len; /* bytes of body (it may itself contain NULs) */
    bool truncated;  /* the app broke the response off (a handler failed after it had begun
                        streaming): body holds what was sent, and a client would have seen the
                        connection close early */
    char *_fields;   /* private: "name\0value\0" per header, for corio_http_test_header */
    size_t _nfields;
    uint64_t _reserved[2];
};

/* Options of corio_http_test_request_ex; zeros select what a server uses by default. */
struct corio_http_test_opts {
    struct corio_http_limits limits;     /* zeros = defaults, as for a server */
    struct corio_http_timeouts timeouts; /* body and write timeouts apply to the handler */
    const corio_addr *peer;              /* what corio_http_req_peer() returns; NULL =
                                            127.0.0.1 port 40000 */
    const char *server_name;             /* NULL = "corio"; "" = no Server header */
    uint64_t _reserved[4];
};

/* Sends raw, the bytes of one complete request ("GET / HTTP/1.1\r\nHost: x\r\n\r\n" and its
 * body), to app and fills *out with the response; free it with corio_http_test_resp_free.
 * raw is borrowed for the call. Returns 0 whatever the status (a handler's failure is a 500
 * in *out). Task context; suspends while the handler does. Errors (*out is then empty):
 * -EINVAL (raw ends before its head does), -ECONNRESET (raw's body is shorter than its
 * framing says and the app, like a server whose client left, answered nothing), -EPROTO (the
 * app produced bytes that are not one well-formed response: a sign of a bug), -ENOMEM. */
CORIO_API int corio_http_test_request(corio_http_app *app, const char *raw, size_t len,
                                      struct corio_http_test_resp *out);

/* The same with options (o may be NULL). */
CORIO_API int corio_http_test_request_ex(corio_http_app *app, const struct corio_http_test_opts *o,
                                         const char *raw, size_t len,
                                         struct corio_http_test_resp *out);

/* Builds and sends "method target HTTP/1.1" with a Host header, the extra header lines
 * headers (NULL, or lines "Name: value\r\n"; a missing final CRLF is added), and, when body
 * is not NULL, a Content-Length and the len bytes of body. Host and Content-Length are not
 * added when headers already has them (or Transfer-Encoding). Errors as above. */
CORIO_API int corio_http_test_send(corio_http_app *app, const char *method, const char *target,
                                   const char *headers, const void *body, size_t len,
                                   struct corio_http_test_resp *out);

/* corio_http_test_send(app, "GET", target, NULL, NULL, 0, out). */
CORIO_API int corio_http_test_get(corio_http_app *app, const char *target,
                                  struct corio_http_test_resp *out);

/* The value of the first response header named name (ASCII case-insensitive), NUL-terminated
 * and owned by r, or NULL if there is none. */
CORIO_API const char *corio_http_test_header(const struct corio_http_test_resp *r,
                                             const char *name);

/* Frees what r owns and zeroes it. r may be empty (zeroed) or already freed. */
CORIO_API void corio_http_test_resp_free(struct corio_http_test_resp *r);

#ifdef __cplusplus
}
#endif
#endif
