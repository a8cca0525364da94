"""The WebSocket load comparison's application (ws_compare.py), plain
ASGI so every server runs the same code: `/` echoes each message,
`/listen` receives broadcasts, `/broadcast` sends each message it gets to
every listener and then acks it to its sender. Plain HTTP answers 200 (the
harness's readiness probe)."""

LISTENERS = set()


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            await send({"type": message["type"] + ".complete"})
            if message["type"] == "lifespan.shutdown":
                return
    if scope["type"] == "http":
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"websocket bench"})
        return
    await receive()  # websocket.connect
    await send({"type": "websocket.accept"})
    if scope["path"] == "/listen":
        LISTENERS.add(send)
        try:
            while (await receive())["type"] != "websocket.disconnect":
                pass
        finally:
            LISTENERS.discard(send)
    elif scope["path"] == "/broadcast":
        while (message := await receive())["type"] != "websocket.disconnect":
            out = {"type": "websocket.send", "text": message.get("text")}
            for listener in list(LISTENERS):
                try:
                    await listener(out)
                except Exception:  # a listener that left: each server raises its own
                    LISTENERS.discard(listener)
            await send({"type": "websocket.send", "text": "ack"})
    else:
        while (message := await receive())["type"] != "websocket.disconnect":
            await send({"type": "websocket.send", "text": message.get("text"),
                        "bytes": message.get("bytes")})
