"""Configuration files: discovery, located errors for unknown keys, and the settings they change."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from abi_check.cli import _app
from abi_check.config.file import discover, load_config, read_config
from abi_check.errors import InputError, InputErrors
from abi_check.spec.tomlnodes import locate

# A warnings-only upgrade. Not the shipped N1 hosts: their ID_AA64DFR0_EL1 differs between 5.10 and 6.1 (PMSVer),
# which 6.1 refuses, as the real Graviton2 fingerprints show.
_UPGRADE_DIR = Path(__file__).resolve().parent / "data" / "upgrade"
UPGRADE = [str(_UPGRADE_DIR / "a72-linux-5.10-qemu-8.2.yaml"), str(_UPGRADE_DIR / "a72-linux-6.1-qemu-8.2.yaml")]


def cli(*args: str) -> tuple[int, str, str]:
    out = CliRunner().invoke(_app(), list(args))
    return out.exit_code, out.stdout, out.stderr


def errors_of(exc: InputErrors | InputError) -> list[str]:
    errors = exc.errors if isinstance(exc, InputErrors) else [exc]
    return [e.render(context=False) for e in errors]


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Discovery walks upward from the working directory and stops at a repository root.
    (tmp_path / ".git").mkdir()
    monkeypatch.chdir(tmp_path)


def test_unknown_key_in_abi_check_yaml_is_located(tmp_path: Path) -> None:
    (tmp_path / ".abi-check.yaml").write_text("fail-on: error\nseverty:\n  psci-not-implemented: warning\n")
    code, _, err = cli("pair", *UPGRADE)
    assert code == 2
    assert ".abi-check.yaml:2:1: config error: unknown key 'severty'" in err
    assert "hint: did you mean 'severity'?" in err
    assert "Traceback" not in err


def test_unknown_keys_in_pyproject_are_located_at_their_line_and_column(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\n\n'
        "[tool.abi-check]\n"
        'fail-on = "error"\n'
        'spec-root = ["specs"]\n'
        "\n"
        "[tool.abi-check.severity]\n"
        'psci-not-implemented = "warning"\n'
        "  bitmap-implicit-defualt = \"error\"\n"
    )
    with pytest.raises(InputErrors) as caught:
        read_config(tmp_path / "pyproject.toml")
    found = errors_of(caught.value)
    assert found == ["pyproject.toml:6:1: config error: unknown key 'spec-root'\n  hint: did you mean 'spec-roots'?"]
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace("spec-root = ", "spec-roots = "))
    code, _, err = cli("pair", *UPGRADE)
    assert code == 2
    assert "pyproject.toml:10:3: config error: no rule 'bitmap-implicit-defualt'" in err
    assert "did you mean 'bitmap-implicit-default'?" in err


def test_inline_tables_and_toml_syntax_errors_are_located(tmp_path: Path) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[tool.abi-check]\nseverity = { psci-not-implemented = "warning", nope = "loud" }\n')
    with pytest.raises(InputErrors) as caught:
        read_config(pyproject)
    assert errors_of(caught.value) == [
        "pyproject.toml:2:55: config error: 'loud' is not one of the allowed values\n"
        "  hint: one of: error, warning, note"
    ]
    pyproject.write_text("[tool.abi-check]\nfail-on = \n")
    with pytest.raises(InputError) as syntax:
        read_config(pyproject)
    assert str(syntax.value).startswith("pyproject.toml:2:11: config error: TOML syntax error: Invalid value")


def test_locator_finds_headers_dotted_keys_and_inline_tables() -> None:
    text = '[tool."abi-check"]\nrules = ["r"]\nseverity.psci-not-implemented = "note"\nx = {a = 1, "b c" = 2}\n'
    keys, values = locate(text, "p")
    assert (keys[("tool", "abi-check", "rules")].line, keys[("tool", "abi-check", "rules")].col) == (2, 1)
    assert keys[("tool", "abi-check", "severity", "psci-not-implemented")].line == 3
    assert (keys[("tool", "abi-check", "x", "b c")].line, keys[("tool", "abi-check", "x", "b c")].col) == (4, 13)
    assert values[("tool", "abi-check", "rules")].col == 9


def test_severity_overrides_and_disabled_rules_change_findings_and_exit_codes(tmp_path: Path) -> None:
    assert cli("pair", *UPGRADE)[0] == 4  # warnings only
    config = tmp_path / ".abi-check.yaml"
    config.write_text("severity:\n  bitmap-implicit-default: error\n  register-new-nonzero-default: note\n")
    code, out, _ = cli("pair", "-f", "json", *UPGRADE)
    data = json.loads(out)
    assert code == 8
    severities = {f["rule"]: f["severity"] for f in data["pairs"][0]["findings"]}
    assert severities["bitmap-implicit-default"] == "error"
    assert severities["register-new-nonzero-default"] == "note"
    config.write_text("disable: [bitmap-implicit-default, register-new-nonzero-default]\n")
    code, out, _ = cli("pair", "-f", "json", *UPGRADE)
    data = json.loads(out)
    assert code == 0
    assert "bitmap-implicit-default" not in data["rules"]
    assert not {f["rule"] for f in data["pairs"][0]["findings"]} & {"bitmap-implicit-default",
                                                                      "register-new-nonzero-default"}


def test_fail_on_from_config_and_the_flag_wins(tmp_path: Path) -> None:
    (tmp_path / ".abi-check.yaml").write_text("fail-on: error\n")
    assert cli("pair", *UPGRADE)[0] == 0
    assert cli("pair", "--fail-on", "warning", *UPGRADE)[0] == 4
    other = tmp_path / "strict.yaml"
    other.write_text("fail-on: note\n")
    assert cli("pair", "--config", str(other), *UPGRADE)[0] == 4


def test_discovery_walks_up_to_the_repository_root(tmp_path: Path) -> None:
    nested = tmp_path / "a" / "b"
    nested.mkdir(parents=True)
    assert discover(nested) is None
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n')  # no [tool.abi-check]: skipped
    assert discover(nested) is None
    (tmp_path / "pyproject.toml").write_text('[tool.abi-check]\nfail-on = "never"\n')
    assert discover(nested) == tmp_path / "pyproject.toml"
    (tmp_path / "a" / ".abi-check.yaml").write_text("fail-on: note\n")
    assert discover(nested) == tmp_path / "a" / ".abi-check.yaml"
    assert load_config(None, nested).fail_on is not None and load_config(None, nested).fail_on.value == "note"
    # Above the repository root nothing is looked at.
    (tmp_path / "a" / ".git").mkdir()
    (tmp_path / "a" / ".abi-check.yaml").unlink()
    assert discover(nested) is None


def test_paths_in_the_config_are_relative_to_the_file(tmp_path: Path) -> None:
    sub = tmp_path / "conf"
    sub.mkdir()
    (sub / ".abi-check.yaml").write_text("spec-roots: [../specs]\nrules: [rules]\nwaivers: w.yaml\n")
    config = read_config(sub / ".abi-check.yaml")
    assert config.spec_roots == (sub / "../specs",)
    assert config.rule_dirs == (sub / "rules",)
    assert config.waivers == sub / "w.yaml"


def test_config_cannot_touch_internal_errors(tmp_path: Path) -> None:
    (tmp_path / ".abi-check.yaml").write_text("disable: [internal-error]\n")
    code, _, err = cli("pair", *UPGRADE)
    assert code == 2 and ".abi-check.yaml:1:11: config error: internal-error cannot be configured" in err
