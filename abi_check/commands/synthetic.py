"""Synthetic hosts: a host with one part (kernel, VMM or CPU) replaced, to check a spec no host uses yet."""

from __future__ import annotations

import dataclasses

from abi_check.spec.build import Builder
from abi_check.spec.hostcheck import check_host
from abi_check.spec.model import Cpu, Host, Kernel, Spec, Vmm
from abi_check.spec.yamlnodes import Node


def with_component(template: Host, component: Spec, name: str) -> Host:
    """The template host with one of its parts replaced."""
    host = dataclasses.replace(template, info=dataclasses.replace(template.info, name=name))
    if isinstance(component, Kernel):
        return dataclasses.replace(host, kernel=component)
    if isinstance(component, Vmm):
        return dataclasses.replace(host, vmm=component)
    if isinstance(component, Cpu):
        return dataclasses.replace(host, cpu=component)
    raise TypeError(f"{component.info.name} is not a kernel, VMM or CPU spec")


def host_errors(host: Host) -> list[str]:
    """What KVM would refuse when this host's kernel, VMM and CPU meet (a VMM writing a bit the kernel lacks)."""

    def no_refs(node: Node, kind: object) -> Spec:
        raise AssertionError("a built host has no references left")

    builder = Builder(Node({}, host.info.span), host.info, no_refs)
    check_host(builder, host)
    return [e.message for e in builder.errors]
