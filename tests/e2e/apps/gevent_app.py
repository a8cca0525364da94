"""A WSGI application for the gevent worker: requests that wait (sleeps,
an HTTP backend through `requests`) the way an I/O-bound app does."""

import os
import sys
import time

# The process that imported this module: the master with --preload.
LOADED_IN = os.getpid()


def _answer(start_response, body, status="200 OK"):
    if isinstance(body, str):
        body = body.encode()
    start_response(status, [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


def app(environ, start_response):
    path = environ["PATH_INFO"]
    query = environ.get("QUERY_STRING", "")
    if path == "/sleep":
        # Patched: time.sleep is gevent.sleep in this worker.
        time.sleep(float(query or "1"))
        return _answer(start_response, f"slept {os.getpid()}")
    if path == "/loaded":
        return _answer(start_response, f"{LOADED_IN} {os.getpid()}")
    if path == "/patched":
        from gevent import monkey

        names = ("socket", "time", "threading", "ssl")
        return _answer(start_response, " ".join(n for n in names if monkey.is_module_patched(n)))
    if path == "/backend":
        import requests

        r = requests.get(query, timeout=10)
        return _answer(start_response, f"{r.status_code} {r.text}")
    if path == "/slow":
        print("slow request started", file=sys.stderr, flush=True)
        time.sleep(1.5)
        return _answer(start_response, "slow done")
    if path == "/echo":
        body = environ["wsgi.input"].read()
        return _answer(start_response, body)
    if path == "/read-within":
        # The application's own deadline on a body that does not come.
        import gevent

        try:
            with gevent.Timeout(float(query)):
                environ["wsgi.input"].read()
        except gevent.Timeout:
            return _answer(start_response, "gave up waiting for the body")
        return _answer(start_response, "read the body")
    if path == "/stream":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return (f"chunk {i}\n".encode() for i in range(int(query or "3")))
    if path == "/pid":
        return _answer(start_response, str(os.getpid()))
    return _answer(start_response, "ready")
