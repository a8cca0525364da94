"""Serving HTTP/1.1 end to end with real clients."""

import json
import re
import socket
import shutil
import subprocess

import httpx
import pytest

from conftest import APPS, free_port, recv_all, rss_kib, traced_sendfiles, wait_for


def test_hello_with_httpx(serve):
    server = serve(["basic:app"])
    r = httpx.get(server.url + "/", timeout=5)
    assert r.status_code == 200
    assert r.text == "Hello, World!\n"
    assert r.headers["server"] == "rcorn"
    assert "date" in r.headers


def test_environ_has_every_pep3333_key(serve):
    server = serve(["basic:app"])
    r = httpx.get(server.url + "/environ?a=1&b=%20", headers={"X-Custom": "v"}, timeout=5)
    env = r.json()
    for key in [
        "REQUEST_METHOD", "SCRIPT_NAME", "PATH_INFO", "QUERY_STRING", "SERVER_NAME", "SERVER_PORT",
        "SERVER_PROTOCOL", "REMOTE_ADDR", "REMOTE_PORT", "RAW_URI", "wsgi.version", "wsgi.url_scheme",
        "wsgi.multithread", "wsgi.multiprocess", "wsgi.run_once", "wsgi.input_terminated", "SERVER_SOFTWARE",
    ]:
        assert key in env, key
    assert env["REQUEST_METHOD"] == "GET"
    assert env["PATH_INFO"] == "/environ"
    assert env["QUERY_STRING"] == "a=1&b=%20"
    assert env["RAW_URI"] == "/environ?a=1&b=%20"
    assert env["SERVER_NAME"] == "127.0.0.1"
    assert env["SERVER_PORT"] == str(server.port)
    assert env["SERVER_PROTOCOL"] == "HTTP/1.1"
    assert env["REMOTE_ADDR"] == "127.0.0.1"
    assert env["HTTP_X_CUSTOM"] == "v"
    assert env["wsgi.url_scheme"] == "http"
    assert env["wsgi.multithread"] is False
    assert env["SERVER_SOFTWARE"].startswith("rcorn/")
    assert env["wsgi.input.type"] == "WsgiInput"


def test_remote_addr_and_port_name_each_connection(serve):
    # REMOTE_ADDR is reused while the address repeats; the port must still
    # be each connection's own.
    server = serve(["basic:app"])
    for _ in range(3):
        with server.connect() as s:
            s.sendall(b"GET /environ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            raw = recv_all(s)
            port = s.getsockname()[1]
        env = json.loads(raw.partition(b"\r\n\r\n")[2])
        assert (env["REMOTE_ADDR"], env["REMOTE_PORT"]) == ("127.0.0.1", str(port))


def test_path_info_is_percent_decoded_as_latin1(serve):
    server = serve(["basic:app"])
    raw = server.request(b"GET /environ/caf%C3%A9%20x HTTP/1.0\r\n\r\n")
    body = json.loads(raw.split(b"\r\n\r\n", 1)[1])
    assert body["PATH_INFO"] == "/environ/caf\u00c3\u00a9 x"
    assert body["RAW_URI"] == "/environ/caf%C3%A9%20x"


def test_repeated_headers_are_joined_and_underscored_names_dropped(serve):
    server = serve(["basic:app"])
    raw = server.request(
        b"GET /environ HTTP/1.0\r\nX-Multi: a\r\nX-Multi: b\r\nX_Under: no\r\nContent-Type: text/x\r\n\r\n"
    )
    env = json.loads(raw.split(b"\r\n\r\n", 1)[1])
    assert env["HTTP_X_MULTI"] == "a,b"
    assert "HTTP_X_UNDER" not in env
    assert env["CONTENT_TYPE"] == "text/x"
    assert "HTTP_CONTENT_TYPE" not in env


def test_keep_alive_serves_many_requests_on_one_connection(serve):
    server = serve(["basic:app"])
    with server.connect() as s:
        for _ in range(3):
            s.sendall(b"GET /pid HTTP/1.1\r\nHost: x\r\n\r\n")
            head = b""
            while b"\r\n\r\n" not in head:
                head += s.recv(4096)
            assert head.startswith(b"HTTP/1.1 200 OK\r\n")
    with httpx.Client(base_url=server.url, timeout=5) as client:
        assert [client.get("/").status_code for _ in range(5)] == [200] * 5


def test_pipelined_requests_are_answered_in_order(serve):
    server = serve(["basic:app"])
    raw = server.request(
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
        b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
        b"GET /writer HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    assert raw.count(b"HTTP/1.1 200 OK") == 3
    first = raw.index(b"Hello, World!")
    second = raw.index(b"\r\n\r\nhello")
    # write() and the returned iterable become two chunks of one body.
    third = raw.index(b"8\r\nwritten \r\nc\r\nand returned\r\n0\r\n\r\n")
    assert first < second < third


def read_one_response(sock):
    """Reads one response with a Content-Length; returns (head, body)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"connection closed after {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(re.search(rb"(?i)content-length: *(\d+)", head).group(1))
    while len(body) < length:
        chunk = sock.recv(65536)
        assert chunk, "connection closed inside the body"
        body += chunk
    assert len(body) == length, "bytes past the response: another response leaked in"
    return head, body


def test_responses_written_in_batches_reach_their_own_connections(serve):
    # The sync worker holds finished keep-alive responses briefly to write
    # several together; with 48 requests ready at once each connection must
    # still get its own answer, complete, and take a second request.
    server = serve(["basic:app"])
    conns = [server.connect(timeout=10) for _ in range(48)]
    try:
        for round_ in range(2):
            for i, s in enumerate(conns):
                s.sendall(f"GET /environ?c={i}&r={round_} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            for i, s in enumerate(conns):
                head, body = read_one_response(s)
                assert head.startswith(b"HTTP/1.1 200 OK")
                assert json.loads(body)["QUERY_STRING"] == f"c={i}&r={round_}"
    finally:
        for s in conns:
            s.close()


def test_http10_closes_after_response(serve):
    server = serve(["basic:app"])
    with server.connect() as s:
        s.sendall(b"GET / HTTP/1.0\r\n\r\n")
        raw = recv_all(s)  # returns only because the server closed
    assert raw.startswith(b"HTTP/1.0 200 OK") or raw.startswith(b"HTTP/1.1 200 OK")
    assert raw.endswith(b"Hello, World!\n")


def test_head_has_no_body(serve):
    server = serve(["basic:app"])
    raw = server.request(b"HEAD / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK")
    assert b"Content-Length: 14" in head
    assert body == b""


def test_streamed_response_is_chunked(serve):
    server = serve(["basic:app"])
    raw = server.request(b"GET /stream HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert b"Transfer-Encoding: chunked" in raw
    r = httpx.get(server.url + "/stream", timeout=5)
    assert r.text == "".join(f"part {i}\n" for i in range(5))


def test_chunked_upload_is_decoded(serve):
    server = serve(["basic:app"])

    def body():
        yield b"hello "
        yield b"chunked "
        yield b"world"

    r = httpx.post(server.url + "/echo", content=body(), timeout=5)
    assert r.status_code == 200
    assert r.content == b"hello chunked world"


def test_readline_and_iteration_of_wsgi_input(serve):
    server = serve(["basic:app"])
    r = httpx.post(server.url + "/lines", content=b"one\nsecond\nthird\nfourth", timeout=5)
    assert r.json() == ["one\n", "sec", ["ond\n", "third\n", "fourth"]]


def test_expect_100_continue_is_answered_when_the_app_reads(serve):
    server = serve(["basic:app"])
    with server.connect() as s:
        s.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n")
        interim = s.recv(4096)
        assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
        s.sendall(b"data")
        raw = recv_all(s)
    assert raw.startswith(b"HTTP/1.1 200 OK")
    assert raw.endswith(b"\r\n\r\ndata")


def test_no_100_continue_when_the_app_ignores_the_body(serve):
    server = serve(["basic:app"])
    with server.connect() as s:
        s.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n")
        raw = recv_all(s)  # the server must close: the body's fate is unknown
    assert raw.startswith(b"HTTP/1.1 200 OK")
    assert b"100 Continue" not in raw


def test_each_yielded_or_written_block_is_sent_before_the_next_is_made(serve, tmp_path):
    """PEP 3333: a server must not delay a block; the second piece is made
    only after the client has read the first."""
    for worker in (["basic:app"], ["basic:app", "--threads", "2"]):
        server = serve(worker)
        for path in ("/gated", "/gated-write"):
            gate = tmp_path / f"gate{len(worker)}{path.replace('/', '-')}"
            with httpx.stream("GET", f"{server.url}{path}?{gate}", timeout=5) as response:
                pieces = response.iter_bytes()
                first = next(pieces)
                assert first == b"first\n", first
                gate.touch()
                assert first + b"".join(pieces) == b"first\nsecond\n"


def test_large_upload_and_download_stream_without_buffering(serve):
    server = serve(["basic:app"])
    worker = server.workers()[0]
    size = 100 * 1024 * 1024
    block = b"y" * (1024 * 1024)

    def body():
        for _ in range(size // len(block)):
            yield block

    r = httpx.post(server.url + "/count", content=body(), headers={"Content-Length": str(size)}, timeout=60)
    assert r.text == str(size)
    received = 0
    with httpx.stream("GET", server.url + f"/big?{size}", timeout=60) as r:
        for part in r.iter_raw():
            received += len(part)
    assert received == size
    # Neither body was held whole: the worker stays far below 100 MB.
    assert rss_kib(worker) < 80 * 1024


def test_write_callable_and_close_are_honoured(serve):
    server = serve(["basic:app"])
    assert httpx.get(server.url + "/writer", timeout=5).text == "written and returned"
    assert httpx.get(server.url + "/closing", timeout=5).text == "ab"
    wait_for(lambda: "result.close() called" in server.log(), 5, "close() to be called")


BASIC_APP = (APPS / "basic.py").read_bytes()


@pytest.mark.parametrize("flags", [[], ["--no-sendfile"]])
def test_file_wrapper_serves_the_file(serve, flags):
    server = serve(["basic:app", *flags])
    with httpx.Client(timeout=5) as client:
        r = client.get(server.url + "/file")
        assert r.content == BASIC_APP
        if not flags:
            # sendfile knows the length up front: no chunked framing.
            assert r.headers["content-length"] == str(len(BASIC_APP))
        assert client.get(server.url + "/file-from-offset").content == BASIC_APP[100:]
        # The same keep-alive connection still works after a file body.
        assert client.get(server.url + "/file").content == BASIC_APP
        # A file longer than its Content-Length is cut there, as gunicorn
        # cuts it, and the connection goes on (nothing past it was sent).
        cut = client.get(server.url + "/file-with-length")
        assert cut.content == BASIC_APP[:50]
        assert client.get(server.url + "/file").content == BASIC_APP
    # HTTP/1.0 without keep-alive: the body runs to the close.
    raw = server.request(b"GET /file HTTP/1.0\r\n\r\n")
    assert raw.split(b"\r\n\r\n", 1)[1] == BASIC_APP


@pytest.mark.parametrize("worker", ["sync", "gthread"])
def test_a_body_longer_than_its_content_length_is_cut_and_the_connection_kept(serve, worker):
    server = serve(["-k", worker, "basic:app"])
    pipelined = b"GET /body-with-length HTTP/1.1\r\nHost: x\r\n\r\n" * 2
    with server.connect(timeout=5) as sock:
        sock.sendall(pipelined)
        responses = b""
        while responses.count(b"\r\n\r\nhello") < 2:
            chunk = sock.recv(4096)
            assert chunk, f"closed after {responses!r}"
            responses += chunk
    assert b" world" not in responses
    assert responses.count(b"Content-Length: 5\r\n") == 2


def sendfile_calls(server, path):
    """Runs one request while strace watches the worker; the sendfile calls."""
    def fetch():
        assert httpx.get(server.url + path, timeout=5).content == BASIC_APP
    return traced_sendfiles(server, fetch)


@pytest.mark.skipif(shutil.which("strace") is None, reason="strace is not installed")
def test_file_wrapper_uses_sendfile_unless_told_not_to(serve):
    on = serve(["basic:app"])
    assert sendfile_calls(on, "/file"), "no sendfile call for a wrapped regular file"
    off = serve(["basic:app", "--no-sendfile"])
    assert sendfile_calls(off, "/file") == []


def test_wsgi_errors_goes_to_the_error_log(serve):
    server = serve(["basic:app"])
    assert httpx.get(server.url + "/errors", timeout=5).status_code == 200
    wait_for(lambda: "a message for wsgi.errors" in server.log(), 5, "wsgi.errors text in the log")


def test_unix_socket_listener(serve, tmp_path):
    path = tmp_path / "rcorn.sock"
    server = serve(["basic:app"], bind=f"unix:{path}")
    out = subprocess.run(
        ["curl", "-s", "--unix-socket", str(path), "http://localhost/environ"],
        capture_output=True, timeout=10, check=True,
    ).stdout
    env = json.loads(out)
    assert env["SERVER_NAME"] == "localhost"
    server.signal(15)
    assert server.wait_exit() == 0
    assert not path.exists(), "the socket file is removed at shutdown"


def test_ipv6_listener(serve):
    if not socket.has_ipv6:
        pytest.skip("no IPv6 on this machine")
    try:
        port = free_port(socket.AF_INET6, "::1")
    except OSError:
        pytest.skip("no ::1 on this machine")
    serve(["basic:app"], bind=f"[::1]:{port}")
    r = httpx.get(f"http://[::1]:{port}/environ", timeout=5)
    assert r.json()["SERVER_NAME"] == "::1"


def test_several_listeners_at_once(serve, tmp_path):
    port = free_port()
    path = tmp_path / "second.sock"
    serve(["basic:app", "-b", f"unix:{path}"], bind=f"127.0.0.1:{port}")
    assert httpx.get(f"http://127.0.0.1:{port}/", timeout=5).status_code == 200
    out = subprocess.run(["curl", "-s", "--unix-socket", str(path), "http://x/"], capture_output=True, timeout=10)
    assert out.stdout == b"Hello, World!\n"


def test_each_listener_is_named_in_the_environ_of_its_requests(serve):
    # One worker, requests alternating between two TCP listeners: each
    # environ names the listener its request came through.
    first, second = free_port(), free_port()
    serve(["basic:app", "-b", f"127.0.0.1:{second}"], bind=f"127.0.0.1:{first}")
    for port in (first, second, first, second):
        env = httpx.get(f"http://127.0.0.1:{port}/environ", timeout=5).json()
        assert (env["SERVER_NAME"], env["SERVER_PORT"]) == ("127.0.0.1", str(port))


def test_access_log_uses_gunicorn_format(serve):
    server = serve(["basic:app", "--access-logfile", "-"])
    httpx.get(server.url + "/environ?q=1", headers={"User-Agent": "tester/1.0", "Referer": "http://r/"}, timeout=5)
    line = wait_for(
        lambda: next((l for l in server.log().splitlines() if '"GET /environ?q=1 HTTP/1.1"' in l), None),
        5, "an access log line",
    )
    assert re.fullmatch(
        r'127\.0\.0\.1 - - \[\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}\] '
        r'"GET /environ\?q=1 HTTP/1\.1" 200 \d+ "http://r/" "tester/1\.0"',
        line,
    ), line


def test_access_log_prints_response_headers_and_environ_values(serve):
    fmt = '%(s)s type=%({content-type}o)s missing=%({x-nope}o)s method=%({request_method}e)s path=%({PATH_INFO}e)s'
    server = serve(["basic:app", "--access-logfile", "-", "--access-logformat", fmt])
    httpx.get(server.url + "/pid", timeout=5)
    line = wait_for(lambda: next((l for l in server.log().splitlines() if l.endswith("path=/pid")), None),
                    5, "an access log line")
    assert line == "200 type=text/plain missing=- method=GET path=/pid", line


def test_reuse_port_lets_two_servers_share_a_port(serve):
    port = free_port()
    bind = f"127.0.0.1:{port}"
    first = serve(["basic:app", "--reuse-port"], bind=bind)
    second = serve(["basic:app", "--reuse-port"], bind=bind)
    masters = set()
    # The kernel spreads new connections over both listeners.
    for _ in range(200):
        pid = int(httpx.get(f"http://{bind}/pid", headers={"Connection": "close"}, timeout=5).text)
        masters.add(_parent_of(pid))
        if masters == {first.pid, second.pid}:
            break
    assert masters == {first.pid, second.pid}


def _parent_of(pid):
    with open(f"/proc/{pid}/stat") as f:
        return int(f.read().rsplit(")", 1)[1].split()[1])


def test_backlog_is_applied_to_the_listener(serve):
    # ss shows a listener's backlog as Send-Q.
    server = serve(["basic:app", "--backlog", "37"])
    out = subprocess.run(["ss", "-ltnH", f"sport = :{server.port}"], capture_output=True, text=True, timeout=10).stdout
    assert out.split()[2] == "37", out


def test_trusted_proxy_headers_set_the_url_scheme(serve):
    server = serve(["basic:app"])  # forwarded_allow_ips defaults to loopback
    def scheme(headers):
        return httpx.get(server.url + "/environ", headers=headers, timeout=5).json()["wsgi.url_scheme"]
    assert scheme({}) == "http"
    assert scheme({"X-Forwarded-Proto": "https"}) == "https"
    assert scheme({"X-Forwarded-Ssl": "on"}) == "https"
    # Contradicting headers: 400, and the app is not called.
    r = httpx.get(server.url + "/environ", headers={"X-Forwarded-Proto": "https", "X-Forwarded-Ssl": "off"}, timeout=5)
    assert r.status_code == 400


def test_untrusted_peers_cannot_claim_https(serve):
    server = serve(["basic:app", "--forwarded-allow-ips", "10.0.0.0/8"])
    env = httpx.get(server.url + "/environ", headers={"X-Forwarded-Proto": "https"}, timeout=5).json()
    assert env["wsgi.url_scheme"] == "http"


def test_proxy_protocol_names_the_client(serve):
    server = serve(["basic:app", "--proxy-protocol", "auto"])  # proxy_allow_ips: loopback
    preamble = b"PROXY TCP4 203.0.113.7 192.0.2.1 40000 443\r\n"
    raw = server.request(preamble + b"GET /environ HTTP/1.0\r\n\r\n")
    env = json.loads(raw.split(b"\r\n\r\n", 1)[1])
    assert (env["REMOTE_ADDR"], env["REMOTE_PORT"]) == ("203.0.113.7", "40000")
    # auto: a connection without a preamble is served as it is.
    assert httpx.get(server.url + "/", timeout=5).status_code == 200
    # A malformed preamble is a 400 and the app is not called.
    assert server.request(b"PROXY TCP4 bogus\r\nGET / HTTP/1.0\r\n\r\n").startswith(b"HTTP/1.1 400")


def test_proxy_protocol_from_a_peer_not_allowed_is_not_believed(serve):
    server = serve(["basic:app", "--proxy-protocol", "auto", "--proxy-allow-from", "10.0.0.0/8"])
    raw = server.request(b"PROXY TCP4 203.0.113.7 192.0.2.1 40000 443\r\nGET /environ HTTP/1.0\r\n\r\n")
    assert raw.startswith(b"HTTP/1.1 400"), raw[:80]


def test_a_head_larger_than_one_read_is_served(serve):
    # More than the 16 KiB a read takes at once, sent in one go: the rest
    # must be read without waiting for another readiness event.
    server = serve(["basic:app", "--limit-request-field_size", "30000"])
    big = b"x" * 20000
    with server.connect(timeout=5) as s:
        s.sendall(b"GET /environ HTTP/1.1\r\nHost: a\r\nX-Big: " + big + b"\r\nConnection: close\r\n\r\n")
        raw = recv_all(s)
    assert raw.startswith(b"HTTP/1.1 200"), raw[:100]
    assert json.loads(raw.split(b"\r\n\r\n", 1)[1])["HTTP_X_BIG"] == big.decode()


def test_forwarder_headers_from_a_trusted_proxy_set_script_name(serve):
    trusted = serve(["basic:app", "--forwarder-headers", "SCRIPT_NAME,X_TENANT"])
    env = httpx.get(trusted.url + "/app/environ", headers={"SCRIPT_NAME": "/app", "X_Tenant": "t1",
                                                          "X_Other": "no"}, timeout=5).json()
    assert (env["SCRIPT_NAME"], env["PATH_INFO"]) == ("/app", "/environ")
    assert env["HTTP_SCRIPT_NAME"] == "/app" and env["HTTP_X_TENANT"] == "t1"
    assert "HTTP_X_OTHER" not in env  # not listed: dropped as any name with '_'
    # A path outside the proxy's prefix is a configuration mistake: 500.
    r = httpx.get(trusted.url + "/elsewhere", headers={"SCRIPT_NAME": "/app"}, timeout=5)
    assert r.status_code == 500
    assert "does not start with SCRIPT_NAME" in trusted.log()
    # From a peer outside forwarded_allow_ips the headers are dropped.
    untrusted = serve(["basic:app", "--forwarded-allow-ips", "10.9.9.9"])
    env = httpx.get(untrusted.url + "/environ", headers={"SCRIPT_NAME": "/app"}, timeout=5).json()
    assert (env["SCRIPT_NAME"], env["PATH_INFO"]) == ("", "/environ")
    assert "HTTP_SCRIPT_NAME" not in env


def test_header_map_refuse_spares_forwarder_headers_from_a_trusted_proxy(serve):
    # gunicorn's order: a listed name from a peer in forwarded_allow_ips is
    # kept before header_map is consulted; any other name with '_' is refused.
    def get(server, raw_field, path=b"/environ"):
        raw = server.request(b"GET " + path + b" HTTP/1.0\r\n" + raw_field + b"\r\n\r\n")
        status = int(raw.split(b" ", 2)[1])
        return status, (json.loads(raw.split(b"\r\n\r\n", 1)[1]) if status == 200 else None)

    trusted = serve(["basic:app", "--header-map", "refuse", "--forwarder-headers", "SCRIPT_NAME"])
    status, env = get(trusted, b"SCRIPT_NAME: /app", b"/app/environ")
    assert status == 200
    assert (env["SCRIPT_NAME"], env["PATH_INFO"]) == ("/app", "/environ")
    assert env["HTTP_SCRIPT_NAME"] == "/app"
    assert get(trusted, b"X_Other: 1") == (400, None)
    assert get(trusted, b"X-Plain: 1")[1]["HTTP_X_PLAIN"] == "1"

    untrusted = serve(["basic:app", "--header-map", "refuse", "--forwarder-headers", "SCRIPT_NAME",
                       "--forwarded-allow-ips", "10.0.0.1"])
    assert get(untrusted, b"SCRIPT_NAME: /app", b"/app/environ") == (400, None)
    assert get(untrusted, b"X_Other: 1") == (400, None)
    assert get(untrusted, b"X-Plain: 1")[1]["HTTP_X_PLAIN"] == "1"
