"""The gthread worker: one I/O thread holds every connection, N threads run
the application. Real `rcorn`, real sockets, real signals."""

import re
import selectors
import signal
import socket
import statistics
import subprocess
import threading
import time

import httpx

from conftest import recv_all, wait_for

GET = b"GET / HTTP/1.1\r\nHost: t\r\n\r\n"


def read_response(sock):
    """Reads one HTTP/1.1 response with a Content-Length from `sock`."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise AssertionError(f"connection closed after {data!r}")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(re.search(rb"(?i)content-length: *(\d+)", head).group(1))
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise AssertionError("connection closed inside the body")
        body += chunk
    return head, body


def vm_kib(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise AssertionError(f"no {field} for {pid}")


def test_threads_over_one_selects_gthread_and_sets_wsgi_multithread(serve):
    server = serve(["basic:app", "--threads", "3"])
    assert "Using worker: gthread" in server.log()
    environ = httpx.get(server.url + "/environ", timeout=5).json()
    assert environ["wsgi.multithread"] is True
    sync = serve(["basic:app"])
    assert "Using worker: sync" in sync.log()
    assert httpx.get(sync.url + "/environ", timeout=5).json()["wsgi.multithread"] is False


def test_200_keep_alive_connections_on_4_threads_are_all_answered_twice(serve):
    server = serve(["basic:app", "-k", "gthread", "--threads", "4"])
    socks = [server.connect(timeout=10) for _ in range(200)]
    try:
        for round_ in range(2):
            for s in socks:
                s.sendall(GET)
            for s in socks:
                head, body = read_response(s)
                assert head.startswith(b"HTTP/1.1 200"), (round_, head)
                assert body == b"Hello, World!\n"
    finally:
        for s in socks:
            s.close()


def test_requests_run_side_by_side_on_the_threads(serve):
    server = serve(["basic:app", "--threads", "4"])
    results = []

    def slow():
        results.append(httpx.get(server.url + "/sleep?1", timeout=10).text)

    t0 = time.monotonic()
    clients = [threading.Thread(target=slow) for _ in range(4)]
    for c in clients:
        c.start()
    for c in clients:
        c.join(15)
    assert results == ["slept"] * 4
    # One worker, four one-second requests: together, not one after another.
    assert time.monotonic() - t0 < 3.5


def test_idle_and_slowloris_clients_do_not_delay_a_normal_request(serve):
    # Two app threads: a slow or idle client holding one would show at once.
    server = serve(["basic:app", "--threads", "2", "-t", "30"])

    def latency():
        t0 = time.monotonic()
        with server.connect() as s:
            s.sendall(GET)
            head, _ = read_response(s)
        assert head.startswith(b"HTTP/1.1 200")
        return time.monotonic() - t0

    baseline = statistics.median(latency() for _ in range(20))
    idle = [server.connect(timeout=10) for _ in range(500)]
    stop = threading.Event()
    loris_sent = []

    def slowloris():
        # A head trickling in one byte every 20 ms, never finished.
        with server.connect(timeout=30) as s:
            for byte in b"GET / HTTP/1.1\r\nHost: t\r\nX-Slow: " + b"a" * 10_000:
                if stop.is_set():
                    return
                s.sendall(bytes([byte]))
                loris_sent.append(byte)
                stop.wait(0.02)

    loris = threading.Thread(target=slowloris)
    loris.start()
    try:
        wait_for(lambda: len(loris_sent) > 20, 10, "the slowloris client to start")
        loaded = [latency() for _ in range(20)]
        assert statistics.median(loaded) - baseline < 0.050, (baseline, loaded)
        assert max(loaded) < 1.0, loaded
        # The idle connections are still open and served when they speak.
        idle[0].sendall(GET)
        assert read_response(idle[0])[0].startswith(b"HTTP/1.1 200")
    finally:
        stop.set()
        loris.join(10)
        for s in idle:
            s.close()


def test_1gb_upload_and_1gb_response_stream_in_bounded_memory(serve):
    server = serve(["basic:app", "--threads", "2"])
    [worker] = server.workers()
    before = vm_kib(worker, "VmRSS")
    size = 1 << 30
    block = b"u" * (1 << 20)
    with server.connect(timeout=60) as s:
        s.sendall(b"POST /count HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n" % size)
        for _ in range(size // len(block)):
            s.sendall(block)
        s.shutdown(socket.SHUT_WR)
        response = recv_all(s)
    assert response.startswith(b"HTTP/1.1 200"), response[:200]
    assert response.endswith(b"\r\n\r\n%d" % size) or response.split(b"\r\n\r\n", 1)[1] == b"%d" % size
    with server.connect(timeout=60) as s:
        s.sendall(b"GET /big?%d HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n" % size)
        received = 0
        head = b""
        while b"\r\n\r\n" not in head:
            head += s.recv(65536)
        head, _, rest = head.partition(b"\r\n\r\n")
        received = len(rest)
        while True:
            chunk = s.recv(1 << 20)
            if not chunk:
                break
            received += len(chunk)
    assert head.startswith(b"HTTP/1.1 200")
    assert received == size
    # VmHWM is the worker's peak resident size over both transfers.
    growth_mib = (vm_kib(worker, "VmHWM") - before) / 1024
    assert growth_mib < 64, growth_mib


def listen_queue(port):
    """Connections waiting in the listen backlog of 127.0.0.1:`port`."""
    out = subprocess.run(["ss", "-ltnH", f"sport = :{port}"], capture_output=True, text=True,
                         check=True).stdout.split()
    return int(out[1]) if len(out) > 1 else 0


def test_term_during_50_slow_requests_completes_them_all(serve):
    server = serve(["basic:app", "--threads", "8", "--graceful-timeout", "30"])
    socks = [server.connect(timeout=30) for _ in range(50)]
    for s in socks:
        s.sendall(b"GET /sleep?0.5 HTTP/1.1\r\nHost: t\r\n\r\n")
    wait_for(lambda: server.log().count("sleep started") >= 8, 10, "the threads to be busy")
    wait_for(lambda: listen_queue(server.port) == 0, 10, "every connection to be accepted")
    server.signal(signal.SIGTERM)
    try:
        for s in socks:
            head, body = read_response(s)
            assert head.startswith(b"HTTP/1.1 200"), head
            assert body == b"slept"
            # Draining: the answer closes the connection.
            assert b"connection: close" in head.lower()
    finally:
        for s in socks:
            s.close()
    assert server.wait_exit(30) == 0
    assert server.log().count("sleep started") == 50


def test_a_long_request_does_not_get_a_gthread_worker_killed(serve):
    # The I/O thread beats the heartbeat while an app thread runs for twice
    # the timeout (a sync worker would be killed: see test_lifecycle).
    server = serve(["basic:app", "--threads", "2", "-t", "1"])
    [worker] = server.workers()
    r = httpx.get(server.url + "/sleep?2.5", timeout=10)
    assert r.status_code == 200 and r.text == "slept"
    assert server.workers() == [worker]
    assert "WORKER TIMEOUT" not in server.log()


def test_worker_connections_holds_extra_clients_in_the_backlog(serve):
    server = serve(["basic:app", "--threads", "2", "--worker-connections", "2"])
    a = server.connect()
    b = server.connect()
    a.sendall(GET)
    assert read_response(a)[0].startswith(b"HTTP/1.1 200")
    c = server.connect()  # the kernel completes the handshake: backlog
    c.sendall(GET)
    sel = selectors.DefaultSelector()
    sel.register(c, selectors.EVENT_READ)
    # At the cap the worker does not accept c: no answer, and no error.
    assert sel.select(timeout=0.5) == []
    a.close()
    head, body = read_response(c)
    assert head.startswith(b"HTTP/1.1 200") and body == b"Hello, World!\n"
    for s in (b, c):
        s.close()
    sel.close()


def test_idle_keep_alive_and_unfinished_heads_are_closed_in_time(serve):
    server = serve(["basic:app", "--threads", "2", "--keep-alive", "1", "-t", "2"])
    with server.connect(timeout=10) as idle, server.connect(timeout=10) as partial:
        idle.sendall(GET)
        read_response(idle)
        partial.sendall(b"GET / HTTP/1.1\r\nHost: t\r\n")
        t0 = time.monotonic()
        assert idle.recv(1) == b""  # closed after --keep-alive
        assert 0.5 < time.monotonic() - t0 < 4
        assert partial.recv(1) == b""  # closed after --timeout, unanswered
        assert time.monotonic() - t0 < 6


def test_flask_under_concurrent_load_answers_each_request_its_own(serve):
    server = serve(["flask_app:app", "--threads", "8"])
    failures, threads_seen = [], set()

    def client(n):
        with httpx.Client(timeout=10) as c:
            for i in range(40):
                token = f"{n}-{i}"
                r = c.get(f"{server.url}/api/thread/{token}", params={"q": token * 2},
                          headers={"User-Agent": f"agent-{token}"})
                data = r.json()
                threads_seen.add(data["thread"])
                if (data["token"], data["q"], data["agent"]) != (token, token * 2, f"agent-{token}"):
                    failures.append((token, data))
                form = c.post(f"{server.url}/form", data={"name": token, "age": str(i)})
                if form.text != f"name={token} age={i}":
                    failures.append((token, form.text))

    clients = [threading.Thread(target=client, args=(n,)) for n in range(16)]
    for c in clients:
        c.start()
    for c in clients:
        c.join(60)
    assert failures == [], failures[:3]
    assert len(threads_seen) > 1
    assert "Traceback" not in server.log()


def test_wsgi_input_used_from_another_thread_is_refused_with_a_clear_error(serve):
    for args in (["basic:app"], ["basic:app", "--threads", "2"]):
        server = serve(args)
        r = httpx.post(server.url + "/input-elsewhere", content=b"the body", timeout=5)
        assert r.status_code == 200
        refused, _, body = r.text.partition(" | ")
        assert refused == "wsgi.input read after its request ended, or from a thread other than the request's"
        assert body == "the body"


def test_timeout_still_kills_a_gthread_worker_whose_interpreter_is_wedged(serve):
    # A request that never gives the GIL back stops every thread of the
    # worker, as it stops gunicorn's gthread loop: the loop checks it can
    # take the GIL before it beats, so the master replaces the worker.
    server = serve(["basic:app", "--threads", "2", "-t", "2"])
    [worker] = server.workers()
    def hog_request():
        try:
            httpx.get(server.url + "/hog-gil?30", timeout=40)
        except httpx.HTTPError:
            pass  # the worker is killed under it

    hog = threading.Thread(target=hog_request, daemon=True)
    hog.start()
    wait_for(lambda: "hogging the GIL" in server.log(), 10, "the GIL to be taken")
    t0 = time.monotonic()
    wait_for(lambda: server.workers() and worker not in server.workers(), 15, "the wedged worker's replacement")
    assert time.monotonic() - t0 < 8
    assert f"WORKER TIMEOUT (pid:{worker})" in server.log()
    assert httpx.get(server.url + "/", timeout=5).status_code == 200


def test_a_request_sent_while_its_connection_is_with_a_thread_is_served(serve):
    """The next request on a keep-alive connection arrives while the
    previous one runs on an application thread: its readiness event comes
    while the loop does not hold the connection, and the loop reads it
    when the connection comes back. The same with the FIN after it."""
    server = serve(["basic:app", "--threads", "2", "--keep-alive", "60"])
    for started, close_after in enumerate((False, True), start=1):
        with server.connect(timeout=5) as s:
            s.sendall(b"GET /sleep?0.3 HTTP/1.1\r\nHost: a\r\n\r\n")
            wait_for(lambda: server.log().count("sleep started in") == started, 10,
                     "the slow request to start")
            s.sendall(b"GET /?next HTTP/1.1\r\nHost: a\r\n\r\n")
            if close_after:
                s.shutdown(socket.SHUT_WR)
                answers = recv_all(s)
            else:
                answers = b""
                while answers.count(b"HTTP/1.1 200") < 2:
                    chunk = s.recv(65536)
                    assert chunk, answers
                    answers += chunk
        assert answers.count(b"HTTP/1.1 200") == 2, answers
