"""Build the lab initramfs: a cached busybox + python3.11 userland, and a small overlay with the probe and its job."""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import stat
import subprocess
import tempfile
from pathlib import Path

BEGIN, END = "@@ABI-CHECK-LAB-BEGIN@@", "@@ABI-CHECK-LAB-END@@"
PYTHON = "/usr/bin/python3.11"

INIT = f"""#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin:/sbin:/usr/bin PYTHONPATH=/opt/probe PYTHONDONTWRITEBYTECODE=1 HOME=/
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
dmesg -n 1
if [ -d /lab/dumps ]; then
  {PYTHON} -m abi_check.probe --restore /lab/dumps/*.json -o /tmp/out.json
else
  {PYTHON} -m abi_check.probe -o /tmp/out.json
fi
rc=$?
echo "{BEGIN} rc=$rc"
cat /tmp/out.json
echo "{END}"
poweroff -f
"""
# Parts of the stdlib the probe never imports; dropping them keeps the archive and the boot small.
_DROP = ("lib2to3", "idlelib", "tkinter", "ensurepip", "pydoc_data", "turtledemo", "distutils", "unittest",
         "asyncio", "email", "http", "xmlrpc", "xml", "sqlite3", "multiprocessing", "venv", "curses",
         "dbm", "wsgiref", "concurrent", "html", "zoneinfo", "lib-dynload/_codecs_", "lib-dynload/_ssl",
         "lib-dynload/_hashlib", "lib-dynload/_sqlite3", "lib-dynload/_decimal", "share/doc", "share/man",
         "share/locale", "share/lintian", "lib/aarch64-linux-gnu/gconv")


class Cpio:
    """A cpio 'newc' archive writer (the format the kernel unpacks), owner root, no real device files needed."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []
        self.ino = 1

    def _entry(self, name: str, mode: int, data: bytes = b"", mtime: int = 0, rdev: tuple[int, int] = (0, 0)) -> None:
        fields = [self.ino, mode, 0, 0, 1, mtime, len(data), 0, 0, rdev[0], rdev[1], len(name) + 1, 0]
        header = b"070701" + b"".join(f"{f:08x}".encode() for f in fields)
        self.ino += 1
        blob = header + name.encode() + b"\0"
        blob += b"\0" * (-len(blob) % 4)
        blob += data + b"\0" * (-len(data) % 4)
        self.chunks.append(blob)

    def directory(self, name: str) -> None:
        self._entry(name, stat.S_IFDIR | 0o755)

    def file(self, name: str, data: bytes, mode: int = 0o644) -> None:
        self._entry(name, stat.S_IFREG | mode, data)

    def device(self, name: str, major: int, minor: int) -> None:
        self._entry(name, stat.S_IFCHR | 0o600, rdev=(major, minor))

    def tree(self, root: Path, prefix: str = "") -> None:
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames.sort()
            rel = Path(dirpath).relative_to(root)
            for name in sorted(dirnames) + sorted(filenames):
                path = Path(dirpath) / name
                arc = (Path(prefix) / rel / name).as_posix().lstrip("/")
                st = path.lstat()
                if stat.S_ISLNK(st.st_mode):
                    self._entry(arc, stat.S_IFLNK | 0o777, os.readlink(path).encode())
                elif stat.S_ISDIR(st.st_mode):
                    self._entry(arc, stat.S_IFDIR | 0o755)
                elif stat.S_ISREG(st.st_mode):
                    self._entry(arc, stat.S_IFREG | stat.S_IMODE(st.st_mode), path.read_bytes(), int(st.st_mtime))

    def gz(self, level: int = 6) -> bytes:
        self._entry("TRAILER!!!", 0)
        return gzip.compress(b"".join(self.chunks), compresslevel=level, mtime=0)


def _compile(root: Path) -> None:
    # .pyc files are portable across architectures; unchecked-hash ones ignore mtimes. Compiling on the
    # host saves the emulated guest from compiling the stdlib on every boot.
    subprocess.run(["python3", "-m", "compileall", "-q", "-j", "2", "--invalidation-mode", "unchecked-hash",
                    str(root)], check=True, stdout=subprocess.DEVNULL)


def base_image(debs: list[Path], cache: Path) -> Path:
    """busybox + python3.11 + the libraries it needs, unpacked from the .debs, cached by their names."""
    key = hashlib.sha256("\n".join(sorted(d.name for d in debs)).encode() + INIT.encode()).hexdigest()[:16]
    out = cache / f"base-{key}.cpio.gz"
    if out.exists():
        return out
    with tempfile.TemporaryDirectory(dir=cache) as tmp:
        root = Path(tmp) / "root"
        for deb in debs:
            subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)
        for pattern in _DROP:
            for path in list(root.glob(f"usr/lib/python3.11/{pattern}*")) + list(root.glob(f"usr/{pattern}*")):
                shutil.rmtree(path) if path.is_dir() and not path.is_symlink() else path.unlink()
        _compile(root / "usr/lib/python3.11")
        (root / "bin").mkdir(exist_ok=True)
        busybox = root / "bin/busybox"
        if not busybox.exists():
            shutil.copy2(root / "usr/bin/busybox", busybox)
        archive = Cpio()
        for d in ("dev", "proc", "sys", "tmp", "sbin", "usr/sbin", "lab", "opt"):
            archive.directory(d)
        archive.device("dev/console", 5, 1)
        archive.tree(root)
        archive.file("init", INIT.encode(), 0o755)
        out.write_bytes(archive.gz())
    return out


def overlay(repo: Path, dumps: list[Path]) -> bytes:
    """The probe package (and abi_check/__init__.py) plus the source dumps of a replay boot."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        package = root / "abi_check"
        shutil.copytree(repo / "abi_check/probe", package / "probe",
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        shutil.copy2(repo / "abi_check/__init__.py", package / "__init__.py")
        _compile(root)
        archive = Cpio()
        archive.directory("opt/probe")
        archive.tree(root, "opt/probe")
        if dumps:
            archive.directory("lab/dumps")
            for dump in dumps:
                archive.file(f"lab/dumps/{dump.name}", dump.read_bytes())
        return archive.gz()


def initrd(base: Path, repo: Path, dumps: list[Path], dest: Path) -> Path:
    """The kernel unpacks concatenated archives in order: the cached base, then this boot's overlay."""
    dest.write_bytes(base.read_bytes() + overlay(repo, dumps))
    return dest
