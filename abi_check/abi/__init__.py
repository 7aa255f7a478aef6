"""The effective guest ABI of a host: what the guest sees, what its VMM saves, what its kernel accepts.

``effective`` derives it from a host's kernel, VMM and CPU; ``views`` are the typed, read-only views rules read;
``facets`` names what a rule reads of a host, so equal facets give equal results.
May import: ``abi_check.spec`` and the cross-cutting modules.
"""
