#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/core.sh: runs the core benchmarks on corio (bench_core), asyncio and uvloop (bench/core.py),
# each pinned to one CPU, RUNS times interleaved (corio, asyncio, uvloop for each measurement in
# turn, so slow drift of the machine hits all three alike), and prints the medians as a table,
# then the machine-readable lines, ending with exactly these five (corio's medians):
#
#   core.switch_ns N  core.spawn_join_ns N  core.sleep_1m_wall_s N
#   core.sleep_1m_rss_kib_per_task N  core.chan_msgs_per_s N
#
# Environment: BUILD_DIR (where bench_core is; default build/release), RUNS (default 5), CPU
# (default 1, or 0 on a one-CPU machine), SIZES (sleep sizes; default "10000 100000 1000000"),
# PYTHON (default /usr/bin/python3: Debian's, which has python3-uvloop), RAW (file that keeps
# every raw line; default $BUILD_DIR/bench-core-raw.txt). Progress goes to stderr.
#
# Counts: corio switches 10M times, spawns 1M tasks and passes 5M channel items; Python 1M
# switches, 200k spawns and 1M queue items (per-operation figures do not depend on the count
# once a run lasts long enough, and Python is 100x slower). It does not judge the figures
# against targets: bench/RESULTS.md does.
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD_DIR=${BUILD_DIR:-build/release}
RUNS=${RUNS:-5}
SIZES=${SIZES:-"10000 100000 1000000"}
PYTHON=${PYTHON:-/usr/bin/python3}
RAW=${RAW:-$BUILD_DIR/bench-core-raw.txt}
if [ -z "${CPU:-}" ]; then
    if [ "$(nproc)" -ge 2 ]; then CPU=1; else CPU=0; fi
fi

BENCH=$BUILD_DIR/bench_core
[ -x "$BENCH" ] || { echo "core.sh: $BENCH not built (make bench-core builds it)" >&2; exit 1; }
command -v taskset >/dev/null || { echo "core.sh: taskset missing (util-linux)" >&2; exit 1; }
"$PYTHON" -c 'import uvloop' 2>/dev/null ||
    { echo "core.sh: $PYTHON lacks uvloop: apt-get install python3-uvloop" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
: >"$RAW"

label() { # 10000 -> 10k, 1000000 -> 1m
    case $1 in
    *000000) echo "$(($1 / 1000000))m" ;;
    *000) echo "$(($1 / 1000))k" ;;
    *) echo "$1" ;;
    esac
}

# run IMPL BENCH [ARGS...]: one pinned run; its "key value" lines are stored per implementation,
# sleep keys renamed per size (core.sleep_wall_s -> core.sleep_1m_wall_s).
run() {
    local impl=$1 what=$2
    shift 2
    local out
    case $impl in
    corio) out=$(taskset -c "$CPU" "$BENCH" "$what" "$@") ;;
    *) out=$(taskset -c "$CPU" "$PYTHON" bench/core.py "$impl" "$what" "$@") ;;
    esac
    local tag=""
    [ "$what" = sleep ] && tag="_$(label "$1")"
    while read -r key val; do
        [ -n "$key" ] || continue
        key=${key/core.sleep_/core.sleep${tag}_}
        echo "$val" >>"$tmp/$impl.$key"
        echo "$impl $key $val" >>"$RAW"
    done <<<"$out"
}

median() { # median of the values stored for IMPL KEY, or "-"
    local f="$tmp/$1.$2"
    [ -s "$f" ] || { echo "-"; return; }
    sort -g "$f" | awk '{v[NR] = $1} END {
        if (NR % 2) print v[(NR + 1) / 2]; else printf "%.6g\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

machine() {
    echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
    local cpu
    cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
    echo "machine: $(uname -m), $(nproc) CPUs, $cpu, kernel $(uname -r)"
    echo "corio: $("$BENCH" info | sed 's/^core\.info_//' | paste -sd, | sed 's/,/, /g')"
    echo "python: $("$PYTHON" bench/core.py uvloop info | sed 's/^core\.info_//' | paste -sd, |
        sed 's/,/, /g')"
    echo "pinned to CPU $CPU; $RUNS interleaved runs; medians"
}

echo "core.sh: $RUNS rounds; progress on stderr, raw lines in $RAW" >&2
start_load=$(cut -d' ' -f1-3 /proc/loadavg)
for ((r = 1; r <= RUNS; r++)); do
    for impl in corio asyncio uvloop; do
        echo "round $r/$RUNS: $impl switch, spawn, chan" >&2
        if [ $impl = corio ]; then
            run $impl switch 10000000
            run $impl spawn 1000000
            run $impl chan 5000000
        else
            run $impl switch 1000000
            run $impl spawn 200000
            run $impl chan 1000000
        fi
    done
    for n in $SIZES; do
        for impl in corio asyncio uvloop; do
            echo "round $r/$RUNS: $impl sleep $n" >&2
            run $impl sleep "$n"
        done
    done
done
end_load=$(cut -d' ' -f1-3 /proc/loadavg)

# row NAME KEY BETTER: one table line; BETTER is "low" or "high" and decides the ratio's sense,
# so "x vs corio" > 1 always means corio is better by that factor.
row() {
    local name=$1 key=$2 better=$3
    local c a u
    c=$(median corio "$key")
    a=$(median asyncio "$key")
    u=$(median uvloop "$key")
    awk -v n="$name" -v c="$c" -v a="$a" -v u="$u" -v b="$better" 'function ratio(p) {
            if (p == "-" || c == "-" || c == 0 || p == 0) return "-";
            return sprintf("%.2f", b == "low" ? p / c : c / p) }
        BEGIN { printf "%-34s %14s %14s %14s %9s %9s\n", n, c, a, u, ratio(a), ratio(u) }'
}

echo
machine
echo "load average: $start_load at start, $end_load at end"
echo
printf "%-34s %14s %14s %14s %9s %9s\n" benchmark corio asyncio uvloop "asyncio/" "uvloop/"
printf "%-34s %14s %14s %14s %9s %9s\n" "" "" "" "" "corio" "corio"
row "switch ns (wall)" core.switch_ns low
row "switch ns (cpu)" core.switch_cpu_ns low
row "spawn+join ns (wall)" core.spawn_join_ns low
row "spawn+join ns (cpu)" core.spawn_join_cpu_ns low
for n in $SIZES; do
    l=$(label "$n")
    row "sleep $l: wall s" "core.sleep_${l}_wall_s" low
    row "sleep $l: user s" "core.sleep_${l}_user_s" low
    row "sleep $l: sys s" "core.sleep_${l}_sys_s" low
    row "sleep $l: peak RSS KiB/task" "core.sleep_${l}_rss_kib_per_task" low
    row "sleep $l: peak RSS KiB" "core.sleep_${l}_peak_rss_kib" low
    row "sleep $l: page tables KiB" "core.sleep_${l}_alive_pte_kib" low
    row "sleep $l: minor faults/task" "core.sleep_${l}_minflt_per_task" low
    row "sleep $l: memory maps" "core.sleep_${l}_maps" low
done
row "chan msgs/s (wall)" core.chan_msgs_per_s high
row "chan msgs/s (cpu)" core.chan_cpu_msgs_per_s high
echo "(ratio columns: how many times better corio is; below 1 means worse)"
echo

for key in core.switch_cpu_ns core.spawn_join_cpu_ns core.chan_cpu_msgs_per_s; do
    echo "$key $(median corio $key)"
done
for n in $SIZES; do
    l=$(label "$n")
    for k in wall_s rss_kib_per_task peak_rss_kib maps; do
        # The 1M figures of the final lines are not repeated here: one line per key.
        [[ $l = 1m && ($k = wall_s || $k = rss_kib_per_task) ]] && continue
        echo "core.sleep_${l}_$k $(median corio "core.sleep_${l}_$k")"
    done
done
echo "core.switch_ns $(median corio core.switch_ns)"
echo "core.spawn_join_ns $(median corio core.spawn_join_ns)"
echo "core.sleep_1m_wall_s $(median corio core.sleep_1m_wall_s)"
echo "core.sleep_1m_rss_kib_per_task $(median corio core.sleep_1m_rss_kib_per_task)"
echo "core.chan_msgs_per_s $(median corio core.chan_msgs_per_s)"
