"""Helpers shared by the plot scripts: reading a run's result files and the statistics drawn.

Only result files are read (samples.csv, series.csv, cpu.csv, comparison.csv, context.json);
nothing here imports project code. Debian's python3 with matplotlib, numpy and scipy.
"""
