"""Fuzzing with schemathesis: operations of the target description (operations.py),
what the spec demands of each generated request (judge.py), and the check layer
registered as schemathesis checks (checks.py)."""
