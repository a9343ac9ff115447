# SPDX-License-Identifier: MIT
"""bench/http_idle.py: the idle keep-alive client of bench/http.sh, for RSS per connection.

    python3 bench/http_idle.py PORT N [SOURCES]

Opens N keep-alive connections to 127.0.0.1:PORT, spread round-robin over SOURCES source
addresses 127.0.0.2, 127.0.0.3, ... (default 10, so no single source address runs short of
ephemeral ports), sends one `GET /plaintext` on each and reads its whole response (so the server
has really served every connection once), then prints `ready N` on stdout and keeps every
connection open, idle, until it is killed. bench/http.sh reads the server's VmRSS before the
first connection and a moment after `ready`.

Connections are opened in batches of 200: connect and send on each, then read the batch's
responses, so a slow server is not flooded and a fast one is not waited on one round trip at a
time. Any failure (refused, reset, a response that is not 200, 10 s without progress) prints one
line to stderr and exits 1. The caller raises the descriptor limit (ulimit -n): this script does
not, so a low limit shows up as an error here rather than being papered over.
"""
import socket
import sys
import time

BATCH = 200
REQUEST = b"GET /plaintext HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
# Linux: bind() picks no port yet, so the (source, port) pair is chosen at connect time and
# N connections need not fit one source's bind-time port space.
IP_BIND_ADDRESS_NO_PORT = getattr(socket, "IP_BIND_ADDRESS_NO_PORT", 24)


def read_response(s):
    """Reads one response with a Content-Length body; returns its status code."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = s.recv(4096)
        if not chunk:
            raise ConnectionError("closed before the response head")
        buf += chunk
    head, _, body = buf.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = s.recv(4096)
        if not chunk:
            raise ConnectionError("closed inside the response body")
        body += chunk
    return status


def main():
    port = int(sys.argv[1])
    n = int(sys.argv[2])
    sources = int(sys.argv[3]) if len(sys.argv) > 3 else 10
    conns = []
    try:
        for first in range(0, n, BATCH):
            batch = []
            for i in range(first, min(n, first + BATCH)):
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                s.settimeout(10)
                s.setsockopt(socket.IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, 1)
                s.bind(("127.0.0.%d" % (2 + i % sources), 0))
                s.connect(("127.0.0.1", port))
                s.sendall(REQUEST)
                batch.append(s)
            for s in batch:
                status = read_response(s)
                if status != 200:
                    raise ConnectionError("status %d" % status)
            conns.extend(batch)
    except (OSError, ValueError, IndexError) as e:
        print("http_idle.py: after %d of %d connections: %s" % (len(conns), n, e), file=sys.stderr)
        sys.exit(1)
    print("ready %d" % len(conns), flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
