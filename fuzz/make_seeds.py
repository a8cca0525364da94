#!/usr/bin/env python3
"""Writes the seed corpus: gunicorn's conformance requests plus hand-made
requests and chunked bodies that reach each branch of the decoder.

Input layout is the one rcorn_fuzz (src/lib.rs) reads:
  request_decoder: [config flags][split point, u16 LE][piece size] raw bytes
  chunked_body:    [split point] chunked body after a fixed head
  h1_connection:   [request count - 1] then per request [flags] ([body length]
                   for POST and PUT) [answer shape] [answer length], then
                   piece sizes (src/h1_connection.rs, Scenario::from_bytes)
Run from anywhere: python3 fuzz/make_seeds.py
"""
import base64
import hashlib
import json
import pathlib
import struct

HERE = pathlib.Path(__file__).resolve().parent
FIXTURES = HERE.parent / "tests" / "fixtures" / "conformance" / "gunicorn-requests"
OUT = HERE / "corpus" / "seed"

# Config flags, as rcorn_fuzz::config_from_flags reads them.
FOLDING, STRIP_SPACES, UNCONVENTIONAL, REFUSE_UNDERSCORE, SMALL_LIMITS, UNLIMITED = 1, 2, 4, 8, 16, 32


def flags_for(settings):
    flags = 0
    if settings.get("permit_obsolete_folding"):
        flags |= FOLDING
    if settings.get("strip_header_spaces"):
        flags |= STRIP_SPACES
    if settings.get("permit_unconventional_http_method"):
        flags |= UNCONVENTIONAL
    if settings.get("header_map") == "refuse":
        flags |= REFUSE_UNDERSCORE
    return flags


def request_seed(raw, flags=0, piece=6):
    return bytes([flags]) + struct.pack("<H", len(raw) // 2) + bytes([piece]) + raw


HANDMADE_REQUESTS = [
    (0, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"),
    (0, b"GET /a?b=c#d HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"),
    (0, b"OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n"),
    (0, b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n"),
    (0, b"GET http://example.com/p?q HTTP/1.1\r\nHost: example.com\r\n\r\n"),
    (0, b"POST /p HTTP/1.1\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\nhello"
        b"GET /next HTTP/1.1\r\nConnection: close\r\n\r\n"),
    (0, b"POST /c HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
        b"5;a=b;c=\"d e\"\r\nhello\r\n0\r\nX-Trailer: t\r\n\r\n"),
    (0, b"POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"),
    (0, b"POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc"),
    (0, b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\n"),
    (0, b"GET / HTTP/1.1\r\nHost: a\nX: b\r\n\r\n"),
    (0, b"GET / HTTP/1.1\r\nHost : a\r\n\r\n"),
    (0, b"GET / HTTP/1.1\r\nX: a\x00b\r\n\r\n"),
    (0, b"GET / HTTP/1.1\r\nX: a\rb\r\n\r\n"),
    (0, b"GET / HTTP/2.0\r\n\r\n"),
    (0, b"get / HTTP/1.1\r\n\r\n"),
    (0, b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"),
    (0, b"GET / HTTP/1.1\r\nExpect: something\r\n\r\n"),
    (0, b"POST / HTTP/1.1\r\nTransfer-Encoding: br\r\n\r\n"),
    (0, b"POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nshort"),
    (FOLDING, b"GET / HTTP/1.1\r\nX: a\r\n  folded\r\n\tagain\r\n\r\n"),
    (STRIP_SPACES, b"GET / HTTP/1.1\r\nX-Name \t: v\r\n\r\n"),
    (UNCONVENTIONAL, b"m# / HTTP/1.1\r\n\r\n"),
    (REFUSE_UNDERSCORE, b"GET / HTTP/1.1\r\nX_Under: v\r\n\r\n"),
    (SMALL_LIMITS, b"GET /" + b"a" * 80 + b" HTTP/1.1\r\n\r\n"),
    (SMALL_LIMITS, b"GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\nE: 5\r\n\r\n"),
    (SMALL_LIMITS, b"GET / HTTP/1.1\r\nX: " + b"v" * 60 + b"\r\n\r\n"),
    (UNLIMITED, b"GET /" + b"a" * 5000 + b" HTTP/1.1\r\nX: " + b"v" * 9000 + b"\r\n\r\n"),
]

HANDMADE_CHUNKED = [
    b"0\r\n\r\n",
    b"5\r\nhello\r\n0\r\n\r\n",
    b"3;ext=1\r\nabc\r\n2 ; q=\"x\\\"y\"\r\nde\r\n0\r\nVary: *\r\nX-T: 1\r\n\r\n",
    b"A\r\n0123456789\r\n0\r\n\r\nGET / HTTP/1.1\r\n\r\n",
    b"5\r\nhello0\r\n\r\n",
    b"5\nhello\r\n0\r\n\r\n",
    b"-1\r\n",
    b"0000000000000000005\r\nhello\r\n0\r\n\r\n",
    b"5\r\nhello\r\n0\r\nContent-Length: 5\r\n\r\n",
    b"5\r\nhel",
]


# Request flags and answer shapes, as Scenario::from_bytes reads them.
GET, POST, HEAD, PUT = 0, 1, 2, 3
HTTP10, CHUNKED, EXPECT, CLOSE = 4, 8, 16, 32
S200, S201, S204, S304, S404, S500, S302 = 0, 1, 2, 3, 4, 5, 6
CONTENT_LENGTH, READ_ALL, READ_NOTHING, READ_SOME = 8, 16, 0, 48 | 64

HANDMADE_CONNECTIONS = [
    # (requests as (flags, body length, shape, answer length), piece sizes)
    ([(GET, 0, S200 | CONTENT_LENGTH | READ_ALL, 5)], []),
    ([(GET, 0, S200 | READ_ALL, 12), (HEAD, 0, S200 | CONTENT_LENGTH, 9)], [3]),
    ([(POST, 20, S201 | READ_ALL, 4), (PUT | CHUNKED, 30, S200 | READ_ALL, 0)], [7, 1]),
    ([(POST | EXPECT, 10, S200 | READ_ALL, 3)], [40]),
    ([(POST | EXPECT, 10, S200 | READ_NOTHING, 3), (GET, 0, S200, 1)], [50]),
    ([(POST | EXPECT | CHUNKED, 25, S200 | READ_SOME, 3), (GET, 0, S200, 1)], [45, 2]),
    ([(POST, 30, S404 | READ_NOTHING, 8), (GET, 0, S204 | READ_ALL, 6)], [5]),
    ([(GET, 0, S304 | CONTENT_LENGTH, 7), (GET | CLOSE, 0, S200, 4), (GET, 0, S200, 4)], []),
    ([(GET | HTTP10, 0, S200, 10)], [9]),
    ([(GET | HTTP10 | CLOSE, 0, S200 | CONTENT_LENGTH, 10), (GET, 0, S200, 1)], [64]),
    ([(POST | HTTP10 | CLOSE, 12, S500 | CONTENT_LENGTH | READ_ALL, 10)], [1]),
    ([(HEAD | HTTP10, 0, S200, 10), (GET | HTTP10 | CLOSE, 0, S302 | CONTENT_LENGTH, 2)], [13]),
    ([(GET, 0, S200, 0)] * 5, [2]),
]


def connection_seed(requests, pieces):
    blob = bytearray([len(requests) - 1])
    for flags, body_len, shape, answer_len in requests:
        blob.append(flags)
        if flags & 3 in (POST, PUT):
            blob.append(body_len)
        blob += bytes([shape, answer_len])
    # Piece sizes are read modulo 64, plus one.
    blob += bytes((size - 1) % 64 for size in pieces)
    return bytes(blob)


def ws_frame(first, payload, mask=b"\x37\xfa\x21\x3d"):
    """A masked client frame."""
    n = len(payload)
    if n < 126:
        head = bytes([first, 0x80 | n])
    elif n < 65536:
        head = bytes([first, 0x80 | 126]) + n.to_bytes(2, "big")
    else:
        head = bytes([first, 0x80 | 127]) + n.to_bytes(8, "big")
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def ws_seeds():
    """(flags, piece size, client bytes) for the ws_connection target."""
    import zlib
    z = zlib.compressobj(wbits=-15)
    squeezed = (z.compress(b"hello hello hello") + z.flush(zlib.Z_SYNC_FLUSH))[:-4]
    return [
        (0, 1, ws_frame(0x81, "κόσμε".encode())),
        (0, 3, ws_frame(0x01, b"Hel") + ws_frame(0x89, b"ping") + ws_frame(0x80, b"lo")),
        (0, 7, ws_frame(0x82, bytes(range(256)) * 2) + ws_frame(0x88, b"\x03\xe8bye")),
        (0, 2, ws_frame(0x81, b"ok\xed\xa0\x80more")),
        (2, 5, ws_frame(0x82, bytes(100))),
        (0, 4, ws_frame(0x88, b"\x03")),
        (0, 1, ws_frame(0x8a, b"unsolicited") + ws_frame(0x88, b"")),
        (1, 3, ws_frame(0xc1, squeezed) + ws_frame(0x81, b"plain")),
        (3, 9, ws_frame(0xc2, (z.compress(bytes(5000)) + z.flush(zlib.Z_SYNC_FLUSH))[:-4])),
    ]


def write(target, blob):
    directory = OUT / target
    directory.mkdir(parents=True, exist_ok=True)
    (directory / hashlib.sha1(blob).hexdigest()).write_bytes(blob)


def main():
    for path in sorted(FIXTURES.glob("*.json")):
        case = json.loads(path.read_text())
        raw = base64.b64decode(case["raw_b64"])
        write("request_decoder", request_seed(raw, flags_for(case.get("settings", {}))))
    for flags, raw in HANDMADE_REQUESTS:
        write("request_decoder", request_seed(raw, flags))
    for body in HANDMADE_CHUNKED:
        write("chunked_body", bytes([len(body) // 2]) + body)
    for requests, pieces in HANDMADE_CONNECTIONS:
        write("h1_connection", connection_seed(requests, pieces))
    for flags, piece, data in ws_seeds():
        write("ws_connection", bytes([flags, piece]) + data)


if __name__ == "__main__":
    main()
