"""The HTTP/2 flood limits end to end, for the gthread and asgi workers:
each test sends one hostile frame sequence (hyperframe over a raw socket,
cleartext prior knowledge from a trusted 127.0.0.1) and checks that the
connection is cut off by the machine's rule for it, that a warning naming
the peer is logged, and that a well-behaved client (curl) is served.

Rules kept: every wait has a deadline; every socket is closed; the server
is the real `rcorn` (ended by the `serve` fixture)."""

import re
import select
import subprocess
import time

import hpack
import hyperframe.frame as hf
import pytest

from conftest import rss_kib, wait_for
from test_http2 import read_frames

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
CLEARTEXT = ["--http-protocols", "h2,h1", "--http2-cleartext", "prior-knowledge",
             "--forwarded-allow-ips", "127.0.0.1"]
# Each worker, with the path of its app that sends `?n` bytes.
WORKERS = {
    "gthread": (["--threads", "4", "h2_app:app"], "/download", b"Hello, World!\n"),
    "asgi": (["-k", "asgi", "asgi_h2:app"], "/blob", b"hello"),
}
CALM_LINE = r"WARNING.*HTTP/2 connection from 127\.0\.0\.1 ended \(GOAWAY ENHANCE_YOUR_CALM\)"


@pytest.fixture(params=sorted(WORKERS))
def worker(request):
    return WORKERS[request.param]


def start(serve, worker, *extra):
    args, _, _ = worker
    return serve([*CLEARTEXT, *extra, *args])


def calm_client_served(server, worker):
    """A well-behaved client (curl, prior knowledge) gets its answer."""
    out = subprocess.run(["curl", "-sS", "--max-time", "10", "--http2-prior-knowledge",
                          "-w", "\n%{http_version}", server.url + "/"],
                         capture_output=True, timeout=20)
    assert out.returncode == 0, out.stderr
    assert out.stdout == worker[2] + b"\n2", out.stdout


def request_block(encoder, method="GET", path="/"):
    return encoder.encode([(":method", method), (":scheme", "http"), (":authority", "x"),
                           (":path", path)])


def headers_frame(sid, block, end_stream=False, end_headers=True):
    frame = hf.HeadersFrame(sid, block)
    if end_headers:
        frame.flags.add("END_HEADERS")
    if end_stream:
        frame.flags.add("END_STREAM")
    return frame.serialize()


def cut_off_with_enhance_your_calm(server, worker, attack, detail):
    """Sends `attack`, expects GOAWAY ENHANCE_YOUR_CALM (or a close that
    lost it), the warning with `detail`, and a calm client served."""
    sock = server.connect(timeout=10)
    try:
        try:
            sock.sendall(attack)
        except (BrokenPipeError, ConnectionResetError):
            pass  # cut off mid-attack
        goaway = read_frames(sock, lambda f: isinstance(f, hf.GoAwayFrame))
        # GOAWAY may be lost to the reset of a socket closed with input
        # unread; then the log line below names the code.
        if goaway is not None:
            assert goaway.error_code == 0xB, goaway  # ENHANCE_YOUR_CALM
        calm_client_served(server, worker)
    finally:
        sock.close()
    wait_for(lambda: re.search(CALM_LINE + ".*" + re.escape(detail), server.log()), 10,
             f"the warning '{detail}'")


def test_made_you_reset_past_the_reset_budget_is_cut_off(serve, worker):
    """CVE-2025-8671: a WINDOW_UPDATE of 0 on each new stream makes the
    server reset it; the resets spend the connection's budget."""
    server = start(serve, worker)
    encoder = hpack.Encoder()
    attack = bytearray(PREFACE + hf.SettingsFrame(0).serialize())
    for i in range(1000):
        sid = 1 + 2 * i
        attack += headers_frame(sid, request_block(encoder, "POST"))
        attack += hf.WindowUpdateFrame(sid, window_increment=0).serialize()
    cut_off_with_enhance_your_calm(server, worker, bytes(attack), "too many stream resets")


def test_continuation_flood_past_the_header_block_cap_is_cut_off(serve, worker):
    server = start(serve, worker)
    attack = bytearray(PREFACE + hf.SettingsFrame(0).serialize())
    attack += headers_frame(1, request_block(hpack.Encoder()), end_headers=False)
    for _ in range(64):  # 1 MiB of a block whose END_HEADERS never comes
        attack += hf.ContinuationFrame(1, b"\x00" * 16384).serialize()
    cut_off_with_enhance_your_calm(server, worker, bytes(attack), "CONTINUATION flood")


def test_empty_data_flood_is_cut_off(serve, worker):
    server = start(serve, worker)
    attack = bytearray(PREFACE + hf.SettingsFrame(0).serialize())
    attack += headers_frame(1, request_block(hpack.Encoder(), "POST"))
    for _ in range(1000):
        attack += hf.DataFrame(1, b"").serialize()
    cut_off_with_enhance_your_calm(server, worker, bytes(attack), "flood of empty DATA frames")


def test_hpack_bomb_gets_431_and_the_connection_goes_on(serve, worker):
    """A ~6 KB block that decodes to ~4 MB: one 4000-byte field added to the
    dynamic table, then indexed 1000 times (one byte each)."""
    server = start(serve, worker)
    encoder = hpack.Encoder()
    block = request_block(encoder) + encoder.encode([("x-bomb", "a" * 4000)])
    block += b"\xbe" * 1000  # indexed field 62: the newest dynamic entry
    sock = server.connect(timeout=10)
    decoder = hpack.Decoder()
    try:
        sock.sendall(PREFACE + hf.SettingsFrame(0).serialize()
                     + headers_frame(1, block, end_stream=True))
        head = read_frames(sock, lambda f: isinstance(f, hf.HeadersFrame) and f.stream_id == 1)
        assert head is not None, "no response to the bomb"
        assert dict(decoder.decode(head.data))[":status"] == "431"
        # The HPACK tables stayed in step: the same connection is served.
        sock.sendall(headers_frame(3, request_block(encoder), end_stream=True))
        again = read_frames(sock, lambda f: isinstance(f, hf.HeadersFrame) and f.stream_id == 3)
        assert again is not None and dict(decoder.decode(again.data))[":status"] == "200"
        calm_client_served(server, worker)
    finally:
        sock.close()
    wait_for(lambda: re.search(r"WARNING.*127\.0\.0\.1 \(stream 1\) refused with 431",
                               server.log()), 10, "the 431 warning")


def flood_until_the_server_stops_reading(sock, frame, cap=64 << 20, timeout=20):
    """Sends `frame` over and over, never reading, until the server stops
    reading (no room in the socket for 1.5 s); the bytes sent. Fails if
    `cap` bytes went in first: the server kept reading and queueing."""
    chunk = memoryview(frame * (65536 // len(frame)))
    sock.setblocking(False)
    sent, deadline = 0, time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            # Whole frames only: a partial send's rest goes next.
            sent += sock.send(chunk[sent % len(chunk):])
        except BlockingIOError:
            _, writable, _ = select.select([], [sock], [], 1.5)
            if not writable:
                return sent
        assert sent < cap, f"{sent} bytes went in and the server still reads"
    raise AssertionError(f"the flood was still going in after {timeout} s ({sent} bytes)")


@pytest.mark.parametrize("frame", [
    hf.PingFrame(0, b"12345678").serialize(),
    hf.SettingsFrame(0).serialize(),
], ids=["ping", "settings"])
def test_control_frame_flood_from_a_client_that_never_reads(serve, worker, frame):
    """Each PING or SETTINGS is owed an ACK; a client that never reads them
    finds the server stops reading it, its memory bounded."""
    server = start(serve, worker)
    calm_client_served(server, worker)
    pid = server.workers()[0]
    before = rss_kib(pid)
    sock = server.connect(timeout=10)
    try:
        sock.sendall(PREFACE + hf.SettingsFrame(0).serialize())
        sent = flood_until_the_server_stops_reading(sock, frame)
        grown = rss_kib(pid) - before
        # What the server holds is its output cap (256 KiB) and buffers,
        # not the acks of all the flood that went in.
        assert grown < 16 * 1024, f"worker RSS grew {grown} KiB after {sent} bytes in"
        calm_client_served(server, worker)
    finally:
        sock.close()


def test_a_stream_without_credit_is_reset_after_the_timeout(serve, worker):
    """A client that sets its window to 0 and never gives credit: the
    stream is reset (CANCEL) after `timeout`, with a warning."""
    server = start(serve, worker, "--timeout", "2")
    path = worker[1] + "?100000"
    sock = server.connect(timeout=10)
    try:
        zero_window = hf.SettingsFrame(0, settings={hf.SettingsFrame.INITIAL_WINDOW_SIZE: 0})
        sock.sendall(PREFACE + zero_window.serialize())
        # Its SETTINGS acknowledged, so only the stream can stall.
        theirs = read_frames(sock, lambda f: isinstance(f, hf.SettingsFrame) and "ACK" not in f.flags)
        assert theirs is not None
        ack = hf.SettingsFrame(0)
        ack.flags.add("ACK")
        sock.sendall(ack.serialize() + headers_frame(1, request_block(hpack.Encoder(), path=path),
                                                     end_stream=True))
        started = time.monotonic()
        reset = read_frames(sock, lambda f: isinstance(f, (hf.RstStreamFrame, hf.GoAwayFrame)),
                            timeout=15)
        assert isinstance(reset, hf.RstStreamFrame), reset
        assert reset.stream_id == 1 and reset.error_code == 0x8  # CANCEL
        assert time.monotonic() - started >= 1.0, "reset before the timeout"
        calm_client_served(server, worker)
    finally:
        sock.close()
    wait_for(lambda: re.search(r"WARNING.*HTTP/2 stream 1 from 127\.0\.0\.1 reset: no "
                               r"flow-control credit", server.log()), 10, "the stall warning")
