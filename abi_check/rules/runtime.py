"""What a compiled rule is made of when it runs: its environment, its functions and what it finds.

Shared by the compiler (``compiler.py``) and the matrix's per-element evaluation (``elements.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from abi_check.errors import Span

Env = dict[str, Any]  # the names a rule's expressions see: src, dst, lets, loop variables, the budget
Fn = Callable[[Env], Any]
BUDGET = "$budget"  # the env key of an evaluation's Budget; '$' keeps it apart from every rule name


@dataclass(frozen=True, slots=True)
class Hit:
    """One finding of a rule before severity, hosts and rule id are added."""

    message: str
    fix: str
    span: Span | None
    subject: str
