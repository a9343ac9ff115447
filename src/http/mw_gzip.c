/* SPDX-License-Identifier: MIT */
/* The gzip middleware: negotiates Content-Encoding: gzip (RFC 9110 12.5.3) and compresses
 * whole response bodies with zlib through the response's body-filter hook (http_int.h).
 *
 * The middleware decides acceptance once, before the chain runs, and installs a filter that
 * corio_http_resp_text() calls with the final content type and body; the filter compresses
 * into the exchange's arena, so nothing outlives the exchange. The z_stream (about 256 KiB of
 * zlib state at the default memLevel) is kept per thread and reset between responses instead of
 * being set up for each one; a thread-specific destructor releases it when a worker exits.
 *
 * Deliberately not done: streamed responses and files are not compressed (see corio/http_mw.h),
 * and compression runs on the loop thread: a multi-megabyte body at level 9 holds the loop for
 * tens of milliseconds, so keep big compressible assets pre-compressed or use low levels.
 */
#include "mw_int.h"

#include <errno.h>
#include <pthread.h>
#include <strings.h>
#include <zlib.h>

/* What the filter needs; lives in the exchange's arena. */
struct gzip_state {
    int level;
    size_t min_size;
    bool accepted;
};

/* ---- Accept-Encoding ----------------------------------------------------------------------- */

static bool tok_eq(const char *p, size_t n, const char *s)
{
    return strlen(s) == n && strncasecmp(p, s, n) == 0;
}

/* qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ); anything else is -1. */
static double parse_q(const char *p, size_t n)
{
    if (n == 0 || (p[0] != '0' && p[0] != '1'))
        return -1;
    /* In thousandths, divided once at the end, so "0.3" is exactly the double 0.3. */
    int milli = (p[0] - '0') * 1000, scale = 100;
    if (n == 1)
        return milli / 1000.0;
    if (p[1] != '.' || n > 5)
        return -1;
    for (size_t i = 2; i < n; i++, scale /= 10) {
        if (p[i] < '0' || p[i] > '9' || (milli == 1000 && p[i] != '0'))
            return -1;
        milli += (p[i] - '0') * scale;
    }
    return milli / 1000.0;
}

static bool ows(char c)
{
    return c == ' ' || c == '\t';
}

double corio_http_accept_encoding_q(corio_str ae, const char *coding)
{
    double explicit_q = -1, star_q = -1;
    bool gzip = strcasecmp(coding, "gzip") == 0;
    const char *p = ae.ptr, *end = ae.ptr + ae.len;
    while (p && p < end) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *e = comma ? comma : end;
        while (p < e && ows(*p))
            p++;
        const char *t = p;
        while (p < e && *p != ';' && !ows(*p))
            p++;
        size_t tl = (size_t)(p - t);
        double q = 1;
        /* Parameters: only q matters; a malformed q disqualifies the entry (weight 0). */
        while (p < e) {
            while (p < e && (ows(*p) || *p == ';'))
                p++;
            const char *pn = p;
            while (p < e && *p != ';')
                p++;
            const char *pe = p;
            while (pe > pn && ows(pe[-1]))
                pe--;
            if (pe - pn >= 2 && (pn[0] == 'q' || pn[0] == 'Q') && pn[1] == '=') {
                double v = parse_q(pn + 2, (size_t)(pe - pn - 2));
                q = v < 0 ? 0 : v;
            }
        }
        if (tl) {
            if (tok_eq(t, tl, coding) || (gzip && tok_eq(t, tl, "x-gzip")))
                explicit_q = explicit_q < 0 ? q : (q > explicit_q ? q : explicit_q);
            else if (tok_eq(t, tl, "*"))
                star_q = q;
        }
        p = comma ? comma + 1 : NULL;
    }
    if (explicit_q >= 0)
        return explicit_q;
    if (star_q >= 0)
        return star_q;
    return strcasecmp(coding, "identity") == 0 ? 1 : 0;
}

/* ---- content types -------------------------------------------------------------------------- */

bool corio__http_gzip_compressible(const char *ct)
{
    if (!ct)
        return false;
    size_t n = strcspn(ct, ";");
    while (n && ows(ct[n - 1]))
        n--;
    static const char *const types[] = {"application/json", "application/javascript",
                                        "application/xml", "image/svg+xml", "application/wasm"};
    if (n >= 5 && strncasecmp(ct, "text/", 5) == 0)
        return true;
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (tok_eq(ct, n, types[i]))
            return true;
    return (n > 5 && strncasecmp(ct + n - 5, "+json", 5) == 0) ||
           (n > 4 && strncasecmp(ct + n - 4, "+xml", 4) == 0);
}

/* ---- compression ---------------------------------------------------------------------------- */

struct zcache {
    z_stream z;
    int level;
};

static pthread_key_t zkey;
static pthread_once_t zonce = PTHREAD_ONCE_INIT;

static void zcache_free(void *p)
{
    struct zcache *c = p;
    deflateEnd(&c->z);
    free(c);
}

static void zkey_init(void)
{
    (void)pthread_key_create(&zkey, zcache_free);
}

/* This thread's deflate stream at level, ready for a new gzip member. */
static z_stream *zstream(int level)
{
    pthread_once(&zonce, zkey_init);
    struct zcache *c = pthread_getspecific(zkey);
    if (c && c->level == level && deflateReset(&c->z) == Z_OK)
        return &c->z;
    if (c) {
        deflateEnd(&c->z);
    } else {
        if (!(c = calloc(1, sizeof(*c))))
            return NULL;
        if (pthread_setspecific(zkey, c) != 0) {
            free(c);
            return NULL;
        }
    }
    memset(&c->z, 0, sizeof c->z);
    /* windowBits 15 + 16 selects the gzip wrapper (header and CRC-32 trailer). */
    if (deflateInit2(&c->z, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
        pthread_setspecific(zkey, NULL);
        free(c);
        return NULL;
    }
    c->level = level;
    return &c->z;
}

static bool has_header(const corio_http_resp *w, const char *name)
{
    size_t nl = strlen(name);
    for (const char *p = w->hdrs, *end = w->hdrs + w->hdrs_len; p && p < end;) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        if ((size_t)(end - p) > nl && p[nl] == ':' && strncasecmp(p, name, nl) == 0)
            return true;
        p = eol ? eol + 1 : end;
    }
    return false;
}

static int gzip_filter(void *ctx, corio_http_resp *w, const char *ct, const void **body,
                       size_t *len)
{
    const struct gzip_state *g = ctx;
    /* Bodies of 2 GiB and more do not fit zlib's 32-bit counters in one call; they are not
     * something to compress in one go on a loop thread anyway. */
    if (*len < g->min_size || *len > UINT32_MAX / 2 || !corio__http_gzip_compressible(ct) ||
        has_header(w, "Content-Encoding"))
        return 0;
    int rc = corio_http_resp_header(w, "Vary", "Accept-Encoding");
    if (rc < 0 || !g->accepted)
        return rc;
    z_stream *z = zstream(g->level);
    if (!z)
        return 0; /* no memory for zlib: send uncompressed rather than fail */
    size_t cap = deflateBound(z, (uLong)*len);
    unsigned char *out = corio_http_req_alloc(w->req, cap);
    if (!out)
        return -ENOMEM;
    z->next_in = (Bytef *)(uintptr_t)*body;
    z->avail_in = (uInt)*len;
    z->next_out = out;
    z->avail_out = (uInt)cap;
    /* deflateBound guarantees Z_STREAM_END in one call with Z_FINISH. */
    if (deflate(z, Z_FINISH) != Z_STREAM_END || z->total_out >= *len)
        return 0;
    if ((rc = corio_http_resp_header(w, "Content-Encoding", "gzip")) < 0)
        return rc;
    *body = out;
    *len = z->total_out;
    return 0;
}

int corio_http_gzip_mw(corio_http_req *req, corio_http_resp *resp, corio_http_chain *next,
                       void *ctx)
{
    const struct corio_http_gzip_opts *o = ctx;
    struct gzip_state *g = corio_http_req_alloc(req, sizeof(*g));
    if (!g)
        return -ENOMEM;
    g->level = o && o->level >= 1 && o->level <= 9 ? o->level : 6;
    g->min_size = o && o->min_size ? o->min_size : 1024;
    corio_str ae;
    g->accepted = corio_http_req_header(req, "Accept-Encoding", &ae) &&
                  corio_http_accept_encoding_q(ae, "gzip") > 0;
    int (*prev)(void *, corio_http_resp *, const char *, const void **, size_t *) =
        resp->body_filter;
    void *prev_ctx = resp->body_filter_ctx;
    resp->body_filter = gzip_filter;
    resp->body_filter_ctx = g;
    int rc = corio_http_next(req, resp, next);
    resp->body_filter = prev;
    resp->body_filter_ctx = prev_ctx;
    return rc;
}
