"""``abi-check verify``: the effective ABI the specs predict for a kernel on a CPU, against a real KVM's dump."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from abi_check.abi.verify import verify
from abi_check.errors import InputError
from abi_check.exitcodes import ExitCode
from abi_check.report.formats import DescribeFormat
from abi_check.report.output import write_output
from abi_check.report.verify import verify_json, verify_text
from abi_check.spec.catalogue import SpecRoots
from abi_check.spec.loader import SpecLoader, display_path
from abi_check.spec.model import Cpu, Host, Kernel, Kind, Vmm
from abi_check.spec.named import load_named
from abi_check.spec.observed import load_observed


def run_verify(
    dump: Path,
    *,
    host: Path | None,
    kernel: str | None,
    cpu: str | None,
    fmt: DescribeFormat,
    roots: Sequence[Path],
    output: Path | None,
) -> int:
    """Exit 0 when the specs predict every answer the dump holds, 8 when one differs, 2 for bad input."""
    if (host is None) == (kernel is None or cpu is None):
        raise InputError(None, "give a host spec, or --kernel and --cpu (not both)",
                         "abi-check verify HOST.yaml DUMP, or abi-check verify --kernel linux-6.12 --cpu X DUMP")
    loader = SpecLoader(SpecRoots.for_inputs([p for p in (host, dump) if p is not None], roots))
    the_kernel: Kernel | Vmm | Cpu | Host
    the_cpu: Kernel | Vmm | Cpu | Host
    if host is not None:
        loaded = loader.load_host(host)
        the_kernel, the_cpu = loaded.kernel, loaded.cpu
    else:
        assert kernel is not None and cpu is not None
        (the_kernel,) = load_named([kernel], Kind.KERNEL, "--kernel", loader, loader.roots)
        (the_cpu,) = load_named([cpu], Kind.CPU, "--cpu", loader, loader.roots)
    assert isinstance(the_kernel, Kernel) and isinstance(the_cpu, Cpu)  # load_named checked the kinds
    observed = load_observed(dump, display_path(dump))
    mismatches = sorted(verify(the_kernel, the_cpu, observed))
    title = (f"{the_kernel.info.name} on {the_cpu.info.name} against {observed.path} "
             f"({observed.source}, {observed.kernel_release})")
    if fmt is DescribeFormat.JSON:
        spec = {"kernel": the_kernel.info.path, "cpu": the_cpu.info.path}
        write_output(verify_json(title, observed.path, spec, mismatches), output)
    else:
        write_output(verify_text(title, mismatches), output)
    return ExitCode.MIGRATION_FAILS if mismatches else ExitCode.OK
