"""Entry point for ``python -m abi_check``."""

from abi_check.cli import main

main()
