"""Source spans and the hierarchy of user-input errors, printed as file:line:col with a caret."""

from __future__ import annotations

import re
from dataclasses import dataclass


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
        where = f"{printable(str(self.span))}: " if self.span else ""
        out = [f"{where}{self.kind} error: {printable(self.message)}"]
        if context and self.span is not None:
            line = source_line(self.span)
            if line is not None:
                out.append(f"    {line}")
                out.append("    " + " " * _caret_offset(line, self.span.col) + "^")
        if self.hint:
            out.append(f"  hint: {printable(self.hint)}")
        return "\n".join(out)

    def __str__(self) -> str:
        return self.render(context=False)

    def __reduce__(self) -> tuple[type[InputError], tuple[Span | None, str, str | None]]:
        # Raised in a matrix worker process, it crosses back by pickle: keep the span and the hint.
        return (type(self), (self.span, self.message, self.hint))


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


# Characters that must not reach a terminal or a CI log as they are: C0 and C1 controls (escape sequences, a
# newline that starts a GitHub workflow command), DEL, and the bidirectional overrides that reorder what is shown.
UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_UNPRINTABLE_BUT_LINES = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]"
)


def _escaped(match: re.Match[str]) -> str:
    code = ord(match.group(0))
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str, *, lines: bool = False) -> str:
    """Text with every control character written as an escape (``\\x1b``); ``lines`` keeps tabs and newlines."""
    return (_UNPRINTABLE_BUT_LINES if lines else UNPRINTABLE).sub(_escaped, text)


_SGR = r"\x1b\[[0-9;]*m"
_UNSAFE_OUTPUT = re.compile(_UNPRINTABLE_BUT_LINES.pattern)
_UNSAFE_TERMINAL = re.compile(f"{_SGR}|{_UNPRINTABLE_BUT_LINES.pattern}")


def _json_escaped(match: re.Match[str]) -> str:
    found = match.group(0)
    return found if len(found) > 1 else f"\\u{ord(found):04x}"


def safe_output(text: str, *, terminal: bool = False) -> str:
    """The last filter of everything written out: control characters become ``\\u00XX`` (valid inside JSON
    strings too, where encoders already put them), keeping lines and tabs; on a terminal, colour (SGR) stays."""
    return (_UNSAFE_TERMINAL if terminal else _UNSAFE_OUTPUT).sub(_json_escaped, text)


# The text of every file that was loaded, by the path its spans carry: an error quotes the line it points at
# from here, never by reading the file again (the file may have changed, or be a link to something else).
_SOURCES: dict[str, str] = {}
QUOTE_LIMIT = 160  # characters of a quoted line


def remember_source(path: str, text: str) -> None:
    """Record the text that was loaded from ``path`` (as its spans name it), for quoting in error messages."""
    _SOURCES[path] = text


def source_line(span: Span) -> str | None:
    """The line a span points at, from the text that was loaded (bounded and printable), or None."""
    text = _SOURCES.get(span.path)
    if text is None or span.line < 1:
        return None
    lines = text.split("\n", span.line)
    if len(lines) < span.line:
        return None
    line = lines[span.line - 1].rstrip("\r")
    if len(line) > QUOTE_LIMIT:
        if span.col > QUOTE_LIMIT:
            return None  # the place is beyond what is quoted: the message alone says it
        line = line[:QUOTE_LIMIT] + " ..."
    return printable(line, lines=True)


def _caret_offset(line: str, col: int) -> int:
    # Tabs before the column keep their width so the caret lines up.
    prefix = line[: max(col - 1, 0)]
    return len(prefix.expandtabs()) if "\t" in prefix else max(col - 1, 0)
