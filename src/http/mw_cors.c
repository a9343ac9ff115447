/* SPDX-License-Identifier: MIT */
/* The CORS middleware (the Fetch standard's CORS protocol, server side): allowed origins get
 * Access-Control-Allow-* headers, preflight requests are answered early with 204.
 *
 * Caching: whenever the headers depend on the request's Origin (a list of origins, or
 * credentials, which forbid "*"), every response carries Vary: Origin, including responses to
 * requests without Origin, so a shared cache never serves one origin's answer to another.
 * It deliberately does not enforce anything: a disallowed origin simply gets no CORS headers and
 * the browser blocks the response; non-browser clients are unaffected, as CORS intends.
 */
#include "mw_int.h"

#include <errno.h>
#include <strings.h>

struct corio_http_cors {
    bool any;       /* every origin allowed */
    char **origins; /* owned, trimmed; when !any */
    size_t norigins;
    char *methods;    /* owned */
    char *headers;    /* owned; NULL = echo the request's */
    char *expose;     /* owned; NULL = none */
    char max_age[24]; /* "" = no header */
    bool credentials;
};

void corio_http_cors_free(corio_http_cors *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->norigins; i++)
        free(c->origins[i]);
    free(c->origins);
    free(c->methods);
    free(c->headers);
    free(c->expose);
    free(c);
}

static char *dup_or_null(const char *s, int *rc)
{
    char *d = s ? strdup(s) : NULL;
    if (s && !d)
        *rc = -ENOMEM;
    return d;
}

/* Splits a comma-separated list of origins, trimming spaces; "*" anywhere means any. */
static int parse_origins(corio_http_cors *c, const char *list)
{
    if (!list) {
        c->any = true;
        return 0;
    }
    size_t n = 1;
    for (const char *p = list; *p; p++)
        n += *p == ',';
    if (!(c->origins = calloc(n, sizeof(char *))))
        return -ENOMEM;
    for (const char *p = list;;) {
        const char *end = strchr(p, ',');
        const char *e = end ? end : p + strlen(p);
        while (p < e && (*p == ' ' || *p == '\t'))
            p++;
        while (e > p && (e[-1] == ' ' || e[-1] == '\t'))
            e--;
        if (e == p)
            return -EINVAL;
        if (e - p == 1 && *p == '*')
            c->any = true;
        else if (!(c->origins[c->norigins++] = strndup(p, (size_t)(e - p))))
            return -ENOMEM;
        if (!end)
            break;
        p = end + 1;
    }
    return 0;
}

int corio_http_cors_new(const struct corio_http_cors_opts *o, corio_http_cors **out)
{
    static const struct corio_http_cors_opts defaults = {.origins = NULL};
    if (!o)
        o = &defaults;
    corio_http_cors *c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    int rc = parse_origins(c, o->origins);
    if (rc == 0) {
        c->methods =
            dup_or_null(o->methods ? o->methods : "GET, HEAD, POST, PUT, PATCH, DELETE", &rc);
        c->headers = dup_or_null(o->headers, &rc);
        c->expose = dup_or_null(o->expose_headers, &rc);
    }
    if (rc < 0) {
        corio_http_cors_free(c);
        return rc;
    }
    if (o->max_age >= 0)
        snprintf(c->max_age, sizeof c->max_age, "%d", o->max_age ? o->max_age : 600);
    c->credentials = o->credentials;
    *out = c;
    return 0;
}

static bool allowed(const corio_http_cors *c, corio_str origin)
{
    if (c->any)
        return true;
    for (size_t i = 0; i < c->norigins; i++)
        if (strlen(c->origins[i]) == origin.len &&
            strncasecmp(c->origins[i], origin.ptr, origin.len) == 0)
            return true;
    return false;
}

/* A NUL-terminated copy of v in the exchange's arena (header values are views). */
static const char *cstr(corio_http_req *req, corio_str v)
{
    char *s = corio_http_req_alloc(req, v.len + 1);
    if (s) {
        memcpy(s, v.ptr, v.len);
        s[v.len] = 0;
    }
    return s;
}

int corio_http_cors_mw(corio_http_req *req, corio_http_resp *resp, corio_http_chain *next,
                       void *ctx)
{
    corio_http_cors *c = ctx;
    bool varies = !c->any || c->credentials;
    if (varies)
        (void)corio_http_resp_header(resp, "Vary", "Origin");
    corio_str origin, acrm, acrh;
    if (!corio_http_req_header(req, "Origin", &origin))
        return corio_http_next(req, resp, next);
    bool ok = allowed(c, origin);
    const char *o = !ok ? NULL : varies ? cstr(req, origin) : "*";
    if (ok && !o)
        return -ENOMEM;
    corio_str m = corio_http_req_method(req);
    bool preflight = m.len == 7 && memcmp(m.ptr, "OPTIONS", 7) == 0 &&
                     corio_http_req_header(req, "Access-Control-Request-Method", &acrm);
    if (ok) {
        (void)corio_http_resp_header(resp, "Access-Control-Allow-Origin", o);
        if (c->credentials)
            (void)corio_http_resp_header(resp, "Access-Control-Allow-Credentials", "true");
    }
    if (!preflight) {
        if (ok && c->expose)
            (void)corio_http_resp_header(resp, "Access-Control-Expose-Headers", c->expose);
        return corio_http_next(req, resp, next);
    }
    if (ok) {
        (void)corio_http_resp_header(resp, "Access-Control-Allow-Methods", c->methods);
        if (c->headers) {
            (void)corio_http_resp_header(resp, "Access-Control-Allow-Headers", c->headers);
        } else if (corio_http_req_header(req, "Access-Control-Request-Headers", &acrh)) {
            const char *h = cstr(req, acrh);
            if (!h)
                return -ENOMEM;
            (void)corio_http_resp_header(resp, "Access-Control-Allow-Headers", h);
            (void)corio_http_resp_header(resp, "Vary", "Access-Control-Request-Headers");
        }
        if (c->max_age[0])
            (void)corio_http_resp_header(resp, "Access-Control-Max-Age", c->max_age);
    }
    return corio_http_resp_text(resp, 204, NULL, NULL, 0);
}
