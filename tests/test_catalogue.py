"""The shipped catalogue and rule catalogue: valid, sourced, registered, and quiet when nothing changes."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from abi_check.commands.lint import lint
from abi_check.resources import catalogue_dir, rules_dir
from abi_check.rules.engine import check_pair, rule_files
from abi_check.spec.catalogue import iter_spec_files
from abi_check.spec.yamlnodes import load_file
from tests.conftest import host_names

PRODUCT_KERNELS = ["5.3", "5.10", "5.15", "5.19", "6.1", "6.6", "6.7", "6.12", "6.13", "6.15"]
PRODUCT_CPUS = ["neoverse-n1", "neoverse-v1", "neoverse-v2", "neoverse-n2", "cortex-a72", "ampere-1", "ampere-1a",
                "ampere-altra", "nvidia-grace"]


def test_catalogue_lints_clean() -> None:
    err = io.StringIO()
    assert lint([catalogue_dir()], stderr=err) == 0, err.getvalue()


def test_catalogue_covers_the_product_list() -> None:
    kernels = {p.stem for p in (catalogue_dir() / "kernels").glob("*.yaml")}
    assert {f"linux-{v}" for v in PRODUCT_KERNELS} <= kernels
    cpus = {p.stem for p in (catalogue_dir() / "cpus").glob("*.yaml")}
    assert set(PRODUCT_CPUS) <= cpus
    products = {load_file(p).get("product").value for p in (catalogue_dir() / "vmms").glob("*.yaml")  # type: ignore[union-attr]
                if load_file(p).get("product") is not None}
    assert {"qemu", "firecracker", "cloud-hypervisor", "crosvm"} <= products


@pytest.mark.parametrize("path", list(iter_spec_files(catalogue_dir())), ids=lambda p: p.stem)
def test_every_spec_names_its_source(path: Path) -> None:
    source = load_file(path).get("source")
    assert source is not None and source.plain(), f"{path} has no source"


@pytest.mark.parametrize("name", host_names())
def test_every_host_compared_with_itself_reports_nothing(rules, view, name: str) -> None:  # type: ignore[no-untyped-def]
    assert check_pair(rules, view(name), view(name)) == []


def test_no_rule_crashes_on_any_catalogue_pair(rules, view) -> None:  # type: ignore[no-untyped-def]
    for src in host_names():
        for dst in host_names():
            crashed = [f for f in check_pair(rules, view(src), view(dst)) if f.rule == "internal-error"]
            assert not crashed, crashed


def test_every_rule_is_registered_documented_and_named_after_its_file(rules) -> None:  # type: ignore[no-untyped-def]
    files = rule_files(rules_dir())
    assert sorted(p.stem for p in files) == sorted(rules.ids())
    for rule in rules.rules:
        m = rule.meta
        assert Path(m.path).stem == m.id
        assert m.name and m.summary and m.reference.startswith("https://")
        assert len(m.description) > 80, f"{m.id}: describe the kernel or VMM behaviour behind the rule"
        assert m.example, f"{m.id}: give an example"
        assert re.fullmatch(r"[a-z][a-z0-9-]+", m.category)
    docs = (Path(__file__).resolve().parent.parent / "docs" / "rules.md").read_text()
    for rule_id in rules.ids():
        assert f"`{rule_id}`" in docs, f"{rule_id} is missing from docs/rules.md"


def test_docs_rules_md_is_generated_from_the_rule_files(rules) -> None:  # type: ignore[no-untyped-def]
    from abi_check.commands.explain import rules_markdown

    docs = Path(__file__).resolve().parent.parent / "docs" / "rules.md"
    assert docs.read_text() == rules_markdown(rules), "regenerate: abi-check rules --format markdown > docs/rules.md"


def _spec_names(kind: str) -> list[str]:
    return sorted(p.stem for p in (catalogue_dir() / kind).glob("*.yaml"))


@pytest.mark.parametrize(
    ("kernel", "vmm", "cpu"),
    [(k, "qemu-10.2", "neoverse-n1") for k in _spec_names("kernels")]
    + [("linux-6.15", v, "neoverse-n1") for v in _spec_names("vmms")]
    + [("linux-6.15", "qemu-10.2", c) for c in _spec_names("cpus")],
)
def test_every_kernel_vmm_and_cpu_compared_with_itself_reports_nothing(  # type: ignore[no-untyped-def]
    loader, rules, kernel: str, vmm: str, cpu: str
) -> None:
    from abi_check.abi.effective import effective_abi
    from abi_check.abi.views import HostView
    from abi_check.spec.model import Cpu, Host, Kernel, Vmm

    k = loader.load(catalogue_dir() / "kernels" / f"{kernel}.yaml")
    v = loader.load(catalogue_dir() / "vmms" / f"{vmm}.yaml")
    c = loader.load(catalogue_dir() / "cpus" / f"{cpu}.yaml")
    assert isinstance(k, Kernel) and isinstance(v, Vmm) and isinstance(c, Cpu)
    host = HostView(effective_abi(Host(k.info, k, v, c, vcpus=8)))
    assert check_pair(rules, host, host) == []
