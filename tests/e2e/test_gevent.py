"""The gevent worker (`-k gevent`): greenlets on gevent's hub, over real sockets."""

import asyncio
import concurrent.futures
import http.server
import resource
import signal
import threading
import time

import httpx
import pytest

from conftest import hup_under_load, recv_all, run_to_exit, wait_for

pytest.importorskip("gevent")

GEVENT = ["-k", "gevent"]


def test_a_thousand_sleeping_requests_share_one_worker(serve):
    # 1000 client sockets here and 1000 in the worker (inherits the limit).
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 4096:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(4096, hard), hard))
    server = serve([*GEVENT, "gevent_app:app", "--worker-connections", "1100",
                    "--backlog", "2048"])
    n = 1000

    async def one(connecting):
        # Connections are opened 100 at a time (a SYN burst of 1000 on a
        # busy machine is the kernel's test, not the worker's); all 1000
        # requests are in flight together once sent.
        async with connecting:
            reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
            writer.write(b"GET /sleep?1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            await writer.drain()
        response = await reader.read()
        writer.close()
        return response

    async def all_of_them():
        connecting = asyncio.Semaphore(100)
        return await asyncio.gather(*(one(connecting) for _ in range(n)))

    started = time.monotonic()
    try:
        responses = asyncio.run(all_of_them())
    except OSError as e:
        raise AssertionError(f"{e!r}; log:\n{server.log()[-3000:]}") from e
    elapsed = time.monotonic() - started
    assert all(r.startswith(b"HTTP/1.1 200") for r in responses), responses[:3]
    pids = {r.rpartition(b"slept ")[2] for r in responses}
    assert len(pids) == 1 and len(server.workers()) == 1
    # Served one after another they would take 1000 s.
    assert elapsed < 10, f"{n} one-second sleeps took {elapsed:.1f}s"


class _Backend(http.server.ThreadingHTTPServer):
    """A slow HTTP backend counting how many of its requests overlap."""

    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _BackendHandler)
        self.lock = threading.Lock()
        self.in_flight = 0
        self.most_in_flight = 0
        self.served = 0


class _BackendHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        server = self.server
        with server.lock:
            server.in_flight += 1
            server.most_in_flight = max(server.most_in_flight, server.in_flight)
        time.sleep(0.5)
        with server.lock:
            server.in_flight -= 1
            server.served += 1
        body = f"backend saw {self.path}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def backend():
    server = _Backend()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_requests_to_a_backend_through_patched_sockets_overlap(serve, backend):
    pytest.importorskip("requests")
    server = serve([*GEVENT, "gevent_app:app"])
    assert httpx.get(server.url + "/patched", timeout=5).text == "socket time threading ssl"
    n = 40
    base = f"http://127.0.0.1:{backend.server_address[1]}"

    def call(i):
        return httpx.get(f"{server.url}/backend?{base}/item/{i}", timeout=30)

    results = [None] * n
    threads = [threading.Thread(target=lambda i=i: results.__setitem__(i, call(i)))
               for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for i, r in enumerate(results):
        assert r is not None and r.status_code == 200
        assert r.text == f"200 backend saw /item/{i}"
    assert backend.served == n
    # One worker waited on many backend calls at once: the backend counts
    # how many it held together (a wall-clock bound would only add noise).
    assert backend.most_in_flight >= 10, backend.most_in_flight


def test_flask_app(serve):
    server = serve([*GEVENT, "flask_app:app"])
    with httpx.Client(base_url=server.url, timeout=5) as c:
        assert c.get("/").text == "Hello from Flask"
        assert c.post("/form", data={"name": "ada", "age": "36"}).text == "name=ada age=36"
        r = c.post("/upload", files={"file": ("a.bin", b"0123456789" * 10_000)})
        assert r.json() == {"filename": "a.bin", "size": 100_000, "head": "0123456789"}
        r = c.get("/api/items/7", params={"q": "x"})
        assert r.json()["id"] == 7 and r.json()["q"] == "x"
        assert c.get("/error").status_code == 500
    assert "flask view failed" in server.log()


def test_bodies_both_ways_wait_on_the_hub(serve):
    server = serve([*GEVENT, "gevent_app:app"])
    body = bytes(range(256)) * 8192  # 2 MiB: several waits each way
    r = httpx.post(server.url + "/echo", content=body, timeout=10)
    assert r.status_code == 200 and r.content == body
    r = httpx.get(server.url + "/stream?5", timeout=5)
    assert r.text == "".join(f"chunk {i}\n" for i in range(5))
    # Keep-alive: both on one connection, the second after an idle wait.
    with httpx.Client(base_url=server.url, timeout=5) as c:
        assert c.get("/pid").text == c.get("/pid").text


def test_an_application_timeout_around_a_body_read_is_raised_as_itself(serve):
    server = serve([*GEVENT, "gevent_app:app"])
    s = server.connect(timeout=10)
    # Five bytes promised, two sent: the read waits until the app's timeout.
    s.sendall(b"POST /read-within?0.3 HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nab")
    response = b""
    while not response.endswith(b"gave up waiting for the body"):
        data = s.recv(4096)
        assert data, response
        response += data
    s.close()
    assert response.startswith(b"HTTP/1.1 200"), response


def test_sendfile_and_large_responses(serve):
    from conftest import APPS

    server = serve([*GEVENT, "basic:app"])
    with httpx.Client(base_url=server.url, timeout=10) as c:
        # wsgi.file_wrapper over a regular file: sendfile(2), waiting on the hub.
        assert c.get("/file").content == (APPS / "basic.py").read_bytes()
        assert len(c.get("/big?5000000").content) == 5_000_000


def test_term_drains_requests_in_flight(serve):
    server = serve([*GEVENT, "gevent_app:app", "--graceful-timeout", "20"])
    sockets = []
    for _ in range(5):
        s = server.connect(timeout=10)
        s.sendall(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
        sockets.append(s)
    wait_for(lambda: server.log().count("slow request started") == 5, 5, "5 requests in the app")
    idle = server.connect(timeout=10)  # a kept-alive client with nothing to send
    idle.sendall(b"GET /pid HTTP/1.1\r\nHost: x\r\n\r\n")
    wait_for(lambda: idle.recv(4096), 5, "the idle client's first answer")
    started = time.monotonic()
    server.signal(signal.SIGTERM)
    for s in sockets:
        response = recv_all(s)
        s.close()
        assert response.startswith(b"HTTP/1.1 200") and response.endswith(b"slow done")
        assert b"Connection: close" in response
    # The idle connection is retired within keepalive (2 s), not held to
    # graceful_timeout.
    assert recv_all(idle) == b""
    idle.close()
    assert server.wait_exit() == 0
    assert time.monotonic() - started < 8


def test_a_request_longer_than_timeout_keeps_its_worker(serve):
    # The hub keeps beating while the request sleeps.
    server = serve([*GEVENT, "gevent_app:app", "--timeout", "2"])
    pid = httpx.get(server.url + "/pid", timeout=5).text
    r = httpx.get(server.url + "/sleep?3.5", timeout=10)
    assert r.status_code == 200 and r.text == f"slept {pid}"
    assert "WORKER TIMEOUT" not in server.log()


def test_max_requests_recycles_the_worker(serve):
    server = serve([*GEVENT, "gevent_app:app", "--max-requests", "10"])
    pids = set()
    for _ in range(35):
        r = httpx.get(server.url + "/pid", timeout=10)
        assert r.status_code == 200
        pids.add(r.text)
    assert len(pids) >= 3


def test_hup_with_two_workers_under_load_loses_no_request(serve):
    server = serve([*GEVENT, "gevent_app:app", "-w", "2"], workers=2)
    done, failures = hup_under_load(server, "/pid")
    assert failures == [] and len(done) > 20


def test_usr2_upgrade_serves_from_the_new_masters_gevent_workers(serve, tmp_path):
    import os

    from conftest import children_of

    pidfile = tmp_path / "rcorn.pid"
    server = serve([*GEVENT, "gevent_app:app", "--pid", str(pidfile)])
    old = server.pid
    server.signal(signal.SIGUSR2)
    second = pidfile.with_name(pidfile.name + ".2")

    def new_master():
        try:
            pid = int(second.read_text() or 0)
        except (FileNotFoundError, ValueError):
            return 0
        return pid if pid not in (0, old) else 0

    new = wait_for(new_master, 20, f"the new master; log:\n{server.log()}")
    wait_for(lambda: children_of(new), 20, "the new master's workers")
    server.signal(signal.SIGTERM)
    assert server.wait_exit() == 0
    new_workers = children_of(new)
    try:
        for _ in range(5):
            assert int(httpx.get(server.url + "/pid", timeout=5).text) in new_workers
    finally:
        os.kill(new, signal.SIGTERM)
    wait_for(lambda: not children_of(new), 15, "the new master's workers to stop")


@pytest.mark.parametrize("name", ["gevent", "gunicorn.workers.ggevent.GeventWorker"])
def test_without_gevent_installed_one_line_names_the_worker_class(tmp_path, monkeypatch, name):
    # A `sitecustomize` that makes gevent unimportable, as if not installed.
    (tmp_path / "sitecustomize.py").write_text("import sys\nsys.modules['gevent'] = None\n")
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    result = run_to_exit(["-k", name, "-b", "127.0.0.1:0", "gevent_app:app"])
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    # Named as the settings normalise it.
    assert lines == ["Error: worker class gevent needs the gevent package, "
                     "which is not installed (pip install gevent)"], result.stderr


@pytest.mark.parametrize("name,instead", [("eventlet", "use gevent"), ("tornado", "use asgi")])
def test_other_async_workers_are_refused_naming_what_to_use(name, instead):
    result = run_to_exit(["-k", name, "-b", "127.0.0.1:0", "gevent_app:app"])
    assert result.returncode != 0
    assert instead in result.stderr and f"worker class {name}" in result.stderr


def test_preload_imports_the_app_in_the_master_and_each_worker_patches(serve):
    # As gunicorn's: the master imports the app unpatched; the worker
    # patches after the fork, so the app's sleeps still overlap.
    server = serve([*GEVENT, "--preload", "gevent_app:app"])
    loaded, worker = map(int, httpx.get(server.url + "/loaded", timeout=5).text.split())
    assert loaded == server.pid and worker != server.pid
    patched = httpx.get(server.url + "/patched", timeout=5).text.split()
    assert {"socket", "time", "threading"} <= set(patched)

    def sleep_once(_):
        return httpx.get(server.url + "/sleep?1", timeout=10).status_code

    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(20) as pool:
        assert list(pool.map(sleep_once, range(20))) == [200] * 20
    # One after another they would take 20 s (overlapped: about 1 s, more
    # on a loaded machine).
    assert time.monotonic() - started < 15
    assert "Traceback" not in server.log()


@pytest.mark.parametrize("name", ["gevent_pywsgi", "gevent_wsgi", "gunicorn.workers.ggevent.GeventPyWSGIWorker"])
def test_gunicorns_pywsgi_worker_names_are_served_by_the_gevent_worker(serve, name):
    server = serve(["-k", name, "gevent_app:app"])
    assert httpx.get(server.url + "/sleep?0.01", timeout=5).text.startswith("slept")
    assert "socket" in httpx.get(server.url + "/patched", timeout=5).text.split()
    assert f"{name} is served by rcorn's gevent worker" in server.log()


def test_descriptor_numbers_reused_by_new_connections_are_served(serve):
    # Each connection closes before the next opens, so the worker gets the
    # same descriptor number again and again; each greenlet's cached io
    # watcher must be gone with its socket. A keep-alive client in between
    # waits idle on its own descriptor meanwhile.
    server = serve([*GEVENT, "gevent_app:app"])
    with httpx.Client(base_url=server.url, timeout=5) as idle:
        assert idle.get("/sleep?0").status_code == 200
        for i in range(200):
            with httpx.Client(base_url=server.url, timeout=5, headers={"Connection": "close"}) as c:
                assert c.post("/echo", content=f"body {i}".encode()).text == f"body {i}"
        assert idle.get("/sleep?0").status_code == 200
