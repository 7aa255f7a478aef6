"""``verify`` reports: where the specs and a real KVM disagree, as text (grouped) or JSON (every difference)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from itertools import groupby

from abi_check import __version__
from abi_check.abi.verify import Mismatch

SHOWN_NAMES = 12  # registers named per listing line of the text report; JSON has them all
LISTING = {"listed-by-kvm-only": "KVM lists, the specs do not", "listed-by-spec-only": "the specs list, KVM does not"}


def verify_text(title: str, mismatches: Sequence[Mismatch]) -> str:
    out = [f"{title}: {len(mismatches)} difference(s)" if mismatches else f"{title}: the specs match the dump"]
    for vcpu, group in groupby(mismatches, key=lambda m: m.vcpu):
        items = list(group)
        out.append(f"  vCPU {vcpu}:")
        for kind, label in LISTING.items():
            names = [m.subject for m in items if m.kind == kind]
            if names:
                more = f", ... ({len(names) - SHOWN_NAMES} more)" if len(names) > SHOWN_NAMES else ""
                out.append(f"    {len(names)} registers {label}: {', '.join(names[:SHOWN_NAMES])}{more}")
        for m in items:
            if m.kind in LISTING:
                continue
            where = f" ({m.where})" if m.where is not None else ""
            out.append(f"    {m.kind} {m.subject}: specs {m.spec}{where}, KVM {m.kvm}")
    return "\n".join(out) + "\n"


def verify_json(title: str, dump: str, spec: dict[str, str], mismatches: Sequence[Mismatch]) -> str:
    data = {"command": "verify", "version": __version__, "title": title, "dump": dump, "spec": spec,
            "differences": [m.to_data() for m in mismatches]}
    return json.dumps(data, indent=2) + "\n"
