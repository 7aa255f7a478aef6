"""``abi-check gate``: the findings a change to the specs introduces, judged against a git ref."""

from __future__ import annotations

import dataclasses
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from abi_check.commands.gate.gitref import GitError, read_tree, repo_root, resolve_commit
from abi_check.commands.gate.locate import Locator, changed_files
from abi_check.commands.gate.plan import Gate, Plan
from abi_check.commands.gate.tree import Tree
from abi_check.config.settings import Settings
from abi_check.config.waivers import apply_waivers, waiver_text
from abi_check.errors import ConfigError, Span, printable
from abi_check.report.emit import emit_all
from abi_check.report.formats import Format
from abi_check.report.groups import root_causes
from abi_check.report.output import write_output
from abi_check.spec.catalogue import spec_tree
from abi_check.spec.loader import display_path
from abi_check.verdict.findings import Finding
from abi_check.verdict.result import PairResult, Result


def _gate_dirs(paths: Sequence[Path], settings: Settings, cwd: Path) -> list[Path]:
    chosen = list(paths) or list(settings.roots) or ([cwd / "specs"] if (cwd / "specs").is_dir() else [])
    if not chosen:
        raise ConfigError(
            None,
            "no spec directory to gate",
            "name it: abi-check gate --against REF specs/ (or set spec-roots in .abi-check.yaml)",
        )
    out: list[Path] = []
    for given in chosen:
        path = (cwd / given).resolve()
        if not path.exists():
            raise ConfigError(None, f"{given}: no such file or directory")
        directory = path if path.is_dir() else path.parent
        if directory not in out:
            out.append(directory)
    return out


def _inside(dirs: list[Path], root: Path) -> None:
    for directory in dirs:
        if not directory.is_relative_to(root):
            raise GitError(None, f"{display_path(directory)} is outside the repository at {root}",
                           "gate checks the specs a repository tracks; run it from that repository")


def _remap(span: Span | None, ref: str, old_base: Path, root: Path, changed: dict[str, str]) -> Span | None:
    """A place in the ref's copy of a spec, as the user can find it: the working-tree file when that file did
    not change (same lines), else REF:path."""
    if span is None:
        return None
    path = Path(span.path)
    absolute = (path if path.is_absolute() else Path.cwd() / path).resolve()
    if not absolute.is_relative_to(old_base):
        return span
    rel = absolute.relative_to(old_base).as_posix()
    if rel in changed:
        return Span(f"{ref}:{rel}", span.line, span.col)
    return Span(display_path(root / rel), span.line, span.col)


def run_gate(
    against: str,
    paths: Sequence[Path],
    *,
    fmt: Format,
    settings: Settings,
    output: Path | None,
    fleet: bool = True,
    err: TextIO | None = None,
    files: Sequence[tuple[Format, Path]] = (),
    write_waivers: Path | None = None,
) -> int:
    err = err or sys.stderr
    cwd = Path.cwd().resolve()
    dirs = _gate_dirs(paths, settings, cwd)
    root = repo_root(dirs[0])
    _inside(dirs, root)
    commit = resolve_commit(root, against)
    lookup = [(cwd / p).resolve() for p in settings.roots]
    for directory in dirs:  # the spec tree a gate directory sits in (specs/ for specs/hosts): names resolve there
        tree = spec_tree(directory)
        if tree is not None and tree not in lookup:
            lookup.append(tree)
    lookup = [p for p in lookup if p not in dirs]
    with tempfile.TemporaryDirectory(prefix="abi-check-gate-") as tmp:
        old_base = Path(tmp).resolve()
        in_repo = [p for p in [*dirs, *lookup] if p.is_relative_to(root)]
        for rel, data in read_tree(root, commit, [p.relative_to(root).as_posix() for p in in_repo]).items():
            target = old_base / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)

        def at_ref(p: Path) -> Path:
            return old_base / p.relative_to(root) if p.is_relative_to(root) else p

        new = Tree(root, dirs, lookup)
        old = Tree(old_base, [at_ref(d) for d in dirs], [at_ref(p) for p in lookup])
        plan = Gate(new, old, settings, fleet).run()

        locator = Locator(changed_files(plan.changed, root, old_base), against)

        def moved(f: Finding) -> Finding:
            span = _remap(f.span, against, old_base, root, plan.changed)
            return dataclasses.replace(f, span=locator.locate(span, f.subject))

        reported = [p for p in plan.pairs if p.change or p.introduced]
        pairs = tuple(PairResult(p.source, p.destination, tuple(moved(f) for f in p.introduced)) for p in reported)
        seen = [f for p in plan.pairs for f in p.found if f not in p.introduced]
    rules = settings.rules
    result = Result(
        "gate",
        pairs,
        tuple(display_path(d) for d in dirs),
        tuple(rules.ids()),
        extra={
            "gate": {
                "against": against,
                "commit": commit,
                "changed": [{"path": k, "status": v} for k, v in plan.changed.items()],
                "affected-hosts": plan.affected,
                "synthetic-hosts": plan.synthetic,
                "evaluated-pairs": len(plan.pairs),
                "notes": plan.notes,
                "outputs": [{"format": f.value, "path": display_path(p)} for f, p in files],
            }
        },
        fail_on=settings.fail_on,
        rule_docs=settings.policy.docs(rules),
    )
    result = apply_waivers(
        result, settings.waivers, settings.today, seen=seen, evaluated=[(p.source, p.destination) for p in plan.pairs]
    )
    _summary(result, plan, against, commit, err)
    if write_waivers is not None:
        _write_waivers(result, write_waivers, err)
    return emit_all(result, fmt, output, files)


def _write_waivers(result: Result, path: Path, err: TextIO) -> None:
    """Adoption: accept what the run reports today, for a person to give each a reason."""
    if path.exists():
        raise ConfigError(None, f"--write-waivers {display_path(path)}: the file exists",
                          "write to a new file and merge the waivers you keep by hand (reasons would be lost)")
    findings = result.findings
    write_output(waiver_text(findings), path)
    print(f"  wrote {len(findings)} waiver(s) to {printable(display_path(path))}: each needs a reason before the "
          "gate accepts the file (--waivers, or waivers: in .abi-check.yaml)", file=err)


def _summary(result: Result, plan: Plan, against: str, commit: str, err: TextIO) -> None:
    if not plan.changed:
        print(f"abi-check gate: no spec changed against {against} ({commit[:12]})", file=err)
        return
    changed = printable(", ".join(f"{k} ({v})" for k, v in plan.changed.items()))
    print(f"abi-check gate: against {against} ({commit[:12]}): {len(plan.changed)} spec file(s) changed: {changed}",
          file=err)
    if plan.affected:
        print(f"  affected hosts ({len(plan.affected)}): {', '.join(plan.affected)}", file=err)
    if plan.synthetic:
        print(f"  checked on synthetic hosts: {', '.join(plan.synthetic)}", file=err)
    for note in plan.notes:
        print(f"  note: {printable(note)}", file=err)
    counts = result.counts()
    waived = len(result.waived)
    introduced = sum(counts.values()) + waived
    causes = len(root_causes([*result.findings, *(w.finding for w in result.waived)]))
    print(f"  {len(plan.pairs)} pair(s) evaluated; {introduced} finding(s) introduced in {causes} root cause(s): "
          f"{counts['error']} error(s), {counts['warning']} warning(s), {counts['note']} note(s), {waived} waived",
          file=err)
