#!/usr/bin/python3
"""The valid flow over time under a flood, one line per configuration (thesis Figure 6.2 a/b).

Reads series.csv (configuration,repetition,t_s,series,value,unit: one value per second of the
iperf3 flow, t_s in seconds since the flow started) and context.json, whose steps[i].attack
{started_s, ended_s} (same clock as t_s) is shaded. One panel per series: throughput (a) and loss
(b) first, then any other series. One repetition per configuration: the first, or --repetition N.
The thesis's values (scenario.report.reference) are noted on the throughput panel, and drawn
over the attack window when they are in the panel's unit.

Writes <run>/figures/timeseries.{png,svg} (timeseries_rep<N> with --repetition) and prints the
paths. Usage: timeseries.py <run-dir> [--repetition N] [--series NAME ...]
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

COLUMNS = ("configuration", "repetition", "t_s", "series", "value", "unit")
FIRST_SERIES = ("throughput", "loss")
PANEL_LETTERS = "abcdefghij"


def shade_attack(ax, windows, chosen, color_of, t_end):
    """Shades each drawn configuration's attack window lightly (the overlap of all of them comes
    out darkest) and marks it with a strip in the configuration's colour along the panel's top.
    Returns whether any window was drawn."""
    strip = ax.get_xaxis_transform()  # x in data, y in axes coordinates
    drawn = False
    for i, (name, rep) in enumerate(chosen.items()):
        window = windows.get((name, rep))
        if window is None:
            continue
        start, end = window
        end = t_end.get(name, start) if end is None else end
        ax.axvspan(start, end, color="0.5", alpha=0.06, linewidth=0)
        top = 1.0 - i * 0.018
        ax.fill_between([start, end], top - 0.015, top, transform=strip, color=color_of[name],
                        linewidth=0, alpha=0.9)
        drawn = True
    return drawn


def plot(run_dir, repetition=None, series=None):
    """Draws the figure; returns the paths written. Raises ResultFileError for bad input."""
    context = results.read_context(run_dir)
    rows = results.read_table(os.path.join(run_dir, "series.csv"), COLUMNS,
                              numeric=("t_s",), nullable=("value",), integer=("repetition",))
    if series:
        rows = [r for r in rows if r["series"] in series]
    if not rows:
        raise ResultFileError(f"{run_dir}/series.csv has no rows"
                              + (f" for series {', '.join(series)}" if series else ""))
    chosen, available = figures.choose_repetitions(rows, repetition, "timeseries")
    names = list(chosen)
    color_of = results.colors(results.configuration_order(rows))

    # series -> configuration -> [(t, value)], only the chosen repetition
    data = OrderedDict()
    units = {}
    for row in figures.chosen_rows(rows, chosen):
        data.setdefault(row["series"], OrderedDict()).setdefault(row["configuration"], []).append(
            (row["t_s"], row["value"]))
        units.setdefault(row["series"], row["unit"])
    order = [s for s in FIRST_SERIES if s in data] + [s for s in data if s not in FIRST_SERIES]
    windows = results.step_windows(context, "attack")
    refs = results.references(context)
    report = results.report_settings(context)

    fig, axes = plt.subplots(len(order), 1, figsize=(10, 3.2 * len(order) + 0.6), sharex=True,
                             squeeze=False)
    t_end = {}
    for points in data.values():
        for name, pts in points.items():
            t_end[name] = max(t_end.get(name, -math.inf), max(t for t, _ in pts))
    any_shade = False
    for i, s in enumerate(order):
        ax = axes[i][0]
        for name in names:
            pts = sorted(data[s].get(name, []))
            if not pts:
                continue
            ax.plot([t for t, _ in pts], [v for _, v in pts], color=color_of[name], linewidth=1.2,
                    label=f"{name} (rep {chosen[name]})")
        any_shade = shade_attack(ax, windows, chosen, color_of, t_end) or any_shade
        ax.set_ylabel(f"{s} ({units[s]})" if units[s] else s)
        letter = PANEL_LETTERS[i % len(PANEL_LETTERS)]
        ax.set_title(f"({letter}) {s} of the valid flow", fontsize=10, loc="left")
        ax.set_ylim(bottom=0, top=ax.get_ylim()[1] * 1.08)  # room for the attack strips
        ax.grid(True, linewidth=0.3, alpha=0.5)
        if s == "throughput" and refs:
            note_references(ax, refs, report, units[s], names, windows, chosen, color_of, t_end)
    axes[-1][0].set_xlabel("time since the flow started (s)")
    fig.suptitle(results.title(context, "valid flow under attack"), fontsize=11)
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, 0.955),
               ncol=min(len(labels), 5), fontsize=7, frameon=False)

    counts = ", ".join(f"{name} {len(data[order[0]].get(name, []))}" for name in names)
    reps = max(len(r) for r in available.values())
    text = (f"lines: one value per interval of one repetition (n = points per line: {counts}); "
            f"no dispersion shown, {reps} repetition{'s' if reps != 1 else ''} recorded")
    if any_shade:
        text += ("; shaded, and a strip in each configuration's colour at the top: attack running "
                 "(context.json steps[].attack)")
    return figures.finish(fig, context, run_dir, figures.repetition_stem("timeseries", repetition),
                          text, top=0.93)


def note_references(ax, refs, report, unit, names, windows, chosen, color_of, t_end):
    """The thesis's values: listed in a box; drawn as dashed segments over the attack window when
    the report's unit is the panel's."""
    ref_unit = report.get("reference_unit") or report.get("unit", "")
    same_unit = ref_unit == unit
    lines = []
    for name in names:
        if name not in refs:
            continue
        lines.append(f"{name}: {refs[name]:g}")
        window = windows.get((name, chosen[name]))
        if same_unit and window is not None:
            start, end = window
            end = t_end.get(name, start) if end is None else end
            ax.hlines(refs[name], start, end, colors=color_of[name], linestyles="--", linewidth=1.0,
                      alpha=0.9)
    if not lines:
        return
    what = report.get("metric", "")
    head = f"thesis ({what}, {ref_unit})" if what else f"thesis ({ref_unit})"
    if same_unit:
        head += ", dashed"
    ax.text(0.005, 0.02, head + "\n" + "\n".join(lines), transform=ax.transAxes, fontsize=7,
            va="bottom", ha="left", bbox={"boxstyle": "round", "facecolor": "white", "alpha": 0.8,
                                       "linewidth": 0.5})


def add_options(parser):
    figures.repetition_option(parser)
    parser.add_argument("--series", nargs="+", default=None, help="series to draw (default: all)")


def main(argv=None):
    return figures.command_line("timeseries", __doc__, argv, add_options,
                                lambda args: plot(args.run_dir, args.repetition, args.series))


if __name__ == "__main__":
    sys.exit(main())
