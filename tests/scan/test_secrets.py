"""gitleaks' rules on text: real-looking secrets found by the right rule, look-alikes and
allowlisted examples left alone, broken rule files named."""

from __future__ import annotations

from pathlib import Path

import pytest

from runwatch.scan import SecretRuleError, load_secret_rules

RULES = load_secret_rules()

# Built to each rule's own pattern in gitleaks.toml, with random-looking bodies.
SECRETS = [
    ("aws-access-token", "AKIAZ4Q2X7LMN3PRT5VW"),
    ("github-pat", "ghp_aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3z5A"),
    ("slack-webhook-url", "https://hooks.slack.com/services/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"),
    ("stripe-access-token", "sk_live_4eC39HqLyjWDarjtT1zdp7dcAbXy"),
    ("gitlab-pat", "glpat-Zq3Xv7Bn2Mk9Lp4Wr8Ty"),
    ("jwt", "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ"
            ".SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"),
]


@pytest.mark.parametrize(("rule_id", "secret"), SECRETS, ids=[rule for rule, _ in SECRETS])
def test_a_secret_in_a_log_line_is_found_by_its_rule_where_it_lies(rule_id: str, secret: str) -> None:
    line = f"2026-11-23 04:00:01 INFO connecting with credential {secret} to upstream"
    findings = {f.rule_id: f for f in RULES.find(line)}
    assert rule_id in findings
    assert line[findings[rule_id].start:findings[rule_id].end] == secret


def test_a_private_key_block_is_found() -> None:
    text = ("-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA7bq98TxYz1bQ0Pl2aB3cD4eF5gH6iJ7kL8mN9oP0"
            "qR1sT2uV3wX4yZ5aB6cD7eF8gH9iJ0kL1mN2oP3qR4sT5uV6wX7yZ8aB9cD0eF1gH2\n"
            "-----END RSA PRIVATE KEY-----")
    assert [f.rule_id for f in RULES.find(f"dumping config: {text}")] == ["private-key"]


def test_allowlisted_examples_and_low_entropy_look_alikes_are_left_alone() -> None:
    assert RULES.find("aws_access_key_id = AKIAIOSFODNN7EXAMPLE") == []  # the rule's allowlist
    assert RULES.find("ghp_" + "a" * 36) == []  # entropy below the rule's 3 bits
    assert RULES.find("GET /index.html 200 1532 bytes in 3 ms") == []


def test_one_broken_rule_is_named_and_the_others_load(tmp_path: Path) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text("[[rules]]\nid = 'good'\nregex = '''tok_[0-9a-f]{16}'''\nkeywords = ['tok_']\n"
                     "[[rules]]\nid = 'bad'\nregex = '''(unclosed'''\nkeywords = ['x']\n")
    loaded = load_secret_rules(rules)
    assert [rule.id for rule in loaded.rules] == ["good"]
    [error] = loaded.errors
    assert error.startswith(f"{rules}: bad: ")
    assert [f.rule_id for f in loaded.find("token tok_0123456789abcdef")] == ["good"]
    (tmp_path / "broken.toml").write_text("[[rules]\nid=")
    with pytest.raises(SecretRuleError, match="broken.toml"):
        load_secret_rules(tmp_path / "broken.toml")


def test_every_shipped_rule_with_a_regex_loads() -> None:
    assert RULES.errors == [] and len(RULES.rules) == 221
