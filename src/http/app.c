/* SPDX-License-Identifier: MIT */
/* The app: a route trie and the middleware chain.
 *
 * Routes are stored in a trie of path segments. A lookup walks the request path segment by
 * segment, trying the literal child first, then the parameter child, then the catch-all, and
 * backtracks on failure, so "/users/me" beats "/users/{id}" whatever the registration order.
 * The cost is proportional to the path's segments, not to the number of routes.
 *
 * An app is immutable once serving starts, so every worker loop may read it at once.
 */
#include "http_int.h"

#include <stdatomic.h>

#include <errno.h>

int corio_http_app_new(corio_http_app **out)
{
    static _Atomic uint64_t ids;
    *out = calloc(1, sizeof(**out));
    if (!*out)
        return -ENOMEM;
    (*out)->id = atomic_fetch_add(&ids, 1) + 1;
    return 0;
}

static void node_free(struct corio__http_node *n, bool self)
{
    for (size_t i = 0; i < n->nkids; i++)
        node_free(n->kids[i], true);
    free(n->kids);
    if (n->param)
        node_free(n->param, true);
    if (n->rest)
        node_free(n->rest, true);
    free(n->lit);
    free(n->param_name);
    free(n->rest_name);
    free(n->routes);
    free(n->pattern);
    if (self)
        free(n);
}

void corio_http_app_free(corio_http_app *app)
{
    if (!app)
        return;
    node_free(&app->root, false);
    free(app->mws);
    free(app);
}

int corio_http_app_use(corio_http_app *app, corio_http_middleware mw, void *ctx)
{
    struct corio__http_mw *m = realloc(app->mws, (app->nmws + 1) * sizeof(*m));
    if (!m)
        return -ENOMEM;
    app->mws = m;
    app->mws[app->nmws++] = (struct corio__http_mw){mw, ctx};
    return 0;
}

/* ---- registration ---------------------------------------------------------------------------- */

static struct corio__http_node *new_node(void)
{
    return calloc(1, sizeof(struct corio__http_node));
}

static char *dup_n(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = 0;
    }
    return d;
}

static bool valid_name(const char *s, size_t n)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!(s[i] == '_' || (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
              (i > 0 && s[i] >= '0' && s[i] <= '9')))
            return false;
    return true;
}

/* One segment of a pattern, as checked before anything is added. */
enum seg_kind { SEG_LIT, SEG_PARAM, SEG_INT, SEG_REST };
struct seg {
    enum seg_kind kind;
    const char *s; /* literal text, or the parameter's name */
    size_t len;
};

/* Classifies seg[0..len): "{name}", "{name:int}", "{name...}" or a literal of visible ASCII
 * without anything that ends, escapes or looks like a parameter ("{}?#%"). */
static int parse_seg(const char *seg, size_t len, struct seg *out)
{
    if (len >= 2 && seg[0] == '{' && seg[len - 1] == '}') {
        const char *name = seg + 1;
        size_t nl = len - 2;
        out->kind = SEG_PARAM;
        if (nl > 3 && memcmp(name + nl - 3, "...", 3) == 0) {
            out->kind = SEG_REST;
            nl -= 3;
        } else if (nl > 4 && memcmp(name + nl - 4, ":int", 4) == 0) {
            out->kind = SEG_INT;
            nl -= 4;
        }
        out->s = name;
        out->len = nl;
        return valid_name(name, nl) ? 0 : -EINVAL;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)seg[i];
        if (c <= ' ' || c >= 0x7f || strchr("{}?#%", c))
            return -EINVAL;
    }
    *out = (struct seg){SEG_LIT, seg, len};
    return 0;
}

static bool name_is(const char *have, const struct seg *g)
{
    return strlen(have) == g->len && memcmp(have, g->s, g->len) == 0;
}

/* A new child node whose name (literal or parameter) is g's, stored in *name. */
static struct corio__http_node *new_named(const struct seg *g, char **name)
{
    char *nm = dup_n(g->s, g->len);
    struct corio__http_node *c = nm ? new_node() : NULL;
    if (!c) {
        free(nm);
        return NULL;
    }
    *name = nm;
    return c;
}

/* Descends from n through segment g, creating the child if needed. A parameter at a position
 * that already has one under another name (or type) is refused: one position, one name. */
static int add_segment(struct corio__http_node *n, const struct seg *g,
                       struct corio__http_node **out)
{
    struct corio__http_node *c;
    switch (g->kind) {
    case SEG_REST:
        if (n->rest && !name_is(n->rest_name, g))
            return -EINVAL;
        if (!n->rest && !(n->rest = new_named(g, &n->rest_name)))
            return -ENOMEM;
        *out = n->rest;
        return 0;
    case SEG_PARAM:
    case SEG_INT:
        if (n->param && (!name_is(n->param_name, g) || n->param_int != (g->kind == SEG_INT)))
            return -EINVAL;
        if (!n->param) {
            if (!(n->param = new_named(g, &n->param_name)))
                return -ENOMEM;
            n->param_int = g->kind == SEG_INT;
        }
        *out = n->param;
        return 0;
    case SEG_LIT:
        break;
    }
    for (size_t i = 0; i < n->nkids; i++)
        if (name_is(n->kids[i]->lit, g)) {
            *out = n->kids[i];
            return 0;
        }
    struct corio__http_node **k = realloc(n->kids, (n->nkids + 1) * sizeof(*k));
    if (!k)
        return -ENOMEM;
    n->kids = k;
    char *lit;
    if (!(c = new_named(g, &lit)))
        return -ENOMEM;
    c->lit = lit;
    n->kids[n->nkids++] = c;
    *out = c;
    return 0;
}

/* Splits pattern (after its leading '/') into segs; the last may be empty (a trailing slash).
 * Returns the count or -EINVAL. */
static int split_pattern(const char *pattern, struct seg *segs, size_t cap)
{
    size_t n = 0, params = 0;
    if (pattern[0] == '/' && pattern[1] == 0)
        return 0; /* the root */
    for (const char *p = pattern + 1;;) {
        const char *e = strchr(p, '/');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (n == cap || (len == 0 && e)) /* too deep, or "//" */
            return -EINVAL;
        if (parse_seg(p, len, &segs[n]) < 0)
            return -EINVAL;
        if (n > 0 && segs[n - 1].kind == SEG_REST)
            return -EINVAL; /* a catch-all must be the final segment */
        params += segs[n].kind != SEG_LIT;
        n++;
        if (!e)
            break;
        p = e + 1;
    }
    return params > HTTP_MAX_PARAMS ? -EINVAL : (int)n;
}

static bool valid_method(const char *m)
{
    if (strcmp(m, "*") == 0)
        return true;
    for (; *m; m++)
        if (!((*m >= 'A' && *m <= 'Z') || (*m >= 'a' && *m <= 'z') || (*m >= '0' && *m <= '9') ||
              strchr("!#$%&'+-.^_`|~", *m)))
            return false;
    return true;
}

int corio_http_app_route(corio_http_app *app, const char *method, const char *pattern,
                         corio_http_handler h, void *ctx)
{
    if (!method || !*method || strlen(method) >= sizeof(((struct corio__http_route *)0)->method) ||
        !valid_method(method) || !pattern || pattern[0] != '/' || !h)
        return -EINVAL;
    /* The whole pattern is checked before any node is made, so a malformed pattern leaves the
     * trie as it was. (A conflicting parameter name can only be met on a path that exists
     * already, before anything new is made, so that holds for conflicts too.) */
    struct seg segs[64];
    int nseg = split_pattern(pattern, segs, sizeof segs / sizeof segs[0]);
    if (nseg < 0)
        return nseg;
    struct corio__http_node *n = &app->root;
    for (int i = 0; i < nseg; i++) {
        int rc = add_segment(n, &segs[i], &n);
        if (rc < 0)
            return rc;
    }
    for (size_t i = 0; i < n->nroutes; i++)
        if (strcmp(n->routes[i].method, method) == 0)
            return -EINVAL; /* duplicate */
    struct corio__http_route *r = realloc(n->routes, (n->nroutes + 1) * sizeof(*r));
    if (!r)
        return -ENOMEM;
    n->routes = r;
    struct corio__http_route *nr = &n->routes[n->nroutes];
    memset(nr, 0, sizeof(*nr));
    strcpy(nr->method, method);
    nr->h = h;
    nr->ctx = ctx;
    if (!n->pattern && !(n->pattern = dup_n(pattern, strlen(pattern))))
        return -ENOMEM;
    n->nroutes++;
    return 0;
}

/* ---- lookup -------------------------------------------------------------------------------- */

struct match {
    const char *name[HTTP_MAX_PARAMS];
    corio_str raw[HTTP_MAX_PARAMS];
    size_t n;
};

static bool all_digits(const char *s, size_t n)
{
    if (n == 0 || n > 18)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

/* Matches path[pos..end) (pos just after a '/', or at end) below n. */
static struct corio__http_node *walk(struct corio__http_node *n, const char *p, const char *end,
                                     bool at_end, struct match *m)
{
    if (at_end)
        return n->nroutes ? n : NULL;
    const char *e = memchr(p, '/', (size_t)(end - p));
    size_t len = e ? (size_t)(e - p) : (size_t)(end - p);
    const char *next = e ? e + 1 : end;
    bool next_end = e == NULL;
    for (size_t i = 0; i < n->nkids; i++) {
        const char *lit = n->kids[i]->lit;
        if (strncmp(lit, p, len) == 0 && lit[len] == 0) {
            struct corio__http_node *r = walk(n->kids[i], next, end, next_end, m);
            if (r)
                return r;
            break;
        }
    }
    if (n->param && len > 0 && m->n < HTTP_MAX_PARAMS && (!n->param_int || all_digits(p, len))) {
        size_t save = m->n;
        m->name[m->n] = n->param_name;
        m->raw[m->n++] = (corio_str){p, len};
        struct corio__http_node *r = walk(n->param, next, end, next_end, m);
        if (r)
            return r;
        m->n = save;
    }
    if (n->rest && n->rest->nroutes && m->n < HTTP_MAX_PARAMS) {
        m->name[m->n] = n->rest_name;
        m->raw[m->n++] = (corio_str){p, (size_t)(end - p)};
        return n->rest;
    }
    return NULL;
}

static const struct corio__http_route *by_method(const struct corio__http_node *n, corio_str method)
{
    const struct corio__http_route *any = NULL;
    for (size_t i = 0; i < n->nroutes; i++) {
        const char *m = n->routes[i].method;
        if (strlen(m) == method.len && memcmp(m, method.ptr, method.len) == 0)
            return &n->routes[i];
        if (m[0] == '*' && m[1] == 0)
            any = &n->routes[i];
    }
    return any;
}

/* Appends ", m" (or m first) to allow if it fits; a list too long for cap is cut at a
 * method boundary. */
static void allow_add(char *allow, size_t cap, size_t *at, const char *m)
{
    size_t ml = strlen(m), sep = *at ? 2 : 0;
    if (*at + sep + ml + 1 > cap)
        return;
    memcpy(allow + *at, ", ", sep);
    memcpy(allow + *at + sep, m, ml + 1);
    *at += sep + ml;
}

static void allow_list(const struct corio__http_node *n, char *allow, size_t cap)
{
    size_t at = 0;
    bool get = false, head = false, options = false;
    allow[0] = 0;
    for (size_t i = 0; i < n->nroutes; i++) {
        const char *m = n->routes[i].method;
        get |= strcmp(m, "GET") == 0;
        head |= strcmp(m, "HEAD") == 0;
        options |= strcmp(m, "OPTIONS") == 0;
        allow_add(allow, cap, &at, m);
    }
    if (get && !head)
        allow_add(allow, cap, &at, "HEAD");
    if (!options)
        allow_add(allow, cap, &at, "OPTIONS");
}

int corio__http_route_find(corio_http_app *app, corio_http_req *r, corio_http_handler *h,
                           void **ctx, int *status, char *allow, size_t allow_cap)
{
    struct match m = {.n = 0};
    corio_str path = r->head.path;
    *h = NULL;
    r->route = "";
    if (!path.ptr || path.len == 0 || path.ptr[0] != '/') {
        *status = 404;
        return 0;
    }
    const char *end = path.ptr + path.len;
    struct corio__http_node *n = walk(&app->root, path.ptr + 1, end, path.len == 1, &m);
    if (!n && path.len == 1 && app->root.rest && app->root.rest->nroutes) {
        /* "/" for a root catch-all "/{all...}": the remainder after the slash is empty, as
         * for "/static/" under "/static/{p...}". */
        m.name[0] = app->root.rest_name;
        m.raw[0] = (corio_str){path.ptr + 1, 0};
        m.n = 1;
        n = app->root.rest;
    }
    if (!n) {
        *status = 404;
        return 0;
    }
    r->route = n->pattern;
    const struct corio__http_route *rt = by_method(n, r->head.method_name);
    if (!rt && r->head.method == CORIO_HTTP_HEAD)
        rt = by_method(n, (corio_str){"GET", 3});
    if (!rt) {
        allow_list(n, allow, allow_cap);
        *status = r->head.method == CORIO_HTTP_OPTIONS ? 204 : 405;
        return 0;
    }
    for (size_t i = 0; i < m.n; i++) {
        char *d = corio_http_req_alloc(r, m.raw[i].len + 1);
        if (!d)
            return -ENOMEM;
        ssize_t dl = corio_http_pct_decode(d, m.raw[i].ptr, m.raw[i].len, CORIO_HTTP_PCT_NO_NUL);
        if (dl < 0) {
            *status = 400; /* a malformed escape in a parameter */
            return 0;
        }
        d[dl] = 0;
        r->params[i].name = m.name[i];
        r->params[i].value = (corio_str){d, (size_t)dl};
    }
    r->nparams = m.n;
    *h = rt->h;
    *ctx = rt->ctx;
    return 0;
}

/* ---- the chain ------------------------------------------------------------------------------ */

static int run_router(corio_http_app *app, corio_http_req *r, corio_http_resp *w)
{
    corio_http_handler h;
    void *ctx;
    int status = 0;
    char allow[128];
    int rc = corio__http_route_find(app, r, &h, &ctx, &status, allow, sizeof allow);
    if (rc < 0)
        return rc;
    if (h) {
        /* A handler that failed before answering is answered here, inside the chain, so that
         * middleware after-code sees the 500 (or 503) and not the default 200. */
        rc = h(r, w, ctx);
        if (!w->started)
            corio__http_answer_failure(w, rc);
        return rc;
    }
    if (status == 404)
        return corio_http_resp_error(w, 404, NULL, "no route matches this path");
    if (status == 400)
        return corio_http_resp_error(w, 400, NULL, "malformed escape in a path parameter");
    corio_http_resp_header(w, "Allow", allow);
    if (status == 204)
        return corio_http_resp_text(w, 204, NULL, NULL, 0);
    return corio_http_resp_error(w, 405, NULL, allow);
}

int corio_http_next(corio_http_req *r, corio_http_resp *w, corio_http_chain *c)
{
    if (c->next >= c->app->nmws)
        return run_router(c->app, r, w);
    struct corio__http_mw *m = &c->app->mws[c->next];
    corio_http_chain next = {.app = c->app, .next = c->next + 1};
    return m->fn(r, w, &next, m->ctx);
}

int corio__http_dispatch(corio_http_app *app, corio_http_req *r, corio_http_resp *w)
{
    corio_http_chain c = {.app = app, .next = 0};
    return corio_http_next(r, w, &c);
}
