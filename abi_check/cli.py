"""The command line: parse options, call one function that returns an exit code. No logic here."""

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

from abi_check import __version__

if TYPE_CHECKING:
    import typer


def _app() -> "typer.Typer":
    import typer

    app = typer.Typer(
        name="abi-check",
        help="Guest-visible ABI compatibility and rollback safety for KVM/arm64 VMs.",
        no_args_is_help=True,
        add_completion=False,
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

    Roots = Annotated[
        list[Path],
        typer.Option("--root", help="A directory to look up spec names in (before the shipped catalogue)."),
    ]

    @app.command()
    def lint(
        specs: Annotated[list[Path], typer.Argument(help="Spec files or directories (every .yaml below).")],
        root: Roots = [],  # noqa: B006 - typer reads the default, never mutates it
    ) -> None:
        """Check specs: YAML, format, references and cross-spec consistency. Reports every problem."""
        from abi_check.lint import lint as run

        raise typer.Exit(run(specs, root))

    @app.command()
    def schema() -> None:
        """Print the JSON Schema of the spec format (for editors and CI)."""
        import json

        from abi_check.schema import json_schema

        print(json.dumps(json_schema(), indent=2))

    return app


def main() -> None:
    # --version answers before typer, rich or lark are imported.
    if sys.argv[1:] == ["--version"]:
        print(f"abi-check {__version__}")
        sys.exit(0)
    try:
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
