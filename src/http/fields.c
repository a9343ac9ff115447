/* SPDX-License-Identifier: MIT */
/* http/fields.c: what request heads, response heads and trailer sections share: the byte-class
 * table, limits, the search for a "stop" (see parser.c), the fast scanners, and the field-line
 * parser with the framing facts it gathers (struct corio__http_fields in parser_int.h).
 *
 * The field loop is one forward pass, picohttpparser style: name (token bytes), ':', OWS, value
 * (checked 16 bytes at a time with SSE2 where the CPU has it), CRLF; every byte is checked as it
 * is passed over and the first bad one is reported. Facts are only recorded here; judging them
 * (duplicates, conflicts, limits) is left to the caller once the section is complete, so syntax
 * errors always come first. Nothing here allocates or keeps state between calls.
 */
#include "http/parser_int.h"

#include <string.h>

#if defined(__SSE2__) && !defined(CORIO_HTTP_SCALAR)
#include <emmintrin.h>
#define USE_SSE2 1
#endif

/* ---- byte classes ---------------------------------------------------------------------------
 * Built by the compiler from the RFC definitions, so the table cannot drift from them. */
#define C_ALPHA(c) (((c) >= 'A' && (c) <= 'Z') || ((c) >= 'a' && (c) <= 'z'))
#define C_DIGIT(c) ((c) >= '0' && (c) <= '9')
#define C_VCHAR(c) ((c) >= 0x21 && (c) <= 0x7e)
#define C_TCHAR(c)                                                                                 \
    (C_ALPHA(c) || C_DIGIT(c) || (c) == '!' || (c) == '#' || (c) == '$' || (c) == '%' ||           \
     (c) == '&' || (c) == '\'' || (c) == '*' || (c) == '+' || (c) == '-' || (c) == '.' ||          \
     (c) == '^' || (c) == '_' || (c) == '`' || (c) == '|' || (c) == '~')
#define C_VALUE(c) (C_VCHAR(c) || (c) >= 0x80 || (c) == ' ' || (c) == '\t')
#define C_TARGET(c) (C_VCHAR(c) && (c) != '#' && (c) != '%' && (c) != '?')
#define C_HEX(c) (C_DIGIT(c) || ((c) >= 'a' && (c) <= 'f') || ((c) >= 'A' && (c) <= 'F'))
#define C_UNRESERVED(c)                                                                            \
    (C_ALPHA(c) || C_DIGIT(c) || (c) == '-' || (c) == '.' || (c) == '_' || (c) == '~')
#define C_SUBDELIM(c)                                                                              \
    ((c) == '!' || (c) == '$' || (c) == '&' || (c) == '\'' || (c) == '(' || (c) == ')' ||          \
     (c) == '*' || (c) == '+' || (c) == ',' || (c) == ';' || (c) == '=')
#define C_QDTEXT(c)                                                                                \
    ((c) == '\t' || (c) == ' ' || (c) == 0x21 || ((c) >= 0x23 && (c) <= 0x5b) ||                   \
     ((c) >= 0x5d && (c) <= 0x7e) || (c) >= 0x80)
#define CLS(c)                                                                                     \
    ((C_TCHAR(c) ? CORIO__HTTP_TCHAR : 0) | (C_VALUE(c) ? CORIO__HTTP_VALUE : 0) |                 \
     (C_TARGET(c) ? CORIO__HTTP_TARGET : 0) | (C_HEX(c) ? CORIO__HTTP_HEX : 0) |                   \
     ((C_UNRESERVED(c) || C_SUBDELIM(c)) ? CORIO__HTTP_HOST : 0) |                                 \
     (C_QDTEXT(c) ? CORIO__HTTP_QDTEXT : 0))
#define ROW(b)                                                                                     \
    CLS(b + 0), CLS(b + 1), CLS(b + 2), CLS(b + 3), CLS(b + 4), CLS(b + 5), CLS(b + 6),            \
        CLS(b + 7), CLS(b + 8), CLS(b + 9), CLS(b + 10), CLS(b + 11), CLS(b + 12), CLS(b + 13),    \
        CLS(b + 14), CLS(b + 15)

const unsigned char corio__http_cls[256] = {
    ROW(0x00), ROW(0x10), ROW(0x20), ROW(0x30), ROW(0x40), ROW(0x50), ROW(0x60), ROW(0x70),
    ROW(0x80), ROW(0x90), ROW(0xa0), ROW(0xb0), ROW(0xc0), ROW(0xd0), ROW(0xe0), ROW(0xf0),
};

#define IS(c, cls) corio__http_is((unsigned char)(c), (cls))

/* ---- limits and small helpers --------------------------------------------------------------- */

void corio__http_lim_resolve(const struct corio_http_limits *in, struct corio__http_lim *o)
{
    static const struct corio_http_limits defaults;

    if (in == NULL)
        in = &defaults;
    o->head = in->max_head_bytes ? in->max_head_bytes : CORIO_HTTP_DEFAULT_MAX_HEAD_BYTES;
    if (o->head > CORIO_HTTP_MAX_HEAD_BYTES_CAP) /* results are int; keep far from INT_MAX */
        o->head = CORIO_HTTP_MAX_HEAD_BYTES_CAP;
    o->target = in->max_target_len ? in->max_target_len : CORIO_HTTP_DEFAULT_MAX_TARGET_LEN;
    o->headers = in->max_headers ? in->max_headers : CORIO_HTTP_DEFAULT_MAX_HEADERS;
    o->body = in->max_body ? in->max_body : CORIO_HTTP_DEFAULT_MAX_BODY;
    o->ext = in->max_chunk_ext ? in->max_chunk_ext : CORIO_HTTP_DEFAULT_MAX_CHUNK_EXT;
    o->trailer =
        in->max_trailer_bytes ? in->max_trailer_bytes : CORIO_HTTP_DEFAULT_MAX_TRAILER_BYTES;
}

size_t corio__http_find_stop(const char *buf, size_t from, size_t n)
{
    for (size_t k = from; k < n; k++) {
        if (buf[k] == '\n') {
            if (k == 0 || buf[k - 1] != '\r')
                return k + 1; /* bare LF */
            if (k >= 3 && buf[k - 2] == '\n' && buf[k - 3] == '\r')
                return k + 1; /* CRLFCRLF */
        } else if (buf[k] == '\r' && k + 1 < n && buf[k + 1] != '\n') {
            return k + 1; /* bare CR */
        }
    }
    return 0;
}

/* ---- fast scanners ----------------------------------------------------------------------------
 * Each returns the offset of the first byte in [i, n) that is not of its class (n if none).
 * The SSE2 loops only load 16 bytes that lie inside [i, n): nothing is read past the caller's
 * buffer, which the guard-page test checks. */

size_t corio__http_skip_value(const char *b, size_t i, size_t n)
{
#ifdef USE_SSE2
    const __m128i c1f = _mm_set1_epi8(0x1f), tab = _mm_set1_epi8('\t'), del = _mm_set1_epi8(0x7f);
    while (n - i >= 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(b + i));
        __m128i ctl = _mm_cmpeq_epi8(_mm_min_epu8(v, c1f), v); /* v <= 0x1f, unsigned */
        ctl = _mm_andnot_si128(_mm_cmpeq_epi8(v, tab), ctl);
        ctl = _mm_or_si128(ctl, _mm_cmpeq_epi8(v, del));
        unsigned m = (unsigned)_mm_movemask_epi8(ctl);
        if (m != 0)
            return i + (size_t)__builtin_ctz(m);
        i += 16;
    }
#endif
    while (i < n && IS(b[i], CORIO__HTTP_VALUE))
        i++;
    return i;
}

size_t corio__http_skip_token(const char *b, size_t i, size_t n)
{
    while (n - i >= 4 && IS(b[i], CORIO__HTTP_TCHAR) && IS(b[i + 1], CORIO__HTTP_TCHAR) &&
           IS(b[i + 2], CORIO__HTTP_TCHAR) && IS(b[i + 3], CORIO__HTTP_TCHAR))
        i += 4;
    while (i < n && IS(b[i], CORIO__HTTP_TCHAR))
        i++;
    return i;
}

/* A value compared with a lowercase literal, ASCII case-insensitively. */
static bool value_ieq(struct corio_http_str s, const char *lit)
{
    size_t n = strlen(lit);
    if (s.len != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (corio__http_lower((unsigned char)s.ptr[i]) != (unsigned char)lit[i])
            return false;
    return true;
}

/* ---- field sections ---------------------------------------------------------------------------
 */

/* Transfer-Encoding: one line's elements appended to the running list. An element with
 * parameters is a coding we do not know (chunked takes none), and parameters may hold quoted
 * commas, so the rest of that line is not looked at: the message is refused either way. */
static void note_te(struct corio__http_fields *f, struct corio_http_str v)
{
    const char *p = v.ptr, *e = v.ptr + v.len;
    bool any = false;

    while (p < e) {
        if (*p == ',' || corio__http_is_ows(*p)) {
            p++;
            continue;
        }
        const char *t = p;
        p += corio__http_skip_token(p, 0, (size_t)(e - p));
        if (p == t) {
            f->te_bad = true;
            return;
        }
        bool chunked = p - t == 7 && corio__http_name_is(t, "chunked", 7);
        while (p < e && corio__http_is_ows(*p))
            p++;
        any = true;
        if (p < e && *p == ';') {
            if (chunked)
                f->te_bad = true;
            f->te_unknown = true;
            f->te_last_chunked = false;
            return;
        }
        if (p < e && *p != ',') {
            f->te_bad = true;
            return;
        }
        if (chunked)
            f->te_chunked++;
        else
            f->te_unknown = true;
        f->te_last_chunked = chunked;
    }
    if (!any)
        f->te_bad = true; /* 1#transfer-coding: at least one */
}

/* Connection: a list of tokens; we act on close, keep-alive and upgrade. */
static void note_connection(struct corio__http_fields *f, struct corio_http_str v, size_t off)
{
    const char *p = v.ptr, *e = v.ptr + v.len;

    while (p < e) {
        if (*p == ',' || corio__http_is_ows(*p)) {
            p++;
            continue;
        }
        const char *t = p;
        p += corio__http_skip_token(p, 0, (size_t)(e - p));
        size_t n = (size_t)(p - t);
        while (p < e && corio__http_is_ows(*p))
            p++;
        if (n == 0 || (p < e && *p != ',')) {
            if (!f->conn_bad)
                f->conn_off = off;
            f->conn_bad = true;
            return;
        }
        if (n == 5 && corio__http_name_is(t, "close", 5))
            f->conn_close = true;
        else if (n == 10 && corio__http_name_is(t, "keep-alive", 10))
            f->conn_keep_alive = true;
        else if (n == 7 && corio__http_name_is(t, "upgrade", 7))
            f->conn_upgrade = true;
    }
}

static void note_special(struct corio__http_fields *f, size_t off)
{
    if (!f->special) {
        f->special = true;
        f->special_off = off;
    }
}

/* Records what one field line means for framing. Dispatch on the name's length first: most
 * fields (User-Agent, Accept, Cookie...) are rejected by one switch. */
static void note_field(struct corio__http_fields *f, const char *name, size_t nlen,
                       struct corio_http_str v, size_t off)
{
    switch (nlen) {
    case 2:
        if (corio__http_name_is(name, "te", 2))
            note_special(f, off);
        return;
    case 4:
        if (!corio__http_name_is(name, "host", 4))
            return;
        if (f->host_count++ == 0) {
            f->host = v;
            f->host_off = off;
        } else if (f->host_count == 2) {
            f->host_dup_off = off;
        }
        break;
    case 6:
        if (!corio__http_name_is(name, "expect", 6))
            return;
        if (value_ieq(v, "100-continue"))
            f->expect_continue = true;
        break;
    case 7:
        if (corio__http_name_is(name, "upgrade", 7))
            f->upgrade = true;
        else if (!corio__http_name_is(name, "trailer", 7))
            return;
        break;
    case 10:
        if (corio__http_name_is(name, "connection", 10))
            note_connection(f, v, off);
        else if (!corio__http_name_is(name, "keep-alive", 10))
            return;
        break;
    case 14:
        if (!corio__http_name_is(name, "content-length", 14))
            return;
        if (f->cl_count++ == 0) {
            f->cl = v;
            f->cl_off = off;
        } else if (f->cl_count == 2) {
            f->cl_dup_off = off;
        }
        break;
    case 17:
        if (!corio__http_name_is(name, "transfer-encoding", 17))
            return;
        if (f->te_count++ == 0)
            f->te_off = off;
        note_te(f, v);
        break;
    default:
        return;
    }
    note_special(f, off);
}

/* The field-line loop; see parser_int.h. One iteration per line: name, ':', OWS, value, CRLF. */
int corio__http_parse_fields(const char *b, size_t n, size_t *pos, struct corio__http_fields *f,
                             struct corio_http_error *err)
{
    size_t p = *pos;

    for (;;) {
        if (p >= n)
            return -EAGAIN;
        size_t line = p;
        unsigned char c = (unsigned char)b[p];
        if (c == '\r') {
            if (p + 1 == n)
                return -EAGAIN;
            if (b[p + 1] != '\n')
                return corio__http_fail(err, -EPROTO, 400, p, "bare CR in header section");
            *pos = p + 2;
            return 0;
        }
        p = corio__http_skip_token(b, p, n);
        if (p == n)
            return -EAGAIN;
        if (CORIO__HTTP_UNLIKELY(b[p] != ':' || p == line)) {
            const char *why = "invalid character in header name";
            if (p == line && corio__http_is_ows(b[p]))
                why = "whitespace at the start of a field line (obs-fold)";
            else if (p == line && b[p] == ':')
                why = "empty header name";
            else if (corio__http_is_ows(b[p]))
                why = "whitespace between header name and colon";
            else if (b[p] == '\n')
                why = "bare LF in header section";
            else if (b[p] == '\r')
                why = "header line without a colon";
            return corio__http_fail(err, -EPROTO, 400, p, why);
        }
        size_t nlen = p - line;
        p++;
        while (p < n && corio__http_is_ows(b[p]))
            p++;
        size_t v = p;
        p = corio__http_skip_value(b, p, n);
        if (p == n)
            return -EAGAIN;
        if (CORIO__HTTP_UNLIKELY(b[p] != '\r')) {
            return corio__http_fail(err, -EPROTO, 400, p,
                                    b[p] == '\n' ? "bare LF in header section"
                                                 : "invalid character in header value");
        }
        if (p + 1 == n)
            return -EAGAIN;
        if (CORIO__HTTP_UNLIKELY(b[p + 1] != '\n'))
            return corio__http_fail(err, -EPROTO, 400, p, "bare CR in header value");
        size_t e = p;
        while (e > v && corio__http_is_ows(b[e - 1]))
            e--;
        struct corio_http_str val = {b + v, e - v};
        if (f->count < f->cap)
            f->hdrs[f->count] = (struct corio_http_header){{b + line, nlen}, val};
        if (f->count++ == f->max)
            f->excess_off = line;
        note_field(f, b + line, nlen, val, line);
        p += 2;
    }
}
