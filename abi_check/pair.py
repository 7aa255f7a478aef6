"""``abi-check pair``: check a migration from one host to another (and back, with --both)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from abi_check.catalogue import SpecRoots
from abi_check.effective import effective_abi
from abi_check.emit import emit
from abi_check.engine import check_pair, load_rules
from abi_check.loader import SpecLoader, display_path
from abi_check.policy import Policy
from abi_check.reporters import Format
from abi_check.result import FailOn, PairResult, Result
from abi_check.views import HostView


def run_pair(
    src: Path,
    dst: Path,
    *,
    both: bool,
    fmt: Format,
    fail_on: FailOn,
    rule_dirs: Sequence[Path],
    roots: Sequence[Path],
    output: Path | None,
) -> int:
    rules = load_rules(rule_dirs)
    policy = Policy()
    loader = SpecLoader(SpecRoots.for_inputs([src, dst], roots))
    source = HostView(effective_abi(loader.load_host(src)))
    destination = HostView(effective_abi(loader.load_host(dst)))
    directions = [(source, destination)] + ([(destination, source)] if both else [])
    pairs = tuple(PairResult(a.name, b.name, tuple(check_pair(rules, a, b))) for a, b in directions)
    result = Result(
        "pair",
        pairs,
        (display_path(src), display_path(dst)),
        tuple(rules.ids()),
        fail_on=fail_on,
        rule_docs=policy.docs(rules),
    )
    return emit(result, fmt, output)
