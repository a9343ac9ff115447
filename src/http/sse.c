/* SPDX-License-Identifier: MIT */
/* Server-Sent Events (corio/http_sse.h): the event-stream framing over a streamed response.
 *
 * An event is formatted whole into one buffer (on the stack when small) and written as one
 * chunk, so a client never sees half an event between two writes of ours. Data is split into
 * "data:" lines at LF, CRLF and CR, the line ends the format knows, so a payload with any of
 * them arrives as the same lines. Field values that would end their line early (CR or LF in
 * an event type or id) are refused rather than mangled.
 *
 * Invariant: last_write is the loop time of the last bytes sent; the heartbeat is due when
 * now - last_write >= heartbeat_ns. Deliberately not here: the event source (the handler's),
 * and buffering for replay after a reconnect (the handler knows its ids).
 */
#include "http_int.h"

#include "corio/http_sse.h"

#include <errno.h>

#define DEFAULT_HEARTBEAT (15 * CORIO_S)
#define DRAIN_POLL CORIO_S /* how often a sleeping stream looks for a drain */

static bool one_line(const char *s)
{
    return !s || !strpbrk(s, "\r\n");
}

static int write_now(corio_http_sse *s, const char *buf, size_t len)
{
    if (s->resp->head_only)
        return 0;
    int rc = corio_http_resp_write(s->resp, buf, len);
    if (rc == 0)
        s->last_write = corio_now();
    return rc;
}

int corio_http_sse_begin(corio_http_sse *s, corio_http_req *req, corio_http_resp *resp,
                         const struct corio_http_sse_opts *o)
{
    *s = (corio_http_sse){.req = req, .resp = resp, .heartbeat_ns = DEFAULT_HEARTBEAT};
    if (o && o->heartbeat_ns)
        s->heartbeat_ns = o->heartbeat_ns;
    if (o && o->retry_ms < 0)
        return -EINVAL;
    if (corio_http_resp_started(resp))
        return -EALREADY;
    int rc = corio_http_resp_header(resp, "Content-Type", "text/event-stream");
    if (rc == 0)
        rc = corio_http_resp_header(resp, "Cache-Control", "no-cache");
    if (rc == 0)
        rc = corio_http_resp_header(resp, "X-Accel-Buffering", "no");
    if (rc == 0)
        rc = corio_http_resp_begin(resp);
    if (rc < 0)
        return rc;
    s->last_write = corio_now();
    if (o && o->retry_ms > 0) {
        char line[40];
        int n = snprintf(line, sizeof line, "retry: %lld\n\n", (long long)o->retry_ms);
        rc = write_now(s, line, (size_t)n);
    }
    return rc;
}

static char *put(char *p, const char *s, size_t n)
{
    memcpy(p, s, n);
    return p + n;
}

int corio_http_sse_send(corio_http_sse *s, const char *event, const char *id, const char *data)
{
    if (!one_line(event) || !one_line(id))
        return -EINVAL;
    if (!data)
        data = "";
    size_t dlen = strlen(data), lines = 1;
    for (size_t i = 0; i < dlen; i++)
        if (data[i] == '\n' || (data[i] == '\r' && data[i + 1] != '\n'))
            lines++;
    size_t elen = event ? strlen(event) : 0, ilen = id ? strlen(id) : 0;
    size_t need = (elen ? elen + 8 : 0) + (id ? ilen + 5 : 0) + dlen + lines * 7 + 1;
    char small[1024], *buf = need <= sizeof small ? small : malloc(need);
    if (!buf)
        return -ENOMEM;
    char *p = buf;
    if (elen) {
        p = put(p, "event: ", 7);
        p = put(p, event, elen);
        *p++ = '\n';
    }
    if (id) {
        p = put(p, "id: ", 4);
        p = put(p, id, ilen);
        *p++ = '\n';
    }
    for (size_t i = 0;;) {
        size_t e = i;
        while (e < dlen && data[e] != '\n' && data[e] != '\r')
            e++;
        p = put(p, "data: ", 6);
        p = put(p, data + i, e - i);
        *p++ = '\n';
        if (e == dlen)
            break;
        i = e + (data[e] == '\r' && data[e + 1] == '\n' ? 2 : 1);
        if (i == dlen) { /* a final line end: one more, empty, data line keeps it */
            p = put(p, "data: \n", 7);
            break;
        }
    }
    *p++ = '\n';
    int rc = write_now(s, buf, (size_t)(p - buf));
    if (buf != small)
        free(buf);
    if (rc == 0)
        s->events++;
    return rc;
}

int corio_http_sse_comment(corio_http_sse *s, const char *text)
{
    if (!one_line(text))
        return -EINVAL;
    size_t n = text ? strlen(text) : 0;
    char small[256], *buf = n + 4 <= sizeof small ? small : malloc(n + 4);
    if (!buf)
        return -ENOMEM;
    char *p = put(buf, ": ", 2);
    p = put(p, text ? text : "", n);
    *p++ = '\n';
    *p++ = '\n';
    int rc = write_now(s, buf, (size_t)(p - buf));
    if (buf != small)
        free(buf);
    return rc;
}

int corio_http_sse_sleep(corio_http_sse *s, int64_t ns)
{
    int64_t end = corio_after(ns);
    for (;;) {
        if (corio_http_req_draining(s->req))
            return -ESHUTDOWN;
        int64_t now = corio_now();
        if (now >= end)
            return 0;
        int64_t wake = end - now > DRAIN_POLL ? now + DRAIN_POLL : end;
        if (s->heartbeat_ns > 0) {
            int64_t beat = s->last_write + s->heartbeat_ns;
            if (beat <= now) {
                int rc = corio_http_sse_comment(s, "heartbeat");
                if (rc < 0)
                    return rc;
                continue;
            }
            if (beat < wake)
                wake = beat;
        }
        int rc = corio_sleep(wake - now);
        if (rc < 0)
            return rc;
    }
}

bool corio_http_sse_last_event_id(const corio_http_req *req, corio_str *id)
{
    return corio_http_req_header(req, "Last-Event-ID", id);
}
