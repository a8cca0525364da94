"""HTTP/2 served by the asgi worker: each stream its own task and scope.

Clients: curl (`--http2-prior-knowledge`), Python's `h2` scripted over a
raw socket (concurrent streams, flow control both ways, trailers, early
hints, resets, a Rapid Reset flood) and h2load."""

import hashlib
import json
import os
import shutil
import socket
import subprocess
import time

import httpx
import h2.config
import h2.connection
import h2.errors
import h2.events
import h2.settings
import pytest

from conftest import recv_all, wait_for

# `both`: a trusted peer's connection is HTTP/2 if it opens with the
# preface, HTTP/1.1 otherwise (prior-knowledge alone refuses HTTP/1.1).
ASGI = ["-k", "asgi", "--http-protocols", "h2,h1", "--http2-cleartext", "both"]


class Client:
    """One HTTP/2 connection over a raw socket, driven by `h2`."""

    def __init__(self, server, settings=None):
        self.sock = server.connect(timeout=10)
        config = h2.config.H2Configuration(client_side=True, header_encoding="utf-8")
        self.conn = h2.connection.H2Connection(config=config)
        self.conn.initiate_connection()
        if settings:
            self.conn.update_settings(settings)
        self.responses = {}
        self.terminated = None
        self.closed = False
        self.flush()

    def flush(self):
        data = self.conn.data_to_send()
        if data:
            self.sock.sendall(data)

    def request(self, path, method="GET", body=None, headers=()):
        sid = self.conn.get_next_available_stream_id()
        fields = [(":method", method), (":path", path), (":scheme", "http"),
                  (":authority", "h2.example:8443"), *headers]
        self.conn.send_headers(sid, fields, end_stream=body is None)
        self.responses[sid] = {"headers": None, "data": bytearray(), "trailers": None,
                               "informational": [], "ended": False, "reset": None}
        self.flush()
        if body is not None:
            self.send_body(sid, body)
        return sid

    def send_body(self, sid, body, timeout=20):
        """Sends `body` within the server's credit, waiting for more."""
        view, deadline = memoryview(body), time.monotonic() + timeout
        while True:
            room = min(self.conn.local_flow_control_window(sid), self.conn.max_outbound_frame_size)
            if room <= 0 and len(view):
                self.read_once(deadline)
                continue
            part, view = view[:room], view[room:]
            self.conn.send_data(sid, bytes(part), end_stream=not len(view))
            self.flush()
            if not len(view):
                return

    def read_once(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"timed out; responses so far: {self.summary()}")
        self.sock.settimeout(left)
        try:
            data = self.sock.recv(65536)
        except ConnectionResetError:
            data = b""
        if not data:
            self.closed = True
            return
        for event in self.conn.receive_data(data):
            self.on_event(event)
        self.flush()

    def on_event(self, event):
        r = self.responses.get(getattr(event, "stream_id", None))
        if isinstance(event, h2.events.InformationalResponseReceived):
            r["informational"].append(dict(event.headers))
        elif isinstance(event, h2.events.ResponseReceived):
            r["headers"] = dict(event.headers)
        elif isinstance(event, h2.events.DataReceived):
            r["data"] += event.data
            # Credit back as the test reads, so small windows keep moving.
            self.conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
        elif isinstance(event, h2.events.TrailersReceived):
            r["trailers"] = dict(event.headers)
        elif isinstance(event, h2.events.StreamEnded):
            r["ended"] = True
        elif isinstance(event, h2.events.StreamReset) and r is not None:
            r["reset"] = event.error_code
        elif isinstance(event, h2.events.ConnectionTerminated):
            self.terminated = event.error_code

    def run_until(self, done, timeout=20):
        deadline = time.monotonic() + timeout
        while not done():
            if self.closed:
                raise AssertionError(f"connection closed; responses so far: {self.summary()}")
            self.read_once(deadline)

    def get(self, path, **kwargs):
        sid = self.request(path, **kwargs)
        self.run_until(lambda: self.responses[sid]["ended"] or self.responses[sid]["reset"])
        return self.responses[sid]

    def summary(self):
        return {sid: {**r, "data": len(r["data"])} for sid, r in self.responses.items()}

    def close(self):
        self.sock.close()


@pytest.fixture
def client_of():
    clients = []

    def connect(server, settings=None):
        c = Client(server, settings)
        clients.append(c)
        return c

    yield connect
    for c in clients:
        c.close()


def test_curl_prior_knowledge_gets_an_http2_scope(serve):
    server = serve([*ASGI, "asgi_h2:app"])
    out = subprocess.run(
        ["curl", "-sS", "--http2-prior-knowledge", "-w", "\n%{http_version}",
         server.url + "/scope?a=1&b=%20"],
        capture_output=True, text=True, timeout=20)
    body, _, version = out.stdout.rpartition("\n")
    assert version == "2", out
    scope = json.loads(body)
    assert scope["http_version"] == "2"
    assert (scope["method"], scope["scheme"], scope["path"]) == ("GET", "http", "/scope")
    assert scope["query_string"] == "a=1&b=%20"
    # :authority is the Host field, first, as hypercorn shows it.
    assert scope["headers"][0] == ["host", f"127.0.0.1:{server.port}"]
    assert scope["client"][0] == "127.0.0.1"


def test_curl_http2_over_tls_by_alpn(serve, cert):
    crt, key = cert
    server = serve(["-k", "asgi", "--http-protocols", "h2,h1", "asgi_h2:starlette_app",
                    "--certfile", str(crt), "--keyfile", str(key)], ready=False)
    url = f"https://127.0.0.1:{server.port}/info"

    def answers():
        if server.proc.poll() is not None:
            raise AssertionError(f"rcorn exited; log:\n{server.log()}")
        try:
            return httpx.get(url, verify=str(crt), timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    wait_for(answers, 20, "rcorn to serve over TLS")
    out = subprocess.run(["curl", "-sS", "--http2", "--cacert", str(crt), "-d", "y" * 100000,
                          "-w", "\n%{http_version}", url],
                         capture_output=True, text=True, timeout=20)
    body, _, version = out.stdout.rpartition("\n")
    assert version == "2", out
    info = json.loads(body)
    assert info["http_version"] == "2" and info["received"] == 100000
    assert info["url"].startswith("https://")
    # A client that offers only HTTP/1.1 gets it on the same port.
    out = subprocess.run(["curl", "-sS", "--http1.1", "--cacert", str(crt), url],
                         capture_output=True, text=True, timeout=20)
    assert json.loads(out.stdout)["http_version"] == "1.1", out


def test_prior_knowledge_alone_refuses_http1_and_needs_a_trusted_peer(serve):
    server = serve(["-k", "asgi", "--http-protocols", "h2,h1", "--http2-cleartext",
                    "prior-knowledge", "asgi_h2:app"])
    response = server.request(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert response.startswith(b"HTTP/1.1 400 "), response
    # From a peer not in forwarded_allow_ips the preface is not looked for:
    # HTTP/1.1 reads it, and refuses it.
    server = serve(["-k", "asgi", "--http-protocols", "h2,h1", "--http2-cleartext",
                    "prior-knowledge", "--forwarded-allow-ips", "10.0.0.1", "asgi_h2:app"])
    with server.connect() as s:
        s.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
        s.shutdown(socket.SHUT_WR)
        assert recv_all(s).startswith(b"HTTP/1.1 400 ")
    assert server.request(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").endswith(b"hello")


def test_starlette_app_over_http2_and_http1_on_one_port(serve):
    server = serve([*ASGI, "asgi_h2:starlette_app"])
    out = subprocess.run(
        ["curl", "-sS", "--http2-prior-knowledge", "-d", "x" * 5000, server.url + "/info"],
        capture_output=True, text=True, timeout=20)
    info = json.loads(out.stdout)
    assert info["http_version"] == "2" and info["received"] == 5000, out
    assert info["host"] == f"127.0.0.1:{server.port}"
    out = subprocess.run(["curl", "-sS", server.url + "/info"], capture_output=True, text=True,
                         timeout=20)
    assert json.loads(out.stdout)["http_version"] == "1.1"


def test_streams_of_one_connection_run_concurrently(serve, client_of):
    server = serve([*ASGI, "asgi_h2:app"], env={"BARRIER_PARTIES": "20"})
    c = client_of(server)
    sids = [c.request("/barrier") for _ in range(20)]
    c.run_until(lambda: all(c.responses[s]["ended"] for s in sids))
    # Every one waited in the barrier with all the others.
    assert sorted(int(c.responses[s]["data"]) for s in sids) == list(range(20))
    assert all(c.responses[s]["headers"][":status"] == "200" for s in sids)


def test_megabyte_up_and_down_through_small_windows(serve, client_of):
    server = serve([*ASGI, "asgi_h2:app", "--http2-initial-window-size", "16384"])
    c = client_of(server, {h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 16384})
    body = os.urandom(1 << 20)
    r = c.get("/echo", method="POST", body=body)
    assert bytes(r["data"]).decode() == f"{len(body)} {hashlib.sha256(body).hexdigest()}"
    r = c.get("/blob?1048576")
    assert r["headers"]["content-length"] == "1048576"
    assert bytes(r["data"]) == (bytes(range(256)) * 256) * 16


def test_trailers_early_hints_and_bodiless_responses(serve, client_of):
    server = serve([*ASGI, "asgi_h2:app"])
    c = client_of(server)
    r = c.get("/trailers", headers=[("te", "trailers")])
    assert bytes(r["data"]) == b"part one part two"
    assert r["trailers"] == {"x-checksum": "abc123"}
    r = c.get("/early-hints")
    assert r["informational"] == [{":status": "103", "link": "</style.css>; rel=preload"}]
    assert r["headers"][":status"] == "200" and bytes(r["data"]) == b"hinted"
    assert c.get("/no-content")["headers"][":status"] == "204"
    r = c.get("/blob?1000", method="HEAD")
    assert r["headers"][":status"] == "200" and r["data"] == b""
    r = c.get("/fail")
    assert r["headers"][":status"] == "500"
    # The connection goes on after all of them.
    assert bytes(c.get("/")["data"]) == b"hello"
    assert "Exception in ASGI application" in server.log()


def test_response_fields_are_lower_cased_and_connection_ones_dropped(serve, client_of):
    server = serve([*ASGI, "asgi_h2:app"])
    c = client_of(server)
    r = c.get("/fields")
    assert bytes(r["data"]) == b"fields"
    headers = r["headers"]
    assert headers["x-mixed-case"] == "yes" and headers["x-list"] == "pair"
    assert "connection" not in headers and "transfer-encoding" not in headers


@pytest.mark.parametrize("query", ["newline", "text"])
def test_a_field_http2_cannot_carry_is_a_500_on_its_stream(serve, client_of, query):
    server = serve([*ASGI, "asgi_h2:app"])
    c = client_of(server)
    r = c.get(f"/bad-field?{query}")
    assert r["headers"][":status"] == "500"
    assert bytes(r["data"]) == b"Internal Server Error\n"
    wait_for(lambda: "Exception in ASGI application" in server.log(), 5, "the traceback")
    # The connection goes on.
    assert bytes(c.get("/")["data"]) == b"hello"


def test_client_reset_reaches_the_app_as_disconnect(serve, client_of, tmp_path):
    server = serve([*ASGI, "asgi_h2:app"])
    c = client_of(server)
    mark = tmp_path / "disconnect"
    sid = c.request(f"/until-disconnect?{mark}")
    c.run_until(lambda: len(c.responses[sid]["data"]) > 50000)
    c.conn.reset_stream(sid, h2.errors.ErrorCodes.CANCEL)
    c.flush()
    wait_for(lambda: mark.exists() and mark.read_text(), 10, "the app to see the reset")
    assert mark.read_text() == "http.disconnect"
    assert bytes(c.get("/")["data"]) == b"hello"


def test_starlette_stream_stops_when_its_connection_goes(serve, client_of, tmp_path):
    server = serve([*ASGI, "asgi_h2:starlette_app"])
    c = client_of(server)
    mark = tmp_path / "sse"
    sid = c.request(f"/sse?mark={mark}")
    c.run_until(lambda: len(c.responses[sid]["data"]) > 10000)
    c.close()
    wait_for(lambda: mark.exists(), 5, "the generator to stop")
    assert mark.read_text() == "stopped"


def test_rapid_reset_flood_is_cut_off_while_another_client_is_served(serve, client_of):
    server = serve([*ASGI, "asgi_h2:app"])
    calm = client_of(server)
    assert bytes(calm.get("/")["data"]) == b"hello"
    flood = client_of(server)
    headers = [(":method", "GET"), (":path", "/"), (":scheme", "http"), (":authority", "x")]
    try:
        for _ in range(50):
            for _ in range(50):
                sid = flood.conn.get_next_available_stream_id()
                flood.conn.send_headers(sid, headers, end_stream=True)
                flood.conn.reset_stream(sid, h2.errors.ErrorCodes.CANCEL)
            flood.flush()
    except OSError:
        pass  # the server closed the connection mid-flood
    flood.run_until(lambda: flood.terminated is not None or flood.closed, timeout=10)
    # GOAWAY may be lost to the reset of a socket closed with the flood
    # unread; the log line names the code either way.
    assert flood.terminated in (None, h2.errors.ErrorCodes.ENHANCE_YOUR_CALM)
    wait_for(lambda: "(GOAWAY ENHANCE_YOUR_CALM): too many stream resets" in server.log(), 5,
             "the flood's log line")
    # The other connection is served throughout.
    assert bytes(calm.get("/")["data"]) == b"hello"


def test_access_log_lines_for_http2_requests(serve, client_of):
    server = serve([*ASGI, "asgi_h2:app", "--access-logfile", "-"])
    c = client_of(server)
    c.get("/blob?1234")
    wait_for(lambda: '"GET /blob?1234 HTTP/2.0" 200 1234' in server.log(), 5, "the access line")


@pytest.mark.skipif(shutil.which("h2load") is None, reason="h2load is not installed")
def test_h2load_short_run_has_no_failures(serve):
    server = serve([*ASGI, "asgi_h2:app"])
    out = subprocess.run(["h2load", "-n", "3000", "-c", "8", "-m", "10", server.url + "/"],
                         capture_output=True, text=True, timeout=60)
    assert "3000 succeeded, 0 failed, 0 errored" in out.stdout, out.stdout
