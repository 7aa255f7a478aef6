"""Fetch Debian arm64 kernels and the initramfs userland with apt-get download and a private apt configuration."""

from __future__ import annotations

import re
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

MIRROR = "http://deb.debian.org/debian"
SECURITY = "http://deb.debian.org/debian-security"
KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"
LISTS_MAX_AGE = 24 * 3600  # a rerun within a day reuses the package lists: warm runs stay fast

SUITES = {
    "bookworm": [(MIRROR, "bookworm"), (MIRROR, "bookworm-updates"), (SECURITY, "bookworm-security")],
    "trixie": [(MIRROR, "trixie"), (MIRROR, "trixie-updates"), (SECURITY, "trixie-security")],
    "sid": [(MIRROR, "sid")],
    "trixie-backports": [(MIRROR, "trixie-backports")],
}
USERLAND = ["busybox-static", "python3.11-minimal", "libpython3.11-minimal", "libpython3.11-stdlib", "libffi8",
            "libc6", "zlib1g", "libexpat1"]


@dataclass(frozen=True)
class KernelChoice:
    label: str
    suite: str
    patterns: tuple[str, ...]  # package name regexes, the first that matches anything wins


KERNELS = [
    KernelChoice("6.1", "bookworm", (r"^linux-image-6\.1\.0-(\d+)-arm64$",)),
    KernelChoice("6.12", "trixie", (r"^linux-image-6\.12\.(\d+)\+deb13-arm64$",)),
    # the 2025 LTS line, from trixie-backports (the newest 6.18.y it still carries)
    KernelChoice("6.18", "trixie-backports", (r"^linux-image-6\.18\.(\d+)\+deb13-arm64$",)),
    # sid splits the Image (linux-binary-*) from the package that installs it
    KernelChoice("7.2", "sid", (r"^linux-binary-7\.2\.(\d+)\+deb\d+-arm64$",
                                r"^linux-image-7\.2\.(\d+)\+deb\d+-arm64$")),
]


@dataclass(frozen=True)
class Kernel:
    label: str
    package: str
    version: str  # the Debian package version, e.g. 6.1.176-1
    deb: Path

    @property
    def point_release(self) -> str:
        return self.version.split("-")[0].split("+")[0]


class Apt:
    """apt-get and apt-cache confined to their own sources, lists and cache under one directory."""

    def __init__(self, root: Path, suite: str) -> None:
        self.root = root / "apt" / suite
        self.suite = suite
        for sub in ("lists/partial", "cache/archives/partial", "etc"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        self.sources = self.root / "etc" / "sources.list"
        lines = [f"deb [arch=arm64 signed-by={KEYRING}] {uri} {dist} main\n" for uri, dist in SUITES[suite]]
        self.sources.write_text("".join(lines))

    def options(self) -> list[str]:
        r = self.root
        return ["-o", f"Dir::Etc::sourcelist={self.sources}", "-o", "Dir::Etc::sourceparts=-",
                "-o", f"Dir::State::lists={r / 'lists'}", "-o", f"Dir::Cache={r / 'cache'}",
                "-o", "Dir::State::status=/dev/null", "-o", "APT::Architecture=arm64",
                "-o", "APT::Architectures::=arm64", "-o", "APT::Sandbox::User=root", "-q"]

    def update(self, force: bool = False) -> None:
        stamp = self.root / "updated"
        if not force and stamp.exists() and time.time() - stamp.stat().st_mtime < LISTS_MAX_AGE:
            return
        subprocess.run(["apt-get", *self.options(), "update"], check=True, stdout=subprocess.DEVNULL)
        stamp.touch()

    def names(self, prefix: str) -> list[str]:
        out = subprocess.run(["apt-cache", *self.options(), "pkgnames", prefix], check=True, capture_output=True,
                             text=True).stdout
        return out.split()

    def version(self, package: str) -> str:
        out = subprocess.run(["apt-cache", *self.options(), "show", "--no-all-versions", package], check=True,
                             capture_output=True, text=True).stdout
        match = re.search(r"^Version: (\S+)$", out, re.M)
        if not match:
            raise RuntimeError(f"no version for {package}")
        return match.group(1)

    def download(self, package: str, dest: Path) -> Path:
        """The .deb of the candidate version, downloaded once into ``dest``."""
        dest.mkdir(parents=True, exist_ok=True)
        version = self.version(package)
        existing = [p for p in dest.glob(f"{package}_*.deb") if _deb_version(p) == version]
        if existing:
            return existing[0]
        subprocess.run(["apt-get", *self.options(), "download", package], check=True, cwd=dest,
                       stdout=subprocess.DEVNULL)
        found = [p for p in dest.glob(f"{package}_*.deb") if _deb_version(p) == version]
        if not found:
            raise RuntimeError(f"apt-get download {package} left no {package}_{version}_*.deb")
        return found[0]


def _deb_version(path: Path) -> str:
    # apt-get download names files package_version_arch.deb with ':' escaped as %3a
    return path.name.split("_")[1].replace("%3a", ":")


def newest_kernel(apt: Apt, choice: KernelChoice) -> str:
    for pattern in choice.patterns:
        regex = re.compile(pattern)
        prefix = pattern.lstrip("^").split("\\")[0]
        matches = [(int(m.group(1)), name) for name in apt.names(prefix) if (m := regex.match(name))]
        if matches:
            return max(matches)[1]
    raise RuntimeError(f"no package for kernel {choice.label} in {choice.suite}")


def fetch_all(cache: Path, kernels: list[str], refresh: bool = False) -> tuple[list[Kernel], list[Path]]:
    apts = {suite: Apt(cache, suite) for suite in SUITES}
    needed = {"bookworm"} | {c.suite for c in KERNELS if c.label in kernels}
    for suite in sorted(needed):
        apts[suite].update(force=refresh)
    chosen = []
    for choice in KERNELS:
        if choice.label not in kernels:
            continue
        apt = apts[choice.suite]
        package = newest_kernel(apt, choice)
        chosen.append(Kernel(choice.label, package, apt.version(package), apt.download(package, cache / "debs")))
    userland = [apts["bookworm"].download(p, cache / "debs") for p in USERLAND]
    return chosen, userland
