"""Each lab replay against what ``abi-check pair`` predicts for it, from the catalogue's specs.

A replay restores every register of a source dump on a fresh vCPU of a destination kernel (the lab's
save-everything VMM, ``lab/specs/vmms/lab-replay*.yaml``). The prediction is ``pair`` for the same move:
source host = (the catalogue's spec of the source kernel, that VMM with the feature set's vCPU features, the
catalogue's spec of QEMU's emulated CPU), destination likewise. They agree when the registers the real kernel
refused are exactly the registers of ``pair``'s error findings. A disagreement fails CI unless
``lab/accepted.yaml`` lists it with a reason.

The same file holds the other half: every dump the catalogue claims to describe (the lab's, and the real
Firecracker fingerprints in ../shared/data) against ``abi-check verify`` of its kernel and CPU specs; accepted
differences are glob patterns over ``DUMP [VCPU] KIND SUBJECT`` with a reason.

Run ``python3 lab/agreement.py`` for the tables (``--update-doc`` writes them into docs/ground-truth.md).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

LAB = Path(__file__).resolve().parent
REPO = LAB.parent
RESULTS = LAB / "out" / "results.json"
ACCEPTED = LAB / "accepted.yaml"
DOC = REPO / "docs" / "ground-truth.md"
BEGIN_MARK, END_MARK = "<!-- agreement:begin -->", "<!-- agreement:end -->"

# The probe's feature sets, as the lab's VMM profiles that ask for the same vCPU features.
VMM_OF = {
    "psci-0.2": "lab-replay",
    "psci-0.1": "lab-replay-psci-0.1",
    "psci-0.2+pmu-v3": "lab-replay-pmu-v3",
    "psci-0.2+sve": "lab-replay-sve",
    "psci-0.2+ptrauth": "lab-replay-ptrauth",
    "psci-0.2+pmu-v3+sve+ptrauth": "lab-replay-all",
}
# QEMU's emulated CPUs, as the catalogue describes them.
CPU_OF = {"max": "qemu-max", "neoverse-n1": "qemu-neoverse-n1"}
# The host kernel's mode shows in what KVM exposes: in nVHE mode the guest sees ID_AA64MMFR1_EL1.VH = 0.
CPU_OF_NVHE = {"max": "qemu-max-nvhe"}
DUMPS = LAB / "out" / "dumps"
FINGERPRINTS = REPO.parent / "shared" / "data" / "firecracker-fingerprints"
# The real hosts of the fingerprints (README there), as the catalogue describes their CPUs.
FINGERPRINT_CPU = {"NEOVERSE_N1": "neoverse-n1", "NEOVERSE_V1": "neoverse-v1", "NEOVERSE_V2": "neoverse-v2"}

Json = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Check:
    """One replay of one feature set: what KVM refused, what pair predicted, and whether they agree."""

    source: str
    destination: str
    feature_set: str
    refused: dict[str, str]  # register name -> errno, as the real kernel answered
    predicted: dict[str, str]  # register name -> the rules whose error findings name it
    unmodelled: str = ""  # why no prediction could be made (a kernel or CPU the catalogue lacks)

    @property
    def key(self) -> str:
        return f"{self.source} -> {self.destination} [{self.feature_set}]"

    @property
    def missed(self) -> list[str]:
        """Refused for real, not predicted: the false "compatible" this check exists to catch."""
        return sorted(set(self.refused) - set(self.predicted))

    @property
    def invented(self) -> list[str]:
        """Predicted, not refused: a false failure."""
        return sorted(set(self.predicted) - set(self.refused))

    @property
    def agrees(self) -> bool:
        return not self.unmodelled and not self.missed and not self.invented


def kernel_spec(point_release: str, label: str, names: set[str]) -> str | None:
    """The most specific catalogue kernel for a lab kernel: its point release (linux-6.12.118) or its line."""
    for name in (f"linux-{point_release}", f"linux-{label}"):
        if name in names:
            return name
    return None


def cpu_spec(boot: Json) -> str | None:
    """The catalogue's spec of the CPU a lab boot ran on, as KVM in that boot's mode sees it."""
    if boot.get("mode") == "nvhe" and boot["cpu"] in CPU_OF_NVHE:
        return CPU_OF_NVHE[boot["cpu"]]
    return CPU_OF.get(boot["cpu"])


def catalogue_names() -> set[str]:
    from abi_check.resources import catalogue_dir

    return {p.stem for p in (catalogue_dir() / "kernels").glob("*.yaml")} | {
        p.stem for p in (catalogue_dir() / "cpus").glob("*.yaml")
    }


def checks(results: Json) -> Iterator[Check]:
    """Every cross-kernel replay of the lab, per feature set (self-replays are the lab's own control)."""
    from abi_check.abi.effective import effective_abi
    from abi_check.abi.views import HostView
    from abi_check.resources import catalogue_dir
    from abi_check.rules.engine import check_pair, load_rules
    from abi_check.spec import registers as regs
    from abi_check.spec.catalogue import SpecRoots
    from abi_check.spec.loader import SpecLoader
    from abi_check.verdict.findings import Severity

    rules = load_rules()
    names = catalogue_names()
    boots = {b["name"]: b for b in results["boots"]}
    releases = {k["label"]: k["point_release"] for k in results["kernels"]}
    with tempfile.TemporaryDirectory(prefix="abi-check-agreement-") as tmp:
        hosts = Path(tmp)
        loader = SpecLoader(SpecRoots([hosts, LAB / "specs", catalogue_dir()]))

        def host(boot_name: str, feature_set: str) -> Any:
            boot = boots[boot_name]
            kernel = kernel_spec(releases[boot["kernel"]], boot["kernel"], names)
            cpu = cpu_spec(boot)
            if kernel is None or cpu is None or cpu not in names:
                raise LookupError(f"no catalogue spec for kernel {boot['kernel']} ({releases[boot['kernel']]})"
                                  if kernel is None else f"no catalogue spec for QEMU's {boot['cpu']} CPU")
            name = f"{boot_name}-{feature_set}".replace("+", "-").replace(".", "-").lower()
            path = hosts / f"{name}.yaml"
            path.write_text(f"abi-check: 1\nkind: host\nname: {name}\nsource: lab\nkernel: {kernel}\n"
                            f"vmm: {VMM_OF[feature_set]}\ncpu: {cpu}\nvcpus: 2\n", encoding="utf-8")
            return HostView(effective_abi(loader.load_host(path)))

        for pair in results["pairs"]:
            if pair["source"] == pair["destination"]:
                continue
            for feature_set, replay in sorted(pair["feature_sets"].items()):
                refused = {_name(r["name"]): r["errno"] for r in replay["refused"]}
                if replay["init_errno"]:
                    refused["vCPU init"] = replay["init_errno"]
                try:
                    src, dst = host(pair["source"], feature_set), host(pair["destination"], feature_set)
                except LookupError as exc:
                    yield Check(pair["source"], pair["destination"], feature_set, refused, {}, str(exc))
                    continue
                predicted: dict[str, list[str]] = {}
                for finding in check_pair(rules, src, dst):
                    if finding.severity is Severity.ERROR:
                        predicted.setdefault(_register(finding.subject, regs), []).append(finding.rule)
                yield Check(pair["source"], pair["destination"], feature_set, refused,
                            {k: ", ".join(sorted(set(v))) for k, v in predicted.items()})


def _name(kvm_name: str) -> str:
    """The probe names firmware registers as KVM does (KVM_REG_ARM_PSCI_VERSION); the catalogue drops the
    prefix (PSCI_VERSION)."""
    return kvm_name.removeprefix("KVM_REG_ARM_")


def _register(subject: str, regs: Any) -> str:
    """The register a finding is about: its subject, or the register part of REGISTER.FIELD / REGISTER.BIT."""
    for candidate in (subject, subject.split(".")[0], re.split(r"[ :]", subject)[0]):
        try:
            return str(regs.register_name(regs.register_id(candidate)))
        except ValueError:
            continue
    return f"(no register: {subject or 'empty subject'})"


def _glob(text: str, pattern: str) -> bool:
    """Whether ``text`` matches ``pattern``, where only ``*`` is special (brackets are literal, as in the keys)."""
    return re.fullmatch(".*".join(re.escape(part) for part in pattern.split("*")), text) is not None


def _accepted_file() -> dict[str, Any]:
    import yaml

    if not ACCEPTED.is_file():
        return {}
    data = yaml.safe_load(ACCEPTED.read_text(encoding="utf-8")) or {}
    return data if isinstance(data, dict) else {}


@dataclass(frozen=True, slots=True)
class Excuse:
    """An accepted disagreement of replays: the checks it matches and the registers it excuses, with why."""

    pattern: str
    missed: frozenset[str]
    invented: frozenset[str]
    reason: str

    def covers(self, check: Check) -> bool:
        return (not check.unmodelled and _glob(check.key, self.pattern)
                and set(check.missed) <= self.missed and set(check.invented) <= self.invented)


def excuses() -> list[Excuse]:
    return [Excuse(str(k), frozenset(v.get("missed", ())), frozenset(v.get("invented", ())), str(v["reason"]))
            for k, v in (_accepted_file().get("replays") or {}).items()]


def accepted(section: str = "verify") -> dict[str, str]:
    """Accepted differences of a section whose entries are ``pattern: reason``."""
    return {str(k): str(v).strip() for k, v in (_accepted_file().get(section) or {}).items()}


def excused(check: Check, all_excuses: Sequence[Excuse]) -> Excuse | None:
    return next((e for e in all_excuses if e.covers(check)), None)


@dataclass(frozen=True, slots=True)
class Verified:
    """One dump against the catalogue's specs of its kernel and CPU."""

    dump: str
    kernel: str
    cpu: str
    differences: tuple[str, ...]  # "DUMP [VCPU] KIND SUBJECT: specs X, KVM Y"

    def unaccepted(self, patterns: dict[str, str]) -> list[str]:
        return [d for d in self.differences if not any(_glob(d.split(": ")[0], p) for p in patterns)]


def described_dumps(results: Json | None) -> list[tuple[Path, str, str]]:
    """(dump, kernel spec, CPU spec) for every dump there is beside the repository: the lab's and the real
    fingerprints, each with the catalogue specs that claim to describe it."""
    names = catalogue_names()
    out = []
    if results is not None and DUMPS.is_dir():
        releases = {k["label"]: k["point_release"] for k in results["kernels"]}
        for boot in results["boots"]:
            path = DUMPS / f"{boot['name']}.json"
            kernel = kernel_spec(releases[boot["kernel"]], boot["kernel"], names)
            cpu = cpu_spec(boot)
            if path.is_file() and kernel is not None and cpu in names:
                out.append((path, kernel, cpu))
    for path in sorted(FINGERPRINTS.glob("fingerprint_ARM_*host.json")) if FINGERPRINTS.is_dir() else []:
        match = re.match(r"fingerprint_ARM_(\w+?)_(\d+\.\d+)host", path.name)
        if match is None:
            continue
        from abi_check.spec.fromdump import nearest_kernel
        from abi_check.spec.observed import load_observed

        release = load_observed(path, path.name).kernel_release
        kernel = nearest_kernel(release, names)
        if kernel is not None and match.group(1) in FINGERPRINT_CPU:
            out.append((path, kernel, FINGERPRINT_CPU[match.group(1)]))
    return out


def verified(results: Json | None) -> list[Verified]:
    from abi_check.abi.verify import verify
    from abi_check.resources import catalogue_dir
    from abi_check.spec.catalogue import SpecRoots
    from abi_check.spec.loader import SpecLoader
    from abi_check.spec.model import Cpu, Kernel, Kind
    from abi_check.spec.observed import load_observed

    loader = SpecLoader(SpecRoots([catalogue_dir()]))
    out = []
    for path, kernel_name, cpu_name in described_dumps(results):
        kernel = loader.load(catalogue_dir() / "kernels" / f"{kernel_name}.yaml", Kind.KERNEL)
        cpu = loader.load(catalogue_dir() / "cpus" / f"{cpu_name}.yaml", Kind.CPU)
        assert isinstance(kernel, Kernel) and isinstance(cpu, Cpu)
        diffs = tuple(f"{path.name} [{m.vcpu}] {m.kind} {m.subject}: specs {m.spec}, KVM {m.kvm}"
                      for m in sorted(verify(kernel, cpu, load_observed(path, path.name))))
        out.append(Verified(path.name, kernel_name, cpu_name, diffs))
    return out


def verify_table(all_verified: Sequence[Verified], patterns: dict[str, str]) -> str:
    lines = ["| dump | kernel spec | CPU spec | differences | not accepted |", "|---|---|---|---|---|"]
    for v in all_verified:
        lines.append(f"| {v.dump} | {v.kernel} | {v.cpu} | {len(v.differences)} | {len(v.unaccepted(patterns))} |")
    lines += ["", "Accepted differences (`lab/accepted.yaml`, section `verify`):", ""]
    lines += [f"- `{pattern}`: {' '.join(reason.split())}" for pattern, reason in patterns.items()] or ["- none"]
    return "\n".join(lines)


def table(all_checks: Sequence[Check], all_excuses: Sequence[Excuse]) -> str:
    """One row per replay and outcome: feature sets with the same refusals and prediction share a row."""
    rows: dict[tuple[str, str, str, str], list[Check]] = {}
    for c in all_checks:
        real = ", ".join(f"{k} {v}" for k, v in sorted(c.refused.items())) or "none"
        said = c.unmodelled or ", ".join(f"{k} ({v})" for k, v in sorted(c.predicted.items())) or "none"
        rows.setdefault((f"{c.source} -> {c.destination}", real, said, _verdict(c, all_excuses)), []).append(c)
    lines = ["| replay | feature sets | refused by the real kernel | predicted by `abi-check pair` | agree? |",
             "|---|---|---|---|---|"]
    for (move, real, said, verdict), group in rows.items():
        sets = ", ".join(c.feature_set for c in group)
        lines.append(f"| {move} | {sets} | {real} | {said} | {verdict} |")
    agree = sum(c.agrees for c in all_checks)
    accepted_count = sum(not c.agrees and excused(c, all_excuses) is not None for c in all_checks)
    lines += ["", f"{agree} of {len(all_checks)} replays (one per feature set) agree; "
              f"{accepted_count} disagreements accepted (`lab/accepted.yaml`):", ""]
    lines += [f"- `{e.pattern}` excuses {', '.join(sorted(e.missed | e.invented))}: {' '.join(e.reason.split())}"
              for e in all_excuses]
    return "\n".join(lines)


def _verdict(check: Check, all_excuses: Sequence[Excuse]) -> str:
    if check.agrees:
        return "yes"
    excuse = excused(check, all_excuses)
    return f"accepted (`{excuse.pattern}`)" if excuse is not None else "**no**"


def update_doc(text: str) -> None:
    doc = DOC.read_text(encoding="utf-8")
    start, end = doc.index(BEGIN_MARK) + len(BEGIN_MARK), doc.index(END_MARK)
    DOC.write_text(doc[:start] + "\n" + text + "\n" + doc[end:], encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=RESULTS, help="the lab's results.json")
    parser.add_argument("--update-doc", action="store_true", help="write the tables into docs/ground-truth.md")
    args = parser.parse_args(argv)
    results = json.loads(args.results.read_text(encoding="utf-8"))
    all_checks = list(checks(results))
    all_excuses = excuses()
    all_verified = verified(results)
    patterns = accepted("verify")
    text = table(all_checks, all_excuses) + "\n\n" + verify_table(all_verified, patterns)
    print(text)
    if args.update_doc:
        update_doc(text)
    failing = [c for c in all_checks if not c.agrees and excused(c, all_excuses) is None]
    for check in failing:
        print(f"replay: {check.key}: missed {check.missed}, invented {check.invented} {check.unmodelled}",
              file=sys.stderr)
    stale = [e.pattern for e in all_excuses if not any(not c.agrees and e.covers(c) for c in all_checks)]
    present = [p for p in patterns if any(_glob(v.dump, p.split(" ")[0]) for v in all_verified)]  # dumps here
    stale += [p for p in present if not any(_glob(d.split(": ")[0], p) for v in all_verified for d in v.differences)]
    for pattern in stale:
        print(f"lab/accepted.yaml: '{pattern}' excuses nothing now: remove it", file=sys.stderr)
    differing = [d for v in all_verified for d in v.unaccepted(patterns)]
    for difference in differing:
        print(f"verify: {difference}", file=sys.stderr)
    return 8 if failing or stale or differing else 0


if __name__ == "__main__":
    sys.exit(main())
