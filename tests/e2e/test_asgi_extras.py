"""The asgi worker's extensions (pathsend, trailers, informational and early
hints, tls), `asgi_disconnect_grace_period`, the request hooks and the
access log's response headers, and the frameworks that rely on them."""

import os
import re
import signal
import socket
import ssl
import time

import httpx
import pytest

from conftest import APPS, hup_under_load, recv_all, wait_for

ASGI = ["-k", "asgi"]
EXTENSIONS = ("http.response.early_hint,http.response.informational,"
              "http.response.pathsend,http.response.trailers")


def split(response):
    head, _, body = response.partition(b"\r\n\r\n")
    return head.decode("latin-1"), body


def test_scope_advertises_the_extensions(serve):
    server = serve([*ASGI, "asgi_extras:app"])
    # Trailers only to a client that takes them (`TE: trailers`).
    assert httpx.get(server.url + "/", headers={"TE": "trailers"}, timeout=5).text == EXTENSIONS
    without = httpx.get(server.url + "/", timeout=5).text
    assert without == EXTENSIONS.replace(",http.response.trailers", "")


def test_informational_and_early_hints_come_before_the_response(serve):
    server = serve([*ASGI, "asgi_extras:app"])
    response = server.request(b"GET /early-hints HTTP/1.1\r\nHost: x\r\n\r\n")
    assert response.startswith(
        b"HTTP/1.1 103 Early Hints\r\nlink: </style.css>; rel=preload; as=style\r\n\r\n"
        b"HTTP/1.1 103 Early Hints\r\nlink: </app.js>; rel=preload; as=script\r\n\r\n"
        b"HTTP/1.1 200 OK\r\n"), response
    assert response.endswith(b"\r\n\r\nhinted")
    # An HTTP/1.0 client knows no 1xx: it gets the final response only.
    response = server.request(b"GET /early-hints HTTP/1.0\r\n\r\n")
    assert response.startswith(b"HTTP/1.0 200 OK\r\n") and response.endswith(b"hinted")


def test_trailers_end_the_chunked_body(serve):
    server = serve([*ASGI, "asgi_extras:app"])
    head, body = split(server.request(b"GET /trailers HTTP/1.1\r\nHost: x\r\nTE: trailers\r\n\r\n"))
    assert "Transfer-Encoding: chunked" in head
    assert body == b"9\r\npart one \r\n8\r\npart two\r\n0\r\nx-checksum: abc123\r\nx-rows: 2\r\n\r\n"
    # httpx reads the same response whole and goes on with the connection.
    with httpx.Client(timeout=5, headers={"TE": "trailers"}) as client:
        assert client.get(server.url + "/trailers").text == "part one part two"
        assert client.get(server.url + "/").status_code == 200


def test_trailers_are_dropped_for_a_client_that_did_not_ask_for_them(serve):
    server = serve([*ASGI, "asgi_extras:app"])
    # No TE: the body ends with the last chunk and no fields, as in
    # uvicorn and hypercorn; the connection goes on.
    with server.connect() as s:
        s.sendall(b"GET /trailers HTTP/1.1\r\nHost: x\r\n\r\n")
        response = b""
        while not response.endswith(b"\r\n0\r\n\r\n"):
            chunk = s.recv(65536)
            assert chunk, response
            response += chunk
        head, body = split(response)
        assert "Transfer-Encoding: chunked" in head
        assert body == b"9\r\npart one \r\n8\r\npart two\r\n0\r\n\r\n"
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert recv_all(s).startswith(b"HTTP/1.1 200 OK\r\n")
    # An HTTP/1.0 client gets no chunks at all, whatever its TE says.
    head, body = split(server.request(b"GET /trailers HTTP/1.0\r\nTE: trailers\r\n\r\n"))
    assert "chunked" not in head and body == b"part one part two"


def test_pathsend_opens_the_file_before_send_returns(serve):
    server = serve([*ASGI, "asgi_extras:app"])
    expected = bytes(range(256)) * (300000 // 256) + b"x" * (300000 % 256)
    with httpx.Client(timeout=10) as client:
        r = client.get(server.url + "/pathsend")
        assert r.headers["content-length"] == "300000" and r.content == expected
        # An empty file, and a small one, on the same connection.
        assert client.get(server.url + "/pathsend?0").content == b""
        assert client.get(server.url + "/pathsend?10").content == b"x" * 10
    # A slow reader: the sends wait for it, and all of the file comes.
    with server.connect(timeout=10) as s:
        s.sendall(b"GET /pathsend?5000000 HTTP/1.0\r\n\r\n")
        response = recv_all(s)
    assert len(split(response)[1]) == 5_000_000


def test_starlette_and_fastapi_file_responses_go_through_pathsend(serve):
    expected = (APPS / "asgi_raw.py").read_bytes()
    for app in ("asgi_extras:starlette_app", "asgi_extras:fastapi_app"):
        server = serve([*ASGI, app])
        r = httpx.get(server.url + "/file", timeout=5)
        assert r.status_code == 200 and r.content == expected
        assert r.headers["content-length"] == str(len(expected))


def test_fastapi_background_task_runs_after_the_response(serve):
    server = serve([*ASGI, "asgi_extras:fastapi_app"])
    assert httpx.post(server.url + "/later", timeout=5).json() == {"queued": True}
    wait_for(lambda: "background task ran" in server.log(), 5, "the background task")


@pytest.mark.parametrize("grace", [0, 1])
def test_a_task_is_cancelled_once_the_grace_period_after_a_disconnect_passed(serve, grace):
    server = serve([*ASGI, "asgi_extras:app", "--asgi-disconnect-grace-period", str(grace)])
    with server.connect() as s:
        s.sendall(b"GET /linger HTTP/1.1\r\nHost: x\r\n\r\n")
    if grace:
        # Told first; cancelled once the grace period has passed.
        wait_for(lambda: "linger: http.disconnect" in server.log(), 5, "http.disconnect")
    wait_for(lambda: "linger cancelled after" in server.log(), grace + 5, "the cancellation")
    waited = float(re.search(r"linger cancelled after ([0-9.]+)s", server.log()).group(1))
    assert grace - 0.05 <= waited < grace + 1.0, waited
    # Not the application's error: no traceback; the worker serves on.
    assert "Exception in ASGI application" not in server.log()
    assert httpx.get(server.url + "/", timeout=5).status_code == 200


def test_cancellation_reaches_an_app_waiting_in_receive(serve):
    server = serve([*ASGI, "asgi_extras:app", "--asgi-disconnect-grace-period", "0"])
    # The client sends the request, then resets the connection.
    s = server.connect()
    s.sendall(b"GET /wait-receive HTTP/1.1\r\nHost: x\r\n\r\n")
    wait_for(lambda: "waiting in receive" in server.log(), 5, "the app to wait in receive")
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    s.close()
    wait_for(lambda: "receive raised CancelledError" in server.log(), 5, "the cancellation")


def test_starlette_sse_stops_within_a_second_of_the_client_leaving(serve):
    server = serve([*ASGI, "asgi_extras:starlette_app"])
    with httpx.Client(timeout=5) as client:
        before = client.get(server.url + "/tasks").json()["tasks"]
    s = server.connect()
    s.sendall(b"GET /sse HTTP/1.1\r\nHost: x\r\n\r\n")
    received = b""
    while received.count(b"data: event") < 3:
        received += s.recv(4096)
    s.close()
    left = time.monotonic()
    wait_for(lambda: "sse generator stopped" in server.log(), 1.0, "the generator to stop")
    assert time.monotonic() - left < 1.0
    # No task is left behind.
    with httpx.Client(timeout=5) as client:
        wait_for(lambda: client.get(server.url + "/tasks").json()["tasks"] == before, 2, "tasks to end")


def test_request_hooks_with_gunicorns_asgi_semantics(serve, tmp_path):
    conf = tmp_path / "hooks.conf.py"
    conf.write_text(
        "def pre_request(worker, req):\n"
        "    print('pre', req.method, req.path, req.query, req.version, dict(req.headers).get('X-TAG'),"
        " flush=True)\n"
        "    if req.path == '/fail-in-hook':\n"
        "        raise ValueError('pre_request refused')\n"
        "def post_request(worker, req, environ, resp):\n"
        "    print('post', req.path, resp.status, resp.sent, dict(resp.headers).get('x-custom'),"
        " environ is None if environ is None else environ['PATH_INFO'], worker.pid > 0, flush=True)\n")
    server = serve([*ASGI, "-c", str(conf), "asgi_extras:app"])
    assert httpx.get(server.url + "/headers?a=1", headers={"X-Tag": "t1"}, timeout=5).status_code == 201
    wait_for(lambda: "post /headers 201 4 custom value True True" in server.log(), 5, "post_request")
    assert "pre GET /headers a=1 (1, 1) t1" in server.log()
    # An exception in pre_request is the application's: a 500, post still runs.
    assert httpx.get(server.url + "/fail-in-hook", timeout=5).status_code == 500
    wait_for(lambda: "post /fail-in-hook 500" in server.log(), 5, "post_request after the failure")
    assert "pre_request refused" in server.log()


def test_post_request_gets_an_environ_with_an_access_log(serve, tmp_path):
    conf = tmp_path / "hooks.conf.py"
    conf.write_text("def post_request(worker, req, environ, resp):\n"
                    "    print('environ', environ['REQUEST_METHOD'], environ['PATH_INFO'],"
                    " environ['QUERY_STRING'], flush=True)\n")
    server = serve([*ASGI, "-c", str(conf), "--access-logfile", "-", "asgi_extras:app"])
    httpx.get(server.url + "/headers?q=2", timeout=5)
    wait_for(lambda: "environ GET /headers q=2" in server.log(), 5, "post_request's environ")


def test_access_log_reads_response_headers(serve):
    server = serve([*ASGI, "asgi_extras:app", "--access-logfile", "-",
                    "--access-logformat", "%(s)s [%({x-custom}o)s] [%({content-type}o)s] [%({missing}o)s]"])
    httpx.get(server.url + "/headers", timeout=5)
    wait_for(lambda: "201 [custom value] [text/plain] [-]" in server.log(), 5, "the access line")
    # A failed response logs none of the headers the app began with.
    httpx.get(server.url + "/fail", timeout=5)
    wait_for(lambda: "500 [-] [-] [-]" in server.log(), 5, "the 500's access line")


def test_access_log_reads_gunicorns_asgi_environ(serve):
    fmt = ("env %({request_method}e)s %({path_info}e)s %({query_string}e)s %({server_protocol}e)s "
           "%({http_x_tag}e)s %({remote_addr}e)s %({wsgi.url_scheme}e)s")
    server = serve([*ASGI, "asgi_extras:app", "--access-logfile", "-", "--access-logformat", fmt])
    httpx.get(server.url + "/headers?q=1", headers={"X-Tag": "t2"}, timeout=5)
    # Only the keys gunicorn's asgi worker logs with have a value.
    wait_for(lambda: "env GET /headers q=1 HTTP/1.1 t2 127.0.0.1 -" in server.log(), 5, "the access line")


def test_a_body_against_its_content_length_is_logged_and_closes(serve):
    server = serve([*ASGI, "asgi_extras:app"])
    two = b"GET /too-long HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n"
    response = server.request(two)
    # Cut at the Content-Length; the pipelined request is not served.
    assert response.endswith(b"\r\n\r\nabc") and response.count(b"HTTP/1.1") == 1
    wait_for(lambda: "has 6 bytes, its Content-Length declares 3" in server.log(), 5, "the log line")
    response = server.request(two.replace(b"too-long", b"too-short"))
    assert response.endswith(b"\r\n\r\nabc") and response.count(b"HTTP/1.1") == 1
    wait_for(lambda: "has 3 bytes, its Content-Length declares 10" in server.log(), 5, "the log line")


def test_django_asgi_async_and_sync_views(serve):
    server = serve([*ASGI, "djsite.asgi:application"])
    assert httpx.get(server.url + "/async", timeout=10).json() == {"async": True, "path": "/async"}
    assert httpx.get(server.url + "/", timeout=10).text == "Hello from Django"
    r = httpx.post(server.url + "/form", data={"name": "rcorn"}, timeout=10)
    assert r.text == "name=rcorn method=POST"


def test_tls_extension_when_tls_is_on(serve, cert):
    crt, key = cert
    server = serve([*ASGI, "asgi_extras:app", "--certfile", str(crt), "--keyfile", str(key)], ready=False)
    url = server.wait_https(ssl.create_default_context(cafile=str(crt)))
    ctx = ssl.create_default_context(cafile=str(crt))
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_ciphers("ECDHE-RSA-AES128-GCM-SHA256")
    names, tls = httpx.get(url + "/", verify=ctx, timeout=5, headers={"TE": "trailers"}).text.split("\n")
    assert names == EXTENSIONS + ",tls"
    # TLS 1.2 with TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 (0xc02f), no client certificate.
    assert tls == "tls_version=0x303 cipher_suite=0xc02f client_cert_chain=0"


def test_ttin_ttou_and_max_requests_under_load_lose_no_request(serve):
    server = serve([*ASGI, "asgi_raw:app", "-w", "2", "--max-requests", "40"], workers=2)
    done, failures = hup_under_load(server, "/pid", signals=(signal.SIGTTIN, signal.SIGTTOU))
    assert len(done) > 100
    assert failures == [], failures[:5]
    # Both worker slots were recycled more than once.
    assert server.log().count("Application startup complete.") > 3


RELOAD_APP = """
async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    await send({{"type": "http.response.start", "status": 200, "headers": []}})
    await send({{"type": "http.response.body", "body": b"{body}"}})
"""


def test_reload_restarts_the_asgi_worker_on_a_source_change(serve, tmp_path):
    app_dir = tmp_path / "src"
    app_dir.mkdir()
    module = app_dir / "reloadasgi.py"
    module.write_text(RELOAD_APP.format(body="one"))
    server = serve([*ASGI, "reloadasgi:app", "--reload"], cwd=app_dir)
    assert httpx.get(server.url + "/", timeout=5).text == "one"
    first = server.workers()
    module.write_text(RELOAD_APP.format(body="two"))
    st = module.stat()
    os.utime(module, (st.st_atime, st.st_mtime + 5))
    wait_for(lambda: httpx.get(server.url + "/", timeout=5).text == "two", 15, "the new code to be served")
    assert f"Worker reloading: {module} modified" in server.log()
    assert server.workers() != first


def test_usr2_upgrade_then_term_of_the_old_master_under_load_loses_no_request(serve, tmp_path):
    import threading

    from conftest import children_of

    pidfile = tmp_path / "rcorn.pid"
    server = serve([*ASGI, "asgi_raw:app", "-w", "2", "--pid", str(pidfile)], workers=2)
    old = server.pid
    stop = threading.Event()
    done, failures = [], []

    def client(keep_alive):
        with httpx.Client(timeout=10) as c:
            while not stop.is_set():
                try:
                    headers = {} if keep_alive else {"Connection": "close"}
                    r = c.get(server.url + "/pid", headers=headers)
                    (done if r.status_code == 200 else failures).append(r.text)
                except httpx.HTTPError as e:
                    failures.append(repr(e))

    threads = [threading.Thread(target=client, args=(i % 2 == 0,)) for i in range(4)]
    for t in threads:
        t.start()
    new = None
    try:
        wait_for(lambda: len(done) > 20, 10, "requests to flow")
        server.signal(signal.SIGUSR2)
        pidfile2 = tmp_path / "rcorn.pid.2"
        new = wait_for(lambda: pidfile2.exists() and int(pidfile2.read_text() or 0) not in (0, old)
                       and int(pidfile2.read_text()), 20, "a new master")
        wait_for(lambda: len(children_of(new)) == 2, 20, "the new master's workers")
        served_by_new = lambda: any(int(p) in children_of(new) for p in done[-50:])  # noqa: E731
        wait_for(served_by_new, 10, "the new master's workers to serve")
        server.signal(signal.SIGTERM)
        assert server.wait_exit(30) == 0
        count = len(done)
        wait_for(lambda: len(done) > count + 20, 10, "requests after the old master left")
    finally:
        stop.set()
        for t in threads:
            t.join(15)
        if new is not None:
            os.kill(new, signal.SIGTERM)
            wait_for(lambda: _gone(new), 15, "the new master to stop")
    assert failures == [], failures[:5]


def _gone(pid):
    """Exited: no such process, or a zombie nobody has reaped yet."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True
