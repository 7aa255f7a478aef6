"""The terminal (issue 13, item 7): reports fit its width without breaking a word, shell completion, --help."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from abi_check.report.wrap import reflow, wrap, wrap_line

ROOT = Path(__file__).resolve().parents[1]


def cli(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k != "COLUMNS" and not k.startswith("_ABI_CHECK")}
    return subprocess.run([sys.executable, "-m", "abi_check", *args], capture_output=True, text=True, cwd=ROOT,
                          env={**environ, "NO_COLOR": "1", **env})


def assert_wrapped(wide: str, narrow: str, width: int = 80) -> None:
    """Every line fits, and the words are the same words in the same order: no word was split across lines."""
    too_long = [line for line in narrow.splitlines() if len(line) > width]
    assert not too_long, too_long
    assert wide.split() == narrow.split()
    assert narrow != wide or all(len(line) <= width for line in wide.splitlines())


# pair with the most findings of the shipped hosts, messages of up to 300 characters
PAIR = ("pair", "n1-linux-6.13-qemu-10.2", "n1-linux-6.1-qemu-8.2", "--both")


@pytest.mark.parametrize(
    "args",
    [PAIR, ("rules",), ("explain", "psci-not-implemented"),
     ("fence", "linux-6.12", "linux-6.13", "--vmm", "qemu-10.2")],
    ids=["pair", "rules", "explain", "fence"],
)
def test_text_reports_wrap_at_80_columns_between_words(args: tuple[str, ...]) -> None:
    wide, narrow = cli(*args), cli(*args, COLUMNS="80")
    assert wide.returncode == narrow.returncode, narrow.stderr
    assert any(len(line) > 80 for line in wide.stdout.splitlines())  # today's lines, kept in a pipe
    assert_wrapped(wide.stdout, narrow.stdout)


def test_matrix_at_80_columns_keeps_its_grid_and_legend_whole() -> None:
    wide, narrow = cli("matrix", "--fail-on", "never"), cli("matrix", "--fail-on", "never", COLUMNS="80")
    assert narrow.returncode == 0, narrow.stderr
    lines = narrow.stdout.splitlines()
    assert all(len(line) <= 80 for line in lines), [line for line in lines if len(line) > 80]
    assert "legend: ✓ compatible  ~ abi-change  ✗ fails" in lines
    # the grid without the names column, the names below it, numbered like the rows
    assert "  9  n1-linux-6.12-qemu-10.2-x-mig-regs" in lines
    rows = [line for line in lines if line.lstrip().startswith("18  ")]
    assert rows and len(rows[0].split()) == 19
    assert "324 pairs: 37 compatible" in wide.stdout
    assert "n1-linux-6.12-qemu-10.2-x-mig-regs" in narrow.stdout.split("legend")[0]
    # a wide terminal shows today's grid, with the names
    wide_terminal = cli("matrix", "--fail-on", "never", COLUMNS="200")
    assert [line.rstrip() for line in wide_terminal.stdout.splitlines()] == [
        line.rstrip() for line in wide.stdout.splitlines()
    ]


def test_a_grid_that_cannot_fit_says_so() -> None:
    narrow = cli("matrix", "--fail-on", "never", COLUMNS="40")
    assert "too many for a grid 40 columns wide" in " ".join(narrow.stdout.split())
    assert "legend" not in narrow.stdout
    assert all(len(line) <= 40 for line in narrow.stdout.splitlines())


def test_matrix_output_file_says_what_it_wrote(tmp_path: Path) -> None:
    out = tmp_path / "matrix.html"
    done = cli("matrix", "--fail-on", "never", "-f", "html", "-o", str(out))
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    assert done.stderr == f"wrote {out} (18 hosts, 324 pairs)\n"
    assert out.is_file()
    sarif = cli("matrix", "--fail-on", "never", "-f", "sarif", "-o", str(tmp_path / "m.sarif"), COLUMNS="80")
    assert sarif.stderr.startswith("wrote ") and sarif.stderr.count("\n") == 1
    # a file is never wrapped, whatever COLUMNS says
    text = tmp_path / "m.txt"
    cli("matrix", "--fail-on", "never", "-o", str(text), COLUMNS="80")
    assert text.read_text() == cli("matrix", "--fail-on", "never").stdout


def test_wrap_breaks_only_at_spaces_and_indents_continuations() -> None:
    line = "    error rule-id: " + " ".join(["word"] * 40)
    lines = wrap_line(line, 40)
    assert all(len(w) <= 40 for w in lines)
    assert lines[0].startswith("    error") and all(w.startswith("        word") for w in lines[1:])
    assert " ".join(w.strip() for w in lines).split() == line.split()
    # a word longer than the room stays whole, on its own line
    long = "see: " + "x" * 60 + " at here"
    assert wrap_line(long, 40) == ["see:", "x" * 60, "    at here"]
    assert wrap_line("see: " + "y" * 38, 40) == ["see:", "  " + "y" * 38]
    # colour codes take no columns
    coloured = "\x1b[1mbold\x1b[0m " + " ".join(["w"] * 30)
    assert all(len(w.replace("\x1b[1m", "").replace("\x1b[0m", "")) <= 20 for w in wrap_line(coloured, 20))
    assert wrap("a b\nc", None) == "a b\nc"
    assert reflow("one two\nthree four\n\n  - kept\n  - as is", 80) == "one two three four\n\n  - kept\n  - as is"


def complete(words: str, cword: int) -> list[str]:
    done = cli(_ABI_CHECK_COMPLETE="complete_bash", COMP_WORDS=words, COMP_CWORD=str(cword))
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def complete_zsh(words: str) -> str:
    done = cli(_ABI_CHECK_COMPLETE="complete_zsh", _TYPER_COMPLETE_ARGS=words)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_bash_completion_offers_commands_rule_ids_hosts_and_formats() -> None:
    assert complete("abi-check pa", 1) == ["pair"]
    assert {"matrix", "explain", "rules", "gate"} <= set(complete("abi-check ", 1))
    assert complete("abi-check explain psci-not", 2) == ["psci-not-implemented"]
    hosts = complete("abi-check pair n1-linux-6.1", 2)
    assert "n1-linux-6.1-qemu-8.2" in hosts and "n1-linux-6.13-qemu-10.2" in hosts
    assert "n1-linux-6.13-qemu-10.2" in complete("abi-check pair n1-linux-6.1-qemu-8.2 n1-linux-6.13", 3)
    assert complete("abi-check pair --format ", 3) == ["text", "json", "markdown", "sarif", "junit", "github"]
    assert "html" in complete("abi-check matrix -f ", 3)
    assert complete("abi-check fence linux-6.1", 2)[0].startswith("linux-6.1")
    assert "qemu-10.2" in complete("abi-check fence linux-6.12 --vmm qemu", 4)
    # a path is left to the shell's file completion (complete -o default)
    assert complete("abi-check pair ./specs/", 2) == []


def test_zsh_completion_offers_the_same() -> None:
    assert '"pair"' in complete_zsh("abi-check pa")
    assert '"psci-not-implemented"' in complete_zsh("abi-check explain psci-not")
    assert '"n1-linux-6.13-qemu-10.2"' in complete_zsh("abi-check pair n1-linux-6.13")
    assert '"sarif"' in complete_zsh("abi-check pair --format ")


def test_completion_scripts_for_bash_and_zsh() -> None:
    for shell in ("bash", "zsh"):
        done = cli("--show-completion", shell, _TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION="1")
        assert done.returncode == 0, done.stderr
        assert "_ABI_CHECK_COMPLETE=complete_" + shell in done.stdout


def test_help_keeps_brackets_uses_placeholders_and_shows_examples() -> None:
    pair = cli("pair", "--help", COLUMNS="120").stdout
    assert "[tool.abi-check]" in pair
    assert "--config" in pair and "FILE" in pair and "--root" in pair and "DIR" in pair
    assert "Examples:" in pair and "$ abi-check pair" in pair
    for command in ("matrix", "gate", "fence", "explain", "lint"):
        assert "$ abi-check " + command in cli(command, "--help", COLUMNS="120").stdout, command
    top = cli("--help", COLUMNS="120").stdout
    assert "--install-completion" in top and "$ abi-check matrix --fail-on never" in top


def test_pair_wraps_the_same_on_the_fast_path_and_through_typer() -> None:
    fast = cli("pair", "n1-linux-6.13-qemu-10.2", "n1-linux-6.1-qemu-8.2", COLUMNS="80")
    typer = cli("pair", "--format=text", "n1-linux-6.13-qemu-10.2", "n1-linux-6.1-qemu-8.2", COLUMNS="80")
    assert fast.stdout == typer.stdout and fast.returncode == typer.returncode
    assert all(len(line) <= 80 for line in fast.stdout.splitlines())
