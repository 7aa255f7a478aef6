"""The KVM ioctl layer: request numbers, C structures and thin wrappers over fcntl.ioctl and ctypes."""

from __future__ import annotations

import ctypes
import errno
import fcntl
import mmap
import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

from . import regs

# include/uapi/asm-generic/ioctl.h: dir(2) << 30 | size(14) << 16 | type(8) << 8 | nr(8)
_IOC_NONE, _IOC_WRITE, _IOC_READ = 0, 1, 2
KVMIO = 0xAE


def _ioc(direction: int, nr: int, size: int) -> int:
    return (direction << 30) | (size << 16) | (KVMIO << 8) | nr


class KvmOneReg(ctypes.Structure):
    _fields_ = [("id", ctypes.c_uint64), ("addr", ctypes.c_uint64)]


class KvmVcpuInit(ctypes.Structure):
    _fields_ = [("target", ctypes.c_uint32), ("features", ctypes.c_uint32 * 7)]


class KvmRegListHeader(ctypes.Structure):
    _fields_ = [("n", ctypes.c_uint64)]


class KvmEnableCap(ctypes.Structure):
    _fields_ = [
        ("cap", ctypes.c_uint32),
        ("flags", ctypes.c_uint32),
        ("args", ctypes.c_uint64 * 4),
        ("pad", ctypes.c_uint8 * 64),
    ]


class KvmUserspaceMemoryRegion(ctypes.Structure):
    _fields_ = [
        ("slot", ctypes.c_uint32),
        ("flags", ctypes.c_uint32),
        ("guest_phys_addr", ctypes.c_uint64),
        ("memory_size", ctypes.c_uint64),
        ("userspace_addr", ctypes.c_uint64),
    ]


class RegMaskRange(ctypes.Structure):
    _fields_ = [("addr", ctypes.c_uint64), ("range", ctypes.c_uint32), ("reserved", ctypes.c_uint32 * 13)]


KVM_GET_API_VERSION = _ioc(_IOC_NONE, 0x00, 0)
KVM_CREATE_VM = _ioc(_IOC_NONE, 0x01, 0)
KVM_CHECK_EXTENSION = _ioc(_IOC_NONE, 0x03, 0)
KVM_GET_VCPU_MMAP_SIZE = _ioc(_IOC_NONE, 0x04, 0)
KVM_CREATE_VCPU = _ioc(_IOC_NONE, 0x41, 0)
KVM_SET_USER_MEMORY_REGION = _ioc(_IOC_WRITE, 0x46, ctypes.sizeof(KvmUserspaceMemoryRegion))
KVM_RUN = _ioc(_IOC_NONE, 0x80, 0)
KVM_ENABLE_CAP = _ioc(_IOC_WRITE, 0xA3, ctypes.sizeof(KvmEnableCap))
KVM_GET_ONE_REG = _ioc(_IOC_WRITE, 0xAB, ctypes.sizeof(KvmOneReg))
KVM_SET_ONE_REG = _ioc(_IOC_WRITE, 0xAC, ctypes.sizeof(KvmOneReg))
KVM_ARM_VCPU_INIT = _ioc(_IOC_WRITE, 0xAE, ctypes.sizeof(KvmVcpuInit))
KVM_ARM_PREFERRED_TARGET = _ioc(_IOC_READ, 0xAF, ctypes.sizeof(KvmVcpuInit))
KVM_GET_REG_LIST = _ioc(_IOC_READ | _IOC_WRITE, 0xB0, ctypes.sizeof(KvmRegListHeader))
KVM_ARM_GET_REG_WRITABLE_MASKS = _ioc(_IOC_READ, 0xB6, ctypes.sizeof(RegMaskRange))
KVM_ARM_VCPU_FINALIZE = _ioc(_IOC_WRITE, 0xC2, ctypes.sizeof(ctypes.c_int))

KVM_ARM_FEATURE_ID_RANGE = 0
KVM_ARM_FEATURE_ID_RANGE_SIZE = 3 * 8 * 8
KVM_EXIT_NAMES = {0: "UNKNOWN", 2: "IO", 5: "HLT", 6: "MMIO", 8: "SHUTDOWN", 9: "FAIL_ENTRY", 17: "INTERNAL_ERROR",
                  24: "SYSTEM_EVENT", 28: "ARM_NISV", 36: "HYPERCALL"}


def feature_id_index(op1: int, crm: int, op2: int) -> int:
    """KVM_ARM_FEATURE_ID_RANGE_IDX: op1 0, 1, 3 map to 0, 1, 2."""
    op1 &= 3
    op1 -= op1 == 3
    return (op1 << 6) | ((crm & 7) << 3) | op2


def errno_name(code: int) -> str:
    return errno.errorcode.get(code, str(code))


class Vcpu(Protocol):
    def init(self, target: int, features: list[int]) -> None: ...
    def finalize(self, what: int) -> None: ...
    def reg_list(self) -> list[int]: ...
    def get_reg(self, reg: int) -> int: ...
    def set_reg(self, reg: int, value: int) -> None: ...
    def run_once(self, code: bytes, timeout: float) -> str:
        """Run a guest that starts at the first instruction of ``code``; the exit reason's name."""
        ...


class Vm(Protocol):
    def check_extension(self, cap: int) -> int: ...
    def enable_cap(self, cap: int, args: tuple[int, ...] = ()) -> None: ...
    def preferred_target(self) -> tuple[int, list[int]]: ...
    def writable_masks(self) -> list[int]: ...
    def create_vcpu(self, index: int) -> Vcpu: ...
    def close(self) -> None: ...


class Hypervisor(Protocol):
    def api_version(self) -> int: ...
    def check_extension(self, cap: int) -> int: ...
    def create_vm(self, ipa_bits: int = 0) -> Vm: ...


class _Timeout(Exception):
    pass


@contextmanager
def _alarm(seconds: float) -> Iterator[None]:
    def fire(signum: int, frame: object) -> None:
        raise _Timeout

    previous = signal.signal(signal.SIGALRM, fire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


GUEST_BASE = 0x1000_0000
GUEST_PAGE = 0x1_0000  # a 64K slot also suits 16K and 64K host pages


class KvmVcpu:
    def __init__(self, fd: int, mmap_size: int, vm: KvmVm) -> None:
        self.fd, self._mmap_size, self._vm = fd, mmap_size, vm

    def init(self, target: int, features: list[int]) -> None:
        arg = KvmVcpuInit(target=target)
        for bit in features:
            arg.features[bit // 32] |= 1 << (bit % 32)
        fcntl.ioctl(self.fd, KVM_ARM_VCPU_INIT, arg)

    def finalize(self, what: int) -> None:
        fcntl.ioctl(self.fd, KVM_ARM_VCPU_FINALIZE, ctypes.c_int(what))

    def reg_list(self) -> list[int]:
        header = KvmRegListHeader(n=0)
        try:
            fcntl.ioctl(self.fd, KVM_GET_REG_LIST, header)
        except OSError as exc:
            if exc.errno != errno.E2BIG:
                raise
        count = header.n

        class RegList(ctypes.Structure):
            _fields_ = [("n", ctypes.c_uint64), ("reg", ctypes.c_uint64 * count)]

        full = RegList(n=count)
        fcntl.ioctl(self.fd, KVM_GET_REG_LIST, full)
        return [int(full.reg[i]) for i in range(full.n)]

    def get_reg(self, reg: int) -> int:
        buf = (ctypes.c_uint8 * regs.size_bytes(reg))()
        fcntl.ioctl(self.fd, KVM_GET_ONE_REG, KvmOneReg(id=reg, addr=ctypes.addressof(buf)))
        return int.from_bytes(bytes(buf), "little")

    def set_reg(self, reg: int, value: int) -> None:
        size = regs.size_bytes(reg)
        buf = (ctypes.c_uint8 * size).from_buffer_copy(value.to_bytes(size, "little"))
        fcntl.ioctl(self.fd, KVM_SET_ONE_REG, KvmOneReg(id=reg, addr=ctypes.addressof(buf)))

    def run_once(self, code: bytes, timeout: float) -> str:
        self._vm.map_guest_code(code)
        self.set_reg(regs.CORE_PC, GUEST_BASE)
        run = mmap.mmap(self.fd, self._mmap_size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
        try:
            with _alarm(timeout):
                fcntl.ioctl(self.fd, KVM_RUN, 0)
        except _Timeout:
            return "TIMEOUT"
        finally:
            reason = int.from_bytes(run[8:12], "little")
            run.close()
        return KVM_EXIT_NAMES.get(reason, str(reason))


class KvmVm:
    def __init__(self, fd: int, system_fd: int) -> None:
        self.fd, self._system_fd = fd, system_fd
        self._memory: mmap.mmap | None = None
        self._vcpus: list[int] = []

    def check_extension(self, cap: int) -> int:
        return fcntl.ioctl(self.fd, KVM_CHECK_EXTENSION, cap)

    def enable_cap(self, cap: int, args: tuple[int, ...] = ()) -> None:
        arg = KvmEnableCap(cap=cap)
        for i, value in enumerate(args):
            arg.args[i] = value
        fcntl.ioctl(self.fd, KVM_ENABLE_CAP, arg)

    def preferred_target(self) -> tuple[int, list[int]]:
        arg = KvmVcpuInit()
        fcntl.ioctl(self.fd, KVM_ARM_PREFERRED_TARGET, arg)
        features = [w * 32 + b for w in range(7) for b in range(32) if arg.features[w] >> b & 1]
        return int(arg.target), features

    def writable_masks(self) -> list[int]:
        masks = (ctypes.c_uint64 * KVM_ARM_FEATURE_ID_RANGE_SIZE)()
        fcntl.ioctl(self.fd, KVM_ARM_GET_REG_WRITABLE_MASKS,
                    RegMaskRange(addr=ctypes.addressof(masks), range=KVM_ARM_FEATURE_ID_RANGE))
        return [int(m) for m in masks]

    def create_vcpu(self, index: int) -> KvmVcpu:
        fd = fcntl.ioctl(self.fd, KVM_CREATE_VCPU, index)
        self._vcpus.append(fd)
        return KvmVcpu(fd, fcntl.ioctl(self._system_fd, KVM_GET_VCPU_MMAP_SIZE, 0), self)

    def map_guest_code(self, code: bytes) -> None:
        if self._memory is None:
            self._memory = mmap.mmap(-1, GUEST_PAGE, mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
            address = ctypes.addressof(ctypes.c_char.from_buffer(self._memory))
            region = KvmUserspaceMemoryRegion(slot=0, flags=0, guest_phys_addr=GUEST_BASE, memory_size=GUEST_PAGE,
                                              userspace_addr=address)
            fcntl.ioctl(self.fd, KVM_SET_USER_MEMORY_REGION, region)
        self._memory[: len(code)] = code

    def close(self) -> None:
        for fd in self._vcpus:
            os.close(fd)
        os.close(self.fd)


class KvmSystem:
    """The real /dev/kvm."""

    def __init__(self, path: str = "/dev/kvm") -> None:
        self.fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)

    def api_version(self) -> int:
        return fcntl.ioctl(self.fd, KVM_GET_API_VERSION, 0)

    def check_extension(self, cap: int) -> int:
        return fcntl.ioctl(self.fd, KVM_CHECK_EXTENSION, cap)

    def create_vm(self, ipa_bits: int = 0) -> KvmVm:
        return KvmVm(fcntl.ioctl(self.fd, KVM_CREATE_VM, ipa_bits & 0xFF), self.fd)
