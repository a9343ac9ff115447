/* SPDX-License-Identifier: MIT */
/* ws/utf8.c: the streaming UTF-8 validator (see corio/ws_frame.h).
 *
 * Shape. A deterministic automaton, designed from the table of well-formed byte sequences in
 * RFC 3629 section 4 (and Unicode's table 3-7): bytes fall into 12 classes and 9 states track
 * how many continuation bytes are due. The states that follow E0, ED, F0 and F4 restrict the
 * next byte's range, which is how overlong forms (E0 80..9F, F0 80..8F; C0 and C1 are never
 * leads), surrogates (ED A0..BF) and code points above U+10FFFF (F4 90..BF, and F5..FF as
 * leads) are refused; everything else needs only "a continuation byte follows".
 * The transition table is stored "shift-based": a state is a multiple of 6, and each byte has
 * one 64-bit row holding, at bit s, the 6-bit state that follows state s. A step is then
 * `s = rows[byte] >> s`: the load does not depend on the state, so the loop-carried chain is one
 * shift instead of the two dependent loads of a classic class + transition table.
 *
 * Invariants: state 0 means "between characters" (so the zeroed struct is a fresh validator);
 * REJECT is absorbing, which makes failure sticky across calls. A text split anywhere, even
 * inside a character, gives the same verdict as the whole text, because the state carries
 * everything the automaton knows.
 *
 * Speed. Text is mostly ASCII, so while the automaton is between characters we skip 32 and then
 * 8 bytes at a time whose top bits are all clear (loads through memcpy: no alignment needed, no
 * byte read outside [p, p + n)). Otherwise the automaton steps through blocks of 16 bytes,
 * checking for REJECT (and for a chance to return to the word loop) once per block.
 *
 * Not here: replacement of bad sequences, or decoding to code points.
 */
#include "corio/ws_frame.h"

#include <string.h>

/* States, as shift amounts: state k is 6 * k, so a state selects a 6-bit field of a row. */
#define S_OK 0
#define S_REJ 6
#define S_N1 12 /* one continuation byte to go */
#define S_N2 18 /* two to go */
#define S_N3 24 /* three to go */
#define S_E0 30 /* after E0: next A0..BF (else overlong) */
#define S_ED 36 /* after ED: next 80..9F (else a surrogate) */
#define S_F0 42 /* after F0: next 90..BF (else overlong) */
#define S_F4 48 /* after F4: next 80..8F (else > U+10FFFF) */

/* A byte's row: for each current state s, the next state in bits [s, s + 6). Arguments are
 * the next states from OK, N1, N2, N3, E0, ED, F0 and F4; REJ always stays REJ. */
#define ROW(ok, n1, n2, n3, e0, ed, f0, f4)                                                        \
    ((uint64_t)(ok) << S_OK | (uint64_t)S_REJ << S_REJ | (uint64_t)(n1) << S_N1 |                  \
     (uint64_t)(n2) << S_N2 | (uint64_t)(n3) << S_N3 | (uint64_t)(e0) << S_E0 |                    \
     (uint64_t)(ed) << S_ED | (uint64_t)(f0) << S_F0 | (uint64_t)(f4) << S_F4)
#define LEAD(to) ROW(to, S_REJ, S_REJ, S_REJ, S_REJ, S_REJ, S_REJ, S_REJ)

#define R_ASC ROW(S_OK, S_REJ, S_REJ, S_REJ, S_REJ, S_REJ, S_REJ, S_REJ)  /* 00..7F */
#define R_X8 ROW(S_REJ, S_OK, S_N1, S_N2, S_REJ, S_N1, S_REJ, S_N2)       /* 80..8F */
#define R_X9 ROW(S_REJ, S_OK, S_N1, S_N2, S_REJ, S_N1, S_N2, S_REJ)       /* 90..9F */
#define R_XA ROW(S_REJ, S_OK, S_N1, S_N2, S_N1, S_REJ, S_N2, S_REJ)       /* A0..BF */
#define R_BAD LEAD(S_REJ) /* C0, C1, F5..FF: never in UTF-8 */
#define R_L2 LEAD(S_N1)   /* C2..DF */
#define R_E0 LEAD(S_E0)
#define R_L3 LEAD(S_N2)   /* E1..EC, EE, EF */
#define R_ED LEAD(S_ED)
#define R_F0 LEAD(S_F0)
#define R_L4 LEAD(S_N3)   /* F1..F3 */
#define R_F4 LEAD(S_F4)

#define X4(r) r, r, r, r
#define X16(r) X4(r), X4(r), X4(r), X4(r)

static const uint64_t rows[256] = {
    X16(R_ASC), X16(R_ASC), X16(R_ASC), X16(R_ASC), X16(R_ASC), X16(R_ASC), X16(R_ASC),
    X16(R_ASC),                                           /* 00..7F */
    X16(R_X8),  X16(R_X9),  X16(R_XA),  X16(R_XA),        /* 80..BF */
    R_BAD, R_BAD, R_L2, R_L2, X4(R_L2), X4(R_L2), X4(R_L2), /* C0..CF */
    X16(R_L2),                                            /* D0..DF */
    R_E0, R_L3, R_L3, R_L3, X4(R_L3), X4(R_L3), R_L3, R_ED, R_L3, R_L3, /* E0..EF */
    R_F0, R_L4, R_L4, R_L4, R_F4, R_BAD, R_BAD, R_BAD, X4(R_BAD), X4(R_BAD), /* F0..FF */
};

#define HIGH_BITS 0x8080808080808080ull
#define BLOCK 16 /* bytes stepped through the automaton between checks */

static inline uint64_t load64(const uint8_t *p)
{
    uint64_t w;
    memcpy(&w, p, sizeof w);
    return w;
}

/* Returns the state after s has consumed p[0..n); stops early on REJECT (absorbing anyway). */
static uint32_t run(uint32_t state, const uint8_t *p, size_t n)
{
    uint64_t s = state;
    size_t i = 0;

    while (i < n) {
        if (s == S_OK) {
            while (n - i >= 32 && ((load64(p + i) | load64(p + i + 8) | load64(p + i + 16) |
                                    load64(p + i + 24)) & HIGH_BITS) == 0)
                i += 32;
            while (n - i >= 8 && (load64(p + i) & HIGH_BITS) == 0)
                i += 8;
            if (i == n)
                break;
        }
        /* The step is one load that does not depend on the state and one shift, so the
         * dependency chain is a cycle or two per byte. x86 shifts use the count modulo 64, so
         * the compiler drops the "& 63"; the upper bits of s are junk until masked below. */
        size_t end = n - i > BLOCK ? i + BLOCK : n;
        for (; i < end; i++)
            s = rows[p[i]] >> (s & 63);
        s &= 63;
        if (s == S_REJ)
            return S_REJ;
    }
    return (uint32_t)s;
}

bool corio_ws_utf8_feed(struct corio_ws_utf8 *v, const void *p, size_t n)
{
    if (v->state == S_REJ)
        return false;
    if (n == 0)
        return true;
    v->state = run(v->state, p, n);
    return v->state != S_REJ;
}

bool corio_ws_utf8_done(const struct corio_ws_utf8 *v)
{
    return v->state == S_OK;
}

bool corio_ws_utf8_valid(const void *p, size_t n)
{
    return n == 0 || run(S_OK, p, n) == S_OK;
}
