"""Spec roots and reference resolution: a catalogue name or a relative path, never outside the roots."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from abi_check.errors import InputError, Span, SpecError
from abi_check.resources import catalogue_dir
from abi_check.spec.files import listed

SPEC_SUFFIXES = (".yaml", ".yml")
# A directory holding one of these is a spec tree: the names its hosts use resolve there first.
TREE_MARKERS = ("kernels", "vmms", "cpus")


def spec_tree(path: Path) -> Path | None:
    """The nearest directory at or above ``path`` that holds kernels/, vmms/ or cpus/: the spec tree the input
    belongs to. The search stops at the repository (the first directory holding .git), so a checkout's specs
    never resolve in a directory above it."""
    try:
        start = path.resolve()
        current = start if start.is_dir() else start.parent
    except (OSError, RuntimeError):
        return None
    for directory in (current, *current.parents):
        try:
            if any((directory / marker).is_dir() for marker in TREE_MARKERS):
                return directory
            if (directory / ".git").exists():
                return None
        except OSError:
            return None
    return None


def iter_spec_files(directory: Path) -> Iterator[Path]:
    """Every spec file below a directory, in a stable order, skipping hidden directories."""
    for path in sorted(directory.rglob("*")):
        hidden = any(part.startswith(".") for part in path.relative_to(directory).parts)
        if path.suffix in SPEC_SUFFIXES and not hidden and listed(path):
            yield path


@dataclass
class SpecRoots:
    """Ordered directories in which specs are looked up by name; earlier roots win."""

    roots: list[Path]
    _index: dict[Path, dict[str, list[Path]]] = field(default_factory=dict)

    @classmethod
    def for_inputs(cls, inputs: Iterable[Path], extra: Iterable[Path] = (), catalogue: bool = True) -> SpecRoots:
        roots: list[Path] = [p.resolve() for p in extra]
        for item in inputs:
            root = item if item.is_dir() else item.parent
            roots.append(root.resolve())
        # Then each input's own spec tree, before the shipped catalogue: an edit to specs/kernels/ in a checkout
        # is what specs/hosts/ there uses, not the installed package's copy.
        for item in inputs:
            tree = spec_tree(item)
            if tree is not None:
                roots.append(tree)
        if catalogue:
            roots.append(catalogue_dir().resolve())
        unique: list[Path] = []
        for root in roots:
            if root not in unique:
                unique.append(root)
        return cls(unique)

    def contains(self, path: Path) -> bool:
        """Whether a file, once every link is followed, lies inside a root."""
        try:
            resolved = path.resolve()
        except (OSError, RuntimeError):  # a link loop
            return False
        return any(resolved.is_relative_to(root) for root in self.roots)

    def names(self) -> list[str]:
        """Every spec name the roots hold, in root order."""
        return [name for root in self.roots for name in self._names(root)]

    def _names(self, root: Path) -> dict[str, list[Path]]:
        if root not in self._index:
            names: dict[str, list[Path]] = {}
            if root.is_dir():
                for path in iter_spec_files(root):
                    names.setdefault(path.stem, []).append(path)
            self._index[root] = names
        return self._index[root]

    def resolve(self, ref: str, span: Span, referrer: Path) -> Path:
        """The file a reference names, or a located error that says how to fix it."""
        if "/" in ref or ref.endswith(SPEC_SUFFIXES):
            try:
                target = (referrer.parent / ref).resolve()
                exists = target.is_file()
            except OSError as exc:
                raise SpecError(span, f"cannot use the path '{ref[:60]}': {exc.strerror}") from None
            if not self.contains(target):
                raise SpecError(
                    span,
                    f"'{ref}' leaves the spec roots",
                    "name a spec inside the spec roots, or add a root with --root",
                )
            if not exists:
                raise SpecError(span, f"no spec file at '{ref}' (looked for {target})")
            return target
        for root in self.roots:
            found = self._names(root).get(ref)
            if not found:
                continue
            if len(found) > 1:
                names = ", ".join(str(p) for p in found)
                raise SpecError(span, f"'{ref}' is ambiguous in {root}: {names}", "refer to it by relative path")
            if not self.contains(found[0]):
                raise SpecError(span, f"'{ref}' is {found[0]}, a link that leaves the spec roots",
                                "specs are read from inside the spec roots only; copy the spec in")
            return found[0]
        raise SpecError(span, f"unknown spec '{ref}'", self._suggest(ref))

    def _suggest(self, ref: str) -> str:
        import difflib

        names = sorted({name for root in self.roots for name in self._names(root)})
        close = difflib.get_close_matches(ref, names, n=1)
        if close:
            return f"did you mean '{close[0]}'?"
        return "a spec's name is its file name without .yaml (specs/kernels/linux-6.6.yaml is linux-6.6)"


def expand(paths: Sequence[Path]) -> tuple[list[Path], list[InputError]]:
    """Files named directly plus every spec below named directories."""
    files: list[Path] = []
    errors: list[InputError] = []
    for path in paths:
        try:
            is_dir, exists = path.is_dir(), path.exists()
        except OSError as exc:
            errors.append(SpecError(Span(str(path), 1, 1), f"cannot read: {exc.strerror or exc}"))
            continue
        if is_dir:
            found = list(iter_spec_files(path))
            if not found:
                errors.append(SpecError(Span(str(path), 1, 1), "directory holds no .yaml spec"))
            files.extend(found)
        elif exists:
            files.append(path)  # whatever it is, reading it says what is wrong (a FIFO, a device)
        else:
            errors.append(SpecError(None, f"{path}: no such file or directory"))
    return files, errors
