"""``abi-check pair``: check a migration from one host to another (and back, with --both)."""

from __future__ import annotations

from pathlib import Path

from abi_check.abi.effective import effective_abi
from abi_check.abi.views import HostView
from abi_check.config.settings import Settings
from abi_check.config.waivers import apply_waivers
from abi_check.report.emit import emit
from abi_check.report.formats import Format
from abi_check.rules.engine import check_pair
from abi_check.spec.catalogue import SpecRoots
from abi_check.spec.loader import SpecLoader, display_path
from abi_check.verdict.result import PairResult, Result


def run_pair(src: Path, dst: Path, *, both: bool, fmt: Format, settings: Settings, output: Path | None) -> int:
    loader = SpecLoader(SpecRoots.for_inputs([src, dst], settings.roots))
    source = HostView(effective_abi(loader.load_host(src)))
    destination = HostView(effective_abi(loader.load_host(dst)))
    directions = [(source, destination)] + ([(destination, source)] if both else [])
    rules, policy = settings.rules, settings.policy
    pairs = tuple(
        PairResult(a.name, b.name, tuple(policy.apply(check_pair(rules, a, b)))) for a, b in directions
    )
    result = Result(
        "pair",
        pairs,
        (display_path(src), display_path(dst)),
        tuple(rules.ids()),
        fail_on=settings.fail_on,
        rule_docs=policy.docs(rules),
    )
    return emit(apply_waivers(result, settings.waivers, settings.today), fmt, output)
