"""A pytest plugin that attaches to one test's report a value execnet cannot send (an int below -2**31),
as generated data or another plugin may. Loaded into a suite run with ``-- -p unsendable_report``
(tests/plugins on PYTHONPATH) by tests/test_run_integrity.py: the test must become an ``error`` with
the reason, and the run must go on and write its reports."""

import pytest

VICTIM = "test_success_envelope[campaigns]"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    if item.nodeid.endswith(VICTIM) and call.when == "call":
        outcome.get_result().generated_value = -(2**40)
