"""Reading a run directory's result files, with errors that name the file, line and column.

A malformed file raises ResultFileError; the scripts print its message and exit with status 2
(bad input, as nfbench does) instead of a traceback.
"""
import csv
import json
import math
import os
import textwrap
from collections import OrderedDict


class ResultFileError(Exception):
    """A result file is missing, unreadable or lacks what a figure needs."""


def read_table(path, required, numeric=(), nullable=(), integer=()):
    """Rows of a CSV file with a header line, as dicts.

    `required` columns must be in the header (others are kept as they are). Columns in `numeric`
    become floats; so do those in `nullable`, where an empty field is NaN (not measured).
    Columns in `integer` become ints. Raises ResultFileError naming the file, and the line and
    column of a bad value.
    """
    name = os.path.basename(path)
    try:
        f = open(path, newline="")
    except OSError as e:
        raise ResultFileError(f"cannot read {path}: {e.strerror}") from None
    rows = []
    with f:
        reader = csv.DictReader(f)
        header = reader.fieldnames or []
        missing = [c for c in required if c not in header]
        if missing:
            have = ", ".join(header) if header else "no header line"
            raise ResultFileError(
                f"{path}: missing column{'s' if len(missing) > 1 else ''} "
                f"{', '.join(repr(c) for c in missing)} (has: {have})")
        for row in reader:
            line = reader.line_num
            if None in row:  # more fields than header columns
                raise ResultFileError(f"{name} line {line}: more fields than the header has")
            for column in tuple(numeric) + tuple(nullable):
                if column not in row:
                    continue
                text = (row[column] or "").strip()
                if text == "" and column in nullable:
                    row[column] = float("nan")
                    continue
                try:
                    row[column] = float(text)
                except ValueError:
                    raise ResultFileError(f"{name} line {line}: column '{column}': "
                                          f"{text!r} is not a number") from None
            for column in integer:
                if column not in row:
                    continue
                text = (row[column] or "").strip()
                try:
                    row[column] = int(text)
                except ValueError:
                    raise ResultFileError(f"{name} line {line}: column '{column}': "
                                          f"{text!r} is not an integer") from None
            rows.append(row)
    return rows


def read_context(run_dir):
    """context.json as a dict; {} when the run has none (figures then say 'platform ?')."""
    path = os.path.join(run_dir, "context.json")
    if not os.path.exists(path):
        return {}
    try:
        with open(path) as f:
            context = json.load(f)
    except (OSError, ValueError) as e:
        raise ResultFileError(f"{path}: {e}") from None
    if not isinstance(context, dict):
        raise ResultFileError(f"{path}: not a JSON object")
    return context


def platform_name(context):
    platform = context.get("platform")
    if isinstance(platform, dict):
        return str(platform.get("name", "?"))
    return "?"


def report_settings(context):
    scenario = context.get("scenario")
    report = scenario.get("report") if isinstance(scenario, dict) else None
    return report if isinstance(report, dict) else {}


def references(context):
    """The thesis's values by configuration (scenario.report.reference), numbers only."""
    ref = report_settings(context).get("reference")
    out = OrderedDict()
    if isinstance(ref, dict):
        for k, v in ref.items():
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                out[str(k)] = float(v)
    elif isinstance(ref, list):  # [[name, value], ...] or [{name: value}, ...]
        for item in ref:
            if isinstance(item, (list, tuple)) and len(item) == 2:
                out[str(item[0])] = float(item[1])
            elif isinstance(item, dict):
                out.update({str(k): float(v) for k, v in item.items()})
    return out


def _number(value):
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def step_windows(context, key):
    """{(configuration, repetition): (started_s, ended_s or None)} from context["steps"][i][key]
    (key "attack": when the flood ran, on the same clock as the step's t_s). Steps without the
    key, or without a numeric started_s, are left out."""
    windows = {}
    steps = context.get("steps")
    if not isinstance(steps, list):
        return windows
    for step in steps:
        if not isinstance(step, dict) or not isinstance(step.get(key), dict):
            continue
        start = _number(step[key].get("started_s"))
        if start is None:
            continue
        try:
            repetition = int(step.get("repetition", 1))
        except (TypeError, ValueError):
            continue
        windows[(str(step.get("configuration", "")), repetition)] = (
            start, _number(step[key].get("ended_s")))
    return windows


def configuration_order(rows):
    """Configurations in the order they first appear in `rows` (the runner writes them in
    scenario order)."""
    order = OrderedDict()
    for row in rows:
        order.setdefault(row["configuration"], None)
    return list(order)


def colors(names):
    """One matplotlib cycle colour per configuration, the same in every figure of a run."""
    return {name: f"C{i % 10}" for i, name in enumerate(names)}


def add_footnote(fig, context, text):
    """A footnote at the figure's bottom: `text` (n and the dispersion shown) and the platform,
    scenario and run id, so a figure copied elsewhere still says what it shows. Returns the
    fraction of the figure's height it takes: pass it to tight_layout(rect=(0, that, 1, 1))."""
    scenario = context.get("scenario") if isinstance(context.get("scenario"), dict) else {}
    parts = [text, f"platform: {platform_name(context)}"]
    if scenario.get("name"):
        parts.append(f"scenario: {scenario['name']}")
    if scenario.get("profile"):
        parts.append(f"profile: {scenario['profile']}")
    if context.get("run_id"):
        parts.append(f"run {context['run_id']}")
    if context.get("status") not in (None, "completed"):
        parts.append(f"status: {context['status']}")
    width_in, height_in = fig.get_size_inches()
    font_pt = 7
    # DejaVu Sans averages ~0.55 em per character
    chars = max(40, int(width_in * 72 / (font_pt * 0.55)) - 4)
    lines = textwrap.wrap("; ".join(parts), chars)
    fig.text(0.01, 0.005, "\n".join(lines), fontsize=font_pt, ha="left", va="bottom")
    return (len(lines) * font_pt * 1.25 + 6) / (height_in * 72)


def title(context, what):
    """'<what>, <scenario> on <platform>'."""
    scenario = context.get("scenario") if isinstance(context.get("scenario"), dict) else {}
    name = scenario.get("name")
    return f"{what}, {name} on {platform_name(context)}" if name else \
        f"{what} on {platform_name(context)}"


def save_figure(fig, run_dir, stem):
    """Writes <run>/figures/<stem>.png and .svg and returns their paths."""
    out_dir = os.path.join(run_dir, "figures")
    os.makedirs(out_dir, exist_ok=True)
    paths = []
    for ext in ("png", "svg"):
        path = os.path.join(out_dir, f"{stem}.{ext}")
        fig.savefig(path, dpi=150)
        paths.append(path)
    return paths


def safe_stem(text):
    """A file-name-safe version of a metric or series name."""
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in text) or "metric"
