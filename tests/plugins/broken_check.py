"""A pytest plugin that plants a bug in the suite itself: the TIME-4 response check raises.

Loaded into a suite run with ``-- -p broken_check`` (tests/plugins on PYTHONPATH) by
tests/test_certification.py, to show a crash inside the suite is an ``error`` verdict
for that clause alone, never a vendor failure.
"""

from conformance.checks import times


def _planted(exchange, ctx):
    raise RuntimeError("planted bug in the TIME-4 check")


def pytest_configure(config):
    # The check table holds the function object itself: swap its code, not the module attribute.
    times.date_format.__code__ = _planted.__code__
