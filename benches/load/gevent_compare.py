"""rcorn's gevent worker against gunicorn's, one worker each.

Both from the current environment (`rcorn` on PATH; gunicorn and gevent
importable by this interpreter). For each app and server in turn, `repeats` times (interleaved,
so drift on a shared machine touches both alike): the server is started
with `-w 1 -k gevent`, pinned to core 0, and driven by
`wrk -t1 -c<connections> -d<duration>s` pinned to core 1. Prints the median
requests/s and the errors wrk counted. Only 127.0.0.1 is used.

    python benches/load/gevent_compare.py [--duration 10] [--repeats 3] [--connections 256]
"""

import argparse
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

APPS = Path(__file__).resolve().parent / "apps"
SERVERS = {
    "rcorn -k gevent": ["rcorn", "-w", "1", "-k", "gevent", "--worker-connections", "1000"],
    # This interpreter's gunicorn, which sees the gevent installed beside it.
    "gunicorn -k gevent": [sys.executable, "-m", "gunicorn", "-w", "1", "-k", "gevent", "--worker-connections", "1000"],
}
SCENARIOS = {"hello": "hello:app", "sleep10": "sleep10:app"}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_serving(port, proc, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(b"GET / HTTP/1.0\r\n\r\n")
                if s.recv(16).startswith(b"HTTP/1."):
                    return
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError("server did not answer in time")


def stop(proc):
    """TERM to the server's process group, KILL after 10 s."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(10)
    except ProcessLookupError:
        pass
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def run_once(command, target, args):
    port = free_port()
    argv = ["taskset", "-c", "0", *command, "-b", f"127.0.0.1:{port}", target]
    proc = subprocess.Popen(argv, cwd=APPS, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_until_serving(port, proc)
        out = subprocess.run(
            ["taskset", "-c", "1", "wrk", "-t1", f"-c{args.connections}",
             f"-d{args.duration}s", f"http://127.0.0.1:{port}/"],
            capture_output=True, text=True, check=True,
        ).stdout
    finally:
        stop(proc)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return rps, errors + (int(non2xx.group(1)) if non2xx else 0)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--duration", type=int, default=10)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--connections", type=int, default=256)
    args = p.parse_args()
    results = {}
    for _ in range(args.repeats):
        for scenario, target in SCENARIOS.items():
            for name, command in SERVERS.items():
                results.setdefault((scenario, name), []).append(run_once(command, target, args))
    print(f"one worker each, wrk -t1 -c{args.connections} -d{args.duration}s, "
          f"{args.repeats} runs, median req/s (errors)")
    for scenario in SCENARIOS:
        cells = []
        for name in SERVERS:
            runs = results[(scenario, name)]
            rps = statistics.median(r for r, _ in runs)
            errors = sum(e for _, e in runs)
            cells.append(f"{name}: {rps:,.0f} ({errors})")
        print(f"{scenario:8} " + " | ".join(cells))


if __name__ == "__main__":
    main()
