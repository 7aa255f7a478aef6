"""Read one input file: a regular file only, never blocking, at most a bounded number of bytes.

Every file abi-check reads on a user's behalf (specs, rules, configuration, waivers) comes through here, so a
FIFO, a device or a file that never ends (``/dev/zero``, ``/proc`` files report size 0) is a located input error,
not a hang or a MemoryError.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from abi_check.errors import InputError, Span

CHUNK = 64 * 1024


def read_bounded(path: Path, shown: str, limit: int, error: type[InputError], what: str = "spec",
                 hint: str = "inputs are small hand-written files; check that it is the right file") -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes, or ``error`` located at ``shown``:1:1."""
    where = Span(shown, 1, 1)
    try:
        # O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer, forever.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise error(where, f"cannot read the {what} file: {_reason(exc)}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise error(where, f"the {what} file is not a regular file ({_kind(info.st_mode)})",
                        "give a regular file; abi-check does not read devices, FIFOs or sockets")
        if info.st_size > limit:
            raise error(where, f"file is {info.st_size} bytes, larger than the {limit} byte limit for a {what}", hint)
        chunks: list[bytes] = []
        size = 0
        while True:
            # The size a file reports is not trusted (/proc files report 0): the bound is checked while reading.
            chunk = os.read(fd, min(CHUNK, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
            if size > limit:
                raise error(where, f"file is larger than the {limit} byte limit for a {what}", hint)
        return b"".join(chunks)
    except OSError as exc:
        raise error(where, f"cannot read the {what} file: {_reason(exc)}") from None
    finally:
        os.close(fd)


def listed(path: Path) -> bool:
    """Whether a directory entry is a file to read: a file, or one whose type cannot be told (a directory
    without search permission), so that reading it reports why instead of a traceback or a silent skip."""
    try:
        return path.is_file()
    except OSError:
        return True


def _reason(exc: OSError) -> str:
    if exc.errno == errno.ENXIO:
        return "not a regular file"
    return exc.strerror or str(exc)


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "not a regular file"
