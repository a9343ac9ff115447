/* SPDX-License-Identifier: MIT */
/* Static files: maps a URL path under a prefix to a file under a root directory and answers
 * with corio_http_resp_file() (ETag, If-None-Match, Range, sendfile).
 *
 * Safety in two layers. First the URL: it is percent-decoded once and then checked segment by
 * segment (no "..", no ".", no empty or absolute components, no NUL or backslash, no dotfiles
 * unless enabled), so the joined path never climbs syntactically. Then the file system: the
 * joined path is resolved with realpath() and must still lie inside the root's real path, which
 * catches symlinks that lead out. A symlink swapped in between the check and the open could
 * still escape; closing that window needs openat2(RESOLVE_BENEATH) and an fd-based send, which
 * corio_http_resp_file() does not offer yet.
 *
 * The file-system calls (realpath, stat, open) block the loop thread for as long as the disk
 * takes; for a page-cached tree that is microseconds. It deliberately does not list
 * directories, negotiate pre-compressed variants or cache metadata.
 */
#include "mw_int.h"

#include <errno.h>
#include <limits.h>
#include <strings.h>
#include <sys/stat.h>

struct corio_http_static {
    char *root; /* owned; realpath of opts.root, no trailing '/' (except "/") */
    size_t root_len;
    char *prefix; /* owned; starts and ends with '/' */
    size_t prefix_len;
    char *index;         /* owned; "" = none */
    char *cache_control; /* owned; NULL = none */
    bool fallthrough, dotfiles;
};

/* ---- path cleaning ---------------------------------------------------------------------- */

int corio__http_static_clean(const char *in, size_t len, char *out, size_t cap, bool dotfiles,
                             bool *dir)
{
    *dir = false;
    if (cap == 0 || len >= cap)
        return -ENAMETOOLONG;
    ssize_t n = corio_http_pct_decode(out, in, len, CORIO_HTTP_PCT_NO_NUL);
    if (n < 0)
        return -EINVAL;
    out[n] = 0;
    if (memchr(out, '\\', (size_t)n) || (n > 0 && out[0] == '/'))
        return -EINVAL;
    for (const char *seg = out; *seg;) {
        const char *slash = strchr(seg, '/');
        size_t sl = slash ? (size_t)(slash - seg) : strlen(seg);
        if (sl == 0)
            return -EINVAL; /* "a//b" */
        if ((sl == 1 && seg[0] == '.') || (sl == 2 && seg[0] == '.' && seg[1] == '.'))
            return -EINVAL;
        if (seg[0] == '.' && !dotfiles)
            return -EINVAL;
        if (!slash)
            break;
        if (slash[1] == 0) {
            *dir = true;
            break;
        }
        seg = slash + 1;
    }
    return 0;
}

const char *corio__http_static_type(const char *name)
{
    static const struct {
        const char *ext, *type;
    } types[] = {
        {"html", "text/html; charset=utf-8"},
        {"htm", "text/html; charset=utf-8"},
        {"css", "text/css; charset=utf-8"},
        {"js", "text/javascript; charset=utf-8"},
        {"mjs", "text/javascript; charset=utf-8"},
        {"json", "application/json"},
        {"map", "application/json"},
        {"txt", "text/plain; charset=utf-8"},
        {"md", "text/markdown; charset=utf-8"},
        {"csv", "text/csv; charset=utf-8"},
        {"xml", "application/xml"},
        {"svg", "image/svg+xml"},
        {"png", "image/png"},
        {"jpg", "image/jpeg"},
        {"jpeg", "image/jpeg"},
        {"gif", "image/gif"},
        {"webp", "image/webp"},
        {"avif", "image/avif"},
        {"ico", "image/x-icon"},
        {"wasm", "application/wasm"},
        {"woff", "font/woff"},
        {"woff2", "font/woff2"},
        {"ttf", "font/ttf"},
        {"otf", "font/otf"},
        {"pdf", "application/pdf"},
        {"zip", "application/zip"},
        {"gz", "application/gzip"},
        {"mp4", "video/mp4"},
        {"webm", "video/webm"},
        {"mp3", "audio/mpeg"},
        {"ogg", "audio/ogg"},
    };
    const char *slash = strrchr(name, '/');
    const char *dot = strrchr(slash ? slash : name, '.');
    if (dot)
        for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
            if (strcasecmp(dot + 1, types[i].ext) == 0)
                return types[i].type;
    return "application/octet-stream";
}

/* ---- lifecycle ------------------------------------------------------------------------------- */

void corio_http_static_free(corio_http_static *s)
{
    if (!s)
        return;
    free(s->root);
    free(s->prefix);
    free(s->index);
    free(s->cache_control);
    free(s);
}

int corio_http_static_new(const struct corio_http_static_opts *o, corio_http_static **out)
{
    if (!o || !o->root || !*o->root)
        return -EINVAL;
    const char *prefix = o->prefix ? o->prefix : "/";
    size_t pl = strlen(prefix);
    if (pl == 0 || prefix[0] != '/' || prefix[pl - 1] != '/')
        return -EINVAL;
    corio_http_static *s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    int rc = -ENOMEM;
    s->root = realpath(o->root, NULL);
    if (!s->root) {
        rc = errno == ENOMEM ? -ENOMEM : -errno;
        goto fail;
    }
    struct stat st;
    if (stat(s->root, &st) < 0 || !S_ISDIR(st.st_mode)) {
        rc = -ENOTDIR;
        goto fail;
    }
    s->root_len = strlen(s->root);
    s->prefix = strdup(prefix);
    s->prefix_len = pl;
    s->index = strdup(o->index ? o->index : "index.html");
    s->cache_control = o->cache_control ? strdup(o->cache_control) : NULL;
    if (!s->prefix || !s->index || (o->cache_control && !s->cache_control))
        goto fail;
    if (strchr(s->index, '/')) {
        rc = -EINVAL;
        goto fail;
    }
    s->fallthrough = o->fallthrough;
    s->dotfiles = o->dotfiles;
    *out = s;
    return 0;
fail:
    corio_http_static_free(s);
    return rc;
}

/* ---- serving --------------------------------------------------------------------------------- */

/* realpath(path) if it lies inside the root, into out (PATH_MAX bytes). */
static bool resolve_inside(const corio_http_static *s, const char *path, char *out)
{
    if (!realpath(path, out))
        return false;
    if (s->root_len == 1) /* root is "/" */
        return true;
    return strncmp(out, s->root, s->root_len) == 0 &&
           (out[s->root_len] == '/' || out[s->root_len] == 0);
}

static int redirect_slash(corio_http_req *req, corio_http_resp *resp)
{
    corio_str p = corio_http_req_path(req), q = corio_http_req_query(req);
    char *loc = corio_http_req_alloc(req, p.len + q.len + 3);
    if (!loc)
        return -ENOMEM;
    int n = snprintf(loc, p.len + q.len + 3, "%.*s/%s%.*s", (int)p.len, p.ptr, q.len ? "?" : "",
                     (int)q.len, q.ptr);
    (void)n;
    int rc = corio_http_resp_header(resp, "Location", loc);
    if (rc < 0)
        return rc;
    return corio_http_resp_error(resp, 301, "moved permanently", loc);
}

enum { SERVED = 0, NOT_FOUND = 1 };

/* Serves rest (the raw URL path after the prefix). Returns SERVED's result (0 or an error from
 * sending), or NOT_FOUND with nothing sent. */
static int serve(corio_http_static *s, corio_http_req *req, corio_http_resp *resp, const char *rest,
                 size_t rest_len)
{
    char rel[PATH_MAX], joined[PATH_MAX + 16], real[PATH_MAX];
    bool dir;
    if (corio__http_static_clean(rest, rest_len, rel, sizeof rel, s->dotfiles, &dir) < 0)
        return NOT_FOUND;
    if ((size_t)snprintf(joined, sizeof joined, "%s/%s", s->root, rel) >= sizeof joined)
        return NOT_FOUND;
    if (!resolve_inside(s, joined, real))
        return NOT_FOUND;
    struct stat st;
    if (stat(real, &st) < 0)
        return NOT_FOUND;
    if (S_ISDIR(st.st_mode)) {
        if (!s->index[0])
            return NOT_FOUND;
        if (!dir && rel[0])
            return redirect_slash(req, resp);
        size_t rl = strlen(real), il = strlen(s->index);
        if (rl + 1 + il >= sizeof joined)
            return NOT_FOUND;
        memcpy(joined, real, rl);
        joined[rl] = '/';
        memcpy(joined + rl + 1, s->index, il + 1);
        if (!resolve_inside(s, joined, real) || stat(real, &st) < 0)
            return NOT_FOUND;
    } else if (dir) {
        return NOT_FOUND; /* "file.txt/" */
    }
    if (!S_ISREG(st.st_mode))
        return NOT_FOUND;
    int rc = corio_http_resp_header(resp, "Content-Type", corio__http_static_type(real));
    if (rc == 0 && s->cache_control)
        rc = corio_http_resp_header(resp, "Cache-Control", s->cache_control);
    if (rc == 0)
        rc = corio_http_resp_file(resp, req, real);
    if (rc == -ENOENT && !corio_http_resp_started(resp))
        return corio_http_resp_error(resp, 404, "not found", NULL); /* raced with a delete */
    return rc;
}

static bool get_or_head(const corio_http_req *req)
{
    corio_str m = corio_http_req_method(req);
    return (m.len == 3 && memcmp(m.ptr, "GET", 3) == 0) ||
           (m.len == 4 && memcmp(m.ptr, "HEAD", 4) == 0);
}

int corio_http_static_mw(corio_http_req *req, corio_http_resp *resp, corio_http_chain *next,
                         void *ctx)
{
    corio_http_static *s = ctx;
    corio_str p = corio_http_req_path(req);
    if (!get_or_head(req))
        return corio_http_next(req, resp, next);
    /* "/static" for prefix "/static/": send the client to the directory URL. */
    if (s->prefix_len > 1 && p.len == s->prefix_len - 1 && memcmp(p.ptr, s->prefix, p.len) == 0)
        return redirect_slash(req, resp);
    if (p.len < s->prefix_len || memcmp(p.ptr, s->prefix, s->prefix_len) != 0)
        return corio_http_next(req, resp, next);
    int rc = serve(s, req, resp, p.ptr + s->prefix_len, p.len - s->prefix_len);
    if (rc != NOT_FOUND)
        return rc;
    if (s->fallthrough)
        return corio_http_next(req, resp, next);
    return corio_http_resp_error(resp, 404, "not found", NULL);
}

int corio_http_static_handler(corio_http_req *req, corio_http_resp *resp, void *ctx)
{
    corio_http_static *s = ctx;
    corio_str p = corio_http_req_path(req);
    int rc = NOT_FOUND;
    if (p.len >= s->prefix_len && memcmp(p.ptr, s->prefix, s->prefix_len) == 0)
        rc = serve(s, req, resp, p.ptr + s->prefix_len, p.len - s->prefix_len);
    if (rc != NOT_FOUND)
        return rc;
    return corio_http_resp_error(resp, 404, "not found", NULL);
}
