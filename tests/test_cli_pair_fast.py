"""`pair` without typer: the same run as typer's for plain arguments, typer's own handling for everything else."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from abi_check.cli import _app, _pair_fast
from tests.conftest import HOSTS

ROOT = Path(__file__).resolve().parent.parent
SRC = str(HOSTS / "n1-linux-6.15-qemu-10.2.yaml")
DST = str(HOSTS / "n1-linux-6.12-qemu-10.2.yaml")


@pytest.mark.parametrize(
    "args",
    [
        [SRC, DST],
        [SRC, DST, "--both", "-f", "json"],
        ["--format", "markdown", SRC, "--fail-on", "error", DST],
        [SRC, DST, "--fail-on", "never", "--root", str(HOSTS.parent), "-f", "sarif"],
        [SRC, str(HOSTS / "no-such-host.yaml")],
    ],
)
def test_the_fast_path_runs_what_typer_runs(args: list[str], tmp_path: Path) -> None:
    assert _pair_fast(["pair", *args]) is not None
    fast = subprocess.run([sys.executable, "-m", "abi_check", "pair", *args], capture_output=True, text=True, cwd=ROOT)
    typer_run = CliRunner().invoke(_app(), ["pair", *args], prog_name="abi-check")
    assert fast.returncode == typer_run.exit_code
    assert fast.stdout == typer_run.stdout


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["--help"],
        [SRC],
        [SRC, DST, DST],
        [SRC, DST, "--format=json"],
        [SRC, DST, "-f", "yaml"],
        [SRC, DST, "--fail-on", "sometimes"],
        [SRC, DST, "--bogus"],
        [SRC, DST, "-o"],
        [SRC, DST, "-o", "--both"],
        [SRC, DST, "--", "x"],
        ["", DST],
    ],
)
def test_everything_else_is_left_to_typer(args: list[str]) -> None:
    assert _pair_fast(["pair", *args]) is None


def test_other_commands_are_left_to_typer() -> None:
    assert _pair_fast(["matrix", SRC, DST]) is None
    assert _pair_fast([]) is None
