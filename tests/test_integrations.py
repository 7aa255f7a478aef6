"""The shipped CI examples and pre-commit hooks call abi-check the way the CLI accepts, and are well-formed
workflows (actionlint is not available offline: these are the structural checks that matter here)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import yaml
from typer.testing import CliRunner

from abi_check.cli import _app
from abi_check.report.formats import Format, parse_formats

ROOT = Path(__file__).resolve().parent.parent
FORK_GUARD = "github.event.pull_request.head.repo.full_name == github.repository"


def commands(scripts: list[str]) -> list[list[str]]:
    """Every abi-check command line in shell snippets, split like a shell would (variables left as written)."""
    found = []
    for script in scripts:
        for line in script.splitlines():
            match = re.search(r"abi-check (gate|lint|pair)\b[^|;#]*", line)
            if match:
                found.append(shlex.split(match.group(0).split(" || ")[0]))
    return found


def accepted(argv: list[str]) -> bool:
    """The CLI parses these arguments (asking for --help last, so nothing runs)."""
    return CliRunner().invoke(_app(), [*argv[1:], "--help"]).exit_code == 0


def formats(argv: list[str]) -> tuple[Format, dict[Format, str]]:
    given = [argv[i + 1] for i, a in enumerate(argv) if a in ("--format", "-f")]
    main, files = parse_formats(given)
    return main, {f: str(p) for f, p in files}


def load(name: str) -> Any:
    return yaml.safe_load((ROOT / name).read_text())


def test_pre_commit_hooks() -> None:
    hooks = load(".pre-commit-hooks.yaml")
    assert {h["id"] for h in hooks} == {"abi-check-lint", "abi-check-gate"}
    for hook in hooks:
        assert hook["language"] == "python" and hook["entry"].startswith("abi-check ")
        assert re.compile(hook["files"]).search("specs/hosts/h.yaml")
        assert accepted([*shlex.split(hook["entry"]), *hook.get("args", [])])
    gate = next(h for h in hooks if h["id"] == "abi-check-gate")
    for path in ("abi-rules/my-rule.rule", "pyproject.toml", ".abi-check.yaml", "abi-waivers.yaml"):
        assert re.compile(gate["files"]).search(path), path


def test_github_workflow_runs_the_gate_once_installs_from_the_repository_and_guards_forks() -> None:
    flow = load("examples/github-actions.yml")
    on = flow.get("on", flow.get(True))  # YAML 1.1 reads the key 'on' as true
    paths = on["pull_request"]["paths"]
    for needed in ("specs/**", ".abi-check.yaml", "pyproject.toml", "abi-waivers.yaml"):
        assert needed in paths
    assert any(p.endswith("/**") and "rule" in p for p in paths)  # a rule directory
    assert flow["permissions"] == {"contents": "read", "security-events": "write"}
    install = flow["env"]["ABI_CHECK"]
    assert install.startswith("git+https://") and "OWNER" in install and "@REF" in install
    steps = flow["jobs"]["gate"]["steps"]
    assert flow["jobs"]["gate"]["runs-on"]
    for step in steps:
        assert ("uses" in step) != ("run" in step), step
        if "uses" in step:
            assert re.fullmatch(r"[\w.-]+/[\w./-]+@v\d+", step["uses"]), step["uses"]
        if "if" in step:
            assert step["if"].count("${{") == step["if"].count("}}") == 1
    runs = [s["run"] for s in steps if "run" in s]
    assert any('pip install "$ABI_CHECK"' in r for r in runs)
    gates = [argv for argv in commands(runs) if argv[1] == "gate"]
    assert len(gates) == 1  # one run writes every format
    assert accepted(gates[0])
    main, files = formats(gates[0])
    assert main is Format.GITHUB and {Format.SARIF, Format.JUNIT, Format.MARKDOWN} <= set(files)
    upload = next(s for s in steps if s.get("uses", "").startswith("github/codeql-action/upload-sarif"))
    assert FORK_GUARD in upload["if"] and "!cancelled()" in upload["if"]
    assert upload["with"]["sarif_file"] == files[Format.SARIF]
    summary = next(s for s in steps if "GITHUB_STEP_SUMMARY" in s.get("run", ""))
    assert files[Format.MARKDOWN] in summary["run"] and "!cancelled()" in summary["if"]


def test_gitlab_job_runs_the_gate_once_and_publishes_junit() -> None:
    job = load("examples/gitlab-ci.yml")["abi-check-gate"]
    changes = job["rules"][0]["changes"]
    for needed in ("specs/**/*", ".abi-check.yaml", "pyproject.toml", "abi-waivers.yaml"):
        assert needed in changes
    assert job["variables"]["ABI_CHECK"].startswith("git+https://")
    assert any('pip install "$ABI_CHECK"' in line for line in job["before_script"])
    gates = [argv for argv in commands(job["script"]) if argv[1] == "gate"]
    assert len(gates) == 1 and accepted(gates[0])
    _, files = formats(gates[0])
    assert job["artifacts"]["reports"]["junit"] == files[Format.JUNIT]
    assert files[Format.MARKDOWN] in job["artifacts"]["paths"] and job["artifacts"]["when"] == "always"


def test_ci_examples_use_existing_options_and_formats() -> None:
    for name in ("examples/github-actions.yml", "examples/gitlab-ci.yml"):
        text = (ROOT / name).read_text()
        assert "abi-check==" not in text  # not a package on PyPI
        found = commands([str(v) for v in _strings(yaml.safe_load(text))])
        assert found, name
        for argv in found:
            assert accepted(argv), argv
            formats(argv)  # raises on a format that does not exist


def _strings(node: Any) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [s for v in node.values() for s in _strings(v)]
    if isinstance(node, list):
        return [s for v in node for s in _strings(v)]
    return []
