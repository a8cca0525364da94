"""`--log-format json`: every line of the error log and the access log is
one JSON object with the time, level and message, and an access line also
the request's named fields; its message is the line the text format would
have written. Both WSGI worker classes serve the same requests (the asgi
worker logs through the same access logger).
"""

import json

import httpx
import pytest

from conftest import wait_for

FORMAT = '%(h)s %(l)s %(u)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s"'

REQUESTS = [
    ("GET", "/hello?a=1", {"Referer": "http://example.com/page", "User-Agent": "json/1.0"}, None),
    ("POST", "/echo", {"Content-Type": "text/plain"}, b"hello body"),
    ("GET", "/caf%C3%A9/path", {"User-Agent": 'say "hi"'}, None),
]


def serve_and_log(serve, tmp_path, name, worker_args, log_args):
    access = tmp_path / f"{name}-access.log"
    error = tmp_path / f"{name}-error.log"
    server = serve(["basic:app", *worker_args, *log_args, "--access-logfile", str(access),
                    "--access-logformat", FORMAT, "--error-logfile", str(error)])
    # The readiness probe's line comes first; compare only what follows.
    skip = wait_for(lambda: len(access.read_bytes().splitlines()), 5, "the probe's line")
    with httpx.Client(timeout=5) as c:
        for method, path, headers, body in REQUESTS:
            r = c.request(method, server.url + path, headers=headers, content=body)
            assert r.status_code == 200, (path, r.status_code)
    wait_for(lambda: len(access.read_bytes().splitlines()) == skip + len(REQUESTS), 10,
             "the access lines")
    server.stop()
    return access.read_bytes().splitlines()[skip:], error.read_bytes().splitlines()


@pytest.mark.parametrize("worker_args", [[], ["-k", "gthread", "--threads", "2"]],
                         ids=["sync", "gthread"])
def test_each_line_is_a_json_object_with_the_text_line_as_message(serve, tmp_path, worker_args):
    text_access, _ = serve_and_log(serve, tmp_path, "text", worker_args, [])
    access, errors = serve_and_log(serve, tmp_path, "json", worker_args, ["--log-format", "json"])

    records = [json.loads(line) for line in access]
    for record in records:
        assert {"time", "level", "message", "logger", "pid"} <= record.keys(), record
        assert record["level"] == "INFO" and record["logger"] == "gunicorn.access"
    # The message is the text format's line, byte for byte.
    assert [r["message"].encode() for r in records] == text_access
    first, post, cafe = records
    assert (first["remote_addr"], first["method"], first["uri"], first["protocol"]) == (
        "127.0.0.1", "GET", "/hello?a=1", "HTTP/1.1")
    assert (first["status"], first["response_length"]) == (200, len(b"Hello, World!\n"))
    assert (first["referer"], first["user_agent"]) == ("http://example.com/page", "json/1.0")
    assert isinstance(first["request_time_us"], int)
    assert (post["method"], post["response_length"], post["referer"]) == ("POST", 10, "-")
    assert cafe["uri"] == "/caf%C3%A9/path" and cafe["user_agent"] == 'say "hi"'

    parsed = [json.loads(line) for line in errors]
    assert parsed, "no error-log line"
    for record in parsed:
        assert {"time", "level", "message", "logger", "pid"} <= record.keys(), record
        assert record["logger"] == "gunicorn.error"
    assert any(r["message"].startswith("Booting worker with pid: ") for r in parsed), parsed
