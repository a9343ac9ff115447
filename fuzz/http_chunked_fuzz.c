/* SPDX-License-Identifier: MIT */
/* libFuzzer target for the chunked body decoder (src/http/chunked.c), also run as the replay
 * test fuzz_regress_http_chunked.
 *
 * The input is the byte stream after a head that announced a chunked body. It is decoded four
 * ways, under the default and under tight limits, and all must agree on the return code, bytes
 * consumed, data decoded, error status/offset and trailers:
 *   whole     one call, in place (out == in), on an exact-size copy;
 *   bytewise  one byte at a time into a separate buffer, keeping unconsumed bytes (an
 *             incomplete trailer section) and presenting them again, as a server does;
 *   split     two pieces (cut at a pseudo-random point) into a tiny output buffer, so output
 *             space runs out mid-chunk;
 *   discard   one call with out == NULL.
 * Also: consumed <= size, decoded <= consumed, body_bytes == decoded, trailer views inside the
 * input and well-formed, and the sticky result of a further call.
 */
#include "http_common.h"

#define MAXT 8

struct res {
    struct fz_text t;
    int rc;
};

static void render(struct res *r, const struct corio_http_chunked *d, size_t used, const char *data,
                   size_t dlen, bool with_data)
{
    r->t.len = 0;
    r->t.buf[0] = '\0';
    fz_add(&r->t, "rc=%d used=%zu bytes=%llu out=%zu", r->rc, used,
           (unsigned long long)d->body_bytes, dlen);
    if (d->body_bytes != dlen)
        fz_die("body_bytes %llu != decoded %zu", (unsigned long long)d->body_bytes, dlen);
    if (with_data)
        fz_add(&r->t, " data=%016llx", (unsigned long long)fz_hash((const uint8_t *)data, dlen));
    if (r->rc < 0)
        fz_add(&r->t, " st=%d off=%zu why=%s", d->error.status, d->error.offset, d->error.reason);
    if (r->rc == 1) {
        fz_add(&r->t, " nt=%zu", d->num_trailers);
        for (size_t i = 0; i < d->num_trailers; i++)
            fz_add(&r->t, " [%.*s:%.*s]", (int)d->trailers[i].name.len, d->trailers[i].name.ptr,
                   (int)d->trailers[i].value.len, d->trailers[i].value.ptr);
    }
}

static void whole(const uint8_t *in, size_t n, const struct corio_http_limits *lim, bool discard,
                  struct res *r)
{
    static const int statuses[] = {400, 413, 431, 0};
    struct corio_http_chunked d;
    struct corio_http_header tr[MAXT];
    char *c = fz_copy(in, n);
    size_t used = n, out = n;

    corio_http_chunked_init(&d, lim);
    d.trailers = tr;
    d.trailers_cap = MAXT;
    r->rc = corio_http_chunked_decode(&d, c, &used, discard ? NULL : c, &out);
    if (used > n || out > used)
        fz_die("consumed %zu of %zu, wrote %zu", used, n, out);
    fz_check_error(r->rc < 0 ? r->rc : 1, &d.error, n, statuses);
    if (r->rc == 1)
        fz_check_fields(d.trailers, d.num_trailers, c, used);
    render(r, &d, used, c, out, !discard);
    size_t again = n - used, o2 = 0;
    int rc2 = corio_http_chunked_decode(&d, c + used, &again, NULL, &o2);
    if ((r->rc != 0 && rc2 != r->rc) || (r->rc != 0 && (again != 0 || o2 != 0)))
        fz_die("result not sticky: %d then %d", r->rc, rc2);
    free(c);
}

/* Delivers in[0..n) in pieces ending at cuts[] (then the rest), output `ocap` bytes per call. */
static void pieces(const uint8_t *in, size_t n, const struct corio_http_limits *lim,
                   const size_t *cuts, size_t ncuts, size_t ocap, struct res *r)
{
    struct corio_http_chunked d;
    struct corio_http_header tr[MAXT];
    char *pend = malloc(n + 1), *data = malloc(n + 1);
    size_t plen = 0, olen = 0, fed = 0, next = 0, used = 0;

    corio_http_chunked_init(&d, lim);
    d.trailers = tr;
    d.trailers_cap = MAXT;
    r->rc = 0;
    for (;;) {
        size_t to = next < ncuts ? cuts[next++] : n;
        memcpy(pend + plen, in + fed, to - fed);
        plen += to - fed;
        fed = to;
        char *g = NULL;
        for (;;) {
            free(g);
            g = fz_copy((const uint8_t *)pend, plen);
            size_t use = plen, out = ocap;
            r->rc = corio_http_chunked_decode(&d, g, &use, data + olen, &out);
            olen += out;
            used += use;
            memmove(pend, g + use, plen - use);
            plen -= use;
            if (r->rc != 0 || (use == 0 && out == 0))
                break;
        }
        if (r->rc != 0 || fed == n) {
            render(r, &d, used, data, olen, true);
            free(g);
            break;
        }
        free(g);
    }
    free(pend);
    free(data);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct corio_http_limits tight = {
        .max_body = 300, .max_chunk_ext = 24, .max_trailer_bytes = 48, .max_headers = 3};
    const struct corio_http_limits *lims[] = {NULL, &tight};
    static struct res w, b, s, dsc;
    size_t *cuts = malloc((size + 1) * sizeof *cuts);
    uint64_t h = fz_hash(data, size);

    for (size_t k = 0; k < size; k++)
        cuts[k] = k + 1;
    for (int li = 0; li < 2; li++) {
        whole(data, size, lims[li], false, &w);
        pieces(data, size, lims[li], cuts, size, size, &b);
        if (strcmp(w.t.buf, b.t.buf) != 0)
            fz_die("whole\n  %s\nbytewise\n  %s", w.t.buf, b.t.buf);
        size_t cut = size ? (size_t)(h % size) : 0;
        pieces(data, size, lims[li], &cut, size ? 1 : 0, 1 + (size_t)(h >> 32) % 7, &s);
        if (strcmp(w.t.buf, s.t.buf) != 0)
            fz_die("whole\n  %s\nsplit at %zu\n  %s", w.t.buf, cut, s.t.buf);
        whole(data, size, lims[li], true, &dsc);
        const char *p = strstr(w.t.buf, " data="); /* discard has no data column */
        if (dsc.rc != w.rc || strncmp(w.t.buf, dsc.t.buf, (size_t)(p - w.t.buf)) != 0)
            fz_die("whole\n  %s\ndiscard\n  %s", w.t.buf, dsc.t.buf);
    }
    free(cuts);
    return 0;
}
