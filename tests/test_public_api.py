"""What the README documents as importable keeps working whatever the package's layout (issue 18's shims):
a vendor's conftest and scripts import these names, and pytest finds the plugin by its entry point."""

from __future__ import annotations

from importlib.metadata import entry_points


def test_documented_import_paths() -> None:
    from conformance.fuzz.checks import spec_checks
    from conformance.model import load_model
    from conformance.testing import ClauseViolation, assert_conforms, reference_server

    assert callable(spec_checks) and callable(load_model) and callable(assert_conforms)
    assert issubclass(ClauseViolation, Exception) and reference_server is not None


def test_the_pytest_plugin_is_registered_under_its_name() -> None:
    (plugin,) = [ep for ep in entry_points(group="pytest11") if ep.name == "conformance"]
    module = plugin.load()
    assert hasattr(module, "pytest_addoption") and hasattr(module, "pytest_configure")
