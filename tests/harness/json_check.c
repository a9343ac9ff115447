/* SPDX-License-Identifier: MIT */
/* tests/harness/json_check.c: strict JSON validator and top-level member reader for tests (see
 * json_check.h). A recursive-descent parser over the caller's bytes; it decodes strings only
 * when asked to, into the caller's buffer, and allocates nothing.
 */
#include "json_check.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct jp {
    const unsigned char *s;
    size_t n, i;
    int depth;
    char *err;
    size_t errlen;
};

static int jfail(struct jp *p, const char *why)
{
    if (p->err && p->errlen)
        snprintf(p->err, p->errlen, "offset %zu: %s", p->i, why);
    return -1;
}

static void ws(struct jp *p)
{
    while (p->i < p->n &&
           (p->s[p->i] == ' ' || p->s[p->i] == '\t' || p->s[p->i] == '\n' || p->s[p->i] == '\r'))
        p->i++;
}

static int hex4(struct jp *p, unsigned *out)
{
    unsigned v = 0;
    if (p->n - p->i < 4)
        return jfail(p, "short \\u escape");
    for (int k = 0; k < 4; k++) {
        unsigned c = p->s[p->i++], d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            d = c - 'A' + 10;
        else
            return jfail(p, "bad hex digit in \\u escape");
        v = v * 16 + d;
    }
    *out = v;
    return 0;
}

static void emit(char *out, size_t cap, size_t *len, const void *b, size_t n)
{
    for (size_t k = 0; k < n; k++, (*len)++)
        if (out && *len + 1 < cap)
            out[*len] = ((const char *)b)[k];
}

static void emit_cp(char *out, size_t cap, size_t *len, unsigned cp)
{
    unsigned char b[4];
    size_t n;
    if (cp < 0x80) {
        b[0] = (unsigned char)cp;
        n = 1;
    } else if (cp < 0x800) {
        b[0] = (unsigned char)(0xc0 | cp >> 6);
        b[1] = (unsigned char)(0x80 | (cp & 0x3f));
        n = 2;
    } else if (cp < 0x10000) {
        b[0] = (unsigned char)(0xe0 | cp >> 12);
        b[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
        b[2] = (unsigned char)(0x80 | (cp & 0x3f));
        n = 3;
    } else {
        b[0] = (unsigned char)(0xf0 | cp >> 18);
        b[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
        b[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
        b[3] = (unsigned char)(0x80 | (cp & 0x3f));
        n = 4;
    }
    emit(out, cap, len, b, n);
}

/* Length of the valid UTF-8 sequence at s[0..n), or 0. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned c = s[0], lo = 0x80, hi = 0xbf;
    size_t len;
    if (c >= 0xc2 && c <= 0xdf)
        len = 2;
    else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        lo = c == 0xe0 ? 0xa0 : 0x80;
        hi = c == 0xed ? 0x9f : 0xbf;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        lo = c == 0xf0 ? 0x90 : 0x80;
        hi = c == 0xf4 ? 0x8f : 0xbf;
    } else
        return 0;
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t k = 2; k < len; k++)
        if ((s[k] & 0xc0) != 0x80)
            return 0;
    return len;
}

/* A string at p->i (the opening quote); decodes into out when out is non-NULL. */
static int string(struct jp *p, char *out, size_t cap, size_t *outlen)
{
    size_t len = 0;
    p->i++;
    for (;;) {
        if (p->i >= p->n)
            return jfail(p, "unterminated string");
        unsigned c = p->s[p->i];
        if (c == '"') {
            p->i++;
            break;
        }
        if (c < 0x20)
            return jfail(p, "raw control character in string");
        if (c >= 0x80) {
            size_t l = utf8_len(p->s + p->i, p->n - p->i);
            if (!l)
                return jfail(p, "invalid UTF-8 in string");
            emit(out, cap, &len, p->s + p->i, l);
            p->i += l;
            continue;
        }
        if (c != '\\') {
            emit(out, cap, &len, p->s + p->i, 1);
            p->i++;
            continue;
        }
        if (++p->i >= p->n)
            return jfail(p, "unterminated escape");
        c = p->s[p->i++];
        static const char names[] = "\"\\/bfnrt", map[] = "\"\\/\b\f\n\r\t";
        const char *simple = c ? strchr(names, (int)c) : NULL;
        if (simple) {
            emit(out, cap, &len, &map[simple - names], 1);
            continue;
        }
        if (c != 'u')
            return jfail(p, "bad escape");
        unsigned cp;
        if (hex4(p, &cp) < 0)
            return -1;
        if (cp >= 0xdc00 && cp <= 0xdfff)
            return jfail(p, "lone low surrogate");
        if (cp >= 0xd800 && cp <= 0xdbff) {
            unsigned lo;
            if (p->n - p->i < 2 || p->s[p->i] != '\\' || p->s[p->i + 1] != 'u')
                return jfail(p, "high surrogate without a low one");
            p->i += 2;
            if (hex4(p, &lo) < 0)
                return -1;
            if (lo < 0xdc00 || lo > 0xdfff)
                return jfail(p, "high surrogate without a low one");
            cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
        }
        emit_cp(out, cap, &len, cp);
    }
    if (out && cap)
        out[len < cap ? len : cap - 1] = 0;
    if (outlen)
        *outlen = len;
    return 0;
}

static int number(struct jp *p)
{
    size_t st = p->i;
    if (p->i < p->n && p->s[p->i] == '-')
        p->i++;
    if (p->i >= p->n || p->s[p->i] < '0' || p->s[p->i] > '9')
        return jfail(p, "bad number");
    if (p->s[p->i] == '0')
        p->i++;
    else
        while (p->i < p->n && p->s[p->i] >= '0' && p->s[p->i] <= '9')
            p->i++;
    if (p->i < p->n && p->s[p->i] == '.') {
        p->i++;
        if (p->i >= p->n || p->s[p->i] < '0' || p->s[p->i] > '9')
            return jfail(p, "bad fraction");
        while (p->i < p->n && p->s[p->i] >= '0' && p->s[p->i] <= '9')
            p->i++;
    }
    if (p->i < p->n && (p->s[p->i] == 'e' || p->s[p->i] == 'E')) {
        p->i++;
        if (p->i < p->n && (p->s[p->i] == '+' || p->s[p->i] == '-'))
            p->i++;
        if (p->i >= p->n || p->s[p->i] < '0' || p->s[p->i] > '9')
            return jfail(p, "bad exponent");
        while (p->i < p->n && p->s[p->i] >= '0' && p->s[p->i] <= '9')
            p->i++;
    }
    (void)st;
    return 0;
}

static int value(struct jp *p);

static int literal(struct jp *p, const char *lit)
{
    size_t l = strlen(lit);
    if (p->n - p->i < l || memcmp(p->s + p->i, lit, l) != 0)
        return jfail(p, "unexpected character");
    p->i += l;
    return 0;
}

static int container(struct jp *p, char close)
{
    if (++p->depth > 64)
        return jfail(p, "nested too deep");
    p->i++;
    ws(p);
    if (p->i < p->n && p->s[p->i] == (unsigned char)close) {
        p->i++;
        p->depth--;
        return 0;
    }
    for (;;) {
        ws(p);
        if (close == '}') {
            if (p->i >= p->n || p->s[p->i] != '"')
                return jfail(p, "expected a member name");
            if (string(p, NULL, 0, NULL) < 0)
                return -1;
            ws(p);
            if (p->i >= p->n || p->s[p->i] != ':')
                return jfail(p, "expected ':'");
            p->i++;
        }
        if (value(p) < 0)
            return -1;
        ws(p);
        if (p->i < p->n && p->s[p->i] == ',') {
            p->i++;
            continue;
        }
        if (p->i < p->n && p->s[p->i] == (unsigned char)close) {
            p->i++;
            p->depth--;
            return 0;
        }
        return jfail(p, close == '}' ? "expected ',' or '}'" : "expected ',' or ']'");
    }
}

static int value(struct jp *p)
{
    ws(p);
    if (p->i >= p->n)
        return jfail(p, "expected a value");
    switch (p->s[p->i]) {
    case '{':
        return container(p, '}');
    case '[':
        return container(p, ']');
    case '"':
        return string(p, NULL, 0, NULL);
    case 't':
        return literal(p, "true");
    case 'f':
        return literal(p, "false");
    case 'n':
        return literal(p, "null");
    default:
        return number(p);
    }
}

int json_validate(const char *s, size_t n, char *err, size_t errlen)
{
    struct jp p = {.s = (const unsigned char *)s, .n = n, .err = err, .errlen = errlen};
    if (err && errlen)
        err[0] = 0;
    if (value(&p) < 0)
        return -1;
    ws(&p);
    if (p.i != p.n)
        return jfail(&p, "junk after the value");
    return 0;
}

/* Walks the top-level object; returns the offset of the last value of key (or of the n-th
 * occurrence count in *count). SIZE_MAX if absent or s is not an object. */
static size_t member(const char *s, size_t n, const char *key, size_t *count)
{
    struct jp p = {.s = (const unsigned char *)s, .n = n};
    size_t found = SIZE_MAX, klen = strlen(key);
    *count = 0;
    ws(&p);
    if (p.i >= p.n || p.s[p.i] != '{')
        return SIZE_MAX;
    p.i++;
    ws(&p);
    if (p.i < p.n && p.s[p.i] == '}')
        return SIZE_MAX;
    for (;;) {
        ws(&p);
        char name[256];
        size_t len;
        if (p.i >= p.n || p.s[p.i] != '"' || string(&p, name, sizeof name, &len) < 0)
            return SIZE_MAX;
        ws(&p);
        if (p.i >= p.n || p.s[p.i] != ':')
            return SIZE_MAX;
        p.i++;
        ws(&p);
        bool match = len == klen && memcmp(name, key, klen) == 0;
        if (match) {
            found = p.i;
            (*count)++;
        }
        if (value(&p) < 0)
            return SIZE_MAX;
        ws(&p);
        if (p.i < p.n && p.s[p.i] == ',') {
            p.i++;
            continue;
        }
        return found;
    }
}

char json_member_kind(const char *s, size_t n, const char *key)
{
    size_t c, at = member(s, n, key, &c);
    if (at == SIZE_MAX)
        return 0;
    switch (s[at]) {
    case '"':
        return 's';
    case '{':
        return 'o';
    case '[':
        return 'a';
    case 't':
        return 't';
    case 'f':
        return 'f';
    case 'n':
        return 'z';
    default:
        return 'n';
    }
}

size_t json_count_key(const char *s, size_t n, const char *key)
{
    size_t c;
    member(s, n, key, &c);
    return c;
}

long json_get_string(const char *s, size_t n, const char *key, char *out, size_t cap)
{
    size_t c, at = member(s, n, key, &c);
    if (at == SIZE_MAX || s[at] != '"')
        return -1;
    struct jp p = {.s = (const unsigned char *)s, .n = n, .i = at};
    size_t len;
    if (string(&p, out, cap, &len) < 0)
        return -1;
    return (long)len;
}

bool json_get_number(const char *s, size_t n, const char *key, double *out)
{
    size_t c, at = member(s, n, key, &c);
    if (at == SIZE_MAX || !(s[at] == '-' || (s[at] >= '0' && s[at] <= '9')))
        return false;
    *out = strtod(s + at, NULL);
    return true;
}
