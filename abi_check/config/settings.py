"""What a checking command runs with: command-line options over the configuration file over the defaults."""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from abi_check.config.file import Config, load_config
from abi_check.config.policy import Policy
from abi_check.config.waivers import Waiver, load_waivers
from abi_check.rules.engine import RuleSet, load_rules
from abi_check.verdict.result import FailOn


@dataclass(frozen=True, slots=True)
class Settings:
    """The resolved settings of a run: configuration and flags combined."""

    config: Config
    rules: RuleSet  # the rules that run (disabled ones removed)
    policy: Policy
    fail_on: FailOn
    roots: tuple[Path, ...]
    waivers: tuple[Waiver, ...]
    today: datetime.date


def resolve(
    *,
    config: Path | None,
    rule_dirs: Sequence[Path] | None,
    roots: Sequence[Path] | None,
    fail_on: FailOn | None,
    waivers: Path | None,
    today: datetime.date | None = None,
) -> Settings:
    """A flag given on the command line replaces the configuration's value (lists are replaced, not merged)."""
    found = load_config(config)
    every = load_rules(list(rule_dirs) if rule_dirs is not None else list(found.rule_dirs))
    policy = found.policy(every)
    waiver_file = waivers if waivers is not None else found.waivers
    return Settings(
        config=found,
        rules=policy.select(every),
        policy=policy,
        fail_on=fail_on or found.fail_on or FailOn.WARNING,
        roots=tuple(roots) if roots is not None else found.spec_roots,
        waivers=tuple(load_waivers(waiver_file, every.ids())) if waiver_file is not None else (),
        today=today or datetime.date.today(),
    )
