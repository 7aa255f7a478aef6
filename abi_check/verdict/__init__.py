"""What a check concludes: findings, the result of a run, the failure threshold and the exit code it maps to.

Plain, totally ordered records that every later layer passes around; no evaluation and no formatting here.
May import: ``abi_check.abi``, ``abi_check.spec`` and the cross-cutting modules (today only ``errors`` and
``exitcodes``).
"""
