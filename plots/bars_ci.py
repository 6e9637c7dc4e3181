#!/usr/bin/python3
"""Mean per configuration with 95% confidence intervals, next to the thesis's values (Figure 6.3).

Reads samples.csv (configuration,repetition,metric,value,unit,t) and context.json. For the metric
(--metric, default: the report's), each repetition counts once (its mean, if it has several
values); the bar is the mean over repetitions, the error bar its 95% CI from Student's t with n-1
degrees of freedom (nfbplot/stats.py), n is printed on each bar. The thesis's values
(scenario.report.reference) are drawn as markers beside the bars: on the same axis when the
thesis's unit is the metric's, otherwise on a right-hand axis of their own (e.g. the thesis's
UnixBench index next to sysbench events/s). The thesis's unit is report.reference_unit if the
scenario gives one, "index" (UnixBench) for the metric `score`, else report.unit. With a
baseline (scenario.report.baseline) a second panel compares ratios to it.

Writes <run>/figures/<metric>_bars.{png,svg} and prints the paths.
Usage: bars_ci.py <run-dir> [--metric score]
"""
import math
import os
import sys
from collections import OrderedDict

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nfbplot import figures, results, stats  # noqa: E402
from nfbplot.results import ResultFileError  # noqa: E402

COLUMNS = ("configuration", "repetition", "metric", "value", "unit")


def per_repetition(rows, metric):
    """{configuration: [value per repetition]} in file order, the unit, and whether any
    repetition had several values (then its mean is used)."""
    groups = OrderedDict()
    unit = None
    for row in rows:
        if row["metric"] != metric:
            continue
        unit = unit or row["unit"]
        if row["unit"] != unit:
            raise ResultFileError(f"samples.csv: metric '{metric}' comes in two units, "
                                  f"'{unit}' and '{row['unit']}'")
        groups.setdefault(row["configuration"], OrderedDict()).setdefault(
            row["repetition"], []).append(row["value"])
    averaged = any(len(v) > 1 for reps in groups.values() for v in reps.values())
    values = OrderedDict(
        (name, [math.fsum(v) / len(v) for v in reps.values()]) for name, reps in groups.items())
    return values, unit, averaged


def reference_unit(report, metric, unit):
    """The unit of the thesis's values: report.reference_unit when the scenario gives one; for
    the co-tenant `score`, UnixBench's index (the thesis ran UnixBench, whatever runs here);
    otherwise the report's unit, then the metric's."""
    if report.get("reference_unit"):
        return report["reference_unit"]
    if metric == "score":
        return "index"
    return report.get("unit") or unit


def summaries(values):
    return OrderedDict((name, stats.mean_ci(v)) for name, v in values.items())


def plot(run_dir, metric=None):
    """Draws the figure; returns the paths written. Raises ResultFileError for bad input."""
    context = results.read_context(run_dir)
    report = results.report_settings(context)
    metric = metric or report.get("metric") or "score"
    rows = results.read_table(os.path.join(run_dir, "samples.csv"), COLUMNS, numeric=("value",),
                              integer=("repetition",))
    values, unit, averaged = per_repetition(rows, metric)
    if not values:
        raise ResultFileError(f"samples.csv in {run_dir} has no values of metric '{metric}'")
    ci = summaries(values)
    names = list(ci)
    color_of = results.colors(names)
    refs = results.references(context) if report.get("metric", metric) == metric else {}
    refs = OrderedDict((n, refs[n]) for n in names if n in refs)
    ref_unit = reference_unit(report, metric, unit)
    baseline = report.get("baseline", "")
    has_ratio = baseline in ci and ci[baseline].mean != 0 and not math.isnan(ci[baseline].mean)

    fig, axes = plt.subplots(1, 2 if has_ratio else 1, figsize=(12.5 if has_ratio else 7.5, 5),
                             squeeze=False,
                             gridspec_kw={"width_ratios": [3, 2]} if has_ratio else None)
    ax = axes[0][0]
    x = list(range(len(names)))
    means = [ci[n].mean for n in names]
    low_err = [ci[n].half_width if ci[n].n > 1 else 0 for n in names]
    ax.bar(x, means, width=0.6, color=[color_of[n] for n in names], alpha=0.85,
           yerr=[low_err, low_err], capsize=5, error_kw={"linewidth": 1.2},
           label="this run: mean, 95% CI")
    for i, n in enumerate(names):
        c = ci[n]
        top = c.high if c.n > 1 else c.mean
        ax.annotate(f"{c.mean:.4g}\nn={c.n}", (i, top), textcoords="offset points", xytext=(0, 3),
                    ha="center", va="bottom", fontsize=7)
    ax.set_xticks(x)
    ax.set_xticklabels(names, fontsize=8, rotation=15)
    ax.set_ylabel(f"{metric} ({unit})" if unit else metric)
    tops = [c.high if c.n > 1 else c.mean for c in ci.values()]
    top = max([t for t in tops if math.isfinite(t)] + [0.0])
    ax.set_ylim(0, top * 1.2 if top > 0 else 1)
    ax.set_title(results.title(context, f"mean {metric}"), fontsize=10)

    if refs:
        xs = [i + 0.38 for i, n in enumerate(names) if n in refs]
        ys = [refs[n] for n in names if n in refs]
        if ref_unit == unit:
            ax.plot(xs, ys, "D", color="black", markersize=6, label="thesis (approx.)")
            ax.set_ylim(0, max(top, max(ys)) * 1.2)
        else:
            ax2 = ax.twinx()
            ax2.plot(xs, ys, "D", color="black", markersize=6, label="thesis (approx.)")
            ax2.set_ylim(0, max(ys) * 1.2 if max(ys) > 0 else 1)
            ax2.set_ylabel(f"thesis value ({ref_unit or 'its own unit'}), markers")
            ax2.legend(fontsize=8, loc="upper right")
    ax.legend(fontsize=8, loc="upper left")

    if has_ratio:
        draw_ratios(axes[0][1], names, ci, refs, baseline, color_of)

    ns = sorted({c.n for c in ci.values()})
    n_text = str(ns[0]) if len(ns) == 1 else f"{ns[0]}-{ns[-1]}"
    text = (f"bars: mean of n = {n_text} repetitions; error bars: 95% CI of the mean "
            "(Student's t, n-1 df)")
    if averaged:
        text += "; a repetition with several values counts once, by its mean"
    if any(c.n < 2 for c in ci.values()):
        text += "; no error bar where n < 2"
    return figures.finish(fig, context, run_dir, f"{results.safe_stem(metric)}_bars", text)


def draw_ratios(ax, names, ci, refs, baseline, color_of):
    """Our mean / the baseline's mean (error bars: the CI bounds divided by the baseline's mean,
    its own uncertainty not propagated) against the thesis's ratio."""
    base = ci[baseline].mean
    x = list(range(len(names)))
    ratios = [ci[n].mean / base for n in names]
    err = [ci[n].half_width / base if ci[n].n > 1 else 0 for n in names]
    ax.bar(x, ratios, width=0.6, color=[color_of[n] for n in names], alpha=0.85, yerr=err,
           capsize=4, label="this run")
    if baseline in refs and refs[baseline]:
        xs = [i + 0.38 for i, n in enumerate(names) if n in refs]
        ys = [refs[n] / refs[baseline] for n in names if n in refs]
        ax.plot(xs, ys, "D", color="black", markersize=6, label="thesis (approx.)")
    ax.axhline(1.0, color="grey", linewidth=0.8)
    ax.set_xticks(x)
    ax.set_xticklabels(names, fontsize=8, rotation=15)
    ax.set_ylabel(f"mean / mean of '{baseline}'")
    ax.set_title("relative to the baseline (error bars: CI / baseline mean)", fontsize=9)
    highest = [r + e for r, e in zip(ratios, err) if math.isfinite(r + e)]
    if baseline in refs and refs[baseline]:
        highest += [refs[n] / refs[baseline] for n in names if n in refs]
    ax.set_ylim(0, max(highest + [1.0]) * 1.3)
    ax.legend(fontsize=8, loc="upper center", ncol=2)


def main(argv=None):
    return figures.command_line("bars_ci", __doc__, argv, figures.metric_option,
                                lambda args: plot(args.run_dir, args.metric))


if __name__ == "__main__":
    sys.exit(main())
