/* SPDX-License-Identifier: MIT */
/* apps/corio-demo/debug.c: GET /debug/tasks, the live task listing of every worker as JSON.
 *
 *     {"workers":2,"limit":1000,"loops":[
 *       {"worker":0,"tasks_total":7,"truncated":false,
 *        "stats":{"tasks":7,"runnable":1,"spawned":40,...},
 *        "tasks":[{"id":1,"name":"main","state":"waiting","waits_on":"group wait",
 *                  "wait_arg":0,"age_s":12.5,"deadline_in_s":null,"site":"corio_run",
 *                  "parent_id":0,"cancelled":false}, ...]},
 *       ...]}
 *
 * A loop's tasks may only be walked on its own thread (corio_tasks_foreach), so each worker
 * writes its own part in a call made through demo_on_workers(), and the handler stitches the
 * parts together. The walk runs without parking, so the listing of one worker is a consistent
 * snapshot; the workers' snapshots are taken at nearly the same moment, not atomically.
 *
 * Bounded output: each worker lists at most `limit` tasks (query parameter, default 1000, at
 * most 100000) and reports its total, because a busy server can hold a task per connection and
 * tens of thousands of them would make a response of megabytes.
 */
#include "demo.h"

#include <corio/diag.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_LIMIT 1000
#define MAX_LIMIT 100000

struct listing {
    size_t limit;
    size_t seen;
    int64_t now;
    struct jbuf out; /* this worker's "tasks" array elements */
};

static int list_one(void *ctx, const struct corio_task_info *ti)
{
    struct listing *l = ctx;
    if (l->seen++ >= l->limit)
        return 0; /* keep counting: the total is reported */
    struct jbuf *b = &l->out;
    jbuf_printf(b, "%s{\"id\":%llu,\"name\":", l->seen > 1 ? "," : "", (unsigned long long)ti->id);
    jbuf_json_str(b, ti->name);
    jbuf_puts(b, ",\"state\":");
    jbuf_json_str(b, ti->state);
    jbuf_puts(b, ",\"waits_on\":");
    jbuf_json_str(b, ti->waits_on);
    if (ti->waits_on)
        jbuf_printf(b, ",\"wait_arg\":%lld", (long long)ti->wait_arg);
    jbuf_printf(b, ",\"age_s\":%.3f,\"deadline_in_s\":", (double)ti->age_ns / 1e9);
    if (ti->deadline_ns == CORIO_FOREVER)
        jbuf_puts(b, "null");
    else
        jbuf_printf(b, "%.3f", (double)(ti->deadline_ns - l->now) / 1e9);
    jbuf_puts(b, ",\"site\":");
    jbuf_json_str(b, ti->site);
    jbuf_printf(b, ",\"parent_id\":%llu,\"cancelled\":%s}", (unsigned long long)ti->parent_id,
                ti->cancelled ? "true" : "false");
    return 0;
}

/* On the worker's loop: writes its part of "loops". Does not park while walking. */
static int list_worker(void *arg)
{
    struct listing *l = arg;
    struct corio_loop_stats st;
    l->now = corio_now();
    corio_tasks_foreach(list_one, l);
    corio_loop_stats(&st);
    if (l->out.oom)
        return -ENOMEM;
    struct jbuf tasks = l->out;
    l->out = (struct jbuf){0};
    jbuf_printf(&l->out,
                "{\"worker\":%d,\"tasks_total\":%zu,\"truncated\":%s,\"stats\":{\"tasks\":%llu,"
                "\"runnable\":%llu,\"spawned\":%llu,\"finished\":%llu,\"switches\":%llu,"
                "\"iterations\":%llu,\"timers\":%llu,\"timers_fired\":%llu,\"fd_waits\":%llu,"
                "\"messages\":%llu,\"stacks_mapped\":%llu,\"stacks_free\":%llu},\"tasks\":[",
                st.worker, l->seen, l->seen > l->limit ? "true" : "false",
                (unsigned long long)st.tasks, (unsigned long long)st.runnable,
                (unsigned long long)st.spawned, (unsigned long long)st.finished,
                (unsigned long long)st.switches, (unsigned long long)st.iterations,
                (unsigned long long)st.timers, (unsigned long long)st.timers_fired,
                (unsigned long long)st.fd_waits, (unsigned long long)st.messages,
                (unsigned long long)st.stacks_mapped, (unsigned long long)st.stacks_free);
    if (tasks.len)
        jbuf_put(&l->out, tasks.p, tasks.len);
    jbuf_puts(&l->out, "]}");
    jbuf_free(&tasks);
    return l->out.oom ? -ENOMEM : 0;
}

/* The limit query parameter: 1..MAX_LIMIT, default DEFAULT_LIMIT; 0 if malformed. */
static size_t parse_limit(corio_http_req *req)
{
    corio_str v;
    if (!corio_http_req_query_param(req, "limit", &v))
        return DEFAULT_LIMIT;
    size_t n = 0;
    if (v.len == 0 || v.len > 6)
        return 0;
    for (size_t i = 0; i < v.len; i++) {
        if (v.ptr[i] < '0' || v.ptr[i] > '9')
            return 0;
        n = n * 10 + (size_t)(v.ptr[i] - '0');
    }
    return n <= MAX_LIMIT ? n : 0;
}

static int answer(corio_http_resp *resp, struct demo *d, struct listing *ls, int *results,
                  size_t limit)
{
    struct jbuf b = {0};
    jbuf_printf(&b, "{\"workers\":%d,\"limit\":%zu,\"loops\":[", d->cfg.workers, limit);
    for (int i = 0; i < d->cfg.workers; i++) {
        if (i)
            jbuf_put(&b, ",", 1);
        if (results[i] == 0) {
            jbuf_put(&b, ls[i].out.p, ls[i].out.len);
        } else {
            jbuf_printf(&b, "{\"worker\":%d,\"error\":", i);
            jbuf_json_str(&b, corio_strerror(results[i]));
            jbuf_put(&b, "}", 1);
        }
    }
    jbuf_puts(&b, "]}");
    int rc = b.oom ? -ENOMEM : corio_http_resp_text(resp, 200, "application/json", b.p, b.len);
    jbuf_free(&b);
    return rc;
}

int demo_debug_tasks(corio_http_req *req, corio_http_resp *resp, void *ctx)
{
    struct demo *d = ctx;
    size_t limit = parse_limit(req);
    if (limit == 0)
        return corio_http_resp_error(resp, 400, "bad request",
                                     "limit must be a whole number from 1 to 100000");
    int n = d->cfg.workers;
    struct listing *ls = calloc((size_t)n, sizeof(*ls));
    void **args = calloc((size_t)n, sizeof(*args));
    int *results = calloc((size_t)n, sizeof(*results));
    int rc = -ENOMEM;
    if (ls && args && results) {
        for (int i = 0; i < n; i++) {
            ls[i].limit = limit;
            args[i] = &ls[i];
        }
        rc = demo_on_workers(d, list_worker, args, results);
        if (rc == 0)
            rc = answer(resp, d, ls, results, limit);
    }
    for (int i = 0; ls && i < n; i++)
        jbuf_free(&ls[i].out);
    free(ls);
    free(args);
    free(results);
    return rc;
}
