"""More fault switches and valid variants, one module per kind of real-implementation mistake.

Each module here defines ``SWITCHES: list[Switch]`` (built with :func:`conformance.reference.faults.fault`
and :func:`~conformance.reference.faults.variant`); :mod:`conformance.reference.faults` adds every module's
switches to its catalogue, so a new module needs no registration.
"""
