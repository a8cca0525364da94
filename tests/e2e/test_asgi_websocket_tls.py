"""wss: WebSockets over TLS (`--certfile`/`--keyfile`) in the asgi worker,
with the `websockets` client trusting the certificate the test makes."""

import json

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from conftest import wait_for
from test_tls import trusting

ASGI = ["-k", "asgi"]


def wss_server(serve, cert):
    crt, key = cert
    server = serve([*ASGI, "asgi_ws:app", "--certfile", str(crt), "--keyfile", str(key)],
                   ready=False)

    def answers():
        if server.proc.poll() is not None:
            raise AssertionError(f"rcorn exited; log:\n{server.log()}")
        try:
            with connect(f"wss://127.0.0.1:{server.port}/", ssl=trusting(crt), open_timeout=2) as ws:
                ws.send("up?")
                return ws.recv(timeout=2) == "up?"
        except (OSError, ConnectionClosed, TimeoutError):
            return False

    wait_for(answers, 20, "rcorn to serve wss")
    return server


def test_wss_echoes_large_messages_and_reports_the_scheme(serve, cert):
    crt, _ = cert
    server = wss_server(serve, cert)
    url = f"wss://127.0.0.1:{server.port}"
    for compression in ("deflate", None):
        with connect(url + "/", ssl=trusting(crt), compression=compression) as ws:
            ws.send("héllo")
            assert ws.recv(timeout=5) == "héllo"
            # Many TLS records each way, read past short reads.
            big = bytes(range(256)) * 4096
            ws.send(big)
            assert ws.recv(timeout=10) == big
            for i in range(50):
                ws.send(f"m{i}")
            assert [ws.recv(timeout=5) for _ in range(50)] == [f"m{i}" for i in range(50)]
    with connect(url + "/scope", ssl=trusting(crt)) as ws:
        scope = json.loads(ws.recv(timeout=5))
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=5)
    assert closed.value.rcvd.code == 4001
    assert scope["scheme"] == "wss"
    assert "Traceback" not in server.log()
