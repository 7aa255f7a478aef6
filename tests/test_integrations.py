"""The shipped CI examples and pre-commit hooks call abi-check the way the CLI accepts."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import yaml
from typer.testing import CliRunner

from abi_check.cli import _app
from abi_check.report.formats import Format

ROOT = Path(__file__).resolve().parent.parent


def commands(text: str) -> list[list[str]]:
    """Every abi-check command line in a file, split like a shell would (variables left as written)."""
    found = []
    for line in text.splitlines():
        match = re.search(r"abi-check (gate|lint|pair)\b[^|;#]*", line)
        if match:
            found.append(shlex.split(match.group(0).split(" || ")[0]))
    return found


def accepted(argv: list[str]) -> bool:
    """The CLI parses these arguments (asking for --help last, so nothing runs)."""
    return CliRunner().invoke(_app(), [*argv[1:], "--help"]).exit_code == 0


def test_pre_commit_hooks() -> None:
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert {h["id"] for h in hooks} == {"abi-check-lint", "abi-check-gate"}
    for hook in hooks:
        assert hook["language"] == "python" and hook["entry"].startswith("abi-check ")
        assert re.compile(hook["files"]).search("specs/hosts/h.yaml")
        assert accepted([*shlex.split(hook["entry"]), *hook.get("args", [])])


def test_ci_examples_use_existing_options_and_formats() -> None:
    for name in ("github-actions.yml", "gitlab-ci.yml"):
        text = (ROOT / "examples" / name).read_text()
        yaml.safe_load(text)
        found = commands(text)
        assert found, name
        for argv in found:
            assert accepted(argv), argv
            if "--format" in argv:
                assert argv[argv.index("--format") + 1] in {f.value for f in Format}
        assert any("--format" in argv and "sarif" in argv for argv in found) or name != "github-actions.yml"
        assert any("junit" in argv for argv in found) or name != "gitlab-ci.yml"
