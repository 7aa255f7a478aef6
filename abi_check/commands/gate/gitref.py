"""Read spec files as they are at a git ref, with plain git plumbing (no checkout, no new dependency)."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path

from abi_check.errors import InputError
from abi_check.spec.catalogue import SPEC_SUFFIXES


class GitError(InputError):
    kind = "git"


def _git(args: Sequence[str], cwd: Path, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(["git", *args], cwd=cwd, input=stdin, capture_output=True, check=False)
    except FileNotFoundError:
        raise GitError(None, "git is not installed (or not on PATH)", "gate reads specs at a ref with git") from None


def _stderr(done: subprocess.CompletedProcess[bytes]) -> str:
    return done.stderr.decode("utf-8", "replace").strip().splitlines()[-1] if done.stderr.strip() else "no output"


def repo_root(cwd: Path) -> Path:
    done = _git(["rev-parse", "--show-toplevel"], cwd)
    if done.returncode != 0:
        raise GitError(
            None,
            f"{cwd} is not inside a git work tree (git: {_stderr(done)})",
            "gate compares the working tree with a git ref: run it in a clone of the repository",
        )
    return Path(done.stdout.decode().strip()).resolve()


def fetch_hint(ref: str) -> str:
    """The command that brings ``ref`` into a (shallow) clone."""
    if any(c in ref for c in "~^@:"):
        return "git fetch --unshallow (or git fetch --deepen=N for N more commits)"
    remote, _, branch = ref.partition("/")
    if branch and remote in ("origin", "upstream"):
        return f"git fetch --depth=1 {remote} {branch}:refs/remotes/{remote}/{branch}"
    return f"git fetch --depth=1 origin {ref}"


def resolve_commit(root: Path, ref: str) -> str:
    """The commit a ref names; a ref this clone does not have is an input error that says what to fetch."""
    if ref.startswith("-") or not ref.strip():
        raise GitError(None, f"'{ref}' is not a git ref", "give a branch, tag or commit: --against origin/main")
    done = _git(["rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}"], root)
    if done.returncode == 0:
        return done.stdout.decode().strip()
    shallow = _git(["rev-parse", "--is-shallow-repository"], root).stdout.decode().strip() == "true"
    where = "this shallow clone" if shallow else "this clone"
    raise GitError(
        None,
        f"{ref} is not in {where}",
        f"fetch it first: `{fetch_hint(ref)}` (in GitHub Actions: actions/checkout with fetch-depth: 0, "
        "or that fetch command before abi-check)",
    )


def read_tree(root: Path, commit: str, paths: Sequence[str]) -> dict[str, bytes]:
    """Every spec file (.yaml/.yml) below ``paths`` (relative to the repository root) at ``commit``."""
    if not paths:
        return {}
    listed = _git(["ls-tree", "-r", "-z", "--full-tree", commit, "--", *paths], root)
    if listed.returncode != 0:
        raise GitError(None, f"cannot list {', '.join(paths)} at {commit[:12]} (git: {_stderr(listed)})")
    blobs: list[tuple[str, str]] = []
    for entry in listed.stdout.split(b"\0"):
        if not entry:
            continue
        meta, _, name = entry.partition(b"\t")
        mode, kind, sha = meta.decode().split()
        path = name.decode("utf-8", "surrogateescape")
        # Regular files only: a symlink's blob is its target, not a spec.
        if kind == "blob" and mode in ("100644", "100755") and path.endswith(SPEC_SUFFIXES):
            blobs.append((path, sha))
    if not blobs:
        return {}
    done = _git(["cat-file", "--batch"], root, "".join(f"{sha}\n" for _, sha in blobs).encode())
    if done.returncode != 0:
        raise GitError(None, f"cannot read specs at {commit[:12]} (git: {_stderr(done)})")
    out: dict[str, bytes] = {}
    data, pos = done.stdout, 0
    for path, _ in blobs:
        end = data.index(b"\n", pos)
        header = data[pos:end].split()
        size = int(header[2])
        pos = end + 1
        out[path] = data[pos : pos + size]
        pos += size + 1
    return out
