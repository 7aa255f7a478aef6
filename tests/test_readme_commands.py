"""Every command the README and ``abi-check explain`` show runs as shown: not a usage error (2) nor a tool
failure (1), and where the README shows output, the output starts with the line it shows."""

from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from abi_check.cli import _app
from abi_check.resources import catalogue_dir
from abi_check.rules.engine import load_rules
from tests.test_gate import git

ROOT = Path(__file__).resolve().parent.parent
BLOCK = re.compile(r"```(console|sh)\n(.*?)```", re.S)
SUGGESTED = re.compile(r"^\s*abi-check (pair \S+ \S+) reports:$", re.M)


def readme_commands() -> list[tuple[str, str | None]]:
    """(command, first line of the output the README shows, or None) for every abi-check command it shows."""
    out: list[tuple[str, str | None]] = []
    for kind, body in BLOCK.findall((ROOT / "README.md").read_text()):
        lines = body.splitlines()
        for i, line in enumerate(lines):
            text = line[2:] if kind == "console" and line.startswith("$ ") else line if kind == "sh" else None
            if text is None:
                continue
            following = lines[i + 1] if kind == "console" and i + 1 < len(lines) else None
            shown = None if following is None or following.startswith("$ ") or following.strip() in ("", "...") \
                else following
            commands = [c.strip() for c in text.split("#")[0].split("&&")]
            for n, command in enumerate(c for c in commands if c.startswith("abi-check ")):
                out.append((command, shown if n == len(commands) - 1 or len(commands) == 1 else None))
    return out


def run(command: str) -> tuple[int, str, str]:
    args = shlex.split(command)
    assert args[0] == "abi-check"
    result = CliRunner().invoke(_app(), args[1:])
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def checkout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The repository's specs in a git work tree whose origin/main is HEAD, as in a CI job."""
    root = tmp_path / "checkout"
    shutil.copytree(catalogue_dir(), root / "specs")
    git(root.parent, "init", "-q", str(root))
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "specs")
    git(root, "update-ref", "refs/remotes/origin/main", "HEAD")
    monkeypatch.chdir(root)
    return root


def test_the_readme_shows_commands() -> None:
    commands = [c for c, _ in readme_commands()]
    assert "abi-check matrix --fail-on never" in commands  # the first command a user types
    assert any(c.startswith("abi-check pair ") for c in commands)
    assert sum(shown is not None for _, shown in readme_commands()) >= 3


def test_every_readme_command_runs_as_shown(checkout: Path) -> None:
    for command, shown in readme_commands():
        code, stdout, stderr = run(command)
        assert code not in (1, 2), f"{command}: exit {code}\n{stderr}"
        if shown is not None:
            first = (stdout or stderr).splitlines()[0]
            assert first.rstrip() == shown.rstrip(), command


def test_every_command_explain_suggests_runs(checkout: Path) -> None:
    suggested: set[str] = set()
    for rule in load_rules().rules:
        code, stdout, stderr = run(f"abi-check explain {rule.meta.id}")
        assert code == 0, stderr
        suggested.update(SUGGESTED.findall(stdout))
    assert suggested  # explain does print example commands
    for command in sorted(suggested):
        code, _, stderr = run(f"abi-check {command}")
        assert code not in (1, 2), f"abi-check {command}: exit {code}\n{stderr}"


def test_pair_takes_names_with_did_you_mean_and_two_kernels(checkout: Path) -> None:
    code, out, _ = run("abi-check pair n1-linux-6.13-qemu-10.2 n1-linux-6.12-qemu-10.2")
    assert code == 8 and out.startswith("n1-linux-6.13-qemu-10.2 -> n1-linux-6.12-qemu-10.2: fails")
    code, _, err = run("abi-check pair n1-linux-6.13-qemu-10.3 n1-linux-6.12-qemu-10.2")
    assert code == 2 and "did you mean 'n1-linux-6.13-qemu-10.2'?" in err
    code, _, err = run("abi-check matrix n1-linux-6.13-qemu-10.2 n1-linux-6.12-qemu-1.2")
    assert code == 2 and "did you mean 'n1-linux-6.12-qemu-10.2'?" in err
    # Two kernels: the same host (a catalogue host on one of them) with each, PSCI 1.3 cannot go back to 6.12.
    code, out, err = run("abi-check pair linux-6.13 linux-6.12 -f json")
    assert code == 8 and "psci-not-implemented" in out
    assert "+linux-6.13 -> " in out.replace('"', " ") or "+linux-6.13" in out
    code, _, err = run("abi-check pair linux-6.13 qemu-10.2")
    assert code == 2 and "a kernel spec and" in err
