"""ASGI over HTTP/2: rcorn's asgi worker against granian, hypercorn and
gunicorn 27's asgi worker, one worker each, with h2load; and rcorn's own
HTTP/1.1 keep-alive figure on the same app, for the per-request ratio.

    python benches/load/h2_asgi_compare.py --venv VENV [--duration S]
        [--repeats N] [--apps hello,get10k] [--servers a,b] [--out FILE]

Every HTTP/2 server speaks cleartext h2 by prior knowledge from 127.0.0.1
(a trusted peer). The server runs pinned to core 0, h2load to core 1:
`h2load -c64 -m10 -t1 -D S` (64 clients, 10 streams each); the HTTP/1.1
figure is `h2load --h1 -c64 -m1 -t1 -D S` (keep-alive, no pipelining).
Repetitions are interleaved (each runs every app on every server in
turn); the report gives medians. Servers are started and stopped through
compare.py's helpers (own process group, TERM then KILL by PID). Only
127.0.0.1 is ever used.
"""

import dataclasses
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import compare
from compare import CLIENT_CORE, HERE, HOST, SERVER_CORE, log, median, fmt_rate

APPS = {"hello": "asgi_hello", "get10k": "asgi_get10k"}
SERVERS = ["rcorn-h2", "granian-h2", "hypercorn-h2", "gunicorn-asgi-h2", "rcorn-h1"]
H2C = ["--http-protocols", "h2,h1", "--http2-cleartext", "prior-knowledge"]
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
EMPTY_SETTINGS = b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"


def server_command(name, module, port, venv):
    """One worker each, uvloop wherever the server can use it, no access log."""
    bind, target = f"{HOST}:{port}", f"{module}:app"
    py = str(venv / "bin" / "python")
    rcorn = [str(venv / "bin" / "rcorn"), "-w", "1", "-k", "asgi", "-b", bind]
    if name == "rcorn-h2":
        return rcorn + H2C + [target]
    if name == "rcorn-h1":
        return rcorn + [target]
    if name == "granian-h2":
        return [py, "-m", "granian", "--interface", "asgi", "--http", "2", "--workers", "1",
                "--loop", "uvloop", "--host", HOST, "--port", str(port), target]
    if name == "hypercorn-h2":
        return [py, "-m", "hypercorn", "-w", "1", "-k", "uvloop", "-b", bind, target]
    if name == "gunicorn-asgi-h2":
        return [py, "-m", "gunicorn", "-w", "1", "-k", "asgi", "-b", bind] + H2C + [target]
    raise ValueError(f"unknown server {name}")


def answers_h2(port):
    """Whether the server answers the client preface with a SETTINGS frame."""
    try:
        with socket.create_connection((HOST, port), timeout=2) as s:
            s.sendall(PREFACE + EMPTY_SETTINGS)
            head = s.recv(9)
            return len(head) >= 4 and head[3] == 0x4
    except OSError:
        return False


def answers_h1(port):
    request = f"GET / HTTP/1.1\r\nHost: {HOST}\r\nConnection: close\r\n\r\n".encode()
    try:
        with socket.create_connection((HOST, port), timeout=2) as s:
            s.sendall(request)
            return s.recv(16).startswith(b"HTTP/1.1 200")
    except OSError:
        return False


def wait_ready(proc, port, h1):
    deadline = time.monotonic() + compare.READY_TIMEOUT
    check = answers_h1 if h1 else answers_h2
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with status {proc.returncode} before answering")
        if check(port):
            return
        time.sleep(0.05)
    raise RuntimeError(f"server did not answer within {compare.READY_TIMEOUT:.0f}s")


def group_cpu_seconds(pgid):
    """User + system CPU time of every process in group `pgid` (the server
    runs in a session of its own): what serving cost, however busy the
    machine was with other work."""
    ticks = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # After the command: state, ppid, pgrp, ..., utime (12th), stime (13th).
        if int(fields[2]) == pgid:
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


@dataclasses.dataclass
class Result:
    app: str
    server: str
    rep: int
    rps: float = None
    succeeded: int = 0
    failed: int = 0
    errored: int = 0
    cpu_us: float = None  # the server's CPU time per request, in microseconds
    failure: str = None


def run_h2load(port, duration, h1):
    streams = ["--h1", "-m", "1"] if h1 else ["-m", "10"]
    argv = ["taskset", "-c", CLIENT_CORE, "h2load", "-c", "64", "-t", "1", *streams,
            "-D", str(duration), f"http://{HOST}:{port}/"]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=duration + 60).stdout
    rate = re.search(r"finished in [^,]+, ([\d.]+) req/s", out)
    counts = re.search(r"requests: \d+ total, \d+ started, \d+ done, (\d+) succeeded, "
                       r"(\d+) failed, (\d+) errored", out)
    if not rate or not counts:
        raise ValueError(f"h2load gave no figures: {out.strip()[-300:]}")
    return float(rate.group(1)), *map(int, counts.groups())


def run_one(app, server, rep, args, workdir):
    port = compare.free_port()
    h1 = server.endswith("-h1")
    result = Result(app, server, rep)
    logpath = workdir / f"{app}-{server}-{rep}.log"
    with open(logpath, "w") as logfile:
        proc = compare.start_server(server_command(server, APPS[app], port, args.venv), logfile)
        try:
            wait_ready(proc, port, h1)
            cpu_before = group_cpu_seconds(proc.pid)
            result.rps, result.succeeded, result.failed, result.errored = run_h2load(
                port, args.duration, h1)
            if result.succeeded:
                cpu = group_cpu_seconds(proc.pid) - cpu_before
                result.cpu_us = cpu * 1e6 / result.succeeded
        except (RuntimeError, ValueError, subprocess.TimeoutExpired) as e:
            result.failure = str(e)
        finally:
            compare.stop_server(proc)
    if result.failure:
        log(f"rep {rep} {app} {server}: {result.failure}; log tail: "
            f"{logpath.read_text(errors='replace').strip().splitlines()[-3:]}")
    else:
        log(f"rep {rep} {app} {server}: {result.rps:,.0f} req/s, {result.cpu_us or 0:.1f} "
            f"CPU us/request, {result.failed} failed")
    return result


def ratio(num, den):
    return f"{num / den:.2f}" if num and den else "—"


def table(apps, servers, figures, ours, ratio_of, fmt):
    """One row per app: each server's figure, then rcorn's ratio to each
    other server, then rcorn's HTTP/1.1-to-HTTP/2 ratio."""
    others = [s for s in servers if s not in ("rcorn-h2", "rcorn-h1")]
    cols = servers + [f"rcorn-h2 vs {s}" for s in others]
    if "rcorn-h1" in servers:
        cols.append("h1 vs h2")
    lines = ["| app | " + " | ".join(cols) + " |", "|---|" + "---:|" * len(cols)]
    for a in apps:
        cells = [fmt(figures[a, s]) for s in servers]
        cells += [ratio_of(figures[a, ours], figures[a, s]) for s in others]
        if "rcorn-h1" in servers:
            cells.append(ratio_of(figures[a, "rcorn-h1"], figures[a, ours]))
        lines.append(f"| {a} | " + " | ".join(cells) + " |")
    return lines


def render(args, command, machine, results, apps, servers):
    def med(field):
        return {(a, s): median([getattr(r, field) for r in results if (r.app, r.server) == (a, s)])
                for a in apps for s in servers}

    rates, cpu = med("rps"), med("cpu_us")
    lines = [
        f"# ASGI over HTTP/2, {args.date}", "",
        f"Command: `{command}`", "",
        f"One worker per server pinned to core {SERVER_CORE}; h2load pinned to core "
        f"{CLIENT_CORE}: `h2load -c64 -m10 -t1 -D{args.duration}` over cleartext h2 by prior "
        f"knowledge, and `h2load --h1 -c64 -m1 -t1 -D{args.duration}` for rcorn's HTTP/1.1 "
        f"keep-alive figure (`rcorn-h1`); {args.repeats} repetition(s), servers interleaved "
        "within each; medians.", "",
        *compare.machine_section(machine),
        "## Requests/sec (median)", "",
        "Ratios: rcorn-h2's rate over the other server's; `h1 vs h2` is rcorn's HTTP/1.1 "
        "rate over its HTTP/2 rate (above 1: a request costs more over HTTP/2).", "",
        *table(apps, servers, rates, "rcorn-h2", ratio, fmt_rate), "",
        "## Server CPU time per request (median, µs)", "",
        "User + system time of the server's processes (all its threads) during the load, over "
        "the requests served: what a request costs, however busy the machine was. Ratios: the "
        "other server's cost over rcorn-h2's; `h1 vs h2` is rcorn's HTTP/2 cost over its "
        "HTTP/1.1 cost (above 1: a request costs more over HTTP/2).", "",
        *table(apps, servers, cpu, "rcorn-h2", lambda a, b: ratio(b, a),
               lambda v: "—" if v is None else f"{v:.1f}"), "",
        "## Every run", "",
        "| app | server | rep | req/s | CPU µs/req | succeeded | failed | errored | failure |",
        "|---|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in results:
        cpu_us = "—" if r.cpu_us is None else f"{r.cpu_us:.1f}"
        lines.append(f"| {r.app} | {r.server} | {r.rep} | {fmt_rate(r.rps)} | {cpu_us} | "
                     f"{r.succeeded} | {r.failed} | {r.errored} | {r.failure or ''} |")
    return "\n".join(lines) + "\n"


def parse_args(argv):
    p = compare.peer_parser(__doc__)
    p.add_argument("--apps", default=",".join(APPS))
    p.add_argument("--servers", default=",".join(SERVERS))
    args = compare.parsed(p, argv)
    for kind, wanted, known in (("app", args.apps, APPS), ("server", args.servers, SERVERS)):
        unknown = [w for w in wanted.split(",") if w not in known]
        if unknown:
            p.error(f"unknown {kind}(s) {', '.join(unknown)}; known: {', '.join(known)}")
    return args


def main(argv):
    args = parse_args(argv)
    apps, servers = args.apps.split(","), args.servers.split(",")
    if shutil.which("h2load") is None:
        sys.exit("h2load is not installed (apt-get install nghttp2-client)")
    command = "python benches/load/h2_asgi_compare.py " + " ".join(argv)
    results = []
    with tempfile.TemporaryDirectory(prefix="rcorn-h2-asgi-") as tmp:
        for rep in range(1, args.repeats + 1):
            for app in apps:
                for server in servers:
                    results.append(run_one(app, server, rep, args, Path(tmp)))
    packages = [compare.Server(n, n) for n in ("rcorn", "granian", "hypercorn", "gunicorn", "uvloop")]
    machine = compare.machine_info(args.venv, packages)
    text = render(args, command, machine, results, apps, servers)
    out = args.out or HERE / "results" / f"{args.date}-asgi-h2.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    print(text)
    log(f"report written to {out}")


if __name__ == "__main__":
    main(sys.argv[1:])
