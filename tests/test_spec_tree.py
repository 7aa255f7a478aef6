"""Names resolve in the input's own spec tree first: an edit in a checkout is what its hosts use."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from abi_check.cli import _app
from abi_check.resources import catalogue_dir
from abi_check.spec.catalogue import spec_tree

SRC = "specs/hosts/n1-linux-6.15-qemu-10.2.yaml"
DST = "specs/hosts/n1-linux-6.13-qemu-10.2.yaml"


@pytest.fixture
def checkout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the repository's specs whose linux-6.15 enables a VENDOR_HYP_BMAP_2 bit by default: the
    shipped catalogue (the package's copy) no longer matches it."""
    root = tmp_path / "checkout"
    shutil.copytree(catalogue_dir(), root / "specs")
    (root / ".git").mkdir()
    kernel = root / "specs" / "kernels" / "linux-6.15.yaml"
    text = kernel.read_text()
    assert "    defaults: []\n" in text
    kernel.write_text(text.replace("    defaults: []\n", "    defaults: [DISCOVER_IMPL_VER]\n", 1))
    monkeypatch.chdir(root)
    return root


def _findings(data: dict[str, object]) -> list[dict[str, object]]:
    pairs = data["pairs"]
    assert isinstance(pairs, list)
    return [f for p in pairs for f in p["findings"]]


def _assert_inside_checkout(findings: list[dict[str, object]]) -> None:
    for f in findings:
        location = f["location"]
        assert isinstance(location, dict)
        path = str(location["path"])
        assert path.startswith("specs/"), path  # relative to the checkout, never the package's copy
        assert (Path.cwd() / path).is_file()


def test_pair_and_matrix_see_an_edit_in_the_checkout(checkout: Path) -> None:
    out = CliRunner().invoke(_app(), ["pair", SRC, DST, "-f", "json"])
    assert out.exit_code == 12, out.stderr
    findings = _findings(json.loads(out.stdout))
    # The edited default is what makes the rule fire, and it is located in the checkout's VMM spec.
    assert ("bitmap-implicit-default", "VENDOR_HYP_BMAP_2") in {(f["rule"], f["subject"]) for f in findings}
    _assert_inside_checkout(findings)

    out = CliRunner().invoke(_app(), ["matrix", "specs/hosts", "-f", "json", "--findings", "--fail-on", "never"])
    assert out.exit_code == 0, out.stderr
    data = json.loads(out.stdout)
    text = json.dumps(data)
    assert str(catalogue_dir().resolve()) not in text
    assert "bitmap-implicit-default" in text


def test_the_shipped_catalogue_itself_is_unchanged(checkout: Path) -> None:
    """The same pair on the package's copy does not have the finding: the test above is not vacuous."""
    hosts = catalogue_dir() / "hosts"
    out = CliRunner().invoke(_app(), ["pair", str(hosts / Path(SRC).name), str(hosts / Path(DST).name), "-f", "json"])
    rules = {f["rule"] for f in _findings(json.loads(out.stdout))}
    assert "bitmap-implicit-default" not in rules


def test_the_tree_search_stops_at_the_repository(tmp_path: Path) -> None:
    (tmp_path / "kernels").mkdir()
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "hosts").mkdir()
    assert spec_tree(repo / "hosts") is None  # kernels/ above the repository is not this checkout's
    (repo / "vmms").mkdir()
    assert spec_tree(repo / "hosts" / "a.yaml") == repo.resolve()
