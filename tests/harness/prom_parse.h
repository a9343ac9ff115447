/* SPDX-License-Identifier: MIT */
/* tests/harness/prom_parse.h: a strict parser of the Prometheus text exposition format 0.0.4,
 * for tests that read back what a registry (or GET /metrics) rendered and check values.
 *
 * Besides the grammar (HELP/TYPE lines, names, label escaping of backslash, quote and newline,
 * float values including +Inf/-Inf/NaN, optional timestamps) it checks what a scraper relies
 * on: every line ends in a newline, a family's samples are contiguous and follow its TYPE line,
 * HELP and TYPE appear at most once per family, no sample (name + label set) repeats, label
 * values are valid UTF-8, and each histogram series has increasing "le" bounds ending with
 * +Inf, non-decreasing cumulative counts, and _sum and _count with _count equal to +Inf.
 *
 *     struct prom_doc d;
 *     char err[200];
 *     ASSERT_EQ(prom_parse(text, len, &d, err, sizeof err), 0);
 *     double v;
 *     ASSERT(prom_value(&d, &v, "http_requests_total", "method", "GET", NULL));
 *     prom_free(&d);
 */
#ifndef CORIO_TESTS_PROM_PARSE_H
#define CORIO_TESTS_PROM_PARSE_H

#include <stdbool.h>
#include <stddef.h>

#define PROM_MAX_LABELS 20

struct prom_label {
    char *name;
    char *value; /* unescaped */
};

struct prom_sample {
    char *name;
    size_t nlabels;
    struct prom_label labels[PROM_MAX_LABELS];
    double value;
    size_t family; /* index into prom_doc.families */
};

struct prom_family {
    char *name;
    char *type; /* "counter", "gauge", "histogram", "summary", "untyped" */
    char *help; /* unescaped, NULL if none */
};

struct prom_doc {
    struct prom_sample *samples;
    size_t nsamples;
    struct prom_family *families;
    size_t nfamilies;
};

/* Parses text[0..len). Returns 0, or -1 with a message naming the line in err. On error
 * nothing needs freeing. */
int prom_parse(const char *text, size_t len, struct prom_doc *doc, char *err, size_t errlen);
void prom_free(struct prom_doc *doc);

/* The sample called name whose labels are exactly the given pairs (name, value, ..., NULL), in
 * any order, or NULL. */
const struct prom_sample *prom_find(const struct prom_doc *d, const char *name, ...);

/* The same, storing its value; false if there is no such sample. */
bool prom_value(const struct prom_doc *d, double *out, const char *name, ...);

/* The family called name, or NULL. */
const struct prom_family *prom_family(const struct prom_doc *d, const char *name);

#endif
