"""Scanners: what to look for in text (secrets) and, later, in images."""

from runwatch.scan.secrets import SecretFinding, SecretRuleError, SecretRules, load_secret_rules

__all__ = ["SecretFinding", "SecretRuleError", "SecretRules", "load_secret_rules"]
