"""The rule grammar, built once and lazily, and lark errors turned into located rule errors."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from abi_check.errors import RuleError, Span
from abi_check.resources import grammars_dir

if TYPE_CHECKING:
    from lark import Lark, Token, Tree

_READABLE = {
    "NAME": "a name",
    "STRING": "a string",
    "NUMBER": "a number",
    "RULE_ID": "a rule id",
    "SEVERITY": "error, warning or note",
    "META_KEY": "a metadata key",
    "COMP_OP": "a comparison",
    "ADD_OP": "an operator",
    "MUL_OP": "an operator",
    "LPAR": "'('",
    "RPAR": "')'",
    "LSQB": "'['",
    "RSQB": "']'",
    "COMMA": "','",
    "DOT": "'.'",
    "EQUAL": "'='",
    "$END": "the end of the file",
    "QUANT": "any, all or count",
}


@cache
def grammar() -> Lark:
    from lark import Lark

    text = (grammars_dir() / "rule.lark").read_text(encoding="utf-8")
    return Lark(text, parser="lalr", propagate_positions=True, start=["start", "expr"], maybe_placeholders=False)


def parse(text: str, path: str, start: str = "start", offset: tuple[int, int] = (0, 0)) -> Tree[Token]:
    """Parse rule text; ``offset`` places template expressions at their position in the file."""
    from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

    try:
        return grammar().parse(text, start=start)
    except UnexpectedInput as exc:
        line = (exc.line if exc.line > 0 else text.count("\n") + 1) + offset[0]
        col = (exc.column if exc.column > 0 else 1) + (offset[1] if exc.line <= 1 else 0)
        if isinstance(exc, UnexpectedToken):
            expected = sorted({_READABLE.get(t, repr(t.lower())) for t in exc.expected})
            found = "the end of the file" if exc.token.type == "$END" else repr(str(exc.token))
            message = f"unexpected {found}"
        elif isinstance(exc, UnexpectedCharacters):
            expected = sorted({_READABLE.get(t, repr(t.lower())) for t in (exc.allowed or ())})
            message = f"unexpected character {exc.char!r}"
        elif isinstance(exc, UnexpectedEOF):
            expected = sorted({_READABLE.get(t, repr(t.lower())) for t in exc.expected})
            message = "unexpected end of the file"
        else:
            expected, message = [], "syntax error"
        hint = f"expected {', '.join(expected[:8])}" if expected else None
        raise RuleError(Span(path, line, col), message, hint) from None


def unquote(token: str) -> str:
    if token.startswith('"""'):
        import textwrap

        return textwrap.dedent(token[3:-3]).strip()
    body = token[1:-1]
    return body.replace("\\'", "'").replace('\\"', '"').replace("\\n", "\n").replace("\\\\", "\\")
