"""ASGI apps served over HTTP/2 by the asgi worker (by path): the scope,
streams that wait on each other, bodies both ways, trailers, early hints,
response fields good and bad, a response its client resets, and a
Starlette app."""

import asyncio
import hashlib
import json
import os

from starlette.applications import Starlette
from starlette.responses import JSONResponse, StreamingResponse
from starlette.routing import Route

# Streams of one connection run concurrently: /barrier answers only once
# BARRIER_PARTIES requests are waiting in it at the same time.
BARRIER_PARTIES = int(os.environ.get("BARRIER_PARTIES", "20"))
_barrier = None


async def _start(send, status=200, headers=(), **extra):
    await send({"type": "http.response.start", "status": status, "headers": list(headers), **extra})


async def _body(receive):
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            raise RuntimeError("disconnected while reading the body")
        chunks.append(message["body"])
        if not message.get("more_body"):
            return b"".join(chunks)


async def scope_view(scope, receive, send):
    await _body(receive)
    view = {k: scope[k] for k in ("http_version", "method", "scheme", "path", "root_path")}
    view["query_string"] = scope["query_string"].decode()
    view["headers"] = [[n.decode(), v.decode()] for n, v in scope["headers"]]
    view["client"] = list(scope["client"])
    view["priority"] = scope["extensions"].get("http.response.priority")
    await _start(send, 200, [(b"content-type", b"application/json")])
    await send({"type": "http.response.body", "body": json.dumps(view).encode()})


async def barrier(scope, receive, send):
    global _barrier
    if _barrier is None:
        _barrier = asyncio.Barrier(BARRIER_PARTIES)
    await _body(receive)
    index = await asyncio.wait_for(_barrier.wait(), 20)
    await _start(send)
    await send({"type": "http.response.body", "body": str(index).encode()})


async def echo_digest(scope, receive, send):
    """Reads the body as it comes and answers its length and sha256."""
    digest, size = hashlib.sha256(), 0
    while True:
        message = await receive()
        digest.update(message.get("body", b""))
        size += len(message.get("body", b""))
        if not message.get("more_body"):
            break
    await _start(send)
    await send({"type": "http.response.body", "body": f"{size} {digest.hexdigest()}".encode()})


async def blob(scope, receive, send):
    """`size` bytes in 64 KiB messages."""
    await _body(receive)
    size = int(scope["query_string"] or b"1048576")
    await _start(send, 200, [(b"content-length", str(size).encode())])
    block = bytes(range(256)) * 256
    sent = 0
    while sent < size:
        part = block[:min(len(block), size - sent)]
        sent += len(part)
        await send({"type": "http.response.body", "body": part, "more_body": sent < size})


async def trailers(scope, receive, send):
    await _body(receive)
    await _start(send, 200, [(b"trailer", b"x-checksum")], trailers=True)
    await send({"type": "http.response.body", "body": b"part one ", "more_body": True})
    await send({"type": "http.response.body", "body": b"part two"})
    await send({"type": "http.response.trailers", "headers": [(b"x-checksum", b"abc123")]})


async def early_hints(scope, receive, send):
    await _body(receive)
    await send({"type": "http.response.informational", "status": 103,
                "headers": [(b"link", b"</style.css>; rel=preload")]})
    await _start(send, 200)
    await send({"type": "http.response.body", "body": b"hinted"})


async def fail(scope, receive, send):
    raise RuntimeError("the application fails before its response")


async def head_only(scope, receive, send):
    await _body(receive)
    await _start(send, 204)
    await send({"type": "http.response.body", "body": b""})


async def until_disconnect(scope, receive, send):
    """Streams until the client resets the stream; `receive` must then say
    http.disconnect, which is written to the file the query names."""
    mark = scope["query_string"].decode()
    await _body(receive)
    await _start(send)

    async def stream():
        while True:
            await send({"type": "http.response.body", "body": b"x" * 16384, "more_body": True})
            await asyncio.sleep(0.01)

    streaming = asyncio.ensure_future(stream())
    message = await receive()
    streaming.cancel()
    with open(mark, "w") as f:
        f.write(message["type"])


async def fields(scope, receive, send):
    """Field names as an application may give them: mixed case, a pair as
    a list, and connection-specific fields HTTP/2 has no room for."""
    await _body(receive)
    await _start(send, 200, [(b"X-Mixed-Case", b"yes"), [b"x-list", b"pair"],
                             (b"Connection", b"keep-alive"), (b"transfer-encoding", b"chunked")])
    await send({"type": "http.response.body", "body": b"fields"})


async def bad_field(scope, receive, send):
    """A field HTTP/2 cannot carry (`?newline`) or that is not bytes: the
    start raises, and the stream is answered 500."""
    await _body(receive)
    if scope["query_string"] == b"newline":
        headers = [(b"x-bad", b"one\ntwo")]
    else:
        headers = [("x-text", b"not bytes")]
    await _start(send, 200, headers)
    await send({"type": "http.response.body", "body": b"never"})


RAW = {
    "scope": scope_view,
    "barrier": barrier,
    "echo": echo_digest,
    "blob": blob,
    "trailers": trailers,
    "early-hints": early_hints,
    "fail": fail,
    "no-content": head_only,
    "until-disconnect": until_disconnect,
    "fields": fields,
    "bad-field": bad_field,
}


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    handler = RAW.get(scope["path"].strip("/"))
    if handler is None:
        await _body(receive)
        await _start(send)
        await send({"type": "http.response.body", "body": b"hello"})
        return
    await handler(scope, receive, send)


async def _info(request):
    body = await request.body()
    return JSONResponse({"http_version": request.scope["http_version"],
                         "host": request.headers.get("host"),
                         "url": str(request.url), "received": len(body)})


async def _sse(request):
    mark = request.query_params["mark"]

    async def events():
        try:
            n = 0
            while True:
                n += 1
                yield f"data: {n}\n\n" * 100
                await asyncio.sleep(0.01)
        finally:
            with open(mark, "w") as f:
                f.write("stopped")

    return StreamingResponse(events(), media_type="text/event-stream")


starlette_app = Starlette(routes=[Route("/info", _info, methods=["GET", "POST"]),
                                  Route("/sse", _sse)])
