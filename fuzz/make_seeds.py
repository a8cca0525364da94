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


def uwsgi_packet(pairs, modifier1=0):
    """A uwsgi packet as nginx's uwsgi_pass writes it."""
    block = b""
    for key, value in pairs:
        for part in (key, value):
            block += len(part).to_bytes(2, "little") + part
    return bytes([modifier1]) + len(block).to_bytes(2, "little") + b"\0" + block


NGINX_VARS = [
    (b"QUERY_STRING", b"a=1&b=%20"), (b"REQUEST_METHOD", b"POST"),
    (b"CONTENT_TYPE", b"text/plain"), (b"CONTENT_LENGTH", b"5"),
    (b"REQUEST_URI", b"/up%2541?a=1"), (b"PATH_INFO", b"/up%41"),
    (b"SERVER_PROTOCOL", b"HTTP/1.1"), (b"HTTPS", b"on"),
    (b"REMOTE_ADDR", b"127.0.0.1"), (b"HTTP_HOST", b"example.com"),
    (b"HTTP_X_FORWARDED_FOR", b"10.0.0.1"),
]

# (flags, split point, piece size, bytes); flags bit 0: raw bytes.
HANDMADE_UWSGI = [
    (1, 3, 1, uwsgi_packet(NGINX_VARS) + b"hello"),
    (1, 9, 2, uwsgi_packet(NGINX_VARS) + b"hel"),
    (1, 1, 3, uwsgi_packet([(b"REQUEST_METHOD", b"GET")], modifier1=5)),
    (1, 2, 1, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"),
    (1, 4, 1, b"\0\x08\0\0\x03\0abc\x09\0x"),
    (1, 0, 5, uwsgi_packet([]) + uwsgi_packet([(b"PATH_INFO", b"/2")])),
    (0, 7, 4, b"REQUEST_METHOD=PUT\nPATH_INFO=/a%b c\nHTTP_ACCEPT=*/*\n"
              b"CONTENT_LENGTH=3\n--abc"),
    (0, 5, 1, b"REQUEST_METHOD=G T\nPATH_INFO=/x\n"),
    (0, 2, 9, b"HTTPS=1\nQUERY_STRING=q\nHTTP_=x\nCONTENT_LENGTH=-4\n--"),
]


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
        # A whole message, then a bad frame: the close is held for the
        # application (Autobahn 3.2, 4.1.3).
        (0, 3, ws_frame(0x81, b"first") + ws_frame(0xa1, b"rsv2") + ws_frame(0x89, b"p")),
        (0, 2, ws_frame(0x82, b"x") + ws_frame(0x85, b"reserved")),
    ]


def write(target, blob):
    directory = OUT / target
    directory.mkdir(parents=True, exist_ok=True)
    (directory / hashlib.sha1(blob).hexdigest()).write_bytes(blob)


# gunicorn's dirty protocol: whole messages as gunicorn encodes them
# (hex, so this script needs no gunicorn), alone, back to back and cut
# short, after the split byte the target reads first.
DIRTY_REQUEST = bytes.fromhex(
    "474401010000009e0102030405060708210000000411000000086170705f706174681100"
    "0000056d3a4170701100000006616374696f6e1100000002676f11000000046172677320"
    "00000008050000000000000001110000000178100000000100000101063ff80000000000"
    "002000000001050000000000000002210000000111000000016b05ffffffffffffffff11"
    "000000066b7761726773210000000111000000016e050000000000000003"
)
DIRTY_ERROR = bytes.fromhex(
    "474401030000007e0000000000000009210000000111000000056572726f722100000003"
    "110000000a6572726f725f747970651100000011446972747954696d656f75744572726f"
    "7211000000076d657373616765110000000e576f726b65722074696d656f757411000000"
    "0764657461696c732100000001110000000774696d656f757405000000000000012c"
)
DIRTY_END = bytes.fromhex("47440105000000000000000000000007")
# A chunk carrying a NaN float, which is not equal to itself (found by
# the fuzzer in the target's own check).
DIRTY_NAN = bytes.fromhex(
    "474401040000001700000000000000012100000001110000000464617461067ff8000000000000"
)
HANDMADE_DIRTY = [
    DIRTY_REQUEST,
    DIRTY_ERROR + DIRTY_END,
    DIRTY_NAN,
    DIRTY_REQUEST[:40],
    DIRTY_END[:3] + b"\x02" + DIRTY_END[4:],
    b"GD\x01\x04\x00\x00\x00\x05\x00\x00\x00\x00\x00\x00\x00\x01\x20\x00\x10\x00\x00",
]


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
    for message in HANDMADE_DIRTY:
        write("dirty_frames", bytes([len(message) // 2]) + message)
    for flags, at, piece, raw in HANDMADE_UWSGI:
        write("uwsgi_decoder", bytes([flags, at, piece]) + raw)


# ---- h2_connection: byte 0 set-up, byte 1 piece size, then client bytes.
H2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


def h2_frame(kind, flags, stream, payload=b""):
    n = len(payload)
    return bytes([n >> 16, (n >> 8) & 255, n & 255, kind, flags]) + stream.to_bytes(4, "big") + payload


def h2_request(stream, post=False, end=True, extra=b""):
    # :method GET/POST, :path /, :scheme http (static indices), then
    # :authority as a literal with its name indexed.
    block = bytes([0x83 if post else 0x82, 0x84, 0x86, 0x01, 4]) + b"test" + extra
    return h2_frame(1, 0x4 | (1 if end else 0), stream, block)


def h2_data(stream, body, end):
    return h2_frame(0, 1 if end else 0, stream, body)


H2_HANDSHAKE = H2_PREFACE + h2_frame(4, 0, 0) + h2_frame(4, 1, 0)
H2_SEEDS = [
    (0x01, 255, h2_request(1)),
    (0x05, 7, h2_request(1, post=True, end=False) + h2_data(1, b"hello", False) + h2_data(1, b"!", True)),
    (0x0F, 0, h2_request(1) + h2_request(3) + h2_frame(8, 0, 0, (1 << 20).to_bytes(4, "big"))
        + h2_frame(8, 0, 1, (1000).to_bytes(4, "big"))),
    (0x00, 10, H2_HANDSHAKE + h2_request(1) + h2_frame(6, 0, 0, bytes(8))),
    (0x03, 32, b"".join(h2_request(i) + h2_frame(3, 0, i, (8).to_bytes(4, "big")) for i in range(1, 60, 2))),
    (0x03, 200, h2_frame(6, 0, 0, bytes(8)) * 200),
    (0x01, 64, h2_frame(1, 0, 1, bytes([0x82, 0x84, 0x86])) + h2_frame(9, 0, 1, b"\x40" * 100) * 30),
    (0x05, 16, h2_request(1, post=True, end=False) + h2_data(1, b"abc", False)
        + h2_frame(1, 0x5, 1, bytes([0x00, 5]) + b"x-sum" + bytes([1]) + b"6")),
    (0x07, 255, h2_request(1, extra=bytes([0x40, 1]) + b"x" + bytes([0x7F, 0xA1, 0x1E]) + b"a" * 4000)
        + h2_request(3, extra=b"\xbe" * 100)),
    (0x04, 50, h2_frame(4, 0, 0, (4).to_bytes(2, "big") + (0).to_bytes(4, "big")) + h2_request(1)),
]


def h2_main():
    for setup, piece, client in H2_SEEDS:
        write("h2_connection", bytes([setup, piece]) + client)


if __name__ == "__main__":
    main()
    h2_main()
