/* SPDX-License-Identifier: MIT */
/* corio/http_mw.h: built-in HTTP middleware (request id, access log, metrics, rate limit, CORS,
 * gzip, static files) and JSON helpers for handlers (jansson).
 *
 * The model. Every built-in is a corio_http_middleware (corio/http.h) plus a ctx. Built-ins
 * without state take a pointer to their options struct as ctx (or NULL for the defaults; the
 * options are borrowed and must outlive the app). Built-ins with state are created with
 * corio_http_<name>_new(), which copies the options, and freed with corio_http_<name>_free()
 * after every server using the app has ended. A typical chain, outermost first:
 *
 *     corio_http_app_use(app, corio_http_request_id_mw, NULL);      id first: everything
 *     corio_http_app_use(app, corio_http_access_log_mw, NULL);      after it sees the id
 *     corio_http_metrics_new(&(struct corio_http_metrics_opts){.registry = reg}, &m);
 *     corio_http_app_use(app, corio_http_metrics_mw, m);
 *     corio_http_cors_new(&(struct corio_http_cors_opts){.origins = "*"}, &cors);
 *     corio_http_app_use(app, corio_http_cors_mw, cors);
 *     corio_http_ratelimit_new(&(struct corio_http_ratelimit_opts){.rate = 100, .burst = 200},
 *                              &rl);
 *     corio_http_app_use(app, corio_http_ratelimit_mw, rl);
 *     corio_http_app_use(app, corio_http_gzip_mw, NULL);
 *     corio_http_static_new(&(struct corio_http_static_opts){.root = "./public",
 *                                                            .prefix = "/static/"}, &st);
 *     corio_http_app_use(app, corio_http_static_mw, st);
 *
 * Order matters the usual way: a middleware sees the responses of everything inside it,
 * including early answers (a 429 from the rate limiter is logged and counted if the log and
 * metrics middleware are outside it; it is gzip-compressed only if gzip is outside it).
 *
 * JSON in two lines. A handler reads a JSON body and answers with JSON:
 *
 *     json_error_t jerr;
 *     json_t *in;
 *     if ((rc = corio_http_req_json(req, &in, &jerr)) < 0)
 *         return corio_http_resp_json_error(resp, rc, &jerr);      400 with line/column
 *     ...
 *     rc = corio_http_resp_json(resp, 200, out);                   compact, application/json
 *
 * Threads. Middleware runs in the connection's task on its worker loop. A ctx made by _new()
 * may be shared by every worker serving the app: state that changes per request (rate limit
 * buckets) is kept per worker loop, so no middleware takes a lock on the request path.
 *
 * Errors. Middleware functions return what corio_http_next() returned, or the result of the
 * response they sent themselves (0, or a write error such as -EPIPE / -ETIMEDOUT). They
 * suspend (the rest of the chain may). Constructors return 0, -EINVAL (bad options) or
 * -ENOMEM and fill *out only on success.
 */
#ifndef CORIO_HTTP_MW_H
#define CORIO_HTTP_MW_H

#include "corio/http.h"
#include "corio/obs.h"

#include <jansson.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------------------------------
 * Request id.
 *
 * Takes the id from the request's X-Request-ID header when it is sane (1..128 visible ASCII
 * characters, 0x21..0x7e), else generates one (32 lowercase hex digits: 128 random bits from a
 * per-thread xorshift generator seeded by getrandom(); unique, not secret). The id is set as the
 * task-local value CORIO_LOG_REQUEST_ID (corio/obs.h), so every log line of the request carries
 * it, as do tasks the handler spawns; it is echoed in the response's X-Request-ID header. The
 * task-local value is cleared again when the rest of the chain returns.
 * ctx: const struct corio_http_request_id_opts * (borrowed, must outlive the app) or NULL.
 */
struct corio_http_request_id_opts {
    const char *header;   /* request and response header; NULL = "X-Request-ID" */
    bool ignore_incoming; /* always generate (for servers facing untrusted clients directly) */
    uint64_t _reserved[2];
};

CORIO_API int corio_http_request_id_mw(corio_http_req *req, corio_http_resp *resp,
                                       corio_http_chain *next, void *ctx);

/* The current request's id (a NUL-terminated view valid until the request-id middleware's
 * corio_http_next() returns), or NULL when the middleware has not run for req. It reads the
 * calling task's CORIO_LOG_REQUEST_ID, so it works in the connection's task and in tasks the
 * handler spawned. Task context. */
CORIO_API const char *corio_http_request_id(const corio_http_req *req);

/* Fills buf[0..32] with a fresh id of 32 lowercase hex digits and a NUL (buf needs 33 bytes).
 * Any thread; does not suspend. */
CORIO_API void corio_http_request_id_generate(char buf[33]);

/* ---------------------------------------------------------------------------------------------
 * Access log: one JSON line per request through corio_log_json() (corio/obs.h), at info level,
 * written after the rest of the chain returns:
 *     {"ts":...,"level":"info","sub":"http","msg":"request","request_id":"...",
 *      "method":"GET","path":"/users/7","route":"/users/{id}","status":200,"bytes":123,
 *      "duration_ms":0.412,"peer":"10.0.0.1:51234","user_agent":"curl/8.5.0"}
 * "request_id" is there when the request-id middleware runs outside this one. "path" is the raw
 * path without the query; "bytes" counts body bytes sent; "route" is the pattern the path
 * matches (also for early answers of inner middleware, such as a 429), "" when none does. When
 * the rest of the chain returned an error, "status" is what the server answered (500, 503, or
 * 500 if nothing could be sent) and an "error" field names it (corio_strerror). Cheap when info
 * is disabled (corio_log_enabled).
 * ctx: const struct corio_http_access_log_opts * (borrowed, must outlive the app) or NULL.
 */
struct corio_http_access_log_opts {
    const char *subsystem; /* NULL = "http" */
    const char *msg;       /* NULL = "request" */
    uint64_t _reserved[2];
};

CORIO_API int corio_http_access_log_mw(corio_http_req *req, corio_http_resp *resp,
                                       corio_http_chain *next, void *ctx);

/* ---------------------------------------------------------------------------------------------
 * Metrics, recorded in a registry of corio/obs.h:
 *     http_requests_total{method,route,status}            counter
 *     http_request_duration_seconds{method,route}         histogram (default buckets
 *                                                         0.0005 .. 10 s, or opts.buckets)
 *     http_requests_in_flight                             gauge (summed over workers)
 * route is the matched pattern (corio_http_req_route(): "/users/{id}", never the raw path, so
 * the label set stays bounded) or "unmatched". method is one of the standard methods or
 * "OTHER" (a client cannot inflate the label set with made-up methods). status is the numeric
 * status sent, or "500" when the chain failed and nothing could be sent. Early answers of inner
 * middleware (a 429, a CORS preflight) are labelled with the route their path matches.
 */
typedef struct corio_http_metrics corio_http_metrics;

struct corio_http_metrics_opts {
    corio_metrics *registry; /* required; borrowed: must outlive the corio_http_metrics */
    const double *buckets;   /* duration buckets in seconds; NULL = corio_metrics_default_buckets */
    size_t nbuckets;
    uint64_t _reserved[4];
};

/* Declares the three families in o->registry. Errors: -EINVAL (no registry, bad buckets),
 * -EEXIST (a name is taken in the registry), -ENOMEM. Any thread. */
CORIO_API int corio_http_metrics_new(const struct corio_http_metrics_opts *o,
                                     corio_http_metrics **out);

/* Frees m (the families stay in the registry). After every server using it has ended, and,
 * if corio_http_metrics_add_server() was called, after the registry is freed too (its
 * http_connections_open gauge keeps a pointer to m). */
CORIO_API void corio_http_metrics_free(corio_http_metrics *m);

/* ctx: a corio_http_metrics *. */
CORIO_API int corio_http_metrics_mw(corio_http_req *req, corio_http_resp *resp,
                                    corio_http_chain *next, void *ctx);

/* Open connections: registers, on first call, the func gauge http_connections_open in m's
 * registry, whose value at scrape time is the sum of corio_http_server_conns() over the servers
 * added here (one per worker, typically). srv is borrowed until corio_http_metrics_remove_server()
 * (call it before freeing srv). At most 1024 servers. Any thread (a mutex guards the list; the
 * scrape reads each server's count without the owning loop's cooperation, a word-sized read that
 * may be one request stale). Errors: -ENOSPC (too many servers), -EEXIST (the name is taken),
 * -ENOMEM. */
CORIO_API int corio_http_metrics_add_server(corio_http_metrics *m, corio_http_server *srv);
CORIO_API void corio_http_metrics_remove_server(corio_http_metrics *m, corio_http_server *srv);

/* ---------------------------------------------------------------------------------------------
 * Rate limit: a token bucket per client key. Each key may make `burst` requests at once and
 * then `rate` per second on average. A request without a token is answered early with
 *     429 Too Many Requests, Retry-After: <seconds until one token, rounded up>,
 *     {"error":"too many requests","detail":"retry after N s"}
 * and every response, allowed or not, carries (IETF draft-ietf-httpapi-ratelimit-headers)
 *     RateLimit-Limit: <burst>     RateLimit-Remaining: <whole tokens left>
 *     RateLimit-Reset: <seconds until the bucket is full again, rounded up>
 * The key is the peer's IP address (without port; Unix-socket peers all share the key ""), or
 * the value of opts.key_header when the request has it (e.g. an API key; requests without the
 * header fall back to the IP). Behind a proxy, key on a header the proxy sets.
 *
 * State. The in-process limiter keeps one table per worker loop (no locks, no sharing: with N
 * workers a client spread over several connections may get up to N x the limit; pin keys with
 * SO_REUSEPORT hashing or use a shared backend when that matters). Each table holds at most
 * max_keys keys; past it the least recently seen key is evicted (a hash map plus an intrusive
 * LRU list: O(1) per request, memory bounded by max_keys x (key length + ~80 bytes) per worker).
 * An evicted client starts again with a full bucket, which errs on the side of letting requests
 * through. Time comes from corio_now() (virtual time in tests).
 *
 * Backends. opts.take replaces the in-process limiter (e.g. with a Redis-backed one shared by
 * processes): the middleware then calls take(take_ctx, key, ...) for each request and uses
 * its answer for the decision and headers. take runs in the connection's task and may suspend;
 * an error from it lets the request through (fail open) and is logged once per minute per
 * worker.
 */
struct corio_http_ratelimit_result {
    bool allowed;       /* take one token succeeded */
    uint64_t limit;     /* RateLimit-Limit: the burst */
    uint64_t remaining; /* RateLimit-Remaining: whole tokens left after this request */
    int64_t reset_ns;   /* time until the bucket is full again (>= 0) */
    int64_t retry_ns;   /* when !allowed: time until one token is available (> 0) */
    uint64_t _reserved[2];
};

/* A backend: decides for one request of key[0..key_len) (not NUL-terminated). Returns 0 and
 * fills *out, or a negative errno (the request is then allowed without RateLimit headers). */
typedef int (*corio_http_ratelimit_take_fn)(void *take_ctx, const char *key, size_t key_len,
                                            struct corio_http_ratelimit_result *out);

typedef struct corio_http_ratelimit corio_http_ratelimit;

struct corio_http_ratelimit_opts {
    double rate;            /* tokens added per second; required (> 0) unless take is set */
    uint32_t burst;         /* bucket capacity; 0 = max(1, ceil(rate)) */
    const char *key_header; /* NULL = key by peer IP; else a header name, e.g. "X-API-Key";
                             * copied */
    size_t max_keys;        /* per worker; 0 = 100,000 */
    size_t max_key_len;     /* longer header keys are cut (hashed as cut); 0 = 256 */
    corio_http_ratelimit_take_fn take; /* NULL = the in-process limiter */
    void *take_ctx;                    /* passed to take; retained until _free */
    bool shared; /* false: a table per worker loop, lock-free, but a client whose connections
                  * land on N workers gets up to N x the rate; true: one table for all workers
                  * under a mutex, the rate holds per client across workers */
    uint64_t _reserved[3];
};

/* Copies the options. Errors: -EINVAL (rate <= 0 or not finite, without take), -ENOMEM. Any
 * thread. */
CORIO_API int corio_http_ratelimit_new(const struct corio_http_ratelimit_opts *o,
                                       corio_http_ratelimit **out);

/* Frees rl and every worker's table. After every server using it has ended. */
CORIO_API void corio_http_ratelimit_free(corio_http_ratelimit *rl);

/* ctx: a corio_http_ratelimit *. */
CORIO_API int corio_http_ratelimit_mw(corio_http_req *req, corio_http_resp *resp,
                                      corio_http_chain *next, void *ctx);

/* The in-process limiter itself, for non-HTTP use and tests: takes a token for key on the
 * calling worker's table at time now_ns (normally corio_now()). Also usable as a take function
 * (corio_http_ratelimit_take_fn) when wrapped. Task context or a worker thread; never suspends.
 * Errors: -ENOMEM (a new key could not be stored: the request is to be allowed). */
CORIO_API int corio_http_ratelimit_take(corio_http_ratelimit *rl, const char *key, size_t key_len,
                                        int64_t now_ns, struct corio_http_ratelimit_result *out);

/* Keys held in the calling worker's table, or the shared one (<= max_keys). */
CORIO_API size_t corio_http_ratelimit_keys(const corio_http_ratelimit *rl);

/* ---------------------------------------------------------------------------------------------
 * CORS. For a request with an Origin header that is allowed: adds Access-Control-Allow-Origin
 * (the origin itself, or "*" when any origin is allowed and credentials are off),
 * Access-Control-Allow-Credentials: true when enabled, and Access-Control-Expose-Headers when
 * configured. When the answer depends on the origin (a list of origins, or credentials), every
 * response gets Vary: Origin, also those to requests without Origin. A preflight
 * (OPTIONS with Origin and Access-Control-Request-Method) is answered early with 204 and
 * Access-Control-Allow-Methods / -Allow-Headers / -Max-Age, without running the rest of the
 * chain. A disallowed origin gets no CORS headers (the browser then blocks it); its preflight is
 * answered 204 without them too. Requests without Origin pass through (with Vary only).
 */
typedef struct corio_http_cors corio_http_cors;

struct corio_http_cors_opts {
    const char *origins;        /* comma-separated exact origins ("https://a.example,
                                 * https://b.example"), or "*" (or NULL) for any */
    const char *methods;        /* Allow-Methods; NULL = "GET, HEAD, POST, PUT, PATCH, DELETE" */
    const char *headers;        /* Allow-Headers; NULL = echo Access-Control-Request-Headers */
    const char *expose_headers; /* Expose-Headers; NULL = none */
    int max_age;                /* preflight cache, seconds; 0 = 600; negative = no header */
    bool credentials;           /* send Allow-Credentials: true (and never "*") */
    uint64_t _reserved[4];
};

/* Copies the options. Errors: -EINVAL (an empty origin in the list), -ENOMEM. */
CORIO_API int corio_http_cors_new(const struct corio_http_cors_opts *o, corio_http_cors **out);
CORIO_API void corio_http_cors_free(corio_http_cors *c);
/* ctx: a corio_http_cors *. */
CORIO_API int corio_http_cors_mw(corio_http_req *req, corio_http_resp *resp, corio_http_chain *next,
                                 void *ctx);

/* ---------------------------------------------------------------------------------------------
 * gzip. Compresses a response body with zlib when all of these hold: the client accepts gzip
 * (Accept-Encoding with q > 0 for "gzip" or, failing an explicit entry, for "*"; q=0 refuses),
 * the Content-Type is compressible (text/..., application/json, application/javascript,
 * application/xml, application/wasm, image/svg+xml, +json and +xml suffixes), the body is at least
 * min_size bytes, the status has a body and the response has no Content-Encoding yet. It then sets
 * Content-Encoding: gzip, Vary: Accept-Encoding and the compressed Content-Length; if
 * compressing does not make the body smaller it is sent as is. A response that qualifies except
 * that the client does not accept gzip still gets Vary: Accept-Encoding, so caches keep the
 * variants apart (small bodies get no Vary: their encoding never depends on the request).
 *
 * Scope: bodies sent whole with corio_http_resp_text() / corio_http_resp_error() /
 * corio_http_resp_json(). Streamed responses (corio_http_resp_begin/write/end) and files
 * (corio_http_resp_file, which must keep byte ranges exact) are sent uncompressed.
 * ctx: const struct corio_http_gzip_opts * (borrowed, must outlive the app) or NULL.
 */
struct corio_http_gzip_opts {
    int level;       /* zlib level 1..9; 0 = 6 */
    size_t min_size; /* smallest body compressed, bytes; 0 = 1024 */
    uint64_t _reserved[2];
};

CORIO_API int corio_http_gzip_mw(corio_http_req *req, corio_http_resp *resp, corio_http_chain *next,
                                 void *ctx);

/* The q-value (0..1) an Accept-Encoding header value gives to coding (e.g. "gzip"), following
 * RFC 9110 12.5.3: an explicit entry wins over "*"; a coding not listed gets 0, except
 * "identity", which is acceptable (1) unless excluded by "identity;q=0" or "*;q=0". Names are
 * case-insensitive; malformed q-values count as 0. Pure function; any thread. */
CORIO_API double corio_http_accept_encoding_q(corio_str accept_encoding, const char *coding);

/* ---------------------------------------------------------------------------------------------
 * Static files. Serves files under a directory at a URL prefix: GET and HEAD requests whose path
 * starts with prefix are answered from root; other methods and paths go on down the chain.
 * Safety: the path after the prefix is percent-decoded and then rejected (404) if it contains
 * a NUL, a backslash, a ".." segment or an empty/absolute component, and the resolved file
 * (realpath) must lie inside root, so symlinks leading out of root are refused too (symlinks
 * inside root are followed). Hidden files (a segment starting with '.') are refused unless
 * opts.dotfiles. A directory is served as its index file (index.html); a directory URL without
 * a trailing slash is redirected (301) to one. The answer comes from corio_http_resp_file():
 * ETag, If-None-Match (304), Range (206, 416) and sendfile. Content-Type follows the extension
 * (a small table: html, css, js, json, svg, png, jpg, gif, webp, ico, txt, wasm, woff2, ...;
 * otherwise application/octet-stream). The file-system lookups (realpath, stat, open) run on
 * the loop thread: fine for a page-cached tree, not for a slow network file system.
 */
typedef struct corio_http_static corio_http_static;

struct corio_http_static_opts {
    const char *root;          /* directory served; required; resolved with realpath at _new */
    const char *prefix;        /* URL prefix starting and ending with '/'; NULL = "/" */
    const char *index;         /* directory index file; NULL = "index.html"; "" = none (404) */
    const char *cache_control; /* Cache-Control value; NULL = none */
    bool fallthrough;          /* a missing file goes on down the chain instead of 404 */
    bool dotfiles;             /* serve names starting with '.' */
    uint64_t _reserved[4];
};

/* Copies the options and resolves root. Errors: -EINVAL (no root, bad prefix), -ENOENT /
 * -ENOTDIR / -EACCES (root), -ENOMEM. */
CORIO_API int corio_http_static_new(const struct corio_http_static_opts *o,
                                    corio_http_static **out);
CORIO_API void corio_http_static_free(corio_http_static *s);

/* As middleware (ctx: a corio_http_static *), see above. */
CORIO_API int corio_http_static_mw(corio_http_req *req, corio_http_resp *resp,
                                   corio_http_chain *next, void *ctx);

/* As a handler for a route such as "/static/{path...}" (ctx: a corio_http_static *): serves the
 * request path minus the prefix the same way; anything not found is 404. */
CORIO_API int corio_http_static_handler(corio_http_req *req, corio_http_resp *resp, void *ctx);

/* ---------------------------------------------------------------------------------------------
 * JSON helpers (jansson).
 */

/* Reads the whole body (corio_http_req_body: limits.max_body) and parses it as one JSON value
 * of any type ("\u0000" escapes are refused, as C strings would cut them). Sends nothing. On
 * success *out is a new reference the caller json_decref()s. err (may be NULL) receives jansson's
 * error position and text on -EINVAL. Suspends. Errors: -EINVAL (not valid JSON, or an empty body),
 * -EMSGSIZE (body over the limit), -EPROTO (malformed chunked body), -ENOMEM, -ETIMEDOUT,
 * -ECONNRESET, -ECANCELED. */
CORIO_API int corio_http_req_json(corio_http_req *r, json_t **out, json_error_t *err);

/* Answers a failed corio_http_req_json(): rc -EINVAL gives 400 {"error":"invalid JSON",
 * "detail":"line L column C: <text>"} (detail from err, which may be NULL); -EMSGSIZE gives
 * 413; -EPROTO gives 400. Any other rc (connection errors, cancellation) is returned as is
 * without sending, so the server handles it. Returns 0 when the error response was sent, or a
 * write error. Suspends. */
CORIO_API int corio_http_resp_json_error(corio_http_resp *w, int rc, const json_error_t *err);

/* Sends v (borrowed) compactly as the whole body with Content-Type: application/json.
 * Suspends. Errors: -EINVAL (v cannot be encoded, e.g. NaN), -ENOMEM, and those of
 * corio_http_resp_text(). */
CORIO_API int corio_http_resp_json(corio_http_resp *w, int status, const json_t *v);

/* The cheap path for small fixed objects, no jansson: sends {"k0":"v0","k1":"v1",...} from
 * n/2 pairs of NUL-terminated strings kv[0..n) (escaped as JSON strings). n must be even.
 * Suspends. Errors: -EINVAL (odd n), -ENOMEM, and those of corio_http_resp_text(). E.g.
 *     corio_http_resp_json_strs(resp, 200, "message", "Hello, World!"); */
CORIO_API int corio_http_resp_json_strsv(corio_http_resp *w, int status, const char *const *kv,
                                         size_t n);
#define corio_http_resp_json_strs(w, status, ...)                                                  \
    corio_http_resp_json_strsv((w), (status), (const char *const[]){__VA_ARGS__},                  \
                               sizeof((const char *const[]){__VA_ARGS__}) / sizeof(const char *))

/* corio_json_escape() is declared in corio/obs.h (included above). */

#ifdef __cplusplus
}
#endif
#endif
