"""Conformance test suite for the REST API spec (see SPEC.md)."""

__version__ = "0.1.0"
