"""A small persistent cache for derived data (parsed rules), keyed by content; never required for correctness."""

from __future__ import annotations

import hashlib
import os
import pickle
from pathlib import Path
from typing import Any


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
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:24]


class PickleCache:
    """A dict persisted as one pickle file; loaded lazily, written atomically only when it grew."""

    def __init__(self, name: str) -> None:
        directory = cache_dir()
        self.path = directory / name if directory is not None else None
        self.data: dict[str, Any] | None = None
        self.dirty = False

    def _load(self) -> dict[str, Any]:
        if self.data is None:
            self.data = {}
            if self.path is not None:
                try:
                    loaded = pickle.loads(self.path.read_bytes())  # our own file, in the user's cache dir
                    if isinstance(loaded, dict):
                        self.data = loaded
                except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError, ValueError):
                    pass
        return self.data

    def get(self, key: str) -> Any:
        return self._load().get(key)

    def put(self, key: str, value: Any) -> None:
        self._load()[key] = value
        self.dirty = True

    def save(self) -> None:
        if not self.dirty or self.path is None or self.data is None:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            import tempfile
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".tmp-")
            with os.fdopen(fd, "wb") as handle:
                pickle.dump(self.data, handle, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, self.path)
            self.dirty = False
        except OSError:
            pass  # a read-only home must not break the tool
