"""Helpers of the clause tests: the target under test, shared judgements, acceptance, listings."""
