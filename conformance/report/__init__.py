"""The report writers: every file the suite leaves behind, rendered from one run record.

``write_all`` writes the machine-readable files; ``report.html`` is pytest-html's
page with :class:`conformance.report.html.HtmlMatrixPlugin` on top, and the terminal
summary comes from :func:`conformance.report.terminal.render`. Each writer passes
its output through the redactor, whatever the recorder already masked.
"""

from __future__ import annotations

from pathlib import Path

from conformance.http.redact import Redactor
from conformance.report import certification, junit
from conformance.verdicts.decide import RunRecord

JSON_NAME = "certification.json"
JUNIT_NAME = "junit.xml"


def write_all(record: RunRecord, report_dir: Path, redactor: Redactor) -> dict[str, Path]:
    """Write ``certification.json`` and ``junit.xml`` into ``report_dir`` (created if missing)."""
    report_dir = Path(report_dir)
    report_dir.mkdir(parents=True, exist_ok=True)
    return {
        "json": certification.write(record, report_dir / JSON_NAME, redactor),
        "junit": junit.write(record, report_dir / JUNIT_NAME, redactor),
    }


__all__ = ["JSON_NAME", "JUNIT_NAME", "write_all"]
