#!/usr/bin/python3
"""Boxplot of one metric per configuration, next to the thesis's values (Figure 6.1 style).

Reads only a finished run's result files (samples.csv, comparison.csv, context.json) and writes
<run>/figures/<metric>_boxplot.png and .svg. Usage: boxplot.py <run-dir> [--metric rtt]
"""
import os
import sys
from collections import OrderedDict

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nfbplot import figures, results  # noqa: E402
from nfbplot.results import ResultFileError  # noqa: E402

UNIT_IN_NS = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}


def read_samples(path, metric):
    """Values per configuration (in file order) and their unit."""
    groups = OrderedDict()
    unit = None
    for row in results.read_table(path, ("configuration", "metric", "value", "unit"),
                                  numeric=("value",)):
        if row["metric"] != metric:
            continue
        unit = row["unit"]
        groups.setdefault(row["configuration"], []).append(row["value"])
    return groups, unit


def read_comparison(path):
    rows = OrderedDict()
    if not os.path.exists(path):
        return rows
    for row in results.read_table(path, ("configuration",)):
        rows[row["configuration"]] = row
    return rows


def timestamp_note(context):
    """One line on how the samples were timed, from context.json."""
    ts = context.get("timestamps", {})
    source = ts.get("types_used", ["?"])
    res = ts.get("resolution_ns")
    res_text = f"{res:g} ns" if isinstance(res, (int, float)) else "unknown"
    return f"timestamps: {', '.join(source)}, resolution {res_text}"


def plot(run_dir, metric=None):
    """Draws the figure; returns the paths written. Raises ResultFileError for bad input."""
    context = results.read_context(run_dir)
    report = results.report_settings(context)
    metric = metric or report.get("metric", "rtt")
    display_unit = report.get("unit", "ms")
    baseline = report.get("baseline", "")

    groups, unit = read_samples(os.path.join(run_dir, "samples.csv"), metric)
    if not groups:
        raise ResultFileError(f"no samples of metric '{metric}' in {run_dir}")
    if unit in UNIT_IN_NS and display_unit in UNIT_IN_NS:
        factor = UNIT_IN_NS[unit] / UNIT_IN_NS[display_unit]
    else:  # not a time: drawn in its own unit
        factor, display_unit = 1.0, unit
    # comparison.csv is about the report's metric only.
    comparison = read_comparison(os.path.join(run_dir, "comparison.csv")) \
        if metric == report.get("metric", "rtt") else OrderedDict()

    names = list(groups)
    data = [[v * factor for v in groups[n]] for n in names]
    has_reference = any(comparison.get(n, {}).get("thesis_value") for n in names)

    fig, axes = plt.subplots(1, 2 if has_reference else 1, figsize=(12 if has_reference else 7, 4.8),
                             squeeze=False, gridspec_kw={"width_ratios": [3, 2]} if has_reference else None)
    ax = axes[0][0]
    ax.boxplot(data, whis=1.5, showfliers=True, flierprops={"markersize": 2, "alpha": 0.3})
    ax.set_xticks(range(1, len(names) + 1))
    ax.set_xticklabels([f"{n}\nn={len(d)}" for n, d in zip(names, data)], fontsize=8)
    ax.set_ylabel(f"{metric} ({display_unit})")
    ax.set_title(results.title(context, metric), fontsize=10)
    for i, d in enumerate(data, start=1):
        d_sorted = sorted(d)
        median = d_sorted[len(d_sorted) // 2] if len(d_sorted) % 2 else \
            0.5 * (d_sorted[len(d_sorted) // 2 - 1] + d_sorted[len(d_sorted) // 2])
        ax.annotate(f"{median:.4g}", (i, median), textcoords="offset points", xytext=(18, 0),
                    fontsize=7, va="center")
    # Outliers from scheduling hiccups can be 100x the median; keep the boxes readable and say so.
    all_values = sorted(v for d in data for v in d)
    top = all_values[min(len(all_values) - 1, int(0.995 * len(all_values)))]
    ax.set_ylim(bottom=0, top=top * 1.15)
    ax.text(0.01, 0.99, f"{timestamp_note(context)}; y clipped at p99.5 of all samples",
            transform=ax.transAxes, fontsize=7, va="top")

    if has_reference:
        ax2 = axes[0][1]
        ours = [float(comparison[n]["ratio_to_baseline"]) if comparison.get(n, {}).get("ratio_to_baseline") else 0
                for n in names]
        thesis = [float(comparison[n]["thesis_ratio_to_baseline"])
                  if comparison.get(n, {}).get("thesis_ratio_to_baseline") else 0 for n in names]
        x = range(len(names))
        ax2.bar([i - 0.2 for i in x], ours, width=0.4, label="this run (median)")
        ax2.bar([i + 0.2 for i in x], thesis, width=0.4, label="thesis Fig. 6.1 (approx.)")
        ax2.axhline(1.0, color="grey", linewidth=0.8)
        ax2.set_xticks(list(x))
        ax2.set_xticklabels(names, fontsize=8, rotation=20)
        ax2.set_ylabel(f"median / median of '{baseline}'")
        ax2.set_title("relative to the baseline", fontsize=10)
        ax2.legend(fontsize=8)

    ns = sorted({len(d) for d in data})
    n_text = str(ns[0]) if len(ns) == 1 else f"{ns[0]}-{ns[-1]}"
    text = (f"n = {n_text} samples per configuration (all repetitions pooled); box: "
            "quartiles and median, whiskers: 1.5 IQR, points: beyond")
    return figures.finish(fig, context, run_dir, f"{results.safe_stem(metric)}_boxplot", text)


def main(argv=None):
    return figures.command_line("boxplot", __doc__, argv, figures.metric_option,
                                lambda args: plot(args.run_dir, args.metric),
                                raw_description=False)


if __name__ == "__main__":
    sys.exit(main())
