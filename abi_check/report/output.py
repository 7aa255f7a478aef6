"""Write a report to stdout or to a file, all at once so nothing is left half-written."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterable
from pathlib import Path

from abi_check.errors import InputError, safe_output

# A report is written to .NAME.abi-check-PID.XXXXXXXX.tmp beside NAME, then renamed. A writer killed outright
# (SIGKILL, power loss) leaves its temporary behind; the next write of NAME removes those of dead writers.
_TEMP_PREFIX = ".{name}.abi-check-"


def _remove_stale(directory: Path, name: str) -> None:
    prefix = _TEMP_PREFIX.format(name=name)
    try:
        entries = list(directory.iterdir())
    except OSError:
        return
    for entry in entries:
        if not (entry.name.startswith(prefix) and entry.name.endswith(".tmp")):
            continue
        pid = entry.name[len(prefix) :].split(".", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            with contextlib.suppress(OSError):
                entry.unlink()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # someone else's process: alive, and its file is not ours to remove
    return True


def write_output(text: str, output: Path | None, *, terminal: bool = False) -> None:
    write_chunks([text], output, terminal=terminal)


def write_chunks(chunks: Iterable[str], output: Path | None, *, terminal: bool = False) -> None:
    """Stream a report; a file appears only once complete (written beside it, then renamed). No control
    character of the input reaches the output raw (colour stays when ``terminal``)."""
    chunks = (safe_output(chunk, terminal=terminal) for chunk in chunks)
    if output is None:
        for chunk in chunks:
            sys.stdout.write(chunk)
        sys.stdout.flush()
        return
    if output.exists() and not output.is_file():  # /dev/null, a pipe: write through, never replace it
        try:
            with output.open("w", encoding="utf-8") as handle:
                for chunk in chunks:
                    handle.write(chunk)
        except OSError as exc:
            raise InputError(None, f"cannot write the report to {output}: {exc.strerror or exc}") from None
        return
    directory = output.parent if str(output.parent) else Path(".")
    _remove_stale(directory, output.name)
    tmp = None
    try:
        import tempfile
        fd, tmp = tempfile.mkstemp(prefix=f"{_TEMP_PREFIX.format(name=output.name)}{os.getpid()}.", suffix=".tmp",
                                   dir=directory)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            for chunk in chunks:
                handle.write(chunk)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # as a plain open() would have made it, not mkstemp's 0600
        os.replace(tmp, output)
    except OSError as exc:
        raise InputError(
            None,
            f"cannot write the report to {output}: {exc.strerror or exc}",
            "check that the directory exists and is writable",
        ) from None
    finally:
        if tmp is not None and Path(tmp).exists():
            Path(tmp).unlink()
