"""What a run is configured with: the configuration file, waivers, the rule policy and the resolved settings.

``file`` reads ``.abi-check.yaml`` or ``[tool.abi-check]``; ``waivers`` reads and applies waiver files; ``policy``
says which rules run at what severity; ``settings`` merges command-line options over the file over defaults.
May import: ``abi_check.matrix``, ``abi_check.rules`` and everything below them; never a reporter or a command.
"""
