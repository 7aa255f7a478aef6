"""The exported JSON Schema agrees with the loader, and the CLI basics work as documented."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from abi_check import __version__
from abi_check.resources import catalogue_dir
from abi_check.spec.catalogue import iter_spec_files
from abi_check.spec.schema import json_schema
from abi_check.spec.yamlnodes import load_file

ROOT = Path(__file__).resolve().parent.parent


def run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    # The package under test, whether installed or run from the checkout.
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "abi_check", *args], capture_output=True, text=True, cwd=cwd,
                          env=env)


def test_schema_command_prints_a_valid_json_schema() -> None:
    out = run("schema")
    assert out.returncode == 0
    schema = json.loads(out.stdout)
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema == json_schema()


@pytest.mark.parametrize("path", list(iter_spec_files(catalogue_dir())), ids=lambda p: p.stem)
def test_every_shipped_spec_validates_against_the_exported_schema(path: Path) -> None:
    jsonschema.validate(load_file(path).plain(), json_schema())


def test_schema_rejects_what_the_loader_rejects() -> None:
    validator = jsonschema.Draft202012Validator(json_schema())
    good = {"abi-check": 1, "kind": "kernel", "name": "k", "source": "s", "version": "6.6"}
    assert validator.is_valid(good)
    assert not validator.is_valid({**good, "verison": "6.6"})  # unknown key
    assert not validator.is_valid({**good, "version": 6.6})  # must be quoted
    assert not validator.is_valid({**good, "bitmaps": {"STD_BMAP": {"bits": {"TRNG_V1_0": 64}}}})  # bit > 63


def test_version_and_module_entry_point() -> None:
    out = run("--version")
    assert out.returncode == 0 and out.stdout.strip() == f"abi-check {__version__}"


def test_lint_without_arguments_checks_the_shipped_catalogue(tmp_path: Path) -> None:
    out = run("lint", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stderr.strip().endswith("specs checked, no errors")
    count = int(out.stderr.split()[0])
    assert count == len(list(iter_spec_files(catalogue_dir())))


def test_usage_error_exits_2() -> None:
    out = run("pair", "--format", "yaml", "a.yaml", "b.yaml")
    assert out.returncode == 2
    assert "Traceback" not in out.stderr


def test_pattern_mismatch_says_what_was_expected(tmp_path: Path) -> None:
    (tmp_path / "k.yaml").write_text('abi-check: 1\nkind: kernel\nname: k\nsource: s\nversion: "abc"\narch: arm64\n')
    out = run("lint", str(tmp_path))
    assert out.returncode == 2
    assert f"{tmp_path.name}/k.yaml:5:10: spec error: 'abc' is not valid here" in out.stderr
    assert "hint: expected kernel release, quoted: '6.15'" in out.stderr
