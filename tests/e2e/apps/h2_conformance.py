"""The application behind the HTTP/2 conformance run (WSGI `app`, ASGI
`asgi_app`): it reads the whole request body before it answers.

A handler that answers without reading makes the server end the stream
early (RST_STREAM NO_ERROR, RFC 9113 §8.1), and the cases that then send
more on that stream (bad content-length, DATA after END_STREAM, trailers,
window overflows) would test nothing. Reading first, as an upload or a
form handler does, keeps each stream open until the client ends it."""

BODY = b"conformance\n"
HEADERS = [("Content-Type", "text/plain"), ("Content-Length", str(len(BODY)))]


def app(environ, start_response):
    stream = environ["wsgi.input"]
    while stream.read(65536):
        pass
    start_response("200 OK", HEADERS)
    return [BODY]


async def asgi_app(scope, receive, send):
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        if not message.get("more_body"):
            break
    headers = [(n.lower().encode(), v.encode()) for n, v in HEADERS]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": BODY})
