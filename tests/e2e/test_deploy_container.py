"""docs/deploy/containers.md: the Dockerfile's CMD run as PID 1 of a new PID
namespace (`unshare --pid --fork --mount-proc`, as root), as a container
runtime would start it; signals are sent from outside the namespace, as
`docker stop` and `docker kill` send them."""

import json
import os
import pathlib
import shlex
import signal
import socket
import subprocess
import sys
import time

import httpx
import pytest

from conftest import APPS, RCORN, children_of, free_port, recv_all, wait_for
from guides import block, command

LOADGEN = pathlib.Path(__file__).parent / "loadgen.py"
# Workers and threads as a container's environment would set them.
CONTAINER_ENV = {"WEB_CONCURRENCY": "2", "GUNICORN_CMD_ARGS": "--threads 8"}
SLOW_REQUESTS = 12

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="a new PID namespace needs root")


def dockerfile_cmd():
    """The Dockerfile's exec-form CMD as argv."""
    lines = [line for line in block("containers.md", "Dockerfile").splitlines() if line.startswith("CMD ")]
    assert len(lines) == 1, lines
    return json.loads(lines[0][len("CMD "):])


def ns_pid(host_pid):
    """The pid a process has inside its own (innermost) PID namespace."""
    with open(f"/proc/{host_pid}/status") as f:
        for line in f:
            if line.startswith("NSpid:"):
                return int(line.split()[-1])
    raise AssertionError(f"no NSpid for {host_pid}")


def state(host_pid):
    try:
        with open(f"/proc/{host_pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return None


class Pid1:
    """The Dockerfile's CMD as PID 1 of a new PID namespace."""

    def __init__(self, tmp_path):
        self.port = free_port()
        self.argv = command(shlex.join(dockerfile_cmd()), RCORN,
                            {"0.0.0.0:8000": f"127.0.0.1:{self.port}", "myapp:app": "deployed:app"})
        self.log_path = tmp_path / "rcorn.log"
        self.log_file = open(self.log_path, "ab")
        # --kill-child: should unshare die, the namespace dies with it.
        self.proc = subprocess.Popen(["unshare", "--pid", "--fork", "--mount-proc", "--kill-child", "--", *self.argv],
                                     cwd=APPS, env=dict(os.environ, **CONTAINER_ENV), stdout=self.log_file,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        self.master = None
        self.url = f"http://127.0.0.1:{self.port}"

    def log(self):
        return self.log_path.read_text(errors="replace")

    def workers(self):
        return children_of(self.master)

    def wait_ready(self):
        # unshare's one child is the namespace's PID 1.
        self.master = wait_for(lambda: (children_of(self.proc.pid) or [None])[0], 10, "rcorn to start")

        def answered():
            if self.proc.poll() is not None:
                raise AssertionError(f"exited with {self.proc.returncode}; log:\n{self.log()}")
            try:
                return len(self.workers()) == 2 and httpx.get(self.url + "/", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False
        wait_for(answered, 20, f"rcorn to serve; log:\n{self.log()}")

    def graceful_timeout(self):
        return float(self.argv[self.argv.index("--graceful-timeout") + 1])

    def stop(self):
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(10)
        self.log_file.close()


@pytest.fixture
def pid1(tmp_path):
    started = Pid1(tmp_path)
    try:
        started.wait_ready()
        yield started
    finally:
        started.stop()


def send_slow_requests(port, n, seconds):
    conns = []
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port), timeout=30)
        s.sendall(b"GET /sleep?%g HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n" % seconds)
        conns.append(s)
    return conns


def test_rcorn_is_pid_1_of_its_namespace(pid1):
    assert ns_pid(pid1.master) == 1
    # WEB_CONCURRENCY from the container's environment.
    assert len(pid1.workers()) == 2


def answered(pid1):
    """Requests to / answered so far, from the CMD's access log."""
    return pid1.log().count('"GET / HTTP/1.1" 200')


def test_sigterm_drains_in_flight_requests_and_exits_0_under_load(pid1):
    before = answered(pid1)
    load = subprocess.Popen([sys.executable, str(LOADGEN), "--port", str(pid1.port), "--connections", "8",
                             "--duration", "4"], stdout=subprocess.PIPE, text=True)
    conns = []
    try:
        wait_for(lambda: answered(pid1) > before + 50, 10, "the load to flow")
        conns = send_slow_requests(pid1.port, SLOW_REQUESTS, 2)
        wait_for(lambda: pid1.log().count("sleep started") == SLOW_REQUESTS, 15, "the slow requests to run")
        started = time.monotonic()
        os.kill(pid1.master, signal.SIGTERM)
        answers = [recv_all(s) for s in conns]
        assert pid1.proc.wait(pid1.graceful_timeout()) == 0
        assert time.monotonic() - started < pid1.graceful_timeout()
        out, _ = load.communicate(timeout=40)
    finally:
        for s in conns:
            s.close()
        if load.poll() is None:
            load.kill()
            load.wait(5)
    assert all(a.startswith(b"HTTP/1.1 200") and a.endswith(b"slept") for a in answers), \
        [a[:80] for a in answers]
    result = json.loads(out)
    assert result["ok"] > 0, result
    # After SIGTERM new connections are refused, and an idle kept-alive
    # one may be closed as the client sends on it; a response begun,
    # cut short or never finished would be a request lost.
    lost = {k: v for k, v in result["failures"].items() if k not in ("connect", "reset", "closed_before_response")}
    assert lost == {}, result


def test_sigint_stops_at_once(pid1):
    conns = send_slow_requests(pid1.port, 1, 30)
    try:
        wait_for(lambda: "sleep started" in pid1.log(), 10, "the slow request to run")
        started = time.monotonic()
        os.kill(pid1.master, signal.SIGINT)
        assert pid1.proc.wait(10) == 0
        assert time.monotonic() - started < 5
        assert b"slept" not in recv_all(conns[0])
    finally:
        conns[0].close()


def test_an_orphan_of_the_application_is_reaped(pid1, tmp_path):
    workers = pid1.workers()
    gate = tmp_path / "gate"
    orphan_ns_pid = int(httpx.get(f"{pid1.url}/double-fork?{gate}", timeout=10).text)
    # Re-parented to PID 1, rcorn's master, beside its workers.
    orphan = wait_for(lambda: [p for p in children_of(pid1.master) if p not in workers and ns_pid(p) == orphan_ns_pid],
                      10, "the orphan to be re-parented to rcorn")[0]
    gate.touch()
    wait_for(lambda: state(orphan) is None, 10, f"the orphan to be reaped (state {state(orphan)})")
    assert [p for p in children_of(pid1.master) if state(p) == "Z"] == []
    # The master took the orphan's exit for what it was: its workers are
    # the same ones, and they serve.
    assert pid1.workers() == workers
    assert httpx.get(pid1.url + "/", timeout=5).status_code == 200
    assert "exited" not in pid1.log().split("left orphan")[1], pid1.log()
    os.kill(pid1.master, signal.SIGTERM)
    assert pid1.proc.wait(pid1.graceful_timeout()) == 0
