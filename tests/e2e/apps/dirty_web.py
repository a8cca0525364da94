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


def _stash_tour(st, table):
    """Every stash operation once, through one client's module API."""
    st.put(table, "user:1", {"name": "Alice"})
    st.put(table, "user:2", [1, 2.5, None])
    st.put(table, 7, b"\x00bytes")
    rows = st.table(table)
    rows["n"] = 5
    out = {
        "get": st.get(table, "user:1"),
        "default": st.get(table, "missing", "dflt"),
        "keys": st.keys(table),
        "pattern": st.keys(table, pattern="user:*"),
        "len": len(rows),
        "contains": ["n" in rows, "nope" in rows],
        "bytes": st.get(table, 7) == b"\x00bytes",
        "item": rows["n"],
        "deleted": [st.delete(table, 7), st.delete(table, 7)],
        "exists": [st.exists(table), st.exists(table, "n"), st.exists("no-such-table")],
        "info": st.info(table),
        "tables": st.tables(),
    }
    st.clear(table)
    out["cleared"] = st.keys(table)
    st.delete_table(table)
    out["dropped"] = st.exists(table)
    return out


def _stash_call(module, op, table):
    st = module.stash
    if op == "stash_tour":
        return _stash_tour(st, table)
    if op == "stash_put":
        return st.put("shared", "from-web", table)
    if op == "stash_read":
        return [st.get("shared", "from-web"), st.get("models", "from-dirty")]
    if op == "stash_no_table":
        return st.info("no-such-table")
    if op == "stash_no_key":
        return st.table("shared")["no-such-key"]
    if op == "stash_bad_key":
        return st.put("shared", ["a", "list"], 1)
    raise ValueError(op)


def _sync_call(module, op, table="web"):
    if op == "socket":
        return os.environ.get("GUNICORN_DIRTY_SOCKET")
    if op.startswith("stash_"):
        return _stash_call(module, op, table)
    client = module.get_dirty_client(timeout=10)
    if op == "predict":
        return client.execute(MODEL, "predict", 21, scale=3)
    if op in ("tokens", "atokens"):
        return list(client.stream(MODEL, op, 3))
    if op == "unknown":
        return client.execute("dirty_models:Nope", "x")
    if op in ("remember", "aremember"):
        return client.execute(MODEL, op, module.__name__.split(".")[0])
    return client.execute(MODEL, op, *([5] if op == "sleep" else []))


async def _async_call(module, op):
    if op.startswith("stash_"):
        # gunicorn's stash API is synchronous; an async app calls it as is.
        return _stash_call(module, op, "asgi")
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
