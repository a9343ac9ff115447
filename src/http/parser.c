/* SPDX-License-Identifier: MIT */
/* http/parser.c: request and response heads (see corio/http_parser.h for the contract and the
 * rules).
 *
 * Shape. A head is parsed in one forward pass, picohttpparser style: the request or status line
 * here, then the field lines (corio__http_parse_fields in fields.c, which also holds the byte-class
 * table and the SSE2 scanners), each byte checked as it is passed over. Facts about framing
 * fields are gathered line by line and judged here once the section is complete ("semantics"),
 * so syntax errors always win and come in byte order.
 *
 * Incrementality without rescans, and the invariant that makes it exact. The result of a call is
 * a function f of the bytes buf[0..n), n = min(len, max_head_bytes):
 *     f(P) = full(P)   if P contains a "stop": CRLFCRLF (the head's end), or a bare LF or
 *                      bare CR (which no valid head contains, so full() fails there or before),
 *            early(P)  otherwise,
 * where full() is the pass above and early() applies only the checks that can be decided on an
 * unfinished head: the method (its first 33 bytes), the length of an unfinished request line,
 * and the size limit. A later call on a longer P only has to look for a stop in the new bytes
 * (three back, in case it straddles) and redo early(), which needs nothing but "has the first
 * line ended", carried in the state word's top bit; the rest of the state word is how far the
 * search got. So trickled input costs O(n) overall, one full pass is made per head, and every
 * prefix gets exactly what a fresh one-shot call would give: the fuzz target checks this.
 * Deliberately, most syntax errors in the middle of an unfinished head (a bad header name, say)
 * are therefore only reported once the head ends, a bare CR/LF arrives, or the size limit is
 * hit; the work is bounded by that limit either way.
 *
 * Not here: field lines (fields.c), chunked bodies (chunked.c), percent-decoding (query.c),
 * anything that reads or writes a socket.
 */
#include "http/parser_int.h"

#include <limits.h>
#include <string.h>

#if defined(__SSE2__) && !defined(CORIO_HTTP_SCALAR)
#include <emmintrin.h>
#define USE_SSE2 1
#endif

/* ---- small helpers ---------------------------------------------------------------------- */

#define IS(c, cls) corio__http_is((unsigned char)(c), (cls))
#define C_DIGIT(c) ((c) >= '0' && (c) <= '9')

#define MAX_METHOD 32                /* longest registered method is 17 bytes */
#define LINE_DONE (~(SIZE_MAX >> 1)) /* state bit: the first line has ended */
#define VERSION_TAIL 10              /* " HTTP/1.1\r" after a request target */

/* The SSE2 loop only loads 16 bytes that lie inside [i, n): nothing is read past the caller's
 * buffer, which the guard-page test checks. Returns the first byte needing care. */
static size_t skip_target(const char *b, size_t i, size_t n)
{
#ifdef USE_SSE2
    const __m128i sp = _mm_set1_epi8(0x20), hi = _mm_set1_epi8(0x7f);
    const __m128i hash = _mm_set1_epi8('#'), pct = _mm_set1_epi8('%'), qm = _mm_set1_epi8('?');
    while (n - i >= 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(b + i));
        __m128i bad = _mm_cmpeq_epi8(_mm_min_epu8(v, sp), v);            /* <= 0x20 */
        bad = _mm_or_si128(bad, _mm_cmpeq_epi8(_mm_max_epu8(v, hi), v)); /* >= 0x7f */
        bad = _mm_or_si128(bad, _mm_cmpeq_epi8(v, hash));
        bad = _mm_or_si128(bad, _mm_cmpeq_epi8(v, pct));
        bad = _mm_or_si128(bad, _mm_cmpeq_epi8(v, qm));
        unsigned m = (unsigned)_mm_movemask_epi8(bad);
        if (m != 0)
            return i + (size_t)__builtin_ctz(m);
        i += 16;
    }
#endif
    while (i < n && IS(b[i], CORIO__HTTP_TARGET))
        i++;
    return i;
}

/* ---- shared pieces of start lines --------------------------------------------------------- */

/* Scans a method (token, at most MAX_METHOD bytes) at b[p..n) up to its SP. Looks at no more
 * than MAX_METHOD + 1 bytes, so the early check on an unfinished head costs O(1). Returns 0
 * with *mlen set, -EAGAIN (valid so far; *mlen = 0) or -EPROTO. */
static int scan_method(const char *b, size_t p, size_t n, struct corio_http_error *e, size_t *mlen)
{
    size_t end = n - p > MAX_METHOD + 1 ? p + MAX_METHOD + 1 : n;
    size_t i = corio__http_skip_token(b, p, end);

    *mlen = 0;
    if (i == end) {
        if (i - p > MAX_METHOD)
            return corio__http_fail(e, -EPROTO, 400, p + MAX_METHOD, "method too long");
        return -EAGAIN;
    }
    if (b[i] != ' ' || i == p)
        return corio__http_fail(e, -EPROTO, 400, i, "invalid character in method");
    *mlen = i - p;
    return 0;
}

/* "HTTP/" DIGIT "." DIGIT at b[p..n). Returns 0 with the digits, -EAGAIN, or -EPROTO. */
static int scan_version(const char *b, size_t p, size_t n, int *major, int *minor,
                        struct corio_http_error *e, int status)
{
    static const char pat[] = "HTTP/0.0";

    for (size_t k = 0; k < 8; k++) {
        if (p + k == n)
            return -EAGAIN;
        unsigned char c = (unsigned char)b[p + k];
        bool ok = pat[k] == '0' ? C_DIGIT(c) : c == (unsigned char)pat[k];
        if (!ok)
            return corio__http_fail(e, -EPROTO, status, p + k, "malformed HTTP version");
    }
    *major = b[p + 5] - '0';
    *minor = b[p + 7] - '0';
    return 0;
}

/* CRLF at b[p..n). */
static int scan_crlf(const char *b, size_t p, size_t n, struct corio_http_error *e, int status,
                     const char *what)
{
    if (p == n)
        return -EAGAIN;
    if (b[p] != '\r')
        return corio__http_fail(e, -EPROTO, status, p, b[p] == '\n' ? "bare LF" : what);
    if (p + 1 == n)
        return -EAGAIN;
    if (b[p + 1] != '\n')
        return corio__http_fail(e, -EPROTO, status, p, "bare CR");
    return 0;
}

/* uri-host [":" port] (RFC 3986 section 3.2.2): an IP-literal in brackets, or a reg-name /
 * IPv4 address made of unreserved, sub-delims and %XX; the port up to 5 digits. */
enum { HOST_ALLOW_EMPTY = 1, HOST_NEED_PORT = 2 };

static bool valid_host(const char *p, size_t n, unsigned flags)
{
    size_t i = 0;

    if (n == 0)
        return (flags & HOST_ALLOW_EMPTY) != 0;
    if (p[0] == '[') {
        for (i = 1; i < n && p[i] != ']'; i++)
            if (!IS(p[i], CORIO__HTTP_HOST) && p[i] != ':')
                return false;
        if (i == n || i == 1)
            return false;
        i++;
    } else {
        while (i < n) {
            if (IS(p[i], CORIO__HTTP_HOST))
                i++;
            else if (p[i] == '%' && n - i >= 3 && IS(p[i + 1], CORIO__HTTP_HEX) &&
                     IS(p[i + 2], CORIO__HTTP_HEX))
                i += 3;
            else
                break;
        }
        if (i == 0)
            return false;
    }
    if (i == n)
        return (flags & HOST_NEED_PORT) == 0;
    if (p[i] != ':' || n - i - 1 > 5)
        return false;
    if (n - i - 1 == 0)
        return (flags & HOST_NEED_PORT) == 0; /* port = *DIGIT: "host:" is valid */
    for (i++; i < n; i++)
        if (!C_DIGIT((unsigned char)p[i]))
            return false;
    return true;
}

/* Content-Length = 1*DIGIT, decimal, no leading zeros (a strtol with base 0 would read "010"
 * as 8: refusing what no client sends removes one way for two parsers to disagree). */
static bool parse_content_length(struct corio_http_str v, int64_t *out)
{
    uint64_t x = 0;

    if (v.len == 0 || (v.ptr[0] == '0' && v.len > 1))
        return false;
    for (size_t i = 0; i < v.len; i++) {
        unsigned d = (unsigned)((unsigned char)v.ptr[i] - '0');
        if (d > 9 || x > ((uint64_t)INT64_MAX - d) / 10)
            return false;
        x = x * 10 + d;
    }
    *out = (int64_t)x;
    return true;
}

/* Content-Length and Transfer-Encoding checks common to requests and responses; `status` is
 * what to report for malformed framing (400 for requests, 502 for responses). */
static int check_framing(const struct corio__http_fields *f, int minor, int status, int64_t *cl,
                         struct corio_http_error *e)
{
    *cl = -1;
    if (f->cl_count > 1)
        return corio__http_fail(e, -EPROTO, status, f->cl_dup_off, "duplicate Content-Length");
    if (f->cl_count == 1 && !parse_content_length(f->cl, cl))
        return corio__http_fail(e, -EPROTO, status, f->cl_off, "invalid Content-Length");
    if (f->te_count == 0)
        return 0;
    if (minor == 0)
        return corio__http_fail(e, -EPROTO, status, f->te_off, "Transfer-Encoding in HTTP/1.0");
    if (f->cl_count != 0)
        return corio__http_fail(e, -EPROTO, status, f->te_off,
                                "both Transfer-Encoding and Content-Length");
    if (f->te_bad)
        return corio__http_fail(e, -EPROTO, status, f->te_off, "invalid Transfer-Encoding");
    if (f->te_chunked > 1)
        return corio__http_fail(e, -EPROTO, status, f->te_off, "chunked applied twice");
    if (f->te_chunked == 1 && !f->te_last_chunked)
        return corio__http_fail(e, -EPROTO, status, f->te_off, "chunked is not the final coding");
    if (f->te_unknown)
        return corio__http_fail(e, -EPROTO, status == 400 ? 501 : status, f->te_off,
                                "unsupported transfer coding");
    return 0;
}

/* ---- requests ------------------------------------------------------------------------------- */

static enum corio_http_method method_of(const char *m, size_t n)
{
#define M(lit, val)                                                                                \
    if (n == sizeof(lit) - 1 && memcmp(m, lit, n) == 0)                                            \
    return val
    switch (m[0]) {
    case 'G':
        M("GET", CORIO_HTTP_GET);
        break;
    case 'H':
        M("HEAD", CORIO_HTTP_HEAD);
        break;
    case 'P':
        M("POST", CORIO_HTTP_POST);
        M("PUT", CORIO_HTTP_PUT);
        M("PATCH", CORIO_HTTP_PATCH);
        break;
    case 'D':
        M("DELETE", CORIO_HTTP_DELETE);
        break;
    case 'C':
        M("CONNECT", CORIO_HTTP_CONNECT);
        break;
    case 'O':
        M("OPTIONS", CORIO_HTTP_OPTIONS);
        break;
    case 'T':
        M("TRACE", CORIO_HTTP_TRACE);
        break;
    }
#undef M
    return CORIO_HTTP_METHOD_OTHER;
}

static const char static_root[] = "/";

/* Sorts the target into its form and fills path, query and authority. `q` is the offset of the
 * first '?' in the target, or t->len if there is none. */
static int classify_target(struct corio_http_request_head *o, size_t q, size_t off)
{
    struct corio_http_error *e = &o->error;
    const char *t = o->target.ptr;
    size_t len = o->target.len;

    if (q < len)
        o->query = (struct corio_http_str){t + q + 1, len - q - 1};
    if (t[0] == '/') {
        if (o->method == CORIO_HTTP_CONNECT)
            return corio__http_fail(e, -EPROTO, 400, off, "CONNECT needs an authority-form target");
        o->form = CORIO_HTTP_ORIGIN_FORM;
        o->path = (struct corio_http_str){t, q};
        return 0;
    }
    if (len == 1 && t[0] == '*') {
        if (o->method != CORIO_HTTP_OPTIONS)
            return corio__http_fail(e, -EPROTO, 400, off, "asterisk-form target outside OPTIONS");
        o->form = CORIO_HTTP_ASTERISK_FORM;
        o->path = o->target;
        return 0;
    }
    if (o->method == CORIO_HTTP_CONNECT) {
        if (q < len || !valid_host(t, len, HOST_NEED_PORT))
            return corio__http_fail(e, -EPROTO, 400, off, "invalid authority-form target");
        o->form = CORIO_HTTP_AUTHORITY_FORM;
        o->authority = o->target;
        return 0;
    }
    /* absolute-form: scheme "://" authority path-abempty, scheme http or https. */
    size_t a;
    if (q >= 7 && corio__http_name_is(t, "http://", 7))
        a = 7;
    else if (q >= 8 && corio__http_name_is(t, "https://", 8))
        a = 8;
    else
        return corio__http_fail(e, -EPROTO, 400, off, "invalid request target");
    const char *slash = memchr(t + a, '/', q - a);
    size_t ae = slash != NULL ? (size_t)(slash - t) : q;
    if (memchr(t + a, '@', ae - a) != NULL)
        return corio__http_fail(e, -EPROTO, 400, off + a, "userinfo in request target");
    if (!valid_host(t + a, ae - a, 0))
        return corio__http_fail(e, -EPROTO, 400, off + a, "invalid authority in request target");
    o->form = CORIO_HTTP_ABSOLUTE_FORM;
    o->authority = (struct corio_http_str){t + a, ae - a};
    o->path =
        ae < q ? (struct corio_http_str){t + ae, q - ae} : (struct corio_http_str){static_root, 1};
    return 0;
}

/* method SP request-target SP HTTP-version CRLF, starting at *pos. */
static int parse_request_line(const char *b, size_t n, size_t *pos, const struct corio__http_lim *L,
                              struct corio_http_request_head *o)
{
    struct corio_http_error *e = &o->error;
    size_t p = *pos, mlen, q = SIZE_MAX;
    int rc, major, minor;

    if ((rc = scan_method(b, p, n, e, &mlen)) < 0)
        return rc;
    o->method_name = (struct corio_http_str){b + p, mlen};
    o->method = method_of(b + p, mlen);

    size_t t = p + mlen + 1, i = t;
    for (;;) {
        i = skip_target(b, i, n);
        if (i - t > L->target)
            return corio__http_fail(e, -EMSGSIZE, 414, t + L->target, "request target too long");
        if (i == n)
            return -EAGAIN;
        if (b[i] == '?') {
            if (q == SIZE_MAX)
                q = i - t;
            i++;
            continue;
        }
        if (b[i] != '%')
            break;
        for (size_t k = 1; k <= 2; k++) {
            if (i + k == n)
                return -EAGAIN;
            if (!IS(b[i + k], CORIO__HTTP_HEX))
                return corio__http_fail(e, -EPROTO, 400, i, "invalid %-escape in request target");
        }
        i += 3;
    }
    if (b[i] != ' ')
        return corio__http_fail(e, -EPROTO, 400, i, "invalid character in request target");
    if (i == t)
        return corio__http_fail(e, -EPROTO, 400, i, "empty request target");
    o->target = (struct corio_http_str){b + t, i - t};

    size_t v = i + 1;
    if ((rc = scan_version(b, v, n, &major, &minor, e, 400)) < 0)
        return rc;
    if ((rc = scan_crlf(b, v + 8, n, e, 400, "malformed HTTP version")) < 0)
        return rc;
    if (major != 1 || minor > 1)
        return corio__http_fail(e, -EPROTO, 505, v, "HTTP version not supported");
    o->minor_version = minor;
    *pos = v + 10;
    return classify_target(o, q == SIZE_MAX ? i - t : q, t);
}

/* The checks that need the whole head, in the documented order. Returns the head length. */
static int request_semantics(const struct corio__http_fields *f, const struct corio__http_lim *L,
                             size_t end, struct corio_http_request_head *o)
{
    struct corio_http_error *e = &o->error;
    int rc;

    if (f->count > f->max)
        return corio__http_fail(e, -EMSGSIZE, 431, f->excess_off, "too many header fields");
    if (f->host_count > 1)
        return corio__http_fail(e, -EPROTO, 400, f->host_dup_off, "duplicate Host header");
    if (f->host_count == 0 && o->minor_version == 1)
        return corio__http_fail(e, -EPROTO, 400, end - 2, "missing Host header");
    if (f->host_count == 1 && !valid_host(f->host.ptr, f->host.len, HOST_ALLOW_EMPTY))
        return corio__http_fail(e, -EPROTO, 400, f->host_off, "invalid Host header");
    if ((rc = check_framing(f, o->minor_version, 400, &o->content_length, e)) < 0)
        return rc;
    if (f->conn_bad)
        return corio__http_fail(e, -EPROTO, 400, f->conn_off, "invalid Connection header");

    bool http11 = o->minor_version == 1;
    o->num_headers = f->count < f->cap ? f->count : f->cap;
    o->chunked = f->te_count != 0;
    o->keep_alive = !f->conn_close && (http11 || f->conn_keep_alive);
    o->expect_continue = http11 && f->expect_continue;
    o->upgrade = http11 && f->conn_upgrade && f->upgrade;
    if (o->authority.ptr != NULL)
        o->host = o->authority;
    else if (f->host_count == 1)
        o->host = f->host;
    if (o->content_length > 0 && (uint64_t)o->content_length > L->body)
        return corio__http_fail(e, -EMSGSIZE, 413, f->cl_off, "request body too large");
    return (int)end;
}

/* Member by member on purpose: an aggregate assignment of the whole struct compiles to
 * `rep stos`, whose start-up cost was a third of a small request's parse time. */
static void reset_request(struct corio_http_request_head *o)
{
    const struct corio_http_str absent = {NULL, 0};

    o->method = CORIO_HTTP_METHOD_OTHER;
    o->method_name = o->target = o->path = o->query = o->authority = o->host = absent;
    o->form = CORIO_HTTP_ORIGIN_FORM;
    o->minor_version = 0;
    o->num_headers = 0;
    o->content_length = -1;
    o->chunked = o->keep_alive = o->expect_continue = o->upgrade = false;
    o->error = (struct corio_http_error){0, 0, NULL};
}

/* full(): the whole pass. Returns the head length, an error, or -EAGAIN when buf[0..n) holds no
 * stop (an error seen before one is then not reported yet: that is early()'s business). */
static int request_full(const char *b, size_t n, const struct corio__http_lim *L,
                        struct corio_http_request_head *o)
{
    struct corio__http_fields f;
    size_t p = 0;
    int rc;

    corio__http_fields_init(&f, o->headers, o->headers_cap, L->headers);
    if (n >= 1 && b[0] == '\r') { /* one empty line may precede the request line */
        if (n < 2)
            return -EAGAIN;
        if (b[1] == '\n')
            p = 2;
    }
    rc = parse_request_line(b, n, &p, L, o);
    if (rc == 0)
        rc = corio__http_parse_fields(b, n, &p, &f, &o->error);
    if (CORIO__HTTP_LIKELY(rc == 0))
        return request_semantics(&f, L, p, o);
    if (corio__http_find_stop(b, 0, n) == 0)
        return -EAGAIN;
    if (rc == -EAGAIN) /* cannot happen: the pass always fails at or ends by a stop */
        return corio__http_fail(&o->error, -EPROTO, 400, 0, "malformed request head");
    return rc;
}

/* early(): the unfinished head. `scanned` bytes were seen by an earlier call that found no
 * end; line_done says whether they held the end of the first line. */
static int request_early(const char *b, size_t len, size_t n, const struct corio__http_lim *L,
                         size_t scanned, bool line_done, size_t *state,
                         struct corio_http_request_head *o)
{
    struct corio_http_error *e = &o->error;
    size_t rl = 0, mlen = 0;
    int rc;

    if (n >= 1 && b[0] == '\r') {
        if (n < 2)
            goto again;
        if (b[1] == '\n')
            rl = 2;
    }
    rc = scan_method(b, rl, n, e, &mlen);
    if (rc < 0 && rc != -EAGAIN)
        goto fail;
    if (!line_done) {
        size_t from = scanned > rl ? scanned : rl;
        line_done = from < n && memchr(b + from, '\n', n - from) != NULL;
    }
    if (!line_done && mlen > 0 && n - rl > mlen + 1 + L->target + VERSION_TAIL) {
        rc = corio__http_fail(e, -EMSGSIZE, 414, rl + mlen + 1 + L->target,
                              "request target too long");
        goto fail;
    }
    if (len >= L->head) {
        rc = line_done ? corio__http_fail(e, -EMSGSIZE, 431, L->head, "header section too large")
                       : corio__http_fail(e, -EMSGSIZE, 414, L->head, "request line too long");
        goto fail;
    }
again:
    if (state != NULL)
        *state = n | (line_done ? LINE_DONE : 0);
    return -EAGAIN;
fail:
    if (state != NULL)
        *state = 0;
    return rc;
}

int corio_http_parse_request(const char *buf, size_t len, size_t *state,
                             const struct corio_http_limits *lim,
                             struct corio_http_request_head *out)
{
    struct corio__http_lim L;
    size_t st = state != NULL ? *state : 0;
    int rc;

    corio__http_lim_resolve(lim, &L);
    size_t n = len < L.head ? len : L.head;
    reset_request(out);
    if (st != 0) {
        size_t scanned = st & ~LINE_DONE;
        /* Only the new bytes (and three before them) can complete a CRLFCRLF. */
        if (scanned <= n && corio__http_find_stop(buf, scanned >= 3 ? scanned - 3 : 0, n) == 0)
            return request_early(buf, len, n, &L, scanned, (st & LINE_DONE) != 0, state, out);
    }
    rc = request_full(buf, n, &L, out);
    if (rc != -EAGAIN) {
        if (state != NULL)
            *state = 0;
        return rc;
    }
    reset_request(out);
    return request_early(buf, len, n, &L, 0, false, state, out);
}

/* ---- responses ------------------------------------------------------------------------------ */

#define BAD_GATEWAY 502

/* HTTP-version SP status-code [SP reason-phrase] CRLF. */
static int parse_status_line(const char *b, size_t n, size_t *pos,
                             struct corio_http_response_head *o)
{
    struct corio_http_error *e = &o->error;
    int rc, major, minor;

    if ((rc = scan_version(b, 0, n, &major, &minor, e, BAD_GATEWAY)) < 0)
        return rc;
    if (major != 1 || minor > 1)
        return corio__http_fail(e, -EPROTO, BAD_GATEWAY, 0, "unsupported HTTP version");
    o->minor_version = minor;
    for (size_t k = 8; k < 12; k++) {
        if (k == n)
            return -EAGAIN;
        if (k == 8 ? b[k] != ' ' : !C_DIGIT((unsigned char)b[k]))
            return corio__http_fail(e, -EPROTO, BAD_GATEWAY, k, "malformed status line");
    }
    o->status = (b[9] - '0') * 100 + (b[10] - '0') * 10 + (b[11] - '0');
    if (o->status < 100 || o->status > 599)
        return corio__http_fail(e, -EPROTO, BAD_GATEWAY, 9, "invalid status code");
    size_t i = 12;
    if (i == n)
        return -EAGAIN;
    if (b[i] == ' ') { /* the SP is required; its absence before an empty reason is tolerated */
        i = corio__http_skip_value(b, 13, n);
        o->reason = (struct corio_http_str){b + 13, i - 13};
    } else {
        o->reason = (struct corio_http_str){b + 12, 0};
    }
    if ((rc = scan_crlf(b, i, n, e, BAD_GATEWAY, "invalid character in status line")) < 0)
        return rc;
    *pos = i + 2;
    return 0;
}

static int response_semantics(const struct corio__http_fields *f, const struct corio__http_lim *L,
                              size_t end, struct corio_http_response_head *o)
{
    struct corio_http_error *e = &o->error;
    int rc, s = o->status;

    if (f->count > f->max)
        return corio__http_fail(e, -EMSGSIZE, BAD_GATEWAY, f->excess_off, "too many header fields");
    if ((rc = check_framing(f, o->minor_version, BAD_GATEWAY, &o->content_length, e)) < 0)
        return rc;
    if (f->conn_bad)
        return corio__http_fail(e, -EPROTO, BAD_GATEWAY, f->conn_off, "invalid Connection header");
    o->num_headers = f->count < f->cap ? f->count : f->cap;
    o->chunked = f->te_count != 0;
    o->keep_alive = !f->conn_close && (o->minor_version == 1 || f->conn_keep_alive);
    o->tunnel = s == 101 || (o->request_method == CORIO_HTTP_CONNECT && s / 100 == 2);
    if (o->tunnel || o->request_method == CORIO_HTTP_HEAD || s / 100 == 1 || s == 204 || s == 304) {
        o->body = CORIO_HTTP_BODY_NONE;
        if (o->tunnel)
            o->keep_alive = false;
    } else if (o->chunked) {
        o->body = CORIO_HTTP_BODY_CHUNKED;
    } else if (o->content_length >= 0) {
        o->body = CORIO_HTTP_BODY_LENGTH;
        if ((uint64_t)o->content_length > L->body)
            return corio__http_fail(e, -EMSGSIZE, BAD_GATEWAY, f->cl_off,
                                    "response body too large");
    } else {
        o->body = CORIO_HTTP_BODY_CLOSE;
        o->keep_alive = false;
    }
    return (int)end;
}

static void reset_response(struct corio_http_response_head *o)
{
    o->minor_version = 0;
    o->status = 0;
    o->reason = (struct corio_http_str){NULL, 0};
    o->num_headers = 0;
    o->content_length = -1;
    o->body = CORIO_HTTP_BODY_NONE;
    o->chunked = o->keep_alive = o->tunnel = false;
    o->error = (struct corio_http_error){0, 0, NULL};
}

static int response_full(const char *b, size_t n, const struct corio__http_lim *L,
                         struct corio_http_response_head *o)
{
    struct corio__http_fields f;
    size_t p = 0;
    int rc;

    corio__http_fields_init(&f, o->headers, o->headers_cap, L->headers);
    rc = parse_status_line(b, n, &p, o);
    if (rc == 0)
        rc = corio__http_parse_fields(b, n, &p, &f, &o->error);
    if (CORIO__HTTP_LIKELY(rc == 0))
        return response_semantics(&f, L, p, o);
    if (corio__http_find_stop(b, 0, n) == 0)
        return -EAGAIN;
    if (rc == -EAGAIN)
        return corio__http_fail(&o->error, -EPROTO, BAD_GATEWAY, 0, "malformed response head");
    o->error.status = BAD_GATEWAY; /* field errors come back as 400 */
    return rc;
}

static int response_early(const char *b, size_t len, size_t n, const struct corio__http_lim *L,
                          size_t *state, struct corio_http_response_head *o)
{
    static const char prefix[] = "HTTP/";
    int rc;

    for (size_t k = 0; k < n && k < 5; k++) {
        if (b[k] != prefix[k]) {
            rc = corio__http_fail(&o->error, -EPROTO, BAD_GATEWAY, k, "not an HTTP/1 response");
            goto fail;
        }
    }
    if (len >= L->head) {
        rc =
            corio__http_fail(&o->error, -EMSGSIZE, BAD_GATEWAY, L->head, "response head too large");
        goto fail;
    }
    if (state != NULL)
        *state = n;
    return -EAGAIN;
fail:
    if (state != NULL)
        *state = 0;
    return rc;
}

int corio_http_parse_response(const char *buf, size_t len, size_t *state,
                              const struct corio_http_limits *lim,
                              struct corio_http_response_head *out)
{
    struct corio__http_lim L;
    size_t st = state != NULL ? *state : 0;
    int rc;

    corio__http_lim_resolve(lim, &L);
    size_t n = len < L.head ? len : L.head;
    reset_response(out);
    if (st != 0 && st <= n && corio__http_find_stop(buf, st >= 3 ? st - 3 : 0, n) == 0)
        return response_early(buf, len, n, &L, state, out);
    rc = response_full(buf, n, &L, out);
    if (rc != -EAGAIN) {
        if (state != NULL)
            *state = 0;
        return rc;
    }
    reset_response(out);
    return response_early(buf, len, n, &L, state, out);
}

/* ---- helpers -------------------------------------------------------------------------------- */

const struct corio_http_header *corio_http_header_find(const struct corio_http_header *h, size_t n,
                                                       const char *name)
{
    size_t len = strlen(name);

    for (size_t i = 0; i < n; i++) {
        if (h[i].name.len != len)
            continue;
        size_t k = 0;
        while (k < len && corio__http_lower((unsigned char)h[i].name.ptr[k]) ==
                              corio__http_lower((unsigned char)name[k]))
            k++;
        if (k == len)
            return &h[i];
    }
    return NULL;
}

const char *corio_http_method_str(enum corio_http_method m)
{
    static const char *const names[] = {
        [CORIO_HTTP_GET] = "GET",         [CORIO_HTTP_HEAD] = "HEAD",
        [CORIO_HTTP_POST] = "POST",       [CORIO_HTTP_PUT] = "PUT",
        [CORIO_HTTP_DELETE] = "DELETE",   [CORIO_HTTP_CONNECT] = "CONNECT",
        [CORIO_HTTP_OPTIONS] = "OPTIONS", [CORIO_HTTP_TRACE] = "TRACE",
        [CORIO_HTTP_PATCH] = "PATCH",
    };

    if ((unsigned)m >= sizeof names / sizeof names[0] || names[m] == NULL)
        return "";
    return names[m];
}
