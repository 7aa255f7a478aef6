"""Waivers: accepted findings, each with a reason and an optional expiry; stale and expired ones are reported."""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from abi_check.errors import ConfigError, InputError, InputErrors, Span, SpecError
from abi_check.spec.shapes import ListOf, Obj, Str, Type
from abi_check.verdict.findings import INTERNAL_ERROR, Finding
from abi_check.verdict.result import Result, Waived, WaiverNote

# gate names the REF version of a host or spec NAME@base. source: and destination: match a name exactly (write
# NAME@base for the REF version); hosts: matches either version.
BASE_SUFFIX = "@base"
MATCH_KEYS = ("source", "destination", "hosts", "subject", "register", "bit")


class WaiverError(ConfigError):
    kind = "waiver"


class Date(Type):
    description = "a date, YYYY-MM-DD"

    def check(self, node: Any, errors: list[SpecError]) -> None:
        if _date(node.value) is None:
            errors.append(SpecError(node.span, f"expected a date, found {node.value!r}", "write YYYY-MM-DD"))

    def schema(self) -> dict[str, Any]:
        return {"type": "string", "format": "date"}


def _date(value: object) -> datetime.date | None:
    if isinstance(value, datetime.date) and not isinstance(value, datetime.datetime):
        return value
    if isinstance(value, str):
        try:
            return datetime.date.fromisoformat(value.strip())
        except ValueError:
            return None
    return None


_NAME = Str("a host name")
ENTRY = Obj(
    {
        "rule": Str("the rule id", pattern=r"^[a-z0-9][a-z0-9-]*$"),
        "fingerprint": Str("a finding's 12-hex fingerprint", pattern=r"^[0-9a-f]{12}$",
                           hint="quote the 12 hexadecimal digits of a finding's fingerprint (JSON and SARIF carry it): "
                           "fingerprint: \"0123456789ab\""),
        "source": _NAME,
        "destination": _NAME,
        "hosts": ListOf(_NAME, "hosts of the pair, either side, either version (NAME and NAME@base)"),
        "subject": Str("the register, bit, field or feature: VENDOR_HYP_BMAP.PTP"),
        "register": Str("the register part of the subject: VENDOR_HYP_BMAP"),
        "bit": Str("the part after the dot: a bitmap bit or an ID-register field"),
        "reason": Str("why this finding is accepted"),
        "expires": Date(),
    },
    required=("reason",),
)
FILE = Obj({"waivers": ListOf(ENTRY, "accepted findings", unique=False)}, required=("waivers",))


def _plain(name: str) -> str:
    return name.removesuffix(BASE_SUFFIX)


@dataclass(frozen=True, slots=True)
class Waiver:
    """An accepted finding: which one, why, and until when."""

    span: Span
    reason: str
    rule: str | None = None
    fingerprint: str | None = None
    source: str | None = None
    destination: str | None = None
    hosts: tuple[str, ...] = ()
    subject: str | None = None
    register: str | None = None
    bit: str | None = None
    expires: datetime.date | None = None

    def matches(self, f: Finding) -> bool:
        if f.rule == INTERNAL_ERROR:
            return False  # a tool failure is never accepted
        if self.fingerprint is not None and f.fingerprint != self.fingerprint:
            return False
        if self.rule is not None and f.rule != self.rule:
            return False
        register, _, bit = f.subject.partition(".")
        return (
            self._names(f.source, f.destination)
            and (self.subject is None or self.subject == f.subject)
            and (self.register is None or self.register == register)
            and (self.bit is None or self.bit == bit)
        )

    def _names(self, source: str, destination: str) -> bool:
        return (
            (self.source is None or self.source == source)
            and (self.destination is None or self.destination == destination)
            and all(h in (_plain(source), _plain(destination)) for h in self.hosts)
        )

    def in_scope(self, pairs: Iterable[tuple[str, str]]) -> bool:
        """Whether one of the pairs evaluated is a pair this waiver names (a fingerprint names no pair)."""
        return any(self._names(src, dst) for src, dst in pairs)

    def expired(self, today: datetime.date) -> bool:
        """A waiver holds through its expiry date and stops the day after."""
        return self.expires is not None and today > self.expires

    def describe(self) -> str:
        parts = [f"{k}={v}" for k, v in (("rule", self.rule), ("fingerprint", self.fingerprint)) if v]
        parts += [f"{k}={getattr(self, k)}" for k in MATCH_KEYS if k != "hosts" and getattr(self, k)]
        if self.hosts:
            parts.append(f"hosts={','.join(self.hosts)}")
        return " ".join(parts)


def load_waivers(path: Path, rule_ids: Sequence[str]) -> list[Waiver]:
    """Every waiver of a file; all problems are raised together, located."""
    from abi_check.config.file import as_config_errors
    from abi_check.errors import decode_utf8
    from abi_check.spec.files import read_bounded
    from abi_check.spec.loader import display_path
    from abi_check.spec.yamlnodes import MAX_FILE_BYTES, load_text

    shown = display_path(path)
    data = read_bounded(path, shown, MAX_FILE_BYTES, WaiverError, "waiver")
    if not decode_utf8(data, shown, WaiverError).strip():
        raise WaiverError(Span(shown, 1, 1), "the waiver file is empty", "it holds 'waivers:' and a list")
    try:
        node = load_text(data, shown)
    except SpecError as exc:
        raise WaiverError(exc.span, exc.message, exc.hint) from None
    shape: list[SpecError] = []
    FILE.check(node, shape)
    if shape:
        raise as_config_errors(shape, WaiverError)
    waivers: list[Waiver] = []
    errors: list[InputError] = []
    entries = node.get("waivers")
    assert entries is not None and isinstance(entries.value, list)
    for entry in entries.value:
        waiver = _waiver(entry)
        errors += _check(waiver, entry, rule_ids)
        waivers.append(waiver)
    if errors:
        raise InputErrors(errors)
    return waivers


def _waiver(entry: Any) -> Waiver:
    def text(key: str) -> str | None:
        found = entry.get(key)
        return None if found is None else str(found.value)

    hosts = entry.get("hosts")
    expires = entry.get("expires")
    return Waiver(
        span=entry.span,
        reason=str(entry.get("reason").value).strip(),
        rule=text("rule"),
        fingerprint=text("fingerprint"),
        source=text("source"),
        destination=text("destination"),
        hosts=tuple(str(h.value) for h in hosts.value) if hosts is not None else (),
        subject=text("subject"),
        register=text("register"),
        bit=text("bit"),
        expires=_date(expires.value) if expires is not None else None,
    )


def _check(waiver: Waiver, entry: Any, rule_ids: Sequence[str]) -> list[InputError]:
    errors: list[InputError] = []
    if not waiver.reason:
        errors.append(WaiverError(entry.get("reason").span, "the reason is empty",
                                  "say why this finding is accepted: reviewers read it"))
    if waiver.fingerprint is None and (waiver.rule is None or not any(entry.get(k) for k in MATCH_KEYS)):
        errors.append(WaiverError(
            entry.span,
            "a waiver names what it accepts: a fingerprint, or a rule with source, destination, hosts, subject, "
            "register or bit",
            "to turn a rule off everywhere, use 'disable:' in the configuration instead",
        ))
    if waiver.rule == INTERNAL_ERROR:
        errors.append(WaiverError(entry.get("rule").span, "internal-error cannot be waived",
                                  "a rule that crashes always fails the run with exit code 1"))
    elif waiver.rule is not None and waiver.rule not in rule_ids:
        import difflib
        close = difflib.get_close_matches(waiver.rule, rule_ids, n=1)
        hint = f"did you mean '{close[0]}'?" if close else "abi-check rules lists the rule ids"
        errors.append(WaiverError(entry.get("rule").span, f"no rule '{waiver.rule}'", hint))
    return errors


def apply_waivers(
    result: Result,
    waivers: Sequence[Waiver],
    today: datetime.date,
    *,
    seen: Iterable[Finding] = (),
    evaluated: Iterable[tuple[str, str]] | None = None,
) -> Result:
    """Move waived findings out of the counted ones and note stale and expired waivers.

    ``seen`` are findings the run evaluated but does not report (gate: those already present at the ref); a
    waiver that matches one is in use, not stale. A waiver is stale only when a pair it names was evaluated.
    """
    matched: set[int] = set()  # waivers that match a finding of this run, whether they waive it or not
    counted_again: dict[int, int] = {}  # expired waivers: how many findings count because of them
    pairs = []
    for pair in result.pairs:
        keep: list[Finding] = []
        waived = list(pair.waived)
        for finding in pair.findings:
            matching = [i for i, w in enumerate(waivers) if w.matches(finding)]
            matched.update(matching)
            valid = [i for i in matching if not waivers[i].expired(today)]
            if not valid:
                keep.append(finding)
                for i in matching:
                    counted_again[i] = counted_again.get(i, 0) + 1
                continue
            w = waivers[valid[0]]
            waived.append(Waived(finding, w.reason, w.span, w.expires.isoformat() if w.expires else None))
        pairs.append(dataclasses.replace(pair, findings=tuple(keep), waived=tuple(waived)))
    for finding in seen:
        matched.update(i for i, w in enumerate(waivers) if w.matches(finding))
    scope = list(evaluated) if evaluated is not None else [(p.source, p.destination) for p in result.pairs]
    notes: list[WaiverNote] = []
    for i, waiver in enumerate(waivers):
        what = waiver.describe()
        if i in counted_again:
            again = f"the {counted_again[i]} finding(s) it matched count again (reason was: {waiver.reason})"
            notes.append(WaiverNote("expired", waiver.span, f"{what} expired on {waiver.expires}: {again}"))
        elif i in matched and waiver.expired(today):
            notes.append(WaiverNote("expired", waiver.span, f"{what} expired on {waiver.expires} and waives nothing "
                                    "(what it matches is waived by another waiver or not counted): remove it"))
        elif i not in matched and (waiver.fingerprint is not None or waiver.in_scope(scope)):
            also = f" (it also expired on {waiver.expires})" if waiver.expired(today) else ""
            notes.append(WaiverNote("stale", waiver.span, f"{what} matches no finding any more; remove it{also}"))
    return dataclasses.replace(result, pairs=tuple(pairs), waiver_notes=tuple(result.waiver_notes) + tuple(notes))


WRITTEN_HEADER = """\
# Written by abi-check gate --write-waivers: the findings of this run, accepted as they are today.
# Every reason is empty on purpose: the gate refuses this file until a person writes, for each waiver, why the
# finding is acceptable (or deletes the waiver). Add 'expires: YYYY-MM-DD' to revisit one (docs/gate.md).
waivers:
"""


def waiver_text(findings: Sequence[Finding]) -> str:
    """A waiver file accepting exactly these findings (by rule, both hosts and subject), reasons left empty."""
    import json

    out = [WRITTEN_HEADER]
    by_rule: dict[str, list[Finding]] = {}
    for f in findings:
        if f.rule != INTERNAL_ERROR:
            by_rule.setdefault(f.rule, []).append(f)
    for rule, group in sorted(by_rule.items()):
        out.append(f"  # {rule}: {len(group)} finding(s)\n")
        for f in group:
            # JSON strings are YAML double-quoted scalars: whatever a spec named, it stays one value on one line.
            out.append(f"  - rule: {json.dumps(rule)}\n")
            out.append(f"    source: {json.dumps(f.source)}\n")
            out.append(f"    destination: {json.dumps(f.destination)}\n")
            if f.subject:
                out.append(f"    subject: {json.dumps(f.subject)}\n")
            out.append('    reason: ""\n')
    if not by_rule:
        out.append("  []\n")
    return "".join(out)
