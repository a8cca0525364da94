"""docs/deploy/systemd.md, run as written: the service unit's ExecStart
under `systemd-socket-activate` (which passes the socket unit's
ListenStream as systemd does, at fd 3 with LISTEN_FDS/LISTEN_PID), a
NOTIFY_SOCKET the test reads, ExecReload under load, KillSignal to stop."""

import configparser
import json
import os
import pathlib
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time

import httpx

from conftest import APPS, RCORN, children_of, free_port, recv_datagrams, wait_for
from guides import block, command, swap

SOCKET_ACTIVATE = shutil.which("systemd-socket-activate") or "/usr/bin/systemd-socket-activate"
LOADGEN = pathlib.Path(__file__).parent / "loadgen.py"
LOAD_SECONDS = 6


def unit(name):
    """A unit file of the guide as {section: {key: value}}."""
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.optionxform = str
    parser.read_string(block("systemd.md", name))
    return {section: dict(parser[section]) for section in parser.sections()}


def graceful_timeout(argv):
    return float(argv[argv.index("--graceful-timeout") + 1])


def test_the_stop_timeout_outlasts_the_graceful_timeout():
    service = unit("rcorn.service")["Service"]
    argv = shlex.split(service["ExecStart"])
    assert float(service["TimeoutStopSec"]) > graceful_timeout(argv)
    assert service["KillSignal"] == "SIGTERM" and service["KillMode"] == "mixed"
    assert service["Type"] == "notify"


def test_socket_activation_notify_reload_under_load_and_stop(tmp_path):
    service = unit("rcorn.service")["Service"]
    listen = unit("rcorn.socket")["Socket"]["ListenStream"]
    port = free_port()
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify_path = str(tmp_path / "notify.sock")
    notify.bind(notify_path)
    argv = command(service["ExecStart"], RCORN, {"myapp:app": "deployed:app"})
    log = open(tmp_path / "rcorn.log", "ab")
    # The working directory stands for WorkingDirectory=; socket
    # activation passes only the variables named with -E.
    proc = subprocess.Popen(
        [SOCKET_ACTIVATE, "-l", swap(listen, {":8000": f":{port}"}), "-E", f"NOTIFY_SOCKET={notify_path}", *argv],
        cwd=APPS, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        # It says so once it listens (a probing connection would start the service).
        wait_for(lambda: b"Listening on" in (tmp_path / "rcorn.log").read_bytes(), 10,
                 "systemd-socket-activate to listen")
        # The first connection starts the service, and is answered by it.
        assert httpx.get(f"http://127.0.0.1:{port}/", timeout=30).status_code == 200
        ready = recv_datagrams(notify, lambda got: got, timeout=5)
        assert ready[0].startswith(b"READY=1"), ready
        # systemd-socket-activate execs the service: the master keeps its pid.
        mainpid = proc.pid
        wait_for(lambda: len(children_of(mainpid)) == 4, 20, "4 workers")
        reload_under_load(service["ExecReload"], mainpid, port, tmp_path)
        os.kill(mainpid, getattr(signal, service["KillSignal"]))
        stopping = recv_datagrams(notify, lambda got: got, timeout=5)
        assert stopping == [b"STOPPING=1"]
        started = time.monotonic()
        assert proc.wait(float(service["TimeoutStopSec"])) == 0
        assert time.monotonic() - started < graceful_timeout(argv)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)
        log.close()
        notify.close()


def reload_under_load(exec_reload, mainpid, port, tmp_path):
    """ExecReload's command, twice, while loadgen.py keeps 32 connections
    busy: every worker is replaced each time and no request fails."""
    load = subprocess.Popen([sys.executable, str(LOADGEN), "--port", str(port), "--connections", "32",
                             "--duration", str(LOAD_SECONDS)], stdout=subprocess.PIPE, text=True)
    try:
        for _ in range(2):
            before = set(children_of(mainpid))
            subprocess.run(shlex.split(exec_reload.replace("$MAINPID", str(mainpid))), check=True, timeout=10)
            wait_for(lambda: len(children_of(mainpid)) == 4 and not before & set(children_of(mainpid)),
                     20, f"a new generation of workers; log:\n{(tmp_path / 'rcorn.log').read_text()}")
        assert load.poll() is None, "the reloads outlasted the load"
        out, _ = load.communicate(timeout=LOAD_SECONDS + 30)
    finally:
        if load.poll() is None:
            load.kill()
            load.wait(5)
    result = json.loads(out)
    assert result["failures"] == {}, result
    assert result["ok"] == result["sent"] and result["ok"] > 100, result
