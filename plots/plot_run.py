#!/usr/bin/python3
"""Draws every figure a run's result files allow; the runner and `nfbench plot` call this.

What is drawn, from what exists in <run-dir>:
  samples.csv, per metric: several values per repetition (rtt)  -> boxplot.py   <metric>_boxplot
                           one value per repetition (score)     -> bars_ci.py   <metric>_bars
  series.csv (per-second valid flow)                            -> timeseries.py  timeseries
  cpu.csv (per-domain CPU over time)                            -> cpu_series.py  cpu_series
Prints the path of every figure written, one per line, on stdout (messages go to stderr). Exit
status: 0 when every figure was drawn, 2 when a result file is malformed or nothing can be drawn,
1 when a figure failed otherwise (the others are still drawn).
Usage: plot_run.py <run-dir>
"""
import os
import sys
import traceback
from collections import OrderedDict

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bars_ci  # noqa: E402
import boxplot  # noqa: E402
import cpu_series  # noqa: E402
import timeseries  # noqa: E402
from nfbplot import results  # noqa: E402
from nfbplot.figures import argument_parser  # noqa: E402
from nfbplot.results import ResultFileError  # noqa: E402


def plan(run_dir):
    """[(label, function, kwargs)] for the figures this run's files allow."""
    figures = []
    samples = os.path.join(run_dir, "samples.csv")
    if os.path.exists(samples):
        rows = results.read_table(samples, ("configuration", "repetition", "metric"))
        per_rep = OrderedDict()  # metric -> most values in one (configuration, repetition)
        counts = {}
        for row in rows:
            key = (row["metric"], row["configuration"], row["repetition"])
            counts[key] = counts.get(key, 0) + 1
            per_rep[row["metric"]] = max(per_rep.get(row["metric"], 0), counts[key])
        for metric, most in per_rep.items():
            if metric == "rtt" or most > 1:
                figures.append((f"boxplot of {metric}", boxplot.plot, {"metric": metric}))
            else:
                figures.append((f"bars of {metric}", bars_ci.plot, {"metric": metric}))
    if os.path.exists(os.path.join(run_dir, "series.csv")):
        figures.append(("time series", timeseries.plot, {}))
    if os.path.exists(os.path.join(run_dir, "cpu.csv")):
        figures.append(("CPU series", cpu_series.plot, {}))
    return figures


def main(argv=None):
    args = argument_parser(__doc__).parse_args(argv)
    if not os.path.isdir(args.run_dir):
        print(f"plot_run: {args.run_dir} is not a directory", file=sys.stderr)
        return 2
    try:
        figures = plan(args.run_dir)
    except ResultFileError as e:
        print(f"plot_run: {e}", file=sys.stderr)
        return 2
    if not figures:
        print(f"plot_run: nothing to draw in {args.run_dir} "
              "(no samples.csv, series.csv or cpu.csv)", file=sys.stderr)
        return 2
    status = 0
    for label, function, kwargs in figures:
        try:
            for path in function(args.run_dir, **kwargs):
                print(path, flush=True)
        except ResultFileError as e:
            print(f"plot_run: {label}: {e}", file=sys.stderr)
            status = status or 2
        except Exception:  # one broken figure must not cost the others
            print(f"plot_run: {label} failed:\n{traceback.format_exc()}", file=sys.stderr)
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
