"""Specs: YAML and TOML text to located nodes, the spec format, the loader and the typed model.

The bottom layer. Here live the located-node readers (``yamlnodes``, ``tomlnodes``), the format declared once
(``schema``), the loader and model builder (``loader``, ``build``, ``model``), the spec roots and name resolution
(``catalogue``), the host lists commands compare (``hosts``) and KVM register ids and names (``registers``).
May import: the standard library, yaml, and the cross-cutting ``abi_check.errors`` and ``abi_check.resources``.
"""
