"""report.html as a reader sees it: rendered by a real headless Chromium, pytest-html's scripts run.

The suite certifies a faulty reference server (``env-extra-key`` breaks ENV-1); Chromium loads the
written report from disk and dumps the DOM after its scripts ran. The clause matrix must be on top,
its verdict counts must agree with ``certification.json``, and ENV-1 must show as failing with its
evidence (request, response, curl line). Skipped where no Chromium is installed.
"""

from __future__ import annotations

import shutil
import subprocess
from collections import Counter
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="no chromium or chromium-browser on PATH (Debian: apt-get install chromium)"
)

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class Node:
    def __init__(self, tag: str, attrs: dict[str, str], parent: Node | None) -> None:
        self.tag, self.attrs, self.parent = tag, attrs, parent
        self.children: list[Node | str] = []

    @property
    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())

    @property
    def elements(self) -> list[Node]:
        return [c for c in self.children if isinstance(c, Node)]

    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def walk(self) -> Iterator[Node]:
        yield self
        for child in self.elements:
            yield from child.walk()

    def find_all(self, tag: str | None = None, cls: str | None = None, **attrs: str) -> list[Node]:
        attrs = {k.replace("_", "-"): v for k, v in attrs.items()}
        return [
            n
            for n in self.walk()
            if (tag is None or n.tag == tag)
            and (cls is None or cls in n.classes)
            and all(n.attrs.get(k) == v for k, v in attrs.items())
        ]

    def find(self, tag: str | None = None, cls: str | None = None, **attrs: str) -> Node:
        found = self.find_all(tag, cls, **attrs)
        assert found, f"no <{tag or '*'}> with class={cls} {attrs} in the rendered page"
        return found[0]


class Dom(HTMLParser):
    """A minimal tree of the dumped DOM (enough to ask what is where)."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {}, None)
        self._at = self.root
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {k: v or "" for k, v in attrs}, self._at)
        self._at.children.append(node)
        if tag not in VOID:
            self._at = node

    def handle_endtag(self, tag: str) -> None:
        node: Node | None = self._at
        while node is not None and node.tag != tag:
            node = node.parent
        if node is not None and node.parent is not None:
            self._at = node.parent

    def handle_data(self, data: str) -> None:
        self._at.children.append(data)


def render(report: Path, profile: Path) -> Dom:
    """The DOM of ``report`` after Chromium ran its scripts (``--virtual-time-budget`` lets them finish)."""
    assert CHROMIUM is not None
    cmd = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        "--virtual-time-budget=5000",
        "--dump-dom",
        report.resolve().as_uri(),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "<body" in proc.stdout, (
        f"chromium failed ({proc.returncode}):\n{proc.stderr[-2000:]}"
    )
    return Dom(proc.stdout)


def _before(dom: Dom, first: Node, second: Node) -> bool:
    order = {id(n): i for i, n in enumerate(dom.root.walk())}
    return order[id(first)] < order[id(second)]


def test_report_in_a_real_browser_shows_the_matrix_and_the_failing_clause(certify, tmp_path):
    run = certify(faults=("env-extra-key",), args=("--profile", "smoke", "--clause", "ENV"))
    assert run.code == 1 and run.failing() == {"ENV-1"}, run.stdout[-3000:]
    record = run.record
    dom = render(run.report_dir / "report.html", tmp_path / "chromium-profile")
    body = dom.root.find("body")

    # pytest-html's scripts ran: they build the per-test rows from the page's data blob.
    rendered: Counter[str] = Counter()
    for row in body.find("table", id="results-table").find_all("tbody", cls="results-table-row"):
        rendered.update(row.classes & {"passed", "failed", "error", "skipped", "xfailed", "xpassed"})
    expected = Counter(t["outcome"] for t in record["tests"] if not t["nodeid"].startswith("run::"))
    assert rendered == expected

    # The conformance block is the first thing on the page, above pytest-html's own content.
    section = body.elements[0]
    assert section.tag == "section" and section.attrs.get("id") == "conformance-report"
    assert "NOT certifiable" in section.find(id="certifiable").text()

    # The matrix: one row per clause, verdict counts as in certification.json.
    summary = record["summary"]
    matrix = section.find("table", id="clause-matrix")
    rows = matrix.find_all("tr", cls="clause-row")
    assert len(rows) == summary["clauses"] == len(record["clauses"])
    shown = Counter(r.attrs["data-verdict"] for r in rows)
    assert {v: shown.get(v, 0) for v in summary["verdicts"]} == summary["verdicts"]
    badges = Counter(r.find("td", cls="verdict").text().strip() for r in rows)
    assert badges["fail"] == summary["verdicts"]["fail"] == 1 and badges["pass"] == summary["verdicts"]["pass"]
    chips = section.find(id="verdict-counts")
    assert {v: int(chips.attrs[f"data-{v}"]) for v in summary["verdicts"]} == summary["verdicts"]
    assert {r.attrs["data-clause"]: r.attrs["data-verdict"] for r in rows} == run.verdicts()

    # ENV-1 fails, listed above the matrix, linked to its evidence.
    env1 = matrix.find("tr", id="clause-ENV-1")
    assert env1.attrs["data-verdict"] == "fail" and "verdict-fail" in env1.classes
    assert env1.find("td", cls="verdict").text().strip() == "fail"
    failing = section.find(id="failing-clauses")
    assert failing.attrs["data-count"] == "1" and _before(dom, failing, matrix)
    item = failing.find("li", data_clause="ENV-1")
    assert item.find("span", cls="badge").text() == "fail" and item.find("a").attrs["href"] == "#findings-ENV-1"

    # ... and its evidence: request, response (the extra member) and a curl line for every finding.
    evidence = section.find(id="findings-ENV-1")
    findings = evidence.find_all("div", cls="finding")
    env1_record = next(c for c in record["clauses"] if c["id"] == "ENV-1")
    assert len(findings) == len(env1_record["findings"]) > 0
    first = env1_record["findings"][0]
    request = findings[0].find("pre", cls="finding-request").text()
    assert request.startswith(f"{first['request']['method']} {first['request']['url']}")
    response = findings[0].find("pre", cls="finding-response").text()
    assert response.startswith(f"HTTP {first['response']['status']}") and '"request_id"' in response
    curl = findings[0].find("pre", cls="finding-curl").text()
    assert curl == first["reproduction"] and curl.startswith("curl ")
    assert all(f.find_all("pre", cls="finding-curl") for f in findings)
    assert _before(dom, section, body.find("table", id="results-table"))
