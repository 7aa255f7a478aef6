"""Loading many hosts (issue 15, item 4): each reference resolved once, the same hosts and the same errors as
loading each file on its own, with or without the pack of nodes kept between runs, and links still checked."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import pytest

from abi_check.errors import InputErrors
from abi_check.spec import yamlnodes
from abi_check.spec.catalogue import SPEC_SUFFIXES, SpecRoots, iter_spec_files
from abi_check.spec.files import listed
from abi_check.spec.hosts import load_hosts
from abi_check.spec.loader import SpecLoader
from abi_check.spec.model import Host
from abi_check.spec.nodecache import FORMAT, NodePack

VMM = """\
abi-check: 1
kind: vmm
name: local-vmm
extends: qemu-10.2
source: test
"""


def host_text(name: str, kernel: str = "linux-6.6", vmm: str = "../vmms/local-vmm.yaml", cpu: str = "neoverse-n1",
              vcpus: int = 4) -> str:
    return (f"abi-check: 1\nkind: host\nname: {name}\nsource: test\nkernel: {kernel}\nvmm: {vmm}\ncpu: {cpu}\n"
            f"vcpus: {vcpus}\n")


def fleet(root: Path, count: int) -> Path:
    """``count`` hosts in root/hosts naming catalogue specs by name and a local VMM by relative path."""
    (root / "vmms").mkdir(parents=True, exist_ok=True)
    (root / "vmms" / "local-vmm.yaml").write_text(VMM)
    hosts = root / "hosts"
    hosts.mkdir(exist_ok=True)
    for i in range(count):
        cpu = ("neoverse-n1", "neoverse-v1")[i % 2]
        (hosts / f"h{i:04d}.yaml").write_text(host_text(f"h{i:04d}", cpu=cpu, vcpus=2 + i % 3))
    return hosts


@pytest.fixture
def no_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ABI_CHECK_NO_CACHE", "1")


def one_by_one(paths: list[Path], roots: SpecRoots) -> list[Host]:
    """Each host loaded by a loader of its own: nothing shared between hosts."""
    hosts = []
    for path in paths:
        host = SpecLoader(SpecRoots(list(roots.roots))).load(path)
        assert isinstance(host, Host)
        hosts.append(host)
    return hosts


def test_a_fleet_resolves_each_reference_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              no_cache: None) -> None:
    monkeypatch.chdir(tmp_path)
    counts = []
    resolve = Path.resolve
    calls = 0

    def counting(self: Path, strict: bool = False) -> Path:
        nonlocal calls
        calls += 1
        return resolve(self, strict)

    for count in (20, 200):
        root = tmp_path / f"fleet{count}"
        hosts = fleet(root, count)
        calls = 0
        monkeypatch.setattr(Path, "resolve", counting)
        loaded = load_hosts([hosts], [root])
        monkeypatch.setattr(Path, "resolve", resolve)
        assert len(loaded) == count
        counts.append(calls)
        # the same hosts as loading each file on its own, with the spans users see
        files = sorted(hosts.glob("*.yaml"))
        assert loaded[:5] == one_by_one(files[:5], SpecRoots.for_inputs([hosts], [root]))
        assert loaded[3].info.span.path == f"fleet{count}/hosts/h0003.yaml"
    assert counts[0] == counts[1], counts  # not one more resolution per host


def test_hosts_in_a_linked_directory_are_found_and_spans_show_the_resolved_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_cache: None) -> None:
    real = tmp_path / "real"
    fleet(real, 3)
    (tmp_path / "view").symlink_to(real)
    monkeypatch.chdir(tmp_path)
    loaded = load_hosts([Path("view/hosts")], [Path("view")])
    assert [h.info.path for h in loaded] == [f"real/hosts/h000{i}.yaml" for i in range(3)]
    files = [real / "hosts" / f"h000{i}.yaml" for i in range(3)]
    assert loaded == one_by_one(files, SpecRoots.for_inputs([real / "hosts"], [real]))


def test_links_are_followed_and_checked_per_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 no_cache: None) -> None:
    root = tmp_path / "fleet"
    hosts = fleet(root, 2)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.yaml").write_text(host_text("secret"))
    (hosts / "twin.yaml").symlink_to(hosts / "h0000.yaml")  # the same file again: counted once
    (hosts / "away.yaml").symlink_to(outside / "secret.yaml")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InputErrors) as caught:
        load_hosts([hosts], [root])
    messages = [e.message for e in caught.value.errors]
    assert messages == ["fleet/hosts/away.yaml is a link that leaves the spec roots"], messages
    (hosts / "away.yaml").unlink()
    assert [h.info.name for h in load_hosts([hosts], [root])] == ["h0000", "h0001"]


def test_a_faulty_combination_is_reported_for_every_host_that_names_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_cache: None) -> None:
    root = tmp_path / "fleet"
    hosts = fleet(root, 2)
    (root / "vmms" / "sve-vmm.yaml").write_text(VMM.replace("local-vmm", "sve-vmm")
                                                + "vcpu-features: [PSCI_0_2, SVE]\n")
    for name in ("bad1", "bad2"):  # a CPU without SVE: KVM_ARM_VCPU_INIT would refuse the feature
        (hosts / f"{name}.yaml").write_text(host_text(name, vmm="../vmms/sve-vmm.yaml", cpu="neoverse-n1"))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InputErrors) as caught:
        load_hosts([hosts], [root])
    found = [(e.span.path if e.span else None, e.message) for e in caught.value.errors]
    assert [path for path, _ in found] == ["fleet/hosts/bad1.yaml", "fleet/hosts/bad2.yaml"], found
    assert all("asks for vCPU feature SVE" in message for _, message in found), found


def test_iter_spec_files_lists_what_rglob_lists(tmp_path: Path) -> None:
    def reference(directory: Path) -> list[Path]:
        return [p for p in sorted(directory.rglob("*")) if p.suffix in SPEC_SUFFIXES and listed(p)
                and not any(part.startswith(".") for part in p.relative_to(directory).parts)]

    d = tmp_path / "tree"
    for name in ("a.yaml", "a-b.yaml", "a/b.yaml", "a/c/d.yml", "B.yaml", "x.YAML", "notes.txt", ".hidden/h.yaml",
                 "sub/.dot.yaml", "sub/e.yaml", "dir.yaml/inner.yaml"):
        (d / name).parent.mkdir(parents=True, exist_ok=True)
        (d / name).write_text("a: 1\n")
    (d / "link.yaml").symlink_to(d / "a.yaml")
    (d / "broken.yaml").symlink_to(d / "missing.yaml")
    (d / "linked-dir").symlink_to(d / "sub")  # rglob does not descend into links to directories
    os.mkfifo(d / "fifo.yaml")
    found = list(iter_spec_files(d))
    assert found == reference(d)
    assert [p.relative_to(d).as_posix() for p in found] == [
        "B.yaml", "a/b.yaml", "a/c/d.yml", "a-b.yaml", "a.yaml", "dir.yaml/inner.yaml", "link.yaml", "sub/e.yaml"]


def test_a_name_lookup_sees_files_only(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "kernels").mkdir(parents=True)
    (root / "kernels" / "k.yaml").write_text("a: 1\n")
    (root / "other" / "k.yaml").mkdir(parents=True)  # a directory with a spec's name is no second candidate
    (root / "gone.yaml").symlink_to(root / "missing.yaml")
    roots = SpecRoots([root])
    span = yamlnodes.Span("x.yaml", 1, 1)
    assert roots.resolve("k", span, root / "x.yaml") == root / "kernels" / "k.yaml"
    with pytest.raises(Exception, match="unknown spec 'gone'"):
        roots.resolve("gone", span, root / "x.yaml")
    assert roots.names() == ["k"]


def test_a_warm_load_gives_the_same_hosts_without_parsing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                         cache_dir: Path) -> None:
    root = tmp_path / "fleet"
    hosts = fleet(root, 30)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ABI_CHECK_NO_CACHE", "1")
    plain = load_hosts([hosts], [root])
    monkeypatch.delenv("ABI_CHECK_NO_CACHE")
    cold = load_hosts([hosts], [root])
    packs = list((cache_dir / FORMAT).glob("pack-*.pickle"))
    assert len(packs) == 1
    parsed = 0
    compose = yamlnodes._compose

    def counting(text: str) -> list[object]:
        nonlocal parsed
        parsed += 1
        return compose(text)  # type: ignore[return-value]

    monkeypatch.setattr(yamlnodes, "_compose", counting)
    warm = load_hosts([hosts], [root])
    assert parsed == 0  # every file (hosts, the VMM, the catalogue specs they name) came from the pack
    assert plain == cold == warm
    assert [h.info.span for h in warm] == [h.info.span for h in plain]
    # an edited host is parsed again; the pack then holds what this run read, not the old text
    (hosts / "h0001.yaml").write_text(host_text("h0001", vcpus=64))
    edited = load_hosts([hosts], [root])
    assert parsed == 1 and edited[1].vcpus == 64
    entries = pickle.loads(packs[0].read_bytes())
    assert len(entries) == 30 + 1 + parsed_specs(edited)


def parsed_specs(hosts: list[Host]) -> int:
    """The spec files (kernels, VMMs with what they extend, CPUs) a load of these hosts reads."""
    names: set[str] = set()
    for host in hosts:
        for spec in (host.kernel, host.vmm, host.cpu):
            names.add(spec.info.path)
            names.update(f"{spec.info.kind}:{parent}" for parent in spec.info.extends)
    return len(names) - 1  # the local VMM is counted with the hosts' directory above


def test_a_file_with_errors_never_enters_the_pack_and_is_reported_every_time(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cache_dir: Path) -> None:
    root = tmp_path / "fleet"
    hosts = fleet(root, 3)
    (hosts / "bad.yaml").write_text(host_text("bad").replace("vcpus: 4", "vcpus: many"))
    monkeypatch.chdir(tmp_path)
    reports = []
    for _ in range(2):
        with pytest.raises(InputErrors) as caught:
            load_hosts([hosts], [root])
        reports.append([str(e.span) + " " + e.message for e in caught.value.errors])
    assert reports[0] == reports[1] and len(reports[0]) == 1 and "fleet/hosts/bad.yaml:8:" in reports[0][0]
    [pack] = (cache_dir / FORMAT).glob("pack-*.pickle")
    stored = pickle.loads(pack.read_bytes())
    assert not any(item[0].get("name", (None,))[0] == "bad" for item in stored.values())


class Payload:
    """What a hostile pack would hold: unpickling it runs ``touch CANARY``."""

    def __init__(self, canary: Path) -> None:
        self.canary = canary

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, (f"touch {self.canary}",))


def test_a_hostile_or_damaged_pack_is_a_miss_and_runs_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                             cache_dir: Path) -> None:
    root = tmp_path / "fleet"
    hosts = fleet(root, 3)
    monkeypatch.chdir(tmp_path)
    expected = load_hosts([hosts], [root])
    [pack] = (cache_dir / FORMAT).glob("pack-*.pickle")
    good = pickle.loads(pack.read_bytes())
    canary = tmp_path / "CANARY"
    some_key = next(iter(good))
    for content in (pickle.dumps(Payload(canary)), pickle.dumps({some_key: Payload(canary)}), b"\x80\x05garbage",
                    b"", pickle.dumps([1, 2]), pickle.dumps({k: (object, 1, 1, None) for k in good}),
                    pickle.dumps({k: ({"a": 1}, 1, 1, {}) for k in good})):
        pack.write_bytes(content)
        assert load_hosts([hosts], [root]) == expected
    assert not canary.exists()


def test_no_pack_without_a_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cache_dir: Path) -> None:
    monkeypatch.setenv("ABI_CHECK_NO_CACHE", "1")
    root = tmp_path / "fleet"
    load_hosts([fleet(root, 2)], [root])
    assert not cache_dir.exists()
    assert NodePack(["x"]).file is None


def test_scalar_tags_are_the_ones_pyyaml_gives(tmp_path: Path) -> None:
    import yaml

    from abi_check.resources import catalogue_dir

    def tags(node: yaml.Node) -> list[tuple[int, int, str]]:
        found = [(node.start_mark.line, node.start_mark.column, node.tag)]
        children = node.value if isinstance(node, yaml.SequenceNode) else [
            n for pair in node.value for n in pair] if isinstance(node, yaml.MappingNode) else []
        for child in children:
            found += tags(child)
        return found

    tricky = ("a: 1\nb: '1'\nc: \"1\"\nd: 0x10\ne: yes\nf: ~\ng: ''\nh: null\ni: 2026-01-01\nj: 1e3\nk: .inf\n"
              "l: on\nm: 1_000\nn: -0o7\no: [1, '1', x, 1.5]\n1: one\n")
    texts = [tricky, tricky.replace("'1'", "1"), *(p.read_text() for p in iter_spec_files(catalogue_dir()))]
    yamlnodes._import_yaml()
    for text in texts * 2:  # the second time, from the loader's memory of scalar texts
        [ours] = yamlnodes._compose(text)
        reference = yaml.compose(text, Loader=yaml.SafeLoader)
        assert tags(ours) == tags(reference)


def test_only_the_packs_used_last_are_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cache_dir: Path) -> None:
    from abi_check.spec import nodecache

    monkeypatch.setattr(nodecache, "PACKS", 3)
    monkeypatch.chdir(tmp_path)
    roots = []
    for i in range(5):
        root = tmp_path / f"fleet{i}"
        load_hosts([fleet(root, 1)], [root])
        roots.append(root)
        packs = sorted((cache_dir / FORMAT).glob("pack-*.pickle"), key=lambda p: p.stat().st_mtime)
        assert len(packs) == min(i + 1, 3)
        os.utime(packs[-1], (i * 10.0 + 1000, i * 10.0 + 1000))  # a clock that always moves on
    newest = {p.name for p in (cache_dir / FORMAT).glob("pack-*.pickle")}
    assert newest == {NodePack([str(r / "hosts"), str(r)]).file.name for r in roots[2:]}  # type: ignore[union-attr]


def test_iter_spec_files_of_a_file_or_a_missing_directory_is_empty(tmp_path: Path) -> None:
    (tmp_path / "f.yaml").write_text("a: 1\n")
    assert list(iter_spec_files(tmp_path / "f.yaml")) == [] == list(iter_spec_files(tmp_path / "missing"))
