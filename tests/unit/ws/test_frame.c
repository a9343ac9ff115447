/* SPDX-License-Identifier: MIT */
/* Unit tests of the WebSocket frame codec (src/ws/frame.c, src/ws/handshake.c): every rule of
 * corio/ws_frame.h with its close code, the incremental contract, frame headers, masking, close
 * payloads and the handshake keys.
 *
 * What every parse test relies on: run() feeds a byte stream to a parser in chunks cut at given
 * offsets, the way a connection would (unconsumed bytes are kept and the next chunk appended),
 * and each call's input is copied so that it ends at a PROT_NONE page, so reading one byte past
 * what the parser was given faults, and the buffer moves between calls. It checks the
 * per-event invariants (a return of 0 reports nothing, views lie inside the buffer, first/last
 * flags bracket each message, opcodes stay constant within a message) and writes a transcript:
 * complete messages and control frames as text, plus the final verdict. A stream split at every
 * point, and at every pair of points, must give the transcript of one-shot parsing.
 */
#include "corio/ws_frame.h"
#include "test.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* ---- helpers ----------------------------------------------------------------------------- */

#define REGION ((size_t)1 << 20)

static uint8_t *guarded(const void *src, size_t n)
{
    static uint8_t *base;
    size_t page = (size_t)sysconf(_SC_PAGESIZE);

    if (base == NULL) {
        base = mmap(NULL, REGION + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
                    0);
        ASSERT(base != MAP_FAILED);
        ASSERT_EQ(mprotect(base + REGION, page, PROT_NONE), 0);
    }
    ASSERT(n <= REGION);
    uint8_t *dst = base + REGION - n;
    if (n > 0)
        memmove(dst, src, n);
    return dst;
}

struct stream {
    uint8_t b[200000];
    size_t n;
    unsigned frames; /* varies the mask key per frame */
};

static void add_raw(struct stream *s, const void *p, size_t n)
{
    ASSERT(s->n + n <= sizeof s->b);
    memcpy(s->b + s->n, p, n);
    s->n += n;
}

/* Appends a frame; masked frames get a key that differs per frame. */
static void add_frame(struct stream *s, uint8_t op, bool fin, bool rsv1, const void *pl, size_t n,
                      bool masked)
{
    uint8_t key[4] = {(uint8_t)(0x37 + s->frames), 0xfa, 0x21, (uint8_t)(0x3d ^ s->frames)};
    uint8_t h[CORIO_WS_MAX_HEAD];
    size_t hl = corio_ws_frame_head(h, op, fin, rsv1, n, masked ? key : NULL);

    s->frames++;
    add_raw(s, h, hl);
    ASSERT(s->n + n <= sizeof s->b);
    if (n > 0)
        memcpy(s->b + s->n, pl, n);
    if (masked)
        corio_ws_mask(s->b + s->n, n, key, 0);
    s->n += n;
}

static void add_text(struct stream *s, uint8_t op, bool fin, const char *t, bool masked)
{
    add_frame(s, op, fin, false, t, strlen(t), masked);
}

struct transcript {
    char log[8192];
    size_t len;
    ssize_t rc;     /* 0, or the error */
    uint16_t code;  /* close_code after an error */
    size_t events;
    uint8_t msg[140000]; /* the data message being assembled */
    size_t mlen;
    int mop;        /* opcode of the message in progress, 0 = none */
    bool mcomp;
};

static void log_add(struct transcript *t, const char *fmt, const uint8_t *d, size_t n)
{
    int w = snprintf(t->log + t->len, sizeof t->log - t->len, "%s", fmt);
    ASSERT(w >= 0 && (size_t)w < sizeof t->log - t->len);
    t->len += (size_t)w;
    if (n > 64) { /* long payloads: length and a checksum keep the log readable */
        uint32_t sum = 0;
        for (size_t k = 0; k < n; k++)
            sum = sum * 31 + d[k];
        w = snprintf(t->log + t->len, sizeof t->log - t->len, "<%zu bytes, sum %08x>", n, sum);
        ASSERT(w >= 0 && (size_t)w < sizeof t->log - t->len);
        t->len += (size_t)w;
    } else {
        for (size_t k = 0; k < n; k++) {
            ASSERT(t->len + 5 < sizeof t->log);
            if (d[k] >= 0x20 && d[k] < 0x7f && d[k] != '\\' && d[k] != '|')
                t->log[t->len++] = (char)d[k];
            else
                t->len += (size_t)snprintf(t->log + t->len, 5, "\\x%02x", d[k]);
        }
    }
    ASSERT(t->len + 2 < sizeof t->log);
    t->log[t->len++] = '|';
    t->log[t->len] = '\0';
}

static void record(struct transcript *t, const struct corio_ws_event *ev, const uint8_t *buf,
                   size_t len)
{
    t->events++;
    ASSERT(ev->len <= len);
    ASSERT(ev->len == 0 || (ev->data >= buf && ev->data + ev->len <= buf + len));
    if (ev->type == CORIO_WS_EV_CONTROL) {
        const char *name = ev->opcode == CORIO_WS_CLOSE  ? "close:"
                           : ev->opcode == CORIO_WS_PING ? "ping:"
                           : ev->opcode == CORIO_WS_PONG ? "pong:"
                                                         : NULL;
        ASSERT(name != NULL);
        ASSERT(ev->last);
        ASSERT(ev->len <= 125);
        log_add(t, name, ev->data, ev->len);
        return;
    }
    ASSERT_EQ(ev->type, CORIO_WS_EV_DATA);
    ASSERT(ev->opcode == CORIO_WS_TEXT || ev->opcode == CORIO_WS_BINARY);
    if (ev->first) {
        ASSERT_EQ(t->mop, 0);
        t->mop = ev->opcode;
        t->mcomp = ev->compressed;
        t->mlen = 0;
    } else {
        ASSERT_EQ(t->mop, ev->opcode);
        ASSERT_EQ(t->mcomp, ev->compressed);
    }
    ASSERT(t->mlen + ev->len <= sizeof t->msg);
    if (ev->len)
        memcpy(t->msg + t->mlen, ev->data, ev->len);
    t->mlen += ev->len;
    if (ev->last) {
        const char *tag = ev->opcode == CORIO_WS_TEXT ? (t->mcomp ? "Tz:" : "T:")
                                                      : (t->mcomp ? "Bz:" : "B:");
        log_add(t, tag, t->msg, t->mlen);
        t->mop = 0;
    }
}

static uint8_t pend[200000];

/* Feeds s[0..n) in chunks ending at the sorted offsets cuts[] (then the rest). */
static void run(const uint8_t *s, size_t n, const size_t *cuts, size_t ncuts,
                const struct corio_ws_parser_opts *o, struct transcript *t)
{
    struct corio_ws_parser p;
    size_t np = 0, at = 0;

    memset(t, 0, sizeof *t);
    corio_ws_parser_init(&p, o);
    ASSERT_EQ(p.close_code, 0);
    ASSERT_NULL(p.error);
    for (size_t c = 0; c <= ncuts; c++) {
        size_t end = c < ncuts ? cuts[c] : n;
        ASSERT(end >= at && end <= n);
        memcpy(pend + np, s + at, end - at);
        np += end - at;
        at = end;
        for (;;) {
            struct corio_ws_event ev;
            uint8_t *g = guarded(pend, np);
            ssize_t r = corio_ws_parse(&p, g, np, &ev);
            if (r < 0) {
                ASSERT_EQ(r, -EPROTO);
                ASSERT(p.close_code == 1002 || p.close_code == 1007 || p.close_code == 1009);
                ASSERT_NOT_NULL(p.error);
                t->rc = r;
                t->code = p.close_code;
                /* Sticky. */
                ASSERT_EQ(corio_ws_parse(&p, g, np, &ev), -EPROTO);
                ASSERT_EQ(ev.type, CORIO_WS_EV_NONE);
                return;
            }
            ASSERT((size_t)r <= np);
            if (ev.type != CORIO_WS_EV_NONE)
                record(t, &ev, g, np);
            ASSERT(r > 0 || ev.type == CORIO_WS_EV_NONE);
            if (r == 0)
                break;
            memmove(pend, g + r, np - (size_t)r);
            np -= (size_t)r;
        }
    }
    /* A partial frame header is never consumed. */
    ASSERT(np < CORIO_WS_MAX_HEAD + 125);
}

static void one_shot(const struct stream *s, const struct corio_ws_parser_opts *o,
                     struct transcript *t)
{
    run(s->b, s->n, NULL, 0, o, t);
}

static struct transcript T0, T1;

static void same(const struct transcript *a, const struct transcript *b)
{
    ASSERT_STREQ(a->log, b->log);
    ASSERT_EQ(a->rc, b->rc);
    ASSERT_EQ(a->code, b->code);
}

/* The stream split at every point, byte by byte, and (if short) at every pair of points. */
static void all_splits(const struct stream *s, const struct corio_ws_parser_opts *o,
                       size_t pair_max)
{
    size_t cuts[2];
    size_t *bytes;

    one_shot(s, o, &T0);
    for (size_t i = 0; i <= s->n; i++) {
        cuts[0] = i;
        run(s->b, s->n, cuts, 1, o, &T1);
        same(&T0, &T1);
    }
    bytes = malloc((s->n + 1) * sizeof *bytes);
    ASSERT_NOT_NULL(bytes);
    for (size_t i = 0; i <= s->n; i++)
        bytes[i] = i;
    run(s->b, s->n, bytes, s->n + 1, o, &T1);
    same(&T0, &T1);
    free(bytes);
    if (s->n > pair_max)
        return;
    for (size_t i = 0; i <= s->n; i++)
        for (size_t j = i; j <= s->n; j++) {
            cuts[0] = i;
            cuts[1] = j;
            run(s->b, s->n, cuts, 2, o, &T1);
            same(&T0, &T1);
        }
}

static const struct corio_ws_parser_opts SRV = {.server = true};
static const struct corio_ws_parser_opts CLI = {.server = false};
static const struct corio_ws_parser_opts SRV_DEFLATE = {.server = true, .allow_rsv1 = true};

static struct stream S;

static void reset(void)
{
    S.n = 0;
    S.frames = 0;
}

/* One-shot parse of S expecting an error with this close code, then every split. */
static void expect_fail(const struct corio_ws_parser_opts *o, uint16_t code)
{
    one_shot(&S, o, &T0);
    ASSERT_EQ(T0.rc, -EPROTO);
    ASSERT_EQ(T0.code, code);
    all_splits(&S, o, 0);
}

static void expect_log(const struct corio_ws_parser_opts *o, const char *log)
{
    one_shot(&S, o, &T0);
    ASSERT_EQ(T0.rc, 0);
    ASSERT_STREQ(T0.log, log);
    all_splits(&S, o, 0);
}

/* ---- frame headers and masking ----------------------------------------------------------- */

TEST(frame_head_uses_minimal_lengths)
{
    static const struct {
        uint64_t len;
        size_t hlen;
        uint8_t b1;
    } cases[] = {{0, 2, 0}, {1, 2, 1}, {125, 2, 125}, {126, 4, 126}, {65535, 4, 126},
                 {65536, 10, 127}, {(uint64_t)1 << 40, 10, 127}, {INT64_MAX, 10, 127}};
    uint8_t h[CORIO_WS_MAX_HEAD];
    const uint8_t key[4] = {1, 2, 3, 4};

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t n = corio_ws_frame_head(h, CORIO_WS_BINARY, true, false, cases[i].len, NULL);
        ASSERT_EQ(n, cases[i].hlen);
        ASSERT_EQ(h[0], 0x82);
        ASSERT_EQ(h[1], cases[i].b1);
        uint64_t v = cases[i].hlen == 2 ? h[1] : 0;
        for (size_t k = 2; k < n; k++)
            v = v << 8 | h[k];
        ASSERT(v == cases[i].len);
        n = corio_ws_frame_head(h, CORIO_WS_TEXT, false, true, cases[i].len, key);
        ASSERT_EQ(n, cases[i].hlen + 4);
        ASSERT_EQ(h[0], 0x41);
        ASSERT_EQ(h[1], 0x80 | cases[i].b1);
        ASSERT_MEMEQ(h + n - 4, key, 4);
    }
    ASSERT_EQ(corio_ws_frame_head(h, CORIO_WS_PING, true, false, 0, NULL), 2);
    ASSERT_EQ(h[0], 0x89);
    ASSERT_EQ(h[1], 0);
}

TEST(mask_matches_bytewise_xor_at_every_offset_and_length)
{
    const uint8_t key[4] = {0xa5, 0x17, 0xc3, 0x5e};
    uint8_t src[300], buf[300 + 16], ref[300];

    for (size_t i = 0; i < sizeof src; i++)
        src[i] = (uint8_t)(i * 7 + 3);
    for (uint64_t off = 0; off < 9; off++)
        for (size_t align = 0; align < 16; align++)
            for (size_t n = 0; n <= sizeof src; n += (n < 80 ? 1 : 37)) {
                memcpy(buf + align, src, n);
                for (size_t k = 0; k < n; k++)
                    ref[k] = src[k] ^ key[(off + k) % 4];
                corio_ws_mask(buf + align, n, key, off);
                ASSERT_MEMEQ(buf + align, ref, n);
                corio_ws_mask(buf + align, n, key, off); /* the round trip */
                ASSERT_MEMEQ(buf + align, src, n);
            }
}

TEST(mask_in_pieces_equals_mask_in_one_go)
{
    const uint8_t key[4] = {0x01, 0x80, 0xff, 0x42};
    uint8_t a[1000], b[1000];

    for (size_t i = 0; i < sizeof a; i++)
        a[i] = b[i] = (uint8_t)(i ^ (i >> 3));
    corio_ws_mask(a, sizeof a, key, 0);
    for (size_t at = 0, step = 1; at < sizeof b; at += step, step = step * 3 % 67 + 1) {
        size_t n = step < sizeof b - at ? step : sizeof b - at;
        corio_ws_mask(b + at, n, key, at);
    }
    ASSERT_MEMEQ(a, b, sizeof a);
}

TEST(mask_key_is_random)
{
    uint8_t a[4], b[4];
    ASSERT_EQ(corio_ws_mask_key(a), 0);
    ASSERT_EQ(corio_ws_mask_key(b), 0);
    uint8_t c[4];
    ASSERT_EQ(corio_ws_mask_key(c), 0);
    ASSERT(memcmp(a, b, 4) != 0 || memcmp(b, c, 4) != 0);
}

/* ---- messages and events ----------------------------------------------------------------- */

TEST(parses_masked_client_frames_and_unmasked_server_frames)
{
    reset();
    add_text(&S, CORIO_WS_TEXT, true, "Hello", true);
    add_frame(&S, CORIO_WS_BINARY, true, false, "\x00\xff\x01", 3, true);
    expect_log(&SRV, "T:Hello|B:\\x00\\xff\\x01|");

    reset();
    add_text(&S, CORIO_WS_TEXT, true, "Hello", false);
    expect_log(&CLI, "T:Hello|");
    /* RFC 6455 5.7's single-frame examples, byte for byte. */
    static const uint8_t unmasked[] = {0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f};
    static const uint8_t masked[] = {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51,
                                     0x58};
    run(unmasked, sizeof unmasked, NULL, 0, &CLI, &T0);
    ASSERT_STREQ(T0.log, "T:Hello|");
    run(masked, sizeof masked, NULL, 0, &SRV, &T0);
    ASSERT_STREQ(T0.log, "T:Hello|");
    /* And its fragmented, ping and pong examples. */
    static const uint8_t frag[] = {
        0x01, 0x03, 0x48, 0x65, 0x6c, 0x80, 0x02, 0x6c, 0x6f,                   /* "Hel" "lo" */
        0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f,                               /* ping */
        0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,       /* masked pong */
    };
    run(frag, sizeof frag - 11, NULL, 0, &CLI, &T0);
    ASSERT_STREQ(T0.log, "T:Hello|ping:Hello|");
    run(frag + sizeof frag - 11, 11, NULL, 0, &SRV, &T0);
    ASSERT_STREQ(T0.log, "pong:Hello|");
}

TEST(data_frame_header_comes_with_available_payload_then_rest_in_pieces)
{
    struct corio_ws_parser p;
    struct corio_ws_event ev;
    uint8_t buf[300];
    uint8_t payload[200];
    const uint8_t key[4] = {9, 8, 7, 6};

    for (size_t i = 0; i < sizeof payload; i++)
        payload[i] = (uint8_t)i;
    size_t h = corio_ws_frame_head(buf, CORIO_WS_BINARY, true, false, sizeof payload, key);
    ASSERT_EQ(h, 8);
    memcpy(buf + h, payload, sizeof payload);
    corio_ws_mask(buf + h, sizeof payload, key, 0);

    corio_ws_parser_init(&p, &SRV);
    /* Header only: consumed, no event. */
    ASSERT_EQ(corio_ws_parse(&p, buf, h, &ev), (ssize_t)h);
    ASSERT_EQ(ev.type, CORIO_WS_EV_NONE);
    ASSERT(corio_ws_parser_in_message(&p));
    /* No bytes: nothing. */
    ASSERT_EQ(corio_ws_parse(&p, buf + h, 0, &ev), 0);
    ASSERT_EQ(ev.type, CORIO_WS_EV_NONE);
    /* 3 bytes (mask offset 0..2), then 50 (offset 3), then all the rest and more. */
    ASSERT_EQ(corio_ws_parse(&p, buf + h, 3, &ev), 3);
    ASSERT_EQ(ev.type, CORIO_WS_EV_DATA);
    ASSERT(ev.first && !ev.last && !ev.compressed);
    ASSERT_EQ(ev.opcode, CORIO_WS_BINARY);
    ASSERT_PTR_EQ(ev.data, buf + h);
    ASSERT_MEMEQ(ev.data, payload, 3);
    ASSERT_EQ(corio_ws_parse(&p, buf + h + 3, 50, &ev), 50);
    ASSERT(!ev.first && !ev.last);
    ASSERT_MEMEQ(ev.data, payload + 3, 50);
    memcpy(buf + h + sizeof payload, "\x89\x80", 2); /* the next frame's start: left alone */
    ASSERT_EQ(corio_ws_parse(&p, buf + h + 53, sizeof payload - 53 + 2, &ev),
              (ssize_t)(sizeof payload - 53));
    ASSERT(!ev.first && ev.last);
    ASSERT_EQ(ev.len, sizeof payload - 53);
    ASSERT_MEMEQ(ev.data, payload + 53, sizeof payload - 53);
    ASSERT(!corio_ws_parser_in_message(&p));

    /* The same frame in one buffer: one event with everything. */
    h = corio_ws_frame_head(buf, CORIO_WS_BINARY, true, false, sizeof payload, key);
    memcpy(buf + h, payload, sizeof payload);
    corio_ws_mask(buf + h, sizeof payload, key, 0);
    corio_ws_parser_init(&p, &SRV);
    ASSERT_EQ(corio_ws_parse(&p, buf, h + sizeof payload, &ev), (ssize_t)(h + sizeof payload));
    ASSERT(ev.first && ev.last);
    ASSERT_EQ(ev.len, sizeof payload);
    ASSERT_MEMEQ(ev.data, payload, sizeof payload);
}

TEST(empty_frames)
{
    struct corio_ws_parser p;
    struct corio_ws_event ev;
    uint8_t buf[16];

    /* An empty final frame: DATA, first and last, len 0. */
    corio_ws_parser_init(&p, &CLI);
    size_t h = corio_ws_frame_head(buf, CORIO_WS_TEXT, true, false, 0, NULL);
    ASSERT_EQ(corio_ws_parse(&p, buf, h, &ev), 2);
    ASSERT_EQ(ev.type, CORIO_WS_EV_DATA);
    ASSERT(ev.first && ev.last);
    ASSERT_EQ(ev.len, 0);
    ASSERT_EQ(ev.opcode, CORIO_WS_TEXT);

    /* An empty non-final frame tells nothing; the first bytes come later. */
    corio_ws_parser_init(&p, &CLI);
    h = corio_ws_frame_head(buf, CORIO_WS_BINARY, false, false, 0, NULL);
    ASSERT_EQ(corio_ws_parse(&p, buf, h, &ev), 2);
    ASSERT_EQ(ev.type, CORIO_WS_EV_NONE);
    ASSERT(corio_ws_parser_in_message(&p));
    h = corio_ws_frame_head(buf, CORIO_WS_CONT, true, false, 1, NULL);
    buf[h] = 'x';
    ASSERT_EQ(corio_ws_parse(&p, buf, h + 1, &ev), 3);
    ASSERT(ev.first && ev.last);
    ASSERT_EQ(ev.opcode, CORIO_WS_BINARY);
    ASSERT_EQ(ev.len, 1);

    /* Fragments: empty first, data, empty last. */
    reset();
    add_text(&S, CORIO_WS_TEXT, false, "", true);
    add_text(&S, CORIO_WS_CONT, false, "ab", true);
    add_text(&S, CORIO_WS_CONT, false, "", true);
    add_text(&S, CORIO_WS_CONT, true, "", true);
    add_text(&S, CORIO_WS_BINARY, true, "", true);
    add_text(&S, CORIO_WS_PING, true, "", true);
    expect_log(&SRV, "T:ab|B:|ping:|");
}

TEST(control_frames_come_only_whole)
{
    struct corio_ws_parser p;
    struct corio_ws_event ev;
    uint8_t buf[200];
    uint8_t payload[125];
    const uint8_t key[4] = {0x11, 0x22, 0x33, 0x44};

    memset(payload, 'p', sizeof payload);
    size_t h = corio_ws_frame_head(buf, CORIO_WS_PING, true, false, sizeof payload, key);
    memcpy(buf + h, payload, sizeof payload);
    corio_ws_mask(buf + h, sizeof payload, key, 0);
    uint8_t copy[200];
    memcpy(copy, buf, h + sizeof payload);

    corio_ws_parser_init(&p, &SRV);
    for (size_t n = 0; n < h + sizeof payload; n++) {
        ASSERT_EQ(corio_ws_parse(&p, buf, n, &ev), 0);
        ASSERT_EQ(ev.type, CORIO_WS_EV_NONE);
        ASSERT_MEMEQ(buf, copy, h + sizeof payload); /* nothing unmasked yet */
    }
    ASSERT_EQ(corio_ws_parse(&p, buf, h + sizeof payload, &ev), (ssize_t)(h + sizeof payload));
    ASSERT_EQ(ev.type, CORIO_WS_EV_CONTROL);
    ASSERT_EQ(ev.opcode, CORIO_WS_PING);
    ASSERT(ev.last);
    ASSERT_EQ(ev.len, 125);
    ASSERT_PTR_EQ(ev.data, buf + h);
    ASSERT_MEMEQ(ev.data, payload, 125);
}

TEST(control_frames_between_fragments)
{
    reset();
    add_text(&S, CORIO_WS_TEXT, false, "frag", true);
    add_text(&S, CORIO_WS_PING, true, "p1", true);
    add_text(&S, CORIO_WS_CONT, false, "ment", true);
    add_text(&S, CORIO_WS_PONG, true, "", true);
    add_text(&S, CORIO_WS_PING, true, "p2", true);
    add_text(&S, CORIO_WS_CONT, true, "ed", true);
    uint8_t close[125];
    size_t cl = corio_ws_close_build(close, 1000, "bye");
    add_frame(&S, CORIO_WS_CLOSE, true, false, close, cl, true);
    expect_log(&SRV, "ping:p1|pong:|ping:p2|T:fragmented|close:\\x03\\xe8bye|");
}

/* The stream the brief asks for: several frames, a fragmented text with an interleaved ping,
 * and a 4-byte character split across fragments; every split and pair of splits. */
TEST_TIMEOUT(every_split_of_a_mixed_stream_gives_one_shot_events, 120)
{
    static const char snow[] = "\xe2\x98\x83"; /* U+2603 */
    static const char g_clef[] = "\xf0\x9d\x84\x9e"; /* U+1D11E */
    uint8_t big[300];

    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (uint8_t)(i * 13);
    reset();
    add_text(&S, CORIO_WS_TEXT, true, "one", true);
    add_frame(&S, CORIO_WS_TEXT, false, false, "a\xf0\x9d", 3, true);
    add_text(&S, CORIO_WS_PING, true, "hb", true);
    add_frame(&S, CORIO_WS_CONT, false, false, "\x84", 1, true);
    add_frame(&S, CORIO_WS_CONT, true, false, "\x9e" "b", 2, true);
    add_text(&S, CORIO_WS_TEXT, true, snow, true);
    add_frame(&S, CORIO_WS_BINARY, true, false, big, sizeof big, true);
    add_text(&S, CORIO_WS_PONG, true, "x", true);
    add_text(&S, CORIO_WS_CLOSE, true, "", true);
    one_shot(&S, &SRV, &T0);
    ASSERT_EQ(T0.rc, 0);
    char want[512];
    snprintf(want, sizeof want, "T:one|ping:hb|T:a\\x%02x\\x%02x\\x%02x\\x%02xb|"
             "T:\\x%02x\\x%02x\\x%02x|", (uint8_t)g_clef[0], (uint8_t)g_clef[1],
             (uint8_t)g_clef[2], (uint8_t)g_clef[3], (uint8_t)snow[0], (uint8_t)snow[1],
             (uint8_t)snow[2]);
    ASSERT(strncmp(T0.log, want, strlen(want)) == 0);
    ASSERT(strstr(T0.log, "|pong:x|close:|") != NULL);
    /* Pairs of splits over the first 120 bytes (the part with the fragments), single splits
     * and byte-by-byte over everything. */
    all_splits(&S, &SRV, 0);
    size_t cuts[2];
    for (size_t i = 0; i <= 120; i++)
        for (size_t j = i; j <= 120; j++) {
            cuts[0] = i;
            cuts[1] = j;
            run(S.b, S.n, cuts, 2, &SRV, &T1);
            same(&T0, &T1);
        }
}

TEST(every_split_of_a_client_side_stream)
{
    reset();
    add_text(&S, CORIO_WS_BINARY, false, "abc", false);
    add_text(&S, CORIO_WS_PING, true, "", false);
    add_text(&S, CORIO_WS_CONT, true, "def", false);
    add_text(&S, CORIO_WS_TEXT, true, "\xc3\xa9t\xc3\xa9", false);
    one_shot(&S, &CLI, &T0);
    ASSERT_STREQ(T0.log, "ping:|B:abcdef|T:\\xc3\\xa9t\\xc3\\xa9|");
    all_splits(&S, &CLI, 1000);
}

/* ---- the rules, each with its close code ------------------------------------------------- */

TEST(server_rejects_unmasked_frame_1002)
{
    reset();
    add_text(&S, CORIO_WS_TEXT, true, "hi", false);
    expect_fail(&SRV, 1002);
    reset();
    add_text(&S, CORIO_WS_PING, true, "", false);
    expect_fail(&SRV, 1002);
    /* Refused from the first two bytes, before the rest arrives. */
    struct corio_ws_parser p;
    struct corio_ws_event ev;
    uint8_t two[2] = {0x81, 0x05};
    corio_ws_parser_init(&p, &SRV);
    ASSERT_EQ(corio_ws_parse(&p, two, 2, &ev), -EPROTO);
    ASSERT_EQ(p.close_code, 1002);
    ASSERT_STREQ(p.error, "client frame is not masked");
}

TEST(client_rejects_masked_frame_1002)
{
    reset();
    add_text(&S, CORIO_WS_TEXT, true, "hi", true);
    expect_fail(&CLI, 1002);
    reset();
    add_text(&S, CORIO_WS_CLOSE, true, "", true);
    expect_fail(&CLI, 1002);
}

TEST(reserved_bits_1002)
{
    for (int bit = 0; bit < 3; bit++) {
        uint8_t b[7] = {(uint8_t)(0x81 | (0x40 >> bit)), 0x81, 1, 2, 3, 4, 'x'};
        run(b, sizeof b, NULL, 0, &SRV, &T0);
        ASSERT_EQ(T0.rc, -EPROTO);
        ASSERT_EQ(T0.code, 1002);
        /* With deflate negotiated only RSV1 becomes legal. */
        run(b, sizeof b, NULL, 0, &SRV_DEFLATE, &T0);
        ASSERT_EQ(T0.rc, bit == 0 ? 0 : -EPROTO);
        if (bit == 0)
            ASSERT_STREQ(T0.log, "Tz:y|"); /* 'x' ^ key[0] */
    }
}

TEST(rsv1_only_on_first_data_frame_1002)
{
    /* Allowed: first frame of a text and of a binary message, marking the whole message. */
    reset();
    add_frame(&S, CORIO_WS_TEXT, false, true, "\xff\xfe", 2, true); /* not UTF-8: inflated later */
    add_frame(&S, CORIO_WS_PING, true, false, "", 0, true);
    add_frame(&S, CORIO_WS_CONT, true, false, "\x00", 1, true);
    add_frame(&S, CORIO_WS_BINARY, true, true, "z", 1, true);
    add_frame(&S, CORIO_WS_BINARY, true, false, "u", 1, true);
    expect_log(&SRV_DEFLATE, "ping:|Tz:\\xff\\xfe\\x00|Bz:z|B:u|");
    /* On a continuation frame. */
    reset();
    add_frame(&S, CORIO_WS_TEXT, false, true, "a", 1, true);
    add_frame(&S, CORIO_WS_CONT, true, true, "b", 1, true);
    expect_fail(&SRV_DEFLATE, 1002);
    /* On control frames. */
    static const uint8_t ops[] = {CORIO_WS_PING, CORIO_WS_PONG, CORIO_WS_CLOSE};
    for (size_t i = 0; i < sizeof ops; i++) {
        reset();
        add_frame(&S, ops[i], true, true, "", 0, true);
        expect_fail(&SRV_DEFLATE, 1002);
    }
    /* Without deflate, on a first frame. */
    reset();
    add_frame(&S, CORIO_WS_BINARY, true, true, "a", 1, true);
    expect_fail(&SRV, 1002);
}

TEST(unknown_opcodes_1002)
{
    for (uint8_t op = 0; op < 16; op++) {
        bool known = op <= 2 || (op >= 8 && op <= 10);
        reset();
        add_frame(&S, op, true, false, "", 0, true);
        one_shot(&S, &SRV, &T0);
        if (known) {
            /* Opcode 0 fails too, but for its own reason: no message in progress. */
            ASSERT_EQ(T0.rc, op == 0 ? -EPROTO : 0);
            continue;
        }
        ASSERT_EQ(T0.rc, -EPROTO);
        ASSERT_EQ(T0.code, 1002);
        /* Also in the middle of a fragmented message. */
        reset();
        add_text(&S, CORIO_WS_TEXT, false, "a", true);
        add_frame(&S, op, true, false, "", 0, true);
        expect_fail(&SRV, 1002);
    }
}

TEST(fragmented_or_long_control_frames_1002)
{
    static const uint8_t ops[] = {CORIO_WS_PING, CORIO_WS_PONG, CORIO_WS_CLOSE};
    uint8_t big[126];
    memset(big, 'a', sizeof big);
    for (size_t i = 0; i < sizeof ops; i++) {
        reset();
        add_frame(&S, ops[i], false, false, "", 0, true);
        expect_fail(&SRV, 1002);
        reset();
        add_frame(&S, ops[i], true, false, big, 126, true); /* 16-bit length 126 */
        expect_fail(&SRV, 1002);
        /* 125 is the most a control frame may carry (a close needs a valid code). */
        reset();
        big[0] = 0x03;
        big[1] = 0xe8;
        add_frame(&S, ops[i], true, false, big, 125, true);
        one_shot(&S, &SRV, &T0);
        ASSERT_EQ(T0.rc, 0);
        ASSERT_EQ(T0.events, 1);
        big[0] = big[1] = 'a';
    }
    /* Refused as soon as the length byte is there, with the payload yet to come. */
    uint8_t head[2] = {0x89, 0x80 | 126};
    run(head, 2, NULL, 0, &SRV, &T0);
    ASSERT_EQ(T0.code, 1002);
}

TEST(continuation_ordering_1002)
{
    /* Continuation with nothing in progress. */
    reset();
    add_text(&S, CORIO_WS_CONT, true, "a", true);
    expect_fail(&SRV, 1002);
    /* ... nor after a message ended. */
    reset();
    add_text(&S, CORIO_WS_TEXT, false, "a", true);
    add_text(&S, CORIO_WS_CONT, true, "b", true);
    add_text(&S, CORIO_WS_CONT, true, "c", true);
    expect_fail(&SRV, 1002);
    one_shot(&S, &SRV, &T0);
    ASSERT_STREQ(T0.log, "T:ab|");
    /* A new TEXT or BINARY in the middle of a message. */
    static const uint8_t ops[] = {CORIO_WS_TEXT, CORIO_WS_BINARY};
    for (size_t i = 0; i < 2; i++)
        for (size_t j = 0; j < 2; j++) {
            reset();
            add_text(&S, ops[i], false, "a", true);
            add_text(&S, CORIO_WS_PING, true, "", true);
            add_text(&S, ops[j], true, "b", true);
            expect_fail(&SRV, 1002);
        }
}

static void add_head_raw(uint8_t b1_len, const uint8_t *ext, size_t extn, bool mask)
{
    uint8_t h[2] = {0x82, (uint8_t)((mask ? 0x80 : 0) | b1_len)};
    add_raw(&S, h, 2);
    add_raw(&S, ext, extn);
    if (mask)
        add_raw(&S, "\x00\x00\x00\x00", 4);
}

TEST(length_encodings)
{
    static uint8_t payload[70000];
    struct corio_ws_parser_opts big = {.server = true, .max_message = 1 << 20};

    /* Minimal 16-bit (126, 65535) and 64-bit (65536, 65537) lengths are accepted. */
    static const size_t ok[] = {126, 127, 65535, 65536, 65537};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        reset();
        for (size_t k = 0; k < ok[i]; k++)
            payload[k] = (uint8_t)k;
        add_frame(&S, CORIO_WS_BINARY, true, false, payload, ok[i], true);
        one_shot(&S, &big, &T0);
        ASSERT_EQ(T0.rc, 0);
        ASSERT_EQ(T0.events, 1);
        ASSERT_EQ(T0.mlen, ok[i]);
        ASSERT_MEMEQ(T0.msg, payload, ok[i]);
        size_t cuts[3] = {1, 3, ok[i] / 2};
        run(S.b, S.n, cuts, 3, &big, &T1);
        same(&T0, &T1);
    }
    /* Non-minimal 16-bit: 0..125 in two bytes. */
    for (unsigned v = 0; v < 126; v += 25) {
        reset();
        uint8_t ext[2] = {0, (uint8_t)v};
        add_head_raw(126, ext, 2, true);
        add_raw(&S, payload, v);
        expect_fail(&SRV, 1002);
    }
    /* Non-minimal 64-bit: anything up to 65535 in eight bytes. */
    static const uint64_t nm64[] = {0, 5, 125, 126, 65535};
    for (size_t i = 0; i < sizeof nm64 / sizeof nm64[0]; i++) {
        reset();
        uint8_t ext[8];
        for (int k = 0; k < 8; k++)
            ext[k] = (uint8_t)(nm64[i] >> (56 - 8 * k));
        add_head_raw(127, ext, 8, true);
        expect_fail(&SRV, 1002);
    }
    /* 64-bit length with the top bit set. */
    reset();
    uint8_t top[8] = {0x80, 0, 0, 0, 0, 0, 0, 1};
    add_head_raw(127, top, 8, true);
    expect_fail(&SRV, 1002);
    struct corio_ws_parser_opts huge = {.server = true, .max_message = UINT64_MAX};
    one_shot(&S, &huge, &T0);
    ASSERT_EQ(T0.code, 1002);
    /* The largest legal length, with an unlimited max_message: accepted (and waits). */
    reset();
    uint8_t max63[8] = {0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    add_head_raw(127, max63, 8, true);
    add_raw(&S, "abc", 3);
    one_shot(&S, &huge, &T0);
    ASSERT_EQ(T0.rc, 0);
    ASSERT_EQ(T0.mlen, 3);
}

TEST(max_message_1009)
{
    struct corio_ws_parser_opts o = {.server = true, .max_message = 100};
    uint8_t pl[125];
    memset(pl, 'x', sizeof pl);

    /* Exactly the limit, in one frame and in fragments: fine. */
    reset();
    add_frame(&S, CORIO_WS_TEXT, true, false, pl, 100, true);
    add_frame(&S, CORIO_WS_BINARY, false, false, pl, 60, true);
    add_frame(&S, CORIO_WS_PING, true, false, pl, 120, true); /* control frames do not count */
    add_frame(&S, CORIO_WS_CONT, true, false, pl, 40, true);
    one_shot(&S, &o, &T0);
    ASSERT_EQ(T0.rc, 0);
    ASSERT_EQ(T0.events, 4); /* text, binary (first part), ping, binary (rest) */
    /* One over in a single frame: refused on the header, before any payload. */
    reset();
    add_frame(&S, CORIO_WS_TEXT, true, false, pl, 101, true);
    run(S.b, 6, NULL, 0, &o, &T0);
    ASSERT_EQ(T0.rc, -EPROTO);
    ASSERT_EQ(T0.code, 1009);
    expect_fail(&o, 1009);
    /* One over across fragments: the offending continuation header is refused. */
    reset();
    add_frame(&S, CORIO_WS_BINARY, false, false, pl, 60, true);
    add_frame(&S, CORIO_WS_CONT, false, false, pl, 40, true);
    add_frame(&S, CORIO_WS_CONT, true, false, pl, 1, true);
    expect_fail(&o, 1009);
    /* The limit is per message: many messages of 100 bytes are fine. */
    reset();
    for (int i = 0; i < 5; i++)
        add_frame(&S, CORIO_WS_BINARY, true, false, pl, 100, true);
    one_shot(&S, &o, &T0);
    ASSERT_EQ(T0.rc, 0);
    ASSERT_EQ(T0.events, 5);
    /* Compressed messages count their compressed size. */
    struct corio_ws_parser_opts oz = {.server = true, .allow_rsv1 = true, .max_message = 100};
    reset();
    add_frame(&S, CORIO_WS_TEXT, true, true, pl, 101, true);
    expect_fail(&oz, 1009);
    /* 0 selects 16 MiB. */
    reset();
    uint8_t ext[8] = {0, 0, 0, 0, 0x01, 0, 0, 0}; /* 16 MiB exactly */
    add_head_raw(127, ext, 8, true);
    one_shot(&S, &SRV, &T0);
    ASSERT_EQ(T0.rc, 0);
    reset();
    uint8_t ext1[8] = {0, 0, 0, 0, 0x01, 0, 0, 1};
    add_head_raw(127, ext1, 8, true);
    expect_fail(&SRV, 1009);
}

TEST(text_utf8_1007)
{
    /* Invalid in a single frame. */
    reset();
    add_frame(&S, CORIO_WS_TEXT, true, false, "ab\xc0\x80", 4, true);
    expect_fail(&SRV, 1007);
    /* A character split across fragments (and a ping between) is fine. */
    reset();
    add_frame(&S, CORIO_WS_TEXT, false, false, "\xe2", 1, true);
    add_frame(&S, CORIO_WS_PING, true, false, "", 0, true);
    add_frame(&S, CORIO_WS_CONT, false, false, "\x82", 1, true);
    add_frame(&S, CORIO_WS_CONT, true, false, "\xac", 1, true);
    expect_log(&SRV, "ping:|T:\\xe2\\x82\\xac|");
    /* Invalid only in a later fragment. */
    reset();
    add_frame(&S, CORIO_WS_TEXT, false, false, "fine", 4, true);
    add_frame(&S, CORIO_WS_CONT, true, false, "\xed\xa0\x80", 3, true);
    expect_fail(&SRV, 1007);
    /* The message ends inside a sequence (the final frame is cut short). */
    reset();
    add_frame(&S, CORIO_WS_TEXT, false, false, "x\xf0\x9f", 3, true);
    add_frame(&S, CORIO_WS_CONT, true, false, "\x98", 1, true);
    expect_fail(&SRV, 1007);
    reset();
    add_frame(&S, CORIO_WS_TEXT, true, false, "\xc3", 1, true);
    expect_fail(&SRV, 1007);
    /* Failing fast: the bad byte is enough, the frame's end need not arrive. */
    reset();
    add_frame(&S, CORIO_WS_TEXT, true, false, "\xff-and-then-more", 15, true);
    run(S.b, 7, NULL, 0, &SRV, &T0);
    ASSERT_EQ(T0.code, 1007);
    /* Binary and compressed text are not checked here. */
    reset();
    add_frame(&S, CORIO_WS_BINARY, true, false, "\xff\xc0", 2, true);
    add_frame(&S, CORIO_WS_TEXT, true, true, "\xff\xc0", 2, true);
    expect_log(&SRV_DEFLATE, "B:\\xff\\xc0|Tz:\\xff\\xc0|");
    /* The validator restarts per message. */
    reset();
    add_frame(&S, CORIO_WS_TEXT, true, false, "\xc3\xa9", 2, true);
    add_frame(&S, CORIO_WS_TEXT, true, false, "\xa9", 1, true);
    expect_fail(&SRV, 1007);
}

TEST(close_payload_rules)
{
    /* Empty: fine. */
    reset();
    add_frame(&S, CORIO_WS_CLOSE, true, false, "", 0, true);
    expect_log(&SRV, "close:|");
    /* One byte: 1002. */
    reset();
    add_frame(&S, CORIO_WS_CLOSE, true, false, "\x03", 1, true);
    expect_fail(&SRV, 1002);
    /* Codes that may not be sent: 1002. */
    static const uint16_t bad[] = {0, 1, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999,
                                   5000, 65535};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint8_t pl[2] = {(uint8_t)(bad[i] >> 8), (uint8_t)bad[i]};
        reset();
        add_frame(&S, CORIO_WS_CLOSE, true, false, pl, 2, true);
        expect_fail(&SRV, 1002);
    }
    static const uint16_t good[] = {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012,
                                    1013, 1014, 3000, 3999, 4000, 4999};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        uint8_t pl[2] = {(uint8_t)(good[i] >> 8), (uint8_t)good[i]};
        reset();
        add_frame(&S, CORIO_WS_CLOSE, true, false, pl, 2, true);
        one_shot(&S, &SRV, &T0);
        ASSERT_EQ(T0.rc, 0);
        ASSERT_EQ(T0.events, 1);
    }
    /* Reason must be UTF-8: 1007. */
    reset();
    add_frame(&S, CORIO_WS_CLOSE, true, false, "\x03\xe8ok\xce", 5, true);
    expect_fail(&SRV, 1007);
    reset();
    add_frame(&S, CORIO_WS_CLOSE, true, false, "\x03\xe8\xce\xba\xe1\xbd\xb9", 7, true);
    expect_log(&SRV, "close:\\x03\\xe8\\xce\\xba\\xe1\\xbd\\xb9|");
    /* A bad code wins over a bad reason (it comes first). */
    reset();
    add_frame(&S, CORIO_WS_CLOSE, true, false, "\x03\xed\xff", 3, true);
    expect_fail(&SRV, 1002);
}

TEST(failure_is_sticky_and_described)
{
    struct corio_ws_parser p;
    struct corio_ws_event ev;
    uint8_t bad[2] = {0x83, 0x80};
    uint8_t good[6] = {0x89, 0x80, 0, 0, 0, 0};

    corio_ws_parser_init(&p, &SRV);
    ASSERT_EQ(corio_ws_parse(&p, bad, 2, &ev), -EPROTO);
    ASSERT_EQ(p.close_code, 1002);
    ASSERT_STREQ(p.error, "unknown opcode");
    ASSERT(strlen(p.error) <= 123);
    ASSERT_EQ(corio_ws_parse(&p, good, 6, &ev), -EPROTO);
    ASSERT_EQ(ev.type, CORIO_WS_EV_NONE);
    ASSERT_EQ(p.close_code, 1002);
    /* init resets. */
    corio_ws_parser_init(&p, &SRV);
    ASSERT_EQ(corio_ws_parse(&p, good, 6, &ev), 6);
    ASSERT_EQ(ev.type, CORIO_WS_EV_CONTROL);
    ASSERT_EQ(p.close_code, 0);
    ASSERT_NULL(p.error);
    /* NULL options: client side, defaults. */
    uint8_t unmasked[2] = {0x8a, 0x00};
    corio_ws_parser_init(&p, NULL);
    ASSERT_EQ(corio_ws_parse(&p, unmasked, 2, &ev), 2);
    ASSERT_EQ(ev.opcode, CORIO_WS_PONG);
}

TEST(error_streams_fail_alike_at_every_split)
{
    /* A valid prefix, then the error: the complete messages before it are reported, then the
     * same code whatever the split. */
    reset();
    add_text(&S, CORIO_WS_TEXT, false, "ok\xc3", true);
    add_text(&S, CORIO_WS_PING, true, "p", true);
    add_text(&S, CORIO_WS_CONT, true, "\xa9", true);
    add_text(&S, CORIO_WS_BINARY, false, "bin", true);
    add_frame(&S, CORIO_WS_CONT, false, false, "\x80\x81", 2, true);
    add_text(&S, CORIO_WS_TEXT, true, "bad", true);
    one_shot(&S, &SRV, &T0);
    ASSERT_STREQ(T0.log, "ping:p|T:ok\\xc3\\xa9|");
    ASSERT_EQ(T0.code, 1002);
    all_splits(&S, &SRV, 400);

    reset();
    add_text(&S, CORIO_WS_TEXT, false, "abc", true);
    add_frame(&S, CORIO_WS_CONT, false, false, "d\xe0\x80", 3, true);
    add_text(&S, CORIO_WS_CONT, true, "e", true);
    one_shot(&S, &SRV, &T0);
    ASSERT_EQ(T0.code, 1007);
    all_splits(&S, &SRV, 400);
}

/* ---- close payloads ---------------------------------------------------------------------- */

TEST(close_code_validity)
{
    for (unsigned c = 0; c < 65536; c++) {
        bool want = (c >= 1000 && c <= 1003) || (c >= 1007 && c <= 1014) ||
                    (c >= 3000 && c <= 4999);
        ASSERT_EQ(corio_ws_close_code_valid((uint16_t)c), want);
    }
}

TEST(close_build_and_split)
{
    uint8_t out[125];
    uint16_t code;
    const char *reason;
    size_t rlen;

    size_t n = corio_ws_close_build(out, 1000, "bye");
    ASSERT_EQ(n, 5);
    ASSERT_MEMEQ(out, "\x03\xe8" "bye", 5);
    corio_ws_close_payload(out, n, &code, &reason, &rlen);
    ASSERT_EQ(code, 1000);
    ASSERT_EQ(rlen, 3);
    ASSERT_MEMEQ(reason, "bye", 3);

    n = corio_ws_close_build(out, 4999, NULL);
    ASSERT_EQ(n, 2);
    corio_ws_close_payload(out, n, &code, &reason, &rlen);
    ASSERT_EQ(code, 4999);
    ASSERT_EQ(rlen, 0);

    /* Codes that may not be sent give an empty payload; empty splits as 1005. */
    ASSERT_EQ(corio_ws_close_build(out, 0, "x"), 0);
    ASSERT_EQ(corio_ws_close_build(out, 1005, "x"), 0);
    ASSERT_EQ(corio_ws_close_build(out, 1006, NULL), 0);
    ASSERT_EQ(corio_ws_close_build(out, 5000, NULL), 0);
    corio_ws_close_payload(out, 0, &code, &reason, &rlen);
    ASSERT_EQ(code, CORIO_WS_CLOSE_NO_STATUS);
    ASSERT_EQ(rlen, 0);

    /* Truncation to 123 bytes, on a character boundary. */
    char r[300];
    memset(r, 'a', 200);
    r[200] = '\0';
    n = corio_ws_close_build(out, 1001, r);
    ASSERT_EQ(n, 125);
    memset(r, 'a', 122);
    strcpy(r + 122, "\xc3\xa9zz"); /* é straddles byte 123 */
    n = corio_ws_close_build(out, 1001, r);
    ASSERT_EQ(n, 2 + 122);
    memset(r, 'a', 121);
    strcpy(r + 121, "\xc3\xa9zz"); /* é ends exactly at 123 */
    n = corio_ws_close_build(out, 1001, r);
    ASSERT_EQ(n, 125);
    ASSERT_MEMEQ(out + 2 + 121, "\xc3\xa9", 2);
    memset(r, 'a', 120);
    strcpy(r + 120, "\xf0\x9f\x98\x80"); /* 4 bytes over 120..123: cut whole */
    n = corio_ws_close_build(out, 1001, r);
    ASSERT_EQ(n, 2 + 120);
    for (size_t lead = 0; lead < 130; lead++) { /* any cut of long text stays valid UTF-8 */
        size_t k = 0;
        for (; k < lead; k++)
            r[k] = 'a';
        for (; k + 2 < 290; k += 2)
            memcpy(r + k, "\xce\xbb", 2);
        r[k] = '\0';
        n = corio_ws_close_build(out, 1000, r);
        ASSERT(n >= 124 && n <= 125);
        ASSERT(corio_ws_utf8_valid(out + 2, n - 2));
    }
    /* An invalid reason is left out rather than sent. */
    n = corio_ws_close_build(out, 1011, "bad \xff");
    ASSERT_EQ(n, 2);
    ASSERT_MEMEQ(out, "\x03\xf3", 2);

    /* A built payload passes the parser's checks. */
    n = corio_ws_close_build(out, 3001, "\xe2\x98\x83 snow");
    reset();
    add_frame(&S, CORIO_WS_CLOSE, true, false, out, n, false);
    one_shot(&S, &CLI, &T0);
    ASSERT_EQ(T0.rc, 0);
    ASSERT_EQ(T0.events, 1);
}

/* ---- handshake keys ---------------------------------------------------------------------- */

TEST(accept_key_rfc6455_example)
{
    char out[29];
    const char *key = "dGhlIHNhbXBsZSBub25jZQ==";

    ASSERT_EQ(corio_ws_accept_key(key, strlen(key), out), 0);
    ASSERT_STREQ(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    /* The key need not be NUL-terminated. */
    char raw[24];
    memcpy(raw, key, 24);
    ASSERT_EQ(corio_ws_accept_key(raw, 24, out), 0);
    ASSERT_STREQ(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST(accept_key_rejects_malformed_keys)
{
    char out[29];
    static const char *bad[] = {
        "",
        "dGhlIHNhbXBsZSBub25jZQ=",    /* 23 */
        "dGhlIHNhbXBsZSBub25jZQ===",  /* 25 */
        "dGhlIHNhbXBsZSBub25jZQQ=",   /* 17 bytes' shape */
        "dGhlIHNhbXBsZSBub25jZ===",   /* padding too early */
        "dGhlIHNhbXBsZSBub25jZ Q==",
        "dGhlIHNhbXBsZSBub25j-Q==",   /* URL-safe alphabet */
        "dGhlIHNhbXBsZSBub25jZQ\0\0",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        size_t n = i == 7 ? 24 : strlen(bad[i]);
        ASSERT_EQ(corio_ws_accept_key(bad[i], n, out), -EINVAL);
    }
    ASSERT_EQ(corio_ws_accept_key("dGhlIHNhbXBsZSBub25jZQ==", 23, out), -EINVAL);
}

TEST(client_keys_are_random_and_acceptable)
{
    char a[25], b[25], acc[29];

    ASSERT_EQ(corio_ws_client_key(a), 0);
    ASSERT_EQ(corio_ws_client_key(b), 0);
    ASSERT_EQ(strlen(a), 24);
    ASSERT_STREQ(a + 22, "==");
    ASSERT(strcmp(a, b) != 0);
    ASSERT_EQ(corio_ws_accept_key(a, 24, acc), 0);
    ASSERT_EQ(strlen(acc), 28);
    ASSERT_EQ(acc[27], '=');
}
