"""Secrets in text, found with gitleaks' rules (its TOML format, its default set shipped).

As gitleaks does: a rule runs only on text holding one of its keywords (all keywords are found in
one pass of a single RE2 alternation); the secret is the rule's `secretGroup`, else the first
non-empty group, else the whole match; a rule with an `entropy` needs the secret's Shannon
entropy above it; allowlists (global and the rule's) drop findings whose secret, match or line
matches one of their regexes, or whose secret holds a stopword. Regexes are RE2 (gitleaks is Go),
through google-re2. Path allowlists do not apply to log lines and are ignored.
"""

from __future__ import annotations

import math
import tomllib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import re2

DEFAULT_RULES = Path(__file__).parent / "data" / "gitleaks.toml"


class SecretRuleError(ValueError):
    """A rules file or rule that cannot be used; the message names the file and rule id."""


@dataclass(frozen=True, slots=True)
class SecretFinding:
    """One secret: the rule, and where the secret lies in the text scanned."""

    rule_id: str
    description: str
    start: int
    end: int
    entropy: float


@dataclass(frozen=True, slots=True)
class _Allowlist:
    regexes: tuple[object, ...]
    target: str  # secret, match or line
    stopwords: tuple[str, ...]
    condition_and: bool

    def allows(self, secret: str, match: str, line: str) -> bool:
        text = {"secret": secret, "match": match, "line": line}[self.target]
        by_regex = any(regex.search(text) for regex in self.regexes)  # type: ignore[attr-defined]
        by_stopword = any(word in secret.lower() for word in self.stopwords)
        checks = [c for c, present in ((by_regex, self.regexes), (by_stopword, self.stopwords))
                  if present]
        return bool(checks) and (all(checks) if self.condition_and else any(checks))


@dataclass(frozen=True, slots=True)
class _Rule:
    id: str
    description: str
    regex: object
    secret_group: int
    entropy: float
    allowlists: tuple[_Allowlist, ...]


@dataclass
class SecretRules:
    """Compiled rules; `find` returns the secrets of one text in order (a secret may be found by
    several rules, a specific one and a generic one: both are reported, as gitleaks does)."""

    rules: list[_Rule]
    allowlists: tuple[_Allowlist, ...]
    errors: list[str] = field(default_factory=list)
    _keyword_regex: object = None
    _rules_by_keyword: dict[str, list[_Rule]] = field(default_factory=dict)

    def find(self, text: str) -> list[SecretFinding]:
        if not text or self._keyword_regex is None:
            return []
        keywords = set(self._keyword_regex.findall(text.lower()))  # type: ignore[attr-defined]
        if not keywords:
            return []
        candidates: dict[str, _Rule] = {}
        for keyword in keywords:
            for rule in self._rules_by_keyword.get(keyword, ()):
                candidates[rule.id] = rule
        findings: list[SecretFinding] = []
        for rule in candidates.values():
            findings += self._findings(rule, text)
        return sorted(findings, key=lambda f: (f.start, f.end, f.rule_id))

    def _findings(self, rule: _Rule, text: str) -> list[SecretFinding]:
        found = []
        for match in rule.regex.finditer(text):  # type: ignore[attr-defined]
            start, end = match.span()
            groups = match.groups()
            if rule.secret_group and rule.secret_group <= len(groups) and \
                    match.group(rule.secret_group):
                start, end = match.span(rule.secret_group)
            elif groups:
                index = next((i for i, g in enumerate(groups, 1) if g), 0)
                if index:
                    start, end = match.span(index)
            secret = text[start:end]
            entropy = shannon_entropy(secret)
            if rule.entropy and entropy <= rule.entropy:
                continue
            whole = match.group(0)
            if any(a.allows(secret, whole, text) for a in (*self.allowlists, *rule.allowlists)):
                continue
            found.append(SecretFinding(rule.id, rule.description, start, end, round(entropy, 3)))
        return found


def shannon_entropy(text: str) -> float:
    """Bits per character, as gitleaks computes it."""
    if not text:
        return 0.0
    counts = Counter(text)
    return -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())


def load_secret_rules(path: Path | None = None) -> SecretRules:
    """The rules of a gitleaks TOML file (the shipped default when None). A rule that cannot be
    used is listed in `errors` (`file: rule id: what`); the others load. An unreadable file
    raises SecretRuleError."""
    path = path or DEFAULT_RULES
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise SecretRuleError(f"{path}: {err}") from None
    errors: list[str] = []
    rules: list[_Rule] = []
    keywords: dict[str, list[_Rule]] = {}
    for index, raw in enumerate(data.get("rules", [])):
        rule_id = str(raw.get("id") or f"rules[{index}]")
        if "regex" not in raw:
            continue  # path-only rules find files, not text
        try:
            rule = _Rule(rule_id, str(raw.get("description", "")), _compile(raw["regex"]),
                         int(raw.get("secretGroup", 0)), float(raw.get("entropy", 0)),
                         tuple(_allowlist(a) for a in raw.get("allowlists", [])))
        except (re2.error, ValueError, TypeError) as err:
            errors.append(f"{path}: {rule_id}: {err}")
            continue
        rules.append(rule)
        for keyword in raw.get("keywords", []):
            keywords.setdefault(str(keyword).lower(), []).append(rule)
    global_lists = tuple(_allowlist(a) for a in _global_allowlists(data))
    result = SecretRules(rules, global_lists, errors)
    if keywords:
        result._keyword_regex = re2.compile("|".join(re2.escape(k) for k in
                                                     sorted(keywords, key=len, reverse=True)))
        result._rules_by_keyword = keywords
    return result


def _compile(pattern: object) -> object:
    if not isinstance(pattern, str):
        raise ValueError("regex must be a string")
    return re2.compile(pattern)


def _global_allowlists(data: dict[str, object]) -> list[dict[str, object]]:
    lists = data.get("allowlists", [])
    single = data.get("allowlist")
    return [*(lists if isinstance(lists, list) else []),
            *([single] if isinstance(single, dict) else [])]


def _allowlist(raw: object) -> _Allowlist:
    if not isinstance(raw, dict):
        raise ValueError("an allowlist must be a table")
    target = str(raw.get("regexTarget", "secret"))
    if target not in ("secret", "match", "line"):
        raise ValueError(f"regexTarget {target!r} is not secret, match or line")
    regexes: Sequence[object] = raw.get("regexes", [])
    return _Allowlist(tuple(_compile(r) for r in regexes), target,
                      tuple(str(w).lower() for w in raw.get("stopwords", [])),
                      str(raw.get("condition", "OR")).upper() == "AND")
