"""A Django Channels consumer under `rcorn -k asgi`, with the real
`websockets` client: echo to one client, broadcast to a room's group
through the in-memory channel layer (one worker: the layer is per
process), rooms kept apart, and Django's plain HTTP beside it."""

import httpx
import pytest
from websockets.sync.client import connect

pytest.importorskip("channels")

ASGI = ["-k", "asgi"]


def room(server, name):
    return connect(f"ws://127.0.0.1:{server.port}/ws/{name}", open_timeout=5)


def test_channels_consumer_echoes_and_broadcasts_to_its_group(serve):
    server = serve([*ASGI, "channels_chat:application"])
    assert httpx.get(server.url + "/", timeout=10).text == "channels here"
    with room(server, "a") as one, room(server, "a") as two, room(server, "b") as other:
        one.send("echo:just me")
        assert one.recv(timeout=5) == "just me"
        one.send(b"\x00\x01")
        assert one.recv(timeout=5) == b"\x00\x01"

        one.send("hello")
        assert one.recv(timeout=5) == "room: hello"
        # The first thing the other member gets: the echo went to `one` alone.
        assert two.recv(timeout=5) == "room: hello"
        two.send("hi back")
        assert two.recv(timeout=5) == "room: hi back"
        assert one.recv(timeout=5) == "room: hi back"

        # Room a's broadcasts were queued for its members only when sent:
        # the other room's first message is its own echo.
        other.send("echo:b only")
        assert other.recv(timeout=5) == "b only"

        one.close()
        two.send("still here")
        assert two.recv(timeout=5) == "room: still here"
    assert "Traceback" not in server.log()
