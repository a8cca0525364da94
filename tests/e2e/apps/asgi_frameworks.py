"""FastAPI and Starlette applications served by the asgi worker."""

import contextlib

from fastapi import FastAPI, WebSocket, WebSocketDisconnect
from fastapi.responses import StreamingResponse
from pydantic import BaseModel
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route, WebSocketRoute


@contextlib.asynccontextmanager
async def _lifespan(app):
    yield {"started": "yes"}


fastapi_app = FastAPI(lifespan=_lifespan)


class Item(BaseModel):
    name: str
    price: float


@fastapi_app.get("/json")
async def json_route():
    return {"hello": "world"}


@fastapi_app.post("/items")
async def create_item(item: Item):
    return {"name": item.name, "double": item.price * 2}


@fastapi_app.get("/stream")
@fastapi_app.get("/stream/parts")  # under nginx's unbuffered location /stream/
async def stream_route():
    async def parts():
        for i in range(5):
            yield f"part {i}\n".encode()

    return StreamingResponse(parts(), media_type="text/plain")


@fastapi_app.get("/state")
async def state_route(request: Request):
    return {"started": request.state.started}


@fastapi_app.websocket("/ws/{name}")
async def ws_route(websocket: WebSocket, name: str):
    await websocket.accept()
    try:
        await websocket.send_text(f"{name} says {await websocket.receive_text()}")
        data = await websocket.receive_json()
        await websocket.send_json({"double": data["n"] * 2})
        await websocket.receive_text()
    except WebSocketDisconnect:
        pass


async def _home(request):
    return PlainTextResponse("starlette home")


async def _echo(request):
    body = await request.body()
    return JSONResponse({"len": len(body), "path": request.url.path,
                         "root_path": request.scope["root_path"]})


async def _ws_upper(websocket):
    await websocket.accept(subprotocol="chat" if "chat" in websocket.scope["subprotocols"] else None)
    async for data in websocket.iter_bytes():
        await websocket.send_bytes(data.upper())


async def _ws_refused(websocket):
    await websocket.close()


starlette_app = Starlette(routes=[
    Route("/", _home),
    Route("/echo", _echo, methods=["POST"]),
    WebSocketRoute("/ws", _ws_upper),
    WebSocketRoute("/ws-refused", _ws_refused),
])
