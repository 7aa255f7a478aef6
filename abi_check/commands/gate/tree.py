"""One side of a gate: the spec tree of the working tree or of the ref, its hosts, and the files each depends on."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from abi_check.errors import InputErrors, SpecError
from abi_check.resources import catalogue_dir
from abi_check.spec.catalogue import SpecRoots, iter_spec_files
from abi_check.spec.loader import SpecLoader
from abi_check.spec.model import Spec
from abi_check.spec.yamlnodes import load_file


@dataclass(frozen=True, slots=True)
class Loaded:
    spec: Spec
    deps: frozenset[str]  # keys of every file the spec was built from (itself, extends, references)


class Tree:
    """Spec files under the gate directories, keyed by their path relative to the repository root (files
    outside the repository, such as the shipped catalogue, by absolute path: the same on both sides)."""

    def __init__(self, base: Path, dirs: list[Path], lookup: list[Path]) -> None:
        self.base = base  # where repository-relative paths live: the repository root, or the ref's copy
        self.dirs = dirs  # the gate directories: their hosts are the fleet
        # Changes are looked for in the gate directories and in lookup roots inside the repository.
        self.tracked = dirs + [p for p in lookup if p.is_relative_to(base)]
        self.loader = SpecLoader(SpecRoots([*lookup, *dirs, catalogue_dir().resolve()]))
        self._loaded: dict[Path, Loaded | InputErrors] = {}
        self._kinds: dict[Path, str | None] = {}

    def key(self, path: Path) -> str:
        absolute = Path(os.path.abspath(path))
        if absolute.is_relative_to(self.base):
            return absolute.relative_to(self.base).as_posix()
        return str(absolute)

    def path(self, key: str) -> Path:
        return self.base / key if not Path(key).is_absolute() else Path(key)

    def files(self, dirs: list[Path] | None = None) -> dict[str, Path]:
        out: dict[str, Path] = {}
        for directory in self.dirs if dirs is None else dirs:
            if directory.is_dir():
                out.update((self.key(p), p) for p in iter_spec_files(directory))
        return out

    def kind(self, path: Path) -> str | None:
        """The kind a file declares, without building it (None when it cannot be read as a spec)."""
        if path not in self._kinds:
            try:
                found = load_file(path).get("kind")
                self._kinds[path] = str(found.value) if found is not None else None
            except SpecError:
                self._kinds[path] = None
        return self._kinds[path]

    def load(self, path: Path) -> Loaded:
        """The built spec and its dependencies; raises InputErrors (and remembers them) when it does not build."""
        resolved = path.resolve()
        if resolved not in self._loaded:
            fork = self.loader.fork()
            try:
                spec = fork.load(resolved)
                self._loaded[resolved] = Loaded(spec, frozenset(self.key(p) for p in fork.files_read))
            except InputErrors as exc:
                self._loaded[resolved] = exc
        found = self._loaded[resolved]
        if isinstance(found, InputErrors):
            raise found
        return found

    def try_load(self, path: Path) -> Loaded | InputErrors:
        try:
            return self.load(path)
        except InputErrors as exc:
            return exc

    def hosts(self, files: dict[str, Path]) -> dict[str, Path]:
        """The host specs among ``files``, by host name (a host's name is its file name)."""
        return {p.stem: p for _, p in sorted(files.items()) if self.kind(p) == "host"}

    def deps_of(self, spec: Spec) -> frozenset[str]:
        """Dependencies of a spec that was built through this tree (a host's kernel, for instance)."""
        found = self.try_load(Path(os.path.abspath(spec.info.path)))
        return found.deps if isinstance(found, Loaded) else frozenset()
