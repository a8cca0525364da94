"""gunicorn's WSGI callables beyond PEP 3333, end to end: 103 Early Hints
(`wsgi.early_hints`) over HTTP/1.1 and HTTP/2, and HTTP/2 response trailers
(`gunicorn.http2.send_trailers`), with raw sockets and Python's `h2`."""

import json

import httpx
import pytest

from test_http2 import CLEARTEXT, Client

WORKERS = {"sync": [], "gthread": ["--threads", "2"]}


@pytest.mark.parametrize("worker", WORKERS)
def test_early_hints_over_http1_come_before_the_response(serve, worker):
    server = serve(["wsgi_extras:app", *WORKERS[worker]])
    raw = server.request(b"GET /hints HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    first, _, rest = raw.partition(b"\r\n\r\n")
    assert first.split(b"\r\n") == [b"HTTP/1.1 103 Early Hints",
                                    b"Link: </style.css>; rel=preload; as=style",
                                    b"Link: </app.js>; rel=preload; as=script"]
    second, _, rest = rest.partition(b"\r\n\r\n")
    assert second == b"HTTP/1.1 103 Early Hints\r\nLink: </font.woff2>; rel=preload; as=font"
    # Sent after start_response, before the first body byte: still first.
    third, _, rest = rest.partition(b"\r\n\r\n")
    assert third == b"HTTP/1.1 103 Early Hints\r\nLink: </after-start.css>; rel=preload"
    assert rest.startswith(b"HTTP/1.1 200 OK\r\n") and rest.endswith(b"\r\n\r\nhinted\n")


@pytest.mark.parametrize("worker", WORKERS)
def test_a_hint_after_the_first_body_byte_is_dropped(serve, worker):
    server = serve(["wsgi_extras:app", *WORKERS[worker]])
    raw = server.request(b"GET /late-hints HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert raw.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"103" not in raw and b"late.css" not in raw
    assert b"first\n" in raw and b"second\n" in raw


def test_a_head_replaced_after_a_hint_goes_out_behind_it(serve):
    server = serve(["wsgi_extras:app"])
    raw = server.request(
        b"GET /replaced-after-hint HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    hint, _, rest = raw.partition(b"\r\n\r\n")
    assert hint == b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload"
    head, _, body = rest.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 503 Service Unavailable\r\n")
    assert b"X-Second: 1" in head and b"X-First" not in head
    assert body == b"replaced\n"


def test_early_hints_are_not_sent_to_an_http10_client(serve):
    server = serve(["wsgi_extras:app"])
    raw = server.request(b"GET /hints HTTP/1.0\r\n\r\n")
    assert raw.startswith(b"HTTP/1.0 200 OK\r\n") and raw.endswith(b"hinted\n")
    assert b"103" not in raw


def test_a_bad_hint_is_refused_and_nothing_is_sent(serve):
    server = serve(["wsgi_extras:app"])
    raw = server.request(b"GET /bad-hints HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert raw.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"refused: " in raw and b"X-Injected" not in raw.partition(b"\r\n\r\n")[0]


def test_trailers_are_offered_over_http2_only(serve):
    server = serve(["--http-protocols", "h2,h1", "--http2-cleartext", "both",
                    "--threads", "2", "wsgi_extras:app"])
    assert httpx.get(server.url + "/", timeout=5).json() == {
        "wsgi.early_hints": True, "gunicorn.http2.send_trailers": False}
    client = Client(server)
    try:
        r = client.response(client.request("/"))
        assert json.loads(bytes(r["body"])) == {
            "wsgi.early_hints": True, "gunicorn.http2.send_trailers": True}
    finally:
        client.close()


def test_trailers_set_after_a_content_length_body_still_end_the_stream(serve):
    server = serve(["--http-protocols", "h2,h1", "--http2-cleartext", "both",
                    "--threads", "2", "wsgi_extras:app"])
    client = Client(server)
    try:
        late = client.response(client.request("/late-trailers"))
        assert late["status"] == 200 and late["ended"] and late["reset"] is None
        assert bytes(late["body"]) == b"late trailers\n"
        assert late["trailers"] == {"x-checksum": "abc"}
        written = client.response(client.request("/written"))
        assert written["ended"] and bytes(written["body"]) == b"written\n"
        assert written["trailers"] == {"x-after-write": "1"}
        # A list body is whole when it is written: its last byte ends the
        # stream, with no trailers.
        listed = client.response(client.request("/hints"))
        assert listed["ended"] and listed["trailers"] is None
    finally:
        client.close()
    # Over HTTP/1.1 the same generator is served whole, without trailers.
    raw = server_http1(server, "/late-trailers")
    assert raw.endswith(b"\r\n\r\nlate trailers\n") and b"x-checksum" not in raw


def server_http1(server, path):
    return server.request(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())


def test_early_hints_and_trailers_over_http2(serve):
    server = serve([*CLEARTEXT, "--threads", "2", "wsgi_extras:app"])
    client = Client(server)
    try:
        hinted = client.response(client.request("/hints"))
        assert hinted["informational"] == [
            [("link", "</style.css>; rel=preload; as=style"),
             ("link", "</app.js>; rel=preload; as=script")],
            [("link", "</font.woff2>; rel=preload; as=font")],
            [("link", "</after-start.css>; rel=preload")]]
        assert (hinted["status"], bytes(hinted["body"])) == (200, b"hinted\n")
        late = client.response(client.request("/late-hints"))
        assert late["informational"] == []
        assert bytes(late["body"]) == b"first\nsecond\n"
        with_trailers = client.response(client.request("/trailers"))
        assert with_trailers["status"] == 200 and with_trailers["ended"]
        assert bytes(with_trailers["body"]) == b"with trailers\n"
        assert with_trailers["trailers"] == {"grpc-status": "0", "grpc-message": "OK"}
        refused = client.response(client.request("/bad-trailers"))
        assert bytes(refused["body"]).startswith(b"refused: ")
        assert refused["trailers"] is None
    finally:
        client.close()
