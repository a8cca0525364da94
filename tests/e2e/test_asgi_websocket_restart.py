"""WebSockets across restarts: a HUP, or a USR2 upgrade whose old master
is then stopped, closes the old workers' sockets with 1012 (service
restart: reconnect) while clients keep echoing, and new clients are served
by the new workers. A plain shutdown's 1001 is in test_asgi_websocket.py."""

import os
import signal
import threading

from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from conftest import children_of, wait_for

ASGI = ["-k", "asgi"]
CLIENTS = 8


class EchoingClient(threading.Thread):
    """A websocket to `/pid` echoing small messages until the server
    closes it; keeps the pid of the worker it reached and the close code."""

    def __init__(self, port):
        super().__init__(daemon=True)
        self.port = port
        self.worker = None
        self.echoes = 0
        self.code = None
        self.error = None

    def run(self):
        try:
            with connect(f"ws://127.0.0.1:{self.port}/pid", open_timeout=5) as ws:
                self.worker = int(ws.recv(timeout=5))
                while True:
                    ws.send(f"m{self.echoes}")
                    assert ws.recv(timeout=10) == f"m{self.echoes}"
                    self.echoes += 1
        except ConnectionClosed as closed:
            self.code = closed.rcvd.code if closed.rcvd else None
        except Exception as e:  # noqa: BLE001 - reported by the test
            self.error = repr(e)


def start_clients(port):
    clients = [EchoingClient(port) for _ in range(CLIENTS)]
    for c in clients:
        c.start()
    def echoing():
        assert [c.error for c in clients if c.error] == []
        return all(c.echoes > 5 for c in clients)
    wait_for(echoing, 10, "every client to echo")
    return clients


def closed_codes(clients):
    for c in clients:
        c.join(20)
    assert not any(c.is_alive() for c in clients), "a client was never closed"
    assert [c.error for c in clients if c.error] == []
    return [c.code for c in clients]


def served_by(port, workers):
    """A fresh client reaches one of `workers` and gets its echo back."""
    with connect(f"ws://127.0.0.1:{port}/pid", open_timeout=5) as ws:
        worker = int(ws.recv(timeout=5))
        ws.send("fresh")
        assert ws.recv(timeout=5) == "fresh"
    assert worker in workers, (worker, workers)


def test_hup_closes_old_workers_sockets_with_1012_and_new_ones_serve(serve):
    server = serve([*ASGI, "asgi_ws:app", "-w", "2", "--graceful-timeout", "10"], workers=2)
    old = set(server.workers())
    clients = start_clients(server.port)
    assert {c.worker for c in clients} <= old

    server.signal(signal.SIGHUP)
    assert closed_codes(clients) == [1012] * CLIENTS
    new = set(wait_for(lambda: (w := set(server.workers())) and not (w & old) and len(w) == 2 and w,
                       20, f"the new workers alone; log:\n{server.log()}"))
    for _ in range(4):
        served_by(server.port, new)
    assert "Traceback" not in server.log()


def _pid_in(path):
    try:
        return int(path.read_text() or 0)
    except (FileNotFoundError, ValueError):
        return 0


def _gone(pid):
    """Exited: no such process, or a zombie nobody has reaped yet."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def test_stopping_the_old_master_of_a_usr2_upgrade_closes_with_1012(serve, tmp_path):
    pidfile = tmp_path / "rcorn.pid"
    server = serve([*ASGI, "asgi_ws:app", "-w", "2", "--pid", str(pidfile)], workers=2)
    old = set(server.workers())
    clients = start_clients(server.port)
    server.signal(signal.SIGUSR2)
    second = pidfile.with_name(pidfile.name + ".2")
    new_master = wait_for(lambda: _pid_in(second) not in (0, server.pid) and _pid_in(second), 20,
                          f"the new master; log:\n{server.log()}")
    try:
        new = set(wait_for(lambda: len(children_of(new_master)) == 2 and children_of(new_master),
                           20, "the new master's workers"))
        # The new master's workers serve beside the old ones meanwhile.
        wait_for(lambda: _reaches(server.port, new), 10, "a client to reach a new worker")
        server.signal(signal.SIGTERM)
        assert closed_codes(clients) == [1012] * CLIENTS
        assert server.wait_exit(20) == 0
        for _ in range(4):
            served_by(server.port, new)
        assert not (new & old)
    finally:
        os.kill(new_master, signal.SIGTERM)
        wait_for(lambda: _gone(new_master), 15, "the new master to stop")


def _reaches(port, workers):
    with connect(f"ws://127.0.0.1:{port}/pid", open_timeout=5) as ws:
        return int(ws.recv(timeout=5)) in workers
