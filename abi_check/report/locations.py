"""Where a finding is, as the file formats of CI systems want it: a URI or a path relative to the work tree."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import quote

from abi_check.errors import Span


def workspace_path(span: Span) -> str | None:
    """The span's file relative to the working directory (CI tools resolve paths against the checkout root),
    or None when the file is outside it or is not a file on disk (a spec read from a git ref)."""
    path = Path(span.path)
    try:
        absolute = path if path.is_absolute() else Path.cwd() / path
        if not absolute.is_file():
            return None
        relative = os.path.relpath(absolute.resolve(), Path.cwd().resolve())
    except (OSError, ValueError):
        return None
    if relative == ".." or relative.startswith(".." + os.sep):
        return None
    return Path(relative).as_posix()


def artifact_uri(span: Span) -> tuple[str, str | None] | None:
    """(uri, uriBaseId) for SARIF: relative to %SRCROOT% (the working directory) when inside it, else absolute."""
    relative = workspace_path(span)
    if relative is not None:
        return quote(relative, safe="/"), "%SRCROOT%"
    path = Path(span.path)
    try:
        if path.is_file():
            return path.resolve().as_uri(), None
    except (OSError, ValueError):
        return None
    return None
