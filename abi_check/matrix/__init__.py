"""The compatibility matrix: every directional pair of many hosts, each rule evaluated once per distinct input.

``tables`` evaluates each rule once per distinct (source facets, destination facets); ``grid`` assembles the
cells and outcomes; ``domains`` groups hosts among which every move works both ways.
May import: ``abi_check.rules`` and everything below it.
"""
