"""Console markup as rich prints it without colour, without importing rich (a sixth of ``pair``'s start-up).

The text reporter writes its lines as rich console markup. On a terminal rich prints them, in colour; to a file or
a pipe this module does, and must give the very same characters (tests/test_plain_text.py compares the two
on real results and on generated text). It follows what rich does to markup printed with ``soft_wrap=True`` and
``highlight=False``: tags dropped, ``\\[`` unescaped, ``:name:`` emoji codes replaced, the control codes rich
strips removed. Anything else (tabs, markup our reporters never write) is handed to rich itself.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# rich.markup.RE_TAGS and the pattern of rich.markup.escape
_TAG = re.compile(r"((\\*)\[([a-z#/@][^[]*?)])")
_TAG_LIKE = re.compile(r"(\\*)(\[[a-z#/@][^[]*?])")
# rich._emoji_replace: an emoji code, ``:name:`` or ``:name-text:`` / ``:name-emoji:``
_EMOJI = re.compile(r"(:(\S*?)(?:(?:\-)(emoji|text))?:)")
_LETTER = re.compile(r"[a-z]")
# The only emoji names without a letter (rich._emoji_codes; a test checks this against the installed rich). Any
# other name without one is no emoji, so a span such as ``file.yaml:12:3`` needs no look-up.
NAMES_WITHOUT_LETTERS = frozenset({"100", "1234", "+1", "-1", "__1"})
# rich.control.strip_control_codes: bell, backspace, vertical tab, form feed, carriage return
_STRIP = dict.fromkeys((7, 8, 11, 12, 13))


def escape(text: str) -> str:
    """What rich.markup.escape gives: every ``[tag]``-like text escaped, so that it prints as written."""
    escaped = _TAG_LIKE.sub(lambda m: f"{m.group(1)}{m.group(1)}\\{m.group(2)}", text)
    if escaped.endswith("\\") and not escaped.endswith("\\\\"):
        return escaped + "\\"
    return escaped


class _RichOnly(Exception):
    """The line holds something only rich itself can print."""


def _emoji(text: str) -> str:
    for match in _EMOJI.finditer(text):
        name = match.group(2).lower()
        if _LETTER.search(name) or name in NAMES_WITHOUT_LETTERS:
            try:
                from rich._emoji_replace import _emoji_replace  # what rich's markup renderer calls on each run
            except ImportError:  # a rich that moved it: let rich print the line
                raise _RichOnly from None
            return str(_emoji_replace(text))
    return text


def _run(text: str) -> str:
    """A run of text between tags, as rich.markup.render appends it to its Text."""
    return _emoji(text.replace("\\[", "[")).translate(_STRIP)


def line(markup: str) -> str | None:
    """One ``console.print(markup)`` without colour, or None when it holds something only rich should judge."""
    try:
        return _line(markup)
    except _RichOnly:
        return None


def _line(markup: str) -> str | None:
    if "\t" in markup:  # rich expands tabs by cell width
        return None
    if "[" not in markup:
        return _emoji(markup).translate(_STRIP) + "\n"
    out: list[str] = []
    position = depth = 0
    for match in _TAG.finditer(markup):  # rich.markup._parse
        full, escapes, tag = match.groups()
        start, end = match.span()
        if start > position:
            out.append(_run(markup[position:start]))
        position = end
        if escapes:
            backslashes, escaped = divmod(len(escapes), 2)
            if backslashes:
                out.append(_run("\\" * backslashes))
            if escaped:
                out.append(_run(full[len(escapes):]))
                continue
        if tag.startswith("@") or (tag.startswith("/") and (tag[1:].strip() or not depth)):
            return None  # meta tags, explicit or unbalanced closing tags: not what our reporters write
        depth += -1 if tag.startswith("/") else 1
    if position < len(markup):
        out.append(_run(markup[position:]))
    return "".join(out) + "\n"


def render(lines: Iterable[str]) -> str:
    """Every line as rich would print it to a file, each ending in a newline."""
    out: list[str] = []
    for markup in lines:
        plain = line(markup)
        out.append(plain if plain is not None else rich_render([markup], color=False))
    return "".join(out)


def rich_render(lines: Iterable[str], color: bool) -> str:
    """The lines printed by rich (colour when ``color``), at the width our reports never wrap at."""
    import io

    from rich.console import Console

    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=color, no_color=not color, width=120, highlight=False, soft_wrap=True)
    for markup in lines:
        console.print(markup)
    return buffer.getvalue()
