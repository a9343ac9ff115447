# corio: thin wrapper around CMake; the build itself is described in CMakeLists.txt.
#
#   make            release build in build/release (Ninja when installed)
#   make run        install deps, build, start corio-demo (ARGS="--port 9000" passes flags)
#   make test       install deps; ASan+UBSan suite, TSan on the `threads` label, clang -Werror build
#   make deps       install the Debian packages in scripts/deps.txt (as root) or name them
#   make test-aarch64  cross build for aarch64 in build/aarch64, unit tests under qemu-user
#   make bench      run every bench_* binary;  make bench-core: bench/core.sh
#   make bench-http bench/http.sh: corio-demo against nginx, Go, aiohttp, uvicorn (ROUNDS=...)
#   make fuzz       libFuzzer build in build/fuzz, each target for FUZZ_SECONDS (default 60)
#   make format     clang-format -i over the C sources;  make clean: rm -rf build
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := all
.DELETE_ON_ERROR:

BUILD ?= build
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
TEST_JOBS ?= 2
FUZZ_SECONDS ?= 60
ARGS ?=

# `make CC=clang ...` picks the compiler of the release and sanitizer builds.
CC_ARG := $(if $(filter default,$(origin CC)),,-DCMAKE_C_COMPILER=$(CC))

# Sanitizer runtime settings, used for the sanitizer test runs and fuzzing.
ASAN_OPTIONS ?= detect_leaks=1:abort_on_error=1:check_initialization_order=1:strict_string_checks=1
UBSAN_OPTIONS ?= print_stacktrace=1:halt_on_error=1
TSAN_OPTIONS ?= halt_on_error=1:second_deadlock_stack=1
SAN_ENV = ASAN_OPTIONS='$(ASAN_OPTIONS)' UBSAN_OPTIONS='$(UBSAN_OPTIONS)' \
          TSAN_OPTIONS='$(TSAN_OPTIONS)' CORIO_TEST_TIMEOUT_MULT=$${CORIO_TEST_TIMEOUT_MULT:-3}

# $(call cmake_build,<dir>,<cmake arguments>[,<build arguments>]): configure <dir> (choosing the generator only the
# first time, since CMake refuses to switch later) and build it.
define cmake_build
	gen=(); if [ ! -f $(1)/CMakeCache.txt ]; then \
	    if command -v ninja >/dev/null; then gen=(-G Ninja); else gen=(-G "Unix Makefiles"); fi; \
	fi; \
	cmake -S . -B $(1) "$${gen[@]}" $(2)
	cmake --build $(1) -j $(JOBS) $(3)
endef

RELEASE_ARGS := -DCMAKE_BUILD_TYPE=Release $(CC_ARG)
# Sanitizer builds keep assertions (no NDEBUG) and use -O1, the sanitizers' usual level.
SAN_ARGS := -DCMAKE_BUILD_TYPE=Debug '-DCMAKE_C_FLAGS_DEBUG=-O1 -g' -DCORIO_BENCH=OFF $(CC_ARG)

.PHONY: all release deps bench-deps run test test-asan test-tsan test-clang test-aarch64 bench \
        bench-core bench-http fuzz clean format

all: release

release:
	$(call cmake_build,$(BUILD)/release,$(RELEASE_ARGS))

deps:
	scripts/deps.sh

bench-deps: deps
	scripts/deps.sh scripts/deps-bench.txt

run: deps
	$(call cmake_build,$(BUILD)/release,$(RELEASE_ARGS))
	if [ -x $(BUILD)/release/corio-demo ]; then \
	    exec $(BUILD)/release/corio-demo $(ARGS); \
	fi; \
	echo "corio-demo is not built yet"; \
	if [ -x $(BUILD)/release/example_hello ]; then exec $(BUILD)/release/example_hello $(ARGS); fi

# The three stages run in order inside one recipe, so `make -j test` cannot interleave them.
test: deps
	$(call cmake_build,$(BUILD)/asan,$(SAN_ARGS) -DCORIO_SANITIZE=address)
	$(SAN_ENV) ctest --test-dir $(BUILD)/asan --output-on-failure -j$(TEST_JOBS)
	$(call cmake_build,$(BUILD)/tsan,$(SAN_ARGS) -DCORIO_SANITIZE=thread)
	$(SAN_ENV) ctest --test-dir $(BUILD)/tsan -L threads --output-on-failure --no-tests=ignore
	$(call cmake_build,$(BUILD)/clang,-DCMAKE_BUILD_TYPE=Release -DCMAKE_C_COMPILER=clang)

# Single stages, without the deps check, for iterating.
test-asan:
	$(call cmake_build,$(BUILD)/asan,$(SAN_ARGS) -DCORIO_SANITIZE=address)
	$(SAN_ENV) ctest --test-dir $(BUILD)/asan --output-on-failure -j$(TEST_JOBS)
test-tsan:
	$(call cmake_build,$(BUILD)/tsan,$(SAN_ARGS) -DCORIO_SANITIZE=thread)
	$(SAN_ENV) ctest --test-dir $(BUILD)/tsan -L threads --output-on-failure --no-tests=ignore
test-clang:
	$(call cmake_build,$(BUILD)/clang,-DCMAKE_BUILD_TYPE=Release -DCMAKE_C_COMPILER=clang)

# The AArch64 context switch (src/core/ctx_aarch64.S) on an x86-64 machine: a cross build whose
# tests ctest runs under qemu-aarch64 (cmake/aarch64-linux-gnu.cmake); the toolchain file picks
# the compiler, so CC does not apply. Not part of `make test`.
# Emulation is slower, hence the larger timeout multiplier. No test is excluded: every unit test
# passes under qemu-user 7.2 (epoll, the emulated signalfd, the guard-page SIGSEGV report on the
# alternate signal stack, the watchdog thread). One needs help: test_apps_demo execs corio-demo,
# an arm64 program the kernel cannot start without a binfmt_misc registration, so it is handed
# a wrapper script that starts it under qemu (CORIO_DEMO_BIN). A test that cannot run under qemu
# goes in QEMU_EXCLUDE (a ctest -E regex) with its reason here. Note that qemu does not fault on
# a misaligned sp as Arm hardware does; test_core_ctx checks the alignment explicitly.
QEMU_EXCLUDE ?=
# The toolchain file counts only on the first configure; CMake warns if it is passed again.
AARCH64_TOOLCHAIN = $(if $(wildcard $(BUILD)/aarch64/CMakeCache.txt),,\
                    -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake)
test-aarch64: deps
	dpkg --print-foreign-architectures | grep -qx arm64 || { \
	    if [ "$$(id -u)" -eq 0 ]; then dpkg --add-architecture arm64; \
	    else echo "corio: run: sudo dpkg --add-architecture arm64" >&2; exit 1; fi; }
	scripts/deps.sh scripts/deps-aarch64.txt
	$(call cmake_build,$(BUILD)/aarch64,$(AARCH64_TOOLCHAIN) -DCMAKE_BUILD_TYPE=Release \
	    -DCORIO_BENCH=OFF)
	dir=$$(cd $(BUILD)/aarch64 && pwd); \
	qemu=$$(sed -n 's/^CORIO_QEMU_AARCH64:FILEPATH=//p' $$dir/CMakeCache.txt); \
	prefix=$$(sed -n 's/^CORIO_QEMU_PREFIX:INTERNAL=//p' $$dir/CMakeCache.txt); \
	printf '#!/bin/sh\nexec %s -L %s %s "$$@"\n' "$$qemu" "$$prefix" "$$dir/corio-demo" \
	    >$$dir/corio-demo.qemu; \
	chmod +x $$dir/corio-demo.qemu; \
	CORIO_DEMO_BIN=$$dir/corio-demo.qemu CORIO_TEST_TIMEOUT_MULT=$${CORIO_TEST_TIMEOUT_MULT:-4} \
	    ctest --test-dir $$dir --output-on-failure -j$(TEST_JOBS) \
	    $(if $(QEMU_EXCLUDE),-E '$(QEMU_EXCLUDE)')

bench: bench-deps
	$(call cmake_build,$(BUILD)/release,$(RELEASE_ARGS))
	shopt -s nullglob; benches=($(BUILD)/release/bench_*); \
	if [ $${#benches[@]} -eq 0 ]; then echo "no benchmarks in bench/ yet"; exit 0; fi; \
	for b in "$${benches[@]}"; do echo "== $$b"; "$$b"; done

bench-core: bench-deps
	$(call cmake_build,$(BUILD)/release,$(RELEASE_ARGS))
	if [ -f bench/core.sh ]; then BUILD_DIR=$(BUILD)/release bash bench/core.sh; \
	else echo "bench/core.sh does not exist yet"; fi

# The environment passes through to bench/http.sh (ROUNDS, DURATION, SERVERS, TESTS, ...).
bench-http: bench-deps
	$(call cmake_build,$(BUILD)/release,$(RELEASE_ARGS))
	BUILD_DIR=$(BUILD)/release bash bench/http.sh

fuzz: deps
	$(call cmake_build,$(BUILD)/fuzz,-DCMAKE_BUILD_TYPE=Release -DCMAKE_C_COMPILER=clang \
	    -DCORIO_FUZZ=ON -DCORIO_BENCH=OFF,--target corio_fuzzers)
	ASAN_OPTIONS='$(ASAN_OPTIONS)' UBSAN_OPTIONS='$(UBSAN_OPTIONS)' \
	    scripts/fuzz.sh $(BUILD)/fuzz $(FUZZ_SECONDS)

FORMAT_DIRS = $(wildcard src include tests bench fuzz examples apps)
format:
	command -v clang-format >/dev/null || { echo "clang-format is not installed"; exit 1; }
	$(if $(FORMAT_DIRS),find $(FORMAT_DIRS) -name '*.[ch]' -print0 | xargs -0 -r clang-format -i)

clean:
	rm -rf $(BUILD)
