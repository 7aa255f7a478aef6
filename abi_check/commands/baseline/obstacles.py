"""Why a finding survives the baseline: what a VMM configuration cannot change, per built-in rule."""

from __future__ import annotations

_CPU_LEVELS = (
    "WORKAROUND levels are the host CPU's: KVM's GET returns the host level and SET only validates, so no VMM "
    "setting changes them"
)
_REGISTER_LIST = (
    "the kernels list different registers; only hiding it on the source or tolerating it on the destination "
    "(QEMU x-mig-hidden-regs / x-mig-safe-missing-regs) crosses that: a VMM release property, not a value"
)
_PRE_6_7 = "before 6.7 an ID register must equal the host's value: hosts on such kernels split by CPU"

REASONS: dict[str, str] = {
    "workaround-level-above-dst": _CPU_LEVELS,
    "workaround-2-not-restorable": _CPU_LEVELS,
    "impl-id-mismatch": (
        "MIDR_EL1/REVIDR_EL1/AIDR_EL1 differ and only 6.15+ kernels let the VMM write them "
        "(KVM_CAP_ARM_WRITABLE_IMP_ID_REGS): a kernel without it splits the hosts by CPU implementation"
    ),
    "impl-id-errata-target": (
        "the guest learns every target implementation only through DISCOVER_IMPL (VENDOR_HYP_BMAP_2, 6.15+)"
    ),
    "bitmap-hidden-nonzero": (
        "a set of several CPU implementations needs DISCOVER_IMPL on in VENDOR_HYP_BMAP_2, which this VMM profile "
        "hides from migration"
    ),
    "id-register-not-writable": _PRE_6_7,
    "invariant-register-mismatch": (
        "CLIDR_EL1 (before 6.3) and CTR_EL0 (before 6.11) are invariant: hosts on such kernels split by CPU"
    ),
    "id-field-unreproducible": (
        "the field is outside a kernel's writable mask, or no common value is safe on every host: it stays the "
        "CPU's own"
    ),
    "bitmap-register-unknown": _REGISTER_LIST,
    "register-unknown-on-dst": _REGISTER_LIST,
    "register-count-exceeds": _REGISTER_LIST,
    "register-new-nonzero-default": (
        "a register only the newer kernel lists (e.g. SMCCC_ARCH_WORKAROUND_3) keeps its non-zero reset value, "
        "which the VMM cannot write where the older kernel lacks the register"
    ),
    "bitmap-implicit-default": (
        "an older kernel without the bitmap register cannot be told which services to offer"
    ),
    "hypercall-service-gained": (
        "kernels without the bitmap registers (before 5.19) offer their services unconditionally: no VMM setting "
        "changes them"
    ),
    "hypercall-service-lost": (
        "kernels without the bitmap registers (before 5.19) offer their services unconditionally: no VMM setting "
        "changes them"
    ),
    "vcpu-feature-mismatch": "the VMM profiles create vCPUs with different features; the baseline keeps each "
    "VMM's vCPU features",
    "vcpu-feature-gained": "the VMM profiles create vCPUs with different features; the baseline keeps each "
    "VMM's vCPU features",
    "register-list-cap": "a property of the VMM release",
    "memslot-change-during-dirty-log": "a property of the VMM release",
    "dirty-ring-without-bitmap": "a property of the VMM release and the kernel",
    "psci-not-implemented": "no PSCI version is implemented by every kernel",
}


def reason(rule: str) -> str:
    return REASONS.get(rule, "the baseline does not change what this rule checks")
