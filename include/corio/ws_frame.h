/* SPDX-License-Identifier: MIT */
/* corio/ws_frame.h: the WebSocket codec (RFC 6455 framing, RFC 7692 permessage-deflate), the
 * pure part under corio/ws.h.
 *
 * Overview. Everything here is pure code over the caller's memory: no I/O, no tasks, no loop,
 * no logging, no global state. Every function may be called from any thread and never
 * suspends; objects (a parser, a validator, a deflate context) belong to whoever holds them and
 * must not be used from two threads at once.
 *
 *  - corio_ws_utf8_*: a streaming UTF-8 validator (RFC 3629: no overlong forms, no surrogates,
 *    nothing above U+10FFFF), a byte-class DFA with an ASCII fast path that tests 8 bytes at a
 *    time.
 *  - corio_ws_parser / corio_ws_parse: the receive side. An incremental parser in the manner of
 *    picohttpparser: it consumes bytes from the caller's buffer, unmasks payload in place and
 *    reports views into that buffer; it never allocates or copies. It enforces every framing
 *    rule of RFC 6455 and reports a violation with the close code to send.
 *  - corio_ws_frame_head / corio_ws_mask: the send side (frame headers, masking).
 *  - corio_ws_close_*: close frame payloads.
 *  - corio_ws_accept_key / corio_ws_client_key: the handshake's key arithmetic.
 *  - corio_ws_deflate_*: permessage-deflate negotiation and per-message compression (zlib).
 *
 * Error convention: functions return 0 / a count, or a negative errno: -EPROTO the peer broke
 * the protocol, -EMSGSIZE a limit was hit, -EINVAL malformed input, -ENOMEM.
 */
#ifndef CORIO_WS_FRAME_H
#define CORIO_WS_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifndef CORIO_API
#define CORIO_API __attribute__((visibility("default")))
#endif

#ifdef __cplusplus
extern "C" {
#endif

enum corio_ws_opcode {
    CORIO_WS_CONT = 0,
    CORIO_WS_TEXT = 1,
    CORIO_WS_BINARY = 2,
    CORIO_WS_CLOSE = 8,
    CORIO_WS_PING = 9,
    CORIO_WS_PONG = 10,
};

/* Close codes (RFC 6455 section 7.4.1). */
#define CORIO_WS_CLOSE_NORMAL 1000
#define CORIO_WS_CLOSE_GOING_AWAY 1001
#define CORIO_WS_CLOSE_PROTOCOL 1002
#define CORIO_WS_CLOSE_UNSUPPORTED 1003
#define CORIO_WS_CLOSE_NO_STATUS 1005 /* never sent: "close frame had no code" */
#define CORIO_WS_CLOSE_ABNORMAL 1006  /* never sent: "no close frame" */
#define CORIO_WS_CLOSE_INVALID_DATA 1007
#define CORIO_WS_CLOSE_POLICY 1008
#define CORIO_WS_CLOSE_TOO_BIG 1009
#define CORIO_WS_CLOSE_EXTENSION 1010
#define CORIO_WS_CLOSE_INTERNAL 1011
#define CORIO_WS_CLOSE_TRY_AGAIN 1013

#define CORIO_WS_MAX_HEAD 14           /* longest frame header: 2 + 8 (length) + 4 (mask) */
#define CORIO_WS_MAX_CONTROL 125       /* longest control frame payload */
#define CORIO_WS_MAX_CLOSE_REASON 123  /* longest close reason (125 minus the 2-byte code) */
#define CORIO_WS_DEFAULT_MAX_MESSAGE (16u << 20) /* max_message 0 selects this (16 MiB) */

/* ---- streaming UTF-8 validator ------------------------------------------------------------ */

/* Validator state. Zero-initialised = at the start of a text; reset by assigning {0}. */
struct corio_ws_utf8 {
    uint32_t state; /* private: DFA state; 0 = between characters */
    uint32_t _pad;
};

/* Feeds the next n bytes of a text (which may be split anywhere, even inside a character).
 * Returns false as soon as the text so far cannot be the prefix of valid UTF-8; the failure is
 * sticky (later calls return false too). n 0 is fine (p may then be NULL).
 * Any thread; never suspends. */
CORIO_API bool corio_ws_utf8_feed(struct corio_ws_utf8 *v, const void *p, size_t n);

/* True if everything fed so far is valid and ends on a character boundary (the text may end
 * here). False if invalid, or inside a multi-byte sequence.
 * Any thread; never suspends. */
CORIO_API bool corio_ws_utf8_done(const struct corio_ws_utf8 *v);

/* Whether p[0..n) is, as a whole, valid UTF-8.
 * Any thread; never suspends. */
CORIO_API bool corio_ws_utf8_valid(const void *p, size_t n);

/* ---- the incremental frame parser (receive side) ------------------------------------------ */

struct corio_ws_parser_opts {
    /* true: the peer is a client, frames must be masked (unmasked -> 1002); false: the peer is
     * a server, frames must NOT be masked (masked -> 1002). */
    bool server;
    /* permessage-deflate was negotiated: RSV1 is allowed on the first frame of a data message
     * (never on control or continuation frames). */
    bool allow_rsv1;
    /* Limit on a data message's total payload (sum of its fragments; the compressed size when
     * RSV1). 0 selects CORIO_WS_DEFAULT_MAX_MESSAGE. Over it -> 1009. */
    uint64_t max_message;
};

/* Parser state. A complete struct so that users embed it; only close_code and error are
 * public, the members starting with '_' are private (read or write them and you are on your
 * own). Initialise with corio_ws_parser_init; there is nothing to release.
 * Invariant: _state is HEAD, PAYLOAD or FAILED (see frame.c); _frame_left != 0 only in PAYLOAD;
 * _msg_op != 0 exactly while a data message is in progress (its first frame seen, FIN not). */
struct corio_ws_parser {
    /* After corio_ws_parse returned -EPROTO: the close code to send (1002, 1007 or 1009).
     * 0 while the parser has not failed. */
    uint16_t close_code;
    /* After -EPROTO: a static English sentence naming the problem (for logs, and usable as a
     * close reason: ASCII, at most 123 bytes). NULL while the parser has not failed. */
    const char *error;

    /* private */
    uint64_t _max_message; /* effective limit */
    uint64_t _msg_len;     /* payload bytes of the message in progress, announced by headers */
    uint64_t _frame_left;  /* payload bytes of the current data frame still to be delivered */
    struct corio_ws_utf8 _utf8; /* the uncompressed TEXT message in progress */
    uint8_t _mask[4];      /* current frame's mask key, rotated by the bytes delivered so far */
    uint8_t _state;        /* HEAD, PAYLOAD, FAILED */
    uint8_t _msg_op;       /* TEXT/BINARY of the message in progress, 0 = none */
    bool _server;
    bool _allow_rsv1;
    bool _masked;          /* current data frame is masked */
    bool _fin;             /* current data frame has FIN */
    bool _msg_compressed;  /* message in progress had RSV1 */
    bool _msg_started;     /* a DATA event with first = true was reported for the message */
    uint8_t _reserved[8];
};

/* Initialises (or resets) *p with options *o (borrowed; NULL = all defaults: client side,
 * no RSV1, 16 MiB). Never fails.
 * Any thread; never suspends. */
CORIO_API void corio_ws_parser_init(struct corio_ws_parser *p,
                                    const struct corio_ws_parser_opts *o);

enum corio_ws_event_type { CORIO_WS_EV_NONE = 0, CORIO_WS_EV_DATA, CORIO_WS_EV_CONTROL };

struct corio_ws_event {
    enum corio_ws_event_type type;
    /* DATA: the message's opcode (TEXT or BINARY, also for continuation frames);
     * CONTROL: CLOSE, PING or PONG. */
    uint8_t opcode;
    /* DATA: the message had RSV1 (the payload is deflate data; the caller inflates it and
     * validates UTF-8 itself). */
    bool compressed;
    /* DATA: these are the first bytes of a new message (reported once per message, possibly
     * with len 0 for an empty message). */
    bool first;
    /* DATA: these are the message's last bytes (final frame, all of its payload); always true
     * for CONTROL. */
    bool last;
    /* Payload bytes, already unmasked IN PLACE inside the caller's buffer (a view into buf). */
    uint8_t *data;
    /* May be 0 (e.g. an empty final frame: DATA with last = true and len 0). */
    size_t len;
};

/* Consumes bytes from buf[0..len) (mutable: payload is unmasked in place) and reports at most
 * one event in *ev. Returns the number of bytes consumed (>= 0) and sets ev->type; NONE if it
 * consumed only header bytes or needs more input. It returns 0 with NONE when it needs more
 * bytes: the caller keeps the unconsumed tail and calls again with more appended (a partial
 * frame header is never consumed, so the tail to keep is at most CORIO_WS_MAX_HEAD - 1 bytes,
 * or a whole control frame: at most 125 + 14 bytes).
 *
 * Data payload is delivered incrementally as it arrives: a data frame's header and as much of
 * its payload as is in buf come back together in one DATA event, the rest in later DATA events
 * (one per call). An empty non-final frame gives no event; an empty final frame gives DATA with
 * last = true and len 0. A CONTROL frame is delivered only whole (it must be entirely in buf).
 * Control frames may arrive between the fragments of a data message. The views (ev->data) point
 * into buf and are valid until the caller moves or overwrites those bytes.
 *
 * Protocol checks, in stream order (each returns -EPROTO after setting p->close_code and
 * p->error; the parser then stays failed and every later call returns -EPROTO again):
 *   - masking rule per opts.server -> 1002;
 *   - RSV2 or RSV3 set, or RSV1 when not allowed, on a control frame or on a continuation
 *     frame -> 1002;
 *   - unknown opcode (3-7, 11-15) -> 1002;
 *   - control frame with FIN = 0, or with payload > 125 -> 1002;
 *   - continuation without a message in progress, or a new TEXT/BINARY while a message is in
 *     progress -> 1002;
 *   - non-minimal 16- or 64-bit length encoding (RFC 6455 5.2: the minimal number of bytes
 *     MUST be used) -> 1002; 64-bit length with the top bit set -> 1002;
 *   - message over max_message -> 1009, decided on the frame header before its payload
 *     arrives;
 *   - uncompressed TEXT messages are UTF-8-validated incrementally across frames and reads:
 *     invalid, or the message ends inside a sequence -> 1007 (reported as soon as the bytes
 *     that prove it arrive; DATA events already reported for the message were valid so far);
 *   - CLOSE payload of length 1 -> 1002; a code that may not be sent (see
 *     corio_ws_close_code_valid) -> 1002; a reason that is not UTF-8 -> 1007.
 * Any thread; never suspends; never allocates. */
CORIO_API ssize_t corio_ws_parse(struct corio_ws_parser *p, uint8_t *buf, size_t len,
                                 struct corio_ws_event *ev);

/* Whether a data message is in progress (its first frame seen, its final frame not yet).
 * Any thread; never suspends. */
CORIO_API bool corio_ws_parser_in_message(const struct corio_ws_parser *p);

/* ---- close frames ------------------------------------------------------------------------- */

/* Splits a CLOSE payload that the parser has validated: *code = 1005 (NO_STATUS) if the payload
 * is empty, else the code; *reason is a view into data (not NUL-terminated) of *reason_len
 * bytes. Given an unvalidated payload of length 1 it reports 1005 and no reason.
 * Any thread; never suspends. */
CORIO_API void corio_ws_close_payload(const uint8_t *data, size_t len, uint16_t *code,
                                      const char **reason, size_t *reason_len);

/* Builds a CLOSE payload into out: code in network order followed by reason (a NUL-terminated
 * string, borrowed; NULL = none) truncated to 123 bytes on a UTF-8 character boundary. Returns
 * its length (<= 125). A code that may not be sent (corio_ws_close_code_valid false, which
 * includes 0, 1005 and 1006) gives an empty payload (length 0); a reason that is not valid
 * UTF-8 is left out (the code alone is sent), so the peer never receives a close it must reject
 * with 1007.
 * Any thread; never suspends. */
CORIO_API size_t corio_ws_close_build(uint8_t out[125], uint16_t code, const char *reason);

/* Whether a code may appear in a close frame on the wire: 1000-1003, 1007-1014, 3000-4999.
 * Any thread; never suspends. */
CORIO_API bool corio_ws_close_code_valid(uint16_t code);

/* ---- encoding (send side) ----------------------------------------------------------------- */

/* Writes a frame header into out (>= CORIO_WS_MAX_HEAD bytes) and returns its length (2 to 14),
 * with the minimal length encoding. mask NULL = unmasked (server side); else the 4-byte key
 * (borrowed) is written after the length (client side) and the caller masks the payload with
 * corio_ws_mask. opcode is written as given (low 4 bits).
 * Any thread; never suspends. */
CORIO_API size_t corio_ws_frame_head(uint8_t *out, uint8_t opcode, bool fin, bool rsv1,
                                     uint64_t payload_len, const uint8_t *mask);

/* XORs p[0..n) in place with the mask key, where p starts at byte `offset` of the payload, so a
 * payload may be masked (or unmasked) in pieces. Word at a time; p needs no alignment.
 * Any thread; never suspends. */
CORIO_API void corio_ws_mask(uint8_t *p, size_t n, const uint8_t mask[4], uint64_t offset);

/* Fills mask[4] with a fresh random key (getrandom). Returns 0 or -errno (-ENOSYS and the like;
 * never -EAGAIN once the system's entropy pool is initialised).
 * Any thread; never suspends. */
CORIO_API int corio_ws_mask_key(uint8_t mask[4]);

/* ---- handshake helpers -------------------------------------------------------------------- */

/* Computes Sec-WebSocket-Accept for a client's Sec-WebSocket-Key: base64(SHA-1(key + GUID)),
 * 28 characters + NUL into out[29]. key (borrowed, key_len bytes, no NUL needed) must be the
 * base64 of 16 bytes: exactly 24 characters, 22 from the base64 alphabet then "==" (the unused
 * low bits of the 22nd character are not checked) -> else -EINVAL. Uses OpenSSL's SHA1.
 * Any thread; never suspends. */
CORIO_API int corio_ws_accept_key(const char *key, size_t key_len, char out[29]);

/* Writes a random client key (base64 of 16 bytes from getrandom: 24 characters + NUL) into
 * out[25]. Returns 0, or -errno if getrandom fails.
 * Any thread; never suspends. */
CORIO_API int corio_ws_client_key(char out[25]);

/* ---- permessage-deflate (RFC 7692) with zlib --------------------------------------------- */

#define CORIO_WS_DEFLATE_RESP_MAX 160 /* room for any response corio_ws_deflate_negotiate writes */

struct corio_ws_deflate_params {
    bool server_no_context_takeover, client_no_context_takeover;
    uint8_t server_max_window_bits, client_max_window_bits; /* 8..15; 0 = not stated (15) */
};

/* Server side: picks the first acceptable permessage-deflate offer in a Sec-WebSocket-Extensions
 * header value (offer, len bytes, borrowed; several extensions and offers comma-separated,
 * parameters ';'-separated, token or quoted-string values, optional whitespace). An offer is
 * declined (and the next one considered) if it has an unknown parameter, a parameter twice, a
 * value where none belongs, no value for server_max_window_bits, or a window-bits value that is
 * not 8..15. Unknown extensions are skipped. Fills *agreed (parameters as they apply to both
 * sides) and writes the response header value into resp (cap bytes, NUL-terminated), echoing
 * the no_context_takeover parameters offered, server_max_window_bits if offered, and
 * client_max_window_bits if offered with a value. Returns 1 if accepted, 0 if none was offered
 * or acceptable (answer without the extension; *agreed zeroed), -EINVAL if the header value is
 * malformed (the handshake answers 400), -ENOSPC if resp is too small
 * (CORIO_WS_DEFLATE_RESP_MAX bytes always suffice).
 * server_max_window_bits=8 is accepted: zlib's raw deflate cannot use a 256-byte window, so our
 * compressor then emits Huffman-only blocks (no back-references at all), which any window
 * allows.
 * Any thread; never suspends. */
CORIO_API int corio_ws_deflate_negotiate(const char *offer, size_t len, char *resp, size_t cap,
                                         struct corio_ws_deflate_params *agreed);

/* Client side: the offer it sends, "permessage-deflate; client_max_window_bits" (static).
 * Any thread; never suspends. */
CORIO_API const char *corio_ws_deflate_offer(void);

/* Client side: parses the server's Sec-WebSocket-Extensions response (value, len bytes,
 * borrowed; len 0 = the header was absent). Returns 1 accepted with *agreed filled, 0 not
 * accepted (empty value; *agreed zeroed), -EPROTO invalid response (an extension we did not
 * offer, more than one, a malformed value, an unknown or duplicate parameter, a window-bits
 * value that is not 8..15, client_max_window_bits without a value): the client must fail the
 * connection.
 * Any thread; never suspends. */
CORIO_API int corio_ws_deflate_response(const char *value, size_t len,
                                        struct corio_ws_deflate_params *agreed);

/* One connection's compressor and decompressor (opaque; ~300 KiB of zlib state at most, each
 * half allocated on first use). */
typedef struct corio_ws_deflate corio_ws_deflate;

/* Creates the context for the agreed parameters (borrowed). server: we are the server, so the
 * server_* parameters govern what we compress and the client_* ones what we decompress (and
 * conversely for a client). The caller owns *out and releases it with corio_ws_deflate_free.
 * Errors: -ENOMEM, -EINVAL (window bits outside 0 or 8..15).
 * Any thread; never suspends. */
CORIO_API int corio_ws_deflate_new(const struct corio_ws_deflate_params *agreed, bool server,
                                   corio_ws_deflate **out);

/* Releases d and its zlib state. NULL is fine.
 * Any thread; never suspends. */
CORIO_API void corio_ws_deflate_free(corio_ws_deflate *d);

/* Compresses one whole message in[0..len) (borrowed). *out is malloc'd (the caller frees it;
 * never NULL on success, also for an empty message) and holds *out_len bytes: the deflate data
 * with the trailing 00 00 ff ff removed, ready to be the payload of a frame with RSV1. The
 * context is reset after the message if no_context_takeover applies to our side.
 * Errors: -ENOMEM; after an error the compressor must not be used again (later calls return
 * -EPROTO): fail the connection.
 * Any thread; never suspends. */
CORIO_API int corio_ws_deflate_compress(corio_ws_deflate *d, const void *in, size_t len,
                                        uint8_t **out, size_t *out_len);

/* Decompresses one whole compressed message in[0..len) (borrowed; the payload of its frames
 * concatenated), appending 00 00 ff ff itself. *out is malloc'd (caller frees; never NULL on
 * success) and holds *out_len bytes. Output is limited to max bytes: over it -> -EMSGSIZE
 * (close 1009), and never more than max bytes (plus a small constant) are allocated, so a
 * "zip bomb" costs nothing. Corrupt data, including a message that does not end on a deflate
 * block boundary -> -EPROTO (close 1007). Bytes after a block with BFINAL set are ignored
 * (RFC 7692's own BFINAL example in section 7.2.3 has one), and an empty payload (len 0) is
 * taken as an empty message. -ENOMEM. After any error the decompressor must not be used again
 * (later calls return -EPROTO): fail the connection.
 * Any thread; never suspends. */
CORIO_API int corio_ws_deflate_decompress(corio_ws_deflate *d, const void *in, size_t len,
                                          size_t max, uint8_t **out, size_t *out_len);

#ifdef __cplusplus
}
#endif

#endif /* CORIO_WS_FRAME_H */
