# corio: thin wrapper around CMake; the build itself is described in CMakeLists.txt.
#
#   make            release build in build/release (Ninja when installed)
#   make run        install deps, build, start corio-demo (ARGS="--port 9000" passes flags)
#   make test       install deps; ASan+UBSan suite, TSan on the `threads` label, clang -Werror build
#   make deps       install the Debian packages in scripts/deps.txt (as root) or name them
#   make bench      run every bench_* binary;  make bench-core: bench/core.sh
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

.PHONY: all release deps bench-deps run test test-asan test-tsan test-clang bench bench-core \
        fuzz clean format

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

bench: bench-deps
	$(call cmake_build,$(BUILD)/release,$(RELEASE_ARGS))
	shopt -s nullglob; benches=($(BUILD)/release/bench_*); \
	if [ $${#benches[@]} -eq 0 ]; then echo "no benchmarks in bench/ yet"; exit 0; fi; \
	for b in "$${benches[@]}"; do echo "== $$b"; "$$b"; done

bench-core: bench-deps
	$(call cmake_build,$(BUILD)/release,$(RELEASE_ARGS))
	if [ -f bench/core.sh ]; then BUILD_DIR=$(BUILD)/release bash bench/core.sh; \
	else echo "bench/core.sh does not exist yet"; fi

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
