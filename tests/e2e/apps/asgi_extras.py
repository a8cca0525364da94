"""Raw ASGI apps for the asgi worker's extensions, disconnect grace period
and request hooks (by path), and framework apps that rely on them."""

import asyncio
import json
import os
import tempfile
import time

from starlette.applications import Starlette
from starlette.responses import FileResponse, StreamingResponse
from starlette.routing import Route

HERE = os.path.dirname(os.path.abspath(__file__))


async def _start(send, status=200, headers=(), **extra):
    await send({"type": "http.response.start", "status": status, "headers": list(headers), **extra})


async def _drain(receive):
    while True:
        message = await receive()
        if message["type"] != "http.request" or not message.get("more_body"):
            return


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    handler = ROUTES.get(scope["path"].rsplit("/", 1)[-1], extensions)
    await handler(scope, receive, send)


async def extensions(scope, receive, send):
    await _drain(receive)
    names = sorted(scope.get("extensions", {}))
    tls = scope.get("extensions", {}).get("tls")
    body = ",".join(names)
    if tls is not None:
        body += f"\ntls_version={tls['tls_version']:#x} cipher_suite={tls['cipher_suite']:#x}"
        body += f" client_cert_chain={len(tls['client_cert_chain'])}"
    await _start(send)
    await send({"type": "http.response.body", "body": body.encode()})


async def tls(scope, receive, send):
    """The whole ``tls`` extension, as JSON (``null`` without TLS)."""
    await _drain(receive)
    await _start(send, 200, [(b"content-type", b"application/json")])
    body = json.dumps(scope["extensions"].get("tls")).encode()
    await send({"type": "http.response.body", "body": body})


async def early_hints(scope, receive, send):
    await _drain(receive)
    await send({"type": "http.response.informational", "status": 103,
                "headers": [(b"link", b"</style.css>; rel=preload; as=style")]})
    await send({"type": "http.response.early_hint", "links": [b"</app.js>; rel=preload; as=script"]})
    await _start(send, 200, [(b"content-type", b"text/plain")])
    await send({"type": "http.response.body", "body": b"hinted"})


async def trailers(scope, receive, send):
    await _drain(receive)
    await _start(send, 200, [(b"trailer", b"x-checksum")], trailers=True)
    await send({"type": "http.response.body", "body": b"part one ", "more_body": True})
    await send({"type": "http.response.body", "body": b"part two"})
    await send({"type": "http.response.trailers", "headers": [(b"x-checksum", b"abc123")],
                "more_trailers": True})
    await send({"type": "http.response.trailers", "headers": [(b"x-rows", b"2")]})


async def pathsend(scope, receive, send):
    """Sends a temporary file and removes it as soon as ``send`` returns:
    the file must have been opened (here: sent) by then."""
    await _drain(receive)
    size = int(scope["query_string"] or b"300000")
    fd, path = tempfile.mkstemp()
    content = bytes(range(256)) * (size // 256) + b"x" * (size % 256)
    with os.fdopen(fd, "wb") as f:
        f.write(content)
    await _start(send, 200, [(b"content-length", str(size).encode())])
    await send({"type": "http.response.pathsend", "path": path})
    os.unlink(path)


async def pathsend_unframed(scope, receive, send):
    """``pathsend`` without a Content-Length: the server frames the file."""
    await _drain(receive)
    size = int(scope["query_string"])
    fd, path = tempfile.mkstemp()
    with os.fdopen(fd, "wb") as f:
        f.write(bytes(range(256)) * (size // 256) + b"x" * (size % 256))
    await _start(send, 200)
    await send({"type": "http.response.pathsend", "path": path})
    os.unlink(path)


async def linger(scope, receive, send):
    """Waits for the client to leave, then lingers past any grace period:
    says when it was told and how long after that it was cancelled."""
    await _drain(receive)
    told = None
    try:
        message = await receive()
        told = time.monotonic()
        print(f"linger: {message['type']}", flush=True)
        await asyncio.sleep(30)
    except asyncio.CancelledError:
        waited = time.monotonic() - told if told is not None else 0.0
        print(f"linger cancelled after {waited:.2f}s", flush=True)
        raise


async def wait_in_receive(scope, receive, send):
    """Awaits ``receive`` with the request read: only the client leaving
    ends it, and with no grace period the cancellation must reach the app
    as ``CancelledError`` raised by ``receive``."""
    await _drain(receive)
    print("waiting in receive", flush=True)
    try:
        await receive()
    except asyncio.CancelledError:
        print("receive raised CancelledError", flush=True)
        raise


async def headers(scope, receive, send):
    await _drain(receive)
    await _start(send, 201, [(b"x-custom", b"custom value"), (b"content-type", b"text/plain")])
    await send({"type": "http.response.body", "body": b"made"})


async def too_long(scope, receive, send):
    await _drain(receive)
    await _start(send, 200, [(b"content-length", b"3")])
    await send({"type": "http.response.body", "body": b"abcdef"})


async def too_short(scope, receive, send):
    await _drain(receive)
    await _start(send, 200, [(b"content-length", b"10")])
    await send({"type": "http.response.body", "body": b"abc"})


async def fail(scope, receive, send):
    raise RuntimeError("the app failed")


ROUTES = {
    "early-hints": early_hints,
    "trailers": trailers,
    "tls": tls,
    "pathsend": pathsend,
    "pathsend-unframed": pathsend_unframed,
    "linger": linger,
    "wait-receive": wait_in_receive,
    "headers": headers,
    "fail": fail,
    "too-long": too_long,
    "too-short": too_short,
}


async def _sse(request):
    async def events():
        try:
            n = 0
            while True:
                yield f"data: event {n}\n\n".encode()
                n += 1
                await asyncio.sleep(0.05)
        finally:
            print(f"sse generator stopped at {time.monotonic():.3f}", flush=True)

    return StreamingResponse(events(), media_type="text/event-stream")


async def _file(request):
    return FileResponse(os.path.join(HERE, "asgi_raw.py"))


async def _task_count(request):
    from starlette.responses import JSONResponse
    return JSONResponse({"tasks": len(asyncio.all_tasks())})


starlette_app = Starlette(routes=[
    Route("/sse", _sse),
    Route("/file", _file),
    Route("/tasks", _task_count),
])


def _fastapi_app():
    from fastapi import BackgroundTasks, FastAPI
    from fastapi.responses import FileResponse as FastFileResponse

    api = FastAPI()

    @api.get("/file")
    async def file_route():
        return FastFileResponse(os.path.join(HERE, "asgi_raw.py"))

    @api.post("/later")
    async def later(background: BackgroundTasks):
        async def job():
            await asyncio.sleep(0.05)
            print("background task ran", flush=True)

        background.add_task(job)
        return {"queued": True}

    return api


fastapi_app = _fastapi_app()
