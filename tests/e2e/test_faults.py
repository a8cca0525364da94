"""Faults a production server meets: a hung application, a shutdown with
requests in flight, clients that misbehave. Each test bounds its time."""

import os
import re
import signal
import socket
import threading
import time

import httpx
import pytest

from conftest import children_of, recv_all, wait_for

ABORT_CONF = '''
def worker_abort(worker):
    worker.log.info("hook worker_abort pid=%s", worker.pid)
'''


def _get(url, timeout, results):
    try:
        results.append(httpx.get(url, timeout=timeout).status_code)
    except httpx.HTTPError as e:
        results.append(repr(e))


def test_a_hung_request_gets_its_worker_replaced_while_others_serve(serve, tmp_path):
    conf = tmp_path / "abort.conf.py"
    conf.write_text(ABORT_CONF)
    server = serve(["basic:app", "-w", "2", "-t", "2", "-c", str(conf)], workers=2)
    hung = []
    thread = threading.Thread(target=_get, args=(server.url + "/sleep?60", 20, hung))
    thread.start()
    started = wait_for(lambda: re.search(r"sleep started in (\d+)", server.log()), 10,
                       "the hung request to start")
    victim = int(started.group(1))
    t0 = time.monotonic()
    # The other worker keeps answering while one is hung.
    for _ in range(10):
        assert httpx.get(server.url + "/", timeout=5).status_code == 200
    wait_for(lambda: victim not in server.workers() and len(server.workers()) == 2, 10, "a replacement")
    # --timeout 2 counts from the worker's last beat, when the request
    # began: replaced within 3 s of it.
    assert time.monotonic() - t0 < 3
    thread.join(20)
    log = server.log()
    assert f"WORKER TIMEOUT (pid:{victim})" in log
    assert f"hook worker_abort pid={victim}" in log


def test_term_lets_requests_in_flight_finish_and_cleans_up(serve, tmp_path):
    sock = tmp_path / "app.sock"
    pidfile = tmp_path / "app.pid"
    server = serve(["basic:app", "-w", "3", "--pid", str(pidfile)], workers=3, bind=f"unix:{sock}")
    workers = server.workers()
    results = []

    def slow():
        transport = httpx.HTTPTransport(uds=str(sock))
        with httpx.Client(transport=transport, timeout=20) as c:
            try:
                results.append(c.get("http://app/sleep?1.5").text)
            except httpx.HTTPError as e:
                results.append(repr(e))

    threads = [threading.Thread(target=slow) for _ in range(3)]
    for t in threads:
        t.start()
    wait_for(lambda: server.log().count("sleep started in") == 3, 10, "three requests in flight")
    server.signal(signal.SIGTERM)
    assert server.wait_exit(20) == 0
    for t in threads:
        t.join(20)
    assert results == ["slept"] * 3
    assert not sock.exists() and not pidfile.exists()
    assert all(not os.path.exists(f"/proc/{pid}") for pid in workers)


def _fd_count(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def test_misbehaving_clients_leak_no_descriptors(serve):
    server = serve(["basic:app", "--keep-alive", "1"])
    worker = server.workers()[0]
    # HTTP/1.0: the server closes first, so its descriptor for this
    # connection is gone by the time the answer has been read to the end.
    assert server.request(b"GET / HTTP/1.0\r\n\r\n").startswith(b"HTTP/1.0 200")
    before = _fd_count(worker)
    for i in range(50):
        with server.connect() as s:
            kind = i % 5
            if kind == 0:
                s.sendall(b"\x00\xffgarbage\r\n\r\n")
            elif kind == 1:
                s.sendall(b"GET / HTTP/1.1\r\nHost: a\r\n")  # never finishes its head
                s.shutdown(socket.SHUT_WR)
            elif kind == 2:
                s.sendall(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")  # never reads the answer
            elif kind == 3:
                s.sendall(b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\nshort")
                s.shutdown(socket.SHUT_WR)
            else:
                s.sendall(b"GET / HTTP/1.0\r\n\r\n")
                recv_all(s)
    # Every one of those connections is closed by the server in the end.
    wait_for(lambda: _fd_count(worker) == before, 10, f"the worker's descriptors back to {before}")
    assert httpx.get(server.url + "/", timeout=5).status_code == 200
    assert worker in children_of(server.pid)


def _answers_until_closed(sock):
    """Everything the server sends until it closes; a socket timeout (the
    server kept the connection open) fails the test."""
    data = recv_all(sock)
    sock.close()
    return data


@pytest.mark.parametrize("worker_args", [[], ["--threads", "2"]], ids=["sync", "gthread"])
def test_a_request_and_its_fin_arriving_together_are_answered_and_closed(serve, worker_args):
    """A client that sends its last request and shuts its side at once:
    the worker reads the request, answers it and closes, rather than wait
    out a long keep-alive. While the sync worker runs a slow request, both
    the bytes and the FIN land before it next looks, so one readiness
    event stands for both, on a new and on a kept-alive connection."""
    server = serve(["basic:app", "--keep-alive", "60", *worker_args])
    kept = server.connect(timeout=5)
    kept.sendall(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
    assert kept.recv(65536).startswith(b"HTTP/1.1 200")
    with server.connect(timeout=10) as busy:
        busy.sendall(b"GET /sleep?0.5 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
        wait_for(lambda: "sleep started in" in server.log(), 10, "the slow request to start")
        fresh = server.connect(timeout=5)
        for s in (kept, fresh):
            s.sendall(b"GET / HTTP/1.1\r\nHost: a\r\n\r\nGET /?second HTTP/1.1\r\nHost: a\r\n\r\n")
            s.shutdown(socket.SHUT_WR)
        assert _answers_until_closed(busy).startswith(b"HTTP/1.1 200")
    for s in (kept, fresh):
        answers = _answers_until_closed(s)
        assert answers.count(b"HTTP/1.1 200") == 2, answers
