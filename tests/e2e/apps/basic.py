"""WSGI apps for the end-to-end tests. Each path exercises one feature."""

import json
import os
import sys
import time


def app(environ, start_response):
    # Route on the first path segment so tests can add to the path.
    route = "/" + environ["PATH_INFO"].split("/")[1]
    handler = ROUTES.get(route, hello)
    return handler(environ, start_response)


def hello(environ, start_response):
    body = b"Hello, World!\n"
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


def environ_json(environ, start_response):
    data = {k: v for k, v in environ.items() if isinstance(v, (str, bool, int, tuple))}
    data["wsgi.input.type"] = type(environ["wsgi.input"]).__name__
    body = json.dumps(data).encode()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body]


def echo(environ, start_response):
    body = environ["wsgi.input"].read()
    start_response("200 OK", [("Content-Type", "application/octet-stream")])
    return [body]


def count(environ, start_response):
    """Reads the body in pieces and answers with its size: large uploads
    stream through without being held in memory."""
    stream = environ["wsgi.input"]
    total = 0
    while True:
        block = stream.read(65536)
        if not block:
            break
        total += len(block)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [str(total).encode()]


def lines(environ, start_response):
    stream = environ["wsgi.input"]
    first = stream.readline()
    limited = stream.readline(3)
    rest = list(stream)
    body = json.dumps([first.decode(), limited.decode(), [r.decode() for r in rest]]).encode()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body]


def stream_response(environ, start_response):
    """A streamed response with no length: chunked on HTTP/1.1."""
    start_response("200 OK", [("Content-Type", "text/plain")])

    def generate():
        for i in range(5):
            yield b"part %d\n" % i

    return generate()


def big(environ, start_response):
    size = int(environ.get("QUERY_STRING") or 10_000_000)
    block = b"x" * 65536
    start_response("200 OK", [("Content-Type", "application/octet-stream"), ("Content-Length", str(size))])

    def generate():
        left = size
        while left:
            n = min(left, len(block))
            left -= n
            yield block[:n]

    return generate()


def writer(environ, start_response):
    write = start_response("200 OK", [("Content-Type", "text/plain")])
    write(b"written ")
    return [b"and returned"]


def crash_before(environ, start_response):
    raise RuntimeError("boom before the response")


def crash_after(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])

    def generate():
        yield b"first part"
        raise RuntimeError("boom in the middle of the body")

    return generate()


def sleep(environ, start_response):
    print(f"sleep started in {os.getpid()}", file=sys.stderr, flush=True)
    time.sleep(float(environ.get("QUERY_STRING") or 1))
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"slept"]


def pid(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [str(os.getpid()).encode()]


def file_wrapper(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return environ["wsgi.file_wrapper"](open(__file__, "rb"), 1024)


def file_wrapper_from_offset(environ, start_response):
    """The app has read the first 100 bytes: only the rest is the body."""
    f = open(__file__, "rb")
    f.read(100)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return environ["wsgi.file_wrapper"](f)


def file_wrapper_with_length(environ, start_response):
    """A Content-Length shorter than the file cuts the body at that length."""
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "50")])
    return environ["wsgi.file_wrapper"](open(__file__, "rb"))


def body_with_length(environ, start_response):
    """A body longer than its Content-Length is cut at that length."""
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "5")])
    return [b"hello", b" world"]


class ClosingBody:
    closed = []

    def __init__(self):
        self.items = [b"a", b"b"]

    def __iter__(self):
        return iter(self.items)

    def close(self):
        print("result.close() called", file=sys.stderr, flush=True)


def closing(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return ClosingBody()


def bad_header(environ, start_response):
    start_response("200 OK", [("X-Bad", "line\r\nInjected: yes")])
    return [b"never"]


def errors(environ, start_response):
    environ["wsgi.errors"].write("a message for wsgi.errors\n")
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]


def osenv(environ, start_response):
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps(dict(os.environ)).encode()]


def input_elsewhere(environ, start_response):
    """Reads wsgi.input from another thread: refused with an error naming
    the mistake, never a read of some other request's body."""
    import threading

    outcome = []

    def read():
        try:
            outcome.append(repr(environ["wsgi.input"].read()))
        except OSError as e:
            outcome.append(str(e))

    t = threading.Thread(target=read)
    t.start()
    t.join()
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [outcome[0].encode(), b" | ", environ["wsgi.input"].read()]


def hog_gil(environ, start_response):
    """Holds the GIL for a while: a C call made through ctypes.PyDLL keeps
    it, so no other thread of the process can run Python meanwhile."""
    import ctypes

    seconds = int(environ.get("QUERY_STRING") or 10)
    print(f"hogging the GIL in {os.getpid()}", file=sys.stderr, flush=True)
    ctypes.PyDLL(None).sleep(seconds)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"done"]


def prints(environ, start_response):
    """Writes to stdout and stderr as an application's print() does."""
    print("printed by the app", flush=True)
    print("to stderr by the app", file=sys.stderr, flush=True)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"printed"]


def gated(environ, start_response):
    """A small piece, then another only once the file named by the query
    exists (or 10 s have passed): the client must get the first before the
    second is made. `/gated-write` sends them with write()."""
    gate = environ["QUERY_STRING"]

    def wait_for_gate():
        deadline = time.monotonic() + 10
        while not os.path.exists(gate) and time.monotonic() < deadline:
            time.sleep(0.01)

    if environ["PATH_INFO"] == "/gated-write":
        write = start_response("200 OK", [("Content-Type", "text/plain")])
        write(b"first\n")
        wait_for_gate()
        write(b"second\n")
        return []
    start_response("200 OK", [("Content-Type", "text/plain")])

    def generate():
        yield b"first\n"
        wait_for_gate()
        yield b"second\n"

    return generate()


ROUTES = {
    "/gated": gated,
    "/gated-write": gated,
    "/print": prints,
    "/hog-gil": hog_gil,
    "/input-elsewhere": input_elsewhere,
    "/osenv": osenv,
    "/environ": environ_json,
    "/echo": echo,
    "/count": count,
    "/lines": lines,
    "/stream": stream_response,
    "/big": big,
    "/writer": writer,
    "/crash-before": crash_before,
    "/crash-after": crash_after,
    "/sleep": sleep,
    "/pid": pid,
    "/file": file_wrapper,
    "/file-from-offset": file_wrapper_from_offset,
    "/file-with-length": file_wrapper_with_length,
    "/body-with-length": body_with_length,
    "/closing": closing,
    "/bad-header": bad_header,
    "/errors": errors,
}
