"""A WSGI app for the HTTP/2 tests: each path shows one thing a stream
can do."""

import hashlib
import json
import threading

# Streams that must run at the same time meet here (see /barrier).
BARRIER = threading.Barrier(4)


def app(environ, start_response):
    route = environ["PATH_INFO"]
    handler = ROUTES.get(route, hello)
    return handler(environ, start_response)


def hello(environ, start_response):
    body = b"Hello, World!\n"
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


def environ_json(environ, start_response):
    keys = ("SERVER_PROTOCOL", "HTTP_HOST", "wsgi.url_scheme", "REQUEST_METHOD", "PATH_INFO",
            "QUERY_STRING", "CONTENT_LENGTH", "HTTP_COOKIE",
            "gunicorn.http2.priority_weight", "gunicorn.http2.priority_depends_on")
    body = json.dumps({k: environ.get(k) for k in keys}).encode()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body]


def digest(environ, start_response):
    """Reads the body in small pieces, as a streaming app does, and answers
    its length and SHA-256."""
    h, n = hashlib.sha256(), 0
    stream = environ["wsgi.input"]
    while True:
        chunk = stream.read(8192)
        if not chunk:
            break
        h.update(chunk)
        n += len(chunk)
    body = json.dumps({"length": n, "sha256": h.hexdigest()}).encode()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body]


def download(environ, start_response):
    """`?n` bytes, in 64 KiB blocks of a known pattern."""
    n = int(environ["QUERY_STRING"] or "0")
    start_response("200 OK", [("Content-Type", "application/octet-stream"),
                              ("Content-Length", str(n))])

    def blocks():
        sent = 0
        while sent < n:
            size = min(65536, n - sent)
            yield bytes((sent + i) % 251 for i in range(size))
            sent += size
    return blocks()


def barrier(environ, start_response):
    """Answers only once four requests are in it together: four streams
    of one connection must be served concurrently."""
    try:
        BARRIER.wait(timeout=10)
        status, body = "200 OK", b"met\n"
    except threading.BrokenBarrierError:
        BARRIER.reset()
        status, body = "503 Service Unavailable", b"alone\n"
    start_response(status, [("Content-Type", "text/plain")])
    return [body]


def endless(environ, start_response):
    """64 KiB blocks until the client goes away (at most 256 MiB)."""
    start_response("200 OK", [("Content-Type", "application/octet-stream")])

    def blocks():
        block = b"x" * 65536
        for _ in range(4096):
            yield block
    return blocks()


def fail_midway(environ, start_response):
    """An application error after the first body bytes went out."""
    start_response("200 OK", [("Content-Type", "text/plain")])

    def blocks():
        yield b"first part"
        raise RuntimeError("boom in the middle of the stream")
    return blocks()


ROUTES = {
    "/endless": endless,
    "/fail-midway": fail_midway,
    "/environ": environ_json,
    "/digest": digest,
    "/download": download,
    "/barrier": barrier,
}
