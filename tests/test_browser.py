"""report.html as a reader sees it: rendered by a real headless Chromium, pytest-html's scripts run.

The suite certifies a faulty reference server (``env-extra-key`` breaks ENV-1, ``time-dst-ignored`` TIME-3);
Chromium loads the written report from disk in a 1,400 px window and dumps the DOM after its scripts ran. The
clause matrix must be on top, its verdict counts must agree with ``certification.json``, its Clause column must not
wrap; findings must show grouped by what went wrong (counts, expandable cards with the evidence, the reproduction
script and its copy button), TIME-3 with its offset chart; the filters, opened from the query string, must hide
what they exclude. Skipped where no Chromium is installed.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
from pages import CHROMIUM, rendered

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


def render(report: Path, profile: Path, query: str = "") -> Dom:
    """The DOM of ``report`` (``?query``: the filters it opens with) after Chromium ran its scripts in a window
    1,400 px wide (``--virtual-time-budget`` lets them finish)."""
    return Dom(rendered(report.resolve().as_uri() + (f"?{query}" if query else ""), profile))


def _before(dom: Dom, first: Node, second: Node) -> bool:
    order = {id(n): i for i, n in enumerate(dom.root.walk())}
    return order[id(first)] < order[id(second)]


def test_report_in_a_real_browser_shows_the_matrix_grouped_findings_filters_scripts_and_chart(certify, tmp_path):
    args = (
        "--profile",
        "smoke",
        "--seed",
        "20261205",
        "--clause",
        "ENV",
        "--clause",
        "TIME-3",
        "--org-timezone",
        "America/Chicago",
    )
    run = certify(faults=("env-extra-key", "time-dst-ignored"), args=args)
    assert run.code == 1 and run.failing() == {"ENV-1", "TIME-3"}, run.stdout[-3000:]
    record = run.record
    dom = render(run.report_dir / "report.html", tmp_path / "chromium-profile")
    body = dom.root.find("body")

    # pytest-html's scripts ran: they build the per-test rows from the page's data blob.
    rendered: Counter[str] = Counter()
    for row in body.find("table", id="results-table").find_all("tbody", cls="results-table-row"):
        rendered.update(row.classes & {"passed", "failed", "error", "skipped", "xfailed", "xpassed"})
    expected = Counter(t["outcome"] for t in record["tests"] if not t["nodeid"].startswith("run::"))
    assert rendered == expected

    # The conformance block is the first thing on the page, above pytest-html's own content; its script ran.
    section = body.elements[0]
    assert section.tag == "section" and section.attrs.get("id") == "conformance-report"
    assert section.attrs.get("data-ready") == "true"
    assert "NOT certifiable" in section.find(id="certifiable").text()

    # The matrix: one row per clause, verdict counts as in certification.json; at 1,400 px no Clause cell wraps.
    summary = record["summary"]
    matrix = section.find("table", id="clause-matrix")
    assert matrix.attrs["data-wrapped-clause-cells"] == "0" and int(matrix.attrs["data-width"]) <= 1400
    rows = matrix.find_all("tr", cls="clause-row")
    assert len(rows) == summary["clauses"] == len(record["clauses"])
    shown = Counter(r.attrs["data-verdict"] for r in rows)
    assert {v: shown.get(v, 0) for v in summary["verdicts"]} == summary["verdicts"]
    badges = Counter(r.find("td", cls="verdict").text().strip() for r in rows)
    assert badges["fail"] == summary["verdicts"]["fail"] == 2 and badges["pass"] == summary["verdicts"]["pass"]
    chips = section.find(id="verdict-counts")
    assert {v: int(chips.attrs[f"data-{v}"]) for v in summary["verdicts"]} == summary["verdicts"]
    assert {r.attrs["data-clause"]: r.attrs["data-verdict"] for r in rows} == run.verdicts()
    assert not [r for r in rows if "hidden" in r.attrs]  # no filter given: every row shows

    # ENV-1 fails, listed above the matrix, linked to its evidence.
    env1 = matrix.find("tr", id="clause-ENV-1")
    assert env1.attrs["data-verdict"] == "fail" and "verdict-fail" in env1.classes
    failing = section.find(id="failing-clauses")
    assert failing.attrs["data-count"] == "2" and _before(dom, failing, matrix)
    item = failing.find("li", data_clause="ENV-1")
    assert item.find("span", cls="badge").text() == "fail" and item.find("a").attrs["href"] == "#findings-ENV-1"

    # Findings are grouped by what went wrong: one card per group, its count, expanding to the evidence.
    for cid in ("ENV-1", "TIME-3"):
        clause = next(c for c in record["clauses"] if c["id"] == cid)
        keys = Counter(f["group"] for f in clause["findings"])
        evidence = section.find(id=f"findings-{cid}")
        cards = evidence.find_all("details", cls="finding-group")
        assert [(c.attrs["data-key"], int(c.attrs["data-count"])) for c in cards] == sorted(
            keys.items(), key=lambda kv: -kv[1]
        )
        assert evidence.attrs["data-findings"] == str(len(clause["findings"])) and len(cards) == len(keys)
        assert all("open" not in c.attrs for c in cards)  # collapsed until a reader expands one
        for card in cards:
            head = card.find("summary").text()
            assert head.startswith(f"×{card.attrs['data-count']}") and not re.search(r"\[[A-Z]+-\d+\]", head)
            tests = card.find("p", cls="group-tests")
            assert int(tests.attrs["data-tests"]) >= 1 and "::" in tests.text()
    time3 = next(c for c in record["clauses"] if c["id"] == "TIME-3")
    assert len(time3["findings"]) > len(section.find(id="findings-TIME-3").find_all("details", cls="finding-group"))

    # ... each card's first finding with its request, response, reproduction script (copy button) and curl line.
    env1_record = next(c for c in record["clauses"] if c["id"] == "ENV-1")
    card = section.find(id="findings-ENV-1").find("details", cls="finding-group")
    index = int(card.find("div", cls="finding").attrs["data-index"])
    first = env1_record["findings"][index - 1]
    request = card.find("pre", cls="finding-request").text()
    assert request.startswith(f"{first['request']['method']} {first['request']['url']}")
    response = card.find("pre", cls="finding-response").text()
    assert response.startswith(f"HTTP {first['response']['status']}") and '"request_id"' in response
    script = card.find("pre", cls="finding-repro")
    assert (
        script.text() == first["reproduction"]["script"] == (run.report_dir / first["reproduction"]["file"]).read_text()
    )
    assert script.text().startswith("#!/usr/bin/env bash") and "${CONFORMANCE_API_KEY}" in script.text()
    button = card.find("button", cls="copy")
    assert button.attrs["data-copy"] == script.attrs["id"] and "Copy" in button.text()
    assert card.find("a", cls="repro-file").attrs["href"] == first["reproduction"]["file"]
    assert card.find("pre", cls="finding-curl").text() == first["curl"]
    assert _before(dom, section, body.find("table", id="results-table"))

    # TIME-3's chart: the zone's offsets through the year against the offsets seen (summer ones off the line).
    svg = section.find(id="findings-TIME-3").find("svg", cls="offset-chart")
    assert svg.attrs["data-zone"] == "America/Chicago" and svg.attrs["data-zone-offsets"] == "-05:00 -06:00"
    assert svg.attrs["data-seen-offsets"] == "-06:00" and int(svg.attrs["data-off-zone"]) > 0
    assert len(svg.find_all("circle", cls="off-zone")) == int(svg.attrs["data-off-zone"])
    assert svg.find("polyline", cls="zone-line") and not section.find(id="findings-ENV-1").find_all("svg")

    # Filters: opened with ?clause=TIME-3 only TIME-3 shows (in the matrix and the findings) ...
    only = render(run.report_dir / "report.html", tmp_path / "chromium-profile", "clause=TIME-3").root
    block = only.find(id="conformance-report")
    assert only.find("select", id="filter-clause") and block.attrs["data-shown-clauses"] == "1"
    visible = [r.attrs["data-clause"] for r in block.find_all("tr", cls="clause-row") if "hidden" not in r.attrs]
    assert visible == ["TIME-3"]
    assert [b.attrs["data-group"] for b in block.find_all("tbody", cls="clause-group") if "hidden" not in b.attrs] == [
        "TIME"
    ]
    assert "hidden" in block.find(id="findings-ENV-1").attrs and "hidden" not in block.find(id="findings-TIME-3").attrs
    groups = len(block.find(id="findings-TIME-3").find_all("details", cls="finding-group"))
    assert block.attrs["data-shown-groups"] == str(groups)
    # ... and a filter nothing matches (no SHOULD failed) hides every finding.
    none = render(run.report_dir / "report.html", tmp_path / "chromium-profile", "verdict=fail&level=SHOULD").root
    assert none.find(id="conformance-report").attrs["data-shown-clauses"] == "0"
