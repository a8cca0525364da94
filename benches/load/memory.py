"""What a pre-fork server's processes hold in memory after serving, with
several workers: each process's RSS, what of it is its own (private dirty),
and the proportional total of master and workers (PSS summed), the memory
the whole server really takes.

RSS counts every page a process maps, shared or not, so a worker's RSS says
little about what one more worker costs: its private dirty pages do. PSS
splits each shared page between the processes sharing it, so the PSS of all
the server's processes adds up to what the server uses.

    benches/load/.venv/bin/python benches/load/memory.py --apps hello,flask --workers 4

Each server is run with and without --preload. Memory is read after every
server has answered the same number of requests (wrk stops itself, see
stop_after.lua), because a worker's pages are copied from the master as it
works: by reference counts, and by the first full garbage collection, which
a fast server reaches sooner. Uses the virtualenv and helpers of compare.py
(run compare.sh once first); server on core 0, wrk on core 1.
"""

import argparse
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import compare
from compare import CLIENT_CORE, HOST, SCENARIOS, SERVERS

HERE = Path(__file__).resolve().parent
WRK_CAP_S = 120  # seconds: the longest wrk may take to serve the requests
PREFORK = ("rcorn", "rcorn-gthread", "gunicorn-sync", "gunicorn-gthread")


def memory_kib(pid):
    """{Rss, Pss, Private_Dirty} of `pid` in KiB, from smaps_rollup."""
    fields = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("Rss", "Pss", "Private_Dirty"):
            fields[key] = int(value.split()[0])
    return fields


def wrk_threads(pid):
    return len(list(Path(f"/proc/{pid}/task").glob("*")))


def serve_requests(port, requests):
    """Drives the server with wrk until it has answered `requests` requests;
    returns how many wrk counted."""
    argv = ["taskset", "-c", CLIENT_CORE, "wrk", "-t1", "-c16", f"-d{WRK_CAP_S}s", "--latency",
            "-s", str(HERE / "stop_after.lua"), f"http://{HOST}:{port}/", "--", str(requests)]
    wrk = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
    # stop_after.lua ends wrk's load thread, but wrk's main thread sleeps out
    # the whole duration before it reports; an interrupt cuts that short.
    deadline = time.monotonic() + WRK_CAP_S
    for load_thread_running in (False, True):  # wait for it to start, then to end
        while (wrk_threads(wrk.pid) > 1) == load_thread_running and time.monotonic() < deadline:
            time.sleep(0.02)
    wrk.send_signal(signal.SIGINT)
    out, _ = wrk.communicate(timeout=30)
    return compare.parse_wrk(out).requests


def measure(server, scenario, preload, args, workdir):
    port = compare.free_port()
    argv = compare.server_command(server, scenario, port, args.venv, workdir, args.workers, preload)
    with open(workdir / f"{server.name}-{scenario.name}-{preload}.log", "w") as logfile:
        proc = compare.start_server(argv, logfile)
        try:
            compare.wait_ready(proc, port, compare.READY_TIMEOUT)
            deadline = time.monotonic() + compare.READY_TIMEOUT
            while len(compare.children(proc.pid)) != args.workers:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{server.name}: {args.workers} workers never came up")
                time.sleep(0.05)
            served = serve_requests(port, args.requests)
            if served < args.requests:
                raise RuntimeError(f"{server.name}: wrk stopped after {served:,} of {args.requests:,} requests")
            master = memory_kib(proc.pid)
            workers = [memory_kib(pid) for pid in compare.children(proc.pid)]
        finally:
            compare.stop_server(proc)
    return {
        "master_rss": master["Rss"],
        "worker_rss": statistics.median(w["Rss"] for w in workers),
        "worker_private": statistics.median(w["Private_Dirty"] for w in workers),
        "pss_total": master["Pss"] + sum(w["Pss"] for w in workers),
    }


def mib(kib):
    return f"{kib / 1024:.1f}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--servers", default="rcorn,gunicorn-sync")
    parser.add_argument("--apps", default="hello,flask")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--requests", type=int, default=40000, help="requests served before memory is read")
    parser.add_argument("--venv", type=Path, default=HERE / ".venv")
    args = parser.parse_args()
    servers = [s for s in SERVERS if s.name in args.servers.split(",") and s.name in PREFORK]
    scenarios = [s for s in SCENARIOS if s.name in args.apps.split(",")]
    if not servers or not scenarios:
        sys.exit(f"memory.py: no known app, or no pre-fork server ({', '.join(PREFORK)}) selected")
    print(f"{args.workers} workers, memory read after {args.requests:,} requests (MiB; worker figures are medians)\n")
    print("| app | server | preload | master RSS | worker RSS | worker private dirty | PSS of all processes |")
    print("|---|---|---|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory(prefix="rcorn-memory-") as tmp:
        for scenario in scenarios:
            for preload in (False, True):
                for server in servers:
                    try:
                        m = measure(server, scenario, preload, args, Path(tmp))
                    except (RuntimeError, ValueError, subprocess.SubprocessError) as e:
                        sys.exit(f"memory.py: {e}")
                    print(f"| {scenario.name} | {server.name} | {'yes' if preload else 'no'} | "
                          f"{mib(m['master_rss'])} | {mib(m['worker_rss'])} | {mib(m['worker_private'])} | "
                          f"{mib(m['pss_total'])} |", flush=True)


if __name__ == "__main__":
    main()
