"""statsd metrics (`--statsd-host`) captured on a real datagram socket,
with gunicorn's metric names and line format."""

import re
import socket

import httpx

from conftest import recv_datagrams, run_to_exit


def collect(sock, until):
    """statsd lines received until `until(lines)` holds."""
    return [d.decode() for d in recv_datagrams(sock, lambda ds: until([d.decode() for d in ds]))]


def has(prefix):
    return lambda lines: any(line.startswith(prefix) for line in lines)


def test_requests_statuses_durations_workers_and_log_counters_over_udp(serve):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sink:
        sink.bind(("127.0.0.1", 0))
        port = sink.getsockname()[1]
        server = serve(["basic:app", "-w", "2", "--statsd-host", f"127.0.0.1:{port}",
                        "--statsd-prefix", "shop.web..", "--dogstatsd-tags", "env:test,team:a"], workers=2)
        tags = "|#env:test,team:a"
        lines = collect(sink, has("shop.web.gunicorn.workers:2|g"))
        assert f"shop.web.gunicorn.workers:2|g{tags}" in lines
        assert httpx.get(server.url + "/", timeout=5).status_code == 200
        assert httpx.get(server.url + "/crash-before", timeout=5).status_code == 500
        lines = collect(sink, has("shop.web.gunicorn.request.status.500"))
        assert f"shop.web.gunicorn.requests:1|c|@1.0{tags}" in lines
        assert f"shop.web.gunicorn.request.status.200:1|c|@1.0{tags}" in lines
        assert f"shop.web.gunicorn.request.status.500:1|c|@1.0{tags}" in lines
        durations = [line for line in lines if line.startswith("shop.web.gunicorn.request.duration:")]
        assert len(durations) >= 2
        for line in durations:
            assert re.fullmatch(r"shop\.web\.gunicorn\.request\.duration:\d+\.\d+\|ms\|#env:test,team:a", line), line
        # The application's exception is logged with its traceback: counted
        # as an exception, as gunicorn's log.exception is.
        assert f"shop.web.gunicorn.log.exception:1|c|@1.0{tags}" in lines


def test_unix_datagram_sink_and_a_bad_address_named_in_one_line(serve, tmp_path):
    path = tmp_path / "statsd.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sink:
        sink.bind(str(path))
        server = serve(["basic:app", "--statsd-host", f"unix://{path}"])
        assert httpx.get(server.url + "/", timeout=5).status_code == 200
        lines = collect(sink, has("gunicorn.request.status.200"))
        assert "gunicorn.requests:1|c|@1.0" in lines
    bad = run_to_exit(["--statsd-host", "localhost:notaport", "basic:app"])
    assert bad.returncode != 0
    message = bad.stderr.strip()
    assert "statsd_host" in message and "HOST:PORT or unix://PATH" in message, message
    assert len(message.splitlines()) == 1, message


def test_backlog_metric_reports_connections_waiting_to_be_accepted(serve):
    import os
    import signal

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sink:
        sink.bind(("127.0.0.1", 0))
        port = sink.getsockname()[1]
        server = serve(["basic:app", "--statsd-host", f"127.0.0.1:{port}", "--enable-backlog-metric"])
        collect(sink, has("gunicorn.backlog:0|ms"))
        [worker] = server.workers()
        os.kill(worker, signal.SIGSTOP)  # nobody accepts now
        waiting = [socket.create_connection(("127.0.0.1", server.port), timeout=5) for _ in range(3)]
        try:
            collect(sink, lambda lines: "gunicorn.backlog:3|ms" in lines)
        finally:
            os.kill(worker, signal.SIGCONT)
            for s in waiting:
                s.close()
