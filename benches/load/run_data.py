"""A load comparison's data, as plot.py reads it.

compare.py writes every repetition's raw result as JSON beside its markdown
report (`dump`). `load` reads either that JSON or, for reports written before
the JSON existed, the markdown report's "Detail" table, and returns the same
`RunSummary` from both: per scenario and server, the median, min and max of
requests/sec over the repetitions and the median latency percentiles.

Standard library only: compare.py imports it outside any virtualenv.
"""

import dataclasses
import json
import re
import statistics
from pathlib import Path

FORMAT = 1  # bump when the JSON's layout changes


@dataclasses.dataclass
class Cell:
    """One server on one scenario, across the repetitions."""

    rps_median: float
    rps_min: float
    rps_max: float
    p50_ms: float
    p99_ms: float
    max_ms: float


@dataclasses.dataclass
class RunSummary:
    date: str
    machine: dict  # nproc, cpu, kernel, python, "rcorn commit", versions
    load: str  # the wrk command line, e.g. "wrk -t1 -c64 -d3s"
    repeats: int
    scenarios: list  # names, in the report's order
    servers: list  # names, in the report's order
    cells: dict  # (scenario, server) -> Cell; absent when the server did not run it

    def machine_line(self):
        """A one-line name of the machine, for plot titles."""
        m = self.machine
        parts = [f"{m.get('nproc', '?')}-core {m.get('cpu', 'unknown CPU')}"]
        if m.get("kernel"):
            parts.append(f"Linux {m['kernel']}")
        if m.get("python"):
            parts.append(m["python"])
        if m.get("rcorn commit"):
            parts.append(f"rcorn {m['rcorn commit']}")
        return ", ".join(parts)


# ---------------------------------------------------------------- JSON


def dump(path, *, date, command, duration, connections, repeats, machine, scenarios, servers, not_run, runs,
         call_rates):
    """Write one run's raw results. `runs` are compare.py's Run dataclasses, one per repetition."""
    data = {
        "format": FORMAT,
        "date": date,
        "command": command,
        "load": f"wrk -t1 -c{connections} -d{duration}s",
        "repeats": repeats,
        "machine": machine,
        "scenarios": scenarios,
        "servers": servers,
        "not_run": not_run,
        "call_rates": call_rates,
        "runs": [dataclasses.asdict(r) for r in runs],
    }
    Path(path).write_text(json.dumps(data, indent=1) + "\n")


def summary_from_json(data):
    by = {}
    for run in data["runs"]:
        # A run whose server died under load still has wrk's numbers, but they are not the server's.
        if run.get("wrk") and not run.get("failure"):
            by.setdefault((run["scenario"], run["server"]), []).append(run["wrk"])
    cells = {}
    for key, results in by.items():
        rps = [w["rps"] for w in results]
        cells[key] = Cell(
            rps_median=statistics.median(rps), rps_min=min(rps), rps_max=max(rps),
            p50_ms=statistics.median(w["p50_ms"] for w in results),
            p99_ms=statistics.median(w["p99_ms"] for w in results),
            max_ms=statistics.median(w["max_ms"] for w in results),
        )
    return RunSummary(
        date=data["date"], machine=data["machine"], load=data["load"], repeats=data["repeats"],
        scenarios=list(data["scenarios"]), servers=list(data["servers"]), cells=cells,
    )


# ---------------------------------------------------------------- markdown


DETAIL_HEADER = re.compile(r"^\|\s*scenario\s*\|\s*server\s*\|\s*req/s median\s*\|")
DETAIL_COLUMNS = {  # Cell field -> column heading in the Detail table
    "rps_median": "req/s median", "rps_min": "min", "rps_max": "max",
    "p50_ms": "p50 ms", "p99_ms": "p99 ms", "max_ms": "max ms",
}


def table_rows(lines):
    """The cells of each markdown table row from `lines` on, until the table ends."""
    for line in lines:
        if not line.startswith("|"):
            return
        yield [c.strip() for c in line.strip().strip("|").split("|")]


def detail_cells(lines):
    """{(scenario, server): Cell} and the order of scenarios and servers, from the Detail table."""
    start = next((i for i, l in enumerate(lines) if DETAIL_HEADER.match(l)), None)
    if start is None:
        raise ValueError("no Detail table (| scenario | server | req/s median | ...) in the report")
    rows = table_rows(lines[start:])
    heading = next(rows)
    next(rows)  # the |---| line
    index = {field: heading.index(col) for field, col in DETAIL_COLUMNS.items()}
    cells, scenarios, servers = {}, [], []
    for row in rows:
        scenario, server = row[0], row[1]
        values = {field: float(row[i].replace(",", "")) for field, i in index.items()}
        cells[(scenario, server)] = Cell(**values)
        if scenario not in scenarios:
            scenarios.append(scenario)
        if server not in servers:
            servers.append(server)
    return cells, scenarios, servers


def machine_from_markdown(lines):
    keys = {"nproc": "nproc", "CPU": "cpu", "kernel": "kernel", "Python": "python", "rcorn commit": "rcorn commit"}
    machine = {}
    for line in lines:
        m = re.match(r"^- ([^:]+): (.*)$", line)
        if m and m.group(1) in keys:
            machine[keys[m.group(1)]] = m.group(2).strip()
    return machine


def summary_from_markdown(text):
    lines = text.splitlines()
    cells, scenarios, servers = detail_cells(lines)
    date = re.search(r"^# .*?(\d{4}-\d{2}-\d{2})", text, re.M)
    load = re.search(r"`(wrk [^`]+)`", text)
    repeats = re.search(r"(\d+) repetition", text)
    return RunSummary(
        date=date.group(1) if date else "unknown date",
        machine=machine_from_markdown(lines),
        load=load.group(1) if load else "wrk",
        repeats=int(repeats.group(1)) if repeats else 0,
        scenarios=scenarios, servers=servers, cells=cells,
    )


def load(path):
    """The RunSummary of a run, from its JSON or from its markdown report."""
    path = Path(path)
    text = path.read_text()
    if path.suffix == ".json":
        return summary_from_json(json.loads(text))
    return summary_from_markdown(text)
