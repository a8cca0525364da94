"""A WSGI app for gunicorn's environ callables beyond PEP 3333:
`wsgi.early_hints` (103 Early Hints) and `gunicorn.http2.send_trailers`."""

import json
import sys

LINKS = [("Link", "</style.css>; rel=preload; as=style"),
         (b"Link", b"</app.js>; rel=preload; as=script")]


def app(environ, start_response):
    return ROUTES.get(environ["PATH_INFO"], keys)(environ, start_response)


def keys(environ, start_response):
    """Which of the extra callables this request was offered."""
    body = json.dumps({k: callable(environ.get(k)) for k in
                       ("wsgi.early_hints", "gunicorn.http2.send_trailers")}).encode()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body]


def hints(environ, start_response):
    environ["wsgi.early_hints"](LINKS)
    environ["wsgi.early_hints"]([("Link", "</font.woff2>; rel=preload; as=font")])
    body = b"hinted\n"
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    # Still before the head is sent (the first body byte): sent, as
    # gunicorn sends it.
    environ["wsgi.early_hints"]([("Link", "</after-start.css>; rel=preload")])
    return [body]


def late_hints(environ, start_response):
    """A hint once the first body byte is out is dropped, as gunicorn does."""
    start_response("200 OK", [("Content-Type", "text/plain")])

    def blocks():
        yield b"first\n"
        environ["wsgi.early_hints"]([("Link", "</late.css>; rel=preload")])
        yield b"second\n"
    return blocks()


def replaced_after_hint(environ, start_response):
    """start_response with exc_info after a hint: the head that goes out is
    the second one, behind the hint."""
    start_response("200 OK", [("X-First", "1")])
    environ["wsgi.early_hints"]([("Link", "</a.css>; rel=preload")])
    try:
        raise RuntimeError("changed its mind")
    except RuntimeError:
        start_response("503 Service Unavailable", [("X-Second", "1")], sys.exc_info())
    return [b"replaced\n"]


def outcome_of(call, fields, start_response):
    """Answers whether `call(fields)` sent them or raised ValueError."""
    try:
        call(fields)
        outcome = "sent"
    except ValueError as e:
        outcome = f"refused: {e}"
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [outcome.encode()]


def bad_hints(environ, start_response):
    """A CR/LF in a hint is refused in the application's own call."""
    return outcome_of(environ["wsgi.early_hints"], [("Link", "</x>\r\nX-Injected: 1")],
                      start_response)


def trailers(environ, start_response):
    """gunicorn's documented pattern: announce, stream, then the trailers;
    the body's Content-Length does not end the stream before them."""
    send_trailers = environ["gunicorn.http2.send_trailers"]
    body = b"with trailers\n"
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body))),
                              ("Trailer", "grpc-status, grpc-message")])

    def blocks():
        yield body
        send_trailers([("grpc-status", "0"), ("grpc-message", "OK")])
    return blocks()


def late_trailers(environ, start_response):
    """Trailers set after the last byte of a Content-Length body that did
    not announce them: still sent, as gunicorn sends them."""
    send_trailers = environ.get("gunicorn.http2.send_trailers")
    body = b"late trailers\n"
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])

    def blocks():
        yield body
        if send_trailers:
            send_trailers([("x-checksum", "abc")])
    return blocks()


def written(environ, start_response):
    """The `write()` callable with a Content-Length, then trailers."""
    body = b"written\n"
    write = start_response("200 OK", [("Content-Length", str(len(body)))])
    write(body)
    environ["gunicorn.http2.send_trailers"]([("x-after-write", "1")])
    return []


def bad_trailers(environ, start_response):
    """A pseudo-header as a trailer is refused in the application's own call."""
    return outcome_of(environ["gunicorn.http2.send_trailers"], [(":status", "200")],
                      start_response)


ROUTES = {
    "/hints": hints,
    "/late-hints": late_hints,
    "/replaced-after-hint": replaced_after_hint,
    "/bad-hints": bad_hints,
    "/trailers": trailers,
    "/bad-trailers": bad_trailers,
    "/late-trailers": late_trailers,
    "/written": written,
}
