"""Fuzzing the loader: whatever it is given, it fails only with its own located errors, never a traceback."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from abi_check.abi.effective import effective_abi
from abi_check.errors import InputErrors, SpecError
from abi_check.spec import registers
from abi_check.spec.catalogue import SpecRoots
from abi_check.spec.loader import SpecLoader
from abi_check.spec.model import Host
from abi_check.spec.schema import KINDS
from abi_check.spec.shapes import ListOf, MapOf, Obj, OneOf, Type
from abi_check.spec.yamlnodes import Node, load_text

# No example database: the tests must not write outside tests/ (and CI starts from a clean clone anyway).
FUZZ = settings(max_examples=200, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])

# Valid specs beside the fuzzed one, so references and extends resolve and reach the builders.
KERNEL: dict[str, Any] = {
    "abi-check": 1,
    "kind": "kernel",
    "name": "k1",
    "source": ["test", "linux"],
    "version": "6.6",
    "arch": "arm64",
    "registers": {
        "MIDR_EL1": {"invariant": True},
        "ZCR_EL1": {"requires-feature": "SVE", "requires-cpu-field": "ID_AA64PFR0_EL1.SVE", "reset": 0},
        "0x603000000013c000": {},
    },
    "psci": {"versions": ["0.2", "1.0", "1.1"], "default": "1.1"},
    "workarounds": {
        "SMCCC_ARCH_WORKAROUND_1": {"vulnerability": "spectre-v2",
                                    "levels": {"mitigated": "AVAIL", "unaffected": "NOT_REQUIRED"}},
        "SMCCC_ARCH_WORKAROUND_2": {"vulnerability": "spectre-v4", "levels": {"mitigated": "AVAIL_ENABLED"}},
    },
    "bitmaps": {
        "STD_BMAP": {"bits": {"TRNG_V1_0": 0}, "defaults": ["TRNG_V1_0"]},
        "VENDOR_HYP_BMAP": {"bits": {"FUNC_FEAT": 0, "PTP": 1}, "defaults": ["FUNC_FEAT", "PTP"]},
    },
    "capabilities": {"ARM_SUPPORTED_REG_MASK_RANGES": 230},
    "vcpu-features": ["PSCI_0_2", "SVE", "PMU_V3"],
    "id-registers": {
        "ID_AA64PFR0_EL1": {
            "fields": {
                "SVE": {"bits": "35:32", "safety": "lower-safe", "writable": True, "visible-with": "SVE"},
                "EL0": {"bits": "3:0", "safety": "exact", "signed": False, "safe-value": 1},
                "AMU": {"bits": "47:44", "hidden": True},
            }
        }
    },
}
VMM: dict[str, Any] = {
    "abi-check": 1,
    "kind": "vmm",
    "name": "v1",
    "source": "test",
    "product": "qemu",
    "version": "9.0",
    "migration": {
        "saves": "listed-subset",
        "saved-firmware": ["PSCI_VERSION", "STD_BMAP"],
        "hidden-registers": ["0x603000000013c000"],
        "safe-missing-registers": ["ZCR_EL1"],
        "unknown-incoming": "fail",
        "missing-incoming": "keep-reset",
        "count-check": True,
        "max-registers": 500,
    },
    "writes": {"PSCI_VERSION": "1.1", "SMCCC_ARCH_WORKAROUND_1": "AVAIL", "STD_BMAP": ["TRNG_V1_0"]},
    "vcpu-features": ["PSCI_0_2", "SVE"],
    "id-overrides": {"ID_AA64PFR0_EL1": {"SVE": 0}},  # c1 has SVE 1 (the SVE vCPU feature needs it); 0 is lower
    "implementation-id": {"writable": True, "targets": ["c1"]},
    "memory": {"slot-changes-during-dirty-log": True, "quiesces-vcpus": True, "dirty-tracking": "ring"},
}
CPU: dict[str, Any] = {
    "abi-check": 1,
    "kind": "cpu",
    "name": "c1",
    "source": "test",
    "vendor": "arm",
    "registers": {"MIDR_EL1": 0x410FD0C0, "ID_AA64PFR0_EL1": 0x1100000111111112},
    "vulnerabilities": {"spectre-v2": "mitigated", "spectre-v4": "mitigated"},
    "errata": ["1234567"],
}
HOST: dict[str, Any] = {
    "abi-check": 1,
    "kind": "host",
    "name": "h1",
    "source": "test",
    "kernel": "k1",
    "vmm": "v1",
    "cpu": "c1",
    "vcpus": 8,
}
COMPANIONS = {"k1": KERNEL, "v1": VMM, "c1": CPU, "h1": HOST}
FUZZED = "fuzz"


def _schema_keys() -> list[str]:
    """Every fixed key of the spec format, found by walking the schema."""
    keys: set[str] = set()

    def walk(kind: Type) -> None:
        if isinstance(kind, Obj):
            keys.update(kind.fields)
            for child in kind.fields.values():
                walk(child)
        elif isinstance(kind, MapOf):
            walk(kind.value)
            keys.update(kind.key.enum or ())
        elif isinstance(kind, ListOf):
            walk(kind.item)
        elif isinstance(kind, OneOf):
            for _, option in kind.options:
                walk(option)

    for obj in KINDS.values():
        walk(obj)
    return sorted(keys)


SCHEMA_KEYS = _schema_keys()
# Words that mean something to the format, so random documents get past the first check now and then.
WORDS = [
    *KINDS, *COMPANIONS, FUZZED, "arm64", "qemu", "6.6", "9.0", "0.2", "1.1", "1.4", "35:32", "63:0",
    "AVAIL", "NOT_AVAIL", "lower-safe", "exact", "PSCI_0_2", "SVE", "mitigated", "spectre-v2",
    "TRNG_V1_0", "PTP", "ID_AA64PFR0_EL1.SVE", "0x1ffffffffffffffff", "0x6030000000130000",
    "../outside.yaml", "./k1.yaml", "k1.yaml", "sub/../k1.yaml", "",
    *registers.known_names()[:12],
]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(1 << 70), max_value=1 << 70),
    st.integers(min_value=0, max_value=70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(WORDS),
)
keys = st.one_of(st.sampled_from(SCHEMA_KEYS), st.sampled_from(registers.known_names()), st.text(max_size=10))
values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.one_of(keys, st.integers(), st.booleans()), children, max_size=4),
    ),
    max_leaves=12,
)


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A spec root holding valid k1, v1, c1 and h1; each example overwrites fuzz.yaml beside them."""
    directory = tmp_path_factory.mktemp("fuzz") / "specs"
    directory.mkdir()
    for name, doc in COMPANIONS.items():
        (directory / f"{name}.yaml").write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    # The companions must be valid, or the fuzzing below never gets past them.
    loader = SpecLoader(SpecRoots([directory]))
    effective_abi(loader.load_host(directory / "h1.yaml"))
    return directory


def load_fuzzed(root: Path, doc: object) -> None:
    """Write ``doc`` as fuzz.yaml and load it the way lint does; only InputErrors may escape."""
    path = root / f"{FUZZED}.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), encoding="utf-8")
    try:
        spec = SpecLoader(SpecRoots([root])).load(path)
    except InputErrors as exc:
        for error in exc.errors:
            assert error.message
            assert error.render()  # rendering reads the source line back; it must not fail either
        return
    if isinstance(spec, Host):
        effective_abi(spec)


# --- (1) bytes to located nodes ------------------------------------------------------------------


def check_load_text(data: bytes) -> None:
    try:
        node = load_text(data, "fuzz.yaml")
    except SpecError as exc:
        assert exc.span is not None and exc.span.path == "fuzz.yaml"
        assert exc.span.line >= 1 and exc.span.col >= 1
        return
    assert isinstance(node, Node)
    node.plain()


@FUZZ
@given(st.binary(max_size=300))
def test_load_text_on_arbitrary_bytes(data: bytes) -> None:
    check_load_text(data)


# YAML's punctuation, indentation, anchors, directives and tags the loader handles, to build near-YAML.
TOKENS = [
    b"a", b"key", b"abi-check", b"1", b"0x1f", b"1.1", b".inf", b"~", b"null", b"true", b"2024-01-01",
    b"2024-02-30", b"12:30", b"0x_", b"0b2", b"1_000", b"\xc3\xa9", b"\xff", b"\xef\xbb\xbf", b"\x07", b"\t",
    b":", b": ", b" ", b"  ", b"\n", b"\n  ", b"- ", b"[", b"]", b"{", b"}", b", ", b"? ", b"'", b'"', b"\\",
    b"# c", b"---\n", b"...\n", b"|\n", b">-\n", b"&a ", b"*a", b"&b ", b"*b", b"<<: ", b"%YAML 1.1\n",
    b"%TAG !e! tag:example.com,2000:\n", b"!e!x ", b"!foo ", b"!!str ", b"!!map ", b"!!seq ", b"!!set ",
    b"!!omap ", b"!!binary ", b"!!null ", b"!!python/object/apply:os.system ", b"!!python/name:os.system ",
    # Core-schema tags whose constructors once assumed a well-formed value (KeyError, IndexError, ...).
    b"!!bool ", b"!!int ", b"!!float ", b"!!timestamp ", b"!<tag:yaml.org,2002:int> ",
]


def token_soup(tokens: list[bytes]) -> st.SearchStrategy[bytes]:
    return st.lists(st.sampled_from(tokens), max_size=40).map(b"".join)


@FUZZ
@given(token_soup(TOKENS))
@example(b"a: !!bool maybe\n")
@example(b"a: !!int\n")
@example(b"a: !!timestamp nope\n")
@example(b"%TAG ! tag:yaml.org,2002:\n---\na: !float ''\n")
def test_load_text_on_near_yaml(data: bytes) -> None:
    check_load_text(data)


# --- (2) random documents ------------------------------------------------------------------------


@st.composite
def documents(draw: st.DrawFn) -> object:
    """A mapping of schema keys (and random ones) to random values, usually with a believable header."""
    if not draw(st.integers(0, 19)):  # now and then not a mapping at all
        return draw(values)
    doc: dict[object, object] = {}
    header = {"abi-check": st.just(1), "kind": st.sampled_from(list(KINDS)), "name": st.just(FUZZED),
              "source": st.just("test")}
    for key, good in header.items():
        if draw(st.integers(0, 9)):  # present nine times in ten, right about half of those
            doc[key] = draw(st.one_of(good, scalars))
    doc.update(draw(st.dictionaries(st.one_of(keys, st.integers(), st.none()), values, max_size=8)))
    return doc


@FUZZ
@given(documents())
@example({"abi-check": 1, "kind": [], "name": FUZZED, "source": "test"})
@example({"abi-check": 1, "kind": {"kernel": None}, "name": FUZZED, "source": "test"})
def test_loader_on_random_documents(root: Path, doc: object) -> None:
    load_fuzzed(root, doc)


# --- (3) mutated valid specs ---------------------------------------------------------------------


def paths(doc: object, prefix: tuple[object, ...] = ()) -> Iterator[tuple[object, ...]]:
    """Where a value sits in a document: keys and list indices from the top."""
    if isinstance(doc, dict):
        for key, value in doc.items():
            yield (*prefix, key)
            yield from paths(value, (*prefix, key))
    elif isinstance(doc, list):
        for index, value in enumerate(doc):
            yield (*prefix, index)
            yield from paths(value, (*prefix, index))


def at(doc: Any, path: tuple[object, ...]) -> Any:
    for step in path:
        doc = doc[step]
    return doc


@st.composite
def mutated(draw: st.DrawFn, seed: dict[str, Any]) -> dict[str, Any]:
    """The seed (renamed fuzz) with one to three values dropped, replaced or renamed."""
    doc = copy.deepcopy(seed)
    doc["name"] = FUZZED
    for _ in range(draw(st.integers(1, 3))):
        where = list(paths(doc))
        if not where:
            break
        path = draw(st.sampled_from(where))
        parent, last = at(doc, path[:-1]), path[-1]
        operation = draw(st.sampled_from(["drop", "replace", "replace", "rename"]))
        if operation == "drop":
            del parent[last]
        elif operation == "replace" or isinstance(parent, list):
            parent[last] = draw(values)
        else:
            parent[draw(keys)] = parent.pop(last)
    return doc


@FUZZ
@given(mutated(KERNEL))
def test_loader_on_mutated_kernel(root: Path, doc: dict[str, Any]) -> None:
    load_fuzzed(root, doc)


@FUZZ
@given(st.one_of(mutated(CPU), mutated(HOST)))
def test_loader_on_mutated_cpu_and_host(root: Path, doc: dict[str, Any]) -> None:
    load_fuzzed(root, doc)


@FUZZ
@given(mutated(VMM))
@example({**VMM, "name": FUZZED, "writes": {"SMCCC_ARCH_WORKAROUND_1": ["AVAIL"]}})
def test_loader_on_mutated_vmm(root: Path, doc: dict[str, Any]) -> None:
    load_fuzzed(root, doc)
