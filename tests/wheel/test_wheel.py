"""rcorn as a user gets it: the one wheel, installed with pip into a fresh
virtualenv of each supported CPython, with no Rust anywhere on PATH, then
`rcorn` from that virtualenv serving a small WSGI app on loopback.

The wheel is `RCORN_WHEEL` (tests/run.sh builds it once and installs the
same file into the Python that runs the other suites); without it this
module builds one (a release build: minutes). Each CPython is looked for
under pyenv (`$PYENV_ROOT/versions/3.X.*`) and then as `python3.X` on PATH;
one that is not on the machine is skipped with a message naming it, so a
missing interpreter shows in the summary (`pytest -rs`) instead of passing
unseen.
"""

import os
import pathlib
import re
import shutil
import signal
import socket
import subprocess
import sys
import time

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
SUPPORTED = ("3.10", "3.11", "3.12", "3.13")
# Older than requires-python: pip must refuse the wheel there.
UNSUPPORTED = ("3.9",)

APP = '''\
import sys


def app(environ, start_response):
    body = ("served by %s %d.%d" % ((sys.implementation.name,) + sys.version_info[:2])).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
'''


def find_python(minor):
    """The newest CPython `minor` ("3.12") on this machine, or None."""
    root = pathlib.Path(os.environ.get("PYENV_ROOT", pathlib.Path.home() / ".pyenv")) / "versions"
    found = []
    if root.is_dir():
        for entry in root.iterdir():
            m = re.fullmatch(rf"{re.escape(minor)}\.(\d+)", entry.name)
            if m and (entry / "bin" / "python").is_file():
                found.append((int(m.group(1)), entry / "bin" / "python"))
    if found:
        return max(found)[1]
    on_path = shutil.which(f"python{minor}")
    return pathlib.Path(on_path) if on_path else None


def python_or_skip(minor, untested):
    python = find_python(minor)
    if python is None:
        pytest.skip(f"CPython {minor} is not installed (neither pyenv's "
                    f"versions/{minor}.* nor python{minor} on PATH): {untested}")
    return python


@pytest.fixture(scope="session")
def wheel(tmp_path_factory):
    given = os.environ.get("RCORN_WHEEL")
    if given:
        path = pathlib.Path(given)
        assert path.is_file(), f"RCORN_WHEEL={given} is not a file"
        return path
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-build-isolation", "--no-deps",
         "-w", str(out), str(REPO)],
        check=True, timeout=1200,
    )
    (path,) = out.glob("rcorn-*.whl")
    return path


def test_the_wheel_is_one_abi3_wheel_for_every_supported_version(wheel):
    # One file for 3.10 onward: the stable ABI from 3.10 (cp310-abi3).
    assert re.fullmatch(r"rcorn-[^-]+-cp310-abi3-[^-]+\.whl", wheel.name), wheel.name


def rust_free_env(venv, home):
    """An environment whose PATH is the virtualenv's bin alone: no cargo,
    no rustc, no compiler, as on a machine that only has Python."""
    env = {"PATH": str(venv / "bin"), "HOME": str(home), "LANG": "C.UTF-8",
           "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INPUT": "1"}
    for tool in ("cargo", "rustc", "cc", "maturin"):
        assert shutil.which(tool, path=env["PATH"]) is None, f"{tool} is reachable"
    return env


def make_venv(python, where):
    subprocess.run([str(python), "-m", "venv", str(where)], check=True, timeout=120,
                   stdout=subprocess.DEVNULL)
    return where


def pip_install(venv, wheel, env):
    # --no-index: nothing is fetched and no source build can stand in for
    # the wheel.
    return subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--no-index", "--no-deps",
         "--only-binary", ":all:", str(wheel)],
        env=env, capture_output=True, text=True, timeout=300,
    )


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(port, timeout=2.0):
    """One HTTP/1.0 GET of /; returns everything the server sent."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(b"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n")
        chunks = []
        while chunk := s.recv(65536):
            chunks.append(chunk)
        return b"".join(chunks)


def answer_when_ready(proc, port, log, deadline_s=30.0):
    """The first answer of the server, polling until it listens."""
    deadline = time.monotonic() + deadline_s
    while True:
        if proc.poll() is not None:
            raise AssertionError(f"rcorn exited with {proc.returncode}:\n{log.read_text()}")
        try:
            return http_get(port)
        except OSError:
            if time.monotonic() > deadline:
                raise AssertionError(f"rcorn did not answer within {deadline_s}s:\n{log.read_text()}")
            time.sleep(0.05)


def stop(proc):
    """TERM, as an operator would; returns the exit code. The process group
    is killed in any case so that no worker outlives the test."""
    try:
        proc.send_signal(signal.SIGTERM)
        return proc.wait(15)
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        if proc.poll() is None:
            proc.wait(5)


@pytest.mark.parametrize("minor", SUPPORTED)
def test_wheel_installs_and_serves(minor, wheel, tmp_path):
    python = python_or_skip(minor, "the wheel is NOT tested on it")
    venv = make_venv(python, tmp_path / "venv")
    env = rust_free_env(venv, tmp_path)
    installed = pip_install(venv, wheel, env)
    assert installed.returncode == 0, installed.stderr

    version = subprocess.run([str(venv / "bin" / "rcorn"), "--version"], env=env,
                             capture_output=True, text=True, timeout=30)
    assert version.returncode == 0, version.stderr
    assert re.search(rf"^Python: CPython {re.escape(minor)}\.\d+", version.stdout, re.M), version.stdout
    assert "abi3" in version.stdout, version.stdout

    (tmp_path / "hello.py").write_text(APP)
    port = free_port()
    log = tmp_path / "rcorn.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [str(venv / "bin" / "rcorn"), "-w", "1", "-b", f"127.0.0.1:{port}", "hello:app"],
            cwd=tmp_path, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
        try:
            answer = answer_when_ready(proc, port, log)
        finally:
            code = stop(proc)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.0 200 "), answer
    assert body == f"served by cpython {minor}".encode(), answer
    assert code == 0, log.read_text()


@pytest.mark.parametrize("minor", UNSUPPORTED)
def test_pip_refuses_the_wheel_on_older_python(minor, wheel, tmp_path):
    python = python_or_skip(minor, "pip's refusal of the wheel there is NOT checked")
    venv = make_venv(python, tmp_path / "venv")
    env = rust_free_env(venv, tmp_path)
    installed = pip_install(venv, wheel, env)
    assert installed.returncode != 0
    assert "not a supported wheel" in installed.stderr, installed.stderr
    assert not (venv / "bin" / "rcorn").exists()
