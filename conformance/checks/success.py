"""What counts as success: one definition for the checks and the clause tests."""

from __future__ import annotations


def is_success(status: int) -> bool:
    """A 2xx status: the request succeeded (ENV-4's ``success: true``; a write took effect)."""
    return 200 <= status < 300
