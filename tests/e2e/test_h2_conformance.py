"""HTTP/2 conformance: httpwg (`cargo install --locked httpwg-cli@0.2.5`,
which tests/run.sh does) runs its 107 h2spec-style cases of RFC 9113
(preface, frame sizes and flags, stream states, SETTINGS, PING, GOAWAY,
WINDOW_UPDATE, CONTINUATION, HPACK blocks, field validation) against rcorn
over cleartext prior knowledge, for the gthread and the asgi worker. Every
case must pass: none is expected to differ.

httpwg opens one connection per case, all at once. The application reads
the whole request body before it answers (see apps/h2_conformance.py);
the gthread worker gets a thread for each of those connections, since a
handler waiting for a body that a case never sends holds its thread."""

import ctypes
import errno
import os
import re
import shutil
import signal
import subprocess

import pytest

HTTPWG_CASES = 107
CLEARTEXT = ["--http-protocols", "h2,h1", "--http2-cleartext", "prior-knowledge"]
WORKERS = {
    "gthread": ["--threads", "128", "h2_conformance:app"],
    "asgi": ["-k", "asgi", "h2_conformance:asgi_app"],
}
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def io_uring_refused():
    """Why io_uring_setup(2) is refused here (a container's seccomp
    profile may forbid it), or None. httpwg has no other way to do I/O."""
    libc = ctypes.CDLL(None, use_errno=True)
    params = ctypes.create_string_buffer(120)  # struct io_uring_params
    fd = libc.syscall(425, 1, params)  # __NR_io_uring_setup on x86-64 and arm64
    if fd >= 0:
        os.close(fd)
        return None
    code = ctypes.get_errno()
    if code in (errno.EPERM, errno.ENOSYS, errno.EACCES):
        return os.strerror(code)
    return None


def httpwg():
    found = shutil.which("httpwg") or os.path.expanduser("~/.cargo/bin/httpwg")
    if not os.access(found, os.X_OK):
        pytest.fail("httpwg is not installed: `cargo install --locked httpwg-cli@0.2.5` "
                    "(tests/run.sh installs it)")
    return found


def run_httpwg(port):
    """httpwg's output (colours stripped) and its exit code."""
    env = dict(os.environ, RUST_LOG="warn",
               # Its io_uring buffer pool: 16 MiB instead of 256.
               BUFFET_NUM_BUFS="4096")
    # A frame may take a while on a loaded machine: 2 s, not httpwg's 250 ms.
    out = subprocess.run([httpwg(), "-v", "--frame-timeout", "2000", "-a", f"127.0.0.1:{port}"],
                         capture_output=True, text=True, timeout=120, env=env)
    return ANSI.sub("", out.stdout + out.stderr), out.returncode


def cases(output, verdict):
    return {m.group(1) for m in re.finditer(rf"{verdict}: (RFC .*)", output)}


@pytest.mark.skipif(io_uring_refused() is not None,
                    reason=f"io_uring_setup is refused here ({io_uring_refused()}): httpwg needs it")
@pytest.mark.parametrize("worker", sorted(WORKERS))
def test_every_httpwg_case_passes(serve, worker):
    server = serve([*CLEARTEXT, *WORKERS[worker]])
    output, code = run_httpwg(server.port)
    ran = cases(output, "Running test")
    failed = ran - cases(output, "Test passed")
    assert len(ran) == HTTPWG_CASES, output[-3000:]
    # A case that panics inside httpwg prints no verdict: its message is
    # among the output's "Message:" lines.
    assert not failed, "\n".join(sorted(failed)) + "\n\n" + "\n".join(
        line for line in output.splitlines()
        if "Test failed" in line or "Message:" in line or line.startswith("   0: "))
    assert code == 0, output[-3000:]
    # No case is a flood: a flood limit firing means one bad frame was
    # answered many times (as a malformed PRIORITY once was, 200 resets).
    assert "ENHANCE_YOUR_CALM" not in server.log(), server.log()
    # httpwg has closed every connection, so nothing holds the worker: a
    # response left waiting for credit the gone client would never send
    # once kept it (and its graceful shutdown) for the whole `timeout`.
    server.signal(signal.SIGTERM)
    server.wait_exit(timeout=10)
