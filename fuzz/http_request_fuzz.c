/* SPDX-License-Identifier: MIT */
/* libFuzzer target for the request head parser (src/http/parser.c), also run as the replay test
 * fuzz_regress_http_request over fuzz/corpus/http_request/ and fuzz/regress/http_request/.
 *
 * The input is a byte stream sent by a client. Under two sets of limits (the defaults, and tight
 * ones that make 413/414/431 reachable), it checks:
 *  - one-shot parse of the whole input in an exact-size copy: invariants of the result (views
 *    inside the head, field syntax, framing facts consistent, error status one of the
 *    documented ones with a reason and an offset inside the input);
 *  - incremental parse, one byte at a time with the state word carried: every answer equals a
 *    fresh one-shot parse of the same prefix, checked at the first answer that is not -EAGAIN
 *    and at one pseudo-random prefix, and at the end if all were -EAGAIN;
 *  - pipelining: after a successful head, the body is skipped (Content-Length, or decoded when
 *    chunked) and the next request is parsed, up to 8 requests.
 */
#include "http_common.h"

static const int statuses[] = {400, 413, 414, 431, 501, 505, 0};

#define CAP 24

static int oneshot(const char *b, size_t n, const struct corio_http_limits *lim,
                   struct corio_http_request_head *h, struct fz_text *t)
{
    static struct corio_http_header hd[CAP];
    *h = (struct corio_http_request_head){.headers = hd, .headers_cap = CAP};
    int rc = corio_http_parse_request(b, n, NULL, lim, h);
    fz_request(t, rc, h, b, n);
    return rc;
}

static void check_success(int rc, const struct corio_http_request_head *h, const char *b, size_t n)
{
    size_t len = (size_t)rc;
    if (len > n || len < 4 || memcmp(b + len - 4, "\r\n\r\n", 4) != 0)
        fz_die("head length %d of %zu does not end in CRLFCRLF", rc, n);
    if (!fz_inside(h->method_name, b, len) || h->method_name.len == 0 ||
        !fz_inside(h->target, b, len) || h->target.len == 0 || !fz_inside(h->query, b, len) ||
        !fz_inside(h->authority, b, len) || !fz_inside(h->host, b, len))
        fz_die("request-line view outside the head");
    if (!fz_inside(h->path, b, len) && !(h->path.len == 1 && h->path.ptr[0] == '/'))
        fz_die("path outside the head");
    if (h->minor_version != 0 && h->minor_version != 1)
        fz_die("minor version %d", h->minor_version);
    if (h->content_length < -1 || (h->chunked && h->content_length != -1))
        fz_die("framing: cl %lld chunked %d", (long long)h->content_length, h->chunked);
    if (h->num_headers > h->headers_cap)
        fz_die("num_headers %zu > cap", h->num_headers);
    if (h->minor_version == 1 && h->host.ptr == NULL)
        fz_die("HTTP/1.1 without host");
    fz_check_fields(h->headers, h->num_headers, b, len);
}

/* Byte-at-a-time with state over data[0..n), up to the first answer that is not -EAGAIN, which
 * must equal a fresh one-shot parse of that prefix; so must the answer at prefix `probe`. */
static void incremental(const uint8_t *data, size_t n, const struct corio_http_limits *lim,
                        size_t probe)
{
    static struct corio_http_header hd[CAP];
    struct corio_http_request_head h = {.headers = hd, .headers_cap = CAP}, o;
    static struct fz_text a, b;
    size_t st = 0, k;
    int rc = -EAGAIN;

    for (k = 0; k <= n; k++) {
        rc = corio_http_parse_request((const char *)data, k, &st, lim, &h);
        if (k == probe || rc != -EAGAIN) {
            fz_request(&a, rc, &h, (const char *)data, k);
            char *c = fz_copy(data, k); /* the text has offsets: bases may differ */
            oneshot(c, k, lim, &o, &b);
            free(c);
            if (strcmp(a.buf, b.buf) != 0)
                fz_die("prefix %zu: incremental\n  %s\none-shot\n  %s", k, a.buf, b.buf);
        }
        if (rc != -EAGAIN)
            break;
    }
}

static void pipeline(const uint8_t *data, size_t n, const struct corio_http_limits *lim)
{
    static struct fz_text t;
    size_t off = 0;

    for (int i = 0; i < 8 && off < n; i++) {
        struct corio_http_request_head h;
        char *c = fz_copy(data + off, n - off);
        int rc = oneshot(c, n - off, lim, &h, &t);
        fz_check_error(rc, &h.error, n - off, statuses);
        if (rc > 0)
            check_success(rc, &h, c, n - off);
        if (rc <= 0) {
            free(c);
            return;
        }
        off += (size_t)rc;
        if (h.chunked) {
            struct corio_http_chunked d;
            size_t in = n - off, out = 0;
            corio_http_chunked_init(&d, lim);
            int drc = corio_http_chunked_decode(&d, c + rc, &in, NULL, &out);
            if (in > n - off || d.body_bytes != out)
                fz_die("chunked: consumed %zu of %zu, %llu bytes vs %zu", in, n - off,
                       (unsigned long long)d.body_bytes, out);
            off += in;
            if (drc != 1) {
                free(c);
                return;
            }
        } else if (h.content_length > 0) {
            if ((uint64_t)h.content_length > n - off) {
                free(c);
                return;
            }
            off += (size_t)h.content_length;
        }
        free(c);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct corio_http_limits tight = {.max_head_bytes = 200,
                                                   .max_target_len = 40,
                                                   .max_headers = 6,
                                                   .max_body = 1000,
                                                   .max_chunk_ext = 16,
                                                   .max_trailer_bytes = 64};
    const struct corio_http_limits *lims[] = {NULL, &tight};
    size_t probe = size ? (size_t)(fz_hash(data, size) % size) : 0;

    for (int i = 0; i < 2; i++) {
        pipeline(data, size, lims[i]);
        incremental(data, size, lims[i], probe);
    }
    return 0;
}
