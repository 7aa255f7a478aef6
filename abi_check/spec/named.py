"""Specs named on the command line: by catalogue name (linux-6.12) or by path, every bad one reported."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from abi_check.errors import InputError, InputErrors, Span, SpecError
from abi_check.spec.catalogue import SPEC_SUFFIXES, SpecRoots
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
