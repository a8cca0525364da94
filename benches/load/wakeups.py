"""Where a server's time per request goes beyond the application: its
worker's user and kernel CPU per request, and how often the load generator
had to be woken for an answer.

On loopback the sender of a response pays, in its own kernel time, for
waking a receiver that sleeps in epoll_wait. A server that answers one
request at a time while wrk waits on many connections wakes wrk once per
response; one that sends several answers together wakes it once for all.
This is what made rcorn's sync worker slower than bjoern on Flask before
it batched its writes (DESIGN.md §3).

    benches/load/.venv/bin/python benches/load/wakeups.py --servers rcorn,bjoern --apps flask

Uses the virtualenv and the server commands of compare.py (run that once
first); same pinning: server on core 0, wrk on core 1.
"""

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import compare
from compare import CLIENT_CORE, HOST, SCENARIOS, SERVERS

HERE = Path(__file__).resolve().parent
CLOCK_TICKS = 100  # USER_HZ: /proc/PID/stat counts CPU time in 1/100 s


def cpu_ticks(pid):
    """(user, system) CPU time of `pid` in clock ticks."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]), int(fields[12])


def voluntary_switches(pid):
    """How many times the threads of `pid` went to sleep on their own."""
    total = 0
    for status in Path(f"/proc/{pid}/task").glob("*/status"):
        for line in status.read_text().splitlines():
            if line.startswith("voluntary_ctxt_switches:"):
                total += int(line.split()[1])
    return total


def measure(server, scenario, args, workdir):
    port = compare.free_port()
    argv = compare.server_command(server, scenario, port, args.venv, workdir)
    with open(workdir / f"{server.name}-{scenario.name}.log", "w") as logfile:
        proc = compare.start_server(argv, logfile)
        try:
            compare.wait_ready(proc, port, compare.READY_TIMEOUT)
            worker = (compare.children(proc.pid) or [proc.pid])[0]
            wrk = subprocess.Popen(
                ["taskset", "-c", CLIENT_CORE, "wrk", "-t1", f"-c{args.connections}",
                 f"-d{args.duration + 1}s", "--latency", *scenario.wrk_args, f"http://{HOST}:{port}/"],
                stdout=subprocess.PIPE, text=True,
            )
            # The measured window leaves wrk's first second out (connections
            # opening, caches warming) and ends before wrk stops.
            time.sleep(1.0)
            user0, sys0 = cpu_ticks(worker)
            wakes0 = voluntary_switches(wrk.pid)
            t0 = time.monotonic()
            time.sleep(args.duration - 0.5)
            user1, sys1 = cpu_ticks(worker)
            wakes1 = voluntary_switches(wrk.pid)
            elapsed = time.monotonic() - t0
            out, _ = wrk.communicate(timeout=args.duration + 60)
            rate = compare.parse_wrk(out).rps
        finally:
            compare.stop_server(proc)
    # Requests in the window, from wrk's average rate over its whole run.
    per_request = 1e6 / (rate * elapsed) / CLOCK_TICKS
    return {
        "rps": rate,
        "user_us": (user1 - user0) * per_request,
        "sys_us": (sys1 - sys0) * per_request,
        "wakes": (wakes1 - wakes0) / (rate * elapsed),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--servers", default="rcorn,bjoern")
    parser.add_argument("--apps", default="hello,flask")
    parser.add_argument("--duration", type=int, default=3, help="seconds measured (wrk runs one more)")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--venv", type=Path, default=HERE / ".venv")
    args = parser.parse_args()
    servers = [s for s in SERVERS if s.name in args.servers.split(",")]
    scenarios = [s for s in SCENARIOS if s.name in args.apps.split(",")]
    if not servers or not scenarios:
        sys.exit("wakeups.py: no known server or app selected")
    print("| scenario | server | req/s | worker user µs/req | worker sys µs/req | wrk wake-ups/req |")
    print("|---|---|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory(prefix="rcorn-wakeups-") as tmp:
        for scenario in scenarios:
            for server in servers:
                if not server.serves(scenario):
                    continue
                m = measure(server, scenario, args, Path(tmp))
                print(f"| {scenario.name} | {server.name} | {m['rps']:,.0f} | {m['user_us']:.1f} | "
                      f"{m['sys_us']:.1f} | {m['wakes']:.2f} |", flush=True)


if __name__ == "__main__":
    main()
