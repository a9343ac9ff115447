/* SPDX-License-Identifier: MIT */
/* The request-id middleware: one id per request, taken from the client when it is sane or
 * generated, set as the task-local CORIO_LOG_REQUEST_ID (so every log line carries it) and
 * echoed in the response.
 *
 * Generation is a per-thread xorshift128+ generator seeded once from getrandom(): two 64-bit
 * steps per id, no syscall and no lock on the request path. Ids are unique with overwhelming
 * probability but predictable to someone who sees many of them; they are correlation ids, not
 * secrets, and nothing here pretends otherwise.
 *
 * Invariant: while the rest of the chain runs, corio_local_get(CORIO_LOG_REQUEST_ID) is this
 * request's id; when it returns, the value is reset to NULL, so a kept-alive connection's next
 * request never inherits a stale id.
 */
#include "mw_int.h"

#include <errno.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#define ID_MAX 128

static _Thread_local uint64_t rng_s[2];

static void rng_seed(void)
{
    uint64_t s[2] = {0, 0};
    if (getrandom(s, sizeof s, GRND_NONBLOCK) != (ssize_t)sizeof s) {
        /* Early boot without entropy: mix the clock and the address of a thread-local, which
         * still makes threads and processes differ. */
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        s[0] ^= (uint64_t)ts.tv_nsec * 0x9e3779b97f4a7c15ull ^ (uint64_t)ts.tv_sec;
        s[1] ^= (uint64_t)(uintptr_t)&rng_s ^ ((uint64_t)getpid() << 32);
    }
    if ((s[0] | s[1]) == 0) /* xorshift's one forbidden state */
        s[1] = 1;
    rng_s[0] = s[0];
    rng_s[1] = s[1];
}

static uint64_t rng_next(void)
{
    if (CORIO_UNLIKELY((rng_s[0] | rng_s[1]) == 0))
        rng_seed();
    uint64_t x = rng_s[0];
    uint64_t const y = rng_s[1];
    rng_s[0] = y;
    x ^= x << 23;
    rng_s[1] = x ^ y ^ (x >> 17) ^ (y >> 26);
    return rng_s[1] + y;
}

void corio_http_request_id_generate(char buf[33])
{
    static const char hex[] = "0123456789abcdef";
    uint64_t v[2] = {rng_next(), rng_next()};
    for (int i = 0; i < 32; i++)
        buf[i] = hex[(v[i / 16] >> ((i % 16) * 4)) & 15];
    buf[32] = 0;
}

static bool sane(corio_str v)
{
    if (v.len == 0 || v.len > ID_MAX)
        return false;
    for (size_t i = 0; i < v.len; i++)
        if ((unsigned char)v.ptr[i] < 0x21 || (unsigned char)v.ptr[i] > 0x7e)
            return false;
    return true;
}

int corio_http_request_id_mw(corio_http_req *req, corio_http_resp *resp, corio_http_chain *next,
                             void *ctx)
{
    const struct corio_http_request_id_opts *o = ctx;
    const char *header = o && o->header ? o->header : "X-Request-ID";
    char gen[33];
    corio_str id;
    if ((o && o->ignore_incoming) || !corio_http_req_header(req, header, &id) || !sane(id)) {
        corio_http_request_id_generate(gen);
        id = (corio_str){gen, 32};
    }
    int rc = corio_local_set_copy(CORIO_LOG_REQUEST_ID, id.ptr, id.len);
    if (rc < 0)
        return rc;
    /* The task-local copy is NUL-terminated, which the header call needs. */
    const char *v = corio_local_get(CORIO_LOG_REQUEST_ID);
    rc = corio_http_resp_header(resp, header, v);
    if (rc == 0)
        rc = corio_http_next(req, resp, next);
    /* Clearing allocates a node; if that fails the stale id stays until the next request of
     * this connection replaces it, which is harmless. */
    (void)corio_local_set(CORIO_LOG_REQUEST_ID, NULL);
    return rc;
}

const char *corio_http_request_id(const corio_http_req *req)
{
    (void)req;
    return corio_local_get(CORIO_LOG_REQUEST_ID);
}
