"""A pytest plugin that kills the xdist worker running one test, as a segfault in a C extension or the
OOM killer would. Loaded into a suite run with ``-- -p worker_crash`` (tests/plugins on PYTHONPATH) by
tests/test_run_integrity.py: the lost test's clauses must be ``error`` with xdist's account, and the run
must go on, write its reports and name the dead worker's objects as unaccounted for."""

import os

VICTIM = "test_error_envelope[campaigns]"


def pytest_runtest_call(item):
    if item.nodeid.endswith(VICTIM) and hasattr(item.config, "workerinput"):
        os._exit(1)
