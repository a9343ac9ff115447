/* SPDX-License-Identifier: MIT */
/* ws/deflate.c: permessage-deflate (RFC 7692): negotiation of the extension in the opening
 * handshake, and per-message compression with zlib's raw deflate (see corio/ws_frame.h).
 *
 * Negotiation. The Sec-WebSocket-Extensions grammar (RFC 6455 section 9.1: a comma list of
 * extensions, each a token with ';'-separated token[=token|quoted-string] parameters, optional
 * whitespace around separators, empty list elements allowed) is parsed by a small cursor over
 * the caller's bytes; a syntax error anywhere in the header rejects it as a whole. The
 * parameters of a permessage-deflate offer or response are judged per RFC 7692 section 7.1: an
 * unknown parameter, a duplicate, a value where none belongs or a window size outside 8..15
 * declines that offer (server) or fails the handshake (client). Quoted values are unescaped
 * first and must then satisfy the same rule.
 *
 * Compression. One z_stream per direction, each created on first use so an idle connection
 * holds no zlib memory. A message is deflated with Z_SYNC_FLUSH, which ends it with an empty
 * stored block whose last four bytes, 00 00 ff ff, are removed (RFC 7692 7.2.1); inflating
 * appends them again. Context takeover is zlib's default (the sliding window carries over);
 * no_context_takeover resets the stream after each message.
 * zlib's raw deflate refuses a 256-byte window (windowBits 8): it would silently use 512 bytes,
 * and back-references that far would break a peer that asked for 256. When our side must keep
 * to 8 bits we therefore compress with Z_HUFFMAN_ONLY, which emits no back-references at all
 * and so fits any window, at the cost of a worse ratio. Inflating always uses a 32 KiB window,
 * which decodes anything a peer may send whatever was agreed.
 *
 * Limits. Inflate output grows by doubling but never beyond the caller's limit; when the buffer
 * is exactly full, a 1-byte probe into a local byte decides whether more output exists
 * (-EMSGSIZE), so a decompression bomb costs at most `max` bytes of memory.
 *
 * Invariants: a context that returned an error is marked broken and refuses further use (its
 * zlib state may be mid-message); each finished message leaves the inflater on a block boundary.
 *
 * Not here: the frame layer (RSV1 handling is the parser's and the connection's), splitting
 * compressed messages into frames, or compressing only large messages (the caller decides).
 */
#include "corio/ws_frame.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

/* ---- Sec-WebSocket-Extensions syntax ------------------------------------------------------ */

struct cursor {
    const char *s;
    size_t n, i;
};

#define VALUE_CAP 8 /* longest parameter value we need to keep: "15" */

struct param {
    const char *name;
    size_t nlen;
    bool has_value;
    bool value_long; /* longer than VALUE_CAP: kept truncated, never a valid window size */
    char value[VALUE_CAP];
    size_t vlen;
};

static bool is_tchar(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return true;
    return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static void skip_ows(struct cursor *c)
{
    while (c->i < c->n && (c->s[c->i] == ' ' || c->s[c->i] == '\t'))
        c->i++;
}

static bool token(struct cursor *c, const char **t, size_t *tlen)
{
    size_t start = c->i;
    while (c->i < c->n && is_tchar((unsigned char)c->s[c->i]))
        c->i++;
    *t = c->s + start;
    *tlen = c->i - start;
    return *tlen > 0;
}

static void keep_value_byte(struct param *pp, char ch)
{
    if (pp->vlen < VALUE_CAP)
        pp->value[pp->vlen++] = ch;
    else
        pp->value_long = true;
}

/* A token or a quoted-string (RFC 9110 5.6.4), unescaped into pp->value. */
static bool param_value(struct cursor *c, struct param *pp)
{
    const char *t;
    size_t tlen;

    pp->has_value = true;
    if (c->i < c->n && c->s[c->i] == '"') {
        c->i++;
        while (c->i < c->n) {
            unsigned char ch = (unsigned char)c->s[c->i++];
            if (ch == '"')
                return true;
            if (ch == '\\') { /* quoted-pair: any of HTAB, SP, VCHAR, obs-text */
                if (c->i == c->n)
                    return false;
                ch = (unsigned char)c->s[c->i++];
            }
            if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
                return false;
            keep_value_byte(pp, (char)ch);
        }
        return false; /* unterminated */
    }
    if (!token(c, &t, &tlen))
        return false;
    for (size_t k = 0; k < tlen; k++)
        keep_value_byte(pp, t[k]);
    return true;
}

/* The next extension's name. 1: got one; 0: end of the header; -EINVAL: syntax error. Empty
 * list elements (", ,") are skipped, as the list rule allows. */
static int next_ext(struct cursor *c, const char **name, size_t *nlen)
{
    for (;;) {
        skip_ows(c);
        if (c->i == c->n)
            return 0;
        if (c->s[c->i] != ',')
            break;
        c->i++;
    }
    return token(c, name, nlen) ? 1 : -EINVAL;
}

/* The current extension's next parameter. 1: got one; 0: the extension ended (at ',' or the
 * end of the header); -EINVAL: syntax error. */
static int next_param(struct cursor *c, struct param *pp)
{
    skip_ows(c);
    if (c->i == c->n)
        return 0;
    if (c->s[c->i] == ',') {
        c->i++;
        return 0;
    }
    if (c->s[c->i] != ';')
        return -EINVAL;
    c->i++;
    skip_ows(c);
    *pp = (struct param){0};
    if (!token(c, &pp->name, &pp->nlen))
        return -EINVAL;
    skip_ows(c);
    if (c->i < c->n && c->s[c->i] == '=') {
        c->i++;
        skip_ows(c);
        if (!param_value(c, pp))
            return -EINVAL;
    }
    return 1;
}

static bool equals(const char *s, size_t n, const char *lit)
{
    return n == strlen(lit) && memcmp(s, lit, n) == 0;
}

/* ---- permessage-deflate parameters ------------------------------------------------------- */

static const char pmd_name[] = "permessage-deflate";

enum { P_SNCT = 1, P_CNCT = 2, P_SMWB = 4, P_CMWB = 8 };

struct pmd {
    struct corio_ws_deflate_params p;
    unsigned seen;          /* P_* bits */
    bool cmwb_with_value;   /* client_max_window_bits had a value */
};

/* "8".."15" exactly: RFC 7692's ABNF has no sign, no leading zeros. */
static uint8_t window_bits(const struct param *pp)
{
    if (!pp->has_value || pp->value_long)
        return 0;
    if (pp->vlen == 1 && (pp->value[0] == '8' || pp->value[0] == '9'))
        return (uint8_t)(pp->value[0] - '0');
    if (pp->vlen == 2 && pp->value[0] == '1' && pp->value[1] >= '0' && pp->value[1] <= '5')
        return (uint8_t)(10 + pp->value[1] - '0');
    return 0;
}

/* Applies one parameter of an offer (response false) or of a server's response (true).
 * Returns false if it makes the offer unacceptable / the response invalid. */
static bool pmd_param(struct pmd *m, const struct param *pp, bool response)
{
    unsigned bit;

    if (equals(pp->name, pp->nlen, "server_no_context_takeover"))
        bit = P_SNCT;
    else if (equals(pp->name, pp->nlen, "client_no_context_takeover"))
        bit = P_CNCT;
    else if (equals(pp->name, pp->nlen, "server_max_window_bits"))
        bit = P_SMWB;
    else if (equals(pp->name, pp->nlen, "client_max_window_bits"))
        bit = P_CMWB;
    else
        return false;
    if (m->seen & bit)
        return false;
    m->seen |= bit;
    switch (bit) {
    case P_SNCT:
        m->p.server_no_context_takeover = true;
        return !pp->has_value;
    case P_CNCT:
        m->p.client_no_context_takeover = true;
        return !pp->has_value;
    case P_SMWB:
        m->p.server_max_window_bits = window_bits(pp);
        return m->p.server_max_window_bits != 0;
    default:
        /* In an offer the value is optional ("I can limit my window if you ask"); in a
         * response it is the limit we must keep to, so it must be there. */
        if (!pp->has_value)
            return !response;
        m->cmwb_with_value = true;
        m->p.client_max_window_bits = window_bits(pp);
        return m->p.client_max_window_bits != 0;
    }
}

static int write_response(const struct pmd *m, char *resp, size_t cap)
{
    int w = snprintf(resp, cap, "%s%s%s", pmd_name,
                     m->p.server_no_context_takeover ? "; server_no_context_takeover" : "",
                     m->p.client_no_context_takeover ? "; client_no_context_takeover" : "");
    size_t used;

    if (w < 0 || (size_t)w >= cap)
        return -ENOSPC;
    used = (size_t)w;
    if (m->p.server_max_window_bits) {
        w = snprintf(resp + used, cap - used, "; server_max_window_bits=%u",
                     (unsigned)m->p.server_max_window_bits);
        if (w < 0 || (size_t)w >= cap - used)
            return -ENOSPC;
        used += (size_t)w;
    }
    if (m->cmwb_with_value) {
        w = snprintf(resp + used, cap - used, "; client_max_window_bits=%u",
                     (unsigned)m->p.client_max_window_bits);
        if (w < 0 || (size_t)w >= cap - used)
            return -ENOSPC;
    }
    return 0;
}

int corio_ws_deflate_negotiate(const char *offer, size_t len, char *resp, size_t cap,
                               struct corio_ws_deflate_params *agreed)
{
    struct cursor c = {offer, len, 0};
    struct pmd chosen = {0};
    bool found = false;
    const char *name;
    size_t nlen;
    int rc;

    *agreed = (struct corio_ws_deflate_params){0};
    if (cap > 0)
        resp[0] = '\0';
    /* The whole header is read even after a match, so that a malformed header is refused
     * the same way wherever its error is. */
    while ((rc = next_ext(&c, &name, &nlen)) > 0) {
        bool ours = !found && equals(name, nlen, pmd_name);
        struct pmd cur = {0};
        struct param pp;
        while ((rc = next_param(&c, &pp)) > 0)
            if (ours && !pmd_param(&cur, &pp, false))
                ours = false;
        if (rc < 0)
            return -EINVAL;
        if (ours) {
            chosen = cur;
            found = true;
        }
    }
    if (rc < 0)
        return -EINVAL;
    if (!found)
        return 0;
    if ((rc = write_response(&chosen, resp, cap)) < 0)
        return rc;
    *agreed = chosen.p;
    return 1;
}

const char *corio_ws_deflate_offer(void)
{
    return "permessage-deflate; client_max_window_bits";
}

int corio_ws_deflate_response(const char *value, size_t len,
                              struct corio_ws_deflate_params *agreed)
{
    struct cursor c = {value, len, 0};
    struct pmd m = {0};
    int count = 0, rc;
    const char *name;
    size_t nlen;

    *agreed = (struct corio_ws_deflate_params){0};
    while ((rc = next_ext(&c, &name, &nlen)) > 0) {
        struct param pp;
        if (!equals(name, nlen, pmd_name) || ++count > 1)
            return -EPROTO;
        while ((rc = next_param(&c, &pp)) > 0)
            if (!pmd_param(&m, &pp, true))
                return -EPROTO;
        if (rc < 0)
            return -EPROTO;
    }
    if (rc < 0)
        return -EPROTO;
    if (count == 0)
        return 0;
    *agreed = m.p;
    return 1;
}

/* ---- compression ------------------------------------------------------------------------- */

struct corio_ws_deflate {
    z_stream zd;       /* our compressor, valid once zd_ready */
    z_stream zi;       /* our decompressor, valid once zi_ready */
    bool zd_ready, zi_ready;
    bool zd_broken, zi_broken;
    bool zd_reset;     /* no_context_takeover applies to what we send */
    bool zi_reset;     /* the peer resets after each message: so may we */
    bool zi_keep;      /* the peer keeps its context: keep our window across a final block */
    uint8_t zd_bits;   /* window bits we must keep to (8..15) */
};

#define INFLATE_BITS 15
#define DEFLATE_LEVEL Z_DEFAULT_COMPRESSION
#define DEFLATE_MEMLEVEL 8

static const uint8_t sync_tail[4] = {0x00, 0x00, 0xff, 0xff};

static bool bits_ok(uint8_t b)
{
    return b == 0 || (b >= 8 && b <= 15);
}

int corio_ws_deflate_new(const struct corio_ws_deflate_params *agreed, bool server,
                         corio_ws_deflate **out)
{
    corio_ws_deflate *d;
    uint8_t bits;

    *out = NULL;
    if (!bits_ok(agreed->server_max_window_bits) || !bits_ok(agreed->client_max_window_bits))
        return -EINVAL;
    if (!(d = calloc(1, sizeof *d)))
        return -ENOMEM;
    bits = server ? agreed->server_max_window_bits : agreed->client_max_window_bits;
    d->zd_bits = bits ? bits : 15;
    d->zd_reset = server ? agreed->server_no_context_takeover
                         : agreed->client_no_context_takeover;
    d->zi_reset = server ? agreed->client_no_context_takeover
                         : agreed->server_no_context_takeover;
    d->zi_keep = !d->zi_reset;
    *out = d;
    return 0;
}

void corio_ws_deflate_free(corio_ws_deflate *d)
{
    if (!d)
        return;
    if (d->zd_ready)
        deflateEnd(&d->zd);
    if (d->zi_ready)
        inflateEnd(&d->zi);
    free(d);
}

static int deflate_ready(corio_ws_deflate *d)
{
    int bits = d->zd_bits, strategy = Z_DEFAULT_STRATEGY;

    if (d->zd_ready)
        return 0;
    if (bits == 8) {
        bits = 9; /* see the file comment: Huffman-only never reaches back */
        strategy = Z_HUFFMAN_ONLY;
    }
    memset(&d->zd, 0, sizeof d->zd);
    switch (deflateInit2(&d->zd, DEFLATE_LEVEL, Z_DEFLATED, -bits, DEFLATE_MEMLEVEL, strategy)) {
    case Z_OK:
        d->zd_ready = true;
        return 0;
    case Z_MEM_ERROR:
        return -ENOMEM;
    default:
        return -EINVAL;
    }
}

int corio_ws_deflate_compress(corio_ws_deflate *d, const void *in, size_t len, uint8_t **out,
                              size_t *out_len)
{
    uint8_t *buf, *nb;
    size_t cap, used = 0;
    int rc;

    *out = NULL;
    *out_len = 0;
    if (d->zd_broken)
        return -EPROTO;
    if (len == 0) {
        /* zlib emits nothing for a sync flush with no input right after another one, so an
         * empty message is written by hand: an empty stored block, 00 00 00 ff ff, minus the
         * tail (as in RFC 7692 section 7.2.3's examples). It leaves the window alone, and our
         * stream is on a byte boundary after the previous flush, so the next message follows
         * it cleanly. */
        if (!(buf = malloc(1)))
            return -ENOMEM;
        buf[0] = 0x00;
        *out = buf;
        *out_len = 1;
        return 0;
    }
    if ((rc = deflate_ready(d)) < 0)
        return rc;
    /* deflateBound covers a whole-stream compression; a sync flush adds a few bytes, and the
     * loop below grows the buffer should that ever be short. */
    cap = deflateBound(&d->zd, (uLong)len) + 16;
    if (!(buf = malloc(cap)))
        return -ENOMEM;
    d->zd.next_in = (Bytef *)(uintptr_t)in;
    d->zd.avail_in = 0;
    for (size_t left = len;;) {
        int zr;
        /* avail_in is 32-bit: feed giant messages in slices. */
        if (d->zd.avail_in == 0 && left > 0) {
            d->zd.avail_in = left > UINT32_MAX ? UINT32_MAX : (uInt)left;
            left -= d->zd.avail_in;
        }
        if (used == cap) {
            if (!(nb = realloc(buf, cap * 2))) {
                rc = -ENOMEM;
                goto fail;
            }
            buf = nb;
            cap *= 2;
        }
        d->zd.next_out = buf + used;
        d->zd.avail_out = (uInt)(cap - used > UINT32_MAX ? UINT32_MAX : cap - used);
        zr = deflate(&d->zd, left > 0 ? Z_NO_FLUSH : Z_SYNC_FLUSH);
        used = (size_t)(d->zd.next_out - buf);
        if (zr != Z_OK && zr != Z_BUF_ERROR) {
            rc = -EPROTO;
            goto fail;
        }
        if (left == 0 && d->zd.avail_in == 0 && d->zd.avail_out > 0)
            break; /* all input taken and the flush fitted: done */
    }
    if (used < 4 || memcmp(buf + used - 4, sync_tail, 4) != 0) {
        rc = -EPROTO; /* zlib broke its sync-flush promise; cannot happen */
        goto fail;
    }
    if (d->zd_reset && deflateReset(&d->zd) != Z_OK) {
        rc = -EPROTO;
        goto fail;
    }
    *out = buf;
    *out_len = used - 4;
    return 0;
fail:
    free(buf);
    d->zd_broken = true;
    return rc;
}

static int inflate_ready(corio_ws_deflate *d)
{
    if (d->zi_ready)
        return 0;
    memset(&d->zi, 0, sizeof d->zi);
    switch (inflateInit2(&d->zi, -INFLATE_BITS)) {
    case Z_OK:
        d->zi_ready = true;
        return 0;
    case Z_MEM_ERROR:
        return -ENOMEM;
    default:
        return -EINVAL;
    }
}

/* Output buffer of a decompression: never more than max bytes. */
struct obuf {
    uint8_t *p;
    size_t used, cap, max;
};

/* Inflates all of in[0..n) into o with the given flush mode. Returns 0 when the input is used
 * up (and all output produced), 1 at the end of a final block (Z_STREAM_END, possibly with
 * input left over), or an error. */
static int run_inflate(z_stream *z, const uint8_t *in, size_t n, int flush, struct obuf *o)
{
    uint8_t probe;

    z->next_in = (Bytef *)(uintptr_t)in;
    z->avail_in = 0;
    for (size_t left = n;;) {
        bool probing = false;
        int zr;
        if (z->avail_in == 0 && left > 0) {
            z->avail_in = left > UINT32_MAX ? UINT32_MAX : (uInt)left;
            left -= z->avail_in;
        }
        if (o->used == o->cap) {
            if (o->cap < o->max) {
                size_t ncap = o->cap > o->max / 2 ? o->max : o->cap * 2;
                uint8_t *np = realloc(o->p, ncap);
                if (!np)
                    return -ENOMEM;
                o->p = np;
                o->cap = ncap;
            } else {
                probing = true; /* full at the limit: is there another byte? */
            }
        }
        if (probing) {
            z->next_out = &probe;
            z->avail_out = 1;
        } else {
            z->next_out = o->p + o->used;
            z->avail_out = (uInt)(o->cap - o->used > UINT32_MAX ? UINT32_MAX : o->cap - o->used);
        }
        zr = inflate(z, flush);
        if (probing) {
            if (z->avail_out == 0)
                return -EMSGSIZE;
        } else {
            o->used = (size_t)(z->next_out - o->p);
        }
        if (zr == Z_STREAM_END)
            return 1;
        if (zr == Z_MEM_ERROR)
            return -ENOMEM;
        if (zr != Z_OK && zr != Z_BUF_ERROR)
            return -EPROTO; /* Z_DATA_ERROR, Z_NEED_DICT (impossible raw), Z_STREAM_ERROR */
        if (left == 0 && z->avail_in == 0 && z->avail_out > 0)
            return 0;
        /* Z_BLOCK stops at every block boundary with input left: just go on. */
    }
}

/* After a final block: start a fresh stream, keeping the window if the peer may refer to it. */
static int restart_inflate(corio_ws_deflate *d)
{
    uint8_t *dict = NULL;
    uInt dlen = 0;
    int rc = 0;

    if (d->zi_keep) {
        if (!(dict = malloc(1u << INFLATE_BITS)))
            return -ENOMEM;
        if (inflateGetDictionary(&d->zi, dict, &dlen) != Z_OK)
            rc = -EPROTO;
    }
    if (rc == 0 && inflateReset(&d->zi) != Z_OK)
        rc = -EPROTO;
    if (rc == 0 && dlen > 0 && inflateSetDictionary(&d->zi, dict, dlen) != Z_OK)
        rc = -EPROTO;
    free(dict);
    return rc;
}

int corio_ws_deflate_decompress(corio_ws_deflate *d, const void *in, size_t len, size_t max,
                                uint8_t **out, size_t *out_len)
{
    struct obuf o = {NULL, 0, 0, max};
    int rc;

    *out = NULL;
    *out_len = 0;
    if (d->zi_broken)
        return -EPROTO;
    if (len == 0) {
        /* Strictly, 00 00 ff ff alone is a truncated stored block; some senders use an empty
         * payload for an empty message all the same, and it can mean nothing else. */
        if (!(o.p = malloc(1)))
            return -ENOMEM;
        *out = o.p;
        return 0;
    }
    if ((rc = inflate_ready(d)) < 0)
        return rc;
    /* A first guess at the ratio; growth doubles from there, capped at max. */
    o.cap = len < 64 ? 256 : len <= SIZE_MAX / 4 ? len * 4 : SIZE_MAX;
    if (o.cap > max)
        o.cap = max;
    if (!(o.p = malloc(o.cap ? o.cap : 1)))
        return -ENOMEM;

    rc = run_inflate(&d->zi, in, len, Z_SYNC_FLUSH, &o);
    if (rc == 1) {
        /* The message ended with a BFINAL block (RFC 7692 section 7.2.3 lets a sender flush
         * that way). Whatever follows it is not part of this deflate stream: the RFC's own
         * example leaves the first byte of the empty stored block its algorithm appends, so
         * trailing bytes are ignored rather than refused. */
        rc = restart_inflate(d);
    } else if (rc == 0) {
        /* Z_BLOCK makes inflate stop right after the empty stored block the tail completes,
         * so data_type tells whether the message ended on a block boundary. */
        rc = run_inflate(&d->zi, sync_tail, sizeof sync_tail, Z_BLOCK, &o);
        if (rc == 1)
            rc = restart_inflate(d);
        else if (rc == 0 && !(d->zi.data_type & 128))
            rc = -EPROTO;
        if (rc == 0 && d->zi_reset && inflateReset(&d->zi) != Z_OK)
            rc = -EPROTO;
    }
    if (rc < 0) {
        free(o.p);
        d->zi_broken = true;
        return rc;
    }
    *out = o.p;
    *out_len = o.used;
    return 0;
}
