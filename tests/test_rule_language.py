"""The rule language: located syntax and name errors, user rule directories, and no way out of the views."""

from __future__ import annotations

from pathlib import Path

import pytest

from abi_check.errors import InputErrors, RuleError
from abi_check.rules.compiler import compile_rule
from abi_check.rules.engine import check_pair, load_rules

HEADER = '''rule demo
  name "Demo"
  summary "A demo rule."
  severity warning
  category demo
  reference "https://example.org"
'''


def compile_text(body: str):  # type: ignore[no-untyped-def]
    return compile_rule(HEADER + body, "demo.rule", "demo")


def error_of(body: str) -> RuleError:
    with pytest.raises(RuleError) as info:
        compile_text(body)
    return info.value


def test_syntax_error_is_located_with_expected_tokens() -> None:
    err = error_of('when src.psci >\nreport "x"\n')
    assert (err.span.path, err.span.line) == ("demo.rule", 8)  # type: ignore[union-attr]
    assert "unexpected" in err.message and err.hint and "expected" in err.hint


@pytest.mark.parametrize(("header", "body", "meant"), [
    ("", 'when src.psci == 1\nreprot "x"\n', "report"),
    ("", 'wen src.psci == 1\nreport "x"\n', "when"),
    ("", 'when src.psci == 1\nreport "x"\nfxi "y"\n', "fix"),
    ("severity warning", "severity warnign", "warning"),
    ('summary "A demo rule."', 'sumary "A demo rule."', "summary"),
])
def test_a_misspelt_keyword_gets_a_did_you_mean(header: str, body: str, meant: str) -> None:
    text = HEADER.replace(header, body) if header else HEADER + body
    with pytest.raises(RuleError) as info:
        compile_rule(text, "demo.rule", "demo")
    assert info.value.hint is not None and info.value.hint.startswith(f"did you mean '{meant}'?"), info.value.hint


def test_unknown_attribute_suggests_the_right_one() -> None:
    err = error_of('when src.psci_version == 1\nreport "x"\n')
    assert err.span is not None and (err.span.line, err.span.col) == (7, 6)
    assert err.message == "Host has no attribute 'psci_version'"
    assert err.hint == "did you mean 'psci_versions'?"


def test_unknown_name_register_and_function_are_errors() -> None:
    assert error_of('when srcc.psci == 1\nreport "x"\n').message == "unknown name 'srcc'"
    reg = error_of('when MIDR_EL2 in src.saved\nreport "x"\n')
    assert reg.message == "unknown register 'MIDR_EL2'" and reg.hint == "did you mean 'MIDR_EL1'?"
    assert error_of('when lenn(src.saved) > 1\nreport "x"\n').message == "unknown function 'lenn'"


def test_error_inside_a_template_points_into_the_string() -> None:
    err = error_of('when true\nreport "value {src.psi}"\n')
    assert err.span is not None and err.span.line == 8 and err.span.col > 8
    assert "has no attribute 'psi'" in err.message


def test_python_internals_are_unreachable() -> None:
    assert "no attribute '__class__'" in error_of('when true\nreport "{src.__class__}"\n').message
    assert "no attribute 'abi'" in error_of('when src.abi == 1\nreport "x"\n').message
    assert error_of('when open("x") == 1\nreport "x"\n').message == "unknown function 'open'"


def test_metadata_order_and_id_are_enforced() -> None:
    with pytest.raises(RuleError, match="differs from the file name"):
        compile_rule(HEADER + 'when true\nreport "x"\n', "other.rule", "other")
    swapped = HEADER.replace('  severity warning\n  category demo\n', '  category demo\n  severity warning\n')
    with pytest.raises(RuleError, match="out of order"):
        compile_rule(swapped + 'when true\nreport "x"\n', "demo.rule", "demo")


def test_user_rules_directory_adds_rules_and_reports_all_errors(tmp_path: Path, view) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "many-vcpus.rule").write_text(
        HEADER.replace("rule demo", "rule many-vcpus")
        + 'when dst.vcpus > 32\nreport "{dst} runs {dst.vcpus} vCPUs"\nat dst.span\n'
    )
    rules = load_rules([tmp_path])
    assert "many-vcpus" in rules.ids()
    found = [f for f in check_pair(rules, view("n1-linux-6.12-qemu-10.2"), view("v2-linux-6.12-qemu-10.2"))
             if f.rule == "many-vcpus"]
    assert [f.message for f in found] == ["v2-linux-6.12-qemu-10.2 runs 64 vCPUs"]
    assert found[0].span is not None and found[0].span.path.endswith("v2-linux-6.12-qemu-10.2.yaml")

    (tmp_path / "broken-one.rule").write_text(HEADER.replace("rule demo", "rule broken-one") + "when\n")
    (tmp_path / "broken-two.rule").write_text("rule broken-two\n")
    with pytest.raises(InputErrors) as info:
        load_rules([tmp_path])
    assert sorted(Path(e.span.path).name for e in info.value.errors if e.span) == [
        "broken-one.rule", "broken-two.rule"]


def test_a_rule_that_crashes_becomes_an_internal_error_finding(tmp_path: Path, view) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "divides.rule").write_text(
        HEADER.replace("rule demo", "rule divides") + 'when 1 // (dst.vcpus - dst.vcpus) > 0\nreport "x"\n')
    rules = load_rules([tmp_path])
    findings = check_pair(rules, view("n1-linux-6.6-qemu-10.2"), view("n1-linux-6.6-qemu-10.2"))
    assert [(f.rule, f.subject) for f in findings] == [("internal-error", "divides")]


def test_a_host_is_used_only_through_its_attributes_and_named_only_in_messages() -> None:
    """What the matrix relies on to share results between pairs (docs/matrix.md)."""
    bare = error_of('when src == dst\nreport "x"\n')
    assert bare.message == "'src' is a host: use one of its attributes here"
    assert bare.span is not None and (bare.span.line, bare.span.col) == (7, 6)
    assert "is a host" in error_of('let h = dst\nwhen true\nreport "x"\n').message
    assert "is a host" in error_of('when true\nreport "{str(src)}"\n').message
    assert "is a host" in error_of('when true\nreport "{src if true else dst}"\n').message
    named = error_of('when src.name != dst.name\nreport "x"\n')
    assert named.message == "a host's name is for messages only"
    # A VMM's name is a label too: the matrix shows rules a stand-in for it.
    vmm_named = error_of('when src.vmm.name != dst.vmm.name\nreport "x"\n')
    assert vmm_named.message == "a VMM's name is for messages only"
    assert "product" in (vmm_named.hint or "")
    assert "for messages only" in error_of('for v in [src.vmm] where v.name == "qemu"\nreport "x"\n').message
    # Allowed: attributes, host functions taking the other host, printing, locating.
    compile_text('for r in src.saved where len(src.field_diff(r, dst)) > 0\nreport "{src} {src.name} {dst}"\nat src\n')
    compile_text('when src.vmm.product != dst.vmm.product\nreport "{src.vmm.name} {dst.vmm} {src.vmm.name + \'!\'}"\n')


def test_a_template_prints_doubled_braces_as_braces_and_each_part_in_place(view) -> None:  # type: ignore[no-untyped-def]
    rule = compile_text('when src.vcpus == dst.vcpus\nreport "{{x}} {src.vcpus} }}{{ {dst.cpu}{{"\n'
                        'fix "plain {{text}}"\n')
    host = view("n1-linux-6.6-qemu-10.2")
    (hit,) = rule.run(host, host)
    assert hit.message == f"{{x}} {host.vcpus} }}{{ {host.cpu.name}{{"
    assert hit.fix == "plain {text}"
