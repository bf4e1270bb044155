"""The reference API: a model implementation of SPEC.md for vendors to read, and the
target the suite certifies when no vendor is at hand.

- ``app.py``: the request flow (auth, version, path, method, operation);
- ``behaviour.py``: every decision, as the spec requires it;
- ``faults/``: fault switches and valid variants, wrapping those decisions;
- ``store.py``, ``routing.py``, ``validation.py``, ``representation.py``,
  ``times.py``, ``orgs.py``, ``tls.py``: one job each;
- ``server.py``: uvicorn over HTTPS, in a thread (tests) or the foreground (CLI).

It is generic: it serves whatever target description it is given, so the same code
serves the bundled reference API and any other description that follows the spec.
"""

from conformance.reference.faults import FAULTS, VARIANTS
from conformance.reference.server import ServerHandle, main_serve, serve_forever, start_server

__all__ = ["FAULTS", "VARIANTS", "ServerHandle", "main_serve", "serve_forever", "start_server"]
