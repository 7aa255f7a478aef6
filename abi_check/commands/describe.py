"""``abi-check show HOST|DUMP...`` and ``abi-check diff A B``: what a host's guest sees, and how two differ."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from abi_check.abi.delta import delta
from abi_check.abi.describe import Description, describe
from abi_check.abi.effective import effective_abi
from abi_check.errors import InputError, Span
from abi_check.exitcodes import ExitCode
from abi_check.report.describe import diff_json, diff_text, show_json, show_text
from abi_check.report.formats import DescribeFormat
from abi_check.report.output import write_output
from abi_check.spec.catalogue import SpecRoots
from abi_check.spec.fromdump import nearest_kernel, observed_host
from abi_check.spec.loader import SpecLoader, display_path
from abi_check.spec.model import Host, Kernel, Kind
from abi_check.spec.named import load_named
from abi_check.spec.observed import load_observed


def _describe(paths: Sequence[Path], roots: Sequence[Path]) -> list[Description]:
    spec_roots = SpecRoots.for_inputs(list(paths), roots)
    loader = SpecLoader(spec_roots)
    return [describe(effective_abi(_host(p, loader, spec_roots)), display_path(p)) for p in paths]


def _host(path: Path, loader: SpecLoader, roots: SpecRoots) -> Host:
    """A host spec, or a dump (``abi-check probe``'s, or a Firecracker fingerprint) read as its own host."""
    if path.suffix != ".json":
        return loader.load_host(path)
    observed = load_observed(path, display_path(path))
    donor_name = nearest_kernel(observed.kernel_release, roots.names())
    if donor_name is None:
        raise InputError(Span(observed.path, 1, 1), f"no catalogue kernel at or below {observed.kernel_release!r} "
                         "to take field layouts from", "write a host spec with 'observed:' and a 'kernel:' donor")
    (donor,) = load_named([donor_name], Kind.KERNEL, "kernel", loader, roots)
    assert isinstance(donor, Kernel)
    return observed_host(observed, donor, path.stem)


def run_show(hosts: Sequence[Path], *, fmt: DescribeFormat, roots: Sequence[Path], output: Path | None) -> int:
    descriptions = _describe(hosts, roots)
    write_output(show_json(descriptions) if fmt is DescribeFormat.JSON else show_text(descriptions), output)
    return ExitCode.OK


def run_diff(a: Path, b: Path, *, fmt: DescribeFormat, roots: Sequence[Path], output: Path | None) -> int:
    """Exit 0 whatever differs: a report, like ``git diff`` without ``--exit-code``."""
    first, second = _describe([a, b], roots)
    changes = delta(first, second)
    text = diff_json(first, second, changes) if fmt is DescribeFormat.JSON else diff_text(first, second, changes)
    write_output(text, output)
    return ExitCode.OK
