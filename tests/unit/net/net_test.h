/* SPDX-License-Identifier: MIT */
/* tests/unit/net/net_test.h: shared helpers of the net tests: run options, connected TCP
 * stream pairs on 127.0.0.1, and a deterministic byte pattern for checking bulk transfers.
 *
 * VT runs use virtual time: only where every peer is a task of the same loop (the kernel only
 * carries bytes between them). RT runs use real time with generous deadlines and never assert
 * on durations.
 */
#ifndef CORIO_TESTS_NET_TEST_H
#define CORIO_TESTS_NET_TEST_H

#include "test.h"

#include "corio/core.h"
#include "corio/net.h"

#include <errno.h>
#include <stdint.h>

static const struct corio_run_opts NET_VT = {.virtual_time = true, .watchdog_ns = -1};
static const struct corio_run_opts NET_RT = {.watchdog_ns = -1};

#define RUN_VT(fn, arg) ASSERT_EQ(corio_run(&NET_VT, (fn), (arg)), 0)
#define RUN_RT(fn, arg) ASSERT_EQ(corio_run(&NET_RT, (fn), (arg)), 0)

/* A connected pair of raw TCP fds on 127.0.0.1 (the listener is closed again). */
static inline void tcp_fd_pair(int *client, int *server)
{
    corio_listener *l;
    ASSERT_EQ(corio_tcp_listen("127.0.0.1", 0, NULL, &l), 0);
    *client = corio_tcp_connect("127.0.0.1", corio_listener_port(l), NULL);
    ASSERT_GE(*client, 0);
    *server = corio_accept(l, NULL);
    ASSERT_GE(*server, 0);
    corio_listener_close(l);
}

/* The same wrapped in streams with options o (may be NULL). */
static inline void tcp_pair(const struct corio_stream_opts *o, corio_stream **client,
                            corio_stream **server)
{
    int c, s;
    tcp_fd_pair(&c, &s);
    ASSERT_EQ(corio_stream_open(c, o, client), 0);
    ASSERT_EQ(corio_stream_open(s, o, server), 0);
}

/* Byte k of the test pattern: not periodic on any buffer size used here. */
static inline uint8_t pattern_at(uint64_t k)
{
    return (uint8_t)((k * 2654435761u) >> 13 ^ k);
}

static inline void pattern_fill(uint8_t *p, size_t n, uint64_t from)
{
    for (size_t i = 0; i < n; i++)
        p[i] = pattern_at(from + i);
}

/* Index of the first byte of p that differs from the pattern at from, or n. */
static inline size_t pattern_check(const uint8_t *p, size_t n, uint64_t from)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != pattern_at(from + i))
            return i;
    return n;
}

#endif
