"""Reports: one module per output format, and the plumbing that writes them.

``formats`` maps a format to its render function; each format module renders a whole result (``text``,
``json``, ``markdown``, ``sarif``, ``junit``, ``github``), a matrix (``matrix_*``), a baseline or a fence.
Commands hand reporters plain records (``matrix_report``, ``baseline``, ``fence``); ``emit`` and ``output`` write
them whole, ``progress`` draws a progress bar on a terminal.
May import: ``abi_check.config`` and everything below it; never a command.
"""
