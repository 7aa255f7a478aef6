"""``abi-check matrix``: the verdict of every directional pair of a set of hosts, migration domains, reports."""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

from abi_check.config.settings import Settings
from abi_check.errors import printable
from abi_check.exitcodes import ExitCode
from abi_check.matrix.domains import find_domains
from abi_check.matrix.grid import Matrix, build_matrix
from abi_check.report.emit import emit
from abi_check.report.formats import RESULT_FORMATS, MatrixFormat, matrix_reporter
from abi_check.report.matrix_report import FINDINGS_HOST_LIMIT, MatrixReport
from abi_check.report.output import write_chunks
from abi_check.report.progress import ProgressBar
from abi_check.resources import catalogue_dir
from abi_check.spec.hosts import load_hosts
from abi_check.spec.loader import display_path
from abi_check.spec.named import named_paths
from abi_check.verdict.result import FailOn, PairResult, Result


def run_matrix(
    specs: Sequence[Path],
    *,
    fmt: MatrixFormat,
    settings: Settings,
    output: Path | None,
    jobs: int | None,
    findings: bool | None,
) -> int:
    paths = named_paths(specs, settings.roots) or [catalogue_dir() / "hosts"]
    hosts = load_hosts(paths, settings.roots)
    workers = worker_count(jobs, len(hosts), len(settings.rules.rules))
    with ProgressBar("evaluating rules") as progress:
        matrix = build_matrix(hosts, settings.rules, workers, progress, settings.policy.severity)
    # The hosts, views and rule tables now live to the end of the run: frozen, the collector's full passes no
    # longer walk them while the domains and the report are made (up to a few tenths of a second at 1,000 hosts).
    gc.freeze()
    try:
        return _report(matrix, paths, fmt=fmt, settings=settings, output=output, findings=findings)
    finally:
        gc.unfreeze()


def _report(
    matrix: Matrix,
    paths: Sequence[Path],
    *,
    fmt: MatrixFormat,
    settings: Settings,
    output: Path | None,
    findings: bool | None,
) -> int:
    hosts = matrix.hosts
    inputs = tuple(display_path(p) for p in paths)
    if fmt in RESULT_FORMATS:
        code = emit(_as_result(matrix, inputs, settings), RESULT_FORMATS[fmt], output)
        _wrote(output, len(hosts))
        return code
    domains, separations = find_domains(matrix)  # independent of --fail-on, which sets only the exit code
    with_findings = findings if findings is not None else len(hosts) <= FINDINGS_HOST_LIMIT
    report = MatrixReport(matrix, domains, separations, settings.fail_on, inputs, with_findings)
    color = fmt is MatrixFormat.TEXT and output is None and sys.stdout.isatty() and not os.environ.get("NO_COLOR")
    if fmt is MatrixFormat.TEXT:
        from abi_check.report.matrix_text import render as text
        from abi_check.report.wrap import text_width

        chunks: Iterable[str] = text(report, color, text_width(output))
    else:
        chunks = matrix_reporter(fmt)(report, color)
    write_chunks(chunks, output, terminal=color)
    _wrote(output, len(hosts))
    return exit_code(report)


def _wrote(output: Path | None, hosts: int) -> None:
    """``-o FILE`` writes nothing on stdout: say on stderr, in one line, what was written."""
    if output is not None:
        print(printable(f"wrote {output} ({hosts} hosts, {hosts * hosts} pairs)"), file=sys.stderr)


# Fewer evaluations than this per worker cost more in forking and pickling than they save.
EVALUATIONS_PER_WORKER = 2000


def available_cpus() -> int:
    """CPUs this process may run on (its affinity mask, which containers and taskset narrow), else all of them."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def worker_count(requested: int | None, hosts: int, rules: int) -> int:
    """Worker processes for a matrix: what was asked (default: every available CPU), never more than the CPUs
    available nor than the work needs; 1 runs in-process, with no pool. ``requested`` below 1 is refused by
    the command line (exit 2) and treated as the default here."""
    work = max(1, hosts * hosts * max(rules, 1) // EVALUATIONS_PER_WORKER)
    wanted = requested if requested is not None and requested > 0 else available_cpus()
    return max(1, min(wanted, available_cpus(), work))


def _as_result(matrix: Matrix, inputs: tuple[str, ...], settings: Settings) -> Result:
    """Every host pair with its findings, for the formats pair and gate share (SARIF, JUnit, GitHub)."""
    n = len(matrix.hosts)
    names = [h.name for h in matrix.hosts]
    pairs = tuple(
        PairResult(names[a], names[b], tuple(matrix.findings(a, b))) for a in range(n) for b in range(n)
    )
    rules = settings.rules
    return Result(
        "matrix", pairs, inputs, tuple(rules.ids()), fail_on=settings.fail_on, rule_docs=settings.policy.docs(rules)
    )


def exit_code(report: MatrixReport) -> int:
    """The exit codes over every cell, as for a pair: 8 a pair fails, 4 a guest ABI change (or notes at --fail-on
    note), combined; 1 when a rule crashed, whatever the threshold."""
    code = 0
    matrix = report.matrix
    rank = {FailOn.ERROR: 0, FailOn.WARNING: 1, FailOn.NOTE: 2, FailOn.NEVER: -1}[report.fail_on]
    for outcome in matrix.outcomes():
        errors, warnings, notes = outcome.counts
        if outcome.crashes:
            code |= ExitCode.TOOL_FAILURE
        if errors - outcome.crashes and rank >= 0:
            code |= ExitCode.MIGRATION_FAILS
        if (warnings and rank >= 1) or (notes and rank >= 2):
            code |= ExitCode.ABI_CHANGE
    return code
