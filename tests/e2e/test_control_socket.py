"""The control socket: gunicorn's own `gunicornc`, and rcorn's `rcornc`,
manage a running rcorn; bad clients get an error answer and never hurt the
master."""

import json
import os
import shutil
import socket
import stat
import struct
import subprocess

import pytest

from conftest import wait_for

GUNICORNC = shutil.which("gunicornc")
RCORNC = shutil.which("rcornc")


def ctl(tool, sock, *words):
    """Runs one command; gunicornc takes it as `-c "WORDS"`, rcornc either way."""
    if tool == GUNICORNC:
        words = ("-c", " ".join(words))
    r = subprocess.run([tool, "-s", str(sock), *words], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, (words, r.stdout, r.stderr)
    return r.stdout


def ask(sock, payload):
    """Sends one raw frame; returns (answer or None, whether the master
    closed the connection after it)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(10)
        s.connect(str(sock))
        s.sendall(struct.pack(">I", len(payload)) + payload)
        head = s.recv(4, socket.MSG_WAITALL)
        if len(head) < 4:
            return None, True
        (n,) = struct.unpack(">I", head)
        answer = json.loads(s.recv(n, socket.MSG_WAITALL))
        s.settimeout(2)
        try:
            closed = s.recv(1) == b""
        except socket.timeout:
            closed = False
        return answer, closed


@pytest.fixture
def control(serve, tmp_path):
    sock = tmp_path / "ctl" / "rcorn.ctl"
    server = serve(["basic:app", "-w", "2", "--control-socket", str(sock)], workers=2)
    wait_for(lambda: "Control socket listening at" in server.log(), 10, "the control socket")
    return server, sock


@pytest.mark.skipif(GUNICORNC is None, reason="gunicorn is not installed (tests/requirements.txt has it)")
def test_gunicornc_shows_and_manages_the_workers(control):
    server, sock = control
    assert stat.S_IMODE(os.stat(sock).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(sock.parent).st_mode) == 0o700
    shown = ctl(GUNICORNC, sock, "show", "workers")
    for pid in server.workers():
        assert str(pid) in shown, shown
    assert "Total: 2 workers" in shown
    stats = ctl(GUNICORNC, sock, "show", "stats")
    assert f"PID:              {server.pid}" in stats and "Workers target:   2" in stats, stats
    assert "127.0.0.1" in ctl(GUNICORNC, sock, "show", "listeners")

    ctl(GUNICORNC, sock, "worker", "add", "2")
    server.wait_workers(4)
    ctl(GUNICORNC, sock, "worker", "remove", "3")
    server.wait_workers(1)
    (old,) = server.workers()
    ctl(GUNICORNC, sock, "worker", "kill", str(old))
    wait_for(lambda: server.workers() not in ([old], []) and len(server.workers()) == 1, 15,
             f"worker {old} to be replaced; log:\n{server.log()}")
    assert "worker kill <PID>" in ctl(GUNICORNC, sock, "help")
    ctl(GUNICORNC, sock, "reload")
    wait_for(lambda: "Reloads:          1" in ctl(GUNICORNC, sock, "show", "stats"), 10, "the reload to count")
    ctl(GUNICORNC, sock, "shutdown")
    assert server.wait_exit(30) == 0
    assert not sock.exists()


def test_rcornc_speaks_the_same_protocol(control):
    server, sock = control
    data = json.loads(ctl(RCORNC, sock, "show", "workers"))
    assert sorted(w["pid"] for w in data["workers"]) == server.workers()
    assert all(w["booted"] for w in data["workers"])
    config = json.loads(ctl(RCORNC, sock, "show", "config"))
    assert config["workers"] == 2 and config["control_socket"] == str(sock)
    help_text = json.loads(ctl(RCORNC, sock, "help"))["commands"]
    assert "worker kill <PID>" in help_text
    r = subprocess.run([RCORNC, "-s", str(sock), "fly"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 1 and "Unknown command: fly" in r.stderr


def test_bad_requests_get_an_error_answer_and_the_master_serves_on(control):
    server, sock = control
    answer, closed = ask(sock, b'{"id": 9, "command": "worker kill nobody"}')
    assert answer == {"id": 9, "status": "error",
                      "error": "Invalid argument: invalid literal for int() with base 10: 'nobody'"}
    assert not closed
    answer, closed = ask(sock, b"this is not json")
    assert answer["status"] == "error" and answer["error"].startswith("Invalid JSON") and closed
    # A frame announcing more than the limit: refused before it is read.
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(10)
        s.connect(str(sock))
        s.sendall(struct.pack(">I", 1 << 30) + b"x" * 1000)
        (n,) = struct.unpack(">I", s.recv(4, socket.MSG_WAITALL))
        answer = json.loads(s.recv(n, socket.MSG_WAITALL))
        assert "too large" in answer["error"]
        assert s.recv(1) == b""
    # Many clients at once: those past the limit are closed, the master is fine.
    clients = []
    try:
        for _ in range(40):
            c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            c.connect(str(sock))
            clients.append(c)
    finally:
        for c in clients:
            c.close()
    assert server.request(b"GET / HTTP/1.0\r\n\r\n").startswith(b"HTTP/1.0 200")
    assert json.loads(ctl(RCORNC, sock, "show", "stats"))["workers_current"] == 2


def test_an_unsafe_folder_or_a_socket_in_use_is_refused_and_the_server_serves(serve, tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o777)
    server = serve(["basic:app", "--control-socket", str(shared / "ctl")])
    wait_for(lambda: "control_socket:" in server.log(), 10, "the refusal")
    assert "writable by others" in server.log() and not (shared / "ctl").exists()

    private = tmp_path / "private"
    first = serve(["basic:app", "--control-socket", str(private / "ctl")])
    wait_for(lambda: "Control socket listening" in first.log(), 10, "the first socket")
    second = serve(["basic:app", "--control-socket", str(private / "ctl")])
    wait_for(lambda: "in use by another server" in second.log(), 10, "the second to leave it alone")
    assert json.loads(ctl(RCORNC, private / "ctl", "show", "stats"))["pid"] == first.pid


def test_no_control_socket_makes_none(serve, tmp_path):
    run = tmp_path / "xdg"
    run.mkdir(mode=0o700)
    server = serve(["basic:app", "--no-control-socket"], env={"XDG_RUNTIME_DIR": str(run)})
    assert "Control socket" not in server.log()
    assert list(run.iterdir()) == []
    default = serve(["basic:app"], env={"XDG_RUNTIME_DIR": str(run)})
    wait_for(lambda: (run / "gunicorn.ctl").exists(), 10, f"the default socket; log:\n{default.log()}")
