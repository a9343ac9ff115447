/* SPDX-License-Identifier: MIT */
/* examples/channel.c: a producer/consumer pipeline on two channels, with the asyncio.Queue
 * idiom task_done()/join().
 *
 *   producer --jobs (capacity 4)--> 3 workers --results (capacity 16)--> collector
 *
 * The producer puts 12 jobs; a full channel makes it wait (backpressure). Each worker takes a
 * job, "works" for a few ms, puts the result and only then calls corio_chan_task_done(). The
 * main task waits for the producer, then corio_chan_join(jobs) returns once every job has
 * been marked done, so every result has been put. Closing the channels ends the
 * workers (-EPIPE on get) and, once the buffered results are drained, the collector.
 * Runs in about 50 ms and exits 0.
 */
#include <corio/core.h>
#include <corio/sync.h>
#include <errno.h>
#include <stdio.h>

struct job {
    int n;
};

struct result {
    int n, square, worker;
};

struct pipeline {
    corio_chan *jobs, *results;
    long sum;
    int received;
};

static int producer(void *arg)
{
    struct pipeline *p = arg;
    for (int n = 1; n <= 12; n++) {
        int rc = corio_chan_put(p->jobs, &(struct job){.n = n}); /* waits while full */
        if (rc < 0)
            return rc;
    }
    printf("producer: 12 jobs queued\n");
    return 0;
}

struct worker_arg {
    struct pipeline *p;
    int id;
};

static int worker(void *arg)
{
    struct worker_arg *w = arg;
    struct job j;
    int rc;
    while ((rc = corio_chan_get(w->p->jobs, &j)) == 0) {
        if ((rc = corio_sleep((1 + j.n % 3) * CORIO_MS)) < 0) /* the work */
            return rc;
        struct result r = {.n = j.n, .square = j.n * j.n, .worker = w->id};
        if ((rc = corio_chan_put(w->p->results, &r)) < 0)
            return rc;
        corio_chan_task_done(w->p->jobs); /* after the result is out, not before */
    }
    return rc == -EPIPE ? 0 : rc; /* -EPIPE: jobs closed and drained, a normal end */
}

static int collector(void *arg)
{
    struct pipeline *p = arg;
    struct result r;
    int rc;
    while ((rc = corio_chan_get(p->results, &r)) == 0) {
        p->sum += r.square;
        p->received++;
    }
    return rc == -EPIPE ? 0 : rc;
}

static int main_task(void *arg)
{
    (void)arg;
    struct pipeline p = {0};
    struct worker_arg wa[3];
    corio_group *g = NULL;
    corio_task *prod = NULL;
    int rc;
    if ((rc = corio_chan_new(sizeof(struct job), 4, &p.jobs)) < 0 ||
        (rc = corio_chan_new(sizeof(struct result), 16, &p.results)) < 0 ||
        (rc = corio_group_open(&g)) < 0)
        goto out;
    if ((rc = corio_spawn_task(g, producer, &p, &prod)) < 0)
        goto out;
    for (int i = 0; i < 3 && rc == 0; i++) {
        wa[i] = (struct worker_arg){.p = &p, .id = i};
        rc = corio_spawn_named(g, "worker", worker, &wa[i], NULL);
    }
    if (rc == 0)
        rc = corio_spawn(g, collector, &p);
    if (rc < 0)
        goto out;

    int prc;
    if ((rc = corio_task_join(prod, &prc)) < 0)
        goto out;
    prod = NULL;                            /* the join released the handle */
    if ((rc = corio_chan_join(p.jobs)) < 0) /* every job put so far is task_done */
        goto out;
    printf("main: all jobs done; collector has %d results, %zu more buffered\n", p.received,
           corio_chan_len(p.results));
    corio_chan_close(p.jobs);    /* workers: get returns -EPIPE */
    corio_chan_close(p.results); /* collector: drains the buffer, then -EPIPE */
    rc = corio_group_wait(g);
    printf("main: group %s; %d results, sum of squares %ld (expected 650)\n", corio_strerror(rc),
           p.received, p.sum);
out:
    if (prod)
        corio_task_release(prod);
    if (g)
        corio_group_close(g); /* cancels and reaps whatever still runs (on an error path) */
    if (p.jobs)
        corio_chan_free(p.jobs); /* no task waits on them any more */
    if (p.results)
        corio_chan_free(p.results);
    return rc;
}

int main(void)
{
    return corio_run(NULL, main_task, NULL) < 0 ? 1 : 0;
}
