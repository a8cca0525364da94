"""An ASGI app that changes the scope it is given, then shows it: each
request's scope must be its own, however much of it the server reuses."""

import json


async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    seen = {
        "asgi": dict(scope["asgi"]),
        "extensions": sorted(scope["extensions"]),
        "headers": [[n.decode("latin-1"), v.decode("latin-1")] for n, v in scope["headers"]],
        "state": dict(scope["state"]),
        "path": scope["path"],
        "client": list(scope["client"]),
        "server": list(scope["server"]),
    }
    scope["asgi"]["changed"] = True
    scope["extensions"]["changed"] = {}
    scope["headers"].append((b"changed", b"yes"))
    scope["state"]["changed"] = True
    scope["changed"] = True
    body = json.dumps(seen).encode()
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": body})
