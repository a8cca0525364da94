"""Starting the real `rcorn` command and talking to it over real sockets.

Every server a test starts runs in its own session (process group) and is
ended, with all its workers, when the test finishes, whatever happened.
Waits poll a condition until a deadline; nothing sleeps in place of
synchronisation.
"""

import os
import pathlib
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import httpx
import pytest

APPS = pathlib.Path(__file__).parent / "apps"
RCORN = shutil.which("rcorn")


def wait_for(condition, timeout=10.0, what="condition", interval=0.02):
    """Polls `condition` until it returns a truthy value; fails after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def run_to_exit(args, timeout=30):
    """Runs `rcorn ARGS`, expected to stop by itself (a start-up error, a
    bad flag); whatever it started is ended if it does not. Returns the
    CompletedProcess with text stdout and stderr."""
    proc = subprocess.Popen([RCORN, *args], cwd=APPS, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()
    return subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)


def hup_under_load(server, path="/", signals=(signal.SIGHUP,)):
    """Four clients (half on fresh connections, half kept alive) ask for
    `path` while the master is sent HUP (or `signals` in turn) every half
    second for 4 s; returns (answered, failures): every request must get
    its answer."""
    import threading

    stop = threading.Event()
    failures, done = [], []

    def client(keep_alive):
        with httpx.Client(timeout=10) as c:
            while not stop.is_set():
                try:
                    headers = {} if keep_alive else {"Connection": "close"}
                    r = c.get(server.url + path, headers=headers)
                    (done if r.status_code == 200 else failures).append(r.status_code)
                except httpx.HTTPError as e:
                    failures.append(repr(e))

    threads = [threading.Thread(target=client, args=(i % 2 == 0,)) for i in range(4)]
    for t in threads:
        t.start()
    try:
        deadline = time.monotonic() + 4
        sent = 0
        while time.monotonic() < deadline:
            server.signal(signals[sent % len(signals)])
            sent += 1
            wait_for(lambda: len(done) > 0, 5, "requests to flow")
            time.sleep(0.5)  # pacing the HUPs, not synchronisation
    finally:
        stop.set()
        for t in threads:
            t.join(15)
    return done, failures


def end_process(proc):
    """Asks a process a test started to stop, then makes sure it has."""
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


def recv_datagrams(sock, until, timeout=10.0):
    """Receives datagrams until `until(received)` holds; fails after `timeout`."""
    received = []
    deadline = time.monotonic() + timeout
    while not until(received):
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"datagrams so far: {received}")
        sock.settimeout(left)
        try:
            received.append(sock.recv(65536))
        except socket.timeout:
            pass
    return received


def free_port(family=socket.AF_INET, host="127.0.0.1"):
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def children_of(pid):
    """Live child pids of `pid` (the workers of a master)."""
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return sorted(int(p) for p in f.read().split())
    except FileNotFoundError:
        return []


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class Server:
    """One `rcorn` master started by a test."""

    def __init__(self, args, cwd=APPS, env=None, bind=None, tmp=None):
        self.tmp = pathlib.Path(tmp or tempfile.mkdtemp(prefix="rcorn-test-"))
        self.port = None
        if bind is None:
            self.port = free_port()
            bind = f"127.0.0.1:{self.port}"
        self.bind = bind
        self.log_path = self.tmp / "error.log"
        full_env = dict(os.environ)
        # Each server's default control socket in a folder of its own, so
        # servers the suite runs side by side do not meet at one path.
        full_env["XDG_RUNTIME_DIR"] = tempfile.mkdtemp(prefix="run-", dir=self.tmp)
        full_env.update(env or {})
        self.args = [RCORN, "-b", bind, *args]
        self.log_file = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            self.args,
            cwd=cwd,
            env=full_env,
            stdout=self.log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def pid(self):
        return self.proc.pid

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def log(self):
        return self.log_path.read_text(errors="replace")

    def workers(self):
        return children_of(self.pid)

    def wait_workers(self, n, timeout=15):
        return wait_for(lambda: len(self.workers()) == n and self.workers(), timeout, f"{n} workers; log:\n{self.log()}")

    def wait_ready(self, workers=1, timeout=20):
        """Waits until the master runs `workers` workers and a request is answered."""
        def answered():
            if self.proc.poll() is not None:
                raise AssertionError(f"rcorn exited with {self.proc.returncode}; log:\n{self.log()}")
            if len(self.workers()) != workers:
                return False
            try:
                return self.request(b"GET /ready HTTP/1.0\r\n\r\n", timeout=2).startswith(b"HTTP/1.")
            except OSError:
                return False
        wait_for(answered, timeout, f"rcorn to serve; log:\n{self.log()}")
        return self

    def wait_https(self, verify, path="/", timeout=20):
        """Waits until a GET of `path` over TLS is answered 200; the base URL.
        `verify` is what httpx takes (an SSLContext or a CA file)."""
        url = f"https://127.0.0.1:{self.port}"

        def answers():
            if self.proc.poll() is not None:
                raise AssertionError(f"rcorn exited with {self.proc.returncode}; log:\n{self.log()}")
            try:
                return httpx.get(url + path, verify=verify, timeout=2).status_code == 200
            except httpx.HTTPError:
                return False
        wait_for(answers, timeout, "rcorn to serve over TLS")
        return url

    def connect(self, timeout=5):
        if self.bind.startswith("unix:"):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(timeout)
            s.connect(self.bind[5:])
            return s
        host, _, port = self.bind.rpartition(":")
        host = host.strip("[]")
        s = socket.create_connection((host, int(port)), timeout=timeout)
        return s

    def request(self, raw, timeout=5):
        """Sends raw bytes, half-closes, returns everything the server sent."""
        with self.connect(timeout) as s:
            s.sendall(raw)
            s.shutdown(socket.SHUT_WR)
            return recv_all(s)

    def signal(self, sig):
        os.kill(self.pid, sig)

    def wait_exit(self, timeout=15):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"rcorn did not exit within {timeout}s; log:\n{self.log()}") from None

    def stop(self):
        """Ends the master and everything in its session."""
        if self.proc.poll() is None:
            try:
                os.kill(self.pid, signal.SIGTERM)
                self.proc.wait(10)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        if self.proc.poll() is None:
            self.proc.wait(5)
        self.log_file.close()


def traced_sendfiles(server, fetch):
    """Runs `fetch()` while strace watches the worker; the sendfile calls."""
    worker = server.workers()[0]
    trace = server.tmp / "strace.out"
    strace = subprocess.Popen(
        ["strace", "-qq", "-e", "trace=sendfile,sendfile64", "-o", str(trace), "-p", str(worker)],
        stderr=subprocess.PIPE,
    )
    try:
        # strace is attached once the worker's status shows a tracer.
        def traced():
            with open(f"/proc/{worker}/status") as f:
                return any(l.startswith("TracerPid:") and l.split()[1] != "0" for l in f)
        wait_for(traced, 10, "strace to attach")
        fetch()
    finally:
        strace.terminate()
        strace.wait(10)
    return [l for l in trace.read_text().splitlines() if "sendfile" in l]


def recv_all(s):
    chunks = []
    while True:
        try:
            data = s.recv(65536)
        except ConnectionResetError:
            break
        if not data:
            break
        chunks.append(data)
    return b"".join(chunks)


def make_cert(directory):
    """A self-signed certificate for localhost and 127.0.0.1, written into
    `directory`: (cert, key)."""
    key, crt = directory / "key.pem", directory / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
                    "-out", str(crt), "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                   check=True, capture_output=True, timeout=60)
    return crt, key


@pytest.fixture
def cert(tmp_path):
    """A self-signed certificate for localhost and 127.0.0.1: (cert, key)."""
    return make_cert(tmp_path)


@pytest.fixture
def serve(tmp_path):
    """`serve(args, ...)` starts rcorn and returns a ready Server."""
    started = []

    def start(args, workers=1, ready=True, **kwargs):
        kwargs.setdefault("tmp", tmp_path)
        server = Server(list(args), **kwargs)
        started.append(server)
        if ready:
            server.wait_ready(workers=workers)
        return server

    yield start
    for server in started:
        server.stop()


def pytest_configure(config):
    config.addinivalue_line("markers", "load: minutes-long load, restart and hostile-client tests")
    if RCORN is None:
        raise pytest.UsageError("the `rcorn` command is not installed: run `pip install .` first")
    sys.path.insert(0, str(APPS))
