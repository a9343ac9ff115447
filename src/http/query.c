/* SPDX-License-Identifier: MIT */
/* http/query.c: percent-decoding (RFC 3986 section 2.1) and iteration over query strings and
 * application/x-www-form-urlencoded bodies (contract in corio/http_parser.h).
 *
 * Kept apart from the head parser on purpose: the parser hands out raw, still-encoded views,
 * and decoding happens only where a value is used, into storage the caller picked (often the
 * view itself, in place, since decoding never lengthens). Nothing here allocates. Invariant of
 * corio_http_pct_decode(): the write index never passes the read index, so dst == src is safe.
 */
#include "http/parser_int.h"

#include <string.h>

ssize_t corio_http_pct_decode(char *dst, const char *src, size_t len, unsigned flags)
{
    size_t i = 0, o = 0;

    while (i < len) {
        unsigned char c = (unsigned char)src[i];
        if (c == '%') {
            if (len - i < 3 || !corio__http_is((unsigned char)src[i + 1], CORIO__HTTP_HEX) ||
                !corio__http_is((unsigned char)src[i + 2], CORIO__HTTP_HEX))
                return -EINVAL;
            c = (unsigned char)(corio__http_hexval((unsigned char)src[i + 1]) << 4 |
                                corio__http_hexval((unsigned char)src[i + 2]));
            if (c == 0 && (flags & CORIO_HTTP_PCT_NO_NUL))
                return -EINVAL;
            i += 3;
        } else {
            if (c == '+' && (flags & CORIO_HTTP_PCT_PLUS))
                c = ' ';
            i++;
        }
        dst[o++] = (char)c;
    }
    return (ssize_t)o;
}

void corio_http_query_init(struct corio_http_query_iter *it, struct corio_http_str query)
{
    it->_p = query.ptr;
    it->_end = query.ptr != NULL ? query.ptr + query.len : NULL;
}

bool corio_http_query_next(struct corio_http_query_iter *it, struct corio_http_str *key,
                           struct corio_http_str *value)
{
    while (it->_p != NULL && it->_p < it->_end) {
        const char *p = it->_p;
        const char *amp = memchr(p, '&', (size_t)(it->_end - p));
        const char *e = amp != NULL ? amp : it->_end;
        it->_p = amp != NULL ? amp + 1 : it->_end;
        if (e == p)
            continue; /* "a&&b": empty pairs are skipped */
        const char *eq = memchr(p, '=', (size_t)(e - p));
        if (eq != NULL) {
            *key = (struct corio_http_str){p, (size_t)(eq - p)};
            *value = (struct corio_http_str){eq + 1, (size_t)(e - eq - 1)};
        } else {
            *key = (struct corio_http_str){p, (size_t)(e - p)};
            *value = (struct corio_http_str){e, 0};
        }
        return true;
    }
    return false;
}

/* Does the raw (encoded) key decode, with '+' as SP, to exactly the C string name? */
static bool key_is(struct corio_http_str raw, const char *name)
{
    const unsigned char *n = (const unsigned char *)name;
    size_t i = 0;

    while (i < raw.len) {
        unsigned char c = (unsigned char)raw.ptr[i];
        if (c == '%') {
            if (raw.len - i < 3 ||
                !corio__http_is((unsigned char)raw.ptr[i + 1], CORIO__HTTP_HEX) ||
                !corio__http_is((unsigned char)raw.ptr[i + 2], CORIO__HTTP_HEX))
                return false;
            c = (unsigned char)(corio__http_hexval((unsigned char)raw.ptr[i + 1]) << 4 |
                                corio__http_hexval((unsigned char)raw.ptr[i + 2]));
            i += 3;
        } else {
            c = c == '+' ? ' ' : c;
            i++;
        }
        if (*n == '\0' || c != *n)
            return false;
        n++;
    }
    return *n == '\0';
}

bool corio_http_query_get(struct corio_http_str query, const char *name,
                          struct corio_http_str *value)
{
    struct corio_http_query_iter it;
    struct corio_http_str k, v;

    corio_http_query_init(&it, query);
    while (corio_http_query_next(&it, &k, &v)) {
        if (key_is(k, name)) {
            *value = v;
            return true;
        }
    }
    return false;
}
