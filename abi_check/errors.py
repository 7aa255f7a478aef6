"""Source spans and the hierarchy of user-input errors, printed as file:line:col with a caret."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True, order=True)
class Span:
    """A 1-based position in a source file."""

    path: str
    line: int
    col: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.col}"


class InputError(Exception):
    """A problem in something the user wrote: a spec, a rule or a configuration file."""

    kind = "input"

    def __init__(self, span: Span | None, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.span = span
        self.message = message
        self.hint = hint

    def render(self, *, context: bool = True) -> str:
        """``file:line:col: message`` plus the offending line, a caret and the hint."""
        where = f"{self.span}: " if self.span else ""
        out = [f"{where}{self.kind} error: {self.message}"]
        if context and self.span is not None:
            line = source_line(self.span)
            if line is not None:
                out.append(f"    {line}")
                out.append("    " + " " * _caret_offset(line, self.span.col) + "^")
        if self.hint:
            out.append(f"  hint: {self.hint}")
        return "\n".join(out)

    def __str__(self) -> str:
        return self.render(context=False)


class SpecError(InputError):
    kind = "spec"


class RuleError(InputError):
    kind = "rule"


class ConfigError(InputError):
    kind = "config"


class InputErrors(Exception):
    """Several input errors found in one pass, reported together."""

    def __init__(self, errors: list[InputError]) -> None:
        super().__init__(f"{len(errors)} input error(s)")
        self.errors = sorted(errors, key=lambda e: (e.span or Span("", 0, 0), e.message))


def decode_utf8(data: bytes, path: str, error: type[InputError]) -> str:
    """Text of a file, or a located error at the first byte that is not UTF-8."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        line_start = data.rfind(b"\n", 0, exc.start) + 1
        col = len(data[line_start : exc.start].decode("utf-8", errors="replace")) + 1
        raise error(Span(path, line, col), f"file is not valid UTF-8 (byte 0x{data[exc.start]:02x})",
                    "save the file as UTF-8") from None


def source_line(span: Span) -> str | None:
    """The text of the line a span points at, or None when the file cannot be read."""
    try:
        with Path(span.path).open("rb") as handle:
            for number, raw in enumerate(handle, start=1):
                if number == span.line:
                    return raw.decode("utf-8", errors="replace").rstrip("\r\n")
    except OSError:
        return None
    return None


def _caret_offset(line: str, col: int) -> int:
    # Tabs before the column keep their width so the caret lines up.
    prefix = line[: max(col - 1, 0)]
    return len(prefix.expandtabs()) if "\t" in prefix else max(col - 1, 0)
