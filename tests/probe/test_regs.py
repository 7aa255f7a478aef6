"""Register id encoding, decoding and naming; ioctl request numbers as the C headers compute them."""

from __future__ import annotations

import pytest

from abi_check.probe import kvm, regs


@pytest.mark.parametrize(
    ("reg", "name", "size"),
    [
        (0x603000000013C000, "MIDR_EL1", 8),
        (0x603000000013C006, "REVIDR_EL1", 8),
        (0x603000000013C807, "AIDR_EL1", 8),
        (0x603000000013C103, "TCR2_EL1", 8),
        (0x603000000013C512, "PIRE0_EL1", 8),
        (0x603000000013C513, "PIR_EL1", 8),
        (0x6030000000140000, "KVM_REG_ARM_PSCI_VERSION", 8),
        (0x6030000000140003, "KVM_REG_ARM_SMCCC_ARCH_WORKAROUND_3", 8),
        (0x6030000000160003, "KVM_REG_ARM_VENDOR_HYP_BMAP_2", 8),
        (0x603000000013DF1A, "KVM_REG_ARM_TIMER_CNT", 8),
        (0x603000000013DF02, "KVM_REG_ARM_TIMER_CVAL", 8),
        (0x6030000000100040, "PC", 8),
        (0x60200000001000D4, "FPSR", 4),
        (0x6040000000100054, "V0", 16),
        (0x6020000000110002, "CCSIDR[2]", 4),
        (0x6080000000150000, "Z0[0]", 256),
        (0x6050000000150420, "P1[0]", 32),
        (0x6050000000150600, "FFR[0]", 32),
        (0x606000000015FFFF, "KVM_REG_ARM64_SVE_VLS", 64),
        (0x603000000013C7A7, "S3_0_C15_C4_7", 8),
        (0x6030000000138004, "DBGBVR0_EL1", 8),
        (0x603000000013DF47, "PMEVCNTR7_EL0", 8),
    ],
)
def test_name_and_size_of_known_ids(reg: int, name: str, size: int) -> None:
    assert regs.name(reg) == name
    assert regs.size_bytes(reg) == size


def test_sysreg_encoding_round_trips() -> None:
    for enc, name in regs.SYSREG_NAMES.items():
        reg = regs.sysreg_id(*enc)
        assert regs.sysreg_encoding(reg) == enc
        assert regs.name(reg) == name


def test_constants_match_the_reference_ids() -> None:
    assert regs.PSCI_VERSION == 0x6030000000140000
    assert regs.BITMAPS == (0x6030000000160000, 0x6030000000160001, 0x6030000000160002, 0x6030000000160003)
    assert regs.SVE_VLS == 0x606000000015FFFF
    assert regs.hexid(regs.MIDR_EL1) == "0x603000000013c000"


def test_ioctl_numbers_match_the_uapi_headers() -> None:
    assert kvm.KVM_GET_API_VERSION == 0xAE00
    assert kvm.KVM_CREATE_VM == 0xAE01
    assert kvm.KVM_CHECK_EXTENSION == 0xAE03
    assert kvm.KVM_CREATE_VCPU == 0xAE41
    assert kvm.KVM_RUN == 0xAE80
    assert kvm.KVM_SET_USER_MEMORY_REGION == 0x4020AE46
    assert kvm.KVM_ENABLE_CAP == 0x4068AEA3
    assert kvm.KVM_GET_ONE_REG == 0x4010AEAB
    assert kvm.KVM_SET_ONE_REG == 0x4010AEAC
    assert kvm.KVM_ARM_VCPU_INIT == 0x4020AEAE
    assert kvm.KVM_ARM_PREFERRED_TARGET == 0x8020AEAF
    assert kvm.KVM_GET_REG_LIST == 0xC008AEB0
    assert kvm.KVM_ARM_GET_REG_WRITABLE_MASKS == 0x8040AEB6
    assert kvm.KVM_ARM_VCPU_FINALIZE == 0x4004AEC2


def test_feature_id_index_maps_op1_3_to_2() -> None:
    assert kvm.feature_id_index(0, 4, 0) == 32  # ID_AA64PFR0_EL1
    assert kvm.feature_id_index(1, 0, 7) == 71  # AIDR_EL1
    assert kvm.feature_id_index(3, 0, 1) == 129  # CTR_EL0
