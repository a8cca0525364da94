"""ASGI load comparison: rcorn's asgi worker against uvicorn, granian,
hypercorn and gunicorn's own asgi worker, one worker each.

The harness is compare.py's (same pinning, wrk, interleaving, RSS and
stopping; see README.md beside this file), with ASGI apps and servers, and
the in-process limit of each app (asgi_callrate.py: one Task per request on
the same event loop, no server) in place of the WSGI call rate.

    python benches/load/asgi_compare.py --venv VENV [--duration S] [--repeats N]
        [--apps a,b] [--servers x,y] [--out FILE] [--base-venv VENV]

``--base-venv``: another build of rcorn (say, the main branch's) run as
``rcorn-base`` beside the others, interleaved, for a before/after ratio
measured in the same run.

Every server must already be installed in VENV (rcorn from this repository;
`pip install uvicorn uvloop httptools granian hypercorn fastapi`);
gunicorn may come from the interpreter VENV was made from.
Only 127.0.0.1 is ever used.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import compare
import run_data
from compare import HERE, HOST, SERVER_CORE, Scenario, Server, log, median, fmt_rate, fmt_mib

SCENARIOS = [
    Scenario("hello", "asgi_hello", "GET", 0),
    Scenario("get10k", "asgi_get10k", "GET", 0),
    Scenario("echo", "asgi_echo", "POST", 10240, ("-s", str(HERE / "post10k.lua"))),
    Scenario("fastapi", "asgi_fastapi", "GET", 0),
]

SERVERS = [
    Server("rcorn", "rcorn"),
    Server("uvicorn", "uvicorn"),
    Server("granian", "granian"),
    Server("hypercorn", "hypercorn"),
    Server("gunicorn-asgi", "gunicorn"),
]
# The rcorn build that ``--base-venv`` names.
BASE_VENV = None

RATIOS = [
    ("rcorn", "rcorn-base"),
    ("rcorn", "granian"),
    ("rcorn", "uvicorn"),
    ("rcorn", "hypercorn"),
    ("rcorn", "gunicorn-asgi"),
]


def server_command(server, scenario, port, venv, workdir):
    """One worker, uvloop wherever the server can use it, no access log."""
    bind = f"{HOST}:{port}"
    target = f"{scenario.module}:app"
    py = str(venv / "bin" / "python")
    if server.name == "rcorn":
        return [str(venv / "bin" / "rcorn"), "-w", "1", "-k", "asgi", "-b", bind, target]
    if server.name == "rcorn-base":
        return [str(BASE_VENV / "bin" / "rcorn"), "-w", "1", "-k", "asgi", "-b", bind, target]
    if server.name == "uvicorn":
        return [py, "-m", "uvicorn", "--host", HOST, "--port", str(port), "--loop", "uvloop",
                "--http", "httptools", "--no-access-log", "--log-level", "warning", target]
    if server.name == "granian":
        return [py, "-m", "granian", "--interface", "asgi", "--workers", "1", "--loop", "uvloop",
                "--host", HOST, "--port", str(port), target]
    if server.name == "hypercorn":
        return [py, "-m", "hypercorn", "-w", "1", "-k", "uvloop", "-b", bind, target]
    if server.name == "gunicorn-asgi":
        return [py, "-m", "gunicorn", "-w", "1", "-k", "asgi", "-b", bind, target]
    raise ValueError(f"unknown server {server.name}")


def call_rate(scenario, args, loop_name):
    argv = [
        "taskset", "-c", SERVER_CORE, str(args.venv / "bin" / "python"), str(HERE / "asgi_callrate.py"),
        f"{scenario.module}:app", scenario.method, str(scenario.body_bytes), str(args.duration), loop_name,
    ]
    env = dict(os.environ, PYTHONPATH=str(compare.APPS_DIR))
    res = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=compare.APPS_DIR,
                         timeout=args.duration + 60)
    if res.returncode != 0:
        log(f"in-process limit of {scenario.name} failed: {res.stderr.strip()[-300:]}")
        return None
    return json.loads(res.stdout)["rate"]


def serving_rss(run):
    """The RSS of the process that serves: the worker of a pre-fork server,
    the process itself for a single-process one."""
    if run.worker_rss:
        return sum(run.worker_rss)
    return run.master_rss


def render(args, servers, runs, limits, machine, command, raw):
    by = {}
    for r in runs:
        by.setdefault((r.scenario, r.server), []).append(r)
    names = [s.name for s in servers]
    ratios = [(a, b) for a, b in RATIOS if a in names and b in names]
    lines = [
        f"# ASGI load comparison, {args.date}",
        "",
        f"Command: `{command}`",
        "",
        f"One worker per server pinned to core {SERVER_CORE}; `wrk -t1 -c{args.connections} "
        f"-d{args.duration}s` pinned to core {compare.CLIENT_CORE}; keep-alive; {args.repeats} "
        "repetition(s), servers interleaved within each; medians of requests/sec. Every server "
        "on uvloop (rcorn's and gunicorn's `asgi_loop auto` pick it), uvicorn with httptools.",
        "",
        *compare.machine_section(machine),
        "## Requests/sec (median)",
        "",
        "The in-process limit is the app run as one Task per request on the same loop with no "
        "server and no socket (`asgi_callrate.py`, uvloop and asyncio); `rcorn/limit` is rcorn's "
        "share of the uvloop limit.",
        "",
    ]
    cols = names + [f"{a}/{b}" for a, b in ratios] + ["rcorn/limit"]
    lines.append("| scenario | limit (uvloop) | limit (asyncio) | " + " | ".join(cols) + " |")
    lines.append("|---|---:|---:|" + "---:|" * len(cols))
    for sc in SCENARIOS:
        if not any((sc.name, n) in by for n in names):
            continue
        meds = {n: median([r.wrk.rps for r in by.get((sc.name, n), []) if r.wrk and not r.failure])
                for n in names}
        cells = [fmt_rate(meds[n]) if meds[n] else "failed" for n in names]
        for a, b in ratios:
            cells.append(f"{meds[a] / meds[b]:.2f}" if meds[a] and meds[b] else "—")
        limit = median(limits.get((sc.name, "uvloop"), []))
        cells.append(f"{meds['rcorn'] / limit:.0%}" if limit and meds.get("rcorn") else "—")
        lines.append(f"| {sc.name} | {fmt_rate(limit)} | "
                     f"{fmt_rate(median(limits.get((sc.name, 'asyncio'), [])))} | " + " | ".join(cells) + " |")
    lines += cpu_section(names, ratios, by)
    lines += ["", "## Memory", "",
              "RSS (MiB) of the serving process after the load, median over repetitions: the worker "
              "of rcorn and gunicorn, the process itself for uvicorn and hypercorn (one process "
              "with `-w 1`), granian's worker process.", ""]
    lines.append("| scenario | " + " | ".join(names) + " | rcorn/uvicorn |")
    lines.append("|---|" + "---:|" * (len(names) + 1))
    for sc in SCENARIOS:
        rss = {n: median([serving_rss(r) for r in by.get((sc.name, n), []) if r.wrk]) for n in names}
        if not any(rss.values()):
            continue
        ratio = f"{rss['rcorn'] / rss['uvicorn']:.2f}" if rss.get("rcorn") and rss.get("uvicorn") else "—"
        lines.append(f"| {sc.name} | " + " | ".join(fmt_mib(rss[n]) for n in names) + f" | {ratio} |")
    lines += ["", f"Every repetition's raw result: [{raw.name}]({raw.name}).", ""]
    lines += compare.detail_table(SCENARIOS, servers, by)
    lines += compare.failures_section(runs)
    return "\n".join(lines) + "\n"


def cpu_section(names, ratios, by):
    """The servers' CPU time per request: what each costs, whatever share
    of the cores the rest of the machine left it during the run."""
    def figure(scenario, name):
        return median([r.cpu_us for r in by.get((scenario, name), []) if r.cpu_us and not r.failure])

    return ["", "## Server CPU time per request, µs (median)", "",
            "Every process of the server (master, workers, their threads) over the load, "
            "divided by the requests served. A ratio `other/rcorn` is how many times less CPU "
            "rcorn needs.", "",
            *compare.figure_table("scenario", [sc.name for sc in SCENARIOS], names, figure,
                                  [(b, a) for a, b in ratios], lambda x, y: x / y,
                                  lambda v: f"{v:.1f}")]


def parse_args(argv):
    p = compare.peer_parser(__doc__)
    p.add_argument("--connections", type=int, default=64)
    p.add_argument("--apps", default=",".join(s.name for s in SCENARIOS))
    p.add_argument("--servers", default=",".join(s.name for s in SERVERS))
    p.add_argument("--base-venv", type=Path, help="another rcorn build, run as rcorn-base")
    return compare.parsed(p, argv)


def main(argv):
    args = parse_args(argv)
    scenarios = compare.select(SCENARIOS, args.apps, "scenario")
    servers = compare.select(SERVERS, args.servers, "server")
    if args.base_venv is not None:
        global BASE_VENV
        BASE_VENV = args.base_venv.resolve()
        servers.insert(1, Server("rcorn-base", "rcorn"))
    command = "python benches/load/asgi_compare.py " + " ".join(argv)
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: nothing to measure with")
    # compare.run_one starts servers through its own server_command.
    compare.server_command = server_command
    runs, limits = [], {}
    with tempfile.TemporaryDirectory(prefix="rcorn-asgi-load-") as tmp:
        workdir = Path(tmp)
        for rep in range(1, args.repeats + 1):
            for sc in scenarios:
                for loop_name in ("uvloop", "asyncio"):
                    limits.setdefault((sc.name, loop_name), []).append(call_rate(sc, args, loop_name))
                for s in servers:
                    runs.append(compare.run_one(s, sc, rep, args, workdir))
    machine = compare.machine_info(args.venv, servers + [Server("fastapi", "fastapi"),
                                                         Server("uvloop", "uvloop")])
    out = args.out or HERE / "results" / f"{args.date}-asgi.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    raw = out.with_suffix(".json")
    run_data.dump(
        raw, date=args.date, command=command, duration=args.duration, connections=args.connections,
        repeats=args.repeats, machine=machine, scenarios=[s.name for s in scenarios],
        servers=[s.name for s in servers], not_run={}, runs=runs,
        call_rates={f"{k[0]}/{k[1]}": v for k, v in limits.items()},
    )
    text = render(args, servers, runs, limits, machine, command, raw)
    out.write_text(text)
    print(text)
    log(f"report written to {out}, raw results to {raw}")


if __name__ == "__main__":
    main(sys.argv[1:])
