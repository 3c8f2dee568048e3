"""Sigma rules (https://sigmahq.io) on runwatch's events: auditd, kernel process, file and network
events, Kubernetes audit and syslog."""

from pathlib import Path

from runwatch.rules.sigma.detector import SigmaDetector
from runwatch.rules.sigma.loader import (RULE_SET, CompiledSigmaRule, InactiveSigmaRule,
                                         SigmaLoadResult, load_sigma_rules)

SIGMA_RULES_DIR = Path(__file__).parent / "data"
"""SigmaHQ's Linux and Kubernetes rules, shipped unmodified (DRL 1.1, see data/SOURCE.txt)."""

__all__ = ["RULE_SET", "SIGMA_RULES_DIR", "CompiledSigmaRule", "InactiveSigmaRule", "SigmaDetector",
           "SigmaLoadResult", "load_sigma_rules"]
