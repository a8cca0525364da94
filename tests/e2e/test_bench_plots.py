"""The load comparison's plots (benches/load/plot.py): drawn from the raw JSON
compare.py writes and from an older report's markdown Detail table.

No server runs here: the JSON is made with compare.py's own records and
writer, so a change to what compare.py writes that plot.py cannot read
fails here rather than at the end of a long benchmark run.
"""

import importlib
import subprocess
import sys
import types
from pathlib import Path

import pytest

pytest.importorskip("matplotlib", reason="matplotlib is not installed (pip install -r tests/requirements.txt)")

LOAD = Path(__file__).resolve().parents[2] / "benches" / "load"
STOP14 = LOAD / "results" / "2026-11-27-stop14.md"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def bench(monkeypatch):
    """compare.py and run_data.py, imported as plot.py imports them (benches/load on sys.path)."""
    monkeypatch.syspath_prepend(str(LOAD))
    return types.SimpleNamespace(compare=importlib.import_module("compare"),
                                 run_data=importlib.import_module("run_data"))


def synthetic_runs(compare):
    """Three repetitions of two servers on two scenarios, and one run whose server died."""
    runs = []
    for rep, (fast, slow) in enumerate([(100_000, 5_000), (120_000, 4_000), (90_000, 6_000)], start=1):
        for scenario, scale in (("hello", 1.0), ("flask", 0.1)):
            for server, rps in (("rcorn", fast), ("gunicorn-sync", slow)):
                wrk = compare.WrkResult(rps=rps * scale, requests=int(rps * scale * 3), non2xx=0,
                                        socket_errors={}, p50_ms=64_000 / (rps * scale),
                                        p99_ms=2 * 64_000 / (rps * scale), max_ms=50.0)
                runs.append(compare.Run(scenario, server, rep, wrk=wrk, master_rss=12_000, worker_rss=[11_000]))
    dead = compare.WrkResult(rps=1.0, requests=3, non2xx=0, socket_errors={"read": 60},
                             p50_ms=900.0, p99_ms=999.0, max_ms=999.0)
    runs.append(compare.Run("hello", "rcorn", 4, wrk=dead, failure="server exited with -9 during the load"))
    return runs


def write_synthetic_json(bench, path):
    machine = {"nproc": 2, "cpu": "Test CPU", "kernel": "6.0", "python": "Python 3.11.7",
               "rcorn commit": "abc1234", "versions": {"rcorn": "0.1.0"}}
    bench.run_data.dump(
        path, date="2026-01-02", command="bash benches/load/compare.sh --repeats 3", duration=3,
        connections=64, repeats=3, machine=machine, scenarios=["hello", "flask"],
        servers=["rcorn", "gunicorn-sync"], not_run={}, runs=synthetic_runs(bench.compare),
        call_rates={"hello": [1e6, 1e6, 1e6], "flask": [2e4, None, 2e4]},
    )


def draw(source, out_dir):
    """Run plot.py as compare.py does; returns the PNG paths it printed."""
    res = subprocess.run([sys.executable, str(LOAD / "plot.py"), str(source), "--out-dir", str(out_dir)],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    return [Path(line) for line in res.stdout.splitlines()]


def assert_png(path, min_width=800):
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE, f"{path} is not a PNG"
    width = int.from_bytes(data[16:20], "big")  # IHDR: the first chunk, width then height
    assert width >= min_width, f"{path} is {width} px wide"
    assert 10_000 < len(data) < 400_000, f"{path} is {len(data)} bytes"


def test_summary_of_raw_json_leaves_out_failed_runs(bench, tmp_path):
    raw = tmp_path / "run.json"
    write_synthetic_json(bench, raw)
    summary = bench.run_data.load(raw)
    cell = summary.cells[("hello", "rcorn")]
    assert (cell.rps_median, cell.rps_min, cell.rps_max) == (100_000, 90_000, 120_000)
    assert cell.p50_ms == pytest.approx(0.64)
    assert summary.scenarios == ["hello", "flask"] and summary.servers == ["rcorn", "gunicorn-sync"]
    assert summary.repeats == 3 and summary.load == "wrk -t1 -c64 -d3s"


def test_plots_from_raw_json(bench, tmp_path):
    raw = tmp_path / "2026-01-02.json"
    write_synthetic_json(bench, raw)
    pngs = draw(raw, tmp_path)
    assert pngs == [tmp_path / "2026-01-02-rps.png", tmp_path / "2026-01-02-latency.png"]
    for png in pngs:
        assert_png(png)


def test_summary_of_markdown_detail_table(bench):
    summary = bench.run_data.load(STOP14)
    assert len(summary.cells) == 30  # 5 scenarios x 6 servers
    cell = summary.cells[("hello", "rcorn")]
    assert (cell.rps_median, cell.rps_min, cell.rps_max) == (117_092, 107_192, 136_676)
    assert (cell.p50_ms, cell.p99_ms) == (0.45, 0.86)
    assert summary.date == "2026-11-27" and summary.repeats == 5
    assert summary.machine["cpu"] == "AMD EPYC" and summary.machine["nproc"] == "2"


def test_plots_from_markdown_report(tmp_path):
    pngs = draw(STOP14, tmp_path)
    assert [p.name for p in pngs] == ["2026-11-27-stop14-rps.png", "2026-11-27-stop14-latency.png"]
    for png in pngs:
        assert_png(png)


def test_report_links_plots_and_raw_results(bench, tmp_path):
    compare = bench.compare
    args = types.SimpleNamespace(date="2026-01-02", connections=64, duration=3, repeats=3)
    servers = [s for s in compare.SERVERS if s.name in ("rcorn", "gunicorn-sync")]
    scenarios = [s for s in compare.SCENARIOS if s.name in ("hello", "flask")]
    machine = {"nproc": 2, "cpu": "Test CPU", "kernel": "6.0", "python": "Python 3.11.7",
               "rcorn commit": "abc1234", "versions": {}}
    plots = [tmp_path / "2026-01-02-rps.png", tmp_path / "2026-01-02-latency.png"]
    text = compare.render(args, scenarios, servers, {s.name: None for s in servers},
                          synthetic_runs(compare), {}, machine, "cmd", tmp_path / "2026-01-02.json", plots)
    assert "![2026-01-02-rps](2026-01-02-rps.png)" in text
    assert "![2026-01-02-latency](2026-01-02-latency.png)" in text
    assert "[2026-01-02.json](2026-01-02.json)" in text
