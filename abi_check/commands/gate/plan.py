"""What a gate checks: the changed specs, the hosts they affect, and each pair with what it introduces.

Hosts are affected when their spec, or any spec they are built from, changed. Each affected host is checked
against its own REF version in both directions (upgrade and rollback) and, in the working tree, with itself and
every host of the fleet. A finding is introduced when the same evaluation at REF does not have it (docs/gate.md).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from abi_check.abi.effective import effective_abi
from abi_check.abi.views import HostView
from abi_check.commands.gate.tree import Loaded, Tree
from abi_check.commands.synthetic import host_errors, with_component
from abi_check.config.settings import Settings
from abi_check.config.waivers import BASE_SUFFIX
from abi_check.errors import InputErrors
from abi_check.resources import catalogue_dir
from abi_check.rules.engine import check_pair
from abi_check.spec.catalogue import iter_spec_files
from abi_check.spec.model import Host, Kernel, Kind, Spec, Vmm
from abi_check.verdict.findings import Finding

_Named = TypeVar("_Named", Host, Kernel, Vmm)

COMPONENTS = (Kind.KERNEL, Kind.VMM, Kind.CPU)
Key = tuple[str, str, str, str]


def _strip(text: str) -> str:
    return text.replace(BASE_SUFFIX, "")


def finding_key(f: Finding) -> Key:
    """What makes two findings the same across the ref and the working tree: rule, hosts, subject (the
    fingerprint's inputs), with the @base label of REF versions removed."""
    return (f.rule, _strip(f.source), _strip(f.destination), _strip(f.subject))


@dataclass
class Evaluated:
    """One pair: every finding of the new evaluation, and the ones the ref's evaluation does not have."""

    source: str
    destination: str
    found: list[Finding]
    introduced: list[Finding]
    change: bool  # an upgrade or rollback pair, reported even when nothing was introduced


@dataclass
class Plan:
    changed: dict[str, str] = field(default_factory=dict)  # key -> added | modified | deleted
    affected: list[str] = field(default_factory=list)
    synthetic: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    pairs: list[Evaluated] = field(default_factory=list)


def _labeled(spec: _Named) -> _Named:
    return dataclasses.replace(spec, info=dataclasses.replace(spec.info, name=spec.info.name + BASE_SUFFIX))


def _labeled_part(spec: Spec) -> Spec:
    if isinstance(spec, Kernel):
        return _labeled(spec)
    if isinstance(spec, Vmm):
        return _labeled(spec)
    return spec  # a CPU keeps its name: rules compare it with implementation targets


def _relabel(host: Host, tree: Tree, changed: set[str]) -> Host:
    """The REF version of a host, named NAME@base, and so are its kernel and VMM when they changed. CPU names
    stay: rules compare them with a VMM's implementation targets."""
    kernel = _labeled(host.kernel) if tree.deps_of(host.kernel) & changed else host.kernel
    vmm = _labeled(host.vmm) if tree.deps_of(host.vmm) & changed else host.vmm
    return dataclasses.replace(_labeled(host), kernel=kernel, vmm=vmm)


def _content(path: Path) -> bytes | None:
    """A spec file's bytes for change detection, None when it cannot be read as one (then loading it says why)."""
    from abi_check.errors import SpecError
    from abi_check.spec.files import read_bounded
    from abi_check.spec.yamlnodes import MAX_FILE_BYTES

    try:
        return read_bounded(path, str(path), MAX_FILE_BYTES, SpecError)
    except SpecError:
        return None


class Gate:
    def __init__(self, new: Tree, old: Tree, settings: Settings, fleet: bool) -> None:
        self.new, self.old = new, old
        self.settings = settings
        self.fleet = fleet
        self.plan = Plan()
        self._views: dict[int, HostView] = {}
        self._hosts: list[Host] = []  # keeps every viewed host alive, so ids stay unique

    def view(self, host: Host) -> HostView:
        if id(host) not in self._views:
            self._hosts.append(host)
            self._views[id(host)] = HostView(effective_abi(host))
        return self._views[id(host)]

    def check(self, a: Host, b: Host) -> list[Finding]:
        return self.settings.policy.apply(check_pair(self.settings.rules, self.view(a), self.view(b)))

    def compare(self, a: Host, b: Host, base: list[Finding], change: bool) -> None:
        found = self.check(a, b)
        known = {finding_key(f) for f in base}
        introduced = [f for f in found if finding_key(f) not in known]
        self.plan.pairs.append(Evaluated(a.info.name, b.info.name, found, introduced, change))

    def change_pairs(self, new: Host, old: Host) -> None:
        """Upgrade (REF -> working tree) and rollback, against what moving between two REF hosts gave."""
        base = self.check(old, old)
        self.compare(old, new, base, change=True)
        self.compare(new, old, base, change=True)

    # -- planning ----------------------------------------------------------------------------------------

    def run(self) -> Plan:
        plan = self.plan
        new_tracked, old_tracked = self.new.files(self.new.tracked), self.old.files(self.old.tracked)
        for key in sorted(set(new_tracked) | set(old_tracked)):
            if key not in old_tracked:
                plan.changed[key] = "added"
            elif key not in new_tracked:
                plan.changed[key] = "deleted"
            elif _content(new_tracked[key]) != _content(old_tracked[key]) or _content(new_tracked[key]) is None:
                plan.changed[key] = "modified"
        if not plan.changed:
            return plan
        self._changed_must_load()
        changed = set(plan.changed)
        new_hosts = self.new.hosts(self.new.files())
        old_hosts = self.old.hosts(self.old.files())
        from_tree = bool(new_hosts or old_hosts)
        if not from_tree:  # a tree of kernels or VMMs only: the shipped catalogue's hosts are the fleet
            new_hosts = self.new.hosts(self._catalogue(self.new))
            old_hosts = self.old.hosts(self._catalogue(self.old))
        new_loaded = self._load_hosts(new_hosts, old_hosts)
        old_loaded: dict[str, Loaded] = {}
        for name, path in old_hosts.items():
            found = self.old.try_load(path)
            if isinstance(found, Loaded):
                old_loaded[name] = found
            elif name in new_loaded:
                plan.notes.append(f"{name} did not build at the ref: it is checked as a new host")
        for name in sorted(set(old_hosts) - set(new_hosts)):
            plan.notes.append(f"{name} was removed: nothing to check")
        affected = sorted(
            n for n, h in new_loaded.items() if h.deps & changed or (n in old_loaded and old_loaded[n].deps & changed)
        )
        plan.affected = affected
        for name in affected:
            new_host = new_loaded[name].spec
            assert isinstance(new_host, Host)
            if name in old_loaded:
                old_host = old_loaded[name].spec
                assert isinstance(old_host, Host)
                self.change_pairs(new_host, _relabel(old_host, self.old, changed))
        self._fleet_pairs(affected, new_loaded, old_loaded)
        used = set().union(*(h.deps for h in new_loaded.values())) if new_loaded else set()
        self._orphans(changed - used, new_loaded, old_loaded, from_tree)
        return plan

    def _changed_must_load(self) -> None:
        """A spec the change adds or modifies must load (a link out of the roots, a FIFO, a file that is not a
        spec): otherwise the gate would pass a change it never checked. One that did not load at the ref either
        is left to abi-check lint, with a note, as for hosts."""
        errors = []
        for key, status in self.plan.changed.items():
            if status == "deleted":
                continue
            found = self.new.try_load(self.new.path(key))
            if not isinstance(found, InputErrors):
                continue
            if status == "modified" and isinstance(self.old.try_load(self.old.path(key)), InputErrors):
                continue  # the notes of _load_hosts and _orphans say it was skipped
            errors.extend(found.errors)
        if errors:
            raise InputErrors(errors)

    def _catalogue(self, tree: Tree) -> dict[str, Path]:
        return {tree.key(p): p for p in iter_spec_files(catalogue_dir())}

    def _load_hosts(self, new_hosts: dict[str, Path], old_hosts: dict[str, Path]) -> dict[str, Loaded]:
        """Hosts that build in the working tree. One that does not is the change's fault unless it did not build
        at the ref either: then it is skipped with a note (abi-check lint reports it)."""
        loaded: dict[str, Loaded] = {}
        errors = []
        for name, path in new_hosts.items():
            found = self.new.try_load(path)
            if isinstance(found, Loaded):
                loaded[name] = found
            elif name in old_hosts and isinstance(self.old.try_load(old_hosts[name]), InputErrors):
                self.plan.notes.append(f"{name} does not build, here or at the ref: skipped (abi-check lint)")
            else:
                errors.extend(found.errors)
        if errors:
            raise InputErrors(errors)
        return loaded

    def _fleet_pairs(self, affected: list[str], new: dict[str, Loaded], old: dict[str, Loaded]) -> None:
        """Each affected host with itself and, with --fleet, with every other host, both ways, in the working
        tree; a finding the same pair of REF hosts already had is not introduced."""
        names = sorted(new) if self.fleet else []
        done: set[tuple[str, str]] = set()
        for a in affected:
            for b in sorted({a, *names}):
                for src, dst in ((a, b), (b, a)):
                    if (src, dst) in done:
                        continue
                    done.add((src, dst))
                    s, d = new[src].spec, new[dst].spec
                    assert isinstance(s, Host) and isinstance(d, Host)
                    base: list[Finding] = []
                    if src in old and dst in old:
                        os_, od = old[src].spec, old[dst].spec
                        assert isinstance(os_, Host) and isinstance(od, Host)
                        base = self.check(os_, od)
                    self.compare(s, d, base, change=False)

    def _orphans(self, keys: set[str], new: dict[str, Loaded], old: dict[str, Loaded], from_tree: bool) -> None:
        """A changed kernel, VMM or CPU that no host uses is checked on synthetic hosts: the VMM and CPU (or the
        parts it does not replace) of the hosts that use the spec it extends, nearest ancestor first."""
        for key in sorted(keys):
            if self.plan.changed[key] == "deleted":
                continue
            path = self.new.path(key)
            if self.new.kind(path) not in COMPONENTS:
                continue
            previous = self.old.try_load(self.old.path(key)) if self.plan.changed[key] == "modified" else None
            built = self.new.try_load(path)
            if isinstance(built, InputErrors):
                if isinstance(previous, InputErrors):
                    self.plan.notes.append(f"{key} does not build, here or at the ref: skipped (abi-check lint)")
                    continue
                raise built  # the change broke it: an input error, located
            component = built.spec
            templates = self._templates(component, new, from_tree)
            if not templates:
                self.plan.notes.append(f"{component.info.name} changed but no host can carry it: not checked")
                continue
            for template_name, template in templates:
                name = f"{template_name}+{component.info.name}"
                synthetic = with_component(template, component, name)
                problems = host_errors(synthetic)
                if problems:
                    self.plan.notes.append(f"{name} cannot be built ({problems[0]}): not checked")
                    continue
                self.plan.synthetic.append(name)
                ref_template = old[template_name].spec if template_name in old else template
                assert isinstance(ref_template, Host)
                if isinstance(previous, Loaded):
                    prior = _labeled(with_component(ref_template, _labeled_part(previous.spec), name))
                else:  # a new spec: the previous version is the template itself, with the spec it extends
                    prior = _labeled(ref_template)
                self.change_pairs(synthetic, prior)
                self.compare(synthetic, synthetic, self.check(prior, prior), change=False)

    def _templates(self, component: Spec, new: dict[str, Loaded], from_tree: bool) -> list[tuple[str, Host]]:
        pools = [new]
        if from_tree:
            pools.append({n: self.new.load(p) for n, p in self.new.hosts(self._catalogue(self.new)).items()
                          if not isinstance(self.new.try_load(p), InputErrors)})
        part = component.info.kind.value
        for pool in pools:
            hosts = {n: h.spec for n, h in sorted(pool.items()) if isinstance(h.spec, Host)}
            for ancestor in component.info.extends:
                users = [(n, h) for n, h in hosts.items() if getattr(h, part).info.name == ancestor]
                if users:
                    return users
        for pool in pools:
            hosts = {n: h.spec for n, h in sorted(pool.items()) if isinstance(h.spec, Host)}
            if hosts:
                first = next(iter(hosts.items()))
                return [first]
        return []
