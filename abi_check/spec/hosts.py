"""The hosts a command compares: host specs named directly and every host spec below named directories."""

from __future__ import annotations

import gc
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from abi_check.errors import InputErrors, SpecError
from abi_check.spec.catalogue import SPEC_SUFFIXES, SpecRoots, expand
from abi_check.spec.loader import SpecLoader, display_path
from abi_check.spec.model import Host

if TYPE_CHECKING:
    from abi_check.spec.nodecache import NodePack


def load_hosts(paths: Sequence[Path], roots: Sequence[Path]) -> list[Host]:
    """Host specs named directly, and every host spec below named directories (other specs there are skipped)."""
    # Loading a fleet makes and keeps hundreds of thousands of small objects (nodes, spans, specs) and no cycles
    # worth collecting; the cyclic collector would walk the growing heap again and again (about a fifth of the
    # time of 10,000 hosts). It runs again, as before, once the hosts are loaded.
    from abi_check.spec.nodecache import NodePack

    enabled = gc.isenabled()
    gc.disable()
    # The files' nodes are kept between runs in one pack for these inputs (spec/nodecache.py, docs/security.md).
    pack = NodePack([str(p.absolute()) for p in (*paths, *roots)])
    try:
        return _load_hosts(paths, roots, pack)
    finally:
        pack.save()
        if enabled:
            gc.enable()


def _load_hosts(paths: Sequence[Path], roots: Sequence[Path], pack: NodePack) -> list[Host]:
    found, errors = expand(paths)
    files = [f for f in found if f.suffix in SPEC_SUFFIXES]
    loader = SpecLoader(SpecRoots.for_inputs(paths, roots), pack)
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
