"""The smallest useful WSGI app: a constant 13-byte body with explicit headers.

Measures a server's per-request overhead, since the app itself does almost nothing.
"""

BODY = b"Hello, World!"
HEADERS = [("Content-Type", "text/plain"), ("Content-Length", str(len(BODY)))]


def app(environ, start_response):
    start_response("200 OK", HEADERS)
    return [BODY]
