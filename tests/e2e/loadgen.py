"""A closed-loop HTTP/1.1 load generator that accounts for every request.

Each of N connections sends a GET, reads the whole response (checked
against its Content-Length), and sends the next; a response saying
`Connection: close` (or `--close`) makes it reconnect. Unlike wrk it
reports what became of each request: answered, refused at connect, reset,
closed before any answer, cut short, timed out, or a status other than
200. Run as a program (so its work does not share the test's interpreter)
it prints one JSON object:

    python loadgen.py --port 8000 --connections 64 --duration 20
"""

import argparse
import errno
import json
import selectors
import socket
import sys
import time

REQUEST_TIMEOUT = 10.0


class Conn:
    def __init__(self, gen):
        self.gen = gen
        self.sock = None
        self.buf = bytearray()
        self.sent_at = 0.0
        self.connecting = False

    def open(self):
        self.buf.clear()
        if self.gen.unix:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            target = self.gen.unix
        else:
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            target = (self.gen.host, self.gen.port)
        self.sock.setblocking(False)
        self.sent_at = time.monotonic()
        code = self.sock.connect_ex(target)
        if code in (0,):
            self.connecting = False
            self.send()
        elif code in (errno.EINPROGRESS, errno.EAGAIN):
            self.connecting = True
            self.gen.sel.register(self.sock, selectors.EVENT_WRITE, self)
        else:
            self.fail("connect")

    def send(self):
        self.sent_at = time.monotonic()
        self.gen.sent += 1
        try:
            # A request line and head this small always fits the socket buffer.
            self.sock.send(self.gen.request)
        except OSError:
            self.fail("reset")
            return
        self.gen.sel.register(self.sock, selectors.EVENT_READ, self)

    def close(self):
        if self.sock is not None:
            try:
                self.gen.sel.unregister(self.sock)
            except (KeyError, ValueError):
                pass
            self.sock.close()
            self.sock = None

    def fail(self, kind):
        self.gen.failures[kind] = self.gen.failures.get(kind, 0) + 1
        self.close()
        self.gen.next_for(self)

    def on_event(self):
        if self.connecting:
            err = self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            self.gen.sel.unregister(self.sock)
            self.connecting = False
            if err:
                self.fail("connect")
            else:
                self.send()
            return
        try:
            data = self.sock.recv(262144)
        except (ConnectionResetError, BrokenPipeError):
            self.fail("reset")
            return
        except BlockingIOError:
            return
        if not data:
            self.fail("incomplete" if self.buf else "closed_before_response")
            return
        self.buf += data
        self.parse()

    def parse(self):
        end = self.buf.find(b"\r\n\r\n")
        if end < 0:
            return
        head = bytes(self.buf[:end]).lower()
        length = 0
        close = False
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name == b"content-length":
                length = int(value)
            elif name == b"connection" and b"close" in value:
                close = True
        if len(self.buf) < end + 4 + length:
            return
        status = int(head[9:12])
        gen = self.gen
        gen.latencies.append(time.monotonic() - self.sent_at)
        if status == 200:
            gen.ok += 1
        else:
            gen.failures[f"status_{status}"] = gen.failures.get(f"status_{status}", 0) + 1
        extra = len(self.buf) - (end + 4 + length)
        self.buf.clear()
        if extra:
            gen.failures["unsolicited_bytes"] = gen.failures.get("unsolicited_bytes", 0) + 1
        gen.sel.unregister(self.sock)
        if close or gen.close_each:
            gen.reconnects += 1
            self.close()
            gen.next_for(self, reconnect=True)
        else:
            gen.next_for(self, reconnect=False)


class LoadGen:
    def __init__(self, args):
        self.host, self.port, self.unix = args.host, args.port, args.unix
        self.close_each = args.close
        extra = b"Connection: close\r\n" if args.close else b""
        self.request = b"GET %s HTTP/1.1\r\nHost: load\r\n%s\r\n" % (args.path.encode(), extra)
        self.sel = selectors.DefaultSelector()
        self.sent = self.ok = self.reconnects = 0
        self.failures = {}
        self.latencies = []
        self.stopping = False
        self.conns = [Conn(self) for _ in range(args.connections)]

    def next_for(self, conn, reconnect=True):
        if self.stopping:
            conn.close()
            return
        if reconnect or conn.sock is None:
            conn.open()
        else:
            conn.send()

    def run(self, duration):
        for c in self.conns:
            c.open()
        stop_at = time.monotonic() + duration
        drain_until = stop_at + REQUEST_TIMEOUT
        while True:
            now = time.monotonic()
            if now >= stop_at:
                self.stopping = True
            if self.stopping and not self.sel.get_map():
                break
            if now >= drain_until:
                break
            for key, _ in self.sel.select(timeout=0.1):
                key.data.on_event()
            now = time.monotonic()
            for c in self.conns:
                if c.sock is not None and now - c.sent_at > REQUEST_TIMEOUT:
                    c.fail("timeout")
        for c in self.conns:
            if c.sock is not None:
                c.fail("timeout")
        lat = sorted(self.latencies)

        def pct(p):
            return round(lat[min(len(lat) - 1, int(len(lat) * p))] * 1000, 2) if lat else None

        return {
            "sent": self.sent,
            "ok": self.ok,
            "failures": self.failures,
            "reconnects": self.reconnects,
            "p50_ms": pct(0.50),
            "p99_ms": pct(0.99),
            "max_ms": round(lat[-1] * 1000, 2) if lat else None,
        }


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--unix", help="connect to this unix socket instead")
    p.add_argument("--connections", type=int, default=64)
    p.add_argument("--duration", type=float, default=10)
    p.add_argument("--path", default="/")
    p.add_argument("--close", action="store_true", help="one request per connection")
    args = p.parse_args(argv)
    print(json.dumps(LoadGen(args).run(args.duration)))


if __name__ == "__main__":
    sys.exit(main())
