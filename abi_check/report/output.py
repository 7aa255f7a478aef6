"""Write a report to stdout or to a file, all at once so nothing is left half-written."""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path

from abi_check.errors import InputError


def write_output(text: str, output: Path | None) -> None:
    write_chunks([text], output)


def write_chunks(chunks: Iterable[str], output: Path | None) -> None:
    """Stream a report; a file appears only once complete (written beside it, then renamed)."""
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
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{output.name}.", dir=directory)
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
