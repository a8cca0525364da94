"""A one-route FastAPI app returning short JSON (the ASGI twin of
flask_app.py)."""

from fastapi import FastAPI

app = FastAPI()


@app.get("/")
async def index():
    return {"message": "Hello, World!"}
