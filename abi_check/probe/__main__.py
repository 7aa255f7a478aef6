"""Run the probe: python3 -m abi_check.probe."""

import sys

from .cli import main

sys.exit(main())
