"""Text reports at the terminal's width: lines wrapped at spaces, never inside a word, continuation indented.

A report written to a file, or to a pipe without ``COLUMNS``, keeps its unwrapped lines (scripts and diffs read
those); on a terminal, or with ``COLUMNS`` set, it is wrapped to that width."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

_SGR = re.compile(r"\x1b\[[0-9;]*m")
MIN_WIDTH = 20  # narrower than this, wrapping helps no one: keep the lines whole


def text_width(output: Path | None = None) -> int | None:
    """The width to wrap a text report to: ``COLUMNS`` when set, else the terminal's when stdout is one; None
    (do not wrap) when the report goes to a file, or to a pipe without ``COLUMNS``."""
    if output is not None:
        return None
    columns = os.environ.get("COLUMNS", "").strip()
    if columns.isdigit():
        return max(MIN_WIDTH, int(columns))
    try:
        if not sys.stdout.isatty():
            return None
    except (AttributeError, ValueError):
        return None
    import shutil  # with bz2 and lzma: only when writing to a terminal

    return max(MIN_WIDTH, shutil.get_terminal_size().columns)


def visible(text: str) -> int:
    """Columns a line takes: its characters without colour codes."""
    return len(_SGR.sub("", text))


def wrap_line(line: str, width: int, hang: int | None = None) -> list[str]:
    """``line`` as lines of at most ``width`` columns, broken at spaces only; continuation lines are indented by
    ``hang`` (default: the line's own indent plus four). A word longer than the room gives up its indent; one
    longer than the width is kept whole, on its own."""
    if visible(line) <= width:
        return [line]
    plain = _SGR.sub("", line)
    indent = len(plain) - len(plain.lstrip(" "))
    if hang is None:
        hang = indent + 4
    if hang > width // 2:
        hang = min(indent + 4, width // 4)
    stripped = line.lstrip(" ")
    lead = line[: len(line) - len(stripped)]
    parts = re.split(r"( +)", stripped)
    out: list[str] = []
    current, size = lead, visible(lead)
    started = False  # a word is on the current line
    gap = ""
    for index, part in enumerate(parts):
        if index % 2:  # spaces between words
            gap = part
            continue
        if not part:
            continue
        length = visible(part)
        if started and size + len(gap) + length > width:
            out.append(current)
            indent = max(0, min(hang, width - length))  # a long word (a URL) gives up indent before the width
            current, size = " " * indent + part, indent + length
        else:
            current, size = current + (gap if started else "") + part, size + (len(gap) if started else 0) + length
        started = True
        gap = ""
    out.append(current + gap)
    return out


def reflow(text: str, width: int | None) -> str:
    """Prose hard-wrapped at some other width (rule descriptions): on a terminal, each paragraph's lines are joined
    and wrapped again, flush left; paragraphs with indented or list lines keep their lines."""
    if width is None:
        return text
    paragraphs = []
    for paragraph in text.split("\n\n"):
        lines = paragraph.split("\n")
        if all(line and not line[0].isspace() and not line.startswith(("-", "*", "|")) for line in lines):
            paragraphs.append(wrap(" ".join(lines), width, 0))
        else:
            paragraphs.append(wrap(paragraph, width))
    return "\n\n".join(paragraphs)


def wrap(text: str, width: int | None, hang: int | None = None) -> str:
    """Every line of ``text`` wrapped to ``width`` (None: unchanged)."""
    if width is None:
        return text
    lines = text.split("\n")
    return "\n".join(wrapped for line in lines for wrapped in wrap_line(line, width, hang))
