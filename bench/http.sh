#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/http.sh: the HTTP benchmark (`make bench-http`). Runs corio-demo against its peers in the
# same run, wrk pinned to one CPU and the server to the other, and prints markdown tables of the
# medians, the exact commands, then machine-readable lines `http.<server>.<test>.<metric> N`.
#
# Servers (SERVERS, in this order within each round):
#   ceiling   bench_http_ceiling (bench/http_ceiling.c): the least any server can do per request
#   corio     corio-demo --workers 1 --rate-limit 0 --log-level warn (its full middleware chain:
#             request id, access log (off below info), metrics, gzip negotiation; only the rate
#             limit, which would answer a benchmark with 429s, is off)
#   corio_w2  the same with --workers 2, on both CPUs (see "Scaling" below)
#   nginx     Debian nginx, one worker, `return 200` (bench/peers/nginx.conf)
#   go        Go net/http, GOMAXPROCS=1 (bench/peers/go_server.go, built here with `go build`)
#   aiohttp   aiohttp on uvloop (bench/peers/aiohttp_app.py)
#   uvicorn   uvicorn with uvloop and httptools, a raw ASGI app (bench/peers/uvicorn_app.py)
# Tests (TESTS):
#   plaintext, json  keep-alive, CONNS connections: wrk -t1 -cCONNS -dDURATION --latency
#   pipeline         /plaintext, DEPTH requests per write (bench/pipeline.lua), CONNS connections
#   c1000            /plaintext with BIG_CONNS connections
#   idle             RSS per idle keep-alive connection: a fresh server instance, VmRSS before and
#                    2 s after bench/http_idle.py has IDLE_CONNS connections open, each served once
# For every wrk test: requests/s, its ratio to the ceiling probe, p99 latency, and server CPU
# time per request (utime+stime of the server's process tree from /proc/<pid>/stat, before and
# after, divided by the requests wrk counted). Each round starts every server once (fresh, a 2 s
# warm-up, then the wrk tests; then a second fresh instance for the idle test), and the tables
# show medians over ROUNDS rounds, so slow drift of the machine hits every server alike.
#
# Scaling: with two CPUs, `--workers 2` has to share CPU WRK_CPU with wrk, so its figure shows
# what a second worker brings when the load generator already takes a whole core, not the
# scaling of corio on idle cores. The tables say so.
#
# Environment: BUILD_DIR (default build/release: bench_http_ceiling and corio-demo), ROUNDS (3),
# DURATION (seconds per wrk run, 10), CONNS (64), DEPTH (16), BIG_CONNS (1000), IDLE_CONNS
# (10000), WRK_CPU (0), SERVER_CPU (1), PORT_BASE (28000), PYTHON (/usr/bin/python3: Debian's,
# with aiohttp, uvicorn and uvloop), SERVERS, TESTS, RAW (every raw line; default
# $BUILD_DIR/bench-http-raw.txt), WRK_LOG (wrk's full output of every run; default
# $BUILD_DIR/bench-http-wrk.txt), NICE (default 0: a niceness for wrk and the servers; on a
# shared machine a negative one, as root, gives them the larger share of the CPUs), CHRT
# (default empty: chrt(1) options for wrk and the servers, e.g. "-f 1" for SCHED_FIFO, so a
# woken server or wrk preempts other work at once instead of waiting for its time slice; the
# kernel's RT throttling still leaves others 5%). A server whose program is missing is skipped
# with a note (corio-demo before it is built). Progress goes to stderr. Descriptor limits are
# raised here (ulimit -n), for wrk, the servers and the idle client: never in the library.
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD_DIR=${BUILD_DIR:-build/release}
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10}
CONNS=${CONNS:-64}
DEPTH=${DEPTH:-16}
BIG_CONNS=${BIG_CONNS:-1000}
IDLE_CONNS=${IDLE_CONNS:-10000}
PORT_BASE=${PORT_BASE:-28000}
PYTHON=${PYTHON:-/usr/bin/python3}
NICE=${NICE:-0}
CHRT=${CHRT:-}
SERVERS=${SERVERS:-"ceiling corio corio_w2 nginx go aiohttp uvicorn"}
TESTS=${TESTS:-"plaintext json pipeline c1000 idle"}
RAW=${RAW:-$BUILD_DIR/bench-http-raw.txt}
WRK_LOG=${WRK_LOG:-$BUILD_DIR/bench-http-wrk.txt}
if [ "$(nproc)" -ge 2 ]; then
    WRK_CPU=${WRK_CPU:-0}
    SERVER_CPU=${SERVER_CPU:-1}
else
    WRK_CPU=${WRK_CPU:-0}
    SERVER_CPU=${SERVER_CPU:-0}
    echo "http.sh: one CPU: wrk and the server share it; figures are not comparable" >&2
fi
W2_CPUS="$SERVER_CPU,$WRK_CPU"
CEILING=$BUILD_DIR/bench_http_ceiling
CORIO=$BUILD_DIR/corio-demo
CLK_TCK=$(getconf CLK_TCK)

die() {
    echo "http.sh: $*" >&2
    exit 1
}
for tool in wrk taskset curl; do
    command -v $tool >/dev/null || die "$tool missing: make bench-deps installs it"
done

# Descriptors: wrk at BIG_CONNS, the idle client and the server at IDLE_CONNS each.
want_fds=$((IDLE_CONNS + BIG_CONNS + 1024))
[ "$want_fds" -ge 65536 ] || want_fds=65536
if [ "$(ulimit -Hn)" != unlimited ] && [ "$(ulimit -Hn)" -lt "$want_fds" ]; then
    ulimit -Hn "$want_fds" 2>/dev/null || true # root (CAP_SYS_RESOURCE) may raise it
fi
if [ "$(ulimit -Hn)" = unlimited ] || [ "$(ulimit -Hn)" -ge "$want_fds" ]; then
    ulimit -n "$want_fds"
else
    ulimit -n "$(ulimit -Hn)"
fi
FD_LIMIT=$(ulimit -n)

tmp=$(mktemp -d /tmp/bench-http.XXXXXX)
pids=() # every process this script started and has not reaped yet
cleanup() {
    local p
    for p in "${pids[@]}"; do
        kill -KILL "$p" 2>/dev/null || true
    done
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
mkdir -p "$tmp/res" "$(dirname "$RAW")"
: >"$RAW"
: >"$WRK_LOG"

# ---- the servers ----------------------------------------------------------------------------

go_bin=""
build_go() { # the Go peer, from the standard library only: no module download
    [ -n "$go_bin" ] && return 0
    command -v go >/dev/null || return 1
    mkdir -p "$tmp/go/src"
    cp bench/peers/go_server.go "$tmp/go/src/main.go"
    (cd "$tmp/go/src" && GOPATH="$tmp/go/path" GOCACHE="$tmp/go/cache" GO111MODULE=off \
        GOFLAGS='' GOPROXY=off go build -o "$tmp/go/go_server" main.go) >&2 || return 1
    go_bin=$tmp/go/go_server
}

# available NAME: true if the server can run here (prints why not otherwise).
available() {
    case $1 in
    ceiling) [ -x "$CEILING" ] || { echo "$CEILING not built"; return 1; } ;;
    corio | corio_w2) [ -x "$CORIO" ] || { echo "$CORIO not built"; return 1; } ;;
    nginx) command -v nginx >/dev/null || { echo "nginx not installed"; return 1; } ;;
    go) build_go || { echo "go build of bench/peers/go_server.go failed"; return 1; } ;;
    aiohttp) "$PYTHON" -c 'import aiohttp, uvloop' 2>/dev/null ||
        { echo "$PYTHON lacks aiohttp or uvloop"; return 1; } ;;
    uvicorn) "$PYTHON" -c 'import uvicorn, uvloop, httptools' 2>/dev/null ||
        { echo "$PYTHON lacks uvicorn, uvloop or httptools"; return 1; } ;;
    *) echo "unknown server"; return 1 ;;
    esac
}

# server_cmd NAME PORT: the command line (pinning included), one word per line.
server_cmd() {
    local name=$1 port=$2
    case $name in
    ceiling) printf '%s\n' taskset -c "$SERVER_CPU" "$CEILING" --port "$port" ;;
    corio) printf '%s\n' taskset -c "$SERVER_CPU" "$CORIO" --host 127.0.0.1 --port "$port" \
        --workers 1 --rate-limit 0 --log-level warn ;;
    corio_w2) printf '%s\n' taskset -c "$W2_CPUS" "$CORIO" --host 127.0.0.1 --port "$port" \
        --workers 2 --rate-limit 0 --log-level warn ;;
    nginx) printf '%s\n' taskset -c "$SERVER_CPU" nginx -p "$tmp/nginx.$port" \
        -c "$tmp/nginx.$port/nginx.conf" ;;
    go) printf '%s\n' env GOMAXPROCS=1 taskset -c "$SERVER_CPU" "$go_bin" -port "$port" ;;
    aiohttp) printf '%s\n' taskset -c "$SERVER_CPU" "$PYTHON" bench/peers/aiohttp_app.py "$port" ;;
    uvicorn) printf '%s\n' taskset -c "$SERVER_CPU" "$PYTHON" bench/peers/uvicorn_app.py "$port" ;;
    esac
}

# show_cmd PORT WORD...: a command as shown in the output, the temporary directory and the
# port replaced by placeholders.
declare -A shown_cmd
show_cmd() {
    local port=$1
    shift
    local s=" $* "
    s=${s//$tmp/\$TMP}
    s=${s// $port / \$PORT }
    s=${s//:$port\//:\$PORT\/}
    s=${s//nginx.$port/nginx.\$PORT}
    s=${s# }
    echo "${s% }"
}

SRV_PID=""
# start_server NAME PORT: starts it in the background and waits until /plaintext answers 200.
start_server() {
    local name=$1 port=$2
    if [ "$name" = nginx ]; then
        mkdir -p "$tmp/nginx.$port"
        sed -e "s|@PORT@|$port|g" -e "s|@PREFIX@|$tmp/nginx.$port|g" bench/peers/nginx.conf \
            >"$tmp/nginx.$port/nginx.conf"
    fi
    local cmd
    mapfile -t cmd < <(server_cmd "$name" "$port")
    [ "$NICE" = 0 ] || cmd=(nice -n "$NICE" "${cmd[@]}")
    # shellcheck disable=SC2206 # CHRT is a list of options
    [ -z "$CHRT" ] || cmd=(chrt $CHRT "${cmd[@]}")
    [ -n "${shown_cmd[$name]:-}" ] || shown_cmd[$name]=$(show_cmd "$port" "${cmd[@]}")
    # taskset and env exec the server, so $! is the server's own pid.
    "${cmd[@]}" >>"$tmp/$name.log" 2>&1 &
    SRV_PID=$!
    pids+=("$SRV_PID")
    local i
    for ((i = 0; i < 150; i++)); do
        if ! kill -0 "$SRV_PID" 2>/dev/null; then
            tail -5 "$tmp/$name.log" >&2
            die "$name exited at start (command: ${cmd[*]})"
        fi
        if curl -sf -o /dev/null "http://127.0.0.1:$port/plaintext"; then
            return 0
        fi
        sleep 0.1
    done
    die "$name did not answer on port $port within 15 s"
}

stop_pid() { # TERM, up to 10 s, then KILL; reaps it
    local p=$1 i
    kill -TERM "$p" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do
        kill -0 "$p" 2>/dev/null || break
        # A zombie (exited, not yet reaped) still answers kill -0: reap it.
        [ "$(cut -d' ' -f3 "/proc/$p/stat" 2>/dev/null)" = Z ] && break
        sleep 0.1
    done
    kill -KILL "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
    local keep=() q
    for q in "${pids[@]}"; do [ "$q" = "$p" ] || keep+=("$q"); done
    pids=("${keep[@]}")
}

tree_pids() { # PID and its descendants (nginx: master and worker)
    local p=$1 c
    echo "$p"
    # shellcheck disable=SC2013 # the file is a space-separated list of pids
    for c in $(cat /proc/"$p"/task/*/children 2>/dev/null); do tree_pids "$c"; done
}

cpu_ticks() { # utime + stime of the process tree, all threads, in clock ticks
    local t=0 p stat
    for p in $(tree_pids "$1"); do
        stat=$(cat "/proc/$p/stat" 2>/dev/null) || continue
        stat=${stat##*) } # fields after "pid (comm) ": state is $1, utime $12, stime $13
        # shellcheck disable=SC2086
        set -- $stat
        t=$((t + ${12} + ${13}))
    done
    echo "$t"
}

cpu_busy() { # CPU: "busy total" clock ticks from /proc/stat (busy includes steal)
    awk -v c="cpu$1" '$1 == c { b = $2 + $3 + $4 + $7 + $8 + $9; print b, b + $5 + $6 }' /proc/stat
}

rss_kib() { # VmRSS of the process tree
    local t=0 p v
    for p in $(tree_pids "$1"); do
        v=$(awk '/^VmRSS:/ {print $2}' "/proc/$p/status" 2>/dev/null) || continue
        t=$((t + ${v:-0}))
    done
    echo "$t"
}

# ---- measurements ---------------------------------------------------------------------------

record() { # SERVER TEST METRIC VALUE
    echo "$4" >>"$tmp/res/$1.$2.$3"
}

declare -A test_cmd
# wrk_test SERVER TEST PORT ROUND
wrk_test() {
    local server=$1 test=$2 port=$3 round=$4
    local conns=$CONNS path=/plaintext extra=()
    case $test in
    json) path=/json ;;
    pipeline) extra=(-s bench/pipeline.lua) ;;
    c1000) conns=$BIG_CONNS ;;
    esac
    local cmd=(taskset -c "$WRK_CPU" wrk -t1 -c"$conns" -d"${DURATION}s" --latency "${extra[@]}"
        "http://127.0.0.1:$port$path")
    [ "$test" = pipeline ] && cmd+=(-- "$DEPTH")
    [ "$NICE" = 0 ] || cmd=(nice -n "$NICE" "${cmd[@]}")
    # shellcheck disable=SC2206 # CHRT is a list of options
    [ -z "$CHRT" ] || cmd=(chrt $CHRT "${cmd[@]}")
    [ -n "${test_cmd[$test]:-}" ] ||
        test_cmd[$test]=$(show_cmd "$port" "${cmd[@]}")
    local t0 t1 out b0 b1
    b0=$(cpu_busy "$SERVER_CPU")
    t0=$(cpu_ticks "$SRV_PID")
    out=$("${cmd[@]}" 2>&1) || { echo "$out" >&2; die "wrk failed on $server $test"; }
    t1=$(cpu_ticks "$SRV_PID")
    b1=$(cpu_busy "$SERVER_CPU")
    # Interference: the share of the server's CPU that was busy but not with the server (other
    # processes, interrupts, the hypervisor's steal). Meaningless for corio_w2, which uses both.
    local others=-
    if [ "$server" != corio_w2 ]; then
        others=$(awk -v b0="$b0" -v b1="$b1" -v d=$((t1 - t0)) 'BEGIN { split(b0, x, " ");
            split(b1, y, " "); tot = y[2] - x[2]; o = (y[1] - x[1]) - d; if (o < 0) o = 0;
            printf "%.0f\n", (tot > 0) ? 100 * o / tot : 0 }')
    fi
    printf '== round %s %s %s: %s\n%s\n' "$round" "$server" "$test" "${cmd[*]}" "$out" >>"$WRK_LOG"
    local rps reqs p99 errs
    rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
    reqs=$(awk '/ requests in / {print $1}' <<<"$out")
    # p99 in ms, from wrk's "99%  1.23ms" (units us, ms, s or m); "-" for 0.00us, which wrk prints
    # when it has too few samples (pipelined runs, where it times batches).
    p99=$(awk '$1 == "99%" { v = $2; u = v; sub(/^[0-9.]+/, "", u); sub(/[a-z]+$/, "", v);
        f = (u == "us") ? 0.001 : (u == "ms") ? 1 : (u == "s") ? 1000 : (u == "m") ? 60000 : -1;
        if (v + 0 == 0) print "-"; else printf "%.3f\n", v * f }' <<<"$out")
    errs=$(awk '/Socket errors:/ { gsub(/,/, ""); n += $4 + $6 + $8 + $10 }
        /Non-2xx or 3xx responses:/ { n += $5 } END { print n + 0 }' <<<"$out")
    if [ -z "$rps" ] || [ -z "$reqs" ]; then
        echo "$out" >&2
        die "no figures from wrk"
    fi
    local cpu_us
    cpu_us=$(awk -v d=$((t1 - t0)) -v n="$reqs" -v hz="$CLK_TCK" \
        'BEGIN { printf "%.3f\n", (n > 0) ? d * 1e6 / hz / n : 0 }')
    record "$server" "$test" rps "$rps"
    record "$server" "$test" p99_ms "${p99:--}"
    record "$server" "$test" cpu_us "$cpu_us"
    record "$server" "$test" errors "$errs"
    record "$server" "$test" others "$others"
    echo "$round $server $test rps=$rps requests=$reqs p99_ms=${p99:--} cpu_us=$cpu_us" \
        "errors=$errs others_pct=$others" >>"$RAW"
    echo "  $server $test: $rps req/s, p99 ${p99:--} ms, $cpu_us us CPU/req, $errs errors," \
        "CPU $SERVER_CPU ${others}% busy with others" >&2
}

# idle_test SERVER PORT ROUND: a fresh instance; VmRSS before and with IDLE_CONNS idle conns.
idle_test() {
    local server=$1 port=$2 round=$3
    if [ "$FD_LIMIT" -lt $((IDLE_CONNS + 100)) ]; then
        echo "  $server idle: skipped, descriptor limit $FD_LIMIT" >&2
        return 0
    fi
    start_server "$server" "$port"
    sleep 0.5
    local r0 r1 out=$tmp/idle.out cpid i
    r0=$(rss_kib "$SRV_PID")
    : >"$out"
    "$PYTHON" bench/http_idle.py "$port" "$IDLE_CONNS" >"$out" 2>&1 &
    cpid=$!
    pids+=("$cpid")
    for ((i = 0; i < 1200; i++)); do
        grep -q '^ready' "$out" && break
        kill -0 "$cpid" 2>/dev/null || break
        sleep 0.1
    done
    if ! grep -q '^ready' "$out"; then
        cat "$out" >&2
        echo "  $server idle: the client failed; no figure" >&2
        stop_pid "$cpid"
        stop_pid "$SRV_PID"
        return 0
    fi
    sleep 2 # corio releases an idle connection's read buffer after 1 s
    r1=$(rss_kib "$SRV_PID")
    stop_pid "$cpid"
    stop_pid "$SRV_PID"
    local per
    per=$(awk -v a="$r0" -v b="$r1" -v n="$IDLE_CONNS" 'BEGIN { printf "%.2f\n", (b - a) / n }')
    record "$server" idle rss0_kib "$r0"
    record "$server" idle rss1_kib "$r1"
    record "$server" idle kib_per_conn "$per"
    echo "$round $server idle rss_before_kib=$r0 rss_after_kib=$r1 kib_per_conn=$per" >>"$RAW"
    echo "  $server idle: $r0 -> $r1 KiB, $per KiB per connection" >&2
}

# ---- the run --------------------------------------------------------------------------------

servers=()
for s in $SERVERS; do
    # Not in $(...): build_go must set go_bin in this shell.
    if available "$s" >"$tmp/why"; then
        servers+=("$s")
    else
        echo "http.sh: skipping $s: $(cat "$tmp/why")" >&2
        echo "skipped $s: $(cat "$tmp/why")" >>"$tmp/skipped"
    fi
done
[ ${#servers[@]} -gt 0 ] || die "no server to run"
wrk_tests=()
do_idle=false
for t in $TESTS; do
    case $t in
    plaintext | json | pipeline | c1000) wrk_tests+=("$t") ;;
    idle) do_idle=true ;;
    *) die "unknown test $t" ;;
    esac
done

start_date=$(date -u '+%Y-%m-%d %H:%M UTC')
start_load=$(cut -d' ' -f1-3 /proc/loadavg)
echo "http.sh: $ROUNDS rounds of ${servers[*]}; progress on stderr, raw lines in $RAW" >&2
for ((r = 1; r <= ROUNDS; r++)); do
    for i in "${!servers[@]}"; do
        s=${servers[$i]}
        port=$((PORT_BASE + r * 40 + i * 2))
        echo "round $r/$ROUNDS: $s (port $port)" >&2
        if [ ${#wrk_tests[@]} -gt 0 ]; then
            start_server "$s" "$port"
            taskset -c "$WRK_CPU" wrk -t1 -c"$CONNS" -d2s "http://127.0.0.1:$port/plaintext" \
                >/dev/null 2>&1 || true # warm-up: caches, lazy allocations, Python's first calls
            for t in "${wrk_tests[@]}"; do
                sleep 1
                wrk_test "$s" "$t" "$port" "$r"
            done
            stop_pid "$SRV_PID"
        fi
        if $do_idle && [ "$s" != corio_w2 ]; then
            sleep 1
            idle_test "$s" $((port + 1)) "$r"
        fi
    done
done
end_load=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- the report -----------------------------------------------------------------------------

median() { # SERVER TEST METRIC: median of the rounds, or "-"
    local f="$tmp/res/$1.$2.$3"
    [ -s "$f" ] || { echo "-"; return; }
    awk '$1 != "-"' "$f" | sort -g | awk '{v[NR] = $1} END {
        if (NR == 0) print "-"; else if (NR % 2) print v[(NR + 1) / 2];
        else printf "%.6g\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
total() { # SERVER TEST METRIC: sum over the rounds
    local f="$tmp/res/$1.$2.$3"
    [ -s "$f" ] || { echo "-"; return; }
    awk '{ n += $1 } END { print n }' "$f"
}
ratio() { # A B -> A/B with 2 decimals, or "-"
    awk -v a="$1" -v b="$2" 'BEGIN {
        if (a == "-" || b == "-" || b == 0) print "-"; else printf "%.2f\n", a / b }'
}
has() { # SERVER: was it run?
    local s
    for s in "${servers[@]}"; do [ "$s" = "$1" ] && return 0; done
    return 1
}

cpu_model=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
echo
echo "date: $start_date"
echo "machine: $(uname -m), $(nproc) CPUs, $cpu_model, kernel $(uname -r)"
echo "wrk $(wrk -v 2>&1 | awk 'NR == 1 {print $2}') pinned to CPU $WRK_CPU, servers to CPU" \
    "$SERVER_CPU (corio_w2: CPUs $W2_CPUS); $ROUNDS interleaved rounds, medians;" \
    "${DURATION} s per run; descriptor limit $FD_LIMIT; niceness $NICE; chrt ${CHRT:-none}"
echo "load average: $start_load at start, $end_load at end"
[ -f "$tmp/skipped" ] && sed 's/^/note: /' "$tmp/skipped"
echo

test_title() {
    case $1 in
    plaintext) echo "keep-alive /plaintext, $CONNS conns" ;;
    json) echo "keep-alive /json, $CONNS conns" ;;
    pipeline) echo "pipelined /plaintext, depth $DEPTH, $CONNS conns" ;;
    c1000) echo "/plaintext, $BIG_CONNS conns" ;;
    esac
}

if [ ${#wrk_tests[@]} -gt 0 ]; then
    echo "| test | server | req/s | x ceiling | p99 ms | CPU us/req | errors | others % |"
    echo "|---|---|--:|--:|--:|--:|--:|--:|"
    for t in "${wrk_tests[@]}"; do
        c=$(median ceiling "$t" rps)
        for s in "${servers[@]}"; do
            rps=$(median "$s" "$t" rps)
            printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' "$(test_title "$t")" "$s" \
                "$(awk -v v="$rps" 'BEGIN { if (v == "-") print v; else printf "%.0f", v }')" \
                "$(ratio "$rps" "$c")" "$(median "$s" "$t" p99_ms)" "$(median "$s" "$t" cpu_us)" \
                "$(total "$s" "$t" errors)" "$(median "$s" "$t" others)"
        done
    done
    echo "(errors: wrk's socket errors and non-2xx responses, summed over the rounds; others %:"
    echo "the share of CPU $SERVER_CPU that was busy during the run but not with the server: other"
    echo "processes, interrupts not charged to it, hypervisor steal; median over the rounds)"
    echo
fi

if $do_idle; then
    echo "| server | RSS KiB before | RSS KiB with $IDLE_CONNS idle conns | KiB per conn |"
    echo "|---|--:|--:|--:|"
    for s in "${servers[@]}"; do
        [ "$s" = corio_w2 ] && continue
        printf '| %s | %s | %s | %s |\n' "$s" "$(median "$s" idle rss0_kib)" \
            "$(median "$s" idle rss1_kib)" "$(median "$s" idle kib_per_conn)"
    done
    echo
fi

if has corio && has corio_w2 && [ ${#wrk_tests[@]} -gt 0 ]; then
    echo "Scaling: corio --workers 2 (CPUs $W2_CPUS, sharing CPU $WRK_CPU with wrk) against" \
        "--workers 1 (CPU $SERVER_CPU)"
    echo
    echo "| test | w1 req/s | w2 req/s | w2/w1 | w1 CPU us/req | w2 CPU us/req |"
    echo "|---|--:|--:|--:|--:|--:|"
    for t in "${wrk_tests[@]}"; do
        a=$(median corio "$t" rps)
        b=$(median corio_w2 "$t" rps)
        printf '| %s | %s | %s | %s | %s | %s |\n' "$(test_title "$t")" "$a" "$b" \
            "$(ratio "$b" "$a")" "$(median corio "$t" cpu_us)" "$(median corio_w2 "$t" cpu_us)"
    done
    echo
fi

echo "Commands (\$PORT: a fresh port per server and round; \$TMP: the run's temporary directory):"
echo
echo '```'
for s in "${servers[@]}"; do
    echo "$s: ${shown_cmd[$s]:-}"
done
has go &&
    echo "go build: cd \$TMP/go/src && GOPATH=\$TMP/go/path GOCACHE=\$TMP/go/cache" \
        "GO111MODULE=off GOFLAGS= GOPROXY=off go build -o \$TMP/go/go_server main.go" \
        "(main.go = bench/peers/go_server.go)"
for t in "${wrk_tests[@]}"; do
    echo "$t: ${test_cmd[$t]:-}"
done
if $do_idle; then
    echo "idle: $PYTHON bench/http_idle.py \$PORT $IDLE_CONNS   (VmRSS of the server's process" \
        "tree before it, and 2 s after it prints ready)"
fi
echo "CPU per request: utime+stime of the server's process tree (/proc/<pid>/stat, all" \
    "threads) after minus before the wrk run, divided by wrk's request count"
echo '```'
echo

for s in "${servers[@]}"; do
    for t in "${wrk_tests[@]}"; do
        echo "http.$s.$t.rps $(median "$s" "$t" rps)"
        echo "http.$s.$t.p99_ms $(median "$s" "$t" p99_ms)"
        echo "http.$s.$t.cpu_us_per_req $(median "$s" "$t" cpu_us)"
        has ceiling && echo "http.$s.$t.x_ceiling $(ratio "$(median "$s" "$t" rps)" \
            "$(median ceiling "$t" rps)")"
    done
    if $do_idle && [ "$s" != corio_w2 ]; then
        echo "http.$s.idle.kib_per_conn $(median "$s" idle kib_per_conn)"
    fi
done
