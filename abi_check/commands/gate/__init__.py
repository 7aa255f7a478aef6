"""``abi-check gate``: the findings a change to the specs introduces, judged against a git ref.

``command`` runs it; ``gitref`` reads spec files at a ref with git plumbing; ``tree`` loads one side of the
change; ``plan`` chooses the affected hosts and pairs and what each introduces.
"""
