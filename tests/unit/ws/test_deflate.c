/* SPDX-License-Identifier: MIT */
/* Unit tests of permessage-deflate (src/ws/deflate.c): negotiation (RFC 7692's examples, several
 * offers, quoted values, invalid and duplicate parameters, malformed headers), the client's
 * reading of a response, and compression: RFC 7692's example bytes, round trips with and
 * without context takeover, the 8-bit window checked with an independent 256-byte-window
 * inflater, BFINAL-terminated messages, corrupt input (-EPROTO) and a decompression bomb
 * (-EMSGSIZE).
 */
#include "corio/ws_frame.h"
#include "test.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

static char resp[CORIO_WS_DEFLATE_RESP_MAX];
static struct corio_ws_deflate_params ag;

static int neg(const char *offer)
{
    memset(resp, 'x', sizeof resp);
    return corio_ws_deflate_negotiate(offer, strlen(offer), resp, sizeof resp, &ag);
}

static void params_eq(bool snct, bool cnct, int smwb, int cmwb)
{
    ASSERT_EQ(ag.server_no_context_takeover, snct);
    ASSERT_EQ(ag.client_no_context_takeover, cnct);
    ASSERT_EQ(ag.server_max_window_bits, smwb);
    ASSERT_EQ(ag.client_max_window_bits, cmwb);
}

/* ---- negotiation (server) ----------------------------------------------------------------- */

TEST(negotiate_plain_offer)
{
    ASSERT_EQ(neg("permessage-deflate"), 1);
    ASSERT_STREQ(resp, "permessage-deflate");
    params_eq(false, false, 0, 0);
    /* What browsers send. */
    ASSERT_EQ(neg("permessage-deflate; client_max_window_bits"), 1);
    ASSERT_STREQ(resp, "permessage-deflate");
    params_eq(false, false, 0, 0);
}

TEST(negotiate_rfc7692_examples)
{
    /* Both no_context_takeover parameters, echoed. */
    ASSERT_EQ(neg("permessage-deflate; server_no_context_takeover; client_no_context_takeover"),
              1);
    ASSERT_STREQ(resp,
                 "permessage-deflate; server_no_context_takeover; client_no_context_takeover");
    params_eq(true, true, 0, 0);
    /* server_max_window_bits must be answered with (at most) that value. */
    ASSERT_EQ(neg("permessage-deflate; server_max_window_bits=10"), 1);
    ASSERT_STREQ(resp, "permessage-deflate; server_max_window_bits=10");
    params_eq(false, false, 10, 0);
    /* client_max_window_bits with a value. */
    ASSERT_EQ(neg("permessage-deflate; client_max_window_bits=12"), 1);
    ASSERT_STREQ(resp, "permessage-deflate; client_max_window_bits=12");
    params_eq(false, false, 0, 12);
    /* Section 5's example: two offers, the first preferred. */
    ASSERT_EQ(neg("permessage-deflate; client_max_window_bits; server_max_window_bits=10, "
                  "permessage-deflate; client_max_window_bits"),
              1);
    ASSERT_STREQ(resp, "permessage-deflate; server_max_window_bits=10");
    params_eq(false, false, 10, 0);
    /* Everything at once. */
    ASSERT_EQ(neg("permessage-deflate;server_max_window_bits=15;client_max_window_bits=15;"
                  "server_no_context_takeover;client_no_context_takeover"),
              1);
    ASSERT_STREQ(resp, "permessage-deflate; server_no_context_takeover; "
                       "client_no_context_takeover; server_max_window_bits=15; "
                       "client_max_window_bits=15");
    ASSERT_LT(strlen(resp), CORIO_WS_DEFLATE_RESP_MAX);
    params_eq(true, true, 15, 15);
}

TEST(negotiate_quoted_values_and_whitespace)
{
    ASSERT_EQ(neg("permessage-deflate; server_max_window_bits=\"11\""), 1);
    params_eq(false, false, 11, 0);
    ASSERT_EQ(neg("permessage-deflate; client_max_window_bits=\"\\9\""), 1); /* quoted-pair */
    params_eq(false, false, 0, 9);
    ASSERT_EQ(neg("  permessage-deflate \t;  server_max_window_bits = 9 ;"
                  "client_no_context_takeover "),
              1);
    params_eq(false, true, 9, 0);
    /* Empty list elements are allowed by the list rule. */
    ASSERT_EQ(neg(" , ,permessage-deflate,,"), 1);
    params_eq(false, false, 0, 0);
}

TEST(negotiate_declines_bad_offers_and_takes_the_next)
{
    static const char *bad[] = {
        "permessage-deflate; unknown_param",
        "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
        "permessage-deflate; client_max_window_bits; client_max_window_bits=10",
        "permessage-deflate; server_no_context_takeover=1",
        "permessage-deflate; client_no_context_takeover=\"\"",
        "permessage-deflate; server_max_window_bits",
        "permessage-deflate; server_max_window_bits=7",
        "permessage-deflate; server_max_window_bits=16",
        "permessage-deflate; server_max_window_bits=08",
        "permessage-deflate; server_max_window_bits=+9",
        "permessage-deflate; server_max_window_bits=\"1 5\"",
        "permessage-deflate; server_max_window_bits=123456789012",
        "permessage-deflate; client_max_window_bits=0",
        "permessage-deflate; client_max_window_bits=\"\"",
        "permessage-deflate; Server_No_Context_Takeover",
    };
    char buf[256];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ASSERT_EQ(neg(bad[i]), 0);
        ASSERT_STREQ(resp, "");
        params_eq(false, false, 0, 0);
        snprintf(buf, sizeof buf, "%s, permessage-deflate; client_no_context_takeover", bad[i]);
        ASSERT_EQ(neg(buf), 1);
        ASSERT_STREQ(resp, "permessage-deflate; client_no_context_takeover");
        params_eq(false, true, 0, 0);
    }
}

TEST(negotiate_skips_unknown_extensions)
{
    ASSERT_EQ(neg("x-webkit-deflate-frame"), 0);
    ASSERT_EQ(neg("foo; bar=baz; q=\"a, b; c\", permessage-deflate; server_max_window_bits=8"),
              1);
    ASSERT_STREQ(resp, "permessage-deflate; server_max_window_bits=8");
    params_eq(false, false, 8, 0);
    ASSERT_EQ(neg(""), 0);
    ASSERT_EQ(neg("   "), 0);
    ASSERT_EQ(neg("permessage-deflatex, xpermessage-deflate"), 0);
}

TEST(negotiate_rejects_malformed_headers)
{
    static const char *bad[] = {
        ";", "permessage-deflate;", "permessage-deflate; ;", "permessage-deflate; =1",
        "permessage-deflate; a=", "permessage-deflate; a=\"unterminated",
        "permessage-deflate; a=\"bad\x01\"", "permessage-deflate; a=\"x\\",
        "permessage-deflate x", "permessage-deflate; a b", "per message", "\"quoted\"",
        "permessage-deflate, foo;", "permessage-deflate; a=b=c", "permessage-deflate; a=@",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (neg(bad[i]) != -EINVAL)
            test__fail(__FILE__, __LINE__, "accepted: %s", bad[i]);
    /* Even with an acceptable offer before the error. */
    ASSERT_EQ(neg("permessage-deflate, foo bar"), -EINVAL);
    /* Bytes after len are not read. */
    ASSERT_EQ(corio_ws_deflate_negotiate("permessage-deflate; zzz", 18, resp, sizeof resp, &ag),
              1);
}

TEST(negotiate_needs_room_for_the_response)
{
    char small[10];
    ASSERT_EQ(corio_ws_deflate_negotiate("permessage-deflate", 18, small, sizeof small, &ag),
              -ENOSPC);
    char exact[19];
    ASSERT_EQ(corio_ws_deflate_negotiate("permessage-deflate", 18, exact, sizeof exact, &ag), 1);
    ASSERT_STREQ(exact, "permessage-deflate");
}

/* ---- the client's side -------------------------------------------------------------------- */

static int cresp(const char *v)
{
    return corio_ws_deflate_response(v, strlen(v), &ag);
}

TEST(client_offer_and_response)
{
    ASSERT_STREQ(corio_ws_deflate_offer(), "permessage-deflate; client_max_window_bits");
    /* Our own offer is acceptable to our server. */
    ASSERT_EQ(neg(corio_ws_deflate_offer()), 1);

    ASSERT_EQ(cresp(""), 0);
    params_eq(false, false, 0, 0);
    ASSERT_EQ(cresp("permessage-deflate"), 1);
    params_eq(false, false, 0, 0);
    ASSERT_EQ(cresp("permessage-deflate; server_no_context_takeover; client_max_window_bits=9"),
              1);
    params_eq(true, false, 0, 9);
    ASSERT_EQ(cresp("permessage-deflate;client_no_context_takeover;server_max_window_bits=\"12\""),
              1);
    params_eq(false, true, 12, 0);

    static const char *bad[] = {
        "x-other",                                                /* not offered */
        "permessage-deflate, permessage-deflate",                 /* two */
        "permessage-deflate, x-other",
        "permessage-deflate; client_max_window_bits",             /* needs a value here */
        "permessage-deflate; client_max_window_bits=16",
        "permessage-deflate; server_max_window_bits",
        "permessage-deflate; server_max_window_bits=7",
        "permessage-deflate; bogus",
        "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
        "permessage-deflate; client_no_context_takeover=yes",
        "permessage-deflate;",
        "permessage-deflate x",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (cresp(bad[i]) != -EPROTO)
            test__fail(__FILE__, __LINE__, "accepted: %s", bad[i]);
        params_eq(false, false, 0, 0);
    }
}

/* ---- compression -------------------------------------------------------------------------- */

static corio_ws_deflate *make(bool snct, bool cnct, int smwb, int cmwb, bool server)
{
    struct corio_ws_deflate_params p = {snct, cnct, (uint8_t)smwb, (uint8_t)cmwb};
    corio_ws_deflate *d = NULL;
    ASSERT_EQ(corio_ws_deflate_new(&p, server, &d), 0);
    ASSERT_NOT_NULL(d);
    return d;
}

static void compress_ok(corio_ws_deflate *d, const void *in, size_t n, uint8_t **out,
                        size_t *olen)
{
    ASSERT_EQ(corio_ws_deflate_compress(d, in, n, out, olen), 0);
    ASSERT_NOT_NULL(*out);
}

static void roundtrip(corio_ws_deflate *tx, corio_ws_deflate *rx, const void *in, size_t n,
                      size_t *clen)
{
    uint8_t *c, *u;
    size_t cl, ul;
    compress_ok(tx, in, n, &c, &cl);
    ASSERT_EQ(corio_ws_deflate_decompress(rx, c, cl, n, &u, &ul), 0);
    ASSERT_EQ(ul, n);
    ASSERT_MEMEQ(u, in, n);
    if (clen)
        *clen = cl;
    free(c);
    free(u);
}

TEST(rfc7692_hello_examples)
{
    static const uint8_t hello[] = {0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00};
    static const uint8_t hello2[] = {0xf2, 0x00, 0x11, 0x00, 0x00}; /* shared window */
    static const uint8_t stored[] = {0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f,
                                     0x00}; /* stored block */
    static const uint8_t bfinal[] = {0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00}; /* BFINAL */
    static const uint8_t two[] = {0xf2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xff, 0xff,
                                  0xca, 0xc9, 0xc9, 0x07, 0x00}; /* two blocks */
    uint8_t *out;
    size_t n;

    /* Our compressor produces the RFC's bytes, for the first and the second message. */
    corio_ws_deflate *tx = make(false, false, 0, 0, true);
    compress_ok(tx, "Hello", 5, &out, &n);
    ASSERT_EQ(n, sizeof hello);
    ASSERT_MEMEQ(out, hello, n);
    free(out);
    compress_ok(tx, "Hello", 5, &out, &n);
    ASSERT_EQ(n, sizeof hello2);
    ASSERT_MEMEQ(out, hello2, n);
    free(out);
    corio_ws_deflate_free(tx);

    /* And decompresses all of the RFC's forms, in one context (the window carries over). */
    corio_ws_deflate *rx = make(false, false, 0, 0, false);
    const struct {
        const uint8_t *p;
        size_t n;
    } msgs[] = {{hello, sizeof hello}, {hello2, sizeof hello2}, {stored, sizeof stored},
                {bfinal, sizeof bfinal}, {two, sizeof two}, {hello2, sizeof hello2}};
    for (size_t i = 0; i < sizeof msgs / sizeof msgs[0]; i++) {
        ASSERT_EQ(corio_ws_deflate_decompress(rx, msgs[i].p, msgs[i].n, 100, &out, &n), 0);
        ASSERT_EQ(n, 5);
        ASSERT_MEMEQ(out, "Hello", 5);
        free(out);
    }
    corio_ws_deflate_free(rx);
}

TEST(empty_message)
{
    corio_ws_deflate *tx = make(false, false, 0, 0, true), *rx = make(false, false, 0, 0, false);
    uint8_t *out, *u;
    size_t n, un;
    compress_ok(tx, "", 0, &out, &n);
    ASSERT_EQ(n, 1); /* a lone 0x00, as in RFC 7692's examples */
    ASSERT_EQ(out[0], 0x00);
    ASSERT_EQ(corio_ws_deflate_decompress(rx, out, n, 0, &u, &un), 0);
    ASSERT_NOT_NULL(u);
    ASSERT_EQ(un, 0);
    free(u);
    free(out);
    /* A zero-length payload is the same thing to the inflater. */
    ASSERT_EQ(corio_ws_deflate_decompress(rx, "", 0, 10, &u, &un), 0);
    ASSERT_EQ(un, 0);
    free(u);
    corio_ws_deflate_free(tx);
    corio_ws_deflate_free(rx);
}

static uint8_t text[200000];

static void fill_text(size_t n, unsigned seed)
{
    static const char *words[] = {"alpha ", "beta ", "gamma ", "delta ", "room ", "chat ",
                                  "message ", "\xc3\xa9t\xc3\xa9 ", "{\"type\":\"ping\"} "};
    size_t i = 0;
    while (i < n) {
        seed = seed * 1103515245u + 12345u;
        const char *w = words[(seed >> 16) % 9];
        for (size_t k = 0; w[k] && i < n; k++)
            text[i++] = (uint8_t)w[k];
    }
}

TEST(roundtrips_with_and_without_context_takeover)
{
    for (int mode = 0; mode < 4; mode++) {
        bool snct = mode & 1, cnct = mode & 2;
        /* A server and a client, each sending to the other. */
        corio_ws_deflate *srv = make(snct, cnct, 0, 0, true);
        corio_ws_deflate *cli = make(snct, cnct, 0, 0, false);
        size_t c1, c2;
        fill_text(3000, 7);
        roundtrip(srv, cli, text, 3000, &c1);
        roundtrip(srv, cli, text, 3000, &c2); /* the same message again */
        if (snct)
            ASSERT_EQ(c2, c1);   /* nothing remembered */
        else
            ASSERT_LT(c2, c1 / 4); /* mostly back-references into the last message */
        roundtrip(cli, srv, text, 3000, &c1);
        roundtrip(cli, srv, text, 3000, &c2);
        if (cnct)
            ASSERT_EQ(c2, c1);
        else
            ASSERT_LT(c2, c1 / 4);
        /* Many sizes, including incompressible data and big messages. */
        for (size_t n = 0; n < 150000; n = n * 3 + 1) {
            fill_text(n, (unsigned)n);
            roundtrip(srv, cli, text, n, NULL);
            for (size_t i = 0; i < n; i++)
                text[i] = (uint8_t)((i * 2654435761u) >> 13);
            roundtrip(cli, srv, text, n, NULL);
        }
        corio_ws_deflate_free(srv);
        corio_ws_deflate_free(cli);
    }
}

TEST(window_bits_are_honoured)
{
    for (int bits = 8; bits <= 15; bits++) {
        /* Server compresses with server_max_window_bits; check with an independent inflater
         * that has exactly that window: a reference too far back would fail it. */
        corio_ws_deflate *srv = make(false, false, bits, 0, true);
        z_stream z;
        memset(&z, 0, sizeof z);
        ASSERT_EQ(inflateInit2(&z, -bits), Z_OK);
        static uint8_t got[20000];
        for (int msg = 0; msg < 4; msg++) {
            uint8_t *c;
            size_t cl;
            fill_text(20000, 3); /* repeats at distances well beyond 256 bytes */
            compress_ok(srv, text, 20000, &c, &cl);
            ASSERT_LT(cl, 20000);
            uint8_t *in = malloc(cl + 4);
            memcpy(in, c, cl);
            memcpy(in + cl, "\x00\x00\xff\xff", 4);
            z.next_in = in;
            z.avail_in = (uInt)(cl + 4);
            z.next_out = got;
            z.avail_out = sizeof got;
            int zr = inflate(&z, Z_SYNC_FLUSH);
            ASSERT(zr == Z_OK || zr == Z_BUF_ERROR);
            ASSERT_EQ(z.avail_in, 0);
            ASSERT_EQ(sizeof got - z.avail_out, 20000);
            ASSERT_MEMEQ(got, text, 20000);
            free(in);
            free(c);
        }
        inflateEnd(&z);
        corio_ws_deflate_free(srv);
        /* The client side uses client_max_window_bits the same way; round trip it. */
        corio_ws_deflate *cli = make(false, false, 0, bits, false);
        corio_ws_deflate *rx = make(false, false, 0, bits, true);
        fill_text(5000, 11);
        roundtrip(cli, rx, text, 5000, NULL);
        roundtrip(cli, rx, text, 5000, NULL);
        corio_ws_deflate_free(cli);
        corio_ws_deflate_free(rx);
    }
}

TEST(new_rejects_bad_window_bits)
{
    corio_ws_deflate *d = (corio_ws_deflate *)1;
    struct corio_ws_deflate_params p = {.server_max_window_bits = 7};
    ASSERT_EQ(corio_ws_deflate_new(&p, true, &d), -EINVAL);
    ASSERT_NULL(d);
    p = (struct corio_ws_deflate_params){.client_max_window_bits = 16};
    ASSERT_EQ(corio_ws_deflate_new(&p, false, &d), -EINVAL);
    corio_ws_deflate_free(NULL);
}

TEST(corrupt_input_is_eproto_and_breaks_the_context)
{
    uint8_t *out = (uint8_t *)1;
    size_t n = 1;
    corio_ws_deflate *rx = make(false, false, 0, 0, false);
    static const uint8_t junk[] = {0xff, 0xff, 0xff, 0xff, 0xff};
    ASSERT_EQ(corio_ws_deflate_decompress(rx, junk, sizeof junk, 1000, &out, &n), -EPROTO);
    ASSERT_NULL(out);
    ASSERT_EQ(n, 0);
    /* Later calls refuse, even with good data. */
    static const uint8_t hello[] = {0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00};
    ASSERT_EQ(corio_ws_deflate_decompress(rx, hello, sizeof hello, 1000, &out, &n), -EPROTO);
    corio_ws_deflate_free(rx);

    /* BTYPE 11 is reserved. */
    rx = make(false, false, 0, 0, false);
    ASSERT_EQ(corio_ws_deflate_decompress(rx, "\x06", 1, 1000, &out, &n), -EPROTO);
    corio_ws_deflate_free(rx);

    /* A message cut inside a block (here: inside a stored block's bytes). */
    rx = make(false, false, 0, 0, false);
    static const uint8_t cut[] = {0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65};
    ASSERT_EQ(corio_ws_deflate_decompress(rx, cut, sizeof cut, 1000, &out, &n), -EPROTO);
    corio_ws_deflate_free(rx);

    /* A compressed message with its last bytes missing. */
    fill_text(5000, 5);
    corio_ws_deflate *tx = make(false, false, 0, 0, true);
    uint8_t *c;
    size_t cl;
    compress_ok(tx, text, 5000, &c, &cl);
    int seen_eproto = 0;
    for (size_t drop = 1; drop < 6 && drop < cl; drop++) {
        rx = make(false, false, 0, 0, false);
        int rc = corio_ws_deflate_decompress(rx, c, cl - drop, 100000, &out, &n);
        ASSERT(rc == -EPROTO || rc == 0);
        if (rc == 0) {
            ASSERT(n < 5000);
            free(out);
        } else {
            seen_eproto++;
        }
        corio_ws_deflate_free(rx);
    }
    ASSERT_GT(seen_eproto, 0);
    free(c);
    corio_ws_deflate_free(tx);
}

TEST(output_limit_is_exact)
{
    corio_ws_deflate *tx = make(false, false, 0, 0, true);
    fill_text(10000, 9);
    uint8_t *c, *out;
    size_t cl, n;
    compress_ok(tx, text, 10000, &c, &cl);
    corio_ws_deflate *rx = make(true, true, 0, 0, false);
    ASSERT_EQ(corio_ws_deflate_decompress(rx, c, cl, 10000, &out, &n), 0);
    ASSERT_EQ(n, 10000);
    free(out);
    corio_ws_deflate_free(rx);
    rx = make(true, true, 0, 0, false);
    ASSERT_EQ(corio_ws_deflate_decompress(rx, c, cl, 9999, &out, &n), -EMSGSIZE);
    ASSERT_NULL(out);
    corio_ws_deflate_free(rx);
    rx = make(true, true, 0, 0, false);
    ASSERT_EQ(corio_ws_deflate_decompress(rx, c, cl, 0, &out, &n), -EMSGSIZE);
    corio_ws_deflate_free(rx);
    free(c);
    corio_ws_deflate_free(tx);
}

TEST_TIMEOUT(decompression_bomb_is_emsgsize, 60)
{
    /* 64 MiB of zeros deflate to about 64 KiB (a ratio of 1000), fed in 1 MiB steps. */
    const size_t total = (size_t)64 << 20, step = (size_t)1 << 20;
    uint8_t *zeros = calloc(1, step);
    size_t cap = (size_t)1 << 20, cl = 0;
    uint8_t *c = malloc(cap);
    z_stream z;
    memset(&z, 0, sizeof z);
    ASSERT_EQ(deflateInit2(&z, 9, Z_DEFLATED, -15, 9, Z_DEFAULT_STRATEGY), Z_OK);
    for (size_t done = 0; done < total; done += step) {
        z.next_in = zeros;
        z.avail_in = (uInt)step;
        do {
            z.next_out = c + cl;
            z.avail_out = (uInt)(cap - cl);
            ASSERT(deflate(&z, done + step == total ? Z_SYNC_FLUSH : Z_NO_FLUSH) != Z_STREAM_ERROR);
            cl = cap - z.avail_out;
            ASSERT(cl < cap); /* the bomb is far smaller than a MiB */
        } while (z.avail_in > 0);
    }
    deflateEnd(&z);
    ASSERT_GT(cl, 4);
    cl -= 4; /* the trailing 00 00 ff ff */

    corio_ws_deflate *rx = make(false, false, 0, 0, true);
    uint8_t *out = (uint8_t *)1;
    size_t n = 1;
    ASSERT_EQ(corio_ws_deflate_decompress(rx, c, cl, (size_t)1 << 20, &out, &n), -EMSGSIZE);
    ASSERT_NULL(out);
    ASSERT_EQ(n, 0);
    corio_ws_deflate_free(rx);
    /* With room for all of it, it is a (big) valid message. */
    rx = make(false, false, 0, 0, true);
    ASSERT_EQ(corio_ws_deflate_decompress(rx, c, cl, total, &out, &n), 0);
    ASSERT_EQ(n, total);
    ASSERT_EQ(out[0], 0);
    ASSERT_EQ(out[total - 1], 0);
    free(out);
    corio_ws_deflate_free(rx);
    free(c);
    free(zeros);
}
