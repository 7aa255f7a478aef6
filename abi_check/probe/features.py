"""vCPU feature sets a VMM initialises, and the KVM capabilities worth recording on arm64."""

from __future__ import annotations

from dataclasses import dataclass

# arch/arm64/include/uapi/asm/kvm.h: KVM_ARM_VCPU_* feature bits
FEATURE_BITS = {
    "EL1_32BIT": 0,
    "POWER_OFF": 1,
    "PSCI_0_2": 2,
    "PMU_V3": 3,
    "SVE": 4,
    "PTRAUTH_ADDRESS": 5,
    "PTRAUTH_GENERIC": 6,
    "HAS_EL2": 7,
}
KVM_ARM_VCPU_SVE = FEATURE_BITS["SVE"]  # also the "what" of KVM_ARM_VCPU_FINALIZE

# include/uapi/linux/kvm.h: capabilities that describe an arm64 guest's ABI or a VMM's options
CAPABILITIES = {
    9: "KVM_CAP_NR_VCPUS",
    14: "KVM_CAP_MP_STATE",
    23: "KVM_CAP_SET_GUEST_DEBUG",
    66: "KVM_CAP_MAX_VCPUS",
    67: "KVM_CAP_MAX_VCPU_ID",
    70: "KVM_CAP_ONE_REG",
    87: "KVM_CAP_ARM_PSCI",
    89: "KVM_CAP_DEVICE_CTRL",
    93: "KVM_CAP_ARM_EL1_32BIT",
    102: "KVM_CAP_ARM_PSCI_0_2",
    119: "KVM_CAP_GUEST_DEBUG_HW_BPS",
    120: "KVM_CAP_GUEST_DEBUG_HW_WPS",
    126: "KVM_CAP_ARM_PMU_V3",
    127: "KVM_CAP_VCPU_ATTRIBUTES",
    148: "KVM_CAP_ARM_USER_IRQ",
    158: "KVM_CAP_ARM_INJECT_SERROR_ESR",
    165: "KVM_CAP_ARM_VM_IPA_SIZE",
    168: "KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2",
    170: "KVM_CAP_ARM_SVE",
    171: "KVM_CAP_ARM_PTRAUTH_ADDRESS",
    172: "KVM_CAP_ARM_PTRAUTH_GENERIC",
    174: "KVM_CAP_ARM_IRQ_LINE_LAYOUT_2",
    177: "KVM_CAP_ARM_NISV_TO_USER",
    178: "KVM_CAP_ARM_INJECT_EXT_DABT",
    187: "KVM_CAP_STEAL_TIME",
    198: "KVM_CAP_PTP_KVM",
    205: "KVM_CAP_ARM_MTE",
    216: "KVM_CAP_ARM_SYSTEM_SUSPEND",
    223: "KVM_CAP_DIRTY_LOG_RING_ACQ_REL",
    225: "KVM_CAP_DIRTY_LOG_RING_WITH_BITMAP",
    227: "KVM_CAP_COUNTER_OFFSET",
    228: "KVM_CAP_ARM_EAGER_SPLIT_CHUNK_SIZE",
    229: "KVM_CAP_ARM_SUPPORTED_BLOCK_SIZES",
    230: "KVM_CAP_ARM_SUPPORTED_REG_MASK_RANGES",
    239: "KVM_CAP_ARM_WRITABLE_IMP_ID_REGS",
    240: "KVM_CAP_ARM_EL2",
    241: "KVM_CAP_ARM_EL2_E2H0",
}
CAP_BY_NAME = {name: number for number, name in CAPABILITIES.items()}


@dataclass(frozen=True, slots=True)
class FeatureSet:
    """A KVM_ARM_VCPU_INIT feature set, and the capabilities it needs."""

    name: str
    features: tuple[str, ...]
    needs: tuple[str, ...] = ()

    @property
    def bits(self) -> list[int]:
        return [FEATURE_BITS[f] for f in self.features]

    @property
    def sve(self) -> bool:
        return "SVE" in self.features


FEATURE_SETS = (
    FeatureSet("psci-0.2", ("PSCI_0_2",)),
    FeatureSet("psci-0.1", ()),
    FeatureSet("psci-0.2+pmu-v3", ("PSCI_0_2", "PMU_V3"), ("KVM_CAP_ARM_PMU_V3",)),
    FeatureSet("psci-0.2+sve", ("PSCI_0_2", "SVE"), ("KVM_CAP_ARM_SVE",)),
    FeatureSet(
        "psci-0.2+ptrauth",
        ("PSCI_0_2", "PTRAUTH_ADDRESS", "PTRAUTH_GENERIC"),
        ("KVM_CAP_ARM_PTRAUTH_ADDRESS", "KVM_CAP_ARM_PTRAUTH_GENERIC"),
    ),
    FeatureSet(
        "psci-0.2+pmu-v3+sve+ptrauth",
        ("PSCI_0_2", "PMU_V3", "SVE", "PTRAUTH_ADDRESS", "PTRAUTH_GENERIC"),
        ("KVM_CAP_ARM_PMU_V3", "KVM_CAP_ARM_SVE", "KVM_CAP_ARM_PTRAUTH_ADDRESS", "KVM_CAP_ARM_PTRAUTH_GENERIC"),
    ),
)
FEATURE_SETS_BY_NAME = {fs.name: fs for fs in FEATURE_SETS}


def feature_set_from(name: str, features: list[str]) -> FeatureSet:
    """The feature set a dump names; an unknown name is rebuilt from its feature list."""
    known = FEATURE_SETS_BY_NAME.get(name)
    if known is not None and list(known.features) == features:
        return known
    return FeatureSet(name, tuple(features))
