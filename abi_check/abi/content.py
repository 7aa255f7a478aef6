"""A number per distinct content of a long-lived object, worked out once per object.

Spec layouts and views' fields are shared objects that the matrix compares again and again; hashing a dataclass
by content walks all its fields every time, so each object's content is numbered once, by identity.
"""

from __future__ import annotations

from collections.abc import Hashable

_BY_ID: dict[int, tuple[Hashable, int]] = {}  # id of an object -> (the object, kept alive; its content's number)
_CONTENTS: dict[tuple[type, Hashable], int] = {}


def content_number(obj: Hashable) -> int:
    """A number for an object's type and content, equal exactly for equal objects of one type."""
    found = _BY_ID.get(id(obj))
    if found is None or found[0] is not obj:
        found = _BY_ID[id(obj)] = (obj, _CONTENTS.setdefault((type(obj), obj), len(_CONTENTS)))
    return found[1]
