"""--log-syslog: error and access lines sent as Python's SysLogHandler
sends gunicorn's, captured on a real datagram socket."""

import re
import socket

import httpx

from conftest import recv_datagrams, run_to_exit


def collect(sock, until):
    return recv_datagrams(sock, until)


def test_error_and_access_lines_reach_syslog_with_facility_and_tag(serve):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sink:
        sink.bind(("127.0.0.1", 0))
        port = sink.getsockname()[1]
        server = serve(["basic:app", "--log-syslog", "--log-syslog-to", f"udp://127.0.0.1:{port}",
                        "--log-syslog-prefix", "shop", "--log-syslog-facility", "local3"])
        assert httpx.get(server.url + "/", timeout=5).status_code == 200
        assert httpx.get(server.url + "/crash-before", timeout=5).status_code == 500
        # The failed request's access line is the last to come.
        packets = collect(sink, lambda ps: any(b"GET /crash-before" in p for p in ps))
    # local3 is 19: info is <158>, error <155>; each message ends in NUL.
    assert all(p.endswith(b"\0") for p in packets), packets
    assert re.fullmatch(rb"<158>gunicorn\.shop\.error: \[\d+\] Starting rcorn [\d.]+\0", packets[0]), packets[0]
    access = [p for p in packets if p.startswith(b"<158>gunicorn.shop.access: [")]
    assert any(b'"GET / HTTP/1.1" 200' in p for p in access), access
    assert any(b'"GET /crash-before HTTP/1.1" 500' in p for p in access), access
    errors = [p for p in packets if p.startswith(b"<155>gunicorn.shop.error: [")]
    assert any(b"Error handling request /crash-before" in p and b"RuntimeError" in p for p in errors), errors


def test_access_lines_can_stay_out_of_syslog_and_bad_values_are_named(serve):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sink:
        sink.bind(("127.0.0.1", 0))
        port = sink.getsockname()[1]
        server = serve(["basic:app", "--log-syslog", "--log-syslog-to", f"udp://127.0.0.1:{port}",
                        "--disable-redirect-access-to-syslog"])
        assert httpx.get(server.url + "/", timeout=5).status_code == 200
        server.stop()  # its shutdown lines come after the request's
        packets = collect(sink, lambda ps: any(b"Shutting down" in p for p in ps))
    assert not any(b".access:" in p for p in packets), packets
    # Without a prefix, the tag names the application, ':' made '.'.
    assert packets[0].startswith(b"<14>gunicorn.basic.app.error: ["), packets[0]
    for args, setting in ((["--log-syslog-facility", "nosuch"], "syslog_facility"),
                          (["--log-syslog-to", "localhost:514"], "syslog_addr")):
        bad = run_to_exit(["--log-syslog", *args, "basic:app"])
        assert bad.returncode != 0
        message = bad.stderr.strip()
        assert setting in message and len(message.splitlines()) == 1, message
