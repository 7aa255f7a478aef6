"""Put an introduced finding on the line the change made, when the rule located it elsewhere.

A rule locates a finding where the fact it read is written: a VMM that leaves a bitmap at the kernel default is
located at the VMM spec's first line, because the VMM writes nothing. In a gate every introduced finding is
caused by the change, so the changed line is where the reader must look: the one whose YAML context names the
finding's subject (the register, the bit), else the change's first line when only one file changed.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from pathlib import Path

from abi_check.errors import Span, SpecError, decode_utf8
from abi_check.spec.files import read_bounded
from abi_check.spec.loader import display_path
from abi_check.spec.yamlnodes import MAX_FILE_BYTES


@dataclass(frozen=True, slots=True)
class ChangedFile:
    shown: str  # the path findings carry (relative to the working directory)
    lines: tuple[str, ...]  # the working-tree text
    changed: tuple[int, ...]  # 1-based lines the change added or modified (or where it deleted some)


def _text(path: Path) -> list[str] | None:
    try:
        return decode_utf8(read_bounded(path, str(path), MAX_FILE_BYTES, SpecError), str(path), SpecError).splitlines()
    except SpecError:
        return None


def changed_lines(old: list[str], new: list[str]) -> tuple[int, ...]:
    out: set[int] = set()
    for tag, _, _, j1, j2 in difflib.SequenceMatcher(a=old, b=new, autojunk=False).get_opcodes():
        if tag in ("replace", "insert"):
            out.update(range(j1 + 1, j2 + 1))
        elif tag == "delete" and new:
            out.add(min(j1 + 1, len(new)))
    return tuple(sorted(out))


def changed_files(changed: dict[str, str], root: Path, old_base: Path) -> dict[str, ChangedFile]:
    """Every added or modified spec file, by repository-relative key, with the lines the change touched."""
    out: dict[str, ChangedFile] = {}
    for key, status in changed.items():
        if status == "deleted":
            continue
        new = _text(root / key)
        old = [] if status == "added" else _text(old_base / key)
        if new is None or old is None:
            continue
        lines = changed_lines(old, new)
        if lines:
            out[key] = ChangedFile(display_path(root / key), tuple(new), lines)
    return out


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _context(lines: tuple[str, ...], number: int) -> str:
    """The line and the keys it sits under (each less indented line above it)."""
    out = [lines[number - 1]]
    depth = _indent(lines[number - 1])
    for line in reversed(lines[: number - 1]):
        if line.strip() and not line.lstrip().startswith("#") and _indent(line) < depth:
            out.append(line)
            depth = _indent(line)
    return "\n".join(out)


_VALUE = re.compile(r"^\s*(?:- )?[^\s:#][^:#]*:\s+(?=[^\s#])")


def _span(file: ChangedFile, number: int) -> Span:
    """The line's value when it has one (``defaults: [X]`` at the ``[``, where rules locate values), else its
    first character."""
    line = file.lines[number - 1]
    value = _VALUE.match(line)
    return Span(file.shown, number, (value.end() if value else _indent(line)) + 1)


_TOKEN = re.compile(r"[\w-]+")


def _matches(part: str, context: str, tokens: frozenset[str]) -> bool:
    if _TOKEN.fullmatch(part):
        return part in tokens
    return re.search(rf"(?<![\w-]){re.escape(part)}(?![\w-])", context) is not None


class Locator:
    def __init__(self, files: dict[str, ChangedFile], ref: str) -> None:
        self.files = files
        self.ref = ref
        self._by_shown = {f.shown: key for key, f in files.items()}
        # Each changed line with its YAML context and that context's words, computed once.
        self._lines = [
            (order, key, number, context, frozenset(_TOKEN.findall(context)))
            for order, (key, file) in enumerate(files.items())
            for number in file.changed
            for context in [_context(file.lines, number)]
        ]
        self._done: dict[tuple[Span | None, str], Span | None] = {}

    def _key(self, span: Span) -> str | None:
        if span.path in self._by_shown:
            return self._by_shown[span.path]
        prefix = f"{self.ref}:"
        if span.path.startswith(prefix) and span.path[len(prefix):] in self.files:
            return span.path[len(prefix):]
        return None

    def locate(self, span: Span | None, subject: str) -> Span | None:
        if (span, subject) not in self._done:
            self._done[(span, subject)] = self._locate(span, subject)
        return self._done[(span, subject)]

    def _locate(self, span: Span | None, subject: str) -> Span | None:
        own = self._key(span) if span is not None else None
        if span is not None and own is not None and span.path == self.files[own].shown \
                and span.line in self.files[own].changed:
            return span  # already on a line the change made
        parts = [p for p in subject.split(".") if p]
        best: tuple[tuple[int, int, int, int], str, int] | None = None
        for order, key, number, context, tokens in self._lines:
            score = sum(_matches(p, context, tokens) for p in parts)
            if not score:
                continue
            rank = (-score, 0 if key == own else 1, order, number)
            if best is None or rank < best[0]:
                best = (rank, key, number)
        if best is not None:
            return _span(self.files[best[1]], best[2])
        target = own if own is not None else (next(iter(self.files)) if len(self.files) == 1 else None)
        if target is None:
            return span
        return _span(self.files[target], self.files[target].changed[0])
