"""Benchmarks run by `zgqa bench NAME`: each prints a table of numbers measured in one run.

Leaves out: pass/fail testing (the tests do that); a benchmark exits 1 only when a stated target is missed.
"""

NAMES = ("index", "qa", "app", "reliability", "calibrate", "figures")
