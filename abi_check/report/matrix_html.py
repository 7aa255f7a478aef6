"""Self-contained HTML matrix: a heat-map with click-to-details, filters, domains and separations, offline.

The page is static markup, one JSON block and three scripts (``matrix_html_model.js``: the data and what the
filters make of it; ``matrix_html_view.js``: drawing; ``matrix_html_controls.js``: what input does), styled by
``matrix_html.css``, that build everything from the JSON with ``textContent``: no string from a spec is ever
parsed as HTML. The JSON is streamed a row at a time; a cell is an index into a table of the distinct outcomes
(few, however many hosts), and findings are encoded as arrays with their repeated strings (rule, reference,
path) interned.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import numpy as np

from abi_check.matrix.grid import Outcome, group
from abi_check.report.matrix_report import FINDINGS_HOST_LIMIT, MatrixReport
from abi_check.verdict.findings import Finding

# Above this many hosts the grid is one <canvas> rather than N² table cells.
GRID_LIMIT = 150
# Above FINDINGS_HOST_LIMIT hosts, the findings of one example pair per distinct outcome, up to this much JSON
# (a million cells have a few thousand outcomes; the page stays small enough for a browser).
EXAMPLE_BYTES = 8 << 20
# In this order: each uses the names the ones before it define (classic scripts share one global scope).
SCRIPTS = ("matrix_html_model.js", "matrix_html_view.js", "matrix_html_controls.js")
DATA_FORMAT = 1
_ASSETS = Path(__file__).resolve().parent
# Characters that could end the <script> element or the JS string early, written as JSON escapes instead.
_UNSAFE = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"})


def script_json(value: object) -> str:
    """JSON that is safe inside a <script> element: no '<', '>' or '&' (so no '</script>'), nor U+2028/9."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).translate(_UNSAFE)


@cache
def _asset(name: str) -> str:
    text = (_ASSETS / name).read_text(encoding="utf-8")
    if "</script" in text.lower() or "</style" in text.lower() or "<!--" in text:
        raise ValueError(f"{name} would end its element early")
    return text


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def _head(report: MatrixReport) -> str:
    css = _asset("matrix_html.css")
    # Only this page's own style and script may run, and nothing may be fetched: offline by construction, and
    # injected markup (if escaping ever failed) could not execute.
    scripts = " ".join(_sha256(_asset(name)) for name in SCRIPTS)
    csp = (f"default-src 'none'; script-src {scripts}; style-src {_sha256(css)}; img-src data:; "
           "base-uri 'none'; form-action 'none'")
    hosts = len(report.matrix.hosts)
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="{csp}">
<meta name="generator" content="abi-check {html.escape(report.version)}">
<title>abi-check matrix: {hosts} hosts</title>
<style>{css}</style>
</head>
<body>
<header class="top"><h1>abi-check <span>matrix report</span></h1><p class="meta" id="meta"></p></header>
<noscript><p>This report draws its matrix with JavaScript. Its data is the JSON block with id "data" in this
file; <code>abi-check matrix --format text</code> prints the same report in a terminal.</p></noscript>
<main>
<section class="cards" id="summary" aria-label="Summary"></section>
<div class="layout">
<section class="panel" id="matrix-panel" aria-label="Compatibility matrix">
<h2>Every move: source host (row) &rarr; destination host (column)</h2>
<div class="toolbar"><div class="legend" id="legend"></div></div>
<div class="toolbar filters" id="filters"></div>
<p class="note">Filters hide findings, never pairs: a cell takes the verdict of the findings still shown (a
pair whose findings are all hidden shows as compatible), and is hatched when the filters changed its verdict or
hid all its findings. The cards above, the domains below and the exit code always count every finding.</p>
<div class="toolbar filters" id="picker"></div>
<p class="status" id="filtered"></p>
<div id="grid" tabindex="0" aria-label="Matrix: arrow keys move between pairs"></div>
<p class="status" id="status"></p>
</section>
<aside class="panel" id="details" aria-live="polite"></aside>
</div>
<section class="panel block" aria-label="Migration domains">
<h2>Migration domains</h2>
<p class="note">Hosts between which every move works, both ways: no error (a guest ABI change still moves the
VM), whatever --fail-on says.</p>
<div id="domains-list"></div>
</section>
<section class="panel block" aria-label="What separates the domains">
<h2>What separates them</h2>
<p class="note">For each two domains, the rule that fails the most host pairs between them.</p>
<div id="separations-list"></div>
</section>
</main>
<footer id="footer"></footer>
"""


def _finding(f: Finding, intern: dict[str, int]) -> list[object]:
    """[severity rank, rule, message, fix, reference, path or -1, line, column, fingerprint]."""

    def s(text: str) -> int:
        return intern.setdefault(text, len(intern))

    span = f.span
    return [f.severity.rank, s(f.rule), f.message, f.fix, s(f.reference), s(span.path) if span else -1,
            span.line if span else 0, span.col if span else 0, f.fingerprint]


def _outcome(o: Outcome) -> list[object]:
    return [o.verdict, list(o.counts), [list(fired) for fired in o.fired], o.crashes]


def render(report: MatrixReport, color: bool = False) -> Iterator[str]:
    yield _head(report)
    settings = {"format": DATA_FORMAT, "withFindings": report.with_findings, "gridLimit": GRID_LIMIT,
                "findingsHostLimit": FINDINGS_HOST_LIMIT}
    yield '<script type="application/json" id="data">{"header":' + script_json(report.header())
    yield "," + script_json(settings)[1:-1] + ',"rows":['
    # The outcomes numbered in the order the rows meet them, each with the first pair that has it.
    every, diagonal = report.grid_outcomes()
    n = len(report.matrix.hosts)
    never = n * n
    first = np.full(len(every), never, dtype=np.int64)
    for top, block in report.row_blocks(diagonal):
        met, at, _ = group(block.reshape(-1).astype(np.int64))
        first[met] = np.minimum(first[met], at + top * n)
    order = np.flatnonzero(first < never)
    order = order[np.argsort(first[order], kind="stable")]
    number = np.zeros(len(every), dtype=np.int32)
    number[order] = np.arange(len(order), dtype=np.int32)
    strings: dict[str, int] = {}
    text = np.array([str(i) for i in range(len(order))], dtype=object)  # each number's JSON made once
    for top, block in report.row_blocks(diagonal):
        if report.with_findings:
            for a, row in enumerate(number[block].tolist(), top):
                found = [[_finding(f, strings) for f in report.findings(a, b)] for b in range(n)]
                yield ("," if a else "") + script_json([row, found])
        else:
            for a, row_text in enumerate(map(",".join, text[number[block]].tolist()), top):
                yield ("," if a else "") + "[[" + row_text + "]]"
    yield '],"outcomes":' + script_json([_outcome(every[o]) for o in order.tolist()])
    if not report.with_findings and len(order):
        # Without every pair's findings, each distinct outcome keeps one example pair's, in the order the outcomes
        # were met, until the byte budget is spent (later outcomes then have none).
        matrix, size, encoded = report.matrix, 0, []
        for at in first[order].tolist():
            a, b = divmod(at, n)
            item = script_json([a, b, [_finding(f, strings) for f in matrix.findings(a, b)]])
            size += len(item)
            if size > EXAMPLE_BYTES:
                break
            encoded.append(item)
        yield ',"examples":[' + ",".join(encoded) + "]"
    yield ',"strings":' + script_json(list(strings)) + "}</script>\n"
    yield "".join(f"<script>{_asset(s)}</script>\n" for s in SCRIPTS) + "</body>\n</html>\n"
