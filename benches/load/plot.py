"""Plots of one load comparison: requests/sec and latency per server and scenario.

    python plot.py results/DATE.json        # the raw results compare.py writes
    python plot.py results/DATE.md          # or a report's Detail table (runs before the JSON)

writes DATE-rps.png and DATE-latency.png beside the input (or into --out-dir)
and prints their paths. compare.sh calls it at the end of every run; it needs
matplotlib, which compare.py installs into the bench virtualenv.
"""

import argparse
import math
import sys
import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display

import matplotlib.pyplot as plt  # noqa: E402 (after the backend is chosen)
from matplotlib.patches import Patch  # noqa: E402
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter  # noqa: E402

import run_data  # noqa: E402

# rcorn in warm colours, the others in cool or neutral ones, the same in every plot.
COLOURS = {
    "rcorn": "#d95f02",
    "rcorn-gthread": "#fdae6b",
    "bjoern": "#1b9e77",
    "granian": "#7570b3",
    "gunicorn-sync": "#4a6fa5",
    "gunicorn-gthread": "#9ecae1",
    "nginx-constant": "#999999",
}
OTHER_COLOURS = ["#e7298a", "#66a61e", "#a6761d", "#666666"]
LOG_SCALE_RATIO = 20  # largest over smallest bar above which the y axis turns logarithmic
WIDTH_IN, HEIGHT_IN, DPI = 10, 5.2, 110  # about 1100 px wide: sharp when shown at README width


def colour_of(server, servers):
    if server in COLOURS:
        return COLOURS[server]
    unknown = [s for s in servers if s not in COLOURS]
    return OTHER_COLOURS[unknown.index(server) % len(OTHER_COLOURS)]


def bar_slots(summary):
    """x of each (scenario, server) bar: one group per scenario, one slot per server run in it."""
    width = 0.84 / max(len(summary.servers), 3)  # no fat bars when few servers ran
    slots = {}
    for g, scenario in enumerate(summary.scenarios):
        present = [s for s in summary.servers if (scenario, s) in summary.cells]
        left = g - width * (len(present) - 1) / 2
        for k, server in enumerate(present):
            slots[(scenario, server)] = left + k * width
    return slots, width


def choose_scale(ax, values, label):
    """Logarithmic y when the values span more than LOG_SCALE_RATIO, ticks at 1, 2, 5 x 10^n
    labelled by `label`; bars then start from the power of ten below the smallest value."""
    low, high = min(values), max(values)
    if low <= 0 or high / low <= LOG_SCALE_RATIO:
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: label(v)))
        return "linear scale"
    ax.set_yscale("log")
    ax.set_ylim(bottom=10 ** math.floor(math.log10(low)))
    ax.yaxis.set_major_locator(LogLocator(subs=(1, 2, 5)))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: label(v)))
    ax.yaxis.set_minor_formatter(NullFormatter())
    return "log scale"


def titled(fig, ax, summary, what, note):
    ax.set_title(what, fontsize=13, loc="left", pad=22)
    ax.text(0, 1.015, f"{summary.date} · {summary.machine_line()}", transform=ax.transAxes, fontsize=9,
            color="#444444")
    fig.text(0.01, 0.01, textwrap.fill(note, 170), fontsize=8.5, color="#444444", va="bottom")


def load_note(summary):
    closing = " except hello-close (a new connection per request)" if "hello-close" in summary.scenarios else ""
    return f"Server on core 0, {summary.load} on core 1, keep-alive{closing}."


def finish_axes(ax, summary, ylabel):
    ax.set_xticks(range(len(summary.scenarios)))
    ax.set_xticklabels(summary.scenarios, fontsize=11)
    ax.set_xlim(-0.5, len(summary.scenarios) - 0.5)
    ax.set_xlabel("scenario", fontsize=10)
    ax.set_ylabel(ylabel, fontsize=11)
    ax.grid(axis="y", which="major", color="#dddddd")
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def short(value):
    """117092 -> 117k, 5121 -> 5.1k: bar labels and requests/s ticks."""
    if value >= 10_000:
        return f"{value / 1000:.0f}k"
    if value >= 1000:
        return f"{value / 1000:.1f}k".replace(".0k", "k")
    return f"{value:.0f}"


def millis(value):
    return f"{value:g}"


def plot_rps(summary, out):
    fig, ax = plt.subplots(figsize=(WIDTH_IN, HEIGHT_IN), dpi=DPI)
    slots, width = bar_slots(summary)
    for server in summary.servers:
        keys = [k for k in slots if k[1] == server]
        if not keys:
            continue
        cells = [summary.cells[k] for k in keys]
        xs = [slots[k] for k in keys]
        medians = [c.rps_median for c in cells]
        spread = [[c.rps_median - c.rps_min for c in cells], [c.rps_max - c.rps_median for c in cells]]
        ax.bar(xs, medians, width, label=server, color=colour_of(server, summary.servers),
               yerr=spread, capsize=2, error_kw={"elinewidth": 0.9, "ecolor": "#333333"})
        for x, c in zip(xs, cells):
            ax.text(x, c.rps_max * 1.08, short(c.rps_median), ha="center", va="bottom", fontsize=6.5,
                    rotation=90)
    scale = choose_scale(ax, [c.rps_min for c in summary.cells.values()], short)
    ax.set_ylim(top=ax.get_ylim()[1] * (1.6 if scale == "log scale" else 1.15))  # room for labels
    finish_axes(ax, summary, "requests/s (higher is better)")
    ax.legend(ncol=min(len(summary.servers), 7), fontsize=9, loc="upper right", frameon=False)
    titled(fig, ax, summary, "Requests per second, one worker per server",
           f"Bars: median over {summary.repeats} repetition(s), whiskers: min–max; {scale}. "
           f"{load_note(summary)}")
    save(fig, out)


def plot_latency(summary, out):
    fig, ax = plt.subplots(figsize=(WIDTH_IN, HEIGHT_IN), dpi=DPI)
    slots, width = bar_slots(summary)
    for server in summary.servers:
        keys = [k for k in slots if k[1] == server]
        if not keys:
            continue
        xs = [slots[k] for k in keys]
        colour = colour_of(server, summary.servers)
        # p99 >= p50: the pale, outlined p99 bar stands behind the solid p50 bar of the same server.
        ax.bar(xs, [summary.cells[k].p99_ms for k in keys], width, facecolor=colour + "55",
               edgecolor="#555555", linewidth=0.7)
        ax.bar(xs, [summary.cells[k].p50_ms for k in keys], width, color=colour, label=server)
    values = [v for c in summary.cells.values() for v in (c.p50_ms, c.p99_ms)]
    scale = choose_scale(ax, values, millis)
    ax.set_ylim(top=ax.get_ylim()[1] * (2.5 if scale == "log scale" else 1.12))
    finish_axes(ax, summary, "latency, ms (lower is better)")
    handles, labels = ax.get_legend_handles_labels()
    handles += [Patch(color="#555555"), Patch(facecolor="#55555555", edgecolor="#555555", linewidth=0.7)]
    labels += ["p50 (solid)", "p99 (outlined)"]
    ax.legend(handles, labels, ncol=4, fontsize=9, loc="upper left", frameon=False)
    titled(fig, ax, summary, "Latency percentiles, one worker per server",
           f"Solid: p50, pale and outlined: p99, each the median over {summary.repeats} repetition(s) of wrk's percentile; "
           f"{scale}. {load_note(summary)}")
    save(fig, out)


def save(fig, out):
    fig.tight_layout(rect=(0, 0.07, 1, 1))  # room for the two-line caption
    # Flat colours compress well: the PNGs stay small enough to commit beside the report.
    fig.savefig(out, dpi=DPI, pil_kwargs={"optimize": True})
    plt.close(fig)


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("source", type=Path, help="results/DATE.json, or a markdown report with a Detail table")
    p.add_argument("--out-dir", type=Path, help="where to write the PNGs (default: beside the source)")
    args = p.parse_args(argv)
    summary = run_data.load(args.source)
    if not summary.cells:
        sys.exit(f"{args.source}: no successful run to plot")
    out_dir = args.out_dir or args.source.parent
    out_dir.mkdir(parents=True, exist_ok=True)
    outputs = [(plot_rps, out_dir / f"{args.source.stem}-rps.png"),
               (plot_latency, out_dir / f"{args.source.stem}-latency.png")]
    for plot, out in outputs:
        plot(summary, out)
        print(out)


if __name__ == "__main__":
    main(sys.argv[1:])
