"""HTTP/2 served by the gthread worker: negotiated by ALPN over TLS and by
prior knowledge in cleartext, with real clients (curl, Python's `h2` over a
raw socket, `hyperframe` for hostile frames, h2load)."""

import hashlib
import json
import re
import shutil
import socket
import subprocess
import time

import h2.config
import h2.connection
import h2.errors
import h2.events
import h2.settings
import hpack
import hyperframe.frame as hf
import pytest

from conftest import wait_for

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
GTHREAD = ["--threads", "4", "h2_app:app"]
CLEARTEXT = ["--http-protocols", "h2,h1", "--http2-cleartext", "prior-knowledge"]


def curl(*args):
    """curl's body and, last line, the HTTP version it spoke."""
    out = subprocess.run(["curl", "-sS", "--max-time", "10", "-w", "\n%{http_version}", *args],
                         capture_output=True, text=True, timeout=20)
    assert out.returncode == 0, out.stderr
    body, _, version = out.stdout.rpartition("\n")
    return body, version


class Client:
    """A scripted HTTP/2 client over a raw socket (Python's `h2`)."""

    def __init__(self, server, window=None):
        self.sock = server.connect(timeout=10)
        self.conn = h2.connection.H2Connection(
            h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
        self.conn.initiate_connection()
        if window:
            self.conn.update_settings({h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: window})
        self.streams = {}
        self.terminated = None
        self.flush()

    def close(self):
        self.sock.close()

    def flush(self):
        data = self.conn.data_to_send()
        if data:
            self.sock.sendall(data)

    def request(self, path, method="GET", body=None, end=True, headers=(), priority=None):
        """`priority`: `send_headers`'s `priority_*` arguments, by suffix."""
        sid = self.conn.get_next_available_stream_id()
        fields = [(":method", method), (":scheme", "http"), (":authority", "localhost:1"),
                  (":path", path), *headers]
        extra = {f"priority_{k}": v for k, v in (priority or {}).items()}
        self.conn.send_headers(sid, fields, end_stream=end and body is None, **extra)
        self.streams[sid] = {"status": None, "headers": {}, "body": bytearray(), "ended": False,
                             "reset": None, "informational": [], "trailers": None}
        self.flush()
        if body is not None:
            self.send_body(sid, body, end=end)
        return sid

    def send_body(self, sid, data, end=True):
        """Sends `data` as the client's credit allows, waiting for more."""
        pos = 0
        while pos < len(data):
            room = min(self.conn.local_flow_control_window(sid), self.conn.max_outbound_frame_size)
            if room <= 0:
                self.pump()
                continue
            self.conn.send_data(sid, data[pos:pos + room])
            pos += room
            self.flush()
        if end:
            self.conn.end_stream(sid)
            self.flush()

    def pump(self):
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionError("the server closed the connection")
        for event in self.conn.receive_data(data):
            sid = getattr(event, "stream_id", None)
            stream = self.streams.get(sid)
            if isinstance(event, h2.events.InformationalResponseReceived):
                stream["informational"].append([h for h in event.headers if h[0] != ":status"])
            elif isinstance(event, h2.events.TrailersReceived):
                stream["trailers"] = dict(event.headers)
            elif isinstance(event, h2.events.ResponseReceived):
                stream["headers"] = dict(event.headers)
                stream["status"] = int(stream["headers"][":status"])
            elif isinstance(event, h2.events.DataReceived):
                stream["body"] += event.data
                # Credit back as the body is read, never ahead of it.
                self.conn.acknowledge_received_data(event.flow_controlled_length, sid)
            elif isinstance(event, h2.events.StreamEnded):
                stream["ended"] = True
            elif isinstance(event, h2.events.StreamReset) and stream is not None:
                stream["reset"] = event.error_code
            elif isinstance(event, h2.events.ConnectionTerminated):
                self.terminated = event.error_code
        self.flush()

    def wait(self, condition, timeout=15, what="the server"):
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}")
            self.pump()

    def response(self, sid, timeout=15):
        s = self.streams[sid]
        self.wait(lambda: s["ended"] or s["reset"] is not None, timeout, f"stream {sid}")
        return s


def cleartext(serve, *extra):
    return serve([*CLEARTEXT, *GTHREAD, *extra])


def test_curl_negotiates_h2_by_alpn_over_tls(serve, cert):
    crt, key = cert
    server = serve(["--certfile", str(crt), "--keyfile", str(key), "--http-protocols", "h2,h1",
                    "--access-logfile", "-", *GTHREAD], ready=False)
    url = f"https://127.0.0.1:{server.port}"
    wait_for(lambda: subprocess.run(["curl", "-s", "-k", url + "/"], capture_output=True).returncode == 0,
             20, "rcorn to serve over TLS")
    body, version = curl("--http2", "--cacert", str(crt), url + "/environ?a=1",
                         "-H", "Cookie: x=1")
    assert version == "2"
    env = json.loads(body)
    assert env["SERVER_PROTOCOL"] == "HTTP/2.0"
    assert env["HTTP_HOST"] == f"127.0.0.1:{server.port}"
    assert env["wsgi.url_scheme"] == "https"
    assert env["QUERY_STRING"] == "a=1"
    # A client that offers only HTTP/1.1 is served HTTP/1.1.
    body, version = curl("--http1.1", "--cacert", str(crt), url + "/environ")
    assert version == "1.1" and json.loads(body)["SERVER_PROTOCOL"] == "HTTP/1.1"
    # The access log line names the protocol.
    wait_for(lambda: '"GET /environ?a=1 HTTP/2.0" 200' in server.log(), 10, "the access log line")


def test_curl_prior_knowledge_in_cleartext(serve):
    server = cleartext(serve)
    body, version = curl("--http2-prior-knowledge", server.url + "/")
    assert (body, version) == ("Hello, World!\n", "2")
    # prior-knowledge alone: a trusted peer speaking HTTP/1.1 is refused.
    out = server.request(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert out.startswith(b"HTTP/1.1 400 ")


def test_prior_knowledge_and_upgrade_both_serve_http1_too(serve):
    server = serve(["--http-protocols", "h2,h1", "--http2-cleartext", "both", *GTHREAD])
    assert curl("--http2-prior-knowledge", server.url + "/") == ("Hello, World!\n", "2")
    assert curl("--http1.1", server.url + "/") == ("Hello, World!\n", "1.1")


def test_streams_of_one_connection_run_concurrently(serve):
    server = cleartext(serve)
    client = Client(server)
    try:
        ids = [client.request("/barrier") for _ in range(4)]
        answers = [client.response(sid) for sid in ids]
        # Each answer needed all four requests in the app at once.
        assert [(a["status"], bytes(a["body"])) for a in answers] == [(200, b"met\n")] * 4
    finally:
        client.close()


def test_a_1mb_upload_through_a_small_server_window(serve):
    server = cleartext(serve, "--http2-initial-window-size", "16384")
    client = Client(server, window=16384)
    try:
        body = bytes(range(256)) * 4096
        sid = client.request("/digest", method="POST", body=body)
        answer = client.response(sid)
        assert answer["status"] == 200
        assert json.loads(answer["body"]) == {"length": len(body),
                                              "sha256": hashlib.sha256(body).hexdigest()}
    finally:
        client.close()


def test_a_1mb_download_through_a_small_client_window(serve):
    server = cleartext(serve)
    client = Client(server, window=16384)
    try:
        n = 1 << 20
        sid = client.request(f"/download?{n}")
        answer = client.response(sid, timeout=30)
        assert answer["status"] == 200 and answer["reset"] is None
        assert len(answer["body"]) == n
        assert bytes(answer["body"][:300]) == bytes(i % 251 for i in range(300))
        assert hashlib.sha256(answer["body"]).hexdigest() == hashlib.sha256(
            bytes(i % 251 for i in range(n))).hexdigest()
    finally:
        client.close()


def test_a_client_reset_mid_body_leaves_the_connection_serving(serve):
    server = cleartext(serve)
    client = Client(server)
    try:
        sid = client.request("/digest", method="POST", body=b"x" * 1000, end=False)
        client.conn.reset_stream(sid, h2.errors.ErrorCodes.CANCEL)
        client.flush()
        again = client.response(client.request("/"))
        assert (again["status"], bytes(again["body"])) == (200, b"Hello, World!\n")
        assert client.terminated is None
    finally:
        client.close()


def test_a_stream_reset_mid_response_is_a_debug_line_not_a_traceback(serve):
    """The application's write fails for the client's RST_STREAM: a debug
    line, as gunicorn logs it ("HTTP/2 stream closed"), and the connection
    serves on."""
    server = cleartext(serve, "--log-level", "debug")
    client = Client(server)
    try:
        sid = client.request("/endless")
        stream = client.streams[sid]
        client.wait(lambda: len(stream["body"]) > 0, what="the first body bytes")
        client.conn.reset_stream(sid, h2.errors.ErrorCodes.CANCEL)
        client.flush()
        wait_for(lambda: "HTTP/2 stream closed" in server.log(), 10, "the reset's debug line")
        again = client.response(client.request("/"))
        assert (again["status"], bytes(again["body"])) == (200, b"Hello, World!\n")
        assert client.terminated is None
    finally:
        client.close()
    log = server.log()
    assert "Traceback" not in log and "Error handling request" not in log, log[-2000:]


def test_an_application_error_midway_is_logged_and_resets_the_stream(serve):
    server = cleartext(serve)
    client = Client(server)
    try:
        failed = client.response(client.request("/fail-midway"))
        assert failed["status"] == 200 and failed["reset"] is not None
        assert not failed["ended"]
        wait_for(lambda: "boom in the middle of the stream" in server.log(), 10, "the traceback")
        assert "Error handling request /fail-midway" in server.log()
        assert "Traceback (most recent call last):" in server.log()
        again = client.response(client.request("/"))
        assert again["status"] == 200
    finally:
        client.close()


def rapid_reset_frames(count):
    """HEADERS then RST_STREAM, `count` times: CVE-2023-44487's pattern."""
    encoder = hpack.Encoder()
    block = encoder.encode([(":method", "GET"), (":scheme", "http"), (":authority", "x"),
                            (":path", "/")])
    out = bytearray(PREFACE + hf.SettingsFrame(0).serialize())
    for i in range(count):
        sid = 1 + 2 * i
        headers = hf.HeadersFrame(sid, block)
        headers.flags.add("END_HEADERS")
        headers.flags.add("END_STREAM")
        out += headers.serialize()
        out += hf.RstStreamFrame(sid, error_code=8).serialize()
    return bytes(out)


def read_frames(sock, until, timeout=10):
    """Frames from the server (hyperframe) until `until(frame)` holds."""
    buf, deadline = b"", time.monotonic() + timeout
    sock.settimeout(1)
    while time.monotonic() < deadline:
        try:
            data = sock.recv(65536)
        except socket.timeout:
            continue
        except ConnectionResetError:
            break
        if not data:
            break
        buf += data
        while len(buf) >= 9:
            frame, length = hf.Frame.parse_frame_header(memoryview(buf[:9]))
            if len(buf) < 9 + length:
                break
            frame.parse_body(memoryview(buf[9:9 + length]))
            buf = buf[9 + length:]
            if until(frame):
                return frame
    return None


def test_rapid_reset_flood_ends_with_enhance_your_calm_while_others_are_served(serve):
    server = cleartext(serve)
    attacker = server.connect(timeout=10)
    try:
        attacker.sendall(rapid_reset_frames(1000))
        goaway = read_frames(attacker, lambda f: isinstance(f, hf.GoAwayFrame))
        assert goaway is not None and goaway.error_code == 0xB  # ENHANCE_YOUR_CALM
    finally:
        attacker.close()
    assert curl("--http2-prior-knowledge", server.url + "/") == ("Hello, World!\n", "2")
    wait_for(lambda: re.search(r"WARNING.*127\.0\.0\.1.*ENHANCE_YOUR_CALM", server.log()), 10,
             "the flood's warning")


def test_an_untrusted_peer_gets_http1_only(serve):
    server = serve([*CLEARTEXT, "--forwarded-allow-ips", "10.9.9.9", *GTHREAD])
    assert curl("--http1.1", server.url + "/") == ("Hello, World!\n", "1.1")
    # The preface is read as an HTTP/1 request, and refused as one.
    out = server.request(PREFACE)
    assert out.startswith(b"HTTP/1.1 4"), out[:60]
    assert b"\x00\x00" not in out[:9]


def test_the_sync_worker_answers_http1_and_says_why(serve, cert):
    crt, key = cert
    server = serve(["--certfile", str(crt), "--keyfile", str(key), "--http-protocols", "h2,h1",
                    "h2_app:app"], ready=False)
    url = f"https://127.0.0.1:{server.port}"
    wait_for(lambda: subprocess.run(["curl", "-s", "-k", url + "/"], capture_output=True).returncode == 0,
             20, "rcorn to serve over TLS")
    assert curl("--http2", "--cacert", str(crt), url + "/") == ("Hello, World!\n", "1.1")
    wait_for(lambda: "HTTP/2 is not supported by the sync worker. Use gthread, gevent, or asgi "
             "workers for HTTP/2 support. Falling back to HTTP/1.1 only." in server.log(), 10,
             "the sync worker's warning")


@pytest.mark.skipif(shutil.which("h2load") is None, reason="h2load (nghttp2-client) is not installed")
def test_h2load_short_run_has_no_failures(serve):
    server = cleartext(serve)
    out = subprocess.run(["h2load", "-n", "2000", "-c", "4", "-m", "10", server.url + "/"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert re.search(r"requests: 2000 total, 2000 started, 2000 done, 2000 succeeded, 0 failed",
                     out.stdout), out.stdout


def test_an_oversized_header_list_gets_431_and_a_warning(serve):
    server = cleartext(serve, "--http2-max-header-list-size", "16384")
    client = Client(server)
    try:
        big = client.response(client.request("/", headers=[("x-big", "a" * 20000)]))
        assert big["status"] == 431
        # The connection goes on (the HPACK table stayed in step).
        again = client.response(client.request("/"))
        assert again["status"] == 200
    finally:
        client.close()
    wait_for(lambda: re.search(r"WARNING.*127\.0\.0\.1 \(stream 1\) refused with 431", server.log()),
             10, "the 431 warning")
