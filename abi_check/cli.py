"""The command line: parse options, call one function that returns an exit code. No logic here."""

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

from abi_check import __version__

if TYPE_CHECKING:
    import typer


def _guard(run: Callable[[], int]) -> int:
    """Input errors are the user's to fix: print them located, exit 2. Never a traceback."""
    from abi_check.errors import InputError, InputErrors
    from abi_check.exitcodes import ExitCode

    try:
        return run()
    except (InputErrors, InputError) as exc:
        errors = exc.errors if isinstance(exc, InputErrors) else [exc]
        for error in errors:
            print(error.render(), file=sys.stderr)
        return ExitCode.INPUT_ERROR


def _names(kind: str, incomplete: str) -> list[str]:
    """Shell completion: the shipped specs of a kind (hosts, kernels, vmms, cpus) whose names start with what was
    typed. Something that looks like a path gets nothing here, so the shell completes file names."""
    from abi_check.resources import catalogue_dir

    if "/" in incomplete or incomplete.startswith((".", "~")):
        return []
    try:
        names = sorted(p.stem for p in (catalogue_dir() / kind).glob("*.yaml"))
    except OSError:
        return []
    return [n for n in names if n.startswith(incomplete)]


def _hosts(incomplete: str) -> list[str]:
    return _names("hosts", incomplete)


def _kernels(incomplete: str) -> list[str]:
    return _names("kernels", incomplete)


def _vmms(incomplete: str) -> list[str]:
    return _names("vmms", incomplete)


def _cpus(incomplete: str) -> list[str]:
    return _names("cpus", incomplete)


def _rule_ids(incomplete: str) -> list[str]:
    """Shell completion: the shipped rules' ids (each rule is the file <id>.rule; nothing is parsed)."""
    from abi_check.resources import rules_dir

    try:
        ids = sorted(p.stem for p in rules_dir().glob("*.rule"))
    except OSError:
        return []
    return [i for i in ids if i.startswith(incomplete)]


def _examples(*lines: str) -> str:
    """A command's examples, for the end of its --help (one paragraph each, so rich keeps the lines)."""
    return "Examples:\n\n" + "\n\n".join(f"  $ {line}" for line in lines)


def _app() -> "typer.Typer":
    import typer

    from abi_check.report.formats import DescribeFormat, Format, MatrixFormat
    from abi_check.verdict.result import FailOn

    app = typer.Typer(
        name="abi-check",
        help="Guest-visible ABI compatibility and rollback safety for KVM/arm64 VMs.",
        epilog=_examples(
            "abi-check matrix --fail-on never",
            "abi-check pair n1-linux-6.12-qemu-10.2 n1-linux-6.13-qemu-10.2 --both",
            "abi-check explain psci-not-implemented",
            "abi-check --install-completion",
        ),
        no_args_is_help=True,
        add_completion=True,
        pretty_exceptions_enable=False,
    )

    def version(value: bool) -> None:
        if value:
            print(f"abi-check {__version__}")
            raise typer.Exit(0)

    @app.callback()
    def common(
        _version: Annotated[
            bool,
            typer.Option("--version", callback=version, is_eager=True, help="Print the version and exit."),
        ] = False,
    ) -> None:
        """Guest-visible ABI compatibility and rollback safety for KVM/arm64 VMs."""

    roots_opt = typer.Option(
        "--root", metavar="DIR", help="A directory to look up spec names in, before the shipped catalogue."
    )
    rules_opt = typer.Option("--rules", metavar="DIR", help="A directory of extra .rule files (repeatable).")
    format_opt = typer.Option("--format", "-f", help="Output format.")
    fail_opt = typer.Option(
        "--fail-on", help="Lowest severity that makes the exit code non-zero (default: the configuration's, or warning)"
    )
    answer_fail_opt = typer.Option(
        "--fail-on",
        help="Judge a migration unsafe at this severity (default: warning) and exit non-zero when one remains "
        "(default: exit 0 once the answer is written).",
    )
    config_opt = typer.Option(
        "--config",
        metavar="FILE",
        # \\[ : rich markup would take [tool.abi-check] for a style and drop it
        help="Configuration file (default: .abi-check.yaml or pyproject.toml \\[tool.abi-check] upward).",
    )
    waivers_opt = typer.Option(
        "--waivers", metavar="FILE", help="A file of accepted findings, each with a reason (and an expiry)."
    )
    output_opt = typer.Option("--output", "-o", metavar="FILE", help="Write the report to this file instead of stdout.")

    @app.command(epilog=_examples("abi-check lint", "abi-check lint specs/hosts/my-host.yaml --root specs"))
    def lint(
        specs: Annotated[
            list[Path] | None,
            typer.Argument(
                metavar="[SPEC|DIR]...",
                help="Spec files or directories (every .yaml below); default: the shipped catalogue.",
            ),
        ] = None,
        root: Annotated[list[Path] | None, roots_opt] = None,
    ) -> None:
        """Check specs: YAML, format, references and cross-spec consistency. Reports every problem."""
        from abi_check.commands.lint import lint as run
        from abi_check.resources import catalogue_dir

        raise typer.Exit(_guard(lambda: run(specs or [catalogue_dir()], root or [])))

    @app.command()
    def schema() -> None:
        """Print the JSON Schema of the spec format (for editors and CI)."""
        import json

        from abi_check.spec.schema import json_schema

        print(json.dumps(json_schema(), indent=2))

    @app.command(
        epilog=_examples(
            "abi-check pair n1-linux-6.12-qemu-10.2 n1-linux-6.13-qemu-10.2 --both",
            "abi-check pair old.yaml new.yaml --format sarif -o pair.sarif",
        )
    )
    def pair(
        src: Annotated[
            Path,
            typer.Argument(
                metavar="SRC",
                autocompletion=_hosts,
                help="Source host: a spec file or a name (n1-linux-6.13-qemu-10.2); or a kernel (VMM, CPU) spec, "
                "checked against DST's on the same host.",
            ),
        ],
        dst: Annotated[
            Path,
            typer.Argument(
                metavar="DST",
                autocompletion=_hosts,
                help="Destination host (file or name), or a kernel (VMM, CPU) spec.",
            ),
        ],
        both: Annotated[bool, typer.Option("--both", help="Also check dst -> src (the rollback).")] = False,
        fmt: Annotated[Format, format_opt] = Format.TEXT,
        fail_on: Annotated[FailOn | None, fail_opt] = None,
        rules: Annotated[list[Path] | None, rules_opt] = None,
        root: Annotated[list[Path] | None, roots_opt] = None,
        output: Annotated[Path | None, output_opt] = None,
        config: Annotated[Path | None, config_opt] = None,
        waivers: Annotated[Path | None, waivers_opt] = None,
    ) -> None:
        """Can a VM move from SRC to DST (and back with --both)? Exit 8 fails, 4 ABI change, 0 compatible."""
        from abi_check.commands.pair import run_pair
        from abi_check.config.settings import resolve

        raise typer.Exit(
            _guard(
                lambda: run_pair(
                    src,
                    dst,
                    both=both,
                    fmt=fmt,
                    settings=resolve(config=config, rule_dirs=rules, roots=root, fail_on=fail_on, waivers=waivers),
                    output=output,
                )
            )
        )

    @app.command(
        epilog=_examples(
            "abi-check matrix --fail-on never", "abi-check matrix specs/hosts --format html -o matrix.html"
        )
    )
    def matrix(
        specs: Annotated[
            list[Path] | None,
            typer.Argument(
                help="Host specs (files or names) or directories of them; default: the shipped hosts.",
                metavar="[SPEC|NAME|DIR]...",
                autocompletion=_hosts,
            ),
        ] = None,
        fmt: Annotated[MatrixFormat, format_opt] = MatrixFormat.TEXT,
        fail_on: Annotated[FailOn | None, fail_opt] = None,
        rules: Annotated[list[Path] | None, rules_opt] = None,
        root: Annotated[list[Path] | None, roots_opt] = None,
        output: Annotated[Path | None, output_opt] = None,
        config: Annotated[Path | None, config_opt] = None,
        jobs: Annotated[
            int | None,
            typer.Option("--jobs", "-j", min=1, help="Worker processes, at most one per available CPU "
                         "(default: one per available CPU; a small matrix runs in-process)."),
        ] = None,
        findings: Annotated[
            bool | None,
            typer.Option(
                "--findings/--no-findings",
                help="Put every pair's findings in json/html reports (default: with at most 100 hosts).",
            ),
        ] = None,
    ) -> None:
        """Every host against every other: verdicts, migration domains and what separates them."""
        from abi_check.commands.matrix import run_matrix
        from abi_check.config.settings import resolve

        raise typer.Exit(
            _guard(
                lambda: run_matrix(
                    specs or [],
                    fmt=fmt,
                    settings=resolve(config=config, rule_dirs=rules, roots=root, fail_on=fail_on, waivers=None),
                    output=output,
                    jobs=jobs,
                    findings=findings,
                )
            )
        )

    @app.command()
    def baseline(
        hosts: Annotated[
            list[Path] | None,
            typer.Argument(
                metavar="[SPEC|DIR]...",
                autocompletion=_hosts,
                help="Host specs or directories of them; default: the shipped hosts.",
            ),
        ] = None,
        output_dir: Annotated[
            Path | None,
            typer.Option(
                "--output-dir", "-d", metavar="DIR", help="Write the VMM overlays and the hosts using them here."
            ),
        ] = None,
        fmt: Annotated[Format, format_opt] = Format.TEXT,
        fail_on: Annotated[FailOn | None, answer_fail_opt] = None,
        rules: Annotated[list[Path] | None, rules_opt] = None,
        root: Annotated[list[Path] | None, roots_opt] = None,
        output: Annotated[Path | None, output_opt] = None,
    ) -> None:
        """The configuration the hosts can all present and restore, and why the others cannot join."""
        from abi_check.commands.baseline.command import run_baseline
        from abi_check.resources import catalogue_dir

        raise typer.Exit(
            _guard(
                lambda: run_baseline(
                    hosts or [catalogue_dir() / "hosts"],
                    output_dir=output_dir,
                    fmt=fmt,
                    fail_on=fail_on,
                    rule_dirs=rules or [],
                    roots=root or [],
                    output=output,
                )
            )
        )

    @app.command(epilog=_examples("abi-check fence linux-6.6 linux-6.12 linux-6.13 --vmm qemu-8.2 --vmm qemu-10.2"))
    def fence(
        kernels: Annotated[
            list[str],
            typer.Argument(
                metavar="KERNEL...", autocompletion=_kernels, help="Kernel releases, oldest first (names or files)."
            ),
        ],
        vmm: Annotated[
            list[str],
            typer.Option(
                "--vmm", metavar="VMM", autocompletion=_vmms,
                help="VMM releases, oldest first (names or files; repeatable).",
            ),
        ],
        cpu: Annotated[
            list[str] | None,
            typer.Option(
                "--cpu", metavar="CPU", autocompletion=_cpus, help="Host CPU (repeatable); default: neoverse-n1."
            ),
        ] = None,
        vcpus: Annotated[int, typer.Option("--vcpus", min=1, max=4096, help="vCPUs of the VMs.")] = 16,
        fmt: Annotated[Format, format_opt] = Format.TEXT,
        fail_on: Annotated[FailOn | None, answer_fail_opt] = None,
        rules: Annotated[list[Path] | None, rules_opt] = None,
        root: Annotated[list[Path] | None, roots_opt] = None,
        output: Annotated[Path | None, output_opt] = None,
    ) -> None:
        """The earliest (kernel, VMM) from which every later combination migrates both ways, and what blocks
        each earlier one."""
        from abi_check.commands.fence import run_fence

        raise typer.Exit(
            _guard(
                lambda: run_fence(
                    kernels,
                    vmms=vmm,
                    cpus=cpu or [],
                    vcpus=vcpus,
                    fmt=fmt,
                    fail_on=fail_on,
                    rule_dirs=rules or [],
                    roots=root or [],
                    output=output,
                )
            )
        )

    @app.command(
        epilog=_examples(
            "abi-check gate --against origin/main",
            "abi-check gate --against origin/main -f github -f sarif=gate.sarif",
        )
    )
    def gate(
        against: Annotated[
            str, typer.Option("--against", metavar="REF", help="The git ref to compare with (origin/main).")
        ],
        paths: Annotated[
            list[Path] | None,
            typer.Argument(
                metavar="[DIR]...",
                help="Spec directories to gate; default: spec-roots in the configuration, or specs/.",
            ),
        ] = None,
        fleet: Annotated[
            bool,
            typer.Option("--fleet/--no-fleet", help="Also check each affected host with every other host."),
        ] = True,
        formats: Annotated[
            list[str] | None,
            typer.Option(
                "--format", "-f", metavar="F[=PATH]",
                help="Output format: text, json, markdown, sarif, junit or github. F=PATH also writes F to PATH "
                "(repeatable: one run writes every report a CI job needs).",
            ),
        ] = None,
        fail_on: Annotated[FailOn | None, fail_opt] = None,
        rules: Annotated[list[Path] | None, rules_opt] = None,
        root: Annotated[list[Path] | None, roots_opt] = None,
        output: Annotated[Path | None, output_opt] = None,
        config: Annotated[Path | None, config_opt] = None,
        waivers: Annotated[Path | None, waivers_opt] = None,
        write_waivers: Annotated[
            Path | None,
            typer.Option(
                "--write-waivers",
                metavar="FILE",
                help="Write a waiver for each finding this run reports to FILE, with an empty reason for a person "
                "to fill in (the gate refuses an empty reason): adopt the gate on a fleet with findings today.",
            ),
        ] = None,
    ) -> None:
        """Fail a change to the specs that introduces findings: upgrade, rollback and fleet pairs against REF."""
        from abi_check.commands.gate.command import run_gate
        from abi_check.config.settings import resolve
        from abi_check.report.formats import parse_formats

        def run() -> int:
            fmt, files = parse_formats(formats or [])
            return run_gate(
                against,
                paths or [],
                fmt=fmt,
                settings=resolve(config=config, rule_dirs=rules, roots=root, fail_on=fail_on, waivers=waivers),
                output=output,
                fleet=fleet,
                files=files,
                write_waivers=write_waivers,
            )

        raise typer.Exit(_guard(run))

    @app.command()
    def show(
        hosts: Annotated[
            list[Path],
            typer.Argument(metavar="HOST...", autocompletion=_hosts,
                           help="Host specs, or dumps (abi-check probe, Firecracker fingerprints)."),
        ],
        fmt: Annotated[DescribeFormat, format_opt] = DescribeFormat.TEXT,
        root: Annotated[list[Path] | None, roots_opt] = None,
        output: Annotated[Path | None, output_opt] = None,
    ) -> None:
        """What the guest on a host sees: every register, its value and where it comes from (kernel default,
        VMM write, host CPU), the vCPU features, PSCI versions and writable ID registers."""
        from abi_check.commands.describe import run_show

        raise typer.Exit(_guard(lambda: run_show(hosts, fmt=fmt, roots=root or [], output=output)))

    @app.command()
    def diff(
        a: Annotated[Path, typer.Argument(metavar="A", autocompletion=_hosts, help="A host spec.")],
        b: Annotated[Path, typer.Argument(metavar="B", autocompletion=_hosts, help="Another host spec.")],
        fmt: Annotated[DescribeFormat, format_opt] = DescribeFormat.TEXT,
        root: Annotated[list[Path] | None, roots_opt] = None,
        output: Annotated[Path | None, output_opt] = None,
    ) -> None:
        """Every difference between the guest ABIs of two hosts, whether or not a rule fires on it (exit 0)."""
        from abi_check.commands.describe import run_diff

        raise typer.Exit(_guard(lambda: run_diff(a, b, fmt=fmt, roots=root or [], output=output)))

    @app.command(
        context_settings={"allow_extra_args": True, "ignore_unknown_options": True, "help_option_names": []},
        add_help_option=False,
    )
    def probe(ctx: typer.Context) -> None:
        """Record what this host's KVM answers (registers, values, PSCI versions, bitmap bits, writable masks) as
        a JSON dump; --restore DUMP... replays other hosts' dumps (exit 8 if KVM refuses a register). Standard
        library only: also runs as python3 -m abi_check.probe. See abi-check probe --help."""
        from abi_check.probe.cli import main as probe_main

        raise typer.Exit(probe_main(list(ctx.args)))

    @app.command()
    def verify(
        args: Annotated[
            list[Path], typer.Argument(metavar="[HOST] DUMP", help="A host spec and a dump, or only a dump with "
                                       "--kernel and --cpu.")
        ],
        kernel: Annotated[
            str | None,
            typer.Option("--kernel", metavar="KERNEL", autocompletion=_kernels, help="A kernel spec (name or file)."),
        ] = None,
        cpu: Annotated[
            str | None, typer.Option("--cpu", metavar="CPU", autocompletion=_cpus, help="A CPU spec (name or file).")
        ] = None,
        fmt: Annotated[DescribeFormat, format_opt] = DescribeFormat.TEXT,
        root: Annotated[list[Path] | None, roots_opt] = None,
        output: Annotated[Path | None, output_opt] = None,
    ) -> None:
        """What the specs predict a kernel on a CPU answers, against a real KVM's dump (abi-check probe, or a
        Firecracker fingerprint): listed registers, values, PSCI versions, bitmap bits, writable masks. Exit 0
        when they agree, 8 when they differ."""
        from abi_check.commands.verify import run_verify
        from abi_check.errors import InputError

        def run() -> int:
            if len(args) not in (1, 2):
                raise InputError(None, "give a host spec and a dump, or a dump with --kernel and --cpu")
            host, dump = (args[0], args[1]) if len(args) == 2 else (None, args[0])
            return run_verify(dump, host=host, kernel=kernel, cpu=cpu, fmt=fmt, roots=root or [], output=output)

        raise typer.Exit(_guard(run))

    rules_app = typer.Typer(help="The rule catalogue, and tests of rules against their fixtures.")
    app.add_typer(rules_app, name="rules")

    @rules_app.callback(invoke_without_command=True)
    def rules_cmd(
        ctx: typer.Context,
        rules: Annotated[list[Path] | None, rules_opt] = None,
        fmt: Annotated[Format, format_opt] = Format.TEXT,
    ) -> None:
        """List the rule catalogue: id, default severity, category and summary."""
        if ctx.invoked_subcommand is not None:
            return
        from abi_check.commands.explain import list_rules

        raise typer.Exit(_guard(lambda: list_rules(rules or [], fmt)))

    @rules_app.command("test")
    def rules_test(
        fixtures: Annotated[
            Path, typer.Argument(metavar="DIR", help="Fixtures: DIR/<rule-id>/fires/{src,dst,expected}.yaml, quiet/.")
        ],
        rules: Annotated[list[Path] | None, rules_opt] = None,
        root: Annotated[list[Path] | None, roots_opt] = None,
    ) -> None:
        """Run each rule on its fixture pairs: exit 0 when every case reports what it expects, 8 when one does not.
        Every rule given with --rules must have fixtures."""
        from abi_check.commands.rules_test import run_rule_tests

        raise typer.Exit(_guard(lambda: run_rule_tests(fixtures, rules or [], root or [])))

    @app.command(epilog=_examples("abi-check explain psci-not-implemented", "abi-check rules"))
    def explain(
        rule_id: Annotated[
            str,
            typer.Argument(metavar="ID", autocompletion=_rule_ids, help="A rule id (abi-check rules lists them)."),
        ],
        rules: Annotated[list[Path] | None, rules_opt] = None,
    ) -> None:
        """Print a rule's documentation, its source and a live example from the catalogue."""
        from abi_check.commands.explain import explain as run

        raise typer.Exit(_guard(lambda: run(rule_id, rules or [])))

    return app


# pair's options that take a value, by spelling: the keyword of run_pair/resolve each fills.
_PAIR_VALUES = {
    "--format": "fmt",
    "-f": "fmt",
    "--fail-on": "fail_on",
    "--rules": "rules",
    "--root": "root",
    "--output": "output",
    "-o": "output",
    "--config": "config",
    "--waivers": "waivers",
}


def _pair_fast(argv: list[str]) -> Callable[[], int] | None:
    """``pair`` as a script or CI job runs it, without importing typer (a third of its start-up): plain
    ``--opt value`` options and two specs, every value valid. Anything else (help, ``--opt=value``, a bad
    value, an unknown option, a missing argument) is left to typer, so its usage, help and errors stay its own."""
    if not argv or argv[0] != "pair":
        return None
    from abi_check.report.formats import Format
    from abi_check.verdict.result import FailOn

    specs: list[Path] = []
    both = False
    single: dict[str, str] = {}
    many: dict[str, list[Path]] = {"rules": [], "root": []}
    args = iter(argv[1:])
    for arg in args:
        if arg == "--both":
            both = True
        elif arg in _PAIR_VALUES:
            value = next(args, None)
            if not value or value.startswith("-"):
                return None
            key = _PAIR_VALUES[arg]
            if key in many:
                many[key].append(Path(value))
            else:
                single[key] = value
        elif arg.startswith("-") or not arg:
            return None
        else:
            specs.append(Path(arg))
    if len(specs) != 2:
        return None
    if single.get("fmt", "text") not in set(Format) or single.get("fail_on", "never") not in set(FailOn):
        return None

    def run() -> int:
        from abi_check.commands.pair import run_pair
        from abi_check.config.settings import resolve

        def path(key: str) -> Path | None:
            return Path(single[key]) if key in single else None

        return run_pair(
            specs[0],
            specs[1],
            both=both,
            fmt=Format(single.get("fmt", "text")),
            settings=resolve(
                config=path("config"),
                rule_dirs=many["rules"] or None,
                roots=many["root"] or None,
                fail_on=FailOn(single["fail_on"]) if "fail_on" in single else None,
                waivers=path("waivers"),
            ),
            output=path("output"),
        )

    return run


def main() -> None:
    # --version answers before typer, rich or lark are imported.
    if sys.argv[1:] == ["--version"]:
        print(f"abi-check {__version__}")
        sys.exit(0)
    import gc

    try:
        if sys.argv[1:2] == ["pair"]:
            # Start-up makes tens of thousands of objects that live to the end (modules, classes, the two hosts,
            # the compiled rules) and next to no cyclic garbage: collecting while they are made costs ~10% of
            # the run and finds nothing. run_pair turns the collector back on before any rule runs.
            gc.disable()
        fast = _pair_fast(sys.argv[1:])
        if fast is not None:
            sys.exit(_guard(fast))
        gc.enable()
        _app()(prog_name="abi-check")
    except SystemExit:
        raise
    except KeyboardInterrupt:
        sys.exit(130)
    except BaseException as exc:  # a tool failure must never look like success
        import traceback

        traceback.print_exc()
        print(f"abi-check: internal error: {exc!r} (this is a bug; please report it)", file=sys.stderr)
        sys.exit(1)
