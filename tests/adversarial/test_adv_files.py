"""Files a pull request controls: links out of the roots, configuration paths, devices, FIFOs, huge and hostile
YAML. Each must end in exit 2 with a located message, quickly, and never show a byte of the secret."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.adversarial.conftest import HOST, Box, located


def host_using(box: Box, kernel: str) -> Path:
    text = HOST.read_text().replace("kernel: linux-6.6", f"kernel: {kernel}").replace(
        "name: n1-linux-6.6-qemu-10.2", "name: evil-host")
    path = box.specs / "evil-host.yaml"
    path.write_text(text)
    return path


def test_a_link_to_a_secret_is_never_read(box: Box) -> None:
    (box.specs / "linux-leak.yaml").symlink_to(box.secret)
    run = box.run("lint", "specs")
    assert run.code == 2 and located(run) and "leaves the spec roots" in run.err


def test_a_link_to_the_environment_is_never_read(box: Box) -> None:
    (box.specs / "linux-env.yaml").symlink_to("/proc/self/environ")
    run = box.run("lint", "specs")  # the token is in the environment: box.run asserts it is not printed
    assert run.code == 2 and "leaves the spec roots" in run.err


def test_a_name_lookup_does_not_follow_a_link_out(box: Box) -> None:
    (box.specs / "linux-evil.yaml").symlink_to(box.secret)
    host = host_using(box, "linux-evil")
    run = box.run("pair", host, host)
    assert run.code == 2 and "leaves the spec roots" in run.err


def test_extends_cannot_escape(box: Box) -> None:
    (box.specs / "linux-x.yaml").write_text(
        "abi-check: 1\nkind: kernel\nname: linux-x\nsource: x\nextends: ../../outside/secret.yaml\n")
    run = box.run("lint", "specs")
    assert run.code == 2 and located(run) and "leaves the spec roots" in run.err


def test_extends_cycle(box: Box) -> None:
    for a, b in (("linux-a", "linux-b"), ("linux-b", "linux-a")):
        (box.specs / f"{a}.yaml").write_text(f"abi-check: 1\nkind: kernel\nname: {a}\nsource: x\nextends: {b}\n")
    run = box.run("lint", "specs")
    assert run.code == 2 and "extends cycle" in run.err


@pytest.mark.parametrize("key", ["waivers", "secret-dir"])
def test_configuration_paths_stay_in_the_repository(box: Box, key: str) -> None:
    if key == "waivers":
        (box.repo / ".abi-check.yaml").write_text(f"waivers: {box.secret}\n")
    else:
        (box.repo / ".abi-check.yaml").write_text("waivers: /proc/self/environ\nrules: [../outside]\n")
    run = box.run("pair", HOST, HOST)
    assert run.code == 2 and located(run) and "outside the repository" in run.err


@pytest.mark.parametrize("where", ["src", "waivers", "config", "rules"])
@pytest.mark.parametrize("what", ["zero", "fifo"])
def test_devices_and_fifos_are_refused_not_read(box: Box, where: str, what: str) -> None:
    if what == "zero":
        target = Path("/dev/zero")
    else:
        target = box.repo / "pipe.yaml"
        os.mkfifo(target)
    if where == "rules":
        directory = box.repo / "rules"
        directory.mkdir()
        (directory / "pipe.rule").symlink_to(target) if what == "zero" else os.mkfifo(directory / "pipe.rule")
        args: list[str | Path] = ["pair", "--rules", directory, HOST, HOST]
    else:
        args = {"src": ["pair", target, HOST], "waivers": ["pair", "--waivers", target, HOST, HOST],
                "config": ["pair", "--config", target, HOST, HOST]}[where]
    run = box.run(*args)  # under the timeout and the memory limit
    if where == "rules":
        assert run.code == 0  # an entry that is not a regular file is not a rule file: never opened
        return
    assert run.code == 2 and located(run) and "not a regular file" in run.err


def test_a_50_mb_spec_is_refused_unread(box: Box) -> None:
    with (box.specs / "linux-big.yaml").open("w") as handle:
        handle.write("abi-check: 1\nkind: kernel\nname: linux-big\nsource: x\ndescription: ")
        handle.write("x" * (50 << 20))
    run = box.run("lint", "specs")
    assert run.code == 2 and "byte limit" in run.err


@pytest.mark.parametrize("payload,message", [
    ("a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{c}: &{c} [{', '.join(['*' + p] * 9)}]\n" for p, c in zip("abcdefgh", "bcdefghi", strict=True)),
     "alias bomb"),
    ("x: " + "[" * 5000 + "]" * 5000 + "\n", "nesting"),
    ("abi-check: 1\nkind: kernel\nname: linux-bad\nsource: x\nversion: 0x" + "f" * 400 + "\n", "bits wide"),
])
def test_hostile_yaml(box: Box, payload: str, message: str) -> None:
    (box.specs / "linux-bad.yaml").write_text(payload)
    run = box.run("lint", "specs")
    assert run.code == 2 and located(run) and message in run.err


def test_python_tags_run_nothing(box: Box) -> None:
    canary = box.repo / "CANARY"
    (box.specs / "linux-py.yaml").write_text(
        f'abi-check: 1\nkind: kernel\nname: linux-py\nsource: !!python/object/apply:os.system ["touch {canary}"]\n')
    (box.repo / ".abi-check.yaml").write_text(f'fail-on: !!python/object/apply:os.system ["touch {canary}"]\n')
    for args in (["lint", "specs"], ["pair", HOST, HOST]):
        run = box.run(*args)
        assert run.code == 2 and located(run) and "tag" in run.err
    assert not canary.exists()


def test_gate_fails_a_change_that_adds_a_broken_spec(box: Box) -> None:
    def git(*args: str) -> None:
        subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=box.repo, check=True,
                       capture_output=True)

    (box.repo / ".git").rmdir()
    git("init", "-q")
    kernels = box.specs / "kernels"
    kernels.mkdir()
    (kernels / "linux-6.6.yaml").write_text((HOST.parent.parent / "kernels" / "linux-6.6.yaml").read_text())
    git("add", "-A")
    git("commit", "-qm", "base")
    (kernels / "linux-env.yaml").symlink_to(box.secret)
    run = box.run("gate", "--against", "HEAD", "specs")
    assert run.code == 2 and "leaves the spec roots" in run.err


@pytest.mark.skipif(os.geteuid() == 0, reason="root searches any directory; run as a normal user (.ci/run does)")
def test_a_directory_without_search_permission(box: Box) -> None:
    locked = box.specs / "locked"
    locked.mkdir()
    (locked / "linux-x.yaml").write_text("abi-check: 1\n")
    locked.chmod(0o600)
    try:
        run = box.run("lint", "specs")
        assert run.code == 2 and located(run) and "Permission denied" in run.err
    finally:
        locked.chmod(0o700)
