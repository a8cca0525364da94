"""The in-process limit of an ASGI app: no server and no socket.

Usage: python asgi_callrate.py MODULE:APP METHOD BODY_BYTES SECONDS [uvloop|asyncio]

Runs the app on one event loop as one Task per request (as a server that
gives each request its own task does), each with a fresh HTTP scope, a
``receive`` that hands over the whole body in one message and a ``send``
that keeps nothing. Prints one JSON line: {"calls": N, "seconds": S,
"rate": N/S, "loop": ...}. No server running this app in one process on
this loop can pass that rate.
"""

import asyncio
import importlib
import json
import sys
import time

BATCH = 200  # requests between clock reads


def load_app(target):
    module_name, _, attr = target.partition(":")
    return getattr(importlib.import_module(module_name), attr or "app")


def make_scope(method, body):
    headers = [(b"host", b"127.0.0.1:8000")]
    if body:
        headers += [(b"content-type", b"application/octet-stream"),
                    (b"content-length", str(len(body)).encode())]
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": "/",
        "raw_path": b"/",
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }


async def one_request(app, method, body):
    message = {"type": "http.request", "body": body, "more_body": False}

    async def receive():
        return message

    async def send(_message):
        pass

    await app(make_scope(method, body), receive, send)


async def measure(app, method, body, seconds):
    loop = asyncio.get_running_loop()
    calls = 0
    start = time.perf_counter()
    deadline = start + seconds
    while True:
        for _ in range(BATCH):
            await loop.create_task(one_request(app, method, body))
        calls += BATCH
        now = time.perf_counter()
        if now >= deadline:
            return calls, now - start


def main(argv):
    target, method, body_bytes, seconds = argv[:4]
    loop_name = argv[4] if len(argv) > 4 else "uvloop"
    if loop_name == "uvloop":
        import uvloop
        loop = uvloop.new_event_loop()
    else:
        loop = asyncio.new_event_loop()
    app = load_app(target)
    body = b"x" * int(body_bytes)
    calls, elapsed = loop.run_until_complete(measure(app, method, body, float(seconds)))
    print(json.dumps({"calls": calls, "seconds": elapsed, "rate": calls / elapsed, "loop": loop_name}))


if __name__ == "__main__":
    main(sys.argv[1:])
