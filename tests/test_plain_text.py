"""The text report without rich (report/plain.py) gives the characters rich gives, on real pairs and made-up text."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from rich._emoji_codes import EMOJI
from rich.markup import escape as rich_escape

from abi_check.config.policy import Policy
from abi_check.errors import Span
from abi_check.report import plain
from abi_check.report.text import markup, render
from abi_check.report.wrap import wrap
from abi_check.rules.engine import RuleSet, check_pair
from abi_check.verdict.findings import Finding, Severity, make_finding
from abi_check.verdict.result import PairResult, Result, Waived, WaiverNote
from tests.conftest import HOSTS, host_names

ROOT = Path(__file__).resolve().parent.parent
WIDTHS = (None, 20, 37, 80, 120, 200)
FUZZ = settings(max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])

# Text that reaches the report from specs, rules and waivers: brackets that look like rich tags, backslashes before
# them, emoji codes (:smile:, :smile-text:, :100:), spans (a.yaml:12:3), controls rich strips or we escape, tabs,
# wide and combining characters, the Kelvin sign (lower() gives k).
PIECES = st.sampled_from([
    "[", "]", "[/]", "[bold]", "[/bold]", "[@click]", "[#fff]", "[a=b]", "\\", "\\\\", ":", "::", ":smile:",
    ":smile-text:", ":SMILE:", ":100:", ":12:", ":+1:", ":x:", "a.yaml:12:3", "-", "text", "emoji", " ", "  ",
    "\t", "\r", "\x07", "\x08", "\x0b", "\x0c", "\x1b[31m", "\n", "\u200e", "漢字", "e\u0301", "\u212a", "ok",
])
TEXT = st.lists(st.one_of(PIECES, st.text(max_size=4)), max_size=12).map("".join)


def finding(message: str, *, rule: str = "psci-not-implemented", source: str = "src", destination: str = "dst",
            fix: str = "do this", reference: str = "https://docs.kernel.org/", severity: Severity = Severity.ERROR,
            span: Span | None = None) -> Finding:
    return make_finding(rule=rule, severity=severity, source=source, destination=destination, subject="PSCI",
                        message=message, fix=fix, reference=reference, span=span, category="firmware")


def result_of(rules: RuleSet, pairs: tuple[PairResult, ...], command: str = "pair",
              notes: tuple[WaiverNote, ...] = ()) -> Result:
    return Result(command, pairs, ("a.yaml", "b.yaml"), tuple(rules.ids()), rule_docs=Policy().docs(rules),
                  waiver_notes=notes)


def through_rich(result: Result, width: int | None) -> str:
    """What the text report was before report/plain.py: every line printed by rich without colour."""
    return wrap(plain.rich_render(markup(result), color=False), width)


@pytest.fixture(scope="module")
def shipped_pairs(rules, view) -> list[PairResult]:  # type: ignore[no-untyped-def]
    names = host_names()
    return [PairResult(a, b, tuple(check_pair(rules, view(a), view(b)))) for a in names for b in names]


def test_every_shipped_pair_reads_the_same(rules, shipped_pairs) -> None:  # type: ignore[no-untyped-def]
    assert len(shipped_pairs) == len(host_names()) ** 2 and any(p.findings for p in shipped_pairs)
    for command in ("pair", "gate"):  # every line of every pair in one report; the gate's root causes
        result = result_of(rules, tuple(shipped_pairs), command)
        assert render(result, False, None) == plain.rich_render(markup(result), color=False)


def test_shipped_pairs_read_the_same_at_every_width(rules, shipped_pairs) -> None:  # type: ignore[no-untyped-def]
    results = [result_of(rules, (pair,)) for pair in shipped_pairs[::37]]
    results.append(result_of(rules, tuple(shipped_pairs[17:19])))  # two directions, as --both
    for result in results:
        printed = plain.rich_render(markup(result), color=False)
        for width in WIDTHS:
            assert render(result, False, width) == wrap(printed, width)


def test_waivers_and_notes_read_the_same(rules) -> None:  # type: ignore[no-untyped-def]
    spot = Span("waivers.yaml", 3, 5)
    waived = Waived(finding("accepted [here]", span=Span("k.yaml", 1, 2)), "ticket [42]: :smile:", spot, "2031-01-01")
    pair = PairResult("a [x]", "b\\", (finding("m :x: [/]"),), (waived,))
    notes = (WaiverNote("stale", spot, "matches nothing :100:"), WaiverNote("expired", spot, "over\\"))
    for command in ("pair", "gate"):
        result = result_of(rules, (pair,), command, notes)
        for width in WIDTHS:
            assert render(result, False, width) == through_rich(result, width)


@FUZZ
@given(st.lists(st.tuples(TEXT, TEXT, TEXT, TEXT, TEXT), min_size=1, max_size=3), TEXT, TEXT,
       st.sampled_from(["pair", "gate"]), st.sampled_from(WIDTHS))
@example([("[bold]x[/]", "\\", "[/]", ":smile:", "a\\[1]")], "\\", "[@x]", "pair", None)
@example([("\\[b]", ":ok_hand-emoji:", "x\\", "\\\\[x]", "\u212aiss:")], ":+1:", "t\tb", "gate", 20)
def test_made_up_text_reads_the_same(rules, items: list[tuple[str, str, str, str, str]], source: str,  # type: ignore[no-untyped-def]
                                     destination: str, command: str, width: int | None) -> None:
    findings = tuple(
        finding(message, rule=rule, fix=fix, reference=reference, source=source, destination=destination,
                span=Span(path, 7, 1), severity=list(Severity)[i % 3])
        for i, (message, rule, fix, reference, path) in enumerate(items)
    )
    waived = tuple(Waived(f, f.message, Span(f.fix, 1, 1)) for f in findings[:1])
    notes = (WaiverNote("stale", Span(source, 2, 2), destination),)
    result = result_of(rules, (PairResult(source, destination, findings, waived),), command, notes)
    assert render(result, False, width) == through_rich(result, width)


@FUZZ
@given(TEXT)
@example("a\\")
@example("\\[bold]\\")
def test_escape_is_riches(text: str) -> None:
    assert plain.escape(text) == rich_escape(text)


@FUZZ
@given(st.lists(st.one_of(PIECES, st.sampled_from(["[bold red]", "[yellow]", "[/]"]), st.text(max_size=3)),
                max_size=10).map("".join))
def test_any_markup_line_prints_as_rich_prints_it(text: str) -> None:
    """Markup our reporters never write (unbalanced tags, meta tags, tabs) goes to rich, and errs as rich errs."""
    try:
        expected = plain.rich_render([text], color=False)
    except Exception as exc:  # rich.errors.MarkupError: plain must not print what rich refuses
        with pytest.raises(type(exc)):
            plain.render([text])
        return
    assert plain.render([text]) == expected


def test_emoji_names_without_a_letter_are_the_ones_plain_knows() -> None:
    assert {name for name in EMOJI if not any("a" <= c <= "z" for c in name)} == plain.NAMES_WITHOUT_LETTERS


def test_pair_to_a_pipe_does_not_import_rich_and_a_terminal_keeps_colour() -> None:
    src, dst = str(HOSTS / "n1-linux-6.15-qemu-10.2.yaml"), str(HOSTS / "n1-linux-6.12-qemu-10.2.yaml")
    code = ("import runpy, sys\n"
            f"sys.argv = ['abi-check', 'pair', {src!r}, {dst!r}]\n"
            "try:\n    runpy.run_module('abi_check', run_name='__main__')\n"
            "finally:\n    print(sorted(m for m in sys.modules if m.split('.')[0] == 'rich'), file=sys.stderr)\n")
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "NO_COLOR")}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env)
    assert done.returncode == 8 and "errors (" in done.stdout and "\x1b[" not in done.stdout
    assert done.stderr.strip().splitlines()[-1] == "[]"
    coloured = plain.rich_render(["[bold red]error[/] x"], color=True)
    assert "\x1b[1;31merror\x1b[0m x" in coloured
