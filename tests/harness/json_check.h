/* SPDX-License-Identifier: MIT */
/* tests/harness/json_check.h: a strict JSON (RFC 8259) validator and a reader of top-level
 * object members, for tests of code that writes JSON (log lines, error bodies) without
 * depending on a JSON library.
 *
 * Strict means: exactly one value with optional surrounding whitespace; strings with no raw
 * control characters, only the standard escapes, \u escapes with 4 hex digits whose surrogates
 * pair up, and raw bytes that are valid UTF-8; numbers by the RFC grammar (no leading zeros,
 * no bare ".5", no NaN); nesting at most 64 deep.
 */
#ifndef CORIO_TESTS_JSON_CHECK_H
#define CORIO_TESTS_JSON_CHECK_H

#include <stdbool.h>
#include <stddef.h>

/* 0 if s[0..n) is one valid JSON text, else -1 with the offset and reason in err. */
int json_validate(const char *s, size_t n, char *err, size_t errlen);

/* For a valid JSON object s[0..n): the kind of the top-level member key ('s' string, 'n'
 * number, 'o' object, 'a' array, 't' true, 'f' false, 'z' null), or 0 if absent. The last
 * occurrence counts if the key repeats; json_count_key tells how many there are. */
char json_member_kind(const char *s, size_t n, const char *key);
size_t json_count_key(const char *s, size_t n, const char *key);

/* The decoded (UTF-8) value of string member key into out (NUL-terminated, cut at cap - 1);
 * returns its full decoded length, or -1 if absent or not a string. */
long json_get_string(const char *s, size_t n, const char *key, char *out, size_t cap);

/* The value of number member key; false if absent or not a number. */
bool json_get_number(const char *s, size_t n, const char *key, double *out);

#endif
