"""FastAPI and Starlette applications served by the asgi worker."""

import contextlib

from fastapi import FastAPI
from fastapi.responses import StreamingResponse
from pydantic import BaseModel
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route


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


async def _home(request):
    return PlainTextResponse("starlette home")


async def _echo(request):
    body = await request.body()
    return JSONResponse({"len": len(body), "path": request.url.path,
                         "root_path": request.scope["root_path"]})


starlette_app = Starlette(routes=[Route("/", _home), Route("/echo", _echo, methods=["POST"])])
