"""``abi-check fence``: over an ordered history of kernels and VMMs, where rollback becomes free."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from abi_check.abi.effective import effective_abi
from abi_check.abi.views import HostView
from abi_check.commands.baseline.reconcile import blocking, threshold
from abi_check.errors import InputError, InputErrors
from abi_check.exitcodes import ExitCode
from abi_check.report.fence import Blocking, FenceCell, FenceReport, render
from abi_check.report.formats import Format
from abi_check.report.output import write_output
from abi_check.report.wrap import text_width
from abi_check.rules.engine import RuleSet, check_pair, load_rules
from abi_check.spec.catalogue import SPEC_SUFFIXES, SpecRoots
from abi_check.spec.hostcheck import ErrorList, check_host
from abi_check.spec.loader import SpecLoader
from abi_check.spec.model import Cpu, Host, Kernel, Kind, Spec, SpecInfo, Vmm
from abi_check.spec.named import load_named
from abi_check.verdict.findings import INTERNAL_ERROR, Severity
from abi_check.verdict.result import FailOn, PairResult, Result, answer_exit_code

DEFAULT_CPU = "neoverse-n1"
DEFAULT_VCPUS = 16


@dataclass(frozen=True, slots=True)
class Combination:
    """Kernel i with VMM j: one host per CPU, or the reasons they cannot make a VM together."""

    i: int
    j: int
    kernel: Kernel
    vmm: Vmm
    hosts: tuple[Host, ...]
    errors: tuple[str, ...]

    @property
    def label(self) -> str:
        return f"{self.kernel.info.name} + {self.vmm.info.name}"

    def within(self, i: int, j: int) -> bool:
        """Is this combination at or after (i, j) in both histories?"""
        return self.i >= i and self.j >= j


@dataclass(frozen=True, slots=True)
class Unsafe:
    """A migration between two combinations (on one CPU) with findings at or above the threshold."""

    source: Combination
    destination: Combination
    pair: PairResult
    rules: tuple[str, ...]
    worst: Severity


@dataclass(frozen=True, slots=True)
class Cell:
    combination: Combination
    status: str  # fence | safe | unsafe | invalid
    reasons: tuple[Unsafe, ...] = ()  # unsafe: the pairs that keep it so, the one to show first

    @property
    def rules(self) -> tuple[str, ...]:
        """Every rule that keeps this combination unsafe: the first one of the pair shown first, then errors."""
        rank: dict[str, int] = {}
        for u in self.reasons:
            for f in u.pair.findings:
                if f.rule in u.rules:
                    rank[f.rule] = min(rank.get(f.rule, 9), f.severity.rank)
        primary = self.reasons[0].rules[0] if self.reasons else ""
        return tuple(sorted(rank, key=lambda r: (r != primary, rank[r], r)))


def combine(kernels: Sequence[Kernel], vmms: Sequence[Vmm], cpus: Sequence[Cpu], vcpus: int) -> list[Combination]:
    out = []
    for i, kernel in enumerate(kernels):
        for j, vmm in enumerate(vmms):
            hosts: list[Host] = []
            errors: list[str] = []
            for cpu in cpus:
                parts = [kernel.info.name, vmm.info.name] if len(cpus) == 1 else [cpu.info.name, kernel.info.name,
                                                                                    vmm.info.name]
                info = SpecInfo(Kind.HOST, "/".join(parts), kernel.info.path, kernel.info.span, ("abi-check fence",))
                host = Host(info, kernel, vmm, cpu, vcpus)
                sink = ErrorList()
                check_host(sink, host)
                errors += [e.message for e in sink.errors]
                hosts.append(host)
            out.append(Combination(i, j, kernel, vmm, tuple(hosts), tuple(dict.fromkeys(errors))))
    return out


def unsafe_pairs(combos: Sequence[Combination], rules: RuleSet, limit: Severity) -> tuple[list[Unsafe], bool]:
    """Every unsafe migration between two valid combinations on the same CPU; and whether a rule crashed."""
    valid = [c for c in combos if not c.errors]
    views = {(id(c), k): HostView(effective_abi(h)) for c in valid for k, h in enumerate(c.hosts)}
    out: list[Unsafe] = []
    crashed = False
    for a in valid:
        for b in valid:
            if a is b:
                continue
            for k in range(len(a.hosts)):
                src, dst = views[(id(a), k)], views[(id(b), k)]
                findings = check_pair(rules, src, dst)
                crashed |= any(f.rule == INTERNAL_ERROR for f in findings)
                bad = blocking(findings, limit)
                if bad:
                    pair = PairResult(src.name, dst.name, tuple(findings))
                    ranked = sorted(bad, key=lambda f: (f.severity.rank, f.rule))
                    names = tuple(dict.fromkeys(f.rule for f in ranked))
                    out.append(Unsafe(a, b, pair, names, ranked[0].severity))
    return out, crashed


def classify(combos: Sequence[Combination], unsafe: Sequence[Unsafe], n: int, m: int) -> list[list[Cell]]:
    """A combination is safe when no unsafe migration has both ends at or after it."""
    grid: list[list[Cell]] = []
    for i in range(n):
        row = []
        for j in range(m):
            combo = combos[i * m + j]
            if combo.errors:
                row.append(Cell(combo, "invalid"))
                continue
            inside = [u for u in unsafe if u.source.within(i, j) and u.destination.within(i, j)]
            if not inside:
                row.append(Cell(combo, "safe"))
                continue
            mine = [u for u in inside if combo in (u.source, u.destination)] or inside

            def order(u: Unsafe, c: Combination = combo) -> tuple[int, int, int, str]:
                other = u.source if u.destination is c else u.destination
                distance = abs(other.i - c.i) + abs(other.j - c.j)
                # A rollback onto this combination first, then the worst finding, then the nearest combination.
                return (0 if u.destination is c else 1, u.worst.rank, distance, u.pair.source + u.pair.destination)

            row.append(Cell(combo, "unsafe", tuple(sorted(mine, key=order))))
        grid.append(row)
    for row in grid:
        for j, cell in enumerate(row):
            c = cell.combination
            if cell.status == "safe" and not any(
                other.status in ("safe", "fence") and other is not cell
                and other.combination.i <= c.i and other.combination.j <= c.j
                for r in grid for other in r
            ):
                row[j] = Cell(c, "fence")
    return grid


def fence(kernels: Sequence[Kernel], vmms: Sequence[Vmm], cpus: Sequence[Cpu], vcpus: int, rules: RuleSet,
          limit: Severity) -> tuple[list[list[Cell]], bool]:
    combos = combine(kernels, vmms, cpus, vcpus)
    unsafe, crashed = unsafe_pairs(combos, rules, limit)
    return classify(combos, unsafe, len(kernels), len(vmms)), crashed


def run_fence(
    kernels: Sequence[str],
    *,
    vmms: Sequence[str],
    cpus: Sequence[str],
    vcpus: int,
    fmt: Format,
    fail_on: FailOn | None,
    rule_dirs: Sequence[Path],
    roots: Sequence[Path],
    output: Path | None,
) -> int:
    rules = load_rules(rule_dirs)
    paths = [Path(r) for r in (*kernels, *vmms, *cpus) if "/" in r or r.endswith(SPEC_SUFFIXES)]
    spec_roots = SpecRoots.for_inputs([p for p in paths if p.exists()], roots)
    loader = SpecLoader(spec_roots)
    errors: list[InputError] = []
    loaded: dict[str, list[Spec]] = {}
    for option, refs, kind in (("KERNEL", kernels, Kind.KERNEL), ("--vmm", vmms, Kind.VMM),
                               ("--cpu", cpus or [DEFAULT_CPU], Kind.CPU)):
        try:
            loaded[option] = load_named(refs, kind, option, loader, spec_roots)
        except InputErrors as exc:
            errors.extend(exc.errors)
    if errors:
        raise InputErrors(errors)
    ks = [k for k in loaded["KERNEL"] if isinstance(k, Kernel)]
    vs = [v for v in loaded["--vmm"] if isinstance(v, Vmm)]
    cs = [c for c in loaded["--cpu"] if isinstance(c, Cpu)]
    limit = threshold(fail_on or FailOn.WARNING)  # unsafe: a warning or worse, unless --fail-on says
    grid, crashed = fence(ks, vs, cs, vcpus, rules, limit)
    if all(cell.status == "invalid" for row in grid for cell in row):
        first = grid[0][0].combination
        raise InputError(None, f"no kernel and VMM given can make a VM together (first: {first.label}: "
                         f"{first.errors[0]})", "check the VMMs' vcpu-features and writes against the kernels")
    report = build_report(ks, vs, cs, vcpus, limit, grid, rules)
    color = fmt is Format.TEXT and output is None and sys.stdout.isatty() and not os.environ.get("NO_COLOR")
    write_output(render(report, fmt, color, text_width(output)), output)
    code = answer_exit_code(report.result.findings, fail_on)
    return code | ExitCode.TOOL_FAILURE if crashed else code


def build_report(kernels: Sequence[Kernel], vmms: Sequence[Vmm], cpus: Sequence[Cpu], vcpus: int, limit: Severity,
                 grid: list[list[Cell]], rules: RuleSet) -> FenceReport:
    fences = sorted((c for row in grid for c in row if c.status == "fence"), key=lambda c: c.combination.i)
    shown: dict[tuple[str, str], PairResult] = {}
    for row in grid:
        for cell in row:
            if cell.reasons:
                pair = cell.reasons[0].pair
                shown.setdefault((pair.source, pair.destination), pair)
    names = [*(k.info.name for k in kernels), *(v.info.name for v in vmms), *(c.info.name for c in cpus)]
    result = Result("fence", tuple(shown.values()), tuple(names), tuple(rules.ids()))
    return FenceReport(
        kernels=tuple(k.info.name for k in kernels),
        vmms=tuple(v.info.name for v in vmms),
        cpus=tuple(c.info.name for c in cpus),
        vcpus=vcpus,
        limit=limit,
        cells=tuple(tuple(_record(c) for c in row) for row in grid),
        fence=tuple(_record(c) for c in fences),
        result=result,
    )


def _record(cell: Cell) -> FenceCell:
    """A grid cell as the reporter sees it: names, status, rules and the pair that blocks it, nothing live."""
    combination = cell.combination
    blocking = None
    if cell.reasons:
        first = cell.reasons[0]
        message = next(f.message for f in first.pair.findings if f.rule == first.rules[0])
        blocking = Blocking(first.pair.source, first.pair.destination, first.rules, message)
    return FenceCell(combination.kernel.info.name, combination.vmm.info.name, cell.status, cell.rules,
                     combination.errors, blocking)
