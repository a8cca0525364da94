"""A constant 10 KB response body: adds the cost of writing a larger response."""

BODY = b"x" * 10240
HEADERS = [("Content-Type", "application/octet-stream"), ("Content-Length", str(len(BODY)))]


def app(environ, start_response):
    start_response("200 OK", HEADERS)
    return [BODY]
