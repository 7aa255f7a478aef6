"""Fixtures of the probe tests: the dump schema and the shared Firecracker fingerprints (when laid beside us)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
SCHEMA = REPO / "docs" / "schema" / "probe.schema.json"
FINGERPRINTS = REPO / ".." / "shared" / "data" / "firecracker-fingerprints"


@pytest.fixture(scope="session")
def dump_schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(SCHEMA.read_text())
    return schema


@pytest.fixture(scope="session")
def fingerprint_dir() -> Path:
    if not FINGERPRINTS.is_dir():
        pytest.skip(f"{FINGERPRINTS} is missing (CI lays shared/ beside the clone)")
    return FINGERPRINTS
