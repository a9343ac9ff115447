/* SPDX-License-Identifier: MIT */
/* The rate-limit middleware: a token bucket per client key, kept per worker loop in a bounded
 * table with least-recently-seen eviction, or delegated to a pluggable backend.
 *
 * Token arithmetic is fixed point: one token is 1e9 units, so a bucket refills by
 * elapsed_ns x rate units, exactly for integer rates, with no drift from repeated float
 * additions. Refill is lazy, computed from the entry's last update when the key is next seen.
 *
 * The table: a chained hash map (SipHash-2-4 with a per-limiter random key, because keys may
 * come from a client header and a predictable hash would let a client pile every key into one
 * chain) plus an intrusive doubly linked LRU list through the same entries. A hit moves the
 * entry to the front; a miss past max_keys reuses the entry at the back. Buckets double as the
 * table grows, up to the power of two >= max_keys, so memory follows the keys actually seen.
 *
 * Invariants (checked by corio__http_ratelimit_validate): every entry is on exactly one hash
 * chain, the chain of its hash, and once on the LRU list; count is the length of both and
 * <= max_keys; 0 <= tokens <= burst units.
 *
 * Per-worker tables are reached by corio_worker_id(): each worker thread touches only its own
 * slot, so nothing is locked. With opts.shared every worker uses one table under a mutex (held
 * for a hash lookup and some arithmetic, never across a suspension), so a client gets the
 * configured rate whatever worker its connections land on. It deliberately does not share
 * state across processes: that is what the take hook is for.
 */
#include "mw_int.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <sys/random.h>

#define UNIT 1000000000ll /* units per token */
#define MAX_SLOTS 1025    /* 1024 workers (run.c's limit) + one for threads without a loop */
#define MIN_BUCKETS 256

struct entry {
    struct entry *hnext;       /* hash chain */
    struct entry *prev, *next; /* LRU list: next is less recently seen */
    uint64_t hash;
    int64_t tokens;  /* units, 0..burst * UNIT */
    int64_t last_ns; /* corio_now() of the last refill */
    size_t key_len;
    size_t key_cap; /* bytes allocated for key */
    char key[];
};

/* Invariant: lru is a sentinel: lru.next is the most recently seen entry, lru.prev the least. */
struct table {
    struct entry **buckets;
    size_t nbuckets; /* power of two */
    size_t count;
    struct entry lru;
};

struct corio_http_ratelimit {
    double rate; /* tokens per second */
    int64_t cap; /* burst * UNIT */
    uint32_t burst;
    char *key_header; /* owned; NULL = by IP */
    size_t max_keys, max_key_len, max_buckets;
    corio_http_ratelimit_take_fn take;
    void *take_ctx;
    uint64_t sip[2]; /* SipHash key */
    bool shared;     /* one table (slot 0) for every worker, under mu */
    pthread_mutex_t mu;
    struct table *tables[MAX_SLOTS]; /* slot i written only by worker i's thread */
    int64_t err_logged[MAX_SLOTS];   /* last backend-error log, per slot */
};

/* ---- SipHash-2-4 (Aumasson & Bernstein), the reference algorithm ------------------------- */

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND                                                                                   \
    do {                                                                                           \
        v0 += v1;                                                                                  \
        v1 = ROTL(v1, 13);                                                                         \
        v1 ^= v0;                                                                                  \
        v0 = ROTL(v0, 32);                                                                         \
        v2 += v3;                                                                                  \
        v3 = ROTL(v3, 16);                                                                         \
        v3 ^= v2;                                                                                  \
        v0 += v3;                                                                                  \
        v3 = ROTL(v3, 21);                                                                         \
        v3 ^= v0;                                                                                  \
        v2 += v1;                                                                                  \
        v1 = ROTL(v1, 17);                                                                         \
        v1 ^= v2;                                                                                  \
        v2 = ROTL(v2, 32);                                                                         \
    } while (0)

static uint64_t siphash(const uint64_t k[2], const char *p, size_t len)
{
    uint64_t v0 = 0x736f6d6570736575ull ^ k[0], v1 = 0x646f72616e646f6dull ^ k[1];
    uint64_t v2 = 0x6c7967656e657261ull ^ k[0], v3 = 0x7465646279746573ull ^ k[1];
    uint64_t b = (uint64_t)len << 56, m;
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        memcpy(&m, p + i, 8); /* little-endian hosts only (x86-64, aarch64) */
        v3 ^= m;
        SIPROUND;
        SIPROUND;
        v0 ^= m;
    }
    for (size_t j = 0; i + j < len; j++)
        b |= (uint64_t)(unsigned char)p[i + j] << (8 * j);
    v3 ^= b;
    SIPROUND;
    SIPROUND;
    v0 ^= b;
    v2 ^= 0xff;
    SIPROUND;
    SIPROUND;
    SIPROUND;
    SIPROUND;
    return v0 ^ v1 ^ v2 ^ v3;
}

/* ---- lifecycle ----------------------------------------------------------------------------- */

int corio_http_ratelimit_new(const struct corio_http_ratelimit_opts *o, corio_http_ratelimit **out)
{
    if (!o || (!o->take && (!(o->rate > 0) || !isfinite(o->rate))))
        return -EINVAL;
    corio_http_ratelimit *rl = calloc(1, sizeof(*rl));
    if (!rl)
        return -ENOMEM;
    rl->rate = o->rate > 0 && isfinite(o->rate) ? o->rate : 1;
    double b = o->burst ? (double)o->burst : ceil(rl->rate);
    rl->burst = b < 1 ? 1 : b > UINT32_MAX ? UINT32_MAX : (uint32_t)b;
    rl->cap = (int64_t)rl->burst * UNIT;
    rl->max_keys = o->max_keys ? o->max_keys : 100000;
    rl->max_key_len = o->max_key_len ? o->max_key_len : 256;
    rl->max_buckets = MIN_BUCKETS;
    while (rl->max_buckets < rl->max_keys)
        rl->max_buckets *= 2;
    rl->take = o->take;
    rl->take_ctx = o->take_ctx;
    rl->shared = o->shared;
    pthread_mutex_init(&rl->mu, NULL);
    if (getrandom(rl->sip, sizeof rl->sip, GRND_NONBLOCK) != (ssize_t)sizeof rl->sip) {
        rl->sip[0] = (uint64_t)(uintptr_t)rl * 0x9e3779b97f4a7c15ull;
        rl->sip[1] = (uint64_t)corio_now() ^ 0x5851f42d4c957f2dull;
    }
    if (o->key_header && !(rl->key_header = strdup(o->key_header))) {
        free(rl);
        return -ENOMEM;
    }
    *out = rl;
    return 0;
}

static void table_free(struct table *t)
{
    if (!t)
        return;
    struct entry *e = t->lru.next;
    while (e != &t->lru) {
        struct entry *n = e->next;
        free(e);
        e = n;
    }
    free(t->buckets);
    free(t);
}

void corio_http_ratelimit_free(corio_http_ratelimit *rl)
{
    if (!rl)
        return;
    for (size_t i = 0; i < MAX_SLOTS; i++)
        table_free(rl->tables[i]);
    pthread_mutex_destroy(&rl->mu);
    free(rl->key_header);
    free(rl);
}

/* ---- the table ----------------------------------------------------------------------------- */

static size_t slot(const corio_http_ratelimit *rl)
{
    if (rl->shared)
        return 0;
    int id = corio_worker_id();
    return id >= 0 && id < MAX_SLOTS - 1 ? (size_t)id : MAX_SLOTS - 1;
}

static struct table *my_table(corio_http_ratelimit *rl)
{
    struct table **tp = &rl->tables[slot(rl)];
    if (*tp)
        return *tp;
    struct table *t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    t->nbuckets = MIN_BUCKETS;
    t->buckets = calloc(t->nbuckets, sizeof(*t->buckets));
    if (!t->buckets) {
        free(t);
        return NULL;
    }
    t->lru.next = t->lru.prev = &t->lru;
    *tp = t;
    return t;
}

static void lru_unlink(struct entry *e)
{
    e->prev->next = e->next;
    e->next->prev = e->prev;
}

static void lru_push_front(struct table *t, struct entry *e)
{
    e->prev = &t->lru;
    e->next = t->lru.next;
    t->lru.next->prev = e;
    t->lru.next = e;
}

static void chain_remove(struct table *t, struct entry *e)
{
    struct entry **pp = &t->buckets[e->hash & (t->nbuckets - 1)];
    while (*pp != e)
        pp = &(*pp)->hnext;
    *pp = e->hnext;
}

static void chain_insert(struct table *t, struct entry *e)
{
    struct entry **b = &t->buckets[e->hash & (t->nbuckets - 1)];
    e->hnext = *b;
    *b = e;
}

/* Doubles the bucket array; a failed allocation just keeps the longer chains. */
static void grow(struct table *t)
{
    size_t n = t->nbuckets * 2;
    struct entry **nb = calloc(n, sizeof(*nb));
    if (!nb)
        return;
    for (size_t i = 0; i < t->nbuckets; i++) {
        for (struct entry *e = t->buckets[i], *next; e; e = next) {
            next = e->hnext;
            e->hnext = nb[e->hash & (n - 1)];
            nb[e->hash & (n - 1)] = e;
        }
    }
    free(t->buckets);
    t->buckets = nb;
    t->nbuckets = n;
}

/* A new entry for key: the least recently seen one recycled when the table is full (its memory
 * too, when the key fits), else a fresh allocation. */
static struct entry *entry_new(corio_http_ratelimit *rl, struct table *t, const char *key,
                               size_t len, uint64_t h)
{
    struct entry *e = NULL;
    if (t->count >= rl->max_keys) {
        e = t->lru.prev;
        lru_unlink(e);
        chain_remove(t, e);
        t->count--;
        if (e->key_cap < len) {
            free(e);
            e = NULL;
        }
    } else if (t->count >= t->nbuckets && t->nbuckets < rl->max_buckets) {
        grow(t);
    }
    if (!e) {
        size_t capk = len < 16 ? 16 : len;
        e = malloc(sizeof(*e) + capk);
        if (!e)
            return NULL;
        e->key_cap = capk;
    }
    memcpy(e->key, key, len);
    e->key_len = len;
    e->hash = h;
    chain_insert(t, e);
    lru_push_front(t, e);
    t->count++;
    return e;
}

static int64_t ceil_div(double num, double den)
{
    double v = ceil(num / den);
    return v > (double)INT64_MAX ? INT64_MAX : (int64_t)v;
}

static int take_locked(corio_http_ratelimit *rl, const char *key, size_t key_len, int64_t now_ns,
                       struct corio_http_ratelimit_result *out);

int corio_http_ratelimit_take(corio_http_ratelimit *rl, const char *key, size_t key_len,
                              int64_t now_ns, struct corio_http_ratelimit_result *out)
{
    if (!rl->shared)
        return take_locked(rl, key, key_len, now_ns, out);
    pthread_mutex_lock(&rl->mu);
    int rc = take_locked(rl, key, key_len, now_ns, out);
    pthread_mutex_unlock(&rl->mu);
    return rc;
}

/* The take of one table; with rl->shared the caller holds rl->mu. */
static int take_locked(corio_http_ratelimit *rl, const char *key, size_t key_len, int64_t now_ns,
                       struct corio_http_ratelimit_result *out)
{
    memset(out, 0, sizeof(*out));
    out->allowed = true;
    out->limit = rl->burst;
    struct table *t = my_table(rl);
    if (!t)
        return -ENOMEM;
    if (key_len > rl->max_key_len)
        key_len = rl->max_key_len;
    uint64_t h = siphash(rl->sip, key, key_len);
    struct entry *e = t->buckets[h & (t->nbuckets - 1)];
    while (e && !(e->hash == h && e->key_len == key_len && memcmp(e->key, key, key_len) == 0))
        e = e->hnext;
    if (e) {
        lru_unlink(e);
        lru_push_front(t, e);
        int64_t dt = now_ns > e->last_ns ? now_ns - e->last_ns : 0;
        double add = (double)dt * rl->rate; /* units: ns x tokens/s x 1e9 units / 1e9 ns */
        if (add >= (double)(rl->cap - e->tokens))
            e->tokens = rl->cap;
        else
            e->tokens += (int64_t)add;
    } else {
        if (!(e = entry_new(rl, t, key, key_len, h)))
            return -ENOMEM;
        e->tokens = rl->cap;
        e->last_ns = now_ns;
    }
    /* Time only moves forward for an entry, so an earlier clock reading (a caller passing its
     * own now_ns) cannot mint tokens twice. */
    if (now_ns > e->last_ns)
        e->last_ns = now_ns;
    if (e->tokens >= UNIT) {
        e->tokens -= UNIT;
    } else {
        out->allowed = false;
        out->retry_ns = ceil_div((double)(UNIT - e->tokens), rl->rate);
        if (out->retry_ns < 1)
            out->retry_ns = 1;
    }
    out->remaining = (uint64_t)(e->tokens / UNIT);
    out->reset_ns = ceil_div((double)(rl->cap - e->tokens), rl->rate);
    return 0;
}

size_t corio_http_ratelimit_keys(const corio_http_ratelimit *rl)
{
    pthread_mutex_t *mu = (pthread_mutex_t *)&rl->mu; /* const to callers, not to the lock */
    if (rl->shared)
        pthread_mutex_lock(mu);
    const struct table *t = rl->tables[slot(rl)];
    size_t n = t ? t->count : 0;
    if (rl->shared)
        pthread_mutex_unlock(mu);
    return n;
}

static void validate_locked(const corio_http_ratelimit *rl)
{
    const struct table *t = rl->tables[slot(rl)];
    if (!t)
        return;
    size_t nchain = 0, nlru = 0;
    for (size_t i = 0; i < t->nbuckets; i++) {
        for (const struct entry *e = t->buckets[i]; e; e = e->hnext) {
            if ((e->hash & (t->nbuckets - 1)) != i || e->tokens < 0 || e->tokens > rl->cap ||
                e->key_len > e->key_cap || e->next->prev != e || e->prev->next != e)
                abort();
            nchain++;
        }
    }
    for (const struct entry *e = t->lru.next; e != &t->lru; e = e->next)
        if (++nlru > t->count)
            abort();
    if (nchain != t->count || nlru != t->count || t->count > rl->max_keys)
        abort();
}

void corio__http_ratelimit_validate(const corio_http_ratelimit *rl)
{
    pthread_mutex_t *mu = (pthread_mutex_t *)&rl->mu;
    if (rl->shared)
        pthread_mutex_lock(mu);
    validate_locked(rl);
    if (rl->shared)
        pthread_mutex_unlock(mu);
}

/* ---- the middleware ------------------------------------------------------------------------ */

static void set_num(corio_http_resp *resp, const char *name, uint64_t v)
{
    char b[24];
    snprintf(b, sizeof b, "%llu", (unsigned long long)v);
    (void)corio_http_resp_header(resp, name, b);
}

static uint64_t secs_ceil(int64_t ns)
{
    return ns <= 0 ? 0 : (uint64_t)((ns + CORIO_S - 1) / CORIO_S);
}

int corio_http_ratelimit_mw(corio_http_req *req, corio_http_resp *resp, corio_http_chain *next,
                            void *ctx)
{
    corio_http_ratelimit *rl = ctx;
    char ip[64];
    corio_str key = {NULL, 0};
    if (!rl->key_header || !corio_http_req_header(req, rl->key_header, &key) || key.len == 0)
        key = (corio_str){ip, corio__http_peer_ip(req, ip, sizeof ip)};
    struct corio_http_ratelimit_result r;
    int rc = rl->take ? rl->take(rl->take_ctx, key.ptr, key.len, &r)
                      : corio_http_ratelimit_take(rl, key.ptr, key.len, corio_now(), &r);
    if (rc < 0) {
        /* Fail open: a broken backend must not take the service down with it. */
        size_t s = slot(rl);
        int64_t now = corio_now();
        if (rl->err_logged[s] == 0 || now - rl->err_logged[s] >= 60 * CORIO_S) {
            rl->err_logged[s] = now ? now : 1;
            corio_log(CORIO_LOG_WARN, "http", "rate limit backend failed (%s); allowing requests",
                      corio_strerror(rc));
        }
        return corio_http_next(req, resp, next);
    }
    set_num(resp, "RateLimit-Limit", r.limit);
    set_num(resp, "RateLimit-Remaining", r.remaining);
    set_num(resp, "RateLimit-Reset", secs_ceil(r.reset_ns));
    if (r.allowed)
        return corio_http_next(req, resp, next);
    uint64_t after = secs_ceil(r.retry_ns);
    if (after == 0)
        after = 1;
    char detail[48];
    set_num(resp, "Retry-After", after);
    snprintf(detail, sizeof detail, "retry after %llu s", (unsigned long long)after);
    return corio_http_resp_error(resp, 429, "too many requests", detail);
}
