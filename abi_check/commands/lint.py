"""``abi-check lint``: load every given spec, report every problem, exit 2 if any."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from abi_check.abi.effective import effective_abi
from abi_check.errors import InputError, InputErrors, Span, SpecError, printable
from abi_check.exitcodes import ExitCode
from abi_check.spec.catalogue import SPEC_SUFFIXES, SpecRoots, expand
from abi_check.spec.loader import BrokenReference, SpecLoader, display_path
from abi_check.spec.model import Host


def lint(paths: Sequence[Path], roots: Sequence[Path] = (), stderr: TextIO | None = None) -> int:
    err = stderr or sys.stderr
    files, errors = expand(paths)
    loader = SpecLoader(SpecRoots.for_inputs(paths, roots))
    for path in files:
        if path.suffix not in SPEC_SUFFIXES:
            errors.append(SpecError(Span(display_path(path), 1, 1), "not a .yaml file"))
            continue
        try:
            spec = loader.load(path)
            if isinstance(spec, Host):
                effective_abi(spec)
        except InputErrors as exc:
            errors.extend(exc.errors)
    unique = {(e.span, e.message): e for e in errors}
    ordered = sorted(unique.values(), key=lambda e: (e.span or Span("", 0, 0), e.message))
    causes = [e for e in ordered if not _follows(e, ordered)]
    for error in causes:
        print(error.render(), file=err)
    for cause, users in _dependents(ordered, causes).items():
        names = ", ".join(str(e.span.path) for e in users if e.span is not None)
        print(printable(f"{cause}: {len(users)} spec(s) that use it are not checked until it loads: {names}"),
              file=err)
    noun = "spec" if len(files) == 1 else "specs"
    if ordered:
        print(f"{len(files)} {noun} checked, {len(causes)} error(s)", file=err)
        return ExitCode.INPUT_ERROR
    print(f"{len(files)} {noun} checked, no errors", file=err)
    return ExitCode.OK


def _follows(error: InputError, reported: Sequence[InputError]) -> bool:
    """A reference to a spec whose own error is reported: said once, after the root cause."""
    if not isinstance(error, BrokenReference) or error.cause is None:
        return False
    return any(e.span is not None and e.span.path == error.cause.path for e in reported if e is not error)


def _dependents(ordered: Sequence[InputError], causes: Sequence[InputError]) -> dict[str, list[InputError]]:
    """The specs each root cause keeps from loading, by the file of the cause."""
    out: dict[str, list[InputError]] = {}
    for error in ordered:
        if error not in causes and isinstance(error, BrokenReference) and error.cause is not None:
            out.setdefault(error.cause.path, []).append(error)
    return out
