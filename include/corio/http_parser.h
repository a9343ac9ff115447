/* SPDX-License-Identifier: MIT */
/* corio/http_parser.h: the HTTP/1.1 message codec: request heads, response heads, chunked bodies,
 * percent-decoding and query strings. corio/http.h (the server) builds on it.
 *
 * Overview. Every function here is a pure function over the caller's memory, in the manner of
 * picohttpparser: no I/O, no allocation, no loop, no logging, no global state. The parsers never
 * copy: names, values, targets and reasons come back as views ({ptr, len} pairs, never
 * NUL-terminated) into the buffer the caller passed, and stay valid as long as those bytes stay
 * where they are. All functions may be called from any thread; they share nothing.
 *
 * Parsing a head (request or response) is incremental: call the parser each time more bytes
 * have arrived, with the whole head so far in one buffer (the caller may move or grow the buffer
 * between calls, but must not change the bytes already passed). A small state word carried
 * between calls remembers how far the previous call scanned, so a head trickling in one byte at
 * a time costs O(n) in total, not O(n^2). The result is a function of the bytes alone: for
 * every prefix of a stream, the incremental calls return exactly what one call on that prefix
 * with a fresh state returns. After a head, the bytes that follow (a body, or the next
 * pipelined request) are untouched.
 *
 * Error convention (heads and chunked bodies alike):
 *     > 0 / 1       success (head: bytes consumed; chunked: body complete)
 *     -EAGAIN       incomplete: read more and call again (chunked decoding returns 0 instead)
 *     -EPROTO       the peer broke the protocol (malformed syntax or framing, unsupported
 *                   version or transfer coding)
 *     -EMSGSIZE     a configured limit was exceeded (head size, target length, header count,
 *                   body size, chunk extensions, trailer size)
 * On -EPROTO and -EMSGSIZE the out struct's `error` member says what to answer: `status` is
 * the HTTP status a server sends back (400, 413, 414, 431, 501, 505; a response parser sets
 * 502, what a gateway answers for a broken upstream), `offset` the byte offset of the offending
 * byte from the start of the buffer (chunked: of the stream), and `reason` a short static
 * English phrase such as "invalid character in header name", fit for a 400 body or a log line.
 * In every error case the connection must be closed after answering: once framing cannot be
 * trusted, nothing after it can be read safely.
 *
 * Strictness (RFC 9110 and 9112; deviations are deliberate and listed here):
 *  - Lines end with CRLF only. A bare LF is rejected (400), as is a bare CR anywhere. RFC 9112
 *    allows a recipient to accept a bare LF, but intermediaries disagree about it, and two
 *    parsers disagreeing about where a line ends is precisely how requests get smuggled past a
 *    proxy (in heads and above all in chunk-size lines); no real client needs it.
 *  - One empty line (CRLF) before a request line is ignored, as RFC 9112 section 2.2 suggests
 *    (old clients send one after a POST body); a second one is a 400.
 *  - Request line: exactly one SP between method, target and version. Methods are tokens of
 *    at most 32 characters. The version must be exactly "HTTP/1.0" or "HTTP/1.1"; any other
 *    well-formed "HTTP/d.d" gets 505 (RFC 9110 would have 1.2 read as 1.1; there is no such
 *    client), anything else 400.
 *  - Request target: visible US-ASCII only (no controls, SP, DEL, bytes >= 0x80, or '#'), and
 *    every '%' must start a valid %XX escape. Printable characters outside RFC 3986's set
 *    ({ } | \ ^ [ ] " < > and `) are accepted because browsers send some of them unescaped in
 *    queries and they cannot affect framing. Forms: origin-form ("/path?query"), absolute-form
 *    ("http://host/path", scheme http or https, no userinfo, non-empty host), authority-form
 *    ("host:port", for CONNECT and only for CONNECT), asterisk-form ("*", OPTIONS only).
 *    Longer than max_target_len: 414.
 *  - Header fields: the name is a non-empty token directly followed by ':' (whitespace before
 *    the colon: 400); a line starting with SP or HTAB (obs-fold, or whitespace after the start
 *    line) is a 400; values may hold SP, HTAB, visible ASCII and obs-text (>= 0x80) but no
 *    other control character or DEL (400); leading and trailing SP/HTAB are trimmed from the
 *    value view. More than max_headers fields, or a head longer than max_head_bytes: 431.
 *  - Host: an HTTP/1.1 request needs exactly one Host field (RFC 9112 section 3.2), a request
 *    never more than one, and its value must be uri-host [":" port]; otherwise 400.
 *  - Framing, the rules that keep a second request from being smuggled inside the first:
 *    Content-Length must be 1*DIGIT without sign, list or leading zeros ("0" itself is fine),
 *    at most 2^63 - 1, and may appear once (a duplicate is a 400 even with an equal value:
 *    RFC 9110 lets a recipient accept "5, 5", we do not). Transfer-Encoding together with
 *    Content-Length is a 400, and so is Transfer-Encoding in an HTTP/1.0 request. The only
 *    transfer coding supported is "chunked" (case-insensitive) as the one and only coding: a
 *    list naming chunked twice, or with chunked not last, is a 400 (the length cannot be
 *    determined); any other coding ("gzip", "gzip, chunked", "xchunked") is a 501 (RFC 9112
 *    section 6.1). Either way the connection must close. Empty list elements are ignored.
 *    A Content-Length above max_body is reported at once as 413, from the head, so the server
 *    can refuse before reading the body.
 *  - Connection is a comma list of tokens (case-insensitive; malformed: 400). keep_alive is
 *    true for HTTP/1.1 unless "close" is listed, and for HTTP/1.0 only if "keep-alive" is
 *    listed and "close" is not. Upgrade and Expect: 100-continue are ignored in HTTP/1.0
 *    requests (RFC 9110 sections 7.8 and 10.1.1); other expectations are ignored.
 *
 * Error precedence: syntax errors come first, in byte order; the checks that need the whole
 * head (header count, Host, framing, 413) run only once the head is syntactically complete, in
 * the order listed above. Until the end of the head (or a bare CR or LF, which no valid head
 * contains) has arrived, only the checks that can be decided early are applied: an invalid or
 * overlong method (400, so a TLS handshake or other garbage is refused at the first bytes), a
 * request line longer than any valid one could be (414), and the head size limit (414 if the
 * request line is still open, else 431). Other errors in an unfinished head (a bad header name,
 * say) are reported when it ends; this is what makes every prefix's answer independent of how
 * the bytes were split, and the work is bounded by the size limit either way.
 */
#ifndef CORIO_HTTP_PARSER_H
#define CORIO_HTTP_PARSER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h> /* ssize_t */

#ifdef __cplusplus
extern "C" {
#endif

#ifndef CORIO_API
#define CORIO_API __attribute__((visibility("default")))
#endif

/* ---------------------------------------------------------------------------------------------
 * Value types.
 */

/* A view: len bytes at ptr inside a buffer the caller owns; not NUL-terminated. An absent
 * element is {NULL, 0}; a present but empty one has a non-NULL ptr and len 0. */
struct corio_http_str {
    const char *ptr;
    size_t len;
};

/* One header (or trailer) field line: both views point into the parsed buffer. The value has
 * leading and trailing whitespace removed. Names keep the case they were sent in. */
struct corio_http_header {
    struct corio_http_str name;
    struct corio_http_str value;
};

/* Why a parse failed (see "Error convention" above). Zeroed at the start of every call. */
struct corio_http_error {
    int status;         /* HTTP status to answer with: 400, 413, 414, 431, 501, 505 (502) */
    size_t offset;      /* offset of the offending byte (a limit: where it was crossed) */
    const char *reason; /* static string, e.g. "invalid character in header name" */
};

/* Request methods with a name of their own; anything else is CORIO_HTTP_METHOD_OTHER and is
 * told apart by method_name. Methods are case-sensitive: "get" is OTHER. */
enum corio_http_method {
    CORIO_HTTP_METHOD_OTHER = 0,
    CORIO_HTTP_GET,
    CORIO_HTTP_HEAD,
    CORIO_HTTP_POST,
    CORIO_HTTP_PUT,
    CORIO_HTTP_DELETE,
    CORIO_HTTP_CONNECT,
    CORIO_HTTP_OPTIONS,
    CORIO_HTTP_TRACE,
    CORIO_HTTP_PATCH,
};

/* The four shapes of request-target (RFC 9112 section 3.2). */
enum corio_http_target_form {
    CORIO_HTTP_ORIGIN_FORM,    /* "/path?query": the usual one */
    CORIO_HTTP_ABSOLUTE_FORM,  /* "http://host:port/path?query": requests to a proxy */
    CORIO_HTTP_AUTHORITY_FORM, /* "host:port": CONNECT only */
    CORIO_HTTP_ASTERISK_FORM,  /* "*": OPTIONS only */
};

/* Limits, shared by every parser here. Zero selects the default; UINT64_MAX / SIZE_MAX turn a
 * limit off where that is meaningful (max_head_bytes is always capped at 1 MiB). */
struct corio_http_limits {
    size_t max_head_bytes; /* start line + fields + final CRLF; default 16384. -> 431 */
    size_t max_target_len; /* request-target bytes; default 8192. -> 414 */
    size_t max_headers;    /* field lines per head or trailer section; default 100. -> 431 */
    uint64_t max_body;     /* Content-Length or decoded chunked total; default 1 MiB. -> 413 */
    size_t max_chunk_ext;  /* chunk-extension bytes, summed over one body; default 4096. -> 413 */
    size_t max_trailer_bytes; /* trailer section incl. final CRLF; default 8192. -> 431 */
};

#define CORIO_HTTP_DEFAULT_MAX_HEAD_BYTES 16384
#define CORIO_HTTP_DEFAULT_MAX_TARGET_LEN 8192
#define CORIO_HTTP_DEFAULT_MAX_HEADERS 100
#define CORIO_HTTP_DEFAULT_MAX_BODY ((uint64_t)1 << 20)
#define CORIO_HTTP_DEFAULT_MAX_CHUNK_EXT 4096
#define CORIO_HTTP_DEFAULT_MAX_TRAILER_BYTES 8192
#define CORIO_HTTP_MAX_HEAD_BYTES_CAP ((size_t)1 << 20)

/* ---------------------------------------------------------------------------------------------
 * Request heads.
 */

/* A parsed request head. The caller sets `headers` and `headers_cap` (the parser never changes
 * them) and may reuse the struct for the next request; every other member is written by
 * corio_http_parse_request(), and is meaningful only after it returned > 0 (or 413: see
 * there). Views point into the buffer passed to that call.
 *
 * Body framing follows from the derived members: chunked -> read a chunked body
 * (corio_http_chunked_decode); else content_length >= 0 -> read exactly that many bytes; else
 * there is no body (a request is never delimited by closing the connection). */
struct corio_http_request_head {
    /* Set by the caller. */
    struct corio_http_header *headers; /* room for headers_cap fields; NULL: don't store them */
    size_t headers_cap;

    /* Request line. */
    enum corio_http_method method;
    struct corio_http_str method_name; /* e.g. "GET"; always set */
    enum corio_http_target_form form;
    struct corio_http_str target;    /* the request-target as sent */
    struct corio_http_str path;      /* target up to '?', still percent-encoded; absolute-form
                                        without a path gives "/" (a static string, the one view
                                        not inside the buffer); authority-form: absent */
    struct corio_http_str query;     /* after the first '?' (excluded); absent without '?' */
    struct corio_http_str authority; /* host[:port] of absolute- and authority-form; else absent */
    int minor_version;               /* 0 or 1 (HTTP/1.0 or HTTP/1.1) */

    /* Header fields, in order; num_headers <= min(headers_cap, max_headers). */
    size_t num_headers;

    /* Derived facts. */
    struct corio_http_str host; /* authority if the target has one (RFC 9112 section 3.2.2),
                                   else the Host value (may be empty); absent in HTTP/1.0
                                   requests without Host */
    int64_t content_length;     /* -1 if there is no Content-Length */
    bool chunked;               /* Transfer-Encoding: chunked */
    bool keep_alive;            /* the client lets the connection persist after this request */
    bool expect_continue;       /* HTTP/1.1 with Expect: 100-continue */
    bool upgrade;               /* HTTP/1.1, Connection lists "upgrade" and Upgrade is present */

    struct corio_http_error error; /* on -EPROTO / -EMSGSIZE */
};

/* Parses the request head at the start of buf[0..len).
 *
 * `*state` carries the scan position between calls on one growing head: set it to 0 before
 * the first call for each request; the parser updates it when it returns -EAGAIN and resets
 * it to 0 on any other result. State 0 is always correct, merely slower on a trickling head
 * (each call then rescans from the start). state may be NULL (same as a fresh 0 every time).
 * `lim` may be NULL for the defaults.
 *
 * Returns the length of the head (> 0; the body or next request starts at buf + result),
 * -EAGAIN if the head is not complete yet, or -EPROTO / -EMSGSIZE with out->error filled in
 * (status 400, 414, 431, 501 or 505 as described at the top of this file). A Content-Length
 * above lim->max_body returns -EMSGSIZE with status 413 and, unlike other errors, with every
 * other member filled in as on success, so the server can log and answer before the body.
 * Borrowed: buf (during the call; the views in *out refer to it afterwards), lim. */
CORIO_API int corio_http_parse_request(const char *buf, size_t len, size_t *state,
                                       const struct corio_http_limits *lim,
                                       struct corio_http_request_head *out);

/* ---------------------------------------------------------------------------------------------
 * Response heads (for the HTTP client).
 */

/* How the body of a response is delimited (RFC 9112 section 6.3). */
enum corio_http_body {
    CORIO_HTTP_BODY_NONE,    /* no body: HEAD, 1xx, 204, 304, or a tunnel (see `tunnel`) */
    CORIO_HTTP_BODY_LENGTH,  /* exactly content_length bytes */
    CORIO_HTTP_BODY_CHUNKED, /* chunked: corio_http_chunked_decode() */
    CORIO_HTTP_BODY_CLOSE,   /* everything until the server closes the connection */
};

/* A parsed response head. The caller sets headers, headers_cap and request_method; the rest
 * is written by corio_http_parse_response(). */
struct corio_http_response_head {
    /* Set by the caller. */
    struct corio_http_header *headers; /* room for headers_cap fields; NULL: don't store them */
    size_t headers_cap;
    enum corio_http_method request_method; /* of the request this answers: HEAD and CONNECT
                                              change the framing */

    int minor_version;            /* 0 or 1 */
    int status;                   /* 100..599 */
    struct corio_http_str reason; /* reason-phrase, possibly empty */
    size_t num_headers;

    int64_t content_length; /* -1 if there is no Content-Length */
    enum corio_http_body body;
    bool chunked;    /* Transfer-Encoding: chunked (body is CHUNKED unless NONE) */
    bool keep_alive; /* the connection can carry another request after this response */
    bool tunnel;     /* 101, or 2xx to CONNECT: the bytes after the head belong to
                        another protocol */

    struct corio_http_error error; /* on -EPROTO / -EMSGSIZE; status is always 502 */
};

/* Parses the response head at the start of buf[0..len). Same contract as
 * corio_http_parse_request() for state, lim, views and results, with these differences: no
 * empty line may precede the status line; the status line is "HTTP/1.0" or "HTTP/1.1", SP, a
 * status code 100..599, then SP and a reason-phrase (a missing SP before an empty reason is
 * tolerated); Host and request-target rules do not apply. Framing: Transfer-Encoding must be
 * exactly "chunked" and only in HTTP/1.1, never with Content-Length (we cannot decode other
 * codings, so a response using them is refused rather than read until close); a response
 * without either has a body delimited by close (and keep_alive false). A Content-Length above
 * max_body on a response that has a body is -EMSGSIZE. A 1xx response other than 101 is
 * interim: parse the next head after it. */
CORIO_API int corio_http_parse_response(const char *buf, size_t len, size_t *state,
                                        const struct corio_http_limits *lim,
                                        struct corio_http_response_head *out);

/* ---------------------------------------------------------------------------------------------
 * Chunked bodies.
 */

/* Decoder for one chunked body (RFC 9112 section 7.1). Initialise with
 * corio_http_chunked_init(), then optionally set trailers/trailers_cap. Members starting with
 * '_' are private.
 *
 * Strictness: chunk-size is 1 to 16 hex digits (more, even leading zeros: 400); chunk
 * extensions must match the RFC grammar (BWS ';' name ['=' token / quoted-string]) and their
 * bytes, summed over the body, may not exceed max_chunk_ext (413); every line ends in CRLF
 * exactly, and the data of each chunk must be followed by CRLF (400); the decoded total may
 * not exceed max_body (413, reported as soon as a chunk-size would cross it). Trailer fields
 * follow the header rules above; more than max_headers of them, or a trailer section above
 * max_trailer_bytes, is a 431. Trailer fields that would change framing, routing or the
 * connection if anyone merged them into the head (Content-Length, Transfer-Encoding, Host,
 * Connection, Keep-Alive, Upgrade, Expect, TE, Trailer) are rejected with 400. */
struct corio_http_chunked {
    /* Set by the caller after init (optional). */
    struct corio_http_header *trailers; /* room for trailers_cap fields; NULL: don't store */
    size_t trailers_cap;

    /* Written by the decoder. */
    uint64_t body_bytes;           /* decoded data bytes so far */
    size_t num_trailers;           /* valid once the body is complete */
    struct corio_http_error error; /* on -EPROTO / -EMSGSIZE; offset counts stream bytes */

    /* Private. */
    uint64_t _left; /* chunk-size being read, or data bytes left in the chunk */
    uint64_t _pos;  /* stream bytes consumed so far */
    uint64_t _max_body;
    size_t _ext_left; /* chunk-extension budget left */
    size_t _max_trailer, _max_fields;
    size_t _scan; /* trailer bytes already searched for the end */
    unsigned _state, _digits;
};

/* Prepares d for a new body under lim (NULL: defaults). Clears everything, including
 * trailers/trailers_cap. */
CORIO_API void corio_http_chunked_init(struct corio_http_chunked *d,
                                       const struct corio_http_limits *lim);

/* Decodes chunked bytes from in[0..*in_len) into out[0..*out_len), for any split of the stream
 * across calls. On return *in_len holds the bytes consumed and *out_len the bytes written.
 * Bytes not consumed must be passed again, at the start of `in`, on the next call: that
 * happens when out is full and while a trailer section is incomplete (it is parsed in one
 * piece so that the trailer views can point into `in`). out may equal in (in-place decoding:
 * the write position never passes the read position), or be NULL to discard the data (then
 * *out_len is ignored on entry and set to the number of data bytes skipped). On an error,
 * *in_len and *out_len still say how far decoding got; the data before the error is valid.
 *
 * Returns 1 once the body, trailers included, is complete (*in_len then ends exactly there:
 * the next message starts at in + *in_len; trailer views point into this call's `in`), 0 if
 * more input (or output space) is needed, or -EPROTO / -EMSGSIZE with d->error filled in
 * (status 400, 413 or 431). Results are sticky: after 1 or an error, every later call returns
 * the same and consumes nothing. Borrowed: in, out. */
CORIO_API int corio_http_chunked_decode(struct corio_http_chunked *d, const char *in,
                                        size_t *in_len, char *out, size_t *out_len);

/* ---------------------------------------------------------------------------------------------
 * Percent-decoding and query strings (RFC 3986; application/x-www-form-urlencoded).
 */

#define CORIO_HTTP_PCT_PLUS 0x1   /* decode '+' as SP (query components and forms) */
#define CORIO_HTTP_PCT_NO_NUL 0x2 /* refuse %00, for values that end up in C strings */

/* Decodes %XX escapes (either case of hex digit) in src[0..len) into dst, which needs room for
 * len bytes and may equal src (in place). Other bytes are copied unchanged. Returns the decoded
 * length (<= len), or -EINVAL for a '%' not followed by two hex digits or, with
 * CORIO_HTTP_PCT_NO_NUL, for %00 (dst contents are then unspecified). */
CORIO_API ssize_t corio_http_pct_decode(char *dst, const char *src, size_t len, unsigned flags);

/* Iterates the key=value pairs of a query string (without the '?') or urlencoded form body.
 * Pairs are separated by '&'; empty pairs are skipped; a pair without '=' has an empty value
 * ({ptr at its end, 0}). Keys and values are raw views: decode them with
 * corio_http_pct_decode(..., CORIO_HTTP_PCT_PLUS). */
struct corio_http_query_iter {
    const char *_p, *_end; /* private */
};

CORIO_API void corio_http_query_init(struct corio_http_query_iter *it, struct corio_http_str query);

/* Stores the next pair and returns true, or returns false at the end. */
CORIO_API bool corio_http_query_next(struct corio_http_query_iter *it, struct corio_http_str *key,
                                     struct corio_http_str *value);

/* Finds the first pair whose decoded key (escapes and '+' decoded) equals name (a C string)
 * and stores its raw value. Returns true if found. Keys with a malformed escape never match. */
CORIO_API bool corio_http_query_get(struct corio_http_str query, const char *name,
                                    struct corio_http_str *value);

/* ---------------------------------------------------------------------------------------------
 * Small helpers.
 */

/* The first field named `name` (ASCII case-insensitive), or NULL. */
CORIO_API const struct corio_http_header *
corio_http_header_find(const struct corio_http_header *headers, size_t n, const char *name);

/* "GET", "POST", ...; "" for CORIO_HTTP_METHOD_OTHER or an unknown value. */
CORIO_API const char *corio_http_method_str(enum corio_http_method m);

#ifdef __cplusplus
}
#endif

#endif /* CORIO_HTTP_PARSER_H */
