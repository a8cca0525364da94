"""Load comparison: rcorn against gunicorn, granian and bjoern, one worker each.

Run through compare.sh (see README.md beside this file). This script:

1. makes a virtualenv and installs every server into it (a server that fails
   to install is reported as "not installed", the others still run);
2. for each repetition, each scenario, each server in turn (round-robin, so
   slow drift of a shared machine touches every server alike): starts the
   server with one worker pinned to core 0, waits until it answers, drives it
   with wrk pinned to core 1, records requests/sec, errors, latency and RSS,
   and stops it by its PID;
3. measures each app's pure-Python call rate (no server) as a ceiling;
4. writes a markdown report of medians to results/<date>.md and prints it,
   every repetition's raw result beside it (results/<date>.json), and the
   plots plot.py draws from that (results/<date>-rps.png, -latency.png).

Only 127.0.0.1 is ever used.
"""

import argparse
import dataclasses
import datetime
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import run_data

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
APPS_DIR = HERE / "apps"
HOST = "127.0.0.1"
SERVER_CORE = "0"
CLIENT_CORE = "1"
READY_TIMEOUT = 60.0  # seconds; a cold import of Flask on a busy machine can be slow
STOP_TIMEOUT = 10.0  # seconds between TERM and KILL


# ---------------------------------------------------------------- scenarios


@dataclasses.dataclass(frozen=True)
class Scenario:
    name: str
    module: str  # module in apps/, served as MODULE:app
    method: str  # for the pure-Python call rate
    body_bytes: int  # request body size, for the pure-Python call rate
    wrk_args: tuple = ()


SCENARIOS = [
    Scenario("hello", "hello", "GET", 0),
    # A new TCP connection per request: measures accept and connection setup.
    Scenario("hello-close", "hello", "GET", 0, ("-H", "Connection: close")),
    Scenario("get10k", "get10k", "GET", 0),
    Scenario("echo", "echo", "POST", 10240, ("-s", str(HERE / "post10k.lua"))),
    Scenario("flask", "flask_app", "GET", 0),
]


# ---------------------------------------------------------------- servers


@dataclasses.dataclass(frozen=True)
class Server:
    name: str
    package: str  # what to pip-install ("" for none), or "rcorn" for this repository
    only: tuple = ()  # scenario names it serves; empty means all

    def serves(self, scenario):
        return not self.only or scenario.name in self.only


SERVERS = [
    Server("rcorn", "rcorn"),
    Server("rcorn-gthread", "rcorn"),
    Server("gunicorn-sync", "gunicorn"),
    Server("gunicorn-gthread", "gunicorn"),
    Server("granian", "granian"),
    Server("bjoern", "bjoern"),
    # nginx answering a constant from its config: the ceiling of this client
    # and machine, not a WSGI server. Used only when nginx is installed.
    Server("nginx-constant", "", only=("hello", "hello-close")),
]
# (ours, theirs): the ratio columns of the summary table.
RATIOS = [
    ("rcorn", "bjoern"),
    ("rcorn", "granian"),
    ("rcorn", "gunicorn-sync"),
    ("rcorn-gthread", "gunicorn-gthread"),
]


def server_command(server, scenario, port, venv, workdir, workers=1, preload=False):
    """The argv that starts `server` serving `scenario` on `port`: one worker
    unless told otherwise. Only the pre-fork servers (rcorn, gunicorn) take
    `workers` and `preload`."""
    bind = f"{HOST}:{port}"
    target = f"{scenario.module}:app"
    bin_dir = venv / "bin"
    prefork = ["-w", str(workers), *(["--preload"] if preload else [])]
    if server.name == "rcorn":
        return [str(bin_dir / "rcorn"), *prefork, "-b", bind, target]
    if server.name == "rcorn-gthread":
        return [str(bin_dir / "rcorn"), *prefork, "-k", "gthread", "--threads", "4", "-b", bind, target]
    if server.name == "gunicorn-sync":
        return [str(bin_dir / "gunicorn"), *prefork, "-b", bind, target]
    if server.name == "gunicorn-gthread":
        return [str(bin_dir / "gunicorn"), *prefork, "-k", "gthread", "--threads", "4", "-b", bind, target]
    if workers != 1 or preload:
        raise ValueError(f"{server.name} is not a pre-fork server: one worker, no preload")
    if server.name == "granian":
        return [
            str(bin_dir / "granian"), "--interface", "wsgi", "--workers", "1",
            "--host", HOST, "--port", str(port), target,
        ]
    if server.name == "bjoern":
        return [str(bin_dir / "python"), str(HERE / "bjoern_run.py"), target, HOST, str(port)]
    if server.name == "nginx-constant":
        conf = write_nginx_conf(workdir, port)
        return [shutil.which("nginx"), "-p", str(workdir), "-c", str(conf)]
    raise ValueError(f"unknown server {server.name}")


def write_nginx_conf(workdir, port):
    # One worker, no daemon (so our PID is the master), logs into the scratch dir.
    conf = workdir / f"nginx-{port}.conf"
    conf.write_text(
        "worker_processes 1;\n"
        "daemon off;\n"
        f"pid {workdir}/nginx-{port}.pid;\n"
        f"error_log {workdir}/nginx-error.log;\n"
        "events { worker_connections 1024; }\n"
        "http {\n"
        "  access_log off;\n"
        f"  client_body_temp_path {workdir}/nginx-body;\n"
        f"  server {{ listen {HOST}:{port};\n"
        "    location / { default_type text/plain; return 200 'Hello, World!'; } }\n"
        "}\n"
    )
    return conf


# ---------------------------------------------------------------- setup


def log(msg):
    print(f"[compare] {msg}", file=sys.stderr, flush=True)


def ensure_system_tools():
    """wrk (and libev-dev, which bjoern compiles against) from Debian, if root."""
    missing = []
    if shutil.which("wrk") is None:
        missing.append("wrk")
    if subprocess.run(["dpkg", "-s", "libev-dev"], capture_output=True).returncode != 0:
        missing.append("libev-dev")
    if not missing:
        return
    if os.geteuid() != 0:
        log(f"missing Debian packages {missing}, and not root: install them with apt-get")
        return
    log(f"installing Debian packages: {' '.join(missing)}")
    subprocess.run(["apt-get", "update"], check=False, stdout=subprocess.DEVNULL)
    res = subprocess.run(["apt-get", "install", "-y", *missing], capture_output=True, text=True)
    if res.returncode != 0:
        log(f"apt-get install failed ({res.returncode}): {res.stderr.strip()[-500:]}")


def make_venv(venv):
    if (venv / "bin" / "python").exists():
        return
    log(f"creating virtualenv {venv}")
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip(venv, ["install", "-q", "-U", "pip"])


def pip(venv, args):
    """Run pip in the venv; returns (ok, tail of its output)."""
    res = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", *args],
        capture_output=True, text=True,
    )
    out = (res.stdout + res.stderr).strip().splitlines()
    return res.returncode == 0, "\n".join(out[-15:])


def install_packages(venv, packages, rcorn_wheel):
    """pip-install each package on its own; returns {package: error} for those that failed."""
    failed = {}
    for package in packages:
        if package == "rcorn":
            source = str(rcorn_wheel) if rcorn_wheel else str(REPO)
            log(f"installing rcorn from {source} (a release build from source takes minutes)")
            ok, tail = pip(venv, ["install", "--force-reinstall", "--no-deps", source])
        else:
            log(f"installing {package}")
            ok, tail = pip(venv, ["install", package])
        if not ok:
            log(f"{package} failed to install:\n{tail}")
            failed[package] = last_error_line(tail)
    return failed


def last_error_line(text):
    # pip's useful line is usually the last one that mentions an error.
    lines = [l.strip() for l in text.splitlines() if l.strip()]
    errors = [l for l in lines if "error" in l.lower()]
    return (errors or lines or ["unknown error"])[-1][:200]


def installed_versions(venv, packages):
    """{package: version or None} as the venv sees them."""
    code = (
        "import importlib.metadata as m, json, sys\n"
        "out = {}\n"
        "for p in sys.argv[1:]:\n"
        "    try: out[p] = m.version(p)\n"
        "    except m.PackageNotFoundError: out[p] = None\n"
        "print(json.dumps(out))\n"
    )
    res = subprocess.run(
        [str(venv / "bin" / "python"), "-c", code, *packages],
        capture_output=True, text=True, check=True,
    )
    return json.loads(res.stdout)


def server_availability(servers, venv, install_failures):
    """{server name: None if runnable, else why not}."""
    packages = sorted({s.package for s in servers if s.package})
    versions = installed_versions(venv, packages)
    why_not = {}
    for s in servers:
        if s.name == "nginx-constant":
            why_not[s.name] = None if shutil.which("nginx") else "nginx not installed (optional)"
        elif versions.get(s.package) is None:
            reason = install_failures.get(s.package, "not installed")
            why_not[s.name] = f"not installed: {reason}"
        else:
            why_not[s.name] = None
    return why_not


# ---------------------------------------------------------------- processes


def free_port():
    # Ask the kernel for a free port; the tiny race before the server binds it is acceptable here.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def start_server(argv, logfile):
    env = dict(os.environ, PYTHONPATH=str(APPS_DIR), PYTHONUNBUFFERED="1")
    # Own session and process group: stop_server signals the master and its workers together.
    # taskset execs the server, so the PID we get is the server's master.
    return subprocess.Popen(
        ["taskset", "-c", SERVER_CORE, *argv],
        cwd=APPS_DIR, env=env, stdout=logfile, stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL, start_new_session=True,
    )


def wait_ready(proc, port, timeout):
    """Poll with a plain HTTP GET until any response comes back; raise if the process dies or time runs out."""
    deadline = time.monotonic() + timeout
    request = f"GET / HTTP/1.1\r\nHost: {HOST}:{port}\r\nConnection: close\r\n\r\n".encode()
    last_error = "no attempt"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with status {proc.returncode} before answering")
        try:
            with socket.create_connection((HOST, port), timeout=2) as s:
                s.sendall(request)
                if s.recv(16).startswith(b"HTTP/"):
                    return
                last_error = "answer was not HTTP"
        except OSError as e:
            last_error = str(e)
        time.sleep(0.05)
    raise RuntimeError(f"server did not answer within {timeout:.0f}s (last: {last_error})")


def stop_server(proc):
    """TERM the process group, KILL it after STOP_TIMEOUT; returns how it ended."""
    if proc.poll() is not None:
        return f"had already exited with {proc.returncode}"
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    try:
        proc.wait(timeout=STOP_TIMEOUT)
        how = "stopped"
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        how = f"killed: still running {STOP_TIMEOUT:.0f}s after TERM"
    reap_group(proc.pid)
    return how


def reap_group(pgid):
    # Workers that outlived their master would hold CPU 0 and skew the next run.
    try:
        os.killpg(pgid, signal.SIGKILL)
        log(f"process group {pgid} still had members after its master exited: killed them")
    except ProcessLookupError:
        pass


def children(pid):
    path = Path(f"/proc/{pid}/task/{pid}/children")
    try:
        return [int(c) for c in path.read_text().split()]
    except OSError:
        return []


def cpu_seconds(pid):
    """User and system CPU time of process `pid` (all its threads) so far;
    0 once it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tree_cpu_seconds(pid):
    """CPU time of `pid` and every process under it: a server's master and
    workers (and their threads) together."""
    return cpu_seconds(pid) + sum(tree_cpu_seconds(c) for c in children(pid))


def rss_kib(pid):
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


# ---------------------------------------------------------------- wrk


@dataclasses.dataclass
class WrkResult:
    rps: float
    requests: int
    non2xx: int
    socket_errors: dict
    p50_ms: float
    p99_ms: float
    max_ms: float

    @property
    def errors(self):
        return self.non2xx + sum(self.socket_errors.values())


def to_ms(text):
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if not m:
        raise ValueError(f"unparsed wrk latency {text!r}")
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[m.group(2)]
    return float(m.group(1)) * scale


def parse_wrk(out):
    def find(pattern, default=None):
        m = re.search(pattern, out, re.M)
        if m is None and default is None:
            raise ValueError(f"wrk output has no match for {pattern!r}:\n{out}")
        return m.group(1) if m else default

    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    socket_errors = dict(zip(("connect", "read", "write", "timeout"), map(int, sock.groups()))) if sock else {}
    return WrkResult(
        rps=float(find(r"^Requests/sec:\s+([\d.]+)")),
        requests=int(find(r"^\s*(\d+) requests in")),
        non2xx=int(find(r"Non-2xx or 3xx responses: (\d+)", "0")),
        socket_errors={k: v for k, v in socket_errors.items() if v},
        p50_ms=to_ms(find(r"^\s+50%\s+(\S+)")),
        p99_ms=to_ms(find(r"^\s+99%\s+(\S+)")),
        max_ms=to_ms(find(r"^\s+Latency\s+\S+\s+\S+\s+(\S+)")),
    )


def run_wrk(port, scenario, args):
    argv = [
        "taskset", "-c", CLIENT_CORE, "wrk", "-t1", f"-c{args.connections}", f"-d{args.duration}s",
        "--latency", *scenario.wrk_args, f"http://{HOST}:{port}/",
    ]
    res = subprocess.run(argv, capture_output=True, text=True, timeout=args.duration + 60)
    if res.returncode != 0:
        raise RuntimeError(f"wrk exited {res.returncode}: {res.stderr.strip()[-300:]}")
    return parse_wrk(res.stdout)


# ---------------------------------------------------------------- one run


@dataclasses.dataclass
class Run:
    scenario: str
    server: str
    rep: int
    wrk: WrkResult = None
    master_rss: int = None  # KiB
    worker_rss: list = None  # KiB, one per child of the master
    # The server's CPU time (all its processes) over the load, per request:
    # unlike requests/sec, not moved by what else the machine runs.
    cpu_us: float = None
    failure: str = None
    stop: str = ""
    log_notes: list = dataclasses.field(default_factory=list)  # warning/error lines the server logged


def run_one(server, scenario, rep, args, workdir):
    port = free_port()
    argv = server_command(server, scenario, port, args.venv, workdir)
    logpath = workdir / f"{scenario.name}-{server.name}-{rep}.log"
    run = Run(scenario.name, server.name, rep)
    with open(logpath, "w") as logfile:
        proc = start_server(argv, logfile)
        log(f"rep {rep} {scenario.name} {server.name}: pid {proc.pid} port {port}")
        try:
            wait_ready(proc, port, READY_TIMEOUT)
            cpu_before = tree_cpu_seconds(proc.pid)
            run.wrk = run_wrk(port, scenario, args)
            if run.wrk.requests:
                run.cpu_us = (tree_cpu_seconds(proc.pid) - cpu_before) * 1e6 / run.wrk.requests
            # RSS right after the load, while the server still holds what it grew to.
            run.master_rss = rss_kib(proc.pid)
            run.worker_rss = [r for r in map(rss_kib, children(proc.pid)) if r is not None]
            if proc.poll() is not None:
                run.failure = f"server exited with {proc.returncode} during the load"
        except (RuntimeError, ValueError, subprocess.TimeoutExpired) as e:
            run.failure = str(e)
        finally:
            run.stop = stop_server(proc)
    run.log_notes = notable_log_lines(logpath)
    if run.failure or run.stop != "stopped":
        tail = logpath.read_text(errors="replace").strip().splitlines()[-5:]
        log(f"  {server.name} on {scenario.name}: {run.failure or run.stop}; log tail: {tail}")
    if run.wrk:
        log(f"  {run.wrk.rps:.0f} req/s, errors {run.wrk.errors}, p99 {run.wrk.p99_ms:.2f} ms")
    return run


NOTABLE = re.compile(r"\b(WARNING|WARN|ERROR|CRITICAL)\b|Traceback|panic", re.I)


def notable_log_lines(logpath):
    # A server can stay up and answer 200 while logging errors or restarting workers;
    # surface such lines in the report instead of throwing the log away.
    lines = logpath.read_text(errors="replace").splitlines()
    return [l.strip() for l in lines if NOTABLE.search(l)]


def call_rate(scenario, args):
    """Requests-equivalent per second of the app called directly in Python, on the server core."""
    argv = [
        "taskset", "-c", SERVER_CORE, str(args.venv / "bin" / "python"), str(HERE / "callrate.py"),
        f"{scenario.module}:app", scenario.method, str(scenario.body_bytes), str(args.duration),
    ]
    env = dict(os.environ, PYTHONPATH=str(APPS_DIR))
    res = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=APPS_DIR, timeout=args.duration + 60)
    if res.returncode != 0:
        log(f"call rate of {scenario.name} failed: {res.stderr.strip()[-300:]}")
        return None
    return json.loads(res.stdout)["rate"]


# ---------------------------------------------------------------- report


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def fmt_rate(v):
    return "—" if v is None else f"{v:,.0f}"


def fmt_mib(kib):
    return "—" if kib is None else f"{kib / 1024:.1f}"


def machine_info(venv, servers):
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    py = subprocess.run([str(venv / "bin" / "python"), "--version"], capture_output=True, text=True).stdout.strip()
    packages = sorted({s.package for s in servers if s.package} | {"flask"})
    versions = installed_versions(venv, packages)
    wrk = subprocess.run(["wrk", "-v"], capture_output=True, text=True)
    versions["wrk"] = (wrk.stdout + wrk.stderr).split("\n")[0].strip()
    if shutil.which("nginx"):
        nginx = subprocess.run(["nginx", "-v"], capture_output=True, text=True)
        versions["nginx"] = nginx.stderr.strip()
    commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "kernel": platform.release(),
        "python": py,
        "rcorn commit": commit.stdout.strip() or "unknown",
        "versions": versions,
    }


def machine_section(machine):
    """The report's "Machine" section, as lines (blank line included)."""
    versions = ", ".join(f"{k} {v or 'not installed'}" for k, v in machine["versions"].items())
    return [
        "## Machine",
        "",
        f"- nproc: {machine['nproc']}",
        f"- CPU: {machine['cpu']}",
        f"- kernel: {machine['kernel']}",
        f"- Python: {machine['python']}",
        f"- rcorn commit: {machine['rcorn commit']}",
        f"- versions: {versions}",
        "",
    ]


def render(args, scenarios, servers, why_not, runs, rates, machine, command, raw, plots):
    by = {}
    for r in runs:
        by.setdefault((r.scenario, r.server), []).append(r)
    names = [s.name for s in servers]
    lines = [
        f"# Load comparison, {args.date}",
        "",
        f"Command: `{command}`",
        "",
        f"One worker per server pinned to core {SERVER_CORE}; `wrk -t1 -c{args.connections} -d{args.duration}s` "
        f"pinned to core {CLIENT_CORE}; keep-alive unless the scenario says close; "
        f"{args.repeats} repetition(s), servers interleaved within each; numbers are medians of requests/sec.",
        "",
        *machine_section(machine),
        "## Requests/sec (median)",
        "",
    ]
    ratios = [(a, b) for a, b in RATIOS if a in names and b in names]
    ratio_cols = [f"{a}/{b}" for a, b in ratios]
    lines.append("| scenario | python call | " + " | ".join(names + ratio_cols) + " |")
    lines.append("|---|---:|" + "---:|" * (len(names) + len(ratio_cols)))
    for sc in scenarios:
        meds = {}
        cells = []
        for s in servers:
            rs = by.get((sc.name, s.name), [])
            meds[s.name] = median([r.wrk.rps for r in rs if r.wrk and not r.failure])
            cells.append(cell(s, sc, why_not, rs, meds[s.name]))
        for ours, theirs in ratios:
            a, b = meds.get(ours), meds.get(theirs)
            cells.append(f"{a / b:.2f}" if a and b else "—")
        lines.append(f"| {sc.name} | {fmt_rate(median(rates.get(sc.name, [])))} | " + " | ".join(cells) + " |")
    lines += ["", "Not run: " + ("; ".join(f"{k}: {v}" for k, v in why_not.items() if v) or "none"), ""]
    lines += plots_section(raw, plots)
    lines += detail_table(scenarios, servers, by)
    lines += failures_section(runs)
    return "\n".join(lines) + "\n"


def plots_section(raw, plots):
    """Links to the raw results and the PNGs drawn from them, all beside the report (so names relative to it)."""
    lines = ["## Plots", ""]
    for png in plots:
        lines += [f"![{png.stem}]({png.name})", ""]
    if not plots:
        lines += ["None: plot.py failed (see the command's output).", ""]
    return lines + [f"Every repetition's raw result: [{raw.name}]({raw.name}); "
                    f"`python benches/load/plot.py` on it draws the plots again.", ""]


def cell(server, scenario, why_not, rs, med):
    if why_not.get(server.name):
        return "n/i" if why_not[server.name].startswith("not installed") else "—"
    if not server.serves(scenario):
        return "—"
    if med is None:
        return "failed" if rs else "—"
    return fmt_rate(med)


def detail_table(scenarios, servers, by):
    lines = [
        "## Detail (per scenario and server)",
        "",
        "Errors are summed over repetitions: non-2xx responses and wrk socket errors (connect/read/write/timeout). "
        "Latency is the median over repetitions of each run's percentile. RSS is VmRSS after the load: "
        "the master (the process started) and its children (the workers), in MiB.",
        "",
        "| scenario | server | req/s median | min | max | errors | p50 ms | p99 ms | max ms | master RSS | worker RSS |",
        "|---|---|---:|---:|---:|---|---:|---:|---:|---:|---:|",
    ]
    for sc in scenarios:
        for s in servers:
            rs = [r for r in by.get((sc.name, s.name), []) if r.wrk]
            if not rs:
                continue
            rps = [r.wrk.rps for r in rs]
            lines.append(
                f"| {sc.name} | {s.name} | {fmt_rate(median(rps))} | {fmt_rate(min(rps))} | {fmt_rate(max(rps))} "
                f"| {error_summary(rs)} | {median([r.wrk.p50_ms for r in rs]):.2f} "
                f"| {median([r.wrk.p99_ms for r in rs]):.2f} | {median([r.wrk.max_ms for r in rs]):.2f} "
                f"| {fmt_mib(median([r.master_rss for r in rs]))} "
                f"| {worker_rss_summary(rs)} |"
            )
    return lines + [""]


def error_summary(rs):
    non2xx = sum(r.wrk.non2xx for r in rs)
    sock = {}
    for r in rs:
        for k, v in r.wrk.socket_errors.items():
            sock[k] = sock.get(k, 0) + v
    parts = ([f"non-2xx {non2xx}"] if non2xx else []) + [f"{k} {v}" for k, v in sock.items()]
    return ", ".join(parts) or "0"


def worker_rss_summary(rs):
    # Single-process servers (bjoern, nginx's master aside) have no children to report.
    per_run = [sum(r.worker_rss) for r in rs if r.worker_rss]
    if not per_run:
        return "—"
    counts = {len(r.worker_rss) for r in rs if r.worker_rss}
    suffix = "" if counts == {1} else f" ({'/'.join(map(str, sorted(counts)))} children)"
    return fmt_mib(median(per_run)) + suffix


def failures_section(runs):
    bad = [r for r in runs if r.failure or r.stop != "stopped"]
    lines = ["## Failures", ""]
    if not bad:
        lines.append("No run failed, and every server stopped on TERM.")
    for r in bad:
        lines.append(f"- rep {r.rep} {r.scenario} {r.server}: {r.failure or ''} {'' if r.stop == 'stopped' else r.stop}".rstrip())
    lines += ["", "## Server log warnings and errors", ""]
    noisy = [r for r in runs if r.log_notes]
    if not noisy:
        lines.append("No server logged a warning, an error or a traceback.")
    for r in noisy:
        first = r.log_notes[0]
        lines.append(f"- rep {r.rep} {r.scenario} {r.server}: {len(r.log_notes)} line(s), first: `` {first[:200]} ``")
    return lines + [""]


# ---------------------------------------------------------------- main


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--duration", type=int, default=10, help="seconds of wrk load per run (default 10)")
    p.add_argument("--repeats", type=int, default=3, help="repetitions, servers interleaved in each (default 3)")
    p.add_argument("--connections", type=int, default=64, help="wrk connections (default 64)")
    p.add_argument("--apps", default=",".join(s.name for s in SCENARIOS),
                   help="comma-separated scenarios (default all: %(default)s)")
    p.add_argument("--servers", default=",".join(s.name for s in SERVERS),
                   help="comma-separated servers (default all: %(default)s)")
    p.add_argument("--quick", action="store_true", help="duration 3, repeats 1")
    p.add_argument("--venv", type=Path, default=HERE / ".venv", help="virtualenv to create and use")
    p.add_argument("--rcorn-wheel", type=Path, help="install rcorn from this wheel instead of building the repository")
    p.add_argument("--skip-install", action="store_true", help="use the virtualenv as it is")
    p.add_argument("--out", type=Path, help="report path (default results/<date>.md)")
    args = p.parse_args(argv)
    if args.quick:
        args.duration, args.repeats = 3, 1
    args.venv = args.venv.resolve()
    args.date = datetime.date.today().isoformat()
    return args


def peer_parser(doc):
    """The options every comparison against an installed virtualenv of
    servers takes (asgi_compare, ws_compare, h2_asgi_compare)."""
    p = argparse.ArgumentParser(description=doc.split("\n")[0])
    p.add_argument("--venv", type=Path, required=True, help="virtualenv holding every server")
    p.add_argument("--duration", type=int, default=10)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--out", type=Path)
    return p


def parsed(parser, argv):
    args = parser.parse_args(argv)
    args.venv = args.venv.resolve()
    args.date = datetime.date.today().isoformat()
    return args


def figure_table(label, rows, names, figure, pairs, ratio, fmt):
    """A Markdown table: one row per item of `rows`, each server's
    `figure(row, name)` (a median, or None), then `ratio(x, y)` of the
    figures of each pair (x, y) of `pairs`, headed `x/y`."""
    pairs = [(a, b) for a, b in pairs if a in names and b in names]
    cols = names + [f"{a}/{b}" for a, b in pairs]
    lines = [f"| {label} | " + " | ".join(cols) + " |", "|---|" + "---:|" * len(cols)]
    for row in rows:
        figs = {n: figure(row, n) for n in names}
        if not any(figs.values()):
            continue
        cells = [fmt(figs[n]) if figs[n] else "—" for n in names]
        cells += [f"{ratio(figs[a], figs[b]):.2f}" if figs[a] and figs[b] else "—" for a, b in pairs]
        lines.append(f"| {row} | " + " | ".join(cells) + " |")
    return lines


def select(items, wanted, kind):
    names = [w.strip() for w in wanted.split(",") if w.strip()]
    known = {i.name: i for i in items}
    unknown = [n for n in names if n not in known]
    if unknown:
        sys.exit(f"unknown {kind}: {', '.join(unknown)} (known: {', '.join(known)})")
    return [known[n] for n in names]


def report_path(args):
    if args.out:
        return args.out
    out = HERE / "results" / f"{args.date}.md"
    if out.exists():  # keep an earlier run of the same day
        out = out.with_name(f"{args.date}-{datetime.datetime.now():%H%M%S}.md")
    return out


def main(argv):
    args = parse_args(argv)
    scenarios = select(SCENARIOS, args.apps, "scenario")
    servers = select(SERVERS, args.servers, "server")
    command = "bash benches/load/compare.sh " + " ".join(argv)
    ensure_system_tools()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed and could not be installed: nothing to measure with")
    make_venv(args.venv)
    failures = {}
    if not args.skip_install:
        # matplotlib draws the report's plots (plot.py), in this virtualenv as everything else.
        packages = ["flask", "matplotlib"] + sorted({s.package for s in servers if s.package})
        failures = install_packages(args.venv, packages, args.rcorn_wheel)
    why_not = server_availability(servers, args.venv, failures)
    for name, why in why_not.items():
        if why:
            log(f"{name} will not run: {why}")
    runnable = [s for s in servers if not why_not[s.name]]

    runs, rates = [], {}
    with tempfile.TemporaryDirectory(prefix="rcorn-load-") as tmp:
        workdir = Path(tmp)
        for rep in range(1, args.repeats + 1):
            for sc in scenarios:
                rates.setdefault(sc.name, []).append(call_rate(sc, args))
                for s in runnable:
                    if s.serves(sc):
                        runs.append(run_one(s, sc, rep, args, workdir))

    machine = machine_info(args.venv, servers)
    out = report_path(args)
    out.parent.mkdir(parents=True, exist_ok=True)
    raw = out.with_suffix(".json")
    run_data.dump(
        raw, date=args.date, command=command, duration=args.duration, connections=args.connections,
        repeats=args.repeats, machine=machine, scenarios=[s.name for s in scenarios],
        servers=[s.name for s in servers], not_run={k: v for k, v in why_not.items() if v},
        runs=runs, call_rates=rates,
    )
    plots = draw_plots(args.venv, raw)
    text = render(args, scenarios, servers, why_not, runs, rates, machine, command, raw, plots)
    out.write_text(text)
    print(text)
    log(f"report written to {out}, raw results to {raw}")


def draw_plots(venv, raw):
    """Run plot.py on the raw results in the bench virtualenv; the PNGs it wrote, or [] if it failed."""
    res = subprocess.run([str(venv / "bin" / "python"), str(HERE / "plot.py"), str(raw)],
                         capture_output=True, text=True)
    if res.returncode != 0:
        log(f"plot.py failed ({res.returncode}), the report has no plots (it needs matplotlib in {venv}): "
            f"{res.stderr.strip()[-500:]}")
        return []
    return [Path(line) for line in res.stdout.splitlines() if line.strip()]


if __name__ == "__main__":
    main(sys.argv[1:])
