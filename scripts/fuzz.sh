#!/usr/bin/env bash
# scripts/fuzz.sh [BUILD_DIR] [SECONDS]: run every libFuzzer target BUILD_DIR/fuzz_<name>
# (default build/fuzz; `make fuzz` builds it) for SECONDS each (default $FUZZ_SECONDS or 60).
#
# fuzz/corpus/<name>/ seeds the run but is never written: new inputs go to
# BUILD_DIR/scratch/<name>/corpus and crashers to BUILD_DIR/scratch/<name>/artifacts/. A target
# dictionary is fuzz/<name>.dict or fuzz/dict/<name>.dict. To keep a crasher, copy it into
# fuzz/regress/<name>/, where the ordinary test run (ctest fuzz_regress_<name>) replays it.
set -euo pipefail
cd "$(dirname "$0")/.."

build=${1:-build/fuzz}
seconds=${2:-${FUZZ_SECONDS:-60}}
scratch=${FUZZ_SCRATCH:-$build/scratch}

shopt -s nullglob
targets=()
for bin in "$build"/fuzz_*; do
    case ${bin##*/} in fuzz_regress_*) continue ;; esac   # the replay programs, not fuzzers
    [ -x "$bin" ] && [ -f "$bin" ] && targets+=("$bin")
done
if [ ${#targets[@]} -eq 0 ]; then
    echo "fuzz: no fuzz targets in $build (add fuzz/<name>_fuzz.c)"
    exit 0
fi

failed=()
for bin in "${targets[@]}"; do
    name=${bin##*/fuzz_}
    mkdir -p "$scratch/$name/corpus" "$scratch/$name/artifacts"
    args=(-max_total_time="$seconds" -timeout="${FUZZ_INPUT_TIMEOUT:-10}" -print_final_stats=1
          -artifact_prefix="$scratch/$name/artifacts/")
    for dict in "fuzz/$name.dict" "fuzz/dict/$name.dict"; do
        [ -f "$dict" ] && args+=(-dict="$dict") && break
    done
    dirs=("$scratch/$name/corpus")           # first directory: where libFuzzer writes
    [ -d "fuzz/corpus/$name" ] && dirs+=("fuzz/corpus/$name")
    [ -d "fuzz/regress/$name" ] && dirs+=("fuzz/regress/$name")
    echo "== fuzz $name for ${seconds}s"
    if ! "$bin" "${args[@]}" "${dirs[@]}" </dev/null; then
        failed+=("$name")
        echo "fuzz: $name failed; crashers are in $scratch/$name/artifacts/" \
             "(copy them to fuzz/regress/$name/ to keep them as tests)" >&2
    fi
done
if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz: failing targets: ${failed[*]}" >&2
    exit 1
fi
echo "fuzz: ${#targets[@]} target(s) ran ${seconds}s each without findings"
