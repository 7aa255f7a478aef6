"""A small persistent cache for derived data (parsed rules, spec files as nodes), keyed by content; never
required for correctness. What it loads is data: only the classes each cache names can come out of it."""

from __future__ import annotations

import io
import os
import pickle
from pathlib import Path
from typing import Any

try:  # CPython's own SHA-256: hashlib would load OpenSSL first, ~3 ms of pair's start-up; the digest is the same
    from _sha256 import sha256  # type: ignore[import-not-found]
except ImportError:  # another interpreter, or Python 3.12+ (_sha2)
    from hashlib import sha256


def cache_dir() -> Path | None:
    """$ABI_CHECK_CACHE_DIR, else $XDG_CACHE_HOME/abi-check, else ~/.cache/abi-check; None when disabled."""
    if os.environ.get("ABI_CHECK_NO_CACHE"):
        return None
    explicit = os.environ.get("ABI_CHECK_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "abi-check"


def digest(*parts: str) -> str:
    return str(sha256("\0".join(parts).encode()).hexdigest()[:24])


class _Only(pickle.Unpickler):
    """Unpickles plain values (dict, list, tuple, str, numbers) and the classes named, nothing else: a file put in
    the cache directory by someone else cannot make loading it call a function (``os.system``) or build another
    class. Such a file can still hold wrong data, as a wrong file anywhere in the user's home could."""

    def __init__(self, data: bytes, allowed: frozenset[tuple[str, str]]) -> None:
        super().__init__(io.BytesIO(data))
        self.allowed = allowed

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in self.allowed:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"{module}.{name} is not allowed in a cache")


def loads(data: bytes, allowed: frozenset[tuple[str, str]] = frozenset()) -> Any:
    """A cached value, or pickle.UnpicklingError when it names a class outside ``allowed``."""
    return _Only(data, allowed).load()


UNREADABLE = (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError, ValueError, TypeError,
              IndexError, KeyError, MemoryError, RecursionError)


# Every run loads the whole file (~40 us an entry), so it must not grow without end: a save that finds more entries
# than this keeps only those the run used (rules edited over months, rule files of test runs in temporary
# directories: each text is an entry).
KEEP = 256


def dump(path: Path, value: Any) -> bool:
    """Pickle ``value`` to ``path`` whole or not at all (a temporary beside it, renamed over it); False, leaving
    nothing behind, when the disk refuses (read-only, full) or the value is too deep to pickle: a cache that
    cannot be written must not break the tool."""
    import tempfile

    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        with os.fdopen(fd, "wb") as handle:
            pickle.dump(value, handle, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
        tmp = None
        return True
    except (OSError, RecursionError):
        return False
    finally:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)


class PickleCache:
    """A dict persisted as one pickle file; loaded lazily, written atomically only when it grew."""

    def __init__(self, name: str, allowed: frozenset[tuple[str, str]] = frozenset()) -> None:
        directory = cache_dir()
        self.path = directory / name if directory is not None else None
        self.allowed = allowed
        self.data: dict[str, Any] | None = None
        self.used: set[str] = set()
        self.dirty = False

    def _load(self) -> dict[str, Any]:
        if self.data is None:
            self.data = {}
            if self.path is not None:
                try:
                    loaded = loads(self.path.read_bytes(), self.allowed)
                    if isinstance(loaded, dict):
                        self.data = loaded
                except UNREADABLE:
                    pass  # missing, damaged or not ours: start afresh (the next save replaces it)
        return self.data

    def get(self, key: str) -> Any:
        self.used.add(key)
        return self._load().get(key)

    def put(self, key: str, value: Any) -> None:
        self._load()[key] = value
        self.used.add(key)
        self.dirty = True

    def save(self) -> None:
        if not self.dirty or self.path is None or self.data is None:
            return
        if len(self.data) > KEEP:
            self.data = {k: v for k, v in self.data.items() if k in self.used}
        if dump(self.path, self.data):
            self.dirty = False
