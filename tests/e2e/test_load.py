"""Nothing lost under load, restarts and hostile clients.

Each test keeps 64 connections busy with `loadgen.py` (a separate process
that accounts for every request) while the server is reloaded, upgraded,
scaled or recycled, and then requires zero failed requests. These tests
take minutes, so they carry the `load` marker: `tests/run.sh` runs them in
a step of their own; `python3 -m pytest tests/e2e -m load` runs only them.
"""

import json
import os
import pathlib
import random
import signal
import socket
import subprocess
import sys
import threading
import time

import httpx
import pytest

from conftest import children_of, recv_all, rss_kib, wait_for

pytestmark = pytest.mark.load

LOADGEN = pathlib.Path(__file__).parent / "loadgen.py"
LOAD_SECONDS = 20


class Load:
    """loadgen.py running against a server in the background."""

    def __init__(self, server, seconds=LOAD_SECONDS, connections=64, path="/", close=False):
        args = [sys.executable, str(LOADGEN), "--connections", str(connections),
                "--duration", str(seconds), "--path", path]
        if server.bind.startswith("unix:"):
            args += ["--unix", server.bind[5:]]
        else:
            args += ["--port", str(server.port)]
        if close:
            args.append("--close")
        self.seconds = seconds
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def result(self):
        try:
            out, err = self.proc.communicate(timeout=self.seconds + 40)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise AssertionError("the load generator did not finish") from None
        assert self.proc.returncode == 0, err
        return json.loads(out)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)


@pytest.fixture
def load():
    started = []

    def start(server, **kwargs):
        started.append(Load(server, **kwargs))
        return started[-1]

    yield start
    for item in started:
        item.stop()


def assert_nothing_lost(result, at_least=1000):
    assert result["failures"] == {}, result
    assert result["ok"] == result["sent"], result
    assert result["ok"] >= at_least, result


def pace(seconds):
    """Spaces out the signals a test sends; not a synchronisation."""
    time.sleep(seconds)


@pytest.mark.parametrize("worker_args", [[], ["--threads", "4"]], ids=["sync", "gthread"])
def test_hup_every_second_under_load_loses_nothing(serve, load, worker_args):
    server = serve(["basic:app", "-w", "2", *worker_args], workers=2)
    running = load(server)
    hups = 0
    deadline = time.monotonic() + LOAD_SECONDS - 1
    while time.monotonic() < deadline:
        server.signal(signal.SIGHUP)
        hups += 1
        pace(1)
    result = running.result()
    assert_nothing_lost(result)
    # Every HUP replaced both workers.
    assert server.log().count("Booting worker") >= 2 + 2 * (hups - 2), server.log()[-2000:]


def test_usr2_upgrade_then_term_of_the_old_master_under_load_loses_nothing(serve, load, tmp_path):
    pidfile = tmp_path / "rcorn.pid"
    server = serve(["basic:app", "-w", "2", "--pid", str(pidfile)], workers=2)
    old = server.pid
    running = load(server)
    pace(3)
    server.signal(signal.SIGUSR2)
    # As in gunicorn, the new master writes PIDFILE.2 until it is promoted.
    pidfile2 = tmp_path / "rcorn.pid.2"
    new = wait_for(lambda: pidfile2.exists() and int(pidfile2.read_text() or 0) not in (0, old)
                   and int(pidfile2.read_text()), 20, "a new master")
    wait_for(lambda: len(children_of(new)) == 2, 20, "the new master's workers")
    pace(3)
    server.signal(signal.SIGTERM)
    assert server.wait_exit(30) == 0
    result = running.result()
    try:
        assert_nothing_lost(result)
        # The new master carried the load at the end.
        assert int(httpx.get(server.url + "/pid", timeout=5).text) in children_of(new)
    finally:
        os.kill(new, signal.SIGTERM)
        wait_for(lambda: not os.path.exists(f"/proc/{new}") or _zombie(new), 15, "the new master to stop")


def _zombie(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def test_ttin_ttou_storm_under_load_loses_nothing(serve, load):
    server = serve(["basic:app", "-w", "2"], workers=2)
    running = load(server)
    deadline = time.monotonic() + LOAD_SECONDS - 1
    storm = [signal.SIGTTIN, signal.SIGTTIN, signal.SIGTTOU, signal.SIGTTOU]
    sent = 0
    while time.monotonic() < deadline:
        server.signal(storm[sent % len(storm)])
        sent += 1
        pace(0.25)
    result = running.result()
    assert_nothing_lost(result)
    assert sent >= 40
    # Back to two workers once the storm is over.
    server.wait_workers(2)


@pytest.mark.parametrize("worker_args", [[], ["--threads", "4"]], ids=["sync", "gthread"])
def test_max_requests_50_recycling_under_load_loses_nothing(serve, load, worker_args):
    server = serve(["basic:app", "-w", "2", "--max-requests", "50", *worker_args], workers=2)
    result = load(server).result()
    assert_nothing_lost(result)
    # Each worker served 50 requests, plus at most two per connection it
    # held (one in flight, one the client sent on a kept-alive connection
    # before it learnt of the drain): recycling kept up with the load.
    assert server.log().count("Booting worker") >= result["ok"] // (50 + 2 * 64)


def _session_processes(sid):
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        # fields[0] is the state, fields[3] the session id.
        if int(fields[3]) == sid and fields[0] != "Z":
            out.append(int(entry))
    return out


def test_term_with_100_slow_requests_in_flight_completes_them_and_cleans_up(serve, tmp_path):
    sock = tmp_path / "app.sock"
    pidfile = tmp_path / "app.pid"
    server = serve(["basic:app", "-w", "2", "--threads", "50", "--pid", str(pidfile),
                    "--graceful-timeout", "20"], workers=2, bind=f"unix:{sock}")
    conns = []
    for _ in range(100):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(30)
        s.connect(str(sock))
        s.sendall(b"GET /sleep?2 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        conns.append(s)
    wait_for(lambda: server.log().count("sleep started") == 100, 15, "all 100 requests to be running")
    t0 = time.monotonic()
    server.signal(signal.SIGTERM)
    answers = [recv_all(s) for s in conns]
    for s in conns:
        s.close()
    assert all(a.startswith(b"HTTP/1.1 200") and a.endswith(b"slept") for a in answers), \
        [a[:80] for a in answers if not a.endswith(b"slept")][:3]
    assert server.wait_exit(25) == 0
    assert time.monotonic() - t0 < 20
    assert _session_processes(server.pid) == []
    assert not sock.exists()
    assert not pidfile.exists()


def test_soak_of_a_million_requests_grows_no_memory_or_descriptors(serve):
    server = serve(["basic:app"])
    [worker] = server.workers()
    url = server.url + "/"

    def wrk(seconds):
        out = subprocess.run(["wrk", "-t1", "-c16", f"-d{seconds}s", url], capture_output=True,
                             text=True, timeout=seconds + 30, check=True).stdout
        requests = int(next(line for line in out.splitlines() if "requests in" in line).split()[0])
        assert "Socket errors" not in out and "Non-2xx" not in out, out
        return requests

    served = 0
    deadline = time.monotonic() + 60
    while served < 100_000 and time.monotonic() < deadline:
        served += wrk(2)
    assert served >= 100_000, served
    rss_after_warmup = rss_kib(worker)
    fds_after_warmup = len(os.listdir(f"/proc/{worker}/fd"))
    deadline = time.monotonic() + 150
    while served < 1_000_000 and time.monotonic() < deadline:
        served += wrk(5)
    assert served >= 1_000_000, served
    growth_kib = rss_kib(worker) - rss_after_warmup
    assert growth_kib < 1024, growth_kib
    wait_for(lambda: len(os.listdir(f"/proc/{worker}/fd")) <= fds_after_warmup, 10, "no descriptor growth")


def test_hostile_clients_leave_a_well_behaved_one_answered_quickly(serve):
    server = serve(["basic:app", "-w", "2", "--threads", "4", "--backlog", "64"], workers=2)
    workers = server.workers()
    # One worker answering made the server ready; the other may still be
    # booting. Count descriptors once each runs its loop (its epoll and the
    # eventfd its application threads wake it through exist).
    for w in workers:
        wait_for(lambda: {"anon_inode:[eventpoll]", "anon_inode:[eventfd]"} <= set(_descriptors(w).values()),
                 20, f"worker {w}'s event loop")
    before_fds = {w: len(os.listdir(f"/proc/{w}/fd")) for w in workers}
    before_rss = {w: rss_kib(w) for w in workers}
    stop = threading.Event()
    hostile_errors = []

    def slowloris():
        # 1,000 connections, each sending one more byte of its head a second.
        socks = []
        try:
            for _ in range(1000):
                s = socket.socket()
                s.setblocking(False)
                s.connect_ex(("127.0.0.1", server.port))
                socks.append(s)
            head = b"GET / HTTP/1.1\r\nHost: t\r\nX-Slow: " + b"a" * 100
            for i in range(len(head)):
                if stop.wait(1):
                    break
                for s in socks:
                    try:
                        s.send(head[i:i + 1])
                    except OSError:
                        pass
        finally:
            for s in socks:
                s.close()

    def flood():
        # Connections opened faster than anyone accepts them, beyond the
        # backlog, then dropped.
        while not stop.is_set():
            socks = []
            for _ in range(300):
                s = socket.socket()
                s.setblocking(False)
                s.connect_ex(("127.0.0.1", server.port))
                socks.append(s)
            for s in socks:
                s.close()
            stop.wait(0.5)

    def abusive():
        rng = random.Random(7)
        big = b"GET /" + b"a" * (10 << 20) + b" HTTP/1.1\r\n\r\n"
        huge_header = b"GET / HTTP/1.1\r\nHost: t\r\nX-Big: " + b"b" * (10 << 20) + b"\r\n\r\n"
        while not stop.is_set():
            for kind in range(5):
                try:
                    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as s:
                        if kind == 0:
                            s.sendall(big)  # a 10 MB request line
                        elif kind == 1:
                            s.sendall(huge_header)  # a 10 MB header line
                        elif kind == 2:
                            s.sendall(bytes(rng.getrandbits(8) for _ in range(4096)))
                        elif kind == 3:
                            s.sendall(b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 1000\r\n\r\nabc")
                            s.shutdown(socket.SHUT_WR)  # half-closed mid-body
                        else:
                            # Asks for 50 MB and never reads it.
                            s.sendall(b"GET /big?52428800 HTTP/1.1\r\nHost: t\r\n\r\n")
                            stop.wait(1)
                except OSError as e:
                    hostile_errors.append(type(e).__name__)  # resets are expected
                if stop.is_set():
                    return

    threads = [threading.Thread(target=f) for f in (slowloris, flood, abusive)]
    for t in threads:
        t.start()
    latencies = []
    try:
        pace(2)  # let the hostile clients get going
        with httpx.Client(timeout=5) as client:
            for _ in range(200):
                t0 = time.monotonic()
                r = client.get(server.url + "/")
                latencies.append(time.monotonic() - t0)
                assert r.status_code == 200
                pace(0.02)
    finally:
        stop.set()
        for t in threads:
            t.join(30)
    latencies.sort()
    p99 = latencies[int(len(latencies) * 0.99) - 1]
    assert p99 < 0.100, (p99, latencies[-5:])
    assert server.workers() == workers, "no worker died or was replaced"
    for w in workers:
        # Bounded memory: the 10 MB lines and the unread 50 MB are never
        # buffered whole.
        assert rss_kib(w) - before_rss[w] < 32 * 1024, (w, rss_kib(w), before_rss[w])
        try:
            wait_for(lambda: len(os.listdir(f"/proc/{w}/fd")) <= before_fds[w], 40,
                     f"worker {w}'s descriptors back to {before_fds[w]}")
        except AssertionError as e:
            raise AssertionError(f"{e}; its descriptors: {_descriptors(w)}, TCP: {_tcp_sockets(w)}") from None


TCP_STATES = {"01": "ESTABLISHED", "02": "SYN_SENT", "03": "SYN_RECV", "04": "FIN_WAIT1",
              "05": "FIN_WAIT2", "06": "TIME_WAIT", "07": "CLOSE", "08": "CLOSE_WAIT",
              "09": "LAST_ACK", "0A": "LISTEN", "0B": "CLOSING"}


def _descriptors(pid):
    """What each open descriptor of `pid` is."""
    found = {}
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            found[int(fd)] = os.readlink(f"/proc/{pid}/fd/{fd}")
        except FileNotFoundError:
            pass
    return dict(sorted(found.items()))


def _tcp_sockets(pid):
    """The TCP sockets `pid` holds: (local port, state, bytes queued to send, to read)."""
    inodes = {t[8:-1] for t in _descriptors(pid).values() if t.startswith("socket:[")}
    found = []
    with open(f"/proc/{pid}/net/tcp") as f:
        next(f)
        for line in f:
            fields = line.split()
            # fields[9] is the inode.
            if fields[9] in inodes:
                tx, rx = (int(v, 16) for v in fields[4].split(":"))
                found.append((int(fields[1].split(":")[1], 16), TCP_STATES.get(fields[3], fields[3]), tx, rx))
    return found


def _established_connections(pid, port):
    """TCP connections on `port` that process `pid` holds, established."""
    return sum(1 for local, state, _, _ in _tcp_sockets(pid) if local == port and state == "ESTABLISHED")


def test_sigkill_of_a_worker_every_two_seconds_fails_only_its_own_connections(serve, load):
    """Under a closed-loop keep-alive load every connection always has one
    request outstanding, so a killed worker costs exactly one failed
    request per connection it held: the one in flight on it, or the next
    one sent on it. The test freezes the victim (SIGSTOP), counts its
    connections, kills it, and compares with what the client saw."""
    server = serve(["basic:app", "-w", "2"], workers=2)
    running = load(server)
    rng = random.Random(11)
    held, replaced_in = 0, []
    deadline = time.monotonic() + LOAD_SECONDS - 2
    pace(1)
    while time.monotonic() < deadline:
        workers = server.workers()
        victim = rng.choice(workers)
        os.kill(victim, signal.SIGSTOP)
        held += _established_connections(victim, server.port)
        os.kill(victim, signal.SIGKILL)
        t0 = time.monotonic()
        wait_for(lambda: len(server.workers()) == 2 and victim not in server.workers(), 5,
                 "the killed worker's replacement")
        replaced_in.append(time.monotonic() - t0)
        pace(2)
    result = running.result()
    failures = sum(result["failures"].values())
    assert set(result["failures"]) <= {"reset", "closed_before_response", "incomplete"}, result
    assert failures == held, (failures, held, result)
    assert result["ok"] > 1000
    assert max(replaced_in) < 1.0, replaced_in
