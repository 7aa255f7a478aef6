"""Where the shipped catalogue and grammars are: inside the installed package, or beside it in a checkout."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def _data_dir(name: str) -> Path:
    installed = _PACKAGE / name
    if installed.is_dir():
        return installed
    return _PACKAGE.parent / name


def catalogue_dir() -> Path:
    return _data_dir("specs")


def grammars_dir() -> Path:
    return _data_dir("grammars")


def rules_dir() -> Path:
    return _PACKAGE / "rules" / "builtin"
