"""Real frameworks from PyPI, and the PEP 3333 validator, through rcorn."""

import httpx

from conftest import wait_for


def test_flask_app(serve):
    server = serve(["flask_app:app"])
    with httpx.Client(base_url=server.url, timeout=10) as c:
        assert c.get("/").text == "Hello from Flask"
        assert c.post("/form", data={"name": "Ada", "age": "36"}).text == "name=Ada age=36"
        r = c.get("/api/items/7?q=x", headers={"User-Agent": "t/1"})
        assert r.json() == {"id": 7, "q": "x", "agent": "t/1"}
        r = c.post("/upload", files={"file": ("notes.txt", b"0123456789" * 1000, "text/plain")})
        assert r.json() == {"filename": "notes.txt", "size": 10000, "head": "0123456789"}
        assert c.get("/error").status_code == 500
        assert c.get("/missing").status_code == 404
    wait_for(lambda: "flask view failed" in server.log(), 5, "Flask's traceback in the error log")


def test_django_project(serve):
    server = serve(["djsite.wsgi:application"])
    with httpx.Client(base_url=server.url, timeout=10) as c:
        assert c.get("/").text == "Hello from Django"
        assert c.post("/form", data={"name": "Grace"}).text == "name=Grace method=POST"
        assert c.get("/api/items/3?q=y").json() == {"id": 3, "q": "y", "host": f"127.0.0.1:{server.port}"}
        r = c.post("/upload", files={"file": ("data.bin", b"\x00\x01" * 50000)})
        assert r.json() == {"filename": "data.bin", "size": 100000}


def test_requests_pass_the_wsgiref_validator(serve):
    server = serve(["validated:app"])
    with httpx.Client(base_url=server.url, timeout=10) as c:
        for path in ["/", "/environ", "/stream", "/writer", "/file", "/closing"]:
            r = c.get(path)
            assert r.status_code == 200, (path, server.log()[-2000:])
        # (/echo is not used: the validator forbids read() without a size.)
        assert c.post("/count", content=b"x" * 100000).text == "100000"
        assert c.post("/lines", content=b"a\nb\nc").status_code == 200
        assert c.head("/").status_code == 200
    assert "AssertionError" not in server.log()


def test_app_factories_load_like_gunicorn(serve):
    s1 = serve(["factory:create_app()"])
    assert httpx.get(s1.url, timeout=5).text == "hi!"
    s2 = serve(["factory:create_app('hello', punctuation='?')"])
    assert httpx.get(s2.url, timeout=5).text == "hello?"
    s3 = serve(["factory"])  # attribute `application` by default
    assert httpx.get(s3.url, timeout=5).text == "default!"
