"""Falco's own rulesets load unmodified, alone and stacked; every stable rule fires on an event
made for it and stays quiet on close variants (tests/data/falco/stable_rule_events.yaml)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from runwatch.rules.falco import DEFAULT_RULES_FILE, FalcoDetector, Ruleset, load_rules
from runwatch.rules.falco.event_input import normalize_event

DATA = Path(__file__).resolve().parents[2] / "data" / "falco"
STABLE = DATA / "falco_rules.yaml"
INCUBATING = DATA / "falco-incubating_rules.yaml"
SANDBOX = DATA / "falco-sandbox_rules.yaml"
CASES: list[dict[str, Any]] = yaml.safe_load((DATA / "stable_rule_events.yaml").read_text())


@pytest.mark.parametrize("files", [[STABLE], [INCUBATING], [SANDBOX], [STABLE, INCUBATING, SANDBOX]],
                         ids=["stable", "incubating", "sandbox", "stacked"])
def test_falco_rulesets_load_without_errors(files: list[Path]) -> None:
    result = load_rules(files)
    assert result.errors == []
    assert len(result.ruleset.rules) == result.rule_count
    assert result.ruleset.required_event_types()


def test_stacked_rulesets_have_every_rule_of_each() -> None:
    names = [len(load_rules([path]).ruleset.rules) for path in (STABLE, INCUBATING, SANDBOX)]
    stacked = load_rules([STABLE, INCUBATING, SANDBOX]).ruleset
    assert len(stacked.rules) == sum(names) == 93
    assert stacked.rules[0].name == "Directory traversal monitored file read"


def test_the_shipped_default_ruleset_is_falco_stable_unmodified() -> None:
    assert DEFAULT_RULES_FILE.read_bytes() == STABLE.read_bytes()
    assert (DEFAULT_RULES_FILE.parent / "LICENSE").read_bytes() == (DATA / "LICENSE").read_bytes()


@pytest.fixture(scope="module")
def stable() -> Ruleset:
    return load_rules([STABLE], rule_matching="all").ruleset


def test_every_stable_rule_has_cases() -> None:
    rules = {rule.name for rule in load_rules([STABLE]).ruleset.rules}
    assert {case["rule"] for case in CASES} == rules
    assert all(any(not v["raises"] for v in case["variants"]) for case in CASES)


def _raised(ruleset: Ruleset, raw: dict[str, Any]) -> list[str]:
    alerts = FalcoDetector(ruleset, "test").match([normalize_event(raw)])
    return [alert.rule for alert in alerts]


@pytest.mark.parametrize("case", CASES, ids=[case["rule"] for case in CASES])
def test_stable_rule_fires_on_its_event_and_not_on_close_variants(stable: Ruleset,
                                                                  case: dict[str, Any]) -> None:
    event = dict(case["event"])
    assert case["rule"] in _raised(stable, event)
    for variant in case["variants"]:
        changed = {**event, **variant.get("set", {})}
        for key in variant.get("unset", []):
            del changed[key]
        assert (case["rule"] in _raised(stable, changed)) == variant["raises"], variant["why"]


def test_a_stable_alert_has_falco_shape(stable: Ruleset) -> None:
    case = next(c for c in CASES if c["rule"] == "Terminal shell in container")
    event = normalize_event({**case["event"], "evt.time": 1_700_000_000_123_456_789,
                             "evt.hostname": "node-1"})
    alert = FalcoDetector(stable, "fallback").match([event])[0]
    body = alert.to_falco_json()
    assert body["rule"] == "Terminal shell in container"
    assert body["priority"] == "Notice"
    assert body["time"] == "2023-11-14T22:13:20.123456789Z"
    assert body["hostname"] == "node-1"
    assert body["container_id"] == "3ad7b26ded6d"
    assert body["tags"] == ["T1059", "container", "maturity_stable", "mitre_execution", "shell"]
    assert body["output"].startswith("A shell was spawned in a container with an attached "
                                     "terminal | evt_type=execve user=<NA> user_uid=<NA>")
    fields = body["output_fields"]
    assert isinstance(fields, dict)
    assert fields["proc.tty"] == 34816
    assert fields["user.name"] is None
    assert fields["proc.pname"] == "runc:[1:CHILD]"
