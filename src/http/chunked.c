/* SPDX-License-Identifier: MIT */
/* http/chunked.c: the chunked transfer-coding decoder (RFC 9112 section 7.1; contract and rules
 * in corio/http_parser.h).
 *
 * A byte-driven state machine for the framing (chunk-size, extensions, CRLFs) with a bulk copy
 * for chunk data, so it accepts the stream split anywhere: every piece of state that spans
 * calls lives in struct corio_http_chunked, never in the caller's buffer. The one exception is
 * the trailer section, which is left unconsumed until its end (CRLFCRLF, or a bare CR or LF,
 * which decides it too) is in the input and is
 * then parsed in one piece by the same field parser as heads, so trailer views can point into
 * the caller's buffer; `_scan` remembers how far the search for its end got, so a trickled
 * trailer is not rescanned.
 *
 * Invariants: `_pos` counts the stream bytes consumed by earlier calls, so error offsets are
 * stream offsets whatever the split; in S_DATA `_left` > 0 is the data still owed by the
 * current chunk; body_bytes never exceeds `_max_body` (the check happens when the chunk-size
 * is read, before any of its data); the write position never passes the read position, which
 * is what makes out == in safe. Deliberately not done: decoding content codings, or merging
 * trailers into the head (forbidden fields are refused instead, see corio/http_parser.h).
 */
#include "http/parser_int.h"

#include <string.h>

enum {
    S_SIZE0,       /* first hex digit of a chunk-size */
    S_SIZE,        /* further hex digits, or what follows them */
    S_EXT_WS,      /* BWS that must lead to ';' */
    S_EXT_NAME0,   /* BWS after ';', then ext-name */
    S_EXT_NAME,    /* in ext-name */
    S_EXT_NAME_WS, /* BWS after ext-name: '=' or ';' must follow */
    S_EXT_VAL0,    /* BWS after '=', then token or quoted-string */
    S_EXT_TOKEN,   /* in a token ext-val */
    S_EXT_QUOTED,  /* in a quoted-string ext-val */
    S_EXT_QPAIR,   /* after a backslash in it */
    S_EXT_END,     /* after the closing quote */
    S_SIZE_LF,     /* CR seen at the end of the chunk-size line */
    S_DATA,        /* _left data bytes to go */
    S_DATA_CR,     /* CRLF after chunk data */
    S_DATA_LF,
    S_TRAILER, /* trailer section, parsed once complete */
    S_DONE,
    S_ERROR,
};

void corio_http_chunked_init(struct corio_http_chunked *d, const struct corio_http_limits *lim)
{
    struct corio__http_lim L;

    corio__http_lim_resolve(lim, &L);
    *d = (struct corio_http_chunked){
        ._max_body = L.body,
        ._ext_left = L.ext,
        ._max_trailer = L.trailer,
        ._max_fields = L.headers,
        ._state = S_SIZE0,
    };
}

static int fail(struct corio_http_chunked *d, int rc, int status, size_t at, const char *why)
{
    d->_state = S_ERROR;
    return corio__http_fail(&d->error, rc, status, (size_t)d->_pos + at, why);
}

static bool is_ows(unsigned char c)
{
    return c == ' ' || c == '\t';
}

/* One byte of a chunk-size line (everything but S_SIZE_LF's LF). Returns 0 or an error. */
static int size_line_byte(struct corio_http_chunked *d, unsigned char c, size_t at)
{
    unsigned s = d->_state;

    if (s == S_SIZE0 || s == S_SIZE) {
        if (corio__http_is(c, CORIO__HTTP_HEX)) {
            if (d->_digits == 16)
                return fail(d, -EPROTO, 400, at, "chunk size too long");
            d->_left = d->_left << 4 | (uint64_t)corio__http_hexval(c);
            d->_digits++;
            d->_state = S_SIZE;
            return 0;
        }
        if (s == S_SIZE0)
            return fail(d, -EPROTO, 400, at, "invalid chunk size");
        /* The size is complete: refuse an oversized body before any of its data. */
        if (d->_left > d->_max_body - d->body_bytes)
            return fail(d, -EMSGSIZE, 413, at, "body too large");
        if (c == '\r') {
            d->_state = S_SIZE_LF;
            return 0;
        }
        if (c == ';')
            s = S_EXT_NAME0;
        else if (is_ows(c))
            s = S_EXT_WS;
        else
            return fail(d, -EPROTO, 400, at,
                        c == '\n' ? "bare LF in chunk header" : "invalid chunk size");
    } else if (c == '\r' && (s == S_EXT_NAME || s == S_EXT_TOKEN || s == S_EXT_END)) {
        d->_state = S_SIZE_LF;
        return 0;
    } else {
        bool ok = true, tchar = corio__http_is(c, CORIO__HTTP_TCHAR);
        switch (s) {
        case S_EXT_WS:
            s = c == ';' ? S_EXT_NAME0 : s;
            ok = c == ';' || is_ows(c);
            break;
        case S_EXT_NAME0:
            s = tchar ? S_EXT_NAME : s;
            ok = tchar || is_ows(c);
            break;
        case S_EXT_NAME:
            if (c == '=')
                s = S_EXT_VAL0;
            else if (c == ';')
                s = S_EXT_NAME0;
            else if (is_ows(c))
                s = S_EXT_NAME_WS;
            else
                ok = tchar;
            break;
        case S_EXT_NAME_WS:
            if (c == '=')
                s = S_EXT_VAL0;
            else if (c == ';')
                s = S_EXT_NAME0;
            else
                ok = is_ows(c);
            break;
        case S_EXT_VAL0:
            if (c == '"')
                s = S_EXT_QUOTED;
            else if (tchar)
                s = S_EXT_TOKEN;
            else
                ok = is_ows(c);
            break;
        case S_EXT_TOKEN:
        case S_EXT_END:
            if (c == ';')
                s = S_EXT_NAME0;
            else if (is_ows(c))
                s = S_EXT_WS;
            else
                ok = tchar && s == S_EXT_TOKEN;
            break;
        case S_EXT_QUOTED:
            if (c == '"')
                s = S_EXT_END;
            else if (c == '\\')
                s = S_EXT_QPAIR;
            else
                ok = corio__http_is(c, CORIO__HTTP_QDTEXT);
            break;
        case S_EXT_QPAIR: /* quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text ) */
            s = S_EXT_QUOTED;
            ok = corio__http_is(c, CORIO__HTTP_VALUE);
            break;
        }
        if (!ok)
            return fail(d, -EPROTO, 400, at,
                        c == '\n' ? "bare LF in chunk header" : "invalid chunk extension");
    }
    /* Every extension byte counts, summed over the body: extensions carry no data, so without
     * this a client could send unbounded bytes per data byte (CVE-2024-22019 in Node.js). */
    if (d->_ext_left == 0)
        return fail(d, -EMSGSIZE, 413, at, "chunk extensions too long");
    d->_ext_left--;
    d->_state = s;
    return 0;
}

/* The trailer section at in[0..avail): parsed once its end is there. Returns 1 with *used set,
 * 0 if more bytes are needed (nothing consumed), or an error. */
static int trailer(struct corio_http_chunked *d, const char *in, size_t avail, size_t at,
                   size_t *used)
{
    struct corio__http_fields f;
    size_t end = 0, m = avail < d->_max_trailer ? avail : d->_max_trailer;

    if (avail == 0)
        return 0;
    if (in[0] == '\r') { /* the usual empty section; a bare CR is refused at once */
        if (avail < 2)
            return 0;
        if (in[1] != '\n')
            return fail(d, -EPROTO, 400, at, "bare CR in trailer section");
        end = 2;
    } else if (!corio__http_is((unsigned char)in[0], CORIO__HTTP_TCHAR)) {
        return fail(d, -EPROTO, 400, at, "invalid character in trailer section");
    } else {
        end = corio__http_find_stop(in, d->_scan >= 3 ? d->_scan - 3 : 0, m);
        if (end == 0) {
            if (avail >= d->_max_trailer)
                return fail(d, -EMSGSIZE, 431, at + d->_max_trailer, "trailer section too large");
            d->_scan = avail;
            return 0;
        }
    }
    corio__http_fields_init(&f, d->trailers, d->trailers_cap, d->_max_fields);
    size_t pos = 0;
    int rc = corio__http_parse_fields(in, end, &pos, &f, &d->error);
    if (rc < 0) { /* -EAGAIN cannot happen: a stop always decides the parse */
        d->_state = S_ERROR;
        if (rc == -EAGAIN)
            corio__http_fail(&d->error, -EPROTO, 400, 0, "malformed trailer section");
        d->error.offset += (size_t)d->_pos + at;
        return -EPROTO;
    }
    if (f.count > f.max)
        return fail(d, -EMSGSIZE, 431, at + f.excess_off, "too many trailer fields");
    if (f.special)
        return fail(d, -EPROTO, 400, at + f.special_off, "forbidden field in trailer section");
    d->num_trailers = f.count < f.cap ? f.count : f.cap;
    *used = pos;
    return 1;
}

int corio_http_chunked_decode(struct corio_http_chunked *d, const char *in, size_t *in_len,
                              char *out, size_t *out_len)
{
    size_t avail = *in_len, cap = out != NULL ? *out_len : SIZE_MAX, i = 0, o = 0;
    int rc = 0;

    if (d->_state == S_DONE || d->_state == S_ERROR) {
        *in_len = 0;
        *out_len = 0;
        if (d->_state == S_DONE)
            return 1;
        return d->error.status == 400 ? -EPROTO : -EMSGSIZE;
    }
    while (i < avail) {
        switch (d->_state) {
        case S_DATA: {
            size_t k = avail - i;
            if (k > d->_left)
                k = (size_t)d->_left;
            if (k > cap - o)
                k = cap - o;
            if (k == 0)
                goto out; /* output full */
            if (out != NULL)
                memmove(out + o, in + i, k);
            i += k;
            o += k;
            d->_left -= k;
            d->body_bytes += k;
            if (d->_left == 0)
                d->_state = S_DATA_CR;
            continue;
        }
        case S_DATA_CR:
        case S_DATA_LF: {
            char want = d->_state == S_DATA_CR ? '\r' : '\n';
            if (in[i] != want) {
                rc = fail(d, -EPROTO, 400, i, "missing CRLF after chunk data");
                goto out;
            }
            d->_state = d->_state == S_DATA_CR ? S_DATA_LF : S_SIZE0;
            if (d->_state == S_SIZE0) {
                d->_left = 0;
                d->_digits = 0;
            }
            i++;
            continue;
        }
        case S_SIZE_LF:
            if (in[i] != '\n') {
                rc = fail(d, -EPROTO, 400, i, "bare CR in chunk header");
                goto out;
            }
            i++;
            d->_state = d->_left == 0 ? S_TRAILER : S_DATA;
            continue;
        case S_TRAILER: {
            size_t used = 0;
            rc = trailer(d, in + i, avail - i, i, &used);
            if (rc == 1) {
                i += used;
                d->_state = S_DONE;
                rc = 0;
            }
            goto out;
        }
        default:
            if ((rc = size_line_byte(d, (unsigned char)in[i], i)) < 0)
                goto out;
            i++;
            continue;
        }
    }
out:
    *in_len = i;
    *out_len = o;
    d->_pos += i;
    if (rc < 0)
        return rc;
    return d->_state == S_DONE ? 1 : 0;
}
