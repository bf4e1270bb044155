"""Notes: what a test looked at but could not judge, said in the record rather than passed over in silence.

A note is neither a finding nor a pass: the test's verdict stands on what it could judge, and the note says
which part of a clause it could not (a listing too full to show the suite's object, ambiguity 21). It rides
on the test's report as a ``user_properties`` entry, which pytest-xdist carries from the worker to the
controller; :func:`notes_of` reads it back there.
"""

from __future__ import annotations

from typing import Any

NOTE = "conformance-note"
NOTES_PER_TEST = 10


def record_note(request: Any, clause: str, kind: str, message: str) -> None:
    """Note on the running test (``request``: its pytest ``request``, or the item) once per distinct text.

    ``kind`` is a short label (``inconclusive``); a property test notes the same thing for many examples."""
    node = getattr(request, "node", request)
    entry = {"clause": clause, "kind": kind, "message": message[:500]}
    notes = [value for name, value in node.user_properties if name == NOTE]
    if entry not in notes and len(notes) < NOTES_PER_TEST:
        node.user_properties.append((NOTE, entry))


def notes_of(report: Any) -> list[dict[str, str]]:
    """The notes a test report carries (its ``user_properties``), for the record."""
    return [dict(value) for name, value in getattr(report, "user_properties", ()) if name == NOTE]
