"""The Falco rule language: load Falco's rulesets unmodified and evaluate them fast."""

from runwatch.rules.falco.detector import FalcoDetector
from runwatch.rules.falco.ruleset import DEFAULT_RULES_FILE, K8S_AUDIT_RULES_FILE, LoadResult, \
    Rule, Ruleset, load_rules, load_rules_texts

__all__ = ["DEFAULT_RULES_FILE", "FalcoDetector", "K8S_AUDIT_RULES_FILE", "LoadResult", "Rule",
           "Ruleset", "load_rules", "load_rules_texts"]
