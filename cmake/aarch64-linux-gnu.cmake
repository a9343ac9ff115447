# SPDX-License-Identifier: MIT
# CMake toolchain file: cross-compile corio for 64-bit Arm Linux with the Debian cross toolchain
# and run the tests under qemu user-mode emulation, so the AArch64 context switch
# (src/core/ctx_aarch64.S) is exercised on an x86-64 machine. Packages: scripts/deps-aarch64.txt.
#
#   cmake -S . -B build/aarch64 -G Ninja -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake \
#         -DCORIO_BENCH=OFF && ninja -C build/aarch64 && ctest --test-dir build/aarch64
#
# ctest prefixes CMAKE_CROSSCOMPILING_EMULATOR to every add_test() command that names a target,
# so no binfmt_misc registration (qemu-user-binfmt) is needed. Meant for plain builds: ASan does
# work under qemu-user, but so slowly that several tests pass ctest's 300 s limit, and
# LeakSanitizer does not (it needs ptrace, which qemu-user does not emulate).
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)

set(corio_cross aarch64-linux-gnu)
set(CMAKE_C_COMPILER ${corio_cross}-gcc)
set(CMAKE_ASM_COMPILER ${corio_cross}-gcc)

# Libraries: the cross toolchain's own sysroot (libc) and Debian multiarch arm64 packages
# (jansson, zlib: libjansson-dev:arm64 installs into /usr/lib/aarch64-linux-gnu). Re-rooting at /
# keeps those multiarch paths while CMAKE_LIBRARY_ARCHITECTURE, which CMake reads from the
# compiler, keeps the host's x86-64 libraries out. Programs (cmake, ninja) come from the host.
set(CMAKE_FIND_ROOT_PATH /usr/${corio_cross} /)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# The host pkg-config, pointed at the arm64 .pc files only, so that it needs no cross wrapper
# (aarch64-linux-gnu-pkg-config).
set(ENV{PKG_CONFIG_LIBDIR} /usr/lib/${corio_cross}/pkgconfig:/usr/share/pkgconfig)
set(ENV{PKG_CONFIG_PATH} "")

# qemu's -L prefix is where the guest's dynamic loader and libraries are looked up first. The
# loader and libc must come from the same glibc build: the cross sysroot's ld.so searches
# /lib/aarch64-linux-gnu before its own directory, so with the multiarch libc6:arm64 installed
# (it comes with libjansson-dev:arm64) it would load that libc, and the mismatched pair leaves
# every forked test child spinning. So: the multiarch glibc when present, else the cross sysroot.
if(EXISTS /lib/${corio_cross}/libc.so.6)
    set(corio_qemu_prefix /)
else()
    set(corio_qemu_prefix /usr/${corio_cross})
endif()
find_program(CORIO_QEMU_AARCH64 NAMES qemu-aarch64 qemu-aarch64-static REQUIRED)
set(CMAKE_CROSSCOMPILING_EMULATOR ${CORIO_QEMU_AARCH64} -L ${corio_qemu_prefix})
# Cached for scripts that run a program themselves (the Makefile's corio-demo wrapper).
set(CORIO_QEMU_PREFIX ${corio_qemu_prefix} CACHE INTERNAL "qemu-aarch64 -L prefix")
