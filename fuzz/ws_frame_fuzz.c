/* SPDX-License-Identifier: MIT */
/* libFuzzer target for the WebSocket codec (src/ws/frame.c, utf8.c, deflate.c), also run as the
 * replay test fuzz_regress_ws_frame.
 *
 * Input layout: byte 0 chooses the parser options (bit 0 server side, bit 1 RSV1 allowed,
 * bits 2-3 max_message: default, 100, 1000 or 65536; bits 4-6 the deflate window bits used
 * below), byte 1 seeds the split points, the rest is the byte stream.
 *
 * The stream is parsed three ways, as a connection would feed it (unconsumed bytes kept and
 * presented again with more appended, each call on an exact-size heap copy so ASan sees any
 * over-read): in one call, in pseudo-random pieces, and (if short) one byte at a time. All must
 * give the same transcript: every complete data message and control frame (opcode, flags,
 * length, hash of the payload) and the final verdict (close code and error sentence). Checked on
 * every call: consumed <= len; a 0 return reports nothing; views lie inside the buffer; first and
 * last bracket each message and opcodes stay put inside it; control payloads <= 125 bytes; a
 * complete uncompressed TEXT message is valid UTF-8; a CLOSE payload splits into a sendable code
 * (or none) and a UTF-8 reason; after -EPROTO, close_code is 1002, 1007 or 1009, error is set,
 * and the failure is sticky.
 *
 * The same bytes also go through: the UTF-8 validator (whole vs. streamed in pieces); the
 * inflater with a small output limit (0, -EPROTO or -EMSGSIZE, never more than the limit); a
 * compress/decompress round trip (with the chosen window bits, so the Huffman-only path for 8
 * bits runs too); and the extension negotiation, whose response, offered back, must be accepted
 * with the same parameters by both the server and the client parsers.
 */
#include "corio/ws_frame.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BYTEWISE_MAX 2048
#define INFLATE_LIMIT 4096

__attribute__((noreturn, format(printf, 1, 2))) static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    abort();
}

static uint64_t hash(uint64_t h, const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 0x100000001b3ull;
    return h;
}

struct transcript {
    uint64_t h;           /* over the complete records and the verdict */
    unsigned records;
    int rc;
    uint16_t code;
    const char *error;
    /* the data message being assembled */
    int mop;
    bool mcomp;
    uint64_t mh;
    size_t mlen;
    struct corio_ws_utf8 mutf8;
};

static void record(struct transcript *t, const struct corio_ws_event *ev, const uint8_t *buf,
                   size_t len)
{
    if (ev->len > len || (ev->len > 0 && (ev->data < buf || ev->data + ev->len > buf + len)))
        die("event view outside the buffer");
    if (ev->type == CORIO_WS_EV_CONTROL) {
        if (!ev->last || ev->len > 125)
            die("control frame: last %d len %zu", ev->last, ev->len);
        if (ev->opcode != CORIO_WS_CLOSE && ev->opcode != CORIO_WS_PING &&
            ev->opcode != CORIO_WS_PONG)
            die("control opcode %u", ev->opcode);
        if (ev->opcode == CORIO_WS_CLOSE) {
            uint16_t code;
            const char *reason;
            size_t rlen;
            corio_ws_close_payload(ev->data, ev->len, &code, &reason, &rlen);
            if (ev->len == 0 ? code != 1005 : !corio_ws_close_code_valid(code))
                die("close code %u passed", code);
            if (!corio_ws_utf8_valid(reason, rlen))
                die("close reason not UTF-8 passed");
        }
        uint8_t tag[3] = {'C', ev->opcode, (uint8_t)ev->len};
        t->h = hash(hash(t->h, tag, 3), ev->data, ev->len);
        t->records++;
        return;
    }
    if (ev->type != CORIO_WS_EV_DATA)
        die("event type %d", ev->type);
    if (ev->opcode != CORIO_WS_TEXT && ev->opcode != CORIO_WS_BINARY)
        die("data opcode %u", ev->opcode);
    if (ev->first) {
        if (t->mop)
            die("first while a message is in progress");
        t->mop = ev->opcode;
        t->mcomp = ev->compressed;
        t->mh = 0xcbf29ce484222325ull;
        t->mlen = 0;
        t->mutf8 = (struct corio_ws_utf8){0};
    } else if (t->mop != ev->opcode || t->mcomp != ev->compressed) {
        die("message changed opcode or flags midway");
    }
    t->mh = hash(t->mh, ev->data, ev->len);
    t->mlen += ev->len;
    corio_ws_utf8_feed(&t->mutf8, ev->data, ev->len);
    if (ev->last) {
        if (t->mop == CORIO_WS_TEXT && !t->mcomp && !corio_ws_utf8_done(&t->mutf8))
            die("invalid UTF-8 text message passed");
        uint8_t tag[3] = {'D', (uint8_t)t->mop, t->mcomp};
        t->h = hash(hash(hash(t->h, tag, 3), &t->mlen, sizeof t->mlen), &t->mh, sizeof t->mh);
        t->records++;
        t->mop = 0;
    }
}

static uint32_t rnd(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

/* Feeds in[0..n) in pieces; piece 0 = all at once, 1 = one byte at a time, else random sizes
 * up to `piece` bytes drawn from *seed. */
static void parse(const uint8_t *in, size_t n, const struct corio_ws_parser_opts *o, size_t piece,
                  uint32_t seed, struct transcript *t)
{
    struct corio_ws_parser p;
    uint8_t *pend = malloc(n + 1);
    size_t np = 0, at = 0;

    memset(t, 0, sizeof *t);
    t->h = 0xcbf29ce484222325ull;
    corio_ws_parser_init(&p, o);
    while (at < n || at == 0) {
        size_t k = piece == 0 ? n - at : piece == 1 ? 1 : 1 + rnd(&seed) % piece;
        if (k > n - at)
            k = n - at;
        memcpy(pend + np, in + at, k);
        np += k;
        at += k;
        for (;;) {
            struct corio_ws_event ev;
            uint8_t *c = malloc(np ? np : 1);
            memcpy(c, pend, np);
            ssize_t r = corio_ws_parse(&p, c, np, &ev);
            if (r < 0) {
                if (r != -EPROTO)
                    die("parse returned %zd", r);
                if (p.close_code != 1002 && p.close_code != 1007 && p.close_code != 1009)
                    die("close_code %u after -EPROTO", p.close_code);
                if (!p.error || strlen(p.error) > 123)
                    die("no usable error sentence");
                if (ev.type != CORIO_WS_EV_NONE)
                    die("event with an error");
                if (corio_ws_parse(&p, c, np, &ev) != -EPROTO)
                    die("failure not sticky");
                t->rc = -EPROTO;
                t->code = p.close_code;
                t->error = p.error;
                t->h = hash(hash(t->h, &t->code, 2), p.error, strlen(p.error));
                free(c);
                free(pend);
                return;
            }
            if ((size_t)r > np)
                die("consumed %zd of %zu", r, np);
            if (r == 0 && ev.type != CORIO_WS_EV_NONE)
                die("event without consuming");
            if (ev.type != CORIO_WS_EV_NONE)
                record(t, &ev, c, np);
            memcpy(pend, c + r, np - (size_t)r);
            np -= (size_t)r;
            free(c);
            if (r == 0)
                break;
        }
        if (n == 0)
            break;
    }
    /* Whatever is left is an incomplete header or control frame. */
    if (np >= CORIO_WS_MAX_HEAD + 125)
        die("%zu bytes left unconsumed", np);
    free(pend);
}

static void same(const struct transcript *a, const struct transcript *b, const char *how)
{
    if (a->h != b->h || a->records != b->records || a->rc != b->rc || a->code != b->code)
        die("%s differs from one-shot: records %u/%u rc %d/%d code %u/%u (%s / %s)", how,
            a->records, b->records, a->rc, b->rc, a->code, b->code,
            a->error ? a->error : "-", b->error ? b->error : "-");
}

static void check_utf8(const uint8_t *d, size_t n, uint32_t seed)
{
    bool whole = corio_ws_utf8_valid(d, n);
    struct corio_ws_utf8 v = {0};
    bool alive = true;
    for (size_t at = 0; at < n;) {
        size_t k = 1 + rnd(&seed) % 13;
        if (k > n - at)
            k = n - at;
        uint8_t *c = malloc(k);
        memcpy(c, d + at, k);
        alive = corio_ws_utf8_feed(&v, c, k) && alive;
        free(c);
        at += k;
    }
    if (whole != (alive && corio_ws_utf8_done(&v)))
        die("UTF-8 streamed verdict differs");
}

static void check_deflate(const uint8_t *d, size_t n, uint8_t bits)
{
    struct corio_ws_deflate_params p = {.server_max_window_bits = bits};
    corio_ws_deflate *tx, *rx;
    uint8_t *out, *back;
    size_t olen, blen;
    int rc;

    /* Arbitrary bytes into the inflater, limited. */
    if (corio_ws_deflate_new(&p, false, &rx) < 0)
        die("deflate_new");
    rc = corio_ws_deflate_decompress(rx, d, n, INFLATE_LIMIT, &out, &olen);
    if (rc == 0) {
        if (olen > INFLATE_LIMIT)
            die("inflated %zu > limit", olen);
        free(out);
    } else if (rc != -EPROTO && rc != -EMSGSIZE) {
        die("decompress returned %d", rc);
    } else if (out != NULL || olen != 0) {
        die("output left after an error");
    }
    corio_ws_deflate_free(rx);

    /* A round trip: twice, so the second message uses the carried-over window. */
    if (corio_ws_deflate_new(&p, true, &tx) < 0 || corio_ws_deflate_new(&p, false, &rx) < 0)
        die("deflate_new");
    for (int i = 0; i < 2; i++) {
        if (corio_ws_deflate_compress(tx, d, n, &out, &olen) != 0)
            die("compress failed");
        rc = corio_ws_deflate_decompress(rx, out, olen, n, &back, &blen);
        if (rc != 0 || blen != n || (n && memcmp(back, d, n) != 0))
            die("round trip failed: rc %d len %zu/%zu", rc, blen, n);
        free(out);
        free(back);
    }
    corio_ws_deflate_free(tx);
    corio_ws_deflate_free(rx);
}

static void check_negotiation(const uint8_t *d, size_t n)
{
    char resp[CORIO_WS_DEFLATE_RESP_MAX], resp2[CORIO_WS_DEFLATE_RESP_MAX];
    struct corio_ws_deflate_params a, b;
    char *c = malloc(n ? n : 1);

    memcpy(c, d, n);
    int rc = corio_ws_deflate_negotiate(c, n, resp, sizeof resp, &a);
    if (rc != 1 && rc != 0 && rc != -EINVAL)
        die("negotiate returned %d", rc);
    if (rc == 1) {
        if (corio_ws_deflate_negotiate(resp, strlen(resp), resp2, sizeof resp2, &b) != 1 ||
            memcmp(&a, &b, sizeof a) != 0)
            die("our response is not an acceptable offer: %s", resp);
        if (corio_ws_deflate_response(resp, strlen(resp), &b) != 1 || memcmp(&a, &b, sizeof a))
            die("our response is refused by our client: %s", resp);
    }
    rc = corio_ws_deflate_response(c, n, &a);
    if (rc != 1 && rc != 0 && rc != -EPROTO)
        die("response returned %d", rc);
    free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint64_t maxes[4] = {0, 100, 1000, 65536};
    struct transcript one, split, bytes;

    if (size < 2)
        return 0;
    struct corio_ws_parser_opts o = {
        .server = data[0] & 1,
        .allow_rsv1 = data[0] & 2,
        .max_message = maxes[(data[0] >> 2) & 3],
    };
    uint8_t bits = (uint8_t)((data[0] >> 4) & 7) + 8; /* 8..15 */
    uint32_t seed = data[1] * 2654435761u + 1;
    const uint8_t *s = data + 2;
    size_t n = size - 2;

    parse(s, n, &o, 0, 0, &one);
    parse(s, n, &o, 1 + data[1] % 61, seed, &split);
    same(&one, &split, "random split");
    if (n <= BYTEWISE_MAX) {
        parse(s, n, &o, 1, 0, &bytes);
        same(&one, &bytes, "bytewise");
    }
    check_utf8(s, n, seed);
    check_deflate(s, n, bits);
    check_negotiation(s, n);
    return 0;
}
