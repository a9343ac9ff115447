#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""bench/core.py: the Python side of the core benchmarks, on asyncio or on uvloop.

    /usr/bin/python3 bench/core.py LOOP switch [N]   LOOP is asyncio or uvloop
    /usr/bin/python3 bench/core.py LOOP spawn [N]
    /usr/bin/python3 bench/core.py LOOP sleep N
    /usr/bin/python3 bench/core.py LOOP chan [N]
    /usr/bin/python3 bench/core.py LOOP info

Each measurement mirrors one of bench_core (bench/core.c) and prints the same "key value"
lines, so bench/core.sh can put them side by side:

  switch  two coroutines each `await asyncio.sleep(0)` N/2 times; ns per switch (one sleep(0)
          = one switch, as one corio_yield() is one switch in corio).
  spawn   `await asyncio.create_task(noop())` N times in sequence; ns per spawn + join.
  sleep   N tasks (create_task each) of `asyncio.sleep(0.001)`, awaited with gather; wall time
          from the first create_task to gather's return, and VmHWM from /proc/self/status after
          the run minus VmHWM before it, per task. A probe task created after the sleepers runs
          once every sleeper has started (call_soon is FIFO) and counts /proc/self/maps lines and
          reads VmRSS; its own time is subtracted from the wall time, as in bench_core.
  chan    one producer and one consumer pass N ints through asyncio.Queue(maxsize=1000).

The default counts are smaller than bench_core's (Python is slower, and per-operation figures
do not depend on the count once the run is long enough); bench/core.sh passes its own.
Must run on Debian's /usr/bin/python3 with python3-uvloop (scripts/deps-bench.txt).
It does not compare or judge anything: bench/core.sh does.
"""
import asyncio
import resource
import sys
import time

DEFAULTS = {"switch": 1_000_000, "spawn": 200_000, "chan": 1_000_000}


def status_kib(key):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return -1


class Span:
    """A span on both clocks: wall (the headline figure) and process CPU time, which leaves out
    other processes' turns on a shared core (bench_core prints both too)."""

    def __init__(self):
        self.wall = time.perf_counter_ns()
        self.cpu = time.process_time_ns()

    def end(self):
        self.wall = time.perf_counter_ns() - self.wall
        self.cpu = time.process_time_ns() - self.cpu
        return self


def count_maps():
    with open("/proc/self/maps", "rb") as f:
        return f.read().count(b"\n")


async def bench_switch(n):
    per_task = n // 2

    async def yielder():
        for _ in range(per_task):
            await asyncio.sleep(0)

    t = Span()
    await asyncio.gather(asyncio.create_task(yielder()), asyncio.create_task(yielder()))
    t.end()
    print(f"core.switch_ns {t.wall / (2 * per_task):.2f}")
    print(f"core.switch_cpu_ns {t.cpu / (2 * per_task):.2f}")


async def noop():
    return 0


async def bench_spawn(n):
    t = Span()
    for _ in range(n):
        await asyncio.create_task(noop())
    t.end()
    print(f"core.spawn_join_ns {t.wall / n:.2f}")
    print(f"core.spawn_join_cpu_ns {t.cpu / n:.2f}")


async def bench_sleep(n, probe_out):
    def probe():
        t0 = time.perf_counter_ns()
        probe_out["maps"] = count_maps()
        probe_out["rss"] = status_kib("VmRSS")
        probe_out["pte"] = status_kib("VmPTE")
        probe_out["ns"] = time.perf_counter_ns() - t0

    async def probe_task():
        probe()

    t0 = time.perf_counter_ns()
    tasks = [asyncio.create_task(asyncio.sleep(0.001)) for _ in range(n)]
    tasks.append(asyncio.create_task(probe_task()))
    await asyncio.gather(*tasks)
    return time.perf_counter_ns() - t0


async def bench_chan(n):
    q = asyncio.Queue(maxsize=1000)
    total = 0

    async def producer():
        for i in range(n):
            await q.put(i)

    async def consumer():
        nonlocal total
        for _ in range(n):
            total += await q.get()

    t = Span()
    await asyncio.gather(asyncio.create_task(producer()), asyncio.create_task(consumer()))
    t.end()
    if total != n * (n - 1) // 2:
        sys.exit(f"core.py: chan checksum {total}, expected {n * (n - 1) // 2}")
    print(f"core.chan_msgs_per_s {n / (t.wall / 1e9):.0f}")
    print(f"core.chan_cpu_msgs_per_s {n / (t.cpu / 1e9):.0f}")


def run_sleep(n):
    probe_out = {}
    hwm0 = status_kib("VmHWM")
    ru0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.perf_counter_ns()
    ns = asyncio.run(bench_sleep(n, probe_out))
    total = time.perf_counter_ns() - t0
    ru1 = resource.getrusage(resource.RUSAGE_SELF)
    hwm1 = status_kib("VmHWM")
    pns = probe_out["ns"]
    print(f"core.sleep_tasks {n}")
    print(f"core.sleep_wall_s {(ns - pns) / 1e9:.4f}")
    print(f"core.sleep_run_wall_s {(total - pns) / 1e9:.4f}")
    print(f"core.sleep_probe_s {pns / 1e9:.4f}")
    print(f"core.sleep_rss_kib_per_task {(hwm1 - hwm0) / n:.3f}")
    print(f"core.sleep_peak_rss_kib {hwm1}")
    print(f"core.sleep_base_rss_kib {hwm0}")
    print(f"core.sleep_alive_rss_kib {probe_out['rss']}")
    print(f"core.sleep_alive_pte_kib {probe_out['pte']}")
    print(f"core.sleep_maps {probe_out['maps']}")
    print(f"core.sleep_user_s {ru1.ru_utime - ru0.ru_utime:.4f}")
    print(f"core.sleep_sys_s {ru1.ru_stime - ru0.ru_stime:.4f}")
    print(f"core.sleep_minflt_per_task {(ru1.ru_minflt - ru0.ru_minflt) / n:.3f}")


def usage():
    sys.exit("usage: core.py asyncio|uvloop switch [N] | spawn [N] | sleep N | chan [N] | info")


def main(argv):
    if len(argv) < 3 or argv[1] not in ("asyncio", "uvloop"):
        usage()
    loop, cmd = argv[1], argv[2]
    if loop == "uvloop":
        import uvloop  # Debian's python3-uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    count = int(argv[3]) if len(argv) > 3 else DEFAULTS.get(cmd, 0)
    if cmd == "info":
        print(f"core.info_python {sys.version.split()[0]}")
        if loop == "uvloop":
            print(f"core.info_uvloop {uvloop.__version__}")
    elif cmd == "switch":
        asyncio.run(bench_switch(count))
    elif cmd == "spawn":
        asyncio.run(bench_spawn(count))
    elif cmd == "sleep" and count > 0:
        run_sleep(count)
    elif cmd == "chan":
        asyncio.run(bench_chan(count))
    else:
        usage()


if __name__ == "__main__":
    main(sys.argv)
