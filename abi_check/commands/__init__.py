"""The commands: one module (or sub-package) per ``abi-check`` command, each a function returning an exit code.

``pair``, ``matrix``, ``lint``, ``explain``, ``fence``, ``baseline/`` and ``gate/``. A command builds objects from
the layers below, runs them, and hands a reporter plain records.
May import: every layer below (``report``, ``config``, ``matrix``, ``rules``, ``verdict``, ``abi``, ``spec``).
"""
