/* SPDX-License-Identifier: MIT */
/* http/parser_int.h: internals shared by the HTTP/1.1 codec files (parser.c, chunked.c,
 * query.c): the byte-class table, resolved limits, and the field-section parser that heads and
 * trailer sections both use, together with the facts it gathers about framing fields.
 *
 * Nothing here does I/O or allocates. The field parser reports syntax errors eagerly (at the
 * first bad byte it meets); whether such an error is shown to the caller yet is the business of
 * the head driver in parser.c, which makes the result a function of the bytes alone.
 */
#ifndef CORIO_HTTP_PARSER_INT_H
#define CORIO_HTTP_PARSER_INT_H

#include "corio/http_parser.h"

#include <errno.h>

#define CORIO__HTTP_LIKELY(x) __builtin_expect(!!(x), 1)
#define CORIO__HTTP_UNLIKELY(x) __builtin_expect(!!(x), 0)

/* Byte classes: corio__http_cls[c] is an OR of these. */
enum {
    CORIO__HTTP_TCHAR = 0x01,  /* token character (RFC 9110 section 5.6.2) */
    CORIO__HTTP_VALUE = 0x02,  /* field-content byte: HTAB, SP, VCHAR, obs-text */
    CORIO__HTTP_TARGET = 0x04, /* request-target byte needing no special care: VCHAR minus
                                  '#' (never sent), '%' (escape) and '?' (query start) */
    CORIO__HTTP_HEX = 0x08,    /* HEXDIG, either case */
    CORIO__HTTP_HOST = 0x10,   /* reg-name byte besides '%': unreserved / sub-delims */
    CORIO__HTTP_QDTEXT = 0x20, /* qdtext of a quoted-string */
};

extern const unsigned char corio__http_cls[256];

static inline bool corio__http_is(unsigned char c, unsigned cls)
{
    return (corio__http_cls[c] & cls) != 0;
}

static inline int corio__http_hexval(unsigned char c)
{
    return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10; /* only for bytes known to be HEXDIG */
}

/* Token names compared with a lowercase literal. For token bytes, c | 0x20 equals a lowercase
 * letter or '-' only if c is that letter in either case or '-', so this is exact. */
static inline bool corio__http_name_is(const char *p, const char *lower, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (((unsigned char)p[i] | 0x20) != (unsigned char)lower[i])
            return false;
    return true;
}

static inline unsigned char corio__http_lower(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c;
}

static inline bool corio__http_is_ows(char c)
{
    return c == ' ' || c == '\t';
}

/* The first offset in [i, n) of b whose byte is not a field-value byte (HTAB, SP, VCHAR,
 * obs-text), or n. Reads nothing outside [i, n). */
size_t corio__http_skip_value(const char *b, size_t i, size_t n);

/* The first offset in [i, n) of b whose byte is not a token byte, or n. */
size_t corio__http_skip_token(const char *b, size_t i, size_t n);

/* Limits with the defaults applied. */
struct corio__http_lim {
    size_t head, target, headers, ext, trailer;
    uint64_t body;
};

void corio__http_lim_resolve(const struct corio_http_limits *in, struct corio__http_lim *out);

static inline int corio__http_fail(struct corio_http_error *e, int rc, int status, size_t off,
                                   const char *reason)
{
    e->status = status;
    e->offset = off;
    e->reason = reason;
    return rc;
}

/* What a field section said about framing, as gathered line by line. Offsets are of the start
 * of the field line concerned. Invariant: counts include fields beyond the storage. */
struct corio__http_fields {
    struct corio_http_header *hdrs; /* storage (may be NULL) and its capacity */
    size_t cap;
    size_t count;      /* field lines seen */
    size_t excess_off; /* offset of field line number max + 1, if count > max */
    size_t max;        /* the count limit: min(cap if hdrs, limit) */

    unsigned cl_count, te_count, host_count;
    size_t cl_off, te_off, host_off;
    size_t cl_dup_off, host_dup_off; /* the second Content-Length / Host line */
    struct corio_http_str cl, host;  /* values of the first Content-Length / Host */

    /* Transfer-Encoding, all lines taken as one list in order. */
    unsigned te_chunked;  /* how many times "chunked" appeared */
    bool te_last_chunked; /* the last coding seen was "chunked" */
    bool te_unknown;      /* a coding other than chunked appeared */
    bool te_bad;          /* an element that is not a transfer-coding */

    bool conn_close, conn_keep_alive, conn_upgrade, conn_bad;
    size_t conn_off;

    bool expect_continue, upgrade;

    /* The first field that may not appear in a trailer section (any of the above, Keep-Alive,
     * TE, Trailer), for the chunked decoder. */
    bool special;
    size_t special_off;
};

/* Prepares f for a section whose lines go to hdrs[0..cap) (hdrs may be NULL) and which may
 * hold at most `limit` lines. */
static inline void corio__http_fields_init(struct corio__http_fields *f,
                                           struct corio_http_header *hdrs, size_t cap, size_t limit)
{
    /* Member by member: see reset_request() in parser.c for why not `*f = (struct ...){...}`. */
    f->hdrs = hdrs;
    f->cap = hdrs != NULL ? cap : 0;
    f->max = hdrs != NULL && cap < limit ? cap : limit;
    f->count = f->excess_off = 0;
    f->cl_count = f->te_count = f->host_count = 0;
    f->te_chunked = 0;
    f->te_last_chunked = f->te_unknown = f->te_bad = false;
    f->conn_close = f->conn_keep_alive = f->conn_upgrade = f->conn_bad = false;
    f->expect_continue = f->upgrade = f->special = false;
}

/* Parses field lines of buf[0..n) from *pos up to and including the empty line that ends the
 * section. Returns 0 with *pos just past that line, -EAGAIN if the bytes run out first, or
 * -EPROTO with *err set (status 400). Offsets in err and f are from buf. */
int corio__http_parse_fields(const char *buf, size_t n, size_t *pos, struct corio__http_fields *f,
                             struct corio_http_error *err);

/* Offset just past the first "stop" at or after `from` in buf[0..n), or 0 if there is none. A
 * stop is where a head (or trailer section) parse can be decided: the end of the section
 * (CRLFCRLF), or a bare LF or bare CR, which no valid section contains. Bytes before `from` are
 * looked at only as context (the CRs and LF before an LF), so an incremental caller passes
 * from = the old length minus 3 and finds exactly the stops the new bytes create. */
size_t corio__http_find_stop(const char *buf, size_t from, size_t n);

#endif /* CORIO_HTTP_PARSER_INT_H */
