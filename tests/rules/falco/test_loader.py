"""Lists, macros, overrides, exceptions and errors across files, as Falco's loader has them."""

from __future__ import annotations

from pathlib import Path

from runwatch.rules.falco import load_rules, load_rules_texts
from runwatch.rules.falco.event_input import normalize_event
from runwatch.rules.falco.ruleset import LoadResult

RULE = """
- rule: {name}
  desc: d
  condition: {condition}
  output: "{output}"
  priority: {priority}
"""


def rule(condition: str, name: str = "r", output: str = "o", priority: str = "info") -> str:
    return RULE.format(name=name, condition=condition, output=output, priority=priority)


def load(*texts: str, rule_matching: str = "all") -> LoadResult:
    named = [(f"file{i}.yaml", text) for i, text in enumerate(texts, start=1)]
    return load_rules_texts(named, rule_matching="all" if rule_matching == "all" else "first")


def raised(result: LoadResult, event: dict[str, object]) -> list[str]:
    assert not result.errors, [str(e) for e in result.errors]
    rules = result.ruleset.rules
    return [rules[i].name for i in result.ruleset.match(normalize_event(event))]


# lists

def test_lists_nest_and_items_with_spaces_stay_one_value() -> None:
    text = """
- list: inner
  items: [a, '"b c"', "d e"]
- list: outer
  items: [inner, f]
""" + rule("proc.cmdline in (outer, g)")
    result = load(text)
    for value in ("a", "b c", "d e", "f", "g"):
        assert raised(result, {"proc.cmdline": value}) == ["r"], value
    assert raised(result, {"proc.cmdline": "b"}) == []
    assert raised(result, {"proc.cmdline": "inner"}) == []


def test_lists_feed_pmatch_and_intersects_and_a_bare_list_name() -> None:
    text = """
- list: dirs
  items: [/etc, /root/.ssh]
""" + rule("fd.name pmatch (dirs)", "p") + rule("proc.name in dirs", "bare") + \
        rule("fd.types intersects (dirs)", "i")
    result = load(text)
    assert raised(result, {"fd.name": "/root/.ssh/id_rsa"}) == ["p"]
    assert raised(result, {"proc.name": "/etc"}) == ["bare"]
    assert raised(result, {"fd.types": ["/etc", "x"]}) == ["i"]


def test_a_list_redefinition_replaces_and_append_extends() -> None:
    first = "- list: l\n  items: [a]\n" + rule("proc.name in (l)")
    replaced = "- list: l\n  items: [b]\n"
    appended = "- list: l\n  items: [c]\n  append: true\n"
    overridden = "- list: l\n  items: [d]\n  override:\n    items: append\n"
    result = load(first, replaced, appended, overridden)
    assert [raised(result, {"proc.name": n}) for n in "abcd"] == [[], ["r"], ["r"], ["r"]]
    assert any("'append' is deprecated" in str(w) for w in result.warnings)


def test_an_empty_list_matches_nothing() -> None:
    result = load("- list: none\n  items: []\n" + rule("not proc.name in (none)"))
    assert raised(result, {"proc.name": "x"}) == ["r"]


# macros

def test_macros_are_substituted_and_a_redefinition_replaces() -> None:
    first = "- macro: m\n  condition: proc.name = a\n" + rule("m and evt.type = execve")
    second = "- macro: m\n  condition: proc.name = b\n"
    result = load(first, second)
    assert raised(result, {"evt.type": "execve", "proc.name": "b"}) == ["r"]
    assert raised(result, {"evt.type": "execve", "proc.name": "a"}) == []


def test_macro_append_adds_text_and_override_replace_swaps() -> None:
    base = "- macro: m\n  condition: proc.name = a\n" + rule("(m)")
    appended = "- macro: m\n  condition: or proc.name = b\n  override:\n    condition: append\n"
    result = load(base, appended)
    assert raised(result, {"proc.name": "b"}) == ["r"]
    replaced = "- macro: m\n  condition: proc.name = c\n  override:\n    condition: replace\n"
    result = load(base, appended, replaced)
    assert raised(result, {"proc.name": "b"}) == []
    assert raised(result, {"proc.name": "c"}) == ["r"]


def test_a_macro_sees_only_macros_defined_before_it() -> None:
    text = "- macro: uses_later\n  condition: later\n- macro: later\n  condition: proc.name = a\n" \
        + rule("uses_later")
    result = load(text)
    assert any("used before it is defined" in str(e) for e in result.errors)


def test_a_macro_that_refers_to_itself_is_refused() -> None:
    text = "- macro: a\n  condition: proc.name = x\n- macro: a\n  condition: a or b\n" \
        "- macro: b\n  condition: proc.name = y\n" + rule("a")
    errors = [str(e) for e in load(text).errors]
    assert any("refers to itself" in e for e in errors), errors


# rules: override, append, enabled

def test_rule_override_appends_condition_and_replaces_output_and_priority() -> None:
    base = rule("evt.type = execve and proc.name in (a, b)", output="was %proc.name")
    change = """
- rule: r
  condition: and not user.name = root
  output: now %proc.name
  priority: CRITICAL
  tags: [extra]
  override:
    condition: append
    output: replace
    priority: replace
    tags: append
"""
    result = load(base, change)
    assert raised(result, {"evt.type": "execve", "proc.name": "a", "user.name": "root"}) == []
    assert raised(result, {"evt.type": "execve", "proc.name": "a", "user.name": "al"}) == ["r"]
    compiled = result.ruleset.rules[0]
    assert compiled.priority.label == "Critical"
    assert compiled.output.render({"proc.name": "a"})[0] == "now a"
    assert compiled.tags == ("extra",)


def test_an_override_key_without_its_value_is_refused() -> None:
    change = "- rule: r\n  condition: and x\n  override:\n    output: replace\n"
    errors = [str(e) for e in load(rule("proc.name = a"), change).errors]
    assert any("file2.yaml:2: rule 'r'" in e and "no matching entry under 'override'" in e
               for e in errors), errors


def test_deprecated_append_extends_the_condition() -> None:
    change = "- rule: r\n  condition: or proc.name = b\n  append: true\n"
    result = load(rule("proc.name = a"), change)
    assert raised(result, {"proc.name": "b"}) == ["r"]


def test_enabled_alone_toggles_an_earlier_rule() -> None:
    disabled = rule("proc.name = a").rstrip("\n") + "\n  enabled: false\n"
    result = load(disabled)
    assert raised(result, {"proc.name": "a"}) == []
    result = load(disabled, "- rule: r\n  enabled: true\n")
    assert raised(result, {"proc.name": "a"}) == ["r"]
    assert any("deprecated" in str(w) for w in result.warnings)
    result = load(disabled, "- rule: r\n  enabled: true\n  override:\n    enabled: replace\n")
    assert raised(result, {"proc.name": "a"}) == ["r"]


def test_a_redefined_rule_keeps_its_place_in_rule_order() -> None:
    texts = (rule("proc.name = a", "first"), rule("proc.name = a", "second"),
             rule("proc.name = a", "first", priority="debug"))
    result = load(*texts)
    assert raised(result, {"proc.name": "a"}) == ["first", "second"]
    assert load(*texts, rule_matching="first").ruleset.match({"proc.name": "a"}) == [0]


def test_priorities_are_case_insensitive_with_the_info_alias() -> None:
    for text, label in (("info", "Informational"), ("WARNING", "Warning"), ("Emergency",
                                                                            "Emergency")):
        result = load(rule("proc.name = a", priority=text))
        assert result.ruleset.rules[0].priority.label == label
    errors = [str(e) for e in load(rule("proc.name = a", priority="loud")).errors]
    assert any("unknown priority 'loud'" in e for e in errors)


# exceptions

EXCEPTIONS = """
- rule: shell
  desc: d
  condition: evt.type = execve and proc.name in (bash, sh)
  output: o
  priority: warning
  exceptions:
    - name: by_parent_and_dir
      fields: [proc.pname, proc.cwd]
      comps: [=, startswith]
      values:
        - [nginx, /var/www]
        - [cron, "/etc/cron jobs"]
    - name: by_image
      fields: container.image.repository
      values: [docker.io/library/debian, ghcr.io/x]
    - name: by_parents_list
      fields: [proc.pname]
      comps: [in]
      values:
        - [[make, cmake]]
"""


def test_exceptions_become_and_not_clauses() -> None:
    result = load(EXCEPTIONS)
    shell = {"evt.type": "execve", "proc.name": "bash"}
    assert raised(result, {**shell, "proc.pname": "nginx", "proc.cwd": "/tmp"}) == ["shell"]
    assert raised(result, {**shell, "proc.pname": "nginx", "proc.cwd": "/var/www/a"}) == []
    assert raised(result, {**shell, "proc.pname": "cron", "proc.cwd": "/etc/cron jobs/x"}) == []
    assert raised(result, {**shell, "container.image.repository": "ghcr.io/x"}) == []
    assert raised(result, {**shell, "proc.pname": "cmake"}) == []
    assert raised(result, {**shell, "proc.pname": "ninja"}) == ["shell"]


def test_exception_values_can_be_appended_to_an_existing_exception() -> None:
    more = """
- rule: shell
  exceptions:
    - name: by_image
      values: [docker.io/library/ubuntu]
    - name: by_user
      fields: [user.name]
      values: [[ci]]
  override:
    exceptions: append
"""
    result = load(EXCEPTIONS, more)
    shell = {"evt.type": "execve", "proc.name": "sh"}
    assert raised(result, {**shell, "container.image.repository": "docker.io/library/ubuntu"}) == []
    assert raised(result, {**shell, "user.name": "ci"}) == []
    assert raised(result, {**shell, "user.name": "dev"}) == ["shell"]


def test_broken_exceptions_are_refused() -> None:
    bad = EXCEPTIONS.replace("comps: [=, startswith]", "comps: [=]")
    assert any("same length" in str(e) for e in load(bad).errors)
    bad = EXCEPTIONS.replace("comps: [=, startswith]", "comps: [=, resembles]")
    assert any("'resembles' is not an operator" in str(e) for e in load(bad).errors)


# errors and warnings

def test_errors_carry_file_line_and_rule_and_good_rules_still_load(tmp_path: Path) -> None:
    good = tmp_path / "good.yaml"
    good.write_text(rule("proc.name = a", "fine"))
    bad = tmp_path / "bad.yaml"
    bad.write_text(rule("proc.name = a", "also fine") + rule("proc.nme = a", "broken")
                   + rule("(proc.name = a", "unbalanced"))
    result = load_rules([good, bad])
    errors = [str(e) for e in result.errors]
    assert errors == [
        f"{bad}:10: rule 'broken': condition: unknown field 'proc.nme' (did you mean "
        f"'proc.name'?) (at column 1: 'proc.nme = a')",
        f"{bad}:16: rule 'unbalanced': condition: unbalanced parenthesis: expected ')' to close "
        f"the '(' at column 1 (at column 15: '(proc.name = a')",
    ]
    assert [r.name for r in result.ruleset.rules] == ["fine", "also fine"]


def test_bad_yaml_is_one_error_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("- rule: x\n  desc: [unclosed\n  condition: y\n")
    result = load_rules([path])
    assert len(result.errors) == 1
    assert str(result.errors[0]).startswith(f"{path}:")
    assert "invalid YAML" in str(result.errors[0])


def test_unknown_keys_and_items_are_warnings() -> None:
    text = rule("proc.name = a").rstrip("\n") + "\n  severity: high\n- something: else\n"
    result = load(text)
    assert not result.errors
    warnings = [str(w) for w in result.warnings]
    assert any("unknown key 'severity'" in w and "file1.yaml:7" in w for w in warnings), warnings
    assert any("unknown top level item" in w for w in warnings), warnings


def test_a_rule_of_an_unknown_source_is_skipped_with_a_warning() -> None:
    text = rule("ct.name = CreateUser").rstrip("\n") + "\n  source: aws_cloudtrail\n"
    result = load(text)
    assert not result.errors
    assert result.ruleset.rules == ()
    assert any("unknown source 'aws_cloudtrail'" in str(w) for w in result.warnings)


def test_a_rule_without_event_type_is_a_warning() -> None:
    result = load(rule("proc.name = a"))
    assert any("does not restrict evt.type" in str(w) for w in result.warnings)


def test_required_engine_version_newer_than_ours_is_an_error() -> None:
    errors = [str(e) for e in load("- required_engine_version: 0.99.0\n").errors]
    assert any("rules require engine version 0.99.0" in e for e in errors), errors
    assert not load("- required_engine_version: 0.26.0\n").errors
    assert not load("- required_engine_version: 12\n").errors


def test_a_missing_required_key_is_an_error() -> None:
    text = "- rule: r\n  desc: d\n  condition: proc.name = a\n  priority: info\n"
    assert any("missing key 'output'" in str(e) for e in load(text).errors)
