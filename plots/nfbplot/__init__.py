"""Helpers shared by the plot scripts: reading a run's result files (results.py), the statistics
drawn (stats.py) and what every script does around its drawing (figures.py: command line,
repetition drawn, footnote and files written).

Only result files are read (samples.csv, series.csv, cpu.csv, comparison.csv, context.json);
nothing here imports project code. Debian's python3 with matplotlib, numpy and scipy.
"""
