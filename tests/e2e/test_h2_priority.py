"""An HTTP/2 stream's priority (RFC 7540 §5.3) as gunicorn reports it to
the application: `gunicorn.http2.priority_weight` and
`gunicorn.http2.priority_depends_on` in the WSGI environ, and the
`http.response.priority` scope extension in ASGI; the defaults (16, 0)
when HEADERS declare none, nothing over HTTP/1.1. Driven by Python's `h2`
over a raw socket, and httpx for HTTP/1.1."""

import json

import httpx
import pytest

from test_http2 import CLEARTEXT, Client

# Per worker: its arguments, a path answering what the app saw, and how to
# read the priority (weight, depends_on) from that answer.
WORKERS = {
    "gthread": (["--threads", "2", "h2_app:app"], "/environ",
                lambda v: (v["gunicorn.http2.priority_weight"],
                           v["gunicorn.http2.priority_depends_on"])),
    "asgi": (["-k", "asgi", "asgi_h2:app"], "/scope",
             lambda v: None if v["priority"] is None else
             (v["priority"]["weight"], v["priority"]["depends_on"])),
}


@pytest.fixture(params=sorted(WORKERS))
def worker(request):
    return request.param


def seen(client, worker, sid):
    answer = client.response(sid)
    assert answer["status"] == 200 and answer["ended"]
    return WORKERS[worker][2](json.loads(bytes(answer["body"])))


def test_headers_priority_reaches_the_application(serve, worker):
    args, view, _ = WORKERS[worker]
    server = serve([*CLEARTEXT, *args])
    client = Client(server)
    try:
        plain = client.request(view)
        assert seen(client, worker, plain) == (16, 0)
        weighted = client.request(view, priority={"weight": 201, "depends_on": plain,
                                                  "exclusive": True})
        assert seen(client, worker, weighted) == (201, plain)
        lightest = client.request(view, priority={"weight": 1, "depends_on": 0})
        assert seen(client, worker, lightest) == (1, 0)
    finally:
        client.close()


def test_http1_requests_carry_no_priority(serve, worker):
    args, view, read = WORKERS[worker]
    server = serve(args)
    view_json = httpx.get(server.url + view, timeout=5).json()
    if worker == "gthread":
        assert "gunicorn.http2.priority_weight" in view_json
        assert view_json["gunicorn.http2.priority_weight"] is None
        assert view_json["gunicorn.http2.priority_depends_on"] is None
    else:
        assert read(view_json) is None
