#!/usr/bin/python3
"""Tests of plots/: the statistics against hand-computed values, every figure on synthetic run
directories, plot_run.py's choice of figures, and clear messages for malformed result files.

Run: /usr/bin/python3 tests/plots/test_plots.py (CTest: plots.test_plots, label unit).
Set NFB_KEEP_PLOTS=1 to keep the synthetic run directories for a look at the figures.
"""
import contextlib
import csv
import io
import json
import math
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

PLOTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "plots")
PLOTS = os.path.normpath(PLOTS)
sys.path.insert(0, PLOTS)

import matplotlib  # noqa: E402

matplotlib.use("Agg")
# Text as text in the SVGs, so the tests can read the footnotes.
matplotlib.rcParams["svg.fonttype"] = "none"

import bars_ci  # noqa: E402
import boxplot  # noqa: E402
import cpu_series  # noqa: E402
import plot_run  # noqa: E402
import timeseries  # noqa: E402
from nfbplot import figures, results, stats  # noqa: E402

FLOOD = ["Unfiltered, no receiver", "Unfiltered", "iptables", "BPF in guest", "XenBPF"]
COTENANT = ["No Traffic", "Traffic", "Traffic recv", "iptables", "Guest BPF", "XenBPF"]


def write_csv(path, header, rows):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)


def context(name, report=None, steps=None, platform="netns"):
    return {"schema_version": 1, "run_id": "0123456789abcdef", "status": "completed",
            "scenario": {"name": name, "profile": "quick", "report": report or {}},
            "platform": {"name": platform}, "steps": steps or []}


def make_flood_run(root, repetitions=2, duration=60, attack=(15, 40)):
    """series.csv and cpu.csv of a synthetic flood run: throughput falls during the attack by
    how much each configuration lets through."""
    rng = random.Random(1)
    run = os.path.join(root, "flood")
    os.makedirs(run)
    during = dict(zip(FLOOD, [100, 250, 270, 300, 550]))
    series, cpu, steps = [], [], []
    for rep in range(1, repetitions + 1):
        for name in FLOOD:
            start, end = attack[0] + rep, attack[1] + rep + (0 if name == "XenBPF" else 10)
            steps.append({"configuration": name, "repetition": rep,
                          "attack": {"started_s": start, "ended_s": end}})
            for t in range(1, duration + 1):
                under = start <= t <= end
                mbit = (during[name] if under else 950) + rng.gauss(0, 15)
                loss = (60 - during[name] / 10 if under else 0.1) + abs(rng.gauss(0, 2))
                series.append([name, rep, t, "throughput", f"{mbit:.3f}", "Mbit/s"])
                series.append([name, rep, t, "loss", f"{loss:.3f}", "%"])
                dom0 = 85 if (under and name == "XenBPF") else 20 if under else 3
                domu = 0 if name == "XenBPF" else 90 if under else 15
                for domain, kind, value, kernel in (("dom0", "domain", dom0, dom0 * 0.9),
                                                    ("domu1", "domain", domu, domu * 0.8),
                                                    ("attacker", "external",
                                                     70 if under else 0, ""),
                                                    ("unattributed", "unattributed", 2, "")):
                    cpu.append([name, rep, t, domain, kind, f"{value + rng.random():.4f}", "",
                                kernel if kernel == "" else f"{kernel:.4f}"])
    write_csv(os.path.join(run, "series.csv"),
              ["configuration", "repetition", "t_s", "series", "value", "unit"], series)
    write_csv(os.path.join(run, "cpu.csv"),
              ["configuration", "repetition", "t_s", "domain", "kind", "cpu_percent",
               "process_percent", "kernel_percent"], cpu)
    report = {"metric": "throughput_attack", "unit": "Mbit/s", "baseline": FLOOD[0],
              "reference": dict(zip(FLOOD, [100, 275, 270, 300, 550]))}
    with open(os.path.join(run, "context.json"), "w") as f:
        json.dump(context("udp-flood", report, steps), f)
    return run


def make_cotenant_run(root, scores=None):
    """samples.csv with one `score` per repetition, plus a few RTTs to exercise plot_run."""
    run = os.path.join(root, "cotenant")
    os.makedirs(run)
    scores = scores or {"No Traffic": [2937, 2898, 2950, 2910, 2921],
                        "Traffic": [640, 521, 600, 580, 610],
                        "Traffic recv": [306, 293, 320, 280, 300],
                        "iptables": [700, 650, 690, 720, 705],
                        "Guest BPF": [969, 666, 800, 850, 900],
                        "XenBPF": [2835, 2850, 2860, 2870, 2841]}
    rows = []
    for name, values in scores.items():
        for rep, v in enumerate(values, start=1):
            rows.append([name, rep, "score", v, "events/s", ""])
    write_csv(os.path.join(run, "samples.csv"),
              ["configuration", "repetition", "metric", "value", "unit", "t"], rows)
    report = {"metric": "score", "unit": "events/s", "baseline": "No Traffic",
              "reference": dict(zip(COTENANT, [800, 690, 400, 500, 500, 780]))}
    with open(os.path.join(run, "context.json"), "w") as f:
        json.dump(context("cotenant", report), f)
    return run


def make_ping_run(root):
    rng = random.Random(2)
    run = os.path.join(root, "ping")
    os.makedirs(run)
    rows = []
    for name, median in (("domU plain", 47.7), ("XenBPF", 4.6)):
        for i in range(300):
            rows.append([name, 1, "rtt", f"{median * rng.lognormvariate(0, 0.1):.6f}", "us",
                         f"{i / 1000:.3f}"])
    write_csv(os.path.join(run, "samples.csv"),
              ["configuration", "repetition", "metric", "value", "unit", "t"], rows)
    with open(os.path.join(run, "context.json"), "w") as f:
        report = {"metric": "rtt", "unit": "ms", "baseline": "domU plain"}
        json.dump(context("ping-latency", report), f)
    return run


def run_main(module, argv):
    """(status, stdout, stderr) of module.main(argv)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = module.main(argv)
    return status, out.getvalue(), err.getvalue()


class Stats(unittest.TestCase):
    def test_mean_ci_matches_a_hand_computation(self):
        # values 10..14: mean 12, sd = sqrt(10 / 4) = 1.58114, se = sd / sqrt(5) = 0.70711;
        # t(0.975, 4) = 2.7764 (table) -> half width 1.96324, CI [10.0368, 13.9632].
        ci = stats.mean_ci([10, 12, 14, 11, 13])
        self.assertEqual(ci.n, 5)
        self.assertAlmostEqual(ci.mean, 12.0)
        self.assertAlmostEqual(ci.sd, 1.58114, places=5)
        self.assertAlmostEqual(ci.half_width, 1.96324, places=4)
        self.assertAlmostEqual(ci.low, 10.0368, places=4)
        self.assertAlmostEqual(ci.high, 13.9632, places=4)

    def test_two_values_use_t_with_one_degree_of_freedom(self):
        # t(0.975, 1) = 12.7062; values 1 and 3: sd = sqrt(2), se = 1 -> half width 12.7062
        ci = stats.mean_ci([1.0, 3.0])
        self.assertAlmostEqual(ci.half_width, 12.7062, places=4)

    def test_other_confidence(self):
        # t(0.95, 4) = 2.1318: the 90% interval of the same values
        ci = stats.mean_ci([10, 12, 14, 11, 13], confidence=0.90)
        self.assertAlmostEqual(ci.half_width, 2.1318 * math.sqrt(2.5) / math.sqrt(5), places=3)

    def test_small_and_empty_samples(self):
        one = stats.mean_ci([7.0])
        self.assertEqual((one.n, one.mean), (1, 7.0))
        self.assertTrue(math.isnan(one.low) and math.isnan(one.high) and math.isnan(one.sd))
        none = stats.mean_ci([])
        self.assertEqual(none.n, 0)
        self.assertTrue(math.isnan(none.mean))
        self.assertEqual(stats.mean_ci([1.0, float("nan"), 3.0]).n, 2)  # NaN ignored

    def test_coefficient_of_variation(self):
        self.assertAlmostEqual(stats.coefficient_of_variation([10, 12, 14, 11, 13]),
                               1.58114 / 12, places=5)
        self.assertTrue(math.isnan(stats.coefficient_of_variation([3.0])))


class FigureHelpers(unittest.TestCase):
    def test_choose_repetitions(self):
        rows = [{"configuration": c, "repetition": r} for c, r in (("A", 2), ("A", 1), ("B", 1))]
        chosen, available = figures.choose_repetitions(rows, None, "prog")
        self.assertEqual(list(chosen.items()), [("A", 1), ("B", 1)])
        self.assertEqual(available, {"A": {1, 2}, "B": {1}})
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            chosen, _ = figures.choose_repetitions(rows, 2, "prog")
        self.assertEqual(list(chosen.items()), [("A", 2)])
        self.assertEqual(err.getvalue(), "prog: 'B' has no repetition 2, left out\n")
        self.assertEqual([r["configuration"] for r in figures.chosen_rows(rows, chosen)], ["A"])
        with contextlib.redirect_stderr(io.StringIO()):
            with self.assertRaisesRegex(results.ResultFileError,
                                        "^no configuration has repetition 3 in x.csv$"):
                figures.choose_repetitions(rows, 3, "prog", "x.csv")

    def test_repetition_stem(self):
        self.assertEqual(figures.repetition_stem("cpu_series", None), "cpu_series")
        self.assertEqual(figures.repetition_stem("cpu_series", 2), "cpu_series_rep2")


class Figures(unittest.TestCase):
    def setUp(self):
        self.root = tempfile.mkdtemp(prefix="nfb-plots-test-")

    def tearDown(self):
        if os.environ.get("NFB_KEEP_PLOTS"):
            print(f"\nkept {self.root}", file=sys.stderr)
        else:
            shutil.rmtree(self.root)

    def assertFigure(self, paths, stem, *texts):
        """Both files written, a real PNG and an SVG that contains `texts`."""
        self.assertEqual([os.path.basename(p) for p in paths], [f"{stem}.png", f"{stem}.svg"])
        with open(paths[0], "rb") as f:
            self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n")
        self.assertGreater(os.path.getsize(paths[0]), 10000)
        with open(paths[1]) as f:
            svg = f.read()
        self.assertIn("<svg", svg)
        # the figure's text, wrapped lines joined again
        plain = " ".join(" ".join(re.findall(r">([^<]*)</text>", svg)).split())
        for text in texts:
            self.assertIn(text, plain)

    def test_timeseries(self):
        run = make_flood_run(self.root)
        status, out, err = run_main(timeseries, [run])
        self.assertEqual(status, 0, err)
        paths = out.split()
        self.assertEqual(paths[0], os.path.join(run, "figures", "timeseries.png"))
        self.assertFigure(paths, "timeseries", "throughput (Mbit/s)", "loss (%)",
                          "platform: netns", "n = points per line: Unfiltered, no receiver 60",
                          "no dispersion shown, 2 repetitions recorded", "attack running",
                          "thesis (throughput_attack, Mbit/s), dashed", "XenBPF: 550",
                          "XenBPF (rep 1)")

    def test_timeseries_other_repetition(self):
        run = make_flood_run(self.root)
        paths = timeseries.plot(run, repetition=2)
        self.assertFigure(paths, "timeseries_rep2", "XenBPF (rep 2)")
        status, _, err = run_main(timeseries, [run, "--repetition", "7"])
        self.assertEqual(status, 2)
        self.assertIn("no configuration has repetition 7", err)

    def test_cpu_series(self):
        run = make_flood_run(self.root)
        status, out, err = run_main(cpu_series, [run, "--split"])
        self.assertEqual(status, 0, err)
        self.assertFigure(out.split(), "cpu_series", "dom0", "domu1", "attacker",
                          "n = 60 intervals per line", "platform: netns", "100 = one CPU",
                          "dashed grey: hosts outside the Xen host", "kernel part")

    def test_cpu_series_other_repetition(self):
        run = make_flood_run(self.root)
        status, out, err = run_main(cpu_series, [run, "--repetition", "2"])
        self.assertEqual(status, 0, err)
        self.assertFigure(out.split(), "cpu_series_rep2", "XenBPF (rep 2)")
        status, out, err = run_main(cpu_series, [run, "--repetition", "7"])
        self.assertEqual((status, out), (2, ""))
        self.assertIn("cpu_series: no configuration has repetition 7 in cpu.csv", err)

    def test_cpu_series_without_optional_columns(self):
        run = os.path.join(self.root, "minimal")
        os.makedirs(run)
        write_csv(os.path.join(run, "cpu.csv"),
                  ["configuration", "repetition", "t_s", "domain", "cpu_percent"],
                  [["No Traffic", 1, t, d, v] for t in range(1, 11)
                   for d, v in (("dom0", 5), ("domu2", 100), ("external", 30), ("total", 135))])
        paths = cpu_series.plot(run)  # no context.json: platform '?'
        self.assertFigure(paths, "cpu_series", "platform: ?", "domu2", "external")
        with open(paths[1]) as f:
            self.assertNotIn(">total</text>", f.read())

    def test_bars_ci(self):
        run = make_cotenant_run(self.root)
        status, out, err = run_main(bars_ci, [run, "--metric", "score"])
        self.assertEqual(status, 0, err)
        self.assertFigure(out.split(), "score_bars", "n=5", "mean of n = 5 repetitions",
                          "95% CI of the mean (Student", "platform: netns",
                          "thesis value (index), markers", "mean / mean of 'No Traffic'")

    def test_bars_ci_statistics_are_the_hand_computed_ones(self):
        run = make_cotenant_run(self.root, {"A": [10, 12, 14, 11, 13], "B": [1.0, 3.0]})
        rows = results.read_table(os.path.join(run, "samples.csv"), bars_ci.COLUMNS,
                                  numeric=("value",), integer=("repetition",))
        values, unit, averaged = bars_ci.per_repetition(rows, "score")
        self.assertEqual(unit, "events/s")
        self.assertFalse(averaged)
        ci = bars_ci.summaries(values)
        self.assertAlmostEqual(ci["A"].low, 10.0368, places=4)
        self.assertAlmostEqual(ci["A"].high, 13.9632, places=4)
        self.assertAlmostEqual(ci["B"].half_width, 12.7062, places=4)

    def test_bars_ci_averages_a_repetition_with_several_values(self):
        run = os.path.join(self.root, "multi")
        os.makedirs(run)
        write_csv(os.path.join(run, "samples.csv"),
                  ["configuration", "repetition", "metric", "value", "unit", "t"],
                  [["A", 1, "score", 1, "x", ""], ["A", 1, "score", 3, "x", ""],
                   ["A", 2, "score", 4, "x", ""]])
        rows = results.read_table(os.path.join(run, "samples.csv"), bars_ci.COLUMNS,
                                  numeric=("value",), integer=("repetition",))
        values, _, averaged = bars_ci.per_repetition(rows, "score")
        self.assertEqual(values["A"], [2.0, 4.0])
        self.assertTrue(averaged)
        self.assertFigure(bars_ci.plot(run, "score"), "score_bars", "counts once, by its mean")

    def test_bars_ci_single_repetition_has_no_error_bar(self):
        run = make_cotenant_run(self.root, {"No Traffic": [100], "Traffic": [50]})
        self.assertFigure(bars_ci.plot(run), "score_bars", "n=1", "no error bar where n &lt; 2")

    def test_boxplot_still_draws_a_ping_run(self):
        run = make_ping_run(self.root)
        status, out, err = run_main(boxplot, [run])
        self.assertEqual(status, 0, err)
        self.assertFigure(out.split(), "rtt_boxplot", "n = 300 samples per configuration",
                          "whiskers: 1.5 IQR", "platform: netns")

    def test_plot_run_chooses_the_figures(self):
        run = make_flood_run(self.root)
        # the same directory also gets RTTs and co-tenant scores
        rows = [["domU plain", 1, "rtt", 47.0 + i % 3, "us", i] for i in range(50)]
        rows += [[n, r, "score", 100 * r + i, "events/s", ""] for i, n in enumerate(COTENANT)
                 for r in (1, 2, 3)]
        write_csv(os.path.join(run, "samples.csv"),
                  ["configuration", "repetition", "metric", "value", "unit", "t"], rows)
        status, out, err = run_main(plot_run, [run])
        self.assertEqual(status, 0, err)
        names = sorted(os.path.basename(p) for p in out.split())
        self.assertEqual(names, sorted(f"{s}.{e}" for s in ("rtt_boxplot", "score_bars",
                                                             "timeseries", "cpu_series")
                                       for e in ("png", "svg")))

    def test_plot_run_on_an_empty_directory(self):
        status, _, err = run_main(plot_run, [self.root])
        self.assertEqual(status, 2)
        self.assertIn("nothing to draw", err)


class MalformedFiles(unittest.TestCase):
    def setUp(self):
        self.root = tempfile.mkdtemp(prefix="nfb-plots-test-")

    def tearDown(self):
        shutil.rmtree(self.root)

    def test_missing_column_is_named(self):
        run = make_cotenant_run(self.root)
        write_csv(os.path.join(run, "samples.csv"),
                  ["configuration", "repetition", "metric", "unit"], [["A", 1, "score", "x"]])
        status, out, err = run_main(bars_ci, [run])
        self.assertEqual(status, 2)
        self.assertEqual(out, "")
        self.assertIn("samples.csv: missing column 'value' "
                      "(has: configuration, repetition, metric, unit)", err)
        self.assertNotIn("Traceback", err)

    def test_missing_columns_of_every_file(self):
        run = make_flood_run(self.root)
        write_csv(os.path.join(run, "series.csv"), ["configuration", "t_s", "value"], [["A", 1, 2]])
        write_csv(os.path.join(run, "cpu.csv"), ["configuration", "repetition", "t_s"],
                  [["A", 1, 1]])
        status, _, err = run_main(timeseries, [run])
        self.assertEqual(status, 2)
        self.assertIn("series.csv: missing columns 'repetition', 'series', 'unit'", err)
        status, _, err = run_main(cpu_series, [run])
        self.assertEqual(status, 2)
        self.assertIn("cpu.csv: missing columns 'domain', 'cpu_percent'", err)
        status, _, err = run_main(plot_run, [run])
        self.assertEqual(status, 2)
        self.assertIn("time series: ", err)
        self.assertIn("CPU series: ", err)
        self.assertNotIn("Traceback", err)

    def test_bad_number_names_line_and_column(self):
        run = make_cotenant_run(self.root)
        write_csv(os.path.join(run, "samples.csv"),
                  ["configuration", "repetition", "metric", "value", "unit", "t"],
                  [["A", 1, "score", 3, "x", ""], ["A", 2, "score", "abc", "x", ""]])
        status, _, err = run_main(bars_ci, [run])
        self.assertEqual(status, 2)
        self.assertIn("samples.csv line 3: column 'value': 'abc' is not a number", err)

    def test_empty_file_and_broken_context(self):
        run = make_cotenant_run(self.root)
        open(os.path.join(run, "samples.csv"), "w").close()
        status, _, err = run_main(bars_ci, [run])
        self.assertEqual(status, 2)
        self.assertIn("no header line", err)
        with open(os.path.join(run, "context.json"), "w") as f:
            f.write("{not json")
        status, _, err = run_main(bars_ci, [run])
        self.assertEqual(status, 2)
        self.assertIn("context.json", err)

    def test_command_line_gives_a_message_not_a_traceback(self):
        run = make_cotenant_run(self.root)
        write_csv(os.path.join(run, "samples.csv"), ["configuration", "metric"], [["A", "score"]])
        write_csv(os.path.join(run, "series.csv"), ["configuration", "t_s"], [["A", 1]])
        write_csv(os.path.join(run, "cpu.csv"), ["configuration", "t_s"], [["A", 1]])
        for script in ("bars_ci.py", "boxplot.py", "timeseries.py", "cpu_series.py",
                       "plot_run.py"):
            r = subprocess.run(["/usr/bin/python3", os.path.join(PLOTS, script), run],
                               capture_output=True, text=True, timeout=120)
            self.assertEqual(r.returncode, 2, script)
            self.assertIn("missing column", r.stderr, script)
            self.assertNotIn("Traceback", r.stderr, script)
            self.assertEqual(r.stdout, "", script)


if __name__ == "__main__":
    unittest.main(verbosity=2)
