"""The access log, byte for byte against gunicorn's, for the same requests.

gunicorn (from PyPI, in the test environment) and rcorn serve the same
application with the same `--access-logformat` holding every atom whose
value does not depend on the moment or the process (`t`, `T`, `D`, `M`,
`L` and `p` do). Each request is sent to both; the lines must be equal.
"""

import subprocess
import sys

import httpx
import pytest

from conftest import APPS, end_process, free_port, wait_for

FORMAT = ('%(h)s %(l)s %(u)s "%(r)s" %(s)s %(b)s %(B)s "%(f)s" "%(a)s" %(m)s %(U)s %(q)s %(H)s '
          '%({x-test}i)s %({content-type}o)s %({wsgi.url_scheme}e)s %({nosuch}i)s')

REQUESTS = [
    ("GET", "/", {}, None),
    ("GET", "/hello?a=1&b=%20two", {"Referer": "http://example.com/page", "User-Agent": "parity/1.0",
                                       "X-Test": "yes"}, None),
    ("POST", "/echo", {"Content-Type": "text/plain"}, b"hello body"),
    ("HEAD", "/", {}, None),
    ("GET", "/stream", {"Authorization": "Basic dXNlcjpwYXNz"}, None),
    ("GET", "/writer", {"X-Test": "a"}, None),
    ("GET", "/caf%C3%A9/path", {}, None),
]


@pytest.fixture
def gunicorn(tmp_path):
    if subprocess.run([sys.executable, "-c", "import gunicorn"], capture_output=True).returncode != 0:
        pytest.fail("gunicorn is not installed (tests/requirements.txt lists it)")
    port = free_port()
    log = tmp_path / "gunicorn-access.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-b", f"127.0.0.1:{port}", "--access-logfile", str(log),
         "--access-logformat", FORMAT, "basic:app"],
        cwd=APPS, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)

    def up():
        try:
            return httpx.get(f"http://127.0.0.1:{port}/", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_for(up, 20, "gunicorn to serve")
        yield f"http://127.0.0.1:{port}", log
    finally:
        end_process(proc)


def test_access_lines_match_gunicorns_byte_for_byte(serve, gunicorn, tmp_path):
    gunicorn_url, gunicorn_log = gunicorn
    rcorn_log = tmp_path / "rcorn-access.log"
    server = serve(["basic:app", "--access-logfile", str(rcorn_log), "--access-logformat", FORMAT])
    # Both got a readiness probe; compare only what follows.
    skip_g = len(gunicorn_log.read_bytes().splitlines())
    skip_r = wait_for(lambda: len(rcorn_log.read_bytes().splitlines()), 5, "the probe's line")
    for method, path, headers, body in REQUESTS:
        for url in (gunicorn_url, server.url):
            with httpx.Client(timeout=5) as c:
                r = c.request(method, url + path, headers=headers, content=body)
                assert r.status_code == 200, (url, path, r.status_code)

    def lines(log, skip):
        return log.read_bytes().splitlines()[skip:]

    wait_for(lambda: len(lines(gunicorn_log, skip_g)) == len(REQUESTS)
             and len(lines(rcorn_log, skip_r)) == len(REQUESTS), 10, "both access logs")
    mismatches = [(o, t) for o, t in zip(lines(rcorn_log, skip_r), lines(gunicorn_log, skip_g)) if o != t]
    assert mismatches == [], "\n".join(f"rcorn:    {o!r}\ngunicorn: {t!r}" for o, t in mismatches)
