"""The probe: asks a live /dev/kvm what its arm64 guests see, replays dumps, imports Firecracker fingerprints.

Everything here imports only the Python standard library (and ``abi_check.__version__``), so
``python3 -m abi_check.probe`` runs inside a minimal initramfs with python3.11-minimal and its stdlib.
"""
