"""``abi-check pair``: check a migration from one host to another (and back, with --both).

SRC and DST are host specs, by file or by name (``n1-linux-6.13-qemu-10.2``), or two kernel (VMM, CPU) specs:
those are checked on the same synthetic host the gate uses, a host of the catalogue with that part replaced.
"""

from __future__ import annotations

import gc
import sys
from pathlib import Path

from abi_check.abi.effective import effective_abi
from abi_check.abi.views import HostView
from abi_check.commands.synthetic import host_errors, with_component
from abi_check.config.settings import Settings
from abi_check.config.waivers import apply_waivers
from abi_check.errors import InputError, InputErrors, SpecError, printable
from abi_check.report.emit import emit
from abi_check.report.formats import Format
from abi_check.resources import catalogue_dir
from abi_check.rules.engine import check_pair
from abi_check.spec.catalogue import SpecRoots, iter_spec_files
from abi_check.spec.loader import SpecLoader, display_path
from abi_check.spec.model import Host, Spec
from abi_check.spec.named import named_paths
from abi_check.verdict.result import PairResult, Result


def load_ref(ref: Path, loader: SpecLoader) -> Spec:
    if not ref.exists():
        raise SpecError(None, f"{ref}: no such spec file")
    return loader.load(ref)


def _templates(a: Spec, b: Spec, loader: SpecLoader) -> list[Host]:
    """Catalogue hosts that could carry both parts: those built on A or B first, then on their nearest ancestors,
    then the rest."""
    part = a.info.kind.value
    hosts: list[Host] = []
    for path in iter_spec_files(catalogue_dir() / "hosts"):
        try:
            spec = loader.load(path)
        except InputErrors:
            continue
        if isinstance(spec, Host):
            hosts.append(spec)
    wanted = [a.info.name, b.info.name, *a.info.extends, *b.info.extends]

    def rank(h: Host) -> tuple[int, str]:
        used = getattr(h, part).info.name
        return (wanted.index(used) if used in wanted else len(wanted), h.info.name)

    return sorted(hosts, key=rank)


def synthetic_pair(a: Spec, b: Spec, loader: SpecLoader) -> tuple[Host, Host]:
    for template in _templates(a, b, loader):
        src = with_component(template, a, f"{template.info.name}+{a.info.name}")
        dst = with_component(template, b, f"{template.info.name}+{b.info.name}")
        if not host_errors(src) and not host_errors(dst):
            print(f"abi-check pair: {printable(a.info.name)} -> {printable(b.info.name)} on {template.info.name} "
                  f"(its other parts)", file=sys.stderr)
            return src, dst
    raise InputError(None, f"no catalogue host can run both {a.info.name} and {b.info.name}",
                     "write two host specs that use them")


def load_pair(src: Path, dst: Path, roots: SpecRoots) -> tuple[Host, Host]:
    from abi_check.spec.nodecache import NodeCache

    loader = SpecLoader(roots, NodeCache())  # a pair reads a dozen files, the same ones run after run
    a, b = load_ref(src, loader), load_ref(dst, loader)
    if isinstance(a, Host) and isinstance(b, Host):
        return a, b
    if a.info.kind is b.info.kind:
        return synthetic_pair(a, b, loader)
    hint = "give two hosts, or two kernels (two VMMs, two CPUs) to check on the same host"
    for one, other in ((a, b), (b, a)):
        if isinstance(other, Host):
            raise SpecError(one.info.span, f"{one.info.name} is a {one.info.kind} spec, expected a host spec", hint)
    raise InputError(None, f"{src} is a {a.info.kind} spec and {dst} a {b.info.kind} spec", hint)


def run_pair(src: Path, dst: Path, *, both: bool, fmt: Format, settings: Settings, output: Path | None) -> int:
    # A bare name is looked up where the user works (named_paths); then every file's names resolve in its own
    # spec tree first.
    src, dst = named_paths([src, dst], settings.roots)
    roots = SpecRoots.for_inputs([p for p in (src, dst) if p.exists()], settings.roots)
    source_host, destination_host = load_pair(src, dst, roots)
    source = HostView(effective_abi(source_host))
    destination = HostView(effective_abi(destination_host))
    if not gc.isenabled():
        # cli.main's fast path loads with the collector off; what was made so far lives to the end (freeze:
        # never scanned), and rules, whose loops may make garbage up to their budget, run with it on.
        gc.freeze()
        gc.enable()
    directions = [(source, destination)] + ([(destination, source)] if both else [])
    rules, policy = settings.rules, settings.policy
    pairs = tuple(
        PairResult(a.name, b.name, tuple(policy.apply(check_pair(rules, a, b)))) for a, b in directions
    )
    result = Result(
        "pair",
        pairs,
        (display_path(src), display_path(dst)),
        tuple(rules.ids()),
        fail_on=settings.fail_on,
        rule_docs=policy.docs(rules),
    )
    return emit(apply_waivers(result, settings.waivers, settings.today), fmt, output)
