"""Cleartext HTTP/2 by `Upgrade: h2c` (RFC 7540 §3.2) in the gthread and
asgi workers, and the deadline on a cleartext preface, with real clients:
curl (`--http2` on an `http://` URL upgrades), Python's `h2` driving
`initiate_upgrade_connection` over a raw socket, raw HTTP/1.1 requests,
and the `websockets` client."""

import base64
import json
import subprocess
import time

import h2.config
import h2.connection
import h2.events
import pytest
from websockets.sync.client import connect as ws_connect

from conftest import recv_all, wait_for

UPGRADE = ["--http-protocols", "h2,h1", "--http2-cleartext", "upgrade"]
PRIOR = ["--http-protocols", "h2,h1", "--http2-cleartext", "prior-knowledge"]

# Per worker: its arguments, a path whose JSON names the protocol the app
# saw, and a path answering the body's length and digest.
WORKERS = {
    "gthread": (["--threads", "4", "h2_app:app"], "/environ", "/digest"),
    "asgi": (["-k", "asgi", "asgi_h2:app"], "/scope", "/echo"),
}


def protocol_seen(worker, body):
    """The HTTP version the application was told, from its JSON answer."""
    view = json.loads(body)
    return view["SERVER_PROTOCOL"] if worker == "gthread" else view["http_version"]


def length_seen(worker, body):
    if worker == "gthread":
        return json.loads(body)["length"]
    return int(body.split()[0])


def curl(*args):
    """curl's body and, last line, the HTTP version it spoke."""
    out = subprocess.run(["curl", "-sS", "--max-time", "10", "-w", "\n%{http_version}", *args],
                         capture_output=True, text=True, timeout=20)
    assert out.returncode == 0, out.stderr
    body, _, version = out.stdout.rpartition("\n")
    return body, version


def settings_header(conn=None):
    conn = conn or h2.connection.H2Connection(
        h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
    return conn.initiate_upgrade_connection().decode()


def upgrade_request(path, settings, method="GET", body=b""):
    return (f"{method} {path} HTTP/1.1\r\nHost: upgrade.test\r\n"
            "Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
            f"HTTP2-Settings: {settings}\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body


@pytest.fixture(params=sorted(WORKERS))
def worker(request):
    return request.param


def test_curl_http2_on_http_url_upgrades_and_the_log_says_http2(serve, worker):
    args, view, digest = WORKERS[worker]
    server = serve([*UPGRADE, "--access-logfile", "-", *args])
    body, version = curl("--http2", server.url + view + "?up=1")
    assert version == "2"
    assert protocol_seen(worker, body) in ("HTTP/2.0", "2")
    wait_for(lambda: f'"GET {view}?up=1 HTTP/2.0" 200' in server.log(), 10,
             "the access log line")
    # A body is read over HTTP/1.1 first, then is stream 1's.
    payload = "x" * 3000
    body, version = curl("--http2", "--data-binary", payload, server.url + digest)
    assert version == "2"
    assert length_seen(worker, body) == len(payload)


def test_h2_library_upgrade_then_more_streams_on_the_connection(serve, worker):
    args, view, digest = WORKERS[worker]
    server = serve([*UPGRADE, *args])
    conn = h2.connection.H2Connection(
        h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
    sock = server.connect(timeout=10)
    try:
        body = b"b" * 5000
        sock.sendall(upgrade_request(digest, settings_header(conn), "POST", body))
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = sock.recv(4096)
            assert chunk, head
            head += chunk
        head, _, rest = head.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 101 Switching Protocols"), head
        assert b"upgrade: h2c" in head.lower()
        sock.sendall(conn.data_to_send())
        answers = {1: bytearray()}
        ended = set()
        pending = rest

        def pump():
            nonlocal pending
            data = pending or sock.recv(65536)
            pending = b""
            assert data, "the server closed the connection"
            for event in conn.receive_data(data):
                if isinstance(event, h2.events.DataReceived):
                    answers.setdefault(event.stream_id, bytearray()).extend(event.data)
                    conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
                elif isinstance(event, h2.events.StreamEnded):
                    ended.add(event.stream_id)
            out = conn.data_to_send()
            if out:
                sock.sendall(out)

        deadline = time.monotonic() + 15
        while 1 not in ended:
            assert time.monotonic() < deadline, "no answer on stream 1"
            pump()
        assert length_seen(worker, bytes(answers[1])) == len(body)
        # The connection goes on as HTTP/2: stream 3 is the client's next.
        sid = conn.get_next_available_stream_id()
        assert sid == 3
        conn.send_headers(sid, [(":method", "GET"), (":scheme", "http"),
                                (":authority", "upgrade.test"), (":path", view)],
                          end_stream=True)
        sock.sendall(conn.data_to_send())
        while 3 not in ended:
            assert time.monotonic() < deadline, "no answer on stream 3"
            pump()
        assert protocol_seen(worker, bytes(answers[3])) in ("HTTP/2.0", "2")
    finally:
        sock.close()


@pytest.mark.parametrize("case", ["untrusted", "bad-settings", "mode-off"])
def test_an_upgrade_that_may_not_happen_is_served_over_http1(serve, worker, case):
    args, view, _ = WORKERS[worker]
    settings = settings_header()
    mode = UPGRADE
    if case == "untrusted":
        mode = [*UPGRADE, "--forwarded-allow-ips", "10.9.9.9"]
    elif case == "bad-settings":
        settings = "!!not-base64!!"
    else:
        mode = ["--http-protocols", "h2,h1", "--http2-cleartext", "off"]
    server = serve([*mode, *args])
    out = server.request(upgrade_request(view, settings))
    assert out.startswith(b"HTTP/1.1 200 "), out[:80]
    _, _, body = out.partition(b"\r\n\r\n")
    if b"\r\ntransfer-encoding: chunked" in out.lower().split(b"\r\n\r\n")[0]:
        body = body.split(b"\r\n", 1)[1].rsplit(b"\r\n0\r\n", 1)[0]
    assert protocol_seen(worker, body) in ("HTTP/1.1", "1.1")
    if case == "bad-settings":
        # HTTP2-Settings with a value out of range is no upgrade either.
        raw = base64.urlsafe_b64encode(b"\x00\x05\x00\x00\x00\x01").decode().rstrip("=")
        out = server.request(upgrade_request(view, raw))
        assert out.startswith(b"HTTP/1.1 200 "), out[:80]


def test_a_websocket_upgrade_still_works_where_h2c_is_on(serve):
    server = serve(["-k", "asgi", "--http-protocols", "h2,h1", "--http2-cleartext", "both",
                    "asgi_ws:app"])
    with ws_connect(f"ws://127.0.0.1:{server.port}/") as ws:
        ws.send("over h2c's server")
        assert ws.recv() == "over h2c's server"


def test_a_partial_preface_is_refused_at_its_deadline_while_others_are_served(serve, worker):
    args, view, _ = WORKERS[worker]
    server = serve([*PRIOR, *args])
    # The 400 comes from the preface's 1 s deadline, not the 30 s request
    # timeout: the stalled client sends nothing more.
    answer, waited = stall_then_serve_another(server, view, b"PRI * HT")
    assert answer.startswith(b"HTTP/1.1 400 "), answer[:80]
    assert 0.9 <= waited < 4, waited


def stall_then_serve_another(server, view, partial):
    """Sends `partial` and nothing more; while that client waits, another
    is served over HTTP/2. The stalled client's answer, and how long after
    its bytes it came."""
    stalled = server.connect(timeout=10)
    try:
        stalled.sendall(partial)
        sent = time.monotonic()
        body, version = curl("--http2-prior-knowledge", server.url + view)
        assert version == "2"
        answer = recv_all(stalled)
        return answer, time.monotonic() - sent
    finally:
        stalled.close()


def read_head(sock, buffered=b""):
    """One HTTP/1.1 head from `sock`, and the bytes read past it."""
    while b"\r\n\r\n" not in buffered:
        chunk = sock.recv(4096)
        assert chunk, buffered
        buffered += chunk
    head, _, rest = buffered.partition(b"\r\n\r\n")
    return head, rest


def stream_answer(sock, conn, pending, sid, timeout=15):
    """The body the server sends on stream `sid`, to its END_STREAM."""
    body, ended = bytearray(), False
    deadline = time.monotonic() + timeout
    while not ended:
        assert time.monotonic() < deadline, f"no answer on stream {sid}"
        data = pending or sock.recv(65536)
        pending = b""
        assert data, "the server closed the connection"
        for event in conn.receive_data(data):
            if isinstance(event, h2.events.DataReceived) and event.stream_id == sid:
                body.extend(event.data)
                conn.acknowledge_received_data(event.flow_controlled_length, sid)
            elif isinstance(event, h2.events.StreamEnded) and event.stream_id == sid:
                ended = True
        out = conn.data_to_send()
        if out:
            sock.sendall(out)
    return bytes(body)


def test_expect_100_continue_on_an_upgrade_gets_its_go_ahead_first(serve, worker):
    args, _, digest = WORKERS[worker]
    server = serve([*UPGRADE, *args])
    conn = h2.connection.H2Connection(
        h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
    sock = server.connect(timeout=10)
    try:
        body = b"c" * 4000
        request = upgrade_request(digest, settings_header(conn), "POST", body)
        head = request[:-len(body) - 2] + b"Expect: 100-continue\r\n\r\n"
        sock.sendall(head)
        # The body is sent only once the server asks for it.
        interim, rest = read_head(sock)
        assert interim == b"HTTP/1.1 100 Continue", interim
        sock.sendall(body)
        switched, rest = read_head(sock, rest)
        assert switched.startswith(b"HTTP/1.1 101 Switching Protocols"), switched
        sock.sendall(conn.data_to_send())
        assert length_seen(worker, stream_answer(sock, conn, rest, 1)) == len(body)
    finally:
        sock.close()


def test_a_partial_preface_is_read_as_http1_at_its_deadline_where_upgrade_is_on(serve, worker):
    args, view, _ = WORKERS[worker]
    server = serve(["--http-protocols", "h2,h1", "--http2-cleartext", "both", *args])
    # The preface up to its first blank line is also a whole HTTP/1 head:
    # once the deadline passes it is read as one, and answered as HTTP/1.1
    # without another byte from the client.
    answer, waited = stall_then_serve_another(server, view, b"PRI * HTTP/2.0\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 "), answer[:80]
    assert 0.9 <= waited < 4, waited
