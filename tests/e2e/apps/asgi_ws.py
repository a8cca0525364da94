"""Raw ASGI WebSocket applications for the asgi worker's tests: an echo
(Autobahn's peer), and one path per behaviour a test looks at."""

import asyncio
import json
import os


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            await send({"type": message["type"] + ".complete"})
            if message["type"] == "lifespan.shutdown":
                return
    if scope["type"] == "http":
        await receive()
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"http here"})
        return
    handler = PATHS.get(scope["path"], echo)
    await handler(scope, receive, send)


async def echo(scope, receive, send):
    """Every message back as it came (text or bytes), until the client leaves."""
    assert (await receive())["type"] == "websocket.connect"
    await send({"type": "websocket.accept"})
    await echo_after_accept(receive, send)


async def scope_info(scope, receive, send):
    """The scope as JSON, with the subprotocol of the client's last choice."""
    await receive()
    choice = scope["subprotocols"][-1] if scope["subprotocols"] else None
    await send({"type": "websocket.accept", "subprotocol": choice,
                "headers": [(b"x-answer", b"42")]})
    shown = {k: v for k, v in scope.items() if k not in ("headers", "state", "raw_path")}
    shown["query_string"] = scope["query_string"].decode()
    await send({"type": "websocket.send", "text": json.dumps(shown)})
    await send({"type": "websocket.close", "code": 4001, "reason": "done"})


async def refuse(scope, receive, send):
    """Closes before accepting: the client gets 403."""
    await receive()
    await send({"type": "websocket.close"})


async def deny(scope, receive, send):
    """The denial-response extension: a whole HTTP response instead."""
    await receive()
    await send({"type": "websocket.http.response.start", "status": 401,
                "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "websocket.http.response.body", "body": b"no ", "more_body": True})
    await send({"type": "websocket.http.response.body", "body": b"entry"})


async def disconnect_report(scope, receive, send):
    """Waits for the disconnect, then writes its code (and what a send
    after it raised) where the test reads it."""
    await receive()
    await send({"type": "websocket.accept"})
    while (message := await receive())["type"] != "websocket.disconnect":
        pass
    try:
        await send({"type": "websocket.send", "text": "too late"})
        raised = None
    except OSError as exc:
        raised = type(exc).__name__
    report = {"code": message["code"], "reason": message.get("reason", ""), "raised": raised}
    with open(os.environ["WS_REPORT"], "a") as f:
        f.write(json.dumps(report) + "\n")


async def firehose(scope, receive, send):
    """Sends 64 KiB messages as fast as `send` lets it, counting them."""
    await receive()
    await send({"type": "websocket.accept"})
    sent = 0
    try:
        while True:
            await send({"type": "websocket.send", "bytes": b"x" * 65536})
            sent += 1
            if sent % 16 == 0:
                with open(os.environ["WS_REPORT"], "w") as f:
                    f.write(str(sent))
    except OSError:
        return


async def pid_echo(scope, receive, send):
    """Says which worker serves it (its pid), then echoes."""
    await receive()
    await send({"type": "websocket.accept"})
    await send({"type": "websocket.send", "text": str(os.getpid())})
    await echo_after_accept(receive, send)


async def echo_after_accept(receive, send):
    while (message := await receive())["type"] != "websocket.disconnect":
        await send({"type": "websocket.send", "bytes": message.get("bytes"),
                    "text": message.get("text")})


async def sleepy(scope, receive, send):
    """Accepts, then never receives (the client's sends must be held back)."""
    await receive()
    await send({"type": "websocket.accept"})
    await asyncio.sleep(3600)


async def crash(scope, receive, send):
    await receive()
    await send({"type": "websocket.accept"})
    raise ValueError("boom after accept")


ROOM = set()


async def room(scope, receive, send):
    """A chat room: a member's "burst N" sends the numbers 0 to N-1 to
    every member, each number to all before the next, in one pass of the
    loop (no `send` waits for so little): each socket's frames leave
    together, after the sends."""
    await receive()
    await send({"type": "websocket.accept"})
    ROOM.add(send)
    await send({"type": "websocket.send", "text": f"joined {len(ROOM)}"})
    try:
        while (message := await receive())["type"] != "websocket.disconnect":
            count = int(message["text"].split()[1])
            for i in range(count):
                for member in list(ROOM):
                    await member({"type": "websocket.send", "text": str(i)})
    finally:
        ROOM.discard(send)


PATHS = {
    "/room": room,
    "/scope": scope_info,
    "/refuse": refuse,
    "/deny": deny,
    "/report": disconnect_report,
    "/firehose": firehose,
    "/sleepy": sleepy,
    "/crash": crash,
    "/pid": pid_echo,
}
