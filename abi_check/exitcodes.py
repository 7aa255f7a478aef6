"""Exit codes for CI (README.md, "Exit codes"): a tool failure never looks like success; findings combine."""

from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    OK = 0
    TOOL_FAILURE = 1
    INPUT_ERROR = 2
    ABI_CHANGE = 4
    MIGRATION_FAILS = 8
