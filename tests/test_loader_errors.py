"""Every class of bad spec input gives a located error with a useful message; lint reports them all."""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from abi_check.cli import _app
from abi_check.commands.lint import lint
from abi_check.errors import InputError, InputErrors, SpecError
from abi_check.spec.catalogue import SpecRoots
from abi_check.spec.loader import SpecLoader
from abi_check.spec.model import Cpu, Host, Kernel, Vmm
from abi_check.spec.yamlnodes import MAX_FILE_BYTES, MAX_NODES, load_text

REPO = Path(__file__).resolve().parents[1]

# Specs below are written so that the line and column of every error can be read off the text.
KERNEL_TOP = """\
abi-check: 1
kind: kernel
name: k1
source: test
version: "6.6"
arch: arm64
"""
KERNEL_HEAD = KERNEL_TOP + 'psci: {versions: ["0.2", "1.0", "1.1"], default: "1.1"}\n'
KERNEL = KERNEL_HEAD + """\
bitmaps:
  STD_BMAP: {bits: {TRNG_V1_0: 0}, defaults: [TRNG_V1_0]}
vcpu-features: [PSCI_0_2]
"""
VMM = """\
abi-check: 1
kind: vmm
name: v1
source: test
product: qemu
version: "9.0"
vcpu-features: [PSCI_0_2]
"""
CPU = """\
abi-check: 1
kind: cpu
name: c1
source: test
registers:
  MIDR_EL1: 0x410fd0c0
"""
HOST = """\
abi-check: 1
kind: host
name: h1
source: test
kernel: k1
vmm: v1
cpu: c1
"""


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The only spec root. The working directory is its parent, so spans read ``specs/NAME.yaml``."""
    monkeypatch.chdir(tmp_path)
    specs = tmp_path / "specs"
    specs.mkdir()
    return specs


def write(root: Path, name: str, text: str | bytes) -> Path:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def write_host_set(root: Path, **override: str | None) -> None:
    """k1, v1, c1 and h1, each replaceable by keyword (None leaves the file out)."""
    texts = {"k1": KERNEL, "v1": VMM, "c1": CPU, "h1": HOST} | override
    for name, text in texts.items():
        if text is not None:
            write(root, f"{name}.yaml", text)


def errors(root: Path, name: str) -> list[InputError]:
    loader = SpecLoader(SpecRoots([root]))
    with pytest.raises(InputErrors) as caught:
        loader.load(root / name)
    assert caught.value.errors, "InputErrors without any error"
    return caught.value.errors


def only_error(root: Path, name: str) -> InputError:
    found = errors(root, name)
    assert len(found) == 1, [str(e) for e in found]
    return found[0]


def where(error: InputError) -> tuple[str, int, int]:
    assert error.span is not None, str(error)
    return (error.span.path, error.span.line, error.span.col)


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
    env["NO_COLOR"] = "1"
    return subprocess.run(
        [sys.executable, "-m", "abi_check", *args],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False,
    )


# --- the baseline: the specs the other tests break are valid -------------------------------------


def test_valid_specs_load_into_the_model(root: Path) -> None:
    write_host_set(root)
    loader = SpecLoader(SpecRoots([root]))
    assert isinstance(loader.load(root / "k1.yaml"), Kernel)
    assert isinstance(loader.load(root / "v1.yaml"), Vmm)
    assert isinstance(loader.load(root / "c1.yaml"), Cpu)
    host = loader.load_host(root / "h1.yaml")
    assert isinstance(host, Host)
    assert (host.kernel.info.name, host.vmm.info.name, host.cpu.info.name) == ("k1", "v1", "c1")


# --- YAML level ---------------------------------------------------------------------------------


def test_yaml_syntax_error_is_located(root: Path) -> None:
    write(root, "k1.yaml", KERNEL_TOP.replace("arch: arm64", "arch: arm64: x"))
    error = only_error(root, "k1.yaml")
    assert where(error) == ("specs/k1.yaml", 6, 12)
    assert error.message == "YAML syntax error: mapping values are not allowed here"


def test_duplicate_key_names_the_first_definition(root: Path) -> None:
    write(root, "k1.yaml", KERNEL + "arch: arm64\n")
    error = only_error(root, "k1.yaml")
    assert where(error) == ("specs/k1.yaml", 11, 1)
    assert error.message == "duplicate key 'arch' (first defined at line 6)"
    assert error.hint == "YAML keeps only one of them; merge the two entries"


def test_non_utf8_byte_is_located(root: Path) -> None:
    write(root, "k1.yaml", KERNEL.encode().replace(b"source: test", b"source: t\xffst"))
    error = only_error(root, "k1.yaml")
    assert where(error) == ("specs/k1.yaml", 4, 10)
    assert error.message == "file is not valid UTF-8 (byte 0xff)"
    assert error.hint == "save the file as UTF-8"


def test_non_utf8_column_counts_characters(root: Path) -> None:
    write(root, "k1.yaml", KERNEL.encode() + "description: café ".encode() + b"\xff\n")
    error = only_error(root, "k1.yaml")
    assert where(error) == ("specs/k1.yaml", 11, 19)


def test_control_character_is_located(root: Path) -> None:
    write(root, "k1.yaml", KERNEL + "description: a\x07b\n")
    error = only_error(root, "k1.yaml")
    assert where(error) == ("specs/k1.yaml", 11, 15)
    assert "#x0007" in error.message
    assert "\n" not in error.message


def test_alias_bomb_is_rejected_quickly(root: Path) -> None:
    bomb = 'a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]\n'
    for previous, name in zip("abcdefgh", "bcdefghi", strict=True):
        bomb += f"{name}: &{name} [{', '.join([f'*{previous}'] * 9)}]\n"
    write(root, "k1.yaml", KERNEL + bomb)
    start = time.monotonic()
    error = only_error(root, "k1.yaml")
    assert time.monotonic() - start < 5
    assert error.span is not None and error.span.path == "specs/k1.yaml"
    assert error.span.line > KERNEL.count("\n")  # somewhere in the bomb, not in the spec above it
    assert error.message == f"document expands to more than {MAX_NODES} values (an alias bomb?)"
    assert error.hint == "avoid nesting aliases of aliases"


def test_file_over_the_size_limit_is_rejected(root: Path) -> None:
    path = write(root, "k1.yaml", KERNEL + "description: " + "x" * MAX_FILE_BYTES + "\n")
    error = only_error(root, "k1.yaml")
    assert where(error) == ("specs/k1.yaml", 1, 1)
    size = path.stat().st_size
    assert error.message == f"file is {size} bytes, larger than the {MAX_FILE_BYTES} byte limit for a spec"
    assert error.hint == "split it into smaller specs joined with 'extends:'"


def test_more_than_one_document_is_rejected(root: Path) -> None:
    write(root, "k1.yaml", KERNEL + "---\n" + KERNEL)
    error = only_error(root, "k1.yaml")
    assert where(error) == ("specs/k1.yaml", 12, 1)
    assert error.message == "file holds more than one YAML document"
    assert error.hint == "put each spec in a file of its own"


def test_python_tag_is_rejected_and_never_runs(root: Path, tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    write(root, "k1.yaml", KERNEL + f'description: !!python/object/apply:os.system ["touch {marker}"]\n')
    error = only_error(root, "k1.yaml")
    assert where(error) == ("specs/k1.yaml", 11, 14)
    assert not marker.exists()


@pytest.mark.parametrize("key", ["description", "source"])
def test_python_tag_on_a_list_is_rejected_as_a_tag(root: Path, tmp_path: Path, key: str) -> None:
    marker = tmp_path / "ran"
    tagged = f'{key}: !!python/object/apply:os.system ["touch {marker}"]'
    text = KERNEL.replace("source: test", tagged) if key == "source" else KERNEL + tagged + "\n"
    write(root, "k1.yaml", text)
    error = only_error(root, "k1.yaml")
    assert not marker.exists()
    assert error.span is not None and error.span.line == (4 if key == "source" else 11)
    assert "unsupported YAML tag" in error.message


@pytest.mark.parametrize(
    "text",
    [b"a: 0x_\n", b"a: !!set x\n", b"a: !!binary '%%%'\n", b"a: !!python/name:os.system\n", b"a: 2024-02-30\n"],
)
def test_scalar_that_cannot_be_built_is_a_located_error(text: bytes) -> None:
    with pytest.raises(SpecError) as caught:
        load_text(text, "x.yaml")
    assert where(caught.value) == ("x.yaml", 1, 4)


@pytest.mark.parametrize(
    "text",
    [
        b"a: !!bool maybe\n",
        b"a: !!int\n",
        b"a: !!float ''\n",
        b"a: !!timestamp nope\n",
    ],
)
def test_core_tag_with_a_bad_value_is_a_located_error(text: bytes) -> None:
    with pytest.raises(SpecError) as caught:
        load_text(text, "x.yaml")
    assert where(caught.value) == ("x.yaml", 1, 4)


def test_lint_reports_a_bad_core_tag_as_an_input_error(root: Path, tmp_path: Path) -> None:
    write(root, "k1.yaml", KERNEL + "description: !!bool maybe\n")
    result = run_cli("lint", "specs", cwd=tmp_path)
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("specs/k1.yaml:11:14: spec error:")
    assert result.returncode == 2


# --- spec format (schema) ------------------------------------------------------------------------


def test_missing_format_version_is_reported(root: Path) -> None:
    write(root, "k1.yaml", KERNEL.removeprefix("abi-check: 1\n"))
    found = [(*where(e), e.message) for e in errors(root, "k1.yaml")]
    assert ("specs/k1.yaml", 1, 1, "missing 'abi-check: 1' (the spec format version)") in found


def test_missing_format_version_is_reported_once(root: Path) -> None:
    write(root, "k1.yaml", KERNEL.removeprefix("abi-check: 1\n"))
    assert len(errors(root, "k1.yaml")) == 1


def test_quoted_format_version_asks_for_a_number(root: Path) -> None:
    write(root, "k1.yaml", KERNEL.replace("abi-check: 1", 'abi-check: "1"'))
    error = only_error(root, "k1.yaml")
    assert where(error) == ("specs/k1.yaml", 1, 12)
    assert "unsupported" not in error.message
    assert "number" in f"{error.message} {error.hint}"


@pytest.mark.parametrize(("kind", "found"), [("[kernel]", "a list"), ("{kernel: 1}", "a mapping")])
def test_kind_that_is_a_list_or_mapping(root: Path, kind: str, found: str) -> None:
    write(root, "k1.yaml", KERNEL.replace("kind: kernel", f"kind: {kind}"))
    error = only_error(root, "k1.yaml")
    assert where(error) == ("specs/k1.yaml", 2, 7)
    assert error.message == f"expected a string, found {found}"


def test_unknown_key_suggests_the_close_one(root: Path) -> None:
    write(root, "k1.yaml", KERNEL.replace('version: "6.6"', 'verison: "6.6"'))
    error = only_error(root, "k1.yaml")
    assert where(error) == ("specs/k1.yaml", 5, 1)
    assert error.message == "unknown key 'verison'"
    assert error.hint == "did you mean 'version'?"


def test_string_where_a_number_is_expected(root: Path) -> None:
    write(root, "k1.yaml", KERNEL_HEAD + """\
bitmaps:
  STD_BMAP:
    bits:
      TRNG_V1_0: zero
""")
    error = only_error(root, "k1.yaml")
    assert where(error) == ("specs/k1.yaml", 11, 18)
    assert error.message == "expected a whole number, found the string 'zero'"


def test_list_where_a_mapping_is_expected(root: Path) -> None:
    write(root, "k1.yaml", KERNEL_HEAD + "bitmaps: [STD_BMAP]\n")
    error = only_error(root, "k1.yaml")
    assert where(error) == ("specs/k1.yaml", 8, 10)
    assert error.message == "expected a mapping, found a list"


def test_bit_number_64_is_out_of_range(root: Path) -> None:
    write(root, "k1.yaml", KERNEL_HEAD + """\
bitmaps:
  STD_BMAP:
    bits:
      TRNG_V1_0: 64
""")
    error = only_error(root, "k1.yaml")
    assert where(error) == ("specs/k1.yaml", 11, 18)
    assert error.message == "64 is out of range"
    assert error.hint == "allowed: 0 to 63"


CPU_WIDE_REGISTER = CPU + "  0x1ffffffffffffffff: 1\n"


def test_register_id_wider_than_64_bits_is_rejected(root: Path) -> None:
    write(root, "c1.yaml", CPU_WIDE_REGISTER)
    error = only_error(root, "c1.yaml")
    assert where(error) == ("specs/c1.yaml", 7, 3)
    assert "0x1ffffffffffffffff" in error.message


def test_register_id_wider_than_64_bits_says_so(root: Path) -> None:
    write(root, "c1.yaml", CPU_WIDE_REGISTER)
    error = only_error(root, "c1.yaml")
    assert error.message == "register id 0x1ffffffffffffffff is wider than 64 bits"


@pytest.mark.parametrize(
    ("psci", "line", "col"),
    [
        ('psci:\n  versions: ["0.2", "1.0", "1.4"]\n  default: "1.1"\n', 8, 28),
        ('psci:\n  versions: ["0.2", "1.0", "1.1"]\n  default: "1.4"\n', 9, 12),
    ],
    ids=["in-versions", "as-default"],
)
def test_unknown_psci_version(root: Path, psci: str, line: int, col: int) -> None:
    write(root, "k1.yaml", KERNEL_TOP + psci)
    error = only_error(root, "k1.yaml")
    assert where(error) == ("specs/k1.yaml", line, col)
    assert error.message == "unknown PSCI version '1.4'"
    assert error.hint == "KVM implements 0.1, 0.2, 1.0, 1.1, 1.2, 1.3"


# --- meaning (build) -----------------------------------------------------------------------------


def test_default_bit_that_is_not_declared(root: Path) -> None:
    write(root, "k1.yaml", KERNEL_HEAD + """\
bitmaps:
  STD_BMAP:
    bits: {TRNG_V1_0: 0}
    defaults: [TRNG_V1_0, PTP]
""")
    error = only_error(root, "k1.yaml")
    assert where(error) == ("specs/k1.yaml", 11, 27)
    assert error.message == "default bit PTP is not a known bit of STD_BMAP"
    assert error.hint == "declare it under bits: (known: TRNG_V1_0)"


def test_two_bit_names_with_the_same_number(root: Path) -> None:
    write(root, "k1.yaml", KERNEL_HEAD + """\
bitmaps:
  STD_BMAP:
    bits:
      TRNG_V1_0: 0
      PTP: 0
""")
    error = only_error(root, "k1.yaml")
    assert where(error) == ("specs/k1.yaml", 12, 7)
    assert error.message == "bits TRNG_V1_0 and PTP of STD_BMAP are both bit 0"
    assert error.hint == "each bit number names one service"


@pytest.mark.parametrize(
    ("name", "text", "line"),
    [("k1", KERNEL + "registers:\n  MIDR_EL2: {}\n", 12), ("c1", CPU + "  MIDR_EL2: 1\n", 7)],
    ids=["kernel", "cpu"],
)
def test_unknown_register_suggests_the_close_one(root: Path, name: str, text: str, line: int) -> None:
    write(root, f"{name}.yaml", text)
    error = only_error(root, f"{name}.yaml")
    assert where(error) == (f"specs/{name}.yaml", line, 3)
    assert error.message == "unknown register 'MIDR_EL2'"
    assert error.hint == "did you mean 'MIDR_EL1'?"


def test_vmm_writing_a_bit_the_kernel_does_not_know(root: Path) -> None:
    write_host_set(root, v1=VMM + "writes:\n  STD_BMAP: [TRNG_V1_0, PTP]\n")
    assert isinstance(SpecLoader(SpecRoots([root])).load(root / "v1.yaml"), Vmm)  # fine on its own
    error = only_error(root, "h1.yaml")
    assert where(error) == ("specs/v1.yaml", 9, 13)
    assert error.message == "v1 writes PTP in STD_BMAP, unknown to kernel k1 (used by host h1)"
    assert error.hint == "KVM_SET_ONE_REG fails with -EINVAL; write only bits the kernel declares"


def test_vmm_writing_a_workaround_level_as_a_list(root: Path) -> None:
    write(root, "v1.yaml", VMM + "writes:\n  SMCCC_ARCH_WORKAROUND_1: [AVAIL]\n")
    error = only_error(root, "v1.yaml")
    assert where(error) == ("specs/v1.yaml", 9, 28)
    assert "SMCCC_ARCH_WORKAROUND_1" in error.message


# --- references ----------------------------------------------------------------------------------


def test_unknown_reference_suggests_the_close_name(root: Path) -> None:
    write_host_set(root, k1=None, h1=HOST.replace("kernel: k1", "kernel: linux-6.5"))
    write(root, "linux-6.6.yaml", KERNEL.replace("name: k1", "name: linux-6.6"))
    error = only_error(root, "h1.yaml")
    assert where(error) == ("specs/h1.yaml", 5, 9)
    assert error.message == "unknown spec 'linux-6.5'"
    assert error.hint == "did you mean 'linux-6.6'?"


def test_unknown_reference_hint_names_a_real_command(root: Path) -> None:
    write_host_set(root, h1=HOST.replace("kernel: k1", "kernel: nope"))
    error = only_error(root, "h1.yaml")
    assert where(error) == ("specs/h1.yaml", 5, 9)
    assert error.message == "unknown spec 'nope'"
    if error.hint and "--list" in error.hint:
        result = CliRunner().invoke(_app(), ["lint", "--list", str(root)])
        assert "No such option" not in result.stderr


def test_host_reports_every_bad_reference(root: Path) -> None:
    write_host_set(root, h1=HOST.replace("kernel: k1", "kernel: nope1").replace("vmm: v1", "vmm: nope2"))
    found = [(*where(e), e.message) for e in errors(root, "h1.yaml")]
    assert found == [
        ("specs/h1.yaml", 5, 9, "unknown spec 'nope1'"),
        ("specs/h1.yaml", 6, 6, "unknown spec 'nope2'"),
    ]


CYCLE_A = """\
abi-check: 1
kind: kernel
name: a
source: test
extends: b
"""


@pytest.mark.parametrize(
    ("start", "path", "chain"),
    [("a", "specs/b.yaml", "a -> b -> a"), ("b", "specs/a.yaml", "b -> a -> b")],
)
def test_extends_cycle(root: Path, start: str, path: str, chain: str) -> None:
    write(root, "a.yaml", CYCLE_A)
    write(root, "b.yaml", CYCLE_A.replace("name: a", "name: b").replace("extends: b", "extends: a"))
    error = only_error(root, f"{start}.yaml")
    assert where(error) == (path, 5, 1)
    assert error.message == f"extends cycle: {chain}"
    assert error.hint == "a spec may not extend itself, directly or indirectly"


def test_spec_extending_itself(root: Path) -> None:
    write(root, "a.yaml", CYCLE_A.replace("extends: b", "extends: a"))
    error = only_error(root, "a.yaml")
    assert where(error) == ("specs/a.yaml", 5, 1)
    assert error.message == "extends cycle: a -> a"


def test_kernel_extending_a_cpu_spec(root: Path) -> None:
    write(root, "c1.yaml", CPU)
    write(root, "k2.yaml", "abi-check: 1\nkind: kernel\nname: k2\nsource: test\nextends: c1\n")
    error = only_error(root, "k2.yaml")
    assert where(error) == ("specs/k2.yaml", 5, 10)
    assert error.message == "a kernel spec cannot extend c1, a cpu spec"


def test_host_kernel_naming_a_vmm_spec(root: Path) -> None:
    write_host_set(root, h1=HOST.replace("kernel: k1", "kernel: v1"))
    error = only_error(root, "h1.yaml")
    assert where(error) == ("specs/h1.yaml", 5, 9)
    assert error.message == "v1 is a vmm spec, expected a kernel spec"


def test_error_in_a_referenced_spec_is_reported_at_the_reference(root: Path) -> None:
    write_host_set(root, k1=KERNEL.replace("arch: arm64", "arch: x86"))
    error = only_error(root, "h1.yaml")
    assert where(error) == ("specs/h1.yaml", 5, 9)
    assert error.message.startswith("k1 has errors (first: specs/k1.yaml:6:7: 'x86' is not one of")
    assert error.hint == "fix the referenced spec first (abi-check lint shows all its errors)"


def test_error_in_a_referenced_spec_is_one_line(root: Path) -> None:
    write_host_set(root, k1=KERNEL.replace("arch: arm64", "arch: x86"))
    error = only_error(root, "h1.yaml")
    assert "\n" not in error.message


@pytest.mark.parametrize(
    ("name", "text", "line", "col"),
    [
        ("k2", "abi-check: 1\nkind: kernel\nname: k2\nsource: test\nextends: ../outside.yaml\n", 5, 10),
        ("h1", HOST.replace("kernel: k1", "kernel: ../outside.yaml"), 5, 9),
    ],
    ids=["extends", "host-kernel"],
)
def test_relative_reference_leaving_the_roots(
    root: Path, tmp_path: Path, name: str, text: str, line: int, col: int
) -> None:
    outside = tmp_path / "outside.yaml"
    outside.write_text(KERNEL.replace("name: k1", "name: outside"), encoding="utf-8")
    assert isinstance(SpecLoader(SpecRoots([tmp_path])).load(outside), Kernel)  # valid: only its place is wrong
    write_host_set(root)
    write(root, f"{name}.yaml", text)
    error = only_error(root, f"{name}.yaml")
    assert where(error) == (f"specs/{name}.yaml", line, col)
    assert error.message == "'../outside.yaml' leaves the spec roots"
    assert error.hint is not None and "--root" in error.hint


def test_relative_reference_inherited_through_extends(root: Path) -> None:
    write_host_set(root, k1=None, h1="abi-check: 1\nkind: host\nname: h1\nsource: test\nextends: hosts/h0.yaml\n")
    write(root, "kernels/k1.yaml", KERNEL)
    base = HOST.replace("name: h1", "name: h0").replace("kernel: k1", "kernel: ../kernels/k1.yaml")
    write(root, "hosts/h0.yaml", base)
    loader = SpecLoader(SpecRoots([root]))
    assert isinstance(loader.load(root / "hosts/h0.yaml"), Host)
    host = loader.load_host(root / "h1.yaml")
    assert host.kernel.info.path == "specs/kernels/k1.yaml"


def test_overlong_relative_reference(root: Path) -> None:
    write(root, "k2.yaml", "abi-check: 1\nkind: kernel\nname: k2\nsource: test\nextends: " + "a" * 300 + ".yaml\n")
    error = only_error(root, "k2.yaml")
    assert where(error) == ("specs/k2.yaml", 5, 10)


def test_name_differing_from_the_file_name(root: Path) -> None:
    write(root, "k1.yaml", KERNEL.replace("name: k1", "name: k2"))
    error = only_error(root, "k1.yaml")
    assert where(error) == ("specs/k1.yaml", 3, 7)
    assert error.message == "name 'k2' differs from the file name 'k1'"
    assert error.hint == "rename the file or write name: k1"


def test_name_hint_for_an_upper_case_file_name_is_a_valid_name(root: Path) -> None:
    write(root, "K1.yaml", KERNEL)
    error = only_error(root, "K1.yaml")
    assert where(error) == ("specs/K1.yaml", 3, 7)
    assert "write name: K1" not in (error.hint or "")


HUGE_HEX = "0x" + "f" * 4000  # a YAML int of about 4800 decimal digits, past Python's int-to-str limit of 4300


@pytest.mark.parametrize(
    ("text", "line", "col"),
    [
        (KERNEL.replace("name: k1", f"name: {HUGE_HEX}"), 3, 7),
        (KERNEL.replace("abi-check: 1", f"abi-check: {HUGE_HEX}"), 1, 12),
        (KERNEL_TOP + f'psci:\n  versions: ["1.1"]\n  default: {HUGE_HEX}\n', 9, 12),
    ],
    ids=["string-expected", "format-version", "psci-version"],
)
def test_huge_integer_in_the_wrong_place_is_a_located_error(root: Path, text: str, line: int, col: int) -> None:
    write(root, "k1.yaml", text)
    error = only_error(root, "k1.yaml")
    assert where(error) == ("specs/k1.yaml", line, col)


# --- lint and the command line -------------------------------------------------------------------

HEADER = re.compile(r"^(?P<path>specs/[\w./-]+):(?P<line>\d+):(?P<col>\d+): spec error: (?P<message>.*)$")

EXPECTED_HEADERS = [
    "specs/a-syntax.yaml:4:13: spec error: YAML syntax error: mapping values are not allowed here",
    "specs/b-typo.yaml:5:1: spec error: unknown key 'registres'",
    "specs/kernels/k2.yaml:9:12: spec error: unknown PSCI version '1.4'",
    "specs/kernels/k2.yaml:11:32: spec error: 64 is out of range",
    "specs/v1.yaml:9:13: spec error: v1 writes PTP in STD_BMAP, unknown to kernel k1 (used by host h1)",
]


def write_bad_directory(root: Path) -> None:
    """Seven specs: three valid, four with errors, one of them found only through the host."""
    write_host_set(root, v1=VMM + "writes:\n  STD_BMAP: [TRNG_V1_0, PTP]\n")
    write(root, "a-syntax.yaml", "abi-check: 1\nkind: cpu\nname: a-syntax\nsource: test: x\n")
    write(root, "b-typo.yaml", CPU.replace("name: c1", "name: b-typo").replace("registers:", "registres:"))
    # Lines 9 and 11: sorted as numbers, not as text.
    write(root, "kernels/k2.yaml", KERNEL_TOP.replace("name: k1", "name: k2") + """\
psci:
  versions: ["1.1"]
  default: "1.4"
bitmaps:
  STD_BMAP: {bits: {TRNG_V1_0: 64}}
""")


def check_lint_stderr(stderr: str) -> None:
    lines = stderr.splitlines()
    assert lines[-1] == f"7 specs checked, {len(EXPECTED_HEADERS)} error(s)"
    headers = [line for line in lines[:-1] if not line.startswith(" ")]
    assert all(HEADER.match(line) for line in headers), headers
    assert headers == EXPECTED_HEADERS
    keys = [(m["path"], int(m["line"]), int(m["col"])) for m in map(HEADER.match, headers) if m]
    assert keys == sorted(set(keys))  # sorted, each once
    assert all(line.startswith(("    ", "  hint: ")) for line in lines[:-1] if line not in headers)


def test_lint_reports_every_error_of_every_file_once_and_sorted(root: Path) -> None:
    write_bad_directory(root)
    stderr = io.StringIO()
    assert lint([Path("specs")], stderr=stderr) == 2
    check_lint_stderr(stderr.getvalue())
    assert "  hint: did you mean 'registers'?" in stderr.getvalue()


def test_cli_lint_writes_errors_to_stderr_only(root: Path) -> None:
    write_bad_directory(root)
    result = CliRunner().invoke(_app(), ["lint", "specs"])
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    check_lint_stderr(result.stderr)


def test_cli_lint_bad_directory_exits_2(root: Path, tmp_path: Path) -> None:
    write_bad_directory(root)
    result = run_cli("lint", "specs", cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    check_lint_stderr(result.stderr)


def test_cli_lint_valid_directory_exits_0(root: Path, tmp_path: Path) -> None:
    write_host_set(root)
    result = run_cli("lint", "specs", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert result.stderr == "4 specs checked, no errors\n"


def test_lint_puts_the_root_cause_first_and_says_it_once(tmp_path: Path) -> None:
    """One unquoted kernel version: the kernel's own error, then one line naming the hosts it keeps from loading."""
    specs = tmp_path / "specs"
    shutil.copytree(Path(__file__).resolve().parents[1] / "specs", specs)
    kernel = specs / "kernels" / "linux-6.15.yaml"
    kernel.write_text(kernel.read_text(encoding="utf-8").replace('version: "6.15"', "version: 6.15"), encoding="utf-8")
    stderr = io.StringIO()
    assert lint([specs], stderr=stderr) == 2
    lines = stderr.getvalue().splitlines()
    assert lines[0].endswith("kernels/linux-6.15.yaml:5:10: spec error: expected a string, found a number (6.15)")
    users = [line for line in lines if "spec(s) that use it are not checked until it loads" in line]
    assert len(users) == 1 and users[0].split(":")[0].endswith("kernels/linux-6.15.yaml")
    assert users[0].count("hosts/") == 4 and "n1-linux-6.15-qemu-10.2.yaml" in users[0]
    assert not any("has errors (first:" in line for line in lines)  # each dependent said once, in that line
    assert lines[-1].endswith("specs checked, 1 error(s)")
