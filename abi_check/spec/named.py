"""Specs named on the command line: by catalogue name (linux-6.12) or by path, every bad one reported."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from abi_check.errors import InputError, InputErrors, Span, SpecError
from abi_check.spec.catalogue import SPEC_SUFFIXES, SpecRoots, spec_tree
from abi_check.spec.loader import SpecLoader
from abi_check.spec.model import Kind, Spec


def load_named(refs: Sequence[str], kind: Kind, option: str, loader: SpecLoader, roots: SpecRoots) -> list[Spec]:
    """Specs named on the command line by catalogue name or by path; every bad one reported."""
    out: list[Spec] = []
    errors: list[InputError] = []
    seen: set[str] = set()
    for ref in refs:
        try:
            if "/" in ref or ref.endswith(SPEC_SUFFIXES):
                if not Path(ref).is_file():
                    raise SpecError(None, f"{option} {ref}: no such spec file")
                spec = loader.load(Path(ref), kind)
            else:
                try:
                    path = roots.resolve(ref, Span("<command line>", 1, 1), Path.cwd() / "-")
                except SpecError as exc:
                    raise SpecError(None, f"{option} {ref}: {exc.message}", exc.hint) from None
                spec = loader.load(path, kind)
        except InputErrors as exc:
            errors.extend(exc.errors)
            continue
        except SpecError as exc:
            errors.append(exc)
            continue
        if spec.info.name in seen:
            errors.append(SpecError(None, f"{option} {ref}: {spec.info.name} is given twice",
                                    "list each release once, oldest first"))
            continue
        seen.add(spec.info.name)
        out.append(spec)
    if errors:
        raise InputErrors(errors)
    return out


def name_roots(configured: Sequence[Path]) -> list[Path]:
    """Where a name given on the command line is looked up, before the shipped catalogue: the configured roots,
    then the spec tree of the working directory (or of its specs/)."""
    cwd = Path.cwd()
    found = [spec_tree(cwd), spec_tree(cwd / "specs") if (cwd / "specs").is_dir() else None]
    return [*configured, *(p for p in found if p is not None)]


def is_name(ref: Path) -> bool:
    """A bare spec name (n1-linux-6.13-qemu-10.2), not a path, and no file of that name here."""
    text = str(ref)
    return not ("/" in text or text.endswith(SPEC_SUFFIXES) or ref.exists())


def resolve_name(ref: Path, roots: SpecRoots) -> Path:
    """The file a name on the command line stands for, or an error with a did-you-mean."""
    try:
        return roots.resolve(str(ref), Span("<command line>", 1, 1), Path.cwd() / "-")
    except SpecError as exc:
        raise SpecError(None, f"{ref}: {exc.message}", exc.hint) from None


def named_paths(paths: Sequence[Path], configured: Sequence[Path]) -> list[Path]:
    """Paths as given, with each bare name replaced by the file it names; every unknown name reported."""
    roots = SpecRoots.for_inputs([], name_roots(configured))
    out: list[Path] = []
    errors: list[InputError] = []
    for path in paths:
        try:
            out.append(resolve_name(path, roots) if is_name(path) else path)
        except SpecError as exc:
            errors.append(exc)
    if errors:
        raise InputErrors(errors)
    return out
