"""The rule grammar, built once and lazily, and lark errors turned into located rule errors."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING

from abi_check.cache import PickleCache, cache_dir, digest
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


# How deep a rule's syntax tree may nest. The compiler and the closures it makes recurse once per level, so this
# keeps them far from Python's recursion limit; the shipped rules nest about 12 deep.
MAX_DEPTH = 64


@cache
def grammar_text() -> str:
    return (grammars_dir() / "rule.lark").read_text(encoding="utf-8")


@cache
def grammar() -> Lark:
    from lark import Lark

    directory = cache_dir()
    cached: str | bool = False
    if directory is not None:
        try:
            directory.mkdir(parents=True, exist_ok=True)
            cached = str(directory / f"grammar-{digest(grammar_text())}.lark.cache")
        except OSError:
            cached = False
    return Lark(grammar_text(), parser="lalr", propagate_positions=True, start=["start", "expr"],
                maybe_placeholders=False, cache=cached)


@cache
def tree_cache() -> PickleCache:
    """Parse trees of rule files and template expressions, as our own nodes, keyed by grammar and text."""
    return PickleCache("rule-trees-v1.pickle", frozenset({(__name__, "Node"), (__name__, "Tok")}))


class Node:
    """A parse-tree node: lark's shape (data, children, meta.line/column) without importing lark."""

    __slots__ = ("children", "column", "data", "line")
    empty = False

    def __init__(self, data: str, children: list[Node | Tok], line: int, column: int) -> None:
        self.data, self.children, self.line, self.column = data, children, line, column

    @property
    def meta(self) -> Node:
        return self


class Tok(str):
    """A token: its text, with the type and position lark gave it."""

    type: str
    line: int
    column: int

    def __new__(cls, text: str, type_: str, line: int, column: int) -> Tok:
        tok = super().__new__(cls, text)
        tok.type, tok.line, tok.column = type_, line, column
        return tok

    def __reduce__(self) -> tuple[Callable[..., Tok], tuple[str, str, int, int]]:
        return (Tok, (str(self), self.type, self.line, self.column))


def _own(item: Tree[Token] | Token) -> Node | Tok:
    from lark import Token

    if isinstance(item, Token):
        return Tok(str(item), item.type, item.line or 1, item.column or 1)
    meta = item.meta
    line, column = (0, 0) if getattr(meta, "empty", True) else (meta.line, meta.column)
    return Node(str(item.data), [_own(c) for c in item.children], line, column)


def parse(text: str, path: str, start: str = "start", offset: tuple[int, int] = (0, 0)) -> Node:
    """Parse rule text; ``offset`` places template expressions at their position in the file."""
    key = digest(grammar_text(), start, text)
    cached = tree_cache().get(key)
    if isinstance(cached, Node):
        return cached
    from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

    _check_brackets(text, path, offset)
    try:
        parsed = grammar().parse(text, start=start)
        _check_depth(parsed, path, offset)
        tree = _own(parsed)
        assert isinstance(tree, Node)
        tree_cache().put(key, tree)
        return tree
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
        close = _did_you_mean(exc, text)
        if close is not None:
            hint = f"did you mean '{close}'?" + (f" ({hint})" if hint else "")
        raise RuleError(Span(path, line, col), message, hint) from None


# Terminals whose values are keywords too: a misspelt 'summary' or 'warning' gets a suggestion.
_KEYWORD_SETS = {
    "META_KEY": ("name", "summary", "reference", "description", "example"),
    "SEVERITY": ("error", "warning", "note"),
    "QUANT": ("any", "all", "count"),
}


def _did_you_mean(exc: Exception, text: str) -> str | None:
    """The keyword a misspelt word was meant to be (``reprot`` -> ``report``), among those the parser expected."""
    import difflib
    import re

    from lark.exceptions import UnexpectedCharacters, UnexpectedToken

    if isinstance(exc, UnexpectedToken):
        word, expected = str(exc.token), set(exc.expected)
    elif isinstance(exc, UnexpectedCharacters):
        found = re.match(r"[A-Za-z_][\w-]*", text[exc.pos_in_stream:])
        word, expected = (found.group(0) if found else ""), set(exc.allowed or ())
    else:
        return None
    if not re.fullmatch(r"[A-Za-z_][\w-]*", word):
        return None
    keywords = {t.lower() for t in expected if re.fullmatch(r"[A-Z]+", t) and t not in _READABLE}
    for terminal, words in _KEYWORD_SETS.items():
        if terminal in expected:
            keywords.update(words)
    keywords.discard(word)
    close = difflib.get_close_matches(word, sorted(keywords), n=1, cutoff=0.6)
    return close[0] if close else None


def _located(path: str, line: int, col: int, offset: tuple[int, int]) -> Span:
    return Span(path, line + offset[0], col + (offset[1] if line <= 1 else 0))


def _too_deep(span: Span) -> RuleError:
    return RuleError(span, f"the expression nests more than {MAX_DEPTH} levels deep",
                     "name parts of it with 'let' and combine the names")


def _check_brackets(text: str, path: str, offset: tuple[int, int]) -> None:
    """Refuse deeply nested brackets before lark sees them (its parse of them slows down with depth)."""
    if text.count("(") + text.count("[") <= MAX_DEPTH:
        return
    import re

    depth, line, line_start = 0, 1, 0
    # Strings and comments may hold any bracket; skip them whole.
    for match in re.finditer(r'"""(?:.|\n)*?"""|"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\'|#[^\n]*|[()\[\]\n]', text):
        token = match.group(0)
        if token == "\n":
            line, line_start = line + 1, match.end()
        elif token in "([":
            depth += 1
            if depth > MAX_DEPTH:
                raise _too_deep(_located(path, line, match.start() - line_start + 1, offset))
        elif token in ")]":
            depth = max(0, depth - 1)
        else:
            line += token.count("\n")
            if "\n" in token:
                line_start = match.start() + token.rfind("\n") + 1


def _check_depth(tree: Tree[Token], path: str, offset: tuple[int, int]) -> None:
    """Refuse a syntax tree deeper than MAX_DEPTH (``not not ...``, ``3 * 3 * ...``), without recursing."""
    stack: list[tuple[Tree[Token], int]] = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            meta = node.meta
            line, col = (1, 1) if getattr(meta, "empty", True) else (meta.line, meta.column)
            raise _too_deep(_located(path, line, col, offset))
        stack.extend((child, depth + 1) for child in node.children if not isinstance(child, str))


def unquote(token: str) -> str:
    if token.startswith('"""'):
        import textwrap

        return textwrap.dedent(token[3:-3]).strip()
    body = token[1:-1]
    return body.replace("\\'", "'").replace('\\"', '"').replace("\\n", "\n").replace("\\\\", "\\")
