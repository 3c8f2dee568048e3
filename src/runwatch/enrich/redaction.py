"""Secrets are cut out of log lines before anything keeps or shows them.

Every event carrying `log.message` or `log.line` is scanned with the secret rules; each secret
found is replaced by its first characters (never more than a quarter of it, at most four) and
`…REDACTED…`, and the rule ids go to `log.secrets`, from which the secret-leak detector raises
its alert. Enrichers run before the store, the rules and the outputs, so none of them ever sees
the secret itself.
"""

from __future__ import annotations

from runwatch.event import Event
from runwatch.scan.secrets import SecretFinding, SecretRules

REDACTED = "…REDACTED…"
_SCANNED = ("log.message", "log.line")


def redact(text: str, findings: list[SecretFinding]) -> str:
    """`text` with each secret replaced; overlapping findings (two rules, one secret) merge."""
    spans: list[list[int]] = []
    for finding in sorted(findings, key=lambda f: f.start):
        if spans and finding.start < spans[-1][1]:
            spans[-1][1] = max(spans[-1][1], finding.end)
        else:
            spans.append([finding.start, finding.end])
    parts, cursor = [], 0
    for start, end in spans:
        secret = text[start:end]
        parts += [text[cursor:start], secret[:min(4, len(secret) // 4)], REDACTED]
        cursor = end
    return "".join([*parts, text[cursor:]])


class SecretRedactor:
    """Implements `Enricher`."""

    name = "redaction"
    fields = frozenset({"log.secrets"})

    def __init__(self, rules: SecretRules) -> None:
        self.rules = rules
        self.redacted_events = 0

    def enrich(self, batch: list[Event]) -> None:
        find = self.rules.find
        for event in batch:
            found: set[str] = set()
            for key in _SCANNED:
                text = event.get(key)
                if isinstance(text, str) and (findings := find(text)):
                    event[key] = redact(text, findings)
                    found.update(f.rule_id for f in findings)
            if found:
                event["log.secrets"] = sorted(found)
                self.redacted_events += 1
