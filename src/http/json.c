/* SPDX-License-Identifier: MIT */
/* JSON for handlers: parse a request body with jansson, answer with a jansson value, and a
 * jansson-free path for small objects of strings (the /json benchmark shape).
 *
 * Output goes into the exchange's arena: a value is dumped into a 1 KiB first guess and, if it
 * is bigger, again into a buffer of the exact size jansson reported, so there is no realloc
 * loop and nothing to free. Parsing uses json_loadb on the body view (no copy, no NUL needed)
 * and rejects NUL escapes ("\u0000") by default, since C strings would silently cut them.
 */
#include "mw_int.h"

#include <errno.h>

int corio_http_req_json(corio_http_req *r, json_t **out, json_error_t *err)
{
    json_error_t local;
    if (!err)
        err = &local;
    *out = NULL;
    corio_str body;
    int rc = corio_http_req_body(r, &body);
    if (rc < 0)
        return rc;
    json_t *v = json_loadb(body.len ? body.ptr : "", body.len, JSON_DECODE_ANY, err);
    if (!v)
        return json_error_code(err) == json_error_out_of_memory ? -ENOMEM : -EINVAL;
    *out = v;
    return 0;
}

int corio_http_resp_json_error(corio_http_resp *w, int rc, const json_error_t *err)
{
    switch (rc) {
    case -EINVAL: {
        char detail[JSON_ERROR_TEXT_LENGTH + 64];
        if (err)
            snprintf(detail, sizeof detail, "line %d column %d: %s", err->line, err->column,
                     err->text);
        return corio_http_resp_error(w, 400, "invalid JSON", err ? detail : NULL);
    }
    case -EMSGSIZE:
        /* The body reader recorded which limit it was: the body's (413) or the trailers' (431). */
        if (w->req->body_status == 431)
            return corio_http_resp_error(w, 431, NULL, "the trailer section is too large");
        return corio_http_resp_error(w, 413, "payload too large", "the body exceeds the limit");
    case -EPROTO:
        return corio_http_resp_error(w, 400, "bad request", "malformed chunked body");
    default:
        return rc;
    }
}

int corio_http_resp_json(corio_http_resp *w, int status, const json_t *v)
{
    const size_t flags = JSON_COMPACT | JSON_ENCODE_ANY;
    size_t cap = 1024;
    char *buf = corio_http_req_alloc(w->req, cap);
    if (!buf)
        return -ENOMEM;
    size_t n = json_dumpb(v, buf, cap, flags);
    if (n == 0)
        return -EINVAL; /* jansson cannot encode it (NaN, invalid UTF-8, NULL) */
    if (n > cap) {
        /* json_dumpb returned the size it needs: dump again into exactly that. */
        cap = n;
        if (!(buf = corio_http_req_alloc(w->req, cap)))
            return -ENOMEM;
        if ((n = json_dumpb(v, buf, cap, flags)) != cap)
            return -EINVAL;
    }
    return corio_http_resp_text(w, status, "application/json", buf, n);
}

int corio_http_resp_json_strsv(corio_http_resp *w, int status, const char *const *kv, size_t n)
{
    if (n % 2 != 0)
        return -EINVAL;
    /* Worst case each byte becomes \u00XX (6 bytes), plus quotes, colon and comma. */
    size_t cap = 3;
    for (size_t i = 0; i < n; i++)
        cap += strlen(kv[i]) * 6 + 4;
    char small[512], *buf = cap <= sizeof small ? small : corio_http_req_alloc(w->req, cap);
    if (!buf)
        return -ENOMEM;
    size_t o = 0;
    buf[o++] = '{';
    for (size_t i = 0; i < n; i++) {
        if (i)
            buf[o++] = i % 2 ? ':' : ',';
        buf[o++] = '"';
        o += corio_json_escape(buf + o, cap - o, kv[i], strlen(kv[i])); /* fits: see cap */
        buf[o++] = '"';
    }
    buf[o++] = '}';
    return corio_http_resp_text(w, status, "application/json", buf, o);
}
