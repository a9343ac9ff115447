/* SPDX-License-Identifier: MIT */
/* The access-log middleware: one structured JSON line per request through corio_log_json(),
 * written after the rest of the chain has answered, plus the peer-address helper the other
 * middleware share.
 *
 * The request id is not a field here: the logger adds "request_id" itself from the task-local
 * value the request-id middleware set, which is why that middleware must run outside this one.
 * Nothing is formatted when info is disabled. It deliberately does not sample or buffer: the
 * logger's bounded queue already drops lines (and counts them) rather than block a loop.
 */
#include "mw_int.h"

#include <errno.h>
#include <netinet/in.h>
#include <arpa/inet.h>

size_t corio__http_peer_ip(const corio_http_req *r, char *buf, size_t cap)
{
    const corio_addr *a = corio_http_req_peer(r);
    buf[0] = 0;
    if (!a || a->len == 0)
        return 0;
    const void *src;
    if (a->ss.ss_family == AF_INET)
        src = &((const struct sockaddr_in *)&a->ss)->sin_addr;
    else if (a->ss.ss_family == AF_INET6)
        src = &((const struct sockaddr_in6 *)&a->ss)->sin6_addr;
    else
        return 0;
    if (!inet_ntop(a->ss.ss_family, src, buf, (socklen_t)cap))
        return 0;
    return strlen(buf);
}

const char *corio__http_mw_route(corio_http_req *r, corio_http_chain *c)
{
    const char *route = corio_http_req_route(r);
    if (route[0] || !c)
        return route;
    corio_http_handler h;
    void *hctx;
    int status;
    char allow[128];
    if (corio__http_route_find(c->app, r, &h, &hctx, &status, allow, sizeof allow) < 0)
        return "";
    return corio_http_req_route(r);
}

static __attribute__((noinline)) int log_one(corio_http_req *req, corio_http_resp *resp,
                                             corio_http_chain *next,
                                             const struct corio_http_access_log_opts *o, int rc,
                                             int64_t t0)
{
    double ms = (double)(corio_clock() - t0) / 1e6;
    /* The router answers a failed handler at once (500/503); should nothing have been sent,
     * the server answers 500 after we return. */
    bool failed = rc < 0;
    int status = failed && !corio_http_resp_started(resp) ? 500 : corio_http_resp_get_status(resp);
    char peer[CORIO_ADDR_STRLEN];
    const corio_addr *pa = corio_http_req_peer(req);
    if (!pa || pa->len == 0 || corio_addr_format(pa, peer, sizeof peer) < 0)
        peer[0] = 0;
    corio_str m = corio_http_req_method(req), p = corio_http_req_path(req), ua = {NULL, 0};
    bool has_ua = corio_http_req_header(req, "User-Agent", &ua);
    const char *sub = o && o->subsystem ? o->subsystem : "http";
    const char *msg = o && o->msg ? o->msg : "request";
    struct corio_log_field f[] = {
        CORIO_LOG_STRN("method", m.ptr, m.len),
        CORIO_LOG_STRN("path", p.ptr, p.len),
        CORIO_LOG_STR("route", corio__http_mw_route(req, next)),
        CORIO_LOG_INT("status", status),
        CORIO_LOG_UINT("bytes", corio_http_resp_bytes(resp)),
        CORIO_LOG_DBL("duration_ms", ms),
        CORIO_LOG_STR("peer", peer),
        has_ua ? CORIO_LOG_STRN("user_agent", ua.ptr, ua.len) : CORIO_LOG_STR("user_agent", NULL),
        CORIO_LOG_STR("error", failed ? corio_strerror(rc) : NULL),
    };
    corio_log_fields(CORIO_LOG_INFO, sub, msg, f, failed ? 9 : 8);
    return rc;
}

int corio_http_access_log_mw(corio_http_req *req, corio_http_resp *resp, corio_http_chain *next,
                             void *ctx)
{
    bool on = corio_log_enabled(CORIO_LOG_INFO); /* below info: not even a clock read */
    int64_t t0 = on ? corio_clock() : 0;
    int rc = corio_http_next(req, resp, next);
    if (!on || !corio_log_enabled(CORIO_LOG_INFO))
        return rc;
    return log_one(req, resp, next, ctx, rc, t0);
}
