"""``rcornc``: talks to a running rcorn (or gunicorn 26) master over its
control socket, with gunicornc's commands.

    rcornc show workers
    rcornc -s /run/app.ctl worker add 2
    rcornc show stats

The answer's data is printed as JSON.

Each request is a 4-byte big-endian length and a JSON object
``{"id", "command", "args"}``; each answer the same framing around
``{"id", "status", "data"|"error"}``.
"""

import argparse
import json
import os
import socket
import struct
import sys

MAX_ANSWER = 16 * 1024 * 1024


def default_socket():
    """The master's default path: $XDG_RUNTIME_DIR/gunicorn.ctl, else
    ~/.gunicorn/gunicorn.ctl."""
    xdg = os.environ.get("XDG_RUNTIME_DIR")
    if xdg and os.path.isdir(xdg):
        return os.path.join(xdg, "gunicorn.ctl")
    return os.path.join(os.path.expanduser("~"), ".gunicorn", "gunicorn.ctl")


def _read_exactly(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError("the master closed the connection")
        data += chunk
    return data


def request(path, command, args=(), timeout=10.0, request_id=1):
    """Sends one command and returns the answer (a dict)."""
    payload = json.dumps({"id": request_id, "command": command, "args": list(args)}).encode()
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(path)
        sock.sendall(struct.pack(">I", len(payload)) + payload)
        (length,) = struct.unpack(">I", _read_exactly(sock, 4))
        if length > MAX_ANSWER:
            raise ConnectionError("answer too large: %d bytes" % length)
        return json.loads(_read_exactly(sock, length))


def _split(words):
    """gunicornc's split: command words first, then the values (numbers)."""
    command, args = [], []
    for word in words:
        if not args and not word.isdigit() and not word.startswith("-"):
            command.append(word)
        else:
            args.append(word)
    return " ".join(command), args


def main(argv=None):
    parser = argparse.ArgumentParser(prog="rcornc", description=__doc__.split("\n")[0])
    parser.add_argument("-s", "--socket", default=None, help="control socket path (default: %s)" % default_socket())
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for the answer")
    parser.add_argument("-c", "--command", help="the command as one string, as gunicornc takes it")
    parser.add_argument("words", nargs="*", help="a command, e.g. 'show workers' or 'worker add 2'")
    opts = parser.parse_args(argv)
    words = opts.command.split() if opts.command else opts.words
    if not words:
        parser.error("no command given (e.g. rcornc show workers)")
    path = opts.socket or default_socket()
    command, args = _split(words)
    try:
        answer = request(path, command, args, timeout=opts.timeout)
    except (OSError, ValueError) as e:
        print("rcornc: %s: %s" % (path, e), file=sys.stderr)
        return 1
    if answer.get("status") != "ok":
        print("Error: %s" % answer.get("error", "unknown error"), file=sys.stderr)
        return 1
    print(json.dumps(answer.get("data", {}), indent=2, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
