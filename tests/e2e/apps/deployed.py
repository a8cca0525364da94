"""The application the deployment guides' tests serve: what a proxy
forwarded, a response streamed in two pieces, slow requests, and a worker
that leaves an orphan behind (as an app that spawns a daemon does)."""

import json
import os
import sys
import time
import urllib.parse

from basic import hello, sleep

GATE_TIMEOUT = 10.0


def app(environ, start_response):
    route = "/" + environ["PATH_INFO"].split("/")[1]
    return ROUTES.get(route, hello)(environ, start_response)


def forwarded(environ, start_response):
    """What reached the application of the client and the proxy."""
    keys = ("REMOTE_ADDR", "REMOTE_PORT", "HTTP_HOST", "HTTP_X_FORWARDED_FOR",
            "HTTP_X_FORWARDED_PROTO", "wsgi.url_scheme")
    body = json.dumps({k: environ.get(k) for k in keys}).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


def wait_for_gate(path):
    """Waits, boundedly, until the test creates `path`."""
    deadline = time.monotonic() + GATE_TIMEOUT
    while not os.path.exists(path) and time.monotonic() < deadline:
        time.sleep(0.01)


def gated_stream(environ, start_response):
    """Sends a first piece of `size` bytes, then the second only once the
    file `gate` exists (both from the query string): the client sees the
    first piece before the second only if nothing on the way holds the
    response back."""
    query = urllib.parse.parse_qs(environ["QUERY_STRING"])
    gate, size = query["gate"][0], int(query["size"][0])
    start_response("200 OK", [("Content-Type", "text/plain")])

    def pieces():
        yield b"f" * (size - 1) + b"\n"
        wait_for_gate(gate)
        yield b"second piece\n"

    return pieces()


def double_fork(environ, start_response):
    """Forks a child that forks a grandchild and exits at once: the
    grandchild is re-parented to the namespace's init (or nearest
    subreaper), waits for the file named in the query string, and exits.
    Answers with the grandchild's pid as this process sees it."""
    gate = environ["QUERY_STRING"]
    read_end, write_end = os.pipe()
    child = os.fork()
    if child == 0:
        grandchild = os.fork()
        if grandchild == 0:
            # Hold none of the worker's sockets, so its connections end
            # when the worker ends them.
            os.closerange(3, 65536)
            wait_for_gate(gate)
            os._exit(0)
        os.write(write_end, str(grandchild).encode())
        os._exit(0)
    os.close(write_end)
    os.waitpid(child, 0)
    pid = os.read(read_end, 64)
    os.close(read_end)
    print(f"left orphan {pid.decode()}", file=sys.stderr, flush=True)
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(pid)))])
    return [pid]


ROUTES = {
    "/forwarded": forwarded,
    "/stream": gated_stream,
    "/sleep": sleep,
    "/double-fork": double_fork,
}
