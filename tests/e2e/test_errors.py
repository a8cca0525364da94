"""Mistakes by the operator, the application and the client: a clear
answer, no crash, no hang, no respawn loop."""

import socket
import subprocess
import time

import httpx

from conftest import APPS, RCORN, Server, free_port, recv_all, wait_for


def run_rcorn(args, timeout=20):
    return subprocess.run([RCORN, *args], cwd=APPS, capture_output=True, text=True, timeout=timeout)


def test_unknown_flag_names_itself():
    r = run_rcorn(["--no-such-flag", "basic:app"])
    assert r.returncode == 2
    assert "--no-such-flag" in r.stderr


def test_malformed_value_names_the_setting():
    r = run_rcorn(["-w", "many", "basic:app"])
    assert r.returncode == 2
    assert "workers" in r.stderr and "many" in r.stderr


def test_missing_module_exits_with_reason_and_no_respawn_loop(tmp_path):
    port = free_port()
    r = run_rcorn(["-b", f"127.0.0.1:{port}", "no_such_module:app"])
    assert r.returncode != 0
    assert "No module named 'no_such_module'" in r.stdout + r.stderr
    assert (r.stdout + r.stderr).count("Booting worker") == 1


def test_missing_attribute_and_not_callable(tmp_path):
    port = free_port()
    r = run_rcorn(["-b", f"127.0.0.1:{port}", "basic:nothing_here"])
    assert r.returncode != 0
    assert "Failed to find attribute 'nothing_here' in 'basic'." in r.stdout + r.stderr
    r = run_rcorn(["-b", f"127.0.0.1:{port}", "basic:ROUTES"])
    assert r.returncode != 0
    assert "Application object must be callable." in r.stdout + r.stderr


def test_no_application_given():
    r = run_rcorn(["-b", f"127.0.0.1:{free_port()}"])
    assert r.returncode != 0
    assert "No application module specified" in r.stderr


def test_port_in_use_gives_up_after_retries():
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        started = time.monotonic()
        r = run_rcorn(["-b", f"127.0.0.1:{port}", "basic:app"], timeout=30)
    out = r.stdout + r.stderr
    assert r.returncode == 1
    assert "Connection in use" in out
    assert f"Can't connect to 127.0.0.1:{port}" in out
    assert time.monotonic() - started >= 3  # it retried


def test_app_exception_before_response_gives_500_and_traceback(serve):
    server = serve(["basic:app"])
    r = httpx.get(server.url + "/crash-before", timeout=5)
    assert r.status_code == 500
    wait_for(lambda: "RuntimeError: boom before the response" in server.log(), 5, "the traceback")
    assert "Error handling request /crash-before" in server.log()
    assert httpx.get(server.url + "/", timeout=5).status_code == 200


def test_app_exception_after_response_started_closes_connection(serve):
    server = serve(["basic:app"])
    raw = server.request(b"GET /crash-after HTTP/1.1\r\nHost: x\r\n\r\n")
    assert raw.startswith(b"HTTP/1.1 200 OK")
    assert b"Transfer-Encoding: chunked" in raw
    # No terminating zero-length chunk: the client sees a truncated body.
    assert not raw.endswith(b"0\r\n\r\n")
    wait_for(lambda: "boom in the middle of the body" in server.log(), 5, "the traceback")


def test_response_header_injection_is_refused(serve):
    server = serve(["basic:app"])
    raw = server.request(b"GET /bad-header HTTP/1.1\r\nHost: x\r\n\r\n")
    assert raw.startswith(b"HTTP/1.1 500")
    assert b"Injected" not in raw


def test_malformed_requests_get_an_error_and_the_worker_survives(serve):
    server = serve(["basic:app"])
    for bad in [
        b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
        b"GET / HTTP/9.9\r\n\r\n",
        b"GET /\x00 HTTP/1.1\r\n\r\n",
        b"\xff\xfe garbage \r\n\r\n",
        b"GET / HTTP/1.1\r\nBad Header : x\r\n\r\n",
        b"GET /" + b"a" * 10000 + b" HTTP/1.1\r\n\r\n",
    ]:
        raw = server.request(bad)
        assert raw.startswith(b"HTTP/1.1 4") or raw.startswith(b"HTTP/1.1 5"), raw[:80]
        assert b"Connection: close" in raw
    assert httpx.get(server.url + "/", timeout=5).status_code == 200
    assert len(server.workers()) == 1


def test_conformance_fixtures_over_the_socket():
    runner = APPS.parents[2].parent / "shared" / "conformance" / "run.py"
    cases = runner.parent / "gunicorn-requests"
    r = subprocess.run(
        ["python3", str(runner), "--quiet", "--cmd", f"{RCORN} -w 1 -b 127.0.0.1:{{port}} {{flags}} {{app}}",
         "--cases", str(cases)],
        capture_output=True, text=True, timeout=600,
    )
    summary = r.stdout.strip().splitlines()[-1] if r.stdout.strip() else r.stderr
    print(r.stdout[-4000:])
    import re

    m = re.search(r"(\d+) passed, (\d+) failed", summary)
    assert m, summary
    assert int(m.group(2)) == 0, r.stdout[-4000:]
