/* SPDX-License-Identifier: MIT */
/* tests/unit/http/mw_util.h: helpers shared by the middleware tests (test_mw_*.c).
 *
 * run_app(): runs fn(app) as the main task of a virtual-time loop, so rate-limit refills and
 * durations advance only when a test sleeps. header_count() / has_header_line(): look at the
 * raw header lines of a test response, for headers that may repeat (Vary) or must be absent.
 * get() / send_h(): a request with extra header lines, asserting the client call succeeded.
 */
#ifndef CORIO_TESTS_HTTP_MW_UTIL_H
#define CORIO_TESTS_HTTP_MW_UTIL_H

#include "corio/http.h"
#include "corio/http_mw.h"
#include "test.h"

#include <string.h>
#include <strings.h>

typedef int (*app_test_fn)(corio_http_app *app);

struct run_app_arg {
    corio_http_app *app;
    app_test_fn fn;
};

static inline int run_app_main(void *p)
{
    struct run_app_arg *a = p;
    return a->fn(a->app);
}

static inline void run_app(corio_http_app *app, app_test_fn fn)
{
    struct run_app_arg a = {app, fn};
    ASSERT_EQ(corio_run(&(struct corio_run_opts){.virtual_time = true}, run_app_main, &a), 0);
}

/* Header lines named name (case-insensitive) in r->headers. */
static inline size_t header_count(const struct corio_http_test_resp *r, const char *name)
{
    size_t n = 0, nl = strlen(name);
    for (const char *p = r->headers; p && *p;) {
        if (strncasecmp(p, name, nl) == 0 && p[nl] == ':')
            n++;
        const char *e = strstr(p, "\r\n");
        p = e ? e + 2 : NULL;
    }
    return n;
}

/* True if some header line is exactly "name: value" (name case-insensitive). */
static inline bool has_header_line(const struct corio_http_test_resp *r, const char *name,
                                   const char *value)
{
    size_t nl = strlen(name), vl = strlen(value);
    for (const char *p = r->headers; p && *p;) {
        const char *e = strstr(p, "\r\n");
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == nl + 2 + vl && strncasecmp(p, name, nl) == 0 && p[nl] == ':' &&
            p[nl + 1] == ' ' && memcmp(p + nl + 2, value, vl) == 0)
            return true;
        p = e ? e + 2 : NULL;
    }
    return false;
}

static inline void send_h(corio_http_app *app, const char *method, const char *target,
                          const char *headers, struct corio_http_test_resp *r)
{
    ASSERT_EQ(corio_http_test_send(app, method, target, headers, NULL, 0, r), 0);
}

static inline void get(corio_http_app *app, const char *target, const char *headers,
                       struct corio_http_test_resp *r)
{
    send_h(app, "GET", target, headers, r);
}

#endif
