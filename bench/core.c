/* SPDX-License-Identifier: MIT */
/* bench_core: the runtime core's micro-benchmarks, one measurement per process.
 *
 *   bench_core switch [N]   two tasks ping-pong with corio_yield() for N switches in all
 *                           (default 10M); prints core.switch_ns
 *   bench_core spawn [N]    spawn + join of a trivial task N times in sequence (default 1M);
 *                           prints core.spawn_join_ns
 *   bench_core sleep N [C]  N tasks in one group each sleep 1 ms, the owner waits for the
 *                           group; prints wall time, peak RSS per task, total peak RSS and the
 *                           number of memory maps while all N are alive (core.sleep_*). C sets
 *                           stack_cache (diagnostic only: the reported figures use the default)
 *   bench_core chan [N]     one producer and one consumer pass N ints (default 5M) through a
 *                           corio_chan of capacity 1000; prints core.chan_msgs_per_s
 *   bench_core info         the build: compiler, assertions, optimisation
 *
 * Each prints "key value" lines on stdout, nothing else, so bench/core.sh can collect them; the
 * Python equivalents (asyncio and uvloop) are in bench/core.py and print the same keys. Beside
 * each wall-clock figure comes the same figure on process CPU time (*_cpu_*), and the sleep
 * benchmark adds user/system time and minor faults, to show where the time goes. Every
 * run uses real time (no virtual_time) and the default options, except that the watchdog is off
 * (watchdog_ns = -1) so no second thread shares the core.
 *
 * The sleep benchmark runs one size per process so that peak RSS (VmHWM) is that size's alone:
 * it reads VmHWM before corio_run() and after it returns, and divides the difference by N. A
 * probe task spawned after the N sleepers runs once all of them have started (the run queue is
 * FIFO and the 1 ms timers fire only between batches, so woken sleepers queue behind it); it
 * counts the lines of /proc/self/maps and reads VmRSS at that moment. Its own duration is
 * subtracted from the wall time, since reading a large maps file is not what is measured.
 *
 * Not here: thresholds. Benchmarks never assert targets; bench/core.sh compares the figures.
 */
#include "corio/core.h"
#include "corio/sync.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#define DEFAULT_SWITCHES 10000000L
#define DEFAULT_SPAWNS 1000000L
#define DEFAULT_CHAN_ITEMS 5000000L
#define CHAN_CAPACITY 1000

static int64_t clock_ns(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t mono_ns(void)
{
    return clock_ns(CLOCK_MONOTONIC);
}

/* CPU time of the process (user + system). The machine the figures come from may be shared:
 * wall time then includes other processes' turns on the core, CPU time does not, so both are
 * printed (wall is the headline figure, as the issue defines it). */
static int64_t cpu_ns(void)
{
    return clock_ns(CLOCK_PROCESS_CPUTIME_ID);
}

/* A span measured on both clocks. */
struct span {
    int64_t wall, cpu;
};

static struct span span_start(void)
{
    return (struct span){mono_ns(), cpu_ns()};
}

static struct span span_end(struct span s)
{
    return (struct span){mono_ns() - s.wall, cpu_ns() - s.cpu};
}

static void die(const char *what, int rc)
{
    fprintf(stderr, "bench_core: %s: %s\n", what, corio_strerror(rc));
    exit(1);
}

/* A "Key:   123 kB" field of /proc/self/status in KiB, or -1. */
static long status_kib(const char *key)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    size_t kl = strlen(key);
    long v = -1;
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, key, kl) == 0 && line[kl] == ':') {
            v = strtol(line + kl + 1, NULL, 10);
            break;
        }
    }
    fclose(f);
    return v;
}

static long count_maps(void)
{
    FILE *f = fopen("/proc/self/maps", "r");
    long n = 0;
    int c;
    if (!f)
        return -1;
    while ((c = getc_unlocked(f)) != EOF)
        n += c == '\n';
    fclose(f);
    return n;
}

static size_t stack_cache; /* 0 = default; only the diagnostic `sleep N CACHE` sets it */

static void run(corio_fn fn, void *arg)
{
    struct corio_run_opts o = {.watchdog_ns = -1, .stack_cache = stack_cache};
    int rc = corio_run(&o, fn, arg);
    if (rc < 0)
        die("corio_run", rc);
}

/* ---- 1. context switch ----------------------------------------------------------------------- */

struct switch_bench {
    long per_task; /* yields each of the two tasks makes */
    struct span t;
};

static int yielder(void *arg)
{
    const struct switch_bench *b = arg;
    for (long i = 0; i < b->per_task; i++) {
        int rc = corio_yield();
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int switch_main(void *arg)
{
    struct switch_bench *b = arg;
    corio_group *g;
    int rc = corio_group_open(&g);
    if (rc < 0)
        return rc;
    /* The owner parks in group_wait, so only the two yielders are runnable: each yield is one
     * direct switch to the other (plus, every SWITCH_BUDGET switches, one round trip through the
     * scheduler and a non-blocking epoll_wait, which belongs in the figure). */
    struct span t0 = span_start();
    if ((rc = corio_spawn(g, yielder, b)) < 0 || (rc = corio_spawn(g, yielder, b)) < 0) {
        corio_group_close(g);
        return rc;
    }
    rc = corio_group_wait(g);
    b->t = span_end(t0);
    corio_group_close(g);
    return rc;
}

static void bench_switch(long n)
{
    struct switch_bench b = {.per_task = n / 2};
    run(switch_main, &b);
    double n2 = (double)(2 * b.per_task);
    printf("core.switch_ns %.2f\n", (double)b.t.wall / n2);
    printf("core.switch_cpu_ns %.2f\n", (double)b.t.cpu / n2);
}

/* ---- 2. spawn + run + join ------------------------------------------------------------------- */

struct spawn_bench {
    long n;
    struct span t;
};

static int noop(void *arg)
{
    (void)arg;
    return 0;
}

static int spawn_main(void *arg)
{
    struct spawn_bench *b = arg;
    corio_group *g;
    int rc = corio_group_open(&g);
    if (rc < 0)
        return rc;
    struct span t0 = span_start();
    for (long i = 0; i < b->n; i++) {
        corio_task *t;
        int res;
        if ((rc = corio_spawn_task(g, noop, NULL, &t)) < 0 || (rc = corio_task_join(t, &res)) < 0)
            break;
    }
    b->t = span_end(t0);
    int crc = corio_group_close(g);
    return rc < 0 ? rc : crc;
}

static void bench_spawn(long n)
{
    struct spawn_bench b = {.n = n};
    run(spawn_main, &b);
    printf("core.spawn_join_ns %.2f\n", (double)b.t.wall / (double)n);
    printf("core.spawn_join_cpu_ns %.2f\n", (double)b.t.cpu / (double)n);
}

/* ---- 3. many sleeping tasks ------------------------------------------------------------------ */

struct sleep_bench {
    long n;
    int64_t ns;       /* spawn of the first sleeper to the return of group_wait */
    int64_t probe_ns; /* time spent in the probe, subtracted from ns */
    long maps;        /* lines of /proc/self/maps while all sleepers are alive */
    long rss_kib;     /* VmRSS at the same moment */
    long pte_kib;     /* VmPTE (page tables, not part of RSS) at the same moment */
};

static int sleeper(void *arg)
{
    (void)arg;
    return corio_sleep(CORIO_MS);
}

static int probe(void *arg)
{
    struct sleep_bench *b = arg;
    int64_t t0 = mono_ns();
    b->maps = count_maps();
    b->rss_kib = status_kib("VmRSS");
    b->pte_kib = status_kib("VmPTE");
    b->probe_ns = mono_ns() - t0;
    return 0;
}

static int sleep_main(void *arg)
{
    struct sleep_bench *b = arg;
    corio_group *g;
    int rc = corio_group_open(&g);
    if (rc < 0)
        return rc;
    int64_t t0 = mono_ns();
    for (long i = 0; i < b->n && rc >= 0; i++)
        rc = corio_spawn(g, sleeper, NULL);
    if (rc >= 0)
        rc = corio_spawn(g, probe, b);
    if (rc >= 0)
        rc = corio_group_wait(g);
    b->ns = mono_ns() - t0;
    int crc = corio_group_close(g);
    return rc < 0 ? rc : crc;
}

static double tv_s(struct timeval tv)
{
    return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

static void bench_sleep(long n)
{
    struct sleep_bench b = {.n = n};
    struct rusage ru0, ru1;
    long hwm0 = status_kib("VmHWM");
    getrusage(RUSAGE_SELF, &ru0);
    int64_t t0 = mono_ns();
    run(sleep_main, &b);
    int64_t total = mono_ns() - t0;
    getrusage(RUSAGE_SELF, &ru1);
    long hwm1 = status_kib("VmHWM");
    printf("core.sleep_tasks %ld\n", n);
    printf("core.sleep_wall_s %.4f\n", (double)(b.ns - b.probe_ns) / 1e9);
    printf("core.sleep_run_wall_s %.4f\n", (double)(total - b.probe_ns) / 1e9);
    printf("core.sleep_probe_s %.4f\n", (double)b.probe_ns / 1e9);
    printf("core.sleep_rss_kib_per_task %.3f\n", (double)(hwm1 - hwm0) / (double)n);
    printf("core.sleep_peak_rss_kib %ld\n", hwm1);
    printf("core.sleep_base_rss_kib %ld\n", hwm0);
    printf("core.sleep_alive_rss_kib %ld\n", b.rss_kib);
    printf("core.sleep_alive_pte_kib %ld\n", b.pte_kib);
    printf("core.sleep_maps %ld\n", b.maps);
    /* Where the time goes: user vs kernel (page faults, madvise, mmap) over the whole run. */
    printf("core.sleep_user_s %.4f\n", tv_s(ru1.ru_utime) - tv_s(ru0.ru_utime));
    printf("core.sleep_sys_s %.4f\n", tv_s(ru1.ru_stime) - tv_s(ru0.ru_stime));
    printf("core.sleep_minflt_per_task %.3f\n",
           (double)(ru1.ru_minflt - ru0.ru_minflt) / (double)n);
}

/* ---- 4. channel throughput ------------------------------------------------------------------- */

struct chan_bench {
    long n;
    corio_chan *c;
    long sum; /* consumer's checksum, so the transfer cannot be optimised away */
    struct span t;
};

static int producer(void *arg)
{
    struct chan_bench *b = arg;
    for (long i = 0; i < b->n; i++) {
        int v = (int)i;
        int rc = corio_chan_put(b->c, &v);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int consumer(void *arg)
{
    struct chan_bench *b = arg;
    for (long i = 0; i < b->n; i++) {
        int v;
        int rc = corio_chan_get(b->c, &v);
        if (rc < 0)
            return rc;
        b->sum += v;
    }
    return 0;
}

static int chan_main(void *arg)
{
    struct chan_bench *b = arg;
    corio_group *g;
    int rc = corio_chan_new(sizeof(int), CHAN_CAPACITY, &b->c);
    if (rc < 0)
        return rc;
    if ((rc = corio_group_open(&g)) < 0) {
        corio_chan_free(b->c);
        return rc;
    }
    struct span t0 = span_start();
    if ((rc = corio_spawn(g, producer, b)) >= 0 && (rc = corio_spawn(g, consumer, b)) >= 0)
        rc = corio_group_wait(g);
    b->t = span_end(t0);
    int crc = corio_group_close(g);
    corio_chan_free(b->c);
    return rc < 0 ? rc : crc;
}

static void bench_chan(long n)
{
    struct chan_bench b = {.n = n};
    run(chan_main, &b);
    long want = (long)((n - 1) * n / 2); /* ints wrap only beyond 2^31 items */
    if (b.sum != want) {
        fprintf(stderr, "bench_core: chan checksum %ld, expected %ld\n", b.sum, want);
        exit(1);
    }
    printf("core.chan_msgs_per_s %.0f\n", (double)n / ((double)b.t.wall / 1e9));
    printf("core.chan_cpu_msgs_per_s %.0f\n", (double)n / ((double)b.t.cpu / 1e9));
}

/* ---- main ------------------------------------------------------------------------------------ */

static void info(void)
{
#if defined(__clang__)
    printf("core.info_compiler clang %s\n", __clang_version__);
#elif defined(__GNUC__)
    printf("core.info_compiler gcc %s\n", __VERSION__);
#endif
#ifdef NDEBUG
    printf("core.info_ndebug 1\n");
#else
    printf("core.info_ndebug 0\n");
#endif
#ifdef __OPTIMIZE__
    printf("core.info_optimized 1\n");
#else
    printf("core.info_optimized 0\n");
#endif
}

static long arg_count(int argc, char **argv, long dflt)
{
    if (argc < 3)
        return dflt;
    char *end;
    long v = strtol(argv[2], &end, 10);
    if (*end || v < 2) {
        fprintf(stderr, "bench_core: bad count '%s'\n", argv[2]);
        exit(2);
    }
    return v;
}

int main(int argc, char **argv)
{
    const char *cmd = argc > 1 ? argv[1] : "";
    if (strcmp(cmd, "switch") == 0)
        bench_switch(arg_count(argc, argv, DEFAULT_SWITCHES));
    else if (strcmp(cmd, "spawn") == 0)
        bench_spawn(arg_count(argc, argv, DEFAULT_SPAWNS));
    else if (strcmp(cmd, "sleep") == 0 && (argc == 3 || argc == 4)) {
        if (argc == 4)
            stack_cache = (size_t)strtoul(argv[3], NULL, 10);
        bench_sleep(arg_count(argc, argv, 0));
    } else if (strcmp(cmd, "chan") == 0)
        bench_chan(arg_count(argc, argv, DEFAULT_CHAN_ITEMS));
    else if (strcmp(cmd, "info") == 0)
        info();
    else {
        fprintf(stderr,
                "usage: bench_core switch [N] | spawn [N] | sleep N [C] | chan [N] | info\n");
        return 2;
    }
    return 0;
}
