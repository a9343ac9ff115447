/* SPDX-License-Identifier: MIT */
/* libFuzzer target for the response head parser (src/http/parser.c), also run as the replay
 * test fuzz_regress_http_response.
 *
 * The input is a byte stream sent by a server, parsed as the answer to a GET, a HEAD and a
 * CONNECT (the request method changes the framing) under the default and tight limits. Checked:
 * invariants of every result (views inside the head, field syntax, status 100..599, a body kind
 * consistent with status, method and framing fields; errors -EPROTO/-EMSGSIZE with status 502),
 * incremental byte-at-a-time parsing with the state word equal to fresh one-shot parses (at the
 * first answer and one pseudo-random prefix), and a 1xx response followed by the next head.
 */
#include "http_common.h"

static const int statuses[] = {502, 0};

#define CAP 24

static int oneshot(const char *b, size_t n, const struct corio_http_limits *lim,
                   enum corio_http_method m, struct corio_http_response_head *h, struct fz_text *t)
{
    static struct corio_http_header hd[CAP];
    *h = (struct corio_http_response_head){.headers = hd, .headers_cap = CAP, .request_method = m};
    int rc = corio_http_parse_response(b, n, NULL, lim, h);
    fz_response(t, rc, h, b, n);
    return rc;
}

static void check(int rc, const struct corio_http_response_head *h, const char *b, size_t n)
{
    fz_check_error(rc, &h->error, n, statuses);
    if (rc <= 0)
        return;
    size_t len = (size_t)rc;
    if (len > n || len < 4 || memcmp(b + len - 4, "\r\n\r\n", 4) != 0)
        fz_die("head length %d of %zu does not end in CRLFCRLF", rc, n);
    if (h->status < 100 || h->status > 599 || !fz_inside(h->reason, b, len) ||
        h->reason.ptr == NULL)
        fz_die("status line: %d", h->status);
    int s = h->status;
    bool none =
        h->request_method == CORIO_HTTP_HEAD || s / 100 == 1 || s == 204 || s == 304 || h->tunnel;
    if (none != (h->body == CORIO_HTTP_BODY_NONE))
        fz_die("body kind %d for status %d", (int)h->body, s);
    if (h->body == CORIO_HTTP_BODY_CHUNKED && !h->chunked)
        fz_die("chunked body without chunked");
    if (h->body == CORIO_HTTP_BODY_LENGTH && h->content_length < 0)
        fz_die("length body without length");
    if (h->body == CORIO_HTTP_BODY_CLOSE && (h->keep_alive || h->chunked || h->content_length >= 0))
        fz_die("close-delimited body but framing fields");
    if (h->chunked && h->content_length != -1)
        fz_die("chunked and length");
    if (h->num_headers > h->headers_cap)
        fz_die("num_headers");
    fz_check_fields(h->headers, h->num_headers, b, len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct corio_http_limits tight = {
        .max_head_bytes = 200, .max_headers = 6, .max_body = 1000};
    static const enum corio_http_method methods[] = {CORIO_HTTP_GET, CORIO_HTTP_HEAD,
                                                     CORIO_HTTP_CONNECT};
    const struct corio_http_limits *lims[] = {NULL, &tight};
    static struct fz_text a, b;
    static struct corio_http_header hd[CAP];
    size_t probe = size ? (size_t)(fz_hash(data, size) % size) : 0;

    for (int li = 0; li < 2; li++) {
        for (int mi = 0; mi < 3; mi++) {
            struct corio_http_response_head h;
            char *c = fz_copy(data, size);
            int rc = oneshot(c, size, lims[li], methods[mi], &h, &a);
            check(rc, &h, c, size);
            if (rc > 0 && h.status / 100 == 1 && h.status != 101) { /* interim: next head */
                int rc2 = oneshot(c + rc, size - (size_t)rc, lims[li], methods[mi], &h, &a);
                check(rc2, &h, c + rc, size - (size_t)rc);
            }
            free(c);
        }
        size_t st = 0;
        struct corio_http_response_head inc = {.headers = hd, .headers_cap = CAP};
        for (size_t k = 0; k <= size; k++) {
            int rc = corio_http_parse_response((const char *)data, k, &st, lims[li], &inc);
            if (k == probe || rc != -EAGAIN) {
                struct corio_http_response_head o;
                fz_response(&a, rc, &inc, (const char *)data, k);
                char *c = fz_copy(data, k);
                oneshot(c, k, lims[li], CORIO_HTTP_GET, &o, &b);
                free(c);
                if (strcmp(a.buf, b.buf) != 0)
                    fz_die("prefix %zu: incremental\n  %s\none-shot\n  %s", k, a.buf, b.buf);
            }
            if (rc != -EAGAIN)
                break;
        }
    }
    return 0;
}
