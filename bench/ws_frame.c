/* SPDX-License-Identifier: MIT */
/* bench/ws_frame.c (bench_ws_frame): throughput of the WebSocket codec (src/ws/frame.c, utf8.c).
 *
 * Cases, each a buffer of about 256 KiB holding back-to-back frames that a server parses from
 * start to end, as it would a full read buffer:
 *   binary_<size>   masked BINARY frames of 16 B, 1 KiB, 64 KiB payload: parse + unmask;
 *   text_<size>     masked ASCII TEXT frames: parse + unmask + UTF-8 validation (the key is
 *                   all zeros so the text stays valid from one pass to the next; the XOR work is
 *                   the same as with any key);
 * then the UTF-8 validator alone over 64 KiB of ASCII, of Latin-1-ish text (one 2-byte character
 * in ten), of Cyrillic (2-byte), of CJK (3-byte) and of emoji (4-byte), and corio_ws_mask alone.
 * Prints one line per case with ns per frame (or per buffer) and GB/s of input (headers
 * included), after a line describing the build and machine. Each case runs about
 * CORIO_BENCH_SECONDS (default 1) seconds after a warm-up. Never asserts thresholds.
 */
#include "corio/ws_frame.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>

#define BUF_TARGET ((size_t)256 << 10)

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static volatile size_t sink;

struct work {
    uint8_t *buf;
    size_t len;
    size_t frames;
    bool parse; /* else: validate UTF-8 (utf8 = true) or mask */
    bool utf8;
};

static size_t run_once(struct work *w)
{
    if (w->parse) {
        struct corio_ws_parser p;
        struct corio_ws_parser_opts o = {.server = true, .max_message = (size_t)1 << 20};
        struct corio_ws_event ev;
        size_t at = 0, acc = 0;
        corio_ws_parser_init(&p, &o);
        while (at < w->len) {
            ssize_t r = corio_ws_parse(&p, w->buf + at, w->len - at, &ev);
            if (r <= 0) {
                fprintf(stderr, "parse failed: %zd %s\n", r, p.error ? p.error : "");
                exit(1);
            }
            at += (size_t)r;
            acc += ev.len;
        }
        return acc;
    }
    if (w->utf8) {
        if (!corio_ws_utf8_valid(w->buf, w->len)) {
            fprintf(stderr, "invalid UTF-8 in the bench input\n");
            exit(1);
        }
        return w->len;
    }
    static const uint8_t key[4] = {0x12, 0x34, 0x56, 0x78};
    corio_ws_mask(w->buf, w->len, key, 1);
    return w->buf[0];
}

static void bench(const char *name, struct work *w, double seconds)
{
    size_t iters = 1;
    double t0, t;

    for (;;) {
        t0 = now();
        for (size_t i = 0; i < iters; i++)
            sink += run_once(w);
        if ((t = now() - t0) > 0.01)
            break;
        iters *= 2;
    }
    size_t total = 0;
    double start = now(), el;
    do {
        for (size_t i = 0; i < iters; i++)
            sink += run_once(w);
        total += iters;
    } while ((el = now() - start) < seconds);
    double ns_buf = el * 1e9 / (double)total;
    printf("%-18s bytes=%-7zu frames=%-6zu ns_per_frame=%-9.1f GB_per_s=%.2f\n", name, w->len,
           w->frames, ns_buf / (double)w->frames, (double)w->len / ns_buf);
}

static void frames(struct work *w, uint8_t op, size_t payload, bool zero_key)
{
    const uint8_t key[4] = {0x5a, 0xa5, 0x3c, 0xc3}, zero[4] = {0};
    size_t per = payload + CORIO_WS_MAX_HEAD;
    size_t n = BUF_TARGET / per ? BUF_TARGET / per : 1;

    w->buf = malloc(n * per);
    w->len = 0;
    w->frames = n;
    w->parse = true;
    for (size_t i = 0; i < n; i++) {
        size_t h = corio_ws_frame_head(w->buf + w->len, op, true, false, payload,
                                       zero_key ? zero : key);
        uint8_t *pl = w->buf + w->len + h;
        for (size_t k = 0; k < payload; k++)
            pl[k] = (uint8_t)('a' + (k + i) % 26);
        corio_ws_mask(pl, payload, zero_key ? zero : key, 0);
        w->len += h + payload;
    }
}

static void text(struct work *w, const char *unit, size_t every, const char *filler)
{
    size_t n = 64 << 10, at = 0, k = 0;
    w->buf = malloc(n);
    w->frames = 1;
    w->parse = false;
    w->utf8 = true;
    while (at < n) {
        const char *s = every && k % every == 0 ? unit : filler;
        size_t l = strlen(s);
        if (at + l > n)
            break;
        memcpy(w->buf + at, s, l);
        at += l;
        k++;
    }
    w->len = at;
}

int main(void)
{
    struct utsname u;
    const char *env = getenv("CORIO_BENCH_SECONDS");
    double seconds = env != NULL ? atof(env) : 1.0;
    static const size_t sizes[] = {16, 1024, 65536};
    static const char *names[][2] = {{"binary_16B", "text_16B"},
                                     {"binary_1KiB", "text_1KiB"},
                                     {"binary_64KiB", "text_64KiB"}};

    uname(&u);
    printf("# bench_ws_frame: %s %s, %s, "
#ifdef __clang__
           "clang %d.%d"
#else
           "gcc %d.%d"
#endif
           ", %s\n",
           u.sysname, u.machine, u.release,
#ifdef __clang__
           __clang_major__, __clang_minor__,
#else
           __GNUC__, __GNUC_MINOR__,
#endif
#if defined(__SSE2__) && !defined(CORIO_WS_SCALAR)
           "SSE2 masking"
#else
           "scalar masking"
#endif
    );
    for (size_t i = 0; i < 3; i++) {
        struct work w = {0};
        frames(&w, CORIO_WS_BINARY, sizes[i], false);
        bench(names[i][0], &w, seconds);
        free(w.buf);
        frames(&w, CORIO_WS_TEXT, sizes[i], true);
        bench(names[i][1], &w, seconds);
        free(w.buf);
    }
    static const struct {
        const char *name, *unit, *filler;
        size_t every;
    } texts[] = {
        {"utf8_ascii_64KiB", "", "The quick brown fox jumps over the lazy dog. ", 0},
        {"utf8_latin_64KiB", "\xc3\xa9", "abcdefghi", 2},
        {"utf8_cyrillic", "", "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82 ", 0},
        {"utf8_cjk_64KiB", "", "\xe4\xbd\xa0\xe5\xa5\xbd\xe4\xb8\x96\xe7\x95\x8c", 0},
        {"utf8_emoji_64KiB", "", "\xf0\x9f\x98\x80\xf0\x9f\x8e\x89", 0},
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        struct work w = {0};
        text(&w, texts[i].unit, texts[i].every, texts[i].filler);
        bench(texts[i].name, &w, seconds);
        free(w.buf);
    }
    struct work m = {.buf = calloc(1, 64 << 10), .len = 64 << 10, .frames = 1};
    bench("mask_64KiB", &m, seconds);
    free(m.buf);
    return 0;
}
