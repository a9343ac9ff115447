/* SPDX-License-Identifier: MIT */
/* libFuzzer target for percent-decoding and query iteration (src/http/query.c), also run as the
 * replay test fuzz_regress_http_query.
 *
 * The input is a query string. Checked: corio_http_pct_decode() under every flag combination
 * agrees in place and out of place, never lengthens, fails exactly when a '%' lacks two hex
 * digits (or, with NO_NUL, decodes to NUL), and matches a naive reference decoder; the query
 * iterator yields pairs in order, inside the input, without '&' in them and without '=' in keys,
 * covering every non-empty '&'-separated piece; corio_http_query_get() on each decodable key
 * returns the value of the first pair with that decoded key.
 */
#include "http_common.h"

static int hexv(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* The obvious decoder, for reference. */
static long ref_decode(char *dst, const char *s, size_t n, unsigned flags)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%') {
            if (n - i < 3)
                return -1;
            int a = hexv((unsigned char)s[i + 1]), b = hexv((unsigned char)s[i + 2]);
            if (a < 0 || b < 0)
                return -1;
            if (a == 0 && b == 0 && (flags & CORIO_HTTP_PCT_NO_NUL))
                return -1;
            dst[o++] = (char)(a * 16 + b);
            i += 2;
        } else {
            dst[o++] = (flags & CORIO_HTTP_PCT_PLUS) && s[i] == '+' ? ' ' : s[i];
        }
    }
    return (long)o;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *in = fz_copy(data, size), *a = malloc(size + 1), *b = malloc(size + 1);
    char *c = malloc(size + 1);

    for (unsigned flags = 0; flags < 4; flags++) {
        ssize_t r1 = corio_http_pct_decode(a, in, size, flags);
        memcpy(b, in, size);
        ssize_t r2 = corio_http_pct_decode(b, b, size, flags);
        long r3 = ref_decode(c, in, size, flags);
        if (r1 != r2 || (r1 < 0) != (r3 < 0) || (r1 >= 0 && r1 != r3) || r1 > (ssize_t)size)
            fz_die("flags %u: decode %zd, in place %zd, reference %ld", flags, r1, r2, r3);
        if (r1 > 0 && (memcmp(a, b, (size_t)r1) != 0 || memcmp(a, c, (size_t)r1) != 0))
            fz_die("flags %u: outputs differ", flags);
        if (r1 < 0 && r1 != -EINVAL)
            fz_die("rc %zd", r1);
    }

    struct corio_http_query_iter it;
    struct corio_http_str k, v, got;
    struct corio_http_str q = {in, size};
    size_t pieces = 0, pairs = 0;
    for (size_t i = 0; i < size;) {
        const char *amp = memchr(in + i, '&', size - i);
        size_t e = amp ? (size_t)(amp - in) : size;
        pieces += e > i;
        i = e + 1;
    }
    const char *last = in;
    corio_http_query_init(&it, q);
    while (corio_http_query_next(&it, &k, &v)) {
        pairs++;
        if (!fz_inside(k, in, size) || !fz_inside(v, in, size) || v.ptr == NULL || k.ptr < last)
            fz_die("pair %zu outside or out of order", pairs);
        if (memchr(k.ptr, '&', k.len) || memchr(v.ptr, '&', v.len) || memchr(k.ptr, '=', k.len))
            fz_die("pair %zu holds a separator", pairs);
        if (k.len + v.len == 0 && v.ptr != k.ptr + k.len + 1)
            fz_die("empty pair yielded");
        last = v.ptr + v.len;
        if (pairs > 64)
            continue;
        /* Lookup by the decoded key must find the first pair with that decoded key. */
        ssize_t dk = corio_http_pct_decode(a, k.ptr, k.len, CORIO_HTTP_PCT_PLUS);
        if (dk < 0 || memchr(a, '\0', (size_t)dk) != NULL)
            continue;
        a[dk] = '\0';
        if (!corio_http_query_get(q, a, &got))
            fz_die("key '%s' not found", a);
        struct corio_http_query_iter it2;
        struct corio_http_str k2, v2;
        corio_http_query_init(&it2, q);
        while (corio_http_query_next(&it2, &k2, &v2)) {
            ssize_t d2 = corio_http_pct_decode(b, k2.ptr, k2.len, CORIO_HTTP_PCT_PLUS);
            if (d2 == dk && memcmp(a, b, (size_t)dk) == 0)
                break;
        }
        if (got.ptr != v2.ptr || got.len != v2.len)
            fz_die("lookup of '%s' found another pair", a);
    }
    if (pairs != pieces)
        fz_die("%zu pairs for %zu pieces", pairs, pieces);
    free(in);
    free(a);
    free(b);
    free(c);
    return 0;
}
