"""Observed dumps: what a live KVM answered to the probe (or a Firecracker fingerprint), as a typed record.

A dump is JSON written by ``abi-check probe`` (docs/schema/probe.schema.json); a Firecracker
``cpu-template-helper fingerprint dump`` file is converted on reading. Either way it is read bounded, checked
for the fields the comparison uses, and every problem is an input error naming the file and the JSON path.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from abi_check.errors import InputError, Span, SpecError
from abi_check.probe import fingerprint
from abi_check.probe.dump import FORMAT, FORMAT_VERSION
from abi_check.spec.files import read_bounded

MAX_DUMP_BYTES = 32 << 20  # a full dump of five feature sets is about 300 KB


@dataclass(frozen=True, slots=True)
class ObservedVcpu:
    """One vCPU configuration the probe initialised, and what KVM answered for it."""

    name: str  # the probe's feature-set name, e.g. psci-0.2+pmu-v3
    features: frozenset[str]  # KVM_ARM_VCPU_INIT features, as the spec format names them
    values: dict[int, int | None]  # every listed register id -> KVM_GET_ONE_REG value (None: GET failed)
    psci_default: int | None
    psci_accepted: dict[int, bool] | None  # PSCI version value tried -> accepted; None: not tried
    bitmaps: dict[int, tuple[int, frozenset[int]]]  # bitmap register -> (default, accepted bit indexes)
    host_levels: dict[int, int]  # WORKAROUND register -> the level KVM reports


@dataclass(frozen=True, slots=True)
class Observed:
    path: str
    source: str  # probe | firecracker-fingerprint
    kernel_release: str
    midr: int | None
    vcpus: tuple[ObservedVcpu, ...]
    writable_masks: dict[int, int] | None  # None: not recorded (kernel before 6.7, or a fingerprint)
    absent: tuple[str, ...]  # what the source could not record

    def vcpu(self, features: frozenset[str]) -> ObservedVcpu | None:
        return next((v for v in self.vcpus if v.features == features), None)


def load_observed(path: Path, shown: str) -> Observed:
    """A probe dump or a Firecracker fingerprint; input errors (exit 2) for anything else."""
    document = _read_json(path, shown)
    if isinstance(document, dict) and "guest_cpu_config" in document:
        try:
            document = fingerprint.import_fingerprint(document)
        except fingerprint.FingerprintError as exc:
            raise SpecError(Span(shown, 1, 1), str(exc)) from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise SpecError(Span(shown, 1, 1), "not an abi-check probe dump (no \"format\": \"abi-check-probe-dump\")",
                        "write it with abi-check probe -o FILE, or give a Firecracker fingerprint file")
    if document.get("format_version") != FORMAT_VERSION:
        raise SpecError(Span(shown, 1, 1), f"probe dump format {document.get('format_version')!r} is not "
                        f"{FORMAT_VERSION}", "write it again with this version of abi-check probe")
    try:
        return _observed(document, shown)
    except (KeyError, TypeError, ValueError) as exc:
        raise SpecError(Span(shown, 1, 1), f"malformed probe dump: {exc!r}",
                        "check it against docs/schema/probe.schema.json") from None


def _read_json(path: Path, shown: str) -> Any:
    data = read_bounded(path, shown, MAX_DUMP_BYTES, SpecError, "dump", "a dump is what abi-check probe wrote")
    try:
        return json.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise SpecError(Span(shown, 1, 1), "not UTF-8 JSON") from None
    except json.JSONDecodeError as exc:
        raise SpecError(Span(shown, exc.lineno, exc.colno), f"invalid JSON: {exc.msg}") from None


def _hex(text: str | None) -> int | None:
    return None if text is None else int(text, 16)


def _observed(document: dict[str, Any], shown: str) -> Observed:
    provenance = document["provenance"]
    vcpus = []
    for vcpu in document["vcpus"]:
        if not vcpu.get("supported", True):
            continue
        values = {int(r["id"], 16): _hex(r["value"]) for r in vcpu["registers"]}
        psci = vcpu.get("psci")
        accepted = None if psci is None else {int(t["value"], 16): bool(t["accepted"]) for t in psci["tries"]}
        bitmaps = {int(b["id"], 16): (int(b["default"], 16), frozenset(b["accepted_bits"]))
                   for b in vcpu.get("bitmaps") or []}
        levels = {int(w["id"], 16): int(w["host_level"]) for w in vcpu.get("workarounds") or []}
        vcpus.append(ObservedVcpu(
            name=str(vcpu["name"]),
            features=frozenset(str(f) for f in vcpu["features"]),
            values=values,
            psci_default=None if psci is None else _hex(psci["default"]),
            psci_accepted=accepted,
            bitmaps=bitmaps,
            host_levels=levels,
        ))
    if not vcpus:
        raise InputError(Span(shown, 1, 1), "the dump has no vCPU KVM accepted", "probe a host where KVM works")
    masks = document.get("writable_masks")
    return Observed(
        path=shown,
        source=str(provenance["source"]),
        kernel_release=str(provenance.get("kernel_release") or "unknown"),
        midr=_hex(provenance.get("midr_el1")),
        vcpus=tuple(vcpus),
        writable_masks=None if masks is None else {int(m["id"], 16): int(m["mask"], 16) for m in masks},
        absent=tuple(str(a) for a in provenance.get("absent", ())),
    )
