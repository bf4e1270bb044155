"""A pytest plugin that plants a bug in the suite's own test code: every object creation raises KeyError.
Loaded with ``-- -p broken_helper`` (tests/plugins on PYTHONPATH) by tests/test_run_integrity.py: the tests
that create objects must be ``error`` with the suite's traceback in the record, never a finding."""

from conformance.suite._support.target import Target


def _planted(self, *args, **kwargs):
    raise KeyError("planted bug in Target.create")


def pytest_configure(config):
    Target.create = _planted
