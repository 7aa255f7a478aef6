"""The rule language and the engine: grammar loading, parser, compiler, rule loading and pair evaluation.

``parser`` turns a ``.rule`` file into a syntax tree (grammar in ``grammars/rule.lark``, trees cached by
``cache``); ``compiler`` turns it into closures over the views; ``engine`` loads a rule set and checks a pair.
The shipped rules are data in ``builtin/``, one file per rule, named after its id.
May import: ``abi_check.verdict``, ``abi_check.abi``, ``abi_check.spec`` and the cross-cutting modules.
"""
