"""The Prometheus metrics endpoint (`--metrics-bind`): known requests are
counted by method, status class and duration, bytes both ways, workers by
state and restarts by cause; the page parses with Prometheus' own Python
parser; counters survive the workers that counted them."""

import json
import pathlib
import re
import socket
import struct
import threading

import pytest
from prometheus_client.parser import text_string_to_metric_families

from conftest import free_port, recv_all, run_to_exit, wait_for

DOCS = pathlib.Path(__file__).parents[2] / "docs"

WORKER_KINDS = {
    "sync": ["metrics_app:app"],
    "gthread": ["metrics_app:app", "-k", "gthread", "--threads", "2"],
    "asgi": ["metrics_app:asgi_app", "-k", "asgi"],
}

# (method, path, body) and the (method, status class) each is counted as.
KNOWN = (
    [("GET", "/status/200", b"", ("GET", "2xx"))] * 5
    + [("POST", "/status/404", b"x" * 100, ("POST", "4xx"))] * 3
    + [("DELETE", "/status/500", b"", ("DELETE", "5xx"))] * 2
    + [("HEAD", "/status/200", b"", ("HEAD", "2xx"))]
    + [("PATCH", "/status/302", b"", ("PATCH", "3xx"))]
    + [("PROPFIND", "/status/204", b"", ("other", "2xx"))]
)


def http(port, raw):
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(raw)
        return recv_all(s)


def scrape_text(port):
    raw = http(port, b"GET /metrics HTTP/1.1\r\nHost: metrics\r\n\r\n")
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK\r\n"), head
    assert b"Content-Type: text/plain; version=0.0.4; charset=utf-8" in head, head
    return body.decode()


class Page:
    """One scrape, parsed by prometheus_client."""

    def __init__(self, port):
        self.text = scrape_text(port)
        self.families = {f.name: f for f in text_string_to_metric_families(self.text)}
        self.samples = {}
        for family in self.families.values():
            for s in family.samples:
                self.samples[(s.name, tuple(sorted(s.labels.items())))] = s.value

    def get(self, name, **labels):
        return self.samples.get((name, tuple(sorted(labels.items()))), 0.0)

    def requests(self):
        return sum(v for (name, _), v in self.samples.items() if name == "rcorn_http_requests_total")


def request_bytes(method, path, body):
    head = f"{method} {path} HTTP/1.1\r\nHost: test\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    return head.encode() + body


@pytest.fixture
def metrics_port():
    return free_port()


@pytest.mark.parametrize("kind", WORKER_KINDS)
def test_known_requests_are_counted_on_a_page_prometheus_parses(serve, metrics_port, kind):
    server = serve([*WORKER_KINDS[kind], "-w", "2", "--metrics-bind", f"127.0.0.1:{metrics_port}"], workers=2)
    before = Page(metrics_port)
    sent = received = 0
    for method, path, body, _ in KNOWN:
        raw = request_bytes(method, path, body)
        answer = server.request(raw)
        assert answer.startswith(b"HTTP/1.1 "), answer
        sent += len(raw)
        received += len(answer)

    def counted():
        page = Page(metrics_port)
        return page if page.requests() - before.requests() == len(KNOWN) else None

    after = wait_for(counted, 10, "the known requests to be counted")
    expected = {}
    for *_, labels in KNOWN:
        expected[labels] = expected.get(labels, 0) + 1
    for (method, status), n in expected.items():
        delta = after.get("rcorn_http_requests_total", method=method, status=status) - before.get(
            "rcorn_http_requests_total", method=method, status=status)
        assert delta == n, (method, status, delta, after.text)

    def bytes_counted():
        page = Page(metrics_port)
        got = (page.get("rcorn_http_received_bytes_total") - before.get("rcorn_http_received_bytes_total"),
               page.get("rcorn_http_sent_bytes_total") - before.get("rcorn_http_sent_bytes_total"))
        return got == (sent, received) or got
    assert wait_for(lambda: bytes_counted() is True, 10, f"bytes {bytes_counted()} to be {(sent, received)}")

    # One slow request: in flight while it runs, then in the histogram
    # above the 0.5 s bucket.
    slow = threading.Thread(target=server.request, args=(request_bytes("GET", "/sleep?1", b""),))
    slow.start()
    wait_for(lambda: Page(metrics_port).get("rcorn_http_requests_in_flight") == 1, 10, "one request in flight")
    slow.join(10)
    page = wait_for(lambda: (p := Page(metrics_port)).get("rcorn_http_requests_in_flight") == 0
                    and p.requests() == after.requests() + 1 and p, 10, "the slow request to finish")
    hist = "rcorn_http_request_duration_seconds"
    count = page.get(f"{hist}_count") - after.get(f"{hist}_count")
    under_half = page.get(f"{hist}_bucket", le="0.5") - after.get(f"{hist}_bucket", le="0.5")
    assert (count, under_half) == (1, 0), page.text
    assert page.get(f"{hist}_bucket", le="+Inf") == page.get(f"{hist}_count")
    # An event loop's timers may fire a little before a second has passed
    # on the monotonic clock (uvloop's clock is cached per iteration, in
    # milliseconds): the bound allows 10 ms of that.
    assert page.get(f"{hist}_sum") - after.get(f"{hist}_sum") >= 0.99

    assert page.get("rcorn_workers", state="ready") == 2
    assert page.get("rcorn_workers", state="booting") == 0
    assert page.get("rcorn_workers_target") == 2
    backlog = [labels for (name, labels) in page.samples if name == "rcorn_listen_backlog"]
    assert any(str(server.port) in dict(labels)["listener"] for labels in backlog), page.text
    kinds = {name: f.type for name, f in page.families.items()}
    assert kinds["rcorn_http_requests"] == "counter"
    assert kinds[hist] == "histogram"
    assert kinds["rcorn_http_requests_in_flight"] == "gauge"
    assert kinds["rcorn_worker_restarts"] == "counter"
    for family in page.families.values():
        assert family.name.startswith("rcorn_") and len(family.documentation) > 20, family


def test_the_endpoint_answers_only_its_page(serve, metrics_port):
    serve(["metrics_app:app", "--metrics-bind", f"127.0.0.1:{metrics_port}"])
    assert http(metrics_port, b"GET / HTTP/1.1\r\n\r\n").startswith(b"HTTP/1.1 404 ")
    wrong = http(metrics_port, b"POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n")
    assert wrong.startswith(b"HTTP/1.1 405 ") and b"Allow: GET, HEAD\r\n" in wrong
    head = http(metrics_port, b"HEAD /metrics HTTP/1.1\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK") and head.endswith(b"\r\n\r\n"), head
    assert http(metrics_port, b"\x16\x03\x01 not http\r\n\r\n").startswith(b"HTTP/1.1 400 ")
    # Idle clients past the limit do not shut the endpoint.
    idle = [socket.create_connection(("127.0.0.1", metrics_port)) for _ in range(20)]
    try:
        assert "rcorn_workers" in scrape_text(metrics_port)
    finally:
        for s in idle:
            s.close()


def test_restarts_are_counted_by_cause_and_counters_survive_them(serve, metrics_port):
    server = serve(["metrics_app:app", "--max-requests", "3", "--timeout", "2",
                    "--metrics-bind", f"127.0.0.1:{metrics_port}"])
    before = Page(metrics_port)
    totals = []
    for _ in range(7):
        assert server.request(request_bytes("GET", "/", b"")).startswith(b"HTTP/1.1 200")
        totals.append(Page(metrics_port).requests())
    assert totals == sorted(totals), "counters never go back when a worker is replaced"
    page = wait_for(lambda: (p := Page(metrics_port)).requests() == before.requests() + 7 and p, 10,
                    "every request counted, across the recycled workers")
    assert page.get("rcorn_worker_restarts_total", cause="max_requests") >= 2, page.text
    assert page.get("rcorn_worker_restarts_total", cause="crash") == 0

    server.wait_ready()
    server.request(request_bytes("GET", "/exit", b""))
    wait_for(lambda: Page(metrics_port).get("rcorn_worker_restarts_total", cause="crash") == 1, 10,
             "the crash to be counted")

    server.wait_ready()
    hung = threading.Thread(target=server.request, args=(request_bytes("GET", "/sleep?30", b""), 30), daemon=True)
    hung.start()
    wait_for(lambda: Page(metrics_port).get("rcorn_worker_restarts_total", cause="timeout") == 1, 15,
             f"the timeout to be counted; log:\n{server.log()}")
    assert Page(metrics_port).requests() >= page.requests()


def control_request(sock, command):
    payload = json.dumps({"id": 1, "command": command, "args": []}).encode()
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(10)
        s.connect(str(sock))
        s.sendall(struct.pack(">I", len(payload)) + payload)
        (n,) = struct.unpack(">I", s.recv(4, socket.MSG_WAITALL))
        return json.loads(s.recv(n, socket.MSG_WAITALL))


def test_show_workers_reports_each_workers_requests(serve, metrics_port, tmp_path):
    sock = tmp_path / "ctl" / "rcorn.ctl"
    server = serve(["metrics_app:app", "-w", "2", "--control-socket", str(sock),
                    "--metrics-bind", f"127.0.0.1:{metrics_port}"], workers=2)
    for _ in range(6):
        server.request(request_bytes("GET", "/", b""))

    def agreed():
        workers = control_request(sock, "show workers")["data"]["workers"]
        per_worker = sum(w["requests"] for w in workers)
        return per_worker >= 6 and per_worker == Page(metrics_port).requests()
    wait_for(agreed, 10, "show workers' requests to add up to the page's")


def test_a_bad_metrics_bind_stops_with_one_line_naming_it():
    bind = f"127.0.0.1:{free_port()}"
    bad = run_to_exit(["-b", bind, "--metrics-bind", "nonsense", "metrics_app:app"])
    lines = [line for line in (bad.stdout + bad.stderr).splitlines() if "metrics_bind" in line]
    assert bad.returncode != 0 and len(lines) == 1, (bad.returncode, bad.stdout, bad.stderr)
    assert "HOST:PORT" in lines[0]

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        busy = run_to_exit(["-b", bind, "--metrics-bind", f"127.0.0.1:{port}", "metrics_app:app"])
    lines = [line for line in (busy.stdout + busy.stderr).splitlines() if "metrics_bind" in line]
    assert busy.returncode == 1 and len(lines) == 1, (busy.returncode, busy.stdout, busy.stderr)
    assert f"127.0.0.1:{port}" in lines[0] and "in use" in lines[0], lines


def test_the_dashboard_queries_only_exported_metrics(serve, metrics_port):
    server = serve(["metrics_app:app", "--metrics-bind", f"127.0.0.1:{metrics_port}"])
    server.request(request_bytes("GET", "/", b""))
    page = Page(metrics_port)
    exported = set()
    for family in page.families.values():
        exported.add(family.name)
        exported.update(s.name for s in family.samples)
    dashboard = json.loads((DOCS / "metrics-dashboard.json").read_text())

    def exprs(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("expr", "query") and isinstance(value, str):
                    yield value
                else:
                    yield from exprs(value)
        elif isinstance(node, list):
            for item in node:
                yield from exprs(item)

    used = {name for e in exprs(dashboard) for name in re.findall(r"\brcorn_[a-z_]+\b", e)}
    assert len(used) >= 8, used
    assert used <= exported, used - exported
    documented = (DOCS / "metrics.md").read_text()
    for family in page.families.values():
        assert f"`{family.name}" in documented, family.name


def test_counts_under_load_match_the_load_generators(serve, metrics_port):
    """Three seconds of 16 connections, with workers recycled as they go:
    the page's count of answered requests is the load generator's."""
    import subprocess
    import sys

    server = serve(["metrics_app:app", "-w", "2", "--max-requests", "100",
                    "--metrics-bind", f"127.0.0.1:{metrics_port}"], workers=2)
    before = Page(metrics_port)
    loadgen = subprocess.Popen(
        [sys.executable, str(pathlib.Path(__file__).parent / "loadgen.py"), "--port", str(server.port),
         "--connections", "16", "--duration", "3"], stdout=subprocess.PIPE, text=True)
    seen = []
    while loadgen.poll() is None:
        seen.append(Page(metrics_port).requests())
    result = json.loads(loadgen.communicate(timeout=30)[0])
    assert seen == sorted(seen), "the count never goes back, though workers are replaced"
    assert result["failures"] == {} and result["ok"] > 500, result
    page = wait_for(lambda: (p := Page(metrics_port)).requests() - before.requests() == result["ok"] and p,
                    10, f"{result['ok']} requests counted")
    delta = page.get("rcorn_http_requests_total", method="GET", status="2xx") - before.get(
        "rcorn_http_requests_total", method="GET", status="2xx")
    assert delta == result["ok"]
    assert page.get("rcorn_worker_restarts_total", cause="max_requests") >= 1, page.text
