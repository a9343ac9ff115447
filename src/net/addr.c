/* SPDX-License-Identifier: MIT */
/* Socket addresses: parsing numeric hosts, Unix socket paths, formatting for logs, and name
 * resolution through getaddrinfo on the executor.
 *
 * Resolution must honour the caller's deadline, but a getaddrinfo call that has started cannot
 * be interrupted (resolver timeouts run to seconds). So the lookup runs in a helper task of the
 * loop's top group, which waits for the executor shielded as usual, and the caller joins the
 * helper under its own deadline. A caller that gives up marks the job orphaned and cancels the
 * helper (a job still queued is then dropped unrun); the helper frees an orphaned job when the
 * executor lets go of it. Both sides run on the loop thread, so the hand-over needs no atomics.
 *
 * Deliberately not here: caching, Happy Eyeballs ordering, /etc/hosts reloading, c-ares.
 */
#include "net_int.h"

#include "corio/exec.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>

/* ---- parsing and formatting --------------------------------------------------------------- */

/* Copies host without the brackets of "[v6]" into buf; false if it does not fit. */
static bool strip_brackets(const char *host, char *buf, size_t cap)
{
    size_t n = strlen(host);
    if (n >= 2 && host[0] == '[' && host[n - 1] == ']') {
        host++;
        n -= 2;
    }
    if (n >= cap)
        return false;
    memcpy(buf, host, n);
    buf[n] = 0;
    return true;
}

static int parse_v6(char *h, int port, corio_addr *out)
{
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&out->ss;
    char *pct = strchr(h, '%');
    if (pct)
        *pct++ = 0;
    if (inet_pton(AF_INET6, h, &s6->sin6_addr) != 1)
        return -EINVAL;
    if (pct) {
        char *end;
        unsigned long id = strtoul(pct, &end, 10);
        if (*pct == 0 || *end != 0)
            id = if_nametoindex(pct);
        if (id == 0)
            return -EINVAL;
        s6->sin6_scope_id = (uint32_t)id;
    }
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons((uint16_t)port);
    out->len = sizeof(*s6);
    return 0;
}

int corio_addr_parse(const char *host, int port, corio_addr *out)
{
    char h[INET6_ADDRSTRLEN + IF_NAMESIZE + 4];
    memset(out, 0, sizeof(*out));
    if (port < 0 || port > 65535)
        return -EINVAL;
    if (!host || !*host)
        host = "0.0.0.0";
    if (!strip_brackets(host, h, sizeof h))
        return -EINVAL;
    struct sockaddr_in *s4 = (struct sockaddr_in *)&out->ss;
    if (inet_pton(AF_INET, h, &s4->sin_addr) == 1) {
        s4->sin_family = AF_INET;
        s4->sin_port = htons((uint16_t)port);
        out->len = sizeof(*s4);
        return 0;
    }
    int rc = parse_v6(h, port, out);
    if (rc < 0)
        memset(out, 0, sizeof(*out));
    return rc;
}

int corio_addr_unix(const char *path, corio_addr *out)
{
    struct sockaddr_un *su = (struct sockaddr_un *)&out->ss;
    memset(out, 0, sizeof(*out));
    size_t n = path ? strlen(path) : 0;
    if (n == 0)
        return -EINVAL;
    if (n >= sizeof su->sun_path)
        return -ENAMETOOLONG;
    su->sun_family = AF_UNIX;
    memcpy(su->sun_path, path, n);
    if (path[0] == '@') {
        /* Abstract namespace: a leading NUL, and the length counts exactly the name. */
        su->sun_path[0] = 0;
        out->len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
    } else {
        out->len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
    }
    return 0;
}

int corio_addr_port(const corio_addr *a)
{
    if (a->ss.ss_family == AF_INET)
        return ntohs(((const struct sockaddr_in *)&a->ss)->sin_port);
    if (a->ss.ss_family == AF_INET6)
        return ntohs(((const struct sockaddr_in6 *)&a->ss)->sin6_port);
    return -EAFNOSUPPORT;
}

static int format_unix(const corio_addr *a, char *buf, size_t cap)
{
    const struct sockaddr_un *su = (const struct sockaddr_un *)&a->ss;
    size_t off = offsetof(struct sockaddr_un, sun_path);
    size_t n = a->len > off ? a->len - off : 0;
    if (n > 0 && su->sun_path[0] == 0) /* abstract: shown with '@', not NUL-terminated */
        return snprintf(buf, cap, "unix:@%.*s", (int)(n - 1), su->sun_path + 1);
    return snprintf(buf, cap, "unix:%.*s", (int)strnlen(su->sun_path, n), su->sun_path);
}

int corio_addr_format(const corio_addr *a, char *buf, size_t cap)
{
    char ip[INET6_ADDRSTRLEN];
    int n;
    if (cap == 0)
        return -EINVAL;
    if (a->ss.ss_family == AF_INET) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)&a->ss;
        inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof ip);
        n = snprintf(buf, cap, "%s:%d", ip, ntohs(s4->sin_port));
    } else if (a->ss.ss_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&a->ss;
        inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof ip);
        if (s6->sin6_scope_id)
            n = snprintf(buf, cap, "[%s%%%u]:%d", ip, s6->sin6_scope_id, ntohs(s6->sin6_port));
        else
            n = snprintf(buf, cap, "[%s]:%d", ip, ntohs(s6->sin6_port));
    } else if (a->ss.ss_family == AF_UNIX) {
        n = format_unix(a, buf, cap);
    } else {
        buf[0] = 0;
        return -EAFNOSUPPORT;
    }
    return n < 0 ? -EINVAL : (size_t)n >= cap ? (int)cap - 1 : n;
}

/* ---- name resolution ---------------------------------------------------------------------- */

struct gai_job {
    char *host; /* owned copy */
    char service[8];
    int family;
    int gai_err;          /* getaddrinfo's result (0 or EAI_*); written by the executor */
    int sys_err;          /* errno for EAI_SYSTEM */
    int exec_rc;          /* corio_exec_run's result in the helper */
    struct addrinfo *res; /* owned */
    bool orphan;          /* the caller gave up: the helper frees the job */
};

static void gai_job_free(struct gai_job *j)
{
    if (j->res)
        freeaddrinfo(j->res);
    free(j->host);
    free(j);
}

/* Executor thread: the blocking lookup. */
static intptr_t gai_run(void *arg)
{
    struct gai_job *j = arg;
    struct addrinfo hints = {
        .ai_family = j->family, .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
    j->gai_err = getaddrinfo(j->host, j->service, &hints, &j->res);
    if (j->gai_err == EAI_SYSTEM)
        j->sys_err = errno;
    return 0;
}

/* Helper task (top group): waits for the executor and frees the job if the caller left. */
static int gai_helper(void *arg)
{
    struct gai_job *j = arg;
    const struct corio_exec_opts eo = {.what = "getaddrinfo"};
    j->exec_rc = corio_exec_run(&eo, gai_run, j, NULL);
    if (j->orphan)
        gai_job_free(j);
    return 0; /* failures travel in the job; a background failure would only be logged */
}

static int gai_errno(const struct gai_job *j)
{
    switch (j->gai_err) {
    case EAI_NONAME:
    case EAI_NODATA:
    case EAI_ADDRFAMILY:
        return -ENXIO;
    case EAI_AGAIN:
        return -EAGAIN;
    case EAI_MEMORY:
        return -ENOMEM;
    case EAI_SYSTEM:
        return j->sys_err > 0 ? -j->sys_err : -EIO;
    case EAI_FAMILY:
    case EAI_SERVICE:
    case EAI_SOCKTYPE:
    case EAI_BADFLAGS:
        return -EINVAL;
    default:
        return -EIO;
    }
}

static int gai_collect(struct gai_job *j, corio_addr *out, size_t cap)
{
    if (j->exec_rc < 0)
        return j->exec_rc;
    if (j->gai_err) {
        corio_log(CORIO_LOG_DEBUG, "net", "resolving '%s' failed: %s", j->host,
                  gai_strerror(j->gai_err));
        return gai_errno(j);
    }
    size_t n = 0;
    for (struct addrinfo *ai = j->res; ai && n < cap; ai = ai->ai_next) {
        if (ai->ai_addrlen > sizeof out[n].ss)
            continue;
        memset(&out[n], 0, sizeof out[n]);
        memcpy(&out[n].ss, ai->ai_addr, ai->ai_addrlen);
        out[n].len = ai->ai_addrlen;
        n++;
    }
    return n > 0 ? (int)n : -ENXIO;
}

static int resolve_name(const char *host, int port, int family, corio_addr *out, size_t cap)
{
    struct gai_job *j = calloc(1, sizeof(*j));
    if (!j || !(j->host = strdup(host))) {
        free(j);
        return -ENOMEM;
    }
    snprintf(j->service, sizeof j->service, "%d", port);
    j->family = family;
    corio_task *h;
    int rc = corio_spawn_named(NULL, "resolve", gai_helper, j, &h);
    if (rc < 0) {
        gai_job_free(j);
        return rc;
    }
    rc = corio_task_join(h, NULL);
    if (rc < 0) {
        /* The helper has not finished (join fails only while it runs): it owns j now. */
        j->orphan = true;
        corio_task_cancel(h);
        corio_task_release(h);
        return rc;
    }
    rc = gai_collect(j, out, cap);
    gai_job_free(j);
    return rc;
}

int corio_resolve(const char *host, int port, int family, corio_addr *out, size_t cap)
{
    if (cap == 0 || port < 0 || port > 65535)
        return -EINVAL;
    if (family != AF_UNSPEC && family != AF_INET && family != AF_INET6)
        return -EINVAL;
    int rc = corio_addr_parse(host, port, &out[0]);
    if (rc == 0) {
        if (family != AF_UNSPEC && out[0].ss.ss_family != family)
            return -EAFNOSUPPORT;
        return 1;
    }
    if ((rc = corio_check()) < 0)
        return rc;
    return resolve_name(host, port, family, out, cap);
}
