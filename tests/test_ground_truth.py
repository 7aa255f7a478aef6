"""Every verdict checked against real kernels: the lab's replays against pair, the dumps against verify.

lab/out/results.json is in git (the lab rewrites it: CI runs the lab before the tests); the lab's dumps and the
real Firecracker fingerprints in ../shared/data are read where they are. A disagreement fails unless
lab/accepted.yaml excuses it with a reason, and an excuse that no longer matches fails too.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

LAB = Path(__file__).resolve().parents[1] / "lab"
sys.path.insert(0, str(LAB))
import agreement  # noqa: E402

RESULTS = json.loads(agreement.RESULTS.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def replays() -> list[agreement.Check]:
    return list(agreement.checks(RESULTS))


def test_every_real_replay_is_what_pair_predicts(replays: list[agreement.Check]) -> None:
    excuses = agreement.excuses()
    wrong = [f"{c.key}: refused, not predicted {c.missed}; predicted, not refused {c.invented} {c.unmodelled}"
             for c in replays if not c.agrees and agreement.excused(c, excuses) is None]
    assert not wrong, "\n".join(wrong)
    assert len(replays) == 180  # every cross-kernel replay of the grid (4 kernels), per feature set


def test_no_false_compatible_is_excused(replays: list[agreement.Check]) -> None:
    """An excuse may name registers pair does not predict, but never for a move pair calls compatible."""
    for check in replays:
        if check.missed:
            assert check.predicted, f"{check.key}: pair finds nothing, the real kernel refused {check.missed}"


def test_every_excuse_still_excuses_something(replays: list[agreement.Check]) -> None:
    for excuse in agreement.excuses():
        assert any(not c.agrees and excuse.covers(c) for c in replays), f"{excuse.pattern} excuses nothing"


def test_every_dump_the_catalogue_describes_verifies() -> None:
    verified = agreement.verified(RESULTS)
    patterns = agreement.accepted("verify")
    differing = [d for v in verified for d in v.unaccepted(patterns)]
    assert not differing, "\n".join(differing)
    seen = {d.split(": ")[0] for v in verified for d in v.differences}
    for pattern in patterns:
        if verified:
            assert any(agreement._glob(key, pattern) for key in seen) or not _applies(pattern, verified), pattern


def _applies(pattern: str, verified: list[agreement.Verified]) -> bool:
    """Whether the dumps a verify excuse is about are here (fingerprints and lab dumps may be absent)."""
    return any(agreement._glob(v.dump, pattern.split(" ")[0]) for v in verified)
