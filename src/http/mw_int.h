/* SPDX-License-Identifier: MIT */
/* Internal helpers shared by the built-in middleware (src/http/mw_*.c, json.c) and reachable
 * by their unit tests: the pure parts (path cleaning, content-type checks, the rate limiter's
 * structural validation) that are worth testing without a request.
 */
#ifndef CORIO_HTTP_MW_INT_H
#define CORIO_HTTP_MW_INT_H

#include "corio/http_mw.h"
#include "http_int.h"

#ifndef CORIO_UNLIKELY
#define CORIO_UNLIKELY(x) __builtin_expect(!!(x), 0)
/* The route pattern of r for logs and metrics. When nothing routed it (a middleware inside
 * answered early: 429, a CORS preflight), the router is asked now, so such answers are still
 * labelled with the pattern the path would have matched; "" when none matches. */
const char *corio__http_mw_route(corio_http_req *r, corio_http_chain *c);

#endif

/* Cleans the URL path in[0..len) (the part after the static prefix, raw): percent-decodes it
 * and writes a relative file path into out (cap bytes, NUL-terminated), "" for the root.
 * Rejects (-EINVAL) a malformed escape, a NUL, a backslash, a "." or ".." segment, an empty
 * segment other than a trailing one ("a//b"), a leading '/', and (unless dotfiles) a segment
 * starting with '.'; -ENAMETOOLONG if out is too small. *dir is set when the path ends in '/'.
 */
int corio__http_static_clean(const char *in, size_t len, char *out, size_t cap, bool dotfiles,
                             bool *dir);

/* The Content-Type for a file name, by extension (case-insensitive). */
const char *corio__http_static_type(const char *name);

/* True if content type ct (may carry parameters; NULL = false) is worth compressing. */
bool corio__http_gzip_compressible(const char *ct);

/* Checks the calling worker's rate-limit table: the hash chains and the LRU list hold the same
 * entries, the count matches and is within max_keys, and tokens are within [0, burst]. Aborts
 * on a violation. */
void corio__http_ratelimit_validate(const corio_http_ratelimit *rl);

/* Formats the peer address without its port ("10.0.0.1", "::1") into buf (cap >= 64); returns
 * the length (0 for an unknown address). */
size_t corio__http_peer_ip(const corio_http_req *r, char *buf, size_t cap);

/* The route pattern of r for logs and metrics. When nothing routed it (a middleware inside
 * answered early: 429, a CORS preflight), the router is asked now, so such answers are still
 * labelled with the pattern the path would have matched; "" when none matches. */
const char *corio__http_mw_route(corio_http_req *r, corio_http_chain *c);

#endif
