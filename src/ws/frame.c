/* SPDX-License-Identifier: MIT */
/* ws/frame.c: the WebSocket frame parser, frame headers, masking and close payloads (see
 * corio/ws_frame.h for the contract and the list of protocol checks).
 *
 * Shape. The parser is a two-state machine, HEAD and PAYLOAD (plus the absorbing FAILED). In
 * HEAD it needs the whole frame header in the buffer, or returns 0 and lets the caller gather
 * more (never consuming part of a header keeps the state small and the code simple; the header
 * is at most 14 bytes, so re-looking at it costs nothing). The checks that need only the first
 * two bytes run as soon as those are there, so garbage is refused at once. A data frame's header
 * is consumed together with as much payload as the buffer holds; the rest of the payload comes
 * out in PAYLOAD, one DATA event per call. A control frame is consumed only whole.
 *
 * Invariants: the stream of events, and the verdict, are a function of the byte stream alone,
 * however it is split across calls (the fuzz target and the split tests check this); payload is
 * unmasked exactly once, in place; _mask is the frame's key rotated by the number of payload
 * bytes already delivered, so the next byte always uses _mask[0]; _msg_len never exceeds
 * _max_message.
 *
 * Speed. No allocation, no copy; masking XORs 16 bytes at a time with SSE2 where available and 8
 * bytes at a time (memcpy loads and stores, alignment-free) otherwise and for the tail.
 *
 * Not here: inflating compressed messages (deflate.c; the caller does it), UTF-8 validation of
 * compressed text (the caller validates the inflated bytes), any I/O, close handshakes or
 * pings: those are the connection's business (ws.h).
 */
#include "corio/ws_frame.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

#if defined(__SSE2__) && !defined(CORIO_WS_SCALAR)
#include <emmintrin.h>
#define USE_SSE2 1
#endif

enum { ST_HEAD, ST_PAYLOAD, ST_FAILED };

/* ---- masking ----------------------------------------------------------------------------- */

/* The key bytes that apply to p[0..3] when p is at payload offset r, as a word in memory
 * order (so it XORs correctly on either endianness). */
static inline uint32_t key_at(const uint8_t mask[4], unsigned r)
{
    uint8_t m[4] = {mask[r & 3], mask[(r + 1) & 3], mask[(r + 2) & 3], mask[(r + 3) & 3]};
    uint32_t k;
    memcpy(&k, m, sizeof k);
    return k;
}

/* XORs p[0..n) with the repeating 4-byte key k (memory order, starting at p[0]). */
static inline void xor_key(uint8_t *p, size_t n, uint32_t k)
{
    uint64_t w = (uint64_t)k << 32 | k; /* both halves equal: endianness does not matter */
    uint8_t m[8];
    size_t i = 0;

#ifdef USE_SSE2
    if (n >= 16) {
        const __m128i mv = _mm_set1_epi64x((long long)w);
        for (; n - i >= 64; i += 64) {
            __m128i a = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
            __m128i b = _mm_loadu_si128((const __m128i *)(const void *)(p + i + 16));
            __m128i c = _mm_loadu_si128((const __m128i *)(const void *)(p + i + 32));
            __m128i d = _mm_loadu_si128((const __m128i *)(const void *)(p + i + 48));
            _mm_storeu_si128((__m128i *)(void *)(p + i), _mm_xor_si128(a, mv));
            _mm_storeu_si128((__m128i *)(void *)(p + i + 16), _mm_xor_si128(b, mv));
            _mm_storeu_si128((__m128i *)(void *)(p + i + 32), _mm_xor_si128(c, mv));
            _mm_storeu_si128((__m128i *)(void *)(p + i + 48), _mm_xor_si128(d, mv));
        }
        for (; n - i >= 16; i += 16) {
            __m128i a = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
            _mm_storeu_si128((__m128i *)(void *)(p + i), _mm_xor_si128(a, mv));
        }
    }
#endif
    for (; n - i >= 8; i += 8) {
        uint64_t x;
        memcpy(&x, p + i, sizeof x);
        x ^= w;
        memcpy(p + i, &x, sizeof x);
    }
    /* Every step above is a multiple of 8, so m[i & 7] is still the right key byte. */
    memcpy(m, &w, sizeof m);
    for (; i < n; i++)
        p[i] ^= m[i & 7];
}

void corio_ws_mask(uint8_t *p, size_t n, const uint8_t mask[4], uint64_t offset)
{
    xor_key(p, n, key_at(mask, (unsigned)(offset & 3)));
}

int corio_ws_mask_key(uint8_t mask[4])
{
    for (;;) {
        ssize_t r = getrandom(mask, 4, 0);
        if (r == 4)
            return 0;
        if (r < 0 && errno != EINTR)
            return -errno;
        /* A 4-byte request is never short once the pool is up; EINTR only before that. */
    }
}

/* ---- frame headers (send side) ----------------------------------------------------------- */

size_t corio_ws_frame_head(uint8_t *out, uint8_t opcode, bool fin, bool rsv1, uint64_t payload_len,
                           const uint8_t *mask)
{
    uint8_t mbit = mask ? 0x80 : 0;
    size_t h;

    out[0] = (uint8_t)((fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | (opcode & 0x0f));
    if (payload_len < 126) {
        out[1] = (uint8_t)(mbit | payload_len);
        h = 2;
    } else if (payload_len <= 0xffff) {
        out[1] = mbit | 126;
        out[2] = (uint8_t)(payload_len >> 8);
        out[3] = (uint8_t)payload_len;
        h = 4;
    } else {
        out[1] = mbit | 127;
        for (unsigned k = 0; k < 8; k++)
            out[2 + k] = (uint8_t)(payload_len >> (56 - 8 * k));
        h = 10;
    }
    if (mask) {
        memcpy(out + h, mask, 4);
        h += 4;
    }
    return h;
}

/* ---- close payloads ---------------------------------------------------------------------- */

bool corio_ws_close_code_valid(uint16_t code)
{
    /* 1004 reserved, 1005/1006 local-only, 1015 (TLS failure) local-only, 1016..2999 reserved
     * for future protocol use (RFC 6455 7.4.2); 1012..1014 are registered with IANA. */
    return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
           (code >= 3000 && code <= 4999);
}

void corio_ws_close_payload(const uint8_t *data, size_t len, uint16_t *code, const char **reason,
                            size_t *reason_len)
{
    if (len < 2) {
        *code = CORIO_WS_CLOSE_NO_STATUS;
        *reason = "";
        *reason_len = 0;
        return;
    }
    *code = (uint16_t)((data[0] << 8) | data[1]);
    *reason = (const char *)data + 2;
    *reason_len = len - 2;
}

size_t corio_ws_close_build(uint8_t out[125], uint16_t code, const char *reason)
{
    size_t rlen = 0;

    if (!corio_ws_close_code_valid(code))
        return 0;
    out[0] = (uint8_t)(code >> 8);
    out[1] = (uint8_t)code;
    if (reason) {
        rlen = strnlen(reason, CORIO_WS_MAX_CLOSE_REASON + 1);
        if (rlen > CORIO_WS_MAX_CLOSE_REASON) {
            /* reason[rlen] is the first byte left out: if it continues a character, that
             * character would be cut, so back up to its lead byte and leave it out whole. */
            rlen = CORIO_WS_MAX_CLOSE_REASON;
            while (rlen > 0 && ((uint8_t)reason[rlen] & 0xc0) == 0x80)
                rlen--;
        }
        if (!corio_ws_utf8_valid(reason, rlen))
            rlen = 0;
        memcpy(out + 2, reason, rlen);
    }
    return 2 + rlen;
}

/* ---- the parser -------------------------------------------------------------------------- */

void corio_ws_parser_init(struct corio_ws_parser *p, const struct corio_ws_parser_opts *o)
{
    memset(p, 0, sizeof *p);
    p->_state = ST_HEAD;
    if (o) {
        p->_server = o->server;
        p->_allow_rsv1 = o->allow_rsv1;
        p->_max_message = o->max_message;
    }
    if (p->_max_message == 0)
        p->_max_message = CORIO_WS_DEFAULT_MAX_MESSAGE;
}

bool corio_ws_parser_in_message(const struct corio_ws_parser *p)
{
    return p->_msg_op != 0;
}

static ssize_t fail(struct corio_ws_parser *p, uint16_t code, const char *why)
{
    p->_state = ST_FAILED;
    p->close_code = code;
    p->error = why;
    return -EPROTO;
}

/* The checks that need only the first two header bytes, in the contract's order. */
static ssize_t check_start(struct corio_ws_parser *p, uint8_t b0, uint8_t b1)
{
    uint8_t op = b0 & 0x0f;
    bool control = op & 0x08;

    if (!(b1 & 0x80) != !p->_server)
        return fail(p, CORIO_WS_CLOSE_PROTOCOL,
                    p->_server ? "client frame is not masked" : "server frame is masked");
    if (b0 & 0x30)
        return fail(p, CORIO_WS_CLOSE_PROTOCOL, "reserved bit RSV2 or RSV3 is set");
    if ((op >= 3 && op <= 7) || op >= 11)
        return fail(p, CORIO_WS_CLOSE_PROTOCOL, "unknown opcode");
    if (b0 & 0x40) {
        if (!p->_allow_rsv1)
            return fail(p, CORIO_WS_CLOSE_PROTOCOL, "RSV1 is set but no extension uses it");
        if (control)
            return fail(p, CORIO_WS_CLOSE_PROTOCOL, "RSV1 is set on a control frame");
        if (op == CORIO_WS_CONT)
            return fail(p, CORIO_WS_CLOSE_PROTOCOL, "RSV1 is set on a continuation frame");
    }
    if (control) {
        if (!(b0 & 0x80))
            return fail(p, CORIO_WS_CLOSE_PROTOCOL, "control frame is fragmented");
        if ((b1 & 0x7f) > CORIO_WS_MAX_CONTROL)
            return fail(p, CORIO_WS_CLOSE_PROTOCOL, "control frame is longer than 125 bytes");
    } else if (op == CORIO_WS_CONT) {
        if (!p->_msg_op)
            return fail(p, CORIO_WS_CLOSE_PROTOCOL,
                        "continuation frame without a message in progress");
    } else if (p->_msg_op) {
        return fail(p, CORIO_WS_CLOSE_PROTOCOL,
                    "new data message while a fragmented message is in progress");
    }
    return 0;
}

static ssize_t check_close(struct corio_ws_parser *p, const uint8_t *d, size_t n)
{
    if (n == 1)
        return fail(p, CORIO_WS_CLOSE_PROTOCOL, "close frame has a 1-byte payload");
    if (n >= 2) {
        if (!corio_ws_close_code_valid((uint16_t)((d[0] << 8) | d[1])))
            return fail(p, CORIO_WS_CLOSE_PROTOCOL, "close frame has an invalid status code");
        if (!corio_ws_utf8_valid(d + 2, n - 2))
            return fail(p, CORIO_WS_CLOSE_INVALID_DATA, "close reason is not valid UTF-8");
    }
    return 0;
}

/* Delivers up to avail bytes of the current data frame's payload from d; `before` is what this
 * call has consumed ahead of d (the header, when it came in the same call). */
static ssize_t deliver(struct corio_ws_parser *p, uint8_t *d, size_t avail, size_t before,
                       struct corio_ws_event *ev)
{
    size_t n = p->_frame_left < avail ? (size_t)p->_frame_left : avail;
    uint8_t op = p->_msg_op;
    bool last;

    if (n == 0 && p->_frame_left != 0)
        return (ssize_t)before;
    if (p->_masked && n > 0) {
        uint32_t k;
        memcpy(&k, p->_mask, sizeof k);
        xor_key(d, n, k);
        /* The next byte of this frame is at offset + n: keep _mask aligned to it. */
        k = key_at(p->_mask, (unsigned)(n & 3));
        memcpy(p->_mask, &k, sizeof k);
    }
    p->_frame_left -= n;
    last = p->_frame_left == 0 && p->_fin;
    if (op == CORIO_WS_TEXT && !p->_msg_compressed) {
        if (!corio_ws_utf8_feed(&p->_utf8, d, n))
            return fail(p, CORIO_WS_CLOSE_INVALID_DATA, "text message is not valid UTF-8");
        if (last && !corio_ws_utf8_done(&p->_utf8))
            return fail(p, CORIO_WS_CLOSE_INVALID_DATA,
                        "text message ends inside a UTF-8 sequence");
    }
    if (p->_frame_left == 0) {
        p->_state = ST_HEAD;
        if (p->_fin)
            p->_msg_op = 0;
    }
    if (n == 0 && !last)
        return (ssize_t)before; /* empty non-final frame: nothing to tell */
    ev->type = CORIO_WS_EV_DATA;
    ev->opcode = op;
    ev->compressed = p->_msg_compressed;
    ev->first = !p->_msg_started;
    ev->last = last;
    ev->data = d;
    ev->len = n;
    p->_msg_started = true;
    return (ssize_t)(before + n);
}

/* Parses one frame header at buf (state HEAD). A state machine over the header's fields: long
 * because the checks must come in a fixed order, not because it branches much. */
static ssize_t parse_head(struct corio_ws_parser *p, uint8_t *buf, size_t len,
                          struct corio_ws_event *ev)
{
    uint8_t b0, b1, len7, op;
    size_t hlen;
    uint64_t plen;
    ssize_t rc;

    if (len < 2)
        return 0;
    b0 = buf[0];
    b1 = buf[1];
    if ((rc = check_start(p, b0, b1)) < 0)
        return rc;
    op = b0 & 0x0f;
    len7 = b1 & 0x7f;
    hlen = 2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0) + (b1 & 0x80 ? 4 : 0);
    if (len < hlen)
        return 0;
    if (len7 == 126) {
        plen = (uint64_t)buf[2] << 8 | buf[3];
        if (plen < 126)
            return fail(p, CORIO_WS_CLOSE_PROTOCOL, "16-bit frame length is not minimal");
    } else if (len7 == 127) {
        plen = 0;
        for (unsigned k = 0; k < 8; k++)
            plen = plen << 8 | buf[2 + k];
        if (plen >> 63)
            return fail(p, CORIO_WS_CLOSE_PROTOCOL, "64-bit frame length has the top bit set");
        if (plen <= 0xffff)
            return fail(p, CORIO_WS_CLOSE_PROTOCOL, "64-bit frame length is not minimal");
    } else {
        plen = len7;
    }

    if (op & 0x08) {
        uint8_t *d = buf + hlen;
        if (len - hlen < plen)
            return 0; /* control frames only whole; at most 139 bytes to wait for */
        if (b1 & 0x80) {
            uint32_t k;
            memcpy(&k, buf + hlen - 4, sizeof k);
            xor_key(d, (size_t)plen, k);
        }
        if (op == CORIO_WS_CLOSE && (rc = check_close(p, d, (size_t)plen)) < 0)
            return rc;
        ev->type = CORIO_WS_EV_CONTROL;
        ev->opcode = op;
        ev->last = true;
        ev->data = d;
        ev->len = (size_t)plen;
        return (ssize_t)(hlen + plen);
    }

    if (op != CORIO_WS_CONT) {
        p->_msg_op = op;
        p->_msg_len = 0;
        p->_msg_compressed = b0 & 0x40;
        p->_msg_started = false;
        p->_utf8 = (struct corio_ws_utf8){0};
    }
    if (plen > p->_max_message - p->_msg_len)
        return fail(p, CORIO_WS_CLOSE_TOO_BIG, "message is larger than the limit");
    p->_msg_len += plen;
    p->_frame_left = plen;
    p->_fin = b0 & 0x80;
    p->_masked = b1 & 0x80;
    if (p->_masked)
        memcpy(p->_mask, buf + hlen - 4, 4);
    p->_state = ST_PAYLOAD;
    return deliver(p, buf + hlen, len - hlen, hlen, ev);
}

ssize_t corio_ws_parse(struct corio_ws_parser *p, uint8_t *buf, size_t len,
                       struct corio_ws_event *ev)
{
    *ev = (struct corio_ws_event){.type = CORIO_WS_EV_NONE};
    switch (p->_state) {
    case ST_HEAD:
        return parse_head(p, buf, len, ev);
    case ST_PAYLOAD:
        return deliver(p, buf, len, 0, ev);
    default:
        return -EPROTO;
    }
}
