"""Echoes the request body back: measures reading a request body (10 KB POST in the bench)."""


def app(environ, start_response):
    # CONTENT_LENGTH may be missing or empty (a GET with no body); read nothing then,
    # rather than read() to EOF, which a keep-alive connection would never reach.
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    body = environ["wsgi.input"].read(length) if length > 0 else b""
    start_response(
        "200 OK",
        [("Content-Type", "application/octet-stream"), ("Content-Length", str(len(body)))],
    )
    return [body]
