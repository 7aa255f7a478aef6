"""Shared fixtures: the shipped catalogue, loaded once per session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from abi_check.abi.effective import EffectiveAbi, effective_abi
from abi_check.abi.views import HostView
from abi_check.resources import catalogue_dir
from abi_check.rules.engine import RuleSet, load_rules
from abi_check.spec.catalogue import SpecRoots
from abi_check.spec.loader import SpecLoader

CATALOGUE = catalogue_dir().resolve()
HOSTS = CATALOGUE / "hosts"

# pytest imports readline, and GNU readline exports COLUMNS (80) to every child process: a CLI a test runs would
# wrap its text reports as on an 80-column terminal. Tests that want a width set COLUMNS themselves.
os.environ.pop("COLUMNS", None)
os.unsetenv("COLUMNS")


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A cache directory of the test's own (pair's caches, node packs), caching on."""
    directory = tmp_path / "cache"
    monkeypatch.setenv("ABI_CHECK_CACHE_DIR", str(directory))
    monkeypatch.delenv("ABI_CHECK_NO_CACHE", raising=False)
    return directory


@pytest.fixture(scope="session")
def loader() -> SpecLoader:
    return SpecLoader(SpecRoots([CATALOGUE]))


@pytest.fixture(scope="session")
def rules() -> RuleSet:
    return load_rules()


@pytest.fixture(scope="session")
def abi(loader: SpecLoader):  # type: ignore[no-untyped-def]
    def get(name: str) -> EffectiveAbi:
        return effective_abi(loader.load_host(HOSTS / f"{name}.yaml"))

    return get


@pytest.fixture(scope="session")
def view(abi):  # type: ignore[no-untyped-def]
    cache: dict[str, HostView] = {}

    def get(name: str) -> HostView:
        if name not in cache:
            cache[name] = HostView(abi(name))
        return cache[name]

    return get


def host_names() -> list[str]:
    return sorted(p.stem for p in HOSTS.glob("*.yaml"))


def host_path(name: str) -> Path:
    return HOSTS / f"{name}.yaml"


def matrix_cells(data: dict) -> list[dict]:  # type: ignore[type-arg]
    """A matrix JSON report's cells as one record per pair (source, destination, verdict, counts, rules and,
    when the report has them, findings): its outcome table and grid of outcome indices expanded."""
    names = [h["name"] for h in data["hosts"]]
    found = {(f["source"], f["destination"]): f["findings"] for f in data.get("findings", [])}
    out = []
    for a, row in enumerate(data["cells"]):
        for b, index in enumerate(row):
            cell = {"source": names[a], "destination": names[b], **data["outcomes"][index]}
            if "findings" in data:
                cell["findings"] = found.get((names[a], names[b]), [])
            out.append(cell)
    return out
