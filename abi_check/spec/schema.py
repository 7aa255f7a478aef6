"""The spec format v1, declared once with the shapes of ``shapes``: it validates located nodes and exports a JSON
Schema."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from abi_check.errors import SpecError
from abi_check.spec.shapes import Bool, Int, ListOf, MapOf, Obj, OneOf, Str, Type
from abi_check.spec.yamlnodes import Node

FORMAT_VERSION = 1
NAME_PATTERN = r"^[a-z0-9][a-z0-9._+-]*$"
PSCI_VERSIONS = ("0.1", "0.2", "1.0", "1.1", "1.2", "1.3")
VCPU_FEATURES = ("EL1_32BIT", "PSCI_0_2", "PMU_V3", "SVE", "PTRAUTH_ADDRESS", "PTRAUTH_GENERIC", "HAS_EL2")
WORKAROUND_LEVELS = ("NOT_AVAIL", "AVAIL", "NOT_REQUIRED", "UNKNOWN", "AVAIL_ENABLED")
FIELD_SAFETY = ("lower-safe", "higher-safe", "higher-or-zero-safe", "exact")
VMM_PRODUCTS = ("qemu", "firecracker", "cloud-hypervisor", "crosvm", "other")


@dataclass
class Psci(Type):
    """A PSCI version written ``major.minor``; YAML may read ``1.0`` as a number, which is fine."""

    description: str = "PSCI version, major.minor"

    def check(self, node: Node, errors: list[SpecError]) -> None:
        text = psci_text(node.value)
        if text not in PSCI_VERSIONS:
            errors.append(
                SpecError(
                    node.span,
                    f"unknown PSCI version {node.value!r}",
                    f"KVM implements {', '.join(PSCI_VERSIONS)}",
                )
            )

    def schema(self) -> dict[str, Any]:
        return self.doc({"type": ["string", "number"], "enum": [*PSCI_VERSIONS, 0.1, 0.2, 1.0, 1.1, 1.2, 1.3]})


def psci_text(value: object) -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, float):
        return f"{value:.1f}"
    if isinstance(value, str):
        return value.strip()
    return None


def _is_str(value: object) -> bool:
    return isinstance(value, str)


def _is_list(value: object) -> bool:
    return isinstance(value, list)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_num_or_str(value: object) -> bool:
    return isinstance(value, str | float)


REF = Str(
    "a spec by catalogue name (linux-6.15) or by relative path (../kernels/linux-6.15.yaml)",
    pattern=r"^[A-Za-z0-9._/+-]+$",
)
REGISTER = Str(
    "a register: symbolic name (MIDR_EL1, PSCI_VERSION, X0, CCSIDR[0], Z0[0]), generic S3_0_C0_C0_0, or 64-bit KVM "
    "id (0x6030...)",
    pattern=r"^([A-Za-z][A-Za-z0-9_]*(\[\d{1,3}\])?|0[xX][0-9a-fA-F]+)$",
    hint="a register name such as MIDR_EL1, CCSIDR[0], S3_0_C0_C0_0, or a hexadecimal KVM id",
)
LISTED_REGISTER = Str(
    "a register, or a numbered series written with one range: DBGBVR{0..15}_EL1, CCSIDR[{0..13}], X{0..30}",
    pattern=r"^([A-Za-z][A-Za-z0-9_]*(\{\d{1,3}\.\.\d{1,3}\}[A-Za-z0-9_]*)?(\[(\d{1,3}|\{\d{1,3}\.\.\d{1,3}\})\])?"
    r"|0[xX][0-9a-fA-F]+)$",
    hint="a register name such as MIDR_EL1, or a series such as PMEVCNTR{0..30}_EL0",
)
BIT_NAME = Str("a bit name", pattern=r"^[A-Z][A-Z0-9_]*$", hint="bit names are UPPER_CASE")
FIELD_NAME = Str("an ID-register field name", pattern=r"^[A-Za-z][A-Za-z0-9_]*$")
U64 = Int("a 64-bit value", 0, (1 << 64) - 1)
VCPU_FEATURE = Str("a KVM_ARM_VCPU_INIT feature", enum=VCPU_FEATURES)
LEVEL = Str("a firmware WORKAROUND level", enum=WORKAROUND_LEVELS)
STATE = Str(
    "a vulnerability state (unaffected, mitigated, vulnerable, or a mitigation name)",
    pattern=r"^[a-z][a-z0-9-]*$",
    hint="lower-case words joined by '-', e.g. csv2-3",
)
VULNERABILITY = Str("a vulnerability name (spectre-v2, spectre-v4, spectre-bhb)", pattern=r"^[a-z][a-z0-9-]*$")
CPU_FIELD = Str("REGISTER.FIELD, e.g. ID_AA64MMFR3_EL1.TCRX", pattern=r"^[A-Z][A-Z0-9_]*\.[A-Za-z][A-Za-z0-9_]*$")
SOURCE = OneOf(
    ((_is_str, Str()), (_is_list, ListOf(Str(), unique=False))),
    "where the facts come from: repository, file and version",
    "a string or a list of strings",
)

HEADER: dict[str, Type] = {
    "abi-check": Int("spec format version", FORMAT_VERSION, FORMAT_VERSION),
    "kind": Str("what the spec describes", enum=("kernel", "vmm", "cpu", "host")),
    "name": Str("catalogue name; must equal the file name without .yaml", pattern=NAME_PATTERN),
    "extends": REF,
    "source": SOURCE,
    "description": Str("free text"),
}
HEADER_REQUIRED = ("abi-check", "kind", "name", "source")

KERNEL = Obj(
    {
        **HEADER,
        "version": Str("kernel release, quoted: '6.15'", pattern=r"^\d+\.\d+(\.\d+)?([-.+][A-Za-z0-9.+-]+)?$"),
        "arch": Str("architecture", enum=("arm64",)),
        "registers": MapOf(
            LISTED_REGISTER,
            Obj(
                {
                    "requires-feature": VCPU_FEATURE,
                    "unless-feature": Str(
                        "a KVM_ARM_VCPU_INIT feature that removes the register (V0-V31 with SVE)", enum=VCPU_FEATURES
                    ),
                    "requires-cpu-field": CPU_FIELD,
                    "requires-cpu-cache": Bool(
                        "CCSIDR demux: listed only when the host CPU's CLIDR_EL1 has the cache this CSSELR selects"
                    ),
                    "invariant": Bool("SET must equal the host value (MIDR_EL1 before 6.15)"),
                    "synthesised": Str(
                        "the guest value is made up by KVM, not the host's (CLIDR_EL1 from CTR_EL0 since 6.3)",
                        enum=("clidr-from-ctr",),
                    ),
                    "reset": U64,
                },
                description="listing conditions and reset value",
                nullable=(
                    "requires-feature", "unless-feature", "requires-cpu-field", "requires-cpu-cache", "synthesised"
                ),
            ),
            "registers KVM_GET_REG_LIST returns: core, system, timer, CCSIDR demux and SVE registers (firmware and "
            "bitmap registers are implied by psci, workarounds and bitmaps)",
        ),
        "psci": Obj(
            {
                "versions": ListOf(Psci(), "PSCI versions KVM implements"),
                "default": Psci("KVM_ARM_PSCI_LATEST"),
            },
            description="PSCI_VERSION firmware register",
        ),
        "workarounds": MapOf(
            Str(enum=("SMCCC_ARCH_WORKAROUND_1", "SMCCC_ARCH_WORKAROUND_2", "SMCCC_ARCH_WORKAROUND_3")),
            Obj(
                {
                    "vulnerability": VULNERABILITY,
                    "levels": MapOf(STATE, LEVEL, "level KVM reports for each CPU state", nullable=False),
                    "cpu-levels": MapOf(
                        Str("a MIDR_EL1 value", pattern=r"^0x[0-9a-fA-F]{1,8}$", hint="for example 0xc00fac30"),
                        LEVEL,
                        "CPUs (by MIDR_EL1 implementer and part number) this kernel's lists do not classify as the "
                        "CPU spec's state says, and the level it reports for them instead",
                    ),
                    "restore": Str(
                        "how KVM_SET_ONE_REG judges a restored value: at-most-host-level (the value may not exceed "
                        "the host's level), ssb-normalised (WORKAROUND_2 since 5.10)",
                        enum=("at-most-host-level", "ssb-normalised"),
                    ),
                },
                required=("vulnerability", "levels"),
            ),
            "WORKAROUND firmware registers and the level each CPU vulnerability state gives",
        ),
        "bitmaps": MapOf(
            Str(enum=("STD_BMAP", "STD_HYP_BMAP", "VENDOR_HYP_BMAP", "VENDOR_HYP_BMAP_2")),
            Obj(
                {
                    "bits": MapOf(BIT_NAME, Int("bit number", 0, 63), "bit name to bit number"),
                    "defaults": ListOf(BIT_NAME, "bits set at VM creation"),
                },
            ),
            "hypercall feature bitmap registers",
        ),
        "implicit-services": MapOf(
            Str(enum=("STD_BMAP", "STD_HYP_BMAP", "VENDOR_HYP_BMAP", "VENDOR_HYP_BMAP_2")),
            ListOf(BIT_NAME, "the bit names (of a later kernel's bitmap) of the services offered"),
            "hypercall services a kernel without the bitmap register offers every guest unconditionally, by the "
            "bit name the register has in later kernels (PV_TIME since 5.5, TRNG_V1_0 since 5.12, ...)",
        ),
        "capabilities": MapOf(
            Str(pattern=r"^[A-Z][A-Z0-9_]*$"),
            Int("capability number", 0, 1 << 20),
            "KVM_CAP_* (without the prefix) to its number",
        ),
        "vcpu-features": ListOf(VCPU_FEATURE, "KVM_ARM_VCPU_INIT features supported"),
        "id-registers": MapOf(
            REGISTER,
            Obj(
                {
                    "fields": MapOf(
                        FIELD_NAME,
                        Obj(
                            {
                                "bits": Str("msb:lsb", pattern=r"^\d{1,2}:\d{1,2}$"),
                                "safety": Str("ftr_bits safety type", enum=FIELD_SAFETY),
                                "signed": Bool(),
                                "writable": Bool("inside KVM's writable mask"),
                                "safe-value": Int("the field's safe value (EXACT fields)", 0, 15),
                                "visible-with": VCPU_FEATURE,
                                "hidden": Bool("KVM always shows 0 to the guest"),
                                "max": Int("KVM caps the guest's value of the field at this value", 0, 15),
                                "ignores-write": Str(
                                    "host-value: KVM accepts a VMM's write of the host's own value of the field "
                                    "and drops it (the guest keeps KVM's value)",
                                    enum=("host-value",),
                                ),
                            },
                            required=(),
                            nullable=("max", "visible-with", "ignores-write"),
                        ),
                    ),
                },
            ),
            "ID register field layout, safety types and writability",
        ),
    },
    HEADER_REQUIRED,
    "A Linux kernel's KVM/arm64 guest ABI",
)

BITS_OR_VALUE = OneOf(
    ((_is_list, ListOf(BIT_NAME)), (_is_int, U64), (_is_num_or_str, Str())),
    expected="a list of bit names, a number, a PSCI version or a level name",
)

VMM = Obj(
    {
        **HEADER,
        "product": Str(enum=VMM_PRODUCTS),
        "version": Str("release", pattern=r"^[0-9][A-Za-z0-9.+-]*$"),
        "migration": Obj(
            {
                "saves": Str("which registers go into the stream", enum=("all-listed", "listed-subset")),
                "saved-firmware": ListOf(REGISTER, "with saves: listed-subset, the firmware registers saved"),
                "hidden-registers": ListOf(REGISTER, "never synced or migrated (QEMU x-mig-hidden-regs)"),
                "safe-missing-registers": ListOf(REGISTER, "tolerated when the destination does not list them"),
                "unknown-incoming": Str(
                    "register in the stream the destination does not list", enum=("fail", "ignore")
                ),
                "missing-incoming": Str(
                    "register the destination lists and the stream lacks", enum=("keep-reset", "fail")
                ),
                "count-check": Bool("fail when the stream has more registers than the destination lists"),
                "max-registers": Int("register list cap", 1, 1 << 20),
            },
        ),
        "writes": MapOf(REGISTER, BITS_OR_VALUE, "firmware and bitmap registers the VMM writes before first run"),
        "vcpu-features": ListOf(VCPU_FEATURE),
        "id-overrides": MapOf(
            REGISTER,
            MapOf(FIELD_NAME, Int(maximum=15), nullable=False),
            "ID-register fields the VMM sets (its CPU model)",
        ),
        "implementation-id": Obj(
            {
                "writable": Bool("enables KVM_CAP_ARM_WRITABLE_IMP_ID_REGS where the kernel has it"),
                "targets": ListOf(REF, "CPU specs announced through DISCOVER_IMPL (errata targets)"),
            }
        ),
        "memory": Obj(
            {
                "slot-changes-during-dirty-log": Bool("deletes, splits or merges memslots while logging"),
                "quiesces-vcpus": Bool("pauses every vCPU and writer before a memslot change"),
                "harvests-before-delete": Bool("KVM_GET_DIRTY_LOG on a slot before deleting it"),
                "dirty-tracking": Str(enum=("bitmap", "ring", "ring-with-bitmap", "none")),
            }
        ),
    },
    HEADER_REQUIRED,
    "A VMM release or profile: what it saves, restores and writes",
)

CPU = Obj(
    {
        **HEADER,
        "vendor": Str(),
        "registers": MapOf(
            REGISTER,
            U64,
            "host register values: MIDR_EL1, REVIDR_EL1, AIDR_EL1, ID registers",
            nullable=False,
        ),
        "vulnerabilities": MapOf(VULNERABILITY, STATE, "state per vulnerability", nullable=False),
        "errata": ListOf(Str(pattern=r"^[A-Za-z0-9_-]+$"), "errata that need guest workarounds"),
    },
    HEADER_REQUIRED,
    "A host CPU implementation",
)

HOST = Obj(
    {
        **HEADER,
        "kernel": REF,
        "vmm": REF,
        "cpu": REF,
        "observed": Str(
            "a dump of this host (abi-check probe, or a Firecracker fingerprint), by path relative to this spec: "
            "it stands in for cpu and kernel (kernel then only names whose field layouts apply)",
            pattern=r"^[A-Za-z0-9._/+-]+$",
        ),
        "vcpus": Int("vCPUs of the VMs on this host", 1, 4096),
    },
    HEADER_REQUIRED,
    "A host configuration: a kernel, a VMM and a CPU",
)

KINDS: dict[str, Obj] = {"kernel": KERNEL, "vmm": VMM, "cpu": CPU, "host": HOST}
REQUIRED_AFTER_EXTENDS: dict[str, tuple[str, ...]] = {
    "kernel": ("version", "arch"),
    "vmm": ("product", "version"),
    "cpu": ("registers",),
    "host": ("kernel", "vmm", "cpu"),
}
# What an observed dump stands in for in a host spec.
OBSERVED_REPLACES = ("kernel", "cpu")


def check_document(node: Node) -> list[SpecError]:
    """Shape errors of one spec file, all of them, in file order."""
    errors: list[SpecError] = []
    if not isinstance(node.value, dict):
        return [SpecError(node.span, "a spec is a mapping that starts with 'abi-check: 1'")]
    version = node.get("abi-check")
    if version is None:
        errors.append(SpecError(node.span, "missing 'abi-check: 1' (the spec format version)"))
    elif isinstance(version.value, str) and version.value.strip() == str(FORMAT_VERSION):
        errors.append(SpecError(version.span, "the format version is a number, not a string",
                                f"write abi-check: {FORMAT_VERSION} without quotes"))
        return errors
    elif version.value != FORMAT_VERSION:
        errors.append(
            SpecError(
                version.span,
                f"unsupported spec format {version.value!r}",
                f"this abi-check reads format {FORMAT_VERSION}",
            )
        )
        return errors
    kind = node.get("kind")
    if kind is None:
        errors.append(SpecError(node.span, "missing 'kind'", "one of: kernel, vmm, cpu, host"))
        return errors
    if not isinstance(kind.value, str) or kind.value not in KINDS:
        Str(enum=tuple(KINDS)).check(kind, errors)
        return errors
    KINDS[str(kind.value)].check(node, errors)
    # The format version has its own message above; do not repeat it as a generic missing key.
    return [e for e in errors if e.message != "missing required key 'abi-check'"]


def json_schema() -> dict[str, Any]:
    """JSON Schema (2020-12) of spec format v1, for editors and CI."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://abi-check.dev/schema/spec-v1.json",
        "title": "abi-check spec (format 1)",
        "oneOf": [
            {**obj.schema(), "properties": {**obj.schema()["properties"], "kind": {"const": kind}}}
            for kind, obj in KINDS.items()
        ],
    }
