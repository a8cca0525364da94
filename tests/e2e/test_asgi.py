"""The asgi worker (`-k asgi`): ASGI 3 HTTP and lifespan, over real sockets."""

import json
import signal
import socket

import httpx
import pytest

from conftest import hup_under_load, recv_all, run_to_exit, wait_for

ASGI = ["-k", "asgi"]


def raw(server, request, timeout=5):
    return server.request(request, timeout=timeout)


def split(response):
    head, _, body = response.partition(b"\r\n\r\n")
    return head.decode("latin-1"), body


def test_scope_has_every_http_field(serve):
    server = serve([*ASGI, "asgi_raw:app", "--root-path", "/mnt"])
    r = httpx.get(server.url + "/caf%C3%A9/x?a=1&b=%20", headers={"X-Mixed-Case": "v"}, timeout=5)
    scope = r.json()
    assert scope["type"] == "http"
    assert scope["asgi"] == {"version": "3.0", "spec_version": "2.3"}
    assert scope["http_version"] == "1.1"
    assert scope["method"] == "GET"
    assert scope["scheme"] == "http"
    # uvicorn >= 0.26: path includes root_path; raw_path does not.
    assert scope["path"] == "/mnt/café/x"
    assert scope["raw_path"] == "/caf%C3%A9/x"
    assert scope["query_string"] == "a=1&b=%20"
    assert scope["root_path"] == "/mnt"
    assert ["x-mixed-case", "v"] in scope["headers"]
    assert all(name == name.lower() for name, _ in scope["headers"])
    assert scope["client"][0] == "127.0.0.1" and isinstance(scope["client"][1], int)
    assert scope["server"] == ["127.0.0.1", server.port]
    assert scope["state"] == {"greeting": "hello from lifespan"}
    # HTTP/1.0 is reported as such.
    head, body = split(raw(server, b"GET /x HTTP/1.0\r\n\r\n"))
    assert json.loads(body)["http_version"] == "1.0"


def test_scope_on_a_unix_socket(serve, tmp_path):
    path = tmp_path / "asgi.sock"
    server = serve([*ASGI, "asgi_raw:app"], bind=f"unix:{path}")
    head, body = split(raw(server, b"GET /x HTTP/1.1\r\nHost: x\r\n\r\n"))
    scope = json.loads(body)
    assert scope["client"] is None
    assert scope["server"] == [str(path), None]


def test_request_body_arrives_in_messages_with_more_body(serve):
    server = serve([*ASGI, "asgi_raw:app"])
    r = httpx.post(server.url + "/echo", content=b"a" * 100_000, timeout=5)
    assert r.content == b"a" * 100_000
    chunked = (b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
               b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")
    head, body = split(raw(server, chunked))
    assert head.startswith("HTTP/1.1 200") and body == b"hello world"


def test_response_framing_chunked_content_length_head_204(serve):
    server = serve([*ASGI, "asgi_raw:app"])
    head, body = split(raw(server, b"GET /chunks HTTP/1.1\r\nHost: x\r\n\r\n"))
    assert "Transfer-Encoding: chunked" in head
    assert body == b"4\r\none \r\n4\r\ntwo \r\n5\r\nthree\r\n0\r\n\r\n"
    head, body = split(raw(server, b"GET /sized HTTP/1.1\r\nHost: x\r\n\r\n"))
    assert "content-length: 9" in head.lower() and body == b"four five"
    # A whole body in one message gets a Content-Length.
    head, body = split(raw(server, b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"))
    assert "Content-Length: 3" in head and body == b"abc"
    # HTTP/1.0 has no chunks: the end of the body is the connection's.
    head, body = split(raw(server, b"GET /chunks HTTP/1.0\r\n\r\n"))
    assert "chunked" not in head and body == b"one two three"
    head, body = split(raw(server, b"HEAD /sized HTTP/1.1\r\nHost: x\r\n\r\n"))
    assert head.startswith("HTTP/1.1 200") and body == b""
    head, body = split(raw(server, b"GET /204 HTTP/1.1\r\nHost: x\r\n\r\n"))
    assert head.startswith("HTTP/1.1 204") and body == b""
    assert "Content-Length" not in head and "chunked" not in head


def test_keep_alive_and_pipelining(serve):
    server = serve([*ASGI, "asgi_raw:app"])
    two = (b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\none"
           b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\ntwo")
    response = raw(server, two)
    assert response.count(b"HTTP/1.1 200") == 2
    assert response.index(b"one") < response.index(b"two")
    with httpx.Client(timeout=5) as client:
        pids = {client.get(server.url + "/pid").text for _ in range(20)}
    assert len(pids) == 1


def test_access_log_lines(serve):
    server = serve([*ASGI, "asgi_raw:app", "--access-logfile", "-"])
    httpx.post(server.url + "/echo?q=1", content=b"abc", timeout=5)
    wait_for(lambda: '"POST /echo?q=1 HTTP/1.1" 200 3' in server.log(), 5, "the access line")


def test_application_errors(serve):
    server = serve([*ASGI, "asgi_raw:app"])
    head, _ = split(raw(server, b"GET /raise-before HTTP/1.1\r\nHost: x\r\n\r\n"))
    assert head.startswith("HTTP/1.1 500")
    head, _ = split(raw(server, b"GET /nothing HTTP/1.1\r\nHost: x\r\n\r\n"))
    assert head.startswith("HTTP/1.1 500")
    # After the body began: the connection closes without the final chunk.
    with server.connect() as s:
        s.sendall(b"GET /raise-after HTTP/1.1\r\nHost: x\r\n\r\n")
        response = recv_all(s)
    assert response.startswith(b"HTTP/1.1 200") and b"partial" in response
    assert not response.endswith(b"0\r\n\r\n")
    log = server.log()
    assert "Exception in ASGI application" in log and "failed before the response" in log
    assert "ASGI callable returned without starting response." in log
    # The worker serves on.
    assert httpx.get(server.url + "/pid", timeout=5).status_code == 200


def test_disconnect_after_the_body(serve):
    server = serve([*ASGI, "asgi_raw:app"])
    s = server.connect()
    s.sendall(b"GET /disconnect HTTP/1.1\r\nHost: x\r\n\r\n")
    s.close()
    wait_for(lambda: "after the body: http.disconnect" in server.log(), 10, "http.disconnect")


def test_receive_says_disconnect_once_the_response_is_done(serve):
    server = serve([*ASGI, "asgi_raw:app"])
    with httpx.Client(timeout=5) as client:
        assert client.get(server.url + "/watch").text == "answered"
        wait_for(lambda: "once answered: http.disconnect" in server.log(), 5, "http.disconnect")


def test_100_continue_only_when_the_body_is_read(serve):
    server = serve([*ASGI, "asgi_raw:app"])
    with server.connect() as s:
        s.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n")
        assert s.recv(100).startswith(b"HTTP/1.1 100 Continue\r\n\r\n")
        s.sendall(b"body")
        s.shutdown(socket.SHUT_WR)
        rest = recv_all(s)
    assert b"HTTP/1.1 200" in rest and rest.endswith(b"body")
    # An app that answers without reading never invites the body.
    with server.connect() as s:
        s.sendall(b"POST /pid HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n")
        first = s.recv(100)
    assert first.startswith(b"HTTP/1.1 200")


def test_a_large_response_waits_for_the_client(serve):
    server = serve([*ASGI, "asgi_raw:app"])
    # 20 MB: more than the socket buffers hold, so the app's sends wait
    # for the client to read.
    with server.connect() as s:
        s.sendall(b"GET /big HTTP/1.0\r\n\r\n")
        response = recv_all(s)
    assert split(response)[1] == b"x" * 65536 * 320


def test_fastapi_json_body_and_streaming(serve):
    server = serve([*ASGI, "asgi_frameworks:fastapi_app"])
    assert httpx.get(server.url + "/json", timeout=5).json() == {"hello": "world"}
    r = httpx.post(server.url + "/items", json={"name": "pen", "price": 1.5}, timeout=5)
    assert r.json() == {"name": "pen", "double": 3.0}
    r = httpx.post(server.url + "/items", json={"name": "pen"}, timeout=5)
    assert r.status_code == 422
    r = httpx.get(server.url + "/stream", timeout=5)
    assert r.text == "".join(f"part {i}\n" for i in range(5))
    assert r.headers["transfer-encoding"] == "chunked"
    assert httpx.get(server.url + "/state", timeout=5).json() == {"started": "yes"}


def test_starlette_and_root_path(serve):
    server = serve([*ASGI, "asgi_frameworks:starlette_app", "--root-path", "/api"])
    assert httpx.get(server.url + "/", timeout=5).text == "starlette home"
    r = httpx.post(server.url + "/echo", content=b"12345", timeout=5)
    assert r.json() == {"len": 5, "path": "/api/echo", "root_path": "/api"}


@pytest.mark.parametrize("alias", ["uvicorn.workers.UvicornWorker", "uvicorn_worker.UvicornH11Worker"])
def test_uvicorn_worker_classes_select_the_asgi_worker(serve, alias):
    server = serve(["-k", alias, "asgi_raw:app"])
    assert httpx.get(server.url + "/state", timeout=5).text == "hello from lifespan"
    assert "Using worker: asgi" in server.log()
    assert f"{alias} is served by rcorn's own asgi worker (uvicorn is not used)" in server.log()


def test_lifespan_startup_failure_stops_the_server():
    result = run_to_exit([*ASGI, "-b", "127.0.0.1:0", "asgi_raw:failing_startup"])
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "database unreachable" in output
    assert "Application startup failed. Exiting." in output
    assert "Worker failed to boot" in output or "Reason: Worker failed to boot" in output


def test_lifespan_auto_tolerates_an_app_without_it_and_on_does_not(serve):
    server = serve([*ASGI, "asgi_raw:http_only"])
    assert httpx.get(server.url + "/", timeout=5).text == "http only"
    assert "ASGI 'lifespan' protocol appears unsupported." in server.log()
    result = run_to_exit([*ASGI, "-b", "127.0.0.1:0", "--asgi-lifespan", "on", "asgi_raw:http_only"])
    assert result.returncode != 0
    assert "Exception in 'lifespan' protocol" in result.stdout + result.stderr
    server = serve([*ASGI, "--asgi-lifespan", "off", "--asgi-loop", "asyncio", "asgi_raw:app"])
    assert httpx.get(server.url + "/state", timeout=5).text == "none"


def test_term_drains_an_in_flight_request_then_runs_shutdown(serve):
    server = serve([*ASGI, "asgi_raw:app"])
    s = server.connect(timeout=10)
    s.sendall(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
    wait_for(lambda: "slow request started" in server.log(), 5, "the request to reach the app")
    server.signal(signal.SIGTERM)
    response = recv_all(s)
    s.close()
    assert response.startswith(b"HTTP/1.1 200") and response.endswith(b"slow done")
    assert b"Connection: close" in response
    assert server.wait_exit() == 0
    assert "lifespan shutdown ran" in server.log()


def test_max_requests_recycles_the_worker(serve):
    server = serve([*ASGI, "asgi_raw:app", "--max-requests", "10"])
    pids = set()
    for _ in range(35):
        r = httpx.get(server.url + "/pid", timeout=10)
        assert r.status_code == 200
        pids.add(r.text)
    assert len(pids) >= 3
    assert server.log().count("Application startup complete.") >= 3


def test_hup_with_two_workers_under_load_loses_no_request(serve):
    server = serve([*ASGI, "asgi_raw:app", "-w", "2"], workers=2)
    done, failures = hup_under_load(server, "/pid")
    assert len(done) > 100
    assert failures == [], failures[:5]


def test_each_request_has_a_scope_of_its_own(serve):
    # The server reuses what it can between requests (the addresses of a
    # connection, the constant keys): what one request's application
    # changes in its scope is not seen by the next on the same connection.
    server = serve([*ASGI, "asgi_scope:app"])
    with httpx.Client(timeout=5) as client:
        first, second = (client.get(server.url + "/caf%C3%A9", headers={"Accept": "x/y"}).json()
                         for _ in range(2))
    assert first == second
    assert first["asgi"] == {"version": "3.0", "spec_version": "2.3"}
    assert "changed" not in first["extensions"] and first["state"] == {}
    assert ["accept", "x/y"] in first["headers"]
    assert not any(name == "changed" for name, _ in first["headers"])
    assert first["path"] == "/café"
    assert first["client"][0] == "127.0.0.1" and first["server"] == ["127.0.0.1", server.port]
