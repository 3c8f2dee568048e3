"""Loading Sigma rules: every SigmaHQ rule of the anchor set loads, runs where runwatch has its
events and says why not elsewhere; a broken file is an error naming where, and never hides the
next."""

from __future__ import annotations

import hashlib
from collections import Counter
from pathlib import Path

import pytest
import yaml

from runwatch.event import FIELDS
from runwatch.rules.sigma import RULE_SET, SIGMA_RULES_DIR, load_sigma_rules
from runwatch.rules.sigma.logsources import route_for
from tests.rules.sigma.conftest import RuleWriter

CLOUD = Path(__file__).parents[2] / "data" / "sigma"
ANCHOR = [SIGMA_RULES_DIR, CLOUD]
"""SigmaHQ's rules of the anchor set: the Linux and Kubernetes ones runwatch ships, and the
cloud ones kept for this test (tests/data/sigma/SOURCE.txt)."""

EXPECTED_ERRORS: dict[str, str] = {}
"""Rules of the anchor set that runwatch cannot run, by file name, with why. None: every
modifier and condition SigmaHQ's Linux and Kubernetes rules use is supported."""


def _logsources() -> Counter[tuple[str | None, str | None, str | None]]:
    """(product, category, service) of every rule file, read with plain YAML."""
    found: Counter[tuple[str | None, str | None, str | None]] = Counter()
    for folder in ANCHOR:
        for path in folder.rglob("*.yml"):
            source = yaml.safe_load(path.read_text())["logsource"]
            found[source.get("product"), source.get("category"), source.get("service")] += 1
    return found


def test_the_rules_are_the_anchor_set_byte_for_byte() -> None:
    files = sorted((f"./{path.relative_to(folder)}", path) for folder in ANCHOR
                   for path in folder.rglob("*.yml"))
    listing = "".join(f"{hashlib.sha256(path.read_bytes()).hexdigest()}  {name}\n"
                      for name, path in files)
    assert len(files) == 489
    assert hashlib.sha256(listing.encode()).hexdigest() == \
        "ed2c1c67fb2fd4b785f60ddcc663883db0a46031b7177c5fdd6fc8aa0b5b751c"  # SOURCE.txt


def test_every_anchor_rule_loads_and_is_active_where_runwatch_has_its_events() -> None:
    result = load_sigma_rules(ANCHOR)
    assert {Path(e.split(":")[0]).name: e for e in result.errors} == EXPECTED_ERRORS
    sources = _logsources()
    assert len(result.active) + len(result.inactive) + len(result.errors) == 489
    # each logsource's rules go where route_for sends them, counted from the YAML itself
    expected: Counter[str] = Counter()
    for (product, category, service), count in sources.items():
        route = route_for(product, category, service)
        expected[route.name if route else "none"] += count
    active = Counter(rule.route.name for rule in result.active)
    assert active == {name: n for name, n in expected.items() if name != "none"}
    assert active["process_creation"] == 144 and active["auditd"] == 54
    assert active["file_event"] == 18 and active["network_connection"] == 5
    assert active["kubernetes_audit"] == 16
    assert sum(n for name, n in active.items() if name.startswith("syslog:")) == 27
    assert active["syslog:any"] == 16  # rules/linux/builtin/*.yml: `product: linux` alone
    # the rest is cloud (AWS, Azure, GCP, M365): loaded, inactive, with the reason
    assert len(result.inactive) == expected["none"] == 225
    assert all(rule.reason.startswith("no events for logsource product=") and
               rule.reason.split("=")[1].split()[0] in ("aws", "azure", "gcp", "m365")
               for rule in result.inactive)


def test_every_active_rule_carries_what_the_licence_asks() -> None:
    result = load_sigma_rules(ANCHOR)
    assert all(rule.author and rule.id for rule in result.active)
    assert {rule.rule_set for rule in result.active} == {RULE_SET}


def test_fields_the_kernel_rules_read_are_falco_fields_of_the_registry() -> None:
    result = load_sigma_rules(ANCHOR)
    read = {name for rule in result.active if rule.route.source in ("syscall", "syslog")
            for accessor in rule.condition.fields.values() for name in accessor.reads}
    assert read and read <= set(FIELDS), read - set(FIELDS)
    assert {"proc.exepath", "proc.cmdline", "proc.pexepath", "proc.pcmdline", "user.name",
            "proc.cwd", "user.loginuid", "fd.name", "fd.sip", "fd.sport"} <= read


def test_a_broken_file_is_an_error_with_its_line_and_the_others_still_load(
        rule_file: RuleWriter, tmp_path: Path) -> None:
    rule_file("    selection:\n        a0: ls\n    condition: selection", name="a_good.yml")
    (tmp_path / "b_yaml.yml").write_text("title: Broken\ndetection:\n  sel: [a\n")
    (tmp_path / "c_condition.yml").write_text(
        "title: Bad condition\nlogsource: {product: linux, service: auditd}\n"
        "detection:\n  sel:\n    a0: x\n  condition: sel and missing\n")
    (tmp_path / "d_list.yml").write_text("- just\n- a list\n")
    rule_file("    selection:\n        a0: ls\n    condition: selection", name="e_good.yml")
    rule_file("    selection:\n        a0|nosuch: ls\n    condition: selection", name="f_mod.yml")
    rule_file("    selection:\n        a0|re: '(ls'\n    condition: selection", name="g_re.yml")
    (tmp_path / "h_empty.yml").write_text("")
    result = load_sigma_rules([tmp_path])
    assert [Path(rule.path).name for rule in result.active] == ["a_good.yml", "e_good.yml"]
    errors = dict(error.split(": ", 1) for error in result.errors)
    assert set(errors) == {f"{tmp_path / 'b_yaml.yml'}:4", f"{tmp_path / 'c_condition.yml'}",
                           f"{tmp_path / 'd_list.yml'}", f"{tmp_path / 'f_mod.yml'}",
                           f"{tmp_path / 'g_re.yml'}", f"{tmp_path / 'h_empty.yml'}"}
    assert errors[f"{tmp_path / 'f_mod.yml'}"] == "rule 'Test rule': Unknown modifier 'nosuch'"
    assert errors[f"{tmp_path / 'g_re.yml'}"].startswith("rule 'Test rule': Regular expression")
    assert errors[f"{tmp_path / 'h_empty.yml'}"] == "no Sigma rule in the file"
    assert "not valid YAML" in errors[f"{tmp_path / 'b_yaml.yml'}:4"]
    assert "'missing' not defined" in errors[f"{tmp_path / 'c_condition.yml'}"]
    assert errors[f"{tmp_path / 'd_list.yml'}"].startswith("not a Sigma rule")


def test_rules_runwatch_cannot_run_are_errors_naming_rule_and_reason(
        rule_file: RuleWriter, tmp_path: Path) -> None:
    rule_file("    selection:\n        a0|wide|contains: cmd\n    condition: selection",
              name="wide.yml")
    rule_file("    selection:\n        a0|expand: '%admins%'\n    condition: selection",
              name="placeholder.yml")
    rule_file("    keywords:\n        - kubectl\n    condition: keywords",
              logsource="product: kubernetes\n  service: audit", name="k8s_keywords.yml")
    rule_file("    sel:\n        a0: vi\n    notepad:\n        a1: x\n"
              "    condition: sel and notepad", name="operator_word.yml")
    (tmp_path / "correlation.yml").write_text(
        "title: Many failures\nname: many_failures\ncorrelation:\n  type: event_count\n"
        "  rules: [some_rule]\n  group-by: [user]\n  timespan: 5m\n  condition: {gte: 10}\n")
    result = load_sigma_rules([tmp_path])
    assert result.active == []
    errors = sorted(result.errors)
    assert errors[0].startswith(f"{tmp_path / 'correlation.yml'}: rule 'Many failures': "
                                f"correlation rules are not supported")
    assert errors[1].startswith(f"{tmp_path / 'k8s_keywords.yml'}: rule 'Test rule': keywords")
    assert errors[2] == (f"{tmp_path / 'operator_word.yml'}: rule 'Test rule': detection "
                         f"'notepad' begins with an operator word, which pySigma 1.x reads "
                         f"apart ('notepad' as 'not epad'); rename it")
    assert errors[3].startswith(f"{tmp_path / 'placeholder.yml'}: rule 'Test rule': placeholder")
    assert errors[4] == (f"{tmp_path / 'wide.yml'}:13: rule 'Test rule': modifier wide encodes "
                         f"values as UTF-16 bytes; runwatch's events hold text")


def test_a_field_without_a_runwatch_reading_makes_the_rule_inactive(rule_file: RuleWriter) -> None:
    path = rule_file("    selection:\n        Hashes|contains: 'SHA256='\n    condition: selection",
                     logsource="product: linux\n  category: process_creation")
    result = load_sigma_rules([path])
    assert result.errors == [] and result.active == []
    [inactive] = result.inactive
    assert inactive.reason.startswith("field 'Hashes' has no runwatch field for "
                                      "process_creation (known: CommandLine, CurrentDirectory")


@pytest.mark.parametrize(("floor", "levels"), [
    ("informational", {"informational", "low", "medium", "high", "critical"}),
    ("high", {"high", "critical"}),
])
def test_rules_below_the_minimum_level_are_inactive(floor: str, levels: set[str]) -> None:
    folder = SIGMA_RULES_DIR / "rules" / "linux"
    result = load_sigma_rules([folder], floor)
    written = Counter(yaml.safe_load(path.read_text())["level"] for path in folder.rglob("*.yml"))
    assert {rule.level for rule in result.active} == levels
    assert len(result.inactive) == sum(n for level, n in written.items() if level not in levels)
    assert {rule.reason for rule in result.inactive} == {
        f"level {level} is below {floor}" for level in written if level not in levels}


def test_rules_on_kernel_events_can_have_a_higher_floor() -> None:
    result = load_sigma_rules([SIGMA_RULES_DIR / "rules" / "linux"], "medium",
                              kernel_min_level="high")
    kernel = [r for r in result.active if r.route.source == "syscall"]
    others = [r for r in result.active if r.route.source != "syscall"]
    assert kernel and all(rule.level in ("high", "critical") for rule in kernel)
    assert any(rule.level == "medium" for rule in others)
    assert "level medium is below high" in {rule.reason for rule in result.inactive}
