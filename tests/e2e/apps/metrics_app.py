"""Apps whose answers the metrics tests know in advance: `/status/NNN`
answers with status NNN (after reading the body), `/sleep?S` answers after
S seconds, `/exit` ends the worker process. `app` is WSGI, `asgi_app` ASGI."""

import asyncio
import os
import time

REASONS = {200: "OK", 204: "No Content", 302: "Found", 404: "Not Found", 500: "Internal Server Error"}


def _status(path):
    parts = path.split("/")
    if len(parts) >= 3 and parts[1] == "status" and parts[2].isdigit():
        return int(parts[2])
    return 200


def app(environ, start_response):
    path = environ["PATH_INFO"]
    if path == "/exit":
        os._exit(1)
    if path == "/sleep":
        time.sleep(float(environ.get("QUERY_STRING") or 1))
    environ["wsgi.input"].read()
    status = _status(path)
    body = b"" if status in (204, 304) else b"answered\n"
    start_response(f"{status} {REASONS.get(status, 'Other')}",
                   [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


async def asgi_app(scope, receive, send):
    if scope["type"] != "http":
        return
    path = scope["path"]
    if path == "/sleep":
        await asyncio.sleep(float(scope["query_string"] or 1))
    while (await receive()).get("more_body"):
        pass
    status = _status(path)
    body = b"" if status in (204, 304) else b"answered\n"
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
