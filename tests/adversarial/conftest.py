"""The adversarial harness: the CLI as a subprocess under a memory limit and a timeout, and a canary secret
outside the spec roots whose token must never appear in anything abi-check prints or writes."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from abi_check.resources import catalogue_dir

MEMORY = 512 * 1024 * 1024
TIMEOUT = 10.0
HOST = catalogue_dir() / "hosts" / "n1-linux-6.6-qemu-10.2.yaml"
META = '  name "x"  summary "x"  severity error  category x  reference "x"\n'


@dataclass
class Run:
    code: int
    out: str
    err: str


@dataclass
class Box:
    """A repository (``repo``, with ``specs/``) and, outside it, a secret file with a unique token."""

    repo: Path
    specs: Path
    secret: Path
    token: str

    def run(self, *args: str | Path, env: dict[str, str] | None = None) -> Run:
        cmd = [sys.executable, "-m", "abi_check", *map(str, args)]
        if shutil.which("prlimit"):
            cmd = ["prlimit", f"--as={MEMORY}", "--", *cmd]
        environment = {**os.environ, "ABI_CHECK_CANARY": self.token, "NO_COLOR": "1", **(env or {})}
        done = subprocess.run(cmd, cwd=self.repo, capture_output=True, timeout=TIMEOUT, env=environment,
                              stdin=subprocess.DEVNULL, check=False)
        run = Run(done.returncode, done.stdout.decode("utf-8", "replace"), done.stderr.decode("utf-8", "replace"))
        self.assert_clean(run)
        return run

    def assert_clean(self, run: Run) -> None:
        """No traceback, no byte of the secret (or the environment) in any output or any file written."""
        assert "Traceback" not in run.err, run.err
        assert self.token not in run.out and self.token not in run.err
        for path in self.repo.rglob("*"):
            try:
                data = path.read_bytes() if path.is_file() and not path.is_symlink() and path.suffix != ".rule" else b""
            except PermissionError:
                continue  # a directory a test locked on purpose: abi-check could not have written there either
            assert self.token.encode() not in data, path

    def rules(self, name: str, body: str) -> Path:
        """A directory holding one rule file ``name.rule``: the metadata, then ``body``."""
        directory = self.repo / "rules" / name
        directory.mkdir(parents=True)
        (directory / f"{name}.rule").write_text(f"rule {name}\n{META}{body}")
        return directory


@pytest.fixture
def box(tmp_path: Path) -> Box:
    token = "CANARY-" + secrets.token_hex(16)
    outside = tmp_path / "outside"
    outside.mkdir()
    secret = outside / "secret.yaml"
    # A valid kernel spec (so only the roots check stands between it and a report) carrying the token.
    kernel = (catalogue_dir() / "kernels" / "linux-6.6.yaml").read_text()
    secret.write_text(f"# {token}\n" + kernel.replace("name: linux-6.6", "name: secret") + f"\n# {token}\n")
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)  # configuration discovery stops here
    specs = repo / "specs"
    specs.mkdir()
    return Box(repo, specs, secret, token)


def located(run: Run) -> bool:
    """An error message of the form file:line:col: ... error: ..."""
    return any(" error: " in line and line.split(":", 3)[1:3] != [] and line.split(":")[1].isdigit()
               for line in run.err.splitlines())
