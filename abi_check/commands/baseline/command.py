"""``abi-check baseline``: the configuration a set of hosts can all present and restore, written as specs."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path

from abi_check.abi.effective import effective_abi
from abi_check.abi.views import HostView
from abi_check.commands.baseline.common import describe
from abi_check.commands.baseline.obstacles import reason
from abi_check.commands.baseline.overlay import render_host, render_vmm
from abi_check.commands.baseline.reconcile import Configured, Outcome, Reconciler, blocking, threshold
from abi_check.errors import InputError, Span, SpecError
from abi_check.report.baseline import BaselineReport, Excluded, Obstacle, render
from abi_check.report.formats import Format
from abi_check.report.output import write_output
from abi_check.report.wrap import text_width
from abi_check.resources import catalogue_dir
from abi_check.rules.engine import RuleSet, check_pair, load_rules
from abi_check.spec import registers as regs
from abi_check.spec.catalogue import SpecRoots
from abi_check.spec.encodings import level_name
from abi_check.spec.hosts import load_hosts
from abi_check.spec.loader import SpecLoader, display_path
from abi_check.spec.model import Host, SpecInfo
from abi_check.verdict.findings import Severity
from abi_check.verdict.result import FailOn, PairResult, Result, answer_exit_code


class References:
    """How a written spec names another: by catalogue name when that finds the same file, else by relative path
    (and then the spec's directory must be a root when the written specs are checked)."""

    def __init__(self, out_dir: Path | None, roots: Sequence[Path]) -> None:
        self.out_dir = out_dir.resolve() if out_dir is not None else None
        self.roots = [p.resolve() for p in roots]
        self.lookup = SpecRoots([*([self.out_dir] if self.out_dir else []), *self.roots, catalogue_dir().resolve()])
        self.needed: list[Path] = []

    def ref(self, info: SpecInfo, from_dir: str) -> str:
        target = Path(info.path).resolve()
        try:
            if self.lookup.resolve(info.name, Span(info.path, 1, 1), target) == target:
                return info.name
        except SpecError:
            pass
        if target.parent not in self.needed:
            self.needed.append(target.parent)
        if self.out_dir is None:
            return info.name
        return os.path.relpath(target, self.out_dir / from_dir)

    def check_roots(self) -> list[Path]:
        return [*([self.out_dir] if self.out_dir else []), *self.needed, *self.roots]


def files_of(best: Configured, hosts: Sequence[Host], refs: References) -> list[tuple[str, str]]:
    """The overlay of each VMM and each host with its overlay, as (relative path, text)."""
    out: list[tuple[str, str]] = []
    targets = [refs.ref(t.info, "vmms") for t in best.overlay.targets]
    for name, base in best.bases.items():
        text = render_vmm(best.overlay, name, refs.ref(base.info, "vmms"), targets, f"vmms/{name}.yaml").text
        out.append((f"vmms/{name}.yaml", text))
    for i in best.members:
        host = hosts[i]
        vmm = best.hosts[i].vmm.info.name
        kernel_ref, cpu_ref = refs.ref(host.kernel.info, "hosts"), refs.ref(host.cpu.info, "hosts")
        text = render_host(host, kernel_ref, f"../vmms/{vmm}.yaml", cpu_ref, vmm)
        out.append((f"hosts/{host.info.name}.yaml", text))
    return out


def verify_written(out_dir: Path, written: Sequence[PairResult], refs: References, rules: RuleSet) -> None:
    """Load the specs as a user will and check that they give the verdicts baseline computed in memory."""
    loader = SpecLoader(SpecRoots([*refs.check_roots(), catalogue_dir().resolve()]))
    views: dict[str, HostView] = {}
    for pair in written:
        for name in (pair.source, pair.destination):
            if name not in views:
                views[name] = HostView(effective_abi(loader.load_host(out_dir / "hosts" / f"{name}.yaml")))
        again = PairResult(pair.source, pair.destination, tuple(check_pair(rules, views[pair.source],
                                                                          views[pair.destination])))
        if again.verdict != pair.verdict:
            raise RuntimeError(f"written specs give {again.verdict} for {pair.source} -> {pair.destination}, "
                               f"baseline computed {pair.verdict}")


def verdicts(pairs: Sequence[PairResult]) -> dict[str, int]:
    out = {"compatible": 0, "abi-change": 0, "fails": 0}
    for pair in pairs:
        out[pair.verdict] += 1
    return out


def shared_levels(best: Configured) -> list[tuple[str, str]]:
    """WORKAROUND levels (host-determined) when every host of the set has the same."""
    views = list(best.views.values())
    out = []
    for reg in sorted({r for v in views for r in v.abi.host_levels}):
        levels = {v.abi.host_levels[reg].value if reg in v.abi.host_levels else None for v in views}
        if len(levels) == 1 and None not in levels:
            out.append((regs.register_name(reg), level_name(reg, next(iter(levels)) or 0)))
    return out


def obstacles(pairs: Sequence[PairResult], host: str, limit: Severity) -> tuple[Obstacle, ...]:
    found: dict[str, tuple[str, set[str], str]] = {}
    for pair in pairs:
        other = pair.destination if pair.source == host else pair.source
        for f in blocking(pair.findings, limit):
            found.setdefault(f.rule, (f.severity.value, set(), f.message))[1].add(other)
    ordered = sorted(found.items(), key=lambda kv: (kv[1][0] != "error", kv[0]))
    return tuple(Obstacle(rule, sev, tuple(sorted(m)), reason(rule), ex) for rule, (sev, m, ex) in ordered)


def build_report(outcome: Outcome, inputs: Sequence[str], refs: References, out_dir: Path | None,
                 limit: Severity, rule_ids: Sequence[str]) -> BaselineReport:
    hosts = outcome.hosts
    best = outcome.sets[0]
    names = [hosts[i].info.name for i in best.members]
    excluded = tuple(
        Excluded(hosts[e.host].info.name, obstacles(e.pairs, hosts[e.host].info.name, limit))
        for e in outcome.excluded
    )
    files = files_of(best, hosts, refs)
    shown_dir = display_path(out_dir) if out_dir is not None else "DIR"
    extra = refs.check_roots()[1:] if out_dir is not None else refs.check_roots()
    roots = " ".join(f"--root {display_path(r)}" for r in extra)
    check: tuple[str, ...] = (f"abi-check lint {shown_dir}",)
    if len(names) > 1:
        a, b = (f"{shown_dir}/hosts/{n}.yaml" for n in names[:2])
        check += (" ".join(filter(None, ["abi-check pair --both", f"--root {shown_dir}", roots, a, b])),)
    pairs = tuple(outcome.verified) + tuple(p for e in outcome.excluded for p in e.pairs)
    result = Result("baseline", pairs, tuple(inputs), tuple(rule_ids))
    return BaselineReport(
        result=result,
        members=tuple(names),
        configuration=tuple(describe(best.overlay)),
        levels=tuple(shared_levels(best)),
        notes=best.notes,
        files=tuple(files),
        output_dir=display_path(out_dir) if out_dir is not None else None,
        check=check,
        before=verdicts(outcome.before),
        after=verdicts(outcome.verified),
        other_sets=tuple(tuple(hosts[i].info.name for i in s.members) for s in outcome.sets[1:]),
        excluded=excluded,
    )


def run_baseline(
    paths: Sequence[Path],
    *,
    output_dir: Path | None,
    fmt: Format,
    fail_on: FailOn | None,
    rule_dirs: Sequence[Path],
    roots: Sequence[Path],
    output: Path | None,
) -> int:
    rules = load_rules(rule_dirs)
    hosts = load_hosts(paths, roots)
    if output_dir is not None and output_dir.exists() and not output_dir.is_dir():
        raise InputError(None, f"{output_dir}: exists and is not a directory", "give a directory for --output-dir")
    limit = threshold(fail_on or FailOn.WARNING)  # unsafe: a warning or worse, unless --fail-on says
    shown = display_path(output_dir) if output_dir is not None else ""

    def where(stem: str) -> str:
        return f"{shown}/{stem}.yaml" if shown else f"{stem}.yaml"

    outcome = Reconciler(hosts, rules, limit, where).run()
    refs = References(output_dir, roots)
    report = build_report(outcome, [display_path(p) for p in paths], refs, output_dir, limit, rules.ids())
    if output_dir is not None:
        for relative, text in report.files:
            target = output_dir / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            write_output(text, target)
        verify_written(output_dir, outcome.verified, refs, rules)
    color = fmt is Format.TEXT and output is None and sys.stdout.isatty() and not os.environ.get("NO_COLOR")
    write_output(render(report, fmt, color, text_width(output)), output)
    return answer_exit_code(report.result.findings, fail_on)

