"""Listening sockets handed to rcorn: fd://N, systemd socket activation,
and readiness notification on NOTIFY_SOCKET."""

import os
import signal
import socket
import subprocess

import httpx

from conftest import APPS, RCORN, wait_for


def listening_socket():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    s.listen(16)
    return s


class Run:
    """rcorn started by a test with its own Popen arguments; always ended."""

    def __init__(self, argv, tmp_path, **popen):
        self.log_path = tmp_path / "run.log"
        self.log_file = open(self.log_path, "ab")
        self.proc = subprocess.Popen(argv, cwd=APPS, stdout=self.log_file, stderr=subprocess.STDOUT,
                                     start_new_session=True, **popen)

    def log(self):
        return self.log_path.read_text(errors="replace")

    def answers(self, url):
        if self.proc.poll() is not None:
            raise AssertionError(f"rcorn exited with {self.proc.returncode}; log:\n{self.log()}")
        try:
            return httpx.get(url, timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        self.log_file.close()


def test_fd_bind_serves_an_inherited_socket(tmp_path):
    sock = listening_socket()
    port = sock.getsockname()[1]
    run = Run([RCORN, "-b", f"fd://{sock.fileno()}", "basic:app"], tmp_path, pass_fds=(sock.fileno(),))
    try:
        sock.close()  # only rcorn holds it now
        wait_for(lambda: run.answers(f"http://127.0.0.1:{port}/"), 20, "rcorn to serve on the inherited socket")
    finally:
        run.stop()


def test_fd_bind_of_a_descriptor_that_is_not_a_listener_is_refused(tmp_path):
    run = Run([RCORN, "-b", "fd://57", "basic:app"], tmp_path)
    try:
        assert run.proc.wait(15) == 1
        assert "fd://57" in run.log()
    finally:
        run.stop()


def test_systemd_socket_activation_and_notify(tmp_path):
    sock = listening_socket()
    port = sock.getsockname()[1]
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify_path = str(tmp_path / "notify.sock")
    notify.bind(notify_path)
    notify.settimeout(20)
    # systemd puts the socket at fd 3 and names the pid that may use it:
    # the shell's own pid, which exec hands to rcorn.
    shell = f'exec 3<&{sock.fileno()}; LISTEN_PID=$$ LISTEN_FDS=1 exec "$0" basic:app'
    run = Run(["bash", "-c", shell, RCORN], tmp_path, pass_fds=(sock.fileno(),),
              env=dict(os.environ, NOTIFY_SOCKET=notify_path))
    try:
        sock.close()
        assert notify.recv(1024).startswith(b"READY=1")
        wait_for(lambda: run.answers(f"http://127.0.0.1:{port}/osenv"), 20, "rcorn to serve on fd 3")
        # The variables are the master's, not the application's.
        env = httpx.get(f"http://127.0.0.1:{port}/osenv", timeout=5).json()
        assert "LISTEN_FDS" not in env and "LISTEN_PID" not in env
        os.killpg(run.proc.pid, signal.SIGTERM)
        assert notify.recv(1024) == b"STOPPING=1"
        assert run.proc.wait(15) == 0
    finally:
        run.stop()
        notify.close()
