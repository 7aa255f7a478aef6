"""``abi-check lint``: load every given spec, report every problem, exit 2 if any."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from abi_check.abi.effective import effective_abi
from abi_check.errors import InputErrors, Span, SpecError
from abi_check.exitcodes import ExitCode
from abi_check.spec.catalogue import SPEC_SUFFIXES, SpecRoots, expand
from abi_check.spec.loader import SpecLoader, display_path
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
    for error in ordered:
        print(error.render(), file=err)
    noun = "spec" if len(files) == 1 else "specs"
    if ordered:
        print(f"{len(files)} {noun} checked, {len(ordered)} error(s)", file=err)
        return ExitCode.INPUT_ERROR
    print(f"{len(files)} {noun} checked, no errors", file=err)
    return ExitCode.OK
