"""WebSocket load comparison: rcorn's asgi worker against granian
(`--interface asgi`) and uvicorn (`--ws websockets`), one worker each.

Two runs per server, interleaved within each repetition (so drift of a
shared machine touches every server alike), the server pinned to core 0
and the Rust client (benches/examples/ws_load.rs) to core 1:
- echo: CONNECTIONS websockets each sending a 16-byte text message and
  waiting for its echo, in a loop: round trips per second;
- broadcast: LISTENERS websockets (read by one epoll thread) receiving
  what one sender sends, the application acking each message once it
  went to every listener, the sender keeping at most WINDOW messages
  unacknowledged: messages received per second.

    cargo build --release -p rcorn-benches --example ws_load
    python benches/load/ws_compare.py --venv VENV [--duration S] [--repeats N]
        [--connections N] [--listeners N] [--window N] [--servers a,b] [--out FILE]

Besides the rate, each run reports the CPU time the serving process used
per message counted: on a shared machine the rate also measures how soon
the scheduler runs each side, the CPU time only the server's own work.

Every server must already be installed in VENV (rcorn from this
repository; `pip install granian uvicorn websockets uvloop`). Writes a
markdown report of medians and ratios (default results/<date>-ws.md).
Only 127.0.0.1 is ever used.
"""

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import compare
from compare import CLIENT_CORE, HOST, REPO, SERVER_CORE, log, median

CLIENT = REPO / "target" / "release" / "examples" / "ws_load"
SERVERS = ["rcorn", "granian", "uvicorn"]
MODES = ["echo", "broadcast"]
RATIOS = [("rcorn", "granian"), ("rcorn", "uvicorn")]


def server_command(name, port, venv):
    """One worker, uvloop wherever the server can use it, no access log."""
    py = str(venv / "bin" / "python")
    target = "asgi_ws:app"
    if name == "rcorn":
        return [str(venv / "bin" / "rcorn"), "-w", "1", "-k", "asgi", "-b", f"{HOST}:{port}", target]
    if name == "granian":
        return [py, "-m", "granian", "--interface", "asgi", "--workers", "1", "--loop", "uvloop",
                "--host", HOST, "--port", str(port), target]
    if name == "uvicorn":
        return [py, "-m", "uvicorn", "--host", HOST, "--port", str(port), "--loop", "uvloop",
                "--ws", "websockets", "--no-access-log", "--log-level", "warning", target]
    raise ValueError(f"unknown server {name}")


def serving_pid(name, proc):
    """The process that serves: rcorn's and granian's worker, uvicorn itself."""
    kids = compare.children(proc.pid)
    return kids[0] if name != "uvicorn" and kids else proc.pid


def run_one(name, mode, args, workdir):
    port = compare.free_port()
    logpath = workdir / f"{name}-{mode}.log"
    with open(logpath, "wb") as logfile:
        proc = compare.start_server(server_command(name, port, args.venv), logfile)
        try:
            compare.wait_ready(proc, port, compare.READY_TIMEOUT)
            n = args.connections if mode == "echo" else args.listeners
            window = [str(args.window)] if mode == "broadcast" else []
            pid = serving_pid(name, proc)
            cpu_before = compare.cpu_seconds(pid)
            res = subprocess.run(
                ["taskset", "-c", CLIENT_CORE, str(CLIENT), mode, f"{HOST}:{port}", str(n),
                 str(args.duration), *window],
                capture_output=True, text=True, timeout=args.duration + 60)
            cpu = compare.cpu_seconds(pid) - cpu_before
            rss = compare.rss_kib(pid)
        finally:
            compare.stop_server(proc)
    if res.returncode != 0:
        log(f"{name} {mode}: {res.stderr.strip()[-300:]}")
        return {"server": name, "mode": mode, "rate": None, "error": res.stderr.strip()[-300:]}
    out = json.loads(res.stdout)
    rate = out["rate"]
    cpu_us = cpu * 1e6 / out["count"] if out["count"] else None
    log(f"{name} {mode}: {rate:,.0f}/s, {cpu_us or 0:.1f} µs CPU/message, RSS {rss} KiB")
    return {"server": name, "mode": mode, "rate": rate, "cpu_us": cpu_us, "rss_kib": rss}


def render(args, servers, runs, machine, command):
    lines = [
        f"# WebSocket load comparison, {args.date}", "",
        f"Command: `{command}`", "",
        f"One worker per server pinned to core {SERVER_CORE}; the client "
        f"(`benches/examples/ws_load.rs`: a thread per echo connection, the broadcast listeners on "
        f"one epoll thread) pinned to core {CLIENT_CORE}; "
        f"{args.duration} s per run, {args.repeats} repetition(s), servers interleaved within each; "
        "medians. Echo: "
        f"{args.connections} connections each sending a 16-byte text message and waiting for its "
        f"echo (round trips/s). Broadcast: {args.listeners} listeners read by one epoll thread, "
        "one sender that the application acks once a message went to all of them, keeping at most "
        f"{args.window} message(s) unacknowledged (messages received/s). uvloop everywhere; "
        "uvicorn with `--ws websockets`.", "",
        *compare.machine_section(machine),
        "## Results (median)", "",
    ]

    def figure(field):
        return lambda mode, server: median([r[field] for r in runs if r["server"] == server
                                            and r["mode"] == mode and r.get(field)])

    lines += compare.figure_table("run", MODES, servers, figure("rate"), RATIOS,
                                  lambda x, y: x / y, lambda v: f"{v:,.0f}")
    lines += ["", "## Server CPU time per message, µs (median)", "",
              "A ratio `other/rcorn` is how many times less CPU rcorn needs.", "",
              *compare.figure_table("run", MODES, servers, figure("cpu_us"),
                                    [(b, a) for a, b in RATIOS], lambda x, y: x / y,
                                    lambda v: f"{v:.1f}")]
    lines += ["", "## Every run", "",
              "| repetition | run | server | rate | CPU µs/message | RSS (KiB) |",
              "|---:|---|---|---:|---:|---:|"]
    for r in runs:
        rate = f"{r['rate']:,.0f}" if r["rate"] else f"failed: {r.get('error', '')[:80]}"
        cpu = f"{r['cpu_us']:.1f}" if r.get("cpu_us") else "—"
        lines.append(f"| {r['rep']} | {r['mode']} | {r['server']} | {rate} | {cpu} "
                     f"| {r.get('rss_kib') or '—'} |")
    return "\n".join(lines) + "\n"


def parse_args(argv):
    p = compare.peer_parser(__doc__)
    p.add_argument("--connections", type=int, default=64)
    p.add_argument("--listeners", type=int, default=64)
    p.add_argument("--window", type=int, default=1,
                   help="broadcast messages the sender may have unacknowledged")
    p.add_argument("--servers", default=",".join(SERVERS))
    return compare.parsed(p, argv)


def main(argv):
    args = parse_args(argv)
    servers = [s for s in args.servers.split(",") if s]
    unknown = set(servers) - set(SERVERS)
    if unknown:
        sys.exit(f"unknown server(s): {', '.join(sorted(unknown))}; known: {', '.join(SERVERS)}")
    if not CLIENT.exists():
        sys.exit(f"{CLIENT} is missing: cargo build --release -p rcorn-benches --example ws_load")
    if shutil.which("taskset") is None:
        sys.exit("taskset is not installed: the runs could not be pinned")
    command = "python benches/load/ws_compare.py " + " ".join(argv)
    runs = []
    with tempfile.TemporaryDirectory(prefix="rcorn-ws-load-") as tmp:
        for rep in range(1, args.repeats + 1):
            for mode in MODES:
                for name in servers:
                    runs.append(dict(run_one(name, mode, args, Path(tmp)), rep=rep))
    machine = compare.machine_info(args.venv, [compare.Server(s, s) for s in servers]
                                   + [compare.Server("websockets", "websockets"),
                                      compare.Server("uvloop", "uvloop")])
    out = args.out or compare.HERE / "results" / f"{args.date}-ws.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    text = render(args, servers, runs, machine, command)
    out.write_text(text)
    out.with_suffix(".json").write_text(json.dumps({"command": command, "machine": machine,
                                                    "runs": runs}, indent=1) + "\n")
    print(text)
    log(f"report written to {out}")


if __name__ == "__main__":
    main(sys.argv[1:])
