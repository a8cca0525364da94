"""A request that waits 10 ms, as an I/O-bound app waits on a database or a
backend: served by an asynchronous worker, the waits overlap (`time.sleep`
is gevent's once the worker has monkey-patched the standard library)."""

import time

BODY = b"Hello, World!"
HEADERS = [("Content-Type", "text/plain"), ("Content-Length", str(len(BODY)))]


def app(environ, start_response):
    time.sleep(0.01)
    start_response("200 OK", HEADERS)
    return [BODY]
