"""Raw ASGI 3 applications, one rule of the asgi worker each (by path)."""

import asyncio
import json
import os


async def _lifespan(scope, receive, send):
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            scope["state"]["greeting"] = "hello from lifespan"
            await send({"type": "lifespan.startup.complete"})
        else:
            print("lifespan shutdown ran", flush=True)
            await send({"type": "lifespan.shutdown.complete"})
            return


async def _read_body(receive):
    body, messages = b"", 0
    while True:
        message = await receive()
        assert message["type"] == "http.request", message
        messages += 1
        body += message.get("body", b"")
        if not message.get("more_body", False):
            return body, messages


async def _answer(send, status, body, headers=()):
    await send({"type": "http.response.start", "status": status, "headers": list(headers)})
    await send({"type": "http.response.body", "body": body})


def _plain(scope):
    fields = {}
    for key, value in scope.items():
        if isinstance(value, bytes):
            value = value.decode("latin-1")
        elif key == "headers":
            value = [[n.decode("latin-1"), v.decode("latin-1")] for n, v in value]
        elif isinstance(value, tuple):
            value = list(value)
        fields[key] = value
    return fields


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        return await _lifespan(scope, receive, send)
    path = scope["path"]
    handler = ROUTES.get(path.rsplit("/", 1)[-1], scope_echo)
    await handler(scope, receive, send)


async def scope_echo(scope, receive, send):
    await _read_body(receive)
    body = json.dumps(_plain(scope)).encode()
    await _answer(send, 200, body, [(b"content-type", b"application/json")])


async def echo(scope, receive, send):
    body, messages = await _read_body(receive)
    await _answer(send, 200, body, [(b"x-messages", str(messages).encode())])


async def chunks(scope, receive, send):
    await send({"type": "http.response.start", "status": 200, "headers": []})
    for part in (b"one ", b"two ", b"three"):
        await send({"type": "http.response.body", "body": part, "more_body": True})
    await send({"type": "http.response.body", "body": b""})


async def sized(scope, receive, send):
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-length", b"9")]})
    await send({"type": "http.response.body", "body": b"four", "more_body": True})
    await send({"type": "http.response.body", "body": b" five"})


async def big(scope, receive, send):
    await send({"type": "http.response.start", "status": 200, "headers": []})
    chunk = b"x" * 65536
    for _ in range(320):
        await send({"type": "http.response.body", "body": chunk, "more_body": True})
    await send({"type": "http.response.body", "body": b""})


async def no_content(scope, receive, send):
    await _answer(send, 204, b"")


async def raise_before(scope, receive, send):
    raise ValueError("failed before the response")


async def raise_after(scope, receive, send):
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"partial", "more_body": True})
    raise ValueError("failed in the body")


async def nothing(scope, receive, send):
    return None


async def wait_disconnect(scope, receive, send):
    await _read_body(receive)
    message = await receive()
    print(f"after the body: {message['type']}", flush=True)


async def watch_then_answer(scope, receive, send):
    await _read_body(receive)
    watcher = asyncio.get_running_loop().create_task(receive())
    await _answer(send, 200, b"answered")
    message = await asyncio.wait_for(watcher, 5)
    print(f"once answered: {message['type']}", flush=True)


async def slow(scope, receive, send):
    print("slow request started", flush=True)
    await asyncio.sleep(1.0)
    await _answer(send, 200, b"slow done")


async def state(scope, receive, send):
    await _answer(send, 200, scope["state"].get("greeting", "none").encode())


async def pid(scope, receive, send):
    await _answer(send, 200, str(os.getpid()).encode())


ROUTES = {
    "echo": echo,
    "chunks": chunks,
    "sized": sized,
    "big": big,
    "204": no_content,
    "raise-before": raise_before,
    "raise-after": raise_after,
    "nothing": nothing,
    "disconnect": wait_disconnect,
    "slow": slow,
    "watch": watch_then_answer,
    "state": state,
    "pid": pid,
}


async def failing_startup(scope, receive, send):
    assert scope["type"] == "lifespan"
    await receive()
    await send({"type": "lifespan.startup.failed", "message": "database unreachable"})


async def http_only(scope, receive, send):
    """No lifespan support: raises on the lifespan scope, as many apps do."""
    assert scope["type"] == "http"
    await _answer(send, 200, b"http only")
