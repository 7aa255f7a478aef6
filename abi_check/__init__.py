"""abi-check: guest-visible ABI compatibility and rollback safety for KVM virtual machines."""

__version__ = "0.1.0"
