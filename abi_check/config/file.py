"""Configuration: ``.abi-check.yaml`` or ``[tool.abi-check]`` in pyproject.toml, found upward, every error located."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from abi_check.config.policy import Policy
from abi_check.errors import ConfigError, InputError, InputErrors, Span, SpecError
from abi_check.rules.engine import RuleSet
from abi_check.spec.shapes import ListOf, MapOf, Obj, Str
from abi_check.spec.yamlnodes import Node
from abi_check.verdict.findings import INTERNAL_ERROR, Severity
from abi_check.verdict.result import FailOn

YAML_NAME = ".abi-check.yaml"
PYPROJECT = "pyproject.toml"
TABLE = ("tool", "abi-check")

_RULE_ID = Str("a rule id", pattern=r"^[a-z0-9][a-z0-9-]*$", hint="rule ids are lower-case words joined by '-'")
_DIR = Str("a directory, relative to the configuration file")
SCHEMA = Obj(
    {
        "spec-roots": ListOf(_DIR, "directories that hold specs: where names are looked up, and what gate checks"),
        "rules": ListOf(_DIR, "directories of extra .rule files"),
        "severity": MapOf(
            _RULE_ID, Str(enum=tuple(s.value for s in Severity)), "severity per rule id", nullable=False
        ),
        "disable": ListOf(_RULE_ID, "rule ids that are not run"),
        "fail-on": Str("lowest severity that fails", enum=tuple(f.value for f in FailOn)),
        "waivers": Str("the waiver file, relative to the configuration file"),
    },
    description="abi-check configuration",
)


@dataclass(frozen=True, slots=True)
class Config:
    """Settings from a configuration file; paths are resolved against the file's directory."""

    path: Path | None = None
    spec_roots: tuple[Path, ...] = ()
    rule_dirs: tuple[Path, ...] = ()
    severity: dict[str, tuple[Severity, Span]] = field(default_factory=dict)
    disabled: dict[str, Span] = field(default_factory=dict)
    fail_on: FailOn | None = None
    waivers: Path | None = None

    def policy(self, rules: RuleSet) -> Policy:
        """The policy for these rules; a rule id the rules do not have is a located error with a suggestion."""
        known = rules.ids()
        errors: list[InputError] = []
        named = [(rule, span) for rule, (_, span) in self.severity.items()] + list(self.disabled.items())
        for rule, span in named:
            if rule == INTERNAL_ERROR:
                errors.append(ConfigError(span, "internal-error cannot be configured",
                                          "a rule that crashes always fails the run with exit code 1"))
            elif rule not in known:
                import difflib
                close = difflib.get_close_matches(rule, known, n=1)
                hint = f"did you mean '{close[0]}'?" if close else "abi-check rules lists the rule ids"
                errors.append(ConfigError(span, f"no rule '{rule}'", hint))
        if errors:
            raise InputErrors(errors)
        return Policy({k: v for k, (v, _) in self.severity.items()}, frozenset(self.disabled))


def discover(start: Path) -> Path | None:
    """The nearest configuration file from ``start`` upward, stopping at the repository root.
    In one directory ``.abi-check.yaml`` wins over pyproject.toml; a pyproject without the table is skipped."""
    for directory in (start, *start.parents):
        candidate = directory / YAML_NAME
        if candidate.is_file():
            return candidate
        pyproject = directory / PYPROJECT
        if pyproject.is_file() and _mentions_table(pyproject):
            return pyproject
        if (directory / ".git").exists():
            return None
    return None


def _mentions_table(path: Path) -> bool:
    from abi_check.spec.files import read_bounded
    from abi_check.spec.yamlnodes import MAX_FILE_BYTES

    try:
        text = read_bounded(path, str(path), MAX_FILE_BYTES, ConfigError).decode("utf-8", errors="replace")
    except ConfigError:
        return False
    return any(line.strip().replace(" ", "").startswith(("[tool.abi-check", '[tool."abi-check"'))
               for line in text.splitlines())


def load_config(explicit: Path | None, start: Path | None = None) -> Config:
    """``--config FILE`` if given, else the discovered file, else the defaults."""
    path = explicit if explicit is not None else discover((start or Path.cwd()).resolve())
    if path is None:
        return Config()
    return read_config(path)


def read_config(path: Path) -> Config:
    from abi_check.spec.files import read_bounded
    from abi_check.spec.loader import display_path
    from abi_check.spec.yamlnodes import MAX_FILE_BYTES

    shown = display_path(path)
    data = read_bounded(path, shown, MAX_FILE_BYTES, ConfigError, "configuration")
    if path.suffix == ".toml":
        from abi_check.errors import decode_utf8, remember_source
        from abi_check.spec.tomlnodes import load_table

        text = decode_utf8(data, shown, ConfigError)
        remember_source(shown, text)
        node = load_table(text, shown, TABLE)
        if node is None:
            raise ConfigError(Span(shown, 1, 1), "no [tool.abi-check] table in this file",
                              "add one, or point --config at an .abi-check.yaml")
    else:
        node = _yaml(data, shown)
    return _build(node, path.resolve().parent, path)


def _yaml(data: bytes, shown: str) -> Node:
    from abi_check.spec.yamlnodes import load_text

    try:
        node = load_text(data, shown)
    except SpecError as exc:
        raise ConfigError(exc.span, exc.message, exc.hint) from None
    return node


def as_config_errors(errors: Sequence[SpecError], kind: type[ConfigError] = ConfigError) -> InputErrors:
    """The schema module speaks of specs; in a configuration or waiver file the same problems are config errors."""
    return InputErrors([kind(e.span, e.message, e.hint) for e in errors])


def repository_of(directory: Path) -> Path:
    """The repository a configuration file belongs to: the nearest directory upward that holds ``.git``, else
    the file's own directory. Paths in the file must stay inside it (a pull request may plant the file)."""
    for candidate in (directory, *directory.parents):
        try:
            if (candidate / ".git").exists():
                return candidate
        except OSError:
            break
    return directory


def _inside(node: Node, base: Path, repository: Path) -> Path:
    """``base / value`` when it (after following links) stays in the repository; the message names the path only."""
    target = base / str(node.value)
    try:
        resolved = target.resolve()
    except (OSError, RuntimeError):
        resolved = None
    if resolved is None or not resolved.is_relative_to(repository):
        raise ConfigError(node.span, f"'{node.value}' is outside the repository ({repository})",
                          "paths in the configuration name files and directories inside the repository")
    return target


def _build(node: Node, base: Path, path: Path) -> Config:
    shape: list[SpecError] = []
    SCHEMA.check(node, shape)
    if shape:
        raise as_config_errors(shape)
    repository = repository_of(base)
    outside: list[InputError] = []

    def inside(item: Node) -> Path:
        try:
            return _inside(item, base, repository)
        except ConfigError as exc:
            outside.append(exc)
            return base

    def paths(key: str) -> tuple[Path, ...]:
        found = node.get(key)
        items = found.value if found is not None and isinstance(found.value, list) else []
        return tuple(inside(item) for item in items)

    severity: dict[str, tuple[Severity, Span]] = {}
    found = node.get("severity")
    if found is not None:
        for rule, level in found.items():
            severity[rule] = (Severity(str(level.value)), found.key_span(rule))
    disabled: dict[str, Span] = {}
    found = node.get("disable")
    if found is not None and isinstance(found.value, list):
        disabled = {str(item.value): item.span for item in found.value}
    fail_on = node.get("fail-on")
    waivers = node.get("waivers")
    config = Config(
        path=path,
        spec_roots=paths("spec-roots"),
        rule_dirs=paths("rules"),
        severity=severity,
        disabled=disabled,
        fail_on=FailOn(str(fail_on.value)) if fail_on is not None else None,
        waivers=inside(waivers) if waivers is not None else None,
    )
    if outside:
        raise InputErrors(outside)
    return config
