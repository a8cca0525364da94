"""wss: WebSockets over TLS (`--certfile`/`--keyfile`) in the asgi worker,
with the `websockets` client trusting the certificate the test makes.

The client is websockets' asyncio one. Its threaded (sync) client reads
and writes one OpenSSL connection from two threads, which OpenSSL does
not support: when the server's TLS 1.3 session ticket wakes the reading
thread first, one handshake in 200 to 600 here never sent its request.
"""

import asyncio
import json

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from conftest import wait_for
from test_tls import trusting

ASGI = ["-k", "asgi"]


def wss_server(serve, cert):
    crt, key = cert
    server = serve([*ASGI, "asgi_ws:app", "--certfile", str(crt), "--keyfile", str(key)],
                   ready=False)

    async def echoes():
        url = f"wss://127.0.0.1:{server.port}/"
        async with connect(url, ssl=trusting(crt), open_timeout=2) as ws:
            await ws.send("up?")
            return await asyncio.wait_for(ws.recv(), 2) == "up?"

    def answers():
        if server.proc.poll() is not None:
            raise AssertionError(f"rcorn exited; log:\n{server.log()}")
        try:
            return asyncio.run(echoes())
        except (OSError, ConnectionClosed, TimeoutError, asyncio.TimeoutError):
            return False

    wait_for(answers, 20, "rcorn to serve wss")
    return server


async def echo_round(url, crt, compression):
    async with connect(url, ssl=trusting(crt), compression=compression) as ws:
        await ws.send("héllo")
        assert await asyncio.wait_for(ws.recv(), 5) == "héllo"
        # Many TLS records each way, read past short reads.
        big = bytes(range(256)) * 4096
        await ws.send(big)
        assert await asyncio.wait_for(ws.recv(), 10) == big
        for i in range(50):
            await ws.send(f"m{i}")
        got = [await asyncio.wait_for(ws.recv(), 5) for _ in range(50)]
        assert got == [f"m{i}" for i in range(50)]


async def scope_and_close(url, crt):
    async with connect(url, ssl=trusting(crt)) as ws:
        scope = json.loads(await asyncio.wait_for(ws.recv(), 5))
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 5)
    return scope, closed.value.rcvd.code


def test_wss_echoes_large_messages_and_reports_the_scheme(serve, cert):
    crt, _ = cert
    server = wss_server(serve, cert)
    url = f"wss://127.0.0.1:{server.port}"
    for compression in ("deflate", None):
        asyncio.run(echo_round(url + "/", crt, compression))
    scope, code = asyncio.run(scope_and_close(url + "/scope", crt))
    assert code == 4001
    assert scope["scheme"] == "wss"
    assert "Traceback" not in server.log()
