"""Pure-Python call rate of a WSGI app, with no server and no socket.

Usage: python callrate.py MODULE:APP METHOD BODY_BYTES SECONDS

Calls the app in a loop, each call with a fresh minimal environ (as a server
would build one per request), a no-op start_response, and the body consumed
and closed. Prints one JSON line: {"calls": N, "seconds": S, "rate": N/S}.
The rate is the ceiling no server running this app in one process can pass.
"""

import importlib
import io
import json
import sys
import time

BATCH = 200  # calls between clock reads, so reading the clock costs little


def load_app(target):
    module_name, _, attr = target.partition(":")
    return getattr(importlib.import_module(module_name), attr or "app")


def make_environ(method, body):
    # A new dict and a new input stream per call: servers build both per request.
    return {
        "REQUEST_METHOD": method,
        "SCRIPT_NAME": "",
        "PATH_INFO": "/",
        "QUERY_STRING": "",
        "CONTENT_TYPE": "application/octet-stream" if body else "",
        "CONTENT_LENGTH": str(len(body)) if body else "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "127.0.0.1:8000",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }


def start_response(status, headers, exc_info=None):
    return lambda data: None


def call_once(app, method, body):
    result = app(make_environ(method, body), start_response)
    try:
        for _chunk in result:
            pass
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()


def measure(app, method, body, seconds):
    calls = 0
    start = time.perf_counter()
    deadline = start + seconds
    now = start
    while now < deadline:
        for _ in range(BATCH):
            call_once(app, method, body)
        calls += BATCH
        now = time.perf_counter()
    return calls, now - start


def main():
    target, method, body_bytes, seconds = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    app = load_app(target)
    body = b"x" * body_bytes
    call_once(app, method, body)  # first call outside the timing: imports, lazy setup
    calls, elapsed = measure(app, method, body, seconds)
    print(json.dumps({"calls": calls, "seconds": elapsed, "rate": calls / elapsed}))


if __name__ == "__main__":
    main()
