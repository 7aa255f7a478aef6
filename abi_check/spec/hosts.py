"""The hosts a command compares: host specs named directly and every host spec below named directories."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from abi_check.errors import InputErrors, SpecError
from abi_check.spec.catalogue import SPEC_SUFFIXES, SpecRoots, expand
from abi_check.spec.loader import SpecLoader, display_path
from abi_check.spec.model import Host


def load_hosts(paths: Sequence[Path], roots: Sequence[Path]) -> list[Host]:
    """Host specs named directly, and every host spec below named directories (other specs there are skipped)."""
    found, errors = expand(paths)
    files = [f for f in found if f.suffix in SPEC_SUFFIXES]
    loader = SpecLoader(SpecRoots.for_inputs(paths, roots))
    direct = {p.resolve() for p in paths if p.is_file()}
    hosts: list[Host] = []
    seen: dict[str, Path] = {}
    taken: set[Path] = set()
    for path in files:
        try:
            spec = loader.load(path)
        except InputErrors as exc:
            errors.extend(exc.errors)
            continue
        if not isinstance(spec, Host):
            if path.resolve() in direct:
                errors.append(
                    SpecError(
                        spec.info.span,
                        f"{spec.info.name} is a {spec.info.kind} spec, expected a host spec",
                        "give host specs, or directories that hold them",
                    )
                )
            continue
        resolved = loader.canonical(path)
        if resolved in taken:
            continue  # the same file named twice (directly and through its directory) counts once
        first = seen.setdefault(spec.info.name, resolved)
        if first != resolved:
            errors.append(
                SpecError(
                    spec.info.span,
                    f"host name '{spec.info.name}' is also used by {display_path(first)}",
                    "host names label the results; give each host its own",
                )
            )
            continue
        taken.add(resolved)
        hosts.append(spec)
    if not hosts and not errors:
        shown = ", ".join(display_path(p) for p in paths)
        errors.append(SpecError(None, f"no host specs in {shown}", "a host spec has 'kind: host'"))
    if errors:
        raise InputErrors(errors)
    return hosts
