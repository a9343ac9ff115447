/* SPDX-License-Identifier: MIT */
/* tests/harness/prom_parse.c: strict Prometheus text format 0.0.4 parser for tests (see
 * prom_parse.h). A line-at-a-time recursive-descent parser over an immutable input; every
 * string it returns is its own copy. Deliberately not a general client: no OpenMetrics, and it
 * rejects what a lenient scraper would let through (a missing final newline, stray escapes).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include "prom_parse.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct parser {
    const char *p, *end; /* the current line: [p, end) without the newline */
    size_t lineno;
    char *err;
    size_t errlen;
    struct prom_doc *d;
    size_t cur;   /* family of the previous sample, or SIZE_MAX */
    bool *closed; /* per family: its samples ended (another family's came) */
    size_t closed_cap;
};

static int fail(struct parser *ps, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct parser *ps, const char *fmt, ...)
{
    char msg[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(ps->err, ps->errlen, "line %zu: %s", ps->lineno, msg);
    return -1;
}

static bool is_name_char(char c, bool first, bool colon)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colon && c == ':'))
        return true;
    return !first && c >= '0' && c <= '9';
}

static char *dupn(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (!d)
        abort();
    memcpy(d, s, n);
    d[n] = 0;
    return d;
}

/* A metric or label name at ps->p; advances. */
static char *take_name(struct parser *ps, bool colon)
{
    const char *s = ps->p;
    if (s == ps->end || !is_name_char(*s, true, colon))
        return NULL;
    while (ps->p < ps->end && is_name_char(*ps->p, false, colon))
        ps->p++;
    return dupn(s, (size_t)(ps->p - s));
}

static bool utf8_ok(const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        unsigned c = s[i];
        size_t len;
        unsigned lo = 0x80, hi = 0xbf;
        if (c < 0x80) {
            i++;
            continue;
        }
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
            return false;
        if (n - i < len || s[i + 1] < lo || s[i + 1] > hi)
            return false;
        for (size_t k = 2; k < len; k++)
            if ((s[i + k] & 0xc0) != 0x80)
                return false;
        i += len;
    }
    return true;
}

/* Unescapes [s, e): backslash-n and backslash-backslash always, backslash-quote if quote. */
static char *unescape(struct parser *ps, const char *s, const char *e, bool quote)
{
    char *out = malloc((size_t)(e - s) + 1), *o = out;
    if (!out)
        abort();
    while (s < e) {
        if (*s != '\\') {
            *o++ = *s++;
            continue;
        }
        if (s + 1 == e) {
            free(out);
            fail(ps, "dangling backslash");
            return NULL;
        }
        char c = s[1];
        if (c == 'n')
            *o++ = '\n';
        else if (c == '\\')
            *o++ = '\\';
        else if (c == '"' && quote)
            *o++ = '"';
        else {
            free(out);
            fail(ps, "bad escape \\%c", c);
            return NULL;
        }
        s += 2;
    }
    *o = 0;
    return out;
}

static size_t family_find(const struct prom_doc *d, const char *name)
{
    for (size_t i = 0; i < d->nfamilies; i++)
        if (strcmp(d->families[i].name, name) == 0)
            return i;
    return SIZE_MAX;
}

static size_t family_add(struct parser *ps, const char *name)
{
    struct prom_doc *d = ps->d;
    d->families = realloc(d->families, (d->nfamilies + 1) * sizeof(*d->families));
    ps->closed = realloc(ps->closed, (d->nfamilies + 1) * sizeof(bool));
    if (!d->families || !ps->closed)
        abort();
    d->families[d->nfamilies] = (struct prom_family){.name = dupn(name, strlen(name))};
    ps->closed[d->nfamilies] = false;
    return d->nfamilies++;
}

static int parse_comment(struct parser *ps)
{
    const char *s = ps->p + 1;
    while (s < ps->end && *s == ' ')
        s++;
    bool help = ps->end - s >= 5 && memcmp(s, "HELP ", 5) == 0;
    bool type = ps->end - s >= 5 && memcmp(s, "TYPE ", 5) == 0;
    if (!help && !type)
        return 0; /* a plain comment */
    ps->p = s + 5;
    while (ps->p < ps->end && *ps->p == ' ')
        ps->p++;
    char *name = take_name(ps, true);
    if (!name)
        return fail(ps, "bad metric name in %s", help ? "HELP" : "TYPE");
    size_t f = family_find(ps->d, name);
    if (f == SIZE_MAX)
        f = family_add(ps, name);
    free(name);
    struct prom_family *fam = &ps->d->families[f];
    if (ps->p < ps->end && *ps->p != ' ')
        return fail(ps, "junk after the name");
    if (ps->p < ps->end)
        ps->p++;
    if (help) {
        if (fam->help)
            return fail(ps, "second HELP for %s", fam->name);
        fam->help = unescape(ps, ps->p, ps->end, false);
        return fam->help ? 0 : -1;
    }
    if (fam->type)
        return fail(ps, "second TYPE for %s", fam->name);
    for (size_t i = 0; i < ps->d->nsamples; i++)
        if (ps->d->samples[i].family == f)
            return fail(ps, "TYPE for %s after its samples", fam->name);
    static const char *const types[] = {"counter", "gauge", "histogram", "summary", "untyped"};
    for (size_t i = 0; i < 5; i++)
        if ((size_t)(ps->end - ps->p) == strlen(types[i]) &&
            memcmp(ps->p, types[i], strlen(types[i])) == 0)
            fam->type = dupn(types[i], strlen(types[i]));
    return fam->type ? 0 : fail(ps, "bad TYPE");
}

static bool parse_float(const char *s, const char *e, double *out)
{
    size_t n = (size_t)(e - s);
    if ((n == 4 && memcmp(s, "+Inf", 4) == 0) || (n == 3 && memcmp(s, "Inf", 3) == 0)) {
        *out = INFINITY;
        return true;
    }
    if (n == 4 && memcmp(s, "-Inf", 4) == 0) {
        *out = -INFINITY;
        return true;
    }
    if (n == 3 && memcmp(s, "NaN", 3) == 0) {
        *out = NAN;
        return true;
    }
    const char *p = s;
    if (p < e && (*p == '+' || *p == '-'))
        p++;
    size_t digits = 0;
    while (p < e && *p >= '0' && *p <= '9')
        p++, digits++;
    if (p < e && *p == '.')
        for (p++; p < e && *p >= '0' && *p <= '9'; p++)
            digits++;
    if (!digits)
        return false;
    if (p < e && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < e && (*p == '+' || *p == '-'))
            p++;
        if (p == e || *p < '0' || *p > '9')
            return false;
        while (p < e && *p >= '0' && *p <= '9')
            p++;
    }
    if (p != e)
        return false;
    char tmp[64];
    if (n >= sizeof tmp)
        return false;
    memcpy(tmp, s, n);
    tmp[n] = 0;
    *out = strtod(tmp, NULL);
    return true;
}

static int parse_labels(struct parser *ps, struct prom_sample *smp)
{
    ps->p++; /* { */
    while (ps->p < ps->end && *ps->p != '}') {
        if (smp->nlabels == PROM_MAX_LABELS)
            return fail(ps, "too many labels");
        struct prom_label *l = &smp->labels[smp->nlabels];
        l->name = take_name(ps, false);
        if (!l->name)
            return fail(ps, "bad label name");
        smp->nlabels++;
        for (size_t i = 0; i + 1 < smp->nlabels; i++)
            if (strcmp(smp->labels[i].name, l->name) == 0)
                return fail(ps, "label %s twice", l->name);
        if (ps->end - ps->p < 2 || ps->p[0] != '=' || ps->p[1] != '"')
            return fail(ps, "expected =\" after label %s", l->name);
        const char *v = ps->p += 2;
        while (ps->p < ps->end && *ps->p != '"')
            ps->p += *ps->p == '\\' && ps->p + 1 < ps->end ? 2 : 1;
        if (ps->p >= ps->end)
            return fail(ps, "unterminated label value");
        if (!(l->value = unescape(ps, v, ps->p, true)))
            return -1;
        if (!utf8_ok((const unsigned char *)l->value, strlen(l->value)))
            return fail(ps, "label value is not UTF-8");
        ps->p++;
        if (ps->p < ps->end && *ps->p == ',')
            ps->p++;
        else if (ps->p < ps->end && *ps->p != '}')
            return fail(ps, "expected , or }");
    }
    if (ps->p >= ps->end)
        return fail(ps, "unterminated label set");
    ps->p++;
    return 0;
}

static const char *const suffixes[] = {"_bucket", "_sum", "_count"};

/* The family a sample belongs to: its own name, or for _bucket/_sum/_count the base name when
 * that family is a histogram (or summary). */
static size_t sample_family(struct parser *ps, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < 3; i++) {
        size_t sl = strlen(suffixes[i]);
        if (n > sl && strcmp(name + n - sl, suffixes[i]) == 0) {
            char *base = dupn(name, n - sl);
            size_t f = family_find(ps->d, base);
            free(base);
            if (f != SIZE_MAX && ps->d->families[f].type &&
                (strcmp(ps->d->families[f].type, "histogram") == 0 ||
                 strcmp(ps->d->families[f].type, "summary") == 0))
                return f;
        }
    }
    size_t f = family_find(ps->d, name);
    return f != SIZE_MAX ? f : family_add(ps, name);
}

static bool same_labels(const struct prom_sample *a, const struct prom_sample *b, const char *skip)
{
    size_t na = 0, nb = 0;
    for (size_t i = 0; i < a->nlabels; i++) {
        if (skip && strcmp(a->labels[i].name, skip) == 0)
            continue;
        na++;
        bool found = false;
        for (size_t j = 0; j < b->nlabels && !found; j++)
            found = strcmp(a->labels[i].name, b->labels[j].name) == 0 &&
                    strcmp(a->labels[i].value, b->labels[j].value) == 0;
        if (!found)
            return false;
    }
    for (size_t j = 0; j < b->nlabels; j++)
        if (!skip || strcmp(b->labels[j].name, skip) != 0)
            nb++;
    return na == nb;
}

static void sample_free(struct prom_sample *s)
{
    free(s->name);
    for (size_t i = 0; i < s->nlabels; i++) {
        free(s->labels[i].name);
        free(s->labels[i].value);
    }
}

static int parse_sample(struct parser *ps)
{
    struct prom_sample smp = {0};
    int rc = -1;
    if (!(smp.name = take_name(ps, true))) {
        fail(ps, "bad metric name");
        goto out;
    }
    if (ps->p < ps->end && *ps->p == '{' && parse_labels(ps, &smp) < 0)
        goto out;
    if (ps->p >= ps->end || *ps->p != ' ') {
        fail(ps, "expected a space before the value");
        goto out;
    }
    while (ps->p < ps->end && *ps->p == ' ')
        ps->p++;
    const char *v = ps->p;
    while (ps->p < ps->end && *ps->p != ' ')
        ps->p++;
    if (!parse_float(v, ps->p, &smp.value)) {
        fail(ps, "bad value '%.*s'", (int)(ps->p - v), v);
        goto out;
    }
    if (ps->p < ps->end) { /* a timestamp: an integer */
        while (ps->p < ps->end && *ps->p == ' ')
            ps->p++;
        const char *t = ps->p;
        if (ps->p < ps->end && *ps->p == '-')
            ps->p++;
        while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9')
            ps->p++;
        if (ps->p != ps->end || ps->p == t) {
            fail(ps, "junk after the value");
            goto out;
        }
    }
    smp.family = sample_family(ps, smp.name);
    const char *ft = ps->d->families[smp.family].type;
    if (ft && strcmp(ft, "histogram") == 0 &&
        strcmp(smp.name, ps->d->families[smp.family].name) == 0) {
        fail(ps, "histogram sample %s without _bucket/_sum/_count", smp.name);
        goto out;
    }
    if (ps->cur != smp.family) {
        if (ps->closed[smp.family]) {
            fail(ps, "samples of %s are not contiguous", ps->d->families[smp.family].name);
            goto out;
        }
        if (ps->cur != SIZE_MAX)
            ps->closed[ps->cur] = true;
        ps->cur = smp.family;
    }
    for (size_t i = 0; i < ps->d->nsamples; i++) {
        if (strcmp(ps->d->samples[i].name, smp.name) == 0 &&
            same_labels(&ps->d->samples[i], &smp, NULL)) {
            fail(ps, "duplicate sample %s", smp.name);
            goto out;
        }
    }
    struct prom_doc *d = ps->d;
    d->samples = realloc(d->samples, (d->nsamples + 1) * sizeof(*d->samples));
    if (!d->samples)
        abort();
    d->samples[d->nsamples++] = smp;
    return 0;
out:
    sample_free(&smp);
    return rc;
}

static const char *label_of(const struct prom_sample *s, const char *name)
{
    for (size_t i = 0; i < s->nlabels; i++)
        if (strcmp(s->labels[i].name, name) == 0)
            return s->labels[i].value;
    return NULL;
}

/* Per histogram series (a _count sample): its buckets, in order, and its _sum. */
static int check_histograms(struct parser *ps)
{
    struct prom_doc *d = ps->d;
    for (size_t c = 0; c < d->nsamples; c++) {
        const struct prom_sample *cnt = &d->samples[c];
        const struct prom_family *fam = &d->families[cnt->family];
        if (!fam->type || strcmp(fam->type, "histogram") != 0)
            continue;
        size_t fl = strlen(fam->name);
        if (strcmp(cnt->name + fl, "_count") != 0)
            continue;
        double prev_le = -INFINITY, prev = 0;
        bool inf = false, sum = false;
        for (size_t i = 0; i < d->nsamples; i++) {
            const struct prom_sample *s = &d->samples[i];
            if (s->family != cnt->family)
                continue;
            if (strcmp(s->name + fl, "_sum") == 0 && same_labels(s, cnt, NULL))
                sum = true;
            if (strcmp(s->name + fl, "_bucket") != 0 || !same_labels(s, cnt, "le"))
                continue;
            const char *les = label_of(s, "le");
            double le;
            if (!les || !parse_float(les, les + strlen(les), &le))
                return fail(ps, "%s: bucket without a valid le", fam->name);
            if (inf || !(le > prev_le))
                return fail(ps, "%s: le %s out of order", fam->name, les);
            if (s->value < prev)
                return fail(ps, "%s: bucket le=%s decreases", fam->name, les);
            prev_le = le;
            prev = s->value;
            inf = isinf(le) && le > 0;
        }
        if (!inf)
            return fail(ps, "%s: no +Inf bucket", fam->name);
        if (!sum)
            return fail(ps, "%s: no _sum", fam->name);
        if (prev != cnt->value)
            return fail(ps, "%s: +Inf bucket %g != _count %g", fam->name, prev, cnt->value);
    }
    return 0;
}

int prom_parse(const char *text, size_t len, struct prom_doc *doc, char *err, size_t errlen)
{
    struct parser ps = {.err = err, .errlen = errlen, .d = doc, .cur = SIZE_MAX};
    *doc = (struct prom_doc){0};
    err[0] = 0;
    const char *s = text, *e = text + len;
    int rc = 0;
    while (s < e && rc == 0) {
        const char *nl = memchr(s, '\n', (size_t)(e - s));
        ps.lineno++;
        if (!nl) {
            rc = fail(&ps, "no newline at the end");
            break;
        }
        ps.p = s;
        ps.end = nl;
        if (memchr(s, '\0', (size_t)(nl - s)))
            rc = fail(&ps, "NUL byte");
        else if (ps.p == ps.end)
            rc = 0; /* blank line */
        else if (*ps.p == '#')
            rc = parse_comment(&ps);
        else
            rc = parse_sample(&ps);
        s = nl + 1;
    }
    if (rc == 0)
        rc = check_histograms(&ps);
    free(ps.closed);
    if (rc < 0)
        prom_free(doc);
    return rc;
}

void prom_free(struct prom_doc *d)
{
    for (size_t i = 0; i < d->nsamples; i++)
        sample_free(&d->samples[i]);
    for (size_t i = 0; i < d->nfamilies; i++) {
        free(d->families[i].name);
        free(d->families[i].type);
        free(d->families[i].help);
    }
    free(d->samples);
    free(d->families);
    *d = (struct prom_doc){0};
}

static const struct prom_sample *vfind(const struct prom_doc *d, const char *name, va_list ap)
{
    struct prom_sample want = {0};
    const char *k;
    while ((k = va_arg(ap, const char *)) != NULL && want.nlabels < PROM_MAX_LABELS) {
        want.labels[want.nlabels].name = (char *)k;
        want.labels[want.nlabels++].value = (char *)va_arg(ap, const char *);
    }
    for (size_t i = 0; i < d->nsamples; i++)
        if (strcmp(d->samples[i].name, name) == 0 && same_labels(&d->samples[i], &want, NULL))
            return &d->samples[i];
    return NULL;
}

const struct prom_sample *prom_find(const struct prom_doc *d, const char *name, ...)
{
    va_list ap;
    va_start(ap, name);
    const struct prom_sample *s = vfind(d, name, ap);
    va_end(ap);
    return s;
}

bool prom_value(const struct prom_doc *d, double *out, const char *name, ...)
{
    va_list ap;
    va_start(ap, name);
    const struct prom_sample *s = vfind(d, name, ap);
    va_end(ap);
    if (s)
        *out = s->value;
    return s != NULL;
}

const struct prom_family *prom_family(const struct prom_doc *d, const char *name)
{
    size_t f = family_find(d, name);
    return f == SIZE_MAX ? NULL : &d->families[f];
}
