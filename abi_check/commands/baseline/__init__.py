"""``abi-check baseline``: the common configuration a set of hosts can all present and restore, written as specs.

``command`` runs it; ``common`` computes the common guest configuration; ``overlay`` writes and applies VMM
overlays; ``reconcile`` finds the largest reconcilable sets; ``obstacles`` says why a finding survives.
"""
