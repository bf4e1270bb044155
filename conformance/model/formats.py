"""JSON Schema's ``format`` vocabulary as the suite fills it: plain values every validator of a format accepts.

A vendor that validates a declared format strictly (an address with a dot in its domain) refuses the rarities
a generator finds valid by the letter of RFC 5321; these values are what a person would type, unique per call.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from functools import cache

from hypothesis import strategies as st

PLAIN_VALUES: dict[str, Callable[[str], str]] = {
    "email": lambda token: f"conformance-{token}@example.com",
    "idn-email": lambda token: f"conformance-{token}@example.com",
    "uri": lambda token: f"https://example.com/conformance-{token}",
    "url": lambda token: f"https://example.com/conformance-{token}",
    "hostname": lambda token: f"conformance-{token}.example.com",
    "uuid": lambda token: str(uuid.uuid4()),
}


@cache
def plain_strategies() -> dict[str, st.SearchStrategy[str]]:
    """Generators of such values for the property tests (schemathesis' ``formats`` argument)."""
    word = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=10)
    return {
        "email": st.builds("{}@example.{}".format, word, st.sampled_from(["com", "org", "net"])),
        "idn-email": st.builds("{}@example.com".format, word),
        "uri": st.builds("https://example.com/{}".format, word),
        "hostname": st.builds("{}.example.com".format, word),
    }
