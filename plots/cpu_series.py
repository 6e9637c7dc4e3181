#!/usr/bin/python3
"""CPU use of every domain over time, one panel per configuration (thesis Figures 6.4-6.6).

Reads cpu.csv (configuration,repetition,t_s,domain,cpu_percent[,process_percent,kernel_percent,
kind,...]; percentages of one CPU, 100 = one CPU busy, as xentop's CPU(%)) and context.json, whose
steps[i].attack {started_s, ended_s} (same clock as t_s) is shaded. Each panel draws dom0 and each
guest in their own colour; hosts outside the emulated Xen host (kind "external", or a domain
called "external") dashed grey; time nobody could be given (kind/domain "unattributed") dotted
grey; "total" rows are not drawn. Empty values (not measured) leave gaps. With --split, the
kernel part (kernel_percent: irq + softirq time) of each domain is drawn dotted as well.

Writes <run>/figures/cpu_series.{png,svg} (cpu_series_rep<N> with --repetition) and prints the
paths. Usage: cpu_series.py <run-dir> [--repetition N] [--split]
"""
import math
import os
import sys
from collections import OrderedDict

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nfbplot import figures, results  # noqa: E402
from nfbplot.results import ResultFileError  # noqa: E402

COLUMNS = ("configuration", "repetition", "t_s", "domain", "cpu_percent")
PERCENTS = ("cpu_percent", "process_percent", "kernel_percent")


def row_role(row):
    """'domain', 'external', 'unattributed' or 'total'."""
    kind = (row.get("kind") or "").strip()
    if kind in ("external", "unattributed", "total"):
        return kind
    if row["domain"] in ("external", "unattributed", "total"):
        return row["domain"]
    return "domain"


def domain_style(role, color):
    if role == "external":
        return {"color": "0.45", "linestyle": "--", "linewidth": 1.0}
    if role == "unattributed":
        return {"color": "0.6", "linestyle": ":", "linewidth": 1.0}
    return {"color": color, "linestyle": "-", "linewidth": 1.3}


def plot(run_dir, repetition=None, split=False):
    """Draws the figure; returns the paths written. Raises ResultFileError for bad input."""
    context = results.read_context(run_dir)
    rows = results.read_table(os.path.join(run_dir, "cpu.csv"), COLUMNS, numeric=("t_s",),
                              nullable=PERCENTS, integer=("repetition",))
    rows = [r for r in rows if row_role(r) != "total"]
    if not rows:
        raise ResultFileError(f"{run_dir}/cpu.csv has no domain rows")
    chosen, available = figures.choose_repetitions(rows, repetition, "cpu_series", "cpu.csv")

    # Domains in order of appearance with one colour each, the same in every panel.
    roles = OrderedDict()
    for row in rows:
        roles.setdefault(row["domain"], row_role(row))
    domain_names = [d for d, role in roles.items() if role == "domain"]
    color_of = {d: f"C{i % 10}" for i, d in enumerate(domain_names)}

    data = OrderedDict((name, OrderedDict()) for name in chosen)
    for row in figures.chosen_rows(rows, chosen):
        data[row["configuration"]].setdefault(row["domain"], []).append(row)
    windows = results.step_windows(context, "attack")

    n = len(chosen)
    ncols = 1 if n == 1 else 2 if n <= 4 else 3
    nrows = math.ceil(n / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(5.2 * ncols, 3.0 * nrows + 0.8), sharex=True,
                             sharey=True, squeeze=False)
    samples = []
    has_kernel = False
    top = 0.0
    for i, (name, domains) in enumerate(data.items()):
        ax = axes[i // ncols][i % ncols]
        t_max = -math.inf
        for domain, drows in domains.items():
            drows.sort(key=lambda r: r["t_s"])
            t = [r["t_s"] for r in drows]
            y = [r["cpu_percent"] for r in drows]
            t_max = max(t_max, t[-1])
            top = max([top] + [v for v in y if not math.isnan(v)])
            style = domain_style(roles[domain], color_of.get(domain, "0.5"))
            # Short steps (a ping step samples one or two intervals) would be invisible as
            # lines alone.
            if len(drows) <= 10:
                style = dict(style, marker="o", markersize=3)
            ax.plot(t, y, label=domain, **style)
            samples.append(len(drows))
            if split and roles[domain] == "domain":
                k = [r.get("kernel_percent", float("nan")) for r in drows]
                if any(not math.isnan(v) for v in k):
                    has_kernel = True
                    ax.plot(t, k, color=style["color"], linestyle=":", linewidth=1.0,
                            label=f"{domain} kernel")
        window = windows.get((name, chosen[name]))
        if window is not None:
            start, end = window
            ax.axvspan(start, t_max if end is None else end, color="tab:red", alpha=0.08,
                       linewidth=0)
        ax.set_title(f"{name} (rep {chosen[name]})", fontsize=9)
        ax.grid(True, linewidth=0.3, alpha=0.5)
        ax.legend(fontsize=6, loc="upper right")
    for j in range(n, nrows * ncols):
        axes[j // ncols][j % ncols].set_visible(False)
    for ax_row in axes:
        ax_row[0].set_ylabel("CPU % (100 = one CPU)")
    for i in range(n):
        r, c = divmod(i, ncols)
        if r == nrows - 1 or (r + 1) * ncols + c >= n:  # nothing drawn below this panel
            axes[r][c].set_xlabel("time (s)")
            axes[r][c].xaxis.set_tick_params(labelbottom=True)
    axes[0][0].set_ylim(bottom=0, top=max(top * 1.1, 10))
    fig.suptitle(results.title(context, "CPU per domain"), fontsize=11)

    reps = max(len(r) for r in available.values())
    n_text = f"{min(samples)}" if min(samples) == max(samples) else f"{min(samples)}-{max(samples)}"
    text = (f"lines: CPU% per sampling interval of one repetition, n = {n_text} intervals per "
            "line; "
            f"no dispersion shown, {reps} repetition{'s' if reps != 1 else ''} recorded; "
            "dashed grey: hosts outside the Xen host; dotted grey: time not attributed")
    if has_kernel:
        text += "; dotted colour: kernel part (irq + softirq)"
    if windows:
        text += "; shaded: attack running"
    return figures.finish(fig, context, run_dir, figures.repetition_stem("cpu_series", repetition),
                          text)


def add_options(parser):
    figures.repetition_option(parser)
    parser.add_argument("--split", action="store_true", help="also draw each domain's kernel part")


def main(argv=None):
    return figures.command_line("cpu_series", __doc__, argv, add_options,
                                lambda args: plot(args.run_dir, args.repetition, args.split))


if __name__ == "__main__":
    sys.exit(main())
