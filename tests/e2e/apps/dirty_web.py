"""A WSGI app (`app`) and an ASGI app (`asgi`) that call the dirty app
`dirty_models:Model` through gunicorn's client or rcorn's, as
`/?client=gunicorn|rcorn&op=NAME`; the answer is JSON: the result, or the
exception's class, message and details."""

import json
import os
from urllib.parse import parse_qs

MODEL = "dirty_models:Model"


def _client_module(name):
    if name == "gunicorn":
        import gunicorn.dirty as module
    else:
        import rcorn.dirty as module
    return module


def _sync_call(module, op):
    if op == "socket":
        return os.environ.get("GUNICORN_DIRTY_SOCKET")
    client = module.get_dirty_client(timeout=10)
    if op == "predict":
        return client.execute(MODEL, "predict", 21, scale=3)
    if op in ("tokens", "atokens"):
        return list(client.stream(MODEL, op, 3))
    if op == "unknown":
        return client.execute("dirty_models:Nope", "x")
    return client.execute(MODEL, op, *([5] if op == "sleep" else []))


async def _async_call(module, op):
    client = await module.get_dirty_client_async(timeout=10)
    if op == "predict":
        return await client.execute_async(MODEL, "predict", 21, scale=3)
    if op in ("tokens", "atokens"):
        return [chunk async for chunk in client.stream_async(MODEL, op, 3)]
    return await client.execute_async(MODEL, op)


def _error(e):
    return {
        "error": type(e).__name__,
        "module": type(e).__module__,
        "message": getattr(e, "message", str(e)),
        "details": getattr(e, "details", {}),
    }


def _query(qs):
    q = parse_qs(qs)
    return q.get("client", ["rcorn"])[0], q.get("op", ["predict"])[0]


def app(environ, start_response):
    name, op = _query(environ.get("QUERY_STRING", ""))
    try:
        out = {"result": _sync_call(_client_module(name), op), "worker": os.getpid()}
    except Exception as e:
        out = {**_error(e), "worker": os.getpid()}
    body = json.dumps(out).encode()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body]


async def asgi(scope, receive, send):
    if scope["type"] != "http":
        return
    name, op = _query(scope["query_string"].decode())
    try:
        out = {"result": await _async_call(_client_module(name), op), "worker": os.getpid()}
    except Exception as e:
        out = {**_error(e), "worker": os.getpid()}
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": json.dumps(out).encode()})
