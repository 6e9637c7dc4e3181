"""What every figure script does around its own drawing: the command line, the repetition drawn
per configuration, and at the end the footnote, the layout and the files written.

A script's main() is one call to command_line(); its plot() ends with finish(). Import this after
matplotlib.use("Agg"), as the scripts do.
"""
import argparse
import sys
from collections import OrderedDict

import matplotlib.pyplot as plt

from . import results
from .results import ResultFileError


def argument_parser(doc, raw_description=True):
    """A parser whose help is the script's docstring (its line breaks kept unless
    raw_description is False) and whose one positional argument is the run directory."""
    formatter = argparse.RawDescriptionHelpFormatter if raw_description else argparse.HelpFormatter
    parser = argparse.ArgumentParser(description=doc, formatter_class=formatter)
    parser.add_argument("run_dir")
    return parser


def metric_option(parser):
    """--metric, for the scripts that draw one metric of samples.csv."""
    parser.add_argument("--metric", default=None, help="metric to plot (default: the report's)")


def repetition_option(parser):
    """--repetition N, for the scripts that draw one repetition per configuration."""
    parser.add_argument("--repetition", type=int, default=None,
                        help="repetition to draw (default: each configuration's first)")


def command_line(prog, doc, argv, add_options, draw, raw_description=True):
    """A figure script's main(): parses `argv` (the run directory, then what
    add_options(parser) adds), calls draw(args) and prints the paths it returns, one a line.
    Returns the exit status: 0, or 2 after the one-line message '<prog>: <error>' on stderr when
    a result file is bad (ResultFileError)."""
    parser = argument_parser(doc, raw_description)
    add_options(parser)
    args = parser.parse_args(argv)
    try:
        paths = draw(args)
    except ResultFileError as e:
        print(f"{prog}: {e}", file=sys.stderr)
        return 2
    for p in paths:
        print(p)
    return 0


def choose_repetitions(rows, repetition, prog, file_name=None):
    """({configuration: repetition drawn}, {configuration: set of its repetitions}), both in
    file order. Each configuration's first repetition is drawn, or `repetition` when given: a
    configuration without it is left out, saying so on stderr as `prog`; when none has it,
    raises ResultFileError (naming `file_name` if given)."""
    available = OrderedDict()
    for row in rows:
        available.setdefault(row["configuration"], set()).add(row["repetition"])
    chosen = OrderedDict()
    for name, reps in available.items():
        if repetition is None:
            chosen[name] = min(reps)
        elif repetition in reps:
            chosen[name] = repetition
        else:
            print(f"{prog}: '{name}' has no repetition {repetition}, left out", file=sys.stderr)
    if not chosen:
        where = f" in {file_name}" if file_name else ""
        raise ResultFileError(f"no configuration has repetition {repetition}{where}")
    return chosen, available


def chosen_rows(rows, chosen):
    """The rows of the repetition drawn for their configuration (choose_repetitions' first
    result), in file order."""
    return [row for row in rows if chosen.get(row["configuration"]) == row["repetition"]]


def repetition_stem(stem, repetition):
    """The file name of a figure of one repetition: `stem` for each configuration's first,
    <stem>_rep<N> for --repetition N."""
    return stem if repetition is None else f"{stem}_rep{repetition}"


def finish(fig, context, run_dir, stem, footnote, top=1):
    """Ends a figure: the footnote (`footnote`, then platform, scenario and run id), the layout
    above it and up to `top` of the height (less where a legend is placed by hand), then
    <run>/figures/<stem>.png and .svg. Closes the figure and returns the two paths."""
    bottom = results.add_footnote(fig, context, footnote)
    fig.tight_layout(rect=(0, bottom, 1, top))
    paths = results.save_figure(fig, run_dir, stem)
    plt.close(fig)
    return paths
