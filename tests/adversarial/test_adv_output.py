"""Payloads in names and rule messages reach no output raw: no terminal escape, no injected workflow command."""

from __future__ import annotations

import json
import os
import time

import pytest

from tests.adversarial.conftest import HOST, Box

PAYLOAD = "\\x1b]0;pwn\\x07\\x1b[2J<script>alert(1)</script> | %0A ::error::x \\u202e"
FORMATS = ["text", "json", "markdown", "sarif", "junit", "github"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_rule_message_payloads_in_every_format(box: Box, fmt: str) -> None:
    rules = box.rules("payload", f'report "{PAYLOAD}\\nsecond line"\n')
    out = box.repo / "report.out"
    run = box.run("pair", "--rules", rules, "--format", fmt, "-o", out, HOST, HOST)
    assert run.code == 8  # the rule's finding: an error, reported, not a crash
    text = out.read_text()
    assert "\x1b" not in text and "\x07" not in text and "\u202e" not in text
    if fmt == "github":
        assert all(line.startswith("::") for line in text.splitlines()[:-1])
    if fmt in ("json", "sarif"):
        json.loads(text)


def test_control_characters_in_file_names_are_escaped_on_stderr(box: Box) -> None:
    (box.specs / "x\n::error::owned\x1b[31m.yaml").write_text("abi-check: 1\n")
    run = box.run("lint", "specs")
    assert run.code == 2 and "\x1b" not in run.err
    assert not any(line.startswith("::") for line in run.err.splitlines())


def test_stale_temporaries_of_dead_writers_are_removed(box: Box) -> None:
    stale = box.repo / ".x.json.abi-check-999999999.abcdefgh.tmp"  # no such pid: its writer was killed
    stale.write_text("partial")
    mine = box.repo / f".x.json.abi-check-{os.getpid()}.abcdefgh.tmp"  # a live writer's: left alone
    mine.write_text("partial")
    run = box.run("pair", "--format", "json", "-o", "x.json", HOST, HOST)
    assert run.code == 0 and (box.repo / "x.json").is_file()
    assert not stale.exists() and mine.exists()


def test_every_run_is_fast(box: Box) -> None:
    start = time.monotonic()
    box.run("pair", HOST, HOST)
    assert time.monotonic() - start < 10


