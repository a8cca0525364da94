"""Ten thousand idle websockets on one asgi worker: all accepted, the
memory each costs the worker (VmRSS from /proc, printed), and a fresh
client still served beside them. A few seconds: not a `load` test."""

import resource
import socket

import pytest
from websockets.sync.client import connect

from conftest import rss_kib

ASGI = ["-k", "asgi"]
SOCKETS = 10_000
BATCH = 500
HANDSHAKE = (b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
             b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")


def raise_nofile(needed):
    """Raises this process's open-file limit (rcorn, started after,
    inherits it); skips when the hard limit is too low."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < needed:
        pytest.skip(f"RLIMIT_NOFILE hard limit {hard} < {needed}")
    if soft != resource.RLIM_INFINITY and soft < needed:
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))
    return soft, hard


def upgraded(s):
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = s.recv(4096)
        assert chunk, f"closed before the handshake's answer: {head!r}"
        head += chunk
    assert head.startswith(b"HTTP/1.1 101 "), head


def open_idle(port, n):
    """`n` websockets past the handshake, opened in batches so the
    listen backlog never overflows."""
    socks = []
    while len(socks) < n:
        batch = [socket.create_connection(("127.0.0.1", port), timeout=30)
                 for _ in range(min(BATCH, n - len(socks)))]
        for s in batch:
            s.sendall(HANDSHAKE)
        for s in batch:
            upgraded(s)
        socks.extend(batch)
    return socks


def test_ten_thousand_idle_websockets_on_one_worker(serve):
    limits = raise_nofile(SOCKETS + 2_000)
    socks = []
    try:
        server = serve([*ASGI, "asgi_ws:app", "--worker-connections", str(SOCKETS + 100),
                        "--ws-ping-interval", "300"])
        (worker,) = server.workers()
        # Warm: the first websocket loads what every later one shares.
        socks = open_idle(server.port, 10)
        before = rss_kib(worker)
        socks += open_idle(server.port, SOCKETS - 10)
        after = rss_kib(worker)
        per_socket = (after - before) * 1024 / (SOCKETS - 10)
        print(f"\n{SOCKETS} idle websockets: worker RSS {before} -> {after} KiB, "
              f"{per_socket / 1024:.1f} KiB each")
        assert per_socket < 64 * 1024
        with connect(f"ws://127.0.0.1:{server.port}/", open_timeout=10) as ws:
            ws.send("still served")
            assert ws.recv(timeout=10) == "still served"
        assert server.workers() == [worker]
    finally:
        for s in socks:
            s.close()
        resource.setrlimit(resource.RLIMIT_NOFILE, limits)
