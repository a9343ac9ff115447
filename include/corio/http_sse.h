/* SPDX-License-Identifier: MIT */
/* corio/http_sse.h: Server-Sent Events (the WHATWG "text/event-stream" format) from an HTTP
 * handler: events with an id, a type, multi-line data and a reconnection delay, heartbeat
 * comments that keep proxies from closing a quiet stream (and find clients that left), and the
 * Last-Event-ID a reconnecting browser sends.
 *
 * A handler streams until the client leaves or the server drains:
 *
 *     static int events(corio_http_req *req, corio_http_resp *resp, void *ctx)
 *     {
 *         corio_http_sse sse;
 *         int rc = corio_http_sse_begin(&sse, req, resp, NULL);
 *         for (int n = 0; rc == 0; n++) {
 *             char data[64];
 *             snprintf(data, sizeof data, "{\"tick\":%d}", n);
 *             rc = corio_http_sse_send(&sse, "tick", NULL, data);
 *             if (rc == 0)
 *                 rc = corio_http_sse_sleep(&sse, CORIO_S);   // heartbeats while waiting
 *         }
 *         return rc == -ESHUTDOWN ? 0 : rc;                   // a drain ends the stream cleanly
 *     }
 *
 * The response is streamed (chunked on HTTP/1.1, close-delimited on HTTP/1.0) with
 * Content-Type: text/event-stream, Cache-Control: no-cache and X-Accel-Buffering: no (so nginx
 * does not buffer it). Every event is written at once (no batching). A client that went away
 * shows up as a write error (-EPIPE, -ECONNRESET) on the next event or heartbeat; a client that
 * stops reading is cut off by the server's write timeout. Everything here runs in the
 * handler's task and suspends while writing or sleeping; nothing is thread-safe.
 */
#ifndef CORIO_HTTP_SSE_H
#define CORIO_HTTP_SSE_H

#include "corio/http.h"

#ifdef __cplusplus
extern "C" {
#endif

struct corio_http_sse_opts {
    int64_t heartbeat_ns; /* quiet time after which corio_http_sse_sleep sends a comment;
                             0 = 15 s; < 0 = never */
    int64_t retry_ms;     /* > 0: sent first as "retry:", the client's reconnection delay */
    uint64_t _reserved[2];
};

/* One event stream; caller storage (e.g. on the handler's stack), valid until the handler
 * returns. Members are private. */
typedef struct corio_http_sse {
    corio_http_req *req;
    corio_http_resp *resp;
    int64_t heartbeat_ns;
    int64_t last_write; /* corio_now() of the last bytes sent */
    uint64_t events;
} corio_http_sse;

/* Starts the stream: sets the headers above and sends the response head (and "retry:" if
 * asked). o may be NULL. Suspends. Errors: -EALREADY (a response was started), -EINVAL (o
 * out of range), and the write errors of corio_http_resp_begin. A HEAD request gets the head
 * only; later sends then do nothing and return 0. */
CORIO_API int corio_http_sse_begin(corio_http_sse *s, corio_http_req *req, corio_http_resp *resp,
                                   const struct corio_http_sse_opts *o);

/* Sends one event: "event: <event>" (NULL or "" = the default type "message"), "id: <id>"
 * (NULL = none; "" resets the client's last id), and one "data:" line per line of data (split
 * at LF, CRLF or CR, so multi-line data arrives intact; NULL = ""), then the blank line that
 * dispatches it. Suspends (writing). Errors: -EINVAL (event or id containing CR or LF, or an id
 * containing NUL), -ENOMEM, write errors (-EPIPE, -ECONNRESET, -ETIMEDOUT). */
CORIO_API int corio_http_sse_send(corio_http_sse *s, const char *event, const char *id,
                                  const char *data);

/* Sends a comment line (": text"), which clients ignore: a heartbeat. text NULL = "". Errors:
 * -EINVAL (CR or LF in text), and the write errors. */
CORIO_API int corio_http_sse_comment(corio_http_sse *s, const char *text);

/* Waits ns (obeying deadlines and cancellation), sending a heartbeat comment whenever the
 * stream has been quiet for heartbeat_ns, and returns early with -ESHUTDOWN once the server
 * begins a graceful drain (checked at least once a second), so that long-lived streams do not
 * hold a drain up. Returns 0 after ns. Errors: -ESHUTDOWN, -ECANCELED, -ETIMEDOUT (an enclosing
 * deadline), and the write errors of a heartbeat (the client left). */
CORIO_API int corio_http_sse_sleep(corio_http_sse *s, int64_t ns);

/* The Last-Event-ID header of a reconnecting client (true, *id set), or false. */
CORIO_API bool corio_http_sse_last_event_id(const corio_http_req *req, corio_str *id);

#ifdef __cplusplus
}
#endif
#endif
